// Recorder: one event's archive recording, fed as the PackagerSink of each of its renditions'
// CmafPackagers. The sink calls only queue the (shared, immutable) bytes; a writer thread owned by the
// Recorder does the file work (RecordingWriter, recording_writer.h: layout, fsync schedule, errors).
//
// Threads:
//   - PackagerSink methods: GStreamer streaming threads (one per rendition, possibly several at once);
//     they take one short lock and never touch the disk, never throw.
//   - start()/stop()/drain(): the owner (control thread). stop() is idempotent and is also done by the
//     destructor. Sink calls made before start() wait in the queue.
//   - stats()/set_variant(): any thread.
// Queue: bounded by `max_queue_bytes`. Overflow policy: the recording fails ("writer queue full"), the
// live stream is not slowed down; what was recorded stays playable.
// Stopping without on_end (shutdown, or a crash) leaves the EVENT playlist open: recover() closes it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "server/archive/recording_writer.h"
#include "server/package/packager_sink.h"
#include "server/package/playlist_writer.h"

namespace sreda::archive {

class Recorder final : public package::PackagerSink {
 public:
  explicit Recorder(RecorderOptions options);
  ~Recorder() override;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void start();
  // Writes everything queued, then ends the writer thread.
  void stop();
  // Waits until everything queued so far is written (no-op when not started).
  void drain();

  void on_init(std::string_view rendition, int init_id, const package::BytesPtr& bytes) override;
  void on_part(std::string_view rendition, int64_t msn, int index, const package::BytesPtr& bytes) override;
  void on_segment(std::string_view rendition, const package::SegmentInfo& info,
                  const package::SegmentParts& parts) override;
  void on_end(std::string_view rendition) override;

  // CODECS / RESOLUTION / FRAME-RATE for the master playlist (e.g. CmafPackager::variant_info()).
  void set_variant(std::string_view rendition, const package::VariantInfo& variant);

  RecordingStats stats() const;
  const std::string& event_dir() const { return writer_.event_dir(); }

 private:
  struct Command {
    enum class Kind { init, part, segment, end, variant } kind = Kind::init;
    std::string rendition;
    int init_id = 0;
    int64_t msn = 0;
    int index = 0;
    package::BytesPtr bytes;
    package::SegmentParts parts;  // Kind::segment
    package::SegmentInfo info;
    package::VariantInfo variant;
    int64_t size() const {
      return static_cast<int64_t>((bytes ? bytes->size() : 0) + package::total_size(parts));
    }
  };

  void enqueue(Command command);
  void run();
  void apply(const Command& command);

  const int64_t max_queue_bytes_;
  RecordingWriter writer_;  // the writer thread only (before start(): nobody)

  mutable std::mutex mutex_;  // the queue and the flags below, and stats_
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Command> queue_;
  int64_t queued_bytes_ = 0;
  bool overflowed_ = false;
  bool overflow_reported_ = false;
  bool busy_ = false;
  bool stopping_ = false;
  bool running_ = false;
  RecordingStats stats_;
  std::thread thread_;
};

}  // namespace sreda::archive
