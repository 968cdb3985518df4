#include "config/settings.h"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "api/page_links.h"
#include "http/client_address.h"

namespace po = boost::program_options;

namespace storygate::config {
namespace {

constexpr const char* usage_head =
    // "or:" is how help2man knows the lines go on the usage (the man page's
    // SYNOPSIS), rather than into its DESCRIPTION.
    "Usage: storygate serve --mapping FILE [options]\n"
    "  or:  storygate check --mapping FILE [options]\n"
    "  or:  storygate explain --mapping FILE [options]\n"
    "  or:  storygate preview --mapping FILE (--id ID | [--last-updated T] [--start N] [--limit N])\n"
    "  or:  storygate init --table SCHEMA.TABLE [--database-url URL]\n"
    "  or:  storygate --help | --version\n\n"
    "Serves DailyStory's customer API from an existing PostgreSQL database,\n"
    "described by a YAML mapping file.\n\n"
    "Commands:\n"
    "  serve    run the HTTP server\n"
    "  check    validate the mapping against the database (columns, expressions, types,\n"
    "           conversions on a sample, indexes), print a sample record; exit 0 when servable\n"
    "  explain  print the SQL of both endpoints and PostgreSQL's plan for each\n"
    "  preview  print the JSON DailyStory would get, without starting a server\n"
    "  init     write a commented starter mapping for a table (and its child tables)\n\n"
    "Every option can also be set as an environment variable: --db-pool-size is\n"
    "STORYGATE_DB_POOL_SIZE. Credentials: STORYGATE_BEARER_TOKENS (tokens separated\n"
    "by white space) and STORYGATE_BASIC_CREDENTIALS (user:password pairs separated\n"
    "by white space), or the --*-file options.\n";

template <typename T>
T positive(const po::variables_map& vm, const char* name) {
  const T value = vm[name].as<T>();
  if (value == 0) throw usage_error(std::string("--") + name + " must be greater than 0");
  return value;
}

milliseconds millis(const po::variables_map& vm, const char* name) {
  return milliseconds(positive<unsigned>(vm, name));
}

// Trusted proxies, the client address header, the PROXY protocol, the
// client key, and the per-address cap whose default depends on exposure.
void parse_client_options(const po::variables_map& vm, settings& s) {
  if (vm.count("trusted-proxy")) s.trusted_proxies = vm["trusted-proxy"].as<std::vector<std::string>>();
  if (const char* listed = std::getenv("STORYGATE_TRUSTED_PROXIES")) {
    std::string text = listed;
    std::replace(text.begin(), text.end(), ',', ' ');
    std::istringstream words(text);
    for (std::string cidr; words >> cidr;) s.trusted_proxies.push_back(cidr);
  }
  try {
    http::trusted_proxies checked(s.trusted_proxies);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string("--trusted-proxy: ") + e.what());
  }
  s.client_address_header = vm["client-address-header"].as<std::string>();
  if (s.client_address_header != "x-forwarded-for" && s.client_address_header != "forwarded")
    throw usage_error("--client-address-header must be x-forwarded-for or forwarded, not '" +
                      s.client_address_header + "'");
  s.proxy_protocol = vm["proxy-protocol"].as<bool>();
  if (s.proxy_protocol && s.trusted_proxies.empty())
    throw usage_error("--proxy-protocol needs --trusted-proxy: only trusted proxies may send the header");
  if (vm.count("client-key-file")) s.client_key_file = vm["client-key-file"].as<std::string>();
  if (vm.count("public-path-prefix")) s.public_path_prefix = vm["public-path-prefix"].as<std::string>();
  if (!api::is_path_prefix(s.public_path_prefix))
    throw usage_error("--public-path-prefix must be a path such as /storygate (no trailing slash; letters, digits "
                      "and - . _ ~ in each segment), not '" + s.public_path_prefix + "'");

  if (vm.count("max-connections-per-address")) {
    s.max_connections_per_address = vm["max-connections-per-address"].as<unsigned>();
  } else {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(s.listen_address, ec);
    const bool exposed = !ec && !address.is_loopback() && !s.tls_certificate.empty();
    s.max_connections_per_address = exposed ? exposed_per_address_cap : 0;
  }
}

}  // namespace

parsed_command parse_command_line(int argc, const char* const argv[]) {
  parsed_command parsed;
  settings& s = parsed.values;
  const settings defaults;

  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("mapping", po::value<std::string>(), "the mapping YAML file (required but for init)")
    ("id", po::value<std::string>(), "preview: the customer id to show")
    ("last-updated", po::value<std::string>(), "preview: list customers changed since this time")
    ("start", po::value<std::string>(), "preview: records to skip")
    ("limit", po::value<std::string>(), "preview: records to show")
    ("table", po::value<std::string>(), "init: the table (or view) holding one row per customer")
    ("database-url", po::value<std::string>(), "libpq URL or key=value string (default: PG* variables)")
    ("replica-url", po::value<std::vector<std::string>>(), "a streaming replica to read from as well (repeatable)")
    ("pgbouncer", po::bool_switch(), "the database URL is a pgbouncer in transaction mode")
    ("listen", po::value<std::string>()->default_value(defaults.listen_address), "address to listen on")
    ("tls-cert", po::value<std::string>(), "PEM certificate chain: serve HTTPS (with --tls-key)")
    ("tls-key", po::value<std::string>(), "PEM private key for --tls-cert (not readable by every user)")
    ("plain-http", po::bool_switch(), "allow plain HTTP on a non-loopback address (TLS ends at a proxy in front)")
    ("port", po::value<uint16_t>()->default_value(defaults.port), "TCP port (0: any free port)")
    ("threads", po::value<unsigned>()->default_value(defaults.io_threads), "HTTP I/O threads")
    ("max-connections", po::value<unsigned>()->default_value(defaults.max_connections), "open client connections at most")
    ("max-connections-per-address", po::value<unsigned>(), "open connections from one client address at most (0: no cap; default 0, or 32 when serving TLS on a non-loopback address)")
    ("max-requests-per-connection", po::value<unsigned>()->default_value(defaults.max_requests_per_connection), "requests on one keep-alive connection")
    ("max-header-bytes", po::value<std::size_t>()->default_value(defaults.max_header_bytes), "request header size limit (431)")
    ("max-url-bytes", po::value<std::size_t>()->default_value(defaults.max_url_bytes), "request target size limit (414)")
    ("read-timeout-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.read_timeout.count())), "deadline to receive a request's headers")
    ("trusted-proxy", po::value<std::vector<std::string>>(), "a proxy (address or CIDR) whose X-Forwarded-For, Forwarded or PROXY header names the client (repeatable)")
    ("client-address-header", po::value<std::string>()->default_value(defaults.client_address_header), "header trusted proxies name the client in: x-forwarded-for or forwarded")
    ("proxy-protocol", po::bool_switch(), "trusted proxies send a PROXY protocol v1/v2 header first (AWS NLB, HAProxy, Envoy)")
    ("public-path-prefix", po::value<std::string>(), "the path a proxy in front serves storygate under (e.g. /storygate): put before the next links")
    ("client-key-file", po::value<std::string>(), "HMAC key naming clients in sync cursors and logs (shared by replicas; default: random)")
    ("default-limit", po::value<unsigned>()->default_value(defaults.default_limit), "page size when limit is absent")
    ("max-limit", po::value<unsigned>()->default_value(defaults.max_limit), "largest accepted limit")
    ("sync-overlap-seconds", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.sync_overlap.count())), "widen last_updated backwards by this much (late commits)")
    ("max-replica-lag-seconds", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.max_replica_lag.count())), "read nothing from a standby lagging more than this; with replicas, widen list windows by it")
    ("sync-cursor-limit", po::value<unsigned>()->default_value(defaults.sync_cursor_limit), "paged syncs remembered for keyset continuation")
    ("sync-cursor-ttl-seconds", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.sync_cursor_ttl.count())), "how long an idle paged sync is remembered")
    ("cursor-store", po::value<std::string>(), "redis://[[user]:password@]host[:port][/db] (rediss:// for TLS): share walks' cursors among replicas")
    ("cursor-store-ca-file", po::value<std::string>(), "rediss://: CA certificates (PEM) to verify the cursor store by (default: the system's)")
    ("cursor-store-password-file", po::value<std::string>(), "file holding the cursor store's password (not readable by every user)")
    ("cursor-store-timeout-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.cursor_store_timeout.count())), "cursor store deadline; past it a page goes on without the store")
    ("db-pool-size", po::value<unsigned>()->default_value(defaults.db_pool_size), "database connections")
    ("pool-wait-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.pool_wait.count())), "wait for a free connection before 503")
    ("statement-timeout-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.statement_timeout.count())), "query time limit before 504")
    ("connect-timeout-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.connect_timeout.count())), "database connect time limit")
    ("bearer-token-file", po::value<std::vector<std::string>>(), "file of accepted bearer tokens, one a line (repeatable)")
    ("basic-auth-file", po::value<std::vector<std::string>>(), "file of accepted user:password lines (repeatable)")
    ("no-auth", po::bool_switch(), "serve without credentials (only for trials on loopback)")
    ("auth-max-failures", po::value<unsigned>()->default_value(defaults.auth_max_failures), "failed authentications from one address within a minute before it is locked out")
    ("auth-lockout-seconds", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.auth_lockout.count())), "how long a locked-out address gets 429")
    ("rate-limit", po::value<unsigned>()->default_value(defaults.rate_limit), "requests a second per client address (0: no limit)")
    ("metrics-access", po::value<std::string>()->default_value("credentials"), "who may read /metrics: credentials, loopback or open")
    ("shutdown-timeout-ms", po::value<unsigned>()->default_value(static_cast<unsigned>(defaults.shutdown_timeout.count())), "SIGTERM: time for requests in flight");
  // clang-format on

  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1);

  std::ostringstream help;
  help << usage_head << '\n' << options;
  parsed.help_text = help.str();

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    // STORYGATE_DB_POOL_SIZE -> db-pool-size; variables that name no option are not ours.
    po::store(po::parse_environment(options,
                                    [&options](const std::string& variable) -> std::string {
                                      const std::string prefix = "STORYGATE_";
                                      if (variable.rfind(prefix, 0) != 0) return "";
                                      std::string name = variable.substr(prefix.size());
                                      for (auto& c : name)
                                        c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
                                      if (name == "help" || name == "version" || name == "replica-url" || name == "trusted-proxy") return "";
                                      return options.find_nothrow(name, false) ? name : "";
                                    }),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }

  if (vm.count("help")) return parsed.what = parsed_command::action::help, parsed;
  if (vm.count("version")) return parsed.what = parsed_command::action::version, parsed;

  if (!vm.count("command")) throw usage_error("no command given; expected serve, check, explain, preview or init");
  s.command = vm["command"].as<std::string>();
  const std::vector<std::string> commands = {"serve", "check", "explain", "preview", "init"};
  if (std::find(commands.begin(), commands.end(), s.command) == commands.end())
    throw usage_error("unknown command '" + s.command + "'; expected serve, check, explain, preview or init");
  if (s.command == "init") {
    if (!vm.count("table")) throw usage_error("init needs --table SCHEMA.TABLE");
    s.init_table = vm["table"].as<std::string>();
  } else {
    if (!vm.count("mapping")) throw usage_error("--mapping FILE is required");
    s.mapping_file = vm["mapping"].as<std::string>();
  }
  if (s.command == "preview") {
    if (vm.count("id") && (vm.count("last-updated") || vm.count("start") || vm.count("limit")))
      throw usage_error("preview shows one customer (--id) or a page (--last-updated, --start, --limit), not both");
    if (vm.count("id")) s.preview_id = vm["id"].as<std::string>();
    for (const char* name : {"last-updated", "start", "limit"})
      if (vm.count(name)) s.preview_params.emplace_back(name == std::string("last-updated") ? "last_updated" : name,
                                                        vm[name].as<std::string>());
  }
  if (vm.count("database-url")) s.database_url = vm["database-url"].as<std::string>();
  if (vm.count("replica-url")) s.replica_urls = vm["replica-url"].as<std::vector<std::string>>();
  if (const char* replicas = std::getenv("STORYGATE_REPLICA_URLS")) {
    std::istringstream words(replicas);
    for (std::string url; words >> url;) s.replica_urls.push_back(url);
  }
  s.pgbouncer = vm["pgbouncer"].as<bool>();

  s.listen_address = vm["listen"].as<std::string>();
  if (vm.count("tls-cert")) s.tls_certificate = vm["tls-cert"].as<std::string>();
  if (vm.count("tls-key")) s.tls_key = vm["tls-key"].as<std::string>();
  if (s.tls_certificate.empty() != s.tls_key.empty())
    throw usage_error("--tls-cert and --tls-key go together");
  s.plain_http = vm["plain-http"].as<bool>();
  s.port = vm["port"].as<uint16_t>();
  s.io_threads = positive<unsigned>(vm, "threads");
  s.max_connections = positive<unsigned>(vm, "max-connections");
  parse_client_options(vm, s);
  s.max_requests_per_connection = positive<unsigned>(vm, "max-requests-per-connection");
  s.max_header_bytes = positive<std::size_t>(vm, "max-header-bytes");
  s.max_url_bytes = positive<std::size_t>(vm, "max-url-bytes");
  s.read_timeout = millis(vm, "read-timeout-ms");
  s.default_limit = positive<unsigned>(vm, "default-limit");
  s.max_limit = positive<unsigned>(vm, "max-limit");
  if (s.default_limit > s.max_limit)
    throw usage_error("--default-limit must not be larger than --max-limit");
  s.sync_overlap = std::chrono::seconds(vm["sync-overlap-seconds"].as<unsigned>());
  s.max_replica_lag = std::chrono::seconds(vm["max-replica-lag-seconds"].as<unsigned>());
  s.sync_cursor_limit = vm["sync-cursor-limit"].as<unsigned>();
  s.sync_cursor_ttl = std::chrono::seconds(positive<unsigned>(vm, "sync-cursor-ttl-seconds"));
  if (vm.count("cursor-store")) s.cursor_store = vm["cursor-store"].as<std::string>();
  if (vm.count("cursor-store-password-file"))
    s.cursor_store_password_file = vm["cursor-store-password-file"].as<std::string>();
  if (vm.count("cursor-store-ca-file")) s.cursor_store_ca_file = vm["cursor-store-ca-file"].as<std::string>();
  if ((!s.cursor_store_password_file.empty() || !s.cursor_store_ca_file.empty()) && s.cursor_store.empty())
    throw usage_error("--cursor-store-password-file and --cursor-store-ca-file need --cursor-store");
  s.cursor_store_timeout = millis(vm, "cursor-store-timeout-ms");
  s.db_pool_size = positive<unsigned>(vm, "db-pool-size");
  s.pool_wait = millis(vm, "pool-wait-ms");
  s.statement_timeout = millis(vm, "statement-timeout-ms");
  s.connect_timeout = millis(vm, "connect-timeout-ms");
  if (vm.count("bearer-token-file"))
    s.bearer_token_files = vm["bearer-token-file"].as<std::vector<std::string>>();
  if (vm.count("basic-auth-file"))
    s.basic_auth_files = vm["basic-auth-file"].as<std::vector<std::string>>();
  s.allow_anonymous = vm["no-auth"].as<bool>();
  s.auth_max_failures = positive<unsigned>(vm, "auth-max-failures");
  s.auth_lockout = std::chrono::seconds(positive<unsigned>(vm, "auth-lockout-seconds"));
  s.rate_limit = vm["rate-limit"].as<unsigned>();
  s.shutdown_timeout = millis(vm, "shutdown-timeout-ms");
  const auto access = vm["metrics-access"].as<std::string>();
  if (access == "credentials") s.metrics_access = metrics_audience::credentials;
  else if (access == "loopback") s.metrics_access = metrics_audience::loopback;
  else if (access == "open") s.metrics_access = metrics_audience::open;
  else throw usage_error("--metrics-access must be credentials, loopback or open, not '" + access + "'");
  return parsed;
}

}  // namespace storygate::config
