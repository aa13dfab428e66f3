#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "logging.hpp"
#include "scheme.hpp"

namespace allthings::webhooks {

class Event;
struct Options;

namespace schemes {
// The default scheme; defined in schemes/allthings.hpp, which this header includes at its end.
inline std::shared_ptr<const Scheme> allthings(const Options& options);
}  // namespace schemes

// What to do with a POST that carries no signature header.
enum class UnsignedPolicy {
  acknowledge,  // 200 and nothing dispatched: the Allthings admin UI's URL check sends these
  reject,       // 401
};

// Unit of x-allthings-signature-timestamp. Allthings' example uses milliseconds.
enum class TimestampUnit {
  automatic,  // below 10^11 counts as seconds, otherwise milliseconds
  seconds,
  milliseconds,
};

using Clock = std::function<std::chrono::system_clock::time_point()>;

// Routes for an orchestrator and a metrics scraper. listen()/start() serve them next to the
// webhook; WebhookEndpoint::mount_operations() adds them to an application's own server. They
// never check signatures and never count as webhook requests. An empty path leaves that route
// out.
struct OperationsRoutes {
  std::string livez = "/livez";      // 200 while the process serves
  std::string readyz = "/readyz";    // 200 when ready for webhooks, else 503 (see readiness())
  std::string metrics = "/metrics";  // Prometheus text exposition format
};

// HTTPS for listen()/start(): a certificate (chain) and its private key, each as a PEM file or
// as PEM text. TLS 1.2 is the oldest version accepted. Needs cpp-httplib built with OpenSSL.
struct TlsOptions {
  std::string certificate_file;
  std::string private_key_file;
  std::string certificate_pem;
  std::string private_key_pem;

  bool enabled() const {
    return !certificate_file.empty() || !private_key_file.empty() || !certificate_pem.empty() ||
           !private_key_pem.empty();
  }
};

// Every field has a working default; only `secrets` must be filled in.
// WebhookEndpoint's constructor validates all of them and throws std::invalid_argument naming
// the offending field.
struct Options {
  // HTTP route that receives the webhooks.
  std::string path = "/webhooks/allthings";

  // Shared secrets; a signature made with any of them is accepted (rotation, several webhooks).
  // Each scheme says what it accepts here (Standard Webhooks: whsec_ secrets, whpk_ keys).
  std::vector<std::string> secrets;

  // How deliveries are signed and where their id and name are: which headers, what is signed,
  // how the signature is encoded. The default is Allthings' scheme, configured by the
  // timestamp_* fields, require_timestamp and signed_content below.
  SchemeFactory scheme = schemes::allthings;

  // Accepted timestamp window: [now - timestamp_tolerance, now + future_skew].
  std::chrono::seconds timestamp_tolerance{std::chrono::minutes(5)};
  std::chrono::seconds future_skew{std::chrono::minutes(1)};
  TimestampUnit timestamp_unit = TimestampUnit::automatic;
  // A signed request without x-allthings-signature-timestamp is rejected when true.
  bool require_timestamp = true;

  UnsignedPolicy unsigned_policy = UnsignedPolicy::acknowledge;

  // Bytes; larger bodies get 413 (by Content-Length before reading, or while reading chunks).
  std::size_t max_body_bytes = 1024 * 1024;

  // Deepest nesting of arrays and objects in a body; deeper bodies get 400 before the 200, so
  // no handler walks a tree deep enough to exhaust a worker's stack.
  std::size_t max_json_depth = 128;

  // Threads that run handlers.
  std::size_t workers = 4;
  // Events accepted but not finished (waiting, running or awaiting a retry); beyond it: 503.
  std::size_t queue_capacity = 10000;

  // How long and how many event ids are remembered to drop duplicates. Allthings retries for
  // 7 days, so the window must be longer than that.
  std::chrono::seconds dedupe_window{std::chrono::hours(24 * 8)};
  std::size_t dedupe_capacity = 1000000;

  // A throwing handler runs again after retry_base_delay * 2^(attempt-1), capped at
  // retry_max_delay, until max_attempts attempts failed; then the event is dead-lettered.
  int max_attempts = 5;
  std::chrono::milliseconds retry_base_delay{1000};
  std::chrono::milliseconds retry_max_delay{std::chrono::minutes(5)};

  // stop() waits this long for queued and running events before reporting what is left.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(10)};

  // Where a JSON body holds the event, for schemes without pointers of their own
  // (Allthings'; see BodyFormat::envelope).
  EnvelopePaths envelope;

  // Events with the same non-empty key never run concurrently and run in arrival order.
  // Example: [](const Event& e) { return e.data().value("id", ""); } serializes per ticket.
  std::function<std::string(const Event&)> serialize_by;

  // What the HMAC covers, given the timestamp header and the raw body. Empty: the raw body
  // alone, which is what Allthings' example signs. Kept replaceable because Allthings' prose
  // says the timestamp is signed too but publishes no format.
  std::function<std::string(std::string_view timestamp, std::string_view body)> signed_content;

  // Wall clock for the timestamp window and the dedupe window; injectable for tests.
  Clock clock = [] { return std::chrono::system_clock::now(); };

  // Server settings used by listen()/start() (not by mount(), where the app owns its server).
  // Threads serve requests whose head has arrived; connections waiting for a head or idle
  // between requests hold no thread.
  std::size_t http_threads = 32;
  std::size_t keep_alive_max_count = 1000;
  std::chrono::seconds keep_alive_timeout{5};
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  // Connections the kernel queues before they are accepted; cpp-httplib 0.11 listens with 5,
  // which makes bursts of new connections wait for SYN retransmissions (1 s and more).
  int listen_backlog = 128;
  TlsOptions tls;
  OperationsRoutes operations;

  // Graceful shutdown (WebhookEndpoint::shutdown_gracefully(), or SIGTERM/SIGINT after
  // stop_on_signals()): readiness turns 503 at once, webhooks are still served for
  // drain_delay, so load balancers stop routing here first; then stop() (drain_timeout).
  std::chrono::milliseconds drain_delay{std::chrono::seconds(5)};

  // Structured logs (see logging.hpp, e.g. json_lines_log(std::clog)); none without a hook.
  LogHandler log;
  LogLevel log_level = LogLevel::warning;

  // The head budget, enforced while a request's head arrives and before it is parsed
  // (listen()/start() only): a longer request line gets 414, a head with more bytes (request
  // line, fields and blank line) or more fields gets 431.
  std::size_t max_request_line_bytes = 8 * 1024;
  std::size_t max_header_bytes = 32 * 1024;
  std::size_t max_header_count = 100;

  // Deadlines of one request (listen()/start() only), beyond which it gets 408 and its
  // connection is closed: its head within header_timeout of its first byte (of the connection,
  // for the first request), its body within body_timeout of its head.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
};

}  // namespace allthings::webhooks

// Options's default scheme.
#include "schemes/allthings.hpp"  // IWYU pragma: export
