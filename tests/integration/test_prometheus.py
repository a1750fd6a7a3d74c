"""The monitoring that ships in deploy/prometheus: promtool accepts the scrape config and the alert rules, the
rules' own unit tests pass (sreda-alerts.test.yml), every sreda metric a rule names is one sreda serves, and a
real Prometheus (Debian's, on a free port of 127.0.0.1 with a temp storage dir) scrapes a real sreda with the
shipped config: sreda is `up`, its metrics have values, the rules are loaded and evaluate without error, none
fires for a healthy server, and SredaDown starts (pending) when sreda stops."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from sreda_harness import SOURCE_DIR, Server, wait_for

DEPLOY = os.path.join(SOURCE_DIR, "deploy", "prometheus")
CONFIG = os.path.join(DEPLOY, "prometheus.yml")
RULES = os.path.join(DEPLOY, "sreda-alerts.yml")
RULE_TESTS = os.path.join(DEPLOY, "sreda-alerts.test.yml")


def promtool(*args):
    r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def setUpModule():
    for tool in ("promtool", "prometheus"):
        if not shutil.which(tool):
            raise AssertionError(f"{tool} is not installed: run scripts/setup (Debian's prometheus package)")


def read(path):
    with open(path) as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PromtoolTest(unittest.TestCase):
    def test_config_and_rules_are_valid(self):
        code, out = promtool("check", "config", CONFIG)
        self.assertEqual(code, 0, out)
        self.assertIn("1 rule files found", out)
        code, out = promtool("check", "rules", RULES)
        self.assertEqual(code, 0, out)

    def test_each_alert_fires_on_trouble_and_not_on_a_healthy_server(self):
        code, out = promtool("test", "rules", RULE_TESTS)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS", out)
        # Every alert has its test.
        alerts = set(re.findall(r"^\s+- alert: (\w+)$", read(RULES), re.M))
        tested = set(re.findall(r"^\s+alertname: (\w+)$", read(RULE_TESTS), re.M))
        self.assertEqual(alerts - tested, set(), "alerts without a promtool test")


class PrometheusScrapesSredaTest(unittest.TestCase):
    def setUp(self):
        self.server = Server().start()
        self.addCleanup(self.server.cleanup)
        self.dir = tempfile.mkdtemp(prefix="sreda-prometheus-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.prometheus = None
        self.addCleanup(self.stop_prometheus)

    def stop_prometheus(self):
        if self.prometheus and self.prometheus.poll() is None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
                self.prometheus.wait()

    def render_config(self):
        """The shipped config with this test's sreda port and a 1 s scrape and evaluation interval."""
        text = read(CONFIG)
        for old, new in (("'127.0.0.1:8080'", f"'127.0.0.1:{self.server.port}'"),
                         ("scrape_interval: 15s", "scrape_interval: 1s"),
                         ("evaluation_interval: 15s", "evaluation_interval: 1s"),
                         ("scrape_timeout: 10s", "scrape_timeout: 1s")):
            self.assertIn(old, text, "the shipped prometheus.yml changed shape: update this test")
            text = text.replace(old, new)
        path = os.path.join(self.dir, "prometheus.yml")
        with open(path, "w") as f:
            f.write(text)
        shutil.copy(RULES, self.dir)  # rule_files are relative to the config
        return path

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except OSError:
            return None  # not listening yet
        self.assertEqual(body["status"], "success", body)
        return body["data"]

    def query(self, expr):
        """The instant vector of `expr`: {frozenset of labels: value}; None while Prometheus is not up."""
        data = self.api("query", query=expr)
        if data is None:
            return None
        return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data["result"]}

    def test_a_real_prometheus_scrapes_sreda_with_the_shipped_config(self):
        # The rules name only metrics this sreda serves (an unknown name would never fire).
        metrics = self.server.get("/metrics").text
        named = set(re.findall(r"\b(sreda_[a-z_]+)\b", read(RULES)))
        served = set(re.findall(r"^# TYPE (\S+) ", metrics, re.M))
        self.assertGreater(len(named), 5)
        self.assertEqual(named - served, set(), "metrics named in sreda-alerts.yml that sreda does not serve")

        config = self.render_config()
        self.port = free_port()
        log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.addCleanup(log.close)
        self.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)

        def prometheus_log():
            return read(os.path.join(self.dir, "prometheus.log"))[-3000:]

        def scraped():
            self.assertIsNone(self.prometheus.poll(), "prometheus exited:\n" + prometheus_log())
            up = self.query('up{job="sreda"}')
            return up if up and list(up.values()) == [1.0] else None

        up = wait_for(scraped, 60, "Prometheus to scrape sreda (up == 1)", every=0.5)
        self.assertEqual(dict(next(iter(up)))["instance"], f"127.0.0.1:{self.server.port}")
        uptime = wait_for(lambda: self.query('sreda_uptime_seconds{job="sreda"}'), 30, "sreda_uptime_seconds",
                          every=0.5)
        self.assertGreater(list(uptime.values())[0], 0)
        disk = wait_for(lambda: self.query('sreda_disk_free_bytes{job="sreda",dir="data"}'), 30,
                        "sreda_disk_free_bytes", every=0.5)
        self.assertGreater(list(disk.values())[0], 0)

        # The rules are loaded and evaluate without error; none fires for a healthy sreda.
        def evaluated():
            groups = self.api("rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            never = "0001-01-01"  # the time Prometheus shows for a rule not evaluated yet
            return rules if rules and all(not r["lastEvaluation"].startswith(never) for r in rules) else None

        rules = wait_for(evaluated, 30, "every rule evaluated once", every=0.5)
        self.assertIn("SredaDown", {r["name"] for r in rules})
        for r in rules:
            self.assertEqual(r["health"], "ok", r)
        self.assertEqual([a for a in self.api("alerts")["alerts"] if a["state"] == "firing"], [])

        # sreda stops: Prometheus sees it down and SredaDown is on its way (pending for its minute).
        self.server.stop()
        wait_for(lambda: self.query('up{job="sreda"}') and list(self.query('up{job="sreda"}').values()) == [0.0],
                 30, "up == 0 once sreda stopped", every=0.5)

        def pending_down():
            return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == "SredaDown"]

        down = wait_for(pending_down, 30, "SredaDown pending", every=0.5)
        self.assertEqual(down[0]["state"], "pending")
        self.assertEqual(down[0]["labels"]["severity"], "critical")


if __name__ == "__main__":
    unittest.main()
