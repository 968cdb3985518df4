#pragma once
// Which text goes into a JSON string as it is. Most keys and values of a
// customer record do, and copying them whole instead of putting them through
// an escaper a character at a time is most of what writing a record costs.
#include <string_view>

namespace storygate::json {

// True when every byte of `text` is printable ASCII other than the quotation
// mark and the backslash (RFC 8259 section 7: nothing to escape).
bool is_plain_text(std::string_view text);

}  // namespace storygate::json
