/*
 * wansock.h - the sockets igdd's clients of outside servers open on the
 * WAN side (net/stun_io.c, net/upstream_io.c, net/upstream_upnp.c):
 * IPv4, non-blocking, close-on-exec, bound to the WAN address (any
 * port), so that what they send leaves from the address the upstream
 * and the servers know, never from a LAN address.
 */
#ifndef IGDD_NET_WANSOCK_H
#define IGDD_NET_WANSOCK_H

#include <netinet/in.h>

/* A socket of type (SOCK_DGRAM, SOCK_STREAM) bound to from:0 and, when
 * to is given, connected to it (a stream's connect may still be in
 * progress). The fd, or -errno (nothing left open). */
int wansock_open(int type, struct in_addr from, const struct sockaddr_in *to);

#endif
