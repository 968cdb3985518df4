// When a suite's SetUpTestSuite() fails (its scratch database could not be
// loaded, say), GoogleTest reports every test of the suite as "[  SKIPPED ]",
// and CTest counts output with that mark as skipped, not failed: the run
// would pass having tested nothing. This listener ends the process with a
// failure before the first such test is reported, so the run fails and the
// set-up's error, printed above, is the last thing in the test's log.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace storygate::testing {
namespace {

class suite_setup_guard : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override {
    const auto* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite == nullptr || !suite->ad_hoc_test_result().Failed()) return;
    std::fprintf(stderr, "\nThe set-up of test suite %s failed (above): stopping instead of skipping %s.\n",
                 test.test_suite_name(), test.name());
    std::fflush(nullptr);
    std::_Exit(1);
  }
};

// Installed before main() runs; GoogleTest owns the listener from here on.
const bool installed = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new suite_setup_guard);
  return true;
}();

}  // namespace
}  // namespace storygate::testing
