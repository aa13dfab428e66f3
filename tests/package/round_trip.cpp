// What every consumer project in tests/package builds and runs: one signed delivery over real
// HTTP reaches its handler. Exits 0 when it did; otherwise says what went wrong.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>
#include <string>

// With the sqlite component, the delivery goes through the durable inbox.
#ifdef WITH_SQLITE_INBOX
#include <allthings/webhooks/inbox/sqlite.hpp>
#endif
// With the postgres component the shared inbox compiles and links (it needs a server to run,
// which a packaging test does not start: libpq is asked to parse a connection string).
#ifdef WITH_POSTGRES_INBOX
#include <stdexcept>

#include <allthings/webhooks/inbox/postgres.hpp>
#endif

// The parent-targets consumer defines httplib::httplib and nlohmann_json::nlohmann_json itself,
// each with a marker definition that reaches us only if allthings::webhooks links them.
#if defined(EXPECT_PARENT_TARGETS) && \
    !(defined(PARENT_PROVIDES_HTTPLIB) && defined(PARENT_PROVIDES_NLOHMANN_JSON))
#error "allthings::webhooks did not use the parent project's httplib and nlohmann_json targets"
#endif

namespace aw = allthings::webhooks;

int main() {
#ifdef EXPECTED_VERSION
  if (std::string(EXPECTED_VERSION) != ALLTHINGS_WEBHOOKS_VERSION_STRING) {
    std::cerr << "the package says version " << EXPECTED_VERSION << ", the headers say "
              << ALLTHINGS_WEBHOOKS_VERSION_STRING << '\n';
    return 1;
  }
#endif

#ifdef WITH_POSTGRES_INBOX
  try {
    allthings::webhooks::PostgresInbox unparsable("host=127.0.0.1 port");
    std::cerr << "PostgresInbox accepted a connection string libpq cannot parse\n";
    return 1;
  } catch (const std::invalid_argument&) {
    // libpq parsed it and said no: the component links
  }
#endif

  const std::string secret = "whsec_package_test";
  aw::Options options;
  options.secrets = {secret};
  std::shared_ptr<aw::Inbox> inbox;  // null: the default MemoryInbox
#ifdef WITH_SQLITE_INBOX
  const std::string inbox_path = "round_trip_inbox.sqlite";
  std::remove(inbox_path.c_str());
  inbox = std::make_shared<aw::SqliteInbox>(inbox_path);
#endif
  aw::WebhookEndpoint endpoint(options, inbox);

  std::promise<std::string> received_title;
  endpoint.on<aw::TicketCreated>(
      [&received_title](const aw::TicketCreated& e) { received_title.set_value(e.ticket.title); });
  const int port = endpoint.start("127.0.0.1", 0);

  const std::string body = aw::testing::envelope_body(
      "evt-package-1", "ticket.created", {{"id", "T-1"}, {"title", "Leaking tap"}});
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(10, 0);
  const auto response = client.Post(options.path.c_str(),
                                    aw::testing::signed_headers(body, secret), body,
                                    "application/json");
  if (!response) {
    std::cerr << "no response from the endpoint on port " << port << '\n';
    return 1;
  }
  if (response->status != 200) {
    std::cerr << "a signed delivery got " << response->status << ": " << response->body << '\n';
    return 1;
  }

  auto title = received_title.get_future();
  if (title.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::cerr << "the delivery was acknowledged but the handler never ran\n";
    return 1;
  }
  if (const std::string got = title.get(); got != "Leaking tap") {
    std::cerr << "the handler saw the title '" << got << "'\n";
    return 1;
  }
  endpoint.stop();
  std::cout << "signed round trip through allthings-webhooks " << ALLTHINGS_WEBHOOKS_VERSION_STRING
            << ": ok\n";
  return 0;
}
