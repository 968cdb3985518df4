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
// A cursor a walk has moved past is kept (marked followed) until the walk
// moves on once more: a client that did not get a page and asks for it again
// is served the same rows by keyset, not shifted ones by OFFSET.
//
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace storygate::api {

// What one walk has done so far, for the summary logged when it ends.
struct sync_walk {
  std::string client;
  std::string since;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  uint64_t pages = 0;
  uint64_t records = 0;
  // Records served past the baseline count: rows changed or added while the
  // walk ran, some of them sent a second time.
  uint64_t past_baseline = 0;
  uint64_t offset_pages = 0;  // pages that could not resume by keyset
};

struct sync_cursor {
  std::string last_updated_at;  // updated_at of the last row served, as PostgreSQL's text
  std::string last_id;          // its id, as text
  // The walk's baseline, taken when it started: rows matching then, and the
  // greatest updated_at among them. Rows stamped later have changed since.
  int64_t baseline_count = 0;
  std::optional<std::string> baseline_max_updated_at;
  sync_walk walk;
  // The key of the cursor this one continued from (kept for a repeated
  // request), or empty on a walk's first cursor.
  std::string continued_from;
  // Set by mark_followed(): the walk has already moved past this cursor, so
  // a request that finds it repeats a page.
  bool followed = false;
};

class sync_cursors {
 public:
  // `abandoned` is called (without the lock held) for walks dropped before
  // they reached their end: expired or evicted.
  sync_cursors(std::size_t capacity, std::chrono::seconds max_age,
               std::function<void(const sync_walk&)> abandoned = {})
      : capacity_(capacity), max_age_(max_age), abandoned_(std::move(abandoned)) {}

  static std::string key(const std::string& client, const std::string& since, uint64_t start);

  // The cursor stored under `key`, unless older than max_age.
  std::optional<sync_cursor> find(const std::string& key);
  // Stores or replaces; evicts the least recently used entry when full.
  void store(const std::string& key, sync_cursor cursor);
  // The walk stored under `key` has moved past it: kept for a repeated
  // request, no longer reported as abandoned when it expires.
  void mark_followed(const std::string& key);
  void erase(const std::string& key);
  std::size_t size() const;

 private:
  struct entry {
    sync_cursor cursor;  // cursor.followed: see mark_followed
    std::chrono::steady_clock::time_point stored_at;
    std::list<std::string>::iterator recency;
  };

  const std::size_t capacity_;
  const std::chrono::seconds max_age_;
  const std::function<void(const sync_walk&)> abandoned_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> recency_;  // most recent first

  // Removes expired entries from the least recent end; returns the walks
  // among them that were not followed.
  std::vector<sync_walk> sweep_expired();
  // Removes the least recent entry; adds its walk to `ended` unless followed.
  void drop_oldest(std::vector<sync_walk>& ended);
};

}  // namespace storygate::api
