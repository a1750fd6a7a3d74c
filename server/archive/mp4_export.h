// MP4 export: one rendition of a recording remuxed into a progressive MP4 (`moov` first, "faststart")
// with GStreamer, without re-encoding:
//   appsrc (init segment + the segments, read from disk in 1 MiB chunks) → qtdemux → queue → mp4mux
//   faststart=true → filesink, with one branch per track the rendition has (video, audio): a branch
//   for a track the rendition lacks would keep mp4mux waiting for it forever. An audio-only rendition
//   makes an audio MP4 (served as `.m4a`).
// Why a file and not a stream straight to the client: `moov` first needs every sample's size and time
// before the first `mdat` byte, so a moov-first MP4 cannot be produced while reading; mp4mux keeps the
// media in its faststart file on disk (not in memory) and writes moov + mdat at the end. The result is
// cached next to the recording (exports/), and the HTTP server streams it from disk.
//
// A remux never hangs: each job has a deadline proportional to the media it holds (ExporterOptions);
// the feeding and the wait for the end check it, and a job past it ends with a clear error, one log
// line and a count (timeouts()). Jobs run on `workers` threads, so one slow job never blocks the others.
//
// Threads: export_mp4() may be called from any thread; `done` is called on a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sreda::archive {

struct ExportJob {
  std::vector<std::string> files;  // the init segment then the segments, in order
  std::string out_path;            // written via `<out_path>.tmp`, renamed when complete
  bool video = true;               // the rendition's tracks (init segment's codecs)
  bool audio = true;
  double media_s = 0;              // duration of what is exported: sizes the deadline
};

// Runs one remux (blocking) and gives up at `deadline` (or when `cancel` becomes true). Returns an
// error message, empty on success (then `out_path` exists).
std::string remux_to_mp4(const ExportJob& job, std::chrono::steady_clock::time_point deadline,
                         const std::atomic<bool>* cancel = nullptr);

// The first picture of `segment` (which starts on a keyframe) as a JPEG at most `max_width` wide:
// appsrc → qtdemux → h264parse → sredaavh264dec → videoscale → jpegenc snapshot=true → filesink. Error or empty.
std::string snapshot_jpeg(const std::string& init, const std::string& segment, const std::string& out_path,
                          int max_width = 640);

struct ExporterOptions {
  int workers = 2;                  // archive.export_workers
  int max_waiting = 8;              // archive.export_queue: more waiting → "busy" at once
  int timeout_s = 60;               // archive.export_timeout_s: every job's deadline is this …
  int timeout_per_hour_s = 360;     // archive.export_timeout_per_hour_s: … plus this per hour of media
};

class Mp4Exporter {
 public:
  using Done = std::function<void(const std::string& error)>;
  explicit Mp4Exporter(ExporterOptions options = {});
  ~Mp4Exporter();  // cancels the exports in progress; the queued ones get "the server is stopping"
  Mp4Exporter(const Mp4Exporter&) = delete;
  Mp4Exporter& operator=(const Mp4Exporter&) = delete;

  // Queues an export (overflow: more than max_waiting waiting → done("busy…") at once, counted).
  void export_mp4(ExportJob job, Done done);
  // The time a job of `media_s` seconds may take.
  std::chrono::milliseconds time_bound(double media_s) const;

  int64_t timeouts() const { return timeouts_.load(); }  // jobs ended by their deadline
  int64_t refused() const { return refused_.load(); }    // jobs refused because the queue was full

 private:
  struct Queued {
    ExportJob job;
    Done done;
  };
  void run();

  ExporterOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> jobs_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  std::atomic<int64_t> timeouts_{0};
  std::atomic<int64_t> refused_{0};
  std::vector<std::thread> threads_;
};

}  // namespace sreda::archive
