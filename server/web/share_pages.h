// Shared event links (README "Sharing an event"):
//   GET /watch/<id>          the watch page with its <head> rendered per event: Open Graph and Twitter card
//                            tags (title, time in the city's zone, studio, the picture card), so a link
//                            shared in VK or a messenger shows a preview (previewers run no JavaScript)
//   GET /e/<number>          the short link (easy to read aloud): 302 to /watch/<number>; no such event: a
//                            friendly 404 page in Russian, English and Tatar
//   GET /e/<number>/card.png the preview picture, 1200x630 PNG (share_cards.h)
// The canonical and image URLs start with server.public_url, else with the request's Host when it is a
// plain host name (base_url(): never anything else from the request). An unknown event's watch page, a
// watch page while the store is busy, or a missing template: the plain page (StaticHandler), as before.
// ?lang=ru|en|tt picks the preview's language; else the event's own, else Russian.
// Threads: handle() on the web thread (the template is read there, at most once per change of the file);
// the event is read on the store thread (public reads lane), which also renders the page.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "server/config/config.h"
#include "server/store/store.h"
#include "server/web/http.h"
#include "server/web/share_cards.h"
#include "server/web/site_routes.h"

namespace sreda::web {

class SharePages : public RouteHandler {
 public:
  SharePages(const config::Config& config, store::Store& store, StaticHandler& pages, ShareCards& cards)
      : config_(config), store_(store), pages_(pages), cards_(cards) {}
  void handle(HttpRequest request, Reply reply) override;
  Methods methods() const override { return Methods::read_only; }
  // The metrics class of a path: "/e/card" for the pictures, "/e" for short links, "pages" for watch pages.
  static std::string_view route_class(std::string_view path);

 private:
  void watch(int64_t id, HttpRequest request, Reply reply);
  void short_link(int64_t id, const std::string& number, Reply reply);
  void card(int64_t id, HttpRequest request, Reply reply);
  // watch.html, read again when the file changes; null when it cannot be read. Web thread.
  std::shared_ptr<const std::string> watch_template();

  const config::Config& config_;
  store::Store& store_;
  StaticHandler& pages_;
  ShareCards& cards_;
  std::shared_ptr<const std::string> template_;
  std::filesystem::file_time_type template_time_{};
};

}  // namespace sreda::web
