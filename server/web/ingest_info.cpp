#include "server/web/ingest_info.h"

#include "server/web/site_routes.h"

namespace sreda::web {

std::string host_of(const std::string& url) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') return rest.substr(0, rest.find(']') + 1);
  return rest.substr(0, rest.find(':'));
}

nlohmann::json IngestInfo::info(const HttpRequest& request) const {
  const std::string host = host_of(base_url(config_, request));
  const int rtmp = rtmp_port_, srt = srt_port_;
  return {{"host", host},
          {"rtmp_port", rtmp},
          {"srt_port", srt},
          {"rtmp_server", "rtmp://" + host + ":" + std::to_string(rtmp) + "/live"},
          {"srt_url_prefix", "srt://" + host + ":" + std::to_string(srt) + "?streamid=publish:"},
          {"whip_url_prefix", config_.webrtc.enabled ? nlohmann::json(base_url(config_, request) + "/whip/")
                                                     : nlohmann::json(nullptr)}};
}

}  // namespace sreda::web
