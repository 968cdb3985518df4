#include "cursors/walk_record.h"

#include <gtest/gtest.h>

namespace storygate::cursors {
namespace {

walk_position position_at(uint64_t start) { return {"fingerprint-a", "version-1", "2023-01-01 00:00:00+00", start}; }

api::sync_cursor sample() {
  api::sync_cursor c;
  c.last_updated_at = "2023-01-01 02:00:00+00";
  c.last_id = "42";
  c.baseline_count = 100;
  c.baseline_max_updated_at = "2023-01-01 10:00:00+00";
  c.continued_from = "previous-key";
  c.walk.client = "fingerprint-a";
  c.walk.pages = 3;
  c.walk.records = 15;
  c.walk.past_baseline = 2;
  c.walk.offset_pages = 1;
  return c;
}

TEST(WalkRecord, RoundTripsEveryPartOfTheWalk) {
  const auto decoded = decode_walk(position_at(15), encode_walk(position_at(15), sample()));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->last_updated_at, "2023-01-01 02:00:00+00");
  EXPECT_EQ(decoded->last_id, "42");
  EXPECT_EQ(decoded->baseline_count, 100);
  EXPECT_EQ(decoded->baseline_max_updated_at, "2023-01-01 10:00:00+00");
  EXPECT_EQ(decoded->continued_from, "previous-key");
  EXPECT_FALSE(decoded->followed);
  EXPECT_EQ(decoded->walk.client, "fingerprint-a");
  EXPECT_EQ(decoded->walk.since, "2023-01-01 00:00:00+00");
  EXPECT_EQ(decoded->walk.pages, 3u);
  EXPECT_EQ(decoded->walk.records, 15u);
  EXPECT_EQ(decoded->walk.past_baseline, 2u);
  EXPECT_EQ(decoded->walk.offset_pages, 1u);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(decoded->walk.started_at - sample().walk.started_at).count() / 1000, 0);
}

TEST(WalkRecord, AnEmptyBaselineStaysEmpty) {
  auto c = sample();
  c.baseline_max_updated_at.reset();
  const auto decoded = decode_walk(position_at(5), encode_walk(position_at(5), c));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->baseline_max_updated_at);
}

TEST(WalkRecord, IsRefusedForAnotherClientMappingWindowOrStart) {
  const auto record = encode_walk(position_at(15), sample());
  auto other = position_at(15);
  other.client = "fingerprint-b";
  EXPECT_FALSE(decode_walk(other, record));
  other = position_at(15);
  other.mapping_version = "version-2";
  EXPECT_FALSE(decode_walk(other, record));
  other = position_at(15);
  other.since = "-infinity";
  EXPECT_FALSE(decode_walk(other, record));
  EXPECT_FALSE(decode_walk(position_at(20), record));
}

TEST(WalkRecord, CorruptOrForeignValuesAreRefused) {
  const auto p = position_at(15);
  EXPECT_FALSE(decode_walk(p, ""));
  EXPECT_FALSE(decode_walk(p, "not json"));
  EXPECT_FALSE(decode_walk(p, "[]"));
  auto record = encode_walk(p, sample());
  EXPECT_FALSE(decode_walk(p, record.substr(0, record.size() - 1)));
  auto other_format = record;
  other_format.replace(other_format.find("\"format\":1"), 10, "\"format\":9");
  EXPECT_FALSE(decode_walk(p, other_format));
  auto negative = record;
  negative.replace(negative.find("\"pages\":3"), 9, "\"pages\":-3");
  EXPECT_FALSE(decode_walk(p, negative));
}

TEST(WalkRecord, KeysDifferByEveryPartAndHideTheFingerprint) {
  const auto key = store_key(position_at(15).local_key());
  EXPECT_EQ(key.rfind("storygate:walk:", 0), 0u);
  EXPECT_EQ(key.find("fingerprint"), std::string::npos);
  auto other = position_at(15);
  other.client = "fingerprint-b";
  EXPECT_NE(store_key(other.local_key()), key);
  other = position_at(15);
  other.mapping_version = "version-2";
  EXPECT_NE(store_key(other.local_key()), key);
  EXPECT_NE(store_key(position_at(20).local_key()), key);
  EXPECT_EQ(store_key(position_at(15).local_key()), key);
}

}  // namespace
}  // namespace storygate::cursors
