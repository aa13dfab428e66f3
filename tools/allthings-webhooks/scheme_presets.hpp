#pragma once

// The signature schemes the tool knows by name, with what their secrets look like.
#include <memory>
#include <string>
#include <vector>

#include <allthings/webhooks.hpp>

#include "command.hpp"

namespace allthings::webhooks::tool {

struct SchemePreset {
  std::string name;
  SchemeFactory factory;
  // Builds the scheme for signing, where the secret is passed to sign() itself: a secret the
  // scheme accepts, since e.g. Standard Webhooks refuses a whsk_ signing key as a receiver's.
  std::string placeholder_secret;
  // Header that carries the event's name for schemes that take it from headers; send sets it.
  std::string name_header;
  // GitHub: the header holds "issues" and the body's "action" holds "opened" of
  // "issues.opened"; send splits the name at its first dot.
  bool name_header_then_action = false;
};

inline const std::vector<SchemePreset>& scheme_presets() {
  static const std::vector<SchemePreset> presets{
      {"allthings", schemes::allthings, "placeholder", ""},
      {"standard-webhooks", schemes::standard_webhooks, "whsec_cGxhY2Vob2xkZXI=", ""},
      {"github", schemes::github, "placeholder", "X-GitHub-Event", true},
      {"stripe", schemes::stripe, "placeholder", ""},
      {"shopify", schemes::shopify, "placeholder", "X-Shopify-Topic"},
      {"slack", schemes::slack, "placeholder", ""},
  };
  return presets;
}

inline std::vector<std::string> scheme_names() {
  std::vector<std::string> names;
  for (const auto& preset : scheme_presets()) names.push_back(preset.name);
  return names;
}

// For --help: what each scheme expects of a secret.
inline const char* scheme_help =
    "Signature scheme: allthings (default), standard-webhooks, github, stripe, shopify, slack. "
    "Secrets are used as given, except standard-webhooks: 'whsec_<base64>' (or bare base64) "
    "for v1 HMAC; a receiver may also take 'whpk_<base64>' Ed25519 public keys, and "
    "sign/send take a 'whsk_<base64>' signing key for v1a.";

inline const SchemePreset& scheme_preset(const std::string& name) {
  for (const auto& preset : scheme_presets()) {
    if (preset.name == name) return preset;
  }
  throw UsageError("unknown scheme " + name);
}

inline CLI::Option* add_scheme_option(CLI::App& app, std::string& into) {
  return app.add_option("--scheme", into, scheme_help)
      ->check(CLI::IsMember(scheme_names()))
      ->default_str("allthings");
}

// The scheme that signs deliveries (see placeholder_secret).
inline std::shared_ptr<const Scheme> signing_scheme(const SchemePreset& preset) {
  Options options;
  options.secrets = {preset.placeholder_secret};
  options.scheme = preset.factory;
  return preset.factory(options);
}

}  // namespace allthings::webhooks::tool
