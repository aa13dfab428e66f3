#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::ErrorKind;
using aw::schemes::StandardWebhooksScheme;

namespace {
const nlohmann::json& v1() { return test::scheme_vectors().at("standard_webhooks_v1"); }
const nlohmann::json& v1a() { return test::scheme_vectors().at("standard_webhooks_v1a"); }
std::string text(const nlohmann::json& vector, const char* key) {
  return vector.at(key).get<std::string>();
}

// The vector's headers, with its signature header replaced by `signature`.
aw::HeaderList headers_of(const nlohmann::json& vector, const std::string& signature) {
  return {{"webhook-id", text(vector, "id")},
          {"webhook-timestamp", text(vector, "timestamp")},
          {"webhook-signature", signature}};
}

StandardWebhooksScheme scheme_with(std::vector<std::string> secrets,
                                   std::chrono::seconds future_skew = std::chrono::minutes(5)) {
  auto o = test::preset_options(aw::schemes::standard_webhooks, std::move(secrets));
  o.future_skew = future_skew;  // the spec's libraries accept 5 minutes either way
  return StandardWebhooksScheme(o);
}
}  // namespace

TEST_CASE("Standard Webhooks v1 verifies the published vector and nothing next to it") {
  const auto scheme = scheme_with({text(v1(), "secret")});
  const auto body = text(v1(), "body");
  const auto now = test::at_unix(text(v1(), "timestamp"));
  const auto headers = headers_of(v1(), text(v1(), "signature"));
  CHECK(scheme.is_signed(headers));
  CHECK_FALSE(test::verdict(scheme, headers, body, now));

  // Every signed part counts: the body's bytes (one blank more), the id, the timestamp.
  CHECK(test::verdict(scheme, headers, R"({"test":  2432232314})", now) ==
        ErrorKind::signature_mismatch);
  auto other_id = headers;
  other_id[0].second = "msg_p5jXN8AQM9LWM0D4loKWxJeK";
  CHECK(test::verdict(scheme, other_id, body, now) == ErrorKind::signature_mismatch);
  auto other_time = headers;
  other_time[1].second = "1614265331";
  CHECK(test::verdict(scheme, other_time, body, now) == ErrorKind::signature_mismatch);
  CHECK(test::verdict(scheme_with({"whsec_" + test::openssl_base64("another key")}), headers, body,
                      now) == ErrorKind::signature_mismatch);
}

TEST_CASE("Standard Webhooks signs the published vector exactly") {
  const auto signed_headers = StandardWebhooksScheme::sign_message(
      text(v1(), "id"), text(v1(), "body"), text(v1(), "secret"),
      test::at_unix(text(v1(), "timestamp")));
  CHECK(signed_headers == headers_of(v1(), text(v1(), "signature")));
  // The same bytes without the whsec_ prefix, as the reference libraries accept them.
  const auto bare = text(v1(), "secret").substr(6);
  CHECK(StandardWebhooksScheme::sign_message(text(v1(), "id"), text(v1(), "body"), bare,
                                             test::at_unix(text(v1(), "timestamp"))) ==
        signed_headers);
}

TEST_CASE("a valid v1 entry among decoys verifies and the decoys alone do not") {
  const auto scheme = scheme_with({text(v1(), "secret")});
  const auto body = text(v1(), "body");
  const auto now = test::at_unix(text(v1(), "timestamp"));
  const auto decoy = v1().at("decoys").at(0).get<std::string>();
  const auto other_version = v1().at("decoys").at(1).get<std::string>();
  const auto valid = text(v1(), "signature");

  CHECK_FALSE(test::verdict(scheme, headers_of(v1(), decoy + " " + other_version + " " + valid),
                            body, now));
  CHECK_FALSE(test::verdict(scheme, headers_of(v1(), valid + " " + decoy), body, now));
  CHECK(test::verdict(scheme, headers_of(v1(), decoy + " " + other_version), body, now) ==
        ErrorKind::signature_mismatch);
  // The valid value under another version is not a v1 signature.
  CHECK(test::verdict(scheme, headers_of(v1(), "v2," + valid.substr(3)), body, now) ==
        ErrorKind::malformed_signature);
}

TEST_CASE("Standard Webhooks refuses malformed signatures, missing headers and bad timestamps") {
  const auto scheme = scheme_with({text(v1(), "secret")});
  const auto body = text(v1(), "body");
  const auto now = test::at_unix(text(v1(), "timestamp"));
  const auto valid = text(v1(), "signature");

  CHECK(test::verdict(scheme, headers_of(v1(), valid.substr(0, valid.size() - 4)), body, now) ==
        ErrorKind::malformed_signature);  // truncated
  CHECK(test::verdict(scheme, headers_of(v1(), "v1,"), body, now) ==
        ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, headers_of(v1(), "v1"), body, now) == ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, headers_of(v1(), ""), body, now) == ErrorKind::malformed_signature);
  // Blanks between entries are no entries.
  CHECK_FALSE(test::verdict(scheme, headers_of(v1(), std::string(17, ' ') + valid), body, now));

  auto headers = headers_of(v1(), valid);
  CHECK_FALSE(scheme.is_signed({headers[0], headers[1]}));  // no webhook-signature: unsigned
  const auto refusal = scheme.verify({headers[1], headers[2]}, body, now);
  REQUIRE(refusal);
  CHECK(refusal->kind == ErrorKind::malformed_signature);
  CHECK(refusal->message.find("webhook-id") != std::string::npos);
  CHECK(test::verdict(scheme, {headers[0], headers[2]}, body, now) == ErrorKind::missing_timestamp);
  headers[1].second = "hello";
  CHECK(test::verdict(scheme, headers, body, now) == ErrorKind::malformed_timestamp);
  headers[1].second = "-1614265330";
  CHECK(test::verdict(scheme, headers, body, now) == ErrorKind::malformed_timestamp);
}

TEST_CASE("Standard Webhooks holds the receiver's timestamp window to the second") {
  const auto scheme = scheme_with({text(v1(), "secret")});
  const auto body = text(v1(), "body");
  const auto headers = headers_of(v1(), text(v1(), "signature"));
  const auto sent = text(v1(), "timestamp");
  using std::chrono::seconds;
  CHECK_FALSE(test::verdict(scheme, headers, body, test::at_unix(sent, seconds(300))));
  CHECK(test::verdict(scheme, headers, body, test::at_unix(sent, seconds(301))) ==
        ErrorKind::stale_timestamp);
  CHECK_FALSE(test::verdict(scheme, headers, body, test::at_unix(sent, seconds(-300))));
  CHECK(test::verdict(scheme, headers, body, test::at_unix(sent, seconds(-301))) ==
        ErrorKind::future_timestamp);
  // The receiver's own future_skew (default 1 minute) is what counts.
  const auto strict = scheme_with({text(v1(), "secret")}, std::chrono::minutes(1));
  CHECK(test::verdict(strict, headers, body, test::at_unix(sent, seconds(-61))) ==
        ErrorKind::future_timestamp);
}

TEST_CASE("Standard Webhooks v1a verifies the published Ed25519 vector with the whpk_ key") {
  const auto body = text(v1a(), "body");
  const auto now = test::at_unix(text(v1a(), "timestamp"));
  const auto headers = headers_of(v1a(), text(v1a(), "signature"));
  const auto scheme = scheme_with({text(v1a(), "public_key")});
  CHECK_FALSE(test::verdict(scheme, headers, body, now));
  CHECK(test::verdict(scheme, headers, body + " ", now) == ErrorKind::signature_mismatch);

  // Keys of both kinds at once: each entry is checked against the keys of its version.
  const auto mixed = scheme_with({text(v1(), "secret"), text(v1a(), "public_key")});
  CHECK_FALSE(test::verdict(mixed, headers, body, now));
  CHECK_FALSE(test::verdict(mixed, headers_of(v1(), text(v1(), "signature")), body, now));
  // An HMAC secret alone cannot check a v1a entry.
  CHECK(test::verdict(scheme_with({text(v1(), "secret")}), headers, body, now) ==
        ErrorKind::signature_mismatch);
  // A v1a entry of the right length but the wrong key.
  const auto other_key = "whpk_" + test::openssl_base64(std::string(32, '\x01'));
  CHECK(test::verdict(scheme_with({other_key}), headers, body, now) ==
        ErrorKind::signature_mismatch);
  // 64 bytes, but not an Ed25519 signature of anything.
  CHECK(test::verdict(scheme,
                      headers_of(v1a(), "v1a," + test::openssl_base64(std::string(64, 'x'))), body,
                      now) == ErrorKind::signature_mismatch);
}

TEST_CASE("the whsk_ signing key signs the published v1a vector exactly") {
  CHECK(StandardWebhooksScheme::sign_message(text(v1a(), "id"), text(v1a(), "body"),
                                             text(v1a(), "signing_key"),
                                             test::at_unix(text(v1a(), "timestamp"))) ==
        headers_of(v1a(), text(v1a(), "signature")));
  // A whsk_ key whose public half does not belong to its seed is refused.
  auto key = aw::detail::decode_base64(text(v1a(), "signing_key").substr(5)).value();
  key[40] = static_cast<char>(key[40] ^ 1);
  CHECK_THROWS_AS(StandardWebhooksScheme::sign_message("msg_1", "{}",
                                                       "whsk_" + test::openssl_base64(key),
                                                       std::chrono::system_clock::now()),
                  std::invalid_argument);
}

TEST_CASE("secrets Standard Webhooks cannot use are refused when the receiver is built") {
  const auto refused = [](std::vector<std::string> secrets, const std::string& field,
                          const std::string& why) {
    CAPTURE(field);
    const auto o = test::preset_options(aw::schemes::standard_webhooks, secrets);
    try {
      aw::Receiver receiver(o);
      FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      CHECK(message.find(field) != std::string::npos);
      CHECK(message.find(why) != std::string::npos);
      for (const auto& secret : secrets) {
        if (secret.size() > 6) CHECK(message.find(secret.substr(6)) == std::string::npos);
      }
    }
  };
  refused({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""}, "secrets[1]", "empty");
  refused({"whsec_"}, "secrets[0]", "whsec_ prefix");
  refused({"whsec_not base64!"}, "secrets[0]", "base64");
  refused({"whsec_YWJj\n"}, "secrets[0]", "base64");  // a newline from a file
  refused({"whsec_YQ"}, "secrets[0]", "base64");      // padding missing
  refused({"whpk_" + test::openssl_base64(std::string(31, 'k'))}, "secrets[0]", "32-byte");
  refused({"whpk_"}, "secrets[0]", "32-byte");
  refused({text(v1(), "secret"), text(v1a(), "signing_key")}, "secrets[1]", "whpk_");
  CHECK_NOTHROW(aw::Receiver{test::preset_options(
      aw::schemes::standard_webhooks, {text(v1(), "secret"), text(v1a(), "public_key")})});
}

TEST_CASE(
    "a Standard Webhooks delivery is named by its body's type and deduplicated by webhook-id") {
  auto o = test::preset_options(aw::schemes::standard_webhooks, {text(v1(), "secret")});
  test::PresetReceiver r(o);
  const std::string body =
      R"({"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"in_1"}})";
  const auto headers = aw::testing::sign_headers(o, body, text(v1(), "secret"));
  CHECK(r.post(headers, body).body == aw::replies::accepted.body);
  const auto event = r.only_event();
  CHECK(event.name() == "invoice.paid");
  CHECK(event.id() == std::string(aw::find_header(headers, "webhook-id").value()));
  CHECK(event.id().rfind("msg_", 0) == 0);
  CHECK(event.data() == nlohmann::json{{"id", "in_1"}});
  CHECK(event.created_date() == "2022-11-03T20:26:10.344522Z");
  CHECK(event.raw_body() == body);
  // A retry carries the same webhook-id, signed again at another time.
  const auto retry = aw::testing::sign_headers(o, body, text(v1(), "secret"),
                                               std::chrono::system_clock::now() + 10s);
  CHECK(r.post(retry, body).body == aw::replies::duplicate.body);
  // No type: nothing to dispatch by.
  const std::string untyped = R"({"data":{}})";
  CHECK(r.post(aw::testing::sign_headers(o, untyped, text(v1(), "secret")), untyped).status == 400);
}
