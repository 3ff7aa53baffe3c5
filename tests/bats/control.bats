#!/usr/bin/env bats
# control.bats - aoexd's control socket and aoexctl: counters checked
# against the exact traffic aoex sent (JSON through jq), status, MAC mask
# and reservation shown and cleared, clear-stats, reload, socket mode and
# owner, refused users (SO_PEERCRED), bad and oversized requests, a full
# client table, ring drops (PACKET_STATISTICS), exit codes.

load helpers

setup() {
	aoexbats_setup
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	AOEXCTL=${AOEXCTL:-$TOP_BUILDDIR/aoexctl}
	PUBDIR=
	# the packet paths status should report
	RXP=ring TXP=ring PATHNAME='rx-ring\(v2\)/tx-ring\(v2\)'
	if [[ " $AOEXD_EXTRA_ARGS " == *" --no-rx-ring "* ]]; then RXP=recvmmsg; fi
	if [[ " $AOEXD_EXTRA_ARGS " == *" --no-tx-ring "* ]]; then TXP=sendmmsg; fi
	case $RXP/$TXP in
	recvmmsg/sendmmsg) PATHNAME=recvmmsg/sendmmsg ;;
	recvmmsg/ring) PATHNAME='recvmmsg/tx-ring\(v2\)' ;;
	ring/sendmmsg) PATHNAME='rx-ring\(v2\)/sendmmsg' ;;
	esac
}

teardown() {
	aoexbats_teardown
	[ -z "$PUBDIR" ] || rm -rf "$PUBDIR"
}

ctl() { "$AOEXCTL" -s "$SOCK" "$@"; }

# two_devices [EXTRA-GLOBAL-LINES]: first (e1.1, 64 KiB) and second (e1.2,
# 128 KiB) on $TIF, the control socket at $SOCK
two_devices() {
	random_file "$BATS_TEST_TMPDIR/d1.img" 128
	random_file "$BATS_TEST_TMPDIR/d2.img" 256
	cat >"$CONF" <<-EOF
	interfaces = {"$TIF"}
	control-socket = "$SOCK"
	${1:-}
	device first {
		path = "$BATS_TEST_TMPDIR/d1.img"
		shelf = 1
		slot = 1
	}
	device second {
		path = "$BATS_TEST_TMPDIR/d2.img"
		shelf = 1
		slot = 2
	}
	EOF
	start_aoexd_argv -c "$CONF"
	[ -S "$SOCK" ] || fail "no control socket at $SOCK"
}

# jqs FILTER: stats --json through jq
jqs() { ctl stats --json | jq -e "$1"; }

# a directory others may enter, for the permission tests
public_dir() {
	PUBDIR=$(mktemp -d /tmp/aoexctl-bats.XXXXXX)
	chmod 755 "$PUBDIR"
	SOCK=$PUBDIR/ctl.sock
}

@test "stats --json and the stop log: the same counters, by the same names, with the same values" {
	two_devices
	aoex read 1.1 0 16 -o "$BATS_TEST_TMPDIR/r"
	aoex write 1.2 4 -f <(head -c 3072 /dev/urandom)
	aoex identify 1.2 >/dev/null
	ctl stats --json >"$BATS_TEST_TMPDIR/stats.json"
	stop_aoexd
	# every key=value of the stop log's lines of a device, an interface, the
	# engine; and the same from the JSON records
	python3 - "$BATS_TEST_TMPDIR/stats.json" "$LOG" <<-'PY'
	import json, re, sys
	js = json.load(open(sys.argv[1]))
	log = {}
	for line in open(sys.argv[2]):
	    m = re.match(r"^aoexd: notice: stats (\S+) (?:([a-z]+) )?([a-z_]+=.*)$", line)
	    if not m:
	        continue
	    name = m.group(1)
	    for kv in m.group(3).split():
	        k, v = kv.split("=", 1)
	        log.setdefault(name, {})[k] = v
	want = {}
	for d in js["devices"]:
	    want[d["target"]] = {k: v for k, v in d.items() if k not in ("name", "target")}
	for i in js["interfaces"]:
	    want[i["name"]] = {k: v for k, v in i.items() if k != "name"}
	want["engine"] = {k: v for k, v in js["engine"].items() if k != "name"}
	# the shutdown's own flush is one more queue request and I/O, and
	# engine work; the kernel's drops are read again at exit
	moving = {"queue_requests", "queue_ios", "queue_waiting_max", "submitted", "submit_calls",
	          "reaped", "reap_calls", "avg_service_us"}
	bad = 0
	for name, rec in want.items():
	    got = log.get(name)
	    if got is None:
	        print(f"no stop-log line for {name}"); bad += 1; continue
	    if set(rec) != set(got):
	        print(f"{name}: only in JSON {sorted(set(rec) - set(got))}, only in the log {sorted(set(got) - set(rec))}")
	        bad += 1
	    for k, v in rec.items():
	        if k in moving or k not in got:
	            continue
	        if str(v) != got[k] and not (isinstance(v, float) and f"{v:.2f}" == got[k]):
	            print(f"{name} {k}: JSON {v}, stop log {got[k]}"); bad += 1
	print(f"# {sum(len(r) for r in want.values())} counters compared")
	sys.exit(1 if bad else 0)
	PY
}

@test "stats --json: exactly the reads, writes and bytes aoex sent, per device and interface" {
	two_devices
	# 2 sectors per frame: 16 sectors = 8 reads, 6 sectors = 3 writes
	run aoex -s 2 read 1.1 0 16 -o "$BATS_TEST_TMPDIR/r"
	assert_success
	head -c 3072 /dev/urandom >"$BATS_TEST_TMPDIR/w"
	run aoex -s 2 write 1.2 10 -f "$BATS_TEST_TMPDIR/w"
	assert_success

	run ctl stats --json
	assert_success
	echo "$output" | python3 -m json.tool >/dev/null || fail "not JSON: $output"
	run jqs '[.devices[] | {name, target, reads, writes, read_bytes, write_bytes, io_errors}]'
	assert_success
	assert_equal "$(echo "$output" | jq -c .)" \
		'[{"name":"first","target":"e1.1","reads":8,"writes":0,"read_bytes":8192,"write_bytes":0,"io_errors":0},{"name":"second","target":"e1.2","reads":0,"writes":3,"read_bytes":0,"write_bytes":3072,"io_errors":0}]'
	# every counter fits in the record: the last one is there
	jqs '.devices | all(has("avg_service_us") and has("congestion_probes") and has("ra_hits"))'
	# frames in: one Query Config (broadcast) per aoex command + 8 + 3;
	# out: the two start-up advertisements + 1 + 8 + 1 + 3
	run jqs ".interfaces[] | select(.name == \"$TIF\") | [.rx_frames, .tx_frames, .broadcasts, .ring_drops, .mac]"
	assert_success
	assert_equal "$(echo "$output" | jq -c .)" "[13,15,2,0,\"$TMAC\"]"
	# the disk agrees with what the counters say was written
	cmp "$BATS_TEST_TMPDIR/w" <(sectors "$BATS_TEST_TMPDIR/d2.img" 10 6) || fail "data not on disk"

	# one NAME selects one device (by title or eSHELF.SLOT), no interface
	run ctl stats --json e1.2
	assert_success
	assert_equal "$(echo "$output" | jq -c '[.devices[].name, (.interfaces | length)]')" '["second",0]'
	# as text: one key=value line per device or interface
	run ctl stats first "$TIF"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^device first target=e1\.1 reads=8 writes=0 read_bytes=8192 '
	assert_line --index 1 --regexp "^iface $TIF rx_frames=13 .* mac=$TMAC mtu=1500 "
	run ctl stats nosuch
	assert_failure 1
	assert_output --partial "no device or interface named nosuch"
}

@test "status: devices, interfaces, the initiator's MAC and its negotiated extensions" {
	two_devices
	run aoex read 1.1 0 2 -o /dev/null
	assert_success
	run aoex -x tag_inc_le read 1.2 0 2 -o /dev/null
	assert_success

	run ctl status
	assert_success
	assert_line --regexp "^device first e1\.1 path=$BATS_TEST_TMPDIR/d1\.img sectors=128 .*state=serving write_policy=write-through .*interfaces=$TIF$"
	assert_line --regexp "^device second e1\.2 .*sectors=256 "
	assert_line --regexp "^  initiator $IMAC requests=[0-9]+ extensions=tag_inc_le$"
	assert_line --regexp "^  initiator $IMAC requests=[0-9]+ extensions=-$"
	assert_line --regexp "^iface $TIF mac=$TMAC mtu=1500 max_sectors=2 path=$PATHNAME rx_path=$RXP tx_path=$TXP state=attached devices=first,second$"

	run ctl status --json
	assert_success
	assert_equal "$(echo "$output" | jq -c '[.devices[] | [.name, .target, .sectors, .interfaces, (.initiators | map([.mac, .extensions]))]]')" \
		"[[\"first\",\"e1.1\",128,[\"$TIF\"],[[\"$IMAC\",\"\"]]],[\"second\",\"e1.2\",256,[\"$TIF\"],[[\"$IMAC\",\"tag_inc_le\"]]]]"
	assert_equal "$(echo "$output" | jq -c '[.interfaces[] | [.name, .mac, .rx_path, .tx_path]]')" \
		"[[\"$TIF\",\"$TMAC\",\"$RXP\",\"$TXP\"]]"
	assert_equal "$(echo "$output" | jq -r .config)" "$CONF"
}

@test "show and clear the MAC mask list, the reservation and the config string set by aoex" {
	two_devices
	run aoex mask 1.1 edit +"$IMAC" +"$MAC_B"
	assert_success
	run aoex reserve 1.1 set "$IMAC"
	assert_success
	run aoex config 1.1 set "rack 4"
	assert_success

	run ctl show-macmask first
	assert_success
	assert_output "$(printf '%s\n%s' "$IMAC" "$MAC_B")"
	run ctl show-reserve e1.1 --json
	assert_success
	assert_equal "$(echo "$output" | jq -c .)" "{\"name\":\"first\",\"reserve\":[\"$IMAC\"]}"
	run ctl show-config first
	assert_success
	assert_output "rack 4"
	run ctl show-macmask second
	assert_success
	assert_output ""

	# while the mask holds, $MAC_C is ignored; cleared, it is answered
	run aoex -m "$MAC_C" "${NOREPLY[@]}" -d "$TMAC" read 1.1 0 1 -o /dev/null
	assert_failure
	run ctl clear-macmask first
	assert_success
	run ctl clear-reserve e1.1
	assert_success
	run ctl show-macmask first
	assert_output ""
	run ctl show-reserve first
	assert_output ""
	run aoex -m "$MAC_C" -d "$TMAC" read 1.1 0 1 -o /dev/null
	assert_success
	run aoex reserve 1.1 read
	assert_output ""

	run ctl show-macmask "$TIF"
	assert_failure 1
	assert_output --partial "no device named $TIF (that is an interface)"
}

@test "clear-stats NAME zeroes that device only; clear-stats zeroes everything" {
	two_devices
	aoex -s 2 read 1.1 0 4 -o /dev/null
	aoex -s 2 read 1.2 0 4 -o /dev/null
	jqs '[.devices[].reads] == [2, 2]'
	run ctl clear-stats first
	assert_success
	assert_output "cleared the counters of 1 device and 0 interfaces"
	jqs '[.devices[].reads] == [0, 2]'
	jqs '.interfaces[0].rx_frames > 0'
	run ctl clear-stats
	assert_success
	jqs '[.devices[].reads, .devices[].read_bytes, .interfaces[0].rx_frames] == [0, 0, 0, 0, 0]'
	# counting goes on from zero
	aoex -s 2 read 1.2 0 2 -o /dev/null
	jqs '[.devices[].reads, .interfaces[0].rx_frames] == [0, 1, 2]'
}

@test "socket mode 0660 root:root; another user is refused by SO_PEERCRED even through mode 0666" {
	public_dir
	two_devices
	assert_equal "$(stat -c '%a %U %G' "$SOCK")" "660 root root"
	# through the file mode alone: not even a connection
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$AOEXCTL" -s "$SOCK" status
	assert_failure 3
	# the daemon's own check refuses what the file mode would let in
	chmod 666 "$SOCK"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$AOEXCTL" -s "$SOCK" status
	assert_failure 1
	assert_output --partial "permission denied: uid 65534"
	grep -q "warning: control: .*permission denied: uid 65534" "$LOG" || fail "refusal not logged"
	run ctl status
	assert_success
}

@test "control-group: its members (primary or supplementary group) are let in, others refused" {
	public_dir
	two_devices 'control-group = "nogroup"'
	assert_equal "$(stat -c '%a %U %G' "$SOCK")" "660 root nogroup"
	run setpriv --reuid=65534 --regid="$(getent group nogroup | cut -d: -f3)" --clear-groups "$AOEXCTL" -s "$SOCK" stats --json
	assert_success
	echo "$output" | jq -e '.devices | length == 2'
	run setpriv --reuid=65533 --regid=65533 --groups="$(getent group nogroup | cut -d: -f3)" "$AOEXCTL" -s "$SOCK" status
	assert_success
	chmod 666 "$SOCK"
	run setpriv --reuid=65533 --regid=65533 --clear-groups "$AOEXCTL" -s "$SOCK" status
	assert_failure 1
	assert_output --partial "permission denied: uid 65533 (pid"
	assert_output --partial "neither root nor in group nogroup"
}

@test "garbage, oversized and idle clients get an error or are turned away; the daemon keeps serving" {
	two_devices
	run python3 - "$SOCK" <<-'EOF'
	import socket, sys
	def ask(data):
	    s = socket.socket(socket.AF_UNIX)
	    s.connect(sys.argv[1])
	    try:
	        s.sendall(data)
	        if not data:
	            s.shutdown(socket.SHUT_WR)
	    except OSError:
	        pass
	    out = b""
	    while True:
	        try:
	            b = s.recv(4096)
	        except ConnectionResetError:
	            break	# input left unread: the answer came first
	        if not b:
	            break
	        out += b
	    print(out.decode().rstrip("\n") or "(closed)")
	ask(b"\x00\xff garbage\n")
	ask(b"stats " + b"x" * 100000)
	ask(b"status extra words\n")
	ask(b"")
	# eight idle clients fill the table: a ninth is told so at once
	idle = [socket.socket(socket.AF_UNIX) for _ in range(8)]
	for s in idle:
	    s.connect(sys.argv[1])
	ask(b"status\n")
	EOF
	assert_success
	assert_line --index 0 "error: byte 0x00 at offset 0: a request is printable ASCII words"
	assert_line --index 1 "error: request longer than 512 bytes"
	assert_line --index 2 "error: status takes at most 0 arguments"
	assert_line --index 3 "(closed)"
	assert_line --index 4 "error: busy: too many control clients at once; try again"
	assert_aoexd_alive
	run ctl status
	assert_success
	run aoex read 1.1 0 2 -o /dev/null
	assert_success
}

@test "reload: a valid file is reloaded, a broken one refused (exit 1) and the old one kept" {
	two_devices
	run ctl reload
	assert_success
	assert_output "reloaded $CONF"
	echo "device broken {" >>"$CONF"
	run ctl reload
	assert_failure 1
	assert_output --partial "was refused; the running configuration is kept"
	grep -q "error: SIGHUP: $CONF:" "$LOG" || fail "no reason in the log"
	run aoex read 1.2 0 2 -o /dev/null
	assert_success
}

@test "monitor --count 2: two reports of rates, plain lines when piped" {
	two_devices
	run ctl monitor --count 2 0.2
	assert_success
	[ "$(grep -c '^device ' <<<"$output")" = 2 ] || fail "want 2 device headers: $output"
	[ "$(grep -c '^first ' <<<"$output")" = 2 ] || fail "want 2 lines for first: $output"
	[ "$(grep -c "^$TIF " <<<"$output")" = 2 ] || fail "want 2 lines for $TIF: $output"
	[[ $output != *$'\033'* ]] || fail "escape sequences in piped output"
	run ctl monitor 0
	assert_failure 2
}

@test "exit codes: 3 without a daemon, 2 for usage errors, 1 for a daemon error" {
	run "$AOEXCTL" -s "$BATS_TEST_TMPDIR/nobody.sock" status
	assert_failure 3
	assert_output --partial "cannot connect to $BATS_TEST_TMPDIR/nobody.sock"
	run "$AOEXCTL" -s "$SOCK" frobnicate
	assert_failure 2
	run "$AOEXCTL" -s "$SOCK" show-config
	assert_failure 2
	run "$AOEXCTL"
	assert_failure 2
	run "$AOEXCTL" --help
	assert_success
	assert_output --partial "Exit status:"
	two_devices
	run ctl show-config e9.9
	assert_failure 1
}

@test "single device: --control PATH, ring drops from PACKET_STATISTICS, a busy path, --control none" {
	[[ " $AOEXD_EXTRA_ARGS " != *" --no-rx-ring "* ]] || skip "needs the RX ring"
	make_disk 256
	start_aoexd --control "$SOCK" --rx-frames 8
	run ctl status
	assert_success
	assert_line --regexp "^device e1\.2 e1\.2 path=$DISK "
	run ctl reload
	assert_failure 1
	assert_output --partial "nothing to reload"

	# a stopped daemon's ring fills: 50 read frames, 8 slots
	kill -STOP "$AOEXD_PID"
	aoex -d "$TMAC" -s 2 -w 64 -t 100 -r 0 read 1.2 0 100 -o /dev/null || true
	kill -CONT "$AOEXD_PID"
	# until it has taken what the ring holds: every frame received or dropped
	poll_until 5 eval '[ "$(ctl stats --json "$TIF" | jq ".interfaces[0].rx_frames + .interfaces[0].ring_drops")" = 50 ]' ||
		fail "rx_frames + ring_drops never reached 50: $(ctl stats "$TIF")"
	run ctl stats --json "$TIF"
	assert_success
	local rx drops
	rx=$(echo "$output" | jq .interfaces[0].rx_frames)
	drops=$(echo "$output" | jq .interfaces[0].ring_drops)
	[ "$drops" -gt 0 ] || fail "no ring drops counted: $output"
	assert_equal "$((rx + drops))" 50

	# a second daemon on the same path runs without a socket, and says so
	local first=$AOEXD_PID
	LOG1=$LOG
	SLOT=3 start_aoexd --control "$SOCK"
	grep -q "warning: control socket $SOCK is in use by another daemon" "$LOG" ||
		fail "no warning about the busy socket"
	run ctl status
	assert_line --regexp "^device e1\.2 "
	stop_aoexd
	[ -S "$SOCK" ] || fail "the second daemon removed the first one's socket"
	stop_aoexd "$first"
	assert_counter ring_drops "$drops" "$LOG1"
	[ ! -e "$SOCK" ] || fail "socket left behind"

	start_aoexd --control none
	grep -q "control socket" "$LOG" && fail "--control none made a socket"
	true
}
