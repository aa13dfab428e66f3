#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/crypto.hpp"
#include "error.hpp"
#include "event.hpp"
#include "options.hpp"

namespace allthings::webhooks {

namespace detail {

// One pass over a body with nlohmann/json's SAX parser: validates the JSON and picks out the
// scalars at a few JSON pointers, without building a tree. Strings are taken as they are,
// numbers as their JSON text; any other value at a pointer counts as absent (a later duplicate
// key wins, as it would in a parsed tree).
class EnvelopeScanner final : public nlohmann::json_sax<nlohmann::json> {
 public:
  static constexpr std::size_t field_count = 4;  // id, name, urn, createdDate

  explicit EnvelopeScanner(const std::array<std::vector<std::string>, field_count>& targets)
      : targets_(targets) {
    for (const auto& target : targets_) deepest_ = std::max(deepest_, target.size());
    levels_.reserve(16);
  }

  bool root_is_object() const { return root_is_object_; }
  std::optional<std::string>& field(std::size_t index) { return found_[index]; }

  bool null() override { return other_value(); }
  bool boolean(bool) override { return other_value(); }
  bool number_integer(number_integer_t value) override {
    return scalar([value] { return std::to_string(value); });
  }
  bool number_unsigned(number_unsigned_t value) override {
    return scalar([value] { return std::to_string(value); });
  }
  bool number_float(number_float_t value, const string_t&) override {
    return scalar([value] { return nlohmann::json(value).dump(); });
  }
  bool string(string_t& value) override {
    return scalar([&value] { return std::move(value); });
  }
  bool binary(binary_t&) override { return other_value(); }

  bool start_object(std::size_t) override {
    if (levels_.empty() && !started_) root_is_object_ = true;
    other_value();
    levels_.push_back(Level{false, 0, {}});
    return true;
  }
  bool key(string_t& name) override {
    // Keys below the deepest pointer can never match: not copying them saves allocations.
    if (levels_.size() <= deepest_) levels_.back().key = name;
    return true;
  }
  bool end_object() override {
    levels_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    other_value();
    levels_.push_back(Level{true, 0, {}});
    return true;
  }
  bool end_array() override {
    levels_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct Level {
    bool is_array;
    std::size_t next_index;  // arrays: index of the next element
    std::string key;         // objects: the key of the current member
  };

  // Whether the value currently read at `level` has the reference token `token`.
  static bool matches(const Level& level, const std::string& token) {
    return level.is_array ? token == std::to_string(level.next_index - 1) : level.key == token;
  }

  // Called at the start of every value: advances the array index the value sits at.
  void enter_value() {
    started_ = true;
    if (!levels_.empty() && levels_.back().is_array) ++levels_.back().next_index;
  }

  bool at(const std::vector<std::string>& target) const {
    if (target.size() != levels_.size()) return false;
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (!matches(levels_[i], target[i])) return false;
    }
    return true;
  }

  // The text is made only for a value that sits at one of the pointers.
  template <class MakeText>
  bool scalar(MakeText make_text) {
    enter_value();
    std::optional<std::string> text;
    for (std::size_t i = 0; i < field_count; ++i) {
      if (!at(targets_[i])) continue;
      if (!text) text = make_text();
      found_[i] = *text;
    }
    return true;
  }

  bool other_value() {
    enter_value();
    for (std::size_t i = 0; i < field_count; ++i) {
      if (at(targets_[i])) found_[i].reset();
    }
    return true;
  }

  const std::array<std::vector<std::string>, field_count>& targets_;
  std::array<std::optional<std::string>, field_count> found_;
  std::vector<Level> levels_;
  std::size_t deepest_ = 0;
  bool started_ = false;
  bool root_is_object_ = false;
};

}  // namespace detail

// Reads the envelope (id, name, urn, createdDate) out of a body at the configured JSON pointers
// and checks that the body is a JSON object, in one pass without building a tree; the data
// object is parsed later, on a worker, when a handler asks for it. Knows nothing of HTTP or
// signatures.
class EnvelopeParser {
 public:
  // Throws std::invalid_argument naming the field whose pointer is not a valid JSON pointer.
  explicit EnvelopeParser(const EnvelopePaths& paths)
      : targets_{tokens(paths.id, "envelope.id"), tokens(paths.name, "envelope.name"),
                 tokens(paths.urn, "envelope.urn"),
                 tokens(paths.created_date, "envelope.created_date")},
        data_path_(std::make_shared<const nlohmann::json::json_pointer>(
            pointer(paths.data, "envelope.data"))) {}

  using Result = std::variant<std::shared_ptr<EventRecord>, ErrorKind>;

  Result parse(std::string raw_body, HeaderList headers,
               std::chrono::system_clock::time_point received_at) const {
    detail::EnvelopeScanner scanner(targets_);
    if (!nlohmann::json::sax_parse(raw_body, &scanner)) return ErrorKind::malformed_json;
    if (!scanner.root_is_object()) return ErrorKind::not_an_object;
    auto name = std::move(scanner.field(1));
    if (!name || name->empty()) return ErrorKind::missing_event_name;

    auto record = std::make_shared<EventRecord>();
    record->name = std::move(*name);
    record->id = std::move(scanner.field(0)).value_or(std::string());
    if (record->id.empty()) record->id = "sha256:" + detail::to_hex(detail::sha256(raw_body));
    record->urn = std::move(scanner.field(2)).value_or(std::string());
    record->created_date = std::move(scanner.field(3)).value_or(std::string());
    record->data_path = data_path_;
    record->raw_body = std::move(raw_body);
    record->headers = std::move(headers);
    record->received_at = received_at;
    return record;
  }

 private:
  static nlohmann::json::json_pointer pointer(const std::string& text, const char* field) {
    try {
      return nlohmann::json::json_pointer(text);
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument("Options." + std::string(field) +
                                  " is not a valid JSON pointer: \"" + text + "\"");
    }
  }

  // The pointer's reference tokens, unescaped, root first.
  static std::vector<std::string> tokens(const std::string& text, const char* field) {
    auto ptr = pointer(text, field);
    std::vector<std::string> out;
    while (!ptr.empty()) {
      out.insert(out.begin(), ptr.back());
      ptr.pop_back();
    }
    return out;
  }

  std::array<std::vector<std::string>, detail::EnvelopeScanner::field_count> targets_;
  std::shared_ptr<const nlohmann::json::json_pointer> data_path_;
};

}  // namespace allthings::webhooks
