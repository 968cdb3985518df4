#include "auth/throttle.h"

#include <algorithm>
#include <cmath>

namespace storygate::auth {

throttle::client_state& throttle::state_of(const std::string& client, clock::time_point now) {
  auto found = clients_.find(client);
  if (found != clients_.end()) {
    recency_.splice(recency_.begin(), recency_, found->second.recency);
    return found->second;
  }
  if (clients_.size() >= options_.max_clients) {
    clients_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(client);
  client_state fresh;
  fresh.tokens = options_.rate * 2.0;
  fresh.refilled = now;
  fresh.recency = recency_.begin();
  return clients_.emplace(client, fresh).first->second;
}

std::optional<std::chrono::seconds> throttle::admit(const std::string& client) {
  const auto now = clock::now();
  std::lock_guard lock(mutex_);
  auto& s = state_of(client, now);
  if (now < s.locked_until)
    return std::chrono::ceil<std::chrono::seconds>(s.locked_until - now);
  if (options_.rate == 0) return std::nullopt;
  const double burst = options_.rate * 2.0;
  s.tokens = std::min(burst, s.tokens + std::chrono::duration<double>(now - s.refilled).count() * options_.rate);
  s.refilled = now;
  if (s.tokens >= 1.0) {
    s.tokens -= 1.0;
    return std::nullopt;
  }
  return std::chrono::seconds(std::max<long>(1, std::lround((1.0 - s.tokens) / options_.rate)));
}

void throttle::failed(const std::string& client) {
  const auto now = clock::now();
  std::lock_guard lock(mutex_);
  auto& s = state_of(client, now);
  if (now - s.window_start > options_.window) {
    s.window_start = now;
    s.failures = 0;
  }
  if (++s.failures >= options_.max_failures) {
    s.locked_until = now + options_.lockout;
    s.failures = 0;
  }
}

void throttle::succeeded(const std::string& client) {
  std::lock_guard lock(mutex_);
  if (auto found = clients_.find(client); found != clients_.end()) found->second.failures = 0;
}

}  // namespace storygate::auth
