#include "api/customer_api.h"

#include <pqxx/pqxx>

#include <random>

#include "api/page_links.h"
#include "api/records.h"
#include "cursors/digest.h"
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

// A page that starts at or past the walk's count holds nothing.
bool page_is_past_end(uint64_t start, int64_t count) { return count <= 0 || start >= static_cast<uint64_t>(count); }

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
// for, with the key of the last row served. Returns the same changes for the
// shared store (when `shared`), to be written before the page is answered.
cursors::store_writes advance_walk(sync_cursors& cursors, observe::metrics* metrics,
                                   const mapping::catalog& catalog, const list_request& request,
                                   const cursors::walk_position& position, sync_cursor next, int64_t count,
                                   const pqxx::result& rows, const std::optional<sync_cursor>& resumed,
                                   bool shared) {
  cursors::store_writes writes;
  const uint64_t end = request.start + rows.size();
  const auto baseline = static_cast<uint64_t>(next.baseline_count);
  const auto past = [baseline](uint64_t at) { return at > baseline ? at - baseline : 0; };
  next.walk.pages += 1;
  next.walk.records += rows.size();
  next.walk.past_baseline += past(end) - past(request.start);
  const bool repeat = next.followed;
  if (resumed) {
    const auto resumed_from = position.local_key();
    cursors.mark_followed(resumed_from);
    if (shared) {
      auto followed = *resumed;
      followed.followed = true;
      writes.set.emplace_back(cursors::store_key(resumed_from), cursors::encode_walk(position, followed));
    }
    if (!next.continued_from.empty()) {
      cursors.erase(next.continued_from);
      if (shared) writes.erase.push_back(cursors::store_key(next.continued_from));
    }
    next.continued_from = resumed_from;
  }
  next.followed = false;
  if (!has_next_page(request, count, rows.size())) {
    if (!repeat) report_walk(next.walk, true, metrics);
    return writes;
  }
  const auto& last = rows[rows.size() - 1];
  const auto keyset = static_cast<pqxx::row::size_type>(catalog.sql_columns);
  next.last_updated_at = last[keyset].c_str();
  next.last_id = last[keyset + 1].c_str();
  auto next_position = position;
  next_position.start = end;
  const auto key = next_position.local_key();
  if (shared) writes.set.emplace_back(cursors::store_key(key), cursors::encode_walk(next_position, next));
  cursors.store(key, std::move(next));
  return writes;
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
  const auto& q = compiled->queries;
  compiled->version = cursors::sha256_hex(compiled->catalog->source.time_zone.value + '\x1f' + q.by_id + '\x1f' +
                                          q.count_since + '\x1f' + q.list_since + '\x1f' + q.list_after +
                                          '\x1f' + q.count_changed);
  return compiled;
}

customer_api::customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
                           sync_cursors& cursors, observe::metrics* metrics, statement_mode mode,
                           cursors::redis_store* store)
    : mapping_(std::move(mapping)), pool_(pool), cursors_(cursors), metrics_(metrics), mode_(mode), store_(store) {}

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
  cursors::walk_position position{request.client, m->version,
                                  request.since ? request.since->literal : "-infinity", request.start};
  // A walk's first page always starts afresh; later pages resume where the
  // previous one ended, when we (or, with a shared store, any replica) served it.
  if (request.start == 0 || !store_) {
    std::optional<sync_cursor> resume;
    if (request.start > 0) resume = cursors_.find(position.local_key());
    count_continuation(request, resume.has_value());
    return serve_page(std::move(m), std::move(request), std::move(position), std::move(resume), std::move(respond));
  }
  auto key = cursors::store_key(position.local_key());
  store_->load(std::move(key), [this, m = std::move(m), request = std::move(request), position = std::move(position),
                                respond = std::move(respond)](cursors::store_status, std::optional<std::string> record) mutable {
    std::optional<sync_cursor> resume;
    if (record) resume = cursors::decode_walk(position, *record);
    if (resume) {
      if (metrics_) metrics_->sync_page_from_store();
    } else {
      // The store is down or slow, or lost the walk (written while it was
      // down): this replica's own cursor, if it served the previous page.
      resume = cursors_.find(position.local_key());
    }
    count_continuation(request, resume.has_value());
    serve_page(std::move(m), std::move(request), std::move(position), std::move(resume), std::move(respond));
  });
}

void customer_api::count_continuation(const list_request& request, bool resumed) const {
  if (!metrics_) return;
  using how = observe::metrics::page_continuation;
  metrics_->sync_page(request.start == 0 ? how::first : resumed ? how::keyset : how::offset);
}

void customer_api::serve_page(std::shared_ptr<const compiled_mapping> m, list_request request,
                              cursors::walk_position position, std::optional<sync_cursor> resume,
                              responder respond) {
  // A sync served by a standby saw only what it had replayed: the window
  // reaches back as far again as a standby may lag (0 without replicas).
  const auto lag_allowance = pool_.lag_allowance();
  pool_.submit(
      [&cursors = cursors_, metrics = metrics_, store = store_, m, request, position, resume, lag_allowance, respond,
       mode = mode_, warn = warner()](db::lease& lease) {
        statement_runner run(lease, *m, mode);
        sync_cursor next;
        pqxx::result rows;
        int64_t count = 0;
        // Every page of a walk reads the same window: last_updated, widened
        // by the lag a standby may have.
        const auto window = run.widened(position.since, lag_allowance);
        // The count comes first: a start at or past it gets an empty page
        // without the list query scanning the index for nothing.
        if (resume) {
          next = *resume;
          // Rows stamped after the walk began are still ahead of it, at the end.
          const int64_t changed = next.baseline_max_updated_at
                                      ? run("count_changed", *next.baseline_max_updated_at, window)[0][0].as<int64_t>()
                                      : 0;
          count = next.baseline_count + changed;
          if (!page_is_past_end(request.start, count))
            rows = run("list_after", resume->last_updated_at, resume->last_id, request.limit, window);
        } else {
          const auto totals = run("count_since", window);
          next.baseline_count = totals[0][0].as<int64_t>();
          if (!totals[0][1].is_null()) next.baseline_max_updated_at = totals[0][1].c_str();
          count = next.baseline_count;
          next.walk.client = request.client;
          next.walk.since = position.since;
          if (request.start > 0) next.walk.offset_pages = 1;
          if (!page_is_past_end(request.start, count))
            rows = run("list_since", window, request.limit, static_cast<long long>(request.start));
        }

        std::optional<std::string> next_target;
        if (has_next_page(request, count, rows.size()))
          next_target = next_page_target(request, request.start + rows.size());
        auto reply = json_reply(
            page_json(*m->catalog, request, count, rows, next_target, warn),
            rows.size());
        if (next_target) reply.headers.emplace_back("Link", next_link_header(*next_target));
        auto writes = advance_walk(cursors, metrics, *m->catalog, request, position, std::move(next), count, rows,
                                   resume, store != nullptr);
        // Written before the page is answered: the client's next request may
        // reach another replica at once. A store that fails does not hold the
        // page back; the walk then continues here, or by OFFSET elsewhere.
        if (!store || (writes.set.empty() && writes.erase.empty())) return respond(std::move(reply));
        store->save(std::move(writes), [respond, reply = std::move(reply)](cursors::store_status) mutable {
          respond(std::move(reply));
        });
      },
      [respond](db::failure f) { respond(failure_reply(f)); });
}

}  // namespace storygate::api
