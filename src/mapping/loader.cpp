#include "mapping/loader.h"

#include "config/file_permissions.h"
#include "json/record_writer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace storygate::mapping {
namespace {

const std::vector<std::string> top_level_keys = {"version", "time_zone", "source", "fields"};
const std::vector<std::string> source_keys = {"relation", "alias", "id", "updated_at",
                                              "time_zone", "filter"};
const std::vector<std::string> field_keys = {"column", "expression", "children", "constant",
                                             "type", "trim", "lower", "digits_only", "format",
                                             "split", "time_zone", "default"};
const std::vector<std::string> children_keys = {"relation", "key", "value", "join"};
constexpr std::string_view default_alias = "customer";
constexpr std::size_t max_identifier_bytes = 63;  // PostgreSQL's NAMEDATALEN - 1

class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  position at(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    // yaml-cpp marks nodes it did not read from the text (e.g. an empty file) with -1.
    return {file_, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1};
  }

  [[noreturn]] void fail(const position& where, const std::string& what) const {
    throw mapping_error(where.str() + ": " + what);
  }

  // Rejects keys not in `allowed`, and keys written twice (yaml-cpp keeps both).
  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed,
                  const std::string& context) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (!entry.first.IsScalar()) fail(at(entry.first), "expected a plain key in " + context);
      if (!seen.insert(key).second)
        fail(at(entry.first), "'" + key + "' appears twice in " + context);
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string message = "unknown key '" + key + "' in " + context;
      if (auto guess = did_you_mean(key, allowed)) message += " (did you mean '" + *guess + "'?)";
      message += "; expected one of: " + join(allowed);
      fail(at(entry.first), message);
    }
  }

  YAML::Node require_map(const YAML::Node& parent, const std::string& key,
                         const std::string& context) const {
    YAML::Node node = parent[key];
    if (!node) fail(at(parent), "missing '" + key + "' in " + context);
    if (!node.IsMap()) fail(value_at(parent, key), "'" + key + "' must be a mapping of keys to values");
    return node;
  }

  // Where the value of `key` is written; an empty value has no place of its
  // own (yaml-cpp marks it at the next token), so its key's place is used.
  position value_at(const YAML::Node& parent, const std::string& key) const {
    for (const auto& entry : parent)
      if (entry.first.Scalar() == key) return entry.second.IsNull() ? at(entry.first) : at(entry.second);
    return at(parent);
  }

  // A non-empty single-line string. `required` false returns nullopt when absent.
  std::optional<located> text(const YAML::Node& parent, const std::string& key,
                              const std::string& context, bool required) const {
    YAML::Node node = parent[key];
    if (!node) {
      if (required) fail(at(parent), "missing '" + key + "' in " + context);
      return std::nullopt;
    }
    if (node.IsNull()) fail(value_at(parent, key), "'" + key + "' must be a non-empty text value");
    return text_value(node, "'" + key + "'");
  }

  located text_value(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar() || node.Scalar().empty())
      fail(at(node), what + " must be a non-empty text value");
    const std::string& value = node.Scalar();
    if (value.find('\0') != std::string::npos) fail(at(node), what + " must not contain NUL");
    return {value, at(node)};
  }

  located identifier(const YAML::Node& parent, const std::string& key,
                     const std::string& context) const {
    located name = *text(parent, key, context, true);
    check_identifier(name, "'" + key + "'");
    return name;
  }

  void check_identifier(const located& name, const std::string& what) const {
    if (name.value.size() > max_identifier_bytes)
      fail(name.where, what + " is longer than PostgreSQL's 63-byte limit for names");
    for (unsigned char c : name.value)
      if (c < 0x20) fail(name.where, what + " must not contain control characters");
  }

  static std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
  }

 private:
  std::string file_;
};

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::vector<std::string> type_names() {
  return {"string", "integer", "number", "boolean", "datetime", "date", "array", "json"};
}

// A YAML scalar as the JSON value a DBA would expect: plain true/false and
// numbers keep their type, anything else (or anything quoted) is a string.
std::string scalar_as_json(const reader& in, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) in.fail(in.at(node), what + " must be a single value (text, number or true/false)");
  const std::string& text = node.Scalar();
  const bool plain = node.Tag() == "?";
  if (plain && (text == "true" || text == "false")) return text;
  if (plain && json::is_json_number(text)) return text;
  return json::quoted(text);
}

// A field's `default`: a single value, or `[]` for a list field (whether the
// field is a list, the database says: catalog.cpp checks it).
std::string default_as_json(const reader& in, const YAML::Node& node, const std::string& what) {
  if (node.IsSequence() && node.size() == 0) return "[]";
  if (!node.IsScalar())
    in.fail(in.at(node), what + " must be a single value (text, number or true/false), or [] for a list");
  return scalar_as_json(in, node, what);
}

bool flag(const reader& in, const YAML::Node& map, const char* key) {
  const YAML::Node node = map[key];
  if (!node) return false;
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
  in.fail(in.at(node), std::string("'") + key + "' must be true or false");
}

child_collection read_children(const reader& in, const YAML::Node& node, const std::string& context) {
  if (!node.IsMap())
    in.fail(in.at(node), context + ": 'children' must be a mapping with relation, key and value");
  in.check_keys(node, children_keys, context + " 'children'");
  child_collection children;
  children.relation = *in.text(node, "relation", context + " 'children'", true);
  children.key = in.identifier(node, "key", context + " 'children'");
  children.value = in.identifier(node, "value", context + " 'children'");
  if (node["join"]) children.join = in.identifier(node, "join", context + " 'children'");
  return children;
}

field read_field(const reader& in, const YAML::Node& key, const YAML::Node& value) {
  field result;
  result.name = key.Scalar();
  result.where = in.at(key);
  if (!is_field_name(result.name))
    in.fail(result.where, "field name '" + result.name +
                              "' must be lower-case letters, digits and '_', starting with a letter");
  if (result.name == "id")
    in.fail(result.where, "'id' is always the source's id column; remove this field");

  if (value.IsNull())
    in.fail(result.where, "field '" + result.name + "' has no value; expected a column name or a "
                                                    "mapping with 'column' or 'expression'");
  if (value.IsScalar()) {
    located column = in.text_value(value, "the column of field '" + result.name + "'");
    in.check_identifier(column, "the column of field '" + result.name + "'");
    result.column = column.value;
    result.where = column.where;
    return result;
  }
  if (!value.IsMap())
    in.fail(in.at(value), "field '" + result.name +
                              "' must be a column name or a mapping with 'column', 'expression', "
                              "'children' or 'constant'");
  const std::string context = "field '" + result.name + "'";
  in.check_keys(value, field_keys, context);

  int sources = 0;
  if (auto column = in.text(value, "column", context, false)) {
    in.check_identifier(*column, "'column'");
    result.column = column->value;
    result.where = column->where;
    ++sources;
  }
  if (auto expression = in.text(value, "expression", context, false)) {
    result.expression = expression->value;
    result.where = expression->where;
    ++sources;
  }
  if (const YAML::Node children = value["children"]) {
    result.children = read_children(in, children, context);
    result.where = in.at(children);
    ++sources;
  }
  if (const YAML::Node constant = value["constant"]) {
    result.constant = scalar_as_json(in, constant, context + ": 'constant'");
    result.where = in.at(constant);
    ++sources;
  }
  if (sources != 1)
    in.fail(in.at(value), context + (sources == 0 ? " needs" : " must have only one of") +
                              " 'column', 'expression', 'children' or 'constant'");

  if (auto type = in.text(value, "type", context, false)) {
    auto parsed = field_type_from_string(type->value);
    if (!parsed) {
      std::string message = "unknown type '" + type->value + "' for " + context;
      if (auto guess = did_you_mean(type->value, type_names()))
        message += " (did you mean '" + *guess + "'?)";
      in.fail(type->where, message + "; expected one of: " + reader::join(type_names()));
    }
    result.declared = *parsed;
  } else if (result.expression) {
    in.fail(in.at(value), context + " is an expression, so it needs a 'type' (one of: " +
                              reader::join(type_names()) + ")");
  }
  if (result.children && result.declared != field_type::inferred && result.declared != field_type::array)
    in.fail(in.at(value["type"]), context + " gathers child rows, so its type is array");

  result.trim = flag(in, value, "trim");
  result.lower = flag(in, value, "lower");
  result.digits_only = flag(in, value, "digits_only");
  if (auto format = in.text(value, "format", context, false)) {
    if (result.declared != field_type::date && result.declared != field_type::datetime)
      in.fail(format->where, context + ": 'format' reads text dates, so the type must be date or datetime");
    result.format = format->value;
  }
  if (auto split = in.text(value, "split", context, false)) {
    if (result.declared != field_type::array)
      in.fail(split->where, context + ": 'split' makes a list, so the type must be array");
    result.split = split->value;
  }
  result.time_zone = in.text(value, "time_zone", context, false);
  if (const YAML::Node fallback = value["default"])
    result.default_json = default_as_json(in, fallback, context + ": 'default'");
  if (result.constant && (result.trim || result.lower || result.digits_only || result.format || result.split))
    in.fail(in.at(value), context + " is a constant; clean-ups and formats do not apply to it");
  return result;
}

mapping read_mapping(const YAML::Node& root, const reader& in, const std::string& file) {
  if (!root.IsMap()) in.fail(in.at(root), "a mapping file must be a YAML mapping with keys " +
                                              reader::join(top_level_keys));
  in.check_keys(root, top_level_keys, "the mapping");

  mapping result;
  result.file = file;
  if (YAML::Node version = root["version"]) {
    if (!version.IsScalar() || version.Scalar() != "1")
      in.fail(in.at(version), "unsupported version '" + version.Scalar() + "'; expected 1");
  }
  result.time_zone = *in.text(root, "time_zone", "the mapping", true);

  YAML::Node source = in.require_map(root, "source", "the mapping");
  in.check_keys(source, source_keys, "'source'");
  result.relation = *in.text(source, "relation", "'source'", true);
  result.alias = source["alias"] ? in.identifier(source, "alias", "'source'")
                                 : located{std::string(default_alias), in.at(source)};
  result.id_column = in.identifier(source, "id", "'source'");
  if (const YAML::Node updated = source["updated_at"]; updated && updated.IsMap()) {
    in.check_keys(updated, {"expression"}, "'updated_at'");
    result.updated_at_column = *in.text(updated, "expression", "'updated_at'", true);
    result.updated_at_is_expression = true;
  } else {
    result.updated_at_column = in.identifier(source, "updated_at", "'source'");
  }
  result.filter = in.text(source, "filter", "'source'", false);
  result.source_time_zone =
      in.text(source, "time_zone", "'source'", false).value_or(result.time_zone);

  YAML::Node fields = in.require_map(root, "fields", "the mapping");
  if (fields.size() == 0) in.fail(in.at(fields), "'fields' is empty; map at least one field");
  std::set<std::string> names;
  for (const auto& entry : fields) {
    if (!entry.first.IsScalar()) in.fail(in.at(entry.first), "a field name must be plain text");
    if (!names.insert(entry.first.Scalar()).second)
      in.fail(in.at(entry.first), "field '" + entry.first.Scalar() + "' is mapped twice");
    result.fields.push_back(read_field(in, entry.first, entry.second));
  }
  return result;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string position::str() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string_view to_string(field_type type) {
  switch (type) {
    case field_type::inferred: return "inferred";
    case field_type::string: return "string";
    case field_type::integer: return "integer";
    case field_type::number: return "number";
    case field_type::boolean: return "boolean";
    case field_type::datetime: return "datetime";
    case field_type::date: return "date";
    case field_type::array: return "array";
    case field_type::json: return "json";
  }
  return "inferred";
}

std::optional<field_type> field_type_from_string(std::string_view name) {
  for (auto type : {field_type::string, field_type::integer, field_type::number,
                    field_type::boolean, field_type::datetime, field_type::date,
                    field_type::array, field_type::json})
    if (to_string(type) == name) return type;
  return std::nullopt;
}

std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

mapping load_mapping_text(const std::string& yaml, const std::string& file) {
  reader in(file);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    in.fail({file, std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1},
            "not valid YAML: " + e.msg);
  }
  return read_mapping(root, in, file);
}

mapping load_mapping_file(const std::string& path) {
  // The mapping holds SQL and is reloaded when it changes: a file every
  // local user may write would let any of them choose what storygate runs.
  if (auto problem = config::unsafe_file(path, config::file_kind::trusted))
    throw mapping_error(path + ": the mapping file is " + *problem);
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw mapping_error(path + ": cannot read the mapping file");
  std::ostringstream text;
  text << stream.rdbuf();
  return load_mapping_text(text.str(), path);
}

}  // namespace storygate::mapping
