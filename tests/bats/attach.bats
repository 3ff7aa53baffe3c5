#!/usr/bin/env bats
# attach.bats - aoex attach with real NBD clients on its Unix socket
# (qemu-io, qemu-img, nbdinfo) and a scripted bad one (tests/tools/
# nbdpoke.py), against aoexd (extensions negotiated, or not) and Debian's
# vblade (plain r11): bytes on the target's disk, NBD errors, the counters
# of both ends, the dead time and a target restart, two interfaces, and
# late write replays through the fault bridge.

load helpers

SOCK=$BATS_TEST_TMPDIR/nbd.sock
URI="nbd+unix:///?socket=$BATS_TEST_TMPDIR/nbd.sock"
NBDPOKE=(python3 "$TOP_SRCDIR/tests/tools/nbdpoke.py")
: "${FAULTBRIDGE:=$TOP_BUILDDIR/tests/tools/faultbridge}"

need_clients() {
	command -v qemu-io >/dev/null && command -v qemu-img >/dev/null ||
		skip "qemu-io/qemu-img not installed (qemu-utils)"
	command -v nbdinfo >/dev/null || skip "nbdinfo not installed (libnbd-bin)"
}

# start_attach [IFACES] -- [OPTION...]: aoex attach on the socket, ready
# when it returns (its log says it serves).  Sets ATTACH_PID, ALOG.
start_attach() {
	local ifs=$IIF i
	if [ "${1:-}" != -- ] && [ $# -gt 0 ]; then ifs=$1; shift; fi
	[ "${1:-}" = -- ] && shift
	ALOG=$BATS_TEST_TMPDIR/attach.log
	ip netns exec "$NS" "$AOEX" -i "$ifs" -t 200 attach $SHELF.$SLOT --nbd-socket "$SOCK" "$@" \
		>"$ALOG" 2>&1 3>&- &
	ATTACH_PID=$!
	BG_PIDS+=("$ATTACH_PID")
	for ((i = 0; i < 1000; i++)); do
		grep -q 'serving NBD on' "$ALOG" && return 0
		pid_alive "$ATTACH_PID" || break
		sleep 0.01
	done
	cat "$ALOG" >&2
	fail "aoex attach did not start"
}

# stop_attach: SIGTERM; it must exit 0 with its final counters
stop_attach() {
	local rc=0
	kill -TERM "$ATTACH_PID"
	wait_exit "$ATTACH_PID" 10 || fail "aoex attach did not exit after SIGTERM"
	wait "$ATTACH_PID" || rc=$?
	[ "$rc" = 0 ] || { cat "$ALOG" >&2; fail "aoex attach exited $rc"; }
	grep -q 'stats final' "$ALOG" || fail "no final stats line"
	[ ! -e "$SOCK" ] || fail "the socket was left behind"
}

# astat NAME: a counter of aoex attach now (SIGUSR1, then its new line)
astat() {
	local n
	n=$(grep -c ' stats e' "$ALOG")
	kill -USR1 "$ATTACH_PID"
	poll_until 5 eval '[ "$(grep -c " stats e" "$ALOG")" -gt '"$n"' ]' || return 1
	grep ' stats e' "$ALOG" | tail -n 1 | grep -oE "(^| )$1=[0-9]+" | cut -d= -f2
}

qio() { qemu-io -f raw "$@" "$URI"; }

@test "attach: nbdinfo shows the size and flags; qemu-io patterns land on aoexd's disk" {
	need_clients
	make_disk 8192
	start_aoexd
	start_attach
	run nbdinfo "$URI"
	assert_success
	assert_line --regexp "export-size: $((8192 * 512)) "
	assert_line --partial "can_flush: true"
	assert_line --partial "can_fua: true"
	assert_line --partial "is_read_only: false"
	assert_line --partial "can_trim: false"
	assert_line --partial "block_size_minimum: 512"
	grep -q 'tag_inc on' "$ALOG" || fail "tag_inc not negotiated: $(cat "$ALOG")"
	run qio -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 1M 300k' -c 'write -f -P 0x11 4000k 96k' \
		-c 'read -P 0xab 0 64k' -c 'read -P 0xcd 1M 300k' -c 'read -P 0x11 4000k 96k' -c flush
	assert_success
	refute_output --partial "Pattern verification failed"
	# the bytes on the target's disk, not only what came back
	head -c 65536 /dev/zero | tr '\0' '\253' | cmp - <(sectors "$DISK" 0 128)
	head -c 307200 /dev/zero | tr '\0' '\315' | cmp - <(sectors "$DISK" 2048 600)
	head -c 98304 /dev/zero | tr '\0' '\021' | cmp - <(sectors "$DISK" 8000 192)
	[ "$(astat tag_inc_writes)" -ge 460 ] || fail "writes not sent under tag_inc"
	[ "$(astat flushes)" -ge 2 ] || fail "no FLUSH CACHE (flush, and FUA's)"
	stop_attach
	stop_aoexd
}

@test "attach: qemu-img convert of 256 MiB in and out, cmp; coalesced reads used" {
	need_clients
	truncate -s 256M "$DISK"
	head -c 256M /dev/urandom >"$BATS_TEST_TMPDIR/src.img"
	start_aoexd
	start_attach
	local t0 t1 t2
	t0=$EPOCHREALTIME
	qemu-img convert -n -f raw -O raw "$BATS_TEST_TMPDIR/src.img" "$URI"
	t1=$EPOCHREALTIME
	qemu-img convert -f raw -O raw "$URI" "$BATS_TEST_TMPDIR/out.img"
	t2=$EPOCHREALTIME
	cmp "$BATS_TEST_TMPDIR/src.img" "$BATS_TEST_TMPDIR/out.img"
	cmp "$BATS_TEST_TMPDIR/src.img" "$DISK"
	[ "$(astat coalesced_frames)" -gt 0 ] || fail "no coalesced frame"
	[ "$(astat sub_reads)" -gt 0 ] || fail "no sub-read"
	[ "$(astat eio)" = 0 ] || fail "I/O errors"
	local rexmit
	rexmit=$(astat retransmits)
	echo "# convert in: $(awk "BEGIN{printf \"%.1f\", 256/($t1-$t0)}") MiB/s, out: $(awk "BEGIN{printf \"%.1f\", 256/($t2-$t1)}") MiB/s" >&3
	stop_attach
	stop_aoexd
	[ "$(counter sub_reads)" -gt 0 ] || fail "aoexd decided no sub-read"
	# a duplicate can only come from a retransmission (a slow disk under
	# load makes some), and tag_inc kept it from being written twice
	[ "$(counter dup_writes)" -le "$rexmit" ] ||
		fail "dup_writes=$(counter dup_writes) but only $rexmit retransmissions"
}

@test "attach: a read-only export is exported read-only" {
	need_clients
	make_disk 2048
	start_aoexd -r
	start_attach
	run nbdinfo "$URI"
	assert_line --partial "is_read_only: true"
	run qio -r -c 'write -P 1 0 4k'
	assert_output --partial "read-only"
	run qio -r -c 'read -P 0 0 4k'
	assert_failure	# random disk: not zeroes, but the read itself works
	assert_output --partial "Pattern verification failed"
	stop_attach
	assert_disk_is_ref
}

@test "attach: bad NBD clients get NBD errors or are closed; the others are served" {
	need_clients
	make_disk 2048
	start_aoexd
	start_attach
	local size=$((2048 * 512))
	# garbage instead of the client flags: closed
	run "${NBDPOKE[@]}" "$SOCK" raw:6761726261676521676172626167652167617262 eof
	assert_output "eof"
	# past the end, oversize, unaligned, not advertised: errors, and the
	# stream stays in step (a refused write's payload is skipped)
	run "${NBDPOKE[@]}" "$SOCK" hello go \
		req:read:$size:4096 reply req:write:$((size - 512)):1024 reply \
		req:read:0:$((64 << 20)) reply req:write:0:$((33 << 20)) reply \
		req:read:1:512 reply req:trim:0:4096 reply req:write:0:512:0x20 reply \
		req:read:0:512 reply req:disc:0:0 eof
	assert_success
	assert_output "$(printf '%s\n' 'greeting ok' "go ok size=$size flags=0x10d" \
		'reply error=22' 'reply error=28' 'reply error=22' 'reply error=22' \
		'reply error=22' 'reply error=22' 'reply error=22' 'reply error=0' eof)"
	# an unknown export, LIST, STARTTLS (no TLS here)
	run "${NBDPOKE[@]}" "$SOCK" hello go:nosuch list opt:5 go req:read:0:512 reply
	assert_output "$(printf '%s\n' 'greeting ok' 'go error=0x80000006' "export e$SHELF.$SLOT" \
		'list ok' 'opt 5 reply=0x80000001' "go ok size=$size flags=0x10d" 'reply error=0')"
	# a bad request magic: closed
	run "${NBDPOKE[@]}" "$SOCK" hello go raw:$(printf '00%.0s' {1..28}) eof
	assert_line "eof"
	# gone in the middle of a write's payload, and before a read's reply
	run "${NBDPOKE[@]}" "$SOCK" hello go req:write:0:65536:0:1000 close
	run "${NBDPOKE[@]}" "$SOCK" hello go req:read:0:65536 close
	# meanwhile and after: a real client is served
	run qio -c 'write -P 0x77 8k 4k' -c 'read -P 0x77 8k 4k'
	assert_success
	refute_output --partial "failed"
	[ "$(astat bad_clients)" = 3 ] || fail "bad_clients=$(astat bad_clients), want 3"
	grep -q 'client left in the middle of a write' "$ALOG"
	# the truncated write wrote nothing
	ref_put 16 <(head -c 4096 /dev/zero | tr '\0' '\167')
	stop_attach
	stop_aoexd
	assert_disk_is_ref
}

@test "attach to vblade: plain r11, data exact, nothing negotiated" {
	need_clients
	command -v vblade >/dev/null || skip "vblade not installed"
	make_disk 8192
	ip netns exec "$NS" vblade $SHELF $SLOT "$TIF" "$DISK" >"$BATS_TEST_TMPDIR/vblade.log" 2>&1 3>&- &
	DAEMON_PIDS+=($!)
	poll_until 5 ns "$AOEX" -i "$IIF" -t 100 -r 0 identify $SHELF.$SLOT >/dev/null
	start_attach
	grep -q 'plain AoE r11' "$ALOG" || fail "no fallback logged: $(cat "$ALOG")"
	head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/src.img"
	qemu-img convert -n -f raw -O raw "$BATS_TEST_TMPDIR/src.img" "$URI"
	run qio -c 'write -P 0x42 3M 64k' -c 'read -P 0x42 3M 64k' -c flush
	assert_success
	refute_output --partial failed
	qemu-img convert -f raw -O raw "$URI" "$BATS_TEST_TMPDIR/out.img"
	cmp <(head -c 3M "$BATS_TEST_TMPDIR/out.img") "$BATS_TEST_TMPDIR/src.img"
	cmp <(head -c 3M "$DISK") "$BATS_TEST_TMPDIR/src.img"
	[ "$(astat tag_inc_writes)" = 0 ] || fail "tag_inc claimed against vblade"
	[ "$(astat coalesced_frames)" = 0 ] || fail "coalesced frames sent to vblade"
	[ "$(astat eio)" = 0 ]
	stop_attach
}

@test "attach --no-ext against aoexd: plain r11, aoexd counts no extension use" {
	need_clients
	make_disk 4096
	start_aoexd
	start_attach -- --no-ext
	run qio -c 'write -P 0x33 0 1M' -c 'read -P 0x33 0 1M'
	assert_success
	refute_output --partial failed
	[ "$(astat tag_inc_writes)" = 0 ]
	[ "$(astat coalesced_frames)" = 0 ]
	stop_attach
	stop_aoexd
	assert_counter ext_requests 0
	assert_counter sub_reads 0
}

@test "attach: aoexd restarted under I/O: it resumes; gone past the dead time: EIO, then back" {
	need_clients
	make_disk 4096
	start_aoexd
	start_attach -- --dead-time 3
	run qio -c 'write -P 0x61 0 256k'
	assert_success
	# down 1.5 s (less than the dead time): the read waits and succeeds
	stop_aoexd
	qio -c 'read -P 0x61 0 256k' >"$BATS_TEST_TMPDIR/r1" 2>&1 &
	local qpid=$!
	sleep 1.5	# the outage itself
	start_aoexd
	wait "$qpid" || fail "read across the restart failed: $(cat "$BATS_TEST_TMPDIR/r1")"
	grep -q 'read 262144/262144' "$BATS_TEST_TMPDIR/r1"
	! grep -q failed "$BATS_TEST_TMPDIR/r1"
	[ "$(astat retransmits)" -gt 0 ] || fail "no retransmission across the outage"
	poll_until 5 grep -q 'advertised itself\|answers again' "$ALOG" || fail "restart not noticed"
	# down longer than the dead time: EIO after about 3 s, no hang
	stop_aoexd
	local t0=$SECONDS
	run timeout 20 qemu-io -f raw -c 'read 0 64k' "$URI"
	[ $((SECONDS - t0)) -le 10 ] || fail "EIO took $((SECONDS - t0)) s"
	assert_output --partial "Input/output error"
	[ "$(astat target_dead)" -ge 1 ]
	pid_alive "$ATTACH_PID" || fail "aoex attach died"
	start_aoexd
	poll_until 10 eval 'qio -c "read -P 0x61 0 64k" 2>&1 | grep -q "read 65536/65536"' ||
		fail "no resume after the target came back"
	stop_attach
	stop_aoexd
}

@test "attach over two interfaces: frames on both; one goes down, the data stays exact" {
	need_clients
	local T2=aoU$(printf '%x' "$BASHPID") I2=aoV$(printf '%x' "$BASHPID")
	ip -n "$NS" link add "$T2" address 02:00:00:00:0d:01 type veth peer name "$I2" address 02:00:00:00:0d:02
	ip -n "$NS" link set "$T2" up
	ip -n "$NS" link set "$I2" up
	truncate -s 64M "$DISK"
	head -c 64M /dev/urandom >"$BATS_TEST_TMPDIR/src.img"
	start_aoexd_argv $SHELF $SLOT "$TIF,$T2" "$DISK"
	start_attach "$IIF,$I2"
	qemu-img convert -n -f raw -O raw "$BATS_TEST_TMPDIR/src.img" "$URI" &
	local cpid=$!
	sleep 0.5	# in the middle of the copy
	ip -n "$NS" link set "$T2" down
	wait "$cpid" || fail "the copy failed when a path went away"
	qemu-img convert -f raw -O raw "$URI" "$BATS_TEST_TMPDIR/out.img"
	cmp "$BATS_TEST_TMPDIR/src.img" "$BATS_TEST_TMPDIR/out.img"
	cmp "$BATS_TEST_TMPDIR/src.img" "$DISK"
	[ "$(astat path_down)" -ge 1 ] || fail "the dead path was not taken out"
	[ "$(astat eio)" = 0 ]
	stop_attach
	stop_aoexd
	# both of aoexd's interfaces carried frames
	local a b
	a=$(grep -oE "stats $TIF [^ ]* ?.*rx_frames=[0-9]+" "$LOG" | grep -oE 'rx_frames=[0-9]+' | cut -d= -f2)
	b=$(grep -oE "stats $T2 .*rx_frames=[0-9]+" "$LOG" | grep -oE 'rx_frames=[0-9]+' | cut -d= -f2)
	[ "${a:-0}" -gt 1000 ] && [ "${b:-0}" -gt 1000 ] || fail "frames per interface: $a, $b"
}

# stale_attach OPTION...: through a bridge replaying 10% of the write
# frames 1.5 s late, write A then B over it; then read back
stale_attach() {
	[ -x "$FAULTBRIDGE" ] || skip "no faultbridge (make check TESTS=)"
	local id BA BB i
	id=$(printf '%x' "$BASHPID")
	BA=aoA$id
	BB=aoB$id
	ip -n "$NS" link del "$TIF"
	ip -n "$NS" link add "$TIF" address "$TMAC" type veth peer name "$BA"
	ip -n "$NS" link add "$IIF" address "$IMAC" type veth peer name "$BB" 2>/dev/null ||
		{ ip -n "$NS" link del "$IIF"; ip -n "$NS" link add "$IIF" address "$IMAC" type veth peer name "$BB"; }
	for i in "$TIF" "$BA" "$IIF" "$BB"; do ip -n "$NS" link set "$i" up; done
	make_disk 4096
	start_aoexd
	ip netns exec "$NS" "$FAULTBRIDGE" -a "$BA" -b "$BB" --ready "$BATS_TEST_TMPDIR/br.ready" \
		--seed 11 --drop 0.01 --dup 0.01 --reorder 0.05 --replay-rate 0.1 --replay-after 1500 \
		--replay-writes >"$BATS_TEST_TMPDIR/bridge.out" 2>&1 3>&- &
	BG_PIDS+=($!)
	poll_until 5 test -e "$BATS_TEST_TMPDIR/br.ready" || fail "faultbridge did not start"
	start_attach -- "$@"
	random_file "$BATS_TEST_TMPDIR/A" 2048
	random_file "$BATS_TEST_TMPDIR/B" 2048
	qemu-img convert -n -f raw -O raw "$BATS_TEST_TMPDIR/A" "$URI"
	qemu-img convert -n -f raw -O raw "$BATS_TEST_TMPDIR/B" "$URI"
	sleep 2	# the replay window: the bridge holds the copies 1.5 s
	qemu-img convert -f raw -O raw "$URI" "$BATS_TEST_TMPDIR/R"
	STALE=$(cmp -l <(head -c 1M "$BATS_TEST_TMPDIR/R") "$BATS_TEST_TMPDIR/B" |
		awk '{ print int(($1 - 1) / 512) }' | sort -u | wc -l)
	stop_attach
	stop_aoexd
}

@test "attach through late write replays: tag_inc leaves 0 stale sectors" {
	need_clients
	stale_attach
	[ "$STALE" = 0 ] || fail "$STALE sectors hold stale data"
	sectors "$DISK" 0 2048 | cmp - "$BATS_TEST_TMPDIR/B"
	local dups
	dups=$(counter dup_writes)
	[ "$dups" -gt 0 ] || fail "no replay reached aoexd"
	echo "# attach with tag_inc: stale sectors 0, dup_writes caught $dups" >&3
}

@test "attach --no-ext through late write replays: the stale overwrites show" {
	need_clients
	stale_attach --no-ext
	[ "$STALE" -gt 0 ] || fail "no replay landed"
	echo "# attach without extensions: $STALE sectors overwritten with stale data" >&3
}

@test "attach: usage errors" {
	run "$AOEX" -i lo attach 1.2
	assert_failure 2
	assert_output --partial "give a device"
	run "$AOEX" -i lo attach 1.2 /dev/null
	assert_failure 2
	assert_output --partial "not an nbd device"
	run "$AOEX" -i lo,lo read 1.2 0 1
	assert_failure 2
	assert_output --partial "only with attach"
	run "$AOEX" detach /dev/sda
	assert_failure 2
}
