/*
 * test_nft_state.c - priv/nft_state: the helper's copy of table ip igdd
 * and the exact element commands of each change: add, refresh (nothing),
 * replace, shared internal endpoints (one allow element, the lowest
 * external port as snat value), narrowed mappings, net effect of a batch
 * touching one key twice, the limit, rollback, and the full dump.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "priv/nft_state.h"
#include "util/buf.h"

static struct priv_entry elem(const char *rh, const char *in, unsigned ext, unsigned port, int proto)
{
	struct priv_entry e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(inet_pton(AF_INET, rh ? rh : "0.0.0.0", &e.remote_host), 1);
	assert_int_equal(inet_pton(AF_INET, in, &e.internal), 1);
	e.ext_port = (uint16_t)ext;
	e.int_port = (uint16_t)port;
	e.proto = (uint8_t)proto;
	return e;
}

/* One change, committed; its commands must be want. */
static void change(struct nft_state *st, enum nft_op op, const struct priv_entry *v, size_t n,
		   const char *want)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(nft_state_change(st, op, v, n, &b), 0);
	assert_string_equal(b.p ? b.p : "", want);
	nft_state_commit(st);
	buf_free(&b);
}

static void test_add_refresh_replace(void **state)
{
	struct nft_state *st = nft_state_new(100);
	struct priv_entry m = elem(NULL, "192.168.77.2", 18080, 8080, IPPROTO_TCP);

	(void)state;
	change(st, NFT_ADD, &m, 1,
	       "add element ip igdd dnat_any { tcp . 18080 : 192.168.77.2 . 8080 }\n"
	       "add element ip igdd allow_any { 192.168.77.2 . tcp . 8080 }\n"
	       "add element ip igdd snat_any { 192.168.77.2 . tcp . 8080 : 18080 }\n");
	change(st, NFT_ADD, &m, 1, "");        /* the same again: nothing to do */
	assert_int_equal(nft_state_count(st), 1);
	m.int_port = 8081;                      /* apply on an existing key replaces it */
	change(st, NFT_ADD, &m, 1,
	       "delete element ip igdd dnat_any { tcp . 18080 }\n"
	       "delete element ip igdd allow_any { 192.168.77.2 . tcp . 8080 }\n"
	       "delete element ip igdd snat_any { 192.168.77.2 . tcp . 8080 }\n"
	       "add element ip igdd dnat_any { tcp . 18080 : 192.168.77.2 . 8081 }\n"
	       "add element ip igdd allow_any { 192.168.77.2 . tcp . 8081 }\n"
	       "add element ip igdd snat_any { 192.168.77.2 . tcp . 8081 : 18080 }\n");
	assert_int_equal(nft_state_count(st), 1);
	change(st, NFT_DEL, &m, 1,
	       "delete element ip igdd dnat_any { tcp . 18080 }\n"
	       "delete element ip igdd allow_any { 192.168.77.2 . tcp . 8081 }\n"
	       "delete element ip igdd snat_any { 192.168.77.2 . tcp . 8081 }\n");
	change(st, NFT_DEL, &m, 1, "");        /* unknown key: no error, nothing */
	assert_int_equal(nft_state_count(st), 0);
	nft_state_free(st);
}

/* Two external ports to one internal endpoint: one allow element; the
 * snat value is the lower external port, whatever the order. */
static void test_shared_endpoint(void **state)
{
	struct nft_state *st = nft_state_new(100);
	struct priv_entry a = elem(NULL, "192.168.77.2", 18080, 8080, IPPROTO_UDP);
	struct priv_entry b = elem(NULL, "192.168.77.2", 18000, 8080, IPPROTO_UDP);
	size_t counts[NFT_NSETS];

	(void)state;
	change(st, NFT_ADD, &a, 1,
	       "add element ip igdd dnat_any { udp . 18080 : 192.168.77.2 . 8080 }\n"
	       "add element ip igdd allow_any { 192.168.77.2 . udp . 8080 }\n"
	       "add element ip igdd snat_any { 192.168.77.2 . udp . 8080 : 18080 }\n");
	change(st, NFT_ADD, &b, 1,
	       "delete element ip igdd snat_any { 192.168.77.2 . udp . 8080 }\n"
	       "add element ip igdd dnat_any { udp . 18000 : 192.168.77.2 . 8080 }\n"
	       "add element ip igdd snat_any { 192.168.77.2 . udp . 8080 : 18000 }\n");
	nft_state_counts(st, counts);
	assert_int_equal(counts[NFT_SET_DNAT_ANY], 2);
	assert_int_equal(counts[NFT_SET_ALLOW_ANY], 1);
	assert_int_equal(counts[NFT_SET_SNAT_ANY], 1);
	change(st, NFT_DEL, &a, 1, "delete element ip igdd dnat_any { udp . 18080 }\n");
	change(st, NFT_DEL, &b, 1,
	       "delete element ip igdd dnat_any { udp . 18000 }\n"
	       "delete element ip igdd allow_any { 192.168.77.2 . udp . 8080 }\n"
	       "delete element ip igdd snat_any { 192.168.77.2 . udp . 8080 }\n");
	nft_state_free(st);
}

/* A narrowed mapping and a wildcard one on the same port. */
static void test_remote_host(void **state)
{
	struct nft_state *st = nft_state_new(100);
	struct priv_entry v[2];
	size_t counts[NFT_NSETS];

	(void)state;
	v[0] = elem("203.0.113.3", "192.168.77.2", 5000, 5000, IPPROTO_TCP);
	v[1] = elem(NULL, "192.168.77.2", 5000, 5001, IPPROTO_TCP);
	change(st, NFT_ADD, v, 2,
	       "add element ip igdd dnat_rh { 203.0.113.3 . tcp . 5000 : 192.168.77.2 . 5000 }\n"
	       "add element ip igdd dnat_any { tcp . 5000 : 192.168.77.2 . 5001 }\n"
	       "add element ip igdd allow_rh { 203.0.113.3 . 192.168.77.2 . tcp . 5000 }\n"
	       "add element ip igdd allow_any { 192.168.77.2 . tcp . 5001 }\n"
	       "add element ip igdd snat_rh { 192.168.77.2 . tcp . 5000 . 203.0.113.3 : 5000 }\n"
	       "add element ip igdd snat_any { 192.168.77.2 . tcp . 5001 : 5000 }\n");
	nft_state_counts(st, counts);
	assert_int_equal(counts[NFT_SET_DNAT_RH], 1);
	assert_int_equal(counts[NFT_SET_DNAT_ANY], 1);
	assert_int_equal(counts[NFT_SET_ALLOW_RH], 1);
	assert_int_equal(counts[NFT_SET_SNAT_RH], 1);
	assert_int_equal(nft_state_count(st), 2);
	change(st, NFT_DEL, v, 1,
	       "delete element ip igdd dnat_rh { 203.0.113.3 . tcp . 5000 }\n"
	       "delete element ip igdd allow_rh { 203.0.113.3 . 192.168.77.2 . tcp . 5000 }\n"
	       "delete element ip igdd snat_rh { 192.168.77.2 . tcp . 5000 . 203.0.113.3 }\n");
	nft_state_free(st);
}

/* One batch touching a key twice: only the net effect is written, so
 * deletes can go before adds. */
static void test_net_effect(void **state)
{
	struct nft_state *st = nft_state_new(100);
	struct priv_entry v[2];

	(void)state;
	v[0] = elem(NULL, "192.168.77.2", 7000, 70, IPPROTO_TCP);
	v[1] = elem(NULL, "192.168.77.3", 7000, 71, IPPROTO_TCP);
	/* Key tcp/7000 set to A then to B: only B is added. */
	change(st, NFT_ADD, v, 2,
	       "add element ip igdd dnat_any { tcp . 7000 : 192.168.77.3 . 71 }\n"
	       "add element ip igdd allow_any { 192.168.77.3 . tcp . 71 }\n"
	       "add element ip igdd snat_any { 192.168.77.3 . tcp . 71 : 7000 }\n");
	/* Removing by key: the value given does not matter. */
	change(st, NFT_DEL, &v[0], 1,
	       "delete element ip igdd dnat_any { tcp . 7000 }\n"
	       "delete element ip igdd allow_any { 192.168.77.3 . tcp . 71 }\n"
	       "delete element ip igdd snat_any { 192.168.77.3 . tcp . 71 }\n");
	assert_int_equal(nft_state_count(st), 0);
	nft_state_free(st);
}

static void test_limit_and_rollback(void **state)
{
	struct nft_state *st = nft_state_new(2);
	struct priv_entry v[3];
	struct buf b;

	(void)state;
	v[0] = elem(NULL, "192.168.77.2", 1, 1, IPPROTO_TCP);
	v[1] = elem(NULL, "192.168.77.2", 2, 2, IPPROTO_TCP);
	v[2] = elem(NULL, "192.168.77.2", 3, 3, IPPROTO_TCP);
	buf_init(&b, 1 << 20);
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 3, &b), -ENOSPC);
	assert_int_equal(b.len, 0);
	assert_int_equal(nft_state_count(st), 0);
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 2, &b), 0);
	nft_state_commit(st);
	assert_int_equal(nft_state_count(st), 2);
	/* A replace is no new entry: allowed at the limit. */
	v[0].int_port = 10;
	buf_reset(&b);
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 1, &b), 0);
	/* The kernel refused it: back to int_port 1. */
	nft_state_rollback(st);
	v[0].int_port = 1;
	change(st, NFT_ADD, v, 1, "");
	v[0].int_port = 10;
	buf_reset(&b);
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 1, &b), 0);
	assert_non_null(strstr(b.p, "delete element ip igdd dnat_any { tcp . 1 }\n"));
	/* No second change while one is open. */
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 1, &b), -EINVAL);
	nft_state_commit(st);
	/* Bad elements are refused whole. */
	v[1].proto = 1;
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 2, &b), -EINVAL);
	buf_free(&b);
	nft_state_free(st);
}

static void test_dump_and_clear(void **state)
{
	struct nft_state *st = nft_state_new(100);
	struct priv_entry v[2];
	struct buf b;

	(void)state;
	v[0] = elem(NULL, "192.168.77.2", 18080, 8080, IPPROTO_TCP);
	v[1] = elem(NULL, "192.168.77.2", 19000, 9000, IPPROTO_UDP);
	buf_init(&b, 1 << 20);
	assert_int_equal(nft_state_change(st, NFT_ADD, v, 2, &b), 0);
	nft_state_commit(st);
	buf_reset(&b);
	assert_int_equal(nft_state_dump(st, &b), 0);
	/* The groups come in hash order, the same on every CPU (the hash
	 * takes addresses in host order): scripts/cross-test.sh runs this
	 * on a big-endian and a 32-bit one. */
	assert_string_equal(b.p,
		"add element ip igdd dnat_any { tcp . 18080 : 192.168.77.2 . 8080, "
		"udp . 19000 : 192.168.77.2 . 9000 }\n"
		"add element ip igdd allow_any { 192.168.77.2 . udp . 9000, 192.168.77.2 . tcp . 8080 }\n"
		"add element ip igdd snat_any { 192.168.77.2 . udp . 9000 : 19000, "
		"192.168.77.2 . tcp . 8080 : 18080 }\n");
	nft_state_clear(st);
	assert_int_equal(nft_state_count(st), 0);
	buf_reset(&b);
	assert_int_equal(nft_state_dump(st, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	nft_state_free(st);
}

/* Many entries: counts stay right through adds, replaces and deletes. */
static void test_many(void **state)
{
	static struct priv_entry v[NFT_STATE_MAX_BATCH];
	struct nft_state *st = nft_state_new(20000);
	size_t counts[NFT_NSETS], i, round;
	struct buf b;

	(void)state;
	buf_init(&b, 64u << 20);
	for (round = 0; round < 10; round++) {
		for (i = 0; i < NFT_STATE_MAX_BATCH; i++)
			v[i] = elem(NULL, "192.168.77.2", 1 + round * 1024 + i, 1 + (round * 1024 + i) % 4000,
				    i % 2 ? IPPROTO_UDP : IPPROTO_TCP);
		buf_reset(&b);
		assert_int_equal(nft_state_change(st, NFT_ADD, v, NFT_STATE_MAX_BATCH, &b), 0);
		nft_state_commit(st);
	}
	assert_int_equal(nft_state_count(st), 10240);
	nft_state_counts(st, counts);
	assert_int_equal(counts[NFT_SET_DNAT_ANY], 10240);
	/* Internal port and protocol both follow n = external port - 1: 4000 endpoints. */
	assert_int_equal(counts[NFT_SET_ALLOW_ANY], 4000);
	buf_reset(&b);
	assert_int_equal(nft_state_change(st, NFT_DEL, v, NFT_STATE_MAX_BATCH, &b), 0);
	nft_state_commit(st);
	assert_int_equal(nft_state_count(st), 10240 - 1024);
	buf_free(&b);
	nft_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_refresh_replace),
		cmocka_unit_test(test_shared_endpoint),
		cmocka_unit_test(test_remote_host),
		cmocka_unit_test(test_net_effect),
		cmocka_unit_test(test_limit_and_rollback),
		cmocka_unit_test(test_dump_and_clear),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
