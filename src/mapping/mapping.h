#pragma once
// The mapping as the DBA wrote it: parsed and checked for shape, not yet
// checked against the database (see catalog.h for that).
//
// Immutable once loaded; shared read-only by every request.
#include <optional>
#include <string>
#include <vector>

namespace storygate::mapping {

// Where a value stood in the YAML file, for messages a DBA can act on.
struct position {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string str() const;
};

// The JSON types a field may be declared as. `inferred` means "from the
// column's PostgreSQL type".
enum class field_type { inferred, string, integer, number, boolean, datetime, date, array, json };

std::string_view to_string(field_type type);
std::optional<field_type> field_type_from_string(std::string_view name);

// A named value together with where it was written.
struct located {
  std::string value;
  position where;
};

// An array field gathered from a child table: the distinct `value`s of the
// rows of `relation` whose `key` equals the source row's `join` column.
struct child_collection {
  located relation;  // e.g. legacy.cust_category
  located key;       // child column pointing at the customer
  located value;     // child column whose values are collected
  std::optional<located> join;  // source column `key` matches; default: the id column
};

// One DailyStory field. Its value comes from exactly one of: a legacy column
// of the source row, a SQL expression over it, a child table, or a constant.
struct field {
  std::string name;                       // DailyStory's name, e.g. "first_name"
  std::optional<std::string> column;      // legacy column
  std::optional<std::string> expression;  // trusted SQL written by the DBA
  std::optional<child_collection> children;
  std::optional<std::string> constant;    // JSON text of a constant value
  field_type declared = field_type::inferred;

  // Clean-ups of text, applied in this order before any conversion.
  bool trim = false;         // blanks at both ends
  bool lower = false;        // e-mail addresses
  bool digits_only = false;  // phone numbers: "(555) 372-8048" -> "5553728048"
  std::optional<std::string> format;     // strftime-style format of text dates and date-times
  std::optional<std::string> split;      // delimiter of a list held in one text column
  std::optional<located> time_zone;      // wall-clock zone of this field's values
  std::optional<std::string> default_json;  // served (as JSON text) instead of null
  position where;
};

struct mapping {
  std::string file;
  located relation;          // [schema.]table or view, as the DBA wrote it
  located alias;             // name the expressions use for the source row
  located id_column;
  // The change time: a column, or (when updated_at_is_expression) SQL over the source row.
  located updated_at_column;
  bool updated_at_is_expression = false;
  std::optional<located> filter;  // SQL predicate a row must meet to be served at all
  located time_zone;         // responses and offset-less last_updated
  located source_time_zone;  // wall clock of timestamp-without-time-zone columns
  std::vector<field> fields; // in the order they are written in the file
};

}  // namespace storygate::mapping
