// The fan-out of one event's WHEP feed: every RTP packet the feed payloaded once goes to every viewer's
// connection, with the viewer's own payload type (the numbers its offer chose) and its own continuous
// sequence numbers; the payload's memory is shared, only the 12-byte header is new per viewer.
//
// RTP timestamps run on across feeds: when the event's feed is rebuilt (the studio reconnected, its codecs
// changed) the new feed's payloaders start from their own random timestamps; new_source() makes the first
// packet of each track continue from the last one sent plus the time that passed, so a viewer connected across
// the rebuild sees one stream that paused (browsers resume by themselves), never a jump of hours.
//
// Per viewer, a bound: a connection that queues may hold at most `queue_ms` of packets per track (WebRtcPeer
// does not queue: it sends in send(), on this thread, and says false when it could not); beyond, or when
// send() fails, the viewer's video is dropped up to the next keyframe (audio: the packet), counted, and the
// feed is asked for a keyframe. A viewer is skipped (nothing counted) until its connection is ready(); its
// video starts at a keyframe (add() asks for one). A viewer whose queue stayed full for `stall_ms` is reported
// (the service closes it: its page falls back to LL-HLS).
//
// Threads: add()/remove() from the rtc thread; on_rtp() on the feed's streaming threads (one per track);
// the callbacks come from those threads (keep them short: post).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "server/media/access_unit.h"
#include "server/realtime/whep_feed.h"

namespace sreda::realtime {

// One viewer's connection as the fan-out sees it (a WebRtcPeer in send mode).
class ViewerLink {
 public:
  virtual ~ViewerLink() = default;
  // A packet for the track (transfer full), already carrying the viewer's payload type. Feed streaming threads.
  // False: the connection dropped it (its own bound, or not sending yet): the fan-out treats it as a drop.
  virtual bool send(media::TrackKind track, GstBuffer* packet) = 0;
  // False while the connection cannot take packets yet (connecting): the fan-out skips the viewer, counting no
  // drop, and its video starts at a keyframe once it can.
  virtual bool ready() const { return true; }
  // How much of the track waits to be sent (milliseconds of media); 0 when the connection does not tell.
  virtual int64_t queued_ms(media::TrackKind track) const = 0;
  // Ends the connection (rtc thread; after the fan-out has forgotten it). Idempotent.
  virtual void close() = 0;
};

struct FanoutCallbacks {
  std::function<void()> keyframe_wanted;           // a viewer joined or lost video
  std::function<void(uint64_t viewer)> stalled;    // a viewer's queue stayed full for stall_ms
  std::function<void(int64_t packets)> dropped;    // packets dropped for slow viewers (a metric)
};

class Fanout : public FeedSink {
 public:
  Fanout(int queue_ms, int stall_ms, FanoutCallbacks callbacks)
      : queue_ms_(queue_ms), stall_ms_(stall_ms), callbacks_(std::move(callbacks)) {}

  void add(uint64_t viewer, std::shared_ptr<ViewerLink> link, int video_pt, int audio_pt);
  void remove(uint64_t viewer);
  // The packets that follow come from a new feed (rtc thread, after the old feed has stopped).
  void new_source();
  size_t size() const;
  int64_t dropped() const { return dropped_.load(); }
  // A feed error goes here too (the service sets it before the feed starts).
  std::function<void(const std::string&)> feed_error;

  void on_rtp(media::TrackKind track, GstBuffer* packet) override;
  void on_feed_error(const std::string& reason) override {
    if (feed_error) feed_error(reason);
  }

 private:
  struct Viewer {
    std::shared_ptr<ViewerLink> link;
    int pt[2] = {0, 0};         // by track: video, audio
    uint16_t seq[2] = {0, 0};   // the next sequence number sent, per track
    bool need_keyframe = true;  // video waits for a keyframe (start, after a drop)
    bool keyframe_asked = true; // … and has asked for it (add() asks for the first one)
    GstClockTime base_pts = GST_CLOCK_TIME_NONE;  // the viewer's timestamps start near 0
    int64_t full_since_ms = -1;
    bool stall_reported = false;
  };
  // One track's timestamps as viewers see them: the feed's plus `offset` (mod 2^32).
  struct Timeline {
    bool sent = false;      // a packet went out (there is a timestamp to continue from)
    bool rebase = false;    // the next packet comes from a new feed: recompute `offset`
    uint32_t offset = 0;
    uint32_t last = 0;      // the last timestamp sent
    int64_t last_ms = 0;    // when (monotonic)
  };
  static int index(media::TrackKind t) { return t == media::TrackKind::video ? 0 : 1; }
  uint32_t viewer_timestamp(int track, uint32_t feed_timestamp);  // under mutex_

  const int queue_ms_, stall_ms_;
  FanoutCallbacks callbacks_;
  mutable std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<Viewer>> viewers_;
  Timeline timeline_[2];
  std::atomic<int64_t> dropped_{0};
};

// A copy of an RTP packet for one viewer: a new header (payload type `pt`, sequence number `seq`, RTP
// timestamp `timestamp`) in front of the packet's payload memory (shared, not copied); buffer timestamps from
// `pts`. Null when it is not RTP.
GstBuffer* rtp_for_viewer(GstBuffer* packet, int pt, uint16_t seq, uint32_t timestamp, GstClockTime pts);

}  // namespace sreda::realtime
