# helpers.bash - shared set-up for the aoexd bats suites.
#
# Every test gets its own network namespace holding one veth pair: the
# target end ($TIF, MAC $TMAC) where aoexd (or vblade) listens, and the
# initiator end ($IIF, MAC $IMAC) where aoex talks.  Nothing ever leaves
# that namespace, and teardown removes it with everything still running in
# it.  Names carry the test process id in hex, so suites can run back to
# back or side by side (aoexd's per-interface lock files depend on it too).
#
# Environment:
#   AOEXD, AOEX        the binaries (default: the build tree above this dir)
#   TOP_SRCDIR         the source tree (man pages, conf/, tests/)
#   AOEXD_EXTRA_ARGS   added to every aoexd command line, e.g.
#                      "--no-rx-ring --no-tx-ring" to run a suite on the
#                      recvmmsg/sendmmsg fallback path instead of the rings
#
# Main helpers:
#   setup / aoexbats_setup [MTU]  namespace + veth pair (set_mtu N later)
#   start_aoexd [OPT...]        aoexd OPT... $SHELF $SLOT $TIF $DISK, wait ready
#   start_aoexd_argv ARG...     aoexd ARG... (full command line), wait ready
#   stop_aoexd [PID] [SIG]      SIGTERM (or SIG), assert exit 0 and stats lines
#   poll_until SECONDS CMD...   retry CMD every 10 ms until it succeeds
#   aoex ARG...                 the initiator on $IIF inside the namespace
#   ns CMD...                   any command inside the namespace
#   counter NAME                a key=value counter of the final stats lines
#   live_stat NAME KEY          a counter now, from aoexctl stats on $CTL_SOCK
#   assert_counter NAME VALUE   ... equal to VALUE
#   make_disk SECTORS           random $DISK, with a reference copy in $REF
#   ref_put LBA FILE            apply a write to $REF as the target should
#   assert_disk_is_ref          $DISK is byte for byte $REF
#   sectors FILE LBA COUNT      COUNT sectors of FILE from LBA, to stdout

# Constants are used by the suites; status/lines/output come from bats' run.
# shellcheck disable=SC2034,SC2154,SC2119,SC2120

# ---------------------------------------------------------------- bats libs

for _d in /usr/lib/bats /usr/local/lib/bats /usr/share/bats "${BATS_LIB_PATH:-/nonexistent}"; do
	if [ -f "$_d/bats-support/load.bash" ] && [ -f "$_d/bats-assert/load.bash" ]; then
		# shellcheck disable=SC1090,SC1091
		source "$_d/bats-support/load.bash"
		# shellcheck disable=SC1090,SC1091
		source "$_d/bats-assert/load.bash"
		AOEXBATS_HAVE_ASSERT=1
		break
	fi
done
unset _d

# Minimal stand-ins when bats-assert is not installed: same names, same use.
if [ -z "${AOEXBATS_HAVE_ASSERT:-}" ]; then
	fail() { printf '%s\n' "${1:-failed}" >&2; return 1; }
	assert_success() {
		[ "$status" -eq 0 ] || fail "expected success, got status $status; output: $output"
	}
	assert_failure() {
		if [ $# -gt 0 ]; then
			[ "$status" -eq "$1" ] || fail "expected status $1, got $status; output: $output"
		else
			[ "$status" -ne 0 ] || fail "expected failure; output: $output"
		fi
	}
	assert_equal() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'"; }
	assert_output() {
		case $1 in
		--partial) [[ $output == *"$2"* ]] || fail "output lacks '$2': $output" ;;
		--regexp) [[ $output =~ $2 ]] || fail "output does not match '$2': $output" ;;
		*) [ "$output" = "$1" ] || fail "expected output '$1', got '$output'" ;;
		esac
	}
	refute_output() {
		case $1 in
		--partial) [[ $output != *"$2"* ]] || fail "output contains '$2': $output" ;;
		'') [ -z "$output" ] || fail "expected no output, got '$output'" ;;
		*) [ "$output" != "$1" ] || fail "output is '$1'" ;;
		esac
	}
	assert_line() {
		local l
		case $1 in
		--partial) for l in "${lines[@]}"; do [[ $l == *"$2"* ]] && return 0; done ;;
		--regexp) for l in "${lines[@]}"; do [[ $l =~ $2 ]] && return 0; done ;;
		--index)
			case $3 in
			--regexp) [[ ${lines[$2]} =~ $4 ]] && return 0 ;;
			--partial) [[ ${lines[$2]} == *"$4"* ]] && return 0 ;;
			*) [ "${lines[$2]}" = "$3" ] && return 0 ;;
			esac ;;
		*) for l in "${lines[@]}"; do [ "$l" = "$1" ] && return 0; done ;;
		esac
		fail "no line '$*' in: $output"
	}
	refute_line() {
		local l
		for l in "${lines[@]}"; do [[ $l == *"${2:-$1}"* ]] && fail "line '$l' present"; done
		return 0
	}
fi

# ---------------------------------------------------------------- settings

: "${TOP_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${AOEXD:=$TOP_BUILDDIR/aoexd}"
: "${AOEX:=$TOP_BUILDDIR/aoex}"
: "${AOEXD_EXTRA_ARGS:=}"

SHELF=1
SLOT=2
TMAC=02:00:00:00:0a:01		# target end of the veth pair
IMAC=02:00:00:00:0a:02		# initiator end
MAC_B=02:00:00:00:0b:0b		# a second initiator (aoex -m)
MAC_C=02:00:00:00:0c:0c
BCAST=ff:ff:ff:ff:ff:ff
# aoex options for "expect silence": one short try
NOREPLY=(-t 250 -r 0)

# ------------------------------------------------------------ setup/teardown

# aoexbats_setup [MTU]: the namespace, the veth pair (and its MTU)
aoexbats_setup() {
	local id
	DAEMON_PIDS=()
	BG_PIDS=()
	AOEXD_PID=
	AOEXD_N=0
	LOG=
	DISK=$BATS_TEST_TMPDIR/disk.img
	REF=$BATS_TEST_TMPDIR/disk.ref
	id=$(printf '%x' "$BASHPID")
	NS=aoexbats-$id
	TIF=aoT$id
	IIF=aoI$id
	NET_OK=
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		return 0	# tests that need the network skip (require_net)
	fi
	[ -x "$AOEXD" ] || { echo "AOEXD=$AOEXD is not executable" >&2; return 1; }
	[ -x "$AOEX" ] || { echo "AOEX=$AOEX is not executable" >&2; return 1; }
	# a namespace left behind by a killed run whose pid was reused
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	ip -n "$NS" link add "$TIF" address "$TMAC" type veth peer name "$IIF" address "$IMAC"
	ip -n "$NS" link set lo up
	ip -n "$NS" link set "$TIF" up
	ip -n "$NS" link set "$IIF" up
	NET_OK=1
	if [ -n "${1:-}" ]; then
		set_mtu "$1"
	fi
}

aoexbats_teardown() {
	local pid
	for pid in "${BG_PIDS[@]}" "${DAEMON_PIDS[@]}"; do
		[ -n "$pid" ] || continue
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# shown by bats only when the test failed
	if [ -n "$LOG" ] && [ -f "$LOG" ]; then
		sed 's/^/# last daemon log: /' "$LOG" | tail -n 40
	fi
	if [ -n "$NET_OK" ]; then
		ip netns del "$NS" 2>/dev/null || true
		# the lock files aoexd made for our (now gone) interfaces
		rm -f /run/aoexd/*"$TIF"-e*.lock /run/aoexd/*"$IIF"-e*.lock \
		      /tmp/*"$TIF"-e*.lock /tmp/*"$IIF"-e*.lock 2>/dev/null || true
	fi
}

setup() { aoexbats_setup; }
teardown() { aoexbats_teardown; }

require_net() {
	[ -n "$NET_OK" ] || skip "needs root and iproute2 (network namespaces)"
}

# set_mtu N: both ends of the veth pair
set_mtu() {
	ip -n "$NS" link set "$TIF" mtu "$1"
	ip -n "$NS" link set "$IIF" mtu "$1"
}

# ------------------------------------------------------------------ commands

ns() { ip netns exec "$NS" "$@"; }

aoex() { ip netns exec "$NS" "$AOEX" -i "$IIF" "$@"; }

# Is PID running (not exited, not a zombie)?
pid_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# poll_until SECONDS CMD...: run CMD (a command or a function of this
# shell) every 10 ms until it succeeds: 0 then, 1 once SECONDS (whole
# seconds) have passed without success.  For conditions that come in their
# own time: `poll_until 5 grep -q 'ready' "$LOG" || fail "..."'.
poll_until() {
	local now end
	now=${EPOCHREALTIME//[^0-9]/}
	end=$((now + $1 * 1000000))
	shift
	until "$@"; do
		now=${EPOCHREALTIME//[^0-9]/}
		[ "$now" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# wait_exit PID SECONDS: until PID is gone; 1 on timeout
wait_exit() {
	local i n=$(($2 * 100))
	for ((i = 0; i < n; i++)); do
		pid_alive "$1" || return 0
		sleep 0.01
	done
	return 1
}

# ------------------------------------------------------------------- daemon

# start_aoexd [OPTION...]: export $DISK as $SHELF.$SLOT on $TIF
start_aoexd() {
	start_aoexd_argv "$@" "$SHELF" "$SLOT" "$TIF" "$DISK"
}

# start_aoexd_argv ARG...: start aoexd in the background with exactly these
# arguments (plus $AOEXD_EXTRA_ARGS, or $AOEXD_PATH_ARGS when set) and wait
# until it serves.  Sets AOEXD_PID and LOG.
start_aoexd_argv() {
	local extra i rc
	require_net
	read -ra extra <<<"${AOEXD_PATH_ARGS-$AOEXD_EXTRA_ARGS}"
	AOEXD_N=$((AOEXD_N + 1))
	LOG=$BATS_TEST_TMPDIR/aoexd.$AOEXD_N.log
	ip netns exec "$NS" "$AOEXD" "${extra[@]}" "$@" >"$LOG" 2>&1 3>&- &
	AOEXD_PID=$!
	DAEMON_PIDS+=("$AOEXD_PID")
	# "serving" is logged with the socket already bound: requests sent from
	# now on are queued, and the advertisement follows at once
	for ((i = 0; i < 1000; i++)); do
		grep -q 'notice: serving e' "$LOG" && break
		if ! pid_alive "$AOEXD_PID"; then
			rc=0
			wait "$AOEXD_PID" || rc=$?
			cat "$LOG" >&2
			fail "aoexd exited with status $rc before serving ($*)"
			return 1
		fi
		sleep 0.01
	done
	if [ "$i" -ge 1000 ]; then
		cat "$LOG" >&2
		fail "aoexd not serving after 10 s ($*)"
		return 1
	fi
	# the packet path asked for must be the one in use
	local want=${EXPECT_PATH:-}
	if [ -z "$want" ] && [ -z "${AOEXD_PATH_ARGS+set}" ]; then
		case " ${extra[*]} " in
		*" --no-rx-ring "*" --no-tx-ring "* | *" --no-tx-ring "*" --no-rx-ring "*)
			want="recvmmsg/sendmmsg" ;;
		esac
	fi
	if [ -n "$want" ] && ! grep -qF ", $want" "$LOG"; then
		cat "$LOG" >&2
		fail "aoexd does not use the $want path"
		return 1
	fi
}

# stop_aoexd [PID] [SIGNAL]: it must exit 0 and log its statistics
# forget_daemon PID: teardown no longer has to stop it
forget_daemon() {
	local p keep=()
	for p in "${DAEMON_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	DAEMON_PIDS=("${keep[@]}")
}

# kill_daemon PID [SIG]: signal it (KILL: a crash, nothing written back),
# reap it whatever its status, forget it
kill_daemon() {
	kill -"${2:-KILL}" "$1"
	wait "$1" 2>/dev/null || true
	forget_daemon "$1"
}

stop_aoexd() {
	local pid=${1:-$AOEXD_PID} sig=${2:-TERM} rc=0
	kill -"$sig" "$pid"
	if ! wait_exit "$pid" 10; then
		kill -KILL "$pid" 2>/dev/null || true
		fail "aoexd did not exit within 10 s of SIG$sig"
		return 1
	fi
	wait "$pid" || rc=$?
	forget_daemon "$pid"
	if [ "$rc" -ne 0 ]; then
		cat "$LOG" >&2
		fail "aoexd exited with status $rc after SIG$sig (want 0)"
		return 1
	fi
	if ! grep -qE '^aoexd: notice: stats e[0-9]+\.[0-9]+ reads=' "$LOG"; then
		cat "$LOG" >&2
		fail "no stats line in the log after SIG$sig"
		return 1
	fi
}

# aoexd_alive: still running?
assert_aoexd_alive() {
	pid_alive "$AOEXD_PID" || { cat "$LOG" >&2; fail "aoexd (pid $AOEXD_PID) is gone"; }
}

# live_stat NAME KEY: the counter KEY of device or interface NAME now,
# from aoexctl stats on $CTL_SOCK (start aoexd with --control "$CTL_SOCK",
# or a file whose control-socket is that); empty if there is none
CTL_SOCK=$BATS_TEST_TMPDIR/ctl.sock
live_stat() {
	"${AOEXCTL:-$TOP_BUILDDIR/aoexctl}" -s "$CTL_SOCK" stats "$1" 2>/dev/null |
		grep -oE "(^| )$2=[0-9]+" | cut -d= -f2
}

# counter NAME [LOG]: value of NAME=N in the (last) stats line
counter() {
	local v
	v=$(grep -oE "(^| )$1=[0-9]+" "${2:-$LOG}" | tail -n 1 | cut -d= -f2)
	if [ -z "$v" ]; then
		echo "counter $1 not found in ${2:-$LOG}" >&2
		return 1
	fi
	echo "$v"
}

# assert_counter NAME VALUE [LOG]
assert_counter() {
	local v
	v=$(counter "$1" "${3:-$LOG}") || { fail "no counter $1"; return 1; }
	[ "$v" = "$2" ] || { fail "counter $1=$v, expected $2"; return 1; }
}

# assert_counter_ge NAME MIN [LOG]
assert_counter_ge() {
	local v
	v=$(counter "$1" "${3:-$LOG}") || { fail "no counter $1"; return 1; }
	[ "$v" -ge "$2" ] || { fail "counter $1=$v, expected at least $2"; return 1; }
}

# ------------------------------------------------ acknowledged writes, reload

# (ACKS: the file of aoex write --log-acks, "LBA COUNT" lines)
# assert_acked BASE FILE DISK: every acknowledged range holds FILE's bytes
assert_acked() {
	local base=$1 file=$2 disk=$3 lba n bad=0
	[ -s "$ACKS" ] || fail "no acknowledged frame logged"
	ACKED=$(awk '{ s += $2 } END { print s }' "$ACKS")
	# one comparison per run of adjacent acknowledged frames, not per frame
	while read -r lba n; do
		if ! cmp -s <(sectors "$disk" "$lba" "$n") <(sectors "$file" $((lba - base)) "$n"); then
			bad=$((bad + 1))
			echo "acknowledged LBA $lba count $n is not on disk" >&2
		fi
	done < <(sort -n "$ACKS" | awk '
		NR == 1 { a = $1; e = $1 + $2; next }
		$1 <= e { if ($1 + $2 > e) e = $1 + $2; next }
		{ print a, e - a; a = $1; e = $1 + $2 }
		END { if (NR) print a, e - a }')
	[ "$bad" -eq 0 ] || fail "$bad runs of acknowledged frames lost"
}

# acks_at_least BYTES: the writer's ack log has grown to BYTES (aoex writes
# it in 4 KiB blocks: about 400 frames each)
acks_at_least() { [ -f "$ACKS" ] && [ "$(stat -c %s "$ACKS")" -ge "$1" ]; }

# hup: SIGHUP, wait for the reload's outcome line
hup() {
	local before
	before=$(grep -c 'SIGHUP: ' "$LOG" || true)
	kill -HUP "$AOEXD_PID"
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c 'SIGHUP: ' "$LOG")" -gt "$before" ] && return 0
		sleep 0.01
	done
	fail "no SIGHUP outcome in the log"
}

# ---------------------------------------------------------------- backing

# make_disk SECTORS: random contents in $DISK, the same in $REF
make_disk() {
	head -c $(($1 * 512)) /dev/urandom >"$DISK"
	cp "$DISK" "$REF"
}

# random_file FILE SECTORS
random_file() {
	head -c $(($2 * 512)) /dev/urandom >"$1"
}

# ref_put LBA FILE: what a write of FILE at LBA must do to the disk
ref_put() {
	dd if="$2" of="$REF" bs=512 seek="$1" conv=notrunc status=none
}

assert_disk_is_ref() {
	cmp "$DISK" "$REF" || fail "the backing file differs from what the writes should have made it"
}

# sectors FILE LBA COUNT
sectors() {
	dd if="$1" bs=512 skip="$2" count="$3" status=none
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- frames

# machex MAC: 02:00:00:00:0a:01 -> 02000000000a01
machex() { local m=${1//:/}; echo "${m,,}"; }

# hx WORDS...: one lowercase hex string without separators
hx() { local s="$*"; s=${s//[ :]/}; echo "${s,,}"; }

# tohex [FILE]: the bytes of FILE (or stdin) as one lowercase hex string
# (coreutils od, so no xxd is needed)
tohex() { od -An -v -tx1 ${1:+"$1"} | tr -d ' \n'; }

# zeros N: N zero bytes in hex
zeros() { [ "$1" -gt 0 ] && printf '%0*d' $(($1 * 2)) 0; return 0; }

# le16 N, le48 N: little-endian hex
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le48() { local i; for ((i = 0; i < 48; i += 8)); do printf '%02x' $(($1 >> i & 255)); done; }

# strs NAME...: an Extensions string table, each name NUL-terminated, then the final NUL
strs() {
	local s
	for s in "$@"; do
		printf '%s' "$s" | tohex
		printf '00'
	done
	printf '00'
}

# pad60 HEX...: zero-padded to the 60-byte Ethernet minimum
pad60() {
	local h n
	h=$(hx "$@")
	n=$((${#h} / 2))
	[ "$n" -lt 60 ] && h+=$(zeros $((60 - n)))
	echo "$h"
}

# eth DST SRC: Ethernet header with the AoE EtherType
eth() { echo "$(machex "$1")$(machex "$2")88a2"; }

# req HEX...: a request from us to the target's MAC (Ethernet header + HEX)
req() { echo "$(eth "$TMAC" "$IMAC")$(hx "$@")"; }

# rep HEX...: the reply the target should send us (header + HEX, padded)
rep() { pad60 "$(eth "$IMAC" "$TMAC")$(hx "$@")"; }

# raw [-m MAC] [-W MS] HEX: send one whole frame, print reply frames
raw() {
	local opts=() wait=200
	while [ $# -gt 1 ]; do
		case $1 in
		-m) opts+=(-m "$2"); shift 2 ;;
		-W) wait=$2; shift 2 ;;
		*) break ;;
		esac
	done
	aoex "${opts[@]}" raw -W "$wait" "$(hx "$@")"
}

# ki_skip_reason: why the guest tests (tests/vm) cannot run here, or
# nothing (kernel.bats, attach-kernel.bats)
ki_skip_reason() {
	local k
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	elif [ -z "$k" ] || [ ! -r "$k" ]; then
		echo "no kernel image in /boot (apt-get install linux-image-amd64)"
	elif [ "$(id -u)" != 0 ]; then
		echo "needs root (network namespace, tap device)"
	elif [ ! -e /dev/net/tun ]; then
		echo "/dev/net/tun missing"
	fi
}
