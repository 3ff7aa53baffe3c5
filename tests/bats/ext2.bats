#!/usr/bin/env bats
# ext2.bats - the Extensions aoexd adds to AoEde's, and AoEde's crc8x4, seen
# from the wire: crc8x4 (the check appended to replies with data, writes
# with a bad check dropped and counted, per initiator) and coalesced write
# acknowledgements (one reply frame for several writes, per-tag outcomes,
# never before the data is durable).  Exact bytes with `aoex raw', outcomes
# with aoex and the backing file, the daemon's view with its counters.
# (ext.bats covers the rest of the Extensions; fault.bats damages frames on
# the wire and shows what crc8x4 catches.)

# shellcheck disable=SC2030,SC2031
load helpers

T=1.2
A=$BATS_TEST_TMPDIR/a
B=$BATS_TEST_TMPDIR/b
R=$BATS_TEST_TMPDIR/r

# ext [-m MAC] TAG NAME...: negotiate from us (or MAC) with raw; prints the reply
ext() {
	local src=$IMAC opts=()
	if [ "$1" = -m ]; then src=$2; opts=(-m "$2"); shift 2; fi
	local tag=$1 tab
	shift
	tab=$(strs "$@")
	raw "${opts[@]}" "$(eth "$TMAC" "$src")" 10 00 0001 02 23 "$tag" "$(le16 $((${#tab} / 2)))" "$tab"
}

# crc HEX: the 4 crc8x4 bytes of a frame's bytes 24.. (HEX is the whole
# frame), computed from the definition (tests/tools/aoeframes.py), not with
# aoexd's code
crc() { pyframes "print(crc8x4(bytes.fromhex(sys.argv[1])[24:]).hex())" "$1"; }

# pyframes SCRIPT ARG...: python3 with tests/tools/aoeframes.py imported
pyframes() {
	local script=$1
	shift
	PYTHONPATH=$TOP_SRCDIR/tests/tools python3 -c "import sys
from aoeframes import *
$script" "$@"
}

secthex() { sectors "$DISK" "$1" "$2" | tohex; }

# rd TAG LBA COUNT: a READ EXT request from us
rd() { req 10 00 0001 02 00 "$1" 40 00 "$(printf '%02x' "$3")" 24 "$(le48 "$2")" 0000; }
# rdrep TAG LBA COUNT: its success reply, without a check
rdrep() { rep 18 00 0001 02 00 "$1" 40 00 00 40 "$(le48 "$2")" 0000 "$(secthex "$2" "$3")"; }

# wr TAG LBA FILE [CHECKHEX]: a WRITE EXT of FILE's sectors, CHECKHEX after them
wr() {
	local n=$(($(stat -c %s "$3") / 512))
	req 10 00 0001 02 00 "$1" 41 00 "$(printf '%02x' $n)" 34 "$(le48 "$2")" 0000 "$(tohex "$3")" "${4:-}"
}
# wrep TAG LBA: the success reply to a write
wrep() { rep 18 00 0001 02 00 "$1" 41 00 00 40 "$(le48 "$2")" 0000; }

disk_has() {
	sectors "$DISK" "$1" $(($(stat -c %s "$2") / 512)) | cmp -s - "$2" ||
		fail "sectors at $1 do not hold $(basename "$2")"
}

# ------------------------------------------------------------------ crc8x4

@test "crc8x4: negotiated and shown per initiator; reset turns it off" {
	make_disk 64
	start_aoexd --control "$CTL_SOCK"
	run ext 00000001 crc8x4 coalesced_read
	assert_success
	assert_output "$(rep 18 00 0001 02 23 00000001 1700 "$(strs CRC8X4 COALESCED_READ)")"
	run "$TOP_BUILDDIR/aoexctl" -s "$CTL_SOCK" status
	assert_success
	assert_line --regexp "^  initiator $IMAC requests=[0-9]+ extensions=coalesced_read,crc8x4$"
	run ext 00000002 crc8x4 reset
	assert_output "$(rep 18 00 0001 02 23 00000002 0e00 "$(strs crc8x4 RESET)")"
	run "$TOP_BUILDDIR/aoexctl" -s "$CTL_SOCK" status
	assert_line --regexp "^  initiator $IMAC requests=[0-9]+ extensions=-$"
	stop_aoexd
}

@test "crc8x4: read and IDENTIFY replies carry the check after the data, exact bytes; a plain initiator's do not" {
	make_disk 64
	start_aoexd
	run ext 00000001 crc8x4
	assert_success
	local want
	want=$(rdrep 0000a001 8 2)
	run raw "$(rd 0000a001 8 2)"
	assert_output "$want$(crc "$want")"
	assert_equal "${#output}" $(((36 + 1024 + 4) * 2))
	# a sub-read's reply too
	run ext 00000002 crc8x4 coalesced_read
	want=$(rdrep 0000a002 8 1)
	local want2
	want2=$(rep 18 00 0001 02 00 0000a003 40 00 00 40 "$(le48 20)" 0000 "$(secthex 20 2)")
	run raw "$(rd 0000a002 8 1)" 01 0000a003 "$(le48 20)" 0000000000 02
	assert_line --index 0 "$want$(crc "$want")"
	assert_line --index 1 "$want2$(crc "$want2")"
	# IDENTIFY: 512 bytes of data, so the check follows them
	run raw "$(req 10 00 0001 02 00 0000a004 00 00 01 ec 000000000000 0000)"
	assert_equal "${#output}" $(((36 + 512 + 4) * 2))
	assert_equal "${output:$(((36 + 512) * 2))}" "$(crc "${output:0:$(((36 + 512) * 2))}")"
	# an error reply (out of range) carries no data and no check
	run raw "$(rd 0000a005 63 2)"
	assert_output "$(rep 18 00 0001 02 00 0000a005 40 10 02 41 "$(le48 63)" 0000)"
	# another initiator that did not negotiate: plain replies
	run raw -m "$MAC_B" "$(eth "$TMAC" "$MAC_B")" 10 00 0001 02 00 0000b001 40 00 02 24 "$(le48 8)" 0000
	assert_output "$(pad60 "$(eth "$MAC_B" "$TMAC")" 18 00 0001 02 00 0000b001 40 00 00 40 "$(le48 8)" 0000 "$(secthex 8 2)")"
	stop_aoexd
	assert_counter crc_bad 0
}

@test "crc8x4: a write with a bad check gets no reply and is not written; a good one is; one without the 4 bytes is taken unchecked" {
	make_disk 64
	start_aoexd
	random_file "$A" 2
	random_file "$B" 2
	run ext 00000001 crc8x4 tag_inc_be
	assert_success
	local f good bad
	f=$(wr 00000100 4 "$A")
	good=$(crc "$f")
	bad=$(printf '%08x' $((0x$good ^ 0x00000100)))
	run raw "$f$bad"
	assert_output ""
	sectors "$DISK" 4 2 | cmp -s - "$A" && fail "the write with a bad check was written"
	# the same frame, its check right: written, acknowledged (the tag was
	# not marked by the refused copy, so it is no duplicate)
	run raw "$f$good"
	assert_output "$(wrep 00000100 4)"
	disk_has 4 "$A"
	# a damaged data byte under a right check: refused
	f=$(wr 00000101 10 "$B")
	good=$(crc "$f")
	run raw "${f:0:100}$(printf '%02x' $((0x${f:100:2} ^ 0x40)))${f:102}$good"
	assert_output ""
	# no check at all: AoEde takes it unchecked
	run raw "$(wr 00000102 10 "$B")"
	assert_output "$(wrep 00000102 10)"
	disk_has 10 "$B"
	stop_aoexd
	assert_counter crc_bad 2
	assert_counter dup_writes 0
}

@test "aoex -x crc8x4: writes carry the check, replies are checked, data exact; crc_bad=0 on a clean wire" {
	make_disk 4096
	start_aoexd
	random_file "$A" 2048
	run aoex -x crc8x4 -w 16 write $T 100 -f "$A"
	assert_success
	assert_output "crc8x4: crc_bad=0"
	ref_put 100 "$A"
	run aoex -x crc8x4 identify $T
	assert_success
	assert_line "crc8x4: crc_bad=0"
	aoex -x crc8x4 -w 16 read $T 0 4096 -o "$R" 2>"$R.err"
	cmp "$R" "$REF"
	grep -qx 'crc8x4: crc_bad=0' "$R.err"
	stop_aoexd
	assert_disk_is_ref
	assert_counter crc_bad 0
	# without -x nothing is printed
	start_aoexd
	run aoex read $T 0 8 -o "$R"
	assert_success
	assert_output ""
	stop_aoexd
}

# ------------------------------------------------- coalesced write acks

WACK=aoexd_coalesced_ack

# acks_check DUMP: the frames aoex -v logged (send/recv hex dumps), checked
# as an initiator of aoexd_coalesced_ack must read them: every write sent
# acknowledged exactly once, by a plain reply or an entry of a coalesced
# one; every ack (rebuilt: bytes 0..19 of its frame and the entry) is the
# plain reply to its write byte for byte, status STATUS (40, or 41 for
# tags listed in $FAILED_LBAS with error 04); a frame of N entries is
# 37 + 16 N bytes (60 when shorter, zero padded).  Prints "frames acks
# coalesced_frames max_acks_in_a_frame failed_acks".  With $PARTIAL set,
# writes may be left unacknowledged (aoex stopped at an error).
acks_check() {
	pyframes "$(cat <<'PY'
dump, imac, tmac, failed, partial = sys.argv[1:6]
failed = {int(x) for x in failed.split()}
fr = frames(dump)
sent = {f[20:24]: f[28:34] for what, f in fr if what == 'send' and f[19] == 0 and f[24] & 1}
acked, nframes, ncoal, most = {}, 0, 0, 0
def plain(tag, lba):
    st, er = (0x41, 4) if int.from_bytes(lba, 'little') in failed else (0x40, 0)
    return mac(imac) + mac(tmac) + bytes.fromhex('88a2180000010200') + tag + bytes([0x41, er, 0, st]) + lba + b'\0\0'
for what, f in fr:
    if what != 'recv' or f[12:14] != b'\x88\xa2' or f[19] != 0 or f[:6] != mac(imac):
        continue
    nframes += 1
    n = f[36]
    assert len(f) == (max(60, 37 + 16 * n) if n else 60), 'frame of %d entries is %d bytes' % (n, len(f))
    assert not any(f[37 + 16 * n if n else 36:]), 'padding not zero'
    acks = [f[:36]] + [f[:20] + f[37 + 16 * i:53 + 16 * i] for i in range(n)]
    ncoal += n > 0
    most = max(most, n + 1)
    for a in acks:
        tag = a[20:24]
        assert tag in sent, 'ack for a tag never sent: %s' % tag.hex()
        assert a == plain(tag, sent[tag]), 'ack %s is not the plain reply %s' % (a.hex(), plain(tag, sent[tag]).hex())
        acked[tag] = acked.get(tag, 0) + 1
assert partial or set(acked) == set(sent), '%d writes sent, %d acknowledged' % (len(sent), len(acked))
assert all(v == 1 for v in acked.values()), 'a write acknowledged twice'
nfail = sum(1 for t in acked if int.from_bytes(sent[t], 'little') in failed)
print(nframes, len(acked), ncoal, most, nfail)
PY
)" "$1" "$IMAC" "$TMAC" "${FAILED_LBAS:-}" "${PARTIAL:-}"
}

@test "aoexd_coalesced_ack: negotiated; one write's reply is the plain reply byte for byte" {
	make_disk 64
	start_aoexd
	run ext 00000001 $WACK
	assert_output "$(rep 18 00 0001 02 23 00000001 1500 "$(strs AOEXD_COALESCED_ACK)")"
	random_file "$A" 2
	run raw "$(wr 00000100 4 "$A")"
	assert_output "$(wrep 00000100 4)"
	disk_has 4 "$A"
	stop_aoexd
	assert_counter wack_frames 0
}

@test "aoexd_coalesced_ack: a window of writes, fewer reply frames; each ack is the plain reply to its write, once" {
	make_disk 4096
	start_aoexd
	random_file "$A" 1024
	aoex -v -x $WACK -w 32 -s 2 write $T 100 -f "$A" 2>"$BATS_TEST_TMPDIR/dump"
	ref_put 100 "$A"
	local r
	r=($(acks_check "$BATS_TEST_TMPDIR/dump")) || fail "${r[*]}"
	[ "${r[1]}" = 512 ] || fail "acks: ${r[*]}"
	[ "${r[2]}" -gt 0 ] && [ "${r[0]}" -lt 512 ] || fail "nothing coalesced: ${r[*]}"
	stop_aoexd
	assert_disk_is_ref
	assert_counter writes 512
	assert_counter wack_frames "${r[2]}"
	# tx_frames: the advertisement, the Query Config and Extensions
	# replies, then the write acks
	assert_counter tx_frames $((r[0] + 3))
	echo "# 512 writes, ${r[0]} reply frames, ${r[2]} of them coalesced, up to ${r[3]} acks in one" >&3
}

@test "aoexd_coalesced_ack: a plain initiator writing at the same time gets one plain reply per write" {
	make_disk 8192
	start_aoexd
	random_file "$A" 2048
	random_file "$B" 2048
	aoex -v -x $WACK -w 32 write $T 0 -f "$A" 2>"$BATS_TEST_TMPDIR/dump" &
	local p=$!
	aoex -v -m "$MAC_B" -w 32 write $T 4096 -f "$B" 2>"$BATS_TEST_TMPDIR/dump.b"
	wait $p
	ref_put 0 "$A"
	ref_put 4096 "$B"
	# MAC_B's receive dumps: every ATA reply 60 bytes with zeros from 36
	pyframes "$(cat <<'PY'
ata = [f for w, f in frames(sys.argv[1]) if w == 'recv' and f[19] == 0 and f[:6] == mac(sys.argv[2])]
assert len(ata) == 1024, '%d ATA replies' % len(ata)
assert all(len(f) == 60 and not any(f[36:]) for f in ata), 'a reply is not plain'
PY
)" "$BATS_TEST_TMPDIR/dump.b" "$MAC_B"
	stop_aoexd
	assert_disk_is_ref
}

@test "aoexd_coalesced_ack: a write that fails on disk is reported for its own tag (status 0x41, ABRT), the others succeed" {
	require_net
	SMALL_FS=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL_FS"
	mount -t tmpfs -o size=256k tmpfs "$SMALL_FS"
	DISK=$SMALL_FS/disk.img
	truncate -s 8M "$DISK"
	# 64 KiB of the disk written (allocated) first, then the rest of the
	# file system filled: writes there succeed, most beyond fail
	dd if=/dev/urandom of="$DISK" bs=64k count=1 conv=notrunc status=none
	dd if=/dev/zero of="$SMALL_FS/filler" bs=4k 2>/dev/null || true
	start_aoexd
	random_file "$A" 256
	local rc=0
	aoex -v -x $WACK -w 32 -s 2 write $T 0 -f "$A" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/dump" || rc=$?
	[ "$rc" = 1 ] || fail "aoex exited $rc: $(cat "$BATS_TEST_TMPDIR/out")"
	grep -qE '^status=0x41 error=0x04 lba=[0-9]+$' "$BATS_TEST_TMPDIR/out" ||
		fail "no failure reported: $(cat "$BATS_TEST_TMPDIR/out")"
	stop_aoexd
	umount -l "$SMALL_FS" 2>/dev/null || true
	SMALL_FS=
	# aoex stops at the first error: every ack that came is the plain
	# reply to its write, those the daemon logged as failed with 0x41/ABRT
	FAILED_LBAS=$(grep -oE 'bytes at sector [0-9]+ failed' "$LOG" | awk '{ print $4 }' | tr '\n' ' ')
	PARTIAL=1
	local r
	r=($(acks_check "$BATS_TEST_TMPDIR/dump")) || fail "${r[*]}"
	[ "${r[4]}" -gt 0 ] && [ "${r[1]}" -gt "${r[4]}" ] || fail "acks: ${r[*]}"
	echo "# ${r[1]} acks in ${r[0]} frames (${r[2]} coalesced), ${r[4]} of them failures" >&3
}

teardown() {
	if [ -n "${SMALL_FS:-}" ]; then umount -l "$SMALL_FS" 2>/dev/null || true; fi
	aoexbats_teardown
}

@test "aoexd_coalesced_ack with tag_inc_le: a replayed write is acknowledged, not written; with crc8x4 a coalesced frame carries the check" {
	make_disk 4096
	start_aoexd
	random_file "$A" 256
	random_file "$B" 256
	aoex -x $WACK,tag_inc_le -T 1000 -w 32 -s 2 write $T 0 -f "$A"
	aoex -x $WACK,tag_inc_le -T 2000 -w 32 -s 2 write $T 0 -f "$B"
	# the first stream again, same tags: all duplicates, all acknowledged
	aoex -x $WACK,tag_inc_le -T 1000 -w 32 -s 2 write $T 0 -f "$A"
	ref_put 0 "$B"
	cmp <(sectors "$DISK" 0 256) "$B"
	aoex -v -x $WACK,crc8x4 -w 32 -s 2 write $T 1000 -f "$A" 2>"$BATS_TEST_TMPDIR/dump"
	ref_put 1000 "$A"
	# frames with entries end in the check of bytes 24.. (computed here)
	pyframes "$(cat <<'PY'
coal = [f for w, f in frames(sys.argv[1]) if w == 'recv' and f[19] == 0 and f[36]]
assert coal, 'nothing coalesced'
for f in coal:
    end = 37 + 16 * f[36]
    assert len(f) == max(60, end + 4) and f[end:end + 4] == crc8x4(f[24:end]), 'bad check'
PY
)" "$BATS_TEST_TMPDIR/dump"
	stop_aoexd
	assert_disk_is_ref
	assert_counter dup_writes 128
	assert_counter crc_bad 0
}

@test "aoexd_coalesced_ack then coalesced reads on the same MAC: every sub-read answered, none taken for an ack" {
	make_disk 8192
	start_aoexd
	random_file "$A" 512
	# request buffers of coalesced write acks are reused by the sub-reads
	aoex -x $WACK,crc8x4 -w 16 write $T 100 -f "$A" 2>/dev/null
	ref_put 100 "$A"
	run aoex -x crc8x4,coalesced_read -w 8 read $T 0 4096 --coalesce 4 -o "$R"
	assert_success
	# 2048 reads of 2 sectors, 4 a frame: 512 frames, none sent again
	assert_line "frames_sent=512 replies=2048"
	assert_line "crc8x4: crc_bad=0"
	cmp "$R" <(sectors "$REF" 0 4096)
	stop_aoexd
}
