#!/usr/bin/env bats
# badinput.bats - malformed and hostile frames.  After each barrage the
# daemon must still be running and answering, the backing file must be
# unchanged (sha256), and the drop and error counters of its final stats
# must account for exactly what was sent.

load helpers

T=1.2
R=$BATS_TEST_TMPDIR/r

# send_frames FILE: each line of FILE (hex, a whole frame) as one frame,
# sent without waiting for replies, 8 senders at a time (closing a packet
# socket takes the kernel a while); prints how many were sent
send_frames() {
	local n
	n=$(grep -c . "$1")
	grep . "$1" | ns env AOEX="$AOEX" IIF="$IIF" xargs -P 8 -n 1 sh -c '
		"$AOEX" -i "$IIF" raw -W 0 "$1" >/dev/null
		rc=$?
		[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "aoex raw failed ($rc) on $1" >&2; exit 1; }' sh ||
		{ echo "sending failed" >&2; return 1; }
	echo "$n"
}

# still_serving: alive, answers discover, reads the file's own bytes
still_serving() {
	assert_aoexd_alive
	run aoex discover -W 200
	assert_success
	assert_output --regexp "^e1\\.2 mac=$TMAC bufcnt=64 fw=0x0100 sectors=2 ver=1 config="
	aoex read $T 0 2 -o "$R"
	sectors "$DISK" 0 2 | cmp - "$R"
}

@test "truncated frames, 14 to 59 bytes, of every command: dropped or refused, counted" {
	make_disk 256
	start_aoexd
	local before tag
	before=$(sha "$DISK")
	local -a tmpl=(
		# ATA WRITE EXT of one sector at LBA 0 with 24 of its 512 bytes
		"$(req 10 00 0001 02 00 00000000 41 00 01 34 000000000000 0000 "$(printf 'ff%.0s' {1..24})")"
		# Query Config force set "x"
		"$(req 10 00 0001 02 01 00000001 0000 0000 00 14 0001 78 "$(zeros 27)")"
		# MAC mask edit: delete MAC_C (not in the list)
		"$(req 10 00 0001 02 02 00000002 00 01 00 01 00 02 "$(machex "$MAC_C")" "$(zeros 24)")"
		# Reserve set claiming 9 MACs
		"$(req 10 00 0001 02 03 00000003 01 09 "$(machex "$IMAC")" "$(zeros 28)")"
		# AoEde Extensions 0x23
		"$(req 10 00 0001 02 23 00000023 0400 6162 0000 "$(zeros 30)")"
	)
	local t len f=$BATS_TEST_TMPDIR/frames
	: >"$f"
	for t in "${tmpl[@]}"; do
		[ "${#t}" -eq 120 ] || fail "template is not 60 bytes: $t"
		for ((len = 14; len <= 59; len++)); do
			echo "${t:0:$((len * 2))}" >>"$f"
		done
	done
	run send_frames "$f"
	assert_success
	assert_output 230
	still_serving
	assert_equal "$(sha "$DISK")" "$before"
	stop_aoexd
	# shorter than the AoE header (14..23 bytes, 10 of each template): the
	# interface counts them, they reach no device
	assert_counter runts $((5 * 10))
	# the rest below each command's header: ATA 36, config 32, mask 28,
	# reserve 26 (any other command's is the AoE header's 24)
	assert_counter drop_short $((12 + 8 + 4 + 2))
	# config: the 32-byte frame claims a string it does not carry
	assert_counter drop_config 1
	# the rest was answered with an error: ATA 36..59 (short payload),
	# mask 28..35 (count past the frame), reserve 26..59
	assert_counter aoe_errors $((24 + 8 + 34))
	# 0x23 (Extensions, table length 4): 24..29 bytes cannot hold the
	# table: dropped and counted; 30..59 are answered without E
	assert_counter unknown_cmd 0
	assert_counter bad_tables 6
	assert_counter writes 0
	assert_counter drop_masked 0
	# 230 frames, then discover (1) and read (config + 1 ATA)
	assert_counter rx_frames 233
}

@test "garbage after a valid request is ignored" {
	make_disk 256
	start_aoexd
	local junk
	junk=$(head -c 400 /dev/urandom | tohex)
	# Query Config read
	run raw "$(req 10 00 0001 02 01 0000a001 0000 0000 00 10 0000 "$junk")"
	assert_success
	assert_output "$(rep 18 00 0001 02 01 0000a001 0040 0100 02 10 0000)"
	# READ EXT of sector 3: exactly one sector comes back
	run raw "$(req 10 00 0001 02 00 0000a002 40 00 01 24 030000000000 0000 "$junk")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 0000a002 40 00 00 40 030000000000 0000 \
		"$(sectors "$DISK" 3 1 | tohex)")"
	# WRITE EXT of one sector at 5 followed by junk: 512 bytes land, no more
	head -c 512 /dev/urandom >"$BATS_TEST_TMPDIR/s"
	run raw "$(req 10 00 0001 02 00 0000a003 41 00 01 34 050000000000 0000 \
		"$(tohex "$BATS_TEST_TMPDIR/s")" "$junk")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 0000a003 41 00 00 40 050000000000 0000)"
	ref_put 5 "$BATS_TEST_TMPDIR/s"
	assert_disk_is_ref
	# IDENTIFY: 36 + 512 bytes
	run raw "$(req 10 00 0001 02 00 0000a004 00 00 01 ec 000000000000 0000 "$junk")"
	assert_success
	assert_equal "${#output}" $(((36 + 512) * 2))
	# mask read and reserve read
	run raw "$(req 10 00 0001 02 02 0000a005 00 00 00 00 "$junk")"
	assert_success
	assert_output "$(rep 18 00 0001 02 02 0000a005 00 00 00 00)"
	run raw "$(req 10 00 0001 02 03 0000a006 00 00 "$junk")"
	assert_success
	assert_output "$(rep 18 00 0001 02 03 0000a006 00 00)"
	still_serving
	stop_aoexd
	assert_counter writes 1
	assert_counter write_bytes 512
	assert_counter aoe_errors 0
}

@test "random garbage frames (fixed seed): no crash, file unchanged, counters add up" {
	make_disk 256
	start_aoexd
	local before f=$BATS_TEST_TMPDIR/frames st=$BATS_TEST_TMPDIR/expect
	before=$(sha "$DISK")
	# 300 frames: random lengths (14..1514), destinations, versions, flags,
	# addresses, commands and bodies.  Never a write, a mask edit or a
	# reservation (those would change state on purpose): such opcodes are
	# replaced.  The script also counts what the header rules must do.
	awk -v seed=20240611 -v n=300 -v st="$st" '
	function byte() { return int(rand() * 256) }
	function hx(v) { return sprintf("%02x", v) }
	BEGIN {
		srand(seed)
		for (i = 0; i < n; i++) {
			r = rand()
			if (r < 0.7) { d[0] = 2; d[1] = 0; d[2] = 0; d[3] = 0; d[4] = 10; d[5] = 1 }
			else if (r < 0.9) { for (k = 0; k < 6; k++) d[k] = 255 }
			else { d[0] = 2 * int(rand() * 128); for (k = 1; k < 6; k++) d[k] = byte()
			       if (d[0] == 2 && d[5] == 1) d[5] = 3 }
			len = rand() < 0.4 ? 14 + int(rand() * 46) : 60 + int(rand() * 1455)
			for (k = 0; k < len; k++) b[k] = byte()
			for (k = 0; k < 6; k++) b[k] = d[k]
			if (rand() < 0.8) { b[6] = 2; b[7] = 0; b[8] = 0; b[9] = 0; b[10] = 10; b[11] = 2 }
			b[12] = 136; b[13] = 162
			ver = rand() < 0.75 ? 1 : int(rand() * 16)
			fl = int(rand() * 16)
			if (fl >= 8 && rand() < 0.6) fl -= 8
			b[14] = ver * 16 + fl
			r = rand()
			if (r < 0.5) { b[16] = 0; b[17] = 1; b[18] = 2 }
			else if (r < 0.6) { b[16] = 255; b[17] = 255; b[18] = 255 }
			else if (r < 0.7) { b[16] = 0; b[17] = 1; b[18] = 255 }
			else if (r < 0.75) { b[16] = 255; b[17] = 255; b[18] = 2 }
			r = rand()
			cmd = r < 0.35 ? 0 : r < 0.55 ? 1 : r < 0.65 ? 2 : r < 0.75 ? 3 : r < 0.85 ? 35 : byte()
			b[19] = cmd
			if (cmd == 0) {
				if (rand() < 0.5) {	# plausible reads near the start
					b[26] = int(rand() * 4)
					b[27] = rand() < 0.5 ? 36 : 32
					b[28] = byte(); b[29] = 0; b[30] = 0; b[31] = rand() < 0.5 ? 224 : 0
					b[32] = 0; b[33] = 0
				}
				if (b[27] == 48 || b[27] == 52) b[27] = 49
			}
			if (cmd == 2 && b[25] == 1) b[25] = 0
			if (cmd == 3 && (b[24] == 1 || b[24] == 2)) b[24] = 0
			s = ""
			for (k = 0; k < len; k++) s = s hx(b[k])
			print s
			# what the header rules must do with it
			if (!(b[0] == 2 && b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 10 && b[5] == 1) &&
			    b[0] % 2 == 0) { other++; continue }
			if (len < 24) { short++; continue }
			if (fl >= 8) { resp++; continue }
			shelf = b[16] * 256 + b[17]
			if (!((shelf == 1 || shelf == 65535) && (b[18] == 2 || b[18] == 255))) { notaddr++; continue }
			if (ver != 1) { badver++; continue }
			if (cmd > 3 && cmd != 35) unknown++
		}
		printf "other=%d short=%d resp=%d notaddr=%d badver=%d unknown=%d\n",
		       other, short, resp, notaddr, badver, unknown > st
	}' >"$f"
	[ "$(wc -l <"$f")" -eq 300 ] || fail "the generator made $(wc -l <"$f") frames"
	run send_frames "$f"
	assert_success
	assert_output 300
	still_serving
	assert_equal "$(sha "$DISK")" "$before"
	stop_aoexd
	local exp
	exp=$(cat "$st")
	echo "# expected from the generator: $exp"
	assert_counter responses "$(counter resp "$st")"
	assert_counter not_addressed "$(counter notaddr "$st")"
	assert_counter bad_version "$(counter badver "$st")"
	assert_counter unknown_cmd "$(counter unknown "$st")"
	# runts never reach a device: the interface counts them
	[ $(($(counter drop_short) + $(counter runts))) -ge "$(counter short "$st")" ] ||
		fail "drop_short + runts < $(counter short "$st")"
	assert_counter_ge ignored "$(counter other "$st")"
	assert_counter drop_masked 0
	assert_counter writes 0
	assert_counter reserved_refused 0
	# everything not for another station reached the protocol code
	assert_counter rx_frames $((300 - $(counter other "$st") + 3))
}

@test "frames with R set, any command and version: ignored and counted" {
	make_disk 256
	start_aoexd
	local before f=$BATS_TEST_TMPDIR/frames v c
	before=$(sha "$DISK")
	: >"$f"
	for v in 1 2 f; do
		for c in 00 01 02 03 23 42; do
			# R alone, R with E
			echo "$(req "${v}8" 00 0001 02 "$c" 000000"$c" 41 00 01 34 000000000000 0000 "$(printf 'ab%.0s' {1..512})")" >>"$f"
			echo "$(req "${v}c" 01 ffff ff "$c" 000000"$c" 01 09 "$(zeros 34)")" >>"$f"
		done
	done
	run send_frames "$f"
	assert_success
	assert_output 36
	still_serving
	assert_equal "$(sha "$DISK")" "$before"
	run aoex config $T read
	assert_output --partial 'config=""'
	run aoex reserve $T read
	assert_output ""
	stop_aoexd
	assert_counter responses 36
	assert_counter writes 0
	assert_counter aoe_errors 0
}

@test "every wrong version, every command: error 5, nothing executed" {
	make_disk 256
	start_aoexd
	local before f=$BATS_TEST_TMPDIR/frames v c
	before=$(sha "$DISK")
	: >"$f"
	for v in 0 2 3 4 5 6 7 8 9 a b c d e f; do
		for c in 00 01 02 03 23; do
			case $c in
			00) echo "$(req "${v}0" 00 0001 02 00 0000"$v"0"$c" 41 00 01 34 000000000000 0000 "$(printf 'cd%.0s' {1..512})")" ;;
			01) echo "$(req "${v}0" 00 0001 02 01 0000"$v"0"$c" 0000 0000 00 14 0003 787878 "$(zeros 25)")" ;;
			02) echo "$(req "${v}0" 00 0001 02 02 0000"$v"0"$c" 00 01 00 01 00 01 "$(machex "$MAC_B")" "$(zeros 24)")" ;;
			03) echo "$(req "${v}0" 00 0001 02 03 0000"$v"0"$c" 01 01 "$(machex "$MAC_B")" "$(zeros 28)")" ;;
			23) echo "$(req "${v}0" 00 0001 02 23 0000"$v"0"$c" 0400 6162 0000 "$(zeros 30)")" ;;
			esac
		done
	done >"$f"
	run send_frames "$f"
	assert_success
	assert_output 75
	# one exact reply
	run raw "$(req 70 00 0001 02 00 77777777 41 00 01 34 000000000000 0000 "$(printf 'cd%.0s' {1..512})")"
	assert_success
	assert_output "$(rep 1c 05 0001 02 00 77777777)"
	still_serving
	assert_equal "$(sha "$DISK")" "$before"
	# none of the state-changing requests took effect
	run aoex config $T read
	assert_output --partial 'config=""'
	run aoex mask $T read
	assert_output ""
	run aoex reserve $T read
	assert_output ""
	stop_aoexd
	assert_counter bad_version 76
	assert_counter aoe_errors 76
	assert_counter writes 0
}

@test "oversized counts and lengths in otherwise valid requests" {
	make_disk 256
	start_aoexd
	local before
	before=$(sha "$DISK")
	# config string length 0xffff on a set, and just past the frame
	run raw "$(req 10 00 0001 02 01 0000b001 0000 0000 00 14 ffff 6162 "$(zeros 26)")"
	assert_failure 3
	run raw "$(req 10 00 0001 02 01 0000b002 0000 0000 00 13 001d "$(printf '61%.0s' {1..28})")"
	assert_failure 3
	# mask edit claiming 255 directives, reserve set claiming 255 MACs
	run raw "$(req 10 00 0001 02 02 0000b003 00 01 00 ff 00 01 "$(machex "$MAC_B")" "$(zeros 24)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 02 0000b003 00 01 00 00)"
	run raw "$(req 10 00 0001 02 03 0000b004 02 ff "$(machex "$MAC_B")" "$(zeros 28)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 03 0000b004 02 00)"
	# ATA count 255 in a full frame, LBA at the 48-bit limit
	run raw "$(req 10 00 0001 02 00 0000b005 41 00 ff 34 ffffffffffff 0000 "$(zeros 1024)")"
	assert_success
	assert_output "$(rep 1c 02 0001 02 00 0000b005 41 00 ff 40 ffffffffffff 0000)"
	run raw "$(req 10 00 0001 02 00 0000b006 41 00 02 34 ffffffffffff 0000 "$(zeros 1024)")"
	assert_success
	assert_output "$(rep 18 00 0001 02 00 0000b006 41 10 02 41 ffffffffffff 0000)"
	still_serving
	assert_equal "$(sha "$DISK")" "$before"
	run aoex mask $T read
	assert_output ""
	run aoex reserve $T read
	assert_output ""
	stop_aoexd
	assert_counter drop_config 2
	assert_counter writes 0
}
