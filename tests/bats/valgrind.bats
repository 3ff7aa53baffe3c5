#!/usr/bin/env bats
# valgrind.bats - the daemon and the initiator under valgrind memcheck: a
# plain (non-sanitizer) build serves a file in the test namespace, aoex
# writes and reads it back (also under memcheck), the bytes are checked,
# SIGTERM ends the daemon with status 0, and memcheck must report zero
# errors and no definitely lost block in either program.
#
# Needs AOEXD_VALGRIND and AOEX_VALGRIND: aoexd and aoex of a build without
# sanitizers (valgrind cannot run ASan binaries); tests/run-all builds one
# with gcc -O1 -g.  Without them every case skips.

load helpers

T=1.2
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r

# wrap PROG BINARY: a script that runs BINARY under memcheck, each process
# logging to $BATS_TEST_TMPDIR/vg.PROG.PID
wrap() {
	cat >"$BATS_TEST_TMPDIR/$1-vg" <<-EOF
	#!/bin/sh
	exec valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
		--log-file="$BATS_TEST_TMPDIR/vg.$1.%p" "$2" "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/$1-vg"
}

setup() {
	if [ -z "${AOEXD_VALGRIND:-}" ] || [ -z "${AOEX_VALGRIND:-}" ] || ! command -v valgrind >/dev/null; then
		skip "needs valgrind, AOEXD_VALGRIND and AOEX_VALGRIND (a build without sanitizers)"
	fi
	wrap aoexd "$AOEXD_VALGRIND"
	wrap aoex "$AOEX_VALGRIND"
	AOEXD=$BATS_TEST_TMPDIR/aoexd-vg
	AOEX=$BATS_TEST_TMPDIR/aoex-vg
	aoexbats_setup
}

# assert_memcheck_clean PROG [MIN]: every memcheck log of PROG (at least MIN
# of them) says 0 errors and nothing definitely lost
assert_memcheck_clean() {
	local f n=0
	for f in "$BATS_TEST_TMPDIR"/vg."$1".*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		grep -q 'ERROR SUMMARY: 0 errors' "$f" || { cat "$f" >&2; fail "memcheck errors in $1 ($f)"; return 1; }
		if grep -q 'definitely lost: [1-9]' "$f"; then
			cat "$f" >&2
			fail "$1 leaks ($f)"
			return 1
		fi
	done
	[ "$n" -ge "${2:-1}" ] || fail "$n memcheck logs of $1, want at least ${2:-1}"
}

# round_trip LBA SECTORS [AOEX-OPTION...]: write random data, read it back,
# FLUSH, compare with what was sent and with the backing file
round_trip() {
	local lba=$1 n=$2
	shift 2
	random_file "$W" "$n"
	aoex "$@" write $T "$lba" -f "$W"
	aoex "$@" read $T "$lba" "$n" -o "$R"
	cmp "$W" "$R" || fail "read back differs from what was written"
	# a write-back device holds it in a buffer until FLUSH (or max-age)
	aoex "$@" flush $T
	ref_put "$lba" "$W"
	assert_disk_is_ref
}

@test "memcheck: ring path and aio engine, write/read round trip, clean SIGTERM" {
	require_net
	make_disk 2048
	start_aoexd
	grep -qF "rx-ring(v2)/tx-ring(v2)" "$LOG" || fail "not on the packet rings: $(cat "$LOG")"
	round_trip 0 64
	round_trip 1000 3
	stop_aoexd
	assert_counter io_errors 0
	assert_counter ata_errors 0
	assert_counter_ge writes 34
	assert_memcheck_clean aoexd 1
	assert_memcheck_clean aoex 4
}

@test "memcheck: recvmmsg/sendmmsg fallback, sync engine, extensions and coalesced reads" {
	require_net
	make_disk 2048
	EXPECT_PATH="recvmmsg/sendmmsg" start_aoexd --no-rx-ring --no-tx-ring --engine sync
	round_trip 8 40 -x tag_inc_le
	aoex read $T 100 32 -o "$R" --coalesce 4
	sectors "$DISK" 100 32 | cmp - "$R" || fail "coalesced read differs from the file"
	stop_aoexd
	assert_counter_ge sub_reads 1
	assert_memcheck_clean aoexd 1
	assert_memcheck_clean aoex 3
}

@test "memcheck: aoexd -c with two devices and a write-back cache, SIGHUP with a broken then a good file" {
	require_net
	make_disk 2048
	local conf=$BATS_TEST_TMPDIR/aoexd.conf i
	cat >"$conf" <<-EOF
	interfaces = {"$TIF"}
	device d {
		path = "$DISK"
		shelf = 1
		slot = 2
		write-policy = "write-back"
		read-ahead = "64K"
	}
	device n {
		path = "null:1M"
		shelf = 1
		slot = 3
	}
	EOF
	cp "$conf" "$conf.good"
	start_aoexd_argv -c "$conf"
	round_trip 16 48
	echo 'device e { frobnicate = 1 }' >>"$conf"
	kill -HUP "$AOEXD_PID"
	for ((i = 0; i < 500; i++)); do grep -q "SIGHUP: $conf:" "$LOG" && break; sleep 0.01; done
	grep -q "SIGHUP: $conf:" "$LOG" || fail "no reload error logged"
	cp "$conf.good" "$conf"
	kill -HUP "$AOEXD_PID"
	for ((i = 0; i < 500; i++)); do grep -q "configuration reloaded" "$LOG" && break; sleep 0.01; done
	grep -q "configuration reloaded" "$LOG" || fail "no reload logged"
	round_trip 500 2
	stop_aoexd
	assert_disk_is_ref
	assert_memcheck_clean aoexd 1
	assert_memcheck_clean aoex 4
}

@test "memcheck: a log with an error makes the check fail (the check can fail)" {
	printf '==1== ERROR SUMMARY: 1 errors from 1 contexts\n' >"$BATS_TEST_TMPDIR/vg.fake.1"
	run assert_memcheck_clean fake
	[ "$status" -ne 0 ]
	printf '==1==    definitely lost: 16 bytes in 1 blocks\n==1== ERROR SUMMARY: 0 errors from 0 contexts\n' >"$BATS_TEST_TMPDIR/vg.fake.1"
	run assert_memcheck_clean fake
	[ "$status" -ne 0 ]
	run assert_memcheck_clean nothing
	[ "$status" -ne 0 ]
}
