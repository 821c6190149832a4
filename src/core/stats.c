/*
 * stats.c - counters and their three written forms (stats.h). The
 * Prometheus form follows the text exposition format 0.0.4: "# HELP" and
 * "# TYPE" once per metric, then "name{label="value"} number" lines;
 * label values here are static action names and numbers, which need no
 * escaping.
 */
#include "core/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const proto_names[STATS_NPROTO] = { "upnp", "natpmp", "pcp" };
static const char *const refusal_names[STATS_NREFUSAL] = {
	"http_per_ip", "http_busy", "pcp_rate", "ssdp_rate",
};
static const char *const origin_names[4] = { "upnp", "natpmp", "pcp", "static" };

void stats_request(struct stats *s, enum stats_proto p, const char *action, unsigned code)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nreq; i++) {
		struct stats_req *r = &s->req[i];

		if (r->proto == p && r->code == code && strcmp(r->action, action) == 0) {
			r->count++;
			return;
		}
	}
	if (s->nreq == STATS_MAX_REQ) {
		s->requests_other++;
		return;
	}
	s->req[s->nreq++] = (struct stats_req){ action, (uint16_t)code, (uint8_t)p, 1 };
}

void stats_helper(struct stats *s, uint64_t us, bool failed)
{
	if (!s)
		return;
	s->helper_calls++;
	s->helper_failed += failed;
	s->helper_us_total += us;
	if (us > s->helper_us_max)
		s->helper_us_max = us;
}

void stats_refused(struct stats *s, enum stats_refusal why)
{
	if (s && why < STATS_NREFUSAL)
		s->refused[why]++;
}

void stats_event(struct stats *s, bool delivered)
{
	if (!s)
		return;
	if (delivered)
		s->events_sent++;
	else
		s->events_failed++;
}

static uint64_t total_requests(const struct stats *s)
{
	uint64_t n = s->requests_other;
	size_t i;

	for (i = 0; i < s->nreq; i++)
		n += s->req[i].count;
	return n;
}

int stats_write_text(const struct stats *s, const struct stats_gauges *g, struct buf *out)
{
	size_t i;

	buf_printf(out, "uptime: %" PRIu64 "\n", g->uptime_s);
	buf_printf(out, "requests: %" PRIu64 "\n", total_requests(s));
	for (i = 0; i < s->nreq; i++)
		buf_printf(out, "requests %s %s %u: %" PRIu64 "\n", proto_names[s->req[i].proto],
			   s->req[i].action, (unsigned)s->req[i].code, s->req[i].count);
	buf_printf(out, "requests_other: %" PRIu64 "\n", s->requests_other);
	for (i = 0; i < 4; i++)
		buf_printf(out, "mappings_%s: %zu\n", origin_names[i], g->mappings_by_origin[i]);
	buf_printf(out, "gena_subscribers: %u\n", g->gena_subscribers);
	buf_printf(out, "events_sent: %" PRIu64 "\nevents_failed: %" PRIu64 "\n", s->events_sent,
		   s->events_failed);
	buf_printf(out, "helper_calls: %" PRIu64 "\nhelper_failed: %" PRIu64 "\n"
		   "helper_rtt_us_total: %" PRIu64 "\nhelper_rtt_us_max: %" PRIu64 "\n",
		   s->helper_calls, s->helper_failed, s->helper_us_total, s->helper_us_max);
	for (i = 0; i < STATS_NREFUSAL; i++)
		buf_printf(out, "refused_%s: %" PRIu64 "\n", refusal_names[i], s->refused[i]);
	return out->toobig ? -E2BIG : 0;
}

int stats_write_json(const struct stats *s, const struct stats_gauges *g, struct buf *out)
{
	size_t i;

	buf_printf(out, "{\"uptime\":%" PRIu64 ",\"requests\":[", g->uptime_s);
	for (i = 0; i < s->nreq; i++)
		buf_printf(out, "%s{\"protocol\":\"%s\",\"action\":\"%s\",\"code\":%u,"
			   "\"count\":%" PRIu64 "}", i ? "," : "", proto_names[s->req[i].proto],
			   s->req[i].action, (unsigned)s->req[i].code, s->req[i].count);
	buf_printf(out, "],\"requests_other\":%" PRIu64 ",\"mappings\":{", s->requests_other);
	for (i = 0; i < 4; i++)
		buf_printf(out, "%s\"%s\":%zu", i ? "," : "", origin_names[i],
			   g->mappings_by_origin[i]);
	buf_printf(out, "},\"gena_subscribers\":%u,\"events_sent\":%" PRIu64 ","
		   "\"events_failed\":%" PRIu64 ",\"helper_calls\":%" PRIu64 ","
		   "\"helper_failed\":%" PRIu64 ",\"helper_rtt_us_total\":%" PRIu64 ","
		   "\"helper_rtt_us_max\":%" PRIu64 ",\"refused\":{", g->gena_subscribers,
		   s->events_sent, s->events_failed, s->helper_calls, s->helper_failed,
		   s->helper_us_total, s->helper_us_max);
	for (i = 0; i < STATS_NREFUSAL; i++)
		buf_printf(out, "%s\"%s\":%" PRIu64, i ? "," : "", refusal_names[i], s->refused[i]);
	buf_puts(out, "}}\n");
	return out->toobig ? -E2BIG : 0;
}

static void metric_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int stats_write_prometheus(const struct stats *s, const struct stats_gauges *g, struct buf *out)
{
	size_t i;

	metric_head(out, "igdd_uptime_seconds", "gauge", "Seconds since igdd started.");
	buf_printf(out, "igdd_uptime_seconds %" PRIu64 "\n", g->uptime_s);
	metric_head(out, "igdd_requests_total", "counter",
		    "Requests by protocol, action and result code (0: success).");
	for (i = 0; i < s->nreq; i++)
		buf_printf(out, "igdd_requests_total{protocol=\"%s\",action=\"%s\",code=\"%u\"} "
			   "%" PRIu64 "\n", proto_names[s->req[i].proto], s->req[i].action,
			   (unsigned)s->req[i].code, s->req[i].count);
	metric_head(out, "igdd_requests_other_total", "counter",
		    "Requests past the number of label sets kept.");
	buf_printf(out, "igdd_requests_other_total %" PRIu64 "\n", s->requests_other);
	metric_head(out, "igdd_mappings", "gauge", "Port mappings by origin.");
	for (i = 0; i < 4; i++)
		buf_printf(out, "igdd_mappings{origin=\"%s\"} %zu\n", origin_names[i],
			   g->mappings_by_origin[i]);
	metric_head(out, "igdd_gena_subscribers", "gauge", "GENA subscriptions.");
	buf_printf(out, "igdd_gena_subscribers %u\n", g->gena_subscribers);
	metric_head(out, "igdd_events_total", "counter", "GENA events by outcome.");
	buf_printf(out, "igdd_events_total{result=\"sent\"} %" PRIu64 "\n"
		   "igdd_events_total{result=\"failed\"} %" PRIu64 "\n", s->events_sent,
		   s->events_failed);
	metric_head(out, "igdd_helper_calls_total", "counter",
		    "Requests to the privileged helper by outcome.");
	buf_printf(out, "igdd_helper_calls_total{result=\"ok\"} %" PRIu64 "\n"
		   "igdd_helper_calls_total{result=\"failed\"} %" PRIu64 "\n",
		   s->helper_calls - s->helper_failed, s->helper_failed);
	metric_head(out, "igdd_helper_rtt_seconds_total", "counter",
		    "Round-trip time of the requests to the privileged helper, summed.");
	buf_printf(out, "igdd_helper_rtt_seconds_total %" PRIu64 ".%06" PRIu64 "\n",
		   s->helper_us_total / 1000000, s->helper_us_total % 1000000);
	metric_head(out, "igdd_helper_rtt_max_seconds", "gauge",
		    "The longest round trip to the privileged helper.");
	buf_printf(out, "igdd_helper_rtt_max_seconds %" PRIu64 ".%06" PRIu64 "\n",
		   s->helper_us_max / 1000000, s->helper_us_max % 1000000);
	metric_head(out, "igdd_refused_total", "counter",
		    "What a rate or connection limit refused, by limit.");
	for (i = 0; i < STATS_NREFUSAL; i++)
		buf_printf(out, "igdd_refused_total{limit=\"%s\"} %" PRIu64 "\n", refusal_names[i],
			   s->refused[i]);
	return out->toobig ? -E2BIG : 0;
}
