#!/bin/bash
# tests/bench/kernel.sh - the Linux kernel's aoe initiator against the targets.
#
#   bash tests/bench/kernel.sh [options]        (as root; see tests/bench/README)
#
# For each path (the plain veth/bridge/tap path, and the same with both
# bridge ports shaped to 1 Gbit/s by a tc token bucket), each MTU and each
# target, tests/vm/kernel-initiator.sh --bench boots Debian's x86 kernel
# under qemu (TCG, 1 vCPU) with the aoe driver and runs, against the target
# serving an image on a private tmpfs on the host:
#   seqwrite  dd if=/dev/zero bs=1M count=MB oflag=direct   (default 512 MiB)
#   seqread   dd of=/dev/null bs=1M count=MB iflag=direct
#   randread  random 4 KiB O_DIRECT reads, 32 in flight (tests/vm/kiqd.c,
#             io_submit/io_getevents) over those MB for --rand-seconds
# Per cell: MB/s (IOPS for randread; guest clock) and the target's CPU per
# MiB moved (all its threads' schedstat, read at the phase boundaries while
# the guest waits), for randread also per request; then each target against
# vblade with its defaults.  Targets (--targets picks, by name):
#   aoexd       aoexd with its defaults          aoexd-b64   aoexd -b 64
#   vblade      Debian's vblade, defaults (-b 16) vblade-b64  vblade -b 64
#   floor       tests/tools/floor.c (from RAM), the lower bound
#   and any --target NAME='CMD' (e.g. ggaoed or AoEde built elsewhere).
# A benchmark: exits 0 whatever the figures.
#
# Time: about 35-60 s per run at MTU 1500 and 15-25 s at 9000 (512 MiB),
# so about 12-15 minutes for the default 2 paths x 2 MTUs x 5 targets.
export LC_ALL=C
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KI=$TOP/tests/vm/kernel-initiator.sh

usage() {
	sed -n '2,/^export LC_ALL/p' "$0" | sed -e '/^export/d' -e 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --aoexd PATH        the aoexd to measure (default $AOEXD, else the tree's
                      ./aoexd or build/aoexd)
  --vblade PATH       default: vblade on PATH (Debian's package)
  --targets "LIST"    default "aoexd aoexd-b64 vblade vblade-b64 floor", plus
                      every --target
  --target 'NAME=CMD' one more target; $IFACE and $IMAGE in CMD are
                      replaced by the target's interface and the image
  --mtu "LIST"        default "1500 9000"
  --rates "LIST"      paths: "none" (plain) and tc rates (default "none 1gbit")
  --mb N              MiB per sequential phase (default 512; the image size)
  --rand-seconds S    random-read phase (default 10)
  --qd N              reads in flight (default 32)
  --keep              keep the work dir (each run's KI output)
  -h, --help          this text
EOF
}
say() { printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 2; }

AOEXD=${AOEXD:-} VBLADE=${VBLADE:-} TARGETS='' MTUS="1500 9000" RATES="none 1gbit" MB=512 RS=10 QD=32 KEEP=0
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--aoexd) AOEXD=$2; shift 2 ;;
	--vblade) VBLADE=$2; shift 2 ;;
	--targets) TARGETS=$2; shift 2 ;;
	--target) EXTRA+=("$2"); shift 2 ;;
	--mtu) MTUS=$2; shift 2 ;;
	--rates) RATES=$2; shift 2 ;;
	--mb) MB=$2; shift 2 ;;
	--rand-seconds) RS=$2; shift 2 ;;
	--qd) QD=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done
{ [[ $MB =~ ^[0-9]+$ ]] && [ "$MB" -ge 16 ]; } || die "--mb needs a number >= 16"
[ "$(id -u)" = 0 ] || die "must run as root"
if [ -z "$AOEXD" ]; then
	for c in "$TOP/aoexd" "$TOP/build/aoexd"; do [ -x "$c" ] && { AOEXD=$c; break; }; done
fi
[ -n "$VBLADE" ] || VBLADE=$(command -v vblade || echo /usr/sbin/vblade)
T0=$SECONDS

W=$(mktemp -d /tmp/kernel-bench.XXXXXX)
MNT=$W/mnt
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	trap - EXIT INT TERM
	[ -n "${KPID:-}" ] && kill -TERM "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
	mountpoint -q "$MNT" && umount "$MNT"
	if [ "$KEEP" = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM
mkdir -p "$MNT"
mount -t tmpfs -o size=$((MB + 64))m,mode=0700 tmpfs "$MNT" || die "cannot mount a tmpfs"
IMG=$MNT/img

# the floor, built natively
FLOOR=$W/floor
gcc -O2 -o "$FLOOR" "$TOP/tests/tools/floor.c" || FLOOR=''

declare -A CMD
ALL=()
# shellcheck disable=SC2016  # the harness substitutes $IFACE and $IMAGE
{
	[ -n "$AOEXD" ] && [ -x "$AOEXD" ] && { CMD[aoexd]="$AOEXD 1 2 \$IFACE \$IMAGE"; CMD[aoexd-b64]="$AOEXD -b 64 1 2 \$IFACE \$IMAGE"; }
	[ -x "$VBLADE" ] && { CMD[vblade]="$VBLADE 1 2 \$IFACE \$IMAGE"; CMD[vblade-b64]="$VBLADE -b 64 1 2 \$IFACE \$IMAGE"; }
	[ -n "$FLOOR" ] && CMD[floor]="$FLOOR 1 2 \$IFACE ${MB}M"
}
for t in aoexd aoexd-b64 vblade vblade-b64 floor; do ALL+=("$t"); done
for e in "${EXTRA[@]}"; do
	n=${e%%=*}
	[ "$n" != "$e" ] || die "--target wants NAME=CMD"
	CMD[$n]=${e#*=}
	ALL+=("$n")
done
[ -n "$TARGETS" ] || TARGETS="${ALL[*]}"
TL=()
for t in $TARGETS; do
	if [ -z "${CMD[$t]:-}" ]; then
		say "skipping $t: not available (aoexd: --aoexd PATH; vblade: apt-get install vblade; floor: gcc)"
		continue
	fi
	TL+=("$t")
done
[ ${#TL[@]} -gt 0 ] || die "no target to run"

RES=$W/results.tsv
: >"$RES"
n=0
total=$(($(wc -w <<<"$RATES") * $(wc -w <<<"$MTUS") * ${#TL[@]}))
for rate in $RATES; do
	for mtu in $MTUS; do
		for t in "${TL[@]}"; do
			n=$((n + 1))
			rm -f "$IMG"
			truncate -s "${MB}M" "$IMG"
			read -ra tcmd <<<"${CMD[$t]}"
			args=(--cache "${KI_CACHE_DIR:-/tmp/aoexd-ki-cache}" --mtu "$mtu" --bench "$MB" --bench-seconds "$RS" --qd "$QD"
				--image "$IMG" --timeout $((120 + MB / 2 + RS)))
			[ "$rate" != none ] && args+=(--rate "$rate")
			out=$W/$rate-$mtu-$t.ki
			bash "$KI" "${args[@]}" -- "${tcmd[@]}" </dev/null >"$out" 2>"$out.err" &
			KPID=$!
			wait "$KPID"
			KPID=''
			get() { sed -n "s/^KI $1=//p" "$out" | tail -n 1; }
			if [ "$(get result)" != pass ]; then
				say "[$n/$total] $rate mtu $mtu $t: failed ($(get result)); stderr:"
				tail -n 8 "$out.err" | sed 's/^/  /' >&2
				printf '%s\t%s\t%s\tfailed\n' "$rate" "$mtu" "$t" >>"$RES"
				continue
			fi
			awk -v r="$rate" -v m="$mtu" -v t="$t" -v mb="$MB" \
				-v sw="$(get seqwrite_mbps)" -v sr="$(get seqread_mbps)" -v ri="$(get randread_iops)" -v rn="$(get randread_ios)" \
				-v cw="$(get seqwrite_cpu_us)" -v cr="$(get seqread_cpu_us)" -v cq="$(get randread_cpu_us)" 'BEGIN {
				rmb = rn * 4096 / 1048576
				printf "%s\t%s\t%s\tok\t%s\t%.0f\t%s\t%.0f\t%s\t%.0f\t%.1f\n", r, m, t,
					sw, cw / mb, sr, cr / mb, ri, (rmb > 0 ? cq / rmb : 0), (rn > 0 ? cq / rn : 0)
			}' >>"$RES"
			tail -n 1 "$RES" | awk -F'\t' -v n="$n" -v tot="$total" '{ printf "kernel: [%s/%s] %s mtu %s %s: seqwrite %s MB/s (%s us/MB), seqread %s MB/s (%s us/MB), randread %s IOPS (%s us/MB, %s us/req)\n", n, tot, $1, $2, $3, $5, $6, $7, $8, $9, $10, $11 }' >&2
		done
	done
done
rm -f "$IMG"

# ------------------------------------------------------------ report
echo "# kernel.sh: Linux aoe initiator (Debian $(basename "$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)"), qemu TCG 1 vCPU) against targets on the host"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), source tree $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?'), host $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# image: $MB MiB on a private tmpfs; seq: dd bs=1M O_DIRECT $MB MiB; randread: 4 KiB O_DIRECT, $QD in flight, $RS s (kiqd)"
echo "# MB/s are MiB/s on the guest clock; CPU: the target's on-CPU time (schedstat) per MiB moved, randread also per request"
for t in "${TL[@]}"; do echo "# $t: ${CMD[$t]}"; done
echo
printf '| path | MTU | target | seqwrite MB/s | us/MB | seqread MB/s | us/MB | randread IOPS | us/MB | us/req |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
awk -F'\t' '$4 == "ok" { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ($1 == "none" ? "veth" : $1), $2, $3, $5, $6, $7, $8, $9, $10, $11 }
	$4 != "ok" { printf "| %s | %s | %s | %s | | | | | | |\n", ($1 == "none" ? "veth" : $1), $2, $3, "failed" }' "$RES"
if grep -q "	vblade	ok" "$RES"; then
	printf '\nagainst vblade (defaults): throughput ratio (IOPS for randread) / CPU per MiB ratio\n\n'
	printf '| path | MTU | target | seqwrite | seqread | randread |\n|---|---|---|---|---|---|\n'
	awk -F'\t' '
	function r(a, b) { return (b > 0 && a != "") ? sprintf("%.2f", a / b) : "-" }
	$4 == "ok" { k = $1 SUBSEP $2; for (i = 5; i <= 11; i++) v[$3, k, i] = $i; if (!(k in seen)) { seen[k] = 1; order[++nk] = k }; if (!($3 in tn)) { tn[$3] = 1; tl[++nt] = $3 } }
	END {
		for (i = 1; i <= nk; i++) {
			k = order[i]; split(k, f, SUBSEP)
			if (!(("vblade", k, 5) in v)) continue
			for (j = 1; j <= nt; j++) {
				t = tl[j]
				if (t == "vblade" || !((t, k, 5) in v)) continue
				printf "| %s | %s | %s | %s / %s | %s / %s | %s / %s |\n", (f[1] == "none" ? "veth" : f[1]), f[2], t,
					r(v[t, k, 5], v["vblade", k, 5]), r(v[t, k, 6], v["vblade", k, 6]),
					r(v[t, k, 7], v["vblade", k, 7]), r(v[t, k, 8], v["vblade", k, 8]),
					r(v[t, k, 9], v["vblade", k, 9]), r(v[t, k, 10], v["vblade", k, 10])
			}
		}
	}' "$RES"
fi
echo
echo "# total time $((SECONDS - T0)) s"
exit 0
