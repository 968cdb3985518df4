#include "http/tls.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

namespace storygate::http {

namespace ssl = boost::asio::ssl;

std::unique_ptr<ssl::context> make_tls_context(const std::string& chain_file, const std::string& key_file) {
  struct stat info {};
  if (stat(key_file.c_str(), &info) != 0) throw tls_error(key_file + ": cannot read the TLS key");
  if (info.st_mode & S_IROTH) throw tls_error(key_file + ": the TLS key is readable by every user; run chmod o-r on it");

  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  // Nothing older than TLS 1.2; no compression (CRIME) and no client-started
  // renegotiation.
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use | SSL_OP_NO_RENEGOTIATION);
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
