#pragma once
// Writes DailyStory's JSON straight into a string with RapidJSON's Writer (no
// DOM). The only user of RapidJSON.
//
// Not thread-safe; one writer per response.
#include <memory>
#include <string>
#include <string_view>

#include "mapping/mapping.h"

namespace storygate::json {

class record_writer {
 public:
  record_writer();
  ~record_writer();
  record_writer(const record_writer&) = delete;
  record_writer& operator=(const record_writer&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);
  // A key already written as a JSON string, quotes included (see quoted()):
  // copied as it is.
  void quoted_key(std::string_view json_string);
  void string(std::string_view text);
  void integer(int64_t value);
  void boolean(bool value);
  void null();
  // A value that is already JSON text (built by this module or checked).
  void raw(std::string_view json);

  // A value PostgreSQL rendered as text (see sql::render_field_sql), written
  // as `type`. `text` null means SQL NULL. Values that JSON cannot hold
  // (NaN, infinite numbers and dates) become null.
  void value(mapping::field_type type, const char* text, std::size_t length);

  // The document written so far; the writer is empty afterwards.
  std::string take();
  // Forgets what was written, and where it stood: the next call starts a
  // new document. For a writer kept to be used again.
  void clear();

  // For a long document sent on or compressed piece by piece: the text
  // written since the last clear_written(), and forgetting it. The document
  // itself goes on (an open array stays open).
  std::string_view written() const;
  void clear_written();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// {"error": message}
std::string error_body(std::string_view message);

// `text` as a JSON string literal, quotes and escapes included.
std::string quoted(std::string_view text);

// True when `text` is a JSON number (RFC 8259 section 6).
bool is_json_number(std::string_view text);

}  // namespace storygate::json
