#include "scheme_support.hpp"

namespace aw = allthings::webhooks;
using aw::ErrorKind;
using aw::schemes::GitHubScheme;

namespace {
aw::HeaderList signature(const std::string& value) { return {{"X-Hub-Signature-256", value}}; }
GitHubScheme scheme_with(std::vector<std::string> secrets) {
  return GitHubScheme(test::preset_options(aw::schemes::github, std::move(secrets)));
}
const auto now = std::chrono::system_clock::now();
}  // namespace

TEST_CASE("GitHub verifies the published vectors over the exact bytes") {
  for (const auto& v : test::scheme_vectors().at("github")) {
    CAPTURE(v.at("name").get<std::string>());
    const auto secret = v.at("secret").get<std::string>();
    const auto body = v.at("body").get<std::string>();
    const auto header = v.at("signature").get<std::string>();
    const auto scheme = scheme_with({secret});
    CHECK(scheme.is_signed(signature(header)));
    CHECK_FALSE(test::verdict(scheme, signature(header), body, now));
    CHECK(test::verdict(scheme, signature(header), body + "\n", now) ==
          ErrorKind::signature_mismatch);
    // Signing gives the published header.
    CHECK(aw::find_header(scheme.sign(body, secret, now), "x-hub-signature-256") == header);
  }
}

TEST_CASE("GitHub tries every secret and accepts either hex case") {
  const auto& gh2 = test::scheme_vectors().at("github").at(1);
  const auto body = gh2.at("body").get<std::string>();
  auto header = gh2.at("signature").get<std::string>();
  const auto scheme = scheme_with({"old-secret", gh2.at("secret").get<std::string>()});
  CHECK_FALSE(test::verdict(scheme, signature(header), body, now));
  for (std::size_t i = 7; i < header.size(); ++i) {
    if (header[i] >= 'a' && header[i] <= 'f') header[i] = static_cast<char>(header[i] - 32);
  }
  CHECK_FALSE(test::verdict(scheme, signature(header), body, now));
  CHECK(test::verdict(scheme_with({"old-secret"}), signature(header), body, now) ==
        ErrorKind::signature_mismatch);
}

TEST_CASE("GitHub refuses signatures of the wrong form") {
  const auto scheme = scheme_with({"mysecret"});
  const std::string body = R"({"foo":"bar"})";
  const std::string hex = test::openssl_hmac_hex("mysecret", body);
  CHECK_FALSE(test::verdict(scheme, signature("sha256=" + hex), body, now));
  CHECK(test::verdict(scheme, signature("sha1=" + hex), body, now) ==
        ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, signature(hex), body, now) == ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, signature("sha256="), body, now) == ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, signature("sha256=" + hex.substr(2)), body, now) ==
        ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, signature("sha256=" + hex + "00"), body, now) ==
        ErrorKind::malformed_signature);
  CHECK(test::verdict(scheme, {}, body, now) == ErrorKind::malformed_signature);
  CHECK_FALSE(scheme.is_signed({{"X-Hub-Signature", "sha1=" + hex}}));  // SHA-1 alone: unsigned
}

TEST_CASE("a GitHub delivery is named by its event and action and identified by its delivery") {
  auto o = test::preset_options(aw::schemes::github, {"mysecret"});
  test::PresetReceiver r(o);
  const std::string body = R"({"action":"opened","issue":{"number":7},"zen":"x"})";
  auto headers = aw::testing::sign_headers(o, body, "mysecret");
  headers.emplace_back("X-GitHub-Event", "issues");
  headers[1].second = "72d3162e-cc78-11e3-81ab-4c9367dc0958";  // X-GitHub-Delivery
  CHECK(r.post(headers, body).body == aw::replies::accepted.body);
  const auto event = r.only_event();
  CHECK(event.name() == "issues.opened");
  CHECK(event.id() == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  CHECK(event.data() == nlohmann::json::parse(body));  // the whole body
  // A redelivery keeps the delivery id.
  CHECK(r.post(headers, body).body == aw::replies::duplicate.body);
}

TEST_CASE("a GitHub event without an action keeps the bare event name") {
  auto o = test::preset_options(aw::schemes::github, {"mysecret"});
  test::PresetReceiver r(o);
  const std::string body = R"({"ref":"refs/heads/main","commits":[]})";
  auto headers = aw::testing::sign_headers(o, body, "mysecret");
  headers.emplace_back("x-github-event", "push");
  CHECK(r.post(headers, body).status == 200);
  const auto event = r.only_event();
  CHECK(event.name() == "push");
  CHECK(event.id() == aw::detail::uuid_shaped_id(body));  // sign()'s delivery id
}

TEST_CASE("GitHub's 415 and 400 answers") {
  auto o = test::preset_options(aw::schemes::github, {"mysecret"});
  test::PresetReceiver r(o);
  const std::string body = R"({"zen":"Keep it logically awesome."})";
  auto headers = aw::testing::sign_headers(o, body, "mysecret");
  // No X-GitHub-Event: no name to dispatch by.
  CHECK(r.post(headers, body).body == aw::replies::missing_event_name.body);
  headers.emplace_back("X-GitHub-Event", "ping");
  // GitHub's form-encoded content type is not read.
  CHECK(r.post(headers, "payload=" + body, "application/x-www-form-urlencoded").status == 415);
  const std::string array = "[1]";
  auto array_headers = aw::testing::sign_headers(o, array, "mysecret");
  array_headers.emplace_back("X-GitHub-Event", "ping");
  CHECK(r.post(array_headers, array).body == aw::replies::not_an_object.body);
  CHECK(r.post(headers, body).status == 200);
  CHECK(r.only_event().name() == "ping");
}
