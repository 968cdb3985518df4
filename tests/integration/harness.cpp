#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <pqxx/pqxx>
#include <zlib.h>

#include <algorithm>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace storygate::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

std::string replace_dbname(const std::string& url, const std::string& dbname) {
  // URLs of the form postgresql://user@host:port/dbname[?params]
  const auto scheme_end = url.find("://");
  const auto slash = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (slash == std::string::npos) return url + "/" + dbname;
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + dbname + (query == std::string::npos ? "" : url.substr(query));
}

std::string replace_user(const std::string& url, const std::string& user) {
  const auto start = url.find("://") + 3;
  const auto at = url.find('@', start);
  return url.substr(0, start) + user + (at == std::string::npos ? "@" + url.substr(start) : url.substr(at));
}

std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(getpid()) + "_" + std::to_string(counter++);
}

std::string temp_dir() {
  static const std::string dir = [] {
    auto path = std::filesystem::temp_directory_path() / ("storygate-tests-" + std::to_string(getpid()));
    std::filesystem::create_directories(path);
    return path.string();
  }();
  return dir;
}

// Forks `argv` with stdout+stderr into a pipe; returns pid and the read end.
std::pair<int, int> spawn(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const int pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Dies with the test process, even when that is killed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(pipe_fds[1], 1);
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    // Credentials and settings come only from what the test passes.
    for (const char* name : {"STORYGATE_BEARER_TOKENS", "STORYGATE_BASIC_CREDENTIALS",
                             "STORYGATE_DATABASE_URL"})
      unsetenv(name);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return {pid, pipe_fds[0]};
}

std::vector<std::string> storygate_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv{STORYGATE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string admin_url() {
  const char* url = std::getenv("STORYGATE_TEST_DATABASE_URL");
  if (!url || !*url) {
    fprintf(stderr,
            "STORYGATE_TEST_DATABASE_URL is not set: run the suite with scripts/test.sh, which "
            "starts its own PostgreSQL\n");
    std::abort();
  }
  return url;
}

scratch_database::scratch_database(const std::string& setup_sql, const std::string& encoding)
    : name_("sg_test_" + unique_suffix()) {
  {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_);
    tx.exec("CREATE DATABASE " + name_ +
            (encoding.empty() ? ""
                              : " TEMPLATE template0 ENCODING " + tx.quote(encoding) + " LC_COLLATE 'C' LC_CTYPE 'C'"));
  }
  if (!setup_sql.empty()) exec(setup_sql);
}

scratch_database::~scratch_database() {
  try {
    pqxx::connection admin(admin_url());
    pqxx::nontransaction tx(admin);
    if (admin.server_version() >= 130000) {
      tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } else {
      // What WITH (FORCE) does, before 13: no new sessions, end the others.
      tx.exec("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS false");
      tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + tx.quote(name_));
      tx.exec("DROP DATABASE IF EXISTS " + name_);
    }
  } catch (const std::exception& e) {
    fprintf(stderr, "could not drop %s: %s\n", name_.c_str(), e.what());
  }
}

std::string scratch_database::url() const { return replace_dbname(admin_url(), name_); }
std::string scratch_database::url_as(const std::string& role) const {
  return replace_user(url(), role);
}

namespace {
// The tests' SQL is UTF-8 text, whatever the database's encoding.
std::string utf8_session_url(const std::string& url) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "client_encoding=UTF8";
}
}  // namespace

void scratch_database::exec(const std::string& sql) const {
  pqxx::connection c(utf8_session_url(url()));
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::string scratch_database::query_value(const std::string& sql) const {
  pqxx::connection c(utf8_session_url(url()));
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].c_str();
}

void scratch_database::run_psql_file(const std::string& path,
                                     const std::vector<std::pair<std::string, std::string>>& vars) const {
  std::vector<std::string> argv{"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"};
  for (const auto& [k, v] : vars) {
    argv.push_back("-v");
    argv.push_back(k + "=" + v);
  }
  argv.push_back("-d");
  argv.push_back(url());
  argv.push_back("-f");
  argv.push_back(path);
  auto [pid, fd] = spawn(argv, {});
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) output.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  if (decode_status(status) != 0) throw std::runtime_error("psql " + path + " failed: " + output);
}

std::string write_temp_file(const std::string& name, const std::string& text, int mode) {
  std::string flat = name;  // one file, whatever the name looks like
  std::replace(flat.begin(), flat.end(), '/', '_');
  const std::string path = temp_dir() + "/" + unique_suffix() + "-" + flat;
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), static_cast<mode_t>(mode));
  return path;
}

bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  inflateInit2(&stream, 15 + 16);
  std::string out(data.size() * 20 + 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return result == Z_STREAM_END ? out : std::string("<inflate failed>");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string source_path(const std::string& relative) {
  return std::string(STORYGATE_SOURCE_DIR) + "/" + relative;
}

process_result run_storygate(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env,
                             std::chrono::seconds timeout) {
  return run_process(storygate_argv(args), env, timeout);
}

process_result run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                           std::chrono::seconds timeout) {
  auto [pid, fd] = spawn(argv, env);
  process_result result;
  std::thread killer([pid = pid, timeout] {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (kill(pid, 0) != 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
  });
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) result.output.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  killer.join();
  result.exit_code = decode_status(status);
  return result;
}

struct server::output_reader {
  std::mutex mutex;
  std::condition_variable changed;
  std::string text;
  bool closed = false;
  std::thread thread;
};

server::server(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> full = args;
  full.insert(full.end(), {"--listen", "127.0.0.1"});
  // A fixed port when the test names one (a replica restarted behind a balancer).
  if (std::find(args.begin(), args.end(), "--port") == args.end()) full.insert(full.end(), {"--port", "0"});
  // Every suite's requests come from 127.0.0.1, and several send bad
  // credentials on purpose: the lockout has a test of its own (security_test).
  if (std::find(args.begin(), args.end(), "--auth-max-failures") == args.end())
    full.insert(full.end(), {"--auth-max-failures", "1000000"});
  auto [pid, fd] = spawn(storygate_argv(full), env);
  pid_ = pid;
  output_ = std::make_shared<output_reader>();
  output_->thread = std::thread([out = output_, fd = fd] {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) {
      std::lock_guard lock(out->mutex);
      out->text.append(buffer, static_cast<std::size_t>(n));
      out->changed.notify_all();
    }
    close(fd);
    std::lock_guard lock(out->mutex);
    out->closed = true;
    out->changed.notify_all();
  });
  static const std::regex listening(R"("msg":"listening".*"port":([0-9]+))");
  std::unique_lock lock(output_->mutex);
  std::smatch match;
  const bool ready = output_->changed.wait_for(lock, std::chrono::seconds(30), [&] {
    return std::regex_search(output_->text, match, listening) || output_->closed;
  });
  if (!ready || !std::regex_search(output_->text, match, listening)) {
    const std::string text = output_->text;
    lock.unlock();
    stop(SIGKILL);
    throw std::runtime_error("storygate did not start:\n" + text);
  }
  port_ = static_cast<unsigned short>(std::stoi(match[1]));
}

server::~server() {
  if (!exit_code_) stop(SIGTERM);
}

bool server::running() const { return !exit_code_ && kill(pid_, 0) == 0; }

int server::stop(int signal, std::chrono::seconds timeout) {
  if (exit_code_) return *exit_code_;
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  exit_code_ = decode_status(status);
  if (output_->thread.joinable()) output_->thread.join();
  return *exit_code_;
}

std::string server::logs() const {
  std::lock_guard lock(output_->mutex);
  return output_->text;
}

std::string http_response::header(const std::string& lower_name) const {
  const auto found = headers.find(lower_name);
  return found == headers.end() ? std::string() : found->second;
}

namespace {

// Status, headers with lower-cased names, body.
http_response to_http_response(bhttp::response<bhttp::string_body>&& res) {
  http_response out;
  out.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

http_response http_request(unsigned short port, const std::string& method, const std::string& target,
                           const std::map<std::string, std::string>& headers) {
  return http_request_from("", port, method, target, headers);
}

http_response http_request_from(const std::string& source, unsigned short port, const std::string& method,
                                const std::string& target, const std::map<std::string, std::string>& headers) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  if (!source.empty()) {
    stream.socket().open(net::ip::tcp::v4());
    stream.socket().bind(net::ip::tcp::endpoint(net::ip::make_address(source), 0));
  }
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(method == "HEAD");
  bhttp::read(stream, buffer, parser);
  auto out = to_http_response(parser.release());
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return out;
}

http_response https_get(unsigned short port, const std::string& target, const std::string& ca_file,
                        const std::map<std::string, std::string>& headers, int max_tls_version) {
  net::io_context io;
  net::ssl::context tls(net::ssl::context::tls_client);
  tls.load_verify_file(ca_file);
  tls.set_verify_mode(net::ssl::verify_peer);
  if (max_tls_version) SSL_CTX_set_max_proto_version(tls.native_handle(), max_tls_version);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  stream.set_verify_callback(net::ssl::host_name_verification("localhost"));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  stream.handshake(net::ssl::stream_base::client);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "localhost");
  for (const auto& [k, v] : headers) req.set(k, v);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);
  return to_http_response(std::move(res));
}

std::string send_raw(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout) {
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  beast::error_code ec;
  net::write(stream.socket(), net::buffer(bytes), ec);
  std::string received;
  char buffer[4096];
  for (;;) {
    stream.expires_after(timeout);
    const std::size_t n = stream.read_some(net::buffer(buffer), ec);
    received.append(buffer, n);
    if (ec) break;
  }
  return received;
}

raw_connection::raw_connection(unsigned short port, const std::string& source) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close(fd_);
      throw std::runtime_error("cannot bind to " + source);
    }
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    close(fd_);
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(error));
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

raw_connection::~raw_connection() {
  if (fd_ >= 0) close(fd_);
}

// Moves bytes both ways until `to_write` is empty (when want_write) or some
// bytes arrived (when not), the connection closed, or the deadline passed.
bool raw_connection::pump(bool want_write, std::string_view& to_write,
                          std::chrono::steady_clock::time_point deadline) {
  const std::size_t had = pending_.size();
  for (;;) {
    if (want_write && to_write.empty()) return true;
    if (!want_write && pending_.size() > had) return true;
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[16384];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        pending_.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        closed_ = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        closed_ = true;
        reset_ = errno == ECONNRESET;
      }
    }
    if (want_write && !closed_ && (p.revents & POLLOUT) && !to_write.empty()) {
      const ssize_t n = send(fd_, to_write.data(), to_write.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to_write.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The server stopped reading (closed or reset): what it sent may still be readable.
        return false;
      }
    }
  }
}

bool raw_connection::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  return pump(true, bytes, std::chrono::steady_clock::now() + timeout);
}

void raw_connection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool raw_connection::read_more(std::chrono::milliseconds timeout) {
  std::string_view nothing;
  return pump(false, nothing, std::chrono::steady_clock::now() + timeout);
}

raw_exchange send_raw_and_shutdown(unsigned short port, const std::string& bytes,
                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  raw_connection connection(port);
  raw_exchange result;
  result.write_cut = !connection.write(bytes, left());
  if (!connection.closed()) connection.shutdown_write();
  while (!connection.closed() && left().count() > 0) connection.read_more(left());
  // A reset may come with bytes still queued: take them too.
  result.received = std::move(connection.pending());
  result.closed = connection.closed();
  result.reset = connection.reset();
  result.timed_out = !connection.closed();
  return result;
}

std::string raw_response::header(const std::string& lower_name) const {
  for (const auto& [name, value] : fields)
    if (name == lower_name) return value;
  return {};
}

std::size_t raw_response::count(const std::string& lower_name) const {
  std::size_t n = 0;
  for (const auto& field : fields) n += field.first == lower_name;
  return n;
}

parse_result parse_raw_response(std::string_view bytes, bool to_head, raw_response& out,
                                std::size_t& consumed, std::string* why) {
  const auto malformed = [why](std::string text) {
    if (why) *why = std::move(text);
    return parse_result::malformed;
  };
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    // Not even a status line's worth of sense: say so early.
    if (bytes.size() >= 5 && bytes.substr(0, 5) != "HTTP/") return malformed("not a status line");
    return parse_result::need_more;
  }
  const std::string_view head = bytes.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // HTTP/d.d SSS reason
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(status_line[5])) ||
      status_line[6] != '.' || !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(status_line[9])) || !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[11])) || (status_line.size() > 12 && status_line[12] != ' '))
    return malformed("bad status line: " + std::string(status_line));
  out = raw_response{};
  out.version = std::string(status_line.substr(0, 8));
  out.status = static_cast<unsigned>(std::stoi(std::string(status_line.substr(9, 3))));
  out.reason = status_line.size() > 13 ? std::string(status_line.substr(13)) : std::string();
  while (line_end != std::string_view::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end == std::string_view::npos ? std::string_view::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return malformed("bad header line: " + std::string(line));
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    out.fields.emplace_back(std::move(name), std::string(value));
  }
  std::size_t length = 0;
  const bool no_body = to_head || out.status / 100 == 1 || out.status == 204 || out.status == 304;
  if (!no_body) {
    if (out.count("content-length") != 1) return malformed("no single Content-Length");
    const std::string text = out.header("content-length");
    if (text.empty() || text.size() > 12 || !std::all_of(text.begin(), text.end(), ::isdigit))
      return malformed("bad Content-Length: " + text);
    length = std::stoul(text);
  }
  const std::size_t body_start = head_end + 4;
  if (bytes.size() < body_start + length) return parse_result::need_more;
  out.body = std::string(bytes.substr(body_start, length));
  consumed = body_start + length;
  return parse_result::complete;
}

}  // namespace storygate::testing
