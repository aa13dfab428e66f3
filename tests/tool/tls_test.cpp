// serve over HTTPS with a certificate made for the test: curl reaches the probes and posts a
// delivery signed by `sign`; send reaches it with --cacert.
#include <cstdio>
#include <sys/wait.h>

#include "tool_support.hpp"

namespace {

struct Shell {
  int exit_code = -1;
  std::string out;
};

Shell shell(const std::string& command) {
  Shell result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

TEST_CASE("serve --tls-cert --tls-key: curl and send get through over HTTPS") {
  if (shell("command -v curl && command -v openssl").exit_code != 0) {
    MESSAGE("curl or openssl not installed: skipping");
    return;
  }
  test::ScratchDir dir;
  const auto cert = dir.file("cert.pem");
  const auto key = dir.file("key.pem");
  REQUIRE(shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert)
              .exit_code == 0);
  const auto done = dir.file("done");
  test::Server server({"--tls-cert", cert, "--tls-key", key, "--exec", "cat >> " + done});
  CHECK(test::contains(server.err(), "listening on https://"));

  const std::string base = "https://127.0.0.1:" + std::to_string(server.port());
  const std::string curl = "curl -s -S --max-time 10 --cacert " + cert + " ";
  CHECK(shell(curl + "-o /dev/null -w '%{http_code}' " + base + "/readyz").out == "200");
  CHECK(test::contains(shell(curl + base + "/metrics").out, "allthings_webhooks_"));

  const std::string body = R"({"event":{"id":"tls-1","name":"ticket.created","data":{}}})";
  test::write_file(dir.file("body.json"), body);
  const auto headers = test::run_tool({"sign", "--secret-env", test::secret_env}, body);
  REQUIRE(headers.exit_code == 0);
  std::string curl_headers;
  std::size_t at = 0;
  while (at < headers.out.size()) {
    const auto end = headers.out.find('\n', at);
    curl_headers += "-H '" + headers.out.substr(at, end - at) + "' ";
    at = end + 1;
  }
  const auto posted = shell(curl + "-o /dev/null -w '%{http_code}' -H 'Content-Type: "
                                   "application/json' " + curl_headers + "--data-binary @" +
                            dir.file("body.json") + " " + server.url("https"));
  CHECK(posted.out == "200");

  CHECK(test::send(server.url("https"), {"--id", "tls-2", "--cacert", cert}).exit_code == 0);
  // Without trusting the certificate, send fails and says so.
  const auto untrusted = test::send(server.url("https"), {"--id", "tls-3"});
  CHECK(untrusted.exit_code == 1);
  CHECK(test::contains(untrusted.err, "no answer from"));

  REQUIRE(test::eventually([&] {
    const auto text = test::read_file(done);
    return test::contains(text, "tls-1") && test::contains(text, "tls-2");
  }));
  CHECK(server.terminate() == 0);
}
