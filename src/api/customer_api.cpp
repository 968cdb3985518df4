#include "api/customer_api.h"

#include <pqxx/pqxx>

#include <random>

#include "api/page_links.h"
#include "api/records.h"
#include "json/record_writer.h"
#include "log/logger.h"

namespace storygate::api {
namespace {

// Statement names carry the generation. It starts at random, so two
// processes sharing server connections (through pgbouncer) do not collide.
std::atomic<uint64_t> next_generation{std::random_device{}() | 1u};

}  // namespace

std::string statement_name(const char* base, uint64_t generation) {
  return std::string(base) + "_g" + std::to_string(generation);
}

void prepare(db::lease& lease, const compiled_mapping& m) {
  if (lease.prepared_generation == m.generation) return;
  auto& c = lease.connection;
  if (lease.prepared_generation != 0)
    for (const char* name : statement_bases) c.unprepare(statement_name(name, lease.prepared_generation));
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

const std::string& compiled_mapping::sql(std::string_view name) const {
  if (name == "by_id") return queries.by_id;
  if (name == "count_since") return queries.count_since;
  if (name == "list_since") return queries.list_since;
  if (name == "list_after") return queries.list_after;
  return queries.count_changed;
}

statement_runner::statement_runner(db::lease& lease, const compiled_mapping& m, statement_mode mode)
    : mapping_(m), mode_(mode) {
  if (mode.prepared) {
    prepare(lease, m);
    tx_ = std::make_unique<pqxx::nontransaction>(lease.connection);
  } else {
    // A pgbouncer in transaction mode hands each transaction to whichever
    // server connection is free: what a session would hold is set here,
    // for this transaction only.
    tx_ = std::make_unique<pqxx::read_transaction>(lease.connection);
    tx_->exec("SET LOCAL TimeZone = " + tx_->quote(m.catalog->source.time_zone.value) +
              "; SET LOCAL statement_timeout = " + std::to_string(mode.statement_timeout.count()) +
              db::jit_off(lease.connection, "LOCAL "));
  }
}

statement_runner::~statement_runner() = default;

std::string statement_runner::widened(const std::string& since, std::chrono::seconds by) {
  if (by.count() == 0 || since == "-infinity") return since;
  return tx_->exec_params("SELECT ($1::timestamptz - make_interval(secs => $2))::text", since,
                          static_cast<long long>(by.count()))[0][0].c_str();
}

namespace {

// Whether a walk goes on past this page. A short page is the last; so is one
// that reaches the count (rows changed during the walk raise the count).
bool has_next_page(const list_request& request, int64_t count, std::size_t rows) {
  return rows == request.limit && request.start + rows < static_cast<uint64_t>(count);
}

// {"count": N, "start": "S", "limit": "L", "records": [...], "next": "..."}.
// start and limit are strings in DailyStory's example, and echoed as such;
// `next` (absent on the last page) is ours, and DailyStory ignores it.
std::string page_json(const mapping::catalog& catalog, const list_request& request, int64_t count,
                      const pqxx::result& rows, const std::optional<std::string>& next_target,
                      const conversion_warning& warn) {
  json::record_writer w;
  w.begin_object();
  w.key("count");
  w.integer(count);
  w.key("start");
  w.string(std::to_string(request.start));
  w.key("limit");
  w.string(std::to_string(request.limit));
  w.key("records");
  w.begin_array();
  for (const auto& row : rows) write_record(w, catalog, row, warn);
  w.end_array();
  if (next_target) {
    w.key("next");
    w.string(*next_target);
  }
  w.end_object();
  return w.take();
}

// Books the page into its walk. The cursor it was resumed from is kept,
// followed, for a repeat of this request; the one before it is dropped. The
// walk either ends here (logged and counted, unless this page is a repeat and
// that was done already) or is stored under the start its next page will ask
// for, with the key of the last row served.
void advance_walk(sync_cursors& cursors, observe::metrics* metrics, const mapping::catalog& catalog,
                  const list_request& request, const std::string& client, const std::string& since,
                  sync_cursor next, int64_t count, const pqxx::result& rows, const std::string* resumed_from) {
  const uint64_t end = request.start + rows.size();
  const auto baseline = static_cast<uint64_t>(next.baseline_count);
  const auto past = [baseline](uint64_t position) { return position > baseline ? position - baseline : 0; };
  next.walk.pages += 1;
  next.walk.records += rows.size();
  next.walk.past_baseline += past(end) - past(request.start);
  const bool repeat = next.followed;
  if (resumed_from) {
    cursors.mark_followed(*resumed_from);
    if (!next.continued_from.empty()) cursors.erase(next.continued_from);
    next.continued_from = *resumed_from;
  }
  next.followed = false;
  if (!has_next_page(request, count, rows.size())) {
    if (!repeat) report_walk(next.walk, true, metrics);
    return;
  }
  const auto& last = rows[rows.size() - 1];
  const auto keyset = static_cast<pqxx::row::size_type>(catalog.sql_columns);
  next.last_updated_at = last[keyset].c_str();
  next.last_id = last[keyset + 1].c_str();
  cursors.store(sync_cursors::key(client, since, end), std::move(next));
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
                           sync_cursors& cursors, observe::metrics* metrics, statement_mode mode)
    : mapping_(std::move(mapping)), pool_(pool), cursors_(cursors), metrics_(metrics), mode_(mode) {}

conversion_warning customer_api::warner() const {
  return [metrics = metrics_](std::string_view id, const mapping::resolved_field& field, std::string_view text) {
    if (metrics) metrics->coercion_warning(field.name);
    // The value itself is legacy data, shown cut short: enough to find it.
    log::warn("value not converted; served as null", {{"id", id},
                                                     {"field", field.name},
                                                     {"value", text.substr(0, 40)}});
  };
}

void report_walk(const sync_walk& walk, bool completed, observe::metrics* metrics) {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - walk.started;
  log::info(completed ? "sync finished" : "sync abandoned",
            {{"client", walk.client},
             {"last_updated", walk.since},
             {"pages", static_cast<int64_t>(walk.pages)},
             {"records", static_cast<int64_t>(walk.records)},
             {"past_baseline", static_cast<int64_t>(walk.past_baseline)},
             {"offset_pages", static_cast<int64_t>(walk.offset_pages)},
             {"seconds", took.count()},
             {"completed", completed}});
  if (metrics) metrics->sync_finished(completed, walk.records, walk.past_baseline, took);
}

void customer_api::get_customer(std::string id, responder respond) {
  auto m = current();
  pool_.submit(
      [m, id, respond, mode = mode_, warn = warner()](db::lease& lease) {
        statement_runner run(lease, *m, mode);
        const auto rows = run("by_id", id);
        if (rows.empty()) return respond(error_reply(404, "No customer found for id " + id));
        json::record_writer w;
        write_record(w, *m->catalog, rows[0], warn);
        respond(json_reply(w.take(), 1));
      },
      [respond](db::failure f) { respond(failure_reply(f)); });
}

void customer_api::list_customers(list_request request, responder respond) {
  auto m = current();
  const std::string since = request.since ? request.since->literal : "-infinity";
  const std::string client = request.client + "/" + std::to_string(m->generation);
  // A walk's first page always starts afresh; later pages resume where the
  // previous one ended, when we served it.
  const std::string resume_key = sync_cursors::key(client, since, request.start);
  std::optional<sync_cursor> resume;
  if (request.start > 0) resume = cursors_.find(resume_key);
  if (metrics_)
    metrics_->sync_page(request.start == 0 ? observe::metrics::page_continuation::first
                        : resume         ? observe::metrics::page_continuation::keyset
                                         : observe::metrics::page_continuation::offset);

  // A sync served by a standby saw only what it had replayed: the window
  // reaches back as far again as a standby may lag (0 without replicas).
  const auto lag_allowance = pool_.lag_allowance();

  pool_.submit(
      [&cursors = cursors_, metrics = metrics_, m, request, since, client, resume_key, resume, lag_allowance,
       respond, mode = mode_, warn = warner()](db::lease& lease) {
        statement_runner run(lease, *m, mode);
        sync_cursor next;
        pqxx::result rows;
        int64_t count = 0;
        if (resume) {
          next = *resume;
          rows = run("list_after", resume->last_updated_at, resume->last_id, request.limit, since);
          // Rows stamped after the walk began are still ahead of it, at the end.
          const int64_t changed = next.baseline_max_updated_at
                                      ? run("count_changed", *next.baseline_max_updated_at, since)[0][0].as<int64_t>()
                                      : 0;
          count = next.baseline_count + changed;
        } else {
          const auto window = run.widened(since, lag_allowance);
          const auto totals = run("count_since", window);
          next.baseline_count = totals[0][0].as<int64_t>();
          if (!totals[0][1].is_null()) next.baseline_max_updated_at = totals[0][1].c_str();
          count = next.baseline_count;
          next.walk.client = request.client;
          next.walk.since = since;
          if (request.start > 0) next.walk.offset_pages = 1;
          rows = run("list_since", window, request.limit, static_cast<long long>(request.start));
        }

        std::optional<std::string> next_target;
        if (has_next_page(request, count, rows.size()))
          next_target = next_page_target(request, request.start + rows.size());
        auto reply = json_reply(
            page_json(*m->catalog, request, count, rows, next_target, warn),
            rows.size());
        if (next_target) reply.headers.emplace_back("Link", next_link_header(*next_target));
        advance_walk(cursors, metrics, *m->catalog, request, client, since, std::move(next), count, rows,
                     resume ? &resume_key : nullptr);
        respond(std::move(reply));
      },
      [respond](db::failure f) { respond(failure_reply(f)); });
}

}  // namespace storygate::api
