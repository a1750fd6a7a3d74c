#include "server/media/sdp_offer.h"

#include <charconv>

#include "server/media/facts.h"
#include "server/media/h264.h"
#include "server/media/sdp_lines.h"

namespace sreda::media {
namespace {

using sdp::number;

constexpr size_t kMaxLines = 2000;
constexpr size_t kMaxLineBytes = 1024;
constexpr size_t kMaxMedia = 4;
constexpr size_t kMaxFormats = 64;
constexpr size_t kMaxCandidates = 64;
constexpr size_t kMaxFeedback = 16;  // a=rtcp-fb per format (browsers send 5)
constexpr size_t kMaxExtmaps = 32;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

core::Error malformed(size_t line_no, std::string_view what) {
  return core::Error{
      "sdp_malformed",
      "The offer is not valid SDP: line " + std::to_string(line_no + 1) + " " + std::string(what) + ".", ""};
}

// Bounds first, on the raw text, before anything is split or stored.
core::Result<void> check_bounds(std::string_view sdp, size_t max_bytes) {
  if (sdp.size() > max_bytes)
    return core::Error{
        "sdp_too_large",
        "The offer is larger than " + std::to_string(max_bytes) + " bytes, which sreda does not take.", ""};
  size_t lines = 0, media = 0, candidates = 0, start = 0;
  while (start < sdp.size()) {
    size_t end = sdp.find('\n', start);
    if (end == std::string_view::npos) end = sdp.size();
    std::string_view line = sdp.substr(start, end - start);
    if (++lines > kMaxLines)
      return core::Error{"sdp_too_many_lines",
                         "The offer has more than 2000 lines, which sreda does not take.", ""};
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLineBytes)
      return core::Error{"sdp_line_too_long",
                         "Line " + std::to_string(lines) + " of the offer is longer than 1024 bytes.", ""};
    if (line.substr(0, 2) == "m=" && ++media > kMaxMedia)
      return core::Error{"sdp_too_many_media", "The offer has more than 4 media sections (m-lines).", ""};
    if (line.substr(0, 12) == "a=candidate:" && ++candidates > kMaxCandidates)
      return core::Error{"sdp_too_many_candidates", "The offer has more than 64 ICE candidates.", ""};
    start = end + 1;
  }
  return {};
}

SdpFormat* find_format(SdpMedia* m, int pt) {
  for (auto& f : m->formats)
    if (f.pt == pt) return &f;
  return nullptr;
}

bool direction_of(std::string_view line, SdpDirection* d) {
  if (line == "a=sendrecv")
    *d = SdpDirection::sendrecv;
  else if (line == "a=sendonly")
    *d = SdpDirection::sendonly;
  else if (line == "a=recvonly")
    *d = SdpDirection::recvonly;
  else if (line == "a=inactive")
    *d = SdpDirection::inactive;
  else
    return false;
  return true;
}

// "<pt> <rest>" of a=rtpmap / a=fmtp / a=rtcp-fb.
bool pt_and_rest(std::string_view value, std::string_view* pt, std::string_view* rest) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos) return false;
  *pt = value.substr(0, space);
  *rest = sdp::trim(value.substr(space + 1));
  return true;
}

core::Result<void> parse_media_line(std::string_view value, size_t line_no, SdpMedia* m) {
  const auto w = sdp::words(value);
  if (w.size() < 4) return malformed(line_no, "is an m-line without media, port, protocol and formats");
  if (w.size() - 3 > kMaxFormats)
    return core::Error{"sdp_too_many_formats", "An m-line of the offer lists more than 64 formats.", ""};
  m->media = std::string(w[0]);
  m->kind = w[0] == "audio"         ? SdpKind::audio
            : w[0] == "video"       ? SdpKind::video
            : w[0] == "application" ? SdpKind::application
                                    : SdpKind::other;
  const auto port = w[1].substr(0, w[1].find('/'));
  if (!number(port, &m->port) || m->port < 0 || m->port > 65535) return malformed(line_no, "has a bad port");
  m->protocol = std::string(w[2]);
  m->rejected = m->port == 0;
  if (m->protocol.find("RTP/") == std::string::npos) return {};
  for (size_t i = 3; i < w.size(); ++i) {
    int pt = -1;
    if (!number(w[i], &pt) || pt < 0 || pt > 127)
      return malformed(line_no, "has a payload type that is not 0–127");
    if (m->format(pt)) continue;
    SdpFormat f;
    f.pt = pt;
    f.channels = m->kind == SdpKind::audio ? 1 : 0;
    m->formats.push_back(std::move(f));
  }
  return {};
}

// One a= line of a media section (and the session-level ones it may repeat).
core::Result<void> parse_media_attribute(std::string_view line, size_t line_no, SdpMedia* m,
                                         bool* has_direction) {
  std::string_view v, pt_text, rest;
  int pt = -1;
  if (direction_of(line, &m->direction)) {
    *has_direction = true;
  } else if (sdp::attribute(line, "mid", &v)) {
    m->mid = std::string(sdp::trim(v));
  } else if (sdp::attribute(line, "rtpmap", &v)) {
    if (!pt_and_rest(v, &pt_text, &rest) || !number(pt_text, &pt))
      return malformed(line_no, "is a bad a=rtpmap");
    auto* f = find_format(m, pt);
    if (!f) return {};
    const size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return malformed(line_no, "is a bad a=rtpmap");
    std::string_view clock = rest.substr(slash + 1), channels;
    if (const size_t s2 = clock.find('/'); s2 != std::string_view::npos) {
      channels = clock.substr(s2 + 1);
      clock = clock.substr(0, s2);
    }
    if (!number(clock, &f->clock_rate) || f->clock_rate <= 0 ||
        (!channels.empty() && (!number(channels, &f->channels) || f->channels <= 0 || f->channels > 255)))
      return malformed(line_no, "is a bad a=rtpmap");
    f->encoding = std::string(rest.substr(0, slash));
  } else if (sdp::attribute(line, "fmtp", &v)) {
    if (!pt_and_rest(v, &pt_text, &rest) || !number(pt_text, &pt))
      return malformed(line_no, "is a bad a=fmtp");
    if (auto* f = find_format(m, pt)) f->fmtp = std::string(rest);
  } else if (sdp::attribute(line, "rtcp-fb", &v)) {
    if (!pt_and_rest(v, &pt_text, &rest) || rest.empty()) return malformed(line_no, "is a bad a=rtcp-fb");
    const bool all = pt_text == "*";
    if (!all && !number(pt_text, &pt)) return malformed(line_no, "is a bad a=rtcp-fb");
    for (auto& f : m->formats)
      if ((all || f.pt == pt) && f.rtcp_fb.size() < kMaxFeedback) f.rtcp_fb.emplace_back(rest);
  } else if (sdp::attribute(line, "extmap", &v)) {
    const auto w = sdp::words(v);
    int id = 0;
    if (w.size() < 2 || !number(w[0].substr(0, w[0].find('/')), &id) || id < 1 || id > 255)
      return malformed(line_no, "is a bad a=extmap");
    if (m->extmaps.size() < kMaxExtmaps) m->extmaps.push_back({id, std::string(w[1])});
  } else if (sdp::attribute(line, "ice-ufrag", &v)) {
    m->ice_ufrag = !sdp::trim(v).empty();
  } else if (sdp::attribute(line, "ice-pwd", &v)) {
    m->ice_pwd = !sdp::trim(v).empty();
  } else if (sdp::attribute(line, "fingerprint", &v)) {
    m->fingerprint = sdp::words(v).size() == 2;
  } else if (sdp::attribute(line, "setup", &v)) {
    m->setup = !sdp::trim(v).empty();
  } else if (sdp::attribute(line, "simulcast", &v)) {
    m->simulcast = true;
  } else if (sdp::attribute(line, "rid", &v)) {
    ++m->rids;
  } else if (line.substr(0, 12) == "a=candidate:") {
    ++m->candidates;
  } else if (sdp::attribute(line, "bundle-only", &v)) {
    m->rejected = false;
  }
  return {};
}

}  // namespace

const SdpFormat* SdpMedia::format(int pt) const {
  for (const auto& f : formats)
    if (f.pt == pt) return &f;
  return nullptr;
}

std::string SdpMedia::fmtp_value(int pt, std::string_view name) const {
  const auto* f = format(pt);
  if (!f) return {};
  std::string_view params = f->fmtp;
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view item = sdp::trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos && iequals(sdp::trim(item.substr(0, eq)), name))
      return std::string(sdp::trim(item.substr(eq + 1)));
  }
  return {};
}

core::Result<SdpOffer> parse_sdp_offer(std::string_view sdp, size_t max_bytes) {
  if (auto bounds = check_bounds(sdp, max_bytes); !bounds) return bounds.error();
  const auto lines = sdp::split_lines(sdp);
  if (lines.empty() || lines[0] != "v=0") return malformed(0, "is not v=0, as an SDP offer starts");
  SdpOffer offer;
  SdpDirection session_direction = SdpDirection::sendrecv;
  std::vector<bool> own_direction;
  for (size_t n = 0; n < lines.size(); ++n) {
    const auto line = lines[n];
    if (line.empty()) continue;
    if (line.size() < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=')
      return malformed(n, "is not <letter>=<value>");
    for (char ch : line)
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f)
        return malformed(n, "holds a control character");
    if (line[0] == 'm') {
      SdpMedia m;
      if (auto r = parse_media_line(line.substr(2), n, &m); !r) return r.error();
      offer.media.push_back(std::move(m));
      own_direction.push_back(false);
      continue;
    }
    if (line[0] != 'a') continue;
    if (!offer.media.empty()) {
      bool has_direction = false;
      if (auto r = parse_media_attribute(line, n, &offer.media.back(), &has_direction); !r) return r.error();
      if (has_direction) own_direction.back() = true;
      continue;
    }
    std::string_view v;
    if (direction_of(line, &session_direction)) continue;
    if (sdp::attribute(line, "ice-ufrag", &v))
      offer.ice_ufrag = !sdp::trim(v).empty();
    else if (sdp::attribute(line, "ice-pwd", &v))
      offer.ice_pwd = !sdp::trim(v).empty();
    else if (sdp::attribute(line, "fingerprint", &v))
      offer.fingerprint = sdp::words(v).size() == 2;
    else if (sdp::attribute(line, "setup", &v))
      offer.setup = !sdp::trim(v).empty();
    else if (sdp::attribute(line, "group", &v) && offer.bundle.empty()) {
      const auto w = sdp::words(v);
      if (!w.empty() && w[0] == "BUNDLE")
        for (size_t k = 1; k < w.size() && k <= kMaxMedia * 4; ++k) offer.bundle.emplace_back(w[k]);
    }
  }
  for (size_t i = 0; i < offer.media.size(); ++i) {
    if (!own_direction[i]) offer.media[i].direction = session_direction;
    offer.candidates += offer.media[i].candidates;
  }
  return offer;
}

H264ProfileLevel h264_profile_level(std::string_view id) {
  if (id.empty()) return {"baseline", 10};
  unsigned value = 0;
  if (id.size() != 6 || id[0] == '-' || id[0] == '+') return {};
  auto [p, ec] = std::from_chars(id.data(), id.data() + 6, value, 16);
  if (ec != std::errc() || p != id.data() + 6) return {};
  return {h264_profile_name(static_cast<int>(value >> 16), static_cast<int>((value >> 8) & 0xFF)),
          static_cast<int>(value & 0xFF)};
}

int sdp_refusal_status(const core::Error& error) {
  if (error.code == "sdp_too_large") return 413;
  if (error.code.rfind("sdp_", 0) == 0) return 400;
  return 422;
}

namespace {

constexpr std::string_view kTwccUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

core::Error refusal(const char* code, std::string message) {
  return core::Error{code, std::move(message), ""};
}

// Both uses need ICE credentials and a DTLS fingerprint, at session level or on every m-line in use.
core::Result<void> check_security(const SdpOffer& offer) {
  for (const auto& m : offer.media) {
    if (m.rejected || m.kind == SdpKind::other) continue;
    if (!(offer.ice_ufrag || m.ice_ufrag) || !(offer.ice_pwd || m.ice_pwd))
      return refusal(
          "sdp_no_ice",
          "The offer has no ICE credentials (a=ice-ufrag and a=ice-pwd), so it is not a WebRTC offer "
          "sreda can answer: use a WebRTC (WHIP/WHEP) client.");
    if (!(offer.fingerprint || m.fingerprint))
      return refusal(
          "sdp_no_fingerprint",
          "The offer has no DTLS fingerprint (a=fingerprint), which WebRTC needs to encrypt the media: "
          "use a WebRTC (WHIP/WHEP) client.");
  }
  return {};
}

bool sends(SdpDirection d) {
  return d == SdpDirection::sendonly || d == SdpDirection::sendrecv;
}
bool receives(SdpDirection d) {
  return d == SdpDirection::recvonly || d == SdpDirection::sendrecv;
}

// The m-lines of `kind` the offerer sends (WHIP) or receives (WHEP).
std::vector<size_t> used(const SdpOffer& offer, SdpKind kind, bool sending) {
  std::vector<size_t> out;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    if (!m.rejected && m.kind == kind && (sending ? sends(m.direction) : receives(m.direction)))
      out.push_back(i);
  }
  return out;
}

SdpTrack track(const SdpOffer& offer, size_t mline, const SdpFormat& f) {
  SdpTrack t;
  t.mline = static_cast<int>(mline);
  t.mid = offer.media[mline].mid;
  t.pt = f.pt;
  t.format = f;
  for (const auto& e : offer.media[mline].extmaps)
    if (e.uri == kTwccUri) t.twcc_extmap_id = e.id;
  for (const auto& rtx : offer.media[mline].formats)
    if (iequals(rtx.encoding, "rtx") &&
        offer.media[mline].fmtp_value(rtx.pt, "apt") == std::to_string(f.pt)) {
      t.rtx_pt = rtx.pt;
      break;
    }
  return t;
}

bool is_h264(const SdpFormat& f) {
  return iequals(f.encoding, "H264") && f.clock_rate == 90000;
}
bool is_opus(const SdpFormat& f) {
  return iequals(f.encoding, "opus") && f.clock_rate == 48000 && f.channels == 2;
}
bool packetization_mode_1(const SdpMedia& m, const SdpFormat& f) {
  return m.fmtp_value(f.pt, "packetization-mode") == "1";
}

// "VP8, VP9, AV1": the video codecs an offer has (repair formats left out), for the refusal's words.
std::string codec_list(const SdpMedia& m) {
  std::string out;
  for (const auto& f : m.formats) {
    if (f.encoding.empty() || iequals(f.encoding, "rtx") || iequals(f.encoding, "red") ||
        iequals(f.encoding, "ulpfec") || iequals(f.encoding, "flexfec-03") ||
        out.find(f.encoding) != std::string::npos)
      continue;
    if (out.size() > 200) break;
    out += (out.empty() ? "" : ", ") + f.encoding;
  }
  return out.empty() ? "none" : out;
}

// The m-line's first Opus/48000/2 format; absent when none.
SdpTrack opus_track(const SdpOffer& offer, size_t mline) {
  for (const auto& f : offer.media[mline].formats)
    if (is_opus(f)) return track(offer, mline, f);
  return {};
}

const char* kind_name(SdpKind k) {
  return k == SdpKind::video ? "video" : "audio";
}

core::Result<void> at_most_one(const std::vector<size_t>& lines, SdpKind kind, const char* code) {
  if (lines.size() <= 1) return {};
  return refusal(code, "The offer has " + std::to_string(lines.size()) + " " + kind_name(kind) +
                           " tracks; sreda takes one video and one audio track: send one camera (or screen) "
                           "and one sound source.");
}

// Whether a decoder of `viewer` plays a stream in `feed` (GStreamer profile names).
bool decodes(const std::string& viewer, const std::string& feed) {
  if (viewer != "constrained-baseline" && viewer != "baseline" && viewer != "main") return false;
  return viewer == feed || feed == "constrained-baseline";
}

}  // namespace

core::Result<WhipChoice> choose_whip(const SdpOffer& offer) {
  if (auto ok = check_security(offer); !ok) return ok.error();
  const auto video = used(offer, SdpKind::video, true), audio = used(offer, SdpKind::audio, true);
  if (video.empty() && audio.empty())
    return refusal(
        "whip_no_media",
        "The offer sends no video and no audio (only a data channel, or it only wants to receive), "
        "so there is nothing to put on air: publish a camera, a screen or a microphone.");
  if (auto one = at_most_one(video, SdpKind::video, "whip_too_many_tracks"); !one) return one.error();
  if (auto one = at_most_one(audio, SdpKind::audio, "whip_too_many_tracks"); !one) return one.error();
  WhipChoice choice;
  if (!video.empty()) {
    const auto& m = offer.media[video[0]];
    if (m.simulcast || m.rids > 0)
      return refusal(
          "whip_simulcast",
          "The encoder sends its video several times in different sizes (simulcast), which sreda does "
          "not take: turn off simulcast in OBS (Settings → Stream) or in your WHIP encoder, and send "
          "one video stream; sreda makes the smaller sizes itself.");
    bool h264 = false, mode1 = false;
    for (const auto& f : m.formats) {
      if (!is_h264(f)) continue;
      h264 = true;
      if (!packetization_mode_1(m, f)) continue;
      mode1 = true;
      const auto pl = h264_profile_level(m.fmtp_value(f.pt, "profile-level-id"));
      if (pl.profile.empty() || !h264_profile_plays_in_browsers(pl.profile)) continue;
      choice.video = track(offer, video[0], f);
      choice.video_profile = pl.profile;
      break;
    }
    if (!choice.video.present()) {
      if (mode1)
        return refusal("whip_h264_profile",
                       "The encoder offers H.264 only in a profile browsers cannot play (10-bit, 4:2:2 or "
                       "4:4:4): in OBS set Settings → Advanced → Color Format to NV12 and the encoder's "
                       "Profile to high, main or baseline.");
      return refusal(
          "whip_no_h264",
          std::string(h264 ? "The encoder offers H.264 video only in a packetization mode sreda "
                             "does not take (mode 0)"
                           : "This browser or encoder cannot send H.264 video, which sreda needs") +
              ": in OBS choose x264 (or a hardware H.264 encoder) in Settings → Output; in Firefox "
              "allow the OpenH264 plugin (Add-ons → Plugins); Chrome, Edge and Safari send H.264 by "
              "themselves. This offer has: " +
              codec_list(m) + ".");
    }
  }
  if (!audio.empty()) {
    choice.audio = opus_track(offer, audio[0]);
    if (!choice.audio.present())
      return refusal(
          "whip_no_opus",
          "The encoder does not send Opus audio, which sreda needs over WebRTC: OBS's WHIP output and "
          "every browser send Opus by themselves; set the encoder's audio codec to Opus, 48 kHz "
          "stereo. This offer has: " +
              codec_list(offer.media[audio[0]]) + ".");
  }
  return choice;
}

core::Result<WhepChoice> choose_whep(const SdpOffer& offer, const WhepFeed& feed) {
  if (auto ok = check_security(offer); !ok) return ok.error();
  const auto video = used(offer, SdpKind::video, false), audio = used(offer, SdpKind::audio, false);
  if (video.empty() && audio.empty())
    return refusal("whep_no_media",
                   "The player asks to receive neither video nor audio, so there is nothing "
                   "to play: reload the page.");
  if (auto one = at_most_one(video, SdpKind::video, "whep_too_many_tracks"); !one) return one.error();
  if (auto one = at_most_one(audio, SdpKind::audio, "whep_too_many_tracks"); !one) return one.error();
  WhepChoice choice;
  if (!video.empty()) {
    const auto& m = offer.media[video[0]];
    for (const auto& f : m.formats) {
      if (!is_h264(f) || !packetization_mode_1(m, f)) continue;
      const auto pl = h264_profile_level(m.fmtp_value(f.pt, "profile-level-id"));
      const int level = pl.level_idc == 9 ? 10 : pl.level_idc;  // level 1b
      if (!decodes(pl.profile, feed.video_profile)) continue;
      if (level < feed.video_level_idc && m.fmtp_value(f.pt, "level-asymmetry-allowed") != "1") continue;
      choice.video = track(offer, video[0], f);
      break;
    }
    if (!choice.video.present())
      return refusal(
          "whep_no_h264",
          "This browser cannot play the stream's H.264 video in real time (WebRTC); the page plays it "
          "with a few seconds of delay instead.");
  }
  if (!audio.empty()) {
    choice.audio = opus_track(offer, audio[0]);
    if (!choice.audio.present())
      return refusal(
          "whep_no_opus",
          "This browser cannot play Opus audio in real time (WebRTC); the page plays the stream with a "
          "few seconds of delay instead.");
  }
  return choice;
}

}  // namespace sreda::media
