/*
 * test_nft_rules.c - priv/nft_rules: the exact text of the table
 * (with and without hairpin), of element commands for every shape of
 * mapping (wildcard / narrowed, TCP / UDP, add / delete, each element
 * kind), of batches (grouping per set, chunking) and of the hairpin set;
 * refusal of names and values that must not reach nft.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "priv/nft_rules.h"
#include "util/buf.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct priv_entry elem(const char *rh, const char *in, unsigned ext, unsigned port, int proto)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	e.remote_host = ip(rh ? rh : "0.0.0.0");
	e.internal = ip(in);
	e.ext_port = (uint16_t)ext;
	e.int_port = (uint16_t)port;
	e.proto = (uint8_t)proto;
	return e;
}

static struct nft_table_conf conf(const char *wan, int hairpin)
{
	struct nft_table_conf c;

	memset(&c, 0, sizeof(c));
	snprintf(c.wan_if, sizeof(c.wan_if), "%s", wan);
	c.hairpin = hairpin != 0;
	c.lan_net = ip("192.168.77.0");
	c.lan_plen = 24;
	return c;
}

#define SETS \
	"\tmap dnat_rh {\n" \
	"\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n" \
	"\tmap dnat_any {\n" \
	"\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n" \
	"\tset allow_rh {\n" \
	"\t\ttype ipv4_addr . ipv4_addr . inet_proto . inet_service\n\t}\n" \
	"\tset allow_any {\n" \
	"\t\ttype ipv4_addr . inet_proto . inet_service\n\t}\n" \
	"\tmap snat_rh {\n" \
	"\t\ttype ipv4_addr . inet_proto . inet_service . ipv4_addr : inet_service\n\t}\n" \
	"\tmap snat_any {\n" \
	"\t\ttype ipv4_addr . inet_proto . inet_service : inet_service\n\t}\n"

#define HEAD "add table ip igdd\ndelete table ip igdd\ntable ip igdd {\n"

#define PRE \
	"\tchain prerouting {\n" \
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n" \
	"\t\tiifname \"wan0\" fib daddr type local dnat ip to ip saddr . meta l4proto . th dport map @dnat_rh\n" \
	"\t\tiifname \"wan0\" fib daddr type local dnat ip to meta l4proto . th dport map @dnat_any\n"

#define FWD_POST \
	"\t}\n" \
	"\tchain forward {\n" \
	"\t\ttype filter hook forward priority filter; policy accept;\n" \
	"\t\tiifname \"wan0\" ct status dnat ip saddr . ip daddr . meta l4proto . th dport @allow_rh accept\n" \
	"\t\tiifname \"wan0\" ct status dnat ip daddr . meta l4proto . th dport @allow_any accept\n" \
	"\t}\n" \
	"\tchain postrouting {\n" \
	"\t\ttype nat hook postrouting priority srcnat - 1; policy accept;\n" \
	"\t\toifname \"wan0\" meta l4proto { tcp, udp } masquerade to :ip saddr . meta l4proto . th sport . ip daddr map @snat_rh\n" \
	"\t\toifname \"wan0\" meta l4proto { tcp, udp } masquerade to :ip saddr . meta l4proto . th sport map @snat_any\n"

static void test_table(void **state)
{
	struct nft_table_conf c = conf("wan0", 0);
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(nft_rules_table(&b, &c), 0);
	assert_string_equal(b.p, HEAD SETS PRE FWD_POST "\t}\n}\n");
	assert_int_equal(nft_rules_count(&c), 6);
	buf_free(&b);
}

static void test_table_hairpin(void **state)
{
	struct nft_table_conf c = conf("wan0", 1);
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(nft_rules_table(&b, &c), 0);
	assert_string_equal(b.p, HEAD SETS
		"\tset hairpin_addr {\n\t\ttype ipv4_addr\n\t}\n"
		PRE
		"\t\tiifname != \"wan0\" ip daddr @hairpin_addr dnat ip to meta l4proto . th dport map @dnat_any\n"
		FWD_POST
		"\t\tip saddr 192.168.77.0/24 ct status dnat ct original ip daddr @hairpin_addr masquerade\n"
		"\t}\n}\n");
	assert_int_equal(nft_rules_count(&c), 8);
	buf_free(&b);
}

static void test_ifnames(void **state)
{
	static const char *const bad[] = {
		"", "wan\"0", "wan 0", "wan;0", "wan{", "wan\\", "wan$x", "wan/0", "0123456789abcdef",
		"wan\n",
	};
	static const char *const good[] = { "wan0", "pppoe-wan", "eth0.2", "br_lan", "0123456789abcde" };
	struct nft_table_conf c;
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 1 << 16);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.wan_if, bad[i], strlen(bad[i]) < IF_NAMESIZE ? strlen(bad[i]) : IF_NAMESIZE);
		c.wan_if[IF_NAMESIZE - 1] = strlen(bad[i]) >= IF_NAMESIZE ? 'x' : '\0';
		assert_false(nft_ifname_ok(c.wan_if));
		buf_reset(&b);
		assert_int_equal(nft_rules_table(&b, &c), -EINVAL);
		assert_int_equal(b.len, 0);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(nft_ifname_ok(good[i]));
	buf_free(&b);
}

struct elem_row {
	const char *rh;
	int proto;
	enum nft_op op;
	unsigned what;
	const char *text;
};

static const struct elem_row elem_rows[] = {
	{ NULL, IPPROTO_TCP, NFT_ADD, NFT_EL_ALL,
	  "add element ip igdd dnat_any { tcp . 18080 : 192.168.77.2 . 8080 }\n"
	  "add element ip igdd allow_any { 192.168.77.2 . tcp . 8080 }\n"
	  "add element ip igdd snat_any { 192.168.77.2 . tcp . 8080 : 18080 }\n" },
	{ NULL, IPPROTO_UDP, NFT_DEL, NFT_EL_ALL,
	  "delete element ip igdd dnat_any { udp . 18080 }\n"
	  "delete element ip igdd allow_any { 192.168.77.2 . udp . 8080 }\n"
	  "delete element ip igdd snat_any { 192.168.77.2 . udp . 8080 }\n" },
	{ "203.0.113.3", IPPROTO_TCP, NFT_ADD, NFT_EL_ALL,
	  "add element ip igdd dnat_rh { 203.0.113.3 . tcp . 18080 : 192.168.77.2 . 8080 }\n"
	  "add element ip igdd allow_rh { 203.0.113.3 . 192.168.77.2 . tcp . 8080 }\n"
	  "add element ip igdd snat_rh { 192.168.77.2 . tcp . 8080 . 203.0.113.3 : 18080 }\n" },
	{ "203.0.113.3", IPPROTO_UDP, NFT_DEL, NFT_EL_ALL,
	  "delete element ip igdd dnat_rh { 203.0.113.3 . udp . 18080 }\n"
	  "delete element ip igdd allow_rh { 203.0.113.3 . 192.168.77.2 . udp . 8080 }\n"
	  "delete element ip igdd snat_rh { 192.168.77.2 . udp . 8080 . 203.0.113.3 }\n" },
	{ NULL, IPPROTO_TCP, NFT_ADD, NFT_EL_DNAT,
	  "add element ip igdd dnat_any { tcp . 18080 : 192.168.77.2 . 8080 }\n" },
	{ NULL, IPPROTO_TCP, NFT_DEL, NFT_EL_ALLOW,
	  "delete element ip igdd allow_any { 192.168.77.2 . tcp . 8080 }\n" },
	{ "198.51.100.7", IPPROTO_UDP, NFT_ADD, NFT_EL_SNAT,
	  "add element ip igdd snat_rh { 192.168.77.2 . udp . 8080 . 198.51.100.7 : 18080 }\n" },
	{ NULL, IPPROTO_TCP, NFT_ADD, 0, "" },
};

static void test_elems(void **state)
{
	struct priv_entry e;
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 1 << 16);
	for (i = 0; i < sizeof(elem_rows) / sizeof(elem_rows[0]); i++) {
		const struct elem_row *r = &elem_rows[i];

		e = elem(r->rh, "192.168.77.2", 18080, 8080, r->proto);
		buf_reset(&b);
		assert_int_equal(nft_rules_elems(&b, r->op, &e, 1, r->what), 0);
		assert_string_equal(b.p ? b.p : "", r->text);
	}
	buf_free(&b);
}

/* A batch: each set gets one command with its elements, in order. */
static void test_batch(void **state)
{
	struct priv_entry v[4];
	struct buf b;

	(void)state;
	v[0] = elem(NULL, "192.168.77.2", 1000, 80, IPPROTO_TCP);
	v[1] = elem("203.0.113.3", "192.168.77.3", 1001, 81, IPPROTO_UDP);
	v[2] = elem(NULL, "192.168.77.4", 1002, 82, IPPROTO_UDP);
	v[3] = elem("203.0.113.4", "192.168.77.5", 65535, 65535, IPPROTO_TCP);
	buf_init(&b, 1 << 16);
	assert_int_equal(nft_rules_elems(&b, NFT_ADD, v, 4, NFT_EL_ALL), 0);
	assert_string_equal(b.p,
		"add element ip igdd dnat_rh { 203.0.113.3 . udp . 1001 : 192.168.77.3 . 81, "
		"203.0.113.4 . tcp . 65535 : 192.168.77.5 . 65535 }\n"
		"add element ip igdd dnat_any { tcp . 1000 : 192.168.77.2 . 80, udp . 1002 : 192.168.77.4 . 82 }\n"
		"add element ip igdd allow_rh { 203.0.113.3 . 192.168.77.3 . udp . 81, "
		"203.0.113.4 . 192.168.77.5 . tcp . 65535 }\n"
		"add element ip igdd allow_any { 192.168.77.2 . tcp . 80, 192.168.77.4 . udp . 82 }\n"
		"add element ip igdd snat_rh { 192.168.77.3 . udp . 81 . 203.0.113.3 : 1001, "
		"192.168.77.5 . tcp . 65535 . 203.0.113.4 : 65535 }\n"
		"add element ip igdd snat_any { 192.168.77.2 . tcp . 80 : 1000, 192.168.77.4 . udp . 82 : 1002 }\n");
	buf_reset(&b);
	assert_int_equal(nft_rules_elems(&b, NFT_DEL, v, 4, NFT_EL_DNAT), 0);
	assert_string_equal(b.p,
		"delete element ip igdd dnat_rh { 203.0.113.3 . udp . 1001, 203.0.113.4 . tcp . 65535 }\n"
		"delete element ip igdd dnat_any { tcp . 1000, udp . 1002 }\n");
	buf_free(&b);
}

/* More than NFT_RULES_CHUNK elements of one set: several commands. */
static void test_chunks(void **state)
{
	static struct priv_entry v[NFT_RULES_CHUNK + 5];
	struct buf b;
	const char *p;
	size_t i, cmds = 0, commas = 0;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		v[i] = elem(NULL, "192.168.77.2", 1 + (unsigned)i, 80, IPPROTO_TCP);
	buf_init(&b, 1 << 20);
	assert_int_equal(nft_rules_elems(&b, NFT_ADD, v, sizeof(v) / sizeof(v[0]), NFT_EL_DNAT), 0);
	for (p = b.p; (p = strstr(p, "add element ip igdd dnat_any { ")) != NULL; p++)
		cmds++;
	for (p = b.p; *p; p++)
		commas += *p == ',';
	assert_int_equal(cmds, 2);
	assert_int_equal(commas, sizeof(v) / sizeof(v[0]) - 2);
	assert_non_null(strstr(b.p, "tcp . 1024 : 192.168.77.2 . 80 }\nadd element ip igdd dnat_any { tcp . 1025 : "));
	buf_free(&b);
}

/* Nothing is written for a batch with one bad element. */
static void test_bad_elems(void **state)
{
	struct priv_entry v[2];
	struct buf b;
	int k;

	(void)state;
	buf_init(&b, 1 << 16);
	for (k = 0; k < 4; k++) {
		v[0] = elem(NULL, "192.168.77.2", 1000, 80, IPPROTO_TCP);
		v[1] = elem(NULL, "192.168.77.3", 1001, 81, IPPROTO_UDP);
		switch (k) {
		case 0: v[1].ext_port = 0; break;
		case 1: v[1].int_port = 0; break;
		case 2: v[1].proto = IPPROTO_ICMP; break;
		case 3: v[1].internal.s_addr = 0; break;
		}
		assert_false(nft_elem_ok(&v[1]));
		buf_reset(&b);
		assert_int_equal(nft_rules_elems(&b, NFT_ADD, v, 2, NFT_EL_ALL), -EINVAL);
		assert_int_equal(b.len, 0);
	}
	buf_free(&b);
}

static void test_hairpin_and_delete(void **state)
{
	struct in_addr a[2] = { ip("203.0.113.1"), ip("198.51.100.1") };
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(nft_rules_hairpin(&b, a, 2), 0);
	assert_string_equal(b.p, "flush set ip igdd hairpin_addr\n"
			    "add element ip igdd hairpin_addr { 203.0.113.1, 198.51.100.1 }\n");
	buf_reset(&b);
	assert_int_equal(nft_rules_hairpin(&b, a, 0), 0);
	assert_string_equal(b.p, "flush set ip igdd hairpin_addr\n");
	buf_reset(&b);
	assert_int_equal(nft_rules_delete_table(&b), 0);
	assert_string_equal(b.p, "delete table ip igdd\n");
	buf_free(&b);
}

/* A buffer too small for the table: -E2BIG, never a partial success. */
static void test_too_big(void **state)
{
	struct nft_table_conf c = conf("wan0", 1);
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(nft_rules_table(&b, &c), -E2BIG);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_hairpin),
		cmocka_unit_test(test_ifnames),
		cmocka_unit_test(test_elems),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_bad_elems),
		cmocka_unit_test(test_hairpin_and_delete),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
