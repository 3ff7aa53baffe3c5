#!/bin/bash
# systemd.sh [options] - the Debian packages and the systemd unit under a
# real systemd: Debian 12 (debootstrap minbase + systemd, mkroot.sh) boots
# the host's Debian kernel under qemu (TCG) with systemd as PID 1, installs
# the built .debs with apt, and the host drives it through a virtio-serial
# port (agent.sh).  An AoE client on the host (the packaged aoex) talks to
# the guest's aoexd over a tap in a private network namespace:
#
#   aoex -i sdtap0 (host, namespace aoexsd-ID) == tap == guest eth0 (virtio-net)
#                                                        aoexd.service exports
#                                                        /dev/vdc (data.img)
#
# The guest's disks: vda the cached root (qemu snapshot: never written),
# vdb the payload (the .debs, tests/bats, aoexd-unit; read-only), vdc
# data.img, the export, which the host reads to see what reached the disk.
#
# Checks (TAP, one line each): the install (user, groups, state directory,
# conffile, unit enabled and running the empty configuration); start
# reaches active (running) through sd_notify READY, with the hardening as
# shipped; reload applies a configuration change; the host discovers,
# writes and reads the export; write-back holds data until FLUSH and until
# stop; journalctl -u aoexd has the log lines; kill -9 of the serving
# process is survived through Restart=; aoexctl for the control group only;
# then with SystemCallErrorNumber=kill (a refused system call kills with
# SIGSYS instead of failing with EPERM) a whole normal run (start, reload,
# interface hotplug and MTU change, I/O, FLUSH, kill -9, stop) and bats
# cases of protocol.bats and io.bats against daemons that systemd starts
# with the unit's hardening (aoexd-unit) find no SIGSYS; purge.
#
# Options:
#   --debs DIR     the aoexd_*.deb and aoex_*.deb to test (default: build
#                  them with build-debs.sh into the work dir)
#   --full         every case of protocol.bats and io.bats in the guest
#                  but the three that read the daemon's /proc/PID/fd
#                  (default: a subset of 14, for CI)
#   --cache DIR    where mkroot.sh keeps the guest (default
#                  $AOEXD_SYSTEMD_CACHE or /var/tmp/aoexd-systemd-cache)
#   --keep         keep the work dir (console.log, test.log, data.img)
#   --timeout S    the whole run (default 1500; the short run takes about
#                  230 s here, --full about 470 s)
# Output: TAP on stdout ("ok N - ..." with seconds), diagnostics in
# WORK/test.log and on stderr.  Exit 0 when every check passed, 1 when one
# failed, 2 when the test cannot run here (not root, no qemu, no kernel).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$here/../.." && pwd)

DEBS='' FULL=0 KEEP=0 TIMEOUT=1500
CACHE=${AOEXD_SYSTEMD_CACHE:-/var/tmp/aoexd-systemd-cache}
while [ $# -gt 0 ]; do
	case $1 in
	--debs) DEBS=$2; shift 2 ;;
	--full) FULL=1; shift ;;
	--cache) CACHE=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "systemd.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
die() { echo "systemd.sh: $*" >&2; echo "1..0 # skip $*"; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tap, debootstrap)"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (tests/install-deps.sh)"
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-* (linux-image-amd64)"
[ -e /dev/net/tun ] || die "/dev/net/tun missing"
start=$SECONDS
deadline=$((start + TIMEOUT))

W=$(mktemp -d /var/tmp/aoexd-systemd.XXXXXX)
LOG=$W/test.log
id=$(printf '%x%04x' $$ $((RANDOM & 0xffff)))
NS=aoexsd-$id TAP=sdtap0
QPID='' NS_MADE=0
# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QPID" 2>/dev/null || break; sleep 0.3; done
		kill -9 "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
	fi
	[ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
	if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
		echo "systemd.sh: work dir kept: $W" >&2
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "systemd.sh: interrupted" >&2; exit 130' INT TERM

# ---- TAP
n=0 nfail=0
tap() {	# tap STATUS TEXT
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		nfail=$((nfail + 1))
		echo "not ok $n - $2"
		echo "# see $LOG" >&2
	fi
}
# check TEXT FUNCTION [ARG...]: one TAP line, with the seconds it took; the
# function's output goes to the log
check() {
	local text=$1 t0=$SECONDS rc
	shift
	printf '\n=== %s\n' "$text" >>"$LOG"
	"$@" >>"$LOG" 2>&1
	rc=$?
	tap $rc "$text ($((SECONDS - t0)) s)"
	return $rc
}
finish() {
	echo "# whole run $((SECONDS - start)) s"
	echo "1..$n"
	[ "$nfail" = 0 ] && exit 0
	tail -n 40 "$LOG" | sed 's/^/# /' >&2
	exit 1
}

# ---- the packages
if [ -z "$DEBS" ]; then
	DEBS=$W/debs
	bash "$here/build-debs.sh" "$DEBS" >"$W/build-debs.tap" 2>&1
	tap $? "the packages build (build-debs.sh, $DEBS)"
fi
DEBS=$(cd "$DEBS" && pwd)
DEB_D=$(ls "$DEBS"/aoexd_*.deb 2>/dev/null | head -n1)
DEB_X=$(ls "$DEBS"/aoex_*.deb 2>/dev/null | head -n1)
[ -n "$DEB_D" ] && [ -n "$DEB_X" ] || { tap 1 "no aoexd_*.deb and aoex_*.deb in $DEBS"; finish; }
# the host's initiator is the packaged one
dpkg-deb -x "$DEB_X" "$W/aoex-root" || { tap 1 "dpkg-deb -x $DEB_X"; finish; }
AOEX=$W/aoex-root/usr/bin/aoex

# ---- the guest
t0=$SECONDS
out=$(bash "$here/mkroot.sh" "$CACHE" 2>>"$LOG")
rc=$?
IMAGE=$(sed -n 's/^image //p' <<<"$out")
INITRD=$(sed -n 's/^initrd //p' <<<"$out")
[ $rc = 0 ] && [ -s "$IMAGE" ]
tap $? "guest root: debootstrap minbase + systemd, cached in $CACHE ($((SECONDS - t0)) s)"
[ $rc = 0 ] || finish

# the bats cases the guest runs (bats -f: a regular expression of names)
SUBSET='discover: one line|advertisement on start: a broadcast|Query Config: read, set|IDENTIFY: sectors|FLUSH CACHE and FLUSH CACHE EXT|mask list: empty|reserve: A reserves|ring: write/read round trip|fallback: write/read round trip|plain recvfrom/sendto \(--no-mmsg\): round trip|ring: read-only export|ring: -o/-l offset and length|ring: backing store out of space|ring: 5 MiB round trip'
# the cases that read the daemon's /proc/PID/fd*: aoexd-unit's pid is not
# the daemon's
EXCLUDE=(-e 'open flags of the backing file' -e '-d -s (O_DIRECT, O_DSYNC)')
bats_filter() {
	if [ "$FULL" = 1 ]; then
		sed -n 's/^@test "\(.*\)" {.*/\1/p' "$TOP/tests/bats/protocol.bats" "$TOP/tests/bats/io.bats" |
			grep -vF "${EXCLUDE[@]}" | sed 's/[][\.*^$+?(){}|/]/\\&/g' | paste -sd'|'
	else
		echo "$SUBSET"
	fi
}
mkdir -p "$W/payload/tests"
cp "$DEB_D" "$DEB_X" "$W/payload/"
cp -r "$TOP/tests/bats" "$W/payload/tests/"
cp "$here/aoexd-unit" "$W/payload/"
bats_filter >"$W/payload/bats-filter"
mke2fs -q -t ext4 -d "$W/payload" "$W/payload.img" 64M >>"$LOG" 2>&1 || { tap 1 "payload image"; finish; }
truncate -s 64M "$W/data.img"
head -c 1M /dev/urandom >"$W/p1"
head -c 1M /dev/urandom >"$W/p2"
head -c 1M /dev/urandom >"$W/p3"

ip netns add "$NS" || die "ip netns add failed"
NS_MADE=1
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" tuntap add dev "$TAP" mode tap
ip -n "$NS" link set "$TAP" up
mkfifo "$W/ctl.in" "$W/ctl.out"
# -snapshot on the root: the cached image is never written.  The data disk
# is the export; the host reads data.img to see what reached the disk.
ip netns exec "$NS" "$QEMU" -accel tcg -smp 1 -m 1024 \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=1 net.ifnames=0 mitigations=off systemd.show_status=0" \
	-drive "file=$IMAGE,if=virtio,format=raw,snapshot=on" \
	-drive "file=$W/payload.img,if=virtio,format=raw,readonly=on" \
	-drive "file=$W/data.img,if=virtio,format=raw" \
	-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
	-device virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:a0:e0:02 \
	-device virtio-rng-pci,romfile= \
	-device virtio-serial-pci,romfile= \
	-chardev "pipe,id=ctl,path=$W/ctl" -device virtserialport,chardev=ctl,name=org.aoexd.ctl \
	-serial "file:$W/console.log" </dev/null >"$W/qemu.log" 2>&1 &
QPID=$!
# read-write opens of the FIFOs never block, whatever qemu does
exec 7<>"$W/ctl.in" 8<>"$W/ctl.out"

# g SCRIPT [TIMEOUT]: run SCRIPT (bash) in the guest, its output on stdout,
# its exit status returned (124: no answer in TIMEOUT s, default 120)
pending=''
g() {
	local tok=T$RANDOM$RANDOM line end=$((SECONDS + ${2:-120}))
	[ "$end" -le "$deadline" ] || end=$deadline	# the whole run's limit
	printf 'RUN %s %s\n' "$tok" "$(printf '%s\n' "$1" | base64 -w0)" >&7
	while :; do
		if ! IFS= read -r -t 2 line <&8; then
			pending+=$line	# a partial line stays in the variable
			kill -0 "$QPID" 2>/dev/null || { echo "g: qemu is gone"; return 124; }
			[ "$SECONDS" -lt "$end" ] || { echo "g: no answer in ${2:-120} s"; return 124; }
			continue
		fi
		line=$pending$line pending=''
		case $line in
		"$tok rc="*) return "${line#"$tok rc="}" ;;
		esac
		printf '%s\n' "$line"
	done
}
# gq SCRIPT: g, quiet (the output only to the log)
gq() { g "$@" >>"$LOG" 2>&1; }

t0=$SECONDS hello=''
while [ "$SECONDS" -lt $((t0 + 180)) ] && kill -0 "$QPID" 2>/dev/null; do
	if IFS= read -r -t 2 line <&8; then
		case $line in HELLO*) hello=$line; break ;; esac
	fi
done
[ -n "$hello" ]
tap $? "the guest boots the Debian kernel $(basename "$KERNEL") with systemd as PID 1 (agent up after $((SECONDS - t0)) s, ${hello#HELLO })"
[ -n "$hello" ] || { tail -n 30 "$W/console.log" >&2; finish; }

boot_ok() {
	g 'systemctl is-system-running --wait; systemd-analyze; systemctl --failed --no-legend' 180
	g '[ "$(ps -o comm= -p 1)" = systemd ]'
}
check "systemd is PID 1 and the boot finished" boot_ok

# ---- the host side: the packaged aoex on the tap
hx() { ip netns exec "$NS" "$AOEX" -i "$TAP" "$@"; }
# poll SECONDS CMD...: until CMD succeeds (every 0.2 s); 1 on timeout
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
discovers() { hx discover -W 500 2>&1 | tee -a "$LOG" | grep -q "^e$1 "; }
# on_disk FILE LBA: data.img holds FILE at sector LBA
on_disk() { cmp -s -n "$(stat -c %s "$1")" "$1" "$W/data.img" 0 $(($2 * 512)); }

# ---- install
install_pkgs() {
	g "apt-get install -y /mnt/payload/${DEB_D##*/} /mnt/payload/${DEB_X##*/}" 300
}
check "apt-get install ./aoexd_*.deb ./aoex_*.deb (no network: the dependencies are in the root)" install_pkgs
users_ok() {
	g 'set -e
	   IFS=: read -r _ _ uid _ _ home shell < <(getent passwd aoexd)
	   echo "aoexd: uid $uid home $home shell $shell"
	   [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/aoexd ] && [ "$shell" = /usr/sbin/nologin ]
	   getent group aoexd; getent group aoexctl
	   stat -c "/var/lib/aoexd %U:%G %a" /var/lib/aoexd
	   [ "$(stat -c "%U:%G %a" /var/lib/aoexd)" = "aoexd:aoexd 700" ]'
}
check "postinst: system user aoexd (nologin), groups aoexd and aoexctl, /var/lib/aoexd aoexd:aoexd 0700" users_ok
installed_ok() {
	g 'set -e
	   dpkg-query -W -f="\${Conffiles}\n" aoexd | grep -q "^ /etc/aoexd.conf "
	   grep -qx "control-group = \"aoexctl\"" /etc/aoexd.conf
	   [ "$(systemctl is-enabled aoexd)" = enabled ]
	   systemctl is-active aoexd
	   journalctl -u aoexd -o cat --no-pager | grep "configures no device"
	   dpkg --verify aoexd aoex'
}
check "the unit is enabled and running the shipped configuration, which serves nothing; conffile /etc/aoexd.conf; dpkg --verify clean" installed_ok

# ---- start through sd_notify, hardening as shipped
ready_ok() {
	local t
	g 'systemctl stop aoexd' || return 1
	t=$(date +%s%N)
	g 'systemctl start aoexd' 90 || return 1
	echo "systemctl start returned after $((($(date +%s%N) - t) / 1000000)) ms"
	g 'systemctl show aoexd -p Type -p ActiveState -p SubState -p NotifyAccess -p MainPID
	   [ "$(systemctl show aoexd -P Type)" = notify ] &&
	   [ "$(systemctl show aoexd -P ActiveState)/$(systemctl show aoexd -P SubState)" = active/running ] &&
	   systemctl status aoexd --no-pager | grep "Active: active (running)"' || return 1
	# what a daemon that drops to aoexd needs, after systemd set the unit up
	g 'stat -c "/var/lib/aoexd %U:%G %a" /var/lib/aoexd; [ "$(stat -c "%U:%G %a" /var/lib/aoexd)" = "aoexd:aoexd 700" ]'
}
check "systemctl start aoexd: active (running), Type=notify (start returns only after READY=1); /var/lib/aoexd stays aoexd:aoexd 0700" ready_ok
hardened_ok() {
	g 'set -e
	   pid=$(systemctl show aoexd -P MainPID)
	   grep -E "^(Uid|NoNewPrivs|Seccomp|CapBnd):" /proc/$pid/status
	   [ "$(awk "/^Seccomp:/ {print \$2}" /proc/$pid/status)" = 2 ]
	   [ "$(awk "/^NoNewPrivs:/ {print \$2}" /proc/$pid/status)" = 1 ]
	   # the bounding set is that of the unit, nothing more
	   want=$(sed -n "s/^CapabilityBoundingSet=//p" /lib/systemd/system/aoexd.service | tr " " "\n" | sort | tr "\n" " ")
	   have=$(capsh --decode=$(awk "/^CapBnd:/ {print \$2}" /proc/$pid/status) 2>/dev/null | sed "s/.*=//" | tr , "\n" | tr a-z A-Z | sort | tr "\n" " ") || true
	   echo "bounding set: unit: $want process: ${have:-(capsh not installed)}"
	   [ -z "$have" ] || [ "$have" = "$want" ]
	   systemctl show aoexd -p SystemCallFilter | cut -c1-200
	   [ -n "$(systemctl show aoexd -P SystemCallFilter)" ]
	   [ "$(systemctl show aoexd -P ProtectSystem)" = full ]
	   systemd-analyze security aoexd --no-pager | tail -n 1'
}
check "the running daemon has the shipped hardening: seccomp filter on, no_new_privs, the bounding set of the unit, ProtectSystem=full" hardened_ok

# ---- reload: an export appears
CONF_DEV='device disk1 {
	path = "/dev/vdc"
	shelf = 7
	slot = 1
	# write-back that keeps what it acknowledged until FLUSH or stop
	write-policy = "write-back"
	write-behind = "4M"
	write-back-max-dirty = "64M"
	write-back-max-age = 600000
}'
reload_ok() {
	local before
	g 'ip link set eth0 up' || return 1
	before=$(g 'systemctl show aoexd -P MainPID') || return 1
	g "cp /etc/aoexd.conf /root/aoexd.conf.orig && printf '%s\n' '$CONF_DEV' >>/etc/aoexd.conf" || return 1
	g 'systemctl reload aoexd' 60 || return 1
	poll 30 discovers 7.1 || { echo "e7.1 not discovered after the reload"; return 1; }
	g "journalctl -u aoexd -o cat --no-pager | grep -E 'disk1|e7\\.1'" || return 1
	[ "$(g 'systemctl show aoexd -P MainPID')" = "$before" ] || { echo "MainPID changed: not a reload"; return 1; }
}
check "systemctl reload aoexd applies a new device section (same MainPID; the host discovers e7.1)" reload_ok

io_ok() {
	hx write 7.1 2048 -f "$W/p1" || return 1
	hx read 7.1 2048 2048 -o "$W/r1" || return 1
	cmp "$W/p1" "$W/r1"
}
check "host aoex: discover, write 1 MiB, read it back identical" io_ok
flush_ok() {
	if on_disk "$W/p1" 2048; then echo "the write is on disk before FLUSH: write-back did not hold it"; return 1; fi
	hx flush 7.1 || return 1
	on_disk "$W/p1" 2048 || { echo "FLUSH CACHE returned but the data is not in data.img"; return 1; }
}
check "write-back: the data reaches /dev/vdc (data.img on the host) at FLUSH CACHE, not before" flush_ok
stop_ok() {
	hx write 7.1 8192 -f "$W/p2" || return 1
	if on_disk "$W/p2" 8192; then echo "on disk before stop: write-back did not hold it"; return 1; fi
	g 'systemctl stop aoexd' 90 || return 1
	on_disk "$W/p2" 8192 || { echo "stopped, but the acknowledged write is not in data.img"; return 1; }
	g 'systemctl show aoexd -p Result -p ExecMainStatus; [ "$(systemctl show aoexd -P Result)" = success ]'
}
check "systemctl stop writes the write-back data to disk (and exits 0)" stop_ok

# the serving process: the one running as user aoexd if the daemon drops to
# it (privilege separation), else the main process
SERVING='serving() {
	local p
	for p in $(cat /sys/fs/cgroup/system.slice/aoexd.service/cgroup.procs); do
		[ "$(stat -c %U /proc/$p)" = aoexd ] && { echo $p; return; }
	done
	systemctl show aoexd -P MainPID
}'
restart_ok() {
	local t
	g 'systemctl start aoexd' 90 || return 1
	poll 30 discovers 7.1 || return 1
	g "$SERVING"'
	   n0=$(systemctl show aoexd -P NRestarts); p=$(serving); echo "kill -9 $p (NRestarts $n0)"
	   kill -9 $p
	   for i in $(seq 150); do
		[ "$(systemctl show aoexd -P NRestarts)" -gt "$n0" ] && systemctl is-active -q aoexd && [ "$(serving)" != "$p" ] && break
		sleep 0.2
	   done
	   systemctl show aoexd -p NRestarts -p MainPID -p ActiveState -p SubState
	   [ "$(systemctl show aoexd -P NRestarts)" -gt "$n0" ] && systemctl is-active -q aoexd' 60 || return 1
	t=$SECONDS
	poll 30 discovers 7.1 || return 1
	echo "served again $((SECONDS - t)) s after the restart was seen"
	hx read 7.1 2048 2048 -o "$W/r1" && cmp "$W/p1" "$W/r1"
}
check "kill -9 of the serving process: Restart= brings it back (NRestarts+1), the export serves the same data" restart_ok
journal_ok() {
	g 'j=$(journalctl -u aoexd -o cat --no-pager)
	   for re in "SIGHUP: configuration reloaded from /etc/aoexd.conf: 1 added" "reload: added e7\.1 \(disk1\)" \
		"finishing and exiting" "stats e7\.1 .*reads=" "serving e7\.1 \(disk1\) on eth0"; do
		echo "$j" | grep -E -m1 "$re" || { echo "journalctl -u aoexd: no line matching $re"; exit 1; }
	   done'
}
check "journalctl -u aoexd holds the log lines (reload, stop and its statistics, serving after the restart)" journal_ok
ctl_ok() {
	g 'set -e
	   useradd -M -G aoexctl ctluser; useradd -M other
	   runuser -u ctluser -- aoexctl status | grep -E "e7\.1|disk1"
	   if runuser -u other -- aoexctl status; then echo "a user outside aoexctl got an answer"; exit 1; fi
	   ls -l /run/aoexd/ctl; [ "$(stat -c "%a %G" /run/aoexd/ctl)" = "660 aoexctl" ]'
}
check "aoexctl: members of group aoexctl get an answer, others do not (socket 0660 root:aoexctl)" ctl_ok
upgrade_ok() {
	local before
	before=$(g 'systemctl show aoexd -P MainPID') || return 1
	g "apt-get install -y --reinstall /mnt/payload/${DEB_D##*/}" 300 || return 1
	g 'grep -c "^device disk1" /etc/aoexd.conf && systemctl is-active aoexd' || return 1
	[ "$(g 'systemctl show aoexd -P MainPID')" != "$before" ] || { echo "not restarted"; return 1; }
	poll 30 discovers 7.1 && hx read 7.1 2048 2048 -o "$W/r1" && cmp "$W/p1" "$W/r1"
}
check "reinstall (an upgrade): the edited /etc/aoexd.conf is kept, the service restarted and serving the same data" upgrade_ok

# ---- no system call of a normal run is refused: SIGSYS instead of EPERM
# (same filter, only its action changed, in a runtime drop-in)
sigsys_detect_ok() {
	g 'f=$(sed -n "s/^SystemCallFilter=//p" /lib/systemd/system/aoexd.service)
	   systemd-run --quiet --wait --collect --unit=sigsys-probe -p "SystemCallFilter=$f" -p SystemCallErrorNumber=kill \
		/bin/mount -t tmpfs none /mnt && { echo "mount(2) was allowed"; exit 1; }
	   journalctl -o cat --no-pager -u sigsys-probe | grep "status=31/SYS"'
}
check "the SIGSYS check can fail: mount(2) under the SystemCallFilter of the unit with SystemCallErrorNumber=kill dies with SIGSYS" sigsys_detect_ok
no_sigsys() {	# no_sigsys UNIT-GLOB: the journal and the kernel saw no SIGSYS
	g "journalctl -b -o cat --no-pager -u '$1' | grep -E '31/SYS|SIGSYS' && exit 1
	   dmesg | grep 'type=1326' | grep aoexd && exit 1
	   exit 0"
}
normal_run_ok() {
	g 'mkdir -p /run/systemd/system/aoexd.service.d
	   printf "[Service]\nSystemCallErrorNumber=kill\n" >/run/systemd/system/aoexd.service.d/sigsys.conf
	   systemctl daemon-reload && systemctl restart aoexd && systemctl show aoexd -p SystemCallErrorNumber' 90 || return 1
	poll 30 discovers 7.1 || return 1
	g 'systemctl reload aoexd' 60 || return 1
	hx write 7.1 4096 -f "$W/p3" && hx flush 7.1 && on_disk "$W/p3" 4096 || return 1
	hx read 7.1 4096 2048 -o "$W/r3" && cmp "$W/p3" "$W/r3" || return 1
	# hotplug: an interface comes up and goes, an MTU change
	g 'set -e
	   ip link add vh0 type veth peer name vh1; ip link set vh1 up; ip link set vh0 up
	   for i in $(seq 50); do journalctl -u aoexd -o cat --no-pager | grep -q "vh0: mac" && break; sleep 0.2; done
	   journalctl -u aoexd -o cat --no-pager | grep "vh0: mac"
	   ip link set eth0 mtu 1400; sleep 1; ip link set eth0 mtu 1500
	   ip link del vh0; sleep 1
	   systemctl is-active aoexd' 60 || return 1
	poll 30 discovers 7.1 || return 1
	g "systemctl reload aoexd; $SERVING"'; kill -9 $(serving); sleep 4; systemctl is-active aoexd' 60 || return 1
	poll 30 discovers 7.1 && hx flush 7.1 || return 1
	g 'systemctl stop aoexd; [ "$(systemctl show aoexd -P Result)" = success ]' 90 || return 1
	no_sigsys aoexd.service
}
check "SystemCallErrorNumber=kill: start, reload, hotplug, MTU change, I/O, FLUSH, kill -9 and restart, stop: no SIGSYS" normal_run_ok

# ---- bats cases against daemons that systemd starts (aoexd-unit)
# aoexd-unit itself: the daemon it starts has the hardening of the unit
wrapper_ok() {
	g 'set -e
	   ip netns add wt; ip -n wt link add wa type veth peer name wb; ip -n wt link set wa up; ip -n wt link set wb up
	   ip netns exec wt /mnt/payload/aoexd-unit --control none 9 9 wa null:1M >/run/wt.log 2>&1 &
	   w=$!
	   for i in $(seq 100); do grep -q "serving e9.9" /run/wt.log && break; sleep 0.1; done
	   u=$(systemctl list-units --plain --no-legend "aoexd-bats-*" | awk "{print \$1}")
	   pid=$(systemctl show "$u" -P MainPID)
	   echo "$u: pid $pid"; grep -E "^(Uid|NoNewPrivs|Seccomp|CapBnd):" /proc/$pid/status
	   unitbnd=$(systemctl show aoexd -P CapabilityBoundingSet)
	   [ "$(awk "/^Seccomp:/ {print \$2}" /proc/$pid/status)" = 2 ]
	   [ "$(awk "/^NoNewPrivs:/ {print \$2}" /proc/$pid/status)" = 1 ]
	   [ "$(systemctl show "$u" -P CapabilityBoundingSet)" = "$unitbnd" ]
	   [ "$(systemctl show "$u" -P SystemCallFilter)" = "$(systemctl show aoexd -P SystemCallFilter)" ]
	   kill $w; wait $w; echo "aoexd-unit exited $?"; ip netns del wt'
}
check "aoexd-unit: the daemon it starts runs with the seccomp filter, no_new_privs and bounding set of aoexd.service, and exits 0 on SIGTERM" wrapper_ok
t0=$SECONDS
g 'systemctl stop aoexd; mkdir -p /srv/bats
   cd /mnt/payload/tests/bats &&
   TMPDIR=/srv/bats AOEXD=/mnt/payload/aoexd-unit AOEXD_UNIT_PROPS=SystemCallErrorNumber=kill \
   AOEX=/usr/bin/aoex AOEXCTL=/usr/sbin/aoexctl TOP_SRCDIR=/mnt/payload TOP_BUILDDIR=/mnt/payload \
   bats --tap -f "$(cat /mnt/payload/bats-filter)" protocol.bats io.bats' 1800 >"$W/bats.tap" 2>&1
bats_rc=$?
cat "$W/bats.tap" >>"$LOG"
nb=0
while IFS= read -r line; do
	case $line in
	"not ok "*) nb=$((nb + 1)); tap 1 "guest bats (systemd-run, shipped hardening, SIGSYS on refusal): ${line#not ok }" ;;
	"ok "*) nb=$((nb + 1)); tap 0 "guest bats (systemd-run, shipped hardening, SIGSYS on refusal): ${line#ok }" ;;
	esac
done <"$W/bats.tap"
[ "$nb" -gt 0 ] && { [ "$bats_rc" = 0 ] || grep -q '^not ok' "$W/bats.tap"; }
tap $? "guest bats: $nb cases of protocol.bats and io.bats in $((SECONDS - t0)) s (exit $bats_rc)"
check "no SIGSYS in the transient units of the bats cases" no_sigsys 'aoexd-bats-*'

# ---- purge
purge_ok() {
	g 'set -e
	   apt-get purge -y aoexd aoex
	   if getent passwd aoexd || getent group aoexd || getent group aoexctl; then echo "user or group left"; exit 1; fi
	   if [ -e /var/lib/aoexd ]; then echo "/var/lib/aoexd left"; exit 1; fi
	   if [ -e /etc/aoexd.conf ] || [ -e /lib/systemd/system/aoexd.service ]; then echo "files left"; exit 1; fi
	   ! systemctl is-active -q aoexd' 300
}
check "apt-get purge: the state directory, the user and the groups are gone, the service stopped" purge_ok

{ echo POWEROFF >&7; } 2>/dev/null
for _ in $(seq 60); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.5; done
finish
