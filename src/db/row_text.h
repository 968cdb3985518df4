#pragma once
// One row of a result in PostgreSQL's text format, whichever client library
// read it: the request path reads with libpq (db/pipeline_connection.h), the
// tools with libpqxx (db/pqxx_row_text.h). What writes records sees only this.
#include <string_view>

namespace storygate::db {

class row_text {
 public:
  virtual ~row_text() = default;
  virtual bool is_null(int column) const = 0;
  // The value's text; empty for NULL. Valid as long as the result is.
  virtual std::string_view text(int column) const = 0;
};

}  // namespace storygate::db
