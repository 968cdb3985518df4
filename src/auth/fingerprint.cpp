#include "auth/fingerprint.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "auth/authenticator.h"
#include "config/file_permissions.h"

namespace storygate::auth {
namespace {

std::string random_key() {
  std::string key(min_client_key_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("OpenSSL could not generate a random client key");
  return key;
}

std::string& key_storage() {
  static std::string key = random_key();
  return key;
}

}  // namespace

void set_client_key(std::string key) {
  if (key.size() < min_client_key_bytes)
    throw credentials_error("the client key must be at least " + std::to_string(min_client_key_bytes) +
                            " bytes long (e.g. openssl rand -hex 32)");
  key_storage() = std::move(key);
}

std::string read_client_key_file(const std::string& path) {
  if (auto problem = config::unsafe_file(path, config::file_kind::secret))
    throw credentials_error(path + ": " + *problem);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw credentials_error(path + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  return key;
}

std::string client_fingerprint(std::string_view header) {
  // Unreadable headers (only possible with --no-auth) are named by their bytes.
  const auto presented = read_authorization(header);
  std::string message = presented ? presented->scheme : "raw";
  message += '\0';
  message += presented ? std::string_view(presented->secret) : header;

  const std::string& key = key_storage();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &length);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0xf];
  }
  return out;
}

}  // namespace storygate::auth
