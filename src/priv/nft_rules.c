/*
 * nft_rules.c - the text of igdd's nft commands (see nft_rules.h and
 * docs/NFT.md). Pure: no I/O, no clock, no libnftables.
 *
 * Rule order matters in two places: the narrowed (_rh) dnat rule comes
 * before the wildcard one, so a mapping for one remote host wins over a
 * wildcard mapping of the same port (WANIPConnection:2 2.3.17); the
 * postrouting chain runs one step before srcnat, so a firewall's general
 * masquerade (which keeps the internal port when it can) does not bind
 * the connection first.
 */
#include "priv/nft_rules.h"

#include "util/buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static char table_name[NFT_TABLE_NAME_MAX] = NFT_TABLE_NAME;

bool nft_table_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n >= NFT_TABLE_NAME_MAX ||
	    !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
		return false;
	for (i = 1; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

int nft_table_name_set(char dst[NFT_TABLE_NAME_MAX], const char *name)
{
	if (!name || !name[0])
		name = NFT_TABLE_NAME;
	if (!nft_table_name_ok(name))
		return -EINVAL;
	memcpy(dst, name, strlen(name) + 1);
	return 0;
}

int nft_rules_set_table(const char *name)
{
	return nft_table_name_set(table_name, name);
}

const char *nft_rules_table_name(void)
{
	return table_name;
}

static const char *const set_names[NFT_NSETS] = {
	[NFT_SET_DNAT_RH] = "dnat_rh",
	[NFT_SET_DNAT_ANY] = "dnat_any",
	[NFT_SET_ALLOW_RH] = "allow_rh",
	[NFT_SET_ALLOW_ANY] = "allow_any",
	[NFT_SET_SNAT_RH] = "snat_rh",
	[NFT_SET_SNAT_ANY] = "snat_any",
	[NFT_SET_HAIRPIN] = "hairpin_addr",
};

/* Each set's type, as the table declares it. */
static const char *const set_types[NFT_NSETS] = {
	[NFT_SET_DNAT_RH] = "map dnat_rh {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n",
	[NFT_SET_DNAT_ANY] = "map dnat_any {\n"
		"\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n",
	[NFT_SET_ALLOW_RH] = "set allow_rh {\n"
		"\t\ttype ipv4_addr . ipv4_addr . inet_proto . inet_service\n\t}\n",
	[NFT_SET_ALLOW_ANY] = "set allow_any {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service\n\t}\n",
	[NFT_SET_SNAT_RH] = "map snat_rh {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service . ipv4_addr : inet_service\n\t}\n",
	[NFT_SET_SNAT_ANY] = "map snat_any {\n"
		"\t\ttype ipv4_addr . inet_proto . inet_service : inet_service\n\t}\n",
	[NFT_SET_HAIRPIN] = "set hairpin_addr {\n"
		"\t\ttype ipv4_addr\n\t}\n",
};

const char *nft_set_name(enum nft_set s)
{
	return (unsigned)s < NFT_NSETS ? set_names[s] : "?";
}

bool nft_ifname_ok(const char *name)
{
	size_t n = strnlen(name, IF_NAMESIZE), i;

	if (n == 0 || n >= IF_NAMESIZE)
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

bool nft_elem_ok(const struct priv_entry *e)
{
	return (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP) && e->ext_port != 0 &&
	       e->int_port != 0 && e->internal.s_addr != 0;
}

static bool conf_ok(const struct nft_table_conf *c)
{
	return nft_ifname_ok(c->wan_if) && c->lan_plen <= 32;
}

/* ---- the table ---- */

static int table_rules(struct buf *out, const struct nft_table_conf *c)
{
	const char *w = c->wan_if;
	char net[INET_ADDRSTRLEN];

	buf_printf(out,
		   "\tchain prerouting {\n"
		   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		   "\t\tiifname \"%s\" fib daddr type local dnat ip to ip saddr . meta l4proto . th dport map @dnat_rh\n"
		   "\t\tiifname \"%s\" fib daddr type local dnat ip to meta l4proto . th dport map @dnat_any\n",
		   w, w);
	if (c->hairpin)
		buf_printf(out, "\t\tiifname != \"%s\" ip daddr @hairpin_addr dnat ip to meta l4proto . th dport map @dnat_any\n", w);
	buf_printf(out,
		   "\t}\n"
		   "\tchain forward {\n"
		   "\t\ttype filter hook forward priority filter; policy accept;\n"
		   "\t\tiifname \"%s\" ct status dnat ip saddr . ip daddr . meta l4proto . th dport @allow_rh accept\n"
		   "\t\tiifname \"%s\" ct status dnat ip daddr . meta l4proto . th dport @allow_any accept\n"
		   "\t}\n"
		   "\tchain postrouting {\n"
		   "\t\ttype nat hook postrouting priority srcnat - 1; policy accept;\n"
		   "\t\toifname \"%s\" meta l4proto { tcp, udp } masquerade to :ip saddr . meta l4proto . th sport . ip daddr map @snat_rh\n"
		   "\t\toifname \"%s\" meta l4proto { tcp, udp } masquerade to :ip saddr . meta l4proto . th sport map @snat_any\n",
		   w, w, w, w);
	if (c->hairpin) {
		inet_ntop(AF_INET, &c->lan_net, net, sizeof(net));
		buf_printf(out, "\t\tip saddr %s/%u ct status dnat ct original ip daddr @hairpin_addr masquerade\n",
			   net, c->lan_plen);
	}
	return buf_puts(out, "\t}\n}\n");
}

int nft_rules_table(struct buf *out, const struct nft_table_conf *c)
{
	int s;

	if (!conf_ok(c))
		return -EINVAL;
	buf_printf(out, "add table %s %s\ndelete table %s %s\ntable %s %s {\n", NFT_TABLE_FAMILY,
		   table_name, NFT_TABLE_FAMILY, table_name, NFT_TABLE_FAMILY, table_name);
	for (s = 0; s < NFT_NSETS; s++) {
		if (s == NFT_SET_HAIRPIN && !c->hairpin)
			continue;
		buf_puts(out, "\t");
		buf_puts(out, set_types[s]);
	}
	table_rules(out, c);
	return out->toobig ? -E2BIG : 0;
}

int nft_rules_delete_table(struct buf *out)
{
	return buf_printf(out, "delete table %s %s\n", NFT_TABLE_FAMILY, table_name);
}

unsigned nft_rules_count(const struct nft_table_conf *c)
{
	return c->hairpin ? 8 : 6;
}

/* ---- elements ---- */

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

enum nft_set nft_elem_set(const struct priv_entry *e, unsigned el)
{
	bool rh = e->remote_host.s_addr != 0;

	if (el == NFT_EL_DNAT)
		return rh ? NFT_SET_DNAT_RH : NFT_SET_DNAT_ANY;
	if (el == NFT_EL_ALLOW)
		return rh ? NFT_SET_ALLOW_RH : NFT_SET_ALLOW_ANY;
	return rh ? NFT_SET_SNAT_RH : NFT_SET_SNAT_ANY;
}

/* One element of set s in out (a key, and its value when adding to a map). */
static int elem_text(char *out, size_t outsz, enum nft_set s, enum nft_op op,
		     const struct priv_entry *e)
{
	char rh[INET_ADDRSTRLEN], in[INET_ADDRSTRLEN];
	const char *p = proto_name(e->proto);
	unsigned ep = e->ext_port, ip = e->int_port;
	bool add = op == NFT_ADD;

	inet_ntop(AF_INET, &e->remote_host, rh, sizeof(rh));
	inet_ntop(AF_INET, &e->internal, in, sizeof(in));
	switch (s) {
	case NFT_SET_DNAT_RH:
		return add ? snprintf(out, outsz, "%s . %s . %u : %s . %u", rh, p, ep, in, ip)
			   : snprintf(out, outsz, "%s . %s . %u", rh, p, ep);
	case NFT_SET_DNAT_ANY:
		return add ? snprintf(out, outsz, "%s . %u : %s . %u", p, ep, in, ip)
			   : snprintf(out, outsz, "%s . %u", p, ep);
	case NFT_SET_ALLOW_RH:
		return snprintf(out, outsz, "%s . %s . %s . %u", rh, in, p, ip);
	case NFT_SET_ALLOW_ANY:
		return snprintf(out, outsz, "%s . %s . %u", in, p, ip);
	case NFT_SET_SNAT_RH:
		return add ? snprintf(out, outsz, "%s . %s . %u . %s : %u", in, p, ip, rh, ep)
			   : snprintf(out, outsz, "%s . %s . %u . %s", in, p, ip, rh);
	case NFT_SET_SNAT_ANY:
		return add ? snprintf(out, outsz, "%s . %s . %u : %u", in, p, ip, ep)
			   : snprintf(out, outsz, "%s . %s . %u", in, p, ip);
	default:
		return -1;
	}
}

/* The commands for set s: every element of v that belongs to it, in
 * chunks of NFT_RULES_CHUNK. */
static void set_cmds(struct buf *out, enum nft_op op, enum nft_set s, unsigned el,
		     const struct priv_entry *v, size_t n)
{
	const char *verb = op == NFT_ADD ? "add" : "delete";
	char text[128];
	size_t i, in_cmd = 0;
	int len;

	for (i = 0; i < n; i++) {
		if (nft_elem_set(&v[i], el) != s)
			continue;
		if (in_cmd == 0)
			buf_printf(out, "%s element %s %s %s { ", verb, NFT_TABLE_FAMILY, table_name,
				   set_names[s]);
		else
			buf_append(out, ", ", 2);
		len = elem_text(text, sizeof(text), s, op, &v[i]);
		if (len > 0 && (size_t)len < sizeof(text))
			buf_append(out, text, (size_t)len);
		if (++in_cmd == NFT_RULES_CHUNK) {
			buf_append(out, " }\n", 3);
			in_cmd = 0;
		}
	}
	if (in_cmd > 0)
		buf_append(out, " }\n", 3);
}

int nft_rules_elems(struct buf *out, enum nft_op op, const struct priv_entry *v, size_t n,
		    unsigned what)
{
	static const unsigned kinds[] = { NFT_EL_DNAT, NFT_EL_ALLOW, NFT_EL_SNAT };
	size_t i, k;

	for (i = 0; i < n; i++)
		if (!nft_elem_ok(&v[i]))
			return -EINVAL;
	/* enum nft_set order: dnat_rh, dnat_any, allow_rh, ... */
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		enum nft_set rh = kinds[k] == NFT_EL_DNAT ? NFT_SET_DNAT_RH :
				  kinds[k] == NFT_EL_ALLOW ? NFT_SET_ALLOW_RH : NFT_SET_SNAT_RH;

		if (!(what & kinds[k]))
			continue;
		set_cmds(out, op, rh, kinds[k], v, n);
		set_cmds(out, op, (enum nft_set)(rh + 1), kinds[k], v, n);
	}
	return out->toobig ? -E2BIG : 0;
}

int nft_rules_hairpin(struct buf *out, const struct in_addr *addrs, size_t n)
{
	char a[INET_ADDRSTRLEN];
	size_t i;

	buf_printf(out, "flush set %s %s hairpin_addr\n", NFT_TABLE_FAMILY, table_name);
	for (i = 0; i < n; i++) {
		inet_ntop(AF_INET, &addrs[i], a, sizeof(a));
		if (i == 0)
			buf_printf(out, "add element %s %s hairpin_addr { ", NFT_TABLE_FAMILY, table_name);
		buf_printf(out, "%s%s", i == 0 ? "" : ", ", a);
	}
	if (n > 0)
		buf_puts(out, " }\n");
	return out->toobig ? -E2BIG : 0;
}
