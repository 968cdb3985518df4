#pragma once
// Live reload of the mapping: on SIGHUP, or when the file's modification
// time changes, the new mapping is checked against the database exactly as at
// start-up and swapped in atomically. A mapping that fails the check is
// logged with the same messages and the old one keeps serving; requests in
// flight finish on the mapping they started with.
//
// Runs on a thread of its own: checking a mapping talks to the database.
#include <condition_variable>
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
  void reload(const std::string& reason);
  std::filesystem::file_time_type modified() const;

  const config::settings& settings_;
  const std::string conninfo_;
  api::customer_api& api_;
  observe::metrics& metrics_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_reason_;
  bool stopping_ = false;
  std::filesystem::file_time_type last_modified_;
  std::thread thread_;
};

}  // namespace storygate::app
