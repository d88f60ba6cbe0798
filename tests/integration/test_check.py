"""`procwatch check` and `procwatch rules` on the real machine (root).

Starts uniquely named copies of /bin/sleep under root, under nobody, and with egid 0 but a
non-root euid (the setuid-before-setgid mistake), plus a busy loop; checks procwatch check's
counts, statuses and exit codes in ps.monitor syntax, with --config and --recheck, and that its
output matches the real check_procs for the same options.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwtest  # noqa: E402

PROCWATCH = pwtest.PROCWATCH
CHECK_PROCS = "/usr/lib/nagios/plugins/check_procs"
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "procwatch.yml")
SETPRIV_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SETPRIV_EGID0 = ["setpriv", "--reuid=65534", "--regid=0", "--clear-groups"]

FORBIDDEN_RULE = """\
rules:
  - name: setuid-before-setgid
    match:
      egid: "0"
      euid: "!0"
    count: "0"
    severity: critical
"""


def check(*args, timeout=60):
    r = subprocess.run([PROCWATCH, "check", *args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def status_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid"):
                ids[k] = [int(x) for x in v.split()]
    return ids


def wait_state(pid, states="SR", timeout=5):
    """Waits until the process has exec'd and settled (a sleeping copy: 'S')."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
            if st in states:
                return st
        except FileNotFoundError:
            return None
        time.sleep(0.02)
    return None


class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bins = pwtest.TempBin()
        cls.procs = []
        cls.root_bin = cls.bins.copy("/bin/sleep", "pwcr")
        cls.nobody_bin = cls.bins.copy("/bin/sleep", "pwcn")
        cls.egid0_bin = cls.bins.copy("/bin/sleep", "pwcg")
        cls.busy_bin = cls.bins.copy("/bin/sh", "pwcb")
        cls.child_bin = cls.bins.copy("/bin/sleep", "pwck")
        cls.parent_bin = cls.bins.copy("/bin/sh", "pwcp")
        cls.names = {k: os.path.basename(getattr(cls, k + "_bin"))
                     for k in ("root", "nobody", "egid0", "busy", "child", "parent")}
        # Two root copies, session leaders ("Ss"), so -s and counts have something to tell.
        cls.root_procs = [cls.spawn([cls.root_bin, "600"], start_new_session=True)
                          for _ in range(2)]
        cls.nobody_proc = cls.spawn(SETPRIV_NOBODY + [cls.nobody_bin, "600"])
        cls.egid0_proc = cls.spawn(SETPRIV_EGID0 + [cls.egid0_bin, "600"])
        cls.parent_proc = cls.spawn([cls.parent_bin, "-c",
                                     "%s 600 & %s 600 & wait" % (cls.child_bin, cls.child_bin)])
        cls.busy_proc = cls.spawn([cls.busy_bin, "-c", "while :; do :; done"])
        for p in cls.procs:
            if p is not cls.busy_proc:
                wait_state(p.pid, "S")
        # Both children of the parent shell exist.
        deadline = time.time() + 5
        while time.time() < deadline and len(cls.children_of(cls.parent_proc.pid)) < 2:
            time.sleep(0.02)
        time.sleep(1.0)  # the busy loop's lifetime %CPU climbs well above 50

    @classmethod
    def spawn(cls, argv, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, **kw)
        cls.procs.append(p)
        return p

    @staticmethod
    def children_of(pid):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
        return out

    @classmethod
    def tearDownClass(cls):
        children = cls.children_of(cls.parent_proc.pid)
        for p in cls.procs:
            p.kill()
            p.wait(timeout=10)
        for pid in children:  # the parent shell's sleeps, started by us
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        cls.bins.cleanup()

    # --- the processes are what the test claims -------------------------------------------

    def test_setpriv_ids(self):
        ids = status_ids(self.egid0_proc.pid)
        self.assertEqual(ids["Uid"], [65534] * 4)
        self.assertEqual(ids["Gid"], [0] * 4)
        ids = status_ids(self.nobody_proc.pid)
        self.assertEqual(ids["Uid"], [65534] * 4)
        self.assertEqual(ids["Gid"], [65534] * 4)

    # --- ps.monitor syntax ------------------------------------------------------------------

    def test_ps_monitor_ok(self):
        n = self.names
        rc, out, err = check("%s:2-2" % n["root"], "%s@nobody:1-1" % n["nobody"],
                             "%s@root:2-" % n["root"], "%s:1-5" % n["busy"])
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("PROCS OK: 4 rules OK | "), out)
        self.assertIn("'%s'=2;;2:2;0;" % n["root"], out)
        self.assertIn("'%s@nobody'=1;;1:1;0;" % n["nobody"], out)

    def test_ps_monitor_critical(self):
        n = self.names
        rc, out, _ = check("%s:1-1" % n["root"], "%s@root:1-" % n["nobody"],
                           "%s:1-" % n["nobody"])
        self.assertEqual(rc, 2, out)
        self.assertTrue(out.startswith("PROCS CRITICAL: "), out)
        self.assertIn("%s: 2 processes, expected 1:1" % n["root"], out)
        self.assertIn("%s@root: 0 processes, expected 1:" % n["nobody"], out)
        self.assertNotIn("%s: 1 process" % n["nobody"], out.split("|")[0])

    def test_ps_monitor_full_path_and_missing(self):
        rc, out, _ = check("%s:2-2" % self.root_bin, "pwc-absent-zz:0-0")
        self.assertEqual(rc, 0, out)
        rc, out, _ = check("pwc-absent-zz:1-")
        self.assertEqual(rc, 2, out)
        self.assertIn("pwc-absent-zz: 0 processes", out)

    def test_mon_format(self):
        n = self.names
        rc, out, _ = check("--format", "mon", "%s:2-2" % n["root"], "%s:3-" % n["nobody"])
        self.assertEqual(rc, 1, out)
        lines = out.splitlines()
        self.assertEqual(lines[0], n["nobody"])
        self.assertEqual(len(lines), 2, out)
        self.assertIn("1 process", lines[1])
        rc, out, _ = check("--format", "mon", "%s:2-2" % n["root"])
        self.assertEqual((rc, out), (0, "\n"))

    def test_usage_errors_are_unknown(self):
        rc, out, _ = check("%s:x-1" % self.names["root"])
        self.assertEqual(rc, 3, out)
        self.assertTrue(out.startswith("PROCS UNKNOWN: "), out)
        rc, out, _ = check("--format", "xml", "a:1-")
        self.assertEqual(rc, 3, out)
        rc, out, _ = check("-u", "no-such-user-pwc")
        self.assertEqual((rc, out.strip()), (3, "PROCS UNKNOWN: User name was not found - "
                                                "no-such-user-pwc"))

    # --- --config ---------------------------------------------------------------------------

    def write_config(self, text):
        fd, path = tempfile.mkstemp(suffix=".yml", dir=self.bins.dir)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_config_forbidden_rule_goes_critical(self):
        path = self.write_config(FORBIDDEN_RULE + """\
  - name: copies
    match:
      name: %s
    count: "2:2"
""" % self.names["root"])
        rc, out, _ = check("--config", path)
        self.assertEqual(rc, 2, out)
        self.assertTrue(out.startswith("PROCS CRITICAL: setuid-before-setgid: "), out)
        self.assertRegex(out, r"pids? [0-9, ]*\b%d\b" % self.egid0_proc.pid)
        self.assertNotIn("copies:", out.split("|")[0])
        self.assertIn("'copies'=2;;2:2;0;", out)
        # The example config holds the same rule.
        rc, out, _ = check("--config", EXAMPLE)
        self.assertEqual(rc, 2, out)
        self.assertIn("setuid-before-setgid: ", out)

    def test_config_error_names_file_line_column(self):
        path = self.write_config("rules:\n  - name: x\n    match:\n      colour: red\n")
        rc, out, _ = check("--config", path)
        self.assertEqual(rc, 3, out)
        self.assertTrue(out.startswith("PROCS UNKNOWN: %s:4:7: " % path), out)
        rc, out, _ = check("--config", path + ".missing")
        self.assertEqual(rc, 3, out)
        self.assertIn("cannot read", out)

    def test_config_cpu_hog(self):
        path = self.write_config("cpu:\n  max_percent: 50\n  severity: warning\n")
        rc, out, _ = check("--config", path)
        self.assertEqual(rc, 1, out)  # severity warning: WARNING, exactly
        self.assertIn(self.names["busy"] + "[%d]" % self.busy_proc.pid, out)
        self.assertNotIn(self.names["root"], out)

    # --- --recheck: a restart within the delay raises nothing -------------------------------

    def test_recheck_hides_a_restart(self):
        name_bin = self.bins.copy("/bin/sleep", "pwcx")
        name = os.path.basename(name_bin)
        spec = "%s:1-1" % name
        rc, out, _ = check(spec)
        self.assertEqual(rc, 2, out)  # not running yet: without --recheck that is CRITICAL
        started = time.time()
        chk = subprocess.Popen([PROCWATCH, "check", "--recheck", "2s", spec],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        p = self.spawn([name_bin, "600"])  # "restarted" while check waits
        out, _ = chk.communicate(timeout=30)
        self.assertGreaterEqual(time.time() - started, 2.0)
        self.assertEqual(chk.returncode, 0, out)
        self.assertTrue(out.startswith("PROCS OK: 1 rule OK"), out)
        p.kill()
        p.wait()
        # Gone for good: still CRITICAL after the recheck.
        rc, out, _ = check("--recheck", "500ms", spec)
        self.assertEqual(rc, 2, out)

    # --- check_procs compatibility ----------------------------------------------------------

    def compare(self, *opts):
        ours = subprocess.run([PROCWATCH, "check", *opts], capture_output=True, text=True,
                              timeout=60)
        theirs = subprocess.run([CHECK_PROCS, *opts], capture_output=True, text=True,
                                timeout=60)
        o, t = ours.stdout.strip(), theirs.stdout.strip()
        what = "%s\n  procwatch:   %s\n  check_procs: %s" % (" ".join(opts), o, t)
        self.assertEqual(ours.returncode, theirs.returncode, what)
        self.assertEqual(o.split()[:2], t.split()[:2], what)  # "PROCS OK:"
        count = re.compile(r"(\d+) process")
        self.assertEqual(count.findall(o)[:1], count.findall(t)[:1], what)
        self.assertEqual(o, t, what)  # the whole line, perfdata included
        return ours.returncode, o

    def test_same_as_check_procs(self):
        n = self.names
        cases = [
            (0, ["-C", n["root"], "-w", "2:2", "-c", "1:3"]),
            (1, ["-C", n["root"], "-w", "1:1", "-c", "1:2"]),
            (2, ["-C", n["root"], "-w", "1:1", "-c", "1:1"]),
            (0, ["-C", n["nobody"], "-u", "nobody", "-c", "1:1"]),
            (2, ["-C", n["nobody"], "-u", "root", "-c", "1:"]),
            (0, ["-C", n["egid0"], "-u", "65534", "-w", "1:1"]),
            (0, ["-a", n["root"], "-c", "2:2"]),
            # 2 root + nobody + egid0 + parent shell + its 2 children + busy loop
            (0, ["-a", self.bins.dir, "-w", "8:8"]),
            (0, ["--ereg-argument-array=^%s/pwc[rn]-[a-z]+ 600$" % self.bins.dir, "-c", "3:3"]),
            (2, ["--ereg-argument-array", "^%s/pwcr-" % self.bins.dir, "-c", "0"]),
            (0, ["-C", n["root"], "-s", "Ss", "-c", "2:2"]),
            (2, ["-C", n["nobody"], "-s", "Ss", "-c", "1:"]),
            (0, ["-C", n["busy"], "-s", "R", "-c", "1:1"]),
            (0, ["-p", str(self.parent_proc.pid), "-c", "2:2"]),
            (0, ["-p", str(self.parent_proc.pid), "-C", n["child"], "-k", "-w", "2:2"]),
            (1, ["-C", n["root"], "-m", "VSZ", "-w", "100", "-c", "100000000"]),
            (2, ["-C", n["root"], "-m", "RSS", "-w", "1", "-c", "2"]),
            (0, ["-C", n["root"], "-m", "RSS", "-w", "10000000"]),
            (1, ["-C", n["busy"], "-m", "CPU", "-w", "50", "-c", "1000"]),
            (0, ["-C", n["root"], "-m", "ELAPSED", "-w", "3600", "-c", "7200"]),
            (0, ["-C", n["root"], "-v", "-w", "2"]),
            (3, ["-m", "FOO"]),
        ]
        for want, opts in cases:
            with self.subTest(opts=opts):
                if want == 3:
                    ours = subprocess.run([PROCWATCH, "check", *opts], capture_output=True,
                                          text=True)
                    theirs = subprocess.run([CHECK_PROCS, *opts], capture_output=True,
                                            text=True)
                    self.assertEqual(ours.returncode, theirs.returncode)
                    self.assertEqual(ours.returncode, 3)
                    self.assertIn("Metric must be one of", ours.stdout)
                    continue
                rc, _ = self.compare(*opts)
                self.assertEqual(rc, want, opts)


class RulesExportTest(unittest.TestCase):
    def test_export_passes_promtool(self):
        r = subprocess.run([PROCWATCH, "rules", "export", "--config", EXAMPLE],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('procwatch_rule_ok{rule="setuid-before-setgid"} == 0', r.stdout)
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write(r.stdout)
        try:
            p = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("SUCCESS: 8 rules found", p.stdout)  # 6 rules, cpu, unexpected execs
        finally:
            os.unlink(f.name)

    def test_export_config_error_exits_2(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("rules:\n  - name: a\n    count: 'x'\n    match: {name: a}\n")
        try:
            r = subprocess.run([PROCWATCH, "rules", "export", "--config", f.name],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stdout, "")
            self.assertRegex(r.stderr, r"^procwatch: %s:3:\d+: " % re.escape(f.name))
            r = subprocess.run([PROCWATCH, "rules", "check", "--config", f.name],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            r = subprocess.run([PROCWATCH, "rules", "check", "--config", EXAMPLE],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("6 rules and a cpu section, OK", r.stdout)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    pwtest.main()
