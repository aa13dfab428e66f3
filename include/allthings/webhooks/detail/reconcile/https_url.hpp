#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace allthings::webhooks::detail {

// An https:// URL split for httplib::SSLClient. Plain http is refused: the Webhooks API
// carries a bearer token and personal data.
struct HttpsUrl {
  std::string host;
  int port = 443;
  std::string path = "/";
};

// Throws std::invalid_argument naming `what` when `url` is not https://host[:port][/path].
inline HttpsUrl parse_https_url(const std::string& url, const std::string& what) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw std::invalid_argument(what + " must be an https:// URL");
  }
  HttpsUrl out;
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.path = rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    throw std::invalid_argument(what + " must not carry user information");
  }
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    char* end = nullptr;
    const long number = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || number < 1 || number > 65535) {
      throw std::invalid_argument(what + " has an invalid port");
    }
    out.port = static_cast<int>(number);
    authority.resize(colon);
  }
  if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) throw std::invalid_argument(what + " has no host");
  out.host = authority;
  return out;
}

}  // namespace allthings::webhooks::detail
