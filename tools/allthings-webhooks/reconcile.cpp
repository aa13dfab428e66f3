// `reconcile`: one run of the reconciler. Reads a webhook's delivery history from Allthings'
// Webhooks API, offers every event created within --since to a receiver on --inbox (its id
// memory drops the ones it has), and reports what was missing. Where the recovered events go:
//   sqlite:PATH      stored in the file, pending; the next `serve` on that file runs them. A
//                    running serve holds the file, so this runs while it is stopped.
//   postgres:...     stored in the shared inbox; the running `serve` replicas claim them.
//   memory           kept nowhere after the run: needs --print (one JSON line per event,
//                    as serve --print writes) or --dry-run.
// Exit 0 when the run was complete, 1 when it was not (the reason on stderr), 2 usage.
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include <allthings/webhooks.hpp>
#include <allthings/webhooks/reconcile.hpp>

#include "api_options.hpp"
#include "command.hpp"
#include "duration.hpp"
#include "event_json.hpp"
#include "inbox_location.hpp"
#include "scheme_presets.hpp"
#include "secrets.hpp"
#include "utc_time.hpp"

namespace allthings::webhooks::tool {

namespace {

struct ReconcileArgs {
  std::string webhook_id;
  std::string since;
  std::string inbox;
  bool dry_run = false;
  bool print = false;
  SecretSources secrets;
  std::string scheme = "allthings";
  ApiOptions api;
  std::string log_level = "warning";
};

LogLevel level_named(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "error") return LogLevel::error;
  return LogLevel::warning;
}

// What was missing (recovered, or in a dry run would be), what could not be read, the counts.
void write_report(std::ostream& out, const reconcile::ReconcileReport& report) {
  const char* found = report.dry_run ? "missing" : "recovered";
  for (const auto& event : report.recovered) {
    out << found << '\t' << event.id << '\t' << event.name << '\t' << event.created_date << '\t'
        << event.delivery_status << '\n';
  }
  for (const auto& delivery : report.malformed) {
    out << "malformed\t" << delivery.delivery_id << '\t' << delivery.event_id << '\t'
        << delivery.reason << '\n';
  }
  out << report.events_recovered << ' ' << found << (report.dry_run ? " (dry run: nothing stored)" : "")
      << ", " << report.events_already_seen << " already in the inbox, " << report.events_refused
      << " refused, " << report.failed_to_parse << " malformed; " << report.deliveries_scanned
      << " deliveries on " << report.pages << " page" << (report.pages == 1 ? "" : "s")
      << " since " << utc(report.since) << '\n';
  if (report.since_limited_by_dedupe) {
    out << "since moved forward to the inbox's dedupe window: older events may have been "
           "handled and forgotten\n";
  }
  if (report.seen_unknown) {
    out << "a memory inbox cannot tell which events were handled before: every event found is "
           "listed\n";
  }
  out << (report.complete ? "complete" : "incomplete") << '\n';
}

int run_reconcile(const ReconcileArgs& args) {
  const auto since = parse_duration(args.since, "--since");
  const auto location = InboxLocation::parse(args.inbox);
  if (args.dry_run && args.print) {
    throw UsageError("--dry-run hands no event over, so --print would print nothing");
  }
  if (!location.durable() && !args.print && !args.dry_run) {
    throw UsageError("a memory inbox keeps nothing after reconcile ends: give --print, "
                     "--dry-run, or --inbox sqlite:PATH / postgres:...");
  }
  if (location.durable() && args.print) {
    throw UsageError("with sqlite: or postgres: the recovered events wait in the inbox for "
                     "serve, which runs them; --print is for --inbox memory");
  }
  const auto client = args.api.client();

  Options options;
  options.secrets = args.secrets.read();
  options.scheme = scheme_preset(args.scheme).factory;
  options.log = json_lines_log(std::cerr);
  options.log_level = level_named(args.log_level);

  Receiver receiver(options, location.open_for_receiver());
  auto undelivered = std::make_shared<std::atomic<int>>(0);
  if (args.print) {
    auto output = std::make_shared<std::mutex>();
    receiver.on("*", [output](const Event& event) {
      const auto line = event_json(event);
      std::lock_guard<std::mutex> lock(*output);
      std::cout << line << std::endl;
      if (!std::cout) throw std::runtime_error("--print: cannot write to stdout");
    });
    receiver.on_error([undelivered](const Error& error) {
      if (error.kind == ErrorKind::undelivered_at_stop) ++*undelivered;
    });
    receiver.start();  // a durable inbox is never started here: its events are serve's to run
  }

  reconcile::ReconcilerSettings settings;
  settings.webhook_id = args.webhook_id;
  settings.dry_run = args.dry_run;
  std::optional<reconcile::ReconcileReport> report;
  {
    reconcile::Reconciler reconciler(receiver, client, settings);
    report = reconciler.reconcile(std::chrono::system_clock::now() - since);
  }
  receiver.stop();  // --print: drains what was recovered

  // With --print stdout holds only the events' JSON lines, as with serve --print.
  write_report(args.print ? std::cerr : std::cout, *report);
  std::cout.flush();
  int code = 0;
  if (!report->complete) {
    std::cerr << "allthings-webhooks reconcile: the run was not complete: " << report->error
              << '\n';
    code = 1;
  }
  if (*undelivered > 0) {
    std::cerr << "allthings-webhooks reconcile: " << *undelivered
              << " recovered event(s) were not printed before exiting\n";
    code = 1;
  }
  if (!args.dry_run && report->events_recovered > 0 && location.kind == InboxLocation::Kind::sqlite) {
    std::cerr << "allthings-webhooks reconcile: the recovered events wait in " << location.where
              << " and run at the next serve on it\n";
  }
  return code;
}

}  // namespace

Command add_reconcile(CLI::App& parent) {
  auto args = std::make_shared<ReconcileArgs>();
  CLI::App* app = parent.add_subcommand(
      "reconcile",
      "Recover events whose delivery was missed, from Allthings' delivery history (30 days). "
      "With sqlite:PATH they are stored and run by the next serve on that file (stop serve "
      "first: it holds the file); with postgres: the running serve replicas run them; with "
      "memory give --print");
  app->add_option("--webhook-id", args->webhook_id, "The webhook whose deliveries to read")
      ->required();
  app->add_option("--since", args->since,
                  "How far back: a whole number and s, m, h or d (e.g. 6h, 7d; at most 30d and "
                  "the inbox's dedupe window)")
      ->required();
  app->add_option("--inbox", args->inbox,
                  "sqlite:PATH or postgres:CONNINFO / postgres://URI (the serve's inbox), or "
                  "memory (with --print)")
      ->required();
  app->add_flag("--dry-run", args->dry_run, "List the missing events; store and run nothing");
  app->add_flag("--print", args->print,
                "--inbox memory: write each recovered event as one JSON line on stdout (as "
                "serve --print); the report then goes to stderr");
  args->secrets.add_options(*app);
  add_scheme_option(*app, args->scheme);
  args->api.add_options(*app);
  app->add_option("--log-level", args->log_level, "JSON Lines logs on stderr from this level")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  return {app, [args] { return run_reconcile(*args); }};
}

}  // namespace allthings::webhooks::tool
