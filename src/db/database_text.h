#pragma once
// Text in the database's own encoding, converted to UTF-8 here rather than by
// PostgreSQL. PostgreSQL refuses a whole row when one of its bytes has no
// UTF-8 character (the five bytes WIN1252 leaves undefined, say); a sync
// would then stop at that row's page for good. The statements that read such
// rows take their text as its bytes in hex (sql::statement's `_as_bytes`), and each byte
// without a character becomes U+FFFD, as in an SQL_ASCII database's text.
#include <iconv.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/row_text.h"

namespace storygate::db {

class database_text {
 public:
  // `encoding` as PostgreSQL names it ("WIN1252", "LATIN1", "EUC_JP", ...).
  // Throws std::invalid_argument for a name with no converter here.
  explicit database_text(std::string_view encoding);
  ~database_text();
  database_text(const database_text&) = delete;
  database_text& operator=(const database_text&) = delete;

  // `bytes` as UTF-8. Not thread-safe: the converter keeps state while it works.
  std::string to_utf8(std::string_view bytes);

 private:
  iconv_t converter_;
};

// The bytes `text` spells in hex ("4d61" is "Ma"); nullopt if it is not hex.
std::optional<std::string> bytes_from_hex(std::string_view text);

// A row of an `_as_bytes` statement seen as its namesake's: the columns
// `as_bytes` marks are converted from hex to UTF-8 text, the others are as
// they came. Converts the whole row at once; `row` need not outlive it.
class converted_row final : public row_text {
 public:
  converted_row(const row_text& row, int columns, const std::vector<bool>& as_bytes, database_text& text);
  bool is_null(int column) const override { return null_[column]; }
  std::string_view text(int column) const override { return text_[column]; }

 private:
  std::vector<bool> null_;
  std::vector<std::string> text_;
};

}  // namespace storygate::db
