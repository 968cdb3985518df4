#pragma once
// A small TCP proxy on 127.0.0.1 for fault tests: listens on a free port and
// forwards every connection to 127.0.0.1:target. It can be frozen (no byte
// moves in either direction, every socket stays open: the peers see a
// connection that is alive at the TCP level but never answers), thawed, and
// told to drop every connection (closed with a reset on both sides).
//
// One thread accepts; each connection has a thread of its own. Thread-safe.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace storygate::testing {

class tcp_proxy {
 public:
  explicit tcp_proxy(unsigned short target_port);
  ~tcp_proxy();  // drops every connection, stops the threads
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  unsigned short port() const { return port_; }

  // When freeze() returns, no further byte is forwarded until thaw(). New
  // connections are still accepted (the kernel would complete the handshake
  // anyway) but get nothing forwarded either.
  void freeze();
  void thaw();
  bool frozen() const;

  // Closes every open connection with a reset, both towards the client and
  // towards the target; returns once they are all closed. Later connections
  // are served as usual (or stay frozen, if frozen).
  void drop_all();

  std::size_t open_connections() const;
  std::size_t accepted_connections() const;  // since construction
  uint64_t bytes_forwarded() const;

 private:
  struct link;
  void accept_loop();
  void serve(int client_fd, uint64_t epoch);

  const unsigned short target_port_;
  unsigned short port_ = 0;
  int listen_fd_ = -1;

  // Held shared while bytes are moved, exclusively to freeze: once freeze()
  // holds it, no forwarding step is half done.
  mutable std::shared_mutex forwarding_;
  bool frozen_ = false;  // guarded by forwarding_

  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> epoch_{0};  // drop_all() bumps it; links of older epochs close
  std::atomic<uint64_t> bytes_{0};
  std::atomic<std::size_t> accepted_{0};

  mutable std::mutex links_mutex_;
  std::condition_variable links_changed_;
  std::size_t open_ = 0;
  std::map<uint64_t, std::size_t> open_by_epoch_;  // open links by the epoch they began in
  std::vector<std::thread> threads_;  // guarded by links_mutex_
  std::thread acceptor_;
};

}  // namespace storygate::testing
