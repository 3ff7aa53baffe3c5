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
# frame): four interleaved reflected CRC-8s, polynomial 0xB2, start 0xFF,
# written here from the definition, not with aoexd's code
crc() {
	python3 - "$1" <<'PY'
import sys
b = bytes.fromhex(sys.argv[1])[24:]
lanes = [0xFF] * 4
for i, v in enumerate(b):
    c = lanes[i % 4] ^ v
    for _ in range(8):
        c = (c >> 1) ^ (0xB2 if c & 1 else 0)
    lanes[i % 4] = c
print(''.join('%02x' % c for c in lanes))
PY
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
