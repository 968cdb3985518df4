// The OpenAPI document storygate serves (/api/v1/openapi.json), checked by a
// real validator: tests/openapi/validate.mjs (@apidevtools/swagger-parser,
// which resolves every $ref and validates against the official OpenAPI JSON
// Schema), run with Node.js. Two documents: the README's demo
// (mappings/demo.yaml on scripts/demo-database.sql) and the integration
// fixture (tests/integration/fixtures/core.yaml on core.sql).
//
// Node.js and the validator's packages are part of the test set-up, like
// PostgreSQL: scripts/test.sh runs `npm ci` in tests/openapi. When either is
// missing the tests fail; they are never skipped.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// /usr/bin/node, else the first node on PATH; "" when there is none.
std::string find_node() {
  if (executable("/usr/bin/node")) return "/usr/bin/node";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && executable(dir + "/node")) return dir + "/node";
  return "";
}

// node tests/openapi/validate.mjs FILE. Fails the test (not skips) when node
// or the installed validator is missing.
process_result validate(const std::string& file) {
  const std::string node = find_node();
  EXPECT_NE(node, "") << "Node.js is needed for the OpenAPI validator: not at /usr/bin/node nor on PATH "
                         "(scripts/install-deps.sh installs it)";
  const std::string installed = source_path("tests/openapi/node_modules/@apidevtools/swagger-parser/package.json");
  EXPECT_TRUE(std::filesystem::exists(installed))
      << "the OpenAPI validator is not installed: run `npm ci` in " << source_path("tests/openapi")
      << " (scripts/test.sh does)";
  if (node.empty() || !std::filesystem::exists(installed)) return {};
  return run_process({node, source_path("tests/openapi/validate.mjs"), file}, {}, std::chrono::seconds(60));
}

std::string to_json(const rapidjson::Document& doc) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> writer(out);
  doc.Accept(writer);
  return out.GetString();
}

// The served document with one reference pointed at a schema that does not
// exist: the validator must reject it, naming the reference.
void expect_broken_reference_rejected(const std::string& served, const std::string& name) {
  rapidjson::Document doc;
  doc.Parse(served.c_str());
  ASSERT_FALSE(doc.HasParseError());
  auto& schema = doc["paths"]["/api/v1/customer/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
  ASSERT_TRUE(schema.HasMember("$ref"));
  schema["$ref"].SetString("#/components/schemas/NoSuchSchema");
  const auto result = validate(write_temp_file(name + "-broken-ref.json", to_json(doc)));
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("NoSuchSchema"), std::string::npos) << result.output;
}

// Fetches /api/v1/openapi.json, validates it, and checks that the validator
// rejects it once broken. `name` names the temporary files.
void check_served_document(const server& srv, const std::string& name) {
  const auto res = http_get(srv.port(), "/api/v1/openapi.json", bearer());
  ASSERT_EQ(res.status, 200u) << res.body;
  const std::string file = write_temp_file(name + "-openapi.json", res.body);
  const auto result = validate(file);
  EXPECT_EQ(result.exit_code, 0) << "the OpenAPI document of the " << name << " mapping (" << file
                                 << ") is not valid:\n" << result.output;
  expect_broken_reference_rejected(res.body, name);
}

// A small document that is valid OpenAPI 3.0.3, in the shape storygate serves.
const std::string known_good = R"({
  "openapi": "3.0.3",
  "info": {"title": "known good", "version": "1"},
  "security": [{"bearer": []}],
  "paths": {
    "/api/v1/customer/{id}": {"get": {
      "operationId": "getCustomer",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "responses": {"200": {"description": "The customer",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Customer"}}}}}}}
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {"Customer": {"type": "object", "required": ["id"], "properties": {
      "id": {"type": "integer"},
      "points": {"type": "integer", "nullable": true},
      "date_first_order": {"type": "string", "format": "date-time", "nullable": true},
      "categories": {"type": "array", "items": {}, "nullable": true}}}}
  }
})";

// The validator itself: it accepts a valid document, and rejects broken ones
// with the reason, so the checks of storygate's documents can fail.
TEST(OpenApi, ValidatorAcceptsValidAndRejectsBrokenDocuments) {
  const auto good = validate(write_temp_file("known-good.json", known_good));
  EXPECT_EQ(good.exit_code, 0) << good.output;

  rapidjson::Document doc;
  doc.Parse(known_good.c_str());
  ASSERT_FALSE(doc.HasParseError());
  doc.RemoveMember("openapi");
  const auto no_version = validate(write_temp_file("no-version.json", to_json(doc)));
  EXPECT_NE(no_version.exit_code, 0) << no_version.output;
  EXPECT_NE(no_version.output.find("OpenAPI version"), std::string::npos) << no_version.output;

  expect_broken_reference_rejected(known_good, "known-good");

  // OpenAPI 3.0 has no type lists (3.1 has): nullable says "or null".
  std::string type_list = known_good;
  const std::string nullable_points = R"("points": {"type": "integer", "nullable": true})";
  type_list.replace(type_list.find(nullable_points), nullable_points.size(), R"("points": {"type": ["integer", "null"]})");
  const auto listed = validate(write_temp_file("type-list.json", type_list));
  EXPECT_NE(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("/properties/points/type must be string"), std::string::npos) << listed.output;

  const auto not_json = validate(write_temp_file("not-json.json", "{\"openapi\": "));
  EXPECT_NE(not_json.exit_code, 0) << not_json.output;
}

TEST(OpenApi, DemoDocumentIsValid) {
  scratch_database db("");
  db.run_psql_file(source_path("scripts/demo-database.sql"), {{"customers", "50"}});
  server srv({"serve", "--mapping", source_path("mappings/demo.yaml")},
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_reader")}, {"STORYGATE_BEARER_TOKENS", test_token}});
  check_served_document(srv, "demo");
}

TEST(OpenApi, CoreFixtureDocumentIsValid) {
  scratch_database db(core_sql());
  server srv({"serve", "--mapping", core_mapping_path()},
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")}, {"STORYGATE_BEARER_TOKENS", test_token}});
  check_served_document(srv, "core");
}

}  // namespace
}  // namespace storygate::testing
