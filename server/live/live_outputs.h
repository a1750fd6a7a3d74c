// The live outputs of every event: one CMAF packager per rendition (today the `source` rendition,
// passed through without re-encoding), created when an event first goes live and kept after it ends so
// players receive ENDLIST. Implements the hub's ConsumerFactory.
//
// Threads: create() on the control thread; media calls on GStreamer streaming threads; find() from the
// web thread. The map is guarded by a mutex (the seam); each packager guards itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/hub/media_consumer.h"
#include "server/package/cmaf_packager.h"

namespace sreda::live {

// What else receives each rendition's packaged bytes (the archive). Implemented outside live/ (STYLE.md
// 11). sink() is called on a streaming thread when a rendition's packager is made; the LiveOutput keeps
// the returned sink (null: not recorded) alive as long as the packager. configured() follows each
// (re)configuration of a rendition; ended() follows the end of stream of every rendition (control thread).
class RenditionSinks {
 public:
  virtual ~RenditionSinks() = default;
  virtual std::shared_ptr<package::PackagerSink> sink(int64_t event_id, const std::string& rendition) = 0;
  virtual void configured(int64_t event_id, const std::string& rendition, const package::VariantInfo& variant) = 0;
  virtual void ended(int64_t event_id) = 0;
};

struct LiveOutputOptions {
  int part_target_ms = 500;
  int segment_target_ms = 2000;
  int window_segments = 10;
  size_t keep_ended_events = 50;  // ended events whose last window stays in memory
  RenditionSinks* sinks = nullptr;  // not owned; outlives the outputs
};

// One event's renditions.
class LiveOutput : public hub::MediaConsumer {
 public:
  using Notify = std::function<void(int64_t event_id)>;
  LiveOutput(int64_t event_id, const LiveOutputOptions& options, Notify notify);

  void on_session_start(const pipelines::MediaFacts& facts, bool discontinuity,
                        int64_t first_sample_wall_ms) override;
  void on_access_unit(const pipelines::AccessUnit& unit) override;
  void on_session_end() override;
  void on_event_end() override;

  // The packager of a rendition, or null (not started yet, or no such rendition).
  std::shared_ptr<package::CmafPackager> rendition(const std::string& name) const;
  std::vector<std::string> rendition_names() const;
  bool ended() const;

 private:
  int64_t event_id_;
  LiveOutputOptions options_;
  Notify notify_;
  mutable std::mutex mutex_;
  std::shared_ptr<package::PackagerSink> source_sink_;  // outlives source_
  std::shared_ptr<package::CmafPackager> source_;
  bool ended_ = false;
};

class LiveOutputs : public hub::ConsumerFactory {
 public:
  explicit LiveOutputs(LiveOutputOptions options) : options_(options) {}
  // Called (from streaming threads) whenever a rendition of the event has a new part or ended.
  void set_notify(LiveOutput::Notify notify) { notify_ = std::move(notify); }

  std::shared_ptr<hub::MediaConsumer> create(int64_t event_id) override;
  std::shared_ptr<LiveOutput> find(int64_t event_id) const;

 private:
  LiveOutputOptions options_;
  LiveOutput::Notify notify_;
  mutable std::mutex mutex_;
  std::map<int64_t, std::shared_ptr<LiveOutput>> outputs_;
};

}  // namespace sreda::live
