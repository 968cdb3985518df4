#include "api/openapi.h"

#include "json/record_writer.h"

namespace storygate::api {
namespace {

using mapping::field_type;
using json::record_writer;

// Keeps the document readable below: key then value in one call.
void put(record_writer& w, std::string_view key, std::string_view value) {
  w.key(key);
  w.string(value);
}

// `name: {"type": type[, "description": description]}`, the shape of most
// properties below.
void typed(record_writer& w, std::string_view name, std::string_view type, std::string_view description = {}) {
  w.key(name);
  w.begin_object();
  put(w, "type", type);
  if (!description.empty()) put(w, "description", description);
  w.end_object();
}

// The schema of one field's values. OpenAPI 3.0 has one type per schema and
// says "may be null" with `nullable`; a json field may hold any JSON, so it
// has no type at all.
void field_schema(record_writer& w, const mapping::resolved_field& f) {
  w.begin_object();
  switch (f.output) {
    case field_type::integer: put(w, "type", "integer"); break;
    case field_type::number: put(w, "type", "number"); break;
    case field_type::boolean: put(w, "type", "boolean"); break;
    case field_type::array: put(w, "type", "array"); break;
    case field_type::json: break;
    default: put(w, "type", "string"); break;
  }
  w.key("nullable");
  w.boolean(true);
  if (f.output == field_type::datetime) put(w, "format", "date-time");
  if (f.output == field_type::date) put(w, "format", "date");
  if (f.output == field_type::array) {
    w.key("items");
    w.begin_object();
    w.end_object();
  }
  put(w, "description", "From " + f.source_sql + " (" + f.source_type.name + ")");
  w.end_object();
}

void error_response(record_writer& w, std::string_view status, std::string_view description) {
  w.key(status);
  w.begin_object();
  put(w, "description", description);
  w.key("content");
  w.begin_object();
  w.key("application/json");
  w.begin_object();
  w.key("schema");
  w.begin_object();
  put(w, "$ref", "#/components/schemas/Error");
  w.end_object();
  w.end_object();
  w.end_object();
  w.end_object();
}

void json_content(record_writer& w, std::string_view schema_ref) {
  w.key("content");
  w.begin_object();
  w.key("application/json");
  w.begin_object();
  w.key("schema");
  w.begin_object();
  put(w, "$ref", schema_ref);
  w.end_object();
  w.end_object();
  w.end_object();
}

void query_parameter(record_writer& w, std::string_view name, std::string_view description,
                     std::string_view type, std::string_view format = {}) {
  w.begin_object();
  put(w, "name", name);
  put(w, "in", "query");
  w.key("required");
  w.boolean(false);
  put(w, "description", description);
  w.key("schema");
  w.begin_object();
  put(w, "type", type);
  if (!format.empty()) put(w, "format", format);
  w.end_object();
  w.end_object();
}

void common_errors(record_writer& w) {
  error_response(w, "400", "A parameter is not valid; the message names it");
  error_response(w, "401", "Missing or wrong credentials");
  error_response(w, "503", "The database is unavailable or busy; retry after Retry-After seconds");
  error_response(w, "504", "The database did not answer in time");
}

}  // namespace

std::string openapi_document(const mapping::catalog& catalog, unsigned default_limit,
                             unsigned max_limit) {
  record_writer w;
  w.begin_object();
  put(w, "openapi", "3.0.3");
  w.key("info");
  w.begin_object();
  put(w, "title", "storygate: DailyStory customer API");
  put(w, "version", STORYGATE_VERSION);
  put(w, "description", "Customers from " + catalog.relation_display +
                            ", as DailyStory's Basic Integration Pattern asks for them.");
  w.end_object();

  w.key("security");
  w.begin_array();
  for (const char* scheme : {"basic", "bearer"}) {
    w.begin_object();
    w.key(scheme);
    w.begin_array();
    w.end_array();
    w.end_object();
  }
  w.end_array();

  w.key("paths");
  w.begin_object();
  w.key("/api/v1/customer/{id}");
  w.begin_object();
  w.key("get");
  w.begin_object();
  put(w, "summary", "One customer by its unique id");
  put(w, "operationId", "getCustomer");
  w.key("parameters");
  w.begin_array();
  w.begin_object();
  put(w, "name", "id");
  put(w, "in", "path");
  w.key("required");
  w.boolean(true);
  typed(w, "schema", catalog.id.output == field_type::integer ? "integer" : "string");
  w.end_object();
  w.end_array();
  w.key("responses");
  w.begin_object();
  w.key("200");
  w.begin_object();
  put(w, "description", "The customer");
  json_content(w, "#/components/schemas/Customer");
  w.end_object();
  error_response(w, "404", "No customer with that id");
  common_errors(w);
  w.end_object();
  w.end_object();
  w.end_object();

  w.key("/api/v1/customers");
  w.begin_object();
  w.key("get");
  w.begin_object();
  put(w, "summary", "Customers changed since last_updated, ordered by change time then id, paged");
  put(w, "operationId", "listCustomers");
  w.key("parameters");
  w.begin_array();
  query_parameter(w, "last_updated",
                  "Only customers changed at or after this time (ISO 8601; without an offset, in " +
                      catalog.source.time_zone.value + "). Absent: all customers.",
                  "string");
  query_parameter(w, "start", "Records to skip (default 0)", "integer");
  query_parameter(w, "limit",
                  "Records per page (default " + std::to_string(default_limit) + ", at most " +
                      std::to_string(max_limit) + ")",
                  "integer");
  w.end_array();
  w.key("responses");
  w.begin_object();
  w.key("200");
  w.begin_object();
  put(w, "description", "One page of customers");
  w.key("headers");
  w.begin_object();
  w.key("Link");
  w.begin_object();
  put(w, "description", "<next page>; rel=\"next\" (RFC 8288), absent on the last page");
  typed(w, "schema", "string");
  w.end_object();
  w.end_object();
  json_content(w, "#/components/schemas/CustomerPage");
  w.end_object();
  common_errors(w);
  w.end_object();
  w.end_object();
  w.end_object();
  w.end_object();

  w.key("components");
  w.begin_object();
  w.key("securitySchemes");
  w.begin_object();
  w.key("basic");
  w.begin_object();
  put(w, "type", "http");
  put(w, "scheme", "basic");
  w.end_object();
  w.key("bearer");
  w.begin_object();
  put(w, "type", "http");
  put(w, "scheme", "bearer");
  w.end_object();
  w.end_object();

  w.key("schemas");
  w.begin_object();
  w.key("Customer");
  w.begin_object();
  put(w, "type", "object");
  w.key("required");
  w.begin_array();
  w.string("id");
  for (const auto& f : catalog.fields) w.string(f.name);
  w.end_array();
  w.key("properties");
  w.begin_object();
  typed(w, "id", catalog.id.output == field_type::integer ? "integer" : "string");
  for (const auto& f : catalog.fields) {
    w.key(f.name);
    field_schema(w, f);
  }
  w.end_object();
  w.end_object();

  w.key("CustomerPage");
  w.begin_object();
  put(w, "type", "object");
  w.key("required");
  w.begin_array();
  for (const char* k : {"count", "start", "limit", "records"}) w.string(k);
  w.end_array();
  w.key("properties");
  w.begin_object();
  typed(w, "count", "integer", "Records this sync covers: those matching when it began, plus those changed since");
  typed(w, "start", "string");
  typed(w, "limit", "string");
  w.key("records");
  w.begin_object();
  put(w, "type", "array");
  w.key("items");
  w.begin_object();
  put(w, "$ref", "#/components/schemas/Customer");
  w.end_object();
  w.end_object();
  typed(w, "next", "string",
        "The next page of this sync, relative to the server; absent on the last page. "
        "Following it is the same as asking for start + records served.");
  w.end_object();
  w.end_object();

  w.key("Error");
  w.begin_object();
  put(w, "type", "object");
  w.key("required");
  w.begin_array();
  w.string("error");
  w.end_array();
  w.key("properties");
  w.begin_object();
  typed(w, "error", "string");
  w.end_object();
  w.end_object();
  w.end_object();
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace storygate::api
