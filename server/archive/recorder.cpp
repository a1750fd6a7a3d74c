#include "server/archive/recorder.h"

#include <exception>

namespace sreda::archive {

Recorder::Recorder(RecorderOptions options)
    : max_queue_bytes_(options.max_queue_bytes), writer_(std::move(options)), stats_(writer_.stats()) {}

Recorder::~Recorder() { stop(); }

void Recorder::start() {
  std::lock_guard lock(mutex_);
  if (running_ || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void Recorder::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Recorder::drain() {
  std::unique_lock lock(mutex_);
  if (!running_) return;
  idle_.wait(lock, [this] { return (queue_.empty() && !busy_) || !running_; });
}

void Recorder::enqueue(Command command) {
  const int64_t size = command.size();
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || overflowed_) return;
    if (queued_bytes_ + size > max_queue_bytes_) {
      overflowed_ = true;  // the writer fails the recording before the next command
    } else {
      queued_bytes_ += size;
      queue_.push_back(std::move(command));
    }
  }
  wake_.notify_one();
}

void Recorder::on_init(std::string_view rendition, int init_id, const package::BytesPtr& bytes) {
  Command c;
  c.kind = Command::Kind::init;
  c.rendition = std::string(rendition);
  c.init_id = init_id;
  c.bytes = bytes;
  enqueue(std::move(c));
}

void Recorder::on_part(std::string_view rendition, int64_t msn, int index, const package::BytesPtr& bytes) {
  Command c;
  c.kind = Command::Kind::part;
  c.rendition = std::string(rendition);
  c.msn = msn;
  c.index = index;
  c.bytes = bytes;
  enqueue(std::move(c));
}

void Recorder::on_segment(std::string_view rendition, const package::SegmentInfo& info,
                          const package::SegmentParts& parts) {
  Command c;
  c.kind = Command::Kind::segment;
  c.rendition = std::string(rendition);
  c.info = info;
  c.info.parts.clear();  // not needed on disk
  c.parts = parts;
  enqueue(std::move(c));
}

void Recorder::on_end(std::string_view rendition) {
  Command c;
  c.kind = Command::Kind::end;
  c.rendition = std::string(rendition);
  enqueue(std::move(c));
}

void Recorder::set_variant(std::string_view rendition, const package::VariantInfo& variant) {
  Command c;
  c.kind = Command::Kind::variant;
  c.rendition = std::string(rendition);
  c.variant = variant;
  enqueue(std::move(c));
}

RecordingStats Recorder::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Recorder::apply(const Command& c) {
  static const package::Bytes kEmpty;
  const package::Bytes& bytes = c.bytes ? *c.bytes : kEmpty;
  switch (c.kind) {
    case Command::Kind::init:
      writer_.on_init(c.rendition, c.init_id, bytes);
      break;
    case Command::Kind::part:
      writer_.on_part(c.rendition, c.msn, c.index, bytes);
      break;
    case Command::Kind::segment:
      writer_.on_segment(c.rendition, c.info, c.parts);
      break;
    case Command::Kind::end:
      writer_.on_end(c.rendition);
      break;
    case Command::Kind::variant:
      writer_.set_variant(c.rendition, c.variant);
      break;
  }
}

void Recorder::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return !queue_.empty() || (overflowed_ && !overflow_reported_) || stopping_; });
    const bool overflowed = overflowed_ && !overflow_reported_;
    overflow_reported_ = overflow_reported_ || overflowed;
    if (queue_.empty() && !overflowed && stopping_) break;
    std::optional<Command> command;
    if (!queue_.empty()) {
      command = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= command->size();
    }
    busy_ = true;
    lock.unlock();
    try {
      if (overflowed) writer_.fail("writer queue full (the disk is slower than the stream)");
      if (command) apply(*command);
    } catch (const std::exception& e) {  // e.g. bad_alloc: never into the streaming thread
      writer_.fail(std::string("unexpected error: ") + e.what());
    }
    RecordingStats stats = writer_.stats();
    lock.lock();
    stats_ = std::move(stats);
    busy_ = false;
    if (overflowed) {
      queue_.clear();  // the recording failed: nothing more to write
      queued_bytes_ = 0;
    }
    if (queue_.empty()) idle_.notify_all();
  }
  running_ = false;
  idle_.notify_all();
}

}  // namespace sreda::archive
