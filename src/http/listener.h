#pragma once
// Accepts connections and starts a session for each, up to the configured
// number of open connections; past it a new connection is closed at once.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "http/io_threads.h"
#include "http/session.h"

namespace storygate::http {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; throws boost::system::system_error when it cannot
  // (address in use, bad address, no permission).
  // `tls` null: plain HTTP. Accepts on threads.main(); each connection goes
  // to the next of `threads` in turn, and stays there.
  listener(io_threads& threads, const boost::asio::ip::tcp::endpoint& endpoint, session_context& context,
           boost::asio::ssl::context* tls);

  void run();
  void stop();  // stops accepting; open sessions finish on their own
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, accepted_socket socket);

  io_threads& threads_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_timer_;  // after a failed accept (no descriptors left)
  session_context& context_;
  boost::asio::ssl::context* tls_;
};

}  // namespace storygate::http
