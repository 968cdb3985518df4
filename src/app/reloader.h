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
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/compiled_mapping.h"
#include "observe/metrics.h"

namespace storygate::app {

// What a reload does once it is due. The server's are load_mapping() (the
// checks of start-up) and customer_api::replace(); apart from them the
// reloader only decides when, and what a failure leaves serving.
struct reload_steps {
  // Reads the file and checks it against the database; throws when the
  // mapping cannot be served.
  std::function<std::shared_ptr<const api::compiled_mapping>()> load;
  // Swaps a checked mapping in.
  std::function<void(std::shared_ptr<const api::compiled_mapping>)> serve;
};

class mapping_reloader {
 public:
  mapping_reloader(std::filesystem::path mapping_file, reload_steps steps, observe::metrics& metrics);
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

  const std::filesystem::path mapping_file_;
  const reload_steps steps_;
  observe::metrics& metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_reason_;
  bool stopping_ = false;
  file_signature last_seen_;
  std::thread thread_;
};

}  // namespace storygate::app
