#include "server/live/live_outputs.h"

#include "server/core/clock.h"

namespace sreda::live {

LiveOutput::LiveOutput(int64_t event_id, const LiveOutputOptions& options, Notify notify)
    : event_id_(event_id), options_(options), notify_(std::move(notify)) {}

void LiveOutput::on_session_start(const pipelines::MediaFacts& facts, bool discontinuity,
                                  int64_t first_sample_wall_ms) {
  std::shared_ptr<package::CmafPackager> p;
  {
    std::lock_guard lock(mutex_);
    if (!source_) {
      package::PackagerOptions o;
      o.rendition = "source";
      o.video = facts.has_video;
      o.audio = facts.has_audio;
      o.part_target_ms = options_.part_target_ms;
      o.segment_target_ms = options_.segment_target_ms;
      o.window_segments = options_.window_segments;
      auto id = event_id_;
      auto notify = notify_;
      if (options_.sinks) source_sink_ = options_.sinks->sink(event_id_, o.rendition);
      source_ = std::make_shared<package::CmafPackager>(o, source_sink_.get(), [id, notify](const package::ReloadState&) {
        if (notify) notify(id);
      });
    }
    p = source_;
  }
  if (facts.has_video && p->options().video)
    (void)p->configure_video({facts.video_codec_data, facts.width, facts.height, facts.fps_num, facts.fps_den});
  if (facts.has_audio && p->options().audio)
    (void)p->configure_audio({facts.audio_codec_data, facts.audio_rate, facts.audio_channels});
  (void)discontinuity;  // every run after the first is a discontinuity for the packager
  if (options_.sinks) options_.sinks->configured(event_id_, p->options().rendition, p->variant_info());
  p->begin_run(first_sample_wall_ms);
}

void LiveOutput::on_access_unit(const pipelines::AccessUnit& unit) {
  std::shared_ptr<package::CmafPackager> p;
  {
    std::lock_guard lock(mutex_);
    p = source_;
  }
  if (!p) return;
  package::AccessUnit au;
  au.track = unit.track == pipelines::TrackKind::video ? package::TrackKind::video : package::TrackKind::audio;
  au.pts_us = unit.pts_us;
  au.dts_us = unit.dts_us;
  au.keyframe = unit.keyframe;
  au.payload = std::span<const uint8_t>(unit.data.data(), unit.data.size());
  p->push(au);
}

void LiveOutput::on_session_end() {}

void LiveOutput::on_event_end() {
  std::shared_ptr<package::CmafPackager> p;
  {
    std::lock_guard lock(mutex_);
    ended_ = true;
    p = source_;
  }
  if (p) p->end_of_stream();
  if (options_.sinks) options_.sinks->ended(event_id_);
  if (notify_) notify_(event_id_);
}

std::shared_ptr<package::CmafPackager> LiveOutput::rendition(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return name == "source" ? source_ : nullptr;
}

std::vector<std::string> LiveOutput::rendition_names() const {
  std::lock_guard lock(mutex_);
  if (!source_) return {};
  return {"source"};
}

bool LiveOutput::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

std::shared_ptr<hub::MediaConsumer> LiveOutputs::create(int64_t event_id) {
  std::lock_guard lock(mutex_);
  auto it = outputs_.find(event_id);
  if (it != outputs_.end() && !it->second->ended()) return it->second;
  auto out = std::make_shared<LiveOutput>(event_id, options_, notify_);
  outputs_[event_id] = out;
  // Overflow policy: forget the oldest ended events beyond keep_ended_events.
  size_t ended = 0;
  for (auto& [id, o] : outputs_) ended += o->ended();
  for (auto i = outputs_.begin(); ended > options_.keep_ended_events && i != outputs_.end();) {
    if (i->second->ended()) {
      i = outputs_.erase(i);
      --ended;
    } else {
      ++i;
    }
  }
  return out;
}

std::shared_ptr<LiveOutput> LiveOutputs::find(int64_t event_id) const {
  std::lock_guard lock(mutex_);
  auto it = outputs_.find(event_id);
  return it == outputs_.end() ? nullptr : it->second;
}

}  // namespace sreda::live
