#include "observe/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

namespace storygate::observe {
namespace {

// From 1 ms to 10 s: single records take a few ms, large pages and a slow
// database push to the top.
const prometheus::Histogram::BucketBoundaries latency_buckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// A nightly walk takes from seconds (a few thousand changes) to hours (a
// first full sync of millions of customers through small pages).
const prometheus::Histogram::BucketBoundaries walk_buckets = {
    1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800};

const char* continuation_label(metrics::page_continuation how) {
  switch (how) {
    case metrics::page_continuation::first: return "first";
    case metrics::page_continuation::keyset: return "keyset";
    case metrics::page_continuation::offset: return "offset";
  }
  return "offset";
}

// The cursor store answers in well under a millisecond, or times out in a few.
const prometheus::Histogram::BucketBoundaries store_buckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1};

}  // namespace

metrics::metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  requests_ = &BuildCounter().Name("storygate_http_requests_total")
                   .Help("HTTP requests answered, by route and status").Register(*registry_);
  request_seconds_ = &BuildHistogram().Name("storygate_http_request_duration_seconds")
                          .Help("Time from a request read to its reply ready, by route").Register(*registry_);
  query_seconds_ = &BuildHistogram().Name("storygate_db_query_duration_seconds")
                        .Help("Time from a query's batch leaving to its answer").Register(*registry_)
                        .Add({}, latency_buckets);
  reloads_ = &BuildCounter().Name("storygate_mapping_reloads_total")
                  .Help("Mapping reloads, by result").Register(*registry_);
  coercion_warnings_ = &BuildCounter().Name("storygate_coercion_warnings_total")
                            .Help("Values that could not be coerced and were served as null, by field")
                            .Register(*registry_);
  sync_pages_ = &BuildCounter().Name("storygate_sync_pages_total")
                     .Help("List pages served, by how the page continued its walk (first, keyset, offset)")
                     .Register(*registry_);
  syncs_ = &BuildCounter().Name("storygate_syncs_total")
                .Help("Paged syncs that ended, by whether the client followed them to the end")
                .Register(*registry_);
  sync_records_ = &BuildCounter().Name("storygate_sync_records_total")
                       .Help("Records delivered by ended syncs").Register(*registry_).Add({});
  sync_duplicates_ = &BuildCounter().Name("storygate_sync_duplicates_total")
                          .Help("Records delivered again within the same sync (changed while it ran)")
                          .Register(*registry_).Add({});
  auth_failures_ = &BuildCounter().Name("storygate_auth_failures_total")
                        .Help("Requests refused for missing or wrong credentials").Register(*registry_).Add({});
  sync_last_completed_ = &BuildGauge().Name("storygate_sync_last_completed_timestamp_seconds")
                            .Help("Unix time the last walk was followed to its end (0: none since start)")
                            .Register(*registry_).Add({});
  sync_seconds_ = &BuildHistogram().Name("storygate_sync_duration_seconds")
                       .Help("Time from a completed walk's first page to its last").Register(*registry_)
                       .Add({}, walk_buckets);
  readiness_checks_ = &BuildCounter().Name("storygate_readiness_checks_total")
                           .Help("/readyz answers, by result (ok, failed)").Register(*registry_);
  // Every labelled series an alert watches exists from the start, at 0:
  // Prometheus' increase() cannot see the first event of a series that
  // appears with it.
  for (const char* result : {"ok", "failed"}) {
    reloads_->Add({{"result", result}});
    readiness_checks_->Add({{"result", result}});
  }
  for (const char* completed : {"true", "false"}) syncs_->Add({{"completed", completed}});
  for (auto how : {page_continuation::first, page_continuation::keyset, page_continuation::offset})
    sync_pages_->Add({{"continuation", continuation_label(how)}});
  sync_pages_from_store_ = &BuildCounter().Name("storygate_sync_pages_from_store_total")
                               .Help("List pages whose walk was continued from the shared cursor store")
                               .Register(*registry_).Add({});
  cursor_store_seconds_ = &BuildHistogram().Name("storygate_cursor_store_duration_seconds")
                               .Help("Cursor store operations, from the call to the answer, by operation")
                               .Register(*registry_);
  cursor_store_errors_ = &BuildCounter().Name("storygate_cursor_store_errors_total")
                              .Help("Cursor store operations that failed (the request went on without the "
                                    "store), by operation and reason")
                              .Register(*registry_);
  db_queries_ = &BuildCounter().Name("storygate_db_queries_total")
                    .Help("Queries sent to the database").Register(*registry_).Add({});
  db_batches_ = &BuildCounter().Name("storygate_db_batches_total")
                    .Help("Round trips the queries went in: queries that waited for a busy connection "
                          "leave together, so fewer than queries under load")
                    .Register(*registry_).Add({});
  pool_ = &BuildGauge().Name("storygate_db_pool").Help("Database pool: size, busy, waiting, connected")
               .Register(*registry_);
  // Labelled by server (host:port/db as user): one per --database-url and
  // --replica-url, so the label set is as small as the configuration.
  server_up_ = &BuildGauge().Name("storygate_db_server_up")
                    .Help("1 when the server answered its last health check").Register(*registry_);
  server_standby_ = &BuildGauge().Name("storygate_db_server_standby")
                         .Help("1 when the server is a standby in recovery").Register(*registry_);
  replica_lag_ = &BuildGauge().Name("storygate_replica_lag_seconds")
                      .Help("Replay lag found by the last health check (0 on a primary; NaN when unknown)")
                      .Register(*registry_);
}

metrics::~metrics() = default;

void metrics::request_done(std::string_view route, unsigned status, std::chrono::duration<double> took) {
  // prometheus-cpp looks a labelled child up by building its label map:
  // remembered here, so a request costs one small lookup.
  prometheus::Counter* counter;
  prometheus::Histogram* histogram;
  {
    std::lock_guard lock(children_mutex_);
    auto& entry = request_children_[std::string(route) + '/' + std::to_string(status)];
    if (!entry.first) {
      const std::string r(route);
      entry.first = &requests_->Add({{"route", r}, {"status", std::to_string(status)}});
      entry.second = &request_seconds_->Add({{"route", r}}, latency_buckets);
    }
    counter = entry.first;
    histogram = entry.second;
  }
  counter->Increment();
  histogram->Observe(took.count());
}

void metrics::query_done(std::chrono::duration<double> took) { query_seconds_->Observe(took.count()); }

void metrics::mapping_reloaded(bool ok) { reloads_->Add({{"result", ok ? "ok" : "failed"}}).Increment(); }

void metrics::coercion_warning(std::string_view field) {
  coercion_warnings_->Add({{"field", std::string(field)}}).Increment();
}

void metrics::sync_page(page_continuation how) {
  sync_pages_->Add({{"continuation", continuation_label(how)}}).Increment();
}

void metrics::sync_page_from_store() { sync_pages_from_store_->Increment(); }

void metrics::cursor_store_done(std::string_view op, std::string_view outcome, std::chrono::duration<double> took) {
  const std::string name(op);
  cursor_store_seconds_->Add({{"op", name}}, store_buckets).Observe(took.count());
  if (outcome != "ok") cursor_store_errors_->Add({{"op", name}, {"reason", std::string(outcome)}}).Increment();
}

void metrics::sync_finished(bool followed_to_end, std::size_t records, std::size_t duplicates,
                            std::chrono::duration<double> took) {
  syncs_->Add({{"completed", followed_to_end ? "true" : "false"}}).Increment();
  sync_records_->Increment(static_cast<double>(records));
  sync_duplicates_->Increment(static_cast<double>(duplicates));
  if (followed_to_end) {
    sync_seconds_->Observe(took.count());
    const std::chrono::duration<double> now = std::chrono::system_clock::now().time_since_epoch();
    sync_last_completed_->Set(now.count());
  }
}

void metrics::auth_failure() { auth_failures_->Increment(); }

void metrics::readiness_checked(bool ready) {
  readiness_checks_->Add({{"result", ready ? "ok" : "failed"}}).Increment();
}

std::string metrics::render(const db::pool::stats& pool) {
  pool_->Add({{"state", "size"}}).Set(pool.size);
  pool_->Add({{"state", "busy"}}).Set(pool.busy);
  pool_->Add({{"state", "waiting"}}).Set(pool.waiting);
  pool_->Add({{"state", "connected"}}).Set(pool.connected);
  {
    std::lock_guard lock(pool_totals_mutex_);
    db_queries_->Increment(static_cast<double>(pool.queries - queries_counted_));
    db_batches_->Increment(static_cast<double>(pool.batches - batches_counted_));
    queries_counted_ = pool.queries;
    batches_counted_ = pool.batches;
  }
  for (const auto& server : pool.servers) {
    const prometheus::Labels label{{"server", server.name}};
    server_up_->Add(label).Set(server.up ? 1 : 0);
    server_standby_->Add(label).Set(server.in_recovery ? 1 : 0);
    replica_lag_->Add(label).Set(server.up && server.lag_seconds ? *server.lag_seconds
                                                                 : std::numeric_limits<double>::quiet_NaN());
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace storygate::observe
