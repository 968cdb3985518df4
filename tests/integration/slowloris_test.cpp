// Slowloris: 1,000 connections that each send one byte of a request header
// about every second, never finishing it. storygate gives each request a total
// deadline to arrive (--read-timeout-ms, idle time included), so every such
// connection must be cut off shortly after that deadline, while everyone else
// is still served about as fast as on an idle server.
//
// Prints "FIGURE:" lines: unloaded and loaded latency (p50/p99, keep-alive and
// fresh connections), connections cut, how they were cut, time to cut. The
// latency bound and why an attack may be repeated once are explained in the
// test.
//
// SLOWLORIS_STORYGATE_ARGS="--option value ..." replaces (or adds) storygate
// options, to watch the test fail with the protection weakened, e.g.
//   SLOWLORIS_STORYGATE_ARGS="--read-timeout-ms 60000"
// makes the cut-off assertion fail (the expectations keep the 3 s deadline).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "core_database.h"
#include "harness.h"
#include "test_support.h"

namespace storygate::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr unsigned read_timeout_ms = 3000;   // what storygate is started with
constexpr unsigned cut_margin_ms = 1500;     // scheduling, timer and FIN delivery slack
constexpr int slow_connections = 1000;
constexpr int keepalive_samples = 300;       // sequential requests on keep-alive connections
constexpr int fresh_samples = 300;           // sequential requests, one fresh connection each
const std::string good_target = "/api/v1/customer/244988";

// Nearest-rank percentile of `samples` (0 < p <= 1).
double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

// Enough descriptors for the slow connections in this process (storygate,
// forked from it, inherits the limit and needs as many).
void ensure_descriptors(rlim_t wanted) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    ASSERT_TRUE(limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted)
        << "ulimit -Hn is " << limit.rlim_max << "; this test needs " << wanted << " descriptors";
    limit.rlim_cur = wanted;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0) << std::strerror(errno);
  }
}

std::size_t open_descriptors(int pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

// Sequential GETs, timed from the first byte written to the last byte read.
// keep_alive: one connection reused (a new one when the server closes it);
// otherwise a fresh connection per request, its connect included in the time.
class good_client {
 public:
  explicit good_client(unsigned short port) : port_(port) {}

  double timed_get(const std::string& target, bool keep_alive) {
    const auto start = clock_type::now();
    if (!keep_alive || !stream_) connect();
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : bearer()) req.set(k, v);
    req.keep_alive(keep_alive);
    stream_->expires_after(std::chrono::seconds(10));
    bhttp::write(*stream_, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(*stream_, buffer_, res);
    const double took = ms_between(start, clock_type::now());
    if (res.result_int() != 200) throw std::runtime_error("status " + std::to_string(res.result_int()) + ": " + res.body());
    if (!keep_alive || !res.keep_alive()) stream_.reset();
    return took;
  }

 private:
  void connect() {
    stream_.emplace(io_);
    buffer_.clear();
    stream_->expires_after(std::chrono::seconds(10));
    stream_->connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    stream_->socket().set_option(net::ip::tcp::no_delay(true));
  }

  unsigned short port_;
  net::io_context io_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

struct latency {
  std::vector<double> keepalive, fresh;
  std::string failure;  // the first request that failed, if any
};

// Interleaves keep-alive and fresh-connection requests (so both kinds see the
// same conditions), bounded in count and time.
latency measure(unsigned short port, milliseconds time_limit) {
  latency out;
  good_client keep(port), fresh(port);
  const auto deadline = clock_type::now() + time_limit;
  const int every = keepalive_samples / fresh_samples;
  try {
    for (int i = 0; i < keepalive_samples && clock_type::now() < deadline; ++i) {
      out.keepalive.push_back(keep.timed_get(good_target, true));
      if (i % every == every - 1) out.fresh.push_back(fresh.timed_get(good_target, false));
    }
  } catch (const std::exception& e) {
    out.failure = e.what();
  }
  return out;
}

// The slow clients: one thread, non-blocking sockets, epoll.
struct slow_connection {
  int fd = -1;
  clock_type::time_point connected{}, cut{}, next_byte{};
  std::size_t sent = 0;
  bool open = false, got_reply = false, reset = false;
  std::string received;
};

class slowloris {
 public:
  // Never finishes within the test: 1 byte a second.
  static constexpr std::string_view request =
      "GET /api/v1/customer/244988 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n"
      "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

  slowloris(unsigned short port, int count, milliseconds time_limit)
      : port_(port), connections_(static_cast<std::size_t>(count)), time_limit_(time_limit) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }
  ~slowloris() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : connections_)
      if (c.fd >= 0) close(c.fd);
    close(epoll_);
  }

  void join() { thread_.join(); }
  int connected() const { return connected_.load(); }
  int still_open() const { return open_.load(); }
  bool connect_failed() const { return connect_failed_.load(); }
  const std::string& error() const { return error_; }  // after join()
  const std::vector<slow_connection>& connections() const { return connections_; }  // after join()

 private:
  void run() {
    const auto deadline = clock_type::now() + time_limit_;
    std::size_t next_to_connect = 0;
    auto next_batch = clock_type::now();
    while (!stop_ && clock_type::now() < deadline) {
      // Connect in batches of 50 every 25 ms: all 1,000 within about half a second.
      if (next_to_connect < connections_.size() && clock_type::now() >= next_batch) {
        for (int i = 0; i < 50 && next_to_connect < connections_.size(); ++i)
          if (!open_one(connections_[next_to_connect++])) return;
        next_batch += milliseconds(25);
      }
      epoll_event events[256];
      const int n = epoll_wait(epoll_, events, 256, 10);
      for (int i = 0; i < n; ++i) on_event(connections_[events[i].data.u32], events[i].events);
      const auto now = clock_type::now();
      for (auto& c : connections_)
        if (c.open && now >= c.next_byte) trickle(c, now);
      if (next_to_connect == connections_.size() && open_.load() == 0) return;
    }
  }

  bool open_one(slow_connection& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Blocking connect: on loopback the kernel completes it without storygate
    // accepting yet, in microseconds.
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      return fail(std::string("connect: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    c.connected = clock_type::now();
    c.open = true;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u32 = static_cast<std::uint32_t>(&c - connections_.data());
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &event);
    ++connected_;
    ++open_;
    trickle(c, c.connected);
    return true;
  }

  void trickle(slow_connection& c, clock_type::time_point now) {
    const char byte = request[c.sent % request.size()];
    const ssize_t n = send(c.fd, &byte, 1, MSG_NOSIGNAL);
    if (n == 1) {
      ++c.sent;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return closed(c, errno == ECONNRESET);  // EPIPE: cut before epoll told us
    }
    c.next_byte = now + milliseconds(1000);
  }

  void on_event(slow_connection& c, std::uint32_t events) {
    if (!c.open) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      for (;;) {
        char buffer[4096];
        const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          c.received.append(buffer, static_cast<std::size_t>(n));
          c.got_reply = true;
        } else if (n == 0) {
          return closed(c, false);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return;
        } else if (errno != EINTR) {
          return closed(c, errno == ECONNRESET);
        }
      }
    }
  }

  void closed(slow_connection& c, bool reset) {
    c.cut = clock_type::now();
    c.open = false;
    c.reset = reset;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    --open_;
  }

  bool fail(std::string why) {
    error_ = std::move(why);
    connect_failed_ = true;
    return false;
  }

  unsigned short port_;
  std::vector<slow_connection> connections_;
  milliseconds time_limit_;
  int epoll_ = -1;
  std::atomic<bool> stop_{false}, connect_failed_{false};
  std::atomic<int> connected_{0}, open_{0};
  std::string error_;
  std::thread thread_;
};

// One attack: the slow connections open within ~0.5 s, then trickle. The good
// requests are measured once all of them are connected and have sent their
// first bytes, and are done before the first ones are cut (~3 s); then the
// attack runs until every slow connection is cut (or its time limit).
struct attack_result {
  latency loaded;
  int connected = 0, open_before = 0, open_after = 0;
  std::size_t descriptors = 0;  // storygate's, during the measurement
  std::string error;
  int cut = 0, with_reply = 0, with_408 = 0, resets = 0;
  double max_cut_ms = 0, min_cut_ms = 0;
  std::string non_408;  // a reply other than 408, if any
};

attack_result attack(const server& srv, milliseconds time_limit) {
  attack_result r;
  slowloris slow(srv.port(), slow_connections, time_limit);
  const auto connect_deadline = clock_type::now() + milliseconds(5000);
  while (slow.connected() < slow_connections && !slow.connect_failed() && clock_type::now() < connect_deadline)
    std::this_thread::sleep_for(milliseconds(5));
  r.connected = slow.connected();
  if (r.connected == slow_connections) {
    std::this_thread::sleep_for(milliseconds(200));  // every one has sent a byte; storygate has accepted them
    r.open_before = slow.still_open();
    r.descriptors = open_descriptors(srv.pid());
    r.loaded = measure(srv.port(), milliseconds(1500));
    r.open_after = slow.still_open();
  }
  slow.join();
  r.error = slow.error();
  r.min_cut_ms = 1e9;
  for (const auto& c : slow.connections()) {
    if (c.cut == clock_type::time_point{}) continue;  // still open, or never connected
    ++r.cut;
    r.with_reply += c.got_reply;
    const bool is_408 = c.received.rfind("HTTP/1.1 408", 0) == 0;
    r.with_408 += is_408;
    if (c.got_reply && !is_408 && r.non_408.empty()) r.non_408 = c.received.substr(0, 200);
    r.resets += c.reset;
    r.max_cut_ms = std::max(r.max_cut_ms, ms_between(c.connected, c.cut));
    r.min_cut_ms = std::min(r.min_cut_ms, ms_between(c.connected, c.cut));
  }
  return r;
}

TEST(Slowloris, TricklingConnectionsAreCutAndOthersStayFast) {
  ensure_descriptors(4096);
  if (HasFatalFailure()) return;
  scratch_database db(core_sql());
  server srv(with_overrides("SLOWLORIS_STORYGATE_ARGS",
                            {"serve", "--mapping", core_mapping_path(),
                             "--read-timeout-ms", std::to_string(read_timeout_ms), "--max-connections", "4000"}),
             {{"STORYGATE_DATABASE_URL", db.url_as("storygate_test_reader")},
              {"STORYGATE_BEARER_TOKENS", test_token}});

  // Unloaded: warm up (pool connections, prepared statements), then measure.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http_get(srv.port(), good_target, bearer()).status, 200u);
  const latency before = measure(srv.port(), milliseconds(10000));
  ASSERT_EQ(before.failure, "");
  ASSERT_EQ(before.keepalive.size(), static_cast<std::size_t>(keepalive_samples));
  const std::size_t idle_descriptors = open_descriptors(srv.pid());

  // The latency bound is max(2 x unloaded p99, unloaded p99 + 5 ms): on
  // loopback an unloaded request takes well under a millisecond, where twice
  // the baseline is within the noise of one scheduler tick on a 2-core
  // machine running storygate, PostgreSQL and this test. 5 ms is still far
  // below what a server stalled by 1,000 slow clients would show.
  //
  // A p99 of a few hundred requests is the third-slowest one: one burst of
  // other work on the machine (a compiler next door) moves it by tens of
  // milliseconds, in either phase. So the unloaded p99 is the larger of the
  // ones measured before and after the attack, and an attack whose good
  // requests miss the bound is repeated, up to 3 attacks in all: a server that
  // slows down under slowloris misses it every time. The cut-off is checked on
  // every attack.
  const auto bound = [](double unloaded_p99) { return std::max(2 * unloaded_p99, unloaded_p99 + 5.0); };
  const auto time_limit = milliseconds(read_timeout_ms + cut_margin_ms + 2000);
  attack_result r;
  latency after;
  double idle_keep_p99 = 0, idle_fresh_p99 = 0;
  int attempts = 0;
  bool fast = false;
  constexpr int max_attacks = 3;
  while (attempts < max_attacks && !fast) {
    ++attempts;
    r = attack(srv, time_limit);
    const std::string which = "attack " + std::to_string(attempts) + ": ";

    // Service during the attack.
    ASSERT_EQ(r.connected, slow_connections) << which << "the slow clients could not all connect: " << r.error;
    ASSERT_EQ(r.error, "") << which;
    EXPECT_EQ(r.loaded.failure, "") << which << "a good request failed while the slow clients trickled";
    EXPECT_EQ(r.open_before, slow_connections) << which << "slow connections were cut before the measurement began";
    EXPECT_GE(r.descriptors, idle_descriptors + slow_connections - 10)
        << which << "storygate did not hold the slow connections open (refused them?)";
    EXPECT_GE(r.loaded.keepalive.size(), 200u) << which << "too few good requests completed during the attack";

    // Every slow connection cut within the deadline plus margin, and by the
    // deadline, not before it (a refusal at accept would be instant).
    EXPECT_EQ(r.cut, slow_connections) << which << (slow_connections - r.cut) << " slow connections were still open "
                                       << time_limit.count() << " ms after the attack began";
    if (r.cut > 0) {
      EXPECT_LE(r.max_cut_ms, read_timeout_ms + cut_margin_ms) << which;
      // The client takes its time after connect() returns, storygate starts
      // the deadline at accept: a few milliseconds under 3,000 is the deadline too.
      EXPECT_GE(r.min_cut_ms, read_timeout_ms - 100.0) << which;
    }
    EXPECT_EQ(r.non_408, "") << which << "a slow connection got a reply other than 408";
    if (HasFailure()) break;  // the latency of a failed attack says nothing more

    after = measure(srv.port(), milliseconds(10000));
    ASSERT_EQ(after.failure, "") << "after the attack";
    idle_keep_p99 = std::max(percentile(before.keepalive, 0.99), percentile(after.keepalive, 0.99));
    idle_fresh_p99 = std::max(percentile(before.fresh, 0.99), percentile(after.fresh, 0.99));
    fast = percentile(r.loaded.keepalive, 0.99) <= bound(idle_keep_p99) &&
           percentile(r.loaded.fresh, 0.99) <= bound(idle_fresh_p99);
    if (!fast && attempts < max_attacks)
      std::printf("slowloris: attack %d loaded p99 %.2f ms keep-alive, %.2f ms fresh over the bound "
                  "(%.2f, %.2f ms): once more\n",
                  attempts, percentile(r.loaded.keepalive, 0.99), percentile(r.loaded.fresh, 0.99), bound(idle_keep_p99),
                  bound(idle_fresh_p99));
  }
  if (!HasFailure()) {
    EXPECT_LE(percentile(r.loaded.keepalive, 0.99), bound(idle_keep_p99)) << "keep-alive p99 under slowloris, in every attack";
    EXPECT_LE(percentile(r.loaded.fresh, 0.99), bound(idle_fresh_p99)) << "fresh-connection p99 under slowloris, in every attack";
  }

  figure("slowloris_unloaded_keepalive_p50", percentile(before.keepalive, 0.50), "ms", 2);
  figure("slowloris_unloaded_keepalive_p99", percentile(before.keepalive, 0.99), "ms", 2);
  figure("slowloris_unloaded_fresh_p50", percentile(before.fresh, 0.50), "ms", 2);
  figure("slowloris_unloaded_fresh_p99", percentile(before.fresh, 0.99), "ms", 2);
  if (!after.keepalive.empty()) {
    figure("slowloris_after_keepalive_p99", percentile(after.keepalive, 0.99), "ms", 2);
    figure("slowloris_after_fresh_p99", percentile(after.fresh, 0.99), "ms", 2);
  }
  figure("slowloris_loaded_keepalive_p50", percentile(r.loaded.keepalive, 0.50), "ms", 2);
  figure("slowloris_loaded_keepalive_p99", percentile(r.loaded.keepalive, 0.99), "ms", 2);
  figure("slowloris_loaded_fresh_p50", percentile(r.loaded.fresh, 0.50), "ms", 2);
  figure("slowloris_loaded_fresh_p99", percentile(r.loaded.fresh, 0.99), "ms", 2);
  std::printf("FIGURE: slowloris_attacks=%d; samples: %zu keep-alive + %zu fresh unloaded, %zu + %zu loaded\n",
              attempts, before.keepalive.size(), before.fresh.size(), r.loaded.keepalive.size(), r.loaded.fresh.size());
  std::printf("FIGURE: slowloris_connections_cut=%d of %d (%d closed after a reply, %d of them 408; %d plain "
              "close, %d of them by reset); open during the measurement: %d before, %d after\n",
              r.cut, slow_connections, r.with_reply, r.with_408, r.cut - r.with_reply, r.resets, r.open_before,
              r.open_after);
  if (r.cut > 0) {
    figure("slowloris_time_to_cut_max", r.max_cut_ms, "ms", 2);
    figure("slowloris_time_to_cut_min", r.min_cut_ms, "ms", 2);
  }
  std::printf("FIGURE: slowloris_storygate_descriptors=%zu idle, %zu under attack\n", idle_descriptors, r.descriptors);
  std::fflush(stdout);

  // Still up and serving.
  EXPECT_TRUE(srv.running());
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200u);
  EXPECT_EQ(http_get(srv.port(), good_target, bearer()).status, 200u);
}

}  // namespace
}  // namespace storygate::testing
