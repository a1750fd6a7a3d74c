// The fan-out of one event's WHEP feed: every RTP packet the feed payloaded once goes to every viewer's
// connection, with the viewer's own payload type (the numbers its offer chose) and its own continuous
// sequence numbers; the payload's memory is shared, only the 12-byte header is new per viewer. A frame's
// packets (the payloader's buffer list: one RTP timestamp) stay one list through to each viewer's connection
// (ViewerLink::send_list), so webrtcbin's send path runs once per frame, not once per packet.
//
// RTP timestamps run on across feeds: when the event's feed is rebuilt (the studio reconnected, its codecs
// changed) the new feed's payloaders start from their own random timestamps; new_source() makes the first
// packet of each track continue from the last one sent plus the time that passed, so a viewer connected across
// the rebuild sees one stream that paused (browsers resume by themselves), never a jump of hours.
//
// Sender threads: an event's viewers are spread over `senders` shards (the one with the fewest viewers takes
// a new one), each with its own thread and queue: on_rtp()/on_rtp_list() only compute the viewers' timestamps
// and hand the packets (a reference, not a copy) to each shard that has viewers, and each shard's thread makes and sends its
// viewers' copies. So one event's sending takes up to `senders` cores, and a slow viewer delays only its own
// shard. A shard's queue holds at most `queue_ms` of packets (by when they were handed over): beyond, the
// packet is dropped for all of the shard's viewers (counted per viewer, connecting ones too), and their video
// resumes at the next keyframe (asked for); a shard behind closes no one (stall_ms is per connection).
//
// Per viewer, a bound: a connection that queues may hold at most `queue_ms` of packets per track (WebRtcPeer
// does not queue: it sends in send(), on its shard's thread, and says false when it could not); beyond, or
// when send() fails, the viewer's video is dropped up to the next keyframe (audio: the packet), counted, and
// the feed is asked for a keyframe. A viewer is skipped (nothing counted) until its connection is ready(); its
// video starts at a keyframe (add() asks for one). A viewer whose queue stayed full for `stall_ms` is reported
// (the service closes it: its page falls back to LL-HLS). Once remove() returns, no more packets go to that
// viewer.
//
// Threads: add()/remove()/new_source() from the rtc thread; on_rtp()/on_rtp_list() on the feed's streaming
// threads (one per track); the callbacks come from those threads and the shards' threads (keep them short: post). The
// destructor stops the shards' threads (not from one of them).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pipelines/gst/gst_ref.h"
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
  // The packets of one frame (transfer full), in order; false when any was dropped.
  virtual bool send_list(media::TrackKind track, GstBufferList* packets) {
    auto list = gst::GstRef<GstBufferList>::adopt(packets);
    bool all = true;
    for (guint i = 0; i < gst_buffer_list_length(list.get()); ++i)
      all = send(track, gst_buffer_ref(gst_buffer_list_get(list.get(), i))) && all;
    return all;
  }
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
  // `senders`: the number of sender threads (shards), at least 1; started as viewers come.
  Fanout(int queue_ms, int stall_ms, FanoutCallbacks callbacks, int senders = 1);
  ~Fanout() override;
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  void add(uint64_t viewer, std::shared_ptr<ViewerLink> link, int video_pt, int audio_pt);
  void remove(uint64_t viewer);
  // The packets that follow come from a new feed (rtc thread, after the old feed has stopped).
  void new_source();
  size_t size() const;
  int64_t dropped() const { return dropped_.load(); }
  // A feed error goes here too (the service sets it before the feed starts).
  std::function<void(const std::string&)> feed_error;

  void on_rtp(media::TrackKind track, GstBuffer* packet) override;
  void on_rtp_list(media::TrackKind track, GstBufferList* packets) override;
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
  // One packet, or one frame's packets, handed to a shard (holds a reference to the list).
  struct Item {
    int track = 0;
    gst::GstRef<GstBufferList> packets;
    std::vector<uint32_t> timestamps;  // the viewers' RTP timestamp of each packet
    int keyframe_at = -1;         // the first packet that starts a keyframe (-1: none)
    bool after_gap = false;       // packets of this track were dropped for the shard just before
    int64_t handed_ms = 0;
  };
  struct Shard {
    std::mutex queue_mutex;  // queue, lost, stopping
    std::condition_variable wake;
    std::deque<Item> queue;
    bool lost[2] = {false, false};
    bool stopping = false;
    std::atomic<int> count{0};  // viewers (read by on_rtp without the shard's mutex)
    std::mutex mutex;            // viewers; held while sending to them
    std::map<uint64_t, std::shared_ptr<Viewer>> viewers;
    std::thread thread;          // started with the first viewer (rtc thread)
  };
  static int index(media::TrackKind t) { return t == media::TrackKind::video ? 0 : 1; }
  uint32_t viewer_timestamp(int track, uint32_t feed_timestamp);  // under mutex_
  void hand_off(int track, gst::GstRef<GstBufferList> packets);
  void run(Shard& shard);
  void send(Shard& shard, const Item& item);

  const int queue_ms_, stall_ms_;
  FanoutCallbacks callbacks_;
  mutable std::mutex mutex_;           // timeline_, where_
  std::map<uint64_t, size_t> where_;   // viewer → its shard
  Timeline timeline_[2];
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<int64_t> dropped_{0};
};

// A copy of an RTP packet for one viewer: a new header (payload type `pt`, sequence number `seq`, RTP
// timestamp `timestamp`) in front of the packet's payload memory (shared, not copied); buffer timestamps from
// `pts`. Null when it is not RTP.
GstBuffer* rtp_for_viewer(GstBuffer* packet, int pt, uint16_t seq, uint32_t timestamp, GstClockTime pts);

}  // namespace sreda::realtime
