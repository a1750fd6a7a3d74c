// Real codec configurations for the unit tests of server/media and of its callers (the FLV parser):
// AVCDecoderConfigurationRecords and AudioSpecificConfigs as encoders wrote them, in hex.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sreda::test_fixtures {

inline std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

// From ffmpeg/libx264 FLV files (testsrc, -pix_fmt yuv420p, 25 fps unless said) and from GStreamer's
// openh264enc.
inline const char* kX264_320x240 =
    "0164000dffe100196764000dacd94141fb011000000300100000030320f142996001000468ef8fcbfdf8f800";
inline const char* kX264_1280x720 =
    "0164001fffe1001a6764001facd9405005bb011000000300100000030320f183196001000468ef8fcbfdf8f800";
inline const char* kX264_320x180 =  // 192 coded lines, cropped to 180
    "0164000cffe1001a6764000cacd941419f9f011000000300100000030320f142996001000468ef8fcbfdf8f800";
inline const char* kX264_Baseline_2997 =  // -profile:v baseline, 30000/1001 fps
    "0142c00dffe100166742c00dd90141fb011000003e90000ea600f142a48001000568cb83cb20";
inline const char* kOpenH264_320x180 =  // cropped, VUI without timing
    "0142c00cffe1000f6742c00c8c8d40a0cbcf00f08846a001000468ce3c80";
// From ffmpeg-made MP4 files (the avcC box): testsrc 1920x1080 at 30 fps (High 4.0, 1088 lines cropped),
// and 1280x720 at 50 fps with -profile:v main (level 3.2).
inline const char* kX264_1920x1080_Mp4 =
    "01640028ffe1001b67640028acd940780227e5c044000003000400000300f03c60c65801000668ebe3cb22c0fdf8f800";
inline const char* kX264_Main_1280x720_50_Mp4 =
    "014d4020ffe10019674d4020eca02802dd80880000030008000003032078c18cb001000568ebe3cb20";

// AudioSpecificConfigs: ffmpeg's AAC LC at 48 kHz stereo (FLV), and at 44.1 kHz mono with an explicit SBR
// extension (the esds of the 1080p MP4 above).
inline const char* kAacLc48kStereo = "1190";
inline const char* kAacLc44kMonoSbrExt = "120856e500";

}  // namespace sreda::test_fixtures
