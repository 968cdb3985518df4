#include "auth/remembered_credential.h"

#include <openssl/crypto.h>

namespace storygate::auth {

remembered_credential::~remembered_credential() { wipe(); }

bool remembered_credential::matches(std::string_view header) const {
  return !header_.empty() && header.size() == header_.size() &&
         CRYPTO_memcmp(header.data(), header_.data(), header.size()) == 0;
}

void remembered_credential::remember(std::string_view header) {
  wipe();
  header_.assign(header);
}

void remembered_credential::wipe() {
  if (!header_.empty()) OPENSSL_cleanse(header_.data(), header_.size());
  header_.clear();
}

}  // namespace storygate::auth
