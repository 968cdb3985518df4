#pragma once
// TLS for the listener (OpenSSL through Boost.Asio): a certificate chain and
// key in PEM files, Mozilla's "intermediate" profile (TLS 1.2 with ECDHE and
// AEAD ciphers, and TLS 1.3), in the server's order.
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace storygate::http {

class tls_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws tls_error naming the file when a file is unreadable, the key is
// readable or writable by every user, or the key does not match the certificate.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& certificate_chain_file,
                                                           const std::string& private_key_file);

}  // namespace storygate::http
