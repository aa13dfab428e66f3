#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "support.hpp"

namespace aw = allthings::webhooks;

const char* umbrella_only_kind_name();

TEST_CASE("the umbrella header links from a second translation unit") {
  CHECK(std::string(umbrella_only_kind_name()) == "queue_full");
}

TEST_CASE("HMAC-SHA256 matches the published and independently computed vectors") {
  std::ifstream file(ALLTHINGS_WEBHOOKS_VECTORS);
  REQUIRE(file.good());
  const auto vectors = nlohmann::json::parse(file).at("vectors");
  REQUIRE(vectors.size() >= 3);
  for (const auto& v : vectors) {
    CAPTURE(v.at("name").get<std::string>());
    CHECK(aw::testing::sign(v.at("message").get<std::string>(), v.at("key").get<std::string>()) ==
          v.at("hex").get<std::string>());
  }
}

// HmacSha256Key builds HMAC from SHA-256 states (RFC 2104); OpenSSL's own HMAC is the judge,
// for keys around the 64-byte block size (longer keys are hashed first) and messages around
// it, on several threads (each computes in its own scratch context).
TEST_CASE("HMAC-SHA256 equals OpenSSL's HMAC for keys and messages around the block size") {
  std::mt19937 random(2026);
  const auto bytes = [&](std::size_t n) {
    std::string text(n, '\0');
    for (char& c : text) c = static_cast<char>(random() & 0xff);
    return text;
  };
  const auto openssl_hmac = [](const std::string& key, const std::string& message) {
    aw::detail::Sha256Digest out{};
    std::size_t written = 0;
    char digest[] = "SHA256";
    static const unsigned char empty = 0;
    const auto* key_bytes = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key_bytes, key.size(),
                      reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                      out.data(), out.size(), &written) != nullptr);
    return out;
  };
  std::vector<std::pair<std::string, std::vector<std::string>>> cases;
  for (std::size_t key_size : {0, 1, 17, 63, 64, 65, 131, 200}) {
    std::vector<std::string> messages;
    for (std::size_t size : {0, 1, 55, 56, 63, 64, 65, 1127, 5000}) messages.push_back(bytes(size));
    cases.emplace_back(bytes(key_size), std::move(messages));
  }
  std::vector<aw::detail::HmacSha256Key> keys;
  for (const auto& c : cases) keys.emplace_back(c.first);
  std::atomic<int> mismatches{0}, compared{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (std::size_t k = 0; k < cases.size(); ++k) {
        for (const auto& message : cases[k].second) {
          if (keys[k].compute(message) != openssl_hmac(cases[k].first, message)) ++mismatches;
          ++compared;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(compared == 3 * 8 * 9);
  CHECK(mismatches == 0);
  // RFC 4231 case 6: a 131-byte key, hashed before use.
  const aw::detail::HmacSha256Key long_key(std::string(131, '\xaa'));
  CHECK(aw::detail::to_hex(long_key.compute("Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("timestamps are 1 to 19 digits and nothing else") {
  CHECK(aw::detail::parse_decimal("0") == 0u);
  CHECK(aw::detail::parse_decimal("1700000000000") == 1700000000000u);
  CHECK(aw::detail::parse_decimal("9999999999999999999") == 9999999999999999999u);
  CHECK_FALSE(aw::detail::parse_decimal(""));
  CHECK_FALSE(aw::detail::parse_decimal("123abc"));
  CHECK_FALSE(aw::detail::parse_decimal("+5"));
  CHECK_FALSE(aw::detail::parse_decimal("-5"));
  CHECK_FALSE(aw::detail::parse_decimal(" 5"));
  CHECK_FALSE(aw::detail::parse_decimal("12345678901234567890"));
}

TEST_CASE("automatic unit: below 10^11 is seconds, otherwise milliseconds") {
  using aw::TimestampUnit;
  CHECK(aw::detail::timestamp_to_millis(1700000000, TimestampUnit::automatic) == 1700000000000u);
  CHECK(aw::detail::timestamp_to_millis(1700000000000, TimestampUnit::automatic) == 1700000000000u);
  CHECK(aw::detail::timestamp_to_millis(5, TimestampUnit::milliseconds) == 5u);
  CHECK(aw::detail::timestamp_to_millis(5, TimestampUnit::seconds) == 5000u);
  // Saturates instead of wrapping around into the accepted window.
  CHECK(aw::detail::timestamp_to_millis(9999999999999999999u, TimestampUnit::seconds) ==
        std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("the timestamp window is [now - tolerance, now + future_skew]") {
  const auto now = std::chrono::system_clock::time_point(std::chrono::hours(500000));
  const auto ms = [&](std::chrono::milliseconds offset) {
    return static_cast<std::uint64_t>((now.time_since_epoch() + offset) / 1ms);
  };
  const auto check = [&](std::chrono::milliseconds offset) {
    return aw::detail::check_timestamp_window(ms(offset), now, 5min, 1min);
  };
  CHECK_FALSE(check(0ms));
  CHECK_FALSE(check(-5min));
  CHECK(check(-5min - 1ms) == aw::ErrorKind::stale_timestamp);
  CHECK_FALSE(check(1min));
  CHECK(check(1min + 1ms) == aw::ErrorKind::future_timestamp);
  CHECK(aw::detail::check_timestamp_window(0, now, 5min, 1min) == aw::ErrorKind::stale_timestamp);
}

namespace {
// The Allthings scheme's verdict on a request with these header values.
std::optional<aw::ErrorKind> verdict(const aw::Scheme& scheme, const std::string& signature,
                                     std::optional<std::string> timestamp,
                                     const std::string& body) {
  aw::HeaderList headers{{"x-allthings-signature", signature}};
  if (timestamp) headers.emplace_back("x-allthings-signature-timestamp", *timestamp);
  const auto refusal = scheme.verify(headers, body, std::chrono::system_clock::now());
  if (!refusal) return std::nullopt;
  return refusal->kind;
}
}  // namespace

TEST_CASE("the verifier tells each failure apart and leaves the body alone") {
  aw::Options o = test::options();
  o.secrets = {"first", "second"};
  const aw::schemes::AllthingsScheme verifier(o);
  const std::string body = R"({"event":{"name":"ticket.created"}})";
  const std::string ts = aw::testing::timestamp_millis();
  CHECK_FALSE(verdict(verifier, aw::testing::sign(body, "second"), ts, body));
  CHECK(verdict(verifier, aw::testing::sign(body, "third"), ts, body) ==
        aw::ErrorKind::signature_mismatch);
  CHECK(verdict(verifier, "zz", ts, body) == aw::ErrorKind::malformed_signature);
  CHECK(verdict(verifier, aw::testing::sign(body, "first"), std::nullopt, body) ==
        aw::ErrorKind::missing_timestamp);
  CHECK(verdict(verifier, aw::testing::sign(body, "first"), std::string("12a"), body) ==
        aw::ErrorKind::malformed_timestamp);
}

TEST_CASE("a replaceable signed-content scheme covers timestamp and body") {
  aw::Options o = test::options();
  o.signed_content = [](std::string_view ts, std::string_view body) {
    return std::string(ts) + "." + std::string(body);
  };
  const aw::schemes::AllthingsScheme verifier(o);
  const std::string body = "{}";
  const std::string ts = aw::testing::timestamp_millis();
  CHECK_FALSE(verdict(verifier, aw::testing::sign(ts + "." + body, test::secret), ts, body));
  CHECK(verdict(verifier, aw::testing::sign(body, test::secret), ts, body) ==
        aw::ErrorKind::signature_mismatch);
}

TEST_CASE("the scheme signs for tests the way it verifies, signed content included") {
  aw::Options o = test::options();
  o.signed_content = [](std::string_view ts, std::string_view body) {
    return std::string(ts) + "." + std::string(body);
  };
  const auto scheme = o.scheme(o);
  CHECK(scheme->name() == "allthings");
  const std::string body = test::body("e1");
  const auto headers = aw::testing::sign_headers(o, body, test::secret);
  CHECK(scheme->is_signed(headers));
  CHECK_FALSE(scheme->verify(headers, body, std::chrono::system_clock::now()));
  CHECK(scheme->verify(headers, body + " ", std::chrono::system_clock::now())->kind ==
        aw::ErrorKind::signature_mismatch);
  CHECK_FALSE(scheme->is_signed({{"x-allthings-signature-timestamp", "1"}}));
}

TEST_CASE("a signature right in its first half and wrong in its second is refused") {
  const aw::Options o = test::options();
  const aw::schemes::AllthingsScheme scheme(o);
  const std::string body = test::body("e1");
  const std::string ts = aw::testing::timestamp_millis();
  const std::string good = aw::testing::sign(body, test::secret);
  CHECK_FALSE(verdict(scheme, good, ts, body));
  for (const std::size_t hex_digit : {std::size_t{32}, std::size_t{63}}) {  // bytes 16 and 31
    std::string wrong = good;
    wrong[hex_digit] = wrong[hex_digit] == '0' ? '1' : '0';
    CHECK(verdict(scheme, wrong, ts, body) == aw::ErrorKind::signature_mismatch);
  }
}

TEST_CASE("the automatic timestamp unit switches from seconds to milliseconds exactly at 10^11") {
  using aw::TimestampUnit;
  CHECK(aw::detail::timestamp_to_millis(99999999999u, TimestampUnit::automatic) ==
        99999999999000u);
  CHECK(aw::detail::timestamp_to_millis(100000000000u, TimestampUnit::automatic) ==
        100000000000u);

  // A whole verification at the boundary, on the millisecond side (the seconds side lies past
  // the year 2262, beyond what system_clock holds).
  const std::string body = test::body("e1");
  const auto at_millis = [](std::uint64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  };
  aw::Options o = test::options();
  const aw::schemes::AllthingsScheme scheme(o);
  const auto verify_at = [&](const std::string& timestamp, std::uint64_t now_ms) {
    const aw::HeaderList headers{{"x-allthings-signature", aw::testing::sign(body, test::secret)},
                                 {"x-allthings-signature-timestamp", timestamp}};
    return scheme.verify(headers, body, at_millis(now_ms));
  };
  CHECK_FALSE(verify_at("100000000000", 100000000000u));
  CHECK_FALSE(verify_at("100000000001", 100000000000u));
}
