// `verify`: whether the body on stdin with the given headers is a genuine, fresh delivery.
// Exit 0 when it is, 1 with the reason when it is not.
#include <chrono>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "scheme_presets.hpp"
#include "secrets.hpp"

namespace allthings::webhooks::tool {

namespace {

HeaderList parse_headers(const std::vector<std::string>& lines) {
  HeaderList headers;
  for (const auto& line : lines) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("--header wants 'Name: value', got '" + line + "'");
    }
    auto value = line.substr(colon + 1);
    const auto start = value.find_first_not_of(" \t");
    value = start == std::string::npos ? "" : value.substr(start);
    headers.emplace_back(line.substr(0, colon), value);
  }
  return headers;
}

}  // namespace

Command add_verify(CLI::App& parent) {
  struct Args {
    SecretSources secrets;
    std::string scheme = "allthings";
    std::vector<std::string> headers;
    long long now = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* app = parent.add_subcommand(
      "verify", "Check the body on stdin against its signature headers: exit 0 if valid, 1 if not");
  args->secrets.add_options(*app);
  add_scheme_option(*app, args->scheme);
  add_repeatable(*app, "--header,-H", args->headers, "A request header, 'Name: value' (repeatable)")
      ->required();
  app->add_option("--now", args->now,
                  "Check the timestamp as at this Unix time in seconds (default: now)");
  return {app, [args] {
            const auto headers = parse_headers(args->headers);
            Options options;
            options.secrets = args->secrets.read();
            options.scheme = scheme_preset(args->scheme).factory;
            const auto scheme = options.scheme(options);
            const std::string body{std::istreambuf_iterator<char>(std::cin),
                                   std::istreambuf_iterator<char>()};
            const auto now = args->now == 0 ? std::chrono::system_clock::now()
                                            : std::chrono::system_clock::time_point(
                                                  std::chrono::seconds(args->now));
            if (!scheme->is_signed(headers)) {
              std::cout << "invalid: the request carries no " << scheme->name()
                        << " signature header\n";
              return 1;
            }
            if (auto refusal = scheme->verify(headers, body, now)) {
              std::cout << "invalid: " << to_string(refusal->kind) << ": " << refusal->message
                        << '\n';
              return 1;
            }
            std::cout << "valid\n";
            return 0;
          }};
}

}  // namespace allthings::webhooks::tool
