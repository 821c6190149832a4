/*
 * iflink.h - one interface's link state, traffic counters and speed, read
 * in the caller's own network namespace: rtnetlink (RTM_GETLINK by name,
 * rtnetlink(7)) and the ethtool ioctl (ETHTOOL_GLINKSETTINGS).
 *
 * Never from /sys/class/net: sysfs lists the interfaces of the network
 * namespace that mounted it, which is not the daemon's own in a container
 * (systemd-nspawn with a network namespace of the admin's) or in a
 * service started into another namespace (systemd's
 * NetworkNamespacePath=, nsenter --net). There the WAN interface is
 * missing from /sys, or another interface of the same name answers.
 */
#ifndef IGDD_IFLINK_H
#define IGDD_IFLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iflink {
	unsigned ifindex;
	/* Administratively up and operationally up; "unknown" (ppp, tun,
	 * which report no operational state) counts when there is a carrier. */
	bool up;
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_packets, tx_packets;
	uint32_t speed_mbps;            /* 0: not known (no ethtool, no link) */
};

/*
 * The answer to an RTM_GETLINK request: len bytes of netlink messages in
 * buf. Fills everything but speed_mbps. Returns 0, the kernel's error
 * (-ENODEV: no such interface), or -EBADMSG when buf holds no link
 * message. *ret is written only on success. Pure: for tests.
 */
int iflink_parse(const void *buf, size_t len, struct iflink *ret);

/*
 * Interface ifname in this network namespace: one RTM_GETLINK request
 * (util/rtnl.h: the kernel answers it at once; the wait is bounded all
 * the same) and the ethtool ioctl for the speed. No privilege needed. Returns 0, -ENODEV
 * when there is no such interface, or another -errno. *ret is written
 * only on success.
 */
int iflink_read(const char *ifname, struct iflink *ret);

#endif
