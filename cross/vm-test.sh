# cross/vm-test.sh - runs inside the ARM VM of cross/vm.sh (busybox sh), from
# /t with the static aoexd and aoex.  aoexd serves the loop device $LOOP on
# v0, aoex talks on v1 (a veth pair).  Prints "ok - ..." / "not ok - ..."
# per check and "# ..." figures; exits 1 when a check failed.
#
# What it shows on a real ARM kernel, which qemu-user cannot: PACKET_RX_RING
# + PACKET_TX_RING (TPACKET_V2), Linux AIO with an eventfd, O_DIRECT on a
# block device, AoEde extensions, verified round trips; no busy loop when
# idle (libaio + musl's 64-bit time_t on 32-bit ARM: aoexd reaps with a zero
# timeout after epoll, so no timespec reaches io_getevents); the fallback
# paths (recvmmsg/sendmmsg, synchronous I/O) when asked for.

# shellcheck shell=sh disable=SC2317,SC2086  # functions run through t; fixed paths
FAILED=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; FAILED=1; }
# t NAME CMD...: ok/not ok by CMD's status, its output shown on failure
t() {
	name=$1; shift
	if "$@" > /tmp/t.out 2>&1; then ok "$name"; else notok "$name"; sed 's/^/#   | /' /tmp/t.out; fi
}
A() { ./aoex -i v1 "$@"; }
DLOG=/tmp/aoexd.log
PID=
RT_CMD=

# start ARGS...: aoexd ARGS... 1 2 v0 $LOOP in the background; wait until it
# serves (at most 30 s: TCG is slow)
start() {
	: > $DLOG
	./aoexd "$@" 1 2 v0 "$LOOP" > $DLOG 2>&1 &
	PID=$!
	i=0
	while [ $i -lt 300 ]; do
		grep -q 'notice: serving e' $DLOG && return 0
		kill -0 $PID 2>/dev/null || { cat $DLOG; return 1; }
		sleep 0.1; i=$((i + 1))
	done
	cat $DLOG; return 1
}
stop() {	# SIGTERM: exit 0 and a stats line
	kill -TERM $PID; wait $PID; rc=$?
	[ $rc = 0 ] && grep -q 'notice: stats e1.2 reads=' $DLOG
}
cpu_ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$PID/status; }

# roundtrip LBA SECTORS [AOEX-OPTIONS...]: write random data, read it back,
# and find it on the device itself.  $RT_CMD: options of read and write.
roundtrip() {
	lba=$1 n=$2; shift 2
	head -c $((n * 512)) /dev/urandom > /tmp/w
	# shellcheck disable=SC2086
	A "$@" write 1.2 "$lba" -f /tmp/w $RT_CMD &&
	A "$@" read 1.2 "$lba" "$n" -o /tmp/r $RT_CMD &&
	cmp /tmp/w /tmp/r &&
	dd if="$LOOP" bs=512 skip="$lba" count="$n" 2>/dev/null | cmp - /tmp/w
}

echo "# $(uname -m) kernel $(uname -r); aoexd $(wc -c < aoexd) bytes"

# ---- the default paths: rings, AIO, O_DIRECT
t "aoexd starts on $LOOP" start
grep 'serving' $DLOG | sed 's/^/# /'
t "log: rx-ring(v2)/tx-ring(v2) in use" grep -qF 'rx-ring(v2)/tx-ring(v2)' $DLOG
t "log: engine aio, O_DIRECT" grep -qE 'O_DIRECT.*engine aio' $DLOG
t "no warning at start-up" sh -c "! grep -q 'warning' $DLOG"
echo "# rss before load: $(rss_kb) KiB"
t "discover finds e1.2" sh -c "./aoex -i v1 discover -W 2000 | grep -q '^e1.2 mac=02:00:00:00:0a:01'"
t "identify: 32768 sectors" sh -c "./aoex -i v1 identify 1.2 | grep -qx 'sectors=32768'"
t "round trip 1 sector at LBA 0" roundtrip 0 1
t "round trip 1 MiB at LBA 1000 (window 8)" roundtrip 1000 2048 -w 8
RT_CMD=--lba28
t "round trip 1 MiB at LBA 30000, LBA28" roundtrip 30000 2048 -w 4
RT_CMD=
t "last sector, then past the end fails" sh -c "
	head -c 512 /dev/urandom > /tmp/w1 && ./aoex -i v1 write 1.2 32767 -f /tmp/w1 &&
	dd if=$LOOP bs=512 skip=32767 count=1 2>/dev/null | cmp - /tmp/w1 &&
	! ./aoex -i v1 -r 0 -t 500 read 1.2 32768 1 -o /tmp/r1"
t "flush" A flush 1.2
t "ext: negotiate tag_inc_le,coalesced_read" sh -c \
	"./aoex -i v1 ext 1.2 coalesced_read tag_inc_le | tee /dev/stderr | grep -qx 'active=coalesced_read,tag_inc_le'"
t "ext: round trip with -x tag_inc_le" roundtrip 4000 512 -x tag_inc_le -w 4
t "ext: coalesced read of 2048 sectors (--coalesce 4)" sh -c "
	./aoex -i v1 -w 2 read 1.2 1000 2048 --coalesce 4 -o /tmp/rc > /tmp/rc.out &&
	dd if=$LOOP bs=512 skip=1000 count=2048 2>/dev/null | cmp - /tmp/rc"
t "bench seqwrite 4 MiB" sh -c "./aoex -i v1 -w 8 bench 1.2 --mode seqwrite --bytes 4M | tee /dev/stderr | grep -q ' errors=0 '"
t "bench randread 2 s" sh -c "./aoex -i v1 -w 8 bench 1.2 --mode randread --seconds 2 | tee /dev/stderr | grep -q ' errors=0 '"
sed 's/^/# /' /tmp/t.out
echo "# rss after load: $(rss_kb) KiB, peak $(awk '/^VmHWM/ {print $2}' /proc/$PID/status) KiB"
# idle: a busy loop (a sub-second timeout read as 0 by the 32-bit syscall)
# would burn ~100 ticks a second
c0=$(cpu_ticks); sleep 3; c1=$(cpu_ticks)
echo "# idle cpu: $((c1 - c0)) ticks in 3 s"
t "idle: no busy loop (< 15 ticks of CPU in 3 s)" test $((c1 - c0)) -lt 15
t "SIGTERM: exit 0 with stats" stop
grep -E 'stats e1.2 (reads|queue)|stats v0 ' $DLOG | sed 's/^/# /'
t "AIO used: io_getevents reaped (reap_calls > 0)" grep -qE 'reap_calls=[1-9]' $DLOG

# ---- forced fallbacks: no rings, no AIO
t "aoexd --no-rx-ring --no-tx-ring --engine sync starts" start --no-rx-ring --no-tx-ring --engine sync
t "log: recvmmsg/sendmmsg, engine sync" sh -c "grep -qF 'recvmmsg/sendmmsg' $DLOG && grep -q 'engine sync' $DLOG"
t "fallback: round trip 1 MiB" roundtrip 9000 2048 -w 8
t "fallback: SIGTERM exit 0" stop

exit $FAILED
