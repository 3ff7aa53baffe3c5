#!/bin/bash
# agent.sh - inside the guest of tests/systemd/systemd.sh (installed by
# mkroot.sh as aoexd-test-agent.service): runs the commands the host writes
# on the virtio-serial port org.aoexd.ctl and sends back their output.
#
# Host to guest, one line: "RUN TOKEN BASE64" (a bash script, base64 -w0).
# Guest to host: the script's output (stdout and stderr), then the line
# "TOKEN rc=N".  The first line the agent sends is "HELLO uptime_s=S".
# "POWEROFF" ends the guest.  The payload disk (/dev/vdb: the .debs, the
# test files) is mounted read-only on /mnt/payload first.
PORT=/dev/virtio-ports/org.aoexd.ctl
for _ in $(seq 600); do [ -e "$PORT" ] && break; sleep 0.1; done
exec 3<>"$PORT" || exit 1
mkdir -p /mnt/payload
for _ in $(seq 100); do [ -b /dev/vdb ] && break; sleep 0.1; done
mount -o ro /dev/vdb /mnt/payload
echo "HELLO uptime_s=$(cut -d' ' -f1 /proc/uptime)" >&3
while IFS= read -r line <&3; do
	read -r verb tok b64 <<<"$line"
	case $verb in
	RUN)
		base64 -d <<<"$b64" >/run/agent-cmd.sh
		(cd /root && bash /run/agent-cmd.sh) </dev/null >/run/agent-out 2>&1
		rc=$?
		cat /run/agent-out >&3
		# the status on a line of its own
		[ ! -s /run/agent-out ] || [ -z "$(tail -c1 /run/agent-out)" ] || echo >&3
		echo "$tok rc=$rc" >&3
		;;
	POWEROFF) systemctl --no-block poweroff ;;
	esac
done
