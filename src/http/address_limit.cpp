#include "http/address_limit.h"

#include "http/client_address.h"
#include "log/logger.h"

namespace storygate::http {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::shared_ptr<void> address_limit::admit(const boost::asio::ip::address& address) {
  if (per_address_ == 0) return std::make_shared<int>(0);
  std::string key = limit_key(address);
  {
    std::lock_guard lock(mutex_);
    unsigned& open = open_[key];
    if (open < per_address_) {
      ++open;
      // Points at this limit only to be non-null; the deleter gives the place back.
      return std::shared_ptr<void>(static_cast<void*>(this), [this, key = std::move(key)](void*) { release(key); });
    }
  }
  const int64_t now = now_ms();
  int64_t last = last_logged_ms_.load();
  if (now - last >= 1000 && last_logged_ms_.compare_exchange_strong(last, now))
    log::warn("connection refused: too many open from one address",
              {{"address", address.to_string()}, {"limit", static_cast<int64_t>(per_address_)}});
  return nullptr;
}

unsigned address_limit::open_from(const boost::asio::ip::address& address) const {
  std::lock_guard lock(mutex_);
  const auto found = open_.find(limit_key(address));
  return found == open_.end() ? 0 : found->second;
}

void address_limit::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto found = open_.find(key);
  if (found == open_.end()) return;
  if (--found->second == 0) open_.erase(found);
}

}  // namespace storygate::http
