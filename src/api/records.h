#pragma once
// One customer row as DailyStory's JSON record: `id`, then every mapped field
// in mapping order, each converted as the catalog says. A value that cannot be
// converted is served as null (or the field's default) and reported to the
// caller; it never fails the record.
#include <functional>
#include <string_view>

#include "db/row_text.h"
#include "json/record_writer.h"
#include "mapping/catalog.h"

namespace storygate::api {

// Told of each value that could not be converted: the record's id, the
// field, and the text that was refused.
using conversion_warning =
    std::function<void(std::string_view id, const mapping::resolved_field& field, std::string_view text)>;

void write_record(json::record_writer& w, const mapping::catalog& catalog, const db::row_text& row,
                  const conversion_warning& warn);

// The JSON text of `text` converted as `field` says, or nullopt when it cannot be.
// REQUIRES: field.convert is neither none nor constant.
std::optional<std::string> convert_text(const mapping::resolved_field& field, std::string_view text,
                                        const std::string& response_zone);

}  // namespace storygate::api
