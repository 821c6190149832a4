/*
 * uuid.c - random bytes and version 4 UUIDs (see uuid.h).
 */
#include "util/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

int random_bytes(void *b, size_t n)
{
	unsigned char *p = b;
	size_t got = 0;
	int fd, r = 0;

	if (getrandom(p, n, GRND_NONBLOCK) == (ssize_t)n)
		return 0;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)k;
	}
	close(fd);
	return r;
}

void uuid_v4_format(unsigned char b[UUID_BYTES], char out[UUID_STR_SIZE])
{
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);     /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
	snprintf(out, UUID_STR_SIZE,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int uuid_v4_generate(char out[UUID_STR_SIZE])
{
	unsigned char b[UUID_BYTES];
	int r = random_bytes(b, sizeof(b));

	if (r < 0)
		return r;
	uuid_v4_format(b, out);
	return 0;
}
