// How replies cross threads to the transport that writes them, the same way for both transports (the live
// front and libwebsockets): a handler's Reply (http.h) called on the transport's own thread delivers at once;
// from any other thread (the store, the control thread, a packager's) it is queued here, and the first entry
// of a batch wakes the transport (`wake`: an asio::post, or lws_cancel_service), whose thread drains the
// whole batch. A reply names its connection and request: one whose connection closed, or that answers an
// older request than the connection's current one, is dropped by `deliver`. Tasks (run_on_owner) go the same
// way. Bounded by the requests in flight (one reply each; at most one wake-up queued per batch). Threads:
// open()/close() from the transport's start()/stop(); set_owner_thread()/drain() on its thread; reply()'s
// Reply and post_task() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "server/web/http.h"

namespace sreda::web {

class ReplyOutbox {
 public:
  // Owner's thread: writes `response` to connection `conn` if it is still waiting for request `request`.
  using Deliver = std::function<void(uint64_t conn, uint64_t request, HttpResponse response)>;
  using Wake = std::function<void()>;

  ReplyOutbox(Deliver deliver, Wake wake) : deliver_(std::move(deliver)), wake_(std::move(wake)) {}

  // Replies and tasks are queued from now on (before the owner's loop runs: they wait for it).
  void open();
  // On the owner's thread, before its loop runs: replies made there are delivered at once.
  void set_owner_thread() { owner_ = std::this_thread::get_id(); }
  // Drops what is queued and everything posted later.
  void close();
  bool on_owner_thread() const;

  // The Reply handed to a handler for request `request` on connection `conn`.
  Reply reply(uint64_t conn, uint64_t request);
  // Runs `task` on the owner's thread (queued even when called there: never inline).
  void post_task(std::function<void()> task);
  // Owner's thread: runs the queued tasks, then delivers the queued replies.
  void drain();

 private:
  struct Entry {
    uint64_t conn;
    uint64_t request;
    HttpResponse response;
  };
  void post(Entry entry);

  Deliver deliver_;
  Wake wake_;
  std::atomic<std::thread::id> owner_{};
  std::mutex mutex_;
  bool open_ = false;                            // guarded by mutex_
  std::vector<Entry> replies_;                   // guarded by mutex_
  std::vector<std::function<void()>> tasks_;     // guarded by mutex_
};

}  // namespace sreda::web
