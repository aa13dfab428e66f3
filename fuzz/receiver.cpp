// The whole Receiver on arbitrary requests: any method, headers and body, half of them signed
// correctly so the fuzzer reaches parsing, acceptance and the handlers. Nothing may crash,
// hang or leak; every answer is one of the documented fixed bodies with a matching status; and
// no answer ever echoes the secret.
#include <allthings/webhooks/receiver.hpp>
#include <allthings/webhooks/testing.hpp>
#include <allthings/webhooks/typed_events.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

namespace {

namespace aw = allthings::webhooks;

const std::string secret = "fuzz-secret-7f3a";

void require(bool condition) {
  if (!condition) std::abort();
}

aw::Receiver& receiver() {
  static aw::Receiver* instance = [] {
    aw::Options options;
    options.secrets = {secret};
    options.workers = 1;
    options.queue_capacity = 1000;
    options.dedupe_capacity = 10000;
    options.max_body_bytes = 64 * 1024;
    options.max_attempts = 1;
    options.drain_timeout = std::chrono::milliseconds(0);
    auto* r = new aw::Receiver(options);  // lives as long as the process
    // What a handler typically does with an event: all of it must be safe on any input.
    r->on_any([](const aw::Event& e) {
      (void)e.data().dump();
      (void)e.created();
      (void)e.header("x-allthings-signature");
      (void)aw::TicketUpdated::from_event(e).changed_fields();
    });
    r->start();
    return r;
  }();
  return *instance;
}

const std::map<int, std::string> bodies_by_status = {
    {200, R"({"status":)"}, {400, R"({"error":)"}, {401, R"({"error":)"}, {405, R"({"error":)"},
    {413, R"({"error":)"},  {415, R"({"error":)"}, {500, R"({"error":)"}, {503, R"({"error":)"}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const bool sign = input.ConsumeBool();
  const std::string method = input.ConsumeBool() ? "POST" : input.ConsumeRandomLengthString(8);
  aw::HeaderList headers;
  const auto header_count = input.ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < header_count; ++i) {
    std::string name = input.PickValueInArray<std::string>(
        {"Content-Type", "content-length", "Content-Encoding", "x-allthings-signature",
         "x-allthings-signature-timestamp", "X-Other"});
    if (input.ConsumeBool()) name = input.ConsumeRandomLengthString(16);
    headers.emplace_back(std::move(name), input.ConsumeRandomLengthString(40));
  }
  const std::string body = input.ConsumeRemainingBytesAsString();
  if (sign) {
    for (auto& header : aw::testing::sign_headers(receiver().options(), body, secret)) {
      headers.push_back(std::move(header));
    }
  }

  const aw::Reply reply = receiver().handle(method, headers, body);
  const auto expected = bodies_by_status.find(reply.status);
  require(expected != bodies_by_status.end());
  require(reply.body.rfind(expected->second, 0) == 0);
  require(reply.body.size() < 64);
  require(reply.body.find(secret) == std::string_view::npos);
  return 0;
}
