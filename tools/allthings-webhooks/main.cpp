// allthings-webhooks: a standalone durable receiver (serve), signed test deliveries (send),
// signatures on the command line (sign, verify), the operator's view of an inbox (inbox) and,
// where built with the reconciler, missed events recovered (reconcile) and webhook
// registrations (webhooks) over Allthings' Webhooks API.
// Exit codes: 0 done, 1 something failed (the message names it), 2 a usage error.
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "command.hpp"

namespace tool = allthings::webhooks::tool;

int main(int argc, char** argv) {
  // A child that exits before reading its stdin, or a peer that goes away, must be an error to
  // report, not a signal that ends the receiver.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"Receive, send, sign and verify webhooks; operate a durable inbox."};
  app.name("allthings-webhooks");
  app.require_subcommand(1);
  std::vector<tool::Command> commands{tool::add_serve(app), tool::add_send(app),
                                      tool::add_sign(app), tool::add_verify(app),
                                      tool::add_inbox(app)};
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_RECONCILE
  commands.push_back(tool::add_reconcile(app));
  commands.push_back(tool::add_webhooks(app));
#endif
  // CLI11 would only say that a subcommand is required.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto& command : commands) known = known || command.app->get_name() == argv[1];
    if (!known) {
      std::string names;
      for (const auto& command : commands) {
        names += (names.empty() ? "" : ", ") + command.app->get_name();
      }
      std::cerr << "allthings-webhooks: unknown subcommand " << argv[1] << "; one of " << names
                << " (see --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "allthings-webhooks: " << e.what() << " (see --help)\n";
    return 2;
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.run();
    } catch (const tool::UsageError& e) {
      std::cerr << "allthings-webhooks " << command.app->get_name() << ": " << e.what()
                << " (see --help)\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "allthings-webhooks " << command.app->get_name() << ": " << e.what() << '\n';
      return 1;
    }
  }
  return 2;  // require_subcommand(1) makes this unreachable
}
