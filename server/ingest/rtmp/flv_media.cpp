#include "server/ingest/rtmp/flv_media.h"

#include <cmath>
#include <cstdlib>
#include <numeric>

#include "server/ingest/rtmp/amf0.h"

namespace sreda::ingest::rtmp {
namespace {

core::Error bad(const std::string& code, const std::string& message) { return core::Error{code, message, {}}; }

// Bits of an RBSP (emulation-prevention bytes already removed), MSB first. Reading past the end sets
// `overrun` and yields zeros, so a parser checks once at the end of a block.
class BitReader {
 public:
  explicit BitReader(const std::vector<uint8_t>& data) : data_(data) {}
  uint32_t bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  uint32_t bit() {
    if (pos_ >= data_.size() * 8) {
      overrun = true;
      return 0;
    }
    uint32_t b = (data_[pos_ / 8] >> (7 - pos_ % 8)) & 1u;
    ++pos_;
    return b;
  }
  // Exp-Golomb ue(v); values beyond 32 bits are an overrun.
  uint32_t ue() {
    int zeros = 0;
    while (bit() == 0) {
      if (overrun || ++zeros > 31) {
        overrun = true;
        return 0;
      }
    }
    return static_cast<uint32_t>((uint64_t{1} << zeros) - 1 + bits(zeros));
  }
  int32_t se() {
    uint32_t k = ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }
  bool overrun = false;

 private:
  const std::vector<uint8_t>& data_;
  size_t pos_ = 0;
};

std::vector<uint8_t> unescape_rbsp(std::span<const uint8_t> nal) {
  std::vector<uint8_t> out;
  out.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    out.push_back(b);
  }
  return out;
}

void skip_scaling_list(BitReader& r, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size; ++j) {
    if (next != 0) next = (last + r.se() + 256) % 256;
    last = next == 0 ? last : next;
    if (r.overrun) return;
  }
}

bool high_profile(int p) {
  switch (p) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138:
    case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

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

core::Result<AvcConfig> parse_avc_config(std::span<const uint8_t> d) {
  if (d.size() < 7) return bad("avcc_short", "the AVC decoder configuration is shorter than 7 bytes");
  if (d[0] != 1) return bad("avcc_version", "the AVC decoder configuration has version " + std::to_string(d[0]));
  AvcConfig c;
  c.profile_idc = d[1];
  c.profile_compatibility = d[2];
  c.level_idc = d[3];
  c.nal_length_size = (d[4] & 0x03) + 1;
  if (c.nal_length_size == 3) return bad("avcc_length_size", "the AVC NAL length size 3 is invalid");
  size_t at = 5;
  for (int list = 0; list < 2; ++list) {
    if (at >= d.size()) return bad("avcc_short", "the AVC decoder configuration ends before its parameter sets");
    int count = list == 0 ? d[at] & 0x1F : d[at];
    ++at;
    for (int i = 0; i < count; ++i) {
      if (at + 2 > d.size()) return bad("avcc_short", "the AVC decoder configuration ends inside a parameter set");
      size_t len = be(d, at, 2);
      at += 2;
      if (len == 0 || at + len > d.size())
        return bad("avcc_short", "an AVC parameter set is empty or longer than its configuration");
      (list == 0 ? c.sps : c.pps).emplace_back(d.begin() + static_cast<std::ptrdiff_t>(at),
                                               d.begin() + static_cast<std::ptrdiff_t>(at + len));
      at += len;
    }
  }
  if (c.sps.empty()) return bad("avcc_no_sps", "the AVC decoder configuration has no sequence parameter set");
  if (c.pps.empty()) return bad("avcc_no_pps", "the AVC decoder configuration has no picture parameter set");
  return c;
}

core::Result<SpsInfo> parse_sps(std::span<const uint8_t> nal) {
  if (nal.size() < 4 || (nal[0] & 0x1F) != 7) return bad("sps", "not an H.264 sequence parameter set");
  std::vector<uint8_t> rbsp = unescape_rbsp(nal.subspan(1));
  BitReader r(rbsp);
  SpsInfo s;
  s.profile_idc = static_cast<int>(r.bits(8));
  s.constraint_flags = static_cast<int>(r.bits(8));
  s.level_idc = static_cast<int>(r.bits(8));
  r.ue();  // seq_parameter_set_id
  bool separate_colour_plane = false;
  if (high_profile(s.profile_idc)) {
    s.chroma_format_idc = static_cast<int>(r.ue());
    if (s.chroma_format_idc > 3) return bad("sps", "the SPS has an invalid chroma format");
    if (s.chroma_format_idc == 3) separate_colour_plane = r.bit();
    r.ue();   // bit_depth_luma_minus8
    r.ue();   // bit_depth_chroma_minus8
    r.bit();  // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {  // seq_scaling_matrix_present_flag
      for (int i = 0; i < (s.chroma_format_idc != 3 ? 8 : 12); ++i)
        if (r.bit()) skip_scaling_list(r, i < 6 ? 16 : 64);
    }
  }
  r.ue();  // log2_max_frame_num_minus4
  uint32_t poc_type = r.ue();
  if (poc_type == 0) {
    r.ue();  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    r.bit();
    r.se();
    r.se();
    uint32_t cycle = r.ue();
    if (cycle > 255) return bad("sps", "the SPS has too many reference frames in its POC cycle");
    for (uint32_t i = 0; i < cycle && !r.overrun; ++i) r.se();
  } else if (poc_type > 2) {
    return bad("sps", "the SPS has an invalid picture order count type");
  }
  r.ue();   // max_num_ref_frames
  r.bit();  // gaps_in_frame_num_value_allowed_flag
  uint32_t width_mbs = r.ue() + 1;
  uint32_t height_units = r.ue() + 1;
  uint32_t frame_mbs_only = r.bit();
  if (!frame_mbs_only) r.bit();  // mb_adaptive_frame_field_flag
  r.bit();                       // direct_8x8_inference_flag
  uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bit()) {
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
  }
  if (r.overrun) return bad("sps", "the SPS ends before its picture size");
  if (width_mbs > 1024 || height_units > 1024) return bad("sps", "the SPS picture size is out of range");
  const int chroma_array_type = separate_colour_plane ? 0 : s.chroma_format_idc;
  const int sub_width = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
  const int sub_height = chroma_array_type == 1 ? 2 : 1;
  const int crop_x = chroma_array_type == 0 ? 1 : sub_width;
  const int crop_y = (chroma_array_type == 0 ? 1 : sub_height) * (2 - static_cast<int>(frame_mbs_only));
  const int64_t full_w = int64_t{width_mbs} * 16;
  const int64_t full_h = int64_t{height_units} * 16 * (2 - frame_mbs_only);
  const int64_t w = full_w - int64_t{crop_x} * (int64_t{crop_left} + crop_right);
  const int64_t h = full_h - int64_t{crop_y} * (int64_t{crop_top} + crop_bottom);
  if (w <= 0 || h <= 0) return bad("sps", "the SPS crops away the whole picture");
  s.width = static_cast<int>(w);
  s.height = static_cast<int>(h);
  if (!r.bit()) return s;  // vui_parameters_present_flag
  if (r.bit()) {           // aspect_ratio_info_present_flag
    if (r.bits(8) == 255) r.bits(32);  // Extended_SAR: sar_width, sar_height
  }
  if (r.bit()) r.bit();  // overscan_info_present_flag → overscan_appropriate_flag
  if (r.bit()) {         // video_signal_type_present_flag
    r.bits(4);           // video_format, video_full_range_flag
    if (r.bit()) r.bits(24);  // colour_description_present_flag → primaries, transfer, matrix
  }
  if (r.bit()) {  // chroma_loc_info_present_flag
    r.ue();
    r.ue();
  }
  if (r.bit()) {  // timing_info_present_flag
    uint32_t units = r.bits(32), scale = r.bits(32);
    if (!r.overrun && units > 0 && scale > 0) {
      uint64_t num = scale, den = uint64_t{units} * 2;
      uint64_t g = std::gcd(num, den);
      num /= g;
      den /= g;
      if (num <= INT32_MAX && den <= INT32_MAX && num / den <= 1000) {
        s.fps_num = static_cast<int>(num);
        s.fps_den = static_cast<int>(den);
      }
    }
  }
  return s;  // an overrun in the VUI after the picture size keeps what was read before it
}

std::string h264_profile_name(int p, int flags) {
  const bool set1 = flags & 0x40, set3 = flags & 0x10, set4 = flags & 0x08, set5 = flags & 0x04;
  switch (p) {
    case 66: return set1 ? "constrained-baseline" : "baseline";
    case 77: return "main";
    case 88: return "extended";
    case 100:
      if (set4) return set5 ? "constrained-high" : "progressive-high";
      return "high";
    case 110:
      if (set3) return "high-10-intra";
      return set4 ? "progressive-high-10" : "high-10";
    case 122: return set3 ? "high-4:2:2-intra" : "high-4:2:2";
    case 244: return set3 ? "high-4:4:4-intra" : "high-4:4:4";
    case 44: return "cavlc-4:4:4-intra";
    case 118: return "multiview-high";
    case 128: return "stereo-high";
    case 83: return "scalable-baseline";
    case 86: return "scalable-high";
    default: return "";
  }
}

std::string h264_level_name(int level_idc, int profile_idc, int flags) {
  if (level_idc == 0) return "";
  if (level_idc == 9 || (level_idc == 11 && (flags & 0x10) && (profile_idc == 66 || profile_idc == 77 ||
                                                              profile_idc == 88)))
    return "1b";
  if (level_idc % 10 == 0) return std::to_string(level_idc / 10);
  return std::to_string(level_idc / 10) + "." + std::to_string(level_idc % 10);
}

core::Result<AacConfig> parse_audio_specific_config(std::span<const uint8_t> d) {
  static constexpr int kRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};
  if (d.size() < 2) return bad("asc_short", "the AAC AudioSpecificConfig is shorter than 2 bytes");
  std::vector<uint8_t> bytes(d.begin(), d.end());
  BitReader r(bytes);
  AacConfig c;
  c.object_type = static_cast<int>(r.bits(5));
  if (c.object_type == 31) c.object_type = 32 + static_cast<int>(r.bits(6));
  if (c.object_type == 0) return bad("asc_object_type", "the AAC AudioSpecificConfig has object type 0");
  uint32_t index = r.bits(4);
  if (index == 15) {
    c.sample_rate = static_cast<int>(r.bits(24));
  } else if (index < 13) {
    c.sample_rate = kRates[index];
  } else {
    return bad("asc_rate", "the AAC AudioSpecificConfig has a reserved sampling rate index");
  }
  uint32_t channel_config = r.bits(4);
  if (r.overrun) return bad("asc_short", "the AAC AudioSpecificConfig ends early");
  if (c.sample_rate <= 0) return bad("asc_rate", "the AAC AudioSpecificConfig has a sampling rate of 0");
  if (channel_config == 0 || channel_config > 7)
    return bad("asc_channels", "the AAC channel configuration " + std::to_string(channel_config) +
                                   " is not supported (use mono, stereo or 5.1)");
  c.channels = channel_config == 7 ? 8 : static_cast<int>(channel_config);
  return c;
}

core::Result<MpegAudioHeader> parse_mpeg_audio_header(std::span<const uint8_t> d) {
  if (d.size() < 4 || d[0] != 0xFF || (d[1] & 0xE0) != 0xE0)
    return bad("mpa_sync", "the MP3 frame does not start with a frame header");
  static constexpr int kRates[3] = {44100, 48000, 32000};
  MpegAudioHeader h;
  const int version_bits = (d[1] >> 3) & 3, layer_bits = (d[1] >> 1) & 3, rate_index = (d[2] >> 2) & 3;
  if (version_bits == 1 || layer_bits == 0 || rate_index == 3 || (d[2] >> 4) == 15)
    return bad("mpa_reserved", "the MP3 frame header has a reserved value");
  h.version = version_bits == 3 ? 1 : version_bits == 2 ? 2 : 25;
  h.layer = 4 - layer_bits;
  h.sample_rate = kRates[rate_index] / (h.version == 1 ? 1 : h.version == 2 ? 2 : 4);
  h.channels = (d[3] >> 6) == 3 ? 1 : 2;
  h.samples = h.layer == 1 ? 384 : (h.layer == 3 && h.version != 1) ? 576 : 1152;
  return h;
}

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
  pipelines::AccessUnit unit;
  unit.track = pipelines::TrackKind::video;
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
  pipelines::AccessUnit unit;
  unit.track = pipelines::TrackKind::audio;
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
  auto h = parse_mpeg_audio_header(body);
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
  pipelines::AccessUnit unit;
  unit.track = pipelines::TrackKind::audio;
  unit.dts_us = unit.pts_us = int64_t{tag.timestamp} * 1000;
  unit.duration_us = int64_t{h->samples} * 1'000'000 / h->sample_rate;
  unit.keyframe = true;
  unit.data.assign(body.begin(), body.end());
  deliver(std::move(unit));
}

bool FlvMediaSource::set_video_config(std::span<const uint8_t> avcc) {
  if (raw_avcc_.size() == avcc.size() && std::equal(avcc.begin(), avcc.end(), raw_avcc_.begin())) return true;
  if (prepared_ && !session_video_) return true;  // a track that is not part of this session
  auto config = parse_avc_config(avcc);
  if (!config) {
    fail("bad H.264 configuration: " + config.error().message);
    return false;
  }
  auto sps = parse_sps(config->sps.front());
  if (!sps) {
    fail("bad H.264 configuration: " + sps.error().message);
    return false;
  }
  raw_avcc_.assign(avcc.begin(), avcc.end());
  nal_length_size_ = config->nal_length_size;
  facts_.has_video = true;
  facts_.video_codec = "h264";
  facts_.video_profile = h264_profile_name(sps->profile_idc, sps->constraint_flags);
  facts_.video_level = h264_level_name(sps->level_idc, sps->profile_idc, sps->constraint_flags);
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
  auto config = parse_audio_specific_config(asc);
  if (!config) {
    fail("bad AAC configuration: " + config.error().message);
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

void FlvMediaSource::deliver(pipelines::AccessUnit unit) {
  if (prepared_) return listener_.on_access_unit(unit);
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
  for (const auto& u : held_) listener_.on_access_unit(u);
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
