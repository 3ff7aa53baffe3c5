#!/usr/bin/env python3
"""tests/deps/commands.py - every program the tests call comes from a package
that something installs.

Reads the shell scripts that run on the host (tests/, cross/, demo.sh), finds
the words in command position, drops shell builtins, keywords, functions the
scripts define and programs the project builds, and for each remaining
command prints one TAP line:

    ok N - CMD: /usr/bin/CMD (PACKAGE, from install-deps.sh)
    not ok N - CMD: /usr/bin/CMD (PACKAGE) is installed by nothing the tests run

A command is covered when its package (dpkg -S on the resolved path) is

  - named in tests/install-deps.sh,
  - installed by the script that calls it (a script that runs apt-get names
    its packages literally, as cross/build-all and tests/musl-build.sh do),
  - or part of a minimal Debian root (Essential or Priority: required, what
    `debootstrap --variant=minbase` installs).

Without this check a test can lean on a package a developer happens to have
(xxd once failed 16 cases in a fresh root, issue 12).  Scripts that run
inside a guest (busybox) are not read.  The parse is a heuristic over
`bash --pretty-print`, which puts one simple command per line: it sees
commands in pipelines, lists, $( ) and ` `, after `run`, `exec`, `timeout`,
`ip netns exec NS`, `env`, `nice` and the like; text in single quotes is not
read.
"""
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Host-side scripts.  Guest scripts (busybox inside qemu) are left out.
GUEST = {"tests/vm/init.sh", "tests/vm/restart.sh", "cross/vm-test.sh",
         "tests/systemd/agent.sh", "tests/systemd/aoexd-unit"}

# Programs the project builds or ships; the tests call them by variable or
# from the build tree, never from PATH.
PROJECT = {"aoexd", "aoex", "aoexctl", "faultbridge", "aoeflood", "kiclock",
           "t_proto", "t_ext", "t_conf", "t_ctl", "t_state", "t_queue",
           "t_wb", "t_nbd", "t_registry", "fuzz_frame", "fuzz_ext", "fuzz_coalesce",
           "fuzz_conf", "fuzz_ctl", "fuzz_nbd", "nbdpoke.py", "configure", "demo.sh", "run-all"}

# Functions of bats and bats-assert/bats-support (tests/install-deps.sh).
BATS = {"load", "run", "skip", "fail", "bats_load_library", "assert",
        "refute", "assert_equal", "assert_not_equal", "assert_success",
        "assert_failure", "assert_output", "refute_output", "assert_line",
        "refute_line", "assert_regex", "refute_regex"}

# Scripts that install their own packages with apt-get (their package
# names appear in them literally).
SELF_INSTALLERS = ("cross/", "tests/musl-build.sh")

# Words that take another command as their argument: skip them and their
# own options/operands to reach the command they run.
PREFIX = {
    "run": 0, "exec": 0, "command": 0, "builtin": 0, "time": 0, "nohup": 0,
    "sudo": 0, "env": 0, "nice": 0, "ionice": 0, "setsid": 0, "stdbuf": 0,
    "taskset": 1, "timeout": 1, "chroot": 1, "xargs": 0, "strace": 0,
    "valgrind": 0, "unshare": 0, "flock": 1, "watch": 0, "!": 0,
}


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout


def scripts():
    out = []
    for base, _, files in os.walk(TOP):
        rel = os.path.relpath(base, TOP)
        if rel.startswith(("tests/out", ".git", "cross/out")) or "/corpus" in rel:
            continue
        for f in files:
            p = os.path.normpath(os.path.join(rel, f))
            if p in GUEST or not (p.startswith(("tests/", "cross/")) or p == "demo.sh"):
                continue
            full = os.path.join(TOP, p)
            if f.endswith((".sh", ".bats", ".bash")):
                out.append(p)
                continue
            try:
                with open(full, "rb") as fh:
                    first = fh.readline()
            except OSError:
                continue
            if re.match(rb"#!.*\b(ba)?sh\b", first):
                out.append(p)
    return sorted(out)


def pretty(path):
    """The script as bash parses it; bats' @test blocks become functions."""
    with open(os.path.join(TOP, path), encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    text = re.sub(r'^@test (".*?"|\'.*?\'|\S+) *\{', "_bats_case() {", text, flags=re.M)
    r = subprocess.run(["bash", "--pretty-print", "/dev/stdin"], input=text,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"commands.py: bash cannot parse {path}: {r.stderr.strip()}")
    return r.stdout


HEREDOC = re.compile(r"<<-?\s*\\?['\"]?(\w+)['\"]?")


def strip_heredocs(text):
    lines, out, end = text.split("\n"), [], None
    for line in lines:
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        m = HEREDOC.search(line)
        if m and "<<<" not in line:
            end = m.group(1)
        out.append(line)
    return "\n".join(out)


def blank_single_quotes(text):
    # drop '...' (no expansion inside); keep double quotes, whose $( ) run
    return re.sub(r"'[^']*'", "''", text)


KEYWORDS_NEXT_IS_CMD = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
KEYWORDS_END = {"fi", "done", "}", "esac"}
OPS = ("&&", "||", ";;", ";&", "|&", ";", "&", "|", "(", ")", "\n")


class Lexer:
    """Just enough of the shell grammar to find command words: quotes,
    $( ), ` `, $(( )), (( )), [[ ]], for/case headers, redirections."""

    def __init__(self, text):
        self.s, self.n = text, len(text)
        self.found = []

    def skip_to(self, i, close):
        d = 0
        while i < self.n:
            if self.s.startswith(close, i) and d == 0:
                return i + len(close)
            c = self.s[i]
            if c == "(":
                d += 1
            elif c == ")":
                d -= 1
            i += 1
        return i

    def word(self, i):
        """Read one word from i; run the substitutions inside it."""
        out = []
        while i < self.n:
            c = self.s[i]
            if c == "(" and ASSIGN.match("".join(out)) and "".join(out).endswith("="):
                i = self.skip_to(i + 1, ")"); out.append("()"); continue
            if c in " \t\n;&|()<>":
                break
            if c == "\\":
                out.append(self.s[i:i + 2]); i += 2; continue
            if c == "'":
                j = self.s.find("'", i + 1)
                j = self.n if j < 0 else j
                out.append(self.s[i:j + 1]); i = j + 1; continue
            if c == '"':
                i += 1
                while i < self.n and self.s[i] != '"':
                    if self.s[i] == "\\":
                        i += 2; continue
                    if self.s.startswith("$((", i):
                        i = self.skip_to(i + 3, "))"); continue
                    if self.s.startswith("$(", i):
                        i = self.commands(i + 2, ")"); continue
                    if self.s[i] == "`":
                        i = self.commands(i + 1, "`"); continue
                    i += 1
                i += 1
                out.append('""'); continue
            if self.s.startswith("$((", i):
                i = self.skip_to(i + 3, "))"); out.append("$"); continue
            if self.s.startswith("$(", i):
                i = self.commands(i + 2, ")"); out.append("$"); continue
            if self.s.startswith("${", i):
                j, d = i + 2, 1
                while j < self.n and d:
                    if self.s.startswith("$(", j) and not self.s.startswith("$((", j):
                        j = self.commands(j + 2, ")"); continue
                    d += {"{": 1, "}": -1}.get(self.s[j], 0); j += 1
                out.append("$"); i = j; continue
            if c == "`":
                i = self.commands(i + 1, "`"); out.append("$"); continue
            out.append(c); i += 1
        return "".join(out), i

    def commands(self, i, close):
        """Scan commands until the closing text (or the end); returns the
        index after it."""
        expect, skip_words, in_case = True, None, []
        wrap = None     # [state, operands] after a wrapper such as timeout
        while i < self.n:
            c = self.s[i]
            if close and self.s.startswith(close, i) and not (close == ")" and in_case and in_case[-1] == "pattern"):
                return i + len(close)
            if c in " \t":
                i += 1; continue
            if c == "#" and (i == 0 or self.s[i - 1] in " \t\n"):
                j = self.s.find("\n", i); i = self.n if j < 0 else j; continue
            if self.s.startswith("((", i) and expect:
                i = self.skip_to(i + 2, "))"); expect = False; continue
            if self.s.startswith("[[", i) and expect:
                j = self.s.find("]]", i); i = self.n if j < 0 else j + 2; expect = False; continue
            if c in "<>" or (c.isdigit() and i + 1 < self.n and self.s[i + 1] in "<>" and not expect):
                if self.s.startswith(("<(", ">("), i):
                    i = self.commands(i + 2, ")"); continue
                while i < self.n and self.s[i] in "0123456789<>&-":
                    i += 1
                while i < self.n and self.s[i] in " \t":
                    i += 1
                _, i = self.word(i)
                continue
            op = next((o for o in OPS if self.s.startswith(o, i)), None)
            if op:
                i += len(op)
                wrap = None
                if in_case and op == ";;":
                    in_case[-1] = "pattern"
                elif in_case and in_case[-1] == "pattern" and op == ")":
                    in_case[-1] = "body"
                elif op == "(":
                    pass
                elif op == ")":
                    pass
                if op == "\n" and skip_words == "for":
                    skip_words = None
                if in_case and in_case[-1] == "pattern":
                    expect = False
                else:
                    expect = True
                continue
            w, i = self.word(i)
            if not w:
                i += 1; continue
            if in_case and in_case[-1] == "pattern":
                if w == "esac":
                    in_case.pop(); expect = False
                continue
            if skip_words:
                if (skip_words == "for" and w == "do") or (skip_words == "case" and w == "in"):
                    if skip_words == "case":
                        in_case.append("pattern")
                    skip_words = None
                    expect = True
                continue
            if not expect:
                continue
            if wrap is not None:
                if wrap[0] == "ip":
                    wrap = ["ip-netns", 0] if w == "netns" else None
                    expect = wrap is not None
                    continue
                if wrap[0] == "ip-netns":
                    wrap = ["opts", 1] if w == "exec" else None
                    expect = wrap is not None
                    continue
                if w.startswith("-") or ASSIGN.match(w):
                    continue
                if wrap[1] > 0:
                    wrap[1] -= 1
                    continue
                wrap = None
            if ASSIGN.match(w) or w in KEYWORDS_NEXT_IS_CMD:
                continue
            if w in ("for", "select"):
                skip_words, expect = "for", False; continue
            if w == "case":
                skip_words, expect = "case", False; continue
            if w in KEYWORDS_END or w == "function":
                expect = w == "function" and False; continue
            if w not in ("run", "!", "exec", "command", "builtin"):
                self.found.append(w)
            if w == "ip":
                wrap, expect = ["ip", 0], True
            elif w in PREFIX:
                wrap, expect = ["opts", PREFIX[w]], True
            else:
                expect = False
        return i


ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")


def words_in_command_position(text):
    lx = Lexer(text)
    lx.commands(0, None)
    prev = None
    for w in lx.found:
        yield w


def functions(text):
    return set(re.findall(r"^\s*([A-Za-z_][\w.-]*) \(\) *$", text, flags=re.M))


def owner(cmd):
    """(path, package) of the first CMD on PATH that a package owns; a
    developer's own copy (pyenv, /usr/local) is passed over for the system's."""
    first = None
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        path = os.path.join(d, cmd)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        first = first or path
        for cand in (path, os.path.realpath(path),
                     path[4:] if path.startswith("/usr/") else "/usr" + path):
            out = sh("dpkg", "-S", cand).strip()
            if out:
                return path, out.split(":")[0].split(",")[0].strip()
    return first, ""


def main():
    builtins = set(sh("bash", "-c", "compgen -b; compgen -k").split())
    with open(os.path.join(TOP, "tests/install-deps.sh")) as fh:
        deps_text = fh.read()
    # the package lists: BUILD="..." and TEST="..."
    declared = set()
    for m in re.finditer(r'^[A-Z]+="([^"]*)"', deps_text, flags=re.M):
        declared |= set(m.group(1).split())

    texts = {p: pretty(p) for p in scripts()}
    defined = set()
    for t in texts.values():
        defined |= functions(t)
    # helpers.bash and cross/lib.sh are sourced by others
    uses = {}
    for p, t in texts.items():
        body = blank_single_quotes(strip_heredocs(t))
        for w in words_in_command_position(body):
            if (not re.fullmatch(r"[A-Za-z0-9_.+-]+", w) or w in builtins
                    or w in defined or w in PROJECT or w in BATS or w[0] in "-.0123456789"):
                continue
            uses.setdefault(w, set()).add(p)

    required, depends, provides = set(), {}, {}
    fmt = "${Package}\t${Priority}\t${Essential}\t${Depends}, ${Pre-Depends}\t${Provides}\t${db:Status-Abbrev}\n"
    for line in sh("dpkg-query", "-W", "-f=" + fmt).splitlines():
        pkg, prio, ess, deps, prov, status = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        if prio == "required" or ess == "yes":
            required.add(pkg)
        # "a (>= 1) | b, c:any" -> every alternative counts
        depends[pkg] = {d.split()[0].split(":")[0]
                        for d in re.split(r"[,|]", deps) if d.strip()}
        for v in prov.split(","):
            if v.strip():
                provides.setdefault(v.split()[0], set()).add(pkg)
    # what installing the declared packages brings in (Depends/Pre-Depends)
    todo, declared_all = list(declared), set()
    while todo:
        p = todo.pop()
        for q in {p} | provides.get(p, set()):
            if q in depends and q not in declared_all:
                declared_all.add(q)
                todo.extend(depends[q])

    n = bad = 0
    for cmd in sorted(uses):
        n += 1
        where = ", ".join(sorted(uses[cmd]))
        path, pkg = owner(cmd)
        if not path:
            bad += 1
            print(f"not ok {n} - {cmd}: not on PATH (used in {where})")
            continue
        if not pkg:
            bad += 1
            print(f"not ok {n} - {cmd}: {path} belongs to no package (used in {where})")
            continue
        if pkg in declared:
            why = "install-deps.sh"
        elif pkg in required:
            why = "minbase"
        elif pkg in declared_all:
            why = "a dependency of install-deps.sh"
        else:
            selfinst = [p for p in uses[cmd]
                        if p.startswith(SELF_INSTALLERS) and re.search(rf"(?<![\w-]){re.escape(pkg)}(?![\w-])", texts[p])]
            why = f"installed by {selfinst[0]}" if selfinst else ""
        if why:
            print(f"ok {n} - {cmd}: {path} ({pkg}, {why})")
        else:
            bad += 1
            print(f"not ok {n} - {cmd}: {path} ({pkg}) is installed by nothing the tests run (used in {where})")
    print(f"1..{n}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
