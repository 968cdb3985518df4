// log/logger: when access lines are written, and that no line overtakes
// another. stderr is pointed at a file the test reads while lines are
// still gathering.
#include "log/logger.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace storygate::log {
namespace {

class LoggerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    path_ = testing::TempDir() + "logger_test_" + std::to_string(getpid()) + ".log";
    std::FILE* file = std::fopen(path_.c_str(), "w");
    ASSERT_NE(file, nullptr);
    dup2(fileno(file), STDERR_FILENO);
    std::fclose(file);
  }
  void TearDown() override {
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    std::remove(path_.c_str());
  }
  // What has reached stderr so far.
  std::string written() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  int saved_ = -1;
  std::string path_;
};

TEST_F(LoggerTest, AnAccessLineIsWrittenAtOnceWhenNothingDefersIt) {
  access("request", {{"path", "/a"}});
  EXPECT_NE(written().find(R"("path":"/a")"), std::string::npos);
}

TEST_F(LoggerTest, ALineCarriesAnIsoTimeInMillisecondsAndNumbersInThousandths) {
  for (int i = 0; i < 3; ++i) info("tick", {{"ms", 1.0 / 3}, {"n", int64_t{42}}});
  const std::regex line(
      R"(\{"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"info","msg":"tick","ms":0\.333,"n":42\})");
  std::istringstream lines(written());
  int matched = 0;
  for (std::string text; std::getline(lines, text);) {
    EXPECT_TRUE(std::regex_match(text, line)) << text;
    ++matched;
  }
  EXPECT_EQ(matched, 3);
}

TEST_F(LoggerTest, AnAccessLineWaitsForTheFlusherWhileWritesAreDeferred) {
  deferred_writes deferred(std::chrono::milliseconds(300));
  access("request", {{"path", "/b"}});
  EXPECT_EQ(written().find(R"("path":"/b")"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_NE(written().find(R"("path":"/b")"), std::string::npos);
}

TEST_F(LoggerTest, AnyOtherLineWritesTheGatheredAccessLinesFirstInTheirOrder) {
  deferred_writes deferred(std::chrono::hours(1));
  access("request", {{"path", "/first"}});
  access("request", {{"path", "/second"}});
  info("mapping reloaded");
  const auto text = written();
  const auto first = text.find("/first"), second = text.find("/second"),
             third = text.find("mapping reloaded");
  ASSERT_NE(third, std::string::npos) << text;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(LoggerTest, AFullBufferIsWrittenWithoutWaiting) {
  deferred_writes deferred(std::chrono::hours(1));
  for (int i = 0; i < 400; ++i)
    access("request", {{"path", "/a-path-long-enough-to-fill-the-buffer-sooner"}});
  EXPECT_GE(written().size(), 32u * 1024);
}

TEST_F(LoggerTest, TheEndOfDeferringWritesWhatIsLeft) {
  {
    deferred_writes deferred(std::chrono::hours(1));
    access("request", {{"path", "/last"}});
    EXPECT_EQ(written().find("/last"), std::string::npos);
  }
  EXPECT_NE(written().find("/last"), std::string::npos);
}

// stderr is a pipe nobody reads, full: the flusher blocks writing to it.
// Requests adding their access line must not wait for it (they would, were
// the lines gathered under the lock the write holds). Once the pipe is
// read, every line arrives, in order.
TEST(LoggerBlockedOutput, AccessLinesGatherWhileTheFlusherIsBlocked) {
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(pipe_ends[1], STDERR_FILENO);
  close(pipe_ends[1]);
  // Fill the pipe (the flag is the open file's: fd 2 shares it).
  fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK);
  const std::string chunk(4096, '.');
  std::size_t filler = 0;
  for (ssize_t n; (n = ::write(STDERR_FILENO, chunk.data(), chunk.size())) > 0;)
    filler += static_cast<std::size_t>(n);
  fcntl(STDERR_FILENO, F_SETFL, fcntl(STDERR_FILENO, F_GETFL) & ~O_NONBLOCK);

  std::future<void> requests;
  bool prompt = false;
  std::string text;
  std::thread reader;
  {
    deferred_writes deferred(std::chrono::milliseconds(1));
    access("request", {{"n", int64_t{0}}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the flusher is now blocked
    requests = std::async(std::launch::async, [] {
      for (int64_t n = 1; n <= 20; ++n) access("request", {{"n", n}});
    });
    prompt = requests.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
    reader = std::thread([&] {
      char buffer[4096];
      for (ssize_t n; (n = ::read(pipe_ends[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    });
    requests.wait();
  }
  dup2(saved, STDERR_FILENO);
  close(saved);
  reader.join();
  close(pipe_ends[0]);

  EXPECT_TRUE(prompt) << "adding an access line waited for the blocked write";
  ASSERT_GE(text.size(), filler);
  std::size_t at = filler;
  for (int n = 0; n <= 20; ++n) {
    const auto found = text.find("\"n\":" + std::to_string(n) + "}", at);
    ASSERT_NE(found, std::string::npos) << "line " << n << " missing or out of order";
    at = found;
  }
}

}  // namespace
}  // namespace storygate::log
