# cross/check.sh - the tests of `cross/build-all --check` (sourced by it):
# unit tests per build, big-endian proto tests, the daemon on an ARM kernel.
# Each prints "ok - ..." or "not ok - ..." lines (lib.sh).
# shellcheck shell=bash

# tap_summary LOG: "P/N" from a TAP log, and status 0 only when the plan was
# met and nothing failed
tap_summary() {
	local plan n pass
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$1" | head -n1)
	n=$(grep -cE '^(not )?ok ' "$1" || true)
	pass=$(grep -cE '^ok ' "$1" || true)
	echo "$pass/${plan:-?}"
	[ -n "$plan" ] && [ "$plan" = "$n" ] && [ "$pass" = "$n" ] && [ "$n" -gt 0 ]
}

# unit_checks ARCH: every tests/unit/ program of the build, through the
# target's runner (qemu-user for ARM).  qemu-user has no Linux AIO and no
# SOL_PACKET options, so only the pure parts (proto, conf) run here.
unit_checks() {
	local arch=$1 b=$CROSS_CACHE/$1/aoexd t n log rc sum how
	target_vars "$arch"
	how=${RUNNER:-native}
	for t in $(make_var "$b" check_PROGRAMS); do
		case $t in tests/unit/*) ;; *) continue ;; esac
		n=${t##*/} log=$CROSS_CACHE/log/unit-$arch-$n.log
		rc=0
		# shellcheck disable=SC2086  # RUNNER is a command with options
		(cd "$b" && timeout 300 $RUNNER "./$t") > "$log" 2>&1 || rc=$?
		sum=$(tap_summary "$log") && [ $rc = 0 ] &&
			ok "$arch $n under $how: $sum" ||
			notok "$arch $n under $how: $sum, exit $rc (see $log)"
	done
}

# be_checks: proto/ and its unit tests, static glibc for s390x (big-endian,
# 64-bit), run under qemu-s390x-static.  The wire code must not assume the
# host's byte order; x86 and ARM are all little-endian.
BE_GNU=s390x-linux-gnu
be_checks() {
	local d=$CROSS_CACHE/be t src rc sum log cfg
	rm -rf "$d"; mkdir -p "$d"
	cfg=$(ls "$CROSS_CACHE"/*/aoexd/config.h 2>/dev/null | head -n1)
	if [ -z "$cfg" ] || ! command -v "$BE_GNU-gcc" > /dev/null; then
		notok "big-endian $BE_GNU proto tests: no config.h or no $BE_GNU-gcc"
		return 0
	fi
	cp "$cfg" "$d/config.h"
	for t in t_proto t_ext; do
		src=$TOP/tests/unit/$t.c log=$CROSS_CACHE/log/unit-be-$t.log
		[ -f "$src" ] || continue
		rc=0
		{
			"$BE_GNU-gcc" -static -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
				-I"$d" -I"$TOP/proto" -I"$TOP/src" -I"$TOP/tests/unit" \
				-o "$d/$t" "$src" "$TOP"/proto/*.c &&
			file "$d/$t" | grep -q 'MSB' &&
			timeout 300 "qemu-s390x-static" "$d/$t"
		} > "$log" 2>&1 || rc=$?
		sum=$(tap_summary "$log") && [ $rc = 0 ] &&
			ok "big-endian $BE_GNU $t under qemu-s390x-static: $sum" ||
			notok "big-endian $BE_GNU $t: $sum, exit $rc (see $log)"
	done
}

# vm_checks ARCH: the static programs of cross/out/ARCH on a Debian ARM
# kernel under qemu-system (armel/armhf on the armmp kernel, arm64 on the
# arm64 one); cross/vm-test.sh runs inside and prints the ok lines.
vm_checks() {
	local arch=$1 kind=armhf log rc=0 lines
	[ "$arch" = arm64 ] && kind=arm64
	[ "$arch" = x86_64 ] && { notok "vm $arch: only ARM builds run under qemu-system"; return 0; }
	log=$CROSS_CACHE/log/vm-$arch.log
	"$HERE/vm.sh" -k "$kind" -s "$HERE/vm-test.sh" "$OUT/$arch"/* > "$log" 2>&1 || rc=$?
	lines=$(grep -E '^(not )?ok - ' "$log" || true)
	if [ -n "$lines" ]; then
		while IFS= read -r l; do
			case $l in
			"ok - "*) ok "$arch on a $kind kernel: ${l#ok - }" ;;
			*) notok "$arch on a $kind kernel: ${l#not ok - } (see $log)" ;;
			esac
		done <<< "$lines"
	fi
	grep '^# ' "$log" | sed "s/^# /# [$arch vm] /" || true
	[ $rc = 0 ] || notok "$arch on a $kind kernel: VM exit $rc (see $log)"
}
