"""Shared event links, as a link previewer (no JavaScript) and a phone call see them: the watch page's
server-rendered Open Graph tags (title, time in the city's zone, studio; everything escaped), its picture
card (a 1200x630 PNG, made again when the title changes, bounded), and the short link /e/<number>."""
import datetime
import html.parser
import struct
import unittest
import urllib.parse
import urllib.request
import zoneinfo

from sreda_harness import ServerTestCase, wait_for

PUBLIC = "https://culture.example.org"
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
          "ноября", "декабря"]


class Head(html.parser.HTMLParser):
    """The <meta property|name> tags of a page, unescaped as a previewer reads them."""

    def __init__(self, text):
        super().__init__()
        self.meta, self.links, self.title = {}, {}, None
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a.get("name")] = a.get("content")
        if tag == "link":
            self.links[a.get("rel")] = a.get("href")
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title = data

    def handle_endtag(self, tag):
        self._in_title = False


def png_size(body):
    assert body[:8] == b"\x89PNG\r\n\x1a\n", body[:16]
    return struct.unpack(">II", body[16:24])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


class ShareTest(ServerTestCase):
    env = {"SREDA_SERVER_PUBLIC_URL": PUBLIC, "SREDA_SERVER_TIME_ZONE": "Europe/Moscow"}

    def fetch(self, path):
        """A GET as a link previewer makes it: plain urllib, no JavaScript, redirects not followed."""
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(f"http://127.0.0.1:{self.server.port}{path}", timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def make_event(self, title, studio):
        s = self.server.post("/api/studios", {"name": studio}, token=self.token).json
        start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).replace(
            hour=16, minute=30, second=0, microsecond=0)
        r = self.server.post("/api/events", {
            "title": title, "category": "concert", "studio_id": s["id"], "language": "ru",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ends_at": (start + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}, token=self.token)
        self.assertEqual(r.status, 201, r)
        return r.json, start

    def card(self, head):
        url = head.meta["og:image"]
        self.assertTrue(url.startswith(PUBLIC + "/e/"), url)
        return self.fetch(url[len(PUBLIC):])

    def test_watch_page_carries_escaped_tags_and_a_card(self):
        title = 'Вечер "джаза" </title><script>alert(1)</script> & Co'
        studio = "Клуб «Ура» <b>"
        e, start = self.make_event(title, studio)
        status, headers, body = self.fetch(f"/watch/{e['id']}")
        self.assertEqual(status, 200)
        self.assertIn("sreda_viewer=", headers.get("set-cookie", ""))
        text = body.decode("utf-8")
        self.assertNotIn("<script>alert", text)
        self.assertEqual(text.count("</title>"), 1)
        head = Head(text)
        moscow = start.astimezone(zoneinfo.ZoneInfo("Europe/Moscow"))
        when = f"{moscow.day} {MONTHS[moscow.month - 1]} {moscow.year}, {moscow:%H:%M} (MSK)"
        self.assertEqual(head.meta["og:title"], title)
        self.assertEqual(head.meta["og:description"], f"{when} · {studio}")
        self.assertEqual(head.meta["og:url"], f"{PUBLIC}/watch/{e['id']}")
        self.assertEqual(head.links["shortlink"], f"{PUBLIC}/e/{e['id']}")
        self.assertEqual(head.meta["twitter:card"], "summary_large_image")
        self.assertEqual(head.meta["og:type"], "video.other")
        self.assertTrue(head.title.startswith(title))
        # The picture card: a 1200x630 PNG, kept a day under its versioned URL.
        status, headers, png = self.card(head)
        self.assertEqual((status, headers["content-type"]), (200, "image/png"))
        self.assertEqual(headers["cache-control"], "public, max-age=86400")
        self.assertEqual(png_size(png), (1200, 630))
        # In English on request; a hostile Host header changes nothing (server.public_url).
        r = self.server.get(f"/watch/{e['id']}?lang=en", headers={"Host": "evil.example\"><script>"})
        head_en = Head(r.text)
        self.assertTrue(head_en.meta["og:description"].startswith(f"{moscow.day} {moscow:%B} {moscow.year}"))
        self.assertEqual(head_en.meta["og:url"], f"{PUBLIC}/watch/{e['id']}")
        # A new title: a new card under a new URL.
        r = self.server.request("PATCH", f"/api/events/{e['id']}", {"title": "Джаз в четверг"}, token=self.token)
        self.assertEqual(r.status, 200, r)
        head2 = Head(self.fetch(f"/watch/{e['id']}")[2].decode("utf-8"))
        self.assertEqual(head2.meta["og:title"], "Джаз в четверг")
        self.assertNotEqual(head2.meta["og:image"], head.meta["og:image"])
        status, _, png2 = self.card(head2)
        self.assertEqual((status, png_size(png2)), (200, (1200, 630)))
        self.assertNotEqual(png2, png)

    def test_short_link(self):
        e, _ = self.make_event("Лекция о Шостаковиче", "Библиотека №5")
        status, headers, _ = self.fetch(f"/e/{e['id']}")
        self.assertEqual((status, headers["location"]), (302, f"/watch/{e['id']}"))
        for path in ["/e/999999", "/e/abc", f"/e/{e['id']}/nope.png", "/e/999999/card.png"]:
            with self.subTest(path=path):
                status, headers, body = self.fetch(path)
                self.assertEqual(status, 404)
        status, headers, body = self.fetch("/e/999999")
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn("Нет события с номером 999999", body.decode("utf-8"))
        self.assertIn("There is no event number 999999", body.decode("utf-8"))


class ShareCardLimitTest(ServerTestCase):
    """A flood of picture requests for many events: beyond share.cards_per_minute, 503 busy, counted and logged."""
    env = {"SREDA_SHARE_CARDS_PER_MINUTE": "1"}

    def test_cards_per_minute(self):
        s = self.server.post("/api/studios", {"name": "Зал"}, token=self.token).json
        start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
        ids = []
        for i in range(3):
            t0 = start + datetime.timedelta(hours=3 * i)
            r = self.server.post("/api/events", {
                "title": f"Концерт {i}", "category": "concert", "studio_id": s["id"],
                "starts_at": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ends_at": (t0 + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}, token=self.token)
            ids.append(r.json["id"])
        statuses = [self.server.get(f"/e/{i}/card.png").status for i in ids]
        self.assertEqual(statuses[0], 200)
        self.assertIn(503, statuses[1:])
        r = self.server.get(f"/e/{ids[0]}/card.png")  # made already: from memory, no new picture
        self.assertEqual(r.status, 200)
        metrics = self.server.get("/metrics").text
        self.assertRegex(metrics, r'sreda_share_cards_refused_total\{cause="rate"\} [1-9]')
        self.assertRegex(metrics, r"sreda_share_cards_made_total 1\b")
        wait_for(lambda: any("share.cards_per_minute" in line for line in self.server.log_lines_copy()),
                 what="the refusal's log line")


if __name__ == "__main__":
    unittest.main()
