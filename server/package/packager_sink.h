// Where every finished piece of a rendition goes besides the live window (the archive uses it).
//
// Threads: called on the thread that pushed the media into the packager (a GStreamer streaming
// thread), outside the packager's window lock, one call at a time and in order. Implementations must not
// block for long (queue the bytes to a writer thread; the BytesPtr may be kept as long as needed).
#pragma once

#include <cstdint>
#include <string_view>

#include "server/package/packager_input.h"

namespace sreda::package {

struct SegmentInfo;

class PackagerSink {
 public:
  virtual ~PackagerSink() = default;
  // A new init segment (init_id 0 is `init.mp4`, later ones `init<id>.mp4`).
  virtual void on_init(std::string_view rendition, int init_id, const BytesPtr& bytes) = 0;
  // A completed part `part<msn>.<index>.m4s` (a moof+mdat pair).
  virtual void on_part(std::string_view rendition, int64_t msn, int index, const BytesPtr& bytes) = 0;
  // A completed segment `seg<msn>.m4s` (the concatenation of its parts, given as the parts) with its
  // playlist metadata.
  virtual void on_segment(std::string_view rendition, const SegmentInfo& info, const SegmentParts& parts) = 0;
  // end_of_stream() was called; nothing follows.
  virtual void on_end(std::string_view rendition) = 0;
};

}  // namespace sreda::package
