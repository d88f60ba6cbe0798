"""Root test of the Debian package (issue 10): install, check, reinstall, remove, purge.

Installs $PROCWATCH_DEB (built by `make package`; `make test` builds it first) with apt-get,
checks every installed file, the conffiles, the system user, the man page and completion
against the installed binary's --help, the unit (systemd-analyze verify and security), lintian;
then that an edited /etc/procwatch/procwatch.yml survives a reinstall, that remove keeps the
configuration and that purge removes everything the package made. It refuses to run when
procwatch is already installed, and leaves the machine as it found it: the package purged,
and the procwatch user and group deleted when this test created them.
"""
import gzip
import os
import pwd
import grp
import re
import shutil
import subprocess
import time
import unittest

DEB = os.environ.get("PROCWATCH_DEB", "")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = "procwatch"
BIN = "/usr/bin/procwatch"
CONFFILES = ["/etc/procwatch/procwatch.yml", "/etc/default/procwatch",
             "/etc/logrotate.d/procwatch"]
UNIT = "/lib/systemd/system/procwatch.service"
MAN = "/usr/share/man/man1/procwatch.1.gz"
COMPLETION = "/usr/share/bash-completion/completions/procwatch"
DATA_DIRS = ["/var/lib/procwatch", "/var/log/procwatch"]
MAX_EXPOSURE = 2.5
# Where the maintainer scripts (deb-systemd-helper) leave traces that purge must undo.
SYSTEMD_STATE = ["/etc/systemd/system", "/var/lib/systemd/deb-systemd-helper-enabled",
                 "/var/lib/systemd/deb-systemd-helper-masked"]
FLAG_RE = re.compile(r"(?<![\w-])(--[A-Za-z][\w.-]*)")


def run(*cmd, check=True, timeout=120, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"`{' '.join(cmd)}` exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def apt_get(*args):
    """apt-get, waiting (briefly) for a dpkg/apt lock that another apt run holds."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deadline = time.time() + 180
    while True:
        r = run("apt-get", "-o", "DPkg::Lock::Timeout=60", "-y", *args, check=False,
                timeout=600, env=env)
        if r.returncode == 0:
            return r
        out = r.stdout + r.stderr
        if re.search(r"Could not get lock|Unable to acquire the dpkg|dpkg was interrupted|"
                     r"is locked by another process", out) and time.time() < deadline:
            time.sleep(3)
            continue
        raise AssertionError(f"apt-get {' '.join(args)} exited {r.returncode}:\n{out}")


def package_status():
    r = run("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    return r.stdout.strip() if r.returncode == 0 else ""


def installed():
    return package_status() not in ("", "unknown ok not-installed")


def user_exists():
    try:
        pwd.getpwnam(PKG)
        return True
    except KeyError:
        return False


def group_exists():
    try:
        grp.getgrnam(PKG)
        return True
    except KeyError:
        return False


def installed_packages():
    r = run("dpkg-query", "-W", "-f=${Package} ${Status}\n")
    return {line.split()[0] for line in r.stdout.splitlines() if line.endswith(" installed")}


def tree_listing(roots):
    out = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in dirnames + filenames:
                out.add(os.path.join(dirpath, n))
    return out


def help_texts(binary):
    """{"trace": help, "rules export": help, ...}: every sub-command, found from the
    Subcommands: sections of CLI11's help, starting at the top level ("")."""
    texts, todo = {}, [[]]
    while todo:
        path = todo.pop(0)
        text = run(binary, *path, "--help").stdout
        texts[" ".join(path)] = text
        m = re.search(r"^Subcommands:\n((?:  .*\n?)+)", text, re.M | re.I)
        if m:
            for line in m.group(1).splitlines():
                sm = re.match(r"^  (\S+)", line)
                if sm:
                    todo.append([*path, sm.group(1)])
    return texts


def mode(path):
    return os.stat(path).st_mode & 0o7777


class PackageTest(unittest.TestCase):
    def setUp(self):
        self.assertEqual(os.geteuid(), 0, "the package test installs a .deb: run it as root")
        self.assertTrue(DEB, "PROCWATCH_DEB is not set (the .deb that `make package` builds)")
        self.assertTrue(os.path.isfile(DEB),
                        f"{DEB} does not exist: run `make package` first (make test does)")
        self.assertFalse(installed(),
                         f"package {PKG} is already installed ({package_status()}): this test "
                         f"installs and purges it, so it refuses to touch an existing install")
        self.user_existed = user_exists()
        self.group_existed = group_exists()
        self.systemd_before = tree_listing(SYSTEMD_STATE)
        self.deb_paths = [p[1:].rstrip("/") or "/" for p in
                          (line.split()[-1] for line in
                           run("dpkg-deb", "-c", DEB).stdout.splitlines())
                          if p.startswith("./") and p != "./"]
        self.preexisting = {p for p in self.deb_paths if os.path.lexists(p)}
        self.version = run("dpkg-deb", "-f", DEB, "Version").stdout.strip()
        self.depends = {re.split(r"[\s(:]", d.strip())[0] for d in
                        run("dpkg-deb", "-f", DEB, "Depends").stdout.replace("|", ",").split(",")
                        if d.strip()}
        self.packages_before = installed_packages()
        self.addCleanup(self.restore_machine)

    def restore_machine(self):
        """Always: purge the package, and delete the user and group if this test made them."""
        if installed():
            apt_get("purge", PKG)
        # Dependencies the install pulled in (only those: other apt runs may be installing
        # packages of their own meanwhile).
        pulled = sorted((installed_packages() - self.packages_before) & self.depends)
        if pulled:
            apt_get("purge", *pulled)
        if not self.user_existed and user_exists():
            run("userdel", PKG)
        if not self.group_existed and group_exists():
            run("groupdel", PKG)

    def test_install_reinstall_remove_purge(self):
        apt_get("install", os.path.abspath(DEB))
        self.assertEqual(package_status(), "install ok installed")
        self.check_files()
        self.check_conffiles()
        self.check_user()
        self.check_man_page_and_completion()
        self.check_unit()
        self.check_service_as_the_unit_runs_it()
        self.check_lintian()
        self.check_reinstall_keeps_edited_config()
        self.check_remove_keeps_config()
        self.check_purge()

    def test_unit_runs_flags_the_binary_knows(self):
        """The unit's ExecStart uses only flags that `procwatch serve --help` lists.

        Otherwise the service exits 2 at start (source unit, build binary)."""
        with open(os.path.join(REPO, "packaging", "procwatch.service")) as f:
            m = re.search(r"(?m)^ExecStart=(\S+) (\S+) (.*)$", f.read())
        self.assertTrue(m, "no ExecStart= in packaging/procwatch.service")
        self.assertEqual((m.group(1), m.group(2)), (BIN, "serve"))
        binary = os.environ.get("PROCWATCH", os.path.join(REPO, "build", "procwatch"))
        known = set(FLAG_RE.findall(run(binary, "serve", "--help").stdout))
        for flag in FLAG_RE.findall(m.group(3)):
            self.assertIn(flag, known, f"the unit runs `procwatch serve {flag}`, which "
                                       f"`{binary} serve --help` does not list")

    # ---- installed ----------------------------------------------------------------------

    def check_files(self):
        for path, want in [(BIN, 0o755), (UNIT, 0o644), (MAN, 0o644), (COMPLETION, 0o644),
                           ("/usr/share/doc/procwatch/copyright", 0o644),
                           ("/usr/share/doc/procwatch/changelog.gz", 0o644),
                           *[(c, 0o644) for c in CONFFILES]]:
            with self.subTest(path=path):
                self.assertTrue(os.path.isfile(path), f"{path} not installed")
                self.assertEqual(oct(mode(path)), oct(want), path)
                st = os.stat(path)
                self.assertEqual((st.st_uid, st.st_gid), (0, 0), f"{path} not owned by root")
        self.assertIn(", stripped", run("file", "-L", BIN).stdout)
        self.assertEqual(run(BIN, "--version").stdout.strip(), f"procwatch {self.version}")
        with open(os.path.join(REPO, "packaging", "procwatch.yml")) as a, \
                open("/etc/procwatch/procwatch.yml") as b:
            self.assertEqual(a.read(), b.read(), "/etc/procwatch/procwatch.yml is not the sample")
        with open("/etc/default/procwatch") as f:
            self.assertRegex(f.read(), r'(?m)^ARGS=""$')
        with open("/usr/share/doc/procwatch/copyright") as f:
            self.assertTrue(f.read().startswith(
                "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"))
        with gzip.open("/usr/share/doc/procwatch/changelog.gz", "rt") as f:
            self.assertTrue(f.readline().startswith(f"procwatch ({self.version}) "))
        with open("/etc/logrotate.d/procwatch") as f:
            rot = f.read()
        for word in ["/var/log/procwatch/*.log", "daily", "rotate 7", "compress",
                     "delaycompress", "missingok", "notifempty", "postrotate",
                     "/run/systemd/system", "HUP"]:
            self.assertIn(word, rot)
        self.assertTrue(shutil.which("logrotate"), "logrotate missing (deps.txt: make deps)")
        r = run("logrotate", "-d", "/etc/logrotate.d/procwatch", check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wants = "/etc/systemd/system/multi-user.target.wants/procwatch.service"
        if os.path.isdir("/run/systemd/system"):
            self.assertTrue(os.path.lexists(wants), "postinst did not enable the unit")
        else:
            self.assertFalse(os.path.lexists(wants),
                             "postinst enabled the unit on a machine not running systemd")
        for d in DATA_DIRS:
            st = os.stat(d)
            self.assertEqual((pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name),
                             (PKG, PKG), d)
            self.assertEqual(oct(mode(d)), oct(0o750), d)

    def check_conffiles(self):
        listed = run("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout
        names = [line.split()[0] for line in listed.strip().splitlines()]
        self.assertEqual(sorted(names), sorted(CONFFILES))
        # Every file the package puts in /etc is a conffile.
        etc = [p for p in run("dpkg", "-L", PKG).stdout.splitlines()
               if p.startswith("/etc/") and os.path.isfile(p)]
        self.assertEqual(sorted(etc), sorted(CONFFILES))

    def check_user(self):
        pw = pwd.getpwnam(PKG)
        self.assertLess(pw.pw_uid, 1000, "procwatch is not a system user")
        self.assertIn(pw.pw_shell, ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"))
        self.assertEqual(grp.getgrgid(pw.pw_gid).gr_name, PKG)
        self.assertFalse(os.path.exists(pw.pw_dir) and pw.pw_dir != "/nonexistent"
                         and not self.user_existed, f"home {pw.pw_dir} was created")

    def check_man_page_and_completion(self):
        texts = help_texts(BIN)
        self.assertIn("serve", texts)
        self.assertIn("rules export", texts)
        with gzip.open(MAN, "rt") as f:
            source = f.read()
        self.assertTrue(shutil.which("man"), "man missing (deps.txt: man-db)")
        env = dict(os.environ, MANWIDTH="250", MANPAGER="cat", PAGER="cat", LC_ALL="C",
                   LANG="C")
        page = run("man", "-l", MAN, env=env).stdout
        page = re.sub(r".\x08", "", page).replace("\u2212", "-").replace("\u2010", "-")
        self.assertIn("procwatch", source)
        self.assertIn("COMMANDS", page)
        for path, text in texts.items():
            if path:
                self.assertIn(f"procwatch {path}", page, f"man page lacks `procwatch {path}`")
            for flag in set(FLAG_RE.findall(text)):
                with self.subTest(command=path, flag=flag):
                    self.assertRegex(page, r"(?<![\w-])" + re.escape(flag) + r"(?![\w.-])",
                                     f"man page lacks {flag} of `procwatch {path}`")

        run("bash", "-n", COMPLETION)
        probe = [f"source {COMPLETION}",
                 't() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); '
                 '_procwatch; echo "${COMPREPLY[*]}"; }']
        cases = []
        for path, text in texts.items():
            words = ["procwatch", *path.split()] if path else ["procwatch"]
            # The flags a sub-command takes: its option lines, or its whole help when that is
            # not CLI11's (check); a flag named in a description belongs to another command.
            if re.search(r"^Options:$", text, re.M | re.I):
                text = "\n".join(re.split(r"\s{2,}", l.strip())[0]
                                  for l in text.splitlines() if re.match(r"^  -", l))
            cases.append((path, words + ["--"], set(FLAG_RE.findall(text))))
        for _, words, _ in cases:
            probe.append("t " + " ".join(f"'{w}'" for w in words))
        probe.append("t procwatch ''")
        probe.append("t procwatch trace --source ''")
        out = run("bash", "-c", "\n".join(probe)).stdout.splitlines()
        self.assertEqual(len(out), len(cases) + 2, out)
        for (path, _, flags), line in zip(cases, out):
            got = set(line.split())
            self.assertFalse(flags - got, f"completion of `procwatch {path} --` lacks "
                                          f"{sorted(flags - got)}")
        top = set(out[-2].split())
        self.assertTrue({p for p in texts if p and " " not in p} <= top, out[-2])
        self.assertEqual(set(out[-1].split()), {"auto", "ebpf", "netlink", "procfs"})

    def check_unit(self):
        r = run("systemd-analyze", "verify", UNIT, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("procwatch.service:", r.stdout + r.stderr)
        r = run("systemd-analyze", "security", "--offline=true", UNIT, check=False)
        m = re.search(r"Overall exposure level for procwatch\.service: ([0-9.]+)", r.stdout)
        self.assertTrue(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, r.stdout)
        with open(UNIT) as f:
            unit = f.read()
        for line in ["Type=notify", "User=procwatch", "Group=procwatch", "NoNewPrivileges=yes",
                     "EnvironmentFile=-/etc/default/procwatch", "ProtectSystem=strict"]:
            self.assertRegex(unit, r"(?m)^" + re.escape(line) + "$")
        self.assertRegex(unit, r"(?m)^ExecStart=/usr/bin/procwatch serve --config "
                               r"/etc/procwatch/procwatch\.yml .*\$ARGS$")
        self.assertNotRegex(unit, r"(?m)^PrivateUsers=")

    def check_service_as_the_unit_runs_it(self):
        """The installed binary, started as the unit starts it (its User=, exactly its ambient
        and bounding capabilities, no new privileges, its ExecStart with ARGS from
        /etc/default/procwatch, a fake NOTIFY_SOCKET), says READY=1, then counts root's
        short-lived script and logs it to /var/log/procwatch/events.log."""
        import json
        import socket
        import tempfile
        import urllib.request
        with open(UNIT) as f:
            unit = dict(l.rstrip("\n").split("=", 1) for l in f
                        if re.match(r"^[A-Z]\w+=", l) and not l.startswith("SystemCallFilter"))
        caps = [c.lower().removeprefix("cap_") for c in unit["AmbientCapabilities"].split()]
        self.assertEqual(unit["AmbientCapabilities"], unit["CapabilityBoundingSet"])
        spec = ",".join(["-all"] + ["+" + c for c in caps])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        argv = unit["ExecStart"].replace(
            "$ARGS", f"--web.listen-address 127.0.0.1:{port}").split()
        tmp = tempfile.mkdtemp(prefix="pwpkg-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        os.chmod(tmp, 0o755)
        sock_path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(sock_path)
        os.chmod(sock_path, 0o777)  # the service user sends to it
        sock.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="30000000")
        p = subprocess.Popen(["setpriv", f"--reuid={unit['User']}", f"--regid={unit['Group']}",
                              "--init-groups", f"--inh-caps={spec}", f"--ambient-caps={spec}",
                              f"--bounding-set={spec}", "--no-new-privs", "--", *argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=env, cwd="/")
        try:
            ready = sock.recv(4096).decode()
            self.assertIn("READY=1", ready.splitlines())
            self.assertIn("STATUS=source ebpf", ready)
            script = os.path.join(tmp, f"pwpkg-{os.getpid()}.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\n/bin/true\n")
            os.chmod(script, 0o755)
            run(script)

            def execs():
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                           if l.startswith("procwatch_tree_execs_total{")
                           and os.path.basename(script) in l)
            deadline = time.time() + 15
            while execs() < 2 and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(execs(), 2)
            log = "/var/log/procwatch/events.log"
            deadline = time.time() + 15
            logged = []
            while not logged and time.time() < deadline:
                with open(log) as f:
                    logged = [e for e in map(json.loads, f)
                              if e["event"] == "exec" and script in e["argv"]]
                time.sleep(0.2)
            self.assertTrue(logged, "root's script not in " + log)
            self.assertEqual(pwd.getpwuid(os.stat(log).st_uid).pw_name, unit["User"])
        finally:
            p.terminate()
            _, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        os.unlink(log)  # purge must still remove the directory; nothing else of ours stays

    def check_lintian(self):
        if not shutil.which("lintian"):
            self.fail("lintian is not installed (it is in deps.txt: make deps)")
        r = run("lintian", "--fail-on", "error", DEB, check=False, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(re.search(r"(?m)^E: ", r.stdout), r.stdout)

    # ---- upgrades and removal -----------------------------------------------------------

    def check_reinstall_keeps_edited_config(self):
        marker = f"# edited by test_package {os.getpid()}\n"
        with open("/etc/procwatch/procwatch.yml", "a") as f:
            f.write(marker)
        apt_get("install", "--reinstall", os.path.abspath(DEB))
        self.assertEqual(package_status(), "install ok installed")
        with open("/etc/procwatch/procwatch.yml") as f:
            self.assertTrue(f.read().endswith(marker), "reinstall overwrote the edited config")
        self.assertFalse(os.path.exists("/etc/procwatch/procwatch.yml.dpkg-new"))
        self.marker = marker

    def check_remove_keeps_config(self):
        self.dpkg_list = run("dpkg", "-L", PKG).stdout.splitlines()
        apt_get("remove", PKG)
        self.assertEqual(package_status(), "deinstall ok config-files")
        self.assertFalse(os.path.exists(BIN))
        for c in CONFFILES:
            self.assertTrue(os.path.isfile(c), f"remove deleted {c}")
        with open("/etc/procwatch/procwatch.yml") as f:
            self.assertTrue(f.read().endswith(self.marker))

    def check_purge(self):
        apt_get("purge", PKG)
        self.assertFalse(installed(), package_status())
        for path in CONFFILES + DATA_DIRS + ["/etc/procwatch"]:
            self.assertFalse(os.path.lexists(path), f"purge left {path}")
        for path in set(self.dpkg_list) | set(self.deb_paths):
            if path in self.preexisting or path in ("/", "/."):
                continue
            self.assertFalse(os.path.lexists(path), f"purge left {path}")
        self.assertEqual(tree_listing(SYSTEMD_STATE), self.systemd_before,
                         "purge left systemd state behind")
        # Debian leaves the system user (files may still belong to it).
        self.assertTrue(user_exists(), "purge deleted the procwatch user")


if __name__ == "__main__":
    unittest.main(verbosity=2)
