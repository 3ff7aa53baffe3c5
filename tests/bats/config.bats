#!/usr/bin/env bats
# config.bats - aoexd -c FILE: many devices on many interfaces from a
# configuration file, per-device interfaces and access lists, --check,
# refused files (FILE:LINE: reason, exit 1), usage errors (exit 2), SIGHUP
# re-reading the file, the pid file.
#
# The namespace gets a second veth pair besides $TIF/$IIF: $TIF2 (MAC
# $TMAC2, aoexd's end) and $IIF2 (MAC $IMAC2, aoex's end).

load helpers

TMAC2=02:00:00:00:0a:11
IMAC2=02:00:00:00:0a:12

setup() {
	aoexbats_setup
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	W=$BATS_TEST_TMPDIR/w
	R=$BATS_TEST_TMPDIR/r
	TIF2=aoU${NS#aoexbats-}
	IIF2=aoV${NS#aoexbats-}
}

teardown() {
	aoexbats_teardown
	if [ -n "$NET_OK" ]; then
		rm -f /run/aoexd/*"$TIF2"-e*.lock /run/aoexd/*"$IIF2"-e*.lock \
		      /tmp/*"$TIF2"-e*.lock /tmp/*"$IIF2"-e*.lock 2>/dev/null || true
	fi
}

# second_pair: the second veth pair, inside the namespace
second_pair() {
	require_net
	ip -n "$NS" link add "$TIF2" address "$TMAC2" type veth peer name "$IIF2" address "$IMAC2"
	ip -n "$NS" link set "$TIF2" up
	ip -n "$NS" link set "$IIF2" up
}

# aoex2 ARG...: the initiator on the second pair
aoex2() { ip netns exec "$NS" "$AOEX" -i "$IIF2" "$@"; }

# start_conf [OPT...]: aoexd -c $CONF, wait until it serves
start_conf() {
	start_aoexd_argv -c "$CONF" "$@"
}

# aoexd_once ARG...: aoexd expected to exit by itself
aoexd_once() {
	timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" "$@"
}

# expect_refused LINE REASON: aoexd -c $CONF (and --check) exit 1 with
# "aoexd: error: $CONF:LINE: ...REASON..."
expect_refused() {
	local mode
	for mode in --check ""; do
		# shellcheck disable=SC2086
		run timeout -s KILL 10 "$AOEXD" -c "$CONF" $mode
		[ "$status" -eq 1 ] || fail "aoexd -c $mode: status $status, want 1 ($output)"
		assert_output --partial "aoexd: error: $CONF:$1: "
		assert_output --partial "$2"
	done
}

# four_devices: four files, two of them on one interface each, one on
# both, one on the second only
four_devices() {
	local k
	for k in 1 2 3 4; do
		random_file "$BATS_TEST_TMPDIR/d$k.img" 256
		cp "$BATS_TEST_TMPDIR/d$k.img" "$BATS_TEST_TMPDIR/d$k.ref"
	done
	cat >"$CONF" <<-EOF
	# two interfaces, four devices
	interfaces = {"$TIF", "$TIF2"}
	buffer-count = 8
	device first {
		path = "$BATS_TEST_TMPDIR/d1.img"
		shelf = 1
		slot = 1
		interfaces = {"$TIF"}
	}
	device second {
		path = "$BATS_TEST_TMPDIR/d2.img"
		shelf = 1
		slot = 2
		interfaces = {"$TIF2"}
		buffer-count = 32
	}
	device both {
		path = "$BATS_TEST_TMPDIR/d3.img"
		shelf = 2
		slot = 1
	}
	device fourth {
		path = "$BATS_TEST_TMPDIR/d4.img"
		shelf = 2
		slot = 2
		interfaces = {"$TIF2"}
		write-policy = "write-back"
	}
	EOF
}

# ------------------------------------------------------------ serving

@test "4 devices on 2 interfaces: each visible where configured, data lands in its own file" {
	second_pair
	four_devices
	start_conf
	assert_line_in_log() { grep -qF -- "$1" "$LOG" || fail "no '$1' in the log"; }
	assert_line_in_log "serving e1.1 (first) on $TIF:"
	assert_line_in_log "serving e1.2 (second) on $TIF2:"
	assert_line_in_log "serving e2.1 (both) on $TIF,$TIF2:"
	assert_line_in_log "serving e2.2 (fourth) on $TIF2:"

	# discovery (broadcast shelf and slot) reaches every device served there
	run aoex discover -W 300
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^e1\.1 mac=$TMAC bufcnt=8 "
	assert_line --index 1 --regexp "^e2\.1 mac=$TMAC bufcnt=8 "
	run aoex2 discover -W 300
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --regexp "^e1\.2 mac=$TMAC2 bufcnt=32 "
	assert_line --index 1 --regexp "^e2\.1 mac=$TMAC2 bufcnt=8 "
	assert_line --index 2 --regexp "^e2\.2 mac=$TMAC2 bufcnt=8 "

	# a device is not served where it is not configured
	run aoex "${NOREPLY[@]}" read 1.2 0 1 -o "$R"
	assert_failure
	run aoex2 "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure

	# writes land in the right file, and only there
	local t ifn k=0
	for t in "1.1 1" "1.2 2" "2.1 1" "2.2 2"; do
		k=$((k + 1))
		set -- $t
		random_file "$W.$k" 16
		if [ "$2" = 1 ]; then aoex write "$1" $((10 * k)) -f "$W.$k"
		else aoex2 write "$1" $((10 * k)) -f "$W.$k"; fi
		dd if="$W.$k" of="$BATS_TEST_TMPDIR/d$k.ref" bs=512 seek=$((10 * k)) conv=notrunc status=none
	done
	# the device on both interfaces: written through the second one too
	random_file "$W.5" 8
	aoex2 write 2.1 200 -f "$W.5"
	dd if="$W.5" of="$BATS_TEST_TMPDIR/d3.ref" bs=512 seek=200 conv=notrunc status=none
	# and read back from each
	aoex read 1.1 10 16 -o "$R" && cmp "$W.1" "$R"
	aoex2 read 1.2 20 16 -o "$R" && cmp "$W.2" "$R"
	aoex read 2.1 30 16 -o "$R" && cmp "$W.3" "$R"
	aoex2 read 2.1 30 16 -o "$R" && cmp "$W.3" "$R"
	aoex read 2.1 200 8 -o "$R" && cmp "$W.5" "$R"
	aoex2 read 2.2 40 16 -o "$R" && cmp "$W.4" "$R"

	stop_aoexd
	# write-back data of the fourth device is on disk after SIGTERM
	for k in 1 2 3 4; do
		cmp "$BATS_TEST_TMPDIR/d$k.img" "$BATS_TEST_TMPDIR/d$k.ref" ||
			fail "d$k.img is not what the writes should have made it"
	done
	# one set of stats lines per device, and per interface
	for t in e1.1 e1.2 e2.1 e2.2; do
		grep -qE "^aoexd: notice: stats $t reads=" "$LOG" || fail "no stats line for $t"
		grep -qE "^aoexd: notice: stats $t cache " "$LOG" || fail "no cache stats for $t"
		grep -qE "^aoexd: notice: stats $t acl acl_denied=0$" "$LOG" || fail "no acl line for $t"
	done
	grep -qE "^aoexd: notice: stats $TIF rx_frames=" "$LOG" || fail "no stats for $TIF"
	grep -qE "^aoexd: notice: stats $TIF2 rx_frames=" "$LOG" || fail "no stats for $TIF2"
	# 16 sectors written and read back, 2 sectors per frame at MTU 1500
	grep -qE "^aoexd: notice: stats e1.2 reads=8 writes=8 " "$LOG" || fail "e1.2 counted wrong"
}

@test "no interfaces list: every Ethernet interface that is up, loopback excepted" {
	second_pair
	make_disk 64
	cat >"$CONF" <<-EOF
	device only {
		path = "$DISK"
		shelf = 3
		slot = 4
	}
	EOF
	start_conf
	grep -qF "serving e3.4 (only) on " "$LOG" || fail "no serving line"
	grep -qE "serving e3.4 \(only\) on [^:]*\blo\b" "$LOG" && fail "loopback served"
	run aoex discover -W 300
	assert_line --index 0 --regexp "^e3\.4 mac=$TMAC "
	run aoex2 discover -W 300
	assert_line --index 0 --regexp "^e3\.4 mac=$TMAC2 "
	stop_aoexd
}

@test "a configured interface that does not exist: exit 1; a glob matching nothing: warning" {
	require_net
	make_disk 64
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF", "nosuchif0"}
	device d { path = "$DISK"  shelf = 1  slot = 2 }
	EOF
	run aoexd_once -c "$CONF"
	assert_failure 1
	assert_output "aoexd: error: $CONF: interface nosuchif0 (in interfaces) does not exist"
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF", "zzq*"}
	device d { path = "$DISK"  shelf = 1  slot = 2 }
	EOF
	start_conf
	grep -qF "aoexd: warning: $CONF: no interface matches \"zzq*\"" "$LOG" || fail "no warning"
	aoex read 1.2 0 1 -o "$R"
	stop_aoexd
}

@test "missing backing file: exit 1 naming FILE:LINE and the device" {
	require_net
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}

	device gone {
		path = "$BATS_TEST_TMPDIR/no-such-file"
		shelf = 1
		slot = 2
	}
	EOF
	run aoexd_once -c "$CONF"
	assert_failure 1
	assert_output "aoexd: error: $CONF:3: device gone: cannot open $BATS_TEST_TMPDIR/no-such-file: No such file or directory"
}

# ------------------------------------------------------------- access

@test "ACL: accepted MACs are served, others ignored and counted per device" {
	require_net
	random_file "$BATS_TEST_TMPDIR/d1.img" 64
	random_file "$BATS_TEST_TMPDIR/d2.img" 64
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	acl friends {
		accept = {"$IMAC", "$MAC_C"}
	}
	device closed {
		path = "$BATS_TEST_TMPDIR/d1.img"
		shelf = 1
		slot = 1
		accept = {"friends"}
		broadcast = false
	}
	device open {
		path = "$BATS_TEST_TMPDIR/d2.img"
		shelf = 1
		slot = 2
		deny = {"$MAC_C"}
	}
	EOF
	start_conf
	# the accepted initiator sees both
	run aoex discover -W 300
	assert_equal "${#lines[@]}" 2
	aoex read 1.1 0 4 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d1.img" 0 4 | cmp - "$R"
	# another MAC: not accepted by "closed", served by "open"
	run aoex -m "$MAC_B" "${NOREPLY[@]}" read 1.1 0 1 -o "$R"
	assert_failure
	run aoex -m "$MAC_B" discover -W 300
	assert_output --regexp "^e1\.2 mac=$TMAC "
	refute_output --partial "e1.1"
	aoex -m "$MAC_B" read 1.2 0 4 -o "$R"
	sectors "$BATS_TEST_TMPDIR/d2.img" 0 4 | cmp - "$R"
	# MAC_C: accepted by "closed", denied by "open"
	aoex -m "$MAC_C" read 1.1 0 1 -o "$R"
	run aoex -m "$MAC_C" "${NOREPLY[@]}" read 1.2 0 1 -o "$R"
	assert_failure
	stop_aoexd
	# MAC_B: one Query Config (read), one discover for closed; MAC_C: one read for open
	grep -qE "^aoexd: notice: stats e1.1 acl acl_denied=2$" "$LOG" ||
		fail "e1.1: $(grep 'stats e1.1 acl' "$LOG")"
	grep -qE "^aoexd: notice: stats e1.2 acl acl_denied=1$" "$LOG" ||
		fail "e1.2: $(grep 'stats e1.2 acl' "$LOG")"
}

# -------------------------------------------------------------- --check

@test "--check prints the effective configuration and exits 0 (no network needed)" {
	cat >"$CONF" <<-EOF
	interfaces = {"eth9"}
	write-policy = "write-back"
	device disk1 {
		path = "/nonexistent/is/not/opened"
		shelf = 7
		slot = 3
		accept = {"$MAC_B"}
	}
	EOF
	run timeout -s KILL 10 "$AOEXD" -c "$CONF" --check
	assert_success
	assert_output --partial 'interfaces = {"eth9"}'
	assert_output --partial 'device disk1 {'
	assert_output --partial 'shelf = 7'
	assert_output --partial 'slot = 3'
	assert_output --partial 'buffer-count = 64'
	assert_output --partial 'queue-depth = 64'
	assert_output --partial 'write-policy = "write-back"'
	assert_output --partial "$MAC_B"
	# what it prints is a configuration that loads to the same
	echo "$output" >"$BATS_TEST_TMPDIR/again.conf"
	run timeout -s KILL 10 "$AOEXD" -c "$BATS_TEST_TMPDIR/again.conf" --check
	assert_success
	echo "$output" | cmp - "$BATS_TEST_TMPDIR/again.conf"
}

@test "refused configurations: FILE:LINE: reason, exit 1" {
	cat >"$CONF" <<-EOF
	device a {
		path = "null:1M"
		shelf = 1
		slot = 1
	}
	device b {
		path = "null:1M"
		shelf = 1
		slot = 1
	}
	EOF
	expect_refused 6 "shelf 1 slot 1 (e1.1) is already used by device a"
	cat >"$CONF" <<-EOF
	device a {
		path = "null:1M"
		shelf = 1
		slot = 1
		accept = {"02:00:00:00:0g:01"}
	}
	EOF
	expect_refused 5 'bad MAC address "02:00:00:00:0g:01"'
	cat >"$CONF" <<-EOF
	mtu = 1500
	bogus-option = 3
	EOF
	expect_refused 2 "unknown option 'bogus-option'"
	cat >"$CONF" <<-EOF

	device a {
		shelf = 1
		slot = 1
	}
	EOF
	expect_refused 2 "no path, uuid or label"
	# a file that cannot be read
	run timeout -s KILL 10 "$AOEXD" -c "$BATS_TEST_TMPDIR/none.conf" --check
	assert_failure 1
	assert_output --partial "aoexd: error: $BATS_TEST_TMPDIR/none.conf: "
}

@test "usage errors with -c: exit 2" {
	echo 'device a { path = "null:1M"  shelf = 1  slot = 1 }' >"$CONF"
	run timeout -s KILL 10 "$AOEXD" -c "$CONF" 1 2 eth0 /dev/null
	assert_failure 2
	assert_output --partial "takes no SHELF SLOT NETIF FILE arguments"
	run timeout -s KILL 10 "$AOEXD" -c "$CONF" -b 4
	assert_failure 2
	assert_output --partial "-b does not apply with -c"
	run timeout -s KILL 10 "$AOEXD" -c "$CONF" --read-ahead 1M
	assert_failure 2
	assert_output --partial "--read-ahead does not apply with -c"
	run timeout -s KILL 10 "$AOEXD" --check 1 2 eth0 /dev/null
	assert_failure 2
	assert_output --partial "--check needs -c"
}

@test "--help documents -c, --check and SIGHUP" {
	run "$AOEXD" --help
	assert_success
	assert_output --partial "-c, --config FILE"
	assert_output --partial "--check"
	assert_output --partial "SIGHUP re-reads FILE"
}

# -------------------------------------------------- signals, pid file

@test "SIGHUP: a broken file is logged with FILE:LINE and serving goes on; a good one reloads" {
	require_net
	make_disk 64
	local pidf=$BATS_TEST_TMPDIR/aoexd.pid
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	pid-file = "$pidf"
	device d {
		path = "$DISK"
		shelf = 1
		slot = 2
	}
	EOF
	cp "$CONF" "$CONF.good"
	start_conf
	# the pid file holds the daemon's pid (ip netns exec execs aoexd)
	[ -f "$pidf" ] || fail "no pid file"
	assert_equal "$(cat "$pidf")" "$AOEXD_PID"
	printf 'device e {\n\tpath = "null:1M"\n\tshelf = 1\n\tslot = 2\n\tfrobnicate = 1\n}\n' >>"$CONF"
	kill -HUP "$AOEXD_PID"
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q "SIGHUP: $CONF:" "$LOG" && break
		sleep 0.01
	done
	grep -qF "aoexd: error: SIGHUP: $CONF:12: device e: unknown option 'frobnicate'; keeping the running configuration" "$LOG" ||
		fail "no reload error in the log: $(grep SIGHUP "$LOG")"
	assert_aoexd_alive
	aoex read 1.2 0 4 -o "$R"
	sectors "$DISK" 0 4 | cmp - "$R"
	cp "$CONF.good" "$CONF"
	kill -HUP "$AOEXD_PID"
	for ((i = 0; i < 300; i++)); do
		grep -q "configuration reloaded" "$LOG" && break
		sleep 0.01
	done
	grep -qF "SIGHUP: configuration reloaded from $CONF: 0 added, 0 removed, 0 replaced, 0 changed in place, 1 unchanged" "$LOG" ||
		fail "no reload line in the log"
	aoex read 1.2 0 4 -o "$R"
	stop_aoexd
	[ ! -e "$pidf" ] || fail "pid file left behind"
}

@test "log-level from the file; --log-level on the command line wins" {
	require_net
	make_disk 64
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	log-level = "debug"
	device d { path = "$DISK"  shelf = 1  slot = 2 }
	EOF
	start_conf
	stop_aoexd
	# info lines (the interface's) are logged at debug
	grep -q "aoexd: info: $TIF: mac" "$LOG" || fail "no info line at log-level debug"
	sed -i 's/"debug"/"notice"/' "$CONF"
	start_conf
	stop_aoexd
	grep -q "aoexd: info: " "$LOG" && fail "info line at log-level notice"
	start_conf --log-level info
	stop_aoexd
	grep -q "aoexd: info: $TIF: mac" "$LOG" || fail "--log-level info did not win"
}
