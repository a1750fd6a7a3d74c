#include "server/relay/store_targets.h"

#include "server/core/log.h"

namespace sreda::relay {

std::vector<RelayTarget> StoreTargets::event_targets(store::Db& db, int64_t event_id, int64_t studio_id) {
  // The event's own relays first, then its studio's defaults; each in the order they were added.
  auto st = db.prepare(
      "SELECT id, COALESCE(event_id, 0), COALESCE(studio_id, 0), name, url, rendition, enabled FROM relays "
      "WHERE event_id = ?1 OR studio_id = ?2 ORDER BY event_id IS NULL, id");
  st.bind(1, event_id).bind(2, studio_id);
  std::vector<RelayTarget> out;
  while (st.step()) {
    RelayTarget t;
    t.id = st.int64(0);
    t.event_id = st.int64(1);
    t.studio_id = st.int64(2);
    t.name = st.text(3);
    t.url = st.text(4);
    t.rendition = st.text(5);
    t.enabled = st.int64(6) != 0;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::pair<int64_t, std::string>> StoreTargets::pulled_studios(store::Db& db) {
  auto st = db.prepare(
      "SELECT id, pull_url FROM studios WHERE pull_url IS NOT NULL AND pull_url <> '' ORDER BY id");
  std::vector<std::pair<int64_t, std::string>> out;
  while (st.step()) out.emplace_back(st.int64(0), st.text(1));
  return out;
}

void StoreTargets::event_targets(int64_t event_id, int64_t studio_id,
                                 std::function<void(std::vector<RelayTarget>)> reply) {
  if (!store_.post(
          [event_id, studio_id, reply](store::Db& db) { reply(event_targets(db, event_id, studio_id)); }))
    core::Logger("relays").warn("event " + std::to_string(event_id) +
                                ": the store is busy; its relays were not read");
}

void StoreTargets::pulled_studios(std::function<void(std::vector<std::pair<int64_t, std::string>>)> reply) {
  if (!store_.post([reply](store::Db& db) { reply(pulled_studios(db)); }))
    core::Logger("relays").warn("the store is busy; the pulled studios were not read");
}

}  // namespace sreda::relay
