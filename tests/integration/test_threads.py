"""Real-kernel tests of the process model (issue 12) for one source (PROCWATCH_SOURCE):
a thread group is one process, an exec from a thread is one exec, an orphan goes to its
subreaper, a binary unlinked while it runs is reported deleted.

The workloads come from tests/helpers/pw_threads.c (PW_THREADS), copied to a unique name."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from pwtest import PROCWATCH, Trace, TempBin  # noqa: E402

SOURCE = os.environ.get("PROCWATCH_SOURCE", "netlink")
PW_THREADS = os.environ.get("PW_THREADS", "build/tests/integration/pw_threads")
# Longer than the table holds a group exit back (20 ms and a batch) plus the engine's linger.
SETTLE = 0.5


def find_node(tree, pid):
    """The node of `pid` anywhere in `procwatch tree --json` output, or None."""
    if isinstance(tree, dict):
        if tree.get("pid") == pid:
            return tree
        tree = list(tree.values())
    if isinstance(tree, list):
        for v in tree:
            hit = find_node(v, pid)
            if hit is not None:
                return hit
    return None


def tree_node(pid):
    r = subprocess.run([PROCWATCH, "tree", "--json"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError("procwatch tree failed: " + r.stderr)
    return find_node(json.loads(r.stdout), pid)


class ThreadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bins = TempBin()
        cls.helper = cls.bins.copy(PW_THREADS, "pwthreads")

    @classmethod
    def tearDownClass(cls):
        cls.bins.cleanup()

    def lifecycle(self, t, pid):
        """exec/exit events of pid, in the order procwatch reported them."""
        return [e for e in t.select(lambda e: e.get("pid") == pid and e["event"] in
                                    ("exec", "exit"))]

    def test_leader_exits_first(self):
        """main() pthread_exits, a worker runs 1 s more then exit(7): one process, one exit."""
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen([self.helper, "leader-exit", "7"])
            time.sleep(0.5)
            node = tree_node(p.pid)
            early = t.select(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            self.assertEqual(p.wait(timeout=10), 7)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            time.sleep(SETTLE)
        finally:
            self.assertEqual(t.stop(), 0)
        self.assertIsNotNone(node, "process missing from tree while its worker runs")
        self.assertEqual(early, [], "exit reported while a thread still ran")
        life = self.lifecycle(t, p.pid)
        self.assertEqual([e["event"] for e in life], ["exec", "exit"], life)
        self.assertEqual(life[0]["exe"], self.helper)
        self.assertEqual(life[1]["exit_code"], 7, life[1])
        self.assertEqual(life[1]["signal"], 0)
        self.assertGreaterEqual(life[1]["duration_s"], 0.9)

    def test_exec_from_thread(self):
        """A worker thread execs /usr/bin/true: one exec of the same pid, no exit before it."""
        child = self.bins.copy("/bin/true", "pwtchild")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen([self.helper, "thread-exec", child, "/usr/bin/true"])
            self.assertEqual(p.wait(timeout=10), 0)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("exe") == child)
            time.sleep(SETTLE)
        finally:
            self.assertEqual(t.stop(), 0)
        life = self.lifecycle(t, p.pid)
        self.assertEqual([e["event"] for e in life], ["exec", "exec", "exit"], life)
        self.assertEqual(life[0]["exe"], self.helper)
        self.assertEqual(life[1]["exe"], os.path.realpath("/usr/bin/true"))
        self.assertEqual(life[1]["ppid"], os.getpid())
        self.assertEqual(life[2]["exit_code"], 0)
        self.assertEqual(life[2]["exe"], os.path.realpath("/usr/bin/true"))

    def test_exec_from_thread_keeps_children(self):
        """A child forked before a thread's exec stays the child of the same process."""
        child = self.bins.copy("/bin/true", "pwtchild")
        sleep = self.bins.copy("/bin/sleep", "pwtsleep")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen([self.helper, "thread-exec", child, sleep, "1"])
            self.assertEqual(p.wait(timeout=10), 0)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            time.sleep(SETTLE)
        finally:
            self.assertEqual(t.stop(), 0)
        life = self.lifecycle(t, p.pid)
        self.assertEqual([e["event"] for e in life], ["exec", "exec", "exit"], life)
        self.assertEqual(life[1]["exe"], sleep)
        self.assertGreaterEqual(life[2]["duration_s"], 0.9)
        kid = t.select(lambda e: e["event"] in ("exec", "exit") and e.get("exe") == child)
        self.assertEqual([e["event"] for e in kid], ["exec", "exit"], kid)
        for e in kid:
            self.assertEqual(e["ppid"], p.pid, e)  # its parent lived on through the exec
        self.assertLess(kid[1]["ts"], life[2]["ts"])  # it ended while that parent ran

    def test_subreaper_orphan(self):
        """An orphan whose grandparent is a subreaper is re-parented to it, not to PID 1."""
        gc = self.bins.copy("/bin/true", "pwtorphan")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen([self.helper, "subreaper", gc])
            self.assertEqual(p.wait(timeout=10), 0)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            time.sleep(SETTLE)
        finally:
            self.assertEqual(t.stop(), 0)
        orphan = t.select(lambda e: e["event"] in ("exec", "exit") and e.get("exe") == gc)
        self.assertEqual([e["event"] for e in orphan], ["exec", "exit"], orphan)
        for e in orphan:
            self.assertEqual(e["ppid"], p.pid, e)
        # The middle process: forked by the subreaper, exited at once.
        mids = t.select(lambda e: e["event"] == "exit" and e.get("ppid") == p.pid and
                        e.get("pid") != orphan[0]["pid"])
        self.assertEqual(len(mids), 1, mids)

    def test_unlinked_binary(self):
        """A copy of sleep unlinked while it runs: tree shows it deleted; eBPF's exit says so."""
        sleep = self.bins.copy("/bin/sleep", "pwtdel")
        t = Trace("--source", SOURCE)
        try:
            p = subprocess.Popen([sleep, "1.5"])
            time.sleep(0.3)
            before = tree_node(p.pid)
            os.unlink(sleep)
            after = tree_node(p.pid)
            self.assertEqual(p.wait(timeout=10), 0)
            t.wait_for(lambda e: e["event"] == "exit" and e.get("pid") == p.pid)
            time.sleep(SETTLE)
        finally:
            self.assertEqual(t.stop(), 0)
        self.assertIsNotNone(before)
        self.assertEqual(before["exe"], sleep)
        self.assertNotIn("exe_deleted", before)
        self.assertIsNotNone(after)
        self.assertEqual(after["exe"], sleep)
        self.assertTrue(after.get("exe_deleted"), after)
        life = self.lifecycle(t, p.pid)
        self.assertEqual([e["event"] for e in life], ["exec", "exit"], life)
        self.assertNotIn("exe_deleted", life[0])
        self.assertEqual(life[1]["exe"], sleep)
        if SOURCE == "ebpf":
            self.assertTrue(life[1].get("exe_deleted"), life[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
