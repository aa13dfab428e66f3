#pragma once

// PostgreSQL text holds valid UTF-8 without NUL bytes; an id or a header could carry anything
// (a JSON "\u0000", a header read by a custom scheme). One such value in a multi-row insert
// would fail the whole batch, and the sender's retries would fail every batch they join, so
// values are made storable before they are batched.
#include <cstddef>
#include <string>
#include <string_view>

#include "../crypto/sha256.hpp"

namespace allthings::webhooks::detail::pg {

inline bool is_storable_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead == 0) return false;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned int code = 0;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    const unsigned int smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

// An id or key as stored: itself when storable, otherwise "sha256:" and the hex digest of its
// bytes, which keeps equal values equal (dedupe and ordering still work).
inline std::string storable_key(std::string text) {
  if (is_storable_text(text)) return text;
  return "sha256:" + to_hex(sha256(text));
}

// A name as stored: unstorable bytes become '?' (names are for reading and matching; one that
// needs this matches no handler but on_unhandled either way).
inline std::string storable_name(std::string text) {
  if (is_storable_text(text)) return text;
  for (char& c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0 || byte >= 0x80) c = '?';
  }
  return text;
}

}  // namespace allthings::webhooks::detail::pg
