#pragma once

// Recovers events whose live delivery never arrived, or was acknowledged and then lost, from
// Allthings' delivery history (kept 30 days), and hands each to the Receiver as if it had just
// been delivered. Not part of the umbrella header (CMake target allthings::webhooks_reconcile).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "../cursor_store.hpp"
#include "../detail/process/thread_name.hpp"
#include "../detail/text/iso8601.hpp"
#include "../inbox/operations.hpp"
#include "../receiver.hpp"
#include "../recovered_event.hpp"
#include "api_client.hpp"
#include "deliveries.hpp"
#include "report.hpp"

namespace allthings::webhooks::reconcile {

// Allthings keeps the delivery history this long.
inline constexpr std::chrono::hours delivery_retention{24 * 30};

struct ReconcilerSettings {
  std::string webhook_id;
  // How far back a run without a high-water mark looks; never further than the retention.
  std::chrono::seconds window{delivery_retention};
  // Deliveries asked for per page, and the most pages one run reads (a bound on its cost; a
  // run that reaches it is reported incomplete and does not move the high-water mark).
  int page_size = 50;
  int max_pages_per_run = 200;
  // Background runs: one at start(), then one every `interval`.
  std::chrono::milliseconds interval{std::chrono::minutes(15)};
  // After a complete run the high-water mark becomes the run's start minus `settle`, so that
  // events that took a while to show in the history are looked at again next time.
  std::chrono::milliseconds settle{std::chrono::minutes(10)};
  // Where the event's data sits inside the stringified `payload` (a JSON pointer); empty: the
  // whole payload is the data. Allthings does not publish the payload's shape.
  std::string payload_data_pointer;
  // Find and report missing events without handing them to the receiver.
  bool dry_run = false;
  // Called with the report of every background run (on the reconciler's thread).
  std::function<void(const ReconcileReport&)> on_report;
};

// Pages through a webhook's deliveries and offers every event found to the Receiver through
// Receiver::accept_recovered: its id memory drops what was processed live, its handlers run
// what was missing, once. The high-water mark (where the next run starts) is kept in the
// receiver's inbox when it is a CursorStore (SqliteInbox, PostgresInbox), in memory otherwise.
// Thread-safe; runs never overlap.
class Reconciler {
 public:
  // Throws std::invalid_argument for invalid settings.
  Reconciler(Receiver& receiver, std::shared_ptr<WebhooksApiClient> client,
             ReconcilerSettings settings)
      : receiver_(receiver),
        client_(std::move(client)),
        settings_(checked(std::move(settings))),
        cursors_(std::dynamic_pointer_cast<CursorStore>(receiver.inbox())),
        lookup_(std::dynamic_pointer_cast<InboxOperations>(receiver.inbox())) {
    if (!client_) throw std::invalid_argument("Reconciler: no WebhooksApiClient");
  }

  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;
  ~Reconciler() { stop(); }

  // One run over events created since `since` (moved forward to the retention window and the
  // receiver's dedupe window). Moves the high-water mark when the run is complete and `since`
  // leaves no gap behind the mark. Never throws for the API or a delivery: the report says.
  ReconcileReport reconcile(std::chrono::system_clock::time_point since) {
    return with_mark([&](const Mark& mark) { return run(since, !mark || since <= *mark); });
  }

  // One run from the high-water mark, or over the whole window when there is none.
  ReconcileReport reconcile() {
    return with_mark([&](const Mark& mark) {
      return run(mark ? *mark : receiver_.options().clock() - settings_.window, true);
    });
  }

  // Runs reconcile() now and then every `interval` on a thread of its own, each report to
  // on_report. Idempotent.
  void start() {
    std::lock_guard<std::mutex> lock(thread_mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
      detail::name_this_thread("aw-reconcile");
      background();
    });
  }

  // Waits for a running run (it may be waiting for a retry), then stops. Idempotent.
  void stop() {
    std::lock_guard<std::mutex> lock(thread_mutex_);
    {
      std::lock_guard<std::mutex> wake(wake_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Where the next reconcile() starts; nullopt before the first complete run. Throws
  // InboxStoreError when the inbox cannot be read.
  std::optional<std::chrono::system_clock::time_point> high_water_mark() {
    std::lock_guard<std::mutex> lock(run_mutex_);
    return load_mark();
  }

  // Whether the mark survives a restart (the inbox keeps it).
  bool high_water_mark_durable() const { return cursors_ != nullptr; }

  const ReconcilerSettings& settings() const { return settings_; }

 private:
  static ReconcilerSettings checked(ReconcilerSettings settings) {
    auto require = [](bool ok, const char* message) {
      if (!ok) throw std::invalid_argument(std::string("ReconcilerSettings.") + message);
    };
    require(!settings.webhook_id.empty(), "webhook_id is empty");
    require(settings.page_size >= 1, "page_size must be at least 1");
    require(settings.max_pages_per_run >= 1, "max_pages_per_run must be at least 1");
    require(settings.window.count() > 0, "window must be positive");
    require(settings.interval.count() > 0, "interval must be positive");
    require(settings.settle.count() >= 0, "settle must not be negative");
    try {
      (void)nlohmann::json::json_pointer(settings.payload_data_pointer);
    } catch (const nlohmann::json::exception&) {
      require(false, "payload_data_pointer is not a JSON pointer");
    }
    return settings;
  }

  std::string mark_key() const { return "reconcile.high_water_mark." + settings_.webhook_id; }

  std::optional<std::chrono::system_clock::time_point> load_mark() {
    std::optional<std::string> text;
    if (cursors_) {
      text = cursors_->load_cursor(mark_key());
    } else {
      text = memory_mark_;
    }
    if (!text || text->empty() || text->find_first_not_of("0123456789") != std::string::npos ||
        text->size() > 18) {
      return std::nullopt;
    }
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<
        std::chrono::system_clock::duration>(std::chrono::milliseconds(std::stoll(*text))));
  }

  void save_mark(std::chrono::system_clock::time_point mark) {
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(mark.time_since_epoch()).count();
    if (cursors_) {
      cursors_->save_cursor(mark_key(), std::to_string(millis));
    } else {
      memory_mark_ = std::to_string(millis);
    }
  }

  // The high-water mark could not be read: nothing was scanned.
  using Mark = std::optional<std::chrono::system_clock::time_point>;

  // One run at a time: loads the high-water mark and runs `plan(mark)`, or reports that the
  // mark could not be read.
  template <typename Plan>
  ReconcileReport with_mark(Plan plan) {
    std::lock_guard<std::mutex> lock(run_mutex_);
    Mark mark;
    try {
      mark = load_mark();
    } catch (const std::exception& error) {
      return failed_run(error);
    }
    return plan(mark);
  }

  ReconcileReport failed_run(const std::exception& error) const {
    ReconcileReport report;
    report.webhook_id = settings_.webhook_id;
    report.dry_run = settings_.dry_run;
    report.high_water_mark_durable = cursors_ != nullptr;
    report.error = std::string("cannot read the high-water mark: ") + error.what();
    log_report(report);
    return report;
  }

  ReconcileReport run(std::chrono::system_clock::time_point since, bool may_advance_mark) {
    const auto started = receiver_.options().clock();
    ReconcileReport report;
    report.webhook_id = settings_.webhook_id;
    report.dry_run = settings_.dry_run;
    report.high_water_mark_durable = cursors_ != nullptr;
    report.seen_unknown = settings_.dry_run && !lookup_;
    report.since = std::max(since, started - std::min<std::chrono::seconds>(
                                                 settings_.window, delivery_retention));
    // Older events may have been processed and then forgotten by the id memory: offering them
    // would run them again.
    const auto remembered_from = started - receiver_.options().dedupe_window;
    if (report.since < remembered_from) {
      report.since = remembered_from;
      report.since_limited_by_dedupe = true;
    }

    std::set<std::string> offered;  // an event has a delivery per attempt: offer it once
    std::string after;
    try {
      for (;;) {
        if (report.pages >= static_cast<std::size_t>(settings_.max_pages_per_run)) {
          report.page_limit_reached = true;
          report.error = "stopped after max_pages_per_run pages";
          break;
        }
        const auto page =
            fetch_deliveries(*client_, settings_.webhook_id, settings_.page_size, after);
        ++report.pages;
        for (const auto& delivery : page.deliveries) take(delivery, report, offered);
        if (!page.has_next_page) {
          report.complete = report.events_refused == 0;
          if (report.events_refused > 0) report.error = "the inbox refused some events";
          break;
        }
        after = page.end_cursor;
      }
    } catch (const std::exception& error) {
      report.error = error.what();  // names the request and status, never a token or payload
    }

    if (report.complete && !settings_.dry_run && may_advance_mark) {
      try {
        const auto previous = load_mark();
        const auto mark = started - settings_.settle;
        if (!previous || mark > *previous) {
          save_mark(mark);
          report.high_water_mark_advanced = true;
        }
      } catch (const std::exception& error) {
        report.error = std::string("cannot save the high-water mark: ") + error.what();
      }
    }
    log_report(report);
    return report;
  }

  void take(const WebhookDelivery& delivery, ReconcileReport& report,
            std::set<std::string>& offered) {
    ++report.deliveries_scanned;
    if (!delivery.malformed.empty()) {
      malformed(report, delivery, delivery.malformed);
      return;
    }
    if (const auto created = detail::parse_iso8601(delivery.event_created_date)) {
      if (*created < report.since) {
        ++report.deliveries_before_since;
        return;
      }
    }
    if (!offered.insert(delivery.event_id).second) return;

    auto payload = nlohmann::json::parse(delivery.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded()) {
      malformed(report, delivery, "payload is not JSON");
      return;
    }
    RecoveredEvent event{delivery.event_id, delivery.event_name, delivery.event_urn,
                         delivery.event_created_date, nullptr};
    if (settings_.payload_data_pointer.empty()) {
      event.data = std::move(payload);
    } else {
      const nlohmann::json::json_pointer pointer(settings_.payload_data_pointer);
      bool found = false;
      try {
        found = payload.contains(pointer);
      } catch (const nlohmann::json::exception&) {
      }
      if (!found) {
        malformed(report, delivery, "payload holds nothing at payload_data_pointer");
        return;
      }
      event.data = payload.at(pointer);
    }

    const FoundEvent found{delivery.event_id, delivery.event_name, delivery.event_created_date,
                           delivery.status};
    if (settings_.dry_run) {
      bool seen = false;
      if (lookup_) seen = lookup_->find(delivery.event_id).has_value();
      if (seen) {
        ++report.events_already_seen;
      } else {
        ++report.events_recovered;
        report.recovered.push_back(found);
      }
      return;
    }
    switch (receiver_.accept_recovered(event)) {
      case Acceptance::accepted:
        ++report.events_recovered;
        report.recovered.push_back(found);
        break;
      case Acceptance::duplicate: ++report.events_already_seen; break;
      case Acceptance::full:
      case Acceptance::unavailable: ++report.events_refused; break;
    }
  }

  void malformed(ReconcileReport& report, const WebhookDelivery& delivery,
                 const std::string& reason) {
    ++report.failed_to_parse;
    report.malformed.push_back({delivery.id, delivery.event_id, reason});
    receiver_.log(LogLevel::warning, "reconcile: malformed delivery skipped",
                  {{"delivery.id", delivery.id}, {"event.id", delivery.event_id},
                   {"error.type", reason}});
  }

  void log_report(const ReconcileReport& report) const {
    receiver_.log(report.error.empty() ? LogLevel::info : LogLevel::warning,
                  "reconcile run finished",
                  {{"webhook.id", report.webhook_id},
                   {"pages", report.pages},
                   {"deliveries_scanned", report.deliveries_scanned},
                   {"events_already_seen", report.events_already_seen},
                   {"events_recovered", report.events_recovered},
                   {"failed_to_parse", report.failed_to_parse},
                   {"complete", report.complete ? "true" : "false"},
                   {"error.message", report.error}});
  }

  void background() {
    for (;;) {
      auto report = reconcile();
      if (settings_.on_report) {
        try {
          settings_.on_report(report);
        } catch (...) {
          // A failing callback must not end the background runs.
        }
      }
      std::unique_lock<std::mutex> lock(wake_mutex_);
      if (wake_.wait_for(lock, settings_.interval, [this] { return stopping_; })) return;
    }
  }

  Receiver& receiver_;
  const std::shared_ptr<WebhooksApiClient> client_;
  const ReconcilerSettings settings_;
  const std::shared_ptr<CursorStore> cursors_;
  const std::shared_ptr<InboxOperations> lookup_;
  std::mutex run_mutex_;
  std::optional<std::string> memory_mark_;  // without a CursorStore
  std::mutex thread_mutex_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace allthings::webhooks::reconcile
