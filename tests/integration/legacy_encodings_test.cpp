// Legacy databases whose text is not UTF-8: LATIN1, WIN1252 and LATIN9 in
// Europe, EUC_JP in Japan, and SQL_ASCII (any bytes, unchecked). storygate
// asks PostgreSQL for UTF-8 (client_encoding, db/conninfo.h); before it did,
// a LATIN1 database's "Müller" was served as "M\uFFFDller".
//
// Names and text ids are generated from characters each encoding can hold
// (PostgreSQL says which, with convert_to), written through a UTF-8 session,
// and must come back from storygate exactly as written: by id, in a list, and
// as ids to fetch by. An id with a character the encoding lacks is no
// customer's: 404, not a server error. Labelled every-major.
//
// The seed is fixed, so CI runs the same cases every time; STORYGATE_ENCODINGS_SEED=N
// runs another (the seed is in every failure).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

constexpr int generated_rows = 60;

// Characters from the scripts legacy databases hold, and some none of the
// legacy encodings has (emoji, Devanagari): each database takes what it can.
const std::vector<std::string> candidates{
    "a", "Z", "7", " ", "-", "'", "\"", "\\", "/", "ä", "ö", "ü", "ß", "é", "è", "ñ", "ç", "Å", "Ø", "æ", "ÿ", "¿",
    "«", "»", "°", "£", "¥", "§", "µ", "×", "€", "Š", "š", "Ž", "ž", "Œ", "œ", "Ÿ", "‚", "„", "…", "†", "™", "–",
    "—", "“", "”", "Ł", "ł", "Ő", "ő", "ğ", "İ", "α", "Ω", "д", "Ж", "ё", "あ", "カ", "ー", "漢", "字", "東", "京",
    "〒", "①", "😀", "🙂", "ह", "ก"};

// Every byte but the unreserved ones as %XX, for an id in a URL path.
std::string percent_encoded(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

unsigned seed_for_run() {
  if (const char* given = std::getenv("STORYGATE_ENCODINGS_SEED")) return static_cast<unsigned>(std::stoul(given));
  return 20261207;
}

class LegacyEncodings : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    seed_ = seed_for_run();
    std::printf("LegacyEncodings %s: seed %u (STORYGATE_ENCODINGS_SEED=%u replays it)\n", GetParam().c_str(), seed_,
                seed_);
    db_ = std::make_unique<scratch_database>(core_sql(), GetParam());
  }

  // A session that speaks UTF-8 to the database, as storygate's do.
  pqxx::connection utf8_session() const { return pqxx::connection(db_->url() + "?client_encoding=UTF8"); }

  // The candidates the database's encoding holds, and those it lacks.
  void sort_candidates(std::vector<std::string>& held, std::vector<std::string>& lacked) const {
    auto c = utf8_session();
    for (const auto& candidate : candidates) {
      try {
        pqxx::nontransaction tx(c);
        tx.exec_params("SELECT convert_to($1, current_setting('server_encoding'))", candidate);
        held.push_back(candidate);
      } catch (const pqxx::sql_error&) {
        lacked.push_back(candidate);
      }
    }
  }

  // At most 10 characters: 40 bytes of UTF-8 at most, which fits fname's
  // varchar(40) even where a character is a byte (SQL_ASCII).
  std::string random_text(std::mt19937& random, const std::vector<std::string>& from, int min_length) const {
    std::uniform_int_distribution<int> length(min_length, 10);
    std::uniform_int_distribution<std::size_t> pick(0, from.size() - 1);
    std::string text;
    for (int n = length(random); n > 0; --n) text += from[pick(random)];
    return text;
  }

  unsigned seed_ = 0;
  std::unique_ptr<scratch_database> db_;
};

TEST_P(LegacyEncodings, TextComesBackAsItWasWrittenAndIdsAreFetchable) {
  std::vector<std::string> held, lacked;
  sort_candidates(held, lacked);
  SCOPED_TRACE("seed " + std::to_string(seed_) + ", " + GetParam() + " holds " + std::to_string(held.size()) +
               " of the " + std::to_string(candidates.size()) + " characters");
  ASSERT_GE(held.size(), 12u);

  // Customers by integer id, and accounts by text id, with generated text.
  std::mt19937 random(seed_);
  std::map<int, std::string> first_names;
  std::map<std::string, std::string> holders;  // text id -> holder
  {
    auto c = utf8_session();
    pqxx::work tx(c);
    for (int i = 0; i < generated_rows; ++i) {
      const int id = 700000 + i;
      first_names[id] = random_text(random, held, 0);
      tx.exec_params("INSERT INTO legacy.cust_master (cust_no, fname, last_chg_ts) "
                     "VALUES ($1, $2, timestamp '2024-05-01' + $1::int * interval '1 second')",
                     id, first_names[id]);
      std::string text_id;
      do text_id = random_text(random, held, 1);
      while (holders.count(text_id));
      holders[text_id] = random_text(random, held, 0);
      tx.exec_params("INSERT INTO legacy.accounts VALUES ($1, $2, timestamptz '2024-05-01 00:00:00+00' + $3::int * "
                     "interval '1 second')",
                     text_id, holders[text_id], i);
    }
    tx.commit();
  }

  const std::map<std::string, std::string> env{{"STORYGATE_DATABASE_URL", db_->url_as("storygate_test_reader")},
                                               {"STORYGATE_BEARER_TOKENS", test_token}};
  {
    server customers({"serve", "--mapping", core_mapping_path()}, env);
    for (const auto& [id, name] : first_names) {
      const auto res = http_get(customers.port(), "/api/v1/customer/" + std::to_string(id), bearer());
      ASSERT_EQ(res.status, 200u) << id << ": " << res.body;
      rapidjson::Document doc;
      doc.Parse(res.body.c_str(), res.body.size());
      ASSERT_TRUE(doc.IsObject()) << res.body;
      EXPECT_EQ(std::string(doc["first_name"].GetString(), doc["first_name"].GetStringLength()), name)
          << "customer " << id << ": " << res.body;
    }
  }

  server accounts({"serve", "--mapping", source_path("tests/integration/fixtures/accounts.yaml")}, env);
  // The list serves each id as stored ...
  const auto page = http_get(accounts.port(), "/api/v1/customers?last_updated=2024-05-01T00:00:00Z&limit=100", bearer());
  ASSERT_EQ(page.status, 200u) << page.body;
  rapidjson::Document list;
  list.Parse(page.body.c_str(), page.body.size());
  ASSERT_TRUE(list.IsObject() && list["records"].IsArray()) << page.body;
  std::map<std::string, std::string> listed;
  for (const auto& r : list["records"].GetArray())
    listed[std::string(r["id"].GetString(), r["id"].GetStringLength())] =
        std::string(r["first_name"].GetString(), r["first_name"].GetStringLength());
  EXPECT_EQ(listed, holders);
  // ... and each is fetched by the id the list served.
  for (const auto& [id, holder] : listed) {
    const auto res = http_get(accounts.port(), "/api/v1/customer/" + percent_encoded(id), bearer());
    EXPECT_EQ(res.status, 200u) << "id " << id << ": " << res.body;
  }
  // An id the encoding cannot hold is no customer's id.
  for (const auto& character : lacked) {
    const auto res = http_get(accounts.port(), "/api/v1/customer/" + percent_encoded("C-" + character), bearer());
    EXPECT_EQ(res.status, 404u) << character << ": " << res.body;
  }
  EXPECT_EQ(accounts.logs().find("\"level\":\"error\""), std::string::npos) << accounts.logs();
}

// WIN1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), WIN1251
// one (0x98), and such a database stores them unchecked; UTF-8 has no
// character for them, and PostgreSQL refuses the whole row. Before
// 2026-12-07 the record and every page holding it answered 500, and a sync
// stopped at that page for good. Now the record's text is read again as
// bytes and each such byte is served as U+FFFD (db/database_text.h).
//
// Names and categories of generated bytes (1 to 255, often undefined ones),
// written through a session in the database's own encoding, must come back
// as PostgreSQL converts each byte (convert_from, asked byte by byte), or
// U+FFFD where it refuses: by id, and in a sync walked page by page, which
// must serve every row once.
class UndefinedBytes : public ::testing::TestWithParam<std::string> {};

std::string as_string(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

// A sync walked from start 0, `limit` at a time, until a short page: each
// record goes to `each` with its page's start. A page that is not 200 fails.
void walk_sync(unsigned short port, const std::string& last_updated, int limit,
               const std::function<void(const rapidjson::Value& record, int start)>& each) {
  for (int start = 0;; start += limit) {
    const auto res = http_get(port,
                              "/api/v1/customers?last_updated=" + last_updated + "&limit=" + std::to_string(limit) +
                                  "&start=" + std::to_string(start),
                              bearer());
    ASSERT_EQ(res.status, 200u) << "start " << start << ": " << res.body;
    rapidjson::Document page;
    page.Parse(res.body.c_str(), res.body.size());
    ASSERT_TRUE(page.IsObject() && page["records"].IsArray()) << res.body;
    for (const auto& r : page["records"].GetArray()) each(r, start);
    if (page["records"].Size() < static_cast<unsigned>(limit)) return;
  }
}

TEST_P(UndefinedBytes, ServedAsReplacementCharactersAndTheSyncGoesOn) {
  const std::string encoding = GetParam();
  const unsigned seed = seed_for_run();
  SCOPED_TRACE(encoding + ", seed " + std::to_string(seed) + " (STORYGATE_ENCODINGS_SEED replays it)");
  scratch_database db(core_sql(), encoding);

  // What each byte is in UTF-8, by PostgreSQL's own conversion.
  std::vector<std::string> oracle(256);
  std::vector<unsigned char> undefined;
  {
    pqxx::connection c(db.url() + "?client_encoding=UTF8");
    for (int b = 1; b < 256; ++b) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      try {
        pqxx::nontransaction tx(c);
        oracle[b] = tx.exec_params1("SELECT convert_from(decode($1, 'hex'), $2)", std::string(hex), encoding)[0]
                        .as<std::string>();
      } catch (const pqxx::sql_error&) {
        oracle[b] = "\xEF\xBF\xBD";
        undefined.push_back(static_cast<unsigned char>(b));
      }
    }
  }
  ASSERT_FALSE(undefined.empty()) << encoding << " has no undefined byte to test with";

  std::mt19937 random(seed);
  const auto random_bytes = [&](int most) {
    std::string bytes;
    for (int n = std::uniform_int_distribution<int>(0, most)(random); n > 0; --n) {
      // Undefined bytes often, so that most pages hold one.
      if (random() % 4 == 0)
        bytes += static_cast<char>(undefined[random() % undefined.size()]);
      else
        bytes += static_cast<char>(1 + random() % 255);
    }
    return bytes;
  };
  const auto expected = [&](const std::string& bytes) {
    std::string text;
    for (unsigned char b : bytes) text += oracle[b];
    return text;
  };
  std::map<int, std::pair<std::string, std::string>> customers;  // id -> first name, category (UTF-8)
  {
    pqxx::connection c(db.url() + "?client_encoding=" + encoding);
    pqxx::work tx(c);
    for (int i = 0; i < generated_rows; ++i) {
      const int id = 800000 + i;
      const auto name = random_bytes(12), category = random_bytes(6);
      customers[id] = {expected(name), expected(category)};
      // Three rows a second: the walk breaks ties by id.
      tx.exec_params("INSERT INTO legacy.cust_master (cust_no, fname, cats, last_chg_ts) "
                     "VALUES ($1, $2, ARRAY[$3], timestamp '2030-01-01' + ($1::int / 3) * interval '1 second')",
                     id, name, category);
    }
    tx.commit();
  }

  server srv({"serve", "--mapping", core_mapping_path()},
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")},
              {"STORYGATE_BEARER_TOKENS", test_token}});
  const auto check = [&](const rapidjson::Value& record, int id, const std::string& where) {
    const auto& [name, category] = customers.at(id);
    EXPECT_EQ(as_string(record["first_name"]), name) << where;
    ASSERT_TRUE(record["categories"].IsArray() && record["categories"].Size() == 1) << where;
    EXPECT_EQ(as_string(record["categories"][0]), category) << where;
  };
  for (const auto& [id, _] : customers) {
    const auto res = http_get(srv.port(), "/api/v1/customer/" + std::to_string(id), bearer());
    ASSERT_EQ(res.status, 200u) << id << ": " << res.body;
    rapidjson::Document doc;
    doc.Parse(res.body.c_str(), res.body.size());
    ASSERT_TRUE(doc.IsObject()) << res.body;
    check(doc, id, "customer " + std::to_string(id));
  }
  std::set<int> walked;
  walk_sync(srv.port(), "2030-01-01T00:00:00Z", 7, [&](const rapidjson::Value& r, int start) {
    const int id = r["id"].GetInt();
    EXPECT_TRUE(walked.insert(id).second) << "customer " << id << " served twice";
    if (customers.count(id)) check(r, id, "the page at start " + std::to_string(start));
  });
  std::set<int> generated;
  for (const auto& [id, _] : customers) generated.insert(id);
  EXPECT_EQ(walked, generated);
  const auto logs = srv.logs();
  EXPECT_EQ(logs.find("\"level\":\"error\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("page served with text converted by storygate"), std::string::npos) << logs;
}

INSTANTIATE_TEST_SUITE_P(Encodings, UndefinedBytes, ::testing::Values("WIN1252", "WIN1251"),
                         [](const ::testing::TestParamInfo<std::string>& encoding) { return encoding.param; });

// An SQL_ASCII database holds whatever bytes were written, often another
// encoding's (Latin-1 from an old application), and PostgreSQL checks what it
// sends a UTF8 client: a row with a byte that is not UTF-8 failed whole
// (22021), so its record and every page holding it answered 500 and a sync
// stopped there for good. The request path's sessions take such a database's
// bytes as stored (db/session_setup.h), and each byte that is not UTF-8 is
// served as U+FFFD, in names and in text ids; a walk resumes after an id that
// holds one, sending its bytes back as they came.
//
// Generated: ASCII with single bytes from 0x80 to 0xFF between, never two
// together, so each is no UTF-8 and the expected text is plain: each such
// byte becomes U+FFFD.
TEST(SqlAsciiBytes, BytesThatAreNotUtf8AreServedAsReplacementCharactersAndTheSyncGoesOn) {
  const unsigned seed = seed_for_run();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (STORYGATE_ENCODINGS_SEED replays it)");
  scratch_database db(core_sql(), "SQL_ASCII");
  std::mt19937 random(seed);
  const auto random_bytes = [&](int least, int most) {
    std::string bytes;
    for (int n = std::uniform_int_distribution<int>(least, most)(random); n > 0; --n) {
      bytes += static_cast<char>('a' + random() % 26);
      if (random() % 3 == 0) bytes += static_cast<char>(0x80 + random() % 0x80);
    }
    return bytes;
  };
  const auto expected = [](const std::string& bytes) {
    std::string text;
    for (unsigned char b : bytes) text += b < 0x80 ? std::string(1, static_cast<char>(b)) : "\xEF\xBF\xBD";
    return text;
  };
  std::map<int, std::string> names;             // customer id -> first name (UTF-8)
  std::map<std::string, std::string> holders;  // text id (UTF-8) -> holder (UTF-8)
  std::set<std::string> ascii_ids;
  {
    pqxx::connection c(db.url() + "?client_encoding=SQL_ASCII");
    pqxx::work tx(c);
    for (int i = 0; i < generated_rows; ++i) {
      const int id = 900000 + i;
      const auto name = random_bytes(0, 8);
      names[id] = expected(name);
      tx.exec_params("INSERT INTO legacy.cust_master (cust_no, fname, last_chg_ts) "
                     "VALUES ($1, $2, timestamp '2031-01-01' + $1::int * interval '1 second')",
                     id, name);
      std::string text_id;
      do text_id = "K" + random_bytes(1, 4);
      while (holders.count(expected(text_id)));
      const auto holder = random_bytes(0, 6);
      holders[expected(text_id)] = expected(holder);
      if (expected(text_id) == text_id) ascii_ids.insert(text_id);
      tx.exec_params("INSERT INTO legacy.accounts VALUES ($1, $2, timestamptz '2031-01-01 00:00:00+00' + ($3::int / 2) "
                     "* interval '1 second')",
                     text_id, holder, i);
    }
    tx.commit();
  }
  ASSERT_LT(ascii_ids.size(), holders.size() / 2) << "too few ids with a byte that is not UTF-8";

  const std::map<std::string, std::string> env{{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")},
                                               {"STORYGATE_BEARER_TOKENS", test_token}};
  {
    server customers({"serve", "--mapping", core_mapping_path()}, env);
    for (const auto& [id, name] : names) {
      const auto res = http_get(customers.port(), "/api/v1/customer/" + std::to_string(id), bearer());
      ASSERT_EQ(res.status, 200u) << id << ": " << res.body;
      rapidjson::Document doc;
      doc.Parse(res.body.c_str(), res.body.size());
      ASSERT_TRUE(doc.IsObject()) << res.body;
      EXPECT_EQ(as_string(doc["first_name"]), name) << "customer " << id;
    }
  }
  server accounts({"serve", "--mapping", source_path("tests/integration/fixtures/accounts.yaml")}, env);
  std::map<std::string, std::string> walked;
  walk_sync(accounts.port(), "2031-01-01T00:00:00Z", 3, [&](const rapidjson::Value& r, int) {
    EXPECT_TRUE(walked.emplace(as_string(r["id"]), as_string(r["first_name"])).second)
        << as_string(r["id"]) << " served twice";
  });
  EXPECT_EQ(walked, holders);
  // An id of UTF-8 is asked for as it is stored.
  for (const auto& id : ascii_ids)
    EXPECT_EQ(http_get(accounts.port(), "/api/v1/customer/" + id, bearer()).status, 200u) << id;
  EXPECT_EQ(accounts.logs().find("\"level\":\"error\""), std::string::npos) << accounts.logs();
}

INSTANTIATE_TEST_SUITE_P(Encodings, LegacyEncodings,
                         ::testing::Values("LATIN1", "WIN1252", "LATIN9", "EUC_JP", "SQL_ASCII"),
                         [](const ::testing::TestParamInfo<std::string>& encoding) { return encoding.param; });

}  // namespace
}  // namespace storygate::testing
