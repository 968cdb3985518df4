#include "test_support.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "core_database.h"

namespace storygate::testing {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

double ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void figure(const std::string& name, double value, const std::string& unit, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  ::testing::Test::RecordProperty(name, text);
  std::printf("FIGURE: %s=%s %s\n", name.c_str(), text, unit.c_str());
  std::fflush(stdout);  // the figure must be in the log even if the test dies later
}

void figure_text(const std::string& name, const std::string& value) {
  ::testing::Test::RecordProperty(name, value);
  std::printf("FIGURE: %s=%s\n", name.c_str(), value.c_str());
  std::fflush(stdout);
}

std::vector<std::string> with_overrides(const std::string& variable, std::vector<std::string> args) {
  const char* text = std::getenv(variable.c_str());
  if (!text) return args;
  std::istringstream in(text);
  std::vector<std::string> words{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
  for (std::size_t i = 0; i + 1 < words.size(); i += 2) {
    const auto found = std::find(args.begin(), args.end(), words[i]);
    if (found != args.end() && found + 1 != args.end()) {
      *(found + 1) = words[i + 1];
    } else {
      args.push_back(words[i]);
      args.push_back(words[i + 1]);
    }
  }
  std::printf("storygate with %s:", variable.c_str());
  for (const auto& a : args) std::printf(" %s", a.c_str());
  std::printf("\n");
  return args;
}

std::string mapping_with(const std::string& extra_fields, const std::string& file_name) {
  return write_temp_file(file_name, read_file(core_mapping_path()) + extra_fields);
}

test_certificate::test_certificate() {
  cert = write_temp_file("cert.pem", "");
  key = write_temp_file("key.pem", "");
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                              "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key + " -out " + cert +
                              " 2>/dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
  chmod(key.c_str(), 0600);
}

timed_response timed_get(unsigned short port, const std::string& target, milliseconds timeout) {
  timed_response r;
  r.sent = clock_type::now();
  const auto deadline = r.sent + timeout;
  const auto left = [&] {
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()));
  };
  try {
    raw_connection c(port);
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                test_token + "\r\nConnection: close\r\n\r\n";
    if (!c.write(request, left())) {
      r.error = c.closed() ? "closed before the request was written" : "could not write the request in time";
    } else {
      for (;;) {
        std::size_t consumed = 0;
        std::string why;
        const auto parsed = parse_raw_response(c.pending(), false, r.response, consumed, &why);
        if (parsed == parse_result::complete) {
          r.status = r.response.status;
          break;
        }
        if (parsed == parse_result::malformed) {
          r.error = "malformed response: " + why;
          break;
        }
        if (c.closed()) {
          r.error = c.pending().empty() ? "closed without a response" : "closed mid-response";
          break;
        }
        if (left().count() == 0) {
          r.error = "no answer within " + std::to_string(timeout.count()) + " ms";
          break;
        }
        c.read_more(left());
      }
    }
  } catch (const std::exception& e) {
    r.error = e.what();  // e.g. connection refused while storygate restarts
  }
  r.done = clock_type::now();
  return r;
}

std::string describe(const timed_response& r) {
  std::ostringstream out;
  if (r.status) out << r.status << " after " << static_cast<long>(r.ms()) << " ms: " << r.body().substr(0, 300);
  else out << "no response after " << static_cast<long>(r.ms()) << " ms (" << r.error << ")";
  return out.str();
}

unsigned short port_of(const std::string& url) {
  const auto at = url.find('@');
  const auto colon = url.find(':', at);
  return static_cast<unsigned short>(std::stoi(url.substr(colon + 1)));
}

std::string slow_field(int seconds) {
  return "  slow: { expression: \"(SELECT 1 FROM pg_sleep(CASE WHEN customer.cust_no = 1001 THEN " +
         std::to_string(seconds) + " ELSE 0 END))\", type: integer }\n";
}

std::string query(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : std::string(r[0][0].c_str());
}

}  // namespace storygate::testing
