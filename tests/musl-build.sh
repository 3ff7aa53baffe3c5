#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions are called through run()
# tests/musl-build.sh [BUILDDIR] - build aoexd with CC=musl-gcc, fully static,
# with -Werror, on Debian 12 (run as root).  Proves the tree builds clean
# against musl before any ARM/musl cross work (recipe: FINDINGS.md of the
# cross investigation, native x86_64 case).
#
#   1. apt: musl-tools, autotools, flex, gettext/autopoint, dpkg-dev, ...
#   2. apt-get source libaio libconfuse (adds a deb-src stanza for the
#      mirror already in use if there is none), cached in $MUSL_CACHE/src
#   3. static libaio.a + libconfuse.a (+ libconfuse.pc) built with musl-gcc
#      into $MUSL_CACHE/sysroot; kernel uapi headers (linux/ asm/
#      asm-generic/) symlinked into $MUSL_CACHE/sysroot/include
#   4. aoexd configured out of tree in BUILDDIR (default
#      /tmp/aoexd-musl-build, recreated each run) with --enable-werror
#      --enable-static-binary; make; make check TESTS=tests/unit/t_proto;
#      `file` must report aoexd and aoex as statically linked
#
# env:  MUSL_CACHE  cache for sources + sysroot (default /var/tmp/aoexd-musl);
#                   a warm cache makes a run take seconds with no download
#       JOBS        parallel make jobs (default: nproc)
# exit: 0 on success; non-zero with a one-line reason and the log path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${1:-/tmp/aoexd-musl-build}
MUSL_CACHE=${MUSL_CACHE:-/var/tmp/aoexd-musl}
SYSROOT=$MUSL_CACHE/sysroot
SRC=$MUSL_CACHE/src
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# bump when the way the sysroot is built changes: forces a rebuild
RECIPE=1
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

die() { echo "musl-build: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, /etc/apt)"
case $MUSL_CACHE in /*) ;; *) die "MUSL_CACHE must be an absolute path" ;; esac
mkdir -p "$MUSL_CACHE" "$SRC" || die "cannot create $MUSL_CACHE"
MUSL_CACHE=$(cd "$MUSL_CACHE" && pwd) SYSROOT=$MUSL_CACHE/sysroot SRC=$MUSL_CACHE/src
# pkg-config must see the musl sysroot only, never the system's glibc .pc files
export PKG_CONFIG_LIBDIR=$SYSROOT/lib/pkgconfig PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=''

# ---- the build directory: recreated each run, but never a directory that
# is not (or was not) one of ours
mkdir -p "$BUILD" || die "cannot create build directory $BUILD"
BUILD=$(cd "$BUILD" && pwd)
case $BUILD in
/ | "$TOP" | "$TOP"/src | "$TOP"/proto | "$TOP"/tests | "$MUSL_CACHE"*) die "refusing to use $BUILD as the build directory" ;;
esac
if [ -n "$(ls -A "$BUILD")" ] && [ ! -e "$BUILD/config.status" ] && [ ! -e "$BUILD/musl-build.log" ]; then
	die "$BUILD is not empty and is not an aoexd build directory; give another one"
fi
find "$BUILD" -mindepth 1 -delete
LOG=$BUILD/musl-build.log
: > "$LOG"

# one run at a time per cache (apt, sources, sysroot)
exec 9> "$MUSL_CACHE/.lock"
flock -w 900 9 || die "another musl-build.sh holds $MUSL_CACHE/.lock"

T0=$(date +%s.%N)
CUR=
# run DESC CMD...: CMD's output goes to the log; on failure print the tail of
# the log, its path, and exit.  The subshell keeps `set -e` effective inside
# shell functions passed as CMD.
run() {
	CUR=$1; shift
	local t rc
	t=$(date +%s.%N)
	printf '%s\n=== %s\n' "" "$CUR" >> "$LOG"
	set +e
	( set -e; "$@" ) >> "$LOG" 2>&1
	rc=$?
	set -e
	if [ $rc != 0 ]; then
		echo "musl-build: FAILED: $CUR (exit $rc); last lines of the log:" >&2
		tail -n 25 "$LOG" | sed 's/^/  | /' >&2
		echo "musl-build: full log: $LOG" >&2
		exit 1
	fi
	awk -v a="$t" -v b="$(date +%s.%N)" -v n="$CUR" 'BEGIN{printf "  %-48s %6.1f s\n", n, b-a}'
}

# ------------------------------------------------------------ 1. packages
PKGS=(gcc make musl-tools musl-dev linux-libc-dev dpkg-dev autoconf automake libtool
      autopoint gettext flex pkg-config file xz-utils ca-certificates)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
have_src() { [ -e "$SRC/.libaio.ok" ] && [ -e "$SRC/.libconfuse.ok" ]; }

# the deb-src stanza: same mirror(s) and suites as the first deb entry
add_deb_src() {
	if grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "a deb-src entry exists already"; return 0
	fi
	local uris='' suites='' comps='' key='' f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		# first stanza with Types: deb whose suites are not -security
		IFS=$'\t' read -r uris suites comps key < <(awk '
			function flush() { if (t ~ /(^| )deb( |$)/ && u != "" && s !~ /-security/ && !done) {
				printf "%s\t%s\t%s\t%s\n", u, s, c, (k == "" ? "-" : k); done = 1 }
				t = u = s = c = k = "" }
			/^[[:space:]]*$/ { flush(); next }
			/^[[:space:]]*#/ { next }
			/^Types:/      { sub(/^Types:[[:space:]]*/, "");      t = $0 }
			/^URIs:/       { sub(/^URIs:[[:space:]]*/, "");       u = $0 }
			/^Suites:/     { sub(/^Suites:[[:space:]]*/, "");     s = $0 }
			/^Components:/ { sub(/^Components:[[:space:]]*/, ""); c = $0 }
			/^Signed-By:/  { sub(/^Signed-By:[[:space:]]*/, "");  k = $0 }
			END { flush() }' "$f") || true
		[ -z "$uris" ] || break
	done
	if [ -z "$uris" ] && [ -r /etc/apt/sources.list ]; then
		# one-line format: deb [opts] URI SUITE COMPONENT...
		local line
		line=$(grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | grep -v -- '-security' | head -n1 || true)
		if [ -n "$line" ]; then
			line=$(sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' <<< "$line")
			uris=$(awk '{print $1}' <<< "$line")
			suites=$(awk '{print $2}' <<< "$line")
			comps=$(awk '{$1=$2=""; sub(/^ +/, ""); print}' <<< "$line")
		fi
	fi
	if [ -z "$uris" ]; then
		# shellcheck disable=SC1091
		. /etc/os-release
		uris=http://deb.debian.org/debian
		suites="${VERSION_CODENAME:-bookworm} ${VERSION_CODENAME:-bookworm}-updates"
	fi
	[ -n "$comps" ] || comps=main
	# keep Signed-By only when it names a keyring file (not an inline key)
	case $key in /*) ;; *) key= ;; esac
	[ -n "$key" ] || { [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] && key=/usr/share/keyrings/debian-archive-keyring.gpg; }
	{
		echo "# added by aoexd tests/musl-build.sh (apt-get source libaio libconfuse)"
		echo "Types: deb-src"
		echo "URIs: $uris"
		echo "Suites: $suites"
		echo "Components: $comps"
		[ -z "$key" ] || echo "Signed-By: $key"
	} > /etc/apt/sources.list.d/aoexd-debian-src.sources
	echo "added /etc/apt/sources.list.d/aoexd-debian-src.sources:"
	cat /etc/apt/sources.list.d/aoexd-debian-src.sources
}

# A mirror caught mid-sync makes `apt-get update` exit 100 for one index
# ("File has unexpected size"); apt keeps the other lists: retry once, then
# carry on with what it fetched.
apt_update() {
	apt-get -o DPkg::Lock::Timeout=600 update -q && return 0
	sleep 10
	apt-get -o DPkg::Lock::Timeout=600 update -q && return 0
	echo "WARNING: apt-get update reported errors; continuing with the indexes it did fetch"
}

apt_install() {
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
}

echo "musl-build: log $LOG"
if [ ${#missing[@]} -gt 0 ] || ! have_src; then
	have_src || run "apt: deb-src stanza" add_deb_src
	run "apt-get update" apt_update
fi
if [ ${#missing[@]} -gt 0 ]; then
	run "apt-get install (${#missing[@]} packages)" apt_install
fi
command -v musl-gcc > /dev/null || die "musl-gcc not found after installing musl-tools"

# ------------------------------------------------------------ 2. sources
fetch_libaio() {
	cd "$SRC"
	rm -rf libaio libaio-[0-9]* libaio_*
	apt-get source libaio                                  # orig + Debian patches
	local d
	d=$(find . -maxdepth 1 -type d -name 'libaio-[0-9]*' | head -n1)
	[ -n "$d" ] || { echo "apt-get source libaio left no libaio-* directory"; exit 1; }
	mv "$d" libaio
	echo "${d#./libaio-}" > .libaio.ok
}
fetch_libconfuse() {
	cd "$SRC"
	rm -rf libconfuse libconfuse-[0-9]* libconfuse_*
	local d orig
	# bookworm's libconfuse_3.3-3.debian.tar.xz has been seen to 404; apt
	# then fails but keeps the orig tarball, which builds fine without the
	# Debian patches.
	if ! apt-get source libconfuse; then
		orig=$(find . -maxdepth 1 -name 'libconfuse_*.orig.tar.*' | head -n1)
		[ -n "$orig" ] || { echo "apt-get source libconfuse failed and left no orig tarball"; exit 1; }
		echo "apt-get source libconfuse failed; unpacking $orig without Debian patches"
		rm -rf libconfuse-[0-9]*
		tar xf "$orig"
	fi
	d=$(find . -maxdepth 1 -type d -name 'libconfuse-[0-9]*' | head -n1)
	[ -n "$d" ] || { echo "no libconfuse-* directory after unpacking"; exit 1; }
	mv "$d" libconfuse
	# the orig tarball is a git snapshot: no configure, no lexer.c
	if [ ! -x libconfuse/configure ]; then (cd libconfuse && autoreconf -fi); fi
	echo "${d#./libconfuse-}" > .libconfuse.ok
}
[ -e "$SRC/.libaio.ok" ] || run "apt-get source libaio" fetch_libaio
[ -e "$SRC/.libconfuse.ok" ] || run "apt-get source libconfuse (+ autoreconf)" fetch_libconfuse

# ------------------------------------------------------------ 3. sysroot
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)
uapi_headers() {
	local d
	for d in /usr/include/linux /usr/include/asm-generic "/usr/include/$MA/asm"; do
		[ -d "$d" ] || { echo "missing kernel uapi header directory $d (package linux-libc-dev)"; exit 1; }
	done
	mkdir -p "$SYSROOT/include" "$SYSROOT/lib"
	# only these three: the glibc include directory must stay invisible
	ln -sfn /usr/include/linux "$SYSROOT/include/linux"
	ln -sfn /usr/include/asm-generic "$SYSROOT/include/asm-generic"
	ln -sfn "/usr/include/$MA/asm" "$SYSROOT/include/asm"
}
STAMP="recipe=$RECIPE libaio=$(cat "$SRC/.libaio.ok") libconfuse=$(cat "$SRC/.libconfuse.ok") musl=$(dpkg-query -W -f='${Version}' musl-dev) gcc=$(gcc -dumpfullversion) ma=$MA"
sysroot_ok() {
	[ -f "$SYSROOT/lib/libaio.a" ] && [ -f "$SYSROOT/lib/libconfuse.a" ] &&
	[ -f "$SYSROOT/lib/pkgconfig/libconfuse.pc" ] && [ -f "$SYSROOT/include/libaio.h" ] &&
	[ -f "$SYSROOT/include/confuse.h" ] && [ "$(cat "$SYSROOT/.stamp" 2>/dev/null)" = "$STAMP" ]
}
build_libaio() {
	rm -rf "$MUSL_CACHE/build/libaio"
	mkdir -p "$MUSL_CACHE/build"
	cp -a "$SRC/libaio" "$MUSL_CACHE/build/libaio"
	# AR/RANLIB on the command line: the Makefile's `AR ?= ar` never
	# overrides make's built-in default
	make -C "$MUSL_CACHE/build/libaio/src" -j"$JOBS" ENABLE_SHARED=0 \
		CC=musl-gcc AR=ar RANLIB=ranlib \
		CPPFLAGS="-isystem $SYSROOT/include" CFLAGS="-O2 -g -Wall -Wno-cpp" \
		prefix="$SYSROOT" install
}
build_libconfuse() {
	rm -rf "$MUSL_CACHE/build/libconfuse"
	mkdir -p "$MUSL_CACHE/build/libconfuse"
	cd "$MUSL_CACHE/build/libconfuse"
	"$SRC/libconfuse/configure" --prefix="$SYSROOT" \
		--disable-shared --enable-static --disable-nls --disable-examples \
		CC=musl-gcc CFLAGS="-O2 -g" CPPFLAGS="-isystem $SYSROOT/include"
	make -j"$JOBS" -C src install
	make install-pkgconfigDATA
	grep -q "^prefix=$SYSROOT\$" "$SYSROOT/lib/pkgconfig/libconfuse.pc"
}
# aoexd does not call libconfuse yet, so its link alone would not prove the
# sysroot: link a static program that uses both libraries
sysroot_linktest() {
	local d=$BUILD/sysroot-linktest
	mkdir -p "$d"
	cat > "$d/t.c" <<-'EOF'
	#include <libaio.h>
	#include <confuse.h>
	#include <linux/if_packet.h>
	#include <stdio.h>
	int main(void)
	{
		cfg_opt_t opts[] = { CFG_INT("n", 7, CFGF_NONE), CFG_END() };
		cfg_t *cfg = cfg_init(opts, 0);
		io_context_t ctx = 0;
		int r = io_setup(1, &ctx);
		if (r == 0)
			io_destroy(ctx);
		printf("cfg n=%ld io_setup=%d tpacket_v3=%d\n", cfg_getint(cfg, "n"), r, (int)TPACKET_V3);
		cfg_free(cfg);
		return 0;
	}
	EOF
	# shellcheck disable=SC2046
	musl-gcc -static -Wall -Werror -isystem "$SYSROOT/include" -o "$d/t" "$d/t.c" \
		-L"$SYSROOT/lib" $(pkg-config --static --libs libconfuse) -laio
	file "$d/t" | grep -q 'statically linked'
	"$d/t"
}
run "kernel uapi headers -> sysroot" uapi_headers
if sysroot_ok; then
	echo "  sysroot $SYSROOT is up to date (cached)"
else
	rm -f "$SYSROOT/.stamp"
	run "libaio static (musl-gcc)" build_libaio
	run "libconfuse static (musl-gcc)" build_libconfuse
	echo "$STAMP" > "$SYSROOT/.stamp"
fi
run "sysroot link test (libaio + libconfuse)" sysroot_linktest

# ------------------------------------------------------------ 4. aoexd
[ ! -e "$TOP/config.status" ] || die "$TOP is configured in-tree (config.status); run 'make distclean' there first, out-of-tree builds need a clean source tree"
if [ ! -x "$TOP/configure" ]; then
	run "autoreconf -fi (no ./configure in $TOP)" bash -c "cd '$TOP' && autoreconf -fi"
fi
configure_aoexd() {
	cd "$BUILD"
	"$TOP/configure" CC=musl-gcc --enable-werror --enable-static-binary --without-blkid \
		PKG_CONFIG_LIBDIR="$SYSROOT/lib/pkgconfig" PKG_CONFIG_PATH= \
		CPPFLAGS="-isystem $SYSROOT/include" LDFLAGS="-L$SYSROOT/lib"
}
run "aoexd configure (CC=musl-gcc, -Werror, static)" configure_aoexd
run "aoexd make" make -C "$BUILD" -j"$JOBS"
run "aoexd make check TESTS=tests/unit/t_proto" make -C "$BUILD" check TESTS=tests/unit/t_proto
static_check() {
	local b out
	for b in aoexd aoex; do
		out=$(file "$BUILD/$b")
		echo "$out"
		case $out in
		*"statically linked"* | *"static-pie linked"*) ;;
		*) echo "$b is not statically linked"; exit 1 ;;
		esac
	done
}
run "file: aoexd and aoex statically linked" static_check

size() { stat -c %s "$1"; }
stripped() { strip -o "$BUILD/.stripped" "$1" && stat -c %s "$BUILD/.stripped" && rm -f "$BUILD/.stripped"; }
awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "  %-48s %6.1f s\n", "TOTAL", b-a}'
printf 'musl-build: OK  static musl: aoexd %s bytes (%s stripped), aoex %s bytes (%s stripped)\n' \
	"$(size "$BUILD/aoexd")" "$(stripped "$BUILD/aoexd")" "$(size "$BUILD/aoex")" "$(stripped "$BUILD/aoex")"
grep -E '^# (TOTAL|PASS|FAIL|ERROR)' "$BUILD/test-suite.log" 2>/dev/null | tr '\n' ' ' | sed 's/^/  t_proto: /; s/ *$/\n/' || true
exit 0
