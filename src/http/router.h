#pragma once
// Decides what a request gets: routing, method, authentication and parameter
// checks happen here, before any database connection is borrowed; then the
// API (or an operational endpoint) does the rest. Socket-free: sessions call
// handle() and send the reply.
//
// Thread-safe.
#include <string>

#include "api/customer_api.h"
#include "auth/authenticator.h"
#include "auth/throttle.h"
#include "config/settings.h"
#include "db/pool.h"
#include "http/replies.h"
#include "observe/metrics.h"

namespace storygate::http {

// Who the request comes from: the client address, proxies taken into account
// (http/client_address.h).
struct client_info {
  bool loopback = false;  // for --metrics-access loopback
  std::string key;        // http::limit_key of the address: lockout and rate limit count under it
  // The connection's memory of the header it last had accepted; null for none.
  auth::remembered_credential* credential = nullptr;
};

class router {
 public:
  router(api::customer_api& api, const auth::authenticator& auth, auth::throttle& throttle,
         const config::settings& settings, db::pool& pool, observe::metrics& metrics)
      : api_(api), auth_(auth), throttle_(throttle), settings_(settings), pool_(pool), metrics_(metrics) {}

  // Calls `respond` exactly once, at once or later from a database worker.
  void handle(const request& req, const client_info& client, api::responder respond);

 private:
  void readiness(api::responder respond);
  bool may_read_metrics(const request& req, const client_info& client) const;
  // nullopt when the request may go on; else the reply refusing it.
  std::optional<api::reply> authenticate(const request& req, const client_info& client);

  api::customer_api& api_;
  const auth::authenticator& auth_;
  auth::throttle& throttle_;
  const config::settings& settings_;
  db::pool& pool_;
  observe::metrics& metrics_;
};

}  // namespace storygate::http
