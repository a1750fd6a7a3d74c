// What the WebRTC test tools (whip_client.cpp, whep_client.cpp) share: one HTTP/1.1 request to 127.0.0.1, the
// offer with its gathered candidates (no trickle), and libnice on loopback. Header-only: each tool is one
// executable (CMake's tests/tools/*.cpp, or media_helpers.webrtc_tool_binary's g++), including this beside it.
#pragma once

#define GST_USE_UNSTABLE_API  // gst/webrtc: "unstable API" in 1.22
#include <arpa/inet.h>
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace webrtc_tool {

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1:port (Connection: close), read to the end. `content_type` and `bearer`
// are sent when not empty.
inline HttpAnswer http(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::string& content_type = "", const std::string& bearer = "") {
  HttpAnswer out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), out;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return out;
  out.status = std::atoi(raw.c_str() + 9);
  for (size_t pos = raw.find("\r\n") + 2; pos < head_end;) {
    const size_t end = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t v = line.find_first_not_of(' ', colon + 1);
    out.headers[name] = v == std::string::npos ? "" : line.substr(v);
  }
  out.body = raw.substr(head_end + 4);
  return out;
}

// A refusal's body on one output line.
inline std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// The offer with the gathered candidates ("a=candidate:…" lines) on its first (bundled) m-line, when
// webrtcbin left them out.
inline std::string with_candidates(const std::vector<std::string>& candidates, std::string sdp) {
  if (sdp.find("a=candidate:") != std::string::npos) return sdp;
  const size_t first = sdp.find("\r\nm=");
  if (first == std::string::npos) return sdp;
  const size_t second = sdp.find("\r\nm=", first + 2);
  std::string lines;
  for (const auto& c : candidates) lines += c + "\r\n";
  lines += "a=end-of-candidates\r\n";
  if (second == std::string::npos) return sdp + lines;
  sdp.insert(second + 2, lines);
  return sdp;
}

// libnice skips loopback: gather on 127.0.0.1 only.
inline void gather_on_loopback(GstElement* webrtc) {
  GObject* ice = nullptr;
  g_object_get(webrtc, "ice-agent", &ice, nullptr);
  if (!ice) return;
  gboolean ok = FALSE;
  g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &ok);
  g_object_unref(ice);
}

// Non-trickle: waits (bounded, 3 s) for webrtcbin to gather every candidate.
inline void wait_gathering(GstElement* webrtc) {
  for (int i = 0; i < 300; ++i) {
    GstWebRTCICEGatheringState state;
    g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace webrtc_tool
