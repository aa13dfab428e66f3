// The process the crash test kills: an endpoint with a SqliteInbox on 127.0.0.1 whose handler
// durably records each event it runs (id, attempt and which run of the child ran it).
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/inbox/sqlite.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "crash_protocol.hpp"

namespace aw = allthings::webhooks;

namespace {

// Appends (id, attempt, run) rows to its own database, one committed transaction per event.
class ProcessedLog {
 public:
  ProcessedLog(const std::string& path, int run) : run_(run) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("cannot open log");
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode = WAL");
    // The test kills processes, not the machine: a committed row is in the OS's page cache
    // and survives SIGKILL. FULL would add an fsync per event and make the test disk-bound.
    exec("PRAGMA synchronous = NORMAL");
    exec("CREATE TABLE IF NOT EXISTS processed (id TEXT NOT NULL, attempt INTEGER NOT NULL, "
         "run INTEGER NOT NULL)");
    if (sqlite3_prepare_v2(db_, "INSERT INTO processed (id, attempt, run) VALUES (?1, ?2, ?3)",
                           -1, &insert_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
  }
  ~ProcessedLog() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  ProcessedLog(const ProcessedLog&) = delete;
  ProcessedLog& operator=(const ProcessedLog&) = delete;

  // Returns once the row is committed, so "processed" is on disk before the handler returns.
  void record(const aw::Event& event) {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_bind_text(insert_, 1, event.id().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(insert_, 2, event.attempt());
    sqlite3_bind_int(insert_, 3, run_);
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
  }

  int run_;
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: crash_child INBOX_DB PROCESSED_DB RUN\n";
    return 2;
  }
  // Blocked before any thread starts, so only sigwait below ever sees SIGTERM.
  sigset_t terminate;
  sigemptyset(&terminate);
  sigaddset(&terminate, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &terminate, nullptr);

  auto log = std::make_shared<ProcessedLog>(argv[2], std::stoi(argv[3]));
  aw::Options options;
  options.secrets = {crash::secret};
  options.workers = crash::workers;
  options.retry_base_delay = std::chrono::milliseconds(10);
  options.drain_timeout = std::chrono::seconds(5);
  auto inbox = std::make_shared<aw::SqliteInbox>(argv[1]);

  aw::WebhookEndpoint endpoint(options, inbox);
  endpoint.on_any([log](const aw::Event& event) { log->record(event); });
  endpoint.on_error([](const aw::Error& error) {
    if (error.kind == aw::ErrorKind::handler_failed) {
      std::cerr << "crash_child: handler failed: " << error.message << '\n';
    }
  });
  const int port = endpoint.start("127.0.0.1", 0);
  std::cout << "port " << port << std::endl;

  int signal_number = 0;
  sigwait(&terminate, &signal_number);
  endpoint.stop();
  std::cerr << "crash_child: stopped, commits " << inbox->commit_stats().commits
            << ", events per commit " << inbox->commit_stats().events_per_commit() << '\n';
  return 0;
}
