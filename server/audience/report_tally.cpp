#include "server/audience/report_tally.h"

#include <algorithm>

namespace sreda::audience {

namespace {
std::string rung_name(const std::string& rendition) { return rendition.empty() ? "unknown" : rendition; }
}  // namespace

void EventTally::accrue(Playback& p, int64_t now_ms) {
  if (p.playing && now_ms > p.since_ms) {
    const int64_t ms = now_ms - p.since_ms;
    auto& by_rung = p.archive ? archive_ms_ : live_ms_;
    by_rung[rung_name(p.rendition)] += ms;
    if (p.archive) {
      p.archive_ms += ms;
      if (!p.archive_counted && p.archive_ms >= archive_play_ms_) {
        p.archive_counted = true;
        ++archive_plays_;
      }
    }
  }
  p.since_ms = std::max(p.since_ms, now_ms);
}

void EventTally::change(Playback& p, const std::string& viewer_id, bool playing, bool archive,
                        const std::string& rendition, int64_t now_ms) {
  accrue(p, now_ms);
  p.playing = playing;
  p.archive = archive;
  p.rendition = rendition;
  p.since_ms = now_ms;
  p.last_report_ms = now_ms;
  if (!playing) return;
  if (archive && !p.archive_started) {
    p.archive_started = true;
    ++archive_starts_;
  }
  if (!viewer_id.empty() && seen_.insert(viewer_id).second) new_viewers_.push_back(viewer_id);
}

void EventTally::stop(Playback& p, int64_t now_ms) {
  accrue(p, now_ms);
  p.playing = false;
}

void EventTally::take(ReportDelta& d) {
  d.live_ms = std::move(live_ms_);
  d.archive_ms = std::move(archive_ms_);
  d.archive_starts = archive_starts_;
  d.archive_plays = archive_plays_;
  d.new_viewers = std::move(new_viewers_);
  live_ms_.clear();
  archive_ms_.clear();
  new_viewers_.clear();
  archive_starts_ = archive_plays_ = 0;
}

std::pair<int64_t, int64_t> EventTally::take_comments() {
  std::pair<int64_t, int64_t> out{comments_, questions_};
  comments_ = questions_ = 0;
  return out;
}

bool EventTally::idle() const {
  return live_ms_.empty() && archive_ms_.empty() && !archive_starts_ && !archive_plays_ &&
         new_viewers_.empty() && !comments_ && !questions_;
}

void count_viewers(const std::vector<const Playback*>& playing, ReportSample& sample) {
  for (const Playback* p : playing) {
    if (!p->playing || p->archive) continue;
    ++sample.viewers;
    ++sample.renditions[rung_name(p->rendition)];
  }
}

}  // namespace sreda::audience
