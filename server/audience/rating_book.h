// The ratings of one event: one rating per viewer id (a new rating replaces the old), and a cap on how
// many of them one address group (core::limit_key) may put into the public rating. A viewer's first rating
// decides whether it is counted: while its address group has fewer than `max_per_group` counted ratings in
// this event it is, otherwise it is kept for the viewer (their own stars) but left out of the public
// average and count. Changing one's rating keeps that decision. So that fresh identities cannot fill memory and
// the database, at most kKeptPerCounted × max_per_group left-out ratings of one group are kept; beyond that a
// rating is answered but not kept at all. Pure; one thread (the web thread).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "server/audience/wire.h"

namespace sreda::audience {

class RatingBook {
 public:
  static constexpr int kKeptPerCounted = 10;
  explicit RatingBook(int max_per_group) : max_per_group_(max_per_group) {}

  // A rating read back from the database (counted as it was decided then).
  void load(const std::string& viewer, int stars, const std::string& group, bool counted);

  struct Outcome {
    bool counted = true;     // part of the public rating
    bool capped_now = false; // the first rating of this group left out: the moment to write one log line
    bool kept = true;        // remembered (and to be stored); false: too many left out from this group
  };
  // `multiplier` widens the cap for this group (a shared address: server.shared_address_multiplier).
  Outcome rate(const std::string& viewer, const std::string& group, int stars, int multiplier = 1);

  std::optional<int> stars_of(const std::string& viewer) const;
  // The public rating: counted ratings only.
  const RatingSummary& summary() const { return summary_; }
  int counted_in_group(const std::string& group) const;

 private:
  struct Entry {
    int stars = 0;
    bool counted = true;
  };
  int max_per_group_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, int> counted_per_group_, uncounted_per_group_;
  std::unordered_set<std::string> capped_groups_;
  RatingSummary summary_;
};

}  // namespace sreda::audience
