/*
 * nft_pin.c - nft text for IPv6 pinholes (see nft_pin.h and docs/NFT.md).
 * Pure: no I/O, no libnftables. Addresses are printed with inet_ntop()
 * from struct in6_addr, protocols and ports as numbers.
 */
#include "priv/nft_pin.h"

#include "core/pinhole.h"
#include "priv/nft_rules.h"
#include "util/buf.h"
#include "util/ipaddr.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static char table_name[NFT_TABLE_NAME_MAX] = NFT_TABLE_NAME;

int nft_pin_set_table(const char *name)
{
	return nft_table_name_set(table_name, name);
}

const char *nft_pin_table_name(void)
{
	return table_name;
}

enum { SET_RH_RP, SET_RH, SET_RP, SET_ANY };

static const char *const names[NFT_PIN_NSETS] = { "pin6_rh_rp", "pin6_rh", "pin6_rp", "pin6_any" };
static const char *const types[NFT_PIN_NSETS] = {
	"ipv6_addr . inet_service . ipv6_addr . inet_proto . inet_service",
	"ipv6_addr . ipv6_addr . inet_proto . inet_service",
	"inet_service . ipv6_addr . inet_proto . inet_service",
	"ipv6_addr . inet_proto . inet_service",
};
static const char *const keys[NFT_PIN_NSETS] = {
	"ip6 saddr . th sport . ip6 daddr . meta l4proto . th dport",
	"ip6 saddr . ip6 daddr . meta l4proto . th dport",
	"th sport . ip6 daddr . meta l4proto . th dport",
	"ip6 daddr . meta l4proto . th dport",
};

void nft_pin_fill(struct nft_pin *ret, const struct in6_addr *remote,
		  const struct in6_addr *internal, uint16_t remote_port, uint16_t int_port,
		  uint8_t proto)
{
	memset(ret, 0, sizeof(*ret));
	ret->remote = *remote;
	ret->internal = *internal;
	ret->remote_port = remote_port;
	ret->int_port = int_port;
	ret->proto = proto;
}

void nft_pin_from(const struct pinhole *p, struct nft_pin *ret)
{
	nft_pin_fill(ret, &p->remote, &p->internal, p->remote_port, p->int_port, p->proto);
}

bool nft_pin_eq(const struct nft_pin *a, const struct nft_pin *b)
{
	return a->proto == b->proto && a->int_port == b->int_port &&
	       a->remote_port == b->remote_port && IN6_ARE_ADDR_EQUAL(&a->internal, &b->internal) &&
	       IN6_ARE_ADDR_EQUAL(&a->remote, &b->remote);
}

bool nft_pin_ok(const struct nft_pin *p)
{
	if (p->proto != 6 && p->proto != 17 && p->proto != 136)
		return false;
	if (p->int_port == 0 || !in6_is_unicast_global(&p->internal))
		return false;
	if (!IN6_IS_ADDR_UNSPECIFIED(&p->remote) &&
	    (IN6_IS_ADDR_MULTICAST(&p->remote) || IN6_IS_ADDR_LOOPBACK(&p->remote) ||
	     IN6_IS_ADDR_V4MAPPED(&p->remote)))
		return false;
	return true;
}

unsigned nft_pin_set(const struct nft_pin *p)
{
	bool rh = !IN6_IS_ADDR_UNSPECIFIED(&p->remote), rp = p->remote_port != 0;

	return rh ? (rp ? SET_RH_RP : SET_RH) : (rp ? SET_RP : SET_ANY);
}

const char *nft_pin_set_name(unsigned set)
{
	return set < NFT_PIN_NSETS ? names[set] : "?";
}

int nft_pin_table(struct buf *out, const char *wan_if)
{
	unsigned s;

	if (!nft_ifname_ok(wan_if))
		return -EINVAL;
	buf_printf(out, "add table %s %s\ndelete table %s %s\ntable %s %s {\n", NFT_PIN_FAMILY,
		   table_name, NFT_PIN_FAMILY, table_name, NFT_PIN_FAMILY, table_name);
	for (s = 0; s < NFT_PIN_NSETS; s++)
		buf_printf(out, "\tset %s {\n\t\ttype %s\n\t\tcounter\n\t}\n", names[s], types[s]);
	buf_puts(out, "\tchain forward {\n"
		 "\t\ttype filter hook forward priority filter - 10; policy accept;\n");
	for (s = 0; s < NFT_PIN_NSETS; s++)
		buf_printf(out, "\t\tiifname \"%s\" %s @%s meta mark set meta mark | 0x%08x\n",
			   wan_if, keys[s], names[s], NFT_PIN_MARK);
	buf_puts(out, "\t}\n}\n");
	return out->toobig ? -E2BIG : 0;
}

int nft_pin_delete_table(struct buf *out)
{
	return buf_printf(out, "delete table %s %s\n", NFT_PIN_FAMILY, table_name);
}

/* The element's key as the set's type wants it. */
static void key(struct buf *out, const struct nft_pin *p)
{
	char rh[INET6_ADDRSTRLEN], in[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &p->remote, rh, sizeof(rh));
	inet_ntop(AF_INET6, &p->internal, in, sizeof(in));
	switch (nft_pin_set(p)) {
	case SET_RH_RP:
		buf_printf(out, "%s . %u . %s . %u . %u", rh, p->remote_port, in, p->proto,
			   p->int_port);
		break;
	case SET_RH:
		buf_printf(out, "%s . %s . %u . %u", rh, in, p->proto, p->int_port);
		break;
	case SET_RP:
		buf_printf(out, "%u . %s . %u . %u", p->remote_port, in, p->proto, p->int_port);
		break;
	default:
		buf_printf(out, "%s . %u . %u", in, p->proto, p->int_port);
		break;
	}
}

static int elem_cmd(struct buf *out, const char *verb, const struct nft_pin *p)
{
	if (!nft_pin_ok(p))
		return -EINVAL;
	buf_printf(out, "%s element %s %s %s { ", verb, NFT_PIN_FAMILY, table_name,
		   names[nft_pin_set(p)]);
	key(out, p);
	buf_puts(out, " }\n");
	return out->toobig ? -E2BIG : 0;
}

int nft_pin_elem(struct buf *out, bool add, const struct nft_pin *p)
{
	return elem_cmd(out, add ? "add" : "delete", p);
}

int nft_pin_get(struct buf *out, const struct nft_pin *p)
{
	return elem_cmd(out, "get", p);
}

int nft_pin_parse_packets(const char *text, uint64_t *ret)
{
	static const char word[] = "counter packets ";
	const char *s = text ? strstr(text, word) : NULL;
	size_t n = 0;

	if (!s)
		return -ENOENT;
	s += sizeof(word) - 1;
	while (s[n] >= '0' && s[n] <= '9' && n < 20)
		n++;
	if (n == 0 || str_to_u64(str_from(s, n), UINT64_MAX, ret) < 0)
		return -ENOENT;
	return 0;
}
