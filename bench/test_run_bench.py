#!/usr/bin/env python3
"""Unit tests for the output parsers and summary of run_bench.py, on literal monitor output.
Run: python3 bench/test_run_bench.py"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402

EXE = "/tmp/pw-bench-x/pwtrue-abcdef"
W = rb.Workload(EXE, "pwtrue-abcdef", 10, 5000, frozenset({5001, 5002}))


def write(text: str) -> str:
    f = tempfile.NamedTemporaryFile("w", delete=False, suffix=".out")
    f.write(text)
    f.close()
    return f.name


class ProcwatchJsonTest(unittest.TestCase):
    def parse(self, events, err=""):
        out = write("".join(json.dumps(e) + "\n" for e in events) + "not json\n")
        errp = write(err)
        try:
            return rb.parse_procwatch_json(out, errp, W)
        finally:
            os.unlink(out)
            os.unlink(errp)

    def test_counts_by_ppid_and_exactness(self):
        ev = [
            # exact
            {"event": "exec", "pid": 6001, "ppid": 5000, "exe": EXE, "argv": [EXE, "pw-0"],
             "comm": "pwtrue-abcdef", "incomplete": False},
            {"event": "exit", "pid": 6001, "ppid": 5000, "exit_code": 0},
            # full path but argv unreadable
            {"event": "exec", "pid": 6002, "ppid": 5000, "exe": EXE, "argv": [],
             "comm": "pwtrue-abcdef", "incomplete": True},
            # only comm
            {"event": "exec", "pid": 6003, "ppid": 5000, "exe": "", "argv": [],
             "comm": "pwtrue-abcdef", "incomplete": True},
            {"event": "exit", "pid": 6003, "ppid": 5000, "exit_code": 0},
            # duplicate exec line for the same pid counts once
            {"event": "exec", "pid": 6001, "ppid": 5000, "exe": EXE, "argv": [EXE, "pw-0"]},
            # wrong argv index (outside COUNT) and wrong argv[0]
            {"event": "exec", "pid": 6004, "ppid": 5000, "exe": EXE, "argv": [EXE, "pw-10"]},
            {"event": "exec", "pid": 6005, "ppid": 5000, "exe": EXE, "argv": ["x", "pw-1"]},
            # not the workload: other parent
            {"event": "exec", "pid": 7000, "ppid": 1, "exe": EXE, "argv": [EXE, "pw-2"]},
            {"event": "exit", "pid": 7000, "ppid": 1},
            # the spawner's worker threads are not workload processes
            {"event": "fork", "pid": 5001, "ppid": 5000},
            {"event": "exit", "pid": 5001, "ppid": 5000},
            {"event": "exit", "pid": 5002, "ppid": 5000},
            # a duplicate exit is counted once and reported
            {"event": "exit", "pid": 6003, "ppid": 5000, "exit_code": 0},
            {"event": "lost", "count": 3, "reason": "enobufs"},
            {"event": "lost", "count": 2, "reason": "seq_gap"},
        ]
        c = self.parse(ev)
        self.assertEqual(c["exec"], 5)
        self.assertEqual(c["exit"], 2)
        self.assertEqual(c["exit_duplicates"], 1)
        self.assertEqual(c["thread_events"], 3)
        self.assertEqual(c["exact"], 1)
        self.assertEqual(c["full_path"], 4)
        self.assertEqual(c["named"], 5)
        self.assertEqual(c["lost"], 5)
        self.assertEqual(c["lost_reasons"], {"enobufs": 3, "seq_gap": 2})
        self.assertEqual(c["incomplete"], 2)
        self.assertEqual(c["bad_lines"], 1)
        self.assertFalse(c["bound"])


FORKSTAT = """Time     Event   PID Info   Duration Process
05:47:47 exec   9250                 /work/main/build/bench/pw_spawner /tmp/pw-bench-x/pwtrue-abcdef 10 2 
05:47:47 exec   9252                 /tmp/pw-bench-x/pwtrue-abcdef pw-0 
05:47:47 exit   9252      0   0.001s /tmp/pw-bench-x/pwtrue-abcdef pw-0 
05:47:47 exec   9254                 pwtrue-abcdef
05:47:47 exec   9255                 /tmp/pw-bench-x/pwtrue-abcdef
05:47:47 exec   9256                 <unknown>
05:47:47 exit   9254      0   0.000s pwtrue-abcdef
05:47:47 exit   9256      0   0.000s <unknown>
05:47:47 exec   9257                 /bin/cat 
05:47:47 exit   9255      0   0.000s <unknown>
05:47:47 exit   9257      0   0.061s /bin/cat 
05:47:47 exec   9258                 [/tmp/pw-bench-x/pwtrue-abcdef pw-3 ]
05:47:48 exec   9300                 <unknown>
05:47:48 exit   9300      0   0.000s <unknown>
"""


class ForkstatTest(unittest.TestCase):
    def test_columns_and_attribution(self):
        out = write(FORKSTAT)
        try:
            c = rb.parse_forkstat(out, "/nonexistent", W)
        finally:
            os.unlink(out)
        self.assertEqual(c["named"], 4)  # 9252, 9254, 9255, 9258
        self.assertEqual(c["full_path"], 3)  # 9252, 9255, 9258
        self.assertEqual(c["exact"], 2)  # pw-0, pw-3 (brackets stripped)
        # 9256 is unnamed but between the first and last workload line; 9300 is after it.
        self.assertEqual(c["exec_unnamed_in_window"], 1)
        self.assertEqual(c["exec"], 5)
        # exits: 9252, 9254 named; 9255 by pid; 9256 unnamed in window; 9257 and 9300 not.
        self.assertEqual(c["exit_attributed"], 3)
        self.assertEqual(c["exit_unnamed_in_window"], 1)
        self.assertEqual(c["exit"], 4)
        self.assertEqual(c["exit_lines_total"], 6)
        self.assertTrue(c["bound"])


EXTRACE = """9250+ /work/main/build/bench/pw_spawner /tmp/pw-bench-x/pwtrue-abcdef 10 2
9252+ /tmp/pw-bench-x/pwtrue-abcdef pw-0
9252- /tmp/pw-bench-x/pwtrue-abcdef exited status=0 time=0.001s
9254+ /tmp/pw-bench-x/pwtrue-abcdef pw-1
  9255+ /tmp/pw-bench-x/pwtrue-abcdef
9255- '' exited status=0 time=0.001s
9254- /tmp/pw-bench-x/pwtrue-abcdef exited status=0 time=0.001s
9260+ /usr/bin/mv -f a b
9260- /bin/mv exited status=0 time=0.001s
9250- /work/main/build/bench/pw_spawner exited status=0 time=0.2s
"""


class ExtraceTest(unittest.TestCase):
    def test_lines_and_vanished(self):
        out = write(EXTRACE)
        err = write("extrace: process vanished before notification: pid 9253\n"
                    "extrace: process vanished before notification: pid 9256\n")
        try:
            c = rb.parse_extrace(out, err, W)
        finally:
            os.unlink(out)
            os.unlink(err)
        self.assertEqual(c["named"], 3)
        self.assertEqual(c["full_path"], 3)
        self.assertEqual(c["exact"], 2)
        self.assertEqual(c["exec_vanished"], 2)
        self.assertEqual(c["exec"], 5)
        self.assertEqual(c["exit"], 3)  # 9255's '' exit attributed by pid
        self.assertEqual(c["exit_lines_total"], 5)


# What procwatch serve answers on GET /metrics (abridged from a real scrape), with the workload
# in two trees (one re-parented under init), a look-alike tree, and escaped label values.
METRICS = r"""# HELP procwatch_tree_processes Live processes per tree.
# TYPE procwatch_tree_processes gauge
procwatch_tree_processes{tree="/bash/make/pw_spawner"} 1
# HELP procwatch_tree_execs_total Execs per tree.
# TYPE procwatch_tree_execs_total counter
procwatch_tree_execs_total{tree="/bash/make/python3/pw_spawner"} 1
procwatch_tree_execs_total{tree="/bash/make/python3/pw_spawner/pwtrue-abcdef"} 9
procwatch_tree_execs_total{tree="/init/pwtrue-abcdef"} 1
procwatch_tree_execs_total{tree="/bash/pwtrue-abcdefg"} 100
procwatch_tree_execs_total{tree="/x/pwtrue-abcdef/sh"} 50
procwatch_tree_execs_total{tree="/q\"uote\\d/pwtrue-abcdef"} 2
# HELP procwatch_tree_exits_total Exits per tree and outcome.
# TYPE procwatch_tree_exits_total counter
procwatch_tree_exits_total{tree="/bash/make/python3/pw_spawner/pwtrue-abcdef",outcome="success"} 8
procwatch_tree_exits_total{tree="/bash/make/python3/pw_spawner/pwtrue-abcdef",outcome="failure"} 0
procwatch_tree_exits_total{tree="/bash/make/python3/pw_spawner/pwtrue-abcdef",outcome="signal"} 1
procwatch_tree_exits_total{tree="/init/pwtrue-abcdef",outcome="success"} 1
procwatch_tree_exits_total{tree="/bash/pwtrue-abcdefg",outcome="success"} 100
# HELP procwatch_process_duration_seconds Lifetime.
# TYPE procwatch_process_duration_seconds histogram
procwatch_process_duration_seconds_bucket{tree="/init/pwtrue-abcdef",le="+Inf"} 1
# HELP procwatch_events_lost_total Events lost.
# TYPE procwatch_events_lost_total counter
procwatch_events_lost_total{source="ebpf"} 7
procwatch_events_lost_total{source="queue"} 2
procwatch_tracked_processes 123 1712345678000
procwatch_incomplete_total 40
garbage line {
procwatch_tree_execs_total{tree="/unterminated/pwtrue-abcdef} 1000
"""


class ServeMetricsTest(unittest.TestCase):
    def test_prometheus_text(self):
        s = rb.parse_prometheus_text(METRICS)
        by = {(n, tuple(sorted(l.items()))): v for n, l, v in s}
        # r-string above: \" is a quote and \\ one backslash once unescaped.
        quoted = ("procwatch_tree_execs_total", (("tree", '/q"uote\\d/pwtrue-abcdef'),))
        self.assertEqual(by[quoted], 2)
        self.assertEqual(by[("procwatch_tracked_processes", ())], 123)  # timestamp ignored
        self.assertEqual(by[("procwatch_process_duration_seconds_bucket",
                             (("le", "+Inf"), ("tree", "/init/pwtrue-abcdef")))], 1)
        self.assertFalse(any(l.get("tree", "").startswith("/unterminated") for _, l, _ in s))
        self.assertEqual(len(s), 17)  # comments and the two broken lines skipped

    def test_workload_trees_by_last_label(self):
        out = write(METRICS)
        try:
            c = rb.parse_procwatch_metrics(out, "/nonexistent", W)
        finally:
            os.unlink(out)
        # 9 + 1 + 2: the look-alike /bash/pwtrue-abcdefg and /x/pwtrue-abcdef/sh do not count.
        self.assertEqual(c["exec"], 12)
        self.assertEqual(c["exit"], 10)
        self.assertEqual(c["exit_by_outcome"], {"success": 9, "failure": 0, "signal": 1})
        self.assertEqual(c["lost"], 9)
        self.assertEqual(c["lost_by_source"], {"ebpf": 7, "queue": 2})
        self.assertEqual(len(c["trees"]), 3)
        self.assertEqual(c["incomplete_all"], 40)
        self.assertIsNone(c["resyncs"])
        for k in ("exact", "full_path", "named"):
            self.assertIsNone(c[k])
        self.assertFalse(c["bound"])

    def test_no_lost_series_is_unknown_not_zero(self):
        out = write('procwatch_tree_execs_total{tree="/a/pwtrue-abcdef"} 3\n')
        try:
            c = rb.parse_procwatch_metrics(out, "/nonexistent", W)
        finally:
            os.unlink(out)
        self.assertEqual(c["exec"], 3)
        self.assertIsNone(c["lost"])

    def test_summary_and_targets_with_na_columns(self):
        mon = next(m for m in rb.MONITORS if m.name == "procwatch-serve")
        counts = lambda lost: {"exec": 100, "exit": 100, "exact": None, "full_path": None,
                               "named": None, "lost": lost, "bound": False}
        runs = [
            {"round": 0, "monitor": "none", "wall_s": 10.0, "spawned": 100},
            {"round": 0, "monitor": mon.name, "wall_s": 10.0, "spawned": 100, "cpu_s": 0.002,
             "counts": counts(0)},
            {"round": 1, "monitor": "none", "wall_s": 10.0, "spawned": 100},
            {"round": 1, "monitor": mon.name, "wall_s": 10.0, "spawned": 100, "cpu_s": 0.004,
             "counts": counts(1)},
        ]
        s = rb.derive(runs, [mon])[mon.name]
        self.assertEqual(s["exact"]["values"], [])
        self.assertAlmostEqual(s["exec"]["min"], 1.0)
        self.assertAlmostEqual(s["cpu_per_10k"]["median"], 0.3)
        v = {t.split(" (")[0]: r for _, t, _, r in rb.judge({mon.name: s}, [mon])}
        self.assertEqual(v, {"no lost events": "MISS",  # one run lost 1
                             "CPU <= 0.3 s per 10,000 processes": "PASS"})

    def test_default_monitors_and_their_targets(self):
        d = {m.name: m for m in rb.MONITORS if m.default}
        self.assertEqual(list(d), ["procwatch-ebpf", "procwatch-netlink", "procwatch-serve",
                                   "procwatch-serve-baseline", "forkstat", "extrace"])
        self.assertIn("procwatch", {m.name for m in rb.MONITORS})
        heads = lambda m: [t[:4] for t in d[m].targets]
        self.assertIn(("cpu_per_10k", "<=", 0.15, "median"), heads("procwatch-ebpf"))
        self.assertIn(("exact", ">=", 1.0, "worst"), heads("procwatch-ebpf"))
        self.assertIn(("exact", ">=", 0.97, "worst"), heads("procwatch-netlink"))
        self.assertIn(("lost", "<=", 0, "worst"), heads("procwatch-serve"))
        self.assertEqual(rb.resolve_argv(d["procwatch-serve"], "/b/procwatch", 4242),
                         ["/b/procwatch", "serve", "--web.listen-address", "127.0.0.1:4242",
                          "--source", "auto"])
        self.assertIn("/t/b.yml", rb.resolve_argv(d["procwatch-serve-baseline"], "/b/procwatch",
                                                  4242, "/t/b.yml"))

    def test_baseline_cost_is_the_per_round_change(self):
        runs = [{"round": i, "monitor": m, "cpu_per_10k": v}
                for i, (a, b) in enumerate([(0.10, 0.105), (0.12, 0.12), (0.09, 0.10)])
                for m, v in (("procwatch-serve", a), ("procwatch-serve-baseline", b))]
        cost = rb.print_baseline_cost(runs)
        self.assertAlmostEqual(cost["separate"]["change"]["median"], 0.05)
        self.assertEqual(cost["result"], "PASS")

    def test_baseline_cost_judges_the_paired_runs_when_there_are_some(self):
        # Separate runs within 10%, the paired ones not: the paired ones decide.
        runs = [{"round": 0, "monitor": m, "cpu_per_10k": v}
                for m, v in (("procwatch-serve", 1.0), ("procwatch-serve-baseline", 1.0),
                             ("procwatch-serve" + rb.PAIRED, 1.0),
                             ("procwatch-serve-baseline" + rb.PAIRED, 1.2))]
        cost = rb.print_baseline_cost(runs)
        self.assertAlmostEqual(cost["paired"]["change"]["median"], 0.2)
        self.assertEqual(cost["result"], "MISS")
        # A failed paired run is left out, not counted as zero.
        runs[-1]["error"] = "died"
        self.assertEqual(rb.print_baseline_cost(runs)["result"], "PASS")


class SummaryTest(unittest.TestCase):
    def test_slowdown_fractions_and_targets(self):
        mon = rb.Monitor("procwatch", [], rb.parse_procwatch_json, targets=rb.TARGETS_CAPTURE)
        counts = lambda e: {"exec": e, "exit": 100, "exact": 98, "full_path": 99, "named": 100,
                            "lost": 0, "bound": False}
        runs = [
            {"round": 0, "monitor": "none", "wall_s": 10.0, "spawned": 100},
            {"round": 0, "monitor": "procwatch", "wall_s": 10.5, "spawned": 100,
             "cpu_s": 0.002, "counts": counts(100)},
            {"round": 1, "monitor": "none", "wall_s": 12.0, "spawned": 100},
            {"round": 1, "monitor": "procwatch", "wall_s": 12.0, "spawned": 100,
             "cpu_s": 0.004, "counts": counts(99)},
        ]
        s = rb.derive(runs, [mon])["procwatch"]
        self.assertAlmostEqual(s["slowdown"]["median"], 11.25 / 11.0 - 1)
        self.assertAlmostEqual(s["slowdown"]["min"], 0.0)
        self.assertAlmostEqual(s["slowdown"]["max"], 0.05)
        self.assertAlmostEqual(s["cpu_per_10k"]["median"], 0.3)
        self.assertAlmostEqual(s["exec"]["min"], 0.99)
        v = {t.split(" (")[0]: r for _, t, _, r in rb.judge({"procwatch": s}, [mon])}
        self.assertEqual(v["exec events received = 100% of spawned"], "MISS")  # worst run 99%
        self.assertEqual(v["exit events received = 100% of spawned"], "PASS")
        self.assertEqual(v["execs with exact exe and argv >= 97%"], "PASS")
        self.assertEqual(v["CPU <= 0.3 s per 10,000 processes"], "PASS")
        self.assertEqual(v["workload slowdown <= 10%"], "PASS")

    def test_cpu_ticks_of_self(self):
        t = rb.read_cpu_ticks(os.getpid())
        self.assertIsNotNone(t)
        self.assertGreaterEqual(t, 0)
        self.assertIsNone(rb.read_cpu_ticks(2**22 + 7))


if __name__ == "__main__":
    unittest.main()
