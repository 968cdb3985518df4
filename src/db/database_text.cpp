#include "db/database_text.h"

#include <cerrno>
#include <map>
#include <stdexcept>

namespace storygate::db {
namespace {

// PostgreSQL's server encodings (all but UTF8, SQL_ASCII and MULE_INTERNAL,
// which need no converter or have none) by the names glibc's iconv knows.
const std::map<std::string_view, const char*>& iconv_names() {
  static const std::map<std::string_view, const char*> names{
      {"EUC_JP", "EUC-JP"},           {"EUC_CN", "EUC-CN"},         {"EUC_KR", "EUC-KR"},
      {"EUC_TW", "EUC-TW"},           {"EUC_JIS_2004", "EUC-JISX0213"},
      {"LATIN1", "ISO-8859-1"},       {"LATIN2", "ISO-8859-2"},     {"LATIN3", "ISO-8859-3"},
      {"LATIN4", "ISO-8859-4"},       {"LATIN5", "ISO-8859-9"},     {"LATIN6", "ISO-8859-10"},
      {"LATIN7", "ISO-8859-13"},      {"LATIN8", "ISO-8859-14"},    {"LATIN9", "ISO-8859-15"},
      {"LATIN10", "ISO-8859-16"},     {"ISO_8859_5", "ISO-8859-5"}, {"ISO_8859_6", "ISO-8859-6"},
      {"ISO_8859_7", "ISO-8859-7"},   {"ISO_8859_8", "ISO-8859-8"}, {"WIN866", "CP866"},
      {"WIN874", "CP874"},            {"WIN1250", "CP1250"},        {"WIN1251", "CP1251"},
      {"WIN1252", "CP1252"},          {"WIN1253", "CP1253"},        {"WIN1254", "CP1254"},
      {"WIN1255", "CP1255"},          {"WIN1256", "CP1256"},        {"WIN1257", "CP1257"},
      {"WIN1258", "CP1258"},          {"KOI8R", "KOI8-R"},          {"KOI8U", "KOI8-U"},
  };
  return names;
}

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

database_text::database_text(std::string_view encoding) {
  const auto found = iconv_names().find(encoding);
  if (found == iconv_names().end())
    throw std::invalid_argument("no converter from the database encoding " + std::string(encoding));
  converter_ = iconv_open("UTF-8", found->second);
  if (converter_ == reinterpret_cast<iconv_t>(-1))
    throw std::invalid_argument("this system cannot convert from " + std::string(found->second));
}

database_text::~database_text() { iconv_close(converter_); }

std::string database_text::to_utf8(std::string_view bytes) {
  std::string out;
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  char buffer[256];
  iconv(converter_, nullptr, nullptr, nullptr, nullptr);  // a fresh start, whatever came before
  while (in_left > 0) {
    char* to = buffer;
    std::size_t to_left = sizeof buffer;
    const std::size_t done = iconv(converter_, &in, &in_left, &to, &to_left);
    out.append(buffer, to - buffer);
    if (done != static_cast<std::size_t>(-1) || errno == E2BIG) continue;
    // EILSEQ, a byte with no character; EINVAL, a sequence cut short at the
    // end: one U+FFFD, and on from the next byte.
    out += replacement;
    ++in;
    --in_left;
    iconv(converter_, nullptr, nullptr, nullptr, nullptr);
  }
  return out;
}

std::optional<std::string> bytes_from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_digit(text[i]), low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes += static_cast<char>(high * 16 + low);
  }
  return bytes;
}

converted_row::converted_row(const row_text& row, int columns, const std::vector<bool>& as_bytes,
                             database_text& text)
    : null_(columns), text_(columns) {
  for (int c = 0; c < columns; ++c) {
    null_[c] = row.is_null(c);
    if (null_[c]) continue;
    const auto value = row.text(c);
    if (static_cast<std::size_t>(c) < as_bytes.size() && as_bytes[c]) {
      auto bytes = bytes_from_hex(value);
      text_[c] = bytes ? text.to_utf8(*bytes) : std::string(value);
    } else {
      text_[c] = std::string(value);
    }
  }
}

}  // namespace storygate::db
