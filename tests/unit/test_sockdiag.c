/*
 * test_sockdiag.c - util/sockdiag.c: which ports the gateway's own
 * sockets hold on the WAN side, as the kernel's inet_diag reports them.
 * Runs in a network namespace of its own (root, or an unprivileged user
 * namespace where the kernel allows one), with a WAN address on a veth
 * pair, and binds sockets there: TCP listeners and unconnected UDP
 * sockets on the wildcard, the WAN address, :: without IPV6_V6ONLY,
 * ::ffff:WAN, and bound to the WAN device count; the loopback, another
 * local address, :: with IPV6_V6ONLY, another device, a connected UDP
 * socket and a TCP socket that does not listen do not; the one-port
 * lookup and the dump agree.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/sockdiag.h"

#include "netns_child.h"

struct sock_row {
	int family, type;
	const char *addr;
	unsigned port;
	bool v6only, connect, listen;
	bool holds;                     /* the port counts as the gateway's */
};

#define WAN "198.51.100.1"

static const struct sock_row rows[] = {
	{ AF_INET, SOCK_STREAM, "0.0.0.0", 20001, false, false, true, true },
	{ AF_INET, SOCK_STREAM, WAN, 20002, false, false, true, true },
	{ AF_INET, SOCK_STREAM, "127.0.0.1", 20003, false, false, true, false },
	{ AF_INET, SOCK_STREAM, "10.9.0.1", 20004, false, false, true, false },
	{ AF_INET, SOCK_STREAM, "0.0.0.0", 20005, false, false, false, false },  /* bound, not listening */
	{ AF_INET6, SOCK_STREAM, "::", 20006, false, false, true, true },
	{ AF_INET6, SOCK_STREAM, "::", 20007, true, false, true, false },
	{ AF_INET6, SOCK_STREAM, "::ffff:" WAN, 20008, false, false, true, true },
	{ AF_INET6, SOCK_STREAM, "::1", 20009, false, false, true, false },
	{ AF_INET, SOCK_DGRAM, "0.0.0.0", 20011, false, false, false, true },
	{ AF_INET, SOCK_DGRAM, WAN, 20012, false, false, false, true },
	{ AF_INET, SOCK_DGRAM, "127.0.0.1", 20013, false, false, false, false },
	{ AF_INET, SOCK_DGRAM, "0.0.0.0", 20014, false, true, false, false },   /* connected: a client */
	{ AF_INET6, SOCK_DGRAM, "::", 20016, false, false, false, true },
	{ AF_INET6, SOCK_DGRAM, "::", 20017, true, false, false, false },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int open_row(const struct sock_row *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(r->family, r->type | SOCK_CLOEXEC, 0), v6only = r->v6only;

	memset(&ss, 0, sizeof(ss));
	if (r->family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)r->port);
		inet_pton(AF_INET, r->addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)r->port);
		inet_pton(AF_INET6, r->addr, &a->sin6_addr);
		len = sizeof(*a);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
		fprintf(stderr, "bind %s:%u: %s\n", r->addr, r->port, strerror(errno));
		return -1;
	}
	if (r->listen && listen(fd, 4) < 0)
		return -1;
	if (r->connect) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };

		inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
			return -1;
	}
	return fd;
}

static int run(void)
{
	struct sockdiag *d;
	struct portset *tcp = calloc(3, sizeof(*tcp)), *udp, *seen;
	struct in_addr wan;
	int fds[NROWS], extra;
	size_t i;
	int p;

	if (netns_enter(true) != 0)
		return NETNS_SKIP;
	if (sh("ip link set lo up && ip link add w0 type veth peer name w1 && "
	       "ip addr add " WAN "/24 dev w0 && ip addr add 10.9.0.1/24 dev w0 && "
	       "ip link set w0 up && ip link set w1 up") < 0)
		return NETNS_SKIP;                      /* no ip(8), or no veth */
	CHECK(tcp != NULL);
	udp = tcp + 1;
	seen = tcp + 2;
	inet_pton(AF_INET, WAN, &wan);
	d = sockdiag_new();
	CHECK(d != NULL);
	for (i = 0; i < NROWS; i++)
		CHECK((fds[i] = open_row(&rows[i])) >= 0);
	for (i = 0; i < NROWS; i++) {
		uint8_t proto = rows[i].type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
		int r = sockdiag_bound(d, proto, (uint16_t)rows[i].port, &wan, 1, 0);

		if (r != rows[i].holds) {
			fprintf(stderr, "row %zu (%s:%u): %d\n", i, rows[i].addr, rows[i].port, r);
			return 1;
		}
	}
	/* Without the WAN address, only the wildcard ones count. */
	CHECK(sockdiag_bound(d, IPPROTO_TCP, 20002, NULL, 0, 0) == 0);
	CHECK(sockdiag_bound(d, IPPROTO_TCP, 20001, NULL, 0, 0) == 1);
	CHECK(sockdiag_bound(d, 1, 20001, NULL, 0, 0) == -EINVAL);
	CHECK(sockdiag_bound(d, IPPROTO_TCP, 0, NULL, 0, 0) == 0);
	/* Every port at once: exactly the rows that hold one. */
	CHECK(sockdiag_ports(d, IPPROTO_TCP, &wan, 1, 0, tcp) == 0);
	CHECK(sockdiag_ports(d, IPPROTO_UDP, &wan, 1, 0, udp) == 0);
	for (i = 0; i < NROWS; i++) {
		const struct portset *s = rows[i].type == SOCK_STREAM ? tcp : udp;

		CHECK(portset_has(s, (uint16_t)rows[i].port) == rows[i].holds);
	}
	for (p = portset_next(tcp, 1); p > 0; p = portset_next(tcp, (uint32_t)p + 1))
		CHECK(p >= 20001 && p <= 20009);
	/* Held: TCP at once, UDP once seen twice. */
	memset(seen, 0, sizeof(*seen));
	extra = open_row(&(struct sock_row){ AF_INET, SOCK_DGRAM, "0.0.0.0", 20021, false, false,
					     false, true });
	CHECK(extra >= 0);
	CHECK(sockdiag_held(d, &wan, 1, 0, seen, tcp, udp) == 0);
	CHECK(portset_has(tcp, 20001) && !portset_has(udp, 20011) && !portset_has(udp, 20021));
	close(extra);                                   /* a query socket that came and went */
	CHECK(sockdiag_held(d, &wan, 1, 0, seen, tcp, udp) == 0);
	CHECK(portset_has(udp, 20011) && portset_has(udp, 20016) && !portset_has(udp, 20021));
	/* Bound to a device: only the WAN device's count, and only when
	 * the caller names it. */
	{
		static const struct sock_row dev_row = { AF_INET, SOCK_STREAM, "0.0.0.0", 20030,
							 false, false, true, true };
		unsigned w0 = if_nametoindex("w0");
		int on_wan = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int on_other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET };

		CHECK(w0 != 0 && on_wan >= 0 && on_other >= 0);
		CHECK(setsockopt(on_wan, SOL_SOCKET, SO_BINDTODEVICE, "w0", 3) == 0);
		CHECK(setsockopt(on_other, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) == 0);
		a.sin_port = htons(dev_row.port);
		CHECK(bind(on_wan, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(on_wan, 4) == 0);
		a.sin_port = htons(20031);
		CHECK(bind(on_other, (struct sockaddr *)&a, sizeof(a)) == 0);
		CHECK(sockdiag_bound(d, IPPROTO_TCP, 20030, &wan, 1, w0) == 1);
		CHECK(sockdiag_bound(d, IPPROTO_TCP, 20030, &wan, 1, 0) == 0);
		CHECK(sockdiag_bound(d, IPPROTO_UDP, 20031, &wan, 1, w0) == 0);
		CHECK(sockdiag_bound(d, IPPROTO_TCP, 20001, &wan, 1, w0) == 1);  /* unbound: any */
		CHECK(sockdiag_ports(d, IPPROTO_TCP, &wan, 1, w0, tcp) == 0 && portset_has(tcp, 20030));
		CHECK(sockdiag_ports(d, IPPROTO_TCP, &wan, 1, 0, tcp) == 0 && !portset_has(tcp, 20030));
		CHECK(sockdiag_ports(d, IPPROTO_UDP, &wan, 1, w0, udp) == 0 && !portset_has(udp, 20031));
		close(on_wan);
		close(on_other);
	}
	for (i = 0; i < NROWS; i++)
		close(fds[i]);
	CHECK(sockdiag_bound(d, IPPROTO_TCP, 20001, &wan, 1, 0) == 0);
	sockdiag_free(d);
	free(tcp);
	return 0;
}

static void test_sockets(void **state)
{
	(void)state;
	run_in_child(run);
}

static void test_portset(void **state)
{
	struct portset *s = calloc(1, sizeof(*s)), *t = calloc(1, sizeof(*t));

	(void)state;
	assert_non_null(s);
	assert_non_null(t);
	assert_int_equal(portset_next(s, 0), -1);
	portset_add(s, 0);
	portset_add(s, 63);
	portset_add(s, 64);
	portset_add_range(s, 65530, 65535);
	assert_int_equal(portset_next(s, 0), 0);
	assert_int_equal(portset_next(s, 1), 63);
	assert_int_equal(portset_next(s, 64), 64);
	assert_int_equal(portset_next(s, 65), 65530);
	assert_int_equal(portset_next(s, 65535), 65535);
	assert_int_equal(portset_next(s, 65536), -1);
	assert_true(portset_has(s, 65533) && !portset_has(s, 65529));
	assert_false(portset_equal(s, t));
	*t = *s;
	assert_true(portset_equal(s, t));
	portset_clear(s);
	assert_int_equal(portset_next(s, 0), -1);
	free(s);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portset),
		cmocka_unit_test(test_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
