#include "app/tools.h"

#include <boost/asio/io_context.hpp>
#include <pqxx/pqxx>

#include <future>
#include <iostream>
#include <map>
#include <sstream>

#include "api/customer_api.h"
#include "api/records.h"
#include "app/prepared_session.h"
#include "app/startup.h"
#include "db/pool.h"
#include "db/pqxx_row_text.h"
#include "db/conninfo.h"
#include "db/database_text.h"
#include "db/schema.h"
#include "db/server_health.h"
#include "json/record_writer.h"
#include "json/utf8.h"

namespace storygate::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
// Rows the conversions are tried on by `check`.
constexpr int sample_rows = 1000;

db::pool_options options_for(const config::settings& s, const std::string& conninfo) {
  auto options = pool_options_for(s, conninfo);
  options.size = 1;
  options.replicas.clear();  // the tools look at the primary
  return options;
}

// A page of the list through the API's own code path, as DailyStory gets it.
api::reply ask(const config::settings& s, const std::string& conninfo,
               std::shared_ptr<const api::compiled_mapping> mapping,
               const std::function<void(api::customer_api&, api::responder)>& request) {
  // The server's own path, on an io_context of the tool's: one connection,
  // driven from this thread until the answer is in.
  boost::asio::io_context io;
  api::sync_cursors cursors(0, std::chrono::seconds(1));
  db::pool pool(options_for(s, conninfo), {io.get_executor()});
  api::customer_api customers(std::move(mapping), pool, cursors, nullptr);
  std::optional<api::reply> answered;
  request(customers, [&answered, &io](api::reply r) {
    answered = std::move(r);
    io.stop();
  });
  io.run();
  pool.drain();
  return std::move(*answered);
}

std::string literal_list(pqxx::transaction_base& tx, const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + tx.quote(v);
  return out;
}

// EXPLAIN of a prepared statement with these parameters.
std::string plan_of(pqxx::connection_base& c, const std::string& statement, const std::vector<std::string>& params,
                    bool analyze) {
  pqxx::nontransaction tx(c);
  const auto rows = tx.exec(std::string("EXPLAIN ") + (analyze ? "(ANALYZE, BUFFERS) " : "") + "EXECUTE " +
                            statement + (params.empty() ? "" : "(" + literal_list(tx, params) + ")"));
  std::string plan;
  for (const auto& row : rows) plan += std::string(row[0].c_str()) + "\n";
  return plan;
}

// The first key a list walk starts from, to explain the keyset page with.
std::optional<std::pair<std::string, std::string>> first_key(pqxx::connection_base& c, const api::compiled_mapping& m) {
  pqxx::nontransaction tx(c);
  const auto rows = tx.exec_prepared(m.prepared_name(sql::statement::list_since), "-infinity", 1, 0);
  if (rows.empty()) return std::nullopt;
  const auto column = static_cast<pqxx::row::size_type>(m.catalog->sql_columns);
  return std::make_pair(std::string(rows[0][column].c_str()), std::string(rows[0][column + 1].c_str()));
}

// Whether the plan's main line (below Limit, Result and Subquery Scan, before any SubPlan
// of the fields) starts with an index scan rather than a sort of all rows.
bool walks_an_index(const std::string& plan) {
  std::istringstream lines(plan);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("SubPlan") != std::string::npos) break;
    const auto arrow = line.find("->  ");
    const auto start = arrow == std::string::npos ? line.find_first_not_of(' ') : arrow + 4;
    if (start == std::string::npos || line.find("  (cost=") == std::string::npos) continue;
    const std::string node = line.substr(start);
    if (node.rfind("Limit", 0) == 0 || node.rfind("Result", 0) == 0 || node.rfind("Subquery Scan", 0) == 0) continue;
    return node.rfind("Index", 0) == 0 || node.rfind("Bitmap", 0) == 0;
  }
  return false;
}

std::string index_advice(const mapping::catalog& c) {
  if (c.source.updated_at_is_expression)
    return "  The change time is an expression: index it with CREATE INDEX ON " + c.relation_display + " ((" +
           c.source.updated_at_column.value + "), " + c.source.id_column.value +
           ") if it only uses this row's columns and immutable functions;\n"
           "  a subquery cannot be indexed: keep a real column up to date with a trigger instead.\n";
  return "  CREATE INDEX ON " + c.relation_display + " (" + c.source.updated_at_column.value + ", " +
         c.source.id_column.value + ");\n";
}

// One line per database server storygate reads from (--database-url, then
// each --replica-url): primary or standby, and a standby's replay lag, found
// by the same check the server's pool runs. Returns the warnings printed.
int report_servers(const config::settings& settings, const std::string& conninfo) {
  std::vector<std::string> servers{conninfo};
  for (const auto& replica : pool_options_for(settings, conninfo).replicas) servers.push_back(replica);
  int warnings = 0;
  for (const auto& server : servers) {
    db::server_health h;
    h.name = db::describe_target(server);
    h.checked = true;
    h.checked_at = std::chrono::steady_clock::now();
    try {
      auto session = connect(settings, server);
      const auto found = db::probe_server(*session);
      h.up = true;
      h.in_recovery = found.in_recovery;
      h.lag_seconds = found.lag_seconds;
    } catch (const std::exception& e) {
      h.problem = db::one_line(e.what());
    }
    const bool lagging = db::lags_too_far(h, settings.max_replica_lag, h.checked_at);
    if (!h.up || lagging) ++warnings;
    std::cout << (!h.up || lagging ? "warning: " : "") << "database " << h.name << ": " << db::describe_health(h)
              << (lagging ? ", more than --max-replica-lag-seconds " + std::to_string(settings.max_replica_lag.count()) +
                                ": storygate reads nothing from it until it catches up"
                          : "")
              << "\n";
  }
  return warnings;
}

// Whether a record is served with U+FFFD for bytes that have no UTF-8
// character: converted here (`converted`, where the legacy encodings have no
// U+FFFD of their own to hold), or, as an SQL_ASCII database's are, read as
// stored and not UTF-8.
bool needs_replacement(const db::row_text& record, int columns, bool converted) {
  for (int column = 0; column < columns; ++column) {
    if (record.is_null(column)) continue;
    const auto text = record.text(column);
    if (converted ? text.find("\xEF\xBF\xBD") != std::string_view::npos : !json::is_valid_utf8(text)) return true;
  }
  return false;
}

}  // namespace

int run_check(const config::settings& settings) {
  const auto conninfo = connection_string(settings);
  const auto mapping = load_mapping(settings, conninfo);
  const auto& catalog = *mapping->catalog;
  prepared_session session(settings, conninfo, *mapping);
  auto& c = *session.connection;
  int warnings = 0;
  const auto warn = [&warnings](const std::string& text) {
    ++warnings;
    std::cout << "warning: " << text;
  };

  // The list query must walk an index rather than sort the table. For a
  // plain column the index can be looked up; for a view or an expression,
  // ask the planner (with sequential scans discouraged, so a usable index
  // wins even on a small table).
  bool indexed = false;
  if (!catalog.source.updated_at_is_expression) {
    indexed = db::schema_reader(c).leads_index(catalog.relation_sql, catalog.source.updated_at_column.value);
  }
  if (!indexed) {
    {
      pqxx::nontransaction tx(c);
      tx.exec("SET enable_seqscan = off");
    }
    indexed = walks_an_index(
        plan_of(c, mapping->prepared_name(sql::statement::list_since), {"-infinity", "25", "0"}, false));
    pqxx::nontransaction tx(c);
    tx.exec("RESET enable_seqscan");
  }
  if (!indexed)
    warn("the list query sorts every matching row on each page: no index serves ORDER BY (updated_at, id).\n" +
         index_advice(catalog));

  const std::string where_filter = catalog.filter_sql.empty() ? "" : " WHERE " + catalog.filter_sql;
  {
    pqxx::nontransaction tx(c);
    const auto missing = tx.exec("SELECT count(*) FILTER (WHERE " + catalog.updated_at.source_sql +
                                 " IS NULL), count(*) FILTER (WHERE " + catalog.id.source_sql + " IS NULL) FROM " +
                                 catalog.relation_sql + " AS " + catalog.alias_sql + where_filter)[0];
    if (const auto no_change_time = missing[0].as<int64_t>(); no_change_time > 0)
      warn(std::to_string(no_change_time) +
           " rows have no change time (updated_at is NULL): they are never listed, only served by id.\n");
    if (const auto no_id = missing[1].as<int64_t>(); no_id > 0)
      warn(std::to_string(no_id) + " rows have no id (id is NULL): DailyStory cannot sync them; they are never listed.\n");
  }

  // DailyStory upserts by id, so rows sharing an id reach it as one customer;
  // the single-record endpoint serves one of them; and a list serves rows
  // that share both id and change time once. Only what the mapping serves
  // counts: the filter applied (a multi-company table's ids are often unique
  // per company only) and rows without an id left out (they are never
  // listed). A unique index on the id column alone settles it; otherwise the
  // data is counted (a view, or a table without one).
  if (!catalog.id_unique) {
    pqxx::nontransaction tx(c);
    const auto shared = tx.exec("SELECT count(*), min(storygate_id) FROM (SELECT " + catalog.id.source_sql +
                                "::text AS storygate_id FROM " + catalog.relation_sql + " AS " +
                                catalog.alias_sql + " WHERE " + catalog.id.source_sql + " IS NOT NULL" +
                                (catalog.filter_sql.empty() ? "" : " AND " + catalog.filter_sql) + " GROUP BY " +
                                catalog.id.source_sql + " HAVING count(*) > 1) AS storygate_shared")[0];
    if (const auto ids = shared[0].as<int64_t>(); ids > 0)
      warn(std::to_string(ids) + " ids belong to more than one row" +
           (catalog.filter_sql.empty() ? "" : " that the filter serves") + " (e.g. " + shared[1].c_str() +
           "): DailyStory keeps one customer per id, GET /api/v1/customer/{id} serves one of the rows, and a "
           "list serves rows that share both id and change time as one.\n"
           "  Map a column that is unique, or make this one unique: ALTER TABLE " + catalog.relation_display +
           " ADD UNIQUE (" + catalog.source.id_column.value + ");\n");
  }

  // Conversions, tried on a sample of real rows, read as the server reads
  // them: in a database PostgreSQL converts from, text as its bytes,
  // converted here, so that a byte with no UTF-8 character is found rather
  // than failing the whole sample.
  std::map<std::string, std::pair<int, std::string>> failures;  // field -> count, an id
  std::pair<int, std::string> unconvertible;                     // records, an id
  std::string sample;
  {
    std::unique_ptr<db::database_text> text;
    if (sql::text_is_converted(catalog)) text = std::make_unique<db::database_text>(catalog.database_encoding);
    pqxx::nontransaction tx(c);
    const auto rows = tx.exec_prepared(
        mapping->prepared_name(text ? sql::statement::list_since_as_bytes : sql::statement::list_since), "-infinity",
        sample_rows, 0);
    for (const auto& row : rows) {
      const db::pqxx_row_text read(row);
      std::optional<db::converted_row> converted;
      if (text) converted.emplace(read, static_cast<int>(row.size()), mapping->as_bytes_columns, *text);
      const db::row_text& record = converted ? static_cast<const db::row_text&>(*converted) : read;
      json::record_writer w;
      api::write_record(w, catalog, record, [&](std::string_view id, const mapping::resolved_field& f, std::string_view) {
        auto& entry = failures[f.name];
        if (entry.first++ == 0) entry.second = std::string(id);
      });
      if (needs_replacement(record, static_cast<int>(row.size()), converted.has_value())) {
        if (unconvertible.first++ == 0) unconvertible.second = std::string(record.text(0));
      }
      if (sample.empty()) sample = w.take();
    }
  }
  for (const auto& [field, failure] : failures)
    warn("field '" + field + "': " + std::to_string(failure.first) + " of the first " + std::to_string(sample_rows) +
         " records have a value that does not convert (served as null or the default), e.g. id " +
         failure.second + "\n");
  if (unconvertible.first > 0) {
    const bool sql_ascii = catalog.database_encoding == "SQL_ASCII";
    warn(std::to_string(unconvertible.first) + " of the first " + std::to_string(sample_rows) + " records hold " +
         (sql_ascii ? "bytes that are not UTF-8" : "bytes " + catalog.database_encoding + " has no character for") +
         ", e.g. id " + json::repair_utf8(unconvertible.second) +
         (sql_ascii ? ": an SQL_ASCII database does not say what its bytes are in, and storygate serves each such "
                      "byte as U+FFFD.\n"
                    : ": PostgreSQL cannot convert them to UTF-8, and storygate serves each as U+FFFD.\n"));
  }

  warnings += report_servers(settings, conninfo);

  std::cout << settings.mapping_file << ": OK (" << catalog.fields.size() << " fields from "
            << catalog.relation_display << ", " << warnings << " warning" << (warnings == 1 ? "" : "s") << ")\n";
  if (sample.empty())
    std::cout << "no customer to show: the relation is empty\n";
  else
    std::cout << "first record:\n" << sample << "\n";
  return exit_ok;
}

int run_explain(const config::settings& settings) {
  const auto conninfo = connection_string(settings);
  const auto mapping = load_mapping(settings, conninfo);
  prepared_session session(settings, conninfo, *mapping);
  auto& c = *session.connection;
  const auto key = first_key(c, *mapping);
  const std::string some_id = key ? key->second : "0";

  using sql::statement;
  const auto show = [&](const char* title, statement s, const std::vector<std::string>& params) {
    std::cout << "-- " << title << "\n" << mapping->queries.sql(s) << ";\n\n-- plan";
    for (std::size_t i = 0; i < params.size(); ++i) std::cout << (i ? ", " : " with ") << "$" << i + 1 << " = " << params[i];
    std::cout << "\n" << plan_of(c, mapping->prepared_name(s), params, true) << "\n";
  };
  show("GET /api/v1/customer/{id}", statement::by_id, {some_id});
  show("GET /api/v1/customers: count, on the first page of a sync", statement::count_since, {"-infinity"});
  show("GET /api/v1/customers: the first page (and pages that do not follow on, with OFFSET)", statement::list_since,
       {"-infinity", "25", "0"});
  if (key) {
    show("GET /api/v1/customers: a page that follows on (keyset)", statement::list_after,
         {key->first, key->second, "25", "-infinity"});
    show("GET /api/v1/customers: count on a page that follows on (rows changed since the sync began)",
         statement::count_changed, {key->first, "-infinity"});
  }
  return exit_ok;
}

int run_preview(const config::settings& settings) {
  const auto conninfo = connection_string(settings);
  const auto mapping = load_mapping(settings, conninfo);
  api::reply reply;
  if (settings.preview_id) {
    if (auto problem = api::check_customer_id(*settings.preview_id, *mapping->catalog)) {
      std::cerr << "storygate: " << *problem << "\n";
      return exit_failure;
    }
    reply = ask(settings, conninfo, mapping, [&](api::customer_api& a, api::responder r) {
      a.get_customer(*settings.preview_id, std::move(r));
    });
  } else {
    auto parsed = api::parse_list_params(settings.preview_params, settings.default_limit, settings.max_limit);
    if (auto* bad = std::get_if<api::bad_request>(&parsed)) {
      std::cerr << "storygate: " << bad->message << "\n";
      return exit_failure;
    }
    reply = ask(settings, conninfo, mapping, [&](api::customer_api& a, api::responder r) {
      a.list_customers(std::get<api::list_request>(parsed), std::move(r));
    });
  }
  (reply.status == 200 ? std::cout : std::cerr) << reply.body << "\n";
  return reply.status == 200 ? exit_ok : exit_failure;
}

}  // namespace storygate::app
