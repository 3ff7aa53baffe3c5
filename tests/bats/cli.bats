#!/usr/bin/env bats
# cli.bats - aoexd's command line: help, usage errors (exit 2), start-up
# errors (exit 1 with "aoexd: error: ..."), clean shutdown on SIGTERM and
# SIGINT (exit 0 with the statistics lines).

load helpers

# aoexd_once ARG...: run aoexd in the namespace, expecting it to exit by
# itself (a start-up or usage error); never let a bug hang the suite
aoexd_once() {
	timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" "$@"
}

@test "--help exits 0 and documents every option" {
	run "$AOEXD" --help
	assert_success
	assert_line --index 0 --regexp '^Usage: aoexd \[OPTIONS\] SHELF SLOT NETIF'
	# every long option the help text names is one the parser knows:
	# alone, it ends in a usage error of its own or a missing argument,
	# never "unrecognized option" (--help and --version exit 0 at once)
	local help=$output opts o
	opts=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u)
	[ "$(echo "$opts" | wc -l)" -ge 30 ] || fail "too few long options in aoexd --help: $opts"
	for o in $opts; do
		run timeout -s KILL 10 "$AOEXD" "$o"
		[[ $output != *"unrecognized option"* && $output != *"ambiguous"* ]] ||
			fail "aoexd --help documents $o, which the parser does not know: $output"
		case $o in
		--help | --version) [ "$status" -eq 0 ] || fail "aoexd $o: status $status, want 0" ;;
		*) [ "$status" -eq 2 ] || fail "aoexd $o alone: status $status, want 2 (usage): $output" ;;
		esac
	done
	output=$help
	# and every short option, with its long form on the same line
	for o in "-b, --bufcnt" "-d, --direct" "-s, --sync" "-r, --read-only" "-m, --mask" \
		 "-o, --offset" "-l, --length" "-c, --config" "-h, --help" "-V, --version"; do
		assert_output --partial "$o"
	done
	assert_output --partial "null:SIZE"
	assert_output --partial "Exit status"
	run "$AOEXD" -h
	assert_success
	assert_line --index 0 --regexp '^Usage: aoexd'
}

@test "--version exits 0 and prints the version" {
	run "$AOEXD" --version
	assert_success
	assert_output --regexp '^aoexd [0-9]+\.[0-9]+'
	run "$AOEXD" -V
	assert_success
}

@test "no arguments or the wrong number of them: exit 2 with usage" {
	local args
	for args in "" "1" "1 2" "1 2 eth0" "1 2 eth0 file extra"; do
		# shellcheck disable=SC2086
		run timeout -s KILL 10 "$AOEXD" $args
		[ "$status" -eq 2 ] || fail "aoexd $args: status $status, want 2"
		assert_output --partial "expected SHELF SLOT NETIF FILE"
		assert_output --partial "Usage: aoexd"
	done
}

@test "unknown option: exit 2 with a pointer to --help" {
	run timeout -s KILL 10 "$AOEXD" --bogus 1 2 eth0 /dev/null
	assert_failure 2
	assert_output --partial "Try 'aoexd --help'"
	run timeout -s KILL 10 "$AOEXD" -Z 1 2 eth0 /dev/null
	assert_failure 2
}

@test "out-of-range numbers and bad option values: exit 2 naming the value" {
	local -a cases=(
		"bad shelf '65535'|65535 2 eth0 /dev/null"
		"bad shelf 'x'|x 2 eth0 /dev/null"
		"bad slot '255'|1 255 eth0 /dev/null"
		"bad slot '2x'|1 2x eth0 /dev/null"
		"bad buffer count '1'|-b 1 1 2 eth0 /dev/null"
		"bad buffer count '65536'|-b 65536 1 2 eth0 /dev/null"
		"bad MTU '100'|--mtu 100 1 2 eth0 /dev/null"
		"bad length '0'|-l 0 1 2 eth0 /dev/null"
		"bad offset 'abc'|-o abc 1 2 eth0 /dev/null"
		"unknown log level 'loud'|--log-level loud 1 2 eth0 /dev/null"
		"takes no SHELF SLOT NETIF FILE arguments|-c /etc/aoexd.conf 1 2 eth0 /dev/null"
		"unknown engine 'turbo'|--engine turbo 1 2 eth0 /dev/null"
		"unknown write policy 'later'|--write-policy later 1 2 eth0 /dev/null"
		"bad queue depth '0'|--queue-depth 0 1 2 eth0 /dev/null"
		"interface name too long|1 2 abcdefghijklmnopq /dev/null"
	)
	local c want args
	for c in "${cases[@]}"; do
		want=${c%%|*}
		args=${c#*|}
		# shellcheck disable=SC2086
		run timeout -s KILL 10 "$AOEXD" $args
		[ "$status" -eq 2 ] || fail "aoexd $args: status $status, want 2 ($output)"
		[[ $output == *"$want"* ]] || fail "aoexd $args: no '$want' in: $output"
	done
}

@test "bad MAC in -m: refused before start-up with the MAC named" {
	require_net
	make_disk 64
	# a malformed argument is a usage error (exit 2) per aoexd --help
	run aoexd_once -m 02:00:00:00:0a:zz "$SHELF" "$SLOT" "$TIF" "$DISK"
	assert_failure 2
	assert_output --partial "bad MAC address '02:00:00:00:0a:zz' in -m"
	run aoexd_once -m "$MAC_B,02:00:00" "$SHELF" "$SLOT" "$TIF" "$DISK"
	assert_failure 2
	assert_output --partial "bad MAC address '02:00:00' in -m"
}

@test "missing backing file: exit 1, aoexd: error: cannot open" {
	require_net
	run aoexd_once "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/no-such-file"
	assert_failure 1
	assert_output "aoexd: error: cannot open $BATS_TEST_TMPDIR/no-such-file: No such file or directory"
}

@test "directory as backing file: exit 1 with the reason" {
	require_net
	mkdir "$BATS_TEST_TMPDIR/adir"
	run aoexd_once "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/adir"
	assert_failure 1
	assert_output "aoexd: error: cannot open $BATS_TEST_TMPDIR/adir: Is a directory"
	# read-only, the directory opens; then it is not a disk
	run aoexd_once -r "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/adir"
	assert_failure 1
	assert_output "aoexd: error: $BATS_TEST_TMPDIR/adir: not a regular file or block device"
}

@test "bad null: size: exit 1" {
	require_net
	run aoexd_once "$SHELF" "$SLOT" "$TIF" null:12Q
	assert_failure 1
	assert_output --partial "aoexd: error: null:12Q: bad size"
	run aoexd_once "$SHELF" "$SLOT" "$TIF" null:100
	assert_failure 1
	assert_output --partial "bad size"
}

@test "nonexistent interface: exit 1, no such interface" {
	require_net
	make_disk 64
	run aoexd_once "$SHELF" "$SLOT" "nosuch$TIF" "$DISK"
	assert_failure 1
	assert_output --partial "aoexd: error: interface nosuch$TIF: no such interface"
}

@test "offset past the end: exit 1 with a clear message" {
	require_net
	make_disk 64
	run aoexd_once -o 64 "$SHELF" "$SLOT" "$TIF" "$DISK"
	assert_failure 1
	assert_output "aoexd: error: $DISK: offset 32768 is past the end (size 32768 bytes)"
	run aoexd_once -o 1000 "$SHELF" "$SLOT" "$TIF" "$DISK"
	assert_failure 1
	assert_output --partial "is past the end"
}

@test "length beyond the end of the file: exit 1" {
	require_net
	make_disk 64
	run aoexd_once -o 8 -l 57 "$SHELF" "$SLOT" "$TIF" "$DISK"
	assert_failure 1
	assert_output "aoexd: error: $DISK: length 29184 exceeds the 28672 bytes after the offset"
	# exactly to the end is fine
	start_aoexd -o 8 -l 56
	run aoex identify "$SHELF.$SLOT"
	assert_success
	assert_line "sectors=56"
	stop_aoexd
}

@test "busy shelf/slot: a second aoexd on the same interface and address is refused" {
	make_disk 64
	start_aoexd
	local first=$AOEXD_PID
	cp "$DISK" "$BATS_TEST_TMPDIR/disk2.img"
	run aoexd_once "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/disk2.img"
	assert_failure 1
	assert_output --partial "aoexd: error: e$SHELF.$SLOT is already served on $TIF"
	assert_output --partial "pid $first"
	# the first one is unharmed, and another slot on the same port is fine
	assert_aoexd_alive
	run aoex identify "$SHELF.$SLOT"
	assert_success
	start_aoexd_argv "$SHELF" 3 "$TIF" "$BATS_TEST_TMPDIR/disk2.img"
	run aoex discover -W 200
	assert_success
	assert_line --index 0 --regexp "^e1\.2 mac=$TMAC "
	assert_line --index 1 --regexp "^e1\.3 mac=$TMAC "
	stop_aoexd
	stop_aoexd "$first"
}

@test "busy shelf/slot: another target answering on the wire is detected" {
	make_disk 64
	# a target with our address at the far end of the link, seen only on
	# the wire (a different interface, so no shared lock file)
	start_aoexd_argv "$SHELF" "$SLOT" "$IIF" "$DISK"
	local far=$AOEXD_PID
	cp "$DISK" "$BATS_TEST_TMPDIR/disk2.img"
	run aoexd_once "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/disk2.img"
	assert_failure 1
	# the interface is set up while the probe listens: its info line may
	# come first, but nothing is served
	assert_line "aoexd: error: e$SHELF.$SLOT is already served on $TIF by $IMAC; pick another shelf/slot"
	refute_output --partial "serving"
	# --no-probe skips the check (the administrator knows better)
	start_aoexd_argv --no-probe "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/disk2.img"
	stop_aoexd
	stop_aoexd "$far"
}

@test "SIGTERM: exit 0 with the device and interface stats lines" {
	make_disk 64
	start_aoexd
	run aoex identify "$SHELF.$SLOT"
	assert_success
	aoex read "$SHELF.$SLOT" 0 4 -o "$BATS_TEST_TMPDIR/r"
	stop_aoexd "$AOEXD_PID" TERM
	grep -q 'notice: Terminated received: finishing and exiting' "$LOG" || fail "no shutdown notice"
	local dev ifl k
	dev=$(grep "^aoexd: notice: stats e1.2 " "$LOG")
	ifl=$(grep "^aoexd: notice: stats $TIF " "$LOG")
	for k in reads writes read_bytes write_bytes flushes other io_errors ata_errors \
		 aoe_errors reserved_refused bad_version unknown_cmd drop_short drop_masked \
		 drop_config tx_full; do
		[[ $dev =~ (^| )$k=[0-9]+( |$) ]] || fail "no $k=N in: $dev"
	done
	for k in rx_frames tx_frames rx_bytes tx_bytes wakeups ignored broadcasts runts responses \
		 not_addressed tx_dropped; do
		[[ $ifl =~ (^| )$k=[0-9]+( |$) ]] || fail "no $k=N in: $ifl"
	done
	# 4 sectors at 2 per frame: 2 reads; IDENTIFY is "other"
	assert_counter reads 2
	assert_counter read_bytes 2048
	assert_counter writes 0
	assert_counter other 1
	# two config reads (identify and read learn the MAC), IDENTIFY, 2 reads
	assert_counter rx_frames 5
	assert_counter tx_frames 6	# those five and the advertisement
}

@test "SIGINT: exit 0 with the stats lines too" {
	make_disk 64
	start_aoexd
	run aoex discover -W 200
	assert_success
	stop_aoexd "$AOEXD_PID" INT
	grep -q 'notice: Interrupt received: finishing and exiting' "$LOG" || fail "no shutdown notice"
	grep -q "^aoexd: notice: stats $TIF rx_frames=1 " "$LOG" || fail "no interface stats"
}

@test "SIGHUP does not stop the daemon" {
	make_disk 64
	start_aoexd
	kill -HUP "$AOEXD_PID"
	poll_until 5 grep -q 'notice: SIGHUP' "$LOG" || fail "SIGHUP not logged"
	assert_aoexd_alive
	run aoex identify "$SHELF.$SLOT"
	assert_success
	stop_aoexd
}

@test "aoex: usage errors exit 2, silence exits 3" {
	require_net
	run "$AOEX" discover
	assert_failure 2
	assert_output --partial "no interface"
	run aoex frobnicate
	assert_failure 2
	assert_output --partial "unknown command 'frobnicate'"
	run aoex read 1.2
	assert_failure 2
	run aoex identify 1
	assert_failure 2
	run aoex discover -W 200
	assert_failure 3
	run aoex "${NOREPLY[@]}" identify 1.2
	assert_failure 3
	assert_output --partial "no reply"
}
