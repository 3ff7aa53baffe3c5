#!/usr/bin/env bats
# docs.bats - operations: the man pages say what the programs do (every long
# option of `aoexd --help' and `aoex --help' in its man page and back, every
# option `aoexd -c FILE --check' prints in aoexd.conf(5) and back), they render without
# warnings, the systemd unit is valid, sd_notify says READY/RELOADING/
# STOPPING at the right moments, and aoexd -D detaches only once serving.

load helpers

MAN=$TOP_SRCDIR/man

# long_opts: the distinct --long-options in stdin, one per line
long_opts() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# man_opts PAGE SECTION...: the long options named in these sections
man_opts() {
	local page=$1; shift
	awk -v want="$*" '
		BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) keep[w[i]] = 1 }
		/^\.SH / { sec = $0; sub(/^\.SH "?/, "", sec); sub(/"$/, "", sec); next }
		keep[sec] { print }' "$page" | sed 's/\\-/-/g; s/\\f[BIRP]//g' | long_opts
}

# same_sets WHAT A B [NAME-OF-A]: fail naming what is only in A, only in B
same_sets() {
	local only_a only_b
	only_a=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	only_b=$(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	[ -z "$only_a$only_b" ] ||
		fail "$1: only in ${4:-the help text}: [${only_a}]; only in the man page: [${only_b}]"
}

@test "aoexd(8) OPTIONS names every long option of aoexd --help, and no other" {
	local help page
	help=$("$AOEXD" --help | long_opts)
	page=$(man_opts "$MAN/aoexd.8" OPTIONS)
	[ "$(echo "$help" | wc -l)" -ge 30 ] || fail "too few options read from aoexd --help: $help"
	same_sets "aoexd" "$help" "$page"
}

@test "aoex(8) OPTIONS and COMMANDS name every long option of aoex --help, and no other" {
	local help page
	help=$("$AOEX" --help | long_opts)
	page=$(man_opts "$MAN/aoex.8" OPTIONS COMMANDS)
	[ "$(echo "$help" | wc -l)" -ge 25 ] || fail "too few options read from aoex --help: $help"
	same_sets "aoex" "$help" "$page"
	# and every command of the help text has its entry
	local cmd
	for cmd in $("$AOEX" --help | sed -n '/^COMMANDS/,/^[A-Z]/s/^    \([a-z]\+\) .*/\1/p;/^COMMANDS/,/^[A-Z]/s/^    \([a-z]\+\)$/\1/p' | sort -u); do
		grep -q "^\\\\fB$cmd\\b" "$MAN/aoex.8" || fail "aoex(8) has no entry for the command $cmd"
	done
}

# aoex_page_words: aoex(8) up to SEE ALSO as one word a line, the way
# aoex --help spells it (no requests, no font changes, \- and \e as - and \)
aoex_page_words() {
	sed -e '/^\.\\"/d' -e '/^\.TH /d' -e '/^\.SH SEE ALSO/,$d' \
	    -e 's/^\.SH "\{0,1\}\([^"]*\)"\{0,1\}$/\1/' \
	    -e '/^\.\(TP\|TQ\|PP\|IP\|RS\|RE\|nf\|fi\)\( .*\)\{0,1\}$/d' \
	    -e 's/\\f[BIRP]//g; s/\\-/-/g; s/\\e/\\/g' "$MAN/aoex.8" | tr -s ' \n' '\n\n'
}

@test "aoex --help says word for word what aoex(8) says, up to SEE ALSO" {
	local help page
	# the help's GLOBAL OPTIONS is the page's OPTIONS; nothing else differs
	help=$("$AOEX" --help | sed 's/^GLOBAL OPTIONS$/OPTIONS/' | tr -s ' \n' '\n\n')
	page=$(aoex_page_words)
	[ "$(echo "$help" | wc -l)" -ge 1500 ] || fail "too few words read from aoex --help"
	! grep -qE '^\.[A-Za-z]+$' <<<"$page" ||
		fail "aoex(8): a request the comparison does not know: $(grep -E '^\.[A-Za-z]+$' <<<"$page" | head -3)"
	diff <(echo "$help") <(echo "$page") >"$BATS_TEST_TMPDIR/words" ||
		fail "aoex --help (<) and aoex(8) (>) differ: $(head -20 "$BATS_TEST_TMPDIR/words")"
}

@test "aoexctl(8) names every long option and command of aoexctl --help, and no other" {
	local ctl=${AOEXCTL:-$TOP_BUILDDIR/aoexctl} help page cmd
	[ -x "$ctl" ] || skip "no aoexctl built (aoexctl(8) was written from its specification)"
	help=$("$ctl" --help | long_opts)
	page=$(man_opts "$MAN/aoexctl.8" OPTIONS COMMANDS)
	same_sets "aoexctl" "$help" "$page"
	for cmd in status stats monitor reload show-config show-macmask show-reserve \
		   clear-stats clear-macmask clear-reserve; do
		"$ctl" --help | grep -qw -- "$cmd" || fail "aoexctl --help does not mention $cmd (aoexctl(8) does)"
	done
}

have_blkid() { grep -q '^#define HAVE_BLKID 1' "$TOP_BUILDDIR/config.h"; }

# conf_keys: every option and section name of the configuration file, as
# the built aoexd prints them: `--check' spells out every key of every
# section with its value, for a file with one acl, one interface and a
# device section of each kind (path, uuid, label: they exclude each other)
conf_keys() {
	local f=$BATS_TEST_TMPDIR/keys.conf out
	{
		echo 'acl lab { accept = {"02:00:00:00:0a:02"} }'
		echo 'interface "eth*" { mtu = 1500 }'
		echo 'device d1 { shelf = 1 slot = 2 path = "null:1M" }'
		# --check prints freeze-shadow (and its max size) only when set
		echo 'device d4 { shelf = 1 slot = 5 path = "/dev/null" freeze-shadow = "/tmp/d4.shadow" }'
		if have_blkid; then
			echo 'device d2 { shelf = 1 slot = 3 uuid = "0a1b2c3d-0000" }'
			echo 'device d3 { shelf = 1 slot = 4 label = "nas" }'
		fi
	} >"$f"
	out=$("$AOEXD" -c "$f" --check) || { echo "aoexd --check $f failed: $out" >&2; return 1; }
	# `key = value', at the top or indented in a section; `NAME TITLE {'
	sed -nE 's/^\t?([a-z][a-z-]*) = .*/\1/p; s/^([a-z]+) [^ ]+ \{$/\1/p' <<<"$out"
	# without libblkid the parser still knows uuid and label: it refuses
	# them by name, not as unknown options
	if ! have_blkid; then
		echo 'device d2 { shelf = 1 slot = 3 uuid = "0a1b" }' >"$f"
		out=$("$AOEXD" -c "$f" --check 2>&1) || true
		[[ $out == *"uuid needs libblkid"* ]] || { echo "uuid refused unexpectedly: $out" >&2; return 1; }
		echo uuid
		echo label
	fi
}

@test "aoexd.conf(5) describes every option aoexd --check prints, and no other" {
	local known page
	known=$(conf_keys | sort -u) || fail "could not read the options from aoexd --check"
	[ "$(echo "$known" | wc -l)" -ge 30 ] || fail "too few options read from aoexd --check: $known"
	# the page: each option is a .TP tag `.B name', each section a `.SS name TITLE'
	page=$( { sed -n '/^\.TP/{n;s/^\.B \([a-z][a-z\\-]*\)$/\1/p}' "$MAN/aoexd.conf.5"
		  sed -n 's/^\.SS \([a-z]*\) [A-Z]* { \.\.\. }$/\1/p' "$MAN/aoexd.conf.5"; } |
		sed 's/\\-/-/g' | sort -u)
	same_sets "aoexd.conf" "$known" "$page" "aoexd --check"
}

@test "aoexd(8) and aoexd.conf(5) give each tunable the range and default aoexd itself gives" {
	# --help prints them from src/config/tunables.h, --check an empty file's
	run python3 "$TOP_SRCDIR/tests/tools/man_facts.py" "$AOEXD" "$MAN"
	assert_success
	assert_output --regexp '# 1[0-9] options of aoexd\(8\), [1-9][0-9] keys'
}

@test "the sample aoexd.conf shows every option and loads" {
	local known k
	known=$(conf_keys | sort -u) || fail "could not read the options from aoexd --check"
	[ "$(echo "$known" | wc -l)" -ge 30 ] || fail "too few options read from aoexd --check: $known"
	for k in $known; do
		grep -qE "(^|[^a-z-])$k( = | [^ ]+ \\{)" "$TOP_SRCDIR/conf/aoexd.conf" ||
			fail "conf/aoexd.conf does not show $k"
	done
	run "$AOEXD" -c "$TOP_SRCDIR/conf/aoexd.conf" --check
	assert_success
	# its defaults are the command line's
	assert_line 'direct-io = true'
	assert_line 'read-ahead = 256K'
	assert_line 'write-behind = 512K'
}

@test "the man pages render without warnings" {
	local p out
	for p in aoexd.8 aoexd.conf.5 aoexctl.8 aoex.8; do
		[ -f "$MAN/$p" ] || fail "missing man/$p"
		if command -v mandoc >/dev/null; then
			out=$(mandoc -Tlint -W warning "$MAN/$p" 2>&1) || true
			[ -z "$out" ] || fail "mandoc -Tlint $p: $out"
		fi
		if command -v groff >/dev/null; then
			out=$(groff -ww -z -man "$MAN/$p" 2>&1)
			[ -z "$out" ] || fail "groff -ww $p: $out"
		fi
		if command -v man >/dev/null; then
			out=$(MANWIDTH=80 man -l "$MAN/$p" 2>&1 >/dev/null)
			[ -z "$out" ] || fail "man -l $p: $out"
			MANWIDTH=80 man -l "$MAN/$p" 2>/dev/null | grep -q "^NAME" || fail "man -l $p: no NAME"
		fi
	done
}

# the unit make generated, and what configure chose
unit() { echo "$TOP_BUILDDIR/systemd/aoexd.service"; }
have_libsystemd() { grep -q '^#define HAVE_LIBSYSTEMD 1' "$TOP_BUILDDIR/config.h"; }

@test "systemd unit: Type follows libsystemd, reload is SIGHUP, raw sockets allowed" {
	local u
	u=$(unit)
	[ -f "$u" ] || fail "no $u (make builds it)"
	if have_libsystemd; then
		grep -qx 'Type=notify' "$u" || fail "built with libsystemd but not Type=notify"
	else
		grep -qx 'Type=simple' "$u" || fail "built without libsystemd but not Type=simple"
	fi
	grep -qE '^ExecStart=/.*/aoexd -c /.*/aoexd\.conf$' "$u" || fail "ExecStart: $(grep ExecStart= "$u")"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$u" || fail "no ExecReload sending SIGHUP"
	grep -qE '^CapabilityBoundingSet=.*CAP_NET_RAW' "$u" || fail "CAP_NET_RAW not kept"
	grep -qE '^RestrictAddressFamilies=.*AF_PACKET' "$u" || fail "AF_PACKET not allowed"
	# device restrictions would shut out block devices
	! grep -qE '^(PrivateDevices=yes|DeviceAllow=|ProtectClock=yes|DevicePolicy=)' "$u" ||
		fail "the unit restricts devices: block device exports would fail"
	! grep -qE '@(sbindir|sysconfdir|SERVICE_TYPE)@' "$u" || fail "unsubstituted variables in $u"
}

@test "systemd unit passes systemd-analyze verify" {
	command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
	local d=$BATS_TEST_TMPDIR/units
	mkdir -p "$d"
	# verify checks that ExecStart exists: point it at the build's aoexd
	sed "s|^ExecStart=[^ ]*|ExecStart=$AOEXD|" "$(unit)" >"$d/aoexd.service"
	run systemd-analyze verify --man=no "$d/aoexd.service"
	assert_success
	refute_output --partial "aoexd.service"
}

# notify_listen SOCKET LOG: a fake systemd, printing what arrives on the
# notification socket and, from the initiator's end of the veth pair, each
# AoE reply frame, in the order they come.  At the Nth READY=1 it sends a
# Query Config to every target at once (tag 0x5ead000N), and prints
# "QC-ANSWER N eSHELF.SLOT" for each answer: a READY=1 sent before the
# daemon serves would find no one to answer.  Other replies (the
# advertisement) print as "ADV cmd=C".
notify_listen() {
	# exec'd straight from the background job, so teardown's kill hits python
	# itself; fd 3 (bats' output) closed, and it ends by itself in 60 s
	ip netns exec "$NS" python3 -u - "$1" "$IIF" >"$2" 2>&1 3>&- <<'EOF' &
import select, socket, sys, time
path, ifname = sys.argv[1], sys.argv[2]
end = time.time() + 60
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(path)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88A2))
p.bind((ifname, 0))
mac = p.getsockname()[4]
ready = 0
print("listening", flush=True)
while time.time() < end:
    r, _, _ = select.select([p, u], [], [], 1)
    if p in r:	# frames first: they left before the datagram
        f = p.recv(9216)
        if len(f) > 24 and f[14] & 0x08 and not f[14] & 0x04:
            if f[20:22] == b"\x5e\xad":
                print("QC-ANSWER %d e%d.%d" % (int.from_bytes(f[22:24], "big"),
                      int.from_bytes(f[16:18], "big"), f[18]), flush=True)
            else:
                print("ADV cmd=%d" % f[19], flush=True)
    if u in r:
        for line in u.recv(4096).decode().split("\n"):
            print(line, flush=True)
            if line == "READY=1":
                ready += 1
                # Query Config read to ffff.ff, padded to 60 bytes
                q = (b"\xff" * 6 + mac + b"\x88\xa2\x10\x00\xff\xff\xff\x01" +
                     b"\x5e\xad" + ready.to_bytes(2, "big"))
                p.send(q + bytes(60 - len(q)))
EOF
	BG_PIDS+=("$!")
	poll_until 5 grep -q listening "$2" ||
		fail "the notification listener did not start: $(cat "$2")"
}

# wait_line FILE PATTERN: until a line of FILE matches (5 s)
wait_line() {
	poll_until 5 grep -qE "$2" "$1" || fail "no line matching '$2' in: $(cat "$1")"
}

# notify_conf DEVICE...: a configuration file serving on $TIF: d1 is $DISK as
# e1.2, d2 null:1M as e1.3
notify_conf() {
	local d
	CONF=$BATS_TEST_TMPDIR/aoexd.conf
	{
		echo "interfaces = {\"$TIF\"}"
		echo "control-socket = \"$BATS_TEST_TMPDIR/ctl.sock\""
		echo "state-directory = \"$BATS_TEST_TMPDIR/state\""
		for d in "$@"; do
			case $d in
			d1) echo "device d1 { path = \"$DISK\" shelf = 1 slot = 2 }" ;;
			d2) echo "device d2 { path = \"null:1M\" shelf = 1 slot = 3 }" ;;
			esac
		done
	} >"$CONF"
}

# notify_states FILE: the READY/RELOADING/STOPPING lines of FILE, on one line
notify_states() { grep -E '^(READY|RELOADING|STOPPING)=1$' "$1" | tr '\n' ' '; }

@test "sd_notify: READY=1 once it serves, RELOADING=1 then READY=1 around a SIGHUP reload of -c FILE, STOPPING=1 at SIGTERM" {
	require_net
	have_libsystemd ||
		skip "built without libsystemd (no HAVE_LIBSYSTEMD in config.h): aoexd sends no notifications"
	command -v python3 >/dev/null || skip "needs python3 for the fake systemd on NOTIFY_SOCKET"
	local sock=$BATS_TEST_TMPDIR/notify.sock events=$BATS_TEST_TMPDIR/events
	make_disk 64
	notify_conf d1
	notify_listen "$sock" "$events"
	NOTIFY_SOCKET=$sock start_aoexd_argv -c "$CONF"
	# the Query Config sent when READY=1 arrived was answered
	wait_line "$events" '^QC-ANSWER 1 e1\.2$'
	# the announcement reached the initiator before systemd heard "ready"
	run grep -nE '^(ADV|READY=1)' "$events"
	assert_line --index 0 --regexp '^[0-9]+:ADV cmd=1$'
	assert_line --index 1 --regexp '^[0-9]+:READY=1$'
	run aoex discover -W 300
	assert_success
	assert_line --regexp '^e1\.2 '
	assert_equal "$(notify_states "$events")" "READY=1 "

	# SIGHUP re-reads the file, which now has e1.3 too: READY=1 again once
	# the new device answers
	notify_conf d1 d2
	kill -HUP "$AOEXD_PID"
	wait_line "$events" '^QC-ANSWER 2 e1\.3$'
	grep -q 'notice: SIGHUP: configuration reloaded from .*: 1 added' "$LOG" ||
		fail "the reload did not add e1.3: $(grep SIGHUP "$LOG")"
	assert_equal "$(notify_states "$events")" "READY=1 RELOADING=1 READY=1 "

	stop_aoexd
	wait_line "$events" '^STOPPING=1$'
	assert_equal "$(notify_states "$events")" "READY=1 RELOADING=1 READY=1 STOPPING=1 "
	# no failed notification was logged
	! grep -q 'sd_notify' "$LOG" || fail "sd_notify failed: $(grep sd_notify "$LOG")"
}

# An empty NOTIFY_SOCKET is "not started by systemd" (sd_notify itself
# would call it invalid and fail); a socket nobody listens on makes each
# notification fail, which is logged and never stops the daemon.
@test "sd_notify: an empty NOTIFY_SOCKET is no socket (nothing logged); an unreachable one is logged, and aoexd serves on" {
	require_net
	have_libsystemd ||
		skip "built without libsystemd (no HAVE_LIBSYSTEMD in config.h): aoexd sends no notifications"
	make_disk 64
	NOTIFY_SOCKET='' start_aoexd
	kill -HUP "$AOEXD_PID"
	poll_until 5 grep -q 'notice: SIGHUP' "$LOG" || fail "SIGHUP not handled: $(cat "$LOG")"
	stop_aoexd
	! grep -q 'sd_notify' "$LOG" || fail "an empty NOTIFY_SOCKET was used: $(grep sd_notify "$LOG")"

	NOTIFY_SOCKET=$BATS_TEST_TMPDIR/nobody.sock start_aoexd
	poll_until 5 grep -q 'warning: sd_notify("READY=1' "$LOG" || fail "no warning for READY=1: $(cat "$LOG")"
	run aoex identify "$SHELF.$SLOT"
	assert_success
	assert_line 'sectors=64'
	kill -HUP "$AOEXD_PID"
	poll_until 5 grep -q 'warning: sd_notify("RELOADING=1' "$LOG" ||
		fail "no warning for RELOADING=1: $(cat "$LOG")"
	stop_aoexd
	grep -q 'warning: sd_notify("STOPPING=1' "$LOG" || fail "no warning for STOPPING=1: $(cat "$LOG")"
	grep -q 'No such file or directory' "$LOG" || fail "the reason is not logged: $(grep sd_notify "$LOG")"
}

@test "aoexd -D: the parent exits 0 once the child serves; the daemon answers and stops on SIGTERM" {
	require_net
	local pid lock
	make_disk 64
	run timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" -D --log-level debug "$SHELF" "$SLOT" "$TIF" "$DISK" 3>&-
	assert_success
	# nothing on the terminal once detached: the log went to syslog
	assert_output ''
	lock=$(ls /run/aoexd/"$TIF"-e$SHELF.$SLOT-ns*.lock /tmp/"$TIF"-e$SHELF.$SLOT-ns*.lock 2>/dev/null | head -n 1)
	[ -n "$lock" ] || fail "no address lock file: is the daemon running?"
	pid=$(cat "$lock")
	[ -n "$pid" ] && DAEMON_PIDS+=("$pid")
	pid_alive "$pid" || fail "the daemon (pid $pid) is not running"
	# a new session, away from the terminal, with /dev/null for stdio
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] || fail "not a session leader"
	# the same file, not the same text: in a chroot whose /dev is a bind mount
	# the link reads ROOT/dev/null
	[ "/proc/$pid/fd/2" -ef /dev/null ] || fail "stderr is $(readlink "/proc/$pid/fd/2")"
	[ "/proc/$pid/cwd" -ef / ] || fail "cwd is $(readlink "/proc/$pid/cwd")"
	run aoex identify "$SHELF.$SLOT"
	assert_success
	assert_line 'sectors=64'
	kill -TERM "$pid"
	wait_exit "$pid" 10 || fail "the daemon did not exit on SIGTERM"
}

@test "aoexd -D: a start-up error still reaches the terminal, with exit status 1" {
	require_net
	run timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" -D "$SHELF" "$SLOT" "$TIF" "$BATS_TEST_TMPDIR/no-such-file"
	assert_failure 1
	assert_output --partial "aoexd: error:"
	assert_output --partial "no-such-file"
	run timeout -s KILL 10 ip netns exec "$NS" "$AOEXD" -D -c "$BATS_TEST_TMPDIR/no-such.conf"
	assert_failure 1
	assert_output --partial "no-such.conf"
}
