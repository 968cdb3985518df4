#include "sql/customer_queries.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>

#include "db/pg_types.h"

namespace storygate::sql {
namespace {

using mapping::field_type;
using mapping::resolved_field;

const db::pg_type int4_type{db::oid::int4, 'N', "integer"};
const db::pg_type int8_type{db::oid::int8, 'N', "bigint"};
const db::pg_type bool_type{db::oid::boolean, 'B', "boolean"};
const db::pg_type varchar_type{db::oid::varchar, 'S', "character varying(80)"};
const db::pg_type text_type{db::oid::text, 'S', "text"};
const db::pg_type money_type{db::oid::money, 'N', "money"};
const db::pg_type numeric_type{db::oid::numeric, 'N', "numeric(12,2)"};
const db::pg_type float8_type{db::oid::float8, 'N', "double precision"};
const db::pg_type date_type{db::oid::date, 'D', "date"};
const db::pg_type timestamp_type{db::oid::timestamp, 'D', "timestamp without time zone"};
const db::pg_type timestamptz_type{db::oid::timestamptz, 'D', "timestamp with time zone"};
const db::pg_type text_array_type{1009, 'A', "text[]"};
const db::pg_type jsonb_type{db::oid::jsonb, 'U', "jsonb"};
const db::pg_type json_type{db::oid::json, 'U', "json"};
const db::pg_type uuid_type{db::oid::uuid, 'U', "uuid"};

const std::string zone = "'America/Chicago'";

resolved_field rf(std::string name, std::string sql, db::pg_type type, field_type output) {
  resolved_field f;
  f.name = std::move(name);
  f.source_sql = std::move(sql);
  f.source_type = std::move(type);
  f.output = output;
  return f;
}
// The literals of a datetime's rendering: the format, the offset's whole hours, their ":00".
const std::string iso = R"('YYYY-MM-DD"T"HH24:MI:SSOF')";
const std::string whole_hours = R"('([+-][0-9][0-9])$')";
const std::string add_minutes = R"(E'\\1:00')";

// The catalog resolve() would build for legacy.cust with `updated_at` of type
// `updated_type`.
mapping::catalog make_catalog(const db::pg_type& updated_type) {
  mapping::catalog c;
  c.source.source_time_zone.value = "America/Chicago";
  c.source.time_zone.value = "America/New_York";
  c.relation_sql = R"("legacy"."cust")";
  c.relation_display = "legacy.cust";
  c.alias_sql = R"("customer")";
  c.id = rf("id", R"("customer"."cust_id")", int4_type, field_type::integer);
  c.id_match = mapping::id_kind::integer;
  c.id_min = -2147483648LL;
  c.id_max = 2147483647LL;
  c.updated_at = rf("updated_at", R"("customer"."last_modified")", updated_type,
                  field_type::datetime);
  c.fields = {
      rf("first_name", R"("customer"."fname")", varchar_type, field_type::string),
      rf("balance", R"("customer"."bal")", money_type, field_type::number),
      rf("created_at", R"("customer"."created")", timestamp_type, field_type::datetime),
      rf("tags", R"("customer"."interests")", text_array_type, field_type::array),
      rf("vip", R"(("customer".flags & 1 = 1))", bool_type, field_type::boolean),
  };
  return c;
}

// The SELECT list shared by every record query.
const std::string records = R"(SELECT "customer"."cust_id",
       "customer"."fname",
       "customer"."bal"::numeric,
       regexp_replace(to_char(("customer"."created" AT TIME ZONE 'America/Chicago'), 'YYYY-MM-DD"T"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\1:00'),
       to_json("customer"."interests"),
       ("customer".flags & 1 = 1))";

// ---------------------------------------------------------------- golden queries

using namespace std::chrono_literals;

const std::string from = R"(
  FROM "legacy"."cust" AS "customer")";
// The keyset columns the list statements add after the fields.
const std::string keyset = R"(,
       "customer"."last_modified"::text, "customer"."cust_id"::text)";
const std::string order = R"(
 ORDER BY "customer"."last_modified", "customer"."cust_id")";

// Rows without an id are neither listed nor counted.
const std::string listed = R"(
   AND "customer"."cust_id" IS NOT NULL)";

// The distinct keys a list serves, from `where`.
std::string keys(const std::string& where) {
  return R"(SELECT DISTINCT "customer"."last_modified" AS storygate_updated, "customer"."cust_id" AS storygate_id)" +
         from + "\n WHERE " + where;
}

// A page of keys, then one row per key, fetched with the filter (when there
// is one) applied again.
std::string page(const std::string& where, const std::string& limit, const std::string& filter = "") {
  return R"(SELECT storygate_row.*
  FROM ()" + keys(where) + order + "\n " + limit + R"() AS storygate_page
 CROSS JOIN LATERAL ()" + records + keyset + from + R"(
 WHERE "customer"."last_modified" = storygate_page.storygate_updated AND "customer"."cust_id" = storygate_page.storygate_id)" +
         filter + R"(
 LIMIT 1) AS storygate_row
 ORDER BY storygate_page.storygate_updated, storygate_page.storygate_id)";
}

// The OFFSET page skips over the keys alone, then fetches its own rows.
std::string offset_page(const std::string& since) { return page(since, "LIMIT $2 OFFSET $3"); }

// A keyset page: after the last row served, still at or after last_updated ($4).
std::string keyset_page(const std::string& updated_type, const std::string& since) {
  return page(R"(("customer"."last_modified", "customer"."cust_id") > ($1::)" + updated_type +
                  R"(, $2::integer)
   AND )" + since,
              "LIMIT $3");
}

std::string count_since(const std::string& since) {
  return "SELECT count(*), max(storygate_updated)::text\n  FROM (" + keys(since) + ") AS storygate_keys";
}

std::string count_changed(const std::string& updated_type, const std::string& since) {
  return "SELECT count(*)\n  FROM (" + keys(R"("customer"."last_modified" > $1::)" + updated_type + "\n   AND " + since) +
         ") AS storygate_keys";
}

TEST(CustomerQueries, ByIdDoesNotDependOnUpdatedAtTypeOrOverlap) {
  for (const auto& type : {timestamp_type, timestamptz_type, date_type}) {
    for (const auto overlap : {0s, 60s}) {
      const auto q = customer_queries::build(make_catalog(type), overlap);
      EXPECT_EQ(q.by_id, records + from + R"(
 WHERE "customer"."cust_id" = $1)")
          << type.name;
    }
  }
}

// The row is served as the instant its wall clock names in the source zone,
// and that is what last_updated is compared with. The wall-clock range,
// widened by Chicago's offset spread (an hour), keeps the index usable.
TEST(CustomerQueries, TimestampWithoutTimeZoneUpdatedAt) {
  const auto q = customer_queries::build(make_catalog(timestamp_type), 0s);
  const auto since = [](const std::string& param) {
    const std::string wall = "(" + param + "::timestamptz AT TIME ZONE 'America/Chicago')";
    return R"("customer"."last_modified" >= (SELECT )" + wall + R"( - interval '3600 seconds')
   AND ("customer"."last_modified" >= (SELECT )" + wall + R"( + interval '3600 seconds') OR ("customer"."last_modified" AT TIME ZONE 'America/Chicago') >= (SELECT )" +
           param + "::timestamptz))" + listed;
  };
  EXPECT_EQ(q.count_since, count_since(since("$1")));
  EXPECT_EQ(q.list_since, offset_page(since("$1")));
  EXPECT_EQ(q.list_after, keyset_page("timestamp without time zone", since("$4")));
  EXPECT_EQ(q.count_changed, count_changed("timestamp without time zone", since("$2")));
}

// UTC has a single offset: wall-clock order is instant order.
TEST(CustomerQueries, TimestampInUtcNeedsNoRecheck) {
  auto c = make_catalog(timestamp_type);
  c.source.source_time_zone.value = "UTC";
  c.fields.clear();
  EXPECT_EQ(customer_queries::build(c, 0s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT ($1::timestamptz AT TIME ZONE 'UTC')))" + listed));
}

// A zone PostgreSQL knows and this machine's tz database does not: the
// widest range any zone has used (48 h), then the exact check.
TEST(CustomerQueries, ZoneUnknownHereWidensTheMost) {
  auto c = make_catalog(timestamp_type);
  c.source.source_time_zone.value = "Mars/Olympus_Mons";
  c.fields.clear();
  EXPECT_EQ(customer_queries::build(c, 0s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT ($1::timestamptz AT TIME ZONE 'Mars/Olympus_Mons') - interval '172800 seconds')
   AND ("customer"."last_modified" >= (SELECT ($1::timestamptz AT TIME ZONE 'Mars/Olympus_Mons') + interval '172800 seconds') OR ("customer"."last_modified" AT TIME ZONE 'Mars/Olympus_Mons') >= (SELECT $1::timestamptz)))" +
                        listed));
}

TEST(CustomerQueries, TimestamptzUpdatedAt) {
  const auto q = customer_queries::build(make_catalog(timestamptz_type), 0s);
  const auto since = [](const std::string& param) {
    return R"("customer"."last_modified" >= (SELECT )" + param + "::timestamptz)" + listed;
  };
  EXPECT_EQ(q.count_since, count_since(since("$1")));
  EXPECT_EQ(q.list_since, offset_page(since("$1")));
  EXPECT_EQ(q.list_after, keyset_page("timestamp with time zone", since("$4")));
  EXPECT_EQ(q.count_changed, count_changed("timestamp with time zone", since("$2")));
}

TEST(CustomerQueries, DateUpdatedAt) {
  const auto q = customer_queries::build(make_catalog(date_type), 0s);
  // Whole days: a change later on the day of last_updated is not missed.
  const auto since = [](const std::string& param) {
    return R"("customer"."last_modified" >= (SELECT ()" + param +
           R"(::timestamptz AT TIME ZONE 'America/Chicago')::date))" + listed;
  };
  EXPECT_EQ(q.count_since, count_since(since("$1")));
  EXPECT_EQ(q.list_since, offset_page(since("$1")));
  EXPECT_EQ(q.list_after, keyset_page("date", since("$4")));
  EXPECT_EQ(q.count_changed, count_changed("date", since("$2")));
}

TEST(CustomerQueries, OverlapWidensLastUpdatedBackwards) {
  EXPECT_EQ(customer_queries::build(make_catalog(timestamptz_type), 60s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT ($1::timestamptz - interval '60 seconds')))" + listed));
  EXPECT_EQ(customer_queries::build(make_catalog(timestamp_type), 60s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT (($1::timestamptz - interval '60 seconds') AT TIME ZONE 'America/Chicago') - interval '3600 seconds')
   AND ("customer"."last_modified" >= (SELECT (($1::timestamptz - interval '60 seconds') AT TIME ZONE 'America/Chicago') + interval '3600 seconds') OR ("customer"."last_modified" AT TIME ZONE 'America/Chicago') >= (SELECT ($1::timestamptz - interval '60 seconds'))))" +
                        listed));
  EXPECT_EQ(customer_queries::build(make_catalog(date_type), 3600s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT (($1::timestamptz - interval '3600 seconds') AT TIME ZONE 'America/Chicago')::date))" +
                        listed));
}

// Later pages continue from a key, and still only list rows at or after the
// widened last_updated.
TEST(CustomerQueries, OverlapAppliesToEveryPage) {
  const auto q = customer_queries::build(make_catalog(timestamptz_type), 60s);
  const auto since = [](const std::string& param) {
    return R"("customer"."last_modified" >= (SELECT ()" + param + R"(::timestamptz - interval '60 seconds')))" + listed;
  };
  EXPECT_EQ(q.list_since, offset_page(since("$1")));
  EXPECT_EQ(q.list_after, keyset_page("timestamp with time zone", since("$4")));
  EXPECT_EQ(q.count_changed, count_changed("timestamp with time zone", since("$2")));
}

// The filter holds in every statement, the row fetched for a key included:
// another tenant's row can share (updated_at, id) with a served one.
TEST(CustomerQueries, FilterHoldsInEveryStatement) {
  auto c = make_catalog(timestamptz_type);
  c.filter_sql = R"(("customer".tenant = 1))";
  const auto q = customer_queries::build(c, 0s);
  const std::string filter = "\n   AND (\"customer\".tenant = 1)";
  const auto since = [&](const std::string& param) {
    return R"("customer"."last_modified" >= (SELECT )" + param + "::timestamptz)" + listed + filter;
  };
  EXPECT_EQ(q.by_id, records + from + R"(
 WHERE "customer"."cust_id" = $1)" + filter);
  EXPECT_EQ(q.count_since, count_since(since("$1")));
  EXPECT_EQ(q.list_since, page(since("$1"), "LIMIT $2 OFFSET $3", filter));
  EXPECT_EQ(q.list_after, page(R"(("customer"."last_modified", "customer"."cust_id") > ($1::timestamp with time zone, $2::integer)
   AND )" + since("$4"),
                               "LIMIT $3", filter));
  EXPECT_EQ(q.count_changed, count_changed("timestamp with time zone", since("$2")));
}

// A unique index on the id column: no two rows share (updated_at, id), and
// the keys need no DISTINCT pass.
TEST(CustomerQueries, UniqueIdNeedsNoDistinct) {
  auto c = make_catalog(timestamptz_type);
  c.id_unique = true;
  const auto q = customer_queries::build(c, 0s);
  const std::string since = R"("customer"."last_modified" >= (SELECT $1::timestamptz))" + listed;
  EXPECT_EQ(q.count_since, R"(SELECT count(*), max(storygate_updated)::text
  FROM (SELECT "customer"."last_modified" AS storygate_updated, "customer"."cust_id" AS storygate_id)" +
                               from + "\n WHERE " + since + ") AS storygate_keys");
  EXPECT_EQ(q.list_since.find("DISTINCT"), std::string::npos) << q.list_since;
  EXPECT_EQ(q.list_after.find("DISTINCT"), std::string::npos) << q.list_after;
  EXPECT_EQ(q.count_changed.find("DISTINCT"), std::string::npos) << q.count_changed;
}

TEST(CustomerQueries, OnlyTheIdWhenNoFields) {
  auto c = make_catalog(timestamptz_type);
  c.fields.clear();
  EXPECT_EQ(customer_queries::build(c, 0s).by_id, R"(SELECT "customer"."cust_id"
  FROM "legacy"."cust" AS "customer"
 WHERE "customer"."cust_id" = $1)");
}

TEST(CustomerQueries, TextIdIsSelectedAsIs) {
  auto c = make_catalog(timestamptz_type);
  c.id = rf("id", R"("customer"."code")", varchar_type, field_type::string);
  c.fields.clear();
  const auto q = customer_queries::build(c, 0s);
  EXPECT_EQ(q.by_id, R"(SELECT "customer"."code"
  FROM "legacy"."cust" AS "customer"
 WHERE "customer"."code" = $1)");
  EXPECT_EQ(q.list_after, R"(SELECT storygate_row.*
  FROM (SELECT DISTINCT "customer"."last_modified" AS storygate_updated, "customer"."code" AS storygate_id
  FROM "legacy"."cust" AS "customer"
 WHERE ("customer"."last_modified", "customer"."code") > ($1::timestamp with time zone, $2::character varying(80))
   AND "customer"."last_modified" >= (SELECT $4::timestamptz)
   AND "customer"."code" IS NOT NULL
 ORDER BY "customer"."last_modified", "customer"."code"
 LIMIT $3) AS storygate_page
 CROSS JOIN LATERAL (SELECT "customer"."code",
       "customer"."last_modified"::text, "customer"."code"::text
  FROM "legacy"."cust" AS "customer"
 WHERE "customer"."last_modified" = storygate_page.storygate_updated AND "customer"."code" = storygate_page.storygate_id
 LIMIT 1) AS storygate_row
 ORDER BY storygate_page.storygate_updated, storygate_page.storygate_id)");
}

TEST(CustomerQueries, UuidIdIsSelectedAsText) {
  auto c = make_catalog(timestamptz_type);
  c.id = rf("id", R"("customer"."uid")", uuid_type, field_type::string);
  c.fields.clear();
  EXPECT_EQ(customer_queries::build(c, 0s).by_id, R"(SELECT "customer"."uid"::text
  FROM "legacy"."cust" AS "customer"
 WHERE "customer"."uid" = $1)");
}

TEST(CustomerQueries, SourceZoneIsQuotedAsALiteral) {
  auto c = make_catalog(date_type);
  c.source.source_time_zone.value = "Bad'Zone";
  c.fields.clear();
  EXPECT_EQ(customer_queries::build(c, 0s).count_since,
            count_since(R"("customer"."last_modified" >= (SELECT ($1::timestamptz AT TIME ZONE 'Bad''Zone')::date))" + listed));
}

// ---------------------------------------------------------------- only placeholders

std::string without_known_literals(std::string sql);

// The $n placeholders in `sql`, outside the literals we write (a regular
// expression's $ is not one).
std::set<std::string> placeholders(const std::string& written) {
  const std::string sql = without_known_literals(written);
  std::set<std::string> found;
  const std::regex dollar(R"(\$[0-9]*)");
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), dollar); it != std::sregex_iterator();
       ++it)
    found.insert(it->str());
  return found;
}

// `sql` without the string literals that come from the mapping and the
// settings (the zone, the to_char formats, the overlap): whatever else is
// quoted would have to be a value.
std::string without_known_literals(std::string sql) {
  for (const std::string& literal :
       {zone, iso, whole_hours, add_minutes, std::string("'YYYY-MM-DD'"), std::string("'60 seconds'"),
        std::string("'3600 seconds'"), std::string("'WIN1252'"), std::string("'hex'")}) {
    for (auto at = sql.find(literal); at != std::string::npos; at = sql.find(literal))
      sql.erase(at, literal.size());
  }
  return sql;
}

TEST(CustomerQueries, RequestValuesOnlyAsPlaceholders) {
  for (const auto& type : {timestamp_type, timestamptz_type, date_type}) {
    for (const auto overlap : {0s, 60s}) {
      const auto q = customer_queries::build(make_catalog(type), overlap);
      using S = std::set<std::string>;
      EXPECT_EQ(placeholders(q.by_id), (S{"$1"}));
      EXPECT_EQ(placeholders(q.count_since), (S{"$1"}));
      EXPECT_EQ(placeholders(q.list_since), (S{"$1", "$2", "$3"}));
      EXPECT_EQ(placeholders(q.list_after), (S{"$1", "$2", "$3", "$4"}));
      EXPECT_EQ(placeholders(q.count_changed), (S{"$1", "$2"}));
      auto legacy = make_catalog(type);
      legacy.database_encoding = "WIN1252";
      const auto b = customer_queries::build(legacy, overlap);
      EXPECT_EQ(placeholders(b.by_id_as_bytes), (S{"$1"}));
      EXPECT_EQ(placeholders(b.list_since_as_bytes), (S{"$1", "$2", "$3"}));
      EXPECT_EQ(placeholders(b.list_after_as_bytes), (S{"$1", "$2", "$3", "$4"}));
      for (const auto* sql : {&q.by_id, &q.count_since, &q.list_since, &q.list_after, &q.count_changed,
                              &b.by_id_as_bytes, &b.list_since_as_bytes, &b.list_after_as_bytes}) {
        EXPECT_EQ(without_known_literals(*sql).find('\''), std::string::npos) << *sql;
        EXPECT_EQ(sql->find(';'), std::string::npos) << *sql;
        EXPECT_EQ(sql->find("--"), std::string::npos) << *sql;
      }
    }
  }
}

// ---------------------------------------------------------------- render_field_sql

std::string render(const db::pg_type& type, field_type output,
                   const std::string& source = R"("customer"."c")") {
  return render_field_sql(rf("f", source, type, output), zone);
}

TEST(RenderFieldSql, DatetimeFromTimestampReadInSourceZone) {
  EXPECT_EQ(render(timestamp_type, field_type::datetime),
            R"(regexp_replace(to_char(("customer"."c" AT TIME ZONE 'America/Chicago'), 'YYYY-MM-DD"T"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\1:00'))");
}

TEST(RenderFieldSql, DatetimeFromTimestamptz) {
  EXPECT_EQ(render(timestamptz_type, field_type::datetime),
            R"(regexp_replace(to_char("customer"."c", 'YYYY-MM-DD"T"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\1:00'))");
}

TEST(RenderFieldSql, DatetimeFromDateIsMidnightInSourceZone) {
  EXPECT_EQ(render(date_type, field_type::datetime),
            R"(regexp_replace(to_char(("customer"."c"::timestamp AT TIME ZONE 'America/Chicago'), 'YYYY-MM-DD"T"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\1:00'))");
}

TEST(RenderFieldSql, DateFromDate) {
  EXPECT_EQ(render(date_type, field_type::date), R"(to_char("customer"."c", 'YYYY-MM-DD'))");
}

TEST(RenderFieldSql, DateFromTimestamp) {
  EXPECT_EQ(render(timestamp_type, field_type::date),
            R"(to_char(("customer"."c" AT TIME ZONE 'America/Chicago'), 'YYYY-MM-DD'))");
}

TEST(RenderFieldSql, DateFromTimestamptz) {
  EXPECT_EQ(render(timestamptz_type, field_type::date),
            R"(to_char("customer"."c", 'YYYY-MM-DD'))");
}

TEST(RenderFieldSql, MoneyNumberCastToNumeric) {
  EXPECT_EQ(render(money_type, field_type::number), R"("customer"."c"::numeric)");
}

TEST(RenderFieldSql, OtherNumbersAsIs) {
  EXPECT_EQ(render(numeric_type, field_type::number), R"("customer"."c")");
  EXPECT_EQ(render(float8_type, field_type::number), R"("customer"."c")");
  EXPECT_EQ(render(int4_type, field_type::number), R"("customer"."c")");
}

TEST(RenderFieldSql, IntegerAndBooleanAsIs) {
  EXPECT_EQ(render(int8_type, field_type::integer), R"("customer"."c")");
  EXPECT_EQ(render(bool_type, field_type::boolean), R"("customer"."c")");
}

TEST(RenderFieldSql, ArrayToJson) {
  EXPECT_EQ(render(text_array_type, field_type::array), R"(to_json("customer"."c"))");
}

TEST(RenderFieldSql, JsonToJson) {
  EXPECT_EQ(render(jsonb_type, field_type::json), R"(to_json("customer"."c"))");
  EXPECT_EQ(render(json_type, field_type::json), R"(to_json("customer"."c"))");
  EXPECT_EQ(render(text_type, field_type::json), R"(to_json("customer"."c"))");
}

TEST(RenderFieldSql, StringFromStringTypeAsIs) {
  EXPECT_EQ(render(varchar_type, field_type::string), R"("customer"."c")");
  EXPECT_EQ(render(text_type, field_type::string, R"(("customer".fname || ' ' || "customer".lname))"),
            R"(("customer".fname || ' ' || "customer".lname))");
}

TEST(RenderFieldSql, StringFromNonStringTypeCastToText) {
  EXPECT_EQ(render(int4_type, field_type::string), R"("customer"."c"::text)");
  EXPECT_EQ(render(numeric_type, field_type::string), R"("customer"."c"::text)");
  EXPECT_EQ(render(jsonb_type, field_type::string), R"("customer"."c"::text)");
  EXPECT_EQ(render(uuid_type, field_type::string), R"("customer"."c"::text)");
  EXPECT_EQ(render(timestamp_type, field_type::string), R"("customer"."c"::text)");
  EXPECT_EQ(render(int4_type, field_type::string, "(a + b)"), "(a + b)::text");
}

TEST(Statements, EachHasItsOwnNameAndItsOwnSql) {
  auto legacy = make_catalog(timestamp_type);
  legacy.database_encoding = "WIN1252";
  const auto q = customer_queries::build(legacy, 0s);
  std::set<std::string_view> names;
  std::set<std::string> texts;
  for (const auto s : every_statement) {
    names.insert(statement_name(s));
    texts.insert(q.sql(s));
  }
  EXPECT_EQ(names.size(), every_statement.size());
  EXPECT_EQ(texts.size(), every_statement.size());
  EXPECT_EQ(q.sql(statement::by_id), q.by_id);
  EXPECT_EQ(q.sql(statement::count_since), q.count_since);
  EXPECT_EQ(q.sql(statement::list_since), q.list_since);
  EXPECT_EQ(q.sql(statement::list_after), q.list_after);
  EXPECT_EQ(q.sql(statement::count_changed), q.count_changed);
  EXPECT_EQ(q.sql(statement::by_id_as_bytes), q.by_id_as_bytes);
  EXPECT_EQ(q.sql(statement::list_since_as_bytes), q.list_since_as_bytes);
  EXPECT_EQ(q.sql(statement::list_after_as_bytes), q.list_after_as_bytes);
  EXPECT_EQ(statement_name(statement::list_after), "list_after");
  EXPECT_EQ(statement_name(statement::list_after_as_bytes), "list_after_as_bytes");
}

// ---------------------------------------------------------------- text as bytes

// In a database PostgreSQL converts text from, the text fields (strings and
// arrays here) come as the database's own bytes in hex; the id, numbers,
// datetimes and booleans, ASCII in every encoding, as they are.
TEST(StatementsAsBytes, ReadTheTextFieldsAsTheDatabasesBytes) {
  auto c = make_catalog(timestamp_type);
  c.database_encoding = "WIN1252";
  const auto q = customer_queries::build(c, 0s);
  const std::string records_as_bytes = R"(SELECT "customer"."cust_id",
       encode(convert_to(("customer"."fname")::text, 'WIN1252'), 'hex'),
       "customer"."bal"::numeric,
       regexp_replace(to_char(("customer"."created" AT TIME ZONE 'America/Chicago'), 'YYYY-MM-DD"T"HH24:MI:SSOF'), '([+-][0-9][0-9])$', E'\\1:00'),
       encode(convert_to((to_json("customer"."interests"))::text, 'WIN1252'), 'hex'),
       ("customer".flags & 1 = 1))";
  EXPECT_EQ(q.by_id_as_bytes, records_as_bytes + R"(
  FROM "legacy"."cust" AS "customer"
 WHERE "customer"."cust_id" = $1)");
  // The pages differ from their namesakes in the SELECT list alone.
  auto replaced = q.list_since;
  replaced.replace(replaced.find(records), records.size(), records_as_bytes);
  EXPECT_EQ(q.list_since_as_bytes, replaced);
  replaced = q.list_after;
  replaced.replace(replaced.find(records), records.size(), records_as_bytes);
  EXPECT_EQ(q.list_after_as_bytes, replaced);
}

TEST(StatementsAsBytes, AreTheirNamesakesWherePostgresqlConvertsNothing) {
  for (const std::string encoding : {"UTF8", "SQL_ASCII"}) {
    auto c = make_catalog(timestamp_type);
    c.database_encoding = encoding;
    EXPECT_FALSE(text_is_converted(c)) << encoding;
    const auto q = customer_queries::build(c, 0s);
    EXPECT_EQ(q.by_id_as_bytes, q.by_id) << encoding;
    EXPECT_EQ(q.list_since_as_bytes, q.list_since) << encoding;
    EXPECT_EQ(q.list_after_as_bytes, q.list_after) << encoding;
  }
  auto c = make_catalog(timestamp_type);
  c.database_encoding = "LATIN1";
  EXPECT_TRUE(text_is_converted(c));
}

TEST(StatementsAsBytes, ReadAsBytesNamesTextFieldsOnly) {
  auto c = make_catalog(timestamp_type);
  c.database_encoding = "EUC_JP";
  std::vector<bool> as_bytes;
  for (const auto& f : c.fields) as_bytes.push_back(read_as_bytes(c, f));
  EXPECT_EQ(as_bytes, (std::vector<bool>{true, false, false, true, false}));
  auto converted = rf("vip", R"("customer"."flag_text")", varchar_type, field_type::boolean);
  converted.convert = mapping::conversion::boolean_from_text;
  EXPECT_TRUE(read_as_bytes(c, converted));
  converted.convert = mapping::conversion::constant;
  EXPECT_FALSE(read_as_bytes(c, converted));
}

}  // namespace
}  // namespace storygate::sql
