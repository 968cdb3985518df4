// app/reloader: whatever a reload throws, it is refused, counted, and the
// reloader goes on to the next one. The steps are the test's own, so a
// failure nobody foresaw (not a std::exception at all) can be thrown on
// purpose; the server's steps are load_mapping() and customer_api::replace(),
// which tests/integration/reload_test.cpp drives through the real binary.
#include "app/reloader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "app/startup.h"

namespace storygate::app {
namespace {

using namespace std::chrono_literals;

// storygate_mapping_reloads_total{result=...} as /metrics shows it.
double reloads(observe::metrics& metrics, const std::string& result) {
  const auto text = metrics.render({});
  std::smatch m;
  const std::regex line("\nstorygate_mapping_reloads_total\\{result=\"" + result + "\"\\} ([0-9]+)\n");
  return std::regex_search(text, m, line) ? std::stod(m[1]) : -1;
}

// Waits up to 10 s for the counters to reach `failed` and `ok`.
bool reloads_reach(observe::metrics& metrics, double failed, double ok) {
  for (auto waited = 0ms; waited < 10s; waited += 20ms) {
    if (reloads(metrics, "failed") == failed && reloads(metrics, "ok") == ok) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class MappingReloader : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = std::filesystem::temp_directory_path() /
            ("storygate-reloader-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(file_) << "table: legacy.cust\n";
  }
  void TearDown() override { std::filesystem::remove(file_); }

  std::filesystem::path file_;
};

TEST_F(MappingReloader, EveryKindOfFailureIsRefusedAndTheNextReloadStillServes) {
  const auto good = std::make_shared<api::compiled_mapping>();
  good->catalog = std::make_shared<const mapping::catalog>();

  std::mutex mutex;
  int loads = 0;
  std::vector<std::shared_ptr<const api::compiled_mapping>> served;
  reload_steps steps{
      [&]() -> std::shared_ptr<const api::compiled_mapping> {
        std::lock_guard lock(mutex);
        switch (++loads) {
          case 1: throw startup_error("field 'email': no column 'mail' in legacy.cust");
          case 2: throw std::runtime_error("an error nobody wrapped");
          case 3: throw 42;  // not even a std::exception
          default: return good;
        }
      },
      [&](std::shared_ptr<const api::compiled_mapping> next) {
        std::lock_guard lock(mutex);
        served.push_back(std::move(next));
      }};
  observe::metrics metrics;
  mapping_reloader reloader(file_, std::move(steps), metrics);

  // One at a time: a request made while a reload is settling would be
  // folded into it.
  for (double failed = 1; failed <= 3; ++failed) {
    reloader.request("SIGHUP");
    ASSERT_TRUE(reloads_reach(metrics, failed, 0)) << "reload " << failed << " was not refused";
  }
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(served.empty()) << "a refused mapping was served";
  }

  reloader.request("SIGHUP");
  ASSERT_TRUE(reloads_reach(metrics, 3, 1)) << "after three refusals the reloader no longer reloads";
  std::lock_guard lock(mutex);
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served.front(), good);
}

}  // namespace
}  // namespace storygate::app
