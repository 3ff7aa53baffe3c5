#!/usr/bin/env bats
# kernel.bats - the daemon against the Linux kernel's own AoE initiator.
#
# Each test boots Debian's kernel under qemu (TCG) with the `aoe` driver, on
# a bridge in a private network namespace where the daemon serves a backing
# file, via tests/vm/kernel-initiator.sh (see tests/vm/README).  The guest
# writes a random pattern with O_DIRECT, reads it back and checks its md5;
# the host compares the backing file byte for byte; one test also runs
# mkfs.ext4 + mount + files + e2fsck on the device.
#
# Environment:
#   AOEXD            daemon binary (default $TOP_BUILDDIR/aoexd)
#   AOEXD_EXTRA_ARGS added to the daemon's command line (as in helpers.bash)
#   KI_TARGET        run this target command instead of $AOEXD, e.g.
#                    KI_TARGET=vblade to check the harness itself; it is
#                    called as: $KI_TARGET [$KI_TARGET_OPTS] SHELF SLOT IFACE FILE
#   KI_TARGET_OPTS   options for the target, e.g. "-b 64" (default none)
#   KI_CACHE_DIR     where the guest initramfs is cached (default
#                    /tmp/aoexd-ki-cache, as for kernel-initiator.sh)
#
# Skipped, with the reason, only when qemu, the kernel image, root or
# /dev/net/tun is missing.  Timings appear as "# ..." lines in the TAP output.

load helpers

setup_file() {
	export KI_SCRIPT=$TOP_SRCDIR/tests/vm/kernel-initiator.sh
	KI_SKIP=$(ki_skip_reason)
	export KI_SKIP
	[ -z "$KI_SKIP" ] || return 0

	# Outside the tree on purpose: tests/vm is in EXTRA_DIST, and the cache
	# key (kernel version + hash of the scripts) makes sharing it safe.
	export KI_CACHE_DIR=${KI_CACHE_DIR:-/tmp/aoexd-ki-cache}
	# Build (or find) the initramfs once; every test reuses it.
	"$KI_SCRIPT" --prepare --cache "$KI_CACHE_DIR" >&2
}

setup() {
	[ -z "$KI_SKIP" ] || skip "$KI_SKIP"
	IMG=$BATS_TEST_TMPDIR/disk.img
	# The target command as an array: KI_TARGET (may hold words) or the daemon.
	local extra=()
	if [ -n "${KI_TARGET:-}" ]; then
		read -ra TARGET <<<"$KI_TARGET"
	else
		TARGET=("$AOEXD")
		read -ra extra <<<"$AOEXD_EXTRA_ARGS"
	fi
	if ! command -v "${TARGET[0]}" >/dev/null; then
		fail "target ${TARGET[0]} not found/executable (build aoexd, set AOEXD, or KI_TARGET=vblade)"
		return 1
	fi
	local opts=()
	read -ra opts <<<"${KI_TARGET_OPTS:-}"
	TARGET+=("${extra[@]}" "${opts[@]}")
}

# Nothing of helpers.bash's per-test namespace is used here: the harness
# makes and removes its own.
teardown() { :; }

# ki SHELF SLOT OPTION...: run the harness against the target; the target's
# interface and image are filled in by kernel-initiator.sh.
ki() {
	local shelf=$1 slot=$2
	shift 2
	run "$KI_SCRIPT" --cache "$KI_CACHE_DIR" --timeout 150 \
		--shelf "$shelf" --slot "$slot" --image "$IMG" "$@" \
		-- "${TARGET[@]}" "$shelf" "$slot" '$IFACE' '$IMAGE'
}

# val KEY: value of "KI KEY=..." in the last run's output
val() { printf '%s\n' "${lines[@]}" | sed -n "s/^KI $1=//p" | tail -n 1; }

# note LABEL: timings into the TAP stream (fd 3), shown even on success
note() {
	echo "# $1: write $(val write_mbps) MiB/s, read $(val read_mbps) MiB/s," \
		"target cpu $(val target_cpu_ms) ms${2:+, $2}" >&3
}

@test "kernel aoe: MTU 1500 pattern write, read back, host cmp" {
	ki 1 2 --mtu 1500 --size-mb 64 --pattern-mb 32
	assert_success
	assert_line "KI discover=ok"
	assert_line "KI aoe_frame_bytes=1024"
	assert_line "KI pattern=match"
	assert_line "KI host_cmp=match"
	assert_line "KI target_alive=yes"
	assert_line "KI result=pass"
	note "mtu 1500" "$(val target_cpu_us_per_mb) us/MiB"
}

@test "kernel aoe: MTU 9000 (jumbo) pattern write, read back, host cmp" {
	ki 7 3 --mtu 9000 --size-mb 64 --pattern-mb 32
	assert_success
	assert_line "KI discover=ok"
	# 17 sectors per frame: the jumbo MTU really is in use end to end.
	assert_line "KI aoe_frame_bytes=8704"
	assert_line "KI pattern=match"
	assert_line "KI host_cmp=match"
	assert_line "KI target_alive=yes"
	assert_line "KI result=pass"
	note "mtu 9000" "$(val target_cpu_us_per_mb) us/MiB"
}

@test "kernel aoe: mkfs.ext4, mount, files, remount check, e2fsck clean" {
	ki 1 2 --mtu 9000 --size-mb 80 --pattern-mb 16 --fs
	assert_success
	assert_line "KI mkfs=ok"
	assert_line "KI fs_files=match"
	assert_line "KI fsck=clean"
	assert_line "KI pattern=match"
	assert_line "KI host_cmp=match"
	assert_line "KI result=pass"
	note "ext4 mtu 9000" "fs phase $(val fs_ms) ms"
}

@test "kernel aoe through a faulty wire: 1% loss, 1% duplication, reordering; data exact, no guest I/O error" {
	local fb=${FAULTBRIDGE:-$TOP_BUILDDIR/tests/tools/faultbridge}
	[ -x "$fb" ] || fail "FAULTBRIDGE=$fb: build it with make check TESTS="
	ki 1 2 --mtu 1500 --size-mb 32 --pattern-mb 8 \
		--faults "$fb --seed 5 --drop 0.01 --dup 0.01 --reorder 0.05 --reorder-ms 3"
	assert_success
	assert_line "KI pattern=match"
	assert_line "KI host_cmp=match"
	assert_line "KI io_errors=0"
	assert_line --regexp "^KI faults_ba=forwarded=[0-9]+,dropped=[1-9]"
	assert_line --regexp "^KI faults_ab=forwarded=[0-9]+,dropped=[1-9]"
	assert_line "KI result=pass"
	note "faults" "$(val faults_ba | cut -d, -f1-4) (guest->target), elapsed $(val elapsed_s) s"
}

@test "kernel aoe: target restarted (SIGTERM, then kill -9) under a mounted ext4 with writes; I/O resumes, files exact, e2fsck clean" {
	# The guest rewrites 2 MiB files (fsync + sync) in a loop; the host stops
	# the target mid-stream, keeps it down 2.5 s and starts it again with the
	# same command on the same image, once per signal.  The driver must
	# resume on its own (retransmits + the start-up advertisement).
	ki 1 2 --mtu 9000 --size-mb 48 --pattern-mb 8 --restarts "TERM KILL" --down-s 2.5
	assert_success
	assert_line "KI mkfs=ok"
	assert_line "KI restart1_sig=TERM"
	assert_line "KI restart1_exit=0"
	assert_line "KI restart2_sig=KILL"
	assert_line "KI restart2_exit=137"
	assert_line "KI restarts_done=2"
	assert_line "KI fs_files=match"
	assert_line "KI io_errors=0"
	assert_line "KI host_fsck=clean"
	assert_line "KI result=pass"
	echo "# restart: stall (kill to first round after restart) TERM $(val restart1_stall_ms) ms," \
		"KILL $(val restart2_stall_ms) ms; after target up $(val restart1_resume_ms)/$(val restart2_resume_ms) ms;" \
		"$(val rounds) rounds, longest $(val round_max_ms) ms, elapsed $(val elapsed_s) s" >&3
}

@test "kernel aoe: ext4 mounted, synced and frozen in the guest: aoexctl freeze, the base copied is e2fsck -fn clean and stays so while the guest writes on; thaw under its writes" {
	[ -z "${KI_TARGET:-}" ] || skip "aoexd only (aoexctl freeze)"
	local st=$BATS_TEST_TMPDIR/state sock=$BATS_TEST_TMPDIR/ctl.sock
	local ctl="${AOEXCTL:-$TOP_BUILDDIR/aoexctl} -s $sock"
	TARGET+=(--state-dir "$st" --control "$sock")
	# with the guest paused: freeze, copy the base, check the copy
	local freeze="set -e; $ctl freeze e1.2 --shadow \$W/shadow
		cp --sparse=always \"\$IMAGE\" \$W/copy
		if e2fsck -fn \$W/copy >\$W/fsck.out 2>&1; then echo KI copy_fsck=clean
		else echo KI copy_fsck=dirty; cat \$W/fsck.out >&2; fi"
	# after two rounds of writes into the shadow: the base is still the
	# copy; thaw, and wait for the merge while the guest writes on
	local thaw="set -e
		if cmp -s \"\$IMAGE\" \$W/copy; then echo KI base_unchanged=yes; else echo KI base_unchanged=no; fi
		echo KI shadow_bytes=\$($ctl status | grep -oE 'shadow_bytes=[0-9]+' | cut -d= -f2)
		$ctl thaw e1.2 >/dev/null
		for i in \$(seq 600); do $ctl status | grep -q ' freeze=' || break; sleep 0.1; done
		$ctl status | grep -q ' freeze=' && echo KI merged=no || echo KI merged=yes
		[ ! -e \$W/shadow ] && echo KI shadow_removed=yes"
	ki 1 2 --mtu 9000 --size-mb 48 --pattern-mb 8 --freeze-cmd "$freeze" --thaw-cmd "$thaw"
	assert_success
	assert_line "KI mkfs=ok"
	assert_line "KI copy_fsck=clean"
	assert_line "KI base_unchanged=yes"
	assert_line "KI merged=yes"
	assert_line "KI shadow_removed=yes"
	assert_line --regexp "^KI freeze_rounds_frozen=[2-9]"
	assert_line --regexp "^KI freeze_rounds_after=[2-9]"
	assert_line "KI fs_files=match"
	assert_line "KI io_errors=0"
	assert_line "KI host_fsck=clean"
	assert_line "KI result=pass"
	echo "# frozen while the guest wrote $(val freeze_rounds_frozen) rounds ($(val shadow_bytes) bytes into the shadow), merged back, $(val rounds) rounds in all" >&3
}
