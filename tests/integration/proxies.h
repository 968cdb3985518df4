#pragma once
// Real proxies in front of storygate, as deployments put them: nginx (HTTP,
// X-Forwarded-For) and HAProxy (TCP, PROXY protocol). Each runs in the
// foreground with its configuration, pid and logs in a temporary folder of
// its own, listens on 127.0.0.1 only, and is stopped and its folder deleted
// at destruction.
#include <memory>
#include <string>

#include "clusters.h"

namespace storygate::testing {

// nginx on 127.0.0.1:port passing everything to storygate on 127.0.0.1:upstream,
// appending the client to X-Forwarded-For as its documentation shows
// (proxy_add_x_forwarded_for). With `path_prefix` ("/storygate"), it serves
// storygate under that path alone and takes it off on the way (proxy_pass
// with a URI), as a site that shares its host with other applications does.
class nginx_proxy {
 public:
  nginx_proxy(unsigned short port, unsigned short upstream, const std::string& path_prefix = "");
  ~nginx_proxy();
  unsigned short port() const { return port_; }
  std::string log() const { return process_->log(); }

 private:
  std::string dir_;
  unsigned short port_;
  std::unique_ptr<child_process> process_;
};

// HAProxy in TCP mode: 127.0.0.1:v2_port sends PROXY protocol v2
// (send-proxy-v2, what AWS NLB sends too), 127.0.0.1:v1_port version 1
// (send-proxy), both to storygate on 127.0.0.1:upstream.
class haproxy_proxy {
 public:
  haproxy_proxy(unsigned short v2_port, unsigned short v1_port, unsigned short upstream);
  ~haproxy_proxy();
  unsigned short v2_port() const { return v2_port_; }
  unsigned short v1_port() const { return v1_port_; }
  std::string log() const { return process_->log(); }

 private:
  std::string dir_;
  unsigned short v2_port_, v1_port_;
  std::unique_ptr<child_process> process_;
};

}  // namespace storygate::testing
