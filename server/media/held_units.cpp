#include "server/media/held_units.h"

namespace sreda::media {

bool HeldUnits::hold(AccessUnit unit) {
  if (held_.size() >= max_units_) {  // overflow policy: keep the newest
    bytes_ -= held_.front().data.size();
    held_.pop_front();
    dropped_++;
  }
  if (bytes_ + unit.data.size() > max_bytes_) {
    held_.clear();
    bytes_ = 0;
    return false;
  }
  if (first_dts_us_ < 0) first_dts_us_ = unit.dts_us;
  bytes_ += unit.data.size();
  held_.push_back(std::move(unit));
  return true;
}

void HeldUnits::deliver(SourceListener& listener, const MediaFacts& facts) {
  listener.on_prepared(facts);
  for (auto& u : held_) {
    if ((u.track == TrackKind::video && !facts.has_video) || (u.track == TrackKind::audio && !facts.has_audio))
      continue;
    listener.on_access_unit(std::move(u));
  }
  held_.clear();
  bytes_ = 0;
}

std::string HeldUnits::over_bytes_reason() const {
  return "more than " + std::to_string(max_bytes_) +
         " bytes of media held before both tracks were configured (ingest.max_held_media_bytes)";
}

}  // namespace sreda::media
