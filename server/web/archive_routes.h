// GET /archive/<event_id>/… : recordings from disk (archive/recording_writer.h's layout).
//   master.m3u8, poster.jpg, <rendition>/index.m3u8 (the public window: the curator's trim applied),
//   <rendition>/init.mp4 | init<N>.mp4, <rendition>/seg<msn>.m4s
// Media files are immutable: an edge may cache them forever. Anything else — other names, `.partial`,
// dot segments, encoded separators — is 404 (400 for dot segments): only names built from the allowed
// forms are ever joined to the archive folder, so no request reaches a file outside it.
// Threads: handle() on the web thread (small reads: a playlist; media are streamed by the server).
#pragma once

#include "server/archive/archive.h"
#include "server/web/http.h"

namespace sreda::web {

class ArchiveRoutes : public RouteHandler {
 public:
  explicit ArchiveRoutes(archive::Archive& archive) : archive_(archive) {}
  void handle(HttpRequest request, Reply reply) override;

 private:
  archive::Archive& archive_;
};

}  // namespace sreda::web
