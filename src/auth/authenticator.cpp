#include "auth/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <optional>

#include "config/file_permissions.h"

namespace storygate::auth {
namespace {

// The scheme is hashed in, so a Bearer token never matches a Basic pair.
// Every request hashes the credentials it presents: the digest is fetched
// once and each thread keeps its context, rather than OpenSSL looking the
// algorithm up and allocating a context per request.
authenticator::digest digest_of(std::string_view scheme, std::string_view secret) {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct context_owner {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~context_owner() { EVP_MD_CTX_free(context); }
  };
  thread_local context_owner owner;
  authenticator::digest out{};
  EVP_DigestInit_ex2(owner.context, sha256, nullptr);
  EVP_DigestUpdate(owner.context, scheme.data(), scheme.size());
  EVP_DigestUpdate(owner.context, "\0", 1);
  EVP_DigestUpdate(owner.context, secret.data(), secret.size());
  EVP_DigestFinal_ex(owner.context, out.data(), nullptr);
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(length) - padding);
  return out;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

template <typename Each>
void for_each_word(std::string_view text, Each each) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t end = i;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (end > i) each(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace

std::vector<std::string> read_secret_lines(const std::string& path) {
  if (auto problem = config::unsafe_file(path, config::file_kind::secret))
    throw credentials_error(path + ": " + *problem);
  std::ifstream in(path);
  if (!in) throw credentials_error(path + ": cannot read the file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t");
    line.erase(0, first == std::string::npos ? line.size() : first);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    lines.push_back(line);
  }
  if (lines.empty()) throw credentials_error(path + ": holds no credentials");
  return lines;
}

void authenticator::add(std::string_view scheme, std::string_view secret) {
  accepted_.push_back(digest_of(scheme, secret));
}

void authenticator::add_bearer_token(std::string_view token) {
  if (token.empty()) throw credentials_error("an empty bearer token is not a credential");
  add("bearer", token);
}

void authenticator::add_basic(std::string_view pair) {
  const auto colon = pair.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == pair.size())
    throw credentials_error("a Basic credential must be user:password with neither empty");
  add("basic", pair);
}

void authenticator::add_bearer_tokens_from_text(std::string_view text) {
  for_each_word(text, [this](std::string_view word) { add_bearer_token(word); });
}

void authenticator::add_basic_from_text(std::string_view text) {
  for_each_word(text, [this](std::string_view word) { add_basic(word); });
}

void authenticator::add_bearer_token_file(const std::string& path) {
  for (const auto& line : read_secret_lines(path)) add_bearer_token(line);
}

void authenticator::add_basic_file(const std::string& path) {
  for (const auto& line : read_secret_lines(path)) add_basic(line);
}

bool authenticator::matches(std::string_view scheme, std::string_view secret) const {
  const digest presented = digest_of(scheme, secret);
  bool found = false;
  // No early exit: the time taken does not say which credential matched.
  for (const auto& accepted : accepted_)
    found |= CRYPTO_memcmp(accepted.data(), presented.data(), presented.size()) == 0;
  return found;
}

std::optional<presented_credential> read_authorization(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = header.substr(0, space);
  std::string_view credential = header.substr(space + 1);
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  while (!credential.empty() && credential.back() == ' ') credential.remove_suffix(1);
  if (credential.empty()) return std::nullopt;

  if (equals_ignoring_case(scheme, "Bearer")) return presented_credential{"bearer", std::string(credential)};
  if (equals_ignoring_case(scheme, "Basic")) {
    auto decoded = decode_base64(credential);
    if (!decoded || decoded->find(':') == std::string::npos) return std::nullopt;
    return presented_credential{"basic", std::move(*decoded)};
  }
  return std::nullopt;
}

verdict authenticator::check(std::string_view header) const {
  if (!requires_credentials()) return verdict::accepted;
  if (header.empty()) return verdict::missing;
  const auto presented = read_authorization(header);
  if (!presented) return verdict::malformed;
  return matches(presented->scheme, presented->secret) ? verdict::accepted : verdict::rejected;
}

verdict authenticator::check(std::string_view header, remembered_credential& last_accepted) const {
  if (!requires_credentials()) return verdict::accepted;
  if (last_accepted.matches(header)) return verdict::accepted;
  const auto found = check(header);
  if (found == verdict::accepted) last_accepted.remember(header);
  return found;
}

}  // namespace storygate::auth
