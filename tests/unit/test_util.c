/*
 * test_util.c - util/: bounded buffers, string views and number parsing,
 * log escaping, the log rate limit, the default route in /proc/net/route.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/ifaddr.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/str.h"
#include "util/uuid.h"

static void test_buf_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "1234"), 0);
	assert_int_equal(buf_printf(&b, "%d", 567), 0);
	assert_string_equal(b.p, "1234567");
	assert_int_equal(buf_puts(&b, "89"), -E2BIG);
	assert_true(b.toobig);
	/* once over, every later append fails too: no partial output */
	assert_int_equal(buf_puts(&b, ""), -E2BIG);
	assert_string_equal(b.p, "1234567");
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void test_buf_grows(void **state)
{
	struct buf b;
	size_t i, len;
	char *p;

	(void)state;
	buf_init(&b, 1 << 20);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_append(&b, "abcdefghij", 10), 0);
	assert_int_equal(b.len, 100000);
	p = buf_steal(&b, &len);
	assert_int_equal(len, 100000);
	assert_int_equal(p[len], '\0');
	assert_null(b.p);
	free(p);
	buf_free(&b);
}

struct u64_row {
	const char *in;
	uint64_t max;
	int ret;
	uint64_t want;
};

static void test_str_to_u64(void **state)
{
	static const struct u64_row rows[] = {
		{ "0", 65535, 0, 0 },
		{ "65535", 65535, 0, 65535 },
		{ "65536", 65535, -ERANGE, 0 },
		{ "+7", 100, 0, 7 },
		{ "007", 100, 0, 7 },
		{ "", 100, -EINVAL, 0 },
		{ "+", 100, -EINVAL, 0 },
		{ "-1", 100, -EINVAL, 0 },
		{ " 1", 100, -EINVAL, 0 },
		{ "1 ", 100, -EINVAL, 0 },
		{ "1a", 100, -EINVAL, 0 },
		{ "0x10", 100, -EINVAL, 0 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", UINT64_MAX, -ERANGE, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 12345;
		int r = str_to_u64(str_cstr(rows[i].in), rows[i].max, &v);

		assert_int_equal(r, rows[i].ret);
		if (r == 0)
			assert_int_equal(v, rows[i].want);
		else
			assert_int_equal(v, 12345);   /* untouched on failure */
	}
}

static void test_str_to_bool(void **state)
{
	static const char *const yes[] = { "1", "true", "TRUE", "yes", "Yes" };
	static const char *const no[] = { "0", "false", "False", "no", "NO" };
	static const char *const bad[] = { "", "2", "y", "n", "on", " 1", "truex" };
	size_t i;
	bool b;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(str_to_bool(str_cstr(yes[i]), &b), 0);
		assert_true(b);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(str_to_bool(str_cstr(no[i]), &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(str_to_bool(str_cstr(bad[i]), &b), -EINVAL);
}

static void test_str_views(void **state)
{
	char out[4];

	(void)state;
	assert_true(str_eq_cstr(str_trim(str_cstr(" \tab \t")), "ab"));
	assert_true(str_caseeq_cstr(str_cstr("SoapAction"), "soapaction"));
	assert_false(str_caseeq_cstr(str_cstr("SoapActio"), "soapaction"));
	assert_true(str_casestartswith_cstr(str_cstr("Text/XML; charset"), "text/xml"));
	assert_int_equal(str_copy(str_cstr("abc"), out, sizeof(out)), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(str_copy(str_cstr("abcd"), out, sizeof(out)), -E2BIG);
	assert_int_equal(strlcpy_checked(out, "abcdef", sizeof(out)), -E2BIG);
	assert_string_equal(out, "abc");
}

static void test_log_escape(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(log_escape(out, sizeof(out), "game", 4), "game");
	assert_string_equal(log_escape(out, sizeof(out), "a'b\\c", 5), "a\\'b\\\\c");
	assert_string_equal(log_escape(out, sizeof(out), "x\n\x01\xff", 4), "x\\x0a\\x01\\xff");
	/* truncation keeps the output bounded and marked */
	log_escape(out, 10, "0123456789abcdef", 16);
	assert_true(strlen(out) < 10);
	assert_non_null(strstr(out, "..."));
}

/* Peer-triggered log lines: at most burst per interval; the next line
 * written carries the count of those left out. */
static void test_ratelimit(void **state)
{
	static const struct {
		uint64_t now_ms;
		bool ok;
		unsigned suppressed;    /* when ok */
	} rows[] = {
		{ 1000, true, 0 },      /* first window opens at 1000 */
		{ 1001, true, 0 },
		{ 1002, true, 0 },      /* burst of 3 used */
		{ 1003, false, 0 },
		{ 5000, false, 0 },
		{ 10999, false, 0 },    /* still the first 10 s window */
		{ 11000, true, 3 },     /* new window: says 3 were left out */
		{ 11001, true, 0 },
		{ 50000, true, 0 },
		{ 40000, true, 0 },     /* the clock going back opens a window */
	};
	struct ratelimit rl = RATELIMIT_INIT(10000, 3);
	unsigned sup, i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		sup = 12345;
		assert_int_equal(ratelimit_ok(&rl, rows[i].now_ms, &sup), rows[i].ok);
		if (rows[i].ok)
			assert_int_equal(sup, rows[i].suppressed);
		else
			assert_int_equal(sup, 12345);   /* untouched */
	}
	/* A flood: one line per window at burst 1, whatever the rate. */
	rl = RATELIMIT_INIT(1000, 1);
	for (i = 0, sup = 0; i < 100000; i++)
		sup += ratelimit_ok(&rl, 7000 + i / 10, &(unsigned){ 0 });
	assert_int_equal(sup, 10);     /* 10 s of flood */
}

/* The interface of the IPv4 default route: up, lowest metric, first of equals. */
static void test_default_route(void **state)
{
	static const char hdr[] = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
				  "Mask\t\tMTU\tWindow\tIRTT\n";
	static const struct {
		const char *rows;
		const char *want;               /* NULL: -ENOENT */
	} rows[] = {
		{ "", NULL },
		{ "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", NULL },
		{ "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n", "eth0" },
		/* lower metric wins; a route that is not up does not count */
		{ "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
		  "ppp0\t00000000\t00000000\t0001\t0\t0\t10\t00000000\t0\t0\t0\n"
		  "wlan0\t00000000\t0101A8C0\t0002\t0\t0\t1\t00000000\t0\t0\t0\n", "ppp0" },
		{ "eth1\t00000000\t0101A8C0\t0003\t0\t0\t5\t00000000\t0\t0\t0\n"
		  "eth2\t00000000\t0101A8C0\t0003\t0\t0\t5\t00000000\t0\t0\t0\n", "eth1" },
		/* a default route with a mask is no default route; junk is skipped */
		{ "eth3\t00000000\t0101A8C0\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n"
		  "eth4\tzz\n"
		  "a-name-much-too-long\t00000000\t0\t0003\t0\t0\t0\t00000000\n", NULL },
		/* no newline at the end */
		{ "br0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0", "br0" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char text[1024], out[IF_NAMESIZE] = "";
		int n = snprintf(text, sizeof(text), "%s%s", hdr, rows[i].rows);
		int r = ifaddr_parse_default_route(text, (size_t)n, out);

		if (rows[i].want) {
			assert_int_equal(r, 0);
			assert_string_equal(out, rows[i].want);
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
	/* The header alone and nothing at all. */
	{
		char out[IF_NAMESIZE];

		assert_int_equal(ifaddr_parse_default_route(hdr, strlen(hdr), out), -ENOENT);
		assert_int_equal(ifaddr_parse_default_route("", 0, out), -ENOENT);
	}
}

/* The gateway of the default route through one interface: up, with the
 * gateway flag, lowest metric; the raw value as the kernel printed it
 * (the address in network order on the CPU that printed it). */
static void test_default_gateway(void **state)
{
	static const char text[] =
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		"wan0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		"wan0\t00000000\t0200000A\t0003\t0\t0\t20\t00000000\t0\t0\t0\n"
		"wan0\t00000000\t0100000A\t0003\t0\t0\t10\t00000000\t0\t0\t0\n"
		"wan0\t00000000\t0300000A\t0002\t0\t0\t1\t00000000\t0\t0\t0\n"
		"eth9\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
		"ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n";
	struct in_addr gw;

	(void)state;
	assert_int_equal(ifaddr_parse_default_gateway(text, strlen(text), "wan0", &gw), 0);
	assert_int_equal(gw.s_addr, (in_addr_t)0x0100000Au);
	assert_int_equal(ifaddr_parse_default_gateway(text, strlen(text), "eth9", &gw), 0);
	assert_int_equal(gw.s_addr, (in_addr_t)0x0101A8C0u);
	/* a point-to-point default route has no gateway */
	assert_int_equal(ifaddr_parse_default_gateway(text, strlen(text), "ppp0", &gw), -ENOENT);
	assert_int_equal(ifaddr_parse_default_gateway(text, strlen(text), "wan", &gw), -ENOENT);
	assert_int_equal(ifaddr_parse_default_gateway("", 0, "wan0", &gw), -ENOENT);
}

/* RFC 4122 4.4: version 4 in the high nibble of byte 6, the variant 10
 * in the top bits of byte 8, everything else as drawn. */
static void test_uuid_v4(void **state)
{
	unsigned char b[UUID_BYTES];
	char out[UUID_STR_SIZE], again[UUID_STR_SIZE];
	size_t i;

	(void)state;
	memset(b, 0xff, sizeof(b));
	uuid_v4_format(b, out);
	assert_string_equal(out, "ffffffff-ffff-4fff-bfff-ffffffffffff");
	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 0x11);
	uuid_v4_format(b, out);
	assert_string_equal(out, "00112233-4455-4677-8899-aabbccddeeff");

	assert_int_equal(uuid_v4_generate(out), 0);
	assert_int_equal(strlen(out), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(out[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", out[i]));
	}
	assert_int_equal(out[14], '4');
	assert_non_null(strchr("89ab", out[19]));
	assert_int_equal(uuid_v4_generate(again), 0);
	assert_string_not_equal(out, again);      /* 122 random bits */
	assert_int_equal(random_bytes(b, 0), 0);
}

static void test_str_hexval(void **state)
{
	const char *digits = "0123456789abcdef", *upper = "ABCDEF";
	int c;

	(void)state;
	for (c = 0; c < 16; c++)
		assert_int_equal(str_hexval(digits[c]), c);
	for (c = 0; c < 6; c++)
		assert_int_equal(str_hexval(upper[c]), 10 + c);
	assert_int_equal(str_hexval('g'), -1);
	assert_int_equal(str_hexval('G'), -1);
	assert_int_equal(str_hexval('/'), -1);
	assert_int_equal(str_hexval(':'), -1);
	assert_int_equal(str_hexval('@'), -1);
	assert_int_equal(str_hexval('`'), -1);
	assert_int_equal(str_hexval(0), -1);
	assert_int_equal(str_hexval((char)0xe0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_gateway),
		cmocka_unit_test(test_buf_bounded),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_str_to_u64),
		cmocka_unit_test(test_str_to_bool),
		cmocka_unit_test(test_str_hexval),
		cmocka_unit_test(test_str_views),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_uuid_v4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
