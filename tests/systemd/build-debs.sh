#!/bin/bash
# build-debs.sh OUTDIR - build the Debian packages from this tree as a
# packager would, and check them with lintian.
#
# The tree (its git-tracked and untracked-but-not-ignored files, or all of
# it without git) is copied to OUTDIR/src, so the build never writes into
# the working tree; `dpkg-buildpackage -us -uc -b` there leaves
# OUTDIR/aoexd_*.deb, OUTDIR/aoex_*.deb and the .changes.  Then lintian on
# the .changes: every error fails; every warning must be one that
# debian/lintian-kept lists (TAG and the reason).  Logs: OUTDIR/*.log.
# Output: TAP ("ok N - ..."); exit 0 when every line is ok.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: build-debs.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
n=0 bad=0
tap() {	# tap STATUS TEXT
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else bad=$((bad + 1)); echo "not ok $n - $2"; fi
}

rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$OUT/src"
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -co --exclude-standard -z) | (cd "$TOP" && tar --null -T - -cf -) | tar -C "$OUT/src" -xf -
else
	tar -C "$TOP" --exclude=./tests/out --exclude=./cross/out -cf - . | tar -C "$OUT/src" -xf -
fi
t0=$SECONDS
(cd "$OUT/src" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1
rc=$?
tap $rc "dpkg-buildpackage -us -uc -b ($((SECONDS - t0)) s, log $OUT/build.log)"
[ $rc = 0 ] || { tail -n 30 "$OUT/build.log" | sed 's/^/# /'; echo "1..$n"; exit 1; }
for p in aoexd aoex; do
	deb=$(ls "$OUT"/${p}_*.deb 2>/dev/null | head -n1)
	[ -n "$deb" ]; tap $? "package $p built (${deb##*/})"
done
changes=$(ls "$OUT"/aoexd_*.changes | head -n1)

# lintian: no error; warnings only as kept in debian/lintian-kept
if ! command -v lintian >/dev/null; then
	tap 1 "lintian not installed (tests/install-deps.sh)"
else
	lintian --no-tag-display-limit "$changes" >"$OUT/lintian.log" 2>&1
	errors=$(grep -c '^E: ' "$OUT/lintian.log")
	[ "$errors" = 0 ]; tap $? "lintian: no errors ($errors; log $OUT/lintian.log)"
	grep '^E: ' "$OUT/lintian.log" | sed 's/^/# /'
	kept=$(sed -n 's/^\([a-z0-9-]*\):.*/\1/p' "$TOP/debian/lintian-kept")
	unkept=$(awk '/^W: / { print $3 }' "$OUT/lintian.log" | sort -u | grep -vxF -f <(echo "$kept") || true)
	[ -z "$unkept" ]; tap $? "lintian: every warning is listed in debian/lintian-kept${unkept:+ (not listed: $(echo $unkept))}"
fi
echo "1..$n"
[ "$bad" = 0 ]
