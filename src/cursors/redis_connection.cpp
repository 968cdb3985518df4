#include "cursors/redis_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace storygate::cursors {
namespace {

int millis_until(store_deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

bool is_ip_address(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// A non-blocking socket connected to one of the host's addresses, or -1.
int connect_tcp(const store_target& target, store_deadline deadline, exchange_failure& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  why = exchange_failure::broken;
  if (getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found) != 0) return -1;
  int connected = -1;
  for (auto* a = found; a && connected < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {  // refused at once (nothing listens on loopback, say)
        close(fd);
        continue;
      }
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, millis_until(deadline)) == 0) why = exchange_failure::timeout;
      int error = 0;
      socklen_t length = sizeof error;
      if (p.revents == 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
        close(fd);
        continue;
      }
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connected = fd;
  }
  freeaddrinfo(found);
  if (connected >= 0) why = exchange_failure::none;
  return connected;
}

}  // namespace

std::shared_ptr<SSL_CTX> make_store_tls_context(const std::string& ca_file) {
  std::shared_ptr<SSL_CTX> context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!context) throw store_url_error("cannot create a TLS context for the cursor store");
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  const bool loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(context.get()) == 1
                                      : SSL_CTX_load_verify_locations(context.get(), ca_file.c_str(), nullptr) == 1;
  if (!loaded) throw store_url_error(ca_file + ": cannot load the cursor store's CA certificates");
  return context;
}

std::unique_ptr<redis_connection> redis_connection::open(const store_target& target, SSL_CTX* tls,
                                                         store_deadline deadline, exchange_failure& why) {
  const int fd = connect_tcp(target, deadline, why);
  if (fd < 0) return nullptr;
  SSL* ssl = nullptr;
  if (tls) {
    ssl = SSL_new(tls);
    SSL_set_fd(ssl, fd);
    // The certificate must name the host we asked for (or its IP address).
    if (is_ip_address(target.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, target.host.c_str());
      SSL_set1_host(ssl, target.host.c_str());
    }
  }
  std::unique_ptr<redis_connection> connection(new redis_connection(fd, ssl));
  if (ssl) {
    for (;;) {
      const int done = SSL_connect(ssl);
      if (done == 1) break;
      const int error = SSL_get_error(ssl, done);
      const short events = error == SSL_ERROR_WANT_READ ? POLLIN : error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (events == 0) return why = exchange_failure::broken, nullptr;
      if (!connection->wait(events, deadline)) return why = exchange_failure::timeout, nullptr;
    }
  }
  why = exchange_failure::none;
  return connection;
}

redis_connection::redis_connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl), reader_(redisReaderCreate()) {}

redis_connection::~redis_connection() {
  if (ssl_) SSL_free(ssl_);
  close(fd_);
  redisReaderFree(reader_);
}

bool redis_connection::wait(short events, store_deadline deadline) const {
  pollfd p{fd_, events, 0};
  for (;;) {
    const int ready = poll(&p, 1, millis_until(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

void redis_connection::append(const std::vector<std::string>& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& part : command) {
    argv.push_back(part.data());
    lengths.push_back(part.size());
  }
  char* encoded = nullptr;
  const int length = redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (length > 0) out_.append(encoded, static_cast<std::size_t>(length));
  redisFreeCommand(encoded);
}

exchange_failure redis_connection::flush(store_deadline deadline) {
  std::size_t sent = 0;
  while (sent < out_.size()) {
    const auto left = out_.size() - sent;
    short wanted = POLLOUT;
    if (ssl_) {
      const int n = SSL_write(ssl_, out_.data() + sent, static_cast<int>(left));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_WANT_READ) wanted = POLLIN;
      else if (error != SSL_ERROR_WANT_WRITE) return exchange_failure::broken;
    } else {
      const ssize_t n = send(fd_, out_.data() + sent, left, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return exchange_failure::broken;
    }
    if (!wait(wanted, deadline)) return exchange_failure::timeout;
  }
  out_.clear();
  return exchange_failure::none;
}

exchange_failure redis_connection::read_reply(store_deadline deadline, redisReply*& reply) {
  char buffer[16384];
  for (;;) {
    void* parsed = nullptr;
    if (redisReaderGetReply(reader_, &parsed) != REDIS_OK) return exchange_failure::broken;  // not RESP
    if (parsed) {
      reply = static_cast<redisReply*>(parsed);
      return exchange_failure::none;
    }
    short wanted = POLLIN;
    if (ssl_) {
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n > 0) {
        redisReaderFeed(reader_, buffer, static_cast<std::size_t>(n));
        continue;
      }
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_WANT_WRITE) wanted = POLLOUT;
      else if (error != SSL_ERROR_WANT_READ) return exchange_failure::broken;
    } else {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        redisReaderFeed(reader_, buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return exchange_failure::broken;
    }
    if (!wait(wanted, deadline)) return exchange_failure::timeout;
  }
}

}  // namespace storygate::cursors
