"""Residents' wishes for what to show next (issue 23), through the API of the real binary on 127.0.0.1.

Other client addresses are other loopback sources (127.0.0.x). Suggest (ru and en), vote (twice from one identity
counts once; a second identity counts; the page's sreda_viewer cookie is the same identity), the per-address caps
(votes counted per wish, suggestions per day: each logs one line and counts in sreda_wishes_refused_total), the
word lists and a curator hiding a wish, a global ban, a public reply, a link to an event (its public JSON names
the wish), paging and sorting."""
import http.client
import json
import unittest

from media_helpers import Studio, metric
from sreda_harness import ServerTestCase, wait_for

VOTE_CAP = 3  # ws.max_ratings_per_address, as set below (votes are capped per address as ratings are)
PER_DAY = 5   # audience::kWishesPerAddressPerDay


class Client:
    """A browser of the wishes page: one client address and the sreda_viewer cookie the server gave it."""

    def __init__(self, server, source="127.0.0.1", cookie=None):
        self.server, self.source, self.cookie = server, source, cookie
        self.set_cookie = None

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30, source_address=(self.source, 0))
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.cookie:
            headers["Cookie"] = f"sreda_viewer={self.cookie}"
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
            r = conn.getresponse()
            status, data, got = r.status, r.read(), r.getheader("set-cookie")
        finally:
            conn.close()
        self.set_cookie = got
        if got and got.startswith("sreda_viewer="):
            self.cookie = got.split(";")[0].split("=", 1)[1]
        return status, (json.loads(data) if data and data[:1] in b"{[" else data)

    def suggest(self, text, category="concert"):
        return self.call("POST", "/api/public/wishes", {"text": text, "category": category})

    def vote(self, wish_id):
        return self.call("POST", f"/api/public/wishes/{wish_id}/vote")


class WishesTest(ServerTestCase):
    env = {"SREDA_WS_MAX_RATINGS_PER_ADDRESS": str(VOTE_CAP), "SREDA_SERVER_API_REQUESTS_PER_S": "1000",
           "SREDA_SERVER_API_BURST": "1000"}

    def public(self, query="", client=None):
        status, page = (client or Client(self.server)).call("GET", "/api/public/wishes" + query)
        self.assertEqual(status, 200, page)
        return page

    def listed(self, wish_id, client=None):
        return next((w for w in self.public("?sort=new", client)["items"] if w["id"] == wish_id), None)

    def test_suggest_in_russian_and_english_and_vote_once_per_identity(self):
        anna = Client(self.server, "127.0.0.2")
        status, ru = anna.suggest("Вечер татарской музыки в библиотеке", "concert")
        self.assertEqual(status, 201, ru)
        self.assertIn("HttpOnly", anna.set_cookie)
        self.assertIn("SameSite=Lax", anna.set_cookie)
        self.assertEqual((ru["text"], ru["category"], ru["votes"], ru["status"]),
                         ("Вечер татарской музыки в библиотеке", "concert", 0, "visible"))
        status, en = anna.suggest("A lecture on the city's old wooden houses", "lecture")
        self.assertEqual(status, 201, en)
        self.assertIsNone(anna.set_cookie, "a request with the cookie keeps it")
        self.assertEqual(self.listed(en["id"])["category"], "lecture")

        self.assertEqual(anna.vote(ru["id"]), (200, {"id": ru["id"], "votes": 1, "voted": True, "counted": True}))
        self.assertEqual(anna.vote(ru["id"])[1]["votes"], 1, "a second vote from one identity changes nothing")
        boris = Client(self.server, "127.0.0.2")  # no cookie: the vote gives him one
        self.assertEqual(boris.vote(ru["id"])[1]["votes"], 2)
        self.assertTrue(boris.cookie)
        # The pages' cookie (the audience socket's identity) is the same identity for wishes.
        vera = Client(self.server, "127.0.0.2")
        vera.call("GET", "/wishes")
        self.assertTrue(vera.cookie, "the wishes page sets sreda_viewer")
        self.assertEqual(vera.vote(ru["id"])[1]["votes"], 3)
        self.assertEqual(vera.vote(ru["id"])[1]["votes"], 3)
        self.assertTrue(self.listed(ru["id"], vera)["voted"])
        self.assertFalse(self.listed(ru["id"])["voted"])

        status, bad = anna.suggest("ab", "opera")
        self.assertEqual(status, 422)
        self.assertEqual(sorted(f["field"] for f in bad["error"]["fields"]), ["category", "text"])
        self.assertEqual(anna.vote(999999)[0], 404)

    def test_one_address_cannot_move_a_wish_or_flood_the_list(self):
        _, wish = Client(self.server, "127.0.0.3").suggest("Экскурсия по музею Тукая", "museum_tour")
        before = metric(self.server, "sreda_wishes_refused_total", reason="vote_cap")
        answers = [Client(self.server, "127.0.0.4").vote(wish["id"])[1] for _ in range(VOTE_CAP + 5)]
        self.assertEqual([a["counted"] for a in answers], [True] * VOTE_CAP + [False] * 5)
        self.assertEqual(answers[-1]["votes"], VOTE_CAP, "fresh identities from one address count up to the cap")
        self.assertEqual(Client(self.server, "127.0.0.5").vote(wish["id"])[1]["votes"], VOTE_CAP + 1)
        self.assertEqual(metric(self.server, "sreda_wishes_refused_total", reason="vote_cap") - before, 5)
        line = f"wish {wish['id']}: votes from 127.0.0.4 beyond {VOTE_CAP}"
        wait_for(lambda: line in self.server.log(), what="the vote cap's log line")  # the log is read as it comes
        self.assertEqual(self.server.log().count(line), 1)

        flood = Client(self.server, "127.0.0.6")
        statuses = [flood.suggest(f"Предложение номер {i}")[0] for i in range(PER_DAY + 2)]
        self.assertEqual(statuses, [201] * PER_DAY + [429, 429])
        self.assertEqual(flood.suggest("ещё одно")[1]["error"]["code"], "wish_limit")
        self.assertEqual(metric(self.server, "sreda_wishes_refused_total", reason="address_cap"), 3)
        wait_for(lambda: "refusing wishes from 127.0.0.6" in self.server.log(), what="the address cap's log line")
        self.assertEqual(self.server.log().count("refusing wishes from 127.0.0.6"), 1)
        self.assertEqual(Client(self.server, "127.0.0.7").suggest("Another address may still suggest")[0], 201)
        for n in range(1, 4):  # enough for two pages
            for i in range(PER_DAY):
                self.assertEqual(Client(self.server, f"127.0.1.{n}").suggest(f"Wish {i} from address {n}")[0], 201)

        # Paging (20 a page) and sorting: most votes first, or newest first.
        top, fresh = self.public("?sort=top"), self.public("?sort=new")
        self.assertEqual((len(top["items"]), top["page_size"]), (20, 20))
        self.assertGreaterEqual(top["total"], 4 * PER_DAY + 2)
        votes = [w["votes"] for w in top["items"]]
        self.assertEqual(votes, sorted(votes, reverse=True))
        self.assertEqual(top["items"][0]["id"], wish["id"])
        ids = [w["id"] for w in fresh["items"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        second = self.public("?sort=new&page=2")
        self.assertEqual(second["page"], 2)
        self.assertTrue(second["items"] and second["items"][0]["id"] < ids[-1])
        for query in ("?sort=best", "?page=0", "?page=x"):
            self.assertEqual(Client(self.server).call("GET", "/api/public/wishes" + query)[0], 400, query)

    def test_word_lists_curators_and_bans_moderate_wishes(self):
        token = self.token
        r = self.server.post("/api/audience/words", {"language": "ru", "words": ["редиска"]}, token=token)
        self.assertEqual(r.status, 200, r)
        gleb = Client(self.server, "127.0.0.8")
        status, held = gleb.suggest("Пусть выступит редиска", "other")
        self.assertEqual((status, held["status"]), (201, "held"))
        self.assertIsNone(self.listed(held["id"]), "a held wish is not listed")
        status, fine = gleb.suggest("Мастер-класс по каллиграфии", "master_class")
        self.assertTrue(self.listed(fine["id"]))

        r = self.server.post(f"/api/wishes/{fine['id']}/hide", token=token)
        self.assertEqual((r.status, r.json["status"]), (200, "hidden"))
        self.assertIsNone(self.listed(fine["id"]))
        self.assertEqual(gleb.vote(fine["id"])[0], 404, "a hidden wish takes no votes")
        log = self.server.get("/api/audience/log", token=token).json["log"]
        self.assertIn(("hide", f"wish {fine['id']}"), [(e["action"], e["target"]) for e in log])
        curators = self.server.get("/api/wishes?sort=new", token=token).json["items"]
        self.assertEqual({w["id"]: w["status"] for w in curators if w["id"] in (held["id"], fine["id"])},
                         {held["id"]: "held", fine["id"]: "hidden"})
        self.assertEqual(self.server.post(f"/api/wishes/{held['id']}/unhide", token=token).status, 200)
        self.assertTrue(self.listed(held["id"]))
        self.assertEqual(self.server.get("/api/wishes").status, 401)

        # A viewer banned from every event may neither suggest nor vote.
        viewer_id = next(w["viewer_id"] for w in curators if w["id"] == fine["id"])
        r = self.server.post("/api/audience/bans", {"viewer_id": viewer_id}, token=token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(gleb.suggest("Ещё одно предложение")[0], 403)
        self.assertEqual(gleb.vote(held["id"])[0], 403)

    def test_a_reply_and_the_event_that_answers_a_wish(self):
        _, wish = Client(self.server, "127.0.0.9").suggest("Концерт органной музыки", "concert")
        event_id = Studio(self.server, self.token, self.next_name("Wishes studio"), minutes_from_now=120).event_id
        r = self.server.request("PATCH", f"/api/wishes/{wish['id']}", {"reply": "Запланировано на 12 марта",
                                                                       "event_id": event_id}, token=self.token)
        self.assertEqual(r.status, 200, r)
        listed = self.listed(wish["id"])
        self.assertEqual((listed["reply"], listed["event_id"]), ("Запланировано на 12 марта", event_id))
        event = self.server.get(f"/api/public/events/{event_id}").json
        self.assertEqual(event["wish"]["text"], "Концерт органной музыки")
        r = self.server.request("PATCH", f"/api/wishes/{wish['id']}", {"event_id": 999999}, token=self.token)
        self.assertEqual(r.status, 422)
        r = self.server.request("PATCH", f"/api/wishes/{wish['id']}", {"reply": None, "event_id": None}, token=self.token)
        self.assertEqual((r.json["reply"], r.json["event_id"]), (None, None))
        self.assertNotIn("wish", self.server.get(f"/api/public/events/{event_id}").json)


if __name__ == "__main__":
    unittest.main()
