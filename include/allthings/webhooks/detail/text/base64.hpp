#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Standard base64 (RFC 4648 section 4, with padding), as Standard Webhooks and Shopify encode
// signatures and keys.
namespace allthings::webhooks::detail {

inline int base64_digit_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The bytes of canonical padded base64: a length that is a multiple of 4, '=' only at the end,
// and unused low bits zero, so one byte string has exactly one accepted spelling. Anything else
// (blanks, URL-safe letters, missing padding) is nullopt.
inline std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    const int value = base64_digit_value(text[i]);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  // What is left are the unused bits of the last digit: 0 (no padding), 4 ('==') or 2 ('=').
  if (bit_count != static_cast<int>(padding) * 2) return std::nullopt;
  if ((bits & ((1u << bit_count) - 1)) != 0) return std::nullopt;
  return out;
}

// Exactly N bytes from canonical base64; anything else is nullopt.
template <std::size_t N>
std::optional<std::array<unsigned char, N>> decode_base64_exactly(std::string_view text) {
  const auto bytes = decode_base64(text);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<unsigned char, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<unsigned char>((*bytes)[i]);
  return out;
}

inline std::string encode_base64(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::size_t left = size - i;
    const std::uint32_t group = static_cast<std::uint32_t>(data[i]) << 16 |
                                (left > 1 ? static_cast<std::uint32_t>(data[i + 1]) << 8 : 0) |
                                (left > 2 ? static_cast<std::uint32_t>(data[i + 2]) : 0);
    out += digits[(group >> 18) & 63];
    out += digits[(group >> 12) & 63];
    out += left > 1 ? digits[(group >> 6) & 63] : '=';
    out += left > 2 ? digits[group & 63] : '=';
  }
  return out;
}

inline std::string encode_base64(std::string_view bytes) {
  return encode_base64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace allthings::webhooks::detail
