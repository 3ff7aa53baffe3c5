#!/usr/bin/env bats
# queue.bats - the disk side: Linux AIO with O_DIRECT, merging of adjacent
# requests, write ordering, bounce buffers for what O_DIRECT cannot take,
# backpressure, and the synchronous fallback engine.  Each test checks
# bytes on disk and the daemon's own counters (stats lines at exit).

load helpers

T=1.2
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r

# direct_disk MIB: random contents written with O_DIRECT, so none of the
# file is in the page cache to begin with; $REF holds the same bytes
direct_disk() {
	head -c $(($1 << 20)) /dev/urandom >"$REF"
	dd if="$REF" of="$DISK" bs=1M oflag=direct status=none
}

# cached_pages FILE: pages of FILE in the page cache
cached_pages() {
	fincore --bytes --noheadings --output PAGES "$1" | tr -d ' '
}

@test "AIO + O_DIRECT: 4 MiB round trip, adjacent requests merged, page cache untouched" {
	direct_disk 8
	start_aoexd
	grep -q "O_DIRECT (alignment 512)" "$LOG" || fail "not O_DIRECT"
	grep -q "engine aio" "$LOG" || fail "not the aio engine"
	random_file "$W" 8192
	aoex -w 32 write $T 100 -f "$W"
	ref_put 100 "$W"
	aoex -w 32 read $T 0 16384 -o "$R"
	cmp "$R" "$REF"
	[ "$(cached_pages "$DISK")" -le 16 ] || fail "$(cached_pages "$DISK") pages of the image are cached"
	stop_aoexd
	assert_disk_is_ref
	# 8192 write frames of 2 sectors and 16384/2 read frames went to disk
	# in far fewer I/Os
	assert_counter writes 4096
	assert_counter_ge merged 1000
	local ios req
	ios=$(counter queue_ios) req=$(counter queue_requests)
	[ "$ios" -lt $((req / 2)) ] || fail "ios=$ios for $req requests: little merging"
	assert_counter io_errors 0
}

@test "merged reads return the right bytes to the right tags (MTU 9000, 17-sector frames)" {
	set_mtu 9000
	direct_disk 16
	start_aoexd
	aoex -w 64 read $T 7 30000 -o "$R"
	sectors "$REF" 7 30000 | cmp - "$R"
	stop_aoexd
	assert_counter_ge merged 100
}

@test "4K-sector loop device: unaligned 1 KiB frames go through bounce buffers, nothing else changes" {
	head -c $((4 << 20)) /dev/urandom >"$REF"
	cp "$REF" "$BATS_TEST_TMPDIR/backing"
	local loopdev
	loopdev=$(losetup --find --show --sector-size 4096 --direct-io=on "$BATS_TEST_TMPDIR/backing") ||
		skip "no loop device"
	DISK=$loopdev
	start_aoexd
	grep -q "O_DIRECT (alignment 4096)" "$LOG" || { losetup -d "$loopdev"; fail "alignment not learned"; }
	# odd start, odd length: every frame is 1 KiB and shares its 4K block
	# with a neighbour that is written at the same time (RMW ordering)
	random_file "$W" 3001
	aoex -w 64 write $T 3 -f "$W"
	aoex -w 64 read $T 0 8192 -o "$R"
	stop_aoexd
	losetup -d "$loopdev"
	ref_put 3 "$W"
	cmp "$R" "$REF" || fail "read back differs"
	cmp "$BATS_TEST_TMPDIR/backing" "$REF" || fail "the device differs"
	assert_counter_ge bounced 1
	assert_counter_ge rmw 1
	assert_counter io_errors 0
}

@test "4K-sector loop device with an odd -o offset: every request bounced, correct placement" {
	head -c $((2 << 20)) /dev/urandom >"$REF"
	cp "$REF" "$BATS_TEST_TMPDIR/backing"
	local loopdev
	loopdev=$(losetup --find --show --sector-size 4096 --direct-io=on "$BATS_TEST_TMPDIR/backing") ||
		skip "no loop device"
	DISK=$loopdev
	start_aoexd -o 3
	random_file "$W" 1000
	aoex -w 32 write $T 11 -f "$W"
	aoex -w 32 read $T 11 1000 -o "$R"
	stop_aoexd
	losetup -d "$loopdev"
	cmp "$R" "$W" || fail "read back differs"
	ref_put 14 "$W"
	cmp "$BATS_TEST_TMPDIR/backing" "$REF" || fail "the device differs"
	assert_counter_ge rmw 1
	assert_counter io_errors 0
}

@test "backpressure: queue depth 2 under 256 outstanding frames: nothing lost, queue counted" {
	direct_disk 8
	start_aoexd --queue-depth 2 -b 64
	random_file "$W" 8192
	aoex -w 256 write $T 0 -f "$W"
	ref_put 0 "$W"
	aoex -w 256 read $T 0 16384 -o "$R"
	cmp "$R" "$REF"
	stop_aoexd
	assert_disk_is_ref
	assert_counter_ge queue_stalls 1
	assert_counter_ge queue_waiting_max 3
	assert_counter queue_full 0
	assert_counter io_errors 0
}

@test "more frames than request buffers: the excess is dropped and counted, retransmits complete it" {
	direct_disk 4
	start_aoexd -b 2 --queue-depth 1
	random_file "$W" 4096
	run aoex -w 512 -t 200 -r 20 write $T 0 -f "$W"
	assert_success
	ref_put 0 "$W"
	stop_aoexd
	assert_disk_is_ref
	assert_counter_ge queue_full 1
}

@test "sync engine: the same round trip" {
	direct_disk 4
	start_aoexd --engine sync
	grep -q "engine sync" "$LOG" || fail "not the sync engine"
	random_file "$W" 2048
	aoex -w 32 write $T 50 -f "$W"
	ref_put 50 "$W"
	aoex -w 32 read $T 0 8192 -o "$R"
	cmp "$R" "$REF"
	stop_aoexd
	assert_disk_is_ref
	assert_counter submit_calls 0
}

@test "io_submit batches: fewer submit calls than I/Os under load" {
	direct_disk 8
	start_aoexd --read-ahead 0
	aoex -w 64 bench $T --mode randread --seconds 1 --region-sectors 16384 >/dev/null
	stop_aoexd
	local calls n
	calls=$(counter submit_calls) n=$(counter submitted)
	echo "# submit_calls=$calls submitted=$n"
	[ "$calls" -lt "$n" ] || fail "one io_submit per I/O ($calls for $n)"
}

@test "null store, both engines: completions inside the kick free slots at once (no stall, no retransmit)" {
	local e out
	DISK=null:1G
	for e in aio sync; do
		start_aoexd -b 64 --engine "$e"
		# 16 frames x 16 sub-reads outstanding: more than the queue's depth,
		# so progress depends on slots freed by completions in the same kick
		out=$(aoex -w 16 bench $T --mode randread --io-size 1024 --seconds 1 --coalesce 16)
		echo "# $e: $out"
		[[ $out == *" retransmits=0 errors=0 "* ]] || fail "$e: $out"
		stop_aoexd
	done
}

@test "merge delay: an idle disk holds the first write for its neighbours (window 4: 4 frames per I/O)" {
	direct_disk 8
	random_file "$W" 8192
	# without the delay as the reference, then with 5 ms
	start_aoexd --read-ahead 0
	aoex -w 4 write $T 0 -f "$W"
	stop_aoexd
	local plain_ios
	plain_ios=$(counter queue_ios)
	assert_counter queue_held 0
	start_aoexd --read-ahead 0 --merge-delay 5000
	aoex -w 4 write $T 0 -f "$W"
	ref_put 0 "$W"
	stop_aoexd
	assert_disk_is_ref
	local ios req
	ios=$(counter queue_ios) req=$(counter queue_requests)
	echo "# without delay ios=$plain_ios; with 5 ms ios=$ios for $req requests"
	assert_counter_ge queue_held 1
	# 4096 write frames, 4 outstanding: each I/O carries all four
	[ "$ios" -le $((req / 4 + 8)) ] || fail "ios=$ios for $req requests with the delay"
	[ "$ios" -lt "$plain_ios" ] || fail "the delay merged nothing more ($ios vs $plain_ios)"
}
