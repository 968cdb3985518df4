#pragma once
// Live reload of the mapping: on SIGHUP, or when the file's modification
// time changes, the new mapping is checked against the database exactly as at
// start-up and swapped in atomically. A mapping that fails the check is
// logged with the same messages and the old one keeps serving; requests in
// flight finish on the mapping they started with. A reload that fails in any
// way (even an exception nobody foresaw) is refused the same way.
//
// A file that is still being written is not read half-way: it is read once
// its size and modification time stay the same across a settle interval.
//
// Runs on a thread of its own: checking a mapping talks to the database.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "api/customer_api.h"
#include "config/settings.h"
#include "observe/metrics.h"

namespace storygate::app {

class mapping_reloader {
 public:
  mapping_reloader(const config::settings& settings, std::string conninfo, api::customer_api& api,
                   observe::metrics& metrics);
  ~mapping_reloader();  // stops the thread

  // Asks for a reload (async-signal-unsafe: call from the I/O side, not a handler).
  void request(std::string reason);

 private:
  void run();
  // Never throws: whatever fails, the previous mapping keeps serving.
  void reload(const std::string& reason) noexcept;
  void refused(const std::string& reason, const std::string& detail) noexcept;
  // What tells one version of the file from the next.
  struct file_signature {
    std::filesystem::file_time_type modified{};
    std::uintmax_t size = 0;
    bool operator==(const file_signature&) const = default;
  };
  file_signature signature() const;
  // Waits (with `lock` on mutex_) until the file stops changing; false when
  // the reloader is stopping meanwhile.
  bool wait_until_settled(std::unique_lock<std::mutex>& lock, file_signature& seen);

  const config::settings& settings_;
  const std::string conninfo_;
  api::customer_api& api_;
  observe::metrics& metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_reason_;
  bool stopping_ = false;
  file_signature last_seen_;
  std::thread thread_;
};

}  // namespace storygate::app
