#pragma once
// Header-level rules a request must meet before routing, beyond what Beast's
// parser enforces: the framing and Host rules of RFC 9112 that keep requests
// from being smuggled past a proxy, and our own size limit counted on the
// whole header.
#include <optional>

#include "api/reply.h"
#include "http/replies.h"

namespace storygate::http {

// The error reply for a request that breaks a rule, or nullopt.
// `close_after` is set when the connection must not be reused.
std::optional<api::reply> refuse_request(const request& req, std::size_t max_header_bytes,
                                         bool& close_after);

}  // namespace storygate::http
