// The store thread: owns the one SQLite connection; runs jobs from two bounded queues ("lanes"), each in
// order. Lane::main (logins, publish decisions, comment and rating writes, curators' requests, the
// server's own writes) goes first; Lane::public_reads (anonymous listings and pages: anyone can send
// thousands) has its own smaller queue and gets one job in every kMainBurst+1 while main has work, so a
// flood of public reads fills only its own lane (refused there: 503) and never delays main's jobs by more
// than one public job each.
// post() may be called from any thread; jobs run on the store thread only. stop() drains every
// job already accepted (nothing accepted is lost on a graceful stop), then closes the database.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "server/store/db.h"

namespace sreda::store {

struct StoreStats {
  std::atomic<int64_t> queue_depth{0};
  std::atomic<int64_t> jobs_done{0};
  std::atomic<int64_t> jobs_refused{0};  // queue full (either lane)
  std::atomic<int64_t> public_refused{0};  // of which: the public-reads lane was full
  std::atomic<int64_t> job_failures{0};  // a job threw
  std::atomic<int64_t> job_us_total{0};  // time spent running jobs (incl. commits)
  std::atomic<int64_t> job_us_max{0};
};

class Store {
 public:
  using Job = std::function<void(Db&)>;
  enum class Lane { main, public_reads };
  static constexpr int kMainBurst = 8;

  Store(Db db, size_t queue_max, size_t public_queue_max = 500);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void start();
  void stop();

  // Queues a job. Overflow policy: refuse (returns false) — the caller answers 503 — so memory stays
  // bounded under a burst. A job that throws is logged and counted; the store keeps running.
  bool post(Job job, Lane lane = Lane::main);

  const StoreStats& stats() const { return stats_; }

 private:
  void run();

  Db db_;
  size_t queue_max_;
  size_t public_queue_max_;
  int main_in_a_row_ = 0;  // store thread
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;         // Lane::main
  std::deque<Job> public_queue_;  // Lane::public_reads
  bool stopping_ = false;
  std::thread thread_;
  StoreStats stats_;
};

}  // namespace sreda::store
