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
  GstBuffer* out = gst_buffer_new_allocate(nullptr, header, nullptr);
  if (header <= n) {
    gst_buffer_fill(out, 0, head, header);
  } else {
    std::vector<uint8_t> h(header);
    gst_buffer_extract(packet, 0, h.data(), header);
    gst_buffer_fill(out, 0, h.data(), header);
  }
  const uint8_t b1 = static_cast<uint8_t>((head[1] & 0x80) | (pt & 0x7f));  // marker bit kept
  const uint8_t s[2] = {static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq & 0xff)};
  gst_buffer_fill(out, 1, &b1, 1);
  gst_buffer_fill(out, 2, s, 2);
  const uint8_t ts[4] = {static_cast<uint8_t>(timestamp >> 24), static_cast<uint8_t>(timestamp >> 16),
                         static_cast<uint8_t>(timestamp >> 8), static_cast<uint8_t>(timestamp)};
  gst_buffer_fill(out, 4, ts, 4);
  GstBuffer* payload = gst_buffer_copy_region(packet, GST_BUFFER_COPY_MEMORY, header, size - header);
  out = gst_buffer_append(out, payload);
  GST_BUFFER_PTS(out) = pts;
  GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
  return out;
}

void Fanout::add(uint64_t viewer, std::shared_ptr<ViewerLink> link, int video_pt, int audio_pt) {
  auto v = std::make_shared<Viewer>();
  v->link = std::move(link);
  v->pt[0] = video_pt;
  v->pt[1] = audio_pt;
  v->seq[0] = static_cast<uint16_t>(g_random_int());
  v->seq[1] = static_cast<uint16_t>(g_random_int());
  {
    std::lock_guard<std::mutex> l(mutex_);
    viewers_[viewer] = std::move(v);
  }
  if (callbacks_.keyframe_wanted) callbacks_.keyframe_wanted();
}

void Fanout::remove(uint64_t viewer) {
  std::lock_guard<std::mutex> l(mutex_);
  viewers_.erase(viewer);
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
  return viewers_.size();
}

void Fanout::on_rtp(media::TrackKind track, GstBuffer* packet) {
  const int t = index(track);
  uint8_t head[kPeek];
  const size_t n = gst_buffer_extract(packet, 0, head, kPeek);
  if (n < 12) return;  // not RTP
  const bool starts_keyframe = track == media::TrackKind::video && h264_rtp_starts_keyframe(head, n);
  const uint32_t feed_timestamp = static_cast<uint32_t>(head[4]) << 24 | static_cast<uint32_t>(head[5]) << 16 |
                                  static_cast<uint32_t>(head[6]) << 8 | head[7];
  bool want_keyframe = false;
  std::vector<uint64_t> stalled;
  int64_t dropped = 0;
  {
    // Viewers are few (tens) and sending is a queue push: done under the lock, so remove() means no more
    // packets for that viewer once it returns.
    std::lock_guard<std::mutex> l(mutex_);
    if (viewers_.empty()) return;
    const uint32_t timestamp = viewer_timestamp(t, feed_timestamp);
    const GstClockTime pts = GST_BUFFER_PTS(packet);
    for (auto& [id, v] : viewers_) {
      if (v->pt[t] < 0) continue;  // the viewer takes no such track
      if (!v->link->ready()) {     // not connected yet: skipped; once it is, its video asks for a keyframe
        v->keyframe_asked = false;
        continue;
      }
      const bool slow = v->link->queued_ms(track) > queue_ms_;
      if (track == media::TrackKind::video && v->need_keyframe && !starts_keyframe) {
        // Waiting for a keyframe: asked for once the viewer can take it (the limiter coalesces requests).
        if (!slow && !v->keyframe_asked) want_keyframe = v->keyframe_asked = true;
        continue;
      }
      if (slow) {
        // Too slow: this packet goes (and the viewer's video up to the next keyframe).
        ++dropped;
        if (track == media::TrackKind::video) {
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
      if (track == media::TrackKind::video) v->need_keyframe = v->keyframe_asked = false;
      if (v->base_pts == GST_CLOCK_TIME_NONE && GST_CLOCK_TIME_IS_VALID(pts)) v->base_pts = pts;
      const GstClockTime out_pts =
          GST_CLOCK_TIME_IS_VALID(pts) && pts >= v->base_pts ? pts - v->base_pts : 0;
      if (GstBuffer* out = rtp_for_viewer(packet, v->pt[t], v->seq[t], timestamp, out_pts)) {
        v->seq[t]++;
        if (!v->link->send(track, out)) {  // its connection's own bound
          ++dropped;
          if (track == media::TrackKind::video) v->need_keyframe = true, v->keyframe_asked = false;
        }
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
