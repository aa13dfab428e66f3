#pragma once

#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "deliveries.hpp"

// Drives wrk (Debian's package) against a server with the pool's pre-signed requests, replayed
// in order by a Lua script: the yardstick the built-in client is compared with, so that a
// client that saturates first cannot pass for a slow server.
namespace bench {

// What one wrk run printed.
struct WrkResult {
  double requests_per_second = 0;
  std::uint64_t requests = 0;   // completed responses
  std::uint64_t not_2xx = 0;    // "Non-2xx or 3xx responses"
  std::uint64_t socket_errors = 0;
  double p99_ms = 0;
};

// wrk's path, or empty when it is not installed.
inline std::string find_wrk() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / "wrk";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

namespace detail {

// "1.23ms" / "456.00us" / "1.02s" -> milliseconds.
inline double wrk_duration_ms(const std::string& text) {
  const double value = std::strtod(text.c_str(), nullptr);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "us") == 0) return value / 1000;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) return value;
  if (!text.empty() && text.back() == 's') return value * 1000;
  return value;
}

// The figures of wrk's report (with --latency).
inline WrkResult parse_wrk_report(const std::string& report) {
  WrkResult result;
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "Requests/sec:") {
      words >> result.requests_per_second;
    } else if (first == "99%") {
      std::string latency;
      words >> latency;
      result.p99_ms = wrk_duration_ms(latency);
    } else if (first == "Non-2xx") {
      // "Non-2xx or 3xx responses: N"
      const auto colon = line.find(':');
      result.not_2xx = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
    } else if (first == "Socket") {
      // "Socket errors: connect A, read B, write C, timeout D"
      for (std::string word; words >> word;) {
        if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) {
          result.socket_errors += std::strtoull(word.c_str(), nullptr, 10);
        }
      }
    } else if (line.find("requests in") != std::string::npos) {
      // "  123456 requests in 2.00s, 12.34MB read"
      result.requests = std::strtoull(first.c_str(), nullptr, 10);
    }
  }
  return result;
}

}  // namespace detail

// The pool's first `count` requests in a file, and the Lua script that sends them in order
// (wrapping around if wrk outruns them), in a directory removed at the end.
class WrkScript {
 public:
  WrkScript(const RequestPool& pool, std::size_t count) {
    char pattern[] = "/tmp/allthings-webhooks-wrk-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    // Length-prefixed: "<bytes>\n<request>" per request.
    std::ofstream requests(dir_ / "requests", std::ios::binary);
    for (std::size_t i = 0; i < count && i < pool.size(); ++i) {
      const auto wire = pool.request(i);
      requests << wire.size() << '\n' << wire;
    }
    std::ofstream(dir_ / "replay.lua") << R"lua(
local requests = {}
local sent = 0
function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  local at = 1
  while at <= #data do
    local newline = data:find("\n", at, true)
    local length = tonumber(data:sub(at, newline - 1))
    requests[#requests + 1] = data:sub(newline + 1, newline + length)
    at = newline + 1 + length
  end
end
function request()
  sent = sent % #requests + 1
  return requests[sent]
end
)lua";
  }
  WrkScript(const WrkScript&) = delete;
  WrkScript& operator=(const WrkScript&) = delete;
  ~WrkScript() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Runs `wrk -t1` with `connections` against 127.0.0.1:`port` for `seconds` (whole seconds).
  WrkResult run(const std::string& wrk, int port, std::size_t connections, int seconds) const {
    const std::string command = wrk + " -t1 -c" + std::to_string(connections) + " -d" +
                                std::to_string(seconds) + "s --latency -s " +
                                (dir_ / "replay.lua").string() + " http://127.0.0.1:" +
                                std::to_string(port) + "/ -- " + (dir_ / "requests").string() +
                                " 2>&1";
    FILE* out = ::popen(command.c_str(), "r");
    if (out == nullptr) throw std::runtime_error("cannot start " + wrk);
    std::string report;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, out)) > 0;) {
      report.append(buffer, n);
    }
    if (::pclose(out) != 0) throw std::runtime_error("wrk failed: " + report);
    const auto result = detail::parse_wrk_report(report);
    if (result.requests == 0) throw std::runtime_error("wrk sent nothing: " + report);
    return result;
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace bench
