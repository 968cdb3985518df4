#include "api/customer_api.h"

#include <pqxx/pqxx>

#include "json/record_writer.h"

namespace storygate::api {
namespace {

std::atomic<uint64_t> next_generation{1};

std::string statement_name(const char* base, uint64_t generation) {
  return std::string(base) + "_g" + std::to_string(generation);
}

// Sets the session up for this mapping version the first time a connection
// serves it: the zone for datetime offsets, and the prepared statements.
void prepare(db::lease& lease, const compiled_mapping& m) {
  if (lease.prepared_generation == m.generation) return;
  auto& c = lease.connection;
  pqxx::nontransaction tx(c);
  tx.exec("SET TimeZone = " + tx.quote(m.catalog->source.time_zone.value));
  tx.commit();
  const auto g = m.generation;
  c.prepare(statement_name("by_id", g), m.queries.by_id);
  c.prepare(statement_name("count_since", g), m.queries.count_since);
  c.prepare(statement_name("list_since", g), m.queries.list_since);
  c.prepare(statement_name("list_after", g), m.queries.list_after);
  c.prepare(statement_name("count_changed", g), m.queries.count_changed);
  lease.prepared_generation = g;
}

void write_record(json::record_writer& w, const mapping::catalog& catalog, const pqxx::row& row) {
  w.begin_object();
  const auto put = [&](const mapping::resolved_field& f, pqxx::row::size_type column) {
    const auto& value = row[column];
    w.key(f.name);
    w.value(f.output, value.is_null() ? nullptr : value.c_str(), value.size());
  };
  put(catalog.id, 0);
  for (pqxx::row::size_type i = 0; i < catalog.fields.size(); ++i) put(catalog.fields[i], i + 1);
  w.end_object();
}

reply json_reply(std::string body, std::size_t records) {
  reply r;
  r.body = std::move(body);
  r.records = records;
  return r;
}

}  // namespace

reply error_reply(unsigned status, std::string_view message) {
  reply r;
  r.status = status;
  r.body = json::error_body(message);
  return r;
}

reply failure_reply(db::failure f) {
  switch (f) {
    case db::failure::unavailable: {
      auto r = error_reply(503, "The customer database is unavailable; try again shortly");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case db::failure::busy: {
      auto r = error_reply(503, "All database connections are busy; try again shortly");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case db::failure::timed_out:
      return error_reply(504, "The customer database did not answer in time");
    case db::failure::internal: break;
  }
  return error_reply(500, "Internal error; the server log has the details");
}

std::shared_ptr<const compiled_mapping> compiled_mapping::compile(mapping::catalog catalog,
                                                                 std::chrono::seconds sync_overlap) {
  auto compiled = std::make_shared<compiled_mapping>();
  compiled->queries = sql::customer_queries::build(catalog, sync_overlap);
  compiled->catalog = std::make_shared<const mapping::catalog>(std::move(catalog));
  compiled->generation = next_generation++;
  return compiled;
}

customer_api::customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
                           sync_cursors& cursors)
    : mapping_(std::move(mapping)), pool_(pool), cursors_(cursors) {}

void customer_api::get_customer(std::string id, responder respond) {
  auto m = current();
  pool_.submit(
      [m, id, respond](db::lease& lease) {
        prepare(lease, *m);
        pqxx::nontransaction tx(lease.connection);
        const auto rows = tx.exec_prepared(statement_name("by_id", m->generation), id);
        if (rows.empty()) return respond(error_reply(404, "No customer found for id " + id));
        json::record_writer w;
        write_record(w, *m->catalog, rows[0]);
        respond(json_reply(w.take(), 1));
      },
      [respond](db::failure f) { respond(failure_reply(f)); });
}

void customer_api::list_customers(list_request request, responder respond) {
  auto m = current();
  const std::string since = request.since ? request.since->literal : "-infinity";
  // A walk's first page always starts afresh; later pages resume where the
  // previous one ended, when we served it.
  std::optional<sync_cursor> resume;
  if (request.start > 0)
    resume = cursors_.find(sync_cursors::key(request.client + std::to_string(m->generation), since, request.start));

  pool_.submit(
      [&cursors = cursors_, m, request, since, resume, respond](db::lease& lease) {
        prepare(lease, *m);
        pqxx::nontransaction tx(lease.connection);
        const auto g = m->generation;
        sync_cursor baseline;
        pqxx::result rows;
        int64_t count = 0;
        if (resume) {
          baseline = *resume;
          rows = tx.exec_prepared(statement_name("list_after", g), since, resume->last_updated_at,
                                  resume->last_id, request.limit);
          // Rows stamped after the walk began are still ahead of it, at the end.
          const auto changed = baseline.baseline_max_updated_at
                                   ? tx.exec_prepared(statement_name("count_changed", g),
                                                      *baseline.baseline_max_updated_at)[0][0]
                                         .as<int64_t>()
                                   : 0;
          count = baseline.baseline_count + changed;
        } else {
          const auto totals = tx.exec_prepared(statement_name("count_since", g), since);
          baseline.baseline_count = totals[0][0].as<int64_t>();
          if (!totals[0][1].is_null()) baseline.baseline_max_updated_at = totals[0][1].c_str();
          count = baseline.baseline_count;
          rows = tx.exec_prepared(statement_name("list_since", g), since, request.limit,
                                  static_cast<long long>(request.start));
        }

        if (!rows.empty()) {
          const auto& last = rows[rows.size() - 1];
          const auto keyset = static_cast<pqxx::row::size_type>(m->catalog->fields.size() + 1);
          baseline.last_updated_at = last[keyset].c_str();
          baseline.last_id = last[keyset + 1].c_str();
          cursors.store(sync_cursors::key(request.client + std::to_string(g), since,
                                           request.start + rows.size()),
                         baseline);
        }

        json::record_writer w;
        w.begin_object();
        w.key("count");
        w.integer(count);
        // start and limit are strings in DailyStory's example, and echoed as such.
        w.key("start");
        w.string(std::to_string(request.start));
        w.key("limit");
        w.string(std::to_string(request.limit));
        w.key("records");
        w.begin_array();
        for (const auto& row : rows) write_record(w, *m->catalog, row);
        w.end_array();
        w.end_object();
        respond(json_reply(w.take(), rows.size()));
      },
      [respond](db::failure f) { respond(failure_reply(f)); });
}

}  // namespace storygate::api
