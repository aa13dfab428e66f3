// The main demo: an endpoint on 127.0.0.1 receives a scripted series of deliveries, as
// Allthings (and an attacker) would send them, and prints what it answered and what the
// handlers saw.
//   ./demo               run the script and exit 0 when every answer was as expected
//   ./demo --serve PORT  keep serving on 127.0.0.1:PORT and print each event as it arrives
//                        (secret: the demo secret below, or ALLTHINGS_WEBHOOK_SECRET)
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <pthread.h>
#include <vector>

namespace aw = allthings::webhooks;
using namespace std::chrono_literals;

namespace {

const std::string demo_secret = "whsec_demo_3f9a2c";

// Handler output is collected and printed under the delivery that caused it.
class Transcript {
 public:
  void add(std::string line) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::move(line));
  }
  std::vector<std::string> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(lines_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

void register_handlers(aw::WebhookEndpoint& endpoint, Transcript& out) {
  endpoint.on<aw::TicketCreated>([&out](const aw::TicketCreated& e) {
    out.add("TicketCreated: ticket " + e.ticket.id + " \"" + e.ticket.title + "\" status " +
            e.ticket.status);
  });
  endpoint.on<aw::TicketUpdated>([&out](const aw::TicketUpdated& e) {
    std::string fields;
    for (const auto& f : e.changed_fields()) fields += (fields.empty() ? "" : ", ") + f;
    out.add("TicketUpdated: ticket " + e.ticket.id + " changed [" + fields + "]");
  });
  endpoint.on("ticket.*", [&out](const aw::Event& e) {
    out.add("on(\"ticket.*\"): " + e.name() + " id " + e.id() + " attempt " +
            std::to_string(e.attempt()));
  });
  endpoint.on_unhandled([&out](const aw::Event& e) {
    out.add("on_unhandled: " + e.name() + " (acknowledged, nobody listens)");
  });
  endpoint.on_error([&out](const aw::Error& err) {
    out.add(std::string("on_error: ") + aw::to_string(err.kind) + " (" + err.message + ")");
  });
}

struct Delivery {
  std::string title;
  std::string body;
  httplib::Headers headers;
  int expected_status;
};

std::vector<Delivery> script() {
  const auto now = std::chrono::system_clock::now();
  const std::string created = aw::testing::envelope_body(
      "evt-1001", "ticket.created",
      {{"id", "T-17"}, {"title", "Leaking tap in flat 3B"}, {"status", "waiting-for-agent"}});
  const std::string updated = aw::testing::envelope_body(
      "evt-1002", "ticket.updated",
      {{"id", "T-17"}, {"status", "closed"}, {"delta", {{"status", "closed"}}}});
  const std::string unknown =
      aw::testing::envelope_body("evt-1003", "registration-code.created", {{"code", "X7"}});
  const std::string forged =
      aw::testing::envelope_body("evt-666", "ticket.created", {{"title", "Give me access"}});
  const std::string stale =
      aw::testing::envelope_body("evt-1004", "ticket.created", {{"title", "Replayed"}});

  return {
      {"ticket.created", created, aw::testing::signed_headers(created, demo_secret, now), 200},
      {"the same ticket.created again (Allthings retried)", created,
       aw::testing::signed_headers(created, demo_secret, now), 200},
      {"ticket.updated", updated, aw::testing::signed_headers(updated, demo_secret, now), 200},
      {"forged: signed with the wrong secret", forged,
       aw::testing::signed_headers(forged, "not-the-secret", now), 401},
      {"stale: timestamp 10 minutes old", stale,
       aw::testing::signed_headers(stale, demo_secret, now - 10min), 401},
      {"unsigned ping (the admin UI's URL check)", R"({"ping":true})", {}, 200},
      {"unknown event name", unknown, aw::testing::signed_headers(unknown, demo_secret, now),
       200},
  };
}

void wait_until_idle(const aw::WebhookEndpoint& endpoint) {
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (endpoint.stats().queue_depth > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(2ms);
  }
}

int run_script() {
  aw::Options opts;
  opts.secrets = {demo_secret};
  aw::WebhookEndpoint endpoint(opts);
  Transcript out;
  register_handlers(endpoint, out);
  const int port = endpoint.start("127.0.0.1", 0);
  std::cout << "endpoint listening on http://127.0.0.1:" << port << opts.path << "\n\n";

  httplib::Client client("127.0.0.1", port);
  int unexpected = 0;
  int number = 0;
  for (const auto& delivery : script()) {
    const auto res = client.Post(opts.path.c_str(), delivery.headers, delivery.body,
                                 "application/json");
    wait_until_idle(endpoint);
    const int status = res ? res->status : 0;
    std::cout << ++number << ". " << delivery.title << "\n   -> " << status << ' '
              << (res ? res->body : "(no response)") << '\n';
    for (const auto& line : out.take()) std::cout << "      " << line << '\n';
    if (status != delivery.expected_status) {
      std::cout << "   !! expected " << delivery.expected_status << '\n';
      ++unexpected;
    }
  }
  const auto s = endpoint.stats();
  std::cout << "\nstats: received " << s.received << ", accepted " << s.accepted
            << ", duplicates " << s.duplicates << ", rejected " << s.rejected << ", delivered "
            << s.delivered << ", unhandled " << s.unhandled << '\n';
  endpoint.stop();
  return unexpected == 0 ? 0 : 1;
}

int serve(int port) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  aw::Options opts;
  const char* secret = std::getenv("ALLTHINGS_WEBHOOK_SECRET");
  opts.secrets = {secret != nullptr ? secret : demo_secret};
  aw::WebhookEndpoint endpoint(opts);
  endpoint.on_any([](const aw::Event& e) {
    std::cout << e.name() << " id " << e.id() << " data " << e.data().dump() << std::endl;
  });
  endpoint.on_error([](const aw::Error& err) {
    std::cout << "error: " << aw::to_string(err.kind) << " -> " << err.status << std::endl;
  });
  std::thread waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    endpoint.stop();
  });
  std::cout << "serving on http://127.0.0.1:" << port << opts.path << " (Ctrl-C stops)"
            << std::endl;
  try {
    endpoint.listen("127.0.0.1", port);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    std::exit(1);  // the waiter thread still blocks in sigwait
  }
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--serve") return serve(std::atoi(argv[2]));
  if (argc != 1) {
    std::cerr << "usage: demo [--serve PORT]\n";
    return 2;
  }
  return run_script();
}
