#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
aw::detail::EnvelopeParser::Result parse(const std::string& body,
                                 const aw::EnvelopePaths& paths = aw::EnvelopePaths{}) {
  return aw::detail::EnvelopeParser(paths, 128).parse(body, {}, std::chrono::system_clock::now());
}
aw::ErrorKind error_of(const aw::detail::EnvelopeParser::Result& r) { return std::get<aw::ErrorKind>(r); }
std::shared_ptr<aw::EventRecord> record_of(const aw::detail::EnvelopeParser::Result& r) {
  return std::get<std::shared_ptr<aw::EventRecord>>(r);
}
}  // namespace

TEST_CASE("the default envelope yields id, name, urn, createdDate and data") {
  const auto r = parse(R"({"event":{"id":"e1","name":"ticket.created","urn":"urn:x",)"
                       R"("createdDate":"2026-11-26T21:58:01.200Z","data":{"id":"T"}}})");
  const auto rec = record_of(r);
  CHECK(rec->id == "e1");
  CHECK(rec->name == "ticket.created");
  CHECK(rec->urn == "urn:x");
  CHECK(rec->created_date == "2026-11-26T21:58:01.200Z");
  CHECK(rec->data() == nlohmann::json{{"id", "T"}});
  const aw::Event event(std::get<std::shared_ptr<aw::EventRecord>>(r), 1);
  REQUIRE(event.created());
  const auto created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              event.created()->time_since_epoch()).count();
  CHECK(created_ms == 1795730281200);  // 2026-11-26T21:58:01.200Z
}

TEST_CASE("a body without an id gets a stable id derived from its bytes") {
  const std::string body = R"({"event":{"name":"ticket.created"}})";
  const auto a = record_of(parse(body));
  CHECK(a->id.rfind("sha256:", 0) == 0);
  CHECK(a->id.size() == 7 + 64);
  CHECK(a->id == record_of(parse(body))->id);
  CHECK(a->id != record_of(parse(R"({"event":{"name":"ticket.created","x":1}})"))->id);
}

TEST_CASE("bad bodies are told apart") {
  CHECK(error_of(parse("{not json")) == aw::ErrorKind::malformed_json);
  CHECK(error_of(parse("")) == aw::ErrorKind::malformed_json);
  CHECK(error_of(parse(R"({"event":{}} trailing)")) == aw::ErrorKind::malformed_json);
  CHECK(error_of(parse("[1,2]")) == aw::ErrorKind::not_an_object);
  CHECK(error_of(parse(R"("text")")) == aw::ErrorKind::not_an_object);
  CHECK(error_of(parse(R"({"event":{"id":"1"}})")) == aw::ErrorKind::missing_event_name);
  CHECK(error_of(parse(R"({"event":{"name":42.5e400}})")) == aw::ErrorKind::malformed_json);
  CHECK(error_of(parse(R"({"event":{"name":["x"]}})")) == aw::ErrorKind::missing_event_name);
  CHECK(error_of(parse(R"({"event":"flat"})")) == aw::ErrorKind::missing_event_name);
}

TEST_CASE("deeply nested JSON is handled without exhausting the stack") {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  CHECK(error_of(parse(deep)) == aw::ErrorKind::too_deeply_nested);
}

TEST_CASE("a body nested up to max_json_depth is parsed, one level more is refused") {
  // {"event":{"name":"x","data":[[...]]}}: two objects, then arrays.
  auto body_of_depth = [](std::size_t depth) {
    return R"({"event":{"name":"x","data":)" + std::string(depth - 2, '[') +
           std::string(depth - 2, ']') + "}}";
  };
  const aw::EnvelopePaths paths;
  const aw::detail::EnvelopeParser parser(paths, 16);
  const auto now = std::chrono::system_clock::now();
  const auto at_limit = parser.parse(body_of_depth(16), {}, now);
  REQUIRE(std::holds_alternative<std::shared_ptr<aw::EventRecord>>(at_limit));
  CHECK(std::get<std::shared_ptr<aw::EventRecord>>(at_limit)->data().dump().size() == 28);
  const auto deeper = parser.parse(body_of_depth(17), {}, now);
  REQUIRE(std::holds_alternative<aw::ErrorKind>(deeper));
  CHECK(std::get<aw::ErrorKind>(deeper) == aw::ErrorKind::too_deeply_nested);
}

TEST_CASE("envelope pointers are configurable") {
  aw::EnvelopePaths paths;
  paths.id = "/delivery";
  paths.name = "/type";
  paths.data = "/payload";
  const auto rec = record_of(parse(R"({"delivery":7,"type":"booking.accepted","payload":[1]})",
                                    paths));
  CHECK(rec->id == "7");
  CHECK(rec->name == "booking.accepted");
  CHECK(rec->data() == nlohmann::json::array({1}));
}

TEST_CASE("an invalid pointer is refused with the field's name") {
  aw::EnvelopePaths paths;
  paths.urn = "no-leading-slash";
  CHECK_THROWS_WITH_AS((aw::detail::EnvelopeParser{paths, 128}), doctest::Contains("envelope.urn"),
                       std::invalid_argument);
}

TEST_CASE("the one-pass scan reads pointers through arrays, escapes and repeated keys") {
  aw::EnvelopePaths paths;
  paths.name = "/batch/1/type";
  paths.id = "/meta/a~1b";
  paths.data = "/batch/1";
  const auto rec = record_of(parse(
      R"({"meta":{"a/b":"id-\u00e9"},"batch":[{"type":"wrong"},{"type":"ticket.created","n":2}]})",
      paths));
  CHECK(rec->name == "ticket.created");
  CHECK(rec->id == "id-\xc3\xa9");
  CHECK(rec->data() == nlohmann::json{{"type", "ticket.created"}, {"n", 2}});

  // As in a parsed tree, the last of repeated keys wins.
  CHECK(record_of(parse(R"({"event":{"name":"a","name":"b"}})"))->name == "b");
  CHECK(error_of(parse(R"({"event":{"name":"a","name":{"x":1}}})")) ==
        aw::ErrorKind::missing_event_name);
  CHECK(error_of(parse(R"([{"event":{"name":"a"}}])")) == aw::ErrorKind::not_an_object);
  CHECK(error_of(parse(R"({"event":{"name":"a"}})" "\x01")) == aw::ErrorKind::malformed_json);
}

TEST_CASE("data() is parsed once, on first use, and is null when the body has none") {
  const auto rec = record_of(parse(R"({"event":{"name":"ticket.created"}})"));
  CHECK(rec->data().is_null());
  const auto with_data = record_of(parse(R"({"event":{"name":"x","data":{"k":[1,2]}}})"));
  const auto* first = &with_data->data();
  CHECK(*first == nlohmann::json{{"k", {1, 2}}});
  CHECK(&with_data->data() == first);  // the same tree, not parsed again
}

TEST_CASE("a duplicated envelope is read whole from its last copy, as data() reads it") {
  const auto rec = record_of(parse(R"({"event":{"id":"e1","name":"ticket.created","data":{"x":1}},)"
                                   R"("event":{"name":"ticket.updated","data":{"x":2}}})"));
  CHECK(rec->name == "ticket.updated");
  CHECK(rec->id.rfind("sha256:", 0) == 0);  // the last copy has no id: none from the first
  CHECK(rec->data() == nlohmann::json{{"x", 2}});
}
