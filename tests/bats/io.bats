#!/usr/bin/env bats
# io.bats - reads and writes end to end: what aoex writes must be in the
# backing file byte for byte (and nothing else may change), what it reads
# must be the file's bytes, and out-of-range, oversized, short and
# read-only requests must fail the documented way without touching the
# file.  Every scenario runs twice: on the PACKET_RX_RING/PACKET_TX_RING
# path and on the recvmmsg/sendmmsg fallback (--no-rx-ring --no-tx-ring);
# the daemon's log must confirm which one it used.

load helpers

T=1.2

# io_path ring|fallback|plain: choose the packet path of the next start_aoexd
io_path() {
	local a=() w
	for w in $AOEXD_EXTRA_ARGS; do
		case $w in
		--no-rx-ring | --no-tx-ring | --no-mmsg) ;;
		*) a+=("$w") ;;
		esac
	done
	case $1 in
	ring) EXPECT_PATH="rx-ring(v2)/tx-ring(v2)" ;;
	fallback)
		a+=(--no-rx-ring --no-tx-ring)
		EXPECT_PATH="recvmmsg/sendmmsg"
		;;
	plain)	# what kernels without recvmmsg/sendmmsg get
		a+=(--no-rx-ring --no-tx-ring --no-mmsg)
		EXPECT_PATH="recvfrom/sendto"
		;;
	esac
	AOEXD_PATH_ARGS="${a[*]}"
}

W=$BATS_TEST_TMPDIR/w	# data to write
R=$BATS_TEST_TMPDIR/r	# data read back

# ---------------------------------------------------------------- scenarios

# A store that fails: the image sits on a 64 KiB tmpfs that is already full,
# so the write gets ENOSPC from the kernel.  The initiator must see an ATA
# error (not a hang, not a silent success) and the daemon must log it.
io_store_fails() {
	SMALL_FS=$BATS_TEST_TMPDIR/small
	mkdir -p "$SMALL_FS"
	mount -t tmpfs -o size=64k tmpfs "$SMALL_FS"
	DISK=$SMALL_FS/disk.img
	truncate -s 8M "$DISK"
	dd if=/dev/zero of="$SMALL_FS/filler" bs=4k 2>/dev/null || true
	start_aoexd
	random_file "$W" 1
	run aoex -w 1 write $T 100 -f "$W"
	assert_failure 1
	assert_output --partial "status=0x41 error=0x04"
	grep -q "e1.2: write of 512 bytes at sector 100 failed: No space left on device" "$LOG" ||
		fail "no log line for the failed write"
	# a hole still reads back as zeros and the daemon keeps serving
	aoex read $T 100 1 -o "$R"
	cmp -n 512 "$R" /dev/zero
	stop_aoexd
	assert_counter io_errors 1
}

teardown() {
	if [ -n "${SMALL_FS:-}" ]; then umount -l "$SMALL_FS" 2>/dev/null || true; fi
	aoexbats_teardown
}

io_roundtrip_lba48() {
	make_disk 4096
	start_aoexd
	random_file "$W" 64
	aoex write $T 100 -f "$W"
	ref_put 100 "$W"
	assert_disk_is_ref
	aoex read $T 100 64 -o "$R"
	cmp "$W" "$R"
	# data never written comes from the file as it was
	aoex read $T 1000 100 -o "$R"
	sectors "$DISK" 1000 100 | cmp - "$R"
	# an odd count: the last frame carries one sector
	random_file "$W" 7
	aoex write $T 3001 -f "$W"
	ref_put 3001 "$W"
	assert_disk_is_ref
	aoex read $T 3001 7 -o "$R"
	cmp "$W" "$R"
	stop_aoexd
	assert_counter writes $((32 + 4))
	assert_counter write_bytes $(((64 + 7) * 512))
	assert_counter reads $((32 + 50 + 4))
	assert_counter read_bytes $(((64 + 100 + 7) * 512))
	assert_counter io_errors 0
	assert_counter tx_dropped 0
}

io_roundtrip_lba28() {
	make_disk 4096
	start_aoexd
	random_file "$W" 10
	aoex write $T 2000 -f "$W" --lba28
	ref_put 2000 "$W"
	assert_disk_is_ref
	aoex read $T 2000 10 -o "$R" --lba28
	cmp "$W" "$R"
	# LBA28 and LBA48 address the same sectors
	aoex read $T 2000 10 -o "$R"
	cmp "$W" "$R"
	# the device bits in the top nibble of LBA byte 3 are not address bits
	run aoex ata $T 0x20 --lba $((0xE0000000 + 2000)) --count 1 --expect-len
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=$((0xE0000000 + 2000)) len=548"
	run aoex ata $T 0x30 --aflags 1 --lba $((0xE0000000 + 5)) --count 1 --data "$W"
	assert_failure 2	# 10 sectors of data do not fit one frame: aoex refuses
	head -c 512 "$W" >"$BATS_TEST_TMPDIR/one"
	run aoex ata $T 0x30 --aflags 1 --lba $((0xE0000000 + 5)) --count 1 --data "$BATS_TEST_TMPDIR/one"
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=$((0xE0000000 + 5)) len=60"
	ref_put 5 "$BATS_TEST_TMPDIR/one"
	assert_disk_is_ref
	# without aflags E the same LBA through 0x24 is a 48-bit one: IDNF
	run aoex ata $T 0x24 --aflags 0x40 --lba $((0xE0000000 + 5)) --count 1
	assert_failure 1
	assert_output "status=0x41 error=0x10 count=1 lba=$((0xE0000000 + 5)) len=60"
}

io_first_last_sector() {
	make_disk 4096
	start_aoexd
	random_file "$W" 1
	aoex write $T 0 -f "$W"
	ref_put 0 "$W"
	aoex read $T 0 1 -o "$R"
	cmp "$W" "$R"
	random_file "$W" 1
	aoex write $T 4095 -f "$W"
	ref_put 4095 "$W"
	aoex read $T 4095 1 -o "$R"
	cmp "$W" "$R"
	# two sectors ending exactly at the end
	random_file "$W" 2
	aoex write $T 4094 -f "$W" --lba28
	ref_put 4094 "$W"
	aoex read $T 4094 2 -o "$R"
	cmp "$W" "$R"
	assert_disk_is_ref
	[ "$(stat -c %s "$DISK")" = $((4096 * 512)) ] || fail "the backing file changed size"
}

io_past_end() {
	make_disk 4096
	start_aoexd
	random_file "$W" 1
	local before
	before=$(sha "$DISK")
	run aoex ata $T 0x34 --aflags 0x41 --lba 4096 --count 1 --data "$W"
	assert_failure 1
	assert_output "status=0x41 error=0x10 count=1 lba=4096 len=60"
	run aoex write $T 4096 -f "$W"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4096"
	run aoex write $T 4096 -f "$W" --lba28
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4096"
	run aoex read $T 4096 1 -o "$R"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4096"
	run aoex ata $T 0x24 --aflags 0x40 --lba $((0xffffffffffff)) --count 1
	assert_failure 1
	assert_output --partial "status=0x41 error=0x10"
	assert_equal "$(sha "$DISK")" "$before"
	[ "$(stat -c %s "$DISK")" = $((4096 * 512)) ] || fail "the backing file grew"
	stop_aoexd
	assert_counter writes 0
	assert_counter reads 0
	assert_counter ata_errors 5
}

io_crossing_end() {
	make_disk 4096
	start_aoexd
	random_file "$W" 2
	run aoex ata $T 0x24 --aflags 0x40 --lba 4095 --count 2
	assert_failure 1
	assert_output "status=0x41 error=0x10 count=2 lba=4095 len=60"
	run aoex read $T 4095 2 -o "$R"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4095"
	# a write across the end writes nothing, not even its first sector
	run aoex write $T 4095 -f "$W"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=4095"
	assert_disk_is_ref
	stop_aoexd
	assert_counter writes 0
}

io_count_over_frame() {
	make_disk 4096
	start_aoexd
	random_file "$W" 2
	run aoex ata $T 0x24 --aflags 0x40 --count 3
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	run aoex ata $T 0x20 --count 255
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	# 3 sectors claimed with 2 sectors of data
	run aoex ata $T 0x34 --aflags 0x41 --lba 10 --count 3 --data "$W"
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	# exact bytes: E flag, error 2, the ATA header echoed
	run raw "$(req 10 00 0001 02 00 00000303 40 00 03 24 0a0000000000 0000 "$(zeros 24)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 00 00000303 40 00 03 40 0a0000000000 0000)"
	assert_disk_is_ref
	stop_aoexd
	assert_counter writes 0
	assert_counter reads 0
	assert_counter aoe_errors 4
}

io_short_payload() {
	make_disk 4096
	start_aoexd
	head -c 1000 /dev/urandom >"$W.1000"
	head -c 511 /dev/urandom >"$W.511"
	run aoex ata $T 0x34 --aflags 0x41 --lba 10 --count 2 --data "$W.1000"
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	run aoex ata $T 0x30 --aflags 0x01 --lba 10 --count 1 --data "$W.511"
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	run aoex ata $T 0x34 --aflags 0x41 --lba 10 --count 1
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	assert_disk_is_ref
	# count 0 moves nothing and succeeds
	run aoex ata $T 0x34 --aflags 0x41 --lba 10 --count 0
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=10 len=60"
	assert_disk_is_ref
	stop_aoexd
	assert_counter writes 0
	assert_counter write_bytes 0
}

io_read_only() {
	make_disk 4096
	chmod 0444 "$DISK"
	start_aoexd -r
	grep -q "4096 sectors, read-only" "$LOG" || fail "not served read-only"
	local before
	before=$(sha "$DISK")
	random_file "$W" 4
	run aoex -w 1 write $T 0 -f "$W"
	assert_failure 1
	assert_output "status=0x41 error=0x04 lba=0"
	run aoex ata $T 0x30 --aflags 1 --lba 7 --count 1 --data <(head -c 512 "$W")
	assert_failure 1
	assert_output "status=0x41 error=0x04 count=1 lba=7 len=60"
	# reads, IDENTIFY and FLUSH work
	aoex read $T 0 4 -o "$R"
	sectors "$DISK" 0 4 | cmp - "$R"
	run aoex identify $T
	assert_success
	assert_line "sectors=4096"
	run aoex flush $T
	assert_success
	stop_aoexd
	assert_equal "$(sha "$DISK")" "$before"
	assert_counter writes 0
	assert_counter ata_errors 2
}

io_offset_length() {
	make_disk 256
	start_aoexd -o 8 -l 64
	run aoex identify $T
	assert_success
	assert_line "sectors=64"
	aoex read $T 0 64 -o "$R"
	sectors "$DISK" 8 64 | cmp - "$R"
	random_file "$W" 2
	aoex write $T 0 -f "$W"
	ref_put 8 "$W"
	random_file "$W" 1
	aoex write $T 63 -f "$W"
	ref_put 71 "$W"
	assert_disk_is_ref
	run aoex write $T 64 -f "$W"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=64"
	run aoex read $T 63 2 -o "$R"
	assert_failure 1
	assert_disk_is_ref
	stop_aoexd
	# an offset alone exports the rest of the file
	start_aoexd -o 100
	run aoex identify $T
	assert_line "sectors=156"
	aoex read $T 155 1 -o "$R"
	sectors "$DISK" 255 1 | cmp - "$R"
	random_file "$W" 1
	aoex write $T 155 -f "$W"
	ref_put 255 "$W"
	assert_disk_is_ref
}

io_mtu9000() {
	set_mtu 9000
	make_disk 4096
	start_aoexd
	run aoex config $T read
	assert_output --partial " sectors=17 "
	random_file "$W" $((17 * 30))
	aoex write $T 7 -f "$W"
	ref_put 7 "$W"
	assert_disk_is_ref
	aoex read $T 7 $((17 * 30)) -o "$R"
	cmp "$W" "$R"
	run aoex ata $T 0x24 --aflags 0x40 --lba 7 --count 17 --expect-len
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=7 len=$((36 + 17 * 512))"
	run aoex ata $T 0x24 --aflags 0x40 --lba 7 --count 18
	assert_failure 1
	assert_line "aoe_error=2 (bad argument)"
	stop_aoexd
	# 17 sectors per frame, both ways
	assert_counter writes 30
	assert_counter reads 31
}

io_null_store() {
	require_net
	start_aoexd_argv "$SHELF" "$SLOT" "$TIF" null:1G
	run aoex identify $T
	assert_success
	assert_line "sectors=2097152"
	aoex read $T 0 256 -o "$R"
	head -c $((256 * 512)) /dev/zero | cmp - "$R"
	aoex read $T 2097150 2 -o "$R"
	head -c 1024 /dev/zero | cmp - "$R"
	# writes are accepted and forgotten
	random_file "$W" 2
	aoex write $T 1000 -f "$W"
	aoex read $T 1000 2 -o "$R"
	head -c 1024 /dev/zero | cmp - "$R"
	run aoex read $T 2097152 1 -o "$R"
	assert_failure 1
	assert_output "status=0x41 error=0x10 lba=2097152"
	run aoex flush $T
	assert_success
}

io_multi_mib_window16() {
	make_disk 16384
	start_aoexd
	random_file "$W" 8192	# 4 MiB
	aoex -w 16 write $T 1000 -f "$W"
	ref_put 1000 "$W"
	assert_disk_is_ref
	aoex -w 16 read $T 1000 8192 -o "$R"
	cmp "$W" "$R"
	# from stdin too (read into memory first)
	random_file "$W" 2048
	aoex -w 16 write $T 9000 <"$W"
	ref_put 9000 "$W"
	aoex -w 16 read $T 9000 2048 >"$R"
	cmp "$W" "$R"
	assert_disk_is_ref
	stop_aoexd
	assert_counter writes $((4096 + 1024))
	assert_counter write_bytes $(((8192 + 2048) * 512))
	assert_counter reads $((4096 + 1024))
	assert_counter io_errors 0
	assert_counter tx_full 0
	assert_counter tx_dropped 0
}

# open_flags: the open flags (octal, /proc/PID/fdinfo) of aoexd's file
# descriptor for $DISK
open_flags() {
	local fd
	for fd in "/proc/$AOEXD_PID/fd/"*; do
		if [ "$fd" -ef "$DISK" ]; then
			awk '$1 == "flags:" { print $2 }' "/proc/$AOEXD_PID/fdinfo/${fd##*/}"
			return 0
		fi
	done
	fail "aoexd (pid $AOEXD_PID) has no descriptor for $DISK: $(ls -l "/proc/$AOEXD_PID/fd/")"
}

# assert_open_flags [+-]FLAG...: aoexd's descriptor for $DISK has (+) or
# lacks (-) each of O_DIRECT and O_DSYNC; where the file system has no
# O_DIRECT (aoexd says so and falls back), +O_DIRECT means it must lack it
assert_open_flags() {
	local flags have want f v
	flags=$(open_flags) || return 1
	for want in "$@"; do
		if [ "$want" = +O_DIRECT ] && grep -q "no O_DIRECT on this file system" "$LOG"; then
			want=-O_DIRECT
		fi
		f=${want#?}
		case $f in
		O_DSYNC) v=010000 ;;
		O_DIRECT)
			case $(uname -m) in
			x86_64 | i?86) v=040000 ;;
			aarch64 | arm*) v=0200000 ;;
			*) skip "O_DIRECT's value on $(uname -m) is not known here" ;;
			esac ;;
		esac
		have=$(((8#$flags & 8#$v) != 0))
		case $want in
		+*) [ "$have" = 1 ] || fail "the backing file is open without $f (flags $flags)" ;;
		-*) [ "$have" = 0 ] || fail "the backing file is open with $f (flags $flags)" ;;
		esac
	done
}

io_open_flags() {
	make_disk 64
	start_aoexd
	! grep -q "no O_DIRECT on this file system" "$LOG" ||
		skip "$(dirname "$DISK") has no O_DIRECT: aoexd falls back to buffered I/O there"
	assert_open_flags +O_DIRECT -O_DSYNC
	stop_aoexd
	start_aoexd -s
	assert_open_flags +O_DIRECT +O_DSYNC
	stop_aoexd
	start_aoexd --buffered
	assert_open_flags -O_DIRECT -O_DSYNC
	grep -q "read-write, buffered" "$LOG" || fail "not served buffered"
	stop_aoexd
	start_aoexd --buffered -s
	assert_open_flags -O_DIRECT +O_DSYNC
	stop_aoexd
}

io_direct_sync() {
	make_disk 4096
	start_aoexd -d -s
	assert_open_flags +O_DIRECT +O_DSYNC
	# odd LBAs and counts: the O_DIRECT bounce path where the file system
	# has O_DIRECT, plain I/O where it has not
	random_file "$W" 3
	aoex write $T 1001 -f "$W"
	ref_put 1001 "$W"
	aoex read $T 1001 3 -o "$R"
	cmp "$W" "$R"
	aoex -s 1 read $T 1000 5 -o "$R"
	sectors "$REF" 1000 5 | cmp - "$R"
	stop_aoexd
	assert_disk_is_ref
	assert_counter io_errors 0
}

# ------------------------------------------------------------------ tests

@test "ring: write/read round trip (LBA48) matches the backing file" { io_path ring; io_roundtrip_lba48; }
@test "fallback: write/read round trip (LBA48) matches the backing file" { io_path fallback; io_roundtrip_lba48; }

@test "ring: LBA28 round trip, device bits ignored" { io_path ring; io_roundtrip_lba28; }
@test "fallback: LBA28 round trip, device bits ignored" { io_path fallback; io_roundtrip_lba28; }

@test "ring: first and last sector" { io_path ring; io_first_last_sector; }
@test "fallback: first and last sector" { io_path fallback; io_first_last_sector; }
@test "plain recvfrom/sendto (--no-mmsg): round trip (LBA48)" { io_path plain; io_roundtrip_lba48; }
@test "plain recvfrom/sendto (--no-mmsg): first and last sector" { io_path plain; io_first_last_sector; }
@test "plain recvfrom/sendto (--no-mmsg): sector count over the frame -> AoE error 2" { io_path plain; io_count_over_frame; }

@test "ring: one past the end -> IDNF, file unchanged" { io_path ring; io_past_end; }
@test "fallback: one past the end -> IDNF, file unchanged" { io_path fallback; io_past_end; }

@test "ring: read or write crossing the end -> IDNF, nothing written" { io_path ring; io_crossing_end; }
@test "fallback: read or write crossing the end -> IDNF, nothing written" { io_path fallback; io_crossing_end; }

@test "ring: sector count over the frame (3 at MTU 1500) -> AoE error 2" { io_path ring; io_count_over_frame; }
@test "fallback: sector count over the frame (3 at MTU 1500) -> AoE error 2" { io_path fallback; io_count_over_frame; }

@test "ring: short write payload -> AoE error 2, file unchanged" { io_path ring; io_short_payload; }
@test "fallback: short write payload -> AoE error 2, file unchanged" { io_path fallback; io_short_payload; }

@test "ring: read-only export: writes fail with ABRT, checksum unchanged" { io_path ring; io_read_only; }
@test "fallback: read-only export: writes fail with ABRT, checksum unchanged" { io_path fallback; io_read_only; }

@test "ring: -o/-l offset and length: size and placement" { io_path ring; io_offset_length; }
@test "fallback: -o/-l offset and length: size and placement" { io_path fallback; io_offset_length; }

@test "ring: MTU 9000 round trip with 17-sector frames" { io_path ring; io_mtu9000; }
@test "fallback: MTU 9000 round trip with 17-sector frames" { io_path fallback; io_mtu9000; }

@test "ring: null:1G reads zeros and forgets writes" { io_path ring; io_null_store; }
@test "fallback: null:1G reads zeros and forgets writes" { io_path fallback; io_null_store; }

@test "ring: 5 MiB round trip with 16 frames outstanding" { io_path ring; io_multi_mib_window16; }
@test "fallback: 5 MiB round trip with 16 frames outstanding" { io_path fallback; io_multi_mib_window16; }
@test "plain recvfrom/sendto (--no-mmsg): 5 MiB round trip with 16 frames outstanding" { io_path plain; io_multi_mib_window16; }

@test "ring: -d -s (O_DIRECT, O_DSYNC) round trip at odd offsets" { io_path ring; io_direct_sync; }
@test "fallback: -d -s (O_DIRECT, O_DSYNC) round trip at odd offsets" { io_path fallback; io_direct_sync; }
@test "open flags of the backing file: O_DIRECT by default, O_DSYNC with -s, neither with --buffered" { io_open_flags; }

@test "ring: backing store out of space -> ATA error, log line, daemon serves on" { io_path ring; io_store_fails; }
@test "fallback: backing store out of space -> ATA error, log line, daemon serves on" { io_path fallback; io_store_fails; }
