#pragma once
// The last Authorization header a connection presented and had accepted.
//
// A keep-alive client sends the same header with every request. Remembering
// the one accepted spares hashing it again on each of them (5% of a
// single-record request's instructions). The accepted credentials are fixed
// for the life of the process, so a header once accepted stays accepted.
// Anything else is checked afresh.
//
// One per connection; not thread-safe.
#include <string>
#include <string_view>

namespace storygate::auth {

class remembered_credential {
 public:
  remembered_credential() = default;
  ~remembered_credential();  // wipes the header from memory
  remembered_credential(const remembered_credential&) = delete;
  remembered_credential& operator=(const remembered_credential&) = delete;

  // True when `header` is the one remembered. In constant time for headers
  // of the same length: a proxy may carry several clients on one connection.
  bool matches(std::string_view header) const;
  void remember(std::string_view header);

 private:
  void wipe();
  std::string header_;
};

}  // namespace storygate::auth
