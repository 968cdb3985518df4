#pragma once
// gzip for large JSON bodies (zlib), when the client says it accepts it: a
// list page of 1000 records shrinks several times over.
#include <optional>
#include <string>
#include <string_view>

namespace storygate::http {

// Whether an Accept-Encoding value allows gzip (a q of 0 refuses it).
bool accepts_gzip(std::string_view accept_encoding);

// `body` gzip-compressed, or nullopt when zlib fails.
std::optional<std::string> gzip(std::string_view body);

}  // namespace storygate::http
