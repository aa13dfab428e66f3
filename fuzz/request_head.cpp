// The request head scanner on arbitrary bytes, whole and fed in pieces: the same verdict either
// way, and a complete head is always one cpp-httplib reads the same way (CRLF lines only, no
// control characters, within the limits).
#include <allthings/webhooks/detail/http/request_head.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

namespace aw = allthings::webhooks;
using aw::detail::RequestHead;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const aw::detail::HeadLimits limits{64, 512, 8};
  const std::size_t step = 1 + data[0] % 7;  // how the bytes arrive
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  const RequestHead whole = aw::detail::scan_request_head(bytes, limits);
  aw::detail::RequestHeadScanner scanner(limits);
  RequestHead pieces;
  for (std::size_t fed = 0; pieces.state == RequestHead::State::incomplete && fed < bytes.size();) {
    fed = std::min(bytes.size(), fed + step);
    pieces = scanner.scan(bytes.substr(0, fed));
  }
  require(whole.state == pieces.state);
  if (whole.state == RequestHead::State::refused) {
    require(whole.refusal == pieces.refusal);
    return 0;
  }
  if (whole.state == RequestHead::State::incomplete) {
    // Nothing refused may hide in it: the unfinished head is within the limits so far.
    require(bytes.size() <= limits.max_head + 1);
    return 0;
  }
  require(whole.size == pieces.size && whole.framing == pieces.framing &&
          whole.content_length == pieces.content_length);
  const auto head = bytes.substr(0, whole.size);
  require(head.size() <= limits.max_head && head.size() >= 4);
  require(head.substr(head.size() - 4) == "\r\n\r\n");
  require(head.find("\r\n\r\n") == head.size() - 4);
  require(head.find("\r\n") <= limits.max_request_line);
  for (std::size_t i = 0; i < head.size(); ++i) {
    const auto c = static_cast<unsigned char>(head[i]);
    if (c == '\n') require(i > 0 && head[i - 1] == '\r');
    if (c == '\r') require(i + 1 < head.size() && head[i + 1] == '\n');
    require(c >= 0x20 || c == '\t' || c == '\r' || c == '\n');
    require(c != 0x7f);
  }
  return 0;
}
