#pragma once
// Prometheus metrics (prometheus-cpp core, text exposition format): what an
// operator watches to know storygate is healthy and syncs are complete.
//
// Thread-safe; one instance per process.
#include <chrono>
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
  void sync_page(bool resumed_by_keyset);
  // A page whose walk was continued from the shared cursor store.
  void sync_page_from_store();
  // One cursor store operation ("load", "save") and how it ended ("ok",
  // "timeout", "unavailable", "error"), timed from the call to the answer.
  void cursor_store_done(std::string_view op, std::string_view outcome, std::chrono::duration<double> took);
  void sync_finished(bool followed_to_end, std::size_t records, std::size_t duplicates);
  void auth_failure();

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
  prometheus::Counter* sync_records_;
  prometheus::Counter* sync_duplicates_;
  prometheus::Counter* auth_failures_;
  prometheus::Counter* sync_pages_from_store_;
  prometheus::Family<prometheus::Histogram>* cursor_store_seconds_;
  prometheus::Family<prometheus::Counter>* cursor_store_errors_;
  prometheus::Family<prometheus::Gauge>* pool_;

  std::mutex children_mutex_;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, prometheus::Histogram*>> request_children_;
};

}  // namespace storygate::observe
