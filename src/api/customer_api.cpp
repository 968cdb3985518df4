#include "api/customer_api.h"

#include <algorithm>
#include <charconv>

#include "api/page_links.h"
#include "api/page_writer.h"
#include "api/records.h"
#include "db/database_text.h"
#include "json/record_writer.h"
#include "log/logger.h"

namespace storygate::api {

namespace {

// Whether a walk goes on past this page. A short page is the last; so is one
// that reaches the count (rows changed during the walk raise the count).
bool has_next_page(const list_request& request, int64_t count, std::size_t rows) {
  return rows == request.limit && request.start + rows < static_cast<uint64_t>(count);
}

// A page that starts at or past the walk's count holds nothing.
bool page_is_past_end(uint64_t start, int64_t count) { return count <= 0 || start >= static_cast<uint64_t>(count); }

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Books the page into its walk. The cursor it was resumed from is kept,
// followed, for a repeat of this request; the one before it is dropped. The
// walk either ends here (logged and counted, unless this page is a repeat and
// that was done already) or is stored under the start its next page will ask
// for, with the key of the last row served. Returns the same changes for the
// shared store (when `shared`), to be written before the page is answered.
cursors::store_writes advance_walk(sync_cursors& cursors, observe::metrics* metrics,
                                   const list_request& request,
                                   const cursors::walk_position& position, sync_cursor next, int64_t count,
                                   const page_writer& written, const std::optional<sync_cursor>& resumed,
                                   bool shared) {
  cursors::store_writes writes;
  const std::size_t served = written.served();
  const uint64_t end = request.start + served;
  const auto baseline = static_cast<uint64_t>(next.baseline_count);
  const auto past = [baseline](uint64_t at) { return at > baseline ? at - baseline : 0; };
  next.walk.pages += 1;
  next.walk.records += served;
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
  if (!has_next_page(request, count, served)) {
    if (!repeat) report_walk(next.walk, true, metrics);
    return writes;
  }
  next.last_updated_at = written.last_updated_at();
  next.last_id = written.last_id();
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
    case db::failure::untranslatable:
    case db::failure::internal: break;
  }
  return error_reply(500, "Internal error; the server log has the details");
}

customer_api::customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
                           sync_cursors& cursors, observe::metrics* metrics, cursors::redis_store* store,
                           std::string path_prefix)
    : mapping_(std::move(mapping)),
      pool_(pool),
      cursors_(cursors),
      metrics_(metrics),
      store_(store),
      path_prefix_(std::move(path_prefix)) {}

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

api::reply customer_api::record_reply(const compiled_mapping& m, const db::row_text& row) const {
  // One writer per thread, cleared for each record: its buffers stay allocated.
  thread_local json::record_writer w;
  w.clear();
  write_record(w, *m.catalog, row, warner());
  return json_reply(w.take(), 1);
}

namespace {

// The database's text as UTF-8 converted here, or null (logged) when this
// system has no converter from its encoding.
std::unique_ptr<db::database_text> converter_for(const mapping::catalog& catalog) {
  try {
    return std::make_unique<db::database_text>(catalog.database_encoding);
  } catch (const std::invalid_argument& e) {
    log::error("text PostgreSQL could not convert cannot be converted here either", {{"detail", e.what()}});
    return nullptr;
  }
}

}  // namespace

void customer_api::get_customer(std::string id, responder respond) {
  auto m = current();
  auto call = m->call(sql::statement::by_id, {id});
  pool_.run(std::move(call), [this, m, id = std::move(id), respond = std::move(respond)](db::answer a) mutable {
    const auto* f = std::get_if<db::failure>(&a);
    // A stored byte UTF-8 has no character for, or an id with a character
    // the database's encoding lacks (the pool logged which): asked again
    // with the record's text as bytes, which tells the two apart.
    if (f && *f == db::failure::untranslatable && sql::text_is_converted(*m->catalog))
      return get_customer_as_bytes(std::move(m), std::move(id), std::move(respond));
    if (f) return respond(failure_reply(*f));
    const auto& rows = std::get<db::query_result>(a);
    if (rows.rows() == 0) return respond(error_reply(404, "No customer found for id " + id));
    respond(record_reply(*m, db::result_row(rows, 0)));
  });
}

void customer_api::get_customer_as_bytes(std::shared_ptr<const compiled_mapping> m, std::string id,
                                         responder respond) {
  auto call = m->call(sql::statement::by_id_as_bytes, {id});
  pool_.run(std::move(call), [this, m, id, respond = std::move(respond)](db::answer a) {
    const auto* f = std::get_if<db::failure>(&a);
    // The record's text is read as bytes now: what still cannot be
    // converted is the id itself. ASCII is in every encoding, so an id that
    // is not, with a character the encoding lacks (a "€" asked of a LATIN1
    // database), is no customer's.
    const bool id_untranslatable = f && *f == db::failure::untranslatable && !is_ascii(id);
    if (f && !id_untranslatable) return respond(failure_reply(*f));
    if (id_untranslatable || std::get<db::query_result>(a).rows() == 0)
      return respond(error_reply(404, "No customer found for id " + id));
    const auto& rows = std::get<db::query_result>(a);
    auto text = converter_for(*m->catalog);
    if (!text) return respond(failure_reply(db::failure::internal));
    log::warn("record served with text converted by storygate: a byte with no UTF-8 character is U+FFFD",
              {{"id", id}});
    respond(record_reply(*m, db::converted_row(db::result_row(rows, 0), rows.columns(), m->as_bytes_columns, *text)));
  });
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

struct customer_api::page {
  std::shared_ptr<const compiled_mapping> mapping;
  list_request request;
  cursors::walk_position position;
  std::optional<sync_cursor> resume;
  responder respond;
  conversion_warning warn;
  // Every page of a walk reads the same window: last_updated, widened by the
  // lag a standby may have.
  std::string window;
  sync_cursor next;
  int64_t count = 0;
  // The page, written as its rows arrive.
  std::unique_ptr<page_writer> out;
  // Set when PostgreSQL could not convert a row of the page to UTF-8: the
  // page is read again with its text as bytes, converted by this.
  std::unique_ptr<db::database_text> text;
};

namespace {

int64_t integer_at(const db::query_result& r, int row, int column) {
  const auto text = r.value(row, column);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

void customer_api::serve_page(std::shared_ptr<const compiled_mapping> m, list_request request,
                              cursors::walk_position position, std::optional<sync_cursor> resume,
                              responder respond) {
  auto p = std::make_shared<page>();
  p->mapping = std::move(m);
  p->request = std::move(request);
  p->position = std::move(position);
  p->resume = std::move(resume);
  p->respond = std::move(respond);
  p->warn = warner();
  // A sync served by a standby saw only what it had replayed: the window
  // reaches back as far again as a standby may lag (0 without replicas).
  const auto lag_allowance = pool_.lag_allowance();
  if (lag_allowance.count() == 0 || p->position.since == "-infinity") {
    p->window = p->position.since;
    return count_walk(std::move(p));
  }
  auto call = p->mapping->widen(p->position.since, lag_allowance);
  pool_.run(std::move(call), [this, p](db::answer a) {
    if (auto* f = std::get_if<db::failure>(&a)) return p->respond(failure_reply(*f));
    p->window = std::string(std::get<db::query_result>(a).value(0, 0));
    count_walk(p);
  });
}

// The count comes first: a start at or past it gets an empty page without
// the list query scanning the index for nothing.
void customer_api::count_walk(std::shared_ptr<page> p) {
  if (p->resume) {
    p->next = *p->resume;
    if (!p->next.baseline_max_updated_at) {
      p->count = p->next.baseline_count;
      return read_rows(std::move(p));
    }
    // Rows stamped after the walk began are still ahead of it, at the end.
    auto call = p->mapping->call(sql::statement::count_changed, {*p->next.baseline_max_updated_at, p->window});
    return pool_.run(std::move(call), [this, p](db::answer a) {
      if (auto* f = std::get_if<db::failure>(&a)) return p->respond(failure_reply(*f));
      p->count = p->next.baseline_count + integer_at(std::get<db::query_result>(a), 0, 0);
      read_rows(p);
    });
  }
  auto call = p->mapping->call(sql::statement::count_since, {p->window});
  pool_.run(std::move(call), [this, p](db::answer a) {
    if (auto* f = std::get_if<db::failure>(&a)) return p->respond(failure_reply(*f));
    const auto& totals = std::get<db::query_result>(a);
    p->next.baseline_count = integer_at(totals, 0, 0);
    if (!totals.is_null(0, 1)) p->next.baseline_max_updated_at = std::string(totals.value(0, 1));
    p->count = p->next.baseline_count;
    p->next.walk.client = p->request.client;
    p->next.walk.since = p->position.since;
    if (p->request.start > 0) p->next.walk.offset_pages = 1;
    read_rows(p);
  });
}

// The rows are written into the page as they arrive, and never held whole.
void customer_api::read_rows(std::shared_ptr<page> p) {
  p->out = std::make_unique<page_writer>(*p->mapping->catalog, p->request, p->count, p->warn);
  if (page_is_past_end(p->request.start, p->count)) return answer_page(*p);
  const auto limit = std::to_string(p->request.limit);
  const bool as_bytes = p->text != nullptr;
  using sql::statement;
  auto call = p->resume ? p->mapping->call(as_bytes ? statement::list_after_as_bytes : statement::list_after,
                                           {p->resume->last_updated_at, p->resume->last_id, limit, p->window})
                        : p->mapping->call(as_bytes ? statement::list_since_as_bytes : statement::list_since,
                                           {p->window, limit, std::to_string(p->request.start)});
  if (as_bytes) {
    call.rows = [out = p->out.get(), text = p->text.get(), columns = &p->mapping->as_bytes_columns](
                    const db::query_result& rows) {
      for (int i = 0; i < rows.rows(); ++i)
        out->add(db::converted_row(db::result_row(rows, i), rows.columns(), *columns, *text));
    };
  } else {
    call.rows = [out = p->out.get()](const db::query_result& rows) {
      for (int i = 0; i < rows.rows(); ++i) out->add(db::result_row(rows, i));
    };
  }
  pool_.run(std::move(call), [this, p](db::answer a) {
    const auto* f = std::get_if<db::failure>(&a);
    // A row of the page holds a byte UTF-8 has no character for (the pool
    // logged it): the page again, its text as bytes, so that a sync goes
    // on past that row instead of failing at its page for good.
    if (f && *f == db::failure::untranslatable && !p->text && sql::text_is_converted(*p->mapping->catalog)) {
      p->text = converter_for(*p->mapping->catalog);
      if (p->text) return read_rows(p);
    }
    if (f) return p->respond(failure_reply(*f));
    if (p->text)
      log::warn("page served with text converted by storygate: a byte with no UTF-8 character is U+FFFD",
                {{"start", static_cast<int64_t>(p->request.start)}, {"limit", static_cast<int64_t>(p->request.limit)}});
    answer_page(*p);
  });
}

void customer_api::answer_page(const page& p) {
  const std::size_t served = p.out->served();
  std::optional<std::string> next_target;
  if (has_next_page(p.request, p.count, served)) next_target = next_page_target(p.request, p.request.start + served, path_prefix_);
  auto reply = p.out->finish(next_target);
  if (next_target) reply.headers.emplace_back("Link", next_link_header(*next_target));
  auto writes = advance_walk(cursors_, metrics_, p.request, p.position, p.next, p.count, *p.out, p.resume,
                             store_ != nullptr);
  // Written before the page is answered: the client's next request may
  // reach another replica at once. A store that fails does not hold the
  // page back; the walk then continues here, or by OFFSET elsewhere.
  if (!store_ || (writes.set.empty() && writes.erase.empty())) return p.respond(std::move(reply));
  store_->save(std::move(writes), [respond = p.respond, reply = std::move(reply)](cursors::store_status) mutable {
    respond(std::move(reply));
  });
}

}  // namespace storygate::api
