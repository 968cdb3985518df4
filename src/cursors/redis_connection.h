#pragma once
// One connection to Redis, over plain TCP or TLS (OpenSSL), on which every
// call returns by a deadline. hiredis encodes the commands and decodes the
// replies (redisFormatCommandArgv, redisReader); the socket is ours, because
// Debian 12's hiredis (0.14) has no TLS and its blocking API has no deadline
// for a whole exchange.
//
// Not thread-safe: one user at a time (the cursor store's thread). The
// caller's thread must block SIGPIPE: a peer that closed makes writes fail
// with EPIPE instead of killing the process.
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cursors/store_url.h"

struct redisReader;
struct redisReply;

namespace storygate::cursors {

using store_deadline = std::chrono::steady_clock::time_point;

// What went wrong with an exchange; the connection is unusable after either.
enum class exchange_failure { none, timeout, broken };

class redis_connection {
 public:
  // Connects (and, with `tls`, handshakes: the certificate must name the
  // host) by `deadline`. Null on failure, with `why` set.
  static std::unique_ptr<redis_connection> open(const store_target& target, SSL_CTX* tls,
                                                store_deadline deadline, exchange_failure& why);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Buffers a command; flush() sends what is buffered.
  void append(const std::vector<std::string>& command);
  exchange_failure flush(store_deadline deadline);
  // The next reply (the caller frees it with freeReplyObject), or the failure.
  exchange_failure read_reply(store_deadline deadline, redisReply*& reply);

 private:
  redis_connection(int fd, SSL* ssl);
  // Waits until the socket is ready for `events` (POLLIN, POLLOUT) or the deadline.
  bool wait(short events, store_deadline deadline) const;

  int fd_;
  SSL* ssl_;
  redisReader* reader_;
  std::string out_;
};

// A client TLS context that verifies the server against `ca_file` (PEM), or
// the system's CA certificates when it is empty. Throws store_url_error when
// the file cannot be loaded.
std::shared_ptr<SSL_CTX> make_store_tls_context(const std::string& ca_file);

}  // namespace storygate::cursors
