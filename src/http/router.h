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
#include "config/settings.h"
#include "db/pool.h"
#include "http/replies.h"
#include "observe/metrics.h"

namespace storygate::http {

// What the session knows about the peer.
struct client_info {
  bool loopback = false;
};

class router {
 public:
  router(api::customer_api& api, const auth::authenticator& auth, const config::settings& settings,
         db::pool& pool, observe::metrics& metrics)
      : api_(api), auth_(auth), settings_(settings), pool_(pool), metrics_(metrics) {}

  // Calls `respond` exactly once, at once or later from a database worker.
  void handle(const request& req, const client_info& client, api::responder respond);

 private:
  void readiness(api::responder respond);
  bool may_read_metrics(const request& req, const client_info& client) const;

  api::customer_api& api_;
  const auth::authenticator& auth_;
  const config::settings& settings_;
  db::pool& pool_;
  observe::metrics& metrics_;
};

}  // namespace storygate::http
