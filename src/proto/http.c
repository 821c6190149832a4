/*
 * http.c - HTTP/1.x request parsing (see http.h; RFC 9112 sections 2.2,
 * 3, 5, 6, 7.1 and 9.3, RFC 9110 section 10.1.1), pure and without
 * allocation.
 *
 * The head is searched for its end (an empty line) first, remembering
 * how far the search got, so feeding a request byte by byte costs no
 * more than feeding it at once; only a complete head is then checked
 * and cut in place. The body decoder is a small state machine that
 * hands back views of the data it finds.
 */
#include "proto/http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define HTTP_CHUNK_LINE_MAX 1024        /* chunk-size line, extensions included */

enum {
	B_NONE,
	B_LENGTH,
	B_SIZE,                         /* chunk-size digits */
	B_EXT,                          /* chunk extensions, ignored */
	B_SIZE_LF,                      /* CR seen after the chunk-size line */
	B_DATA,
	B_DATA_CR,                      /* CRLF after the chunk data */
	B_DATA_LF,
	B_TRAILER,                      /* trailer fields, dropped */
	B_TRAILER_LF,
	B_DONE,
};

void http_parser_init(struct http_parser *p, size_t max_head, uint64_t max_body)
{
	p->max_head = max_head;
	p->max_body = max_body;
	http_parser_reset(p);
}

void http_parser_reset(struct http_parser *p)
{
	p->scanned = 0;
	p->skip = 0;
	p->line_seen = false;
	p->head.method = NULL;
	p->head.path = NULL;
	p->head.nfields = 0;
	p->head.framing = HTTP_BODY_NONE;
	p->head.content_length = 0;
	p->head.keep_alive = false;
	p->head.expect_continue = false;
	p->bstate = B_NONE;
	p->left = 0;
	p->body_len = 0;
	p->line_len = 0;
	p->trailer_len = 0;
	p->digits = 0;
}

void http_parser_start_chunked(struct http_parser *p)
{
	p->head.framing = HTTP_BODY_CHUNKED;
	p->bstate = B_SIZE;
}

/* tchar (RFC 9110 section 5.6.2) */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB (RFC 9110 section 5.5; obs-text allowed) */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Does the comma-separated list s hold token (case-insensitive)? */
static bool list_has(const char *s, const char *token)
{
	size_t n = strlen(token);

	while (*s) {
		size_t len;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		len = strcspn(s, ",");
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(s, token, n) == 0)
			return true;
		s += strcspn(s, ",");
	}
	return false;
}

/* What the fields say about framing, persistence and expectations. */
struct head_facts {
	unsigned content_length, transfer_encoding, host, expect_other;
	bool cl_bad, cl_huge, chunked, expect_continue, conn_close, conn_keep_alive;
	uint64_t cl;
};

static void parse_content_length(struct head_facts *f, const char *v)
{
	uint64_t n = 0;

	if (!*v)
		f->cl_bad = true;
	for (; *v; v++) {
		if (*v < '0' || *v > '9') {
			f->cl_bad = true;
			return;
		}
		if (n > (UINT64_MAX - 9) / 10)
			f->cl_huge = true;      /* keep checking the syntax */
		else
			n = n * 10 + (uint64_t)(*v - '0');
	}
	f->cl = n;
}

static void note_field(struct head_facts *f, const char *name, const char *value)
{
	if (strcasecmp(name, "Content-Length") == 0) {
		f->content_length++;
		parse_content_length(f, value);
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->transfer_encoding++;
		f->chunked = strcasecmp(value, "chunked") == 0;
	} else if (strcasecmp(name, "Connection") == 0) {
		if (list_has(value, "close"))
			f->conn_close = true;
		if (list_has(value, "keep-alive"))
			f->conn_keep_alive = true;
	} else if (strcasecmp(name, "Expect") == 0) {
		if (strcasecmp(value, "100-continue") == 0)
			f->expect_continue = true;
		else if (*value)
			f->expect_other++;
	} else if (strcasecmp(name, "Host") == 0) {
		f->host++;
	}
}

/*
 * The request line s[0..e) (its terminator at e): method, target and
 * version, NUL-terminated in place. Returns 0 or -status.
 */
static int parse_request_line(struct http_head *h, char *s, char *e, char **ret_authority)
{
	char *t, *u, *v, *w, *q;

	for (t = s; t < e && is_tchar((unsigned char)*t); t++)
		;
	if (t == s || t == e || *t != ' ')
		return -400;
	*t = '\0';
	h->method = s;
	u = t + 1;
	for (v = u; v < e && (unsigned char)*v > 0x20 && (unsigned char)*v < 0x7f; v++)
		;
	if (v == u || v == e || *v != ' ')
		return -400;
	*v = '\0';
	w = v + 1;
	if (e - w != 8 || memcmp(w, "HTTP/", 5) != 0 || w[5] < '0' || w[5] > '9' ||
	    w[6] != '.' || w[7] < '0' || w[7] > '9')
		return -400;
	if (w[5] != '1' || w[7] > '1')
		return -505;
	h->minor = w[7] - '0';
	*e = '\0';

	*ret_authority = NULL;
	if (u[0] == '/') {
		h->path = u;
	} else if (strncasecmp(u, "http://", 7) == 0) {
		/* absolute-form (section 3.2.2): authority moved to u, NUL-terminated */
		char *a = u + 7, *end = a;
		size_t alen;

		while (*end && *end != '/' && *end != '?')
			end++;
		alen = (size_t)(end - a);
		if (alen == 0)
			return -400;
		h->path = *end == '/' ? end : "/";
		memmove(u, a, alen);
		u[alen] = '\0';
		*ret_authority = u;
	} else {
		return -400;            /* asterisk- and authority-form: not for us */
	}
	/* The query is not ours to read (path is in the buffer when it has one). */
	q = strchr(h->path, '?');
	if (q)
		*q = '\0';
	return 0;
}

/* The fields from s up to the empty line ending at end; 0 or -status. */
static int parse_fields(struct http_head *h, struct head_facts *f, char *s, char *end)
{
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *le, *n, *v, *ve;

		if (!nl)
			return -400;    /* cannot happen: the head ends with a line */
		le = nl;
		if (le > s && le[-1] == '\r')
			le--;
		if (le == s)
			return 0;       /* the empty line */
		if (*s == ' ' || *s == '\t')
			return -400;    /* obs-fold (section 5.2) */
		for (n = s; n < le && is_tchar((unsigned char)*n); n++)
			;
		if (n == s || n == le || *n != ':')
			return -400;    /* no name, no colon, or space before it (5.1) */
		*n = '\0';
		for (v = n + 1; v < le && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = v; ve < le; ve++)
			if (!is_field_char((unsigned char)*ve))
				return -400;    /* NUL, bare CR, other controls */
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		*ve = '\0';
		if (h->nfields >= IGDD_HTTP_MAX_HEADERS)
			return -431;
		h->fields[h->nfields].name = s;
		h->fields[h->nfields].value = v;
		h->nfields++;
		note_field(f, s, v);
		s = nl + 1;
	}
	return -400;
}

/* Framing, persistence, expectations (sections 6.1, 6.3, 9.3). */
static int decide(struct http_parser *p, struct head_facts *f)
{
	struct http_head *h = &p->head;

	if (f->host > 1)
		return -400;            /* RFC 9112 section 3.2 */
	if (f->transfer_encoding) {
		if (f->transfer_encoding > 1 || f->content_length || h->minor == 0)
			return -400;
		if (!f->chunked)
			return -501;
		h->framing = HTTP_BODY_CHUNKED;
		p->bstate = B_SIZE;
	} else if (f->content_length) {
		if (f->content_length > 1 || f->cl_bad)
			return -400;
		if (f->cl_huge || f->cl > p->max_body)
			return -413;
		h->content_length = f->cl;
		h->framing = f->cl ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		p->bstate = f->cl ? B_LENGTH : B_NONE;
		p->left = f->cl;
	}
	if (h->minor == 1 && f->expect_other)
		return -417;
	h->expect_continue = h->minor == 1 && f->expect_continue && h->framing != HTTP_BODY_NONE;
	h->keep_alive = h->minor == 1 ? !f->conn_close : f->conn_keep_alive && !f->conn_close;
	return 0;
}

int http_parse_head(struct http_parser *p, char *buf, size_t len)
{
	struct head_facts f;
	char *s, *nl, *e, *authority;
	size_t i, end = 0;
	int r;

	/* Empty lines before the request line (section 2.2). */
	if (p->scanned == p->skip) {
		while (p->skip < len) {
			if (buf[p->skip] == '\n')
				p->skip++;
			else if (buf[p->skip] == '\r' && p->skip + 1 < len && buf[p->skip + 1] == '\n')
				p->skip += 2;
			else
				break;
		}
		p->scanned = p->skip;
		if (p->skip >= p->max_head)
			return -400;
		if (p->skip + 1 == len && buf[p->skip] == '\r')
			return 0;       /* perhaps another empty line */
	}
	for (i = p->scanned; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		p->line_seen = true;
		if (i + 1 >= len)
			break;
		if (buf[i + 1] == '\n') {
			end = i + 2;
			break;
		}
		if (buf[i + 1] == '\r') {
			if (i + 2 >= len)
				break;
			if (buf[i + 2] == '\n') {
				end = i + 3;
				break;
			}
		}
	}
	if (!end) {
		p->scanned = i;
		if (len >= p->max_head)
			return p->line_seen ? -431 : -414;
		return 0;
	}
	if (end > p->max_head) {
		nl = memchr(buf + p->skip, '\n', end - p->skip);
		return nl && (size_t)(nl - buf) < p->max_head ? -431 : -414;
	}

	memset(&f, 0, sizeof(f));
	s = buf + p->skip;
	nl = memchr(s, '\n', end - p->skip);
	if (!nl)
		return -400;
	e = nl > s && nl[-1] == '\r' ? nl - 1 : nl;
	r = parse_request_line(&p->head, s, e, &authority);
	if (r < 0)
		return r;
	r = parse_fields(&p->head, &f, nl + 1, buf + end);
	if (r < 0)
		return r;
	r = decide(p, &f);
	if (r < 0)
		return r;
	if (authority) {
		/* section 3.2.2: the target's authority stands for Host */
		for (i = 0; i < p->head.nfields; i++)
			if (strcasecmp(p->head.fields[i].name, "Host") == 0)
				break;
		if (i == p->head.nfields) {
			p->head.fields[i].name = "Host";
			p->head.nfields++;
		}
		p->head.fields[i].value = authority;
	}
	return (int)end;
}

/* One byte of a chunk-size line, extension or trailer; 0 or -status. */
static int chunk_byte(struct http_parser *p, unsigned char c)
{
	int d;

	switch (p->bstate) {
	case B_SIZE:
		d = str_hexval(c);
		if (d >= 0) {
			p->digits++;
			if (++p->line_len > HTTP_CHUNK_LINE_MAX)
				return -400;
			p->left = p->left * 16 + (uint64_t)d;
			if (p->left > p->max_body - p->body_len)
				return -413;
			return 0;
		}
		if (!p->digits)
			return -400;
		if (c == ';' || c == ' ' || c == '\t') {
			p->bstate = B_EXT;
			return 0;
		}
		if (c == '\r') {
			p->bstate = B_SIZE_LF;
			return 0;
		}
		if (c != '\n')
			return -400;
		break;                  /* the size line is complete */
	case B_EXT:
		if (c == '\r') {
			p->bstate = B_SIZE_LF;
			return 0;
		}
		if (c != '\n') {
			if (!is_field_char(c) || ++p->line_len > HTTP_CHUNK_LINE_MAX)
				return -400;
			return 0;
		}
		break;
	case B_SIZE_LF:
		if (c != '\n')
			return -400;
		break;
	case B_DATA_CR:
		if (c == '\r')
			p->bstate = B_DATA_LF;
		else if (c == '\n')
			p->bstate = B_SIZE;
		else
			return -400;
		return 0;
	case B_DATA_LF:
		if (c != '\n')
			return -400;
		p->bstate = B_SIZE;
		return 0;
	case B_TRAILER:
		if (c == '\r') {
			p->bstate = B_TRAILER_LF;
			return 0;
		}
		if (c == '\n')
			goto trailer_line;
		if (!is_field_char(c))
			return -400;
		p->line_len++;
		if (++p->trailer_len > p->max_head)
			return -431;
		return 0;
	case B_TRAILER_LF:
		if (c != '\n')
			return -400;
		goto trailer_line;
	default:
		return -400;
	}
	/* End of a chunk-size line: data, or the last chunk and the trailer. */
	p->line_len = 0;
	p->digits = 0;
	p->bstate = p->left ? B_DATA : B_TRAILER;
	return 0;
trailer_line:
	if (p->line_len == 0) {
		p->bstate = B_DONE;
		return 0;
	}
	p->line_len = 0;
	p->bstate = B_TRAILER;
	return 0;
}

int http_parse_body(struct http_parser *p, const char *in, size_t len, size_t *ret_used,
		    struct str *ret_data)
{
	size_t i, n;
	int r;

	*ret_used = 0;
	*ret_data = str_from(in, 0);
	switch (p->bstate) {
	case B_NONE:
	case B_DONE:
		return 1;
	case B_LENGTH:
		n = p->left < len ? (size_t)p->left : len;
		*ret_data = str_from(in, n);
		*ret_used = n;
		p->left -= n;
		p->body_len += n;
		if (p->left)
			return 0;
		p->bstate = B_DONE;
		return 1;
	default:
		break;
	}
	for (i = 0; i < len; i++) {
		if (p->bstate == B_DATA) {
			n = p->left < len - i ? (size_t)p->left : len - i;
			*ret_data = str_from(in + i, n);
			*ret_used = i + n;
			p->left -= n;
			p->body_len += n;
			if (!p->left)
				p->bstate = B_DATA_CR;
			return 0;
		}
		r = chunk_byte(p, (unsigned char)in[i]);
		if (r < 0)
			return r;
		if (p->bstate == B_DONE) {
			*ret_used = i + 1;
			return 1;
		}
	}
	*ret_used = len;
	return 0;
}

int http_parse_host(struct str v, struct ipaddr *ret_addr, bool *ret_has_port,
		    uint16_t *ret_port)
{
	struct str host, port = STR_NULL;
	const char *colon;
	struct ipaddr a;
	uint64_t n = 0;
	size_t i;

	v = str_trim(v);
	host = v;
	if (v.len && v.p[0] == '[') {
		const char *close = memchr(v.p, ']', v.len);

		if (!close)
			return -EINVAL;
		host = str_from(v.p, (size_t)(close - v.p) + 1);
		if (host.len < v.len) {
			if (v.p[host.len] != ':')
				return -EINVAL;
			port = str_from(v.p + host.len + 1, v.len - host.len - 1);
		}
	} else if ((colon = memchr(v.p, ':', v.len)) != NULL) {
		host = str_from(v.p, (size_t)(colon - v.p));
		port = str_from(colon + 1, v.len - host.len - 1);
	}
	if (port.p) {
		if (port.len == 0 || port.len > 5)
			return -EINVAL;
		for (i = 0; i < port.len; i++)
			if (port.p[i] < '0' || port.p[i] > '9')
				return -EINVAL;
		if (str_to_u64(port, 65535, &n) < 0)
			return -EINVAL;
	}
	if (ipaddr_parse_host(host, true, &a) < 0)
		return -EINVAL;
	*ret_addr = a;
	*ret_has_port = port.p != NULL;
	*ret_port = (uint16_t)n;
	return 0;
}

const char *http_reason(unsigned status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}
