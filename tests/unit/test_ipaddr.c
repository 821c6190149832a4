/*
 * test_ipaddr.c - util/ipaddr: addresses of either family. Text in and
 * out (RFC 4291 2.2, RFC 5952, RFC 3986 3.2.2 brackets, RFC 6874 zones
 * read and dropped), socket addresses both ways (IPv4-mapped becomes
 * IPv4, link-local keeps its scope), comparison and prefixes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/ipaddr.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct ipaddr addr(const char *s)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse(str_cstr(s), &a), 0);
	return a;
}

/* ipaddr_parse: (text, family or 0 for an error, the text written back). */
struct parse_row {
	const char *in;
	int family;
	const char *out;
};

static const struct parse_row parse_rows[] = {
	{ "192.168.1.20", AF_INET, "192.168.1.20" },
	{ "0.0.0.0", AF_INET, "0.0.0.0" },
	{ "255.255.255.255", AF_INET, "255.255.255.255" },
	{ "2001:db8::1", AF_INET6, "2001:db8::1" },
	{ "2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1" },
	{ "fe80::1", AF_INET6, "fe80::1" },
	{ "::", AF_INET6, "::" },
	{ "::1", AF_INET6, "::1" },
	{ "::ffff:192.168.1.20", AF_INET, "192.168.1.20" },   /* IPv4-mapped: IPv4 */
	{ "64:ff9b::c000:221", AF_INET6, "64:ff9b::c000:221" },
	{ "", 0, NULL },
	{ "192.168.1", 0, NULL },
	{ "192.168.1.020", 0, NULL },
	{ "3232235796", 0, NULL },
	{ " 192.168.1.20", 0, NULL },
	{ "192.168.1.20 ", 0, NULL },
	{ "[2001:db8::1]", 0, NULL },
	{ "fe80::1%eth0", 0, NULL },
	{ "2001:db8::1::2", 0, NULL },
	{ "gateway.lan", 0, NULL },
	{ "2001:db8:0:0:0:0:0:0:1", 0, NULL },
	{ "1234567890123456789012345678901234567890123456", 0, NULL },
};

static void test_parse(void **state)
{
	char out[IPADDR_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_rows); i++) {
		const struct parse_row *r = &parse_rows[i];
		struct ipaddr a;
		int rc = ipaddr_parse(str_cstr(r->in), &a);

		if (!r->family) {
			if (rc != -EINVAL)
				fail_msg("'%s': accepted", r->in);
			continue;
		}
		if (rc != 0 || a.family != r->family)
			fail_msg("'%s': %d, family %d", r->in, rc, rc == 0 ? a.family : -1);
		assert_string_equal(ipaddr_ntop(&a, out, sizeof(out)), r->out);
		assert_int_equal(a.scope, 0);
	}
	/* A NUL inside the view is no address. */
	{
		struct ipaddr a;

		assert_int_equal(ipaddr_parse(str_from("1.2.3.4\0", 8), &a), -EINVAL);
	}
}

/* ipaddr_parse_host: the host of a URL or a Host field. */
struct host_row {
	const char *in;
	bool zone_ok;
	const char *out;                /* NULL: refused */
};

static const struct host_row host_rows[] = {
	{ "192.168.1.1", false, "192.168.1.1" },
	{ "[2001:db8::1]", false, "2001:db8::1" },
	{ "[FE80::1]", false, "fe80::1" },
	{ "[::ffff:10.0.0.1]", false, "10.0.0.1" },
	{ "[fe80::1%25eth0]", true, "fe80::1" },
	{ "[fe80::1%eth0]", true, "fe80::1" },
	{ "[fe80::1%252]", true, "fe80::1" },
	{ "[fe80::1%25br-lan.10]", true, "fe80::1" },
	{ "[fe80::1%25a%2Fb]", true, "fe80::1" },
	{ "[fe80::1%25eth0]", false, NULL },            /* a zone where none may be */
	{ "[2001:db8::1%25eth0]", true, NULL },         /* a zone on a global address */
	{ "[fe80::1%25]", true, "fe80::1" },            /* the bare form: zone "25" */
	{ "[fe80::1%25%]", true, NULL },
	{ "[fe80::1%]", true, NULL },
	{ "[fe80::1%25a b]", true, NULL },
	{ "[fe80::1%25a%2]", true, NULL },
	{ "[fe80::1%25abcdefghijklmnopqrstuvwxyz0123456789]", true, NULL },
	{ "2001:db8::1", false, NULL },                 /* IPv6 needs the brackets */
	{ "[192.168.1.1]", false, NULL },               /* IPv4 has none */
	{ "[2001:db8::1", false, NULL },
	{ "2001:db8::1]", false, NULL },
	{ "[2001:db8::1]x", false, NULL },
	{ "[]", false, NULL },
	{ "[", false, NULL },
	{ "", false, NULL },
	{ "router.lan", false, NULL },
	{ "[v1.fe80::1]", false, NULL },                /* IPvFuture: not ours */
};

static void test_parse_host(void **state)
{
	char out[IPADDR_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < N(host_rows); i++) {
		const struct host_row *r = &host_rows[i];
		struct ipaddr a;
		int rc = ipaddr_parse_host(str_cstr(r->in), r->zone_ok, &a);

		if (!r->out) {
			if (rc != -EINVAL)
				fail_msg("'%s': accepted", r->in);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': refused", r->in);
		assert_string_equal(ipaddr_ntop(&a, out, sizeof(out)), r->out);
		assert_int_equal(a.scope, 0);           /* the zone is the sender's: dropped */
	}
}

static void test_url_host(void **state)
{
	char out[IPADDR_STRLEN];
	struct ipaddr a;

	(void)state;
	a = addr("192.168.1.1");
	assert_int_equal(ipaddr_url_host(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "192.168.1.1");
	a = addr("2001:db8::1");
	assert_int_equal(ipaddr_url_host(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "[2001:db8::1]");
	a = addr("fe80::1");
	a.scope = 7;                            /* never written: LOCATION has no zone */
	assert_int_equal(ipaddr_url_host(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "[fe80::1]");
	assert_int_equal(ipaddr_url_host(&a, out, 9), -E2BIG);
	memset(&a, 0, sizeof(a));
	assert_int_equal(ipaddr_url_host(&a, out, sizeof(out)), -EINVAL);
	assert_string_equal(ipaddr_ntop(&a, out, sizeof(out)), "?");
}

static void test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (void *)&ss;
	struct sockaddr_in *sin = (void *)&ss;
	struct ipaddr a, b;
	uint16_t port = 0;
	socklen_t len;

	(void)state;
	a = addr("192.168.1.20");
	len = ipaddr_to_sockaddr(&a, 5000, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5000);
	assert_true(ipaddr_from_sockaddr((struct sockaddr *)&ss, len, &b, &port));
	assert_true(ipaddr_eq(&a, &b));
	assert_int_equal(port, 5000);
	/* link-local: the scope travels as sin6_scope_id, both ways */
	b = addr("fe80::20");
	a = ipaddr_from_v6(&b.u.v6, 7);
	assert_int_equal(a.scope, 7);
	len = ipaddr_to_sockaddr(&a, 1900, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_scope_id, 7);
	assert_true(ipaddr_from_sockaddr((struct sockaddr *)&ss, len, &b, NULL));
	assert_true(ipaddr_eq(&a, &b));
	/* a global address carries no scope, whatever the socket says */
	a = addr("2001:db8::20");
	len = ipaddr_to_sockaddr(&a, 80, &ss);
	sin6->sin6_scope_id = 9;
	assert_true(ipaddr_from_sockaddr((struct sockaddr *)&ss, len, &b, NULL));
	assert_int_equal(b.scope, 0);
	assert_true(ipaddr_eq(&a, &b));
	/* an IPv4-mapped peer of a dual-stack socket is an IPv4 peer */
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6->sin6_addr);
	assert_true(ipaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(*sin6), &b, NULL));
	assert_true(ipaddr_eq_v4(&b, addr("10.1.2.3").u.v4));
	/* too short, or another family */
	assert_false(ipaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(*sin6) - 1, &b, NULL));
	ss.ss_family = AF_UNIX;
	assert_false(ipaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(ss), &b, NULL));
	assert_false(ipaddr_from_sockaddr(NULL, 0, &b, NULL));
	memset(&a, 0, sizeof(a));
	assert_int_equal(ipaddr_to_sockaddr(&a, 1, &ss), 0);
}

static void test_compare(void **state)
{
	struct ipaddr a = addr("192.168.1.20"), b = addr("192.168.1.21"), c, d, none;
	struct in_addr v4;

	(void)state;
	memset(&none, 0, sizeof(none));
	assert_true(ipaddr_eq(&a, &a));
	assert_false(ipaddr_eq(&a, &b));
	assert_false(ipaddr_eq(&none, &none));          /* no address equals nothing */
	assert_true(ipaddr_cmp(&a, &b) < 0 && ipaddr_cmp(&b, &a) > 0);
	assert_true(ipaddr_is_v4(&a) && !ipaddr_is_v6(&a));
	assert_true(ipaddr_get_v4(&a, &v4) && v4.s_addr == a.u.v4.s_addr);
	c = addr("fe80::1");
	assert_false(ipaddr_get_v4(&c, &v4));
	assert_false(ipaddr_eq_v4(&c, a.u.v4));
	assert_true(ipaddr_cmp(&a, &c) < 0);           /* AF_INET before AF_INET6 */
	/* the same link-local address on two links: two addresses */
	c = ipaddr_from_v6(&c.u.v6, 3);
	d = ipaddr_from_v6(&c.u.v6, 4);
	assert_false(ipaddr_eq(&c, &d));
	assert_true(ipaddr_cmp(&c, &d) < 0);
	d.scope = 3;
	assert_true(ipaddr_eq(&c, &d));
}

struct class_row {
	const char *a;
	bool ll, ula, global;
};

static const struct class_row class_rows[] = {
	{ "fe80::1", true, false, false },
	{ "febf:ffff::1", true, false, false },
	{ "fec0::1", false, false, false },              /* site-local, deprecated */
	{ "fd00:1::2", false, true, true },
	{ "fc00::1", false, true, true },
	{ "2001:db8::1", false, false, true },
	{ "ff02::c", false, false, false },
	{ "::", false, false, false },
	{ "::1", false, false, false },
	{ "::1.2.3.4", false, false, false },
};

static void test_classes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(class_rows); i++) {
		const struct class_row *r = &class_rows[i];
		struct in6_addr a;

		assert_int_equal(inet_pton(AF_INET6, r->a, &a), 1);
		if (in6_is_linklocal(&a) != r->ll || in6_is_ula(&a) != r->ula ||
		    in6_is_unicast_global(&a) != r->global)
			fail_msg("%s", r->a);
	}
	{
		struct ipaddr ll = addr("fe80::9"), v4 = addr("10.0.0.1");

		assert_true(ipaddr_is_linklocal(&ll));
		assert_false(ipaddr_is_linklocal(&v4));
	}
}

static void test_prefix(void **state)
{
	struct in6_addr a = addr("2001:db8:1:2::20").u.v6, p = addr("2001:db8:1::").u.v6;

	(void)state;
	assert_true(in6_prefix_match(&a, &p, 0));
	assert_true(in6_prefix_match(&a, &p, 46));
	assert_true(in6_prefix_match(&a, &p, 48));
	assert_false(in6_prefix_match(&a, &p, 64));
	assert_true(in6_prefix_match(&a, &a, 128));
	assert_false(in6_prefix_match(&a, &a, 129));
	assert_int_equal(in6_common_bits(&a, &a), 128);
	assert_int_equal(in6_common_bits(&a, &p), 62);  /* 2001:db8:1:2:: and 2001:db8:1:0:: */
	p = addr("a001::").u.v6;
	assert_int_equal(in6_common_bits(&a, &p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_host),
		cmocka_unit_test(test_url_host),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
