#pragma once
// Servers a test starts for itself and always takes down again: PostgreSQL
// clusters made with scripts/pg-cluster.sh (a primary, or a streaming replica
// of one made with pg_basebackup) and a pgbouncer. Everything listens on
// 127.0.0.1 only; PostgreSQL and pgbouncer refuse to run as root, so when the
// tests run as root they run as the 'postgres' OS user.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace storygate::testing {

// Whether nothing listens on 127.0.0.1:port (a listening socket could bind it).
bool port_is_free(unsigned short port);
// The first free port in [first, first + count); throws when none is.
unsigned short free_port(unsigned short first, unsigned short count = 10);

struct command_output {
  int exit_code = -1;  // 128+signal when killed; -1 when it could not run
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (a full path) to completion, killed after `timeout`. With
// as_postgres, as the 'postgres' OS user when we are root.
command_output run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                           bool as_postgres = false);

std::string pg_url(unsigned short port, const std::string& user, const std::string& dbname);

// A throwaway cluster in a fresh folder under /tmp, destroyed (stopped and
// deleted) at destruction, however the test ends.
class pg_cluster {
 public:
  // initdb and start on `port`.
  static std::unique_ptr<pg_cluster> create(unsigned short port);
  // pg_basebackup -R -X stream from `primary`, then started on `port`: a hot
  // standby streaming from the primary.
  static std::unique_ptr<pg_cluster> replica_of(const pg_cluster& primary, unsigned short port);
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  bool start();  // scripts/pg-cluster.sh start: returns once it accepts connections
  bool stop();   // scripts/pg-cluster.sh stop: fast shutdown
  unsigned short port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string url(const std::string& user, const std::string& dbname) const { return pg_url(port_, user, dbname); }
  std::string admin_url(const std::string& dbname = "postgres") const { return url("postgres", dbname); }
  const std::string& log() const { return log_; }  // what pg-cluster.sh and pg_basebackup said
  std::string server_log() const;                  // the tail of postgres.log

 private:
  pg_cluster(std::string dir, unsigned short port) : dir_(std::move(dir)), port_(port) {}
  bool script(const std::string& command);
  std::string dir_;
  unsigned short port_;
  std::string log_;
};

// A daemon in the foreground as a child process (with as_postgres, as the
// 'postgres' OS user when we are root), stdout and stderr appended to
// `log_file`; SIGTERM, then SIGKILL after 5 s, at stop() and destruction.
class child_process {
 public:
  child_process(const std::vector<std::string>& argv, const std::string& log_file, bool as_postgres = false);
  ~child_process() { stop(); }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool running() const;
  int pid() const { return pid_; }
  void stop();
  std::string log() const;  // the tail of log_file

 private:
  int pid_ = -1;
  std::string log_file_;
};

// Waits until something accepts TCP connections on 127.0.0.1:port; throws
// with `what` and its log when `process` exits or 10 s pass.
void wait_until_listening(const child_process& process, unsigned short port, const std::string& what);

struct pgbouncer_options {
  unsigned short server_port = 0;      // the PostgreSQL behind it (127.0.0.1)
  std::vector<std::string> databases;  // served under the same names
  std::vector<std::string> users;      // listed in the auth_file (trust)
  std::string pool_mode = "transaction";
  unsigned pool_size = 2;              // default_pool_size: server connections per database and user
};

// pgbouncer in the foreground as a child process, with its configuration in a
// folder of its own; stopped (SIGTERM, then SIGKILL) and the folder deleted
// at destruction. The constructor returns once it accepts TCP connections.
class pgbouncer {
 public:
  pgbouncer(const pgbouncer_options& options, unsigned short port);
  ~pgbouncer();
  pgbouncer(const pgbouncer&) = delete;
  pgbouncer& operator=(const pgbouncer&) = delete;

  unsigned short port() const { return port_; }
  int pid() const;
  bool running() const;
  std::string url(const std::string& user, const std::string& dbname) const { return pg_url(port_, user, dbname); }
  std::string admin_url() const { return pg_url(port_, "postgres", "pgbouncer"); }  // the admin console
  std::string log() const;
  const std::string& config() const { return config_; }
  void stop();  // SIGTERM, as a crashed or restarted pgbouncer would leave its clients

 private:
  std::string dir_;
  std::string config_;
  unsigned short port_;
  std::unique_ptr<child_process> process_;
};

// redis-server on 127.0.0.1:port, with no persistence, its files in a
// folder of its own (deleted at destruction). `password`: requirepass.
// With `tls_cert` and `tls_key` (PEM) it speaks TLS only on that port (no
// client certificates asked for). stop() and start() again keep the port: a
// store that goes away and comes back.
class redis_server {
 public:
  explicit redis_server(unsigned short port, const std::string& password = "", const std::string& tls_cert = "",
                        const std::string& tls_key = "");
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  void start();
  void stop();
  unsigned short port() const { return port_; }
  std::string url() const { return (tls_ ? "rediss://localhost:" : "redis://127.0.0.1:") + std::to_string(port_); }
  std::string log() const;

 private:
  std::string dir_;
  unsigned short port_;
  bool tls_ = false;
  std::unique_ptr<child_process> process_;
};

// HAProxy (Debian's haproxy) in front of storygate replicas on 127.0.0.1,
// `balance roundrobin` with no affinity, retrying a refused connection on the
// next replica (what a Kubernetes Service does while a pod is replaced).
// Configuration, pid file and log in a folder of its own.
class haproxy {
 public:
  haproxy(const std::vector<unsigned short>& backend_ports, unsigned short port);
  ~haproxy();
  haproxy(const haproxy&) = delete;
  haproxy& operator=(const haproxy&) = delete;

  unsigned short port() const { return port_; }
  std::string log() const;

 private:
  std::string dir_;
  unsigned short port_;
  std::unique_ptr<child_process> process_;
};

}  // namespace storygate::testing
