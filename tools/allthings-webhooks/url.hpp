#pragma once

// "http://host:port/path?query" split into what httplib::Client takes and the request path.
#include <string>

#include "command.hpp"

namespace allthings::webhooks::tool {

struct HttpUrl {
  std::string origin;  // scheme://host[:port]
  std::string path;    // "/" when the URL has none

  static HttpUrl parse(const std::string& url, const char* option) {
    const auto scheme_end = url.find("://");
    const auto scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if ((scheme != "http" && scheme != "https") || scheme_end + 3 >= url.size()) {
      throw UsageError(std::string(option) + " wants an http:// or https:// URL, got '" + url +
                       "'");
    }
    const auto slash = url.find('/', scheme_end + 3);
    if (slash == std::string::npos) return {url, "/"};
    return {url.substr(0, slash), url.substr(slash)};
  }
};

}  // namespace allthings::webhooks::tool
