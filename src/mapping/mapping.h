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

// One DailyStory field: either a legacy column of the source row or a SQL
// expression over it.
struct field {
  std::string name;                       // DailyStory's name, e.g. "first_name"
  std::optional<std::string> column;      // legacy column
  std::optional<std::string> expression;  // trusted SQL written by the DBA
  field_type declared = field_type::inferred;
  position where;
};

// A named value together with where it was written.
struct located {
  std::string value;
  position where;
};

struct mapping {
  std::string file;
  located relation;          // [schema.]table or view, as the DBA wrote it
  located alias;             // name the expressions use for the source row
  located id_column;
  located updated_at_column;
  located time_zone;         // responses and offset-less last_updated
  located source_time_zone;  // wall clock of timestamp-without-time-zone columns
  std::vector<field> fields; // in the order they are written in the file
};

}  // namespace storygate::mapping
