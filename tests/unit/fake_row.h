#pragma once
// A database row for unit tests: text values read through db::row_text, as
// the record writer reads rows, so no database is needed.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/row_text.h"

namespace storygate::testing {

// A row of text values; nullopt is SQL NULL.
class fake_row final : public db::row_text {
 public:
  explicit fake_row(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}
  bool is_null(int column) const override { return !values_.at(static_cast<std::size_t>(column)); }
  std::string_view text(int column) const override {
    const auto& v = values_.at(static_cast<std::size_t>(column));
    return v ? std::string_view(*v) : std::string_view();
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

}  // namespace storygate::testing
