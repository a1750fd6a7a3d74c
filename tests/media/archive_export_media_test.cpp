// MP4 export (archive/mp4_export.h) on real AAC/H.264 fragmented MP4 made by GStreamer's encoders: an
// audio-only rendition exports as audio; a remux that cannot finish (here: a plan that waits for a video
// track the file does not have, the hang of a default export before) ends at its deadline with a clear
// error and a count, and never blocks the other exports.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>

#include "server/archive/mp4_export.h"

using namespace sreda;
namespace fs = std::filesystem;

namespace {

class ArchiveExportMedia : public ::testing::Test {
 protected:
  void SetUp() override {
    gst_init(nullptr, nullptr);
    dir_ = fs::temp_directory_path() / ("sreda-export-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    audio_ = (dir_ / "audio.mp4").string();
    GError* err = nullptr;
    GstElement* p = gst_parse_launch(("audiotestsrc num-buffers=200 ! audioconvert ! voaacenc ! aacparse ! "
                                      "mp4mux fragment-duration=500 ! filesink location=" + audio_).c_str(),
                                     &err);
    ASSERT_EQ(err, nullptr) << err->message;
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(p);
    GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(msg, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
    gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
  }
  void TearDown() override { fs::remove_all(dir_); }

  archive::ExportJob job(const std::string& name, bool video, bool audio) {
    archive::ExportJob j;
    j.files = {audio_, "/dev/null"};  // the whole fragmented file, then nothing more
    j.out_path = (dir_ / name).string();
    j.video = video;
    j.audio = audio;
    j.media_s = 4.6;
    return j;
  }

  // Waits (generously) for a done callback.
  struct Result {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<std::string> error;
    void set(const std::string& e) {
      std::lock_guard lock(mutex);
      error = e;
      cv.notify_all();
    }
    bool wait(std::chrono::seconds s = std::chrono::seconds(60)) {
      std::unique_lock lock(mutex);
      return cv.wait_for(lock, s, [&] { return error.has_value(); });
    }
    bool done() {
      std::lock_guard lock(mutex);
      return error.has_value();
    }
  };

  fs::path dir_;
  std::string audio_;
};

TEST_F(ArchiveExportMedia, AnAudioOnlyRenditionExportsAsAudio) {
  const auto j = job("a.m4a", false, true);
  EXPECT_EQ(archive::remux_to_mp4(j, std::chrono::steady_clock::now() + std::chrono::seconds(60)), "");
  ASSERT_TRUE(fs::is_regular_file(j.out_path));
  EXPECT_GT(fs::file_size(j.out_path), 10000u);
}

TEST_F(ArchiveExportMedia, ARemuxThatCannotFinishEndsAtItsDeadline) {
  const auto j = job("stuck.mp4", true, true);  // waits for a video track the file does not have
  const std::string error = archive::remux_to_mp4(j, std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_NE(error.find("did not finish in time"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(j.out_path));
  EXPECT_FALSE(fs::exists(j.out_path + ".tmp"));
}

TEST_F(ArchiveExportMedia, AStuckExportNeitherHangsNorBlocksTheOthers) {
  {
    // One worker: the stuck job ends at its bound (1 s + 0 per hour), counted, and the next one runs.
    Result stuck, good;  // outlive the exporter, which may still call them when it stops
    archive::Mp4Exporter exporter({1, 8, 1, 0});
    exporter.export_mp4(job("stuck1.mp4", true, true), [&](const std::string& e) { stuck.set(e); });
    exporter.export_mp4(job("good1.m4a", false, true), [&](const std::string& e) { good.set(e); });
    ASSERT_TRUE(stuck.wait());
    EXPECT_NE(stuck.error->find("archive.export_timeout_s"), std::string::npos) << *stuck.error;
    ASSERT_TRUE(good.wait());
    EXPECT_EQ(*good.error, "");
    EXPECT_EQ(exporter.timeouts(), 1);
  }
  {
    // Two workers: a job waiting behind a stuck one finishes while the stuck one still runs; stopping the
    // exporter cancels the stuck one.
    Result stuck, good;
    archive::Mp4Exporter exporter({2, 8, 600, 0});
    exporter.export_mp4(job("stuck2.mp4", true, true), [&](const std::string& e) { stuck.set(e); });
    exporter.export_mp4(job("good2.m4a", false, true), [&](const std::string& e) { good.set(e); });
    ASSERT_TRUE(good.wait());
    EXPECT_EQ(*good.error, "");
    EXPECT_FALSE(stuck.done());
  }
}

TEST_F(ArchiveExportMedia, TheTimeBoundGrowsWithTheMedia) {
  archive::Mp4Exporter exporter({1, 8, 60, 360});
  EXPECT_EQ(exporter.time_bound(0).count(), 60000);
  EXPECT_EQ(exporter.time_bound(3600).count(), 420000);
  EXPECT_EQ(exporter.time_bound(3 * 3600).count(), 1140000);
}

}  // namespace
