// The text codecs the presets rely on: base64 (checked against OpenSSL's encoder) and
// form-encoded fields, and which Content-Types a scheme's BodyFormat reads.
#include <random>

#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::detail::decode_base64;
using aw::detail::encode_base64;

TEST_CASE("base64 agrees with OpenSSL both ways for every length up to 70 bytes") {
  std::mt19937 random(15);
  for (std::size_t size = 0; size <= 70; ++size) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    const auto text = test::openssl_base64(bytes);
    CAPTURE(size);
    CHECK(encode_base64(bytes) == text);
    CHECK(decode_base64(text) == bytes);
  }
}

TEST_CASE("base64 decoding accepts only the canonical padded spelling") {
  CHECK(decode_base64("YWJj") == "abc");
  CHECK(decode_base64("YWI=") == "ab");
  CHECK(decode_base64("YQ==") == "a");
  CHECK(decode_base64("") == "");
  CHECK_FALSE(decode_base64("YQ"));    // padding missing
  CHECK_FALSE(decode_base64("YQ="));   // wrong length
  CHECK_FALSE(decode_base64("YR=="));  // unused bits set
  CHECK_FALSE(decode_base64("YWJ="));  // unused bits set
  CHECK_FALSE(decode_base64("Y==="));  // three '='
  CHECK_FALSE(decode_base64("===="));
  CHECK_FALSE(decode_base64("Y=Jj"));  // '=' inside
  CHECK_FALSE(decode_base64("YW-_"));  // URL-safe letters
  CHECK_FALSE(decode_base64("YW J"));
  CHECK_FALSE(decode_base64("YWJj\n"));
  CHECK(aw::detail::decode_base64_exactly<3>("YWJj").has_value());
  CHECK_FALSE(aw::detail::decode_base64_exactly<2>("YWJj"));
}

TEST_CASE("form fields are found by name and decoded") {
  using aw::detail::form_field;
  const std::string body = "a=1&command=%2Fdeploy+now&empty=&flag&a=2&bad=%zz&text=caf%C3%A9";
  CHECK(form_field(body, "a") == "1");  // the first one
  CHECK(form_field(body, "command") == "/deploy now");
  CHECK(form_field(body, "empty") == "");
  CHECK(form_field(body, "flag") == "");
  CHECK(form_field(body, "text") == "caf\xC3\xA9");
  CHECK_FALSE(form_field(body, "bad"));
  CHECK_FALSE(form_field(body, "missing"));
  CHECK_FALSE(form_field("x=%4", "x"));
  CHECK_FALSE(form_field("x=%", "x"));
  CHECK(form_field("my+key=v", "my key") == "v");
  CHECK_FALSE(form_field("", "x"));
}

TEST_CASE("a BodyFormat reads JSON types and a missing type as JSON, its opaque types as bytes") {
  using Reading = aw::BodyFormat::Reading;
  const aw::BodyFormat allthings;
  CHECK(allthings.read_as("") == Reading::json);
  CHECK(allthings.read_as("  ") == Reading::json);
  CHECK(allthings.read_as("application/json; charset=utf-8") == Reading::json);
  CHECK(allthings.read_as("Application/Vnd.Shop+JSON") == Reading::json);
  CHECK(allthings.read_as("+json") == Reading::unsupported);
  CHECK(allthings.read_as("; charset=utf-8") == Reading::unsupported);  // a type, but no media type
  CHECK(allthings.read_as("application/x-www-form-urlencoded") == Reading::unsupported);
  CHECK(allthings.read_as("text/plain") == Reading::unsupported);

  aw::BodyFormat form;
  form.opaque_media_types = {"application/x-www-form-urlencoded"};
  CHECK(form.read_as("Application/X-WWW-Form-Urlencoded ; charset=utf-8") == Reading::opaque);
  CHECK(form.read_as("application/json") == Reading::json);
  CHECK(form.read_as("multipart/form-data") == Reading::unsupported);
}
