// `inbox LOCATION list | show ID | requeue ID | requeue-all | stats`: the operator's view of a
// durable inbox, also while a receiver runs on it. A
// requeued event runs again with a fresh round of attempts: soon when a receiver has the inbox
// open, otherwise when one next starts.
#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "inbox_location.hpp"
#include "utc_time.hpp"

namespace allthings::webhooks::tool {

namespace {

int list(InboxOperations& inbox) {
  const auto letters = inbox.dead_letters();
  for (const auto& letter : letters) {
    std::cout << letter.id << '\t' << letter.name << '\t' << letter.attempts << " attempts\t"
              << utc(letter.dead_lettered_at) << '\t' << letter.reason << '\n';
  }
  std::cout << letters.size() << " dead letter" << (letters.size() == 1 ? "" : "s") << '\n';
  return 0;
}

int show(InboxOperations& inbox, const std::string& id) {
  const auto event = inbox.find(id);
  if (!event) {
    std::cerr << "allthings-webhooks inbox: no event " << id << " in this inbox\n";
    return 1;
  }
  std::cout << "id:       " << event->id << '\n'
            << "name:     " << event->name << '\n'
            << "state:    " << to_string(event->state) << '\n'
            << "attempt:  " << event->attempt << '\n'
            << "received: " << utc(event->received_at) << '\n';
  if (event->next_attempt_at) std::cout << "next try: " << utc(*event->next_attempt_at) << '\n';
  if (event->finished_at) std::cout << "finished: " << utc(*event->finished_at) << '\n';
  if (!event->dead_letter_reason.empty()) {
    std::cout << "reason:   " << event->dead_letter_reason << '\n';
  }
  for (const auto& [name, value] : event->headers) {
    std::cout << "header:   " << name << ": " << value << '\n';
  }
  std::cout << '\n' << event->raw_body << '\n';
  return 0;
}

int requeue(InboxOperations& inbox, const std::string& id) {
  if (!inbox.requeue(id)) {
    std::cerr << "allthings-webhooks inbox: " << id << " is not a dead letter\n";
    return 1;
  }
  std::cout << "requeued " << id << '\n';
  return 0;
}

int stats(InboxOperations& inbox) {
  for (const auto state : {StoredState::pending, StoredState::completed, StoredState::dead_letter}) {
    std::cout << to_string(state) << '\t' << inbox.count(state) << '\n';
  }
  return 0;
}

}  // namespace

Command add_inbox(CLI::App& parent) {
  struct Args {
    std::string location;
    std::string action;
    std::string id;
  };
  auto args = std::make_shared<Args>();
  CLI::App* app = parent.add_subcommand(
      "inbox", "Inspect and requeue the events of a durable inbox, also while it is served");
  app->add_option("location", args->location, "sqlite:PATH, postgres:CONNINFO or postgres://...")
      ->required();
  app->add_option("action", args->action,
                  "list (dead letters) | show ID | requeue ID | requeue-all | stats")
      ->required()
      ->check(CLI::IsMember({"list", "show", "requeue", "requeue-all", "stats"}));
  app->add_option("id", args->id, "The event's id, for show and requeue");
  return {app, [args] {
            const bool takes_id = args->action == "show" || args->action == "requeue";
            if (takes_id && args->id.empty()) throw UsageError(args->action + " needs an ID");
            if (!takes_id && !args->id.empty()) {
              throw UsageError(args->action + " takes no ID");
            }
            const auto inbox = InboxLocation::parse(args->location).open_for_operator();
            if (args->action == "list") return list(*inbox);
            if (args->action == "show") return show(*inbox, args->id);
            if (args->action == "requeue") return requeue(*inbox, args->id);
            if (args->action == "stats") return stats(*inbox);
            std::cout << "requeued " << inbox->requeue_all() << '\n';
            return 0;
          }};
}

}  // namespace allthings::webhooks::tool
