#!/usr/bin/env python3
"""Soak benchmark: COUNT short-lived processes (default 1,000,000) through `procwatch serve`.

Spawns them in 10 equal steps with bench/pw_spawner (2 workers, a uniquely named copy of
bench/pw_true, or of /bin/true where that is not built), and after each step waits until serve
has applied every event, then records procwatch's RSS, procwatch_tracked_processes against the
number of /proc entries, and the events lost. Prints the curve and three verdicts: RSS at the
end within 10% of RSS after the first step, tracked back to /proc's count, no loss. A verdict
that does not hold prints MISS and the run exits 1.
Usage: soak.py --build BUILD [--count N] [--source ebpf]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def metric(text, name):
    total = 0.0
    found = False
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            total += float(m.group(2))
            found = True
    return total if found else None


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_count():
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=int(os.environ.get("SOAK_COUNT", 1_000_000)))
    ap.add_argument("--source", default="ebpf")
    args = ap.parse_args()
    procwatch = os.path.join(args.build, "procwatch")
    spawner = os.path.join(args.build, "bench", "pw_spawner")
    tmp = tempfile.mkdtemp(prefix="pwsoak-")
    true = os.path.join(tmp, "pwsoak-true")
    # pw_true has no libc or loader: about 4x /bin/true's spawn rate, so 1M fits in CI time.
    fast = os.path.join(args.build, "bench", "pw_true")
    shutil.copy(fast if os.path.exists(fast) else os.path.realpath("/bin/true"), true)
    os.chmod(true, 0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = subprocess.Popen([procwatch, "serve", "--source", args.source,
                              "--web.listen-address", f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/metrics"

    def scrape():
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    try:
        deadline = time.time() + 30
        while True:
            try:
                scrape()
                break
            except OSError:
                if time.time() > deadline or serve.poll() is not None:
                    sys.exit("soak: serve did not start: " + serve.stderr.read())
                time.sleep(0.1)

        def settled():
            """Metrics once two scrapes a second apart agree on the event count."""
            prev = None
            for _ in range(120):
                text = scrape()
                n = metric(text, "procwatch_events_total")
                if n is not None and n == prev:
                    return text
                prev = n
                time.sleep(1)
            return text

        steps = 10
        per = args.count // steps
        print(f"soak: {args.count:,} processes through procwatch serve --source {args.source}, "
              f"{steps} steps of {per:,} (2 workers)")
        # Heap (RssAnon) and tree names too: other jobs' new tree names grow the per-tree series
        # up to --max-trees (about 3 KB of heap each), which is not the soak's doing.
        print(f"{'processes':>10} {'RSS MiB':>8} {'heap MiB':>8} {'trees':>6} {'tracked':>8} "
              f"{'/proc':>6} {'lost':>5} {'spawns/s':>9}")
        text = settled()
        print(f"{0:>10,} {rss_kib(serve.pid) / 1024:>8.1f} "
              f"{rss_kib(serve.pid, 'RssAnon') / 1024:>8.1f} "
              f"{int(metric(text, 'procwatch_trees') or 0):>6} "
              f"{int(metric(text, 'procwatch_tracked_processes')):>8} {proc_count():>6} "
              f"{int(metric(text, 'procwatch_events_lost_total') or 0):>5} {'':>9}", flush=True)
        curve = []
        for i in range(steps):
            r = subprocess.run([spawner, true, str(per), "2"], capture_output=True, text=True)
            secs = float(r.stdout.split()[0])
            text = settled()
            row = (per * (i + 1), rss_kib(serve.pid),
                   int(metric(text, "procwatch_tracked_processes")), proc_count(),
                   int(metric(text, "procwatch_events_lost_total") or 0))
            curve.append(row)
            print(f"{row[0]:>10,} {row[1] / 1024:>8.1f} "
                  f"{rss_kib(serve.pid, 'RssAnon') / 1024:>8.1f} "
                  f"{int(metric(text, 'procwatch_trees') or 0):>6} {row[2]:>8} {row[3]:>6} "
                  f"{row[4]:>5} {per / secs:>9,.0f}", flush=True)
        first, last = curve[0], curve[-1]
        growth = (last[1] - first[1]) / first[1] * 100
        ok = True
        verdicts = [
            (abs(growth) <= 10, f"RSS after {last[0]:,}: {last[1] / 1024:.1f} MiB, "
                                f"{growth:+.1f}% against {first[1] / 1024:.1f} MiB after "
                                f"{first[0]:,} (limit 10%)"),
            (abs(last[2] - last[3]) <= 2, f"tracked {last[2]} against {last[3]} in /proc"),
            (last[4] == 0, f"events lost: {last[4]}"),
        ]
        for good, what in verdicts:
            print(("  ok    " if good else "  MISS  ") + what)
            ok = ok and good
        return 0 if ok else 1
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=15)
        except subprocess.TimeoutExpired:
            serve.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
