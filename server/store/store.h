// The store thread: owns the one SQLite connection; runs jobs from a bounded queue in order.
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
  std::atomic<int64_t> jobs_refused{0};  // queue full
  std::atomic<int64_t> job_failures{0};  // a job threw
  std::atomic<int64_t> job_us_total{0};  // time spent running jobs (incl. commits)
  std::atomic<int64_t> job_us_max{0};
};

class Store {
 public:
  using Job = std::function<void(Db&)>;

  Store(Db db, size_t queue_max);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void start();
  void stop();

  // Queues a job. Overflow policy: refuse (returns false) — the caller answers 503 — so memory stays
  // bounded under a burst. A job that throws is logged and counted; the store keeps running.
  bool post(Job job);

  const StoreStats& stats() const { return stats_; }

 private:
  void run();

  Db db_;
  size_t queue_max_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
  StoreStats stats_;
};

}  // namespace sreda::store
