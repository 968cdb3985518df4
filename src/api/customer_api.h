#pragma once
// DailyStory's two endpoints: a validated request in, its queries through
// the pool, the records written as JSON out once the rows are in (the
// connection is by then free for other queries).
//
// Thread-safe: handlers may be called from any HTTP thread at once.
#include <atomic>
#include <memory>
#include <string>

#include "api/compiled_mapping.h"
#include "api/list_params.h"
#include "api/records.h"
#include "api/reply.h"
#include "api/sync_cursors.h"
#include "cursors/redis_store.h"
#include "cursors/walk_record.h"
#include "db/pool.h"
#include "mapping/catalog.h"
#include "observe/metrics.h"

namespace storygate::api {

class customer_api {
 public:
  // `metrics` may be null (the tools). `store` (may be null: none) shares
  // walks with other replicas; it must outlive every request. `path_prefix`
  // goes before the next links (config::settings::public_path_prefix).
  customer_api(std::shared_ptr<const compiled_mapping> mapping, db::pool& pool,
               sync_cursors& cursors, observe::metrics* metrics, cursors::redis_store* store = nullptr,
               std::string path_prefix = {});

  // REQUIRES: `id` passed check_customer_id.
  void get_customer(std::string id, responder respond);
  void list_customers(list_request request, responder respond);

  std::shared_ptr<const compiled_mapping> current() const { return std::atomic_load(&mapping_); }
  // Requests that start from now on use `next`; those in flight finish on theirs.
  void replace(std::shared_ptr<const compiled_mapping> next) { std::atomic_store(&mapping_, std::move(next)); }

 private:
  conversion_warning warner() const;
  // The JSON reply of one record.
  api::reply record_reply(const compiled_mapping& m, const db::row_text& row) const;
  // get_customer again for a row PostgreSQL could not convert to UTF-8: its
  // text read as bytes and converted here (db/database_text.h).
  void get_customer_as_bytes(std::shared_ptr<const compiled_mapping> m, std::string id, responder respond);
  // Counts how a list page continued its walk: first, keyset or OFFSET.
  void count_continuation(const list_request& request, bool resumed) const;
  struct page;  // one list request on its way through its queries
  // The page at `position`, resumed from `resume` when there is one: the
  // window, the count, the rows, then the reply.
  void serve_page(std::shared_ptr<const compiled_mapping> m, list_request request,
                  cursors::walk_position position, std::optional<sync_cursor> resume, responder respond);
  void count_walk(std::shared_ptr<page> p);
  void read_rows(std::shared_ptr<page> p);
  void answer_page(const page& p);

  std::shared_ptr<const compiled_mapping> mapping_;
  db::pool& pool_;
  sync_cursors& cursors_;
  observe::metrics* metrics_;
  cursors::redis_store* store_;
  const std::string path_prefix_;
};

// Logs the summary of a walk that ended, and counts it.
void report_walk(const sync_walk& walk, bool completed, observe::metrics* metrics);


// The reply for a request the database could not serve.
reply failure_reply(db::failure f);

}  // namespace storygate::api
