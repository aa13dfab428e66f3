#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hex.hpp"

// A validating JSON scanner that picks out the scalars at a few JSON pointers in one pass over
// the raw bytes, without building a tree and without recursion. It accepts exactly what
// nlohmann::json::accept() (3.11) accepts, so a body is judged the same whether the envelope or
// a handler's data() reads it.
namespace allthings::webhooks::detail {

// A stack that keeps its first N entries inline, so a body of usual depth needs no heap, and
// spills the rest to a vector, so any depth fits.
template <class T, std::size_t N>
class SmallStack {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  T& top() { return (*this)[size_ - 1]; }
  T& operator[](std::size_t i) { return i < N ? inline_[i] : spill_[i - N]; }

  void push(const T& value) {
    if (size_ < N) {
      inline_[size_] = value;
    } else {
      spill_.push_back(value);
    }
    ++size_;
  }
  void pop() {
    --size_;
    if (size_ >= N) spill_.pop_back();
  }

 private:
  std::array<T, N> inline_{};
  std::vector<T> spill_;
  std::size_t size_ = 0;
};

// One reference token of a JSON pointer, ready to be compared with an object key or an index.
struct PointerToken {
  std::string key;
  // Set when the token is an array index the way std::to_string writes it ("0", "17"; not
  // "01" or "-"): only such a token names an array element.
  std::optional<std::size_t> index;

  explicit PointerToken(std::string token) : key(std::move(token)) {
    if (key.empty() || (key.size() > 1 && key[0] == '0')) return;
    std::size_t value = 0;
    for (const char c : key) {
      if (c < '0' || c > '9') return;
      const auto digit = static_cast<std::size_t>(c - '0');
      if (value > (SIZE_MAX - digit) / 10) return;  // no array is that long
      value = value * 10 + digit;
    }
    index = value;
  }
};

namespace json_scan {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Printable ASCII that a string holds as it is: everything but '"', '\\', controls and UTF-8.
inline bool is_plain(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x20 && b < 0x80 && c != '"' && c != '\\';
}

// The first byte at or after `p` that is not plain. Looks at 8 bytes per step while all are
// plain: string contents are most of a body's bytes.
inline const char* skip_plain(const char* p, const char* end) {
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  while (end - p >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    // A byte's high bit ends up set in `flags` where the byte is '"' or '\\' (zero after the
    // XOR, which (x - ones) & ~x finds), below 0x20 (v - 0x20 borrows) or from 0x80 (v
    // itself). Borrows only reach bytes above one already flagged, so "any flag" is exact.
    const std::uint64_t quote = v ^ (ones * '"');
    const std::uint64_t backslash = v ^ (ones * '\\');
    const std::uint64_t flags =
        ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | (v - ones * 0x20) | v;
    if (flags & highs) break;
    p += 8;
  }
  while (p != end && is_plain(*p)) ++p;
  return p;
}

// The value of 4 hex digits at `p` (either case), or -1.
inline int hex4(const char* p) {
  int value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hex_digit_value(p[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The text of a string between its quotes, already validated, with its escapes resolved.
inline void unescape(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    const std::size_t backslash = std::min(raw.find('\\', i), raw.size());
    out.append(raw.data() + i, backslash - i);
    if (backslash == raw.size()) break;
    const char kind = raw[backslash + 1];
    i = backslash + 2;
    switch (kind) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        auto cp = static_cast<std::uint32_t>(hex4(raw.data() + i));
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // validation made sure "\uDC00".."\uDFFF" follows
          const auto low = static_cast<std::uint32_t>(hex4(raw.data() + i + 2));
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default:  // '"', '\\', '/'
        out += kind;
        break;
    }
  }
}

// Where a number's first significant digit puts it: the value lies in [10^(m-1), 10^m).
// nullopt for zero.
inline std::optional<std::int64_t> decimal_magnitude(std::string_view integer,
                                                     std::string_view fraction,
                                                     std::int64_t exponent) {
  const std::size_t first = integer.find_first_not_of('0');
  if (first != std::string_view::npos) {
    return static_cast<std::int64_t>(integer.size() - first) + exponent;
  }
  const std::size_t zeros = fraction.find_first_not_of('0');
  if (zeros == std::string_view::npos) return std::nullopt;
  return exponent - static_cast<std::int64_t>(zeros);
}

}  // namespace json_scan

enum class JsonShape { malformed, too_deep, not_an_object, object };

template <std::size_t N>
struct PointerValues {
  JsonShape shape = JsonShape::malformed;
  // Strings unescaped; numbers as nlohmann::json would dump them; absent when the pointer
  // names no value, or an object, array, boolean or null.
  std::array<std::optional<std::string>, N> values;
};

// Scans JSON texts for the scalars at N fixed JSON pointers. As in a parsed tree, a later
// duplicate key replaces the whole value an earlier one gave, also what lay deeper in it.
template <std::size_t N>
class PointerScanner {
  static_assert(N < 32, "pointer sets are kept in a 32-bit mask");

 public:
  using Tokens = std::vector<std::string>;  // reference tokens, unescaped, root first

  explicit PointerScanner(const std::array<Tokens, N>& pointers) {
    for (std::size_t i = 0; i < N; ++i) {
      for (const auto& token : pointers[i]) pointers_[i].emplace_back(token);
    }
  }

  // `max_depth`: the most arrays and objects open at once; a deeper text is too_deep as soon
  // as the scan gets there (so too_deep may also hide a malformed rest).
  PointerValues<N> scan(std::string_view json,
                        std::size_t max_depth = std::numeric_limits<std::size_t>::max()) const {
    Scan scan(pointers_, json, max_depth);
    PointerValues<N> result;
    if (!scan.run()) {
      if (scan.too_deep()) result.shape = JsonShape::too_deep;
      return result;
    }
    result.shape = scan.root_is_object() ? JsonShape::object : JsonShape::not_an_object;
    result.values = std::move(scan.values());
    return result;
  }

 private:
  using Pointers = std::array<std::vector<PointerToken>, N>;
  using Mask = std::uint32_t;  // bit i: pointer i

  // One pass over one text.
  class Scan {
   public:
    Scan(const Pointers& pointers, std::string_view json, std::size_t max_depth)
        : pointers_(pointers),
          p_(json.data()),
          end_(json.data() + json.size()),
          max_depth_(max_depth) {}

    bool root_is_object() const { return root_is_object_; }
    bool too_deep() const { return too_deep_; }
    std::array<std::optional<std::string>, N>& values() { return values_; }

    // False when nlohmann::json::accept() would reject the text.
    bool run() {
      skip_bom();
      Mask mask = (Mask{1} << N) - 1;  // the pointers whose path leads to the next value
      for (;;) {
        skip_whitespace();
        bool opened = false;  // the value was a container's opening bracket
        if (!value(mask, opened)) return false;
        // Find where the next value starts, closing containers on the way.
        for (;;) {
          skip_whitespace();
          // nlohmann's lexer takes a NUL byte for the end of the input (C strings), so
          // whatever follows one after the root value is never read.
          if (containers_.empty()) return p_ == end_ || *p_ == '\0';
          if (p_ == end_) return false;
          const bool in_array = containers_.top() == Container::array;
          if (*p_ == (in_array ? ']' : '}')) {
            ++p_;
            close();
            opened = false;
            continue;
          }
          if (!opened) {
            if (*p_ != ',') return false;
            ++p_;
            skip_whitespace();
          }
          if (in_array) {
            mask = element_mask();
          } else if (!member(mask)) {
            return false;
          }
          break;
        }
      }
    }

   private:
    enum class Container : unsigned char { object, array };

    // Where the container at each open level keeps track of the pointers that lead into it.
    struct PathLevel {
      Mask mask;
      std::size_t next_index;  // arrays: the index of the next element
    };

    // nlohmann skips a UTF-8 byte order mark at the start of any input.
    void skip_bom() {
      if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
    }

    void skip_whitespace() {
      while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }

    // Reads a scalar, or the opening bracket of a container, whose path `mask` describes.
    bool value(Mask mask, bool& opened) {
      if (p_ == end_) return false;
      const Mask here = ending_here(mask);
      // Forget what an earlier duplicate of this value gave, at it or anywhere below it.
      absent(mask);
      switch (*p_) {
        case '{':
        case '[': {
          if (containers_.size() >= max_depth_) {
            too_deep_ = true;
            return false;
          }
          if (containers_.empty()) root_is_object_ = *p_ == '{';
          containers_.push(*p_ == '[' ? Container::array : Container::object);
          const Mask deeper = mask & ~here;
          // Only levels that lead to a pointer are tracked, so they are always the outermost.
          if (deeper != 0) path_.push(PathLevel{deeper, 0});
          ++p_;
          opened = true;
          return true;
        }
        case '"': {
          std::string_view raw;
          bool escaped = false;
          if (!string(raw, escaped)) return false;
          if (here != 0) found(here, escaped ? unescaped(raw) : std::string(raw));
          return true;
        }
        case 't':
          return literal("true");
        case 'f':
          return literal("false");
        case 'n':
          return literal("null");
        default:
          return number(here);
      }
    }

    // Reads an object member's key and the colon after it, and makes `mask` the member's.
    bool member(Mask& mask) {
      if (p_ == end_ || *p_ != '"') return false;
      std::string_view raw;
      bool escaped = false;
      if (!string(raw, escaped)) return false;
      mask = 0;
      const std::size_t level = containers_.size() - 1;
      if (path_.size() > level) {
        // Keys are only materialised on the way to a pointer.
        const std::string_view key = escaped ? std::string_view(unescape_into_scratch(raw)) : raw;
        for_each_bit(path_[level].mask, [&](std::size_t i) {
          if (pointers_[i][level].key == key) mask |= Mask{1} << i;
        });
      }
      skip_whitespace();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      return true;
    }

    // The mask of the array element that starts next.
    Mask element_mask() {
      const std::size_t level = containers_.size() - 1;
      if (path_.size() <= level) return 0;
      PathLevel& array = path_[level];
      const std::size_t index = array.next_index++;
      Mask mask = 0;
      for_each_bit(array.mask, [&](std::size_t i) {
        if (pointers_[i][level].index == index) mask |= Mask{1} << i;
      });
      return mask;
    }

    void close() {
      containers_.pop();
      if (path_.size() > containers_.size()) path_.pop();
    }

    // The pointers in `mask` that end at the value at the current depth.
    Mask ending_here(Mask mask) const {
      Mask here = 0;
      for_each_bit(mask, [&](std::size_t i) {
        if (pointers_[i].size() == containers_.size()) here |= Mask{1} << i;
      });
      return here;
    }

    template <class F>
    static void for_each_bit(Mask mask, F&& f) {
      for (std::size_t i = 0; mask != 0; ++i, mask >>= 1) {
        if (mask & 1) f(i);
      }
    }

    void found(Mask here, std::string text) {
      for (std::size_t i = 0; here != 0; ++i, here >>= 1) {
        if ((here & 1) == 0) continue;
        if (here == 1) {
          values_[i] = std::move(text);  // the last one takes it
        } else {
          values_[i] = text;
        }
      }
    }

    void absent(Mask here) {
      for_each_bit(here, [&](std::size_t i) { values_[i].reset(); });
    }

    // true, false or null: never a value a pointer reports (value() already made it absent).
    bool literal(std::string_view word) {
      if (static_cast<std::size_t>(end_ - p_) < word.size() ||
          std::memcmp(p_, word.data(), word.size()) != 0) {
        return false;
      }
      p_ += word.size();
      return true;
    }

    // Moves past a string whose opening quote is at p_. `raw` gets the bytes between the
    // quotes, `escaped` whether a backslash is among them.
    bool string(std::string_view& raw, bool& escaped) {
      const char* const start = ++p_;
      for (;;) {
        p_ = json_scan::skip_plain(p_, end_);
        if (p_ == end_) return false;
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"') break;
        if (c == '\\') {
          escaped = true;
          if (!escape()) return false;
        } else if (c < 0x20 || !utf8_sequence()) {
          return false;
        }
      }
      raw = std::string_view(start, static_cast<std::size_t>(p_ - start));
      ++p_;
      return true;
    }

    // Moves past an escape sequence, checking \u surrogates as nlohmann does: a high one must
    // be followed by an escaped low one, and a low one alone is an error.
    bool escape() {
      if (end_ - p_ < 2) return false;
      switch (p_[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          p_ += 2;
          return true;
        case 'u':
          break;
        default:
          return false;
      }
      p_ += 2;
      const int first = hex_escape();
      if (first < 0 || (first >= 0xDC00 && first <= 0xDFFF)) return false;
      if (first < 0xD800 || first > 0xDBFF) return true;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      const int second = hex_escape();
      return second >= 0xDC00 && second <= 0xDFFF;
    }

    int hex_escape() {
      if (end_ - p_ < 4) return -1;
      p_ += 4;
      return json_scan::hex4(p_ - 4);
    }

    // Moves past one well-formed UTF-8 sequence of 2 to 4 bytes (Unicode's table 3-7, which
    // nlohmann follows): no overlong forms, no surrogates, nothing above U+10FFFF.
    bool utf8_sequence() {
      const auto lead = static_cast<unsigned char>(*p_);
      unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
      std::ptrdiff_t length;
      if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
      } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
      } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
      } else {
        return false;
      }
      if (end_ - p_ < length) return false;
      const auto second = static_cast<unsigned char>(p_[1]);
      if (second < low || second > high) return false;
      for (std::ptrdiff_t k = 2; k < length; ++k) {
        const auto next = static_cast<unsigned char>(p_[k]);
        if (next < 0x80 || next > 0xBF) return false;
      }
      p_ += length;
      return true;
    }

    // Moves past a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, which must also
    // fit a double (nlohmann rejects what strtod makes infinite).
    bool number(Mask here) {
      const char* const start = p_;
      if (p_ != end_ && *p_ == '-') ++p_;
      const char* const integer = p_;
      if (p_ == end_ || !json_scan::is_digit(*p_)) return false;
      if (*p_ == '0') {
        ++p_;
      } else {
        skip_digits();
      }
      const std::string_view integer_digits(integer, static_cast<std::size_t>(p_ - integer));
      std::string_view fraction_digits;
      if (p_ != end_ && *p_ == '.') {
        const char* const fraction = ++p_;
        if (!skip_digits()) return false;
        fraction_digits = std::string_view(fraction, static_cast<std::size_t>(p_ - fraction));
      }
      std::int64_t exponent = 0;
      if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
        ++p_;
        const bool negative = p_ != end_ && *p_ == '-';
        if (p_ != end_ && (*p_ == '-' || *p_ == '+')) ++p_;
        const char* const digits = p_;
        if (!skip_digits()) return false;
        // Capped far beyond any double's range, far below overflowing.
        constexpr std::int64_t cap = std::int64_t{1} << 40;
        for (const char* d = digits; d != p_; ++d) {
          exponent = std::min(exponent * 10 + (*d - '0'), cap);
        }
        if (negative) exponent = -exponent;
      }
      const std::string_view text(start, static_cast<std::size_t>(p_ - start));
      if (here != 0) {
        // Rare: let nlohmann make the text, so it is exactly what a parsed tree would dump.
        const auto parsed = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
        if (parsed.is_discarded()) return false;
        found(here, parsed.dump());
        return true;
      }
      const auto magnitude =
          json_scan::decimal_magnitude(integer_digits, fraction_digits, exponent);
      if (!magnitude || *magnitude <= 308) return true;         // below 10^308
      if (*magnitude >= 310) return false;                      // from 10^309 on: infinite
      return nlohmann::json::accept(text.begin(), text.end());  // near DBL_MAX: ask
    }

    // Moves past [0-9]+; false if there is not one digit.
    bool skip_digits() {
      const char* const start = p_;
      while (p_ != end_ && json_scan::is_digit(*p_)) ++p_;
      return p_ != start;
    }

    std::string unescaped(std::string_view raw) const {
      std::string out;
      json_scan::unescape(raw, out);
      return out;
    }

    const std::string& unescape_into_scratch(std::string_view raw) {
      json_scan::unescape(raw, scratch_);
      return scratch_;
    }

    const Pointers& pointers_;
    const char* p_;
    const char* const end_;
    SmallStack<Container, 64> containers_;  // one per open level
    SmallStack<PathLevel, 8> path_;  // the outermost levels, as long as they lead to a pointer
    std::array<std::optional<std::string>, N> values_;
    std::string scratch_;  // an escaped key on the way to a pointer
    const std::size_t max_depth_;
    bool root_is_object_ = false;
    bool too_deep_ = false;
  };

  Pointers pointers_;
};

}  // namespace allthings::webhooks::detail
