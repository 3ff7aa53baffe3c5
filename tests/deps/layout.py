#!/usr/bin/env python3
"""tests/deps/layout.py - the source tree keeps the shape the README draws.

One TAP line per rule:

  - proto/ is pure: it includes libc headers, config.h and its own headers
    only (the build gives it no -Isrc either, this says so by name);
  - the tools (src/tools/) use proto/, src/common/ and src/event/ only
    (the epoll loop is a leaf that itself includes only src/common/: aoex
    attach runs on it, one loop for the whole project, issue 15);
  - nothing outside src/daemon/ includes a daemon header;
  - the subsystems (src/X/, and src/io/X/ for the engine and the cache)
    include each other without a cycle;
  - no C file or header in proto/ or src/ is longer than 800 lines.

A rule that fails names the file and the include that breaks it.
"""
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for base in ("proto", "src"):
        for root, _, files in os.walk(os.path.join(TOP, base)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(root, f), TOP)


def includes(path):
    with open(os.path.join(TOP, path), encoding="utf-8", errors="replace") as fh:
        return INCLUDE.findall(fh.read())


def subsystem(path):
    """src/io/cache/cache.c -> io/cache; src/net/ring.h -> net; proto/x -> proto."""
    parts = path.split("/")
    if parts[0] == "proto":
        return "proto"
    if parts[1] in ("io", "tools") and len(parts) > 3:
        return parts[1] + "/" + parts[2]
    return parts[1]


def resolve(src, inc):
    """The file an include names, relative to TOP, or None (config.h)."""
    here = os.path.dirname(src)
    for cand in (os.path.join(here, inc), os.path.join("src", inc), inc):
        if os.path.isfile(os.path.join(TOP, cand)):
            return os.path.normpath(cand)
    return None


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def main():
    files = list(sources())
    results = []

    bad = []
    for f in files:
        if not f.startswith("proto/"):
            continue
        for inc in includes(f):
            if inc != "config.h" and ("/" in inc or not os.path.isfile(os.path.join(TOP, "proto", inc))):
                bad.append(f"{f}: \"{inc}\"")
    results.append(("proto/ includes only libc, config.h and proto/ headers", bad))

    bad = []
    for f in files:
        if not f.startswith("src/tools/"):
            continue
        for inc in includes(f):
            r = resolve(f, inc)
            if r and not (r.startswith(("proto/", "src/common/", "src/event/")) or
                          os.path.dirname(r) == os.path.dirname(f)):
                bad.append(f"{f}: \"{inc}\"")
    # what makes src/event/ fit for the tools: it stays a leaf
    for f in files:
        if not f.startswith("src/event/"):
            continue
        for inc in includes(f):
            r = resolve(f, inc)
            if r and not r.startswith(("src/common/", "src/event/")):
                bad.append(f"{f}: \"{inc}\" (the loop the tools use must stay a leaf)")
    results.append(("the tools include only proto/, src/common/, src/event/ and their own folder", bad))

    bad = []
    for f in files:
        if f.startswith("src/daemon/"):
            continue
        for inc in includes(f):
            r = resolve(f, inc)
            if r and r.startswith("src/daemon/"):
                bad.append(f"{f}: \"{inc}\"")
    results.append(("nothing outside src/daemon/ includes a daemon header", bad))

    graph, why = {}, {}
    for f in files:
        a = subsystem(f)
        for inc in includes(f):
            r = resolve(f, inc)
            if not r:
                continue
            b = subsystem(r)
            if a != b:
                graph.setdefault(a, set()).add(b)
                why.setdefault((a, b), f"{f} includes \"{inc}\"")
    cycle = find_cycle(graph)
    bad = []
    if cycle:
        bad.append(" -> ".join(cycle))
        bad += [why[(cycle[i], cycle[i + 1])] for i in range(len(cycle) - 1)]
    results.append(("no include cycle between subsystems", bad))

    bad = []
    for f in files:
        with open(os.path.join(TOP, f), encoding="utf-8", errors="replace") as fh:
            n = sum(1 for _ in fh)
        if n > MAX_LINES:
            bad.append(f"{f}: {n} lines")
    results.append((f"no file in proto/ or src/ is over {MAX_LINES} lines", bad))

    failed = 0
    for i, (name, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print(f"not ok {i} - {name}")
            for p in problems:
                print(f"#   {p}")
        else:
            print(f"ok {i} - {name}")
    print(f"1..{len(results)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
