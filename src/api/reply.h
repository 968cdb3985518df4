#pragma once
// A response as the API layer sees it: no sockets, no HTTP library types.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storygate::api {

struct reply {
  unsigned status = 200;
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t records = 0;  // customer records in the body, for the access log
};

// Called exactly once per request, from any thread.
using responder = std::function<void(reply)>;

// {"error": message} with `status`.
reply error_reply(unsigned status, std::string_view message);

}  // namespace storygate::api
