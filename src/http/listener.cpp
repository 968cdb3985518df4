#include "http/listener.h"

#include <boost/asio/strand.hpp>

#include "log/logger.h"

namespace storygate::http {

namespace net = boost::asio;

namespace {
constexpr std::chrono::milliseconds accept_pause{100};
}

listener::listener(io_threads& threads, const net::ip::tcp::endpoint& endpoint, session_context& context,
                   net::ssl::context* tls)
    : threads_(threads),
      acceptor_(net::make_strand(threads.main())),
      pause_timer_(acceptor_.get_executor()),
      context_(context),
      tls_(tls) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::run() { do_accept(); }

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::do_accept() {
  // A session lives on one thread's io_context, so its handlers never run
  // concurrently, without a strand.
  acceptor_.async_accept(threads_.next().get_executor(),
                         boost::beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::beast::error_code ec, accepted_socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: the pending connection stays
    // queued, so accepting again at once fails again at once. Pause, log
    // once per pause, and try again; descriptors free up as sessions end.
    log::warn("accept failed; pausing accepts", {{"detail", ec.message()},
                                                {"pause_ms", static_cast<int64_t>(accept_pause.count())}});
    pause_timer_.expires_after(accept_pause);
    pause_timer_.async_wait([self = shared_from_this()](boost::beast::error_code) { self->do_accept(); });
    return;
  }
  boost::beast::error_code peer_error;
  const auto peer = socket.remote_endpoint(peer_error);
  // A trusted proxy speaking the PROXY protocol names the client first:
  // the session admits the connection under that address.
  const bool proxied = !peer_error && context_.settings.proxy_protocol && context_.proxies.contains(peer.address());
  bool admitted = !peer_error && context_.open_sessions.load() < context_.settings.max_connections;
  std::shared_ptr<void> admission;
  if (admitted && !proxied) {
    admission = context_.per_address.admit(peer.address());
    admitted = admission != nullptr;
  }
  if (!admitted) {
    // Over a limit, or already gone: closed at once, before any byte is read.
    boost::beast::error_code ignored;
    socket.close(ignored);
  } else {
    socket.set_option(net::ip::tcp::no_delay(true), ec);
    if (tls_)
      std::make_shared<session<tls_stream>>(context_, std::move(socket), *tls_)
          ->run(std::move(admission), peer.address(), proxied);
    else
      std::make_shared<session<plain_stream>>(context_, std::move(socket))
          ->run(std::move(admission), peer.address(), proxied);
  }
  do_accept();
}

}  // namespace storygate::http
