#!/bin/bash
# tests/deps/version.sh - the version is configure.ac's (AC_INIT); the places
# that must repeat it say the same: debian/changelog's top entry (dpkg reads
# the package version there, before configure runs) and the .TH line of
# every man page.  One TAP line per place; exit 1 when one differs.
# debian/rules runs it before building, so a mismatched package never builds.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
want=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$TOP/configure.ac")
n=0 bad=0
check() {	# check WHAT VALUE
	n=$((n + 1))
	if [ "$2" = "$want" ]; then
		echo "ok $n - $1: $2"
	else
		bad=$((bad + 1))
		echo "not ok $n - $1 says '$2', configure.ac says '$want'"
	fi
}
if [ -z "$want" ]; then
	echo "not ok 1 - no version in configure.ac's AC_INIT"
	exit 1
fi
# a native package: the Debian version is the upstream version itself
check "debian/changelog" "$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)"
for m in "$TOP"/man/*.[0-9]; do
	check "${m#"$TOP"/} .TH" "$(sed -n 's/^\.TH .* "aoexd \([^"]*\)".*/\1/p' "$m")"
done
echo "1..$n"
[ "$bad" = 0 ]
