#include <doctest/doctest.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

namespace {
struct Pipeline {
  explicit Pipeline(aw::Options o = test::options())
      : inbox(std::make_shared<aw::MemoryInbox>(aw::MemoryInbox::limits_from(o))),
        reporter(std::make_shared<aw::detail::Reporter>(
            std::make_shared<aw::detail::HandlerRegistry>(),
            std::make_shared<aw::detail::Counters>())),
        pipeline(o, inbox, reporter) {}

  aw::Reply handle(const std::string& body, aw::HeaderList headers) {
    return pipeline.handle(body, std::move(headers));
  }

  std::shared_ptr<aw::MemoryInbox> inbox;
  std::shared_ptr<aw::detail::Reporter> reporter;
  aw::RequestPipeline pipeline;
};

aw::HeaderList signed_list(const std::string& body) {
  return {{"x-allthings-signature", aw::testing::sign(body, test::secret)},
          {"x-allthings-signature-timestamp", aw::testing::timestamp_millis()}};
}
}  // namespace

TEST_CASE("the pipeline works without sockets: verify, parse, accept") {
  Pipeline p;
  const auto b = test::body("e1");
  const auto reply = p.handle(b, signed_list(b));
  CHECK(reply.status == 200);
  CHECK(reply.body == R"({"status":"accepted"})");
  CHECK(p.inbox->depth() == 1);
  const auto delivery = p.inbox->next(0ms);
  REQUIRE(delivery);
  CHECK(delivery->record->raw_body == b);
  CHECK(p.handle(b, signed_list(b)).body == R"({"status":"duplicate"})");
}

TEST_CASE("a present but empty signature header is a bad signature, not an unsigned ping") {
  Pipeline p;
  const auto b = test::body("e1");
  const auto reply = p.handle(b, {{"x-allthings-signature", ""},
                                  {"x-allthings-signature-timestamp", aw::testing::timestamp_millis()}});
  CHECK(reply.status == 401);
  CHECK(p.inbox->depth() == 0);
}
