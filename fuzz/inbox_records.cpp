// What the durable inbox reads back from its files, on arbitrary bytes: outcome log frames and
// the stored handlers and headers columns. Reading must never crash or overflow, and whatever
// it reads must survive being written and read again unchanged.
#include <allthings/webhooks/detail/sqlite/outcome_record.hpp>
#include <allthings/webhooks/detail/sqlite/store.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace aw = allthings::webhooks;
namespace record = aw::detail::outcome_record;

void require(bool condition) {
  if (!condition) std::abort();
}

bool same(const aw::detail::LoggedOutcome& a, const aw::detail::LoggedOutcome& b) {
  return a.seq == b.seq && a.outcome.kind == b.outcome.kind && a.outcome.id == b.outcome.id &&
         a.outcome.attempt == b.outcome.attempt && a.outcome.handlers == b.outcome.handlers &&
         a.outcome.at == b.outcome.at && a.outcome.reason == b.outcome.reason;
}

void outcome_frames(const std::string& bytes) {
  std::vector<aw::detail::LoggedOutcome> records;
  record::read_frames(bytes, records);
  for (const auto& read : records) {
    std::string frame;
    try {
      frame = record::encode(read.seq, read.outcome);
    } catch (const nlohmann::json::exception&) {
      continue;  // an id or reason that is not UTF-8 is never logged (append() refuses it)
    }
    std::vector<aw::detail::LoggedOutcome> again;
    record::read_frames(frame, again);
    require(again.size() == 1 && same(again[0], read));
  }
}

// A single payload, framed correctly, so the fuzzer reaches decode() with any JSON.
void outcome_payload(const std::string& text) {
  std::string frame;
  record::put_u32(frame, static_cast<std::uint32_t>(text.size()));
  record::put_u32(frame, record::checksum(text.data(), text.size()));
  outcome_frames(frame + text);
}

void handlers_column(const std::string& text) {
  const auto handlers = aw::detail::handlers_from_json(text);
  require(aw::detail::handlers_from_json(aw::detail::handlers_to_json(handlers)) == handlers);
}

void headers_column(const std::string& text) {
  const auto headers = aw::detail::headers_from_json(text);
  const auto again =
      aw::detail::headers_from_json(aw::detail::headers_to_json(headers));
  // Bytes that are not UTF-8 are written replaced, so only the count must survive for them.
  require(again.size() == headers.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: outcome_frames(rest); break;
    case 1: outcome_payload(rest); break;
    case 2: handlers_column(rest); break;
    default: headers_column(rest); break;
  }
  return 0;
}
