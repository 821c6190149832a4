/*
 * test_http.c - proto/http: HTTP/1.x request heads and bodies (RFC 9112
 * sections 2.2, 3, 5, 6, 7.1, 9.3; RFC 9110 10.1.1): every error status
 * the parser answers with, absolute-form and query handling, persistence,
 * Expect, Content-Length and chunked bodies, pipelined requests, the head
 * and body limits, and the same results when a request arrives one byte
 * at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"
#include "util/limits.h"

#define MAX_HEAD IGDD_HTTP_MAX_HEAD
#define MAX_BODY IGDD_HTTP_MAX_BODY
#define BUF_SIZE (MAX_HEAD + 4096)

static char work[BUF_SIZE];

/* Parse req whole; the head result (length, 0 or -status). */
static int head_whole(struct http_parser *p, const char *req, size_t len)
{
	assert_true(len <= sizeof(work));
	memcpy(work, req, len);
	http_parser_init(p, MAX_HEAD, MAX_BODY);
	return http_parse_head(p, work, len);
}

/* The same, the buffer growing one byte per call. */
static int head_bytewise(struct http_parser *p, const char *req, size_t len)
{
	size_t i;
	int r = 0;

	assert_true(len <= sizeof(work));
	memcpy(work, req, len);
	http_parser_init(p, MAX_HEAD, MAX_BODY);
	for (i = 1; i <= len; i++) {
		r = http_parse_head(p, work, i);
		if (r != 0)
			break;
	}
	return r;
}

/*
 * Decode the body at in[0..len), fed in pieces of step bytes (0: at
 * once); the decoded text into out. 1 complete (*ret_used: bytes used),
 * 0 incomplete, or -status.
 */
static int body_decode(struct http_parser *p, const char *in, size_t len, size_t step,
		       char *out, size_t outsz, size_t *ret_outlen, size_t *ret_used)
{
	size_t off = 0, avail, outlen = 0, used;
	struct str data;
	int r = 0;

	avail = step ? (step < len ? step : len) : len;
	for (;;) {
		r = http_parse_body(p, in + off, avail - off, &used, &data);
		if (r < 0)
			break;
		if (data.len) {
			assert_true(outlen + data.len <= outsz);
			memcpy(out + outlen, data.p, data.len);
			outlen += data.len;
		}
		off += used;
		if (r == 1)
			break;
		if (used == 0 || off == avail) {
			if (avail == len)
				break;
			avail = avail + step < len ? avail + step : len;
		}
	}
	*ret_outlen = outlen;
	if (ret_used)
		*ret_used = off;
	return r;
}

static const char *field(const struct http_parser *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->head.nfields; i++)
		if (strcasecmp(p->head.fields[i].name, name) == 0)
			return p->head.fields[i].value;
	return NULL;
}

static void test_simple_get(void **state)
{
	static const char req[] = "GET /rootDesc.xml?x=1 HTTP/1.1\r\nHost: 192.168.1.1:5000\r\n"
				  "User-Agent:  curl/7.88 \t\r\nX-Empty:\r\n\r\n";
	struct http_parser p;
	int r;

	(void)state;
	r = head_whole(&p, req, sizeof(req) - 1);
	assert_int_equal(r, (int)sizeof(req) - 1);
	assert_string_equal(p.head.method, "GET");
	assert_string_equal(p.head.path, "/rootDesc.xml");
	assert_int_equal(p.head.minor, 1);
	assert_int_equal(p.head.nfields, 3);
	assert_string_equal(field(&p, "host"), "192.168.1.1:5000");
	assert_string_equal(field(&p, "User-Agent"), "curl/7.88");
	assert_string_equal(field(&p, "X-Empty"), "");
	assert_true(p.head.keep_alive);
	assert_false(p.head.expect_continue);
	assert_int_equal(p.head.framing, HTTP_BODY_NONE);
	assert_int_equal(head_bytewise(&p, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	assert_string_equal(p.head.path, "/rootDesc.xml");
}

static void test_line_endings(void **state)
{
	/* LF alone ends lines (2.2); empty lines before the request line are skipped. */
	static const char req[] = "\r\n\nPOST /ctl/IPConn HTTP/1.0\nHost: a\nContent-Length: 3\n\nabc";
	struct http_parser p;
	char out[16];
	size_t outlen, used;
	int r;

	(void)state;
	r = head_whole(&p, req, sizeof(req) - 1);
	assert_int_equal(r, (int)sizeof(req) - 4);
	assert_string_equal(p.head.method, "POST");
	assert_int_equal(p.head.minor, 0);
	assert_false(p.head.keep_alive);
	assert_int_equal(p.head.framing, HTTP_BODY_LENGTH);
	assert_int_equal(p.head.content_length, 3);
	assert_int_equal(body_decode(&p, work + r, 3, 0, out, sizeof(out), &outlen, &used), 1);
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(head_bytewise(&p, req, sizeof(req) - 1), (int)sizeof(req) - 4);
}

struct persist_row {
	const char *req;
	bool keep_alive;
};

static void test_persistence(void **state)
{
	static const struct persist_row rows[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, Close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true },
	};
	struct http_parser p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = head_whole(&p, rows[i].req, strlen(rows[i].req));

		if (r <= 0 || p.head.keep_alive != rows[i].keep_alive)
			fail_msg("row %zu: r %d keep_alive %d", i, r, p.head.keep_alive);
	}
}

static void test_targets(void **state)
{
	struct http_parser p;
	const char *req;

	(void)state;
	/* absolute-form: the path is served, the authority stands for Host (3.2.2) */
	req = "GET http://192.168.1.1:5000/ctl/IPConn?q HTTP/1.1\r\nHost: evil.example\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_string_equal(p.head.path, "/ctl/IPConn");
	assert_string_equal(field(&p, "Host"), "192.168.1.1:5000");
	assert_int_equal(p.head.nfields, 1);
	req = "GET HTTP://192.168.1.1 HTTP/1.0\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_string_equal(p.head.path, "/");
	assert_string_equal(field(&p, "Host"), "192.168.1.1");
	req = "GET http://10.0.0.1?x HTTP/1.1\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_string_equal(p.head.path, "/");
	assert_string_equal(field(&p, "Host"), "10.0.0.1");
	req = "GET /a?b?c HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_string_equal(p.head.path, "/a");
}

struct err_row {
	const char *name;
	const char *req;
	int status;
};

static const struct err_row err_rows[] = {
	{ "HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505 },
	{ "HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505 },
	{ "HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", 505 },
	{ "version junk", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400 },
	{ "version lower case", "GET / http/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "version two digits", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400 },
	{ "no version", "GET /\r\n\r\n", 400 },
	{ "two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400 },
	{ "method not a token", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "relative target", "GET rootDesc.xml HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "absolute-form without authority", "GET http:///x HTTP/1.1\r\n\r\n", 400 },
	{ "other scheme", "GET ftp://h/x HTTP/1.1\r\n\r\n", 400 },
	{ "bare CR in the request line", "GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", 400 },
	{ "control in the target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400 },
	{ "obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400 },
	{ "obs-fold with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400 },
	{ "space before the colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400 },
	{ "no colon", "GET / HTTP/1.1\r\nHost: h\r\ngarbage\r\n\r\n", 400 },
	{ "empty name", "GET / HTTP/1.1\r\n: h\r\n\r\n", 400 },
	{ "bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400 },
	{ "control in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400 },
	{ "DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400 },
	{ "two Host fields", "GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n", 400 },
	{ "Content-Length not a number", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400 },
	{ "Content-Length negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "Content-Length plus", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400 },
	{ "Content-Length empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400 },
	{ "Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400 },
	{ "Content-Length twice", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400 },
	{ "Content-Length 16385", "POST / HTTP/1.1\r\nContent-Length: 16385\r\n\r\n", 413 },
	{ "Content-Length 30 digits", "POST / HTTP/1.1\r\nContent-Length: 999999999999999999999999999999\r\n\r\n", 413 },
	{ "Content-Length 2^64", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", 413 },
	{ "Content-Length and chunked", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "chunked and Content-Length", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400 },
	{ "Transfer-Encoding twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
	{ "Transfer-Encoding gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
	{ "Transfer-Encoding gzip, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
	{ "Expect other", "POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n", 417 },
	{ "Expect other without a body", "GET / HTTP/1.1\r\nHost: h\r\nExpect: x\r\n\r\n", 417 },
};

static void test_errors(void **state)
{
	struct http_parser p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		size_t len = strlen(err_rows[i].req);
		int r = head_whole(&p, err_rows[i].req, len);
		int rb = head_bytewise(&p, err_rows[i].req, len);

		if (r != -err_rows[i].status || rb != r)
			fail_msg("%s: %d (byte by byte %d), expected %d", err_rows[i].name, r, rb,
				 -err_rows[i].status);
	}
}

static void test_nul_in_head(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
	static const char req2[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser p;

	(void)state;
	assert_int_equal(head_whole(&p, req, sizeof(req) - 1), -400);
	assert_int_equal(head_whole(&p, req2, sizeof(req2) - 1), -400);
}

static void test_expect(void **state)
{
	struct http_parser p;
	const char *req;

	(void)state;
	req = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_true(p.head.expect_continue);
	req = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_true(p.head.expect_continue);
	/* nothing to continue to */
	req = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_false(p.head.expect_continue);
	/* HTTP/1.0: ignored (RFC 9110 10.1.1) */
	req = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
	assert_false(p.head.expect_continue);
	req = "POST / HTTP/1.0\r\nExpect: something\r\nContent-Length: 5\r\n\r\n";
	assert_true(head_whole(&p, req, strlen(req)) > 0);
}

static void test_field_count(void **state)
{
	static char req[MAX_HEAD];
	struct http_parser p;
	size_t n = 0;
	int i;

	(void)state;
	/* IGDD_HTTP_MAX_HEADERS fields: fine; one more: 431 */
	n += (size_t)snprintf(req + n, sizeof(req) - n, "GET / HTTP/1.1\r\n");
	for (i = 0; i < IGDD_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-%d: y\r\n", i);
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n");
	assert_int_equal(head_whole(&p, req, n), (int)n);
	assert_int_equal(p.head.nfields, IGDD_HTTP_MAX_HEADERS);
	n -= 2;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "X-last: y\r\n\r\n");
	assert_int_equal(head_whole(&p, req, n), -431);
	assert_int_equal(head_bytewise(&p, req, n), -431);
}

static void test_head_limit(void **state)
{
	static char req[MAX_HEAD + 2048];
	struct http_parser p;
	size_t n;

	(void)state;
	/* A head of exactly IGDD_HTTP_MAX_HEAD bytes is fine. */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX: ");
	memset(req + n, 'a', MAX_HEAD - n - 4);
	memcpy(req + MAX_HEAD - 4, "\r\n\r\n", 4);
	assert_int_equal(head_whole(&p, req, MAX_HEAD), MAX_HEAD);
	/* One more byte of field: 431, whether complete or still arriving. */
	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX: ");
	memset(req + n, 'a', MAX_HEAD - n - 3);
	memcpy(req + MAX_HEAD - 3, "\r\n\r\n", 4);
	assert_int_equal(head_whole(&p, req, MAX_HEAD + 1), -431);
	assert_int_equal(head_whole(&p, req, MAX_HEAD), -431);
	assert_int_equal(head_bytewise(&p, req, MAX_HEAD + 1), -431);
	/* A request line that does not end within the limit: 414. */
	memcpy(req, "GET /", 5);
	memset(req + 5, 'u', sizeof(req) - 5);
	assert_int_equal(head_whole(&p, req, MAX_HEAD), -414);
	assert_int_equal(head_bytewise(&p, req, MAX_HEAD), -414);
	n = (size_t)snprintf(req + MAX_HEAD, 64, " HTTP/1.1\r\n\r\n");
	assert_int_equal(head_whole(&p, req, MAX_HEAD + n), -414);
	/* Below the limit and incomplete: more, please. */
	assert_int_equal(head_whole(&p, req, MAX_HEAD - 1), 0);
	/* Nothing but empty lines up to the limit. */
	memset(req, '\n', MAX_HEAD);
	assert_int_equal(head_whole(&p, req, MAX_HEAD), -400);
}

static void test_chunked(void **state)
{
	static const char req[] = "POST /ctl/IPConn HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
				  "5\r\nhello\r\n6;ext=1;q=\"a b\"\r\n world\r\n000A \r\n0123456789\r\n"
				  "0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n"
				  "GET / HTTP/1.1\r\n";
	static const char lf[] = "3\nabc\n0\n\n";
	struct http_parser p;
	char out[64];
	size_t outlen, used, step;
	int h;

	(void)state;
	for (step = 0; step < 8; step++) {
		h = head_whole(&p, req, sizeof(req) - 1);
		assert_true(h > 0);
		assert_int_equal(p.head.framing, HTTP_BODY_CHUNKED);
		assert_int_equal(body_decode(&p, work + h, sizeof(req) - 1 - (size_t)h, step, out,
					     sizeof(out), &outlen, &used), 1);
		assert_int_equal(outlen, 21);
		assert_memory_equal(out, "hello world0123456789", 21);
		/* what follows is the next request */
		assert_int_equal((size_t)h + used, sizeof(req) - 1 - 16);
		assert_memory_equal(work + h + used, "GET / HTTP/1.1\r\n", 16);
	}
	http_parser_init(&p, MAX_HEAD, MAX_BODY);
	assert_true(head_whole(&p, "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n", 44) > 0);
	assert_int_equal(body_decode(&p, lf, sizeof(lf) - 1, 1, out, sizeof(out), &outlen, &used), 1);
	assert_int_equal(outlen, 3);
	assert_int_equal(used, sizeof(lf) - 1);
}

struct chunk_err_row {
	const char *name;
	const char *body;
	int status;                     /* 0: incomplete */
};

static void test_chunked_errors(void **state)
{
	static const char head[] = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const struct chunk_err_row rows[] = {
		{ "size not hex", "zz\r\nabc\r\n0\r\n\r\n", 400 },
		{ "no size", "\r\nabc\r\n0\r\n\r\n", 400 },
		{ "extension without size", ";x\r\n", 400 },
		{ "size then junk", "3x\r\nabc\r\n0\r\n\r\n", 400 },
		{ "no CRLF after data", "3\r\nabcX\r\n0\r\n\r\n", 400 },
		{ "CR then junk after data", "3\r\nabc\rX0\r\n\r\n", 400 },
		{ "bare CR after size", "3\rX", 400 },
		{ "control in an extension", "3;\x01\r\nabc\r\n", 400 },
		{ "control in a trailer", "0\r\nX: \x01\r\n\r\n", 400 },
		{ "chunk over the limit", "4001\r\n", 413 },
		{ "huge chunk size", "ffffffffffffffffffff\r\n", 413 },
		{ "chunks over the limit", "2000\r\n", 0 },  /* completed below */
		{ "cut short", "5\r\nab", 0 },
	};
	struct http_parser p;
	static char out[MAX_BODY + 1];
	size_t i, outlen, used;
	int h, r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		h = head_whole(&p, head, sizeof(head) - 1);
		assert_true(h > 0);
		r = body_decode(&p, rows[i].body, strlen(rows[i].body), 0, out, sizeof(out), &outlen,
				&used);
		if (r != -rows[i].status)
			fail_msg("%s: %d, expected %d", rows[i].name, r, -rows[i].status);
		h = head_whole(&p, head, sizeof(head) - 1);
		r = body_decode(&p, rows[i].body, strlen(rows[i].body), 1, out, sizeof(out), &outlen,
				&used);
		if (r != -rows[i].status)
			fail_msg("%s byte by byte: %d, expected %d", rows[i].name, r, -rows[i].status);
	}
	/* Two chunks of 8192: the limit exactly; one byte more: 413. */
	{
		static char body[2 * (8192 + 16) + 32];
		size_t n = 0;

		h = head_whole(&p, head, sizeof(head) - 1);
		n += (size_t)snprintf(body + n, sizeof(body) - n, "2000\r\n");
		memset(body + n, 'a', 8192);
		n += 8192;
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\r\n2000\r\n");
		memset(body + n, 'b', 8192);
		n += 8192;
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\r\n0\r\n\r\n");
		assert_int_equal(body_decode(&p, body, n, 0, out, sizeof(out), &outlen, &used), 1);
		assert_int_equal(outlen, MAX_BODY);
		h = head_whole(&p, head, sizeof(head) - 1);
		memcpy(body + n - 5, "1\r\n", 3);
		assert_int_equal(body_decode(&p, body, n - 2, 0, out, sizeof(out), &outlen, &used),
				 -413);
	}
	/* A chunk-size line with 1100 leading zeros: too long. */
	{
		static char body[1200];

		h = head_whole(&p, head, sizeof(head) - 1);
		memset(body, '0', 1100);
		memcpy(body + 1100, "1\r\nx\r\n0\r\n\r\n", 11);
		assert_int_equal(body_decode(&p, body, 1111, 0, out, sizeof(out), &outlen, &used),
				 -400);
	}
	/* Trailer fields larger than the head limit: 431. */
	{
		static char body[MAX_HEAD + 64];

		h = head_whole(&p, head, sizeof(head) - 1);
		memcpy(body, "0\r\nX: ", 6);
		memset(body + 6, 't', MAX_HEAD);
		assert_int_equal(body_decode(&p, body, MAX_HEAD + 6, 0, out, sizeof(out), &outlen,
					     &used), -431);
	}
	(void)h;
}

static void test_content_length_body(void **state)
{
	/* Two pipelined requests in one buffer. */
	static const char req[] = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789"
				  "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_parser p;
	char out[32];
	size_t outlen, used, off;
	int h;

	(void)state;
	h = head_whole(&p, req, sizeof(req) - 1);
	assert_true(h > 0);
	assert_string_equal(p.head.path, "/a");
	assert_int_equal(body_decode(&p, work + h, sizeof(req) - 1 - (size_t)h, 3, out, sizeof(out),
				     &outlen, &used), 1);
	assert_int_equal(outlen, 10);
	assert_int_equal(used, 10);
	off = (size_t)h + used;
	http_parser_reset(&p);
	h = http_parse_head(&p, work + off, sizeof(req) - 1 - off);
	assert_int_equal(h, (int)(sizeof(req) - 1 - off));
	assert_string_equal(p.head.method, "GET");
	assert_string_equal(p.head.path, "/b");
	assert_int_equal(http_parse_body(&p, work + off + h, 0, &used, &(struct str){ 0 }), 1);
	/* A body that stops short: incomplete. */
	h = head_whole(&p, req, sizeof(req) - 1);
	assert_int_equal(body_decode(&p, work + h, 4, 1, out, sizeof(out), &outlen, &used), 0);
	assert_int_equal(outlen, 4);
	/* Content-Length: 0 and the limit itself. */
	assert_true(head_whole(&p, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 38) > 0);
	assert_int_equal(p.head.framing, HTTP_BODY_NONE);
	assert_true(head_whole(&p, "POST / HTTP/1.1\r\nContent-Length: 016384\r\n\r\n", 43) > 0);
	assert_int_equal(p.head.content_length, MAX_BODY);
}

/* Heads of many shapes give the same result whole and byte by byte. */
static void test_bytewise_equivalence(void **state)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\n\r\n",
		"\n\nGET / HTTP/1.1\n\n",
		"GET / HTTP/1.1\r\nA: b\r\n\r",
		"GET / HTTP/1.1\r\n\r",
		"GET / HTTP/1.1\r\nA:b\n\r\n",
		"SUBSCRIBE /evt/IPConn HTTP/1.1\r\nHOST: 1.2.3.4:5\r\nCALLBACK: <http://1.2.3.5/>\r\n"
		"NT: upnp:event\r\nTIMEOUT: Second-1800\r\n\r\n",
		"\r",
		"\r\r\n",
	};
	struct http_parser p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		size_t len = strlen(reqs[i]);
		int a = head_whole(&p, reqs[i], len), b = head_bytewise(&p, reqs[i], len);

		if (a != b)
			fail_msg("row %zu: whole %d, byte by byte %d", i, a, b);
	}
}

static void test_reason(void **state)
{
	(void)state;
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(100), "Continue");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
	assert_string_equal(http_reason(299), "");
}

/* The Host field as igdd reads it (http_parse_host()): (value, address,
 * port or -1 for none); address NULL: refused. */
struct host_row {
	const char *value;
	const char *addr;
	int port;
};

static const struct host_row host_rows[] = {
	{ "192.168.1.1", "192.168.1.1", -1 },
	{ "192.168.1.1:5000", "192.168.1.1", 5000 },
	{ " 192.168.1.1:5000 ", "192.168.1.1", 5000 },
	{ "192.168.1.1:0", "192.168.1.1", 0 },
	{ "192.168.1.1:65535", "192.168.1.1", 65535 },
	{ "192.168.1.1:005000", NULL, 0 },              /* more than 5 digits */
	{ "192.168.1.1:65536", NULL, 0 },
	{ "192.168.1.1:", NULL, 0 },
	{ "192.168.1.1:+80", NULL, 0 },
	{ "192.168.1.1:80:80", NULL, 0 },
	{ "[2001:db8:1::1]", "2001:db8:1::1", -1 },
	{ "[2001:db8:1::1]:5000", "2001:db8:1::1", 5000 },
	{ "[FE80::1%25eth0]:5000", "fe80::1", 5000 },   /* miniupnpc's SOAP Host */
	{ "[fe80::1%eth0]:5000", "fe80::1", 5000 },
	{ "[fe80::1]:5000", "fe80::1", 5000 },          /* GUPnP's */
	{ "[2001:db8:1::1%25eth0]:5000", NULL, 0 },     /* a zone on a global address */
	{ "[2001:db8:1::1]5000", NULL, 0 },
	{ "[2001:db8:1::1]:", NULL, 0 },
	{ "[2001:db8:1::1", NULL, 0 },
	{ "2001:db8:1::1", NULL, 0 },                   /* IPv6 without brackets */
	{ "2001:db8:1::1:5000", NULL, 0 },
	{ "[::ffff:192.168.1.1]:5000", "192.168.1.1", 5000 },
	{ "router.lan:5000", NULL, 0 },                 /* no names (DNS rebinding) */
	{ "localhost", NULL, 0 },
	{ "", NULL, 0 },
	{ ":5000", NULL, 0 },
};

static void test_host(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(host_rows) / sizeof(host_rows[0]); i++) {
		const struct host_row *r = &host_rows[i];
		char text[IPADDR_STRLEN];
		struct ipaddr a;
		uint16_t port = 1;
		bool has = true;
		int rc = http_parse_host(str_cstr(r->value), &a, &has, &port);

		if (!r->addr) {
			if (rc == 0)
				fail_msg("'%s': accepted", r->value);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': refused", r->value);
		assert_string_equal(ipaddr_ntop(&a, text, sizeof(text)), r->addr);
		assert_int_equal(has, r->port >= 0);
		if (r->port >= 0)
			assert_int_equal(port, r->port);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_in_head),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_field_count),
		cmocka_unit_test(test_head_limit),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_content_length_body),
		cmocka_unit_test(test_bytewise_equivalence),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
