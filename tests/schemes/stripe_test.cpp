// Stripe publishes no fixed vector: its SDKs test with generateTestHeaderString, which is the
// construction below (checked against the stripe npm package itself in tests/node).
#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::ErrorKind;
using aw::schemes::StripeScheme;

namespace {
const std::string secret = "whsec_test_3f0d1c2b4a59687766554433";
const std::string body =
    R"({"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"invoice.paid",)"
    R"("data":{"object":{"id":"in_1","amount_paid":2000}},"created":1686089970})";
const std::string t = "1686089970";
const auto sent = test::at_unix(t);

// "v1=<hex>" of `content` under `key`, computed by OpenSSL's own HMAC.
std::string v1(const std::string& key, const std::string& content) {
  return "v1=" + test::openssl_hmac_hex(key, content);
}
aw::HeaderList stripe_signature(const std::string& value) { return {{"Stripe-Signature", value}}; }
StripeScheme scheme_with(std::vector<std::string> secrets) {
  return StripeScheme(test::preset_options(aw::schemes::stripe, std::move(secrets)));
}
}  // namespace

TEST_CASE("Stripe verifies t and v1 over t.body with the secret used as it is") {
  const auto scheme = scheme_with({secret});
  const auto header = "t=" + t + "," + v1(secret, t + "." + body);
  CHECK(scheme.is_signed(stripe_signature(header)));
  CHECK_FALSE(test::verdict(scheme, stripe_signature(header), body, sent));
  // The whsec_ secret is not base64-decoded, and the timestamp is part of what is signed.
  CHECK(test::verdict(scheme, stripe_signature("t=" + t + "," + v1(secret, body)), body, sent) ==
        ErrorKind::signature_mismatch);
  CHECK(test::verdict(scheme, stripe_signature("t=1686089971," + v1(secret, t + "." + body)), body,
                      sent) == ErrorKind::signature_mismatch);
  CHECK(test::verdict(scheme, stripe_signature(header), body + " ", sent) ==
        ErrorKind::signature_mismatch);
  // What sign() makes is exactly that header.
  CHECK(scheme.sign(body, secret, sent) == stripe_signature(header));
}

TEST_CASE("any of several v1 entries verifies, next to v0 entries and decoys") {
  const auto scheme = scheme_with({"whsec_old", secret});
  const auto good = v1(secret, t + "." + body);
  const auto decoy = v1("whsec_other", t + "." + body);
  const auto both = "t=" + t + "," + decoy + "," + good + ",v0=" + good.substr(3);
  CHECK_FALSE(test::verdict(scheme, stripe_signature(both), body, sent));
  CHECK_FALSE(test::verdict(scheme, stripe_signature(" t=" + t + ", " + good), body, sent));
  CHECK(test::verdict(scheme, stripe_signature("t=" + t + "," + decoy + ",v0=" + good.substr(3)),
                      body, sent) == ErrorKind::signature_mismatch);
  // A malformed v1 next to a good one is only not a match.
  CHECK_FALSE(test::verdict(scheme, stripe_signature("t=" + t + ",v1=zz," + good), body, sent));
}

TEST_CASE("Stripe refuses missing parts and timestamps outside the window") {
  const auto scheme = scheme_with({secret});
  const auto good = v1(secret, t + "." + body);
  const auto verdict = [&](const std::string& header, std::chrono::seconds offset = {}) {
    return test::verdict(scheme, stripe_signature(header), body, sent + offset);
  };
  CHECK(verdict("t=" + t) == ErrorKind::malformed_signature);
  CHECK(verdict("t=" + t + ",v1=") == ErrorKind::malformed_signature);
  CHECK(verdict("t=" + t + ",v0=" + good.substr(3)) == ErrorKind::malformed_signature);
  CHECK(verdict("t=" + t + ",v2=" + good.substr(3)) == ErrorKind::malformed_signature);
  CHECK(verdict("") == ErrorKind::malformed_signature);
  CHECK(verdict(good) == ErrorKind::missing_timestamp);
  CHECK(verdict("t=," + good) == ErrorKind::malformed_timestamp);
  CHECK(verdict("t=hello," + good) == ErrorKind::malformed_timestamp);
  CHECK(verdict("t=" + t + ",t=" + t + "," + good) == ErrorKind::malformed_timestamp);
  CHECK_FALSE(verdict("t=" + t + "," + good, std::chrono::seconds(300)));
  CHECK(verdict("t=" + t + "," + good, std::chrono::seconds(301)) == ErrorKind::stale_timestamp);
  CHECK_FALSE(verdict("t=" + t + "," + good, std::chrono::seconds(-60)));
  CHECK(verdict("t=" + t + "," + good, std::chrono::seconds(-61)) == ErrorKind::future_timestamp);
  std::string many = "t=" + t;
  for (int i = 0; i < 17; ++i) many += "," + good;
  CHECK(verdict(many) == ErrorKind::malformed_signature);
}

TEST_CASE("Stripe refuses an empty or bare whsec_ secret when the receiver is built") {
  for (const std::string bad : {"", "whsec_"}) {
    auto o = test::preset_options(aw::schemes::stripe, {secret, bad});
    CHECK_THROWS_WITH_AS(aw::Receiver{o}, doctest::Contains("Options.secrets[1]"),
                         std::invalid_argument);
  }
}

TEST_CASE("a Stripe event is identified and named by its body's id and type") {
  auto o = test::preset_options(aw::schemes::stripe, {secret});
  test::PresetReceiver r(o);
  CHECK(r.post(aw::testing::sign_headers(o, body, secret), body).body ==
        aw::replies::accepted.body);
  const auto event = r.only_event();
  CHECK(event.id() == "evt_1NG8Du2eZvKYlo2CUI79vXWy");
  CHECK(event.name() == "invoice.paid");
  CHECK(event.data() == nlohmann::json{{"object", {{"id", "in_1"}, {"amount_paid", 2000}}}});
  CHECK(event.urn().empty());
  // Stripe retries with a new t and the same event id.
  const auto retry =
      aw::testing::sign_headers(o, body, secret, std::chrono::system_clock::now() + 5s);
  CHECK(r.post(retry, body).body == aw::replies::duplicate.body);
  const std::string untyped = R"({"id":"evt_2"})";
  CHECK(r.post(aw::testing::sign_headers(o, untyped, secret), untyped).body ==
        aw::replies::missing_event_name.body);
  CHECK(r.post(aw::testing::sign_headers(o, "{", secret), "{").body ==
        aw::replies::malformed_json.body);
}
