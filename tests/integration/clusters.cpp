#include "clusters.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness.h"

namespace storygate::testing {
namespace {

using clock_type = std::chrono::steady_clock;

const std::string pg_bin = "/usr/lib/postgresql/15/bin";

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Who to become in a child: the postgres user when we are root, else nobody.
struct identity {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

identity postgres_identity(bool wanted) {
  identity who;
  if (!wanted || geteuid() != 0) return who;
  const passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("the 'postgres' OS user does not exist (is postgresql-15 installed?)");
  who.change = true;
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  return who;
}

// In a forked child: only async-signal-safe calls from here to exec.
[[noreturn]] void exec_child(char* const* argv, int out_fd, const identity& who) {
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  if (who.change) {
    if (setgroups(1, &who.gid) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0) _exit(126);
  }
  // Dies with the test (set after setuid, which clears it).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (chdir("/") != 0) _exit(126);
  execv(argv[0], argv);
  _exit(127);
}

// argv as execv wants it, built before fork.
std::vector<char*> exec_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

void give_to_postgres(const std::string& path) {
  if (geteuid() != 0) return;
  const passwd* pw = getpwnam("postgres");
  if (pw && chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("chown " + path + " failed");
}

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  chmod(pattern.c_str(), 0755);
  return pattern;
}

std::string tail(const std::string& text, std::size_t bytes = 3000) {
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

}  // namespace

bool port_is_free(unsigned short port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as servers do: TIME_WAIT does not count
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return free;
}

unsigned short free_port(unsigned short first, unsigned short count) {
  for (unsigned p = first; p < static_cast<unsigned>(first) + count; ++p)
    if (port_is_free(static_cast<unsigned short>(p))) return static_cast<unsigned short>(p);
  throw std::runtime_error("no free port on 127.0.0.1 in " + std::to_string(first) + ".." +
                           std::to_string(first + count - 1));
}

command_output run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout, bool as_postgres) {
  const identity who = postgres_identity(as_postgres);
  const auto args = exec_args(argv);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_child(args.data(), fds[1], who);
  close(fds[1]);
  command_output result;
  const auto deadline = clock_type::now() + timeout;
  bool killed = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  // The pipe closed: the child is gone or about to be; a daemon it started
  // does not hold the pipe (CLOEXEC, or its own redirections).
  const auto wait_deadline = clock_type::now() + std::chrono::seconds(5);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > wait_deadline || killed) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.exit_code = decode(status);
  if (killed) result.output += "\n[killed after " + std::to_string(timeout.count()) + " s]\n";
  return result;
}

std::string pg_url(unsigned short port, const std::string& user, const std::string& dbname) {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port) + "/" + dbname;
}

// --- pg_cluster --------------------------------------------------------------

bool pg_cluster::script(const std::string& command) {
  std::vector<std::string> argv{source_path("scripts/pg-cluster.sh"), command, dir_};
  if (command == "start") argv.push_back(std::to_string(port_));
  const auto r = run_command(argv, std::chrono::seconds(60));
  log_ += "$ pg-cluster.sh " + command + " " + dir_ + "\n" + r.output;
  return r.exit_code == 0;
}

std::unique_ptr<pg_cluster> pg_cluster::create(unsigned short port) {
  std::unique_ptr<pg_cluster> cluster(new pg_cluster(make_temp_dir("scale-pg"), port));
  if (!cluster->script("start")) throw std::runtime_error("pg-cluster.sh start failed:\n" + tail(cluster->log_));
  return cluster;
}

std::unique_ptr<pg_cluster> pg_cluster::replica_of(const pg_cluster& primary, unsigned short port) {
  std::unique_ptr<pg_cluster> replica(new pg_cluster(make_temp_dir("scale-replica"), port));
  give_to_postgres(replica->dir_);
  // -R writes standby.signal and primary_conninfo: started, it is a hot
  // standby streaming from the primary. pg-cluster.sh start finds the data
  // folder there already and only starts it, with its own port and options.
  const auto backup = run_command({pg_bin + "/pg_basebackup", "-h", "127.0.0.1", "-p", std::to_string(primary.port()),
                                   "-U", "postgres", "-D", replica->dir_ + "/data", "-R", "-X", "stream",
                                   "--checkpoint=fast", "--no-sync"},
                                  std::chrono::seconds(60), true);
  replica->log_ += "$ pg_basebackup\n" + backup.output;
  if (backup.exit_code != 0) throw std::runtime_error("pg_basebackup failed:\n" + tail(replica->log_));
  if (!replica->script("start")) throw std::runtime_error("starting the replica failed:\n" + tail(replica->log_));
  return replica;
}

pg_cluster::~pg_cluster() {
  if (script("destroy")) return;
  // pg-cluster.sh deletes only what looks like a cluster of its own: a
  // pg_basebackup that failed half-way may not. Nothing runs there: ours to delete.
  std::error_code ec;
  if (!std::filesystem::exists(dir_ + "/data/postmaster.pid", ec) && std::filesystem::remove_all(dir_, ec) > 0 && !ec)
    return;
  std::fprintf(stderr, "pg-cluster.sh destroy %s failed:\n%s\n", dir_.c_str(), log_.c_str());
}

bool pg_cluster::start() { return script("start"); }
bool pg_cluster::stop() { return script("stop"); }

std::string pg_cluster::server_log() const {
  std::ifstream in(dir_ + "/postgres.log");
  std::stringstream text;
  text << in.rdbuf();
  return tail(text.str());
}

// --- pgbouncer ---------------------------------------------------------------

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_file, bool as_postgres)
    : log_file_(log_file) {
  const identity who = postgres_identity(as_postgres);
  const int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_file);
  const auto args = exec_args(argv);
  pid_ = fork();
  if (pid_ < 0) {
    close(log_fd);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) exec_child(args.data(), log_fd, who);
  close(log_fd);
}

bool child_process::running() const {
  if (pid_ <= 0) return false;
  // Not reaped here (stop() does): WNOWAIT leaves the zombie for it.
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

void child_process::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = clock_type::now() + std::chrono::seconds(5);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string child_process::log() const {
  std::ifstream in(log_file_);
  std::stringstream text;
  text << in.rdbuf();
  return tail(text.str());
}

void wait_until_listening(const child_process& process, unsigned short port, const std::string& what) {
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  for (;;) {
    if (!process.running()) throw std::runtime_error(what + " exited at start-up:\n" + process.log());
    if (!port_is_free(port)) {
      try {
        raw_connection probe(port);
        return;
      } catch (const std::exception&) {
      }
    }
    if (clock_type::now() > deadline)
      throw std::runtime_error(what + " did not listen on 127.0.0.1:" + std::to_string(port) + " within 10 s:\n" +
                               process.log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

pgbouncer::pgbouncer(const pgbouncer_options& options, unsigned short port) : port_(port) {
  const std::string binary = "/usr/sbin/pgbouncer";
  dir_ = make_temp_dir("scale-pgbouncer");
  std::ostringstream ini;
  ini << "[databases]\n";
  for (const auto& db : options.databases)
    ini << db << " = host=127.0.0.1 port=" << options.server_port << " dbname=" << db << "\n";
  ini << "\n[pgbouncer]\n"
      << "listen_addr = 127.0.0.1\n"
      << "listen_port = " << port << "\n"
      << "unix_socket_dir =\n"
      << "auth_type = trust\n"
      << "auth_file = " << dir_ << "/userlist.txt\n"
      << "admin_users = postgres\n"
      << "pool_mode = " << options.pool_mode << "\n"
      << "default_pool_size = " << options.pool_size << "\n"
      << "min_pool_size = 0\n"
      << "reserve_pool_size = 0\n"
      << "max_client_conn = 100\n"
      << "ignore_startup_parameters = extra_float_digits,options\n"
      << "pidfile = " << dir_ << "/pgbouncer.pid\n";
  config_ = ini.str();
  std::string users;
  for (const auto& user : options.users) users += "\"" + user + "\" \"\"\n";
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"pgbouncer.ini", config_}, {"userlist.txt", users}}) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), 0644);
    give_to_postgres(path);
  }
  give_to_postgres(dir_);

  process_ = std::make_unique<child_process>(std::vector<std::string>{binary, dir_ + "/pgbouncer.ini"},
                                             dir_ + "/pgbouncer.log", true);
  // Ready when it accepts TCP connections (no PostgreSQL session is opened).
  try {
    wait_until_listening(*process_, port_, "pgbouncer");
  } catch (const std::exception& e) {
    stop();
    throw std::runtime_error(std::string(e.what()) + "\nconfiguration:\n" + config_);
  }
}

pgbouncer::~pgbouncer() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool pgbouncer::running() const { return process_ && process_->running(); }

int pgbouncer::pid() const { return process_ ? process_->pid() : -1; }

void pgbouncer::stop() { process_.reset(); }  // SIGTERM: pgbouncer's immediate shutdown

std::string pgbouncer::log() const { return process_ ? process_->log() : ""; }

// --- redis-server, and HAProxy round-robin before replicas ---------------------

redis_server::redis_server(unsigned short port, const std::string& password, const std::string& tls_cert,
                           const std::string& tls_key)
    : port_(port), tls_(!tls_cert.empty()) {
  dir_ = make_temp_dir("scale-redis");
  std::ostringstream conf;
  conf << "bind 127.0.0.1\ndir " << dir_ << "\n"
       << "save \"\"\nappendonly no\ndaemonize no\nprotected-mode yes\n";
  if (tls_)
    conf << "port 0\ntls-port " << port << "\ntls-cert-file " << tls_cert << "\ntls-key-file " << tls_key
         << "\ntls-auth-clients no\n";
  else
    conf << "port " << port << "\n";
  if (!password.empty()) conf << "requirepass " << password << "\n";
  std::ofstream(dir_ + "/redis.conf") << conf.str();
  start();
}

redis_server::~redis_server() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void redis_server::start() {
  process_ = std::make_unique<child_process>(std::vector<std::string>{"/usr/bin/redis-server", dir_ + "/redis.conf"},
                                             dir_ + "/redis.log");
  wait_until_listening(*process_, port_, "redis-server");
}

void redis_server::stop() { process_.reset(); }

std::string redis_server::log() const { return tail(read_file(dir_ + "/redis.log")); }

haproxy::haproxy(const std::vector<unsigned short>& backend_ports, unsigned short port) : port_(port) {
  dir_ = make_temp_dir("scale-haproxy");
  std::ostringstream cfg;
  cfg << "global\n  pidfile " << dir_ << "/haproxy.pid\n  log stdout format raw local0\n\n"
      << "defaults\n  mode http\n  log global\n  option httplog\n"
      << "  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n"
      // A replica that refuses the connection (killed, restarting) costs a
      // retry on the next one, not an error: as a Service with readiness does.
      << "  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response\n\n"
      << "frontend api\n  bind 127.0.0.1:" << port << "\n  default_backend storygate\n\n"
      << "backend storygate\n  balance roundrobin\n";
  for (std::size_t i = 0; i < backend_ports.size(); ++i)
    cfg << "  server replica" << i << " 127.0.0.1:" << backend_ports[i] << " check inter 200ms fall 1 rise 1\n";
  std::ofstream(dir_ + "/haproxy.cfg") << cfg.str();
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", dir_ + "/haproxy.cfg"}, dir_ + "/haproxy.log");
  wait_until_listening(*process_, port_, "haproxy");
}

haproxy::~haproxy() {
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string haproxy::log() const { return tail(read_file(dir_ + "/haproxy.log")); }

}  // namespace storygate::testing
