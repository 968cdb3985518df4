#include "api/sync_cursors.h"

#include <gtest/gtest.h>

#include <thread>

namespace storygate::api {
namespace {

using namespace std::chrono_literals;

sync_cursor cursor_at(const std::string& last_id) {
  sync_cursor c;
  c.last_updated_at = "2024-01-01 00:00:00";
  c.last_id = last_id;
  c.walk.client = "client-" + last_id;
  return c;
}

TEST(SyncCursors, FindsWhatWasStoredUnderTheSameKey) {
  sync_cursors cursors(10, 60s);
  const auto key = sync_cursors::key("c", "-infinity", 1000);
  cursors.store(key, cursor_at("7"));
  ASSERT_TRUE(cursors.find(key));
  EXPECT_EQ(cursors.find(key)->last_id, "7");
  EXPECT_FALSE(cursors.find(sync_cursors::key("c", "-infinity", 2000)));
  EXPECT_FALSE(cursors.find(sync_cursors::key("other", "-infinity", 1000)));
}

TEST(SyncCursors, AFollowedCursorIsStillFoundAndSaysSo) {
  sync_cursors cursors(10, 60s);
  const auto key = sync_cursors::key("c", "-infinity", 1000);
  cursors.store(key, cursor_at("7"));
  EXPECT_FALSE(cursors.find(key)->followed);
  cursors.mark_followed(key);
  ASSERT_TRUE(cursors.find(key));
  EXPECT_TRUE(cursors.find(key)->followed);
}

TEST(SyncCursors, EvictionReportsOnlyWalksNotFollowed) {
  std::vector<std::string> abandoned;
  sync_cursors cursors(2, 60s, [&](const sync_walk& w) { abandoned.push_back(w.client); });
  cursors.store("a", cursor_at("1"));
  cursors.store("b", cursor_at("2"));
  cursors.mark_followed("a");
  cursors.store("c", cursor_at("3"));  // evicts a: followed, so not abandoned
  cursors.store("d", cursor_at("4"));  // evicts b: abandoned
  EXPECT_EQ(abandoned, (std::vector<std::string>{"client-2"}));
  EXPECT_EQ(cursors.size(), 2u);
  EXPECT_FALSE(cursors.find("a"));
}

TEST(SyncCursors, ExpiryReportsOnlyWalksNotFollowed) {
  std::vector<std::string> abandoned;
  // Nothing outlives a zero age: each call sweeps what was there before.
  sync_cursors cursors(10, 0s, [&](const sync_walk& w) { abandoned.push_back(w.client); });
  cursors.store("a", cursor_at("1"));
  cursors.mark_followed("a");
  cursors.store("b", cursor_at("2"));  // sweeps a, followed: not abandoned
  std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(cursors.find("a"));
  EXPECT_EQ(abandoned, (std::vector<std::string>{"client-2"}));
  EXPECT_EQ(cursors.size(), 0u);
}

TEST(SyncCursors, StoringOverAKeyReplacesItsCursor) {
  sync_cursors cursors(10, 60s);
  cursors.store("a", cursor_at("1"));
  cursors.mark_followed("a");
  cursors.store("a", cursor_at("9"));
  EXPECT_EQ(cursors.find("a")->last_id, "9");
  EXPECT_FALSE(cursors.find("a")->followed);
  EXPECT_EQ(cursors.size(), 1u);
}

TEST(SyncCursors, NoCapacityStoresNothing) {
  sync_cursors cursors(0, 60s);
  cursors.store("a", cursor_at("1"));
  EXPECT_FALSE(cursors.find("a"));
}

}  // namespace
}  // namespace storygate::api
