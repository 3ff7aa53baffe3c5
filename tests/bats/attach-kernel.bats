#!/usr/bin/env bats
# attach-kernel.bats - aoex attach with the kernel's nbd device, in a guest.
#
# Debian's kernel under qemu (TCG) via tests/vm/kernel-initiator.sh
# --attach (see tests/vm/README): a static aoex in the initramfs serves
# /dev/nbd0 from the target aoexd on the host, over the same bridge the
# aoe-driver tests use.  The guest runs its usual checks on /dev/nbd0,
# then `aoex detach /dev/nbd0` (the restart scenario: SIGTERM), and
# reports aoex's exit status, whether the device was released, and its
# final counters.
#
# Environment: AOEXD, KI_CACHE_DIR as for kernel.bats; AOEX_STATIC a
# static aoex (default: built here with gcc -static from the sources).

load helpers

setup_file() {
	local k
	export KI_SCRIPT=$TOP_SRCDIR/tests/vm/kernel-initiator.sh
	KI_SKIP=$(ki_skip_reason)
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
	if [ -z "$KI_SKIP" ] && ! modprobe -S "${k#/boot/vmlinuz-}" --show-depends nbd >/dev/null 2>&1; then
		KI_SKIP="the guest kernel has no nbd module"
	fi
	export KI_SKIP
	[ -z "$KI_SKIP" ] || return 0
	export KI_CACHE_DIR=${KI_CACHE_DIR:-/tmp/aoexd-ki-cache}
	if [ -z "${AOEX_STATIC:-}" ]; then
		# the guest has no libraries: aoex linked statically, from the
		# same sources (config.h of the build tree)
		export AOEX_STATIC=$BATS_FILE_TMPDIR/aoex-static
		(cd "$TOP_SRCDIR" && gcc -static -O2 -I"$TOP_BUILDDIR" -I. -Isrc \
			src/tools/aoex/*.c src/event/loop.c src/common/log.c src/common/util.c \
			src/common/rawsock.c proto/*.c -o "$AOEX_STATIC") >&2
	fi
	"$KI_SCRIPT" --prepare --cache "$KI_CACHE_DIR" >&2
}

setup() {
	[ -z "$KI_SKIP" ] || skip "$KI_SKIP"
	IMG=$BATS_TEST_TMPDIR/disk.img
}

teardown() { :; }

# ki OPTION...: the harness with aoex attach in the guest, aoexd as target
ki() {
	run "$KI_SCRIPT" --cache "$KI_CACHE_DIR" --timeout 150 --image "$IMG" \
		--attach "$AOEX_STATIC" "$@" -- "$AOEXD" 1 2 '$IFACE' '$IMAGE'
}

val() { printf '%s\n' "${lines[@]}" | sed -n "s/^KI $1=//p" | tail -n 1 | tr -cd '0-9A-Za-z_.,=()-'; }

@test "attach in a guest: /dev/nbd0, pattern, mkfs.ext4, files, remount md5, e2fsck -fn clean, detach" {
	ki --mtu 9000 --size-mb 80 --pattern-mb 16 --fs
	assert_success
	assert_line "KI discover=ok"
	assert_line "KI pattern=match"
	assert_line "KI mkfs=ok"
	assert_line "KI fs_files=match"
	assert_line "KI fsck=clean"
	assert_line "KI host_cmp=match"
	assert_line "KI attach_exit=0"
	assert_line "KI nbd_released=yes"
	assert_line "KI attach_eio=0"
	assert_line "KI io_errors=0"
	assert_line "KI result=pass"
	[ "$(val attach_tag_inc_writes)" -gt 0 ] || fail "no write under tag_inc"
	[ "$(val attach_coalesced_frames)" -gt 0 ] || fail "no coalesced read"
	[ "$(val attach_flushes)" -gt 0 ] || fail "no flush reached the target"
	echo "# attach + nbd, mtu 9000: write $(val write_mbps) MiB/s, read $(val read_mbps) MiB/s," \
		"frames $(val attach_frames), coalesced $(val attach_coalesced_frames)" \
		"(+$(val attach_sub_reads) sub-reads), retransmits $(val attach_retransmits)" >&3
}

@test "attach in a guest: aoexd restarted (SIGTERM, kill -9) under a mounted ext4; I/O resumes, files exact, e2fsck clean" {
	ki --mtu 9000 --size-mb 48 --pattern-mb 8 --restarts "TERM KILL" --down-s 2.5
	assert_success
	assert_line "KI restarts_done=2"
	assert_line "KI fs_files=match"
	assert_line "KI io_errors=0"
	assert_line "KI host_fsck=clean"
	# ended with SIGTERM: the device is released all the same
	assert_line "KI attach_exit=0"
	assert_line "KI nbd_released=yes"
	assert_line "KI attach_eio=0"
	assert_line "KI result=pass"
	echo "# attach restart: stall TERM $(val restart1_stall_ms) ms, KILL $(val restart2_stall_ms) ms," \
		"retransmits $(val attach_retransmits)" >&3
}

@test "attach in a guest: the target gone longer than the dead time gives EIO, not a hang" {
	# dead time 5 s, target down 9 s: the guest's writes fail with EIO
	# and the run ends in its own time (the harness's timeout is 150 s)
	local t0=$SECONDS
	ki --mtu 9000 --size-mb 48 --pattern-mb 8 --restarts "TERM" --down-s 9 --deadsecs 5
	assert_failure
	assert_line --partial "KI result=fail"
	[ "$(val io_errors)" -gt 0 ] || fail "no I/O error in the guest"
	[ "$(val attach_eio)" -gt 0 ] || fail "aoex attach returned no EIO"
	assert_line "KI attach_exit=0"
	[ $((SECONDS - t0)) -lt 120 ] || fail "took $((SECONDS - t0)) s"
	echo "# dead time 5 s, down 9 s: attach_eio=$(val attach_eio), guest io_errors=$(val io_errors), $((SECONDS - t0)) s" >&3
}

@test "late write replays through the fault bridge: aoex attach leaves 0 stale sectors, the kernel aoe driver does not" {
	# the same guest workload twice: A written, B over it at once; the
	# bridge replays 10% of the write frames 1.5 s late (after B)
	local fb=${FAULTBRIDGE:-$TOP_BUILDDIR/tests/tools/faultbridge}
	[ -x "$fb" ] || fail "FAULTBRIDGE=$fb: build it with make check TESTS="
	local faults="$fb --seed 11 --replay-rate 0.1 --replay-after 1500 --replay-writes"
	ki --mtu 1500 --size-mb 16 --pattern-mb 8 --stale --faults "$faults"
	assert_success
	assert_line "KI stale_phase=done"
	assert_line "KI attach_exit=0"
	assert_line "KI stale_sectors=0"
	[ "$(val attach_tag_inc_writes)" -gt 0 ] || fail "no write under tag_inc"
	local attach_replays
	attach_replays=$(val faults_ba | tr ',' '\n' | sed -n 's/^replayed=//p')
	[ "${attach_replays:-0}" -gt 0 ] || fail "the bridge replayed nothing: $(val faults_ba)"
	# the kernel's own aoe driver: its tags (a counter in the high bits,
	# jiffies in the low ones) are no tag_inc sequence, so nothing can
	# tell a late copy from a new write
	rm -f "$IMG"
	run "$KI_SCRIPT" --cache "$KI_CACHE_DIR" --timeout 150 --image "$IMG" \
		--mtu 1500 --size-mb 16 --pattern-mb 8 --stale --faults "$faults" \
		-- "$AOEXD" 1 2 '$IFACE' '$IMAGE'
	assert_success
	assert_line "KI stale_phase=done"
	local kstale kreplays
	kstale=$(val stale_sectors)
	kreplays=$(val faults_ba | tr ',' '\n' | sed -n 's/^replayed=//p')
	[ -n "$kstale" ] || fail "no stale count"
	[ "$kstale" -gt 0 ] || fail "the aoe driver showed no stale overwrite ($kreplays replays): the scenario proves nothing"
	echo "# late replays: aoex attach 0 stale sectors ($attach_replays frames replayed)," \
		"kernel aoe driver $kstale stale sectors ($kreplays replayed)" >&3
}
