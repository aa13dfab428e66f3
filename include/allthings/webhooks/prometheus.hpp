#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "metrics.hpp"

// Metrics in Prometheus' text exposition format (version 0.0.4), what /metrics serves. Names
// start with allthings_webhooks_, counters end in _total, durations are in seconds, and every
// label comes from a bounded set. docs/operations.md lists them.
namespace allthings::webhooks {

// The Content-Type /metrics answers with.
inline constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

namespace detail {

class PrometheusWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // fixed texts: nothing to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, Labels labels, std::uint64_t value) {
    sample_start(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }

  void sample(std::string_view name, Labels labels, double value) {
    sample_start(name, labels);
    out_ += number(value);
    out_ += '\n';
  }

  // One histogram's series: buckets (cumulative, +Inf last), sum and count.
  void histogram(std::string_view name,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                 const HistogramSnapshot& h) {
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
      sample_start(bucket, labels, {"le", number(h.upper_bounds[i])});
      out_ += std::to_string(h.cumulative_counts[i]);
      out_ += '\n';
    }
    sample_start(bucket, labels, {"le", "+Inf"});
    out_ += std::to_string(h.count);
    out_ += '\n';
    sample(std::string(name) + "_sum", labels, h.sum);
    sample(std::string(name) + "_count", labels, h.count);
  }

  std::string take() { return std::move(out_); }

 private:
  // Shortest of the usual forms that reads back the same: 5e-06, 0.25, 10.
  static std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", value);
    return text;
  }

  void sample_start(std::string_view name, Labels labels,
                    std::pair<std::string_view, std::string> extra = {}) {
    out_ += name;
    if (labels.size() > 0 || !extra.first.empty()) {
      out_ += '{';
      bool first = true;
      auto label = [&](std::string_view key, std::string_view value) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        append_escaped(value);
        out_ += '"';
      };
      for (const auto& [key, value] : labels) label(key, value);
      if (!extra.first.empty()) label(extra.first, extra.second);
      out_ += '}';
    }
    out_ += ' ';
  }

  void append_escaped(std::string_view value) {
    for (const char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
  }

  std::string out_;
};

}  // namespace detail

inline std::string to_prometheus_text(const Metrics& m) {
  detail::PrometheusWriter w;
  const std::string prefix = "allthings_webhooks_";
  auto name = [&](const char* suffix) { return prefix + suffix; };

  w.family(name("build_info"), "gauge", "Version of allthings-webhooks; the value is always 1.");
  w.sample(name("build_info"), {{"version", m.version}}, std::uint64_t{1});
  w.family(name("ready"), "gauge",
           "1 when the receiver is ready for webhooks (what /readyz says).");
  w.sample(name("ready"), {}, std::uint64_t{m.ready ? 1u : 0u});

  w.family(name("requests_total"), "counter",
           "Requests on the webhook path by outcome (accepted, duplicate or the error kind) and "
           "HTTP status.");
  for (const auto& r : m.requests) {
    w.sample(name("requests_total"), {{"outcome", r.outcome}, {"status", std::to_string(r.status)}},
             r.count);
  }
  w.family(name("duplicates_total"), "counter",
           "Deliveries acknowledged and dropped because their event id was seen before.");
  w.sample(name("duplicates_total"), {}, m.duplicates);
  w.family(name("signature_failures_total"), "counter",
           "Requests refused for their signature, by reason.");
  for (const auto& [reason, count] : m.signature_failures) {
    w.sample(name("signature_failures_total"), {{"reason", reason}}, count);
  }
  w.family(name("timestamp_failures_total"), "counter",
           "Requests refused for their signature timestamp, by reason.");
  for (const auto& [reason, count] : m.timestamp_failures) {
    w.sample(name("timestamp_failures_total"), {{"reason", reason}}, count);
  }
  w.family(name("errors_total"), "counter",
           "Errors reported to on_error, by kind (refused requests and failed events).");
  for (const auto& [kind, count] : m.errors)
    w.sample(name("errors_total"), {{"kind", kind}}, count);
  w.family(name("acknowledgement_duration_seconds"), "histogram",
           "Seconds from a request's complete body to its answer: verify, parse, store.");
  w.histogram(name("acknowledgement_duration_seconds"), {}, m.acknowledgement);

  w.family(name("queue_depth"), "gauge", "Events accepted and not finished.");
  w.sample(name("queue_depth"), {}, m.queue_depth);
  w.family(name("queue_capacity"), "gauge", "Events the queue holds at most (queue_capacity).");
  w.sample(name("queue_capacity"), {}, m.queue_capacity);
  w.family(name("queue_wait_seconds"), "histogram",
           "Seconds a due delivery waited in the inbox for a worker.");
  w.histogram(name("queue_wait_seconds"), {}, m.queue_wait);

  w.family(name("events_total"), "counter",
           "Attempts to run an event's handlers by event name (registered names, else other) "
           "and outcome (done, retry, dead_letter).");
  for (const auto& e : m.events) {
    w.sample(name("events_total"), {{"event", e.name}, {"outcome", "done"}}, e.done);
    w.sample(name("events_total"), {{"event", e.name}, {"outcome", "retry"}}, e.retries);
    w.sample(name("events_total"), {{"event", e.name}, {"outcome", "dead_letter"}},
             e.dead_lettered);
  }
  w.family(name("handler_duration_seconds"), "histogram",
           "Seconds a worker spent running one attempt's handlers, by event name.");
  for (const auto& e : m.events) {
    w.histogram(name("handler_duration_seconds"), {{"event", e.name}}, e.handler_duration);
  }
  w.family(name("events_unhandled_total"), "counter", "Events no handler matched.");
  w.sample(name("events_unhandled_total"), {}, m.unhandled);
  w.family(name("handler_failures_total"), "counter", "Handler calls that threw.");
  w.sample(name("handler_failures_total"), {}, m.handler_failures);
  w.family(name("dead_letters_total"), "counter",
           "Events given up after max_attempts since the process started.");
  w.sample(name("dead_letters_total"), {}, m.dead_letters);
  if (m.dead_letters_stored) {
    w.family(name("inbox_dead_letters"), "gauge", "Dead letters the durable inbox holds now.");
    w.sample(name("inbox_dead_letters"), {}, *m.dead_letters_stored);
  }
  if (m.inbox_commits) {
    w.family(name("inbox_commit_duration_seconds"), "histogram",
             "Seconds per inbox commit (transaction and fsync).");
    w.histogram(name("inbox_commit_duration_seconds"), {}, m.inbox_commits->duration);
    w.family(name("inbox_commit_batch_size"), "histogram",
             "Events stored per inbox commit that stored any.");
    w.histogram(name("inbox_commit_batch_size"), {}, m.inbox_commits->batch_size);
  }
  return w.take();
}

}  // namespace allthings::webhooks
