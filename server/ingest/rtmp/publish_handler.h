// The seam between the RTMP server and whoever takes the published media (the event hub).
// Owned by the consumer side; RtmpServer only calls it. All calls come on the ingest thread (the
// io_context thread that runs RtmpServer), one connection at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "server/ingest/rtmp/flv_tag.h"
#include "server/ingest/rtmp/rtmp_session.h"

namespace sreda::ingest::rtmp {

using SessionId = uint64_t;

// Answer to a publish request: ok → NetStream.Publish.Start; !ok → NetStream.Publish.BadName with
// `reason`, then the connection closes. May be called from any thread, later; only the first call counts;
// a call after the connection has gone is ignored.
using PublishDecision = std::function<void(bool ok, std::string reason)>;

// Closes this publisher's connection (the hub ended its event, its key was rotated …): from any thread, at
// any later time; ignored once the connection has gone. `reason` is for logs.
using Disconnect = std::function<void(std::string reason)>;

class PublishHandler {
 public:
  virtual ~PublishHandler() = default;

  // A client asked to publish. No media is delivered before decide(true, ...).
  virtual void on_publish(SessionId id, const PublishRequest& request, PublishDecision decide,
                          Disconnect disconnect) = 0;

  // One FLV tag (audio, video or onMetaData) of an accepted publish, in arrival order. Return false when
  // the consumer's bounded queue is full: the connection then drops tags until the next video keyframe
  // (sequence headers and metadata are always offered) and counts them.
  virtual bool on_flv_tag(SessionId id, FlvTag tag) = 0;

  // Exactly once after every on_publish: the publish ended (rejected, unpublished, connection closed,
  // timed out, server stopped). `reason` is for logs.
  virtual void on_end(SessionId id, const std::string& reason) = 0;

  // A connection refused or closed by one of the server's limits, for metrics (the server logs it):
  // "connections", "connections_per_address", "evicted", "auth_timeout" (see rtmp_server.h) and the
  // session's limits ("command_bytes", "message_bytes", "chunk_size", "chunk_streams", "pending_bytes",
  // "amf0"; see rtmp_session.h).
  virtual void on_limit(const std::string& limit) {}
};

}  // namespace sreda::ingest::rtmp
