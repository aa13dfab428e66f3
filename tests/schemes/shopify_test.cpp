// Shopify publishes no vector: the expected header is built the way Shopify's docs verify it
// (base64 of the HMAC-SHA256 of the raw body), by OpenSSL's own HMAC and base64 encoder.
#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::ErrorKind;
using aw::schemes::ShopifyScheme;

namespace {
const std::string secret = "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";
const std::string body =
    R"({"id":820982911946154508,"email":"jon@example.com","total_price":"409.94"})";
const auto now = std::chrono::system_clock::now();

std::string expected_hmac(const std::string& key = secret, const std::string& of = body) {
  return test::openssl_base64(test::openssl_hmac(key, of));
}
ShopifyScheme scheme_with(std::vector<std::string> secrets) {
  return ShopifyScheme(test::preset_options(aw::schemes::shopify, std::move(secrets)));
}
}  // namespace

TEST_CASE("Shopify verifies the base64 HMAC of the raw body, with or without the X- prefix") {
  const auto scheme = scheme_with({"shpss_old", secret});
  const aw::HeaderList prefixed{{"X-Shopify-Hmac-Sha256", expected_hmac()}};
  const aw::HeaderList unprefixed{{"shopify-hmac-sha256", expected_hmac()}};
  CHECK(scheme.is_signed(prefixed));
  CHECK(scheme.is_signed(unprefixed));
  CHECK_FALSE(test::verdict(scheme, prefixed, body, now));
  CHECK_FALSE(test::verdict(scheme, unprefixed, body, now));
  CHECK(test::verdict(scheme, prefixed, body + " ", now) == ErrorKind::signature_mismatch);
  CHECK(test::verdict(scheme_with({"shpss_old"}), prefixed, body, now) ==
        ErrorKind::signature_mismatch);
  // The X- header is the one checked when both are sent.
  const aw::HeaderList both{{"X-Shopify-Hmac-Sha256", expected_hmac("shpss_other")},
                            {"Shopify-Hmac-Sha256", expected_hmac()}};
  CHECK(test::verdict(scheme, both, body, now) == ErrorKind::signature_mismatch);
  CHECK(aw::find_header(scheme.sign(body, secret, now), "x-shopify-hmac-sha256") ==
        expected_hmac());
}

TEST_CASE("Shopify refuses a signature that is not 32 bytes in canonical base64") {
  const auto scheme = scheme_with({secret});
  const auto good = expected_hmac();
  const auto verdict = [&](const std::string& value) {
    return test::verdict(scheme, {{"X-Shopify-Hmac-Sha256", value}}, body, now);
  };
  CHECK(verdict(good.substr(0, 43)) == ErrorKind::malformed_signature);  // padding lost
  CHECK(verdict(good.substr(0, 40)) == ErrorKind::malformed_signature);  // truncated
  CHECK(verdict(good + "AAAA") == ErrorKind::malformed_signature);       // 35 bytes
  CHECK(verdict(" " + good) == ErrorKind::malformed_signature);
  CHECK(verdict("") == ErrorKind::malformed_signature);
  CHECK(verdict(test::openssl_hmac_hex(secret, body)) == ErrorKind::malformed_signature);  // hex
  std::string url_safe = good;
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  if (url_safe != good) CHECK(verdict(url_safe) == ErrorKind::malformed_signature);
  // The last digit before '=' carries 2 unused bits: a non-zero one is not canonical.
  std::string noncanonical = good;
  const int last = aw::detail::base64_digit_value(noncanonical[42]);
  noncanonical[42] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last | 1];
  CHECK(verdict(noncanonical) == ErrorKind::malformed_signature);
}

TEST_CASE("a Shopify delivery is named by its topic and deduplicated by its event id") {
  auto o = test::preset_options(aw::schemes::shopify, {secret});
  test::PresetReceiver r(o);
  const aw::HeaderList first{{"X-Shopify-Hmac-Sha256", expected_hmac()},
                             {"X-Shopify-Topic", "orders/create"},
                             {"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
                             {"X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"}};
  CHECK(r.post(first, body).body == aw::replies::accepted.body);
  const auto event = r.only_event();
  CHECK(event.name() == "orders/create");
  CHECK(event.id() == "98880550-7158-44d4-b7cd-2c97c8a091b5");
  CHECK(event.data().at("total_price") == "409.94");
  // Another delivery of the same event (new webhook id, new header names): a duplicate.
  const aw::HeaderList again{{"shopify-hmac-sha256", expected_hmac()},
                             {"shopify-topic", "orders/create"},
                             {"shopify-webhook-id", "0b3e53c2-0000-4b37-8a5f-bf7d70bcd043"},
                             {"shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5"}};
  CHECK(r.post(again, body).body == aw::replies::duplicate.body);
}

TEST_CASE("Shopify falls back to the webhook id, and needs a topic") {
  auto o = test::preset_options(aw::schemes::shopify, {secret});
  test::PresetReceiver r(o);
  CHECK(r.post({{"Shopify-Hmac-Sha256", expected_hmac()},
                {"Shopify-Topic", "products/update"},
                {"Shopify-Webhook-Id", "w-1"}},
               body)
            .status == 200);
  const auto event = r.only_event();
  CHECK(event.id() == "w-1");
  CHECK(event.name() == "products/update");
  CHECK(r.post({{"X-Shopify-Hmac-Sha256", expected_hmac()}}, body).body ==
        aw::replies::missing_event_name.body);
  CHECK(r.post({{"X-Shopify-Hmac-Sha256", expected_hmac()}, {"X-Shopify-Topic", "x"}}, body,
               "text/plain")
            .status == 415);
}
