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
		if sum=$(tap_summary "$log") && [ $rc = 0 ]; then
			ok "$arch $n under $how: $sum"
		else
			notok "$arch $n under $how: $sum, exit $rc (see $log)"
		fi
	done
}

# abi_checks ARCH: what the ELF headers promise the 32-bit ARM boxes.  armel
# is ARMv5TE soft-float (the merged attributes also say Thumb-2: that is
# musl's atomics.lo, which picks the v6/v7 or the kernel-helper version at
# run time; -cpu arm926 runs prove the rest).  armhf is the hard-float ABI.
abi_checks() {
	local arch=$1 p h a
	target_vars "$arch"
	case $arch in armel | armhf) ;; *) return 0 ;; esac
	for p in "$OUT/$arch"/*; do
		h=$("$GNU-readelf" -h "$p") a=$("$GNU-readelf" -A "$p")
		case $arch in
		armel)
			if grep -q 'soft-float ABI' <<< "$h" && grep -q 'Tag_CPU_arch: v5TE' <<< "$a"; then
				ok "armel ${p##*/}: ELF says ARMv5TE, soft-float ABI"
			else
				notok "armel ${p##*/}: not ARMv5TE soft-float: $(grep Flags <<< "$h") $(grep Tag_CPU_arch: <<< "$a")"
			fi ;;
		armhf)
			if grep -q 'hard-float ABI' <<< "$h"; then
				ok "armhf ${p##*/}: ELF says hard-float ABI"
			else
				notok "armhf ${p##*/}: not hard-float: $(grep Flags <<< "$h")"
			fi ;;
		esac
	done
}

# user_daemon_checks ARCH: aoexd and aoex of the build under qemu-user, in a
# private network namespace with a veth pair.  qemu-user refuses io_setup
# (ENOSYS) and every SOL_PACKET option, so this is the path of an old or
# stripped-down NAS kernel: aoexd must say so, fall back to
# recvmmsg/sendmmsg and synchronous I/O, and still serve verified I/O.
uq_aoex() {
	# shellcheck disable=SC2086  # RUNNER is a command with options
	ip netns exec "$UQ_NS" $RUNNER "$OUT/$UQ_ARCH/aoex" -i "aoI$UQ_ID" "$@"
}
uq_serving() {
	grep -q 'serving e1.2 .*engine sync' "$UQ_D/aoexd.log" &&
	grep -q ', recvmmsg/sendmmsg' "$UQ_D/aoexd.log" &&
	grep -q 'warning: Linux AIO is not usable (io_setup(.*): Function not implemented)' "$UQ_D/aoexd.log"
}
uq_roundtrip() {
	uq_aoex -w 8 write 1.2 100 -f "$UQ_D/w" && uq_aoex read 1.2 100 2048 -o "$UQ_D/r" &&
	cmp "$UQ_D/w" "$UQ_D/r" &&
	dd if="$UQ_D/disk.img" bs=512 skip=100 count=2048 status=none | cmp - "$UQ_D/w"
}
uq_stop() {
	local rc=0
	kill -TERM "$1" && wait "$1" || rc=$?
	[ $rc = 0 ] && grep -q 'notice: stats e1.2 reads=' "$UQ_D/aoexd.log"
}
user_daemon_checks() {
	local pid i t=aoT$$ n=aoI$$
	UQ_ARCH=$1 UQ_D=$CROSS_CACHE/$1/qemu-user UQ_NS=aoexd-cross-$$ UQ_ID=$$
	target_vars "$UQ_ARCH"
	[ -n "$RUNNER" ] || return 0
	rm -rf "$UQ_D"; mkdir -p "$UQ_D"
	ip netns del "$UQ_NS" 2>/dev/null || true
	if ! { ip netns add "$UQ_NS" &&
	       ip -n "$UQ_NS" link add "$t" address 02:00:00:00:0a:01 type veth peer name "$n" address 02:00:00:00:0a:02 &&
	       ip -n "$UQ_NS" link set lo up && ip -n "$UQ_NS" link set "$t" up && ip -n "$UQ_NS" link set "$n" up; }; then
		notok "$UQ_ARCH aoexd under qemu-user: cannot set up network namespace $UQ_NS"
		ip netns del "$UQ_NS" 2>/dev/null || true
		return 0
	fi
	head -c 8M /dev/urandom > "$UQ_D/disk.img"
	head -c 1M /dev/urandom > "$UQ_D/w"
	# shellcheck disable=SC2086
	ip netns exec "$UQ_NS" $RUNNER "$OUT/$UQ_ARCH/aoexd" 1 2 "$t" "$UQ_D/disk.img" > "$UQ_D/aoexd.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -qs 'notice: serving e1.2' "$UQ_D/aoexd.log" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	check "$UQ_ARCH aoexd under qemu-user: serves on the fallbacks (recvmmsg/sendmmsg, engine sync, AIO warning)" uq_serving
	check "$UQ_ARCH aoexd + aoex under qemu-user: 1 MiB written, read back, found on disk" uq_roundtrip
	check "$UQ_ARCH aoexd under qemu-user: SIGTERM, exit 0 with stats" uq_stop $pid
	cat "$UQ_D/aoexd.log" >> "$LOG"
	ip netns del "$UQ_NS"
	rm -rf "$UQ_D"
}

# be_checks: proto/ and its unit tests, static glibc for s390x (big-endian,
# 64-bit), run under qemu-s390x-static.  The wire code must not assume the
# host's byte order; x86 and ARM are all little-endian.
BE_GNU=s390x-linux-gnu
be_checks() {
	local d=$CROSS_CACHE/be t src rc sum log cfg
	rm -rf "$d"; mkdir -p "$d"
	cfg=$(find "$CROSS_CACHE" -mindepth 3 -maxdepth 3 -path '*/aoexd/config.h' | head -n1)
	if [ -z "$cfg" ] || ! command -v "$BE_GNU-gcc" > /dev/null; then
		notok "big-endian $BE_GNU proto tests: no config.h or no $BE_GNU-gcc"
		return 0
	fi
	cp "$cfg" "$d/config.h"
	for t in t_proto t_ext t_crc t_wack; do
		src=$TOP/tests/unit/$t.c log=$CROSS_CACHE/log/unit-be-$t.log
		[ -f "$src" ] || continue
		rc=0
		{
			"$BE_GNU-gcc" -static -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
				-I"$d" -I"$TOP" -I"$TOP/proto" -I"$TOP/src" -I"$TOP/tests/unit" \
				-o "$d/$t" "$src" "$TOP"/proto/*.c &&
			file "$d/$t" | grep -q 'MSB' &&
			timeout 300 "qemu-s390x-static" "$d/$t"
		} > "$log" 2>&1 || rc=$?
		if sum=$(tap_summary "$log") && [ $rc = 0 ]; then
			ok "big-endian $BE_GNU $t under qemu-s390x-static: $sum"
		else
			notok "big-endian $BE_GNU $t: $sum, exit $rc (see $log)"
		fi
	done
}

# vm_checks ARCH: the static programs of cross/out/ARCH on a Debian ARM
# kernel under qemu-system (armel/armhf on the armmp kernel, arm64 on the
# arm64 one); cross/vm-test.sh runs inside and prints the ok lines.
vm_checks() {
	local arch=$1 kind=armhf log rc=0 lines t0
	[ "$arch" = arm64 ] && kind=arm64
	[ "$arch" = x86_64 ] && { notok "vm $arch: only ARM builds run under qemu-system"; return 0; }
	log=$CROSS_CACHE/log/vm-$arch.log
	t0=$(date +%s.%N)
	"$HERE/vm.sh" -k "$kind" -s "$HERE/vm-test.sh" "$OUT/$arch"/* > "$log" 2>&1 || rc=$?
	echo "# [$arch vm] boot + tests: $(elapsed "$t0") s"
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
