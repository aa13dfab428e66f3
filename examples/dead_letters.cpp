// Inspect and requeue the dead letters of a durable inbox, also while the receiver runs:
//   dead_letters inbox.db list
//   dead_letters inbox.db show ID
//   dead_letters inbox.db requeue ID
//   dead_letters inbox.db requeue-all
// A requeued event runs again with a fresh round of attempts: within a second when a receiver
// has the file open, otherwise when the receiver next starts.
#include <allthings/webhooks/inbox/sqlite.hpp>

#include <ctime>
#include <exception>
#include <iostream>
#include <string>

namespace aw = allthings::webhooks;

namespace {

int usage() {
  std::cerr << "usage: dead_letters DB list | show ID | requeue ID | requeue-all\n";
  return 2;
}

std::string utc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

void list(aw::InboxOperations& inbox) {
  const auto letters = inbox.dead_letters();
  for (const auto& letter : letters) {
    std::cout << letter.id << '\t' << letter.name << '\t' << letter.attempts << " attempts\t"
              << utc(letter.dead_lettered_at) << '\t' << letter.reason << '\n';
  }
  std::cout << letters.size() << " dead letter" << (letters.size() == 1 ? "" : "s") << '\n';
}

int show(aw::InboxOperations& inbox, const std::string& id) {
  const auto event = inbox.find(id);
  if (!event) {
    std::cerr << "no event " << id << '\n';
    return 1;
  }
  std::cout << "id:       " << event->id << '\n'
            << "name:     " << event->name << '\n'
            << "state:    " << aw::to_string(event->state) << '\n'
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

int requeue(aw::InboxOperations& inbox, const std::string& id) {
  if (!inbox.requeue(id)) {
    std::cerr << id << " is not a dead letter" << '\n';
    return 1;
  }
  std::cout << "requeued " << id << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string command = argv[2];
  const bool takes_id = command == "show" || command == "requeue";
  const bool known = takes_id || command == "list" || command == "requeue-all";
  if (!known || argc != (takes_id ? 4 : 3)) return usage();
  try {
    aw::SqliteInboxFile inbox(argv[1]);
    if (command == "list") {
      list(inbox);
    } else if (command == "show") {
      return show(inbox, argv[3]);
    } else if (command == "requeue") {
      return requeue(inbox, argv[3]);
    } else {
      std::cout << "requeued " << inbox.requeue_all() << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
