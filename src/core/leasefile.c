/*
 * leasefile.c - leases survive restarts (see leasefile.h): a snapshot
 * and an append-only journal under the state directory.
 *
 * Format, version 1. Text, one record a line, every line
 *     <crc> <body>\n
 * where <crc> is the CRC-32 (IEEE 802.3, as zlib's crc32()) of <body> in 8
 * lower-case hex digits, and <body> is tokens separated by one space:
 *     igdd-leases 1 snapshot <gen> <time>      first line of leases.snap
 *     igdd-leases 1 journal <gen> <time>       first line of leases.journal
 *     m <proto> <ext port> <remote host> <internal client> <int port>
 *       <enabled> <origin> <owner> <expiry> <desc> [<nonce>]
 *                                              the entry as it now is
 *     d <proto> <ext port> <remote host>       the lease of that key is gone
 *     p <uid> <proto> <remote> <remote port> <internal> <int port> <origin>
 *       <owner> <lan> <expiry>                 an IPv6 pinhole (core/pinhole.h) as
 *                                              it now is: proto its IANA number,
 *                                              addresses IPv6 text (remote :: and
 *                                              port 0: any), origin upnp|pcp,
 *                                              owner the control point's address
 *     q <uid>                                  the pinhole of that UniqueID is gone
 *     c <n> <time>                             journal: the n lines before
 *                                              this one (since the last c)
 *                                              are one committed action
 *     end <n>                                  snapshot: last line, n leases
 * proto TCP|UDP; addresses dotted quads (remote host 0.0.0.0: wildcard);
 * enabled 0|1; origin upnp|natpmp|pcp|static; <expiry> and <time> wall-clock
 * seconds since the epoch, <expiry> 0 for a permanent entry (no lease: the
 * admin's igddctl add without --lease); <desc> the description with '%'
 * and every byte outside 0x21..0x7e written %XX, so no byte of it can end
 * a token or a line (an empty description leaves the line ending in a
 * space, or two spaces before a nonce); <nonce> the PCP MAP nonce (RFC
 * 6887 11.1) in 24 lower-case hex digits, only when the entry has one
 * (files written before it existed read the same, without nonces).
 *
 * Reading: a line whose CRC does not match is skipped (and logged); the
 * rest is restored. In the journal only committed actions count: lines
 * after the last "c" (a crash in the middle of an append: the client was
 * never answered) are dropped, so a multi-entry action (a range delete)
 * is restored whole or not at all.
 *
 * Generations. Each snapshot and journal carries a generation; a journal
 * holds the changes made since its generation began. What is restored is
 * the snapshot of generation S, then every journal of generation >= S in
 * order (older ones are stale). leasefile_load() then writes snapshot
 * N+1 of what it restored and starts an empty journal N+1, so every run
 * starts clean. Compaction from generation G, spread over ticks:
 *   1. journal G+1 is created (temporary file, header, fdatasync); the
 *      journal G is renamed leases.journal.prev and G+1 renamed in its
 *      place, then the directory is fsync'd: commits now go to G+1;
 *   2. the table is copied into leases.snap.tmp (generation G+1) in key
 *      order, at most LF_STEP entries per tick, a cursor remembering
 *      where it is;
 *   3. fdatasync, rename to leases.snap, fsync the directory, unlink
 *      leases.journal.prev.
 * The copy in 2 is fuzzy (entries copied at different times) but every
 * record states an entry whole (nothing is an increment), so snapshot
 * G+1 + journal G+1 is exact: a key changed after step 1 ends as its last
 * journal record says; a key not changed since is as it was copied.
 * Until step 3's rename, snapshot G + prev G + journal G+1 restore it.
 * A journal I/O error, whatever state the files are in, is repaired by a
 * complete snapshot of the table (leasefile_compact()): it makes every
 * older file stale.
 *
 * Time. <expiry> is the wall clock at the write plus the lease left on
 * the table's monotonic clock. The wall clock used is never behind the
 * latest <time> found at load plus the monotonic time since (a router
 * without a battery-backed clock starts in 1970 until NTP answers:
 * leases then keep what they had left at the last write instead of
 * living for ever). Restored leases are capped at IGDD_LEASE_MAX.
 */
#define _GNU_SOURCE             /* sync_file_range */
#include "core/leasefile.h"

#include "core/mapping.h"
#include "core/pinhole.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LF_SNAP          "leases.snap"
#define LF_SNAP_TMP      "leases.snap.tmp"
#define LF_JOURNAL       "leases.journal"
#define LF_JOURNAL_TMP   "leases.journal.tmp"
#define LF_JOURNAL_PREV  "leases.journal.prev"
#define LF_MAGIC         "igdd-leases"
#define LF_VERSION       "1"

#define LF_LINE_MAX      1024            /* longest line, '\n' included (a record needs < 900) */
#define LF_BODY(line)    ((line) + 9)    /* after "<crc> " */
#define LF_MAX_TOKENS    12
#define LF_STEP          4096            /* entries copied per compaction tick */
#define LF_JOURNAL_MIN   (1u << 20)      /* compact past max(this, 2 x snapshot) bytes */
#define LF_PENDING_MAX   (32u << 20)     /* records of one action (a range delete of all) */
#define LF_SNAPBUF_MAX   (1u << 20)
#define LF_SNAPBUF_FLUSH (256u << 10)
#define LF_RETRY_MS      60000           /* after an error */
#define LF_LOG_BAD       5               /* bad lines logged one by one, then counted */
#define LF_EXPIRY_MAX    (UINT64_C(1) << 40)

enum lf_state {
	LF_IDLE,        /* one journal, one snapshot */
	LF_ROTATED,     /* step 1 done: prev + journal, snapshot to write */
	LF_WRITING,     /* step 2 in progress */
};

/* A snapshot being written to LF_SNAP_TMP. */
struct lf_snapw {
	int fd;                 /* -1: none */
	struct buf out;
	uint64_t off;           /* bytes written to fd */
	size_t count;
};

struct leasefile {
	int dirfd;
	char dir[PATH_MAX];
	const struct clock *mono;
	struct clock wall;
	uint64_t anchor_wall_s;         /* the wall clock never reads less than */
	uint64_t anchor_mono_ms;        /* ... this plus the monotonic time since this */
	bool loaded;                    /* leasefile_load() read the files */
	bool sync;
	int jfd;                        /* the journal, -1 when not started */
	uint64_t jgen;
	uint64_t jlen;                  /* bytes of the journal */
	uint64_t snap_bytes;            /* of the last snapshot */
	struct buf pending;             /* records not yet committed */
	size_t npending;
	bool recorded;                  /* a record since the last commit (kept or not) */
	int broken;                     /* 0, or the -errno that stopped the journal */
	enum lf_state state;
	struct lf_snapw sw;
	uint8_t cur_proto;              /* compaction cursor: next key to copy */
	uint16_t cur_port;
	bool want;                      /* the journal is past its bound */
	uint64_t retry_at;              /* mono ms; 0: no back-off */
	const struct pin_table *pins;   /* the pinholes every snapshot holds (NULL: none) */
	leasefile_pin_restore_fn pin_fn;
	void *pin_arg;
};

/* ------------------------------------------------------------ CRC-32 */

/* CRC-32, reflected polynomial 0xedb88320, a byte at a time. */
static uint32_t crc32_of(const void *data, size_t len)
{
	static const uint32_t tab[256] = {
		0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f,
		0xe963a535, 0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
		0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2,
		0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
		0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9,
		0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
		0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
		0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
		0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423,
		0xcfba9599, 0xb8bda50f, 0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
		0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d, 0x76dc4190, 0x01db7106,
		0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
		0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d,
		0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
		0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950,
		0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
		0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7,
		0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
		0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9, 0x5005713c, 0x270241aa,
		0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
		0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
		0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
		0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84,
		0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
		0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb,
		0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
		0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8, 0xa1d1937e,
		0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
		0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55,
		0x316e8eef, 0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
		0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28,
		0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
		0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f,
		0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
		0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
		0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
		0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69,
		0x616bffd3, 0x166ccf45, 0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
		0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db, 0xaed16a4a, 0xd9d65adc,
		0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
		0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693,
		0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
		0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
	};
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;
	size_t i;

	for (i = 0; i < len; i++)
		c = (c >> 8) ^ tab[(c ^ p[i]) & 0xff];
	return c ^ 0xffffffffu;
}

/* --------------------------------------------------------------- time */

static uint64_t wall_default_ms(void *ctx)
{
	(void)ctx;
	return clock_realtime_s() * 1000u;
}

/* The wall clock, not behind the anchor plus the monotonic time since. */
static uint64_t wall_now_s(const struct leasefile *lf, uint64_t mono_ms)
{
	uint64_t wall = clock_now(&lf->wall) / 1000u;
	uint64_t floor = lf->anchor_wall_s;

	if (mono_ms > lf->anchor_mono_ms)
		floor += (mono_ms - lf->anchor_mono_ms) / 1000u;
	return wall > floor ? wall : floor;
}

/* The absolute expiry of m: the lease left, rounded up, at least 1 s;
 * 0 for a permanent entry. */
static uint64_t expiry_of(const struct mapping *m, uint64_t mono_ms, uint64_t wall_s)
{
	uint64_t left = m->lease_end_ms > mono_ms ? (m->lease_end_ms - mono_ms + 999) / 1000 : 0;

	if (m->lease_end_ms == 0)
		return 0;

	return wall_s + (left ? left : 1);
}

/* Entries of the three protocols and the admin's, leased or permanent. */
static bool persisted(const struct mapping *m)
{
	return m->origin == MAP_ORIGIN_UPNP || m->origin == MAP_ORIGIN_NATPMP ||
	       m->origin == MAP_ORIGIN_PCP || m->origin == MAP_ORIGIN_STATIC;
}

static bool has_nonce(const struct mapping *m)
{
	static const uint8_t zero[sizeof(m->nonce)];

	return memcmp(m->nonce, zero, sizeof(zero)) != 0;
}

/* ----------------------------------------------------------- writing */

static const char *proto_tok(uint8_t proto)
{
	return proto == MAP_UDP ? "UDP" : "TCP";
}

static const char *origin_tok(uint8_t origin)
{
	switch (origin) {
	case MAP_ORIGIN_NATPMP: return "natpmp";
	case MAP_ORIGIN_PCP: return "pcp";
	case MAP_ORIGIN_STATIC: return "static";
	default: return "upnp";
	}
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_ipv4(char *p, struct in_addr a)
{
	const unsigned char *b = (const unsigned char *)&a.s_addr;

	p = put_u64(p, b[0]);
	*p++ = '.';
	p = put_u64(p, b[1]);
	*p++ = '.';
	p = put_u64(p, b[2]);
	*p++ = '.';
	return put_u64(p, b[3]);
}

/* At most IGDD_MAX_DESC_LEN bytes, each at most 3 characters. */
static char *put_desc(char *p, const char *d)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; d && d[i] && i < IGDD_MAX_DESC_LEN; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c > 0x20 && c < 0x7f && c != '%') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

/* The key: "<proto> <ext port> <remote host>". */
static char *put_key(char *p, const struct mapping *m)
{
	p = put_str(p, proto_tok(m->proto));
	*p++ = ' ';
	p = put_u64(p, m->ext_port);
	*p++ = ' ';
	return put_ipv4(p, m->remote_host);
}

/* Prefix the body that ends at end with its CRC, end it with '\n'. */
static size_t finish_line(char *line, char *end)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t crc = crc32_of(LF_BODY(line), (size_t)(end - LF_BODY(line)));
	int i;

	for (i = 0; i < 8; i++)
		line[i] = hex[(crc >> (28 - 4 * i)) & 15];
	line[8] = ' ';
	*end++ = '\n';
	return (size_t)(end - line);
}

static size_t format_put(char *line, const struct mapping *m, uint64_t expiry)
{
	char *p = LF_BODY(line);

	p = put_str(p, "m ");
	p = put_key(p, m);
	*p++ = ' ';
	p = put_ipv4(p, m->internal_client);
	*p++ = ' ';
	p = put_u64(p, m->int_port);
	p = put_str(p, m->enabled ? " 1 " : " 0 ");
	p = put_str(p, origin_tok(m->origin));
	*p++ = ' ';
	p = put_ipv4(p, m->owner);
	*p++ = ' ';
	p = put_u64(p, expiry);
	*p++ = ' ';
	p = put_desc(p, m->desc);
	if (has_nonce(m)) {
		static const char hex[] = "0123456789abcdef";
		size_t i;

		*p++ = ' ';
		for (i = 0; i < sizeof(m->nonce); i++) {
			*p++ = hex[m->nonce[i] >> 4];
			*p++ = hex[m->nonce[i] & 15];
		}
	}
	return finish_line(line, p);
}

static size_t format_delete(char *line, const struct mapping *m)
{
	char *p = put_str(LF_BODY(line), "d ");

	return finish_line(line, put_key(p, m));
}

/* ---- pinholes ---- */

static uint64_t pin_expiry_of(const struct pinhole *ph, uint64_t mono_ms, uint64_t wall_s)
{
	uint64_t left = ph->lease_end_ms > mono_ms ? (ph->lease_end_ms - mono_ms + 999) / 1000 : 0;

	return wall_s + (left ? left : 1);
}

static bool pin_persisted(const struct pinhole *ph)
{
	return ph->lease_end_ms != 0 &&
	       (ph->origin == PIN_ORIGIN_UPNP || ph->origin == PIN_ORIGIN_PCP);
}

static char *put_ipv6(char *p, const struct in6_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, text, sizeof(text));
	return put_str(p, text);
}

static size_t format_pin(char *line, const struct pinhole *ph, uint64_t expiry)
{
	char *p = LF_BODY(line), owner[IPADDR_STRLEN];

	p = put_str(p, "p ");
	p = put_u64(p, ph->uid);
	*p++ = ' ';
	p = put_u64(p, ph->proto);
	*p++ = ' ';
	p = put_ipv6(p, &ph->remote);
	*p++ = ' ';
	p = put_u64(p, ph->remote_port);
	*p++ = ' ';
	p = put_ipv6(p, &ph->internal);
	*p++ = ' ';
	p = put_u64(p, ph->int_port);
	p = put_str(p, ph->origin == PIN_ORIGIN_PCP ? " pcp " : " upnp ");
	if (ph->owner.family)
		ipaddr_ntop(&ph->owner, owner, sizeof(owner));
	else
		memcpy(owner, "-", 2);
	p = put_str(p, owner);
	*p++ = ' ';
	p = put_u64(p, ph->lan);
	*p++ = ' ';
	p = put_u64(p, expiry);
	return finish_line(line, p);
}

static size_t format_pin_delete(char *line, const struct pinhole *ph)
{
	char *p = put_str(LF_BODY(line), "q ");

	return finish_line(line, put_u64(p, ph->uid));
}

/* "<word> <a>" or, with b, "<word> <a> <b>" (headers, commits, end). */
static size_t format_words(char *line, const char *words, uint64_t a, const uint64_t *b)
{
	char *p = put_str(LF_BODY(line), words);

	*p++ = ' ';
	p = put_u64(p, a);
	if (b) {
		*p++ = ' ';
		p = put_u64(p, *b);
	}
	return finish_line(line, p);
}

static int write_at(int fd, const void *data, size_t len, uint64_t off)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int sync_dir(const struct leasefile *lf)
{
	return fsync(lf->dirfd) < 0 ? -errno : 0;
}

static int create_in_dir(const struct leasefile *lf, const char *name)
{
	int fd = openat(lf->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			0600);

	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------ the snapshot */

static void snapw_abort(struct leasefile *lf)
{
	if (lf->sw.fd >= 0) {
		close(lf->sw.fd);
		unlinkat(lf->dirfd, LF_SNAP_TMP, 0);
	}
	lf->sw.fd = -1;
	buf_reset(&lf->sw.out);
}

static int snapw_flush(struct leasefile *lf, bool start_writeback)
{
	struct lf_snapw *sw = &lf->sw;
	int r;

	if (sw->out.len == 0)
		return 0;
	r = write_at(sw->fd, sw->out.p, sw->out.len, sw->off);
	if (r < 0)
		return r;
	/* Let the disk start now, so that the final fdatasync waits less. */
	if (start_writeback)
		sync_file_range(sw->fd, (off_t)sw->off, (off_t)sw->out.len, SYNC_FILE_RANGE_WRITE);
	sw->off += sw->out.len;
	buf_reset(&sw->out);
	return 0;
}

static int snapw_line(struct leasefile *lf, const char *line, size_t len)
{
	int r = buf_append(&lf->sw.out, line, len);

	if (r == 0 && lf->sw.out.len >= LF_SNAPBUF_FLUSH)
		r = snapw_flush(lf, false);
	return r;
}

static int snapw_begin(struct leasefile *lf, uint64_t gen, uint64_t wall_s)
{
	char line[LF_LINE_MAX];
	int fd;

	snapw_abort(lf);
	fd = create_in_dir(lf, LF_SNAP_TMP);
	if (fd < 0)
		return fd;
	lf->sw.fd = fd;
	lf->sw.off = 0;
	lf->sw.count = 0;
	return snapw_line(lf, line, format_words(line, LF_MAGIC " " LF_VERSION " snapshot", gen,
						 &wall_s));
}

static int snapw_add(struct leasefile *lf, const struct mapping *m, uint64_t expiry)
{
	char line[LF_LINE_MAX];

	lf->sw.count++;
	return snapw_line(lf, line, format_put(line, m, expiry));
}

/* Every persisted pinhole of lf->pins (at most IGDD_MAX_PINHOLES: in one go). */
static int snapw_pins(struct leasefile *lf)
{
	uint64_t mono = clock_now(lf->mono), wall = wall_now_s(lf, mono);
	const struct pinhole *ph;
	char line[LF_LINE_MAX];
	int r = 0;

	if (!lf->pins)
		return 0;
	for (ph = pin_first(lf->pins); ph && r == 0; ph = pin_next(lf->pins, ph)) {
		if (!pin_persisted(ph))
			continue;
		lf->sw.count++;
		r = snapw_line(lf, line, format_pin(line, ph, pin_expiry_of(ph, mono, wall)));
	}
	return r;
}

/* Trailer, fdatasync, rename into place, fsync the directory. */
static int snapw_finish(struct leasefile *lf)
{
	char line[LF_LINE_MAX];
	int r;

	r = snapw_line(lf, line, format_words(line, "end", lf->sw.count, NULL));
	if (r == 0)
		r = snapw_flush(lf, false);
	if (r == 0 && fdatasync(lf->sw.fd) < 0)
		r = -errno;
	if (r == 0 && renameat(lf->dirfd, LF_SNAP_TMP, lf->dirfd, LF_SNAP) < 0)
		r = -errno;
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	close(lf->sw.fd);
	lf->sw.fd = -1;
	lf->snap_bytes = lf->sw.off;
	return sync_dir(lf);
}

/* ------------------------------------------------------- the journal */

/* A new journal of generation gen in LF_JOURNAL_TMP, header synced. */
static int journal_create(struct leasefile *lf, uint64_t gen, int *ret_fd, uint64_t *ret_len)
{
	uint64_t wall = wall_now_s(lf, clock_now(lf->mono));
	char line[LF_LINE_MAX];
	size_t len = format_words(line, LF_MAGIC " " LF_VERSION " journal", gen, &wall);
	int fd = create_in_dir(lf, LF_JOURNAL_TMP), r;

	if (fd < 0)
		return fd;
	r = write_at(fd, line, len, 0);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
		return r;
	}
	*ret_fd = fd;
	*ret_len = len;
	return 0;
}

static void journal_use(struct leasefile *lf, int fd, uint64_t gen, uint64_t len)
{
	if (lf->jfd >= 0)
		close(lf->jfd);
	lf->jfd = fd;
	lf->jgen = gen;
	lf->jlen = len;
	lf->broken = 0;
	buf_reset(&lf->pending);
	lf->npending = 0;
}

/*
 * Start journal gen. rotate: keep the current one as LF_JOURNAL_PREV
 * (compaction step 1); else it is replaced (a complete snapshot made it
 * stale). lf->jgen == gen tells whether the switch happened: it has when
 * only the directory fsync failed, and then the journal is marked broken
 * (its name may not be on disk yet).
 */
static int journal_start(struct leasefile *lf, uint64_t gen, bool rotate)
{
	uint64_t len;
	int fd, r;

	r = journal_create(lf, gen, &fd, &len);
	if (r < 0)
		return r;
	if (rotate && renameat(lf->dirfd, LF_JOURNAL, lf->dirfd, LF_JOURNAL_PREV) < 0) {
		r = -errno;
		goto fail;
	}
	if (renameat(lf->dirfd, LF_JOURNAL_TMP, lf->dirfd, LF_JOURNAL) < 0) {
		r = -errno;
		if (rotate)
			renameat(lf->dirfd, LF_JOURNAL_PREV, lf->dirfd, LF_JOURNAL);
		goto fail;
	}
	r = sync_dir(lf);
	journal_use(lf, fd, gen, len);  /* renamed: this is the journal now */
	if (r < 0)
		lf->broken = r;
	return r;
fail:
	close(fd);
	unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
	return r;
}

static void journal_break(struct leasefile *lf, int err, const char *what)
{
	if (!lf->broken)
		log_warnx("%s/%s: %s: %s; leases will be rewritten whole", lf->dir, LF_JOURNAL,
			  what, strerror(-err));
	lf->broken = err;
	buf_reset(&lf->pending);
	lf->npending = 0;
}

static int record_line(struct leasefile *lf, const char *line, size_t len)
{
	int r;

	lf->recorded = true;
	if (lf->broken)
		return lf->broken;
	if (lf->jfd < 0)
		return -EBADF;
	r = buf_append(&lf->pending, line, len);
	if (r < 0) {
		journal_break(lf, r == -E2BIG ? -ENOBUFS : r, "too many records in one action");
		return lf->broken;
	}
	lf->npending++;
	return 0;
}

int leasefile_record_put(struct leasefile *lf, const struct mapping *m)
{
	char line[LF_LINE_MAX];
	uint64_t mono;

	if (!lf || !persisted(m))
		return 0;
	mono = clock_now(lf->mono);
	return record_line(lf, line, format_put(line, m, expiry_of(m, mono, wall_now_s(lf, mono))));
}

int leasefile_record_delete(struct leasefile *lf, const struct mapping *m)
{
	char line[LF_LINE_MAX];

	if (!lf || !persisted(m))
		return 0;
	return record_line(lf, line, format_delete(line, m));
}

int leasefile_record_pin_put(struct leasefile *lf, const struct pinhole *ph)
{
	uint64_t mono;
	char line[LF_LINE_MAX];

	if (!lf || !pin_persisted(ph))
		return 0;
	mono = clock_now(lf->mono);
	return record_line(lf, line, format_pin(line, ph, pin_expiry_of(ph, mono,
									  wall_now_s(lf, mono))));
}

int leasefile_record_pin_delete(struct leasefile *lf, const struct pinhole *ph)
{
	char line[LF_LINE_MAX];

	if (!lf || !pin_persisted(ph))
		return 0;
	return record_line(lf, line, format_pin_delete(line, ph));
}

void leasefile_set_pins(struct leasefile *lf, const struct pin_table *pins,
			leasefile_pin_restore_fn fn, void *arg)
{
	if (!lf)
		return;
	lf->pins = pins;
	lf->pin_fn = fn;
	lf->pin_arg = arg;
}

int leasefile_commit(struct leasefile *lf)
{
	char line[LF_LINE_MAX];
	uint64_t wall;
	int r;

	if (!lf || !lf->recorded)
		return 0;
	lf->recorded = false;
	if (lf->broken || lf->jfd < 0)
		return lf->broken ? lf->broken : -EBADF;
	wall = wall_now_s(lf, clock_now(lf->mono));
	r = buf_append(&lf->pending, line, format_words(line, "c", lf->npending, &wall));
	if (r == -E2BIG)
		r = -ENOBUFS;
	if (r == 0)
		r = write_at(lf->jfd, lf->pending.p, lf->pending.len, lf->jlen);
	if (r == 0 && lf->sync && fdatasync(lf->jfd) < 0)
		r = -errno;
	if (r < 0) {
		journal_break(lf, r, "cannot append");
		return r;
	}
	lf->jlen += lf->pending.len;
	buf_reset(&lf->pending);
	lf->npending = 0;
	if (lf->state == LF_IDLE && lf->jlen > LF_JOURNAL_MIN && lf->jlen > 2 * lf->snap_bytes)
		lf->want = true;
	return 0;
}

/* -------------------------------------------------------- compaction */

/* The first entry at or after (proto, port) in table order. */
static const struct mapping *entry_at(const struct map_table *t, uint8_t proto, uint16_t port)
{
	const struct mapping *m = map_range_first(t, proto, port, 65535);

	if (!m && proto == MAP_TCP)
		m = map_range_first(t, MAP_UDP, 0, 65535);
	return m;
}

/*
 * Copy entries from the cursor into the snapshot, about budget of them,
 * always whole ports (a cursor is a port). 1: more to copy; 0: done.
 */
static int copy_entries(struct leasefile *lf, const struct map_table *t, size_t budget)
{
	uint64_t mono = clock_now(lf->mono), wall = wall_now_s(lf, mono);
	const struct mapping *m, *last = NULL;
	size_t n = 0;
	int r;

	for (m = entry_at(t, lf->cur_proto, lf->cur_port); m; m = map_next(t, m)) {
		if (n >= budget && (m->proto != last->proto || m->ext_port != last->ext_port)) {
			lf->cur_proto = m->proto;
			lf->cur_port = m->ext_port;
			return 1;
		}
		if (persisted(m) && (r = snapw_add(lf, m, expiry_of(m, mono, wall))) < 0)
			return r;
		last = m;
		n++;
	}
	return 0;
}

/* Step 1: rotate the journal. */
static int compact_begin(struct leasefile *lf)
{
	uint64_t gen = lf->jgen + 1;
	int r = journal_start(lf, gen, true);

	if (lf->jgen == gen) {          /* prev holds generation gen - 1 now */
		lf->state = LF_ROTATED;
		lf->want = false;
	}
	return r;
}

/* Step 2 (one slice), then step 3 when the copy is complete. */
static int compact_step(struct leasefile *lf, const struct map_table *t)
{
	uint64_t mono = clock_now(lf->mono);
	int r;

	if (lf->state == LF_ROTATED) {
		r = snapw_begin(lf, lf->jgen, wall_now_s(lf, mono));
		if (r == 0)
			r = snapw_pins(lf);
		if (r < 0)
			goto fail;
		lf->cur_proto = MAP_TCP;
		lf->cur_port = 0;
		lf->state = LF_WRITING;
	}
	r = copy_entries(lf, t, LF_STEP);
	if (r > 0)
		r = snapw_flush(lf, true);
	else if (r == 0)
		r = snapw_finish(lf);
	if (r < 0)
		goto fail;
	if (lf->sw.fd < 0) {
		unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
		lf->state = LF_IDLE;
		return 0;
	}
	return 1;
fail:
	snapw_abort(lf);
	lf->state = LF_ROTATED;         /* the copy starts over, journal kept */
	return r;
}

int leasefile_compact(struct leasefile *lf, const struct map_table *t)
{
	uint64_t gen, mono;
	int r;

	if (!lf->loaded)
		return -EBADF;
	if (lf->state == LF_WRITING) {
		snapw_abort(lf);
		lf->state = LF_ROTATED;
	}
	gen = lf->jgen + 1;
	mono = clock_now(lf->mono);
	r = snapw_begin(lf, gen, wall_now_s(lf, mono));
	lf->cur_proto = MAP_TCP;
	lf->cur_port = 0;
	if (r == 0)
		r = snapw_pins(lf);
	if (r == 0)
		r = copy_entries(lf, t, SIZE_MAX);
	if (r == 0)
		r = snapw_finish(lf);
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	/* Snapshot gen is complete: every older file is stale from here,
	 * the journal too until it is replaced. */
	r = journal_start(lf, gen, false);
	if (r < 0) {
		lf->jgen = gen;         /* the next attempt must go past the snapshot */
		if (!lf->broken)
			lf->broken = r;
		return r;
	}
	unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
	lf->state = LF_IDLE;
	lf->want = false;
	return 0;
}

uint64_t leasefile_next_deadline(const struct leasefile *lf)
{
	uint64_t now;

	if (!lf || !lf->loaded || (!lf->broken && lf->jfd >= 0 && lf->state == LF_IDLE &&
				   !lf->want))
		return 0;
	now = clock_now(lf->mono);
	if (lf->retry_at > now)
		return lf->retry_at;
	return now ? now : 1;
}

void leasefile_tick(struct leasefile *lf, const struct map_table *t)
{
	uint64_t due = leasefile_next_deadline(lf), now;
	int r;

	if (!due || due > (now = clock_now(lf->mono)))
		return;
	if (lf->broken || lf->jfd < 0) {
		r = leasefile_compact(lf, t);
		if (r == 0)
			log_info("%s: leases rewritten; the journal works again", lf->dir);
	} else {
		r = lf->state == LF_IDLE ? compact_begin(lf) : 0;
		if (r == 0)
			r = compact_step(lf, t);
	}
	if (r < 0) {
		log_warnx("%s: lease compaction failed: %s; retrying in %u s", lf->dir,
			  strerror(-r), LF_RETRY_MS / 1000);
		lf->retry_at = now + LF_RETRY_MS;
	} else {
		lf->retry_at = 0;
	}
}

/* ----------------------------------------------------------- parsing */

/* One parsed "m", "d", "p" or "q" record. */
struct lf_rec {
	char type;
	struct mapping m;
	struct pinhole pin;
	uint64_t expiry;
	char desc[IGDD_MAX_DESC_LEN + 1];
};

/* Split at single spaces; returns max + 1 when there are more tokens. */
static size_t split(struct str body, struct str *tok, size_t max)
{
	const char *s = body.p, *end = body.p + body.len, *sp;
	size_t n = 0;

	for (;;) {
		if (n == max)
			return max + 1;
		sp = memchr(s, ' ', (size_t)(end - s));
		tok[n++] = str_from(s, sp ? (size_t)(sp - s) : (size_t)(end - s));
		if (!sp)
			return n;
		s = sp + 1;
	}
}

static bool parse_u64(struct str s, uint64_t max, uint64_t *ret)
{
	return s.len > 0 && s.p[0] != '+' && str_to_u64(s, max, ret) == 0;
}

static bool parse_port(struct str s, uint16_t *ret)
{
	uint64_t v;

	if (!parse_u64(s, 65535, &v) || v == 0)
		return false;
	*ret = (uint16_t)v;
	return true;
}

static bool parse_ipv4(struct str s, struct in_addr *ret)
{
	char text[INET_ADDRSTRLEN];

	return str_copy(s, text, sizeof(text)) == 0 && inet_pton(AF_INET, text, ret) == 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo put_desc(): no NUL, at most IGDD_MAX_DESC_LEN bytes. */
static bool parse_desc(struct str s, char out[IGDD_MAX_DESC_LEN + 1])
{
	size_t i, o = 0;

	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		int hi, lo;

		if (o == IGDD_MAX_DESC_LEN)
			return false;
		if (c == '%') {
			if (i + 2 >= s.len)
				return false;
			hi = hexval(s.p[i + 1]);
			lo = hexval(s.p[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return false;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c > 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

/* 24 hex digits, not all zero (format_put() writes none for no nonce). */
static bool parse_nonce(struct str s, uint8_t out[12])
{
	size_t i;
	int hi, lo;

	if (s.len != 24)
		return false;
	for (i = 0; i < 12; i++) {
		hi = hexval(s.p[2 * i]);
		lo = hexval(s.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	for (i = 0; i < 12; i++)
		if (out[i])
			return true;
	return false;
}

static bool parse_key(const struct str *t, struct mapping *m)
{
	if (str_eq_cstr(t[0], "TCP"))
		m->proto = MAP_TCP;
	else if (str_eq_cstr(t[0], "UDP"))
		m->proto = MAP_UDP;
	else
		return false;
	return parse_port(t[1], &m->ext_port) && parse_ipv4(t[2], &m->remote_host);
}

static bool parse_origin(struct str s, uint8_t *ret)
{
	if (str_eq_cstr(s, "upnp"))
		*ret = MAP_ORIGIN_UPNP;
	else if (str_eq_cstr(s, "natpmp"))
		*ret = MAP_ORIGIN_NATPMP;
	else if (str_eq_cstr(s, "pcp"))
		*ret = MAP_ORIGIN_PCP;
	else if (str_eq_cstr(s, "static"))
		*ret = MAP_ORIGIN_STATIC;
	else
		return false;
	return true;
}

static bool parse_ipv6(struct str s, struct in6_addr *ret)
{
	char text[INET6_ADDRSTRLEN];

	return str_copy(s, text, sizeof(text)) == 0 && inet_pton(AF_INET6, text, ret) == 1;
}

/* "p ..." (t[0] is "p", n tokens). */
static const char *parse_pin(const struct str *t, size_t n, struct lf_rec *r)
{
	struct pinhole *ph = &r->pin;
	uint64_t v;

	memset(ph, 0, sizeof(*ph));
	r->type = 'p';
	if (n != 11)
		return "bad pinhole record";
	if (!parse_u64(t[1], 65535, &v) || v == 0)
		return "bad pinhole id";
	ph->uid = (uint16_t)v;
	if (!parse_u64(t[2], 255, &v) || !pin_proto_name((uint8_t)v))
		return "bad pinhole protocol";
	ph->proto = (uint8_t)v;
	if (!parse_ipv6(t[3], &ph->remote) || !parse_u64(t[4], 65535, &v))
		return "bad pinhole remote host";
	ph->remote_port = (uint16_t)v;
	if (!parse_ipv6(t[5], &ph->internal) || !parse_port(t[6], &ph->int_port))
		return "bad pinhole internal client";
	if (str_eq_cstr(t[7], "upnp"))
		ph->origin = PIN_ORIGIN_UPNP;
	else if (str_eq_cstr(t[7], "pcp"))
		ph->origin = PIN_ORIGIN_PCP;
	else
		return "bad pinhole origin";
	if (!str_eq_cstr(t[8], "-") && ipaddr_parse(t[8], &ph->owner) < 0)
		return "bad pinhole owner";
	if (!parse_u64(t[9], IGDD_CONF_MAX_LANS - 1, &v))
		return "bad pinhole LAN";
	ph->lan = (uint8_t)v;
	if (!parse_u64(t[10], LF_EXPIRY_MAX, &r->expiry))
		return "bad expiry";
	return NULL;
}

/* A record body into r; NULL, or why it is bad. */
static const char *parse_record(struct str body, struct lf_rec *r)
{
	struct str t[LF_MAX_TOKENS];
	size_t n = split(body, t, LF_MAX_TOKENS);
	uint64_t v;

	memset(&r->m, 0, sizeof(r->m));
	r->m.desc = r->desc;
	r->desc[0] = '\0';
	r->expiry = 0;
	if (n == 4 && str_eq_cstr(t[0], "d")) {
		r->type = 'd';
		return parse_key(t + 1, &r->m) ? NULL : "bad key";
	}
	if (str_eq_cstr(t[0], "p"))
		return parse_pin(t, n, r);
	if (n == 2 && str_eq_cstr(t[0], "q")) {
		r->type = 'q';
		memset(&r->pin, 0, sizeof(r->pin));
		if (!parse_u64(t[1], 65535, &v) || v == 0)
			return "bad pinhole id";
		r->pin.uid = (uint16_t)v;
		return NULL;
	}
	if ((n != 11 && n != 12) || !str_eq_cstr(t[0], "m"))
		return "unknown record";
	r->type = 'm';
	r->m.enabled = str_eq_cstr(t[6], "1");
	r->m.lease_end_ms = 0;
	if (!parse_key(t + 1, &r->m))
		return "bad key";
	if (!parse_ipv4(t[4], &r->m.internal_client) || !parse_port(t[5], &r->m.int_port))
		return "bad internal client";
	if (!r->m.enabled && !str_eq_cstr(t[6], "0"))
		return "bad enabled flag";
	if (!parse_origin(t[7], &r->m.origin) || !parse_ipv4(t[8], &r->m.owner))
		return "bad origin";
	if (!parse_u64(t[9], LF_EXPIRY_MAX, &r->expiry))
		return "bad expiry";
	if (n == 12 && !parse_nonce(t[11], r->m.nonce))
		return "bad nonce";
	return parse_desc(t[10], r->desc) ? NULL : "bad description";
}

/* A line (without '\n') whose CRC matches: its body; or why not. */
static const char *check_line(struct str line, struct str *ret_body)
{
	uint32_t crc = 0;
	int i, v;

	if (line.len < 10 || line.p[8] != ' ')
		return "not a record line";
	for (i = 0; i < 8; i++) {
		if ((v = hexval(line.p[i])) < 0)
			return "not a record line";
		crc = crc << 4 | (uint32_t)v;
	}
	*ret_body = str_from(line.p + 9, line.len - 9);
	return crc == crc32_of(ret_body->p, ret_body->len) ? NULL : "checksum mismatch";
}

/* ------------------------------------------------------ the load map */

/* The state of one key after the records read so far. */
struct lf_entry {
	struct mapping m;               /* desc owned (NULL once deleted) */
	uint64_t expiry;
	bool live;
};

/* Entries in the order their keys first appeared, and a hash index. */
struct lf_map {
	struct lf_entry *v;
	size_t n, cap;
	uint32_t *idx;                  /* entry index + 1; 0: empty slot */
	size_t icap;                    /* a power of two */
};

static uint64_t key_of(const struct mapping *m)
{
	return (uint64_t)m->proto << 48 | (uint64_t)m->ext_port << 32 | m->remote_host.s_addr;
}

static uint32_t *lmap_slot(const struct lf_map *lm, uint64_t key)
{
	size_t i = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (lm->icap - 1);

	while (lm->idx[i] && key_of(&lm->v[lm->idx[i] - 1].m) != key)
		i = (i + 1) & (lm->icap - 1);
	return &lm->idx[i];
}

/* Room for one more key: the index at most half full. */
static int lmap_reserve(struct lf_map *lm)
{
	size_t i, ncap;
	uint32_t *old = lm->idx;
	struct lf_entry *nv;

	if (lm->n == lm->cap) {
		ncap = lm->cap ? lm->cap * 2 : 1024;
		if (ncap > UINT32_MAX / 2 || !(nv = realloc(lm->v, ncap * sizeof(*nv))))
			return -ENOMEM;
		lm->v = nv;
		lm->cap = ncap;
	}
	if ((lm->n + 1) * 2 <= lm->icap)
		return 0;
	ncap = lm->icap ? lm->icap * 2 : 2048;
	lm->idx = calloc(ncap, sizeof(*lm->idx));
	if (!lm->idx) {
		lm->idx = old;
		return -ENOMEM;
	}
	lm->icap = ncap;
	for (i = 0; i < lm->n; i++)
		*lmap_slot(lm, key_of(&lm->v[i].m)) = (uint32_t)(i + 1);
	free(old);
	return 0;
}

static int lmap_put(struct lf_map *lm, const struct lf_rec *r)
{
	struct lf_entry *e;
	uint32_t *slot;
	char *desc;

	if (lmap_reserve(lm) < 0 || !(desc = strdup(r->desc)))
		return -ENOMEM;
	slot = lmap_slot(lm, key_of(&r->m));
	if (*slot) {
		e = &lm->v[*slot - 1];
		free(e->m.desc);
	} else {
		e = &lm->v[lm->n++];
		*slot = (uint32_t)lm->n;
	}
	e->m = r->m;
	e->m.desc = desc;
	e->expiry = r->expiry;
	e->live = true;
	return 0;
}

static void lmap_del(struct lf_map *lm, const struct mapping *key)
{
	uint32_t *slot;
	struct lf_entry *e;

	if (!lm->icap)
		return;
	slot = lmap_slot(lm, key_of(key));
	if (!*slot)
		return;
	e = &lm->v[*slot - 1];
	free(e->m.desc);
	e->m.desc = NULL;
	e->live = false;
}

static void lmap_free(struct lf_map *lm)
{
	size_t i;

	for (i = 0; i < lm->n; i++)
		free(lm->v[i].m.desc);
	free(lm->v);
	free(lm->idx);
	memset(lm, 0, sizeof(*lm));
}

/* ----------------------------------------------------------- reading */

struct lf_lines {
	const char *p, *end;
	size_t lineno;                  /* of the line last returned */
};

/* The next line, without its '\n'; *ret_torn when it has none (the end
 * of the file came first). */
static bool next_line(struct lf_lines *it, struct str *ret, bool *ret_torn)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*ret_torn = !nl;
	*ret = str_from(it->p, (size_t)((nl ? nl : it->end) - it->p));
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	return true;
}

/* One of the three files, mapped. */
struct lf_file {
	const char *name;
	const char *kind;               /* "snapshot" or "journal" */
	char *p;                        /* NULL when absent or empty */
	size_t len;
	bool mapped;                    /* p is a mapping of the file (not the caller's memory) */
	bool usable;                    /* its header was read */
	uint64_t gen, time;
	struct lf_lines body;           /* the lines after the header */
};

/* The pinholes read so far, by UniqueID. */
struct lf_pins {
	struct lf_pin {
		struct pinhole p;
		uint64_t expiry;
		bool live;
	} *v;
	size_t n, cap;
	uint32_t *idx;                  /* 65536 slots: entry index + 1; 0: none */
};

struct lf_load {
	const char *dir;                /* for messages */
	struct lf_map map;
	struct lf_pins pins;
	struct leasefile_stats st;
	uint64_t newest;                /* the latest <time> read */
	size_t nbad;                    /* bad lines seen (the first few logged) */
	int err;                        /* -ENOMEM */
};

static int lpins_put(struct lf_pins *lp, const struct lf_rec *r)
{
	struct lf_pin *nv;
	uint32_t *slot;

	if (!lp->idx && !(lp->idx = calloc(65536, sizeof(*lp->idx))))
		return -ENOMEM;
	slot = &lp->idx[r->pin.uid];
	if (!*slot) {
		if (lp->n == lp->cap) {
			size_t cap = lp->cap ? lp->cap * 2 : 64;

			nv = realloc(lp->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			lp->v = nv;
			lp->cap = cap;
		}
		*slot = (uint32_t)++lp->n;
	}
	lp->v[*slot - 1].p = r->pin;
	lp->v[*slot - 1].expiry = r->expiry;
	lp->v[*slot - 1].live = true;
	return 0;
}

static void lpins_del(struct lf_pins *lp, uint16_t uid)
{
	if (lp->idx && lp->idx[uid])
		lp->v[lp->idx[uid] - 1].live = false;
}

static void lpins_free(struct lf_pins *lp)
{
	free(lp->v);
	free(lp->idx);
	memset(lp, 0, sizeof(*lp));
}

/* One record of a snapshot or a committed journal group. */
static int apply_record(struct lf_load *c, const struct lf_rec *rec)
{
	switch (rec->type) {
	case 'm': return lmap_put(&c->map, rec);
	case 'p': return lpins_put(&c->pins, rec);
	case 'q': lpins_del(&c->pins, rec->pin.uid); return 0;
	default: lmap_del(&c->map, &rec->m); return 0;
	}
}

static void bad_line(struct lf_load *c, const char *file, size_t lineno, const char *why)
{
	c->st.bad++;
	if (c->nbad++ < LF_LOG_BAD)
		log_warnx("%s/%s:%zu: %s; skipped", c->dir, file, lineno, why);
}

static int file_map(const struct leasefile *lf, struct lf_file *f)
{
	int fd = openat(lf->dirfd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;
	struct stat st;
	void *p;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
	} else if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			r = -errno;
		} else {
			f->p = p;
			f->len = (size_t)st.st_size;
			f->mapped = true;
		}
	}
	close(fd);
	return r;
}

static void file_unmap(struct lf_file *f)
{
	if (f->p && f->mapped)
		munmap(f->p, f->len);
	f->p = NULL;
	f->mapped = false;
}

/* "igdd-leases 1 <kind> <gen> <time>": the file is usable. */
static void file_header(struct lf_load *c, struct lf_file *f)
{
	struct str line, body, t[6];
	const char *why;
	bool torn;

	/* An absent file has no bytes: no pointer arithmetic on NULL. */
	f->body = (struct lf_lines){ f->p, f->p ? f->p + f->len : NULL, 0 };
	if (!f->p || !next_line(&f->body, &line, &torn))
		return;
	why = torn ? "incomplete header" : check_line(line, &body);
	if (!why) {
		if (split(body, t, 5) != 5 || !str_eq_cstr(t[0], LF_MAGIC))
			why = "not a lease file";
		else if (!str_eq_cstr(t[1], LF_VERSION))
			why = "unsupported format version";
		else if (!str_eq_cstr(t[2], f->kind) || !parse_u64(t[3], UINT64_MAX / 4, &f->gen) ||
			 !parse_u64(t[4], LF_EXPIRY_MAX, &f->time))
			why = "bad header";
	}
	if (why) {
		c->st.bad++;
		log_warnx("%s/%s: %s; file ignored", c->dir, f->name, why);
		return;
	}
	f->usable = true;
	if (f->time > c->newest)
		c->newest = f->time;
}

static void replay_snapshot(struct lf_load *c, struct lf_file *f)
{
	struct str line, body, t[3];
	struct lf_rec rec;
	const char *why;
	bool torn, ended = false;
	uint64_t n;

	while (!c->err && next_line(&f->body, &line, &torn)) {
		why = torn ? "incomplete line" : check_line(line, &body);
		if (!why && ended)
			why = "line after the end line";
		if (!why && str_startswith_cstr(body, "end ")) {
			ended = true;
			if (split(body, t, 2) == 2 && parse_u64(t[1], SIZE_MAX, &n))
				continue;
			why = "bad end line";
		}
		if (!why)
			why = parse_record(body, &rec);
		if (!why && rec.type != 'm' && rec.type != 'p')
			why = "delete record in a snapshot";
		if (why)
			bad_line(c, f->name, f->body.lineno, why);
		else
			c->err = apply_record(c, &rec);
	}
	if (!ended) {
		c->st.bad++;
		log_warnx("%s/%s: no end line: the snapshot is incomplete", c->dir, f->name);
	}
}

static bool is_commit(struct str body, uint64_t *ret_n, uint64_t *ret_time)
{
	struct str t[4];

	return split(body, t, 3) == 3 && str_eq_cstr(t[0], "c") &&
	       parse_u64(t[1], SIZE_MAX, ret_n) && parse_u64(t[2], LF_EXPIRY_MAX, ret_time);
}

/* Apply the lines of it up to stop (a commit that counts n lines). */
static void apply_group(struct lf_load *c, const char *file, struct lf_lines *it,
			const char *stop, uint64_t n)
{
	struct str line, body;
	struct lf_rec rec;
	const char *why;
	uint64_t seen = 0;
	bool torn;

	while (!c->err && it->p < stop && next_line(it, &line, &torn)) {
		seen++;
		why = check_line(line, &body);
		if (!why)
			why = parse_record(body, &rec);
		if (why)
			bad_line(c, file, it->lineno, why);
		else
			c->err = apply_record(c, &rec);
	}
	if (!c->err && seen != n)
		bad_line(c, file, it->lineno + 1, "commit does not count the lines before it");
}

/* Committed groups are applied; what follows the last commit is not. */
static void replay_journal(struct lf_load *c, struct lf_file *f)
{
	struct lf_lines group = f->body;
	struct str line, body;
	uint64_t n, time;
	size_t pending = 0;
	bool torn;

	while (!c->err && next_line(&f->body, &line, &torn)) {
		if (torn || check_line(line, &body) || !is_commit(body, &n, &time)) {
			pending++;
			continue;
		}
		apply_group(c, f->name, &group, line.p, n);
		if (time > c->newest)
			c->newest = time;
		group = f->body;
		pending = 0;
	}
	c->st.uncommitted += pending;
}

/* The snapshot, then the journals of its generation or later, in
 * generation order (f: snapshot, prev, journal). */
static void replay(struct lf_load *c, struct lf_file *f)
{
	uint64_t s = f[0].usable ? f[0].gen : 0;
	struct lf_file *j[2] = { &f[1], &f[2] }, *tmp;
	bool first = true;
	int i;

	if (f[0].usable)
		replay_snapshot(c, &f[0]);
	if (j[0]->usable && j[1]->usable && j[0]->gen > j[1]->gen) {
		tmp = j[0];
		j[0] = j[1];
		j[1] = tmp;
	}
	for (i = 0; i < 2 && !c->err; i++) {
		if (!j[i]->usable)
			continue;
		if (j[i]->gen < s) {
			log_debug("%s/%s: older than the snapshot: stale", c->dir, j[i]->name);
			continue;
		}
		if (first && j[i]->gen != s)
			log_warnx("%s/%s: generation %llu has no snapshot (found %llu): restoring "
				  "what the journals hold", c->dir, j[i]->name,
				  (unsigned long long)j[i]->gen, (unsigned long long)s);
		first = false;
		replay_journal(c, j[i]);
	}
}

/* The wall clock for the restore: not behind the files' last write. */
static uint64_t set_anchor(struct leasefile *lf, uint64_t newest, struct leasefile_stats *st)
{
	uint64_t wall = clock_now(&lf->wall) / 1000u;

	lf->anchor_mono_ms = clock_now(lf->mono);
	lf->anchor_wall_s = newest > wall ? newest : wall;
	st->clock_behind = newest > wall;
	if (newest > wall + 2)
		log_warnx("%s: the wall clock is %llu s behind the lease files' last write: "
			  "leases count from that write", lf->dir, (unsigned long long)(newest - wall));
	return lf->anchor_wall_s;
}

/* fn for each unexpired lease and each permanent entry; the kept leases
 * get their (capped) expiry, permanent entries keep expiry 0. */
static int restore_all(struct lf_load *c, uint64_t now_s, leasefile_restore_fn fn, void *arg)
{
	size_t i;
	int v;

	for (i = 0; i < c->map.n; i++) {
		struct lf_entry *e = &c->map.v[i];
		uint64_t left = 0;

		if (!e->live)
			continue;
		if (e->expiry != 0 && e->expiry <= now_s) {
			e->live = false;
			c->st.expired++;
			continue;
		}
		if (e->expiry != 0)
			left = e->expiry - now_s < IGDD_LEASE_MAX ? e->expiry - now_s : IGDD_LEASE_MAX;
		v = fn(&e->m, (uint32_t)left, arg);
		if (v < 0)
			return v;
		if (v != LEASEFILE_KEEP) {
			e->live = false;
			c->st.dropped++;
			continue;
		}
		if (e->expiry != 0)
			e->expiry = now_s + left;
		c->st.restored++;
	}
	return 0;
}

/* The pinholes' restore: fn for each unexpired one (pinholes count in
 * the same statistics as mappings). */
static int restore_pins(struct lf_load *c, uint64_t now_s, leasefile_pin_restore_fn fn, void *arg)
{
	size_t i;
	int v;

	for (i = 0; i < c->pins.n; i++) {
		struct lf_pin *e = &c->pins.v[i];
		uint64_t left;

		if (!e->live)
			continue;
		if (e->expiry <= now_s) {
			c->st.expired++;
			continue;
		}
		left = e->expiry - now_s;
		if (left > IGDD_LEASE_MAX)
			left = IGDD_LEASE_MAX;
		v = fn ? fn(&e->p, (uint32_t)left, arg) : LEASEFILE_DROP;
		if (v < 0)
			return v;
		if (v != LEASEFILE_KEEP) {
			c->st.dropped++;
			continue;
		}
		c->st.restored++;
	}
	return 0;
}

/* Snapshot gen of what was restored, then an empty journal gen. */
static int write_restored(struct leasefile *lf, const struct lf_map *map, uint64_t gen,
			  uint64_t wall_s)
{
	size_t i;
	int r;

	r = snapw_begin(lf, gen, wall_s);
	if (r == 0)
		r = snapw_pins(lf);     /* those restored: the table holds nothing else yet */
	for (i = 0; r == 0 && i < map->n; i++)
		if (map->v[i].live)
			r = snapw_add(lf, &map->v[i].m, map->v[i].expiry);
	if (r == 0)
		r = snapw_finish(lf);
	if (r < 0) {
		snapw_abort(lf);
		return r;
	}
	lf->jgen = gen;                 /* a later compaction goes past it */
	r = journal_start(lf, gen, false);
	if (r == 0)
		unlinkat(lf->dirfd, LF_JOURNAL_PREV, 0);
	return r;
}

static uint64_t max_gen(const struct lf_file *f, size_t n)
{
	uint64_t g = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].usable && f[i].gen > g)
			g = f[i].gen;
	return g;
}

static void log_loaded(const struct lf_load *c)
{
	const struct leasefile_stats *s = &c->st;

	if (c->nbad > LF_LOG_BAD)
		log_warnx("%s: %zu more bad lines in the lease files skipped", c->dir,
			  c->nbad - LF_LOG_BAD);
	log_info("%zu leases restored from %s (%zu expired, %zu refused, %zu bad lines, "
		 "%zu uncommitted)", s->restored, c->dir, s->expired, s->dropped, s->bad,
		 s->uncommitted);
}

#define LF_FILES_INIT { \
	{ .name = LF_SNAP, .kind = "snapshot" }, \
	{ .name = LF_JOURNAL_PREV, .kind = "journal" }, \
	{ .name = LF_JOURNAL, .kind = "journal" }, \
}

/* The headers and records of the three files (f: snapshot, prev,
 * journal; any may be empty) into c's map. 0 or -ENOMEM. */
static int read_files(struct lf_load *c, struct lf_file f[3])
{
	int i;

	for (i = 0; i < 3; i++)
		file_header(c, &f[i]);
	replay(c, f);
	return c->err;
}

int leasefile_parse(const char *name, const struct leasefile_texts *t, uint64_t now_s,
		    leasefile_restore_fn fn, void *arg, struct leasefile_stats *ret_stats)
{
	struct lf_file f[3] = LF_FILES_INIT;
	struct lf_load c;
	int r;

	memset(&c, 0, sizeof(c));
	c.dir = name;
	f[0].p = (char *)(uintptr_t)t->snap;
	f[0].len = t->snap ? t->snap_len : 0;
	f[1].p = (char *)(uintptr_t)t->prev;
	f[1].len = t->prev ? t->prev_len : 0;
	f[2].p = (char *)(uintptr_t)t->journal;
	f[2].len = t->journal ? t->journal_len : 0;
	r = read_files(&c, f);
	if (r == 0) {
		/* As leasefile_load(): time never runs behind the files' last write. */
		c.st.clock_behind = c.newest > now_s;
		r = restore_all(&c, c.newest > now_s ? c.newest : now_s, fn, arg);
	}
	lmap_free(&c.map);
	lpins_free(&c.pins);
	if (ret_stats)
		*ret_stats = c.st;
	return r < 0 ? r : (int)c.st.restored;
}

int leasefile_load(struct leasefile *lf, leasefile_restore_fn fn, void *arg,
		   struct leasefile_stats *ret_stats)
{
	struct lf_file f[3] = LF_FILES_INIT;
	struct lf_load c;
	uint64_t now_s, gen;
	int r = 0, i;

	memset(&c, 0, sizeof(c));
	c.dir = lf->dir;
	for (i = 0; i < 3 && r == 0; i++)
		r = file_map(lf, &f[i]);
	if (r == 0)
		r = read_files(&c, f);
	gen = max_gen(f, 3);
	for (i = 0; i < 3; i++)
		file_unmap(&f[i]);
	if (r < 0) {
		log_warnx("%s: cannot read the lease files: %s", lf->dir, strerror(-r));
		goto out;
	}
	now_s = set_anchor(lf, c.newest, &c.st);
	r = restore_all(&c, now_s, fn, arg);
	if (r == 0)
		r = restore_pins(&c, now_s, lf->pin_fn, lf->pin_arg);
	if (r < 0)
		goto out;
	lf->loaded = true;
	lf->jgen = gen;
	unlinkat(lf->dirfd, LF_SNAP_TMP, 0);
	unlinkat(lf->dirfd, LF_JOURNAL_TMP, 0);
	r = write_restored(lf, &c.map, gen + 1, now_s);
	if (r < 0) {
		lf->broken = r;
		log_warnx("%s: cannot write the lease files: %s", lf->dir, strerror(-r));
	}
	lf->recorded = false;           /* records the callback may have tried */
	log_loaded(&c);
out:
	lmap_free(&c.map);
	lpins_free(&c.pins);
	if (ret_stats)
		*ret_stats = c.st;
	return r < 0 ? r : (int)c.st.restored;
}

/* ------------------------------------------------------------ set-up */

bool leasefile_file_name(const char *name)
{
	static const char *const names[] = {
		LF_SNAP, LF_SNAP_TMP, LF_JOURNAL, LF_JOURNAL_TMP, LF_JOURNAL_PREV,
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

void leasefile_set_sync(struct leasefile *lf, bool sync)
{
	if (lf)
		lf->sync = sync;
}

struct leasefile *leasefile_open(const char *dir, const struct clock *mono,
				 const struct clock *wall, char *err, size_t errsz)
{
	struct leasefile *lf = calloc(1, sizeof(*lf));
	const char *what = NULL;
	int e = 0;

	if (!lf) {
		snprintf(err, errsz, "%s: out of memory", dir);
		return NULL;
	}
	lf->dirfd = lf->jfd = lf->sw.fd = -1;
	lf->sync = true;
	lf->mono = mono;
	lf->wall = wall ? *wall : (struct clock){ wall_default_ms, NULL };
	lf->anchor_mono_ms = clock_now(mono);
	buf_init(&lf->pending, LF_PENDING_MAX);
	buf_init(&lf->sw.out, LF_SNAPBUF_MAX);
	if (strlcpy_checked(lf->dir, dir, sizeof(lf->dir)) < 0) {
		what = "path too long";
	} else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		e = errno;
		what = "cannot create the directory";
	} else if ((lf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = errno;
		what = "cannot open the directory";
	} else if (flock(lf->dirfd, LOCK_EX | LOCK_NB) < 0) {
		e = errno == EWOULDBLOCK ? 0 : errno;
		what = e ? "cannot lock the directory" : "in use by another igdd";
	}
	if (!what)
		return lf;
	if (e)
		snprintf(err, errsz, "%s: %s: %s", dir, what, strerror(e));
	else
		snprintf(err, errsz, "%s: %s", dir, what);
	leasefile_close(lf);
	return NULL;
}

void leasefile_close(struct leasefile *lf)
{
	if (!lf)
		return;
	if (lf->sw.fd >= 0)
		snapw_abort(lf);        /* a compaction in progress starts over next time */
	if (lf->jfd >= 0)
		close(lf->jfd);
	if (lf->dirfd >= 0)
		close(lf->dirfd);
	buf_free(&lf->pending);
	buf_free(&lf->sw.out);
	free(lf);
}
