#pragma once
// The fixture most integration suites run on: fixtures/core.sql (legacy
// tables with the oddities the suites probe) and fixtures/core.yaml (its
// mapping), and a suite base class that loads it once per suite.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "harness.h"

namespace storygate::testing {

// The text of fixtures/core.sql.
std::string core_sql();
// The path of fixtures/core.yaml.
std::string core_mapping_path();

// A database made from core.sql before a suite's first test and dropped after
// its last. Every suite derived from this one gets a fresh database of its
// own in turn, so no suite sees another's writes.
class core_database_suite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { db_ = std::make_unique<scratch_database>(core_sql()); }
  static void TearDownTestSuite() { db_.reset(); }

  inline static std::unique_ptr<scratch_database> db_;
};

}  // namespace storygate::testing
