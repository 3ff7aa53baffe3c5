#!/usr/bin/env bats
# reload.bats - aoexd keeps serving: SIGHUP applies a changed configuration
# file (devices added, removed under load, changed in place, a bad file
# refused), interfaces that appear, vanish or change MTU are followed
# (rtnetlink), and the config string, mask list and reservation set by
# initiators survive a restart (state directory).
#
# Hotplugged veth pairs are made in a scratch namespace of the test and
# moved into the test namespace: $HIF (aoexd's end, matches "aoH*") and
# $JIF (the initiator's end).

load helpers

HMAC=02:00:00:00:0a:21
JMAC=02:00:00:00:0a:22

setup() {
	aoexbats_setup
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	STATE=$BATS_TEST_TMPDIR/state
	R=$BATS_TEST_TMPDIR/r
	HIF=aoH${NS#aoexbats-}
	JIF=aoJ${NS#aoexbats-}
	SCRATCH=$NS-x
	declare -gA EXTRA=()	# per device: more settings for conf_devices
}

teardown() {
	ip netns del "$SCRATCH" 2>/dev/null || true
	aoexbats_teardown
	if [ -n "$NET_OK" ]; then
		rm -f /run/aoexd/*"$HIF"-e*.lock /tmp/*"$HIF"-e*.lock 2>/dev/null || true
	fi
}

# hot_pair: a veth pair made elsewhere, moved into the namespace, set up
hot_pair() {
	ip netns del "$SCRATCH" 2>/dev/null || true
	ip netns add "$SCRATCH"
	ip -n "$SCRATCH" link add "$HIF" address "$HMAC" type veth peer name "$JIF" address "$JMAC"
	ip -n "$SCRATCH" link set "$HIF" netns "$NS"
	ip -n "$SCRATCH" link set "$JIF" netns "$NS"
	ip -n "$NS" link set "$JIF" up
	ip -n "$NS" link set "$HIF" up
}

aoexj() { ip netns exec "$NS" "$AOEX" -i "$JIF" "$@"; }

# wait_log PATTERN [SECONDS]: until the daemon log has a line matching it
wait_log() {
	local i n=$((${2:-5} * 100))
	for ((i = 0; i < n; i++)); do
		grep -qE "$1" "$LOG" && return 0
		sleep 0.01
	done
	cat "$LOG" >&2
	fail "no log line matching '$1' after ${2:-5} s"
}

# conf_devices DEV...: a file with the named devices (d1 = e1.1 ... d3 = e1.3)
conf_devices() {
	local d
	{
		echo "interfaces = {${IFACES:-\"$TIF\", \"aoH*\"}}"
		echo "state-directory = \"$STATE\""
		echo "control-socket = \"$BATS_TEST_TMPDIR/ctl.sock\""
		for d in "$@"; do
			echo "device $d { path = \"$BATS_TEST_TMPDIR/$d.img\"  shelf = 1  slot = ${d#d} ${EXTRA[$d]:-} }"
		done
	} >"$CONF"
}

make_images() {
	local d
	for d in d1 d2 d3; do
		random_file "$BATS_TEST_TMPDIR/$d.img" 2048
	done
}

@test "reload adds a device: served afterwards, the old one untouched" {
	require_net
	make_images
	conf_devices d1
	start_aoexd_argv -c "$CONF"
	aoex config 1.1 set keep-me >/dev/null
	run aoex "${NOREPLY[@]}" read 1.2 0 1 -o "$R"
	assert_failure 3
	conf_devices d1 d2
	hup
	grep -qE "notice: reload: added e1.2 \(d2\): $BATS_TEST_TMPDIR/d2.img, 2048 sectors" "$LOG" ||
		fail "no 'added' line: $(grep reload "$LOG")"
	grep -qF "SIGHUP: configuration reloaded from $CONF: 1 added, 0 removed, 0 replaced, 0 changed in place, 1 unchanged" "$LOG"
	aoex read 1.2 100 8 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d2.img" 100 8 | cmp - "$R"
	# d1 kept its config string (its state was not reset)
	run aoex config 1.1 read
	assert_output --partial 'config="keep-me"'
	stop_aoexd
	assert_counter reads 4 <(grep 'stats e1.2 reads' "$LOG")
}

@test "reload removes a device while another is under read load: no error for the other, writes kept" {
	require_net
	make_images
	EXTRA[d2]='write-policy = "write-back"  write-back-max-age = 60000'
	conf_devices d1 d2
	start_aoexd_argv -c "$CONF"
	# acknowledged in the write-back buffer, not yet on disk
	random_file "$BATS_TEST_TMPDIR/w" 8
	aoex write 1.2 16 -f "$BATS_TEST_TMPDIR/w"
	sectors "$BATS_TEST_TMPDIR/d2.img" 16 8 | cmp -s - "$BATS_TEST_TMPDIR/w" &&
		fail "the write is on disk already: the test would prove nothing"
	aoex -w 16 bench 1.1 --mode randread --seconds 3 >"$BATS_TEST_TMPDIR/bench" 2>&1 &
	BG_PIDS+=($!)
	# the reload comes once d1 is under load, and while it still is
	poll_until 5 eval '[ "$(live_stat d1 reads)" -ge 100 ]' ||
		fail "the bench did not get going: reads=$(live_stat d1 reads)"
	pid_alive "${BG_PIDS[-1]}" || fail "the bench ended before the reload: $(cat "$BATS_TEST_TMPDIR/bench")"
	conf_devices d1
	hup
	wait "${BG_PIDS[-1]}" || fail "bench failed: $(cat "$BATS_TEST_TMPDIR/bench")"
	grep -q "errors=0" "$BATS_TEST_TMPDIR/bench" || fail "bench: $(cat "$BATS_TEST_TMPDIR/bench")"
	grep -qE "iops=[1-9]" "$BATS_TEST_TMPDIR/bench" || fail "bench: $(cat "$BATS_TEST_TMPDIR/bench")"
	grep -qF "notice: reload: removing e1.2 (d2)" "$LOG"
	grep -qF "0 added, 1 removed, 0 replaced, 0 changed in place, 1 unchanged" "$LOG"
	# written back and closed before the reload finished
	sectors "$BATS_TEST_TMPDIR/d2.img" 16 8 | cmp - "$BATS_TEST_TMPDIR/w"
	run aoex "${NOREPLY[@]}" read 1.2 0 1 -o "$R"
	assert_failure 3
	aoex read 1.1 0 8 -o "$R"
	stop_aoexd
	grep -q 'stats e1.2 ' "$LOG" && fail "a removed device still has stats lines"
	assert_counter io_errors 0 <(grep 'stats e1.1 reads' "$LOG")
}

@test "aoexctl after reloads: a removed device is gone from status and stats, aoexctl reload applies and refuses" {
	require_net
	make_images
	conf_devices d1 d2 d3
	start_aoexd_argv -c "$CONF"
	local ctl=("$TOP_BUILDDIR/aoexctl" -s "$BATS_TEST_TMPDIR/ctl.sock")
	conf_devices d1 d3
	hup
	run "${ctl[@]}" status
	assert_success
	assert_line --partial "devices=2 "
	refute_output --partial "device d2 "
	run "${ctl[@]}" stats --json
	assert_success
	[ "$(jq -r '[.devices[].name] | join(",")' <<<"$output")" = "d1,d3" ] || fail "$output"
	# aoexctl reload: the same reload, with its outcome as the exit code,
	# and like SIGHUP it writes back what a write-back device holds
	EXTRA[d1]='write-policy = "write-back"  write-back-max-age = 60000'
	conf_devices d1 d3
	hup
	random_file "$BATS_TEST_TMPDIR/w" 8
	aoex write 1.1 24 -f "$BATS_TEST_TMPDIR/w"
	sectors "$BATS_TEST_TMPDIR/d1.img" 24 8 | cmp -s - "$BATS_TEST_TMPDIR/w" &&
		fail "the write is on disk already: the check below would prove nothing"
	conf_devices d1 d2 d3
	run "${ctl[@]}" reload
	assert_success
	sectors "$BATS_TEST_TMPDIR/d1.img" 24 8 | cmp - "$BATS_TEST_TMPDIR/w"
	aoex read 1.2 0 8 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d2.img" 0 8 | cmp - "$R"
	echo "device bad {" >>"$CONF"
	run "${ctl[@]}" reload
	assert_failure 1
	run "${ctl[@]}" status
	assert_line --partial "devices=3 "
	stop_aoexd
}

@test "reload: a bad file is refused with FILE:LINE, nothing changes; changes in place and replacements" {
	require_net
	make_images
	conf_devices d1 d2
	start_aoexd_argv -c "$CONF"
	cp "$CONF" "$CONF.good"
	# removes d2 and breaks the file: nothing of it may apply
	conf_devices d1
	echo 'device d9 { path = "null:1M"  shelf = 1 }' >>"$CONF"
	hup
	local line
	line=$(grep -n 'device d9' "$CONF" | cut -d: -f1)
	grep -qE "error: SIGHUP: $CONF:$line: .*slot.*; keeping the running configuration" "$LOG" ||
		fail "no FILE:LINE error: $(grep SIGHUP "$LOG")"
	aoex read 1.2 0 4 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d2.img" 0 4 | cmp - "$R"
	# in place: d1 denies our MAC (and gets a model); d2 moves to slot 5
	EXTRA[d1]="deny = {$IMAC}  model = \"renamed\""
	conf_devices d1 d2
	sed -i 's/slot = 2/slot = 5/' "$CONF"
	hup
	grep -qF "reload: e1.1 (d1) changed in place: model, access lists" "$LOG" ||
		fail "$(grep reload "$LOG")"
	grep -qF "reload: e1.2 (d2): store, address or tuning changed: replacing it" "$LOG"
	grep -qF "reload: added e1.5 (d2)" "$LOG"
	# a replacement whose new store does not open keeps the old device
	sed -i "s#$BATS_TEST_TMPDIR/d2.img#$BATS_TEST_TMPDIR/missing.img#; s/slot = 5/slot = 6/" "$CONF"
	hup
	line=$(grep -n 'device d2' "$CONF" | cut -d: -f1)
	grep -qE "error: reload: $CONF:$line: device d2: .*missing.img.*; keeping e1.5 as it was" "$LOG" ||
		fail "$(grep reload "$LOG")"
	run aoex "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure 3
	aoex -m "$MAC_B" read 1.1 0 4 -o "$R"
	aoex read 1.5 0 4 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d2.img" 0 4 | cmp - "$R"
	stop_aoexd
	assert_counter acl_denied 1 <(grep 'stats e1.1 acl' "$LOG")
}

@test "hotplug: an interface that appears is served, one that vanishes is dropped, counters kept" {
	require_net
	make_images
	conf_devices d1
	start_aoexd_argv -c "$CONF"
	hot_pair
	wait_log "notice: $HIF: attached"
	run aoexj discover -W 500
	assert_output --partial "e1.1 mac=$HMAC"
	aoexj read 1.1 0 8 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d1.img" 0 8 | cmp - "$R"
	# $JIF does not match the pattern: not served
	grep -q "$JIF: attached" "$LOG" && fail "$JIF attached"
	ip -n "$NS" link del "$HIF"
	wait_log "notice: $HIF: detached \((removed|down)\)"
	assert_aoexd_alive
	aoex read 1.1 0 8 -o "$R"
	# it comes back: same slot, counters go on
	hot_pair
	wait_log "notice: $HIF: attached" 
	aoexj read 1.1 0 8 -o "$R"
	stop_aoexd
	assert_counter_ge rx_frames 4 <(grep "stats $HIF " "$LOG")
}

@test "reload: interfaces follow the new interfaces list" {
	require_net
	make_images
	hot_pair
	IFACES="\"$TIF\""
	conf_devices d1
	start_aoexd_argv -c "$CONF"
	run aoexj "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure 3
	IFACES="\"$TIF\", \"aoH*\""
	conf_devices d1
	hup
	grep -qF "notice: $HIF: attached" "$LOG" || fail "$(cat "$LOG")"
	aoexj read 1.1 0 8 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d1.img" 0 8 | cmp - "$R"
	IFACES="\"$TIF\""
	conf_devices d1
	hup
	grep -qF "notice: $HIF: detached (no longer configured)" "$LOG" || fail "$(cat "$LOG")"
	run aoexj "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure 3
	aoex read 1.1 0 8 -o "$R"
	stop_aoexd
}

@test "hotplug: an MTU change is followed (the sector count advertised changes)" {
	require_net
	make_images
	conf_devices d1
	start_aoexd_argv -c "$CONF"
	run aoex discover -W 300
	assert_output --partial "sectors=2 "
	set_mtu 9000
	wait_log "notice: $TIF: mtu 1500 -> 9000"
	wait_log "notice: $TIF: attached"
	run aoex discover -W 300
	assert_output --partial "sectors=17 "
	aoex -s 17 read 1.1 0 34 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d1.img" 0 34 | cmp - "$R"
	set_mtu 1000
	wait_log "notice: $TIF: mtu 9000 -> 1000"
	[ "$(grep -c "notice: $TIF: attached" "$LOG")" -eq 2 ] || wait_log "notice: $TIF: attached.*" 1
	poll_until 5 eval 'aoex discover -W 300 | grep -q "sectors=1 "' || true
	run aoex discover -W 300
	assert_output --partial "sectors=1 "
	aoex read 1.1 0 4 -o "$R"
	stop_aoexd
}

@test "hotplug in single-device mode: a vanished interface is no crash, and it is served again when back" {
	require_net
	make_disk 64
	hot_pair
	start_aoexd_argv "$SHELF" "$SLOT" "$TIF,$HIF" "$DISK"
	ip -n "$NS" link del "$HIF"
	wait_log "notice: $HIF: detached"
	assert_aoexd_alive
	aoex read "$SHELF.$SLOT" 0 4 -o "$R"
	hot_pair
	wait_log "notice: $HIF: attached"
	aoexj read "$SHELF.$SLOT" 0 4 -o "$R"
	sectors "$DISK" 0 4 | cmp - "$R"
	stop_aoexd
}

@test "state: config string, mask list and reservation survive a restart" {
	require_net
	make_images
	conf_devices d1
	start_aoexd_argv -c "$CONF"
	aoex config 1.1 set "hello world" >/dev/null
	aoex mask 1.1 edit "+$IMAC" "+$MAC_B" >/dev/null
	aoex reserve 1.1 set "$IMAC" >/dev/null
	stop_aoexd
	grep -qx "mask $IMAC" "$STATE/e1.1" || fail "state file: $(cat "$STATE/e1.1")"
	ls "$STATE" | grep -q tmp && fail "temporary file left: $(ls "$STATE")"
	start_aoexd_argv -c "$CONF"
	grep -qF "e1.1: state restored: config string of 11 bytes, 2 in the mask list, 1 reserved" "$LOG"
	run aoex config 1.1 read
	assert_output --partial 'config="hello world"'
	run aoex mask 1.1 read
	assert_output "$IMAC
$MAC_B"
	# not in the mask list: ignored
	run aoex -m "$MAC_C" "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure 3
	# in the list but not the holder of the reservation: error 6
	run aoex -m "$MAC_B" read 1.1 0 1 -o "$R"
	assert_output --partial "aoe_error=6"
	aoex read 1.1 0 1 -o "$R"
	# what aoexctl clears is cleared on disk too
	"$TOP_BUILDDIR/aoexctl" -s "$BATS_TEST_TMPDIR/ctl.sock" clear-macmask d1
	"$TOP_BUILDDIR/aoexctl" -s "$BATS_TEST_TMPDIR/ctl.sock" clear-reserve d1
	stop_aoexd
	grep -q "^mask" "$STATE/e1.1" && fail "mask list still in the state file: $(cat "$STATE/e1.1")"
	start_aoexd_argv -c "$CONF"
	aoex -m "$MAC_C" read 1.1 0 1 -o "$R"
	stop_aoexd
}

@test "state: single-device mode with --state-dir; a corrupt file is a warning, not fatal" {
	require_net
	make_disk 64
	start_aoexd --state-dir "$STATE"
	aoex config "$SHELF.$SLOT" set "cli" >/dev/null
	stop_aoexd
	start_aoexd --state-dir "$STATE"
	run aoex config "$SHELF.$SLOT" read
	assert_output --partial 'config="cli"'
	stop_aoexd
	printf 'garbage\x00\x01\n' >"$STATE/e$SHELF.$SLOT"
	start_aoexd --state-dir "$STATE"
	grep -qF "warning: e$SHELF.$SLOT: state file $STATE/e$SHELF.$SLOT:1: not an aoexd state file; ignored" "$LOG" ||
		fail "no warning: $(cat "$LOG")"
	run aoex config "$SHELF.$SLOT" read
	assert_output --partial 'config=""'
	# without --state-dir nothing is read or written
	stop_aoexd
	start_aoexd
	aoex config "$SHELF.$SLOT" fset "x" >/dev/null
	stop_aoexd
	grep -q 'garbage' "$STATE/e$SHELF.$SLOT"
}
