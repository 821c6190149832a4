/*
 * stun.c - STUN Binding client messages (stun.h; RFC 8489 sections 5,
 * 6.1, 6.2.1, 6.3, 14; RFC 5780 sections 4.3, 4.4, 7).
 */
#include "proto/stun.h"

#include "util/be.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int stun_build_binding(uint8_t *buf, size_t size, const uint8_t txid[STUN_TXID_LEN],
		       unsigned change)
{
	size_t len = STUN_HEADER_LEN + (change ? 8 : 0);

	if (size < len)
		return -ENOSPC;
	be16_put(buf, STUN_BINDING_REQUEST);
	be16_put(buf + 2, (uint16_t)(len - STUN_HEADER_LEN));
	be32_put(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	if (change) {
		be16_put(buf + 20, STUN_ATTR_CHANGE_REQUEST);
		be16_put(buf + 22, 4);
		be32_put(buf + 24, change & (STUN_CHANGE_IP | STUN_CHANGE_PORT));
	}
	return (int)len;
}

/*
 * An address attribute (14.1, 14.2): 0 and *ret for IPv4, 1 for a
 * well-formed IPv6 one (ignored), -EINVAL when malformed.
 */
static int parse_addr(const uint8_t *v, size_t vlen, bool xor, struct stun_addr *ret)
{
	uint16_t port;
	uint32_t a;

	if (vlen < 4)
		return -EINVAL;
	if (v[1] == 0x02)
		return vlen == 20 ? 1 : -EINVAL;
	if (v[1] != 0x01 || vlen != 8)
		return -EINVAL;
	port = be16_get(v + 2);
	a = be32_get(v + 4);
	if (xor) {
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		a ^= STUN_MAGIC_COOKIE;
	}
	ret->port = port;
	ret->addr.s_addr = htonl(a);
	return 0;
}

/* One address attribute into *dst unless *have is set already (only the
 * first occurrence counts, 14). */
static int take_addr(const uint8_t *v, size_t vlen, bool xor, bool *have, struct stun_addr *dst)
{
	struct stun_addr a;
	int r = parse_addr(v, vlen, xor, &a);

	if (r < 0)
		return r;
	if (r == 0 && !*have) {
		*have = true;
		*dst = a;
	}
	return 0;
}

/* The attributes igdd knows: their values are checked above. */
static bool known_type(uint16_t t)
{
	switch (t) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_SOURCE_ADDRESS:
	case STUN_ATTR_CHANGED_ADDRESS:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		return true;
	default:
		return false;
	}
}

/* What one parse has seen: the response, and the fallbacks of 6.3.3. */
struct seen {
	struct stun_response r;
	bool have_xor, have_plain, have_changed, have_source;
	struct stun_addr xor_addr, plain, changed, source;
};

static int parse_attr(struct seen *s, uint16_t type, const uint8_t *v, size_t vlen)
{
	switch (type) {
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		return take_addr(v, vlen, true, &s->have_xor, &s->xor_addr);
	case STUN_ATTR_MAPPED_ADDRESS:
		return take_addr(v, vlen, false, &s->have_plain, &s->plain);
	case STUN_ATTR_OTHER_ADDRESS:
		return take_addr(v, vlen, false, &s->r.have_other, &s->r.other);
	case STUN_ATTR_CHANGED_ADDRESS:
		return take_addr(v, vlen, false, &s->have_changed, &s->changed);
	case STUN_ATTR_RESPONSE_ORIGIN:
		return take_addr(v, vlen, false, &s->r.have_origin, &s->r.origin);
	case STUN_ATTR_SOURCE_ADDRESS:
		return take_addr(v, vlen, false, &s->have_source, &s->source);
	case STUN_ATTR_ERROR_CODE:
		/* 21 reserved bits, class 3..6, number 0..99, reason (14.8) */
		if (vlen < 4)
			return -EINVAL;
		if (!s->r.success && s->r.error_code == 0) {
			unsigned cls = v[2] & 7, num = v[3];

			s->r.error_code = (cls >= 3 && cls <= 6 && num <= 99) ? cls * 100 + num : 1;
		}
		return 0;
	default:
		if (type < 0x8000 && !known_type(type) && s->r.unknown_required == 0)
			s->r.unknown_required = type;
		return 0;
	}
}

int stun_parse_response(const uint8_t *buf, size_t len, struct stun_response *ret)
{
	struct seen s;
	uint16_t type, mlen;
	size_t off, end;

	if (len < STUN_HEADER_LEN)
		return -EINVAL;
	type = be16_get(buf);
	mlen = be16_get(buf + 2);
	/* 6.3: the top two bits zero, the cookie, a length that fits and is
	 * a multiple of 4 */
	if ((type & 0xc000) || be32_get(buf + 4) != STUN_MAGIC_COOKIE || (mlen & 3) ||
	    (size_t)mlen + STUN_HEADER_LEN > len)
		return -EINVAL;
	if (type != STUN_BINDING_SUCCESS && type != STUN_BINDING_ERROR)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.r.success = type == STUN_BINDING_SUCCESS;
	memcpy(s.r.txid, buf + 8, STUN_TXID_LEN);
	end = STUN_HEADER_LEN + (size_t)mlen;
	for (off = STUN_HEADER_LEN; off < end;) {
		uint16_t alen;
		size_t padded;

		if (end - off < 4)
			return -EINVAL;
		alen = be16_get(buf + off + 2);
		padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > end - off - 4 ||
		    parse_attr(&s, be16_get(buf + off), buf + off + 4, alen) < 0)
			return -EINVAL;
		off += 4 + padded;
	}
	/* 6.3.3: XOR-MAPPED-ADDRESS first; MAPPED-ADDRESS from RFC 3489 servers */
	if (s.have_xor) {
		s.r.have_mapped = s.r.mapped_from_xor = true;
		s.r.mapped = s.xor_addr;
	} else if (s.have_plain) {
		s.r.have_mapped = true;
		s.r.mapped = s.plain;
	}
	if (!s.r.have_other && s.have_changed) {
		s.r.have_other = true;
		s.r.other = s.changed;
	}
	if (!s.r.have_origin && s.have_source) {
		s.r.have_origin = true;
		s.r.origin = s.source;
	}
	/* an unusable alternate (stund with one address says 0.0.0.0) */
	if (s.r.have_other && (s.r.other.addr.s_addr == 0 || s.r.other.port == 0))
		s.r.have_other = false;
	if (!s.r.success && s.r.error_code == 0)
		s.r.error_code = 1;     /* no ERROR-CODE: failed (6.3.4) */
	*ret = s.r;
	return 0;
}

uint64_t stun_retransmit_delay(unsigned n, unsigned rc, uint64_t rto_ms)
{
	if (n == 0 || n >= rc)
		return 0;
	if (n > 20)
		n = 20;
	return rto_ms << (n - 1);
}

const char *stun_behaviour_name(enum stun_behaviour b)
{
	switch (b) {
	case STUN_NO_NAT:
		return "no-nat";
	case STUN_ENDPOINT_INDEPENDENT:
		return "endpoint-independent";
	case STUN_ADDRESS_DEPENDENT:
		return "address-dependent";
	case STUN_ADDRESS_PORT_DEPENDENT:
		return "address-and-port-dependent";
	default:
		return "unknown";
	}
}

enum stun_behaviour stun_mapping_verdict(const struct stun_addr *local,
					 const struct stun_addr *t1,
					 const struct stun_addr *t2,
					 const struct stun_addr *t3)
{
	if (!t1)
		return STUN_UNKNOWN;
	if (local && stun_addr_equal(local, t1))
		return STUN_NO_NAT;
	if (!t2)
		return STUN_UNKNOWN;
	if (stun_addr_equal(t1, t2))
		return STUN_ENDPOINT_INDEPENDENT;
	if (!t3)
		return STUN_UNKNOWN;
	return stun_addr_equal(t2, t3) ? STUN_ADDRESS_DEPENDENT : STUN_ADDRESS_PORT_DEPENDENT;
}

const char *stun_state_name(enum stun_state s)
{
	switch (s) {
	case STUN_STATE_WAITING:
		return "waiting";
	case STUN_STATE_QUERYING:
		return "querying";
	case STUN_STATE_OK:
		return "ok";
	case STUN_STATE_FAILED:
		return "failed";
	default:
		return "off";
	}
}
