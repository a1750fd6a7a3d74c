#include "pipelines/webrtc/webrtc_caps.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sreda::webrtc {
namespace {

std::vector<uint8_t> buffer_bytes(const GValue* v) {
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return {};
  GstBuffer* b = gst_value_get_buffer(v);
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_READ)) return {};
  std::vector<uint8_t> out(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return out;
}

}  // namespace

std::string caps_string(const GstStructure* s, const char* field) {
  const char* v = gst_structure_get_string(s, field);
  return v ? v : "";
}

int answer_pt(const GstSDPMessage* sdp, const char* kind) {
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp, i);
    if (g_strcmp0(gst_sdp_media_get_media(m), kind) != 0 || gst_sdp_media_get_port(m) == 0) continue;
    if (gst_sdp_media_formats_len(m) == 0) continue;
    return std::atoi(gst_sdp_media_get_format(m, 0));
  }
  return -1;
}

bool sdp_has_encoding(const GstSDPMessage* sdp, const char* encoding) {
  const size_t n = std::strlen(encoding);
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp, i);
    for (guint a = 0; a < gst_sdp_media_attributes_len(m); ++a) {
      const GstSDPAttribute* attr = gst_sdp_media_get_attribute(m, a);
      if (g_strcmp0(attr->key, "rtpmap") != 0 || !attr->value) continue;
      const char* name = std::strchr(attr->value, ' ');
      if (name && g_ascii_strncasecmp(name + 1, encoding, n) == 0 && name[1 + n] == '/') return true;
    }
  }
  return false;
}

GstCaps* codec_caps(media::TrackKind kind, int pt, int twcc_extmap_id, uint32_t ssrc) {
  GstCaps* caps = gst_caps_new_simple(
      "application/x-rtp", "media", G_TYPE_STRING, kind == media::TrackKind::video ? "video" : "audio",
      "payload", G_TYPE_INT, pt, "clock-rate", G_TYPE_INT, kind == media::TrackKind::video ? 90000 : 48000,
      "encoding-name", G_TYPE_STRING, kind == media::TrackKind::video ? "H264" : "OPUS", nullptr);
  if (twcc_extmap_id > 0) {
    std::string field = "extmap-" + std::to_string(twcc_extmap_id);
    gst_caps_set_simple(caps, field.c_str(), G_TYPE_STRING,
                        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", nullptr);
  }
  if (ssrc != 0) gst_caps_set_simple(caps, "ssrc", G_TYPE_UINT, ssrc, nullptr);
  return caps;
}

TrackChoice track_choice(const media::SdpTrack& video, const media::SdpTrack& audio) {
  TrackChoice c;
  c.video_pt = video.present() ? video.pt : -1;
  c.audio_pt = audio.present() ? audio.pt : -1;
  const int twcc = video.present() && video.twcc_extmap_id > 0 ? video.twcc_extmap_id : audio.twcc_extmap_id;
  c.twcc_extmap_id = audio.present() || video.present() ? std::max(twcc, 0) : 0;
  return c;
}

ReceivedFormat received_format(media::TrackKind track, const GstCaps* caps) {
  ReceivedFormat f;
  f.track = track;
  f.codec = track == media::TrackKind::video ? "h264" : "opus";
  gchar* text = gst_caps_to_string(caps);
  f.caps = text;
  g_free(text);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  f.codec_data = buffer_bytes(gst_structure_get_value(s, "codec_data"));
  f.profile = caps_string(s, "profile");
  f.level = caps_string(s, "level");
  gst_structure_get_int(s, "width", &f.width);
  gst_structure_get_int(s, "height", &f.height);
  gst_structure_get_int(s, "rate", &f.rate);
  gst_structure_get_int(s, "channels", &f.channels);
  if (track == media::TrackKind::audio && f.rate == 0) f.rate = 48000;
  return f;
}

}  // namespace sreda::webrtc
