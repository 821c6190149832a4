/*
 * uuid.h - random bytes that never wait, and the text of a random
 * (version 4) UUID (RFC 4122 section 4.4: the version and variant bits
 * set, the rest random; section 3: the 36-character string form). The
 * device UUID of the description (main.c) and the GENA SIDs
 * (svc/gena.c, UDA 1.1 4.1.2: "uuid:" + a UUID) are made here.
 */
#ifndef IGDD_UUID_H
#define IGDD_UUID_H

#include <stddef.h>

#define UUID_BYTES 16
#define UUID_STR_SIZE 37                /* 36 characters and the NUL */

/*
 * n random bytes into b: getrandom() when the kernel's pool is ready,
 * else /dev/urandom (getrandom() without GRND_NONBLOCK could wait for
 * the pool at boot; /dev/urandom never blocks). 0 or -errno (-EIO: the
 * device ended early).
 */
int random_bytes(void *b, size_t n);

/* b (UUID_BYTES, random) made a version 4 UUID in place and printed to
 * out, lower-case hex: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx". */
void uuid_v4_format(unsigned char b[UUID_BYTES], char out[UUID_STR_SIZE]);

/* A random version 4 UUID into out. 0 or -errno (random_bytes()). */
int uuid_v4_generate(char out[UUID_STR_SIZE]);

#endif
