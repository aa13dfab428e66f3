#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "error.hpp"
#include "event.hpp"

namespace allthings::webhooks {

struct Options;

// Why a scheme refused a request's signature. `kind` is one of malformed_signature,
// signature_mismatch, missing_timestamp, malformed_timestamp, stale_timestamp and
// future_timestamp; `message` is a fixed text naming the header at fault, never secret
// material.
struct Refusal {
  ErrorKind kind;
  std::string message;
};

// How a sender signs its deliveries and where it puts an event's id and name. A Receiver
// builds one from its Options (through Options::scheme) and calls it from every HTTP thread
// at once, so every method must be thread-safe; keys are prepared in the constructor.
//
// An implementation verifies over the exact bytes received, compares in constant time, and
// tries every configured secret, so the time taken does not tell which one matched.
class Scheme {
 public:
  virtual ~Scheme() = default;

  // A short name, e.g. "allthings".
  virtual std::string_view name() const = 0;

  // False when the request carries no signature at all: the unsigned policy decides then.
  // Header names are compared without regard to case.
  virtual bool is_signed(const HeaderList& headers) const = 0;

  // Nothing when the request is authentic and fresh at `now`; otherwise why not.
  virtual std::optional<Refusal> verify(const HeaderList& headers, std::string_view body,
                                        std::chrono::system_clock::time_point now) const = 0;

  // The event's id and name when the sender puts them in headers (or derives them from the
  // body in its own way); empty means "read it from the body at Options::envelope".
  virtual std::string event_id(const HeaderList& /*headers*/) const { return {}; }
  virtual std::string event_name(const HeaderList& /*headers*/) const { return {}; }

  // The headers a genuine delivery of `body` at `at` carries when signed with `secret`: for
  // tests and for sending test deliveries.
  virtual HeaderList sign(std::string_view body, std::string_view secret,
                          std::chrono::system_clock::time_point at) const = 0;
};

// Builds a receiver's scheme from its options (secrets, timestamp window, ...). Throws
// std::invalid_argument naming the field when the options do not suit the scheme.
using SchemeFactory = std::function<std::shared_ptr<const Scheme>(const Options&)>;

}  // namespace allthings::webhooks
