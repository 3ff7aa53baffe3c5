# shellcheck shell=sh disable=SC2153  # SHELF, SLOT, DEV, PMB... are /init's
# Guest scenario "restart" (ki.scen=restart), sourced by /init after discovery.
#
# ext4 on the whole AoE device, mounted; then rounds of "rewrite one of
# SLOTS files with an FMB-MiB slice of /pattern, fsync, sync" until the host
# writes "stop" on the third serial port (ttyS2).  Meanwhile the host stops
# and restarts the target; it sees our progress in the "KI round=" lines.
# A "pause" from the host (once) syncs and freezes the file system until
# its "go": the host freezes the export and copies it meanwhile.
# At the end: sync, umount, drop caches, remount read-only and md5-check
# every file against the slice it was last written from.  Files live in the
# page cache between rounds, so only that remount proves the target has them.
# The host runs e2fsck -fn on the image after the guest is gone.

FMB=2 SLOTS=6
# shellcheck disable=SC2013
for m in $(cat /lib/modules/order.fs); do
	insmod "/lib/modules/$m.ko" 2>/dev/null || log "insmod $m failed (builtin?)"
done

# Control channel from the host.  raw: no line editing; -echo: nothing
# goes back out.  cat keeps reading in the background for the whole run.
CTL=/dev/ttyS2
stty -F "$CTL" raw -echo 2>/dev/null
: >/tmp/ctl
cat "$CTL" >/tmp/ctl 2>/dev/null &

if ! /sbin/mke2fs -F -q -t ext4 -E nodiscard "$DEV"; then
	res "mkfs=fail"
	finish fail
fi
res "mkfs=ok"
mount -t ext4 "$DEV" /mnt || { res "mount=fail"; finish fail; }

res "fsload=start"
r=0 maxms=0 ok=1
tend=$(($(now_us) + RMAX * 1000000))
paused=0
while ! grep -q stop /tmp/ctl; do
	# the host asks for a pause once (kernel-initiator.sh --freeze-cmd):
	# everything on the device and the file system frozen, as a backup
	# tool's freeze hook would leave it, until the host says go
	if [ $paused = 0 ] && grep -q pause /tmp/ctl; then
		sync
		busybox fsfreeze --freeze /mnt || { res "fsfreeze=fail"; ok=0; break; }
		res "paused=$r"
		while ! grep -q go /tmp/ctl; do sleep 0.1; done
		busybox fsfreeze --unfreeze /mnt
		res "resumed=$r"
		paused=1
	fi
	s=$((r % SLOTS))
	off=$((r % (PMB - FMB + 1)))
	t0=$(now_us)
	# conv=fsync: a failed write-back fails dd itself, not only dmesg.
	if ! dd if=/pattern of=/mnt/f$s bs=1M skip=$off count=$FMB conv=fsync 2>/tmp/dd.err; then
		res "round_error=$r"
		cat /tmp/dd.err
		ok=0
		break
	fi
	sync
	ms=$((($(now_us) - t0) / 1000))
	[ $ms -gt $maxms ] && maxms=$ms
	echo "$off" >/tmp/slot$s
	res "round=$r ms=$ms"
	r=$((r + 1))
	if [ "$(now_us)" -gt "$tend" ]; then
		res "stop=timeout_${RMAX}s"
		ok=0
		break
	fi
done
res "rounds=$r"
res "round_max_ms=$maxms"

sync
umount /mnt || { res "umount=fail"; ok=0; }
echo 3 >/proc/sys/vm/drop_caches
if mount -t ext4 -o ro "$DEV" /mnt; then
	bad=0 n=0
	for f in /tmp/slot*; do
		[ -e "$f" ] || continue
		s=${f#/tmp/slot}
		want=$(dd if=/pattern bs=1M skip="$(cat "$f")" count=$FMB 2>/dev/null | md5sum | cut -d' ' -f1)
		got=$(md5sum </mnt/f"$s" | cut -d' ' -f1)
		[ "$want" = "$got" ] || { log "f$s: md5 $got, want $want"; bad=$((bad + 1)); }
		n=$((n + 1))
	done
	res "fs_files_checked=$n"
	if [ $bad = 0 ] && [ $n -gt 0 ]; then res "fs_files=match"; else res "fs_files=mismatch"; ok=0; fi
	umount /mnt
else
	res "fs_remount=fail"
	ok=0
fi
dmesg | grep -iE 'aoe|EXT4-fs|I/O error' | tail -20
# The driver's view (retransmits, lost frames) for the console log.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
cat "/sys/kernel/debug/aoe/e$SHELF.$SLOT" 2>/dev/null
if [ $ok = 1 ]; then finish pass; else finish fail; fi
