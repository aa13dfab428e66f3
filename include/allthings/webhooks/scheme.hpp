#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/text/media_type.hpp"
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

// Where a JSON body holds the event's fields, as JSON pointers (RFC 6901). Allthings does not
// publish a payload; these defaults follow its example code. An empty pointer is the whole body:
// for data, that is the body itself; for the others it names nothing (the body is an object,
// never a string or a number).
struct EnvelopePaths {
  std::string id = "/event/id";
  std::string name = "/event/name";
  std::string data = "/event/data";
  std::string urn = "/event/urn";
  std::string created_date = "/event/createdDate";
};

// An event's id and name. An empty id is later derived from the body's bytes
// ("sha256:<hex>"); an empty name refuses the delivery (400 missing_event_name).
struct EventIdentity {
  std::string id;
  std::string name;
};

// What a scheme's request bodies are and where the event is in them. The defaults are
// Allthings': a JSON object, with the fields at Options::envelope.
struct BodyFormat {
  // How a body is read, by its Content-Type.
  enum class Reading {
    json,         // must be a JSON object (400 otherwise); fields at the envelope's pointers
    opaque,       // verified and delivered as received, never parsed; data() is null
    unsupported,  // 415 before the body is read
  };

  // Where a JSON body holds the event's fields; nullopt: Options::envelope.
  std::optional<EnvelopePaths> envelope;

  // Media types (without parameters, any case) whose bodies are opaque bytes, e.g. Slack's
  // "application/x-www-form-urlencoded". JSON media types and a missing Content-Type always
  // read as JSON; every other type is unsupported.
  std::vector<std::string> opaque_media_types;

  Reading read_as(std::string_view content_type) const {
    if (detail::trim(content_type).empty()) return Reading::json;  // no Content-Type
    const auto type = detail::media_type_of(content_type);
    if (detail::is_json_media_type(type)) return Reading::json;
    for (const auto& opaque : opaque_media_types) {
      if (detail::equals_ignoring_case(type, opaque)) return Reading::opaque;
    }
    return Reading::unsupported;
  }
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

  // The event's id and name when the sender puts them in headers; empty means "read it from
  // the body" (see identify()).
  virtual std::string event_id(const HeaderList& /*headers*/) const { return {}; }
  virtual std::string event_name(const HeaderList& /*headers*/) const { return {}; }

  // What the bodies are and where their fields sit. Called for every request: keep the
  // format in a member and return it.
  virtual const BodyFormat& body_format() const {
    static const BodyFormat allthings_format;
    return allthings_format;
  }

  // The event's id and name for a verified delivery. `from_json` holds what a JSON body has at
  // the envelope's id and name pointers (empty strings where it has nothing); it is nullopt
  // for an opaque body. The default takes event_id() and event_name() where they give
  // something, and the body's fields otherwise.
  virtual EventIdentity identify(const HeaderList& headers, std::string_view /*body*/,
                                 std::optional<EventIdentity> from_json) const {
    EventIdentity identity = from_json ? std::move(*from_json) : EventIdentity{};
    if (auto id = event_id(headers); !id.empty()) identity.id = std::move(id);
    if (auto name = event_name(headers); !name.empty()) identity.name = std::move(name);
    return identity;
  }

  // The headers a genuine delivery of `body` at `at` carries when signed with `secret`: for
  // tests and for sending test deliveries.
  virtual HeaderList sign(std::string_view body, std::string_view secret,
                          std::chrono::system_clock::time_point at) const = 0;
};

// Builds a receiver's scheme from its options (secrets, timestamp window, ...). Throws
// std::invalid_argument naming the field when the options do not suit the scheme.
using SchemeFactory = std::function<std::shared_ptr<const Scheme>(const Options&)>;

}  // namespace allthings::webhooks
