"""Containers with a real runtime: podman (Debian's, with runc) runs a named container from an
image built offline from a busybox-static root; `trace --json` (eBPF and netlink) must report
its processes, and a `podman exec` into it, with the right container_id, container_name, image
and runtime; `tree --json` too; and a `container_name: pwtest-*` rule counts them in `check`.

Skips, saying why, only where podman or runc is missing or podman cannot start a container at
all. On these machines crun refuses hybrid cgroups and the hard rlimits cannot be raised, hence
`--runtime /usr/sbin/runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024`.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwtest  # noqa: E402

PROCWATCH = pwtest.PROCWATCH
PODMAN = shutil.which("podman")
RUNC = "/usr/sbin/runc"
BUSYBOX = "/bin/busybox"
RUN_FLAGS = ["--runtime", RUNC, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def podman(*args, timeout=120, check=True):
    r = subprocess.run([PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def sources():
    out = ["netlink"]
    if os.environ.get("PROCWATCH_HAVE_EBPF", "1") == "1":
        out.insert(0, "ebpf")
    return out


class Containers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.image = None
        if PODMAN is None or not os.path.exists(RUNC):
            raise unittest.SkipTest("podman or runc not installed (apt-get install podman runc)")
        if not os.path.exists(BUSYBOX):
            raise unittest.SkipTest("no /bin/busybox for the image root (apt-get install "
                                    "busybox-static)")
        root = tempfile.mkdtemp(prefix="pwtest-root-")
        try:
            os.makedirs(os.path.join(root, "bin"))
            shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
            for applet in ("sh", "sleep", "cat", "true"):
                os.symlink("busybox", os.path.join(root, "bin", applet))
            image = "localhost/" + pwtest.unique("pwtest")
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            r = subprocess.run([PODMAN, "import", "-", image], stdin=tar.stdout,
                               capture_output=True, text=True, timeout=120)
            tar.stdout.close()
            tar.wait()
            if r.returncode != 0:
                raise unittest.SkipTest("podman cannot import an image: " + r.stderr.strip())
            cls.image = image
        finally:
            shutil.rmtree(root, ignore_errors=True)
        # Can podman start a container at all here?
        probe = podman("run", "--rm", *RUN_FLAGS, cls.image, "/bin/true", check=False)
        if probe.returncode != 0:
            cls.tearDownClass()
            raise unittest.SkipTest("podman cannot start a container here: " +
                                    probe.stderr.strip()[-300:])

    @classmethod
    def tearDownClass(cls):
        if cls.image:
            podman("rmi", "-f", cls.image, check=False)
            cls.image = None

    def run_container(self, name, script):
        r = podman("run", "-d", *RUN_FLAGS, "--name", name, self.image, "/bin/sh", "-c", script)
        cid = r.stdout.strip().splitlines()[-1]
        self.addCleanup(podman, "rm", "-f", "-t", "0", name, check=False)
        self.assertRegex(cid, r"^[0-9a-f]{64}$")
        return cid

    def assert_named(self, ev, cid, name):
        self.assertEqual(ev["container_id"], cid, ev)
        self.assertEqual(ev["container_name"], name, ev)
        self.assertEqual(ev["image"], self.image + ":latest", ev)
        self.assertEqual(ev["runtime"], "podman", ev)
        self.assertEqual(ev["pod"], "", ev)
        self.assertEqual(ev["namespace"], "", ev)

    def test_trace_reports_container_and_exec(self):
        for source in sources():
            with self.subTest(source=source):
                name = pwtest.unique("pwtest")
                t = pwtest.Trace("--source", source)
                try:
                    cid = self.run_container(name, "/bin/sleep 7.25 & /bin/sleep 7.5; wait")
                    def sleeps():
                        hits = t.select(lambda e: e["event"] == "exec" and
                                        e["argv"] in (["/bin/sleep", "7.25"],
                                                      ["/bin/sleep", "7.5"]))
                        return hits if len(hits) >= 2 else None
                    execs = pwtest.wait_until(sleeps, timeout=30) or []
                    # podman exec joins the running container's cgroup.
                    podman("exec", name, "/bin/sleep", "0.375")
                    joined = t.wait_for(lambda e: e["event"] == "exec" and
                                        e["argv"] == ["/bin/sleep", "0.375"], timeout=30)
                finally:
                    t.stop()
                self.assertEqual(len(execs), 2, f"execs in the container ({source}): {execs}")
                for ev in execs:
                    self.assert_named(ev, cid, name)
                    self.assertTrue(ev["cgroup"].endswith("libpod-" + cid) or
                                    "libpod-" + cid in ev["cgroup"], ev["cgroup"])
                self.assertTrue(joined, f"no exec from podman exec ({source})")
                for ev in joined:
                    self.assert_named(ev, cid, name)
                # The host around it is not in a container.
                host = t.select(lambda e: e["event"] == "exec" and
                                e["exe"].endswith("/podman"))
                for ev in host:
                    self.assertEqual(ev["container_id"], "", ev)
                    self.assertEqual(ev["container_name"], "", ev)

    def test_tree_and_check_count_the_container(self):
        name = pwtest.unique("pwtest")
        cid = self.run_container(name, "/bin/sleep 30 & /bin/sleep 31 & wait")
        found = pwtest.wait_until(lambda: self._tree_procs(cid), timeout=20)
        self.assertTrue(found, "tree --json shows no process of the container")
        self.assertGreaterEqual(len(found), 3)  # sh and two sleeps
        for p in found:
            self.assertEqual(p["container_name"], name)
            self.assertEqual(p["image"], self.image + ":latest")

        text = subprocess.run([PROCWATCH, "tree"], capture_output=True, text=True, timeout=60)
        self.assertIn(f"[{name}] ", text.stdout)
        grouped = subprocess.run([PROCWATCH, "tree", "--containers"], capture_output=True,
                                 text=True, timeout=60)
        self.assertIn(f"\ncontainer {name} (podman, image {self.image}:latest, id {cid[:12]})\n",
                      grouped.stdout)
        groups = json.loads(subprocess.run([PROCWATCH, "tree", "--containers", "--json"],
                                           capture_output=True, text=True, timeout=60).stdout)
        mine = [g for g in groups if g["container_id"] == cid]
        self.assertEqual(len(mine), 1, groups)
        self.assertEqual(mine[0]["container_name"], name)
        self.assertEqual(groups[0]["container_id"], "")  # the host first

        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write(f"""rules:
  - name: in-pwtest
    match:
      container_name: "pwtest-*"
      image: "{self.image}:*"
    count: "3:"
  - name: none-in-pwtest
    match:
      container_name: "{name}"
    count: "0"
""")
        self.addCleanup(os.unlink, f.name)
        r = subprocess.run([PROCWATCH, "check", "--config", f.name], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # the count "0" rule is CRITICAL
        self.assertIn("none-in-pwtest", r.stdout)
        self.assertNotIn("in-pwtest:", r.stdout.replace("none-in-pwtest:", ""), r.stdout)

    def test_serve_container_labels(self):
        port = pwtest.free_port()
        err = tempfile.TemporaryFile("w+")
        self.addCleanup(err.close)
        serve = subprocess.Popen([PROCWATCH, "serve", "--web.listen-address",
                                  f"127.0.0.1:{port}", "--metrics.container-labels"],
                                 stdout=subprocess.DEVNULL, stderr=err, text=True)
        self.addCleanup(pwtest.stop, serve)
        url = f"http://127.0.0.1:{port}/metrics"
        if not pwtest.wait_until(lambda: pwtest.http_get(url)[0] == 200, timeout=30):
            err.seek(0)
            self.fail("serve did not answer: " + err.read())
        name = pwtest.unique("pwtest")
        self.run_container(name, "/bin/sleep 30 & /bin/sleep 31 & wait")

        def live():
            found = [(labels, v) for labels, v in
                     pwtest.samples(pwtest.http_get(url)[2], "procwatch_tree_processes")
                     if labels.get("container") == name]
            return found if sum(v for _, v in found) >= 3 else None
        found = pwtest.wait_until(live, timeout=30)
        self.assertTrue(found, "no procwatch_tree_processes series with container=" + name)
        for labels, _ in found:
            self.assertEqual(labels["namespace"], "")
            self.assertIn("tree", labels)

    def _tree_procs(self, cid):
        out = subprocess.run([PROCWATCH, "tree", "--json"], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        found = []

        def walk(nodes):
            for n in nodes:
                if n["container_id"] == cid:
                    found.append(n)
                walk(n["children"])
        walk(json.loads(out.stdout))
        return found


if __name__ == "__main__":
    pwtest.main()
