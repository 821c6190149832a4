/*
 * leaserec.c - the records of the lease files, pure (see leaserec.h; the
 * format and the crash-safety argument: store/leasefile.c).
 */
#include "core/leaserec.h"

#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ CRC-32 */

/* CRC-32, reflected polynomial 0xedb88320, a byte at a time. */
static uint32_t crc32_of(const void *data, size_t len)
{
	static const uint32_t tab[256] = {
		0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f,
		0xe963a535, 0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
		0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2,
		0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
		0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9,
		0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
		0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
		0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
		0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423,
		0xcfba9599, 0xb8bda50f, 0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
		0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d, 0x76dc4190, 0x01db7106,
		0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
		0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d,
		0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
		0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950,
		0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
		0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7,
		0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
		0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9, 0x5005713c, 0x270241aa,
		0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
		0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
		0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
		0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84,
		0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
		0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb,
		0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
		0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8, 0xa1d1937e,
		0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
		0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55,
		0x316e8eef, 0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
		0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28,
		0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
		0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f,
		0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
		0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
		0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
		0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69,
		0x616bffd3, 0x166ccf45, 0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
		0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db, 0xaed16a4a, 0xd9d65adc,
		0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
		0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693,
		0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
		0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
	};
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;
	size_t i;

	for (i = 0; i < len; i++)
		c = (c >> 8) ^ tab[(c ^ p[i]) & 0xff];
	return c ^ 0xffffffffu;
}

/* The absolute expiry of m: the lease left, rounded up, at least 1 s;
 * 0 for a permanent entry. */
uint64_t leaserec_expiry(const struct mapping *m, uint64_t mono_ms, uint64_t wall_s)
{
	uint64_t left = m->lease_end_ms > mono_ms ? (m->lease_end_ms - mono_ms + 999) / 1000 : 0;

	if (m->lease_end_ms == 0)
		return 0;

	return wall_s + (left ? left : 1);
}

/* Entries of the three protocols and the admin's, leased or permanent. */
bool leaserec_persisted(const struct mapping *m)
{
	return m->origin == MAP_ORIGIN_UPNP || m->origin == MAP_ORIGIN_NATPMP ||
	       m->origin == MAP_ORIGIN_PCP || m->origin == MAP_ORIGIN_STATIC;
}

static bool has_nonce(const struct mapping *m)
{
	static const uint8_t zero[sizeof(m->nonce)];

	return memcmp(m->nonce, zero, sizeof(zero)) != 0;
}

/* ----------------------------------------------------------- writing */

static const char *proto_tok(uint8_t proto)
{
	return proto == MAP_UDP ? "UDP" : "TCP";
}

static const char *origin_tok(uint8_t origin)
{
	switch (origin) {
	case MAP_ORIGIN_NATPMP: return "natpmp";
	case MAP_ORIGIN_PCP: return "pcp";
	case MAP_ORIGIN_STATIC: return "static";
	default: return "upnp";
	}
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_ipv4(char *p, struct in_addr a)
{
	const unsigned char *b = (const unsigned char *)&a.s_addr;

	p = put_u64(p, b[0]);
	*p++ = '.';
	p = put_u64(p, b[1]);
	*p++ = '.';
	p = put_u64(p, b[2]);
	*p++ = '.';
	return put_u64(p, b[3]);
}

/* At most IGDD_MAX_DESC_LEN bytes, each at most 3 characters. */
static char *put_desc(char *p, const char *d)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; d && d[i] && i < IGDD_MAX_DESC_LEN; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c > 0x20 && c < 0x7f && c != '%') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

/* The key: "<proto> <ext port> <remote host>". */
static char *put_key(char *p, const struct mapping *m)
{
	p = put_str(p, proto_tok(m->proto));
	*p++ = ' ';
	p = put_u64(p, m->ext_port);
	*p++ = ' ';
	return put_ipv4(p, m->remote_host);
}

/* Prefix the body that ends at end with its CRC, end it with '\n'. */
static size_t finish_line(char *line, char *end)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t crc = crc32_of(LEASEREC_BODY(line), (size_t)(end - LEASEREC_BODY(line)));
	int i;

	for (i = 0; i < 8; i++)
		line[i] = hex[(crc >> (28 - 4 * i)) & 15];
	line[8] = ' ';
	*end++ = '\n';
	return (size_t)(end - line);
}

size_t leaserec_put(char *line, const struct mapping *m, uint64_t expiry)
{
	char *p = LEASEREC_BODY(line);

	p = put_str(p, "m ");
	p = put_key(p, m);
	*p++ = ' ';
	p = put_ipv4(p, m->internal_client);
	*p++ = ' ';
	p = put_u64(p, m->int_port);
	p = put_str(p, m->enabled ? " 1 " : " 0 ");
	p = put_str(p, origin_tok(m->origin));
	*p++ = ' ';
	p = put_ipv4(p, m->owner);
	*p++ = ' ';
	p = put_u64(p, expiry);
	*p++ = ' ';
	p = put_desc(p, m->desc);
	if (has_nonce(m)) {
		static const char hex[] = "0123456789abcdef";
		size_t i;

		*p++ = ' ';
		for (i = 0; i < sizeof(m->nonce); i++) {
			*p++ = hex[m->nonce[i] >> 4];
			*p++ = hex[m->nonce[i] & 15];
		}
	}
	return finish_line(line, p);
}

size_t leaserec_delete(char *line, const struct mapping *m)
{
	char *p = put_str(LEASEREC_BODY(line), "d ");

	return finish_line(line, put_key(p, m));
}

/* ---- pinholes ---- */

uint64_t leaserec_pin_expiry(const struct pinhole *ph, uint64_t mono_ms, uint64_t wall_s)
{
	uint64_t left = ph->lease_end_ms > mono_ms ? (ph->lease_end_ms - mono_ms + 999) / 1000 : 0;

	return wall_s + (left ? left : 1);
}

bool leaserec_pin_persisted(const struct pinhole *ph)
{
	return ph->lease_end_ms != 0 &&
	       (ph->origin == PIN_ORIGIN_UPNP || ph->origin == PIN_ORIGIN_PCP);
}

static char *put_ipv6(char *p, const struct in6_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, text, sizeof(text));
	return put_str(p, text);
}

size_t leaserec_pin_put(char *line, const struct pinhole *ph, uint64_t expiry)
{
	char *p = LEASEREC_BODY(line), owner[IPADDR_STRLEN];

	p = put_str(p, "p ");
	p = put_u64(p, ph->uid);
	*p++ = ' ';
	p = put_u64(p, ph->proto);
	*p++ = ' ';
	p = put_ipv6(p, &ph->remote);
	*p++ = ' ';
	p = put_u64(p, ph->remote_port);
	*p++ = ' ';
	p = put_ipv6(p, &ph->internal);
	*p++ = ' ';
	p = put_u64(p, ph->int_port);
	p = put_str(p, ph->origin == PIN_ORIGIN_PCP ? " pcp " : " upnp ");
	if (ph->owner.family)
		ipaddr_ntop(&ph->owner, owner, sizeof(owner));
	else
		memcpy(owner, "-", 2);
	p = put_str(p, owner);
	*p++ = ' ';
	p = put_u64(p, ph->lan);
	*p++ = ' ';
	p = put_u64(p, expiry);
	return finish_line(line, p);
}

size_t leaserec_pin_delete(char *line, const struct pinhole *ph)
{
	char *p = put_str(LEASEREC_BODY(line), "q ");

	return finish_line(line, put_u64(p, ph->uid));
}

/* "<word> <a>" or, with b, "<word> <a> <b>" (headers, commits, end). */
size_t leaserec_words(char *line, const char *words, uint64_t a, const uint64_t *b)
{
	char *p = put_str(LEASEREC_BODY(line), words);

	*p++ = ' ';
	p = put_u64(p, a);
	if (b) {
		*p++ = ' ';
		p = put_u64(p, *b);
	}
	return finish_line(line, p);
}

/* ----------------------------------------------------------- parsing */

/* Split at single spaces; returns max + 1 when there are more tokens. */
size_t leaserec_split(struct str body, struct str *tok, size_t max)
{
	const char *s = body.p, *end = body.p + body.len, *sp;
	size_t n = 0;

	for (;;) {
		if (n == max)
			return max + 1;
		sp = memchr(s, ' ', (size_t)(end - s));
		tok[n++] = str_from(s, sp ? (size_t)(sp - s) : (size_t)(end - s));
		if (!sp)
			return n;
		s = sp + 1;
	}
}

bool leaserec_parse_u64(struct str s, uint64_t max, uint64_t *ret)
{
	return s.len > 0 && s.p[0] != '+' && str_to_u64(s, max, ret) == 0;
}

static bool parse_port(struct str s, uint16_t *ret)
{
	uint64_t v;

	if (!leaserec_parse_u64(s, 65535, &v) || v == 0)
		return false;
	*ret = (uint16_t)v;
	return true;
}

static bool parse_ipv4(struct str s, struct in_addr *ret)
{
	char text[INET_ADDRSTRLEN];

	return str_copy(s, text, sizeof(text)) == 0 && inet_pton(AF_INET, text, ret) == 1;
}

/* Undo put_desc(): no NUL, at most IGDD_MAX_DESC_LEN bytes. */
static bool parse_desc(struct str s, char out[IGDD_MAX_DESC_LEN + 1])
{
	size_t i, o = 0;

	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		int hi, lo;

		if (o == IGDD_MAX_DESC_LEN)
			return false;
		if (c == '%') {
			if (i + 2 >= s.len)
				return false;
			hi = str_hexval(s.p[i + 1]);
			lo = str_hexval(s.p[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return false;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c > 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			return false;
		}
	}
	out[o] = '\0';
	return true;
}

/* 24 hex digits, not all zero (leaserec_put() writes none for no nonce). */
static bool parse_nonce(struct str s, uint8_t out[12])
{
	size_t i;
	int hi, lo;

	if (s.len != 24)
		return false;
	for (i = 0; i < 12; i++) {
		hi = str_hexval(s.p[2 * i]);
		lo = str_hexval(s.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	for (i = 0; i < 12; i++)
		if (out[i])
			return true;
	return false;
}

static bool parse_key(const struct str *t, struct mapping *m)
{
	if (str_eq_cstr(t[0], "TCP"))
		m->proto = MAP_TCP;
	else if (str_eq_cstr(t[0], "UDP"))
		m->proto = MAP_UDP;
	else
		return false;
	return parse_port(t[1], &m->ext_port) && parse_ipv4(t[2], &m->remote_host);
}

static bool parse_origin(struct str s, uint8_t *ret)
{
	if (str_eq_cstr(s, "upnp"))
		*ret = MAP_ORIGIN_UPNP;
	else if (str_eq_cstr(s, "natpmp"))
		*ret = MAP_ORIGIN_NATPMP;
	else if (str_eq_cstr(s, "pcp"))
		*ret = MAP_ORIGIN_PCP;
	else if (str_eq_cstr(s, "static"))
		*ret = MAP_ORIGIN_STATIC;
	else
		return false;
	return true;
}

static bool parse_ipv6(struct str s, struct in6_addr *ret)
{
	char text[INET6_ADDRSTRLEN];

	return str_copy(s, text, sizeof(text)) == 0 && inet_pton(AF_INET6, text, ret) == 1;
}

/* "p ..." (t[0] is "p", n tokens). */
static const char *parse_pin(const struct str *t, size_t n, struct leaserec *r)
{
	struct pinhole *ph = &r->pin;
	uint64_t v;

	memset(ph, 0, sizeof(*ph));
	r->type = 'p';
	if (n != 11)
		return "bad pinhole record";
	if (!leaserec_parse_u64(t[1], 65535, &v) || v == 0)
		return "bad pinhole id";
	ph->uid = (uint16_t)v;
	if (!leaserec_parse_u64(t[2], 255, &v) || !pin_proto_name((uint8_t)v))
		return "bad pinhole protocol";
	ph->proto = (uint8_t)v;
	if (!parse_ipv6(t[3], &ph->remote) || !leaserec_parse_u64(t[4], 65535, &v))
		return "bad pinhole remote host";
	ph->remote_port = (uint16_t)v;
	if (!parse_ipv6(t[5], &ph->internal) || !parse_port(t[6], &ph->int_port))
		return "bad pinhole internal client";
	if (str_eq_cstr(t[7], "upnp"))
		ph->origin = PIN_ORIGIN_UPNP;
	else if (str_eq_cstr(t[7], "pcp"))
		ph->origin = PIN_ORIGIN_PCP;
	else
		return "bad pinhole origin";
	if (!str_eq_cstr(t[8], "-") && ipaddr_parse(t[8], &ph->owner) < 0)
		return "bad pinhole owner";
	if (!leaserec_parse_u64(t[9], IGDD_CONF_MAX_LANS - 1, &v))
		return "bad pinhole LAN";
	ph->lan = (uint8_t)v;
	if (!leaserec_parse_u64(t[10], LEASEREC_EXPIRY_MAX, &r->expiry))
		return "bad expiry";
	return NULL;
}

/* A record body into r; NULL, or why it is bad. */
const char *leaserec_parse(struct str body, struct leaserec *r)
{
	struct str t[LEASEREC_MAX_TOKENS];
	size_t n = leaserec_split(body, t, LEASEREC_MAX_TOKENS);
	uint64_t v;

	memset(&r->m, 0, sizeof(r->m));
	r->m.desc = r->desc;
	r->desc[0] = '\0';
	r->expiry = 0;
	if (n == 4 && str_eq_cstr(t[0], "d")) {
		r->type = 'd';
		return parse_key(t + 1, &r->m) ? NULL : "bad key";
	}
	if (str_eq_cstr(t[0], "p"))
		return parse_pin(t, n, r);
	if (n == 2 && str_eq_cstr(t[0], "q")) {
		r->type = 'q';
		memset(&r->pin, 0, sizeof(r->pin));
		if (!leaserec_parse_u64(t[1], 65535, &v) || v == 0)
			return "bad pinhole id";
		r->pin.uid = (uint16_t)v;
		return NULL;
	}
	if ((n != 11 && n != 12) || !str_eq_cstr(t[0], "m"))
		return "unknown record";
	r->type = 'm';
	r->m.enabled = str_eq_cstr(t[6], "1");
	r->m.lease_end_ms = 0;
	if (!parse_key(t + 1, &r->m))
		return "bad key";
	if (!parse_ipv4(t[4], &r->m.internal_client) || !parse_port(t[5], &r->m.int_port))
		return "bad internal client";
	if (!r->m.enabled && !str_eq_cstr(t[6], "0"))
		return "bad enabled flag";
	if (!parse_origin(t[7], &r->m.origin) || !parse_ipv4(t[8], &r->m.owner))
		return "bad origin";
	if (!leaserec_parse_u64(t[9], LEASEREC_EXPIRY_MAX, &r->expiry))
		return "bad expiry";
	if (n == 12 && !parse_nonce(t[11], r->m.nonce))
		return "bad nonce";
	return parse_desc(t[10], r->desc) ? NULL : "bad description";
}

/* A line (without '\n') whose CRC matches: its body; or why not. */
const char *leaserec_check_line(struct str line, struct str *ret_body)
{
	uint32_t crc = 0;
	int i, v;

	if (line.len < 10 || line.p[8] != ' ')
		return "not a record line";
	for (i = 0; i < 8; i++) {
		if ((v = str_hexval(line.p[i])) < 0)
			return "not a record line";
		crc = crc << 4 | (uint32_t)v;
	}
	*ret_body = str_from(line.p + 9, line.len - 9);
	return crc == crc32_of(ret_body->p, ret_body->len) ? NULL : "checksum mismatch";
}

/* ------------------------------------------------------ the load map */

static uint64_t key_of(const struct mapping *m)
{
	return (uint64_t)m->proto << 48 | (uint64_t)m->ext_port << 32 | m->remote_host.s_addr;
}

static uint32_t *lmap_slot(const struct leaserec_map *lm, uint64_t key)
{
	size_t i = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (lm->icap - 1);

	while (lm->idx[i] && key_of(&lm->v[lm->idx[i] - 1].m) != key)
		i = (i + 1) & (lm->icap - 1);
	return &lm->idx[i];
}

/* Room for one more key: the index at most half full. */
static int lmap_reserve(struct leaserec_map *lm)
{
	size_t i, ncap;
	uint32_t *old = lm->idx;
	struct leaserec_entry *nv;

	if (lm->n == lm->cap) {
		ncap = lm->cap ? lm->cap * 2 : 1024;
		if (ncap > UINT32_MAX / 2 || !(nv = realloc(lm->v, ncap * sizeof(*nv))))
			return -ENOMEM;
		lm->v = nv;
		lm->cap = ncap;
	}
	if ((lm->n + 1) * 2 <= lm->icap)
		return 0;
	ncap = lm->icap ? lm->icap * 2 : 2048;
	lm->idx = calloc(ncap, sizeof(*lm->idx));
	if (!lm->idx) {
		lm->idx = old;
		return -ENOMEM;
	}
	lm->icap = ncap;
	for (i = 0; i < lm->n; i++)
		*lmap_slot(lm, key_of(&lm->v[i].m)) = (uint32_t)(i + 1);
	free(old);
	return 0;
}

int leaserec_map_put(struct leaserec_map *lm, const struct leaserec *r)
{
	struct leaserec_entry *e;
	uint32_t *slot;
	char *desc;

	if (lmap_reserve(lm) < 0 || !(desc = strdup(r->desc)))
		return -ENOMEM;
	slot = lmap_slot(lm, key_of(&r->m));
	if (*slot) {
		e = &lm->v[*slot - 1];
		free(e->m.desc);
	} else {
		e = &lm->v[lm->n++];
		*slot = (uint32_t)lm->n;
	}
	e->m = r->m;
	e->m.desc = desc;
	e->expiry = r->expiry;
	e->live = true;
	return 0;
}

void leaserec_map_del(struct leaserec_map *lm, const struct mapping *key)
{
	uint32_t *slot;
	struct leaserec_entry *e;

	if (!lm->icap)
		return;
	slot = lmap_slot(lm, key_of(key));
	if (!*slot)
		return;
	e = &lm->v[*slot - 1];
	free(e->m.desc);
	e->m.desc = NULL;
	e->live = false;
}

void leaserec_map_free(struct leaserec_map *lm)
{
	size_t i;

	for (i = 0; i < lm->n; i++)
		free(lm->v[i].m.desc);
	free(lm->v);
	free(lm->idx);
	memset(lm, 0, sizeof(*lm));
}

/* The next line, without its '\n'; *ret_torn when it has none (the end
 * of the file came first). */
bool leaserec_next_line(struct leaserec_lines *it, struct str *ret, bool *ret_torn)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*ret_torn = !nl;
	*ret = str_from(it->p, (size_t)((nl ? nl : it->end) - it->p));
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	return true;
}

int leaserec_pins_put(struct leaserec_pins *lp, const struct leaserec *r)
{
	struct leaserec_pin *nv;
	uint32_t *slot;

	if (!lp->idx && !(lp->idx = calloc(65536, sizeof(*lp->idx))))
		return -ENOMEM;
	slot = &lp->idx[r->pin.uid];
	if (!*slot) {
		if (lp->n == lp->cap) {
			size_t cap = lp->cap ? lp->cap * 2 : 64;

			nv = realloc(lp->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			lp->v = nv;
			lp->cap = cap;
		}
		*slot = (uint32_t)++lp->n;
	}
	lp->v[*slot - 1].p = r->pin;
	lp->v[*slot - 1].expiry = r->expiry;
	lp->v[*slot - 1].live = true;
	return 0;
}

void leaserec_pins_del(struct leaserec_pins *lp, uint16_t uid)
{
	if (lp->idx && lp->idx[uid])
		lp->v[lp->idx[uid] - 1].live = false;
}

void leaserec_pins_free(struct leaserec_pins *lp)
{
	free(lp->v);
	free(lp->idx);
	memset(lp, 0, sizeof(*lp));
}

