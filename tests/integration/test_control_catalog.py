"""Studios, events, the public programme and the iCalendar feeds, through real HTTP."""
import datetime
import unittest
import urllib.parse

import icalendar

from sreda_harness import ServerTestCase


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_days(days, hour=18):
    base = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return (base + datetime.timedelta(days=days)).replace(hour=hour)


class CatalogTest(ServerTestCase):

    def studio(self, name):
        r = self.server.post("/api/studios", {"name": name}, token=self.token)
        self.assertEqual(r.status, 201, r)
        return r.json

    def event(self, sid, start, hours=2, **fields):
        body = {"title": "Концерт", "category": "concert", "studio_id": sid,
                "starts_at": rfc3339(start), "ends_at": rfc3339(start + datetime.timedelta(hours=hours))}
        body.update(fields)
        return self.server.post("/api/events", body, token=self.token)

    def test_studio_lifecycle(self):
        s = self.studio("Дом культуры «Заря»")
        key = s["stream_key"]
        self.assertGreaterEqual(len(key), 22)  # >= 128 bits of base64url
        self.assertRegex(key, r"^[A-Za-z0-9_-]+$")
        # The same name again (any case) is a conflict, a blank name a field error.
        r = self.server.post("/api/studios", {"name": "дом культуры «заря»"}, token=self.token)
        self.assertEqual(r.status, 409, r)
        r = self.server.post("/api/studios", {"name": "   "}, token=self.token)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "name"))
        r = self.server.post("/api/studios", {"nmae": "typo"}, token=self.token)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "nmae"))
        # Rename, rotate, read back.
        r = self.server.request("PATCH", f"/api/studios/{s['id']}", {"name": "Заря"}, token=self.token)
        self.assertEqual((r.status, r.json["name"]), (200, "Заря"))
        r = self.server.post(f"/api/studios/{s['id']}/rotate-key", token=self.token)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json["stream_key"], key)
        self.assertEqual(self.server.get(f"/api/studios/{s['id']}", token=self.token).json["stream_key"],
                         r.json["stream_key"])
        # Delete; then it is gone.
        self.assertEqual(self.server.request("DELETE", f"/api/studios/{s['id']}", token=self.token).status, 200)
        self.assertEqual(self.server.get(f"/api/studios/{s['id']}", token=self.token).status, 404)
        self.assertEqual(self.server.request("DELETE", f"/api/studios/{s['id']}", token=self.token).status, 404)

    def test_event_validation_names_the_field(self):
        s = self.studio("Библиотека №5")
        start = in_days(3)
        cases = [
            ({"ends_at": rfc3339(start - datetime.timedelta(hours=1))}, "ends_at"),
            ({"ends_at": rfc3339(start + datetime.timedelta(hours=13))}, "ends_at"),
            ({"starts_at": "next friday"}, "starts_at"),
            ({"category": "rave"}, "category"),
            ({"title": ""}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": "bell\u0007"}, "title"),
            ({"language": "Russian"}, "language"),
            ({"studio_id": "one"}, "studio_id"),
            ({"studio_id": 999999}, "studio_id"),
            ({"colour": "red"}, "colour"),
        ]
        for fields, field in cases:
            with self.subTest(fields=fields):
                r = self.event(s["id"], start, **fields)
                self.assertEqual(r.status, 422, r)
                self.assertEqual(r.json["error"]["field"], field, r)
                self.assertTrue(r.json["error"]["message"])
        # Missing required fields are all reported at once.
        r = self.server.post("/api/events", {"description": "no title"}, token=self.token)
        self.assertEqual(r.status, 422)
        self.assertEqual({f["field"] for f in r.json["error"]["fields"]},
                         {"title", "category", "studio_id", "starts_at", "ends_at"})
        # An event in the past is a typo, not a plan.
        r = self.event(s["id"], in_days(-2))
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "ends_at"))
        # Nothing of the above was stored.
        r = self.server.get(f"/api/events?studio_id={s['id']}", token=self.token)
        self.assertEqual(r.json["total"], 0)

    def test_invalid_utf8_is_refused(self):
        s = self.studio("UTF-8 hall")
        raw = (b'{"title":"bad \xff\xfe","category":"concert","studio_id":%d,'
               b'"starts_at":"2030-01-01T10:00:00Z","ends_at":"2030-01-01T11:00:00Z"}' % s["id"])
        r = self.server.request("POST", "/api/events", raw_body=raw, token=self.token,
                                headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["error"]["code"], "bad_json")

    def test_overlap_reschedule_cancel_delete(self):
        s = self.studio("Центр «Соседи»")
        start = in_days(5)
        first = self.event(s["id"], start, title="Лекция о Шостаковиче", category="lecture")
        self.assertEqual(first.status, 201, first)
        e = first.json
        self.assertEqual(e["state"], "scheduled")
        self.assertEqual(e["starts_at"], rfc3339(start))
        # Overlapping on the same studio → 409 naming the other event; touching end-to-start is fine.
        r = self.event(s["id"], start + datetime.timedelta(hours=1))
        self.assertEqual(r.status, 409, r)
        self.assertIn("Шостаковиче", r.json["error"]["message"])
        r = self.event(s["id"], start + datetime.timedelta(hours=2), hours=1)
        self.assertEqual(r.status, 201, r)
        second = r.json
        # Reschedule the first onto the second → 409; to a free slot → 200. Times with offsets are UTC after.
        r = self.server.request("PATCH", f"/api/events/{e['id']}",
                                {"starts_at": rfc3339(start + datetime.timedelta(hours=2, minutes=30)),
                                 "ends_at": rfc3339(start + datetime.timedelta(hours=3, minutes=30))},
                                token=self.token)
        self.assertEqual(r.status, 409, r)
        local = (start + datetime.timedelta(days=1)).astimezone(datetime.timezone(datetime.timedelta(hours=3)))
        r = self.server.request("PATCH", f"/api/events/{e['id']}",
                                {"starts_at": local.isoformat(),
                                 "ends_at": (local + datetime.timedelta(hours=1)).isoformat(),
                                 "title": "Лекция о Прокофьеве"}, token=self.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["starts_at"], rfc3339(start + datetime.timedelta(days=1)))
        self.assertEqual(r.json["title"], "Лекция о Прокофьеве")
        # A studio with events cannot be deleted.
        r = self.server.request("DELETE", f"/api/studios/{s['id']}", token=self.token)
        self.assertEqual(r.status, 409, r)
        # Cancel: state changes, the slot frees up, edits are refused.
        r = self.server.post(f"/api/events/{second['id']}/cancel", token=self.token)
        self.assertEqual((r.status, r.json["state"]), (200, "cancelled"))
        r = self.event(s["id"], start + datetime.timedelta(hours=2), hours=1, title="Замена")
        self.assertEqual(r.status, 201, r)
        r = self.server.request("PATCH", f"/api/events/{second['id']}", {"title": "x"}, token=self.token)
        self.assertEqual(r.status, 409, r)
        # Public view of a cancelled event says so.
        r = self.server.get(f"/api/public/events/{second['id']}")
        self.assertEqual((r.status, r.json["state"]), (200, "cancelled"))
        # Delete.
        self.assertEqual(self.server.request("DELETE", f"/api/events/{e['id']}", token=self.token).status, 200)
        self.assertEqual(self.server.get(f"/api/events/{e['id']}", token=self.token).status, 404)
        self.assertEqual(self.server.get(f"/api/public/events/{e['id']}").status, 404)

    def test_public_programme_filters_pages_and_hides_keys(self):
        s = self.studio("Музыкальная школа им. Глинки")
        ids = []
        for i in range(23):
            r = self.event(s["id"], in_days(40 + i), title=f"Ёлка {i}" if i % 2 else f"Мастер-класс {i}",
                           category="master_class" if i % 2 == 0 else "concert",
                           description="Фортепиано для начинающих" if i == 4 else "")
            self.assertEqual(r.status, 201, r)
            ids.append(r.json["id"])
        r = self.server.get("/api/public/events?when=upcoming&page=1")
        self.assertEqual(r.status, 200, r)
        page1 = r.json
        self.assertEqual(page1["page_size"], 20)
        self.assertGreaterEqual(page1["total"], 23)
        starts = [e["starts_at"] for e in page1["events"]]
        self.assertEqual(starts, sorted(starts), "upcoming is soonest first")
        page2 = self.server.get("/api/public/events?when=upcoming&page=2").json
        self.assertFalse({e["id"] for e in page1["events"]} & {e["id"] for e in page2["events"]})
        # Category and case-insensitive search (Cyrillic, ё = е).
        r = self.server.get("/api/public/events?when=upcoming&category=master_class").json
        self.assertTrue(r["events"] and all(e["category"] == "master_class" for e in r["events"]))
        r = self.server.get("/api/public/events?when=upcoming&q=" + urllib.parse.quote("ФОРТЕПИАНО"))
        self.assertEqual([e["id"] for e in r.json["events"]], [ids[4]])
        r = self.server.get("/api/public/events?when=upcoming&q=" + urllib.parse.quote("елка"))  # finds "Ёлка"
        self.assertEqual(r.json["total"], 11)
        # Bad parameters are clear 400s.
        for q, field in [("when=tomorrow", "when"), ("when=upcoming&page=0", "page"),
                         ("when=upcoming&page=two", "page"), ("when=upcoming&category=rave", "category")]:
            r = self.server.get("/api/public/events?" + q)
            self.assertEqual((r.status, r.json["error"]["field"]), (400, field), q)
        # Live and archive are empty until studios publish.
        self.assertEqual(self.server.get("/api/public/events?when=live").json["events"], [])
        # No stream key and no curator data anywhere public.
        key = self.server.get(f"/api/studios/{s['id']}", token=self.token).json["stream_key"]
        for path in ["/api/public/events?when=upcoming", f"/api/public/events/{ids[0]}", "/schedule.ics",
                     f"/events/{ids[0]}.ics"]:
            body = self.server.get(path).text
            self.assertNotIn(key, body, path)
            self.assertNotIn("stream_key", body, path)
            self.assertNotIn("created_at", body, path)

    def test_calendar_parses_with_an_independent_parser(self):
        s = self.studio("Краеведческий музей")
        start = in_days(7, hour=16)
        e = self.event(s["id"], start, title="Экскурсия; по залам, с гидом",
                       description="Первая строка\nвторая строка — " + "длинный текст " * 20,
                       category="museum_tour").json
        c = self.event(s["id"], start + datetime.timedelta(hours=3), title="Отменённый вечер").json
        self.assertEqual(self.server.post(f"/api/events/{c['id']}/cancel", token=self.token).status, 200)
        r = self.server.get("/schedule.ics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers["content-type"].startswith("text/calendar"))
        for line in r.body.split(b"\r\n"):
            self.assertLessEqual(len(line), 75, line)
        cal = icalendar.Calendar.from_ical(r.body)
        events = {str(v["UID"]): v for v in cal.walk("VEVENT")}
        ev = next(v for v in events.values() if str(v["SUMMARY"]) == "Экскурсия; по залам, с гидом")
        self.assertEqual(ev.decoded("DTSTART"), start)
        self.assertEqual(ev.decoded("DTEND"), start + datetime.timedelta(hours=2))
        self.assertEqual(ev.decoded("DTSTART").utcoffset(), datetime.timedelta(0))
        self.assertIn("вторая строка", str(ev["DESCRIPTION"]))
        self.assertTrue(str(ev["URL"]).endswith(f"/watch/{e['id']}"))
        self.assertIn("DTSTAMP", ev)
        cancelled = next(v for v in events.values() if str(v["SUMMARY"]) == "Отменённый вечер")
        self.assertEqual(str(cancelled["STATUS"]), "CANCELLED")
        # One event's own calendar.
        one = icalendar.Calendar.from_ical(self.server.get(f"/events/{e['id']}.ics").body)
        self.assertEqual([str(v["SUMMARY"]) for v in one.walk("VEVENT")], ["Экскурсия; по залам, с гидом"])
        self.assertEqual(self.server.get("/events/999999.ics").status, 404)
        self.assertEqual(self.server.get("/events/abc.ics").status, 404)


if __name__ == "__main__":
    unittest.main()
