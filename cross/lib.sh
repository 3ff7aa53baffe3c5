# cross/lib.sh - shared by the cross/ scripts (sourced, not run).
# Targets, logging of steps, the TAP-like result lines, the apt helpers.
# shellcheck shell=bash disable=SC2034  # target_vars sets them for the sourcing scripts

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

CROSS_CACHE=${CROSS_CACHE:-/var/tmp/aoexd-cross}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

die() { echo "cross: FAILED: $*" >&2; exit 1; }

# target_vars ARCH: the Debian architecture, the glibc cross triplet (whose
# binutils we use), the musl triplet (gcc wrapper from musl-dev:ARCH) and how
# to run its binaries here.  armel is ARMv5TE soft-float (Kirkwood, as in the
# D-Link DNS-325): -cpu arm926 makes qemu refuse any ARMv6+ instruction.
target_vars() {
	case $1 in
	armel)  DEBARCH=armel GNU=arm-linux-gnueabi   MUSL=arm-linux-musleabi   RUNNER="qemu-arm-static -cpu arm926" ;;
	armhf)  DEBARCH=armhf GNU=arm-linux-gnueabihf MUSL=arm-linux-musleabihf RUNNER="qemu-arm-static" ;;
	arm64)  DEBARCH=arm64 GNU=aarch64-linux-gnu   MUSL=aarch64-linux-musl   RUNNER="qemu-aarch64-static" ;;
	x86_64) DEBARCH=amd64 GNU=x86_64-linux-gnu    MUSL=x86_64-linux-musl    RUNNER="" ;;
	*) die "unknown target '$1' (armel armhf arm64 x86_64)" ;;
	esac
}

# step NAME CMD...: run CMD with its output in $LOG; print the time taken,
# or the tail of the log and fail.  The subshell keeps `set -e` in force
# inside functions given as CMD.
step() {
	local name=$1 t rc
	shift
	t=$(date +%s.%N)
	printf '\n=== %s\n' "$name" >> "$LOG"
	set +e
	( set -e; "$@" ) >> "$LOG" 2>&1
	rc=$?
	set -e
	if [ $rc != 0 ]; then
		echo "cross: FAILED: $name (exit $rc); last lines of $LOG:" >&2
		tail -n 30 "$LOG" | sed 's/^/  | /' >&2
		return $rc
	fi
	awk -v a="$t" -v b="$(date +%s.%N)" -v n="$name" 'BEGIN{printf "# %-56s %6.1f s\n", n, b-a}'
}

# Result lines, counted by tests/run-all: "ok - NAME" / "not ok - NAME".
NOK=0 NFAIL=0
ok()    { NOK=$((NOK + 1)); echo "ok - $*"; }
notok() { NFAIL=$((NFAIL + 1)); echo "not ok - $*"; }
check() {	# check NAME CMD...: ok/not ok by CMD's status, output to $LOG
	local name=$1
	shift
	printf '\n=== check: %s\n' "$name" >> "$LOG"
	if "$@" >> "$LOG" 2>&1; then ok "$name"; else notok "$name (see $LOG)"; fi
}

# A mirror caught mid-sync makes `apt-get update` fail for one index ("File
# has unexpected size"); apt keeps the others: retry once, then carry on.
apt_update() {
	apt-get -o DPkg::Lock::Timeout=600 update -q && return 0
	sleep 10
	apt-get -o DPkg::Lock::Timeout=600 update -q && return 0
	echo "WARNING: apt-get update reported errors; continuing with the indexes it did fetch"
}
apt_install() { apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@"; }

# missing_pkgs PKG...: those not installed, on stdout
missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
	done
}

# elapsed T0: seconds since T0 (date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
