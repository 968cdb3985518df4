#include "core_database.h"

namespace storygate::testing {

std::string core_sql() { return read_file(source_path("tests/integration/fixtures/core.sql")); }

std::string core_mapping_path() { return source_path("tests/integration/fixtures/core.yaml"); }

}  // namespace storygate::testing
