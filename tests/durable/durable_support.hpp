#pragma once

// Shared pieces of the durable inbox tests: a scratch directory per test, records and options
// for an inbox, and a look at the database file through a connection of its own.
#include <allthings/webhooks/inbox/sqlite.hpp>

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "../support.hpp"

namespace test {

// A fresh directory, removed with everything in it at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aw-durable-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::shared_ptr<const aw::EventRecord> record(
    const std::string& id, const std::string& name = "ticket.created",
    const nlohmann::json& data = {{"id", "T-1"}}) {
  auto r = std::make_shared<aw::EventRecord>();
  r->id = id;
  r->name = name;
  r->raw_body = aw::testing::envelope_body(id, name, data);
  r->set_data(data);
  r->headers = {{"x-allthings-signature", "00"}, {"content-type", "application/json"}};
  r->received_at = std::chrono::system_clock::now();
  return r;
}

// Times are stored to the millisecond.
inline std::chrono::system_clock::time_point to_the_millisecond(
    std::chrono::system_clock::time_point time) {
  return std::chrono::floor<std::chrono::milliseconds>(time);
}

// Inbox options with a settable clock.
inline aw::Options inbox_options(ManualClock& clock, std::size_t capacity = 100) {
  aw::Options o = options();
  o.queue_capacity = capacity;
  o.dedupe_window = std::chrono::hours(24);
  o.clock = clock.clock();
  return o;
}

// Runs `sql` on the file through a connection of its own.
inline void run_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(std::string("run_sql failed: ") + sql);
}

// What `action` throws as a std::runtime_error; empty when it does not throw.
template <class Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return {};
}

// Reads the inbox's file through a read-only connection of its own, as a second process
// would: what it sees is committed.
class DatabaseFile {
 public:
  explicit DatabaseFile(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path);
    }
  }
  ~DatabaseFile() { sqlite3_close(db_); }
  DatabaseFile(const DatabaseFile&) = delete;
  DatabaseFile& operator=(const DatabaseFile&) = delete;

  // The first column of the first row, as text; empty when there is no row.
  std::string text(const std::string& sql, const std::string& parameter = {}) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    if (!parameter.empty()) {
      sqlite3_bind_text(statement, 1, parameter.c_str(), -1, SQLITE_TRANSIENT);
    }
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    return value;
  }

  std::string state_of(const std::string& id) {
    return text("SELECT state FROM events WHERE id = ?1", id);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Holds handlers until released, so their events stay unfinished while the test looks.
class Gate {
 public:
  void pass() {
    std::unique_lock<std::mutex> lock(mutex_);
    open_cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    open_cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_cv_;
  bool open_ = false;
};

// Starts `args[0]` with `args` and its stdout (and stderr, if `with_stderr`) on `output_fd`.
// fork and exec rather than posix_spawn: clang 14's ThreadSanitizer crashes in posix_spawn.
// Returns the child's pid, or -1.
inline pid_t start_process(std::vector<std::string> args, int output_fd, bool with_stderr) {
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec in a multi-threaded parent.
    test::restore_default_sigpipe();
    ::dup2(output_fd, STDOUT_FILENO);
    if (with_stderr) ::dup2(output_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace test
