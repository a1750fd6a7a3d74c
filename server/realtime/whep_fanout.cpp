#include "server/realtime/whep_fanout.h"

#include <algorithm>
#include <vector>

#include "server/realtime/rtp_packets.h"

namespace sreda::realtime {

namespace {

constexpr size_t kPeek = 64;  // enough for the fixed header, a few CSRCs and the first payload bytes

int64_t now_ms() { return g_get_monotonic_time() / 1000; }

// RTP clock rates: H.264 (RFC 6184) and Opus (RFC 7587) are fixed.
constexpr int64_t kClockRate[2] = {90000, 48000};

}  // namespace

GstBuffer* rtp_for_viewer(GstBuffer* packet, int pt, uint16_t seq, uint32_t timestamp, GstClockTime pts) {
  uint8_t head[kPeek];
  const size_t size = gst_buffer_get_size(packet);
  const size_t n = gst_buffer_extract(packet, 0, head, std::min(size, kPeek));
  size_t header = rtp_payload_offset(head, n);
  if (!header) {  // a header longer than what was peeked (extensions): read it whole
    std::vector<uint8_t> all(size);
    gst_buffer_extract(packet, 0, all.data(), size);
    header = rtp_payload_offset(all.data(), size);
    if (!header) return nullptr;
  }
  // The new header: the feed's, with the viewer's payload type (marker bit kept), sequence number and timestamp.
  std::vector<uint8_t> long_header;
  uint8_t* h = head;
  if (header > n) {
    long_header.resize(header);
    gst_buffer_extract(packet, 0, long_header.data(), header);
    h = long_header.data();
  }
  h[1] = static_cast<uint8_t>((h[1] & 0x80) | (pt & 0x7f));
  h[2] = static_cast<uint8_t>(seq >> 8);
  h[3] = static_cast<uint8_t>(seq & 0xff);
  h[4] = static_cast<uint8_t>(timestamp >> 24);
  h[5] = static_cast<uint8_t>(timestamp >> 16);
  h[6] = static_cast<uint8_t>(timestamp >> 8);
  h[7] = static_cast<uint8_t>(timestamp);
  GstBuffer* out = gst_buffer_new_allocate(nullptr, header, nullptr);
  gst_buffer_fill(out, 0, h, header);
  GstBuffer* payload = gst_buffer_copy_region(packet, GST_BUFFER_COPY_MEMORY, header, size - header);
  out = gst_buffer_append(out, payload);
  GST_BUFFER_PTS(out) = pts;
  GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
  return out;
}

Fanout::Fanout(int queue_ms, int stall_ms, FanoutCallbacks callbacks, int senders)
    : queue_ms_(queue_ms), stall_ms_(stall_ms), callbacks_(std::move(callbacks)) {
  for (int i = 0; i < std::max(1, senders); ++i) shards_.push_back(std::make_unique<Shard>());
}

Fanout::~Fanout() {
  for (auto& shard : shards_) {
    {
      std::lock_guard<std::mutex> l(shard->queue_mutex);
      shard->stopping = true;
    }
    shard->wake.notify_one();
    if (shard->thread.joinable()) shard->thread.join();
  }
}

void Fanout::add(uint64_t viewer, std::shared_ptr<ViewerLink> link, int video_pt, int audio_pt) {
  auto v = std::make_shared<Viewer>();
  v->link = std::move(link);
  v->pt[0] = video_pt;
  v->pt[1] = audio_pt;
  v->seq[0] = static_cast<uint16_t>(g_random_int());
  v->seq[1] = static_cast<uint16_t>(g_random_int());
  size_t s = 0;
  {
    std::lock_guard<std::mutex> l(mutex_);
    auto old = where_.find(viewer);
    if (old != where_.end()) {
      s = old->second;
    } else {
      for (size_t i = 1; i < shards_.size(); ++i)
        if (shards_[i]->count.load() < shards_[s]->count.load()) s = i;
      where_[viewer] = s;
      shards_[s]->count++;
    }
  }
  Shard& shard = *shards_[s];
  if (!shard.thread.joinable()) shard.thread = std::thread([this, &shard] { run(shard); });
  {
    std::lock_guard<std::mutex> l(shard.mutex);  // not under mutex_: a shard may be busy sending
    shard.viewers[viewer] = std::move(v);
  }
  if (callbacks_.keyframe_wanted) callbacks_.keyframe_wanted();
}

void Fanout::remove(uint64_t viewer) {
  size_t s = 0;
  {
    std::lock_guard<std::mutex> l(mutex_);
    auto it = where_.find(viewer);
    if (it == where_.end()) return;
    s = it->second;
    where_.erase(it);
    shards_[s]->count--;
  }
  // Waits for the shard's packet being sent: after this, nothing more goes to the viewer.
  std::lock_guard<std::mutex> l(shards_[s]->mutex);
  shards_[s]->viewers.erase(viewer);
}

void Fanout::new_source() {
  std::lock_guard<std::mutex> l(mutex_);
  for (auto& t : timeline_) t.rebase = t.sent;
}

uint32_t Fanout::viewer_timestamp(int track, uint32_t feed_timestamp) {
  Timeline& t = timeline_[track];
  const int64_t now = now_ms();
  if (t.rebase) {
    // The new feed's first packet: the last timestamp sent plus the pause (at least one tick: later).
    const int64_t pause = std::max<int64_t>(1, (now - t.last_ms) * kClockRate[track] / 1000);
    t.offset = t.last + static_cast<uint32_t>(pause) - feed_timestamp;
    t.rebase = false;
  }
  t.sent = true;
  t.last = feed_timestamp + t.offset;
  t.last_ms = now;
  return t.last;
}

size_t Fanout::size() const {
  std::lock_guard<std::mutex> l(mutex_);
  return where_.size();
}

void Fanout::on_rtp(media::TrackKind track, GstBuffer* packet) {
  auto list = gst::GstRef<GstBufferList>::adopt(gst_buffer_list_new_sized(1));
  gst_buffer_list_add(list.get(), gst_buffer_ref(packet));
  hand_off(index(track), std::move(list));
}

void Fanout::on_rtp_list(media::TrackKind track, GstBufferList* packets) {
  hand_off(index(track), gst::GstRef<GstBufferList>::retain(packets));
}

void Fanout::hand_off(int t, gst::GstRef<GstBufferList> packets) {
  Item item;
  item.track = t;
  const guint count = gst_buffer_list_length(packets.get());
  std::vector<uint32_t> feed_timestamps;
  feed_timestamps.reserve(count);
  for (guint i = 0; i < count; ++i) {
    uint8_t head[kPeek];
    const size_t n = gst_buffer_extract(gst_buffer_list_get(packets.get(), i), 0, head, kPeek);
    if (n < 12) return;  // not RTP
    if (t == 0 && item.keyframe_at < 0 && h264_rtp_starts_keyframe(head, n)) item.keyframe_at = static_cast<int>(i);
    feed_timestamps.push_back(static_cast<uint32_t>(head[4]) << 24 | static_cast<uint32_t>(head[5]) << 16 |
                              static_cast<uint32_t>(head[6]) << 8 | head[7]);
  }
  int64_t dropped = 0;
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (where_.empty() || !count) return;
    for (uint32_t ts : feed_timestamps) item.timestamps.push_back(viewer_timestamp(t, ts));
    item.handed_ms = now_ms();
    // One hand-off per shard: a reference to the packets, never a wait for the shard.
    for (auto& shard : shards_) {
      const int viewers = shard->count.load();
      if (!viewers) continue;
      {
        std::lock_guard<std::mutex> q(shard->queue_mutex);
        if (!shard->queue.empty() && item.handed_ms - shard->queue.front().handed_ms > queue_ms_) {
          dropped += int64_t{viewers} * count;  // the shard is behind: these packets go for all its viewers
          shard->lost[t] = true;
          continue;
        }
        Item mine = item;
        mine.packets = packets;
        mine.after_gap = shard->lost[t];
        shard->lost[t] = false;
        shard->queue.push_back(std::move(mine));
      }
      shard->wake.notify_one();
    }
  }
  if (dropped) {
    dropped_ += dropped;
    if (callbacks_.dropped) callbacks_.dropped(dropped);
  }
}

void Fanout::run(Shard& shard) {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> q(shard.queue_mutex);
      shard.wake.wait(q, [&] { return shard.stopping || !shard.queue.empty(); });
      if (shard.stopping) return;
      item = std::move(shard.queue.front());
      shard.queue.pop_front();
    }
    send(shard, item);
  }
}

void Fanout::send(Shard& shard, const Item& item) {
  const int t = item.track;
  const media::TrackKind track = t == 0 ? media::TrackKind::video : media::TrackKind::audio;
  const guint count = gst_buffer_list_length(item.packets.get());
  const GstClockTime pts = GST_BUFFER_PTS(gst_buffer_list_get(item.packets.get(), 0));
  bool want_keyframe = false;
  std::vector<uint64_t> stalled;
  int64_t dropped = 0;
  {
    // Sent under the shard's lock, so remove() means no more packets for that viewer once it returns.
    std::lock_guard<std::mutex> l(shard.mutex);
    for (auto& [id, v] : shard.viewers) {
      if (v->pt[t] < 0) continue;  // the viewer takes no such track
      if (item.after_gap && t == 0) v->need_keyframe = true, v->keyframe_asked = false;  // the shard dropped video
      if (!v->link->ready()) {     // not connected yet: skipped; once it is, its video asks for a keyframe
        v->keyframe_asked = false;
        continue;
      }
      const bool slow = v->link->queued_ms(track) > queue_ms_;
      guint first = 0;
      if (t == 0 && v->need_keyframe) {
        if (item.keyframe_at < 0) {
          // Waiting for a keyframe: asked for once the viewer can take it (the limiter coalesces requests).
          if (!slow && !v->keyframe_asked) want_keyframe = v->keyframe_asked = true;
          continue;
        }
        first = static_cast<guint>(item.keyframe_at);  // the keyframe's packets, not what came before it
      }
      if (slow) {
        // Too slow: these packets go (and the viewer's video up to the next keyframe).
        dropped += count - first;
        if (t == 0) {
          v->need_keyframe = true;
          v->keyframe_asked = false;
        }
        const int64_t now = now_ms();
        if (v->full_since_ms < 0) v->full_since_ms = now;
        if (now - v->full_since_ms >= stall_ms_ && !v->stall_reported) {
          v->stall_reported = true;
          stalled.push_back(id);
        }
        continue;
      }
      v->full_since_ms = -1;
      if (t == 0) v->need_keyframe = v->keyframe_asked = false;
      if (v->base_pts == GST_CLOCK_TIME_NONE && GST_CLOCK_TIME_IS_VALID(pts)) v->base_pts = pts;
      auto out = gst::GstRef<GstBufferList>::adopt(gst_buffer_list_new_sized(count - first));
      for (guint i = first; i < count; ++i) {
        GstBuffer* packet = gst_buffer_list_get(item.packets.get(), i);
        const GstClockTime p = GST_BUFFER_PTS(packet);
        const GstClockTime out_pts = GST_CLOCK_TIME_IS_VALID(p) && p >= v->base_pts ? p - v->base_pts : 0;
        if (GstBuffer* b = rtp_for_viewer(packet, v->pt[t], v->seq[t], item.timestamps[i], out_pts)) {
          v->seq[t]++;
          gst_buffer_list_add(out.get(), b);
        }
      }
      const guint n = gst_buffer_list_length(out.get());
      bool sent = true;
      if (n == 1)
        sent = v->link->send(track, gst_buffer_ref(gst_buffer_list_get(out.get(), 0)));
      else if (n > 1)
        sent = v->link->send_list(track, out.release());
      if (!sent) {  // its connection's own bound
        dropped += n;
        if (t == 0) v->need_keyframe = true, v->keyframe_asked = false;
      }
    }
  }
  if (dropped) {
    dropped_ += dropped;
    if (callbacks_.dropped) callbacks_.dropped(dropped);
  }
  if (want_keyframe && callbacks_.keyframe_wanted) callbacks_.keyframe_wanted();
  if (callbacks_.stalled)
    for (uint64_t id : stalled) callbacks_.stalled(id);
}

}  // namespace sreda::realtime
