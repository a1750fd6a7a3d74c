#include "server/archive/mp4_export.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <pthread.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pipelines/gst/av_h264_dec.h"
#include "pipelines/gst/gst_ref.h"
#include "server/core/log.h"

namespace sreda::archive {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 1 << 20;
constexpr auto kSlice = std::chrono::milliseconds(100);  // how often a waiting job looks at its deadline

core::Logger& log() {
  static core::Logger logger("archive export");
  return logger;
}

// The pipeline's end as seen on its bus: still running, EOS, or the first error.
struct BusState {
  bool eos = false;
  std::string error;
  bool over() const { return eos || !error.empty(); }
};

// Takes the EOS/error messages on `bus`, waiting up to `wait` for the first.
void poll_bus(GstBus* bus, GstClockTime wait, BusState& state) {
  while (!state.over()) {
    auto msg = gst::GstRef<GstMessage>::adopt(
        gst_bus_timed_pop_filtered(bus, wait, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (!msg) return;
    if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) {
      state.eos = true;
      return;
    }
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg.get(), &err, &debug);
    state.error = err ? err->message : "unknown GStreamer error";
    if (err) g_error_free(err);
    g_free(debug);
  }
}

// appsrc's need-data / enough-data: whether the source queue has room (so pushing never blocks).
struct Feed {
  std::mutex mutex;
  std::condition_variable room;
  bool hungry = true;
};

void on_need_data(GstAppSrc*, guint, gpointer data) {
  auto* feed = static_cast<Feed*>(data);
  {
    std::lock_guard lock(feed->mutex);
    feed->hungry = true;
  }
  feed->room.notify_all();
}

void on_enough_data(GstAppSrc*, gpointer data) {
  auto* feed = static_cast<Feed*>(data);
  std::lock_guard lock(feed->mutex);
  feed->hungry = false;
}

// Feeds `files` through appsrc "src" of the pipeline `launch` (its sink is filesink "out", writing
// `<out_path>.tmp`), waits for EOS and renames the result to `out_path`. Gives up at `deadline` or on
// `cancel`. Returns an error or empty.
std::string run_file_pipeline(const std::vector<std::string>& files, const std::string& launch,
                              const std::string& out_path, const std::string& faststart, Clock::time_point deadline,
                              const std::atomic<bool>* cancel) {
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
  auto bus = gst::GstRef<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  Feed feed;
  GstAppSrcCallbacks callbacks{};
  callbacks.need_data = on_need_data;
  callbacks.enough_data = on_enough_data;
  gst_app_src_set_callbacks(GST_APP_SRC(src.get()), &callbacks, &feed, nullptr);
  auto stopped = [&]() -> std::string {
    if (cancel && cancel->load()) return "the server is stopping";
    if (Clock::now() >= deadline) return "the remux did not finish in time";
    return "";
  };

  BusState bus_state;
  std::string error;
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    error = "the remux pipeline did not start";
  for (size_t i = 0; error.empty() && !bus_state.over() && i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    if (!in) {
      error = "cannot read " + files[i];
      break;
    }
    while (error.empty() && !bus_state.over() && in) {
      // Wait for room in appsrc's queue, watching the bus and the deadline.
      while (error.empty() && !bus_state.over()) {
        std::unique_lock lock(feed.mutex);
        if (feed.room.wait_for(lock, kSlice, [&] { return feed.hungry; })) break;
        lock.unlock();
        poll_bus(bus.get(), 0, bus_state);
        error = stopped();
      }
      if (!error.empty() || bus_state.over()) break;
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
      if (gst_app_src_push_buffer(GST_APP_SRC(src.get()), buffer) == GST_FLOW_EOS)
        bus_state.eos = true;  // e.g. a snapshot encoder has its frame
      poll_bus(bus.get(), 0, bus_state);
    }
  }
  if (error.empty() && !bus_state.over()) {
    gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
    while (!bus_state.over() && (error = stopped()).empty())
      poll_bus(bus.get(), std::chrono::duration_cast<std::chrono::nanoseconds>(kSlice).count(), bus_state);
  }
  if (error.empty()) error = bus_state.error;
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

std::string remux_to_mp4(const ExportJob& job, Clock::time_point deadline, const std::atomic<bool>* cancel) {
  if (job.files.size() < 2) return "nothing to export";
  if (!job.video && !job.audio) return "the rendition has neither video nor audio";
  // qtdemux's pads are video_0 / audio_0: one branch per track the rendition has.
  const std::string queue = " ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=10000000000 ! ";
  std::string launch =
      "appsrc name=src format=bytes max-bytes=4194304 caps=video/quicktime ! qtdemux name=d "
      "mp4mux name=m faststart=true ! filesink name=out";
  if (job.video) launch += " d.video_0" + queue + "m.video_0";
  if (job.audio) launch += " d.audio_0" + queue + "m.audio_0";
  return run_file_pipeline(job.files, launch, job.out_path, job.out_path + ".moov.tmp", deadline, cancel);
}

// sredaavh264dec (libavcodec in process; openh264dec if it cannot be registered), not decodebin: decodebin
// would pick avdec_h264, and gst-libav links libavformat and with it libsrt-gnutls, whose global state
// clashes with sreda's libsrt (the process then hangs at exit).
std::string snapshot_jpeg(const std::string& init, const std::string& segment, const std::string& out_path,
                          int max_width) {
  const std::string decoder = gst::register_av_h264_dec() ? gst::kAvH264DecElement : "openh264dec";
  const std::string launch =
      "appsrc name=src format=bytes max-bytes=4194304 caps=video/quicktime ! qtdemux name=d "
      "d.video_0 ! queue ! h264parse ! " + decoder + " ! videoconvert ! videoscale ! video/x-raw,width=[1," +
      std::to_string(max_width) + "],pixel-aspect-ratio=1/1 ! jpegenc quality=85 snapshot=true ! filesink name=out";
  // One picture from one segment: seconds at most, whatever the recording's length.
  return run_file_pipeline({init, segment}, launch, out_path, "", Clock::now() + std::chrono::seconds(30), nullptr);
}

Mp4Exporter::Mp4Exporter(ExporterOptions options) : options_(options) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) threads_.emplace_back([this] { run(); });
}

Mp4Exporter::~Mp4Exporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cancel_ = true;
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::chrono::milliseconds Mp4Exporter::time_bound(double media_s) const {
  const double ms = 1000.0 * options_.timeout_s + std::max(0.0, media_s) / 3.6 * options_.timeout_per_hour_s;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(ms)));
}

void Mp4Exporter::export_mp4(ExportJob job, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && jobs_.size() < static_cast<size_t>(std::max(0, options_.max_waiting))) {
      jobs_.push_back({std::move(job), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  refused_++;
  log().warn(job.out_path + ": refused, " + std::to_string(options_.max_waiting) +
             " exports are waiting already (archive.export_queue)");
  done("the server is busy exporting; try again in a minute");
}

void Mp4Exporter::run() {
  pthread_setname_np(pthread_self(), "sreda-export");
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;
    Queued q = std::move(jobs_.front());
    jobs_.pop_front();
    if (stopping_) {
      lock.unlock();
      q.done("the server is stopping");
      lock.lock();
      continue;
    }
    lock.unlock();
    const auto bound = time_bound(q.job.media_s);
    const auto deadline = Clock::now() + bound;
    std::string error;
    try {
      error = remux_to_mp4(q.job, deadline, &cancel_);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty() && !cancel_ && Clock::now() >= deadline) {
      timeouts_++;
      error = "the export did not finish within " + std::to_string((bound.count() + 999) / 1000) + " s (" +
              std::to_string(std::llround(q.job.media_s)) + " s of media; archive.export_timeout_s, "
              "archive.export_timeout_per_hour_s): " + error;
    }
    if (!error.empty()) log().error(q.job.out_path + ": " + error);
    q.done(error);
    lock.lock();
  }
}

}  // namespace sreda::archive
