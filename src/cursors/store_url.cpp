#include "cursors/store_url.h"

#include <boost/url/parse.hpp>

#include <sys/stat.h>

#include <charconv>
#include <fstream>

namespace storygate::cursors {

store_target parse_store_url(const std::string& url) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) throw store_url_error("--cursor-store is not a URL; expected redis://host:port");
  const auto& u = *parsed;
  if (u.scheme() != "redis" && u.scheme() != "rediss")
    throw store_url_error("--cursor-store must be a redis:// or rediss:// (TLS) URL");
  if (!u.has_authority() || u.encoded_host().empty())
    throw store_url_error("--cursor-store names no host; expected redis://host:port");
  if (u.has_query() || u.has_fragment())
    throw store_url_error("--cursor-store takes no query or fragment");
  store_target target;
  target.tls = u.scheme() == "rediss";
  target.host = u.host_address();
  if (u.has_port()) {
    if (u.port_number() == 0) throw store_url_error("--cursor-store has a bad port");
    target.port = u.port_number();
  }
  if (u.has_userinfo()) {
    target.user = u.user();
    target.password = u.password();
    // redis://password@host is how many Redis clients take a bare password.
    if (!u.has_password()) std::swap(target.user, target.password);
  }
  const auto path = u.encoded_path();
  if (!path.empty() && path != "/") {
    const std::string_view digits = path.substr(1);
    unsigned database = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), database);
    if (error != std::errc() || end != digits.data() + digits.size())
      throw store_url_error("--cursor-store: the path must be a database number, as in redis://host:6379/0");
    target.database = database;
  }
  return target;
}

std::string read_store_password(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) throw store_url_error(path + ": cannot read the cursor store password file");
  if (info.st_mode & S_IROTH) throw store_url_error(path + ": readable by every user; run chmod o-r on it");
  std::ifstream in(path);
  std::string password;
  if (!in || !std::getline(in, password)) throw store_url_error(path + ": cannot read the cursor store password");
  while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) password.pop_back();
  if (password.empty()) throw store_url_error(path + ": the cursor store password file is empty");
  return password;
}

}  // namespace storygate::cursors
