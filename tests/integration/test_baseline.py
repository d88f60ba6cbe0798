"""`serve --baseline` on the real kernel (root): learn, then flag what was never seen.

Script A runs while the baseline learns (3 s); afterwards A again and a new script B: only B is
counted in procwatch_unexpected_execs_total and has "expected": false in the events log. After a
restart the file keeps the learned entries and enforcement. The offline CLI lists, forgets and
freezes.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from pwtest import PROCWATCH, free_port, http_get, main, samples, stop, unique, wait_until


def script(dir_, name):
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n/bin/true\n")
    os.chmod(path, 0o755)
    return path


class BaselineTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pwbase-")
        os.chmod(self.dir, 0o755)
        self.file = os.path.join(self.dir, "baseline.yml")
        self.log = os.path.join(self.dir, "events.log")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *extra):
        port = free_port()
        p = subprocess.Popen([PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{port}",
                              "--baseline", self.file, "--baseline.learn", "3s",
                              "--baseline.save-interval", "1s", "--events-log", self.log,
                              *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(stop, p, signal.SIGKILL)
        base = f"http://127.0.0.1:{port}"
        self.assertTrue(wait_until(lambda: http_get(base + "/-/healthy")[0] == 200, 20))
        return p, base

    def unexpected(self, base, name):
        return sum(v for l, v in samples(http_get(base + "/metrics")[2],
                                         "procwatch_unexpected_execs_total")
                   if name in l["tree"].split("/"))

    def logged(self, path):
        with open(self.log) as f:
            return [e for e in map(json.loads, f) if e["event"] == "exec" and path in e["argv"]]

    def test_learn_then_flag_and_survive_a_restart(self):
        a = script(self.dir, unique("basea") + ".sh")
        b = script(self.dir, unique("baseb") + ".sh")
        p, base = self.serve()
        text = http_get(base + "/metrics")[2]
        self.assertEqual(samples(text, "procwatch_baseline_learning")[0][1], 1)
        subprocess.run([a], check=True)
        self.assertTrue(wait_until(lambda: self.logged(a), 10))
        self.assertTrue(all(e["expected"] for e in self.logged(a)), self.logged(a))
        self.assertTrue(wait_until(lambda: samples(http_get(base + "/metrics")[2],
                                                   "procwatch_baseline_learning")[0][1] == 0
                                   or None, 10, step=0.5))
        subprocess.run([a], check=True)
        subprocess.run([b], check=True)
        self.assertTrue(wait_until(lambda: self.logged(b), 10))
        self.assertEqual(self.logged(b)[0]["expected"], False)
        self.assertTrue(wait_until(lambda: len(self.logged(a)) == 2, 10))
        self.assertEqual(self.logged(a)[1]["expected"], True)
        names_b = os.path.basename(b)
        self.assertEqual(wait_until(lambda: self.unexpected(base, names_b) >= 2 and
                                    self.unexpected(base, names_b), 10), 2)  # sh + true
        self.assertEqual(self.unexpected(base, os.path.basename(a)), 0)
        self.assertEqual(stop(p), 0)
        p.stderr.close()
        with open(self.file) as f:
            text = f.read()
        self.assertIn(os.path.basename(a), text)
        self.assertNotIn(names_b, text)

        # A restart keeps the entries and the learning start: still enforcing.
        p2, base2 = self.serve()
        self.assertEqual(samples(http_get(base2 + "/metrics")[2],
                                 "procwatch_baseline_learning")[0][1], 0)
        subprocess.run([a], check=True)
        subprocess.run([b], check=True)
        self.assertEqual(wait_until(lambda: self.unexpected(base2, names_b) >= 2 and
                                    self.unexpected(base2, names_b), 10), 2)
        self.assertEqual(self.unexpected(base2, os.path.basename(a)), 0)
        self.assertEqual(stop(p2), 0)
        p2.stderr.close()

        # Offline: list shows A; forget it; freeze.
        r = subprocess.run([PROCWATCH, "baseline", "list", "--json", "--file", self.file],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        trees = [e["tree"] for e in json.loads(r.stdout)]
        tree_a = [t for t in trees if os.path.basename(a) in t.split("/")]
        self.assertTrue(tree_a, trees)
        r = subprocess.run([PROCWATCH, "baseline", "forget", "--file", self.file, tree_a[0]],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([PROCWATCH, "baseline", "list", "--file", self.file],
                           capture_output=True, text=True)
        self.assertNotIn(tree_a[0] + " ", r.stdout)
        r = subprocess.run([PROCWATCH, "baseline", "forget", "--file", self.file, "/no/such"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

    def test_corrupt_file_is_one_line_and_a_fresh_learning_period(self):
        with open(self.file, "w") as f:
            f.write("version: 1\nlearning: [\n")
        p, base = self.serve()
        self.assertEqual(samples(http_get(base + "/metrics")[2],
                                 "procwatch_baseline_learning")[0][1], 1)
        self.assertTrue(os.path.exists(self.file + ".corrupt"))
        self.assertEqual(stop(p), 0)
        said = [l for l in p.stderr.read().splitlines() if "baseline" in l]
        p.stderr.close()
        self.assertEqual(len(said), 1, said)
        self.assertIn(self.file + ":", said[0])
        self.assertIn("fresh learning period", said[0])


if __name__ == "__main__":
    main()
