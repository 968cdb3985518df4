#pragma once
// Decides what a request gets: routing, method, authentication and parameter
// checks happen here, before any database connection is borrowed; then the
// API does the rest. Socket-free: sessions call handle() and send the reply.
//
// Thread-safe.
#include <string>

#include "api/customer_api.h"
#include "auth/authenticator.h"
#include "config/settings.h"
#include "http/replies.h"

namespace storygate::http {

class router {
 public:
  router(api::customer_api& api, const auth::authenticator& auth, const config::settings& settings)
      : api_(api), auth_(auth), settings_(settings) {}

  // Calls `respond` exactly once, at once or later from a database worker.
  void handle(const request& req, api::responder respond);

 private:
  api::customer_api& api_;
  const auth::authenticator& auth_;
  const config::settings& settings_;
};

}  // namespace storygate::http
