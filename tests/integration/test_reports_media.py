"""Curators' reports (issue 22) from a real event: ffmpeg publishes over RTMP, drops and comes back; watch pages
(audience sockets) join, say what they play, comment, ask, rate and leave at known times; players without a page
fetch the live playlists from four addresses (the estimate); then the recording is watched. The event's report
(JSON and CSV) must say what the test did: peak and when, unique viewers, minutes watched within 5 %, comments and
questions, the rating, the drop and the reconnect on the timeline. The season report over three events in two
categories adds up, in JSON and CSV, and keeps a deleted event's figures. Samples every second
(reports.sample_s = 1) keep it short.
"""
import asyncio
import csv
import datetime
import io
import threading
import time
import urllib.parse
import urllib.request
import zoneinfo

from audience_client import Viewer
from media_helpers import GRACE_S, LiveServerTest, Publisher, Studio, rfc3339, run
from sreda_harness import wait_for

CITY = "Europe/Moscow"
ENV = {"SREDA_REPORTS_SAMPLE_S": "1", "SREDA_REPORTS_ARCHIVE_PLAY_S": "1", "SREDA_SERVER_TIME_ZONE": CITY,
       "SREDA_SERVER_TRUSTED_PROXIES": "127.0.0.1"}
PLAYER_ADDRESSES = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]


def playing(rendition, mode="live"):
    return {"type": "playback", "playing": True, "rendition": rendition, "mode": mode}


STOPPED = {"type": "playback", "playing": False, "mode": "live"}


class Players(threading.Thread):
    """Players without the watch page: each address reloads the live playlist until stopped (no socket, no token)."""

    def __init__(self, server, event_id):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{server.port}/live/{event_id}/source/index.m3u8"
        self.stopping = threading.Event()
        self.fetched = 0

    def run(self):
        while not self.stopping.is_set():
            for address in PLAYER_ADDRESSES:
                req = urllib.request.Request(self.url, headers={"X-Forwarded-For": address})
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        r.read()
                        self.fetched += 1
                except OSError:
                    pass
            self.stopping.wait(0.2)

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


def city_today():
    return datetime.datetime.now(zoneinfo.ZoneInfo(CITY)).date().isoformat()


class ReportsTest(LiveServerTest):
    env = ENV

    def report(self, event_id):
        r = self.server.get(f"/api/events/{event_id}/report", token=self.token)
        self.assertEqual(r.status, 200, r)
        return r.json

    def aw(self, coro):
        """Runs one phase of the viewers' script on the test's one event loop (their sockets live across phases)."""
        return self.loop.run_until_complete(coro)

    def sample_where(self, event_id, predicate, what):
        return wait_for(lambda: next((s for s in self.report(event_id)["timeline"] if predicate(s)), None),
                        timeout=60, what=what)

    def test_a_real_event_is_reported_as_it_happened(self):
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)
        studio = Studio(self.server, self.token, self.next_name("Reports hall"))
        eid = studio.event_id
        view_url = self.server.get(f"/api/studios/{studio.id}", token=self.token).json["view_url"]
        t = urllib.parse.quote(view_url.split("?t=")[1], safe="")
        pub = Publisher(studio.rtmp_url(), seconds=8)
        players = Players(self.server, eid)
        watched = {"source": 0.0, "audio": 0.0}
        archive_watched = 0.0
        try:
            studio.wait_media()
            wait_for(lambda: self.server.get(f"/live/{eid}/source/index.m3u8",
                                             headers={"X-Forwarded-For": PLAYER_ADDRESSES[0]}).status == 200,
                     timeout=30, what="the live playlist")
            players.start()

            async def live_part():
                a, b, c, d = [await Viewer(self.server, f"reports-{n}", nick=n).connect() for n in "abcd"]
                for v in (a, b, c, d):
                    self.assertEqual((await v.join(eid))["type"], "welcome")
                start = {}
                for v, rung in ((a, "source"), (b, "audio"), (c, "source")):
                    await v.send(playing(rung))
                    start[v] = time.monotonic()
                # d joined and never plays: not a viewer of the report.
                for text, question in (("Браво!", False), ("Как красиво", False), ("Что на бис?", True)):
                    await a.send({"type": "comment", "text": text, "question": question})
                    said = await a.expect(lambda m, text=text: m["type"] == "comment" and m["text"] == text)
                    if question:
                        asked = said
                for v, stars in ((a, 5), (b, 4)):
                    await v.send({"type": "rate", "stars": stars})
                    await v.expect(lambda m: m["type"] == "rated")
                # Three watch together for a sample at least, then c leaves.
                await asyncio.get_running_loop().run_in_executor(None, lambda: self.sample_where(
                    eid, lambda s: s["viewers"] == 3, "a sample with the three viewers"))
                await c.close()
                watched["source"] += time.monotonic() - start[c]
                return a, b, d, start, asked

            a, b, d, start, asked = self.aw(live_part())
            # The studio drops (the publisher ends) and comes back within the grace.
            self.assertEqual(pub.wait(), 0, pub.stderr)
            studio.wait_state("intermission")
            self.sample_where(eid, lambda s: s["state"] == "intermission", "an intermission sample")
            pub = Publisher(studio.rtmp_url(), seconds=4)
            studio.wait_state("live")
            self.sample_where(eid, lambda s: s["reconnect"], "a sample with the reconnect")

            async def stop_watching():
                await a.send(STOPPED)
                watched["source"] += time.monotonic() - start[a]
                await b.close()
                watched["audio"] += time.monotonic() - start[b]
            self.aw(stop_watching())
            players.stop()
            self.assertGreater(players.fetched, 4)
            self.assertEqual(self.server.post(f"/api/events/{eid}/end", token=self.token).status, 200)
            studio.wait_state("ended")
            self.aw(a.close())
            self.aw(d.close())
            self.assertEqual(self.server.post(f"/api/events/{eid}/comments/{asked['id']}/answered",
                                              token=self.token).status, 200)

            # The artist's view after the event: three viewers are "fewer than 5".
            figures = self.server.get(f"/api/studio-view/{studio.id}?t={t}").json["figures"]
            self.assertEqual((figures["few_viewers"], figures["peak_viewers"], figures["unique_viewers"]),
                             (True, None, None))
            self.assertEqual((figures["questions"], figures["answered"]), (1, 1))

            # The recording: one viewer watches past reports.archive_play_s (a play), one only starts.
            studio.wait_state("archived", timeout=60)

            async def archive_part():
                e, f = [await Viewer(self.server, f"reports-{n}", nick=n).connect() for n in "ef"]
                for v in (e, f):
                    self.assertEqual((await v.join(eid))["type"], "welcome")
                await e.send(playing("source", "archive"))
                began = time.monotonic()
                await f.send(playing("source", "archive"))
                await f.send({**STOPPED, "mode": "archive"})
                f_watched = time.monotonic() - began
                await asyncio.sleep(3.0)  # the viewer watches three seconds of the recording
                await e.close()
                watched_e = time.monotonic() - began
                await f.close()
                return watched_e + f_watched
            archive_watched = self.aw(archive_part())
        finally:
            players.stop()
            pub.kill()

        # Minutes watched reach the store with the next sample after each viewer stops (within 5 %, and 0.3 s for
        # the test's own timing): waited for, and a wrong figure fails by the deadline.
        live_minutes = (watched["source"] + watched["audio"]) / 60
        expected = {"minutes_live": live_minutes, "minutes_archive": archive_watched / 60}

        def close(figure, want):
            return abs(figure - want) <= want * 0.05 + 0.005

        last = {}

        def settled():
            r = last["r"] = self.report(eid)
            done = all(close(r[k], v) for k, v in expected.items()) and r["archive_starts"] == 2 and r["answered"] == 1
            return r if done else None
        try:
            r = wait_for(settled, timeout=30,
                         what="the minutes watched to match what the viewers did")
        except Exception:
            self.fail(f"expected about {expected}, the report says "
                      f"{ {k: last['r'][k] for k in ('minutes_live', 'minutes_archive', 'archive_starts')} }")
        self.assertAlmostEqual(r["renditions"]["audio"], watched["audio"] / 60, delta=watched["audio"] / 60 * 0.05 + 0.005)
        self.assertEqual((r["archive_starts"], r["archive_plays"]), (2, 1))
        self.assertEqual(r["peak_viewers"], 3)
        first_peak = next(s for s in r["timeline"] if s["viewers"] == 3)
        self.assertEqual(r["peak_at"], first_peak["at"])
        self.assertEqual(first_peak["renditions"], {"source": 2, "audio": 1})
        self.assertEqual(r["unique_viewers"], 5, "a, b, c live and e, f in the archive; d never played")
        self.assertEqual((r["comments"], r["questions"], r["answered"]), (3, 1, 1))
        self.assertEqual(sum(s["comments"] for s in r["timeline"]), 3)
        self.assertEqual(sum(s["questions"] for s in r["timeline"]), 1)
        self.assertEqual(r["rating"], {"average": 4.5, "count": 2, "histogram": [0, 0, 0, 1, 1]})
        states = [s["state"] for s in r["timeline"]]
        self.assertIn("intermission", states)
        self.assertEqual(sum(s["reconnects"] for s in r["timeline"]), 1, "one drop, one reconnect")
        self.assertGreater(max(s["bitrate_kbps"] for s in r["timeline"]), 0)
        self.assertEqual(r["players_estimate"]["peak"], len(PLAYER_ADDRESSES), r["players_estimate"])
        self.assertEqual(max(s["players_estimate"] or 0 for s in r["timeline"]), len(PLAYER_ADDRESSES))

        # The CSV: one row per sample, adding up to the JSON.
        got = self.server.get(f"/api/events/{eid}/report.csv", token=self.token)
        self.assertEqual(got.status, 200)
        self.assertTrue(got.headers["content-type"].startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(got.text)))
        self.assertEqual(len(rows), len(r["timeline"]))
        self.assertEqual(max(int(row["viewers"]) for row in rows), r["peak_viewers"])
        self.assertEqual(sum(int(row["comments"]) for row in rows), 3)
        self.assertEqual(sum(int(row["reconnects"]) for row in rows), 1)
        self.assertEqual([row["at"] for row in rows], [s["at"] for s in r["timeline"]])

        # Not for everyone.
        self.assertEqual(self.server.get(f"/api/events/{eid}/report").status, 401)
        self.assertEqual(self.server.get("/api/events/999999/report", token=self.token).status, 404)


class SeasonReportTest(LiveServerTest):
    env = ENV

    def event(self, category):
        studio = Studio(self.server, self.token, self.next_name("Season studio"), minutes_from_now=None)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        start = now + datetime.timedelta(minutes=5)
        r = self.server.post("/api/events", {"title": f"{category} {studio.id}", "category": category,
                                             "studio_id": studio.id, "starts_at": rfc3339(start),
                                             "ends_at": rfc3339(start + datetime.timedelta(hours=1))},
                             token=self.token)
        self.assertEqual(r.status, 201, r)
        studio.event_id = r.json["id"]
        return studio

    def season(self, group, suffix=""):
        day = city_today()
        r = self.server.get(f"/api/reports{suffix}?from={day}&to={day}&group={group}", token=self.token)
        self.assertEqual(r.status, 200, r)
        return r

    def test_the_season_adds_up_and_keeps_a_deleted_event(self):
        studios = [self.event("concert"), self.event("concert"), self.event("lecture")]
        pubs = [Publisher(s.rtmp_url(), seconds=30) for s in studios]
        try:
            for s in studios:
                s.wait_media()

            # Event 0: two viewers; event 1: one; event 2: one, the same person as one of event 0's.
            async def watch():
                plan = [(0, "season-x"), (0, "season-y"), (1, "season-z"), (2, "season-x")]
                tokens, viewers = {}, []
                for index, name in plan:
                    v = Viewer(self.server, name, token=tokens.get(name))
                    await v.connect()
                    self.assertEqual((await v.join(studios[index].event_id))["type"], "welcome")
                    tokens[name] = v.token
                    await v.send(playing("source"))
                    viewers.append(v)
                # Each event's viewers are in three samples (two seconds and more of watching) before they leave.
                for s in studios:
                    await asyncio.get_running_loop().run_in_executor(None, lambda s=s: wait_for(
                        lambda: sum(1 for x in self.server.get(f"/api/events/{s.event_id}/report", token=self.token)
                                    .json["timeline"] if x["viewers"] > 0) >= 3,
                        timeout=60, what="three samples with the event's viewers"))
                for v in viewers:
                    await v.close()
                # A sample with nobody after they left: what they watched went to the store with it.
                for s in studios:
                    await asyncio.get_running_loop().run_in_executor(None, lambda s=s: wait_for(
                        lambda: self.server.get(f"/api/events/{s.event_id}/report", token=self.token)
                        .json["timeline"][-1]["viewers"] == 0, timeout=60, what="a sample after the viewers left"))
            run(watch())
        finally:
            for p in pubs:
                p.kill()
        for s in studios:
            s.wait_state("intermission")
            self.assertEqual(self.server.post(f"/api/events/{s.event_id}/end", token=self.token).status, 200)
            s.wait_state("ended")

        reports = {s.event_id: wait_for(lambda s=s: (lambda r: r if r["unique_viewers"] and r["minutes_live"] > 0 else None)(
            self.server.get(f"/api/events/{s.event_id}/report", token=self.token).json), what="the event's report")
            for s in studios}
        by_category = self.season("category").json
        self.assertEqual(by_category["time_zone"], CITY)
        groups = {g["key"]: g for g in by_category["groups"]}
        self.assertEqual(sorted(groups), ["concert", "lecture"])
        self.assertEqual((groups["concert"]["events"], groups["lecture"]["events"]), (2, 1))
        self.assertEqual(groups["concert"]["viewers_total"], 3)
        totals = by_category["totals"]
        self.assertEqual(totals["events"], 3)
        self.assertEqual(totals["viewers_total"], 4)
        self.assertEqual(totals["viewers_unique"], 3, "season-x watched two events: one person")
        self.assertAlmostEqual(totals["minutes_live"], sum(r["minutes_live"] for r in reports.values()), delta=0.02)
        self.assertEqual(totals["top_events"][0]["event_id"], studios[0].event_id)
        month = self.season("month").json
        self.assertEqual([g["key"] for g in month["groups"]], [city_today()[:7]])

        rows = list(csv.DictReader(io.StringIO(self.season("category", ".csv").text)))
        total = next(row for row in rows if row["key"] == "total")
        parts = [row for row in rows if row["key"] != "total"]
        self.assertEqual(sum(int(row["events"]) for row in parts), int(total["events"]))
        self.assertEqual(sum(int(row["viewers_total"]) for row in parts), int(total["viewers_total"]))
        self.assertAlmostEqual(sum(float(row["minutes_live"]) for row in parts), float(total["minutes_live"]), delta=0.02)

        # A deleted event leaves its figures in the season's totals.
        gone = studios[2].event_id
        wait_for(lambda: self.server.request("DELETE", f"/api/events/{gone}", token=self.token).status == 200,
                 timeout=60, what="the event deleted (its recording finished)")
        self.assertEqual(self.server.get(f"/api/events/{gone}/report", token=self.token).status, 404)
        after = self.season("category").json
        self.assertEqual(after["totals"]["events"], 3)
        self.assertEqual(after["totals"]["viewers_total"], 4)
        self.assertEqual(after["totals"]["minutes_live"], totals["minutes_live"])
        self.assertEqual(self.server.get("/api/reports?group=weekday", token=self.token).status, 400)
        self.assertEqual(self.server.get("/api/reports?from=2026-02-31", token=self.token).status, 400)


class ReportsOffTest(LiveServerTest):
    """reports.enabled = false (the A/B of scripts/bench/reports): a live event with a viewer who plays and comments
    gets no samples, no minutes and no viewers, and its report says it was not collecting; comments stay counted."""
    env = {**ENV, "SREDA_REPORTS_ENABLED": "false"}

    def test_nothing_is_collected_and_the_report_says_so(self):
        studio = Studio(self.server, self.token, self.next_name("Quiet hall"))
        pub = Publisher(studio.rtmp_url(), seconds=20)
        try:
            studio.wait_media()
            playlist = f"/live/{studio.event_id}/source/index.m3u8"
            self.assertEqual(self.server.get(playlist, headers={"X-Forwarded-For": PLAYER_ADDRESSES[0]}).status, 200)

            async def watch():
                v = await Viewer(self.server, "reports-off", nick="q").connect()
                self.assertEqual((await v.join(studio.event_id))["type"], "welcome")
                await v.send(playing("source"))
                # The comment comes back after the playback message was handled (one connection, in order).
                await v.send({"type": "comment", "text": "Тихо", "question": False})
                await v.expect(lambda m: m["type"] == "comment")
                await v.close()
            run(watch())
            # With collection on, a sample (sample_s = 1) and the viewer's seconds would be stored within a second or
            # two; watched for three seconds, none arrive.
            until = time.monotonic() + 3
            while time.monotonic() < until:
                r = self.server.get(f"/api/events/{studio.event_id}/report", token=self.token).json
                self.assertEqual((r["collecting"], r["timeline"], r["peak_viewers"], r["unique_viewers"],
                                  r["minutes_live"], r["players_estimate"]["peak"]), (False, [], 0, 0, 0, 0))
                time.sleep(0.2)
            self.assertEqual(r["comments"], 1)
        finally:
            pub.kill()
        season = self.server.get("/api/reports", token=self.token).json
        self.assertEqual(season["collecting"], False)


if __name__ == "__main__":
    import unittest
    unittest.main()
