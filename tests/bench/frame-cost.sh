#!/bin/bash
# tests/bench/frame-cost.sh [--frames N] [--seconds S] [--mtu "1500 9000"] [--modes "..."]
#                           [--store tmpfs|null] [--top N] NAME=AOEXD [NAME=AOEXD ...]
#
# What a frame costs each aoexd in instructions: the daemon runs under
# valgrind --tool=callgrind (which counts instructions, not seconds, so
# the figure repeats whatever else the machine does), serving a file on a
# private tmpfs (or null:) on a veth pair in its own namespace; aoex bench
# sends a fixed workload (N frames sequentially, S seconds of random 4 KiB
# I/O); the total instruction count of the daemon over
# the workload (counters zeroed once it serves, dumped before it stops:
# callgrind_control) is divided by the frames it received.  Prints one table (instructions per
# frame per build and mode, and the ratio of each build to the first) and,
# with --top N, the N functions that cost most per frame in each cell.
#
# A benchmark, not a test: it exits 0 whatever the figures.  Needs root,
# valgrind, iproute2.  Example:
#   bash tests/bench/frame-cost.sh before=/tmp/b-old/aoexd after=/tmp/b-new/aoexd
set -u
FRAMES=20000 RAND_S=4 KEEP=0 MTUS="1500 9000" MODES="seqread seqwrite randread randwrite" STORE=tmpfs TOP=0
AOEX=${AOEX:-}
builds=()
while [ $# -gt 0 ]; do
	case $1 in
	--frames) FRAMES=$2; shift 2 ;;
	--seconds) RAND_S=$2; shift 2 ;;
	--mtu) MTUS=$2; shift 2 ;;
	--modes) MODES=$2; shift 2 ;;
	--store) STORE=$2; shift 2 ;;
	--top) TOP=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--aoex) AOEX=$2; shift 2 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*=*) builds+=("$1"); shift ;;
	*) echo "frame-cost: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#builds[@]} -gt 0 ] || { echo "frame-cost: name at least one NAME=AOEXD" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "frame-cost: valgrind is missing" >&2; exit 2; }
if [ -z "$AOEX" ]; then
	AOEX=$(dirname "${builds[0]#*=}")/aoex
fi
[ -x "$AOEX" ] || { echo "frame-cost: no aoex at $AOEX (--aoex PATH)" >&2; exit 2; }

W=$(mktemp -d /var/tmp/frame-cost.XXXXXX)
NS=fcost$$
cleanup() {
	ip netns del "$NS" 2>/dev/null
	umount "$W/mnt" 2>/dev/null
	if [ "$KEEP" = 1 ]; then echo "# kept $W (callgrind.out files: callgrind_annotate)"; else rm -rf "$W"; fi
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add fcT address 02:00:00:00:0c:01 type veth peer name fcI address 02:00:00:00:0c:02
ip -n "$NS" link set lo up
ip -n "$NS" link set fcT up
ip -n "$NS" link set fcI up
mkdir -p "$W/mnt"
mount -t tmpfs -o size=80M tmpfs "$W/mnt"
head -c 64M /dev/zero >"$W/mnt/disk"
store() { [ "$STORE" = null ] && echo null:64M || echo "$W/mnt/disk"; }

# run NAME AOEXD MODE MTU: instructions per received frame (and the profile)
run() {
	local name=$1 aoexd=$2 mode=$3 mtu=$4 out=$W/cg.$1.$3.$4 pid i ir rx bytes sectors
	ip -n "$NS" link set fcT mtu "$mtu"
	ip -n "$NS" link set fcI mtu "$mtu"
	sectors=$(( (mtu - 36) / 512 > 255 ? 255 : (mtu - 36) / 512 ))
	ip netns exec "$NS" valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$aoexd" --no-probe --control none 7 1 fcT "$(store)" >"$out.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q 'notice: serving e7' "$out.log" && break
		sleep 0.1
	done
	# count from here: start-up is not a frame's cost
	callgrind_control -z "$pid" >/dev/null 2>&1
	case $mode in
	seq*) bytes=$((FRAMES * sectors * 512)); ip netns exec "$NS" "$AOEX" -i fcI -w 16 \
		bench 7.1 --mode "$mode" --bytes "$bytes" >"$out.bench" 2>&1 ;;
	*) ip netns exec "$NS" "$AOEX" -i fcI -w 16 bench 7.1 --mode "$mode" \
		--io-size 4096 --seconds "$RAND_S" >"$out.bench" 2>&1 ;;
	esac
	# ... to here: the workload alone, dumped before shutdown
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	mv "$(ls "$out".* 2>/dev/null | grep -E '\.[0-9]+$' | head -1)" "$out.work" 2>/dev/null
	ir=$(awk '/^summary:|^totals:/ { print $2; exit }' "$out.work" 2>/dev/null)
	rx=$(grep -oE 'stats fcT rx_frames=[0-9]+' "$out.log" | tail -1 | cut -d= -f2)
	echo "${ir:-0} ${rx:-0}"
}

printf '# frame-cost: %s frames per cell, store %s, %s\n' "$FRAMES" "$STORE" "$(date -u +%F)"
declare -A base
printf '| MTU | mode |'
for b in "${builds[@]}"; do printf ' %s Ir/frame |' "${b%%=*}"; done
[ ${#builds[@]} -gt 1 ] && for b in "${builds[@]:1}"; do printf ' %s/%s |' "${b%%=*}" "${builds[0]%%=*}"; done
printf '\n|---|---|'
for _ in "${builds[@]}"; do printf -- '---|'; done
[ ${#builds[@]} -gt 1 ] && for _ in "${builds[@]:1}"; do printf -- '---|'; done
printf '\n'
for mtu in $MTUS; do
	for mode in $MODES; do
		printf '| %s | %s |' "$mtu" "$mode"
		declare -A cell
		for b in "${builds[@]}"; do
			n=${b%%=*}
			read -r ir rx <<<"$(run "$n" "${b#*=}" "$mode" "$mtu")"
			if [ "${rx:-0}" -gt 0 ]; then
				cell[$n]=$(( ir / rx ))
			else
				cell[$n]=0
			fi
			printf ' %s |' "${cell[$n]}"
		done
		if [ ${#builds[@]} -gt 1 ]; then
			f=${builds[0]%%=*}
			for b in "${builds[@]:1}"; do
				awk -v a="${cell[${b%%=*}]}" -v b="${cell[$f]}" 'BEGIN { printf " %.2f |", b ? a / b : 0 }'
			done
		fi
		printf '\n'
		if [ "$TOP" -gt 0 ]; then
			for b in "${builds[@]}"; do
				n=${b%%=*}
				echo "#   $n $mode $mtu, the most costly functions (inclusive of nothing: self):"
				callgrind_annotate --threshold=100 "$W/cg.$n.$mode.$mtu.work" 2>/dev/null |
					awk -v top="$TOP" '/^-+$/ { dash++; next } dash >= 3 && NF >= 2 && !/100\.0%/ && n < top { sub(/^ +/, ""); print "#     " $0; n++ }'
			done
		fi
	done
done
