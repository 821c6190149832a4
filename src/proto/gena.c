/*
 * gena.c - GENA eventing text (UPnP Device Architecture 1.1 section 4;
 * see gena.h): SUBSCRIBE / UNSUBSCRIBE classification (4.1.2 - 4.1.4),
 * CALLBACK and TIMEOUT parsing, the NOTIFY event message (4.3.2).
 */
#include "proto/gena.h"

#include "proto/xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/*
 * UDA 1.1 4.1.2 (SUBSCRIBE), 4.1.3 (renewal), 4.1.4 (UNSUBSCRIBE):
 *   400 Bad Request          SID and one of NT or CALLBACK together
 *   412 Precondition Failed  CALLBACK missing or no delivery URL;
 *                            NT missing or not upnp:event;
 *                            SID missing, empty, or not a known
 *                            un-expired subscription
 *   5xx                      unable to accept the subscription
 */
int gena_http_status(enum gena_status st)
{
	switch (st) {
	case GENA_OK: return 200;
	case GENA_E_INCOMPATIBLE: return 400;
	case GENA_E_NT:
	case GENA_E_CALLBACK:
	case GENA_E_SID: return 412;
	case GENA_E_LIMIT: return 503;
	default: return 500;
	}
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII without space: what a request-target may carry. */
static bool path_char_ok(char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

int gena_parse_url(struct str s, struct gena_url *ret)
{
	struct gena_url u;
	struct str host, rest;
	const char *close;
	uint64_t port = 80;
	size_t i;

	if (s.len > IGDD_GENA_MAX_CALLBACK_LEN || !str_casestartswith_cstr(s, "http://"))
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	rest = str_from(s.p + 7, s.len - 7);
	for (i = 0; i < rest.len && rest.p[i] != '/'; i++)
		;
	host = str_from(rest.p, i);
	rest = str_from(rest.p + i, rest.len - i);
	/* The port starts after the IPv6 literal's closing bracket. */
	close = host.len && host.p[0] == '[' ? memchr(host.p, ']', host.len) : NULL;
	i = close ? (size_t)(close - host.p) + 1 : 0;
	if (close && i < host.len && host.p[i] != ':')
		return -EINVAL;
	for (; i < host.len && host.p[i] != ':'; i++)
		;
	if (i < host.len) {
		if (str_to_u64(str_from(host.p + i + 1, host.len - i - 1), 65535, &port) < 0 ||
		    port == 0 || host.p[i + 1] == '+')
			return -EINVAL;
		host.len = i;
	}
	/* A dotted quad, or an IPv6 literal in brackets without a zone (a
	 * zone names the subscriber's interface, not ours: a link-local
	 * callback is on the LAN the SUBSCRIBE came in on). No names. */
	if (ipaddr_parse_host(host, false, &u.addr) < 0)
		return -EINVAL;
	u.port = (uint16_t)port;
	if (rest.len == 0)
		rest = STR_LIT("/");
	for (i = 0; i < rest.len; i++)
		if (!path_char_ok(rest.p[i]))
			return -EINVAL;
	if (str_copy(rest, u.path, sizeof(u.path)) < 0)
		return -EINVAL;
	*ret = u;
	return 0;
}

int gena_parse_callback(const char *value, struct gena_url *urls, unsigned max)
{
	const char *p = value, *end, *close;
	unsigned n = 0;

	if (!value)
		return -EINVAL;
	end = value + strlen(value);
	for (;;) {
		while (p < end && (is_ws(*p) || *p == ','))
			p++;
		if (p == end)
			break;
		if (*p != '<' || n == max)
			return -EINVAL;
		close = memchr(p + 1, '>', (size_t)(end - p - 1));
		if (!close || gena_parse_url(str_from(p + 1, (size_t)(close - p - 1)), &urls[n]) < 0)
			return -EINVAL;
		n++;
		p = close + 1;
	}
	return n > 0 ? (int)n : -EINVAL;
}

unsigned gena_parse_timeout(const char *value, const struct gena_timeout_range *tr)
{
	struct str s;
	uint64_t v;
	int r;

	if (!value)
		return tr->def;
	s = str_trim(str_cstr(value));
	if (!str_casestartswith_cstr(s, "Second-"))
		return tr->def;
	s = str_from(s.p + 7, s.len - 7);
	if (str_caseeq_cstr(s, "infinite"))
		return tr->max;
	if (s.len > 0 && s.p[0] == '+')
		return tr->def;
	r = str_to_u64(s, UINT64_MAX, &v);
	if (r == -ERANGE)
		return tr->max;         /* digits only, just very many of them */
	if (r < 0)
		return tr->def;
	if (v < tr->min)
		return tr->min;
	return v > tr->max ? tr->max : (unsigned)v;
}

/* "uuid:" and 1..36 printable characters, copied into out. */
static bool parse_sid(const char *value, char out[GENA_SID_SIZE])
{
	struct str s = str_trim(str_cstr(value));
	size_t i;

	if (s.len <= 5 || s.len >= GENA_SID_SIZE || !str_casestartswith_cstr(s, "uuid:"))
		return false;
	for (i = 0; i < s.len; i++)
		if (!path_char_ok(s.p[i]))
			return false;
	return str_copy(s, out, GENA_SID_SIZE) == 0;
}

enum gena_status gena_parse(bool unsubscribe, const struct gena_headers *h,
			    const struct gena_timeout_range *tr, struct gena_request *ret)
{
	struct gena_request r;
	int n;

	memset(&r, 0, sizeof(r));
	if (h->sid && (h->nt || h->callback))
		return GENA_E_INCOMPATIBLE;
	if (h->sid || unsubscribe) {
		if (!h->sid || !parse_sid(h->sid, r.sid))
			return GENA_E_SID;
		r.kind = unsubscribe ? GENA_UNSUBSCRIBE : GENA_RENEW;
		if (!unsubscribe)
			r.timeout_s = gena_parse_timeout(h->timeout, tr);
		*ret = r;
		return GENA_OK;
	}
	if (!h->nt || !str_caseeq_cstr(str_trim(str_cstr(h->nt)), "upnp:event"))
		return GENA_E_NT;
	n = gena_parse_callback(h->callback, r.urls, IGDD_GENA_MAX_CALLBACK_URLS);
	if (n < 0)
		return GENA_E_CALLBACK;
	r.kind = GENA_SUBSCRIBE;
	r.nurls = (unsigned)n;
	r.timeout_s = gena_parse_timeout(h->timeout, tr);
	*ret = r;
	return GENA_OK;
}

uint32_t gena_seq_next(uint32_t seq)
{
	return seq == UINT32_MAX ? 1 : seq + 1;
}

int gena_body_begin(struct buf *b)
{
	return buf_puts(b, "<?xml version=\"1.0\"?>"
			"<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">");
}

int gena_body_add(struct buf *b, const char *name, const char *value, size_t len)
{
	if (buf_puts(b, "<e:property>") < 0 || xml_element(b, name, value, len) < 0)
		return -E2BIG;
	return buf_puts(b, "</e:property>");
}

int gena_body_end(struct buf *b)
{
	return buf_puts(b, "</e:propertyset>");
}

int gena_build_notify_head(struct buf *b, const struct gena_url *url, const char *sid,
			   uint32_t seq, size_t body_len)
{
	char host[IPADDR_STRLEN];

	if (ipaddr_url_host(&url->addr, host, sizeof(host)) < 0)
		return -EINVAL;
	return buf_printf(b,
		"NOTIFY %s HTTP/1.1\r\n"
		"HOST: %s:%u\r\n"
		"CONTENT-TYPE: text/xml; charset=\"utf-8\"\r\n"
		"CONTENT-LENGTH: %zu\r\n"
		"NT: upnp:event\r\n"
		"NTS: upnp:propchange\r\n"
		"SID: %s\r\n"
		"SEQ: %" PRIu32 "\r\n"
		"CONNECTION: close\r\n"
		"\r\n",
		url->path, host, (unsigned)url->port, body_len, sid, seq);
}

int gena_parse_status_line(const char *p, size_t len)
{
	const char *nl = memchr(p, '\n', len);
	uint64_t code;
	size_t n;

	if (!nl)
		return -EAGAIN;
	n = (size_t)(nl - p);
	/* "HTTP/1.x SP NNN" at least; the reason phrase is optional. */
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return -EINVAL;
	if (str_to_u64(str_from(p + 9, 3), 599, &code) < 0 || code < 100 || p[9] == '+')
		return -EINVAL;
	if (n > 12 && p[12] != ' ' && p[12] != '\r')
		return -EINVAL;
	return (int)code;
}
