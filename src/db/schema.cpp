#include "db/schema.h"

#include <pqxx/pqxx>

namespace storygate::db {
namespace {

// PostgreSQL's message without the "LINE 1: <our SQL>" context that follows it.
}  // namespace

std::string first_line(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  if (line.rfind("ERROR:", 0) == 0) line = line.substr(line.find_first_not_of(' ', 6));
  return line;
}

const column_info* relation_info::find_column(const std::string& name) const {
  for (const auto& column : columns)
    if (column.name == name) return &column;
  // An unquoted name in SQL folds to lower case; accept what the DBA would
  // have typed in psql.
  std::string folded = name;
  for (auto& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const auto& column : columns)
    if (column.name == folded) return &column;
  return nullptr;
}

std::optional<relation_info> schema_reader::find_relation(const std::string& name) {
  pqxx::read_transaction tx(connection_);
  pqxx::result found;
  try {
    found = tx.exec_params(
        "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
        "       n.nspname || '.' || c.relname"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
        name);
  } catch (const pqxx::sql_error& e) {
    throw schema_error(first_line(e.what()));
  }
  if (found.empty()) return std::nullopt;

  relation_info relation;
  relation.quoted_name = found[0][1].c_str();
  relation.display_name = found[0][2].c_str();
  const auto columns = tx.exec_params(
      "SELECT a.attname, a.atttypid, t.typcategory, format_type(a.atttypid, a.atttypmod)"
      "  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
      " WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped"
      " ORDER BY a.attnum",
      found[0][0].as<unsigned>());
  for (const auto& row : columns)
    relation.columns.push_back(
        {row[0].c_str(), {row[1].as<unsigned>(), row[2].c_str()[0], row[3].c_str()}});
  return relation;
}

bool schema_reader::index_exists(const std::string& relation, const std::string& column,
                                 const std::string& condition) {
  pqxx::read_transaction tx(connection_);
  return tx.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a"
                         "   ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                         " WHERE i.indrelid = to_regclass($1) AND a.attname = $2" + condition + ")",
                         relation, column)[0]
      .as<bool>();
}

bool schema_reader::unique_column(const std::string& relation, const std::string& column) {
  return index_exists(relation, column, " AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL");
}

bool schema_reader::leads_index(const std::string& relation, const std::string& column) {
  return index_exists(relation, column, "");
}

bool schema_reader::is_time_zone(const std::string& name) {
  pqxx::read_transaction tx(connection_);
  return tx.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", name)[0]
      .as<bool>();
}

std::string schema_reader::database_encoding() {
  pqxx::read_transaction tx(connection_);
  return tx.exec1("SELECT current_setting('server_encoding')")[0].as<std::string>();
}

pg_type schema_reader::expression_type(const std::string& from_clause,
                                       const std::string& expression) {
  unsigned oid = 0;
  try {
    pqxx::read_transaction tx(connection_);
    // LIMIT 0 plans and type-checks the expression without running it.
    // The extended protocol (exec_params, even without parameters) runs one
    // statement only: an expression smuggling in a second one is refused here,
    // through pgbouncer too, as it would be when served.
    const auto result = tx.exec_params("SELECT (" + expression + ") FROM " + from_clause + " LIMIT 0");
    oid = result.column_type(0);
  } catch (const pqxx::sql_error& e) {
    throw schema_error(first_line(e.what()));
  }
  return describe_type(oid);
}

pg_type schema_reader::describe_type(unsigned oid) {
  pqxx::read_transaction tx(connection_);
  const auto row = tx.exec_params1(
      "SELECT typcategory, format_type(oid, NULL) FROM pg_type WHERE oid = $1", oid);
  return {oid, row[0].c_str()[0], row[1].c_str()};
}

std::string quote_identifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string quote_literal(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    quoted += c;
  }
  return quoted + '\'';
}

}  // namespace storygate::db
