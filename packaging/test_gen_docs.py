"""gen_docs.py picks up sub-commands and flags it has never seen, in CLI11 2.1 and 2.4 help.

A fake procwatch prints canned --help text with a `sources` sub-command and
`serve --events-log FILE` (neither exists yet); the man page and the bash completion must
list them, with the value lists of choice options, without any change to gen_docs.py.
"""
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen_docs.py")

HELP_21 = {
    "": """\
procwatch: see every process launched on this machine
Usage: {bin} [OPTIONS] SUBCOMMAND

Options:
  -h,--help                   Print this help message and exit
  --version                   Display program version information and exit

Subcommands:
  serve                       Prometheus exporter: per-tree process metrics
  sources                     Print each event source and whether it is usable here
  check                       One-shot Nagios/mon plugin (see procwatch check --help)
  rules                       Rule config tools
""",
    "serve": """\
Prometheus exporter: per-tree process metrics
Usage: {bin} serve [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --web.listen-address TEXT=:9501
                              Address to listen on ([host]:port)
  --events-log TEXT:FILE      Also write every event as a JSON line to FILE (- is stdout)
  --source TEXT:{{auto,ebpf,netlink,procfs}}=auto
                              Event source: auto, ebpf, netlink or procfs
  --interval INT:INT in [10 - 3600000]=500
                              procfs source: poll interval in milliseconds
""",
    "sources": """\
Print each event source and whether it is usable here
Usage: {bin} sources [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --json                      One JSON object per source
""",
    "check": """\
Usage: procwatch check [--format nagios|mon] [--recheck DURATION] NAME[@USER]:MIN-MAX ...
       procwatch check [...] [check_procs options]   (-w -c -C, as check_procs)
""",
    "rules": """\
Rule config tools
Usage: {bin} rules [OPTIONS] SUBCOMMAND

Options:
  -h,--help                   Print this help message and exit

Subcommands:
  export                      Print the rules as Prometheus alerting rules (YAML)
""",
    "rules export": """\
Print the rules as Prometheus alerting rules (YAML)
Usage: {bin} rules export [OPTIONS]

Options:
  -h,--help                   Print this help message and exit
  --config TEXT=/etc/procwatch/procwatch.yml
                              Rule config file
""",
}


def to_cli11_24(text):
    """The same help as CLI11 2.4 prints it: upper-case sections, aligned long names,
    defaults in brackets."""
    out = []
    for line in text.split("\n"):
        line = {"Options:": "OPTIONS:", "Subcommands:": "SUBCOMMANDS:"}.get(line, line)
        line = re.sub(r"^  -h,--help", "  -h,     --help", line)
        line = re.sub(r"^  (--\S)", r"          \1", line)
        line = re.sub(r"(TEXT|INT|UINT)(:\S+)?=(\S+)", lambda m: f"{m.group(1)}{m.group(2) or ''} [{m.group(3)}]", line)
        line = re.sub(r"\]=(\S+)", r"] [\1]", line)
        out.append(line)
    return "\n".join(out)


FAKE = """#!{python}
import json, sys
helps = json.load(open({helps!r}))
args = sys.argv[1:]
if args == ["--version"]:
    print("procwatch 9.9.9"); sys.exit(0)
if not args or args[-1] != "--help":
    sys.exit(2)
path = " ".join(args[:-1])
if path not in helps:
    print("procwatch: unknown sub-command", file=sys.stderr); sys.exit(2)
sys.stdout.write(helps[path].format(bin=sys.argv[0]))
"""


class GenDocsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pwgendocs-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def generate(self, helps):
        import json
        hp = os.path.join(self.tmp, "helps.json")
        with open(hp, "w") as f:
            json.dump(helps, f)
        fake = os.path.join(self.tmp, "procwatch")
        with open(fake, "w") as f:
            f.write(FAKE.format(python=sys.executable, helps=hp))
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
        man = os.path.join(self.tmp, "procwatch.1.gz")
        comp = os.path.join(self.tmp, "procwatch.bash")
        subprocess.run([sys.executable, GEN, "--procwatch", fake, "--man", man,
                        "--completion", comp], check=True)
        with gzip.open(man, "rt") as f:
            page = f.read().replace("\\-", "-")
        with open(comp) as f:
            completion = f.read()
        return page, comp, completion

    def complete(self, comp, *words):
        script = (f"source {comp}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
                  "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n_procwatch\necho \"${COMPREPLY[*]}\"\n")
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
        return set(r.stdout.split())

    def check(self, helps):
        page, comp, _ = self.generate(helps)
        self.assertIn('.TH PROCWATCH 1', page)
        self.assertIn("procwatch 9.9.9", page)
        for cmd in ("serve", "sources", "check", "rules export"):
            self.assertIn(f'.SS "procwatch {cmd}"', page)
        for flag in ("--events-log", "--web.listen-address", "--json", "--format", "--recheck",
                     "--config", "--interval", "--version"):
            self.assertRegex(page, r"\\fB" + re.escape(flag) + r"\\fR", flag)
        self.assertIn("\\fB--events-log\\fR \\fIFILE\\fR", page)
        self.assertIn("(default: :9501)", page)
        self.assertIn("(default: /etc/procwatch/procwatch.yml)", page)
        self.assertIn("(range 10..3600000) (default: 500)", page)
        subprocess.run(["bash", "-n", comp], check=True)
        self.assertEqual(self.complete(comp, "procwatch", ""),
                         {"serve", "sources", "check", "rules"})
        self.assertLessEqual({"--events-log", "--source", "--web.listen-address"},
                             self.complete(comp, "procwatch", "serve", "--"))
        self.assertEqual(self.complete(comp, "procwatch", "sources", "--"),
                         {"--help", "--json"})
        self.assertEqual(self.complete(comp, "procwatch", "serve", "--source", ""),
                         {"auto", "ebpf", "netlink", "procfs"})
        self.assertEqual(self.complete(comp, "procwatch", "check", "--format", ""),
                         {"nagios", "mon"})
        self.assertEqual(self.complete(comp, "procwatch", "rules", ""), {"export"})
        self.assertIn("--config", self.complete(comp, "procwatch", "rules", "export", "--"))

    def test_cli11_2_1(self):
        self.check(HELP_21)

    def test_cli11_2_4(self):
        self.check({k: (to_cli11_24(v) if k != "check" else v) for k, v in HELP_21.items()})


if __name__ == "__main__":
    unittest.main(verbosity=2)
