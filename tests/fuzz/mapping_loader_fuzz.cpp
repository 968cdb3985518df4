// libFuzzer target: mapping::load_mapping_text on arbitrary text.
//
// mapping_error is the expected way to refuse a file; any other exception
// escaping the loader (a yaml-cpp exception, std::out_of_range, ...) is a bug
// and aborts with the exception's type and message, as do a sanitizer report
// and a stack overflow.
//
// Invariants checked on every accepted mapping: at least one field, field
// names are lower-case identifiers other than "id" and unique, each field has
// exactly one source (column, expression, children, constant), an expression
// has a declared type, options fit the declared type, identifiers are 1-63
// bytes without control characters, no text value is empty or contains NUL,
// and positions are 1-based.
// Built only with -DSTORYGATE_FUZZ=ON (tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <typeinfo>

#include "mapping/loader.h"

namespace sg = storygate;

namespace {

const std::string* current_input;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "mapping_loader_fuzz: %s\n  input:\n%s\n", what.c_str(), current_input->c_str());
  std::abort();
}

void check_position(const sg::mapping::position& p, const char* what) {
  if (p.file != "fuzz.yaml" || p.line < 1 || p.column < 1)
    fail(std::string("bad position for ") + what + ": " + p.str());
}

void check_text(const sg::mapping::located& v, const char* what) {
  if (v.value.empty()) fail(std::string(what) + " is empty");
  if (v.value.find('\0') != std::string::npos) fail(std::string(what) + " contains NUL");
  check_position(v.where, what);
}

void check_identifier(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 63) fail(std::string(what) + " is not 1-63 bytes: " + name);
  for (unsigned char c : name)
    if (c < 0x20) fail(std::string(what) + " contains a control character");
}

void check(const sg::mapping::mapping& m) {
  using sg::mapping::field_type;
  check_text(m.relation, "relation");
  check_text(m.alias, "alias");
  check_identifier(m.alias.value, "alias");
  check_text(m.id_column, "id");
  check_identifier(m.id_column.value, "id");
  check_text(m.updated_at_column, "updated_at");
  if (!m.updated_at_is_expression) check_identifier(m.updated_at_column.value, "updated_at");
  if (m.filter) check_text(*m.filter, "filter");
  check_text(m.time_zone, "time_zone");
  check_text(m.source_time_zone, "source time_zone");
  if (m.fields.empty()) fail("accepted a mapping without fields");
  std::set<std::string> names;
  for (const auto& f : m.fields) {
    if (!names.insert(f.name).second) fail("field mapped twice: " + f.name);
    if (f.name.empty() || f.name.size() > 64 || f.name == "id" || f.name[0] < 'a' || f.name[0] > 'z')
      fail("bad field name: " + f.name);
    for (char c : f.name)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
        fail("bad field name: " + f.name);
    const int sources = f.column.has_value() + f.expression.has_value() +
                        f.children.has_value() + f.constant.has_value();
    if (sources != 1) fail("field without exactly one source: " + f.name);
    if (f.column) check_identifier(*f.column, "column");
    if (f.expression) {
      if (f.expression->empty() || f.expression->find('\0') != std::string::npos)
        fail("bad expression of " + f.name);
      if (f.declared == field_type::inferred) fail("expression without a type: " + f.name);
    }
    if (f.children) {
      check_text(f.children->relation, "children relation");
      check_identifier(f.children->key.value, "children key");
      check_identifier(f.children->value.value, "children value");
      if (f.children->join) check_identifier(f.children->join->value, "children join");
      if (f.declared != field_type::inferred && f.declared != field_type::array)
        fail("children field not an array: " + f.name);
    }
    if (f.constant && (f.constant->empty() || f.trim || f.lower || f.digits_only || f.format || f.split))
      fail("constant field with clean-ups or empty: " + f.name);
    if (f.default_json && f.default_json->empty()) fail("empty default of " + f.name);
    if (f.format && f.declared != field_type::date && f.declared != field_type::datetime)
      fail("format on a field that is not a date: " + f.name);
    if (f.split && f.declared != field_type::array) fail("split on a field that is not an array: " + f.name);
    if (f.time_zone) check_text(*f.time_zone, "field time_zone");
    check_position(f.where, "field");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  current_input = &text;
  try {
    check(sg::mapping::load_mapping_text(text, "fuzz.yaml"));
  } catch (const sg::mapping::mapping_error& e) {
    const std::string what = e.what();
    if (what.rfind("fuzz.yaml:", 0) != 0) fail("mapping_error without a position: " + what);
  } catch (const std::exception& e) {
    fail(std::string("escaped: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    fail("escaped: an exception not derived from std::exception");
  }
  return 0;
}
