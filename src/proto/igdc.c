/*
 * igdc.c - the UPnP IGD control point's messages (igdc.h): M-SEARCH and
 * its response (UDA 1.1 1.3.2, 1.3.3), the device description (2.3), SOAP
 * requests and responses (3.2.1, 3.2.2) for WANIPConnection:2 2.5.16 -
 * 2.5.20, the framing of an HTTP response (RFC 9112 6.3; chunked, 7.1,
 * decoded by proto/http.c's body parser).
 */
#include "proto/igdc.h"

#include "proto/http.h"
#include "proto/xml.h"
#include "util/limits.h"
#include "util/ipaddr.h"
#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <string.h>

#define IGDC_MAX_TEXT   (IGDD_GENA_MAX_CALLBACK_LEN + 8)
#define IGDC_MAX_DEPTH  32

/* ---- SSDP ---- */

/* The next line of p[*off..len) (without CR LF); false at the end. */
static bool next_line(const char *p, size_t len, size_t *off, struct str *line)
{
	size_t i = *off;

	if (i >= len)
		return false;
	while (i < len && p[i] != '\n')
		i++;
	*line = str_from(p + *off, i - *off);
	if (line->len && line->p[line->len - 1] == '\r')
		line->len--;
	*off = i < len ? i + 1 : len;
	return true;
}

/* "Name: value" -> the trimmed value when the name is name. */
static bool header_is(struct str line, const char *name, struct str *value)
{
	size_t n = strlen(name);

	if (line.len <= n || line.p[n] != ':' || !str_casestartswith_cstr(line, name))
		return false;
	*value = str_trim(str_from(line.p + n + 1, line.len - n - 1));
	return true;
}

static bool wanted_st(struct str st)
{
	static const char *const prefixes[] = {
		"urn:schemas-upnp-org:device:InternetGatewayDevice:",
		"urn:schemas-upnp-org:service:WANIPConnection:",
		"urn:schemas-upnp-org:service:WANPPPConnection:",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (str_startswith_cstr(st, prefixes[i]) && st.len > strlen(prefixes[i]))
			return true;
	return false;
}

int igdc_parse_search(const char *p, size_t len, struct igdc_found *ret)
{
	struct igdc_found f;
	struct str line, v;
	size_t off = 0;
	bool have_loc = false, have_st = false;
	uint64_t n;

	memset(&f, 0, sizeof(f));
	if (!next_line(p, len, &off, &line) || !str_casestartswith_cstr(line, "HTTP/1.") ||
	    line.len < 12 || memcmp(line.p + 8, " 200", 4) != 0 ||
	    (line.len > 12 && line.p[12] != ' '))
		return -EINVAL;
	while (next_line(p, len, &off, &line) && line.len) {
		if (header_is(line, "LOCATION", &v)) {
			if (have_loc || gena_parse_url(v, &f.location) < 0 ||
			    f.location.addr.family != AF_INET)
				return -EINVAL;
			have_loc = true;
		} else if (header_is(line, "ST", &v)) {
			if (have_st || !wanted_st(v) || str_copy(v, f.st, sizeof(f.st)) < 0)
				return -EINVAL;
			have_st = true;
		} else if (header_is(line, "BOOTID.UPNP.ORG", &v)) {
			if (str_to_u64(v, 0x7fffffff, &n) == 0) {   /* UDA 2.0: 0 .. 2^31-1 */
				f.have_bootid = true;
				f.bootid = (uint32_t)n;
			}
		}
	}
	if (!have_loc || !have_st)
		return -EINVAL;
	*ret = f;
	return 0;
}

size_t igdc_build_msearch(char *out, size_t outsz, const char *st)
{
	int n = snprintf(out, outsz,
			 "M-SEARCH * HTTP/1.1\r\n"
			 "HOST: 239.255.255.250:1900\r\n"
			 "MAN: \"ssdp:discover\"\r\n"
			 "MX: 2\r\n"
			 "ST: %s\r\n"
			 "\r\n", st);

	return n > 0 && (size_t)n < outsz ? (size_t)n : 0;
}

/* ---- XML (expat, no namespace processing: local names compared) ---- */

struct text {
	char s[IGDC_MAX_TEXT + 1];
	size_t len;
	bool over;
};

static void text_add(struct text *t, const char *s, int len)
{
	if (len < 0 || t->len + (size_t)len > IGDC_MAX_TEXT) {
		t->over = true;
		return;
	}
	memcpy(t->s + t->len, s, (size_t)len);
	t->len += (size_t)len;
	t->s[t->len] = '\0';
}

static void text_reset(struct text *t)
{
	t->len = 0;
	t->over = false;
	t->s[0] = '\0';
}

static struct str text_str(const struct text *t)
{
	return str_trim(str_from(t->s, t->len));
}

static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');

	return c ? c + 1 : name;
}

struct xp {
	struct xml_guard g;             /* first: the parser's user data */
	unsigned depth;
	const char *stack[IGDC_MAX_DEPTH];      /* local names, pointing into names[] */
	char names[IGDC_MAX_DEPTH][40];
	struct text *capture;                   /* the text wanted now, or NULL */
};

static void xp_fail(struct xp *x)
{
	xml_guard_stop(&x->g);
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;

	if (x->capture)
		text_add(x->capture, s, len);
}

/* Push name; false (and failed) when too deep. */
static bool xp_push(struct xp *x, const char *name)
{
	const char *l = local_name(name);

	if (x->depth >= IGDC_MAX_DEPTH) {
		xp_fail(x);
		return false;
	}
	snprintf(x->names[x->depth], sizeof(x->names[0]), "%s", l);
	x->stack[x->depth] = x->names[x->depth];
	x->depth++;
	return true;
}

static bool at(const struct xp *x, unsigned depth, const char *name)
{
	return x->depth == depth && strcmp(x->stack[depth - 1], name) == 0;
}

static int xp_run(struct xp *x, const char *doc, size_t len, XML_StartElementHandler start,
		  XML_EndElementHandler end)
{
	XML_Parser xp;
	int r = 0;

	if (len > (size_t)INT32_MAX)
		return -EINVAL;
	xp = XML_ParserCreate(NULL);
	if (!xp)
		return -ENOMEM;
	xml_guard_init(&x->g, xp);
	XML_SetElementHandler(xp, start, end);
	XML_SetCharacterDataHandler(xp, on_text);
	if (XML_Parse(xp, doc, (int)len, XML_TRUE) != XML_STATUS_OK || x->g.stopped)
		r = -EINVAL;
	XML_ParserFree(xp);
	return r;
}

/* ---- the description (UDA 2.3) ---- */

struct desc {
	struct xp x;
	struct text url_base, type, control;
	bool in_service;
	/* the best so far */
	bool found;
	unsigned rank;
	char best_type[IGDC_MAX_TYPE + 1];
	char best_control[IGDC_MAX_TEXT + 1];
};

/* WANIPConnection:N ranks 10 + N, WANPPPConnection:1 ranks 1; 0 neither. */
static unsigned service_rank(struct str t, unsigned *version, bool *ppp)
{
	static const char ip[] = "urn:schemas-upnp-org:service:WANIPConnection:";
	static const char ppp1[] = "urn:schemas-upnp-org:service:WANPPPConnection:1";
	uint64_t v;

	if (str_startswith_cstr(t, ip) &&
	    str_to_u64(str_from(t.p + sizeof(ip) - 1, t.len - (sizeof(ip) - 1)), 9, &v) == 0 &&
	    v >= 1 && t.p[sizeof(ip) - 1] != '+') {
		*version = (unsigned)v;
		*ppp = false;
		return 10 + (unsigned)v;
	}
	if (str_eq_cstr(t, ppp1)) {
		*version = 1;
		*ppp = true;
		return 1;
	}
	return 0;
}

static void desc_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct desc *d = ud;

	(void)atts;
	if (!xp_push(&d->x, name))
		return;
	d->x.capture = NULL;
	if (at(&d->x, 2, "URLBase")) {
		text_reset(&d->url_base);
		d->x.capture = &d->url_base;
	} else if (strcmp(d->x.stack[d->x.depth - 1], "service") == 0) {
		d->in_service = true;
		text_reset(&d->type);
		text_reset(&d->control);
	} else if (d->in_service && d->x.depth >= 2 &&
		   strcmp(d->x.stack[d->x.depth - 2], "service") == 0) {
		if (strcmp(d->x.stack[d->x.depth - 1], "serviceType") == 0)
			d->x.capture = &d->type;
		else if (strcmp(d->x.stack[d->x.depth - 1], "controlURL") == 0)
			d->x.capture = &d->control;
	}
}

static void desc_end(void *ud, const XML_Char *name)
{
	struct desc *d = ud;
	unsigned rank, version;
	bool ppp;
	struct str t;

	(void)name;
	d->x.capture = NULL;
	if (d->x.depth == 0)
		return;
	if (d->in_service && strcmp(d->x.stack[d->x.depth - 1], "service") == 0) {
		d->in_service = false;
		t = text_str(&d->type);
		rank = d->type.over || d->control.over ? 0 : service_rank(t, &version, &ppp);
		if (rank > d->rank && text_str(&d->control).len) {
			d->found = true;
			d->rank = rank;
			str_copy(t, d->best_type, sizeof(d->best_type));
			str_copy(text_str(&d->control), d->best_control, sizeof(d->best_control));
		}
	}
	d->x.depth--;
}

/* controlURL ref against base (RFC 3986 5.2, the forms a device uses:
 * absolute http://, absolute path, relative path). */
static int resolve(const struct gena_url *base, struct str ref, struct gena_url *ret)
{
	char path[sizeof(ret->path)];
	const char *slash;
	size_t dir;
	int n;

	if (str_casestartswith_cstr(ref, "http://"))
		return gena_parse_url(ref, ret);
	if (ref.len == 0 || str_casestartswith_cstr(ref, "//") || memchr(ref.p, ':', ref.len))
		return -EINVAL;
	*ret = *base;
	if (ref.p[0] == '/') {
		if (str_copy(ref, path, sizeof(path)) < 0)
			return -EINVAL;
	} else {
		slash = strrchr(base->path, '/');
		dir = slash ? (size_t)(slash - base->path) + 1 : 0;
		n = snprintf(path, sizeof(path), "%.*s%.*s", (int)dir, base->path, (int)ref.len, ref.p);
		if (n < 0 || (size_t)n >= sizeof(path))
			return -EINVAL;
	}
	/* the same checks as an absolute URL's path */
	{
		char full[sizeof(path) + 32];
		char host[INET_ADDRSTRLEN];

		if (!inet_ntop(AF_INET, &base->addr.u.v4, host, sizeof(host)))
			return -EINVAL;
		n = snprintf(full, sizeof(full), "http://%s:%u%s", host, base->port, path);
		if (n < 0 || (size_t)n >= sizeof(full))
			return -EINVAL;
		return gena_parse_url(str_from(full, (size_t)n), ret);
	}
}

int igdc_parse_description(const char *xml, size_t len, const struct gena_url *location,
			   struct igdc_service *ret)
{
	static struct desc d;   /* large: not on the stack; the loop is single-threaded */
	struct gena_url base = *location, url;
	struct igdc_service s;
	unsigned version = 0;
	bool ppp = false;
	int r;

	memset(&d, 0, sizeof(d));
	r = xp_run(&d.x, xml, len, desc_start, desc_end);
	if (r < 0)
		return r;
	if (!d.found)
		return -ENOENT;
	if (text_str(&d.url_base).len && !d.url_base.over &&
	    gena_parse_url(text_str(&d.url_base), &url) == 0)
		base = url;
	memset(&s, 0, sizeof(s));
	if (resolve(&base, str_cstr(d.best_control), &s.control) < 0)
		return -EINVAL;
	if (s.control.addr.family != AF_INET ||
	    s.control.addr.u.v4.s_addr != location->addr.u.v4.s_addr)
		return -ENOENT;         /* only the device that answered */
	memcpy(s.type, d.best_type, sizeof(s.type));
	service_rank(str_cstr(s.type), &version, &ppp);
	s.version = version;
	s.ppp = ppp;
	*ret = s;
	return 0;
}

/* ---- SOAP responses (UDA 3.2.2) ---- */

struct soapr {
	struct xp x;
	const char *action;
	bool body_seen, fault, response;
	struct text ext_ip, port, code;
	bool have_ip, have_port, have_code;
};

static void soap_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct soapr *s = ud;
	const char *l;
	size_t al;

	(void)atts;
	if (!xp_push(&s->x, name))
		return;
	s->x.capture = NULL;
	l = s->x.stack[s->x.depth - 1];
	switch (s->x.depth) {
	case 1:
		if (strcmp(l, "Envelope") != 0)
			xp_fail(&s->x);
		return;
	case 2:
		if (strcmp(l, "Body") == 0)
			s->body_seen = true;
		return;
	case 3:
		if (strcmp(s->x.stack[1], "Body") != 0)
			return;
		al = strlen(s->action);
		if (strcmp(l, "Fault") == 0 && !s->fault && !s->response)
			s->fault = true;
		else if (strncmp(l, s->action, al) == 0 && strcmp(l + al, "Response") == 0 &&
			 !s->fault && !s->response)
			s->response = true;
		else
			xp_fail(&s->x);
		return;
	default:
		break;
	}
	if (strcmp(s->x.stack[1], "Body") != 0)
		return;
	if (s->response && s->x.depth == 4) {
		if (strcmp(l, "NewExternalIPAddress") == 0 && !s->have_ip) {
			s->have_ip = true;
			s->x.capture = &s->ext_ip;
		} else if (strcmp(l, "NewReservedPort") == 0 && !s->have_port) {
			s->have_port = true;
			s->x.capture = &s->port;
		}
	} else if (s->fault && strcmp(l, "errorCode") == 0 && !s->have_code) {
		s->have_code = true;
		s->x.capture = &s->code;
	}
}

static void soap_end(void *ud, const XML_Char *name)
{
	struct soapr *s = ud;

	(void)name;
	s->x.capture = NULL;
	if (s->x.depth)
		s->x.depth--;
}

int igdc_parse_soap(const char *body, size_t len, const char *action, struct igdc_soap *ret)
{
	static struct soapr s;
	struct igdc_soap out;
	struct in_addr a;
	uint64_t v;
	int r;

	memset(&s, 0, sizeof(s));
	s.action = action;
	r = xp_run(&s.x, body, len, soap_start, soap_end);
	if (r < 0)
		return r;
	if (!s.fault && !s.response)
		return -EINVAL;
	memset(&out, 0, sizeof(out));
	out.fault = s.fault;
	if (s.fault) {
		out.error_code = -1;
		if (s.have_code && !s.code.over && str_to_u64(text_str(&s.code), 9999, &v) == 0)
			out.error_code = (int)v;
	}
	if (s.have_ip) {
		if (s.ext_ip.over || str_copy(text_str(&s.ext_ip), out.ext_ip, sizeof(out.ext_ip)) < 0 ||
		    inet_pton(AF_INET, out.ext_ip, &a) != 1)
			return -EINVAL;
		out.have_ext_ip = true;
	}
	if (s.have_port) {
		if (s.port.over || str_to_u64(text_str(&s.port), 65535, &v) < 0 || v == 0)
			return -EINVAL;
		out.have_port = true;
		out.port = (uint16_t)v;
	}
	*ret = out;
	return 0;
}

/* ---- HTTP (RFC 9112) ---- */

/* Walk the chunked body in[0..len) (RFC 9112 7.1), writing its data to
 * out (NULL: only check; out may be in: the data only moves down).
 * 1 complete (*used: the encoded length, *data_len: the decoded one),
 * 0 more needed, -EINVAL malformed. */
static int dechunk(const char *in, size_t len, char *out, size_t *used, size_t *data_len)
{
	struct http_parser hp;
	size_t off = 0, n = 0;
	int r = 0;

	http_parser_init(&hp, IGDD_UPSTREAM_UPNP_MAX_BODY, IGDD_UPSTREAM_UPNP_MAX_BODY);
	http_parser_start_chunked(&hp);
	while (off < len) {
		struct str data;
		size_t u;

		r = http_parse_body(&hp, in + off, len - off, &u, &data);
		if (r < 0)
			return -EINVAL;
		if (out && data.len)
			memmove(out + n, data.p, data.len);
		n += data.len;
		off += u;
		if (r == 1 || u == 0)
			break;
	}
	*used = off;
	*data_len = n;
	return r == 1 ? 1 : 0;
}

int igdc_http_response(const char *p, size_t len, bool closed, int *status, size_t *body,
		       size_t *body_len, bool *chunked)
{
	struct str line, v;
	size_t off = 0, head_end = 0, i, used, dlen;
	bool have_len = false, is_chunked = false;
	uint64_t clen = 0, code;
	int r;

	for (i = 0; i + 3 < len; i++) {
		if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
			head_end = i + 4;
			break;
		}
	}
	if (!head_end)
		return closed ? -EINVAL : 0;
	if (!next_line(p, head_end, &off, &line) || line.len < 12 ||
	    !str_startswith_cstr(line, "HTTP/1.") || line.p[8] != ' ' ||
	    (line.len > 12 && line.p[12] != ' ') ||
	    str_to_u64(str_from(line.p + 9, 3), 999, &code) < 0 || code < 100 || line.p[9] == '+')
		return -EINVAL;
	while (next_line(p, head_end, &off, &line) && line.len) {
		if (header_is(line, "Content-Length", &v)) {
			if (have_len || str_to_u64(v, SIZE_MAX / 2, &clen) < 0 || v.p[0] == '+' ||
			    v.p[0] == '-')
				return -EINVAL;
			have_len = true;
		} else if (header_is(line, "Transfer-Encoding", &v)) {
			if (is_chunked)
				return -EINVAL;         /* a second one */
			if (str_caseeq_cstr(v, "chunked"))
				is_chunked = true;
			else if (!str_caseeq_cstr(v, "identity"))
				return -ENOTSUP;
		}
	}
	if (is_chunked) {
		/* both framings: refused rather than guessed (RFC 9112 6.3 3) */
		if (have_len)
			return -EINVAL;
		r = dechunk(p + head_end, len - head_end, NULL, &used, &dlen);
		if (r < 0 || (r == 1 && used != len - head_end))
			return -EINVAL;         /* malformed, or bytes after the last chunk */
		if (r == 0)
			return closed ? -EINVAL : 0;
		clen = used;
	} else if (have_len) {
		if (len - head_end < clen)
			return closed ? -EINVAL : 0;
		if (len - head_end > clen)
			return -EINVAL;
	} else if (!closed) {
		return 0;
	} else {
		clen = len - head_end;
	}
	*status = (int)code;
	*body = head_end;
	*body_len = (size_t)clen;
	*chunked = is_chunked;
	return 1;
}

size_t igdc_http_dechunk(char *body, size_t len)
{
	size_t used, dlen;

	return dechunk(body, len, body, &used, &dlen) == 1 ? dlen : 0;
}

static int url_host(const struct gena_url *url, char *out, size_t outsz)
{
	char a[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &url->addr.u.v4, a, sizeof(a)))
		return -EINVAL;
	return snprintf(out, outsz, "%s:%u", a, url->port) < (int)outsz ? 0 : -E2BIG;
}

int igdc_build_get(struct buf *b, const struct gena_url *url)
{
	char host[32];

	if (url_host(url, host, sizeof(host)) < 0)
		return -E2BIG;
	buf_printf(b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		   "User-Agent: igdd UPnP/1.1\r\n\r\n", url->path, host);
	return b->toobig ? -E2BIG : 0;
}

int igdc_build_soap(struct buf *b, const struct gena_url *url, const char *service_type,
		    const char *action, const char *const *names, const char *const *values,
		    unsigned n)
{
	struct buf body;
	char host[32];
	unsigned i;
	int r = -E2BIG;

	if (url_host(url, host, sizeof(host)) < 0)
		return -E2BIG;
	buf_init(&body, 4096);
	buf_printf(&body, "<?xml version=\"1.0\"?>\r\n<s:Envelope "
		   "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		   "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
		   "<s:Body><u:%s xmlns:u=\"", action);
	xml_escape(&body, service_type, strlen(service_type));
	buf_puts(&body, "\">");
	for (i = 0; i < n; i++)
		xml_element(&body, names[i], values[i], strlen(values[i]));
	buf_printf(&body, "</u:%s></s:Body></s:Envelope>\r\n", action);
	if (body.toobig)
		goto out;
	buf_printf(b, "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		   "User-Agent: igdd UPnP/1.1\r\n"
		   "Content-Type: text/xml; charset=\"utf-8\"\r\n"
		   "SOAPAction: \"%s#%s\"\r\nContent-Length: %zu\r\n\r\n",
		   url->path, host, service_type, action, body.len);
	buf_append(b, body.p, body.len);
	r = b->toobig ? -E2BIG : 0;
out:
	buf_free(&body);
	return r;
}
