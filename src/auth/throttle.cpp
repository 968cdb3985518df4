#include "auth/throttle.h"

#include <algorithm>
#include <cmath>

namespace storygate::auth {

throttle::client_state& throttle::state_of(const std::string& client, clock::time_point now) {
  // Lockouts that have ended go back among the clients in good standing
  // (dropped: nothing of theirs is worth keeping), so locked_ holds only
  // clients still locked out.
  while (!locked_.empty() && clients_.at(locked_.front()).locked_until <= now) {
    const std::string done = locked_.front();
    locked_.pop_front();
    if (done != client) {
      clients_.erase(done);
      continue;
    }
    auto& s = clients_.at(done);
    recency_.push_front(done);
    s.position = recency_.begin();
    s.locked_list = false;
  }
  auto found = clients_.find(client);
  if (found != clients_.end()) {
    if (!found->second.locked_list) recency_.splice(recency_.begin(), recency_, found->second.position);
    return found->second;
  }
  if (recency_.size() >= options_.max_clients) {
    clients_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(client);
  client_state fresh;
  fresh.tokens = options_.rate * 2.0;
  fresh.refilled = now;
  fresh.position = recency_.begin();
  return clients_.emplace(client, fresh).first->second;
}

void throttle::lock(client_state& s, const std::string& client, clock::time_point now) {
  s.locked_until = now + options_.lockout;
  s.failures = 0;
  if (!s.locked_list) {
    recency_.erase(s.position);
    // Every lockout lasts as long, so the newest ends last.
    locked_.push_back(client);
    s.position = std::prev(locked_.end());
    s.locked_list = true;
  }
  if (locked_.size() > options_.max_clients) {
    clients_.erase(locked_.front());
    locked_.pop_front();
  }
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
  std::lock_guard guard(mutex_);
  auto& s = state_of(client, now);
  if (now - s.window_start > options_.window) {
    s.window_start = now;
    s.failures = 0;
  }
  if (++s.failures >= options_.max_failures) lock(s, client, now);
}

void throttle::succeeded(const std::string& client) {
  std::lock_guard lock(mutex_);
  if (auto found = clients_.find(client); found != clients_.end()) found->second.failures = 0;
}

std::size_t throttle::tracked() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

}  // namespace storygate::auth
