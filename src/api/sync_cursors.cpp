#include "api/sync_cursors.h"

namespace storygate::api {

std::string sync_cursors::key(const std::string& client, const std::string& since, uint64_t start) {
  // \x1f cannot occur in any part: the client is a digest, since a normalized timestamp.
  return client + '\x1f' + since + '\x1f' + std::to_string(start);
}

std::optional<sync_cursor> sync_cursors::find(const std::string& key) {
  std::optional<sync_cursor> result;
  std::vector<sync_walk> ended;
  {
    std::lock_guard lock(mutex_);
    ended = sweep_expired();
    // Recency follows store() only, so the list stays in order of age.
    if (const auto found = entries_.find(key); found != entries_.end()) result = found->second.cursor;
  }
  if (abandoned_)
    for (const auto& walk : ended) abandoned_(walk);
  return result;
}

void sync_cursors::store(const std::string& key, sync_cursor cursor) {
  std::vector<sync_walk> ended;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    ended = sweep_expired();
    if (const auto found = entries_.find(key); found != entries_.end()) {
      found->second.cursor = std::move(cursor);
      found->second.stored_at = now;
      recency_.splice(recency_.begin(), recency_, found->second.recency);
    } else if (capacity_ > 0) {
      if (entries_.size() >= capacity_) drop_oldest(ended);
      recency_.push_front(key);
      entries_.emplace(key, entry{std::move(cursor), now, recency_.begin()});
    }
  }
  if (abandoned_)
    for (const auto& walk : ended) abandoned_(walk);
}

void sync_cursors::mark_followed(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (const auto found = entries_.find(key); found != entries_.end()) found->second.cursor.followed = true;
}

void sync_cursors::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (const auto found = entries_.find(key); found != entries_.end()) {
    recency_.erase(found->second.recency);
    entries_.erase(found);
  }
}

std::vector<sync_walk> sync_cursors::sweep_expired() {
  std::vector<sync_walk> ended;
  const auto now = std::chrono::steady_clock::now();
  while (!recency_.empty() && now - entries_.find(recency_.back())->second.stored_at > max_age_)
    drop_oldest(ended);
  return ended;
}

void sync_cursors::drop_oldest(std::vector<sync_walk>& ended) {
  const auto oldest = entries_.find(recency_.back());
  if (!oldest->second.cursor.followed) ended.push_back(std::move(oldest->second.cursor.walk));
  entries_.erase(oldest);
  recency_.pop_back();
}

std::size_t sync_cursors::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace storygate::api
