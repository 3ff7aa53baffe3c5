#!/bin/sh
# install-deps.sh [--build-only] - the Debian 12 packages aoexd needs to build
# (and, without --build-only, to run every test).  Safe to run repeatedly.
set -u
export DEBIAN_FRONTEND=noninteractive

BUILD="build-essential autoconf automake pkg-config libaio-dev libconfuse-dev libblkid-dev libsystemd-dev iproute2"
TEST="bats bats-assert bats-support mandoc systemd clang libclang-rt-14-dev llvm musl-tools vblade
      qemu-system-x86 linux-image-amd64 busybox-static cpio kmod e2fsprogs python3 procps jq valgrind
      groff-base man-db zstd qemu-system-arm git debhelper lintian debootstrap qemu-utils libnbd-bin"

pkgs=$BUILD
[ "${1:-}" = --build-only ] || pkgs="$BUILD $TEST"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
# A mirror caught mid-sync makes one index fail; the others are fine, so
# retry once and carry on rather than stop here.
apt-get update -qq || { sleep 5; apt-get update -qq || true; }
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	sleep 5
	apt-get update -qq || true
	apt-get install -y -qq --no-install-recommends $missing
}
