// WebRtcPeer (pipelines/webrtc/webrtc_peer.h) against a second webrtcbin in the same process, on 127.0.0.1:
//  - receive (WHIP): a browser-like sendonly offerer (x264 without B-frames + Opus) publishes to the peer:
//  the
//    answer carries candidates only on 127.0.0.1 and only in the configured port range, H.264 units (avcC,
//    SPS/PPS, IDR) and Opus packets arrive, request_keyframe() makes the peer send a PLI and the sender
//    encodes a new IDR;
//  - send (WHEP): the peer answers a recvonly viewer with the viewer's payload types, the RTP pushed into it
//  is
//    decoded by the viewer, and the viewer's PLI comes out as on_keyframe_wanted;
//  - bounded waits and teardown (errors in words, no threads left behind).
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <unistd.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <sstream>
#include <string>

#include "pipelines/gst/av_h264_dec.h"
#include "tests/media/webrtc_test_peer.h"

namespace sreda::webrtc {
namespace {

using namespace test;  // NOLINT
using gst::GstRef;
using media::TrackKind;
using namespace std::chrono_literals;

class WebRtcPeerMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gst_init(nullptr, nullptr);
    gst::register_av_h264_dec();
  }
};

TEST_F(WebRtcPeerMediaTest, SupportCheckFindsEverythingOnThisMachine) {
  auto problems = check_webrtc_support();
  for (const auto& p : problems) ADD_FAILURE() << p;
}

// A WHIP publish: H.264 + Opus in, keyframe on request.
TEST_F(WebRtcPeerMediaTest, ReceivesH264AndOpusFromABrowserLikeOffererAndAsksForKeyframes) {
  const int base = port_base();
  RemotePeer browser(
      "webrtcbin name=w bundle-policy=max-bundle "
      "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w. "
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc name=enc bframes=0 tune=zerolatency speed-preset=ultrafast key-int-max=100000 ! "
      "video/x-h264,profile=constrained-baseline ! rtph264pay pt=102 config-interval=-1 "
      "aggregate-mode=zero-latency ! "
      "application/x-rtp,media=video,encoding-name=H264,payload=102 ! w.");
  std::atomic<int> sender_idr{0};
  {
    auto pad = GstRef<GstPad>::adopt(gst_element_get_static_pad(browser.element("enc"), "src"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer n) {
          if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT))
            ++*static_cast<std::atomic<int>*>(n);
          return GST_PAD_PROBE_OK;
        },
        &sender_idr, nullptr);
  }
  ASSERT_NE(gst_element_set_state(browser.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GArray* transceivers = nullptr;
  g_signal_emit_by_name(browser.webrtc(), "get-transceivers", &transceivers);
  ASSERT_TRUE(transceivers);
  for (guint i = 0; i < transceivers->len; ++i)
    g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i), "direction",
                 GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
  g_array_unref(transceivers);
  std::string offer = browser.offer();
  ASSERT_FALSE(offer.empty());
  // Chromium offers the transport-wide-cc header extension on every m-line; webrtcbin as offerer does not.
  const std::string extmap =
      "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
  for (size_t at = offer.find("a=mid:"); at != std::string::npos;
       at = offer.find("a=mid:", at + extmap.size() + 1))
    offer.insert(at, extmap);
  std::printf("[spike] offer:\n%s\n", offer.c_str());

  TestTimer timer;
  Observed seen;
  const int threads_before = thread_count();
  WebRtcPeer peer("test-whip", loopback_ice(base, base + 19), Direction::receive, seen.callbacks(timer));
  TrackChoice tracks;
  tracks.video_pt = 102;
  tracks.audio_pt = 111;
  tracks.twcc_extmap_id = 3;
  peer.answer(offer, tracks, seen.on_answer());
  const std::string answer = seen.answer_text(102, 111);
  ASSERT_FALSE(answer.empty());
  auto lines = candidate_lines(answer);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {  // a=candidate:F C TRANSPORT PRIO ADDR PORT typ TYPE
    std::istringstream w(line);
    std::string f, c, t, prio, addr, port;
    w >> f >> c >> t >> prio >> addr >> port;
    EXPECT_EQ(addr, "127.0.0.1") << line;
    EXPECT_GE(std::stoi(port), base) << line;
    EXPECT_LE(std::stoi(port), base + 19) << line;
  }
  EXPECT_NE(answer.find("a=end-of-candidates"), std::string::npos);
  EXPECT_NE(answer.find("a=recvonly"), std::string::npos);
  EXPECT_NE(
      answer.find("a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
      std::string::npos);
  ASSERT_TRUE(browser.set_answer(answer));

  ASSERT_TRUE(seen.wait([&] { return seen.connected(); }));
  // As WhipSession does, ask for a keyframe every 2 s until the first arrives: the encoder's first IDR can go
  // out before DTLS is up, and rtph264depay's own request can be lost on a busy machine (seen once in a
  // parallel ctest: video 0, audio 1009 after 20 s).
  std::atomic<bool> have_idr{false};
  std::thread asker([&] {
    for (int i = 0; i < 10 && !have_idr; ++i) {
      for (int t = 0; t < 20 && !have_idr; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!have_idr) peer.request_keyframe();
    }
  });
  const bool started = seen.wait([&] {
    if (seen.idr_units >= 1) have_idr = true;
    return seen.idr_units >= 1 && seen.audio_units >= 25 && seen.video_units >= 15;
  });
  have_idr = true;
  asker.join();
  ASSERT_TRUE(started) << "video "
      << seen.video_units << " (idr " << seen.idr_units << "), audio " << seen.audio_units;
  {
    std::lock_guard lock(seen.m);
    bool video = false, audio = false;
    for (const auto& f : seen.formats) {
      if (f.track == TrackKind::video) {
        video = true;
        EXPECT_EQ(f.codec, "h264");
        EXPECT_EQ(f.width, 320);
        EXPECT_EQ(f.height, 240);
        ASSERT_GT(f.codec_data.size(), 8u);  // avcC with one SPS and one PPS
        EXPECT_EQ(f.codec_data[0], 1);
        EXPECT_NE(f.caps.find("stream-format=(string)avc"), std::string::npos);
      } else {
        audio = true;
        EXPECT_EQ(f.codec, "opus");
        EXPECT_EQ(f.rate, 48000);
      }
    }
    EXPECT_TRUE(video && audio);
    EXPECT_FALSE(seen.pts_went_back);
  }
  std::printf("[spike] threads: %d before the peer, %d with both connected\n", threads_before,
              thread_count());

  // A keyframe on request: the peer sends a PLI, the sender's encoder makes a new IDR that arrives.
  const int idr_sent = sender_idr.load();
  int idr_seen = 0;
  {
    std::lock_guard lock(seen.m);
    idr_seen = seen.idr_units;
  }
  const uint32_t pli_before = peer_stats(peer).pli_sent;
  peer.request_keyframe();
  ASSERT_TRUE(seen.wait([&] { return seen.idr_units > idr_seen; })) << "no new IDR after request_keyframe()";
  EXPECT_GT(sender_idr.load(), idr_sent);
  PeerStats stats = peer_stats(peer);
  std::printf(
      "[spike] receive stats: bytes %llu packets %llu lost %lld pli_sent %u fir_sent %u nack_sent %u\n",
      (unsigned long long)stats.bytes_received, (unsigned long long)stats.packets_received,
      (long long)stats.packets_lost, stats.pli_sent, stats.fir_sent, stats.nack_sent);
  // request_keyframe() sends a PLI; rtph264depay's own request after a lost packet is a FIR, and rtpsession
  // coalesces requests close together: either counts.
  EXPECT_GE(stats.pli_sent + stats.fir_sent, pli_before + 1u);
  EXPECT_GT(stats.bytes_received, 10000u);

  const int threads_connected = thread_count();
  peer.stop();
  std::printf("[spike] threads: the receiving peer held %d (stop released them)\n",
              threads_connected - thread_count());
  browser.stop();
}

// A WHEP viewer: the peer sends RTP payloaded elsewhere (once per event) with the viewer's payload types.
TEST_F(WebRtcPeerMediaTest, SendsPayloadedRtpToARecvonlyViewerThatDecodesIt) {
  const int base = port_base() + 20;
  // The viewer: recvonly H.264 (pt 98) and Opus (pt 109), decoding what arrives.
  RemotePeer viewer("webrtcbin name=w bundle-policy=max-bundle");
  std::atomic<int> decoded_frames{0}, decoded_audio{0};
  struct Decoders {
    GstElement* pipeline;
    std::atomic<int>* frames;
    std::atomic<int>* audio;
    GstRef<GstPad> video_sink;  // where the viewer asks for keyframes
    std::mutex m;
  } decoders{viewer.pipeline(), &decoded_frames, &decoded_audio, {}, {}};
  g_signal_connect(viewer.webrtc(), "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
                     auto* d = static_cast<Decoders*>(data);
                     if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
                     auto caps = GstRef<GstCaps>::adopt(gst_pad_get_current_caps(pad));
                     const bool video =
                         caps && std::string(gst_structure_get_string(gst_caps_get_structure(caps.get(), 0),
                                                                      "media")) == "video";
                     std::printf("[viewer] pad %s: %s\n", GST_PAD_NAME(pad), video ? "video" : "audio");
                     GstElement* bin = gst_parse_bin_from_description(
                         video ? "rtph264depay ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
                                 "sredaavh264dec ! fakesink name=out sync=false"
                               : "rtpopusdepay ! opusdec ! fakesink name=out sync=false",
                         TRUE, nullptr);
                     gst_bin_add(GST_BIN(d->pipeline), bin);
                     GstElement* out = gst_bin_get_by_name(GST_BIN(bin), "out");
                     auto out_pad = GstRef<GstPad>::adopt(gst_element_get_static_pad(out, "sink"));
                     gst_pad_add_probe(
                         out_pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
                         [](GstPad*, GstPadProbeInfo*, gpointer n) {
                           ++*static_cast<std::atomic<int>*>(n);
                           return GST_PAD_PROBE_OK;
                         },
                         video ? d->frames : d->audio, nullptr);
                     if (video) {
                       std::lock_guard lock(d->m);
                       d->video_sink = out_pad;
                     }
                     gst_object_unref(out);
                     gst_element_sync_state_with_parent(bin);
                     auto sink = GstRef<GstPad>::adopt(gst_element_get_static_pad(bin, "sink"));
                     gst_pad_link(pad, sink.get());
                   }),
                   &decoders);
  ASSERT_NE(gst_element_set_state(viewer.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (const char* c : {"application/x-rtp,media=video,encoding-name=H264,payload=98,clock-rate=90000,"
                        "packetization-mode=(string)1,profile-level-id=(string)42e01f",
                        "application/x-rtp,media=audio,encoding-name=OPUS,payload=109,clock-rate=48000,"
                        "encoding-params=(string)2"})
    ASSERT_TRUE(viewer.add_recvonly(c));
  const std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());
  std::printf("[spike] viewer's offer:\n%s\n", offer.c_str());

  TestTimer timer;
  Observed seen;
  WebRtcPeer peer("test-whep", loopback_ice(base, base + 19), Direction::send, seen.callbacks(timer));
  TrackChoice tracks;
  tracks.video_pt = 98;
  tracks.audio_pt = 109;
  tracks.video_ssrc = 1111111;
  tracks.audio_ssrc = 2222222;
  peer.answer(offer, tracks, seen.on_answer());
  const std::string answer = seen.answer_text(98, 109);
  ASSERT_FALSE(answer.empty());
  EXPECT_NE(answer.find("a=sendonly"), std::string::npos);
  ASSERT_TRUE(viewer.set_answer(answer));

  // The feed: payloaded once, pushed into the peer (as the WHEP fan-out does).
  GError* error = nullptr;
  auto feed = GstRef<GstElement>::adopt(gst_parse_launch(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc name=enc bframes=0 tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
      "rtph264pay pt=98 ssrc=1111111 config-interval=-1 aggregate-mode=zero-latency mtu=1200 ! appsink "
      "name=v sync=false "
      "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=109 ssrc=2222222 ! "
      "appsink name=a sync=false",
      &error));
  ASSERT_FALSE(error) << error->message;
  struct Feed {
    WebRtcPeer* peer;
    TrackKind kind;
    std::atomic<int> dropped{0}, pushed{0};
  } video_feed{&peer, TrackKind::video}, audio_feed{&peer, TrackKind::audio};
  for (auto [name, f] : {std::pair{"v", &video_feed}, std::pair{"a", &audio_feed}}) {
    GstElement* sink = gst_bin_get_by_name(GST_BIN(feed.get()), name);
    GstAppSinkCallbacks cb{};
    cb.new_sample = [](GstAppSink* s, gpointer data) {
      auto* f = static_cast<Feed*>(data);
      auto sample = GstRef<GstSample>::adopt(gst_app_sink_pull_sample(s));
      if (!sample) return GST_FLOW_EOS;
      if (!f->peer->push_rtp(f->kind, gst_buffer_ref(gst_sample_get_buffer(sample.get()))))
        ++f->dropped;
      else
        ++f->pushed;
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, f, nullptr);
    gst_object_unref(sink);
  }
  ASSERT_NE(gst_element_set_state(feed.get(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

  ASSERT_TRUE(seen.wait([&] { return seen.connected(); }));
  ASSERT_TRUE(poll_until([&] { return decoded_frames >= 30 && decoded_audio >= 25; }))
      << "decoded " << decoded_frames << " frames, " << decoded_audio << " audio buffers; video pushed "
      << video_feed.pushed << " dropped " << video_feed.dropped << ", audio pushed " << audio_feed.pushed
      << " dropped " << audio_feed.dropped << "; sent " << peer_stats(peer).packets_sent << " packets";
  // The viewer asks for a keyframe (its PLI): on_keyframe_wanted.
  {
    GstRef<GstPad> pad;
    {
      std::lock_guard lock(decoders.m);
      pad = decoders.video_sink;
    }
    ASSERT_TRUE(pad);
    gst_pad_push_event(pad.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, 1));
  }
  ASSERT_TRUE(seen.wait([&] { return seen.keyframe_wanted >= 1; }))
      << "the viewer's PLI did not reach the feed";
  PeerStats stats = peer_stats(peer);
  std::printf("[spike] send stats: bytes %llu packets %llu lost %lld pli_received %u rtt %.1f ms\n",
              (unsigned long long)stats.bytes_sent, (unsigned long long)stats.packets_sent,
              (long long)stats.packets_lost, stats.pli_received, stats.round_trip_ms);
  EXPECT_GT(stats.packets_sent, 30u);
  EXPECT_GE(stats.pli_received, 1u);
  gst_element_set_state(feed.get(), GST_STATE_NULL);
  const int threads_connected = thread_count();
  peer.stop();
  std::printf("[spike] threads: the sending peer held %d (stop released them)\n",
              threads_connected - thread_count());
  EXPECT_FALSE(peer.push_rtp(TrackKind::video, gst_buffer_new_allocate(nullptr, 100, nullptr)));
  viewer.stop();
}

// Bounded waits and teardown: no address to gather on → a plain-words error after gather_timeout_ms; stop()
// before the answer → done gets "ended"; many peers made and stopped leave no threads behind.
TEST_F(WebRtcPeerMediaTest, NoUsableAddressGivesAnErrorInWordsWithinTheGatherTimeout) {
  RemotePeer viewer("webrtcbin name=w bundle-policy=max-bundle");
  ASSERT_NE(gst_element_set_state(viewer.pipeline(), GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(viewer.add_recvonly(
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2"));
  const std::string offer = viewer.offer();
  ASSERT_FALSE(offer.empty());

  TestTimer timer;
  {
    Observed seen;
    IceSettings ice = loopback_ice(port_base() + 40, port_base() + 49);
    ice.local_addresses = {
        "192.0.2.1"};  // TEST-NET-1: on no interface here, so nothing is gathered (nothing sent)
    ice.gather_timeout_ms = 300;
    WebRtcPeer peer("test-no-address", ice, Direction::send, seen.callbacks(timer));
    TrackChoice tracks;
    tracks.audio_pt = 111;
    tracks.audio_ssrc = 42;
    peer.answer(offer, tracks, seen.on_answer());
    ASSERT_TRUE(seen.wait([&] { return seen.answered; }));
    std::lock_guard lock(seen.m);
    ASSERT_FALSE(seen.answer.ok());
    EXPECT_EQ(seen.answer.error().code, "webrtc_no_candidates");
    EXPECT_NE(seen.answer.error().message.find("webrtc.local_addresses"), std::string::npos)
        << seen.answer.error().message;
  }
  {
    Observed seen;
    IceSettings ice = loopback_ice(port_base() + 40, port_base() + 49);
    ice.local_addresses = {"not an address"};
    WebRtcPeer peer("test-bad-address", ice, Direction::send, seen.callbacks(timer));
    TrackChoice tracks;
    tracks.audio_pt = 111;
    peer.answer(offer, tracks, seen.on_answer());
    ASSERT_TRUE(seen.wait([&] { return seen.answered; }));
    std::lock_guard lock(seen.m);
    ASSERT_FALSE(seen.answer.ok());
    EXPECT_NE(seen.answer.error().message.find("'not an address'"), std::string::npos)
        << seen.answer.error().message;
  }
  // Made, answering and stopped at once, twenty times: done always comes (answer or "ended"), threads do not
  // pile up.
  const int threads_before = thread_count();
  {
    TestTimer cycle_timer;  // its waiting threads are the test's, gone when it ends
    for (int i = 0; i < 20; ++i) {
      Observed seen;
      WebRtcPeer peer("test-cycle", loopback_ice(port_base() + 40, port_base() + 49), Direction::send,
                      seen.callbacks(cycle_timer));
      TrackChoice tracks;
      tracks.audio_pt = 111;
      tracks.audio_ssrc = 42;
      peer.answer(offer, tracks, seen.on_answer());
      if (i % 2 == 1) {
        ASSERT_TRUE(seen.wait([&] { return seen.answered; }));
      }
      peer.stop();
      std::lock_guard lock(seen.m);
      ASSERT_TRUE(seen.answered) << "stop() must end a pending answer";
      if (!seen.answer.ok()) {
        EXPECT_EQ(seen.answer.error().code, "webrtc_stopped");
      }
    }
  }
  std::printf("[spike] threads: %d before 20 peers made and stopped, %d after\n", threads_before,
              thread_count());
  EXPECT_LE(thread_count(),
            threads_before + 4);  // GStreamer's task pool may keep a few for reuse, not 20 peers' worth
  viewer.stop();
}

}  // namespace
}  // namespace sreda::webrtc
