#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <httplib.h>

#include "../../event.hpp"
#include "../../options.hpp"
#include "../../receiver.hpp"
#include "../../reply.hpp"
#include "../text/ascii.hpp"
#include "request_stream.hpp"
#include "listener.hpp"

// The cpp-httplib side of WebhookEndpoint, the same across cpp-httplib 0.11 to 0.53: only API
// present at both ends is used.
namespace allthings::webhooks::detail {

// cpp-httplib 0.11 adds the connection's addresses as if they were request headers, next to
// any a client sent under the same names: neither is a header the client may set for a handler
// to trust, so neither reaches the Receiver (nor a durable inbox's file).
inline bool is_pseudo_header(std::string_view name) {
  for (const std::string_view pseudo : {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) {
    if (equals_ignoring_case(name, pseudo)) return true;
  }
  return false;
}

inline HeaderList copy_headers(const httplib::Headers& headers) {
  HeaderList out;
  out.reserve(headers.size());
  for (const auto& header : headers) {
    if (!is_pseudo_header(header.first)) out.push_back(header);
  }
  return out;
}

// cpp-httplib treats route patterns as regular expressions.
inline std::string escape_regex(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

inline void write_reply(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers()) res.set_header(name.c_str(), value);
  if (!reply.close_connection || RequestStream::current() != nullptr) {
    // GuardedServer closes the connection itself when the request was not read to its end.
    res.set_content(std::string(reply.body), "application/json");
    return;
  }
  // On an application's server (mount()), cpp-httplib 0.11 ignores a Connection: close set by
  // a handler and reads the unread body as the next request. A content provider that writes
  // the whole body and then reports failure makes every version close the connection once the
  // answer is out.
  res.set_content_provider(
      reply.body.size(), "application/json",
      [body = reply.body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return false;
      });
}

// Why reading the body failed, as the reply to send.
inline Reply unread_body_reply(Receiver& receiver) {
  const auto* stream = RequestStream::current();
  if (stream != nullptr && stream->failure() == RequestStream::Failure::timed_out) {
    return receiver.refuse(ErrorKind::request_timeout,
                           "request body not complete within body_timeout or read_timeout");
  }
  return receiver.refuse(ErrorKind::unreadable_body, "request body could not be read");
}

// A POST on the webhook path: the headers are checked before the body is read, and the body
// is read only up to max_body_bytes.
inline void serve_post(Receiver& receiver, const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& read_content) {
  HeaderList headers = copy_headers(req.headers);
  if (auto early = receiver.check_headers(req.method, headers)) return write_reply(res, *early);

  const auto max_body_bytes = receiver.options().max_body_bytes;
  std::string body;
  // check_headers() refused a Content-Length over max_body_bytes.
  const auto length = find_header(headers, "content-length").value_or(std::string_view());
  body.reserve(static_cast<std::size_t>(parse_decimal(length).value_or(0)));
  bool too_large = false;
  const bool complete = read_content([&](const char* data, std::size_t size) {
    if (body.size() + size > max_body_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  });
  // cpp-httplib 0.53 enforces its payload limit itself and answers 413 for us.
  if (too_large || res.status == 413) {
    return write_reply(res,
                       receiver.refuse(ErrorKind::body_too_large, "body grew over max_body_bytes"));
  }
  if (!complete) return write_reply(res, unread_body_reply(receiver));
  write_reply(res, receiver.handle_body(std::move(headers), std::move(body)));
}

// Routes the receiver's path on `server`. The routes share the receiver, so one left on an
// application's server after the endpoint is gone answers 503 {"error":"stopping"}, not a
// crash.
inline void mount_routes(httplib::Server& server, std::shared_ptr<Receiver> receiver) {
  const std::string route = escape_regex(receiver->options().path);
  server.Post(route, [receiver](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
    try {
      serve_post(*receiver, req, res, reader);
    } catch (...) {
      write_reply(res, receiver->refuse(ErrorKind::internal_error,
                                        "unexpected failure while handling a request"));
    }
  });
  auto refuse_method = [receiver](const httplib::Request& req, httplib::Response& res) {
    write_reply(res, *receiver->check_headers(req.method, copy_headers(req.headers)));
  };
  // Content-reader variants, so a refused request's body is never read.
  auto refuse_method_with_body =
      [refuse_method](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader&) { refuse_method(req, res); };
  server.Get(route, refuse_method);
  server.Options(route, refuse_method);
  server.Put(route, refuse_method_with_body);
  server.Patch(route, refuse_method_with_body);
  server.Delete(route, refuse_method_with_body);
}

// The cpp-httplib settings listen()/start() give their own server, a GuardedServer (the
// benchmark's ceiling uses the same on a plain server).
inline void configure_server(httplib::Server& server, const Options& o) {
  server.set_payload_max_length(o.max_body_bytes);
  server.set_keep_alive_max_count(o.keep_alive_max_count);
  server.set_keep_alive_timeout(static_cast<time_t>(o.keep_alive_timeout.count()));
  server.set_read_timeout(static_cast<time_t>(o.read_timeout.count()), 0);
  server.set_write_timeout(static_cast<time_t>(o.write_timeout.count()), 0);
  server.set_tcp_nodelay(true);
  server.set_socket_options(reuse_address_only);
  // Without it, cpp-httplib 0.11 to 0.34 put e.what() in a response header.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        write_reply(res, replies::internal_error);
      });
}

}  // namespace allthings::webhooks::detail
