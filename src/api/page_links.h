#pragma once
// Where the next page of a sync is, for clients that follow links instead of
// computing `start`: the same last_updated and limit, start moved past the
// page just served. Following it continues the same walk, so it resumes by
// keyset like a DailyStory request with that start would.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/list_params.h"

namespace storygate::api {

// "/api/v1/customers?last_updated=...&start=N&limit=L", every value
// percent-encoded (a '+' in an offset becomes %2B, not a space), after
// `path_prefix`: the path a proxy in front serves storygate under
// ("/storygate"), empty when it passes paths on unchanged. A relative
// reference: it resolves against whatever host the client used.
std::string next_page_target(const list_request& request, uint64_t next_start, std::string_view path_prefix = {});

// Whether `prefix` can go before storygate's paths in a link: empty, or
// "/segment" repeated, each segment of letters, digits and - . _ ~ and
// neither "." nor "..", 200 characters at most.
bool is_path_prefix(std::string_view prefix);

// The value of an RFC 8288 Link header pointing at `target` as the next page.
std::string next_link_header(std::string_view target);

}  // namespace storygate::api
