// Hostile and malformed requests against the real binary, over real sockets,
// with a real PostgreSQL behind it:
//
//  - HostileRequests.CorpusCases: every hand-written case in
//    tests/corpus/hostile-requests.txt (the format is described at the top of
//    that file), each on a connection of its own;
//  - HostileRequests.MutatedValidRequests: a seeded generator of mutations of
//    valid requests, sent over keep-alive connections.
//
// Whatever arrives, the server must answer 2xx (mutations only) or 4xx with a
// JSON body and the JSON content type, or close the connection cleanly; never
// 5xx, never SQL or library internals in what it sends; it must stay up,
// still answer /healthz, and the database must be exactly as it was.
//
// The server connects as the superuser here, not a read-only role: if any
// input ever reached SQL as code, it could change the table, and the
// before/after digest would show it.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core_database.h"
#include "harness.h"

namespace storygate::testing {
namespace {

namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

// What the server is started with (its defaults, spelled out: the corpus
// relies on them).
constexpr std::size_t max_header_bytes = 16384;
constexpr std::size_t max_url_bytes = 4096;
const std::string basic_pair_base64 = "ZGFpbHlzdG9yeTpzM2NyZXQ6d2l0aDpjb2xvbnM=";  // dailystory:s3cret:with:colons

// Bytes as C-like text, for failure messages; long runs of one byte are
// shortened the way the corpus writes them.
std::string printable(std::string_view bytes, std::size_t limit = 1500) {
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes.size() && out.size() < limit;) {
    std::size_t run = 1;
    while (i + run < bytes.size() && bytes[i + run] == bytes[i]) ++run;
    std::string one;
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') one = "\\r";
    else if (c == '\n') one = "\\n";
    else if (c == '\t') one = "\\t";
    else if (c == '\\') one = "\\\\";
    else if (c < 0x20 || c >= 0x7f) one = std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else one = std::string(1, static_cast<char>(c));
    if (run >= 16) {
      out += "{REPEAT:" + one + ":" + std::to_string(run) + "}";
      i += run;
    } else {
      out += one;
      if (c == '\n') out += "\n    ";
      ++i;
    }
  }
  if (out.size() >= limit) out += "...";
  return out;
}

// ---------------------------------------------------------------------------
// Predicting what the server will do with a byte stream: the server parses
// each request's header with Beast's request_parser<empty_body> (header
// limit, no body limit) and never reads a body (an announced one is answered,
// 413 or 405, and the connection closed), so the same parser here says how
// many responses to expect, which answer a HEAD (no body), and whether the
// stream is one complete keep-alive request.

struct prediction {
  std::vector<bool> to_head;        // one per response the server sends
  bool single_keep_alive = false;  // exactly one complete request that keeps the connection
};

// The client is taken to end its side of the stream after the bytes.
prediction predict(std::string_view bytes) {
  prediction out;
  std::size_t offset = 0;
  std::size_t complete = 0;
  bool open = true;
  while (offset < bytes.size()) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
    parser.body_limit(boost::none);
    boost::beast::error_code ec;
    std::size_t used = 0;
    // Every remaining byte is offered at once, as the server's buffer would
    // hold them; put() stops after the header, as the server's read does.
    while (!parser.is_header_done()) {
      const std::size_t n =
          parser.put(boost::asio::buffer(bytes.data() + offset + used, bytes.size() - offset - used), ec);
      used += n;
      if (ec) break;
      if (n == 0) {  // nothing more it can take: the rest is an incomplete message
        ec = bhttp::error::need_more;
        break;
      }
    }
    if (ec == bhttp::error::need_more) {
      // The stream ends mid-request: Beast's read reports a partial message,
      // the server answers 400 and closes.
      out.to_head.push_back(false);
      open = false;
      break;
    }
    if (ec) {  // a parse error: answered, then closed
      out.to_head.push_back(false);
      open = false;
      break;
    }
    out.to_head.push_back(parser.get().method() == bhttp::verb::head);
    if (!parser.is_done()) {  // a body follows: never read; answered, then closed
      open = false;
      break;
    }
    ++complete;
    offset += used;
    if (!parser.get().keep_alive()) {
      open = false;
      break;
    }
  }
  out.single_keep_alive = open && complete == 1 && offset == bytes.size();
  return out;
}

// ---------------------------------------------------------------------------
// The rules every response must keep.

bool is_version_1x(const std::string& v) { return v == "HTTP/1.1" || v == "HTTP/1.0"; }

// Problems with one response, or "" when it keeps every rule.
std::string check_response(const raw_response& r, bool to_head, bool allow_2xx, bool check_version) {
  std::string problems;
  const auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  if (r.status >= 500) problem("a " + std::to_string(r.status) + " (server error)");
  else if (r.status / 100 == 2 ? !allow_2xx : r.status / 100 != 4)
    problem("status " + std::to_string(r.status) + " is neither 4xx" + std::string(allow_2xx ? " nor 2xx" : ""));
  if (check_version && !is_version_1x(r.version))
    problem("the status line says " + r.version + ", not HTTP/1.1 or HTTP/1.0");
  if (r.header("content-type") != "application/json; charset=utf-8")
    problem("Content-Type is '" + r.header("content-type") + "'");
  if (to_head) {
    if (!r.body.empty()) problem("a body in a reply to HEAD");
    return problems;
  }
  const std::string body = r.header("content-encoding") == "gzip" ? gunzip(r.body) : r.body;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (doc.HasParseError()) {
    problem(std::string("the body is not JSON (") + rapidjson::GetParseError_En(doc.GetParseError()) + ")");
  } else if (r.status / 100 == 4) {
    if (!doc.IsObject() || !doc.HasMember("error") || !doc["error"].IsString())
      problem("the body is not {\"error\": string}");
  } else if (!doc.IsObject()) {
    problem("the body is not a JSON object");
  }
  return problems;
}

// SQL, driver and crash text must never reach a client.
std::string leaked(std::string_view received) {
  for (const std::string_view marker :
       {"SELECT", "pqxx", "ERROR:", "terminate called", "what():", "std::", "Traceback",
        "stack trace", "Segmentation fault", "cust_master", "libpq"})
    if (received.find(marker) != std::string_view::npos) return std::string(marker);
  return {};
}

// ---------------------------------------------------------------------------
// The corpus (format: see the top of tests/corpus/hostile-requests.txt).

struct corpus_case {
  std::string title;
  int line = 0;
  std::string bytes;
  // One slot per response in order; each slot lists what is acceptable there:
  // "404", "4xx", "close".
  std::vector<std::vector<std::string>> expected;
  std::string expected_text;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Escapes only: \r \n \t \0 \\ \{ \} \xNN.
std::string unescape(std::string_view text, int line) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) throw std::runtime_error("line " + std::to_string(line) + ": a lone backslash at the end");
    switch (text[i]) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '{': out += '{'; break;
      case '}': out += '}'; break;
      case 'x': {
        const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) throw std::runtime_error("line " + std::to_string(line) + ": \\x needs two hex digits");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        throw std::runtime_error("line " + std::to_string(line) + ": unknown escape \\" + text[i]);
    }
  }
  return out;
}

// One data line: escapes and {TOKEN}, {BASIC}, {REPEAT:text:N}.
std::string expand(std::string_view text, int line) {
  std::string out;
  std::size_t literal_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // whatever follows is part of the escape
      continue;
    }
    if (text[i] != '{') continue;
    out += unescape(text.substr(literal_start, i - literal_start), line);
    // The placeholder ends at the first '}' not escaped.
    std::size_t end = i + 1;
    while (end < text.size() && text[end] != '}') end += text[end] == '\\' ? 2 : 1;
    if (end >= text.size()) throw std::runtime_error("line " + std::to_string(line) + ": '{' without '}' (write \\{ for a brace)");
    const std::string_view inside = text.substr(i + 1, end - i - 1);
    if (inside == "TOKEN") {
      out += test_token;
    } else if (inside == "BASIC") {
      out += basic_pair_base64;
    } else if (inside.substr(0, 7) == "REPEAT:") {
      const auto colon = inside.rfind(':');
      const std::string count_text(inside.substr(colon + 1));
      if (colon <= 6 || count_text.empty() || count_text.size() > 8 ||
          !std::all_of(count_text.begin(), count_text.end(), ::isdigit))
        throw std::runtime_error("line " + std::to_string(line) + ": {REPEAT:text:N} needs a count");
      const std::string unit = unescape(inside.substr(7, colon - 7), line);
      if (unit.empty()) throw std::runtime_error("line " + std::to_string(line) + ": {REPEAT} of nothing");
      for (int n = std::stoi(count_text); n > 0; --n) out += unit;
    } else {
      throw std::runtime_error("line " + std::to_string(line) + ": unknown placeholder {" + std::string(inside) + "}");
    }
    i = end;
    literal_start = end + 1;
  }
  out += unescape(text.substr(std::min(literal_start, text.size())), line);
  return out;
}

std::vector<std::vector<std::string>> parse_expectation(std::string text, int line) {
  if (const auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
  std::vector<std::vector<std::string>> slots;
  std::stringstream by_slot(text);
  for (std::string slot; std::getline(by_slot, slot, ';');) {
    std::vector<std::string> alternatives;
    std::stringstream by_alt(slot);
    for (std::string alt; std::getline(by_alt, alt, '|');) {
      alt.erase(0, alt.find_first_not_of(" \t"));
      alt.erase(alt.find_last_not_of(" \t") + 1);
      const bool status = alt.size() == 3 && std::isdigit(static_cast<unsigned char>(alt[0])) &&
                          ((std::isdigit(static_cast<unsigned char>(alt[1])) && std::isdigit(static_cast<unsigned char>(alt[2]))) ||
                           (alt[1] == 'x' && alt[2] == 'x'));
      if (alt != "close" && !status)
        throw std::runtime_error("line " + std::to_string(line) + ": bad expectation '" + alt + "'");
      alternatives.push_back(alt);
    }
    if (alternatives.empty()) throw std::runtime_error("line " + std::to_string(line) + ": empty expectation");
    slots.push_back(alternatives);
  }
  if (slots.empty()) throw std::runtime_error("line " + std::to_string(line) + ": no expectation after =>");
  return slots;
}

std::vector<corpus_case> load_corpus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<corpus_case> cases;
  std::optional<corpus_case> open;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("### ", 0) == 0) {
      if (open) throw std::runtime_error("line " + std::to_string(number) + ": case '" + open->title + "' has no => line");
      open.emplace();
      open->title = line.substr(4);
      open->line = number;
      continue;
    }
    if (!open) continue;  // commentary between cases
    if (line.rfind("=>", 0) == 0) {
      open->expected_text = line.substr(2);
      open->expected = parse_expectation(open->expected_text, number);
      if (open->bytes.empty()) throw std::runtime_error("line " + std::to_string(number) + ": case '" + open->title + "' sends nothing");
      cases.push_back(std::move(*open));
      open.reset();
      continue;
    }
    // Trailing white space is not data (write \x20 or \t).
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    open->bytes += expand(line, number);
  }
  if (open) throw std::runtime_error("the last case, '" + open->title + "', has no => line");
  return cases;
}

bool status_matches(const std::string& alternative, unsigned status) {
  if (alternative == "close") return false;
  if (alternative[1] == 'x') return status / 100 == static_cast<unsigned>(alternative[0] - '0');
  return status == static_cast<unsigned>(std::stoi(alternative));
}

// ---------------------------------------------------------------------------

class HostileRequests : public core_database_suite {
 protected:
  static void SetUpTestSuite() {
    core_database_suite::SetUpTestSuite();
    server_ = new server({"serve", "--mapping", core_mapping_path(),
                          "--max-header-bytes", std::to_string(max_header_bytes),
                          "--max-url-bytes", std::to_string(max_url_bytes)},
                         {{"STORYGATE_DATABASE_URL", db_->url()},
                          {"STORYGATE_BEARER_TOKENS", test_token},
                          {"STORYGATE_BASIC_CREDENTIALS", "dailystory:s3cret:with:colons"}});
  }
  static void TearDownTestSuite() {
    delete server_;
    core_database_suite::TearDownTestSuite();
  }

  void SetUp() override {
    rows_before_ = row_count();
    digest_before_ = digest();
    ASSERT_EQ(rows_before_, "121");
  }

  static std::string row_count() { return db_->query_value("SELECT count(*) FROM legacy.cust_master"); }
  static std::string digest() {
    return db_->query_value("SELECT md5(string_agg(t::text, ',' ORDER BY cust_no)) FROM legacy.cust_master t");
  }

  // After the storm: alive, healthy, serving data, database untouched.
  void expect_unharmed() {
    EXPECT_TRUE(server_->running()) << "the server died; its log ends with:\n" << tail(server_->logs());
    if (!server_->running()) return;
    const auto health = http_get(server_->port(), "/healthz");
    EXPECT_EQ(health.status, 200u) << health.body;
    const auto record = http_get(server_->port(), "/api/v1/customer/244988", bearer());
    EXPECT_EQ(record.status, 200u) << record.body;
    EXPECT_EQ(row_count(), rows_before_);
    EXPECT_EQ(digest(), digest_before_) << "the table's contents changed";
  }

  static std::string tail(const std::string& text, std::size_t bytes = 4000) {
    return text.size() <= bytes ? text : text.substr(text.size() - bytes);
  }

  static server* server_;
  std::string rows_before_, digest_before_;
};
server* HostileRequests::server_ = nullptr;

// ---------------------------------------------------------------------------

TEST_F(HostileRequests, CorpusCases) {
  const auto cases = load_corpus(source_path("tests/corpus/hostile-requests.txt"));
  ASSERT_GE(cases.size(), 300u);
  std::set<std::string> titles;
  for (const auto& c : cases) EXPECT_TRUE(titles.insert(c.title).second) << "two cases are titled '" << c.title << "'";

  // STORYGATE_HOSTILE_VERBOSE=1 prints every case's outcome.
  const bool verbose = std::getenv("STORYGATE_HOSTILE_VERBOSE") != nullptr;
  std::vector<std::string> failed;
  for (const auto& c : cases) {
    const auto exchange = send_raw_and_shutdown(server_->port(), c.bytes, milliseconds(5000));
    const auto expected = predict(c.bytes);

    std::vector<std::string> problems;
    std::vector<raw_response> responses;
    std::string_view rest = exchange.received;
    while (!rest.empty()) {
      const bool to_head = responses.size() < expected.to_head.size() && expected.to_head[responses.size()];
      raw_response r;
      std::size_t used = 0;
      std::string why;
      const auto result = parse_raw_response(rest, to_head, r, used, &why);
      if (result != parse_result::complete) {
        problems.push_back(result == parse_result::need_more ? "an incomplete response" : "a malformed response (" + why + ")");
        break;
      }
      // Statuses are the expectation's business (a pipelined valid request gets a 200).
      if (auto p = check_response(r, to_head, true, true); !p.empty())
        problems.push_back("response " + std::to_string(responses.size() + 1) + ": " + p);
      responses.push_back(std::move(r));
      rest.remove_prefix(used);
    }
    if (exchange.timed_out) problems.push_back("no close within 5 s (the server neither finished nor hung up)");
    if (auto marker = leaked(exchange.received); !marker.empty()) problems.push_back("the reply contains '" + marker + "'");

    // Statuses against the expectation, slot by slot.
    std::string statuses;
    for (const auto& r : responses) statuses += (statuses.empty() ? "" : "; ") + std::to_string(r.status);
    if (exchange.closed) statuses += statuses.empty() ? "close" : "; close";
    bool matched = true;
    for (std::size_t i = 0; i < c.expected.size() && matched; ++i) {
      const auto& slot = c.expected[i];
      if (i < responses.size()) {
        matched = std::any_of(slot.begin(), slot.end(), [&](const std::string& a) { return status_matches(a, responses[i].status); });
      } else {
        matched = std::find(slot.begin(), slot.end(), "close") != slot.end() && exchange.closed;
        break;  // closed: later slots do not apply
      }
    }
    if (matched && responses.size() > c.expected.size()) matched = false;
    if (!matched) problems.push_back("expected" + c.expected_text + ", got " + statuses);

    if (verbose) printf("%-70.70s => %-12s got %s\n", c.title.c_str(), c.expected_text.c_str(), statuses.c_str());
    if (!problems.empty()) {
      std::string message = "### " + c.title + " (line " + std::to_string(c.line) + ")\n";
      for (const auto& p : problems) message += "  " + p + "\n";
      message += "  sent:     " + printable(c.bytes) + "\n  received: " + printable(exchange.received, 800);
      ADD_FAILURE() << message;
      failed.push_back(c.title);
    }
    if (!server_->running()) {
      ADD_FAILURE() << "the server died after case '" << c.title << "'; its log ends with:\n" << tail(server_->logs());
      break;
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& t : failed) list += "\n  ### " + t;
    ADD_FAILURE() << failed.size() << " of " << cases.size() << " corpus cases failed:" << list;
  }
  expect_unharmed();
}

// ---------------------------------------------------------------------------
// The mutation generator.

struct request_parts {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;  // as written (already encoded)
  std::string version = "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string target() const {
    std::string t = path;
    for (std::size_t i = 0; i < params.size(); ++i)
      t += (i == 0 ? "?" : "&") + params[i].first + (params[i].second.empty() && params[i].first.empty() ? "" : "=") + params[i].second;
    return t;
  }
  std::string serialize() const {
    std::string out = method + " " + target() + " " + version + "\r\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    return out + "\r\n" + body;
  }
};

std::vector<request_parts> valid_requests() {
  const std::pair<std::string, std::string> host{"Host", "127.0.0.1"};
  const std::pair<std::string, std::string> bearer_auth{"Authorization", "Bearer " + test_token};
  const std::pair<std::string, std::string> basic_auth{"Authorization", "Basic " + basic_pair_base64};
  std::vector<request_parts> bases;
  const auto add = [&](std::string method, std::string path, std::vector<std::pair<std::string, std::string>> params,
                       std::vector<std::pair<std::string, std::string>> headers, std::string version = "HTTP/1.1") {
    request_parts r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.params = std::move(params);
    r.headers = std::move(headers);
    r.version = std::move(version);
    bases.push_back(std::move(r));
  };
  add("GET", "/api/v1/customer/244988", {}, {host, bearer_auth});
  add("GET", "/api/v1/customer/1001", {}, {host, basic_auth, {"User-Agent", "DailyStory-Sync/2.3"}, {"Accept", "application/json"}});
  add("GET", "/api/v1/customer/999999", {}, {host, bearer_auth, {"X-Request-Id", "sync-42.7"}});
  add("GET", "/api/v1/customers", {{"last_updated", "2022-01-10"}, {"start", "2"}, {"limit", "3"}}, {host, bearer_auth});
  add("GET", "/api/v1/customers", {{"last_updated", "2022-07-03T12%3A33%3A45-05%3A00"}, {"limit", "5"}},
      {host, bearer_auth, {"Accept-Encoding", "gzip, deflate"}});
  add("GET", "/api/v1/customers", {{"start", "100"}, {"limit", "10"}}, {host, basic_auth, {"Connection", "keep-alive"}});
  add("GET", "/api/v1/customers", {{"last_updated", "2022-07-03T23:03:45%2B05:30"}}, {host, bearer_auth});
  add("GET", "/api/v1/customers", {{"last_updated", ""}, {"limit", "50"}, {"start", "0"}}, {host, bearer_auth});
  add("HEAD", "/api/v1/customer/244988", {}, {host, bearer_auth});
  add("HEAD", "/api/v1/customers", {{"limit", "2"}}, {host, basic_auth});
  add("GET", "/healthz", {}, {host});
  add("GET", "/api/v1/customers", {{"limit", "1"}}, {host, bearer_auth, {"Connection", "keep-alive"}}, "HTTP/1.0");
  return bases;
}

class mutator {
 public:
  explicit mutator(uint64_t seed) : random_(seed) {}

  // A mutation of `base`, and the names of what was done to it.
  std::string mutate(request_parts r, std::string& done) {
    std::size_t structural = pick(3) == 0 ? 0 : 1 + pick(2);
    std::size_t bytewise = pick(5) < 3 ? 1 + pick(3) : 0;
    if (structural + bytewise == 0) bytewise = 1;
    for (std::size_t i = 0; i < structural; ++i) done += structural_op(r) + " ";
    std::string bytes = r.serialize();
    for (std::size_t i = 0; i < bytewise; ++i) done += byte_op(bytes) + " ";
    return bytes;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }
  template <typename T>
  const T& one_of(const std::vector<T>& v) { return v[pick(v.size())]; }

  char special_byte() {
    static const std::string specials{'\0', '\r', '\n', '%', '\'', '"', ' ', '\t', ';', '?', '&', '=', '/',
                                      '#', '\\', '\x7f', '+', ':', ',', '\x01', '\x1b'};
    if (pick(3) == 0) return static_cast<char>(0x80 + pick(0x80));
    return specials[pick(specials.size())];
  }

  std::string hostile_value() {
    static const std::vector<std::string> values{
        "-1", "0", "1", "18446744073709551616", "99999999999999999999", "1000000000001", "1e3", "0x10", " 5",
        "5%20", "%2B5", "1;DROP%20TABLE%20legacy.cust_master", "'%20OR%20'1'='1", "1'--", "1%27%3B--", "%00",
        "1%00", "%ff", "%c0%ae", "%e2%80%ae", "%", "%2", "%zz", "%%", "+", "%2B", "2022-02-30", "2022-07-03T25:00",
        "0000-01-01", "9999-12-31T23:59:59.999999-15:59", "2022-07-03T12:33:45%2B99:99", "%27", "%22", "\\",
        "(select%201)", "$1", "%24%24", "NaN", "Infinity", "true", "null", "[]", "{}", "%5B%5D", "%F0%9F%92%A9",
        "%ED%A0%80", "%C3%28", "%F4%90%80%80"};
    if (pick(6) == 0) return std::string(1 + pick(300), "0123456789a%'"[pick(13)]);
    if (pick(8) == 0) {
      std::string raw;
      for (std::size_t n = 1 + pick(6); n > 0; --n) raw += special_byte();
      return raw;
    }
    return one_of(values);
  }

  std::string structural_op(request_parts& r) {
    switch (pick(15)) {
      case 0:
        if (!r.params.empty()) {
          const auto p = r.params[pick(r.params.size())];
          r.params.insert(r.params.begin() + static_cast<long>(pick(r.params.size() + 1)),
                          {p.first, pick(2) ? p.second : hostile_value()});
          return "duplicate-param";
        }
        [[fallthrough]];
      case 1: {
        static const std::vector<std::string> names{"start", "limit", "last_updated", "x", "", "limit%00", "st%61rt",
                                                    "LIMIT", "start%20", "limit[]", "last_updated'--", "%ff", "a=b"};
        r.params.insert(r.params.begin() + static_cast<long>(pick(r.params.size() + 1)), {one_of(names), hostile_value()});
        return "add-param";
      }
      case 2:
        if (!r.params.empty()) {
          r.params[pick(r.params.size())].second = hostile_value();
          return "param-value";
        }
        [[fallthrough]];
      case 3:
        if (!r.params.empty()) {
          r.params.erase(r.params.begin() + static_cast<long>(pick(r.params.size())));
          return "drop-param";
        }
        [[fallthrough]];
      case 4: {
        if (r.path.rfind("/api/v1/customer/", 0) == 0) {
          r.path = "/api/v1/customer/" + hostile_value();
          return "id";
        }
        static const std::vector<std::string> paths{"/api/v1/customer/", "/api/v1//customers", "/api/v1/../v1/customers",
                                                    "/api/v1/%2e%2e/v1/customers", "/api/v1/customers/", "//api/v1/customers",
                                                    "/api/v1/customers%00", "/api/v1/customer%2F1001", "/API/V1/CUSTOMERS",
                                                    "*", "http://127.0.0.1/api/v1/customers", "api/v1/customers", ""};
        r.path = one_of(paths);
        return "path";
      }
      case 5: {
        // Percent-encode one character of the target, or break an escape.
        std::string& text = pick(2) || r.params.empty() ? r.path : r.params[pick(r.params.size())].second;
        if (text.empty()) return "encode-nothing";
        const std::size_t at = pick(text.size());
        static constexpr char hex[] = "0123456789ABCDEF";
        if (pick(2)) {
          const auto c = static_cast<unsigned char>(text[at]);
          text.replace(at, 1, std::string("%") + hex[c >> 4] + hex[c & 15]);
          return "percent-encode";
        }
        static const std::vector<std::string> bad{"%", "%G1", "%0", "%00", "%ff", "%c0%af", "%2e%2e", "%25", "%%30",
                                                  "%u0041", "%e2%82", "%0a", "%0d%0a"};
        text.insert(at, one_of(bad));
        return "bad-percent";
      }
      case 6:
        if (!r.headers.empty()) {
          r.headers.insert(r.headers.begin() + static_cast<long>(pick(r.headers.size() + 1)), r.headers[pick(r.headers.size())]);
          return "duplicate-header";
        }
        [[fallthrough]];
      case 7:
        if (!r.headers.empty()) {
          r.headers.erase(r.headers.begin() + static_cast<long>(pick(r.headers.size())));
          return "drop-header";
        }
        [[fallthrough]];
      case 8: {
        static const std::vector<std::pair<std::string, std::string>> extra{
            {"Content-Length", "0"}, {"Content-Length", "5"}, {"Content-Length", "-1"}, {"Content-Length", "1, 2"},
            {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked, identity"},
            {"Host", "evil.example"}, {"Host", ""}, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic Og=="},
            {"Authorization", ""}, {"Expect", "100-continue"}, {"Connection", "close"}, {"Connection", "Upgrade"},
            {"Upgrade", "h2c"}, {"X-Request-Id", "1' OR '1'='1"}, {"X-Forwarded-For", "' OR 1=1--"},
            {"Cookie", "session=1; DROP TABLE x"}, {"Range", "bytes=0-"}, {"If-None-Match", "*"},
            {"Accept", "text/html"}, {"Content-Type", "application/x-www-form-urlencoded"}, {"X-Long", std::string(9000, 'L')},
            {"X-Huge", std::string(20000, 'H')}, {"Bad Name", "x"}, {"Bad\x01Name", "x"}, {"", "no name"}, {"X-Nul", std::string("a\0b", 3)},
            {"X-Fold", "a\r\n folded"}, {"X-Utf8", "\xc3\x28\xff"}};
        r.headers.insert(r.headers.begin() + static_cast<long>(pick(r.headers.size() + 1)), one_of(extra));
        return "add-header";
      }
      case 9:
        if (!r.headers.empty()) {
          auto& h = r.headers[pick(r.headers.size())];
          h.second = pick(2) ? hostile_value() : std::string(1 + pick(3), special_byte()) + h.second;
          return "header-value";
        }
        [[fallthrough]];
      case 10:
        if (!r.headers.empty()) {
          auto& name = r.headers[pick(r.headers.size())].first;
          if (pick(2)) {
            for (auto& c : name) c = pick(2) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          } else {
            name.insert(pick(name.size() + 1), 1, special_byte());
          }
          return "header-name";
        }
        [[fallthrough]];
      case 11: {
        static const std::vector<std::string> methods{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                                                      "CONNECT", "get", "GETT", "G ET", "BREW", "PRI", "M-SEARCH", "",
                                                      std::string(200, 'G'), std::string("GET\0", 4), "\xff\xfe"};
        r.method = one_of(methods);
        return "method";
      }
      case 12: {
        static const std::vector<std::string> versions{"HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 x",
                                                       "HTTP/11", "HTTP/1.1\r\nX: y", "", "HTTP/9.9", "HTTP/1.01", "HTTP /1.1"};
        r.version = one_of(versions);
        return "version";
      }
      case 13: {
        switch (pick(3)) {
          case 0:
            r.body = std::string(1 + pick(40), 'b');
            r.headers.emplace_back("Content-Length", std::to_string(r.body.size()));
            return "body-length";
          case 1:
            r.body = "5\r\nhello\r\n0\r\n\r\n";
            r.headers.emplace_back("Transfer-Encoding", "chunked");
            return "body-chunked";
          default:
            r.body = "0\r\n\r\n";
            r.headers.emplace_back("Transfer-Encoding", "chunked");
            r.headers.emplace_back("Content-Length", "5");
            return "body-smuggle";
        }
      }
      default: {
        // Many headers.
        const std::size_t n = 20 + pick(200);
        for (std::size_t i = 0; i < n; ++i) r.headers.emplace_back("X-Many-" + std::to_string(i), "v");
        return "many-headers";
      }
    }
  }

  std::string byte_op(std::string& bytes) {
    if (bytes.empty()) {
      bytes += special_byte();
      return "insert";
    }
    const std::size_t at = pick(bytes.size());
    switch (pick(8)) {
      case 0:
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << pick(8)));
        return "bit-flip";
      case 1:
        bytes[at] = special_byte();
        return "replace";
      case 2: {
        std::string inserted;
        for (std::size_t n = 1 + pick(4); n > 0; --n) inserted += special_byte();
        bytes.insert(at, inserted);
        return "insert";
      }
      case 3:
        bytes.erase(at, 1 + pick(8));
        return "delete";
      case 4:
        bytes.resize(at);
        return "truncate";
      case 5: {
        const auto crlf = bytes.find("\r\n", at);
        if (crlf == std::string::npos) return "lf-none";
        bytes.replace(crlf, 2, pick(2) ? "\n" : "\r");
        return "bare-line-end";
      }
      case 6: {
        const std::size_t length = std::min<std::size_t>(1 + pick(30), bytes.size() - at);
        bytes.insert(at, bytes.substr(at, length));
        return "duplicate-range";
      }
      default: {
        // A second request glued on: pipelining, or trailing garbage.
        bytes += pick(2) ? bytes : std::string(1 + pick(20), special_byte());
        return "append";
      }
    }
  }

  std::mt19937_64 random_;
};

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

TEST_F(HostileRequests, MutatedValidRequests) {
  // Fixed by default, so a failure is repeatable; STORYGATE_HOSTILE_SEED and
  // STORYGATE_HOSTILE_MUTATIONS try others.
  const uint64_t seed = env_number("STORYGATE_HOSTILE_SEED", 20240611);
  const uint64_t total = env_number("STORYGATE_HOSTILE_MUTATIONS", 20000);
  SCOPED_TRACE("mutation seed " + std::to_string(seed) + " (rerun with STORYGATE_HOSTILE_SEED=" + std::to_string(seed) + ")");
  RecordProperty("seed", std::to_string(seed));
  const auto started = std::chrono::steady_clock::now();
  const milliseconds timeout(5000);

  const auto bases = valid_requests();
  mutator mutate(seed);
  std::unique_ptr<raw_connection> connection;
  std::size_t failures = 0, connections = 0, responses = 0, closes = 0;
  std::map<unsigned, std::size_t> by_status;

  for (uint64_t n = 0; n < total; ++n) {
    std::string done;
    const auto& base = bases[n % bases.size()];
    const std::string bytes = mutate.mutate(base, done);
    const auto expected = predict(bytes);

    std::vector<std::string> problems;
    std::string received;
    if (!connection) {
      connection = std::make_unique<raw_connection>(server_->port());
      ++connections;
    }
    const auto take_response = [&](bool to_head, bool& complete) {
      raw_response r;
      std::size_t used = 0;
      std::string why;
      const auto result = parse_raw_response(connection->pending(), to_head, r, used, &why);
      complete = result == parse_result::complete;
      if (result == parse_result::malformed) {
        problems.push_back("a malformed response (" + why + ")");
        complete = true;
      }
      if (!complete || result == parse_result::malformed) return false;
      received += connection->pending().substr(0, used);
      connection->pending().erase(0, used);
      ++responses;
      ++by_status[r.status];
      if (auto p = check_response(r, to_head, true, false); !p.empty()) problems.push_back(p);
      const std::string conn = r.header("connection");
      const bool closing = conn.find("close") != std::string::npos ||
                           (r.version == "HTTP/1.0" && conn.find("keep-alive") == std::string::npos);
      return closing;
    };

    if (expected.single_keep_alive) {
      connection->write(bytes, timeout);
      bool complete = false, closing = false;
      for (;;) {
        closing = take_response(expected.to_head[0], complete);
        if (complete) break;
        if (!connection->read_more(timeout)) break;
      }
      if (!complete) {
        if (connection->closed() && connection->pending().empty()) {
          ++closes;  // a clean close instead of an answer is allowed
        } else {
          problems.push_back(connection->closed() ? "closed mid-response" : "no response within 5 s");
        }
        closing = true;
      }
      if (closing || !problems.empty()) connection.reset();
    } else {
      // Not exactly one complete keep-alive request: send, end our side, and
      // read until the server hangs up.
      connection->write(bytes, timeout);
      if (!connection->closed()) connection->shutdown_write();
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      while (!connection->closed() && std::chrono::steady_clock::now() < deadline)
        connection->read_more(std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!connection->closed()) problems.push_back("no close within 5 s after the client's end of stream");
      for (std::size_t i = 0; !connection->pending().empty(); ++i) {
        bool complete = false;
        take_response(i < expected.to_head.size() && expected.to_head[i], complete);
        if (!complete) {
          problems.push_back("an incomplete response at the end");
          break;
        }
        if (!problems.empty()) break;
      }
      ++closes;
      connection.reset();
    }
    if (auto marker = leaked(received); !marker.empty()) problems.push_back("the reply contains '" + marker + "'");

    if (!problems.empty() && ++failures <= 25) {
      std::string message = "mutation #" + std::to_string(n) + " (seed " + std::to_string(seed) + "; " + done + "):\n";
      for (const auto& p : problems) message += "  " + p + "\n";
      message += "  sent:     " + printable(bytes) + "\n  received: " + printable(received, 800);
      ADD_FAILURE() << message;
    }
    if (!server_->running()) {
      ADD_FAILURE() << "the server died at mutation #" << n << " (seed " << seed << "); sent: " << printable(bytes)
                    << "\nits log ends with:\n" << tail(server_->logs());
      break;
    }
  }
  connection.reset();

  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string statuses;
  for (const auto& [status, count] : by_status) statuses += " " + std::to_string(status) + "x" + std::to_string(count);
  printf("[ mutation ] seed %llu: %llu mutations, %zu responses (%s), %zu closes, %zu connections, %.1f s\n",
         static_cast<unsigned long long>(seed), static_cast<unsigned long long>(total), responses, statuses.c_str(),
         closes, connections, seconds);
  EXPECT_EQ(failures, 0u) << failures << " mutations broke the rules (seed " << seed << "; the first 25 are above)";
  expect_unharmed();
}

}  // namespace
}  // namespace storygate::testing
