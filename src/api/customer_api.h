#pragma once
// DailyStory's two endpoints: a validated request in, a query on a pooled
// connection, the records written as JSON out.
//
// Thread-safe: handlers may be called from any HTTP thread at once.
#include <pqxx/pqxx>

#include <atomic>
#include <memory>
#include <string>

#include "api/list_params.h"
#include "api/records.h"
#include "api/reply.h"
#include "api/sync_cursors.h"
#include "cursors/redis_store.h"
#include "cursors/walk_record.h"
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
  // The same on every replica for the same SQL and time zone (SHA-256): a walk
  // continues by keyset only under the version it started with.
  std::string version;

  static std::shared_ptr<const compiled_mapping> compile(mapping::catalog catalog,
                                                        std::chrono::seconds sync_overlap);
  // The SQL of a statement by its base name ("by_id", "list_since", ...).
  const std::string& sql(std::string_view name) const;
};

// Sets a connection up for this mapping version the first time it serves it:
// the session's TimeZone (offsets in responses) and the prepared statements,
// named statement_name(base, generation).
void prepare(db::lease& lease, const compiled_mapping& m);
// The base names of every statement a mapping runs, as prepare() names them.
inline constexpr const char* statement_bases[] = {"by_id", "count_since", "list_since", "list_after",
                                                  "count_changed"};
std::string statement_name(const char* base, uint64_t generation);

// How statements reach the database: named prepared statements on sessions
// of our own, or (behind pgbouncer in transaction mode, which keeps no
// session state) the SQL with its parameters in a transaction that sets the
// zone and timeout itself.
struct statement_mode {
  bool prepared = true;
  std::chrono::milliseconds statement_timeout{10000};
};

// Runs a mapping's statements on a leased connection, one job's worth.
class statement_runner {
 public:
  statement_runner(db::lease& lease, const compiled_mapping& m, statement_mode mode);
  ~statement_runner();

  template <typename... Args>
  pqxx::result operator()(const char* name, Args&&... args) {
    if (mode_.prepared)
      return tx_->exec_prepared(statement_name(name, mapping_.generation), std::forward<Args>(args)...);
    return tx_->exec_params(mapping_.sql(name), std::forward<Args>(args)...);
  }

  // `since` (timestamptz text) moved back by `by`, as text PostgreSQL reads
  // back as the same instant (the session's zone, with its offset). The
  // statements' SQL stays as it is; only the value bound to it moves.
  std::string widened(const std::string& since, std::chrono::seconds by);

 private:
  const compiled_mapping& mapping_;
  statement_mode mode_;
  std::unique_ptr<pqxx::transaction_base> tx_;
};

class customer_api {
 public:
  // `metrics` may be null (the tools). `store` (may be null: none) shares
  // walks with other replicas; it must outlive every request.
  customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
               sync_cursors& cursors, observe::metrics* metrics, statement_mode mode = {},
               cursors::redis_store* store = nullptr);

  // REQUIRES: `id` passed check_customer_id.
  void get_customer(std::string id, responder respond);
  void list_customers(list_request request, responder respond);

  std::shared_ptr<const compiled_mapping> current() const { return std::atomic_load(&mapping_); }
  // Requests that start from now on use `next`; those in flight finish on theirs.
  void replace(std::shared_ptr<const compiled_mapping> next) { std::atomic_store(&mapping_, std::move(next)); }

 private:
  conversion_warning warner() const;
  // Counts how a list page continued its walk: first, keyset or OFFSET.
  void count_continuation(const list_request& request, bool resumed) const;
  // The page at `position`, resumed from `resume` when there is one.
  void serve_page(std::shared_ptr<const compiled_mapping> m, list_request request,
                  cursors::walk_position position, std::optional<sync_cursor> resume, responder respond);

  std::shared_ptr<const compiled_mapping> mapping_;
  db::pool& pool_;
  sync_cursors& cursors_;
  observe::metrics* metrics_;
  statement_mode mode_;
  cursors::redis_store* store_;
};

// Logs the summary of a walk that ended, and counts it.
void report_walk(const sync_walk& walk, bool completed, observe::metrics* metrics);


// The reply for a request the database could not serve.
reply failure_reply(db::failure f);

}  // namespace storygate::api
