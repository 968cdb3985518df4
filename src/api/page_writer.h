#pragma once
// One list page written as its rows arrive, one row at a time:
//   {"count": N, "start": "S", "limit": "L", "records": [...], "next": "..."}
// start and limit are strings in DailyStory's example, and echoed as such;
// `next` (absent on the last page) is ours, and DailyStory ignores it.
//
// When the client takes gzip the JSON is compressed in the same pass, so a
// page is held once, in its final form: never as rows and JSON at once, nor
// as JSON and gzip at once. Serving a 1,000-record page then adds about its
// own size to memory (scripts/bench.sh prints the figure).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/list_params.h"
#include "api/records.h"
#include "api/reply.h"
#include "codec/gzip_stream.h"
#include "db/row_text.h"
#include "json/record_writer.h"
#include "mapping/catalog.h"

namespace storygate::api {

class page_writer {
 public:
  // `count` is the walk's count, written first. With `request.gzip` the
  // body is gzip once it passes a size worth compressing.
  page_writer(const mapping::catalog& catalog, const list_request& request, int64_t count,
              conversion_warning warn);

  // Writes the row's record; keeps its keyset key (the two columns after
  // the mapped ones: last updated, id).
  void add(const db::row_text& row);

  std::size_t served() const { return served_; }
  const std::string& last_updated_at() const { return last_updated_at_; }
  const std::string& last_id() const { return last_id_; }

  // Ends the page, with `next_target` when the walk goes on, and gives the
  // reply (Content-Encoding: gzip when compressed). Once.
  reply finish(const std::optional<std::string>& next_target);

 private:
  // Moves what the JSON writer holds into the body (or the compressor),
  // once there is enough of it to be worth the call, or always.
  void drain(bool always);

  const mapping::catalog& catalog_;
  const conversion_warning warn_;
  const bool gzip_wanted_;
  const std::size_t rows_expected_;
  json::record_writer json_;
  std::string plain_;                         // the body while uncompressed
  std::unique_ptr<codec::gzip_stream> gzip_;  // once compressing
  bool gzip_failed_ = false;
  std::size_t served_ = 0;
  std::string last_updated_at_, last_id_;
};

}  // namespace storygate::api
