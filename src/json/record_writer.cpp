#include "json/record_writer.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>

#include "json/plain_text.h"
#include "json/utf8.h"

namespace storygate::json {
namespace {

// Syntax only: the handler accepts every event, and numbers stay text, so a
// long numeric is not squeezed through a double. RapidJSON 1.1 still refuses
// exponents beyond a double's range (1e400), which then count as malformed.
bool is_well_formed_json(std::string_view text) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::BaseReaderHandler<> accept_all;
  rapidjson::Reader reader;
  return !reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag>(
              stream, accept_all).IsError() &&
         stream.Tell() == text.size();
}

}  // namespace

struct record_writer::impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};

  // Room for `length` bytes of a value (or key) of `type`, JSON text the
  // Writer need not look at. The Writer writes straight into `buffer` and
  // keeps no text of its own: an empty raw value through it writes the
  // comma or colon before it and counts it as the value it is, and the text
  // is then copied in one go (RawValue copies a byte at a time).
  char* place(rapidjson::Type type, std::size_t length) {
    writer.RawValue("", 0, type);
    return buffer.Push(length);
  }

  void raw(std::string_view json, rapidjson::Type type) {
    char* out = place(type, json.size());
    if (!json.empty()) std::memcpy(out, json.data(), json.size());
  }

  // Keys and most values of a record are plain ASCII: those are copied in
  // one go rather than put through the escaper a character at a time (which
  // was 8% of a single-record request).
  bool plain_string(std::string_view s) {
    if (!is_plain_text(s)) return false;
    char* out = place(rapidjson::kStringType, s.size() + 2);
    out[0] = '"';
    std::memcpy(out + 1, s.data(), s.size());
    out[s.size() + 1] = '"';
    return true;
  }

  void text(std::string_view s) {
    if (plain_string(s)) return;
    if (is_valid_utf8(s)) {
      writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    } else {
      const std::string repaired = repair_utf8(s);
      writer.String(repaired.data(), static_cast<rapidjson::SizeType>(repaired.size()));
    }
  }

  // JSON that PostgreSQL produced (to_json of an array, a json or jsonb
  // column), kept as written so numbers keep every digit and escapes stay
  // escapes. Checked rather than trusted: an SQL_ASCII database stores any
  // bytes, and a malformed value must cost one field, not the document.
  void embedded_json(std::string_view s) {
    const std::string repaired = is_valid_utf8(s) ? std::string() : repair_utf8(s);
    const std::string_view text = repaired.empty() ? s : repaired;
    if (is_well_formed_json(text))
      raw(text, rapidjson::kObjectType);
    else
      writer.Null();
  }
};

record_writer::record_writer() : impl_(std::make_unique<impl>()) {}
record_writer::~record_writer() = default;

void record_writer::begin_object() { impl_->writer.StartObject(); }
void record_writer::end_object() { impl_->writer.EndObject(); }
void record_writer::begin_array() { impl_->writer.StartArray(); }
void record_writer::end_array() { impl_->writer.EndArray(); }
void record_writer::key(std::string_view name) {
  if (!impl_->plain_string(name)) impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
void record_writer::quoted_key(std::string_view json_string) {
  impl_->raw(json_string, rapidjson::kStringType);
}
void record_writer::string(std::string_view text) { impl_->text(text); }
void record_writer::integer(int64_t value) { impl_->writer.Int64(value); }
void record_writer::boolean(bool value) { impl_->writer.Bool(value); }
void record_writer::null() { impl_->writer.Null(); }
void record_writer::raw(std::string_view json) { impl_->raw(json, rapidjson::kObjectType); }

void record_writer::value(mapping::field_type type, const char* text, std::size_t length) {
  auto& w = impl_->writer;
  if (text == nullptr) return static_cast<void>(w.Null());
  const std::string_view s(text, length);
  switch (type) {
    case mapping::field_type::integer:
    case mapping::field_type::number:
      if (is_json_number(s))
        impl_->raw(s, rapidjson::kNumberType);
      else
        w.Null();  // NaN, Infinity
      return;
    case mapping::field_type::boolean: return static_cast<void>(w.Bool(s == "t"));
    case mapping::field_type::array:
    case mapping::field_type::json: return impl_->embedded_json(s);
    case mapping::field_type::datetime:
    case mapping::field_type::date:
      // to_char gives an empty string for infinity.
      if (s.empty() || s.find("nfinity") != std::string_view::npos) return static_cast<void>(w.Null());
      return impl_->text(s);
    default: return impl_->text(s);
  }
}

std::string record_writer::take() {
  std::string out(impl_->buffer.GetString(), impl_->buffer.GetSize());
  clear();
  return out;
}

void record_writer::clear() {
  impl_->buffer.Clear();
  impl_->writer.Reset(impl_->buffer);
}

std::string_view record_writer::written() const { return {impl_->buffer.GetString(), impl_->buffer.GetSize()}; }

void record_writer::clear_written() { impl_->buffer.Clear(); }

std::string error_body(std::string_view message) {
  record_writer w;
  w.begin_object();
  w.key("error");
  w.string(message);
  w.end_object();
  return w.take();
}

std::string quoted(std::string_view text) {
  record_writer w;
  w.string(text);
  return w.take();
}

bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

}  // namespace storygate::json
