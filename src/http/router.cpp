#include "http/router.h"

#include "http/query_string.h"

namespace storygate::http {
namespace {

enum class route { unknown, health, customer, customers };

route match(const std::vector<std::string>& s) {
  if (s.size() == 1 && s[0] == "healthz") return route::health;
  if (s.size() == 4 && s[0] == "api" && s[1] == "v1" && s[2] == "customer" && !s[3].empty())
    return route::customer;
  if (s.size() == 3 && s[0] == "api" && s[1] == "v1" && s[2] == "customers")
    return route::customers;
  return route::unknown;
}

api::reply unauthorized(auth::verdict v) {
  const char* why = v == auth::verdict::missing     ? "Authorization required: send Basic or Bearer credentials"
                    : v == auth::verdict::malformed ? "The Authorization header is malformed; expected 'Basic <base64 user:password>' or 'Bearer <token>'"
                                                    : "The credentials are not valid";
  auto r = api::error_reply(401, why);
  r.headers.emplace_back("WWW-Authenticate", std::string(auth::challenge));
  return r;
}

}  // namespace

void router::handle(const request& req, api::responder respond) {
  if (req.target().size() > settings_.max_url_bytes)
    return respond(api::error_reply(414, "The request URL is longer than " +
                                             std::to_string(settings_.max_url_bytes) + " bytes"));
  auto parsed = parse_target(req.target());
  if (auto* error = std::get_if<target_error>(&parsed))
    return respond(api::error_reply(400, error->message));
  auto& target = std::get<parsed_target>(parsed);

  const route r = match(target.segments);
  if (r == route::unknown)
    return respond(api::error_reply(
        404, "No such endpoint; this API serves /api/v1/customer/{id} and /api/v1/customers"));
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    auto reply = api::error_reply(405, "Only GET and HEAD are allowed here");
    reply.headers.emplace_back("Allow", "GET, HEAD");
    return respond(std::move(reply));
  }
  if (r == route::health) return respond({200, R"({"status":"ok"})", {}, 0});

  const auto verdict = auth_.check(req[bhttp::field::authorization]);
  if (verdict != auth::verdict::accepted) return respond(unauthorized(verdict));

  if (r == route::customer) {
    std::string& id = target.segments[3];
    const auto catalog = api_.current()->catalog;
    if (auto problem = api::check_customer_id(id, *catalog))
      return respond(api::error_reply(400, *problem));
    return api_.get_customer(std::move(id), std::move(respond));
  }

  auto list = api::parse_list_params(target.params, settings_.default_limit, settings_.max_limit);
  if (auto* bad = std::get_if<api::bad_request>(&list))
    return respond(api::error_reply(400, bad->message));
  auto& walk = std::get<api::list_request>(list);
  walk.client = std::to_string(std::hash<std::string_view>{}(req[bhttp::field::authorization]));
  api_.list_customers(std::move(walk), std::move(respond));
}

}  // namespace storygate::http
