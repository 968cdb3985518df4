#include "api/page_writer.h"

#include <algorithm>

#include "log/logger.h"

namespace storygate::api {
namespace {

// The JSON writer hands its text on in pieces of about this size: each
// record would be one call per row to zlib; a page at once would be a copy
// of the page.
constexpr std::size_t drain_bytes = 16 * 1024;

std::size_t rows_expected(const list_request& request, int64_t count) {
  if (count <= 0 || request.start >= static_cast<uint64_t>(count)) return 0;
  return static_cast<std::size_t>(std::min<uint64_t>(request.limit, static_cast<uint64_t>(count) - request.start));
}

}  // namespace

page_writer::page_writer(const mapping::catalog& catalog, const list_request& request, int64_t count,
                         conversion_warning warn)
    : catalog_(catalog),
      warn_(std::move(warn)),
      gzip_wanted_(request.gzip),
      rows_expected_(rows_expected(request, count)) {
  json_.begin_object();
  json_.key("count");
  json_.integer(count);
  json_.key("start");
  json_.string(std::to_string(request.start));
  json_.key("limit");
  json_.string(std::to_string(request.limit));
  json_.key("records");
  json_.begin_array();
}

void page_writer::add(const db::row_text& row) {
  const std::size_t before = json_.written().size();
  write_record(json_, catalog_, row, warn_);
  if (++served_ == 1 && !gzip_wanted_) {
    // Room for the page as the first record suggests it: the body then
    // grows without being copied to a larger block on the way (pages never
    // touched are not memory the process holds).
    const std::size_t record_bytes = json_.written().size() - before + 1;
    plain_.reserve(json_.written().size() + record_bytes * rows_expected_ * 5 / 4 + 256);
  }
  last_updated_at_ = row.text(catalog_.sql_columns);
  last_id_ = row.text(catalog_.sql_columns + 1);
  drain(false);
}

void page_writer::drain(bool always) {
  const auto text = json_.written();
  if (!always && text.size() < drain_bytes) return;
  if (gzip_) {
    gzip_failed_ = gzip_failed_ || !gzip_->append(text);
  } else {
    plain_.append(text);
    if (gzip_wanted_ && plain_.size() >= codec::min_compressed_bytes) {
      gzip_ = std::make_unique<codec::gzip_stream>();
      gzip_failed_ = !gzip_->append(plain_);
      std::string().swap(plain_);
    }
  }
  json_.clear_written();
}

reply page_writer::finish(const std::optional<std::string>& next_target) {
  json_.end_array();
  if (next_target) {
    json_.key("next");
    json_.string(*next_target);
  }
  json_.end_object();
  drain(true);
  reply r;
  r.records = served_;
  if (!gzip_) {
    r.body = std::move(plain_);
    return r;
  }
  auto body = gzip_failed_ ? std::nullopt : gzip_->finish();
  if (!body) {
    log::error("gzip failed while writing a page", {{"records", static_cast<int64_t>(served_)}});
    return error_reply(500, "Internal error; the server log has the details");
  }
  r.body = std::move(*body);
  r.headers.emplace_back("Content-Encoding", "gzip");
  return r;
}

}  // namespace storygate::api
