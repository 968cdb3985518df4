#pragma once
// A libpqxx row seen as db::row_text, for the tools that read with libpqxx.
#include <pqxx/row>

#include "db/row_text.h"

namespace storygate::db {

class pqxx_row_text final : public row_text {
 public:
  explicit pqxx_row_text(const pqxx::row& row) : row_(row) {}
  bool is_null(int column) const override { return row_[static_cast<pqxx::row::size_type>(column)].is_null(); }
  std::string_view text(int column) const override {
    const auto& field = row_[static_cast<pqxx::row::size_type>(column)];
    return {field.c_str(), field.size()};
  }

 private:
  const pqxx::row& row_;
};

}  // namespace storygate::db
