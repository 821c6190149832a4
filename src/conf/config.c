/*
 * config.c - the configuration file parser and printer (config.h;
 * reference: docs/CONFIG.md).
 *
 * Grammar, one line at a time (at most IGDD_CONF_MAX_LINE bytes):
 *   line    = ws* [ key ws* "=" ws* value ws* ] [ "#" comment ]
 *   key     = [a-z0-9_]+
 *   value   = unquoted text (no '"', no '#')
 *           | '"' ( any byte but '"' and '\\' | "\\\"" | "\\\\" )* '"'
 * Every value is validated strictly by the key's handler. A problem on a
 * line is reported as "FILE:LINE: message"; problems with the file as a
 * whole (cannot read it, a required key is missing) use line 0.
 */
#include "conf/config.h"

#include "proto/ssdp.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX_FILE (1u << 20)       /* bytes: refuse anything larger */
#define CONFIG_FRIENDLY_NAME_DEFAULT "igdd Internet Gateway"
#define CONFIG_STATE_DIR_DEFAULT "/var/lib/igdd"
#define CONFIG_CONTROL_SOCKET_DEFAULT "/run/igdd/igdd.sock"
#define CONFIG_USER_DEFAULT "igdd"
#define CONFIG_MANUFACTURER_DEFAULT "igdd project"
#define CONFIG_MODEL_NAME_DEFAULT "igdd"

struct parse;
struct config_key;
typedef int (*config_set_fn)(struct parse *p, const char *key, const char *val);
typedef void (*config_print_fn)(const struct config_key *k, const struct config *c,
				const struct config *defaults, FILE *out);

/* config_key.flags */
#define CK_REPEAT   0x01u   /* may appear more than once (lan_interface, acl, ...) */
#define CK_RELOAD   0x02u   /* a reload applies it */
#define CK_QUOTE    0x04u   /* printed quoted always (text a human wrote) */
#define CK_IF_SET   0x08u   /* printed only when not the default */
#define CK_EMPTY    0x10u   /* "" is a value (off) */
#define CK_DESCRIBE 0x20u   /* in the description documents: a change bumps CONFIGID */

/*
 * One configuration key: everything igdd knows about it. The parser, the
 * defaults, `igdd -n`, a reload (which keys it applies, which it reports
 * as waiting for the next start, and why) and the documentation checks
 * (tests/unit/test_docs.c) all read this one entry.
 */
struct config_key {
	const char *name;
	config_set_fn set;          /* validate a value and store it */
	config_print_fn print;      /* write the key's lines back (igdd -n) */
	size_t off, size;           /* its storage in struct config: one span */
	unsigned lo, hi;            /* numbers: the range; device text: characters */
	unsigned flags;             /* CK_* */
	const char *def;            /* the default as a value of the file (NULL: none, or
	                             * derived from other keys) */
	const char *restart;        /* not reloadable: why it waits for the next start */
	const char *doc;            /* one line: what it sets */
};

/* The state of one parse: where we are, for messages. */
struct parse {
	const char *name;
	unsigned line;
	char *err;
	size_t errsz;
	struct config *c;
	const struct config_key *k;     /* the key of the line being read */
	bool defaults;              /* applying the table's defaults (config_defaults()) */
	unsigned first_line[96];    /* per key of config_keys[]: line first seen */
	unsigned acl_line[IGDD_CONF_MAX_ACL];   /* where each acl rule was written */
	unsigned pinhole_acl_line[IGDD_CONF_MAX_ACL];   /* and each pinhole_acl rule */
};

static void perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errsz == 0)
		return;
	n = snprintf(p->err, p->errsz, "%s:%u: ", p->name, p->line);
	if (n < 0 || (size_t)n >= p->errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A value quoted for a message (admin text, but it may hold anything). */
static const char *quote(char out[80], const char *val)
{
	return log_escape(out, 80, val, strlen(val));
}


/* ---- value parsers (pure; 0 or -EINVAL) ---- */

/* Decimal digits only (no sign, no white space), lo..hi. */
static int parse_uint(const char *s, size_t len, unsigned lo, unsigned hi, unsigned *ret)
{
	uint64_t v;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	if (str_to_u64(str_from(s, len), hi, &v) < 0 || v < lo)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* "N" or "N-M", 0..65535, N <= M. */
static int parse_port_range(const char *s, uint16_t *ret_lo, uint16_t *ret_hi)
{
	const char *dash = strchr(s, '-');
	size_t len = strlen(s);
	unsigned lo, hi;

	if (!dash) {
		if (parse_uint(s, len, 0, 65535, &lo) < 0)
			return -EINVAL;
		hi = lo;
	} else if (parse_uint(s, (size_t)(dash - s), 0, 65535, &lo) < 0 ||
		   parse_uint(dash + 1, len - (size_t)(dash - s) - 1, 0, 65535, &hi) < 0 ||
		   lo > hi) {
		return -EINVAL;
	}
	*ret_lo = (uint16_t)lo;
	*ret_hi = (uint16_t)hi;
	return 0;
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch <= ' ' || ch >= 0x7f)
			return false;
	}
	return true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 8-4-4-4-12 hex digits; written lower-cased into out[37]. */
static int parse_uuid(const char *s, char out[37])
{
	size_t i;

	if (strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		bool dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : hexval(s[i]) < 0)
			return -EINVAL;
	}
	for (i = 0; i < 36; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[36] = '\0';
	return 0;
}

/*
 * Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF)
 * without control characters (C0, DEL, C1). Returns the byte length or
 * -EINVAL.
 */
static int check_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (u[i]) {
		uint32_t cp;
		size_t n, k;

		if (u[i] < 0x80) {
			if (u[i] < 0x20 || u[i] == 0x7f)
				return -EINVAL;
			i++;
			continue;
		}
		if (u[i] >= 0xc2 && u[i] <= 0xdf) {
			n = 1; cp = u[i] & 0x1f;
		} else if (u[i] >= 0xe0 && u[i] <= 0xef) {
			n = 2; cp = u[i] & 0x0f;
		} else if (u[i] >= 0xf0 && u[i] <= 0xf4) {
			n = 3; cp = u[i] & 0x07;
		} else {
			return -EINVAL;
		}
		for (k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return -EINVAL;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return -EINVAL;
		i += n + 1;
	}
	return i > INT32_MAX ? -EINVAL : (int)i;
}

/* yes|no, also 1/0, true/false, on/off (any case). */
static int parse_bool(const char *s, bool *ret)
{
	struct str v = str_cstr(s);

	if (str_caseeq_cstr(v, "on")) {
		*ret = true;
		return 0;
	}
	if (str_caseeq_cstr(v, "off")) {
		*ret = false;
		return 0;
	}
	return str_to_bool(v, ret);
}

/* ---- key handlers ---- */

static int set_backend(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (strcmp(val, "sim") == 0) {
		p->c->backend = CONFIG_BACKEND_SIM;
	} else if (strcmp(val, "nft") == 0) {
		p->c->backend = CONFIG_BACKEND_NFT;
	} else {
		perr(p, "invalid %s '%s' (expected sim or nft)", key, quote(q, val));
		return -EINVAL;
	}
	return 0;
}

int config_lan_index(const struct config *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->nlans; i++)
		if (strlen(c->lan_interface[i]) == len && memcmp(c->lan_interface[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* lan_interface repeats (every LAN igdd serves, in order); wan_interface once. */
static int set_ifname(struct parse *p, const char *key, const char *val)
{
	struct config *c = p->c;
	char q[80];

	if (!valid_ifname(val)) {
		perr(p, "invalid %s '%s' (1..%d characters, no '/', white space or control characters)",
		     key, quote(q, val), IF_NAMESIZE - 1);
		return -EINVAL;
	}
	if (strcmp(key, "wan_interface") == 0) {
		strlcpy_checked(c->wan_interface, val, IF_NAMESIZE);
		return 0;
	}
	if (config_lan_index(c, val, strlen(val)) >= 0) {
		perr(p, "%s '%s' given twice", key, quote(q, val));
		return -EINVAL;
	}
	if (c->nlans >= IGDD_CONF_MAX_LANS) {
		perr(p, "too many %s lines (at most %d)", key, IGDD_CONF_MAX_LANS);
		return -EINVAL;
	}
	strlcpy_checked(c->lan_interface[c->nlans++], val, IF_NAMESIZE);
	return 0;
}

static int set_external_ip(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (inet_pton(AF_INET, val, &p->c->external_ip) != 1) {
		perr(p, "invalid %s '%s' (expected an IPv4 address)", key, quote(q, val));
		return -EINVAL;
	}
	p->c->have_external_ip = true;
	return 0;
}

static int set_wan_public(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (strcmp(val, "auto") == 0) {
		p->c->wan_public = CONFIG_WAN_PUBLIC_AUTO;
	} else if (strcmp(val, "yes") == 0) {
		p->c->wan_public = CONFIG_WAN_PUBLIC_YES;
	} else if (strcmp(val, "no") == 0) {
		p->c->wan_public = CONFIG_WAN_PUBLIC_NO;
	} else {
		perr(p, "invalid %s '%s' (expected auto, yes or no)", key, quote(q, val));
		return -EINVAL;
	}
	return 0;
}

static int set_unreachable_wan(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (strcmp(val, "keep") == 0) {
		p->c->unreachable_wan = CONFIG_UNREACHABLE_KEEP;
	} else if (strcmp(val, "refuse") == 0) {
		p->c->unreachable_wan = CONFIG_UNREACHABLE_REFUSE;
	} else {
		perr(p, "invalid %s '%s' (expected keep or refuse)", key, quote(q, val));
		return -EINVAL;
	}
	return 0;
}

/* stun_server = A.B.C.D[:PORT]: an IP literal (no DNS: docs/CONFIG.md). */
static int set_stun_server(struct parse *p, const char *key, const char *val)
{
	char buf[INET_ADDRSTRLEN + 8], q[80];
	struct config *c = p->c;
	struct config_hostport *hp;
	char *colon;
	unsigned port = 3478;

	if (c->nstun_server >= IGDD_CONF_MAX_STUN_SERVERS) {
		perr(p, "too many %s lines (at most %d)", key, IGDD_CONF_MAX_STUN_SERVERS);
		return -EINVAL;
	}
	hp = &c->stun_server[c->nstun_server];
	if (strlcpy_checked(buf, val, sizeof(buf)) < 0)
		goto bad;
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_uint(colon + 1, strlen(colon + 1), 1, 65535, &port) < 0)
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &hp->addr) != 1 || hp->addr.s_addr == 0)
		goto bad;
	hp->port = (uint16_t)port;
	c->nstun_server++;
	return 0;
bad:
	perr(p, "invalid %s '%s' (expected an IPv4 address A.B.C.D, optionally :PORT 1..65535)",
	     key, quote(q, val));
	return -EINVAL;
}

static int set_uuid(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (parse_uuid(val, p->c->uuid) < 0) {
		perr(p, "invalid %s '%s' (expected 8-4-4-4-12 hexadecimal digits)", key, quote(q, val));
		return -EINVAL;
	}
	p->c->have_uuid = true;
	return 0;
}

static int set_friendly_name(struct parse *p, const char *key, const char *val)
{
	int n = check_text(val);

	if (n <= 0 || n >= IGDD_FRIENDLY_NAME_MAX) {
		perr(p, "invalid %s (1..%d bytes of UTF-8 text, no control characters)",
		     key, IGDD_FRIENDLY_NAME_MAX - 1);
		return -EINVAL;
	}
	strlcpy_checked(p->c->friendly_name, val, sizeof(p->c->friendly_name));
	return 0;
}

/*
 * Text the device description carries (UDA 1.1 2.3: manufacturer and
 * serialNumber "should be < 64 characters", modelName and modelNumber
 * "< 32"): well-formed UTF-8 without control characters, 1..max_chars
 * characters. The XML writer escapes it.
 */
static int set_device_text(struct parse *p, const char *key, const char *val)
{
	size_t chars = 0;
	int n = check_text(val);
	const char *s;

	/* Characters: the bytes that do not continue a UTF-8 sequence. */
	for (s = val; n > 0 && *s; s++)
		chars += ((unsigned char)*s & 0xc0) != 0x80;
	if (n <= 0 || chars > p->k->hi || (size_t)n >= p->k->size) {
		perr(p, "invalid %s (1..%u characters of UTF-8 text, no control characters)", key,
		     p->k->hi);
		return -EINVAL;
	}
	strlcpy_checked((char *)p->c + p->k->off, val, p->k->size);
	return 0;
}

/*
 * manufacturer_url, model_url, presentation_url: an absolute http:// or
 * https:// URL of printable ASCII (no spaces), at most 255 bytes;
 * presentation_url may also be a /PATH, served on port 80 of the LAN
 * address (the router's own web interface).
 */
static int set_url(struct parse *p, const char *key, const char *val)
{
	char *dst = (char *)p->c + p->k->off;
	bool path_ok = strcmp(key, "presentation_url") == 0;
	size_t len = strlen(val), i, scheme;
	char q[80];

	scheme = strncmp(val, "http://", 7) == 0 ? 7 : strncmp(val, "https://", 8) == 0 ? 8 :
		 (path_ok && val[0] == '/') ? 1 : 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)val[i] < 0x21 || (unsigned char)val[i] > 0x7e)
			break;
	if (scheme == 0 || (scheme > 1 && len == scheme) || i < len || len >= CONFIG_URL_MAX) {
		perr(p, "invalid %s '%s' (expected an http:// or https:// URL%s of printable "
		     "ASCII without spaces, at most %d bytes)", key, quote(q, val),
		     path_ok ? " or a /PATH on the LAN address" : "", CONFIG_URL_MAX - 1);
		return -EINVAL;
	}
	memcpy(dst, val, len + 1);
	return 0;
}

/* wan_access_type: the allowed values of WANAccessType (WANCommonIFC:1 2.2.1). */
static int set_access_type(struct parse *p, const char *key, const char *val)
{
	static const char *const types[] = { "DSL", "POTS", "Cable", "Ethernet" };
	size_t i;
	char q[80];

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(val, types[i]) == 0) {
			strlcpy_checked(p->c->wan_access_type, val, sizeof(p->c->wan_access_type));
			return 0;
		}
	}
	perr(p, "invalid %s '%s' (expected DSL, POTS, Cable or Ethernet)", key, quote(q, val));
	return -EINVAL;
}

/* Bits per second: N, or N followed by k, M or G (powers of 1000), 1..2^32-1. */
static int set_bitrate(struct parse *p, const char *key, const char *val)
{
	uint32_t *dst = (uint32_t *)(void *)((char *)p->c + p->k->off);
	size_t len = strlen(val);
	uint64_t mult = 1;
	unsigned v;
	char q[80];

	if (len > 1 && strchr("kMG", val[len - 1])) {
		mult = val[len - 1] == 'k' ? 1000u : val[len - 1] == 'M' ? 1000000u : 1000000000u;
		len--;
	}
	if (parse_uint(val, len, 1, UINT32_MAX, &v) < 0 || (uint64_t)v * mult > UINT32_MAX) {
		perr(p, "invalid %s '%s' (expected bits per second, 1..4294967295, or N with k, M "
		     "or G)", key, quote(q, val));
		return -EINVAL;
	}
	*dst = (uint32_t)((uint64_t)v * mult);
	return 0;
}

/*
 * metrics_listen = ADDR:PORT, or "" (off): a unicast IPv4 address (not
 * 0.0.0.0, which would take the WAN too; igdd checks at start that it is
 * a loopback address or an address of one of the LANs) and a port 1..65535.
 */
static int set_metrics_listen(struct parse *p, const char *key, const char *val)
{
	char addr[INET_ADDRSTRLEN], q[80];
	const char *colon = strrchr(val, ':');
	struct in_addr a;
	unsigned port;
	uint32_t h;

	if (!val[0]) {
		p->c->have_metrics = false;
		return 0;
	}
	if (!colon || (size_t)(colon - val) >= sizeof(addr))
		goto bad;
	memcpy(addr, val, (size_t)(colon - val));
	addr[colon - val] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1 ||
	    parse_uint(colon + 1, strlen(colon + 1), 1, 65535, &port) < 0)
		goto bad;
	h = ntohl(a.s_addr);
	if (h == 0 || h == UINT32_MAX || (h >> 28) == 14) {
		perr(p, "invalid %s '%s' (0.0.0.0, broadcast and multicast are not allowed: a "
		     "loopback address or the LAN address)", key, quote(q, val));
		return -EINVAL;
	}
	p->c->have_metrics = true;
	p->c->metrics_addr = a;
	p->c->metrics_port = (uint16_t)port;
	return 0;
bad:
	perr(p, "invalid %s '%s' (expected A.B.C.D:PORT, or \"\" for off)", key, quote(q, val));
	return -EINVAL;
}

static const char *const uptime_names[] = { "connection", "igdd", "system" };

static int set_uptime_source(struct parse *p, const char *key, const char *val)
{
	size_t i;
	char q[80];

	for (i = 0; i < sizeof(uptime_names) / sizeof(uptime_names[0]); i++) {
		if (strcmp(val, uptime_names[i]) == 0) {
			p->c->uptime_source = (enum config_uptime)i;
			return 0;
		}
	}
	perr(p, "invalid %s '%s' (expected connection, igdd or system)", key, quote(q, val));
	return -EINVAL;
}

/*
 * server_os: the first token of SERVER (UDA 1.1 1.2.2 "OS/version"), a
 * product token with an optional "/version" (RFC 9110 tchar), 1..64
 * bytes.
 */
static int set_server_os(struct parse *p, const char *key, const char *val)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	size_t len = strlen(val), i, slash = 0;
	char q[80];

	for (i = 0; i < len; i++) {
		char ch = val[i];

		if (ch == '/' && i > 0 && i + 1 < len && slash++ == 0)
			continue;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch && strchr(tchar, ch))))
			break;
	}
	if (len == 0 || len >= CONFIG_SERVER_OS_MAX || i < len) {
		perr(p, "invalid %s '%s' (expected NAME or NAME/VERSION: 1..%d letters, digits or "
		     "%s)", key, quote(q, val), CONFIG_SERVER_OS_MAX - 1, tchar);
		return -EINVAL;
	}
	strlcpy_checked(p->c->server_os, val, sizeof(p->c->server_os));
	return 0;
}

/* Bytes print_value() needs for val quoted: quotes, and \ before " and \. */
static size_t quoted_len(const char *val)
{
	size_t n = 2;

	for (; *val; val++)
		n += (*val == '"' || *val == '\\') ? 2 : 1;
	return n;
}

static int set_state_dir(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (val[0] != '/' || check_text(val) < 0 ||
	    strlcpy_checked(p->c->state_dir, val, sizeof(p->c->state_dir)) < 0) {
		perr(p, "invalid %s '%s' (expected an absolute path)", key, quote(q, val));
		return -EINVAL;
	}
	/* `igdd -n` must print it back as a line this parser reads. */
	if (strlen(key) + 3 + quoted_len(val) > IGDD_CONF_MAX_LINE) {
		perr(p, "%s too long to be printed back on one line", key);
		return -EINVAL;
	}
	return 0;
}

/* The control socket: an absolute path that fits sun_path, or "" (off). */
static int set_control_socket(struct parse *p, const char *key, const char *val)
{
	char q[80];

	if (val[0] && (val[0] != '/' || val[strlen(val) - 1] == '/' || check_text(val) < 0 ||
		       strlcpy_checked(p->c->control_socket, val, sizeof(p->c->control_socket)) < 0)) {
		perr(p, "invalid %s '%s' (expected an absolute path of at most %d bytes, or \"\")",
		     key, quote(q, val), CONFIG_CONTROL_SOCKET_MAX - 1);
		return -EINVAL;
	}
	if (!val[0])
		p->c->control_socket[0] = '\0';
	return 0;
}

/* A user name as useradd takes it: [a-z_][a-z0-9_-]*, at most 32 bytes. */
static int set_user(struct parse *p, const char *key, const char *val)
{
	size_t n = strlen(val), i;
	char q[80];

	for (i = 0; i < n && n < CONFIG_USER_MAX; i++) {
		char ch = val[i];

		if (!((ch >= 'a' && ch <= 'z') || ch == '_' ||
		      (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-'))))
			break;
	}
	if (n == 0 || n >= CONFIG_USER_MAX || i < n) {
		perr(p, "invalid %s '%s' (expected a user name: a-z, 0-9, '_', '-', at most %d bytes)",
		     key, quote(q, val), CONFIG_USER_MAX - 1);
		return -EINVAL;
	}
	strlcpy_checked(p->c->user, val, sizeof(p->c->user));
	p->c->have_user = !p->defaults;      /* the default: nobody when igdd does not exist */
	return 0;
}

/*
 * nft_table, nft_table6: an nft identifier igdd can put in a command
 * unquoted: a letter, then letters, digits and '_', 1..31 bytes.
 */
static int set_nft_table(struct parse *p, const char *key, const char *val)
{
	size_t n = strlen(val), i;
	char q[80];

	for (i = 0; i < n && n < p->k->size; i++) {
		char ch = val[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (i > 0 && ((ch >= '0' && ch <= '9') || ch == '_'))))
			break;
	}
	if (n == 0 || n >= p->k->size || i < n) {
		perr(p, "invalid %s '%s' (expected an nft table name: a letter, then letters, "
		     "digits or '_', at most %zu bytes)", key, quote(q, val), p->k->size - 1);
		return -EINVAL;
	}
	memcpy((char *)p->c + p->k->off, val, n + 1);
	return 0;
}

static int set_bool(struct parse *p, const char *key, const char *val)
{
	bool *slot = (bool *)(void *)((char *)p->c + p->k->off);
	char q[80];

	if (parse_bool(val, slot) < 0) {
		perr(p, "invalid %s '%s' (expected yes or no)", key, quote(q, val));
		return -EINVAL;
	}
	return 0;
}

/* A number in the key's range, stored as its size says (uint16_t or unsigned). */
static int set_uint(struct parse *p, const char *key, const char *val)
{
	void *slot = (char *)p->c + p->k->off;
	unsigned v;
	char q[80];

	if (parse_uint(val, strlen(val), p->k->lo, p->k->hi, &v) < 0) {
		perr(p, "invalid %s '%s' (expected an integer %u..%u)", key, quote(q, val), p->k->lo,
		     p->k->hi);
		return -EINVAL;
	}
	if (p->k->size == sizeof(uint16_t))
		*(uint16_t *)slot = (uint16_t)v;
	else
		*(unsigned *)slot = v;
	return 0;
}

/* Split val on spaces and tabs into at most max fields (copied into buf). */
static size_t split_fields(const char *val, char *buf, size_t bufsz, char **fields, size_t max)
{
	size_t n = 0;
	char *s;

	if (strlcpy_checked(buf, val, bufsz) < 0)
		return max + 1;
	s = buf;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		if (n == max)
			return max + 1;
		fields[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

/* "ADDR[/PREFIX]", address masked to its prefix. */
static int parse_prefix(char *s, struct in_addr *ret_addr, unsigned *ret_plen)
{
	char *slash = strchr(s, '/');
	struct in_addr a;
	unsigned plen = 32;

	if (slash) {
		*slash = '\0';
		if (parse_uint(slash + 1, strlen(slash + 1), 0, 32, &plen) < 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	if (plen < 32)
		a.s_addr &= htonl(plen ? ~((UINT32_C(1) << (32 - plen)) - 1) : 0);
	*ret_addr = a;
	*ret_plen = plen;
	return 0;
}

static void format_ports(char *out, size_t outsz, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		snprintf(out, outsz, "%u", (unsigned)lo);
	else
		snprintf(out, outsz, "%u-%u", (unsigned)lo, (unsigned)hi);
}

/*
 * acl = allow|deny EXT INTADDR[/PREFIX] INT [on LAN_INTERFACE], stored
 * normalised. The LAN is checked against the lan_interface lines once
 * the whole file is read (check_acl_lans()): they may come later.
 */
static int set_acl(struct parse *p, const char *key, const char *val)
{
	char buf[IGDD_CONF_MAX_LINE + 1], ext[16], in[16], addr[INET_ADDRSTRLEN], q[80];
	char *f[6];
	uint16_t elo, ehi, ilo, ihi;
	struct in_addr a;
	unsigned plen;
	const char *why = NULL;
	size_t n;

	if (p->c->nacl >= IGDD_CONF_MAX_ACL) {
		perr(p, "too many %s rules (at most %d)", key, IGDD_CONF_MAX_ACL);
		return -EINVAL;
	}
	n = split_fields(val, buf, sizeof(buf), f, 6);
	if (n != 4 && n != 6)
		why = "expected 'allow|deny EXT_PORTS INT_ADDR[/PREFIX] INT_PORTS [on LAN_INTERFACE]'";
	else if (strcmp(f[0], "allow") != 0 && strcmp(f[0], "deny") != 0)
		why = "expected allow or deny";
	else if (parse_port_range(f[1], &elo, &ehi) < 0)
		why = "bad external port range (N or N-M, 0..65535)";
	else if (parse_prefix(f[2], &a, &plen) < 0)
		why = "bad internal address (A.B.C.D or A.B.C.D/0..32)";
	else if (parse_port_range(f[3], &ilo, &ihi) < 0)
		why = "bad internal port range (N or N-M, 0..65535)";
	else if (n == 6 && strcmp(f[4], "on") != 0)
		why = "expected 'on LAN_INTERFACE' after the internal ports";
	else if (n == 6 && !valid_ifname(f[5]))
		why = "bad interface name after 'on'";
	if (why) {
		perr(p, "invalid %s '%s': %s", key, quote(q, val), why);
		return -EINVAL;
	}
	format_ports(ext, sizeof(ext), elo, ehi);
	format_ports(in, sizeof(in), ilo, ihi);
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	p->acl_line[p->c->nacl] = p->line;
	snprintf(p->c->acl[p->c->nacl++], IGDD_CONF_MAX_ACL_LEN, "%s %s %s/%u %s%s%s",
		 f[0], ext, addr, plen, in, n == 6 ? " on " : "", n == 6 ? f[5] : "");
	return 0;
}

/* Every LAN an acl rule names is a lan_interface (reported at its line). */
static int check_acl_lans(struct parse *p)
{
	const struct config *c = p->c;
	char q[80];
	size_t i;

	for (i = 0; i < c->nacl; i++) {
		const char *on = strstr(c->acl[i], " on ");

		if (!on || config_lan_index(c, on + 4, strlen(on + 4)) >= 0)
			continue;
		p->line = p->acl_line[i];
		perr(p, "invalid acl '%s': '%s' is not a lan_interface", quote(q, c->acl[i]), on + 4);
		return -EINVAL;
	}
	return 0;
}

/*
 * pinhole_acl = allow|deny ADDR6[/PREFIX] PORTS [on LAN_INTERFACE]: who
 * may be the internal client of an IPv6 pinhole (docs/POLICY.md), stored
 * normalised (the address masked to its prefix, as inet_ntop writes it).
 */
static int set_pinhole_acl(struct parse *p, const char *key, const char *val)
{
	char buf[IGDD_CONF_MAX_LINE + 1], ports[16], addr[INET6_ADDRSTRLEN], q[80];
	char *f[5], *slash;
	struct in6_addr a;
	unsigned plen = 128, i;
	uint16_t lo, hi;
	const char *why = NULL;
	size_t n;

	if (p->c->npinhole_acl >= IGDD_CONF_MAX_ACL) {
		perr(p, "too many %s rules (at most %d)", key, IGDD_CONF_MAX_ACL);
		return -EINVAL;
	}
	n = split_fields(val, buf, sizeof(buf), f, 5);
	if (n != 3 && n != 5) {
		why = "expected 'allow|deny ADDR6[/PREFIX] PORTS [on LAN_INTERFACE]'";
	} else if (strcmp(f[0], "allow") != 0 && strcmp(f[0], "deny") != 0) {
		why = "expected allow or deny";
	} else {
		slash = strchr(f[1], '/');
		if (slash) {
			*slash = '\0';
			if (parse_uint(slash + 1, strlen(slash + 1), 0, 128, &plen) < 0)
				why = "bad prefix length (0..128)";
		}
		if (!why && inet_pton(AF_INET6, f[1], &a) != 1)
			why = "bad internal address (an IPv6 address, optionally /0..128)";
		else if (!why && parse_port_range(f[2], &lo, &hi) < 0)
			why = "bad internal port range (N or N-M, 0..65535)";
		else if (!why && n == 5 && strcmp(f[3], "on") != 0)
			why = "expected 'on LAN_INTERFACE' after the ports";
		else if (!why && n == 5 && !valid_ifname(f[4]))
			why = "bad interface name after 'on'";
	}
	if (why) {
		perr(p, "invalid %s '%s': %s", key, quote(q, val), why);
		return -EINVAL;
	}
	for (i = plen; i < 128; i++)
		a.s6_addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	inet_ntop(AF_INET6, &a, addr, sizeof(addr));
	format_ports(ports, sizeof(ports), lo, hi);
	p->pinhole_acl_line[p->c->npinhole_acl] = p->line;
	snprintf(p->c->pinhole_acl[p->c->npinhole_acl++], IGDD_CONF_MAX_ACL_LEN, "%s %s/%u %s%s%s",
		 f[0], addr, plen, ports, n == 5 ? " on " : "", n == 5 ? f[4] : "");
	return 0;
}

/* Every LAN a pinhole_acl rule names is a lan_interface. */
static int check_pinhole_acl_lans(struct parse *p)
{
	const struct config *c = p->c;
	char q[80];
	size_t i;

	for (i = 0; i < c->npinhole_acl; i++) {
		const char *on = strstr(c->pinhole_acl[i], " on ");

		if (!on || config_lan_index(c, on + 4, strlen(on + 4)) >= 0)
			continue;
		p->line = p->pinhole_acl_line[i];
		perr(p, "invalid pinhole_acl '%s': '%s' is not a lan_interface",
		     quote(q, c->pinhole_acl[i]), on + 4);
		return -EINVAL;
	}
	return 0;
}

/*
 * connection_control = all | ADDR[/PREFIX]: who may change the WAN
 * connection. "all" and addresses do not mix (one would hide the other).
 */
static int set_connection_control(struct parse *p, const char *key, const char *val)
{
	char buf[INET_ADDRSTRLEN + 8], q[80];
	struct config *c = p->c;
	struct config_prefix *cp;

	if (strcmp(val, "all") == 0) {
		if (c->nconnection_control > 0 || c->connection_control_all) {
			perr(p, "%s = all cannot be combined with other %s lines", key, key);
			return -EINVAL;
		}
		c->connection_control_all = true;
		return 0;
	}
	if (c->connection_control_all) {
		perr(p, "%s = all cannot be combined with other %s lines", key, key);
		return -EINVAL;
	}
	if (c->nconnection_control >= IGDD_CONF_MAX_CONN_CONTROL) {
		perr(p, "too many %s lines (at most %d)", key, IGDD_CONF_MAX_CONN_CONTROL);
		return -EINVAL;
	}
	cp = &c->connection_control[c->nconnection_control];
	if (strlcpy_checked(buf, val, sizeof(buf)) < 0 || parse_prefix(buf, &cp->addr, &cp->plen) < 0) {
		perr(p, "invalid %s '%s' (expected all or A.B.C.D[/0..32])", key, quote(q, val));
		return -EINVAL;
	}
	c->nconnection_control++;
	return 0;
}

/* sim_static_forward = TCP|UDP PORT[-PORT] (ports 1..65535). */
static int set_sim_forward(struct parse *p, const char *key, const char *val)
{
	char buf[IGDD_CONF_MAX_LINE + 1], q[80], *f[3];
	struct config *c = p->c;
	struct config_ports fw;
	size_t n = split_fields(val, buf, sizeof(buf), f, 3);

	memset(&fw, 0, sizeof(fw));
	if (c->nsim_static_forward >= CONFIG_SIM_FORWARDS_MAX) {
		perr(p, "too many %s lines (at most %d)", key, CONFIG_SIM_FORWARDS_MAX);
		return -EINVAL;
	}
	if (n == 2 && strcasecmp(f[0], "TCP") == 0)
		fw.proto = IPPROTO_TCP;
	else if (n == 2 && strcasecmp(f[0], "UDP") == 0)
		fw.proto = IPPROTO_UDP;
	if (!fw.proto || parse_port_range(f[1], &fw.lo, &fw.hi) < 0 || fw.lo == 0) {
		perr(p, "invalid %s '%s' (expected TCP|UDP PORT[-PORT], ports 1..65535)", key,
		     quote(q, val));
		return -EINVAL;
	}
	c->sim_static_forward[c->nsim_static_forward++] = fw;
	return 0;
}

/*
 * wan_up_command / wan_down_command = /PATH [ARG...]: words split on
 * spaces and tabs (no shell, no quoting), printable ASCII without '"',
 * '\\' or '#', the program an absolute path; stored with single spaces.
 */
static int set_wan_command(struct parse *p, const char *key, const char *val)
{
	char buf[IGDD_CONF_MAX_LINE + 1], q[80];
	char *dst = (char *)p->c + p->k->off;
	char *f[CONFIG_WAN_COMMAND_ARGS];
	size_t n, i, len = 0;
	const char *why = NULL;

	for (i = 0; val[i] && !why; i++) {
		unsigned char ch = (unsigned char)val[i];

		if (ch != ' ' && ch != '\t' && (ch < 0x21 || ch > 0x7e || strchr("\"\\#", ch)))
			why = "only printable ASCII, no '\"', '\\' or '#'";
	}
	n = why ? 0 : split_fields(val, buf, sizeof(buf), f, CONFIG_WAN_COMMAND_ARGS);
	if (!why && n > CONFIG_WAN_COMMAND_ARGS)
		why = "too many words (at most 16)";
	else if (!why && n == 0)
		why = "no program";
	else if (!why && f[0][0] != '/')
		why = "the program must be an absolute path";
	for (i = 0; !why && i < n; i++) {
		size_t w = strlen(f[i]);

		if (len + w + (i > 0) >= CONFIG_WAN_COMMAND_MAX) {
			why = "too long (at most 255 bytes)";
			break;
		}
		if (i > 0)
			dst[len++] = ' ';
		memcpy(dst + len, f[i], w);
		len += w;
	}
	if (why) {
		dst[0] = '\0';
		perr(p, "invalid %s '%s': %s", key, quote(q, val), why);
		return -EINVAL;
	}
	dst[len] = '\0';
	return 0;
}

/* ---- printers (igdd -n) ---- */

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* A value as written back: bare when it reads back the same, else quoted. */
static void print_value(FILE *out, const char *key, const char *val, bool always_quote)
{
	size_t n = strlen(val), i;
	bool quote_it = always_quote || n == 0 || is_ws(val[0]) || is_ws(val[n - 1]) ||
			strpbrk(val, "\"#\\") != NULL;

	fprintf(out, "%s = ", key);
	if (!quote_it) {
		fprintf(out, "%s\n", val);
		return;
	}
	fputc('"', out);
	for (i = 0; i < n; i++) {
		if (val[i] == '"' || val[i] == '\\')
			fputc('\\', out);
		fputc(val[i], out);
	}
	fputs("\"\n", out);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const void *field(const struct config_key *k, const struct config *c)
{
	return (const char *)c + k->off;
}

/* CK_IF_SET: is the key's value the default's? */
static bool at_default(const struct config_key *k, const struct config *c, const struct config *d)
{
	return (k->flags & CK_IF_SET) && memcmp(field(k, c), field(k, d), k->size) == 0;
}

static void print_bool(const struct config_key *k, const struct config *c,
		       const struct config *d, FILE *out)
{
	if (!at_default(k, c, d))
		fprintf(out, "%s = %s\n", k->name, yes_no(*(const bool *)field(k, c)));
}

static void print_uint(const struct config_key *k, const struct config *c,
		       const struct config *d, FILE *out)
{
	unsigned v = k->size == sizeof(uint16_t) ? *(const uint16_t *)field(k, c) :
		     *(const unsigned *)field(k, c);

	if (!at_default(k, c, d))
		fprintf(out, "%s = %u\n", k->name, v);
}

/* Text: bare when it reads back the same, else quoted (CK_QUOTE: always). */
static void print_text(const struct config_key *k, const struct config *c,
		       const struct config *d, FILE *out)
{
	const char *v = field(k, c);

	if ((k->flags & CK_IF_SET) && strcmp(v, (const char *)field(k, d)) == 0)
		return;
	print_value(out, k->name, v, k->flags & CK_QUOTE);
}

/* A repeatable text key: a count (size_t) then k->hi entries of equal size. */
static void print_list(const struct config_key *k, const struct config *c,
		       const struct config *d, FILE *out)
{
	size_t n = *(const size_t *)field(k, c), each = (k->size - sizeof(size_t)) / k->hi, i;
	const char *first = (const char *)field(k, c) + sizeof(size_t);

	(void)d;
	for (i = 0; i < n; i++)
		print_value(out, k->name, first + i * each, false);
}

static void print_backend(const struct config_key *k, const struct config *c,
			  const struct config *d, FILE *out)
{
	(void)d;
	fprintf(out, "%s = %s\n", k->name, c->backend == CONFIG_BACKEND_NFT ? "nft" : "sim");
}

static void print_external_ip(const struct config_key *k, const struct config *c,
			      const struct config *d, FILE *out)
{
	char addr[INET_ADDRSTRLEN];

	(void)d;
	if (c->have_external_ip && inet_ntop(AF_INET, &c->external_ip, addr, sizeof(addr)))
		fprintf(out, "%s = %s\n", k->name, addr);
}

static void print_uuid(const struct config_key *k, const struct config *c,
		       const struct config *d, FILE *out)
{
	(void)d;
	if (c->have_uuid)
		fprintf(out, "%s = %s\n", k->name, c->uuid);
}

static void print_uptime_source(const struct config_key *k, const struct config *c,
				const struct config *d, FILE *out)
{
	(void)d;
	fprintf(out, "%s = %s\n", k->name, uptime_names[c->uptime_source]);
}

static void print_metrics_listen(const struct config_key *k, const struct config *c,
				 const struct config *d, FILE *out)
{
	char addr[INET_ADDRSTRLEN];

	(void)d;
	if (c->have_metrics && inet_ntop(AF_INET, &c->metrics_addr, addr, sizeof(addr)))
		fprintf(out, "%s = %s:%u\n", k->name, addr, (unsigned)c->metrics_port);
}

static void print_connection_control(const struct config_key *k, const struct config *c,
				     const struct config *d, FILE *out)
{
	char addr[INET_ADDRSTRLEN];
	size_t i;

	(void)d;
	if (c->connection_control_all)
		fprintf(out, "%s = all\n", k->name);
	for (i = 0; i < c->nconnection_control; i++) {
		if (inet_ntop(AF_INET, &c->connection_control[i].addr, addr, sizeof(addr)))
			fprintf(out, "%s = %s/%u\n", k->name, addr, c->connection_control[i].plen);
	}
}

static void print_sim_forward(const struct config_key *k, const struct config *c,
			      const struct config *d, FILE *out)
{
	size_t i;

	(void)d;
	for (i = 0; i < c->nsim_static_forward; i++) {
		const struct config_ports *fw = &c->sim_static_forward[i];

		fprintf(out, "%s = %s %u", k->name, fw->proto == IPPROTO_UDP ? "UDP" : "TCP",
			(unsigned)fw->lo);
		if (fw->hi != fw->lo)
			fprintf(out, "-%u", (unsigned)fw->hi);
		fputc('\n', out);
	}
}

static void print_unreachable_wan(const struct config_key *k, const struct config *c,
				  const struct config *d, FILE *out)
{
	(void)d;
	fprintf(out, "%s = %s\n", k->name,
		c->unreachable_wan == CONFIG_UNREACHABLE_REFUSE ? "refuse" : "keep");
}

static void print_wan_public(const struct config_key *k, const struct config *c,
			     const struct config *d, FILE *out)
{
	(void)d;
	fprintf(out, "%s = %s\n", k->name, c->wan_public == CONFIG_WAN_PUBLIC_YES ? "yes" :
		c->wan_public == CONFIG_WAN_PUBLIC_NO ? "no" : "auto");
}

static void print_stun_server(const struct config_key *k, const struct config *c,
			      const struct config *d, FILE *out)
{
	char addr[INET_ADDRSTRLEN];
	size_t i;

	(void)d;
	for (i = 0; i < c->nstun_server; i++) {
		if (inet_ntop(AF_INET, &c->stun_server[i].addr, addr, sizeof(addr)))
			fprintf(out, "%s = %s:%u\n", k->name, addr, (unsigned)c->stun_server[i].port);
	}
}

/* ---- the key table ---- */

#define STR_(x) #x
#define STR(x) STR_(x)
/* The key's storage: one field, or the fields first..last (a count or a
 * have_ flag and the value it qualifies). */
#define AT(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define SPAN(first, last) .off = offsetof(struct config, first), \
	.size = offsetof(struct config, last) + sizeof(((struct config *)0)->last) - \
		offsetof(struct config, first)
#define BOOL(f) .set = set_bool, .print = print_bool, AT(f)
#define UINT(f, l, h) .set = set_uint, .print = print_uint, AT(f), .lo = (l), .hi = (h)
#define TEXT(fn, f) .set = (fn), .print = print_text, AT(f)
#define LIST(fn, n, f, max) .set = (fn), .print = print_list, SPAN(n, f), .hi = (max), \
	.flags = CK_REPEAT

/* Why the keys of the WAN connection and the sim backend wait. */
#define WANCONN_AT_START "the WAN connection's state machine takes it at start"
#define SIM_AT_START "the sim backend takes it at start"
#define HELPER_AT_START "the privileged helper takes it at start"

/*
 * Every key, in the order `igdd -n` prints them (docs/CONFIG.md's). The
 * documentation tests read this table (config_key_name(),
 * config_key_reloadable()): a key added here without its entry in
 * docs/CONFIG.md and man/igdd.conf.5 fails them.
 */
static const struct config_key config_keys[] = {
	{ "backend", set_backend, print_backend, AT(backend), .def = "sim",
	  .restart = "the backend is chosen at start", .doc = "sim or nft" },
	{ "lan_interface", LIST(set_ifname, nlans, lan_interface, IGDD_CONF_MAX_LANS),
	  .restart = "the LANs' sockets and the helper's guard are set up at start",
	  .doc = "an interface igdd serves (required; repeatable)" },
	{ "wan_interface", TEXT(set_ifname, wan_interface), .flags = CK_IF_SET,
	  .restart = "the nft table and the WAN's watch are built on it at start",
	  .doc = "the WAN interface (default: the IPv4 default route's)" },
	{ "external_ip", .set = set_external_ip, .print = print_external_ip,
	  SPAN(have_external_ip, external_ip), .restart = "the backend takes it at start",
	  .doc = "the sim backend's WAN address" },
	{ "http_port", UINT(http_port, 0, 65535), .def = "0",
	  .restart = "HTTP's sockets and the announced LOCATION are bound to it",
	  .doc = "the HTTP port (0: any free port)" },
	{ "uuid", .set = set_uuid, .print = print_uuid, SPAN(have_uuid, uuid),
	  .restart = "the device's UDN stays the same while it runs (UDA 1.1 1.1.4)",
	  .doc = "the root device's UUID (default: generated once, kept in state_dir)" },
	{ "friendly_name", TEXT(set_friendly_name, friendly_name), .flags = CK_QUOTE | CK_RELOAD |
	  CK_DESCRIBE, .def = CONFIG_FRIENDLY_NAME_DEFAULT, .doc = "the device's friendlyName" },
	{ "server_os", TEXT(set_server_os, server_os), .def = SSDP_SERVER_OS_DEFAULT,
	  .restart = "SERVER is built once, when SSDP and HTTP start",
	  .doc = "the OS token of SERVER" },
	{ "notify_interval", UINT(notify_interval, 30, 86400), .def = "900", .flags = CK_RELOAD,
	  .doc = "seconds between SSDP announcements" },
	{ "manufacturer", .set = set_device_text, .print = print_text, AT(manufacturer), .hi = 63,
	  .flags = CK_QUOTE | CK_RELOAD | CK_DESCRIBE, .def = CONFIG_MANUFACTURER_DEFAULT,
	  .doc = "the device's manufacturer" },
	{ "manufacturer_url", TEXT(set_url, manufacturer_url),
	  .flags = CK_IF_SET | CK_RELOAD | CK_DESCRIBE, .doc = "the device's manufacturerURL" },
	{ "model_name", .set = set_device_text, .print = print_text, AT(model_name), .hi = 31,
	  .flags = CK_QUOTE | CK_RELOAD | CK_DESCRIBE, .def = CONFIG_MODEL_NAME_DEFAULT,
	  .doc = "the device's modelName" },
	{ "model_number", .set = set_device_text, .print = print_text, AT(model_number), .hi = 31,
	  .flags = CK_QUOTE | CK_IF_SET | CK_RELOAD | CK_DESCRIBE,
	  .doc = "the device's modelNumber (default: igdd's version)" },
	{ "model_url", TEXT(set_url, model_url), .flags = CK_IF_SET | CK_RELOAD | CK_DESCRIBE,
	  .doc = "the device's modelURL" },
	{ "serial_number", .set = set_device_text, .print = print_text, AT(serial_number),
	  .hi = 63, .flags = CK_QUOTE | CK_IF_SET | CK_RELOAD | CK_DESCRIBE,
	  .doc = "the device's serialNumber" },
	{ "presentation_url", TEXT(set_url, presentation_url),
	  .flags = CK_IF_SET | CK_RELOAD | CK_DESCRIBE, .doc = "the device's presentationURL" },
	{ "wan_access_type", TEXT(set_access_type, wan_access_type), .flags = CK_IF_SET |
	  CK_RELOAD, .doc = "WANAccessType (default: the backend's)" },
	{ "wan_upstream_bitrate", .set = set_bitrate, .print = print_uint,
	  AT(wan_upstream_bitrate), .flags = CK_IF_SET | CK_RELOAD,
	  .doc = "Layer1UpstreamMaxBitRate (default: the link speed)" },
	{ "wan_downstream_bitrate", .set = set_bitrate, .print = print_uint,
	  AT(wan_downstream_bitrate), .flags = CK_IF_SET | CK_RELOAD,
	  .doc = "Layer1DownstreamMaxBitRate (default: the link speed)" },
	{ "uptime_source", .set = set_uptime_source, .print = print_uptime_source,
	  AT(uptime_source), .def = "connection", .flags = CK_RELOAD,
	  .doc = "the Uptime clients see" },
	{ "state_dir", TEXT(set_state_dir, state_dir), .def = CONFIG_STATE_DIR_DEFAULT,
	  .restart = "the UUID and the lease file are kept in it since the start",
	  .doc = "where igdd keeps its state" },
	{ "persist_leases", BOOL(persist_leases),
	  .restart = "the lease file is opened at start",
	  .doc = "keep mappings across restarts (default: yes with nft)" },
	{ "control_socket", TEXT(set_control_socket, control_socket), .flags = CK_EMPTY,
	  .def = CONFIG_CONTROL_SOCKET_DEFAULT, .restart = "the control socket is bound at start",
	  .doc = "igddctl's socket (\"\": none)" },
	{ "enable_upnp", BOOL(enable_upnp), .def = "yes", .flags = CK_RELOAD,
	  .doc = "SSDP, HTTP and GENA" },
	{ "metrics_listen", .set = set_metrics_listen, .print = print_metrics_listen,
	  SPAN(have_metrics, metrics_port), .flags = CK_RELOAD,
	  .doc = "the Prometheus endpoint ADDR:PORT (default off)" },
	{ "secure_mode", BOOL(secure_mode), .def = "yes", .flags = CK_RELOAD,
	  .doc = "a control point maps to its own address only" },
	{ "max_mappings", UINT(max_mappings, 1, 131070), .def = STR(IGDD_MAX_MAPPINGS_DEFAULT),
	  .restart = "the mapping table is sized at start", .doc = "mappings in all" },
	{ "max_mappings_per_client", UINT(max_mappings_per_client, 1, 131070),
	  .def = STR(IGDD_MAX_MAPPINGS_PER_CLIENT), .flags = CK_RELOAD,
	  .doc = "mappings per internal client" },
	{ "acl", LIST(set_acl, nacl, acl, IGDD_CONF_MAX_ACL) | CK_RELOAD,
	  .doc = "a port-mapping rule (repeatable)" },
	{ "enable_natpmp", BOOL(enable_natpmp), .def = "yes",
	  .restart = "the NAT-PMP/PCP sockets are opened at start", .doc = "NAT-PMP" },
	{ "enable_pcp", BOOL(enable_pcp), .def = "yes",
	  .restart = "the NAT-PMP/PCP sockets are opened at start", .doc = "PCP" },
	{ "pcp_third_party", BOOL(pcp_third_party), .def = "no", .flags = CK_RELOAD,
	  .doc = "PCP THIRD_PARTY honoured" },
	{ "pcp_min_lifetime", UINT(pcp_min_lifetime, 1, IGDD_LEASE_MAX),
	  .def = STR(IGDD_PCP_MIN_LIFETIME_DEFAULT), .flags = CK_RELOAD,
	  .doc = "the shortest PCP lifetime granted" },
	{ "pcp_max_lifetime", UINT(pcp_max_lifetime, 1, IGDD_LEASE_MAX),
	  .def = STR(IGDD_PCP_MAX_LIFETIME_DEFAULT), .flags = CK_RELOAD,
	  .doc = "the longest PCP lifetime granted" },
	{ "http_max_connections", UINT(http_max_connections, 1, 4096),
	  .def = STR(IGDD_HTTP_MAX_CONNECTIONS), .flags = CK_RELOAD,
	  .doc = "HTTP connections in all" },
	{ "http_max_per_ip", UINT(http_max_per_ip, 1, 1024), .def = STR(IGDD_HTTP_MAX_PER_IP),
	  .flags = CK_RELOAD, .doc = "HTTP connections per address" },
	{ "http_timeout", UINT(http_timeout, 1, 300), .def = STR(IGDD_HTTP_TIMEOUT_S),
	  .restart = "HTTP's deadline queues are built on it at start",
	  .doc = "seconds a request may take" },
	{ "http_max_lifetime", UINT(http_max_lifetime, 1, 86400),
	  .def = STR(IGDD_HTTP_MAX_LIFETIME_S), .flags = CK_RELOAD,
	  .doc = "seconds a kept-alive connection serves requests" },
	{ "connection_control", .set = set_connection_control, .print = print_connection_control,
	  SPAN(connection_control_all, connection_control), .flags = CK_REPEAT | CK_RELOAD,
	  .doc = "who may change the WAN connection (repeatable)" },
	{ "connection_type_read_only", BOOL(connection_type_read_only), .def = "no",
	  .restart = WANCONN_AT_START, .doc = "SetConnectionType refused" },
	{ "auto_disconnect_time", UINT(auto_disconnect_time, 0, UINT32_MAX), .def = "0",
	  .restart = WANCONN_AT_START, .doc = "AutoDisconnectTime" },
	{ "idle_disconnect_time", UINT(idle_disconnect_time, 0, UINT32_MAX), .def = "0",
	  .restart = WANCONN_AT_START, .doc = "IdleDisconnectTime" },
	{ "warn_disconnect_delay", UINT(warn_disconnect_delay, 0, UINT32_MAX), .def = "0",
	  .restart = WANCONN_AT_START, .doc = "WarnDisconnectDelay" },
	{ "sim_connect_delay", UINT(sim_connect_delay, 0, 600000), .def = "0",
	  .restart = SIM_AT_START, .doc = "ms the simulated link takes to come up" },
	{ "sim_disconnect_delay", UINT(sim_disconnect_delay, 0, 600000), .def = "0",
	  .restart = SIM_AT_START, .doc = "ms the simulated link takes to go down" },
	{ "sim_connect_fail", BOOL(sim_connect_fail), .def = "no", .restart = SIM_AT_START,
	  .doc = "the simulated link fails to come up" },
	{ "sim_ip_bridged", BOOL(sim_ip_bridged), .def = "no", .restart = SIM_AT_START,
	  .doc = "the simulated connection is IP_Bridged" },
	{ "sim_router_ports", BOOL(sim_router_ports), .def = "yes", .flags = CK_IF_SET,
	  .restart = SIM_AT_START, .doc = "this host's listening sockets are the router's" },
	{ "sim_static_forward", .set = set_sim_forward, .print = print_sim_forward,
	  SPAN(nsim_static_forward, sim_static_forward), .flags = CK_REPEAT,
	  .restart = SIM_AT_START, .doc = "ports forwarded statically (repeatable)" },
	{ "user", TEXT(set_user, user), .def = CONFIG_USER_DEFAULT,
	  .restart = "the engine gave up root for this user at start",
	  .doc = "the engine's user (nft)" },
	{ "nft_hairpin", BOOL(nft_hairpin), .def = "no", .restart = HELPER_AT_START,
	  .doc = "hairpin NAT for LAN hosts" },
	{ "nft_table", TEXT(set_nft_table, nft_table), .flags = CK_IF_SET, .def = "igdd",
	  .restart = "the helper made its table ip under this name at start, and deletes it "
	  "by it", .doc = "the name of igdd's table ip" },
	{ "nft_table6", TEXT(set_nft_table, nft_table6), .flags = CK_IF_SET, .def = "igdd",
	  .restart = "the helper made its table ip6 under this name at start, and deletes it "
	  "by it", .doc = "the name of igdd's table ip6 (IPv6 pinholes)" },
	{ "wan_up_command", TEXT(set_wan_command, wan_up_command), .flags = CK_IF_SET,
	  .restart = HELPER_AT_START, .doc = "the command that brings the WAN up" },
	{ "wan_down_command", TEXT(set_wan_command, wan_down_command), .flags = CK_IF_SET,
	  .restart = HELPER_AT_START, .doc = "the command that takes the WAN down" },
	{ "wan_public", .set = set_wan_public, .print = print_wan_public, AT(wan_public),
	  .def = "auto", .restart = "the WAN's class is kept from the start",
	  .doc = "is the WAN address reachable from the internet" },
	{ "stun_server", .set = set_stun_server, .print = print_stun_server,
	  SPAN(nstun_server, stun_server), .flags = CK_REPEAT | CK_RELOAD,
	  .doc = "a STUN server A.B.C.D[:PORT] (repeatable)" },
	{ "upstream_pcp", BOOL(upstream_pcp), .def = "yes", .flags = CK_RELOAD,
	  .doc = "mirror mappings on the upstream's PCP/NAT-PMP server" },
	{ "upstream_upnp", BOOL(upstream_upnp), .def = "yes", .flags = CK_RELOAD,
	  .doc = "with upstream_pcp: a UPnP IGD on the WAN when neither PCP nor NAT-PMP answers" },
	{ "unreachable_wan", .set = set_unreachable_wan, .print = print_unreachable_wan,
	  AT(unreachable_wan), .def = "keep", .flags = CK_RELOAD,
	  .doc = "new mappings while the internet cannot reach them: keep or refuse" },
	{ "ipv6_firewall", BOOL(ipv6_firewall), .def = "yes", .flags = CK_RELOAD,
	  .doc = "FirewallEnabled" },
	{ "pinholes", BOOL(pinholes), .def = "yes", .flags = CK_RELOAD,
	  .doc = "InboundPinholeAllowed" },
	{ "max_pinholes", UINT(max_pinholes, 0, IGDD_MAX_PINHOLES),
	  .def = STR(IGDD_MAX_PINHOLES_DEFAULT), .flags = CK_RELOAD, .doc = "pinholes in all" },
	{ "max_pinholes_per_client", UINT(max_pinholes_per_client, 1, IGDD_MAX_PINHOLES),
	  .def = STR(IGDD_MAX_PINHOLES_PER_CLIENT), .flags = CK_RELOAD,
	  .doc = "pinholes per internal client" },
	{ "pinhole_acl", LIST(set_pinhole_acl, npinhole_acl, pinhole_acl, IGDD_CONF_MAX_ACL) |
	  CK_RELOAD, .doc = "an IPv6 pinhole rule (repeatable)" },
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

_Static_assert(CONFIG_NKEYS <= 96, "struct parse first_line[] too small");

/* ---- lines ---- */

/*
 * The value of a line: s (len bytes, leading white space skipped) up to
 * a comment, unquoted and trimmed, into out (IGDD_CONF_MAX_LINE + 1).
 */
static int line_value(struct parse *p, const char *s, size_t len, char *out)
{
	size_t i = 0, o = 0;

	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				if (i + 1 >= len || (s[i + 1] != '"' && s[i + 1] != '\\')) {
					perr(p, "invalid escape in quoted value (only \\\" and \\\\)");
					return -EINVAL;
				}
				i++;
			}
			out[o++] = s[i];
		}
		if (i >= len) {
			perr(p, "unterminated quoted value");
			return -EINVAL;
		}
		for (i++; i < len && is_ws(s[i]); i++)
			;
		if (i < len && s[i] != '#') {
			perr(p, "unexpected text after the closing quote");
			return -EINVAL;
		}
	} else {
		for (i = 0; i < len && s[i] != '#'; i++) {
			if (s[i] == '"') {
				perr(p, "stray '\"' in value (quote the whole value)");
				return -EINVAL;
			}
			out[o++] = s[i];
		}
		while (o > 0 && is_ws(out[o - 1]))
			o--;
	}
	out[o] = '\0';
	return 0;
}

static const struct config_key *find_key(const char *s, size_t len, size_t *ret_index)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strlen(config_keys[i].name) == len && memcmp(config_keys[i].name, s, len) == 0) {
			*ret_index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

/* One line (without its newline): blank, comment, or key = value. */
static int parse_line(struct parse *p, const char *s, size_t len)
{
	char val[IGDD_CONF_MAX_LINE + 1], q[80], name[IGDD_CONF_MAX_LINE + 1];
	const struct config_key *k;
	size_t i = 0, klen, idx = 0;

	if (memchr(s, '\0', len)) {
		perr(p, "NUL byte in line");
		return -EINVAL;
	}
	while (i < len && is_ws(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	for (klen = 0; i + klen < len && s[i + klen] != '=' && !is_ws(s[i + klen]) &&
	     s[i + klen] != '#'; klen++)
		;
	if (klen == 0) {
		perr(p, "missing key before '='");
		return -EINVAL;
	}
	memcpy(name, s + i, klen);
	name[klen] = '\0';
	for (i += klen; i < len && is_ws(s[i]); i++)
		;
	if (i == len || s[i] != '=') {
		perr(p, "missing '=' after '%s'", quote(q, name));
		return -EINVAL;
	}
	k = find_key(name, klen, &idx);
	if (!k) {
		perr(p, "unknown key '%s'", quote(q, name));
		return -EINVAL;
	}
	if (!(k->flags & CK_REPEAT) && p->first_line[idx]) {
		perr(p, "duplicate key '%s' (first set on line %u)", k->name, p->first_line[idx]);
		return -EINVAL;
	}
	for (i++; i < len && is_ws(s[i]); i++)
		;
	if (line_value(p, s + i, len - i, val) < 0)
		return -EINVAL;
	if (val[0] == '\0' && !(k->flags & CK_EMPTY)) {
		perr(p, "missing value for '%s'", k->name);
		return -EINVAL;
	}
	if (!p->first_line[idx])
		p->first_line[idx] = p->line;
	p->k = k;
	return k->set(p, k->name, val);
}

/* Was key set anywhere in the file? */
static bool key_seen(const struct parse *p, const char *key)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, key) == 0)
			return p->first_line[i] != 0;
	return false;
}

/* What is wrong with c as a whole (keys that must agree), or NULL. */
static const char *whole_problem(const struct config *c)
{
	if (!c->enable_upnp && !c->enable_natpmp && !c->enable_pcp)
		return "enable_upnp, enable_natpmp and enable_pcp are all no: nothing to serve";
	if (c->pcp_min_lifetime > c->pcp_max_lifetime)
		return "pcp_min_lifetime must not exceed pcp_max_lifetime";
	if (c->wan_interface[0] &&
	    config_lan_index(c, c->wan_interface, strlen(c->wan_interface)) >= 0)
		return "wan_interface must differ from lan_interface";
	if ((c->wan_up_command[0] || c->wan_down_command[0]) && c->backend != CONFIG_BACKEND_NFT)
		return "wan_up_command and wan_down_command need backend nft "
		       "(sim simulates the link: sim_connect_delay, sim_connect_fail)";
	if (c->wan_down_command[0] && !c->wan_up_command[0])
		return "wan_down_command needs wan_up_command (a link taken down could not "
		       "be brought up again)";
	return NULL;
}

/* Whole-file checks, reported at line 0. */
static int check_required(struct parse *p)
{
	struct config *c = p->c;
	const char *why;

	if (check_acl_lans(p) < 0 || check_pinhole_acl_lans(p) < 0)
		return -EINVAL;
	p->line = 0;
	if (c->nlans == 0) {
		perr(p, "lan_interface is required");
		return -ENODATA;
	}
	/* persist_leases follows the backend unless set: the sim backend keeps
	 * mappings in memory only, a real gateway keeps them across restarts. */
	if (!key_seen(p, "persist_leases"))
		c->persist_leases = c->backend == CONFIG_BACKEND_NFT;
	why = whole_problem(c);
	if (why) {
		perr(p, "%s", why);
		return -EINVAL;
	}
	return 0;
}

void config_defaults(struct config *c)
{
	struct parse p;
	size_t i;

	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	p.name = "defaults";
	p.c = c;
	p.defaults = true;
	for (i = 0; i < CONFIG_NKEYS; i++) {
		p.k = &config_keys[i];
		if (p.k->def && p.k->set(&p, p.k->name, p.k->def) < 0)
			abort();        /* a default the key refuses: tests/unit/test_config.c */
	}
}

const char *config_key_name(size_t i)
{
	return i < CONFIG_NKEYS ? config_keys[i].name : NULL;
}

int config_key_reloadable(const char *name)
{
	size_t i;

	if (!find_key(name, strlen(name), &i))
		return -ENOENT;
	return (config_keys[i].flags & CK_RELOAD) != 0;
}

int config_key_info(size_t i, struct config_key_info *ret)
{
	const struct config_key *k;

	if (i >= CONFIG_NKEYS)
		return -ENOENT;
	k = &config_keys[i];
	ret->name = k->name;
	ret->def = k->def;
	ret->doc = k->doc;
	ret->restart = k->restart;
	ret->reload = (k->flags & CK_RELOAD) != 0;
	ret->repeat = (k->flags & CK_REPEAT) != 0;
	ret->describe = (k->flags & CK_DESCRIBE) != 0;
	return 0;
}

static bool key_differs(const struct config_key *k, const struct config *a, const struct config *b)
{
	return memcmp(field(k, a), field(k, b), k->size) != 0;
}

bool config_key_changed(const struct config *a, const struct config *b, const char *name)
{
	size_t i;

	return find_key(name, strlen(name), &i) && key_differs(&config_keys[i], a, b);
}

bool config_description_changed(const struct config *a, const struct config *b)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if ((config_keys[i].flags & CK_DESCRIBE) && key_differs(&config_keys[i], a, b))
			return true;
	return false;
}

int config_reload_prepare(struct config *next, const struct config *running,
			  config_restart_fn report, void *arg, char *err, size_t errsz)
{
	const char *why;
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if ((k->flags & CK_RELOAD) || !key_differs(k, next, running))
			continue;
		if (report)
			report(k->name, k->restart ? k->restart : "igdd reads it at start only",
			       arg);
		memcpy((char *)next + k->off, field(k, running), k->size);
	}
	why = whole_problem(next);
	if (why) {
		if (err && errsz)
			snprintf(err, errsz, "%s (with the keys that wait for the next start at their "
				 "running values)", why);
		return -EINVAL;
	}
	return 0;
}

int config_parse(const char *name, const char *text, size_t len, struct config *ret,
		 char *err, size_t errsz)
{
	struct parse p;
	struct config *c;
	size_t pos = 0;
	int r = 0;

	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	config_defaults(c);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errsz = errsz;
	p.c = c;
	if (err && errsz)
		err[0] = '\0';
	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (llen > IGDD_CONF_MAX_LINE) {
			perr(&p, "line too long (at most %d bytes)", IGDD_CONF_MAX_LINE);
			r = -EINVAL;
			break;
		}
		r = parse_line(&p, text + pos, llen);
		pos += llen + (nl ? 1 : 0);
	}
	if (r == 0)
		r = check_required(&p);
	if (r == 0)
		memcpy(ret, c, sizeof(*c));     /* padding too: reload compares spans */
	free(c);
	return r;
}

/* Read the whole file (bounded) into a new buffer. */
static int read_file(const char *path, char **ret_text, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	struct buf b;
	char chunk[4096];
	size_t n;
	int r = 0;

	if (!f)
		return -errno;
	/* Grown as read, up to the limit: a small file costs a small buffer. */
	buf_init(&b, CONFIG_MAX_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		r = buf_append(&b, chunk, n);
		if (r < 0) {
			r = r == -E2BIG ? -EFBIG : r;
			goto out;
		}
	}
	if (ferror(f)) {
		r = errno ? -errno : -EIO;
		goto out;
	}
	*ret_text = buf_steal(&b, ret_len);
	if (!*ret_text)
		r = -ENOMEM;
out:
	buf_free(&b);
	fclose(f);
	return r;
}

int config_load(const char *path, struct config *ret, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &text, &len);
	if (r < 0) {
		if (err && errsz)
			snprintf(err, errsz, "%s:0: %s", path,
				 r == -EFBIG ? "file too large (at most 1 MiB)" : strerror(-r));
		return r;
	}
	r = config_parse(path, text, len, ret, err, errsz);
	free(text);
	return r;
}


/* ---- printing ---- */

void config_print(const struct config *c, FILE *out)
{
	struct config *d = malloc(sizeof(*d));
	size_t i;

	if (!d)
		return;
	config_defaults(d);
	for (i = 0; i < CONFIG_NKEYS; i++)
		config_keys[i].print(&config_keys[i], c, d, out);
	free(d);
}
