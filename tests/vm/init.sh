#!/bin/sh
# Guest /init for the kernel-initiator harness (copied in by mkinitramfs.sh).
#
# Runs under busybox in Debian's kernel.  Parameters come from the kernel
# command line as ki.NAME=VALUE (dotted names are not passed to init as
# arguments or environment, so we parse /proc/cmdline), which keeps the
# initramfs independent of the test parameters and therefore cacheable.
#
# Results go to the second serial port (/dev/ttyS1) as "KI key=value" lines;
# the first one (ttyS0) is the console, so kernel noise never mixes with them.
# Whatever happens, the guest ends with `poweroff -f` so qemu exits.

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /tmp /mnt
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Defaults, overridden by ki.* on the command line.
SHELF=1 SLOT=2 MTU=1500 PMB=16 POFF=0 FS=0 MD5='' DISC=30 DEAD=30 MAXOUT=''
SCEN='' RMAX=120 BMB=512 BRS=10 BQD=32 ATTACH=0
# shellcheck disable=SC2013  # words, not lines
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ki.shelf=*) SHELF=${arg#*=} ;;
	ki.slot=*) SLOT=${arg#*=} ;;
	ki.mtu=*) MTU=${arg#*=} ;;
	ki.pmb=*) PMB=${arg#*=} ;;
	ki.poff=*) POFF=${arg#*=} ;;
	ki.fs=*) FS=${arg#*=} ;;
	ki.md5=*) MD5=${arg#*=} ;;
	ki.disc=*) DISC=${arg#*=} ;;
	ki.dead=*) DEAD=${arg#*=} ;;
	ki.maxout=*) MAXOUT=${arg#*=} ;;
	ki.scen=*) SCEN=${arg#*=} ;;
	ki.rmax=*) RMAX=${arg#*=} ;;
	ki.bmb=*) BMB=${arg#*=} ;;
	ki.brs=*) BRS=${arg#*=} ;;
	ki.bqd=*) BQD=${arg#*=} ;;
	ki.attach=*) ATTACH=${arg#*=} ;;
	esac
done

# Results channel: raw mode so lines end in \n, not \r\n.
OUT=/dev/ttyS1
stty -F "$OUT" raw -echo 2>/dev/null
res() { echo "KI $*" >"$OUT"; echo "KI $*"; }
log() { echo "ki-init: $*"; }

finish() {
	if [ "$ATTACH" = 1 ] && [ -n "${APID:-}" ]; then
		# the restart scenario ends aoex with SIGTERM, the others with
		# aoex detach: either must release the device
		if [ "$SCEN" = restart ]; then
			kill -TERM $APID
		else
			/bin/aoex detach /dev/nbd0 || res "detach=fail"
		fi
		wait $APID
		res "attach_exit=$?"
		if [ -e /sys/block/nbd0/pid ]; then res "nbd_released=no"; else res "nbd_released=yes"; fi
		cat /tmp/aoex.log
		for k in frames retransmits coalesced_frames sub_reads tag_inc_writes flushes eio; do
			res "attach_$k=$(grep 'stats final' /tmp/aoex.log | grep -o " $k=[0-9]*" | cut -d= -f2)"
		done
	fi
	# block-layer and aoe driver errors seen by the guest (fault tests)
	res "io_errors=$(dmesg | grep -ciE 'I/O error|EXT4-fs error|aoe:.*(error|fail)')"
	res "guest_done=$1"
	sync
	# Give the UART a moment to drain before the machine disappears.
	sleep 1
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

# Monotonic microseconds: the static helper if present, else /proc/uptime
# (10 ms resolution).
now_us() {
	if [ -x /bin/kiclock ]; then
		/bin/kiclock
	else
		awk '{ printf "%d\n", $1 * 1000000 }' /proc/uptime
	fi
}
# mbps BYTES MICROSECONDS -> MiB/s with one decimal.
mbps() { awk -v b="$1" -v us="$2" 'BEGIN { if (us <= 0) us = 1; printf "%.1f", b / 1048576 / (us / 1000000) }'; }

res "guest_boot=ok"
res "guest_boot_ms=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)"
log "params shelf=$SHELF slot=$SLOT mtu=$MTU pmb=$PMB poff=$POFF fs=$FS"

# ---- modules (order file written by mkinitramfs.sh from modprobe --show-depends)
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$m.ko" || log "insmod $m failed"
done </lib/modules/order.net

# ---- network: the MTU must be set before aoe loads, because the driver
# sizes its frames from the interface MTU when it learns the target.
i=0
while ! ip link show eth0 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 50 ] && { res "error=no_eth0"; finish fail; }
	sleep 0.1
done
ip link set eth0 mtu "$MTU" || { res "error=mtu_$MTU"; finish fail; }
ip link set eth0 up
res "guest_mtu=$(cat /sys/class/net/eth0/mtu)"

DEV=/dev/etherd/e$SHELF.$SLOT
SYSDEV=/sys/block/etherd!e$SHELF.$SLOT
if [ "$ATTACH" = 1 ]; then
	# aoex attach and the kernel's nbd device instead of the aoe driver
	while read -r m; do
		opts=
		[ "$m" = nbd ] && opts=nbds_max=2
		[ -n "$m" ] && { insmod "/lib/modules/$m.ko" $opts || log "insmod $m failed"; }
	done </lib/modules/order.nbd
	DEV=/dev/nbd0
	SYSDEV=/sys/block/nbd0
	t0=$(now_us)
	# the link comes up in its own time: wait for the target to answer
	deadline=$((t0 + DISC * 1000000))
	until /bin/aoex -i eth0 -t 300 -r 0 discover -W 300 | grep -q "^e$SHELF.$SLOT "; do
		[ "$(now_us)" -gt "$deadline" ] && { res "discover=fail"; finish fail; }
	done
	/bin/aoex -i eth0 -t 500 attach "$SHELF.$SLOT" "$DEV" --dead-time "$DEAD" >/tmp/aoex.log 2>&1 &
	APID=$!
	deadline=$((t0 + DISC * 1000000))
	while [ "$(cat $SYSDEV/size 2>/dev/null || echo 0)" = 0 ]; do
		sleep 0.1
		if [ "$(now_us)" -gt "$deadline" ] || ! kill -0 $APID 2>/dev/null; then
			res "discover=fail"
			cat /tmp/aoex.log
			finish fail
		fi
	done
	t1=$(now_us)
else
aoeopts="aoe_iflist=eth0 aoe_deadsecs=$DEAD"
[ -n "$MAXOUT" ] && aoeopts="$aoeopts aoe_maxout=$MAXOUT"
# shellcheck disable=SC2086
insmod /lib/modules/aoe.ko $aoeopts || { res "error=insmod_aoe"; finish fail; }

# ---- discovery: the driver only broadcasts Query Config at load time (and
# every 60 s), so poke /dev/etherd/discover until the device node appears.
t0=$(now_us)
deadline=$((t0 + DISC * 1000000))
while [ ! -b "$DEV" ]; do
	[ -e /dev/etherd/discover ] && echo >/dev/etherd/discover 2>/dev/null
	sleep 0.5
	if [ "$(now_us)" -gt "$deadline" ]; then
		res "discover=fail"
		ls -l /dev/etherd >&2
		dmesg | tail -20
		finish fail
	fi
done
t1=$(now_us)
fi
res "discover=ok"
res "discover_ms=$(((t1 - t0) / 1000))"
sectors=$(cat "$SYSDEV/size" 2>/dev/null || echo 0)
res "dev_sectors=$sectors"
# The driver logs the target's firmware/MAC/frame size; handy in the console,
# and the frame size shows whether jumbo frames are really in use.
dmesg | grep -i aoe | tail -5
fb=$(dmesg | sed -n 's/.*setting \([0-9]*\) byte data frames.*/\1/p' | tail -1)
[ -n "$fb" ] && res "aoe_frame_bytes=$fb"

need=$(((POFF + PMB) * 2048))
if [ "$sectors" -lt "$need" ]; then
	res "error=device_too_small(need_${need}_sectors)"
	finish fail
fi

ok=1
BYTES=$((PMB * 1048576))
[ "$SCEN" = restart ] && . /restart.sh
# ---- bench scenario (kernel-initiator.sh --bench): no pattern; seqwrite and
# seqread of BMB MiB with dd bs=1M O_DIRECT, then BRS seconds of random 4 KiB
# O_DIRECT reads at queue depth BQD (kiqd).  Around each phase "KI mark=..."
# and a wait for the host's "ack" on ttyS2, so the host reads the target's
# CPU time exactly at the phase boundaries.
if [ "$SCEN" = bench ]; then
	# The port is opened here, by this shell, before the first mark: a
	# background reader could still be starting when the first ack
	# arrives, and a tty nobody holds open drops what it receives.
	CTL=/dev/ttyS2
	stty -F "$CTL" raw -echo 2>/dev/null
	exec 4<"$CTL"
	mark() {
		res "mark=$1"
		# shellcheck disable=SC3045  # busybox read has -t
		if ! read -r -t 60 a <&4 || [ "$a" != ack ]; then res "error=no_ack_$1"; finish fail; fi
	}
	if [ "$sectors" -lt $((BMB * 2048)) ]; then
		res "error=device_too_small_for_bench"
		finish fail
	fi
	bok=1
	mark seqwrite_start; t0=$(now_us)
	dd if=/dev/zero of="$DEV" bs=1M count="$BMB" oflag=direct conv=notrunc 2>/tmp/dd.err || { bok=0; cat /tmp/dd.err; }
	t1=$(now_us); mark seqwrite_end
	res "seqwrite_mbps=$(mbps $((BMB * 1048576)) $((t1 - t0)))"
	mark seqread_start; t0=$(now_us)
	dd if="$DEV" of=/dev/null bs=1M count="$BMB" iflag=direct 2>/tmp/dd.err || { bok=0; cat /tmp/dd.err; }
	t1=$(now_us); mark seqread_end
	res "seqread_mbps=$(mbps $((BMB * 1048576)) $((t1 - t0)))"
	if [ -x /bin/kiqd ]; then
		mark randread_start
		/bin/kiqd "$DEV" "$BQD" "$BRS" 4096 $((BMB * 1048576)) >/tmp/qd.out 2>&1 || bok=0
		mark randread_end
		cat /tmp/qd.out
		res "randread_$(sed -n 's/.*\(iops=[0-9]*\).*/\1/p' /tmp/qd.out)"
		res "randread_$(sed -n 's/.*\(ios=[0-9]*\).*/\1/p' /tmp/qd.out)"
	fi
	if [ $bok = 1 ]; then res "bench=ok"; finish pass; else res "bench=fail"; finish fail; fi
fi
if [ "$SCEN" = stale ]; then
	# A, then B over it at once; late copies of A's frames (a replaying
	# fault bridge) land meanwhile; the host counts what is not B
	half=$((PMB / 2))
	dd if=/pattern of="$DEV" bs=1M count=$half oflag=direct conv=notrunc 2>/tmp/dd.err || ok=0
	dd if=/pattern of="$DEV" bs=1M skip=$half count=$half oflag=direct conv=notrunc 2>>/tmp/dd.err || ok=0
	sleep 3
	[ $ok = 1 ] && res "stale_phase=done"
	cat /tmp/dd.err
	if [ $ok = 1 ]; then finish pass; else finish fail; fi
fi
# The pattern arrives as a second archive appended to the initrd; if the
# kernel could not unpack it, say so instead of failing obscurely in dd.
if [ "$(stat -c %s /pattern 2>/dev/null)" != "$BYTES" ]; then
	res "error=pattern_missing_in_initramfs"
	finish fail
fi

# ---- pattern write, O_DIRECT so the rate is the wire's, not the page cache's
t0=$(now_us)
if dd if=/pattern of="$DEV" bs=1M seek="$POFF" oflag=direct conv=notrunc 2>/tmp/dd.err; then
	t1=$(now_us)
	res "write=ok"
	res "write_mbps=$(mbps $BYTES $((t1 - t0)))"
else
	res "write=fail"
	cat /tmp/dd.err
	ok=0
fi

# ---- timed read to /dev/null (pure transfer), then a checked read for md5
if [ $ok = 1 ]; then
	t0=$(now_us)
	if dd if="$DEV" of=/dev/null bs=1M skip="$POFF" count="$PMB" iflag=direct 2>/tmp/dd.err; then
		t1=$(now_us)
		res "read=ok"
		res "read_mbps=$(mbps $BYTES $((t1 - t0)))"
	else
		res "read=fail"
		cat /tmp/dd.err
		ok=0
	fi
	got=$(dd if="$DEV" bs=1M skip="$POFF" count="$PMB" iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
	[ -n "$MD5" ] || MD5=$(md5sum </pattern | cut -d' ' -f1)
	res "guest_md5=$got"
	if [ "$got" = "$MD5" ]; then
		res "pattern=match"
	else
		res "pattern=mismatch"
		ok=0
	fi
fi

# ---- optional ext4 round trip on the region below the pattern [0, POFF) MiB
if [ "$FS" = 1 ]; then
	# shellcheck disable=SC2013
	for m in $(cat /lib/modules/order.fs); do
		insmod "/lib/modules/$m.ko" 2>/dev/null || log "insmod $m failed (builtin?)"
	done
	fsok=1
	t0=$(now_us)
	# nodiscard: aoe has no discard, and it keeps mkfs from probing for one.
	if /sbin/mke2fs -F -q -t ext4 -E nodiscard "$DEV" "${POFF}M"; then
		res "mkfs=ok"
		res "mkfs_ms=$((($(now_us) - t0) / 1000))"
	else
		res "mkfs=fail"
		fsok=0
	fi
	if [ $fsok = 1 ] && mount -t ext4 "$DEV" /mnt; then
		# One large file cut from the pattern plus many small ones (metadata).
		big=$PMB
		[ "$big" -gt 8 ] && big=8
		dd if=/pattern of=/mnt/big bs=1M count="$big" 2>/dev/null
		mkdir -p /mnt/d
		n=0
		while [ $n -lt 100 ]; do
			echo "file $n of the aoe kernel-initiator test" >/mnt/d/f$n
			n=$((n + 1))
		done
		(cd /mnt && find . -type f | sort | xargs md5sum) >/tmp/sums
		sync
		umount /mnt || fsok=0
		# Drop caches so the checks below really read from the target.
		echo 3 >/proc/sys/vm/drop_caches
		if mount -t ext4 -o ro "$DEV" /mnt; then
			if (cd /mnt && md5sum -c -s /tmp/sums); then
				res "fs_files=match"
			else
				res "fs_files=mismatch"
				fsok=0
			fi
			umount /mnt
		else
			res "fs_remount=fail"
			fsok=0
		fi
	else
		res "mount=fail"
		fsok=0
	fi
	echo 3 >/proc/sys/vm/drop_caches
	t2=$(now_us)
	# -f force a full check, -n open read-only and answer no: exit 0 = clean.
	/sbin/e2fsck -fn "$DEV" >/tmp/fsck.out 2>&1
	rc=$?
	cat /tmp/fsck.out
	res "fsck_ms=$((($(now_us) - t2) / 1000))"
	if [ $rc = 0 ]; then
		res "fsck=clean"
	else
		res "fsck=dirty(rc=$rc)"
		fsok=0
	fi
	t1=$(now_us)
	res "fs_ms=$(((t1 - t0) / 1000))"
	[ $fsok = 1 ] || ok=0
fi

# The driver's view of the target (retransmits, lost frames, rtt) - the
# first thing to look at when a target is slow.  Needs debugfs.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ -r "/sys/kernel/debug/aoe/e$SHELF.$SLOT" ]; then
	echo "---- /sys/kernel/debug/aoe/e$SHELF.$SLOT"
	cat "/sys/kernel/debug/aoe/e$SHELF.$SLOT"
fi

if [ $ok = 1 ]; then finish pass; else finish fail; fi
