#pragma once
// An OpenAPI 3 document of the API as the loaded mapping shapes it: every
// field with its JSON type and format, so partners and DailyStory can see
// exactly what they will get.
#include <string>

#include "mapping/catalog.h"

namespace storygate::api {

std::string openapi_document(const mapping::catalog& catalog, unsigned default_limit,
                             unsigned max_limit);

}  // namespace storygate::api
