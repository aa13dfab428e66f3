// A webhook receiver ready for production, configured from the environment:
//   ALLTHINGS_WEBHOOK_SECRET   the webhook's secret (required)
//   PORT                       default 8080 (0: any free port, logged as server.port)
//   TLS_CERT_FILE TLS_KEY_FILE serve HTTPS with this certificate chain and key
//   LOG_LEVEL                  debug, info (default), warning or error
//   DRAIN_DELAY_MS             after SIGTERM, how long to keep serving (default 5000)
// It serves /livez, /readyz and /metrics next to the webhook, writes JSON Lines logs to
// stderr, and shuts down gracefully on SIGTERM or SIGINT. See "Running in production" in the
// README and docs/operations.md.
#include <allthings/webhooks.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

namespace aw = allthings::webhooks;

namespace {

std::string env(const char* name, const char* fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

aw::LogLevel log_level(const std::string& name) {
  if (name == "debug") return aw::LogLevel::debug;
  if (name == "warning") return aw::LogLevel::warning;
  if (name == "error") return aw::LogLevel::error;
  return aw::LogLevel::info;
}

}  // namespace

int main() {
  const std::string secret = env("ALLTHINGS_WEBHOOK_SECRET");
  if (secret.empty()) {
    std::cerr << "set ALLTHINGS_WEBHOOK_SECRET to the webhook's secret\n";
    return 2;
  }
  aw::Options opts;
  opts.secrets = {secret};
  opts.tls.certificate_file = env("TLS_CERT_FILE");
  opts.tls.private_key_file = env("TLS_KEY_FILE");
  opts.log = aw::json_lines_log(std::clog);
  opts.log_level = log_level(env("LOG_LEVEL", "info"));
  opts.drain_delay = std::chrono::milliseconds(std::stol(env("DRAIN_DELAY_MS", "5000")));
  // Defaults kept: /livez, /readyz and /metrics (opts.operations), a listen backlog of 128,
  // drain_timeout 10 s. For events that must survive a crash, pass a SqliteInbox
  // (<allthings/webhooks/inbox/sqlite.hpp>) as the second argument.

  try {
    aw::WebhookEndpoint endpoint(opts);  // a bad certificate or key throws here
    endpoint.on<aw::TicketCreated>([](const aw::TicketCreated& e) {
      std::cout << "new ticket " << e.ticket.id << std::endl;  // a line as soon as it happens
    });
    endpoint.on_unhandled([](const aw::Event&) {});

    endpoint.stop_on_signals();  // SIGTERM/SIGINT: /readyz 503, serve drain_delay, drain, return
    endpoint.listen("0.0.0.0", std::stoi(env("PORT", "8080")));
  } catch (const std::exception& e) {
    std::cerr << "service: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
