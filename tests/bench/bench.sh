#!/bin/bash
# bench.sh - throughput and CPU benchmark of aoexd against Debian's vblade.
#
#   bash tests/bench/bench.sh [options]          (as root)
#
# In one invocation: aoexd serving a file on a private tmpfs, a file on a
# real disk file system (O_DIRECT when the file system supports it) and
# null:4G, and vblade serving the same two files, each on an identical veth
# pair in its own network namespace (nothing leaves the machine), driven by
# the bundled initiator (`aoex bench`: seqread, seqwrite, randread and
# randwrite 4 KiB) at every MTU asked for.  Per cell: MB/s, IOPS, CPU
# seconds of the target process per GiB moved (utime+stime from
# /proc/PID/stat, delta over the run), the target's syscalls per request
# (a separate short run with `strace -c -f -p PID` attached), and the ratios
# aoexd/vblade and file-backed/null-backed.  Then the Linux kernel's aoe
# initiator under qemu (tests/vm/kernel-initiator.sh): dd write and read
# against aoexd and vblade, MiB/s and target CPU per MiB.  Ends with the
# goals of the project, each with its measured value and met / NOT MET.
#
# The table goes to stdout (and as Markdown to --markdown FILE), progress
# to stderr.  Everything it creates (namespaces, processes, the tmpfs
# mount, the disk file, the work dir) is removed on exit and on Ctrl-C.
#
# Environment: AOEXD, AOEX (binaries; default --build DIR, else the source
# tree), VBLADE (default: vblade on PATH, else /usr/sbin/vblade),
# KI_CACHE_DIR (guest initramfs cache, default /tmp/aoexd-ki-cache).
# shellcheck disable=SC2015,SC2012  # "a && b || die" is meant; ls of /boot is fine
export LC_ALL=C	# decimal points in EPOCHREALTIME, awk and printf
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP_SRCDIR=$(cd "$HERE/../.." && pwd)
KI_SCRIPT=$TOP_SRCDIR/tests/vm/kernel-initiator.sh
REPORT_AWK=$HERE/report.awk

usage() {
	cat <<'EOF'
Usage: bench.sh [options]        (as root; see tests/bench/README)

  --quick             short runs for smoke testing (1 s per cell, 1 s
                      strace windows, 256 MiB files, 16 MiB kernel dd):
                      under 3 minutes
  --seconds S         length of each measured run (default 5; fractions
                      allowed).  Random modes run S seconds; sequential modes
                      move about S seconds' worth, sized by a warm-up run
  --bytes N           bytes per sequential run instead (K/M/G suffixes)
  --window N          outstanding frames of aoex (-w, default 32)
  --bufcnt N          -b for both targets (default: the window, at least 16)
  --mtu "LIST"        MTUs to measure (default "1500 9000")
  --modes "LIST"      subset of "seqread seqwrite randread randwrite"
  --backings "LIST"   subset of "tmpfs disk null"
  --size N            size of the tmpfs and disk files (default 1G; quick 256M)
  --disk-dir DIR      where the disk-backed file goes (default /var/tmp)
  --no-direct         serve the disk file through the page cache (no -d)
  --aoexd-args "..."  extra aoexd arguments, e.g. "--engine sync"
  --only aoexd|vblade measure one target only (no ratios then)
  --repeat N          N runs per cell, report the median (default 1)
  --pin               taskset the target to CPU 0 and aoex (or qemu) to CPU 1
  --strace-seconds S  strace window per cell (default 2; quick 1)
  --no-strace         skip the syscall counts
  --no-kernel         skip the kernel-initiator (qemu) section
  --kernel-mb N       MiB per kernel dd (default 64; quick 16)
  --build DIR         build dir holding aoexd and aoex (default: env AOEXD,
                      AOEX, else the source tree)
  --markdown FILE     also write the report as Markdown to FILE
  --keep              keep the work dir (target logs, raw runs)
  -h, --help          this text
EOF
}

say() { printf '%s\n' "bench: $*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }
calc() { awk "BEGIN { printf \"%.6g\", ($1) }"; }
# fmt DECIMALS VALUE: VALUE rounded, or - when it is not a number
fmt() { awk -v d="$1" -v v="$2" 'BEGIN { if (v ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) printf "%.*f", d, v; else printf "-" }'; }
# median VALUE...: the median of the numeric arguments, or - if none
median() {
	printf '%s\n' "$@" | awk '/^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ { a[++n] = $1 + 0 }
		END {
			if (!n) { print "-"; exit }
			for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
			if (n % 2) print a[(n + 1) / 2]; else printf "%.6g\n", (a[n / 2] + a[n / 2 + 1]) / 2
		}'
}

# ------------------------------------------------------------------ options
QUICK=0 RUN_S='' BYTES='' WINDOW=32 BUFCNT='' MTUS="1500 9000"
MODES="seqread seqwrite randread randwrite" BACKINGS="tmpfs disk null"
SIZE='' DISK_DIR=/var/tmp DIRECT=1 AOEXD_ARGS='' ONLY='' REPEAT=1 PIN=0
STRACE_S='' STRACE=1 KERNEL=1 KI_MB='' BUILD='' MARKDOWN='' KEEP=0

need_arg() { [ $# -ge 2 ] || die "$1 needs an argument"; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; shift ;;
	--seconds) need_arg "$@"; RUN_S=$2; shift 2 ;;
	--bytes) need_arg "$@"; BYTES=$2; shift 2 ;;
	--window|-w) need_arg "$@"; WINDOW=$2; shift 2 ;;
	--bufcnt) need_arg "$@"; BUFCNT=$2; shift 2 ;;
	--mtu) need_arg "$@"; MTUS=$2; shift 2 ;;
	--modes) need_arg "$@"; MODES=$2; shift 2 ;;
	--backings) need_arg "$@"; BACKINGS=$2; shift 2 ;;
	--size) need_arg "$@"; SIZE=$2; shift 2 ;;
	--disk-dir) need_arg "$@"; DISK_DIR=$2; shift 2 ;;
	--no-direct) DIRECT=0; shift ;;
	--aoexd-args) need_arg "$@"; AOEXD_ARGS=$2; shift 2 ;;
	--only) need_arg "$@"; ONLY=$2; shift 2 ;;
	--repeat) need_arg "$@"; REPEAT=$2; shift 2 ;;
	--pin) PIN=1; shift ;;
	--strace-seconds) need_arg "$@"; STRACE_S=$2; shift 2 ;;
	--no-strace) STRACE=0; shift ;;
	--no-kernel) KERNEL=0; shift ;;
	--kernel-mb) need_arg "$@"; KI_MB=$2; shift 2 ;;
	--build) need_arg "$@"; BUILD=$2; shift 2 ;;
	--markdown) need_arg "$@"; MARKDOWN=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

if [ "$QUICK" = 1 ]; then
	: "${RUN_S:=1}" "${STRACE_S:=1}" "${SIZE:=256M}" "${KI_MB:=16}"
	WARM_MB=8
else
	: "${RUN_S:=5}" "${STRACE_S:=2}" "${SIZE:=1G}" "${KI_MB:=64}"
	WARM_MB=32
fi
: "${BUFCNT:=$((WINDOW > 16 ? WINDOW : 16))}"

isnum() { [[ $1 =~ ^[0-9]+$ ]]; }
isreal() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "$(calc "$1 > 0")" = 1 ]; }
# to_bytes 256M -> 268435456
to_bytes() {
	local n=${1%[KkMmGgTt]} u=${1: -1}
	isnum "$n" || return 1
	case $u in
	[Kk]) echo $((n << 10)) ;; [Mm]) echo $((n << 20)) ;;
	[Gg]) echo $((n << 30)) ;; [Tt]) echo $((n << 40)) ;;
	*) isnum "$1" && echo "$1" ;;
	esac
}
isreal "$RUN_S" || die "--seconds needs a positive number"
isreal "$STRACE_S" || die "--strace-seconds needs a positive number"
isnum "$WINDOW" && [ "$WINDOW" -ge 1 ] && [ "$WINDOW" -le 1024 ] || die "--window must be 1..1024"
isnum "$BUFCNT" && [ "$BUFCNT" -ge 2 ] || die "--bufcnt must be a number >= 2"
isnum "$REPEAT" && [ "$REPEAT" -ge 1 ] || die "--repeat must be >= 1"
isnum "$KI_MB" && [ "$KI_MB" -ge 1 ] || die "--kernel-mb must be >= 1"
SIZE_B=$(to_bytes "$SIZE") && [ "$SIZE_B" -ge $((16 << 20)) ] || die "--size must be at least 16M"
SIZE_MB=$((SIZE_B >> 20))
if [ -n "$BYTES" ]; then
	BYTES_B=$(to_bytes "$BYTES") && [ "$BYTES_B" -ge 512 ] || die "bad --bytes '$BYTES'"
fi
for m in $MTUS; do
	isnum "$m" && [ "$m" -ge 576 ] && [ "$m" -le 65535 ] || die "bad MTU '$m'"
done
[ -n "${MTUS// /}" ] || die "--mtu needs at least one MTU"
for m in $MODES; do
	case $m in seqread|seqwrite|randread|randwrite) ;; *) die "unknown mode '$m'" ;; esac
done
for b in $BACKINGS; do
	case $b in tmpfs|disk|null) ;; *) die "unknown backing '$b'" ;; esac
done
case $ONLY in ''|aoexd|vblade) ;; *) die "--only takes aoexd or vblade" ;; esac
read -ra AOEXD_XARGS <<<"$AOEXD_ARGS"

# ------------------------------------------------------------ prerequisites
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, packet sockets, a tmpfs mount)"
for c in ip awk timeout mount; do
	command -v "$c" >/dev/null || die "$c is missing (apt-get install iproute2 coreutils mawk mount)"
done
if [ "$PIN" = 1 ]; then
	command -v taskset >/dev/null || die "--pin needs taskset (apt-get install util-linux)"
	[ "$(nproc)" -ge 2 ] || die "--pin needs at least 2 CPUs (this machine has $(nproc))"
fi
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then
	die "strace is missing: apt-get install strace (or run with --no-strace)"
fi
if [ -n "$BUILD" ]; then
	: "${AOEXD:=$BUILD/aoexd}" "${AOEX:=$BUILD/aoex}"
fi
: "${AOEXD:=$TOP_SRCDIR/aoexd}" "${AOEX:=$TOP_SRCDIR/aoex}"
[ -x "$AOEX" ] || die "aoex not found at $AOEX: build it (make aoex), or pass --build DIR / AOEX=..."
if [ "$ONLY" != vblade ]; then
	[ -x "$AOEXD" ] || die "aoexd not found at $AOEXD: build it (make aoexd), or pass --build DIR / AOEXD=..."
fi
if [ "$ONLY" != aoexd ]; then
	: "${VBLADE:=$(command -v vblade || echo /usr/sbin/vblade)}"
	[ -x "$VBLADE" ] || die "vblade is not installed ($VBLADE): apt-get install vblade (tests/install-deps.sh), or --only aoexd"
fi
TARGETS=()
[ "$ONLY" != vblade ] && TARGETS+=(aoexd)
[ "$ONLY" != aoexd ] && TARGETS+=(vblade)

KI_SKIP=''
if [ "$KERNEL" = 1 ]; then
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
	if [ ! -x "$KI_SCRIPT" ] && [ ! -f "$KI_SCRIPT" ]; then
		KI_SKIP="$KI_SCRIPT is missing"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		KI_SKIP="qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	elif [ -z "$k" ] || [ ! -r "$k" ]; then
		KI_SKIP="no kernel image in /boot (apt-get install linux-image-amd64)"
	elif [ ! -e /dev/net/tun ]; then
		KI_SKIP="/dev/net/tun is missing"
	fi
	[ -z "$KI_SKIP" ] || say "kernel-initiator section skipped: $KI_SKIP"
fi

# --------------------------------------------------------- state, cleanup
SHELF=1 SLOT=2
TMAC=02:00:00:00:0a:01 IMAC=02:00:00:00:0a:02
WORK='' MNT='' MNT_MADE=0 DISK_FILES=() NSES=() PIDS=() IFNAMES=()
NS='' TIF='' IIF='' TPID='' TLOG=''
T_START=$SECONDS

track() { PIDS+=("$1"); }
untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
pid_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10)
stop_pid() {
	local p=$1 n=$((${2:-10} * 10)) i
	kill -TERM "$p" 2>/dev/null
	for ((i = 0; i < n; i++)); do pid_alive "$p" || break; sleep 0.1; done
	pid_alive "$p" && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	untrack "$p"
}

# ns_kill NS: whatever still runs in our namespace (only we start anything
# there) gets SIGKILL, so nothing outlives it
ns_kill() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
}

# shellcheck disable=SC2317  # called from the traps
cleanup() {
	local rc=$? p n i
	trap - EXIT INT TERM
	# the kernel harness cleans up after itself on SIGTERM (qemu, target,
	# its namespace): give everything a moment before SIGKILL
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 150; i++)); do pid_alive "$p" || break; sleep 0.1; done
		pid_alive "$p" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "${NSES[@]}"; do ns_kill "$n"; ip netns del "$n" 2>/dev/null; done
	for n in "${IFNAMES[@]}"; do
		rm -f /run/aoexd/*"$n"-e*.lock /tmp/*"$n"-e*.lock 2>/dev/null
	done
	if [ "$MNT_MADE" = 1 ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	for n in "${DISK_FILES[@]}"; do rm -f "$n"; done
	if [ -n "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then
			say "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted, cleaning up"; exit 130' INT
trap 'say "terminated, cleaning up"; exit 143' TERM

elapsed() { local s=$((SECONDS - T_START)); printf '%02d:%02d' $((s / 60)) $((s % 60)); }
progress() { printf '[%s] %s\n' "$(elapsed)" "$*" >&2; }

WORK=$(mktemp -d /tmp/aoexd-bench.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK/log" "$WORK/run"
RESULTS=$WORK/results.tsv
RUNS=$WORK/runs.tsv
: >"$RESULTS"
: >"$RUNS"	# mtu mode target backing run bytes seconds MBps iops retx errors cpu_s_per_gib cpu_pct aoex_pct rest_pct status
meta() { printf 'M\t%s\t%s\n' "$1" "$2" >>"$RESULTS"; }

# ------------------------------------------------------------ backing files
# Every target gets its own files (same size, same file system), so no
# target sees the page-cache state another one left.
need_tmpfs=0 need_disk=0 n_tmpfs=0
for b in $BACKINGS; do
	[ "$b" = tmpfs ] && need_tmpfs=1 && n_tmpfs=${#TARGETS[@]}
	[ "$b" = disk ] && need_disk=1
done
[ "$KERNEL" = 1 ] && [ -z "$KI_SKIP" ] && need_tmpfs=1

MNT=$WORK/tmpfs
mkdir -p "$MNT"
if [ "$need_tmpfs" = 1 ]; then
	avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	want_mb=$((n_tmpfs * SIZE_MB + KI_MB + 64))
	[ "$avail_mb" -gt $((want_mb + 512)) ] ||
		die "not enough memory for a ${want_mb} MiB tmpfs (MemAvailable ${avail_mb} MiB): use a smaller --size"
	mount -t tmpfs -o "size=${want_mb}m,mode=0700" aoexd-bench "$MNT" || die "cannot mount a tmpfs on $MNT"
	MNT_MADE=1
fi
declare -A FILE_OF=()
if [[ " $BACKINGS " == *" tmpfs "* ]]; then
	for kind in "${TARGETS[@]}"; do
		FILE_OF[$kind,tmpfs]=$MNT/$kind.img
		progress "filling ${SIZE_MB} MiB on tmpfs (${FILE_OF[$kind,tmpfs]})"
		dd if=/dev/zero of="${FILE_OF[$kind,tmpfs]}" bs=1M count="$SIZE_MB" status=none ||
			die "cannot write ${FILE_OF[$kind,tmpfs]}"
	done
fi
DISK_NOTE=''
if [ "$need_disk" = 1 ]; then
	[ -d "$DISK_DIR" ] || die "--disk-dir $DISK_DIR is not a directory"
	fstype=$(stat -f -c %T "$DISK_DIR")
	case $fstype in
	tmpfs|ramfs|overlayfs) say "warning: $DISK_DIR is on $fstype, not a real disk file system" ;;
	esac
	for kind in "${TARGETS[@]}"; do
		f=$(mktemp "$DISK_DIR/aoexd-bench-$kind.XXXXXX") || die "cannot create a file in $DISK_DIR"
		DISK_FILES+=("$f")
		FILE_OF[$kind,disk]=$f
		if [ "$DIRECT" = 1 ] && ! dd if=/dev/zero of="$f" bs=1M count=1 oflag=direct status=none 2>/dev/null; then
			DIRECT=0
			say "warning: $DISK_DIR ($fstype) does not support O_DIRECT; serving the disk files through the page cache"
		fi
		progress "filling ${SIZE_MB} MiB on $DISK_DIR ($fstype, $f)"
		if [ "$DIRECT" = 1 ]; then
			dd if=/dev/zero of="$f" bs=1M count="$SIZE_MB" oflag=direct conv=fsync status=none
		else
			dd if=/dev/zero of="$f" bs=1M count="$SIZE_MB" conv=fsync status=none
		fi || die "cannot write $f"
	done
	DISK_NOTE="$DISK_DIR ($fstype, $(df -P "$DISK_DIR" | awk 'NR == 2 { print $1 }'))$([ "$DIRECT" = 1 ] && echo ", -d (O_DIRECT)" || echo ", page cache")"
fi

# ------------------------------------------------------------------ network
NSN=0
# net_up MTU: a fresh namespace with one veth pair, both ends at MTU; sets
# NS, TIF, IIF
net_up() {
	local id
	NSN=$((NSN + 1))
	id=$(printf '%xx%x' $$ "$NSN")
	NS=aoexbench-$id TIF=abT$id IIF=abI$id
	ip netns del "$NS" 2>/dev/null
	ip netns add "$NS" || return 1
	NSES+=("$NS")
	IFNAMES+=("$TIF" "$IIF")
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	ip -n "$NS" link set lo up &&
	ip -n "$NS" link add "$TIF" address "$TMAC" mtu "$1" type veth \
		peer name "$IIF" address "$IMAC" mtu "$1" &&
	ip -n "$NS" link set "$TIF" up &&
	ip -n "$NS" link set "$IIF" up &&
	set_aoexc
}
# net_down NS TIF
net_down() {
	local keep=() n
	ns_kill "$1"
	ip netns del "$1" 2>/dev/null
	for n in "${NSES[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
	NSES=("${keep[@]}")
	rm -f /run/aoexd/*"$2"-e*.lock /tmp/*"$2"-e*.lock 2>/dev/null
}

# rx_frames: frames received by the target's interface (from the target's
# own view of /proc/net/dev, so no process has to enter the namespace)
rx_frames() {
	awk -v ifn="$TIF:" '$1 == ifn { print $3; found = 1 } END { if (!found) print "" }' \
		<(sed 's/:/: /' "/proc/$TPID/net/dev" 2>/dev/null)
}
# cpu_ticks PID: utime + stime
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086  # split the fields on purpose
	set -- $s
	echo $((${12} + ${13}))
}
# busy_ticks: CPU time of the whole machine (all but idle and iowait)
busy_ticks() {
	local cpu u n sy idle iow irq sirq st rest
	# shellcheck disable=SC2034  # idle and iowait are read to be skipped
	read -r cpu u n sy idle iow irq sirq st rest </proc/stat
	echo $((u + n + sy + irq + sirq + st))
}
# child_ticks: CPU (utime+stime) of this shell's waited-for children
child_ticks() {
	local s
	read -r s <"/proc/$$/stat"
	s=${s##*) }
	# shellcheck disable=SC2086  # split the fields on purpose
	set -- $s
	echo $((${14} + ${15}))
}
HZ=$(getconf CLK_TCK)

# AOEXC: the initiator command line on the current veth pair.  Always run
# it as a simple command ("${AOEXC[@]}" ... &), never through a function:
# then ip netns exec and taskset exec and $! is aoex itself, which is what
# gets killed and whose CPU time is counted.
AOEXC=()
set_aoexc() {
	AOEXC=(ip netns exec "$NS")
	[ "$PIN" = 1 ] && AOEXC+=(taskset -c 1)
	AOEXC+=("$AOEX" -i "$IIF")
}

# ------------------------------------------------------------------ targets
# All targets of one MTU run at the same time, each on its own veth pair in
# its own namespace; they are driven one after the other (round robin per
# mode and repetition), so a change in the machine's background load hits
# all of them alike.  An idle target costs nothing.
S_KIND=() S_BACK=() S_NS=() S_TIF=() S_IIF=() S_PID=() S_LOG=() S_UP=()

# use_slot I: make slot I the current target (NS TIF IIF TPID TLOG AOEXC)
use_slot() {
	NS=${S_NS[$1]} TIF=${S_TIF[$1]} IIF=${S_IIF[$1]} TPID=${S_PID[$1]} TLOG=${S_LOG[$1]}
	set_aoexc
}

# start_target KIND BACKING MTU (on the current NS/TIF): sets TPID, TLOG
start_target() {
	local kind=$1 backing=$2 file opts=() cmd=() i bin comm
	case $backing in
	disk) file=${FILE_OF[$kind,disk]}; [ "$DIRECT" = 1 ] && opts=(-d) ;;
	null) file=null:4G ;;
	*) file=${FILE_OF[$kind,$backing]} ;;
	esac
	[ "$PIN" = 1 ] && cmd=(taskset -c 0)
	case $kind in
	aoexd) bin=$AOEXD; cmd+=("$AOEXD" "${AOEXD_XARGS[@]}" -b "$BUFCNT" "${opts[@]}") ;;
	vblade) bin=$VBLADE; cmd+=("$VBLADE" -b "$BUFCNT" "${opts[@]}") ;;
	esac
	cmd+=("$SHELF" "$SLOT" "$TIF" "$file")
	TLOG=$WORK/log/$kind-$backing-mtu$3.log
	echo "# ${cmd[*]}" >"$TLOG"
	# ip netns exec and taskset exec: $! is the target itself
	ip netns exec "$NS" "${cmd[@]}" </dev/null >>"$TLOG" 2>&1 &
	TPID=$!
	track "$TPID"
	for ((i = 0; i < 100; i++)); do
		if ! pid_alive "$TPID"; then
			say "$kind ($backing) exited at start:"
			sed 's/^/  /' "$TLOG" >&2
			untrack "$TPID"; wait "$TPID" 2>/dev/null
			return 1
		fi
		"${AOEXC[@]}" -t 100 -r 0 config "$SHELF.$SLOT" read >/dev/null 2>&1 && break
		sleep 0.02
	done
	if [ "$i" -ge 100 ]; then
		say "$kind ($backing) does not answer after 10 s:"
		sed 's/^/  /' "$TLOG" >&2
		stop_pid "$TPID" 2
		return 1
	fi
	bin=${bin##*/}
	comm=$(cat "/proc/$TPID/comm" 2>/dev/null)
	[ "$comm" = "${bin:0:15}" ] ||
		say "warning: pid $TPID is '$comm', not the $kind process: its CPU figures are not the target's"
}

# slots_up MTU: every target x backing on its own veth pair
slots_up() {
	local kind backing n
	S_KIND=() S_BACK=() S_NS=() S_TIF=() S_IIF=() S_PID=() S_LOG=() S_UP=()
	for kind in "${TARGETS[@]}"; do
		for backing in $BACKINGS; do
			[ "$kind" = vblade ] && [ "$backing" = null ] && continue
			n=${#S_KIND[@]}
			S_KIND[n]=$kind S_BACK[n]=$backing S_UP[n]=0 S_PID[n]='' S_LOG[n]=''
			if ! net_up "$1"; then
				say "network namespace setup failed for $kind/$backing"
				S_NS[n]=$NS S_TIF[n]=$TIF S_IIF[n]=$IIF
				continue
			fi
			S_NS[n]=$NS S_TIF[n]=$TIF S_IIF[n]=$IIF
			if start_target "$kind" "$backing" "$1"; then
				S_PID[n]=$TPID S_LOG[n]=$TLOG S_UP[n]=1
			fi
		done
	done
}
slots_down() {
	local i
	for i in "${!S_KIND[@]}"; do
		if [ -n "${S_PID[i]}" ]; then
			stop_pid "${S_PID[i]}" 10
			if [ "${S_KIND[i]}" = aoexd ] && [ -z "$ENGINE" ]; then
				ENGINE=$(grep -o 'engine [^ ,]*' "${S_LOG[i]}" | head -n 1)
				PATHS=$(grep -o 'rx-ring[^ ]*\|recvmmsg[^ ]*' "${S_LOG[i]}" | head -n 1)
			fi
		fi
		[ -n "${S_NS[i]}" ] && net_down "${S_NS[i]}" "${S_TIF[i]}"
	done
}
# slot_alive I: still serving?  Reports a target that died, once.
slot_alive() {
	[ "${S_UP[$1]}" = 1 ] || return 1
	pid_alive "${S_PID[$1]}" && return 0
	S_UP[$1]=0
	say "${S_KIND[$1]} (${S_BACK[$1]}) died; its log:"
	tail -n 20 "${S_LOG[$1]}" | sed 's/^/  /' >&2
	return 1
}

# ----------------------------------------------------------------- one cell
kv() { sed -n "s/.*[[:space:]]$1=\\([^[:space:]]*\\).*/\\1/p; s/^$1=\\([^[:space:]]*\\).*/\\1/p" <<<"$2" | head -n 1; }

# bench_once OUT ARGS...: one aoex bench run in the background (so signals
# are handled at once); exit status of aoex.  INIT_TICKS: the CPU time aoex
# used (it is the child itself: ip netns exec and taskset exec).
bench_once() {
	local out=$1 p rc t0
	shift
	t0=$(child_ticks)
	"${AOEXC[@]}" -w "$WINDOW" bench "$SHELF.$SLOT" "$@" </dev/null >"$out" 2>&1 &
	p=$!
	track "$p"
	wait "$p"
	rc=$?
	untrack "$p"
	INIT_TICKS=$(($(child_ticks) - t0))
	return "$rc"
}

# seq_bytes MODE: bytes for one sequential run of about RUN_S seconds on the
# current target (from a short warm-up run), or --bytes
seq_bytes() {
	local out=$WORK/run/warm.out r
	if [ -n "$BYTES" ]; then
		echo "$BYTES_B"
		return
	fi
	bench_once "$out" --mode "$1" --bytes "${WARM_MB}M" >/dev/null
	r=$(kv MBps "$(grep '^mode=' "$out")")
	awk -v r="$r" -v s="$RUN_S" -v w="$WARM_MB" 'BEGIN {
		b = (r ~ /^[0-9.]+$/ && r > 0) ? int(r * 1e6 * s / 1048576) : w
		if (b < 4) b = 4
		if (b > 65536) b = 65536
		printf "%.0f\n", b * 1048576
	}'
}

# measure MTU MODE I RUN ARGS...: one measured run on slot I (current);
# appends a line to RUNS and prints progress
measure() {
	local mtu=$1 mode=$2 i=$3 r=$4 out=$WORK/run/bench.out line c0 c1 s0 s1 w0 w1 st=ok
	shift 4
	w0=$EPOCHREALTIME
	s0=$(busy_ticks)
	c0=$(cpu_ticks "$TPID")
	bench_once "$out" "$@"
	c1=$(cpu_ticks "$TPID")
	s1=$(busy_ticks)
	w1=$EPOCHREALTIME
	line=$(grep '^mode=' "$out")
	local label="mtu $mtu $mode ${S_KIND[i]}/${S_BACK[i]}"
	[ "$REPEAT" -gt 1 ] && label+=" run $r/$REPEAT"
	if [ -z "$line" ] || [ -z "$c0" ] || [ -z "$c1" ]; then
		say "$label: failed: $(tail -n 3 "$out" | tr '\n' ' ' | cut -c1-200)"
		printf '%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\tfailed\n' \
			"$mtu" "$mode" "${S_KIND[i]}" "${S_BACK[i]}" "$r" >>"$RUNS"
		return 1
	fi
	awk -v line="$line" -v t="$((c1 - c0))" -v a="$INIT_TICKS" -v o="$((s1 - s0))" -v hz="$HZ" \
		-v w0="$w0" -v w1="$w1" -v pre="$mtu	$mode	${S_KIND[i]}	${S_BACK[i]}	$r" 'BEGIN {
		n = split(line, f, " ")
		for (j = 1; j <= n; j++) { split(f[j], kv, "="); v[kv[1]] = kv[2] }
		secs = v["seconds"]; wall = w1 - w0
		if (secs <= 0) secs = wall
		gib = v["bytes"] / 1073741824
		rest = 100 * (o - t - a) / hz / (wall > 0 ? wall : 1)
		if (rest < 0) rest = 0
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.6g\t%.6g\t%.6g\t%s\n", pre, v["bytes"], secs,
			v["MBps"], v["iops"], v["retransmits"], v["errors"],
			(gib > 0 ? t / hz / gib : "-"), 100 * t / hz / secs, 100 * a / hz / secs, rest,
			(v["bytes"] > 0 ? "ok" : "no-data")
	}' >>"$RUNS"
	progress "[$CELL/$NCELLS] $label: $(tail -n 1 "$RUNS" | awk -F'\t' '{
		printf "%s MB/s, %s IOPS, %.3f CPU s/GiB (target %.0f%%, aoex %.0f%%, rest %.0f%%), retx %s%s",
			$8, $9, $12, $13, $14, $15, $10, ($11 > 0 ? ", errors " $11 : "") }')"
}

# syscalls_per_req MODE: a separate run on the current target with strace
# -c -f attached for STRACE_S seconds; SPR = syscalls / request frames the
# target received meanwhile, or -.  (Not to be called in $(...): it starts
# processes that the cleanup must know about.)
syscalls_per_req() {
	local mode=$1 args p sp r0 r1 calls i f=$WORK/run/strace.out e=$WORK/run/strace.err
	SPR=-
	case $mode in
	seq*) args=(--mode "$mode" --bytes 4000G) ;;
	*) args=(--mode "$mode" --seconds "$(calc "$STRACE_S + 30")") ;;
	esac
	"${AOEXC[@]}" -w "$WINDOW" bench "$SHELF.$SLOT" "${args[@]}" </dev/null >"$WORK/run/strace-aoex.out" 2>&1 &
	p=$!
	track "$p"
	sleep 0.5
	rm -f "$f" "$e"
	timeout -s TERM -k 10 "$STRACE_S" strace -c -f -p "$TPID" -o "$f" 2>"$e" &
	sp=$!
	track "$sp"
	# count from the moment strace has attached
	for ((i = 0; i < 200; i++)); do
		grep -q attached "$e" 2>/dev/null && break
		pid_alive "$sp" || break
		sleep 0.01
	done
	r0=$(rx_frames)
	wait "$sp"
	r1=$(rx_frames)
	untrack "$sp"
	stop_pid "$p" 5
	calls=$(awk '$NF == "total" { print $4 }' "$f" 2>/dev/null)
	if [ -z "$calls" ] || [ -z "$r0" ] || [ -z "$r1" ] || [ "$((r1 - r0))" -le 0 ]; then
		say "strace: no count (calls='$calls' frames $r0..$r1): $(tr '\n' ' ' <"$e" | cut -c1-200)"
		return
	fi
	SPR=$(calc "$calls / ($r1 - $r0)")
}

# summarize MTU MODE I SPR: medians of the runs of one cell -> a B line
summarize() {
	awk -F'\t' -v m="$1" -v md="$2" -v t="${S_KIND[$3]}" -v b="${S_BACK[$3]}" -v spr="$4" '
	function isn(x) { return x ~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
	function med(c,   n, a, i, j, x) {
		n = 0
		for (i = 1; i <= nr; i++) if (isn(R[i, c])) a[++n] = R[i, c] + 0
		if (!n) return "-"
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$1 == m && $2 == md && $3 == t && $4 == b {
		total++
		if ($16 != "ok") { bad++; next }
		nr++
		for (c = 8; c <= 15; c++) R[nr, c] = $c
		retx += $10; errs += $11
	}
	END {
		st = (total == 0) ? "not-run" : (nr == 0 ? "failed" : (bad ? bad "/" total " runs failed" : "ok"))
		printf "B\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m, md, t, b,
			med(8), med(9), med(12), med(13), med(14), med(15), spr,
			(nr ? retx : "-"), (nr ? errs : "-"), st
	}' "$RUNS" >>"$RESULTS"
}

# ------------------------------------------------------------------- header
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta machine "$(uname -r), $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
if [ "$ONLY" != vblade ]; then
	meta aoexd "$AOEXD${AOEXD_ARGS:+ $AOEXD_ARGS} ($("$AOEXD" --version 2>/dev/null | head -n 1), binary of $(date -u -r "$AOEXD" '+%Y-%m-%d %H:%M UTC'); source tree at $(git -C "$TOP_SRCDIR" describe --always --dirty 2>/dev/null || echo '?'))"
else
	meta aoexd "not measured"
fi
meta vblade "$([ "$ONLY" != aoexd ] && echo "$VBLADE ($(dpkg-query -W -f '${Version}' vblade 2>/dev/null || echo '?'))" || echo "not measured")"
meta settings "aoex -w $WINDOW, targets -b $BUFCNT, runs of ${BYTES:+$BYTES (seq) / }${RUN_S} s, median of $REPEAT, strace $([ "$STRACE" = 1 ] && echo "${STRACE_S} s" || echo off), $([ "$PIN" = 1 ] && echo "pinned: target CPU 0, initiator CPU 1" || echo "not pinned")$([ "$QUICK" = 1 ] && echo ", --quick")"
bk=''
for b in $BACKINGS; do
	case $b in
	tmpfs) bk+="${bk:+; }tmpfs: ${SIZE_MB} MiB file per target on a private tmpfs" ;;
	disk) bk+="${bk:+; }disk: ${SIZE_MB} MiB file per target on $DISK_NOTE" ;;
	null) bk+="${bk:+; }null: null:4G (aoexd only)" ;;
	esac
done
meta backings "$bk"
meta "load before" "$(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other jobs on the machine skew every figure)"
if zcat /proc/config.gz 2>/dev/null | grep -q '^# CONFIG_IRQ_TIME_ACCOUNTING is not set' ||
	grep -qs '^# CONFIG_IRQ_TIME_ACCOUNTING is not set' "/boot/config-$(uname -r)"; then
	meta "accounting" "kernel without CONFIG_IRQ_TIME_ACCOUNTING: softirq work (veth delivery) is charged to whichever task it interrupts"
fi

NSLOTS=0
for kind in "${TARGETS[@]}"; do for backing in $BACKINGS; do
	[ "$kind" = vblade ] && [ "$backing" = null ] && continue
	NSLOTS=$((NSLOTS + 1))
done; done
NMODES=$(wc -w <<<"$MODES")
NCELLS=$(($(wc -w <<<"$MTUS") * NSLOTS * NMODES))
est=$(awk -v c="$NCELLS" -v r="$REPEAT" -v s="$RUN_S" -v st="$([ "$STRACE" = 1 ] && echo "$STRACE_S" || echo -1)" \
	-v k="$([ "$KERNEL" = 1 ] && [ -z "$KI_SKIP" ] && echo $(($(wc -w <<<"$MTUS") * ${#TARGETS[@]})) || echo 0)" \
	-v kmb="$KI_MB" 'BEGIN { printf "%.0f", (c * (r * (s + 0.7) + st + 1.7) + k * r * (10 + kmb * 0.15)) / 60 + 0.5 }')
progress "$NCELLS cells (${MTUS// /+} x ${TARGETS[*]} x $BACKINGS x $MODES); about $est min${KI_SKIP:+; kernel section skipped}"

# ------------------------------------------------------- bundled initiator
ENGINE='' PATHS=''
CELL=0
for mtu in $MTUS; do
	progress "mtu $mtu: starting $NSLOTS targets"
	slots_up "$mtu"
	for mode in $MODES; do
		declare -A ARGS_OF=()
		c0=$CELL
		for i in "${!S_KIND[@]}"; do
			slot_alive "$i" || continue
			use_slot "$i"
			case $mode in
			seq*) ARGS_OF[$i]="--mode $mode --bytes $(seq_bytes "$mode")" ;;
			*) ARGS_OF[$i]="--mode $mode --seconds $RUN_S" ;;
			esac
		done
		for ((r = 1; r <= REPEAT; r++)); do
			CELL=$c0
			for i in "${!S_KIND[@]}"; do
				CELL=$((CELL + 1))
				slot_alive "$i" || continue
				use_slot "$i"
				read -ra a <<<"${ARGS_OF[$i]}"
				measure "$mtu" "$mode" "$i" "$r" "${a[@]}"
			done
		done
		CELL=$((c0 + ${#S_KIND[@]}))
		for i in "${!S_KIND[@]}"; do
			SPR=-
			if [ "$STRACE" = 1 ] && slot_alive "$i"; then
				use_slot "$i"
				syscalls_per_req "$mode"
				progress "mtu $mtu $mode ${S_KIND[i]}/${S_BACK[i]}: $(fmt 2 "$SPR") syscalls per request (strace -c -f, ${STRACE_S} s)"
			fi
			summarize "$mtu" "$mode" "$i" "$SPR"
		done
		unset ARGS_OF
	done
	slots_down
done
[ -n "$ENGINE" ] && meta "aoexd mode" "$ENGINE${PATHS:+, $PATHS}"

# -------------------------------------------------------- kernel initiator
if [ "$KERNEL" = 1 ] && [ -z "$KI_SKIP" ]; then
	KI_CACHE=${KI_CACHE_DIR:-/tmp/aoexd-ki-cache}
	progress "kernel initiator: preparing the guest initramfs ($KI_CACHE)"
	if ! bash "$KI_SCRIPT" --prepare --cache "$KI_CACHE" >"$WORK/log/ki-prepare.log" 2>&1; then
		KI_SKIP="the guest initramfs could not be built (see below)"
		say "kernel-initiator section skipped: $KI_SKIP"
		tail -n 15 "$WORK/log/ki-prepare.log" | sed 's/^/  /' >&2
	fi
fi
# kiv KEY: value of "KI KEY=..." in $out
kiv() { sed -n "s/^KI $1=//p" "$out" | tail -n 1; }
if [ "$KERNEL" = 1 ] && [ -z "$KI_SKIP" ]; then
	KI_TIMEOUT=$((120 + KI_MB * 2))
	meta kernel "qemu TCG 1 vCPU, $(basename "$(ls /boot/vmlinuz-* | sort -V | tail -1)"), dd ${KI_MB} MiB bs=1M O_DIRECT (write, read, verify read), image on tmpfs, targets -b $BUFCNT"
	kn=0
	ktotal=$(($(wc -w <<<"$MTUS") * ${#TARGETS[@]} * REPEAT))
	for mtu in $MTUS; do
		# aoexd and vblade alternate, run after run, like the bench cells
		declare -A KW=() KR=() KC=() KS=()
		for ((r = 1; r <= REPEAT; r++)); do
			for kind in "${TARGETS[@]}"; do
				kn=$((kn + 1))
				img=$MNT/ki.img
				rm -f "$img"
				tcmd=()
				[ "$PIN" = 1 ] && tcmd=(taskset -c 0)
				case $kind in
				aoexd) tcmd+=("$AOEXD" "${AOEXD_XARGS[@]}" -b "$BUFCNT") ;;
				vblade) tcmd+=("$VBLADE" -b "$BUFCNT") ;;
				esac
				# shellcheck disable=SC2016  # the harness substitutes these
				tcmd+=("$SHELF" "$SLOT" '$IFACE' '$IMAGE')
				hcmd=()
				[ "$PIN" = 1 ] && hcmd=(taskset -c 1)
				hcmd+=(bash "$KI_SCRIPT" --cache "$KI_CACHE" --timeout "$KI_TIMEOUT" --mtu "$mtu"
					--shelf "$SHELF" --slot "$SLOT" --image "$img" --size-mb "$KI_MB" --pattern-mb "$KI_MB")
				out=$WORK/log/ki-$kind-mtu$mtu-$r.out
				"${hcmd[@]}" -- "${tcmd[@]}" </dev/null >"$out" 2>"$WORK/log/ki-$kind-mtu$mtu-$r.err" &
				p=$!
				track "$p"
				wait "$p"
				untrack "$p"
				rm -f "$img"
				label="[kernel $kn/$ktotal] mtu $mtu $kind$([ "$REPEAT" -gt 1 ] && echo " run $r/$REPEAT")"
				if [ "$(kiv result)" != pass ]; then
					reason=$(sed -n 's/^KI result=fail reason=//p' "$out" | tail -n 1)
					KS[$kind]+="${reason:-no_result} "
					say "$label: failed (${reason:-no result line}); harness stderr:"
					tail -n 12 "$WORK/log/ki-$kind-mtu$mtu-$r.err" | sed 's/^/  /' >&2
					continue
				fi
				KW[$kind]+="$(kiv write_mbps) "
				KR[$kind]+="$(kiv read_mbps) "
				c=$(kiv target_cpu_ms)
				[ -n "$c" ] && KC[$kind]+="$(calc "$c / (3 * $KI_MB)") "
				progress "$label: write $(kiv write_mbps) MiB/s, read $(kiv read_mbps) MiB/s, CPU $(fmt 2 "$(calc "${c:-0} / (3 * $KI_MB)")") ms/MiB"
			done
		done
		for kind in "${TARGETS[@]}"; do
			read -ra w <<<"${KW[$kind]:-}"; read -ra rd <<<"${KR[$kind]:-}"; read -ra cpu <<<"${KC[$kind]:-}"
			kstatus=ok
			if [ -n "${KS[$kind]:-}" ]; then
				kstatus="failed: ${KS[$kind]% }"
				[ "${#w[@]}" -gt 0 ] && kstatus="${#w[@]}/$REPEAT ok; $kstatus"
			fi
			printf 'K\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mtu" "$kind" "$(median "${w[@]}")" \
				"$(median "${rd[@]}")" "$(median "${cpu[@]}")" "$kstatus" >>"$RESULTS"
		done
		unset KW KR KC KS
	done
elif [ "$KERNEL" = 1 ]; then
	meta kernel "skipped: $KI_SKIP"
else
	meta kernel "skipped (--no-kernel)"
fi

meta "total time" "$(elapsed) (mm:ss)"

# ------------------------------------------------------------------- report
awk -v fmt=text -f "$REPORT_AWK" "$RESULTS"
if [ -n "$MARKDOWN" ]; then
	awk -v fmt=md -f "$REPORT_AWK" "$RESULTS" >"$MARKDOWN" && progress "Markdown report in $MARKDOWN"
fi
[ "$KEEP" = 1 ] && cp "$RESULTS" "$RUNS" "$WORK/log/" 2>/dev/null
exit 0
