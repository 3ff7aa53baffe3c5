#!/bin/bash
# tests/bench/wack.sh - coalesced write acknowledgements (aoexd_coalesced_ack)
# against plain write replies, side by side in one run: one aoexd, one veth
# pair at MTU 1500, `aoex bench --mode randwrite --io-size 4096` with 1 KiB
# frames (-s 2) and -w WINDOW frames outstanding, alternating plain and
# coalesced runs ROUNDS times.  A benchmark, not a test: it prints figures
# and the goals with met / NOT MET, and exits 0 whatever they are.
#
#   bash tests/bench/wack.sh [--window 32] [--seconds 5] [--rounds 3]
#        [--store tmpfs|disk] [--disk-dir /var/tmp]
#
# Per run: reply frames per write (aoex counts the ATA reply frames it
# receives; aoexd's interface tx_frames agrees), the target's CPU time per
# write (/proc/PID/schedstat of aoexd, nanoseconds on a CPU, kernel time
# charged to it included: the veth transmit of its replies), aoex's own
# CPU per write (getrusage).  A "write" is one 4 KiB write, i.e. 4 frames;
# per frame figures are a quarter of that.  Root is needed.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
AOEXD=${AOEXD:-$TOP/aoexd} AOEX=${AOEX:-$TOP/aoex} AOEXCTL=${AOEXCTL:-$(dirname "$AOEXD")/aoexctl}
WINDOW=32 SECONDS_RUN=5 ROUNDS=3 STORE=tmpfs DISKDIR=/var/tmp
while [ $# -gt 0 ]; do
	case $1 in
	--window) WINDOW=$2; shift 2 ;;
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--store) STORE=$2; shift 2 ;;
	--disk-dir) DISKDIR=$2; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "wack.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in "$AOEXD" "$AOEX" "$AOEXCTL"; do
	[ -x "$b" ] || { echo "wack.sh: $b is not executable (set AOEXD/AOEX)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "wack.sh: needs root" >&2; exit 2; }

NS=aoexwack-$$ WORK=$(mktemp -d /tmp/aoexwack.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ "$STORE" = tmpfs ] && umount "$WORK/mnt" 2>/dev/null
	rm -rf "$WORK" "${DISKFILE:-}"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add wT address 02:00:00:00:0a:01 type veth peer name wI address 02:00:00:00:0a:02
for l in lo wT wI; do ip -n "$NS" link set "$l" up; done
ip -n "$NS" link set wT mtu 1500
ip -n "$NS" link set wI mtu 1500

opts=()
if [ "$STORE" = tmpfs ]; then
	mkdir "$WORK/mnt" && mount -t tmpfs -o size=300M tmpfs "$WORK/mnt"
	DISKFILE=$WORK/mnt/disk.img
else
	DISKFILE=$DISKDIR/aoexwack-$$.img
	opts=(-d)
fi
dd if=/dev/zero of="$DISKFILE" bs=1M count=256 status=none
CTL=$WORK/ctl
ip netns exec "$NS" "$AOEXD" "${opts[@]}" --control "$CTL" 1 2 wT "$DISKFILE" >"$WORK/aoexd.log" 2>&1 &
PID=$!
for _ in $(seq 500); do
	"$AOEXCTL" -s "$CTL" status >/dev/null 2>&1 && break
	sleep 0.01
done

target_ns() { awk '{ print $1 }' "/proc/$PID/schedstat"; }
stat_of() { "$AOEXCTL" -s "$CTL" stats "$1" | grep -oE "(^| )$2=[0-9]+" | cut -d= -f2; }
kv() { grep -oE "(^| )$1=[0-9.]+" <<<"$2" | cut -d= -f2; }

# one_run NAME EXT...: one bench run; appends "name writes frames txf tns aus iops" to $WORK/runs
one_run() {
	local name=$1 t0 t1 w0 w1 x0 x1 out
	shift
	t0=$(target_ns) w0=$(stat_of e1.2 writes) x0=$(stat_of wT tx_frames)
	out=$(ip netns exec "$NS" "$AOEX" -i wI -s 2 -w "$WINDOW" "$@" bench 1.2 --mode randwrite \
		--io-size 4096 --seconds "$SECONDS_RUN" 2>&1)
	if ! grep -q '^mode=' <<<"$out"; then
		echo "wack.sh: bench $name failed: $out" >&2
		return 1
	fi
	out=$(grep '^mode=' <<<"$out")
	t1=$(target_ns) w1=$(stat_of e1.2 writes) x1=$(stat_of wT tx_frames)
	echo "$name $(( $(kv bytes "$out") / 4096 )) $((w1 - w0)) $((x1 - x0)) $((t1 - t0)) $(kv cpu_us "$out") $(kv iops "$out") $(kv reply_frames "$out")" >>"$WORK/runs"
}

: >"$WORK/runs"
for ((r = 0; r < ROUNDS; r++)); do
	one_run plain -x reset	# the state of the MAC from the run before: off
	one_run coalesced -x aoexd_coalesced_ack
done
kill "$PID"; wait "$PID"; PID=

echo "aoexd $STORE, MTU 1500, 4 KiB random writes in 1 KiB frames, -w $WINDOW, ${SECONDS_RUN}s x $ROUNDS rounds each"
awk -v rounds="$ROUNDS" '
{ n[$1]++; w[$1] += $2; fr[$1] += $3; tx[$1] += $4; tns[$1] += $5; aus[$1] += $6; iops[$1] += $7; rf[$1] += $8 }
END {
	printf "%-10s %10s %12s %14s %14s %16s %16s\n", "replies", "kIOPS", "reply/write", "reply/frame", "tx_frames/wr", "target us/write", "aoex us/write"
	for (k in n) {
		printf "%-10s %10.1f %12.3f %14.3f %14.3f %16.2f %16.2f\n", k, iops[k] / n[k] / 1000,
			rf[k] / w[k], rf[k] / fr[k], tx[k] / w[k], tns[k] / 1000 / w[k], aus[k] / w[k]
		rpw[k] = rf[k] / w[k]; tpw[k] = tns[k] / w[k]; apw[k] = aus[k] / w[k]
	}
	q = rpw["coalesced"] / rpw["plain"]; t = 1 - tpw["coalesced"] / tpw["plain"]
	printf "reply frames per write: coalesced/plain = %.3f (goal <= 0.5: %s)\n", q, (q <= 0.5 ? "met" : "NOT MET")
	printf "target CPU per write: %.1f%% less (goal >= 25%%: %s)\n", t * 100, (t >= 0.25 ? "met" : "NOT MET")
	printf "initiator CPU per write: %.1f%% less\n", (1 - apw["coalesced"] / apw["plain"]) * 100
}' "$WORK/runs"
echo "runs (name writes frames tx_frames target_ns aoex_us iops reply_frames):"
sed 's/^/  /' "$WORK/runs"
