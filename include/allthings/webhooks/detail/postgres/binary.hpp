#pragma once

// Statement parameters in PostgreSQL's binary format: a body travels as the bytes it is, and a
// batch of events as one array per column (one statement, whatever the batch's size).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace allthings::webhooks::detail::pg {

// Type OIDs of the parameters we send (pg_type.h, stable across versions).
enum TypeOid : unsigned int {
  bytea_oid = 17,
  int8_oid = 20,
  text_oid = 25,
  bytea_array_oid = 1001,
  text_array_oid = 1009,
  int8_array_oid = 1016,
};

inline void append_int32(std::string& out, std::int32_t value) {
  const auto bits = static_cast<std::uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((bits >> shift) & 0xff);
}

inline void append_int64(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((bits >> shift) & 0xff);
}

inline std::int64_t read_int64(const char* bytes) {
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<std::int64_t>(bits);
}

// The parameters of one statement, each with its type, in binary format.
class Params {
 public:
  Params& text(std::string_view value) { return add(text_oid, std::string(value)); }
  Params& text_or_null(const std::optional<std::string>& value) {
    return value ? text(*value) : add_null(text_oid);
  }
  Params& bytes(std::string_view value) { return add(bytea_oid, std::string(value)); }
  Params& int8(std::int64_t value) {
    std::string bits;
    append_int64(bits, value);
    return add(int8_oid, std::move(bits));
  }
  // One-dimensional arrays; a missing element is NULL.
  Params& text_array(const std::vector<std::optional<std::string_view>>& values) {
    return add(text_array_oid, array(text_oid, values));
  }
  Params& text_array(const std::vector<std::string_view>& values) {
    return add(text_array_oid, array(text_oid, optional_all(values)));
  }
  Params& bytes_array(const std::vector<std::string_view>& values) {
    return add(bytea_array_oid, array(bytea_oid, optional_all(values)));
  }
  Params& int8_array(const std::vector<std::int64_t>& values) {
    std::vector<std::string> encoded;
    encoded.reserve(values.size());
    for (const auto value : values) {
      encoded.emplace_back();
      append_int64(encoded.back(), value);
    }
    std::vector<std::optional<std::string_view>> views(encoded.begin(), encoded.end());
    return add(int8_array_oid, array(int8_oid, views));
  }

  int count() const { return static_cast<int>(types_.size()); }
  const unsigned int* types() const { return types_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }
  // Pointers into this object's values, made when asked so that copies stay valid.
  const char* const* values() const {
    pointers_.clear();
    for (const auto& value : values_) pointers_.push_back(value ? value->data() : nullptr);
    return pointers_.data();
  }

 private:
  Params& add(unsigned int type, std::optional<std::string> value) {
    lengths_.push_back(value ? static_cast<int>(value->size()) : 0);
    values_.push_back(std::move(value));
    types_.push_back(type);
    formats_.push_back(1);
    return *this;
  }

  Params& add_null(unsigned int type) { return add(type, std::nullopt); }

  template <class View>
  static std::vector<std::optional<std::string_view>> optional_all(const std::vector<View>& in) {
    return std::vector<std::optional<std::string_view>>(in.begin(), in.end());
  }

  // The binary array format: dimensions, null flag, element type, then each element's length
  // (-1 for NULL) and bytes.
  static std::string array(unsigned int element_type,
                           const std::vector<std::optional<std::string_view>>& elements) {
    std::string out;
    bool has_null = false;
    for (const auto& element : elements) has_null = has_null || !element;
    append_int32(out, elements.empty() ? 0 : 1);
    append_int32(out, has_null ? 1 : 0);
    append_int32(out, static_cast<std::int32_t>(element_type));
    if (elements.empty()) return out;
    append_int32(out, static_cast<std::int32_t>(elements.size()));
    append_int32(out, 1);  // lower bound
    for (const auto& element : elements) {
      if (!element) {
        append_int32(out, -1);
        continue;
      }
      append_int32(out, static_cast<std::int32_t>(element->size()));
      out.append(element->data(), element->size());
    }
    return out;
  }

  std::vector<std::optional<std::string>> values_;
  std::vector<unsigned int> types_;
  mutable std::vector<const char*> pointers_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

}  // namespace allthings::webhooks::detail::pg
