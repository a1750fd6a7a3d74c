#include "server/web/share_cards.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "server/archive/picture_card.h"
#include "server/core/clock.h"
#include "server/core/log.h"
#include "server/web/http_rules.h"

namespace sreda::web {
namespace {

constexpr size_t kMaxWaitersPerCard = 256;  // requests waiting for one card; more get 503
constexpr size_t kMaxTitleChars = 80;        // a longer title is cut ("…") so the card keeps its other lines
constexpr uintmax_t kMaxCardBytes = 4 << 20; // a card file larger than this is an error, not kept

core::Logger& log() {
  static core::Logger l("share");
  return l;
}

}  // namespace

ShareCards::ShareCards(Options options, core::Metrics& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      rate_(options_.per_minute / 60.0, std::max(1.0, options_.per_minute / 3.0)) {
  metrics_.describe("sreda_share_cards_made_total", "counter", "shared links' preview pictures made (1200x630 PNG)");
  metrics_.describe("sreda_share_cards_refused_total", "counter",
                    "preview picture requests refused by a limit, by cause (queue: share.card_queue full, rate: "
                    "share.cards_per_minute reached, waiters: too many requests for one picture, stopping)");
}

ShareCards::~ShareCards() { stop(); }

void ShareCards::start() {
  std::lock_guard lock(mutex_);
  if (running_ || stopping_) return;
  std::error_code ec;
  std::filesystem::create_directories(options_.work_dir, ec);
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void ShareCards::stop() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : left)
    for (auto& w : job.waiters)
      w.reply(HttpResponse::refused(503, "busy", "The server is stopping. Please try again in a minute.", 30));
}

HttpResponse ShareCards::answer(const Bytes& png, bool immutable) {
  HttpResponse r;
  r.content_type = "image/png";
  r.shared_body = png;
  set_caching(r, Caching::short_lived, immutable ? 86400 : 600);
  allow_any_origin(r);
  forbid_sniffing(r);
  return r;
}

HttpResponse ShareCards::refuse(const std::string& cause, const std::string& what) {
  metrics_.counter("sreda_share_cards_refused_total", {{"cause", cause}}).fetch_add(1, std::memory_order_relaxed);
  if (refusals_log_.first_of_burst(core::steady_ms()))
    log().warn(what + "; the rest of this burst is counted in sreda_share_cards_refused_total{cause=\"" + cause + "\"}");
  return HttpResponse::refused(503, "busy", "Too many pictures are being made right now. Please try again in a minute.", 60);
}

void ShareCards::serve(const share::EventFacts& facts, bool immutable, Reply reply) {
  const std::string fingerprint = share::card_fingerprint(facts);
  std::unique_lock lock(mutex_);
  auto refused = [&](const std::string& cause, const std::string& what) {
    HttpResponse r = refuse(cause, what);
    lock.unlock();
    reply(std::move(r));
  };
  if (!running_ || stopping_) return refused("stopping", "a preview picture was asked while the server stops");
  if (auto it = cache_.find(facts.id); it != cache_.end() && it->second.fingerprint == fingerprint) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    Bytes png = it->second.png;
    lock.unlock();
    return reply(answer(png, immutable));
  }
  auto same = [&](const Job& j) { return j.facts.id == facts.id && j.fingerprint == fingerprint; };
  Job* waiting = making_ && same(*making_) ? making_ : nullptr;
  if (!waiting)
    if (auto it = std::find_if(queue_.begin(), queue_.end(), same); it != queue_.end()) waiting = &*it;
  if (waiting) {
    if (waiting->waiters.size() >= kMaxWaitersPerCard)
      return refused("waiters", "event " + std::to_string(facts.id) + ": too many requests wait for its preview picture");
    waiting->waiters.push_back({std::move(reply), immutable});
    return;
  }
  if (queue_.size() >= options_.queue)
    return refused("queue", "preview pictures: " + std::to_string(queue_.size()) + " wait to be made (share.card_queue)");
  if (rate_.take("cards", core::steady_ms()) > 0)
    return refused("rate", "preview pictures: share.cards_per_minute (" + std::to_string(options_.per_minute) + ") reached");
  queue_.push_back(Job{facts, fingerprint, {}});
  queue_.back().waiters.push_back({std::move(reply), immutable});
  lock.unlock();
  wake_.notify_one();
}

ShareCards::Bytes ShareCards::make(const Job& job) {
  const auto& f = job.facts;
  archive::CardText text;
  text.title = share::cut(f.title, kMaxTitleChars);
  text.studio = f.studio;
  text.category = f.category;
  text.starts_at = f.starts_at;
  text.when = share::when_text(f.starts_at, f.lang);
  text.footer = share::site_name(f.lang);
  archive::CardLayout layout;
  layout.width = 1200;
  layout.height = 630;
  layout.title_pt = 28;  // textoverlay scales type with the picture (auto-resize): ~52 pt at 1200 px
  layout.text_pt = 16;
  layout.png = true;
  const std::string path = options_.work_dir + "/card-" + std::to_string(f.id) + "-" + job.fingerprint + ".png";
  std::string error = archive::make_picture_card(text, path, layout);
  Bytes png;
  std::error_code ec;
  if (error.empty()) {
    const uintmax_t size = std::filesystem::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    if (ec || size > kMaxCardBytes || !in) {
      error = "cannot read " + path;
    } else {
      auto bytes = std::make_shared<std::vector<uint8_t>>(size);
      in.read(reinterpret_cast<char*>(bytes->data()), static_cast<std::streamsize>(size));
      if (in) png = std::move(bytes);
      else error = "cannot read " + path;
    }
  }
  std::filesystem::remove(path, ec);
  if (!png) log().warn("event " + std::to_string(f.id) + ": no preview picture: " + error);
  else metrics_.counter("sreda_share_cards_made_total", {}).fetch_add(1, std::memory_order_relaxed);
  return png;
}

void ShareCards::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    making_ = &job;
    lock.unlock();
    Bytes png = make(job);
    lock.lock();
    making_ = nullptr;
    if (png) {
      if (auto it = cache_.find(job.facts.id); it != cache_.end()) {
        lru_.erase(it->second.lru);
        cache_.erase(it);
      }
      lru_.push_front(job.facts.id);
      cache_.emplace(job.facts.id, Entry{job.fingerprint, png, lru_.begin()});
      while (cache_.size() > options_.cache) {
        cache_.erase(lru_.back());
        lru_.pop_back();
      }
    }
    std::vector<Waiter> waiters = std::move(job.waiters);
    lock.unlock();
    for (auto& w : waiters)
      w.reply(png ? answer(png, w.immutable) : HttpResponse::error(500, "internal", "the picture could not be made"));
    lock.lock();
  }
}

}  // namespace sreda::web
