#include "http/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>

#include <random>

#include "http/proxy_protocol.h"
#include "http/request_checks.h"
#include "json/record_writer.h"
#include "log/logger.h"

namespace storygate::http {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

// X-Request-Id from the client when it is a sane token, else a fresh one.
std::string request_id_for(std::string_view given) {
  const bool usable = !given.empty() && given.size() <= 128 &&
                      std::all_of(given.begin(), given.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
                      });
  if (usable) return std::string(given);
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(16, '0');
  auto bits = generator();
  for (auto& c : id) {
    c = hex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

}  // namespace

template <class Stream>
session<Stream>::~session() {
  if (in_flight_) --context_.requests_in_flight;
  --context_.open_sessions;
}

template <class Stream>
void session<Stream>::run(std::shared_ptr<void> admission, const net::ip::address& peer, bool proxy_header) {
  admission_ = std::move(admission);
  peer_ = canonical(peer);
  name_client(peer_);
  // Created on the listener's thread: the session runs on its own.
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this(), proxy_header] {
    if (!proxy_header) return self->start();
    // Under the request deadline too, for the whole header: a proxy that
    // never finishes it holds the connection no longer than a client that
    // never finishes its request.
    self->tcp().expires_after(self->context_.settings.read_timeout);
    self->do_read_proxy_header();
  });
}

template <class Stream>
void session<Stream>::do_read_proxy_header() {
  tcp().async_read_some(buffer_.prepare(max_proxy_header_bytes - buffer_.size()),
                        beast::bind_front_handler(&session::on_read_proxy_header, this->shared_from_this()));
}

template <class Stream>
void session<Stream>::on_read_proxy_header(beast::error_code ec, std::size_t bytes) {
  if (ec) return do_close();
  buffer_.commit(bytes);
  const auto data = buffer_.cdata();
  const auto header = parse_proxy_header(std::string_view(static_cast<const char*>(data.data()), data.size()));
  if (header.status == proxy_header::state::incomplete) {
    if (buffer_.size() < max_proxy_header_bytes) return do_read_proxy_header();
  }
  if (header.status != proxy_header::state::complete) {
    // A trusted proxy that does not speak the protocol is misconfigured:
    // serving it would count every client as the proxy.
    log::warn("connection closed: no valid PROXY protocol header from a trusted proxy",
              {{"peer", client_}, {"detail", header.error.empty() ? "header too long" : header.error}});
    return do_close();
  }
  buffer_.consume(header.size);
  if (header.source) {
    peer_ = canonical(*header.source);
    name_client(peer_);
  }
  admission_ = context_.per_address.admit(peer_);
  if (!admission_) return do_close();
  start();
}

template <class Stream>
void session<Stream>::start() {
  if constexpr (std::is_same_v<Stream, tls_stream>) {
    // The handshake shares the request deadline: a client that stalls in
    // it holds the connection no longer than one that stalls in its headers.
    // Bytes read with a PROXY header may already hold the ClientHello.
    tcp().expires_after(context_.settings.read_timeout);
    stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
  } else {
    do_read();
  }
}

template <class Stream>
void session<Stream>::on_handshake(beast::error_code ec, std::size_t used) {
  if (ec) return;  // not TLS, wrong version, timeout: nothing to answer in
  buffer_.consume(used);
  do_read();
}

template <class Stream>
void session<Stream>::do_read() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(context_.settings.max_header_bytes));
  // Bodies are never read (GET and HEAD carry none): the header decides,
  // in on_read_header, whatever its Content-Length.
  parser_->body_limit(boost::none);
  body_unread_ = false;
  // A total deadline for the whole request, not an idle one: a client
  // trickling a byte at a time cannot hold the connection past it.
  tcp().expires_after(context_.settings.read_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&session::on_read_header, this->shared_from_this()));
}

// A body is never read: the request goes on without it, and the connection
// closes after the answer since the unread body leaves it out of step. On
// GET or HEAD the body is the mistake (413, in on_read); on any other method
// the method is, so the router answers 405 with Allow (or 404).
template <class Stream>
void session<Stream>::on_read_header(beast::error_code ec, std::size_t bytes) {
  if (!ec && !parser_->is_done()) body_unread_ = true;
  on_read(ec, bytes);
}

template <class Stream>
void session<Stream>::on_read(beast::error_code ec, std::size_t) {
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset)
    return do_close();
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
    return reply_and_close(431, "The request headers are larger than " +
                                    std::to_string(context_.settings.max_header_bytes) + " bytes");
  if (ec) return reply_and_close(400, "The request is not valid HTTP/1.1");

  request_ = parser_->release();
  if (body_unread_) request_.keep_alive(false);
  started_ = std::chrono::steady_clock::now();
  request_id_ = request_id_for(request_["X-Request-Id"]);
  tcp().expires_never();
  in_flight_ = true;
  ++context_.requests_in_flight;
  // Who the client is: the peer, or whom a trusted proxy names (before the
  // checks, so that the access log names it for refused requests too).
  std::vector<std::string_view> forwarded;
  const std::string_view header_name =
      context_.client_header == forwarded_header::forwarded ? "Forwarded" : "X-Forwarded-For";
  for (auto [it, end] = request_.equal_range(header_name); it != end; ++it)
    forwarded.emplace_back(it->value().data(), it->value().size());
  const auto address = client_address(peer_, forwarded, context_.client_header, context_.proxies);
  name_client(address);
  client_info client{address.is_loopback(), limit_key(address), &credential_};
  bool close_after = false;
  if (auto refused = refuse_request(request_, context_.settings.max_header_bytes, close_after)) {
    if (close_after) request_.keep_alive(false);
    return on_reply(std::move(*refused));
  }
  // Answered through on_reply, so a HEAD gets no body either.
  if (body_unread_ && (request_.method() == bhttp::verb::get || request_.method() == bhttp::verb::head))
    return on_reply(api::error_reply(413, "GET requests must not carry a body"));
  // The answer mostly comes on this session's thread, from the pool's shard
  // there (db/pool.h), and is then written at once; from another thread
  // (a query another shard took over) it is queued to this one.
  context_.routes.handle(request_, client, [self = this->shared_from_this()](api::reply reply) {
    net::dispatch(self->stream_.get_executor(),
                  [self, reply = std::move(reply)]() mutable { self->on_reply(std::move(reply)); });
  });
}

template <class Stream>
void session<Stream>::on_reply(api::reply reply) {
  ++served_;
  const bool keep_alive = request_.keep_alive() && !context_.shutting_down &&
                          served_ < context_.settings.max_requests_per_connection;
  const unsigned status = reply.status;
  const std::size_t records = reply.records;
  reply.headers.emplace_back("X-Request-Id", request_id_);
  auto res = make_response(std::move(reply), request_.version(), keep_alive,
                           request_.method() == bhttp::verb::head);

  const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_);
  const auto target = std::string_view(request_.target().data(), request_.target().size());
  log::access("request", {{"request_id", request_id_},
                          {"client", client_},
                          {"method", std::string_view(request_.method_string())},
                          {"path", target.substr(0, target.find('?'))},
                          {"status", static_cast<int64_t>(status)},
                          {"ms", elapsed.count()},
                          {"records", static_cast<int64_t>(records)}});
  send(std::move(res));
}

template <class Stream>
void session<Stream>::send(wire_response res) {
  outgoing_ = std::move(res);
  tcp().expires_after(context_.settings.read_timeout);
  net::async_write(stream_, outgoing_.buffers(),
                   beast::bind_front_handler(&session::on_write, this->shared_from_this(), outgoing_.close));
}

template <class Stream>
void session<Stream>::on_write(bool close, beast::error_code ec, std::size_t) {
  outgoing_ = {};  // a large page's memory goes now, not with the next reply
  if (in_flight_) {
    in_flight_ = false;
    --context_.requests_in_flight;
  }
  if (ec || close || context_.shutting_down) return do_close();
  do_read();
}

// Errors found while reading: the connection's state is unknown, so answer
// and close rather than read on.
template <class Stream>
void session<Stream>::reply_and_close(unsigned status, std::string_view message) {
  request_ = {};
  request_.version(11);
  request_id_ = request_id_for({});
  started_ = std::chrono::steady_clock::now();
  auto reply = api::error_reply(status, message);
  reply.headers.emplace_back("X-Request-Id", request_id_);
  send(make_response(std::move(reply), 11, false, false));
}

template <class Stream>
void session<Stream>::name_client(const net::ip::address& address) {
  if (address == named_client_ && !client_.empty()) return;
  named_client_ = address;
  client_ = address.to_string();
}

template <class Stream>
void session<Stream>::do_close() {
  if constexpr (std::is_same_v<Stream, tls_stream>) {
    // close_notify, so the client can tell a complete reply from a cut one.
    tcp().expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->tcp().close(); });
  } else {
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
  }
}

template class session<plain_stream>;
template class session<tls_stream>;

}  // namespace storygate::http
