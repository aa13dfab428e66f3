#pragma once

// One record of the durable inbox's outcome log (see outcome_log.hpp), as written and as read
// back: length (4 bytes, little-endian) | checksum of the payload (4) | payload (JSON). Reading
// stops at the first record that is torn, damaged or not an outcome, and never trusts a length
// or a number it reads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../text/json_text.hpp"
#include "store.hpp"

namespace allthings::webhooks::detail {

struct LoggedOutcome {
  std::uint64_t seq = 0;
  Outcome outcome;
};

namespace outcome_record {

inline constexpr std::uint32_t max_record_bytes = 1u << 20;
inline constexpr std::size_t frame_header_bytes = 8;

// FNV-1a: enough to tell a torn or overwritten record from a whole one.
inline std::uint32_t checksum(const char* data, std::size_t size) {
  std::uint32_t hash = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) {
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 16777619u;
  }
  return hash;
}

inline void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
inline std::uint32_t get_u32(const char* in) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= std::uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  return value;
}

// The JSON is written directly: a nlohmann object took a dozen heap allocations on every
// worker for every outcome. Throws nlohmann::json::exception when the id or reason is not
// UTF-8.
inline std::string encode(std::uint64_t seq, const Outcome& outcome) {
  std::string text = "{\"seq\":" + std::to_string(seq) +
                     ",\"kind\":" + std::to_string(static_cast<int>(outcome.kind)) + ",\"id\":";
  append_json_string(text, outcome.id);
  text += ",\"attempt\":" + std::to_string(outcome.attempt) +
          ",\"handlers\":" + handlers_to_json(outcome.handlers) +
          ",\"at\":" + std::to_string(to_millis(outcome.at));
  if (!outcome.reason.empty()) {
    text += ",\"reason\":";
    append_json_string(text, outcome.reason);
  }
  text += '}';
  std::string frame;
  frame.reserve(frame_header_bytes + text.size());
  put_u32(frame, static_cast<std::uint32_t>(text.size()));
  put_u32(frame, checksum(text.data(), text.size()));
  frame += text;
  return frame;
}

// False when `text` is not an outcome as encode() writes it.
inline bool decode(const std::string& text, LoggedOutcome& record) {
  const auto payload = nlohmann::json::parse(text, nullptr, false);
  if (!payload.is_object()) return false;
  const auto seq = integer_member<std::uint64_t>(payload, "seq");
  const auto kind = integer_member<int>(payload, "kind");
  const auto attempt = integer_member<int>(payload, "attempt");
  const auto at = integer_member<std::int64_t>(payload, "at");
  const auto id = payload.find("id");
  const auto handlers = payload.find("handlers");
  const auto reason = payload.find("reason");
  if (!seq || !kind || !attempt || !at || id == payload.end() || !id->is_string() ||
      handlers == payload.end() || (reason != payload.end() && !reason->is_string()) || *kind < 0 ||
      *kind > static_cast<int>(Outcome::Kind::dead_letter)) {
    return false;
  }
  auto handler_list = handlers_from_json(*handlers);
  if (!handler_list) return false;
  record.seq = *seq;
  record.outcome.kind = static_cast<Outcome::Kind>(*kind);
  record.outcome.id = id->get<std::string>();
  record.outcome.attempt = *attempt;
  record.outcome.handlers = std::move(*handler_list);
  record.outcome.at = from_millis(*at);
  record.outcome.reason = reason != payload.end() ? reason->get<std::string>() : std::string();
  return true;
}

// Appends the intact records at the start of `bytes` to `records`, in order.
inline void read_frames(std::string_view bytes, std::vector<LoggedOutcome>& records) {
  for (std::size_t at = 0; bytes.size() - at >= frame_header_bytes;) {
    const auto length = get_u32(bytes.data() + at);
    if (length > max_record_bytes || length > bytes.size() - at - frame_header_bytes) break;
    const std::string text(bytes.substr(at + frame_header_bytes, length));
    if (checksum(text.data(), text.size()) != get_u32(bytes.data() + at + 4)) break;
    LoggedOutcome record;
    if (!decode(text, record)) break;
    records.push_back(std::move(record));
    at += frame_header_bytes + length;
  }
}

}  // namespace outcome_record
}  // namespace allthings::webhooks::detail
