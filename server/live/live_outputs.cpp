#include "server/live/live_outputs.h"

#include <algorithm>

#include "server/core/clock.h"
#include "server/core/log.h"

namespace sreda::live {
LiveOutput::LiveOutput(int64_t event_id, const LiveOutputOptions& options, const pipelines::LadderSpec* ladder,
                       LiveOutputEvents events, std::optional<package::ResumePoint> resume)
    : event_id_(event_id), options_(options), resume_(resume), ladder_spec_(ladder), events_(std::move(events)) {}

LiveOutput::~LiveOutput() {
  if (ladder_) ladder_->stop(0);
}

std::shared_ptr<package::CmafPackager> LiveOutput::make_rendition_packager(const std::string& name, bool video,
                                                                           bool audio) {
  package::PackagerOptions o;
  o.rendition = name;
  o.video = video;
  o.audio = audio;
  o.part_target_ms = options_.part_target_ms;
  o.segment_target_ms = options_.segment_target_ms;
  o.window_segments = options_.window_segments;
  o.shared_clock = true;
  if (resume_) {
    o.first_msn = resume_->next_msn;
    o.first_discontinuity_sequence = resume_->discontinuity_sequence;
    o.resumed = true;
    // The earlier run's last segments, as many as the window holds, served from the recording; their init from
    // /archive/<id>/<rendition>/ (relative to /live/<id>/<rendition>/index.m3u8).
    if (auto it = resume_->tails.find(name); it != resume_->tails.end()) {
      const auto& tail = it->second;
      const size_t keep = std::min(tail.size(), static_cast<size_t>(std::max(1, options_.window_segments)));
      for (size_t i = tail.size() - keep; i < tail.size(); ++i) {
        o.earlier.push_back(tail[i]);
        o.earlier.back().earlier_map = "../../../archive/" + std::to_string(event_id_) + "/" + name + "/" +
                                       package::init_uri(tail[i].init_id);
        o.first_discontinuity_sequence -= tail[i].discontinuity;
      }
    }
  }
  if (ladder_spec_) {
    for (const auto& r : ladder_spec_->rungs)
      if (r.name == name) o.nominal_bandwidth = (r.bitrate_kbps + (video && audio ? 128 : 0)) * 1000LL;
  }
  auto id = event_id_;
  auto notify = events_.notify;
  std::shared_ptr<package::PackagerSink> sink;
  if (options_.sinks) {
    sink = options_.sinks->sink(event_id_, name);
    std::lock_guard lock(sinks_mutex_);
    if (sink) sinks_.push_back(sink);
  }
  return std::make_shared<package::CmafPackager>(o, sink.get(), [id, notify](const package::ReloadState&) {
    if (notify) notify(id);
  });
}

void LiveOutput::report_variant(const package::CmafPackager& p) {
  if (options_.sinks) options_.sinks->configured(event_id_, p.options().rendition, p.variant_info());
}

void LiveOutput::begin_session(package::CmafPackager& p, const media::MediaFacts& facts, bool ladder_audio,
                               int64_t first_sample_wall_ms, int64_t first_sample_media_us) {
  // Rungs take their video (and the audio rung its audio) from the ladder's encoders; the studio's AAC goes
  // to every video rendition unless the ladder makes the AAC (on_rung_facts). Every run after the first is a
  // discontinuity for the packager.
  const bool source = p.options().rendition == "source";
  if (source && p.options().video)
    (void)p.configure_video({facts.video_codec_data, facts.width, facts.height, facts.fps_num, facts.fps_den});
  if ((source || p.options().video) && facts.has_audio && p.options().audio && !ladder_audio)
    (void)p.configure_audio({facts.audio_codec_data, facts.audio_rate, facts.audio_channels});
  report_variant(p);
  p.begin_run(first_sample_wall_ms, first_sample_media_us);
}

void LiveOutput::start_ladder(const media::MediaFacts& facts) {
  // Control thread (every GStreamer state change of the ladder happens there). `facts` are the first
  // session's: the start buffer holds that session's units from its first, and later sessions' facts in order.
  {
    std::lock_guard lock(mutex_);
    if (ladder_state_ != LadderState::starting || ended_) return;  // failed meanwhile (start buffer full) or ended
  }
  auto ladder = std::make_unique<pipelines::Ladder>("ladder-" + std::to_string(event_id_), *ladder_spec_, facts,
                                                    options_.ladder_options,
                                                    static_cast<pipelines::LadderListener&>(*this));
  std::vector<std::pair<std::string, std::shared_ptr<package::CmafPackager>>> made;
  for (const auto& rung : ladder->rungs()) {
    const bool video = !rung.spec.audio_only;
    made.emplace_back(rung.spec.name, make_rendition_packager(rung.spec.name, video, !video || facts.has_audio));
  }
  media::MediaFacts session;
  int64_t wall_ms = 0, media_us = 0;
  bool ladder_audio = false;
  {
    std::lock_guard lock(mutex_);
    if (ladder_state_ != LadderState::starting) {
      for (const auto& [name, p] : made) p->end_of_stream();  // failed just now (start buffer full)
      return;
    }
    for (const auto& [name, p] : made) {
      renditions_[name] = p;
      order_.push_back(name);
      if (p->options().video && p->options().audio) audio_carriers_.push_back(name);
    }
    // The session now (a reconnect may have come since the start was posted): set together with the
    // renditions, so a session start on the media thread prepares the rungs itself if it comes after this.
    session = session_facts_;
    wall_ms = session_wall_ms_;
    media_us = session_media_us_;
    ladder_audio = ladder_audio_;
  }
  for (const auto& [name, p] : made) begin_session(*p, session, ladder_audio, wall_ms, media_us);
  LadderChoice choice;
  choice.ladder = ladder_spec_->name;
  choice.source_kbps = facts.video_kbps;
  for (const auto& r : ladder->rungs()) choice.rungs.push_back(r.spec.name);
  // The rung at the studio's own size that the studio's bitrate did not justify.
  for (const auto& r : ladder_spec_->rungs)
    if (pipelines::skip_own_size(*ladder_spec_, r, facts))
      choice.left_out.push_back({r.name, "the studio sends " + std::to_string(facts.video_kbps) + " kb/s, under " +
                                             std::to_string(ladder_spec_->own_size_min_percent) + " % of the rung's " +
                                             std::to_string(r.bitrate_kbps) +
                                             " kb/s: the studio's own stream is the top rendition"});
  {
    std::lock_guard lock(mutex_);
    choice_ = choice;
  }
  std::string error;
  const bool started = ladder->start(error);
  if (!started) {
    core::Logger("live").error("event " + std::to_string(event_id_) + ": the ladder did not start (" + error +
                               "); only the source rendition is offered");
    for (const auto& [name, p] : made) p->end_of_stream();
    if (events_.ladder_failed) events_.ladder_failed();
  } else if (!made.empty()) {
    std::string names;
    for (const auto& r : ladder->rungs())
      names += (names.empty() ? "" : ", ") + r.spec.name +
               (r.width ? " " + std::to_string(r.width) + "x" + std::to_string(r.height) : "") + " " +
               std::to_string(r.spec.bitrate_kbps) + "k";
    for (const auto& l : choice.left_out) names += "; " + l.rung + " left out: " + l.reason;
    core::Logger("live").info("event " + std::to_string(event_id_) + ": ladder '" + ladder_spec_->name + "': " + names);
  }
  pipelines::Ladder* kept = ladder.get();
  bool running = false;
  {
    std::lock_guard feed(feed_mutex_);
    {
      std::lock_guard lock(mutex_);
      if (!started) only_source_locked();
      else if (ladder_state_ == LadderState::starting) ladder_state_ = LadderState::running;  // not failed meanwhile
      ladder_ = std::move(ladder);
      running = ladder_state_ == LadderState::running;
    }
    if (running) {
      drain_start_buffer_locked(*kept);  // what came while it started, from the session's first unit
    } else {
      start_buffer_.clear();
      start_buffer_bytes_ = 0;
    }
  }
  // The start buffer overflowed (or the ladder failed) while it started: the rungs are gone already. Stopped
  // here, outside feed_mutex_, so the media thread never waits for a state change.
  if (started && !running) kept->stop(0);
}

std::optional<int> LiveOutput::BitrateMeasure::add(const media::MediaFacts* next, const media::AccessUnit* unit) {
  auto kbps = [](int64_t bytes, int64_t us) {
    return us > 0 ? static_cast<int>(std::min<int64_t>(bytes * 8 * 1000 / us, 1'000'000)) : 0;  // at most 1 Gb/s
  };
  if (next) return 0;  // a reconnect before a whole interval: unknown (the rung is kept)
  if (!unit) return std::nullopt;
  if (unit->track == media::TrackKind::audio) {
    if (first_audio_us == INT64_MIN) first_audio_us = unit->dts_us;
    // No video for as long as a measure lasts: unknown.
    if (first_us == INT64_MIN && unit->dts_us - first_audio_us >= kMeasureUs) return 0;
    return std::nullopt;
  }
  if (first_us == INT64_MIN) {
    if (!unit->keyframe) return std::nullopt;
    first_us = unit->dts_us;
  } else if (unit->keyframe && unit->dts_us > first_us) {
    return kbps(bytes, unit->dts_us - first_us);  // one whole keyframe interval
  } else if (unit->dts_us - first_us >= kMeasureUs) {
    return kbps(bytes, unit->dts_us - first_us);
  }
  bytes += static_cast<int64_t>(unit->data.size());
  return std::nullopt;
}

void LiveOutput::feed_ladder(const media::MediaFacts* facts, const media::AccessUnit* unit) {
  std::optional<media::MediaFacts> post;
  {
    std::lock_guard feed(feed_mutex_);
    pipelines::Ladder* ladder = nullptr;
    LadderState state;
    {
      std::lock_guard lock(mutex_);
      state = ladder_state_;
      ladder = ladder_.get();
    }
    if (state == LadderState::running) {
      drain_start_buffer_locked(*ladder);  // empty: start_ladder() drained it
      if (facts) ladder->reconfigure(*facts);  // a reconnect: new codec configuration for the decoders
      if (unit) ladder->push(*unit);  // never blocks: the source rendition is never held up by the ladder
      return;
    }
    if (state != LadderState::starting) return;
    StartItem item;
    if (facts) item.facts = *facts;
    if (unit) {
      item.unit = *unit;
      start_buffer_bytes_ += unit->data.size();
    }
    start_buffer_.push_back(std::move(item));
    int64_t first_us = INT64_MIN;
    for (const auto& i : start_buffer_)
      if (!i.facts) {
        first_us = i.unit.dts_us;
        break;
      }
    const bool full = start_buffer_bytes_ > options_.ladder_start_buffer_bytes ||
                      (unit && first_us != INT64_MIN && unit->dts_us - first_us > options_.ladder_start_buffer_us);
    if (!full) {
      if (measure_) {
        if (auto kbps = measure_->add(facts, unit)) {
          post = measure_->facts;
          post->video_kbps = *kbps;
          measure_.reset();
        }
      }
    } else {
      // Overflow policy: the ladder would start too far behind the source; the source rendition goes on alone.
      start_buffer_.clear();
      start_buffer_bytes_ = 0;
      measure_.reset();
      {
        std::lock_guard lock(mutex_);
        if (ladder_state_ != LadderState::starting) return;
        only_source_locked();
      }
      core::Logger("live").error("event " + std::to_string(event_id_) +
                                 ": the ladder did not start while its start buffer filled (" +
                                 std::to_string(options_.ladder_start_buffer_us / 1'000'000) +
                                 " s of media); only the source rendition is offered");
      if (events_.ladder_failed) events_.ladder_failed();
      if (events_.notify) events_.notify(event_id_);
      return;
    }
  }
  if (post) post_start(*post);  // outside feed_mutex_: without a control thread the start runs right here
}

void LiveOutput::drain_start_buffer_locked(pipelines::Ladder& ladder) {
  for (const auto& item : start_buffer_) {
    if (item.facts) ladder.reconfigure(*item.facts);
    else ladder.push(item.unit);
  }
  start_buffer_.clear();
  start_buffer_bytes_ = 0;
}

void LiveOutput::on_session_start(const media::MediaFacts& facts, bool discontinuity,
                                  int64_t first_sample_wall_ms, int64_t first_sample_media_us) {
  (void)discontinuity;  // every run after the first is a discontinuity for the packager
  bool start = false;
  bool ladder_audio = false;
  std::vector<std::shared_ptr<package::CmafPackager>> all;
  {
    std::lock_guard lock(mutex_);
    const bool ladder = options_.ladder && ladder_spec_;
    if (!source_decided_) {
      // The source rendition is the studio's own picture: only H.264 goes to players as it is. Its audio is
      // the studio's AAC, or else the ladder's (so are the video rungs').
      source_decided_ = true;
      ladder_audio_ = facts.has_audio && !media::audio_plays_as_is(facts);
      const bool source = facts.has_video ? media::video_plays_as_is(facts) : !ladder_audio_;
      if (source) {
        renditions_["source"] = make_rendition_packager("source", facts.has_video, facts.has_audio && (!ladder_audio_ || ladder));
        order_.insert(order_.begin(), "source");
        if (ladder_audio_ && facts.has_video && ladder) audio_carriers_.push_back("source");
      }
      if (!ladder && (!source || ladder_audio_))
        core::Logger("live").error("event " + std::to_string(event_id_) + ": " + facts.video_codec + "/" +
                                   facts.audio_codec + " needs the ladder to play (ladder.enabled is off)");
    }
    session_facts_ = facts;
    session_wall_ms_ = first_sample_wall_ms;
    session_media_us_ = first_sample_media_us;
    start = ladder && ladder_state_ == LadderState::none && !ended_;
    if (start) ladder_state_ = LadderState::starting;
    ladder_audio = ladder_audio_;
    for (const auto& [name, p] : renditions_) all.push_back(p);
  }
  for (const auto& p : all) begin_session(*p, facts, ladder_audio, first_sample_wall_ms, first_sample_media_us);
  if (!start) {
    feed_ladder(&facts, nullptr);  // a reconnect: in order with the units, also while the ladder starts
    return;
  }
  if (pipelines::has_own_size_rung(*ladder_spec_, facts)) {
    std::lock_guard feed(feed_mutex_);
    measure_ = BitrateMeasure{facts};  // posted once measured (feed_ladder)
    return;
  }
  post_start(facts);
}

void LiveOutput::post_start(const media::MediaFacts& facts) {
  auto task = [self = weak_from_this(), facts] {
    if (auto me = self.lock()) me->start_ladder(facts);
  };
  if (options_.run_on_control) options_.run_on_control(std::move(task));
  else task();
}

void LiveOutput::on_access_unit(const media::AccessUnit& unit) {
  std::shared_ptr<package::CmafPackager> source;
  std::vector<std::shared_ptr<package::CmafPackager>> carriers;
  bool to_ladder = false;
  bool ladder_audio = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = renditions_.find("source"); it != renditions_.end()) source = it->second;
    ladder_audio = ladder_audio_;
    if (unit.track == media::TrackKind::audio && !ladder_audio_)
      for (const auto& name : audio_carriers_) carriers.push_back(renditions_[name]);
    to_ladder = ladder_state_ == LadderState::starting || ladder_state_ == LadderState::running;
  }
  // Not the studio's Opus/MP3 audio: the source rendition carries the ladder's AAC.
  if (source && (unit.track == media::TrackKind::video || !ladder_audio)) source->push(unit);
  if (to_ladder) feed_ladder(nullptr, &unit);
  for (const auto& p : carriers) p->push(unit);
}

void LiveOutput::on_rung_facts(const std::string& rung, const media::MediaFacts& facts) {
  if (events_.rung_media) events_.rung_media(event_id_, rung, &facts, nullptr);
  auto p = rendition(rung);
  if (!p) return;
  if (facts.has_video && p->options().video)
    (void)p->configure_video({facts.video_codec_data, facts.width, facts.height, facts.fps_num, facts.fps_den});
  if (facts.has_audio && !p->options().video) {
    (void)p->configure_audio({facts.audio_codec_data, facts.audio_rate, facts.audio_channels});
    for (const auto& carrier : ladder_audio_carriers()) {
      (void)carrier->configure_audio({facts.audio_codec_data, facts.audio_rate, facts.audio_channels});
      report_variant(*carrier);
    }
  }
  report_variant(*p);
}

void LiveOutput::on_rung_unit(const std::string& rung, const media::AccessUnit& unit) {
  if (events_.rung_media) events_.rung_media(event_id_, rung, nullptr, &unit);
  // The audio rung's own AAC goes to the audio rung, and to the video renditions when the studio's audio
  // is not AAC; otherwise video rungs get the source's AAC.
  auto p = rendition(rung);
  if (!p) return;
  p->push(unit);
  if (!p->options().video)
    for (const auto& carrier : ladder_audio_carriers()) carrier->push(unit);
}

std::vector<std::shared_ptr<package::CmafPackager>> LiveOutput::ladder_audio_carriers() const {
  std::vector<std::shared_ptr<package::CmafPackager>> out;
  std::lock_guard lock(mutex_);
  if (!ladder_audio_) return out;
  for (const auto& name : audio_carriers_) out.push_back(renditions_.at(name));
  return out;
}

void LiveOutput::on_rung_late(const std::string& rung, int64_t frames) {
  if (events_.rung_late) events_.rung_late(event_id_, rung, frames);
}

void LiveOutput::on_rung_dropped(const std::string& rung, const std::string& reason) {
  core::Logger("live").warn("event " + std::to_string(event_id_) + ": overload, rendition " + rung +
                            " stopped: " + reason);
  {
    // New players no longer see it in the master playlist. No ENDLIST (hls.js would end the playback of a
    // viewer on it): its playlist answers 404 (stopped()), held reloads included (notify below), and the
    // player switches to another level. on_event_end() ends it with the others.
    std::lock_guard lock(mutex_);
    audio_carriers_.erase(std::remove(audio_carriers_.begin(), audio_carriers_.end(), rung), audio_carriers_.end());
    order_.erase(std::remove(order_.begin(), order_.end(), rung), order_.end());
  }
  if (events_.rung_dropped) events_.rung_dropped(rung);
  if (events_.notify) events_.notify(event_id_);
}

void LiveOutput::on_poster(std::vector<uint8_t> jpeg, int64_t) {
  auto bytes = std::make_shared<const package::Bytes>(std::move(jpeg));
  std::lock_guard lock(mutex_);
  poster_ = std::move(bytes);
}

void LiveOutput::on_failed(const std::string& reason) {
  core::Logger("live").error("event " + std::to_string(event_id_) + ": ladder failed (" + reason +
                             "); only the source rendition goes on");
  {
    std::lock_guard lock(mutex_);  // the rungs leave the master playlist; ENDLIST at the event's end (as above)
    if (ladder_state_ == LadderState::failed) return;
    only_source_locked();
  }
  if (events_.ladder_failed) events_.ladder_failed();
  if (events_.notify) events_.notify(event_id_);
}

void LiveOutput::on_session_end() {}

void LiveOutput::on_event_end() {
  pipelines::Ladder* ladder = nullptr;
  {
    std::lock_guard feed(feed_mutex_);  // a start still posted will not run (ended_): nothing to replay
    start_buffer_.clear();
    start_buffer_bytes_ = 0;
    std::lock_guard lock(mutex_);
    ended_ = true;
    ladder = ladder_.get();
  }
  if (ladder) ladder->stop(3000);  // control thread: the rungs' last frames reach their packagers
  std::vector<std::shared_ptr<package::CmafPackager>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, p] : renditions_) all.push_back(p);
  }
  for (const auto& p : all) {
    report_variant(*p);  // what was measured since configuration (FRAME-RATE from timestamps) reaches the archive's master
    p->end_of_stream();
  }
  if (options_.sinks) options_.sinks->ended(event_id_);
  if (events_.notify) events_.notify(event_id_);
}

void LiveOutput::only_source_locked() {
  ladder_state_ = LadderState::failed;
  audio_carriers_.clear();
  order_.clear();
  if (renditions_.count("source")) order_ = {"source"};  // none when the studio's codec needs the ladder
}

std::shared_ptr<package::CmafPackager> LiveOutput::rendition(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = renditions_.find(name);
  return it == renditions_.end() ? nullptr : it->second;
}

bool LiveOutput::stopped(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return renditions_.count(name) && std::find(order_.begin(), order_.end(), name) == order_.end();
}

bool LiveOutput::may_appear(const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (ended_ || renditions_.count(name)) return false;
  return !source_decided_ || ladder_state_ == LadderState::starting;
}

std::vector<std::string> LiveOutput::rendition_names() const {
  std::vector<std::pair<std::string, std::shared_ptr<package::CmafPackager>>> list;
  {
    std::lock_guard lock(mutex_);
    for (const auto& name : order_) list.emplace_back(name, renditions_.at(name));
  }
  std::vector<std::string> out;
  bool video_expected = false, video_listed = false;
  for (const auto& [name, p] : list) {
    const bool video = p->options().video;
    video_expected = video_expected || video;
    // Listed once it has produced a part: a player finds media at once, and the variant's attributes are
    // measured ones (FRAME-RATE from the first frames' timestamps when the stream declares none).
    if (p->init_segment(0) && p->stats().parts > 0) {
      out.push_back(name);
      video_listed = video_listed || video;
    }
  }
  // Nothing until a picture is listed when the event has one: the audio rung's first part can come before the
  // source's, and a player given a master of audio alone would never show the picture.
  if (video_expected && !video_listed) out.clear();
  return out;
}

std::optional<LadderChoice> LiveOutput::ladder_choice() const {
  std::lock_guard lock(mutex_);
  return choice_;
}

std::vector<RenditionHealth> LiveOutput::health() const {
  std::vector<std::pair<std::string, std::shared_ptr<package::CmafPackager>>> list;
  pipelines::Ladder* ladder = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, p] : renditions_) list.emplace_back(name, p);
    ladder = ladder_.get();
  }
  std::map<std::string, pipelines::RungHealth> rungs;
  if (ladder)
    for (auto& h : ladder->health()) rungs[h.name] = h;
  std::vector<RenditionHealth> out;
  for (const auto& [name, p] : list) {
    RenditionHealth h;
    h.name = name;
    const auto v = p->variant_info();
    h.width = v.width;
    h.height = v.height;
    h.fps = v.frame_rate;
    h.bandwidth = v.bandwidth;
    h.average_bandwidth = v.average_bandwidth;
    h.kbps = v.average_bandwidth / 1000.0;
    if (auto it = rungs.find(name); it != rungs.end()) {
      const auto& r = it->second;
      h.encoded = true;
      h.width = r.width;
      h.height = r.height;
      h.target_kbps = r.target_kbps;
      h.active = r.active;
      h.fps = r.fps;
      h.kbps = r.kbps;
      h.queue_depth = r.queue_depth;
      h.frames = r.frames;
      h.dropped_frames = r.dropped_frames;
    }
    out.push_back(h);
  }
  return out;
}

package::BytesPtr LiveOutput::poster() const {
  std::lock_guard lock(mutex_);
  return poster_;
}

bool LiveOutput::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

std::shared_ptr<hub::MediaConsumer> LiveOutputs::create(int64_t event_id, int64_t studio_id) {
  std::lock_guard lock(mutex_);
  auto it = outputs_.find(event_id);
  if (it != outputs_.end() && !it->second->ended()) return it->second;
  const pipelines::LadderSpec* ladder = options_.ladders ? options_.ladders->for_studio(studio_id) : nullptr;
  std::optional<package::ResumePoint> resume;
  if (options_.sinks) resume = options_.sinks->resume_point(event_id);
  if (resume)
    core::Logger("live").info("event " + std::to_string(event_id) +
                              " continues after a restart: its playlists number on from segment " +
                              std::to_string(resume->next_msn) + " (discontinuity sequence " +
                              std::to_string(resume->discontinuity_sequence) + "), its media clock from " +
                              std::to_string(resume->media_end_us / 1000) + " ms");
  auto out = std::make_shared<LiveOutput>(event_id, options_, ladder, events_, resume);
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
