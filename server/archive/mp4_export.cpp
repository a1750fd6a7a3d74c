#include "server/archive/mp4_export.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <pthread.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/gst_ref.h"
#include "server/core/log.h"

namespace sreda::archive {

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kMaxWaiting = 8;

// The first error on the bus, or empty. Waits up to `timeout` for EOS or an error when `until_end`.
std::string bus_error(GstElement* pipeline, GstClockTime timeout, bool until_end) {
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline));
  while (true) {
    auto msg = gst::GstRef<GstMessage>::adopt(gst_bus_timed_pop_filtered(
        bus.get(), until_end ? timeout : 0, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (!msg) return until_end ? "the remux did not finish in time" : "";
    if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) return "";
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg.get(), &err, &debug);
    std::string text = err ? err->message : "unknown GStreamer error";
    if (err) g_error_free(err);
    g_free(debug);
    return text;
  }
}

}  // namespace

namespace {

// Feeds `files` through appsrc "src" of the pipeline `launch` (its sink is filesink "out", writing
// `<out_path>.tmp`), waits for EOS and renames the result to `out_path`. Returns an error or empty.
std::string run_file_pipeline(const std::vector<std::string>& files, const std::string& launch,
                              const std::string& out_path, const std::string& faststart) {
  const std::string tmp = out_path + ".tmp";
  GError* err = nullptr;
  GstElement* launched = gst_parse_launch(launch.c_str(), &err);
  auto pipeline = gst::GstRef<GstElement>::adopt(launched ? GST_ELEMENT(gst_object_ref_sink(launched)) : nullptr);
  if (err || !pipeline) {
    std::string why = err ? err->message : "unknown error";
    if (err) g_error_free(err);
    return "cannot build the remux pipeline: " + why;
  }
  {
    auto out = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "out"));
    g_object_set(out.get(), "location", tmp.c_str(), nullptr);
    auto mux = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "m"));
    if (mux) g_object_set(mux.get(), "faststart-file", faststart.c_str(), nullptr);
  }
  auto src = gst::GstRef<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  std::string error;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = "the remux pipeline did not start";
  }
  bool done = false;
  for (size_t i = 0; error.empty() && !done && i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    if (!in) {
      error = "cannot read " + files[i];
      break;
    }
    while (error.empty() && in) {
      GstBuffer* buffer = gst_buffer_new_allocate(nullptr, kChunk, nullptr);
      GstMapInfo map;
      gst_buffer_map(buffer, &map, GST_MAP_WRITE);
      in.read(reinterpret_cast<char*>(map.data), static_cast<std::streamsize>(kChunk));
      const auto got = static_cast<size_t>(in.gcount());
      gst_buffer_unmap(buffer, &map);
      if (got == 0) {
        gst_buffer_unref(buffer);
        break;
      }
      gst_buffer_set_size(buffer, static_cast<gssize>(got));
      const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src.get()), buffer);
      error = bus_error(pipeline.get(), 0, false);
      if (flow == GST_FLOW_EOS) done = true;  // e.g. a snapshot encoder has its frame
      if (error.empty() && (got < kChunk || done)) break;
    }
  }
  if (error.empty()) {
    gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
    error = bus_error(pipeline.get(), 600 * GST_SECOND, true);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  std::error_code ec;
  if (!faststart.empty()) std::filesystem::remove(faststart, ec);
  if (error.empty()) {
    std::filesystem::rename(tmp, out_path, ec);
    if (ec) error = "rename " + tmp + ": " + ec.message();
  }
  if (!error.empty()) std::filesystem::remove(tmp, ec);
  return error;
}

}  // namespace

std::string remux_to_mp4(const std::vector<std::string>& files, const std::string& out_path) {
  if (files.size() < 2) return "nothing to export";
  // qtdemux's pads are video_0 / audio_0; a rendition without one of them simply has no such link.
  const std::string launch =
      "appsrc name=src format=bytes block=true max-bytes=4194304 caps=video/quicktime ! qtdemux name=d "
      "mp4mux name=m faststart=true ! filesink name=out "
      "d.video_0 ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=10000000000 ! m.video_0 "
      "d.audio_0 ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=10000000000 ! m.audio_0";
  return run_file_pipeline(files, launch, out_path, out_path + ".moov.tmp");
}

// sredaavh264dec (libavcodec in process; openh264dec if it cannot be registered), not decodebin: decodebin
// would pick avdec_h264, and gst-libav links libavformat and with it libsrt-gnutls, whose global state
// clashes with sreda's libsrt (the process then hangs at exit).
std::string snapshot_jpeg(const std::string& init, const std::string& segment, const std::string& out_path,
                          int max_width) {
  const std::string decoder = gst::register_av_h264_dec() ? gst::kAvH264DecElement : "openh264dec";
  const std::string launch =
      "appsrc name=src format=bytes block=true max-bytes=4194304 caps=video/quicktime ! qtdemux name=d "
      "d.video_0 ! queue ! h264parse ! " + decoder + " ! videoconvert ! videoscale ! video/x-raw,width=[1," +
      std::to_string(max_width) + "],pixel-aspect-ratio=1/1 ! jpegenc quality=85 snapshot=true ! filesink name=out";
  return run_file_pipeline({init, segment}, launch, out_path, "");
}

Mp4Exporter::Mp4Exporter() : thread_([this] { run(); }) {}

Mp4Exporter::~Mp4Exporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Mp4Exporter::export_mp4(std::vector<std::string> files, std::string out_path, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && jobs_.size() < kMaxWaiting) {
      jobs_.push_back({std::move(files), std::move(out_path), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done("the server is busy exporting; try again in a minute");
}

void Mp4Exporter::run() {
  pthread_setname_np(pthread_self(), "sreda-export");
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    if (stopping_) {
      lock.unlock();
      job.done("the server is stopping");
      lock.lock();
      continue;
    }
    lock.unlock();
    std::string error;
    try {
      error = remux_to_mp4(job.files, job.out_path);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) core::Logger("archive export").error(job.out_path + ": " + error);
    job.done(error);
    lock.lock();
  }
}

}  // namespace sreda::archive
