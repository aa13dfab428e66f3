// Several senders on one server: one WebhookEndpoint per sender, each with its own scheme,
// path, secrets, dedupe window and handlers, all mounted on one cpp-httplib server (which
// could be your application's own).
//
//   several_senders                 sends itself one signed delivery per sender and exits
//   several_senders --serve 8080    serves on 0.0.0.0:8080 until killed; secrets from
//                                   ALLTHINGS_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET,
//                                   STRIPE_WEBHOOK_SECRET and SLACK_SIGNING_SECRET
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace aw = allthings::webhooks;
using namespace std::chrono_literals;

namespace {

std::mutex output;
int handled = 0;  // handler calls, under `output`
void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(output);
  std::cout << line << '\n';
}
void handler_says(const std::string& line) {
  std::lock_guard<std::mutex> lock(output);
  std::cout << line << '\n';
  ++handled;
}

std::string secret_from(const char* variable, const char* demo_value) {
  const char* value = std::getenv(variable);
  return value && *value ? value : demo_value;
}

// Options shared by every sender; each endpoint has its own workers.
aw::Options options_for(aw::SchemeFactory scheme, std::string path, std::string secret,
                        std::chrono::seconds dedupe_window) {
  aw::Options o;
  o.scheme = std::move(scheme);
  o.path = std::move(path);
  o.secrets = {std::move(secret)};
  o.dedupe_window = dedupe_window;  // longer than the sender retries
  o.workers = 2;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const bool serve = argc == 3 && std::string(argv[1]) == "--serve";
  if (argc != 1 && !serve) {
    std::cerr << "usage: several_senders [--serve PORT]\n";
    return 2;
  }

  auto allthings_options = options_for(aw::schemes::allthings, "/webhooks/allthings",
                                       secret_from("ALLTHINGS_WEBHOOK_SECRET", "demo-allthings"),
                                       std::chrono::hours(24 * 8));  // retries for 7 days
  auto github_options = options_for(aw::schemes::github, "/webhooks/github",
                                    secret_from("GITHUB_WEBHOOK_SECRET", "demo-github"),
                                    std::chrono::hours(24 * 4));  // redeliveries for 3 days
  auto stripe_options = options_for(aw::schemes::stripe, "/webhooks/stripe",
                                    secret_from("STRIPE_WEBHOOK_SECRET", "whsec_demo_stripe"),
                                    std::chrono::hours(24 * 4));  // retries for 3 days
  auto slack_options = options_for(aw::schemes::slack, "/webhooks/slack",
                                   secret_from("SLACK_SIGNING_SECRET", "demo-slack"),
                                   std::chrono::hours(1));  // retries for 5 minutes
  // Only Allthings' admin UI pings unsigned; from the others an unsigned request is a 401.
  for (auto* o : {&github_options, &stripe_options, &slack_options}) {
    o->unsigned_policy = aw::UnsignedPolicy::reject;
  }

  aw::WebhookEndpoint allthings(allthings_options), github(github_options), stripe(stripe_options),
      slack(slack_options);
  allthings.on<aw::TicketCreated>([](const aw::TicketCreated& e) {
    handler_says("allthings: new ticket " + e.ticket.id + ": " + e.ticket.title);
  });
  github.on("issues.*", [](const aw::Event& e) {
    handler_says("github:    " + e.name() + " #" +
                 e.data()["issue"].value("number", nlohmann::json()).dump());
  });
  stripe.on("invoice.paid", [](const aw::Event& e) {
    handler_says("stripe:    " + e.id() + " paid " +
                 e.data()["object"].value("amount_paid", nlohmann::json()).dump());
  });
  slack.on("/deploy", [](const aw::Event& e) {
    handler_says("slack:     /deploy, form body " + e.raw_body());  // form-encoded: data() is null
  });
  for (auto* endpoint : {&allthings, &github, &stripe, &slack}) {
    endpoint->on_error([](const aw::Error& err) {
      if (err.status >= 400) say(std::string("refused:   ") + aw::to_string(err.kind));
    });
  }

  httplib::Server server;
  server.set_payload_max_length(1024 * 1024);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) { res.status = 500; });
  for (auto* endpoint : {&allthings, &github, &stripe, &slack}) endpoint->mount(server);

  if (serve) {
    const int port = std::stoi(argv[2]);
    std::cout << "serving on 0.0.0.0:" << port
              << ": /webhooks/allthings, /webhooks/github, /webhooks/stripe, /webhooks/slack\n";
    return server.listen("0.0.0.0", port) ? 0 : 1;
  }

  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(1ms);
  httplib::Client client("127.0.0.1", port);

  int failures = 0;
  const auto deliver = [&](const aw::Options& o, const std::string& secret, const std::string& body,
                           httplib::Headers extra, const char* content_type = "application/json") {
    auto headers = aw::testing::signed_headers(o, body, secret);
    for (const auto& header : extra) headers.insert(header);  // cpp-httplib 0.53: no range insert
    const auto result = client.Post(o.path.c_str(), headers, body, content_type);
    const int status = result ? result->status : -1;
    say("POST " + o.path + " -> " + std::to_string(status));
    if (status != 200) ++failures;
  };
  deliver(allthings_options, allthings_options.secrets[0],
          aw::testing::envelope_body("evt-1", "ticket.created", {{"id", "T-7"}, {"title", "Lift"}}),
          {});
  deliver(github_options, github_options.secrets[0], R"({"action":"opened","issue":{"number":42}})",
          {{"X-GitHub-Event", "issues"}});
  deliver(stripe_options, stripe_options.secrets[0],
          R"({"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":2000}}})", {});
  deliver(slack_options, slack_options.secrets[0], "command=%2Fdeploy&text=web&trigger_id=1.2.3",
          {}, "application/x-www-form-urlencoded");

  for (auto* endpoint : {&allthings, &github, &stripe, &slack}) endpoint->stop();  // drains
  server.stop();
  serving.join();
  std::lock_guard<std::mutex> lock(output);
  return failures == 0 && handled == 4 ? 0 : 1;
}
