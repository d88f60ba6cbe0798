"""Real-kernel test of the /proc poller source (`trace --source procfs`)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from pwtest import Trace, TempBin  # noqa: E402


class ProcfsSourceTest(unittest.TestCase):
    def test_sees_process_longer_than_interval(self):
        bins = TempBin()
        exe = bins.copy("/bin/sleep", "pwpoll")
        t = Trace("--source", "procfs", "--interval", "100")
        try:
            p = subprocess.Popen([exe, "0.6"])
            execs = t.wait_for(lambda e: e["event"] == "exec" and e["pid"] == p.pid)
            p.wait()
            exits = t.wait_for(lambda e: e["event"] == "exit" and e["pid"] == p.pid)
        finally:
            self.assertEqual(t.stop(), 0)
            bins.cleanup()
        self.assertEqual(len(execs), 1, execs)
        self.assertEqual(execs[0]["exe"], exe)
        self.assertEqual(execs[0]["argv"], [exe, "0.6"])
        self.assertEqual(execs[0]["ppid"], os.getpid())
        self.assertEqual(len(exits), 1)
        self.assertIsNone(exits[0]["exit_code"])  # a poller cannot know the exit status


if __name__ == "__main__":
    unittest.main(verbosity=2)
