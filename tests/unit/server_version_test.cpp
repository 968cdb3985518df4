#include "db/server_version.h"

#include <gtest/gtest.h>

namespace storygate::db {
namespace {

TEST(ServerVersion, DescribesBothNumberings) {
  EXPECT_EQ(describe_server_version(100023), "10.23");
  EXPECT_EQ(describe_server_version(180004), "18.4");
  EXPECT_EQ(describe_server_version(150000), "15.0");
  EXPECT_EQ(describe_server_version(90624), "9.6.24");
  EXPECT_EQ(describe_server_version(90500), "9.5.0");
  EXPECT_EQ(describe_server_version(80421), "8.4.21");
}

TEST(ServerVersion, TenAndLaterAreSupported) {
  for (const int n : {100000, 100023, 110022, 150014, 180004, 190000})
    EXPECT_EQ(unsupported_server_reason(n), "") << n;
}

TEST(ServerVersion, OlderServersAreRefusedWithTheirVersion) {
  EXPECT_EQ(unsupported_server_reason(90624),
            "the database server is PostgreSQL 9.6.24 (server_version_num 90624): storygate needs PostgreSQL 10 or "
            "later");
  EXPECT_EQ(unsupported_server_reason(99999),
            "the database server is PostgreSQL 9.99.99 (server_version_num 99999): storygate needs PostgreSQL 10 "
            "or later");
  EXPECT_NE(unsupported_server_reason(80421).find("PostgreSQL 8.4.21"), std::string::npos);
}

TEST(ServerVersion, AnUnknownVersionIsLetThrough) { EXPECT_EQ(unsupported_server_reason(0), ""); }

}  // namespace
}  // namespace storygate::db
