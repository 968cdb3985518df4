#include "app/reloader.h"

#include "app/startup.h"
#include "log/logger.h"

namespace storygate::app {
namespace {

// How often the file's modification time is looked at.
constexpr std::chrono::seconds watch_interval{2};
// A file is read once it has not changed for this long: an editor or a
// deployment tool that writes it in pieces has finished.
constexpr std::chrono::milliseconds settle_interval{500};

}  // namespace

mapping_reloader::mapping_reloader(std::filesystem::path mapping_file, reload_steps steps,
                                   observe::metrics& metrics)
    : mapping_file_(std::move(mapping_file)), steps_(std::move(steps)), metrics_(metrics) {
  last_seen_ = signature();
  thread_ = std::thread([this] { run(); });
}

mapping_reloader::~mapping_reloader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void mapping_reloader::request(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    pending_reason_ = std::move(reason);
  }
  wake_.notify_all();
}

mapping_reloader::file_signature mapping_reloader::signature() const {
  std::error_code ec;
  file_signature seen;
  seen.modified = std::filesystem::last_write_time(mapping_file_, ec);
  if (ec) return {};
  seen.size = std::filesystem::file_size(mapping_file_, ec);
  return ec ? file_signature{} : seen;
}

bool mapping_reloader::wait_until_settled(std::unique_lock<std::mutex>& lock, file_signature& seen) {
  for (;;) {
    if (wake_.wait_for(lock, settle_interval, [this] { return stopping_; })) return false;
    const auto now = signature();
    if (now == seen) return true;
    seen = now;
  }
}

void mapping_reloader::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, watch_interval, [this] { return stopping_ || !pending_reason_.empty(); });
    if (stopping_) return;
    std::string reason = std::exchange(pending_reason_, {});
    auto seen = signature();
    if (reason.empty() && seen != last_seen_) reason = "file changed";
    if (reason.empty()) continue;
    if (!wait_until_settled(lock, seen)) return;
    last_seen_ = seen;
    lock.unlock();
    reload(reason);
    lock.lock();
  }
}

void mapping_reloader::reload(const std::string& reason) noexcept {
  try {
    auto next = steps_.load();
    const auto fields = static_cast<int64_t>(next->catalog->fields.size());
    steps_.serve(std::move(next));
    metrics_.mapping_reloaded(true);
    log::info("mapping reloaded", {{"reason", reason}, {"file", mapping_file_.string()}, {"fields", fields}});
  } catch (const startup_error& e) {
    refused(reason, e.what());
  } catch (const std::exception& e) {
    // Not a mistake in the mapping we know how to word, but still no reason
    // to stop serving the mapping that works.
    refused(reason, std::string("unexpected failure: ") + e.what());
  } catch (...) {
    refused(reason, "unexpected failure");
  }
}

void mapping_reloader::refused(const std::string& reason, const std::string& detail) noexcept {
  metrics_.mapping_reloaded(false);
  log::error("mapping reload refused; still serving the previous mapping", {{"reason", reason}, {"detail", detail}});
}

}  // namespace storygate::app
