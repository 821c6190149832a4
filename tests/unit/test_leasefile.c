/*
 * test_leasefile.c - store/leasefile: leases survive restarts (the
 * snapshot + journal of leasefile.c, WANIPConnection:2 2.3.16 / 2.4.6
 * lease semantics across a restart).
 *
 * Every test works in its own directory under /tmp, removed afterwards,
 * with fake monotonic and wall clocks. A "restart" closes the files and
 * the table and loads them into a new table, as igdd would at start-up;
 * a crash is a child process killed with SIGKILL, or files cut or
 * corrupted by hand. The file format is checked against an independent
 * (bitwise) CRC-32.
 */
#define _GNU_SOURCE             /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>

#include "core/clock.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "store/leasefile.h"
#include "util/limits.h"
#include "util/log.h"

#include "harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define WALL0 UINT64_C(1700000000)      /* seconds: the wall clock at the first start */

/* ------------------------------------------------------------ helpers */

struct env {
	char dir[64];
	uint64_t mono;                  /* ms */
	uint64_t wall;                  /* ms */
	struct clock mono_clk, wall_clk;
	struct map_table *t;
	struct leasefile *lf;
	struct leasefile_stats st;
	int load_ret;
	uint16_t drop_port;             /* the restore callback refuses this port */
};

static struct in_addr ip(const char *s)
{
	struct in_addr a = { 0 };

	if (s && *s)
		assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void advance(struct env *v, uint64_t s)
{
	v->mono += s * 1000;
	v->wall += s * 1000;
}

static void new_table(struct env *v)
{
	struct map_limits lim = { 0, 0 };

	v->t = map_table_new(&lim, &v->mono_clk);
	assert_non_null(v->t);
}

static int restore_cb(const struct mapping *m, uint32_t remaining_s, void *arg)
{
	struct env *v = arg;
	struct mapping tmpl = *m;

	assert_true(remaining_s <= IGDD_LEASE_MAX);     /* 0: permanent */
	assert_int_equal(m->lease_end_ms, 0);
	if (v->drop_port && m->ext_port == v->drop_port)
		return LEASEFILE_DROP;
	tmpl.lease_end_ms = map_lease_end(v->t, remaining_s);
	return map_add(v->t, &tmpl, str_cstr(m->desc), NULL) == MAP_OK ? LEASEFILE_KEEP
								      : LEASEFILE_DROP;
}

/* Open and load dir into a new, empty table. */
static void start(struct env *v)
{
	char err[256];

	new_table(v);
	v->lf = leasefile_open(v->dir, &v->mono_clk, &v->wall_clk, err, sizeof(err));
	if (!v->lf)
		fail_msg("leasefile_open: %s", err);
	v->load_ret = leasefile_load(v->lf, restore_cb, v, &v->st);
}

static void stop(struct env *v)
{
	leasefile_close(v->lf);
	v->lf = NULL;
	map_table_free(v->t);
	v->t = NULL;
}

/* A new process: the monotonic clock starts over, the wall clock goes on
 * (after down_s seconds down). */
static void restart(struct env *v, uint64_t down_s)
{
	stop(v);
	v->mono = 5000;
	v->wall += down_s * 1000;
	start(v);
	assert_true(v->load_ret >= 0);
}

static void env_init(struct env *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "/tmp/igdd-lease-XXXXXX");
	assert_non_null(mkdtemp(v->dir));
	v->mono = 1000000;
	v->wall = WALL0 * 1000;
	v->mono_clk = (struct clock){ clock_fake_ms, &v->mono };
	v->wall_clk = (struct clock){ clock_fake_ms, &v->wall };
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void env_fini(struct env *v)
{
	stop(v);
	rm_tree(v->dir);
}

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));

	if (!v)
		return -1;
	env_init(v);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	env_fini(*state);
	free(*state);
	return 0;
}

/* One mapping as a test writes it. */
struct row {
	uint8_t proto;
	uint16_t port;
	const char *rh;                 /* "" = wildcard */
	const char *client;
	uint16_t int_port;
	bool enabled;
	uint8_t origin;
	const char *owner;
	uint32_t lease_s;
	const char *desc;
};

static struct mapping tmpl_of(const struct env *v, const struct row *r)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.proto = r->proto;
	m.ext_port = r->port;
	m.remote_host = ip(r->rh);
	m.internal_client = ip(r->client ? r->client : "192.168.1.20");
	m.owner = ip(r->owner ? r->owner : "192.168.1.20");
	m.int_port = r->int_port ? r->int_port : r->port;
	m.enabled = r->enabled;
	m.origin = r->origin;
	m.lease_end_ms = map_lease_end(v->t, r->lease_s);
	return m;
}

/* Add or overwrite (same key) in the table, and record it. */
static int put_ret(struct env *v, const struct row *r)
{
	struct mapping tmpl = tmpl_of(v, r), *m;
	const char *desc = r->desc ? r->desc : "";

	m = map_find(v->t, tmpl.proto, tmpl.ext_port, tmpl.remote_host);
	if (m && m->internal_client.s_addr != tmpl.internal_client.s_addr) {
		assert_int_equal(leasefile_record_delete(v->lf, m), 0);
		map_remove(v->t, m);
		m = NULL;
	}
	if (m)
		map_update(v->t, m, tmpl.int_port, tmpl.enabled, map_desc_dup(str_cstr(desc)),
			   tmpl.lease_end_ms);
	else
		assert_int_equal(map_add(v->t, &tmpl, str_cstr(desc), &m), MAP_OK);
	return leasefile_record_put(v->lf, m);
}

static void put(struct env *v, const struct row *r)
{
	assert_int_equal(put_ret(v, r), 0);
}

static void del(struct env *v, uint8_t proto, uint16_t port, const char *rh)
{
	struct mapping *m = map_find(v->t, proto, port, ip(rh));

	assert_non_null(m);
	assert_int_equal(leasefile_record_delete(v->lf, m), 0);
	map_remove(v->t, m);
}

static void put_commit(struct env *v, const struct row *r)
{
	put(v, r);
	assert_int_equal(leasefile_commit(v->lf), 0);
}

/* The entry for r's key must be as r says, with remaining_s left. */
static void expect_row(const struct env *v, const struct row *r, uint32_t remaining_s)
{
	struct mapping want = tmpl_of(v, r);
	const struct mapping *m = map_find(v->t, r->proto, r->port, ip(r->rh));

	if (!m)
		fail_msg("%s/%u is missing", r->proto == MAP_UDP ? "UDP" : "TCP", r->port);
	assert_int_equal(m->internal_client.s_addr, want.internal_client.s_addr);
	assert_int_equal(m->owner.s_addr, want.owner.s_addr);
	assert_int_equal(m->int_port, want.int_port);
	assert_int_equal(m->enabled, want.enabled);
	assert_int_equal(m->origin, want.origin);
	assert_string_equal(m->desc, r->desc ? r->desc : "");
	assert_int_equal(map_lease_remaining(v->t, m), remaining_s);
}

static bool present(const struct env *v, uint8_t proto, uint16_t port, const char *rh)
{
	return map_find(v->t, proto, port, ip(rh)) != NULL;
}

static char *path_of(const struct env *v, const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", v->dir, name);
	return out;
}

/* A whole file into a malloc'd, NUL-terminated buffer. */
static char *slurp(const struct env *v, const char *name, size_t *ret_len)
{
	char path[256];
	struct stat st;
	char *p;
	int fd = open(path_of(v, name, path, sizeof(path)), O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = '\0';
	close(fd);
	*ret_len = (size_t)st.st_size;
	return p;
}

static void spew(const struct env *v, const char *name, const char *data, size_t len)
{
	char path[256];
	int fd = open(path_of(v, name, path, sizeof(path)), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static bool exists(const struct env *v, const char *name)
{
	char path[256];

	return access(path_of(v, name, path, sizeof(path)), F_OK) == 0;
}

/* The offset of the start of line n (0-based) of text, or len past the end. */
static size_t line_off(const char *text, size_t len, size_t n)
{
	size_t off = 0;

	while (n-- > 0) {
		const char *nl = memchr(text + off, '\n', len - off);

		if (!nl)
			return len;
		off = (size_t)(nl - text) + 1;
	}
	return off;
}

static uint64_t rnd(void);

/* CRC-32 bit by bit: independent of the module's table. */
static uint32_t crc32_bitwise(const char *p, size_t len)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		c ^= (unsigned char)p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* "<crc> <body>\n" with a correct CRC, for hand-made files. */
static void crc_line(char *out, size_t outsz, const char *body)
{
	snprintf(out, outsz, "%08x %s\n", crc32_bitwise(body, strlen(body)), body);
}

/* ============================================================ format */

static void test_crc_reference(void **state)
{
	(void)state;
	assert_int_equal(crc32_bitwise("123456789", 9), 0xcbf43926u);
}

/* Every line: 8 hex digits of a CRC that matches, a space, a body. */
static void check_lines(const char *text, size_t len, size_t *ret_lines)
{
	size_t off = 0, n = 0;
	unsigned crc;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		char hex[9];

		assert_non_null(nl);
		assert_true(nl - (text + off) >= 10);
		memcpy(hex, text + off, 8);
		hex[8] = '\0';
		crc = (unsigned)strtoul(hex, NULL, 16);
		assert_int_equal(text[off + 8], ' ');
		assert_int_equal(crc, crc32_bitwise(text + off + 9, (size_t)(nl - text) - off - 9));
		off = (size_t)(nl - text) + 1;
		n++;
	}
	*ret_lines = n;
}

static void test_format(void **state)
{
	struct env *v = *state;
	const struct row r = { MAP_TCP, 8080, "", "192.168.1.20", 80, true, MAP_ORIGIN_UPNP,
			       "192.168.1.21", 3600, "a b%c\n\xe2\x82\xac" };
	char expect[512], body[400];
	struct stat st;
	size_t len, lines;
	char *text;

	start(v);
	assert_int_equal(v->load_ret, 0);
	assert_int_equal(stat(v->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	put_commit(v, &r);
	text = slurp(v, "leases.journal", &len);
	check_lines(text, len, &lines);
	assert_int_equal(lines, 3);     /* header, record, commit */
	snprintf(body, sizeof(body), "igdd-leases 1 journal 1 %llu", (unsigned long long)WALL0);
	crc_line(expect, sizeof(expect), body);
	assert_memory_equal(text, expect, strlen(expect));
	snprintf(body, sizeof(body), "m TCP 8080 0.0.0.0 192.168.1.20 80 1 upnp 192.168.1.21 %llu "
		 "a%%20b%%25c%%0A%%E2%%82%%AC", (unsigned long long)WALL0 + 3600);
	crc_line(expect, sizeof(expect), body);
	assert_memory_equal(text + line_off(text, len, 1), expect, strlen(expect));
	snprintf(body, sizeof(body), "c 1 %llu", (unsigned long long)WALL0);
	crc_line(expect, sizeof(expect), body);
	assert_memory_equal(text + line_off(text, len, 2), expect, strlen(expect));
	free(text);
	assert_int_equal(stat(path_of(v, "leases.journal", body, sizeof(body)), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	restart(v, 0);                  /* the snapshot now holds it */
	text = slurp(v, "leases.snap", &len);
	check_lines(text, len, &lines);
	assert_int_equal(lines, 3);     /* header, record, end */
	snprintf(body, sizeof(body), "igdd-leases 1 snapshot 2 %llu", (unsigned long long)WALL0);
	crc_line(expect, sizeof(expect), body);
	assert_memory_equal(text, expect, strlen(expect));
	crc_line(expect, sizeof(expect), "end 1");
	assert_string_equal(text + line_off(text, len, 2), expect);
	free(text);
}

/* ====================================================== round trip */

static const struct row roundtrip_rows[] = {
	{ MAP_TCP, 1, "", "192.168.1.20", 1, true, MAP_ORIGIN_UPNP, "192.168.1.20", 1, "" },
	{ MAP_TCP, 65535, "", "10.0.0.1", 65535, false, MAP_ORIGIN_UPNP, "10.0.0.2", 604800, "x" },
	{ MAP_UDP, 65535, "", "10.0.0.1", 7, true, MAP_ORIGIN_NATPMP, "10.0.0.1", 7200, "natpmp" },
	{ MAP_UDP, 5353, "198.51.100.7", "10.0.0.3", 53, true, MAP_ORIGIN_PCP, "10.0.0.4", 60, "pcp" },
	{ MAP_UDP, 5353, "255.255.255.255", "10.0.0.3", 54, false, MAP_ORIGIN_UPNP, "0.0.0.0", 61,
	  "  two  spaces  " },
	{ MAP_TCP, 8080, "", "192.168.1.20", 80, true, MAP_ORIGIN_UPNP, "192.168.1.20", 3600,
	  "% %% %2 %zz %00 - -- \\ \" ' < > & ;" },
	{ MAP_TCP, 8081, "", "192.168.1.20", 80, true, MAP_ORIGIN_UPNP, "192.168.1.20", 3600, "-" },
	{ MAP_TCP, 8082, "", "192.168.1.20", 80, true, MAP_ORIGIN_UPNP, "192.168.1.20", 3600,
	  "line\nbreak\r\n\ttab \x7f del \xff\xfe \xe6\x97\xa5\xe6\x9c\xac" },
	{ MAP_TCP, 8083, "", "192.168.1.20", 80, true, MAP_ORIGIN_UPNP, "192.168.1.20", 3600,
	  "d4ea1b2c m TCP 1 0.0.0.0 1.2.3.4 1 1 upnp 1.2.3.4 9 x\nc 1 1" },
};

/* Descriptions of every byte value: one of all 255 in order, and one
 * of each byte alone. */
static void put_byte_rows(struct env *v, char *all)
{
	char one[2] = { 0, 0 };
	struct row r = { MAP_UDP, 0, "", "192.168.1.30", 0, true, MAP_ORIGIN_UPNP, NULL, 900, all };
	int c;

	for (c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = '\0';
	r.port = 40000;
	put(v, &r);
	for (c = 1; c < 256; c++) {
		one[0] = (char)c;
		r.port = (uint16_t)(40000 + c);
		r.desc = one;
		put(v, &r);
		assert_int_equal(leasefile_commit(v->lf), 0);
	}
}

static void expect_byte_rows(struct env *v, const char *all, uint32_t left)
{
	char one[2] = { 0, 0 };
	struct row r = { MAP_UDP, 40000, "", "192.168.1.30", 0, true, MAP_ORIGIN_UPNP, NULL, 900, all };
	int c;

	expect_row(v, &r, left);
	for (c = 1; c < 256; c++) {
		one[0] = (char)c;
		r.port = (uint16_t)(40000 + c);
		r.desc = one;
		expect_row(v, &r, left);
	}
}

static void test_roundtrip(void **state)
{
	struct env *v = *state;
	char all[256];
	size_t i;

	start(v);
	for (i = 0; i < N(roundtrip_rows); i++)
		put(v, &roundtrip_rows[i]);
	assert_int_equal(leasefile_commit(v->lf), 0);
	put_byte_rows(v, all);
	advance(v, 0);
	restart(v, 0);                  /* from the journal */
	assert_int_equal(v->load_ret, (int)(N(roundtrip_rows) + 256));
	assert_int_equal(v->st.bad, 0);
	for (i = 0; i < N(roundtrip_rows); i++)
		expect_row(v, &roundtrip_rows[i], roundtrip_rows[i].lease_s);
	expect_byte_rows(v, all, 900);
	restart(v, 0);                  /* from the snapshot the first load wrote */
	assert_int_equal(v->load_ret, (int)(N(roundtrip_rows) + 256));
	for (i = 0; i < N(roundtrip_rows); i++)
		expect_row(v, &roundtrip_rows[i], roundtrip_rows[i].lease_s);
	expect_byte_rows(v, all, 900);
	assert_int_equal(v->st.bad, 0);
}

/* ============================================================ expiry */

struct expiry_row {
	uint32_t lease_s;
	uint64_t up_s;                  /* running after the write */
	uint64_t down_s;                /* then down */
	bool restored;
	uint32_t remaining_s;
};

static const struct expiry_row expiry_rows[] = {
	{ 3600, 0, 0, true, 3600 },
	{ 3600, 0, 3599, true, 1 },
	{ 3600, 0, 3600, false, 0 },
	{ 3600, 0, 7200, false, 0 },
	{ 3600, 1000, 2599, true, 1 },
	{ 3600, 1000, 2600, false, 0 },
	{ 3600, 3599, 0, true, 1 },
	{ 1, 0, 0, true, 1 },
	{ 1, 0, 1, false, 0 },
	{ 604800, 0, 10, true, 604790 },
	{ 604800, 0, 604800, false, 0 },
	{ 2000000, 0, 0, true, 604800 },        /* capped at IGDD_LEASE_MAX */
};

static void test_expiry(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(expiry_rows); i++) {
		const struct expiry_row *x = &expiry_rows[i];
		struct row r = { MAP_TCP, 9000, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, x->lease_s,
				 "e" };
		struct env v;

		env_init(&v);
		start(&v);
		put_commit(&v, &r);
		advance(&v, x->up_s);
		restart(&v, x->down_s);
		assert_int_equal(v.st.restored, x->restored ? 1 : 0);
		assert_int_equal(v.st.expired, x->restored ? 0 : 1);
		if (x->restored)
			expect_row(&v, &r, x->remaining_s);
		else
			assert_false(present(&v, MAP_TCP, 9000, ""));
		env_fini(&v);
	}
}

/* Permanent entries (no lease: igddctl add without --lease) are kept as
 * well as leased ones, whatever the time down; so is a PCP nonce. */
static void test_permanent(void **state)
{
	struct env *v = *state;
	struct row st = { MAP_TCP, 22, "", NULL, 0, true, MAP_ORIGIN_STATIC, NULL, 0, "static" };
	struct row stl = { MAP_TCP, 25, "", NULL, 0, true, MAP_ORIGIN_STATIC, NULL, 90, "admin" };
	struct row off = { MAP_UDP, 23, "", NULL, 0, false, MAP_ORIGIN_STATIC, NULL, 0, "" };
	struct row ok = { MAP_TCP, 24, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 60, "y" };
	struct row pcp = { MAP_UDP, 26, "", NULL, 0, true, MAP_ORIGIN_PCP, NULL, 600, "pcp" };
	static const uint8_t nonce[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xab, 0xff };
	struct mapping *m;
	size_t len;
	char *text;

	assert_int_equal(leasefile_record_put(NULL, NULL), 0);
	assert_int_equal(leasefile_commit(NULL), 0);
	assert_int_equal(leasefile_next_deadline(NULL), 0);
	leasefile_close(NULL);
	start(v);
	put(v, &st);
	put(v, &off);
	put(v, &ok);
	put(v, &stl);
	put(v, &pcp);
	m = map_find(v->t, MAP_UDP, 26, ip(""));
	memcpy(m->nonce, nonce, sizeof(nonce));
	assert_int_equal(leasefile_record_put(v->lf, m), 0);
	assert_int_equal(leasefile_commit(v->lf), 0);
	restart(v, 100);                        /* from the journal */
	expect_row(v, &st, 0);
	expect_row(v, &off, 0);
	assert_false(present(v, MAP_TCP, 24, ""));      /* its lease ran out while down */
	assert_false(present(v, MAP_TCP, 25, ""));
	expect_row(v, &pcp, 500);
	m = map_find(v->t, MAP_UDP, 26, ip(""));
	assert_memory_equal(m->nonce, nonce, sizeof(nonce));
	m = map_find(v->t, MAP_TCP, 22, ip(""));
	assert_int_equal(m->lease_end_ms, 0);
	text = slurp(v, "leases.snap", &len);   /* written by the restore */
	assert_non_null(memmem(text, len, " static 192.168.1.20 0 static\n", 30));
	assert_non_null(memmem(text, len, " pcp 0102030405060708090aabff\n", 30));
	free(text);
	restart(v, 1000000);                    /* from the snapshot, much later */
	expect_row(v, &st, 0);
	expect_row(v, &off, 0);
	assert_false(present(v, MAP_UDP, 26, ""));
	assert_int_equal(map_count(v->t), 2);
	assert_int_equal(v->st.restored, 2);
	del(v, MAP_TCP, 22, "");                /* a delete of a permanent entry stays done */
	assert_int_equal(leasefile_commit(v->lf), 0);
	restart(v, 0);
	assert_false(present(v, MAP_TCP, 22, ""));
	expect_row(v, &off, 0);
}

/* The wall clock is behind the files (no RTC, before NTP): leases keep
 * what they had at the last write, and later writes stay consistent. */
static void test_clock_behind(void **state)
{
	struct env *v = *state;
	struct row a = { MAP_TCP, 1000, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 3600, "a" };
	struct row b = { MAP_TCP, 1001, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 3600, "b" };

	start(v);
	put_commit(v, &a);
	advance(v, 100);
	stop(v);
	v->wall = 0;                    /* 1970 */
	v->mono = 5000;
	start(v);
	assert_true(v->st.clock_behind);
	expect_row(v, &a, 3600);        /* the 100 s up without a write were not seen */
	advance(v, 50);
	put_commit(v, &b);              /* written on the anchored clock */
	stop(v);
	v->wall = (WALL0 + 50 + 100) * 1000;    /* NTP answered meanwhile */
	v->mono = 7000;
	start(v);
	assert_false(v->st.clock_behind);
	expect_row(v, &a, 3600 - 150);
	expect_row(v, &b, 3600 - 100);
}

/* ====================================================== replay order */

enum op_kind { OP_END, OP_PUT, OP_DEL, OP_COMMIT };

struct op {
	enum op_kind kind;
	struct row r;
};

#define PUT(port, client, int_port, lease, desc) \
	{ OP_PUT, { MAP_TCP, port, "", client, int_port, true, MAP_ORIGIN_UPNP, client, lease, desc } }
#define DEL(port) { OP_DEL, { MAP_TCP, port, "", NULL, 0, false, 0, NULL, 0, NULL } }
#define COMMIT { OP_COMMIT, { 0 } }

struct replay_row {
	const char *name;
	struct op ops[8];
	struct row want[2];             /* port 0 ends the list */
	uint16_t gone[2];
};

static const struct replay_row replay_rows[] = {
	{ "add", { PUT(100, "10.0.0.1", 1, 60, "a"), COMMIT },
	  { { MAP_TCP, 100, "", "10.0.0.1", 1, true, 0, "10.0.0.1", 60, "a" } }, { 0 } },
	{ "add, update", { PUT(100, "10.0.0.1", 1, 60, "a"), COMMIT,
			   PUT(100, "10.0.0.1", 2, 90, "b"), COMMIT },
	  { { MAP_TCP, 100, "", "10.0.0.1", 2, true, 0, "10.0.0.1", 90, "b" } }, { 0 } },
	{ "add, delete", { PUT(100, "10.0.0.1", 1, 60, "a"), COMMIT, DEL(100), COMMIT },
	  { { 0 } }, { 100 } },
	{ "add, update, delete, re-add", { PUT(100, "10.0.0.1", 1, 60, "a"), COMMIT,
		PUT(100, "10.0.0.1", 2, 90, "b"), COMMIT, DEL(100), COMMIT,
		PUT(100, "10.0.0.9", 3, 30, "c"), COMMIT },
	  { { MAP_TCP, 100, "", "10.0.0.9", 3, true, 0, "10.0.0.9", 30, "c" } }, { 0 } },
	{ "one action: add two, delete one", { PUT(100, "10.0.0.1", 1, 60, "a"),
		PUT(101, "10.0.0.1", 1, 60, "b"), DEL(100), COMMIT },
	  { { MAP_TCP, 101, "", "10.0.0.1", 1, true, 0, "10.0.0.1", 60, "b" } }, { 100 } },
	{ "refresh extends the lease", { PUT(100, "10.0.0.1", 1, 60, "a"), COMMIT,
		PUT(100, "10.0.0.1", 1, 600, "a"), COMMIT },
	  { { MAP_TCP, 100, "", "10.0.0.1", 1, true, 0, "10.0.0.1", 600, "a" } }, { 0 } },
	{ "shortened lease", { PUT(100, "10.0.0.1", 1, 600, "a"), COMMIT,
		PUT(100, "10.0.0.1", 1, 5, "a"), COMMIT },
	  { { MAP_TCP, 100, "", "10.0.0.1", 1, true, 0, "10.0.0.1", 5, "a" } }, { 0 } },
};

static void run_ops(struct env *v, const struct op *ops)
{
	for (; ops->kind != OP_END; ops++) {
		if (ops->kind == OP_PUT)
			put(v, &ops->r);
		else if (ops->kind == OP_DEL)
			del(v, ops->r.proto, ops->r.port, ops->r.rh);
		else
			assert_int_equal(leasefile_commit(v->lf), 0);
	}
}

static void test_replay_order(void **state)
{
	size_t i, k, pass;

	(void)state;
	for (i = 0; i < N(replay_rows); i++) {
		const struct replay_row *x = &replay_rows[i];
		struct env v;

		print_message("  %s\n", x->name);
		env_init(&v);
		start(&v);
		run_ops(&v, x->ops);
		for (pass = 0; pass < 2; pass++) {      /* from the journal, then the snapshot */
			restart(&v, 0);
			assert_int_equal(v.st.bad, 0);
			for (k = 0; k < N(x->want) && x->want[k].port; k++)
				expect_row(&v, &x->want[k], x->want[k].lease_s);
			for (k = 0; k < N(x->gone) && x->gone[k]; k++)
				assert_false(present(&v, MAP_TCP, x->gone[k], ""));
			for (k = 0; k < N(x->want) && x->want[k].port; k++)
				;
			assert_int_equal(map_count(v.t), k);
		}
		env_fini(&v);
	}
}

/* ======================================================== corruption */

/*
 * The journal after: header (line 0); action A: one record + commit
 * (lines 1-2); action B: three records + commit (lines 3-6); action C:
 * one record + commit (lines 7-8).
 */
static void write_abc(struct env *v)
{
	struct row r = { MAP_TCP, 0, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "r" };

	r.port = 1;
	put_commit(v, &r);
	for (r.port = 2; r.port <= 4; r.port++)
		put(v, &r);
	assert_int_equal(leasefile_commit(v->lf), 0);
	r.port = 5;
	put_commit(v, &r);
}

/* A cut anywhere in B's lines (a crash in the middle of its append)
 * loses all of B and keeps all of A: never half an action. */
static void test_torn_tail(void **state)
{
	size_t i, len, b0, b1, cuts[8];

	(void)state;
	for (i = 0; i < N(cuts); i++) {
		struct env v;
		char *text;
		size_t cut;

		env_init(&v);
		start(&v);
		write_abc(&v);
		stop(&v);
		text = slurp(&v, "leases.journal", &len);
		b0 = line_off(text, len, 3);    /* B starts */
		b1 = line_off(text, len, 7);    /* B's commit line ends */
		cuts[0] = b0 + 1;
		cuts[1] = b0 + 9;
		cuts[2] = line_off(text, len, 4);
		cuts[3] = line_off(text, len, 5) + 20;
		cuts[4] = line_off(text, len, 6);       /* records whole, no commit */
		cuts[5] = line_off(text, len, 6) + 3;
		cuts[6] = b1 - 1;                       /* the commit without its '\n' */
		cuts[7] = b1;                           /* B whole: restored */
		cut = cuts[i];
		spew(&v, "leases.journal", text, cut);
		free(text);
		v.mono = 5000;
		start(&v);
		assert_true(v.load_ret >= 0);
		assert_true(present(&v, MAP_TCP, 1, ""));
		assert_int_equal(present(&v, MAP_TCP, 2, ""), i == 7);
		assert_int_equal(present(&v, MAP_TCP, 3, ""), i == 7);
		assert_int_equal(present(&v, MAP_TCP, 4, ""), i == 7);
		assert_false(present(&v, MAP_TCP, 5, ""));
		assert_int_equal(v.st.bad, 0);
		assert_int_equal(v.st.uncommitted > 0, i != 7);
		env_fini(&v);
	}
}

struct corrupt_row {
	const char *name;
	const char *file;
	size_t line;                    /* the line to damage */
	int how;                        /* 0: flip a byte, 1: replace with text, 2: insert text */
	const char *text;               /* for 1 and 2 (no '\n') */
	uint16_t gone[5];               /* ports lost */
	size_t bad;
};

/* Journal lines as in write_abc(); the snapshot (after a restart):
 * header, then 1..5 in table order, then end. */
static const struct corrupt_row corrupt_rows[] = {
	{ "journal: flipped byte in A's record", "leases.journal", 1, 0, NULL, { 1 }, 1 },
	{ "journal: flipped byte in one of B's records", "leases.journal", 4, 0, NULL, { 3 }, 1 },
	{ "journal: flipped byte in B's commit (B goes with C)", "leases.journal", 6, 0, NULL,
	  { 0 }, 2 },
	{ "journal: last commit damaged (torn C)", "leases.journal", 8, 0, NULL, { 5 }, 0 },
	{ "journal: garbage line in the middle", "leases.journal", 3, 2, "\x01\x02garbage\xff",
	  { 0 }, 2 },
	{ "journal: empty line in the middle", "leases.journal", 3, 2, "", { 0 }, 2 },
	{ "journal: valid CRC, unknown record", "leases.journal", 3, 2, "=x 1 2 3", { 0 }, 2 },
	{ "journal: valid CRC, bad port", "leases.journal", 1, 1,
	  "=m TCP 0 0.0.0.0 192.168.1.20 1 1 upnp 192.168.1.20 1800000000 r", { 1 }, 1 },
	{ "journal: valid CRC, bad address", "leases.journal", 1, 1,
	  "=m TCP 1 0.0.0.0 192.168.1.256 1 1 upnp 192.168.1.20 1800000000 r", { 1 }, 1 },
	{ "journal: valid CRC, raw space in description", "leases.journal", 1, 1,
	  "=m TCP 1 0.0.0.0 192.168.1.20 1 1 upnp 192.168.1.20 1800000000 a b", { 1 }, 1 },
	{ "journal: valid CRC, %00 in description", "leases.journal", 1, 1,
	  "=m TCP 1 0.0.0.0 192.168.1.20 1 1 upnp 192.168.1.20 1800000000 a%00", { 1 }, 1 },
	{ "journal: valid CRC, unknown origin", "leases.journal", 1, 1,
	  "=m TCP 1 0.0.0.0 192.168.1.20 1 1 admin 192.168.1.20 1800000000 a", { 1 }, 1 },
	{ "journal: valid CRC, enabled 2", "leases.journal", 1, 1,
	  "=m TCP 1 0.0.0.0 192.168.1.20 1 2 upnp 192.168.1.20 1800000000 a", { 1 }, 1 },
	{ "journal: overlong line", "leases.journal", 3, 2, "#", { 0 }, 2 },
	{ "journal: bad header", "leases.journal", 0, 0, NULL, { 1, 2, 3, 4, 5 }, 1 },
	{ "journal: future version", "leases.journal", 0, 1, "=igdd-leases 2 journal 1 1700000000",
	  { 1, 2, 3, 4, 5 }, 1 },
	{ "snapshot: flipped byte in a record", "leases.snap", 2, 0, NULL, { 2 }, 1 },
	{ "snapshot: end line lost", "leases.snap", 6, 1, "", { 0 }, 1 },
	{ "snapshot: garbage in the middle", "leases.snap", 3, 2, "\xff\xfe", { 0 }, 1 },
	{ "snapshot: bad header", "leases.snap", 0, 0, NULL, { 1, 2, 3, 4, 5 }, 1 },
};

/* Apply row x to the text of its file. */
static char *damage(const struct corrupt_row *x, const char *text, size_t len, size_t *ret_len)
{
	size_t at = line_off(text, len, x->line), end = line_off(text, len, x->line + 1);
	size_t rest = x->how == 1 ? end : at, ilen;
	char *out = malloc(len + 4096), ins[2048];

	assert_non_null(out);
	memcpy(out, text, len);
	if (x->how == 0) {
		out[at + 12] ^= 0x20;           /* inside the body: the CRC fails */
		*ret_len = len;
		return out;
	}
	if (x->text[0] == '=') {
		crc_line(ins, sizeof(ins), x->text + 1);        /* a valid CRC */
	} else if (x->text[0] == '#') {
		memset(ins, 'a', 1500);
		ins[1500] = '\n';
		ins[1501] = '\0';
	} else if (x->text[0] || x->how == 2) {
		snprintf(ins, sizeof(ins), "%s\n", x->text);
	} else {
		ins[0] = '\0';                 /* the line removed */
	}
	ilen = strlen(ins);
	memcpy(out + at, ins, ilen);
	memcpy(out + at + ilen, text + rest, len - rest);
	*ret_len = at + ilen + len - rest;
	return out;
}

static void test_corrupt(void **state)
{
	size_t i, k, len, dlen;

	(void)state;
	for (i = 0; i < N(corrupt_rows); i++) {
		const struct corrupt_row *x = &corrupt_rows[i];
		bool snap = !strcmp(x->file, "leases.snap");
		struct env v;
		char *text, *bad;
		uint16_t p;

		print_message("  %s\n", x->name);
		env_init(&v);
		start(&v);
		write_abc(&v);
		if (snap)
			restart(&v, 0);
		stop(&v);
		text = slurp(&v, x->file, &len);
		bad = damage(x, text, len, &dlen);
		spew(&v, x->file, bad, dlen);
		free(text);
		free(bad);
		v.mono = 5000;
		start(&v);
		assert_true(v.load_ret >= 0);
		assert_int_equal(v.st.bad, x->bad);
		for (p = 1; p <= 5; p++) {
			bool lost = false;

			for (k = 0; k < N(x->gone); k++)
				lost |= x->gone[k] == p;
			if (present(&v, MAP_TCP, p, "") == lost)
				fail_msg("%s: port %u should be %s", x->name, p, lost ? "gone" : "back");
		}
		/* The load wrote clean files: nothing is bad any more. */
		restart(&v, 0);
		assert_int_equal(v.st.bad, 0);
		env_fini(&v);
	}
}

/* Random damage to real files: the load never fails or crashes (run
 * under ASan in CI), and what it writes back reads cleanly. */
static void test_garbage(void **state)
{
	size_t len, dlen, k, round;
	char *text, *bad;

	(void)state;
	for (round = 0; round < 60; round++) {
		const char *name = round % 3 == 2 ? "leases.snap" : "leases.journal";
		struct env v;

		env_init(&v);
		start(&v);
		write_abc(&v);
		if (round % 3 == 2)
			restart(&v, 0);
		stop(&v);
		text = slurp(&v, name, &len);
		bad = malloc(len + 64);
		assert_non_null(bad);
		memcpy(bad, text, len);
		dlen = len;
		for (k = 0; k < 1 + round % 7; k++) {
			size_t at = (size_t)(rnd() % dlen);

			switch (rnd() % 4) {
			case 0: bad[at] = (char)rnd(); break;                   /* any byte */
			case 1: bad[at] = "\n %\0"[rnd() % 4]; break;           /* separators */
			case 2: dlen = at + 1; break;                           /* cut */
			default:                                                /* repeat a run */
				if (dlen + 32 <= len + 64 && at + 32 <= dlen) {
					memmove(bad + at + 32, bad + at, dlen - at);
					dlen += 32;
				}
			}
		}
		spew(&v, name, bad, dlen);
		free(text);
		free(bad);
		v.mono = 5000;
		start(&v);
		assert_true(v.load_ret >= 0 && v.load_ret <= 5);
		restart(&v, 0);
		assert_int_equal(v.st.bad, 0);
		env_fini(&v);
	}
}

/* ===================================================== missing files */

static void test_missing(void **state)
{
	struct env *v = *state;
	struct row r = { MAP_TCP, 7, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "m" };
	char sub[128], err[256];
	struct leasefile *lf;
	struct stat st;

	/* A state directory that does not exist is created, 0700. */
	snprintf(sub, sizeof(sub), "%s/state", v->dir);
	lf = leasefile_open(sub, &v->mono_clk, &v->wall_clk, err, sizeof(err));
	assert_non_null(lf);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(leasefile_load(lf, restore_cb, v, NULL), 0);
	leasefile_close(lf);
	rm_tree(sub);
	/* Its parent must exist. */
	snprintf(sub, sizeof(sub), "%s/no/such", v->dir);
	assert_null(leasefile_open(sub, &v->mono_clk, &v->wall_clk, err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));

	start(v);                       /* empty directory */
	assert_int_equal(v->load_ret, 0);
	put_commit(v, &r);
	restart(v, 0);
	expect_row(v, &r, 600);
	stop(v);
	unlink(path_of(v, "leases.journal", sub, sizeof(sub)));
	start(v);                       /* snapshot only */
	expect_row(v, &r, 600);
	r.port = 8;
	put_commit(v, &r);
	stop(v);
	unlink(path_of(v, "leases.snap", sub, sizeof(sub)));
	start(v);                       /* journal only: what it holds */
	assert_false(present(v, MAP_TCP, 7, ""));
	expect_row(v, &r, 600);
	stop(v);
	spew(v, "leases.snap", "", 0);
	spew(v, "leases.journal", "", 0);
	start(v);                       /* empty files */
	assert_int_equal(v->load_ret, 0);
	assert_int_equal(v->st.bad, 0);
}

/* ======================================================= generations */

/* A hand-made file: generation, then (port, desc) records. */
struct gen_file {
	const char *name;               /* NULL: absent */
	uint64_t gen;
	struct { uint16_t port; const char *desc; } rec[3];
};

struct gen_row {
	const char *name;
	struct gen_file f[3];
	struct { uint16_t port; const char *desc; } want[4];
	uint16_t gone[2];
};

#define SNAP(g, ...) { "leases.snap", g, { __VA_ARGS__ } }
#define JOUR(g, ...) { "leases.journal", g, { __VA_ARGS__ } }
#define PREV(g, ...) { "leases.journal.prev", g, { __VA_ARGS__ } }

static const struct gen_row gen_rows[] = {
	{ "snapshot + its journal", { SNAP(1, { 1, "s" }), JOUR(1, { 2, "j" }) },
	  { { 1, "s" }, { 2, "j" } }, { 0 } },
	{ "journal older than the snapshot: stale", { SNAP(2, { 1, "s" }), JOUR(1, { 2, "j" }) },
	  { { 1, "s" } }, { 2 } },
	{ "crash in compaction: snapshot, prev, journal",
	  { SNAP(1, { 1, "s" }), PREV(1, { 2, "p" }), JOUR(2, { 3, "j" }) },
	  { { 1, "s" }, { 2, "p" }, { 3, "j" } }, { 0 } },
	{ "crash after the new snapshot: prev stale",
	  { SNAP(2, { 1, "s" }, { 3, "s" }), PREV(1, { 9, "p" }, { 1, "p" }), JOUR(2, { 3, "j" }) },
	  { { 1, "s" }, { 3, "j" } }, { 9 } },
	{ "journals in generation order", { SNAP(1, { 0 }), PREV(1, { 5, "old" }),
					    JOUR(2, { 5, "new" }) },
	  { { 5, "new" } }, { 0 } },
	{ "journals in generation order, names swapped", { SNAP(1, { 0 }),
	  PREV(2, { 5, "new" }), JOUR(1, { 5, "old" }) }, { { 5, "new" } }, { 0 } },
	{ "no snapshot: the journal alone", { JOUR(3, { 4, "j" }) }, { { 4, "j" } }, { 0 } },
};

static void write_gen_file(const struct env *v, const struct gen_file *g)
{
	bool snap = !strcmp(g->name, "leases.snap");
	char text[4096], body[256];
	size_t len = 0, i, n = 0;

	snprintf(body, sizeof(body), "igdd-leases 1 %s %llu %llu", snap ? "snapshot" : "journal",
		 (unsigned long long)g->gen, (unsigned long long)WALL0);
	crc_line(text, sizeof(text), body);
	len = strlen(text);
	for (i = 0; i < N(g->rec) && g->rec[i].port; i++, n++) {
		snprintf(body, sizeof(body), "m TCP %u 0.0.0.0 192.168.1.20 %u 1 upnp 192.168.1.20 "
			 "%llu %s", g->rec[i].port, g->rec[i].port,
			 (unsigned long long)WALL0 + 600, g->rec[i].desc);
		crc_line(text + len, sizeof(text) - len, body);
		len += strlen(text + len);
	}
	if (snap)
		snprintf(body, sizeof(body), "end %zu", n);
	else
		snprintf(body, sizeof(body), "c %zu %llu", n, (unsigned long long)WALL0);
	crc_line(text + len, sizeof(text) - len, body);
	spew(v, g->name, text, len + strlen(text + len));
}

/* Which files count after a crash at each point of a compaction. */
static void test_generations(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < N(gen_rows); i++) {
		const struct gen_row *x = &gen_rows[i];
		struct env v;

		print_message("  %s\n", x->name);
		env_init(&v);
		for (k = 0; k < N(x->f) && x->f[k].name; k++)
			write_gen_file(&v, &x->f[k]);
		start(&v);
		assert_int_equal(v.st.bad, 0);
		for (k = 0; k < N(x->want) && x->want[k].port; k++) {
			struct row r = { MAP_TCP, x->want[k].port, "", NULL, 0, true,
					 MAP_ORIGIN_UPNP, NULL, 600, x->want[k].desc };

			expect_row(&v, &r, 600);
		}
		assert_int_equal(map_count(v.t), k);
		for (k = 0; k < N(x->gone) && x->gone[k]; k++)
			assert_false(present(&v, MAP_TCP, x->gone[k], ""));
		/* The load left one snapshot, one journal, nothing else. */
		assert_false(exists(&v, "leases.journal.prev"));
		restart(&v, 0);
		assert_int_equal(map_count(v.t), v.st.restored);
		env_fini(&v);
	}
}

/* Two instances on one directory: the second is refused. */
static void test_lock(void **state)
{
	struct env *v = *state;
	char err[256];

	start(v);
	assert_null(leasefile_open(v->dir, &v->mono_clk, &v->wall_clk, err, sizeof(err)));
	assert_non_null(strstr(err, "in use by another igdd"));
}

/* What the restore callback refuses is forgotten. */
static void test_dropped(void **state)
{
	struct env *v = *state;
	struct row r = { MAP_TCP, 10, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "m" };

	start(v);
	put_commit(v, &r);
	r.port = 11;
	put_commit(v, &r);
	v->drop_port = 10;
	restart(v, 0);
	assert_int_equal(v->st.dropped, 1);
	assert_int_equal(v->st.restored, 1);
	v->drop_port = 0;
	restart(v, 0);
	assert_false(present(v, MAP_TCP, 10, ""));
	expect_row(v, &r, 600);
}

/* ======================================================== compaction */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random changes all over the key space: adds, updates, deletes, each
 * its own action. */
static void churn(struct env *v, int n)
{
	struct row r = { MAP_TCP, 0, "", "192.168.1.40", 0, true, MAP_ORIGIN_UPNP, NULL, 0,
			 "churn" };
	int i;

	for (i = 0; i < n; i++) {
		r.proto = (uint8_t)(rnd() & 1);
		r.port = (uint16_t)(1 + rnd() % 30000);
		r.lease_s = (uint32_t)(60 + rnd() % 3600);
		r.int_port = (uint16_t)(1 + rnd() % 1000);
		if (present(v, r.proto, r.port, "") && rnd() % 3 == 0)
			del(v, r.proto, r.port, "");
		else
			put(v, &r);
		assert_int_equal(leasefile_commit(v->lf), 0);
	}
}

struct dump {
	size_t n;
	struct mapping *m;              /* desc pointers into the copies below */
	char (*desc)[IGDD_MAX_DESC_LEN + 1];
	uint32_t *left;
};

static void dump_table(const struct env *v, struct dump *d)
{
	const struct mapping *m;
	size_t i = 0;

	d->n = map_count(v->t);
	d->m = calloc(d->n + 1, sizeof(*d->m));
	d->desc = calloc(d->n + 1, sizeof(*d->desc));
	d->left = calloc(d->n + 1, sizeof(*d->left));
	assert_true(d->m && d->desc && d->left);
	for (m = map_first(v->t); m; m = map_next(v->t, m), i++) {
		d->m[i] = *m;
		snprintf(d->desc[i], sizeof(d->desc[i]), "%s", m->desc);
		d->left[i] = map_lease_remaining(v->t, m);
	}
}

static void expect_dump(const struct env *v, const struct dump *d)
{
	const struct mapping *m;
	size_t i = 0;

	assert_int_equal(map_count(v->t), d->n);
	for (m = map_first(v->t); m; m = map_next(v->t, m), i++) {
		assert_int_equal(m->proto, d->m[i].proto);
		assert_int_equal(m->ext_port, d->m[i].ext_port);
		assert_int_equal(m->int_port, d->m[i].int_port);
		assert_int_equal(m->internal_client.s_addr, d->m[i].internal_client.s_addr);
		assert_string_equal(m->desc, d->desc[i]);
		assert_int_equal(map_lease_remaining(v->t, m), d->left[i]);
	}
}

static void dump_free(struct dump *d)
{
	free(d->m);
	free(d->desc);
	free(d->left);
}

/* Enough records for a compaction to be wanted (past 1 MiB). */
static void fill_journal(struct env *v)
{
	struct row r = { MAP_TCP, 0, "", "192.168.1.50", 0, true, MAP_ORIGIN_UPNP, NULL, 7200,
			 "filler entry with a long enough description" };
	int i;

	leasefile_set_sync(v->lf, false);
	for (i = 0; i < 14000; i++) {
		r.proto = (uint8_t)(i & 1);
		r.port = (uint16_t)(30001 + i / 2);
		put(v, &r);
		if (i % 100 == 99)
			assert_int_equal(leasefile_commit(v->lf), 0);
	}
	assert_int_equal(leasefile_commit(v->lf), 0);
}

/*
 * The fuzzy snapshot: changes land before and after the cursor between
 * compaction steps, and a crash after any number of steps restores the
 * table exactly.
 */
static void test_compaction_incremental(void **state)
{
	static const int crash_after[] = { 0, 1, 2, 3, 4, 100 };
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < N(crash_after); i++) {
		struct env v;
		struct dump d;

		env_init(&v);
		start(&v);
		fill_journal(&v);
		assert_true(leasefile_next_deadline(v.lf) != 0);
		for (k = 0; k < crash_after[i] && leasefile_next_deadline(v.lf); k++) {
			assert_true(leasefile_next_deadline(v.lf) <= v.mono);
			leasefile_tick(v.lf, v.t);
			churn(&v, 300);
			advance(&v, 1);
		}
		if (crash_after[i] == 100)
			assert_int_equal(leasefile_next_deadline(v.lf), 0);
		if (k > 0) {            /* begun: prev lives until the snapshot is in place */
			assert_int_equal(exists(&v, "leases.journal.prev"),
					 leasefile_next_deadline(v.lf) != 0);
			assert_int_equal(exists(&v, "leases.snap.tmp"),
					 leasefile_next_deadline(v.lf) != 0);
		}
		print_message("  crash after %d compaction steps\n", k);
		dump_table(&v, &d);
		restart(&v, 0);
		assert_int_equal(v.st.bad, 0);
		expect_dump(&v, &d);
		dump_free(&d);
		env_fini(&v);
	}
}

static void test_compaction_full(void **state)
{
	struct env *v = *state;
	struct dump d;
	size_t len;
	char *text;

	start(v);
	fill_journal(v);
	churn(v, 500);
	leasefile_tick(v->lf, v->t);            /* a compaction in progress ... */
	churn(v, 100);
	assert_int_equal(leasefile_compact(v->lf, v->t), 0);   /* ... replaced */
	assert_int_equal(leasefile_next_deadline(v->lf), 0);
	assert_false(exists(v, "leases.journal.prev"));
	text = slurp(v, "leases.journal", &len);
	assert_int_equal(line_off(text, len, 1), len);         /* a header alone */
	free(text);
	churn(v, 100);
	dump_table(v, &d);
	restart(v, 0);
	expect_dump(v, &d);
	dump_free(&d);
}

/* Many remote hosts on one port across a compaction step: the cursor
 * never splits a port, so no entry is copied twice. */
static void test_compaction_remote_hosts(void **state)
{
	struct env *v = *state;
	struct row r = { MAP_TCP, 0, "", "192.168.1.70", 0, true, MAP_ORIGIN_UPNP, NULL, 3600,
			 "rh" };
	char rh[16], *text;
	size_t len, lines;
	int i;

	start(v);
	fill_journal(v);                        /* 14000 entries, ports 30001-37000 */
	r.port = 30000;                         /* just before them, straddling step 1 */
	for (i = 0; i < 5000; i++) {
		snprintf(rh, sizeof(rh), "198.51.%d.%d", i / 250, 1 + i % 250);
		r.rh = rh;
		put(v, &r);
	}
	assert_int_equal(leasefile_commit(v->lf), 0);
	for (i = 0; i < 100 && leasefile_next_deadline(v->lf); i++)
		leasefile_tick(v->lf, v->t);
	assert_int_equal(leasefile_next_deadline(v->lf), 0);
	text = slurp(v, "leases.snap", &len);
	check_lines(text, len, &lines);
	free(text);
	assert_int_equal(lines, map_count(v->t) + 2);  /* header, entries, end */
	restart(v, 0);
	assert_int_equal(v->load_ret, 19000);
}

/* One action past the pending bound breaks the journal: commits fail
 * until the next tick rewrites the files; nothing committed is lost. */
static void test_broken_journal(void **state)
{
	struct env *v = *state;
	struct row r = { MAP_TCP, 5000, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600,
			 "a description long enough to fill the pending buffer quickly, "
			 "a description long enough to fill the pending buffer quickly" };
	struct row ok = { MAP_TCP, 5001, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "ok" };
	struct dump d;
	int i, r1 = 0;

	start(v);
	put_commit(v, &ok);
	put(v, &r);
	for (i = 0; i < 300000 && r1 == 0; i++)
		r1 = leasefile_record_put(v->lf, map_find(v->t, MAP_TCP, 5000, ip("")));
	assert_int_equal(r1, -ENOBUFS);
	assert_int_equal(leasefile_commit(v->lf), -ENOBUFS);   /* the action is not durable */
	assert_int_equal(leasefile_commit(v->lf), 0);          /* nothing recorded since */
	assert_int_equal(leasefile_record_put(v->lf, map_find(v->t, MAP_TCP, 5000, ip(""))),
			 -ENOBUFS);
	assert_int_equal(leasefile_commit(v->lf), -ENOBUFS);
	assert_true(leasefile_next_deadline(v->lf) != 0);
	leasefile_tick(v->lf, v->t);
	assert_int_equal(leasefile_next_deadline(v->lf), 0);
	ok.port = 5002;
	put_commit(v, &ok);
	dump_table(v, &d);
	restart(v, 0);
	expect_dump(v, &d);
	assert_true(present(v, MAP_TCP, 5000, ""));
	dump_free(&d);
}

/*
 * A write error (the file size limit, as a full disk would): the commit
 * that failed says so, and so does every later one until the next tick
 * rewrites the files; a crash before that loses only what failed.
 */
static void test_write_error(void **state)
{
	struct env *v = *state;
	struct row a = { MAP_TCP, 6000, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "a" };
	struct row b = { MAP_TCP, 6001, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "b" };
	struct row c = { MAP_TCP, 6002, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "c" };
	struct rlimit old, lim;
	struct stat st;
	char path[256];
	int pass, r1, r2, r3;

	signal(SIGXFSZ, SIG_IGN);
	for (pass = 0; pass < 2; pass++) {      /* crash while broken, then repair first */
		if (pass > 0)
			env_init(v);
		start(v);
		put_commit(v, &a);
		assert_int_equal(stat(path_of(v, "leases.journal", path, sizeof(path)), &st), 0);
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		lim = old;
		lim.rlim_cur = (rlim_t)st.st_size + 20;        /* b's record gets cut */
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
		put(v, &b);
		r1 = leasefile_commit(v->lf);
		r2 = put_ret(v, &c);
		r3 = leasefile_commit(v->lf);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		assert_int_equal(r1, -EFBIG);
		assert_int_equal(r2, -EFBIG);          /* broken: not even buffered */
		assert_int_equal(r3, -EFBIG);
		if (pass == 0) {
			restart(v, 0);
			assert_true(present(v, MAP_TCP, 6000, ""));
			assert_false(present(v, MAP_TCP, 6001, ""));
			assert_false(present(v, MAP_TCP, 6002, ""));
		} else {
			assert_true(leasefile_next_deadline(v->lf) != 0);
			leasefile_tick(v->lf, v->t);
			assert_int_equal(leasefile_next_deadline(v->lf), 0);
			c.port = 6003;
			put_commit(v, &c);
			restart(v, 0);
			assert_int_equal(v->load_ret, 4);       /* the table, as it was */
		}
		if (pass == 0)
			env_fini(v);
	}
	signal(SIGXFSZ, SIG_DFL);
}

/* ============================================ the asynchronous commit */

/*
 * The writer thread's fdatasync, held at a gate the test opens: call n
 * waits until released >= n, then fails if it is fail_at (with
 * fail_err), else runs the real fdatasync. entered counts the calls
 * that reached the gate (a test waits for it before it goes on).
 */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls, released, fail_at, fail_err;
	bool broken;                    /* the safety timeout ran out at the gate */
};

static void gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
}

static void gate_fini(struct gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

static struct timespec gate_deadline(void)
{
	struct timespec ts;
	uint64_t ms = test_timeout_ms();

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	return ts;
}

static int gate_sync(int fd, void *arg)
{
	struct gate *g = arg;
	struct timespec end = gate_deadline();
	int n, fail;

	pthread_mutex_lock(&g->mu);
	n = ++g->calls;
	pthread_cond_broadcast(&g->cv);
	while (g->released < n && !g->broken)
		if (pthread_cond_timedwait(&g->cv, &g->mu, &end) == ETIMEDOUT)
			g->broken = true;
	fail = n == g->fail_at ? g->fail_err : 0;
	pthread_mutex_unlock(&g->mu);
	if (fail)
		return fail;
	return fdatasync(fd) < 0 ? -errno : 0;
}

static void gate_release(struct gate *g, int upto)
{
	pthread_mutex_lock(&g->mu);
	g->released = upto;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* Wait (safety timeout) until n calls reached the gate. */
static void gate_wait_calls(struct gate *g, int n)
{
	struct timespec end = gate_deadline();
	int r = 0;

	pthread_mutex_lock(&g->mu);
	while (g->calls < n && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&g->cv, &g->mu, &end);
	pthread_mutex_unlock(&g->mu);
	if (r == ETIMEDOUT)
		fail_msg("the writer thread never reached fdatasync %d", n);
}

static int gate_calls(struct gate *g)
{
	int n;

	pthread_mutex_lock(&g->mu);
	n = g->calls;
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* What the completions said, in the order they came. */
struct done {
	int n;
	int tag[LEASEFILE_WAITERS_MAX + 8];
	int err[LEASEFILE_WAITERS_MAX + 8];
};

struct waiter {
	struct done *d;
	int tag;
};

static void done_cb(int err, void *arg)
{
	struct waiter *w = arg;

	w->d->tag[w->d->n] = w->tag;
	w->d->err[w->d->n] = err;
	w->d->n++;
}

/* Put r and commit it asynchronously as tag. */
static void put_async(struct env *v, const struct row *r, struct waiter *w)
{
	put(v, r);
	assert_int_equal(leasefile_commit_async(v->lf, done_cb, w), 0);
}

/* Run the loop's side: wait for the eventfd and call leasefile_on_ready()
 * until n completions came (safety timeout). */
static void drive(struct env *v, struct done *d, int n)
{
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();
	struct pollfd p = { leasefile_ready_fd(v->lf), POLLIN, 0 };

	assert_true(p.fd >= 0);
	while (d->n < n) {
		if (clock_monotonic_ms(NULL) >= end)
			fail_msg("%d of %d commits completed", d->n, n);
		if (poll(&p, 1, 100) > 0)
			leasefile_on_ready(v->lf);
	}
}

static struct row async_row(uint16_t port)
{
	struct row r = { MAP_TCP, port, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 600, "async" };

	return r;
}

/* n commits of one row each (ports port0...), their completions, and
 * the gate their fdatasyncs wait at. */
struct async_case {
	int n;
	struct done d;
	struct waiter w[5];
	struct row r[5];
	struct gate g;
};

static void async_begin(struct env *v, struct async_case *c, int n, uint16_t port0)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->n = n;
	for (i = 0; i < n; i++) {
		c->w[i] = (struct waiter){ &c->d, i };
		c->r[i] = async_row((uint16_t)(port0 + i));
	}
	gate_init(&c->g);
	start(v);
	leasefile_set_sync_fn(v->lf, gate_sync, &c->g);
}

/* Every commit succeeded, in order, and is there after a restart. */
static void async_end(struct env *v, struct async_case *c)
{
	int i;

	assert_int_equal(c->d.n, c->n);
	for (i = 0; i < c->n; i++) {
		assert_int_equal(c->d.tag[i], i);
		assert_int_equal(c->d.err[i], 0);
	}
	assert_false(c->g.broken);
	restart(v, 0);
	for (i = 0; i < c->n; i++)
		expect_row(v, &c->r[i], 600);
	gate_fini(&c->g);
}

/* Commits requested while one fdatasync runs share the next one; they
 * complete in request order, and survive a restart. */
static void test_async_group(void **state)
{
	struct env *v = *state;
	struct leasefile_async_stats st;
	struct async_case c;
	int i;

	async_begin(v, &c, 5, 7000);
	put_async(v, &c.r[0], &c.w[0]);
	gate_wait_calls(&c.g, 1);               /* the first fdatasync runs ... */
	for (i = 1; i < 5; i++)
		put_async(v, &c.r[i], &c.w[i]); /* ... while four more commit */
	leasefile_async_stats(v->lf, &st);
	assert_int_equal(st.commits, 5);
	assert_int_equal(st.waiting, 5);
	assert_int_equal(c.d.n, 0);             /* nothing before leasefile_on_ready() */
	gate_release(&c.g, 1000);
	drive(v, &c.d, 5);
	assert_int_equal(gate_calls(&c.g), 2);  /* one for the first, one for the four */
	leasefile_async_stats(v->lf, &st);
	assert_int_equal(st.syncs, 2);
	assert_int_equal(st.waiting, 0);
	async_end(v, &c);
}

/* Nothing recorded: nothing to wait for, unless a commit waits; then
 * the empty one completes after it. lf NULL: nothing to wait for. */
static void test_async_empty(void **state)
{
	struct env *v = *state;
	struct async_case c;

	async_begin(v, &c, 1, 7100);
	assert_int_equal(leasefile_commit_async(NULL, done_cb, &c.w[0]), 1);
	assert_int_equal(leasefile_ready_fd(NULL), -1);
	assert_int_equal(leasefile_commit_async(v->lf, done_cb, &c.w[0]), 1);
	put_async(v, &c.r[0], &c.w[0]);
	gate_wait_calls(&c.g, 1);
	c.w[1] = (struct waiter){ &c.d, 1 };
	assert_int_equal(leasefile_commit_async(v->lf, done_cb, &c.w[1]), 0);
	gate_release(&c.g, 1000);
	drive(v, &c.d, 2);
	assert_int_equal(c.d.tag[0], 0);
	assert_int_equal(c.d.tag[1], 1);
	assert_int_equal(c.d.err[0], 0);
	assert_int_equal(c.d.err[1], 0);
	assert_int_equal(gate_calls(&c.g), 1); /* the empty one needed no fdatasync */
	gate_fini(&c.g);
}

/*
 * A failed fdatasync fails every commit it covered, and every one still
 * waiting behind it (fail_at 1: the second batch's fdatasync succeeds,
 * but its records follow lost ones); commits fail until the journal is
 * rewritten; the failed ones (undone by the caller, as the engine does)
 * are not restored.
 */
static void test_async_fail(void **state)
{
	struct env *v = *state;
	int fail_at;

	for (fail_at = 1; fail_at <= 2; fail_at++) {
		struct row after = async_row(7210);
		struct async_case c;
		int i;

		if (fail_at > 1)
			env_init(v);
		async_begin(v, &c, 3, 7200);
		c.g.fail_at = fail_at;
		c.g.fail_err = -EIO;
		for (i = 0; i < 3; i++) {
			put_async(v, &c.r[i], &c.w[i]);
			if (i == 0)
				gate_wait_calls(&c.g, 1);
		}
		gate_release(&c.g, 1000);
		drive(v, &c.d, 3);
		for (i = 0; i < 3; i++) {
			assert_int_equal(c.d.tag[i], i);
			/* fail_at 1: all three; fail_at 2: the batch of 1 and 2 */
			assert_int_equal(c.d.err[i], i + 1 >= fail_at ? -EIO : 0);
		}
		for (i = fail_at - 1; i < 3; i++)       /* the caller undoes them */
			map_remove(v->t, map_find(v->t, MAP_TCP, c.r[i].port, ip("")));
		/* Broken until rewritten, as for leasefile_commit(). */
		assert_int_equal(put_ret(v, &after), -EIO);
		assert_int_equal(leasefile_commit_async(v->lf, done_cb, &c.w[0]), -EIO);
		map_remove(v->t, map_find(v->t, MAP_TCP, after.port, ip("")));
		assert_true(leasefile_next_deadline(v->lf) != 0);
		leasefile_tick(v->lf, v->t);
		assert_int_equal(leasefile_next_deadline(v->lf), 0);
		put_async(v, &after, &c.w[0]);
		drive(v, &c.d, 4);
		assert_int_equal(c.d.err[3], 0);
		restart(v, 0);
		for (i = 0; i < 3; i++)
			assert_int_equal(present(v, MAP_TCP, c.r[i].port, ""), i + 1 < fail_at);
		expect_row(v, &after, 600);
		assert_false(c.g.broken);
		gate_fini(&c.g);
		if (fail_at == 1)
			env_fini(v);
	}
}

struct releaser {
	struct leasefile *lf;
	struct gate *g;
	bool saw_drain;
};

/* Open the gate once the loop waits for the writer. */
static void *release_on_drain(void *arg)
{
	struct releaser *rl = arg;
	uint64_t end = clock_monotonic_ms(NULL) + test_timeout_ms();
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	struct leasefile_async_stats st;

	do {
		leasefile_async_stats(rl->lf, &st);
		if (st.draining) {
			rl->saw_drain = true;
			break;
		}
		nanosleep(&ts, NULL);
	} while (clock_monotonic_ms(NULL) < end);
	gate_release(rl->g, 1000);
	return NULL;
}

/*
 * A compaction while an fdatasync runs waits for it before it replaces
 * the journal (the thread syncs the old file, still open: the real
 * fdatasync behind the gate succeeds), and the commits after it go to
 * the new journal.
 */
static void test_async_compact(void **state)
{
	struct env *v = *state;
	struct leasefile_async_stats st;
	struct async_case c;
	struct releaser rl;
	pthread_t th;

	async_begin(v, &c, 3, 7300);
	put_async(v, &c.r[0], &c.w[0]);
	gate_wait_calls(&c.g, 1);
	put_async(v, &c.r[1], &c.w[1]);
	rl = (struct releaser){ v->lf, &c.g, false };
	assert_int_equal(pthread_create(&th, NULL, release_on_drain, &rl), 0);
	assert_int_equal(leasefile_compact(v->lf, v->t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(rl.saw_drain);
	leasefile_async_stats(v->lf, &st);
	assert_int_equal(st.drains, 1);
	put_async(v, &c.r[2], &c.w[2]);
	drive(v, &c.d, 3);
	assert_int_equal(gate_calls(&c.g), 3);
	async_end(v, &c);
}

static void *release_on_call(void *arg)
{
	struct gate *g = arg;

	gate_wait_calls(g, 1);
	gate_release(g, 1000);
	return NULL;
}

/* Closing with commits pending: the thread syncs them first, close
 * calls them back in order, and they are on disk. */
static void test_async_close(void **state)
{
	struct env *v = *state;
	struct async_case c;
	pthread_t th;
	int i;

	async_begin(v, &c, 3, 7400);
	for (i = 0; i < 3; i++)
		put_async(v, &c.r[i], &c.w[i]);
	assert_int_equal(pthread_create(&th, NULL, release_on_call, &c.g), 0);
	leasefile_close(v->lf);
	v->lf = NULL;
	assert_int_equal(pthread_join(th, NULL), 0);
	async_end(v, &c);
}

/* At most LEASEFILE_WAITERS_MAX commits wait; the next is refused whole
 * (-EAGAIN: nothing of it in the file) and the journal goes on. */
static void test_async_bound(void **state)
{
	struct env *v = *state;
	static struct done d;
	static struct waiter w[LEASEFILE_WAITERS_MAX + 2];
	struct row r = async_row(0), over = async_row(9999);
	struct gate g;
	int i;

	memset(&d, 0, sizeof(d));
	gate_init(&g);
	start(v);
	leasefile_set_sync_fn(v->lf, gate_sync, &g);
	for (i = 0; i < LEASEFILE_WAITERS_MAX; i++) {
		w[i] = (struct waiter){ &d, i };
		r.port = (uint16_t)(10000 + i);
		put_async(v, &r, &w[i]);
	}
	put(v, &over);
	assert_int_equal(leasefile_commit_async(v->lf, done_cb, &w[i]), -EAGAIN);
	map_remove(v->t, map_find(v->t, MAP_TCP, over.port, ip("")));
	gate_release(&g, 1000);
	drive(v, &d, LEASEFILE_WAITERS_MAX);
	for (i = 0; i < LEASEFILE_WAITERS_MAX; i++)
		assert_int_equal(d.err[i] == 0 && d.tag[i] == i, true);
	assert_true(gate_calls(&g) >= 2);
	/* The journal goes on. */
	w[LEASEFILE_WAITERS_MAX] = (struct waiter){ &d, LEASEFILE_WAITERS_MAX };
	r.port = 9998;
	put_async(v, &r, &w[LEASEFILE_WAITERS_MAX]);
	drive(v, &d, LEASEFILE_WAITERS_MAX + 1);
	assert_int_equal(d.err[LEASEFILE_WAITERS_MAX], 0);
	restart(v, 0);
	assert_int_equal(v->load_ret, LEASEFILE_WAITERS_MAX + 1);
	assert_false(present(v, MAP_TCP, 9999, ""));
	assert_false(g.broken);
	gate_fini(&g);
}

/* ============================================================ crashes */

/* The deterministic work of a child: n actions of one add each. */
static void child_adds(struct env *v, int from, int n)
{
	struct row r = { MAP_UDP, 0, "", "192.168.1.60", 0, true, MAP_ORIGIN_UPNP, NULL, 3600,
			 "crash" };
	int i;

	for (i = from; i < from + n; i++) {
		r.port = (uint16_t)(20000 + i);
		put(v, &r);
		if (leasefile_commit(v->lf) != 0)
			_exit(3);
	}
}

/*
 * A child process adds, commits, leaves records uncommitted (and a
 * compaction half done), then is killed with SIGKILL: every committed
 * add is back, no uncommitted one is.
 */
static void test_crash_kill(void **state)
{
	static const int ticks[] = { 0, 1, 3 };
	size_t i;

	(void)state;
	for (i = 0; i < N(ticks); i++) {
		struct env v;
		pid_t pid;
		int status, k, p;

		env_init(&v);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			start(&v);
			if (v.load_ret < 0)
				_exit(2);
			leasefile_set_sync(v.lf, ticks[i] == 0);
			child_adds(&v, 0, ticks[i] ? 12000 : 1000);
			for (k = 0; k < ticks[i]; k++)
				leasefile_tick(v.lf, v.t);
			child_adds(&v, 12000, 10);
			for (p = 0; p < 5; p++) {        /* never committed */
				struct row r = { MAP_TCP, (uint16_t)(100 + p), "", NULL, 0, true,
						 MAP_ORIGIN_UPNP, NULL, 60, "lost" };
				put(&v, &r);
			}
			raise(SIGKILL);
			_exit(4);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		v.mono = 5000;
		start(&v);
		assert_int_equal(v.load_ret, (ticks[i] ? 12000 : 1000) + 10);
		assert_int_equal(v.st.bad, 0);
		for (p = 0; p < (ticks[i] ? 12000 : 1000); p += 97)
			assert_true(present(&v, MAP_UDP, (uint16_t)(20000 + p), ""));
		for (p = 0; p < 10; p++)
			assert_true(present(&v, MAP_UDP, (uint16_t)(32000 + p), ""));
		for (p = 0; p < 5; p++)
			assert_false(present(&v, MAP_TCP, (uint16_t)(100 + p), ""));
		env_fini(&v);
	}
}

/* ============================================================= scale */

/* Every port of TCP and UDP (2 x 65535), through the journal and then
 * the snapshot. (How long that takes: bench/bench_leasefile.c.) */
static void test_load_131070(void **state)
{
	struct env *v = *state;
	struct row r = { MAP_TCP, 0, "", NULL, 0, true, MAP_ORIGIN_UPNP, NULL, 0, NULL };
	char client[16], desc[64];
	uint32_t i;

	start(v);
	leasefile_set_sync(v->lf, false);
	for (i = 0; i < 131070; i++) {
		r.proto = (uint8_t)(i / 65535);
		r.port = (uint16_t)(i % 65535 + 1);
		snprintf(client, sizeof(client), "192.168.%u.%u", i % 4, 1 + i % 250);
		snprintf(desc, sizeof(desc), "lease %u of a full table", i);
		r.client = r.owner = client;
		r.desc = desc;
		r.lease_s = 1000 + i % 5000;
		put(v, &r);
		if (i % 1000 == 999)
			assert_int_equal(leasefile_commit(v->lf), 0);
	}
	assert_int_equal(leasefile_commit(v->lf), 0);
	restart(v, 10);
	assert_int_equal(v->load_ret, 131070);
	restart(v, 0);
	assert_int_equal(v->load_ret, 131070);
	assert_int_equal(map_count(v->t), 131070);
	for (i = 0; i < 131070; i += 4099) {
		r.proto = (uint8_t)(i / 65535);
		r.port = (uint16_t)(i % 65535 + 1);
		snprintf(client, sizeof(client), "192.168.%u.%u", i % 4, 1 + i % 250);
		snprintf(desc, sizeof(desc), "lease %u of a full table", i);
		r.client = r.owner = client;
		r.desc = desc;
		r.lease_s = 1000 + i % 5000;
		expect_row(v, &r, r.lease_s - 10);
	}
}

/* ---- IPv6 pinholes in the same files ---- */

struct pin_env {
	struct env *v;
	struct pin_table *pins;
	unsigned restored;
};

static int pin_restore_cb(const struct pinhole *p, uint32_t remaining_s, void *arg)
{
	struct pin_env *pe = arg;
	struct pinhole t = *p;

	assert_int_equal(p->lease_end_ms, 0);
	t.lease_end_ms = pin_lease_end(pe->pins, remaining_s);
	assert_int_equal(pin_add(pe->pins, &t, NULL), PIN_OK);
	pe->restored++;
	return LEASEFILE_KEEP;
}

/* Open and load with a pinhole table as well. */
static void pin_start(struct env *v, struct pin_env *pe)
{
	struct pin_limits lim = { 100, 0 };
	char err[256];

	pe->v = v;
	pe->restored = 0;
	pe->pins = pin_table_new(&lim, &v->mono_clk, 7);
	assert_non_null(pe->pins);
	new_table(v);
	v->lf = leasefile_open(v->dir, &v->mono_clk, &v->wall_clk, err, sizeof(err));
	if (!v->lf)
		fail_msg("leasefile_open: %s", err);
	leasefile_set_pins(v->lf, pe->pins, pin_restore_cb, pe);
	v->load_ret = leasefile_load(v->lf, restore_cb, v, &v->st);
	assert_true(v->load_ret >= 0);
}

static void pin_stop(struct env *v, struct pin_env *pe)
{
	stop(v);
	pin_table_free(pe->pins);
	pe->pins = NULL;
}

/*
 * Pinholes (UPnP and PCP, leased) survive a restart with their UniqueID,
 * tuple, origin, owner, LAN and the lease left; a deleted one does not;
 * one whose lease ran out while igdd was down is not restored; a
 * compaction's snapshot holds them; a static one is not kept.
 */
static void test_pinholes(void **state)
{
	struct env *v = *state;
	struct pin_env pe;
	struct pinhole t, *a, *b, *c, *got;
	uint16_t ua, ub;

	pin_start(v, &pe);
	memset(&t, 0, sizeof(t));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::20", &t.internal), 1);
	t.owner = ipaddr_from_v6(&t.internal, 0);
	t.int_port = 5555;
	t.proto = PIN_PROTO_TCP;
	t.lan = 1;
	t.lease_end_ms = pin_lease_end(pe.pins, 3600);
	assert_int_equal(pin_add(pe.pins, &t, &a), PIN_OK);
	t.int_port = 5556;
	t.proto = PIN_PROTO_UDPLITE;
	t.origin = PIN_ORIGIN_PCP;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:9::1", &t.remote), 1);
	t.remote_port = 53;
	t.lease_end_ms = pin_lease_end(pe.pins, 60);
	assert_int_equal(pin_add(pe.pins, &t, &b), PIN_OK);
	t.int_port = 5557;
	t.origin = PIN_ORIGIN_UPNP;
	t.lease_end_ms = pin_lease_end(pe.pins, 600);
	assert_int_equal(pin_add(pe.pins, &t, &c), PIN_OK);
	ua = a->uid;
	ub = b->uid;
	assert_int_equal(leasefile_record_pin_put(v->lf, a), 0);
	assert_int_equal(leasefile_record_pin_put(v->lf, b), 0);
	assert_int_equal(leasefile_record_pin_put(v->lf, c), 0);
	assert_int_equal(leasefile_commit(v->lf), 0);
	assert_int_equal(leasefile_record_pin_delete(v->lf, c), 0);
	pin_remove(pe.pins, c);
	assert_int_equal(leasefile_commit(v->lf), 0);
	pin_stop(v, &pe);

	/* Down 30 s: both come back, with what is left of their leases. */
	v->mono = 5000;
	v->wall += 30 * 1000;
	pin_start(v, &pe);
	assert_int_equal(pe.restored, 2);
	assert_int_equal(pin_count(pe.pins), 2);
	got = pin_find(pe.pins, ua);
	assert_non_null(got);
	assert_int_equal(got->int_port, 5555);
	assert_int_equal(got->proto, PIN_PROTO_TCP);
	assert_int_equal(got->origin, PIN_ORIGIN_UPNP);
	assert_int_equal(got->lan, 1);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&got->remote));
	assert_true(ipaddr_eq(&got->owner, &t.owner));
	assert_int_equal(pin_lease_remaining(pe.pins, got), 3600 - 30);
	got = pin_find(pe.pins, ub);
	assert_non_null(got);
	assert_int_equal(got->proto, PIN_PROTO_UDPLITE);
	assert_int_equal(got->origin, PIN_ORIGIN_PCP);
	assert_int_equal(got->remote_port, 53);
	assert_int_equal(pin_lease_remaining(pe.pins, got), 60 - 30);
	/* The restart wrote a snapshot of them: a compaction does too. */
	assert_int_equal(leasefile_compact(v->lf, v->t), 0);
	pin_stop(v, &pe);

	/* Down 40 s more: the 60 s one ran out; the other is still there. */
	v->mono = 5000;
	v->wall += 40 * 1000;
	pin_start(v, &pe);
	assert_int_equal(pe.restored, 1);
	assert_non_null(pin_find(pe.pins, ua));
	assert_null(pin_find(pe.pins, ub));
	assert_int_equal(v->st.expired, 1);
	/* A static pinhole (no lease) is not written. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::30", &t.internal), 1);
	t.int_port = 7000;
	t.proto = PIN_PROTO_UDP;
	t.origin = PIN_ORIGIN_STATIC;
	assert_int_equal(pin_add(pe.pins, &t, &c), PIN_OK);
	assert_int_equal(leasefile_record_pin_put(v->lf, c), 0);
	assert_int_equal(leasefile_commit(v->lf), 0);
	pin_stop(v, &pe);
	v->mono = 5000;
	pin_start(v, &pe);
	assert_int_equal(pe.restored, 1);
	pin_stop(v, &pe);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_reference),
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinholes, setup, teardown),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test_setup_teardown(test_permanent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind, setup, teardown),
		cmocka_unit_test(test_replay_order),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_generations),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test(test_compaction_incremental),
		cmocka_unit_test_setup_teardown(test_compaction_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_remote_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_bound, setup, teardown),
		cmocka_unit_test(test_crash_kill),
		cmocka_unit_test_setup_teardown(test_load_131070, setup, teardown),
	};

	log_init("test_leasefile", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
