#pragma once

// Signing shared by `sign` and `send`.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "scheme_presets.hpp"

namespace allthings::webhooks::tool {

// --timestamp: Unix seconds, 0 meaning now.
inline std::chrono::system_clock::time_point signing_time(long long unix_seconds) {
  if (unix_seconds == 0) return std::chrono::system_clock::now();
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

// Throws with the scheme's reason, which never quotes the secret, when it cannot sign with it.
inline HeaderList sign_body(const SchemePreset& preset, std::string_view body,
                            std::string_view secret, std::chrono::system_clock::time_point at) {
  try {
    return signing_scheme(preset)->sign(body, secret, at);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("cannot sign with this " + preset.name + " secret: " + e.what());
  }
}

}  // namespace allthings::webhooks::tool
