// A Receiver behind something that is not cpp-httplib: here a serverless function that gets
// each HTTP request as a JSON document (the shape of an AWS API Gateway HTTP API event) and
// returns the response as one. The same three steps fit any other server or a replay tool:
// build the header list, call Receiver::handle, send back the Reply.
//
// Run without arguments it feeds itself a genuine, a forged and a repeated delivery and prints
// each response.
#include <allthings/webhooks.hpp>
#include <allthings/webhooks/testing.hpp>

#include <iostream>
#include <string>

namespace aw = allthings::webhooks;

// The function's entry point: request JSON in, response JSON out.
nlohmann::json handle_request(aw::Receiver& receiver, const nlohmann::json& request) {
  aw::HeaderList headers;
  const auto request_headers = request.value("headers", nlohmann::json::object());
  for (const auto& [name, value] : request_headers.items()) {
    if (value.is_string()) headers.emplace_back(name, value.get<std::string>());
  }
  const std::string method = request["requestContext"]["http"].value("method", "");
  // Base64-encoded bodies would have to be decoded first; the signature covers the raw bytes.
  const aw::Reply reply = receiver.handle(method, std::move(headers), request.value("body", ""));

  nlohmann::json response = {{"statusCode", reply.status},
                             {"headers", {{"content-type", "application/json"}}},
                             {"body", std::string(reply.body)}};
  for (const auto& [name, value] : reply.headers()) response["headers"][name] = value;
  return response;
}

nlohmann::json request_for(const std::string& body, const aw::HeaderList& signature) {
  nlohmann::json headers = {{"content-type", "application/json"}};
  for (const auto& [name, value] : signature) headers[name] = value;
  return {{"requestContext", {{"http", {{"method", "POST"}}}}},
          {"headers", headers},
          {"body", body},
          {"isBase64Encoded", false}};
}

int main() {
  const std::string secret = "whsec_serverless_example";
  aw::Options options;
  options.secrets = {secret};
  aw::Receiver receiver(options);
  receiver.on<aw::TicketCreated>([](const aw::TicketCreated& e) {
    std::cout << "handler: new ticket " << e.ticket.id << ": " << e.ticket.title << '\n';
  });
  receiver.start();

  const auto body = aw::testing::envelope_body("evt-1", "ticket.created",
                                               {{"id", "T-7"}, {"title", "Broken lift"}});
  const auto genuine = aw::testing::sign_headers(options, body, secret);
  const auto forged = aw::testing::sign_headers(options, body, "not-the-secret");

  int failures = 0;
  const auto expect = [&](const char* what, const nlohmann::json& request, int status) {
    const auto response = handle_request(receiver, request);
    std::cout << what << ": " << response.dump() << '\n';
    if (response["statusCode"] != status) ++failures;
  };
  expect("genuine ", request_for(body, genuine), 200);
  expect("forged  ", request_for(body, forged), 401);
  expect("repeated", request_for(body, genuine), 200);  // {"status":"duplicate"}
  receiver.stop();  // lets the handler finish first
  return failures == 0 ? 0 : 1;
}
