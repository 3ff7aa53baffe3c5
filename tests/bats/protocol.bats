#!/usr/bin/env bats
# protocol.bats - AoE r11 rules seen from the wire: discovery and the
# start-up advertisement, addressing, Query Config, IDENTIFY and the other
# non-I/O ATA commands, errors for unknown commands and versions, the MAC
# mask list and reservations.  Exact bytes are checked with `aoex raw',
# outcomes with aoex's output and exit codes, and the daemon's own view
# with the counters it logs when it stops.

load helpers

T=1.2	# the target, as aoex writes it

# cfgread SHELF SLOT TAG: a Query Config read request, whole frame
cfgread() { req 10 00 "$1" "$2" 01 "$3" "$(zeros 36)"; }

# cfgreply TAG [BUFCNT [SCNT]]: the reply to it with an empty config string
cfgreply() { rep 18 00 0001 02 01 "$1" "${2:-0040}" 0100 "${3:-02}" 10 0000; }

# capture_start: listen on the initiator end in the background (into $CAP)
# until capture_stop; returns once the socket is open
capture_start() {
	local before i
	CAP=$BATS_TEST_TMPDIR/capture.txt
	before=$(ns cat /proc/net/packet | wc -l)
	# sends one frame for nobody (e9.9), then prints every reply it sees
	aoex raw -W 10000 "$(cfgread 0009 09 00000999)" >"$CAP" 2>&1 3>&- &
	CAP_PID=$!
	BG_PIDS+=("$CAP_PID")
	for ((i = 0; i < 500; i++)); do
		[ "$(ns cat /proc/net/packet | wc -l)" -gt "$before" ] && return 0
		sleep 0.01
	done
	fail "aoex raw did not open its socket"
}

# capture_wait N: until $CAP holds N lines (at most 5 s), then stop aoex
capture_wait() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(wc -l <"$CAP")" -ge "$1" ] && break
		sleep 0.01
	done
	# a sleep on purpose: anything that should not be there would come now
	sleep 0.1
	kill "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
}

# ------------------------------------------------------------- discovery

@test "discover: one line in the documented format, bufcnt 64, 2 sectors at MTU 1500" {
	make_disk 2048
	start_aoexd
	run aoex discover -W 200
	assert_success
	assert_output "e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config=\"\""
}

@test "discover: -b sets the advertised buffer count" {
	make_disk 64
	start_aoexd -b 64
	run aoex discover -W 200
	assert_success
	assert_output "e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config=\"\""
	stop_aoexd
	start_aoexd -b 2
	run aoex config $T read
	assert_success
	assert_output "e1.2 mac=$TMAC bufcnt=2 fw=0x0100 sectors=2 ver=1 config=\"\""
}

@test "discover: 17 sectors at MTU 9000, --mtu lowers it, 1 sector at MTU 1000" {
	make_disk 64
	set_mtu 9000
	start_aoexd
	run aoex discover -W 200
	assert_success
	assert_output "e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=17 ver=1 config=\"\""
	grep -q "$TIF: mac $TMAC, mtu 9000, 17 sectors per frame" "$LOG" || fail "no interface line"
	stop_aoexd
	start_aoexd --mtu 1500
	run aoex discover -W 200
	assert_output --partial " sectors=2 "
	stop_aoexd
	set_mtu 1000
	start_aoexd
	run aoex discover -W 200
	assert_output --partial " sectors=1 "
}

@test "an MTU too small for one sector is refused at start-up" {
	require_net
	make_disk 64
	set_mtu 500
	run timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" 1 2 "$TIF" "$DISK"
	assert_failure 1
	assert_output --partial "aoexd: error: $TIF: MTU 500 is too small for AoE"
}

@test "two targets on one port: discover lists both, sorted" {
	make_disk 64
	cp "$DISK" "$BATS_TEST_TMPDIR/d2"
	start_aoexd_argv 7 1 "$TIF" "$BATS_TEST_TMPDIR/d2"
	start_aoexd
	run aoex discover -W 200
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^e1\.2 '
	assert_line --index 1 --regexp '^e7\.1 '
}

@test "advertisement on start: a broadcast Query Config reply with tag 0" {
	make_disk 64
	capture_start
	start_aoexd
	capture_wait 1
	run cat "$CAP"
	assert_output "$(pad60 "$(eth "$BCAST" "$TMAC")" 18 00 0001 02 01 00000000 0040 0100 02 10 0000)"
}

@test "advertisement on start: bufcnt, sector count and config of this port" {
	make_disk 64
	set_mtu 9000
	capture_start
	start_aoexd -b 100
	capture_wait 1
	run cat "$CAP"
	assert_output "$(pad60 "$(eth "$BCAST" "$TMAC")" 18 00 0001 02 01 00000000 0064 0100 11 10 0000)"
}

@test "advertisement on start with -m: one unicast reply per mask entry" {
	make_disk 64
	capture_start
	start_aoexd -m "$IMAC,$MAC_B"
	capture_wait 2
	run cat "$CAP"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$(pad60 "$(eth "$IMAC" "$TMAC")" 18 00 0001 02 01 00000000 0040 0100 02 10 0000)"
	assert_line --index 1 "$(pad60 "$(eth "$MAC_B" "$TMAC")" 18 00 0001 02 01 00000000 0040 0100 02 10 0000)"
}

# ------------------------------------------------------------ addressing

@test "addressing: exact, 65535.255, 1.255 and 65535.2 are answered with our own address" {
	make_disk 64
	start_aoexd
	run raw "$(cfgread 0001 02 01010101)"
	assert_success
	assert_output "$(cfgreply 01010101)"
	run raw "$(cfgread ffff ff 02020202)"
	assert_success
	assert_output "$(cfgreply 02020202)"
	run raw "$(cfgread 0001 ff 03030303)"
	assert_success
	assert_output "$(cfgreply 03030303)"
	run raw "$(cfgread ffff 02 04040404)"
	assert_success
	assert_output "$(cfgreply 04040404)"
	# the same through aoex, to our unicast MAC and to broadcast
	local t
	for t in 1.2 65535.255 1.255 65535.2; do
		run aoex config $t read
		assert_success
		assert_output "e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config=\"\""
	done
	run aoex -d "$TMAC" identify 65535.255
	assert_success
	assert_line "sectors=64"
	stop_aoexd
	assert_counter not_addressed 0
}

@test "addressing: 1.3, 2.2, 2.255, 0.2 and 65535.3 are not answered" {
	make_disk 64
	start_aoexd
	local a
	for a in "0001 03" "0002 02" "0002 ff" "0000 02" "ffff 03"; do
		run raw "$(cfgread $a 0a0a0a0a)"
		assert_failure 3
		assert_output ""
	done
	# and an ATA read for another slot does not touch the disk either
	run aoex "${NOREPLY[@]}" -d "$TMAC" read 1.3 0 1 -o "$BATS_TEST_TMPDIR/x"
	assert_failure 3
	stop_aoexd
	assert_counter not_addressed 6
	assert_counter reads 0
}

@test "frames with the R flag set are ignored" {
	make_disk 64
	start_aoexd
	random_file "$BATS_TEST_TMPDIR/s" 1
	run raw "$(req 18 00 0001 02 01 00000001 "$(zeros 36)")"
	assert_failure 3
	run raw "$(req 18 00 0001 02 00 00000002 00 00 01 ec "$(zeros 8)" "$(zeros 24)")"
	assert_failure 3
	# a write with R set must not be written
	run raw "$(req 18 00 0001 02 00 00000003 41 00 01 34 000000000000 0000 \
		"$(tohex "$BATS_TEST_TMPDIR/s")")"
	assert_failure 3
	# a config force set with R set must not change the string
	run raw "$(req 18 00 0001 02 01 00000004 0000 0000 00 14 0003 616263 "$(zeros 25)")"
	assert_failure 3
	run aoex config $T read
	assert_output --partial 'config=""'
	stop_aoexd
	assert_counter responses 4
	assert_counter writes 0
	assert_disk_is_ref
}

# ---------------------------------------------------------- Query Config

@test "Query Config: read, set when empty, test and prefix match and mismatch" {
	make_disk 64
	start_aoexd
	local line="e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config="
	run aoex config $T read
	assert_success
	assert_output "$line\"\""
	run aoex config $T set "hello world"
	assert_success
	assert_output "$line\"hello world\""
	run aoex config $T read
	assert_output "$line\"hello world\""
	run aoex discover -W 200
	assert_output "$line\"hello world\""
	# test: exact match only
	run aoex config $T test "hello world"
	assert_success
	assert_output "$line\"hello world\""
	run aoex "${NOREPLY[@]}" config $T test "hello worle"
	assert_failure 3
	assert_output "no reply"
	run aoex "${NOREPLY[@]}" config $T test "hello"
	assert_failure 3
	run aoex "${NOREPLY[@]}" config $T test "hello world!"
	assert_failure 3
	# prefix
	run aoex config $T prefix "hello"
	assert_success
	assert_output "$line\"hello world\""
	run aoex config $T prefix ""
	assert_success
	run aoex config $T prefix "hello world"
	assert_success
	run aoex "${NOREPLY[@]}" config $T prefix "hello world!"
	assert_failure 3
	run aoex "${NOREPLY[@]}" config $T prefix "world"
	assert_failure 3
	# after a shorter force set, the old string's tail must not count
	run aoex config $T fset "hello"
	assert_success
	run aoex "${NOREPLY[@]}" config $T prefix "hello world"
	assert_failure 3
	run aoex "${NOREPLY[@]}" config $T test "hello world"
	assert_failure 3
	run aoex config $T test "hello"
	assert_success
	stop_aoexd
	assert_counter drop_config 7
	assert_counter aoe_errors 0
}

@test "Query Config: set when different -> error 4, force set overwrites, set when equal" {
	make_disk 64
	start_aoexd
	local line="e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config="
	run aoex config $T set first
	assert_success
	run aoex config $T set second
	assert_failure 1
	assert_output "aoe_error=4 (config string present)"
	run aoex config $T read
	assert_output "$line\"first\""
	run aoex config $T set first
	assert_success
	assert_output "$line\"first\""
	run aoex -m "$MAC_B" config $T fset second
	assert_success
	assert_output "$line\"second\""
	run aoex config $T read
	assert_output "$line\"second\""
	run aoex config $T fset ""
	assert_success
	assert_output "$line\"\""
	run aoex config $T set third
	assert_success
	assert_output "$line\"third\""
	# the exact reply bytes of a refused set: E flag, error 4, the current string
	run raw "$(req 10 00 0001 02 01 00000042 0000 0000 00 13 0001 78 "$(zeros 27)")"
	assert_success
	assert_output "$(rep 1c 04 0001 02 01 00000042 0040 0100 02 13 0005 7468697264)"
	stop_aoexd
	assert_counter aoe_errors 2
}

@test "Query Config: an unknown CCmd -> error 2, string unchanged" {
	make_disk 64
	start_aoexd
	run aoex config $T set keep
	assert_success
	local c
	for c in 5 9 15; do
		run aoex config $T $c other
		assert_failure 1
		assert_output "aoe_error=2 (bad argument)"
	done
	run aoex config $T read
	assert_output --partial 'config="keep"'
}

@test "Query Config: a 1024-byte string is kept, a longer one ignored" {
	make_disk 64
	start_aoexd
	local s1024 s1025
	s1024=$(head -c 1024 /dev/zero | tr '\0' 'q')
	s1025=${s1024}q
	run aoex config $T fset "$s1024"
	assert_success
	assert_output --partial "config=\"$s1024\""
	run aoex "${NOREPLY[@]}" config $T fset "$s1025"
	assert_failure 3
	run aoex config $T read
	assert_output --partial "config=\"$s1024\""
	# bytes outside printable ASCII travel unchanged
	run aoex config $T fset $'a"b\\c\x01'
	assert_success
	assert_output --partial 'config="a\x22b\x5cc\x01"'
	stop_aoexd
	assert_counter drop_config 1
}

# ------------------------------------------------------------ ATA, not I/O

@test "IDENTIFY: sectors from the file size, LBA48, FLUSH and FLUSH EXT, strings" {
	make_disk 3000
	start_aoexd
	run aoex identify $T
	assert_success
	local serial ver
	serial=1.2:$(hostname)
	serial=${serial:0:20}	# 20 characters in words 10-19
	ver=$("$AOEXD" --version | cut -d' ' -f2)
	assert_output "sectors=3000
lba48=1
model=\"aoexd\"
serial=\"${serial% }\"
firmware=\"$ver\"
flush=1
flush_ext=1
wcache=0"
}

@test "IDENTIFY: --model and --serial, and the raw words" {
	make_disk 3000
	start_aoexd --model "Test Model 123" --serial SN42
	run aoex identify $T
	assert_success
	assert_line 'model="Test Model 123"'
	assert_line 'serial="SN42"'
	aoex identify $T --raw >"$BATS_TEST_TMPDIR/id"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/id")" = 512 ] || fail "IDENTIFY data is not 512 bytes"
	# little-endian 16-bit words
	local -a w
	read -ra w <<<"$(od -An -v -tu2 --endian=little "$BATS_TEST_TMPDIR/id" | tr -s ' \n' ' ')"
	(( w[49] & 0x200 )) || fail "word 49 bit 9 (LBA) not set"
	assert_equal "$(printf '%04x' "${w[83]}")" 7400
	assert_equal "$(printf '%04x' $((w[86] & 0x3400)))" 3400
	assert_equal $((w[60] | w[61] << 16)) 3000
	assert_equal $((w[100] | w[101] << 16 | w[102] << 32 | w[103] << 48)) 3000
	# strings: two characters per word, the first in the high byte
	assert_equal "$(dd if="$BATS_TEST_TMPDIR/id" bs=1 skip=54 count=14 status=none)" "eTtsM dole1 32"
	assert_equal "$(dd if="$BATS_TEST_TMPDIR/id" bs=1 skip=20 count=4 status=none)" "NS24"
}

@test "IDENTIFY: LBA28 capacity capped at 0x0FFFFFFF on a 1 TiB device" {
	require_net
	start_aoexd_argv "$SHELF" "$SLOT" "$TIF" null:1T
	run aoex identify $T
	assert_success
	assert_line "sectors=2147483648"
	aoex identify $T --raw >"$BATS_TEST_TMPDIR/id"
	local -a w
	read -ra w <<<"$(od -An -v -tu2 --endian=little "$BATS_TEST_TMPDIR/id" | tr -s ' \n' ' ')"
	assert_equal "$(printf '%x' $((w[60] | w[61] << 16)))" fffffff
}

@test "CHECK POWER MODE: count 0xff, DRDY" {
	make_disk 64
	start_aoexd
	run aoex ata $T 0xe5
	assert_success
	assert_output "status=0x40 error=0x00 count=255 lba=0 len=60"
	run raw "$(req 10 00 0001 02 00 0000e5e5 00 00 00 e5 "$(zeros 8)" "$(zeros 24)")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 0000e5e5 00 00 ff 40 "$(zeros 8)")"
}

@test "FLUSH CACHE and FLUSH CACHE EXT succeed" {
	make_disk 64
	start_aoexd
	run aoex flush $T
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=0 len=60"
	run aoex ata $T 0xe7
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=0 len=60"
	run aoex ata $T 0xea --aflags 0x40
	assert_success
	assert_output "status=0x40 error=0x00 count=0 lba=0 len=60"
	stop_aoexd
	assert_counter flushes 3
	assert_counter io_errors 0
}

@test "unknown ATA opcode: status 0x41 error 0x04 (ABRT), no AoE error flag" {
	make_disk 64
	start_aoexd
	local op
	for op in 0x99 0xef 0x00 0xc8 0x25; do
		run aoex ata $T $op
		assert_failure 1
		assert_output "status=0x41 error=0x04 count=0 lba=0 len=60"
	done
	# exact bytes: E clear, AoE error 0, the request registers echoed
	run raw "$(req 10 00 0001 02 00 00009999 00 00 00 99 "$(zeros 8)" "$(zeros 24)")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 00009999 00 04 00 41 "$(zeros 8)")"
	stop_aoexd
	assert_counter ata_errors 6
	assert_counter aoe_errors 0
}

# ------------------------------------------------ unknown commands, versions

@test "unknown AoE command: E flag, error 1, the request echoed" {
	make_disk 64
	start_aoexd
	local body
	body=$(printf '5a%.0s' {1..36})
	run raw "$(req 10 00 0001 02 42 00004242 "$body")"
	assert_success
	assert_output "$(rep 1c 01 0001 02 42 00004242 "$body")"
	# vendor range, longer than the minimum, to the broadcast address
	body=$(printf '%02x' {0..99})
	run raw "$(req 10 00 ffff ff f0 0000f0f0 "$body")"
	assert_success
	assert_output "$(rep 1c 01 0001 02 f0 0000f0f0 "$body")"
	stop_aoexd
	assert_counter unknown_cmd 2
	assert_counter aoe_errors 2
}

@test "AoE version 2 (and 0, 15): E flag, error 5, reply in version 1" {
	make_disk 64
	start_aoexd
	run raw "$(req 20 00 0001 02 01 00000002 "$(zeros 36)")"
	assert_success
	assert_output "$(rep 1c 05 0001 02 01 00000002)"
	run raw "$(req 00 00 0001 02 00 00000000 "$(zeros 36)")"
	assert_success
	assert_output "$(rep 1c 05 0001 02 00 00000000)"
	# a WRITE in version 15 is refused and not written
	random_file "$BATS_TEST_TMPDIR/s" 1
	run raw "$(req f0 00 0001 02 00 0000000f 41 00 01 34 000000000000 0000 \
		"$(tohex "$BATS_TEST_TMPDIR/s")")"
	assert_success
	assert_output "$(rep 1c 05 0001 02 00 0000000f)"
	stop_aoexd
	assert_counter bad_version 3
	assert_counter writes 0
	assert_disk_is_ref
}

# ------------------------------------------------------------ MAC mask list

@test "mask list: empty, add, delete, read back in order" {
	make_disk 64
	start_aoexd
	run aoex mask $T read
	assert_success
	assert_output ""
	run aoex mask $T edit "+$IMAC" "+$MAC_B" "+$MAC_C"
	assert_success
	assert_output "$IMAC
$MAC_B
$MAC_C"
	run aoex mask $T edit "-$MAC_B" "=$MAC_C" "+$MAC_C"
	assert_success
	assert_output "$IMAC
$MAC_C"
	# deleting an absent MAC is no error
	run aoex mask $T edit "-$MAC_B"
	assert_success
	run aoex mask $T read
	assert_success
	assert_output "$IMAC
$MAC_C"
	# exact reply bytes of a read: DCmd 0 in each entry
	run raw "$(req 10 00 0001 02 02 00000202 00 00 00 00 "$(zeros 32)")"
	assert_success
	assert_output "$(rep 18 00 0001 02 02 00000202 00 00 00 02 0000 "$(machex "$IMAC")" 0000 "$(machex "$MAC_C")")"
}

@test "mask list: 40 entries are kept and returned" {
	make_disk 64
	start_aoexd
	local -a add=("+$IMAC") want=("$IMAC")
	local i m
	for ((i = 1; i < 40; i++)); do
		m=$(printf '02:00:00:00:10:%02x' "$i")
		add+=("+$m")
		want+=("$m")
	done
	run aoex mask $T edit "${add[@]}"
	assert_success
	assert_output "$(printf '%s\n' "${want[@]}")"
	run aoex mask $T read
	assert_success
	assert_equal "${#lines[@]}" 40
	assert_output "$(printf '%s\n' "${want[@]}")"
}

@test "mask list: bad directive -> MError 2 at its index; full -> MError 3" {
	make_disk 64
	start_aoexd
	run aoex mask $T edit "+$IMAC" "+$MAC_B" "dcmd:7:$MAC_C" "+$MAC_C"
	assert_failure 1
	assert_output "merror=2 index=2"
	# directives before the bad one were applied, none after it
	run aoex mask $T read
	assert_output "$IMAC
$MAC_B"
	# fill up: 2 there, 70 more offered, the 63rd new one does not fit
	local -a add=()
	local i
	for ((i = 0; i < 70; i++)); do
		add+=("$(printf '+02:00:00:00:20:%02x' "$i")")
	done
	run aoex mask $T edit "${add[@]}"
	assert_failure 1
	assert_output "merror=3 index=62"
	run aoex mask $T read
	assert_success
	assert_equal "${#lines[@]}" 64
	assert_line --index 63 "02:00:00:00:20:3d"
	# no E flag: MError is the error report (exact bytes)
	run raw "$(req 10 00 0001 02 02 00000203 00 01 00 01 00 09 "$(machex "$MAC_C")" "$(zeros 24)")"
	assert_success
	assert_output "$(rep 18 00 0001 02 02 00000203 00 01 02 00)"
	# an unknown MCmd and a count past the frame are bad arguments
	run raw "$(req 10 00 0001 02 02 00000204 00 07 00 00 "$(zeros 32)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 02 00000204 00 07 00 00)"
	run raw "$(req 10 00 0001 02 02 00000205 00 01 00 09 "$(zeros 32)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 02 00000205 00 01 00 00)"
}

@test "mask list: a masked-out initiator gets no reply, an allowed one does" {
	make_disk 64
	start_aoexd
	run aoex mask $T edit "+$MAC_B"
	assert_success
	assert_output "$MAC_B"
	# we are no longer on the list
	run aoex "${NOREPLY[@]}" discover -W 200
	assert_failure 3
	run aoex "${NOREPLY[@]}" -d "$TMAC" read $T 0 1 -o "$BATS_TEST_TMPDIR/x"
	assert_failure 3
	run aoex "${NOREPLY[@]}" mask $T read
	assert_failure 3
	# B is
	run aoex -m "$MAC_B" identify $T
	assert_success
	assert_line "sectors=64"
	aoex -m "$MAC_B" read $T 0 2 -o "$BATS_TEST_TMPDIR/b"
	sectors "$DISK" 0 2 | cmp - "$BATS_TEST_TMPDIR/b"
	# B opens it to everyone again
	run aoex -m "$MAC_B" mask $T edit "-$MAC_B"
	assert_success
	assert_output ""
	run aoex identify $T
	assert_success
	stop_aoexd
	assert_counter drop_masked 3
	assert_counter reads 1
}

@test "mask list: -m on the command line restricts from the start" {
	make_disk 64
	start_aoexd -m "$MAC_B,$MAC_C"
	run aoex "${NOREPLY[@]}" discover -W 200
	assert_failure 3
	run aoex "${NOREPLY[@]}" -d "$TMAC" identify $T
	assert_failure 3
	run aoex -m "$MAC_C" discover -W 200
	assert_success
	assert_output "e1.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config=\"\""
	run aoex -m "$MAC_B" mask $T read
	assert_success
	assert_output "$MAC_B
$MAC_C"
	stop_aoexd
	assert_counter drop_masked 2
}

# ------------------------------------------------------------ reservations

@test "reserve: A reserves; B's read and write get error 6, the file is untouched" {
	make_disk 64
	start_aoexd
	random_file "$BATS_TEST_TMPDIR/w" 2
	run aoex reserve $T read
	assert_success
	assert_output ""
	run aoex reserve $T set "$IMAC"
	assert_success
	assert_output "$IMAC"
	run aoex -m "$MAC_B" read $T 0 1 -o "$BATS_TEST_TMPDIR/r"
	assert_failure 1
	assert_output "aoe_error=6 (target reserved)"
	run aoex -m "$MAC_B" write $T 0 -f "$BATS_TEST_TMPDIR/w"
	assert_failure 1
	assert_output --partial "aoe_error=6 (target reserved)"
	assert_disk_is_ref
	# flush is an ATA command too
	run aoex -m "$MAC_B" flush $T
	assert_failure 1
	assert_line "aoe_error=6 (target reserved)"
	# exact bytes of a refused read: E, error 6, the ATA header echoed
	run raw -m "$MAC_B" "$(eth "$TMAC" "$MAC_B")" 10 00 0001 02 00 00000606 40 00 01 24 050000000000 0000 "$(zeros 24)"
	assert_success
	assert_output "$(pad60 "$(eth "$MAC_B" "$TMAC")" 1c 06 0001 02 00 00000606 40 00 01 24 050000000000 0000)"
	# IDENTIFY is still answered
	run aoex -m "$MAC_B" identify $T
	assert_success
	assert_line "sectors=64"
	# and A works as before
	aoex write $T 4 -f "$BATS_TEST_TMPDIR/w"
	ref_put 4 "$BATS_TEST_TMPDIR/w"
	assert_disk_is_ref
	aoex read $T 4 2 -o "$BATS_TEST_TMPDIR/r"
	cmp "$BATS_TEST_TMPDIR/w" "$BATS_TEST_TMPDIR/r"
	stop_aoexd
	assert_counter reserved_refused 4
	assert_counter writes 1
}

@test "reserve: B's set is refused, B's force set works, release frees it" {
	make_disk 64
	start_aoexd
	random_file "$BATS_TEST_TMPDIR/w" 1
	run aoex reserve $T set "$IMAC" "$MAC_C"
	assert_success
	assert_output "$IMAC
$MAC_C"
	# C is on the list too
	run aoex -m "$MAC_C" read $T 0 1 -o "$BATS_TEST_TMPDIR/r"
	assert_success
	run aoex -m "$MAC_B" reserve $T set "$MAC_B"
	assert_failure 1
	assert_output "aoe_error=6 (target reserved)"
	run aoex -m "$MAC_B" reserve $T read
	assert_success
	assert_output "$IMAC
$MAC_C"
	run aoex -m "$MAC_B" reserve $T fset "$MAC_B"
	assert_success
	assert_output "$MAC_B"
	# now A is the outsider
	run aoex read $T 0 1 -o "$BATS_TEST_TMPDIR/r"
	assert_failure 1
	assert_output "aoe_error=6 (target reserved)"
	run aoex reserve $T release
	assert_failure 1
	assert_output "aoe_error=6 (target reserved)"
	aoex -m "$MAC_B" write $T 9 -f "$BATS_TEST_TMPDIR/w"
	ref_put 9 "$BATS_TEST_TMPDIR/w"
	assert_disk_is_ref
	run aoex -m "$MAC_B" reserve $T release
	assert_success
	assert_output ""
	aoex read $T 9 1 -o "$BATS_TEST_TMPDIR/r"
	cmp "$BATS_TEST_TMPDIR/w" "$BATS_TEST_TMPDIR/r"
	# an unknown RCmd is a bad argument
	run aoex reserve $T 7
	assert_failure 1
	assert_output "aoe_error=2 (bad argument)"
	stop_aoexd
	assert_counter reserved_refused 1
}
