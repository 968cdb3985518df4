#include "http/query_string.h"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "json/utf8.h"

namespace storygate::http {
namespace {

using namespace std::string_literals;
using params = std::vector<std::pair<std::string, std::string>>;
using segments = std::vector<std::string>;

parsed_target ok(std::string_view target) {
  auto result = parse_target(target);
  if (auto* error = std::get_if<target_error>(&result)) {
    ADD_FAILURE() << target << ": " << error->message;
    return {};
  }
  return std::get<parsed_target>(result);
}

std::string error(std::string_view target) {
  auto result = parse_target(target);
  if (auto* e = std::get_if<target_error>(&result)) return e->message;
  ADD_FAILURE() << "accepted: " << target;
  return "<accepted>";
}

const std::string not_a_target = "the request target is not a valid URL path and query";

// ---------------------------------------------------------------- paths

TEST(QueryString, Segments) {
  const auto t = ok("/api/v1/customer/7");
  EXPECT_EQ(t.segments, (segments{"api", "v1", "customer", "7"}));
  EXPECT_TRUE(t.params.empty());
}

TEST(QueryString, Root) {
  EXPECT_EQ(ok("/").segments, segments{});
}

TEST(QueryString, SegmentsPercentDecoded) {
  EXPECT_EQ(ok("/api/v1/customer/C%2D001%20x").segments,
            (segments{"api", "v1", "customer", "C-001 x"}));
  // An encoded '/' stays inside its segment.
  EXPECT_EQ(ok("/api/v1/customer/a%2Fb").segments, (segments{"api", "v1", "customer", "a/b"}));
  EXPECT_EQ(ok("/api/v1/customer/Zo%C3%AB").segments,
            (segments{"api", "v1", "customer", "Zo\xC3\xAB"}));
}

TEST(QueryString, PlusInPathIsNotASpace) {
  EXPECT_EQ(ok("/api/v1/customer/a+b").segments, (segments{"api", "v1", "customer", "a+b"}));
}

TEST(QueryString, TrailingSlashYieldsEmptyLastSegment) {
  EXPECT_EQ(ok("/api/v1/customers/").segments, (segments{"api", "v1", "customers", ""}));
  EXPECT_EQ(ok("/api/v1/customer/").segments, (segments{"api", "v1", "customer", ""}));
}

TEST(QueryString, NulInPathRefused) {
  EXPECT_EQ(error("/api/v1/customer/7%00"), "the URL path contains a NUL byte");
}

TEST(QueryString, InvalidUtf8InPathRefused) {
  EXPECT_EQ(error("/api/v1/customer/%ff"), "the URL path is not valid UTF-8");
  EXPECT_EQ(error("/api/v1/customer/%C0%80"), "the URL path is not valid UTF-8");
}

TEST(QueryString, BadPercentEncodingInPathRefused) {
  EXPECT_EQ(error("/api/v1/customer/%zz"), not_a_target);
  EXPECT_EQ(error("/api/v1/customer/%4"), not_a_target);
  EXPECT_EQ(error("/api/v1/customer/%"), not_a_target);
}

TEST(QueryString, NotOriginFormRefused) {
  EXPECT_EQ(error(""), not_a_target);
  EXPECT_EQ(error("api/v1/customers"), not_a_target);
  EXPECT_EQ(error("http://example.com/api/v1/customers"), not_a_target);
  EXPECT_EQ(error("*"), not_a_target);
  EXPECT_EQ(error("/api v1"), not_a_target);
  EXPECT_EQ(error("/api/v1/customers#frag"), not_a_target);
}

// ---------------------------------------------------------------- query parameters

TEST(QueryString, ParamsDecodedInOrder) {
  const auto t = ok("/api/v1/customers?start=10&limit=5&last_updated=2022-07-03");
  EXPECT_EQ(t.segments, (segments{"api", "v1", "customers"}));
  EXPECT_EQ(t.params, (params{{"start", "10"}, {"limit", "5"}, {"last_updated", "2022-07-03"}}));
}

TEST(QueryString, DuplicatesKept) {
  EXPECT_EQ(ok("/x?limit=1&a=b&limit=2").params,
            (params{{"limit", "1"}, {"a", "b"}, {"limit", "2"}}));
}

TEST(QueryString, PlusDecodesToSpace) {
  EXPECT_EQ(ok("/x?last_updated=2022-07-03T12:33:45+05:30").params,
            (params{{"last_updated", "2022-07-03T12:33:45 05:30"}}));
  EXPECT_EQ(ok("/x?a+b=c+d").params, (params{{"a b", "c d"}}));
}

TEST(QueryString, EncodedPlusIsAPlus) {
  EXPECT_EQ(ok("/x?last_updated=2022-07-03T12:33:45%2B05:30").params,
            (params{{"last_updated", "2022-07-03T12:33:45+05:30"}}));
  EXPECT_EQ(ok("/x?v=%2b").params, (params{{"v", "+"}}));
}

TEST(QueryString, PercentDecoding) {
  EXPECT_EQ(ok("/x?na%6De=a%26b%3Dc%20d").params, (params{{"name", "a&b=c d"}}));
  EXPECT_EQ(ok("/x?v=Zo%C3%AB").params, (params{{"v", "Zo\xC3\xAB"}}));
}

TEST(QueryString, ParamWithoutValueOrEquals) {
  EXPECT_EQ(ok("/x?last_updated=&flag").params, (params{{"last_updated", ""}, {"flag", ""}}));
}

TEST(QueryString, NoQuery) {
  EXPECT_TRUE(ok("/api/v1/customers").params.empty());
}

TEST(QueryString, EmptyQuery) {
  // Boost.URL reads a bare '?' as one parameter with an empty name, which no
  // handler recognizes (api::parse_list_params ignores unknown names).
  const auto t = ok("/api/v1/customers?");
  EXPECT_EQ(t.segments, (segments{"api", "v1", "customers"}));
  EXPECT_EQ(t.params, (params{{"", ""}}));
}

TEST(QueryString, EmptyParametersBetweenAmpersandsKept) {
  EXPECT_EQ(ok("/x?a=1&&b=2").params, (params{{"a", "1"}, {"", ""}, {"b", "2"}}));
}

TEST(QueryString, BadPercentEncodingInQueryRefused) {
  EXPECT_EQ(error("/x?limit=%zz"), not_a_target);
  EXPECT_EQ(error("/x?limit=%4"), not_a_target);
  EXPECT_EQ(error("/x?limit=5%"), not_a_target);
  EXPECT_EQ(error("/x?%zz=5"), not_a_target);
}

TEST(QueryString, NulInValueRefused) {
  EXPECT_EQ(error("/x?last_updated=2022-07-03%00"),
            "query parameter 'last_updated' contains a NUL byte");
}

TEST(QueryString, NulInNameRefused) {
  EXPECT_EQ(error("/x?li%00mit=5"), "a query parameter name contains a NUL byte");
}

TEST(QueryString, InvalidUtf8InValueRefused) {
  EXPECT_EQ(error("/x?start=%ff"), "query parameter 'start' is not valid UTF-8");
  EXPECT_EQ(error("/x?start=%ED%A0%80"), "query parameter 'start' is not valid UTF-8");
}

TEST(QueryString, InvalidUtf8InNameRefused) {
  EXPECT_EQ(error("/x?%ff=1"), "a query parameter name is not valid UTF-8");
}

TEST(QueryString, RawNonAsciiBytesRefused) {
  EXPECT_EQ(error("/x?v=\xC3\xAB"), not_a_target);
  EXPECT_EQ(error("/caf\xC3\xA9"), not_a_target);
}

// ---------------------------------------------------------------- against Boost.URL

// What Boost.URL alone makes of `target`: nullopt when it is not a valid
// origin-form; segments and parameters decoded otherwise (form-style '+').
std::optional<parsed_target> boost_url_reading(std::string_view target) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  parsed_target t;
  for (const auto& segment : url->segments()) t.segments.push_back(segment);
  for (const auto& param : url->params()) t.params.emplace_back(param.key, param.value);
  return t;
}

bool acceptable(const std::string& decoded) {
  return decoded.find('\0') == std::string::npos && json::is_valid_utf8(decoded);
}

// Plain paths are split without Boost.URL (query_string.cpp): every target
// drawn here, plain or not, must come out as Boost.URL reads it, or be
// refused when Boost.URL refuses it or decodes it to a NUL or invalid UTF-8.
// Half the draws are plain paths, half mix in what is not plain.
TEST(QueryString, GeneratedTargetsReadAsBoostUrlReadsThem) {
  const std::vector<std::string> plain = {"a", "Z", "7", "api", "v1", "customer", "-", ".", "..", "_", "~", "/", "/"};
  const std::vector<std::string> other = {"//", "%41", "%2F", "%", "?", "&", "=", "+", ":", "@", "!", " ",
                                          "\xC3\xA9", "%C3%A9", "%00", "%ff", "#", "?a=1", ";", "%2e"};
  std::mt19937 rng(20261207);
  int plain_draws = 0;
  for (int i = 0; i < 50000; ++i) {
    const bool only_plain = i % 2 == 0;
    std::string target = rng() % 20 == 0 ? "" : "/";
    const int tokens = static_cast<int>(rng() % 8);
    for (int k = 0; k < tokens; ++k) {
      const bool pick_other = !only_plain && rng() % 3 == 0;
      const auto& pool = pick_other ? other : plain;
      target += pool[rng() % pool.size()];
    }
    plain_draws += only_plain;
    const auto expected = boost_url_reading(target);
    const auto got = parse_target(target);
    bool expected_ok = expected.has_value();
    if (expected_ok) {
      for (const auto& s : expected->segments) expected_ok = expected_ok && acceptable(s);
      for (const auto& [k, v] : expected->params) expected_ok = expected_ok && acceptable(k) && acceptable(v);
    }
    ASSERT_EQ(std::holds_alternative<parsed_target>(got), expected_ok) << "target " << target;
    if (!expected_ok) continue;
    const auto& t = std::get<parsed_target>(got);
    ASSERT_EQ(t.segments, expected->segments) << "target " << target;
    ASSERT_EQ(t.params, expected->params) << "target " << target;
  }
  EXPECT_EQ(plain_draws, 25000);
}

TEST(QueryString, SqlInjectionTextIsJustAValue) {
  EXPECT_EQ(ok("/x?start=1%27%3B%20DROP%20TABLE%20customer%3B--").params,
            (params{{"start", "1'; DROP TABLE customer;--"}}));
}

}  // namespace
}  // namespace storygate::http
