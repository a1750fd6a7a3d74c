// The GStreamer side of a pulled studio: RTMP(S) (rtmp2src → flvdemux) and HLS (souphttpsrc → hlsdemux →
// qtdemux for fMP4/CMAF segments, tsdemux for TS; libsoup 3, the only libsoup here). Each track goes through
// its parser into mpegtsmux, and the MPEG-TS comes out of an appsink the puller's thread reads with a
// timeout. Built in code from named elements (STYLE.md 13); a track that is neither H.264 nor AAC goes to a
// fakesink.
#include <gst/app/gstappsink.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "pipelines/gst/gst_ref.h"
#include "server/relay/http_guard.h"
#include "server/relay/pull_source.h"
#include "server/relay/tls_trust.h"

namespace sreda::relay {

namespace {

using gst::GstRef;

std::string attribute(const std::string& attrs, const std::string& name) {
  size_t at = 0;
  while ((at = attrs.find(name + "=", at)) != std::string::npos) {
    if (at == 0 || attrs[at - 1] == ',' || attrs[at - 1] == ':') {
      size_t v = at + name.size() + 1;
      if (v < attrs.size() && attrs[v] == '"') return attrs.substr(v + 1, attrs.find('"', v + 1) - v - 1);
      return attrs.substr(v, attrs.find(',', v) - v);
    }
    at += name.size();
  }
  return {};
}

std::string resolve_uri(const std::string& base, const std::string& uri) {
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) return uri;
  const size_t authority = base.find("://");
  if (authority == std::string::npos) return uri;
  if (!uri.empty() && uri[0] == '/') return base.substr(0, base.find('/', authority + 3)) + uri;
  std::string dir = base.substr(0, base.find('?'));
  return dir.substr(0, dir.rfind('/') + 1) + uri;
}

// The reason of a refusal by the guarded http source (http_guard.h), or "" for any other message.
std::string http_refusal(GstMessage* m) {
  if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT || !gst_message_has_name(m, kHttpRefused)) return {};
  const gchar* reason = gst_structure_get_string(gst_message_get_structure(m), "reason");
  return reason ? reason : "not allowed";
}

// A small whole-body GET through the guarded souphttpsrc (http and https alike), bounded in size and time.
core::Result<std::string> fetch_text(const std::string& url, int timeout_s, const std::atomic<bool>& stop) {
  auto pipeline =
      GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("pull-playlist"))));
  GstElement* src = gst_element_factory_make(kGuardedHttpSource, nullptr);  // http_guard.h
  if (!src)
    return core::Error{
        "pull_failed",
        "GStreamer element 'souphttpsrc' is missing: apt-get install gstreamer1.0-plugins-good"};
  gst_bin_add(GST_BIN(pipeline.get()), src);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  gst_bin_add(GST_BIN(pipeline.get()), sink);
  g_object_set(src, "location", url.c_str(), "timeout", static_cast<guint>(timeout_s), nullptr);
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_element_link(src, sink);
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  std::string body;
  std::string error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  auto bus = GstRef<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  while (!stop && std::chrono::steady_clock::now() < deadline && body.size() < (1 << 20)) {
    if (auto m = GstRef<GstMessage>::adopt(gst_bus_pop_filtered(
            bus.get(), static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT)))) {
      if (auto refused = http_refusal(m.get()); !refused.empty()) {
        error = refused;  // said in words before the error that follows it
        break;
      }
      if (GST_MESSAGE_TYPE(m.get()) != GST_MESSAGE_ERROR) continue;
      GError* e = nullptr;
      gst_message_parse_error(m.get(), &e, nullptr);
      error = explain_tls_error(e ? e->message : "error");
      if (e) g_error_free(e);
      break;
    }
    auto sample =
        GstRef<GstSample>::adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND));
    if (!sample) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
      continue;
    }
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      body.append(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(buffer, &map);
    }
  }
  const bool eos = gst_app_sink_is_eos(GST_APP_SINK(sink));
  // An error that came with the end of stream (a failed request ends the stream too).
  while (error.empty()) {
    auto m = GstRef<GstMessage>::adopt(
        gst_bus_pop_filtered(bus.get(), static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT)));
    if (!m) break;
    if (auto refused = http_refusal(m.get()); !refused.empty()) {
      error = refused;
    } else if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m.get(), &e, nullptr);
      error = explain_tls_error(e ? e->message : "error");
      if (e) g_error_free(e);
    }
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  // souphttpsrc (1.22, libsoup 3) says only "Internal data stream error" when the TLS handshake fails: ask
  // GIO why, with the same trust.
  if ((!error.empty() || (eos && body.empty())) && !stop)
    if (auto tls = tls_failure(url, timeout_s); !tls.empty()) error = tls;
  if (!error.empty()) return core::Error{"pull_failed", "cannot read the playlist: " + error};
  if (!eos)
    return core::Error{"pull_failed",
                       "the playlist did not arrive within " + std::to_string(timeout_s) + " s"};
  return body;
}

class GstPullSource : public PullSource {
 public:
  GstPullSource(RelayUrl url, PullOptions options) : url_(std::move(url)), options_(std::move(options)) {}
  ~GstPullSource() override {
    if (!pipeline_) return;
    // After an error, give the element that posted it time to leave its error path before it is torn down
    // (hlsdemux2 1.22 posts errors while holding its own lock).
    if (errored_) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  }

  core::Result<void> open(const std::atomic<bool>& stop) override {
    GstElement* src = nullptr;
    GstElement* demux = nullptr;  // whose pads carry the tracks
    pipeline_ = GstRef<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("pull"))));
    if (url_.scheme == Scheme::rtmp || url_.scheme == Scheme::rtmps) {
      src = make("rtmp2src", "gstreamer1.0-plugins-bad");
      demux = make("flvdemux", "gstreamer1.0-plugins-good");
      if (!src || !demux) return fail(error_);
      g_object_set(src, "location", url_.url.c_str(), "timeout",
                   static_cast<guint>(options_.connect_timeout_s), nullptr);
      gst_bin_add_many(GST_BIN(pipeline_.get()), src, demux, nullptr);
      gst_element_link(src, demux);
    } else {
      auto text = fetch_text(url_.url, options_.connect_timeout_s, stop);
      if (!text) return fail(text.error().message);
      auto chosen = choose_variant(url_.url, *text);
      if (!chosen) return fail(chosen.error().message);
      if (auto checked = check_host(chosen->uri); !checked) return fail(checked.error().message);
      // A complete playlist is a stream that has ended (a partner's event that is over): pulling it would
      // replay the whole concert as a new one.
      auto media = chosen->uri == url_.url ? text : fetch_text(chosen->uri, options_.connect_timeout_s, stop);
      if (!media) return fail(media.error().message);
      if (media->find("#EXT-X-ENDLIST") != std::string::npos)
        return fail("the partner's stream has ended (its playlist is complete)");
      // A playlist without a whole segment yet (a stream that has just started, LL-HLS parts only) is a try
      // that comes again.
      if (media->find("#EXTINF") == std::string::npos)
        return fail("the partner's stream has only just started (no whole segment yet)");
      // Segments on other hosts are held to relays.allowed_hosts too, said before any media is fetched; the
      // hosts of later playlists are checked by the guarded source hlsdemux fetches them with (http_guard.h).
      if (auto checked = check_media_hosts(chosen->uri, *media); !checked)
        return fail(checked.error().message);
      variant_ = chosen->words;
      // hlsdemux (adaptivedemux 1), not hlsdemux2: Debian's hlsdemux2 (1.22.0) aborts the process when torn
      // down (g_mutex_clear on a locked mutex), which every reconnect and stop does. Its pads carry whole
      // segments: fMP4 (qtdemux) or MPEG-TS (tsdemux), demuxed in on_pad.
      src = make(kGuardedHttpSource, "gstreamer1.0-plugins-good");
      demux = make("hlsdemux", "gstreamer1.0-plugins-bad");
      if (!src || !demux) return fail(error_);
      g_object_set(src, "location", chosen->uri.c_str(), "timeout",
                   static_cast<guint>(options_.connect_timeout_s), nullptr);
      gst_bin_add_many(GST_BIN(pipeline_.get()), src, demux, nullptr);
      gst_element_link(src, demux);
    }
    mux_ = make("mpegtsmux", "gstreamer1.0-plugins-bad");
    sink_ = make("appsink", "gstreamer1.0-plugins-base");
    if (!mux_ || !sink_) return fail(error_);
    g_object_set(sink_, "sync", FALSE, "max-buffers", 2000u, nullptr);
    gst_bin_add_many(GST_BIN(pipeline_.get()), mux_, sink_, nullptr);
    gst_element_link(mux_, sink_);
    g_signal_connect(demux, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer self) {
                       static_cast<GstPullSource*>(self)->on_pad(pad);
                     }),
                     this);
    if (url_.scheme == Scheme::rtmp || url_.scheme == Scheme::rtmps) {
      // flvdemux adds a track's pad when its first tag comes, and mpegtsmux takes no new stream once it has
      // started: both of the muxer's pads exist from the start (it waits for media on each), and the one no
      // track came for is released when flvdemux has all its pads.
      for (auto& reserved : reserved_)
        reserved = GstRef<GstPad>::adopt(gst_element_request_pad_simple(mux_, "sink_%d"));
      g_signal_connect(demux, "no-more-pads", G_CALLBACK(+[](GstElement*, gpointer self) {
                         static_cast<GstPullSource*>(self)->release_unused_pads();
                       }),
                       this);
    }
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return fail(bus_error().empty() ? "the stream cannot be opened" : bus_error());
    // Connected once the first MPEG-TS arrives (or the source fails), within the connect timeout.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options_.connect_timeout_s);
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      if (!read(first_, 100)) return fail(error_);
      if (!first_.empty()) return {};
    }
    return fail(stop ? "stopped" : "no media within " + std::to_string(options_.connect_timeout_s) + " s");
  }

  bool read(std::vector<uint8_t>& out, int timeout_ms) override {
    out.clear();
    if (!first_.empty()) {
      out.swap(first_);
      return true;
    }
    if (auto e = bus_error(); !e.empty()) {
      error_ = e;
      return false;
    }
    auto sample = GstRef<GstSample>::adopt(gst_app_sink_try_pull_sample(
        GST_APP_SINK(sink_), static_cast<GstClockTime>(timeout_ms) * GST_MSECOND));
    if (!sample) {
      if (!gst_app_sink_is_eos(GST_APP_SINK(sink_))) return true;
      error_ = "the partner's stream ended";
      return false;
    }
    GstBuffer* buffer = gst_sample_get_buffer(sample.get());
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      out.assign(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
    }
    return true;
  }

  std::string error() const override { return error_; }
  std::string variant() const override { return variant_; }

 private:
  GstElement* make(const char* factory, const char* package) {
    GstElement* e = gst_element_factory_make(factory, nullptr);
    if (!e)
      error_ = std::string("GStreamer element '") + factory + "' is missing: apt-get install " + package;
    return e;
  }

  core::Result<void> fail(const std::string& what) {
    error_ = strip_secrets(what, url_);
    return core::Error{"pull_failed", error_};
  }

  // A variant on another host than the playlist's is checked against relays.allowed_hosts too.
  core::Result<void> check_host(const std::string& uri) {
    const std::string host = host_of_uri(uri);
    if (host.empty()) return core::Error{"pull_failed", "the playlist names an address without a host"};
    if (host == url_.host) return {};
    auto allowed = Destinations::parse(options_.allowed_hosts);
    if (!allowed) return allowed.error();
    auto addresses = resolve_allowed(*allowed, host);
    if (!addresses) return addresses.error();
    return {};
  }

  core::Result<void> check_media_hosts(const std::string& playlist_url, const std::string& text) {
    std::set<std::string> seen;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string uri =
          line.empty() || line[0] != '#' ? line : attribute(line.substr(line.find(':') + 1), "URI");
      if (uri.empty()) continue;
      uri = resolve_uri(playlist_url, uri);
      const size_t authority = uri.find("://");
      const std::string origin =
          authority == std::string::npos ? uri : uri.substr(0, uri.find('/', authority + 3));
      if (!seen.insert(origin).second) continue;
      if (auto checked = check_host(uri); !checked) return checked;
    }
    return {};
  }

  // The first error or end of stream on the bus, in words (free of secrets); empty when none.
  std::string bus_error() {
    auto bus = GstRef<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
    GstRef<GstMessage> m;
    while (true) {
      m = GstRef<GstMessage>::adopt(gst_bus_pop_filtered(
          bus.get(), static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_ELEMENT)));
      if (!m) return {};
      // A segment or part on a host relays.allowed_hosts refuses, or a redirect: hlsdemux keeps its source's
      // error to itself (and would try again), the guard's message says why.
      if (auto refused = http_refusal(m.get()); !refused.empty()) {
        errored_ = true;
        return strip_secrets(refused, url_);
      }
      if (GST_MESSAGE_TYPE(m.get()) != GST_MESSAGE_ELEMENT) break;
    }
    errored_ = true;
    if (GST_MESSAGE_TYPE(m.get()) == GST_MESSAGE_EOS) return "the partner's stream ended";
    GError* e = nullptr;
    gst_message_parse_error(m.get(), &e, nullptr);
    std::string text = e ? e->message : "error";
    if (e) g_error_free(e);
    return strip_secrets(explain_tls_error(text), url_);
  }

  // A track's pad (a GStreamer streaming thread): H.264 and AAC through their parsers into the muxer.
  void on_pad(GstPad* pad) {
    std::lock_guard lock(mutex_);
    auto caps = GstRef<GstCaps>::adopt(gst_pad_get_current_caps(pad));
    if (!caps) caps = GstRef<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
    std::string kind;
    int mpegversion = 0;
    if (caps && gst_caps_get_size(caps.get()) > 0) {
      const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
      kind = gst_structure_get_name(s);
      gst_structure_get_int(s, "mpegversion", &mpegversion);
    }
    const char* parser = kind == "video/x-h264"                       ? "h264parse"
                         : (kind == "audio/mpeg" && mpegversion >= 2) ? "aacparse"
                                                                      : nullptr;
    GstElement* bin = pipeline_.get();
    // An HLS segment stream: demuxed, its tracks come back here.
    if (const char* inner = kind == "video/quicktime" ? "qtdemux"
                            : kind == "video/mpegts"  ? "tsdemux"
                                                      : nullptr) {
      GstElement* demux = gst_element_factory_make(inner, nullptr);
      if (!demux) return;
      g_signal_connect(demux, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer self) {
                         static_cast<GstPullSource*>(self)->on_pad(pad);
                       }),
                       this);
      gst_bin_add(GST_BIN(bin), demux);
      gst_element_sync_state_with_parent(demux);
      auto sink = GstRef<GstPad>::adopt(gst_element_get_static_pad(demux, "sink"));
      gst_pad_link(pad, sink.get());
      return;
    }
    if (!parser) {
      GstElement* drop = gst_element_factory_make("fakesink", nullptr);
      gst_bin_add(GST_BIN(bin), drop);
      gst_element_sync_state_with_parent(drop);
      auto sink = GstRef<GstPad>::adopt(gst_element_get_static_pad(drop, "sink"));
      gst_pad_link(pad, sink.get());
      return;
    }
    GstElement* parse = gst_element_factory_make(parser, nullptr);
    GstElement* queue = gst_element_factory_make("queue", nullptr);
    if (!parse || !queue) return;
    gst_bin_add_many(GST_BIN(bin), parse, queue, nullptr);
    gst_element_link(parse, queue);
    const auto& reserved = reserved_[kind == "video/x-h264" ? 0 : 1];
    if (reserved) {
      auto out = GstRef<GstPad>::adopt(gst_element_get_static_pad(queue, "src"));
      gst_pad_link(out.get(), reserved.get());
      linked_[kind == "video/x-h264" ? 0 : 1] = true;
    } else {
      gst_element_link(queue, mux_);
    }
    gst_element_sync_state_with_parent(queue);
    gst_element_sync_state_with_parent(parse);
    auto sink = GstRef<GstPad>::adopt(gst_element_get_static_pad(parse, "sink"));
    gst_pad_link(pad, sink.get());
  }

  // flvdemux has all its pads: the muxer's pad reserved for a track that does not come is released (else it
  // would wait for it).
  void release_unused_pads() {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < 2; ++i)
      if (reserved_[i] && !linked_[i]) {
        gst_element_release_request_pad(mux_, reserved_[i].get());
        reserved_[i].reset();
      }
  }

  RelayUrl url_;
  PullOptions options_;
  GstRef<GstElement> pipeline_;
  GstElement* mux_ = nullptr;   // owned by pipeline_
  GstRef<GstPad> reserved_[2];  // RTMP: the muxer's pads for video, audio
  bool linked_[2] = {};
  GstElement* sink_ = nullptr;  // owned by pipeline_
  std::mutex mutex_;            // on_pad (streaming threads)
  std::vector<uint8_t> first_;  // the first MPEG-TS, read by open()
  std::string error_;
  std::string variant_;
  bool errored_ = false;  // an error or end of stream came on the bus
};

}  // namespace

core::Result<HlsVariant> choose_variant(const std::string& playlist_url, const std::string& text) {
  if (text.rfind("#EXTM3U", 0) != 0)
    return core::Error{"pull_failed", "the address does not give an HLS playlist"};
  struct Candidate {
    std::string attrs, uri;
    long bandwidth = 0;
  };
  std::vector<Candidate> variants;
  std::istringstream lines(text);
  std::string line, pending;
  bool media = false, in_stream = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#EXT-X-STREAM-INF:", 0) == 0) {
      pending = line.substr(18);
      in_stream = true;
    } else if (line.rfind("#EXTINF", 0) == 0 || line.rfind("#EXT-X-TARGETDURATION", 0) == 0) {
      media = true;
    } else if (in_stream && !line.empty() && line[0] != '#') {
      std::string bandwidth = attribute(pending, "BANDWIDTH");
      variants.push_back({pending, line, bandwidth.empty() ? 0 : std::atol(bandwidth.c_str())});
      in_stream = false;
    }
  }
  if (variants.empty()) {
    if (media) return HlsVariant{playlist_url, "the media playlist given"};
    return core::Error{"pull_failed", "the playlist lists no variant and no segment"};
  }
  // Video variants only (an audio-only rendition has neither RESOLUTION nor a video codec): sreda's "source"
  // (the studio's own stream, not re-encoded) when listed, else the highest bandwidth.
  auto video = [](const Candidate& c) {
    const std::string codecs = attribute(c.attrs, "CODECS");
    return !attribute(c.attrs, "RESOLUTION").empty() || codecs.find("avc1") != std::string::npos;
  };
  const Candidate* best = nullptr;
  for (const auto& c : variants) {
    if (!video(c)) continue;
    if (c.uri.rfind("source/", 0) == 0) {
      best = &c;
      break;
    }
    if (!best || c.bandwidth > best->bandwidth) best = &c;
  }
  if (!best) return core::Error{"pull_failed", "the playlist lists no video variant"};
  std::ostringstream words;
  const std::string resolution = attribute(best->attrs, "RESOLUTION");
  if (!resolution.empty()) words << resolution << " ";
  words.precision(2);
  words << std::fixed << best->bandwidth / 1e6 << " Mb/s: " << best->uri;
  return HlsVariant{resolve_uri(playlist_url, best->uri), words.str()};
}

std::unique_ptr<PullSource> make_gst_pull_source(const RelayUrl& url, const PullOptions& options) {
  return std::make_unique<GstPullSource>(url, options);
}

}  // namespace sreda::relay
