#include "server/ingest/rtmp/flv_media.h"

#include <cmath>
#include <cstdlib>

#include "server/ingest/rtmp/amf0.h"
#include "server/media/audio.h"
#include "server/media/h264.h"

namespace sreda::ingest::rtmp {
namespace {

uint32_t be(std::span<const uint8_t> d, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | d[at + static_cast<size_t>(i)];
  return v;
}

const char* unsupported_suffix = ": publish H.264 video and AAC or MP3 audio";

std::string video_codec_name(uint8_t b0) {
  if (b0 & 0x80) return "enhanced RTMP video (HEVC/AV1/VP9)";
  switch (b0 & 0x0F) {
    case 2: return "Sorenson H.263";
    case 3: return "Screen video";
    case 4: return "VP6";
    case 5: return "VP6 with alpha";
    case 6: return "Screen video 2";
    case 12: return "HEVC";
    default: return "FLV video codec " + std::to_string(b0 & 0x0F);
  }
}

std::string audio_codec_name(uint8_t b0) {
  switch (b0 >> 4) {
    case 0: case 3: return "PCM";
    case 1: return "ADPCM";
    case 2: case 14: return "MP3";
    case 4: case 5: case 6: return "Nellymoser";
    case 7: return "G.711 A-law";
    case 8: return "G.711 mu-law";
    case 11: return "Speex";
    default: return "FLV sound format " + std::to_string(b0 >> 4);
  }
}

}  // namespace

void frame_rate_from_double(double fps, int& num, int& den) {
  num = 0;
  den = 1;
  if (!std::isfinite(fps) || fps <= 0 || fps > 1000) return;
  const double rounded = std::round(fps);
  if (std::fabs(fps - rounded) < 0.005) {
    num = static_cast<int>(rounded);
    return;
  }
  const double ntsc = std::round(fps * 1.001);
  if (std::fabs(fps - ntsc / 1.001) < 0.005) {
    num = static_cast<int>(ntsc) * 1000;
    den = 1001;
    return;
  }
  num = static_cast<int>(std::lround(fps * 1000));
  den = 1000;
}

// ---- FlvMediaSource --------------------------------------------------------------------------------

bool FlvMediaSource::feed(const FlvTag& tag) {
  if (failed_) return false;
  switch (tag.type) {
    case FlvTag::script: on_script(tag); break;
    case FlvTag::video: on_video(tag); break;
    case FlvTag::audio: on_audio(tag); break;
    default: break;
  }
  return !failed_;
}

void FlvMediaSource::on_script(const FlvTag& tag) {
  // "onMetaData", then an object or ECMA array; only `framerate` is used (when the SPS has no timing).
  size_t offset = 0;
  auto name = amf0_decode(tag.data, offset);
  if (!name || !name->is_string() || name->string != "onMetaData") return;
  auto meta = amf0_decode(tag.data, offset);
  if (!meta || !meta->is_object_like()) return;
  const Amf0Value* rate = meta->get("framerate");
  if (!rate || !rate->is_number()) return;
  frame_rate_from_double(rate->number, meta_fps_num_, meta_fps_den_);
  if (!sps_fps_ && !prepared_ && facts_.has_video) {
    facts_.fps_num = meta_fps_num_;
    facts_.fps_den = meta_fps_den_;
  }
}

void FlvMediaSource::on_video(const FlvTag& tag) {
  const auto& d = tag.data;
  if (d.empty()) return;
  if ((d[0] & 0x80) || (d[0] & 0x0F) != 7)
    return fail("unsupported codec " + video_codec_name(d[0]) + unsupported_suffix);
  if ((d[0] >> 4) == 5) return;  // video info/command frame
  if (d.size() < 5) {
    ++dropped_;
    return;
  }
  const std::span<const uint8_t> body(d.data() + 5, d.size() - 5);
  switch (d[1]) {
    case 0:
      set_video_config(body);
      return;
    case 1:
      break;
    default:
      return;  // end of sequence
  }
  if (raw_avcc_.empty() || (prepared_ && !session_video_)) {
    ++dropped_;
    return;
  }
  int32_t cts = static_cast<int32_t>(be(d, 2, 3) << 8) >> 8;  // SI24
  media::AccessUnit unit;
  unit.track = media::TrackKind::video;
  unit.dts_us = int64_t{tag.timestamp} * 1000;
  unit.pts_us = unit.dts_us + int64_t{cts} * 1000;
  unit.keyframe = (d[0] >> 4) == 1;
  if (facts_.fps_num > 0) unit.duration_us = 1'000'000LL * facts_.fps_den / facts_.fps_num;
  // Check the NAL unit lengths; rewrite them as 4-byte lengths when the stream uses 1 or 2.
  const size_t n = static_cast<size_t>(nal_length_size_);
  if (n == 4) {
    for (size_t at = 0; at < body.size();) {
      size_t len = at + 4 <= body.size() ? be(body, at, 4) : 0;
      if (len == 0 || len > body.size() - at - 4) {
        ++dropped_;
        return;
      }
      at += 4 + len;
    }
    unit.data.assign(body.begin(), body.end());
  } else {
    unit.data.reserve(body.size() + body.size() / 4);
    for (size_t at = 0; at < body.size();) {
      size_t len = at + n <= body.size() ? be(body, at, static_cast<int>(n)) : 0;
      if (len == 0 || len > body.size() - at - n) {
        ++dropped_;
        return;
      }
      for (int shift = 24; shift >= 0; shift -= 8) unit.data.push_back(static_cast<uint8_t>(len >> shift));
      unit.data.insert(unit.data.end(), body.begin() + static_cast<std::ptrdiff_t>(at + n),
                       body.begin() + static_cast<std::ptrdiff_t>(at + n + len));
      at += n + len;
    }
  }
  if (unit.data.empty()) return;
  deliver(std::move(unit));
}

void FlvMediaSource::on_audio(const FlvTag& tag) {
  const auto& d = tag.data;
  if (d.empty()) return;
  if ((d[0] >> 4) == 2 || (d[0] >> 4) == 14) return on_mp3(tag);
  if ((d[0] >> 4) != 10) return fail("unsupported codec " + audio_codec_name(d[0]) + unsupported_suffix);
  if (d.size() < 2) {
    ++dropped_;
    return;
  }
  const std::span<const uint8_t> body(d.data() + 2, d.size() - 2);
  if (d[1] == 0) {
    set_audio_config(body);
    return;
  }
  if (raw_asc_.empty() || (prepared_ && !session_audio_) || body.empty()) {
    ++dropped_;
    return;
  }
  media::AccessUnit unit;
  unit.track = media::TrackKind::audio;
  unit.dts_us = unit.pts_us = int64_t{tag.timestamp} * 1000;
  unit.duration_us = 1024 * 1'000'000LL / facts_.audio_rate;
  unit.keyframe = true;
  unit.data.assign(body.begin(), body.end());
  deliver(std::move(unit));
}

// MP3: no configuration tag; the first frame's header gives the facts (again when they change). The
// ladder transcodes it to AAC for players.
void FlvMediaSource::on_mp3(const FlvTag& tag) {
  const std::span<const uint8_t> body(tag.data.data() + 1, tag.data.size() - 1);
  auto h = media::parse_mpeg_audio_header(body);
  if (!h || (prepared_ && !session_audio_)) {
    ++dropped_;
    return;
  }
  const std::string codec = h->layer == 3 ? "mp3" : "mp2";
  if (facts_.audio_codec != codec || facts_.audio_rate != h->sample_rate || facts_.audio_channels != h->channels) {
    raw_asc_.clear();
    facts_.has_audio = true;
    facts_.audio_codec = codec;
    facts_.audio_rate = h->sample_rate;
    facts_.audio_channels = h->channels;
    facts_.audio_codec_data.clear();
    facts_.audio_caps = "audio/mpeg, mpegversion=(int)1, layer=(int)" + std::to_string(h->layer) +
                        ", rate=(int)" + std::to_string(h->sample_rate) + ", channels=(int)" +
                        std::to_string(h->channels) + ", parsed=(boolean)true";
    if (prepared_) {
      listener_.on_prepared(facts_);
    } else if (facts_.has_video) {
      prepare();
    }
  }
  media::AccessUnit unit;
  unit.track = media::TrackKind::audio;
  unit.dts_us = unit.pts_us = int64_t{tag.timestamp} * 1000;
  unit.duration_us = int64_t{h->samples} * 1'000'000 / h->sample_rate;
  unit.keyframe = true;
  unit.data.assign(body.begin(), body.end());
  deliver(std::move(unit));
}

bool FlvMediaSource::set_video_config(std::span<const uint8_t> avcc) {
  if (raw_avcc_.size() == avcc.size() && std::equal(avcc.begin(), avcc.end(), raw_avcc_.begin())) return true;
  if (prepared_ && !session_video_) return true;  // a track that is not part of this session
  auto config = media::parse_avc_config(avcc);
  if (!config) {
    fail("bad H.264 configuration: " + config.error().message);
    return false;
  }
  auto sps = media::parse_sps(config->sps.front());
  if (!sps) {
    fail("bad H.264 configuration: " + sps.error().message);
    return false;
  }
  raw_avcc_.assign(avcc.begin(), avcc.end());
  nal_length_size_ = config->nal_length_size;
  facts_.has_video = true;
  facts_.video_codec = "h264";
  facts_.video_profile = media::h264_profile_name(sps->profile_idc, sps->constraint_flags);
  facts_.video_level = media::h264_level_name(sps->level_idc, sps->profile_idc, sps->constraint_flags);
  facts_.width = sps->width;
  facts_.height = sps->height;
  sps_fps_ = sps->fps_num > 0;
  facts_.fps_num = sps_fps_ ? sps->fps_num : meta_fps_num_;
  facts_.fps_den = sps_fps_ ? sps->fps_den : meta_fps_den_;
  facts_.video_codec_data = raw_avcc_;
  if (nal_length_size_ != 4) facts_.video_codec_data[4] |= 0x03;  // units are rewritten with 4-byte lengths
  if (prepared_) {
    listener_.on_prepared(facts_);  // a new configuration mid-stream: a new session start for consumers
  } else if (facts_.has_audio) {
    prepare();
  }
  return true;
}

bool FlvMediaSource::set_audio_config(std::span<const uint8_t> asc) {
  if (raw_asc_.size() == asc.size() && std::equal(asc.begin(), asc.end(), raw_asc_.begin())) return true;
  if (prepared_ && !session_audio_) return true;
  auto config = media::parse_audio_specific_config(asc);
  if (!config) {
    fail("bad AAC configuration: " + config.error().message);
    return false;
  }
  if (config->channels == 0) {  // in a program config element, or reserved: a layout players may not take
    fail("bad AAC configuration: the AAC channel configuration " + std::to_string(config->channel_config) +
         " is not supported (use mono, stereo or 5.1)");
    return false;
  }
  raw_asc_.assign(asc.begin(), asc.end());
  facts_.has_audio = true;
  facts_.audio_codec = "aac";
  facts_.audio_caps.clear();
  facts_.audio_rate = config->sample_rate;
  facts_.audio_channels = config->channels;
  facts_.audio_codec_data = raw_asc_;
  if (prepared_) {
    listener_.on_prepared(facts_);
  } else if (facts_.has_video) {
    prepare();
  }
  return true;
}

void FlvMediaSource::deliver(media::AccessUnit unit) {
  if (prepared_) return listener_.on_access_unit(std::move(unit));
  if (held_.size() >= kMaxHeldUnits) {  // overflow policy: keep the newest
    held_bytes_ -= held_.front().data.size();
    held_.pop_front();
  }
  if (held_bytes_ + unit.data.size() > max_held_bytes_) {  // a publisher that only floods: close it
    held_bytes_exceeded_ = true;
    return fail("more than " + std::to_string(max_held_bytes_) +
                " bytes of media held before both tracks were configured (ingest.max_held_media_bytes)");
  }
  if (first_held_dts_us_ < 0) first_held_dts_us_ = unit.dts_us;
  const int64_t spread = unit.dts_us - first_held_dts_us_;
  held_bytes_ += unit.data.size();
  held_.push_back(std::move(unit));
  // A stream that never shows its second track: kPrepareWindowUs of media is enough.
  if (spread > kPrepareWindowUs) prepare();
}

void FlvMediaSource::prepare() {
  prepared_ = true;
  session_video_ = facts_.has_video;
  session_audio_ = facts_.has_audio;
  listener_.on_prepared(facts_);
  for (auto& u : held_) listener_.on_access_unit(std::move(u));
  held_.clear();
  held_bytes_ = 0;
}

void FlvMediaSource::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  held_.clear();
  held_bytes_ = 0;
  listener_.on_failed(reason);
}

}  // namespace sreda::ingest::rtmp
