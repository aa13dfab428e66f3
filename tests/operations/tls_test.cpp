// HTTPS with a certificate made by `openssl req -x509` for each test, and real clients: curl
// and cpp-httplib's. This program runs with OPENSSL_CONF pointing at a configuration that lets
// OpenSSL speak TLS 1.0 and 1.1 (legacy_tls_openssl.cnf), as a system configured for old
// clients would, so that only the endpoint's own setting can refuse TLS 1.1.
#include <doctest/doctest.h>

#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <poll.h>

#include "../raw_http.hpp"
#include "../support.hpp"
#include "../thread_list.hpp"
#include "operations_support.hpp"

namespace aw = allthings::webhooks;

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
namespace {

// A self-signed certificate for 127.0.0.1 and localhost, and its key, in a scratch directory.
struct Certificate {
  Certificate() {
    const auto made =
        test::run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                          "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
                          key + "' -out '" + cert + "'");
    INFO(made.output);
    REQUIRE(made.exit_code == 0);
  }
  test::TempDir dir;
  std::string cert = dir.file("cert.pem");
  std::string key = dir.file("key.pem");
};

aw::Options tls_options(const Certificate& certificate) {
  aw::Options o = test::options();
  o.tls.certificate_file = certificate.cert;
  o.tls.private_key_file = certificate.key;
  return o;
}

// curl's exit code and the HTTP status it got ("000" when none).
struct CurlResult {
  int exit_code = -1;
  std::string status;
  std::string output;
};

CurlResult curl(const std::string& arguments) {
  const auto result =
      test::run_command("curl -s -S -o /dev/null -w '%{http_code}' --max-time 10 " + arguments);
  CurlResult out;
  out.exit_code = result.exit_code;
  out.output = result.output;
  // -w writes the status last; -S puts curl's error message before it.
  out.status = result.output.size() >= 3 ? result.output.substr(result.output.size() - 3) : "";
  return out;
}

// curl arguments that POST a signed delivery of `body` (written to `dir`).
std::string signed_post(const test::TempDir& dir, const std::string& body) {
  const auto path = dir.file("body.json");
  test::write_file(path, body);
  std::string arguments = "-H 'Content-Type: application/json' --data-binary @'" + path + "'";
  for (const auto& [name, value] : aw::testing::signed_headers(body, test::secret)) {
    arguments += " -H '" + name + ": " + value + "'";
  }
  return arguments;
}

std::string https_url(int port, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

std::unique_ptr<httplib::SSLClient> client_trusting(const Certificate& certificate, int port) {
  auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  client->set_ca_cert_path(certificate.cert.c_str());
  client->enable_server_certificate_verification(true);
  client->set_read_timeout(10, 0);
  return client;
}

std::string invalid_tls(const aw::Options& options) {
  try {
    aw::WebhookEndpoint endpoint(options);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

// Whether the peer closed `fd` (or reset it) within `limit`.
bool closed_by_peer(int fd, std::chrono::milliseconds limit) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(limit.count())) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

}  // namespace

TEST_CASE("TLS: a signed delivery is 200 over HTTPS with curl, and the probes answer there") {
  Certificate certificate;
  const auto before = test::threads();
  test::Server server(tls_options(certificate));
  server.start();
  // cpp-httplib's own pool serves HTTPS; its threads carry the library's name for that work.
  CHECK(test::eventually([&] {
    return test::started_since(before)["aw-http"] ==
           static_cast<int>(server.endpoint.options().http_threads);
  }));
  const auto cacert = "--cacert '" + certificate.cert + "' ";
  const auto delivered = curl(cacert + signed_post(certificate.dir, test::body("tls-1")) + " " +
                              https_url(server.port, "/webhooks/allthings"));
  INFO(delivered.output);
  CHECK(delivered.exit_code == 0);
  CHECK(delivered.status == "200");
  CHECK(test::eventually([&] { return server.endpoint.stats().delivered == 1; }));
  CHECK(curl(cacert + https_url(server.port, "/readyz")).status == "200");
  CHECK(curl(cacert + https_url(server.port, "/metrics")).status == "200");
  const auto forged = curl(cacert + "-H 'x-allthings-signature: " + std::string(64, 'a') +
                           "' -H 'Content-Type: application/json' --data-binary '{}' " +
                           https_url(server.port, "/webhooks/allthings"));
  CHECK(forged.status == "401");
}

TEST_CASE("TLS: cpp-httplib's client delivers to an endpoint given its certificate as PEM text") {
  Certificate certificate;
  aw::Options o = test::options();
  o.tls.certificate_pem = test::read_file(certificate.cert);
  o.tls.private_key_pem = test::read_file(certificate.key);
  test::Server server(o);
  server.start();
  auto client = client_trusting(certificate, server.port);
  const auto body = test::body("tls-pem");
  const auto res =
      client->Post("/webhooks/allthings", aw::testing::signed_headers(body, test::secret), body,
                   "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == R"({"status":"accepted"})");
  const auto ready = client->Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
}

TEST_CASE("TLS: TLS 1.1 is refused while TLS 1.2 and 1.3 are served") {
  Certificate certificate;
  test::Server server(tls_options(certificate));
  server.start();
  const auto cacert = "--cacert '" + certificate.cert + "' ";
  const auto url = https_url(server.port, "/livez");
  const auto tls11 = curl(cacert + "--tlsv1.1 --tls-max 1.1 " + url);
  INFO(tls11.output);
  CHECK(tls11.exit_code != 0);
  CHECK(tls11.status == "000");
  CHECK(curl(cacert + "--tlsv1.2 --tls-max 1.2 " + url).status == "200");
  CHECK(curl(cacert + "--tlsv1.3 " + url).status == "200");

  // The control: the same curl gets through to a server that allows TLS 1.1 (openssl
  // s_server), so the refusal above is the endpoint's doing, not the client's.
  const auto openssl = test::run_command("command -v openssl").output;
  test::ChildProcess legacy({openssl.substr(0, openssl.find('\n')), "s_server", "-accept",
                             "127.0.0.1:0", "-cert", certificate.cert, "-key", certificate.key,
                             "-www", "-tls1_1"});
  const auto accepting = legacy.wait_for_line("ACCEPT ");
  REQUIRE(accepting);
  const auto legacy_port = accepting->text.substr(accepting->text.rfind(':') + 1);
  const auto control =
      curl(cacert + "--tlsv1.1 --tls-max 1.1 https://127.0.0.1:" + legacy_port + "/");
  INFO(control.output);
  CHECK(control.status == "200");
}

TEST_CASE("TLS: the server context allows nothing older than TLS 1.2") {
  Certificate certificate;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  REQUIRE(ctx != nullptr);
  CHECK(aw::detail::configure_tls_context(ctx, tls_options(certificate).tls).empty());
  CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
  SSL_CTX_free(ctx);
}

TEST_CASE("TLS: plain HTTP to the TLS port fails cleanly and the port keeps serving") {
  Certificate certificate;
  test::Server server(tls_options(certificate));
  server.start();
  const auto plain = curl(signed_post(certificate.dir, test::body("plain")) + " http://127.0.0.1:" +
                          std::to_string(server.port) + "/webhooks/allthings");
  INFO(plain.output);
  CHECK(plain.exit_code != 0);
  CHECK(plain.status == "000");

  test::RawConnection raw(server.port);
  REQUIRE(raw.connected());
  raw.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto answer = raw.read_response_head();  // until the server closes the connection
  CHECK(answer.find("HTTP/1.1") == std::string::npos);

  auto client = client_trusting(certificate, server.port);
  const auto res = client->Get("/livez");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(server.endpoint.stats().received == 0);
}

TEST_CASE("TLS: a client that opens a connection and stalls is dropped after read_timeout") {
  Certificate certificate;
  aw::Options o = tls_options(certificate);
  o.http_threads = 8;
  o.read_timeout = 1s;
  test::Server server(o);
  server.start();
  // Four connections that never finish their handshake: one sends nothing, the others the
  // first bytes of a ClientHello.
  std::vector<std::unique_ptr<test::RawConnection>> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.push_back(std::make_unique<test::RawConnection>(server.port));
    REQUIRE(stalled.back()->connected());
    if (i > 0) stalled.back()->send(std::string("\x16\x03\x01\x02\x00\x01", 6));
  }
  auto client = client_trusting(certificate, server.port);
  const auto body = test::body("while-stalled");
  const auto res =
      client->Post("/webhooks/allthings", aw::testing::signed_headers(body, test::secret), body,
                   "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  for (auto& connection : stalled) {
    // read_timeout is 1 s; the limit only bounds a server that never lets go.
    CHECK(closed_by_peer(connection->fd(), 4s));
  }
}

TEST_CASE("TLS: certificate and key problems throw at construction, naming the problem") {
  Certificate certificate;
  Certificate other;
  aw::Options missing = tls_options(certificate);
  missing.tls.certificate_file = certificate.dir.file("no-such-cert.pem");
  CHECK(invalid_tls(missing).find("certificate_file '" + missing.tls.certificate_file + "'") !=
        std::string::npos);

  aw::Options mismatched = tls_options(certificate);
  mismatched.tls.private_key_file = other.key;
  CHECK(invalid_tls(mismatched).find("does not belong to the certificate") != std::string::npos);

  aw::Options garbage = test::options();
  garbage.tls.certificate_pem = "not a certificate";
  garbage.tls.private_key_pem = "not a key";
  CHECK(invalid_tls(garbage).find("certificate_pem") != std::string::npos);

  aw::Options encrypted = tls_options(certificate);
  const auto encrypted_key = certificate.dir.file("encrypted.pem");
  REQUIRE(test::run_command("openssl pkey -in '" + certificate.key + "' -aes256 -passout pass:x " +
                            "-out '" + encrypted_key + "'")
              .exit_code == 0);
  encrypted.tls.private_key_file = encrypted_key;
  const auto refused = invalid_tls(encrypted);
  CHECK(refused.find("private_key_file") != std::string::npos);
  CHECK(refused.find("passphrase") != std::string::npos);

  aw::Options half = test::options();
  half.tls.certificate_file = certificate.cert;
  CHECK(invalid_tls(half).find("private_key") != std::string::npos);
  // Never the key itself in a message.
  CHECK(invalid_tls(garbage).find("not a key") == std::string::npos);
}
#else
TEST_CASE("TLS: skipped, cpp-httplib was built without OpenSSL") {
  MESSAGE("SKIPPED: this cpp-httplib has no CPPHTTPLIB_OPENSSL_SUPPORT");
}
#endif
