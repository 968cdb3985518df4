// storygate: DailyStory's customer API over an existing PostgreSQL database.
// Wiring only: settings -> credentials -> mapping -> pool -> listener -> run.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <sys/resource.h>

#include <future>
#include <iostream>
#include <optional>
#include <thread>

#include "api/customer_api.h"
#include "app/reloader.h"
#include "app/startup.h"
#include "app/tools.h"
#include "config/settings.h"
#include "cursors/redis_store.h"
#include "db/conninfo.h"
#include "db/pool.h"
#include "http/io_threads.h"
#include "http/listener.h"
#include "http/router.h"
#include "http/tls.h"
#include "log/logger.h"
#include "observe/metrics.h"

namespace net = boost::asio;
using namespace storygate;

namespace {

constexpr int exit_usage = 2;
constexpr int exit_failure = 1;


// Stops the I/O once no request is in flight (or at the deadline), looking
// every 20 ms. The timer is handed along, not captured by itself, so nothing
// keeps it alive once the I/O stops.
void stop_when_idle(http::io_threads& io, http::session_context& context,
                    std::shared_ptr<net::steady_timer> timer, std::chrono::steady_clock::time_point deadline) {
  // Idle keep-alive connections are not waited for: only requests being answered.
  if (context.requests_in_flight.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
    io.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(20));
  timer->async_wait([&io, &context, timer, deadline](boost::system::error_code) {
    stop_when_idle(io, context, timer, deadline);
  });
}

void shut_down_gracefully(http::io_threads& io, http::listener& listener, http::session_context& context,
                          std::chrono::milliseconds timeout) {
  context.shutting_down = true;
  listener.stop();
  stop_when_idle(io, context, std::make_shared<net::steady_timer>(io.main()),
                 std::chrono::steady_clock::now() + timeout);
}

// Each client connection and database session is a descriptor: take what the
// hard limit allows rather than the common soft default of 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The shared cursor store, when --cursor-store names one. Not contacted here:
// storygate starts (and serves from its own cursors) with the store down.
// A walk's key in the store carries its client's fingerprint, an HMAC: a
// replica with a key of its own (the random default) would find no other
// replica's walks, nor its own after a restart.
void require_shared_client_key(const config::settings& settings) {
  if (settings.client_key_file.empty() && std::getenv("STORYGATE_CLIENT_KEY") == nullptr)
    throw app::startup_error(
        "--cursor-store needs the key that names clients, the same on every replica: give "
        "--client-key-file (or STORYGATE_CLIENT_KEY) a secret of at least 32 bytes, e.g. openssl rand -hex 32");
}

std::unique_ptr<cursors::redis_store> open_cursor_store(const config::settings& settings, observe::metrics& metrics) {
  cursors::redis_store::options options;
  try {
    options.target = cursors::parse_store_url(settings.cursor_store);
    if (!settings.cursor_store_password_file.empty())
      options.target.password = cursors::read_store_password(settings.cursor_store_password_file);
    options.timeout = settings.cursor_store_timeout;
    options.ttl = settings.sync_cursor_ttl;
    options.ca_file = settings.cursor_store_ca_file;
    log::info("cursor store", {{"host", options.target.host},
                               {"port", static_cast<int64_t>(options.target.port)},
                               {"tls", options.target.tls},
                               {"timeout_ms", static_cast<int64_t>(options.timeout.count())}});
    return std::make_unique<cursors::redis_store>(std::move(options), &metrics);
  } catch (const cursors::store_url_error& e) {
    throw app::startup_error(e.what());
  }
}

int serve(const config::settings& settings) {
  raise_descriptor_limit();
  const auto credentials = app::load_credentials(settings);
  if (!settings.cursor_store.empty()) require_shared_client_key(settings);
  const auto conninfo = app::connection_string(settings);
  auto mapping = app::load_mapping(settings, conninfo);

  observe::metrics metrics;
  std::unique_ptr<cursors::redis_store> store;
  if (!settings.cursor_store.empty()) store = open_cursor_store(settings, metrics);
  // With a shared store a walk that leaves this replica's memory has usually
  // moved on to another replica, not been abandoned: only local walks are
  // reported as abandoned.
  std::function<void(const api::sync_walk&)> abandoned;
  if (!store) abandoned = [&metrics](const api::sync_walk& walk) { api::report_walk(walk, false, &metrics); };
  api::sync_cursors cursors(settings.sync_cursor_limit, settings.sync_cursor_ttl, std::move(abandoned));
  // The HTTP side's threads, an io_context each. The pool's connections are
  // driven on them too, a shard per thread (db/pool.h). Destroyed by hand at
  // the end (see there), so a unique_ptr.
  auto io_owner = std::make_unique<http::io_threads>(settings.io_threads);
  // Access lines go out together, 10 times a second, rather than one write()
  // per request; what is left is written when serve returns.
  log::deferred_writes access_lines(std::chrono::milliseconds(100));
  http::io_threads& io = *io_owner;
  db::pool pool(app::pool_options_for(settings, conninfo, &metrics), io.executors());
  api::customer_api api(mapping, pool, cursors, &metrics, store.get(), settings.public_path_prefix);
  auth::throttle throttle({settings.auth_max_failures, std::chrono::seconds(60), settings.auth_lockout,
                           settings.rate_limit, 10000});
  http::router routes(api, credentials, throttle, settings, pool, metrics);
  app::mapping_reloader reloader(
      settings.mapping_file,
      {[&] { return app::load_mapping(settings, conninfo); },
       [&](std::shared_ptr<const api::compiled_mapping> next) { api.replace(std::move(next)); }},
      metrics);
  http::session_context context{routes, settings};

  boost::system::error_code ec;
  const auto address = net::ip::make_address(settings.listen_address, ec);
  if (ec) throw app::startup_error("--listen '" + settings.listen_address + "' is not an IP address");
  std::unique_ptr<net::ssl::context> tls;
  if (!settings.tls_certificate.empty()) {
    try {
      tls = http::make_tls_context(settings.tls_certificate, settings.tls_key);
    } catch (const http::tls_error& e) {
      throw app::startup_error(e.what());
    }
  } else if (!address.is_loopback() && !settings.plain_http) {
    throw app::startup_error("refusing plain HTTP on " + settings.listen_address +
                             ": credentials would cross the network in clear text; give --tls-cert and "
                             "--tls-key, or --plain-http when a TLS proxy in front ends TLS");
  }
  std::shared_ptr<http::listener> listener;
  try {
    listener = std::make_shared<http::listener>(io, net::ip::tcp::endpoint(address, settings.port), context,
                                                tls.get());
  } catch (const boost::system::system_error& e) {
    throw app::startup_error("cannot listen on " + settings.listen_address + ":" +
                             std::to_string(settings.port) + ": " + e.code().message());
  }
  // Signals are ours before anyone is told we listen: a SIGHUP right after
  // start-up must reload, not kill.
  std::optional<net::signal_set> stop_signals(std::in_place, io.main(), SIGINT, SIGTERM);
  stop_signals->async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    log::info("shutting down", {{"signal", static_cast<int64_t>(signal)}});
    shut_down_gracefully(io, *listener, context, settings.shutdown_timeout);
  });
  std::optional<net::signal_set> reload_signal(std::in_place, io.main(), SIGHUP);
  std::function<void()> wait_for_hangup = [&] {
    reload_signal->async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      reloader.request("SIGHUP");
      wait_for_hangup();
    });
  };
  wait_for_hangup();

  listener->run();
  const auto port = listener->local_endpoint().port();
  log::info("listening", {{"address", settings.listen_address},
                          {"tls", tls != nullptr},
                          {"port", static_cast<int64_t>(port)},
                          {"relation", mapping->catalog->relation_display},
                          {"fields", static_cast<int64_t>(mapping->catalog->fields.size())},
                          {"database", db::describe_target(conninfo)}});

  io.run();
  pool.drain();
  // Pages waiting on the store are answered (their sessions still exist)
  // before the store goes.
  if (store) store->stop();
  // What is bound to the io_context goes before it; and it goes, with the
  // handlers it still holds (some own sessions), while what those sessions
  // point at (the session context, the router) still exists.
  stop_signals.reset();
  reload_signal.reset();
  listener.reset();
  io_owner.reset();
  log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  config::parsed_command command;
  try {
    command = config::parse_command_line(argc, argv);
  } catch (const config::usage_error& e) {
    std::cerr << "storygate: " << e.what() << "\nTry 'storygate --help'.\n";
    return exit_usage;
  }
  if (command.what == config::parsed_command::action::help) {
    std::cout << command.help_text;
    return 0;
  }
  if (command.what == config::parsed_command::action::version) {
    std::cout << "storygate " << STORYGATE_VERSION << '\n';
    return 0;
  }
  try {
    const auto& settings = command.values;
    if (settings.command == "check") return app::run_check(settings);
    if (settings.command == "explain") return app::run_explain(settings);
    if (settings.command == "preview") return app::run_preview(settings);
    if (settings.command == "init") return app::run_init(settings);
    return serve(settings);
  } catch (const app::startup_error& e) {
    std::cerr << "storygate: " << e.what() << '\n';
    return exit_failure;
  } catch (const std::exception& e) {
    // The database failing half-way through a tool's work, say.
    std::cerr << "storygate: " << e.what() << '\n';
    return exit_failure;
  }
}
