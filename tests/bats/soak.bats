#!/usr/bin/env bats
# soak.bats - the CI version of tests/soak.sh: one minute (AOEX_SOAK_SECONDS)
# of random reads and writes from 3 initiators on 3 devices (both write
# policies) with SIGHUPs and interface flaps; data checked against a model,
# RSS and fd count flat, no error.  The long run is by hand (tests/README).

load helpers

@test "soak: mixed random I/O, SIGHUP, interface flaps; data, RSS and fds checked" {
	require_net
	run "$TOP_SRCDIR/tests/soak.sh" --duration "${AOEX_SOAK_SECONDS:-60}"
	printf '# %s\n' "${lines[@]}" | grep '^# soak: ' >&3
	[ "$status" -eq 0 ] || fail "$output"
	assert_output --partial "soak: PASS"
}
