#!/usr/bin/python3
"""Run a command under the system call filter of a systemd unit, without systemd.

    packaging/syscall_filter_run.py packaging/procwatch.service -- build/procwatch trace --json

These machines do not boot systemd, so the unit's SystemCallFilter= cannot be tried by
starting it. This reads the unit's SystemCallFilter= and SystemCallErrorNumber= lines, expands
the @groups with `systemd-analyze syscall-filter` (as systemd does: the first line decides
allow or deny list, later lines add to or, with ~, take from it), installs the same seccomp
filter (native architecture) with python3-seccomp, and execs the command. Run it under
`strace -f -e status=failed` to see which calls the filter refused (-1 EPERM).
Only the filter: user, capabilities and namespaces are not reproduced (see setpriv(1)).
"""
import errno
import os
import re
import subprocess
import sys

import seccomp  # Debian: python3-seccomp


def expand(name, cache={}):
    """Set of system call names of a @group (nested groups expanded) or of one call."""
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                             text=True, check=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            word = line.strip()
            if not word or word.startswith("#"):
                continue
            calls |= expand(word) if word.startswith("@") else {word}
        cache[name] = calls
    return cache[name]


def unit_filter(unit_path):
    """(allow list or None, deny list or None, errno) as systemd would build them."""
    allow = deny = None
    err = None
    with open(unit_path) as f:
        for line in f:
            m = re.match(r"^\s*SystemCallFilter=(.*)$", line)
            if m:
                value = m.group(1).strip()
                if not value:
                    allow = deny = None
                    continue
                invert = value.startswith("~")
                names = set()
                for word in value.lstrip("~").split():
                    names |= expand(word)
                if allow is None and deny is None:
                    if invert:
                        deny = names
                    else:
                        allow = names
                elif allow is not None:
                    allow = allow - names if invert else allow | names
                else:
                    deny = deny | names if invert else deny - names
            m = re.match(r"^\s*SystemCallErrorNumber=(\S+)", line)
            if m:
                err = getattr(errno, m.group(1))
    return allow, deny, err


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    allow, deny, err = unit_filter(sys.argv[1])
    if allow is None and deny is None:
        sys.exit(f"{sys.argv[1]}: no SystemCallFilter=")
    fail = seccomp.ERRNO(err) if err else seccomp.KILL_PROCESS
    if allow is not None:
        f = seccomp.SyscallFilter(defaction=fail)
        rule_action, names = seccomp.ALLOW, allow
    else:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        rule_action, names = fail, deny
    for name in sorted(names):
        try:
            f.add_rule(rule_action, name)
        except (ValueError, RuntimeError, OSError):
            pass  # not a call of this architecture (e.g. *_time64 on x86-64), as in systemd
    f.load()
    os.execvp(sys.argv[3], sys.argv[3:])


if __name__ == "__main__":
    main()
