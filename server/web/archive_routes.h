// GET /archive/<event_id>/… : recordings from disk (archive/recording_writer.h's layout).
//   master.m3u8, poster.jpg, card.jpg (a live event's picture card), <rendition>/index.m3u8 (the public window: the curator's trim applied),
//   <rendition>/init.mp4 | init<N>.mp4, <rendition>/seg<msn>.m4s
// A segment the curator trimmed away is not public: 404 (the files stay for the curator's export and an
// undo). Media files are immutable: an edge may cache them forever. Anything else — other names, `.partial`,
// dot segments, encoded separators — is 404 (400 for dot segments): only names built from the allowed
// forms are ever joined to the archive folder, so no request reaches a file outside it.
// Threads: handle() on the web thread (small reads: a playlist; media are streamed by the server).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "server/archive/archive.h"
#include "server/web/http.h"

namespace sreda::web {

class ArchiveRoutes : public RouteHandler {
 public:
  explicit ArchiveRoutes(archive::Archive& archive) : archive_(archive) {}
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }

 private:
  // Whether segment `msn` of a rendition is inside the public window (the trimmed playlist's first..last).
  bool is_public(int64_t event_id, const std::string& rendition, int64_t msn);

  struct Window {
    archive::Trim trim;  // the trim this window was computed for
    int64_t first = 0, last = -1;
  };
  archive::Archive& archive_;
  std::map<std::pair<int64_t, std::string>, Window> windows_;  // trimmed recordings only; web thread
};

}  // namespace sreda::web
