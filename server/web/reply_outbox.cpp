#include "server/web/reply_outbox.h"

namespace sreda::web {

void ReplyOutbox::open() {
  std::lock_guard lock(mutex_);
  open_ = true;
}

void ReplyOutbox::close() {
  std::vector<Entry> replies;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    open_ = false;
    // No thread is the owner any more: a Reply called later (even from a new thread that got the old one's id)
    // is queued and dropped, never delivered inline into a stopped transport.
    owner_.store(std::thread::id{});
    replies.swap(replies_);
    tasks.swap(tasks_);
  }
  // Destroyed outside the lock: a task may own a Reply of this outbox.
}

bool ReplyOutbox::on_owner_thread() const { return std::this_thread::get_id() == owner_.load(); }

Reply ReplyOutbox::reply(uint64_t conn, uint64_t request) {
  return [this, conn, request](HttpResponse response) {
    // Answered on the owner's thread (a part that exists, a static file): no round trip through the queue.
    if (on_owner_thread()) return deliver_(conn, request, std::move(response));
    post(Entry{conn, request, std::move(response)});
  };
}

void ReplyOutbox::post(Entry entry) {
  std::lock_guard lock(mutex_);
  if (!open_) return;
  const bool wake = replies_.empty() && tasks_.empty();  // one wake-up per batch: drain() takes everything queued
  replies_.push_back(std::move(entry));
  if (wake) wake_();
}

void ReplyOutbox::post_task(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (!open_) return;
  const bool wake = replies_.empty() && tasks_.empty();
  tasks_.push_back(std::move(task));
  if (wake) wake_();
}

void ReplyOutbox::drain() {
  std::vector<Entry> replies;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    replies.swap(replies_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
  for (auto& e : replies) deliver_(e.conn, e.request, std::move(e.response));
}

}  // namespace sreda::web
