// The C++ side of the Node.js interop tests (interop.mjs): reads one JSON request on stdin,
// answers one JSON document on stdout.
//
//   {"action":"sign", "scheme":"github", "secrets":[...], "secret":"...", "body":"...",
//    "at": <Unix seconds>, "id": "<webhook-id, Standard Webhooks only>"}
//     -> {"headers": {"X-Hub-Signature-256": "sha256=...", ...}}
//   {"action":"receive", "scheme":"stripe", "secrets":[...], "headers":{...}, "body":"..."}
//     -> {"status": 200, "reply": "{\"status\":\"accepted\"}", "event": {"id","name","raw_body"}}
//
// "receive" runs a whole Receiver (Content-Type rules, verification, parsing, inbox, a
// handler), with the real clock, so what Node signs now must verify now.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace aw = allthings::webhooks;

namespace {

aw::SchemeFactory scheme_named(const std::string& name) {
  static const std::map<std::string, aw::SchemeFactory> schemes = {
      {"allthings", aw::schemes::allthings}, {"standard-webhooks", aw::schemes::standard_webhooks},
      {"github", aw::schemes::github},       {"stripe", aw::schemes::stripe},
      {"shopify", aw::schemes::shopify},     {"slack", aw::schemes::slack}};
  const auto found = schemes.find(name);
  if (found == schemes.end()) throw std::invalid_argument("unknown scheme " + name);
  return found->second;
}

aw::Options options_for(const nlohmann::json& request) {
  aw::Options options;
  options.scheme = scheme_named(request.at("scheme").get<std::string>());
  options.secrets = request.at("secrets").get<std::vector<std::string>>();
  options.workers = 1;
  return options;
}

nlohmann::json sign(const nlohmann::json& request) {
  const auto options = options_for(request);
  const auto body = request.at("body").get<std::string>();
  const auto secret = request.at("secret").get<std::string>();
  const std::chrono::system_clock::time_point at(
      std::chrono::seconds(request.at("at").get<std::int64_t>()));
  const auto headers = request.contains("id")
                           ? aw::schemes::StandardWebhooksScheme::sign_message(
                                 request.at("id").get<std::string>(), body, secret, at)
                           : aw::testing::sign_headers(options, body, secret, at);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : headers) out[name] = value;
  return {{"headers", out}};
}

nlohmann::json receive(const nlohmann::json& request) {
  aw::Receiver receiver(options_for(request));
  std::mutex mutex;
  std::optional<aw::Event> received;
  receiver.on_any([&](const aw::Event& e) {
    std::lock_guard<std::mutex> lock(mutex);
    received = e;
  });
  receiver.start();
  aw::HeaderList headers;
  for (const auto& [name, value] : request.at("headers").items()) {
    headers.emplace_back(name, value.get<std::string>());
  }
  const auto reply = receiver.handle("POST", headers, request.at("body").get<std::string>());
  receiver.stop();  // lets the handler run first
  nlohmann::json out = {{"status", reply.status}, {"reply", std::string(reply.body)}};
  std::lock_guard<std::mutex> lock(mutex);
  out["event"] = received ? nlohmann::json{{"id", received->id()},
                                           {"name", received->name()},
                                           {"raw_body", received->raw_body()}}
                          : nlohmann::json();
  return out;
}

}  // namespace

int main() {
  try {
    const std::string input((std::istreambuf_iterator<char>(std::cin)),
                            std::istreambuf_iterator<char>());
    const auto request = nlohmann::json::parse(input);
    const auto action = request.at("action").get<std::string>();
    if (action == "sign") {
      std::cout << sign(request).dump() << '\n';
    } else if (action == "receive") {
      std::cout << receive(request).dump() << '\n';
    } else {
      throw std::invalid_argument("unknown action " + action);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "scheme_tool: " << e.what() << '\n';
    return 2;
  }
}
