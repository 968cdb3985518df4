#include "http/io_threads.h"

#include <thread>

namespace storygate::http {

io_threads::io_threads(unsigned count) {
  for (unsigned i = 0; i < std::max(1u, count); ++i) {
    // One thread each: Asio then keeps what a handler queues on its own
    // thread private, without waking another.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    keep_running_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

boost::asio::io_context& io_threads::next() { return *contexts_[next_++ % contexts_.size()]; }

std::vector<boost::asio::any_io_executor> io_threads::executors() const {
  std::vector<boost::asio::any_io_executor> all;
  for (const auto& c : contexts_) all.emplace_back(c->get_executor());
  return all;
}

void io_threads::run() {
  std::vector<std::thread> others;
  for (std::size_t i = 1; i < contexts_.size(); ++i) others.emplace_back([c = contexts_[i].get()] { c->run(); });
  contexts_.front()->run();
  for (auto& t : others) t.join();
}

void io_threads::stop() {
  for (auto& c : contexts_) c->stop();
}

}  // namespace storygate::http
