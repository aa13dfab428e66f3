#include <doctest/doctest.h>

#include <allthings/webhooks/detail/text/json_scan.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aw = allthings::webhooks;
using Scanner = aw::detail::PointerScanner<4>;

namespace {

// The reference: the nlohmann SAX scanner the envelope used before the hand-written one, so
// the new scanner can be compared with what it replaced. One fix since: a later duplicate key
// replaces its whole value, so pointers that lead through it are reset too (it used to reset
// only those ending at it, so /e/a kept "1" in {"e":{"a":"1"},"e":{}}, unlike a parsed tree).
class ReferenceScanner final : public nlohmann::json_sax<nlohmann::json> {
 public:
  static constexpr std::size_t field_count = 4;

  explicit ReferenceScanner(const std::array<std::vector<std::string>, field_count>& targets)
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
    std::size_t next_index;
    std::string key;
  };

  static bool matches(const Level& level, const std::string& token) {
    return level.is_array ? token == std::to_string(level.next_index - 1) : level.key == token;
  }

  void enter_value() {
    started_ = true;
    if (!levels_.empty() && levels_.back().is_array) ++levels_.back().next_index;
  }

  bool at(const std::vector<std::string>& target) const {
    return target.size() == levels_.size() && leads_through(target);
  }

  // Whether the value being read is, or contains, the target's.
  bool leads_through(const std::vector<std::string>& target) const {
    if (target.size() < levels_.size()) return false;
    for (std::size_t i = 0; i < levels_.size(); ++i) {
      if (!matches(levels_[i], target[i])) return false;
    }
    return true;
  }

  template <class MakeText>
  bool scalar(MakeText make_text) {
    enter_value();
    std::optional<std::string> text;
    for (std::size_t i = 0; i < field_count; ++i) {
      if (leads_through(targets_[i])) found_[i].reset();
      if (!at(targets_[i])) continue;
      if (!text) text = make_text();
      found_[i] = *text;
    }
    return true;
  }

  bool other_value() {
    enter_value();
    for (std::size_t i = 0; i < field_count; ++i) {
      if (leads_through(targets_[i])) found_[i].reset();
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

using Pointers = std::array<std::vector<std::string>, 4>;

// A pointer's reference tokens, unescaped, root first, as EnvelopeParser makes them.
std::vector<std::string> tokens(const std::string& pointer) {
  nlohmann::json::json_pointer ptr(pointer);
  std::vector<std::string> out;
  while (!ptr.empty()) {
    out.insert(out.begin(), ptr.back());
    ptr.pop_back();
  }
  return out;
}

Pointers pointers(const std::array<std::string, 4>& texts) {
  return {tokens(texts[0]), tokens(texts[1]), tokens(texts[2]), tokens(texts[3])};
}

const Pointers envelope =
    pointers({"/event/id", "/event/name", "/event/urn", "/event/createdDate"});

aw::detail::PointerValues<4> reference_scan(const std::string& json, const Pointers& targets) {
  ReferenceScanner scanner(targets);
  aw::detail::PointerValues<4> out;
  if (!nlohmann::json::sax_parse(json, &scanner)) return out;
  out.shape = scanner.root_is_object() ? aw::detail::JsonShape::object
                                       : aw::detail::JsonShape::not_an_object;
  for (std::size_t i = 0; i < 4; ++i) out.values[i] = scanner.field(i);
  return out;
}

bool accepts(const std::string& json) {
  return Scanner(envelope).scan(json).shape != aw::detail::JsonShape::malformed;
}

// The value the scanner finds at one pointer, the others set to envelope defaults.
std::optional<std::string> value_at(const std::string& json, const std::string& pointer) {
  const auto scan = Scanner(pointers({pointer, "/x", "/y", "/z"})).scan(json);
  REQUIRE(scan.shape == aw::detail::JsonShape::object);
  return scan.values[0];
}

// Checks that the scanner accepts `json` exactly when `expected` says so, and that nlohmann
// agrees: the expectation is nlohmann's own behaviour, written down.
void check_acceptance(const std::string& json, bool expected) {
  CAPTURE(json);
  CHECK(nlohmann::json::accept(json) == expected);
  CHECK(accepts(json) == expected);
}

}  // namespace

TEST_CASE("json scan: structure and whitespace are accepted as nlohmann accepts them") {
  check_acceptance("{}", true);
  check_acceptance(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n", true);
  check_acceptance("[]", true);
  check_acceptance("[[],{},[{}]]", true);
  check_acceptance("\"text\"", true);
  check_acceptance("true", true);
  check_acceptance("null", true);
  check_acceptance("", false);
  check_acceptance("   ", false);
  check_acceptance("{", false);
  check_acceptance("{\"a\"}", false);
  check_acceptance("{\"a\":}", false);
  check_acceptance("{\"a\":1,}", false);
  check_acceptance("{,\"a\":1}", false);
  check_acceptance("{\"a\" 1}", false);
  check_acceptance("{1:1}", false);
  check_acceptance("{'a':1}", false);
  check_acceptance("[1,]", false);
  check_acceptance("[,1]", false);
  check_acceptance("[1 2]", false);
  check_acceptance("[1}", false);
  check_acceptance("{]", false);
  check_acceptance("[]]", false);
  check_acceptance("{} {}", false);
  check_acceptance("{}x", false);
  check_acceptance("{}\x01", false);
  // nlohmann reads a NUL byte as the end of the input: after the root value it ends the text.
  check_acceptance(std::string("{}\0", 3), true);
  check_acceptance(std::string("{} \0 trailing", 13), true);
  check_acceptance(std::string("1\0x", 3), true);
  check_acceptance(std::string("\0{}", 3), false);
  check_acceptance(std::string(" \0", 2), false);
  check_acceptance(std::string("[1\0]", 4), false);
  check_acceptance(std::string("{\"a\":1\0}", 8), false);
  check_acceptance(std::string("1.\0", 3), false);
  check_acceptance(std::string("tru\0", 4), false);
  // Only space, tab, CR and LF are whitespace.
  check_acceptance("{}\f", false);
  check_acceptance("\v{}", false);
  check_acceptance("{}\xC2\xA0", false);
  // Comments are not JSON (nlohmann's default).
  check_acceptance("{} // c", false);
  check_acceptance("/* c */ {}", false);
}

TEST_CASE("json scan: literals are spelt exactly") {
  check_acceptance("[true,false,null]", true);
  check_acceptance("[tru]", false);
  check_acceptance("[True]", false);
  check_acceptance("[nul]", false);
  check_acceptance("[falsey]", false);
  check_acceptance("truee", false);
  check_acceptance("nan", false);
  check_acceptance("[NaN]", false);
  check_acceptance("[Infinity]", false);
  check_acceptance("[undefined]", false);
}

TEST_CASE("json scan: a UTF-8 byte order mark is skipped at the start only") {
  check_acceptance("\xEF\xBB\xBF{}", true);
  check_acceptance("\xEF\xBB\xBF \"x\"", true);
  check_acceptance("\xEF\xBB\xBF", false);
  check_acceptance("\xEF\xBB{}", false);
  check_acceptance("\xEF{}", false);
  check_acceptance(" \xEF\xBB\xBF{}", false);
  check_acceptance("\xEF\xBB\xBF\xEF\xBB\xBF{}", false);
  check_acceptance("{}\xEF\xBB\xBF", false);
  CHECK(Scanner(envelope).scan("\xEF\xBB\xBF{\"event\":{\"name\":\"n\"}}").values[1] == "n");
}

TEST_CASE("json scan: numbers follow the strict grammar") {
  for (const char* good : {"0", "-0", "1", "-1", "10", "1.5", "-0.0", "0.001", "1e5", "1E5", "1e+5",
                           "1e-5", "1.5e05", "0e0", "-0E-0", "123456789012345678901234"}) {
    check_acceptance(std::string("[") + good + "]", true);
    check_acceptance(good, true);
  }
  for (const char* bad :
       {"01",  "-01", "00",    "+1",   "-",     "1.",  ".5",  "-.5",  "1.e5",  "1e",
        "1e+", "1e-", "1E+-1", "0x10", "1_000", "--1", "- 1", "1 .5", "1.5.5", "١"}) {
    check_acceptance(std::string("[") + bad + "]", false);
    check_acceptance(bad, false);
  }
}

TEST_CASE("json scan: numbers that overflow a double are rejected, underflow is not") {
  check_acceptance("[1e308]", true);
  check_acceptance("[1e309]", false);
  check_acceptance("[-1e309]", false);
  check_acceptance("[1e400]", false);
  check_acceptance("[42.5e400]", false);
  check_acceptance("[1e-400]", true);
  check_acceptance("[1e99999999999999999999999]", false);
  check_acceptance("[1e-99999999999999999999999]", true);
  check_acceptance("[0e99999999999999999999999]", true);
  check_acceptance("[0.0000000000000000001e327]", true);
  check_acceptance("[0.0000000000000000001e328]", false);
  // Near DBL_MAX the decision depends on rounding.
  check_acceptance("[1.7976931348623157e308]", true);
  check_acceptance("[1.7976931348623158e308]", true);
  check_acceptance("[1.7976931348623159e308]", false);
  check_acceptance("[9.9e308]", false);
  check_acceptance("[" + std::string("17976931348623157") + std::string(292, '0') + "]", true);
  check_acceptance("[" + std::string("18") + std::string(307, '0') + "]", false);
  check_acceptance("[" + std::string(400, '9') + "e-100]", true);
  check_acceptance("[0." + std::string(400, '0') + "1e709]", true);  // 10^308
  check_acceptance("[0." + std::string(400, '0') + "1e710]", false);
}

TEST_CASE("json scan: escapes are the ones JSON defines") {
  check_acceptance(R"(["\" \\ \/ \b \f \n \r \t \u0000 \u00e9 \uABCD \uabcd"])", true);
  for (const char* bad : {R"(["\a"])", R"(["\x41"])", R"(["\'"])", R"(["\U0041"])", R"(["\u41"])",
                          R"(["\u004G"])", R"(["\"])", R"(["\)", "[\"\\\n\"]"}) {
    check_acceptance(bad, false);
  }
}

TEST_CASE("json scan: surrogate escapes must pair up as nlohmann demands") {
  check_acceptance(R"(["\ud83d\ude00"])", true);
  check_acceptance(R"(["\uD800\uDC00"])", true);
  check_acceptance(R"(["\uDBFF\uDFFF"])", true);
  check_acceptance(R"(["\ud83d"])", false);        // high alone
  check_acceptance(R"(["\ud83dx"])", false);       // high and a character
  check_acceptance(R"(["\ud83d\n"])", false);      // high and another escape
  check_acceptance(R"(["\ud83d\u0041"])", false);  // high and a non-surrogate
  check_acceptance(R"(["\ud83d\ud83d"])", false);  // two highs
  check_acceptance(R"(["\ude00"])", false);        // low alone
  check_acceptance(R"(["\ude00\ud83d"])", false);  // the wrong way round
  check_acceptance(R"(["\ud83d\ude0"])", false);   // short low
  check_acceptance(R"(["\ud83d\)", false);         // cut off
}

TEST_CASE("json scan: control characters must be escaped, DEL need not") {
  for (int c = 0; c < 0x20; ++c) {
    check_acceptance(std::string("[\"a") + static_cast<char>(c) + "b\"]", false);
  }
  check_acceptance(std::string("[\"a") + '\x7f' + "b\"]", true);
  check_acceptance("[\"\x7f\"]", true);
}

TEST_CASE("json scan: strings must be well-formed UTF-8") {
  check_acceptance("[\"\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF\"]",
                   true);
  check_acceptance("[\"\xED\x9F\xBF \xEE\x80\x80\"]", true);  // around the surrogates
  for (const char* bad : {
           "[\"\x80\"]",              // continuation without a lead
           "[\"\xBF\"]",
           "[\"\xC0\x80\"]",          // overlong NUL
           "[\"\xC1\xBF\"]",          // overlong
           "[\"\xE0\x80\x80\"]",      // overlong 3-byte
           "[\"\xE0\x9F\xBF\"]",      // overlong 3-byte
           "[\"\xF0\x80\x80\x80\"]",  // overlong 4-byte
           "[\"\xF0\x8F\xBF\xBF\"]",  // overlong 4-byte
           "[\"\xED\xA0\x80\"]",      // U+D800 encoded
           "[\"\xED\xBF\xBF\"]",      // U+DFFF encoded
           "[\"\xF4\x90\x80\x80\"]",  // above U+10FFFF
           "[\"\xF5\x80\x80\x80\"]",  // lead byte never used
           "[\"\xFF\"]",
           "[\"\xFE\"]",
           "[\"\xC3\"]",              // truncated before the quote
           "[\"\xE2\x82\"]",
           "[\"\xF0\x9F\x98\"]",
           "[\"\xC3\x41\"]",          // continuation not in 80..BF
           "[\"\xE2\xC2\xAC\"]",
           "[\"\xF0\x9F\x98\xC0\"]",
           "\"\xC3",                  // cut off at the end of the text
           "\"\xF0\x9F\x98",
       }) {
    check_acceptance(bad, false);
  }
  // Outside strings, non-ASCII bytes are never valid.
  check_acceptance("[\xC3\xA9]", false);
}

TEST_CASE("json scan: strings at pointers are unescaped, keys on the way too") {
  CHECK(value_at(R"({"a":"plain"})", "/a") == "plain");
  CHECK(value_at(R"({"a":""})", "/a") == "");
  CHECK(value_at(R"({"a":"q\"b\\s\/\b\f\n\r\t"})", "/a") == "q\"b\\s/\b\f\n\r\t");
  CHECK(value_at(R"({"a":"\u00e9\u20AC\ud83d\ude00"})", "/a") ==
        "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  CHECK(value_at(R"({"a":"x\u0000y"})", "/a") == std::string("x\0y", 3));
  CHECK(value_at("{\"a\":\"\xC3\xA9\"}", "/a") == "\xC3\xA9");
  CHECK(value_at(R"({"\u0061":"escaped key"})", "/a") == "escaped key");
  CHECK(value_at(R"({"\ud83d\ude00":{"\n":"emoji"}})", "/\xF0\x9F\x98\x80/\n") == "emoji");
  CHECK(value_at(R"({"a/b":"slash","m~n":"tilde"})", "/a~1b") == "slash");
  CHECK(value_at(R"({"a/b":"slash","m~n":"tilde"})", "/m~0n") == "tilde");
  CHECK(value_at(R"({"":"empty key"})", "/") == "empty key");
  CHECK(value_at(R"({"ab":"x"})", "/a") == std::nullopt);
  CHECK(value_at(R"({"a":"x"})", "/ab") == std::nullopt);
  CHECK(value_at(R"({"a\u0000":"x"})", "/a") == std::nullopt);
}

TEST_CASE("json scan: numbers at pointers read as a parsed tree prints them") {
  CHECK(value_at(R"({"n":42})", "/n") == "42");
  CHECK(value_at(R"({"n":-7})", "/n") == "-7");
  CHECK(value_at(R"({"n":-0})", "/n") == "0");
  CHECK(value_at(R"({"n":18446744073709551615})", "/n") == "18446744073709551615");
  CHECK(value_at(R"({"n":-9223372036854775808})", "/n") == "-9223372036854775808");
  // Too large for 64 bits: a double, as nlohmann makes it.
  CHECK(value_at(R"({"n":18446744073709551616})", "/n") == "1.8446744073709552e+19");
  CHECK(value_at(R"({"n":-9223372036854775809})", "/n") == "-9.223372036854776e+18");
  CHECK(value_at(R"({"n":1.50})", "/n") == "1.5");
  CHECK(value_at(R"({"n":1E2})", "/n") == "100.0");
  CHECK(value_at(R"({"n":-0.0})", "/n") == "-0.0");
  CHECK(value_at(R"({"n":1e-400})", "/n") == "0.0");
  CHECK(Scanner(pointers({"/n", "/x", "/y", "/z"})).scan(R"({"n":1e400})").shape ==
        aw::detail::JsonShape::malformed);
}

TEST_CASE("json scan: objects, arrays, booleans and null at a pointer count as absent") {
  for (const char* value : {"{}", "{\"b\":1}", "[]", "[\"x\"]", "true", "false", "null"}) {
    CAPTURE(value);
    CHECK(value_at(std::string(R"({"a":)") + value + "}", "/a") == std::nullopt);
  }
  // A pointer past a scalar, or into a value of the other kind, names nothing.
  CHECK(value_at(R"({"a":"x"})", "/a/b") == std::nullopt);
  CHECK(value_at(R"({"a":["x"]})", "/a/b") == std::nullopt);
  CHECK(value_at(R"({"a":{"0":"x"}})", "/a/0") == "x");
  // The root itself: an object, so absent.
  CHECK(value_at(R"({"a":"x"})", "") == std::nullopt);
}

TEST_CASE("json scan: a later duplicate key wins, also when it is not a scalar") {
  CHECK(value_at(R"({"a":"1","a":"2"})", "/a") == "2");
  CHECK(value_at(R"({"a":"1","a":2})", "/a") == "2");
  CHECK(value_at(R"({"a":"1","a":null})", "/a") == std::nullopt);
  CHECK(value_at(R"({"a":"1","a":{"b":"x"}})", "/a") == std::nullopt);
  CHECK(value_at(R"({"a":null,"a":"3"})", "/a") == "3");
  // A later duplicate replaces the whole value, as in a parsed tree: nothing of the first
  // "e" survives, so the envelope and data() never come from different duplicates.
  CHECK(value_at(R"({"e":{"a":"1"},"e":{"b":"2"}})", "/e/a") == std::nullopt);
  CHECK(value_at(R"({"e":{"a":"1"},"e":{"a":"2"}})", "/e/a") == "2");
  CHECK(value_at(R"({"e":{"a":"1"},"e":"flat"})", "/e/a") == std::nullopt);
  CHECK(value_at(R"({"e":{"a":"1"},"e":{"a":"2"},"x":0})", "/e/a") ==
        nlohmann::json::parse(R"({"e":{"a":"1"},"e":{"a":"2"},"x":0})").at("e").at("a"));
}

TEST_CASE("json scan: array indices match as std::to_string writes them") {
  const std::string body = R"({"items":["zero","one",{"k":"deep"},[0,["x","y"]]]})";
  CHECK(value_at(body, "/items/0") == "zero");
  CHECK(value_at(body, "/items/1") == "one");
  CHECK(value_at(body, "/items/2/k") == "deep");
  CHECK(value_at(body, "/items/3/1/1") == "y");
  CHECK(value_at(body, "/items/3/0") == "0");
  CHECK(value_at(body, "/items/4") == std::nullopt);
  CHECK(value_at(body, "/items/01") == std::nullopt);
  CHECK(value_at(body, "/items/-") == std::nullopt);
  CHECK(value_at(body, "/items/+1") == std::nullopt);
  CHECK(value_at(body, "/items/ 1") == std::nullopt);
  CHECK(value_at(body, "/items/99999999999999999999999") == std::nullopt);
  const std::string twelve = R"({"a":[0,1,2,3,4,5,6,7,8,9,"ten","eleven"]})";
  CHECK(value_at(twelve, "/a/11") == "eleven");
  CHECK(value_at(twelve, "/a/1") == "1");
}

TEST_CASE("json scan: pointers deeper than the levels kept inline still match") {
  std::string body, pointer;
  for (int i = 0; i < 70; ++i) {
    body += i % 2 ? "[" : "{\"k\":";
    pointer += i % 2 ? "/0" : "/k";
  }
  body += "\"bottom\"";
  for (int i = 69; i >= 0; --i) body += i % 2 ? "]" : "}";
  CHECK(value_at(body, pointer) == "bottom");
  CHECK(value_at(body, pointer + "/k") == std::nullopt);
  CHECK(value_at(body, pointer.substr(0, pointer.size() - 2)) == std::nullopt);
}

TEST_CASE("json scan: deep nesting is read without recursion and judged as nlohmann judges it") {
  const std::size_t depth = 100000;
  const std::string open_arrays(depth, '['), close_arrays(depth, ']');
  std::string open_objects;
  for (std::size_t i = 0; i < depth; ++i) open_objects += "{\"a\":";
  const std::string close_objects(depth, '}');
  const Scanner scanner(pointers({"/a/a", "/a/a/a", "/0/0", ""}));
  struct Case {
    std::string json;
    aw::detail::JsonShape shape;
  };
  const Case cases[] = {
      {open_arrays, aw::detail::JsonShape::malformed},
      {open_arrays + close_arrays, aw::detail::JsonShape::not_an_object},
      {open_arrays + close_arrays.substr(1), aw::detail::JsonShape::malformed},
      {open_arrays + close_arrays + "]", aw::detail::JsonShape::malformed},
      {open_objects + "1" + close_objects, aw::detail::JsonShape::object},
      {open_objects + "1" + close_objects.substr(1), aw::detail::JsonShape::malformed},
      {open_objects + "[" + close_objects, aw::detail::JsonShape::malformed},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json.size());
    CHECK(nlohmann::json::accept(c.json) == (c.shape != aw::detail::JsonShape::malformed));
    const auto scan = scanner.scan(c.json);
    CHECK(scan.shape == c.shape);
    CHECK(!scan.values[0]);
  }
}

namespace {

// Bytes as C string escapes, for failure messages.
std::string printable(const std::string& bytes) {
  std::string out;
  for (const char c : bytes.substr(0, 600)) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && c != '\\') {
      out += c;
    } else {
      static const char digits[] = "0123456789abcdef";
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 15];
    }
  }
  return bytes.size() > 600 ? out + "..." : out;
}

// Random JSON texts that stress the scanner: keys near the pointers, escapes, UTF-8 of every
// length, numbers of every shape, arbitrary whitespace.
class JsonGenerator {
 public:
  explicit JsonGenerator(std::uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::string out;
    space(out);
    if (chance(50)) {
      envelope(out);
    } else if (chance(90)) {
      object(out, 0);
    } else {
      value(out, 0);
    }
    space(out);
    return out;
  }

  // One to three edits: flipped, inserted, deleted or duplicated bytes, a cut, or a NUL.
  std::string mutate(std::string text) {
    const int edits = 1 + pick(3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = text.empty() ? 0 : pick(text.size());
      switch (pick(7)) {
        case 0:
          if (!text.empty()) text[at] = interesting_byte();
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), interesting_byte());
          break;
        case 2:
          if (!text.empty()) text.erase(at, 1 + pick(3));
          break;
        case 3:
          text.resize(at);
          break;
        case 5:  // a NUL byte ends nlohmann's input
          text += '\0';
          if (chance(50)) text += interesting_byte();
          break;
        case 4:
          if (!text.empty()) text.insert(at, text.substr(pick(text.size()), 1 + pick(8)));
          break;
        default:
          if (!text.empty()) text[at] = static_cast<char>(text[at] ^ (1 << pick(8)));
          break;
      }
    }
    return text;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

  template <std::size_t N>
  const char* one_of(const char* const (&options)[N]) {
    return options[pick(N)];
  }

  char interesting_byte() {
    static const char bytes[] =
        "{}[]:,\"\\ \t\n01-+.eEtfnu\x00\x1f\x7f\x80\xbf\xc2\xc3\xe0\xed\xef\xf0\xf4\xff";
    return chance(80) ? bytes[pick(sizeof bytes - 1)] : static_cast<char>(pick(256));
  }

  void space(std::string& out) {
    while (chance(15)) out += one_of({" ", "\t", "\r", "\n"});
  }

  // {"event":{...}} with the envelope's keys, sometimes repeated, mostly holding scalars.
  void envelope(std::string& out) {
    out += "{\"event\":{";
    const std::size_t members = 1 + pick(6);
    for (std::size_t i = 0; i < members; ++i) {
      if (i) out += ',';
      out += '"';
      out += one_of({"id", "name", "urn", "createdDate", "items", "data"});
      out += "\":";
      space(out);
      if (chance(70)) {
        chance(60) ? string(out) : number(out);
      } else {
        value(out, 2);
      }
    }
    out += "}";
    if (chance(30)) {
      out += ",\"data\":";
      value(out, 1);
    }
    out += "}";
  }

  void object(std::string& out, int depth) {
    out += '{';
    const std::size_t members = depth > 4 ? 0 : pick(6);
    for (std::size_t i = 0; i < members; ++i) {
      if (i) out += ',';
      space(out);
      // Near the root, mostly keys the pointer sets name, so that values are found.
      const std::string key =
          depth < 3 && chance(60)
              ? one_of({"event", "id", "name", "urn", "createdDate", "items", "data"})
              : one_of({"event", "id", "name", "urn", "createdDate", "data", "items", "a/b", "m~n",
                        "", "0", "1", "\\u0065vent", "na\\u006De", "\\u00e9", "\xC3\xA9", "x",
                        "a"});
      out += '"' + key + '"';
      space(out);
      out += ':';
      space(out);
      if (key == "event" && chance(80)) {
        object(out, depth + 1);
      } else if (key == "items" && chance(80)) {
        array(out, depth + 1);
      } else {
        value(out, depth + 1);
      }
      space(out);
    }
    out += '}';
  }

  void array(std::string& out, int depth) {
    out += '[';
    const std::size_t elements = depth > 4 ? 0 : pick(5);
    for (std::size_t i = 0; i < elements; ++i) {
      if (i) out += ',';
      space(out);
      value(out, depth + 1);
      space(out);
    }
    out += ']';
  }

  void value(std::string& out, int depth) {
    switch (pick(10)) {
      case 0:
      case 1:
        object(out, depth);
        break;
      case 2:
        array(out, depth);
        break;
      case 3:
      case 4:
      case 5:
        string(out);
        break;
      case 6:
      case 7:
        number(out);
        break;
      default:
        out += one_of({"true", "false", "null"});
        break;
    }
  }

  void string(std::string& out) {
    out += '"';
    const std::size_t parts = pick(6);
    for (std::size_t i = 0; i < parts; ++i) {
      switch (pick(8)) {
        case 0:
          out += one_of({"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0000",
                         "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\uDBFF\\uDFFF", "\\u001f"});
          break;
        case 1:
          utf8(out);
          break;
        case 2:
          out += std::string(pick(40), 'x');
          break;
        default:
          out += one_of({"ticket.created", "e1", "urn:x", "2026-11-26T21:58:01.200Z", "a b",
                         "The cold water tap in the kitchen has been dripping since Sunday."});
          break;
      }
    }
    out += '"';
  }

  // One code point as UTF-8, now and then one that is not valid.
  void utf8(std::string& out) {
    if (chance(4)) {
      const std::size_t n = 1 + pick(4);
      for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(0x80 + pick(128));
      return;
    }
    std::uint32_t cp;
    do {
      cp = static_cast<std::uint32_t>(one_of_ranges());
    } while (cp >= 0xD800 && cp <= 0xDFFF);
    // Encoded by the scanner's own encoder: nlohmann, not the encoder, judges the result.
    aw::detail::json_scan::append_utf8(out, cp < 0x20 ? static_cast<std::uint32_t>('c') : cp);
  }

  std::size_t one_of_ranges() {
    switch (pick(4)) {
      case 0:
        return 0x80 + pick(0x800 - 0x80);
      case 1:
        return 0x800 + pick(0x10000 - 0x800);
      case 2:
        return 0x10000 + pick(0x110000 - 0x10000);
      default:
        return pick(0x80);
    }
  }

  void number(std::string& out) {
    if (chance(10)) {
      out += one_of({"18446744073709551615", "18446744073709551616", "-9223372036854775808",
                     "-9223372036854775809", "1e308", "1e309", "1.7976931348623157e308",
                     "1.7976931348623159e308", "1e-400", "-0", "-0.0", "99999999999999999999999"});
      return;
    }
    if (chance(20)) out += '-';
    out += chance(20) ? std::string("0") : std::to_string(1 + pick(1000000));
    if (chance(30)) out += "." + std::to_string(pick(100000));
    if (chance(20)) {
      out += one_of({"e", "E", "e+", "e-", "E-"});
      out += std::to_string(pick(400));
    }
  }

  std::mt19937 rng_;
};

const std::vector<Pointers>& pointer_sets() {
  static const std::vector<Pointers> sets = {
      envelope,
      pointers({"/event/items/0", "/event/items/1/name", "/a~1b", "/m~0n"}),
      pointers({"", "/0", "/event/id/0", "/data/items/1"}),
      pointers({"/event", "/event/name", "/event/name", "/"}),
      pointers({"/\xC3\xA9", "/items/01", "/event/data/name", "/1/1"}),
  };
  return sets;
}

// Values the differential tests compared, so a test can tell that it compared some.
std::size_t values_compared = 0;

// Empty when the scanner agrees with nlohmann on acceptance and with the reference on every
// pointer set; otherwise what differs.
std::string disagreement(const std::string& json) {
  const bool expected = nlohmann::json::accept(json);
  for (std::size_t set = 0; set < pointer_sets().size(); ++set) {
    const auto& targets = pointer_sets()[set];
    const auto got = Scanner(targets).scan(json);
    if ((got.shape != aw::detail::JsonShape::malformed) != expected) {
      return expected ? "nlohmann accepts, the scanner rejects"
                      : "nlohmann rejects, the scanner accepts";
    }
    const auto want = reference_scan(json, targets);
    if (got.shape != want.shape) return "shape differs from the SAX reference";
    for (std::size_t i = 0; i < 4; ++i) {
      values_compared += want.values[i].has_value();
      if (got.values[i] != want.values[i]) {
        return "pointer set " + std::to_string(set) + " field " + std::to_string(i) + ": got " +
               printable(got.values[i].value_or("(absent)")) + ", reference " +
               printable(want.values[i].value_or("(absent)"));
      }
    }
  }
  return {};
}

std::vector<std::string> corpus() {
  std::vector<std::string> texts = {
      R"({"event":{"id":"e1","name":"ticket.created","urn":"urn:x",)"
      R"("createdDate":"2026-11-26T21:58:01.200Z","data":{"id":"T"}}})",
      // Shaped like the benchmark's ticket.created delivery.
      R"({"event":{"id":"65a1f0c2e4b0000000000001","name":"ticket.created",)"
      R"("urn":"urn:allthings:app:5a9e7b2c1d3f4e0012ab34cd:ticket:5f3e21000000000000000001",)"
      R"("createdDate":"2024-05-14T00:00:01.001Z","data":{"id":"5f3e21000000000000000001",)"
      R"("incrementID":"100001","title":"Heating not working in the living room",)"
      R"("description":"The radiator in the living room stays cold although the thermostat )"
      R"(is set to 5. I already tried to bleed it, which let out some air but did not help.",)"
      R"("category":"5b1c6d2e8f9a0b0011223344","status":"waiting-for-agent",)"
      R"("labels":["maintenance"],"tags":["heating","radiator"],"channels":["app"],)"
      R"("createdAt":"2024-05-14T00:00:01.001Z","files":[{"id":"6a0f11000000000000000001",)"
      R"("name":"IMG_2041.jpg","mimeType":"image/jpeg","size":482113}],)"
      R"("createdBy":{"id":"5c7d90000000000000000001","type":"customer"},"unit":"x"}}})",
      R"({"event":{"id":7,"name":"a","name":"b","urn":null,"createdDate":1.5e3}})",
      R"({"event":{"name":"a","name":{"x":1},"id":[1],"urn":true}})",
      R"({"event":{"items":["first",{"name":"second"}]},"a/b":"slash","m~n":-0.0})",
      R"({"0":"zero","1":[0,"one"],"items":["a","b"],"data":{"items":[0,"it"]}})",
      R"({"\u00e9":"e-acute","items":{"01":"not an index"},"event":{"data":{"name":"n"}}})",
      R"({"event":{"id":"\ud83d\ude00\u0000\n","name":"x\u20acy","urn":"\/"}})",
      R"([{"event":{"name":"in an array"}}])",
      R"("a string")",
      "{\"event\":{\"name\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}}",
      R"({"event":{"id":18446744073709551616,"name":-9223372036854775809,"urn":1e-400}})",
      R"({"event":{"id":0.1,"name":100,"urn":1E+2,"createdDate":123456789012345678901234567890}})",
      "\xEF\xBB\xBF{\"event\":{\"name\":\"bom\"}}",
      "{}",
      "[]",
  };
  std::ifstream file(ALLTHINGS_WEBHOOKS_VECTORS);
  REQUIRE(file.good());
  const auto vectors = nlohmann::json::parse(file).at("vectors");
  for (const auto& v : vectors) {
    texts.push_back(v.at("message").get<std::string>());
  }
  return texts;
}

}  // namespace

TEST_CASE("json scan: a corpus and its mutations read as nlohmann and the SAX scanner read them") {
  JsonGenerator generator(20261127);
  std::size_t inputs = 0, accepted = 0;
  values_compared = 0;
  auto check = [&](const std::string& json) {
    CAPTURE(printable(json));
    CHECK(disagreement(json) == "");
    ++inputs;
    accepted += nlohmann::json::accept(json);
  };
  for (const auto& text : corpus()) {
    check(text);
    for (std::size_t cut = 0; cut < text.size(); ++cut) check(text.substr(0, cut));
    for (int i = 0; i < 200; ++i) check(generator.mutate(text));
  }
  for (int i = 0; i < 4000; ++i) {
    const auto text = generator.document();
    check(text);
    check(generator.mutate(text));
    check(generator.mutate(text));
  }
  MESSAGE(inputs << " inputs, " << accepted << " of them valid JSON, " << values_compared
                 << " values found and compared");
  CHECK(values_compared > accepted);  // on average more than one per valid text
  CHECK(accepted > inputs / 4);       // both sides are well represented
  CHECK(accepted < inputs * 3 / 4);
}

TEST_CASE("json scan: random bytes and random UTF-8 are judged as nlohmann judges them") {
  std::mt19937 rng(7);
  std::size_t inputs = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string inner;
    const std::size_t length = rng() % 12;
    for (std::size_t k = 0; k < length; ++k) {
      // Mostly bytes that matter for UTF-8: leads, continuations and their edges.
      inner += static_cast<char>(rng() % 4 ? 0x80 + rng() % 128 : rng() % 256);
    }
    for (const std::string& json :
         {"\"" + inner + "\"", "{\"event\":{\"name\":\"" + inner + "\"}}"}) {
      CAPTURE(printable(json));
      CHECK(disagreement(json) == "");
      ++inputs;
    }
  }
  MESSAGE(inputs << " inputs");
}
