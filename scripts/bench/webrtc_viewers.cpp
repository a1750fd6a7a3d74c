// Many receive-only WebRTC viewers for scripts/bench/webrtc: the same load on sreda (WHEP) and on Janus (its
// streaming plugin over the HTTP API), so the servers' CPU per viewer can be compared in one run.
// Long because one file with no dependencies beyond GStreamer is the point (the bench builds it with one g++
// line, like fanout_client.cpp): the viewers, the two feeds and the tiny HTTP/JSON helpers share its helpers.
//
//   webrtc_viewers --janus http://127.0.0.1:PORT/janus --mountpoint ID  --viewers N --warmup W --seconds S
//   webrtc_viewers --whep http://127.0.0.1:PORT/whep/EVENT [--bearer TOKEN] --viewers N --warmup W --seconds S
//                  [--pids PID,PID…] [--setup-timeout T] [--full-receive]
//   webrtc_viewers --publish --rtp VPORT,APORT [--whip http://127.0.0.1:PORT/whip/STUDIO --bearer KEY]
//   webrtc_viewers --rtmp rtmp://127.0.0.1:PORT/live/KEY   (glass to glass: an RTMP studio showing the clock)
//
// --publish is the bench's feed: videotestsrc 640x360 25 fps → x264 (no B-frames, zerolatency) → rtph264pay
// pt 96 mtu 1200 (the packet size sreda's WHEP feed makes, so both servers send as many packets), audiotestsrc
// → Opus → rtpopuspay pt 111, each encoded and payloaded once; the RTP packets are teed
// to 127.0.0.1 UDP ports (Janus's mountpoint) and, the same packets, into a sendonly webrtcbin that
// publishes over WHIP (all candidates in the offer; DELETE at the end). "publishing" on stderr when it runs.
//
// Each viewer is one webrtcbin in a pipeline of its own (ICE, DTLS-SRTP as any viewer); its media is counted
// and dropped as it leaves the socket (count_and_drop: no decryption, no rtpbin, no jitter buffer, no thread
// hand-off), so the client costs little next to the servers on the machine's shared cores. --full-receive
// keeps the old client: RTP decrypted and through rtpbin to a fakesink (still no depayloading or decoding). Janus: create a session, attach janus.plugin.streaming, "watch" the mountpoint,
// answer Janus's offer (all candidates in the answer), "start". WHEP: offer recvonly H.264 + Opus with all
// candidates, POST it, apply the 201's answer; DELETE the session's Location at the end.
// ICE gathers 127.0.0.1 only (the agent's `add-local-ip-address`): nothing leaves the loopback interface.
//
// After all viewers are set up the client waits until every one has received media (or --setup-timeout),
// then W s of warm-up, then S s measured: CPU (utime+stime, all threads) of --pids and of this process read
// from /proc at the window's start and end, and which viewers received video RTP inside the window.
// Output: key=value lines on stdout (the bench script reads them); progress on stderr.
//
// Build (the bench does this): g++ -O2 -std=c++17 -o webrtc_viewers webrtc_viewers.cpp
//   $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-sdp-1.0 gstreamer-webrtc-1.0) -pthread
#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <arpa/inet.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Threads of a process now (/proc/PID/status), 0 when unreadable.
int thread_count(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return 0;
}

// Datagrams the kernel dropped because this process's UDP sockets were full (the client fell behind, not the
// server): the "drops" column of /proc/net/udp{,6} for the sockets among /proc/self/fd.
unsigned long long own_udp_drops() {
  std::vector<std::string> inodes;
  if (GDir* dir = g_dir_open("/proc/self/fd", 0, nullptr)) {
    while (const gchar* name = g_dir_read_name(dir)) {
      char link[128];
      const std::string path = std::string("/proc/self/fd/") + name;
      const ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
      if (n > 9 && std::strncmp(link, "socket:[", 8) == 0) inodes.emplace_back(link + 8, static_cast<size_t>(n) - 9);
    }
    g_dir_close(dir);
  }
  std::sort(inodes.begin(), inodes.end());
  unsigned long long drops = 0;
  for (const char* table : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::vector<std::string> cols;
      for (std::string c; in >> c;) cols.push_back(c);
      if (cols.size() >= 13 && std::binary_search(inodes.begin(), inodes.end(), cols[9]))
        drops += std::strtoull(cols.back().c_str(), nullptr, 10);
    }
  }
  return drops;
}

// ---- a tiny blocking HTTP/1.1 client (127.0.0.1 only) ----------------------------------------------------

struct Url {
  int port = 0;
  std::string path;
};

bool parse_url(const std::string& url, Url& out) {
  const std::string prefix = "http://127.0.0.1:";
  if (url.rfind(prefix, 0) != 0) return false;
  const auto slash = url.find('/', prefix.size());
  out.port = std::atoi(url.substr(prefix.size(), slash - prefix.size()).c_str());
  out.path = slash == std::string::npos ? "/" : url.substr(slash);
  return out.port > 0 && out.port < 65536;
}

struct Response {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    const auto at = headers.find("\n" + name + ":");
    if (at == std::string::npos) return {};
    auto start = at + name.size() + 2;
    while (start < headers.size() && headers[start] == ' ') ++start;
    return headers.substr(start, headers.find('\r', start) - start);
  }
};

std::string header_original(const std::string& raw, const std::string& lower_name) {
  // The value as sent (Location is case-sensitive); raw and its lower-cased copy have the same offsets.
  std::string lower = raw;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\n" + lower_name + ":");
  if (at == std::string::npos) return {};
  auto start = at + lower_name.size() + 2;
  while (start < raw.size() && raw[start] == ' ') ++start;
  return raw.substr(start, raw.find('\r', start) - start);
}

bool http(const std::string& method, int port, const std::string& path, const std::string& content_type,
          const std::string& body, const std::string& bearer, Response& out, std::string* location = nullptr,
          int timeout_s = 40) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
  if (method != "GET") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > (4u << 20)) break;
  }
  ::close(fd);
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return false;
  out.status = std::atoi(raw.c_str() + 9);
  out.headers = raw.substr(0, end + 2);
  for (auto& c : out.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string body_raw = raw.substr(end + 4);
  out.body.clear();
  if (out.header("transfer-encoding").find("chunked") != std::string::npos) {
    size_t at = 0;
    while (at < body_raw.size()) {
      const size_t len = std::strtoul(body_raw.c_str() + at, nullptr, 16);
      const auto data = body_raw.find("\r\n", at);
      if (len == 0 || data == std::string::npos) break;
      out.body += body_raw.substr(data + 2, len);
      at = data + 2 + len + 2;
    }
  } else {
    out.body = body_raw;
  }
  if (location) *location = header_original(raw.substr(0, end + 2), "location");
  return true;
}

// ---- just enough JSON for the Janus API ----------------------------------------------------------------

std::string json_escape(const std::string& s) {
  std::string o;
  for (const char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default: o += c;
    }
  }
  return o;
}

// The string value of the first "key" after `from`; empty when absent.
std::string json_string(const std::string& j, const std::string& key, size_t from = 0) {
  auto at = j.find("\"" + key + "\"", from);
  if (at == std::string::npos) return {};
  at = j.find(':', at);
  if (at == std::string::npos) return {};
  at = j.find('"', at);
  if (at == std::string::npos) return {};
  std::string o;
  for (size_t i = at + 1; i < j.size(); ++i) {
    char c = j[i];
    if (c == '"') return o;
    if (c == '\\' && i + 1 < j.size()) {
      c = j[++i];
      switch (c) {
        case 'n': o += '\n'; break;
        case 'r': o += '\r'; break;
        case 't': o += '\t'; break;
        case 'u': {
          const unsigned v = std::strtoul(j.substr(i + 1, 4).c_str(), nullptr, 16);
          o += v < 0x80 ? static_cast<char>(v) : '?';
          i += 4;
          break;
        }
        default: o += c;
      }
    } else {
      o += c;
    }
  }
  return {};
}

unsigned long long json_number(const std::string& j, const std::string& key, size_t from = 0) {
  auto at = j.find("\"" + key + "\"", from);
  if (at == std::string::npos) return 0;
  at = j.find(':', at);
  return at == std::string::npos ? 0 : std::strtoull(j.c_str() + at + 1, nullptr, 10);
}

// ---- one viewer ------------------------------------------------------------------------------------------

struct Viewer {
  int index = 0;
  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  std::atomic<unsigned long long> video_buffers{0};
  std::atomic<unsigned long long> audio_buffers{0};
  int audio_pt = -1;  // the remote description's audio payload type (counting at the socket tells the two apart)
  std::atomic<unsigned long long> bytes{0};
  std::mutex mutex;
  std::vector<std::pair<unsigned, std::string>> candidates;
  // Janus
  unsigned long long session = 0, handle = 0;
  // WHEP
  std::string location;
};

void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  auto* v = static_cast<Viewer*>(data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(v->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  bool video = true;
  if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
    const gchar* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
    video = !media || std::strcmp(media, "audio") != 0;
    gst_caps_unref(caps);
  }
  if (!video) {
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo*, gpointer d) -> GstPadProbeReturn {
          static_cast<Viewer*>(d)->audio_buffers += 1;
          return GST_PAD_PROBE_OK;
        },
        v, nullptr);
  } else {
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
          auto* vw = static_cast<Viewer*>(d);
          vw->video_buffers += 1;
          if (GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info)) vw->bytes += gst_buffer_get_size(b);
          return GST_PAD_PROBE_OK;
        },
        v, nullptr);
  }
}

void on_candidate(GstElement*, guint mline, gchar* candidate, gpointer data) {
  auto* v = static_cast<Viewer*>(data);
  std::lock_guard<std::mutex> lock(v->mutex);
  v->candidates.emplace_back(mline, candidate);
}

// The light viewer (the default): its (S)RTP and RTCP are counted and dropped where they enter webrtcbin, on the
// ICE source's own thread (nicesrc's src pad), before the queue, SRTP decryption, rtpbin and the jitter buffer:
// a receiver that only takes the packets off its socket. STUN never gets here (libnice answers it) and DTLS
// (first byte 20..63) passes, so ICE and the DTLS-SRTP handshake run as in any viewer; only what this viewer
// would send back from the media is missing (receiver reports, NACKs), for sreda and Janus alike.
// The RTP header is not encrypted: its payload type tells audio from video.
GstPadProbeReturn count_and_drop(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* v = static_cast<Viewer*>(data);
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  uint8_t head[2];
  if (!b || gst_buffer_extract(b, 0, head, 2) != 2 || head[0] < 128 || head[0] > 191) return GST_PAD_PROBE_OK;
  if (head[1] >= 192 && head[1] <= 223) return GST_PAD_PROBE_DROP;  // RTCP
  if ((head[1] & 0x7f) == v->audio_pt) {
    v->audio_buffers += 1;
  } else {
    v->video_buffers += 1;
    v->bytes += gst_buffer_get_size(b);
  }
  return GST_PAD_PROBE_DROP;
}

void attach_counter(Viewer& v) {
  GstWebRTCSessionDescription* remote = nullptr;
  g_object_get(v.webrtc, "remote-description", &remote, nullptr);
  if (remote) {
    for (guint i = 0; i < gst_sdp_message_medias_len(remote->sdp); ++i) {
      const GstSDPMedia* m = gst_sdp_message_get_media(remote->sdp, i);
      if (std::strcmp(gst_sdp_media_get_media(m), "audio") == 0 && gst_sdp_media_formats_len(m) > 0)
        v.audio_pt = std::atoi(gst_sdp_media_get_format(m, 0));
    }
    gst_webrtc_session_description_free(remote);
  }
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(v.webrtc));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* e = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(e);
    if (f && std::strcmp(GST_OBJECT_NAME(f), "nicesrc") == 0) {
      GstPad* pad = gst_element_get_static_pad(e, "src");
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_and_drop, &v, nullptr);
      gst_object_unref(pad);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
}

bool make_webrtc(Viewer& v) {
  v.pipeline = gst_pipeline_new(nullptr);
  v.webrtc = gst_element_factory_make("webrtcbin", nullptr);
  if (!v.pipeline || !v.webrtc) return false;
  g_object_set(v.webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  gst_bin_add(GST_BIN(v.pipeline), v.webrtc);
  GObject* ice = nullptr;
  g_object_get(v.webrtc, "ice-agent", &ice, nullptr);
  if (!ice) return false;
  gboolean added = FALSE;
  g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &added);
  g_object_unref(ice);
  if (!added) return false;
  g_signal_connect(v.webrtc, "pad-added", G_CALLBACK(on_pad_added), &v);
  g_signal_connect(v.webrtc, "on-ice-candidate", G_CALLBACK(on_candidate), &v);
  return gst_element_set_state(v.pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

GstWebRTCSessionDescription* run_promise(GstElement* webrtc, const char* signal, const char* field) {
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, signal, nullptr, promise);
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    gst_promise_unref(promise);
    return nullptr;
  }
  GstWebRTCSessionDescription* desc = nullptr;
  const GstStructure* reply = gst_promise_get_reply(promise);
  if (reply) gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
  gst_promise_unref(promise);
  return desc;
}

bool set_description(GstElement* webrtc, const char* signal, GstWebRTCSessionDescription* desc) {
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, signal, desc, promise);
  const bool ok = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
  gst_promise_unref(promise);
  return ok;
}

// The local description once ICE gathering is complete, every candidate in it.
std::string gathered_sdp(Viewer& v, double deadline) {
  for (;;) {
    GstWebRTCICEGatheringState state;
    g_object_get(v.webrtc, "ice-gathering-state", &state, nullptr);
    if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) break;
    if (now_s() > deadline || g_stop) return {};
    g_usleep(5000);
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(v.webrtc, "local-description", &local, nullptr);
  if (!local) return {};
  gchar* text = gst_sdp_message_as_text(local->sdp);
  std::string sdp = text;
  g_free(text);
  gst_webrtc_session_description_free(local);
  if (sdp.find("a=candidate:") != std::string::npos) return sdp;
  // Insert the gathered candidates into their m-sections (webrtcbin did not).
  std::vector<std::pair<unsigned, std::string>> cands;
  {
    std::lock_guard<std::mutex> lock(v.mutex);
    cands = v.candidates;
  }
  std::istringstream in(sdp);
  std::string line, out;
  int mline = -1;
  auto flush = [&](int m) {
    if (m < 0) return;
    for (const auto& [idx, c] : cands)
      if (static_cast<int>(idx) == m) out += "a=" + (c.rfind("candidate:", 0) == 0 ? c : c.substr(2)) + "\r\n";
    out += "a=end-of-candidates\r\n";
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("m=", 0) == 0) {
      flush(mline);
      ++mline;
    }
    out += line + "\r\n";
  }
  flush(mline);
  return out;
}

GstWebRTCSessionDescription* parse_sdp(GstWebRTCSDPType type, const std::string& text) {
  GstSDPMessage* msg = nullptr;
  if (gst_sdp_message_new_from_text(text.c_str(), &msg) != GST_SDP_OK) return nullptr;
  return gst_webrtc_session_description_new(type, msg);
}

struct Options {
  bool publish = false;
  bool full_receive = false;  // --full-receive: decrypt and pass every packet through rtpbin (the old client)
  std::string janus, whep, whip, bearer, rtp, rtmp;
  unsigned long long mountpoint = 1;
  int viewers = 1;
  double warmup = 5, seconds = 30, setup_timeout = 0;
  std::vector<int> pids;
};

int g_tx = 0;
std::string tx() { return "t" + std::to_string(++g_tx); }

bool janus_setup(Viewer& v, const Options& o, const Url& base) {
  Response r;
  if (!http("POST", base.port, base.path, "application/json", "{\"janus\":\"create\",\"transaction\":\"" + tx() + "\"}",
            "", r) ||
      r.status != 200)
    return false;
  v.session = json_number(r.body, "id", r.body.find("\"data\""));
  const std::string spath = base.path + "/" + std::to_string(v.session);
  if (!http("POST", base.port, spath, "application/json",
            "{\"janus\":\"attach\",\"plugin\":\"janus.plugin.streaming\",\"transaction\":\"" + tx() + "\"}", "", r) ||
      r.status != 200)
    return false;
  v.handle = json_number(r.body, "id", r.body.find("\"data\""));
  const std::string hpath = spath + "/" + std::to_string(v.handle);
  if (!v.session || !v.handle) return false;
  if (!http("POST", base.port, hpath, "application/json",
            "{\"janus\":\"message\",\"body\":{\"request\":\"watch\",\"id\":" + std::to_string(o.mountpoint) +
                "},\"transaction\":\"" + tx() + "\"}",
            "", r) ||
      r.status != 200)
    return false;
  std::string offer;
  for (int i = 0; i < 5 && offer.empty(); ++i) {
    if (!http("GET", base.port, spath + "?maxev=1", "", "", "", r) || r.status != 200) return false;
    const auto jsep = r.body.find("\"jsep\"");
    if (jsep != std::string::npos) offer = json_string(r.body, "sdp", jsep);
    if (r.body.find("\"error\"") != std::string::npos) {
      std::fprintf(stderr, "janus: %s\n", r.body.c_str());
      return false;
    }
  }
  if (offer.empty() || !make_webrtc(v)) return false;
  GstWebRTCSessionDescription* remote = parse_sdp(GST_WEBRTC_SDP_TYPE_OFFER, offer);
  if (!remote || !set_description(v.webrtc, "set-remote-description", remote)) return false;
  gst_webrtc_session_description_free(remote);
  GstWebRTCSessionDescription* answer = run_promise(v.webrtc, "create-answer", "answer");
  if (!answer || !set_description(v.webrtc, "set-local-description", answer)) return false;
  gst_webrtc_session_description_free(answer);
  const std::string sdp = gathered_sdp(v, now_s() + 15);
  if (sdp.empty()) return false;
  if (std::getenv("WEBRTC_VIEWERS_DEBUG")) std::fprintf(stderr, "offer:\n%s\nanswer:\n%s\n", offer.c_str(), sdp.c_str());
  return http("POST", base.port, hpath, "application/json",
              "{\"janus\":\"message\",\"body\":{\"request\":\"start\"},\"jsep\":{\"type\":\"answer\",\"sdp\":\"" +
                  json_escape(sdp) + "\"},\"transaction\":\"" + tx() + "\"}",
              "", r) &&
         r.status == 200 && r.body.find("\"error\"") == std::string::npos;
}

bool whep_setup(Viewer& v, const Options& o, const Url& url) {
  if (!make_webrtc(v)) return false;
  GstCaps* vcaps = gst_caps_from_string(
      "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000,"
      "packetization-mode=(string)1,profile-level-id=(string)42e01f");
  GstCaps* acaps =
      gst_caps_from_string("application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2");
  GstWebRTCRTPTransceiver* t = nullptr;
  g_signal_emit_by_name(v.webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, vcaps, &t);
  if (t) gst_object_unref(t);
  t = nullptr;
  g_signal_emit_by_name(v.webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, acaps, &t);
  if (t) gst_object_unref(t);
  gst_caps_unref(vcaps);
  gst_caps_unref(acaps);
  GstWebRTCSessionDescription* offer = run_promise(v.webrtc, "create-offer", "offer");
  if (!offer || !set_description(v.webrtc, "set-local-description", offer)) return false;
  gst_webrtc_session_description_free(offer);
  const std::string sdp = gathered_sdp(v, now_s() + 15);
  if (sdp.empty()) return false;
  Response r;
  if (!http("POST", url.port, url.path, "application/sdp", sdp, o.bearer, r, &v.location)) return false;
  if (r.status != 201) {
    std::fprintf(stderr, "whep: POST answered %d: %s\n", r.status, r.body.substr(0, 300).c_str());
    return false;
  }
  if (std::getenv("WEBRTC_VIEWERS_DEBUG")) std::fprintf(stderr, "offer:\n%s\nanswer:\n%s\n", sdp.c_str(), r.body.c_str());
  GstWebRTCSessionDescription* answer = parse_sdp(GST_WEBRTC_SDP_TYPE_ANSWER, r.body);
  if (!answer || !set_description(v.webrtc, "set-remote-description", answer)) return false;
  gst_webrtc_session_description_free(answer);
  return true;
}

unsigned long long cpu_ticks(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  unsigned long long total = 0;
  for (int i = 1; i <= 13 && in >> field; ++i)
    if (i == 12 || i == 13) total += std::strtoull(field.c_str(), nullptr, 10);
  return total;
}

// --publish: one encode of each track, payloaded once; the RTP packets go by UDP to --rtp VPORT,APORT
// (Janus's mountpoint) and, the same packets, over WHIP to --whip URL. Prints "publishing" when both run.
int publish(const Options& o) {
  int vport = 0, aport = 0;
  if (std::sscanf(o.rtp.c_str(), "%d,%d", &vport, &aport) != 2) {
    std::fprintf(stderr, "--publish needs --rtp VPORT,APORT\n");
    return 2;
  }
  const bool whip = !o.whip.empty();
  Url url;
  if (whip && !parse_url(o.whip, url)) return 2;
  std::string desc =
      "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=360,framerate=25/1 ! "
      "timeoverlay font-desc=\"Sans 24\" ! "
      "x264enc bframes=0 tune=zerolatency speed-preset=veryfast bitrate=1000 key-int-max=50 ! "
      "video/x-h264,profile=constrained-baseline ! rtph264pay pt=96 mtu=1200 config-interval=-1 aggregate-mode=zero-latency ! "
      "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000 ! tee name=vt "
      "vt. ! queue ! udpsink host=127.0.0.1 port=" + std::to_string(vport) + " sync=false async=false "
      "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=2 ! opusenc bitrate=64000 ! "
      "rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! "
      "tee name=at at. ! queue ! udpsink host=127.0.0.1 port=" + std::to_string(aport) + " sync=false async=false ";
  if (whip) desc += "webrtcbin name=wb bundle-policy=max-bundle vt. ! queue ! wb. at. ! queue ! wb. ";
  GError* err = nullptr;
  Viewer v;
  v.pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!v.pipeline) {
    std::fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
    return 1;
  }
  if (whip) {
    v.webrtc = gst_bin_get_by_name(GST_BIN(v.pipeline), "wb");
    GObject* ice = nullptr;
    g_object_get(v.webrtc, "ice-agent", &ice, nullptr);
    gboolean added = FALSE;
    if (ice) g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &added);
    if (ice) g_object_unref(ice);
    if (!added) return 1;
    g_signal_connect(v.webrtc, "on-ice-candidate", G_CALLBACK(on_candidate), &v);
  }
  if (gst_element_set_state(v.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) return 1;
  if (whip) {
    std::string sdp;
    // The offer needs both sink pads' caps: ask until it has both m-lines…
    for (int attempt = 0; attempt < 100 && !g_stop; ++attempt) {
      g_usleep(100000);
      GArray* transceivers = nullptr;
      g_signal_emit_by_name(v.webrtc, "get-transceivers", &transceivers);
      for (guint i = 0; transceivers && i < transceivers->len; ++i)
        g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i), "direction",
                     GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
      if (transceivers) g_array_unref(transceivers);
      GstWebRTCSessionDescription* offer = run_promise(v.webrtc, "create-offer", "offer");
      if (!offer) continue;
      gchar* text = gst_sdp_message_as_text(offer->sdp);
      // … and the negotiated H.264 caps (packetization-mode, profile-level-id: the fmtp a server checks).
      const bool both = std::strstr(text, "m=video") && std::strstr(text, "m=audio") && std::strstr(text, "a=fmtp:96");
      g_free(text);
      if (!both) {
        gst_webrtc_session_description_free(offer);
        continue;
      }
      if (!set_description(v.webrtc, "set-local-description", offer)) return 1;
      gst_webrtc_session_description_free(offer);
      sdp = gathered_sdp(v, now_s() + 15);
      break;
    }
    if (sdp.empty()) {
      std::fprintf(stderr, "publish: no offer with video and audio\n");
      return 1;
    }
    if (std::getenv("WEBRTC_VIEWERS_DEBUG")) std::fprintf(stderr, "offer:\n%s\n", sdp.c_str());
    Response r;
    if (!http("POST", url.port, url.path, "application/sdp", sdp, o.bearer, r, &v.location) || r.status != 201) {
      std::fprintf(stderr, "whip: POST answered %d: %s\n", r.status, r.body.substr(0, 300).c_str());
      return 1;
    }
    GstWebRTCSessionDescription* answer = parse_sdp(GST_WEBRTC_SDP_TYPE_ANSWER, r.body);
    if (!answer || !set_description(v.webrtc, "set-remote-description", answer)) return 1;
    gst_webrtc_session_description_free(answer);
  }
  std::fprintf(stderr, "publishing\n");
  GstBus* bus = gst_element_get_bus(v.pipeline);
  int rc = 0;
  while (!g_stop) {
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 200 * GST_MSECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    if (m) {
      GError* e = nullptr;
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "publish: %s\n", e ? e->message : "end of stream");
      if (e) g_error_free(e);
      gst_message_unref(m);
      rc = 1;
      break;
    }
  }
  gst_object_unref(bus);
  if (!v.location.empty()) {
    std::string path = v.location;
    if (path.rfind("http://", 0) == 0) path = path.substr(path.find('/', 7));
    Response r;
    http("DELETE", url.port, path, "", "", o.bearer, r, nullptr, 5);
  }
  gst_element_set_state(v.pipeline, GST_STATE_NULL);
  if (v.webrtc) gst_object_unref(v.webrtc);
  gst_object_unref(v.pipeline);
  v.pipeline = nullptr;
  return rc;
}

// --rtmp URL: an RTMP studio for the glass-to-glass bench. Every frame (640x360, 25 fps, paced by the wall clock)
// carries the wall clock as g2g.html's barcode (20 bits of CLOCK_REALTIME ms mod 2^20, 24-pixel boxes, a second
// row with the complement), painted the moment the frame is made; x264 zerolatency + AAC → flvmux → rtmp2sink.
int publish_rtmp(const Options& o) {
  const std::string desc =
      "appsrc name=src is-live=true format=time do-timestamp=true "
      "caps=video/x-raw,format=I420,width=640,height=360,framerate=25/1 ! queue ! "
      "x264enc bframes=0 tune=zerolatency speed-preset=veryfast bitrate=1500 key-int-max=50 ! h264parse ! "
      "flvmux name=m streamable=true latency=0 ! rtmp2sink location=" + o.rtmp + " "
      "audiotestsrc is-live=true ! audioconvert ! audio/x-raw,rate=48000,channels=2 ! voaacenc ! aacparse ! m.";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline) {
    std::fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
    return 1;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) return 1;
  std::fprintf(stderr, "publishing\n");
  constexpr int W = 640, H = 360, BITS = 20, BOX = 24;
  const double start = now_s();
  GstBus* bus = gst_element_get_bus(pipeline);
  int rc = 0;
  for (long frame = 0; !g_stop; ++frame) {
    const double due = start + frame / 25.0;
    while (!g_stop && now_s() < due) g_usleep(static_cast<gulong>(std::max(100.0, (due - now_s()) * 1e6)));
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, W * H * 3 / 2, nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    std::memset(map.data, 100, W * H);
    std::memset(map.data + W * H, 128, W * H / 2);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const unsigned long long ms = (static_cast<unsigned long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000) % (1u << BITS);
    for (int k = 0; k < BITS; ++k) {
      const bool bit = (ms >> k) & 1;
      for (int y = 0; y < 2 * BOX; ++y) {
        const bool white = (y < BOX) == bit;
        std::memset(map.data + y * W + k * BOX, white ? 235 : 16, BOX);
      }
    }
    gst_buffer_unmap(buf, &map);
    GstFlowReturn flow;
    g_signal_emit_by_name(src, "push-buffer", buf, &flow);
    gst_buffer_unref(buf);
    if (GstMessage* m = gst_bus_pop_filtered(bus, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
      GError* e = nullptr;
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "rtmp publish: %s\n", e ? e->message : "end of stream");
      if (e) g_error_free(e);
      gst_message_unref(m);
      rc = 1;
      break;
    }
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  return rc;
}

void usage() {
  std::fprintf(stderr,
               "usage: webrtc_viewers (--janus URL --mountpoint ID | --whep URL [--bearer T]) --viewers N "
               "[--warmup W] [--seconds S] [--pids P,P] [--setup-timeout T]\n"
               "       webrtc_viewers --publish --rtp VPORT,APORT [--whip URL --bearer KEY]\n"
               "       webrtc_viewers --rtmp rtmp://127.0.0.1:PORT/live/KEY\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--publish") {
      o.publish = true;
      continue;
    }
    if (a == "--full-receive") {
      o.full_receive = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    const std::string val = argv[++i];
    if (a == "--janus") o.janus = val;
    else if (a == "--whip") o.whip = val;
    else if (a == "--rtp") o.rtp = val;
    else if (a == "--rtmp") o.rtmp = val;
    else if (a == "--whep") o.whep = val;
    else if (a == "--bearer") o.bearer = val;
    else if (a == "--mountpoint") o.mountpoint = std::strtoull(val.c_str(), nullptr, 10);
    else if (a == "--viewers") o.viewers = std::atoi(val.c_str());
    else if (a == "--warmup") o.warmup = std::atof(val.c_str());
    else if (a == "--seconds") o.seconds = std::atof(val.c_str());
    else if (a == "--setup-timeout") o.setup_timeout = std::atof(val.c_str());
    else if (a == "--pids") {
      std::stringstream ss(val);
      std::string p;
      while (std::getline(ss, p, ',')) o.pids.push_back(std::atoi(p.c_str()));
    } else usage();
  }
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  if (!o.rtmp.empty()) return publish_rtmp(o);
  if (o.publish) return publish(o);
  Url url;
  if (o.janus.empty() == o.whep.empty() || !parse_url(o.janus.empty() ? o.whep : o.janus, url) || o.viewers < 1 ||
      o.viewers > 2000)
    usage();
  if (o.setup_timeout <= 0) o.setup_timeout = 60 + o.viewers;

  std::vector<std::unique_ptr<Viewer>> viewers;
  const double t0 = now_s();
  int failed = 0;
  for (int i = 0; i < o.viewers && !g_stop; ++i) {
    auto v = std::make_unique<Viewer>();
    v->index = i;
    const bool ok = o.janus.empty() ? whep_setup(*v, o, url) : janus_setup(*v, o, url);
    if (ok && !o.full_receive) attach_counter(*v);
    if (!ok) {
      ++failed;
      std::fprintf(stderr, "viewer %d: setup failed\n", i);
      if (failed > o.viewers / 10 + 2) {
        std::fprintf(stderr, "too many viewers failed\n");
        break;
      }
    }
    viewers.push_back(std::move(v));
  }
  const double setup_s = now_s() - t0;
  // Every viewer receiving video, or the deadline.
  int up = 0;
  const double deadline = t0 + o.setup_timeout;
  while (!g_stop && now_s() < deadline) {
    up = 0;
    for (const auto& v : viewers) up += v->video_buffers > 0;
    if (up == o.viewers) break;
    g_usleep(100000);
  }
  const double up_s = now_s() - t0;
  std::fprintf(stderr, "%d of %d viewers receive video (setup %.1f s, %.1f s to all up)\n", up, o.viewers, setup_s,
               up_s);

  // Janus sessions time out without traffic on the API: keep them alive (cheap, every 20 s).
  std::thread keepalive([&] {
    double next = now_s() + 20;
    while (!g_stop) {
      if (!o.janus.empty() && now_s() >= next) {
        next = now_s() + 20;
        for (const auto& v : viewers) {
          if (!v->session) continue;
          Response r;
          http("POST", url.port, url.path + "/" + std::to_string(v->session), "application/json",
               "{\"janus\":\"keepalive\",\"transaction\":\"k\"}", "", r);
        }
      }
      g_usleep(200000);
    }
  });

  const double warm_end = now_s() + o.warmup;
  while (!g_stop && now_s() < warm_end) g_usleep(100000);
  std::vector<unsigned long long> before(viewers.size());
  for (size_t i = 0; i < viewers.size(); ++i) before[i] = viewers[i]->video_buffers;
  unsigned long long bytes_before = 0;
  for (const auto& v : viewers) bytes_before += v->bytes;
  unsigned long long server0 = 0;
  for (const int p : o.pids) server0 += cpu_ticks(p);
  const unsigned long long self0 = cpu_ticks(getpid());
  const unsigned long long drops0 = own_udp_drops();
  unsigned long long audio0 = 0;
  for (const auto& v : viewers) audio0 += v->audio_buffers;
  const double w0 = now_s();
  const double w_end = w0 + o.seconds;
  while (!g_stop && now_s() < w_end) g_usleep(100000);
  const double window = now_s() - w0;
  unsigned long long server1 = 0;
  int server_threads = 0;
  for (const int p : o.pids) server1 += cpu_ticks(p), server_threads += thread_count(p);
  const unsigned long long self1 = cpu_ticks(getpid());
  const int self_threads = thread_count(getpid());
  const unsigned long long drops1 = own_udp_drops();
  unsigned long long audio1 = 0;
  for (const auto& v : viewers) audio1 += v->audio_buffers;
  int receiving = 0;
  unsigned long long packets = 0, bytes_after = 0;
  for (size_t i = 0; i < viewers.size(); ++i) {
    const unsigned long long n = viewers[i]->video_buffers;
    receiving += n > before[i];
    packets += n - before[i];
    bytes_after += viewers[i]->bytes;
  }
  const double tck = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::printf("viewers=%d\nviewers_up=%d\nviewers_receiving=%d\nsetup_s=%.1f\nwindow_s=%.2f\n", o.viewers, up,
              receiving, up_s, window);
  std::printf("server_threads=%d\nclient_threads=%d\n", server_threads, self_threads);
  // What the server delivered to this machine's sockets, whether or not the client kept up: the RTP packets
  // received plus those the kernel dropped at the client's full sockets (RTCP is a few of them).
  const double per_viewer_s = viewers.empty() ? 0.0 : 1.0 / window / viewers.size();
  std::printf("rtp_packets_per_viewer_s=%.1f\nclient_drops_per_viewer_s=%.1f\n",
              (packets + audio1 - audio0) * per_viewer_s, (drops1 - drops0) * per_viewer_s);
  std::printf("server_cpu_s=%.2f\nclient_cpu_s=%.2f\nvideo_packets_per_viewer_s=%.1f\nvideo_kbps_per_viewer=%.0f\n",
              (server1 - server0) / tck, (self1 - self0) / tck,
              viewers.empty() ? 0.0 : packets / window / viewers.size(),
              viewers.empty() ? 0.0 : (bytes_after - bytes_before) * 8.0 / 1000 / window / viewers.size());
  std::fflush(stdout);

  g_stop = true;
  keepalive.join();
  for (const auto& v : viewers) {
    Response r;
    if (!v->location.empty()) {
      std::string path = v->location;
      if (path.rfind("http://", 0) == 0) path = path.substr(path.find('/', 7));
      http("DELETE", url.port, path, "", "", o.bearer, r, nullptr, 5);
    } else if (v->session) {
      http("POST", url.port, url.path + "/" + std::to_string(v->session), "application/json",
           "{\"janus\":\"destroy\",\"transaction\":\"d\"}", "", r, nullptr, 5);
    }
    if (v->pipeline) {
      gst_element_set_state(v->pipeline, GST_STATE_NULL);
      gst_object_unref(v->pipeline);
    }
  }
  return receiving == o.viewers ? 0 : 1;
}
