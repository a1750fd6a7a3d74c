// The audience hub's part in the curators' reports (issue 22): `playback` messages and the samples every
// reports.sample_s, handed to the store in one batch (report_tally.h, report_store.h). Web thread only.
#include <tuple>

#include "server/audience/audience_hub.h"
#include "server/audience/audience_room.h"
#include "server/audience/report_store.h"
#include "server/core/clock.h"

namespace sreda::audience {

void AudienceHub::playback(Client& c, const ClientMessage& m) {
  if (!c.joined) return refuse(c, "not_joined", "join an event first");
  const int64_t now = core::now_ms();
  // Rate bound: the watch page says what it plays every 10 s and when it changes; a page that says more is
  // refused, and what it said before stands.
  if (now - c.playback_window_ms >= 10'000) {
    c.playback_window_ms = now;
    c.playback_count = 0;
  }
  if (++c.playback_count > options_.playback_per_window)
    return refuse(c, "rate_limited", "too many playback reports; one every few seconds is enough");
  if (!options_.reports_enabled) return;  // reports.enabled = false: heard, not counted
  auto t = tallies_.try_emplace(c.event_id, options_.archive_play_ms).first;
  t->second.change(c.playback, c.viewer_id, m.playing, m.archive, m.rendition, now);
}

void AudienceHub::sample_reports(int64_t now_ms, bool timeline) {
  if (!options_.reports_enabled) return;
  // A page that stopped saying what it plays (closed without a close, or asleep) stops counting a minute and a half
  // after its last report: the watch page reports every 10 s, a background tab about once a minute.
  constexpr int64_t kQuietMs = 90'000;
  std::unordered_map<int64_t, std::vector<const Playback*>> playing;
  for (auto& [id, room] : rooms_) {
    for (uint64_t conn : room->members) {
      Client& c = *clients_.at(conn);
      if (!c.playback.playing) continue;
      EventTally& t = tallies_.try_emplace(id, options_.archive_play_ms).first->second;
      if (now_ms - c.playback.last_report_ms > kQuietMs) {
        t.stop(c.playback, c.playback.last_report_ms + kQuietMs);
        continue;
      }
      t.accrue(c.playback, now_ms);
      playing[id].push_back(&c.playback);
    }
  }
  ReportBatch batch;
  std::unordered_map<int64_t, size_t> index;  // event id → its delta in batch
  auto delta_of = [&](int64_t id) -> ReportDelta& {
    auto [it, added] = index.try_emplace(id, batch.events.size());
    if (added) batch.events.push_back(ReportDelta{id});
    return batch.events[it->second];
  };
  if (timeline && report_sources_.health) {
    auto players = report_sources_.players ? report_sources_.players() : std::unordered_map<int64_t, int64_t>{};
    std::unordered_map<int64_t, std::pair<int64_t, int64_t>> seen;
    for (const StreamHealth& h : report_sources_.health()) {
      ReportSample s;
      s.at_ms = now_ms;
      s.state = schedule::to_string(h.state);
      if (auto p = playing.find(h.event_id); p != playing.end()) count_viewers(p->second, s);
      if (auto p = players.find(h.event_id); p != players.end()) s.players_estimate = p->second;
      else if (report_sources_.players) s.players_estimate = 0;
      if (auto t = tallies_.find(h.event_id); t != tallies_.end())
        std::tie(s.comments, s.questions) = t->second.take_comments();
      s.bitrate_kbps = h.bitrate_kbps;
      auto before = health_seen_.find(h.event_id);
      if (before != health_seen_.end()) {
        s.reconnects = std::max<int64_t>(0, h.reconnects - before->second.first);
        s.dropped = std::max<int64_t>(0, h.dropped - before->second.second);
      } else {
        s.reconnects = h.reconnects;  // the first sample: everything since the event went live
        s.dropped = h.dropped;
      }
      seen[h.event_id] = {h.reconnects, h.dropped};
      delta_of(h.event_id).sample = std::move(s);
    }
    health_seen_ = std::move(seen);  // events no longer on air are forgotten
  }
  for (auto it = tallies_.begin(); it != tallies_.end();) {
    ReportDelta& d = delta_of(it->first);
    it->second.take(d);
    // Comments of an event off air are in the comments table; nothing else of them waits here.
    (void)it->second.take_comments();
    const bool in_room = rooms_.count(it->first) > 0;
    if (!in_room && it->second.idle()) it = tallies_.erase(it);
    else ++it;
  }
  std::erase_if(batch.events, [](const ReportDelta& d) { return d.empty(); });
  if (batch.events.empty()) return;
  const bool queued = store_.post([batch = std::move(batch)](store::Db& db) { write_report_batch(db, batch); });
  // The store queue is full: this sample's figures are lost (counted), the next one starts afresh.
  if (!queued) metrics_.add("sreda_reports_batches_dropped_total", {});
}

}  // namespace sreda::audience
