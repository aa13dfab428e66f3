#pragma once

// Where Allthings' Webhooks API is and how to log in to it, for `reconcile` and `webhooks`:
// --api-url, --token-url, --client-id, the client secret only from --client-secret-env VAR or
// --client-secret-file PATH (never argv, where `ps` and shell history would show it) and
// --cacert. Error messages name the variable or file, never the secret.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/reconcile.hpp>

#include "command.hpp"

namespace allthings::webhooks::tool {

struct ApiOptions {
  std::string api_url = "https://webhooks.allthings.me/";
  std::string token_url = "https://accounts.allthings.me/oauth/token";
  std::string client_id;
  std::string client_secret_env;
  std::string client_secret_file;
  std::string cacert;

  void add_options(CLI::App& app) {
    app.add_option("--api-url", api_url, "The Webhooks API's GraphQL URL (https://)")
        ->capture_default_str();
    app.add_option("--token-url", token_url, "The OAuth 2.0 token URL (https://)")
        ->capture_default_str();
    app.add_option("--client-id", client_id, "OAuth 2.0 client id (the client needs edit-app)")
        ->required();
    app.add_option("--client-secret-env", client_secret_env,
                   "Name of the environment variable holding the client secret");
    app.add_option("--client-secret-file", client_secret_file,
                   "File whose first line is the client secret");
    app.add_option("--cacert", cacert,
                   "PEM file of the certificate authorities to trust instead of the system's")
        ->check(CLI::ExistingFile);
  }

  // The settings of a WebhooksApiClient that logs retries and token refreshes (never a token
  // or the secret) as JSON Lines on stderr. The variable is removed from this process's
  // environment once read, like --secret-env.
  reconcile::WebhooksApiSettings settings() const {
    if (client_secret_env.empty() == client_secret_file.empty()) {
      throw UsageError(client_secret_env.empty()
                           ? "no client secret: give --client-secret-env VAR or "
                             "--client-secret-file PATH"
                           : "give either --client-secret-env or --client-secret-file, not both");
    }
    reconcile::WebhooksApiSettings api;
    api.api_url = api_url;
    api.credentials.token_url = token_url;
    api.credentials.client_id = client_id;
    try {
      if (!client_secret_env.empty()) {
        api.credentials.client_secret = reconcile::client_secret_from_env(client_secret_env);
        ::unsetenv(client_secret_env.c_str());
      } else {
        api.credentials.client_secret = reconcile::client_secret_from_file(client_secret_file);
      }
    } catch (const std::invalid_argument& error) {
      throw std::runtime_error(error.what());  // names the variable or file: exit 1
    }
    api.ca_file = cacert;
    api.log = json_lines_log(std::cerr);
    api.log_level = LogLevel::warning;
    return api;
  }

  // The client; a URL that is not https:// is a usage error.
  std::shared_ptr<reconcile::WebhooksApiClient> client() const {
    auto api = settings();
    try {
      return std::make_shared<reconcile::WebhooksApiClient>(std::move(api));
    } catch (const std::invalid_argument& error) {
      std::string message = error.what();
      static const std::pair<std::string, std::string> names[] = {
          {"WebhooksApiSettings.credentials.token_url", "--token-url"},
          {"WebhooksApiSettings.api_url", "--api-url"}};
      for (const auto& name : names) {
        if (message.rfind(name.first, 0) == 0) {
          message = name.second + message.substr(name.first.size());
        }
      }
      throw UsageError(message);
    }
  }
};

}  // namespace allthings::webhooks::tool
