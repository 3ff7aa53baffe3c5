#!/bin/bash
# demo.sh - install the build dependencies, build aoexd, and show it working:
# a 64 MiB demo image exported as e1.2 inside a private network namespace,
# discovered, identified, written and read back by the bundled initiator aoex,
# and the bytes checked against the image file.  Needs root (namespaces, raw
# sockets).  Nothing leaves the namespace.
set -eu
TOP=$(cd "$(dirname "$0")" && pwd)
BUILD=${AOEX_BUILD:-$TOP/build}
NS=aoexdemo-$$
WORK=$(mktemp -d /tmp/aoexdemo.XXXXXX)
DPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "dependencies"
bash "$TOP/tests/install-deps.sh" --build-only

step "build"
[ -x "$TOP/configure" ] || (cd "$TOP" && autoreconf -fi)
mkdir -p "$BUILD"
cd "$BUILD"
[ -f Makefile ] || "$TOP/configure" --enable-werror >/dev/null
make -j"$(nproc)" >/dev/null
echo "built $BUILD/aoexd and $BUILD/aoex"

step "network namespace $NS with a veth pair: tgt0 (target) <-> ini0 (initiator)"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add tgt0 type veth peer name ini0
ip -n "$NS" link set tgt0 up
ip -n "$NS" link set ini0 up
in_ns() { ip netns exec "$NS" "$@"; }

step "aoexd 1 2 tgt0 demo.img (64 MiB), control socket $WORK/ctl"
truncate -s 64M "$WORK/demo.img"
ip netns exec "$NS" "$BUILD/aoexd" --control "$WORK/ctl" 1 2 tgt0 "$WORK/demo.img" 2> "$WORK/aoexd.log" &
DPID=$!
for _ in $(seq 50); do grep -q "serving e1.2" "$WORK/aoexd.log" && break; sleep 0.1; done
cat "$WORK/aoexd.log"

step "aoex discover"
in_ns "$BUILD/aoex" -i ini0 discover

step "aoex identify 1.2"
in_ns "$BUILD/aoex" -i ini0 identify 1.2

step "write 4 MiB of random data at sector 2048, read it back"
head -c 4M /dev/urandom > "$WORK/pattern"
in_ns "$BUILD/aoex" -i ini0 write 1.2 2048 -f "$WORK/pattern"
in_ns "$BUILD/aoex" -i ini0 read 1.2 2048 8192 -o "$WORK/readback"
cmp "$WORK/pattern" "$WORK/readback"
echo "read back over AoE: identical ($(sha256sum < "$WORK/pattern" | cut -c1-16)...)"
dd if="$WORK/demo.img" bs=512 skip=2048 count=8192 status=none | cmp - "$WORK/pattern"
echo "bytes in demo.img at sector 2048: identical"

step "throughput (aoex bench, 64 MiB each way)"
in_ns "$BUILD/aoex" -i ini0 bench 1.2 --mode seqwrite --bytes 64M
in_ns "$BUILD/aoex" -i ini0 bench 1.2 --mode seqread --bytes 64M

step "aoexctl: what the daemon serves, and its counters"
"$BUILD/aoexctl" -s "$WORK/ctl" status
"$BUILD/aoexctl" -s "$WORK/ctl" stats e1.2 | tr ' ' '\n' | grep -E '^(device|reads|writes|read_bytes|write_bytes|merged|avg_service_us)=?' | paste -sd' '

step "stop aoexd (SIGTERM): it flushes and prints its counters"
kill -TERM "$DPID"
wait "$DPID"
DPID=
tail -n 2 "$WORK/aoexd.log"
printf '\n\033[1mdemo OK\033[0m\n'
