#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <httplib.h>

#include "../process/sigpipe_block.hpp"
#include "https_url.hpp"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "allthings/webhooks/reconcile needs cpp-httplib with OpenSSL: CPPHTTPLIB_OPENSSL_SUPPORT"
#endif

namespace allthings::webhooks::detail {

// What came back from one POST: status 0 when nothing did (network error, TLS failure,
// time-out).
struct HttpsAnswer {
  int status = 0;
  std::string body;
  std::string retry_after;
};

// One POST over HTTPS with the server's certificate and host name verified against `ca_file`
// (empty: the system's CAs). Uses only SSLClient calls that cpp-httplib 0.11.4 and 0.53 share.
// A server that goes away mid-request fails the request (status 0), never the process with
// SIGPIPE.
inline HttpsAnswer https_post(const HttpsUrl& url, const std::string& ca_file,
                              std::chrono::milliseconds timeout, const httplib::Headers& headers,
                              const std::string& body, const char* content_type) {
  const ScopedSigpipeBlock no_sigpipe;  // declared first: the client's destructor writes too
  httplib::SSLClient client(url.host, url.port);
  client.enable_server_certificate_verification(true);
  if (!ca_file.empty()) client.set_ca_cert_path(ca_file);
  const auto seconds = static_cast<time_t>(timeout.count() / 1000);
  const auto micros = static_cast<time_t>((timeout.count() % 1000) * 1000);
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  client.set_keep_alive(false);
  HttpsAnswer answer;
  const auto result = client.Post(url.path.c_str(), headers, body, content_type);
  if (!result) return answer;
  answer.status = result->status;
  answer.body = result->body;
  answer.retry_after = result->get_header_value("Retry-After");
  return answer;
}

}  // namespace allthings::webhooks::detail
