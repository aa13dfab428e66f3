#pragma once

#include <allthings/webhooks.hpp>
#include <allthings/webhooks/detail/http/server.hpp>
#include <allthings/webhooks/detail/text/base64.hpp>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "allocation_counter.hpp"
#include "deliveries.hpp"

// The request path without sockets, on one thread: what an HTTP thread runs for a delivery
// after cpp-httplib has parsed the request and the body has been read.
namespace bench {

struct StageFigures {
  const char* name = "";
  std::uint64_t events = 0;
  double cpu_seconds = 0;   // this thread's CPU time: other tenants of the machine do not count
  double wall_seconds = 0;
  std::uint64_t allocations = 0;       // operator new
  std::uint64_t bytes = 0;             // requested through operator new
  std::uint64_t heap_allocations = 0;  // malloc and friends, operator new's included

  double events_per_cpu_second() const { return cpu_seconds > 0 ? events / cpu_seconds : 0; }
  double events_per_wall_second() const { return wall_seconds > 0 ? events / wall_seconds : 0; }
  double ns_per_event() const { return events ? cpu_seconds * 1e9 / events : 0; }
  double allocations_per_event() const {
    return events ? static_cast<double>(allocations) / static_cast<double>(events) : 0;
  }
  double heap_allocations_per_event() const {
    return events ? static_cast<double>(heap_allocations) / static_cast<double>(events) : 0;
  }
  double bytes_per_event() const {
    return events ? static_cast<double>(bytes) / static_cast<double>(events) : 0;
  }
};

struct MicroResult {
  // The parts, each timed alone on the same events, then the whole handle() call.
  std::vector<StageFigures> stages;
  StageFigures handle;
  // Verifications or parses that failed and handle() calls that did not answer "accepted":
  // anything but 0 means the figures measured a wrong path.
  std::uint64_t failures = 0;
  std::size_t batch = 0;
};

namespace detail {

inline double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Adds one timed loop's cost to `figures`.
template <class Body>
void timed(StageFigures& figures, std::size_t events, Body&& body) {
  const auto allocations_before = allocations_on_this_thread();
  const auto wall_before = std::chrono::steady_clock::now();
  const double cpu_before = thread_cpu_seconds();
  body();
  figures.cpu_seconds += thread_cpu_seconds() - cpu_before;
  figures.wall_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  const auto allocations_after = allocations_on_this_thread();
  figures.allocations += allocations_after.allocations - allocations_before.allocations;
  figures.bytes += allocations_after.bytes - allocations_before.bytes;
  figures.heap_allocations +=
      allocations_after.heap_allocations - allocations_before.heap_allocations;
  figures.events += events;
}

// One delivery as the HTTP adapter holds it before calling the pipeline.
struct Input {
  std::string_view body;
  httplib::Headers headers;
};

}  // namespace detail

// Runs `events` distinct deliveries through Receiver::handle_body() with default Options and
// the default MemoryInbox, in batches. Between batches, untimed, the inbox is drained the way a
// worker would (next + complete), so the queue never fills; the dedupe memory keeps growing, as
// it does in a server. A first batch warms caches and is not counted.
inline MicroResult run_micro(std::size_t events, std::size_t batch) {
  namespace aw = allthings::webhooks;
  aw::Options options;
  options.secrets = {bench_secret};
  auto inbox = std::make_shared<aw::MemoryInbox>();
  aw::Receiver receiver(options, inbox);  // its workers never start: the loop drains the inbox
  const aw::Scheme& scheme = receiver.scheme();
  const aw::detail::EnvelopeParser parser(options.envelope, options.max_json_depth);
  // What Receiver::handle_body does first: the headers as a list, names lower-cased.
  const auto lower_case_headers = [](const httplib::Headers& headers) {
    auto list = aw::detail::copy_headers(headers);
    for (auto& header : list) header.first = aw::detail::to_lower(header.first);
    return list;
  };

  MicroResult result;
  result.batch = batch;
  StageFigures lower{"copy headers, lower-case names"}, verify{"verify signature + timestamp"},
      parse{"copy body, parse JSON envelope"};
  result.handle.name = "handle(): all of the above + accept";

  RequestPool pool(options.path, bench_secret);
  pool.stamp(std::chrono::system_clock::now());
  const std::size_t rounds = 1 + (events + batch - 1) / batch;  // the first one warms up
  pool.grow_to(rounds * batch);

  std::vector<detail::Input> inputs(batch);
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < batch; ++i) {
      auto& in = inputs[i];
      const std::size_t index = round * batch + i;
      in.body = pool.body(index);
      in.headers = pool.headers(index);
    }
    const bool counted = round > 0;
    StageFigures scratch;
    auto figures = [&](StageFigures& f) -> StageFigures& { return counted ? f : scratch; };

    // Results live until after each timed loop, as they would in a server: the pipeline
    // keeps them in the inbox and a worker frees them.
    std::vector<aw::HeaderList> header_lists;
    header_lists.reserve(batch);
    std::vector<aw::detail::EnvelopeParser::Result> records;
    records.reserve(batch);
    std::uint64_t failures = 0;
    detail::timed(figures(lower), batch, [&] {
      for (const auto& in : inputs) {
        header_lists.push_back(lower_case_headers(in.headers));
      }
    });
    detail::timed(figures(verify), batch, [&] {
      const auto now = std::chrono::system_clock::now();
      for (std::size_t i = 0; i < batch; ++i) {
        failures += scheme.verify(header_lists[i], inputs[i].body, now).has_value();
      }
    });
    detail::timed(figures(parse), batch, [&] {
      const auto now = std::chrono::system_clock::now();
      for (const auto& in : inputs) {
        records.push_back(parser.parse(std::string(in.body), {}, now));
      }
    });
    for (const auto& r : records) failures += r.index() != 0;
    header_lists.clear();
    records.clear();
    detail::timed(figures(result.handle), batch, [&] {
      for (const auto& in : inputs) {
        const auto reply =
            receiver.handle_body(aw::detail::copy_headers(in.headers), std::string(in.body));
        failures += reply.body != aw::replies::accepted.body;
      }
    });
    if (counted) result.failures += failures;

    while (auto delivery = inbox->next(std::chrono::milliseconds(0))) inbox->complete(*delivery);
  }
  result.stages = {lower, verify, parse};
  return result;
}

// One preset's verify step for the scheme micro-benchmark: a receiver's options and the
// secret or key its sender signs with.
struct PresetCase {
  const char* name;
  allthings::webhooks::SchemeFactory scheme;
  std::string receiver_secret;
  std::string sender_secret;
  std::size_t event_divisor;  // Ed25519 costs ~50x an HMAC: it runs on fewer events
};

inline std::vector<PresetCase> preset_cases() {
  namespace aw = allthings::webhooks;
  const auto base64_secret = "whsec_" + aw::detail::encode_base64(bench_secret);
  // The Standard Webhooks spec's example key pair.
  const std::string whsk = "whsk_6Xb/dCcHpPea21PS1N9VY/"
                           "NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
  const std::string whpk = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
  return {
      {"allthings: hex HMAC + timestamp", aw::schemes::allthings, bench_secret, bench_secret, 1},
      {"standard-webhooks v1: base64 HMAC", aw::schemes::standard_webhooks, base64_secret,
       base64_secret, 1},
      {"standard-webhooks v1a: Ed25519", aw::schemes::standard_webhooks, whpk, whsk, 20},
      {"github: hex HMAC", aw::schemes::github, bench_secret, bench_secret, 1},
      {"stripe: hex HMAC of t.body", aw::schemes::stripe, bench_secret, bench_secret, 1},
      {"shopify: base64 HMAC", aw::schemes::shopify, bench_secret, bench_secret, 1},
      {"slack: hex HMAC of v0:t:body", aw::schemes::slack, bench_secret, bench_secret, 1},
  };
}

struct SchemeMicroResult {
  std::vector<StageFigures> presets;  // Scheme::verify alone, one per preset
  std::uint64_t failures = 0;         // verifications that refused: must be 0
  std::size_t distinct_bodies = 0;
};

// Times each preset's Scheme::verify, on one thread, over `events` deliveries (fewer for
// Ed25519) of the benchmark's ~1.1 KB bodies, each signed beforehand (untimed) by the preset
// itself, header names lower-cased as the Receiver hands them over. Verification keeps no
// state, so the bodies are a ring of up to 4096 distinct ones.
inline SchemeMicroResult run_scheme_micro(std::size_t events) {
  namespace aw = allthings::webhooks;
  SchemeMicroResult result;
  result.distinct_bodies = std::min<std::size_t>(events, 4096);
  std::vector<std::string> bodies;
  bodies.reserve(result.distinct_bodies);
  for (std::size_t i = 0; i < result.distinct_bodies; ++i) {
    bodies.push_back(ticket_created_body(i));
  }
  for (const auto& preset : preset_cases()) {
    aw::Options options;
    options.scheme = preset.scheme;
    options.secrets = {preset.receiver_secret};
    const auto scheme = options.scheme(options);
    const auto now = std::chrono::system_clock::now();
    std::vector<aw::HeaderList> headers;
    headers.reserve(bodies.size());
    for (const auto& body : bodies) {
      auto signed_headers = scheme->sign(body, preset.sender_secret, now);
      for (auto& header : signed_headers) header.first = aw::detail::to_lower(header.first);
      headers.push_back(std::move(signed_headers));
    }
    const std::size_t count = std::max<std::size_t>(events / preset.event_divisor, 1);
    StageFigures figures{preset.name};
    std::uint64_t failures = 0;
    scheme->verify(headers[0], bodies[0], now);  // warms OpenSSL's lazy set-up
    detail::timed(figures, count, [&] {
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t k = i % bodies.size();
        failures += scheme->verify(headers[k], bodies[k], now).has_value();
      }
    });
    result.failures += failures;
    result.presets.push_back(figures);
  }
  return result;
}

}  // namespace bench
