#include "proxies.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace storygate::testing {
namespace {

std::string temp_folder(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  chmod(pattern.c_str(), 0755);
  return pattern;
}

void remove_folder(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace

nginx_proxy::nginx_proxy(unsigned short port, unsigned short upstream, const std::string& path_prefix)
    : dir_(temp_folder("storygate-nginx")), port_(port) {
  const std::string binary = "/usr/sbin/nginx";
  if (access(binary.c_str(), X_OK) != 0)
    throw std::runtime_error(binary + " not found: install the Debian package nginx-light (scripts/install-deps.sh)");
  // As root nginx would hand its workers to 'nobody', who cannot write here.
  const std::string user = geteuid() == 0 ? "user root root;\n" : "";
  std::ofstream(dir_ + "/nginx.conf")
      << user << "daemon off;\nworker_processes 1;\npid " << dir_ << "/nginx.pid;\nerror_log " << dir_
      << "/error.log warn;\n"
      << "events { worker_connections 256; }\n"
      << "http {\n"
      << "  access_log off;\n"
      << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_ << "/proxy;\n"
      << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
      << "  scgi_temp_path " << dir_ << "/scgi;\n"
      << "  upstream storygate { server 127.0.0.1:" << upstream << "; keepalive 8; }\n"
      << "  server {\n"
      << "    listen 127.0.0.1:" << port << ";\n"
      << "    location " << path_prefix << "/ {\n"
      << "      proxy_pass http://storygate" << (path_prefix.empty() ? "" : "/") << ";\n"
      << "      proxy_http_version 1.1;\n"
      << "      proxy_set_header Connection \"\";\n"
      << "      proxy_set_header Host $host;\n"
      << "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
      << "    }\n"
      << "  }\n"
      << "}\n";
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{binary, "-p", dir_, "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"},
      dir_ + "/output.log");
  try {
    wait_until_listening(*process_, port_, "nginx");
  } catch (...) {
    process_.reset();
    remove_folder(dir_);
    throw;
  }
}

nginx_proxy::~nginx_proxy() {
  process_.reset();
  remove_folder(dir_);
}

haproxy_proxy::haproxy_proxy(unsigned short v2_port, unsigned short v1_port, unsigned short upstream)
    : dir_(temp_folder("storygate-haproxy")), v2_port_(v2_port), v1_port_(v1_port) {
  const std::string binary = "/usr/sbin/haproxy";
  if (access(binary.c_str(), X_OK) != 0)
    throw std::runtime_error(binary + " not found: install the Debian package haproxy (scripts/install-deps.sh)");
  std::ofstream(dir_ + "/haproxy.cfg")
      << "global\n  pidfile " << dir_ << "/haproxy.pid\n  log stderr format raw local0 warning\n"
      << "defaults\n  mode tcp\n  log global\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
      << "frontend v2\n  bind 127.0.0.1:" << v2_port << "\n  default_backend storygate_v2\n"
      << "frontend v1\n  bind 127.0.0.1:" << v1_port << "\n  default_backend storygate_v1\n"
      << "backend storygate_v2\n  server s 127.0.0.1:" << upstream << " send-proxy-v2\n"
      << "backend storygate_v1\n  server s 127.0.0.1:" << upstream << " send-proxy\n";
  process_ = std::make_unique<child_process>(std::vector<std::string>{binary, "-db", "-f", dir_ + "/haproxy.cfg"},
                                             dir_ + "/output.log");
  try {
    wait_until_listening(*process_, v2_port_, "haproxy");
    wait_until_listening(*process_, v1_port_, "haproxy");
  } catch (...) {
    process_.reset();
    remove_folder(dir_);
    throw;
  }
}

haproxy_proxy::~haproxy_proxy() {
  process_.reset();
  remove_folder(dir_);
}

}  // namespace storygate::testing
