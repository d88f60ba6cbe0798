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


class SummaryTest(unittest.TestCase):
    def test_slowdown_fractions_and_targets(self):
        mon = rb.Monitor("procwatch", [], rb.parse_procwatch_json, targets=True)
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
