"""Helpers for procwatch's real-kernel integration tests (run as root by CTest).

Each test starts the real procwatch binary, spawns real processes with unique names, and
asserts what procwatch reported about them.
"""
import json
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

PROCWATCH = os.environ.get("PROCWATCH", "build/procwatch")


def unique(prefix):
    return prefix + "-" + "".join(random.choice(string.ascii_lowercase) for _ in range(6))


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=3):
    """(status, Content-Type, body text) of a GET."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def samples(text, name):
    """[(labels dict, value)] of every sample of metric `name` in a Prometheus exposition."""
    import re
    out = []
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^%s(\{(.*)\})? (\S+)$" % re.escape(name), line)
        if m is None:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.append((labels, float(m.group(3))))
    return out


def wait_until(fn, timeout, step=0.2):
    """fn() until it returns something truthy or the timeout passes; the last value."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        try:
            value = fn()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(step)
    return value


def stop(proc, sig=signal.SIGTERM, timeout=15):
    """Signal a process we started and reap it; SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            return None
    return proc.returncode


def cgroup2_root():
    """Mount point of the cgroup v2 hierarchy (/sys/fs/cgroup or .../unified on hybrid)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return parts[4]
    return None


class Trace:
    """`procwatch trace --json` running in the background, its lines collected."""

    def __init__(self, *args, ready_timeout=15):
        self.proc = subprocess.Popen([PROCWATCH, "trace", "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events = []
        self.stderr = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = threading.Event()

        def read_err():
            for line in self.proc.stderr:
                self.stderr += line
                if "using the" in line:
                    ready.set()
            ready.set()

        self._err = threading.Thread(target=read_err, daemon=True)
        self._err.start()
        if not ready.wait(ready_timeout) or self.proc.poll() is not None:
            raise AssertionError("procwatch trace did not start: " + self.stderr)

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)  # every line must be valid JSON
            with self._lock:
                self.events.append(ev)

    def wait_for(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                hits = [e for e in self.events if pred(e)]
            if hits:
                return hits
            time.sleep(0.05)
        return []

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        self._err.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def select(self, pred):
        with self._lock:
            return [e for e in self.events if pred(e)]


class TempBin:
    """Uniquely named copies of system binaries in a temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pwtest-")
        os.chmod(self.dir, 0o755)

    def copy(self, src, prefix):
        path = os.path.join(self.dir, unique(prefix))
        shutil.copy(os.path.realpath(src), path)
        os.chmod(path, 0o755)
        return path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    unittest.main(verbosity=2)
