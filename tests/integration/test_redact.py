"""Secrets in command lines never leave procwatch (issue 11), on the real kernel (root).

One long-lived process per default redact pattern, each with a unique secret and a unique
marker argument. trace (JSON and text), tree (JSON and text), the events log, /api/v1/rules,
check output and the rule log lines must show every marker and no secret; trace's JSON argv
must be the exact masked form.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from pwtest import (PROCWATCH, Trace, free_port, http_get, main, stop, unique, wait_until)


def secret():
    return unique("Sx").replace("-", "")


class RedactTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pwredact-")
        os.chmod(cls.dir, 0o755)
        cls.holder = os.path.join(cls.dir, unique("pwholder"))
        shutil.copy(os.path.realpath("/bin/sh"), cls.holder)
        os.chmod(cls.holder, 0o755)
        cls.cases = []  # (argv, masked argv, secrets, marker)

        def case(argv0, args, masked_args, secrets):
            marker = unique("keep")
            cls.cases.append(([argv0, "-c", "sleep 30; :", *args, marker],
                              [argv0, "-c", "sleep 30; :", *masked_args, marker],
                              secrets, marker))

        for opt in ("password", "passwd", "pass", "token", "secret", "api-key", "apikey",
                    "access-key", "client-secret"):
            s1, s2 = secret(), secret()
            case("app", ["--%s=%s" % (opt, s1)], ["--%s=***" % opt], [s1])
            case("app", ["--%s" % opt, s2], ["--%s" % opt, "***"], [s2])
        s = secret()
        case("mysql", ["-u", "app", "-p" + s, "db"], ["-u", "app", "-p***", "db"], [s])
        s = secret()
        case("git", ["clone", "https://bob:%s@example.com/r.git" % s],
             ["clone", "https://bob:***@example.com/r.git"], [s])
        s = secret()
        case("curl", ["-H", "Authorization: Bearer " + s],
             ["-H", "Authorization: Bearer ***"], [s])
        s = secret()
        case("curl", ["-H", "X-Api-Key: " + s], ["-H", "X-Api-Key: ***"], [s])
        s1, s2 = secret(), secret()
        case("env", ["PASSWORD=" + s1, "API_TOKEN=" + s2], ["PASSWORD=***", "API_TOKEN=***"],
             [s1, s2])
        cls.secrets = [s for c in cls.cases for s in c[2]]
        cls.markers = [c[3] for c in cls.cases]

        cls.config = os.path.join(cls.dir, "rules.yml")
        name = os.path.basename(cls.holder)
        with open(cls.config, "w") as f:
            # A rule that selects every holder, violated (count 0), so states, pids and the
            # rule log lines all concern them.
            f.write('rules:\n  - name: holders\n    match: {exe: "%s"}\n    count: "0"\n'
                    '    for: 0s\n' % cls.holder)
        cls.events_log = os.path.join(cls.dir, "events.log")
        cls.port = free_port()
        cls.serve_err = open(os.path.join(cls.dir, "serve.err"), "w+")
        cls.serve = subprocess.Popen(
            [PROCWATCH, "serve", "--config", cls.config, "--events-log", cls.events_log,
             "--web.listen-address", "127.0.0.1:%d" % cls.port],
            stdout=subprocess.DEVNULL, stderr=cls.serve_err)
        cls.trace_json = Trace()
        cls.trace_text = subprocess.Popen([PROCWATCH, "trace", "--color", "never"],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                          text=True)
        up = wait_until(lambda: http_get("http://127.0.0.1:%d/-/healthy" % cls.port)[0] == 200,
                        20)
        assert up, "serve did not start"
        time.sleep(0.5)  # the text trace is attached too
        cls.holders = [subprocess.Popen(argv, executable=cls.holder, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for argv, _, _, _ in cls.cases]

    @classmethod
    def tearDownClass(cls):
        for p in cls.holders:
            p.kill()
            p.wait()
        cls.trace_json.stop()
        stop(cls.trace_text)
        stop(cls.serve)
        cls.serve_err.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_clean(self, what, text, markers=True):
        for s in self.secrets:
            self.assertNotIn(s, text, "%s leaks a secret" % what)
        if markers:
            for m in self.markers:
                self.assertIn(m, text, "%s lacks a process (marker %s)" % (what, m))

    def test_trace_json_argv_is_exactly_masked(self):
        for argv, masked, _, marker in self.cases:
            hits = self.trace_json.wait_for(
                lambda e, m=marker: e["event"] == "exec" and m in e.get("argv", []))
            self.assertTrue(hits, "no exec for %s" % marker)
            self.assertEqual(hits[0]["argv"], masked)
        self.assert_clean("trace --json", json.dumps(self.trace_json.select(lambda e: True)))

    def test_tree_json_and_text(self):
        self.trace_json.wait_for(lambda e: self.markers[-1] in e.get("argv", []))
        for args in (["tree", "--json"], ["tree", "--color", "never"]):
            out = subprocess.run([PROCWATCH, *args], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assert_clean(" ".join(args), out.stdout)

    def test_events_log_and_serve_outputs(self):
        def logged():
            with open(self.events_log) as f:
                return f.read()
        self.assertTrue(wait_until(lambda: all(m in logged() for m in self.markers), 15))
        self.assert_clean("events log", logged())
        base = "http://127.0.0.1:%d" % self.port
        rules = wait_until(lambda: '"ok":false' in http_get(base + "/api/v1/rules")[2]
                           and http_get(base + "/api/v1/rules")[2], 15)
        self.assertTrue(rules)
        self.assert_clean("/api/v1/rules", rules, markers=False)
        self.assert_clean("/metrics", http_get(base + "/metrics")[2], markers=False)
        self.serve_err.flush()
        self.serve_err.seek(0)
        err = self.serve_err.read()
        self.assertIn('"rule":"holders"', err.replace(" ", ""))  # the rule log line came
        self.assert_clean("serve stderr (rule log lines)", err, markers=False)

    def test_trace_text(self):
        self.trace_json.wait_for(lambda e: self.markers[-1] in e.get("argv", []))
        time.sleep(1)
        self.trace_text.send_signal(signal.SIGINT)
        out, _ = self.trace_text.communicate(timeout=15)
        self.assert_clean("trace (text)", out)

    def test_check_outputs(self):
        name = os.path.basename(self.holder)
        for args, want in ((["--config", self.config], 2), (["-v", "-C", name], 0),
                           (["-v", "-a", "keep", "-c", "1:1"], 2)):
            out = subprocess.run([PROCWATCH, "check", *args], capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(out.returncode, want, (args, out.stdout, out.stderr))
            self.assert_clean("check " + " ".join(args), out.stdout + out.stderr, markers=False)


if __name__ == "__main__":
    main()
