#pragma once

#include <memory>
#include <string>

#include <httplib.h>

#include "../../health.hpp"
#include "../../prometheus.hpp"
#include "../../receiver.hpp"
#include "server.hpp"

// The operations routes (Options::operations): liveness, readiness and Prometheus metrics.
// Plain GETs next to the webhook: no signature, and not counted as webhook requests.
namespace allthings::webhooks::detail {

inline void answer_json(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(std::move(body), "application/json");
}

inline std::string readiness_body(const Readiness& readiness) {
  if (readiness.ready) return R"({"status":"ready"})";
  return std::string(R"({"status":"not_ready","reason":")") + readiness.reason + "\"}";
}

// Adds the routes of receiver->options().operations that have a path to `server`.
inline void mount_operations(httplib::Server& server, std::shared_ptr<Receiver> receiver) {
  const auto& routes = receiver->options().operations;
  if (!routes.livez.empty()) {
    // Answering at all is the proof of life: the process serves.
    server.Get(escape_regex(routes.livez), [](const httplib::Request&, httplib::Response& res) {
      answer_json(res, 200, R"({"status":"live"})");
    });
  }
  if (!routes.readyz.empty()) {
    server.Get(escape_regex(routes.readyz),
               [receiver](const httplib::Request&, httplib::Response& res) {
                 const Readiness readiness = receiver->readiness();
                 answer_json(res, readiness.ready ? 200 : 503, readiness_body(readiness));
               });
  }
  if (!routes.metrics.empty()) {
    server.Get(escape_regex(routes.metrics),
               [receiver](const httplib::Request&, httplib::Response& res) {
                 res.set_header("Cache-Control", "no-store");
                 res.set_content(to_prometheus_text(receiver->metrics()), prometheus_content_type);
               });
  }
}

}  // namespace allthings::webhooks::detail
