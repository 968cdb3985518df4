#pragma once
// One client connection: reads requests one at a time under a total deadline,
// hands each to the router, writes the reply, keeps the connection alive
// until the client closes, a limit is reached or the server shuts down.
// All socket I/O lives here.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "http/replies.h"
#include "http/router.h"

namespace storygate::http {

// What every session shares: the router, the limits, the open-connection count.
struct session_context {
  router& routes;
  const config::settings& settings;
  std::atomic<unsigned> open_sessions{0};
  std::atomic<bool> shutting_down{false};
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(boost::asio::ip::tcp::socket&& socket, session_context& context);
  ~session();

  void run();

 private:
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void on_reply(api::reply reply);
  void send(response res);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void reply_and_close(unsigned status, std::string_view message);
  void do_close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  session_context& context_;
  unsigned served_ = 0;
  // The request being answered, for the response and the access log.
  request request_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<void> response_keepalive_;
};

}  // namespace storygate::http
