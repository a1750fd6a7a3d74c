// libFuzzer target: AMF0 decoding of arbitrary bytes; whatever decodes must re-encode and decode equal.
#include <cstddef>
#include <cstdint>
#include <span>

#include "server/ingest/rtmp/amf0.h"

using namespace sreda::ingest::rtmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto values = amf0_decode_all(std::span<const uint8_t>(data, size));
  if (!values) return 0;
  auto wire = amf0_encode_all(*values);
  auto again = amf0_decode_all(wire);
  if (!again || *again != *values) __builtin_trap();
  // Single-value decoding with a small depth limit must fail cleanly, never crash.
  size_t offset = 0;
  while (offset < size) {
    auto v = amf0_decode(std::span<const uint8_t>(data, size), offset, 3);
    if (!v) break;
  }
  return 0;
}
