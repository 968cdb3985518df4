#pragma once
// Reads a mapping YAML file and checks its shape: known keys, the right kinds
// of values, no duplicate fields. The only user of yaml-cpp.
#include <stdexcept>
#include <string>

#include "mapping/mapping.h"

namespace storygate::mapping {

// A mistake in the mapping; what() is "file:line:column: what was expected".
class mapping_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws mapping_error on the first problem found.
mapping load_mapping_file(const std::string& path);

// The same for YAML text already in memory; `file` names it in messages.
mapping load_mapping_text(const std::string& yaml, const std::string& file);

// The closest of `candidates` to `word`, when close enough to be a likely typo.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace storygate::mapping
