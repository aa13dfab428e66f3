// `webhooks list | register | update | remove` against the fake Webhooks API: each sends the
// documented input; register prints the signing secret once, on stdout only.
#include <string>
#include <vector>

#include "api_fake.hpp"

TEST_CASE("webhooks: list, register, update and remove send the documented inputs") {
  test::ToolApi fake;
  fake.api.add_webhook({{"id", "wh-1"},
                        {"description", "tickets"},
                        {"url", "https://example.com/hook"},
                        {"events", {"ticket.created"}},
                        {"urns", {"urn:allthings:app:app-1"}},
                        {"enabled", true}});

  const auto listed = fake.run({"webhooks", "list", "--app-id", "app-1"});
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(fake.api.last_variables("list")["filter"]["appId"] == "app-1");
  CHECK(test::contains(listed.out, "wh-1\tenabled\thttps://example.com/hook\tticket.created\t"
                                   "urn:allthings:app:app-1\ttickets\n"));
  CHECK(test::contains(listed.out, "1 webhook\n"));

  const auto registered = fake.run(
      {"webhooks", "register", "--description", "new", "--url", "https://example.com/new",
       "--event", "ticket.created", "--event", "ticket.updated", "--urn",
       "urn:allthings:app:app-1"});
  INFO(registered.err);
  CHECK(registered.exit_code == 0);
  CHECK(fake.api.last_variables("register")["input"] ==
        nlohmann::json{{"description", "new"},
                       {"url", "https://example.com/new"},
                       {"events", {"ticket.created", "ticket.updated"}},
                       {"urns", {"urn:allthings:app:app-1"}}});
  CHECK(test::contains(registered.out, "wh-2\tenabled\thttps://example.com/new\t"));
  CHECK(test::contains(registered.out, "secret\twhsec_generated\n"));
  CHECK_FALSE(test::contains(registered.err, "whsec_generated"));

  const auto updated =
      fake.run({"webhooks", "update", "wh-2", "--url", "https://example.com/moved", "--disable"});
  INFO(updated.err);
  CHECK(updated.exit_code == 0);
  CHECK(fake.api.last_variables("update") ==
        nlohmann::json{{"id", "wh-2"},
                       {"input", {{"url", "https://example.com/moved"}, {"enabled", false}}}});
  CHECK(test::contains(updated.out, "wh-2\tdisabled\thttps://example.com/moved\t"));

  const auto nothing = fake.run({"webhooks", "update", "wh-2"});
  CHECK(nothing.exit_code == 2);
  CHECK(test::contains(nothing.err, "nothing to change"));

  const auto removed = fake.run({"webhooks", "remove", "wh-2"});
  CHECK(removed.exit_code == 0);
  CHECK(removed.out == "removed wh-2\n");
  CHECK(fake.api.last_variables("remove") == nlohmann::json{{"id", "wh-2"}});

  const auto gone = fake.run({"webhooks", "remove", "wh-2"});
  CHECK(gone.exit_code == 1);
  CHECK(test::contains(gone.err, "remove webhook"));

  std::vector<std::string> plain_args{"webhooks", "list", "--app-id", "app-1"};
  for (auto setting : fake.settings()) {
    if (setting == fake.api.api_url()) setting = "http://127.0.0.1:1/graphql";
    plain_args.push_back(setting);
  }
  const auto plain = test::run_tool(plain_args);
  CHECK(plain.exit_code == 2);
  CHECK(test::contains(plain.err, "--api-url must be an https:// URL"));
}

TEST_CASE("webhooks and reconcile: --help on each") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"reconcile", "--help"},
           {"webhooks", "list", "--help"},
           {"webhooks", "register", "--help"},
           {"webhooks", "update", "--help"},
           {"webhooks", "remove", "--help"}}) {
    const auto help = test::run_tool(args);
    CHECK(help.exit_code == 0);
    CHECK(test::contains(help.out, "--client-secret-env"));
  }
  CHECK(test::contains(test::run_tool({"reconcile", "--help"}).out, "next serve"));
  CHECK(test::contains(test::run_tool({"webhooks", "--help"}).out, "register"));
}
