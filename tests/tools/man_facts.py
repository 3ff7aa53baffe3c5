#!/usr/bin/env python3
"""tests/tools/man_facts.py AOEXD MANDIR - the man pages state each tunable's
range and default as aoexd itself does (one definition: src/config/tunables.h).

From `aoexd --help`: every option whose help ends in "(RANGE, default DEF)";
its entry in aoexd(8) must say RANGE and DEF.  From `aoexd -c EMPTY --check`:
every `key = value' of an empty file (the defaults); its entry in
aoexd.conf(5) must say the value.  Prints one line per mismatch and exits 1
if there is any.  Pages are rendered with mandoc -Tascii.
"""
import re
import subprocess
import sys
import tempfile


def render(page):
    out = subprocess.run(["mandoc", "-Tascii", page], capture_output=True, text=True, check=True).stdout
    return re.sub(r".\x08", "", out).split("\n")


def entry(lines, tag_re):
    """The text of the .TP entry whose tag matches tag_re: the tag line and
    the lines indented deeper than it, up to the next tag."""
    for i, line in enumerate(lines):
        if re.match(tag_re, line):
            ind = len(line) - len(line.lstrip())
            body = [line]
            for nxt in lines[i + 1:]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= ind:
                    break
                body.append(nxt)
            # words mandoc broke at a hyphen go back together
            return " ".join(re.sub(r"-\s+", "-", " ".join(l.strip() for l in body)).split())
    return None


def main():
    aoexd, mandir = sys.argv[1], sys.argv[2]
    bad = 0
    helptext = subprocess.run([aoexd, "--help"], capture_output=True, text=True).stdout
    # an option line, then its help lines; the tunables' last one is (RANGE, default DEF)
    facts = []
    cur = None
    for line in helptext.split("\n"):
        m = re.match(r"^ {2,6}(?:-\w, )?--([a-z-]+)", line)
        if m:
            cur = m.group(1)
        m = re.match(r"^\s+\((.+), default ([^()]+)\)$", line)
        if m and cur:
            facts.append((cur, m.group(1), m.group(2)))
    if len(facts) < 12:
        print(f"only {len(facts)} tunables found in aoexd --help")
        return 1
    page8 = render(f"{mandir}/aoexd.8")
    for opt, rng, dflt in facts:
        text = entry(page8, rf"^\s+(-\w, )?--{re.escape(opt)}(\s|$)")
        if text is None:
            print(f"aoexd(8): no entry for --{opt}")
            bad += 1
            continue
        for want in (rng, f"default {dflt}"):
            if want not in text:
                print(f"aoexd(8) --{opt}: does not say \"{want}\" (aoexd --help does): {text}")
                bad += 1
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("# empty: every default\n")
        f.flush()
        check = subprocess.run([aoexd, "-c", f.name, "--check"], capture_output=True, text=True).stdout
    page5 = render(f"{mandir}/aoexd.conf.5")
    n = 0
    for line in check.split("\n"):
        m = re.match(r"^([a-z][a-z-]*) = (.*)$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip('"')
        if key in ("state-directory",) or value.startswith("{"):
            continue	# the build's prefix, lists: the page says them in words
        n += 1
        text = entry(page5, rf"^\s+{re.escape(key)}(\s\s|\s*$)")
        if text is None:
            print(f"aoexd.conf(5): no entry for {key}")
            bad += 1
        elif value and not any(w in text.replace('"', "") for w in
                               (f"default {value}", f"default: {value}", f"{value} (the default)")):
            print(f"aoexd.conf(5) {key}: does not say \"default {value}\" (aoexd --check does): {text}")
            bad += 1
    print(f"# {len(facts)} options of aoexd(8), {n} keys of aoexd.conf(5) checked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
