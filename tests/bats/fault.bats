#!/usr/bin/env bats
# fault.bats - a faulty network between aoex and aoexd (tests/tools/
# faultbridge: drops, duplicates, reorders and late replays with a fixed
# seed).  Proves: data written through loss, duplication and reordering
# arrives exactly; with tag_inc negotiated a stale replayed write never
# overwrites newer data (and is counted); without it the stale write IS
# applied - the protocol's known weakness the extension fixes.
#
# Topology, all in the test's namespace:
#   aoexd on $TIF <-veth-> $BA  [faultbridge]  $BB <-veth-> $IIF aoex
# The bridge calls frames received on $BA (from the target) "ab" and frames
# from the initiator "ba".

load helpers

T=1.2
W=$BATS_TEST_TMPDIR/w
R=$BATS_TEST_TMPDIR/r
: "${FAULTBRIDGE:=$TOP_BUILDDIR/tests/tools/faultbridge}"

setup() {
	aoexbats_setup
	[ -n "$NET_OK" ] || return 0
	[ -x "$FAULTBRIDGE" ] || { echo "FAULTBRIDGE=$FAULTBRIDGE: build it with make check TESTS=" >&2; return 1; }
	local id
	id=$(printf '%x' "$BASHPID")
	BA=aoA$id
	BB=aoB$id
	# two pairs instead of one: the bridge sits between them
	ip -n "$NS" link del "$TIF"
	ip -n "$NS" link add "$TIF" address "$TMAC" type veth peer name "$BA"
	ip -n "$NS" link add "$IIF" address "$IMAC" type veth peer name "$BB"
	local l
	for l in "$TIF" "$BA" "$IIF" "$BB"; do ip -n "$NS" link set "$l" up; done
	BRIDGE_OUT=$BATS_TEST_TMPDIR/bridge.out
}

teardown() {
	if [ -n "${BRIDGE_PID:-}" ]; then
		sed 's/^/# bridge: /' "$BRIDGE_OUT" 2>/dev/null | tail -n 4
	fi
	aoexbats_teardown
}

# start_bridge OPTION...: the faulty wire, ready when it returns
start_bridge() {
	rm -f "$BATS_TEST_TMPDIR/bridge.ready"
	ip netns exec "$NS" "$FAULTBRIDGE" -a "$BA" -b "$BB" --ready "$BATS_TEST_TMPDIR/bridge.ready" "$@" \
		>"$BRIDGE_OUT" 2>&1 3>&- &
	BRIDGE_PID=$!
	BG_PIDS+=("$BRIDGE_PID")
	local i
	for ((i = 0; i < 500; i++)); do
		[ -e "$BATS_TEST_TMPDIR/bridge.ready" ] && return 0
		pid_alive "$BRIDGE_PID" || break
		sleep 0.01
	done
	cat "$BRIDGE_OUT" >&2
	fail "faultbridge did not start"
}

# stop_bridge: SIGTERM, then its counters are in $BRIDGE_OUT
stop_bridge() {
	kill -TERM "$BRIDGE_PID"
	wait "$BRIDGE_PID" || fail "faultbridge exited $?"
	BRIDGE_PID=
}

# bcount DIR NAME: a counter the bridge printed at exit
bcount() {
	grep "^faultbridge: $1 " "$BRIDGE_OUT" | grep -oE " $2=[0-9]+" | cut -d= -f2
}

# fast retransmission: a dropped frame costs 60 ms, not a second
FAST=(-t 60 -r 30)

@test "faultbridge: --help, bad options, plain forwarding" {
	require_net
	run "$FAULTBRIDGE" --help
	assert_success
	assert_output --partial "--replay-after MS"
	run "$FAULTBRIDGE" -a x -b y --drop 2
	assert_failure 2
	assert_output --partial "not a probability"
	make_disk 2048
	start_aoexd
	start_bridge
	aoex read $T 0 2048 -o "$R"
	cmp "$R" "$DISK"
	stop_bridge
	[ "$(bcount ab forwarded)" -ge 1024 ] || fail "too few frames forwarded: $(cat "$BRIDGE_OUT")"
	[ "$(bcount ab dropped)" -eq 0 ]
}

@test "1% loss, 1% duplication, reordering: writes and reads exact" {
	make_disk 16384
	start_aoexd
	start_bridge --seed 7 --drop 0.01 --dup 0.01 --reorder 0.05 --reorder-ms 3
	random_file "$W" 8192
	aoex "${FAST[@]}" -w 16 write $T 1000 -f "$W"
	ref_put 1000 "$W"
	aoex "${FAST[@]}" -w 16 read $T 0 16384 -o "$R"
	cmp "$R" "$REF"
	aoex "${FAST[@]}" -w 8 read $T 0 16384 --coalesce 4 -o "$R"
	cmp "$R" "$REF"
	stop_bridge
	stop_aoexd
	assert_disk_is_ref
	local d
	for d in ab ba; do
		[ "$(bcount $d dropped)" -gt 0 ] || fail "no $d frame dropped"
		[ "$(bcount $d duplicated)" -gt 0 ] || fail "no $d frame duplicated"
		[ "$(bcount $d reordered)" -gt 0 ] || fail "no $d frame reordered"
	done
	echo "# faults: $(grep -h faultbridge "$BRIDGE_OUT" | tr '\n' ' ')" >&3
}

# stale_run EXT...: write A, then B over it at once; the bridge replays
# 10% of the write frames 1.5 s after it first forwarded them, i.e. after
# B is acknowledged.  Then read back.
stale_run() {
	make_disk 4096
	start_aoexd
	start_bridge --seed 11 --drop 0.01 --dup 0.01 --reorder 0.05 \
		--replay-rate 0.1 --replay-after 1500 --replay-writes
	random_file "$W.A" 2048
	random_file "$W.B" 2048
	local t0=$SECONDS
	aoex "${FAST[@]}" "$@" -T 1000 -w 16 write $T 0 -f "$W.A"
	aoex "${FAST[@]}" "$@" -T 3000 -w 16 write $T 0 -f "$W.B"
	[ $((SECONDS - t0)) -lt 2 ] || skip "writing A and B took over 1 s: the replays did not come after B"
	# every replay of A is out (1.5 s after its original) and applied: a
	# sleep on purpose, waiting out the replay window (the bridge counts
	# replays sent, not those still held, so there is nothing to poll for)
	sleep 2
	aoex "${FAST[@]}" -w 16 read $T 0 2048 -o "$R"
	stop_bridge
	stop_aoexd
	REPLAYED=$(bcount ba replayed)
	[ "${REPLAYED:-0}" -gt 0 ] || fail "the bridge replayed nothing: $(cat "$BRIDGE_OUT")"
	# sectors of the result that hold A's (stale) data instead of B's
	STALE=$(cmp -l "$R" "$W.B" | awk '{ print int(($1 - 1) / 512) }' | sort -u | wc -l)
}

@test "tag_inc: stale replayed writes are caught, newer data survives" {
	stale_run -x tag_inc_le
	cmp "$R" "$W.B" || fail "$STALE sectors hold stale data despite tag_inc"
	sectors "$DISK" 0 2048 | cmp - "$W.B"
	local dups
	dups=$(counter dup_writes)
	# every replay (and every duplicate) of an executed write is a dup
	[ "$dups" -ge "$REPLAYED" ] ||
		fail "dup_writes=$dups but the bridge replayed $REPLAYED writes"
	echo "# replayed write frames: $REPLAYED, dup_writes caught: $dups" >&3
}

@test "without tag_inc: a stale replayed write IS applied (protocol weakness)" {
	stale_run
	[ "$STALE" -gt 0 ] || fail "no replay landed: nothing shows the weakness"
	# each differing sector holds exactly A's data: the replayed write
	local s n=0
	for s in $(cmp -l "$R" "$W.B" | awk '{ print int(($1 - 1) / 512) }' | sort -un | head -n 20); do
		sectors "$R" "$s" 1 | cmp -s - <(sectors "$W.A" "$s" 1) ||
			fail "sector $s is neither B nor A"
		n=$((n + 1))
	done
	assert_counter dup_writes 0
	echo "# replayed write frames: $REPLAYED, sectors overwritten with stale data: $STALE" >&3
}

# ------------------------------------------------------------------ crc8x4
# The bridge flips one bit of the payload (offset 36 on: the sector data,
# and a read reply's check) in 5% of the frames that carry data, and sends
# the frame on as it is: a valid Ethernet frame with damaged contents.

FLIPS=$BATS_TEST_TMPDIR/flips

# sector_diff A B: "SECTOR BITS" for every 512-byte sector where A and B
# differ, BITS the number of bits that differ in it
sector_diff() {
	python3 - "$1" "$2" <<'PY'
import sys
a, b = (open(p, 'rb').read() for p in sys.argv[1:3])
for s in range(min(len(a), len(b)) // 512):
    x, y = a[s * 512:(s + 1) * 512], b[s * 512:(s + 1) * 512]
    if x != y:
        print(s, sum(bin(p ^ q).count('1') for p, q in zip(x, y)))
PY
}

# flipped_sectors DIR: the sectors the bridge damaged in direction DIR
flipped_sectors() {
	grep "^$1 " "$FLIPS" | grep -oE 'sector=[0-9]+' | cut -d= -f2 | sort -n
}

@test "faultbridge --flip: bad values refused, the log names each damaged sector" {
	require_net
	run "$FAULTBRIDGE" -a x -b y --flip 1.5
	assert_failure 2
	run "$FAULTBRIDGE" -a x -b y --flip-from 10
	assert_failure 2
	assert_output --partial "--flip-from"
}

@test "crc8x4: every damaged write is refused and sent again, every damaged read reply retried: disk and read-back exact" {
	make_disk 8192
	start_aoexd
	start_bridge --seed 21 --flip 0.05 --flip-log "$FLIPS"
	random_file "$W" 4096
	aoex "${FAST[@]}" -x crc8x4 -w 16 write $T 1000 -f "$W" 2>"$W.err"
	ref_put 1000 "$W"
	grep -qx 'crc8x4: crc_bad=0' "$W.err" || fail "write: $(cat "$W.err")"
	local ba ab
	ba=$(grep -c '^ba ' "$FLIPS" || true)
	aoex "${FAST[@]}" -x crc8x4 -w 16 read $T 0 8192 -o "$R" 2>"$R.err"
	cmp "$R" "$REF"
	ab=$(grep -c '^ab ' "$FLIPS" || true)
	# the same through coalesced reads: sub-read replies carry the check too
	aoex "${FAST[@]}" -x crc8x4 -w 8 read $T 0 8192 --coalesce 4 -o "$R.c" 2>"$R.c.err"
	cmp "$R.c" "$REF"
	local abc=$(( $(grep -c '^ab ' "$FLIPS") - ab ))
	stop_bridge
	stop_aoexd
	assert_disk_is_ref
	[ "$ba" -gt 0 ] && [ "$ab" -gt 0 ] && [ "$abc" -gt 0 ] ||
		fail "too few flips to prove anything: ba=$ba ab=$ab coalesced=$abc"
	[ "$(bcount ba flipped)" = "$ba" ] || fail "log and counter disagree: $(cat "$BRIDGE_OUT")"
	# each damaged write frame dropped without a reply, counted once
	assert_counter crc_bad "$ba"
	# each damaged read reply caught by aoex, and the read sent again
	grep -qx "crc8x4: crc_bad=$ab" "$R.err" || fail "read: $(cat "$R.err") (bridge damaged $ab)"
	# a coalesced frame goes again whole when one of its replies fails:
	# damaged repeats of replies already taken are ignored, not checked
	local cbad
	cbad=$(grep -oE '^crc8x4: crc_bad=[0-9]+' "$R.c.err" | cut -d= -f2)
	[ "${cbad:-0}" -gt 0 ] && [ "$cbad" -le "$abc" ] ||
		fail "coalesced read: $(cat "$R.c.err") (bridge damaged $abc)"
	echo "# damaged write frames: $ba (crc_bad on aoexd: $ba), read replies: $ab (crc_bad on aoex: $ab), coalesced: $abc (crc_bad $cbad)" >&3
}

@test "without crc8x4: the damage lands, one bit in each damaged sector, on disk and in the read-back" {
	make_disk 8192
	start_aoexd
	# writes only: every damaged frame reaches the disk (the default
	# timeout, so no retransmission can repair one by chance)
	start_bridge --seed 21 --flip 0.05 --dir ba --flip-log "$FLIPS"
	random_file "$W" 4096
	aoex -w 16 write $T 1000 -f "$W"
	ref_put 1000 "$W"
	stop_bridge
	local ba diff
	ba=$(bcount ba flipped)
	[ "$ba" -gt 0 ] || fail "nothing flipped"
	# disk vs what was sent, sector by sector: exactly the logged sectors,
	# each with one bit different
	diff=$(sector_diff "$DISK" "$REF")
	[ "$(echo "$diff" | awk '{ print $1 }')" = "$(flipped_sectors ba)" ] ||
		fail "damaged sectors on disk: $(echo "$diff" | tr '\n' ' '); flipped: $(flipped_sectors ba | tr '\n' ' ')"
	echo "$diff" | awk '$2 != 1 { exit 1 }' || fail "a sector with more than one bit changed: $diff"
	echo "# $ba write frames damaged; on disk, sector (bits): $(echo "$diff" | head -n 8 | awk '{ printf "%s (%s) ", $1, $2 }')..." >&3
	# reads only: the disk is as it is now, the read-back differs from it
	cp "$DISK" "$REF"
	rm -f "$FLIPS"
	start_bridge --seed 22 --flip 0.05 --dir ab --flip-log "$FLIPS"
	aoex -w 16 read $T 0 8192 -o "$R"
	stop_bridge
	stop_aoexd
	diff=$(sector_diff "$R" "$DISK")
	[ -n "$diff" ] || fail "no read reply damaged"
	[ "$(echo "$diff" | awk '{ print $1 }')" = "$(flipped_sectors ab)" ] ||
		fail "damaged sectors read: $(echo "$diff" | tr '\n' ' '); flipped: $(flipped_sectors ab | tr '\n' ' ')"
	echo "$diff" | awk '$2 != 1 { exit 1 }' || fail "a sector with more than one bit changed: $diff"
	assert_counter crc_bad 0
	echo "# $(bcount ab flipped) read replies damaged; read back, sector (bits): $(echo "$diff" | head -n 8 | awk '{ printf "%s (%s) ", $1, $2 }')..." >&3
}
