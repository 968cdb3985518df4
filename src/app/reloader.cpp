#include "app/reloader.h"

#include "app/startup.h"
#include "log/logger.h"

namespace storygate::app {
namespace {

// How often the file's modification time is looked at.
constexpr std::chrono::seconds watch_interval{2};

}  // namespace

mapping_reloader::mapping_reloader(const config::settings& settings, std::string conninfo,
                                   api::customer_api& api, observe::metrics& metrics)
    : settings_(settings), conninfo_(std::move(conninfo)), api_(api), metrics_(metrics) {
  last_modified_ = modified();
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

std::filesystem::file_time_type mapping_reloader::modified() const {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(settings_.mapping_file, ec);
  return ec ? std::filesystem::file_time_type{} : time;
}

void mapping_reloader::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, watch_interval, [this] { return stopping_ || !pending_reason_.empty(); });
    if (stopping_) return;
    std::string reason = std::exchange(pending_reason_, {});
    const auto now_modified = modified();
    if (reason.empty() && now_modified != last_modified_) reason = "file changed";
    if (reason.empty()) continue;
    last_modified_ = now_modified;
    lock.unlock();
    reload(reason);
    lock.lock();
  }
}

void mapping_reloader::reload(const std::string& reason) {
  try {
    auto next = load_mapping(settings_, conninfo_);
    const auto fields = static_cast<int64_t>(next->catalog->fields.size());
    api_.replace(std::move(next));
    metrics_.mapping_reloaded(true);
    log::info("mapping reloaded", {{"reason", reason}, {"file", settings_.mapping_file}, {"fields", fields}});
  } catch (const startup_error& e) {
    metrics_.mapping_reloaded(false);
    log::error("mapping reload refused; still serving the previous mapping",
               {{"reason", reason}, {"detail", e.what()}});
  }
}

}  // namespace storygate::app
