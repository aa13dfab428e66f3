// The request head scanner on its own: limits, framing, strictness, and incremental scanning.
#include <doctest/doctest.h>

#include <allthings/webhooks/detail/http/request_head.hpp>

#include <string>
#include <vector>

namespace aw = allthings::webhooks;
using aw::detail::BodyFraming;
using aw::detail::RequestHead;

namespace {

const aw::detail::HeadLimits limits{100, 400, 5};

RequestHead scan(const std::string& bytes) { return aw::detail::scan_request_head(bytes, limits); }

const std::string line = "POST /webhooks/allthings HTTP/1.1\r\n";

}  // namespace

TEST_CASE("request head: a complete head gives its size and its body's framing") {
  const std::string plain = line + "Host: x\r\n\r\n";
  auto head = scan(plain + "rest");
  CHECK(head.state == RequestHead::State::complete);
  CHECK(head.size == plain.size());
  CHECK(head.framing == BodyFraming::none);

  head = scan(line + "content-LENGTH:  42 \r\n\r\n");
  CHECK(head.framing == BodyFraming::length);
  CHECK(head.content_length == 42);

  head = scan(line + "Content-Length: 7\r\nContent-Length: 7\r\n\r\n");
  CHECK(head.framing == BodyFraming::length);

  head = scan(line + "Transfer-Encoding: Chunked\r\n\r\n");
  CHECK(head.framing == BodyFraming::chunked);
}

TEST_CASE("request head: anything short of the blank line is incomplete, not wrong") {
  const std::string whole = line + "Host: x\r\nContent-Length: 3\r\n\r\n";
  for (std::size_t n = 0; n < whole.size(); ++n) {
    CAPTURE(n);
    CHECK(scan(whole.substr(0, n)).state == RequestHead::State::incomplete);
  }
}

TEST_CASE("request head: fed byte by byte, the scanner finds what one scan finds") {
  const std::string whole = line + "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  aw::detail::RequestHeadScanner scanner(limits);
  RequestHead head;
  std::size_t fed = 0;
  while (head.state == RequestHead::State::incomplete && fed < whole.size()) {
    head = scanner.scan(whole.substr(0, ++fed));
  }
  CHECK(head.state == RequestHead::State::complete);
  CHECK(head.size == whole.size() - 5);
  CHECK(head.framing == BodyFraming::chunked);
}

TEST_CASE("request head: the limits refuse as soon as they are crossed") {
  auto refusal_of = [](const std::string& bytes) {
    const auto head = scan(bytes);
    REQUIRE(head.state == RequestHead::State::refused);
    return head.refusal;
  };
  // No line end yet, but already longer than a request line may be.
  CHECK(refusal_of("GET /" + std::string(100, 'a')) == aw::ErrorKind::request_line_too_long);
  CHECK(refusal_of(line + "A: " + std::string(400, 'a')) == aw::ErrorKind::header_too_large);
  std::string fields;
  for (int i = 0; i < 6; ++i) fields += "F" + std::to_string(i) + ": v\r\n";
  CHECK(refusal_of(line + fields + "\r\n") == aw::ErrorKind::header_too_large);
  // Exactly at the limits: accepted.
  CHECK(scan("GET /" + std::string(86, 'a') + " HTTP/1.1\r\n\r\n").state ==
        RequestHead::State::complete);
  CHECK(scan(line + fields.substr(0, 5 * 7) + "\r\n").state == RequestHead::State::complete);
}

TEST_CASE("request head: the blank line counts against the head budget") {
  // Found by the request_head fuzzer: fields ending just within the budget, then the blank line
  // past it, made a head of max_head + 2 bytes complete.
  for (std::size_t over : {0, 1, 2}) {
    CAPTURE(over);
    const std::size_t field_bytes = limits.max_head - line.size() - 2 + over;  // with its CRLF
    const std::string field = "A: " + std::string(field_bytes - 5, 'a') + "\r\n";
    const auto head = scan(line + field + "\r\n");
    if (over == 0) {
      CHECK(head.state == RequestHead::State::complete);
      CHECK(head.size == limits.max_head);
    } else {
      REQUIRE(head.state == RequestHead::State::refused);
      CHECK(head.refusal == aw::ErrorKind::header_too_large);
    }
  }
}

TEST_CASE("request head: what cpp-httplib versions would read differently is refused") {
  const std::vector<std::string> refused = {
      "POST / HTTP/1.1\nHost: x\r\n\r\n",                                    // bare LF
      line + "Host: x\rY\r\n\r\n",                                           // bare CR
      line + " folded\r\n\r\n",                                              // obsolete folding
      line + "Host : x\r\n\r\n",                                             // blank before colon
      line + "NoColon\r\n\r\n",                                              // not a field
      line + "Bad\x01Name: x\r\n\r\n",                                       // control in a name
      line + std::string("X: a\0b\r\n\r\n", 10),                                // NUL
      line + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",     // both framings
      line + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",              // conflicting lengths
      line + "Content-Length: -1\r\n\r\n",                                   // not a number
      line + "Content-Length: 1, 1\r\n\r\n",                                 // a list
      line + "Transfer-Encoding: gzip, chunked\r\n\r\n",                     // a coding list
      line + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "\r\nPOST / HTTP/1.1\r\n\r\n",                                         // empty request line
  };
  for (const auto& bytes : refused) {
    CAPTURE(bytes);
    const auto head = scan(bytes);
    CHECK(head.state == RequestHead::State::refused);
    CHECK(head.refusal == aw::ErrorKind::malformed_request);
  }
}
