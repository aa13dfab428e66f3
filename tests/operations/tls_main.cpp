// The TLS tests' runner. OpenSSL reads OPENSSL_CONF once, when it is first used, so setting it
// before any test runs gives this program, and the curl and openssl it starts, the
// configuration in legacy_tls_openssl.cnf, which allows TLS 1.0 and 1.1.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <stdlib.h>

int main(int argc, char** argv) {
  ::setenv("OPENSSL_CONF", ALLTHINGS_WEBHOOKS_LEGACY_TLS_CONF, 1);
  return doctest::Context(argc, argv).run();
}
