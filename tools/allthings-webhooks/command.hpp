#pragma once

// What every subcommand file gives main(): its CLI11 subcommand and what to run once parsed.
#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace allthings::webhooks::tool {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the process's exit code
};

// A mistake in what the user typed that the parser cannot see (e.g. an inbox location of an
// unknown kind): exit 2 with one line, like the parser's own errors.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Command add_serve(CLI::App& app);
Command add_send(CLI::App& app);
Command add_sign(CLI::App& app);
Command add_verify(CLI::App& app);
Command add_inbox(CLI::App& app);
#if ALLTHINGS_WEBHOOKS_TOOL_WITH_RECONCILE
Command add_reconcile(CLI::App& app);
Command add_webhooks(CLI::App& app);
#endif

// A repeatable option that takes exactly one value each time it is given, so that it never
// swallows the positional argument after it.
template <class T>
CLI::Option* add_repeatable(CLI::App& app, const std::string& name, std::vector<T>& into,
                            const std::string& description) {
  return app.add_option(name, into, description)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace allthings::webhooks::tool
