#include "api/sync_cursors.h"

namespace storygate::api {

std::string sync_cursors::key(const std::string& client, const std::string& since, uint64_t start) {
  // \x1f cannot occur in any part: the client is a digest, since a normalized timestamp.
  return client + '\x1f' + since + '\x1f' + std::to_string(start);
}

std::optional<sync_cursor> sync_cursors::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - found->second.stored_at > max_age_) {
    recency_.erase(found->second.recency);
    entries_.erase(found);
    return std::nullopt;
  }
  recency_.splice(recency_.begin(), recency_, found->second.recency);
  return found->second.cursor;
}

void sync_cursors::store(const std::string& key, sync_cursor cursor) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (const auto found = entries_.find(key); found != entries_.end()) {
    found->second.cursor = std::move(cursor);
    found->second.stored_at = now;
    recency_.splice(recency_.begin(), recency_, found->second.recency);
    return;
  }
  if (capacity_ == 0) return;
  if (entries_.size() >= capacity_) {
    entries_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(key);
  entries_.emplace(key, entry{std::move(cursor), now, recency_.begin()});
}

std::size_t sync_cursors::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace storygate::api
