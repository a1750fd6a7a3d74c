#include "server/store/store.h"

#include <pthread.h>

#include <chrono>

#include "server/core/log.h"

namespace sreda::store {

Store::Store(Db db, size_t queue_max, size_t public_queue_max)
    : db_(std::move(db)), queue_max_(queue_max), public_queue_max_(public_queue_max) {}

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

bool Store::post(Job job, Lane lane) {
  {
    std::lock_guard lock(mutex_);
    auto& q = lane == Lane::main ? queue_ : public_queue_;
    if (stopping_ || q.size() >= (lane == Lane::main ? queue_max_ : public_queue_max_)) {
      stats_.jobs_refused++;
      if (lane == Lane::public_reads) stats_.public_refused++;
      return false;
    }
    q.push_back(std::move(job));
    stats_.queue_depth = static_cast<int64_t>(queue_.size() + public_queue_.size());
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
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !public_queue_.empty(); });
      if (queue_.empty() && public_queue_.empty()) break;  // stopping and drained
      const bool take_public = !public_queue_.empty() && (queue_.empty() || main_in_a_row_ >= kMainBurst);
      auto& q = take_public ? public_queue_ : queue_;
      main_in_a_row_ = take_public ? 0 : main_in_a_row_ + 1;
      job = std::move(q.front());
      q.pop_front();
      stats_.queue_depth = static_cast<int64_t>(queue_.size() + public_queue_.size());
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
