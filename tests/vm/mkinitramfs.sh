#!/bin/bash
# mkinitramfs.sh OUT.cpio.gz [PATTERN_FILE]
#
# Builds the guest initramfs for kernel-initiator.sh: static busybox, the
# modules for virtio-net, aoe and ext4 (taken from the host's Debian kernel
# KVER), Debian's mke2fs/e2fsck with their shared libraries, a static clock
# helper, the queue-depth read helper kiqd (for --bench) and /init (init.sh beside this script).
#
# PATTERN_FILE, if given, is stored as /pattern.  kernel-initiator.sh does not
# use that: it builds the base once (cacheable, no pattern) and appends a
# small uncompressed cpio holding a fresh pattern on every run - the kernel
# unpacks concatenated archives in order.
#
# Environment: KVER (default: newest /boot/vmlinuz-*), KI_NO_GCC=1 to skip
# the clock helper (the guest then times with /proc/uptime, 10 ms steps).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mkinitramfs.sh OUT.cpio.gz [PATTERN_FILE]}
pattern=${2:-}

if [ -z "${KVER:-}" ]; then
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
	[ -n "$k" ] || { echo "mkinitramfs: no /boot/vmlinuz-*" >&2; exit 1; }
	KVER=${k#/boot/vmlinuz-}
fi
mods=/lib/modules/$KVER
[ -d "$mods" ] || { echo "mkinitramfs: no $mods" >&2; exit 1; }
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "mkinitramfs: busybox missing (apt-get install busybox-static)" >&2; exit 1; }
# The dynamic busybox would need its libc too; insist on the static one.
if ldd "$bb" >/dev/null 2>&1; then
	echo "mkinitramfs: $bb is dynamic; install busybox-static" >&2
	exit 1
fi
for t in cpio gzip modprobe ldd; do
	command -v $t >/dev/null || { echo "mkinitramfs: $t missing" >&2; exit 1; }
done

root=$(mktemp -d "${TMPDIR:-/tmp}/ki-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,etc,lib/modules}

cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
# Guest scenarios sourced by /init when selected with ki.scen=NAME.
cp "$here/restart.sh" "$root/restart.sh"

# ---- modules: resolve load order with modprobe, copy flat as NAME.ko.
# Compressed modules (.ko.xz/.ko.zst) are unpacked because busybox insmod
# may not understand them.  "builtin" lines need nothing.
add_modules() { # listfile module...
	local list=$1 m line path name
	shift
	: >"$root/lib/modules/$list"
	for m in "$@"; do
		modprobe -S "$KVER" --show-depends "$m" | while read -r line; do
			case "$line" in
			insmod\ *) ;;
			*) continue ;;
			esac
			path=$(echo "$line" | awk '{print $2}')
			name=$(basename "$path")
			name=${name%%.ko*}
			grep -qx "$name" "$root/lib/modules/$list" && continue
			case "$path" in
			*.ko.xz) xz -dc "$path" >"$root/lib/modules/$name.ko" ;;
			*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$name.ko" ;;
			*.ko.gz) gzip -dc "$path" >"$root/lib/modules/$name.ko" ;;
			*) cp "$path" "$root/lib/modules/$name.ko" ;;
			esac
			echo "$name" >>"$root/lib/modules/$list"
		done
	done
}
# virtio_pci is the bus driver and virtio_net the NIC; they don't depend on
# each other, so ask for both.  virtio-rng feeds the guest's entropy pool:
# without it mke2fs (uuid -> getrandom) blocked for ~4 s waiting for the
# CRNG when it ran early in the boot.  aoe is loaded by /init itself (it
# needs parameters), ext4 only with --fs.
add_modules order.net virtio_pci virtio_net virtio-rng
add_modules order.fs crc32c-intel crc32c_generic ext4
# the kernel's NBD client, for aoex attach (--attach)
add_modules order.nbd nbd
a=$(modprobe -S "$KVER" --show-depends aoe | awk '/^insmod/ {print $2}' | tail -1)
[ -n "$a" ] || { echo "mkinitramfs: no aoe module for $KVER" >&2; exit 1; }
case "$a" in
*.ko.xz) xz -dc "$a" >"$root/lib/modules/aoe.ko" ;;
*.ko.zst) zstd -qdc "$a" >"$root/lib/modules/aoe.ko" ;;
*) cp "$a" "$root/lib/modules/aoe.ko" ;;
esac
# The crc32c-intel module may refuse to load on a CPU model without SSE4.2;
# crc32c_generic covers that, so /init ignores insmod failures in order.fs.

# ---- mke2fs / e2fsck and their libraries (busybox mke2fs lacks ext4, and
# busybox has no e2fsck).  Libraries keep their host path.
for b in /sbin/mke2fs /sbin/e2fsck; do
	cp "$b" "$root/sbin/"
	ldd "$b" | awk '/=> \// {print $3} /^[ \t]*\/lib/ {print $1}' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
# mke2fs reads its feature defaults from here.
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"

# ---- clock helper
if [ "${KI_NO_GCC:-0}" != 1 ] && command -v gcc >/dev/null; then
	if ! gcc -O2 -static -o "$root/bin/kiclock" "$here/kiclock.c" 2>"$root/gcc.err"; then
		echo "mkinitramfs: static kiclock failed, guest will use /proc/uptime:" >&2
		cat "$root/gcc.err" >&2
	fi
	# random reads at a queue depth, for --bench
	if ! gcc -O2 -static -o "$root/bin/kiqd" "$here/kiqd.c" 2>"$root/gcc.err"; then
		echo "mkinitramfs: static kiqd failed, no random-read bench in the guest:" >&2
		cat "$root/gcc.err" >&2
	fi
	rm -f "$root/gcc.err"
fi

[ -n "$pattern" ] && cp "$pattern" "$root/pattern"

# Build to a temp name and rename, so a concurrent or interrupted build never
# leaves a half-written OUT for a cache to pick up.
tmp=$out.tmp.$$
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 >"$tmp"
mv -f "$tmp" "$out"
echo "mkinitramfs: wrote $out ($(du -h "$out" | cut -f1), kernel $KVER)" >&2
