#include "mapping/loader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace storygate::mapping {
namespace {

// The message of the mapping_error that loading `yaml` throws.
std::string error_of(const std::string& yaml) {
  try {
    load_mapping_text(yaml, "m.yaml");
  } catch (const mapping_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "the mapping loaded:\n" << yaml;
  return "<loaded>";
}

const std::string types = "string, integer, number, boolean, datetime, date, array, json";

// A minimal valid header; tests append their own `fields:` block.
const std::string header =
    "version: 1\n"                     // line 1
    "time_zone: America/Chicago\n"     // line 2
    "source:\n"                        // line 3
    "  relation: legacy.cust\n"        // line 4
    "  id: cust_id\n"                  // line 5
    "  updated_at: last_modified\n";   // line 6

// ---------------------------------------------------------------- a valid mapping

const std::string full =
    "# DailyStory customers from the legacy CRM\n"  // 1
    "version: 1\n"                                  // 2
    "time_zone: America/New_York\n"                 // 3
    "source:\n"                                     // 4
    "  relation: legacy.cust\n"                     // 5
    "  alias: c\n"                                  // 6
    "  id: cust_id\n"                               // 7
    "  updated_at: last_modified\n"                 // 8
    "  time_zone: America/Chicago\n"                // 9
    "fields:\n"                                     // 10
    "  last_name: lname\n"                          // 11
    "  first_name: {column: fname}\n"               // 12
    "  email:\n"                                    // 13
    "    column: email_addr\n"                      // 14
    "    type: string\n"                            // 15
    "  lifetime_value:\n"                           // 16
    "    expression: c.bal * 100\n"                 // 17
    "    type: number\n"                            // 18
    "  zip: postal_code\n"                          // 19
    "  tags:\n"                                     // 20
    "    column: interests\n"                       // 21
    "    type: array\n";                            // 22

TEST(MappingLoader, FullMappingSource) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  EXPECT_EQ(m.file, "crm.yaml");
  EXPECT_EQ(m.relation.value, "legacy.cust");
  EXPECT_EQ(m.relation.where.str(), "crm.yaml:5:13");
  EXPECT_EQ(m.alias.value, "c");
  EXPECT_EQ(m.alias.where.str(), "crm.yaml:6:10");
  EXPECT_EQ(m.id_column.value, "cust_id");
  EXPECT_EQ(m.id_column.where.str(), "crm.yaml:7:7");
  EXPECT_EQ(m.updated_at_column.value, "last_modified");
  EXPECT_EQ(m.updated_at_column.where.str(), "crm.yaml:8:15");
  EXPECT_EQ(m.time_zone.value, "America/New_York");
  EXPECT_EQ(m.time_zone.where.str(), "crm.yaml:3:12");
  EXPECT_EQ(m.source_time_zone.value, "America/Chicago");
  EXPECT_EQ(m.source_time_zone.where.str(), "crm.yaml:9:14");
}

TEST(MappingLoader, FullMappingFieldsInFileOrder) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  ASSERT_EQ(m.fields.size(), 6u);
  std::vector<std::string> names;
  for (const auto& f : m.fields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"last_name", "first_name", "email", "lifetime_value",
                                             "zip", "tags"}));
}

TEST(MappingLoader, ShortFieldFormIsAColumnWithInferredType) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  const field& f = m.fields.at(0);
  EXPECT_EQ(f.name, "last_name");
  ASSERT_TRUE(f.column.has_value());
  EXPECT_EQ(*f.column, "lname");
  EXPECT_FALSE(f.expression.has_value());
  EXPECT_EQ(f.declared, field_type::inferred);
  EXPECT_EQ(f.where.str(), "crm.yaml:11:14");
}

TEST(MappingLoader, FlowMappingFieldForm) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  const field& f = m.fields.at(1);
  EXPECT_EQ(f.name, "first_name");
  EXPECT_EQ(f.column, "fname");
  EXPECT_FALSE(f.expression.has_value());
  EXPECT_EQ(f.declared, field_type::inferred);
  EXPECT_EQ(f.where.str(), "crm.yaml:12:24");
}

TEST(MappingLoader, LongFieldFormWithType) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  const field& f = m.fields.at(2);
  EXPECT_EQ(f.name, "email");
  EXPECT_EQ(f.column, "email_addr");
  EXPECT_FALSE(f.expression.has_value());
  EXPECT_EQ(f.declared, field_type::string);
  EXPECT_EQ(f.where.str(), "crm.yaml:14:13");
}

TEST(MappingLoader, ExpressionWithType) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  const field& f = m.fields.at(3);
  EXPECT_EQ(f.name, "lifetime_value");
  EXPECT_FALSE(f.column.has_value());
  EXPECT_EQ(f.expression, "c.bal * 100");
  EXPECT_EQ(f.declared, field_type::number);
  EXPECT_EQ(f.where.str(), "crm.yaml:17:17");
}

TEST(MappingLoader, ArrayType) {
  const mapping m = load_mapping_text(full, "crm.yaml");
  EXPECT_EQ(m.fields.at(5).column, "interests");
  EXPECT_EQ(m.fields.at(5).declared, field_type::array);
}

TEST(MappingLoader, Defaults) {
  const mapping m = load_mapping_text(header + "fields:\n  email: email_addr\n", "m.yaml");
  EXPECT_EQ(m.alias.value, "customer");
  EXPECT_EQ(m.source_time_zone.value, "America/Chicago");
  // The source zone is the top-level one, so messages point there.
  EXPECT_EQ(m.source_time_zone.where.str(), "m.yaml:2:12");
  ASSERT_EQ(m.fields.size(), 1u);
  EXPECT_EQ(m.fields[0].name, "email");
}

// A NULL list can be served as an empty one.
TEST(MappingLoader, EmptyListDefault) {
  const mapping m = load_mapping_text(
      header + "fields:\n  tags: { column: tag_list, type: array, split: \";\", default: [] }\n", "m.yaml");
  ASSERT_EQ(m.fields.size(), 1u);
  EXPECT_EQ(m.fields[0].default_json, "[]");
}

TEST(MappingLoader, ScalarDefaultsKeepTheirType) {
  const mapping m = load_mapping_text(header +
                                          "fields:\n"
                                          "  a: { column: a, default: 0 }\n"
                                          "  b: { column: b, default: false }\n"
                                          "  c: { column: c, default: none }\n",
                                      "m.yaml");
  ASSERT_EQ(m.fields.size(), 3u);
  EXPECT_EQ(m.fields[0].default_json, "0");
  EXPECT_EQ(m.fields[1].default_json, "false");
  EXPECT_EQ(m.fields[2].default_json, "\"none\"");
}

TEST(MappingLoader, ListDefaultOnlyEmpty) {
  const std::string message = "m.yaml:8:44: field 'tags': 'default' must be a single value (text, number or "
                              "true/false), or [] for a list";
  EXPECT_EQ(error_of(header + "fields:\n  tags: { column: t, type: array, default: [a] }\n"), message);
  EXPECT_EQ(error_of(header + "fields:\n  tags: { column: t, type: array, default: {} }\n"), message);
}

TEST(MappingLoader, VersionIsOptional) {
  const mapping m = load_mapping_text(
      "time_zone: UTC\nsource: {relation: t, id: i, updated_at: u}\nfields: {a: b}\n", "m.yaml");
  EXPECT_EQ(m.relation.value, "t");
  EXPECT_EQ(m.time_zone.value, "UTC");
  ASSERT_EQ(m.fields.size(), 1u);
  EXPECT_EQ(m.fields[0].column, "b");
}

TEST(MappingLoader, EveryTypeName) {
  const mapping m = load_mapping_text(header +
                                          "fields:\n"
                                          "  a: {column: a, type: string}\n"
                                          "  b: {column: b, type: integer}\n"
                                          "  c: {column: c, type: number}\n"
                                          "  d: {column: d, type: boolean}\n"
                                          "  e: {column: e, type: datetime}\n"
                                          "  f: {column: f, type: date}\n"
                                          "  g: {column: g, type: array}\n"
                                          "  h: {column: h, type: json}\n",
                                      "m.yaml");
  ASSERT_EQ(m.fields.size(), 8u);
  const field_type expected[] = {field_type::string,   field_type::integer, field_type::number,
                                 field_type::boolean,  field_type::datetime, field_type::date,
                                 field_type::array,    field_type::json};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(m.fields[i].declared, expected[i]) << i;
}

TEST(MappingLoader, FieldNamesWithDigitsAndUnderscores) {
  const mapping m = load_mapping_text(header + "fields:\n  address_line2: addr2\n", "m.yaml");
  EXPECT_EQ(m.fields.at(0).name, "address_line2");
}

// ---------------------------------------------------------------- unknown keys

TEST(MappingLoader, UnknownTopLevelKeySuggestsTheClosest) {
  EXPECT_EQ(error_of(header + "feilds:\n  email: email_addr\n"),
            "m.yaml:7:1: unknown key 'feilds' in the mapping (did you mean 'fields'?); "
            "expected one of: version, time_zone, source, fields");
}

TEST(MappingLoader, UnknownTopLevelKeyWithoutSuggestion) {
  EXPECT_EQ(error_of(header + "colour: blue\nfields:\n  email: email_addr\n"),
            "m.yaml:7:1: unknown key 'colour' in the mapping; "
            "expected one of: version, time_zone, source, fields");
}

TEST(MappingLoader, UnknownKeyInSource) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation: t\n"
                     "  id: i\n"
                     "  updated: u\n"
                     "fields:\n  a: b\n"),
            "m.yaml:5:3: unknown key 'updated' in 'source'; "
            "expected one of: relation, alias, id, updated_at, time_zone, filter");
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relaton: t\n"),
            "m.yaml:3:3: unknown key 'relaton' in 'source' (did you mean 'relation'?); "
            "expected one of: relation, alias, id, updated_at, time_zone, filter");
}

TEST(MappingLoader, UnknownKeyInField) {
  EXPECT_EQ(error_of(header +
                     "fields:\n"
                     "  email:\n"
                     "    colum: email_addr\n"),
            "m.yaml:9:5: unknown key 'colum' in field 'email' (did you mean 'column'?); "
            "expected one of: column, expression, children, constant, type, trim, lower, digits_only, format, split, time_zone, default");
}

// ---------------------------------------------------------------- missing keys

TEST(MappingLoader, MissingRelation) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  id: i\n"
                     "  updated_at: u\n"
                     "fields:\n  a: b\n"),
            "m.yaml:3:3: missing 'relation' in 'source'");
}

TEST(MappingLoader, MissingId) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation: t\n"
                     "  updated_at: u\n"
                     "fields:\n  a: b\n"),
            "m.yaml:3:3: missing 'id' in 'source'");
}

TEST(MappingLoader, MissingUpdatedAt) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation: t\n"
                     "  id: i\n"
                     "fields:\n  a: b\n"),
            "m.yaml:3:3: missing 'updated_at' in 'source'");
}

TEST(MappingLoader, MissingTimeZone) {
  EXPECT_EQ(error_of("version: 1\n"
                     "source: {relation: t, id: i, updated_at: u}\n"
                     "fields:\n  a: b\n"),
            "m.yaml:1:1: missing 'time_zone' in the mapping");
}

TEST(MappingLoader, MissingSource) {
  EXPECT_EQ(error_of("time_zone: UTC\nfields:\n  a: b\n"),
            "m.yaml:1:1: missing 'source' in the mapping");
}

TEST(MappingLoader, MissingFields) {
  EXPECT_EQ(error_of(header), "m.yaml:1:1: missing 'fields' in the mapping");
}

TEST(MappingLoader, EmptyTimeZone) {
  EXPECT_EQ(error_of("time_zone: ''\nsource: {relation: t, id: i, updated_at: u}\nfields: {a: b}\n"),
            "m.yaml:1:12: 'time_zone' must be a non-empty text value");
}

TEST(MappingLoader, SourceNotAMapping) {
  EXPECT_EQ(error_of("time_zone: UTC\nsource: legacy.cust\nfields: {a: b}\n"),
            "m.yaml:2:9: 'source' must be a mapping of keys to values");
}

// ---------------------------------------------------------------- fields

TEST(MappingLoader, EmptyFields) {
  EXPECT_EQ(error_of(header + "fields: {}\n"), "m.yaml:7:9: 'fields' is empty; map at least one field");
}

TEST(MappingLoader, FieldsAsAList) {
  EXPECT_EQ(error_of(header + "fields:\n  - email\n"),
            "m.yaml:8:3: 'fields' must be a mapping of keys to values");
}

TEST(MappingLoader, DuplicateField) {
  EXPECT_EQ(error_of(header +
                     "fields:\n"
                     "  email: email_addr\n"
                     "  zip: postal_code\n"
                     "  email: email2\n"),
            "m.yaml:10:3: field 'email' is mapped twice");
}

TEST(MappingLoader, DuplicateTopLevelKey) {
  EXPECT_EQ(error_of(header + "time_zone: UTC\nfields:\n  email: email_addr\n"),
            "m.yaml:7:1: 'time_zone' appears twice in the mapping");
}

TEST(MappingLoader, DuplicateKeyInSource) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation: t\n"
                     "  id: i\n"
                     "  id: j\n"
                     "  updated_at: u\n"
                     "fields: {a: b}\n"),
            "m.yaml:5:3: 'id' appears twice in 'source'");
}

TEST(MappingLoader, DuplicateKeyInField) {
  EXPECT_EQ(error_of(header + "fields:\n  a: {column: x, column: y}\n"),
            "m.yaml:8:18: 'column' appears twice in field 'a'");
}

TEST(MappingLoader, IdIsNotAField) {
  EXPECT_EQ(error_of(header + "fields:\n  email: email_addr\n  id: cust_id\n"),
            "m.yaml:9:3: 'id' is always the source's id column; remove this field");
}

TEST(MappingLoader, FieldNameWithUpperCase) {
  EXPECT_EQ(error_of(header + "fields:\n  firstName: fname\n"),
            "m.yaml:8:3: field name 'firstName' must be lower-case letters, digits and '_', "
            "starting with a letter");
}

TEST(MappingLoader, OtherBadFieldNames) {
  for (const std::string name : {"2nd_email", "_private", "e-mail", "\"first name\"", "\"\""}) {
    const std::string message = error_of(header + "fields:\n  " + name + ": x\n");
    EXPECT_EQ(message.rfind("m.yaml:8:3: field name '", 0), 0u) << message;
    EXPECT_NE(message.find("must be lower-case letters, digits and '_', starting with a letter"),
              std::string::npos)
        << message;
  }
}

TEST(MappingLoader, FieldNameTooLong) {
  // 64 bytes is the limit.
  EXPECT_NO_THROW(load_mapping_text(header + "fields:\n  " + std::string(64, 'a') + ": x\n", "m.yaml"));
  const std::string message = error_of(header + "fields:\n  " + std::string(65, 'a') + ": x\n");
  EXPECT_NE(message.find("field name '" + std::string(65, 'a') + "' must be"), std::string::npos)
      << message;
}

TEST(MappingLoader, ExpressionWithoutType) {
  EXPECT_EQ(error_of(header +
                     "fields:\n"
                     "  full_name:\n"
                     "    expression: fname || ' ' || lname\n"),
            "m.yaml:9:5: field 'full_name' is an expression, so it needs a 'type' (one of: " + types +
                ")");
}

TEST(MappingLoader, BothColumnAndExpression) {
  EXPECT_EQ(error_of(header +
                     "fields:\n"
                     "  email:\n"
                     "    column: email_addr\n"
                     "    expression: lower(email_addr)\n"
                     "    type: string\n"),
            "m.yaml:9:5: field 'email' must have only one of 'column', 'expression', 'children' or 'constant'");
}

TEST(MappingLoader, NeitherColumnNorExpression) {
  EXPECT_EQ(error_of(header + "fields:\n  email:\n    type: string\n"),
            "m.yaml:9:5: field 'email' needs 'column', 'expression', 'children' or 'constant'");
}

TEST(MappingLoader, UnknownTypeSuggestsTheClosest) {
  EXPECT_EQ(error_of(header +
                     "fields:\n"
                     "  balance:\n"
                     "    column: bal\n"
                     "    type: numbr\n"),
            "m.yaml:10:11: unknown type 'numbr' for field 'balance' (did you mean 'number'?); "
            "expected one of: " + types);
}

TEST(MappingLoader, UnknownTypeWithoutSuggestion) {
  EXPECT_EQ(error_of(header + "fields:\n  balance: {column: bal, type: money}\n"),
            "m.yaml:8:32: unknown type 'money' for field 'balance'; expected one of: " + types);
}

TEST(MappingLoader, InferredIsNotADeclarableType) {
  const std::string message =
      error_of(header + "fields:\n  balance: {column: bal, type: inferred}\n");
  EXPECT_EQ(message.rfind("m.yaml:8:32: unknown type 'inferred' for field 'balance'", 0), 0u)
      << message;
}

TEST(MappingLoader, FieldAsAList) {
  EXPECT_EQ(error_of(header + "fields:\n  email: [a, b]\n"),
            "m.yaml:8:10: field 'email' must be a column name or a mapping with 'column', "
            "'expression', 'children' or 'constant'");
}

// A key written without a value ("email:") has no position of its own; the
// message must point at the key, not at whatever token follows it (the next
// line, possibly another field).
TEST(MappingLoader, EmptyValueReportedAtItsKey) {
  EXPECT_EQ(error_of(header + "fields:\n  email:\n  zip: postal_code\n"),
            "m.yaml:8:3: field 'email' has no value; expected a column name or a mapping with "
            "'column' or 'expression'");
  EXPECT_EQ(error_of(header + "fields:\n"), "m.yaml:7:1: 'fields' must be a mapping of keys to values");
  EXPECT_EQ(error_of("time_zone:\nsource: {relation: t, id: i, updated_at: u}\nfields: {a: b}\n"),
            "m.yaml:1:1: 'time_zone' must be a non-empty text value");
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation:\n"
                     "  id: i\n"
                     "  updated_at: u\n"
                     "fields: {a: b}\n"),
            "m.yaml:3:3: 'relation' must be a non-empty text value");
}

TEST(MappingLoader, ColumnNameTooLong) {
  EXPECT_EQ(error_of(header + "fields:\n  email: " + std::string(64, 'c') + "\n"),
            "m.yaml:8:10: the column of field 'email' is longer than PostgreSQL's 63-byte limit for "
            "names");
}

TEST(MappingLoader, IdentifierWithControlCharacter) {
  EXPECT_EQ(error_of("time_zone: UTC\nsource: {relation: t, id: \"a\\tb\", updated_at: u}\n"
                     "fields: {a: b}\n"),
            "m.yaml:2:27: 'id' must not contain control characters");
}

// ---------------------------------------------------------------- not a mapping at all

TEST(MappingLoader, NotYaml) {
  EXPECT_EQ(error_of(header + "fields: [email, zip\n"),
            "m.yaml:8:1: not valid YAML: end of sequence flow not found");
}

TEST(MappingLoader, YamlSyntaxErrorPosition) {
  EXPECT_EQ(error_of("time_zone: UTC\n"
                     "source:\n"
                     "  relation: t\n"
                     " id: i\n"),
            "m.yaml:4:2: not valid YAML: end of map not found");
}

TEST(MappingLoader, TabIndentationIsASyntaxError) {
  EXPECT_EQ(error_of("time_zone: UTC\nsource:\n\trelation: t\n"),
            "m.yaml:3:10: not valid YAML: illegal map value");
}

TEST(MappingLoader, EmptyFile) {
  EXPECT_EQ(error_of(""),
            "m.yaml:1:1: a mapping file must be a YAML mapping with keys version, time_zone, "
            "source, fields");
}

TEST(MappingLoader, CommentsOnly) {
  EXPECT_EQ(error_of("# nothing here yet\n\n"),
            "m.yaml:1:1: a mapping file must be a YAML mapping with keys version, time_zone, "
            "source, fields");
}

TEST(MappingLoader, ScalarDocument) {
  EXPECT_EQ(error_of("just some text\n"),
            "m.yaml:1:1: a mapping file must be a YAML mapping with keys version, time_zone, "
            "source, fields");
}

TEST(MappingLoader, Version2Rejected) {
  EXPECT_EQ(error_of("version: 2\ntime_zone: UTC\n"), "m.yaml:1:10: unsupported version '2'; expected 1");
}

TEST(MappingLoader, VersionMustBeExactly1) {
  EXPECT_EQ(error_of("version: 1.0\n"), "m.yaml:1:10: unsupported version '1.0'; expected 1");
}

TEST(MappingLoader, FileThatDoesNotExist) {
  try {
    load_mapping_file("/nonexistent/storygate/mapping.yaml");
    FAIL() << "loaded";
  } catch (const mapping_error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/storygate/mapping.yaml: cannot read the mapping file");
  }
}

// ---------------------------------------------------------------- did_you_mean

const std::vector<std::string> top_level = {"version", "time_zone", "source", "fields"};

TEST(DidYouMean, Transposition) { EXPECT_EQ(did_you_mean("feilds", top_level), "fields"); }

TEST(DidYouMean, MissingLetter) {
  EXPECT_EQ(did_you_mean("numbr", {"string", "integer", "number", "boolean"}), "number");
  EXPECT_EQ(did_you_mean("timezone", top_level), "time_zone");
}

TEST(DidYouMean, CaseDifference) { EXPECT_EQ(did_you_mean("Fields", top_level), "fields"); }

TEST(DidYouMean, ExactMatch) { EXPECT_EQ(did_you_mean("source", top_level), "source"); }

TEST(DidYouMean, NothingClose) {
  EXPECT_EQ(did_you_mean("colour", top_level), std::nullopt);
  EXPECT_EQ(did_you_mean("", top_level), std::nullopt);
  EXPECT_EQ(did_you_mean("xyz", top_level), std::nullopt);
}

TEST(DidYouMean, NoCandidates) { EXPECT_EQ(did_you_mean("fields", {}), std::nullopt); }

TEST(DidYouMean, ClosestWins) {
  EXPECT_EQ(did_you_mean("dat", {"datetime", "date"}), "date");
  EXPECT_EQ(did_you_mean("datetim", {"date", "datetime"}), "datetime");
}

TEST(DidYouMean, ShortWordsAllowTwoEdits) {
  EXPECT_EQ(did_you_mean("ix", {"id"}), "id");
  EXPECT_EQ(did_you_mean("xy", {"id"}), "id");  // distance 2: still a guess
  EXPECT_EQ(did_you_mean("abc", {"id"}), std::nullopt);
}

}  // namespace
}  // namespace storygate::mapping
