#!/bin/bash
# tests/soak.sh - a long mixed load on aoexd, checked against a model.
#
# One aoexd (-c FILE) serves --devices devices on one veth end inside a
# private network namespace.  --instances initiators (aoex, each with its
# own source MAC) run random reads and writes of 1..64 sectors on all
# devices; instance i owns the i-th slice of every device, so a model file
# per device (updated with dd after each acknowledged write) says exactly
# what the disk must hold.  Meanwhile aoexd gets SIGHUP every 10 s and its
# interface goes down and up every 15 s; its RSS and open descriptors are
# sampled every 2 s.
#
# At the end: every read must have matched the model, every device file
# must equal its model after SIGTERM, RSS and the fd count must be flat
# (cache buffers are allocated as the load first reaches them: up to 1 MiB
# of read-ahead per device and 4 MiB per write-back device, so RSS may grow
# by that much plus 2 MiB, no more; runs of 300 s or more also require the
# highest RSS of the second half within 1 MiB of the first half's; the
# last fd count equal to the one after warm-up), and there must be no
# error.  Prints requests served,
# errors and ring drops.
#
# Usage: tests/soak.sh [--duration S] [--instances N] [--devices N]
#   (defaults 60, 3, 3).  By hand: tests/soak.sh --duration 3600.
# Environment: AOEXD, AOEX (default: ./aoexd, ./aoex of the current
# directory, i.e. run it from the build tree).  Needs root.  Exit 0 = pass.
set -u
DURATION=60 INSTANCES=3 DEVICES=3
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--instances) INSTANCES=$2; shift 2 ;;
	--devices) DEVICES=$2; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak: unknown argument $1" >&2; exit 2 ;;
	esac
done
# An ASan build keeps freed memory in quarantine (256 MiB by default): each
# SIGHUP's freed configuration would show as RSS growth that is no leak.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
AOEXD=${AOEXD:-$PWD/aoexd}
AOEX=${AOEX:-$PWD/aoex}
[ -x "$AOEXD" ] && [ -x "$AOEX" ] || { echo "soak: AOEXD/AOEX not executable" >&2; exit 2; }
[ "$DEVICES" -ge 1 ] && [ "$DEVICES" -le 4 ] || { echo "soak: --devices 1..4" >&2; exit 2; }
[ "$INSTANCES" -ge 1 ] && [ "$INSTANCES" -le 8 ] || { echo "soak: --instances 1..8" >&2; exit 2; }

id=$(printf '%x' $$)
NS=aoexsoak-$id TIF=soT$id IIF=soI$id
SECTORS=32768			# 16 MiB per device
SLICE=$((SECTORS / INSTANCES))
# a real file system: O_DIRECT and the aio engine, not tmpfs
DIR=$(mktemp -d /var/tmp/aoexsoak.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -f /run/aoexd/*"$TIF"-e*.lock /tmp/*"$TIF"-e*.lock
	[ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$NS" || exit 1
ip -n "$NS" link add "$TIF" type veth peer name "$IIF"
ip -n "$NS" link set lo up
ip -n "$NS" link set "$TIF" up
ip -n "$NS" link set "$IIF" up

{
	echo "interfaces = {\"$TIF\"}"
	for ((d = 1; d <= DEVICES; d++)); do
		head -c $((SECTORS * 512)) /dev/urandom >"$DIR/dev$d.img"
		cp "$DIR/dev$d.img" "$DIR/model$d.img"
		# even devices write-back: both write policies are soaked
		policy=write-through
		[ $((d % 2)) -eq 0 ] && policy=write-back
		printf 'device d%d {\n\tpath = "%s"\n\tshelf = 7\n\tslot = %d\n\twrite-policy = "%s"\n}\n' \
			"$d" "$DIR/dev$d.img" "$d" "$policy"
	done
} >"$DIR/aoexd.conf"

: >"$DIR/aoexd.log"
ip netns exec "$NS" "$AOEXD" -c "$DIR/aoexd.conf" >"$DIR/aoexd.log" 2>&1 &
APID=$!
PIDS+=("$APID")
for ((i = 0; i < 500; i++)); do
	grep -q 'notice: serving e7' "$DIR/aoexd.log" && break
	kill -0 "$APID" 2>/dev/null || { cat "$DIR/aoexd.log"; echo "soak: aoexd died"; exit 1; }
	sleep 0.01
done

END=$((SECONDS + DURATION))

# instance I: random I/O in its slice of every device until END
instance() {
	local i=$1 mac lo d lba n f reads=0 writes=0 errors=0 mism=0
	mac=$(printf '02:00:00:00:5a:%02x' "$i")
	lo=$((i * SLICE))
	f=$DIR/inst$i
	while [ $SECONDS -lt $END ]; do
		d=$((RANDOM % DEVICES + 1))
		n=$((RANDOM % 64 + 1))
		lba=$((lo + (RANDOM * 32768 + RANDOM) % (SLICE - n)))
		if ((RANDOM % 10 < 6)); then
			head -c $((n * 512)) /dev/urandom >"$f.w"
			# generous retries: an interface flap lasts 0.3 s
			if ip netns exec "$NS" "$AOEX" -i "$IIF" -m "$mac" -t 200 -r 15 -w 8 \
				write "7.$d" "$lba" -f "$f.w" 2>>"$f.err"; then
				dd if="$f.w" of="$DIR/model$d.img" bs=512 seek="$lba" conv=notrunc status=none
				writes=$((writes + 1))
			else
				errors=$((errors + 1))
				echo "write 7.$d $lba $n failed" >>"$f.err"
			fi
		else
			if ip netns exec "$NS" "$AOEX" -i "$IIF" -m "$mac" -t 200 -r 15 -w 8 \
				read "7.$d" "$lba" "$n" -o "$f.r" 2>>"$f.err"; then
				reads=$((reads + 1))
				if ! dd if="$DIR/model$d.img" bs=512 skip="$lba" count="$n" status=none |
					cmp -s - "$f.r"; then
					mism=$((mism + 1))
					echo "read 7.$d $lba $n differs from the model" >>"$f.err"
				fi
			else
				errors=$((errors + 1))
				echo "read 7.$d $lba $n failed" >>"$f.err"
			fi
		fi
	done
	echo "$reads $writes $errors $mism" >"$f.result"
}

for ((i = 0; i < INSTANCES; i++)); do
	instance "$i" &
	PIDS+=("$!")
done

# the disturbances and the samples
sample() { echo "$(awk '/^VmRSS/ { print $2 }' "/proc/$APID/status") $(ls "/proc/$APID/fd" | wc -l)"; }
: >"$DIR/samples"
hups=0 flaps=0 t0=$SECONDS
while [ $SECONDS -lt $END ]; do
	sleep 2
	kill -0 "$APID" 2>/dev/null || { echo "soak: aoexd died"; tail "$DIR/aoexd.log"; exit 1; }
	sample >>"$DIR/samples"
	el=$((SECONDS - t0))
	if [ $((el % 10)) -lt 2 ] && [ "$el" -ge 10 ]; then
		kill -HUP "$APID"
		hups=$((hups + 1))
	fi
	if [ $((el % 15)) -lt 2 ] && [ "$el" -ge 15 ]; then
		ip -n "$NS" link set "$TIF" down
		sleep 0.3
		ip -n "$NS" link set "$TIF" up
		flaps=$((flaps + 1))
	fi
done
for ((i = 1; i <= INSTANCES; i++)); do wait "${PIDS[$i]}"; done
# the last flap may still be settling (a detached interface has its socket
# closed until hotplug attaches it again): give it up to 5 s to match
fd_first=$(sed -n 3p "$DIR/samples" | cut -d' ' -f2)
for ((i = 0; i < 10; i++)); do
	[ "$(ls "/proc/$APID/fd" | wc -l)" -eq "$fd_first" ] && break
	sleep 0.5
done
sample >>"$DIR/samples"

kill -TERM "$APID"
wait "$APID"
arc=$?
PIDS=()

reads=0 writes=0 errors=0 mism=0
for ((i = 0; i < INSTANCES; i++)); do
	read -r r w e m <"$DIR/inst$i.result"
	reads=$((reads + r)) writes=$((writes + w)) errors=$((errors + e)) mism=$((mism + m))
done
bad_dev=0
for ((d = 1; d <= DEVICES; d++)); do
	cmp -s "$DIR/dev$d.img" "$DIR/model$d.img" || { bad_dev=$((bad_dev + 1)); echo "soak: device $d differs from its model"; }
done
sum() { grep -oE " $1=[0-9]+" "$DIR/aoexd.log" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'; }
served=$(( $(sum reads) + $(sum writes) ))
ring_drops=$(sum ring_drops) tx_dropped=$(sum tx_dropped) io_errors=$(sum io_errors)
# flat: compare the last sample with the one after warm-up (the 3rd)
read -r rss_first fd_first < <(sed -n 3p "$DIR/samples")
read -r rss_last fd_last < <(tail -n 1 "$DIR/samples")
n=$(wc -l <"$DIR/samples")
rss_max1=$(head -n $((n / 2)) "$DIR/samples" | awk '{ if ($1 > m) m = $1 } END { print m + 0 }')
rss_max2=$(tail -n $((n - n / 2)) "$DIR/samples" | awk '{ if ($1 > m) m = $1 } END { print m + 0 }')

echo "soak: ${DURATION}s, $INSTANCES instances, $DEVICES devices, $hups SIGHUPs, $flaps interface flaps"
echo "soak: aoex requests ok: reads=$reads writes=$writes; errors=$errors read_mismatches=$mism devices_differing=$bad_dev"
echo "soak: aoexd served $served ATA reads+writes (frames), io_errors=$io_errors ring_drops=$ring_drops tx_dropped=$tx_dropped exit=$arc"
echo "soak: RSS ${rss_first} kB after warm-up, ${rss_last} kB at the end; highest ${rss_max1} kB in the first half, ${rss_max2} kB in the second; fds ${fd_first} -> ${fd_last}"
rc=0
[ "$errors" -eq 0 ] && [ "$mism" -eq 0 ] && [ "$bad_dev" -eq 0 ] && [ "$arc" -eq 0 ] && [ "$io_errors" -eq 0 ] || rc=1
[ "$fd_last" -eq "$fd_first" ] || { echo "soak: the fd count changed"; rc=1; }
bound=$((DEVICES * 1024 + DEVICES / 2 * 4096 + 2048))
[ $((rss_max2 - rss_first)) -le "$bound" ] || { echo "soak: RSS grew by $((rss_max2 - rss_first)) kB (bound $bound)"; rc=1; }
if [ "$DURATION" -ge 300 ] && [ $((rss_max2 - rss_max1)) -ge 1024 ]; then
	echo "soak: RSS grew by $((rss_max2 - rss_max1)) kB in the second half"
	rc=1
fi
[ "$rc" -eq 0 ] || { KEEP=1; echo "soak: FAILED; files kept in $DIR"; cat "$DIR"/inst*.err 2>/dev/null | head -n 20; }
[ "$rc" -eq 0 ] && echo "soak: PASS"
exit $rc
