#pragma once
// Turns the API's replies into HTTP responses with the headers every
// response carries.
#include <boost/beast/http.hpp>

#include "api/reply.h"

namespace storygate::http {

namespace bhttp = boost::beast::http;
using request = bhttp::request<bhttp::empty_body>;
using response = bhttp::response<bhttp::string_body>;

// HEAD gets the headers GET would, Content-Length included, and no body.
response make_response(api::reply reply, unsigned version, bool keep_alive, bool head);

}  // namespace storygate::http
