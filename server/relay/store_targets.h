// RelayTargetSource over the store: the relays table (an event's own rows, then its studio's defaults) and
// the studios' pull_url. Queries run as jobs on the store thread; the replies come from there.
#pragma once

#include "server/relay/relay_service.h"
#include "server/store/store.h"

namespace sreda::relay {

class StoreTargets : public RelayTargetSource {
 public:
  explicit StoreTargets(store::Store& store) : store_(store) {}
  void event_targets(int64_t event_id, int64_t studio_id,
                     std::function<void(std::vector<RelayTarget>)> reply) override;
  void pulled_studios(std::function<void(std::vector<std::pair<int64_t, std::string>>)> reply) override;

  // The same queries, for a caller already on the store thread.
  static std::vector<RelayTarget> event_targets(store::Db& db, int64_t event_id, int64_t studio_id);
  static std::vector<std::pair<int64_t, std::string>> pulled_studios(store::Db& db);

 private:
  store::Store& store_;
};

}  // namespace sreda::relay
