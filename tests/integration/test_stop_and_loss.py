"""Hard faults (issue 13): SIGTERM ends a busy `serve` within 2 s, and a loss is reported
within a second even when no further event arrives.

- Busy: a config whose `args:` rules cost ~1.5 ms a process each (a legal pattern whose DFA
  keeps missing on long random argv of 20 long-lived processes, so one evaluation takes
  seconds). SIGTERM while the first evaluation runs at start-up, and again while serve
  re-evaluates under a stream of new processes: exit 0 within 2 s each time.
- Loss: serve is stopped (SIGSTOP) while a burst overflows its buffer (netlink: --rcvbuf
  65536; eBPF: the 16 MiB ring buffer, with 4 KiB argv), the burst ends, SIGCONT, and no
  process of ours starts after it. Within 1 s procwatch_events_lost_total > 0 and
  procwatch_tracked_processes equals the number of /proc/[0-9]* entries. Tolerance: the
  machine is shared (other builds start and end processes all the time, and the exposition is
  published every 0.5 s), so tracked may differ from /proc by the churn seen between two
  /proc counts around the scrape, plus 2; without the fix the difference is the whole burst's
  leftovers (processes that exited while their exits were dropped) and lost stays 0.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwtest  # noqa: E402

PROCWATCH = pwtest.PROCWATCH
HAVE_EBPF = os.environ.get("PROCWATCH_HAVE_EBPF", "1") == "1"


def start_serve(*args, ready=True, timeout=60):
    port = pwtest.free_port()
    p = subprocess.Popen([PROCWATCH, "serve", "--web.listen-address", "127.0.0.1:%d" % port,
                          *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    if ready:
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "serving http" in line:
                break
        else:
            p.kill()
            raise AssertionError("serve did not start: " + "".join(lines))
        if not lines or "serving http" not in lines[-1]:
            p.kill()
            raise AssertionError("serve did not start: " + "".join(lines) + p.stderr.read())
    # Keep reading stderr so serve never blocks on a full pipe.
    threading.Thread(target=lambda: lines.extend(p.stderr), daemon=True).start()
    return p, port, lines


def sigterm_and_time(p):
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    took = time.monotonic() - t0
    p.stderr.close()
    return rc, took


def proc_count():
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


class StopWhileBusy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rng = random.Random(13)
        cls.victims = []
        for _ in range(20):
            argv = "".join(rng.choice("ab") for _ in range(3800))
            # Own session, no inherited pipes: tearDown kills the group (sh and its sleep), and
            # no orphan keeps CTest's output pipe open.
            cls.victims.append(subprocess.Popen(["sh", "-c", "sleep 600; :", argv],
                                                stdin=subprocess.DEVNULL,
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL,
                                                start_new_session=True))
        rules = ["rules:"]
        for i in range(100):
            rules.append("  - name: heavy%d\n    match:\n      args: '(a|b)*a(a|b){20}c|q%d'\n"
                         "    count: '0:'" % (i, i))
        fd, cls.config = tempfile.mkstemp(suffix=".yml", prefix="pw-heavy-")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(rules) + "\n")
        time.sleep(0.3)

    @classmethod
    def tearDownClass(cls):
        for v in cls.victims:
            try:
                os.killpg(v.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            v.wait()
        os.unlink(cls.config)

    def test_sigterm_during_the_first_evaluation(self):
        p, _, lines = start_serve("--config", self.config, "--source", "netlink", ready=False)
        time.sleep(1.0)  # source started; the first evaluation (seconds) is running
        rc, took = sigterm_and_time(p)
        self.assertEqual(rc, 0, "".join(lines))
        self.assertLess(took, 2.0, "".join(lines))

    def test_sigterm_while_evaluating_under_load(self):
        p, _, lines = start_serve("--config", self.config, "--source", "netlink")
        stop = threading.Event()

        def spawn():
            while not stop.is_set():
                subprocess.run(["/bin/true"], stdin=subprocess.DEVNULL)
                time.sleep(0.05)
        t = threading.Thread(target=spawn)
        t.start()
        try:
            time.sleep(1.5)  # events keep arriving: serve re-evaluates (seconds each)
            rc, took = sigterm_and_time(p)
        finally:
            stop.set()
            t.join()
        self.assertEqual(rc, 0, "".join(lines))
        self.assertLess(took, 2.0, "".join(lines))


class LossWithinASecond(unittest.TestCase):
    def overflow(self, source, spawn_burst, *args):
        p, port, lines = start_serve("--source", source, *args)
        url = "http://127.0.0.1:%d/metrics" % port
        try:
            time.sleep(1.0)
            p.send_signal(signal.SIGSTOP)
            try:
                spawn_burst()  # all of them have exited when it returns
                time.sleep(0.3)
            finally:
                p.send_signal(signal.SIGCONT)
            t0 = time.monotonic()
            seen = []
            ok = False
            while time.monotonic() - t0 < 1.0 and not ok:
                before = proc_count()
                text = pwtest.http_get(url)[2]
                after = proc_count()
                lost = sum(v for _, v in pwtest.samples(text, "procwatch_events_lost_total"))
                tracked = pwtest.samples(text, "procwatch_tracked_processes")[0][1]
                slack = abs(before - after) + 2
                seen.append((round(time.monotonic() - t0, 2), lost, tracked, before, after))
                ok = lost > 0 and min(before, after) - slack <= tracked <= max(before, after) + slack
                if not ok:
                    time.sleep(0.05)
            self.assertTrue(ok, "no loss report with a resync within 1 s of SIGCONT "
                                "(t, lost, tracked, /proc before, after): %s\n%s"
                            % (seen, "".join(lines)))
        finally:
            rc, _ = sigterm_and_time(p)
            self.assertEqual(rc, 0)

    def test_netlink(self):
        def burst():
            for _ in range(60):
                procs = [subprocess.Popen(["/bin/true"]) for _ in range(10)]
                for q in procs:
                    q.wait()
        # 600 processes, ~1,800 events, against a 128 KiB buffer (about 150 events).
        self.overflow("netlink", burst, "--rcvbuf", "65536")

    @unittest.skipUnless(HAVE_EBPF, "built without the eBPF source")
    def test_ebpf(self):
        long_arg = "x" * 4000

        def burst():
            # 16 MiB ring buffer, a record per exec of about 4.2 KiB with this argv: ~4,000
            # execs fill it. 6,000 from 4 workers.
            def worker():
                for _ in range(1500):
                    subprocess.run(["/bin/true", long_arg])
            ts = [threading.Thread(target=worker) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        self.overflow("ebpf", burst)


if __name__ == "__main__":
    pwtest.main()
