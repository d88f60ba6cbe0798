"""Fleet use on the real kernel: two `procwatch serve` "hosts" scraped by a real Prometheus
(Debian `prometheus`, loopback, temp dir, 1 s scrape and evaluation) loaded with
`procwatch rules export --fleet --fleet.for 2s`, and a real Alertmanager (Debian
`prometheus-alertmanager`) whose webhook receiver is served by this test.

Both serve instances run on this one kernel, so Prometheus makes them two hosts: each target
has its own `instance` label, every tree series except this test's is dropped at scrape
(metric_relabel_configs), and the rare tree's series is dropped from host B: the common script
"runs" on both hosts, the rare one only on host A. The rare-tree alert must fire for the rare
tree on host A only, in Prometheus's API and at the webhook.
"""
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from pwtest import PROCWATCH, free_port, http_get, main, stop, unique, wait_until

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager")


class Hook(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(min(n, 1 << 20)))
        with Hook.lock:
            Hook.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def script(dir_, name):
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n/bin/true\n")
    os.chmod(path, 0o755)
    return path


@unittest.skipUnless(PROMETHEUS and ALERTMANAGER, "prometheus and prometheus-alertmanager "
                     "(make deps)")
class FleetTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pwfleet-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.mark = unique("fleet").replace("-", "")
        self.common = script(self.dir, self.mark + "common.sh")
        self.rare = script(self.dir, self.mark + "rare.sh")

    def start(self, argv, name):
        log = open(os.path.join(self.dir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.addCleanup(log.close)
        self.addCleanup(stop, p, signal.SIGKILL)
        return p

    def log(self, name):
        with open(os.path.join(self.dir, name + ".log")) as f:
            return f.read()[-3000:]

    def serve(self, name):
        port = free_port()
        self.start([PROCWATCH, "serve", "--web.listen-address", f"127.0.0.1:{port}"], name)
        base = f"http://127.0.0.1:{port}"
        self.assertTrue(wait_until(lambda: http_get(base + "/-/ready")[0] == 200, 20),
                        self.log(name))
        return port

    def test_rare_tree_alert_reaches_prometheus_and_alertmanager(self):
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        self.addCleanup(hook.server_close)
        self.addCleanup(hook.shutdown)
        Hook.received = []

        port_a, port_b = self.serve("serve-a"), self.serve("serve-b")
        rules_cfg = os.path.join(self.dir, "procwatch.yml")
        with open(rules_cfg, "w") as f:
            f.write("rules: []\n")
        rules = os.path.join(self.dir, "rules.yml")
        with open(rules, "w") as f:
            subprocess.run([PROCWATCH, "rules", "export", "--config", rules_cfg, "--fleet",
                            "--fleet.for", "2s"], stdout=f, check=True)

        am_port = free_port()
        with open(os.path.join(self.dir, "am.yml"), "w") as f:
            f.write(f"""route:
  receiver: hook
  group_by: [alertname, instance, tree]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{hook.server_address[1]}/hook
""")
        self.start([ALERTMANAGER, "--config.file=am.yml", "--storage.path=am-data",
                    f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                   "alertmanager")
        am = f"http://127.0.0.1:{am_port}"
        self.assertTrue(wait_until(lambda: http_get(am + "/-/ready")[0] == 200, 30),
                        self.log("alertmanager"))

        prom_port = free_port()
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]
scrape_configs:
  - job_name: fleet
    static_configs:
      - targets: ['127.0.0.1:{port_a}']
        labels: {{instance: host-a}}
      - targets: ['127.0.0.1:{port_b}']
        labels: {{instance: host-b}}
    metric_relabel_configs:
      # This kernel's other processes run on both "hosts" alike: only this test's trees count.
      - source_labels: [tree]
        regex: '|.*{self.mark}.*'
        action: keep
      # Host B never runs the rare script.
      - source_labels: [instance, tree]
        regex: 'host-b;.*{self.mark}rare.*'
        action: drop
""")
        self.start([PROMETHEUS, "--config.file=prometheus.yml", "--storage.tsdb.path=prom-data",
                    f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus")
        prom = f"http://127.0.0.1:{prom_port}"
        self.assertTrue(wait_until(lambda: http_get(prom + "/-/ready")[0] == 200, 60),
                        self.log("prometheus"))

        def query(q):
            url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
            return json.loads(http_get(url)[2])["data"]["result"]

        # Both hosts up, then the common script on both, then the rare one.
        self.assertTrue(wait_until(lambda: len(query("job:procwatch_hosts:1d == 2")) == 1, 60),
                        self.log("prometheus"))
        subprocess.run([self.common], check=True)
        self.assertTrue(wait_until(
            lambda: query(f'job_tree:procwatch_hosts_ran:1d{{tree=~".*{self.mark}common.*"}} == 2'),
            30), query("job_tree:procwatch_hosts_ran:1d"))
        subprocess.run([self.rare], check=True)

        def firing():
            doc = json.loads(http_get(prom + "/api/v1/alerts")[2])
            return [a for a in doc["data"]["alerts"]
                    if a["labels"]["alertname"] == "ProcwatchRareTree" and a["state"] == "firing"]
        self.assertTrue(wait_until(firing, 60), query("job_tree:procwatch_hosts_ran:1d"))
        time.sleep(2)  # a wrong second alert would have the same delays
        alerts = firing()
        # The rare script's trees (the script and its /bin/true child), on host A; never the
        # common script's.
        self.assertTrue(alerts)
        for a in alerts:
            self.assertIn(self.mark + "rare", a["labels"]["tree"])
            self.assertEqual(a["labels"]["instance"], "host-a")
            self.assertEqual(a["labels"]["job"], "fleet")

        def delivered():
            with Hook.lock:
                return [al for msg in Hook.received for al in msg["alerts"]
                        if al["labels"]["alertname"] == "ProcwatchRareTree"]
        self.assertTrue(wait_until(delivered, 60), self.log("alertmanager"))
        got = delivered()
        self.assertTrue(all(self.mark + "rare" in al["labels"]["tree"] and
                            al["labels"]["instance"] == "host-a" for al in got), got)
        self.assertEqual(got[0]["status"], "firing")


if __name__ == "__main__":
    main()
