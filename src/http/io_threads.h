#pragma once
// The HTTP side's threads, each running an io_context of its own. A
// connection is handed to one of them when it is accepted and stays there:
// its session, and the database connections its requests use first (the
// pool's shard on that thread, db/pool.h), share the thread, so a request
// crosses no thread and takes no lock on its way.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <vector>

namespace storygate::http {

class io_threads {
 public:
  explicit io_threads(unsigned count);
  io_threads(const io_threads&) = delete;
  io_threads& operator=(const io_threads&) = delete;

  // The first one: where the listener, signals and timers of the process live.
  boost::asio::io_context& main() { return *contexts_.front(); }
  // The one the next accepted connection goes to, in turn.
  boost::asio::io_context& next();
  std::vector<boost::asio::any_io_executor> executors() const;

  // Runs main() on the calling thread and the others on threads of their
  // own; returns once stop() was called and every one has returned.
  void run();
  // Any thread.
  void stop();

 private:
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<guard> keep_running_;  // a context with nothing to do waits rather than returns
  std::atomic<std::size_t> next_{0};
};

}  // namespace storygate::http
