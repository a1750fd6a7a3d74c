// MP4 export: one rendition of a recording remuxed into a progressive MP4 (`moov` first, "faststart")
// with GStreamer, without re-encoding:
//   appsrc (init segment + the segments, read from disk in 1 MiB chunks) → qtdemux → queue → mp4mux
//   faststart=true → filesink.
// Why a file and not a stream straight to the client: `moov` first needs every sample's size and time
// before the first `mdat` byte, so a moov-first MP4 cannot be produced while reading; mp4mux keeps the
// media in its faststart file on disk (not in memory) and writes moov + mdat at the end. The result is
// cached next to the recording (exports/), and the HTTP server streams it from disk.
//
// Threads: Mp4Exporter runs the exports one at a time on its own thread; export() may be called from
// any thread and calls `done` on that thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sreda::archive {

// Runs one remux (blocking). `files`: the init segment then the segments, in order. Returns an error
// message, empty on success (then `out_path` exists, written via `<out_path>.tmp` and renamed).
std::string remux_to_mp4(const std::vector<std::string>& files, const std::string& out_path);

// The first picture of `segment` (which starts on a keyframe) as a JPEG at most `max_width` wide:
// appsrc → qtdemux → h264parse → sredaavh264dec → videoscale → jpegenc snapshot=true → filesink. Error or empty.
std::string snapshot_jpeg(const std::string& init, const std::string& segment, const std::string& out_path,
                          int max_width = 640);

class Mp4Exporter {
 public:
  using Done = std::function<void(const std::string& error)>;
  Mp4Exporter();
  ~Mp4Exporter();  // finishes the export in progress; the queued ones get "the server is stopping"
  Mp4Exporter(const Mp4Exporter&) = delete;
  Mp4Exporter& operator=(const Mp4Exporter&) = delete;

  // Queues an export (overflow: more than 8 waiting → done("busy") at once).
  void export_mp4(std::vector<std::string> files, std::string out_path, Done done);

 private:
  struct Job {
    std::vector<std::string> files;
    std::string out_path;
    Done done;
  };
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sreda::archive
