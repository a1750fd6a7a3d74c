#include "pipelines/ladder/ladder_plan.h"

#include <algorithm>
#include <cmath>

namespace sreda::pipelines {
namespace {

int even(double v) { return std::max(2, static_cast<int>(std::lround(v / 2.0)) * 2); }

}  // namespace

bool skip_own_size(const LadderSpec& spec, const RungSpec& rung, const media::MediaFacts& source) {
  return !rung.audio_only && source.has_video && rung.height == std::min(source.width, source.height) &&
         media::video_plays_as_is(source) && spec.own_size_min_percent > 0 && source.video_kbps > 0 &&
         static_cast<int64_t>(source.video_kbps) * 100 < static_cast<int64_t>(rung.bitrate_kbps) * spec.own_size_min_percent;
}

bool has_own_size_rung(const LadderSpec& spec, const media::MediaFacts& source) {
  if (!source.has_video || source.width <= 0 || source.height <= 0 || !media::video_plays_as_is(source) ||
      spec.own_size_min_percent <= 0)
    return false;
  const int short_side = std::min(source.width, source.height);
  return std::any_of(spec.rungs.begin(), spec.rungs.end(),
                     [&](const RungSpec& r) { return !r.audio_only && r.height == short_side; });
}

std::vector<RungPlan> plan_rungs(const LadderSpec& spec, const media::MediaFacts& source) {
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
    if (skip_own_size(spec, r, source)) continue;
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
  // A source that cannot be passed through (HEVC…): its full quality comes from a rung at its own size
  // when no rung has it (see ladder_plan.h).
  if (video && !media::video_plays_as_is(source) &&
      std::none_of(out.begin(), out.end(), [&](const RungPlan& p) { return p.spec.height == short_side; })) {
    const RungSpec* near = nullptr;  // the tallest rung that fits, else the shortest one
    auto nearer = [&](const RungSpec& a, const RungSpec& b) {
      const bool a_fits = a.height <= short_side, b_fits = b.height <= short_side;
      if (a_fits != b_fits) return a_fits;
      return a_fits ? a.height > b.height : a.height < b.height;
    };
    for (const RungSpec& r : spec.rungs)
      if (!r.audio_only && r.height > 0 && (!near || nearer(r, *near))) near = &r;
    if (near) {
      RungPlan p{*near, source.width / 2 * 2, source.height / 2 * 2};
      p.spec.name = std::to_string(short_side) + "p";
      if (std::any_of(spec.rungs.begin(), spec.rungs.end(), [&](const RungSpec& r) { return r.name == p.spec.name; }))
        p.spec.name = "full";
      p.spec.height = short_side;
      const double ratio = static_cast<double>(short_side) / near->height;  // same shape: pixels go by its square
      p.spec.bitrate_kbps = std::max(100, static_cast<int>(std::lround(near->bitrate_kbps * ratio * ratio)));
      out.push_back(p);
    }
  }
  // A source whose audio cannot be passed through needs an AAC rung (the video rungs carry it too).
  if (source.has_audio && !media::audio_plays_as_is(source) &&
      std::none_of(out.begin(), out.end(), [](const RungPlan& p) { return p.spec.audio_only; }))
    out.push_back({RungSpec{"audio", true, 0, kTranscodedAudioKbps}, 0, 0});
  std::stable_sort(out.begin(), out.end(), [](const RungPlan& a, const RungPlan& b) {
    if (a.spec.audio_only != b.spec.audio_only) return !a.spec.audio_only;
    return a.width * a.height > b.width * b.height;
  });
  return out;
}

}  // namespace sreda::pipelines
