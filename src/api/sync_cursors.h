#pragma once
// Where each DailyStory sync left off. DailyStory pages with start/limit; when
// a request continues a walk we served (same client, same last_updated, start
// where the last page ended), we resume after the last key served instead of
// OFFSET: rows that change meanwhile move to the end of the ordering rather
// than shifting unseen rows into pages already served, and a page costs the
// same at start=990000 as at start=0.
//
// In memory, bounded in entries and age. A request that finds no cursor (a
// restart, another replica, an expired walk) falls back to OFFSET.
//
// Thread-safe.
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace storygate::api {

struct sync_cursor {
  std::string last_updated_at;  // updated_at of the last row served, as PostgreSQL's text
  std::string last_id;          // its id, as text
  // The walk's baseline, taken when it started: rows matching then, and the
  // greatest updated_at among them. Rows stamped later have changed since.
  int64_t baseline_count = 0;
  std::optional<std::string> baseline_max_updated_at;
};

class sync_cursors {
 public:
  sync_cursors(std::size_t capacity, std::chrono::seconds max_age)
      : capacity_(capacity), max_age_(max_age) {}

  static std::string key(const std::string& client, const std::string& since, uint64_t start);

  // The cursor stored under `key`, unless older than max_age.
  std::optional<sync_cursor> find(const std::string& key);
  // Stores or replaces; evicts the least recently used entry when full.
  void store(const std::string& key, sync_cursor cursor);
  std::size_t size() const;

 private:
  struct entry {
    sync_cursor cursor;
    std::chrono::steady_clock::time_point stored_at;
    std::list<std::string>::iterator recency;
  };

  const std::size_t capacity_;
  const std::chrono::seconds max_age_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> recency_;  // most recent first
};

}  // namespace storygate::api
