#include "pipelines/ladder/ladder_plan.h"

#include <algorithm>
#include <cmath>

namespace sreda::pipelines {
namespace {

int even(double v) { return std::max(2, static_cast<int>(std::lround(v / 2.0)) * 2); }

}  // namespace

std::vector<RungPlan> plan_rungs(const LadderSpec& spec, const MediaFacts& source) {
  std::vector<RungPlan> out;
  const bool video = source.has_video && source.width > 0 && source.height > 0;
  const bool portrait = video && source.height > source.width;
  const int short_side = video ? std::min(source.width, source.height) : 0;
  for (const RungSpec& r : spec.rungs) {
    if (r.audio_only) {
      if (source.has_audio) out.push_back({r, 0, 0});
      continue;
    }
    if (!video || r.height <= 0 || r.height > short_side) continue;
    const double scale = static_cast<double>(r.height) / short_side;
    RungPlan p{r, 0, 0};
    if (portrait) {
      p.width = even(r.height);
      p.height = even(source.height * scale);
    } else {
      p.height = even(r.height);
      p.width = even(source.width * scale);
    }
    out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(), [](const RungPlan& a, const RungPlan& b) {
    if (a.spec.audio_only != b.spec.audio_only) return !a.spec.audio_only;
    return a.width * a.height > b.width * b.height;
  });
  return out;
}

}  // namespace sreda::pipelines
