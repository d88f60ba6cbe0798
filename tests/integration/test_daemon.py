"""`procwatch serve` as a daemon, on the real kernel (root): ready only when capturing, the
sd_notify messages a Type=notify unit needs, the events log with logrotate's SIGHUP, a full disk
under the log, and SIGHUP config reloads that keep the table and the counters.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from pwtest import (PROCWATCH, free_port, http_get, main, samples, stop, unique,
                    wait_until)


def script(dir_, name, trues):
    """A shell script `name` in dir_ that runs /bin/true `trues` times: 1 + trues execs."""
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + "/bin/true\n" * trues)
    os.chmod(path, 0o755)
    return path


def run(path):
    subprocess.run([path], check=True, stdin=subprocess.DEVNULL, timeout=30)


def tree_execs(text, label):
    """Sum of procwatch_tree_execs_total over the trees whose name has `label` as a label."""
    return sum(v for lbl, v in samples(text, "procwatch_tree_execs_total")
               if label in lbl.get("tree", "").split("/"))


class Serve:
    """procwatch serve on a free loopback port, stderr collected."""

    def __init__(self, *args, env=None):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [PROCWATCH, "serve", "--web.listen-address", "127.0.0.1:%d" % self.port, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)
        self.err = []
        self.out = []
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stderr, self.err),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stdout, self.out),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def metrics(self):
        return http_get(self.base + "/metrics")[2]

    def wait_serving(self, timeout=20):
        ok = wait_until(lambda: any("procwatch: serving" in l for l in self.err)
                        or self.proc.poll() is not None, timeout, step=0.02)
        if not ok or self.proc.poll() is not None:
            raise AssertionError("serve did not start: %s" % "\n".join(self.err))

    def stop(self, sig=signal.SIGTERM):
        rc = stop(self.proc, sig)
        for t in self._threads:
            t.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pwdaemon-")
        os.chmod(self.dir, 0o755)
        self.serves = []

    def tearDown(self):
        for s in self.serves:
            s.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *args, env=None):
        s = Serve(*args, env=env)
        self.serves.append(s)
        return s

    def test_first_scrape_is_live_20_times(self):
        """Scrape as soon as the port answers, launch a script at once: every exec counted."""
        for i in range(20):
            name = unique("ready") + ".sh"
            path = script(self.dir, name, 3)
            s = self.serve()
            deadline = time.time() + 20
            while True:  # as a new user would: hammer the port until it answers
                try:
                    text = s.metrics()
                    break
                except OSError:
                    self.assertIsNone(s.proc.poll(), "serve exited: %s" % "\n".join(s.err))
                    self.assertLess(time.time(), deadline, "never answered")
                    time.sleep(0.005)
            self.assertEqual(http_get(s.base + "/-/ready")[0], 200)
            info = samples(text, "procwatch_build_info")
            self.assertEqual(len(info), 1, text[:2000])
            self.assertNotEqual(info[0][0]["source"], "none", "round %d" % i)
            self.assertIn(info[0][0]["source"], ("ebpf", "netlink", "procfs"))
            run(path)
            got = wait_until(lambda: tree_execs(s.metrics(), name) >= 4 and
                             tree_execs(s.metrics(), name), 10, step=0.1)
            self.assertEqual(got, 4, "round %d: execs of %s counted: %s" % (i, name, got))
            serving = [l for l in s.err if l.startswith("procwatch: serving ")]
            self.assertEqual(serving, ["procwatch: serving http://127.0.0.1:%d/metrics (source %s)"
                                       % (s.port, info[0][0]["source"])])
            self.assertEqual(s.stop(), 0)
            self.serves.remove(s)
            os.unlink(path)

    def test_sd_notify_ready_watchdog_status_reload_stopping(self):
        sock_path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="600000")
        env.pop("WATCHDOG_PID", None)
        s = self.serve(env=env)
        first = sock.recv(4096).decode()
        # READY only once the listener answers and capture is live.
        status, _, text = http_get(s.base + "/metrics")
        self.assertEqual(status, 200)
        source = samples(text, "procwatch_build_info")[0][0]["source"]
        self.assertNotEqual(source, "none")
        fields = dict(l.split("=", 1) for l in first.splitlines())
        self.assertEqual(fields.get("READY"), "1", first)
        self.assertTrue(fields.get("STATUS", "").startswith("source %s, " % source), first)
        self.assertIn("processes tracked", fields["STATUS"])
        # WATCHDOG=1 at least every 0.2 s (a third of 0.6 s), from the engine thread.
        t0 = time.time()
        msgs = []
        while time.time() - t0 < 1.5:
            msgs.append(sock.recv(4096).decode())
        pings = [m for m in msgs if "WATCHDOG=1" in m.splitlines()]
        self.assertGreaterEqual(len(pings), 4, msgs)
        self.assertTrue(all("STATUS=source " in m for m in pings), pings)
        # SIGHUP: RELOADING=1 then READY=1.
        s.proc.send_signal(signal.SIGHUP)
        seen = []
        while not any("READY=1" in m for m in seen):
            seen.append(sock.recv(4096).decode())
        joined = "\n".join(seen)
        self.assertIn("RELOADING=1", joined)
        self.assertLess(joined.index("RELOADING=1"), joined.index("READY=1"))
        s.proc.send_signal(signal.SIGTERM)
        rest = []
        while not any("STOPPING=1" in m for m in rest):
            rest.append(sock.recv(4096).decode())
        self.assertEqual(s.stop(), 0)
        sock.close()

    def test_events_log_reopened_on_sighup(self):
        log = os.path.join(self.dir, "events.log")
        s = self.serve("--events-log", log)
        s.wait_serving()
        one = script(self.dir, unique("evlog") + ".sh", 1)
        run(one)

        def lines(path):
            try:
                with open(path) as f:
                    return [json.loads(l) for l in f]  # every line is one JSON object
            except FileNotFoundError:
                return []

        def execs_of(path, script_path):
            return [e for e in lines(path)
                    if e["event"] == "exec" and script_path in e.get("argv", [])]

        self.assertTrue(wait_until(lambda: execs_of(log, one), 10), "exec of %s not logged" % one)
        os.rename(log, log + ".1")
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: os.path.exists(log), 10), "not reopened")
        two = script(self.dir, unique("evlog") + ".sh", 1)
        run(two)
        self.assertTrue(wait_until(lambda: execs_of(log, two), 10), "exec of %s not logged" % two)
        self.assertEqual(execs_of(log + ".1", two), [])
        self.assertEqual(execs_of(log, one), [])
        text = s.metrics()
        self.assertEqual(samples(text, "procwatch_events_log_dropped_total")[0][1], 0)
        self.assertGreater(samples(text, "procwatch_events_log_written_total")[0][1], 0)
        self.assertEqual(s.stop(), 0)

    def test_events_log_to_stdout(self):
        s = self.serve("--events-log", "-")
        s.wait_serving()
        one = script(self.dir, unique("evout") + ".sh", 1)
        run(one)
        self.assertTrue(wait_until(
            lambda: [l for l in s.out if one in json.loads(l).get("argv", [])], 10), s.out[:5])

    def test_full_disk_drops_log_lines_but_capture_goes_on(self):
        s = self.serve("--events-log", "/dev/full")
        s.wait_serving()
        name = unique("full") + ".sh"
        run(script(self.dir, name, 2))
        self.assertEqual(wait_until(lambda: tree_execs(s.metrics(), name) == 3 and 3, 10), 3)
        dropped = wait_until(lambda: samples(
            s.metrics(), "procwatch_events_log_dropped_total")[0][1], 10)
        self.assertGreaterEqual(dropped, 3)
        said = [l for l in s.err if "/dev/full" in l]
        self.assertEqual(len(said), 1, s.err)  # said once, not per event
        self.assertIn("No space left on device", said[0])
        self.assertIsNone(s.proc.poll())

    def test_sighup_reloads_rules_and_keeps_counters(self):
        cfg = os.path.join(self.dir, "rules.yml")
        name = unique("rl")
        with open(cfg, "w") as f:
            f.write('rules:\n  - name: first\n    match: {name: %s}\n    count: "1:"\n'
                    '    for: 0s\n' % name)
        s = self.serve("--config", cfg)
        s.wait_serving()
        tree = unique("keep") + ".sh"
        run(script(self.dir, tree, 1))
        self.assertEqual(wait_until(lambda: tree_execs(s.metrics(), tree) == 2 and 2, 10), 2)

        def rule_names(text):
            return sorted(l["rule"] for l, _ in samples(text, "procwatch_rule_ok"))

        def reload_ok(text):
            return samples(text, "procwatch_config_last_reload_successful")[0][1]

        def reload_ts(text):
            return samples(text, "procwatch_config_last_reload_success_timestamp_seconds")[0][1]

        text = s.metrics()
        self.assertEqual(rule_names(text), ["first"])
        self.assertEqual(reload_ok(text), 1)
        ts0 = reload_ts(text)
        events0 = sum(v for _, v in samples(text, "procwatch_events_total"))

        # A bad file: the old rules stay, one line names file:line:col, the gauge says 0.
        with open(cfg, "w") as f:
            f.write("rules:\n  - name: broken\n    match: {name: x}\n    count: [\n")
        n_err = len(s.err)
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: reload_ok(s.metrics()) == 0 or None, 10))
        text = s.metrics()
        self.assertEqual(rule_names(text), ["first"])
        self.assertEqual(reload_ts(text), ts0)
        new_lines = [l for l in s.err[n_err:] if "reload" in l]
        self.assertEqual(len(new_lines), 1, s.err[n_err:])
        self.assertIn(cfg + ":", new_lines[0])
        self.assertRegex(new_lines[0], r"rules\.yml:\d+:\d+: ")

        # A good file: new rules, the gauge back at 1, table and counters kept.
        with open(cfg, "w") as f:
            f.write('rules:\n  - name: second\n    match: {name: %s}\n    count: "0"\n'
                    '    for: 0s\n' % name)
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: rule_names(s.metrics()) == ["second"], 10),
                        rule_names(s.metrics()))
        text = s.metrics()
        self.assertEqual(reload_ok(text), 1)
        self.assertGreater(reload_ts(text), ts0)
        self.assertEqual(tree_execs(text, tree), 2, "tree counters survive a reload")
        self.assertGreaterEqual(sum(v for _, v in samples(text, "procwatch_events_total")),
                                events0)
        self.assertGreater(samples(text, "procwatch_tracked_processes")[0][1], 10)
        self.assertIsNone(s.proc.poll())
        self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    main()
