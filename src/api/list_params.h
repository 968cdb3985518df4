#pragma once
// Validation of what a request asks for, before any database work: a bad
// request costs no connection, and works while the database is down.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mapping/catalog.h"
#include "time/last_updated.h"

namespace storygate::api {

using query_params = std::vector<std::pair<std::string, std::string>>;

struct list_request {
  std::optional<time::instant_text> since;  // absent: every record
  uint64_t start = 0;
  unsigned limit = 25;
  // Who is walking: sync cursors are kept per client (a digest of its
  // credentials), so two clients never resume each other's walk.
  std::string client;
  // The client takes gzip: the page is compressed as it is written.
  bool gzip = false;
};

struct bad_request {
  std::string message;
};

// `params` are the decoded query parameters of GET /api/v1/customers.
std::variant<list_request, bad_request> parse_list_params(const query_params& params,
                                                          unsigned default_limit,
                                                          unsigned max_limit);

// nullopt when `id` can be a value of the catalog's id column; otherwise
// what is wrong with it.
std::optional<std::string> check_customer_id(const std::string& id,
                                             const mapping::catalog& catalog);

}  // namespace storygate::api
