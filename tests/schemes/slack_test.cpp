#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::ErrorKind;
using aw::schemes::SlackScheme;

namespace {
const nlohmann::json& vector() { return test::scheme_vectors().at("slack"); }
std::string text(const char* key) { return vector().at(key).get<std::string>(); }
aw::HeaderList vector_headers(const std::string& signature = text("signature"),
                              const std::string& timestamp = text("timestamp")) {
  return {{"X-Slack-Signature", signature}, {"X-Slack-Request-Timestamp", timestamp}};
}
SlackScheme scheme_with(std::vector<std::string> secrets) {
  return SlackScheme(test::preset_options(aw::schemes::slack, std::move(secrets)));
}
// A receiver whose clock stands a minute after the worked example was signed.
aw::Options example_options() {
  auto o = test::preset_options(aw::schemes::slack, {text("secret")});
  o.clock = [] { return test::at_unix(text("timestamp"), std::chrono::seconds(60)); };
  return o;
}
}  // namespace

TEST_CASE("Slack verifies its worked example, a form-encoded slash command") {
  const auto scheme = scheme_with({text("secret")});
  const auto body = text("body");
  const auto now = test::at_unix(text("timestamp"), std::chrono::seconds(60));
  CHECK(scheme.is_signed(vector_headers()));
  CHECK_FALSE(test::verdict(scheme, vector_headers(), body, now));
  CHECK(test::verdict(scheme, vector_headers(), body + "&x=1", now) ==
        ErrorKind::signature_mismatch);
  CHECK(test::verdict(scheme, vector_headers(text("signature"), "1531420619"), body, now) ==
        ErrorKind::signature_mismatch);
  CHECK(scheme.sign(body, text("secret"), test::at_unix(text("timestamp"))) == vector_headers());
}

TEST_CASE("Slack refuses another version, missing headers and timestamps out of the window") {
  const auto scheme = scheme_with({text("secret")});
  const auto body = text("body");
  const auto sent = test::at_unix(text("timestamp"));
  const auto hex = text("signature").substr(3);
  CHECK(test::verdict(scheme, vector_headers("v1=" + hex), body, sent) ==
        ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, vector_headers(hex), body, sent) == ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, vector_headers("v0="), body, sent) == ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, {vector_headers()[0]}, body, sent) == ErrorKind::missing_timestamp);
  CHECK(test::verdict(scheme, vector_headers(text("signature"), "1531420618.5"), body, sent) ==
        ErrorKind::malformed_timestamp);
  CHECK(test::verdict(scheme, vector_headers(text("signature"), "hello"), body, sent) ==
        ErrorKind::malformed_timestamp);
  CHECK_FALSE(scheme.is_signed({vector_headers()[1]}));
  using std::chrono::seconds;
  CHECK_FALSE(test::verdict(scheme, vector_headers(), body, sent + seconds(300)));
  CHECK(test::verdict(scheme, vector_headers(), body, sent + seconds(301)) ==
        ErrorKind::stale_timestamp);
  CHECK(test::verdict(scheme, vector_headers(), body, sent - seconds(61)) ==
        ErrorKind::future_timestamp);
}

TEST_CASE("a form-encoded Slack request is verified and delivered with its raw bytes") {
  test::PresetReceiver r(example_options());
  const auto body = text("body");
  CHECK(r.post(vector_headers(), body, "application/x-www-form-urlencoded").body ==
        aw::replies::accepted.body);
  const auto event = r.only_event();
  CHECK(event.raw_body() == body);
  CHECK(event.name() == "/webhook-collect");  // the slash command, decoded
  CHECK(event.id() == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c");
  CHECK(event.data().is_null());
  CHECK(aw::detail::form_field(event.raw_body(), "user_name") == "roadrunner");
  // Not a JSON body, so never judged as one, and the Content-Type decides: as JSON it is 400.
  CHECK(r.post(vector_headers(), body, "application/json").body ==
        aw::replies::malformed_json.body);
  CHECK(r.post(vector_headers(), body, "text/plain").status == 415);
}

TEST_CASE("a Slack interaction is named by its payload's type") {
  const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
  auto o = test::preset_options(aw::schemes::slack, {secret});
  test::PresetReceiver r(o);
  const std::string body =
      "payload=%7B%22type%22%3A%22block_actions%22%2C%22trigger_id%22%3A%2213345224609.8534564800"
      "%22%2C%22user%22%3A%7B%22id%22%3A%22U0CA5%22%7D%7D";
  CHECK(r.post(aw::testing::sign_headers(o, body, secret), body,
               "application/x-www-form-urlencoded; charset=utf-8")
            .status == 200);
  const auto event = r.only_event();
  CHECK(event.name() == "block_actions");
  CHECK(event.id() == "13345224609.8534564800");
  // A form with neither a command nor a payload type has no name.
  const std::string nameless = "token=abc&team_id=T1";
  CHECK(r.post(aw::testing::sign_headers(o, nameless, secret), nameless,
               "application/x-www-form-urlencoded")
            .body == aw::replies::missing_event_name.body);
  const std::string broken = "payload=%7B%22type%22%3A";  // a payload that is not JSON
  CHECK(r.post(aw::testing::sign_headers(o, broken, secret), broken,
               "application/x-www-form-urlencoded")
            .body == aw::replies::missing_event_name.body);
}

TEST_CASE("a Slack Events API delivery is named by event.type and identified by event_id") {
  const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
  auto o = test::preset_options(aw::schemes::slack, {secret});
  test::PresetReceiver r(o);
  const std::string body =
      R"({"token":"z26u","team_id":"T1","type":"event_callback","event_id":"Ev08MFMKH6",)"
      R"("event":{"type":"app_mention","user":"U1","text":"hi","ts":"1515449522.000016"}})";
  CHECK(r.post(aw::testing::sign_headers(o, body, secret), body).status == 200);
  const auto event = r.only_event();
  CHECK(event.name() == "app_mention");
  CHECK(event.id() == "Ev08MFMKH6");
  CHECK(event.data().at("text") == "hi");
  // Slack's retry (X-Slack-Retry-Num) carries the same event_id.
  auto retry = aw::testing::sign_headers(o, body, secret);
  retry.emplace_back("X-Slack-Retry-Num", "1");
  CHECK(r.post(retry, body).body == aw::replies::duplicate.body);
}
