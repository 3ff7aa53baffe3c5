#!/usr/bin/env bats
# crash.bats - the daemon dies or is signalled in the middle of a write
# stream: nothing it acknowledged may be lost.  aoex logs every
# acknowledged frame (write --log-acks: "LBA COUNT" lines); after the
# crash or exit, each logged range must hold the written bytes, on the
# backing file and, after a restart, through the target.
#
# engine.bats already kills write-through with whole 1 MiB writes as the
# unit; these cases check every single acknowledged frame, and add SIGTERM
# and SIGHUP under load in both write policies.

load helpers

T=1.2
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r
ACKS=$BATS_TEST_TMPDIR/acks

setup() {
	aoexbats_setup
	DIO_DIR=
	# O_DIRECT needs a real file system, and the aio path is the one to test
	if [ "$(stat -f -c %T "$BATS_TEST_TMPDIR")" = tmpfs ]; then
		DIO_DIR=$(mktemp -d /var/tmp/aoexbats-crash.XXXXXX)
		DISK=$DIO_DIR/disk.img
		REF=$DIO_DIR/disk.ref
	fi
}

teardown() {
	aoexbats_teardown
	if [ -n "${DIO_DIR:-}" ]; then rm -rf "$DIO_DIR"; fi
}

# writer LBA FILE: aoex write in the background, acks to $ACKS; sets WPID
# (with the aoex options in WRITER_OPTS, if any)
writer() {
	rm -f "$ACKS"
	ip netns exec "$NS" "$AOEX" -i "$IIF" -t 200 -r 2 -w 16 ${WRITER_OPTS[@]+"${WRITER_OPTS[@]}"} \
		write $T "$1" -f "$2" \
		--log-acks "$ACKS" >"$BATS_TEST_TMPDIR/writer.out" 2>&1 3>&- &
	WPID=$!
	BG_PIDS+=("$WPID")
}

# writer_underway: until the writer has had frames acknowledged, and is
# still writing
writer_underway() {
	poll_until 10 acks_at_least 1 || fail "nothing acknowledged within 10 s: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	pid_alive "$WPID" || fail "the writer finished before the signal: $(cat "$BATS_TEST_TMPDIR/writer.out")"
}

# assert_acked_via_target SECTORS BASE FILE: the same, read through the target
assert_acked_via_target() {
	aoex -w 16 read $T 0 "$1" -o "$R"
	assert_acked "$2" "$3" "$R"
}

@test "kill -9 during a write stream (write-through): every acknowledged frame on disk" {
	make_disk 131072
	start_aoexd
	random_file "$W" 130000
	writer 100 "$W"
	# at a random point of the stream: after 1 to 8 blocks of the ack log
	poll_until 20 acks_at_least $(((RANDOM % 8 + 1) * 4096)) ||
		fail "the stream did not get going: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	kill_daemon "$AOEXD_PID" KILL
	wait "$WPID" || true
	assert_acked 100 "$W" "$DISK"
	[ "$ACKED" -lt 130000 ] || skip "the whole stream finished before the kill"
	# and the restarted target serves exactly that
	start_aoexd
	assert_acked_via_target 131072 100 "$W"
	echo "# $ACKED of 130000 sectors acknowledged before kill -9, all on disk" >&3
}

@test "kill -9 with coalesced write acks (write-through): every acknowledged frame on disk" {
	make_disk 131072
	start_aoexd --control "$CTL_SOCK"
	random_file "$W" 130000
	WRITER_OPTS=(-w 32 -x aoexd_coalesced_ack)
	writer 100 "$W"
	poll_until 20 acks_at_least $(((RANDOM % 8 + 1) * 4096)) ||
		fail "the stream did not get going: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	local coalesced
	coalesced=$(live_stat e1.2 wack_frames)
	[ "${coalesced:-0}" -gt 0 ] || fail "no coalesced ack frame before the kill"

	kill_daemon "$AOEXD_PID" KILL
	wait "$WPID" || true
	assert_acked 100 "$W" "$DISK"
	[ "$ACKED" -lt 130000 ] || skip "the whole stream finished before the kill"
	echo "# $ACKED of 130000 sectors acknowledged (${coalesced:-?} coalesced frames) before kill -9, all on disk" >&3
}

# signal_under_load SIG POLICY...: SIG in the middle of a 64 MiB stream
signal_under_load() {
	local sig=$1
	shift
	make_disk 131072
	start_aoexd "$@"
	random_file "$W" 131072
	writer 0 "$W"
	writer_underway
	kill -"$sig" "$AOEXD_PID"
}

@test "SIGTERM under load, write-through: exits 0, nothing acknowledged lost" {
	signal_under_load TERM
	wait_exit "$AOEXD_PID" 10 || fail "aoexd did not exit after SIGTERM"
	local rc=0
	wait "$AOEXD_PID" || rc=$?
	DAEMON_PIDS=()
	[ "$rc" -eq 0 ] || fail "aoexd exited $rc"
	wait "$WPID" || true
	assert_acked 0 "$W" "$DISK"
	echo "# $ACKED sectors acknowledged before SIGTERM" >&3
}

@test "SIGTERM under load, write-back: buffered data written back, nothing acknowledged lost" {
	signal_under_load TERM --write-back --max-age 60000
	wait_exit "$AOEXD_PID" 10 || fail "aoexd did not exit after SIGTERM"
	local rc=0
	wait "$AOEXD_PID" || rc=$?
	DAEMON_PIDS=()
	[ "$rc" -eq 0 ] || fail "aoexd exited $rc"
	wait "$WPID" || true
	assert_acked 0 "$W" "$DISK"
	assert_counter wb_errors 0
	echo "# $ACKED sectors acknowledged before SIGTERM (write-back)" >&3
}

@test "SIGHUP under load, write-through: the stream completes, all on disk" {
	signal_under_load HUP
	# the second SIGHUP once the first is handled, the stream still going
	poll_until 5 grep -q 'notice: SIGHUP' "$LOG" || fail "the first SIGHUP was not handled"
	kill -HUP "$AOEXD_PID"
	wait "$WPID" || fail "the writer failed across SIGHUP: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	assert_acked 0 "$W" "$DISK"
	[ "$ACKED" -eq 131072 ] || fail "only $ACKED of 131072 sectors acknowledged"
	stop_aoexd
	sectors "$DISK" 0 131072 | cmp - "$W"
}

@test "SIGHUP under load, write-back: the stream completes; kill -9 after HUP+FLUSH loses nothing" {
	signal_under_load HUP --write-back --max-age 60000
	wait "$WPID" || fail "the writer failed across SIGHUP: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	[ -s "$ACKS" ] || fail "nothing acknowledged"
	run aoex flush $T
	assert_success
	kill_daemon "$AOEXD_PID" KILL
	assert_acked 0 "$W" "$DISK"
	[ "$ACKED" -eq 131072 ] || fail "only $ACKED of 131072 sectors acknowledged"
}
