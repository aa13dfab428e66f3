#pragma once

// Thin RAII over the SQLite C API: a connection, prepared statements, one execution of a
// statement, and a write transaction. Errors become sqlite::Error carrying SQLite's code.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace allthings::webhooks::detail::sqlite {

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}

  // The extended result code, e.g. SQLITE_IOERR_FSYNC.
  int code() const noexcept { return code_; }
  // The primary result code, e.g. SQLITE_IOERR.
  int primary_code() const noexcept { return code_ & 0xff; }

 private:
  int code_;
};

[[noreturn]] inline void fail(sqlite3* db, int code, std::string_view doing) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw Error(code, std::string(doing) + ": " + message);
}

// One run of a prepared statement: bind, step, read columns. Resets the statement when it
// ends, so no read transaction outlives it (an open one would stall WAL checkpoints).
class Execution {
 public:
  Execution(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;
  ~Execution() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  // Parameters are numbered from 1. Text and blobs are not copied: they must outlive the
  // execution.
  Execution& bind(int index, std::int64_t value) {
    return check(sqlite3_bind_int64(statement_, index, value));
  }
  Execution& bind(int index, std::string_view text) {
    return check(sqlite3_bind_text(statement_, index, text.data(),
                                   static_cast<int>(text.size()), SQLITE_STATIC));
  }
  Execution& bind_blob(int index, std::string_view bytes) {
    return check(sqlite3_bind_blob(statement_, index, bytes.data(),
                                   static_cast<int>(bytes.size()), SQLITE_STATIC));
  }
  Execution& bind_null(int index) { return check(sqlite3_bind_null(statement_, index)); }

  // True when a row is available, false when the statement is done.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, sqlite3_sql(statement_));
  }

  // Runs a statement that returns no rows; returns the number of rows it changed.
  int run() {
    while (step()) {
    }
    return sqlite3_changes(db_);
  }

  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::string text(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, column));
    const int size = sqlite3_column_bytes(statement_, column);
    return data != nullptr ? std::string(data, static_cast<std::size_t>(size)) : std::string();
  }

 private:
  Execution& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc, "binding a parameter");
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* statement_;
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &statement_,
                                      nullptr);
    if (rc != SQLITE_OK) fail(db, rc, "preparing " + std::string(sql));
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    std::swap(db_, other.db_);
    std::swap(statement_, other.statement_);
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(statement_); }

  [[nodiscard]] Execution execute() { return Execution(db_, statement_); }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
};

class Connection {
 public:
  // `flags` as for sqlite3_open_v2, e.g. SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE.
  Connection(const std::string& path, int flags) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const Error error(rc, std::string("opening: ") + (db_ != nullptr ? sqlite3_errmsg(db_)
                                                                         : sqlite3_errstr(rc)));
      sqlite3_close_v2(db_);
      throw error;
    }
    sqlite3_extended_result_codes(db_, 1);
  }
  Connection(Connection&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // close_v2: statements finalized later still work out; the handle closes with the last one.
  ~Connection() { sqlite3_close_v2(db_); }

  void exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, sql);
  }

  // The first column of the first row of `sql` as an integer (0 when there is no row).
  std::int64_t query_integer(const std::string& sql) {
    Statement statement(db_, sql);
    auto execution = statement.execute();
    return execution.step() ? execution.integer(0) : 0;
  }
  std::string query_text(const std::string& sql) {
    Statement statement(db_, sql);
    auto execution = statement.execute();
    return execution.step() ? execution.text(0) : std::string();
  }

  Statement prepare(std::string_view sql) { return Statement(db_, sql); }

  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  bool read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE takes the write lock up front, so a busy database fails here (after the
// busy timeout) rather than half-way through the writes. Rolls back unless committed.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& connection) : connection_(connection) {
    connection_.exec("BEGIN IMMEDIATE");
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction() {
    // Some errors (SQLITE_FULL, SQLITE_IOERR) already rolled back; ROLLBACK would then fail.
    if (!committed_ && connection_.in_transaction()) {
      sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  void commit() {
    connection_.exec("COMMIT");
    committed_ = true;
  }

 private:
  Connection& connection_;
  bool committed_ = false;
};

}  // namespace allthings::webhooks::detail::sqlite
