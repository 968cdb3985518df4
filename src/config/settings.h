#pragma once
// Everything an operator can set, with its default. Filled from the command
// line and STORYGATE_* environment variables (the command line wins), checked
// once in parse_command_line(), then read-only.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace storygate::config {

using std::chrono::milliseconds;

// Who may read GET /metrics.
enum class metrics_audience { credentials, loopback, open };

struct settings {
  std::string command;       // serve, check, explain, preview, init
  std::string mapping_file;  // --mapping
  // libpq URL or key=value string; empty means libpq's PG* environment
  // variables. Prefer STORYGATE_DATABASE_URL: the command line is visible to
  // every local user.
  std::string database_url;
  // Streaming replicas to read from as well (--replica-url, repeatable, or
  // STORYGATE_REPLICA_URLS separated by white space).
  std::vector<std::string> replica_urls;
  // The URL points at pgbouncer in transaction mode: no session settings and
  // no named prepared statements.
  bool pgbouncer = false;

  // HTTP
  std::string listen_address = "127.0.0.1";
  std::string tls_certificate;  // PEM chain; with tls_key, serve HTTPS
  std::string tls_key;          // PEM key, not readable by every user
  bool plain_http = false;      // --plain-http: allow HTTP on a non-loopback address (behind a TLS proxy)
  uint16_t port = 8080;              // 0 picks a free port (logged at start-up)
  unsigned io_threads = 2;           // threads running the HTTP side
  unsigned max_connections = 1024;   // further connections are closed at once
  // From one client address; 0: no cap. Unless given, 0 behind a proxy and
  // exposed_per_address_cap when serving TLS on a non-loopback address.
  unsigned max_connections_per_address = 0;
  unsigned max_requests_per_connection = 1000;  // then the connection is closed
  std::size_t max_header_bytes = 16 * 1024;     // 431 beyond
  std::size_t max_url_bytes = 4 * 1024;         // 414 beyond
  milliseconds read_timeout{15000};  // total time to receive a request's headers, idle included

  // Proxies and client addresses (issue 12): whom to believe about who the client is.
  std::vector<std::string> trusted_proxies;  // --trusted-proxy CIDR (repeatable; STORYGATE_TRUSTED_PROXIES)
  // The header trusted proxies write the client into: "x-forwarded-for" or
  // "forwarded" (RFC 7239). Only that one is read.
  std::string client_address_header = "x-forwarded-for";
  bool proxy_protocol = false;  // --proxy-protocol: trusted peers send a PROXY v1/v2 header first
  // The path a proxy in front serves storygate under ("/storygate"), put
  // before the `next` links; empty when paths pass through unchanged.
  std::string public_path_prefix;
  // HMAC key of client fingerprints (sync cursors, logs); random per process
  // when empty and STORYGATE_CLIENT_KEY is unset. Replicas sharing cursors share it.
  std::string client_key_file;

  // API
  unsigned default_limit = 25;
  unsigned max_limit = 1000;  // `limit` above this is a 400 naming it
  // last_updated is widened backwards by this much, so rows that a long
  // transaction stamped before a sync but committed after it are sent again.
  std::chrono::seconds sync_overlap{60};
  // A standby lagging more than this is not read from; with replicas, every
  // list window is widened by it too, so a change a lagging standby did not
  // show one sync is sent by the next (db/pool.h lag_allowance()).
  std::chrono::seconds max_replica_lag{30};
  unsigned sync_cursor_limit = 10000;   // walks remembered for keyset paging
  std::chrono::seconds sync_cursor_ttl{3600};  // a walk idle longer falls back to OFFSET

  // Shared cursor store (issue 15): walks' states in Redis, so that any
  // replica continues any walk by keyset. Empty: this replica's cursors only.
  std::string cursor_store;                // --cursor-store redis://[[user]:password@]host[:port][/db]
  std::string cursor_store_password_file;  // the password, instead of in the URL
  std::string cursor_store_ca_file;        // rediss://: CA certificates (PEM) to verify Redis by; empty: the system's
  milliseconds cursor_store_timeout{10};   // an operation's deadline; then the request goes on without it

  // Database
  unsigned db_pool_size = 4;         // connections (and database worker threads)
  milliseconds pool_wait{2000};      // how long a request waits for a free connection: then 503
  milliseconds statement_timeout{10000};  // PostgreSQL cancels longer queries: then 504
  milliseconds connect_timeout{3000};

  // Auth: credentials come from files and the environment, never the mapping.
  std::vector<std::string> bearer_token_files;  // one token a line
  std::vector<std::string> basic_auth_files;    // user:password a line
  bool allow_anonymous = false;                 // --no-auth: serve without credentials
  unsigned auth_max_failures = 10;              // failed attempts from one address ...
  std::chrono::seconds auth_lockout{60};        // ... within a minute lock it out this long (429)
  unsigned rate_limit = 0;                      // requests a second per client address; 0: none

  metrics_audience metrics_access = metrics_audience::credentials;  // the API's credentials, loopback clients, or anyone
  milliseconds shutdown_timeout{10000};  // SIGTERM: time for requests in flight

  // The DBA's tools.
  std::optional<std::string> preview_id;                          // preview --id
  std::vector<std::pair<std::string, std::string>> preview_params;  // preview's list parameters
  std::string init_table;                                         // init --table
};

// The per-address connection cap when storygate serves TLS itself on a
// non-loopback address and --max-connections-per-address is not given: far
// above what one honest client opens (DailyStory walks pages one at a time),
// far below --max-connections (1024), so one client cannot shut out the rest.
inline constexpr unsigned exposed_per_address_cap = 32;

// A mistake on the command line or in the environment; what() says which.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the command line asked for.
struct parsed_command {
  enum class action { run, help, version } what = action::run;
  settings values;
  std::string help_text;
};

// Throws usage_error on unknown options, bad values or a missing --mapping.
parsed_command parse_command_line(int argc, const char* const argv[]);

}  // namespace storygate::config
