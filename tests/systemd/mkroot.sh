#!/bin/bash
# mkroot.sh CACHE_DIR - the Debian 12 guest for tests/systemd/systemd.sh:
# prints the paths of a root file system image (ext4, raw) and a small
# initramfs for the host's Debian kernel, building them when missing.
#
#   CACHE_DIR/root-KEY1.tar.zst   debootstrap --variant=minbase bookworm plus
#                                 systemd and what the packages and the tests
#                                 need (KEY1: the package list)
#   CACHE_DIR/base-KEY2.img       that root made bootable: the kernel's
#                                 modules for the devices qemu gives it,
#                                 fstab, the test agent unit (KEY2: this
#                                 script, agent.sh, the kernel version, KEY1)
#   CACHE_DIR/initrd-KEY2.cpio.gz busybox /init: loads virtio_blk and ext4,
#                                 mounts /dev/vda and hands over to systemd
#
# The guest boots the host's kernel (/boot/vmlinuz-*, linux-image-amd64), as
# tests/vm does, so only the modules it needs are copied from the host's
# /lib/modules.  debootstrap takes about 6 minutes on these machines; the
# rest about 20 s.  The mirror is the one this machine's apt uses.
# Output: two lines, "image PATH" and "initrd PATH".  Exit 2 when something
# needed is missing (not root, no kernel, no debootstrap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:?usage: mkroot.sh CACHE_DIR}
say() { echo "mkroot: $*" >&2; }
die() { say "$*"; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, file ownership)"
for t in debootstrap mke2fs zstd cpio modprobe depmod busybox; do
	command -v "$t" >/dev/null || die "$t missing (tests/install-deps.sh)"
done
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-* (apt-get install linux-image-amd64)"
KVER=${KERNEL#/boot/vmlinuz-}
[ -d "/lib/modules/$KVER" ] || die "no /lib/modules/$KVER"

# What the guest needs beyond minbase: systemd as PID 1 (systemd-sysv) with
# udev (it loads virtio_net and virtio_console), the run-time dependencies of
# the aoexd packages (so the .debs install without a network), and what the
# bats cases that run inside the guest call.
PKGS=systemd,systemd-sysv,udev,kmod,iproute2,procps,libcap2-bin,dbus,adduser,libaio1,libconfuse2,libsystemd0,libblkid1,bats,bats-assert,bats-support
SUITE=bookworm

# The Debian mirror this machine's apt uses: the first deb entry for SUITE
# (one-line or deb822 format).
mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == s) { print $i; exit } break } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$SUITE" '
			function flush() { if (t ~ /(^| )deb( |$)/ && (" " su " ") ~ (" " s " ") && u != "") { print u; exit } t = u = su = "" }
			/^[[:space:]]*$/ { flush(); next }
			/^Types:/ { $1 = ""; t = $0 }
			/^URIs:/ { u = $2 }
			/^Suites:/ { $1 = ""; su = $0 }
			END { flush() }' "$f"
	done
}
MIRROR=$(mirror | head -n1)
[ -n "$MIRROR" ] || die "no 'deb ... $SUITE' entry in the apt sources of this machine"

mkdir -p "$CACHE"
key1=$(printf '%s\n' "$SUITE" "$PKGS" | sha256sum | cut -c1-12)
key2=$(cat "$0" "$here/agent.sh" <(echo "$KVER $key1") | sha256sum | cut -c1-12)
TARBALL=$CACHE/root-$key1.tar.zst
IMAGE=$CACHE/base-$key2.img
INITRD=$CACHE/initrd-$key2.cpio.gz

work=''
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

# ---- 1. debootstrap, cached as a tarball (the slow part)
if [ ! -s "$TARBALL" ]; then
	work=$(mktemp -d /var/tmp/aoexd-mkroot.XXXXXX)
	say "debootstrap --variant=minbase --include=$PKGS $SUITE (the mirror of the apt of this machine; log $CACHE/debootstrap.log)"
	t0=$SECONDS
	debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$work/root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*_Packages
	tar -C "$work/root" --numeric-owner --xattrs -cf - . | zstd -q -T0 -o "$TARBALL.tmp"
	mv -f "$TARBALL.tmp" "$TARBALL"
	rm -rf "$work"; work=''
	say "debootstrap took $((SECONDS - t0)) s"
	find "$CACHE" -maxdepth 1 -name 'root-*.tar.zst' ! -name "${TARBALL##*/}" -delete
fi

if [ -s "$IMAGE" ] && [ -s "$INITRD" ]; then
	echo "image $IMAGE"
	echo "initrd $INITRD"
	exit 0
fi

# ---- 2. the bootable image
work=$(mktemp -d /var/tmp/aoexd-mkroot.XXXXXX)
R=$work/root
mkdir "$R"
zstd -qdc "$TARBALL" | tar -C "$R" --numeric-owner --xattrs -xf -

# modules: each with what it depends on (modprobe --show-depends), at their
# path under /lib/modules, then depmod.  virtio_pci/virtio_blk/ext4 also go
# into the initramfs; udev in the guest loads virtio_net, virtio_console and
# virtio-rng; veth is for the hotplug check and the bats cases.
MODS="virtio_pci virtio_blk virtio_net virtio_console virtio-rng crc32c_generic ext4 veth autofs4"
modpaths() {
	local m
	for m in "$@"; do
		modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++'
}
for p in $(modpaths $MODS); do
	mkdir -p "$R$(dirname "$p")"
	cp "$p" "$R$p"
done
cp /lib/modules/"$KVER"/modules.builtin* /lib/modules/"$KVER"/modules.order "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"

echo aoexd-guest >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\taoexd-guest\n' >"$R/etc/hosts"
echo '/dev/vda / ext4 defaults 0 1' >"$R/etc/fstab"
: >"$R/etc/machine-id"			# a fresh one at each boot
# what would only slow a TCG boot down or wait for a network it has not
chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer \
	systemd-networkd-wait-online.service getty@tty1.service >/dev/null 2>&1 || true
# the host drives the guest through a virtio-serial port (agent.sh)
install -m 0755 "$here/agent.sh" "$R/usr/local/sbin/aoexd-test-agent"
cat >"$R/etc/systemd/system/aoexd-test-agent.service" <<'EOF'
[Unit]
Description=aoexd systemd test: runs the host's commands (tests/systemd/agent.sh)
After=systemd-udev-settle.service local-fs.target
DefaultDependencies=no

[Service]
Type=simple
ExecStart=/usr/local/sbin/aoexd-test-agent
Restart=no

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/aoexd-test-agent.service "$R/etc/systemd/system/multi-user.target.wants/aoexd-test-agent.service"

# 1 GiB sparse ext4 from the directory: no loop device, no mount
rm -f "$IMAGE.tmp"
mke2fs -q -t ext4 -L aoexd-root -d "$R" -E root_owner=0:0 "$IMAGE.tmp" 1G
mv -f "$IMAGE.tmp" "$IMAGE"

# ---- 3. the initramfs: busybox, three modules and their dependencies
I=$work/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$(command -v busybox)" "$I/bin/busybox"
ln -s busybox "$I/bin/sh"
for p in $(modpaths virtio_pci virtio_blk crc32c_generic ext4); do
	cp "$p" "$I/lib/modules/"
	basename "$p" >>"$I/lib/modules/order"
done
cat >"$I/init" <<'EOF'
#!/bin/sh
# load the disk's drivers, mount the root, hand over to systemd
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in $(/bin/busybox cat /lib/modules/order); do /bin/busybox insmod /lib/modules/$m 2>/dev/null; done
for i in $(/bin/busybox seq 100); do [ -b /dev/vda ] && break; /bin/busybox sleep 0.1; done
/bin/busybox mount -t ext4 -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; /bin/busybox poweroff -f; }
/bin/busybox umount /proc
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /sbin/init
EOF
chmod 755 "$I/init"
(cd "$I" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$INITRD.tmp"
mv -f "$INITRD.tmp" "$INITRD"
find "$CACHE" -maxdepth 1 \( -name 'base-*.img' ! -name "${IMAGE##*/}" -o -name 'initrd-*.cpio.gz' ! -name "${INITRD##*/}" \) -delete
say "built $IMAGE and $INITRD (kernel $KVER)"
echo "image $IMAGE"
echo "initrd $INITRD"
