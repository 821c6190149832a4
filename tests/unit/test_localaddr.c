/*
 * test_localaddr.c - priv/localaddr.c: the gateway's own addresses as
 * the kernel's local routes, followed as they change, in a network
 * namespace of its own (root, or an unprivileged user namespace; skipped
 * otherwise): interface addresses, the whole of 127.0.0.0/8, an AnyIP
 * prefix routed `local`, an address added and removed after the first
 * read, and the addresses of one interface.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv/localaddr.h"

#include "netns_child.h"

static bool local(const struct localaddr *l, const char *text)
{
	struct in_addr a;

	inet_pton(AF_INET, text, &a);
	return localaddr_is_local(l, a);
}

static int run(void)
{
	struct localaddr *l;
	struct in_addr on[4];
	char text[INET_ADDRSTRLEN];

	if (netns_enter(true) != 0)
		return NETNS_SKIP;
	if (sh("ip link set lo up && ip link add a0 type veth peer name a1 && "
	       "ip addr add 10.60.0.1/24 dev a0 && ip link set a0 up && ip link set a1 up") < 0)
		return NETNS_SKIP;
	l = localaddr_new();
	CHECK(l != NULL);
	CHECK(local(l, "10.60.0.1") && local(l, "127.0.0.1") && local(l, "127.1.2.3"));
	CHECK(!local(l, "10.60.0.2") && !local(l, "10.60.0.255") && !local(l, "192.0.2.1"));
	/* Followed: an address and an AnyIP prefix appear, then go. */
	CHECK(sh("ip addr add 10.60.0.9/24 dev a0 && ip route add local 10.70.0.0/24 dev lo") == 0);
	CHECK(!local(l, "10.60.0.9"));                  /* not read yet */
	CHECK(localaddr_refresh(l) == 0);
	CHECK(local(l, "10.60.0.9") && local(l, "10.70.0.77") && !local(l, "10.70.1.1"));
	CHECK(localaddr_on(l, if_nametoindex("a0"), on, 4) == 2);
	inet_ntop(AF_INET, &on[0], text, sizeof(text));
	CHECK(strcmp(text, "10.60.0.1") == 0 || strcmp(text, "10.60.0.9") == 0);
	CHECK(localaddr_on(l, if_nametoindex("a0"), on, 1) == 1);
	CHECK(sh("ip addr del 10.60.0.9/24 dev a0 && ip route del local 10.70.0.0/24 dev lo") == 0);
	CHECK(localaddr_refresh(l) == 0);
	CHECK(!local(l, "10.60.0.9") && !local(l, "10.70.0.77") && local(l, "10.60.0.1"));
	CHECK(localaddr_refresh(l) == 0);               /* nothing changed: nothing to read */
	localaddr_free(l);
	return 0;
}

static void test_local_routes(void **state)
{
	(void)state;
	run_in_child(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
