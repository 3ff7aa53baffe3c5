#!/usr/bin/env bats
# vblade.bats - the bundled initiator against the reference target, Debian's
# vblade: discovery, IDENTIFY, round trips checked against the backing
# file, Query Config.  This validates aoex itself, the yardstick of every
# other suite.  Then one aoex script runs against vblade and against aoexd
# on identical copies of a disk, and what a user can observe must agree.

load helpers

T=1.2
VBLADE=${VBLADE:-/usr/sbin/vblade}
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r

# start_vblade [OPTION...]: vblade OPTION... $SHELF $SLOT $TIF $DISK, wait
# until it answers a Query Config read
start_vblade() {
	local i
	require_net
	[ -x "$VBLADE" ] || skip "vblade is not installed ($VBLADE)"
	VLOG=$BATS_TEST_TMPDIR/vblade.log
	ip netns exec "$NS" "$VBLADE" "$@" "$SHELF" "$SLOT" "$TIF" "$DISK" >"$VLOG" 2>&1 3>&- &
	VBLADE_PID=$!
	DAEMON_PIDS+=("$VBLADE_PID")
	for ((i = 0; i < 50; i++)); do
		pid_alive "$VBLADE_PID" || { cat "$VLOG" >&2; fail "vblade exited"; return 1; }
		aoex -t 100 -r 0 config $T read >/dev/null 2>&1 && return 0
	done
	cat "$VLOG" >&2
	fail "vblade does not answer"
}

stop_vblade() { kill_daemon "$VBLADE_PID" TERM; }

@test "vblade: discover finds it with the documented fields" {
	make_disk 2048
	start_vblade
	run aoex discover -W 200
	assert_success
	assert_output --regexp "^e1\\.2 mac=$TMAC bufcnt=16 fw=0x[0-9a-f]{4} sectors=2 ver=1 config=\"\"\$"
	stop_vblade
	start_vblade -b 40
	run aoex discover -W 200
	assert_output --regexp " bufcnt=40 "
}

@test "vblade: identify reports the file size and LBA48" {
	make_disk 3000
	start_vblade
	run aoex identify $T
	assert_success
	assert_line "sectors=3000"
	assert_line "lba48=1"
	assert_line --regexp '^model=".+"$'
}

@test "vblade: write/read round trips match the backing file" {
	make_disk 4096
	start_vblade
	random_file "$W" 64
	aoex write $T 100 -f "$W"
	ref_put 100 "$W"
	assert_disk_is_ref
	aoex read $T 100 64 -o "$R"
	cmp "$W" "$R"
	# LBA28, odd count, last sector
	random_file "$W" 3
	aoex write $T 4093 -f "$W" --lba28
	ref_put 4093 "$W"
	assert_disk_is_ref
	aoex read $T 4093 3 -o "$R" --lba28
	cmp "$W" "$R"
	# the whole disk, 16 frames outstanding
	aoex -w 16 read $T 0 4096 -o "$R"
	cmp "$DISK" "$R"
	# past the end
	run aoex read $T 4096 1 -o "$R"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4096"
}

@test "vblade: config set, read, test and set-when-different" {
	make_disk 64
	start_vblade
	run aoex config $T set "hello"
	assert_success
	assert_output --regexp 'config="hello"$'
	run aoex config $T read
	assert_output --regexp 'config="hello"$'
	run aoex discover -W 200
	assert_output --regexp 'config="hello"$'
	run aoex config $T test "hello"
	assert_success
	run aoex "${NOREPLY[@]}" config $T test "hellx"
	assert_failure 3
	run aoex config $T prefix "he"
	assert_success
	run aoex config $T set "other"
	assert_failure 1
	assert_output "aoe_error=4 (config string present)"
}

@test "vblade: reservation refuses another initiator" {
	make_disk 64
	start_vblade
	run aoex reserve $T set "$IMAC"
	assert_success
	assert_output "$IMAC"
	run aoex -m "$MAC_B" read $T 0 1 -o "$R"
	assert_failure 1
	assert_output "aoe_error=6 (target reserved)"
	run aoex reserve $T release
	assert_success
	run aoex -m "$MAC_B" read $T 0 1 -o "$R"
	assert_success
}

# the_script OUTDIR: one aoex session a user might run; everything a user
# sees (normalized where targets may legitimately differ) goes to OUTDIR
the_script() {
	local o=$1
	mkdir -p "$o"
	{
		run aoex discover -W 200
		echo "discover: $status"
		# the firmware version is the target's own
		echo "$output" | sed 's/ fw=0x[0-9a-f]* / fw=X /'
		run aoex identify $T
		echo "identify: $status"
		echo "$output" | grep -E '^(sectors|lba48)='
		aoex write $T 10 -f "$W.a" && echo "write a: ok"
		aoex write $T 500 -f "$W.b" --lba28 && echo "write b: ok"
		aoex -w 8 read $T 0 1024 -o "$o/data" && echo "read: ok"
		run aoex read $T 1024 1 -o "$o/x"
		echo "read past end: $status $output"
		run aoex ata $T 0x24 --aflags 0x40 --lba 1023 --count 2
		echo "read across end: $status ${output% len=*}"
		run aoex ata $T 0x24 --aflags 0x40 --count 3
		echo "3 sectors: $status $(echo "$output" | grep aoe_error)"
		run aoex ata $T 0xe5
		echo "check power: $status $output"
		run aoex config $T set "compare"
		echo "config set: $status ${output#*config=}"
		run aoex config $T set "again"
		echo "config set again: $status $output"
		run aoex reserve $T set "$IMAC"
		echo "reserve: $status $output"
		run aoex -m "$MAC_B" read $T 0 1 -o "$o/x"
		echo "reserved read: $status $output"
		run aoex reserve $T release
		echo "release: $status $output"
	} >"$o/transcript" 2>&1
	sha "$DISK" >"$o/disk.sha"
}

@test "aoexd and vblade: the same aoex session gives the same results" {
	make_disk 1024
	[ -x "$VBLADE" ] || skip "vblade is not installed ($VBLADE)"
	random_file "$W.a" 40
	random_file "$W.b" 5
	cp "$DISK" "$BATS_TEST_TMPDIR/orig"
	ref_put 10 "$W.a"
	ref_put 500 "$W.b"

	start_vblade
	the_script "$BATS_TEST_TMPDIR/vblade"
	stop_vblade
	cmp "$DISK" "$REF" || fail "vblade's disk is not what was written"

	cp "$BATS_TEST_TMPDIR/orig" "$DISK"
	start_aoexd -b 16	# vblade's default buffer count (aoexd's is 64)
	the_script "$BATS_TEST_TMPDIR/aoexd"
	stop_aoexd
	cmp "$DISK" "$REF" || fail "aoexd's disk is not what was written"

	echo "# vblade:"; sed 's/^/#   /' "$BATS_TEST_TMPDIR/vblade/transcript"
	diff -u "$BATS_TEST_TMPDIR/vblade/transcript" "$BATS_TEST_TMPDIR/aoexd/transcript"
	cmp "$BATS_TEST_TMPDIR/vblade/data" "$BATS_TEST_TMPDIR/aoexd/data"
	cmp "$BATS_TEST_TMPDIR/aoexd/data" "$REF"
	# and the transcript says what it should
	run cat "$BATS_TEST_TMPDIR/aoexd/transcript"
	assert_line "discover: 0"
	assert_line "e1.2 mac=$TMAC bufcnt=16 fw=X sectors=2 ver=1 config=\"\""
	assert_line "sectors=1024"
	assert_line "read past end: 1 status=0x41 error=0x10 lba=1024"
	assert_line "read across end: 1 status=0x41 error=0x10 count=2 lba=1023"
	assert_line "3 sectors: 1 aoe_error=2 (bad argument)"
	assert_line "config set again: 1 aoe_error=4 (config string present)"
	assert_line "reserved read: 1 aoe_error=6 (target reserved)"
}
