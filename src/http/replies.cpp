#include "http/replies.h"

namespace storygate::http {

response make_response(api::reply reply, unsigned version, bool keep_alive, bool head) {
  response res{static_cast<bhttp::status>(reply.status), version};
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");  // unless the reply says otherwise
  // Customer data: no cache between DailyStory and us may keep a copy.
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  const auto length = reply.body.size();
  if (!head) res.body() = std::move(reply.body);
  res.content_length(length);
  return res;
}

}  // namespace storygate::http
