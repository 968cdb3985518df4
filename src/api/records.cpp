#include "api/records.h"

#include "coerce/coercions.h"

namespace storygate::api {

using mapping::conversion;

std::optional<std::string> convert_text(const mapping::resolved_field& f, std::string_view text,
                                        const std::string& response_zone) {
  switch (f.convert) {
    case conversion::boolean_from_text:
      if (auto b = coerce::to_boolean(text)) return std::string(*b ? "true" : "false");
      return std::nullopt;
    case conversion::number_from_text: return coerce::to_number(text);
    case conversion::integer_from_text: return coerce::to_integer(text);
    case conversion::date_from_text:
      if (auto d = coerce::to_date(text, f.format)) return json::quoted(*d);
      return std::nullopt;
    case conversion::datetime_from_text:
      if (auto t = coerce::to_datetime(text, f.format, f.zone, response_zone)) return json::quoted(*t);
      return std::nullopt;
    case conversion::array_from_split: {
      json::record_writer w;
      w.begin_array();
      for (const auto& item : coerce::split(text, f.split)) w.string(item);
      w.end_array();
      return w.take();
    }
    default: return std::nullopt;
  }
}

void write_record(json::record_writer& w, const mapping::catalog& catalog, const db::row_text& row,
                  const conversion_warning& warn) {
  const auto& zone = catalog.source.time_zone.value;
  w.begin_object();
  w.quoted_key(R"("id")");
  const bool id_is_null = row.is_null(0);
  const auto id = row.text(0);
  w.value(catalog.id.output, id_is_null ? nullptr : id.data(), id.size());
  for (const auto& f : catalog.fields) {
    w.quoted_key(f.json_name);
    if (f.convert == conversion::constant) {
      w.raw(f.constant_json);
      continue;
    }
    const int column = static_cast<int>(f.sql_column);
    const bool value_is_null = row.is_null(column);
    const auto text = row.text(column);
    std::optional<std::string> converted;
    if (!value_is_null && f.convert != conversion::none) {
      converted = convert_text(f, text, zone);
      if (!converted) warn(id, f, text);
    }
    const bool is_null = value_is_null || (f.convert != conversion::none && !converted);
    if (is_null && f.default_json)
      w.raw(*f.default_json);
    else if (is_null)
      w.null();
    else if (converted)
      w.raw(*converted);
    else
      w.value(f.output, text.data(), text.size());
  }
  w.end_object();
}

}  // namespace storygate::api
