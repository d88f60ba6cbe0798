"""Rules in `procwatch serve --config` on the real machine (root).

A rule "exactly one copy, for: 2s": a second copy living 0.5 s must not flip procwatch_rule_ok;
one living 5 s must. Also /api/v1/rules, `check --from`, the JSON log line per change,
procwatch_cpu_hog for a busy loop and `promtool check metrics` on the whole /metrics.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwtest  # noqa: E402

PROCWATCH = pwtest.PROCWATCH


def get(url, timeout=5):
    return pwtest.http_get(url, timeout)[2]


def metric(text, name, labels):
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return None if m is None else float(m.group(1))


class RulesDaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bins = pwtest.TempBin()
        cls.started = []
        cls.copy_bin = cls.bins.copy("/bin/sleep", "pwdr")
        cls.busy_bin = cls.bins.copy("/bin/sh", "pwdb")
        cls.name = os.path.basename(cls.copy_bin)
        cls.first = cls.spawn([cls.copy_bin, "600"])
        cls.config = os.path.join(cls.bins.dir, "rules.yml")
        with open(cls.config, "w") as f:
            f.write("""\
rules:
  - name: one-copy
    match:
      name: %s
    count: "1:1"
    for: 2s
cpu:
  max_percent: 80
  window: 2s
  exempt:
    names: ["cc1plus", "cc1", "ld", "*clang*", "python3*"]
""" % cls.name)
        cls.port = pwtest.free_port()
        cls.base = "http://127.0.0.1:%d" % cls.port
        cls.serve = subprocess.Popen(
            [PROCWATCH, "serve", "--config", cls.config, "--cpu-interval", "1s",
             "--web.listen-address", "127.0.0.1:%d" % cls.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cls.log = []
        cls.log_lock = threading.Lock()

        def read_err():
            for line in cls.serve.stderr:
                with cls.log_lock:
                    cls.log.append(line.rstrip("\n"))

        cls.err_thread = threading.Thread(target=read_err, daemon=True)
        cls.err_thread.start()
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if "procwatch_rule_ok" in get(cls.base + "/metrics", timeout=1):
                    break
            except OSError:
                pass
            if cls.serve.poll() is not None:
                raise AssertionError("procwatch serve exited: %s" % "\n".join(cls.log))
            time.sleep(0.1)
        else:
            raise AssertionError("procwatch serve did not come up")

    @classmethod
    def spawn(cls, argv):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        cls.started.append(p)
        return p

    @classmethod
    def tearDownClass(cls):
        cls.serve.terminate()
        try:
            cls.serve.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.serve.kill()
            cls.serve.wait()
        cls.err_thread.join(timeout=5)
        for p in cls.started:
            p.kill()
            p.wait(timeout=10)
        cls.bins.cleanup()

    def rule_ok(self):
        return metric(get(self.base + "/metrics"), "procwatch_rule_ok", 'rule="one-copy"')

    def watch(self, seconds):
        """procwatch_rule_ok{rule="one-copy"} every 100 ms for `seconds`."""
        seen = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            seen.append(self.rule_ok())
            time.sleep(0.1)
        return seen

    def wait_for(self, pred, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        return pred()

    def logs_for(self, rule):
        with self.log_lock:
            lines = list(self.log)
        out = []
        for line in lines:
            if line.startswith("{"):
                obj = json.loads(line)  # every structured line is valid JSON
                if obj.get("rule") == rule:
                    out.append(obj)
        return out

    def test_1_short_second_instance_does_not_flip(self):
        self.assertTrue(self.wait_for(lambda: self.rule_ok() == 1.0, 5))
        blip = self.spawn([self.copy_bin, "0.5"])
        seen = self.watch(3.5)
        blip.wait(timeout=5)
        self.assertEqual(set(seen), {1.0}, seen)
        self.assertEqual(self.logs_for("one-copy"), [])
        text = get(self.base + "/metrics")
        self.assertEqual(metric(text, "procwatch_rule_violations_total", 'rule="one-copy"'), 0)

    def test_2_long_second_instance_flips_after_for(self):
        self.assertTrue(self.wait_for(lambda: self.rule_ok() == 1.0, 5))
        started = time.time()
        second = self.spawn([self.copy_bin, "5"])
        flipped = self.wait_for(lambda: self.rule_ok() == 0.0, 4.5)
        took = time.time() - started
        self.assertTrue(flipped, "rule_ok never went to 0")
        self.assertGreaterEqual(took, 1.9)  # not before `for: 2s`
        text = get(self.base + "/metrics")
        self.assertEqual(metric(text, "procwatch_rule_processes", 'rule="one-copy"'), 2)
        self.assertEqual(metric(text, "procwatch_rule_violations_total", 'rule="one-copy"'), 1)

        states = json.loads(get(self.base + "/api/v1/rules"))
        rule = [r for r in states["rules"] if r["rule"] == "one-copy"][0]
        self.assertFalse(rule["ok"])
        self.assertEqual(sorted(rule["pids"]), sorted([self.first.pid, second.pid]))
        self.assertGreaterEqual(rule["violating_for_s"], 2.0)

        r = subprocess.run([PROCWATCH, "check", "--from", self.base], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("PROCS CRITICAL: one-copy: 2 processes"), r.stdout)

        logs = self.logs_for("one-copy")
        self.assertEqual(len(logs), 1, logs)
        self.assertEqual((logs[0]["ok"], logs[0]["status"], logs[0]["count"]),
                         (False, "CRITICAL", 2))

        second.wait(timeout=10)
        self.assertTrue(self.wait_for(lambda: self.rule_ok() == 1.0, 3))
        logs = self.wait_for(lambda: len(self.logs_for("one-copy")) == 2 and
                             self.logs_for("one-copy"), 3)
        self.assertTrue(logs)
        self.assertEqual(logs[1]["ok"], True)
        r = subprocess.run([PROCWATCH, "check", "--format", "mon", "--from", self.base],
                           capture_output=True, text=True, timeout=30)
        self.assertNotIn("one-copy", r.stdout)

    def test_3_busy_loop_is_a_cpu_hog(self):
        busy = self.spawn([self.busy_bin, "-c", "while :; do :; done"])
        try:
            def hog_tree():
                text = get(self.base + "/metrics")
                m = re.search(r'^procwatch_cpu_hog\{tree="([^"]*%s[^"]*)"\} (\d+)$' %
                              re.escape(os.path.basename(self.busy_bin)), text, re.M)
                return m and (m.group(1), int(m.group(2)))
            hit = self.wait_for(hog_tree, 8)
            self.assertTrue(hit, get(self.base + "/metrics"))
            self.assertGreaterEqual(hit[1], 1)
            states = json.loads(get(self.base + "/api/v1/rules"))
            cpu = [r for r in states["rules"] if r["rule"] == "cpu"][0]
            self.assertIn(busy.pid, [h["pid"] for h in cpu["hogs"]])
        finally:
            busy.kill()
            busy.wait()

    def test_4_metrics_pass_promtool(self):
        text = get(self.base + "/metrics")
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_5_bad_config_exits_2(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("rules:\n  - name: x\n    match: {name: x}\n    count: '5:1'\n")
        try:
            r = subprocess.run([PROCWATCH, "serve", "--config", f.name, "--web.listen-address",
                                "127.0.0.1:%d" % pwtest.free_port()],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertRegex(r.stderr, r"^procwatch: %s:4:\d+: " % re.escape(f.name))
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    pwtest.main()
