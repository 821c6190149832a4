/*
 * slowsync.c - a slow disk's flush, for the stall benchmark (bench/stall.py).
 *
 * Loaded with LD_PRELOAD into igdd: fdatasync() and fsync() sleep
 * IGDD_BENCH_SYNC_DELAY_US microseconds, then make the real system call.
 * The daemon blocks in them exactly as it would on a slow medium (an SD
 * card or NAND flash under write load), by a controlled amount. Used where
 * the kernel has no device mapper (dm-delay) to slow a real device.
 * Benchmarks only: never built into the daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int fdatasync(int fd);
int fsync(int fd);

static long delay_us = -1;

static void slow(void)
{
	struct timespec ts;
	const char *s;

	if (delay_us < 0) {
		s = getenv("IGDD_BENCH_SYNC_DELAY_US");
		delay_us = s ? strtol(s, NULL, 10) : 0;
		if (delay_us < 0 || delay_us > 10000000)
			delay_us = 0;
		fprintf(stderr, "slowsync: fdatasync and fsync take %ld us more\n", delay_us);
	}
	ts.tv_sec = delay_us / 1000000;
	ts.tv_nsec = (delay_us % 1000000) * 1000;
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

int fdatasync(int fd)
{
	slow();
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	slow();
	return (int)syscall(SYS_fsync, fd);
}
