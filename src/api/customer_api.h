#pragma once
// DailyStory's two endpoints: a validated request in, a query on a pooled
// connection, the records written as JSON out.
//
// Thread-safe: handlers may be called from any HTTP thread at once.
#include <atomic>
#include <memory>
#include <string>

#include "api/list_params.h"
#include "api/records.h"
#include "api/reply.h"
#include "api/sync_cursors.h"
#include "db/pool.h"
#include "mapping/catalog.h"
#include "observe/metrics.h"
#include "sql/customer_queries.h"

namespace storygate::api {

// A catalog with its SQL, tagged so each connection knows whether it has
// prepared this version's statements.
struct compiled_mapping {
  mapping::catalog_ptr catalog;
  sql::customer_queries queries;
  uint64_t generation = 0;

  static std::shared_ptr<const compiled_mapping> compile(mapping::catalog catalog,
                                                        std::chrono::seconds sync_overlap);
};

class customer_api {
 public:
  // `metrics` may be null (the check command).
  customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
               sync_cursors& cursors, observe::metrics* metrics);

  // REQUIRES: `id` passed check_customer_id.
  void get_customer(std::string id, responder respond);
  void list_customers(list_request request, responder respond);

  std::shared_ptr<const compiled_mapping> current() const { return std::atomic_load(&mapping_); }
  // Requests that start from now on use `next`; those in flight finish on theirs.
  void replace(std::shared_ptr<const compiled_mapping> next) { std::atomic_store(&mapping_, std::move(next)); }

 private:
  conversion_warning warner() const;

  std::shared_ptr<const compiled_mapping> mapping_;
  db::pool& pool_;
  sync_cursors& cursors_;
  observe::metrics* metrics_;
};

// Logs the summary of a walk that ended, and counts it.
void report_walk(const sync_walk& walk, bool completed, observe::metrics* metrics);

// Sets a connection up for this mapping version the first time it serves it:
// the session's TimeZone (offsets in responses) and the prepared statements,
// named statement_name(base, generation).
void prepare(db::lease& lease, const compiled_mapping& m);
std::string statement_name(const char* base, uint64_t generation);

// The reply for a request the database could not serve.
reply failure_reply(db::failure f);

}  // namespace storygate::api
