#!/usr/bin/env bash
# cross/vm.sh [-k armhf|arm64] [-m MiB] -s SCRIPT FILE... - run static ARM
# binaries on a real Debian ARM kernel under qemu-system (TCG).  qemu-user
# has no Linux AIO (io_setup: ENOSYS) and passes no SOL_PACKET option
# (rings: ENOPROTOOPT), so the daemon's real paths only run here.
#
#   -k armhf  Debian's armmp kernel (ARMv7) on -M virt -cpu cortex-a15: runs
#             armel (ARMv5TE) and armhf binaries (default)
#   -k arm64  Debian's arm64 kernel on -M virt -cpu cortex-a53: arm64
#             binaries (and 32-bit ones through the compat layer)
#   -m MiB    guest memory (default 256, a small NAS)
#   -s SCRIPT busybox sh script run in the guest from /t, where the FILEs are
#
# The guest: busybox initramfs, veth pair v0 <-> v1 up, /dev/loop0 on a
# 16 MiB file in tmpfs ($LOOP).  The kernel and busybox-static come from the
# Debian archive (apt-get download; the architecture must be enabled) and
# are cached in $CROSS_CACHE/vm/KIND.  The console (kernel messages dropped)
# goes to stdout; the exit status is the script's.
# env: CROSS_CACHE (default /var/tmp/aoexd-cross)  VMTIMEOUT (default 600 s)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cross/lib.sh
. "$HERE/lib.sh"

KIND=armhf MEM=256 SCRIPT=
while getopts "k:m:s:" o; do
	case $o in
	k) KIND=$OPTARG ;;
	m) MEM=$OPTARG ;;
	s) SCRIPT=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$SCRIPT" ] || [ $# = 0 ]; then sed -n "2,20p" "$0"; exit 2; fi

# shellcheck source=cross/vmlib.sh
. "$HERE/vmlib.sh"
vm_kernel "$KIND"

R=$(mktemp -d /tmp/aoexd-vm.XXXXXX)
trap 'rm -rf "$R" "$R.initrd.gz" "$R.console"' EXIT
mkdir -p "$R"/{bin,proc,sys,dev,tmp,t,run,lib/modules}
cp "$BUSYBOX" "$R/bin/"
cp "$MODDIR/drivers/net/veth.ko" "$MODDIR/drivers/block/loop.ko" "$R/lib/modules/"
for f in "$@"; do cp -r "$f" "$R/t/"; done
cp "$SCRIPT" "$R/t/run.sh"
cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
insmod /lib/modules/veth.ko; insmod /lib/modules/loop.ko
ip link set lo up
ip link add v0 type veth; ip link set veth0 name v1	# busybox ip ignores "peer name"
ip link set v0 address 02:00:00:00:0a:01; ip link set v1 address 02:00:00:00:0a:02
ip link set v0 up; ip link set v1 up
dd if=/dev/zero of=/tmp/disk.img bs=1M count=16 2>/dev/null; losetup /dev/loop0 /tmp/disk.img
export LOOP=/dev/loop0 TMPDIR=/tmp
echo "### VM: $(uname -r) $(uname -m), $(grep MemTotal /proc/meminfo)"
cd /t && sh ./run.sh; echo "### VM-EXIT $?"
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$R.initrd.gz")

# -nic none: no default NIC, whose boot ROM (package ipxe-qemu) may be missing
timeout "${VMTIMEOUT:-600}" "$QEMU" "${MACH[@]}" -smp 2 -m "$MEM" -nographic -no-reboot -nic none \
	-kernel "$VMLINUZ" -initrd "$R.initrd.gz" \
	-append "console=$CONSOLE rdinit=/init quiet panic=-1" > "$R.console" 2>&1 || true
grep -av '^\[ *[0-9]*\.[0-9]*\]' "$R.console" | tr -d '\r'
rc=$(sed -n 's/.*### VM-EXIT \([0-9]*\).*/\1/p' "$R.console" | tail -n1)
[ -n "$rc" ] || { echo "VM did not finish (timeout or crash)" >&2; exit 124; }
exit "$rc"
