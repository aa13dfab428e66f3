// The envelope's one-pass JSON scanner against nlohmann/json: it must judge every input as
// nlohmann::json::accept() does (or refuse it as too deep), and find at each pointer what a
// parsed tree holds there.
#include <allthings/webhooks/detail/text/json_scan.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace aw = allthings::webhooks;
constexpr std::size_t max_depth = 32;

const std::array<std::string, 4> pointer_texts = {"/event/id", "/event/name", "/a/1", "/e~1f/0/~0"};

aw::detail::PointerScanner<4> make_scanner() {
  std::array<std::vector<std::string>, 4> tokens;
  for (std::size_t i = 0; i < pointer_texts.size(); ++i) {
    auto pointer = nlohmann::json::json_pointer(pointer_texts[i]);
    while (!pointer.empty()) {
      tokens[i].insert(tokens[i].begin(), pointer.back());
      pointer.pop_back();
    }
  }
  return aw::detail::PointerScanner<4>(tokens);
}

// Counts the deepest nesting nlohmann sees, without recursion.
struct DepthCounter final : nlohmann::json_sax<nlohmann::json> {
  std::size_t depth = 0, deepest = 0;
  bool open() {
    deepest = std::max(deepest, ++depth);
    return true;
  }
  bool close() {
    --depth;
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto scanner = make_scanner();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto scanned = scanner.scan(text, max_depth);

  DepthCounter depth;
  const bool valid = nlohmann::json::sax_parse(text, &depth);
  if (!valid) {
    require(scanned.shape == aw::detail::JsonShape::malformed ||
            scanned.shape == aw::detail::JsonShape::too_deep);
    return 0;
  }
  if (depth.deepest > max_depth) {
    require(scanned.shape == aw::detail::JsonShape::too_deep);
    return 0;
  }
  const auto tree = nlohmann::json::parse(text);
  require(scanned.shape == (tree.is_object() ? aw::detail::JsonShape::object
                                             : aw::detail::JsonShape::not_an_object));
  for (std::size_t i = 0; i < pointer_texts.size(); ++i) {
    const nlohmann::json::json_pointer pointer(pointer_texts[i]);
    std::optional<std::string> expected;
    if (tree.contains(pointer)) {
      const auto& value = tree.at(pointer);
      if (value.is_string()) expected = value.get<std::string>();
      if (value.is_number()) expected = value.dump();
    }
    require(scanned.values[i] == expected);
  }
  return 0;
}
