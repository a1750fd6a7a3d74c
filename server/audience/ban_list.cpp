#include "server/audience/ban_list.h"

#include <algorithm>

#include "server/core/client_address.h"

namespace sreda::audience {

void BanList::add(const Ban& b) {
  if (b.kind == "viewer") {
    rules_.push_back({key_of(b), b.value, ""});
    if (!b.address.empty()) hold_address(b, b.address);
  } else {
    rules_.push_back({key_of(b), "", core::limit_key(b.value)});
  }
}

void BanList::hold_address(const Ban& b, const std::string& group) {
  const std::string g = core::limit_key(group);
  if (!g.empty()) rules_.push_back({key_of(b), "", g});
}

void BanList::remove(const Ban& b) {
  std::erase_if(rules_, [key = key_of(b)](const Rule& r) { return r.key == key; });
}

bool BanList::matches(const std::string& viewer_id, const std::string& group) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& r) {
    return (!r.viewer.empty() && r.viewer == viewer_id) || (!r.group.empty() && r.group == group);
  });
}

}  // namespace sreda::audience
