#pragma once

// Secrets come from the environment or a file, never from argv, where `ps` and shell history
// would show them. Error messages name the variable or file, never a value.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "command.hpp"

namespace allthings::webhooks::tool {

struct SecretSources {
  std::vector<std::string> env_vars;
  std::string file;

  void add_options(CLI::App& app) {
    add_repeatable(app, "--secret-env", env_vars,
                   "Name of an environment variable holding a secret (repeatable)");
    app.add_option("--secret-file", file,
                   "File with one secret per line (blank lines and '#' lines skipped)");
  }

  // Every secret named, in order; throws naming what is missing or unreadable. The variables
  // are removed from this process's environment, so no child it starts inherits them.
  std::vector<std::string> read() const {
    std::vector<std::string> secrets;
    for (const auto& name : env_vars) {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr || *value == '\0') {
        throw std::runtime_error("the environment variable " + name + " (--secret-env) is " +
                                 (value == nullptr ? "not set" : "empty"));
      }
      secrets.emplace_back(value);
    }
    for (const auto& name : env_vars) ::unsetenv(name.c_str());
    if (!file.empty()) {
      std::ifstream in(file);
      if (!in) throw std::runtime_error("cannot read the secret file " + file);
      std::string line;
      std::size_t found = 0;
      while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        secrets.push_back(line);
        ++found;
      }
      if (in.bad()) throw std::runtime_error("cannot read the secret file " + file);
      if (found == 0) throw std::runtime_error("the secret file " + file + " holds no secret");
    }
    if (secrets.empty()) {
      throw UsageError("no secret: give --secret-env VAR or --secret-file PATH");
    }
    return secrets;
  }
};

}  // namespace allthings::webhooks::tool
