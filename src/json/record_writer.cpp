#include "json/record_writer.h"

#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json/utf8.h"

namespace storygate::json {

struct record_writer::impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};

  void text(std::string_view s) {
    if (is_valid_utf8(s)) {
      writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    } else {
      const std::string repaired = repair_utf8(s);
      writer.String(repaired.data(), static_cast<rapidjson::SizeType>(repaired.size()));
    }
  }

  // JSON that PostgreSQL produced (to_json): re-parsed rather than trusted,
  // so a bad byte from the database cannot break the document.
  void embedded_json(std::string_view s) {
    rapidjson::StringBuffer copy;
    rapidjson::Writer<rapidjson::StringBuffer> copy_writer(copy);
    rapidjson::Reader reader;
    const std::string repaired = repair_utf8(s);
    rapidjson::StringStream in(repaired.c_str());
    if (reader.Parse(in, copy_writer))
      writer.RawValue(copy.GetString(), copy.GetSize(), rapidjson::kObjectType);
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
  impl_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}
void record_writer::string(std::string_view text) { impl_->text(text); }
void record_writer::integer(int64_t value) { impl_->writer.Int64(value); }

void record_writer::value(mapping::field_type type, const char* text, std::size_t length) {
  auto& w = impl_->writer;
  if (text == nullptr) return static_cast<void>(w.Null());
  const std::string_view s(text, length);
  switch (type) {
    case mapping::field_type::integer:
    case mapping::field_type::number:
      if (is_json_number(s))
        w.RawValue(s.data(), s.size(), rapidjson::kNumberType);
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
  impl_->buffer.Clear();
  impl_->writer.Reset(impl_->buffer);
  return out;
}

std::string error_body(std::string_view message) {
  record_writer w;
  w.begin_object();
  w.key("error");
  w.string(message);
  w.end_object();
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
