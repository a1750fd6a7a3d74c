// The body of GET /api/ingest (answered by the Api's table like every other route): where studios publish
// (the host the visitor used, or server.public_url's host, with the RTMP and SRT ports actually bound), and
// the WHIP address prefix (server.public_url, or the visitor's host, + "/whip/"; null when webrtc.enabled is
// false).
// Public: it holds no secret (stream keys are per studio). Made once the ingest servers listen (their ports
// are known); info() from any thread.
#pragma once

#include "nlohmann/json.hpp"

#include "server/config/config.h"
#include "server/web/http.h"

namespace sreda::web {

class IngestInfo {
 public:
  IngestInfo(const config::Config& config, int rtmp_port, int srt_port)
      : config_(config), rtmp_port_(rtmp_port), srt_port_(srt_port) {}
  // The body of GET /api/ingest for this request (any thread).
  nlohmann::json info(const HttpRequest& request) const;

 private:
  const config::Config& config_;
  const int rtmp_port_;
  const int srt_port_;
};

// "http://example.org:8080" → "example.org"; "http://[::1]:8080" → "[::1]".
std::string host_of(const std::string& url);

}  // namespace sreda::web
