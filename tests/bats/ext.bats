#!/usr/bin/env bats
# ext.bats - the AoEde Extensions (AoE command 0x23) seen from the wire:
# negotiation and the casing of the reply, malformed tables, the tag_inc
# duplicate-write window (edges, wrap-around, tag 0, per-initiator state,
# resets by Query Config), coalesced reads (order, bytes, per-sub-read
# errors, more sub-reads than the target has buffers), congestion probes
# (delay, repeat, the loop is not blocked), tag_random, the 64-entry peer
# table and the access rules (mask list, reservations).  Exact bytes with
# `aoex raw', outcomes with aoex and the backing file, the daemon's own
# view with the counters of its final `stats e1.2 ext' line.

# Each @test runs in a subshell of its own: that is what bats wants.
# shellcheck disable=SC2030,SC2031
load helpers

T=1.2
A=$BATS_TEST_TMPDIR/a	# one-sector payloads
B=$BATS_TEST_TMPDIR/b
C=$BATS_TEST_TMPDIR/c
D=$BATS_TEST_TMPDIR/d
R=$BATS_TEST_TMPDIR/r	# data read back

teardown() {
	if [ -n "${SMALL_FS:-}" ]; then umount -l "$SMALL_FS" 2>/dev/null || true; fi
	aoexbats_teardown
}

# ------------------------------------------------------------ frame helpers

# extreq TAG TABLEHEX [L [JUNKHEX]]: an Extensions request from us, L (default
# the table's length) little-endian at 24, the table at 26, JUNK after it
extreq() {
	local l=${3:-$((${#2} / 2))}
	req 10 00 0001 02 23 "$1" "$(le16 "$l")" "$2" "${4:-}"
}

# extrep TAG TABLEHEX: the reply the target must send: R set, no E, the
# length field and table echoed (padded to 60)
extrep() { rep 18 00 0001 02 23 "$1" "$(le16 $((${#2} / 2)))" "$2"; }

# hexof FILE: its bytes as one hex string
hexof() { tohex "$1"; }

# secthex LBA COUNT: those sectors of $DISK as hex
secthex() { sectors "$DISK" "$1" "$2" | tohex; }

# desc TAG LBA COUNT: one coalesced-read descriptor (16 bytes)
desc() { echo "$1$(le48 "$2")0000000000$(printf '%02x' "$3")"; }

# cread CMD TAG LBA COUNT N DESC...: a READ (0x24 with aflags E, or 0x20)
# whose frame carries the count byte N and the descriptors
cread() {
	local cmd=$1 tag=$2 lba=$3 cnt=$4 n=$5 af=40
	shift 5
	[ "$cmd" = 20 ] && af=00
	req 10 00 0001 02 00 "$tag" "$af" 00 "$(printf '%02x' "$cnt")" "$cmd" "$(le48 "$lba")" 0000 \
		"$(printf '%02x' "$n")" "$@"
}

# readrep TAG LBA COUNT [AFLAGS [LBAHEX]]: the success reply to a read of
# COUNT sectors at LBA (LBAHEX: the LBA bytes as the request carried them)
readrep() {
	rep 18 00 0001 02 00 "$1" "${4:-40}" 00 00 40 "${5:-$(le48 "$2")}" 0000 "$(secthex "$2" "$3")"
}

# wframe TAGHEX LBA FILE: a one-sector WRITE EXT with these raw tag bytes
wframe() { req 10 00 0001 02 00 "$1" 41 00 01 34 "$(le48 "$2")" 0000 "$(hexof "$3")"; }

# wrep TAGHEX LBA: the success reply to it
wrep() { rep 18 00 0001 02 00 "$1" 41 00 00 40 "$(le48 "$2")" 0000; }

# ------------------------------------------------------------ aoex helpers

# xw TAG LBA FILE [AOEX OPTION...]: write FILE at LBA as the first frame of
# an aoex run that negotiates tag_inc_le (-T TAG: the 0x23 request takes
# TAG-1; -d and -s skip the Query Config read)
xw() {
	local tag=$1 lba=$2 f=$3
	shift 3
	aoex "$@" -d "$TMAC" -s 2 -x tag_inc_le -T "$tag" write $T "$lba" -f "$f"
}

# pw TAG LBA FILE [AOEX OPTION...]: the same without negotiating (the tag
# still goes out little-endian)
pw() {
	local tag=$1 lba=$2 f=$3
	shift 3
	aoex "$@" -d "$TMAC" -s 2 --tag-order le -T "$tag" write $T "$lba" -f "$f"
}

# disk_has LBA FILE: that sector of the backing file holds FILE
disk_has() {
	sectors "$DISK" "$1" 1 | cmp -s - "$2" || fail "sector $1 does not hold $(basename "$2")"
}

mk_payloads() {
	random_file "$A" 1
	random_file "$B" 1
	random_file "$C" 1
	random_file "$D" 1
}

# ms_since NS: milliseconds from NS (date +%s%N) to now
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# wait_sent FILE: until aoex -v has logged its first sent frame into FILE
wait_sent() {
	local i
	for ((i = 0; i < 500; i++)); do
		grep -q 'aoex: send' "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	fail "aoex sent nothing within 5 s"
}

# ------------------------------------------------------------ negotiation

@test "negotiation: known names upper-cased in place, unknown ones kept, E never set" {
	make_disk 64
	start_aoexd
	# the whole reply, byte for byte: MACs swapped, our shelf/slot, R, the
	# tag, the length field and the table echoed, padded to 60
	run raw "$(extreq 0000e001 "$(strs tag_inc_le foo coalesced_read)")"
	assert_success
	assert_output "$(extrep 0000e001 "$(strs TAG_INC_LE foo COALESCED_READ)")"
	assert_equal "${#output}" 120
	# names are matched exactly: prefixes, suffixes and other cases are unknown
	run raw "$(extreq 0000e002 "$(strs tag_inc tag_inc_lex Reset COALESCED_READ tag_random)")"
	assert_success
	assert_output "$(extrep 0000e002 "$(strs tag_inc tag_inc_lex Reset COALESCED_READ TAG_RANDOM)")"
	# a reply longer than 60 bytes is not padded
	local long
	long=$(strs coalesced_read tag_inc_be some_future_extension another_one)
	run raw "$(extreq 0000e003 "$long")"
	assert_success
	assert_output "$(extrep 0000e003 "$(strs COALESCED_READ TAG_INC_BE some_future_extension another_one)")"
	[ "${#output}" -gt 120 ] || fail "test table too short"
	# only names: an empty table (L = 2) and one of unknown names are
	# answered, without E
	run raw "$(extreq 0000e004 0000)"
	assert_success
	assert_output "$(extrep 0000e004 0000)"
	run raw "$(extreq 0000e005 "$(strs x y z)")"
	assert_success
	assert_output "$(extrep 0000e005 "$(strs x y z)")"
	# broadcast shelf and slot: answered with our own address
	run raw "$(req 10 00 ffff ff 23 0000e006 0700 "$(strs reset)")"
	assert_success
	assert_output "$(extrep 0000e006 "$(strs RESET)")"
	# bytes after the table (L covers 7) are neither read nor echoed: the
	# reply is 26 + L bytes, padded with zeros
	run raw "$(extreq 0000e007 "$(strs reset)" 7 "$(printf 'ff%.0s' {1..40})")"
	assert_success
	assert_output "$(extrep 0000e007 "$(strs RESET)")"
	# the first empty string ends the list: names after it are not read
	run raw "$(extreq 0000e008 "00$(strs tag_inc_le)")"
	assert_success
	assert_output "$(extrep 0000e008 "00$(strs tag_inc_le)")"
	stop_aoexd
	assert_counter ext_requests 8
	assert_counter bad_tables 0
	assert_counter aoe_errors 0
	assert_counter unknown_cmd 0
}

@test "negotiation: reset turns off what precedes it, the last tag mode wins" {
	make_disk 64
	start_aoexd
	run raw "$(extreq 0000e101 "$(strs tag_inc_le coalesced_read reset tag_inc_be)")"
	assert_success
	assert_output "$(extrep 0000e101 "$(strs tag_inc_le coalesced_read RESET TAG_INC_BE)")"
	run raw "$(extreq 0000e102 "$(strs tag_inc_le tag_random coalesced_read tag_inc_be)")"
	assert_success
	assert_output "$(extrep 0000e102 "$(strs tag_inc_le tag_random COALESCED_READ TAG_INC_BE)")"
	run raw "$(extreq 0000e103 "$(strs tag_inc_be tag_inc_le)")"
	assert_success
	assert_output "$(extrep 0000e103 "$(strs tag_inc_be TAG_INC_LE)")"
	# a reset at the end leaves nothing but itself
	run raw "$(extreq 0000e104 "$(strs tag_random coalesced_read reset)")"
	assert_success
	assert_output "$(extrep 0000e104 "$(strs tag_random coalesced_read RESET)")"
	# ... and really turned coalesced_read off: a READ with a descriptor
	# gets its own reply only
	run raw -W 300 "$(cread 24 0000e105 1 1 1 "$(desc 0000e106 2 1)")"
	assert_success
	assert_output "$(readrep 0000e105 1 1)"
	# the same name twice is upper-cased twice
	run raw "$(extreq 0000e107 "$(strs coalesced_read coalesced_read)")"
	assert_success
	assert_output "$(extrep 0000e107 "$(strs COALESCED_READ COALESCED_READ)")"
	# the state of the last request holds: sub-reads work now
	run raw -W 300 "$(cread 24 0000e108 1 1 1 "$(desc 0000e109 2 1)")"
	assert_success
	assert_equal "${#lines[@]}" 2
	stop_aoexd
	assert_counter sub_reads 1
}

@test "negotiation: congestion takes the next string as a decimal id, left as it is" {
	make_disk 64
	start_aoexd
	# a new id delays the reply by 0.5 s: wait for it
	run raw -W 1200 "$(extreq 0000e201 "$(strs congestion 0042 tag_inc_le)")"
	assert_success
	assert_output "$(extrep 0000e201 "$(strs CONGESTION 0042 TAG_INC_LE)")"
	# not a decimal id: congestion is not activated, and the next string is
	# read as a name of its own
	run raw "$(extreq 0000e202 "$(strs congestion 12a reset)")"
	assert_success
	assert_output "$(extrep 0000e202 "$(strs congestion 12a RESET)")"
	run raw "$(extreq 0000e203 "$(strs congestion reset)")"
	assert_success
	assert_output "$(extrep 0000e203 "$(strs congestion RESET)")"
	run raw "$(extreq 0000e204 "$(strs congestion)")"
	assert_success
	assert_output "$(extrep 0000e204 "$(strs congestion)")"
	# 20 digits at most
	run raw -W 1200 "$(extreq 0000e205 "$(strs congestion 12345678901234567890)")"
	assert_success
	assert_output "$(extrep 0000e205 "$(strs CONGESTION 12345678901234567890)")"
	run raw "$(extreq 0000e206 "$(strs congestion 123456789012345678901)")"
	assert_success
	assert_output "$(extrep 0000e206 "$(strs congestion 123456789012345678901)")"
	stop_aoexd
	assert_counter congestion_probes 2
	assert_counter congestion_delays 2
	assert_counter aoe_errors 0
}

@test "aoex ext: the reply table one string per line, then active=" {
	make_disk 64
	start_aoexd
	run aoex ext $T tag_inc_le coalesced_read foo congestion 42 reset tag_random tag_inc_be
	assert_success
	assert_output "tag_inc_le
coalesced_read
foo
CONGESTION
42
RESET
tag_random
TAG_INC_BE
active=congestion,reset,tag_inc_be"
	run aoex ext $T coalesced_read tag_inc_le
	assert_success
	assert_output "COALESCED_READ
TAG_INC_LE
active=coalesced_read,tag_inc_le"
	run aoex ext $T nothing_known
	assert_success
	assert_output "nothing_known
active="
	# -x fails when a name is not activated (congestion needs a decimal
	# id), and the command does not run
	run aoex -x tag_inc_le,congestion,12a read $T 0 1 -o "$R"
	assert_failure 1
	assert_output --partial "target did not activate congestion"
	# names aoex does not know are not checked
	run aoex -x tag_inc_le,frobnicate read $T 0 1 -o "$R"
	assert_success
	stop_aoexd
	assert_counter reads 1
}

# ------------------------------------------------------------ bad tables

@test "bad tables: no reply, counted, nothing activated, the daemon keeps serving" {
	make_disk 64
	start_aoexd
	local before f
	before=$(sha "$DISK")
	local -a bad=(
		# shorter than 26: no room for the length field
		"$(req 10 00 0001 02 23 00000b01)"
		"$(req 10 00 0001 02 23 00000b02 07)"
		# L past the frame: 64 in a 53-byte frame, and one byte too many
		"$(extreq 00000b03 "$(strs tag_inc_le)$(zeros 14)" 64)"
		"$(extreq 00000b04 "$(strs tag_inc_le)" 13)"
		"$(extreq 00000b05 "$(strs tag_inc_le)$(zeros 20)" 65535)"
		# L read big-endian would be 12 and valid; little-endian it is 3072
		"$(req 10 00 0001 02 23 00000b06 000c "$(strs tag_inc_le)" "$(zeros 22)")"
		# L < 2
		"$(extreq 00000b07 "$(zeros 34)" 0)"
		"$(extreq 00000b08 "$(zeros 34)" 1)"
		# no double NUL at the end of the table (zeros follow it in the frame)
		"$(extreq 00000b09 "$(printf 'tag_inc_le\0' | tohex)$(zeros 23)" 11)"
		"$(extreq 00000b0a "$(printf 'ab\0c' | tohex)$(zeros 30)" 4)"
		"$(extreq 00000b0b "$(printf 'reset' | tohex)$(zeros 29)" 5)"
		"$(extreq 00000b0c "$(printf 'a\0' | tohex)$(zeros 32)" 2)"
	)
	for f in "${bad[@]}"; do
		run raw "$f"
		assert_failure 3
		assert_output ""
	done
	# an odd L is no fault in itself: "reset\0\0" is 7 bytes
	run raw "$(extreq 00000b0d "$(strs reset)" 7)"
	assert_success
	assert_output "$(extrep 00000b0d "$(strs RESET)")"
	assert_aoexd_alive
	run aoex discover -W 200
	assert_success
	aoex read $T 0 8 -o "$R"
	sectors "$DISK" 0 8 | cmp - "$R"
	assert_equal "$(sha "$DISK")" "$before"
	# none of the rejected tables activated tag_inc_le: the same tag twice
	# is written twice
	mk_payloads
	pw 100 8 "$A"
	pw 100 8 "$B"
	disk_has 8 "$B"
	stop_aoexd
	assert_counter bad_tables ${#bad[@]}
	assert_counter ext_requests $((${#bad[@]} + 1))
	assert_counter dup_writes 0
	assert_counter writes 2
	assert_counter drop_short 0
	assert_counter aoe_errors 0
}

# ------------------------------------------------------------ tag_inc

@test "tag_inc_le: a replayed write (tag 100 after 101) is acknowledged, not written" {
	make_disk 64
	mk_payloads
	start_aoexd
	aoex -x tag_inc_le -T 100 write $T 8 -f "$A"
	aoex -x tag_inc_le -T 101 write $T 8 -f "$B"
	disk_has 8 "$B"
	# the late copy of the first write: success, and B stays
	run aoex -x tag_inc_le -T 100 write $T 8 -f "$A"
	assert_success
	assert_output ""
	disk_has 8 "$B"
	aoex --tag-order le -T 102 read $T 8 1 -o "$R"
	cmp "$R" "$B"
	stop_aoexd
	assert_counter dup_writes 1
	assert_counter writes 2
	assert_counter window_resets 0
}

@test "tag_inc_be: the same replay with big-endian tags" {
	make_disk 64
	mk_payloads
	start_aoexd
	aoex -x tag_inc_be -T 100 write $T 8 -f "$A"
	aoex -x tag_inc_be -T 101 write $T 8 -f "$B"
	run aoex -x tag_inc_be -T 100 write $T 8 -f "$A"
	assert_success
	disk_has 8 "$B"
	# the byte order matters: tag 100 sent little-endian is 0x64000000 to
	# a tag_inc_be target, far away from 101: a new write
	run aoex -d "$TMAC" -s 2 --tag-order le -T 100 write $T 8 -f "$C"
	assert_success
	disk_has 8 "$C"
	stop_aoexd
	assert_counter dup_writes 1
	assert_counter writes 3
	assert_counter window_resets 1
}

@test "without negotiation the replay IS written (plain AoE cannot tell)" {
	make_disk 64
	mk_payloads
	start_aoexd
	# this initiator never negotiated
	pw 100 8 "$A"
	pw 101 8 "$B"
	pw 100 8 "$A"
	disk_has 8 "$A"
	# another MAC negotiates; ours still has no state
	run aoex -m "$MAC_B" ext $T tag_inc_le
	assert_success
	pw 101 8 "$B"
	disk_has 8 "$B"
	# negotiated afterwards: from now on the replay is caught
	xw 200 9 "$A"
	xw 201 9 "$B"
	xw 200 9 "$A"
	disk_has 9 "$B"
	stop_aoexd
	assert_counter dup_writes 1
	assert_counter writes 6
}

@test "window edges: 32767 behind is a duplicate, 32768 behind restarts and executes" {
	make_disk 64
	mk_payloads
	start_aoexd
	xw 100 8 "$A"
	xw 32867 9 "$B"		# 32767 ahead: inside, no restart
	xw 100 8 "$C"		# 32767 behind M, written before: duplicate
	disk_has 8 "$A"
	xw 32868 10 "$B"	# M = 32868
	xw 100 8 "$C"		# exactly 32768 behind: outside, restart at 100
	disk_has 8 "$C"
	xw 32868 10 "$D"	# 32768 ahead of the new M: restart, executed
	disk_has 10 "$D"
	xw 32868 10 "$A"	# now a duplicate again
	disk_has 10 "$D"
	xw 72868 11 "$B"	# 40000 ahead: restart, executed
	disk_has 11 "$B"
	xw 32868 10 "$A"	# 40000 behind: restart, executed
	disk_has 10 "$A"
	stop_aoexd
	assert_counter dup_writes 2
	assert_counter window_resets 4
	assert_counter writes 7
}

@test "window: tags skipped when M moves forward are new, not marks from a span ago" {
	make_disk 64
	mk_payloads
	start_aoexd
	xw 100 8 "$A"
	xw 20000 9 "$A"
	xw 32900 10 "$A"	# skips 32868, whose bit tag 100 used
	xw 32868 11 "$B"	# never written: a new write
	disk_has 11 "$B"
	xw 32868 11 "$C"
	disk_has 11 "$B"
	stop_aoexd
	assert_counter dup_writes 1
	assert_counter window_resets 0
	assert_counter writes 4
}

@test "window edges: tags wrap at 2^32" {
	make_disk 64
	mk_payloads
	start_aoexd
	xw 0xfffffffe 8 "$A"
	xw 0xffffffff 9 "$B"
	xw 1 10 "$C"		# 0 is skipped by the counter
	xw 0xffffffff 9 "$D"
	disk_has 9 "$B"
	xw 0xfffffffe 8 "$D"
	disk_has 8 "$A"
	xw 1 10 "$D"
	disk_has 10 "$C"
	# M = 32766: 0xffffffff is 32767 behind (inside), 0xfffffffe 32768
	# behind (outside: restart, executed)
	xw 32766 11 "$A"
	xw 0xffffffff 9 "$D"
	disk_has 9 "$B"
	xw 0xfffffffe 8 "$D"
	disk_has 8 "$D"
	stop_aoexd
	assert_counter dup_writes 4
	assert_counter window_resets 1
	assert_counter writes 5
}

@test "window: reads and flushes restart it only when more than 65536 ahead or 32768 behind" {
	make_disk 64
	mk_payloads
	start_aoexd
	local o=(-d "$TMAC" -s 2 -x tag_inc_le)
	xw 1000 8 "$A"
	aoex "${o[@]}" -T $((1000 + 65536)) read $T 0 1 -o "$R"
	aoex "${o[@]}" -T $(((1000 - 32768) & 0xffffffff)) read $T 0 1 -o "$R"
	aoex "${o[@]}" -T $((1000 + 40000)) flush $T
	xw 1000 8 "$B"		# the window was kept: duplicate
	disk_has 8 "$A"
	aoex "${o[@]}" -T $((1000 + 65537)) read $T 0 1 -o "$R"
	xw 1000 8 "$B"		# emptied: written, and the window starts again
	disk_has 8 "$B"
	xw 1000 8 "$C"
	disk_has 8 "$B"
	aoex "${o[@]}" -T $(((1000 - 32769) & 0xffffffff)) flush $T
	xw 1000 8 "$C"
	disk_has 8 "$C"
	stop_aoexd
	assert_counter dup_writes 2
	assert_counter window_resets 2
	assert_counter reads 3
	assert_counter flushes 2
}

@test "tag 0 is never tracked; a duplicate's reply is the write's success reply" {
	make_disk 64
	mk_payloads
	start_aoexd
	run aoex ext $T tag_inc_le
	assert_success
	# tag 0, twice: both written
	run raw "$(wframe 00000000 20 "$A")"
	assert_success
	assert_output "$(wrep 00000000 20)"
	run raw "$(wframe 00000000 20 "$B")"
	assert_success
	assert_output "$(wrep 00000000 20)"
	disk_has 20 "$B"
	# tag 5 (little-endian), twice: the second is a duplicate, answered
	# with exactly the bytes of a successful write
	run raw "$(wframe 05000000 21 "$C")"
	assert_success
	assert_output "$(wrep 05000000 21)"
	run raw "$(wframe 05000000 21 "$D")"
	assert_success
	assert_output "$(wrep 05000000 21)"
	disk_has 21 "$C"
	# LBA28 writes are tracked too
	run raw "$(req 10 00 0001 02 00 06000000 01 00 01 30 160000e00000 0000 "$(hexof "$C")")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 06000000 01 00 00 40 160000e00000 0000)"
	run raw "$(req 10 00 0001 02 00 06000000 01 00 01 30 160000e00000 0000 "$(hexof "$D")")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 06000000 01 00 00 40 160000e00000 0000)"
	disk_has 22 "$C"
	stop_aoexd
	assert_counter dup_writes 2
	assert_counter writes 4
}

@test "a write refused by the ATA rules is not marked: its retry is written" {
	make_disk 64
	mk_payloads
	start_aoexd
	run aoex ext $T tag_inc_le
	assert_success
	# LBA 64 is past the end: IDNF, nothing written, tag 7 not marked
	run raw "$(wframe 07000000 64 "$A")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 07000000 41 10 01 41 "$(le48 64)" 0000)"
	# the same tag at a valid LBA is new
	run raw "$(wframe 07000000 30 "$A")"
	assert_success
	assert_output "$(wrep 07000000 30)"
	disk_has 30 "$A"
	stop_aoexd
	assert_counter dup_writes 0
	assert_counter writes 1
}

@test "a write that failed on disk is forgotten: its retransmission is written" {
	require_net
	SMALL_FS=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL_FS"
	mount -t tmpfs -o size=64k tmpfs "$SMALL_FS"
	DISK=$SMALL_FS/disk.img
	truncate -s 8M "$DISK"
	dd if=/dev/zero of="$SMALL_FS/filler" bs=4k 2>/dev/null || true
	mk_payloads
	start_aoexd
	run xw 100 100 "$A" -w 1
	assert_failure 1
	assert_output --partial "status=0x41 error=0x04"
	rm -f "$SMALL_FS/filler"
	# the initiator retries with the same tag: written this time
	run xw 100 100 "$A" -w 1
	assert_success
	disk_has 100 "$A"
	# and now it is marked
	xw 100 100 "$B"
	disk_has 100 "$A"
	stop_aoexd
	assert_counter io_errors 1
	assert_counter dup_writes 1
}

@test "per initiator: another MAC has its own window, and its reset leaves ours alone" {
	make_disk 64
	mk_payloads
	start_aoexd
	xw 100 8 "$A"
	# B replays our tag without negotiating: plain AoE, written
	pw 100 8 "$B" -m "$MAC_B"
	disk_has 8 "$B"
	# our replay is still caught: our window is ours
	xw 100 8 "$A"
	disk_has 8 "$B"
	# B negotiates: its window starts empty, so its tag 100 is new
	xw 100 8 "$C" -m "$MAC_B"
	disk_has 8 "$C"
	xw 100 8 "$D" -m "$MAC_B"
	disk_has 8 "$C"
	# B resets its own state (and takes tag_inc_le again in the same
	# request: its window starts empty all the same)
	run aoex -m "$MAC_B" ext $T reset tag_inc_le
	assert_success
	assert_output "RESET
TAG_INC_LE
active=reset,tag_inc_le"
	pw 100 8 "$D" -m "$MAC_B"
	disk_has 8 "$D"
	pw 100 8 "$A" -m "$MAC_B"
	disk_has 8 "$D"
	# ours survived it, without negotiating again (state per MAC, kept
	# across aoex runs)
	pw 100 8 "$A"
	disk_has 8 "$D"
	stop_aoexd
	assert_counter dup_writes 4
	assert_counter writes 4
}

@test "Query Config set and force set reset the sender's features only" {
	make_disk 64
	mk_payloads
	start_aoexd
	xw 100 8 "$A"
	xw 100 9 "$A" -m "$MAC_B"
	# a read and a refused set change nothing
	run aoex -m "$MAC_B" config $T read
	assert_success
	run aoex config $T set first
	assert_success		# ours: this resets OUR features
	run aoex -m "$MAC_B" config $T set other
	assert_failure 1
	assert_output "aoe_error=4 (config string present)"
	pw 100 9 "$B" -m "$MAC_B"
	disk_has 9 "$A"		# B's window is intact
	pw 100 8 "$B"
	disk_has 8 "$B"		# ours was reset by our set: written
	# B's force set resets B's
	run aoex -m "$MAC_B" config $T fset second
	assert_success
	pw 100 9 "$B" -m "$MAC_B"
	disk_has 9 "$B"
	# coalesced_read goes the same way
	run aoex ext $T coalesced_read
	assert_success
	run raw -W 300 "$(cread 24 0000c001 1 1 1 "$(desc 0000c002 2 1)")"
	assert_equal "${#lines[@]}" 2
	run aoex -m "$MAC_B" config $T fset third
	assert_success
	run raw -W 300 "$(cread 24 0000c003 1 1 1 "$(desc 0000c004 2 1)")"
	assert_equal "${#lines[@]}" 2	# B's set left ours on
	run aoex config $T set third
	assert_success
	run raw -W 300 "$(cread 24 0000c005 1 1 1 "$(desc 0000c006 2 1)")"
	assert_equal "${#lines[@]}" 1	# our own set turned it off
	stop_aoexd
	assert_counter dup_writes 1
	assert_counter sub_reads 2
}

# ------------------------------------------------------------ coalesced_read

@test "coalesced read: primary first, then sub-reads in descriptor order, exact bytes" {
	make_disk 64
	start_aoexd
	run aoex ext $T coalesced_read
	assert_success
	run raw -W 500 "$(cread 24 0000a0a0 1 2 4 "$(desc 0000a0a1 10 1)" "$(desc 0000a0a2 3 2)" \
		"$(desc 0000a0a3 63 1)" "$(desc 0000a0a4 0 2)")"
	assert_success
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 "$(readrep 0000a0a0 1 2)"
	assert_line --index 1 "$(readrep 0000a0a1 10 1)"
	assert_line --index 2 "$(readrep 0000a0a2 3 2)"
	assert_line --index 3 "$(readrep 0000a0a3 63 1)"
	assert_line --index 4 "$(readrep 0000a0a4 0 2)"
	# the descriptor tags are echoed as raw bytes, whatever they are
	run raw -W 500 "$(cread 24 00000000 5 1 2 "$(desc ffffffff 6 1)" "$(desc 00000000 7 1)")"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 "$(readrep 00000000 5 1)"
	assert_line --index 1 "$(readrep ffffffff 6 1)"
	assert_line --index 2 "$(readrep 00000000 7 1)"
	stop_aoexd
	assert_counter sub_reads 6
	assert_counter reads 8
	assert_counter sub_ignored 0
	assert_counter aoe_errors 0
}

@test "coalesced read: errors are per sub-read (error 2, IDNF), a failed primary keeps its sub-reads" {
	make_disk 64
	start_aoexd
	run aoex ext $T coalesced_read
	assert_success
	run raw -W 500 "$(cread 24 0000b0b0 1 1 3 "$(desc 0000b0b1 5 3)" "$(desc 0000b0b2 64 1)" \
		"$(desc 0000b0b3 4 1)")"
	assert_success
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 "$(readrep 0000b0b0 1 1)"
	# 3 sectors do not fit a 1500-byte frame: AoE error 2 for this tag
	assert_line --index 1 "$(rep 1c 02 0001 02 00 0000b0b1 40 00 03 40 "$(le48 5)" 0000)"
	# past the end of the 64-sector disk: IDNF for this tag
	assert_line --index 2 "$(rep 18 00 0001 02 00 0000b0b2 40 10 01 41 "$(le48 64)" 0000)"
	assert_line --index 3 "$(readrep 0000b0b3 4 1)"
	# the primary out of range: its IDNF first, the sub-read still served
	run raw -W 500 "$(cread 24 0000b0c0 100 1 1 "$(desc 0000b0c1 2 1)")"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$(rep 18 00 0001 02 00 0000b0c0 40 10 01 41 "$(le48 100)" 0000)"
	assert_line --index 1 "$(readrep 0000b0c1 2 1)"
	stop_aoexd
	assert_counter sub_reads 4
	assert_counter aoe_errors 1
	assert_counter ata_errors 2
}

@test "coalesced read: descriptors cut off by the frame's end are ignored and counted" {
	make_disk 64
	start_aoexd
	run aoex ext $T coalesced_read
	assert_success
	# count 3: two whole descriptors and 10 bytes of the third
	local third
	third=$(desc 0000d0d3 9 1)
	run raw -W 500 "$(cread 24 0000d0d0 1 1 3 "$(desc 0000d0d1 2 1)" "$(desc 0000d0d2 3 1)" "${third:0:20}")"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 "$(readrep 0000d0d0 1 1)"
	assert_line --index 1 "$(readrep 0000d0d1 2 1)"
	assert_line --index 2 "$(readrep 0000d0d2 3 1)"
	# count 5 with one descriptor present
	run raw -W 500 "$(cread 24 0000d0e0 1 1 5 "$(desc 0000d0e1 2 1)")"
	assert_success
	assert_equal "${#lines[@]}" 2
	# count 0 with junk after it: a plain read
	run raw -W 500 "$(cread 24 0000d0f0 1 1 0 "$(desc 0000d0f1 2 1)")"
	assert_success
	assert_equal "${#lines[@]}" 1
	stop_aoexd
	assert_counter sub_ignored 5
	assert_counter sub_reads 3
}

@test "coalesced read: a READ SECTORS (0x20) primary makes its sub-reads LBA28" {
	make_disk 64
	start_aoexd
	run aoex ext $T coalesced_read
	assert_success
	# LBA bytes 03 00 00 10 01 00: bit 28 and byte 4 set; 28 bits leave 3
	run raw -W 500 "$(cread 20 0000e0e0 1 1 1 "0000e0e1 030000100100 0000000000 01")"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$(readrep 0000e0e0 1 1 00)"
	assert_line --index 1 "$(readrep 0000e0e1 3 1 00 030000100100)"
	# the same descriptor under a READ EXT primary is 0x10010000003: IDNF
	run raw -W 500 "$(cread 24 0000e0f0 1 1 1 "0000e0f1 030000100100 0000000000 01")"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 "$(rep 18 00 0001 02 00 0000e0f1 40 10 01 41 030000100100 0000)"
	stop_aoexd
	assert_counter sub_reads 2
}

@test "coalesced read: without negotiation the descriptors are ignored (one reply)" {
	make_disk 64
	start_aoexd
	local f
	f=$(cread 24 0000f0f0 1 1 2 "$(desc 0000f0f1 2 1)" "$(desc 0000f0f2 3 1)")
	run raw -W 500 "$f"
	assert_success
	assert_output "$(readrep 0000f0f0 1 1)"
	# another initiator negotiating it does not turn it on for us
	run aoex -m "$MAC_B" ext $T coalesced_read
	assert_success
	run raw -W 500 "$f"
	assert_success
	assert_output "$(readrep 0000f0f0 1 1)"
	# ours now
	run aoex ext $T coalesced_read
	assert_success
	run raw -W 500 "$f"
	assert_success
	assert_equal "${#lines[@]}" 3
	stop_aoexd
	assert_counter sub_reads 2
	assert_counter reads 5
}

@test "aoex read --coalesce: same data, 8 times fewer request frames" {
	make_disk 2048
	start_aoexd
	run aoex -w 4 read $T 0 2048 --coalesce 8 -o "$R"
	assert_success
	# 1024 reads of 2 sectors, 8 per frame
	assert_output "frames_sent=128 replies=1024"
	cmp "$DISK" "$R"
	# LBA28 and an odd count: the last frame carries fewer reads
	run aoex -w 4 read $T 7 1001 --lba28 --coalesce 5 -o "$R"
	assert_success
	assert_output "frames_sent=101 replies=501"
	sectors "$DISK" 7 1001 | cmp - "$R"
	# without --coalesce: one frame per read
	aoex -w 4 read $T 0 2048 -o "$R"
	cmp "$DISK" "$R"
	stop_aoexd
	assert_counter sub_reads $((1024 - 128 + 501 - 101))
	assert_counter reads $((1024 + 501 + 1024))
	assert_counter aoe_errors 0
	assert_counter ata_errors 0
}

@test "coalesced read: 93 reads per frame, window 16, more than the target's buffers" {
	make_disk 8192
	start_aoexd -b 16
	# 16 frames x 93 reads in flight against 64 request buffers (-b 16)
	run aoex -w 16 read $T 0 8184 --coalesce 93 -o "$R"
	assert_success
	assert_line --regexp '^frames_sent=[0-9]+ replies=4092$'
	sectors "$DISK" 0 8184 | cmp - "$R"
	# a frame of 94 reads does not fit an MTU of 1500
	run aoex read $T 0 8 --coalesce 94 -o "$R"
	assert_failure 2
	stop_aoexd
	local waits
	waits=$(counter coalesce_waits)
	[ "$waits" -gt 0 ] || fail "coalesce_waits=$waits: the sub-reads never waited for buffers"
	assert_counter aoe_errors 0
	assert_counter ata_errors 0
	assert_counter io_errors 0
	assert_counter sub_ignored 0
}

# ------------------------------------------------------------ congestion

@test "congestion: a new id is answered after 0.5 s, the same id at once, per initiator" {
	make_disk 64
	start_aoexd
	local ms
	run aoex probe $T --burst 16 --id 4711
	assert_success
	assert_output --regexp '^id=4711 burst=16 replied=16 first_reply_ms=[0-9]+ window=16$'
	ms=${output##*first_reply_ms=}; ms=${ms%% *}
	[ "$ms" -ge 450 ] && [ "$ms" -le 1500 ] || fail "first_reply_ms=$ms for a new id (want about 500)"
	run aoex probe $T --burst 16 --id 4711
	assert_success
	ms=${output##*first_reply_ms=}; ms=${ms%% *}
	[ "$ms" -lt 200 ] || fail "first_reply_ms=$ms for a repeated id (want at once)"
	# the id is remembered across a reset of the features
	run aoex ext $T tag_inc_le reset
	assert_success
	run aoex probe $T --burst 4 --id 4711
	assert_success
	ms=${output##*first_reply_ms=}; ms=${ms%% *}
	[ "$ms" -lt 200 ] || fail "first_reply_ms=$ms after a reset (want at once)"
	# another initiator with the same id: new for it
	run aoex -m "$MAC_B" probe $T --burst 4 --id 4711
	assert_success
	ms=${output##*first_reply_ms=}; ms=${ms%% *}
	[ "$ms" -ge 450 ] || fail "first_reply_ms=$ms for another initiator (want about 500)"
	stop_aoexd
	assert_counter congestion_probes $((17 + 17 + 5 + 5))
	assert_counter congestion_delays 2
	assert_counter aoe_errors 0
}

@test "congestion: the delay is a timer, other initiators are served meanwhile" {
	make_disk 64
	start_aoexd --control "$CTL_SOCK"
	local err=$BATS_TEST_TMPDIR/probe.err out=$BATS_TEST_TMPDIR/probe.out pid t0 ms
	aoex -v -d "$TMAC" probe $T --burst 4 --id 9001 >"$out" 2>"$err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_sent "$err"
	# the target has the first probe and the burst of 4, and holds their replies
	poll_until 5 eval '[ "$(live_stat "e$T" congestion_probes)" = 5 ] && [ "$(live_stat "e$T" congestion_delays)" = 1 ]' ||
		fail "the probe burst did not arrive: $(live_stat "e$T" congestion_probes) probes"
	t0=$(date +%s%N)
	aoex -m "$MAC_B" -d "$TMAC" -s 2 read $T 0 8 -o "$R"
	ms=$(ms_since "$t0")
	sectors "$DISK" 0 8 | cmp - "$R"
	# the probe is still waiting for its delayed reply
	pid_alive "$pid" || fail "the probe had finished before the read: nothing was measured"
	[ "$ms" -lt 300 ] || fail "the read took $ms ms while a probe was delayed"
	wait "$pid"
	run cat "$out"
	assert_output --regexp '^id=9001 burst=4 replied=4 first_reply_ms=[0-9]+ window=4$'
	ms=${output##*first_reply_ms=}; ms=${ms%% *}
	[ "$ms" -ge 450 ] || fail "first_reply_ms=$ms: the probe was not delayed"
	stop_aoexd
	assert_counter congestion_delays 1
	assert_counter reads 4
}

# ------------------------------------------------------------ tag_random

@test "tag_random: activated; a repeat of a frame still in hand (same tag) is skipped" {
	make_disk 64
	start_aoexd
	run aoex ext $T tag_random
	assert_success
	assert_output "TAG_RANDOM
active=tag_random"
	# A congestion probe with a new id stays in the target for 0.5 s: a
	# second frame with its tag arriving meanwhile is a retransmission of
	# work in hand, and is dropped.  (Duplicates of a disk request are the
	# same rule, but too quick to catch here.)
	local f first=$BATS_TEST_TMPDIR/first err=$BATS_TEST_TMPDIR/first.err pid
	f=$(extreq 00007777 "$(strs congestion 31337)")
	aoex -v raw -W 1200 "$f" >"$first" 2>"$err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_sent "$err"
	run raw -W 0 "$f"
	wait "$pid" || fail "the first probe got no reply"
	run cat "$first"
	assert_output "$(extrep 00007777 "$(strs CONGESTION 31337)")"
	# without tag_random the repeat is answered at once: two replies
	run aoex ext $T tag_inc_le
	assert_success
	f=$(extreq 00008888 "$(strs congestion 31338)")
	aoex -v raw -W 1200 "$f" >"$first" 2>"$err" 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_sent "$err"
	run raw -W 0 "$f"
	wait "$pid"
	run cat "$first"
	assert_equal "${#lines[@]}" 2
	stop_aoexd
	assert_counter tag_random_skipped 1
	assert_counter congestion_delays 2
}

# ------------------------------------------------------------ the peer table

@test "peer table: 64 initiators kept, the 65th evicts the oldest that never did I/O; writers keep their windows" {
	make_disk 64
	mk_payloads
	start_aoexd
	local m1=02:00:00:00:30:01 m2=02:00:00:00:30:02 m i
	xw 100 8 "$A" -m "$m1"
	xw 100 9 "$A" -m "$m2"
	# 63 more negotiate and never send an ATA command: the 65th of all
	# evicts the oldest of these (30:03), not m1, the least recently used
	for ((i = 3; i <= 65; i++)); do
		m=$(printf '02:00:00:00:30:%02x' "$i")
		aoex -m "$m" -d "$TMAC" ext $T tag_inc_le >/dev/null
	done
	# both writers are still known: their replays are duplicates
	pw 100 8 "$B" -m "$m1"
	disk_has 8 "$A"
	pw 100 9 "$B" -m "$m2"
	disk_has 9 "$A"
	# and everyone is still served
	aoex -m 02:00:00:00:30:41 read $T 0 8 -o "$R"
	sectors "$DISK" 0 8 | cmp - "$R"
	aoex read $T 0 8 -o "$R"
	stop_aoexd
	assert_counter ext_requests 65
	assert_counter peer_evictions 1
	assert_counter dup_writes 2
}

# ------------------------------------------------------------ access rules

@test "mask list: an initiator left out gets no Extensions reply and no state" {
	make_disk 64
	mk_payloads
	start_aoexd -m "$MAC_B"
	run raw "$(extreq 0000aa01 "$(strs tag_inc_le coalesced_read)")"
	assert_failure 3
	assert_output ""
	run raw -W 1000 "$(extreq 0000aa02 "$(strs congestion 77)")"
	assert_failure 3
	# B is on the list
	run aoex -m "$MAC_B" ext $T tag_inc_le
	assert_success
	# we are let in; the frames above left us nothing: plain AoE
	run aoex -m "$MAC_B" mask $T edit "+$IMAC"
	assert_success
	pw 100 8 "$A"
	pw 100 8 "$B"
	disk_has 8 "$B"
	run raw -W 300 "$(cread 24 0000aa03 1 1 1 "$(desc 0000aa04 2 1)")"
	assert_equal "${#lines[@]}" 1
	stop_aoexd
	assert_counter drop_masked 2
	assert_counter ext_requests 1
	assert_counter congestion_probes 0
	assert_counter dup_writes 0
}

@test "reservation: a coalesced read from outside gets error 6 and no sub-read replies" {
	make_disk 64
	start_aoexd
	run aoex ext $T coalesced_read
	assert_success
	run aoex -m "$MAC_B" reserve $T set "$MAC_B"
	assert_success
	run raw -W 500 "$(cread 24 0000ab01 1 1 3 "$(desc 0000ab02 2 1)" "$(desc 0000ab03 3 1)" \
		"$(desc 0000ab04 4 1)")"
	assert_success
	assert_output "$(rep 1c 06 0001 02 00 0000ab01 40 00 01 24 "$(le48 1)" 0000)"
	# the Extensions command itself is no ATA command: still answered
	run aoex ext $T coalesced_read
	assert_success
	# the holder's coalesced reads work
	run aoex -m "$MAC_B" ext $T coalesced_read
	assert_success
	run raw -m "$MAC_B" -W 500 "$(eth "$TMAC" "$MAC_B")" 10 00 0001 02 00 0000ab05 40 00 01 24 \
		"$(le48 1)" 0000 01 "$(desc 0000ab06 2 1)"
	assert_success
	assert_equal "${#lines[@]}" 2
	stop_aoexd
	assert_counter reserved_refused 1
	assert_counter sub_reads 1
	assert_counter reads 2
}

@test "a duplicate that arrives while its original is in flight is answered after it, written once" {
	make_disk 64
	mk_payloads
	start_aoexd --control "$CTL_SOCK"
	run aoex ext $T tag_inc_le
	assert_success
	# stopped, the daemon leaves both frames in its RX ring: it then takes
	# them in one wakeup, so the original's write is still queued when the
	# duplicate is looked at
	kill -STOP "$AOEXD_PID"
	ns "$AOEX" -i "$IIF" raw -W 0 "$(wframe 07000000 30 "$A")" >/dev/null || true
	ns "$AOEX" -i "$IIF" raw -W 0 "$(wframe 07000000 30 "$B")" >/dev/null || true
	kill -CONT "$AOEXD_PID"
	# until both are answered: the write's reply and the duplicate's, after
	# the advertisement and the Query Config and 0x23 replies of aoex ext
	poll_until 5 eval '[ "$(live_stat "$TIF" tx_frames)" = 5 ]' ||
		fail "tx_frames=$(live_stat "$TIF" tx_frames), want 5"
	stop_aoexd
	disk_has 30 "$A"
	assert_counter writes 1
	assert_counter dup_writes 1
	assert_counter dup_in_flight 1
	# both were answered: the write's reply and the duplicate's
	# + the advertisement, the Query Config and the 0x23 replies of aoex ext
	assert_counter tx_frames 5
}
