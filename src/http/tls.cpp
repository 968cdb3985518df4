#include "http/tls.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include "config/file_permissions.h"

namespace storygate::http {

namespace ssl = boost::asio::ssl;

namespace {
// Mozilla's intermediate configuration (version 5.7), without its DHE suites:
// ECDHE only.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* key_exchange_groups = "X25519:prime256v1:secp384r1";
}  // namespace

std::unique_ptr<ssl::context> make_tls_context(const std::string& chain_file, const std::string& key_file) {
  if (access(key_file.c_str(), R_OK) != 0) throw tls_error(key_file + ": cannot read the TLS key");
  if (auto problem = config::unsafe_file(key_file, config::file_kind::secret))
    throw tls_error(key_file + ": the TLS key is " + *problem);

  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  // Mozilla's "intermediate" profile: nothing older than TLS 1.2; for TLS 1.2
  // only ECDHE key exchange (forward secrecy; no static RSA) with AEAD
  // ciphers (no CBC, no SHA-1 MACs); the TLS 1.3 suites; the server's order
  // wins. No compression (CRIME) and no client-started renegotiation.
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 || SSL_CTX_set_ciphersuites(native, tls13_suites) != 1 ||
      SSL_CTX_set1_groups_list(native, key_exchange_groups) != 1)
    throw tls_error("OpenSSL does not support the intermediate TLS profile's ciphers");
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  try {
    context->use_certificate_chain_file(chain_file);
  } catch (const boost::system::system_error& e) {
    throw tls_error(chain_file + ": not a usable PEM certificate chain (" + e.code().message() + ")");
  }
  try {
    context->use_private_key_file(key_file, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    throw tls_error(key_file + ": not a usable PEM private key, or not the certificate's (" + e.code().message() + ")");
  }
  return context;
}

}  // namespace storygate::http
