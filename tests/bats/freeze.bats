#!/usr/bin/env bats
# freeze.bats - aoexctl freeze and thaw: a consistent point-in-time image of
# a live export.  While frozen the backing file does not change by a byte
# (compared with a copy made at the freeze) and reads return what was
# written since; a thaw merges the shadow back under load and the image
# ends equal to the model; kill -9 while frozen and while merging loses
# nothing acknowledged (aoex --log-acks) and a restart goes on; a full
# shadow (tiny tmpfs, --max-size) fails writes with an ATA error and a log
# line, never touching the base.

load helpers

T=1.2
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r
ACKS=$BATS_TEST_TMPDIR/acks
STATE=$BATS_TEST_TMPDIR/state
SH=$BATS_TEST_TMPDIR/shadow
PRE=$BATS_TEST_TMPDIR/pre.img

setup() {
	aoexbats_setup
	SMALL_FS=
}

teardown() {
	if [ -n "${SMALL_FS:-}" ]; then umount -l "$SMALL_FS" 2>/dev/null || true; fi
	aoexbats_teardown
}

ctl() { "$TOP_BUILDDIR/aoexctl" -s "$CTL_SOCK" "$@"; }
start() { start_aoexd --state-dir "$STATE" --control "$CTL_SOCK" "$@"; }

# field KEY: a field of the device's status line ("" when absent)
field() { ctl status | grep '^device ' | grep -oE " $1=[^ ]+" | cut -d= -f2; }
not_frozen() { [ -z "$(field freeze)" ]; }

# put LBA SECTORS NAME: write random data at LBA through aoex, into the model too
put() {
	random_file "$W.$3" "$2"
	aoex -w 16 write $T "$1" -f "$W.$3"
	ref_put "$1" "$W.$3"
}

# writer LBA FILE [AOEX OPTION...]: aoex write in the background, acks to
# $ACKS, sets WPID
writer() {
	local lba=$1 f=$2
	shift 2
	rm -f "$ACKS"
	ip netns exec "$NS" "$AOEX" -i "$IIF" -t 200 -r 5 -w 16 "$@" write $T "$lba" -f "$f" \
		--log-acks "$ACKS" >"$BATS_TEST_TMPDIR/writer.out" 2>&1 3>&- &
	WPID=$!
	BG_PIDS+=("$WPID")
}
@test "freeze: the base stays byte-identical under random writes, reads return the new data; thaw merges it" {
	make_disk 16384
	start
	put 0 64 seed
	ctl freeze e1.2 --shadow "$SH"
	cp "$DISK" "$PRE"
	assert_equal "$(field freeze)" frozen
	assert_equal "$(field shadow)" "$SH"
	local i
	for i in $(seq 20); do
		put $((RANDOM % 16000)) $((RANDOM % 300 + 1)) "$i"
	done
	# a write over part of an earlier one, and an unaligned small one
	put 10 3 small
	cmp "$DISK" "$PRE" || fail "the base changed while frozen"
	aoex -w 16 read $T 0 16384 -o "$R"
	cmp "$R" "$REF" || fail "reads do not return what was written since the freeze"
	# coalesced reads cross shadow and base sectors too
	aoex -w 8 read $T 0 16384 --coalesce 4 -o "$R"
	cmp "$R" "$REF"
	[ "$(field shadow_bytes)" -gt 0 ] || fail "status: $(ctl status)"
	[ -n "$(field frozen_since)" ]
	run ctl freeze e1.2 --shadow "$SH.2"
	assert_failure 1
	assert_output --partial "frozen already"
	ctl thaw e1.2
	poll_until 20 not_frozen || fail "still frozen: $(ctl status)"
	[ ! -e "$SH" ] || fail "the shadow is still there"
	ls "$STATE" | grep -q freeze && fail "the record is still there: $(ls "$STATE")"
	stop_aoexd
	assert_disk_is_ref
	grep -q "e1.2: frozen: the base stays as it is" "$LOG"
	grep -q "e1.2: thawed: [0-9]* sectors merged back" "$LOG"
}

@test "freeze: refused without a state directory, on a null: store, twice; thaw of a device not frozen" {
	make_disk 64
	start_aoexd --control "$CTL_SOCK"
	run ctl freeze e1.2 --shadow "$SH"
	assert_failure 1
	assert_output --partial "needs a state directory"
	run ctl thaw e1.2
	assert_failure 1
	assert_output --partial "not frozen"
	run ctl freeze e1.2
	assert_failure 2
	run ctl freeze nosuch --shadow "$SH"
	assert_failure 1
	stop_aoexd
	[ ! -e "$SH" ]
}

@test "thaw under load: writes during the merge are never overwritten by older shadow data; the image equals the model" {
	make_disk 65536
	# slow enough that the load runs while the merge does (16 MiB at 2 MiB/s)
	start --thaw-rate 2M
	ctl freeze e1.2 --shadow "$SH"
	cp "$DISK" "$PRE"
	put 0 32768 frozen
	cmp "$DISK" "$PRE"
	ctl thaw e1.2
	assert_equal "$(field freeze)" merging
	# overwrite, while merging, ranges the shadow holds: first ahead of
	# the merge, then behind it, then all over
	put 30000 2000 late
	put 100 500 early
	local i
	for i in $(seq 10); do
		put $((RANDOM % 40000)) $((RANDOM % 200 + 1)) "m$i"
	done
	[ "$(field freeze)" = merging ] || skip "the merge ended before the load: nothing shown"
	local pct
	pct=$(field merge_percent)
	echo "# merge at ${pct}% when the load ended" >&3
	poll_until 120 not_frozen || fail "still merging: $(ctl status)"
	aoex -w 16 read $T 0 65536 -o "$R"
	cmp "$R" "$REF"
	stop_aoexd
	assert_disk_is_ref
	[ ! -e "$SH" ]
}

@test "kill -9 while frozen: nothing acknowledged lost, the restart is frozen again, thaw still works" {
	make_disk 65536
	start
	ctl freeze e1.2 --shadow "$SH"
	cp "$DISK" "$PRE"
	random_file "$W" 60000
	writer 100 "$W"
	poll_until 20 acks_at_least $(((RANDOM % 4 + 1) * 4096)) ||
		fail "the stream did not get going: $(cat "$BATS_TEST_TMPDIR/writer.out")"
	kill_daemon "$AOEXD_PID" KILL
	wait "$WPID" || true
	cmp "$DISK" "$PRE" || fail "the base changed while frozen"
	start
	assert_equal "$(field freeze)" frozen
	grep -q "e1.2: frozen again from $SH" "$LOG"
	aoex -w 16 read $T 0 65536 -o "$R"
	assert_acked 100 "$W" "$R"
	[ "$ACKED" -lt 60000 ] || skip "the whole stream finished before the kill"
	ctl thaw e1.2
	poll_until 60 not_frozen || fail "still merging: $(ctl status)"
	stop_aoexd
	assert_acked 100 "$W" "$DISK"
	echo "# $ACKED of 60000 sectors acknowledged before kill -9 (frozen), all there after the thaw" >&3
}

@test "kill -9 during the merge: the merge resumes at restart, nothing lost" {
	make_disk 65536
	start --thaw-rate 256K
	ctl freeze e1.2 --shadow "$SH"
	put 0 32768 frozen
	ctl thaw e1.2
	# part of the way through, and a write during the merge
	put 20000 1000 during
	local pct
	pct=$(field merge_percent)
	[ "$(field freeze)" = merging ] || skip "the merge ended too soon"
	kill_daemon "$AOEXD_PID" KILL
	start --thaw-rate 64M
	grep -q "e1.2: merging again from $SH" "$LOG" || fail "no resumed merge: $(cat "$LOG")"
	poll_until 60 not_frozen || fail "still merging: $(ctl status)"
	aoex -w 16 read $T 0 65536 -o "$R"
	cmp "$R" "$REF"
	stop_aoexd
	assert_disk_is_ref
	[ ! -e "$SH" ]
	echo "# killed at ${pct}% of the merge; resumed and finished" >&3
}

@test "a full shadow: writes fail with an ATA error and a log line, the base stays, reads go on; thaw keeps what fit" {
	make_disk 32768
	# mounted before aoexd starts: its mount namespace (ip netns exec)
	# sees what was there
	SMALL_FS=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL_FS"
	mount -t tmpfs -o size=1M tmpfs "$SMALL_FS"
	start
	ctl freeze e1.2 --shadow "$SMALL_FS/shadow"
	cp "$DISK" "$PRE"
	put 0 256 fits
	random_file "$W.big" 8192
	run aoex -w 16 write $T 1000 -f "$W.big"
	assert_failure 1
	assert_output --partial "status=0x41 error=0x04"
	grep -q "e1.2: shadow $SMALL_FS/shadow is full (No space left on device)" "$LOG" ||
		fail "no log line: $(grep -i shadow "$LOG")"
	cmp "$DISK" "$PRE" || fail "the base changed"
	aoex -w 16 read $T 0 256 -o "$R"
	cmp "$R" "$W.fits"
	[ "$(field shadow_full_refused)" -gt 0 ]
	assert_aoexd_alive
	ctl thaw e1.2
	poll_until 20 not_frozen || fail "still merging: $(ctl status)"
	cmp <(sectors "$DISK" 0 256) "$W.fits"
	stop_aoexd
}

@test "--max-size: a write past it fails with an ATA error and a log line; overwriting what is in the shadow still works" {
	make_disk 32768
	start
	ctl freeze e1.2 --shadow "$SH" --max-size 128K
	cp "$DISK" "$PRE"
	put 0 200 a
	random_file "$W.b" 200
	run aoex -w 1 write $T 1000 -f "$W.b"
	assert_failure 1
	assert_output --partial "status=0x41 error=0x04"
	grep -q "e1.2: shadow $SH is full (its max-size)" "$LOG"
	# the sectors already in the shadow take no more room
	put 0 200 a2
	cmp "$DISK" "$PRE"
	assert_equal "$(field shadow_max_size)" 131072
	[ "$(field shadow_bytes)" -le 131072 ]
	stop_aoexd
	assert_counter_ge io_errors 1
}

# conf FREEZE-SETTINGS: a file with device e1.2 on $DISK and these settings
conf() {
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	cat >"$CONF" <<EOC
interfaces = {"$TIF"}
state-directory = "$STATE"
control-socket = "$CTL_SOCK"
device disk { path = "$DISK"  shelf = 1  slot = 2  $* }
EOC
}

@test "config: freeze-shadow freezes the device at start (--check prints it); removing it on reload thaws" {
	make_disk 8192
	conf "freeze-shadow = \"$SH\"  freeze-max-size = \"1M\""
	run "$AOEXD" -c "$CONF" --check
	assert_success
	assert_line --partial "freeze-shadow = \"$SH\""
	assert_line --partial 'freeze-max-size = 1M'
	start_aoexd_argv -c "$CONF"
	assert_equal "$(field freeze)" frozen
	assert_equal "$(field shadow_max_size)" 1048576
	cp "$DISK" "$PRE"
	put 100 64 a
	cmp "$DISK" "$PRE"
	# a restart with the same file: frozen again from its record, the
	# data written since still there
	stop_aoexd
	start_aoexd_argv -c "$CONF"
	assert_equal "$(field freeze)" frozen
	aoex read $T 100 64 -o "$R"
	cmp "$R" "$W.a"
	conf ""
	hup
	poll_until 20 not_frozen || fail "still frozen: $(ctl status)"
	grep -q "changed in place: thawing" "$LOG"
	stop_aoexd
	assert_disk_is_ref
	# and a bad value names the file and line
	conf "freeze-shadow = \"relative/path\""
	run "$AOEXD" -c "$CONF" --check
	assert_failure
	assert_output --partial "aoexd.conf:4:"
}
