/*
 * fuzz_gena.c - libFuzzer target for GENA (UDA 1.1 section 4): header
 * sets through proto/gena.c's parser (gena_parse, gena_parse_callback,
 * gena_parse_timeout), then through the subscription manager of
 * svc/gena.c (subscribe, renew, cancel, the limits, CALLBACK addresses,
 * changes, event queues and their delivery, expiry), and the status
 * line of a subscriber's answer to a NOTIFY (gena_parse_status_line).
 *
 * Input: up to MAX_REQUESTS requests separated by a line starting with
 * ">>>"; each starts with a control byte (bit 0 UNSUBSCRIBE, bit 1 the
 * WANCommonInterfaceConfig event URL, bits 2-4 the peer, bit 5 the
 * response is lost, bits 6-7 how far the clock moves first), then
 * "NAME: value" header lines, an empty line, and the text of a NOTIFY
 * answer. A SID value "@N" stands for the N-th SID handed out so far
 * (the fuzzer cannot guess the random part). The manager has small
 * limits (8 subscriptions, 3 per source, 3 queued events) so that the
 * fuzzer reaches them. After each request a change is reported (which,
 * from the request's length) and events are delivered, or (length bit 4)
 * handed out and held in flight until a later request (length bit 5) or
 * the end, so that queues fill and collapse.
 *
 * Checks: what the parser returns obeys gena.h (URL count, path syntax
 * and length, TIMEOUT range, SID syntax); the manager never holds more
 * than its limits; every NOTIFY message is well-formed.
 */
#define _GNU_SOURCE             /* memmem */

#include "fuzz_env.h"

#include "svc/gena.h"
#include "svc/httpd.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"
#include "util/limits.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 16
#define MAX_SIDS 8
#define MAX_FIELDS 16

struct sids {
	char s[MAX_SIDS][GENA_SID_SIZE];
	unsigned n;
};

/* Deliveries handed out and not yet reported done. */
struct held {
	struct gena_delivery d[MAX_SIDS];
	unsigned n;
};

static void hold_events(struct gena *g, struct held *h)
{
	while (h->n < MAX_SIDS && gena_next_delivery(g, &h->d[h->n]) == 1)
		h->n++;
}

static void release_events(struct gena *g, struct held *h, bool fail)
{
	unsigned i;

	for (i = 0; i < h->n; i++) {
		gena_delivery_done(g, h->d[i].sub_id, !fail);
		gena_delivery_free(&h->d[i]);
	}
	h->n = 0;
}

static void check_parsed(const struct gena_request *r, const struct gena_timeout_range *tr)
{
	unsigned i;
	size_t k;

	if (r->kind == GENA_SUBSCRIBE) {
		FUZZ_CHECK(r->nurls >= 1 && r->nurls <= IGDD_GENA_MAX_CALLBACK_URLS);
		for (i = 0; i < r->nurls; i++) {
			const char *path = r->urls[i].path;

			FUZZ_CHECK(r->urls[i].port != 0);
			FUZZ_CHECK(path[0] == '/');
			FUZZ_CHECK(strlen(path) <= IGDD_GENA_MAX_CALLBACK_LEN);
			for (k = 0; path[k]; k++)
				FUZZ_CHECK(path[k] > 0x20 && path[k] < 0x7f && path[k] != '#');
		}
	} else {
		FUZZ_CHECK(strncasecmp(r->sid, "uuid:", 5) == 0 && strlen(r->sid) < GENA_SID_SIZE);
	}
	if (r->kind != GENA_UNSUBSCRIBE)
		FUZZ_CHECK(r->timeout_s >= tr->min && r->timeout_s <= tr->max);
}

/* Header lines of p[0..len) into req (values NUL-terminated in copy). */
static size_t parse_headers(char *copy, size_t len, struct http_header *h, size_t max,
			    size_t *ret_n)
{
	size_t pos = 0, n = 0;

	while (pos < len) {
		char *line = copy + pos, *nl = memchr(line, '\n', len - pos), *colon;
		size_t l = nl ? (size_t)(nl - line) : len - pos;

		pos += nl ? l + 1 : l;
		if (l && line[l - 1] == '\r')
			l--;
		line[l] = '\0';
		if (l == 0)
			break;
		colon = strchr(line, ':');
		if (!colon || n == max)
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n].value = colon + 1 + strspn(colon + 1, " \t");
		n++;
	}
	*ret_n = n;
	return pos;
}

static void run_one(struct fuzz_env *env, struct sids *sids, struct held *held, uint8_t ctl,
		    const char *p, size_t len)
{
	static const uint64_t advance_ms[4] = { 0, 1000, 31000, 1801000 };
	struct http_header h[MAX_FIELDS];
	struct gena_timeout_range tr = { GENA_TIMEOUT_DEFAULT, GENA_TIMEOUT_MIN, GENA_TIMEOUT_MAX };
	struct http_response resp;
	struct http_request req;
	struct gena_headers gh;
	struct gena_request gr;
	struct gena_url urls[IGDD_GENA_MAX_CALLBACK_URLS];
	char *copy = fuzz_strndup(p, len), sid[GENA_SID_SIZE];
	size_t nh, i, body;
	int r;

	if (advance_ms[ctl >> 6])
		fuzz_env_advance(env, advance_ms[ctl >> 6]);
	memset(&req, 0, sizeof(req));
	body = parse_headers(copy, len, h, MAX_FIELDS, &nh);
	for (i = 0; i < nh; i++)
		if (h[i].value[0] == '@' && sids->n)
			h[i].value = sids->s[(unsigned char)h[i].value[1] % sids->n];
	req.method = (ctl & 1) ? "UNSUBSCRIBE" : "SUBSCRIBE";
	req.url = (ctl & 2) ? wancommon_service()->event_url : wanipconn_service()->event_url;
	req.http_minor = 1;
	req.headers = h;
	req.nheaders = nh;
	req.peer = fuzz_peer((ctl >> 2) & 7);

	/* The pure parser, on its own. */
	gh.callback = http_request_header(&req, "CALLBACK");
	gh.nt = http_request_header(&req, "NT");
	gh.sid = http_request_header(&req, "SID");
	gh.timeout = http_request_header(&req, "TIMEOUT");
	if (gena_parse(ctl & 1, &gh, &tr, &gr) == GENA_OK)
		check_parsed(&gr, &tr);
	if (gh.callback) {
		r = gena_parse_callback(gh.callback, urls, IGDD_GENA_MAX_CALLBACK_URLS);
		FUZZ_CHECK(r == -EINVAL || (r >= 1 && r <= IGDD_GENA_MAX_CALLBACK_URLS));
	}
	r = (int)gena_parse_timeout(gh.timeout, &tr);
	FUZZ_CHECK((unsigned)r >= tr.min && (unsigned)r <= tr.max);

	/* The manager. */
	http_response_init(&resp);
	gena_handle(env->gena, (ctl & 2) ? wancommon_service() : wanipconn_service(), &req, &resp);
	FUZZ_CHECK(resp.status == 200 || resp.status == 400 || resp.status == 412 ||
		   resp.status == 503 || resp.status == 500);
	if (gena_response_sid(&resp, sid)) {
		FUZZ_CHECK(!(ctl & 1));
		if (sids->n < MAX_SIDS)
			memcpy(sids->s[sids->n++], sid, GENA_SID_SIZE);
		if (ctl & 0x20)
			gena_response_failed(env->gena, sid);
		else
			gena_response_sent(env->gena, sid);
	}
	http_response_free(&resp);
	FUZZ_CHECK(gena_count(env->gena) <= 8);

	/* A change, the deliveries, and a subscriber's answer to one. */
	gena_changed(env->gena, (unsigned)(len & 7) | ((len & 8) ? GENA_CHG_WANCOMMON : 0));
	if (len & 32)
		release_events(env->gena, held, ctl & 0x20);
	if (len & 16)
		hold_events(env->gena, held);
	else
		fuzz_drain_events(env->gena, ctl & 0x20);
	r = gena_parse_status_line(copy + body, len - body);
	FUZZ_CHECK(r == -EAGAIN || r == -EINVAL || (r >= 100 && r <= 599));
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *mark;
	struct fuzz_env env;
	struct sids sids;
	struct held held;
	unsigned n = 0;

	if (size < 1 || size > 65536)
		return 0;
	if (fuzz_env_init(&env, FUZZ_CONFIG_SECURE, true) < 0)
		return 0;
	memset(&sids, 0, sizeof(sids));
	held.n = 0;
	p = (const char *)data;
	end = p + size;
	while (p < end && n++ < MAX_REQUESTS) {
		uint8_t ctl = (uint8_t)*p++;

		mark = memmem(p, (size_t)(end - p), "\n>>>", 4);
		run_one(&env, &sids, &held, ctl, p, (size_t)((mark ? mark + 1 : end) - p));
		if (!mark)
			break;
		p = mark + 4;
		while (p < end && *p != '\n')
			p++;
		if (p < end)
			p++;
	}
	release_events(env.gena, &held, false);
	fuzz_drain_events(env.gena, false);
	fuzz_env_advance(&env, 86401u * 1000u);
	FUZZ_CHECK(gena_count(env.gena) == 0);
	fuzz_env_fini(&env);
	return 0;
}
