#!/usr/bin/env bats
# docs.bats - operations: the man pages say what the programs do (every long
# option of `aoexd --help' and `aoex --help' in its man page and back, every
# option src/conf.c knows in aoexd.conf(5) and back), they render without
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

@test "aoexd.conf(5) describes every option src/conf.c knows, and no other" {
	local known page
	# the libconfuse option tables: CFG_INT("name", ...), CFG_SEC("device", ...)
	known=$(grep -oE 'CFG_[A-Z_]+\("[a-z-]+"' "$TOP_SRCDIR/src/conf.c" | sed 's/.*("//; s/"//' | sort -u)
	[ "$(echo "$known" | wc -l)" -ge 30 ] || fail "too few options read from src/conf.c: $known"
	# the page: each option is a .TP tag `.B name', each section a `.SS name TITLE'
	page=$( { sed -n '/^\.TP/{n;s/^\.B \([a-z][a-z\\-]*\)$/\1/p}' "$MAN/aoexd.conf.5"
		  sed -n 's/^\.SS \([a-z]*\) [A-Z]* { \.\.\. }$/\1/p' "$MAN/aoexd.conf.5"; } |
		sed 's/\\-/-/g' | sort -u)
	same_sets "aoexd.conf" "$known" "$page" "src/conf.c"
}

@test "the sample aoexd.conf shows every option and loads" {
	local known k
	known=$(grep -oE 'CFG_[A-Z_]+\("[a-z-]+"' "$TOP_SRCDIR/src/conf.c" | sed 's/.*("//; s/"//' | sort -u)
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
# AoE reply frame (ADV), in the order they come.
notify_listen() {
	# exec'd straight from the background job, so teardown's kill hits python
	# itself; fd 3 (bats' output) closed, and it ends by itself in 60 s
	ip netns exec "$NS" python3 -u - "$1" "$IIF" >"$2" 2>&1 3>&- <<'EOF' &
import os, select, socket, sys, time
path, ifname = sys.argv[1], sys.argv[2]
end = time.time() + 60
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(path)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88A2))
p.bind((ifname, 0))
print("listening", flush=True)
while time.time() < end:
    r, _, _ = select.select([p, u], [], [], 1)
    if p in r:	# frames first: they left before the datagram
        f = p.recv(9216)
        if len(f) > 14 and f[14] & 0x08:
            print("ADV cmd=%d" % f[19], flush=True)
    if u in r:
        for line in u.recv(4096).decode().split("\n"):
            print(line, flush=True)
EOF
	BG_PIDS+=("$!")
	local i
	for ((i = 0; i < 500; i++)); do
		grep -q listening "$2" 2>/dev/null && return 0
		sleep 0.01
	done
	fail "the notification listener did not start: $(cat "$2")"
}

# wait_line FILE PATTERN: until a line of FILE matches (5 s)
wait_line() {
	local i
	for ((i = 0; i < 500; i++)); do
		grep -qE "$2" "$1" && return 0
		sleep 0.01
	done
	fail "no line matching '$2' in: $(cat "$1")"
}

@test "sd_notify: READY=1 after the advertisement, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM" {
	require_net
	have_libsystemd || skip "built without libsystemd"
	command -v python3 >/dev/null || skip "needs python3"
	local sock=$BATS_TEST_TMPDIR/notify.sock events=$BATS_TEST_TMPDIR/events
	make_disk 64
	notify_listen "$sock" "$events"
	NOTIFY_SOCKET=$sock start_aoexd
	wait_line "$events" '^READY=1$'
	# the announcement reached the initiator before systemd heard "ready"
	run grep -nE '^(ADV|READY=1)' "$events"
	assert_line --index 0 --regexp '^[0-9]+:ADV cmd=1$'
	kill -HUP "$AOEXD_PID"
	wait_line "$events" '^RELOADING=1$'
	[ "$(grep -c '^READY=1$' "$events")" = 2 ] || { sleep 0.5; [ "$(grep -c '^READY=1$' "$events")" = 2 ]; } ||
		fail "READY=1 not sent again after SIGHUP: $(cat "$events")"
	run grep -n -e '^RELOADING=1$' -e '^READY=1$' "$events"
	assert_line --index 1 --regexp ':RELOADING=1$'
	assert_line --index 2 --regexp ':READY=1$'
	stop_aoexd
	grep -qx 'STOPPING=1' "$events" || fail "no STOPPING=1: $(cat "$events")"
	# no failed notification was logged
	! grep -q 'sd_notify' "$LOG" || fail "sd_notify failed: $(grep sd_notify "$LOG")"
}

@test "without NOTIFY_SOCKET the notifications are silent" {
	require_net
	make_disk 64
	unset NOTIFY_SOCKET
	start_aoexd
	kill -HUP "$AOEXD_PID"
	sleep 0.2
	stop_aoexd
	! grep -q 'sd_notify' "$LOG" || fail "$(cat "$LOG")"
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
