// The picture a shared event link shows (og:image): a 1200x630 PNG of the event's title, time and studio
// over its category's colour (archive/picture_card.h), made on the server and kept in memory per event.
// A card is made again when the event's title, time, studio, category or language changes (its
// fingerprint, share_text.h). Bounded against a flood of requests for many events: one card is made at a
// time on this class's own thread; at most `queue` events wait (requests for the same card wait together);
// at most `per_minute` cards are made a minute; at most `cache` cards are kept (the least recently asked is
// dropped). A refusal answers 503 busy with Retry-After, counts in sreda_share_cards_refused_total{cause}
// and logs one line per burst.
// Threads: serve() from any thread (a mutex at this seam); the pictures are made on the cards thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/core/metrics.h"
#include "server/web/http.h"
#include "server/web/limits.h"
#include "server/web/share_text.h"

namespace sreda::web {

class ShareCards {
 public:
  struct Options {
    std::string work_dir;   // where a picture is written while it is made (then read into memory)
    size_t cache = 256;     // share.card_cache
    size_t queue = 8;       // share.card_queue
    int per_minute = 30;    // share.cards_per_minute
  };
  ShareCards(Options options, core::Metrics& metrics);
  ~ShareCards();
  void start();  // the cards thread
  void stop();   // idempotent; waiting requests are answered 503

  // Answers `reply` with the card of `facts` (200 image/png), from memory or once it is made, or 503 busy.
  // `immutable`: the URL names this very card (?v=<fingerprint>), so it may be kept a day, else 10 minutes.
  void serve(const share::EventFacts& facts, bool immutable, Reply reply);

 private:
  using Bytes = std::shared_ptr<const std::vector<uint8_t>>;
  struct Waiter {
    Reply reply;
    bool immutable;
  };
  struct Job {
    share::EventFacts facts;
    std::string fingerprint;
    std::vector<Waiter> waiters;
  };
  struct Entry {
    std::string fingerprint;
    Bytes png;
    std::list<int64_t>::iterator lru;
  };
  static HttpResponse answer(const Bytes& png, bool immutable);
  // Counts and logs a refusal (under mutex_); the answer is sent after the lock is let go.
  HttpResponse refuse(const std::string& cause, const std::string& what);
  void run();
  Bytes make(const Job& job);  // on the cards thread, no lock

  Options options_;
  core::Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false, stopping_ = false;
  std::unordered_map<int64_t, Entry> cache_;
  std::list<int64_t> lru_;  // most recently asked first
  std::deque<Job> queue_;
  Job* making_ = nullptr;   // the job on the cards thread (its waiters may still grow)
  RateLimiter rate_;
  BurstLog refusals_log_;
  std::thread thread_;
};

}  // namespace sreda::web
