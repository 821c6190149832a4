/*
 * fuzz_ctl.c - libFuzzer target for the control socket's requests
 * (docs/CLI.md): proto/ctl.c's word splitting and parser, and the
 * commands of svc/ctl.c over an engine on the sim backend (admin
 * mappings, listings in parts, flush, the WAN connection, the log level).
 *
 * Input: byte 0 chooses the configuration (fuzz_env.h); the rest is up
 * to MAX_REQUESTS request lines separated by '\n'. The clock moves one
 * second before each line (leases run out, the slow simulated link of
 * FUZZ_CONFIG_TINY completes).
 *
 * Checks: every answer ends with exactly one status line ("ok" or
 * "error NNN text"), no data line looks like one, no answer part passes
 * IGDD_CTL_MAX_OUT, no answer holds a control byte other than its line
 * ends; a request that fails leaves the table's size and SystemUpdateID
 * as they were, and one that succeeds moves SystemUpdateID by at most
 * one; what ctl_quote() writes splits back into the same words.
 */
#include "fuzz_env.h"

#include "core/mapping.h"
#include "proto/ctl.h"
#include "svc/ctl.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 16
#define MAX_PARTS 4096

/* Every line of one answer part: data lines, and where the status is. */
static void check_lines(const char *p, size_t len, bool *ret_status, bool *ret_ok)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n;

		FUZZ_CHECK(nl != NULL);                 /* whole lines only */
		n = (size_t)(nl - (p + i));
		FUZZ_CHECK(!*ret_status);               /* nothing after the status line */
		if (n == 2 && memcmp(p + i, "ok", 2) == 0) {
			*ret_status = true;
			*ret_ok = true;
		} else if (n >= 6 && memcmp(p + i, "error ", 6) == 0) {
			FUZZ_CHECK(n >= 10 && p[i + 6] >= '1' && p[i + 6] <= '5' && p[i + 9] == ' ');
			*ret_status = true;
			*ret_ok = false;
		}
		for (; p + i < nl; i++) {
			unsigned char c = (unsigned char)p[i];

			FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		}
		i++;
	}
}

/* The words of line, quoted again, split into the same words. */
static void check_quote(const char *line, size_t len)
{
	const char *w1[CTL_MAX_WORDS], *w2[CTL_MAX_WORDS], *err;
	char t1[IGDD_CTL_MAX_LINE + 1], t2[4 * IGDD_CTL_MAX_LINE + 8];
	struct buf b;
	int n1, n2, i;

	if (len > IGDD_CTL_MAX_LINE)
		return;
	n1 = ctl_split(line, len, t1, w1, CTL_MAX_WORDS, &err);
	if (n1 < 0)
		return;
	buf_init(&b, sizeof(t2) - 1);
	for (i = 0; i < n1; i++) {
		if (i)
			buf_puts(&b, " ");
		FUZZ_CHECK(ctl_quote(&b, w1[i]) == 0);
	}
	FUZZ_CHECK(!b.toobig);
	n2 = ctl_split(b.p ? b.p : "", b.len, t2, w2, CTL_MAX_WORDS, &err);
	FUZZ_CHECK(n2 == n1);
	for (i = 0; i < n1; i++)
		FUZZ_CHECK(strcmp(w1[i], w2[i]) == 0);
	buf_free(&b);
}

static void run_one(struct fuzz_env *env, struct ctl_session *s, const char *line, size_t len)
{
	struct engine *e = &env->e;
	uint32_t id = e->system_update_id;
	size_t count = map_count(e->maps);
	enum log_level level = log_get_level();
	bool status = false, ok = false;
	struct buf out;
	unsigned parts = 0;
	int more;

	buf_init(&out, IGDD_CTL_MAX_OUT);
	more = ctl_handle(s, line, len, &out);
	for (;;) {
		FUZZ_CHECK(!out.toobig && out.len <= IGDD_CTL_MAX_OUT);
		check_lines(out.p ? out.p : "", out.len, &status, &ok);
		FUZZ_CHECK(more ? !status : status);
		if (!more || ++parts > MAX_PARTS)
			break;
		buf_reset(&out);
		more = ctl_more(s, &out);
	}
	FUZZ_CHECK(!more);
	buf_free(&out);
	if (!ok) {
		/* A flush the backend half refused is the one partial change;
		 * the sim backend never refuses. */
		FUZZ_CHECK(e->system_update_id == id);
		FUZZ_CHECK(map_count(e->maps) == count);
	} else {
		FUZZ_CHECK(e->system_update_id - id <= 1);
	}
	log_set_level(level);
	check_quote(line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_env env;
	struct ctl_session s;
	const char *p, *end;
	unsigned k;

	if (size < 1)
		return 0;
	if (fuzz_env_init(&env, (enum fuzz_config)(data[0] % FUZZ_CONFIG_COUNT), true) < 0)
		return 0;
	ctl_session_init(&s, &env.e, 0);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (k = 0; k < MAX_REQUESTS && p < end; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		fuzz_env_advance(&env, 1000);
		run_one(&env, &s, p, len);
		fuzz_drain_events(env.gena, false);
		p += len + (nl ? 1 : 0);
	}
	fuzz_env_fini(&env);
	return 0;
}
