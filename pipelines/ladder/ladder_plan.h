// What a ladder is made of (from config/ladders/*.jsonc) and which rungs a given source gets.
// Plain values and pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include "server/media/facts.h"

namespace sreda::pipelines {

struct RungSpec {
  std::string name;      // "720p", "audio", … : the rendition name in URLs
  bool audio_only = false;
  int height = 0;        // video rungs: output height; the width follows the source's shape
  int bitrate_kbps = 0;  // target (CBR with a VBV cap for video, the AAC bitrate for audio)
};

struct LadderSpec {
  std::string name = "default";
  std::vector<RungSpec> rungs;
  std::string x264_preset = "veryfast";
  int vbv_ms = 1000;            // x264 VBV buffer: the bitrate cap holds over this window
  int audio_channels_max = 2;   // the audio rung is stereo at most
  int poster_interval_s = 10;   // 0: no poster
  int poster_width = 320;
  // A rung at the studio's own picture size is encoded only when the studio's video bitrate is at least this
  // percent of the rung's; otherwise the studio's own stream (`source`) is the top rung (0: always encoded).
  int own_size_min_percent = 200;
};

// A rung for one source: the rung spec with its output size.
struct RungPlan {
  RungSpec spec;
  int width = 0;  // 0 for audio
  int height = 0;
};

// The rungs a source gets: video rungs no taller than the source (and with video in it), sorted from
// the tallest, width from the source's display shape rounded to even numbers; the audio rung when the
// source has audio. Portrait sources: the rung's `height` is the shorter side (a "720p" phone video is
// 720 wide), so a ladder means the same quality either way round.
// A rung at the source's own size (its height the source's short side) when the source plays as it is: only
// when the source's measured video bitrate (`video_kbps`; 0 unknown: kept) is at least own_size_min_percent of
// the rung's — re-encoding the same size at a similar bitrate costs the most CPU of any rung and gives viewers
// nothing `source` does not.
// A source that is not H.264/AAC has no `source` rendition (players cannot play it), so it gets what it
// would lack: a rung at its own size ("<short side>p", or "full" when that name is taken) when no rung
// has that size, its bitrate the nearest rung's scaled by the pixel count (the nearest: the tallest that
// fits, else the shortest); and an `audio` rung (kTranscodedAudioKbps) when the ladder has none.
constexpr int kTranscodedAudioKbps = 96;
std::vector<RungPlan> plan_rungs(const LadderSpec& spec, const media::MediaFacts& source);

// Whether plan_rungs() leaves out `rung`: it is at the source's own size and the source's bitrate is too low.
bool skip_own_size(const LadderSpec& spec, const RungSpec& rung, const media::MediaFacts& source);
// Whether the ladder has a rung whose encoding depends on the source's bitrate (see above): then the bitrate
// is measured before the ladder starts.
bool has_own_size_rung(const LadderSpec& spec, const media::MediaFacts& source);

}  // namespace sreda::pipelines
