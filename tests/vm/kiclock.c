/*
 * kiclock - print CLOCK_MONOTONIC in microseconds, one line, for the guest.
 *
 * Why: busybox `date` has no %N and busybox `dd` prints no rate, and
 * /proc/uptime only has 10 ms resolution.  mkinitramfs.sh builds this with
 * `gcc -static` into the initramfs; the guest /init falls back to
 * /proc/uptime when it is missing.
 */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 1;
	printf("%lld\n", (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
	return 0;
}
