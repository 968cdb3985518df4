#pragma once
// The answers storygate should give for a scenario, computed by PostgreSQL
// with plain SQL of our own (never storygate's query builder), and JSON
// compared value by value with numbers kept as written (11.00 is not 11).
//
// One reference per test; it holds a connection (not thread-safe).
#include <pqxx/pqxx>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <optional>
#include <vector>

#include "scenario.h"

namespace storygate::differential {

// A JSON text in a canonical form: numbers exactly as written, strings
// re-escaped one way, no blanks. "<invalid JSON>" when it does not parse.
std::string canonical_json(const std::string& text);

// The canonical texts of the records of a list page, and its other members.
struct served_page {
  bool valid = false;  // parsed, with count, start, limit and records
  long long count = -1;
  std::string start, limit;
  std::vector<std::string> records;  // canonical
  std::vector<std::string> ids;      // each record's id, canonical
  std::string next;                  // "" when absent
};
served_page parse_page(const std::string& body);

// One (updated_at, id) key a list serves, with every record it may be served
// as: rows sharing the key are served once, as any one of them.
struct expected_key {
  std::string updated, id;            // as text
  std::string id_json;                // canonical
  std::vector<std::string> records;   // canonical
};

class reference {
 public:
  reference(const scenario& s, const std::string& database_url);
  ~reference();

  // The keys a list with last_updated `since` ("" = absent) serves, in order.
  std::vector<expected_key> list(const std::string& since);
  // Every id the mapping serves by id (canonical id JSON -> its id text and
  // the records it may be served as).
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> by_id();
  // Ids (as text) of rows the filter leaves out that no served row has:
  // other tenants' customers, which must not be found.
  std::vector<std::string> filtered_out_ids();
  // The canonical ids a list with `since` serves.
  std::set<std::string> listed_ids(const std::string& since);
  // Runs SQL that changes the data (the concurrent writer).
  void exec(const std::string& sql);
  long long row_count();

 private:
  std::string select_records() const;  // id, updated_at, then each field's raw value, over alias r
  std::string id_json(const std::string& id) const;  // canonical
  std::string record_json(const std::vector<std::optional<std::string>>& raw) const;
  std::string qualifies() const;       // over $1 (timestamptz text)

  const scenario& s_;
  std::unique_ptr<pqxx::connection> c_;
};

}  // namespace storygate::differential
