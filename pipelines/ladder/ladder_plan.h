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
// A source that is not H.264/AAC has no `source` rendition (players cannot play it), so it gets what it
// would lack: a rung at its own size ("<short side>p", or "full" when that name is taken) when no rung
// has that size, its bitrate the nearest rung's scaled by the pixel count (the nearest: the tallest that
// fits, else the shortest); and an `audio` rung (kTranscodedAudioKbps) when the ladder has none.
constexpr int kTranscodedAudioKbps = 96;
std::vector<RungPlan> plan_rungs(const LadderSpec& spec, const media::MediaFacts& source);

}  // namespace sreda::pipelines
