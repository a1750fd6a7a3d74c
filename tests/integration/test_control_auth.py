"""Curators, logins, roles and tokens through real HTTP; a restart keeps everything."""
import os
import stat
import unittest

from sreda_harness import ADMIN_PASSWORD, Server, ServerTestCase


class AuthTest(ServerTestCase):
    server_per_test = True  # restarts its server

    def test_login_me_logout(self):
        s = self.server
        r = s.post("/api/login", {"username": "admin", "password": "wrong password"})
        self.assertEqual((r.status, r.json["error"]["code"]), (401, "bad_credentials"))
        r = s.post("/api/login", {"username": "nobody", "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 401)
        r = s.post("/api/login", {"username": "admin"})
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "password"))
        token = s.login()
        self.assertGreaterEqual(len(token), 22)
        r = s.get("/api/me", token=token)
        self.assertEqual((r.status, r.json["username"], r.json["role"]), (200, "admin", "admin"))
        self.assertEqual(s.get("/api/me").status, 401)
        self.assertEqual(s.get("/api/me", token="forged-token-value").status, 401)
        self.assertEqual(s.get("/api/me", headers={"Authorization": "Basic YWRtaW46eA=="}).status, 401)
        self.assertEqual(s.post("/api/logout", token=token).status, 200)
        self.assertEqual(s.get("/api/me", token=token).status, 401)
        # The password is never logged in clear.
        self.assertNotIn(ADMIN_PASSWORD, s.log())

    def test_roles(self):
        s = self.server
        admin = s.login()
        r = s.post("/api/curators", {"username": "maria", "password": "short"}, token=admin)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "password"))
        r = s.post("/api/curators", {"username": "Maria Ivanova", "password": "long enough pass"}, token=admin)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "username"))
        r = s.post("/api/curators", {"username": "maria", "password": "long enough pass", "role": "boss"}, token=admin)
        self.assertEqual((r.status, r.json["error"]["field"]), (422, "role"))
        r = s.post("/api/curators", {"username": "maria", "password": "long enough pass"}, token=admin)
        self.assertEqual((r.status, r.json["role"]), (201, "curator"))
        maria_id = r.json["id"]
        r = s.post("/api/curators", {"username": "maria", "password": "another long pass"}, token=admin)
        self.assertEqual(r.status, 409)
        maria = s.login("maria", "long enough pass")
        # A curator schedules events and reads studios, but does not manage studios or curators.
        self.assertEqual(s.post("/api/studios", {"name": "Hall"}, token=maria).status, 403)
        self.assertEqual(s.get("/api/curators", token=maria).status, 403)
        studio = s.post("/api/studios", {"name": "Hall"}, token=admin).json
        self.assertEqual(s.get("/api/studios", token=maria).status, 200)
        self.assertEqual(s.post(f"/api/studios/{studio['id']}/rotate-key", token=maria).status, 403)
        r = s.post("/api/events", {"title": "Урок танца", "category": "dance", "studio_id": studio["id"],
                                   "starts_at": "2031-03-01T10:00:00Z", "ends_at": "2031-03-01T11:00:00Z"},
                   token=maria)
        self.assertEqual(r.status, 201, r)
        # Admin may not delete itself (the last admin); deleting maria ends her sessions.
        me = s.get("/api/me", token=admin).json
        self.assertEqual(s.request("DELETE", f"/api/curators/{me['id']}", token=admin).status, 409)
        self.assertEqual(s.request("DELETE", f"/api/curators/{maria_id}", token=admin).status, 200)
        self.assertEqual(s.get("/api/me", token=maria).status, 401)
        self.assertEqual([c["username"] for c in s.get("/api/curators", token=admin).json["curators"]], ["admin"])

    def test_failed_logins_are_rate_limited_per_address(self):
        s = self.server
        for _ in range(5):
            self.assertEqual(s.post("/api/login", {"username": "admin", "password": "guess guess"}).status, 401)
        r = s.post("/api/login", {"username": "admin", "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 429, r)
        self.assertGreater(int(r.headers["retry-after"]), 0)

    def test_restart_keeps_everything(self):
        s = self.server
        admin = s.login()
        studio = s.post("/api/studios", {"name": "Студия на Садовой"}, token=admin).json
        event = s.post("/api/events", {"title": "Джаз", "category": "concert", "studio_id": studio["id"],
                                       "starts_at": "2031-05-01T17:00:00Z", "ends_at": "2031-05-01T19:00:00Z"},
                       token=admin).json
        self.assertEqual(s.stop(), 0, s.log())
        self.assertIn("closed: stopped cleanly", s.log())
        s.start()
        self.assertEqual(s.get("/api/me", token=admin).status, 200, "a session survives a restart")
        self.assertEqual(s.get(f"/api/studios/{studio['id']}", token=admin).json, studio)
        self.assertEqual(s.get(f"/api/public/events/{event['id']}").json["title"], "Джаз")
        # kill -9 loses nothing that was acknowledged.
        r = s.post("/api/studios", {"name": "После сбоя"}, token=admin)
        self.assertEqual(r.status, 201)
        s.kill9()
        s.start()
        names = [x["name"] for x in s.get("/api/studios", token=admin).json["studios"]]
        self.assertIn("После сбоя", names)


class FirstStartTest(unittest.TestCase):
    def test_generated_admin_password_is_private_and_works(self):
        s = Server(admin_password=None)
        s.env.pop("SREDA_ADMIN_PASSWORD", None)
        try:
            s.start()
            path = os.path.join(s.data_dir, "admin-password")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            password = open(path).read().strip()
            self.assertGreaterEqual(len(password), 16)
            self.assertIn(path, s.log())
            self.assertNotIn(password, s.log())
            s.login("admin", password)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
