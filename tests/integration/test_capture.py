"""Real-kernel tests of `procwatch trace` and `procwatch tree` (issue: capture)."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from pwtest import PROCWATCH, Trace, TempBin, cgroup2_root, unique  # noqa: E402

SOURCE = os.environ.get("PROCWATCH_SOURCE", "netlink")


class CaptureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bins = TempBin()

    @classmethod
    def tearDownClass(cls):
        cls.bins.cleanup()

    def test_short_lived_process(self):
        """A process that lives 100 ms is always complete, with either source."""
        sh = self.bins.copy("/bin/sh", "pwsh")
        t = Trace("--source", SOURCE)
        try:
            # "; :" keeps sh itself (no exec of sleep in its place) for the 100 ms.
            p = subprocess.Popen([sh, "-c", "sleep 0.1; :", "short", "lived arg"])
            p.wait()
            execs = t.wait_for(lambda e: e["event"] == "exec" and e["pid"] == p.pid)
            exits = t.wait_for(lambda e: e["event"] == "exit" and e["pid"] == p.pid)
        finally:
            self.assertEqual(t.stop(), 0)
        self.assertEqual(len(execs), 1, execs)
        ev = execs[0]
        self.assertEqual(ev["ppid"], os.getpid())
        self.assertFalse(ev["incomplete"], ev)
        self.assertEqual(ev["exe"], sh)
        self.assertEqual(ev["argv"], [sh, "-c", "sleep 0.1; :", "short", "lived arg"])
        self.assertEqual(ev["uid"], 0)
        self.assertEqual(ev["user"], "root")
        self.assertEqual(ev["container_id"], "")
        for key in ("ts", "comm", "gid", "cgroup", "context", "incomplete", "tree"):
            self.assertIn(key, ev)
        self.assertEqual(len(exits), 1, exits)
        self.assertEqual(exits[0]["exit_code"], 0)
        self.assertEqual(exits[0]["signal"], 0)
        self.assertGreaterEqual(exits[0]["duration_s"], 0.1)
        self.assertLess(exits[0]["duration_s"], 5)

    def test_200_true_one_at_a_time(self):
        """/bin/true exits within microseconds: netlink may miss its /proc files (at most 1% of
        200, reported incomplete with pid and parent); eBPF reads them in the kernel (none)."""
        exe = self.bins.copy("/bin/true", "pwtrue")
        t = Trace("--source", SOURCE)
        pids = []
        try:
            for i in range(200):
                p = subprocess.Popen([exe, "run", str(i)])
                p.wait()
                pids.append(p.pid)
            last = pids[-1]
            t.wait_for(lambda e: e["event"] == "exit" and e["pid"] == last)
        finally:
            self.assertEqual(t.stop(), 0)
        by_pid = {}
        for e in t.select(lambda e: e["event"] == "exec" and e["pid"] in set(pids)):
            by_pid.setdefault(e["pid"], e)
        self.assertEqual(len(by_pid), 200, "every exec reported")
        incomplete = 0
        for i, pid in enumerate(pids):
            ev = by_pid[pid]
            self.assertEqual(ev["ppid"], os.getpid())
            if ev["incomplete"]:
                incomplete += 1
                continue
            self.assertEqual(ev["exe"], exe)
            self.assertEqual(ev["argv"], [exe, "run", str(i)])
        print(f"{SOURCE}: {incomplete} of 200 incomplete", file=sys.stderr)
        self.assertLessEqual(incomplete, 2 if SOURCE == "netlink" else 0)

    def test_exit_code_and_signal(self):
        sh = self.bins.copy("/bin/sh", "pwsh")
        t = Trace("--source", SOURCE)
        try:
            p1 = subprocess.Popen([sh, "-c", "exit 7"])
            p1.wait()
            p2 = subprocess.Popen([sh, "-c", "kill -TERM $$; sleep 5"])
            p2.wait()
            e1 = t.wait_for(lambda e: e["event"] == "exit" and e["pid"] == p1.pid)
            e2 = t.wait_for(lambda e: e["event"] == "exit" and e["pid"] == p2.pid)
        finally:
            t.stop()
        self.assertEqual(e1[0]["exit_code"], 7)
        self.assertEqual(e1[0]["signal"], 0)
        self.assertIsNone(e2[0]["exit_code"])
        self.assertEqual(e2[0]["signal"], signal.SIGTERM)

    def test_chain_of_three(self):
        sh = self.bins.copy("/bin/sh", "pwchain")
        leaf = self.bins.copy("/bin/sleep", "pwleaf")
        t = Trace("--source", SOURCE)
        try:
            # The trailing ':' keeps each shell from exec'ing its last command.
            top = subprocess.Popen([sh, "-c", f"{sh} -c '{leaf} 0.2; :'; :"])
            top.wait()
            leaves = t.wait_for(lambda e: e["event"] == "exec" and e["exe"] == leaf)
            t.wait_for(lambda e: e["event"] == "exit" and leaves and e["pid"] == leaves[0]["pid"])
        finally:
            t.stop()
        self.assertEqual(len(leaves), 1)
        leaf_ev = leaves[0]
        self.assertEqual(leaf_ev["argv"], [leaf, "0.2"])
        mids = t.select(lambda e: e["event"] == "exec" and e["pid"] == leaf_ev["ppid"])
        self.assertEqual(len(mids), 1, "middle shell exec not reported")
        self.assertEqual(mids[0]["exe"], sh)
        self.assertEqual(mids[0]["argv"], [sh, "-c", f"{leaf} 0.2; :"])
        self.assertEqual(mids[0]["ppid"], top.pid)
        tops = t.select(lambda e: e["event"] == "exec" and e["pid"] == top.pid)
        self.assertEqual(tops[0]["ppid"], os.getpid())
        forks = t.select(lambda e: e["event"] == "fork" and e["pid"] == leaf_ev["pid"])
        self.assertEqual(forks[0]["ppid"], leaf_ev["ppid"])

    def test_uid_of_unprivileged_process(self):
        exe = self.bins.copy("/bin/sleep", "pwnobody")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                  exe, "0.1"])
            p.wait()
            execs = t.wait_for(lambda e: e["event"] == "exec" and e["exe"] == exe)
        finally:
            t.stop()
        self.assertEqual(len(execs), 1)
        self.assertEqual(execs[0]["uid"], 65534)
        self.assertEqual(execs[0]["gid"], 65534)
        self.assertEqual(execs[0]["user"], "nobody")
        self.assertEqual(execs[0]["pid"], p.pid)  # setpriv execs in place

    def test_docker_like_cgroup(self):
        root = cgroup2_root()
        self.assertIsNotNone(root, "no cgroup2 mount")
        cid = os.urandom(32).hex()
        slice_dir = os.path.join(root, unique("pwtest") + ".slice")
        scope = os.path.join(slice_dir, f"docker-{cid}.scope")
        os.makedirs(scope)
        exe = self.bins.copy("/bin/sleep", "pwdocker")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen(["/bin/sh", "-c",
                                  f"echo $$ > {scope}/cgroup.procs && exec {exe} 0.2"])
            p.wait()
            execs = t.wait_for(lambda e: e["event"] == "exec" and e["exe"] == exe)
        finally:
            t.stop()
            os.rmdir(scope)
            os.rmdir(slice_dir)
        self.assertEqual(len(execs), 1)
        ev = execs[0]
        self.assertEqual(ev["container_id"], cid)
        self.assertEqual(ev["cgroup"], "/" + os.path.relpath(scope, root))
        self.assertEqual(ev["argv"], [exe, "0.2"])

    def test_tree_reports_live_processes(self):
        sh = self.bins.copy("/bin/sh", "pwtree")
        leaf = self.bins.copy("/bin/sleep", "pwtreeleaf")
        p = subprocess.Popen([sh, "-c", f"{leaf} 8 & wait"])
        try:
            time.sleep(0.3)
            out = subprocess.run([PROCWATCH, "tree", "--json"], capture_output=True, text=True,
                                 timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            forest = json.loads(out.stdout)
            found = {}

            def walk(node, parent):
                if node["pid"] == p.pid:
                    found["top"] = (node, parent)
                if node["exe"] == leaf:
                    found["leaf"] = (node, parent)
                for c in node["children"]:
                    walk(c, node)

            for r in forest:
                walk(r, None)
        finally:
            if "leaf" in found:
                os.kill(found["leaf"][0]["pid"], signal.SIGKILL)
            p.kill()
            p.wait()
        self.assertIn("top", found)
        self.assertIn("leaf", found)
        top, top_parent = found["top"]
        node, parent = found["leaf"]
        self.assertEqual(top["exe"], sh)
        self.assertEqual(top["argv"], [sh, "-c", f"{leaf} 8 & wait"])
        self.assertEqual(top_parent["pid"], os.getpid())
        self.assertEqual(node["argv"], [leaf, "8"])
        self.assertEqual(node["ppid"], p.pid)
        self.assertIs(parent, top)  # nested under its parent in the JSON tree
        self.assertEqual(node["uid"], 0)
        self.assertEqual(node["user"], "root")

    def test_sigterm_flushes_and_exits_zero(self):
        exe = self.bins.copy("/bin/true", "pwterm")
        t = Trace("--source", SOURCE)
        p = subprocess.Popen([exe])
        p.wait()
        time.sleep(0.5)
        self.assertEqual(t.stop(signal.SIGTERM), 0)
        self.assertTrue(t.select(lambda e: e["event"] == "exec" and e["pid"] == p.pid))


class ExecPathTest(unittest.TestCase):
    """The absolute exe for every way of naming the program (eBPF issue's list)."""

    @classmethod
    def setUpClass(cls):
        cls.bins = TempBin()
        cls.true = cls.bins.copy("/bin/true", "pwpath")

    @classmethod
    def tearDownClass(cls):
        cls.bins.cleanup()

    def check_exec(self, spawn, expect_exe, expect_argv):
        # netlink may lose a short-lived process's /proc files (about 1 in 100, reported
        # incomplete): it gets three tries; eBPF gets one. Always-incomplete still fails.
        for attempt in range(3 if SOURCE == "netlink" else 1):
            t = Trace("--source", SOURCE)
            try:
                pid = spawn()
                execs = t.wait_for(lambda e: e["event"] == "exec" and e["pid"] == pid
                                   and e["exe"] == expect_exe)
                if not execs:  # look at what it did say
                    execs = t.wait_for(lambda e: e["event"] == "exec" and e["pid"] == pid, 2)
            finally:
                t.stop()
            self.assertTrue(execs, "no exec event for pid %d" % pid)
            ev = execs[-1]
            if not (ev["incomplete"] and ev["exe"] == ""):
                break
            print("note: netlink could not read pid %d in time (try %d)" % (pid, attempt + 1),
                  file=sys.stderr)
        self.assertEqual(ev["exe"], expect_exe)
        self.assertEqual(ev["argv"], expect_argv)

    def run_wait(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        p.wait()
        return p.pid

    def test_relative_path(self):
        d, name = os.path.split(self.true)
        self.check_exec(lambda: self.run_wait(["./" + name, "rel"], cwd=d), self.true,
                        ["./" + name, "rel"])

    def test_symlink(self):
        link = os.path.join(self.bins.dir, "pwlink")
        if not os.path.exists(link):
            os.symlink(self.true, link)
        self.check_exec(lambda: self.run_wait([link, "via-link"]), self.true,
                        [link, "via-link"])

    def test_shebang_script(self):
        script = os.path.join(self.bins.dir, "pwscript.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nsleep 0.1\n")
        os.chmod(script, 0o755)
        self.check_exec(lambda: self.run_wait([script, "arg1"]), os.path.realpath("/bin/sh"),
                        ["/bin/sh", script, "arg1"])

    def test_fexecve(self):
        def spawn():
            pid = os.fork()
            if pid == 0:
                try:
                    fd = os.open(self.true, os.O_RDONLY)
                    os.execve(fd, [self.true, "by-fd"], {})
                finally:
                    os._exit(127)
            os.waitpid(pid, 0)
            return pid
        self.check_exec(spawn, self.true, [self.true, "by-fd"])


class CliTest(unittest.TestCase):
    def test_auto_picks_best_source(self):
        expect = os.environ.get("PROCWATCH_AUTO_EXPECT", "ebpf")
        t = Trace()
        try:
            self.assertIn(f"using the {expect} source", t.stderr)
        finally:
            self.assertEqual(t.stop(), 0)

    def test_bad_flag_is_one_line_exit_2(self):
        for args in (["trace", "--bogus"], ["trace", "--source", "nope"], ["tree", "--procfs",
                     "/nonexistent"], ["frobnicate"], []):
            r = subprocess.run([PROCWATCH, *args], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, (args, r.stderr))
            self.assertTrue(r.stderr.startswith("procwatch: "), r.stderr)

    def test_help_for_every_subcommand(self):
        for sub in ("trace", "tree"):
            r = subprocess.run([PROCWATCH, sub, "--help"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0)
            self.assertIn("--json", r.stdout)

    def test_tree_on_fixture(self):
        fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "proc", "basic")
        r = subprocess.run([PROCWATCH, "tree", "--json", "--procfs", fixtures],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        forest = json.loads(r.stdout)
        pids = []

        def walk(n):
            pids.append(n["pid"])
            for c in n["children"]:
                walk(c)

        for n in forest:
            walk(n)
        self.assertIn(1, pids)
        self.assertEqual(len(pids), len(set(pids)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
