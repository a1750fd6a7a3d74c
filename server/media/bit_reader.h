// Bits of a byte string, MSB first, for the codec configuration parsers (h264.cpp, audio.cpp). Reading
// past the end sets `overrun` and yields zeros, so a parser checks once at the end of a block. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sreda::media {

class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> data) : data_(data) {}
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
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace sreda::media
