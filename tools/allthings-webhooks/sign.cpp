// `sign`: the headers a genuine delivery of the body on stdin carries, as "Name: value" lines.
#include <chrono>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "command.hpp"
#include "scheme_presets.hpp"
#include "secrets.hpp"
#include "signing.hpp"

namespace allthings::webhooks::tool {

Command add_sign(CLI::App& parent) {
  struct Args {
    SecretSources secrets;
    std::string scheme = "allthings";
    long long timestamp = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* app = parent.add_subcommand(
      "sign", "Print the signature headers of the body on stdin, one 'Name: value' a line");
  args->secrets.add_options(*app);
  add_scheme_option(*app, args->scheme);
  app->add_option("--timestamp", args->timestamp,
                  "Sign as at this Unix time in seconds (default: now)");
  return {app, [args] {
            const auto secret = args->secrets.read().front();
            const std::string body{std::istreambuf_iterator<char>(std::cin),
                                   std::istreambuf_iterator<char>()};
            const auto& preset = scheme_preset(args->scheme);
            for (const auto& [name, value] :
                 sign_body(preset, body, secret, signing_time(args->timestamp))) {
              std::cout << name << ": " << value << '\n';
            }
            return 0;
          }};
}

}  // namespace allthings::webhooks::tool
