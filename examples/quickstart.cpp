// The README's quick start: receive Allthings webhooks on port 8080.
//   ALLTHINGS_WEBHOOK_SECRET=... ./quickstart
#include <allthings/webhooks.hpp>

#include <cstdlib>
#include <iostream>

namespace aw = allthings::webhooks;

int main() {
  const char* secret = std::getenv("ALLTHINGS_WEBHOOK_SECRET");
  if (secret == nullptr) {
    std::cerr << "set ALLTHINGS_WEBHOOK_SECRET to the webhook's secret\n";
    return 2;
  }
  aw::Options opts;
  opts.secrets = {secret};
  aw::WebhookEndpoint endpoint(opts);

  endpoint.on<aw::TicketCreated>([](const aw::TicketCreated& e) {
    std::cout << "new ticket " << e.ticket.id << ": " << e.ticket.title << '\n';
  });
  endpoint.on("booking.*", [](const aw::Event& e) {
    std::cout << e.name() << ' ' << e.data().dump() << '\n';
  });
  endpoint.on_error([](const aw::Error& err) {
    std::cerr << "webhook error: " << aw::to_string(err.kind) << '\n';
  });

  endpoint.listen("0.0.0.0", 8080);  // blocks until endpoint.stop()
}
