#include "codec/gzip_stream.h"

#include <zlib.h>

namespace storygate::codec {
namespace {

// The output grows by this much at a time: small next to a page, large
// enough that deflate is called a few times per page rather than per record.
constexpr std::size_t output_step = 16 * 1024;

}  // namespace

struct gzip_stream::impl {
  z_stream stream{};
  std::string out;
  bool open = false;  // deflateEnd is owed
  bool ok = false;    // more may go in

  impl() {
    // 15 + 16: a gzip wrapper rather than zlib's; level 1: most of the gain
    // for a fraction of the CPU, which matters on a loaded server.
    open = ok = deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~impl() {
    if (open) deflateEnd(&stream);
  }

  // Runs deflate over the input given until it has taken all of it (and,
  // with Z_FINISH, written the end of the stream).
  bool run(int flush) {
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + output_step);
      stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      stream.avail_out = static_cast<uInt>(output_step);
      const int result = deflate(&stream, flush);
      out.resize(used + output_step - stream.avail_out);
      if (result == Z_STREAM_END) return true;
      if (result != Z_OK && result != Z_BUF_ERROR) return false;
      // Room left over: deflate has taken everything it was given.
      if (stream.avail_out != 0 && stream.avail_in == 0 && flush != Z_FINISH) return true;
    }
  }
};

gzip_stream::gzip_stream() : impl_(std::make_unique<impl>()) {}
gzip_stream::~gzip_stream() = default;

bool gzip_stream::append(std::string_view text) {
  if (!impl_->ok) return false;
  if (text.empty()) return true;
  impl_->stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  impl_->stream.avail_in = static_cast<uInt>(text.size());
  impl_->ok = impl_->run(Z_NO_FLUSH);
  return impl_->ok;
}

std::optional<std::string> gzip_stream::finish() {
  if (!impl_->ok) return std::nullopt;
  impl_->stream.next_in = nullptr;
  impl_->stream.avail_in = 0;
  impl_->ok = impl_->run(Z_FINISH);
  if (!impl_->ok) return std::nullopt;
  impl_->ok = false;  // finished: nothing more goes in
  return std::move(impl_->out);
}

}  // namespace storygate::codec
