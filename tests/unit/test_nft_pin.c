/*
 * test_nft_pin.c - priv/nft_pin: the text of table ip6 igdd and its
 * pinhole elements (docs/NFT.md, "IPv6 pinholes"), the counter read back,
 * and what is refused before any text is written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "priv/nft_pin.h"
#include "util/buf.h"

static struct nft_pin pin(const char *remote, uint16_t rport, const char *internal,
			  uint16_t port, uint8_t proto)
{
	struct nft_pin p;

	memset(&p, 0, sizeof(p));
	if (remote)
		assert_int_equal(inet_pton(AF_INET6, remote, &p.remote), 1);
	assert_int_equal(inet_pton(AF_INET6, internal, &p.internal), 1);
	p.remote_port = rport;
	p.int_port = port;
	p.proto = proto;
	return p;
}

static void test_table(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1u << 16);
	assert_int_equal(nft_pin_table(&b, "wan0"), 0);
	assert_non_null(strstr(b.p, "add table ip6 igdd\ndelete table ip6 igdd\ntable ip6 igdd {\n"));
	assert_non_null(strstr(b.p, "\tset pin6_any {\n\t\ttype ipv6_addr . inet_proto . inet_service\n"
				    "\t\tcounter\n\t}\n"));
	assert_non_null(strstr(b.p, "type filter hook forward priority filter - 10; policy accept;"));
	assert_non_null(strstr(b.p, "\t\tiifname \"wan0\" ip6 daddr . meta l4proto . th dport @pin6_any "
				    "meta mark set meta mark | 0x00010000\n"));
	buf_reset(&b);
	assert_int_equal(nft_pin_table(&b, "wan0\"; flush ruleset"), -EINVAL);
	buf_free(&b);
}

static void test_elems(void **state)
{
	static const char *const rows[4] = {
		"add element ip6 igdd pin6_any { 2001:db8:1::20 . 6 . 5555 }\n",
		"add element ip6 igdd pin6_rh { 2001:db8:9::1 . 2001:db8:1::20 . 17 . 5555 }\n",
		"add element ip6 igdd pin6_rp { 53 . 2001:db8:1::20 . 136 . 5555 }\n",
		"add element ip6 igdd pin6_rh_rp { 2001:db8:9::1 . 53 . 2001:db8:1::20 . 6 . 5555 }\n",
	};
	struct nft_pin v[4];
	struct buf b;
	size_t i;

	(void)state;
	v[0] = pin(NULL, 0, "2001:db8:1::20", 5555, 6);
	v[1] = pin("2001:db8:9::1", 0, "2001:db8:1::20", 5555, 17);
	v[2] = pin(NULL, 53, "2001:db8:1::20", 5555, 136);
	v[3] = pin("2001:db8:9::1", 53, "2001:db8:1::20", 5555, 6);
	buf_init(&b, 4096);
	for (i = 0; i < 4; i++) {
		buf_reset(&b);
		assert_int_equal(nft_pin_elem(&b, true, &v[i]), 0);
		assert_string_equal(b.p, rows[i]);
	}
	buf_reset(&b);
	assert_int_equal(nft_pin_elem(&b, false, &v[0]), 0);
	assert_string_equal(b.p, "delete element ip6 igdd pin6_any { 2001:db8:1::20 . 6 . 5555 }\n");
	buf_reset(&b);
	assert_int_equal(nft_pin_get(&b, &v[0]), 0);
	assert_string_equal(b.p, "get element ip6 igdd pin6_any { 2001:db8:1::20 . 6 . 5555 }\n");
	/* Refused: ICMPv6, port 0, a link-local client, a multicast remote
	 * host, an IPv4-mapped one. */
	v[0] = pin(NULL, 0, "2001:db8:1::20", 5555, 58);
	v[1] = pin(NULL, 0, "2001:db8:1::20", 0, 6);
	v[2] = pin(NULL, 0, "fe80::20", 5555, 6);
	v[3] = pin("ff02::1", 0, "2001:db8:1::20", 5555, 6);
	for (i = 0; i < 4; i++) {
		buf_reset(&b);
		assert_int_equal(nft_pin_elem(&b, true, &v[i]), -EINVAL);
		assert_int_equal(b.len, 0);
	}
	v[0] = pin("::ffff:192.0.2.1", 0, "2001:db8:1::20", 5555, 6);
	assert_false(nft_pin_ok(&v[0]));
	buf_free(&b);
}

static void test_packets(void **state)
{
	uint64_t n = 0;

	(void)state;
	assert_int_equal(nft_pin_parse_packets(
		"table ip6 igdd {\n\tset pin6_any {\n\t\ttype ipv6_addr . inet_proto . inet_service\n"
		"\t\telements = { 2001:db8:1::20 . tcp . 5555 counter packets 14 bytes 101016 }\n"
		"\t}\n}\n", &n), 0);
	assert_int_equal(n, 14);
	assert_int_equal(nft_pin_parse_packets("counter packets  bytes 0", &n), -ENOENT);
	assert_int_equal(nft_pin_parse_packets("", &n), -ENOENT);
	assert_int_equal(nft_pin_parse_packets(NULL, &n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_elems),
		cmocka_unit_test(test_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
