#include "cursors/walk_record.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cursors/digest.h"

namespace storygate::cursors {
namespace {

// Bumped when the record's shape changes: replicas of two versions side by
// side (a rollout) ignore each other's records instead of misreading them.
constexpr int record_format = 1;

using clock_ms = std::chrono::milliseconds;

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<clock_ms>(t.time_since_epoch()).count();
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  const auto found = object.FindMember(name);
  return found == object.MemberEnd() ? nullptr : &found->value;
}

std::optional<std::string> text(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<uint64_t> count(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  if (!v || !v->IsUint64()) return std::nullopt;
  return v->GetUint64();
}

}  // namespace

std::string walk_position::local_key() const {
  return api::sync_cursors::key(client + "/" + mapping_version, since, start);
}

std::string store_key(const std::string& local_key) { return "storygate:walk:" + sha256_hex(local_key); }

std::string encode_walk(const walk_position& position, const api::sync_cursor& cursor) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  const auto& walk = cursor.walk;
  w.StartObject();
  w.Key("format"), w.Int(record_format);
  w.Key("client"), w.String(position.client);
  w.Key("mapping_version"), w.String(position.mapping_version);
  w.Key("since"), w.String(position.since);
  w.Key("start"), w.Uint64(position.start);
  w.Key("last_updated_at"), w.String(cursor.last_updated_at);
  w.Key("last_id"), w.String(cursor.last_id);
  w.Key("baseline_count"), w.Uint64(static_cast<uint64_t>(cursor.baseline_count));
  w.Key("baseline_max_updated_at");
  if (cursor.baseline_max_updated_at) w.String(*cursor.baseline_max_updated_at);
  else w.Null();
  w.Key("continued_from"), w.String(cursor.continued_from);
  w.Key("followed"), w.Bool(cursor.followed);
  w.Key("started_at_ms"), w.Int64(unix_ms(walk.started_at));
  w.Key("pages"), w.Uint64(walk.pages);
  w.Key("records"), w.Uint64(walk.records);
  w.Key("past_baseline"), w.Uint64(walk.past_baseline);
  w.Key("offset_pages"), w.Uint64(walk.offset_pages);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::optional<api::sync_cursor> decode_walk(const walk_position& position, const std::string& record) {
  rapidjson::Document doc;
  doc.Parse(record.c_str(), record.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const auto* format = member(doc, "format");
  if (!format || !format->IsInt() || format->GetInt() != record_format) return std::nullopt;
  // Every part of the position must match: a record of another client, an
  // older mapping or another window must never steer this walk.
  if (text(doc, "client") != position.client || text(doc, "mapping_version") != position.mapping_version ||
      text(doc, "since") != position.since || count(doc, "start") != position.start)
    return std::nullopt;

  api::sync_cursor cursor;
  const auto last_updated_at = text(doc, "last_updated_at");
  const auto last_id = text(doc, "last_id");
  const auto baseline = count(doc, "baseline_count");
  const auto continued_from = text(doc, "continued_from");
  const auto* followed = member(doc, "followed");
  const auto* started = member(doc, "started_at_ms");
  const auto* max_updated = member(doc, "baseline_max_updated_at");
  const auto pages = count(doc, "pages"), records = count(doc, "records");
  const auto past = count(doc, "past_baseline"), offset_pages = count(doc, "offset_pages");
  if (!last_updated_at || !last_id || !baseline || !continued_from || !followed || !followed->IsBool() ||
      !started || !started->IsInt64() || !max_updated || !(max_updated->IsNull() || max_updated->IsString()) ||
      !pages || !records || !past || !offset_pages || *baseline > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  cursor.last_updated_at = *last_updated_at;
  cursor.last_id = *last_id;
  cursor.baseline_count = static_cast<int64_t>(*baseline);
  if (max_updated->IsString()) cursor.baseline_max_updated_at = max_updated->GetString();
  cursor.continued_from = *continued_from;
  cursor.followed = followed->GetBool();
  auto& walk = cursor.walk;
  walk.client = position.client;
  walk.since = position.since;
  walk.started_at = std::chrono::system_clock::time_point(clock_ms(started->GetInt64()));
  // The walk's duration is reported on this replica's steady clock: started
  // as long ago as the wall clocks say.
  walk.started = std::chrono::steady_clock::now() -
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::system_clock::now() - walk.started_at);
  walk.pages = *pages;
  walk.records = *records;
  walk.past_baseline = *past;
  walk.offset_pages = *offset_pages;
  return cursor;
}

}  // namespace storygate::cursors
