// `send URL`: signed deliveries, one (status and body printed) or a load of them with unique
// ids (a summary of throughput and latency printed). Exit 0 when every answer was 2xx.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "command.hpp"
#include "delivery_body.hpp"
#include "scheme_presets.hpp"
#include "secrets.hpp"
#include "signing.hpp"
#include "url.hpp"

namespace allthings::webhooks::tool {

namespace {

struct SendArgs {
  std::string url;
  SecretSources secrets;
  std::string scheme = "allthings";
  std::string event = "ping";
  std::string data = "{}";
  std::string body_file;
  std::string id;
  std::string content_type = "application/json";
  long long timestamp = 0;
  int count = 1;
  int concurrency = 1;
  int timeout_ms = 10000;
  std::string cacert;
  bool insecure = false;
};

struct Answer {
  int status = 0;  // 0: no answer
  std::string body;
  std::string error;
  double milliseconds = 0;
};

// A random prefix, so that ids of separate runs differ too (the receiver's dedupe remembers).
std::string run_prefix() {
  std::random_device random;
  char text[16];
  std::snprintf(text, sizeof text, "%08x", random());
  return std::string("send-") + text;
}

class Sender {
 public:
  Sender(const SendArgs& args, std::string secret)
      : args_(args),
        url_(HttpUrl::parse(args.url, "URL")),
        preset_(scheme_preset(args.scheme)),
        scheme_(signing_scheme(preset_)),
        secret_(std::move(secret)) {
    if (!args.body_file.empty()) fixed_body_ = text_or_file("@" + args.body_file, "--body");
    else data_ = parse_data(text_or_file(args.data, "--data"));
    header_name_ = body_name_ = args.event;
    const auto dot = args.event.find('.');
    if (preset_.name_header_then_action) {
      header_name_ = args.event.substr(0, dot);
      body_name_ = dot == std::string::npos ? "" : args.event.substr(dot + 1);
    }
  }

  Answer deliver(httplib::Client& client, const std::string& id) const {
    const std::string body =
        fixed_body_ ? *fixed_body_ : delivery_body(*scheme_, id, body_name_, data_);
    httplib::Headers headers;
    for (auto& [name, value] : sign_body(preset_, body, secret_, signing_time(args_.timestamp))) {
      headers.emplace(name, value);
    }
    if (!preset_.name_header.empty() && !fixed_body_) {
      headers.emplace(preset_.name_header, header_name_);
    }
    const auto started = std::chrono::steady_clock::now();
    const auto response = client.Post(url_.path, headers, body, args_.content_type);
    Answer answer;
    answer.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!response) {
      answer.error = httplib::to_string(response.error());
      return answer;
    }
    answer.status = response->status;
    answer.body = response->body;
    return answer;
  }

  std::unique_ptr<httplib::Client> client() const {
    auto made = std::make_unique<httplib::Client>(url_.origin);
    const auto seconds = args_.timeout_ms / 1000;
    const auto micros = (args_.timeout_ms % 1000) * 1000;
    made->set_connection_timeout(seconds, micros);
    made->set_read_timeout(seconds, micros);
    made->set_write_timeout(seconds, micros);
    made->set_keep_alive(true);
    // Headers and body go out in separate writes: without this, Nagle and delayed ACKs add
    // 40 ms to each request on a kept-alive connection.
    made->set_tcp_nodelay(true);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (!args_.cacert.empty()) made->set_ca_cert_path(args_.cacert.c_str());
    if (args_.insecure) made->enable_server_certificate_verification(false);
#endif
    return made;
  }

  std::string where() const { return url_.origin + url_.path; }

 private:
  const SendArgs& args_;
  HttpUrl url_;
  const SchemePreset& preset_;
  std::shared_ptr<const Scheme> scheme_;
  std::string secret_;
  std::optional<std::string> fixed_body_;
  nlohmann::json data_;
  std::string header_name_;  // see SchemePreset::name_header
  std::string body_name_;
};

int send_one(const Sender& sender, const SendArgs& args) {
  const auto answer = sender.deliver(*sender.client(), args.id.empty() ? run_prefix() : args.id);
  if (answer.status == 0) {
    std::cerr << "allthings-webhooks send: no answer from " << sender.where() << ": "
              << answer.error << '\n';
    return 1;
  }
  std::cout << answer.status << '\n' << answer.body << '\n';
  return answer.status >= 200 && answer.status <= 299 ? 0 : 1;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

int send_load(const Sender& sender, const SendArgs& args) {
  const auto prefix = args.id.empty() ? run_prefix() : args.id;
  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<double> latencies;
  std::map<std::string, int> outcomes;  // "200", "503", "no answer: ..."
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min(args.concurrency, args.count); ++t) {
    threads.emplace_back([&] {
      auto client = sender.client();
      std::vector<double> mine;
      std::map<std::string, int> seen;
      for (int i; (i = next++) < args.count;) {
        const auto answer = sender.deliver(*client, prefix + "-" + std::to_string(i));
        mine.push_back(answer.milliseconds);
        ++seen[answer.status == 0 ? "no answer: " + answer.error : std::to_string(answer.status)];
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [outcome, n] : seen) outcomes[outcome] += n;
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::sort(latencies.begin(), latencies.end());
  bool all_2xx = true;
  for (const auto& [outcome, n] : outcomes) {
    std::cout << outcome << '\t' << n << '\n';
    all_2xx = all_2xx && outcome.size() == 3 && outcome[0] == '2';
  }
  std::printf("%d requests in %.3f s, concurrency %d: %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
              args.count, seconds, args.concurrency, args.count / seconds,
              percentile(latencies, 0.50), percentile(latencies, 0.99));
  return all_2xx ? 0 : 1;
}

}  // namespace

Command add_send(CLI::App& parent) {
  auto args = std::make_shared<SendArgs>();
  CLI::App* app = parent.add_subcommand("send", "POST correctly signed deliveries to URL");
  app->add_option("url", args->url, "The webhook URL, e.g. http://127.0.0.1:8080/webhooks/allthings")
      ->required();
  args->secrets.add_options(*app);
  add_scheme_option(*app, args->scheme);
  app->add_option("--event", args->event, "The event's name")->capture_default_str();
  auto* data = app->add_option("--data", args->data, "The event's data: JSON, or @FILE")
                   ->capture_default_str();
  app->add_option("--body", args->body_file, "Send this file's bytes as the body, as they are")
      ->excludes(data);
  app->add_option("--id", args->id,
                  "The event's id (with --count, the prefix of id-0, id-1, ...; default random)");
  app->add_option("--content-type", args->content_type)->capture_default_str();
  app->add_option("--timestamp", args->timestamp,
                  "Sign as at this Unix time in seconds, e.g. to test stale or future deliveries");
  app->add_option("--count", args->count, "How many deliveries, each with a unique id")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--concurrency", args->concurrency, "Connections sending at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--timeout-ms", args->timeout_ms, "Per request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app->add_option("--cacert", args->cacert, "https: trust this PEM certificate");
  app->add_flag("--insecure,-k", args->insecure, "https: do not check the server's certificate");
  return {app, [args] {
            const Sender sender(*args, args->secrets.read().front());
            return args->count == 1 ? send_one(sender, *args) : send_load(sender, *args);
          }};
}

}  // namespace allthings::webhooks::tool
