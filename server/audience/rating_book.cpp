#include "server/audience/rating_book.h"

#include <algorithm>

namespace sreda::audience {

void RatingBook::load(const std::string& viewer, int stars, const std::string& group, bool counted) {
  if (stars < 1 || stars > 5 || entries_.count(viewer)) return;
  entries_[viewer] = Entry{stars, counted};
  if (!counted) {
    capped_groups_.insert(group);  // logged when it happened
    ++uncounted_per_group_[group];
    return;
  }
  ++counted_per_group_[group];
  summary_.histogram[static_cast<size_t>(stars - 1)]++;
}

RatingBook::Outcome RatingBook::rate(const std::string& viewer, const std::string& group, int stars, int multiplier) {
  const int cap = max_per_group_ * std::max(1, multiplier);
  Outcome out;
  auto it = entries_.find(viewer);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (e.counted) {
      summary_.histogram[static_cast<size_t>(e.stars - 1)]--;
      summary_.histogram[static_cast<size_t>(stars - 1)]++;
    }
    e.stars = stars;
    out.counted = e.counted;
    return out;
  }
  int& counted = counted_per_group_[group];
  out.counted = counted < cap;
  if (out.counted) {
    ++counted;
    summary_.histogram[static_cast<size_t>(stars - 1)]++;
  } else {
    out.capped_now = capped_groups_.insert(group).second;
    int& uncounted = uncounted_per_group_[group];
    out.kept = uncounted < kKeptPerCounted * cap;
    if (!out.kept) return out;
    ++uncounted;
  }
  entries_[viewer] = Entry{stars, out.counted};
  return out;
}

std::optional<int> RatingBook::stars_of(const std::string& viewer) const {
  auto it = entries_.find(viewer);
  if (it == entries_.end()) return std::nullopt;
  return it->second.stars;
}

int RatingBook::counted_in_group(const std::string& group) const {
  auto it = counted_per_group_.find(group);
  return it == counted_per_group_.end() ? 0 : it->second;
}

}  // namespace sreda::audience
