#include "server/relay/relay_queue.h"

#include <algorithm>

namespace sreda::relay {

namespace {
bool is_video_keyframe(const QueuedUnit& q) {
  return q.unit.track == media::TrackKind::video && q.unit.keyframe;
}
bool has_video(const QueuedUnit& q) {
  return q.facts && q.facts->has_video;
}
}  // namespace

void RelayQueue::push(std::shared_ptr<const media::MediaFacts> facts, media::AccessUnit unit) {
  QueuedUnit item{std::move(facts), std::move(unit)};
  if (need_keyframe_ && has_video(item) && !is_video_keyframe(item)) {
    ++dropped_;
    return;
  }
  need_keyframe_ = false;
  bytes_ += item.unit.data.size();
  items_.push_back(std::move(item));
  while (!items_.empty() && span_us() > limit_us_) {
    drop_front();
    skip_to_keyframe();
  }
}

QueuedUnit RelayQueue::pop() {
  QueuedUnit q = std::move(items_.front());
  items_.pop_front();
  bytes_ -= q.unit.data.size();
  return q;
}

void RelayQueue::drop_front() {
  bytes_ -= items_.front().unit.data.size();
  items_.pop_front();
  ++dropped_;
}

void RelayQueue::skip_to_keyframe() {
  while (!items_.empty() && has_video(items_.front()) && !is_video_keyframe(items_.front())) drop_front();
  if (items_.empty()) need_keyframe_ = true;
}

void RelayQueue::restart() {
  while (!items_.empty()) drop_front();
  need_keyframe_ = true;
}

int64_t RelayQueue::span_us() const {
  if (items_.size() < 2) return 0;
  int64_t lo = items_.front().unit.dts_us, hi = lo;
  // Audio and video interleave with small skews: the ends of the queue bound it well enough.
  for (const auto* q : {&items_.front(), &items_.back()}) {
    lo = std::min(lo, q->unit.dts_us);
    hi = std::max(hi, q->unit.dts_us);
  }
  return hi - lo;
}

int64_t Backoff::next_ms() {
  const int64_t wait = next_ms_;
  next_ms_ = std::min(max_ms_, next_ms_ * 2);
  return wait;
}

void TakeWatch::taken(uint64_t bytes) {
  if (bytes == bytes_) return;
  bytes_ = bytes;
  if (waiting_since_ms_) armed_ = true;
  waiting_since_ms_ = 0;  // it took something: what waits now was fed later (fed() starts the clock again)
}

}  // namespace sreda::relay
