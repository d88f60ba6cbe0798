"""`procwatch rules export --fleet` through promtool: `promtool check rules` on the export and
`promtool test rules` with fleet_rules_test.yml (synthetic series of several hosts).

usage: run_promtool.py PROCWATCH
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    procwatch = sys.argv[1]
    promtool = shutil.which("promtool")
    if not promtool:
        print("promtool not found (Debian package prometheus; make deps)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="pwpromtool-") as d:
        config = os.path.join(d, "procwatch.yml")
        shutil.copy(os.path.join(HERE, "rules.yml.in"), config)
        exported = os.path.join(d, "exported.yml")
        with open(exported, "w") as f:
            subprocess.run([procwatch, "rules", "export", "--config", config, "--fleet", "--fleet.for", "5m"],
                           stdout=f, check=True)
        shutil.copy(os.path.join(HERE, "fleet_rules_test.yml"), d)
        for cmd in ([promtool, "check", "rules", exported],
                    [promtool, "test", "rules", os.path.join(d, "fleet_rules_test.yml")]):
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
            print(r.stdout + r.stderr)
            if r.returncode != 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
