#pragma once
// What the database says about the relation a mapping names: its columns,
// their types, the types of the DBA's expressions. Used at start-up, by
// `check` and on reload, never on the request path.
//
// Not thread-safe: one schema_reader per connection, one thread at a time.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace storygate::db {

// A PostgreSQL type as pg_type describes it.
struct pg_type {
  unsigned oid = 0;
  char category = 'X';  // pg_type.typcategory: 'N' numeric, 'S' string, 'A' array, ...
  std::string name;     // format_type(), e.g. "timestamp without time zone"
};

struct column_info {
  std::string name;
  pg_type type;
};

struct relation_info {
  std::string quoted_name;  // "schema"."name", ready for SQL text
  std::string display_name; // schema.name, for messages
  std::vector<column_info> columns;

  const column_info* find_column(const std::string& name) const;
};

// The database refused something the mapping asked for; what() is
// PostgreSQL's own message (never includes credentials).
class schema_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// PostgreSQL's error message reduced to its first line without "ERROR:":
// the reason, without the echo of our SQL (LINE 1: ...) that follows.
std::string first_line(const std::string& message);

class schema_reader {
 public:
  explicit schema_reader(pqxx::connection_base& connection) : connection_(connection) {}

  // Resolves a table or view name the way PostgreSQL would in a query (unquoted
  // parts fold to lower case). nullopt if there is no such relation.
  // Throws schema_error when `name` is not a valid name at all.
  std::optional<relation_info> find_relation(const std::string& name);

  // True when `column` of `relation` (SQL, quoted) has a unique index of its
  // own that covers every row (not partial): no two rows share a value, NULLs
  // aside. False for views, which have no index.
  bool unique_column(const std::string& relation, const std::string& column);

  // True when `column` of `relation` (SQL, quoted) is the first key of an index.
  bool leads_index(const std::string& relation, const std::string& column);

  // True for IANA zone names PostgreSQL knows, such as "America/Chicago".
  bool is_time_zone(const std::string& name);

  // The database's own encoding, as PostgreSQL names it: "UTF8", "WIN1252", ...
  std::string database_encoding();

  // The type of `expression` evaluated over one row of `from_clause`.
  // Throws schema_error with PostgreSQL's message when the expression is invalid.
  pg_type expression_type(const std::string& from_clause, const std::string& expression);

 private:
  pg_type describe_type(unsigned oid);
  // Whether an index of `relation` has `column` first and meets `condition` (SQL over pg_index i).
  bool index_exists(const std::string& relation, const std::string& column, const std::string& condition);

  pqxx::connection_base& connection_;
};

// Quotes a SQL identifier: "name", with embedded quotes doubled.
std::string quote_identifier(const std::string& name);

// Quotes a SQL string literal: 'text', with embedded quotes doubled.
// REQUIRES: standard_conforming_strings on (PostgreSQL's default since 9.1).
std::string quote_literal(const std::string& text);

}  // namespace storygate::db
