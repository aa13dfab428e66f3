#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace allthings::webhooks::reconcile {

// OAuth 2.0 client credentials for Allthings' Webhooks API (the client needs the permission
// `edit-app`). The secret is read from the environment or a file, never from a command line
// (where `ps` shows it), and is never logged or put in an error message.
struct ClientCredentials {
  std::string token_url;  // e.g. "https://accounts.allthings.me/oauth/token"
  std::string client_id;
  std::string client_secret;
  std::string scope;  // sent when not empty
};

// The client secret from the environment variable `name`, without a trailing newline. Throws
// std::invalid_argument naming the variable (never its value) when it is unset or empty.
inline std::string client_secret_from_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    throw std::invalid_argument("client secret: environment variable " + name + " is not set");
  }
  std::string secret(value);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

// The client secret from the file at `path` (its first line). Throws std::invalid_argument
// naming the file (never its content) when it cannot be read or is empty.
inline std::string client_secret_from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("client secret: cannot read the file " + path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto end = content.find_first_of("\r\n");
  if (end != std::string::npos) content.resize(end);
  if (content.empty()) throw std::invalid_argument("client secret: the file " + path + " is empty");
  return content;
}

}  // namespace allthings::webhooks::reconcile
