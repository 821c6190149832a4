/*
 * test_stats.c - core/stats: the counters and their three written forms
 * (igddctl stats text and JSON, the Prometheus text format), the bound
 * on (protocol, action, code) triples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

static struct stats st;

static void fill(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	stats_request(s, STATS_UPNP, "AddPortMapping", 0);
	stats_request(s, STATS_UPNP, "AddPortMapping", 0);
	stats_request(s, STATS_UPNP, "AddPortMapping", 718);
	stats_request(s, STATS_NATPMP, "map_tcp", 0);
	stats_request(s, STATS_PCP, "map", 2);
	stats_event(s, true);
	stats_event(s, true);
	stats_event(s, false);
	stats_helper(s, 1500, false);
	stats_helper(s, 2500000, true);
	stats_refused(s, STATS_REF_PCP_RATE);
	stats_refused(s, STATS_REF_HTTP_PER_IP);
	stats_refused(s, STATS_REF_HTTP_PER_IP);
	stats_refused(s, STATS_NREFUSAL);       /* out of range: ignored */
	stats_request(NULL, STATS_UPNP, "x", 0);        /* no counters: no-op */
}

static const struct stats_gauges gauges = { 42, { 3, 1, 2, 4 }, 5 };

static char *written(int (*fn)(const struct stats *, const struct stats_gauges *, struct buf *))
{
	struct buf b;
	char *text;
	size_t len;

	buf_init(&b, 1 << 20);
	assert_int_equal(fn(&st, &gauges, &b), 0);
	text = buf_steal(&b, &len);
	assert_non_null(text);
	buf_free(&b);
	return text;
}

static void test_text(void **state)
{
	char *t;

	(void)state;
	fill(&st);
	t = written(stats_write_text);
	assert_non_null(strstr(t, "uptime: 42\nrequests: 5\n"
			       "requests upnp AddPortMapping 0: 2\n"
			       "requests upnp AddPortMapping 718: 1\n"
			       "requests natpmp map_tcp 0: 1\n"
			       "requests pcp map 2: 1\n"
			       "requests_other: 0\n"
			       "mappings_upnp: 3\nmappings_natpmp: 1\nmappings_pcp: 2\n"
			       "mappings_static: 4\ngena_subscribers: 5\n"
			       "events_sent: 2\nevents_failed: 1\n"
			       "helper_calls: 2\nhelper_failed: 1\n"
			       "helper_rtt_us_total: 2501500\nhelper_rtt_us_max: 2500000\n"
			       "refused_http_per_ip: 2\nrefused_http_busy: 0\n"
			       "refused_pcp_rate: 1\nrefused_ssdp_rate: 0\n"));
	free(t);
}

static void test_json(void **state)
{
	char *t;

	(void)state;
	fill(&st);
	t = written(stats_write_json);
	assert_string_equal(t, "{\"uptime\":42,\"requests\":["
			    "{\"protocol\":\"upnp\",\"action\":\"AddPortMapping\",\"code\":0,\"count\":2},"
			    "{\"protocol\":\"upnp\",\"action\":\"AddPortMapping\",\"code\":718,\"count\":1},"
			    "{\"protocol\":\"natpmp\",\"action\":\"map_tcp\",\"code\":0,\"count\":1},"
			    "{\"protocol\":\"pcp\",\"action\":\"map\",\"code\":2,\"count\":1}],"
			    "\"requests_other\":0,\"mappings\":{\"upnp\":3,\"natpmp\":1,\"pcp\":2,"
			    "\"static\":4},\"gena_subscribers\":5,\"events_sent\":2,"
			    "\"events_failed\":1,\"helper_calls\":2,\"helper_failed\":1,"
			    "\"helper_rtt_us_total\":2501500,\"helper_rtt_us_max\":2500000,"
			    "\"refused\":{\"http_per_ip\":2,\"http_busy\":0,\"pcp_rate\":1,"
			    "\"ssdp_rate\":0}}\n");
	free(t);
}

/* Every sample line is "name{labels} value" after its HELP and TYPE. */
static void test_prometheus(void **state)
{
	char *t, *line, *save = NULL;
	char typed[64][64];
	size_t ntyped = 0, i, samples = 0;

	(void)state;
	fill(&st);
	t = written(stats_write_prometheus);
	assert_non_null(strstr(t, "igdd_requests_total{protocol=\"upnp\",action=\"AddPortMapping\","
			       "code=\"718\"} 1\n"));
	assert_non_null(strstr(t, "igdd_mappings{origin=\"static\"} 4\n"));
	assert_non_null(strstr(t, "igdd_events_total{result=\"failed\"} 1\n"));
	assert_non_null(strstr(t, "igdd_helper_rtt_seconds_total 2.501500\n"));
	assert_non_null(strstr(t, "igdd_helper_rtt_max_seconds 2.500000\n"));
	assert_non_null(strstr(t, "igdd_helper_calls_total{result=\"ok\"} 1\n"));
	assert_non_null(strstr(t, "igdd_refused_total{limit=\"http_per_ip\"} 2\n"));
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		size_t n;

		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(ntyped < 64);
			n = strcspn(line + 7, " ");
			assert_true(n < 64);
			memcpy(typed[ntyped], line + 7, n);
			typed[ntyped++][n] = '\0';
			assert_true(strcmp(line + 7 + n, " counter") == 0 ||
				    strcmp(line + 7 + n, " gauge") == 0);
			continue;
		}
		n = strcspn(line, "{ ");
		assert_true(n > 0 && n < 64);
		memcpy(name, line, n);
		name[n] = '\0';
		assert_true(ntyped > 0);
		assert_string_equal(name, typed[ntyped - 1]);   /* under its own TYPE */
		assert_non_null(strrchr(line, ' '));
		samples++;
	}
	assert_int_equal(ntyped, 10);
	assert_int_equal(samples, 1 + 4 + 1 + 4 + 1 + 2 + 2 + 1 + 1 + 4);
	for (i = 0; i < ntyped; i++)
		assert_memory_equal(typed[i], "igdd_", 5);
	free(t);
}

/* More triples than kept: counted in requests_other, never grown. */
static void test_bound(void **state)
{
	static const char *const names[] = { "A", "B", "C", "D" };
	unsigned code;
	size_t i;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (code = 0; code < 100; code++)
		for (i = 0; i < 4; i++)
			stats_request(&st, STATS_UPNP, names[i], code);
	assert_int_equal(st.nreq, STATS_MAX_REQ);
	assert_int_equal(st.requests_other, 400 - STATS_MAX_REQ);
	stats_request(&st, STATS_UPNP, "A", 0);         /* a kept one still counts */
	assert_int_equal(st.req[0].count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
