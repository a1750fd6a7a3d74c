#include "server/ingest/whip/whip_media.h"

#include "server/media/h264.h"

namespace sreda::ingest::whip {

using media::TrackKind;

WhipMedia::WhipMedia(media::SourceListener& listener, bool expect_video, bool expect_audio, size_t max_held_bytes,
                     std::function<int64_t()> now_ms)
    : listener_(listener),
      expect_video_(expect_video),
      expect_audio_(expect_audio),
      now_ms_(std::move(now_ms)),
      held_(kMaxHeldUnits, max_held_bytes) {}

bool WhipMedia::set_video_format_locked(const TrackFormat& f, std::string& error) {
  if (f.codec != "h264") return error = "the publisher's video is " + f.codec + ", not H.264", false;
  auto avc = media::parse_avc_config(f.codec_data);
  if (!avc) return error = "the publisher's H.264 configuration is unusable (" + avc.error().code + ")", false;
  auto sps = media::parse_sps(avc->sps.front());
  if (!sps) return error = "the publisher's H.264 sequence parameter set is unusable (" + sps.error().code + ")", false;
  facts_.video_codec = "h264";
  facts_.video_profile = media::h264_profile_name(sps->profile_idc, sps->constraint_flags);
  facts_.video_level = media::h264_level_name(sps->level_idc, sps->profile_idc, sps->constraint_flags);
  facts_.width = sps->width;
  facts_.height = sps->height;
  facts_.fps_num = sps->fps_num;
  facts_.fps_den = sps->fps_num ? sps->fps_den : 1;
  facts_.video_codec_data = f.codec_data;
  facts_.video_caps = f.caps;
  return true;
}

void WhipMedia::on_format(const TrackFormat& f) {
  if (failed_) return;
  std::string error;
  {
    std::lock_guard lock(mutex_);
    if (f.track == TrackKind::video) {
      if (!expect_video_) return;
      if (video_format_ && f.codec_data == facts_.video_codec_data) return;  // the same configuration again
      const int width = facts_.width, height = facts_.height;
      if (set_video_format_locked(f, error)) {
        const bool again = prepared_ && facts_.has_video;  // (has_video: the session took the track)
        video_format_ = true;
        if (again) {
          // A new SPS mid-stream (a browser under pressure lowers its resolution): a new session start.
          if (width != facts_.width || height != facts_.height) resolution_changes_++;
          listener_.on_prepared(facts_);
          return;
        }
        if (audio_format_ || !expect_audio_) prepare_locked();
        return;
      }
    } else {
      if (!expect_audio_ || audio_format_) return;
      if (f.codec != "opus") {
        error = "the publisher's audio is " + f.codec + ", not Opus";
      } else {
        facts_.audio_codec = "opus";
        facts_.audio_rate = f.rate > 0 ? f.rate : 48000;
        facts_.audio_channels = f.channels > 0 ? f.channels : 2;
        facts_.audio_caps = f.caps;
        audio_format_ = true;
        if (video_format_ || !expect_video_) prepare_locked();
        return;
      }
    }
  }
  fail(error);
}

void WhipMedia::on_unit(media::AccessUnit unit) {
  if (failed_) return;
  const int64_t now = now_ms_();
  last_unit_ms_.store(now);
  if (unit.track == TrackKind::video && unit.keyframe) last_keyframe_ms_.store(now);
  std::unique_lock lock(mutex_);
  const bool has_format = unit.track == TrackKind::video ? video_format_ : audio_format_;
  if (!has_format) {  // before its track's format (or a track the offer did not send): nothing to decode it with
    dropped_++;
    return;
  }
  units_++;
  if (prepared_) {
    if ((unit.track == TrackKind::video && !facts_.has_video) || (unit.track == TrackKind::audio && !facts_.has_audio))
      return;  // a track that came after `prepared` is not part of this session
    lock.unlock();
    listener_.on_access_unit(std::move(unit));
    return;
  }
  const uint64_t dropped_before = held_.dropped();
  const bool held = held_.hold(std::move(unit));
  dropped_ += held_.dropped() - dropped_before;  // the oldest, beyond kMaxHeldUnits
  if (!held) {
    held_bytes_exceeded_ = true;
    lock.unlock();
    fail(held_.over_bytes_reason());
    return;
  }
  // One track came and the other has not for kPrepareWindowUs of media: the session goes on with what came.
  if (held_.span_us() > kPrepareWindowUs) prepare_locked();
}

void WhipMedia::prepare_locked() {
  if (prepared_ || failed_) return;
  facts_.has_video = video_format_;
  facts_.has_audio = audio_format_;
  prepared_ = true;
  held_.deliver(listener_, facts_);
}

void WhipMedia::fail(const std::string& reason) {
  if (failed_.exchange(true)) return;
  listener_.on_failed(reason);
}

}  // namespace sreda::ingest::whip
