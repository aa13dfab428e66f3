// The process the graceful-shutdown test sends SIGTERM to: an endpoint on 127.0.0.1 that stops
// on signals, with a memory or (where built with SQLite) a durable inbox, whose handler appends
// each event's id to a file. Its log goes to stderr as JSON Lines.
//   shutdown_child memory|sqlite INBOX_DB PROCESSED_FILE DRAIN_DELAY_MS DRAIN_TIMEOUT_MS
//                  HANDLER_MS
// Prints "port <n>" once it serves, and exits 0 once stopped.
#include <allthings/webhooks.hpp>
#ifdef ALLTHINGS_WEBHOOKS_WITH_SQLITE
#include <allthings/webhooks/inbox/sqlite.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

namespace aw = allthings::webhooks;

namespace {

// One write() per record, so that lines from several threads never interleave.
void write_line(int fd, std::string line) {
  line += '\n';
  [[maybe_unused]] const auto written = ::write(fd, line.data(), line.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: shutdown_child memory|sqlite INBOX_DB PROCESSED_FILE DRAIN_DELAY_MS "
                 "DRAIN_TIMEOUT_MS HANDLER_MS\n";
    return 2;
  }
  const std::string mode = argv[1];
  const int processed = ::open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const auto handler_time = std::chrono::milliseconds(std::stoi(argv[6]));

  aw::Options options;
  options.secrets = {"whsec_shutdown_test"};
  options.workers = 2;
  // Small enough that slow handlers leave a queue to drain when the signal comes, and that it
  // drains within drain_timeout; beyond it deliveries get 503 (queue_full).
  options.queue_capacity = 500;
  options.drain_delay = std::chrono::milliseconds(std::stoi(argv[4]));
  options.drain_timeout = std::chrono::milliseconds(std::stoi(argv[5]));
  options.keep_alive_timeout = std::chrono::seconds(1);
  options.log_level = aw::LogLevel::info;
  options.log = [](aw::LogLevel level, std::string_view message,
                   const std::vector<aw::LogField>& fields) {
    write_line(STDERR_FILENO,
               aw::json_log_line(std::chrono::system_clock::now(), level, message, fields));
  };

  std::shared_ptr<aw::Inbox> inbox;
#ifdef ALLTHINGS_WEBHOOKS_WITH_SQLITE
  if (mode == "sqlite") inbox = std::make_shared<aw::SqliteInbox>(argv[2]);
#endif
  if (mode != "memory" && !inbox) {
    std::cerr << "shutdown_child: this build has no inbox '" << mode << "'\n";
    return 2;
  }

  aw::WebhookEndpoint endpoint(options, inbox);
  endpoint.on_any([processed, handler_time](const aw::Event& event) {
    std::this_thread::sleep_for(handler_time);
    write_line(processed, event.id());
  });
  endpoint.stop_on_signals();
  const int port = endpoint.start("127.0.0.1", 0);
  write_line(STDOUT_FILENO, "port " + std::to_string(port));
  endpoint.wait();
  write_line(STDOUT_FILENO, "exiting");
  return 0;
}
