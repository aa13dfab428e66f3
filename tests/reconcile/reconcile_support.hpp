#pragma once

// The reconciler tests' harness: a fake Webhooks API, a receiver whose handlers and logs are
// recorded, and API clients that trust the fake's certificate.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/reconcile.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../support.hpp"
#include "fake_webhooks_api.hpp"

namespace test {

// Every log record, as the JSON line the library's own writer makes of it.
class LogCapture {
 public:
  aw::LogHandler handler() {
    return [this](aw::LogLevel level, std::string_view message,
                  const std::vector<aw::LogField>& fields) {
      std::lock_guard<std::mutex> lock(mutex_);
      text_ += aw::json_log_line(std::chrono::system_clock::now(), level, message, fields);
      text_ += '\n';
    };
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  std::mutex mutex_;
  std::string text_;
};

struct ReconcileHarness {
  ReconcileHarness() : api(certificate) {}

  aw::reconcile::WebhooksApiSettings api_settings() {
    aw::reconcile::WebhooksApiSettings s;
    s.api_url = api.api_url();
    s.credentials.token_url = api.token_url();
    s.credentials.client_id = FakeWebhooksApi::client_id;
    s.credentials.client_secret = FakeWebhooksApi::client_secret;
    s.ca_file = certificate.cert;
    s.request_timeout = std::chrono::milliseconds(2000);
    s.retry_base_delay = std::chrono::milliseconds(5);
    s.retry_max_delay = std::chrono::milliseconds(50);
    s.log = logs.handler();
    s.log_level = aw::LogLevel::debug;
    return s;
  }

  std::shared_ptr<aw::reconcile::WebhooksApiClient> client() {
    return std::make_shared<aw::reconcile::WebhooksApiClient>(api_settings());
  }

  aw::Options receiver_options() {
    aw::Options o = options();
    o.log = logs.handler();
    o.log_level = aw::LogLevel::debug;
    return o;
  }

  aw::reconcile::ReconcilerSettings reconciler_settings(int page_size = 2) {
    aw::reconcile::ReconcilerSettings s;
    s.webhook_id = "wh-1";
    s.page_size = page_size;
    return s;
  }

  ApiCertificate certificate;
  FakeWebhooksApi api;
  LogCapture logs;
};

// A receiver recording every event its handlers see.
struct RecordingReceiver {
  explicit RecordingReceiver(aw::Options options, std::shared_ptr<aw::Inbox> inbox = nullptr)
      : receiver(std::move(options), std::move(inbox)) {
    receiver.on_any([this](const aw::Event& e) { recorder.event(e); });
    receiver.on_error([this](const aw::Error& e) { recorder.error(e); });
  }

  // How many times handlers ran for `id`.
  int runs_of(const std::string& id) {
    int runs = 0;
    for (const auto& e : recorder.events()) runs += e.id() == id ? 1 : 0;
    return runs;
  }

  std::optional<aw::Event> event(const std::string& id) {
    for (const auto& e : recorder.events()) {
      if (e.id() == id) return e;
    }
    return std::nullopt;
  }

  Recorder recorder;
  aw::Receiver receiver;
};

// A live, signed delivery of {"event":{"id","name","data"}} straight into the receiver.
inline aw::Reply deliver_live(aw::Receiver& receiver, const std::string& id,
                              const nlohmann::json& data) {
  const auto body = aw::testing::envelope_body(id, "ticket.created", data);
  return receiver.handle("POST", aw::testing::sign_headers(receiver.options(), body, secret),
                         body);
}

}  // namespace test
