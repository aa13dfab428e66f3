#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../../error.hpp"
#include "../text/ascii.hpp"

// Reads an HTTP/1.1 request head (request line, header fields, blank line) from the bytes
// received so far, before cpp-httplib sees any of them: it enforces the head's size limits
// while the bytes arrive, and it decides where the request's body ends. It is strict where
// cpp-httplib versions disagree (bare LF, obsolete line folding, ambiguous framing), so that
// the request cpp-httplib parses and the one framed here are always the same.
namespace allthings::webhooks::detail {

struct HeadLimits {
  std::size_t max_request_line;  // bytes of the request line, without its CRLF
  std::size_t max_head;          // bytes of the whole head, blank line included
  std::size_t max_fields;        // header fields
};

enum class BodyFraming {
  none,     // no Content-Length and no Transfer-Encoding: the body is empty (RFC 9112 6.3)
  length,   // Content-Length
  chunked,  // Transfer-Encoding: chunked; its end is found only by reading it
};

struct RequestHead {
  enum class State { incomplete, complete, refused };
  State state = State::incomplete;
  // complete: the head's bytes, blank line included, and how its body is framed.
  std::size_t size = 0;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;
  // refused: request_line_too_long (414), header_too_large (431) or malformed_request (400).
  ErrorKind refusal = ErrorKind::malformed_request;
  const char* reason = "";
};

namespace request_head {

inline bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A control character other than a tab, or DEL. cpp-httplib parses parts of the head as C
// strings, so a NUL would end a field early for it and not for us.
inline bool is_forbidden_control(char c) {
  const auto b = static_cast<unsigned char>(c);
  return (b < 0x20 && c != '\t') || b == 0x7f;
}

inline RequestHead refused(ErrorKind kind, const char* reason) {
  RequestHead head;
  head.state = RequestHead::State::refused;
  head.refusal = kind;
  head.reason = reason;
  return head;
}

// What one header field says about the body's framing, accumulated over the head.
struct Framing {
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool transfer_encoding = false;
};

// Checks one header field line (without its CRLF) and notes its framing; a reason when it is
// refused (always 400).
inline const char* read_field(std::string_view line, Framing& framing) {
  if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return "header field without a name";
  const auto name = line.substr(0, colon);
  for (const char c : name) {
    if (!is_token_char(c)) return "invalid character in a header field name";
  }
  const auto value = trim(line.substr(colon + 1));
  if (equals_ignoring_case(name, "content-length")) {
    const auto length = parse_decimal(value);
    if (!length) return "Content-Length is not a number";
    if (framing.content_length && *framing.content_length != *length) {
      return "conflicting Content-Length fields";
    }
    framing.content_length = length;
  } else if (equals_ignoring_case(name, "transfer-encoding")) {
    // Every cpp-httplib version reads "chunked" alone; any other coding list would leave
    // the body's end to a guess.
    if (framing.transfer_encoding || !equals_ignoring_case(value, "chunked")) {
      return "Transfer-Encoding other than a single chunked";
    }
    framing.transfer_encoding = true;
    framing.chunked = true;
  }
  return nullptr;
}

}  // namespace request_head

// Scans a request head as its bytes arrive, within `limits`. Incremental: each call resumes
// where the last one stopped, so a head trickling in byte by byte costs linear time.
class RequestHeadScanner {
 public:
  explicit RequestHeadScanner(const HeadLimits& limits) : limits_(limits) {}

  // `bytes`: everything received since the request began (what an earlier call saw, and
  // possibly more). `incomplete` means: read more, nothing is wrong yet.
  RequestHead scan(std::string_view bytes) {
    using request_head::refused;
    for (; pos_ < bytes.size(); ++pos_) {
      const char c = bytes[pos_];
      const bool request_line = line_start_ == 0;
      if (c == '\r') {
        if (pos_ + 1 == bytes.size()) break;  // its LF has not arrived yet
        if (bytes[pos_ + 1] != '\n') return refused(ErrorKind::malformed_request, "bare CR");
        const auto line = bytes.substr(line_start_, pos_ - line_start_);
        line_start_ = pos_ + 2;
        ++pos_;
        if (request_line) {
          if (line.size() > limits_.max_request_line) {
            return refused(ErrorKind::request_line_too_long, "request line too long");
          }
          if (line.empty()) return refused(ErrorKind::malformed_request, "empty request line");
        } else if (line.empty()) {
          // The blank line counts too: a head that ends past the budget is refused.
          if (line_start_ > limits_.max_head) {
            return refused(ErrorKind::header_too_large, "request head too large");
          }
          return finished();
        } else {
          if (++fields_ > limits_.max_fields) {
            return refused(ErrorKind::header_too_large, "too many header fields");
          }
          if (const char* reason = request_head::read_field(line, framing_)) {
            return refused(ErrorKind::malformed_request, reason);
          }
        }
        if (line_start_ > limits_.max_head) {
          return refused(ErrorKind::header_too_large, "request head too large");
        }
        continue;
      }
      if (c == '\n') return refused(ErrorKind::malformed_request, "bare LF");
      if (request_head::is_forbidden_control(c)) {
        return refused(ErrorKind::malformed_request, "control character");
      }
      // Refused as soon as the line or the head is too long, before more of it is buffered.
      if (request_line && pos_ + 1 > limits_.max_request_line) {
        return refused(ErrorKind::request_line_too_long, "request line too long");
      }
      if (pos_ + 1 > limits_.max_head) {
        return refused(ErrorKind::header_too_large, "request head too large");
      }
    }
    return RequestHead{};
  }

 private:
  RequestHead finished() const {
    if (framing_.chunked && framing_.content_length) {
      return request_head::refused(ErrorKind::malformed_request,
                                   "both Content-Length and Transfer-Encoding");
    }
    RequestHead head;
    head.state = RequestHead::State::complete;
    head.size = line_start_;
    if (framing_.chunked) {
      head.framing = BodyFraming::chunked;
    } else if (framing_.content_length) {
      head.framing = BodyFraming::length;
      head.content_length = *framing_.content_length;
    }
    return head;
  }

  HeadLimits limits_;
  std::size_t pos_ = 0;         // the next byte to look at
  std::size_t line_start_ = 0;  // where the current line starts
  std::size_t fields_ = 0;
  request_head::Framing framing_;
};

// The whole scan of `bytes` at once.
inline RequestHead scan_request_head(std::string_view bytes, const HeadLimits& limits) {
  return RequestHeadScanner(limits).scan(bytes);
}

}  // namespace allthings::webhooks::detail
