#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace storygate::testing {
namespace {

constexpr int poll_ms = 10;

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void close_with_reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

sockaddr_in loopback(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Bytes waiting to go from one socket to the other.
struct direction {
  int from = -1;
  int to = -1;
  std::string pending;
  bool eof = false;       // `from` has no more to send
  bool shut = false;      // `to` was told so (shutdown SHUT_WR)
};

enum class step { ok, closed, reset };

// Reads what `d.from` has (when nothing is pending) and writes what is pending.
step pump(direction& d, short from_events, short to_events, std::atomic<uint64_t>& bytes) {
  if (!d.eof && d.pending.empty() && (from_events & (POLLIN | POLLHUP | POLLERR))) {
    char buffer[16384];
    const ssize_t n = recv(d.from, buffer, sizeof buffer, 0);
    if (n > 0) {
      d.pending.assign(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      d.eof = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return step::reset;
    }
  }
  if (!d.pending.empty() && (to_events & (POLLOUT | POLLERR | POLLHUP))) {
    const ssize_t n = send(d.to, d.pending.data(), d.pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes += static_cast<uint64_t>(n);
      d.pending.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return step::reset;
    }
  }
  if (d.eof && d.pending.empty() && !d.shut) {
    shutdown(d.to, SHUT_WR);
    d.shut = true;
  }
  return d.shut ? step::closed : step::ok;
}

}  // namespace

tcp_proxy::tcp_proxy(unsigned short target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("tcp_proxy: socket failed");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto address = loopback(0);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listen_fd_, 64) != 0) {
    const int error = errno;
    close(listen_fd_);
    throw std::runtime_error(std::string("tcp_proxy: bind/listen failed: ") + std::strerror(error));
  }
  socklen_t length = sizeof address;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

tcp_proxy::~tcp_proxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(links_mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
  close(listen_fd_);
}

void tcp_proxy::freeze() {
  std::unique_lock lock(forwarding_);
  frozen_ = true;
}

void tcp_proxy::thaw() {
  std::unique_lock lock(forwarding_);
  frozen_ = false;
}

bool tcp_proxy::frozen() const {
  std::shared_lock lock(forwarding_);
  return frozen_;
}

void tcp_proxy::drop_all() {
  std::unique_lock lock(links_mutex_);
  const uint64_t now = ++epoch_;
  links_changed_.wait(lock, [&] {
    return open_by_epoch_.empty() || open_by_epoch_.begin()->first >= now;
  });
}

std::size_t tcp_proxy::open_connections() const {
  std::lock_guard lock(links_mutex_);
  return open_;
}

std::size_t tcp_proxy::accepted_connections() const { return accepted_.load(); }

uint64_t tcp_proxy::bytes_forwarded() const { return bytes_.load(); }

void tcp_proxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(links_mutex_);
    const uint64_t epoch = epoch_.load();
    ++open_;
    ++open_by_epoch_[epoch];
    threads_.emplace_back([this, fd, epoch] { serve(fd, epoch); });
  }
}

void tcp_proxy::serve(int client_fd, uint64_t epoch) {
  const int one = 1;
  setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int server_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto target = loopback(target_port_);
  bool connected = server_fd >= 0 &&
                   connect(server_fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0;
  bool reset = !connected;
  if (connected) {
    setsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblocking(client_fd);
    set_nonblocking(server_fd);
    direction up;
    up.from = client_fd;
    up.to = server_fd;
    direction down;
    down.from = server_fd;
    down.to = client_fd;
    for (;;) {
      if (stopping_ || epoch_.load() != epoch) {
        reset = true;
        break;
      }
      {
        std::shared_lock lock(forwarding_);
        if (frozen_) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
          continue;
        }
      }
      pollfd fds[2] = {
          {client_fd, static_cast<short>((!up.eof && up.pending.empty() ? POLLIN : 0) |
                                         (!down.pending.empty() ? POLLOUT : 0)), 0},
          {server_fd, static_cast<short>((!down.eof && down.pending.empty() ? POLLIN : 0) |
                                         (!up.pending.empty() ? POLLOUT : 0)), 0}};
      const int ready = poll(fds, 2, poll_ms);
      if (ready <= 0) continue;
      std::shared_lock lock(forwarding_);
      if (frozen_) continue;  // frozen between poll and here: move nothing
      const step a = pump(up, fds[0].revents, fds[1].revents, bytes_);
      const step b = pump(down, fds[1].revents, fds[0].revents, bytes_);
      if (a == step::reset || b == step::reset) {
        reset = true;
        break;
      }
      if (a == step::closed && b == step::closed) break;
    }
  }
  if (reset) {
    close_with_reset(client_fd);
    if (server_fd >= 0) close_with_reset(server_fd);
  } else {
    close(client_fd);
    close(server_fd);
  }
  std::lock_guard lock(links_mutex_);
  --open_;
  if (--open_by_epoch_[epoch] == 0) open_by_epoch_.erase(epoch);
  links_changed_.notify_all();
}

}  // namespace storygate::testing
