#!/bin/bash
# tests/bench/nas.sh - AoE targets on an emulated ARM NAS, driven from the host.
#
#   bash tests/bench/nas.sh [options]        (as root; see tests/bench/README)
#
# Boots Debian's armmp kernel under qemu-system-arm (TCG, 1 vCPU, 256 MiB,
# -M virt -cpu cortex-a15) with a virtio-blk disk larger than its RAM (a
# sparse file on the host, 1 GiB by default) and a virtio-net NIC on a tap
# in a private network namespace (bridge + tap + veth; nothing leaves it).
# Inside the guest the targets run one at a time on that disk and NIC:
#   NAME        each aoexd build given (--aoexd; default the static armel
#               cross/out/armel/aoexd) serving /dev/vda (its defaults: O_DIRECT)
#   NAME-null   the same build serving null:SIZE
#   vblade      Debian's vblade 25 source, built static for armel with the
#               cross/ musl toolchain, serving /dev/vda (its defaults)
#   floor       tests/tools/floor.c (answers from a RAM buffer): the bound
# The host drives each with `aoex -w WINDOW bench` (seqread, seqwrite,
# randread, randwrite 4 KiB) at each MTU.  Per cell: MB/s and IOPS; the
# target's CPU per frame in the guest, user and system (utime/stime of its
# /proc/PID/stat) and the guest's softirq time (/proc/stat), and all the
# guest's busy time; frames from the guest eth0's rx counter; voluntary
# context switches (wakeups) per frame; syscalls per frame from a separate
# short run with strace -c -f in the guest (Debian's strace:armhf and its
# libc).  Then the ratios aoexd/vblade and aoexd/floor (and each further
# aoexd build against the first).  A benchmark: exit 0 whatever the figures.
#
# Time: about 40 s to build and boot (the first run also fetches packages),
# then about (seconds + 6) s per cell with strace, (seconds + 3) without;
# the default 2 MTUs x 4 modes x 4 targets at 5 s: about 6-7 minutes.
export LC_ALL=C
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=cross/lib.sh
. "$TOP/cross/lib.sh"
# shellcheck source=cross/vmlib.sh
. "$TOP/cross/vmlib.sh"

usage() {
	sed -n '2,/^export LC_ALL/p' "$0" | sed -e '/^export/d' -e 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --aoexd 'NAME=PATH [ARGS...]'  an aoexd build (static, ARM) and its extra
                      arguments; repeat to compare builds side by side
                      (default: aoexd=cross/out/armel/aoexd, built with
                      cross/build-all armel when missing)
  --targets "LIST"    which targets, by name (default: every aoexd NAME and
                      NAME-null, vblade, floor)
  --modes "LIST"      subset of "seqread seqwrite randread randwrite"
  --mtu "LIST"        MTUs (default "1500 9000")
  --seconds S         per cell: random modes run S s, sequential ones move
                      about S s worth (sized by a 2 MiB warm-up) (default 5)
  --window N          aoex -w (default 16: vblade's buffer count; a window
                      above a target's buffer count loses frames there)
  --vblade-args "..." extra vblade arguments (e.g. "-d" for O_DIRECT)
  --floor-args "..."  extra floor arguments (default "-b 64")
  --disk-mb N         size of the guest disk (default 1024; RAM is 256)
  --null-size SIZE    size for NAME-null (default the disk's)
  --mem MB            guest RAM (default 256)
  --no-strace         no syscall counts (saves ~3 s a cell)
  --strace-seconds S  strace window (default 2)
  --aoex PATH         host initiator (default $AOEX, else the tree's aoex,
                      else cross/out/x86_64/aoex)
  --keep              keep the work dir (guest console, raw figures)
  -h, --help          this text
EOF
}

say() { printf 'nas: %s\n' "$*" >&2; }
die() { printf 'nas: error: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------ options
AOEXDS=() TARGETS='' MODES="seqread seqwrite randread randwrite" MTUS="1500 9000"
SECS=5 WINDOW=16 VBLADE_ARGS='' FLOOR_ARGS='-b 64' DISK_MB=1024 NULL_SIZE='' MEM=256
STRACE=1 STRACE_S=2 AOEX=${AOEX:-} KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--aoexd) AOEXDS+=("$2"); shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--modes) MODES=$2; shift 2 ;;
	--mtu) MTUS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--window) WINDOW=$2; shift 2 ;;
	--vblade-args) VBLADE_ARGS=$2; shift 2 ;;
	--floor-args) FLOOR_ARGS=$2; shift 2 ;;
	--disk-mb) DISK_MB=$2; shift 2 ;;
	--null-size) NULL_SIZE=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--no-strace) STRACE=0; shift ;;
	--strace-seconds) STRACE_S=$2; shift 2 ;;
	--aoex) AOEX=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done
for m in $MODES; do case $m in seqread | seqwrite | randread | randwrite) ;; *) die "unknown mode $m" ;; esac; done
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--seconds needs a number"
[[ $WINDOW =~ ^[0-9]+$ ]] || die "--window needs a number"
[[ $DISK_MB =~ ^[0-9]+$ ]] || die "--disk-mb needs a number"
: "${NULL_SIZE:=${DISK_MB}M}"
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tap)"
T0=$(date +%s.%N)

# ------------------------------------------------------------ binaries
B=$CROSS_CACHE/bench
mkdir -p "$B"
if [ ${#AOEXDS[@]} = 0 ]; then
	if [ ! -x "$TOP/cross/out/armel/aoexd" ]; then
		say "no cross/out/armel/aoexd: cross/build-all armel"
		"$TOP/cross/build-all" armel >&2 || die "cross/build-all armel failed"
	fi
	AOEXDS=("aoexd=$TOP/cross/out/armel/aoexd")
fi
declare -A APATH AARGS
ANAMES=()
for a in "${AOEXDS[@]}"; do
	n=${a%%=*} rest=${a#*=}
	read -r p args <<<"$rest"
	{ [[ $n =~ ^[A-Za-z0-9_.+-]+$ ]] && [ "$n" != "$a" ]; } || die "--aoexd wants NAME=PATH [ARGS], got '$a'"
	[ -x "$p" ] || die "aoexd build $n: $p is not executable"
	file -L "$p" | grep -q 'ARM.*statically linked' || die "$p is not a static ARM binary"
	APATH[$n]=$p AARGS[$n]=${args:-}
	ANAMES+=("$n")
done
if [ -z "$AOEX" ]; then
	for c in "$TOP/aoex" "$TOP/build/aoex" "$TOP/cross/out/x86_64/aoex"; do
		[ -x "$c" ] && { AOEX=$c; break; }
	done
fi
{ [ -n "$AOEX" ] && [ -x "$AOEX" ]; } || die "no host aoex (--aoex PATH, or build the tree)"

# packages: the cross compiler (floor, vblade), qemu, the armhf kernel
need=()
command -v arm-linux-musleabi-gcc >/dev/null || need+=(gcc-arm-linux-gnueabi musl-dev:armel linux-libc-dev-armel-cross)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v cpio >/dev/null || need+=(cpio)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
newarch=0
for a in armel armhf; do
	dpkg --print-foreign-architectures | grep -qx $a || { dpkg --add-architecture $a; newarch=1; }
done
if [ ${#need[@]} -gt 0 ] || [ $newarch = 1 ]; then
	apt_update >&2
	[ ${#need[@]} = 0 ] || apt_install "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
fi
KH=$CROSS_CACHE/armel/sysroot/include	# kernel uapi headers for musl (cross/sysroot.sh)
if [ ! -d "$KH/linux" ]; then
	KH=$B/kh
	mkdir -p "$KH"
	for d in linux asm asm-generic; do ln -sfn "/usr/arm-linux-gnueabi/include/$d" "$KH/$d"; done
fi
ACC=(arm-linux-musleabi-gcc -O2 -static -isystem "$KH")

# floor: built every run (it is small)
"${ACC[@]}" -o "$B/floor" "$TOP/tests/tools/floor.c" || die "floor: armel build failed"
# vblade: Debian's source (apt-get source, patches applied), static armel
if [ ! -x "$B/vblade" ]; then
	say "building vblade for armel from Debian's source"
	if ! ls "$B"/src/vblade-*/aoe.c >/dev/null 2>&1; then
		grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ || add_deb_src_stanza=1
		if [ "${add_deb_src_stanza:-0}" = 1 ]; then
			printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				>/etc/apt/sources.list.d/debian-src.sources
			apt_update >&2
		fi
		rm -rf "$B/src"; mkdir -p "$B/src"
		(cd "$B/src" && apt-get source vblade) >&2 || die "apt-get source vblade failed"
	fi
	vs=$(find "$B/src" -maxdepth 1 -type d -name 'vblade-*' | head -n 1)
	make -C "$vs" clean >/dev/null 2>&1
	make -C "$vs" CC=arm-linux-musleabi-gcc CFLAGS="-O2 -isystem $KH" LDFLAGS=-static vblade >&2 ||
		die "vblade: armel build failed"
	cp "$vs/vblade" "$B/vblade"
fi
# strace:armhf and its libc, for the syscall counts (dynamic: they go into
# the initramfs with the loader)
if [ "$STRACE" = 1 ] && [ ! -x "$B/strace/usr/bin/strace" ]; then
	rm -rf "$B/strace" "$B/debs"; mkdir -p "$B/debs"
	if (cd "$B/debs" && apt-get download strace:armhf libc6:armhf) >&2; then
		for d in "$B"/debs/*.deb; do dpkg-deb -x "$d" "$B/strace"; done
	else
		say "strace:armhf could not be fetched: no syscall counts"
		STRACE=0
	fi
	rm -rf "$B/debs"
fi
vm_kernel armhf

# ------------------------------------------------------------ work dir, cleanup
W=$(mktemp -d /tmp/nas-bench.XXXXXX)
NS=nas-$$
QPID='' NS_MADE=0
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	trap - EXIT INT TERM
	exec 7>&- 8<&- 2>/dev/null
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID"; sleep 0.5; kill -9 "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
	fi
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null
	[ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
	if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

# ------------------------------------------------------------ initramfs
R=$W/root
mkdir -p "$R"/{bin,proc,sys,dev,tmp,t,run,lib/modules}
cp "$BUSYBOX" "$R/bin/"
MODS="virtio_mmio failover net_failover virtio_net virtio_blk virtio_console"
: >"$R/lib/modules/order"
for m in $MODS; do
	f=$(find "$MODDIR" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || die "module $m not in the kernel package"
	case $f in *.xz) xz -dc "$f" ;; *.zst) zstd -qdc "$f" ;; *) cat "$f" ;; esac >"$R/lib/modules/$m.ko"
	echo "$m" >>"$R/lib/modules/order"
done
for n in "${ANAMES[@]}"; do cp "${APATH[$n]}" "$R/t/aoexd-$n"; done
cp "$B/vblade" "$B/floor" "$R/t/"
if [ "$STRACE" = 1 ]; then
	mkdir -p "$R/usr/bin"
	cp "$B/strace/usr/bin/strace" "$R/usr/bin/"
	cp -a "$B/strace/lib" "$R/"
	[ -d "$B/strace/usr/lib/arm-linux-gnueabihf" ] && mkdir -p "$R/usr/lib" && cp -a "$B/strace/usr/lib/arm-linux-gnueabihf" "$R/usr/lib/"
fi
{ echo '#!/bin/busybox sh'; cat "$HERE/nas-guest"; } >"$R/init"
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$W/initrd.gz") || die "cpio failed"
rm -rf "$R"

# ------------------------------------------------------------ disk, network, qemu
DISK=$W/disk.img
truncate -s "${DISK_MB}M" "$DISK"
ip netns add "$NS" || die "ip netns add failed"
NS_MADE=1
nsx() { ip netns exec "$NS" "$@"; }
{
	nsx ip link set lo up &&
	nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	nsx ip link add nasbr0 type bridge stp_state 0 forward_delay 0 &&
	nsx ip tuntap add dev nastap0 mode tap &&
	nsx ip link add nasv0 type veth peer name nasi0 &&
	nsx ip link set nasi0 address 02:00:00:00:0b:02 &&
	nsx ip link set nastap0 master nasbr0 && nsx ip link set nasv0 master nasbr0 &&
	nsx ip link set nastap0 up && nsx ip link set nasv0 up && nsx ip link set nasi0 up && nsx ip link set nasbr0 up
} || die "network namespace setup failed"
set_mtu() {
	local l
	for l in nastap0 nasv0 nasi0 nasbr0; do nsx ip link set "$l" mtu "$1" || return 1; done
}

mkfifo "$W/ctl.in" "$W/ctl.out"
# virtio-mmio devices (-M virt): the disk, the NIC (host_mtu lets the guest
# go up to 9000) and a virtio serial port for the commands.  -nic none: no
# default NIC (its boot ROM may be missing).
nsx "$QEMU" "${MACH[@]}" -smp 1 -m "$MEM" -nographic -no-reboot -nic none \
	-kernel "$VMLINUZ" -initrd "$W/initrd.gz" \
	-append "console=$CONSOLE rdinit=/init quiet panic=-1" \
	-drive "if=none,id=d0,file=$DISK,format=raw,cache=writeback" -device virtio-blk-device,drive=d0 \
	-netdev tap,id=n0,ifname=nastap0,script=no,downscript=no \
	-device virtio-net-device,netdev=n0,host_mtu=9000,mac=02:00:00:00:0b:01 \
	-device virtio-serial-device -chardev "pipe,id=ctl,path=$W/ctl" -device virtserialport,chardev=ctl,name=ctl \
	</dev/null >"$W/console.log" 2>&1 &
QPID=$!
exec 7<>"$W/ctl.in" 8<>"$W/ctl.out"

# gcmd CMD: run CMD in the guest shell; its output in GOUT, its status returned
GOUT=''
gcmd() {
	local l rc=255
	GOUT=''
	printf '%s\n' "$1" >&7
	while IFS= read -r -t "${2:-120}" l <&8; do
		case $l in
		"### END "*) rc=${l#\#\#\# END }; break ;;
		*) GOUT+="$l"$'\n' ;;
		esac
	done
	[ "$rc" = 255 ] && say "guest did not answer '$1'"
	return "$rc"
}
say "booting the NAS guest (armmp, TCG, 1 vCPU, ${MEM} MiB, ${DISK_MB} MiB disk)"
while IFS= read -r -t 180 l <&8; do [ "$l" = "### READY" ] && break; done
[ "${l:-}" = "### READY" ] || { tail -n 30 "$W/console.log" >&2; die "the guest did not come up"; }
GUEST=$(grep -a '### NAS:' "$W/console.log" | tr -d '\r' | sed 's/.*### NAS: //')
say "guest up after $(elapsed "$T0") s: $GUEST"

# ------------------------------------------------------------ targets
TL=()
declare -A TCMD
for n in "${ANAMES[@]}"; do
	TL+=("$n" "$n-null")
	TCMD[$n]="/t/aoexd-$n ${AARGS[$n]} 1 2 eth0 /dev/vda"
	TCMD[$n-null]="/t/aoexd-$n ${AARGS[$n]} 1 2 eth0 null:$NULL_SIZE"
done
TL+=(vblade floor)
TCMD[vblade]="/t/vblade $VBLADE_ARGS 1 2 eth0 /dev/vda"
TCMD[floor]="/t/floor $FLOOR_ARGS 1 2 eth0 ${DISK_MB}M"
TCMD[floor-s]="/t/floor -s $FLOOR_ARGS 1 2 eth0 ${DISK_MB}M"	# on request: --targets
if [ -n "$TARGETS" ]; then
	sel=()
	for t in $TARGETS; do
		[ -n "${TCMD[$t]:-}" ] || die "unknown target $t (known: ${TL[*]})"
		sel+=("$t")
	done
	TL=("${sel[@]}")
fi

AX=(ip netns exec "$NS" "$AOEX" -i nasi0)
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -n 1; }
RES=$W/results.tsv
: >"$RES"

# cell MTU MODE TARGET: one measured run, a line in $RES
cell() {
	local mtu=$1 mode=$2 t=$3 args s0 s1 out bytes r spc='-' stop_list
	case $mode in
	seq*)
		"${AX[@]}" -w "$WINDOW" bench 1.2 --mode "$mode" --bytes 2M >"$W/warm.out" 2>&1
		r=$(kv MBps "$(cat "$W/warm.out")")
		bytes=$(awk -v r="${r:-1}" -v s="$SECS" 'BEGIN { b = int(r * s + 0.5); if (b < 4) b = 4; print b "M" }')
		args=(--mode "$mode" --bytes "$bytes") ;;
	*) args=(--mode "$mode" --seconds "$SECS") ;;
	esac
	gcmd snap; s0=$(grep '^snap' <<<"$GOUT")
	out=$("${AX[@]}" -w "$WINDOW" bench 1.2 "${args[@]}" 2>&1 | grep '^mode=')
	gcmd snap; s1=$(grep '^snap' <<<"$GOUT")
	if [ "$STRACE" = 1 ]; then
		case $mode in
		seq*) stop_list=(--mode "$mode" --bytes 4000G) ;;
		*) stop_list=(--mode "$mode" --seconds 600) ;;
		esac
		"${AX[@]}" -w "$WINDOW" bench 1.2 "${stop_list[@]}" >/dev/null 2>&1 &
		BPID=$!
		sleep 0.5
		gcmd "strace_count $STRACE_S" 60
		kill "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null; BPID=''
		spc=$(awk '/^strace calls=/ { split($2, c, "="); split($3, f, "="); if (f[2] > 0 && c[2] > 0) printf "%.2f", c[2] / f[2]; else print "-" }' <<<"$GOUT")
		grep '^strace top' <<<"$GOUT" | sed "s/^/$mtu $mode $t: /" >>"$W/strace-top.txt"
	fi
	awk -v mtu="$mtu" -v mode="$mode" -v t="$t" -v out="$out" -v s0="$s0" -v s1="$s1" -v spc="${spc:--}" '
	function parse(line, a,   n, f, i, kv) { n = split(line, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); a[kv[1]] = kv[2] } }
	BEGIN {
		parse(out, o); parse(s0, p); parse(s1, q)
		split(p["cpu"], c0, ","); split(q["cpu"], c1, ",")
		fr = q["rx"] - p["rx"]
		if (out == "" || fr <= 0) { printf "%s\t%s\t%s\tfailed\n", mtu, mode, t; exit }
		us = 10000	# USER_HZ ticks -> us
		busy = 0; for (i = 1; i <= 8; i++) if (i != 4 && i != 5) busy += c1[i] - c0[i]
		printf "%s\t%s\t%s\tok\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%s\t%s\t%s\n", mtu, mode, t, o["MBps"], o["iops"],
			(q["utime"] - p["utime"]) * us / fr, (q["stime"] - p["stime"]) * us / fr,
			(c1[7] - c0[7]) * us / fr, busy * us / fr, (q["vcs"] - p["vcs"]) / fr, spc, o["retransmits"], fr
	}' >>"$RES"
	tail -n 1 "$RES" | awk -F'\t' '{ if ($4 != "ok") print "nas: " $1 " " $2 " " $3 ": failed"; else
		printf "nas: %s %s %s: %s MB/s, %s IOPS, %s+%s us/frame user+sys, softirq %s, guest busy %s, %s wakeups/frame, %s syscalls/frame\n",
		$1, $2, $3, $5, $6, $7, $8, $9, $10, $11, $12 }' >&2
}

for mtu in $MTUS; do
	set_mtu "$mtu" || die "cannot set MTU $mtu"
	gcmd "ip link set eth0 mtu $mtu" || die "guest: MTU $mtu: $GOUT"
	for t in "${TL[@]}"; do
		if ! gcmd "start $t ${TCMD[$t]}"; then
			say "$t did not start: $GOUT"
			for mode in $MODES; do printf '%s\t%s\t%s\tfailed\n' "$mtu" "$mode" "$t" >>"$RES"; done
			continue
		fi
		up=0
		for _ in $(seq 150); do
			"${AX[@]}" -t 200 -r 0 config 1.2 read >/dev/null 2>&1 && { up=1; break; }
			sleep 0.2
		done
		if [ $up = 1 ]; then
			for mode in $MODES; do cell "$mtu" "$mode" "$t"; done
		else
			say "$t does not answer"
			for mode in $MODES; do printf '%s\t%s\t%s\tfailed\n' "$mtu" "$mode" "$t" >>"$RES"; done
		fi
		gcmd stop 30
		printf '%s\n' "$GOUT" | sed "s/^/[$t mtu $mtu] /" >>"$W/targets.log"
	done
done
gcmd "poweroff -f" 5 >/dev/null 2>&1

# ------------------------------------------------------------ report
AOEXD_COMMIT=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')
echo "# nas.sh: emulated ARM NAS, $(date -u '+%Y-%m-%d %H:%M UTC'), source tree $AOEXD_COMMIT"
echo "# guest: $GUEST; qemu-system-arm TCG -M virt cortex-a15, 1 vCPU; host $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# initiator: host aoex -w $WINDOW bench ($AOEX); cells of ${SECS} s; strace $([ "$STRACE" = 1 ] && echo "${STRACE_S} s, separate run" || echo off)"
for t in "${TL[@]}"; do echo "# $t: ${TCMD[$t]}"; done
echo "# us/frame: target utime, stime (USER_HZ ticks), guest softirq (/proc/stat; the kernel has no"
echo "#   IRQ_TIME_ACCOUNTING, so softirq ticks that hit the target are in its stime too), guest busy = all"
echo "#   non-idle guest CPU (flusher, kworkers too); per frame the guest eth0 received; wake = voluntary"
echo "#   context switches of the target per frame; sysc = syscalls per frame under strace -c -f"
echo
printf '| MTU | mode | target | MB/s | IOPS | user | sys | softirq | busy | wake | sysc | retx |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
awk -F'\t' '$4 == "ok" { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $5, $6, $7, $8, $9, $10, $11, $12, $13 }
	$4 != "ok" { printf "| %s | %s | %s | %s | | | | | | | | |\n", $1, $2, $3, "failed" }' "$RES"
# ratios: NAME and NAME-null against vblade and floor; later builds against the first
ratio_table() {	# ratio_table A B: MB/s and busy us/frame of A over B, per cell
	awk -F'\t' -v a="$1" -v b="$2" '
	$4 == "ok" { k = $1 SUBSEP $2; mb[$3, k] = $5; cpu[$3, k] = $10; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, f, SUBSEP)
			if (!((a, k) in mb) || !((b, k) in mb)) continue
			printf "| %s | %s | %s | %s |\n", f[1], f[2],
				(mb[b, k] > 0 ? sprintf("%.2f", mb[a, k] / mb[b, k]) : "-"),
				(cpu[b, k] > 0 ? sprintf("%.2f", cpu[a, k] / cpu[b, k]) : "-")
		}
	}' "$RES"
}
print_ratio() {
	local rows
	rows=$(ratio_table "$1" "$2")
	[ -n "$rows" ] || return 0
	printf '\n%s / %s\n\n| MTU | mode | MB/s ratio | busy us/frame ratio |\n|---|---|---|---|\n%s\n' "$1" "$2" "$rows"
}
for n in "${ANAMES[@]}"; do
	for v in "$n" "$n-null"; do
		print_ratio "$v" vblade
		print_ratio "$v" floor
	done
done
for n in "${ANAMES[@]:1}"; do
	print_ratio "$n" "${ANAMES[0]}"
	print_ratio "$n-null" "${ANAMES[0]}-null"
done
if [ -s "$W/strace-top.txt" ]; then
	printf '\nbusiest syscalls under strace (calls in the window):\n'
	sed 's/strace top //' "$W/strace-top.txt" | awk '{ k = $1 " " $2 " " $3; l[k] = l[k] " " $4 } END { for (k in l) print "  " k l[k] }' | sort -n
fi
echo
echo "# total time $(elapsed "$T0") s"
exit 0
