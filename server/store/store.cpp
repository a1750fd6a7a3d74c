#include "server/store/store.h"

#include <pthread.h>

#include <chrono>

#include "server/core/log.h"

namespace sreda::store {

Store::Store(Db db, size_t queue_max) : db_(std::move(db)), queue_max_(queue_max) {}

Store::~Store() { stop(); }

void Store::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "sreda-store");
    run();
  });
}

void Store::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Store::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_max_) {
      stats_.jobs_refused++;
      return false;
    }
    queue_.push_back(std::move(job));
    stats_.queue_depth = static_cast<int64_t>(queue_.size());
  }
  cv_.notify_one();
  return true;
}

void Store::run() {
  core::Logger log("store");
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      stats_.queue_depth = static_cast<int64_t>(queue_.size());
    }
    auto t0 = std::chrono::steady_clock::now();
    try {
      job(db_);
    } catch (const std::exception& e) {
      stats_.job_failures++;
      log.error(std::string("job failed: ") + e.what());
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    stats_.jobs_done++;
    stats_.job_us_total += us;
    if (us > stats_.job_us_max) stats_.job_us_max = us;
  }
  (void)db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db_ = Db();
  log.info("closed: stopped, every accepted job written");
}

}  // namespace sreda::store
