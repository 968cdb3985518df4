#include "config/file_permissions.h"

#include <sys/stat.h>

namespace storygate::config {

std::optional<std::string> unsafe_file(const std::string& path, file_kind kind) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  // Writable by all is checked first: it is the worse of the two.
  if (info.st_mode & S_IWOTH) return std::string("writable by every user; run chmod o-w on it");
  if (kind == file_kind::secret && (info.st_mode & S_IROTH))
    return std::string("readable by every user; run chmod o-r on it");
  return std::nullopt;
}

}  // namespace storygate::config
