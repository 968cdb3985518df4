#pragma once
// Prometheus metrics (prometheus-cpp core, text exposition format): what an
// operator watches to know storygate is healthy and syncs are complete.
//
// Thread-safe; one instance per process.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>
#include <string_view>

#include "db/pool.h"

namespace prometheus {
class Registry;
template <typename T> class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace storygate::observe {

class metrics {
 public:
  metrics();
  ~metrics();

  void request_done(std::string_view route, unsigned status, std::chrono::duration<double> took);
  void query_done(std::chrono::duration<double> took);
  void mapping_reloaded(bool ok);
  void coercion_warning(std::string_view field);
  // How a list page continued its walk: the first page of a walk, a page
  // resumed from a remembered keyset cursor, or one that needed OFFSET (its
  // cursor was on another replica, or forgotten).
  enum class page_continuation { first, keyset, offset };
  void sync_page(page_continuation how);
  // A walk ended: followed to its last page, or abandoned (expired or evicted
  // from the cursor store before its last page). `took` is from its first page.
  void sync_finished(bool followed_to_end, std::size_t records, std::size_t duplicates,
                     std::chrono::duration<double> took);
  // A page whose walk was continued from the shared cursor store.
  void sync_page_from_store();
  // One cursor store operation ("load", "save") and how it ended ("ok",
  // "timeout", "unavailable", "error"), timed from the call to the answer.
  void cursor_store_done(std::string_view op, std::string_view outcome, std::chrono::duration<double> took);
  void auth_failure();
  // A /readyz probe answered: ready (ok) or not, by the pool's last health checks.
  void readiness_checked(bool ready);

  // The exposition text, with the pool's gauges read now.
  std::string render(const db::pool::stats& pool);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_seconds_;
  prometheus::Histogram* query_seconds_;
  prometheus::Family<prometheus::Counter>* reloads_;
  prometheus::Family<prometheus::Counter>* coercion_warnings_;
  prometheus::Family<prometheus::Counter>* sync_pages_;
  prometheus::Family<prometheus::Counter>* syncs_;
  // Alerting (deploy/prometheus/storygate-rules.yml): when the last walk was
  // followed to its end, how long completed walks take, readiness results.
  prometheus::Gauge* sync_last_completed_;
  prometheus::Histogram* sync_seconds_;
  prometheus::Family<prometheus::Counter>* readiness_checks_;
  prometheus::Counter* sync_records_;
  prometheus::Counter* sync_duplicates_;
  prometheus::Counter* auth_failures_;
  prometheus::Counter* sync_pages_from_store_;
  prometheus::Family<prometheus::Histogram>* cursor_store_seconds_;
  prometheus::Family<prometheus::Counter>* cursor_store_errors_;
  prometheus::Family<prometheus::Gauge>* pool_;
  prometheus::Family<prometheus::Gauge>* server_up_;
  prometheus::Family<prometheus::Gauge>* server_standby_;
  prometheus::Family<prometheus::Gauge>* replica_lag_;
  // The pool's own running totals, carried over at each render.
  prometheus::Counter* db_queries_;
  prometheus::Counter* db_batches_;
  std::mutex pool_totals_mutex_;
  uint64_t queries_counted_ = 0, batches_counted_ = 0;

  std::mutex children_mutex_;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, prometheus::Histogram*>> request_children_;
};

}  // namespace storygate::observe
