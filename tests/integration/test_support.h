#pragma once
// What the fault, scale-out and slowloris suites share beyond harness.h and
// core_database.h: the "FIGURE:" lines the README's numbers are taken from,
// storygate options overridden from the environment (to watch a protection's
// test fail), the core mapping with extra fields, and a GET that has a
// deadline of its own.
// One copy, so the suites print figures and judge answers the same way.
#include <chrono>
#include <string>
#include <vector>

#include "harness.h"

namespace storygate::testing {

double ms_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to);

// A figure for the README, both as a test property (in the XML report) and
// as a "FIGURE: name=value unit" line on stdout (in the ctest log).
// `decimals`: whole milliseconds say enough for a database fault; latency
// under a slowloris attack wants the fractions.
void figure(const std::string& name, double value, const std::string& unit, int decimals = 0);
void figure_text(const std::string& name, const std::string& value);

// The environment variable `variable` ("--option value ...") replaces the
// options it names in `args`, or adds them, so that a protection can be
// switched off to watch its test fail. The resulting command line is printed,
// so a log says which runs were weakened.
std::vector<std::string> with_overrides(const std::string& variable, std::vector<std::string> args);

// tests/integration/fixtures/core.yaml with `extra_fields` appended, written
// to a temporary file named after `file_name` (to tell the suites' files apart).
std::string mapping_with(const std::string& extra_fields, const std::string& file_name);

// A self-signed certificate for localhost and 127.0.0.1, made with the
// openssl command; the key readable by its owner only.
struct test_certificate {
  std::string cert, key;
  test_certificate();
};
// The port of a postgresql://user@host:port/db URL.
unsigned short port_of(const std::string& url);

// An expression field that sleeps `seconds` for customer 1001 only (the
// others answer at once): a request that holds a pooled connection.
std::string slow_field(int seconds);

// First column of the first row ("" for NULL), on a connection of its own
// to `url`; throws what libpqxx throws.
std::string query(const std::string& url, const std::string& sql);

// One GET on a fresh connection, with a deadline of our own: a request that
// storygate never answers shows up as status 0 with an error, not as a hung
// test. The raw response is kept, so headers are seen exactly as sent.
struct timed_response {
  unsigned status = 0;  // 0: no complete response (see error)
  std::string error;
  raw_response response;
  std::chrono::steady_clock::time_point sent, done;
  double ms() const { return ms_between(sent, done); }
  const std::string& body() const { return response.body; }
  std::string header(const std::string& lower_name) const { return response.header(lower_name); }
};

timed_response timed_get(unsigned short port, const std::string& target,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Status, time and the start of the body, or why there was no answer: for
// failure messages.
std::string describe(const timed_response& r);

}  // namespace storygate::testing
