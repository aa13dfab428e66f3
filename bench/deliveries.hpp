#pragma once

#include <allthings/webhooks/detail/crypto/hmac_sha256.hpp>
#include <allthings/webhooks/schemes/standard_webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <httplib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// What the benchmark sends: unique, realistic, correctly signed ticket.created deliveries, as
// complete HTTP/1.1 requests built (and signed) before any timing starts.
namespace bench {

inline const std::string bench_secret = "whsec_bench_7c41d0e9b2";
// For the Node.js receiver, which verifies the Standard Webhooks way: whsec_ and base64.
inline const std::string bench_standard_webhooks_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// How a pool's requests are signed: as Allthings signs (the body only, so a new timestamp
// keeps the signature valid), or as Standard Webhooks senders do (id, timestamp and body, so
// a new timestamp needs a new signature).
enum class Signing { allthings, standard_webhooks };

// 24 hex digits, the shape of Allthings API ids. The last 12 carry the request's pool index,
// so the receiving side can tell which request an event came from.
inline std::string event_id(std::size_t index) {
  char id[32];
  std::snprintf(id, sizeof id, "65a1f0c2e4b0%012zx", index);
  return id;
}

inline std::optional<std::size_t> index_of_event_id(std::string_view id) {
  if (id.size() != 24 || id.substr(0, 12) != "65a1f0c2e4b0") return std::nullopt;
  std::size_t index = 0;
  for (char c : id.substr(12)) {
    const int digit = allthings::webhooks::detail::hex_digit_value(c);
    if (digit < 0) return std::nullopt;
    index = index * 16 + static_cast<std::size_t>(digit);
  }
  return index;
}

namespace detail {

inline std::string hex24(std::size_t prefix, std::size_t index) {
  char id[32];
  std::snprintf(id, sizeof id, "%06zx%018zx", prefix & 0xffffff, index);
  return id;
}

inline std::string iso_time(std::size_t seconds_after_base) {
  // 2024-05-14T08:00:00Z plus the offset, always within that day.
  const std::size_t s = seconds_after_base % 86400;
  char text[40];
  std::snprintf(text, sizeof text, "2024-05-14T%02zu:%02zu:%02zu.%03zuZ", s / 3600, s / 60 % 60,
                s % 60, seconds_after_base % 1000);
  return text;
}

struct TicketText {
  const char* title;
  const char* description;
  const char* tags;  // JSON array text
};

inline const std::array<TicketText, 4> ticket_texts = {{
    {"Leaking tap in the kitchen",
     "The cold water tap in the kitchen has been dripping since Sunday evening and the drip is "
     "getting faster. I have closed the valve under the sink for now, so there is no water in "
     "the kitchen at all. Could a plumber come this week, ideally after 4 pm? The key is with "
     "the neighbour in flat 2A if nobody is home. Photos of the tap and of the valve attached.",
     R"(["plumbing","kitchen","water"])"},
    {"Heating not working in the living room",
     "The radiator in the living room stays cold although the thermostat is set to 5. The "
     "radiators in the bedroom and bathroom work normally. I already tried to bleed it, which "
     "let out some air but did not help. It is getting quite cold in the evenings, so I would "
     "be grateful for a visit soon. I am working from home on Tuesdays and Thursdays.",
     R"(["heating","radiator"])"},
    {"Front door of the building does not close",
     "Since this morning the front door of house B does not close by itself any more; it stays "
     "open a hand's width unless someone pulls it shut. Parcels have been left in the hallway "
     "and strangers could walk in. The door closer at the top seems to be loose and makes a "
     "grinding noise. Several neighbours noticed it too. Please send someone to fix it quickly.",
     R"(["door","common-area","security"])"},
    {"Washing machine room flooded",
     "There is about a centimetre of water on the floor of the shared laundry room in the "
     "basement. It seems to come from the drain near machine 3, which gurgles when the machines "
     "pump out. I put a sign on the door so that nobody slips, and moved the baskets to the "
     "shelf. Machine 3 should probably not be used until the drain has been checked by someone.",
     R"(["laundry","basement","water"])"},
}};

}  // namespace detail

// A realistic ticket.created delivery of about 1.1 KB in the default envelope. All text is
// plain ASCII without characters JSON would escape.
inline std::string ticket_created_body(std::size_t index) {
  const auto& text = detail::ticket_texts[index % detail::ticket_texts.size()];
  const std::string ticket_id = detail::hex24(0x5f3e21, index);
  const std::string created = detail::iso_time(index);
  std::string body;
  body.reserve(1200);
  body += R"({"event":{"id":")" + event_id(index) + R"(","name":"ticket.created",)";
  body += R"("urn":"urn:allthings:app:5a9e7b2c1d3f4e0012ab34cd:ticket:)" + ticket_id + R"(",)";
  body += R"("createdDate":")" + created + R"(","data":{"id":")" + ticket_id + R"(",)";
  body += R"("incrementID":")" + std::to_string(100000 + index) + R"(",)";
  body += R"("title":")" + std::string(text.title) + R"(",)";
  body += R"("description":")" + std::string(text.description) + R"(",)";
  body += R"("category":"5b1c6d2e8f9a0b0011223344","status":"waiting-for-agent",)";
  body += R"("labels":["maintenance"],"tags":)" + std::string(text.tags) + ",";
  body += R"("channels":["app"],"createdAt":")" + created + R"(","updatedAt":")" + created +
          R"(","lastStatusUpdate":")" + created + R"(",)";
  body += R"("files":[{"id":")" + detail::hex24(0x6a0f11, index) +
          R"(","name":"IMG_2041.jpg","mimeType":"image/jpeg","size":482113}],)";
  body += R"("createdBy":{"id":")" + detail::hex24(0x5c7d90, index % 997) +
          R"(","type":"customer"},"unit":")" + detail::hex24(0x5d8e01, index % 97) + "\"}}}";
  return body;
}

// Complete signed requests, ready to be written to a socket. Timestamps are set by stamp()
// right before a measurement, so a long run never drifts out of the timestamp window.
class RequestPool {
 public:
  RequestPool(std::string path, std::string secret, Signing signing = Signing::allthings)
      : path_(std::move(path)), secret_(secret), key_(secret), signing_(signing) {}

  std::size_t size() const { return entries_.size(); }

  std::string_view request(std::size_t index) const { return entries_[index].wire; }

  std::string_view body(std::size_t index) const {
    const auto& e = entries_[index];
    return std::string_view(e.wire).substr(e.body_at);
  }

  // The request's headers as cpp-httplib hands them to a route.
  httplib::Headers headers(std::size_t index) const {
    const auto& e = entries_[index];
    httplib::Headers headers;
    std::string_view block = std::string_view(e.wire).substr(0, e.body_at - 4);
    block.remove_prefix(block.find("\r\n") + 2);  // the request line
    while (!block.empty()) {
      const auto end = std::min(block.find("\r\n"), block.size());
      const auto line = block.substr(0, end);
      const auto colon = line.find(':');
      headers.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
      block.remove_prefix(std::min(end + 2, block.size()));
    }
    return headers;
  }

  // Adds requests up to `count`; the new ones carry the timestamp of the last stamp().
  void grow_to(std::size_t count) {
    entries_.reserve(count);
    for (std::size_t i = entries_.size(); i < count; ++i) entries_.push_back(make_entry(i));
  }

  void stamp(std::chrono::system_clock::time_point at) {
    stamped_at_ = at;
    if (signing_ == Signing::standard_webhooks) {
      for (std::size_t i = 0; i < entries_.size(); ++i) entries_[i] = make_entry(i);
      return;
    }
    stamp_ = allthings::webhooks::testing::timestamp_millis(at);
    if (stamp_.size() != timestamp_digits) throw std::logic_error("timestamp is not 13 digits");
    for (auto& e : entries_) e.wire.replace(e.timestamp_at, timestamp_digits, stamp_);
  }

  struct BodySizes {
    std::size_t min = 0, max = 0;
    double mean = 0;
  };
  BodySizes body_sizes() const {
    BodySizes s{SIZE_MAX, 0, 0};
    for (const auto& e : entries_) {
      const std::size_t n = e.wire.size() - e.body_at;
      s.min = std::min(s.min, n);
      s.max = std::max(s.max, n);
      s.mean += static_cast<double>(n);
    }
    if (!entries_.empty()) s.mean /= static_cast<double>(entries_.size());
    return s;
  }

 private:
  static constexpr std::size_t timestamp_digits = 13;

  struct Entry {
    std::string wire;
    std::size_t timestamp_at = 0;
    std::size_t body_at = 0;
  };

  Entry make_entry(std::size_t index) const {
    const std::string body = ticket_created_body(index);
    Entry e;
    e.wire.reserve(body.size() + 320);
    e.wire += "POST " + path_ + " HTTP/1.1\r\n";
    e.wire += "Host: 127.0.0.1\r\n";
    e.wire += "User-Agent: allthings-webhooks-bench\r\n";
    e.wire += "Content-Type: application/json\r\n";
    e.wire += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (signing_ == Signing::standard_webhooks) {
      const auto headers = allthings::webhooks::schemes::StandardWebhooksScheme::sign_message(
          "msg_" + event_id(index), body, secret_, stamped_at_);
      for (const auto& [name, value] : headers) e.wire += name + ": " + value + "\r\n";
      e.wire += "\r\n";
    } else {
      e.wire += "x-allthings-signature: " + allthings::webhooks::detail::to_hex(key_.compute(body)) +
                "\r\n";
      e.wire += "x-allthings-signature-timestamp: ";
      e.timestamp_at = e.wire.size();
      e.wire += stamp_;
      e.wire += "\r\n\r\n";
    }
    e.body_at = e.wire.size();
    e.wire += body;
    return e;
  }

  std::string path_;
  std::string secret_;
  allthings::webhooks::detail::HmacSha256Key key_;
  Signing signing_;
  std::chrono::system_clock::time_point stamped_at_ = std::chrono::system_clock::now();
  std::string stamp_ = allthings::webhooks::testing::timestamp_millis(stamped_at_);
  std::vector<Entry> entries_;
};

}  // namespace bench
