"""Real-kernel tests of bytes that are not text (issue 12): a path that is not UTF-8 round-trips
through `trace --json` (its *_b64 fields, README "JSON output"), a rule matches it by its raw
bytes, and ESC sequences in a file name or comm never reach the terminal raw."""
import base64
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from pwtest import PROCWATCH, Trace, stop, unique  # noqa: E402

HAVE_EBPF = os.environ.get("PROCWATCH_HAVE_EBPF", "1") == "1"
SOURCES = ["netlink"] + (["ebpf"] if HAVE_EBPF else [])
PR_SET_NAME = 15


def raw(ev, key):
    """The exact bytes of a text field, per the documented form."""
    if key + "_b64" in ev:
        return base64.b64decode(ev[key + "_b64"])
    return ev[key].encode()


def raw_argv(ev):
    if "argv_b64" in ev:
        return [base64.b64decode(a) for a in ev["argv_b64"]]
    return [a.encode() for a in ev["argv"]]


def control_bytes(data):
    """Bytes a terminal would act on: C0 controls but newline, DEL, and the C1 controls as
    UTF-8 (U+0080-U+009F)."""
    bad = [b for b in data if (b < 0x20 and b != 0x0A) or b == 0x7F]
    text = data.decode("utf-8", "replace")
    return bad + [c for c in text if 0x80 <= ord(c) <= 0x9F]


class BytesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.top = tempfile.mkdtemp(prefix="pwbytes-").encode()
        os.chmod(cls.top, 0o755)
        cls.odd_dir = cls.top + b"/x\xff\xfe"
        os.mkdir(cls.odd_dir, 0o755)
        cls.true = cls.odd_dir + b"/" + unique("pwtrue").encode()
        cls.sleep = cls.odd_dir + b"/" + unique("pwsleep").encode()
        shutil.copy(os.path.realpath("/bin/true"), cls.true)
        shutil.copy(os.path.realpath("/bin/sleep"), cls.sleep)
        cls.esc = cls.top + b"/" + unique("pw\x1b[2Jesc").encode()
        shutil.copy(os.path.realpath("/bin/sleep"), cls.esc)
        for p in (cls.true, cls.sleep, cls.esc):
            os.chmod(p, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.top, ignore_errors=True)

    def run_traced_true(self, source):
        """The exec event of the odd-path true; netlink may read /proc too late for a process
        this short (incomplete, at most ~1%): then run it again."""
        argv = [self.true, b"arg\xff", b"ok"]
        t = Trace("--source", source)
        try:
            for _ in range(5):
                p = subprocess.Popen(argv)
                p.wait()
                evs = t.wait_for(lambda e: e["event"] == "exec" and e["pid"] == p.pid)
                self.assertTrue(evs, "no exec event for pid %d" % p.pid)
                if not evs[0]["incomplete"]:
                    return evs[0], argv
        finally:
            self.assertEqual(t.stop(), 0)
        self.fail("every exec was incomplete")

    def test_exe_and_argv_round_trip(self):
        for source in SOURCES:
            with self.subTest(source=source):
                ev, argv = self.run_traced_true(source)
                self.assertEqual(raw(ev, "exe"), self.true)
                self.assertIn("\ufffd", ev["exe"])  # the text field stays readable
                self.assertEqual(raw_argv(ev), argv)
                self.assertEqual(len(ev["argv"]), len(ev["argv_b64"]))
                self.assertNotIn("comm_b64", ev)  # valid UTF-8: no sibling field
                self.assertNotIn("user_b64", ev)

    def test_rule_matches_raw_bytes(self):
        sleeper = subprocess.Popen([self.sleep, "60"])
        try:
            deadline = time.time() + 5
            while time.time() < deadline and os.readlink(b"/proc/%d/exe" % sleeper.pid) \
                    != self.sleep:
                time.sleep(0.05)
            base = os.path.basename(self.sleep).decode()
            top = self.top.decode()
            config = """\
rules:
  - name: by-exe-glob
    match:
      exe: '%s/x\\xff\\xfe/pwsleep-*'
    count: "1:1"
  - name: by-exe-exact
    match:
      exe: '%s/x\\xFF\\xFE/%s'
    count: "1:1"
  - name: by-args-regex
    match:
      args: 'x\\xff\\xfe/pwsleep-[a-z]+ 60$'
    count: "1:1"
  - name: other-bytes
    match:
      exe: '%s/x\\xfe\\xff/*'
    count: "0"
""" % (top, top, base, top)
            path = os.path.join(top, "rules.yml")
            with open(path, "w") as f:
                f.write(config)
            r = subprocess.run([PROCWATCH, "check", "--config", path], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for rule in ("by-exe-glob", "by-exe-exact", "by-args-regex"):
                self.assertIn("'%s'=1;" % rule, r.stdout)
            self.assertIn("'other-bytes'=0;", r.stdout)
        finally:
            sleeper.kill()
            sleeper.wait()

    def start_hostile(self):
        """A binary named with ESC[2J and a python process whose comm holds ESC sequences."""
        esc = subprocess.Popen([self.esc, "3"])
        libc = ctypes.CDLL(None, use_errno=True)

        def set_comm():
            libc.prctl(PR_SET_NAME, b"\x1b[31mred\x07\x1b]0", 0, 0, 0)

        named = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"],
                                 preexec_fn=set_comm)
        return esc, named

    def assert_terminal_safe(self, out):
        self.assertEqual(control_bytes(out), [], out)
        self.assertNotIn(b"\x1b", out)

    def test_no_raw_control_bytes_in_text_output(self):
        for source in SOURCES:
            with self.subTest(source=source):
                t = subprocess.Popen([PROCWATCH, "trace", "--source", source, "--color", "never"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                chunks = []
                reader = threading.Thread(target=lambda: chunks.extend(iter(
                    lambda: t.stdout.read1(65536), b"")), daemon=True)
                reader.start()
                try:
                    time.sleep(2)  # the source is up (no ready line on a pipe to wait for)
                    esc, named = self.start_hostile()
                    time.sleep(1)
                    tree = subprocess.run([PROCWATCH, "tree", "--color", "never"],
                                          capture_output=True, timeout=60)
                    esc.kill()
                    named.kill()
                    esc.wait()
                    named.wait()
                    time.sleep(0.5)
                finally:
                    stop(t, sig=2)
                reader.join(timeout=10)
                t.stdout.close()
                out = b"".join(chunks)
                self.assertEqual(tree.returncode, 0, tree.stderr)
                self.assert_terminal_safe(out)
                self.assert_terminal_safe(tree.stdout)
                # The hostile processes were shown, escaped.
                self.assertIn(b"\\x1b[2Jesc-", out)
                self.assertIn(b"\\x1b[2Jesc-", tree.stdout)
                self.assertIn(str(named.pid).encode(), out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
