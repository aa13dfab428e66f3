#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

TEST_CASE("TicketCreated reads the REST ticket's fields") {
  const auto e = aw::testing::make_event(
      "e1", "ticket.created",
      {{"id", "T-1"}, {"incrementID", 17}, {"title", "Leak"}, {"description", "Tap"},
       {"category", "plumbing"}, {"status", "waiting-for-agent"}, {"tags", {"a", 1, "b"}},
       {"createdAt", "2026-01-01T00:00:00Z"}, {"extra", {{"kept", true}}}});
  const auto t = aw::TicketCreated::from_event(e);
  CHECK(t.ticket.id == "T-1");
  CHECK(t.ticket.increment_id == "17");
  CHECK(t.ticket.title == "Leak");
  CHECK(t.ticket.description == "Tap");
  CHECK(t.ticket.category == "plumbing");
  CHECK(t.ticket.status == "waiting-for-agent");
  CHECK(t.ticket.tags == std::vector<std::string>{"a", "b"});
  CHECK(t.ticket.created_at == "2026-01-01T00:00:00Z");
  CHECK(t.event.data().at("extra").at("kept") == true);  // the full JSON stays available
}

TEST_CASE("typed events never throw on missing or wrongly typed fields") {
  for (const nlohmann::json& data :
       {nlohmann::json(nullptr), nlohmann::json::array(), nlohmann::json("text"),
        nlohmann::json{{"id", nullptr}, {"title", {1, 2}}, {"tags", "not-a-list"},
                       {"delta", 5}}}) {
    CAPTURE(data.dump());
    const auto e = aw::testing::make_event("e", "x", data);
    CHECK_NOTHROW(aw::TicketCreated::from_event(e));
    CHECK_NOTHROW(aw::TicketUpdated::from_event(e));
    CHECK_NOTHROW(aw::BookingAccepted::from_event(e));
    CHECK_NOTHROW(aw::CommunityArticlePublished::from_event(e));
    CHECK(aw::TicketCreated::from_event(e).ticket.title.empty());
  }
}

TEST_CASE("TicketUpdated carries the delta and names the changed fields") {
  const auto u = aw::TicketUpdated::from_event(aw::testing::make_event(
      "e2", "ticket.updated",
      {{"id", "T-1"}, {"status", "closed"}, {"delta", {{"status", "closed"}, {"title", "x"}}}}));
  CHECK(u.ticket.status == "closed");
  CHECK(u.delta.at("status") == "closed");
  CHECK(u.changed_fields() == std::vector<std::string>{"status", "title"});
}

TEST_CASE("BookingAccepted and CommunityArticlePublished read what they can") {
  const auto b = aw::BookingAccepted::from_event(
      aw::testing::make_event("e3", "booking.accepted", {{"id", "B-9"}, {"status", "accepted"}}));
  CHECK(b.booking.id == "B-9");
  CHECK(b.booking.status == "accepted");
  const auto a = aw::CommunityArticlePublished::from_event(aw::testing::make_event(
      "e4", "community-article.published", {{"id", "A-1"}, {"title", "Summer party"}}));
  CHECK(a.article.id == "A-1");
  CHECK(a.article.title == "Summer party");
  CHECK(std::string(aw::CommunityArticlePublished::event_name) == "community-article.published");
}

namespace {
// A user-defined event: the two things on<T> needs.
struct RegistrationCodeCreated {
  static constexpr const char* event_name = "registration-code.created";
  static RegistrationCodeCreated from_event(const aw::Event& e) {
    return {e.data().value("code", std::string())};
  }
  std::string code;
};
}  // namespace

TEST_CASE("a user-defined struct works with on<T> over HTTP") {
  test::Server server;
  std::atomic<int> calls{0};
  std::string code;
  server.endpoint.on<RegistrationCodeCreated>([&](const RegistrationCodeCreated& e) {
    code = e.code;
    ++calls;
  });
  server.start();
  const auto res = server.post_signed(
      test::body("r1", "registration-code.created", {{"code", "X7-Q"}}));
  CHECK(test::status_of(res) == 200);
  REQUIRE(test::eventually([&] { return calls == 1; }));
  CHECK(code == "X7-Q");
}
