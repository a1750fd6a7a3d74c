// Recorder / RecordingWriter with synthetic CMAF bytes: files and playlists, fsync schedule, disk
// errors (injected through the Disk seam, since tests run as root), the writer thread's queue.
// Long because every case shares one fixture (synthetic CMAF bytes, a temp folder, an injected clock) and the
// recovery and resume cases build on the writing ones; the playlist and scan helpers at the end use its bytes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "server/archive/archive.h"
#include "server/archive/event_playlist.h"
#include "server/archive/fragment_scan.h"
#include "server/archive/recorder.h"
#include "server/archive/recovery.h"
#include "server/package/box_writer.h"

namespace sreda::archive {
namespace {

namespace fs = std::filesystem;
using package::Bytes;
using package::BytesPtr;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
Bytes read_bytes(const fs::path& p) {
  const std::string s = read_text(p);
  return Bytes(s.begin(), s.end());
}

Bytes init_bytes() {
  package::InitSegmentInput input;
  input.video = package::VideoConfig{
      {0x01, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x4d, 0x01, 0x00, 0x02, 0x68, 0xee}, 640, 360, 25, 1};
  input.audio = package::AudioConfig{{0x11, 0x90}, 48000, 2};
  return *package::write_init_segment(input);
}

// One part: 10 video frames of 40 ms (0.4 s) starting at `frame`, plus audio.
Bytes part_bytes(int64_t frame, uint32_t seq) {
  static const Bytes vdata(300, 0x11), adata(50, 0x22);
  package::FragmentTrack v{package::kVideoTrackId, static_cast<uint64_t>(frame * 3600), true, {}};
  for (int i = 0; i < 10; ++i) v.samples.push_back({3600, 0, i == 0 && frame % 50 == 0, &vdata});
  package::FragmentTrack a{package::kAudioTrackId, static_cast<uint64_t>(frame * 1920), false, {}};
  for (int i = 0; i < 18; ++i) a.samples.push_back({1024, 0, true, &adata});
  return package::write_fragment(seq, {v, a});
}

BytesPtr ptr(Bytes b) { return std::make_shared<const Bytes>(std::move(b)); }

// Feeds segments of 5 parts (2.0 s) like the packager would: on_part per part, then on_segment.
struct Feeder {
  explicit Feeder(package::PackagerSink* s = nullptr, std::string r = "source") : sink(s), rendition(std::move(r)) {}
  package::PackagerSink* sink = nullptr;
  std::string rendition;
  int64_t frame = 0;
  uint32_t seq = 1;
  int64_t msn = 0;
  int64_t pdt_ms = 1'795'000'000'000;
  std::vector<BytesPtr> parts;  // of the segment in progress

  void part() {
    Bytes p = part_bytes(frame, seq++);
    frame += 10;
    BytesPtr shared = ptr(std::move(p));
    sink->on_part(rendition, msn, static_cast<int>(parts.size()), shared);
    parts.push_back(std::move(shared));
  }
  Bytes segment(bool discontinuity = false) {
    while (parts.size() < 5) part();
    Bytes all = package::concat(parts);
    package::SegmentInfo info;
    info.msn = msn++;
    info.duration_s = 0.4 * static_cast<double>(parts.size());
    info.pdt_ms = pdt_ms;
    info.discontinuity = discontinuity;
    info.complete = true;
    info.bytes = static_cast<int64_t>(all.size());
    pdt_ms += 2000;
    sink->on_segment(rendition, info, parts);
    parts.clear();
    return all;
  }
};

// A Disk that fails on demand and counts fsyncs.
class FaultyDisk : public PosixDisk {
 public:
  int64_t write_budget = -1;  // bytes writable before ENOSPC (-1: unlimited)
  bool deny_open = false;     // EACCES
  int syncs = 0;
  std::error_code open_for_write(const std::string& path, bool append, UniqueFd& out) override {
    if (deny_open) return {EACCES, std::generic_category()};
    return PosixDisk::open_for_write(path, append, out);
  }
  std::error_code write_all(int fd, std::span<const uint8_t> bytes) override {
    if (write_budget >= 0) {
      if (static_cast<int64_t>(bytes.size()) > write_budget) return {ENOSPC, std::generic_category()};
      write_budget -= static_cast<int64_t>(bytes.size());
    }
    return PosixDisk::write_all(fd, bytes);
  }
  std::error_code sync(int fd) override {
    ++syncs;
    return PosixDisk::sync(fd);
  }
};

class ArchiveRecorder : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sreda-archive-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(root_);
  }
  RecorderOptions options(Disk* disk = nullptr) {
    RecorderOptions o;
    o.root = root_.string();
    o.event_id = "ev-1";
    o.disk = disk;
    o.steady_ms = [this] { return now_ms_; };
    return o;
  }
  // A run that recorded two segments of `source` and stopped without on_end (a stop or crash: the playlist
  // stays open), repaired as the next start does.
  void earlier_run_of_two_segments();
  fs::path root_;
  int64_t now_ms_ = 0;
};

TEST_F(ArchiveRecorder, WritesSegmentsPlaylistsAndMaster) {
  Recorder recorder(options());
  recorder.start();
  Feeder f{&recorder};
  const Bytes init = init_bytes();
  recorder.on_init("source", 0, ptr(init));
  const Bytes seg0 = f.segment();
  f.part();
  f.part();
  recorder.drain();
  const fs::path dir = root_ / "ev-1" / "source";
  EXPECT_EQ(read_bytes(dir / "init.mp4"), init);
  EXPECT_EQ(read_bytes(dir / "seg0.m4s"), seg0);
  EXPECT_TRUE(fs::exists(dir / "seg1.m4s.partial"));
  EXPECT_EQ(fs::file_size(dir / "seg1.m4s.partial"), f.parts[0]->size() + f.parts[1]->size());
  std::string playlist = read_text(dir / "index.m3u8");
  EXPECT_NE(playlist.find("#EXT-X-PLAYLIST-TYPE:EVENT\n"), std::string::npos) << playlist;
  EXPECT_EQ(playlist.find("#EXT-X-ENDLIST"), std::string::npos);
  EXPECT_EQ(playlist.find("PART"), std::string::npos);
  EXPECT_NE(playlist.find("#EXT-X-MAP:URI=\"init.mp4\"\n"), std::string::npos);
  EXPECT_NE(playlist.find("#EXT-X-PROGRAM-DATE-TIME:2026-11-18T"), std::string::npos) << playlist;
  EXPECT_NE(playlist.find("#EXTINF:2.00000,\nseg0.m4s\n"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ / "ev-1" / "master.m3u8"));

  const Bytes seg1 = f.segment();
  f.segment(/*discontinuity=*/true);
  recorder.on_end("source");
  recorder.drain();
  EXPECT_EQ(read_bytes(dir / "seg1.m4s"), seg1);
  EXPECT_FALSE(fs::exists(dir / "seg1.m4s.partial"));
  playlist = read_text(dir / "index.m3u8");
  EXPECT_NE(playlist.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos) << playlist;
  EXPECT_NE(playlist.find("#EXT-X-DISCONTINUITY\n"), std::string::npos) << playlist;
  EXPECT_NE(playlist.find("#EXT-X-ENDLIST\n"), std::string::npos) << playlist;
  const auto parsed = parse_event_playlist(playlist);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->segments.size(), 3u);
  EXPECT_EQ(parsed->segments[1].pdt_ms, 1'795'000'002'000);
  EXPECT_TRUE(parsed->segments[2].discontinuity);
  const std::string master = read_text(root_ / "ev-1" / "master.m3u8");
  EXPECT_NE(master.find("\nsource/index.m3u8\n"), std::string::npos) << master;
  EXPECT_NE(master.find("BANDWIDTH="), std::string::npos) << master;

  const RecordingStats s = recorder.stats();
  EXPECT_EQ(s.state, RecordingState::ended);
  EXPECT_EQ(s.segments, 3);
  EXPECT_NEAR(s.duration_s, 6.0, 1e-9);
  EXPECT_EQ(s.bytes, static_cast<int64_t>(init.size() + 3 * seg0.size()));
  EXPECT_GE(s.bytes_written, s.bytes);
  EXPECT_EQ(s.last_error, "");
  ASSERT_EQ(s.renditions.size(), 1u);
  EXPECT_TRUE(s.renditions[0].ended);
  recorder.stop();
  recorder.stop();  // idempotent
}

TEST_F(ArchiveRecorder, TwoRenditionsFromTwoThreadsInOneMaster) {
  Recorder recorder(options());
  recorder.start();
  auto run = [&](std::string name) {
    Feeder f{&recorder, name};
    recorder.on_init(name, 0, ptr(init_bytes()));
    for (int i = 0; i < 4; ++i) f.segment();
    recorder.on_end(name);
  };
  std::thread a(run, "720p"), b(run, "360p");
  a.join();
  b.join();
  recorder.stop();
  const std::string master = read_text(root_ / "ev-1" / "master.m3u8");
  EXPECT_NE(master.find("\n720p/index.m3u8\n"), std::string::npos) << master;
  EXPECT_NE(master.find("\n360p/index.m3u8\n"), std::string::npos) << master;
  EXPECT_EQ(recorder.stats().segments, 8);
  EXPECT_EQ(recorder.stats().state, RecordingState::ended);
}

// A rung stopped mid-event (overload) keeps its files but leaves the master playlist: a player that picked it
// would see the recording end there.
TEST_F(ArchiveRecorder, ARenditionThatStoppedEarlyIsNotOfferedInTheMaster) {
  Recorder recorder(options());
  recorder.start();
  Feeder whole{&recorder, "source"}, stopped{&recorder, "720p"};
  recorder.on_init("source", 0, ptr(init_bytes()));
  recorder.on_init("720p", 0, ptr(init_bytes()));
  for (int i = 0; i < 8; ++i) {  // 16 s of source; the 720p rung stops after 4 s
    whole.segment();
    if (i < 2) stopped.segment();
  }
  recorder.on_end("720p");
  recorder.on_end("source");
  recorder.stop();
  const std::string master = read_text(root_ / "ev-1" / "master.m3u8");
  EXPECT_NE(master.find("\nsource/index.m3u8\n"), std::string::npos) << master;
  EXPECT_EQ(master.find("720p/index.m3u8"), std::string::npos) << master;
  EXPECT_TRUE(fs::exists(root_ / "ev-1" / "720p" / "index.m3u8"));
}

TEST_F(ArchiveRecorder, FsyncWhenOldestUnsyncedByteIsOlderThanMaxLoss) {
  FaultyDisk disk;
  RecorderOptions o = options(&disk);
  o.max_loss_ms = 1000;
  RecordingWriter writer(o);
  writer.on_init("source", 0, init_bytes());
  const int after_init = disk.syncs;
  // Parts every 400 ms: unsynced since t=0 → the part at 1200 ms is the first one 1 s past it.
  for (int i = 0; i < 4; ++i) {
    now_ms_ = i * 400;
    writer.on_part("source", 0, i, part_bytes(i * 10, i + 1));
  }
  EXPECT_EQ(disk.syncs - after_init, 1);
  EXPECT_EQ(writer.stats().syncs, 1);
  now_ms_ = 1600;  // unsynced since 1600 again
  writer.on_part("source", 0, 4, part_bytes(40, 5));
  EXPECT_EQ(writer.stats().syncs, 1);

  o.max_loss_ms = 0;  // every part
  o.event_id = "ev-2";
  RecordingWriter eager(o);
  for (int i = 0; i < 3; ++i) eager.on_part("source", 0, i, part_bytes(i * 10, i + 1));
  EXPECT_EQ(eager.stats().syncs, 3);
}

TEST_F(ArchiveRecorder, DiskFullStopsRecordingAndKeepsCompleteSegmentsPlayable) {
  FaultyDisk disk;
  RecordingWriter writer(options(&disk));
  Feeder f;
  struct Forward : package::PackagerSink {
    RecordingWriter* w;
    void on_init(std::string_view r, int id, const BytesPtr& b) override { w->on_init(r, id, *b); }
    void on_part(std::string_view r, int64_t m, int i, const BytesPtr& b) override { w->on_part(r, m, i, *b); }
    void on_segment(std::string_view r, const package::SegmentInfo& s, const package::SegmentParts& b) override {
      w->on_segment(r, s, b);
    }
    void on_end(std::string_view r) override { w->on_end(r); }
  } forward;
  forward.w = &writer;
  f.sink = &forward;
  forward.on_init("source", 0, ptr(init_bytes()));
  f.segment();
  f.segment();
  f.part();
  disk.write_budget = 100;  // the next part does not fit
  f.part();
  RecordingStats s = writer.stats();
  EXPECT_EQ(s.state, RecordingState::failed);
  EXPECT_NE(s.last_error.find("seg2.m4s.partial"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("No space left on device"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.segments, 2);
  // Later calls are ignored, nothing throws.
  disk.write_budget = -1;
  f.segment();
  forward.on_end("source");
  EXPECT_EQ(writer.stats().segments, 2);
  EXPECT_EQ(writer.stats().state, RecordingState::failed);
  const fs::path dir = root_ / "ev-1" / "source";
  EXPECT_FALSE(fs::exists(dir / "seg2.m4s.partial"));
  const auto playlist = parse_event_playlist(read_text(dir / "index.m3u8"));
  ASSERT_TRUE(playlist);
  EXPECT_EQ(playlist->segments.size(), 2u);
  EXPECT_FALSE(playlist->ended);  // closing it hit the full disk too; recover() closes it later
  EXPECT_TRUE(fs::exists(root_ / "ev-1" / "master.m3u8"));
  const auto reports = recover(root_.string());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].error, "");
  const auto closed = parse_event_playlist(read_text(dir / "index.m3u8"));
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->segments.size(), 2u);
  EXPECT_TRUE(closed->ended);
}

TEST_F(ArchiveRecorder, UnwritableFolderFailsWithClearError) {
  FaultyDisk disk;
  disk.deny_open = true;
  Recorder recorder(options(&disk));
  recorder.start();
  recorder.on_init("source", 0, ptr(init_bytes()));
  Feeder f{&recorder};
  f.segment();
  recorder.drain();
  const RecordingStats s = recorder.stats();
  EXPECT_EQ(s.state, RecordingState::failed);
  EXPECT_NE(s.last_error.find("Permission denied"), std::string::npos) << s.last_error;
  EXPECT_NE(s.last_error.find("init.mp4"), std::string::npos) << s.last_error;
}

TEST_F(ArchiveRecorder, QueueOverflowFailsTheRecordingNotTheStream) {
  RecorderOptions o = options();
  o.max_queue_bytes = 10'000;  // a few parts; nothing drains before start()
  Recorder recorder(o);
  Feeder f{&recorder};
  recorder.on_init("source", 0, ptr(init_bytes()));
  for (int i = 0; i < 5; ++i) f.segment();  // returns at once, never blocks
  recorder.start();
  recorder.drain();
  EXPECT_EQ(recorder.stats().state, RecordingState::failed);
  EXPECT_NE(recorder.stats().last_error.find("queue full"), std::string::npos);
}

TEST_F(ArchiveRecorder, RejectsEventIdThatIsNotAFolderName) {
  RecorderOptions o = options();
  o.event_id = "../etc";
  Recorder recorder(o);
  recorder.start();
  recorder.on_init("source", 0, ptr(init_bytes()));
  recorder.drain();
  EXPECT_EQ(recorder.stats().state, RecordingState::failed);
  EXPECT_FALSE(fs::exists(root_.parent_path() / "etc" / "source"));
}

TEST_F(ArchiveRecorder, CrashMidSegmentThenRecoverKeepsCompleteFragments) {
  Recorder recorder(options());
  recorder.start();
  Feeder f{&recorder};
  recorder.on_init("source", 0, ptr(init_bytes()));
  f.segment();
  f.segment();
  f.part();
  f.part();
  f.part();
  recorder.stop();  // "kill -9": no on_end
  const fs::path dir = root_ / "ev-1" / "source";
  Bytes kept;
  for (const auto& p : f.parts) kept.insert(kept.end(), p->begin(), p->end());
  {  // a torn fourth part: the crash hit in the middle of a write
    const Bytes torn = part_bytes(f.frame, 99);
    std::ofstream out(dir / "seg2.m4s.partial", std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(torn.data()), static_cast<std::streamsize>(torn.size() / 3));
  }
  std::ofstream(dir / "index.m3u8.tmp") << "#EXTM3U\n#EXT-X-VERS";  // a torn playlist rewrite

  const auto reports = recover(root_.string());
  ASSERT_EQ(reports.size(), 1u);
  const RecoveryReport& r = reports[0];
  EXPECT_EQ(r.event_id, "ev-1");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.renditions, std::vector<std::string>{"source"});
  EXPECT_NEAR(r.duration_s, 5.2, 1e-6);
  EXPECT_EQ(r.bytes, static_cast<int64_t>(fs::file_size(dir / "init.mp4") + fs::file_size(dir / "seg0.m4s") +
                                          fs::file_size(dir / "seg1.m4s") + kept.size()));
  std::string repairs;
  for (const auto& line : r.repairs) repairs += line + "\n";
  EXPECT_NE(repairs.find("kept 3 complete fragment(s) of seg2.m4s.partial"), std::string::npos) << repairs;
  EXPECT_NE(repairs.find("removed torn index.m3u8.tmp"), std::string::npos) << repairs;
  EXPECT_NE(repairs.find("closed playlist"), std::string::npos) << repairs;

  EXPECT_EQ(read_bytes(dir / "seg2.m4s"), kept);
  EXPECT_FALSE(fs::exists(dir / "seg2.m4s.partial"));
  EXPECT_FALSE(fs::exists(dir / "index.m3u8.tmp"));
  const std::string text = read_text(dir / "index.m3u8");
  EXPECT_NE(text.find("#EXT-X-PLAYLIST-TYPE:VOD\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-ENDLIST\n"), std::string::npos) << text;
  const auto playlist = parse_event_playlist(text);
  ASSERT_TRUE(playlist);
  ASSERT_EQ(playlist->segments.size(), 3u);
  EXPECT_EQ(playlist->segments[2].msn, 2);
  EXPECT_NEAR(playlist->segments[2].duration_s, 1.2, 1e-6);
  EXPECT_EQ(playlist->segments[2].pdt_ms, playlist->segments[1].pdt_ms + 2000);
  EXPECT_FALSE(playlist->segments[2].discontinuity);
  EXPECT_NE(read_text(root_ / "ev-1" / "master.m3u8").find("source/index.m3u8"), std::string::npos);

  EXPECT_TRUE(recover(root_.string()).empty());  // nothing left to repair
}

TEST_F(ArchiveRecorder, RecoverListsRenamedSegmentAndDropsTornFirstPart) {
  {
    Recorder recorder(options());
    recorder.start();
    Feeder f{&recorder};
    recorder.on_init("source", 0, ptr(init_bytes()));
    f.segment();
    f.segment();
    recorder.stop();
  }
  const fs::path dir = root_ / "ev-1" / "source";
  // The crash hit after seg1 was renamed, before the playlist listing it was written.
  auto playlist = *parse_event_playlist(read_text(dir / "index.m3u8"));
  playlist.segments.pop_back();
  std::ofstream(dir / "index.m3u8") << write_event_playlist(playlist);
  // A second rendition that crashed inside its first part: only torn bytes.
  const fs::path audio = root_ / "ev-1" / "audio";
  fs::create_directories(audio);
  const Bytes init = init_bytes();
  std::ofstream(audio / "init.mp4", std::ios::binary).write(reinterpret_cast<const char*>(init.data()), init.size());
  const Bytes torn = part_bytes(0, 1);
  std::ofstream(audio / "seg0.m4s.partial", std::ios::binary).write(reinterpret_cast<const char*>(torn.data()), 100);

  const auto reports = recover(root_.string());
  ASSERT_EQ(reports.size(), 1u);
  std::string repairs;
  for (const auto& line : reports[0].repairs) repairs += line + "\n";
  EXPECT_NE(repairs.find("source: listed seg1.m4s"), std::string::npos) << repairs;
  EXPECT_NE(repairs.find("audio: removed seg0.m4s.partial (no complete fragment"), std::string::npos) << repairs;
  EXPECT_EQ(reports[0].renditions, std::vector<std::string>{"source"});
  EXPECT_NEAR(reports[0].duration_s, 4.0, 1e-6);
  const auto closed = *parse_event_playlist(read_text(dir / "index.m3u8"));
  EXPECT_TRUE(closed.ended);
  ASSERT_EQ(closed.segments.size(), 2u);
  EXPECT_EQ(closed.segments[1].pdt_ms, closed.segments[0].pdt_ms + 2000);
  EXPECT_FALSE(fs::exists(audio / "seg0.m4s.partial"));
  EXPECT_TRUE(parse_event_playlist(read_text(audio / "index.m3u8"))->ended);
}

// A RecordingWriter driven synchronously through the sink interface.
struct DirectSink : package::PackagerSink {
  RecordingWriter& w;
  explicit DirectSink(RecordingWriter& writer) : w(writer) {}
  void on_init(std::string_view r, int id, const BytesPtr& b) override { w.on_init(r, id, *b); }
  void on_part(std::string_view r, int64_t m, int i, const BytesPtr& b) override { w.on_part(r, m, i, *b); }
  void on_segment(std::string_view r, const package::SegmentInfo& in, const package::SegmentParts& b) override {
    w.on_segment(r, in, b);
  }
  void on_end(std::string_view r) override { w.on_end(r); }
};

void ArchiveRecorder::earlier_run_of_two_segments() {
  {
    RecordingWriter first(options());
    Feeder f;
    DirectSink sink(first);
    f.sink = &sink;
    sink.on_init("source", 0, ptr(init_bytes()));
    f.segment();
    f.segment();
  }
  ASSERT_EQ(recover(root_.string()).size(), 1u);
}

TEST_F(ArchiveRecorder, ResumedAfterRestartContinuesNumberingWithDiscontinuity) {
  ASSERT_NO_FATAL_FAILURE(earlier_run_of_two_segments());
  RecordingWriter second(options());             // the studio comes back: a new packager numbers from 0
  Feeder g;
  DirectSink sink(second);
  g.sink = &sink;
  sink.on_init("source", 0, ptr(init_bytes()));
  g.segment();
  sink.on_end("source");
  const fs::path dir = root_ / "ev-1" / "source";
  EXPECT_TRUE(fs::exists(dir / "seg0.m4s"));
  EXPECT_TRUE(fs::exists(dir / "seg1.m4s"));
  EXPECT_TRUE(fs::exists(dir / "seg2.m4s"));
  EXPECT_TRUE(fs::exists(dir / "init.mp4"));
  EXPECT_TRUE(fs::exists(dir / "init1.mp4"));  // the old segments keep their init
  auto pl = parse_event_playlist(read_text(dir / "index.m3u8"));
  ASSERT_TRUE(pl);
  ASSERT_EQ(pl->segments.size(), 3u);
  EXPECT_EQ(pl->segments[2].msn, 2);
  EXPECT_EQ(pl->segments[2].init_id, 1);
  EXPECT_TRUE(pl->segments[2].discontinuity);
  EXPECT_FALSE(pl->segments[1].discontinuity);
  EXPECT_TRUE(pl->ended);
  EXPECT_EQ(second.stats().segments, 3);
  EXPECT_NE(read_text(root_ / "ev-1" / "master.m3u8").find("CODECS=\"avc1.4d401e,mp4a.40.2\""), std::string::npos);
  auto summary = describe_recording((root_ / "ev-1").string());
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->closed);
  EXPECT_NEAR(summary->duration_s, 6.0, 1e-6);
}

TEST_F(ArchiveRecorder, AResumedPackagerThatNumbersOnKeepsItsNumbers) {
  // The live playlists number on after a restart (package::ResumePoint from Archive::resume_point): the
  // recording takes the packager's numbers as they are, so live and recorded segments share them.
  ASSERT_NO_FATAL_FAILURE(earlier_run_of_two_segments());
  RecordingWriter second(options());
  Feeder g;
  g.msn = 2;  // the resumed packager's first number
  DirectSink sink(second);
  g.sink = &sink;
  sink.on_init("source", 0, ptr(init_bytes()));
  g.segment(true);
  g.segment();
  sink.on_end("source");
  auto pl = parse_event_playlist(read_text(root_ / "ev-1" / "source" / "index.m3u8"));
  ASSERT_TRUE(pl);
  ASSERT_EQ(pl->segments.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pl->segments[i].msn, i);
  EXPECT_TRUE(pl->segments[2].discontinuity);
  EXPECT_FALSE(pl->segments[3].discontinuity);
}

TEST(ArchiveTrim, KeepsTheSegmentsOverlappingTheWindow) {
  EventPlaylist pl;
  for (int i = 0; i < 5; ++i) pl.segments.push_back({i, 2.0, 0, false, 0, 0});
  pl.ended = true;
  EXPECT_EQ(trimmed(pl, {}).segments.size(), 5u);
  auto t = trimmed(pl, {3000, std::nullopt});  // 3 s is in the second segment [2, 4)
  ASSERT_EQ(t.segments.size(), 4u);
  EXPECT_EQ(t.segments.front().msn, 1);
  EXPECT_TRUE(t.ended);
  t = trimmed(pl, {4000, 5999});  // exactly at a boundary: the segment starting there, up to [4, 6)
  ASSERT_EQ(t.segments.size(), 1u);
  EXPECT_EQ(t.segments.front().msn, 2);
  EXPECT_TRUE(trimmed(pl, {20000, std::nullopt}).segments.empty());
}

TEST(ArchiveFragmentScan, CodecsOfInit) {
  EXPECT_EQ(codecs_of_init(init_bytes()), "avc1.4d401e,mp4a.40.2");
  EXPECT_EQ(codecs_of_init(Bytes{1, 2, 3}), "");
  Bytes torn = init_bytes();
  torn.resize(torn.size() / 2);
  (void)codecs_of_init(torn);  // bounds-checked: no crash
}

TEST(ArchiveFragmentScan, MediaOfInit) {
  const InitMedia both = media_of_init(init_bytes());
  EXPECT_TRUE(both.video);
  EXPECT_TRUE(both.audio);
  package::InitSegmentInput audio_only;
  audio_only.audio = package::AudioConfig{{0x11, 0x90}, 48000, 2};
  const InitMedia audio = media_of_init(*package::write_init_segment(audio_only));
  EXPECT_FALSE(audio.video);
  EXPECT_TRUE(audio.audio);
  package::InitSegmentInput video_only;
  video_only.video = package::VideoConfig{
      {0x01, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0x00, 0x02, 0x67, 0x4d, 0x01, 0x00, 0x02, 0x68, 0xee}, 640, 360, 25, 1};
  const InitMedia video = media_of_init(*package::write_init_segment(video_only));
  EXPECT_TRUE(video.video);
  EXPECT_FALSE(video.audio);
  const InitMedia none = media_of_init(Bytes{1, 2, 3});
  EXPECT_FALSE(none.video || none.audio);
}

TEST(ArchiveEventPlaylist, RoundTrip) {
  EventPlaylist p;
  p.segments.push_back({4, 2.0, 1'795'000'000'123, false, 0, 0});
  p.segments.push_back({5, 1.96, 1'795'000'002'123, true, 1, 0});
  const std::string text = write_event_playlist(p);
  EXPECT_NE(text.find("#EXT-X-MEDIA-SEQUENCE:4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-MAP:URI=\"init1.mp4\"\n"), std::string::npos) << text;
  const auto back = parse_event_playlist(text);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->segments.size(), 2u);
  EXPECT_FALSE(back->ended);
  EXPECT_EQ(back->segments[0].pdt_ms, 1'795'000'000'123);
  EXPECT_EQ(back->segments[1].msn, 5);
  EXPECT_EQ(back->segments[1].init_id, 1);
  EXPECT_TRUE(back->segments[1].discontinuity);
  EXPECT_NEAR(back->segments[1].duration_s, 1.96, 1e-9);
  EXPECT_FALSE(parse_event_playlist("not a playlist"));
}

TEST(ArchiveFragmentScan, CountsCompletePairsAndStopsAtTornBytes) {
  const auto tracks = parse_init_tracks(init_bytes());
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].track_id, 1u);
  EXPECT_EQ(tracks[0].timescale, 90000u);
  EXPECT_EQ(tracks[1].timescale, 48000u);
  Bytes file;
  for (int i = 0; i < 3; ++i) {
    const Bytes p = part_bytes(50 + i * 10, i + 1);
    file.insert(file.end(), p.begin(), p.end());
  }
  const int64_t complete = static_cast<int64_t>(file.size());
  const Bytes torn = part_bytes(80, 4);
  file.insert(file.end(), torn.begin(), torn.begin() + static_cast<long>(torn.size() / 2));
  const FragmentScan scan = scan_fragments(file, tracks);
  EXPECT_EQ(scan.fragments, 3);
  EXPECT_EQ(scan.complete_bytes, complete);
  EXPECT_EQ(scan.first_decode_time, 50u * 3600);
  EXPECT_NEAR(scan.duration_s, 1.2, 1e-9);
  // Every cut point is handled.
  for (size_t cut = 0; cut < file.size(); cut += 7) {
    const auto s = scan_fragments(std::span<const uint8_t>(file.data(), cut), tracks);
    EXPECT_LE(s.complete_bytes, static_cast<int64_t>(cut));
  }
  EXPECT_EQ(scan_fragments(Bytes{0, 0, 0, 1, 'm', 'o', 'o', 'f'}, tracks).fragments, 0);
}

}  // namespace
}  // namespace sreda::archive
