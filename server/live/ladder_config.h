// Ladder presets: config/ladders/<name>.jsonc → pipelines::LadderSpec, checked at start-up so a bad
// file stops the start with its problems listed (not the first live event). Main thread at start-up;
// the result is read-only afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pipelines/ladder/ladder_plan.h"
#include "server/core/result.h"

namespace sreda::live {

// One preset from its text; `name` is the file's stem. Errors name the field ("rungs[1].height: …").
core::Result<pipelines::LadderSpec> parse_ladder(const std::string& name, const std::string& text);

struct LadderSet {
  std::map<std::string, pipelines::LadderSpec> ladders;  // by name
  std::string default_name = "default";
  std::map<int64_t, std::string> by_studio;               // studio id → ladder name

  const pipelines::LadderSpec* for_studio(int64_t studio_id) const;
};

// The built-in default ladder, the same as config/ladders/default.jsonc (a unit test checks it): used when
// the configured folder is the default one and does not exist (a binary run from elsewhere).
pipelines::LadderSpec builtin_default_ladder();

// Every *.jsonc in `dir`, the default and the studio choices ("3=small,7=default"). Appends an error per
// problem; a default or studio choice naming no file is an error.
// `dir_required` false: a missing folder gives the built-in default ladder instead of an error.
LadderSet load_ladders(const std::string& dir, bool dir_required, const std::string& default_name,
                       const std::string& studios, std::vector<std::string>& errors);

}  // namespace sreda::live
