// A pulled studio's source (server/relay/pull_manager.h): connects to a partner's stream and yields its media
// as MPEG-TS bytes, which the hub's source pipeline takes like an SRT publisher's (EventHub::push).
//   srt://host:port?streamid=…&passphrase=…  libsrt (libsrt-openssl) as a caller;
//   srt://:port?mode=listener                 libsrt listening on `port` for the partner's one caller;
//   rtmp:// rtmps://                          GStreamer rtmp2src → flvdemux → parsers → mpegtsmux → appsink;
//   http(s)://…/master.m3u8 (or a media playlist): the master's first video variant (sreda lists "source"
//   first; else the highest BANDWIDTH), souphttpsrc → hlsdemux → qtdemux (fMP4/CMAF) or tsdemux →
//   parsers → mpegtsmux → appsink.
// Never GStreamer's srtsrc nor gst-libav (they link libsrt-gnutls: PLATFORM.md).
// Errors are in words, free of secrets (strip_secrets). One thread uses a source (the puller's).
#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/core/result.h"
#include "server/relay/relay_url.h"

namespace sreda::relay {

struct PullOptions {
  int connect_timeout_s = 10;  // relays.connect_timeout_s
  int srt_latency_ms = 200;    // ingest.srt_latency_ms, unless the URL says latency=…
  std::string allowed_hosts;   // relays.allowed_hosts: an HLS variant on another host is checked too
};

class PullSource {
 public:
  virtual ~PullSource() = default;
  // Connects: bounded by connect_timeout_s (an SRT listener waits for its caller until `stop`).
  virtual core::Result<void> open(const std::atomic<bool>& stop) = 0;
  // MPEG-TS bytes into `out` (replaced): true with bytes, true and empty when none came within timeout_ms,
  // false when the stream ended or failed (error() says why).
  virtual bool read(std::vector<uint8_t>& out, int timeout_ms) = 0;
  virtual std::string error() const = 0;
  // HLS: which variant is pulled ("320x240 0.25 Mb/s: source/index.m3u8"); else empty.
  virtual std::string variant() const { return {}; }
};

// `addresses`: what resolve_allowed() gave for the URL's host (empty for an SRT listener).
std::unique_ptr<PullSource> make_pull_source(const RelayUrl& url,
                                             std::vector<boost::asio::ip::address> addresses,
                                             const PullOptions& options);

// Internal, for the factory.
std::unique_ptr<PullSource> make_srt_pull_source(const RelayUrl& url,
                                                 std::vector<boost::asio::ip::address> addresses,
                                                 const PullOptions& options);
std::unique_ptr<PullSource> make_gst_pull_source(const RelayUrl& url, const PullOptions& options);

// HLS: the media playlist to pull from a master playlist's text (or `url` itself when it is a media
// playlist), and the variant in words. Pure; for tests.
struct HlsVariant {
  std::string uri;    // absolute
  std::string words;  // "320x240 0.25 Mb/s: source/index.m3u8"
};
core::Result<HlsVariant> choose_variant(const std::string& playlist_url, const std::string& text);

}  // namespace sreda::relay
