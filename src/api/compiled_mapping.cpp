#include "api/compiled_mapping.h"

#include <atomic>
#include <random>

#include "cursors/digest.h"

namespace storygate::api {
namespace {

// Generations start at random, so two processes sharing server connections
// (through pgbouncer) do not collide on a name.
std::atomic<uint64_t> next_generation{std::random_device{}() | 1u};

// The statement after the mapping's own.
constexpr std::size_t widen_statement = sql::every_statement.size();

std::size_t number(sql::statement s) { return static_cast<std::size_t>(s); }

}  // namespace

std::shared_ptr<const compiled_mapping> compiled_mapping::compile(mapping::catalog catalog,
                                                                 std::chrono::seconds sync_overlap) {
  auto compiled = std::make_shared<compiled_mapping>();
  compiled->queries = sql::customer_queries::build(catalog, sync_overlap);
  compiled->catalog = std::make_shared<const mapping::catalog>(std::move(catalog));
  compiled->generation = next_generation++;
  const auto& zone = compiled->catalog->source.time_zone.value;
  compiled->as_bytes_columns.assign(compiled->catalog->sql_columns, false);
  for (const auto& f : compiled->catalog->fields)
    if (sql::read_as_bytes(*compiled->catalog, f)) compiled->as_bytes_columns[f.sql_column] = true;

  auto set = std::make_shared<db::statement_set>();
  set->generation = compiled->generation;
  set->time_zone = zone;
  std::string fingerprint = zone;
  for (const auto s : sql::every_statement) {
    set->names.push_back(std::string(sql::statement_name(s)) + "_g" + std::to_string(compiled->generation));
    set->sql.push_back(compiled->queries.sql(s));
    fingerprint += '\x1f' + compiled->queries.sql(s);
  }
  set->names.push_back("widen_g" + std::to_string(compiled->generation));
  set->sql.push_back("SELECT ($1::timestamptz - make_interval(secs => $2))::text");
  compiled->statements = std::move(set);
  compiled->version = cursors::sha256_hex(fingerprint);
  return compiled;
}

db::query_call compiled_mapping::call(sql::statement s, db::pipeline_connection::parameters params) const {
  return {statements, number(s), std::move(params), {}};
}

db::query_call compiled_mapping::widen(const std::string& since, std::chrono::seconds by) const {
  return {statements, widen_statement, {since, std::to_string(by.count())}, {}};
}

const std::string& compiled_mapping::prepared_name(sql::statement s) const { return statements->names[number(s)]; }

}  // namespace storygate::api
