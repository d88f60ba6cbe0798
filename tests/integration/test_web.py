"""Real-kernel test of the serve endpoint's security (issue 11, "The endpoint").

- --web.config.file with TLS (a self-signed certificate made by openssl), basic auth (a bcrypt
  hash as htpasswd -nBC 10 writes) and an extra header: no credentials -> 401 with
  WWW-Authenticate, right -> 200, wrong -> 401, on every path; promtool accepts /metrics.
- A plain-HTTP request to the TLS port fails cleanly and the next TLS scrape works.
- TLS works while the unversioned libssl.so and libcrypto.so are hidden (an overlay over the
  library folder in a private mount namespace, whose upper layer has whiteouts for just those
  two names).
- --web.listen-address [::1]:PORT answers.
- 200 connections sending one header byte a second plus 50 clients hammering /metrics: normal
  scrapes still answer in under 1 s each.
- Client certificates: RequireAndVerifyClientCert admits a certificate signed by the
  client_ca_file and refuses none or a self-signed one.
- Client certificates: RequireAndVerifyClientCert admits one signed by client_ca_file and
  refuses none or a self-signed one.
- A bad web config is one stderr line naming the file and key, exit 2; SIGHUP re-reads the
  file (a bad one keeps the old config and sets procwatch_config_last_reload_successful 0); a
  changed certificate is served after SIGHUP on the same port.
"""
import base64
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import urllib.error
import urllib.request

from pwtest import PROCWATCH, free_port, main, stop, wait_until

# htpasswd -nbBC 10 prometheus s3cret-pass
USER, PASSWORD = "prometheus", "s3cret-pass"
HASH = "$2y$10$/ylqEOB8seHwk0cHHv04kO6DAlfPhp3EGguCtoF8krNT2GqVi8jnO"
# htpasswd -nbBC 10 prometheus n3w-pass
NEW_PASSWORD = "n3w-pass"
NEW_HASH = "$2y$10$pwRA3JPwvCkaWkHDUhiDHOLZGM.r7wrehWBi51iqdEb64vfm4EQV."
LIBDIR = "/usr/lib/x86_64-linux-gnu"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get(url, auth=None, ctx=None, timeout=5):
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def have_ipv6_loopback():
    try:
        with open("/proc/net/if_inet6") as f:
            return any(line.startswith("0" * 31 + "1") for line in f)
    except OSError:
        return False


class Serve:
    """A procwatch serve we started; `argv_prefix` runs it under another command."""

    def __init__(self, tmp, name, listen, *args, argv_prefix=(), scheme="http", ctx=None,
                 auth=None):
        self.err = open(os.path.join(tmp, name + ".err"), "w+")
        self.proc = subprocess.Popen(
            list(argv_prefix) + [PROCWATCH, "serve", "--web.listen-address", listen,
                                 "--source", "netlink", *args],
            stdout=subprocess.DEVNULL, stderr=self.err)
        host = listen.rsplit(":", 1)[0] or "127.0.0.1"
        if host.startswith("127."):
            host = "localhost"  # the certificate's name
        self.base = f"{scheme}://{host}:{listen.rsplit(':', 1)[1]}"
        self.ctx, self.auth = ctx, auth
        up = wait_until(lambda: self.proc.poll() is None and
                        get(self.base + "/-/healthy", self.auth, self.ctx)[0] == 200, 20)
        if not up:
            self.stop()
            raise AssertionError(f"{name} did not answer: {self.stderr()}")

    def get(self, path, auth="default"):
        return get(self.base + path, self.auth if auth == "default" else auth, self.ctx)

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        """The exit code (0 after SIGTERM), or the stderr when it is not 0."""
        rc = stop(self.proc)
        text = self.stderr() if rc != 0 else ""
        self.err.close()
        return rc, text


# Runs in a child process, so its threads do not share the measuring process's GIL.
#   slow N PORT: N connections, each sending one header byte a second
#   hammer N URL SECONDS: N threads GETting URL as fast as they can
CHILD = textwrap.dedent("""
    import socket, sys, threading, time, urllib.request
    mode = sys.argv[1]
    if mode == "slow":
        n, port = int(sys.argv[2]), int(sys.argv[3])
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ")
            socks.append(s)
        print("ready", flush=True)
        open_now = n
        while sys.stdin.readline() == "tick\\n":  # the parent ticks once a second
            open_now = 0
            for s in socks:
                try:
                    s.send(b"a")
                    open_now += 1
                except OSError:
                    pass
            print(open_now, flush=True)
    else:
        n, url, seconds = int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
        done, errors = [0], [0]
        end = time.time() + seconds
        def loop():
            while time.time() < end:
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        r.read()
                    done[0] += 1
                except Exception:
                    errors[0] += 1
        ts = [threading.Thread(target=loop) for _ in range(n)]
        for t in ts:
            t.start()
        print("ready", flush=True)
        for t in ts:
            t.join()
        print(done[0], errors[0], flush=True)
""")


class WebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pwweb-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost", "-days", "1",
             "-keyout", cls.key, "-out", cls.cert],
            check=True, capture_output=True)
        cls.ctx = ssl.create_default_context(cafile=cls.cert)
        cls.web_yml = os.path.join(cls.tmp, "web.yml")
        cls.write_config(HASH)
        cls.servers = []
        cls.port = free_port()
        cls.tls = Serve(cls.tmp, "tls", f"127.0.0.1:{cls.port}", "--web.config.file", cls.web_yml,
                        scheme="https", ctx=cls.ctx, auth=basic(USER, PASSWORD))
        cls.servers.append(cls.tls)

    @classmethod
    def write_config(cls, hash_, extra=""):
        with open(cls.web_yml, "w") as f:
            f.write(textwrap.dedent(f"""\
                tls_server_config:
                  cert_file: cert.pem
                  key_file: {cls.key}
                  min_version: TLS12
                basic_auth_users:
                  {USER}: {hash_}
                http_server_config:
                  headers:
                    X-Content-Type-Options: nosniff
                """) + extra)

    @classmethod
    def tearDownClass(cls):
        failed = []
        for s in cls.servers:
            rc, text = s.stop()
            if rc != 0:
                failed.append(f"{s.base} exited {rc}: {text}")
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if failed:
            raise AssertionError("\n".join(failed))

    def test_10_check_from_https_with_basic_auth(self):
        """check --from talks TLS and basic auth; every failure is one escaped line, exit 3."""
        base = f"https://{USER}:{PASSWORD}@localhost:{self.port}"

        def check(*args):
            r = subprocess.run([PROCWATCH, "check", *args], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.stdout.count("\n"), 1, r.stdout)
            self.assertNotIn(PASSWORD, r.stdout)
            return r.returncode, r.stdout
        # Trusted and let in: this serve has no --config, so its rules API is not there.
        rc, out = check("--from", base, "--from-ca", self.cert)
        self.assertEqual(rc, 3, out)
        self.assertTrue(out.startswith(f"PROCS UNKNOWN: --from https://{USER}:***@localhost:"),
                        out)
        self.assertIn(" 404", out)
        rc, out = check("--from", f"https://localhost:{self.port}", "--from-ca", self.cert)
        self.assertEqual(rc, 3, out)
        self.assertIn(" 401", out)
        rc, out = check("--from", base)  # the certificate is not trusted
        self.assertEqual(rc, 3, out)
        self.assertTrue(out.startswith("PROCS UNKNOWN: --from "), out)

    def test_1_basic_auth_on_every_path(self):
        for path in ["/metrics", "/", "/-/healthy", "/nothing"]:
            status, headers, _ = self.tls.get(path, auth=None)
            self.assertEqual(status, 401, path)
            self.assertEqual(headers.get("WWW-Authenticate"), 'Basic realm="procwatch"', path)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", path)
            for wrong in [basic(USER, PASSWORD + "x"), basic(USER, ""), basic("root", PASSWORD),
                          "Basic !!!", "Bearer " + PASSWORD]:
                self.assertEqual(self.tls.get(path, auth=wrong)[0], 401, (path, wrong))
        status, headers, body = self.tls.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("version=0.0.4", headers.get("Content-Type"))
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        self.assertIn("procwatch_build_info", body)
        self.assertEqual(self.tls.get("/nothing")[0], 404)

    def test_2_metrics_pass_promtool(self):
        status, _, body = self.tls.get("/metrics")
        self.assertEqual(status, 200)
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_3_plain_http_to_tls_port_fails_cleanly(self):
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
                got = b""
                try:
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                except OSError:
                    pass  # a reset is a clean refusal too
            self.assertFalse(got.startswith(b"HTTP/1.1 200"), got[:80])
            self.assertNotIn(b"procwatch_", got)
            # The server goes on.
            self.assertEqual(self.tls.get("/metrics")[0], 200)
        # A TLS client that does not trust the certificate is refused by the client, also fine.
        with self.assertRaises(urllib.error.URLError):
            get(self.tls.base + "/metrics", basic(USER, PASSWORD), ssl.create_default_context())
        self.assertEqual(self.tls.get("/metrics")[0], 200)
        self.assertIsNone(self.tls.proc.poll())

    def test_4_tls_without_unversioned_openssl_names(self):
        if not os.path.isdir(LIBDIR):
            self.skipTest(f"no {LIBDIR} on this machine")
        port = free_port()
        ovl = os.path.join(self.tmp, "ovl")
        os.makedirs(ovl, exist_ok=True)
        # In a private mount namespace: a tmpfs for the overlay's upper layer, whiteouts
        # (character device 0/0) for the two names, the overlay over the library folder; then
        # check the names are gone and the versioned libraries are still there.
        script = textwrap.dedent(f"""\
            set -e
            mount -t tmpfs tmpfs {ovl}
            mkdir {ovl}/upper {ovl}/work
            mknod {ovl}/upper/libssl.so c 0 0
            mknod {ovl}/upper/libcrypto.so c 0 0
            mount -t overlay overlay \
              -o lowerdir={LIBDIR},upperdir={ovl}/upper,workdir={ovl}/work {LIBDIR}
            for n in libssl.so libcrypto.so; do
              if [ -e {LIBDIR}/$n ] || [ -L {LIBDIR}/$n ]; then echo "still there: $n" >&2; exit 3; fi
            done
            ls {LIBDIR}/libc.so.6 >/dev/null
            echo "hidden: libssl.so libcrypto.so" >&2
            exec "$@"
            """)
        s = Serve(self.tmp, "nossl", f"127.0.0.1:{port}", "--web.config.file", self.web_yml,
                  argv_prefix=["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                               "sh"],
                  scheme="https", ctx=self.ctx, auth=basic(USER, PASSWORD))
        self.servers.append(s)
        self.assertIn("hidden: libssl.so libcrypto.so", s.stderr())
        status, _, body = s.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn("procwatch_build_info", body)
        self.assertEqual(s.get("/metrics", auth=None)[0], 401)
        # The names really are gone where procwatch runs, and it uses GnuTLS, not OpenSSL.
        root = f"/proc/{s.proc.pid}/root{LIBDIR}"
        for name in ["libssl.so", "libcrypto.so"]:
            self.assertFalse(os.path.lexists(os.path.join(root, name)), name)
        with open(f"/proc/{s.proc.pid}/maps") as f:
            maps = f.read()
        self.assertIn("libgnutls", maps)
        self.assertNotIn("libssl.so", maps)

    def test_5_ipv6_loopback(self):
        if not have_ipv6_loopback():
            self.skipTest("no IPv6 loopback (::1 not in /proc/net/if_inet6)")
        port = free_port()
        s = Serve(self.tmp, "v6", f"[::1]:{port}")
        self.servers.append(s)
        status, _, body = get(f"http://[::1]:{port}/metrics")
        self.assertEqual(status, 200)
        self.assertIn("procwatch_build_info", body)
        self.assertIn(f"http://[::1]:{port}/metrics", s.stderr())
        with self.assertRaises(OSError):  # [::1] is not 127.0.0.1
            socket.create_connection(("127.0.0.1", port), timeout=2).close()

    def test_6_slow_clients_do_not_starve_scrapes(self):
        port = free_port()
        s = Serve(self.tmp, "slow", f"127.0.0.1:{port}")
        self.servers.append(s)
        url = f"http://127.0.0.1:{port}/metrics"
        slow = subprocess.Popen([sys.executable, "-c", CHILD, "slow", "200", str(port)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hammer = None
        try:
            self.assertEqual(slow.stdout.readline().strip(), "ready")
            hammer = subprocess.Popen([sys.executable, "-c", CHILD, "hammer", "50", url, "14"],
                                      stdout=subprocess.PIPE, text=True)
            self.assertEqual(hammer.stdout.readline().strip(), "ready")
            times, still_open = [], []
            for _ in range(12):
                slow.stdin.write("tick\n")
                slow.stdin.flush()
                still_open.append(int(slow.stdout.readline()))
                t0 = time.monotonic()
                status, _, body = get(url, timeout=5)
                times.append(time.monotonic() - t0)
                self.assertEqual(status, 200)
                self.assertIn("procwatch_build_info", body)
                time.sleep(max(0.0, 1.0 - times[-1]))
            done, errors = map(int, hammer.communicate(timeout=60)[0].split())
        finally:
            if slow.poll() is None:
                slow.stdin.close()
                slow.wait(timeout=10)
            slow.stdout.close()
            if hammer is not None:
                if hammer.poll() is None:
                    hammer.kill()
                    hammer.wait()
                hammer.stdout.close()
        report = (f"normal scrapes {['%.3f' % t for t in times]} s; hammer {done} answered, "
                  f"{errors} failed; slow connections open {still_open}")
        print("\n  " + report, file=sys.stderr)
        for t in times:
            self.assertLess(t, 1.0, report)
        self.assertGreater(done, 100, report)
        # The slow clients were really there all along (none cut before its idle timeout).
        self.assertEqual(min(still_open), 200, report)

    def test_7_bad_config_is_exit_2_naming_file_and_key(self):
        bad = os.path.join(self.tmp, "bad.yml")
        cases = [
            ("tls_server_config:\n  cert_file: /nonexistent/x.pem\n  key_file: k.pem\n",
             f"procwatch: {bad}: tls_server_config.cert_file: cannot read /nonexistent/x.pem: "
             "No such file or directory\n"),
            ("basic_auth_users:\n  alice: wonderland\n",
             f"procwatch: {bad}: basic_auth_users.alice: not a bcrypt hash (make one with: "
             "htpasswd -nBC 10 alice)\n"),
            ("http_server_config:\n  headers:\n    Authorization: x\n",
             f"procwatch: {bad}: http_server_config.headers.Authorization: this header cannot be "
             "configured"),
        ]
        for text, want in cases:
            with open(bad, "w") as f:
                f.write(text)
            p = subprocess.run([PROCWATCH, "serve", "--web.listen-address",
                                f"127.0.0.1:{free_port()}", "--web.config.file", bad],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertTrue(p.stderr.startswith(want), p.stderr)
            self.assertEqual(p.stderr.count("\n"), 1, p.stderr)

    def test_8_sighup_rereads_the_web_config(self):
        old, new = basic(USER, PASSWORD), basic(USER, NEW_PASSWORD)
        try:
            self.write_config(NEW_HASH)
            self.tls.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: self.tls.get("/metrics", new)[0] == 200, 10),
                            self.tls.stderr())
            self.assertEqual(self.tls.get("/metrics", old)[0], 401)
            # A broken file keeps the config that works and says so.
            self.write_config(NEW_HASH, "bogus: 1\n")
            self.tls.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: "bogus: unknown key" in self.tls.stderr(), 10),
                            self.tls.stderr())
            status, _, body = self.tls.get("/metrics", new)
            self.assertEqual(status, 200)
            self.assertIn("procwatch_config_last_reload_successful 0", body)
        finally:
            self.write_config(HASH)
            self.tls.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: self.tls.get("/metrics", old)[0] == 200, 10))
        self.assertIn("procwatch_config_last_reload_successful 1", self.tls.get("/metrics")[2])

    def test_9_client_certificates(self):
        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.tmp)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=pwtest-ca",
                "-days", "1", "-keyout", "ca.key", "-out", "ca.crt")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=client", "-keyout",
                "client.key", "-out", "client.csr")
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", "client.crt")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rogue", "-days",
                "1", "-keyout", "rogue.key", "-out", "rogue.crt")
        mtls = os.path.join(self.tmp, "mtls.yml")
        with open(mtls, "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n"
                    "  client_ca_file: ca.crt\n")

        def ctx(name):
            c = ssl.create_default_context(cafile=self.cert)
            if name:
                c.load_cert_chain(os.path.join(self.tmp, name + ".crt"),
                                  os.path.join(self.tmp, name + ".key"))
            return c

        port = free_port()
        s = Serve(self.tmp, "mtls", f"127.0.0.1:{port}", "--web.config.file", mtls,
                  scheme="https", ctx=ctx("client"))
        self.servers.append(s)
        self.assertEqual(s.get("/metrics")[0], 200)
        for name in [None, "rogue"]:
            try:
                status = get(s.base + "/metrics", ctx=ctx(name))[0]
            except (OSError, urllib.error.URLError):
                status = None  # the handshake was refused
            self.assertIn(status, (None, 403), name)
        self.assertEqual(s.get("/metrics")[0], 200)

    def test_10_sighup_rotates_the_certificate(self):
        cert2, key2 = (os.path.join(self.tmp, n) for n in ("cert2.pem", "key2.pem"))
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-keyout", key2,
             "-out", cert2], check=True, capture_output=True)
        rot = os.path.join(self.tmp, "rotate.yml")
        with open(rot, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {self.cert}\n  key_file: {self.key}\n")
        port = free_port()
        s = Serve(self.tmp, "rotate", f"127.0.0.1:{port}", "--web.config.file", rot,
                  scheme="https", ctx=self.ctx)
        self.servers.append(s)
        ctx2 = ssl.create_default_context(cafile=cert2)
        with self.assertRaises(urllib.error.URLError):
            get(s.base + "/metrics", ctx=ctx2)
        with open(rot, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {cert2}\n  key_file: {key2}\n")
        s.proc.send_signal(signal.SIGHUP)

        def new_cert_served():
            try:
                return get(s.base + "/metrics", ctx=ctx2)[0] == 200
            except (OSError, urllib.error.URLError):
                return False
        self.assertTrue(wait_until(new_cert_served, 10), s.stderr())
        # Same port; and back to plain HTTP when tls_server_config goes.
        with open(rot, "w") as f:
            f.write("basic_auth_users: {}\n")
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(
            lambda: get(f"http://127.0.0.1:{port}/metrics")[0] == 200, 10), s.stderr())
        self.assertIsNone(s.proc.poll())


if __name__ == "__main__":
    main()
