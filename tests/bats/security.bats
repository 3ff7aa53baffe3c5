#!/usr/bin/env bats
# security.bats - what an initiator that is not allowed in can get: nothing.
#
# - MAC mask lists and configured ACLs hold for every way of addressing a
#   request (own shelf/slot, 0xffff/0xff and the mixed broadcast forms),
#   for coalesced sub-reads and for the Extensions command (0x23);
# - a reservation holds for coalesced sub-reads and broadcast writes;
# - reply padding never carries bytes of an earlier reply (another
#   initiator's data in a reused TX slot or buffer);
# - a flood from random source MACs leaves memory bounded and a
#   well-behaved initiator served (figures are printed);
# - what privileges the daemon keeps.
# Frames are built by hand and sent with `aoex raw', which prints every AoE
# reply it sees on the wire, whoever it is addressed to.

load helpers

T=1.2
R=$BATS_TEST_TMPDIR/r
: "${AOEFLOOD:=$TOP_BUILDDIR/tests/tools/aoeflood}"

# le48 N: little-endian hex
le48() { local i; for ((i = 0; i < 48; i += 8)); do printf '%02x' $(($1 >> i & 255)); done; }

# strs NAME...: an Extensions string table in hex (final empty string too)
strs() {
	local s
	for s in "$@"; do printf '%s' "$s" | tohex; printf '00'; done
	printf '00'
}

# from MAC SHELFHEX SLOTHEX CMDHEX TAGHEX HEX...: a request from MAC to the
# target's MAC (or broadcast with DST=ff..)
from() {
	local src=$1 sh=$2 sl=$3 cmd=$4 tag=$5
	shift 5
	echo "$(eth "${DST:-$TMAC}" "$src")$(hx 10 00 "$sh" "$sl" "$cmd" "$tag" "$@")"
}

# the request kinds an outsider might try, each from MAC $1 to SHELF $2 SLOT $3
ata_read() { from "$1" "$2" "$3" 00 0000aa01 40 00 02 24 "$(le48 0)" 0000; }
ata_write() { from "$1" "$2" "$3" 00 0000aa02 41 00 01 34 "$(le48 0)" 0000 "$(printf 'ee%.0s' {1..512})"; }
ext_req() { from "$1" "$2" "$3" 23 0000aa03 "$(printf '%02x00' $((${#4} / 2)))" "$4"; }
# coalesced read: primary LBA 0, 2 sectors, descriptors for LBA 10 and 20
cread() {
	from "$1" "$2" "$3" 00 0000aa04 40 00 02 24 "$(le48 0)" 0000 02 \
		"0000aa05$(le48 10)000000000002" "0000aa06$(le48 20)000000000002"
}
cfg_read() { from "$1" "$2" "$3" 01 0000aa07 "$(zeros 36)"; }

# ADDRS: shelf/slot forms that reach target 1.2
ADDRS=("0001 02" "ffff ff" "0001 ff" "ffff 02")

# assert_nothing_for MAC: every kind of request, every address form, to the
# target's MAC and to broadcast: no reply at all, and the disk unchanged
assert_nothing_for() {
	local mac=$1 a dst before sent=0
	before=$(sha "$DISK")
	for dst in "$TMAC" "$BCAST"; do
		for a in "${ADDRS[@]}"; do
			# shellcheck disable=SC2086
			set -- $a
			local f
			for f in "$(DST=$dst ata_read "$mac" "$1" "$2")" \
				 "$(DST=$dst ata_write "$mac" "$1" "$2")" \
				 "$(DST=$dst ext_req "$mac" "$1" "$2" "$(strs tag_inc_le coalesced_read)")" \
				 "$(DST=$dst cread "$mac" "$1" "$2")" \
				 "$(DST=$dst cfg_read "$mac" "$1" "$2")"; do
				run aoex raw -W 100 "$f"
				[ "$status" -eq 3 ] || fail "reply to a refused $mac (to $dst, $1.$2): $output"
				sent=$((sent + 1))
			done
		done
	done
	[ "$(sha "$DISK")" = "$before" ] || fail "the disk changed"
	SENT=$sent
}

@test "mask list: a masked-out MAC gets nothing by any address, sub-read or 0x23" {
	make_disk 64
	start_aoexd -m "$IMAC"
	assert_nothing_for "$MAC_B"
	# the allowed MAC gets answers to the same frames (the test can fail)
	run aoex raw -W 200 "$(DST=$BCAST ata_read "$IMAC" ffff ff)"
	assert_success
	run aoex raw -W 200 "$(DST=$BCAST ext_req "$IMAC" ffff ff "$(strs coalesced_read)")"
	assert_success
	run aoex raw -W 300 "$(DST=$BCAST cread "$IMAC" ffff ff)"
	assert_success
	[ "${#lines[@]}" -eq 3 ] || fail "expected 3 replies to the coalesced read: $output"
	stop_aoexd
	assert_counter_ge drop_masked "$SENT"
	assert_counter writes 0
	assert_counter peer_evictions 0
}

@test "config ACL: a denied MAC gets nothing by any address, sub-read or 0x23" {
	make_disk 64
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	device d {
		path = "$DISK"
		shelf = 1
		slot = 2
		deny = {"$MAC_B"}
	}
	EOF
	start_aoexd_argv -c "$CONF"
	assert_nothing_for "$MAC_B"
	run aoex raw -W 200 "$(DST=$BCAST ata_read "$IMAC" ffff ff)"
	assert_success
	stop_aoexd
	assert_counter_ge acl_denied "$SENT"
	assert_counter writes 0
}

@test "reservation: coalesced sub-reads and broadcast writes of another MAC get error 6, no data" {
	make_disk 64
	start_aoexd
	run aoex reserve $T set "$IMAC"
	assert_success
	# 0x23 is answered for anyone (README.extensions section 1) ...
	run aoex raw -W 200 "$(ext_req "$MAC_B" 0001 02 "$(strs coalesced_read)")"
	assert_success
	assert_output --partial "$(strs COALESCED_READ | cut -c1-20)"
	local a data0 data10 data20 before
	data0=$(sectors "$DISK" 0 1 | tohex | cut -c1-64)
	data10=$(sectors "$DISK" 10 1 | tohex | cut -c1-64)
	data20=$(sectors "$DISK" 20 1 | tohex | cut -c1-64)
	before=$(sha "$DISK")
	for a in "${ADDRS[@]}"; do
		# shellcheck disable=SC2086
		set -- $a
		# ... but every read of the coalesced frame is refused
		run aoex raw -W 300 "$(DST=$BCAST cread "$MAC_B" "$1" "$2")"
		assert_success
		local l n=0
		for l in "${lines[@]}"; do
			# byte 14: 0x1c = R|E; byte 15: error 6
			[ "${l:28:4}" = 1c06 ] || fail "a sub-read reply without error 6 ($1.$2): $l"
			[ "${#l}" -le 120 ] || fail "a refused read carried data: $l"
			n=$((n + 1))
		done
		[ "$n" -ge 1 ] || fail "no reply"
		[[ $output != *"$data0"* && $output != *"$data10"* && $output != *"$data20"* ]] ||
			fail "sector data leaked to a non-reserving MAC"
		run aoex raw -W 200 "$(DST=$BCAST ata_write "$MAC_B" "$1" "$2")"
		assert_output --regexp "^.{28}1c06"
	done
	[ "$(sha "$DISK")" = "$before" ] || fail "a write from outside the reservation changed the disk"
	stop_aoexd
	assert_counter_ge reserved_refused 8
}

# pad_is_zero HEXLINE HDRBYTES: the bytes of the frame past HDRBYTES are zero
pad_is_zero() {
	local l=$1 n=$2 tail
	tail=${l:$((n * 2))}
	[[ $tail =~ ^0*$ ]] || fail "reply padding carries data: bytes $n.. = ${tail:0:64}..."
	[ "${#l}" -le 120 ] || [ "$n" -gt 60 ] || fail "a short reply of ${#l} hex digits: $l"
}

@test "reply padding: short replies after big reads of another MAC carry zeros only" {
	# a disk with no zero bytes, so that any stale byte shows
	head -c $((4096 * 512)) /dev/zero | tr '\0' '\253' >"$DISK"
	start_aoexd
	local i
	for i in 1 2 3; do
		aoex -m "$MAC_B" -w 64 read $T 0 4096 -o "$R"
		# count 0 read: 36-byte reply, 24 bytes of padding
		run aoex raw "$(from "$IMAC" 0001 02 00 00000b01 40 00 00 24 "$(le48 0)" 0000)"
		assert_success
		pad_is_zero "$output" 36
		# FLUSH CACHE EXT
		run aoex raw "$(from "$IMAC" 0001 02 00 00000b02 40 00 00 ea "$(le48 0)" 0000)"
		pad_is_zero "$output" 36
		# a read past the end: ATA error reply
		run aoex raw "$(from "$IMAC" 0001 02 00 00000b03 40 00 01 24 "$(le48 999999)" 0000)"
		pad_is_zero "$output" 36
		# Query Config read, empty config string: 32 bytes
		run aoex raw "$(cfg_read "$IMAC" 0001 02)"
		pad_is_zero "$output" 32
		# unknown command: echoed request (24 bytes) and its zero padding
		run aoex raw "$(from "$IMAC" 0001 02 7f 00000b04)"
		pad_is_zero "$output" 24
		# Extensions reply: 26 + table
		run aoex raw "$(ext_req "$IMAC" 0001 02 "$(strs reset)")"
		pad_is_zero "$output" 33
		# reserve read (empty list): 26 bytes
		run aoex raw "$(from "$IMAC" 0001 02 03 00000b05 00 00)"
		pad_is_zero "$output" 26
	done
	stop_aoexd
}

# rss_kb PID
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

@test "flood from random source MACs: RSS bounded, a well-behaved initiator still served" {
	[ -x "$AOEFLOOD" ] || fail "AOEFLOOD=$AOEFLOOD: build it with make check TESTS="
	make_disk 8192
	start_aoexd
	local rss0 rss1 base flood fl rx0
	aoex -w 16 read $T 0 8192 -o "$R"		# warm up: buffers, rings
	rss0=$(rss_kb "$AOEXD_PID")
	run aoex -w 4 bench $T --mode randread --seconds 1
	assert_success
	base=$(grep -oE 'iops=[0-9]+' <<<"$output")
	rx0=$(ns cat "/sys/class/net/$TIF/statistics/rx_packets")
	ip netns exec "$NS" "$AOEFLOOD" -i "$IIF" --pps "${FLOOD_PPS:-20000}" --seconds 6 >"$BATS_TEST_TMPDIR/flood.out" 2>&1 3>&- &
	fl=$!
	BG_PIDS+=("$fl")
	# measure once the flood is on the wire
	poll_until 5 eval '[ "$(ns cat "/sys/class/net/$TIF/statistics/rx_packets")" -ge $((rx0 + 1000)) ]' ||
		fail "the flood did not start: $(cat "$BATS_TEST_TMPDIR/flood.out")"
	run aoex -w 4 -t 200 -r 10 bench $T --mode randread --seconds 3
	assert_success
	assert_output --partial "errors=0"
	flood=$(grep -oE 'iops=[0-9]+' <<<"$output")
	wait "$fl"
	rss1=$(rss_kb "$AOEXD_PID")
	# data still exact after the flood
	aoex -w 16 read $T 0 8192 -o "$R"
	cmp "$R" "$DISK"
	stop_aoexd
	echo "# $(cat "$BATS_TEST_TMPDIR/flood.out"); RSS ${rss0} kB -> ${rss1} kB; good initiator randread 4K w=4: $base alone, $flood during the flood; peer_evictions=$(counter peer_evictions) ring_drops=$(counter ring_drops)" >&3
	[ $((rss1 - rss0)) -lt 16384 ] || fail "RSS grew by $((rss1 - rss0)) kB under the flood"
	# 64 peer entries at most: the flood's Extensions requests evict
	assert_counter_ge peer_evictions 1000
}

# capsets PID: the capability lines of its /proc status, e.g. "CapEff=..."
capsets() { awk '/^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):/ { printf "%s%s ", $1, $2 }' "/proc/$1/status"; }

@test "privileges: with one device, every capability but CAP_NET_RAW/CAP_NET_ADMIN is dropped once serving; it still serves" {
	make_disk 256
	start_aoexd
	local c
	c=$(capsets "$AOEXD_PID")
	# 0x3000: CAP_NET_ADMIN (12) and CAP_NET_RAW (13), for the packet
	# socket hotplug opens again when an interface comes back
	[[ $c == *"CapEff:0000000000003000 "* && $c == *"CapPrm:0000000000003000 "* &&
	   $c == *"CapBnd:0000000000003000 "* && $c == *"CapInh:0000000000000000 "* &&
	   $c == *"NoNewPrivs:1 "* ]] ||
		fail "aoexd keeps other capabilities: $c"
	grep -q "capabilities dropped but CAP_NET_RAW and CAP_NET_ADMIN" "$LOG" || fail "no log line for the drop"
	# reads, writes, FLUSH, SIGHUP and an interface flap (the socket is
	# opened again) work with what is left
	random_file "$R.w" 64
	aoex write $T 10 -f "$R.w"
	ref_put 10 "$R.w"
	run aoex flush $T
	assert_success
	kill -HUP "$AOEXD_PID"
	ns ip link set "$TIF" down
	poll_until 5 grep -q "notice: $TIF: detached (down)" "$LOG" || fail "the link going down was not seen"
	ns ip link set "$TIF" up
	poll_until 5 grep -q "notice: $TIF: attached" "$LOG" || fail "$TIF not attached again"
	aoex -t 300 -r 5 read $T 0 256 -o "$R"
	cmp "$R" "$REF"
	stop_aoexd
	assert_disk_is_ref
	echo "# aoexd (single device): $c" >&3
}

@test "privileges: with -c FILE the capabilities are kept (reload opens files and sockets)" {
	make_disk 64
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	device d {
		path = "$DISK"
		shelf = 1
		slot = 2
	}
	EOF
	start_aoexd_argv -c "$CONF"
	local c
	c=$(capsets "$AOEXD_PID")
	# documents today's behaviour; change together with the reload code
	[[ $c != *"CapEff:0000000000000000 "* ]] || fail "capabilities dropped in config mode: $c"
	echo "# aoexd -c: $c" >&3
	stop_aoexd
}
