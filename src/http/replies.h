#pragma once
// Turns the API's replies into the bytes of HTTP/1.x responses, with the
// headers every response carries.
//
// Written here rather than by Beast's serializer: for a single-record reply
// of 500 bytes, Beast's walk over a chain of buffers per header and its tree
// of fields took more CPU than writing the record's JSON (README, "Request
// path"). A response head is a status line and a few headers we choose
// ourselves; requests are still parsed by Beast, and the tests read every
// response back with Beast's parser.
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "api/reply.h"

namespace storygate::http {

namespace bhttp = boost::beast::http;
using request = bhttp::request<bhttp::empty_body>;

struct wire_response {
  std::string head;    // the status line and the headers, up to the blank line
  std::string body;    // empty for HEAD
  bool close = false;  // the connection closes once it is sent

  // Head and body in one send, the body not copied.
  std::array<boost::asio::const_buffer, 2> buffers() const {
    return {boost::asio::buffer(head), boost::asio::buffer(body)};
  }
};

// HEAD gets the headers GET would, Content-Length included, and no body.
// A reply header replaces a default of the same name (Content-Type), and a
// later one an earlier. CR, LF and NUL in a value become spaces: no value
// can start a header of its own.
wire_response make_response(api::reply reply, unsigned version, bool keep_alive, bool head);

}  // namespace storygate::http
