#pragma once

// The durable inbox's outcome log: how a worker records "event X completed" (or will be
// retried, or is a dead letter) in a few microseconds, safe against a kill of the process,
// without waiting for a SQLite commit. Each outcome is appended with one write() to a file next
// to the database; the kernel has it once write() returns. The committer later folds the
// outcomes into the database, in the same transaction as the accepts it commits anyway, and
// records the sequence number of the last one applied. Records at or below that number are
// stale and skipped when the log is read after a restart, so the log itself is never fsync'd
// and may be emptied lazily.
//
// Two files take turns: once one has grown to 64 KB, appends go to the other while the
// outcomes taken from the first are committed, and the first is emptied once everything in it
// is in the database. A record is framed by its length and a checksum, so one torn by a crash
// mid-write ends the reading of its file.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../text/json_text.hpp"

#include "outcome_record.hpp"
#include "schema.hpp"
#include "store.hpp"

namespace allthings::webhooks::detail {

class OutcomeLog {
 public:
  // The log's files for the database at `path`: "-outcomes0" and "-outcomes1" appended to its
  // canonical path, so a second path to the same file (a symlink) finds the same lock.
  static std::string base_for(const std::string& database_path) {
    std::error_code ignored;
    const auto canonical = std::filesystem::weakly_canonical(database_path, ignored);
    return (canonical.empty() ? database_path : canonical.string()) + "-outcomes";
  }

  // Opens (creating) `base` + "0" and `base` + "1" and locks them against a second inbox on
  // the same database. Throws InboxStoreError naming the file and the problem.
  explicit OutcomeLog(const std::string& base) {
    for (int i = 0; i < 2; ++i) {
      files_[i].path = base + std::to_string(i);
      files_[i].fd = ::open(files_[i].path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (files_[i].fd < 0) fail(files_[i].path, "cannot be opened");
    }
    if (::flock(files_[0].fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        close_files();
        throw inbox_file_error(files_[0].path,
                             "is locked: another SqliteInbox has this database open");
      }
      fail(files_[0].path, "cannot be locked");
    }
  }

  OutcomeLog(const OutcomeLog&) = delete;
  OutcomeLog& operator=(const OutcomeLog&) = delete;
  ~OutcomeLog() { close_files(); }

  // Every intact record in both files, in the order they were appended. For the start, before
  // any append.
  std::vector<LoggedOutcome> read_all() const {
    std::vector<LoggedOutcome> records;
    for (const auto& file : files_) read_file(file, records);
    std::sort(records.begin(), records.end(),
              [](const LoggedOutcome& a, const LoggedOutcome& b) { return a.seq < b.seq; });
    return records;
  }

  // Empties both files and numbers the next record `last_seq` + 1. For the start, once every
  // record read is in the database.
  void reset(std::uint64_t last_seq) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& file : files_) truncate(file);
    next_seq_ = last_seq + 1;
  }

  // Appends the outcome and keeps it for take(). False when it cannot be logged (the write
  // failed, leaving the file as it was; the id or reason is not UTF-8; the record would be too
  // large to read back): the caller must then commit the outcome itself. Thread-safe.
  bool append(const Outcome& outcome, std::size_t* pending_after = nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string frame;
    try {
      frame = outcome_record::encode(next_seq_, outcome);
    } catch (const nlohmann::json::exception&) {
      return false;  // replacing the bytes would log an id that matches no event
    }
    if (frame.size() - outcome_record::frame_header_bytes > outcome_record::max_record_bytes) {
      return false;
    }
    File& file = files_[current_];
    if (!write_all(file, frame)) return false;
    file.last_seq = next_seq_;
    pending_.push_back(LoggedOutcome{next_seq_++, outcome});
    if (pending_after != nullptr) *pending_after = pending_.size();
    return true;
  }

  // The outcomes appended since the last take, oldest first. Once this file is big enough to
  // be worth emptying (or cannot take appends), later appends go to the other one if it is
  // empty, so this one can be emptied once these are committed.
  std::vector<LoggedOutcome> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LoggedOutcome> taken;
    taken.swap(pending_);
    const File& current = files_[current_];
    const File& other = files_[1 - current_];
    if (other.size == 0 && !other.torn &&
        (current.size >= truncate_at_bytes || current.torn)) {
      current_ = 1 - current_;
    }
    return taken;
  }

  // The database now holds every outcome up to `seq` (durably, or at least as durably as the
  // log): a file holding nothing newer may be emptied. Records left in it are skipped when
  // read, so it is emptied only once it has grown a while, not with every commit.
  void applied(std::uint64_t seq) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& file : files_) {
      if ((file.size >= truncate_at_bytes || file.torn) && file.last_seq <= seq) truncate(file);
    }
  }

 private:
  struct File {
    std::string path;
    int fd = -1;
    std::uint64_t size = 0;      // bytes written since it was last emptied
    std::uint64_t last_seq = 0;  // of the newest record in it
    bool torn = false;           // ends in a partial record that could not be cut off
  };

  static constexpr std::uint64_t truncate_at_bytes = 64 * 1024;

  [[noreturn]] void fail(const std::string& path, const char* what) {
    const std::string reason = std::strerror(errno);
    close_files();
    throw inbox_file_error(path, what + (": " + reason));
  }

  [[noreturn]] static void fail_read(const File& file) {
    throw inbox_file_error(file.path, "cannot be read: " + std::string(std::strerror(errno)));
  }

  void close_files() {
    for (auto& file : files_) {
      if (file.fd >= 0) ::close(file.fd);
      file.fd = -1;
    }
  }

  static void read_file(const File& file, std::vector<LoggedOutcome>& records) {
    struct stat status {};
    if (::fstat(file.fd, &status) != 0) fail_read(file);
    // Up to the size at the start: no more can be appended while the log is locked.
    std::string bytes(static_cast<std::size_t>(status.st_size), '\0');
    std::size_t have = 0;
    while (have < bytes.size()) {
      const auto got = ::pread(file.fd, bytes.data() + have, bytes.size() - have,
                               static_cast<off_t>(have));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail_read(file);
      if (got == 0) break;
      have += static_cast<std::size_t>(got);
    }
    bytes.resize(have);
    outcome_record::read_frames(bytes, records);
  }

  // Under mutex_.
  static bool write_all(File& file, const std::string& frame) {
    if (file.torn) return false;
    std::size_t written = 0;
    while (written < frame.size()) {
      const auto wrote = ::write(file.fd, frame.data() + written, frame.size() - written);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) {
        // Cut off the partial record, or reading would stop there and miss later ones.
        if (written > 0 && ::ftruncate(file.fd, static_cast<off_t>(file.size)) != 0) {
          file.torn = true;  // no more appends here until the file is emptied
        }
        return false;
      }
      written += static_cast<std::size_t>(wrote);
    }
    file.size += frame.size();
    return true;
  }

  // Under mutex_ (or before any other thread uses the log). When the file cannot be emptied
  // but holds something, nothing more is appended to it: records behind old ones might not be
  // read back.
  static void truncate(File& file) {
    if (::ftruncate(file.fd, 0) == 0) {
      file.size = 0;
      file.torn = false;
      return;
    }
    struct stat status {};
    const bool empty = ::fstat(file.fd, &status) == 0 && status.st_size == 0;
    file.size = empty ? 0 : static_cast<std::uint64_t>(status.st_size);
    file.torn = !empty;
  }

  mutable std::mutex mutex_;
  File files_[2];
  int current_ = 0;  // the file appends go to
  std::uint64_t next_seq_ = 1;
  std::vector<LoggedOutcome> pending_;
};

}  // namespace allthings::webhooks::detail
