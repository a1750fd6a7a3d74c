#include "server/web/share_pages.h"

#include <fstream>
#include <sstream>

#include "server/schedule/catalog.h"
#include "server/web/http_rules.h"
#include "server/web/share_text.h"

namespace sreda::web {
namespace {

constexpr uintmax_t kMaxTemplateBytes = 1 << 20;

// "12" → 12; anything but 1–15 digits → 0 (ids start at 1).
int64_t parse_number(std::string_view s) {
  if (s.empty() || s.size() > 15 || s.find_first_not_of("0123456789") != std::string_view::npos) return 0;
  return std::stoll(std::string(s));
}

share::EventFacts facts_of(const schedule::Event& e, const std::string& asked_lang) {
  share::EventFacts f;
  f.id = e.id;
  f.title = e.title;
  f.studio = e.studio_name;
  f.category = e.category;
  f.starts_at = e.starts_at;
  f.lang = share::pick_language(asked_lang, e.language);
  return f;
}

HttpResponse html(int status, std::string body) {
  auto r = HttpResponse::text(status, "text/html; charset=utf-8", std::move(body));
  set_caching(r, Caching::revalidate);
  forbid_sniffing(r);
  return r;
}

HttpResponse busy() {
  return HttpResponse::refused(503, "busy", "The server is very busy right now. Please try again in a few seconds.", 5);
}

}  // namespace

std::string_view SharePages::route_class(std::string_view path) {
  if (path.rfind("/e/", 0) == 0 || path == "/e") {
    return path.size() > 9 && path.compare(path.size() - 9, 9, "/card.png") == 0 ? "/e/card" : "/e";
  }
  return "pages";
}

void SharePages::handle(HttpRequest request, Reply reply) {
  const std::string& p = request.path;
  if (p.rfind("/watch/", 0) == 0) {
    const int64_t id = parse_number(std::string_view(p).substr(7));
    if (!id) return pages_.handle(std::move(request), std::move(reply));
    return watch(id, std::move(request), std::move(reply));
  }
  if (p.rfind("/e/", 0) != 0) return pages_.handle(std::move(request), std::move(reply));
  const std::string_view rest = std::string_view(p).substr(3);
  const size_t slash = rest.find('/');
  const std::string number(rest.substr(0, slash));
  const int64_t id = parse_number(number);
  if (slash == std::string_view::npos) return short_link(id, number, std::move(reply));
  if (id && rest.substr(slash) == "/card.png") return card(id, std::move(request), std::move(reply));
  reply(html(404, share::not_found_page(number)));
}

std::shared_ptr<const std::string> SharePages::watch_template() {
  const std::filesystem::path path = std::filesystem::path(config_.server.static_dir) / "watch.html";
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return nullptr;
  if (template_ && time == template_time_) return template_;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || size > kMaxTemplateBytes || !in) return nullptr;
  std::ostringstream text;
  text << in.rdbuf();
  template_ = std::make_shared<const std::string>(text.str());
  template_time_ = time;
  return template_;
}

void SharePages::watch(int64_t id, HttpRequest request, Reply reply) {
  auto page = watch_template();
  if (!page) return pages_.handle(std::move(request), std::move(reply));
  const std::string cookie = pages_.viewer_set_cookie(request);
  const std::string base = base_url(config_, request);
  const std::string lang = request.query_value("lang");
  auto respond = [cookie](std::string body, Reply& reply) {
    HttpResponse r = html(200, std::move(body));
    r.headers.emplace_back("set-cookie", cookie);
    reply(std::move(r));
  };
  bool queued = store_.post([id, page, base, lang, respond, reply](store::Db& db) mutable {
    std::optional<schedule::Event> e;
    try {
      e = schedule::find_event(db, id);
    } catch (const std::exception&) {
    }
    if (!e) return respond(*page, reply);  // the page says "no such event" itself
    const share::EventFacts f = facts_of(*e, lang);
    std::string card = base + "/e/" + std::to_string(id) + "/card.png?v=" + share::card_fingerprint(f);
    if (f.lang != e->language && !lang.empty()) card += "&lang=" + f.lang;
    respond(share::render_watch(*page, f, base, card), reply);
  }, store::Store::Lane::public_reads);
  if (!queued) respond(*page, reply);  // the page works without its preview tags
}

void SharePages::short_link(int64_t id, const std::string& number, Reply reply) {
  if (!id) return reply(html(404, share::not_found_page(number)));
  bool queued = store_.post([id, number, reply](store::Db& db) {
    std::optional<schedule::Event> e;
    try {
      e = schedule::find_event(db, id);
    } catch (const std::exception&) {
      return reply(HttpResponse::error(500, "internal", "the event could not be read"));
    }
    if (!e) return reply(html(404, share::not_found_page(number)));
    HttpResponse r = html(302, "<!doctype html><title>→</title><a href=\"/watch/" + std::to_string(id) + "\">/watch/" +
                                   std::to_string(id) + "</a>\n");
    r.headers.emplace_back("location", "/watch/" + std::to_string(id));
    reply(std::move(r));
  }, store::Store::Lane::public_reads);
  if (!queued) reply(busy());
}

void SharePages::card(int64_t id, HttpRequest request, Reply reply) {
  const std::string lang = request.query_value("lang");
  const std::string version = request.query_value("v");
  ShareCards* cards = &cards_;
  bool queued = store_.post([id, lang, version, cards, reply](store::Db& db) {
    std::optional<schedule::Event> e;
    try {
      e = schedule::find_event(db, id);
    } catch (const std::exception&) {
      return reply(HttpResponse::error(500, "internal", "the event could not be read"));
    }
    if (!e) return reply(HttpResponse::error(404, "not_found", "no event with id " + std::to_string(id)));
    const share::EventFacts f = facts_of(*e, lang);
    cards->serve(f, !version.empty() && version == share::card_fingerprint(f), reply);
  }, store::Store::Lane::public_reads);
  if (!queued) reply(busy());
}

}  // namespace sreda::web
