// http/replies: every response written reads back through Beast's own HTTP
// parser as the message Beast itself would have made of the same reply, on
// generated statuses, headers, bodies, versions and keep-alive choices.
#include "http/replies.h"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <map>
#include <random>

namespace storygate::http {
namespace {

using parsed = bhttp::response<bhttp::string_body>;

// What a client reads: the bytes through Beast's response parser.
parsed read_back(const wire_response &wire, bool head) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head);  // a HEAD response has a length but no body
  parser.eager(true);
  boost::beast::error_code ec;
  const std::string bytes = wire.head + wire.body;
  const auto used = parser.put(boost::asio::buffer(bytes), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  EXPECT_FALSE(ec) << ec.message() << "\n" << wire.head;
  EXPECT_TRUE(parser.is_done()) << wire.head;
  EXPECT_EQ(used, bytes.size()) << "bytes after the message:\n" << bytes;
  return parser.release();
}

// The oracle: the message as Beast builds it from the same reply.
parsed as_beast_builds_it(const api::reply &reply, unsigned version, bool keep_alive, bool head) {
  parsed res{static_cast<bhttp::status>(reply.status), version};
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (const auto &[name, value] : reply.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.content_length(reply.body.size());
  if (!head) res.body() = reply.body;
  return res;
}

std::multimap<std::string, std::string> fields_of(const parsed &message) {
  std::multimap<std::string, std::string> out;
  for (const auto &f : message) {
    std::string name(f.name_string());
    for (auto &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace(std::move(name), std::string(f.value()));
  }
  return out;
}

TEST(Replies, ASingleRecordReplyCarriesTheDefaultHeadersAndItsLength) {
  api::reply reply{200, R"({"id":1})", {{"Vary", "Accept-Encoding"}, {"X-Request-Id", "abc"}}, 1};
  const auto wire = make_response(reply, 11, true, false);
  EXPECT_EQ(wire.head,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Cache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Vary: Accept-Encoding\r\n"
            "X-Request-Id: abc\r\n"
            "Content-Length: 8\r\n\r\n");
  EXPECT_EQ(wire.body, R"({"id":1})");
  EXPECT_FALSE(wire.close);
}

TEST(Replies, AReplysContentTypeReplacesTheDefault) {
  api::reply reply{200, "# metrics\n", {{"content-type", "text/plain; version=0.0.4"}}, 0};
  const auto message = read_back(make_response(reply, 11, true, false), false);
  EXPECT_EQ(message[bhttp::field::content_type], "text/plain; version=0.0.4");
  EXPECT_EQ(message.count(bhttp::field::content_type), 1u);
}

TEST(Replies, HeadGetsTheLengthOfTheBodyButNoBody) {
  api::reply reply{404, R"({"error":"No customer found for id 7"})", {}, 0};
  const auto wire = make_response(reply, 11, true, true);
  EXPECT_TRUE(wire.body.empty());
  const auto message = read_back(wire, true);
  EXPECT_EQ(message[bhttp::field::content_length], std::to_string(reply.body.size()));
}

TEST(Replies, KeepAliveIsSaidTheWayEachVersionNeeds) {
  for (unsigned version : {10u, 11u}) {
    for (bool keep_alive : {false, true}) {
      const auto wire = make_response(api::error_reply(503, "busy"), version, keep_alive, false);
      EXPECT_EQ(wire.close, !keep_alive);
      const auto message = read_back(wire, false);
      EXPECT_EQ(message.version(), version);
      EXPECT_EQ(message.keep_alive(), keep_alive) << "HTTP/" << version / 10 << "." << version % 10;
    }
  }
}

TEST(Replies, ALineBreakInAValueCannotStartAHeaderOfItsOwn) {
  api::reply reply{302, "", {{"Link", "<x>\r\nSet-Cookie: stolen=1"}, {"X-Request-Id", "a\nb\0c"}}, 0};
  const auto message = read_back(make_response(reply, 11, true, false), false);
  EXPECT_EQ(message.count(bhttp::field::set_cookie), 0u);
  EXPECT_EQ(message["Link"], "<x>  Set-Cookie: stolen=1");
}

TEST(Replies, EveryGeneratedReplyReadsBackAsBeastWouldHaveWrittenIt) {
  const unsigned seed = 20261207;
  std::mt19937 random(seed);
  // No 1xx, 204 or 304: those carry no body, and storygate sends none of them.
  const unsigned statuses[] = {200, 301, 400, 401, 404, 405, 413, 429, 431, 500, 503, 504, 599};
  const char *names[] = {"Vary",  "X-Request-Id",     "Content-Encoding", "Link",          "Retry-After",
                         "Allow", "WWW-Authenticate", "Content-Type",     "cache-control", "X-Custom"};
  auto pick = [&random](auto &from) { return from[random() % std::size(from)]; };
  for (int n = 0; n < 500; ++n) {
    SCOPED_TRACE("seed " + std::to_string(seed) + ", case " + std::to_string(n));
    api::reply reply;
    reply.status = pick(statuses);
    for (auto h = random() % 5; h > 0; --h) {
      std::string value(random() % 40, ' ');
      // Visible ASCII inside; Beast's parser drops spaces at either end.
      for (auto &c : value) c = static_cast<char>('!' + random() % 94);
      reply.headers.emplace_back(pick(names), value);
    }
    reply.body.resize(random() % 3 == 0 ? 0 : random() % 5000);
    for (auto &c : reply.body) c = static_cast<char>(random());
    const unsigned version = random() % 4 == 0 ? 10 : 11;
    const bool keep_alive = random() % 2, head = random() % 5 == 0;

    const auto message = read_back(make_response(reply, version, keep_alive, head), head);
    const auto expected = as_beast_builds_it(reply, version, keep_alive, head);
    EXPECT_EQ(message.result_int(), expected.result_int());
    EXPECT_EQ(message.reason(), expected.reason());
    EXPECT_EQ(message.version(), expected.version());
    EXPECT_EQ(message.keep_alive(), expected.keep_alive());
    EXPECT_EQ(fields_of(message), fields_of(expected));
    EXPECT_EQ(message.body(), head ? "" : reply.body);
  }
}

}  // namespace
}  // namespace storygate::http
