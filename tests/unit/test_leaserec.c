/*
 * test_leaserec.c - core/leaserec: the lease files' records without any
 * file: a record written is read back to the same values, a damaged line
 * is refused with its reason, and the replay keeps the last state of each
 * key. (The files themselves: test_leasefile.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/leaserec.h"
#include "core/mapping.h"
#include "core/pinhole.h"
#include "util/str.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a = { 0 };

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* The body of the line leaserec_*() wrote (len bytes, '\n' last), checked. */
static struct str body_of(const char *line, size_t len)
{
	struct str b;

	assert_true(len > 10 && len < LEASEREC_LINE_MAX);
	assert_int_equal(line[len - 1], '\n');
	assert_null(leaserec_check_line(str_from(line, len - 1), &b));
	return b;
}

static struct mapping sample(char *desc)
{
	struct mapping m;

	memset(&m, 0, sizeof(m));
	m.remote_host = ip("198.51.100.7");
	m.internal_client = ip("192.168.1.20");
	m.owner = ip("192.168.1.20");
	m.ext_port = 18080;
	m.int_port = 8080;
	m.proto = MAP_UDP;
	m.origin = MAP_ORIGIN_PCP;
	m.enabled = true;
	m.lease_end_ms = 5000;
	memset(m.nonce, 0xab, sizeof(m.nonce));
	m.desc = desc;
	return m;
}

static void mapping_round_trip(void **state)
{
	char desc[] = "a b%c\tdé", line[LEASEREC_LINE_MAX];
	struct mapping m = sample(desc);
	struct leaserec r;
	size_t len;

	(void)state;
	assert_int_equal(leaserec_expiry(&m, 1000, 1700000000), 1700000004);
	assert_true(leaserec_persisted(&m));
	len = leaserec_put(line, &m, 1700000004);
	assert_null(leaserec_parse(body_of(line, len), &r));
	assert_int_equal(r.type, 'm');
	assert_int_equal(r.expiry, 1700000004);
	assert_int_equal(r.m.remote_host.s_addr, m.remote_host.s_addr);
	assert_int_equal(r.m.internal_client.s_addr, m.internal_client.s_addr);
	assert_int_equal(r.m.owner.s_addr, m.owner.s_addr);
	assert_int_equal(r.m.ext_port, 18080);
	assert_int_equal(r.m.int_port, 8080);
	assert_int_equal(r.m.proto, MAP_UDP);
	assert_int_equal(r.m.origin, MAP_ORIGIN_PCP);
	assert_true(r.m.enabled);
	assert_memory_equal(r.m.nonce, m.nonce, sizeof(m.nonce));
	assert_string_equal(r.m.desc, desc);

	len = leaserec_delete(line, &m);
	assert_null(leaserec_parse(body_of(line, len), &r));
	assert_int_equal(r.type, 'd');
	assert_int_equal(r.m.ext_port, 18080);
	assert_int_equal(r.m.proto, MAP_UDP);
	assert_int_equal(r.m.remote_host.s_addr, m.remote_host.s_addr);
}

static void pinhole_round_trip(void **state)
{
	char line[LEASEREC_LINE_MAX];
	struct pinhole p;
	struct leaserec r;
	size_t len;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.uid = 4242;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &p.internal), 1);
	p.int_port = 5000;
	p.remote_port = 0;
	p.proto = PIN_PROTO_TCP;
	p.origin = PIN_ORIGIN_UPNP;
	p.lan = 1;
	p.lease_end_ms = 3000;
	assert_true(leaserec_pin_persisted(&p));
	len = leaserec_pin_put(line, &p, leaserec_pin_expiry(&p, 1000, 100));
	assert_null(leaserec_parse(body_of(line, len), &r));
	assert_int_equal(r.type, 'p');
	assert_int_equal(r.pin.uid, 4242);
	assert_int_equal(r.pin.int_port, 5000);
	assert_int_equal(r.pin.lan, 1);
	assert_int_equal(r.expiry, 102);
	assert_memory_equal(&r.pin.internal, &p.internal, sizeof(p.internal));

	len = leaserec_pin_delete(line, &p);
	assert_null(leaserec_parse(body_of(line, len), &r));
	assert_int_equal(r.type, 'q');
	assert_int_equal(r.pin.uid, 4242);
}

static void damaged_lines(void **state)
{
	char desc[] = "x", line[LEASEREC_LINE_MAX];
	struct mapping m = sample(desc);
	struct str b;
	struct leaserec r;
	size_t len;

	(void)state;
	len = leaserec_put(line, &m, 7);
	line[len - 3] ^= 1;             /* one bit of the body */
	assert_string_equal(leaserec_check_line(str_from(line, len - 1), &b), "checksum mismatch");
	assert_string_equal(leaserec_check_line(STR_LIT("zz"), &b), "not a record line");
	assert_string_equal(leaserec_parse(STR_LIT("x 1 2"), &r), "unknown record");
	assert_string_equal(leaserec_parse(STR_LIT("q 0"), &r), "bad pinhole id");
}

static void words_and_lines(void **state)
{
	char line[LEASEREC_LINE_MAX], text[] = "one\ntwo";
	uint64_t b = 9, v;
	struct leaserec_lines it = { text, text + sizeof(text) - 1, 0 };
	struct str s, tok[4];
	bool torn;
	size_t len;

	(void)state;
	len = leaserec_words(line, "commit", 3, &b);
	s = body_of(line, len);
	assert_int_equal(leaserec_split(s, tok, 4), 3);
	assert_true(str_eq_cstr(tok[0], "commit"));
	assert_true(leaserec_parse_u64(tok[2], 10, &v));
	assert_int_equal(v, 9);
	assert_false(leaserec_parse_u64(tok[2], 8, &v));

	assert_true(leaserec_next_line(&it, &s, &torn));
	assert_true(str_eq_cstr(s, "one"));
	assert_false(torn);
	assert_true(leaserec_next_line(&it, &s, &torn));
	assert_true(str_eq_cstr(s, "two"));
	assert_true(torn);              /* no '\n' at the end */
	assert_int_equal(it.lineno, 2);
	assert_false(leaserec_next_line(&it, &s, &torn));
}

/* The last record of a key wins; a delete ends it. */
static void replay_map(void **state)
{
	struct leaserec_map lm = { 0 };
	struct leaserec r;
	struct mapping m;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = 'm';
	r.m = sample(r.desc);           /* as leaserec_parse() leaves it */
	memcpy(r.desc, "first", 6);
	r.expiry = 10;
	assert_int_equal(leaserec_map_put(&lm, &r), 0);
	memcpy(r.desc, "second", 7);
	r.expiry = 20;
	assert_int_equal(leaserec_map_put(&lm, &r), 0);
	assert_int_equal(lm.n, 1);
	assert_true(lm.v[0].live);
	assert_int_equal(lm.v[0].expiry, 20);
	assert_string_equal(lm.v[0].m.desc, "second");
	m = r.m;
	leaserec_map_del(&lm, &m);
	assert_false(lm.v[0].live);
	leaserec_map_free(&lm);
	assert_int_equal(lm.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mapping_round_trip),
		cmocka_unit_test(pinhole_round_trip),
		cmocka_unit_test(damaged_lines),
		cmocka_unit_test(words_and_lines),
		cmocka_unit_test(replay_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
