// Allthings' signature and timestamp check on arbitrary headers and bodies, against an
// independent verdict: OpenSSL's one-shot HMAC() over the body, hex decoded here, and the
// timestamp window computed in 128-bit arithmetic.
#include <allthings/webhooks/options.hpp>

#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

namespace {

namespace aw = allthings::webhooks;

void require(bool condition) {
  if (!condition) std::abort();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 32 bytes that 64 hex digits spell, or an empty string.
std::string decode_hex64(const std::string& text) {
  if (text.size() != 64) return {};
  std::string out;
  for (std::size_t i = 0; i < 64; i += 2) {
    const int high = hex_value(text[i]), low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return {};
    out += static_cast<char>(high * 16 + low);
  }
  return out;
}

std::string hmac(const std::string& key, const std::string& body) {
  unsigned char out[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool all_digits(const std::string& text) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  aw::Options options;
  options.secrets = {"first-secret", input.ConsumeRandomLengthString(80)};
  if (options.secrets[1].empty()) options.secrets.pop_back();
  options.timestamp_unit = input.PickValueInArray(
      {aw::TimestampUnit::automatic, aw::TimestampUnit::seconds, aw::TimestampUnit::milliseconds});
  options.require_timestamp = input.ConsumeBool();
  const bool sign_correctly = input.ConsumeBool();
  const bool send_timestamp = input.ConsumeBool();
  std::string timestamp = input.ConsumeRandomLengthString(24);
  std::string signature = input.ConsumeRandomLengthString(70);
  const std::string body = input.ConsumeRemainingBytesAsString();

  const auto now = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56));
  const auto scheme = options.scheme(options);
  if (sign_correctly) {
    const auto signed_headers = scheme->sign(body, options.secrets.back(), now);
    signature = std::string(*aw::find_header(signed_headers, "x-allthings-signature"));
    if (!send_timestamp) timestamp.clear();
  }
  aw::HeaderList headers = {{"x-allthings-signature", signature}};
  if (send_timestamp) headers.emplace_back("x-allthings-signature-timestamp", timestamp);
  const auto refusal = scheme->verify(headers, body, now);

  // The independent verdict, in the order the scheme checks.
  const std::string expected = decode_hex64(signature);
  if (expected.empty()) {
    require(refusal && refusal->kind == aw::ErrorKind::malformed_signature);
    return 0;
  }
  if (send_timestamp && !all_digits(timestamp)) {
    require(refusal && refusal->kind == aw::ErrorKind::malformed_timestamp);
    return 0;
  }
  if (!send_timestamp && options.require_timestamp) {
    require(refusal && refusal->kind == aw::ErrorKind::missing_timestamp);
    return 0;
  }
  bool matches = false;
  for (const auto& secret : options.secrets) matches |= hmac(secret, body) == expected;
  if (!matches) {
    require(refusal && refusal->kind == aw::ErrorKind::signature_mismatch);
    return 0;
  }
  if (!send_timestamp) {
    require(!refusal);
    return 0;
  }
  const unsigned __int128 value = std::stoull(timestamp);
  const bool seconds = options.timestamp_unit == aw::TimestampUnit::seconds ||
                       (options.timestamp_unit == aw::TimestampUnit::automatic &&
                        value < 100000000000ULL);
  const unsigned __int128 millis = seconds ? value * 1000 : value;
  const unsigned __int128 now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const unsigned __int128 tolerance_ms = 5 * 60 * 1000, skew_ms = 60 * 1000;
  if (millis + tolerance_ms < now_ms) {
    require(refusal && refusal->kind == aw::ErrorKind::stale_timestamp);
  } else if (millis > now_ms + skew_ms) {
    require(refusal && refusal->kind == aw::ErrorKind::future_timestamp);
  } else {
    require(!refusal);
  }
  return 0;
}
