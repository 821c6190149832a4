/*
 * loadgen.c - the load generator and helpers of bench/run.sh.
 *
 * Every SOAP request opens a new TCP connection, as UPnP control points
 * (miniupnpc, GUPnP, ...) do: connect, POST with "Connection: close",
 * read the response (Content-Length or EOF), close. Each command prints
 * one JSON object on stdout; errors that end a command early are
 * reported in it ("error") rather than by the exit status, so that the
 * harness can record a daemon that crashed under a workload.
 *
 * Mapping i of a table (0 <= i < 131070) is protocol i / 65535 (TCP, then
 * UDP), external port = internal port = 1 + (i + 9999) % 65535: the
 * first 55,536 entries use TCP ports 10000-65535, away from the
 * daemons' own ports.
 *
 * Commands (all loops bounded in count and in time):
 *   add      --to H:P --client IP --from I --count N [--windows W]
 *   get      --to H:P --count N --below M [--seed S]
 *   enum     --to H:P --max N [--seconds T]
 *   list     --to H:P --proto TCP|UDP [--lo A --hi B]
 *   delrange --to H:P --proto TCP|UDP [--lo A --hi B]
 *   conc     --to H:P --clients C --seconds T --src IP[,IP...]
 *   startup  --ip GW --port P [--seconds T] [--log FILE] -- CMD...
 *   reap     --status FILE -- CMD...
 *   sink     --ports P[,P...] --seconds T
 *   connect  --to IP --ports P[,P...] --count N [--seconds T]
 *   stun     --port P --seconds T
 *   probe    --to H:P --src IP --port P --seconds T --log FILE [--interval US] [--count N]
 *            [--mix GAD]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NMAP_PER_PROTO 65535u
#define NMAP_MAX (2u * NMAP_PER_PROTO)
#define SERVICE "urn:schemas-upnp-org:service:WANIPConnection:2"
#define CTL_PATH "/ctl/IPConn"
#define REQ_TIMEOUT_S 60                /* one request, whatever it is */
#define MAX_RESPONSE (256u << 20)
#define STALL_NS 900000000ll            /* a connect this slow waited for a SYN retransmission */
#define MAX_CLIENTS 256
#define MAX_PORTS 1024
#define MAX_SRC 64

/* ------------------------------------------------------------ options */

struct opts {
	const char *to_host;
	unsigned to_port;
	const char *client;
	const char *proto;
	const char *ip;
	const char *status;
	const char *log;
	const char *src;
	const char *ports;
	const char *bind_src;           /* source address of http_once (probe) */
	const char *mix;                /* probe: the requests, in turn */
	unsigned long from, count, windows, below, seed, max, clients, port;
	unsigned long lo, hi, interval;
	double seconds;
	char **cmd;                     /* after -- */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s\n", what);
	exit(2);
}

static unsigned long num(const char *s, const char *name)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "loadgen: bad --%s '%s'\n", name, s);
		exit(2);
	}
	return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "to", 1, 0, 't' }, { "client", 1, 0, 'c' }, { "from", 1, 0, 'f' },
		{ "count", 1, 0, 'n' }, { "windows", 1, 0, 'w' }, { "below", 1, 0, 'b' },
		{ "seed", 1, 0, 's' }, { "max", 1, 0, 'm' }, { "seconds", 1, 0, 'T' },
		{ "proto", 1, 0, 'p' }, { "lo", 1, 0, 'L' }, { "hi", 1, 0, 'H' },
		{ "clients", 1, 0, 'C' }, { "src", 1, 0, 'S' }, { "ip", 1, 0, 'i' },
		{ "port", 1, 0, 'P' }, { "log", 1, 0, 'l' }, { "status", 1, 0, 'z' },
		{ "ports", 1, 0, 'x' }, { "interval", 1, 0, 'I' }, { "mix", 1, 0, 'M' },
		{ 0, 0, 0, 0 },
	};
	int c;
	char *colon;

	memset(o, 0, sizeof(*o));
	o->windows = 1;
	o->seed = 1;
	o->seconds = 30;
	o->lo = 1;
	o->hi = 65535;
	o->proto = "TCP";
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o->to_host = optarg;
			colon = strchr(optarg, ':');
			if (colon) {
				*colon = '\0';
				o->to_port = (unsigned)num(colon + 1, "to");
			}
			break;
		case 'c': o->client = optarg; break;
		case 'f': o->from = num(optarg, "from"); break;
		case 'n': o->count = num(optarg, "count"); break;
		case 'w': o->windows = num(optarg, "windows"); break;
		case 'b': o->below = num(optarg, "below"); break;
		case 's': o->seed = num(optarg, "seed"); break;
		case 'm': o->max = num(optarg, "max"); break;
		case 'T': o->seconds = strtod(optarg, NULL); break;
		case 'p': o->proto = optarg; break;
		case 'L': o->lo = num(optarg, "lo"); break;
		case 'H': o->hi = num(optarg, "hi"); break;
		case 'C': o->clients = num(optarg, "clients"); break;
		case 'S': o->src = optarg; break;
		case 'i': o->ip = optarg; break;
		case 'P': o->port = num(optarg, "port"); break;
		case 'l': o->log = optarg; break;
		case 'z': o->status = optarg; break;
		case 'x': o->ports = optarg; break;
		case 'I': o->interval = num(optarg, "interval"); break;
		case 'M': o->mix = optarg; break;
		default: die("unknown option");
		}
	}
	if (optind < argc)
		o->cmd = argv + optind;
	if (o->seconds <= 0 || o->seconds > 3600)
		die("--seconds must be in (0, 3600]");
}

/* "a,b,c" -> values; returns how many. */
static size_t split_ports(const char *s, unsigned *out, size_t max)
{
	char buf[8192], *tok, *save = NULL;
	size_t n = 0;

	if (!s || strlen(s) >= sizeof(buf))
		die("--ports missing or too long");
	memcpy(buf, s, strlen(s) + 1);
	for (tok = strtok_r(buf, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		out[n++] = (unsigned)num(tok, "ports");
	return n;
}

static unsigned map_port(unsigned long i)
{
	return 1u + (unsigned)((i + 9999u) % NMAP_PER_PROTO);
}

static const char *map_proto(unsigned long i)
{
	return i / NMAP_PER_PROTO ? "UDP" : "TCP";
}

/* --------------------------------------------------------- statistics */

struct lat {
	uint64_t *v;
	size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			die("out of memory");
	}
	l->v[l->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in ms. */
static double pct_ms(const uint64_t *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1e6;
}

static void print_lat(const char *name, struct lat *l)
{
	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	printf("\"%s\": {\"n\": %zu, \"p50_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, "
	       "\"max_ms\": %.4f}", name, l->n, pct_ms(l->v, l->n, 50), pct_ms(l->v, l->n, 90),
	       pct_ms(l->v, l->n, 99), l->n ? (double)l->v[l->n - 1] / 1e6 : 0.0);
}

/* JSON string body: only what this program itself puts there. */
static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s < 0x20)
			putchar(' ');
		else
			putchar(*s);
	}
	putchar('"');
}

/* ----------------------------------------------------------- HTTP/SOAP */

struct resp {
	char *buf;
	size_t len, cap;
	int status;                     /* HTTP status, 0 = no response */
	int upnp_error;                 /* <errorCode>, 0 = none */
	const char *body;
	size_t body_len;
	uint64_t connect_ns;
	char err[96];                   /* transport failure, "" = none */
};

static void resp_reset(struct resp *r)
{
	r->len = 0;
	r->status = 0;
	r->upnp_error = 0;
	r->body = NULL;
	r->body_len = 0;
	r->connect_ns = 0;
	r->err[0] = '\0';
}

static int resp_grow(struct resp *r, size_t want)
{
	size_t cap = r->cap ? r->cap : 16384;
	char *p;

	if (want <= r->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > MAX_RESPONSE + 1)
		return -1;
	p = realloc(r->buf, cap);
	if (!p)
		return -1;
	r->buf = p;
	r->cap = cap;
	return 0;
}

/* Headers complete at r->buf[0..len)? Then the body's offset and length
 * (-1: until EOF). Returns 0 when not complete yet. */
static int resp_head(struct resp *r, size_t *ret_off, long *ret_clen)
{
	char *end, *p;

	if (r->len < 4)
		return 0;
	r->buf[r->len] = '\0';
	end = memmem(r->buf, r->len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	*ret_off = (size_t)(end - r->buf) + 4;
	*ret_clen = -1;
	/* "HTTP/1.x NNN" */
	if (r->len > 12 && memcmp(r->buf, "HTTP/1.", 7) == 0)
		r->status = (int)strtol(r->buf + 9, NULL, 10);
	else
		r->status = -1;
	for (p = r->buf; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			*ret_clen = strtol(p + 15, NULL, 10);
	return 1;
}

static void resp_finish(struct resp *r, size_t off)
{
	const char *e;

	r->buf[r->len] = '\0';
	r->body = r->buf + off;
	r->body_len = r->len - off;
	e = strstr(r->body, "<errorCode>");
	if (e)
		r->upnp_error = (int)strtol(e + 11, NULL, 10);
}

static int tcp_socket(const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;

	if (fd < 0)
		return -1;
	if (src) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		inet_pton(AF_INET, src, &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static struct sockaddr_in addr_of(const char *host, unsigned port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("bad address");
	return sa;
}

/*
 * One request on a new connection, blocking, bounded by REQ_TIMEOUT_S.
 * The response is read to EOF (the server closes first: "Connection:
 * close"), so that the TIME_WAIT state stays on the server's side as it
 * does with real clients; Content-Length is checked against what came.
 */
static void http_once(const struct opts *o, const char *req, size_t req_len, struct resp *r)
{
	struct sockaddr_in sa = addr_of(o->to_host, o->to_port);
	struct timeval tv = { REQ_TIMEOUT_S, 0 };
	size_t off = 0, done = 0;
	long clen = -1;
	bool have_head = false;
	uint64_t t0;
	ssize_t k;
	int fd;

	resp_reset(r);
	fd = tcp_socket(o->bind_src);
	if (fd < 0) {
		snprintf(r->err, sizeof(r->err), "socket: %s", strerror(errno));
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t0 = now_ns();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(r->err, sizeof(r->err), "connect: %s", strerror(errno));
		goto out;
	}
	r->connect_ns = now_ns() - t0;
	while (done < req_len) {
		k = send(fd, req + done, req_len - done, MSG_NOSIGNAL);
		if (k <= 0) {
			snprintf(r->err, sizeof(r->err), "send: %s", k < 0 ? strerror(errno) : "closed");
			goto out;
		}
		done += (size_t)k;
	}
	for (;;) {
		if (resp_grow(r, r->len + 65536 + 1) < 0) {
			snprintf(r->err, sizeof(r->err), "response too large");
			goto out;
		}
		k = recv(fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->err, sizeof(r->err), "recv: %s", strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		r->len += (size_t)k;
		if (!have_head)
			have_head = resp_head(r, &off, &clen);
	}
	if (!have_head) {
		snprintf(r->err, sizeof(r->err), "connection closed without a response");
		goto out;
	}
	if (clen >= 0 && r->len - off < (size_t)clen) {
		snprintf(r->err, sizeof(r->err), "response body truncated");
		goto out;
	}
	resp_finish(r, off);
out:
	close(fd);
}

static size_t soap_request(char *out, size_t cap, const struct opts *o, const char *action,
			   const char *args)
{
	char body[2048];
	int bl, n;

	bl = snprintf(body, sizeof(body),
		      "<?xml version=\"1.0\"?>\r\n"
		      "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		      "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
		      "<s:Body><u:%s xmlns:u=\"" SERVICE "\">%s</u:%s></s:Body></s:Envelope>\r\n",
		      action, args, action);
	n = snprintf(out, cap,
		     "POST " CTL_PATH " HTTP/1.1\r\n"
		     "Host: %s:%u\r\n"
		     "Content-Type: text/xml; charset=\"utf-8\"\r\n"
		     "SOAPAction: \"" SERVICE "#%s\"\r\n"
		     "Connection: close\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     o->to_host, o->to_port, action, bl, body);
	if (bl < 0 || n < 0 || (size_t)n >= cap)
		die("request too long");
	return (size_t)n;
}

static void soap(const struct opts *o, const char *action, const char *args, struct resp *r)
{
	char req[4096];
	size_t n = soap_request(req, sizeof(req), o, action, args);

	http_once(o, req, n, r);
}

/* "" when the request succeeded, else what went wrong. */
static const char *failure(const struct resp *r, char *buf, size_t cap)
{
	if (r->err[0])
		return r->err;
	if (r->status != 200) {
		snprintf(buf, cap, "HTTP %d UPnP error %d", r->status, r->upnp_error);
		return buf;
	}
	return "";
}

static void print_fail(const char *what, unsigned long at)
{
	printf(", \"error\": ");
	print_json_str(what);
	printf(", \"error_at\": %lu", at);
}

/* --------------------------------------------------------------- add */

static int cmd_add(const struct opts *o)
{
	struct resp r = { 0 };
	struct lat all = { 0 };
	uint64_t t_start = now_ns(), w_start = t_start;
	unsigned long i, done = 0, per_w, w_done = 0, nw = 0;
	double *wrate;
	char args[1024], eb[96];
	const char *f = "";

	if (!o->client || !o->count || o->from + o->count > NMAP_MAX || !o->windows)
		die("add: --client, --count and a valid --from are needed");
	per_w = o->count / o->windows;
	if (!per_w)
		per_w = 1;
	wrate = calloc(o->windows + 1, sizeof(*wrate));
	for (i = o->from; i < o->from + o->count; i++) {
		uint64_t t0 = now_ns();

		snprintf(args, sizeof(args),
			 "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
			 "<NewProtocol>%s</NewProtocol><NewInternalPort>%u</NewInternalPort>"
			 "<NewInternalClient>%s</NewInternalClient><NewEnabled>1</NewEnabled>"
			 "<NewPortMappingDescription>bench %lu</NewPortMappingDescription>"
			 "<NewLeaseDuration>86400</NewLeaseDuration>",
			 map_port(i), map_proto(i), map_port(i), o->client, i);
		soap(o, "AddPortMapping", args, &r);
		f = failure(&r, eb, sizeof(eb));
		if (f[0])
			break;
		lat_add(&all, now_ns() - t0);
		done++;
		if (++w_done == per_w && nw < o->windows) {
			uint64_t t = now_ns();

			wrate[nw++] = (double)w_done / ((double)(t - w_start) / 1e9);
			w_start = t;
			w_done = 0;
		}
		if ((double)(now_ns() - t_start) / 1e9 > o->seconds) {
			f = "time limit";
			break;
		}
	}
	printf("{\"cmd\": \"add\", \"done\": %lu, \"seconds\": %.4f, \"ops_per_s\": %.2f, \"windows\": [",
	       done, (double)(now_ns() - t_start) / 1e9,
	       done ? (double)done / ((double)(now_ns() - t_start) / 1e9) : 0.0);
	for (i = 0; i < nw; i++)
		printf("%s%.2f", i ? ", " : "", wrate[i]);
	printf("], ");
	print_lat("latency", &all);
	if (f[0])
		print_fail(f, o->from + done);
	printf("}\n");
	free(wrate);
	free(all.v);
	free(r.buf);
	return 0;
}

/* ----------------------------------------------------- get (specific) */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmd_get(const struct opts *o)
{
	struct resp r = { 0 };
	struct lat all = { 0 };
	uint64_t t_start = now_ns();
	unsigned long k, done = 0, i = 0;
	char args[512], eb[96], want[64];
	const char *f = "";

	if (!o->count || !o->below || o->below > NMAP_MAX)
		die("get: --count and --below are needed");
	rng = 0x9e3779b97f4a7c15ull ^ o->seed;
	for (k = 0; k < o->count; k++) {
		uint64_t t0 = now_ns();

		i = (unsigned long)(rnd() % o->below);
		snprintf(args, sizeof(args),
			 "<NewRemoteHost></NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
			 "<NewProtocol>%s</NewProtocol>", map_port(i), map_proto(i));
		soap(o, "GetSpecificPortMappingEntry", args, &r);
		f = failure(&r, eb, sizeof(eb));
		if (!f[0]) {
			snprintf(want, sizeof(want), "<NewInternalPort>%u</NewInternalPort>", map_port(i));
			if (!strstr(r.body, want))
				f = "wrong entry returned";
		}
		if (f[0])
			break;
		lat_add(&all, now_ns() - t0);
		done++;
		if ((double)(now_ns() - t_start) / 1e9 > o->seconds) {
			f = "";
			break;
		}
	}
	printf("{\"cmd\": \"get\", \"done\": %lu, \"seconds\": %.4f, \"ops_per_s\": %.2f, ", done,
	       (double)(now_ns() - t_start) / 1e9,
	       done ? (double)done / ((double)(now_ns() - t_start) / 1e9) : 0.0);
	print_lat("latency", &all);
	if (f[0])
		print_fail(f, i);
	printf("}\n");
	free(all.v);
	free(r.buf);
	return 0;
}

/* -------------------------------------------------------- enumeration */

static int cmd_enum(const struct opts *o)
{
	struct resp r = { 0 };
	struct lat all = { 0 };
	uint64_t t_start = now_ns();
	unsigned long i;
	char args[256], eb[96];
	const char *f = "";
	bool end = false, timeout = false;

	if (!o->max)
		die("enum: --max is needed");
	for (i = 0; i <= o->max; i++) {
		uint64_t t0 = now_ns();

		snprintf(args, sizeof(args), "<NewPortMappingIndex>%lu</NewPortMappingIndex>", i);
		soap(o, "GetGenericPortMappingEntry", args, &r);
		if (!r.err[0] && r.status == 500 && r.upnp_error == 713) {
			end = true;
			break;
		}
		f = failure(&r, eb, sizeof(eb));
		if (f[0])
			break;
		lat_add(&all, now_ns() - t0);
		if ((double)(now_ns() - t_start) / 1e9 > o->seconds) {
			timeout = true;
			i++;
			break;
		}
	}
	printf("{\"cmd\": \"enum\", \"entries\": %lu, \"complete\": %s, \"timed_out\": %s, "
	       "\"seconds\": %.4f, ", (unsigned long)all.n, end ? "true" : "false",
	       timeout ? "true" : "false", (double)(now_ns() - t_start) / 1e9);
	print_lat("latency", &all);
	if (f[0])
		print_fail(f, i);
	printf("}\n");
	free(all.v);
	free(r.buf);
	return 0;
}

/* ------------------------------------------------ list / delete range */

static size_t count_str(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = hay, *end = hay + len;

	while ((p = memmem(p, (size_t)(end - p), needle, nl))) {
		n++;
		p += nl;
	}
	return n;
}

static int cmd_range(const struct opts *o, bool list)
{
	struct resp r = { 0 };
	uint64_t t0, t_begin, t_end;
	char args[512], eb[96];
	const char *f;

	snprintf(args, sizeof(args),
		 "<NewStartPort>%lu</NewStartPort><NewEndPort>%lu</NewEndPort>"
		 "<NewProtocol>%s</NewProtocol><NewManage>0</NewManage>%s",
		 o->lo, o->hi, o->proto, list ? "<NewNumberOfPorts>0</NewNumberOfPorts>" : "");
	t_begin = now_ns();
	soap(o, list ? "GetListOfPortMappings" : "DeletePortMappingRange", args, &r);
	t_end = now_ns();
	t0 = t_end - t_begin;
	f = failure(&r, eb, sizeof(eb));
	/* t_begin_ns/t_end_ns: CLOCK_MONOTONIC, to place the request among
	 * other clients' requests (probe) */
	printf("{\"cmd\": \"%s\", \"seconds\": %.6f, \"bytes\": %zu, \"upnp_error\": %d, "
	       "\"t_begin_ns\": %llu, \"t_end_ns\": %llu",
	       list ? "list" : "delrange", (double)t0 / 1e9, r.len, r.upnp_error,
	       (unsigned long long)t_begin, (unsigned long long)t_end);
	if (list && !f[0])
		/* each entry holds <p:NewExternalPort>...</p:NewExternalPort>,
		 * escaped or in CDATA: the name appears twice per entry */
		printf(", \"entries\": %zu", count_str(r.body, r.body_len, "NewExternalPort") / 2);
	if (f[0]) {
		printf(", \"error\": ");
		print_json_str(f);
	}
	printf("}\n");
	free(r.buf);
	return 0;
}

/* --------------------------------------------------------- concurrency */

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_READING };

struct cclient {
	int fd;
	enum cstate st;
	const char *src;
	uint64_t t0, t_conn;
	size_t sent;
	struct resp r;
	size_t off;
	long clen;
	bool have_head;
};

struct conc {
	const struct opts *o;
	int ep;
	char req[4096];
	size_t req_len;
	struct lat total, conn;
	unsigned long ok, errors, stalls;
	char first_err[96];
};

static void conc_error(struct conc *c, struct cclient *k, const char *what)
{
	c->errors++;
	if (!c->first_err[0])
		snprintf(c->first_err, sizeof(c->first_err), "%s", what);
	if (k->fd >= 0) {
		epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
		close(k->fd);
	}
	k->fd = -1;
	k->st = C_IDLE;
}

static void conc_start(struct conc *c, struct cclient *k)
{
	struct sockaddr_in sa = addr_of(c->o->to_host, c->o->to_port);
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = k };
	int fd = tcp_socket(k->src);

	if (fd < 0) {
		conc_error(c, k, "socket/bind failed");
		return;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	k->fd = fd;
	k->t0 = now_ns();
	k->sent = 0;
	k->have_head = false;
	resp_reset(&k->r);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		conc_error(c, k, "connect failed");
		return;
	}
	k->st = C_CONNECTING;
	epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void conc_event(struct conc *c, struct cclient *k, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = k };
	int err = 0;
	socklen_t el = sizeof(err);
	ssize_t n;

	if (k->st == C_CONNECTING) {
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			conc_error(c, k, strerror(err));
			return;
		}
		k->t_conn = now_ns();
		lat_add(&c->conn, k->t_conn - k->t0);
		if (k->t_conn - k->t0 >= (uint64_t)STALL_NS)
			c->stalls++;
		k->st = C_SENDING;
	}
	if (k->st == C_SENDING) {
		n = send(k->fd, c->req + k->sent, c->req_len - k->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN) {
			conc_error(c, k, "send failed");
			return;
		}
		if (n > 0)
			k->sent += (size_t)n;
		if (k->sent == c->req_len) {
			k->st = C_READING;
			epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
		}
		return;
	}
	if (k->st != C_READING || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		if (resp_grow(&k->r, k->r.len + 16384 + 1) < 0) {
			conc_error(c, k, "response too large");
			return;
		}
		n = recv(k->fd, k->r.buf + k->r.len, k->r.cap - k->r.len - 1, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			conc_error(c, k, "recv failed");
			return;
		}
		if (n == 0)
			break;
		k->r.len += (size_t)n;
		if (!k->have_head)
			k->have_head = resp_head(&k->r, &k->off, &k->clen);
	}
	if (!k->have_head || (k->clen >= 0 && k->r.len - k->off < (size_t)k->clen)) {
		conc_error(c, k, "incomplete response");
		return;
	}
	resp_finish(&k->r, k->off);
	if (k->r.status != 200 || !strstr(k->r.body, "NewExternalIPAddress")) {
		conc_error(c, k, "bad response");
		return;
	}
	lat_add(&c->total, now_ns() - k->t0);
	c->ok++;
	epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	k->fd = -1;
	k->st = C_IDLE;
}

static int cmd_conc(const struct opts *o)
{
	static struct cclient cl[MAX_CLIENTS];
	static char srcbuf[2048];
	char *srcs[MAX_SRC], *tok, *save = NULL;
	struct epoll_event evs[MAX_CLIENTS];
	struct conc c;
	size_t nsrc = 0, i;
	uint64_t t_start, t_end, t_drain;
	int n, j;
	bool running = true;

	if (!o->clients || o->clients > MAX_CLIENTS || !o->src || strlen(o->src) >= sizeof(srcbuf))
		die("conc: --clients (1..256) and --src are needed");
	memcpy(srcbuf, o->src, strlen(o->src) + 1);
	for (tok = strtok_r(srcbuf, ",", &save); tok && nsrc < MAX_SRC; tok = strtok_r(NULL, ",", &save))
		srcs[nsrc++] = tok;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.ep = epoll_create1(EPOLL_CLOEXEC);
	c.req_len = soap_request(c.req, sizeof(c.req), o, "GetExternalIPAddress", "");
	for (i = 0; i < o->clients; i++) {
		cl[i].fd = -1;
		cl[i].src = srcs[i % nsrc];
	}
	t_start = now_ns();
	t_end = t_start + (uint64_t)(o->seconds * 1e9);
	t_drain = t_end + 5000000000ull;
	for (;;) {
		uint64_t t = now_ns();
		bool busy = false;

		if (running && t >= t_end)
			running = false;
		for (i = 0; i < o->clients; i++) {
			if (cl[i].st == C_IDLE && running)
				conc_start(&c, &cl[i]);
			if (cl[i].st != C_IDLE)
				busy = true;
		}
		if (!running && (!busy || t >= t_drain))
			break;
		n = epoll_wait(c.ep, evs, MAX_CLIENTS, 50);
		for (j = 0; j < n; j++)
			conc_event(&c, evs[j].data.ptr, evs[j].events);
	}
	for (i = 0; i < o->clients; i++)
		if (cl[i].st != C_IDLE)
			conc_error(&c, &cl[i], "unfinished at the end");
	printf("{\"cmd\": \"conc\", \"clients\": %lu, \"ok\": %lu, \"errors\": %lu, "
	       "\"connect_stalls\": %lu, \"seconds\": %.4f, \"req_per_s\": %.2f, ",
	       o->clients, c.ok, c.errors, c.stalls, o->seconds, (double)c.ok / o->seconds);
	print_lat("latency", &c.total);
	printf(", ");
	print_lat("connect", &c.conn);
	if (c.first_err[0]) {
		printf(", \"first_error\": ");
		print_json_str(c.first_err);
	}
	printf("}\n");
	return 0;
}

/* ------------------------------------------------------- start-up time */

/*
 * Spawn CMD (the daemon, in the gateway namespace) detached, then until
 * both succeed or --seconds pass: a unicast M-SEARCH to GW:1900 every
 * 2 ms until an answer comes, and GET /rootDesc.xml on GW:PORT until a
 * 200 comes. Times are from just before the spawn.
 */
static int cmd_startup(const struct opts *o)
{
	struct sockaddr_in ssdp;
	struct opts h = *o;
	struct resp r = { 0 };
	char msearch[256], get[256], buf[2048];
	uint64_t t0, t_ssdp = 0, t_http = 0, deadline, next_ms = 0;
	unsigned long ssdp_tries = 0, http_tries = 0;
	int u, ml, gl;
	pid_t pid;

	if (!o->ip || !o->port || !o->cmd)
		die("startup: --ip, --port and a command are needed");
	ssdp = addr_of(o->ip, 1900);
	h.to_host = o->ip;
	h.to_port = (unsigned)o->port;
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ml = snprintf(msearch, sizeof(msearch),
		      "M-SEARCH * HTTP/1.1\r\nHOST: %s:1900\r\nMAN: \"ssdp:discover\"\r\n"
		      "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
		      "USER-AGENT: Linux/1 UPnP/1.1 loadgen/1\r\n\r\n", o->ip);
	gl = snprintf(get, sizeof(get), "GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%lu\r\n"
		      "Connection: close\r\n\r\n", o->ip, o->port);
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fd = open(o->log ? o->log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);

		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		close(u);
		/* a grandchild, so that nobody here has to wait for it */
		if (fork() == 0) {
			execvp(o->cmd[0], o->cmd);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	deadline = t0 + (uint64_t)(o->seconds * 1e9);
	while (now_ns() < deadline && (!t_ssdp || !t_http)) {
		uint64_t t = now_ns();
		struct pollfd p = { .fd = u, .events = POLLIN };

		if (!t_ssdp && t >= next_ms) {
			sendto(u, msearch, (size_t)ml, 0, (struct sockaddr *)&ssdp, sizeof(ssdp));
			ssdp_tries++;
			next_ms = t + 2000000;
		}
		if (!t_ssdp && poll(&p, 1, 1) > 0) {
			ssize_t k = recv(u, buf, sizeof(buf) - 1, 0);

			if (k > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
				t_ssdp = now_ns();
		}
		if (!t_http) {
			http_tries++;
			http_once(&h, get, (size_t)gl, &r);
			if (!r.err[0] && r.status == 200 && r.body_len > 0)
				t_http = now_ns();
			else if (t_ssdp)
				usleep(1000);
		}
	}
	printf("{\"cmd\": \"startup\", \"ssdp_ms\": %.3f, \"http_ms\": %.3f, \"ssdp_tries\": %lu, "
	       "\"http_tries\": %lu}\n", t_ssdp ? (double)(t_ssdp - t0) / 1e6 : -1.0,
	       t_http ? (double)(t_http - t0) / 1e6 : -1.0, ssdp_tries, http_tries);
	free(r.buf);
	close(u);
	return 0;
}

/* ----------------------------------------------------------------- reap */

/*
 * Run CMD as a child subreaper: a daemon that forks into the background
 * stays our descendant, so that its exit status (a signal: a crash) is
 * seen. Lines in --status: "spawn PID", then "exit PID CODE" or
 * "signal PID SIG" for every descendant that ends. Returns when none is
 * left.
 */
static int cmd_reap(const struct opts *o)
{
	FILE *st;
	pid_t pid, w;
	int status;

	if (!o->status || !o->cmd)
		die("reap: --status and a command are needed");
	st = fopen(o->status, "a");
	if (!st)
		die("cannot open --status");
	setvbuf(st, NULL, _IOLBF, 0);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("PR_SET_CHILD_SUBREAPER");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	fprintf(st, "reaper %d\nspawn %d\n", (int)getpid(), (int)pid);
	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFSIGNALED(status))
			fprintf(st, "signal %d %d\n", (int)w, WTERMSIG(status));
		else
			fprintf(st, "exit %d %d\n", (int)w, WEXITSTATUS(status));
	}
	fprintf(st, "done\n");
	fclose(st);
	return 0;
}

/* ------------------------------------------------------ sink / connect */

static int listen_on(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
		die("sink: cannot listen");
	return fd;
}

/* Accept and close on every port of --ports for --seconds. */
static int cmd_sink(const struct opts *o)
{
	static unsigned ports[MAX_PORTS];
	struct epoll_event ev, evs[64];
	size_t n = split_ports(o->ports, ports, MAX_PORTS), i;
	uint64_t end = now_ns() + (uint64_t)(o->seconds * 1e9);
	unsigned long accepted = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC), k, j;

	for (i = 0; i < n; i++) {
		ev.events = EPOLLIN;
		ev.data.fd = listen_on(ports[i]);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	printf("ready\n");
	fflush(stdout);
	while (now_ns() < end) {
		k = epoll_wait(ep, evs, 64, 100);
		for (j = 0; j < k; j++) {
			int c;

			while ((c = accept4(evs[j].data.fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				close(c);
				accepted++;
			}
		}
	}
	fprintf(stderr, "sink: %lu connections\n", accepted);
	return 0;
}

/*
 * --count TCP handshakes to --to on the --ports in turn: the time of
 * connect() (SYN out, SYN-ACK back through the gateway's NAT). Closed
 * with a reset so that neither end keeps TIME_WAIT state.
 */
static int cmd_connect(const struct opts *o)
{
	static unsigned ports[MAX_PORTS];
	size_t np = split_ports(o->ports, ports, MAX_PORTS);
	struct linger lg = { 1, 0 };
	struct timeval tv = { 2, 0 };
	struct lat all = { 0 };
	uint64_t t_start = now_ns();
	unsigned long k, fails = 0;
	char first[96] = "";

	if (!o->to_host || !o->count || !np)
		die("connect: --to, --ports and --count are needed");
	for (k = 0; k < o->count; k++) {
		struct sockaddr_in sa = addr_of(o->to_host, ports[k % np]);
		int fd = tcp_socket(NULL);
		uint64_t t0;

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		t0 = now_ns();
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (!first[0])
				snprintf(first, sizeof(first), "port %u: %s", ports[k % np], strerror(errno));
			fails++;
		} else {
			lat_add(&all, now_ns() - t0);
		}
		close(fd);
		if (fails > 20 || (double)(now_ns() - t_start) / 1e9 > o->seconds)
			break;
	}
	printf("{\"cmd\": \"connect\", \"ok\": %zu, \"failed\": %lu, ", all.n, fails);
	print_lat("connect", &all);
	if (first[0]) {
		printf(", \"first_error\": ");
		print_json_str(first);
	}
	printf("}\n");
	free(all.v);
	return 0;
}

/* ---------------------------------------------------------------- stun */

/*
 * A minimal STUN binding responder (RFC 5389 section 7.3; 15.2 for
 * XOR-MAPPED-ADDRESS): every Binding Request gets a success response
 * from this socket carrying the address it came from. miniupnpd 2.3.1
 * asks this when its WAN address is a reserved one; the answers tell it
 * that nothing filters between it and us (docs: REFERENCE-DAEMON.md).
 */
static int cmd_stun(const struct opts *o)
{
	struct sockaddr_in sa, from;
	socklen_t fl;
	unsigned char in[1500], out[64];
	uint64_t end = now_ns() + (uint64_t)(o->seconds * 1e9);
	unsigned long answered = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint16_t port;
	uint32_t addr;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("stun: cannot bind");
	printf("ready\n");
	fflush(stdout);
	while (now_ns() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fl = sizeof(from);
		k = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
		/* a Binding Request (0x0001) with the magic cookie */
		if (k < 20 || in[0] != 0x00 || in[1] != 0x01 || in[4] != 0x21 || in[5] != 0x12 ||
		    in[6] != 0xa4 || in[7] != 0x42)
			continue;
		memset(out, 0, sizeof(out));
		out[0] = 0x01;                  /* Binding Success Response */
		out[1] = 0x01;
		out[3] = 12;                    /* one attribute of 4 + 8 bytes */
		memcpy(out + 4, in + 4, 16);    /* cookie and transaction id */
		out[20] = 0x00;                 /* XOR-MAPPED-ADDRESS */
		out[21] = 0x20;
		out[23] = 8;
		out[25] = 0x01;                 /* IPv4 */
		port = (uint16_t)(ntohs(from.sin_port) ^ 0x2112);
		addr = ntohl(from.sin_addr.s_addr) ^ 0x2112a442u;
		out[26] = (unsigned char)(port >> 8);
		out[27] = (unsigned char)port;
		out[28] = (unsigned char)(addr >> 24);
		out[29] = (unsigned char)(addr >> 16);
		out[30] = (unsigned char)(addr >> 8);
		out[31] = (unsigned char)addr;
		sendto(fd, out, 32, 0, (struct sockaddr *)&from, fl);
		answered++;
	}
	fprintf(stderr, "stun: %lu answers\n", answered);
	return 0;
}

/* -------------------------------------------------------------- probe */

/*
 * Another client, as the stall benchmark (bench/stall.py) sees one: from
 * its own source address, one request every --interval µs (the next
 * starts at once when one took longer), in turn the requests of --mix
 * (default GAD): G GetExternalIPAddress, A AddPortMapping UDP --port to
 * itself, D DeletePortMapping UDP --port;
 * until --seconds pass, --count requests are done (default 2,000,000) or
 * SIGTERM comes (the request under way finishes first).
 * Every request is written to --log as a line "OP T0_NS DUR_NS OK" (OP:
 * G, A or D; T0 on CLOCK_MONOTONIC, the clock delrange prints; OK 1 or
 * 0), so that the harness can split them into windows; stdout gets a
 * summary.
 */
struct probe_rec {
	uint64_t t0, dur;
	char op;
	bool ok;
};

static volatile sig_atomic_t probe_stop;

static void probe_on_term(int sig)
{
	(void)sig;
	probe_stop = 1;
}

static int cmd_probe(const struct opts *o)
{
	const char *ops = o->mix ? o->mix : "GAD";
	size_t nops = strlen(ops);
	struct resp r = { 0 };
	struct probe_rec *rec;
	struct opts oo = *o;
	uint64_t t_start = now_ns(), t_stop, next, interval;
	unsigned long max = o->count ? o->count : 2000000ul, n = 0, fails = 0, i;
	char args[1024], eb[96], first[128] = "";
	const char *f;
	FILE *lf;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_on_term;  /* no SA_RESTART: a sleep ends at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!o->src || strchr(o->src, ',') || !o->port || o->port > 65535 || !o->log)
		die("probe: --src IP, --port P and --log FILE are needed");
	if (!nops || strspn(ops, "GAD") != nops)
		die("probe: --mix is a string of G, A and D");
	if (max > 20000000ul)
		die("probe: --count at most 20,000,000");
	rec = calloc(max, sizeof(*rec));
	if (!rec)
		die("out of memory");
	oo.bind_src = o->src;
	interval = (uint64_t)o->interval * 1000u;
	t_stop = t_start + (uint64_t)(o->seconds * 1e9);
	next = t_start;
	while (n < max && !probe_stop) {
		uint64_t t0 = now_ns();
		char op = ops[n % nops];

		if (t0 >= t_stop)
			break;
		if (t0 < next) {
			struct timespec ts = { (time_t)((next - t0) / 1000000000u),
					       (long)((next - t0) % 1000000000u) };

			nanosleep(&ts, NULL);
			continue;
		}
		next = (next + interval > t0) ? next + interval : t0;
		if (op == 'G') {
			soap(&oo, "GetExternalIPAddress", "", &r);
		} else if (op == 'A') {
			snprintf(args, sizeof(args),
				 "<NewRemoteHost></NewRemoteHost><NewExternalPort>%lu</NewExternalPort>"
				 "<NewProtocol>UDP</NewProtocol><NewInternalPort>%lu</NewInternalPort>"
				 "<NewInternalClient>%s</NewInternalClient><NewEnabled>1</NewEnabled>"
				 "<NewPortMappingDescription>probe</NewPortMappingDescription>"
				 "<NewLeaseDuration>3600</NewLeaseDuration>", o->port, o->port, o->src);
			soap(&oo, "AddPortMapping", args, &r);
		} else {
			snprintf(args, sizeof(args),
				 "<NewRemoteHost></NewRemoteHost><NewExternalPort>%lu</NewExternalPort>"
				 "<NewProtocol>UDP</NewProtocol>", o->port);
			soap(&oo, "DeletePortMapping", args, &r);
		}
		f = failure(&r, eb, sizeof(eb));
		rec[n].t0 = t0;
		rec[n].dur = now_ns() - t0;
		rec[n].op = op;
		rec[n].ok = !f[0];
		if (f[0]) {
			fails++;
			if (!first[0])
				snprintf(first, sizeof(first), "%c: %s", op, f);
		}
		n++;
	}
	lf = fopen(o->log, "w");
	if (!lf)
		die("probe: cannot open --log");
	for (i = 0; i < n; i++)
		fprintf(lf, "%c %llu %llu %d\n", rec[i].op, (unsigned long long)rec[i].t0,
			(unsigned long long)rec[i].dur, rec[i].ok);
	if (fclose(lf) != 0)
		die("probe: cannot write --log");
	printf("{\"cmd\": \"probe\", \"src\": ");
	print_json_str(o->src);
	printf(", \"requests\": %lu, \"failed\": %lu, \"seconds\": %.3f", n, fails,
	       (double)(now_ns() - t_start) / 1e9);
	if (first[0]) {
		printf(", \"first_error\": ");
		print_json_str(first);
	}
	printf("}\n");
	free(rec);
	free(r.buf);
	return 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct opts o;
	const char *c;

	if (argc < 2)
		die("usage: loadgen add|get|enum|list|delrange|conc|startup|reap|sink|connect|stun|probe ...");
	c = argv[1];
	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (strcmp(c, "reap") == 0)
		return cmd_reap(&o);
	if (strcmp(c, "startup") == 0)
		return cmd_startup(&o);
	if (strcmp(c, "sink") == 0)
		return cmd_sink(&o);
	if (strcmp(c, "connect") == 0)
		return cmd_connect(&o);
	if (strcmp(c, "stun") == 0)
		return cmd_stun(&o);
	if (!o.to_host || !o.to_port)
		die("--to HOST:PORT is needed");
	if (strcmp(c, "add") == 0)
		return cmd_add(&o);
	if (strcmp(c, "get") == 0)
		return cmd_get(&o);
	if (strcmp(c, "enum") == 0)
		return cmd_enum(&o);
	if (strcmp(c, "list") == 0)
		return cmd_range(&o, true);
	if (strcmp(c, "delrange") == 0)
		return cmd_range(&o, false);
	if (strcmp(c, "conc") == 0)
		return cmd_conc(&o);
	if (strcmp(c, "probe") == 0)
		return cmd_probe(&o);
	die("unknown command");
	return 2;
}
