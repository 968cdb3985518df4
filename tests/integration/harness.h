#pragma once
// What the integration tests run against: a scratch database on the
// PostgreSQL the test command started (STORYGATE_TEST_DATABASE_URL), the real
// storygate binary as a child process, and a small HTTP/1.1 client over real
// sockets.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace storygate::testing {

// The administrator URL of the test cluster; fails the test run loudly when
// the variable is missing (integration tests are never skipped).
std::string admin_url();

// A database of its own for one test suite, created from `setup_sql`, dropped
// at destruction. With `encoding` ("LATIN1", "SQL_ASCII"), its text is kept in
// that encoding (C locale, from template0) rather than the cluster's UTF8.
class scratch_database {
 public:
  explicit scratch_database(const std::string& setup_sql, const std::string& encoding = "");
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const;                          // as the superuser
  std::string url_as(const std::string& role) const;  // as another role (trust auth)
  // Both speak UTF-8 to the database (client_encoding), as storygate does.
  void exec(const std::string& sql) const;
  std::string query_value(const std::string& sql) const;  // first column of first row
  // Runs a psql script file with -v variables.
  void run_psql_file(const std::string& path, const std::vector<std::pair<std::string, std::string>>& vars = {}) const;

 private:
  std::string name_;
};

// Writes `text` to a fresh file under the test's temporary folder.
std::string write_temp_file(const std::string& name, const std::string& text, int mode = 0600);

// Polls `condition` until it holds or `limit` passes; its last answer.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = std::chrono::seconds(10));

// A gzip body decompressed ("<inflate failed>" when it is not gzip).
std::string gunzip(const std::string& data);

// The whole content of a file.
std::string read_file(const std::string& path);

// The path of a file in the source tree (mappings/, scripts/, tests/...).
std::string source_path(const std::string& relative);

struct process_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `argv` (argv[0] a path) to completion, killed after `timeout`, with
// stdout and stderr captured together; the STORYGATE_* credentials and
// database URL of the test process are not passed on, only `env`.
process_result run_process(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env = {},
                           std::chrono::seconds timeout = std::chrono::seconds(30));

// Runs storygate to completion (for check, --help, start-up failures).
process_result run_storygate(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {},
                             std::chrono::seconds timeout = std::chrono::seconds(30));

// storygate serve on port 0 (or the --port in `args`); the constructor waits
// for its "listening" line.
class server {
 public:
  server(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  ~server();  // SIGTERM, then waits
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  unsigned short port() const { return port_; }
  int pid() const { return pid_; }
  // Sends `signal` and waits for exit; returns the exit code (or 128+signal).
  int stop(int signal = 15, std::chrono::seconds timeout = std::chrono::seconds(20));
  bool running() const;
  std::string logs() const;

 private:
  struct output_reader;
  int pid_ = -1;
  unsigned short port_ = 0;
  std::shared_ptr<output_reader> output_;
  std::optional<int> exit_code_;
};

struct http_response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const;
};

// One request on a fresh connection.
http_response http_request(unsigned short port, const std::string& method, const std::string& target,
                           const std::map<std::string, std::string>& headers = {});
// The same from the local address `source` ("127.0.0.2", "127.0.0.3": every
// 127/8 address is this machine's), so that one test can be several clients.
http_response http_request_from(const std::string& source, unsigned short port, const std::string& method,
                                const std::string& target, const std::map<std::string, std::string>& headers = {});
inline http_response http_get(unsigned short port, const std::string& target,
                              const std::map<std::string, std::string>& headers = {}) {
  return http_request(port, "GET", target, headers);
}

// One request over TLS, verifying the server against `ca_file` for
// "localhost". `max_tls_version` (e.g. TLS1_1_VERSION) caps the client's
// protocol; 0 means the library's default. Throws when the handshake fails.
http_response https_get(unsigned short port, const std::string& target, const std::string& ca_file,
                        const std::map<std::string, std::string>& headers = {}, int max_tls_version = 0);

// Writes `bytes` as they are and returns everything the server sends back
// until it closes or `timeout` passes.
std::string send_raw(unsigned short port, const std::string& bytes,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// Raw HTTP over a plain socket, for requests no HTTP library would write.
// Writing and reading happen together (poll), so a server that answers and
// closes before it has read everything cannot deadlock the writer.
struct raw_exchange {
  std::string received;      // every byte the server sent
  bool closed = false;       // the server closed the connection (FIN or reset)
  bool reset = false;        // ... with a reset (ECONNRESET)
  bool timed_out = false;    // neither closed nor finished within the timeout
  bool write_cut = false;    // the server stopped reading before every byte was written
};

// Writes `bytes`, then shuts down the write side, so the server sees the end
// of the stream instead of waiting for more (unlike send_raw, no keep-alive
// timeout to sit out), and reads until the server closes or `timeout` passes.
raw_exchange send_raw_and_shutdown(unsigned short port, const std::string& bytes,
                                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// One response parsed from raw bytes, as sent.
struct raw_response {
  std::string version;  // "HTTP/1.1"
  unsigned status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;  // names lower-cased, in order
  std::string body;
  std::string header(const std::string& lower_name) const;  // first of that name, or ""
  std::size_t count(const std::string& lower_name) const;
};

enum class parse_result { complete, need_more, malformed };

// Parses the response at the start of `bytes` (Content-Length framing; no
// body when `to_head` or for 1xx/204/304). On success sets `consumed`; on
// malformed sets `why`.
parse_result parse_raw_response(std::string_view bytes, bool to_head, raw_response& out,
                                std::size_t& consumed, std::string* why = nullptr);

// A keep-alive connection driven byte by byte.
class raw_connection {
 public:
  // From the local address `source` when given (see http_request_from).
  explicit raw_connection(unsigned short port, const std::string& source = "");
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // Writes all of `bytes`, taking in whatever arrives meanwhile. False when
  // the server closed or reset before everything was written, or on timeout.
  bool write(std::string_view bytes, std::chrono::milliseconds timeout);
  void shutdown_write();
  // Waits for more bytes into pending(); false once the connection is closed
  // (then closed() is true) or the timeout passed (closed() is false).
  bool read_more(std::chrono::milliseconds timeout);
  std::string& pending() { return pending_; }  // received, not yet consumed by the caller
  bool closed() const { return closed_; }
  bool reset() const { return reset_; }

 private:
  bool pump(bool want_write, std::string_view& to_write, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string pending_;
  bool closed_ = false;
  bool reset_ = false;
};

// Customer 244988 of fixtures/core.sql as GET /api/v1/customer/244988
// serves it through fixtures/core.yaml.
inline const std::string core_example_record =
    R"({"id":244988,"first_name":"Amanda","last_name":"Grover","mobile_phone":"5553728048",)"
    R"("email":"amanda@example.com","points":322,"allow_sms":true,"allow_email":false,)"
    R"("city":"Seattle","state":"Washington","address":null,"zip":null,"birth_date":null,)"
    R"("store_id":598,"total_orders":65,"total_sales":4118.01,)"
    R"("date_first_order":"2021-01-23T16:33:37-06:00","date_last_order":"2021-10-06T13:01:27-05:00",)"
    R"("last_order_value":30.68,"categories":["Beauty ","Health"]})";

// A token and the matching Authorization header used by the suites.
inline const std::string test_token = "integration-test-token-7f3a";
inline std::map<std::string, std::string> bearer() {
  return {{"Authorization", "Bearer " + test_token}};
}

}  // namespace storygate::testing
