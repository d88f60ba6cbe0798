"""Real-kernel test of procwatch's least-privilege mode (issue 10: least privilege).

As a throwaway non-root system user (created here, always removed), procwatch is started the
way the systemd unit starts it: setpriv with exactly the unit's ambient capabilities (and the
same bounding set, NoNewPrivileges). For each source those capabilities allow, `trace --json`
and `serve` must capture another user's (root's, i.e. this test's) short-lived process with
its exact exe and argv. With no capability at all, `sources` still finds a usable source,
`auto` falls back to netlink saying what is lost, and `--source ebpf` fails with one line.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from pwtest import PROCWATCH, free_port, http_get, main, stop, unique, wait_until  # noqa: E402

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../packaging/procwatch.service")
SAMPLE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "../../examples/procwatch.yml")


def unit_setting(key):
    """The value of KEY= in the packaged unit (the one line that sets it)."""
    with open(UNIT) as f:
        values = [l.split("=", 1)[1].strip() for l in f if l.startswith(key + "=")]
    assert len(values) == 1, (key, values)
    return values[0]


# Exactly the unit's AmbientCapabilities= (equal to its CapabilityBoundingSet=), read from the
# unit so the test and the package cannot drift; PROCWATCH_TEST_CAPS overrides it to show that a
# smaller set fails.
assert unit_setting("AmbientCapabilities") == unit_setting("CapabilityBoundingSet")
UNIT_CAPS = os.environ.get("PROCWATCH_TEST_CAPS", ",".join(
    c.lower().removeprefix("cap_") for c in unit_setting("AmbientCapabilities").split())).split(",")
HAVE_EBPF = os.environ.get("PROCWATCH_HAVE_EBPF", "1") == "1"


class PrivilegesTest(unittest.TestCase):
    user = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (creates a system user, uses setpriv)")
        cls.tmp = tempfile.mkdtemp(prefix="pwpriv-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        os.chmod(cls.tmp, 0o755)  # mkdtemp makes it 0700: the user must reach the binary
        cls.bin = os.path.join(cls.tmp, "procwatch")
        shutil.copy(PROCWATCH, cls.bin)
        os.chmod(cls.bin, 0o755)
        # The workload: root's binaries in a dir of their own, named uniquely.
        cls.logdir = os.path.join(cls.tmp, "log")  # as LogsDirectory=: the user's own
        os.mkdir(cls.logdir, 0o755)
        cls.work = os.path.join(cls.tmp, "work")
        os.mkdir(cls.work, 0o755)
        cls.sh = os.path.join(cls.work, "sh")  # base name "sh": naming sees an interpreter
        shutil.copy(os.path.realpath("/bin/sh"), cls.sh)
        os.chmod(cls.sh, 0o755)
        cls.sleep = os.path.join(cls.work, unique("pwslp"))
        shutil.copy(os.path.realpath("/bin/sleep"), cls.sleep)
        os.chmod(cls.sleep, 0o755)
        # A system user of our own (name <= 32 chars, no clash with a real one).
        name = unique("pwpriv").replace("-", "")
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        cls.user = name
        cls.addClassCleanup(cls._remove_user)
        shutil.chown(cls.logdir, user=name, group=name)

    @classmethod
    def _remove_user(cls):
        if not cls.user:
            return
        subprocess.run(["userdel", cls.user], capture_output=True)
        # userdel removes the user's own group (USERGROUPS_ENAB); make sure of it.
        subprocess.run(["groupdel", cls.user], capture_output=True)
        cls.user = None

    def _argv(self, caps, *args):
        """procwatch as the unit runs it: our user, `caps` ambient, the same bounding set."""
        spec = ",".join(["-all"] + ["+" + c for c in caps])
        return ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--init-groups",
                f"--inh-caps={spec}", f"--ambient-caps={spec}", f"--bounding-set={spec}",
                "--no-new-privs", "--", self.bin, *args]

    def _run(self, caps, *args, timeout=30):
        return subprocess.run(self._argv(caps, *args), capture_output=True, text=True,
                              timeout=timeout, cwd="/")

    def _popen(self, caps, *args, stdout=subprocess.PIPE):
        err = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(err.close)
        p = subprocess.Popen(self._argv(caps, *args), stdout=stdout, stderr=err, text=True,
                             cwd="/")
        self.addCleanup(stop, p, signal.SIGKILL)
        if p.stdout:
            self.addCleanup(p.stdout.close)
        return p, err

    @staticmethod
    def _read(f):
        f.flush()
        f.seek(0)
        return f.read()

    def _workload(self):
        """Root's short-lived process: a unique script under sh running a unique sleep."""
        script = os.path.join(self.work, unique("pwpriv") + ".sh")
        with open(script, "w") as f:
            f.write(f"#!{self.sh}\n{self.sleep} 0.3\nexit 0\n")
        os.chmod(script, 0o755)
        child = subprocess.Popen([self.sh, script])
        self.assertEqual(child.wait(timeout=30), 0)
        return script, child.pid

    def test_user_setup_is_not_root(self):
        r = subprocess.run(self._argv(UNIT_CAPS)[:-1] + ["/usr/bin/id", "-u"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.stdout.strip(), str(pwd.getpwnam(self.user).pw_uid), r.stderr)
        self.assertNotEqual(r.stdout.strip(), "0")

    def _unit_sources(self):
        return (["ebpf"] if HAVE_EBPF else []) + ["netlink"]

    def test_trace_with_unit_caps_sees_root_process(self):
        for source in self._unit_sources():
            with self.subTest(source=source):
                self._trace_sees_root_process(source)

    def _trace_sees_root_process(self, source):
        p, err = self._popen(UNIT_CAPS, "trace", "--json", "--source", source)
        events = []
        lock = threading.Lock()

        def read():
            for line in p.stdout:
                ev = json.loads(line)
                with lock:
                    events.append(ev)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        self.assertTrue(wait_until(lambda: f"using the {source} source" in self._read(err)
                                   or p.poll() is not None, 20), self._read(err))
        self.assertIsNone(p.poll(), self._read(err))
        script, sh_pid = self._workload()

        def execs_of(exe):
            with lock:
                return [e for e in events if e["event"] == "exec" and e["exe"] == exe]

        sleeps = wait_until(lambda: execs_of(self.sleep), 10)
        scripts = wait_until(lambda: [e for e in execs_of(self.sh) if e["pid"] == sh_pid], 10)
        self.assertEqual(stop(p, signal.SIGINT), 0, self._read(err))
        reader.join(timeout=5)
        stderr = self._read(err)
        self.assertEqual(len(sleeps), 1, stderr)
        self.assertEqual(sleeps[0]["argv"], [self.sleep, "0.3"])
        self.assertEqual(sleeps[0]["uid"], 0)
        self.assertEqual(sleeps[0]["user"], "root")
        self.assertFalse(sleeps[0]["incomplete"])
        self.assertIn(os.path.basename(script), sleeps[0]["tree"])
        self.assertEqual(len(scripts), 1, stderr)
        self.assertEqual(scripts[0]["argv"], [self.sh, script])
        self._assert_unit_loses_nothing(stderr)
        self.assertNotIn("missing", stderr)

    def test_serve_with_unit_caps_counts_root_process(self):
        for source in self._unit_sources():
            with self.subTest(source=source):
                self._serve_counts_root_process(source)

    def _serve_counts_root_process(self, source):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # The unit's flags (ExecStart), with a test port, log file and this tree's sample config.
        events_log = os.path.join(self.logdir, unique("events") + ".log")
        exec_start = unit_setting("ExecStart").split()
        self.assertEqual(exec_start[:2], ["/usr/bin/procwatch", "serve"])
        self.assertIn("--config", exec_start)
        self.assertIn("--events-log", exec_start)
        p, err = self._popen(UNIT_CAPS, "serve", "--config", SAMPLE_CONFIG,
                             "--events-log", events_log,
                             "--web.listen-address", f"127.0.0.1:{port}",
                             "--source", source, stdout=subprocess.DEVNULL)
        up = wait_until(lambda: f'procwatch_build_info{{source="{source}"'
                        in http_get(base + "/metrics")[2], 20)
        self.assertTrue(up, self._read(err))
        script, _ = self._workload()
        name = os.path.basename(script)

        def execs():
            total = 0
            for line in http_get(base + "/metrics")[2].splitlines():
                if line.startswith("procwatch_tree_execs_total{") and name in line:
                    total += float(line.rsplit(" ", 1)[1])
            return total

        # The script's tree: sh running the script (1 exec), and the sleep under it (1 exec).
        got = wait_until(lambda: execs() >= 2 and execs(), 10, 0.3)
        self.assertEqual(got, 2, self._read(err))
        # The events log (written as the unprivileged user) has the script's exec with its argv.
        with open(events_log) as f:
            logged = [json.loads(l) for l in f]
        self.assertTrue([e for e in logged if e["event"] == "exec" and script in e["argv"]],
                        len(logged))
        self.assertEqual(stop(p), 0, self._read(err))
        self._assert_unit_loses_nothing(self._read(err))

    def _assert_unit_loses_nothing(self, text):
        """With the unit's capabilities only CAP_SYS_NICE may be named (the unit leaves it out:
        RestrictRealtime=yes refuses SCHED_FIFO anyway; netlink says so)."""
        for cap in ("CAP_SYS_PTRACE", "CAP_NET_ADMIN", "CAP_BPF", "CAP_PERFMON"):
            self.assertNotIn("without " + cap, text)

    def test_sources_without_caps(self):
        r = self._run([], "sources")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = {line.split()[0]: line for line in r.stdout.splitlines()}
        self.assertEqual(sorted(lines), ["ebpf", "netlink", "procfs"], r.stdout)
        self.assertRegex(lines["ebpf"], r"^ebpf +unusable ")
        if HAVE_EBPF:
            self.assertIn("missing CAP_BPF CAP_PERFMON", lines["ebpf"])
        self.assertRegex(lines["netlink"], r"^netlink +usable ")
        self.assertIn("without CAP_SYS_PTRACE", lines["netlink"])
        self.assertRegex(lines["procfs"], r"^procfs +usable ")
        doc = json.loads(self._run([], "sources", "--json").stdout)
        self.assertEqual(doc["capabilities"], [])
        by = {s["source"]: s for s in doc["sources"]}
        self.assertFalse(by["ebpf"]["usable"])
        self.assertTrue(by["netlink"]["usable"])
        if HAVE_EBPF:
            self.assertEqual(by["ebpf"]["missing"], ["CAP_PERFMON", "CAP_BPF"][::-1])

    def test_tree_with_unit_caps_shows_root_processes(self):
        """tree as the unprivileged user: root's processes (this test) with exe and argv; with
        no capability their exe is empty and one line says why."""
        holder = subprocess.Popen([self.sleep, "30"])
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)

        def find(caps):
            r = self._run(caps, "tree", "--json", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            stack, found = json.loads(r.stdout), []
            while stack:
                p = stack.pop()
                stack.extend(p.get("children", []))
                if p["pid"] == holder.pid:
                    found.append(p)
            self.assertEqual(len(found), 1, r.stderr)
            return found[0], r.stderr

        p, err = find(UNIT_CAPS)
        self.assertEqual(p["exe"], self.sleep, err)
        self.assertEqual(p["argv"], [self.sleep, "30"])
        self.assertEqual(p["user"], "root")
        p, err = find([])
        self.assertEqual(p["exe"], "", "without CAP_SYS_PTRACE another user's exe is hidden")
        self.assertEqual(p["argv"], [self.sleep, "30"])
        self.assertIn("CAP_SYS_PTRACE", err)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_sources_with_unit_caps(self):
        r = self._run(UNIT_CAPS, "sources", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        by = {s["source"]: s for s in json.loads(r.stdout)["sources"]}
        for source in self._unit_sources():
            self.assertTrue(by[source]["usable"], by[source])
            self._assert_unit_loses_nothing(by[source]["loss"])
        if HAVE_EBPF:
            self.assertEqual(by["ebpf"]["loss"], "")

    def test_auto_without_caps_falls_back_to_netlink(self):
        p, err = self._popen([], "trace", "--json", "--source", "auto",
                             stdout=subprocess.DEVNULL)
        self.assertTrue(wait_until(lambda: "without CAP_SYS_PTRACE" in self._read(err)
                                   or p.poll() is not None, 20), self._read(err))
        self.assertEqual(stop(p, signal.SIGINT), 0, self._read(err))
        lines = self._read(err).splitlines()
        if HAVE_EBPF:
            self.assertIn("procwatch: ebpf: needs CAP_BPF and CAP_PERFMON (missing: CAP_BPF, "
                          "CAP_PERFMON); falling back to netlink", lines)
        self.assertIn("procwatch: using the netlink source", lines)
        loss = [line for line in lines if line.startswith("procwatch: netlink: without ")]
        self.assertEqual(len(loss), 1, lines)
        self.assertIn("without CAP_SYS_PTRACE other users' exe paths are hidden", loss[0])

    @unittest.skipUnless(HAVE_EBPF, "this build has no eBPF source")
    def test_explicit_ebpf_without_caps_exits_2(self):
        for caps in ([], ["perfmon", "sys_ptrace", "net_admin"]):
            with self.subTest(caps=caps):
                r = self._run(caps, "trace", "--source", "ebpf")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith("procwatch: ebpf: needs CAP_BPF and "
                                                    "CAP_PERFMON (missing: CAP_BPF"), lines[0])


if __name__ == "__main__":
    main()
