// What "a 200 means on disk" rests on: the commit of every accept waits for an fsync of the
// write-ahead log, also right after commits that need none (outcomes, maintenance). Observed
// through a SQLite VFS that forwards to the default one and counts syncs of WAL files.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>

#include "durable_support.hpp"

namespace aw = allthings::webhooks;

namespace {

// Forwards every call to the default VFS; counts xSync on files opened as write-ahead logs.
class SyncCountingVfs {
 public:
  SyncCountingVfs() : base_(sqlite3_vfs_find(nullptr)) {
    vfs_ = *base_;
    vfs_.zName = "sync-counting";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &open;
    REQUIRE(sqlite3_vfs_register(&vfs_, /*makeDflt=*/1) == SQLITE_OK);
  }
  ~SyncCountingVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(base_, 1);
  }
  SyncCountingVfs(const SyncCountingVfs&) = delete;
  SyncCountingVfs& operator=(const SyncCountingVfs&) = delete;

  int wal_syncs() const { return wal_syncs_; }

 private:
  struct File {
    sqlite3_file header;  // pMethods: ours
    SyncCountingVfs* owner;
    bool is_wal;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };
  static File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return as_file(f)->real(); }

  static int open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out) {
    auto* self = static_cast<SyncCountingVfs*>(vfs->pAppData);
    File* file = as_file(f);
    file->header.pMethods = nullptr;
    const int rc = self->base_->xOpen(self->base_, name, file->real(), flags, out);
    if (rc != SQLITE_OK || file->real()->pMethods == nullptr) return rc;
    file->owner = self;
    file->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    static const sqlite3_io_methods methods = make_methods();
    file->header.pMethods = &methods;
    return SQLITE_OK;
  }

  static sqlite3_io_methods make_methods() {
    sqlite3_io_methods m{};
    m.iVersion = 3;
    m.xClose = [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); };
    m.xRead = [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xRead(real(f), p, n, o);
    };
    m.xWrite = [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xWrite(real(f), p, n, o);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      return real(f)->pMethods->xTruncate(real(f), size);
    };
    m.xSync = [](sqlite3_file* f, int flags) {
      if (as_file(f)->is_wal) ++as_file(f)->owner->wal_syncs_;
      return real(f)->pMethods->xSync(real(f), flags);
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return real(f)->pMethods->xFileSize(real(f), size);
    };
    m.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
    m.xUnlock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return real(f)->pMethods->xCheckReservedLock(real(f), out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return real(f)->pMethods->xFileControl(real(f), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) {
      return real(f)->pMethods->xDeviceCharacteristics(real(f));
    };
    m.xShmMap = [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
      return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
    };
    m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
    };
    m.xShmBarrier = [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); };
    m.xShmUnmap = [](sqlite3_file* f, int remove) {
      return real(f)->pMethods->xShmUnmap(real(f), remove);
    };
    m.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
      return real(f)->pMethods->xFetch(real(f), o, n, out);
    };
    m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return real(f)->pMethods->xUnfetch(real(f), o, p);
    };
    return m;
  }

  sqlite3_vfs* base_;
  sqlite3_vfs vfs_{};
  std::atomic<int> wal_syncs_{0};
};

}  // namespace

TEST_CASE("every accept is fsync'd before it returns, also after outcome and maintenance commits") {
  SyncCountingVfs vfs;
  test::ScratchDir dir;
  test::ManualClock clock;
  aw::SqliteInbox inbox(dir.file("inbox.db"));
  inbox.attach(test::inbox_options(clock));

  const auto accept_syncs = [&](const std::string& id) {
    const int before = vfs.wal_syncs();
    REQUIRE(inbox.accept(test::record(id)) == aw::Acceptance::accepted);
    return vfs.wal_syncs() - before;
  };

  CHECK(accept_syncs("a") >= 1);

  // An outcome-only commit needs no fsync; the next accept still does.
  inbox.complete(*inbox.next(0ms));
  CHECK(inbox.find("a")->state == aw::StoredState::completed);  // commits the outcome
  CHECK(accept_syncs("b") >= 1);

  // So after maintenance (here: picking up a requeued dead letter).
  inbox.complete(*inbox.next(0ms));
  inbox.accept(test::record("c"));
  inbox.dead_letter(*inbox.next(0ms), "failing");
  REQUIRE(inbox.requeue("c"));
  const auto requeued = inbox.next(2000ms);  // queued by the maintenance pass
  REQUIRE(requeued);
  CHECK(requeued->record->id == "c");
  CHECK(accept_syncs("d") >= 1);
}
