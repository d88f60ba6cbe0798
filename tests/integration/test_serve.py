"""Real-kernel test of `procwatch serve` scraped by a real Prometheus server (issue: serve).

Starts procwatch serve (netlink source) and /usr/bin/prometheus on loopback, runs a uniquely
named script tree, and asserts through Prometheus's query API that the tree's exec counter was
scraped. Also checks /, /-/healthy, a busy port (exit 2, one stderr line) and SIGTERM.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from pwtest import PROCWATCH, TempBin, free_port, http_get, main, stop, unique, wait_until

PROMETHEUS = "/usr/bin/prometheus"


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pwserve-")
        cls.port = free_port()
        cls.serve_err = open(os.path.join(cls.tmp, "serve.err"), "w+")
        cls.serve = subprocess.Popen(
            [PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{cls.port}",
             "--source", "netlink"],
            stdout=subprocess.DEVNULL, stderr=cls.serve_err)
        cls.base = f"http://127.0.0.1:{cls.port}"
        up = wait_until(lambda: http_get(cls.base + "/-/healthy")[0] == 200, 15)
        if not up:
            stop(cls.serve)
            raise AssertionError("procwatch serve did not answer: " + cls._serve_stderr())

    @classmethod
    def tearDownClass(cls):
        stop(cls.serve)
        cls.serve_err.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def _serve_stderr(cls):
        cls.serve_err.flush()
        cls.serve_err.seek(0)
        return cls.serve_err.read()

    def test_landing_page_and_health(self):
        status, ctype, body = http_get(self.base + "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", ctype)
        self.assertIn('href="/metrics"', body)
        self.assertIn("netlink", body)
        status, _, body = http_get(self.base + "/-/healthy")
        self.assertEqual((status, body), (200, "procwatch is healthy.\n"))
        status, ctype, body = http_get(self.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("version=0.0.4", ctype)
        self.assertIn('procwatch_build_info{source="netlink"', body)
        self.assertRegex(body, r"\nprocess_resident_memory_bytes [0-9.e+]+\n")

    def test_pipeline_series(self):
        """The queue, the source's own counters, the engine's lag and the scrape's duration."""
        import re
        # Some launches, so the source has counted events.
        for _ in range(5):
            subprocess.run(["/bin/true"], check=True)

        def value(body, series):
            m = re.search(r"^" + re.escape(series) + r" ([0-9.e+-]+)$", body, re.M)
            return float(m.group(1)) if m else None

        def events_counted():
            body = http_get(self.base + "/metrics")[2]
            v = value(body, 'procwatch_source_events_total{source="netlink"}')
            return body if v and v >= 5 else None
        body = wait_until(events_counted, 10)
        self.assertTrue(body, http_get(self.base + "/metrics")[2][-3000:])
        for name in ("procwatch_queue_events", "procwatch_queue_dropped_total",
                     "procwatch_engine_lag_seconds", "procwatch_scrape_duration_seconds",
                     "procwatch_engine_last_event_timestamp_seconds"):
            self.assertIn(f"# HELP {name} ", body)
            v = value(body, name)
            self.assertIsNotNone(v, name)
            self.assertGreaterEqual(v, 0, name)
        self.assertEqual(value(body, "procwatch_queue_capacity_events"), 262144)
        self.assertGreater(value(body, "procwatch_engine_last_event_timestamp_seconds"),
                           time.time() - 600)
        self.assertLess(value(body, "procwatch_engine_lag_seconds"), 5)
        self.assertIsNotNone(value(
            body, 'procwatch_source_internal_total{source="netlink",name="seq_gap"}'))
        self.assertIsNotNone(value(
            body, 'procwatch_table_adjustments_total{kind="reparented"}'))
        # A later scrape reports how long an earlier one took.
        self.assertGreater(value(http_get(self.base + "/metrics")[2],
                                 "procwatch_scrape_duration_seconds"), 0)
        self.assertLess(value(http_get(self.base + "/metrics")[2],
                              "procwatch_scrape_duration_seconds"), 2)

    def test_prometheus_scrapes_the_tree(self):
        prom_port = free_port()
        prom_dir = tempfile.mkdtemp(prefix="pwprom-", dir=self.tmp)
        config = os.path.join(prom_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: procwatch\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{self.port}']\n")
        prom_log = open(os.path.join(prom_dir, "prometheus.log"), "w+")
        prom = subprocess.Popen(
            [PROMETHEUS, "--config.file", config, "--storage.tsdb.path",
             os.path.join(prom_dir, "data"), "--web.listen-address", f"127.0.0.1:{prom_port}"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        bins = TempBin()
        try:
            def query(q):
                url = (f"http://127.0.0.1:{prom_port}/api/v1/query?"
                       + urllib.parse.urlencode({"query": q}))
                status, _, body = http_get(url)
                doc = json.loads(body)
                return doc["data"]["result"] if status == 200 and doc["status"] == "success" else []

            up = wait_until(lambda: [r for r in query('up{job="procwatch"}')
                                     if r["value"][1] == "1"], 30, 0.5)
            prom_log.flush()
            prom_log.seek(0)
            self.assertTrue(up, "procwatch never up in Prometheus:\n" + prom_log.read()[-3000:])

            # A uniquely named script, run by a copy of sh, running a copy of sleep. The copy
            # keeps the base name "sh" so naming still sees an interpreter running a script.
            sh = os.path.join(bins.dir, "sh")
            shutil.copy(os.path.realpath("/bin/sh"), sh)
            os.chmod(sh, 0o755)
            sleep = bins.copy("/bin/sleep", "pwsleep")
            script = os.path.join(bins.dir, unique("pwserve") + ".sh")
            with open(script, "w") as f:
                f.write(f"#!{sh}\n{sleep} 3\nexit 0\n")
            os.chmod(script, 0o755)
            name = os.path.basename(script)
            child = subprocess.Popen([sh, script])
            try:
                q = f'procwatch_tree_execs_total{{tree=~".*{name}.*"}}'
                hits = wait_until(lambda: query(q), 30, 0.5)
                self.assertTrue(hits, f"no {q} in Prometheus; procwatch said:\n"
                                + http_get(self.base + "/metrics")[2][:2000])
                self.assertGreaterEqual(float(hits[0]["value"][1]), 1)
                self.assertIn(name, hits[0]["metric"]["tree"])
                # While the sleep runs its tree has a live process.
                live = wait_until(lambda: [r for r in query(
                    f'procwatch_tree_processes{{tree=~".*{name}.*"}}') if float(r["value"][1]) >= 1],
                    10, 0.5)
                self.assertTrue(live)
            finally:
                self.assertEqual(child.wait(timeout=30), 0)
            # The tree's exits show up with outcome="success" (sh and sleep both exit 0).
            q = f'procwatch_tree_exits_total{{tree=~".*{name}.*",outcome="success"}} > 0'
            self.assertTrue(wait_until(lambda: query(q), 15, 0.5), q)
        finally:
            stop(prom)
            prom_log.close()
            bins.cleanup()
            shutil.rmtree(prom_dir, ignore_errors=True)

    def test_busy_port_is_one_line_and_exit_2(self):
        r = subprocess.run([PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{self.port}",
                            "--source", "netlink"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(f"127.0.0.1:{self.port}", lines[0])
        self.assertIn("in use", lines[0])

    def test_bad_flags_exit_2(self):
        for args in (["--web.listen-address", "nonsense"], ["--tree-ttl", "soon"],
                     ["--max-trees", "0"]):
            r = subprocess.run([PROCWATCH, "serve", *args, "--source", "netlink"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertEqual(len(r.stderr.splitlines()), 1, (args, r.stderr))

    def test_sigterm_stops_cleanly(self):
        port = free_port()
        p = subprocess.Popen([PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{port}",
                              "--source", "netlink"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(wait_until(
                lambda: http_get(f"http://127.0.0.1:{port}/-/healthy")[0] == 200, 15))
            t0 = time.time()
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=10)
            self.assertEqual(rc, 0, p.stderr.read())
            self.assertLess(time.time() - t0, 5)
            with self.assertRaises(OSError):
                http_get(f"http://127.0.0.1:{port}/-/healthy", timeout=1)
        finally:
            stop(p, signal.SIGKILL)
            p.stderr.close()


if __name__ == "__main__":
    main()
