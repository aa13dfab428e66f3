// The TLS tests' runner. It runs with OPENSSL_CONF set to legacy_tls_openssl.cnf, which allows
// TLS 1.0 and 1.1, for itself and the curl and openssl it starts. OpenSSL reads OPENSSL_CONF
// once, when it is first initialized, and Debian's libcpp-httplib does that while it is loaded,
// before main(): so the runner sets the variable and executes itself again.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  const char* wanted = ALLTHINGS_WEBHOOKS_LEGACY_TLS_CONF;
  const char* current = ::getenv("OPENSSL_CONF");
  if (current == nullptr || std::strcmp(current, wanted) != 0) {
    ::setenv("OPENSSL_CONF", wanted, 1);
    ::execv("/proc/self/exe", argv);
    std::perror("cannot run the TLS tests again with OPENSSL_CONF set");
    return 127;
  }
  return doctest::Context(argc, argv).run();
}
