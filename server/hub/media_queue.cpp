#include "server/hub/media_queue.h"

#include <pthread.h>

#include <chrono>

#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::hub {

MediaQueue::MediaQueue(std::string name, std::shared_ptr<MediaConsumer> consumer, Limits limits)
    : name_(std::move(name)), consumer_(std::move(consumer)), limits_(limits) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), name_.substr(0, 15).c_str());
}

MediaQueue::~MediaQueue() { close(); }

void MediaQueue::session_start(const media::MediaFacts& facts, bool discontinuity, int64_t first_sample_wall_ms,
                               int64_t first_sample_media_us) {
  std::lock_guard lock(mutex_);
  if (closing_) return;
  Item item;
  item.start = true;
  item.facts = facts;
  item.discontinuity = discontinuity;
  item.wall_ms = first_sample_wall_ms;
  item.media_us = first_sample_media_us;
  item.queued_ms = now_ms();
  items_.push_back(std::move(item));
  video_waits_keyframe_ = false;  // a new configuration starts on a keyframe anyway
  wake_.notify_one();
}

int64_t MediaQueue::now_ms() const {
  return limits_.now_ms ? limits_.now_ms() : core::steady_ms();
}

bool MediaQueue::over_limits_locked(const media::AccessUnit& incoming, int64_t now) const {
  if (bytes_ + incoming.data.size() > limits_.max_bytes) return true;
  return !items_.empty() && now - items_.front().queued_ms > limits_.max_wait_ms;
}

void MediaQueue::drop_locked(const std::string& why) {
  dropped_++;
  if (burst_dropped_++ == 0)
    core::Logger("hub").warn(name_ + ": the event's consumers are " + why + "; dropping video to its next keyframe "
                             "and audio until they catch up");
}

bool MediaQueue::unit(media::AccessUnit unit) {
  std::lock_guard lock(mutex_);
  if (closing_) {
    dropped_++;
    return false;
  }
  const bool video = unit.track == media::TrackKind::video;
  if (video && video_waits_keyframe_ && !unit.keyframe) {
    drop_locked("behind");  // within a burst (it began with the drop that set the wait): no new line
    return false;
  }
  const int64_t now = now_ms();
  if (over_limits_locked(unit, now)) {
    if (video) video_waits_keyframe_ = true;
    drop_locked(bytes_ + unit.data.size() > limits_.max_bytes
                    ? "holding over " + std::to_string(limits_.max_bytes >> 10) + " KiB of the publisher's media"
                    : "over " + std::to_string(limits_.max_wait_ms) + " ms behind the publisher");
    return false;
  }
  if (video) video_waits_keyframe_ = false;
  if (burst_dropped_ && !video_waits_keyframe_) {
    core::Logger("hub").info(name_ + ": the consumers caught up; " + std::to_string(burst_dropped_) +
                             " unit(s) were dropped");
    burst_dropped_ = 0;
  }
  bytes_ += unit.data.size();
  Item item;
  item.queued_ms = now;
  item.unit = std::move(unit);
  items_.push_back(std::move(item));
  wake_.notify_one();
  return true;
}

void MediaQueue::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return closing_ || !items_.empty(); });
    if (items_.empty()) return;  // closing and drained
    Item item = std::move(items_.front());
    items_.pop_front();
    if (!item.start) bytes_ -= item.unit.data.size();
    lock.unlock();
    if (consumer_) {
      if (item.start)
        consumer_->on_session_start(item.facts, item.discontinuity, item.wall_ms, item.media_us);
      else
        consumer_->on_access_unit(item.unit);
    }
    lock.lock();
    if (!item.start) delivered_++;
    if (items_.empty()) drained_.notify_all();
  }
}

void MediaQueue::close() {
  std::unique_lock lock(mutex_);
  if (!closing_) {
    closing_ = true;
    wake_.notify_one();
    // What waits still reaches the consumers (a publisher's last seconds are part of the recording), unless
    // a consumer is stuck: then the rest is dropped so the hub's control thread is not held.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.drain_ms);
    drained_.wait_until(lock, deadline, [this] { return items_.empty(); });
    if (!items_.empty()) {
      uint64_t left = 0;
      for (const Item& i : items_) left += i.start ? 0 : 1;
      dropped_ += left;
      core::Logger("hub").warn(name_ + ": the consumers took over " + std::to_string(limits_.drain_ms) +
                               " ms to take the publisher's last media; " + std::to_string(left) + " unit(s) dropped");
      items_.clear();
      bytes_ = 0;
    }
  }
  lock.unlock();
  std::lock_guard join(join_mutex_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

uint64_t MediaQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

uint64_t MediaQueue::delivered() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

}  // namespace sreda::hub
