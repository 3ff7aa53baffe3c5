# cross/vmlib.sh - the Debian ARM kernel and busybox for qemu-system guests,
# shared by cross/vm.sh and tests/bench/nas.sh (sourced, not run; needs
# cross/lib.sh first for CROSS_CACHE and die).
# shellcheck shell=bash disable=SC2034  # vm_kernel sets them for the sourcing scripts

# vm_kernel KIND: fetch (once, cached in $CROSS_CACHE/vm/KIND) Debian's
# kernel package and busybox-static for KIND (armhf: the armmp kernel;
# arm64) with apt-get download, unpacked with dpkg-deb.  The architecture
# must be enabled (dpkg --add-architecture KIND; apt-get update).  Sets
# QEMU, MACH (array), CONSOLE, VMLINUZ, MODDIR (lib/modules/VER/kernel)
# and BUSYBOX.
vm_kernel() {
	local kind=$1 meta kpkg cache
	case $kind in
	armhf) meta=linux-image-armmp QEMU=qemu-system-arm     MACH=(-M virt -cpu cortex-a15) CONSOLE=ttyAMA0 ;;
	arm64) meta=linux-image-arm64 QEMU=qemu-system-aarch64 MACH=(-M virt -cpu cortex-a53) CONSOLE=ttyAMA0 ;;
	*) die "kind must be armhf or arm64" ;;
	esac
	cache=$CROSS_CACHE/vm/$kind
	mkdir -p "$cache"
	if [ ! -f "$cache/ready" ]; then
		dpkg --print-foreign-architectures | grep -qx "$kind" ||
			die "architecture $kind not enabled (dpkg --add-architecture $kind; apt-get update)"
		kpkg=$(apt-cache depends "$meta:$kind" | awk '/Depends: linux-image-/ {print $2; exit}')
		[ -n "$kpkg" ] || die "no kernel package behind $meta:$kind"
		(cd "$cache" && rm -f ./*.deb && apt-get download "$kpkg" "busybox-static:$kind")
		rm -rf "$cache/k" "$cache/bb"
		dpkg-deb -x "$cache"/linux-image-*.deb "$cache/k"
		dpkg-deb -x "$cache"/busybox-static_*.deb "$cache/bb"
		rm -f "$cache"/*.deb
		touch "$cache/ready"
	fi
	VMLINUZ=$(ls "$cache"/k/boot/vmlinuz-*)
	MODDIR=$(ls -d "$cache"/k/lib/modules/*/kernel)
	BUSYBOX=$cache/bb/bin/busybox
}
