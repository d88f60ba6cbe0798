#!/usr/bin/env python3
"""Generate procwatch's man page and bash completion from the built binary's --help.

    gen_docs.py --procwatch build/procwatch --man procwatch.1.gz --completion procwatch.bash
    gen_docs.py --gzip SRC DST        (gzip -9n: no name, no timestamp, as lintian wants)

Every sub-command is found by walking the "Subcommands:" sections of CLI11's --help, starting
at the top level, so a new sub-command or flag shows up in both files on the next build with
nothing to edit here. A sub-command whose --help is not CLI11's (check parses its own
arguments) is kept as free text; its flags, metavars and `a|b` value lists are read from it.
"""
import argparse
import gzip
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

FLAG_RE = re.compile(r"(?<![\w-])(--?[A-Za-z][\w.-]*)")


@dataclass
class Option:
    names: list            # ["-h", "--help"]
    spec: str = ""         # CLI11 type text: "TEXT:{auto,always,never}=auto", "" for a flag
    help: str = ""
    choices: list = field(default_factory=list)
    default: str = ""
    metavar: str = ""      # "" for a flag

    @property
    def takes_value(self):
        return bool(self.metavar)


@dataclass
class Command:
    path: list             # [] for the top level, ["rules", "export"]
    summary: str = ""      # one line, from the parent's Subcommands section or the help
    description: str = ""
    usage: str = ""
    options: list = field(default_factory=list)
    positionals: list = field(default_factory=list)
    subcommands: list = field(default_factory=list)   # Command
    free_text: str = ""    # a help that is not CLI11's, kept verbatim


def run_help(binary, path):
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    r = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, env=env,
                       timeout=30)
    text = r.stdout if r.stdout.strip() else r.stderr
    if r.returncode != 0 or not text.strip():
        sys.exit(f"gen_docs: `{' '.join(['procwatch', *path, '--help'])}` failed "
                 f"(exit {r.returncode}): {r.stderr.strip()}")
    # Usage lines name the binary as it was run (build/procwatch); the page names procwatch.
    return text.replace(binary, "procwatch")


def parse_spec(opt):
    """Fill metavar, choices and default from CLI11's type text (2.1 `=x` or 2.3 ` [x]`)."""
    spec = opt.spec.strip()
    if not spec:
        return
    m = re.search(r"\s*\[([^\]]*)\]$", spec)          # CLI11 >= 2.2: "TEXT [default]"
    if m and not re.search(r"\bin$", spec[:m.start()]):   # not a range "in [a - b]"
        opt.default = m.group(1)
        spec = spec[:m.start()]
    else:
        m = re.search(r"=(\S*)$", spec)                 # CLI11 2.1: "TEXT=default"
        if m:
            opt.default = m.group(1)
            spec = spec[:m.start()]
    spec = re.sub(r"\s+(REQUIRED|Excludes:.*|Needs:.*)$", "", spec)
    m = re.search(r"\{([^}]*)\}", spec)
    if m:
        opt.choices = [c.strip() for c in m.group(1).split(",") if c.strip()]
        opt.metavar = "|".join(opt.choices)
        return
    base, _, check = spec.partition(":")
    if check and re.fullmatch(r"[A-Z]+", check):       # TEXT:DIR, TEXT:FILE
        opt.metavar = check
    elif base in ("INT", "UINT", "FLOAT"):
        opt.metavar = "N"
        m = re.search(r"in \[([^\]]*)\]", check)
        if m:
            opt.metavar = "N"
            opt.help += f" (range {m.group(1).replace(' - ', '..')})"
    else:
        opt.metavar = base or "VALUE"


def parse_cli11(text, cmd):
    """Sections of a CLI11 help: description, Usage, Positionals, Options, Subcommands."""
    lines = text.rstrip("\n").split("\n")
    section, current, desc = None, None, []
    for line in lines:
        if line.startswith("Usage:"):
            cmd.usage = line[len("Usage:"):].strip()
            section = "usage"
            continue
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", line.strip()) and not line.startswith(" "):
            section, current = line.strip()[:-1].lower(), None
            continue
        if section is None:
            if line.strip():
                desc.append(line.strip())
            continue
        if not line.strip():
            current = None
            continue
        if section == "options":
            # "-h,--help" (CLI11 2.1) or "-h,     --help" (2.4 aligns long names)
            m = re.match(r"^ {1,12}((?:-[^\s,]+)(?:,\s*-[^\s,]+)*)(.*)$", line)
            if m:
                names = [n.strip() for n in m.group(1).split(",") if n.strip()]
                rest = m.group(2)
                parts = re.split(r"\s{2,}", rest.strip(), maxsplit=1) if rest.strip() else [""]
                if rest.startswith("  ") or not rest.strip():   # no type text
                    spec, helptext = "", rest.strip()
                else:
                    spec = parts[0]
                    helptext = parts[1] if len(parts) > 1 else ""
                current = Option(names=names, spec=spec, help=helptext)
                cmd.options.append(current)
                continue
        elif section == "subcommands":
            m = re.match(r"^ {1,4}(\S+)(?:\s{2,}(.*))?$", line)
            if m:
                current = Command(path=[*cmd.path, m.group(1)], summary=(m.group(2) or "").strip())
                cmd.subcommands.append(current)
                continue
        elif section == "positionals":
            m = re.match(r"^  (\S+)(?:\s+(\S+))?(?:\s{2,}(.*))?$", line)
            if m:
                current = Option(names=[m.group(1)], spec=m.group(2) or "",
                                 help=(m.group(3) or "").strip())
                cmd.positionals.append(current)
                continue
        # A continuation line: the help of the entry above, wrapped or put below a long spec.
        if current is not None:
            attr = "summary" if isinstance(current, Command) else "help"
            setattr(current, attr, (getattr(current, attr) + " " + line.strip()).strip())
    cmd.description = " ".join(desc)
    for opt in cmd.options:
        for n in opt.names:
            if n.startswith("--") and "=" in n:   # never seen, but do not choke on it
                opt.names = [x.split("=")[0] for x in opt.names]
        parse_spec(opt)


def parse_free(text, cmd):
    """A help CLI11 did not write: keep it, and read its flags and value lists."""
    cmd.free_text = text.rstrip("\n")
    m = re.search(r"^Usage:\s*(.*)$", text, re.M)
    if m:
        cmd.usage = m.group(1).strip()
    seen = {}
    for name in FLAG_RE.findall(text):
        if name in ("-", "--") or name in seen:
            continue
        opt = Option(names=[name])
        # "--format nagios|mon", "--recheck DURATION", "--config FILE"
        v = re.search(re.escape(name) + r"[ =](\w+(?:\|\w+)+|[A-Z][A-Z_]*)\b", text)
        if v:
            opt.metavar = v.group(1)
            if "|" in v.group(1):
                opt.choices = v.group(1).split("|")
        seen[name] = opt
    # It was just run with --help, so --help works even when the text does not say so.
    seen.setdefault("--help", Option(names=["--help"], help="Print this help message and exit"))
    cmd.options = list(seen.values())


def discover(binary, path=(), summary=""):
    text = run_help(binary, list(path))
    cmd = Command(path=list(path), summary=summary)
    if re.search(r"^(Options|Subcommands):\s*$", text, re.M | re.I):   # 2.2+: OPTIONS:
        parse_cli11(text, cmd)
    else:
        parse_free(text, cmd)
    if not cmd.summary:
        cmd.summary = cmd.description
    cmd.subcommands = [discover(binary, sub.path, sub.summary) for sub in cmd.subcommands]
    return cmd


def walk(cmd):
    yield cmd
    for sub in cmd.subcommands:
        yield from walk(sub)


# ---- man page ----------------------------------------------------------------------------

def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def man_option(opt):
    names = ", ".join(f"\\fB{roff(n)}\\fR" for n in opt.names)
    if opt.choices:
        names += " " + "|".join(f"\\fI{roff(c)}\\fR" for c in opt.choices)
    elif opt.metavar:
        names += f" \\fI{roff(opt.metavar)}\\fR"
    body = roff(opt.help) if opt.help else ""
    if opt.default:
        body += f" (default: {roff(opt.default)})"
    return f".TP\n{names}\n{body.strip() or '.'}\n"


def man_page(root, version, date):
    out = io.StringIO()
    w = out.write
    w('.\\" Generated from `procwatch --help` by packaging/gen_docs.py; do not edit.\n')
    w(f'.TH PROCWATCH 1 "{date}" "procwatch {roff(version)}" "User Commands"\n')
    w(".nh\n.ad l\n")
    w(".SH NAME\n")
    w(f"procwatch \\- {roff(re.sub(r'^procwatch: *', '', root.description))}\n")
    w(".SH SYNOPSIS\n")
    for cmd in walk(root):
        if cmd is root or cmd.subcommands:
            continue
        w(f".B procwatch {roff(' '.join(cmd.path))}\n")
        w("[\\fIOPTIONS\\fR]\n" if not cmd.free_text else "[\\fIARGUMENTS\\fR]\n")
        w(".br\n")
    w(".B procwatch \\-\\-version\n")
    w(".SH DESCRIPTION\n")
    about = re.sub(r"^procwatch: *", "", root.description)
    w(f"\\fBprocwatch\\fR: {roff(about)}.\n")
    w("Each sub-command below has its own options; \\fBprocwatch\\fR \\fIcommand\\fR "
      "\\fB\\-\\-help\\fR prints them.\n")
    w("A bad flag or value prints one line on standard error and exits 2.\n")
    if root.options:
        w(".SH OPTIONS\n")
        for opt in root.options:
            w(man_option(opt))
    w(".SH COMMANDS\n")
    for cmd in walk(root):
        if cmd is root:
            continue
        w(f'.SS "procwatch {roff(" ".join(cmd.path))}"\n')
        desc = cmd.description or cmd.summary
        if desc:
            w(f"{roff(desc)}\n")
        if cmd.free_text:
            w(".PP\n.nf\n")
            w(roff(cmd.free_text) + "\n")
            w(".fi\n")
            w(".PP\nOptions named in its help:\n")
            for opt in cmd.options:
                if opt.names[0].startswith("--"):
                    w(man_option(opt))
            short = [o.names[0] for o in cmd.options if not o.names[0].startswith("--")]
            if short:
                w(".PP\nShort options: " + " ".join(f"\\fB{roff(s)}\\fR" for s in short) + ".\n")
            continue
        if cmd.usage:
            w(f".PP\nUsage: {roff(cmd.usage)}\n")
        if cmd.subcommands:
            w(".PP\nSub-commands: " + ", ".join(
                f"\\fB{roff(s.path[-1])}\\fR" for s in cmd.subcommands) + ".\n")
        for opt in cmd.positionals:
            w(man_option(opt))
        for opt in cmd.options:
            w(man_option(opt))
    w(".SH FILES\n")
    for path, what in [
        ("/etc/procwatch/procwatch.yml", "rule configuration read by the packaged service"),
        ("/etc/default/procwatch", "ARGS: extra flags for the packaged service"),
        ("/lib/systemd/system/procwatch.service", "the systemd unit"),
        ("/var/log/procwatch/", "the service's event log, rotated by logrotate"),
        ("/var/lib/procwatch/", "the service's state directory"),
    ]:
        w(f".TP\n.I {roff(path)}\n{roff(what)}\n")
    w(".SH EXIT STATUS\n")
    w("0 on success, 2 on a usage or configuration error. \\fBcheck\\fR follows the "
      "Nagios plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) or, with "
      "\\fB\\-\\-format mon\\fR, 0 when all rules hold and 1 otherwise.\n")
    w(".SH SEE ALSO\n")
    w("\\fBsystemctl\\fR(1), \\fBlogrotate\\fR(8)\n")
    return out.getvalue()


# ---- bash completion ---------------------------------------------------------------------

def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def completion(root):
    cmds = list(walk(root))
    key = lambda c: " ".join(c.path)
    subs = "\n".join(f"        {sh_quote(key(c))}) echo {sh_quote(' '.join(s.path[-1] for s in c.subcommands))} ;;"
                     for c in cmds if c.subcommands)
    opts = "\n".join(f"        {sh_quote(key(c))}) echo {sh_quote(' '.join(n for o in c.options for n in o.names))} ;;"
                     for c in cmds if c.options)
    vals, takes = [], []
    for c in cmds:
        for o in c.options:
            if not o.takes_value:
                continue
            for n in o.names:
                pat = sh_quote(key(c) + "|" + n)
                takes.append(pat)
                if o.choices:
                    vals.append(f"        {pat}) echo {sh_quote(' '.join(o.choices))} ;;")
                elif o.metavar == "DIR":
                    vals.append(f"        {pat}) compgen -d -- \"$3\" ;;")
    takes_case = ("        " + "|".join(takes) + ") return 0 ;;") if takes else ""
    return f"""# bash completion for procwatch(1)
# Generated from `procwatch --help` by packaging/gen_docs.py; do not edit.

_procwatch_subcommands() {{
    case "$1" in
{subs}
    esac
}}

_procwatch_options() {{
    case "$1" in
{opts}
    esac
}}

_procwatch_takes_value() {{
    case "$1|$2" in
{takes_case}
    esac
    return 1
}}

# Candidate values for option $2 of sub-command $1; nothing means file names.
_procwatch_values() {{
    case "$1|$2" in
{chr(10).join(vals)}
    esac
}}

_procwatch() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" opt="" cmd="" i w subs
    [ "$COMP_CWORD" -gt 0 ] && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        subs=" $(_procwatch_subcommands "$cmd") "
        if [[ "$w" != -* && "$subs" == *" $w "* ]]; then
            cmd="${{cmd:+$cmd }}$w"
        fi
    done
    # The value of an option: "--opt value" or "--opt=value" (bash splits words at '=').
    if [[ "$prev" == -* ]]; then
        opt="$prev"
    elif [[ "$prev" == "=" && "$COMP_CWORD" -gt 1 ]]; then
        opt="${{COMP_WORDS[COMP_CWORD-2]}}"
    elif [[ "$cur" == "=" ]]; then
        opt="$prev"
        cur=""
    fi
    if [[ -n "$opt" ]] && _procwatch_takes_value "$cmd" "$opt"; then
        local IFS=$'\\n'
        COMPREPLY=($(compgen -W "$(_procwatch_values "$cmd" "$opt" "$cur" | tr ' ' '\\n')" -- "$cur"))
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_procwatch_options "$cmd")" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$(_procwatch_subcommands "$cmd")" -- "$cur"))
    fi
    return 0
}}

complete -o default -F _procwatch procwatch
"""


# ---- main --------------------------------------------------------------------------------

def write_gz(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def changelog_date(path):
    """YYYY-MM-DD of the top changelog entry, so the page does not change with the build day."""
    import email.utils
    with open(path) as f:
        for line in f:
            m = re.match(r"^ -- .*>  (.*)$", line)
            if m:
                return email.utils.parsedate_to_datetime(m.group(1)).strftime("%Y-%m-%d")
    sys.exit(f"gen_docs: no trailer line in {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procwatch", help="the built binary")
    ap.add_argument("--man", help="write the man page here (.gz: compressed)")
    ap.add_argument("--completion", help="write the bash completion here")
    ap.add_argument("--date-from", help="Debian changelog whose top entry dates the page")
    ap.add_argument("--gzip", nargs=2, metavar=("SRC", "DST"), help="only gzip -9n SRC to DST")
    a = ap.parse_args()
    if a.gzip:
        with open(a.gzip[0], "rb") as f:
            write_gz(a.gzip[1], f.read())
        return
    if not a.procwatch:
        ap.error("--procwatch is required")
    binary = os.path.abspath(a.procwatch) if os.sep in a.procwatch else a.procwatch
    r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    version = r.stdout.split()[-1] if r.returncode == 0 and r.stdout.split() else "unknown"
    root = discover(binary)
    if a.man:
        date = changelog_date(a.date_from) if a.date_from else "1970-01-01"
        page = man_page(root, version, date)
        if a.man.endswith(".gz"):
            write_gz(a.man, page.encode())
        else:
            write_text(a.man, page)
    if a.completion:
        write_text(a.completion, completion(root))


if __name__ == "__main__":
    main()
