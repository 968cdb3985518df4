#pragma once
// One client connection, plain TCP or TLS: reads requests one at a time under
// a total deadline, hands each to the router, writes the reply, keeps the
// connection alive until the client closes, a limit is reached or the server
// shuts down. All socket I/O lives here.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "http/address_limit.h"
#include "http/client_address.h"
#include "http/replies.h"
#include "http/router.h"

namespace storygate::http {

// What every session shares: the router, the limits, the counts a graceful
// shutdown waits on.
struct session_context {
  router& routes;
  const config::settings& settings;
  address_limit per_address{settings.max_connections_per_address};
  const trusted_proxies proxies{settings.trusted_proxies};
  const forwarded_header client_header = settings.client_address_header == "forwarded"
                                             ? forwarded_header::forwarded
                                             : forwarded_header::x_forwarded_for;
  std::atomic<unsigned> open_sessions{0};
  std::atomic<unsigned> requests_in_flight{0};  // read, not yet fully answered
  std::atomic<bool> shutting_down{false};
};

// On one io_context's executor, named rather than type-erased: every handler
// of every request goes through it, and any_io_executor's copies and
// indirect calls were a few percent of a request.
using accepted_socket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using plain_stream = boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using tls_stream = boost::beast::ssl_stream<plain_stream>;

template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
 public:
  // `stream_args` build the Stream: a socket, and for TLS the ssl::context.
  template <class... StreamArgs>
  explicit session(session_context& context, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...),
        // Room for one request's headers (and a little pipelined data): a
        // larger header cannot grow the buffer past it.
        buffer_(context.settings.max_header_bytes + 4096),
        context_(context) {
    ++context_.open_sessions;
  }
  ~session();

  // `admission` (from address_limit::admit) is held for as long as the
  // connection is open. With `proxy_header` the peer is a trusted proxy
  // that sends a PROXY protocol header first: the session reads it, takes
  // the client address from it and only then asks for admission (so
  // `admission` is null).
  void run(std::shared_ptr<void> admission, const boost::asio::ip::address& peer, bool proxy_header);

 private:
  void do_read_proxy_header();
  void on_read_proxy_header(boost::beast::error_code ec, std::size_t bytes);
  void start();  // TLS handshake or the first request, once the client is known
  void on_handshake(boost::beast::error_code ec, std::size_t used);
  void do_read();
  void on_read_header(boost::beast::error_code ec, std::size_t bytes);
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_reply(api::reply reply);
  void send(wire_response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void reply_and_close(unsigned status, std::string_view message);
  void do_close();
  // Sets client_: rendered again only when the address changes, since a
  // keep-alive connection's client is the same one request after request.
  void name_client(const boost::asio::ip::address& address);
  plain_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }

  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  session_context& context_;
  unsigned served_ = 0;
  bool in_flight_ = false;
  bool body_unread_ = false;  // the request announced a body that is not read: close after the answer
  // The request being answered, for the response and the access log.
  request request_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  wire_response outgoing_;  // kept until written
  std::shared_ptr<void> admission_;
  // The connection's client: the peer, or whom its PROXY header names.
  boost::asio::ip::address peer_;
  std::string client_;  // the request's client address (X-Forwarded-For applied), for the log
  boost::asio::ip::address named_client_;  // the address client_ renders
  auth::remembered_credential credential_;  // the Authorization header last accepted here
};

}  // namespace storygate::http
