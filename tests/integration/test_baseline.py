"""`serve --baseline` on the real kernel (root): learn, then flag what was never seen.

Script A runs while the baseline learns (3 s); afterwards A again and a new script B: only B is
counted in procwatch_unexpected_execs_total and has "expected": false in the events log. After a
restart the file keeps the learned entries and enforcement. The offline CLI lists, forgets and
freezes.

Through the API (basic auth from --web.config.file): `baseline diff --from` shows B flagged,
`baseline approve --from` B takes effect in the running daemon at once (B again is expected)
and is saved; without credentials the POST is 401. The `unexpected` rule is violated while B is
flagged (`check --from` says WARNING), and OK once approved; after a restart B stays expected.

Saving: a new file is written at once; an existing one not at the first exec after a start, but
after a whole --baseline.save-interval or at SIGTERM.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import urllib.error
import urllib.request

from pwtest import PROCWATCH, free_port, http_get, main, samples, stop, unique, wait_until

# htpasswd -nbBC 10 prometheus s3cret-pass (the hash test_web.py uses)
HASH = "$2y$10$/ylqEOB8seHwk0cHHv04kO6DAlfPhp3EGguCtoF8krNT2GqVi8jnO"
PASSWORD = "s3cret-pass"


def metrics_auth(base):
    import base64
    req = urllib.request.Request(base + "/metrics")
    req.add_header("Authorization", "Basic " +
                   base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def script(dir_, name):
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n/bin/true\n")
    os.chmod(path, 0o755)
    return path


class BaselineTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pwbase-")
        os.chmod(self.dir, 0o755)
        self.file = os.path.join(self.dir, "baseline.yml")
        self.log = os.path.join(self.dir, "events.log")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *extra, auth=False, learn="3s", save_interval="1s"):
        port = free_port()
        p = subprocess.Popen([PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{port}",
                              "--baseline", self.file, "--baseline.learn", learn,
                              "--baseline.save-interval", save_interval, "--events-log", self.log,
                              *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(stop, p, signal.SIGKILL)
        base = f"http://127.0.0.1:{port}"
        def healthy():
            try:
                return http_get(base + "/-/healthy")[0] == 200
            except urllib.error.HTTPError as e:
                return auth and e.code == 401
            except OSError:
                return False
        self.assertTrue(wait_until(healthy, 20))
        return p, base

    def unexpected(self, base, name):
        return sum(v for l, v in samples(http_get(base + "/metrics")[2],
                                         "procwatch_unexpected_execs_total")
                   if name in l["tree"].split("/"))

    def logged(self, path):
        with open(self.log) as f:
            return [e for e in map(json.loads, f) if e["event"] == "exec" and path in e["argv"]]

    def test_learn_then_flag_and_survive_a_restart(self):
        a = script(self.dir, unique("basea") + ".sh")
        b = script(self.dir, unique("baseb") + ".sh")
        p, base = self.serve()
        text = http_get(base + "/metrics")[2]
        self.assertEqual(samples(text, "procwatch_baseline_learning")[0][1], 1)
        subprocess.run([a], check=True)
        self.assertTrue(wait_until(lambda: self.logged(a), 10))
        self.assertTrue(all(e["expected"] for e in self.logged(a)), self.logged(a))
        self.assertTrue(wait_until(lambda: samples(http_get(base + "/metrics")[2],
                                                   "procwatch_baseline_learning")[0][1] == 0
                                   or None, 10, step=0.5))
        subprocess.run([a], check=True)
        subprocess.run([b], check=True)
        self.assertTrue(wait_until(lambda: self.logged(b), 10))
        self.assertEqual(self.logged(b)[0]["expected"], False)
        self.assertTrue(wait_until(lambda: len(self.logged(a)) == 2, 10))
        self.assertEqual(self.logged(a)[1]["expected"], True)
        names_b = os.path.basename(b)
        self.assertEqual(wait_until(lambda: self.unexpected(base, names_b) >= 2 and
                                    self.unexpected(base, names_b), 10), 2)  # sh + true
        self.assertEqual(self.unexpected(base, os.path.basename(a)), 0)
        self.assertEqual(stop(p), 0)
        p.stderr.close()
        with open(self.file) as f:
            text = f.read()
        self.assertIn(os.path.basename(a), text)
        entries_text = text.split("\nflagged:")[0]
        self.assertNotIn(names_b, entries_text)
        self.assertIn(names_b, text.split("\nflagged:")[1])  # kept for review

        # A restart keeps the entries and the learning start: still enforcing. B is still
        # flagged (the file keeps it), so the unexpected rule is violated: check --from warns.
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write("unexpected: {severity: warning}\n")
        p2, base2 = self.serve("--config", rules)
        r = None
        for _ in range(30):
            r = subprocess.run([PROCWATCH, "check", "--from", base2], capture_output=True,
                               text=True, timeout=30)
            if r.returncode == 1:
                break
            time.sleep(0.3)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("PROCS WARNING: unexpected: ", r.stdout)
        # The message names the first five trees; this machine may have flagged others too.
        r = subprocess.run([PROCWATCH, "baseline", "diff", "--json", "--from", base2],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(any(names_b in e["tree"] for e in json.loads(r.stdout)), r.stdout)
        self.assertEqual(samples(http_get(base2 + "/metrics")[2],
                                 "procwatch_baseline_learning")[0][1], 0)
        subprocess.run([a], check=True)
        subprocess.run([b], check=True)
        self.assertEqual(wait_until(lambda: self.unexpected(base2, names_b) >= 2 and
                                    self.unexpected(base2, names_b), 10), 2)
        self.assertEqual(self.unexpected(base2, os.path.basename(a)), 0)
        self.assertEqual(stop(p2), 0)
        p2.stderr.close()

        # Offline: list shows A; forget it; freeze.
        r = subprocess.run([PROCWATCH, "baseline", "list", "--json", "--file", self.file],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        trees = [e["tree"] for e in json.loads(r.stdout)]
        tree_a = [t for t in trees if os.path.basename(a) in t.split("/")]
        self.assertTrue(tree_a, trees)
        r = subprocess.run([PROCWATCH, "baseline", "forget", "--file", self.file, tree_a[0]],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([PROCWATCH, "baseline", "list", "--file", self.file],
                           capture_output=True, text=True)
        self.assertNotIn(tree_a[0] + " ", r.stdout)
        r = subprocess.run([PROCWATCH, "baseline", "forget", "--file", self.file, "/no/such"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

        # Offline diff shows B flagged (exit 1); approve moves it into the entries (exit 0).
        r = subprocess.run([PROCWATCH, "baseline", "diff", "--json", "--file", self.file],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        tree_b = sorted({e["tree"] for e in json.loads(r.stdout)
                         if names_b in e["tree"].split("/")})
        self.assertTrue(tree_b, r.stdout)
        r = subprocess.run([PROCWATCH, "baseline", "approve", "--file", self.file, *tree_b],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([PROCWATCH, "baseline", "diff", "--file", self.file],
                           capture_output=True, text=True)
        self.assertNotIn(names_b, r.stdout)

    def test_approve_through_the_api_with_basic_auth(self):
        a = script(self.dir, unique("basea") + ".sh")
        b = script(self.dir, unique("baseb") + ".sh")
        web = os.path.join(self.dir, "web.yml")
        with open(web, "w") as f:
            f.write(f"basic_auth_users:\n  prometheus: {HASH}\n")
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            f.write("unexpected:\n  severity: warning\n  for: 0s\n"
                    "  except: {trees: ['/no/such/*']}\n")
        extra = ["--web.config.file", web, "--config", rules]
        env = dict(os.environ, PROCWATCH_PASSWORD=PASSWORD)
        p, base = self.serve(*extra, auth=True)
        subprocess.run([a], check=True)
        self.assertTrue(wait_until(lambda: self.logged(a), 10))
        self.assertTrue(wait_until(lambda: samples(metrics_auth(base),
                                                   "procwatch_baseline_learning")[0][1] == 0
                                   or None, 10, step=0.5))
        subprocess.run([a], check=True)
        subprocess.run([b], check=True)
        self.assertTrue(wait_until(lambda: self.logged(b), 10))
        self.assertEqual(self.logged(b)[0]["expected"], False)
        names_b = os.path.basename(b)

        def pw(*args, **kw):
            return subprocess.run([PROCWATCH, "baseline", *args, "--from", base,
                                   "--user", "prometheus"], capture_output=True, text=True,
                                  env=kw.get("env", env), timeout=30)

        # diff: B flagged (exit 1), A not.
        r = self.wait_for(lambda: pw("diff", "--json"),
                          lambda r: any(names_b in e["tree"] for e in json.loads(r.stdout)))
        self.assertEqual(r.returncode, 1, r.stderr)
        flagged = json.loads(r.stdout)
        self.assertFalse([e for e in flagged if os.path.basename(a) in e["tree"]], flagged)
        trees_b = sorted({e["tree"] for e in flagged if names_b in e["tree"].split("/")})
        # The unexpected rule: WARNING through check --from (no auth on check: read /api/v1/rules
        # with the credentials here instead).
        def rule_state():
            import base64
            req = urllib.request.Request(base + "/api/v1/rules")
            req.add_header("Authorization", "Basic " +
                           base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode())
            with urllib.request.urlopen(req, timeout=5) as resp:
                doc = json.loads(resp.read())
            return [x for x in doc["rules"] if x["rule"] == "unexpected"][0]
        # Other launches on the machine may fail the rule first: wait for B among its keys.
        self.assertTrue(wait_until(lambda: (lambda s: s["ok"] is False and any(
            names_b in k for k in s["failing_keys"]))(rule_state()), 10), rule_state())
        # No credentials: 401, exit 3, one line.
        r = pw("approve", *trees_b, env={k: v for k, v in env.items()
                                         if k != "PROCWATCH_PASSWORD"})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("401", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        # A tree that is not flagged: exit 1, nothing changed.
        r = pw("approve", "/no/such/tree")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = pw("approve", *trees_b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("approved", r.stdout)
        # Saved at once, and in effect at once: B again is expected.
        with open(self.file) as f:
            self.assertIn(names_b, f.read().split("\nflagged:")[0])
        subprocess.run([b], check=True)
        self.assertTrue(wait_until(lambda: len(self.logged(b)) >= 2, 10))
        self.assertEqual(self.logged(b)[-1]["expected"], True, self.logged(b))
        # Other launches on this machine may be flagged too: B's trees are gone from the rule.
        self.assertTrue(wait_until(lambda: not any(names_b in k for k in
                                                   rule_state()["failing_keys"]), 10),
                        rule_state())
        r = pw("diff")
        self.assertNotIn(names_b, r.stdout)
        self.assertEqual(stop(p), 0)
        p.stderr.close()

        # Restart: B stays expected, still enforcing.
        p2, base2 = self.serve(*extra, auth=True)
        self.assertEqual(samples(metrics_auth(base2), "procwatch_baseline_learning")[0][1], 0)
        n = len(self.logged(b))
        subprocess.run([b], check=True)
        self.assertTrue(wait_until(lambda: len(self.logged(b)) > n, 10))
        self.assertEqual(self.logged(b)[-1]["expected"], True)
        self.assertEqual(sum(v for l, v in samples(metrics_auth(base2),
                                                   "procwatch_unexpected_execs_total")
                             if names_b in l["tree"]), 0)
        self.assertEqual(stop(p2), 0)
        p2.stderr.close()

    def wait_for(self, run, pred, timeout=10):
        deadline = time.time() + timeout
        while True:
            r = run()
            try:
                if pred(r):
                    return r
            except ValueError:
                pass
            if time.time() > deadline:
                self.fail(f"timed out: {r.returncode} {r.stdout} {r.stderr}")
            time.sleep(0.3)

    def test_save_interval_holds_from_the_start(self):
        # A new file is written at once; an existing one only after a whole interval (not at
        # the first exec after start) or at SIGTERM.
        a = script(self.dir, unique("basesave") + ".sh")
        run_serve = lambda: self.serve(learn="1h", save_interval="1h")[0]
        p = run_serve()
        self.assertTrue(wait_until(lambda: os.path.exists(self.file), 10))
        subprocess.run([a], check=True)
        self.assertTrue(wait_until(lambda: self.logged(a), 10))
        self.assertEqual(stop(p), 0)
        p.stderr.close()
        with open(self.file) as f:
            self.assertIn(os.path.basename(a), f.read())
        before = os.stat(self.file).st_mtime_ns
        p = run_serve()
        subprocess.run([a], check=True)
        self.assertTrue(wait_until(lambda: len(self.logged(a)) >= 2, 10), self.logged(a))
        time.sleep(1.5)  # several engine ticks after the exec
        self.assertEqual(os.stat(self.file).st_mtime_ns, before)
        self.assertEqual(stop(p), 0)
        p.stderr.close()
        self.assertNotEqual(os.stat(self.file).st_mtime_ns, before)

    def test_corrupt_file_is_one_line_and_a_fresh_learning_period(self):
        with open(self.file, "w") as f:
            f.write("version: 1\nlearning: [\n")
        p, base = self.serve()
        self.assertEqual(samples(http_get(base + "/metrics")[2],
                                 "procwatch_baseline_learning")[0][1], 1)
        self.assertTrue(os.path.exists(self.file + ".corrupt"))
        self.assertEqual(stop(p), 0)
        said = [l for l in p.stderr.read().splitlines() if "baseline" in l]
        p.stderr.close()
        self.assertEqual(len(said), 1, said)
        self.assertIn(self.file + ":", said[0])
        self.assertIn("fresh learning period", said[0])


if __name__ == "__main__":
    main()
