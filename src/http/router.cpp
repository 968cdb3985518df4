#include "http/router.h"

#include <algorithm>

#include "api/openapi.h"
#include "codec/gzip_stream.h"
#include "http/compression.h"
#include "http/query_string.h"

namespace storygate::http {
namespace {

enum class route { unknown, health, ready, metrics, openapi, customer, customers };

std::string_view name(route r) {
  switch (r) {
    case route::health: return "healthz";
    case route::ready: return "readyz";
    case route::metrics: return "metrics";
    case route::openapi: return "openapi";
    case route::customer: return "customer";
    case route::customers: return "customers";
    default: return "unknown";
  }
}

route match(const std::vector<std::string>& s) {
  if (s.size() == 1 && s[0] == "healthz") return route::health;
  if (s.size() == 1 && s[0] == "readyz") return route::ready;
  if (s.size() == 1 && s[0] == "metrics") return route::metrics;
  if (s.size() < 3 || s[0] != "api" || s[1] != "v1") return route::unknown;
  if (s.size() == 4 && s[2] == "customer" && !s[3].empty()) return route::customer;
  if (s.size() == 3 && s[2] == "customers") return route::customers;
  if (s.size() == 3 && s[2] == "openapi.json") return route::openapi;
  return route::unknown;
}

api::reply unauthorized(auth::verdict v) {
  const char* why = v == auth::verdict::missing ? "Authorization required: send Basic or Bearer credentials"
                    : v == auth::verdict::malformed
                        ? "The Authorization header is malformed; expected 'Basic <base64 user:password>' or 'Bearer <token>'"
                        : "The credentials are not valid";
  auto r = api::error_reply(401, why);
  r.headers.emplace_back("WWW-Authenticate", std::string(auth::challenge));
  return r;
}

api::reply text_reply(std::string body, std::string content_type) {
  api::reply r;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}

}  // namespace

void router::handle(const request& req, const client_info& client, api::responder respond) {
  if (req.target().size() > settings_.max_url_bytes)
    return respond(api::error_reply(414, "The request URL is longer than " +
                                             std::to_string(settings_.max_url_bytes) + " bytes"));
  auto parsed = parse_target(req.target());
  if (auto* error = std::get_if<target_error>(&parsed))
    return respond(api::error_reply(400, error->message));
  auto& target = std::get<parsed_target>(parsed);

  const route r = match(target.segments);
  const bool gzip_ok = accepts_gzip(req[bhttp::field::accept_encoding]);
  // Every reply from here on is counted, by route and status, and large ones
  // are compressed when the client accepts it (on the thread that built it),
  // unless already compressed as written (list pages: api/page_writer.h).
  respond = [respond = std::move(respond), &metrics = metrics_, r, gzip_ok,
             started = std::chrono::steady_clock::now()](api::reply reply) {
    metrics.request_done(name(r), reply.status, std::chrono::steady_clock::now() - started);
    const bool encoded = std::any_of(reply.headers.begin(), reply.headers.end(),
                                     [](const auto& h) { return h.first == "Content-Encoding"; });
    if (gzip_ok && !encoded && reply.body.size() >= codec::min_compressed_bytes) {
      if (auto compressed = gzip(reply.body)) {
        reply.body = std::move(*compressed);
        reply.headers.emplace_back("Content-Encoding", "gzip");
      }
    }
    reply.headers.emplace_back("Vary", "Accept-Encoding");
    respond(std::move(reply));
  };

  if (r == route::unknown)
    return respond(api::error_reply(
        404, "No such endpoint; this API serves /api/v1/customer/{id} and /api/v1/customers"));
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    auto reply = api::error_reply(405, "Only GET and HEAD are allowed here");
    reply.headers.emplace_back("Allow", "GET, HEAD");
    return respond(std::move(reply));
  }
  if (r == route::health) return respond({200, R"({"status":"ok"})", {}, 0});
  if (r == route::ready) return readiness(std::move(respond));
  if (r == route::metrics) {
    if (!may_read_metrics(req, client)) {
      if (auto refused = authenticate(req, client)) return respond(std::move(*refused));
    }
    return respond(text_reply(metrics_.render(pool_.snapshot()), "text/plain; version=0.0.4; charset=utf-8"));
  }

  if (auto refused = authenticate(req, client)) return respond(std::move(*refused));

  const auto mapping = api_.current();
  if (r == route::openapi)
    return respond({200, api::openapi_document(*mapping->catalog, settings_.default_limit, settings_.max_limit), {}, 0});

  if (r == route::customer) {
    std::string& id = target.segments[3];
    if (auto problem = api::check_customer_id(id, *mapping->catalog))
      return respond(api::error_reply(400, *problem));
    return api_.get_customer(std::move(id), std::move(respond));
  }

  auto list = api::parse_list_params(target.params, settings_.default_limit, settings_.max_limit);
  if (auto* bad = std::get_if<api::bad_request>(&list)) return respond(api::error_reply(400, bad->message));
  auto& walk = std::get<api::list_request>(list);
  walk.client = auth::client_fingerprint(req[bhttp::field::authorization]);
  walk.gzip = gzip_ok;
  api_.list_customers(std::move(walk), std::move(respond));
}

// Ready when a server answered its last health check (at most a second or
// so ago) and does not lag too far: what the pool's own checks found, so a
// flood of probes costs the database nothing and is answered even while
// every pooled connection is busy. Which server is down, and why, is for the
// log and `check`, not for an unauthenticated caller.
void router::readiness(api::responder respond) {
  const bool ready = !pool_.not_ready_reason();
  metrics_.readiness_checked(ready);
  if (!ready) return respond(api::failure_reply(db::failure::unavailable));
  respond({200, R"({"status":"ready"})", {}, 0});
}

bool router::may_read_metrics(const request&, const client_info& client) const {
  switch (settings_.metrics_access) {
    case config::metrics_audience::open: return true;
    case config::metrics_audience::loopback: return client.loopback;
    case config::metrics_audience::credentials: break;
  }
  return false;
}

std::optional<api::reply> router::authenticate(const request& req, const client_info& client) {
  // A client that keeps failing is refused before its credentials are read.
  if (auto wait = throttle_.admit(client.key)) {
    auto reply = api::error_reply(429, "Too many requests from this address; retry after " +
                                           std::to_string(wait->count()) + " seconds");
    reply.headers.emplace_back("Retry-After", std::to_string(wait->count()));
    return reply;
  }
  const auto header = req[bhttp::field::authorization];
  const auto verdict = client.credential ? auth_.check(header, *client.credential) : auth_.check(header);
  if (verdict == auth::verdict::accepted) {
    throttle_.succeeded(client.key);
    return std::nullopt;
  }
  metrics_.auth_failure();
  throttle_.failed(client.key);
  return unauthorized(verdict);
}

}  // namespace storygate::http
