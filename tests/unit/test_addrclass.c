/*
 * test_addrclass.c - core/addrclass: every block of the IPv4
 * special-purpose registry at its edges, the globally reachable
 * exceptions inside 192.0.0.0/24, and the names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/addrclass.h"

static enum addr_class cls(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return addrclass_ipv4(a);
}

static const struct {
	const char *addr;
	enum addr_class c;
} rows[] = {
	{ "0.0.0.0", ADDR_THIS_NETWORK }, { "0.255.255.255", ADDR_THIS_NETWORK },
	{ "1.0.0.0", ADDR_PUBLIC },
	{ "9.255.255.255", ADDR_PUBLIC }, { "10.0.0.0", ADDR_PRIVATE },
	{ "10.255.255.255", ADDR_PRIVATE }, { "11.0.0.0", ADDR_PUBLIC },
	{ "100.63.255.255", ADDR_PUBLIC }, { "100.64.0.0", ADDR_SHARED },
	{ "100.127.255.255", ADDR_SHARED }, { "100.128.0.0", ADDR_PUBLIC },
	{ "126.255.255.255", ADDR_PUBLIC }, { "127.0.0.1", ADDR_LOOPBACK },
	{ "127.255.255.255", ADDR_LOOPBACK }, { "128.0.0.0", ADDR_PUBLIC },
	{ "169.253.255.255", ADDR_PUBLIC }, { "169.254.0.0", ADDR_LINK_LOCAL },
	{ "169.254.255.255", ADDR_LINK_LOCAL }, { "169.255.0.0", ADDR_PUBLIC },
	{ "172.15.255.255", ADDR_PUBLIC }, { "172.16.0.0", ADDR_PRIVATE },
	{ "172.31.255.255", ADDR_PRIVATE }, { "172.32.0.0", ADDR_PUBLIC },
	{ "191.255.255.255", ADDR_PUBLIC }, { "192.0.0.0", ADDR_IETF_PROTOCOL },
	{ "192.0.0.2", ADDR_IETF_PROTOCOL }, { "192.0.0.8", ADDR_IETF_PROTOCOL },
	{ "192.0.0.9", ADDR_PUBLIC }, { "192.0.0.10", ADDR_PUBLIC },
	{ "192.0.0.11", ADDR_IETF_PROTOCOL }, { "192.0.0.170", ADDR_IETF_PROTOCOL },
	{ "192.0.0.255", ADDR_IETF_PROTOCOL }, { "192.0.1.0", ADDR_PUBLIC },
	{ "192.0.2.0", ADDR_DOCUMENTATION }, { "192.0.2.255", ADDR_DOCUMENTATION },
	{ "192.0.3.0", ADDR_PUBLIC }, { "192.31.196.1", ADDR_PUBLIC },
	{ "192.52.193.1", ADDR_PUBLIC }, { "192.88.99.1", ADDR_PUBLIC },
	{ "192.167.255.255", ADDR_PUBLIC }, { "192.168.0.0", ADDR_PRIVATE },
	{ "192.168.255.255", ADDR_PRIVATE }, { "192.169.0.0", ADDR_PUBLIC },
	{ "192.175.48.1", ADDR_PUBLIC }, { "198.17.255.255", ADDR_PUBLIC },
	{ "198.18.0.0", ADDR_BENCHMARKING }, { "198.19.255.255", ADDR_BENCHMARKING },
	{ "198.20.0.0", ADDR_PUBLIC }, { "198.51.99.255", ADDR_PUBLIC },
	{ "198.51.100.0", ADDR_DOCUMENTATION }, { "198.51.100.255", ADDR_DOCUMENTATION },
	{ "198.51.101.0", ADDR_PUBLIC }, { "203.0.112.255", ADDR_PUBLIC },
	{ "203.0.113.1", ADDR_DOCUMENTATION }, { "203.0.113.255", ADDR_DOCUMENTATION },
	{ "203.0.114.0", ADDR_PUBLIC }, { "223.255.255.255", ADDR_PUBLIC },
	{ "224.0.0.0", ADDR_MULTICAST }, { "239.255.255.255", ADDR_MULTICAST },
	{ "240.0.0.0", ADDR_RESERVED }, { "255.255.255.254", ADDR_RESERVED },
	{ "255.255.255.255", ADDR_RESERVED }, { "8.8.8.8", ADDR_PUBLIC },
};

static void test_registry(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		enum addr_class got = cls(rows[i].addr);

		if (got != rows[i].c)
			fail_msg("%s: %s, expected %s", rows[i].addr, addrclass_name(got),
				 addrclass_name(rows[i].c));
	}
}

static void test_global(void **state)
{
	(void)state;
	assert_true(addrclass_is_global(cls("8.8.8.8")));
	assert_false(addrclass_is_global(cls("100.64.0.1")));
	assert_false(addrclass_is_global(cls("203.0.113.1")));
}

static void test_names(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < ADDR_CLASS_COUNT; c++) {
		assert_non_null(addrclass_name((enum addr_class)c));
		assert_string_not_equal(addrclass_name((enum addr_class)c), "unknown");
		assert_non_null(strstr(addrclass_describe((enum addr_class)c), "a"));
	}
	assert_string_equal(addrclass_name(ADDR_SHARED), "shared");
	assert_string_equal(addrclass_name(ADDR_CLASS_COUNT), "unknown");
	assert_string_equal(addrclass_describe(ADDR_PRIVATE), "a private (RFC 1918) address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
