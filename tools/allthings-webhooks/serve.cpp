// `serve`: a standalone receiver. It verifies, de-duplicates and stores each delivery in the
// inbox, answers 200 once stored, then hands the event to the application: --print, --exec,
// --forward (each a handler of its own, so a retry reruns only what failed). Probes and
// /metrics are served next to the webhook; SIGTERM/SIGINT drain before exiting.
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <allthings/webhooks.hpp>

#include "child_process.hpp"
#include "command.hpp"
#include "event_json.hpp"
#include "forwarder.hpp"
#include "inbox_location.hpp"
#include "scheme_presets.hpp"
#include "secrets.hpp"
#include "url.hpp"

namespace allthings::webhooks::tool {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  SecretSources secrets;
  std::string scheme = "allthings";
  std::string inbox = "memory";
  std::string path = "/webhooks/allthings";
  bool print = false;
  std::string exec;
  std::string forward;
  int handler_timeout_ms = 30000;
  std::size_t workers = 4;
  int max_attempts = 5;
  int retry_base_ms = 1000;
  int retry_max_ms = 300000;
  int drain_delay_ms = 5000;
  int drain_timeout_ms = 10000;
  std::string tls_cert;
  std::string tls_key;
  std::string log_level = "info";
};

void add_options(CLI::App& app, ServeArgs& args) {
  app.add_option("--listen", args.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  args.secrets.add_options(app);
  add_scheme_option(app, args.scheme);
  app.add_option("--inbox", args.inbox,
                 "memory (lost on exit), sqlite:PATH, postgres:CONNINFO or postgres://URI")
      ->capture_default_str();
  app.add_option("--path", args.path, "The webhook's route")->capture_default_str();
  app.add_flag("--print", args.print, "Write each event as one JSON line on stdout");
  app.add_option("--exec", args.exec,
                 "Run this /bin/sh command for each event, the event's JSON on stdin: exit 0 is "
                 "done, anything else is retried with back-off, then dead-lettered");
  app.add_option("--forward", args.forward,
                 "POST each event's body and headers, plus x-allthings-event-id, to this URL: "
                 "2xx is done, anything else is retried, then dead-lettered");
  app.add_option("--handler-timeout-ms", args.handler_timeout_ms,
                 "An --exec command or --forward request taking longer fails (and is retried)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--workers", args.workers, "Events handled at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-attempts", args.max_attempts, "Attempts before an event is dead-lettered")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--retry-base-ms", args.retry_base_ms, "First retry delay, doubled each time")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--retry-max-ms", args.retry_max_ms, "Longest retry delay")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--drain-delay-ms", args.drain_delay_ms,
                 "After SIGTERM: /readyz answers 503 and webhooks are still served this long")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--drain-timeout-ms", args.drain_timeout_ms,
                 "Then: how long running and queued events may finish before exiting")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tls-cert", args.tls_cert, "Serve HTTPS with this PEM certificate chain");
  app.add_option("--tls-key", args.tls_key, "... and this PEM private key");
  app.add_option("--log-level", args.log_level, "JSON Lines logs on stderr from this level")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
}

LogLevel log_level(const std::string& name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "warning") return LogLevel::warning;
  if (name == "error") return LogLevel::error;
  return LogLevel::info;
}

std::pair<std::string, int> host_and_port(const std::string& listen) {
  const auto colon = listen.rfind(':');
  try {
    if (colon != std::string::npos && colon > 0) {
      std::size_t used = 0;
      const int port = std::stoi(listen.substr(colon + 1), &used);
      if (used == listen.size() - colon - 1 && port >= 0 && port <= 65535) {
        return {listen.substr(0, colon), port};
      }
    }
  } catch (const std::exception&) {
  }
  throw UsageError("--listen wants HOST:PORT, got '" + listen + "'");
}

int serve(const ServeArgs& args) {
  if (!args.print && args.exec.empty() && args.forward.empty()) {
    // Acknowledged events would go nowhere.
    throw UsageError("say what to do with each event: --print, --exec CMD and/or --forward URL");
  }
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    throw UsageError("--tls-cert and --tls-key go together");
  }
  const auto [host, port] = host_and_port(args.listen);
  const auto location = InboxLocation::parse(args.inbox);
  std::optional<HttpUrl> forward_url;
  if (!args.forward.empty()) forward_url = HttpUrl::parse(args.forward, "--forward");

  Options options;
  options.secrets = args.secrets.read();
  options.scheme = scheme_preset(args.scheme).factory;
  options.path = args.path;
  options.workers = args.workers;
  options.max_attempts = args.max_attempts;
  options.retry_base_delay = std::chrono::milliseconds(args.retry_base_ms);
  options.retry_max_delay = std::chrono::milliseconds(args.retry_max_ms);
  options.drain_delay = std::chrono::milliseconds(args.drain_delay_ms);
  options.drain_timeout = std::chrono::milliseconds(args.drain_timeout_ms);
  options.tls.certificate_file = args.tls_cert;
  options.tls.private_key_file = args.tls_key;
  options.log = json_lines_log(std::cerr);
  options.log_level = log_level(args.log_level);

  const auto inbox = location.open_for_receiver();
  WebhookEndpoint endpoint(options, inbox);
  const auto timeout = std::chrono::milliseconds(args.handler_timeout_ms);
  if (args.print) {
    auto output = std::make_shared<std::mutex>();
    endpoint.on("*", [output](const Event& event) {
      const auto line = event_json(event);
      std::lock_guard<std::mutex> lock(*output);
      std::cout << line << std::endl;  // a line as soon as the event is handled
      if (!std::cout) throw std::runtime_error("--print: cannot write to stdout");
    });
  }
  if (!args.exec.empty()) {
    endpoint.on("*", [command = args.exec, timeout](const Event& event) {
      run_command(command, event_json(event) + "\n", timeout);
    });
  }
  if (forward_url) endpoint.on("*", Forwarder(*forward_url, timeout));

  auto undelivered = std::make_shared<std::atomic<int>>(0);
  endpoint.on_error([undelivered](const Error& error) {
    if (error.kind == ErrorKind::undelivered_at_stop) ++*undelivered;
  });

  endpoint.stop_on_signals();
  const int bound = endpoint.start(host, port);
  if (!location.durable()) {
    std::cerr << "allthings-webhooks serve: the memory inbox loses events that are not handled "
                 "when the process ends; use sqlite:PATH or postgres: to keep them\n";
  }
  std::cerr << "allthings-webhooks serve: listening on " << (args.tls_cert.empty() ? "http" : "https")
            << "://" << host << ':' << bound << args.path << std::endl;
  endpoint.wait();

  // A durable inbox keeps what was not handled; say so, since the next start will run it.
  if (auto* operations = dynamic_cast<InboxOperations*>(inbox.get())) {
    const auto pending = operations->count(StoredState::pending);
    if (pending > 0) {
      std::cerr << "allthings-webhooks serve: " << pending
                << " event(s) not handled yet stay in the inbox and run at the next start\n";
    }
    return 0;
  }
  if (*undelivered > 0) {
    std::cerr << "allthings-webhooks serve: " << *undelivered
              << " acknowledged event(s) were not handled before exiting and are lost (memory "
                 "inbox)\n";
    return 1;
  }
  return 0;
}

}  // namespace

Command add_serve(CLI::App& parent) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* app = parent.add_subcommand(
      "serve", "Receive webhooks: verify, de-duplicate, store, then print, run or forward each");
  add_options(*app, *args);
  return {app, [args] { return serve(*args); }};
}

}  // namespace allthings::webhooks::tool
