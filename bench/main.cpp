// allthings_webhooks_bench: how fast WebhookEndpoint receives deliveries, measured against a
// bare cpp-httplib server with the same settings in the same run, plus a micro-benchmark of the
// request path without sockets. Run with --help for the flags.
#include <allthings/webhooks.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
#include <libpq-fe.h>

#include "../tests/postgres/temporary_server.hpp"
#endif

#include "allocation_counter.hpp"
#include "deliveries.hpp"
#include "interference.hpp"
#include "load_client.hpp"
#include "micro.hpp"
#include "served.hpp"
#include "server_process.hpp"
#include "syscall_counter.hpp"
#include "wrk_driver.hpp"

namespace {

namespace aw = allthings::webhooks;
using bench::Variant;

constexpr const char* usage = R"(allthings_webhooks_bench: how fast WebhookEndpoint receives webhooks

Measures, in one run, over loopback HTTP/1.1 keep-alive connections:
  ceiling  a bare cpp-httplib server with WebhookEndpoint's thread pool and keep-alive
           settings (aw::Options defaults) that answers every POST 200 and does nothing else
  memory   WebhookEndpoint, default Options and in-memory inbox, one no-op handler
  sqlite   WebhookEndpoint with the durable SqliteInbox (only in builds that have it)
  postgres WebhookEndpoint with the shared PostgresInbox (only in builds with libpq), on a
           PostgreSQL server the benchmark starts itself (Debian's postgresql package)
  postgres2  the same with two receiver processes (replicas) on one queue, the connections
           split between them
  node     for comparison: npm's standardwebhooks (the Standard Webhooks reference library)
           verifying each delivery on node:http, where CMake found node and npm and the
           package was installed (cmake --build <dir> --target
           allthings_webhooks_bench_node_packages); its deliveries are signed the Standard
           Webhooks way. Target: the in-memory endpoint at 3 x its requests/s
at each connection count, sending unique, signed ~1.1 KB ticket.created deliveries that are
built before timing. Each round runs against a fresh server process, whose resident memory is
reported. Then a micro-benchmark runs the request path (verify + parse + accept) without
sockets on one thread, and another each scheme preset's verify step alone. Finally the
targets are printed as PASS/FAIL lines.

Usage: allthings_webhooks_bench [options]
  --seconds S          measured seconds per round (default 1.5)
  --warmup S           unmeasured seconds before each round (default 0.5)
  --rounds N           rounds per point, interleaved with the other servers; a point shows
                       its median round and lists all of them (default 4)
  --connections LIST   concurrent connections, comma-separated (default 1,16,64)
  --client-threads N   threads of the built-in load client (default 2)
  --variants LIST      servers to measure, comma-separated:
                       ceiling,memory,sqlite,postgres,postgres2,node (default: every one
                       this build has; the postgres ones only where the server programs are
                       found)
  --sqlite-dir DIR     directory for the durable inbox's database files (default: the
                       system's temporary directory); each point uses a new file, removed after
  --postgres-conninfo S  measure against this PostgreSQL server instead of starting one (each
                       round uses a new schema, dropped after)
  --micro-events N     deliveries for the micro-benchmarks (default 200000; the Ed25519
                       preset verifies a twentieth of them)
  --micro-batch N      deliveries between two untimed inbox drains (default 16)
  --no-micro           skip the micro-benchmark
  --syscalls           also count the servers' system calls per request (futex, poll,
                       epoll_(p)wait, recvfrom, read, sendto, write, writev, and SQLite's
                       pwrite64, pread64, fdatasync, fsync, fcntl) with perf stat on
                       the syscalls tracepoints, where perf is allowed to (usually as root);
                       tracing slows the rounds, so use it for the breakdown, not the ratios
  --no-client-check    skip the load client check: the ceiling driven by the built-in client
                       and by wrk -t1 (Debian's wrk; skipped when it is not installed) in
                       interleaved rounds, to show which client saturates first
  --memory-events N    unique events sent to one fresh in-memory endpoint (default Options) to
                       report its resident memory with the dedupe memory full (default
                       1000000, Options' dedupe_capacity; 0 skips it)
  --micro-only         run only the micro-benchmark
  --help               this text

Verdicts are UNSURE instead of PASS/FAIL when every round behind them was disturbed (other
processes used 10% or more of the CPUs meanwhile). Exit status: 0 when every measured target
passed, 1 when one failed, 3 when none failed but one was unsure, 2 when the benchmark could
not run. Internal: --serve VARIANT --events N [--sqlite-path FILE] [--postgres-conninfo S
--postgres-schema S --replica NAME --tally-file FILE] is how the benchmark starts its server
processes.
)";

struct Flags {
  double seconds = 1.5;
  double warmup = 0.5;
  std::vector<std::size_t> connections{1, 16, 64};
  // One thread drove the ceiling at 64 connections to only 0.86 of wrk -t1 in one run (the
  // load client check); two reached 1.12-1.24 of it (docs/performance.md).
  std::size_t client_threads = 2;
  std::size_t rounds = 4;
  std::vector<Variant> variants;
  std::string sqlite_dir = std::filesystem::temp_directory_path().string();
  std::size_t micro_events = 200000;
  std::size_t micro_batch = 16;
  std::size_t memory_events = aw::Options{}.dedupe_capacity;
  bool http = true;
  bool micro = true;
  bool client_check = true;
  bool count_syscalls = false;

  std::string postgres_conninfo;

  std::optional<Variant> serve;
  std::size_t serve_events = 0;
  bench::ServeTarget target;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::size_t positive_count(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  const unsigned long long value = std::stoull(text, &used);
  if (used != text.size() || value == 0) {
    throw std::invalid_argument(flag + " needs a positive whole number, not '" + text + "'");
  }
  return static_cast<std::size_t>(value);
}

double positive_seconds(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  const double value = std::stod(text, &used);
  if (used != text.size() || !(value > 0) || value > 600) {
    throw std::invalid_argument(flag + " needs seconds between 0 and 600, not '" + text + "'");
  }
  return value;
}

Flags parse_flags(int argc, char** argv) {
  Flags f;
  for (Variant v : bench::all_variants) {
    if (bench::is_built(v)) f.variants.push_back(v);
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto take_value = [&]() -> const std::string& {
      if (value.empty()) {
        if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
        value = args[++i];
      }
      return value;
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (flag == "--seconds") {
      f.seconds = positive_seconds(flag, take_value());
    } else if (flag == "--warmup") {
      f.warmup = positive_seconds(flag, take_value());
    } else if (flag == "--connections") {
      f.connections.clear();
      for (const auto& c : split_commas(take_value())) {
        const auto n = positive_count(flag, c);
        if (n > 1000) throw std::invalid_argument("--connections: at most 1000 per point");
        f.connections.push_back(n);
      }
    } else if (flag == "--rounds") {
      f.rounds = positive_count(flag, take_value());
    } else if (flag == "--client-threads") {
      f.client_threads = positive_count(flag, take_value());
    } else if (flag == "--variants") {
      f.variants.clear();
      for (const auto& name : split_commas(take_value())) {
        const auto v = bench::variant_named(name);
        if (!v) throw std::invalid_argument("--variants: unknown server '" + name + "'");
        if (!bench::is_built(*v)) {
          throw std::invalid_argument(
              "--variants: this build has no '" + name + "' variant" +
              (*v == Variant::node && std::string_view(ALLTHINGS_WEBHOOKS_BENCH_NODE) != ""
                   ? " yet: install its package with cmake --build <build folder> --target "
                     "allthings_webhooks_bench_node_packages"
                   : ""));
        }
        f.variants.push_back(*v);
      }
    } else if (flag == "--sqlite-dir") {
      f.sqlite_dir = take_value();
    } else if (flag == "--micro-events") {
      f.micro_events = positive_count(flag, take_value());
    } else if (flag == "--micro-batch") {
      f.micro_batch = positive_count(flag, take_value());
    } else if (flag == "--memory-events") {
      const auto& text = take_value();
      f.memory_events = text == "0" ? 0 : positive_count(flag, text);
    } else if (flag == "--no-client-check") {
      f.client_check = false;
    } else if (flag == "--syscalls") {
      f.count_syscalls = true;
    } else if (flag == "--no-micro") {
      f.micro = false;
    } else if (flag == "--micro-only") {
      f.http = false;
    } else if (flag == "--serve") {
      f.serve = bench::variant_named(take_value());
      if (!f.serve) throw std::invalid_argument("--serve: unknown server '" + value + "'");
    } else if (flag == "--events") {
      f.serve_events = positive_count(flag, take_value());
    } else if (flag == "--sqlite-path") {
      f.target.sqlite_path = take_value();
    } else if (flag == "--postgres-conninfo") {
      f.postgres_conninfo = take_value();
      f.target.postgres_conninfo = f.postgres_conninfo;
    } else if (flag == "--postgres-schema") {
      f.target.postgres_schema = take_value();
    } else if (flag == "--replica") {
      f.target.replica = take_value();
    } else if (flag == "--tally-file") {
      f.target.tally_file = take_value();
    } else {
      throw std::invalid_argument("unknown option '" + args[i] + "' (see --help)");
    }
  }
  const aw::Options defaults;
  if (f.micro_batch > defaults.queue_capacity) {
    throw std::invalid_argument("--micro-batch must not exceed queue_capacity (" +
                                std::to_string(defaults.queue_capacity) + ")");
  }
  return f;
}

// "12,345" for counts in tables.
std::string grouped(double value) {
  auto text = std::to_string(static_cast<long long>(value + 0.5));
  for (int at = static_cast<int>(text.size()) - 3; at > 0; at -= 3) {
    text.insert(static_cast<std::size_t>(at), ",");
  }
  return text;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string first_line_of(const char* path, const std::string& prefix = "") {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) return line.substr(prefix.size());
  }
  return "?";
}

void print_setup(const Flags& f, const bench::RequestPool& pool) {
  const aw::Options o;
  std::string cpu = first_line_of("/proc/cpuinfo", "model name\t: ");
  std::cout << "allthings-webhooks " << ALLTHINGS_WEBHOOKS_VERSION_STRING << " benchmark\n"
            << "  machine: " << std::thread::hardware_concurrency() << " CPUs (" << cpu
            << "), load average at start " << first_line_of("/proc/loadavg") << "\n"
            << "  build: g++ " << __VERSION__
#ifdef __OPTIMIZE__
            << " optimised"
#else
            << " NOT OPTIMISED (figures are meaningless)"
#endif
            << ", cpp-httplib " << CPPHTTPLIB_VERSION << ", nlohmann/json "
            << NLOHMANN_JSON_VERSION_MAJOR << "." << NLOHMANN_JSON_VERSION_MINOR << "."
            << NLOHMANN_JSON_VERSION_PATCH << ", " << OpenSSL_version(OPENSSL_VERSION) << "\n"
            << "  server settings (aw::Options defaults, used by every server): http_threads="
            << o.http_threads << " keep_alive_max_count=" << o.keep_alive_max_count
            << " keep_alive_timeout=" << o.keep_alive_timeout.count()
            << "s; endpoint workers=" << o.workers << " queue_capacity=" << o.queue_capacity
            << "; durable endpoint (sqlite): the same, SqliteInbox defaults; shared "
               "(postgres, postgres2): the same, PostgresInbox defaults\n";
  if (std::find(f.variants.begin(), f.variants.end(), Variant::node) != f.variants.end()) {
    std::cout << "  node: standardwebhooks " << ALLTHINGS_WEBHOOKS_BENCH_NODE_PACKAGE_VERSION
              << " on node:http (" << ALLTHINGS_WEBHOOKS_BENCH_NODE
              << ", one process, keepAliveTimeout 5 s); its deliveries carry webhook-id, "
                 "webhook-timestamp and a v1 webhook-signature instead of Allthings' headers\n";
  }
  if (!f.http) return;
  const auto sizes = pool.body_sizes();
  std::cout << "  load: built-in epoll keep-alive client, " << f.client_threads
            << " thread(s), closed loop; " << fixed(f.warmup, 1) << " s warm-up + "
            << fixed(f.seconds, 1) << " s measured per round, " << f.rounds
            << " rounds per point, each round a fresh server process\n"
            << "  deliveries: unique ticket.created bodies of " << sizes.min << ".." << sizes.max
            << " bytes (mean " << fixed(sizes.mean, 0)
            << "), HMAC-SHA256 signed before timing, each sent once per point\n";
}

// A round in which other tenants used this share of the CPUs (or more) measured them as much
// as the server; its figures are not trusted for a verdict.
constexpr double disturbed_share = 0.10;

// The lower of the middle two for an even count, as Series::median_round() picks; 0 for none.
double lower_middle(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

// The mean of the middle two for an even count; 0 for none.
double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct Point {
  Variant variant;
  std::size_t connections = 0;
  bench::LoadResult load;
  bench::Fields ready;
  bench::Fields report;
  double others = 0;  // share of all CPUs other tenants used during the load
  double server_cpu_us = 0;  // CPU time of the server process(es) per request sent, microseconds
  double db_cpu_us = 0;      // CPU time of the PostgreSQL server per request sent, microseconds
  double server_switches = 0;  // context switches of the server process(es) per request sent
  // System calls of the server process(es) per request sent, by name; empty when not counted.
  std::map<std::string, double> syscalls_per_request{};
  // The server processes' CPU time per request sent by thread name (aw-http, aw-worker...),
  // microseconds: what each stage of the receiver costs.
  std::map<std::string, double> cpu_us_by_thread{};

  double rps() const { return load.requests_per_second(); }
  bool disturbed() const { return others >= disturbed_share; }
  bool has_dispatch_check() const { return variant != Variant::ceiling; }

  bool all_answered_2xx() const {
    return load.answered_2xx == load.sent && load.answered_other == 0 && load.failed == 0 &&
           load.connect_failures == 0 && load.sent > 0;
  }
  std::uint64_t field(const char* key) const {
    const auto it = report.find(key);
    return it == report.end() ? 0 : std::stoull(it->second);
  }
  // Every event answered 2xx ran once; nothing refused, unanswered or unsent ran.
  bool dispatched_exactly_once() const {
    if (!has_dispatch_check()) return true;
    const auto acknowledged = load.sent - load.not_2xx.size();
    return field("once") == acknowledged && field("missing") == 0 && field("repeated") == 0 &&
           field("unexpected") == 0 && field("calls") == acknowledged;
  }
};

double megabytes(const bench::Fields& fields, const char* key) {
  const auto it = fields.find(key);
  return it == fields.end() ? 0 : std::stod(it->second) / 1024.0;
}

// The PostgreSQL server the postgres variants use: its connection string, and its processes
// (their CPU time is the database's share of a round, not interference). The postmaster's
// children are looked up at the end of a round as well as at its start: the receiver opens
// its accept connections on the first accept, so their backends start during the load.
struct Database {
  std::string conninfo;
  pid_t postmaster = -1;  // -1: not ours to watch (--postgres-conninfo)

  // CPU ticks of the server's processes, by pid.
  std::map<std::string, unsigned long long> ticks() const {
    return bench::detail::family_ticks(postmaster);
  }
};

void drop_schema(const Database& database, const std::string& schema) {
#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
  PGconn* conn = PQconnectdb(database.conninfo.c_str());
  if (PQstatus(conn) == CONNECTION_OK) {
    // Without this, each drop prints a NOTICE listing the tables it took, amid the figures.
    PQclear(PQexec(conn, "SET client_min_messages = warning"));
    PQclear(PQexec(conn, ("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE").c_str()));
  }
  PQfinish(conn);
#else
  (void)database;
  (void)schema;
#endif
}

// Sums the tally files of a round's server processes (see DispatchTally::counts).
std::vector<std::uint32_t> merged_tallies(const std::vector<std::string>& files) {
  std::vector<std::uint32_t> sum;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint32_t> counts;
    std::uint32_t n = 0;
    while (in.read(reinterpret_cast<char*>(&n), sizeof n)) counts.push_back(n);
    if (sum.size() < counts.size()) sum.resize(counts.size(), 0);
    for (std::size_t i = 0; i < counts.size(); ++i) sum[i] += counts[i];
  }
  return sum;
}

// Measures one round of one server variant at one connection count, against new server
// processes. The pool first grows (untimed) to what the fastest round so far could send; a
// round that still runs out is measured again with more.
Point measure(Variant variant, std::size_t connections, bench::RequestPool& pool, const Flags& f,
              double& fastest_rps, const Database& database) {
  static std::size_t point_number = 0;
  ++point_number;
  for (int attempt = 1;; ++attempt) {
    const double send_seconds = f.warmup + f.seconds;
    const auto needed =
        static_cast<std::size_t>(std::max(20000.0, fastest_rps * send_seconds * 1.5 * attempt));
    if (pool.size() < needed) pool.grow_to(needed);
    pool.stamp(std::chrono::system_clock::now());

    const std::string name = "allthings-webhooks-bench-" + std::to_string(::getpid()) + "-" +
                             std::to_string(point_number) + "-" + std::to_string(attempt);
    const std::string db = f.sqlite_dir + "/" + name + ".db";
    const std::string schema = "bench_" + std::to_string(::getpid()) + "_" +
                               std::to_string(point_number) + "_" + std::to_string(attempt);
    std::vector<std::string> tallies;
    Point point{variant, connections, {}, {}, {}};
    {
      std::vector<std::unique_ptr<bench::ServerProcess>> servers;
      bench::LoadSettings settings;
      // Each process is ready before the next starts (replicas set up their schema in turn).
      for (std::size_t p = 0; p < bench::processes_of(variant); ++p) {
        if (variant == Variant::node) {
          servers.push_back(std::make_unique<bench::ServerProcess>(
              ALLTHINGS_WEBHOOKS_BENCH_NODE,
              std::vector<std::string>{ALLTHINGS_WEBHOOKS_BENCH_NODE_SCRIPT, "--events",
                                       std::to_string(pool.size()), "--secret",
                                       bench::bench_standard_webhooks_secret, "--path",
                                       aw::Options{}.path}));
        } else {
          std::vector<std::string> args{"--serve",       bench::name_of(variant),
                                        "--events",      std::to_string(pool.size()),
                                        "--sqlite-path", db};
          if (bench::is_postgres(variant)) {
            tallies.push_back(db + ".tally" + std::to_string(p));
            args.insert(args.end(), {"--postgres-conninfo", database.conninfo,
                                     "--postgres-schema", schema, "--replica",
                                     "replica-" + std::to_string(p), "--tally-file",
                                     tallies.back()});
          }
          servers.push_back(std::make_unique<bench::ServerProcess>(args));
        }
        const auto ready = servers.back()->await("ready", std::chrono::seconds(60));
        if (p == 0) point.ready = ready;
        settings.ports.push_back(std::stoi(ready.at("port")));
      }
      std::vector<pid_t> server_pids;
      for (const auto& server : servers) server_pids.push_back(server->pid());
      settings.connections = connections;
      settings.threads = f.client_threads;
      settings.warmup = std::chrono::duration<double>(f.warmup);
      settings.measured = std::chrono::duration<double>(f.seconds);
      // Started first, so that perf's own CPU time counts as ours, not as another tenant's.
      std::optional<bench::SyscallCounter> syscalls;
      if (f.count_syscalls) syscalls.emplace(server_pids);
      std::vector<pid_t> ours = server_pids;
      ours.push_back(::getpid());
      if (syscalls && syscalls->pid() > 0) ours.push_back(syscalls->pid());
      const bench::InterferenceMeter meter(ours, database.postmaster);
      const auto server_ticks = bench::detail::ticks_of(server_pids);
      const auto server_switches = bench::detail::context_switches_of(server_pids);
      const auto server_threads = bench::detail::thread_cpu_of(server_pids);
      const auto db_ticks = database.ticks();
      point.load = bench::run_load(pool, settings);
      point.others = meter.others_share();  // before perf exits and its time can't be read
      if (syscalls && point.load.sent > 0) {
        for (const auto& [name, calls] : syscalls->stop()) {
          point.syscalls_per_request[name] =
              static_cast<double>(calls) / static_cast<double>(point.load.sent);
        }
      }
      if (point.load.sent > 0) {
        const double per_request = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK)) /
                                   static_cast<double>(point.load.sent);
        point.server_cpu_us =
            static_cast<double>(bench::detail::ticks_of(server_pids) - server_ticks) * per_request;
        point.db_cpu_us =
            static_cast<double>(bench::detail::growth(db_ticks, database.ticks())) * per_request;
        for (const auto& [name, ns] : bench::detail::run_ns_by_thread_name(
                 server_threads, bench::detail::thread_cpu_of(server_pids))) {
          point.cpu_us_by_thread[name] =
              static_cast<double>(ns) / 1e3 / static_cast<double>(point.load.sent);
        }
        point.server_switches =
            static_cast<double>(bench::detail::context_switches_of(server_pids) - server_switches) /
            static_cast<double>(point.load.sent);
      }
      std::string report = "report " + std::to_string(point.load.sent);
      for (const auto index : point.load.not_2xx) report += " " + std::to_string(index);
      for (const auto& server : servers) server->send_line(report);
      for (std::size_t p = 0; p < servers.size(); ++p) {
        const auto fields = servers[p]->await("report", std::chrono::seconds(90));
        if (p == 0) point.report = fields;
      }
      if (!tallies.empty()) {
        // The events ran in whichever process claimed them: check them all together.
        const std::unordered_set<std::size_t> not_2xx(point.load.not_2xx.begin(),
                                                      point.load.not_2xx.end());
        for (const auto& [key, value] : bench::parse_fields(
                 "merged " +
                 bench::DispatchTally::check(merged_tallies(tallies), point.load.sent, not_2xx))) {
          point.report[key] = value;
        }
      }
    }
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-outcomes0", "-outcomes1"}) {
      std::error_code ignored;
      std::filesystem::remove(db + suffix, ignored);
    }
    for (const auto& tally : tallies) {
      std::error_code ignored;
      std::filesystem::remove(tally, ignored);
    }
    if (bench::is_postgres(variant)) drop_schema(database, schema);
    fastest_rps = std::max(fastest_rps, static_cast<double>(point.load.sent) / send_seconds);
    if (!point.load.pool_exhausted || attempt == 3) return point;
  }
}

// Every round of one server variant at one connection count. The machine is shared, so each
// point is measured in several rounds interleaved with the other variants, and the median
// undisturbed round stands for the point (all are listed: they show the noise); every round
// must be correct.
struct Series {
  Variant variant;
  std::size_t connections = 0;
  std::vector<Point> rounds;

  // The round a row shows and the targets use: the median by requests/s (the lower of the
  // middle two for an even count) of the rounds other processes did not disturb, or of all
  // when every one was disturbed. Not the fastest: one lucky round would flatter a point.
  const Point& median_round() const {
    auto chosen = trusted_rounds();
    std::sort(chosen.begin(), chosen.end(),
              [](const Point* a, const Point* b) { return a->rps() < b->rps(); });
    return *chosen[(chosen.size() - 1) / 2];
  }
  // The rounds other processes did not disturb, or all when every one was disturbed.
  std::vector<const Point*> trusted_rounds() const {
    const bool any_clean = std::any_of(rounds.begin(), rounds.end(),
                                       [](const Point& p) { return !p.disturbed(); });
    std::vector<const Point*> chosen;
    for (const auto& p : rounds) {
      if (!any_clean || !p.disturbed()) chosen.push_back(&p);
    }
    return chosen;
  }
  bool all_answered_2xx() const {
    return std::all_of(rounds.begin(), rounds.end(),
                       [](const Point& p) { return p.all_answered_2xx(); });
  }
  bool dispatched_exactly_once() const {
    return std::all_of(rounds.begin(), rounds.end(),
                       [](const Point& p) { return p.dispatched_exactly_once(); });
  }
  double max_idle_rss_mb() const {
    double most = 0;
    for (const auto& p : rounds) most = std::max(most, megabytes(p.ready, "idle_rss_kb"));
    return most;
  }
  double median_rps() const {
    std::vector<double> all;
    for (const auto& p : rounds) all.push_back(p.rps());
    return median(all);
  }
  std::size_t disturbed_rounds() const {
    return static_cast<std::size_t>(
        std::count_if(rounds.begin(), rounds.end(), [](const Point& p) { return p.disturbed(); }));
  }
};

class Table {
 public:
  static void header() {
    std::printf("\n%5s  %-9s %9s %7s %8s %8s %8s %15s %17s %16s\n", "conns", "server", "req/s",
                "x ceil", "p50 ms", "p99 ms", "p99 x c", "answered 2xx", "dispatched once",
                "server RSS MB");
  }

  static void row(const Series& series, const Series* ceiling_series) {
    const Point& p = series.median_round();
    const Point* ceiling = ceiling_series ? &ceiling_series->median_round() : nullptr;
    const double ratio = ceiling && ceiling->rps() > 0 ? p.rps() / ceiling->rps() : 0;
    const double p99 = p.load.latency_ms(99);
    const double ceiling_p99 = ceiling ? ceiling->load.latency_ms(99) : 0;
    const double p99_ratio = ceiling_p99 > 0 ? p99 / ceiling_p99 : 0;
    const std::string answered = grouped(static_cast<double>(p.load.answered_2xx)) + "/" +
                                 grouped(static_cast<double>(p.load.sent));
    const std::string once = p.has_dispatch_check()
                                 ? grouped(static_cast<double>(p.field("once"))) + "/" +
                                       grouped(static_cast<double>(p.load.sent))
                                 : "-";
    const std::string rss = fixed(megabytes(p.ready, "idle_rss_kb"), 1) + " -> " +
                            fixed(megabytes(p.report, "rss_kb"), 1);
    std::printf("%5zu  %-9s %9s %7s %8s %8s %8s %15s %17s %16s\n", p.connections,
                bench::name_of(p.variant), grouped(p.rps()).c_str(),
                ceiling ? fixed(ratio, 2).c_str() : "-", fixed(p.load.latency_ms(50), 3).c_str(),
                fixed(p99, 3).c_str(), ceiling ? fixed(p99_ratio, 2).c_str() : "-",
                answered.c_str(), once.c_str(), rss.c_str());

    std::string rounds = " req/s by round:";
    for (const auto& r : series.rounds) rounds += " " + grouped(r.rps());
    rounds += " (median " + grouped(series.median_rps()) + ")";
    rounds += "; others' CPU share:";
    for (const auto& r : series.rounds) {
      rounds += " " + fixed(100 * r.others, 0) + "%" + (r.disturbed() ? "*" : "");
    }
    if (p.disturbed()) rounds += "; EVERY ROUND DISTURBED";
    std::printf("%15s%s\n", "", rounds.c_str());

    std::string notes = " p99.9 " + fixed(p.load.latency_ms(99.9), 3) + " ms, max " +
                        fixed(p.load.latency_ms(100), 3) + " ms; server CPU " +
                        fixed(p.server_cpu_us, 1) + " us and " + fixed(p.server_switches, 2) +
                        " context switches per request;";
    if (!p.cpu_us_by_thread.empty()) {
      notes += " by thread:";
      for (const auto& [name, us] : p.cpu_us_by_thread) {
        if (us >= 0.05) notes += " " + name + " " + fixed(us, 1);
      }
      notes += ";";
    }
    if (!p.syscalls_per_request.empty()) {
      notes += " calls per request:";
      for (const auto& [name, per_request] : p.syscalls_per_request) {
        if (per_request >= 0.005) notes += " " + name + " " + fixed(per_request, 2);
      }
      notes += ";";
    }
    if (bench::is_postgres(p.variant)) {
      notes += " PostgreSQL server CPU " + fixed(p.db_cpu_us, 1) + " us per request;";
    }
    if (p.load.reconnects) {
      notes += " " + grouped(static_cast<double>(p.load.reconnects)) +
               " reconnects after keep_alive_max_count;";
    }
    if (p.report.count("events_per_commit")) {
      notes += " " + fixed(std::stod(p.report.at("events_per_commit")), 1) +
               " events per commit;";
    }
    std::printf("%15s%s\n", "", notes.c_str());
    for (std::size_t i = 0; i < series.rounds.size(); ++i) problems(series.rounds[i], i + 1);
    std::fflush(stdout);
  }

 private:
  // Anything that makes a round's figures suspect, on a line of its own.
  static void problems(const Point& p, std::size_t round) {
    std::string text;
    if (p.load.pool_exhausted) text += " the request pool ran out before the window ended;";
    for (const auto& [status, count] : p.load.other_statuses) {
      text += " " + grouped(static_cast<double>(count)) + " answered " + std::to_string(status) +
              ";";
    }
    for (const char* refusal : {"queue_full", "inbox_unavailable"}) {
      if (p.field(refusal) > 0) {
        text += " the endpoint counted " + grouped(static_cast<double>(p.field(refusal))) + " " +
                refusal + ";";
      }
    }
    if (p.load.failed) text += " " + grouped(static_cast<double>(p.load.failed)) + " unanswered;";
    if (p.load.connect_failures) {
      text += " " + std::to_string(p.load.connect_failures) + " failed connects;";
    }
    if (p.has_dispatch_check() && !p.dispatched_exactly_once()) {
      text += " dispatch check: calls=" + std::to_string(p.field("calls")) +
              " once=" + std::to_string(p.field("once")) +
              " missing=" + std::to_string(p.field("missing")) +
              " repeated=" + std::to_string(p.field("repeated")) +
              " unexpected=" + std::to_string(p.field("unexpected")) + ";";
    }
    if (!text.empty()) std::printf("%15sround %zu:%s\n", "", round, text.c_str());
  }
};

void print_micro(const bench::MicroResult& m) {
  std::printf(
      "\nmicro-benchmark: Receiver::handle_body() without sockets, one thread, %s distinct "
      "deliveries\n  (default Options and MemoryInbox; the inbox is drained untimed every %s "
      "deliveries, as workers would;\n  the dedupe memory grows as in a server; CPU time of "
      "this thread)\n",
      grouped(static_cast<double>(m.handle.events)).c_str(),
      grouped(static_cast<double>(m.batch)).c_str());
  std::printf("  %-38s %9s %15s %10s %10s %12s\n", "step", "ns/event", "events/s (CPU)",
              "new/event", "new B/ev", "malloc/event");
  auto line = [](const bench::StageFigures& s) {
    std::printf("  %-38s %9s %15s %10s %10s %12s\n", s.name, grouped(s.ns_per_event()).c_str(),
                grouped(s.events_per_cpu_second()).c_str(),
                fixed(s.allocations_per_event(), 1).c_str(), grouped(s.bytes_per_event()).c_str(),
                fixed(s.heap_allocations_per_event(), 1).c_str());
  };
  for (const auto& s : m.stages) line(s);
  line(m.handle);
  std::printf("  handle() by wall clock: %s events/s; failed verifications/parses/acceptances: "
              "%s\n",
              grouped(m.handle.events_per_wall_second()).c_str(),
              std::to_string(m.failures).c_str());
}

void print_scheme_micro(const bench::SchemeMicroResult& m) {
  std::printf(
      "\nmicro-benchmark: each preset's Scheme::verify alone, one thread, one configured secret "
      "or key,\n  ~1.1 KB bodies (a ring of %s distinct ones) signed beforehand by the preset "
      "itself (CPU time of this thread)\n",
      grouped(static_cast<double>(m.distinct_bodies)).c_str());
  std::printf("  %-38s %9s %9s %15s %10s %12s\n", "preset: verify step", "events", "ns/event",
              "events/s (CPU)", "new/event", "malloc/event");
  for (const auto& s : m.presets) {
    std::printf("  %-38s %9s %9s %15s %10s %12s\n", s.name,
                grouped(static_cast<double>(s.events)).c_str(), grouped(s.ns_per_event()).c_str(),
                grouped(s.events_per_cpu_second()).c_str(),
                fixed(s.allocations_per_event(), 1).c_str(),
                fixed(s.heap_allocations_per_event(), 1).c_str());
  }
  std::printf("  refused verifications (must be 0): %s\n", std::to_string(m.failures).c_str());
}

// PASS/FAIL lines, UNSURE when a figure behind the verdict comes from a disturbed round, SKIP
// when it was not measured. Remembers the worst.
class Targets {
 public:
  void check(bool measured, bool passed, bool trusted, const std::string& text) {
    const char* verdict = "SKIP";
    if (measured && !trusted) {
      verdict = passed ? "UNSURE (would pass)" : "UNSURE (would fail)";
      unsure_ = true;
    } else if (measured) {
      verdict = passed ? "PASS" : "FAIL";
      failed_ = failed_ || !passed;
    }
    std::printf("%s  %s\n", verdict, text.c_str());
  }
  // 0: every measured target passed; 1: one failed; 3: none failed but one was unsure.
  int exit_status() const { return failed_ ? 1 : unsure_ ? 3 : 0; }

 private:
  bool failed_ = false;
  bool unsure_ = false;
};

const Series* find(const std::vector<Series>& all, Variant v, std::size_t connections) {
  for (const auto& s : all) {
    if (s.variant == v && s.connections == connections) return &s;
  }
  return nullptr;
}

// The requests of each signing: the node variant verifies them the Standard Webhooks way.
struct Pools {
  bench::RequestPool allthings{aw::Options{}.path, bench::bench_secret};
  bench::RequestPool standard_webhooks{aw::Options{}.path, bench::bench_standard_webhooks_secret,
                                       bench::Signing::standard_webhooks};
  bench::RequestPool& of(Variant v) { return v == Variant::node ? standard_webhooks : allthings; }
};

std::vector<Series> measure_http(const Flags& f, Pools& pools,
                                 const Database& database) {
  std::vector<Series> all;
  Table::header();
  double fastest_rps = 0;
  for (const std::size_t connections : f.connections) {
    const std::size_t first = all.size();
    for (const Variant v : f.variants) all.push_back(Series{v, connections, {}});
    for (std::size_t round = 0; round < f.rounds; ++round) {
      for (std::size_t i = 0; i < f.variants.size(); ++i) {
        all[first + i].rounds.push_back(
            measure(f.variants[i], connections, pools.of(f.variants[i]), f, fastest_rps,
                    database));
      }
    }
    for (std::size_t i = 0; i < f.variants.size(); ++i) {
      Table::row(all[first + i], find(all, Variant::ceiling, connections));
    }
  }
  std::cout
      << "  req/s and latency: 2xx answers completed in the measured window; x ceil: ratio to "
         "the ceiling at the\n  same connection count; p99 x c: p99 over the ceiling's p99. Each "
         "row is the median round (by req/s)\n  of those in which other processes used less than "
         "10% of the CPUs (* marks the others; of all rounds\n  when every one was disturbed). RSS "
         "of the server process: idle after start() -> after the load.\n  Server CPU: the server "
         "process's CPU time (all threads, user + system) over the whole round,\n  warm-up "
         "included, per request sent, then by thread name (aw-http: reading, verifying, accepting\n  "
         "and answering requests; aw-worker: running handlers; aw-room: idle and slow\n  "
         "connections; aw-accept: accepting connections; other threads carry the process's\n  "
         "name); context switches: of all its threads, voluntary (blocked\n  "
         "on a lock, a condition, a socket) and preempted, per request sent; calls per request:\n"
         "  system calls of all its threads over the round (perf stat on the syscalls tracepoints;\n"
         "  absent where perf is missing or not allowed), per request sent\n";
  return all;
}

// The ceiling at one connection count, driven by the built-in client and by wrk -t1 in
// interleaved rounds, each against a fresh server process.
struct ClientCheck {
  std::size_t connections = 0;
  Series builtin;  // its median round, by the rule every row uses
  std::vector<double> wrk_rps;
  std::uint64_t wrk_errors = 0;  // answers wrk counted as not 2xx or 3xx, and socket errors

  double builtin_rps() const { return builtin.median_round().rps(); }
  // wrk's rounds are not watched for other processes; their median is picked as
  // median_round() picks (the lower middle one).
  double wrk_median() const { return lower_middle(wrk_rps); }
  double ratio() const {
    const double wrk = wrk_median();
    return wrk > 0 ? builtin_rps() / wrk : 0;
  }
};

// Whether the built-in client is what limits a run: a client that saturates before the server
// would make every server look as fast as the ceiling. wrk replays the pool's requests (the
// ceiling does not read them, so wrapping around the pool costs nothing).
std::vector<ClientCheck> check_load_client(const Flags& f, bench::RequestPool& pool,
                                           const Database& database) {
  if (!f.client_check) return {};
  const auto wrk = bench::find_wrk();
  if (wrk.empty()) {
    std::cout << "\nload client check skipped: wrk is not installed (apt-get install wrk)\n";
    return {};
  }
  const int seconds = std::max(1, static_cast<int>(std::lround(f.warmup + f.seconds)));
  const bench::WrkScript script(pool, pool.size());
  std::vector<ClientCheck> checks;
  double fastest_rps = 0;
  for (const std::size_t connections : f.connections) {
    ClientCheck check{connections, Series{Variant::ceiling, connections, {}}, {}, 0};
    for (std::size_t round = 0; round < f.rounds; ++round) {
      check.builtin.rounds.push_back(
          measure(Variant::ceiling, connections, pool, f, fastest_rps, database));
      bench::ServerProcess server({"--serve", bench::name_of(Variant::ceiling), "--events",
                                   std::to_string(pool.size())});
      const int port = std::stoi(server.await("ready", std::chrono::seconds(60)).at("port"));
      const auto result = script.run(wrk, port, connections, seconds);
      check.wrk_rps.push_back(result.requests_per_second);
      check.wrk_errors += result.not_2xx + result.socket_errors;
    }
    checks.push_back(check);
  }
  std::cout << "\nload client check: the ceiling driven by the built-in client (" << f.client_threads
            << " thread(s), " << fixed(f.seconds, 1) << " s measured after " << fixed(f.warmup, 1)
            << " s) and by wrk -t1 (" << seconds << " s), interleaved, a fresh server each\n";
  for (const auto& check : checks) {
    std::string builtin, by_wrk;
    for (const auto& round : check.builtin.rounds) {
      builtin += " " + grouped(round.rps()) + (round.disturbed() ? "*" : "");
    }
    for (const double rps : check.wrk_rps) by_wrk += " " + grouped(rps);
    std::printf("  %4zu connections: built-in%s (median %s), wrk%s (median %s) req/s; "
                "built-in / wrk %s; wrk's errors and answers not 2xx: %s\n",
                check.connections, builtin.c_str(), grouped(check.builtin_rps()).c_str(),
                by_wrk.c_str(), grouped(check.wrk_median()).c_str(),
                fixed(check.ratio(), 2).c_str(),
                grouped(static_cast<double>(check.wrk_errors)).c_str());
  }
  return checks;
}

// Sends `events` unique deliveries to one fresh in-memory endpoint with default Options (16
// connections, as fast as it answers) and reads its resident memory after them: with
// `events` = dedupe_capacity the dedupe memory is full. The client's request pool (about 1.3 KB
// per event) lives in this process, not in the server's.
std::optional<Point> measure_memory(const Flags& f) {
  if (f.memory_events == 0) return std::nullopt;
  bench::RequestPool pool(aw::Options{}.path, bench::bench_secret);
  pool.grow_to(f.memory_events);
  pool.stamp(std::chrono::system_clock::now());
  Point point{Variant::memory, 16, {}, {}, {}};
  bench::ServerProcess server(
      {"--serve", bench::name_of(Variant::memory), "--events", std::to_string(pool.size())});
  point.ready = server.await("ready", std::chrono::seconds(60));
  bench::LoadSettings settings;
  settings.ports.push_back(std::stoi(point.ready.at("port")));
  settings.connections = point.connections;
  settings.threads = f.client_threads;
  settings.measured = std::chrono::hours(1);  // ends when the pool is used up
  const auto started = std::chrono::steady_clock::now();
  point.load = bench::run_load(pool, settings);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string report = "report " + std::to_string(point.load.sent);
  for (const auto index : point.load.not_2xx) report += " " + std::to_string(index);
  server.send_line(report);
  point.report = server.await("report", std::chrono::seconds(90));
  std::printf("\nmemory: %s unique events sent to one in-memory endpoint (default Options, "
              "dedupe_capacity %s) in %s s, %s answered 2xx, %s ran once\n"
              "  resident memory of the server process: idle %s MB -> after the events %s MB "
              "(peak %s MB)\n",
              grouped(static_cast<double>(point.load.sent)).c_str(),
              grouped(static_cast<double>(aw::Options{}.dedupe_capacity)).c_str(),
              fixed(seconds, 1).c_str(), grouped(static_cast<double>(point.load.answered_2xx)).c_str(),
              grouped(static_cast<double>(point.field("once"))).c_str(),
              fixed(megabytes(point.ready, "idle_rss_kb"), 1).c_str(),
              fixed(megabytes(point.report, "rss_kb"), 1).c_str(),
              fixed(megabytes(point.report, "hwm_kb"), 1).c_str());
  return point;
}

// One variant's requests/s over another's at a connection count, by their median rounds;
// trusted when neither median round was disturbed.
struct MedianRatio {
  bool measured = false, trusted = false;
  double rps = 0, base_rps = 0, ratio = 0;
};

MedianRatio ratio_of_median_rounds(const std::vector<Series>& http, Variant variant,
                                   Variant base, std::size_t connections) {
  const Series* of = find(http, variant, connections);
  const Series* to = find(http, base, connections);
  MedianRatio r;
  r.measured = of && to;
  if (!r.measured) return r;
  r.rps = of->median_round().rps();
  r.base_rps = to->median_round().rps();
  r.ratio = r.base_rps > 0 ? r.rps / r.base_rps : 0;
  r.trusted = !of->median_round().disturbed() && !to->median_round().disturbed();
  return r;
}

void check_targets(Targets& targets, const std::vector<Series>& http,
                   const std::optional<bench::MicroResult>& micro, double micro_others,
                   const std::optional<Point>& memory,
                   const std::vector<ClientCheck>& client_checks) {
  for (const auto& check : client_checks) {
    targets.check(true, check.ratio() >= 0.95 && check.wrk_errors == 0,
                  !check.builtin.median_round().disturbed(),
                  "load client: the built-in client drives the ceiling at " +
                      std::to_string(check.connections) + " connections to " +
                      fixed(check.ratio(), 2) + " of wrk -t1's requests/s, medians (" +
                      grouped(check.builtin_rps()) + " vs " +
                      grouped(check.wrk_median()) + "; target >= 0.95)");
  }
  for (const std::size_t c : {16, 64}) {
    const auto r = ratio_of_median_rounds(http, Variant::memory, Variant::ceiling, c);
    targets.check(r.measured, r.ratio >= 0.85, r.trusted,
                  "in-memory inbox at " + std::to_string(c) + " connections: " +
                      fixed(r.ratio, 2) + " of the ceiling's requests/s (" + grouped(r.rps) +
                      " vs " + grouped(r.base_rps) + "; target >= 0.85)");
  }
  for (const std::size_t c : {16, 64}) {
    const auto r = ratio_of_median_rounds(http, Variant::sqlite, Variant::memory, c);
    targets.check(r.measured, r.ratio >= 0.5, r.trusted,
                  "durable inbox at " + std::to_string(c) + " connections: " + fixed(r.ratio, 2) +
                      " of the in-memory inbox's requests/s (" + grouped(r.rps) + " vs " +
                      grouped(r.base_rps) + "; target >= 0.50)");
  }
  // The shared inbox, one receiver process, against the durable one: medians of the rounds.
  for (const std::size_t c : {16, 64}) {
    const Series* shared = find(http, Variant::postgres, c);
    const Series* durable = find(http, Variant::sqlite, c);
    const double rps = shared ? shared->median_rps() : 0;
    const double durable_rps = durable ? durable->median_rps() : 0;
    const double ratio = durable_rps > 0 ? rps / durable_rps : 0;
    // Trusted when most rounds of both were undisturbed.
    const bool trusted = shared && durable &&
                         shared->disturbed_rounds() * 2 < shared->rounds.size() &&
                         durable->disturbed_rounds() * 2 < durable->rounds.size();
    targets.check(shared && durable, ratio >= 0.5, trusted,
                  "shared inbox (PostgresInbox, one receiver) at " + std::to_string(c) +
                      " connections: " + fixed(ratio, 2) +
                      " of the durable inbox's requests/s, medians (" + grouped(rps) + " vs " +
                      grouped(durable_rps) + "; target >= 0.50)");
  }
  // Against the fastest Node.js receiver the issue names; every variant's rounds are correct
  // or the all-2xx and exactly-once lines below fail.
  for (const std::size_t c : {16, 64}) {
    const auto r = ratio_of_median_rounds(http, Variant::memory, Variant::node, c);
    targets.check(r.measured, r.ratio >= 3, r.trusted,
                  "in-memory inbox at " + std::to_string(c) + " connections: " +
                      fixed(r.ratio, 2) + " x the requests/s of standardwebhooks on node:http (" +
                      grouped(r.rps) + " vs " + grouped(r.base_rps) + "; target >= 3 x)");
  }
  {
    const Series* m = find(http, Variant::memory, 16);
    const Series* ceiling = find(http, Variant::ceiling, 16);
    const double p99 = m ? m->median_round().load.latency_ms(99) : 0;
    const double ceiling_p99 = ceiling ? ceiling->median_round().load.latency_ms(99) : 0;
    const double ratio = ceiling_p99 > 0 ? p99 / ceiling_p99 : 0;
    const bool trusted = m && ceiling && !m->median_round().disturbed() && !ceiling->median_round().disturbed();
    // Of the rounds the median is taken from: a disturbed round's p99 says little.
    double worst_round_p99 = 0;
    if (m) {
      for (const Point* round : m->trusted_rounds()) {
        worst_round_p99 = std::max(worst_round_p99, round->load.latency_ms(99));
      }
    }
    targets.check(m && ceiling, ceiling_p99 > 0 && ratio <= 1.5 && worst_round_p99 <= 10, trusted,
                  "p99 latency at 16 connections: " + fixed(p99, 3) + " ms = " + fixed(ratio, 2) +
                      " x the ceiling's " + fixed(ceiling_p99, 3) + " ms, worst round " +
                      fixed(worst_round_p99, 3) + " ms (target <= 1.5 x, no round over 10 ms)");
  }
  targets.check(micro.has_value(),
                micro && micro->handle.events_per_cpu_second() >= 100000 && micro->failures == 0,
                micro_others < disturbed_share,
                "micro-benchmark: " +
                    (micro ? grouped(micro->handle.events_per_cpu_second()) : std::string("-")) +
                    " events/s on one core, verify + parse + accept (target >= 100,000)");
  {
    double idle_mb = 0;
    std::size_t starts = 0;
    for (const auto& s : http) {
      if (s.variant != Variant::memory) continue;
      starts += s.rounds.size();
      idle_mb = std::max(idle_mb, s.max_idle_rss_mb());
    }
    targets.check(starts > 0, idle_mb < 20.0, true,
                  "idle resident memory of a started WebhookEndpoint (default Options, "
                  "in-memory inbox, own process): " +
                      fixed(idle_mb, 1) + " MB, the most of " + std::to_string(starts) +
                      " starts (target < 20 MB)");
  }
  {
    const double after_mb = memory ? megabytes(memory->report, "rss_kb") : 0;
    const bool complete =
        memory && memory->all_answered_2xx() && memory->dispatched_exactly_once();
    targets.check(memory.has_value(), complete && after_mb < 200.0, true,
                  "resident memory of an in-memory endpoint after " +
                      (memory ? grouped(static_cast<double>(memory->load.sent)) : std::string("-")) +
                      " accepted events (default Options" +
                      (memory && memory->load.sent >= aw::Options{}.dedupe_capacity
                           ? ", dedupe memory full"
                           : "") +
                      "): " +
                      fixed(after_mb, 1) + " MB" +
                      (memory && !complete ? ", but not every event was answered 2xx and ran once"
                                           : "") +
                      " (target < 200 MB)");
  }
  {
    std::size_t rounds = 0;
    std::string not_all_2xx;
    for (const auto& s : http) {
      rounds += s.rounds.size();
      if (!s.all_answered_2xx()) {
        not_all_2xx += std::string(not_all_2xx.empty() ? "" : ", ") +
                       bench::name_of(s.variant) + " at " + std::to_string(s.connections);
      }
    }
    targets.check(rounds > 0, not_all_2xx.empty(), true,
                  "every request of all " + std::to_string(rounds) + " rounds answered 2xx" +
                      (not_all_2xx.empty() ? "" : " (not: " + not_all_2xx + ")"));
    const bool all_once = std::all_of(http.begin(), http.end(),
                                      [](const Series& s) { return s.dispatched_exactly_once(); });
    targets.check(rounds > 0, all_once, true,
                  "every event answered 2xx dispatched exactly once, nothing refused or unsent "
                  "dispatched");
  }
}

int run(const Flags& f) {
  Pools pools;
  if (f.http) pools.allthings.grow_to(20000);
  print_setup(f, pools.allthings);

  std::vector<Series> http;
  std::vector<ClientCheck> client_checks;
  if (f.http) {
    Flags measured = f;
    Database database{f.postgres_conninfo, -1};
#if ALLTHINGS_WEBHOOKS_BENCH_POSTGRES
    // The postgres variants' server: started here (stopped at the end), unless given.
    std::unique_ptr<test::pg::TemporaryServer> server;
    const bool wanted = std::any_of(f.variants.begin(), f.variants.end(), bench::is_postgres);
    if (wanted && database.conninfo.empty()) {
      const auto bindir = test::pg::server_bindir();
      if (bindir.empty()) {
        std::cout << "  postgres variants skipped: " << test::pg::missing_server_message << "\n";
        measured.variants.erase(
            std::remove_if(measured.variants.begin(), measured.variants.end(), bench::is_postgres),
            measured.variants.end());
      } else {
        server = std::make_unique<test::pg::TemporaryServer>(bindir,
                                                             ALLTHINGS_WEBHOOKS_BENCH_PG_TEMPLATE);
        database = {server->conninfo(), server->postmaster_pid()};
        std::cout << "  PostgreSQL: a server of its own (" << bindir << ", default settings) on "
                  << "127.0.0.1:" << server->port() << "; each round a fresh schema\n";
      }
    }
#endif
    http = measure_http(measured, pools, database);
    client_checks = check_load_client(measured, pools.allthings, database);
  }

  const std::optional<Point> memory = f.http ? measure_memory(f) : std::nullopt;

  std::optional<bench::MicroResult> micro;
  double micro_others = 0;
  if (f.micro) {
    const bench::InterferenceMeter meter({::getpid()});
    micro = bench::run_micro(f.micro_events, f.micro_batch);
    micro_others = meter.others_share();
    print_micro(*micro);
    std::printf("  others' CPU share meanwhile: %s%%%s\n", fixed(100 * micro_others, 0).c_str(),
                micro_others >= disturbed_share ? " (disturbed)" : "");
    const bench::InterferenceMeter scheme_meter({::getpid()});
    const auto schemes = bench::run_scheme_micro(f.micro_events);
    const double scheme_others = scheme_meter.others_share();
    print_scheme_micro(schemes);
    std::printf("  others' CPU share meanwhile: %s%%%s\n", fixed(100 * scheme_others, 0).c_str(),
                scheme_others >= disturbed_share ? " (disturbed)" : "");
  }

  std::cout << "\nload average at end " << first_line_of("/proc/loadavg") << "\ntargets:\n";
  Targets targets;
  check_targets(targets, http, micro, micro_others, memory, client_checks);
  return targets.exit_status();
}

}  // namespace

int main(int argc, char** argv) {
  // A server process that died must show as "server process is gone", not kill the benchmark
  // when it writes the next command to its stdin.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    const Flags flags = parse_flags(argc, argv);
    if (flags.serve) {
      if (flags.serve_events == 0) throw std::invalid_argument("--serve needs --events");
      return bench::serve(*flags.serve, flags.serve_events, flags.target);
    }
    return run(flags);
  } catch (const std::exception& e) {
    std::cerr << "allthings_webhooks_bench: " << e.what() << "\n";
    return 2;
  }
}
