#include "db/conninfo.h"

#include <libpq-fe.h>

#include <map>
#include <memory>
#include <vector>

namespace storygate::db {
namespace {

using options_ptr = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// Explicitly set options only: libpq's defaults (from PG* variables) are left
// for libpq to apply itself at connect time.
std::map<std::string, std::string> parse(const std::string& url) {
  char* error = nullptr;
  options_ptr options(PQconninfoParse(url.c_str(), &error), &PQconninfoFree);
  if (!options) {
    // libpq's message quotes the offending part of the URL, which may be the
    // password: say what to look at instead.
    PQfreemem(error);
    throw conninfo_error(
        "the database URL is not valid: expected postgresql://user:password@host:port/dbname "
        "(percent-encode special characters in the user and password; put IPv6 hosts in [])");
  }
  std::map<std::string, std::string> set;
  for (auto* o = options.get(); o->keyword; ++o)
    if (o->val && *o->val) set[o->keyword] = o->val;
  return set;
}

std::string quote_value(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// "a,b" -> {"a", "b"}; "" -> {""}.
std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::size_t from = 0;
  for (auto comma = list.find(','); comma != std::string::npos; comma = list.find(',', from)) {
    items.push_back(list.substr(from, comma - from));
    from = comma + 1;
  }
  items.push_back(list.substr(from));
  return items;
}

}  // namespace

std::string build_conninfo(const std::string& url, const connection_defaults& defaults) {
  auto options = url.empty() ? std::map<std::string, std::string>{} : parse(url);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(defaults.connect_timeout);
  // libpq's connect_timeout counts whole seconds, and treats 1 as 2.
  options.try_emplace("connect_timeout", std::to_string(std::max<long>(2, seconds.count())));
  options.try_emplace("fallback_application_name", "storygate");
  // Text arrives in the database's own encoding unless the client names
  // another: a LATIN1 or WIN1252 database's "Müller" would be bytes that are
  // not UTF-8, and every JSON string must be. PostgreSQL converts; this one
  // is not the operator's to change. (An SQL_ASCII database cannot be
  // converted: the request path's sessions ask for its bytes as stored,
  // db/session_setup.h's encoding_setup, and json/ repairs what is not UTF-8.)
  options["client_encoding"] = "UTF8";
  // A database behind a dead network path must not hold a worker forever.
  options.try_emplace("keepalives", "1");
  options.try_emplace("keepalives_idle", "30");
  options.try_emplace("keepalives_interval", "10");
  options.try_emplace("keepalives_count", "3");
  options.try_emplace("tcp_user_timeout", "30000");

  std::string conninfo;
  for (const auto& [key, value] : options)
    conninfo += (conninfo.empty() ? "" : " ") + key + "=" + quote_value(value);
  return conninfo;
}

std::string describe_target(const std::string& conninfo) {
  const auto options = parse(conninfo);
  const auto get = [&](const char* key, const char* otherwise) {
    const auto found = options.find(key);
    return found == options.end() ? std::string(otherwise) : found->second;
  };
  // host and port are lists (libpq tries the hosts in turn): the port list
  // is as long as the host list, or one port for every host.
  const auto hosts = split_list(get("host", ""));
  const auto ports = split_list(get("port", ""));
  std::string servers;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const auto& port = ports.size() == hosts.size() ? ports[i] : ports.front();
    servers += (i == 0 ? "" : ",") + (hosts[i].empty() ? "(default host)" : hosts[i]) + ":" +
               (port.empty() ? "5432" : port);
  }
  return servers + "/" + get("dbname", "(default database)") + " as " + get("user", "(default user)");
}

}  // namespace storygate::db
