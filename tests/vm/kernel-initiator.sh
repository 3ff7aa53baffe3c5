#!/bin/bash
# kernel-initiator.sh - run an AoE target against the Linux kernel's `aoe`
# initiator, booted under qemu (TCG), and check that it really works.
#
#   kernel-initiator.sh [options] -- TARGET_CMD...
#
# Layout (all inside a private network namespace created for this run, so no
# frame ever leaves it):
#
#   qemu guest eth0 (virtio-net) == kitap0 (tap) --+
#                                                   kibr0 (bridge)
#                       kiveth0 (veth) ------------+
#                          |
#                       ktID (veth peer)  <-- TARGET_CMD binds here ($IFACE)
#
# TARGET_CMD runs inside the namespace.  In its arguments the literal strings
# $IFACE / ${IFACE} are replaced by the target-side interface name and
# $IMAGE / ${IMAGE} by the --image path (quote them so your shell leaves them
# alone); IFACE and IMAGE are also exported into its environment.  Example:
#
#   kernel-initiator.sh --image /tmp/img --fs -- vblade 1 2 '$IFACE' '$IMAGE'
#
# The guest writes a random pattern (made here) to the device with O_DIRECT,
# reads it back (timed, then md5-checked), and with --fs runs mkfs.ext4,
# mount, file writes, remount-and-verify and e2fsck -fn.  The host compares
# the backing file with the pattern byte for byte.
#
# Output: "KI key=value" lines on stdout (see README), the last one being
# "KI result=pass" or "KI result=fail reason=...".  Diagnostics on stderr.
# Exit: 0 all passed, 1 a check failed, 2 usage or environment problem.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2
	cat >&2 <<'EOF'
Options:
  --mtu N             MTU on every hop (default 1500; 9000 for jumbo frames)
  --shelf S --slot L  AoE address the guest waits for (default 1 2)
  --image PATH        backing file the target serves; enables the host-side
                      cmp.  Created sparse with --size-mb if it does not exist.
  --size-mb N         size of a created image / of the device when there is no
                      --image (default 64)
  --pattern-mb N      pattern size in MiB (default 16)
  --fs                also mkfs.ext4 + mount + files + e2fsck.  The file system
                      takes [0, size-pattern) and the pattern goes at the end.
  --keep              keep the work dir (console.log, target.log, results.log)
  --cache DIR         where the base initramfs is cached (default
                      $KI_CACHE_DIR or /tmp/aoexd-ki-cache)
  --timeout S         whole-run limit in seconds (default 170)
  --deadsecs N        guest aoe_deadsecs (default 30)
  --maxout N          guest aoe_maxout (default: driver default, 64)
  --discover-timeout S  how long the guest waits for the target (default 30)
  --mem MB            guest memory (default 512)
  --kernel PATH       kernel image (default newest /boot/vmlinuz-*)
  --faults "PROG ARGS"  put a faulty wire between the bridge and the target:
                      PROG -a TARGET_SIDE -b GUEST_SIDE ARGS (tests/tools/
                      faultbridge); its counters come out as KI faults lines,
                      and the guest's I/O errors must then be 0
  --restarts "SIG..."  guest scenario "restart": ext4 on the whole device,
                      files rewritten in rounds while the host stops the
                      target with each SIG in turn (TERM, KILL, ...) and
                      starts it again with the same command after --down-s;
                      then the guest checks its files and the host runs
                      e2fsck -fn on the image (needs --image)
  --down-s S          how long the target stays down per restart (default 2.5)
  --bench MB          guest scenario "bench" instead of the pattern checks:
                      dd bs=1M O_DIRECT write of MB MiB (from /dev/zero),
                      read of the same, then --bench-seconds of random
                      4 KiB O_DIRECT reads at --qd in flight over those MB
                      (tests/vm/kiqd.c).  Prints KI seqwrite_mbps,
                      seqread_mbps, randread_iops and, for each phase, the
                      target's CPU time (KI PHASE_cpu_us, all its threads'
                      /proc/PID/task/*/schedstat, read while the guest waits
                      at the phase's start and end).  The device (--image or
                      --size-mb) must hold MB MiB
  --bench-seconds S   length of the random-read phase (default 10)
  --qd N              reads in flight in the random-read phase (default 32)
  --rate RATE         shape both bridge ports (tap and veth, so both
                      directions) with a tc token bucket of RATE, e.g. 1gbit
                      (tbf, burst 256 KiB or $KI_TBF_BURST, latency 20 ms)
  --freeze-cmd CMD    the same scenario, without restarts: after two rounds
                      the host asks the guest to pause (sync, fsfreeze --freeze),
                      runs CMD (bash; IMAGE and W, a scratch directory, in
                      its environment; its stdout goes to the output, e.g.
                      aoexctl freeze, a copy of IMAGE, e2fsck -fn on it),
                      lets the guest go on (fsfreeze --unfreeze) for two rounds,
                      runs --thaw-cmd CMD2 the same way (e.g. cmp IMAGE with
                      the copy, aoexctl thaw, wait for the merge), waits two
                      more rounds, then stops it as usual
  --stale             guest scenario "stale": the first half of the pattern
                      (A) written at offset 0, at once the second half (B)
                      over it, both O_DIRECT, then 3 s for late copies to
                      land (with --faults "faultbridge ... --replay-writes");
                      the host counts the sectors of the image that do not
                      hold B (KI stale_sectors; needs --image)
  --attach AOEX       the guest reaches the target through AOEX (a static
                      aoex binary, put into the per-run archive) as
                      `aoex attach -i eth0 S.L /dev/nbd0 --dead-time
                      DEADSECS` and the kernel's nbd device instead of the
                      aoe driver; everything else is the same.  At the end
                      the guest runs `aoex detach /dev/nbd0` and reports
                      attach_exit and aoex's final counters (KI attach_*)
  --prepare           only build (or find) the cached base initramfs, print
                      its path and exit; no TARGET_CMD needed
EOF
	exit 2
}

die() { echo "kernel-initiator: $*" >&2; echo "KI result=fail reason=$(echo "$*" | tr ' ' '_')"; exit 2; }

# ---- options
MTU=1500 SHELF=1 SLOT=2 IMAGE='' SIZE_MB=64 PMB=16 FS=0 KEEP=0
CACHE=${KI_CACHE_DIR:-/tmp/aoexd-ki-cache} TIMEOUT=170 DEAD=30 MAXOUT='' DISC=30 MEM=512 KERNEL=''
PREPARE=0 FAULTS='' RESTARTS='' DOWN=2.5 BENCH='' BRS=10 BQD=32 RATE= FREEZE_CMD='' THAW_CMD='' ATTACH='' STALE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--mtu) MTU=$2; shift 2 ;;
	--shelf) SHELF=$2; shift 2 ;;
	--slot) SLOT=$2; shift 2 ;;
	--image) IMAGE=$2; shift 2 ;;
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--pattern-mb) PMB=$2; shift 2 ;;
	--fs) FS=1; shift ;;
	--keep) KEEP=1; shift ;;
	--cache) CACHE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--deadsecs) DEAD=$2; shift 2 ;;
	--maxout) MAXOUT=$2; shift 2 ;;
	--discover-timeout) DISC=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--faults) FAULTS=$2; shift 2 ;;
	--restarts) RESTARTS=$2; shift 2 ;;
	--freeze-cmd) FREEZE_CMD=$2; shift 2 ;;
	--thaw-cmd) THAW_CMD=$2; shift 2 ;;
	--down-s) DOWN=$2; shift 2 ;;
	--attach) ATTACH=$2; shift 2 ;;
	--stale) STALE=1; shift ;;
	--prepare) PREPARE=1; shift ;;
	--bench) BENCH=$2; shift 2 ;;
	--bench-seconds) BRS=$2; shift 2 ;;
	--qd) BQD=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	*) echo "kernel-initiator: unknown option $1" >&2; usage ;;
	esac
done
[ $# -gt 0 ] || [ "$PREPARE" = 1 ] || { echo "kernel-initiator: no TARGET_CMD after --" >&2; usage; }
for v in MTU SHELF SLOT SIZE_MB PMB TIMEOUT DEAD DISC MEM BRS BQD ${MAXOUT:+MAXOUT} ${BENCH:+BENCH}; do
	case "${!v}" in '' | *[!0-9]*) die "--$(echo "$v" | tr 'A-Z_' 'a-z-') needs a number" ;; esac
done
[ "$PMB" -ge 1 ] || die "pattern must be at least 1 MiB"
case "$DOWN" in '' | *[!0-9.]*) die "--down-s needs a number" ;; esac
if [ -n "$BENCH" ]; then
	{ [ -z "$RESTARTS$FREEZE_CMD" ] && [ "$FS" = 0 ] && [ -z "$FAULTS" ]; } || die "--bench is a scenario of its own (no --fs, --restarts, --freeze-cmd, --faults)"
	PMB=1	# the pattern is not used
	if [ -z "$IMAGE" ] && [ "$SIZE_MB" -lt "$BENCH" ]; then SIZE_MB=$BENCH; fi
fi
if [ -n "$RATE" ]; then
	case "$RATE" in *[!0-9a-zA-Z.]* | '') die "--rate takes a tc rate such as 1gbit" ;; esac
	command -v tc >/dev/null || die "tc (iproute2) missing"
fi
# the file-system scenario: restarts, a freeze, or both
FSSCEN=$RESTARTS$FREEZE_CMD
if [ -n "$FSSCEN" ]; then
	[ -n "$IMAGE" ] || die "--restarts needs --image (the host checks it with e2fsck)"
	[ "$FS" = 0 ] || die "--restarts and --fs are different scenarios"
	command -v e2fsck >/dev/null || die "e2fsck missing (apt-get install e2fsprogs)"
fi
if [ -n "$ATTACH" ]; then
	[ -x "$ATTACH" ] || die "--attach $ATTACH is not an executable"
	! ldd "$ATTACH" >/dev/null 2>&1 || die "--attach $ATTACH must be static (no libraries in the guest)"
fi

# ---- environment checks (exit 2: cannot run, as opposed to "target failed")
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, tap)"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
if [ -z "$KERNEL" ]; then
	KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
fi
[ -r "$KERNEL" ] || die "no kernel image (apt-get install linux-image-amd64)"
KVER=${KERNEL##*/vmlinuz-}
[ -d "/lib/modules/$KVER" ] || die "no /lib/modules/$KVER for $KERNEL"
[ -e /dev/net/tun ] || die "/dev/net/tun missing"
command -v ip >/dev/null || die "ip (iproute2) missing"

# ---- base initramfs, cached under a key of everything that goes into it
mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"
key=$(cat "$here/mkinitramfs.sh" "$here/init.sh" "$here/restart.sh" "$here/kiclock.c" | md5sum | cut -c1-12)
BASE=$CACHE/base-$KVER-$key.cpio.gz
if [ ! -s "$BASE" ]; then
	echo "kernel-initiator: building $BASE" >&2
	KVER=$KVER "$here/mkinitramfs.sh" "$BASE" || die "mkinitramfs failed"
	# Drop bases left by older versions of these scripts (not recently used).
	find "$CACHE" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "${BASE##*/}" -mmin +60 -delete 2>/dev/null
fi
if [ "$PREPARE" = 1 ]; then
	echo "$BASE"
	exit 0
fi

start=$SECONDS
deadline=$((start + TIMEOUT))

# ---- device layout: pattern at 0, or at the end when a file system goes first
if [ -n "$IMAGE" ]; then
	if [ ! -e "$IMAGE" ]; then
		truncate -s "${SIZE_MB}M" "$IMAGE" || die "cannot create $IMAGE"
	fi
	DEV_MB=$(($(stat -L -c %s "$IMAGE") / 1048576))
else
	DEV_MB=$SIZE_MB
fi
if [ "$FS" = 1 ]; then
	POFF=$((DEV_MB - PMB))
	[ "$POFF" -ge 16 ] || die "--fs needs at least 16 MiB besides the pattern (device ${DEV_MB} MiB, pattern ${PMB} MiB)"
else
	POFF=0
fi
[ $((POFF + PMB)) -le "$DEV_MB" ] || die "pattern (${PMB} MiB) larger than device (${DEV_MB} MiB)"

# ---- work dir and cleanup.  Everything started here is killed by pid.
W=$(mktemp -d "${TMPDIR:-/tmp}/ki-run.XXXXXX")
# One id for the namespace and the target's interface.  The interface name
# must be unique on the host too, not just in the namespace: aoexd keeps a
# lock file per interface name and address (/run/aoexd/IF-eS.L.lock), so two
# runs side by side with the same name would collide.
id=$(printf '%x%04x' $$ $((RANDOM & 0xffff)))
NS=ki-$id
IFACE=kt$id
QPID='' TPID='' FPID='' NS_MADE=0
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null
		sleep 0.5
		kill -9 "$QPID" 2>/dev/null
	fi
	if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
		kill "$TPID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$TPID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$TPID" 2>/dev/null
	fi
	[ -n "$FPID" ] && kill -9 "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	[ -n "$QPID" ] && wait "$QPID" 2>/dev/null
	[ -n "$TPID" ] && wait "$TPID" 2>/dev/null
	[ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
	# aoexd's lock files for our (unique, now gone) interface name.
	rm -f /run/aoexd/"$IFACE"-e*.lock /tmp/"$IFACE"-e*.lock 2>/dev/null
	if [ "$KEEP" = 1 ]; then
		echo "kernel-initiator: kept $W" >&2
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "kernel-initiator: interrupted" >&2; echo "KI result=fail reason=interrupted"; exit 130' INT TERM

# ---- fresh random pattern, appended as an uncompressed cpio (random data
# does not compress; the kernel unpacks concatenated archives in order).
# Fresh on every run so stale data from an earlier run can never match.
mkdir "$W/p"
head -c $((PMB * 1048576)) /dev/urandom >"$W/p/pattern"
PMD5=$(md5sum <"$W/p/pattern" | cut -d' ' -f1)
pfiles=pattern
if [ -n "$ATTACH" ]; then
	mkdir -p "$W/p/bin"
	cp "$ATTACH" "$W/p/bin/aoex"
	pfiles="pattern bin bin/aoex"
fi
# shellcheck disable=SC2086
(cd "$W/p" && printf '%s\n' $pfiles | cpio -o -H newc --quiet -R 0:0) >"$W/pattern.cpio" || die "cpio failed"
# The kernel only takes an uncompressed archive that starts at a 4-byte
# aligned offset of the initrd (zero bytes between archives are skipped), so
# pad the gzip'd base to a multiple of 4.
pad=$(((4 - $(stat -c %s "$BASE") % 4) % 4))
{ cat "$BASE"; head -c "$pad" /dev/zero; cat "$W/pattern.cpio"; } >"$W/initrd"
rm -f "$W/pattern.cpio"

# ---- network namespace: bridge + tap (qemu) + veth pair (target)
ip netns add "$NS" || die "ip netns add failed"
NS_MADE=1
nsx() { ip netns exec "$NS" "$@"; }
{
	nsx ip link set lo up &&
	# No IPv6 chatter (router solicitations, MLD) on the AoE segment.
	nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 &&
	nsx ip link add kibr0 mtu "$MTU" type bridge stp_state 0 forward_delay 0 &&
	nsx ip tuntap add dev kitap0 mode tap &&
	if [ -z "$FAULTS" ]; then
		nsx ip link add kiveth0 mtu "$MTU" type veth peer name "$IFACE" mtu "$MTU"
	else
		# kiveth0 <-> ka$id [fault bridge] kb$id <-> $IFACE (target)
		nsx ip link add kiveth0 mtu "$MTU" type veth peer name "ka$id" mtu "$MTU" &&
		nsx ip link add "kb$id" mtu "$MTU" type veth peer name "$IFACE" mtu "$MTU" &&
		nsx ip link set "ka$id" up && nsx ip link set "kb$id" up
	fi &&
	nsx ip link set kitap0 mtu "$MTU" &&
	nsx ip link set kitap0 master kibr0 &&
	nsx ip link set kiveth0 master kibr0 &&
	nsx ip link set kibr0 mtu "$MTU" &&
	nsx ip link set kitap0 up &&
	nsx ip link set kiveth0 up &&
	nsx ip link set "$IFACE" up &&
	nsx ip link set kibr0 up
} || die "network namespace setup failed"
if [ -n "$RATE" ]; then
	# A token bucket on each bridge port's egress: kitap0 sends to the
	# guest, kiveth0 to the target.  The bucket holds 256 KiB (or
	# $KI_TBF_BURST bytes): with it dd reads reached 97.6% of the wire's
	# AoE payload rate at MTU 9000 (117.6 MiB/s at 1 Gbit/s), with 64 KiB
	# 93.5%, with 1 MiB 99.7% (floor target, 64 MiB).
	burst=${KI_TBF_BURST:-262144}
	for p in kitap0 kiveth0; do
		nsx tc qdisc add dev "$p" root tbf rate "$RATE" burst "$burst" latency 20ms ||
			die "tc tbf on $p failed"
	done
fi

if [ -n "$FAULTS" ]; then
	read -ra fargv <<<"$FAULTS"
	ip netns exec "$NS" "${fargv[0]}" -a "kb$id" -b "ka$id" "${fargv[@]:1}" >"$W/faults.log" 2>&1 &
	FPID=$!
	sleep 0.2
	kill -0 "$FPID" 2>/dev/null || { cat "$W/faults.log" >&2; die "fault bridge exited at start"; }
fi

# ---- target: substitute $IFACE/$IMAGE in its argv, run it in the namespace.
# `ip netns exec` and `env` both exec, so $! is the target's own pid (needed
# for its CPU time).
targv=()
# shellcheck disable=SC2016  # the literal text '$IFACE' is what we replace
for a in "$@"; do
	a=${a//'${IFACE}'/$IFACE}
	a=${a//'$IFACE'/$IFACE}
	a=${a//'${IMAGE}'/$IMAGE}
	a=${a//'$IMAGE'/$IMAGE}
	targv+=("$a")
done
echo "kernel-initiator: ns=$NS target: ${targv[*]}" >&2
# start_target: (again) in the background; TPID is the target's own pid.
start_target() {
	ip netns exec "$NS" env IFACE="$IFACE" IMAGE="$IMAGE" "${targv[@]}" </dev/null >>"$W/target.log" 2>&1 &
	TPID=$!
}
start_target
sleep 0.3
kill -0 "$TPID" 2>/dev/null || {
	cat "$W/target.log" >&2
	echo "KI target_alive=no"
	echo "KI result=fail reason=target_exited_at_start"
	exit 1
}

# ---- guest
append="console=ttyS0 loglevel=4 panic=1 mitigations=off"
append="$append ki.shelf=$SHELF ki.slot=$SLOT ki.mtu=$MTU ki.pmb=$PMB ki.poff=$POFF"
append="$append ki.fs=$FS ki.md5=$PMD5 ki.disc=$DISC ki.dead=$DEAD${MAXOUT:+ ki.maxout=$MAXOUT}"
[ -n "$FSSCEN" ] && append="$append ki.scen=restart ki.rmax=$((TIMEOUT - 30))"
[ -n "$BENCH" ] && append="$append ki.scen=bench ki.bmb=$BENCH ki.brs=$BRS ki.bqd=$BQD"
[ -n "$ATTACH" ] && append="$append ki.attach=1"
[ "$STALE" = 1 ] && append="$append ki.scen=stale"
: >"$W/results.log"
# Third serial port (guest ttyS2): host-to-guest control, a qemu "pipe"
# chardev = the FIFOs ctl.in (we write) and ctl.out (unused).
mkfifo "$W/ctl.in" "$W/ctl.out" || die "mkfifo failed"
# -nodefaults: no VGA/floppy/default NIC.  romfile= : qemu installed without
# recommends has no iPXE ROM and direct -kernel boot does not need one.
# host_mtu tells the guest driver the MTU the "wire" supports.  virtio-rng:
# see mkinitramfs.sh (mke2fs would otherwise wait for entropy).
ip netns exec "$NS" "$QEMU" \
	-accel tcg -smp 1 -m "$MEM" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$KERNEL" -initrd "$W/initrd" -append "$append" \
	-serial "file:$W/console.log" -serial "file:$W/results.log" -serial "pipe:$W/ctl" \
	-netdev tap,id=n0,ifname=kitap0,script=no,downscript=no \
	-device "virtio-net-pci,netdev=n0,romfile=,host_mtu=$MTU,mac=52:54:00:a0:e0:01" \
	-device virtio-rng-pci,romfile= \
	</dev/null >"$W/qemu.log" 2>&1 &
QPID=$!

# ---- restart scenario: stop and start the target under the guest's writes
now_ms() { echo $(($(date +%s%N) / 1000000)); }
rounds() { tr -d '\r' <"$W/results.log" | grep -c '^KI round='; }
# wait_rounds N: until the guest has finished N rounds; 1 if qemu or the
# target is gone or the whole-run deadline (minus a reserve for the checks)
# is near.  Polled every 50 ms: that is the resolution of the stall figures.
wait_rounds() {
	while [ "$(rounds)" -lt "$1" ]; do
		kill -0 "$QPID" 2>/dev/null && kill -0 "$TPID" 2>/dev/null || return 1
		[ "$SECONDS" -lt $((deadline - 20)) ] || return 1
		sleep 0.05
	done
}
restart_fail=
drive_restarts() {
	local k=0 sig t_kill t_up t_res n st
	while ! grep -q '^KI fsload=start' "$W/results.log" 2>/dev/null; do
		if ! kill -0 "$QPID" 2>/dev/null || [ "$SECONDS" -ge $((deadline - 20)) ]; then
			restart_fail=no_fsload
			return
		fi
		sleep 0.2
	done
	for sig in $RESTARTS; do
		k=$((k + 1))
		# Hit the target in the middle of a steady write stream.
		wait_rounds $(($(rounds) + 2)) || { restart_fail=restart${k}_no_progress_before; return; }
		t_kill=$(now_ms)
		kill -"$sig" "$TPID" 2>/dev/null
		st=
		for _ in $(seq 50); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$TPID" 2>/dev/null; then
			st=hung; kill -9 "$TPID" 2>/dev/null
		fi
		# (bash may report the killed job as "Killed" on stderr: expected.)
		wait "$TPID" 2>/dev/null
		st=${st:-$?}
		echo "KI restart${k}_sig=$sig"
		echo "KI restart${k}_exit=$st"
		sleep "$DOWN"
		n=$(rounds)
		start_target
		t_up=$(now_ms)
		# Resumed = the guest finished a round after the target came back.
		wait_rounds $((n + 1)) || { restart_fail=restart${k}_no_resume; return; }
		t_res=$(now_ms)
		echo "KI restart${k}_stall_ms=$((t_res - t_kill))"
		echo "KI restart${k}_resume_ms=$((t_res - t_up))"
	done
	[ -z "$FREEZE_CMD" ] || drive_freeze || return
	# Two more rounds after the last restart, then stop the guest's loop.
	wait_rounds $(($(rounds) + 2)) || { restart_fail=no_progress_after_restarts; return; }
	echo "KI restarts_done=$k"
}
# ---- bench scenario: at each "KI mark=PHASE_start|end" of the guest, read
# the target's CPU time, then let the guest go on ("ack" on its ttyS2)
# target_ns: on-CPU nanoseconds of all the target's threads (schedstat)
target_ns() {
	local f t=0 v
	for f in /proc/"$TPID"/task/*/schedstat; do
		read -r v _ <"$f" 2>/dev/null && t=$((t + v))
	done
	echo "$t"
}
drive_marks() {
	local seen=0 n m ns
	declare -A t0
	exec 9<>"$W/ctl.in"
	while kill -0 "$QPID" 2>/dev/null && [ "$SECONDS" -lt $((deadline - 10)) ]; do
		n=$(tr -d '\r' <"$W/results.log" | grep -c '^KI mark=')
		while [ "$seen" -lt "$n" ]; do
			seen=$((seen + 1))
			m=$(tr -d '\r' <"$W/results.log" | grep '^KI mark=' | sed -n "${seen}p")
			m=${m#KI mark=}
			ns=$(target_ns)
			case $m in
			*_start) t0[${m%_start}]=$ns ;;
			*_end) echo "KI ${m%_end}_cpu_us=$(((ns - ${t0[${m%_end}]:-$ns}) / 1000))" ;;
			esac
			echo ack >&9
		done
		grep -q '^KI guest_done=' "$W/results.log" 2>/dev/null && break
		sleep 0.02
	done
	exec 9>&-
}
if [ -n "$BENCH" ]; then
	drive_marks >"$W/marks.txt"
fi
# drive_freeze: the guest pauses with its file system synced and frozen,
# the host runs FREEZE_CMD, the guest goes on
drive_freeze() {
	wait_rounds $(($(rounds) + 2)) || { restart_fail=freeze_no_progress_before; return 1; }
	{ echo pause >&9; } 9<>"$W/ctl.in"
	while ! tr -d '\r' <"$W/results.log" | grep -q '^KI paused='; do
		kill -0 "$QPID" 2>/dev/null && [ "$SECONDS" -lt $((deadline - 20)) ] ||
			{ restart_fail=freeze_no_pause; return 1; }
		sleep 0.1
	done
	mkdir -p "$W/freeze"
	IMAGE=$IMAGE W=$W/freeze bash -c "$FREEZE_CMD" 2>"$W/freeze.err" ||
		{ cat "$W/freeze.err" >&2; restart_fail=freeze_cmd_failed; }
	{ echo go >&9; } 9<>"$W/ctl.in"
	[ -z "$restart_fail" ] || return 1
	local n
	n=$(rounds)
	wait_rounds $((n + 2)) || { restart_fail=freeze_no_progress_frozen; return 1; }
	echo "KI freeze_rounds_frozen=$(($(rounds) - n))"
	IMAGE=$IMAGE W=$W/freeze bash -c "${THAW_CMD:-true}" 2>"$W/thaw.err" ||
		{ cat "$W/thaw.err" >&2; restart_fail=thaw_cmd_failed; return 1; }
	n=$(rounds)
	wait_rounds $((n + 2)) || { restart_fail=freeze_no_progress_after; return 1; }
	echo "KI freeze_rounds_after=$(($(rounds) - n))"
}
if [ -n "$FSSCEN" ]; then
	drive_restarts
	# Read-write open: never blocks, even if qemu (the reader) is gone.
	{ echo stop >&9; } 9<>"$W/ctl.in"
fi

# Wait for the guest to power off, keeping part of the budget (10 s, less
# for short limits) for stopping the target and comparing on the host.
reserve=$((TIMEOUT / 5 < 10 ? TIMEOUT / 5 : 10))
timed_out=0
while kill -0 "$QPID" 2>/dev/null; do
	if [ "$SECONDS" -ge $((deadline - reserve)) ]; then
		timed_out=1
		echo "kernel-initiator: guest still running after $((SECONDS - start)) s, killing qemu" >&2
		kill "$QPID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QPID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$QPID" 2>/dev/null
		break
	fi
	sleep 0.5
done
wait "$QPID" 2>/dev/null
QPID=

# ---- collect guest results
{ tr -d '\r' <"$W/results.log" | grep '^KI ' | grep -v '^KI mark='; [ -s "$W/marks.txt" ] && cat "$W/marks.txt"; } >"$W/ki.txt"
cat "$W/ki.txt"
get() { sed -n "s/^KI $1=//p" "$W/ki.txt" | tail -1; }

# ---- target: still alive?  CPU time (utime+stime, fields 14+15 after the
# "(comm)" which may contain spaces) before we stop it.
alive=no cpu_ms=
if kill -0 "$TPID" 2>/dev/null && [ -r "/proc/$TPID/stat" ]; then
	alive=yes
	stat=$(cat "/proc/$TPID/stat")
	# shellcheck disable=SC2086  # split the fields on purpose
	set -- ${stat##*) }
	hz=$(getconf CLK_TCK)
	cpu_ms=$(((${12} + ${13}) * 1000 / hz))
fi
echo "KI target_alive=$alive"
[ -n "$cpu_ms" ] && echo "KI target_cpu_ms=$cpu_ms"
if [ -n "$cpu_ms" ] && [ "$FS" = 0 ] && [ "$(get pattern)" = match ]; then
	# Pattern traffic: one write and two reads of PMB MiB.
	echo "KI target_cpu_us_per_mb=$((cpu_ms * 1000 / (3 * PMB)))"
fi
if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
	kill "$TPID" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$TPID" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$TPID" 2>/dev/null
fi
wait "$TPID" 2>/dev/null
TPID=

if [ -n "$FPID" ]; then
	kill -TERM "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	FPID=
	awk '/^faultbridge: (ab|ba) / { d = $2; $1 = $2 = ""; sub(/^ +/, ""); gsub(/ /, ","); print "KI faults_" d "=" $0 }' "$W/faults.log"
fi

# ---- host-side byte comparison of the backing file
hostcmp=skipped
if [ -n "$IMAGE" ] && [ "$(get write)" = ok ]; then
	if cmp -n $((PMB * 1048576)) -i "0:$((POFF * 1048576))" "$W/p/pattern" "$IMAGE" >"$W/cmp.out" 2>&1; then
		hostcmp=match
	else
		hostcmp=mismatch
		cat "$W/cmp.out" >&2
	fi
fi
echo "KI host_cmp=$hostcmp"
if [ "$STALE" = 1 ] && [ -n "$IMAGE" ]; then
	# sectors of [0, half) that do not hold B (the pattern's second half)
	half=$((PMB / 2 * 1048576))
	stale=$(cmp -l -n "$half" "$IMAGE" <(tail -c +$((half + 1)) "$W/p/pattern") 2>/dev/null |
		awk '{ print int(($1 - 1) / 512) }' | sort -u | wc -l)
	echo "KI stale_sectors=$stale"
fi
if [ -n "$FSSCEN" ]; then
	# The target is stopped, so the image is quiescent.
	e2fsck -fn "$IMAGE" >"$W/fsck.out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then host_fsck=clean; else host_fsck="dirty(rc=$rc)"; cat "$W/fsck.out" >&2; fi
	echo "KI host_fsck=$host_fsck"
fi
echo "KI pattern_offset_mb=$POFF"
echo "KI elapsed_s=$((SECONDS - start))"

# ---- verdict: first failed requirement is the reason
reason=
req() { [ -n "$reason" ] || [ "$(get "$1")" = "$2" ] || reason="$1=$(get "$1" | sed 's/^$/missing/')"; }
[ $timed_out = 1 ] && reason="timeout_after_${TIMEOUT}s"
[ -n "$reason" ] || [ -s "$W/ki.txt" ] || reason="guest_no_output"
[ -n "$reason" ] || [ -z "$restart_fail" ] || reason="restart=$restart_fail"
req guest_boot ok
req discover ok
if [ -n "$BENCH" ]; then
	req bench ok
elif [ -n "$FSSCEN" ]; then
	req mkfs ok
	req fs_files match
elif [ "$STALE" = 1 ]; then
	req stale_phase done
else
	req write ok
	req read ok
	req pattern match
fi
[ "$FS" = 1 ] && { req mkfs ok; req fs_files match; req fsck clean; }
req guest_done pass
[ -z "$FAULTS$FSSCEN" ] || req io_errors 0
[ -n "$reason" ] || [ $alive = yes ] || reason="target_died"
[ -n "$reason" ] || [ -n "$FSSCEN$BENCH" ] || [ "$STALE" = 1 ] || [ -z "$IMAGE" ] || [ $hostcmp = match ] || reason="host_cmp=$hostcmp"
if [ -n "$FSSCEN" ]; then
	[ -n "$reason" ] || [ "$host_fsck" = clean ] || reason="host_fsck=$host_fsck"
fi

if [ -z "$reason" ]; then
	echo "KI result=pass"
	exit 0
fi
echo "KI result=fail reason=$reason"
{
	echo "---- console (tail) $W/console.log"
	tail -40 "$W/console.log" 2>/dev/null
	echo "---- target log (tail)"
	tail -20 "$W/target.log" 2>/dev/null
	echo "---- qemu log"
	tail -5 "$W/qemu.log" 2>/dev/null
} >&2
exit 1
