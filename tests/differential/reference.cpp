#include "reference.h"

#include <date/date.h>
#include <date/tz.h>
#include <pqxx/pqxx>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <optional>
#include <stdexcept>

namespace storygate::differential {
namespace {

// A JSON value as parsed, numbers kept as their text.
struct keyed_node;

struct node {
  enum kind_t { null, boolean, number, string, array, object } kind = null;
  std::string text;  // boolean "true"/"false", number as written, string content
  // A vector may hold a type still incomplete here; a std::pair may not
  // (clang with libstdc++ refuses it), hence a struct of our own.
  std::vector<keyed_node> members;  // array items have empty keys
};

struct keyed_node {
  std::string first;
  node second;
};

std::string string_json(const std::string& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return buffer.GetString();
}

std::string print(const node& n) {
  switch (n.kind) {
    case node::null: return "null";
    case node::boolean:
    case node::number: return n.text;
    case node::string: return string_json(n.text);
    case node::array:
    case node::object: {
      std::string out = n.kind == node::array ? "[" : "{";
      for (std::size_t i = 0; i < n.members.size(); ++i) {
        if (i) out += ",";
        if (n.kind == node::object) out += string_json(n.members[i].first) + ":";
        out += print(n.members[i].second);
      }
      return out + (n.kind == node::array ? "]" : "}");
    }
  }
  return "?";
}

// Builds the tree from RapidJSON's events, numbers as strings.
struct tree_builder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, tree_builder> {
  node root;
  std::vector<node*> open;
  std::string key;
  bool add(node n) {
    if (open.empty()) {
      root = std::move(n);
      if (root.kind == node::array || root.kind == node::object) open.push_back(&root);
      return true;
    }
    auto& parent = *open.back();
    parent.members.push_back(keyed_node{parent.kind == node::object ? key : "", std::move(n)});
    auto& added = parent.members.back().second;
    if (added.kind == node::array || added.kind == node::object) open.push_back(&added);
    return true;
  }
  bool Null() { return add({}); }
  bool Bool(bool b) { return add({node::boolean, b ? "true" : "false", {}}); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return add({node::number, std::string(s, n), {}}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return add({node::string, std::string(s, n), {}}); }
  bool StartObject() { return add({node::object, "", {}}); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key.assign(s, n);
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    open.pop_back();
    return true;
  }
  bool StartArray() { return add({node::array, "", {}}); }
  bool EndArray(rapidjson::SizeType) {
    open.pop_back();
    return true;
  }
};

std::optional<node> parse(const std::string& text) {
  tree_builder builder;
  rapidjson::Reader reader;
  rapidjson::StringStream in(text.c_str());
  if (reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(in, builder).IsError()) return std::nullopt;
  return builder.root;
}

const node* member(const node& object, const std::string& name) {
  for (const auto& [key, value] : object.members)
    if (key == name) return &value;
  return nullptr;
}

}  // namespace

std::string canonical_json(const std::string& text) {
  const auto n = parse(text);
  return n ? print(*n) : "<invalid JSON>";
}

served_page parse_page(const std::string& body) {
  served_page page;
  const auto n = parse(body);
  if (!n || n->kind != node::object) return page;
  const node* count = member(*n, "count");
  const node* start = member(*n, "start");
  const node* limit = member(*n, "limit");
  const node* records = member(*n, "records");
  if (!count || count->kind != node::number || !start || !limit || !records || records->kind != node::array)
    return page;
  page.count = std::stoll(count->text);
  page.start = start->text;
  page.limit = limit->text;
  for (const auto& [unused, record] : records->members) {
    page.records.push_back(print(record));
    const node* id = record.kind == node::object ? member(record, "id") : nullptr;
    page.ids.push_back(id ? print(*id) : "<no id>");
  }
  if (const node* next = member(*n, "next")) page.next = next->text;
  page.valid = true;
  return page;
}

reference::reference(const scenario& s, const std::string& database_url)
    : s_(s), c_(std::make_unique<pqxx::connection>(database_url)) {
  pqxx::nontransaction tx(*c_);
  // last_updated without an offset is read in the mapping's zone.
  tx.exec("SET TimeZone = " + tx.quote(s.zone));
}

reference::~reference() = default;

std::string reference::select_records() const {
  std::string sql = "SELECT r." + quoted(s_.id_column) + "::text, (" + s_.change_sql + ")::text";
  for (const auto& f : s_.fields)
    if (f.kind != field_kind::constant) sql += ",\n  " + f.reference_sql;
  return sql + "\nFROM " + s_.relation_sql + " AS r\nWHERE r." + quoted(s_.id_column) + " IS NOT NULL" +
         (s_.filtered ? " AND " + s_.filter_sql : "");
}

std::string reference::qualifies() const {
  const std::string since = "($1::timestamptz - interval '" + std::to_string(s_.overlap_seconds) + " seconds')";
  const std::string zone = "'" + s_.source_zone + "'";
  if (s_.change_sql_type == "date") return "(" + s_.change_sql + ") >= (" + since + " AT TIME ZONE " + zone + ")::date";
  if (s_.change_sql_type == "timestamptz") return "(" + s_.change_sql + ") >= " + since;
  // The served change time is the instant the wall clock names in the source zone.
  return "((" + s_.change_sql + ") AT TIME ZONE " + zone + ") >= " + since;
}

std::string reference::id_json(const std::string& id) const {
  // Integer ids are JSON numbers; numeric ids strings (their digits kept), as the README says.
  const bool integer_id = s_.id == id_type::integer || s_.id == id_type::bigint;
  return canonical_json(integer_id ? id : string_json(id));
}

std::string reference::record_json(const std::vector<std::optional<std::string>>& raw) const {
  std::string out = "{\"id\":" + id_json(*raw[0]);
  std::size_t column = 2;
  for (const auto& f : s_.fields) {
    out += "," + string_json(f.name) + ":";
    if (f.kind == field_kind::constant) {
      out += f.constant_json;
      continue;
    }
    const auto& value = raw[column++];
    std::string json = "null";
    if (value) {
      switch (f.kind) {
        case field_kind::number:
        case field_kind::json: json = *value; break;
        case field_kind::text:
        case field_kind::date: json = string_json(*value); break;
        case field_kind::boolean: json = *value == "true" || *value == "t" ? "true" : "false"; break;
        case field_kind::datetime: json = string_json(iso_in_zone(std::stoll(*value), s_.zone)); break;
        case field_kind::dictionary: {
          const auto it = f.expected.find(*value);
          if (it == f.expected.end()) throw std::logic_error("no expectation for '" + *value + "' of " + f.name);
          json = it->second;
          break;
        }
        case field_kind::constant: break;
      }
    }
    if (json == "null" && f.default_json) json = *f.default_json;
    out += json;
  }
  return canonical_json(out + "}");
}

std::vector<expected_key> reference::list(const std::string& since) {
  pqxx::nontransaction tx(*c_);
  const std::string where = since.empty() ? "(" + s_.change_sql + ") IS NOT NULL" : qualifies();
  const std::string sql = select_records() + "\n  AND " + where + "\nORDER BY (" + s_.change_sql + "), r." +
                          quoted(s_.id_column);
  const auto rows = since.empty() ? tx.exec(sql) : tx.exec_params(sql, since);
  std::vector<expected_key> keys;
  for (const auto& row : rows) {
    std::vector<std::optional<std::string>> raw;
    for (const auto& field : row) raw.push_back(field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
    const std::string record = record_json(raw);
    if (keys.empty() || keys.back().updated != *raw[1] || keys.back().id != *raw[0]) {
      expected_key key;
      key.updated = *raw[1];
      key.id = *raw[0];
      key.id_json = id_json(key.id);
      keys.push_back(key);
    }
    keys.back().records.push_back(record);
  }
  return keys;
}

std::set<std::string> reference::listed_ids(const std::string& since) {
  std::set<std::string> ids;
  for (const auto& key : list(since)) ids.insert(key.id_json);
  return ids;
}

std::map<std::string, std::pair<std::string, std::vector<std::string>>> reference::by_id() {
  pqxx::nontransaction tx(*c_);
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& row : tx.exec(select_records())) {
    std::vector<std::optional<std::string>> raw;
    for (const auto& field : row) raw.push_back(field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
    const std::string record = record_json(raw);
    auto& entry = out[id_json(*raw[0])];
    entry.first = *raw[0];
    entry.second.push_back(record);
  }
  return out;
}

std::vector<std::string> reference::filtered_out_ids() {
  std::vector<std::string> ids;
  if (!s_.filtered) return ids;
  pqxx::nontransaction tx(*c_);
  const std::string id = "r." + quoted(s_.id_column) + "::text";
  for (const auto& row : tx.exec("SELECT " + id + " FROM " + s_.relation_sql + " AS r WHERE NOT (" + s_.filter_sql +
                                 ") AND r." + quoted(s_.id_column) + " IS NOT NULL EXCEPT SELECT " + id + " FROM " +
                                 s_.relation_sql + " AS r WHERE " + s_.filter_sql + " ORDER BY 1"))
    ids.push_back(row[0].c_str());
  return ids;
}

void reference::exec(const std::string& sql) {
  pqxx::nontransaction tx(*c_);
  tx.exec(sql);
}

long long reference::row_count() {
  pqxx::nontransaction tx(*c_);
  return tx.exec("SELECT count(*) FROM " + s_.relation_sql)[0][0].as<long long>();
}

}  // namespace storygate::differential
