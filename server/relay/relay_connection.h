// One connection of a push relay to its target: the event's units in, the target's protocol out, without
// re-encoding. RTMP/RTMPS: the relay's thread pushes into flvmux (streamable) itself, with no appsrc and no
// parser (the caps carry codec_data) → rtmp2sink, in 4096-byte chunks. SRT: appsrc → parser →
// mpegtsmux → appsink, its 1316-byte packets sent by libsrt (libsrt-openssl) as a caller with the URL's
// streamid and passphrase — never GStreamer's srtsink (libsrt-gnutls: see PLATFORM.md).
//
// Threads: everything, state changes included, on the relay's own thread (RelaySender); no call blocks for
// longer than the connect timeout. Error texts are already free of the URL's secrets (strip_secrets).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/core/result.h"
#include "server/media/access_unit.h"
#include "server/media/facts.h"
#include "server/relay/relay_url.h"

namespace sreda::relay {

class RelayConnection {
 public:
  virtual ~RelayConnection() = default;
  // Builds the pipeline and starts connecting (RTMP: in rtmp2sink's background; SRT: srt_connect, bounded by
  // the connect timeout).
  virtual core::Result<void> open() = 0;
  // The target took the stream: RTMP answered the publish; SRT connected.
  virtual bool connected() = 0;
  // One unit (its bytes go to GStreamer without a copy); `base_us` is the connection's first decode time
  // (every connection starts near 0).
  virtual core::Result<void> push(media::AccessUnit&& unit, int64_t base_us) = 0;
  // Whether push() would take this unit now without waiting; when not, the unit stays in the relay's queue
  // and the target counts as backlogged.
  virtual bool can_take(const media::AccessUnit&, int64_t) { return true; }
  // Errors from the pipeline or the socket; SRT: sends what the muxer made. Call often (every ≤ 50 ms).
  virtual core::Result<void> poll() = 0;
  virtual uint64_t bytes_sent() = 0;
  // Bytes pushed in and not yet on the wire (what a slow target holds back).
  virtual uint64_t backlog_bytes() = 0;
  // `drain`: EOS first (bounded wait) so the target sees the stream end; then NULL, socket closed.
  virtual void close(bool drain) = 0;
};

// Whether the stream's codecs can go to this scheme: RTMP carries H.264 with AAC or MP3; SRT (MPEG-TS) also
// H.265 and Opus. The error names the codec.
core::Result<void> codecs_supported(Scheme scheme, const media::MediaFacts& facts);

// `address`: where to connect (already checked against the allow-list); RTMPS connects by name (TLS checks
// the certificate against it).
std::unique_ptr<RelayConnection> make_connection(const RelayUrl& url, const boost::asio::ip::address& address,
                                                 const media::MediaFacts& facts, int connect_timeout_s,
                                                 int srt_latency_ms);

}  // namespace sreda::relay
