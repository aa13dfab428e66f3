#pragma once

// A local fake of Allthings' Webhooks API for the reconciler's tests: HTTPS with a certificate
// made by `openssl req -x509` for each test, an OAuth 2.0 token endpoint whose tokens expire,
// and the GraphQL operations the library sends. What follows Allthings' published reference
// and what is assumed is listed in docs/reconcile.md ("The fake Webhooks API").
#include <doctest/doctest.h>

#include <time.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../operations/operations_support.hpp"

namespace test {

// A self-signed certificate for 127.0.0.1 and localhost, and its key.
struct ApiCertificate {
  ApiCertificate() {
    const auto made =
        run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
                    key + "' -out '" + cert + "'");
    INFO(made.output);
    REQUIRE(made.exit_code == 0);
  }
  TempDir dir;
  std::string cert = dir.file("cert.pem");
  std::string key = dir.file("key.pem");
};

// ISO 8601 in UTC with milliseconds, as the API writes dates.
inline std::string iso8601(std::chrono::system_clock::time_point at) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(millis / 1000);
  tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  return text;
}

// A delivery node as documented: id createdDate deliveryDate status result event { id name urn
// payload createdDate }, the payload stringified JSON.
inline nlohmann::json delivery(const std::string& delivery_id, const std::string& event_id,
                               const std::string& name, const nlohmann::json& data,
                               std::chrono::system_clock::time_point created,
                               const std::string& status = "FAILED") {
  return {{"id", delivery_id},
          {"createdDate", iso8601(created)},
          {"deliveryDate", iso8601(created + std::chrono::seconds(1))},
          {"status", status},
          {"result",
           {{"statusCode", status == "SUCCESS" ? 200 : 503},
            {"body", ""},
            {"headers", nlohmann::json::array()},
            {"message", ""}}},
          {"event",
           {{"id", event_id},
            {"name", name},
            {"urn", "urn:allthings:app:app-1:ticket:" + event_id},
            {"payload", data.dump()},
            {"createdDate", iso8601(created)}}}};
}

class FakeWebhooksApi {
 public:
  static constexpr const char* client_id = "client-1";
  static constexpr const char* client_secret = "sekrit-client-secret-42";

  // What the next GraphQL request gets instead of its answer.
  struct Fault {
    int status = 0;                     // answer this status (with an empty JSON body)
    std::string retry_after;            // with this Retry-After
    bool revoke_tokens = false;         // every token issued so far stops working (-> 401)
    std::chrono::milliseconds delay{0};  // answer normally, this late (a slow page)
  };

  explicit FakeWebhooksApi(const ApiCertificate& certificate)
      : server_(certificate.cert.c_str(), certificate.key.c_str()) {
    server_.Post("/oauth/token", [this](const httplib::Request& req, httplib::Response& res) {
      token(req, res);
    });
    server_.Post("/graphql", [this](const httplib::Request& req, httplib::Response& res) {
      graphql(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!server_.is_running() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server_.is_running());
  }

  ~FakeWebhooksApi() {
    server_.stop();
    thread_.join();
  }

  std::string api_url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/graphql"; }
  std::string token_url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/oauth/token";
  }

  void add_delivery(const std::string& webhook_id, nlohmann::json node) {
    std::lock_guard<std::mutex> lock(mutex_);
    deliveries_[webhook_id].push_back(std::move(node));
  }
  void add_webhook(nlohmann::json webhook) {
    std::lock_guard<std::mutex> lock(mutex_);
    webhooks_.push_back(std::move(webhook));
  }
  void inject(Fault fault) {
    std::lock_guard<std::mutex> lock(mutex_);
    faults_.push_back(std::move(fault));
  }
  // Tokens live this long on the server, and the token endpoint says so in expires_in.
  void set_token_lifetime(std::chrono::seconds lifetime) {
    std::lock_guard<std::mutex> lock(mutex_);
    lifetime_ = lifetime;
  }

  int tokens_issued() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(tokens_.size());
  }
  std::vector<std::string> issued_tokens() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& entry : tokens_) out.push_back(entry.first);
    return out;
  }
  int unauthorized_answers() const { return unauthorized_; }
  int graphql_requests() const { return graphql_requests_; }
  // The variables of the latest request of each operation ("register", "update", ...).
  nlohmann::json last_variables(const std::string& operation) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = last_variables_.find(operation);
    return found == last_variables_.end() ? nlohmann::json() : found->second;
  }

 private:
  struct Token {
    std::chrono::steady_clock::time_point expires;
    bool revoked = false;
  };

  void token(const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value("grant_type") != "client_credentials" ||
        req.get_param_value("client_id") != client_id ||
        req.get_param_value("client_secret") != client_secret) {
      res.status = 401;
      res.set_content(R"({"error":"invalid_client"})", "application/json");
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string token = "tok-" + std::to_string(tokens_.size() + 1) + "-Zq81Xv";
    tokens_[token] = {std::chrono::steady_clock::now() + lifetime_, false};
    res.set_content(nlohmann::json{{"access_token", token},
                                   {"token_type", "Bearer"},
                                   {"expires_in", lifetime_.count()}}
                        .dump(),
                    "application/json");
  }

  bool authorized(const httplib::Request& req) {
    const auto header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.compare(0, prefix.size(), prefix) != 0) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = tokens_.find(header.substr(prefix.size()));
    return found != tokens_.end() && !found->second.revoked &&
           std::chrono::steady_clock::now() < found->second.expires;
  }

  void graphql(const httplib::Request& req, httplib::Response& res) {
    ++graphql_requests_;
    std::optional<Fault> fault;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!faults_.empty()) {
        fault = faults_.front();
        faults_.pop_front();
        if (fault->revoke_tokens) {
          for (auto& entry : tokens_) entry.second.revoked = true;
        }
      }
    }
    if (fault && fault->delay.count() > 0) std::this_thread::sleep_for(fault->delay);
    if (!authorized(req)) {
      ++unauthorized_;
      res.status = 401;
      res.set_content(R"({"errors":[{"message":"Unauthorized"}]})", "application/json");
      return;
    }
    if (fault && fault->status != 0) {
      res.status = fault->status;
      if (!fault->retry_after.empty()) res.set_header("Retry-After", fault->retry_after);
      res.set_content("{}", "application/json");
      return;
    }
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) {
      res.status = 400;
      res.set_content(R"({"errors":[{"message":"no query"}]})", "application/json");
      return;
    }
    const std::string query = body["query"];
    const nlohmann::json variables = body.value("variables", nlohmann::json::object());
    nlohmann::json data;
    std::lock_guard<std::mutex> lock(mutex_);
    if (query.find("deliveries(") != std::string::npos) {
      data = deliveries_page(variables);
    } else if (query.find("registerWebhook(") != std::string::npos) {
      last_variables_["register"] = variables;
      auto webhook = variables["input"];
      webhook["id"] = "wh-" + std::to_string(webhooks_.size() + 1);
      webhook["enabled"] = true;
      webhooks_.push_back(webhook);
      webhook["secret"] = "whsec_generated";
      data = {{"registerWebhook", {{"webhook", webhook}}}};
    } else if (query.find("updateWebhook(") != std::string::npos) {
      last_variables_["update"] = variables;
      for (auto& webhook : webhooks_) {
        if (webhook["id"] != variables["id"]) continue;
        webhook.update(variables["input"]);
        data = {{"updateWebhook", {{"webhook", webhook}}}};
      }
      if (data.is_null()) data = {{"updateWebhook", nullptr}};
    } else if (query.find("removeWebhook(") != std::string::npos) {
      last_variables_["remove"] = variables;
      for (auto it = webhooks_.begin(); it != webhooks_.end(); ++it) {
        if ((*it)["id"] != variables["id"]) continue;
        data = {{"removeWebhook", {{"webhook", {{"id", (*it)["id"]}}}}}};
        webhooks_.erase(it);
        break;
      }
      if (data.is_null()) data = {{"removeWebhook", nullptr}};
    } else if (query.find("webhooks(") != std::string::npos) {
      last_variables_["list"] = variables;
      data = {{"webhooks", page_of(webhooks_, variables)}};
    } else {
      res.set_content(R"({"errors":[{"message":"unknown operation"}]})", "application/json");
      return;
    }
    res.set_content(nlohmann::json{{"data", data}}.dump(), "application/json");
  }

  // A Relay-style connection over `items`: cursors are opaque strings naming an index.
  static nlohmann::json page_of(const std::vector<nlohmann::json>& items,
                                const nlohmann::json& variables) {
    const int first = variables.value("first", 10);
    std::size_t start = 0;
    if (variables.contains("after") && variables["after"].is_string()) {
      start = std::stoul(variables["after"].get<std::string>().substr(7)) + 1;
    }
    nlohmann::json nodes = nlohmann::json::array();
    nlohmann::json edges = nlohmann::json::array();
    std::size_t i = start;
    for (; i < items.size() && i < start + static_cast<std::size_t>(first); ++i) {
      nodes.push_back(items[i]);
      edges.push_back({{"cursor", "cursor-" + std::to_string(i)}, {"node", items[i]}});
    }
    const bool more = i < items.size();
    return {{"edges", edges},
            {"nodes", nodes},
            {"pageInfo",
             {{"endCursor", i > start ? nlohmann::json("cursor-" + std::to_string(i - 1))
                                      : nlohmann::json(nullptr)},
              {"hasNextPage", more},
              {"hasPreviousPage", start > 0},
              {"startCursor", i > start ? nlohmann::json("cursor-" + std::to_string(start))
                                        : nlohmann::json(nullptr)}}},
            {"totalCount", items.size()}};
  }

  nlohmann::json deliveries_page(const nlohmann::json& variables) {
    const auto found = deliveries_.find(variables.value("id", std::string()));
    if (found == deliveries_.end()) return {{"webhook", nullptr}};
    return {{"webhook", {{"id", found->first}, {"deliveries", page_of(found->second, variables)}}}};
  }

  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<nlohmann::json>> deliveries_;
  std::vector<nlohmann::json> webhooks_;
  std::deque<Fault> faults_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, nlohmann::json> last_variables_;
  std::chrono::seconds lifetime_{3600};
  std::atomic<int> unauthorized_{0};
  std::atomic<int> graphql_requests_{0};
};

}  // namespace test
