/*
 * fuzz_http.c - libFuzzer target for the request handling behind
 * libmicrohttpd: svc/httpd.c's router (UDA 1.1 sections 2 - 4: the
 * LAN and Host checks, description documents, SOAP control, GENA
 * SUBSCRIBE / UNSUBSCRIBE) with the sim backend and a GENA manager,
 * as net/http_io.c drives it.
 *
 * Input: byte 0 picks the configuration. Then up to MAX_REQUESTS
 * requests separated by a line starting with ">>>" (the golden cases'
 * marker); each starts with a control byte (bits 0-2 the peer, bits 3-4
 * how far the clock moves first, bit 5 the SUBSCRIBE response is lost,
 * bit 6 event deliveries fail) followed by the raw request: request line,
 * header lines, an empty line, the body. The request text is cut the
 * way libmicrohttpd hands it over (method, path without the query,
 * version, header name/value pairs, body), leniently: what MHD would
 * refuse outright is still passed on, to test the router alone.
 *
 * Checks: a status in 100..599; no CR or LF in a response header; every
 * XML body (documents, SOAP answers) and every NOTIFY body well-formed;
 * no body over its limit; NOTIFY heads well-formed.
 */
#define _GNU_SOURCE             /* memmem */

#include "fuzz_env.h"

#include "svc/gena.h"
#include "svc/httpd.h"
#include "util/limits.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 8

struct request {
	char *copy;
	struct http_header headers[IGDD_HTTP_MAX_HEADERS];
	struct http_request req;
};

static size_t line_len(const char *p, size_t len, size_t *ret_next)
{
	const char *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) : len;

	*ret_next = nl ? n + 1 : len;
	if (n && p[n - 1] == '\r')
		n--;
	return n;
}

static char *trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Cut p[0..len) into r (strings in r->copy). */
static void parse_request(const char *p, size_t len, struct request *r)
{
	char *s, *end, *sp, *q;
	size_t n, next, body_off;

	memset(r, 0, sizeof(*r));
	r->copy = fuzz_strndup(p, len);
	r->req.headers = r->headers;
	r->req.http_minor = 1;
	s = r->copy;
	end = r->copy + len;

	/* Request line: METHOD SP URL SP VERSION. */
	n = line_len(s, (size_t)(end - s), &next);
	s[n] = '\0';
	r->req.method = s;
	r->req.url = "";
	sp = strchr(s, ' ');
	if (sp) {
		*sp = '\0';
		r->req.url = sp + 1;
		sp = strchr(sp + 1, ' ');
		if (sp) {
			*sp = '\0';
			r->req.http_minor = strcmp(sp + 1, "HTTP/1.0") == 0 ? 0 : 1;
		}
		if ((q = strchr(r->req.url, '?')) != NULL)
			*q = '\0';
	}
	s += next;

	/* Header lines up to the empty one. */
	body_off = len;
	while (s < end) {
		char *colon;

		n = line_len(s, (size_t)(end - s), &next);
		if (n == 0) {
			body_off = (size_t)(s + next - r->copy);
			break;
		}
		s[n] = '\0';
		colon = strchr(s, ':');
		if (colon && r->req.nheaders < IGDD_HTTP_MAX_HEADERS) {
			*colon = '\0';
			r->headers[r->req.nheaders].name = s;
			r->headers[r->req.nheaders].value = trim(colon + 1);
			r->req.nheaders++;
		}
		s += next;
	}
	/* The body: the original bytes (the copy's lines were cut). */
	r->req.body = str_from(p + body_off, len - body_off);
}

static void check_header_text(const char *s)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strpbrk(s, "\r\n") == NULL);
}

static void check_response(const struct http_response *resp)
{
	size_t i;

	FUZZ_CHECK(resp->status >= 100 && resp->status <= 599);
	FUZZ_CHECK(!resp->body.toobig);
	FUZZ_CHECK(resp->nheaders <= HTTP_MAX_RESP_HEADERS);
	for (i = 0; i < resp->nheaders; i++) {
		check_header_text(resp->hdr_name[i]);
		check_header_text(resp->hdr_value[i]);
	}
	if (resp->content_type && strstr(resp->content_type, "xml") && resp->body.len)
		FUZZ_CHECK(fuzz_xml_well_formed(resp->body.p, resp->body.len));
}

static void run_one(struct fuzz_env *env, uint8_t ctl, const char *p, size_t len)
{
	static const uint64_t advance_ms[4] = { 0, 1000, 61000, 3601000 };
	struct http_response resp;
	struct request r;
	char sid[GENA_SID_SIZE];

	if (advance_ms[(ctl >> 3) & 3])
		fuzz_env_advance(env, advance_ms[(ctl >> 3) & 3]);
	parse_request(p, len, &r);
	r.req.peer = fuzz_peer(ctl & 7);
	http_response_init(&resp);
	httpd_handle(&env->e, &r.req, &resp);
	check_response(&resp);
	if (env->gena && strcmp(r.req.method, "SUBSCRIBE") == 0 && gena_response_sid(&resp, sid)) {
		if (ctl & 0x20)
			gena_response_failed(env->gena, sid);
		else
			gena_response_sent(env->gena, sid);
	}
	http_response_free(&resp);
	free(r.copy);
	if (env->gena)
		fuzz_drain_events(env->gena, ctl & 0x40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *mark;
	struct fuzz_env env;
	unsigned n = 0;

	if (size < 2 || size > 8 * IGDD_HTTP_MAX_BODY)
		return 0;
	if (fuzz_env_init(&env, (enum fuzz_config)(data[0] % FUZZ_CONFIG_COUNT), true) < 0)
		return 0;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && n++ < MAX_REQUESTS) {
		uint8_t ctl = (uint8_t)*p++;

		mark = memmem(p, (size_t)(end - p), "\n>>>", 4);
		run_one(&env, ctl, p, (size_t)((mark ? mark + 1 : end) - p));
		if (!mark)
			break;
		p = mark + 4;
		/* The rest of the marker line (a peer address in a golden case). */
		while (p < end && *p != '\n')
			p++;
		if (p < end)
			p++;
	}
	fuzz_env_advance(&env, 86401u * 1000u);
	fuzz_env_fini(&env);
	return 0;
}
