// api/page_writer: a list page written row by row is the document the page
// is (checked against the same records written in one go), compressed in
// the same pass when the client takes gzip and the page is large enough,
// with the keyset key of its last row kept.
#include "api/page_writer.h"

#include <gtest/gtest.h>

#include <random>

#include "fake_row.h"
#include "gunzip.h"

namespace storygate::api {
namespace {

// id (integer) and a name; after the mapped columns, the keyset key:
// last updated, id.
mapping::catalog page_catalog() {
  mapping::catalog c;
  c.source.time_zone.value = "UTC";
  mapping::name_field(c.id, "id");
  c.id.output = mapping::field_type::integer;
  mapping::resolved_field name;
  mapping::name_field(name, "first_name");
  name.output = mapping::field_type::string;
  name.sql_column = 1;
  c.fields = {name};
  c.sql_columns = 2;
  return c;
}

std::vector<std::optional<std::string>> row_values(int id, const std::string& name) {
  return {std::to_string(id), name, "2024-03-10 02:30:00+00", std::to_string(id)};
}

// The page as one document, written by the record writer in one go.
std::string expected_page(const mapping::catalog& c, const list_request& request, int64_t count,
                          const std::vector<std::vector<std::optional<std::string>>>& rows,
                          const std::optional<std::string>& next) {
  json::record_writer w;
  w.begin_object();
  w.key("count");
  w.integer(count);
  w.key("start");
  w.string(std::to_string(request.start));
  w.key("limit");
  w.string(std::to_string(request.limit));
  w.key("records");
  w.begin_array();
  for (const auto& values : rows) write_record(w, c, testing::fake_row(values), {});
  w.end_array();
  if (next) {
    w.key("next");
    w.string(*next);
  }
  w.end_object();
  return w.take();
}

bool gzipped(const reply& r) {
  for (const auto& [name, value] : r.headers)
    if (name == "Content-Encoding" && value == "gzip") return true;
  return false;
}

TEST(PageWriter, GeneratedPagesAreTheSameDocumentPlainOrGzipped) {
  const auto c = page_catalog();
  const unsigned seed = 1208;
  std::mt19937 random(seed);
  for (int n = 0; n < 40; ++n) {
    list_request request;
    request.limit = std::uniform_int_distribution<unsigned>(1, 1000)(random);
    request.start = std::uniform_int_distribution<uint64_t>(0, 5000)(random);
    request.gzip = n % 2 == 1;
    const auto served = std::uniform_int_distribution<unsigned>(0, request.limit)(random);
    const int64_t count = static_cast<int64_t>(request.start + served + (n % 3));
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (unsigned i = 0; i < served; ++i)
      rows.push_back(row_values(static_cast<int>(request.start + i), std::string(random() % 300, static_cast<char>('a' + i % 26))));
    const std::optional<std::string> next =
        n % 4 == 0 ? std::optional<std::string>("/api/v1/customers?start=" + std::to_string(request.start + served))
                   : std::nullopt;

    page_writer page(c, request, count, {});
    for (const auto& values : rows) page.add(testing::fake_row(values));
    EXPECT_EQ(page.served(), served);
    auto r = page.finish(next);
    const auto expected = expected_page(c, request, count, rows, next);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.records, served);
    const bool compress = request.gzip && expected.size() >= codec::min_compressed_bytes;
    ASSERT_EQ(gzipped(r), compress) << "seed " << seed << ", case " << n << ", " << expected.size() << " bytes";
    const auto body = compress ? testing::gunzip(r.body) : std::optional<std::string>(r.body);
    ASSERT_TRUE(body) << "seed " << seed << ", case " << n;
    ASSERT_EQ(*body, expected) << "seed " << seed << ", case " << n;
  }
}

TEST(PageWriter, KeepsTheKeysetKeyOfTheLastRow) {
  const auto c = page_catalog();
  list_request request;
  request.limit = 3;
  page_writer page(c, request, 10, {});
  page.add(testing::fake_row({"1", "Ann", "2024-01-01 00:00:00+00", "1"}));
  page.add(testing::fake_row({"2", "Bo", "2024-01-02 00:00:00+00", "2"}));
  EXPECT_EQ(page.last_updated_at(), "2024-01-02 00:00:00+00");
  EXPECT_EQ(page.last_id(), "2");
}

TEST(PageWriter, AnEmptyPageIsTheDocumentWithoutRecords) {
  const auto c = page_catalog();
  list_request request;
  request.start = 40;
  request.gzip = true;
  page_writer page(c, request, 40, {});
  const auto r = page.finish(std::nullopt);
  EXPECT_FALSE(gzipped(r)) << "a body this small is not worth compressing";
  EXPECT_EQ(r.body, R"({"count":40,"start":"40","limit":"25","records":[]})");
}

}  // namespace
}  // namespace storygate::api
