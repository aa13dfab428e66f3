#pragma once

#include <allthings/webhooks.hpp>
#include <allthings/webhooks/detail/http/server.hpp>

// Set by bench/CMakeLists.txt where the durable and the shared inbox can be built.
#ifndef ALLTHINGS_WEBHOOKS_BENCH_SQLITE
#define ALLTHINGS_WEBHOOKS_BENCH_SQLITE 0
#endif
#ifndef ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
#define ALLTHINGS_WEBHOOKS_BENCH_POSTGRES 0
#endif
// Set by bench/CMakeLists.txt where Node.js and npm were found: node, node_receiver.mjs, and
// the file that exists once the npm package is installed.
#ifndef ALLTHINGS_WEBHOOKS_BENCH_NODE
#define ALLTHINGS_WEBHOOKS_BENCH_NODE ""
#define ALLTHINGS_WEBHOOKS_BENCH_NODE_SCRIPT ""
#define ALLTHINGS_WEBHOOKS_BENCH_NODE_PACKAGE_STAMP ""
#define ALLTHINGS_WEBHOOKS_BENCH_NODE_PACKAGE_VERSION ""
#endif
#if ALLTHINGS_WEBHOOKS_BENCH_SQLITE
#include <allthings/webhooks/inbox/sqlite.hpp>
#endif
#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
#include <allthings/webhooks/inbox/postgres.hpp>
#endif

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "deliveries.hpp"

// The servers under test. Each runs alone in a child process of the benchmark (see
// server_process.hpp), so its resident memory is its own and every point starts from a fresh
// inbox and dedupe memory.
namespace bench {

namespace aw = allthings::webhooks;

// postgres2: two receiver processes (replicas) sharing one PostgresInbox schema, the load
// client's connections split between them. node: the Standard Webhooks reference library
// (npm's standardwebhooks) on node:http, for comparison (node_receiver.mjs).
enum class Variant { ceiling, memory, sqlite, postgres, postgres2, node };

inline constexpr Variant all_variants[] = {Variant::ceiling,  Variant::memory,    Variant::sqlite,
                                           Variant::postgres, Variant::postgres2, Variant::node};

inline const char* name_of(Variant v) {
  switch (v) {
    case Variant::ceiling: return "ceiling";
    case Variant::memory: return "memory";
    case Variant::sqlite: return "sqlite";
    case Variant::postgres: return "postgres";
    case Variant::postgres2: return "postgres2";
    case Variant::node: return "node";
  }
  return "?";
}

inline std::optional<Variant> variant_named(std::string_view name) {
  for (Variant v : all_variants) {
    if (name == name_of(v)) return v;
  }
  return std::nullopt;
}

inline bool is_postgres(Variant v) { return v == Variant::postgres || v == Variant::postgres2; }

// Receiver processes a round of the variant starts.
inline std::size_t processes_of(Variant v) { return v == Variant::postgres2 ? 2 : 1; }

inline bool is_built(Variant v) {
  switch (v) {
    case Variant::sqlite: return ALLTHINGS_WEBHOOKS_BENCH_SQLITE != 0;
    case Variant::postgres:
    case Variant::postgres2: return ALLTHINGS_WEBHOOKS_BENCH_POSTGRES != 0;
    case Variant::node: {
      const std::string stamp = ALLTHINGS_WEBHOOKS_BENCH_NODE_PACKAGE_STAMP;
      return !stamp.empty() && std::ifstream(stamp).good();
    }
    default: return true;
  }
}

// Where a durable variant's server process keeps its events, and where it writes its tally.
struct ServeTarget {
  std::string sqlite_path;
  std::string postgres_conninfo;
  std::string postgres_schema;
  std::string replica;
  std::string tally_file;  // empty: none
};

// aw::Options as a user gets them, plus the secret the deliveries are signed with.
inline aw::Options default_options() {
  aw::Options options;
  options.secrets = {bench_secret};
  return options;
}

// A field of /proc/self/status in kB, e.g. VmRSS (resident now) or VmHWM (peak resident).
inline std::size_t proc_status_kb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      return std::stoul(line.substr(field.size() + 1));
    }
  }
  return 0;
}

// Handler calls per pool index, to prove that every acknowledged event ran exactly once. The
// counters are allocated with the first event, so they are not part of the idle memory.
class DispatchTally {
 public:
  explicit DispatchTally(std::size_t events) : size_(events) {}

  void record(std::string_view event_id) {
    std::call_once(allocated_, [this] { counts_.reset(new std::atomic<std::uint32_t>[size_]()); });
    const auto index = index_of_event_id(event_id);
    if (index && *index < size_) {
      counts_[*index].fetch_add(1, std::memory_order_relaxed);
    } else {
      unexpected_.fetch_add(1, std::memory_order_relaxed);
    }
    // Release: whoever sees this call counted also sees its counter and the allocation.
    calls_.fetch_add(1, std::memory_order_release);
  }

  std::uint64_t calls() const { return calls_.load(std::memory_order_acquire); }

  // The calls per pool index, and last the calls for no pool index.
  std::vector<std::uint32_t> counts() const {
    std::vector<std::uint32_t> out(size_ + 1, 0);
    for (std::size_t i = 0; i < size_ && counts_; ++i) out[i] = counts_[i].load();
    out[size_] = static_cast<std::uint32_t>(unexpected_.load());
    return out;
  }

  // key=value pairs comparing what ran with what the client saw: every index below `sent`
  // that was answered 2xx must have run once (`once`; otherwise `missing` or `repeated`), and
  // nothing else may have run (`unexpected`: refused with a non-2xx, unanswered, or never sent).
  // `counts` as counts() makes them, summed over the processes that ran the events.
  static std::string check(const std::vector<std::uint32_t>& counts, std::size_t sent,
                           const std::unordered_set<std::size_t>& not_2xx) {
    const std::size_t size = counts.empty() ? 0 : counts.size() - 1;
    std::uint64_t calls = 0, once = 0, missing = 0, repeated = 0;
    std::uint64_t unexpected = counts.empty() ? 0 : counts[size];
    for (const auto n : counts) calls += n;
    for (std::size_t i = 0; i < size; ++i) {
      const auto n = counts[i];
      if (i >= sent || not_2xx.count(i)) {
        unexpected += n;
      } else if (n == 1) {
        ++once;
      } else if (n == 0) {
        ++missing;
      } else {
        ++repeated;
      }
    }
    std::ostringstream out;
    out << "calls=" << calls << " once=" << once << " missing=" << missing
        << " repeated=" << repeated << " unexpected=" << unexpected;
    return out.str();
  }

 private:
  std::size_t size_;
  std::once_flag allocated_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> unexpected_{0};
};

class ServedVariant {
 public:
  virtual ~ServedVariant() = default;
  // Starts serving on 127.0.0.1 and returns the port once connections are accepted.
  virtual int start() = 0;
  // What the server saw, as key=value pairs, once the events the client saw acknowledged were
  // dispatched (or a bounded wait for them ran out): pool indices below `sent`, except
  // `not_2xx`.
  virtual std::string report(std::size_t sent, const std::unordered_set<std::size_t>& not_2xx) = 0;
};

// The ceiling: a plain cpp-httplib server (its own thread pool of http_threads, one thread per
// connection) with the settings WebhookEndpoint gives its server, and a route that answers
// every POST 200 with the same reply body and does nothing else. WebhookEndpoint's own
// connection handling (GuardedServer) is part of what is measured against it.
class CeilingServer final : public ServedVariant {
 public:
  explicit CeilingServer(const aw::Options& o) {
    const auto threads = o.http_threads;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    aw::detail::configure_server(server_, o);
    server_.Post(aw::detail::escape_regex(o.path),
                 [](const httplib::Request&, httplib::Response& res) {
                   res.status = 200;
                   res.set_content(std::string(aw::replies::accepted.body), "application/json");
                 });
  }

  ~CeilingServer() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  int start() override {
    const int port = server_.bind_to_any_port("127.0.0.1");
    if (port < 0) throw std::runtime_error("ceiling server cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return port;
  }

  std::string report(std::size_t, const std::unordered_set<std::size_t>&) override { return {}; }

 private:
  httplib::Server server_;
  std::thread thread_;
};

// WebhookEndpoint with default options and one no-op handler that only tallies the event id.
class EndpointServer final : public ServedVariant {
 public:
  EndpointServer(const aw::Options& o, std::shared_ptr<aw::Inbox> inbox, std::size_t events,
                 std::string tally_file = {})
      : inbox_(inbox),
        tally_(events),
        tally_file_(std::move(tally_file)),
        endpoint_(o, std::move(inbox)) {
    endpoint_.on("ticket.created", [this](const aw::Event& e) { tally_.record(e.id()); });
  }

  int start() override { return endpoint_.start("127.0.0.1", 0); }

  std::string report(std::size_t sent, const std::unordered_set<std::size_t>& not_2xx) override {
    const auto acknowledged = sent - std::min(sent, not_2xx.size());
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    // A shared inbox's events may run in another process: wait until its queue is empty.
    const bool shared = inbox_ && inbox_->orders_by_key();
    while ((shared ? inbox_->depth() > 0 : tally_.calls() < acknowledged) &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // A repeated dispatch would come after the first one: give it a moment to show.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto counts = tally_.counts();
    if (!tally_file_.empty()) {
      std::ofstream(tally_file_, std::ios::binary | std::ios::trunc)
          .write(reinterpret_cast<const char*>(counts.data()),
                 static_cast<std::streamsize>(counts.size() * sizeof counts[0]));
    }
    const auto stats = endpoint_.stats();
    std::ostringstream out;
    out << DispatchTally::check(counts, sent, not_2xx) << " accepted=" << stats.accepted
        << " duplicates=" << stats.duplicates << " rejected=" << stats.rejected
        << " queue_full=" << stats.errors_of(aw::ErrorKind::queue_full)
        << " inbox_unavailable=" << stats.errors_of(aw::ErrorKind::inbox_unavailable);
#if ALLTHINGS_WEBHOOKS_BENCH_SQLITE
    if (const auto* durable = dynamic_cast<const aw::SqliteInbox*>(inbox_.get())) {
      out << " events_per_commit=" << durable->commit_stats().events_per_commit();
    }
#endif
#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
    if (const auto* shared = dynamic_cast<const aw::PostgresInbox*>(inbox_.get())) {
      const auto pg = shared->stats();
      out << " events_per_commit=" << pg.events_per_commit() << " claims=" << pg.claims
          << " fenced=" << pg.fenced_outcomes;
    }
#endif
    return out.str();
  }

 private:
  std::shared_ptr<aw::Inbox> inbox_;  // null for the default MemoryInbox
  DispatchTally tally_;
  std::string tally_file_;
  aw::WebhookEndpoint endpoint_;
};

inline std::unique_ptr<ServedVariant> make_served(Variant variant, std::size_t events,
                                                  [[maybe_unused]] const ServeTarget& target) {
  const aw::Options options = default_options();
  switch (variant) {
    case Variant::ceiling:
      return std::make_unique<CeilingServer>(options);
    case Variant::memory:
      return std::make_unique<EndpointServer>(options, nullptr, events);
    case Variant::sqlite: {
#if ALLTHINGS_WEBHOOKS_BENCH_SQLITE
      return std::make_unique<EndpointServer>(
          options, std::make_shared<aw::SqliteInbox>(target.sqlite_path), events);
#else
      throw std::runtime_error("this build has no durable inbox (SqliteInbox)");
#endif
    }
    case Variant::node:
      throw std::logic_error("the node variant runs node_receiver.mjs, not --serve");
    case Variant::postgres:
    case Variant::postgres2: {
#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
      // PostgresInbox defaults, but for the schema and the replica's name.
      aw::PostgresInboxSettings settings;
      settings.schema = target.postgres_schema;
      settings.replica_name = target.replica;
      return std::make_unique<EndpointServer>(
          options, std::make_shared<aw::PostgresInbox>(target.postgres_conninfo, settings), events,
          target.tally_file);
#else
      throw std::runtime_error("this build has no PostgresInbox");
#endif
    }
  }
  throw std::logic_error("unknown variant");
}

// The child process's main: serve, then answer the parent's commands on stdin with one line
// each on stdout.
//   (start)          -> "ready port=P idle_rss_kb=R"
//   "report SENT [INDEX...]" (the indices not answered 2xx)
//                    -> "report <variant's key=value pairs> rss_kb=R hwm_kb=H"
//   end of input     -> stop and exit
inline int serve(Variant variant, std::size_t events, const ServeTarget& target) {
  auto served = make_served(variant, events, target);
  const int port = served->start();
  // Idle means every pool thread and worker has started and is waiting.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::cout << "ready port=" << port << " idle_rss_kb=" << proc_status_kb("VmRSS") << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream command(line);
    std::string verb;
    std::size_t sent = 0;
    command >> verb >> sent;
    if (verb != "report") continue;
    std::unordered_set<std::size_t> not_2xx;
    for (std::size_t index = 0; command >> index;) not_2xx.insert(index);
    const std::string pairs = served->report(sent, not_2xx);
    std::cout << "report " << pairs << (pairs.empty() ? "" : " ")
              << "rss_kb=" << proc_status_kb("VmRSS") << " hwm_kb=" << proc_status_kb("VmHWM")
              << std::endl;
  }
  served.reset();
  return 0;
}

}  // namespace bench
