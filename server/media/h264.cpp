#include "server/media/h264.h"

#include <cstdio>
#include <numeric>

#include "server/media/bit_reader.h"

namespace sreda::media {
namespace {

core::Error bad(const std::string& code, const std::string& message) {
  return core::Error{code, message, "avcc"};
}

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

}  // namespace

core::Result<AvcConfig> parse_avc_config(std::span<const uint8_t> d) {
  if (d.size() < 7) return bad("avcc_short", "the AVC decoder configuration is shorter than 7 bytes");
  if (d[0] != 1)
    return bad("avcc_version", "the AVC decoder configuration has version " + std::to_string(d[0]));
  AvcConfig c;
  c.profile_idc = d[1];
  c.profile_compatibility = d[2];
  c.level_idc = d[3];
  c.nal_length_size = (d[4] & 0x03) + 1;
  if (c.nal_length_size == 3) return bad("avcc_length_size", "the AVC NAL length size 3 is invalid");
  size_t at = 5;
  for (int list = 0; list < 2; ++list) {
    if (at >= d.size())
      return bad("avcc_short", "the AVC decoder configuration ends before its parameter sets");
    int count = list == 0 ? d[at] & 0x1F : d[at];
    ++at;
    for (int i = 0; i < count; ++i) {
      if (at + 2 > d.size())
        return bad("avcc_short", "the AVC decoder configuration ends inside a parameter set");
      size_t len = (size_t{d[at]} << 8) | d[at + 1];
      at += 2;
      if (len == 0 || len > d.size() - at)
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
  const std::vector<uint8_t> rbsp = unescape_rbsp(nal.subspan(1));
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

std::string avc_codec_string(const AvcConfig& config) {
  char text[32];
  std::snprintf(text, sizeof text, "avc1.%02x%02x%02x", config.profile_idc & 0xFF,
                config.profile_compatibility & 0xFF, config.level_idc & 0xFF);
  return text;
}

}  // namespace sreda::media
