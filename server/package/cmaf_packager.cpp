// Long because the part and segment rules (frame count, duration, keyframes inside a segment, a variable frame
// rate, the two tracks waiting for each other) are one decision per sample and read best side by side.
#include "server/package/cmaf_packager.h"

#include <algorithm>
#include <cmath>

#include "server/core/clock.h"
#include "server/media/audio.h"
#include "server/media/h264.h"
#include "server/package/box_writer.h"

namespace sreda::package {

CmafPackager::CmafPackager(PackagerOptions options, PackagerSink* sink, UpdateCallback on_update)
    : options_(std::move(options)),
      sink_(sink),
      on_update_(std::move(on_update)),
      log_("package " + options_.rendition) {
  video_.enabled = options_.video;
  video_.timescale = kVideoTimescale;
  audio_.enabled = options_.audio;
  audio_.need_keyframe = false;
  if (!options_.video) primary().need_keyframe = false;
  target_duration_s_ = std::max(1, (options_.segment_target_ms + 999) / 1000);
  part_target_us_ = options_.part_target_ms * 1000LL;  // until the first samples size the parts
  next_msn_ = std::max<int64_t>(0, options_.first_msn);
  discontinuity_sequence_ = std::max<int64_t>(0, options_.first_discontinuity_sequence);
  for (const SegmentInfo& info : options_.earlier) {
    segments_.push_back(Segment{info, {}, nullptr});
    target_duration_s_ = std::max<int>(target_duration_s_, static_cast<int>(std::lround(info.duration_s)));
  }
}

PartSize part_size(int64_t frame_us, int64_t part_target_us, int64_t segment_target_us) {
  PartSize size;
  size.target_us = part_target_us;
  if (frame_us <= 0 || part_target_us <= 0) return size;
  const int64_t frame_hi_us = frame_us + 1000;  // ms-rounded timestamps: a frame may be 1 ms longer
  const int64_t max_frames = std::max<int64_t>(1, part_target_us / frame_hi_us);
  const int64_t segment_frames = std::max<int64_t>(1, (segment_target_us + frame_us / 2) / frame_us);
  const int64_t parts = (segment_frames + max_frames - 1) / max_frames;
  const int64_t frames = (segment_frames + parts - 1) / parts;  // <= max_frames
  size.frames = static_cast<int>(frames);
  // Whole ms (the playlist prints ms), never above the configured target.
  size.target_us = std::min(part_target_us, (frames * frame_hi_us + 999) / 1000 * 1000);
  return size;
}

namespace {
// A measured frame rate as the nearest usual one when it is within 1 % of it (timestamps in milliseconds make
// 30 fps frames 33 and 34 ms long), else rounded to 3 decimals.
double usual_frame_rate(double measured) {
  double best = std::round(measured * 1000) / 1000;
  double best_error = 0.01;
  for (double r : {23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0}) {
    const double error = std::abs(measured - r) / r;
    if (error <= best_error) best = r, best_error = error;
  }
  return best;
}
}  // namespace

int64_t CmafPackager::to_us(const Track& t, int64_t ts) const {
  const int64_t scaled = ts * 1'000'000;
  return scaled >= 0 ? (scaled + t.timescale / 2) / t.timescale
                     : -((-scaled + t.timescale / 2) / t.timescale);
}

int64_t CmafPackager::from_us(const Track& t, int64_t us) const {
  const int64_t scaled = us * static_cast<int64_t>(t.timescale);
  return scaled >= 0 ? (scaled + 500'000) / 1'000'000 : -((-scaled + 500'000) / 1'000'000);
}

bool CmafPackager::all_configured() const {
  return (!options_.video || video_config_) && (!options_.audio || audio_config_);
}

core::Result<void> CmafPackager::configure_video(const VideoConfig& config) {
  if (!options_.video) return core::Error{"no_video_track", "this rendition has no video track", "video"};
  auto avc = media::parse_avc_config(config.avcc);
  if (!avc) return avc.error();
  if (config.width <= 0 || config.height <= 0) {
    return core::Error{"bad_video", "video caps have no width/height", "width"};
  }
  std::lock_guard delivery(delivery_mutex_);
  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    const bool changed = !video_config_ || video_config_->avcc != config.avcc ||
                         video_config_->width != config.width || video_config_->height != config.height;
    video_config_ = config;
    if (changed) {
      if (run_started_ && init_id_ >= 0) flush(events);  // codec change mid-run: new segment, new init
      init_dirty_ = true;
    }
  }
  deliver(events);
  return {};
}

core::Result<void> CmafPackager::configure_audio(const AudioConfig& config) {
  if (!options_.audio) return core::Error{"no_audio_track", "this rendition has no audio track", "audio"};
  auto aac = media::parse_audio_specific_config(config.asc);
  if (!aac) return aac.error();
  if (config.rate <= 0 || config.channels <= 0) {
    return core::Error{"bad_audio", "audio caps have no rate/channels", "rate"};
  }
  std::lock_guard delivery(delivery_mutex_);
  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    const bool changed = !audio_config_ || audio_config_->asc != config.asc ||
                         audio_config_->rate != config.rate || audio_config_->channels != config.channels;
    audio_config_ = config;
    if (changed) {
      if (run_started_ && init_id_ >= 0) flush(events);
      init_dirty_ = true;
    }
  }
  deliver(events);
  return {};
}

void CmafPackager::rebuild_init(std::vector<Event>& events) {
  InitSegmentInput input{video_config_, audio_config_};
  auto bytes = write_init_segment(input);
  if (!bytes) return;  // configs were validated in configure_*; cannot happen
  // A new timescale for audio starts with the new init; pending samples were flushed by then.
  if (audio_config_) audio_.timescale = static_cast<uint32_t>(audio_config_->rate);
  init_dirty_ = false;
  ++init_id_;
  auto ptr = std::make_shared<const Bytes>(std::move(*bytes));
  inits_[init_id_] = ptr;
  std::string codecs;
  if (video_config_) codecs = media::avc_codec_string(*media::parse_avc_config(video_config_->avcc));
  if (audio_config_) {
    codecs += (codecs.empty() ? "" : ",") +
              media::aac_codec_string(*media::parse_audio_specific_config(audio_config_->asc));
  }
  codecs_ = codecs;
  events.push_back(Event{Event::Kind::init, init_id_, 0, 0, ptr, {}});
}

void CmafPackager::begin_run(int64_t first_sample_wall_ms, std::optional<int64_t> first_sample_media_us) {
  std::lock_guard delivery(delivery_mutex_);
  std::vector<Event> events;
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    if (run_started_) flush(events);
    rate_frames_ = 0;  // the new run's frames are measured afresh (the last rate stands until then)
    run_wall_ms_ = first_sample_wall_ms;
    run_media_us_ = first_sample_media_us;
    again = any_run_;
  }
  deliver(events);
  log_.info(again ? "publisher back: discontinuity, the next segment starts a new run" : "run started");
}

void CmafPackager::push(const media::AccessUnit& unit) {
  std::lock_guard delivery(delivery_mutex_);
  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    Track& t = track(unit.track);
    if (ended_ || !t.enabled || !all_configured()) {
      ++stats_.dropped_samples;
      return;
    }
    if (init_dirty_) rebuild_init(events);
    if (!run_started_) {
      // Map this run onto the output timeline after everything already written.
      run_started_ = true;
      const int64_t gap = options_.run_gap_ms * 1000LL;
      const int64_t after = (any_run_ ? out_end_us_ : 0) + gap;
      if (options_.shared_clock && unit.dts_us + gap >= after) {
        // Every rendition of the event maps input to output the same way: same segment times.
        run_offset_us_ = gap;
        run_start_out_us_ = unit.dts_us + gap;
      } else {
        run_start_out_us_ = after;
        run_offset_us_ = run_start_out_us_ - unit.dts_us;
      }
      if (!run_wall_ms_) run_wall_ms_ = core::now_ms();
      pending_discontinuity_ = any_run_ || options_.resumed;  // a restart: the earlier run's segments came before
      any_run_ = true;
      video_.need_keyframe = options_.video;
    }
    // B-frames: a run's video decode times are moved later by its first keyframe's composition offset, so
    // that a keyframe's decode time is its presentation time (B-frames get negative offsets, trun version 1).
    // Then a segment's tfdt is where it is shown, as in the ladder's rungs (no B-frames), and every rendition
    // splits parts, and the audio in them, at the same times: hls.js switching between a B-frame source and
    // the rungs otherwise met 67 ms holes and a timeline that disagreed by the reorder delay.
    if (unit.track == media::TrackKind::video && video_.need_keyframe && unit.keyframe) {
      video_shift_us_ = std::clamp<int64_t>(unit.pts_us - unit.dts_us, 0, kMaxReorderUs);
    }
    const int64_t shift = unit.track == media::TrackKind::video ? video_shift_us_ : 0;
    Sample s;
    s.dts = from_us(t, unit.dts_us + shift + run_offset_us_);
    s.pts = from_us(t, unit.pts_us + run_offset_us_);
    s.keyframe = unit.keyframe || unit.track == media::TrackKind::audio;
    // A video decode time equal to (or a little before) the last one — GStreamer's x264enc with B-frames
    // through flvmux repeats millisecond DTS — moves one tick after it: dropping the frame would break the
    // decoding of every frame that refers to it (Chromium: PIPELINE_ERROR_DECODE, hls.js reset the player).
    if (unit.track == media::TrackKind::video && t.last_dts != INT64_MIN && s.dts <= t.last_dts &&
        t.last_dts - s.dts <= from_us(t, kMaxNudgeUs)) {
      s.dts = t.last_dts + 1;
      ++stats_.nudged_samples;
    }
    // Per track, decode times only increase, also across runs (a sample of the other track that maps
    // before this track's end is dropped); video starts on a keyframe.
    if (s.dts <= t.last_dts || s.dts < t.end || s.dts < 0 || (t.need_keyframe && !s.keyframe) ||
        std::abs(s.pts - s.dts) > INT32_MAX) {
      ++stats_.dropped_samples;
    } else {
      t.need_keyframe = false;
      t.last_dts = s.dts;
      s.data.assign(unit.data.begin(), unit.data.end());
      if (t.held) {
        Sample prev = std::move(*t.held);
        prev.duration = static_cast<uint32_t>(std::min<int64_t>(s.dts - prev.dts, UINT32_MAX));
        t.held = std::move(s);
        on_sample_ready(t, std::move(prev), events);
      } else {
        t.held = std::move(s);
      }
      try_finalize(false, events);
    }
  }
  deliver(events);
}

void CmafPackager::end_of_stream() {
  std::lock_guard delivery(delivery_mutex_);
  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    if (ended_) return;
    flush(events);
    ended_ = true;
    events.push_back(Event{Event::Kind::end, 0, 0, 0, nullptr, {}});
  }
  deliver(events);
}

void CmafPackager::on_sample_ready(Track& t, Sample sample, std::vector<Event>& events) {
  (void)events;
  t.last_duration = sample.duration;
  t.end = sample.dts + sample.duration;
  out_end_us_ = std::max(out_end_us_, to_us(t, t.end));
  if (&t == &primary()) {
    on_primary_sample(std::move(sample));
  } else if (!open_part_.empty() || !pending_.empty() || segment_open_) {
    t.ready.push_back(std::move(sample));
  } else {
    ++stats_.dropped_samples;  // audio before the first video keyframe
  }
}

void CmafPackager::on_primary_sample(Sample sample) {
  const Track& t = primary();
  if (part_frames_ == 0 && sample.duration > 0) probe_frame_us_.push_back(to_us(t, sample.duration));
  if (options_.video) {
    if (rate_frames_++ == 0) rate_first_dts_ = sample.dts;
    rate_last_dts_ = sample.dts;
    const int64_t span_us = to_us(t, rate_last_dts_ - rate_first_dts_);
    if (rate_frames_ >= 8 && span_us > 0) measured_fps_ = static_cast<double>(rate_frames_ - 1) * 1e6 / span_us;
  }
  // Decided from the first 8 sample durations, or fewer if the first part is due before (low frame rates):
  // their mean without the longest (an odd gap at the start does not count; ms-rounded 33/34 ms frames
  // average to 33.3).
  const bool first_part_due =
      open_part_duration_ + sample.duration > from_us(t, options_.part_target_ms * 1000LL);
  if (part_frames_ == 0 && !probe_frame_us_.empty() && (probe_frame_us_.size() >= 8 || first_part_due)) {
    int64_t sum = 0;
    for (int64_t d : probe_frame_us_) sum += d;
    const size_t n = probe_frame_us_.size();
    int64_t frame_us =
        n == 1 ? sum : (sum - *std::max_element(probe_frame_us_.begin(), probe_frame_us_.end())) / static_cast<int64_t>(n - 1);
    // The declared frame rate when there is a plausible one: every rendition of the event (the ladder's rungs
    // carry the source's rate) then gets the same parts, and a rung whose first frames came unevenly (its
    // encoder starting) does not get parts sized for half its rate (seen: 6-frame parts at 30 fps).
    bool declared_rate = false;
    if (options_.video && video_config_ && video_config_->fps_num > 0 && video_config_->fps_den > 0) {
      const double declared = static_cast<double>(video_config_->fps_num) / video_config_->fps_den;
      const int64_t declared_us = static_cast<int64_t>(std::llround(1e6 / declared));
      if (declared >= 5 && declared <= 240 && std::llabs(declared_us - frame_us) * 4 < frame_us * 3) {
        frame_us = declared_us;
        declared_rate = true;
      }
    }
    // A variable frame rate (a browser's WHIP publish: capture times, no rate in its SPS): without a declared
    // rate, the first durations (but the longest) differ by more than millisecond rounding. PART-TARGET is sized
    // for frames 8 % longer than the mean, so N jittered frames (±7 % over the part) fall within 85-100 % of it
    // (RFC 8216bis 4.4.4.9), and a part of N frames that is still under 85 % takes more (below). Frames longer
    // than 15 % of PART-TARGET (25-30 fps at 0.2 s parts) cannot always meet both rules: a part then closes
    // short rather than overrun.
    std::vector<int64_t> sorted = probe_frame_us_;
    std::sort(sorted.begin(), sorted.end());
    vfr_ = options_.video && !declared_rate && sorted.size() >= 3 && sorted[sorted.size() - 2] - sorted.front() > kVfrSpreadUs;
    const PartSize size = part_size(vfr_ ? frame_us * 108 / 100 : frame_us, options_.part_target_ms * 1000LL,
                                    options_.segment_target_ms * 1000LL);
    part_frames_ = size.frames;
    part_target_us_ = size.target_us;
    if (vfr_ && to_us(t, open_part_duration_) > part_target_us_) {
      // The first part, open before the size was known, is already longer: it ends (INDEPENDENT, so it may be
      // short) where it still fits, and its last samples open the next part.
      std::vector<Sample> rest;
      int64_t rest_duration = 0;
      while (open_part_.size() > 1 && to_us(t, open_part_duration_) > part_target_us_) {
        open_part_duration_ -= open_part_.back().duration;
        rest_duration += open_part_.back().duration;
        rest.insert(rest.begin(), std::move(open_part_.back()));
        open_part_.pop_back();
      }
      close_open_part(false);
      open_part_ = std::move(rest);
      open_part_duration_ = rest_duration;
    }
    probe_frame_us_ = {};
    log_.info(vfr_ ? "parts up to PART-TARGET " + std::to_string(part_target_us_ / 1000) +
                         " ms by duration (variable frame rate, ~" + std::to_string(frame_us / 1000) + " ms frames)"
                   : "parts of " + std::to_string(size.frames) + " samples, PART-TARGET " +
                         std::to_string(size.target_us / 1000) + " ms");
  }
  if (!open_part_.empty()) {
    // Video: the first keyframe at >= 90 % of the target (a GOP a bit shorter than the target still
    // gives one GOP per segment). Audio-only: the sample boundary nearest the target.
    const int64_t segment_target = from_us(t, options_.segment_target_ms * 1000LL);
    const int64_t part_target = from_us(t, part_target_us_);
    const bool segment_due = options_.video ? segment_elapsed_ * 10 >= segment_target * 9
                                            : segment_elapsed_ + sample.duration / 2 >= segment_target;
    if (sample.keyframe && segment_due) {
      close_open_part(true);
    } else if (sample.keyframe && options_.video && part_frames_ > 0 &&
               (vfr_ ? open_part_duration_ * 100 >= part_target * 85
                     : static_cast<int>(open_part_.size()) * 100 >= part_frames_ * 85)) {
      // A keyframe inside a segment starts a part of its own (INDEPENDENT=YES: a player may start there; hls.js
      // starts at the independent part before its target) when the open part is already long enough to end:
      // RFC 8216bis 4.4.4.9 wants every part but a segment's last (and an independent one) at least 85 % of
      // PART-TARGET. Earlier in a part the keyframe stays inside it. The parts that follow count from it.
      close_open_part(false);
    } else if (open_part_duration_ + sample.duration > part_target ||
               (part_frames_ > 0 && static_cast<int>(open_part_.size()) >= part_frames_ &&
                (!vfr_ || open_part_duration_ * 100 >= part_target * 85))) {
      // `part_frames_` samples (equal parts at a constant rate), never over PART-TARGET. At a variable rate
      // (short frames, a burst) a part with its frames but under 85 % of PART-TARGET takes more, as many as
      // fit; a part closes short only when the next frame alone would make it overrun.
      close_open_part(false);
    }
  }
  open_part_duration_ += sample.duration;
  segment_elapsed_ += sample.duration;
  open_part_.push_back(std::move(sample));
}

void CmafPackager::close_open_part(bool ends_segment) {
  if (open_part_.empty()) return;
  const Track& t = primary();
  const Sample& last = open_part_.back();
  pending_.push_back(PendingPart{std::move(open_part_), to_us(t, last.dts + last.duration), ends_segment});
  open_part_.clear();
  open_part_duration_ = 0;
  if (ends_segment) segment_elapsed_ = 0;
}

void CmafPackager::try_finalize(bool force, std::vector<Event>& events) {
  Track* second = secondary();
  while (!pending_.empty()) {
    const PendingPart& p = pending_.front();
    bool go = force || second == nullptr;
    if (!go) {
      const int64_t second_end =
          second->held ? to_us(*second, second->held->dts) : to_us(*second, second->end);
      const Track& first = primary();
      const int64_t first_now = first.held ? to_us(first, first.held->dts) : out_end_us_;
      go = second_end >= p.end_us || first_now - p.end_us > options_.max_track_wait_ms * 1000LL;
    }
    if (!go) break;
    PendingPart part = std::move(pending_.front());
    pending_.pop_front();
    finalize_part(std::move(part), events);
  }
}

void CmafPackager::finalize_part(PendingPart p, std::vector<Event>& events) {
  Track& first = primary();
  Track* second = secondary();
  std::vector<Sample> second_samples;
  while (second && !second->ready.empty() && to_us(*second, second->ready.front().dts) < p.end_us) {
    second_samples.push_back(std::move(second->ready.front()));
    second->ready.pop_front();
  }
  auto fragment_track = [](uint32_t id, bool video, const std::vector<Sample>& samples) {
    FragmentTrack ft;
    ft.track_id = id;
    ft.video = video;
    if (!samples.empty()) ft.base_decode_time = static_cast<uint64_t>(samples.front().dts);
    for (const Sample& s : samples) {
      ft.samples.push_back(
          FragmentSample{s.duration, static_cast<int32_t>(s.pts - s.dts), s.keyframe, &s.data});
    }
    return ft;
  };
  std::vector<FragmentTrack> tracks;
  if (options_.video) {
    tracks.push_back(fragment_track(kVideoTrackId, true, p.samples));
    if (second) tracks.push_back(fragment_track(kAudioTrackId, false, second_samples));
  } else {
    tracks.push_back(fragment_track(kAudioTrackId, false, p.samples));
  }
  auto bytes = std::make_shared<const Bytes>(write_fragment(++sequence_number_, tracks));

  int64_t duration = 0;
  for (const Sample& s : p.samples) duration += s.duration;
  if (!segment_open_) {
    Segment seg;
    seg.info.msn = next_msn_++;
    // From the presentation time of the segment's first sample and the run's clock reference: the same for
    // every rendition of one clock (the source's B-frame delay and which unit came first do not matter).
    const int64_t first_out_us = to_us(first, p.samples.front().pts);
    seg.info.pdt_ms = run_media_us_ ? *run_wall_ms_ + (first_out_us - run_offset_us_ - *run_media_us_) / 1000
                                    : *run_wall_ms_ + (to_us(first, p.samples.front().dts) - run_start_out_us_) / 1000;
    seg.info.discontinuity = pending_discontinuity_;
    seg.info.init_id = init_id_;
    pending_discontinuity_ = false;
    segments_.push_back(std::move(seg));
    segment_open_ = true;
  }
  Segment& seg = segments_.back();
  PartInfo info;
  info.index = static_cast<int>(seg.parts.size());
  info.duration_s = static_cast<double>(duration) / first.timescale;
  info.independent = p.samples.front().keyframe;
  info.bytes = static_cast<int64_t>(bytes->size());
  seg.info.parts.push_back(info);
  seg.info.duration_s += info.duration_s;
  seg.info.bytes += info.bytes;
  seg.parts.push_back(bytes);
  ++stats_.parts;
  events.push_back(Event{Event::Kind::part, 0, seg.info.msn, info.index, bytes, {}});
  if (p.ends_segment) complete_segment(events);
}

void CmafPackager::complete_segment(std::vector<Event>& events) {
  if (!segment_open_) return;
  segment_open_ = false;
  Segment& seg = segments_.back();
  seg.info.complete = true;
  ++stats_.segments;
  target_duration_s_ = std::max<int>(target_duration_s_, static_cast<int>(std::lround(seg.info.duration_s)));
  events.push_back(Event{Event::Kind::segment, seg.info.init_id, seg.info.msn, 0, nullptr, seg.info, seg.parts});
  while (segments_.size() > static_cast<size_t>(std::max(1, options_.window_segments))) {
    if (segments_.front().info.discontinuity) ++discontinuity_sequence_;
    segments_.pop_front();
  }
  // Parts are listed (and served) only for the last few segments (plus one, for late requests); their
  // bytes stay as the segment's.
  const size_t keep = static_cast<size_t>(std::max(1, options_.part_segments)) + 1;
  for (size_t i = 0; i + keep < segments_.size(); ++i) segments_[i].info.parts.clear();
}

void CmafPackager::flush(std::vector<Event>& events) {
  for (Track* t : {&video_, &audio_}) {
    if (!t->held) continue;
    Sample last = std::move(*t->held);
    t->held.reset();
    // The last sample of a run lasts as long as the one before it (or one nominal frame).
    int64_t nominal_us = 1024 * 1'000'000LL / std::max(1, audio_config_ ? audio_config_->rate : 48000);
    if (t == &video_) {
      nominal_us = video_config_ && video_config_->fps_num > 0
                       ? 1'000'000LL * video_config_->fps_den / video_config_->fps_num
                       : 40'000;
    }
    last.duration = t->last_duration > 0 ? t->last_duration : static_cast<uint32_t>(from_us(*t, nominal_us));
    on_sample_ready(*t, std::move(last), events);
  }
  close_open_part(true);
  if (!pending_.empty()) {
    pending_.back().end_us = INT64_MAX;  // the last part takes every remaining sample of the other track
    pending_.back().ends_segment = true;
  }
  try_finalize(true, events);
  complete_segment(events);
  if (Track* second = secondary()) second->ready.clear();
  segment_elapsed_ = 0;
  run_started_ = false;
  run_wall_ms_.reset();
}

ReloadState CmafPackager::reload_state_locked() const {
  ReloadState state;
  state.last_complete_msn = options_.first_msn - 1;  // until a segment completes (a resumed event: its earlier run's)
  state.target_duration_s = target_duration_s_;
  state.ended = ended_;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    if (!state.last_part && !it->info.parts.empty()) {
      state.last_part = PartPosition{it->info.msn, it->info.parts.back().index};
    }
    if (it->info.complete) {
      state.last_complete_msn = it->info.msn;
      break;
    }
  }
  return state;
}

void CmafPackager::deliver(std::vector<Event>& events) {
  if (events.empty()) return;
  bool changed = false;
  for (Event& e : events) {
    switch (e.kind) {
      case Event::Kind::init:
        log_.info("init segment " + init_uri(e.init_id) + " (" + std::to_string(e.bytes->size()) + " bytes)");
        if (sink_) sink_->on_init(options_.rendition, e.init_id, e.bytes);
        break;
      case Event::Kind::part:
        if (sink_) sink_->on_part(options_.rendition, e.msn, e.index, e.bytes);
        changed = true;
        break;
      case Event::Kind::segment:
        if (sink_) sink_->on_segment(options_.rendition, e.info, e.parts);
        changed = true;
        break;
      case Event::Kind::end: {
        const PackagerStats st = stats();
        log_.info("closed: end of stream, " + std::to_string(st.segments) + " segments, " +
                  std::to_string(st.parts) + " parts, " + std::to_string(st.dropped_samples) +
                  " samples dropped, " + std::to_string(st.nudged_samples) + " video decode times moved");
        if (sink_) sink_->on_end(options_.rendition);
        changed = true;
        break;
      }
    }
  }
  if (changed && on_update_) on_update_(reload_state());
}

MediaPlaylistState CmafPackager::playlist_state() const {
  std::lock_guard lock(mutex_);
  MediaPlaylistState state;
  state.part_target_ms = static_cast<int>(part_target_us_ / 1000);
  state.target_duration_s = target_duration_s_;
  state.discontinuity_sequence = discontinuity_sequence_;
  state.ended = ended_;
  state.segments.reserve(segments_.size());
  for (const Segment& s : segments_) state.segments.push_back(s.info);
  if (!ended_ && any_run_) {
    state.preload_hint = segment_open_ ? PartPosition{segments_.back().info.msn,
                                                      static_cast<int>(segments_.back().parts.size())}
                                       : PartPosition{next_msn_, 0};
  }
  return state;
}

ReloadState CmafPackager::reload_state() const {
  std::lock_guard lock(mutex_);
  return reload_state_locked();
}

VariantInfo CmafPackager::variant_info() const {
  std::lock_guard lock(mutex_);
  VariantInfo v;
  v.uri = options_.rendition + "/index.m3u8";
  v.codecs = codecs_;
  if (video_config_) {
    v.width = video_config_->width;
    v.height = video_config_->height;
    const double declared = video_config_->fps_num > 0 && video_config_->fps_den > 0
                                ? static_cast<double>(video_config_->fps_num) / video_config_->fps_den
                                : 0;
    const double measured = measured_fps_;
    // No frame rate in the stream (openh264 writes no VUI timing; FLV metadata may lack it), or one that is
    // a time base rather than a rate (ffmpeg's variable-rate output declares 1000 fps): the rate the
    // timestamps show, snapped to a usual one. Safari wants FRAME-RATE on every video variant.
    const bool declared_wrong = declared > 0 && measured > 0 && std::abs(declared - measured) > measured * 0.25;
    if (declared > 0 && declared <= 240 && !declared_wrong) {
      v.frame_rate = declared;
    } else if (measured > 0) {
      v.frame_rate = usual_frame_rate(measured);
    }
  }
  double total_bits = 0, total_s = 0, peak = 0;
  for (const Segment& s : segments_) {
    if (!s.info.complete || s.info.duration_s <= 0) continue;
    total_bits += 8.0 * static_cast<double>(s.info.bytes);
    total_s += s.info.duration_s;
    peak = std::max(peak, 8.0 * static_cast<double>(s.info.bytes) / s.info.duration_s);
  }
  if (total_s > 0) {
    v.bandwidth = std::llround(peak);
    v.average_bandwidth = std::llround(total_bits / total_s);
  } else {
    v.bandwidth = options_.nominal_bandwidth;
  }
  return v;
}

const CmafPackager::Segment* CmafPackager::find_segment(int64_t msn) const {
  if (segments_.empty() || msn < segments_.front().info.msn || msn > segments_.back().info.msn)
    return nullptr;
  return &segments_[static_cast<size_t>(msn - segments_.front().info.msn)];
}

BytesPtr CmafPackager::init_segment(int init_id) const {
  std::lock_guard lock(mutex_);
  auto it = inits_.find(init_id);
  return it == inits_.end() ? nullptr : it->second;
}

BytesPtr CmafPackager::part(int64_t msn, int index) const {
  std::lock_guard lock(mutex_);
  const Segment* s = find_segment(msn);
  // Served while listed: an older segment's parts are only its bytes.
  if (!s || index < 0 || static_cast<size_t>(index) >= s->info.parts.size()) return nullptr;
  return s->parts[static_cast<size_t>(index)];
}

BytesPtr CmafPackager::segment(int64_t msn) const {
  std::lock_guard lock(mutex_);
  const Segment* s = find_segment(msn);
  if (!s || !s->info.complete || !s->info.earlier_file.empty()) return nullptr;  // earlier: from the recording
  if (!s->bytes) s->bytes = std::make_shared<const Bytes>(concat(s->parts));
  return s->bytes;
}

std::string CmafPackager::earlier_file(int64_t msn) const {
  std::lock_guard lock(mutex_);
  const Segment* s = find_segment(msn);
  return s ? s->info.earlier_file : std::string();
}

PackagerStats CmafPackager::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace sreda::package
