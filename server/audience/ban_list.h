// Bans as the audience hub checks them: an identity (viewer ban) or an address group (address ban; an IPv6
// address bans its /64). A viewer ban also holds the address group the viewer was seen at, so a fresh viewer
// id from there is banned too. Lifting a ban removes everything it held. Pure; one thread (the web thread).
#pragma once

#include <string>
#include <vector>

#include "server/audience/storage.h"

namespace sreda::audience {

class BanList {
 public:
  void add(const Ban& b);
  // One more address group held by a viewer ban (where that viewer is connected now).
  void hold_address(const Ban& b, const std::string& group);
  void remove(const Ban& b);
  bool matches(const std::string& viewer_id, const std::string& group) const;

 private:
  struct Rule {
    std::string key, viewer, group;  // key names the ban ("viewer:<id>", "address:<value>")
  };
  static std::string key_of(const Ban& b) { return b.kind + ":" + b.value; }
  std::vector<Rule> rules_;
};

}  // namespace sreda::audience
