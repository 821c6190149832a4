/*
 * ssdp.c - SSDP discovery text (UPnP Device Architecture 1.1 section 1):
 * the M-SEARCH parser (1.3.2), the answer decision (1.3.3) and the
 * response / NOTIFY builders (1.2.2, 1.2.3, 1.3.3). Pure: no sockets, no
 * clock, no randomness, no logging; see ssdp.h for the contract.
 */
#include "proto/ssdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/limits.h"

#define URN_PREFIX "urn:schemas-upnp-org:"
#define SSDP_LOCATION_MAX 128   /* "http://[" 45 "]:65535" "/rootDesc1.xml" */

/*
 * The device and service types of the tree. The three devices come
 * first, at the index of their enum ssdp_dev, so that a device type's
 * owner is itself. v1_view: a search for (or an advertisement of) version
 * 1 of the type points at the IGD:1 description. WANCommonInterfaceConfig
 * exists only in version 1 and is the same service in both views; its
 * answers point at the v2 description.
 */
struct ssdp_type {
	const char *kind;          /* "device" or "service" */
	const char *name;
	unsigned version;          /* the highest version we implement */
	enum ssdp_dev owner;       /* whose UUID goes in the USN */
	bool v1_view;
};

static const struct ssdp_type ssdp_types[] = {
	{ "device",  "InternetGatewayDevice",    2, SSDP_DEV_ROOT,    true },
	{ "device",  "WANDevice",                2, SSDP_DEV_WAN,     true },
	{ "device",  "WANConnectionDevice",      2, SSDP_DEV_WANCONN, true },
	{ "service", "WANCommonInterfaceConfig", 1, SSDP_DEV_WAN,     false },
	{ "service", "WANIPConnection",          2, SSDP_DEV_WANCONN, true },
};

#define SSDP_NTYPES (sizeof(ssdp_types) / sizeof(ssdp_types[0]))

/* ---- parser (UDA 1.1 1.3.2) ---------------------------------------- */

/*
 * Split the next line off *rest: up to LF, without the LF and one CR
 * before it. The last line may lack its terminator. False at the end.
 */
static bool next_line(struct str *rest, struct str *ret_line)
{
	const char *nl;
	size_t n;

	if (rest->len == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->len);
	n = nl ? (size_t)(nl - rest->p) : rest->len;
	*ret_line = str_from(rest->p, n);
	if (ret_line->len && ret_line->p[ret_line->len - 1] == '\r')
		ret_line->len--;
	if (nl)
		n++;
	rest->p += n;
	rest->len -= n;
	return true;
}

/* Control bytes other than HT (a stray CR, NUL, ...) make a line unusable. */
static bool line_clean(struct str line)
{
	size_t i;

	for (i = 0; i < line.len; i++) {
		unsigned char c = (unsigned char)line.p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* The next space- or tab-separated word of *s ("" at the end). */
static struct str next_word(struct str *s)
{
	struct str w;
	size_t i = 0;

	*s = str_trim(*s);
	while (i < s->len && s->p[i] != ' ' && s->p[i] != '\t')
		i++;
	w = str_from(s->p, i);
	s->p += i;
	s->len -= i;
	return w;
}

/* What the request line says; OK means a well-formed M-SEARCH line. */
static enum ssdp_parse_status parse_request_line(struct str line)
{
	struct str method, target, version;

	method = next_word(&line);
	if (str_eq_cstr(method, "NOTIFY"))
		return SSDP_PARSE_NOTIFY;
	if (!str_eq_cstr(method, "M-SEARCH"))
		return SSDP_PARSE_NOT_MSEARCH;   /* responses ("HTTP/1.1 200 OK") too */
	target = next_word(&line);
	version = next_word(&line);
	if (!str_eq_cstr(target, "*"))
		return SSDP_PARSE_MALFORMED;
	if (!str_eq_cstr(version, "HTTP/1.1") && !str_eq_cstr(version, "HTTP/1.0"))
		return SSDP_PARSE_MALFORMED;
	if (str_trim(line).len != 0)
		return SSDP_PARSE_MALFORMED;
	return SSDP_PARSE_OK;
}

/* MX (UDA 1.1 1.3.2): an integer; above IGDD_SSDP_MAX_MX counts as it. */
static bool parse_mx(struct str v, unsigned *ret)
{
	uint64_t mx;
	int r;

	r = str_to_u64(v, UINT64_MAX, &mx);
	if (r == -ERANGE)                /* all digits, just enormous */
		mx = IGDD_SSDP_MAX_MX;
	else if (r < 0)
		return false;
	*ret = mx > IGDD_SSDP_MAX_MX ? IGDD_SSDP_MAX_MX : (unsigned)mx;
	return true;
}

/* The headers we look at, each at most once. */
struct ssdp_headers {
	struct str st, man, mx, ua;
	bool have_st, have_man, have_mx;
};

/* Store one "Name: value" line into h; false when malformed. */
static bool parse_header(struct str line, struct ssdp_headers *h)
{
	const char *colon;
	struct str name, value;

	/* A line starting with white space is an obsolete continuation. */
	if (line.p[0] == ' ' || line.p[0] == '\t')
		return false;
	colon = memchr(line.p, ':', line.len);
	if (!colon)
		return false;
	name = str_trim(str_from(line.p, (size_t)(colon - line.p)));
	value = str_trim(str_from(colon + 1, line.len - (size_t)(colon - line.p) - 1));
	if (name.len == 0)
		return false;
	if (str_caseeq_cstr(name, "ST")) {
		if (h->have_st)
			return false;
		h->st = value;
		h->have_st = true;
	} else if (str_caseeq_cstr(name, "MAN")) {
		if (h->have_man)
			return false;
		h->man = value;
		h->have_man = true;
	} else if (str_caseeq_cstr(name, "MX")) {
		if (h->have_mx)
			return false;
		h->mx = value;
		h->have_mx = true;
	} else if (str_caseeq_cstr(name, "USER-AGENT")) {
		h->ua = value;
	}
	return true;
}

enum ssdp_parse_status ssdp_parse(const char *data, size_t len, bool multicast,
				  struct ssdp_msearch *ret)
{
	struct ssdp_headers h;
	struct ssdp_msearch m;
	struct str rest = str_from(data, len), line;
	enum ssdp_parse_status st;

	memset(&h, 0, sizeof(h));
	memset(&m, 0, sizeof(m));
	if (len > IGDD_SSDP_MAX_DATAGRAM)
		return SSDP_PARSE_MALFORMED;
	if (!next_line(&rest, &line))
		return SSDP_PARSE_NOT_MSEARCH;
	if (!line_clean(line))
		return SSDP_PARSE_MALFORMED;
	st = parse_request_line(line);
	if (st != SSDP_PARSE_OK)
		return st;
	while (next_line(&rest, &line) && line.len > 0) {
		if (!line_clean(line) || !parse_header(line, &h))
			return SSDP_PARSE_MALFORMED;
	}
	if (!h.have_man || (!str_caseeq_cstr(h.man, "\"ssdp:discover\"") &&
			    !str_caseeq_cstr(h.man, "ssdp:discover")))
		return SSDP_PARSE_BAD_MAN;
	if (!h.have_st || h.st.len == 0)
		return SSDP_PARSE_BAD_ST;
	/* Only a multicast search is answered after a delay of up to MX
	 * seconds; a unicast one is answered at once, so MX is ignored. */
	if (multicast) {
		if (!h.have_mx || !parse_mx(h.mx, &m.mx))
			return SSDP_PARSE_BAD_MX;
		m.have_mx = true;
	}
	m.st = h.st;
	m.user_agent = h.ua;
	*ret = m;
	return SSDP_PARSE_OK;
}

const char *ssdp_parse_status_str(enum ssdp_parse_status st)
{
	switch (st) {
	case SSDP_PARSE_OK:          return "ok";
	case SSDP_PARSE_NOTIFY:      return "notify";
	case SSDP_PARSE_NOT_MSEARCH: return "not an M-SEARCH";
	case SSDP_PARSE_MALFORMED:   return "malformed";
	case SSDP_PARSE_BAD_MAN:     return "MAN missing or not ssdp:discover";
	case SSDP_PARSE_BAD_ST:      return "ST missing";
	case SSDP_PARSE_BAD_MX:      return "MX missing or invalid";
	}
	return "?";
}

/* ---- answer decision (UDA 1.1 1.3.3) -------------------------------- */

static void answer_rootdevice(const struct ssdp_device *d, struct ssdp_answer *a)
{
	snprintf(a->st, sizeof(a->st), "upnp:rootdevice");
	snprintf(a->usn, sizeof(a->usn), "uuid:%s::upnp:rootdevice", d->uuid[SSDP_DEV_ROOT]);
	a->desc = SSDP_DESC_V2;
}

static void answer_uuid(const struct ssdp_device *d, enum ssdp_dev dev, struct ssdp_answer *a)
{
	snprintf(a->st, sizeof(a->st), "uuid:%s", d->uuid[dev]);
	snprintf(a->usn, sizeof(a->usn), "uuid:%s", d->uuid[dev]);
	a->desc = SSDP_DESC_V2;
}

static void answer_type(const struct ssdp_device *d, const struct ssdp_type *t,
			unsigned version, struct ssdp_answer *a)
{
	snprintf(a->st, sizeof(a->st), URN_PREFIX "%s:%s:%u", t->kind, t->name, version);
	snprintf(a->usn, sizeof(a->usn), "uuid:%s::%s", d->uuid[t->owner], a->st);
	a->desc = version == 1 && t->v1_view ? SSDP_DESC_V1 : SSDP_DESC_V2;
}

/* The 9 answers to ssdp:all, which are also the v2 advertisements. */
static size_t answers_all(const struct ssdp_device *d, struct ssdp_answer *out)
{
	size_t n = 0, i;

	answer_rootdevice(d, &out[n++]);
	for (i = 0; i < SSDP_NTYPES; i++) {
		const struct ssdp_type *t = &ssdp_types[i];

		if (strcmp(t->kind, "device") == 0)
			answer_uuid(d, t->owner, &out[n++]);
		answer_type(d, t, t->version, &out[n++]);
	}
	return n;
}

/* "1".."999999999" without leading zeros; false otherwise. */
static bool parse_version(struct str s, unsigned *ret)
{
	uint64_t v;

	if (s.len == 0 || s.len > 9 || s.p[0] < '1' || s.p[0] > '9')
		return false;
	if (str_to_u64(s, UINT32_MAX, &v) < 0)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* st is "urn:schemas-upnp-org:<kind>:<name>:<version>" of one of our types. */
static size_t answer_urn(const struct ssdp_device *d, struct str st, struct ssdp_answer *out)
{
	struct str rest = st;
	size_t i;

	if (!str_startswith_cstr(rest, URN_PREFIX))
		return 0;
	rest.p += strlen(URN_PREFIX);
	rest.len -= strlen(URN_PREFIX);
	for (i = 0; i < SSDP_NTYPES; i++) {
		const struct ssdp_type *t = &ssdp_types[i];
		size_t kl = strlen(t->kind), nl = strlen(t->name);
		unsigned version;

		if (rest.len < kl + nl + 3 || memcmp(rest.p, t->kind, kl) != 0 ||
		    rest.p[kl] != ':' || memcmp(rest.p + kl + 1, t->name, nl) != 0 ||
		    rest.p[kl + 1 + nl] != ':')
			continue;
		if (!parse_version(str_from(rest.p + kl + nl + 2, rest.len - kl - nl - 2), &version))
			return 0;
		if (version > t->version)
			return 0;            /* newer than we implement: not us */
		answer_type(d, t, version, out);
		return 1;
	}
	return 0;
}

size_t ssdp_answers(const struct ssdp_device *d, struct str st,
		    struct ssdp_answer out[SSDP_MAX_ANSWERS])
{
	size_t i;

	if (str_eq_cstr(st, "ssdp:all"))
		return answers_all(d, out);
	if (str_eq_cstr(st, "upnp:rootdevice")) {
		answer_rootdevice(d, out);
		return 1;
	}
	if (str_startswith_cstr(st, "uuid:")) {
		/* UUID hex digits compare case-insensitively (RFC 4122 3). */
		for (i = 0; i < SSDP_DEV_COUNT; i++) {
			if (str_caseeq_cstr(str_from(st.p + 5, st.len - 5), d->uuid[i])) {
				answer_uuid(d, (enum ssdp_dev)i, out);
				return 1;
			}
		}
		return 0;
	}
	return answer_urn(d, st, out);
}

size_t ssdp_announce_set(const struct ssdp_device *d,
			 struct ssdp_answer out[SSDP_ANNOUNCE_COUNT])
{
	size_t n, i;

	n = answers_all(d, out);
	for (i = 0; i < SSDP_NTYPES; i++)
		if (ssdp_types[i].v1_view)
			answer_type(d, &ssdp_types[i], 1, &out[n++]);
	return n;
}

unsigned ssdp_max_age(unsigned notify_interval)
{
	/* Re-announce well within the lifetime (1.2.2: < max-age / 2). */
	if (notify_interval > SSDP_MIN_MAX_AGE / 2)
		return notify_interval > UINT_MAX / 2 ? UINT_MAX : notify_interval * 2;
	return SSDP_MIN_MAX_AGE;
}

/* ---- texts (UDA 1.1 1.2.2, 1.2.3, 1.3.3) --------------------------- */

/* RFC 7230 tchar: what a product token may contain. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* s with what a product token may not hold replaced by '_'; keep_slash
 * keeps '/' (the OS token is "name" or "name/version"). */
static int put_token(struct buf *b, const char *s, const char *empty, bool keep_slash)
{
	int r = 0;

	if (*s == '\0')
		return buf_puts(b, empty);
	for (; *s && r == 0; s++)
		r = buf_append(b, is_tchar(*s) || (keep_slash && *s == '/') ? s : "_", 1);
	return r;
}

int ssdp_server_string(const char *os, const char *version, char *out, size_t outsz)
{
	struct buf b;
	int r;

	if (outsz == 0)
		return -E2BIG;
	buf_init(&b, outsz - 1);
	r = put_token(&b, os, SSDP_SERVER_OS_DEFAULT, true);
	if (r == 0)
		r = buf_puts(&b, " UPnP/1.1 igdd/");
	if (r == 0)
		r = put_token(&b, version, "unknown", false);
	out[0] = '\0';
	if (b.p)
		memcpy(out, b.p, b.len + 1);
	buf_free(&b);
	return r;
}

/* RFC 1123 date, in English whatever the locale. */
static int format_date(time_t now, char *out, size_t outsz)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	if (!gmtime_r(&now, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -EINVAL;
	n = snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
		     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec);
	return n < 0 || (size_t)n >= outsz ? -E2BIG : 0;
}

/* LOCATION (UDA 1.1 1.2.2; Annex A: an IPv6 literal in brackets). No
 * zone ever: a zone name is ours, miniupnpc resolves it in its own
 * namespace and fails (ipv6 notes, 2.2); clients add their own. */
static int format_location(const struct ssdp_device *d, enum ssdp_desc desc,
			   char *out, size_t outsz)
{
	char host[IPADDR_STRLEN];
	int n;

	if (ipaddr_url_host(&d->addr, host, sizeof(host)) < 0)
		return -EINVAL;
	n = snprintf(out, outsz, "http://%s:%u%s", host, (unsigned)d->http_port,
		     desc == SSDP_DESC_V1 ? SSDP_DESC_PATH_V1 : SSDP_DESC_PATH_V2);
	return n < 0 || (size_t)n >= outsz ? -E2BIG : 0;
}

int ssdp_build_response(const struct ssdp_device *d, const struct ssdp_answer *a,
			time_t now, struct buf *out)
{
	char date[40], location[SSDP_LOCATION_MAX];
	int r;

	buf_reset(out);
	r = format_date(now, date, sizeof(date));
	if (r == 0)
		r = format_location(d, a->desc, location, sizeof(location));
	if (r < 0)
		return r;
	return buf_printf(out,
			  "HTTP/1.1 200 OK\r\n"
			  "CACHE-CONTROL: max-age=%u\r\n"
			  "DATE: %s\r\n"
			  "EXT:\r\n"
			  "LOCATION: %s\r\n"
			  "SERVER: %s\r\n"
			  "ST: %s\r\n"
			  "USN: %s\r\n"
			  "BOOTID.UPNP.ORG: %" PRIu32 "\r\n"
			  "CONFIGID.UPNP.ORG: %" PRIu32 "\r\n"
			  "\r\n",
			  d->max_age, date, location, d->server, a->st, a->usn,
			  d->boot_id, d->config_id);
}

int ssdp_build_notify(const struct ssdp_device *d, const struct ssdp_answer *a,
		      enum ssdp_nts nts, struct buf *out)
{
	const char *host = d->notify_host ? d->notify_host : SSDP_MCAST_ADDR ":1900";
	char location[SSDP_LOCATION_MAX];
	int r;

	buf_reset(out);
	if (nts == SSDP_NTS_BYEBYE)
		return buf_printf(out,
				  "NOTIFY * HTTP/1.1\r\n"
				  "HOST: %s\r\n"
				  "NT: %s\r\n"
				  "NTS: ssdp:byebye\r\n"
				  "USN: %s\r\n"
				  "BOOTID.UPNP.ORG: %" PRIu32 "\r\n"
				  "CONFIGID.UPNP.ORG: %" PRIu32 "\r\n"
				  "\r\n",
				  host, a->st, a->usn, d->boot_id, d->config_id);
	r = format_location(d, a->desc, location, sizeof(location));
	if (r < 0)
		return r;
	return buf_printf(out,
			  "NOTIFY * HTTP/1.1\r\n"
			  "HOST: %s\r\n"
			  "CACHE-CONTROL: max-age=%u\r\n"
			  "LOCATION: %s\r\n"
			  "NT: %s\r\n"
			  "NTS: ssdp:alive\r\n"
			  "SERVER: %s\r\n"
			  "USN: %s\r\n"
			  "BOOTID.UPNP.ORG: %" PRIu32 "\r\n"
			  "CONFIGID.UPNP.ORG: %" PRIu32 "\r\n"
			  "\r\n",
			  host, d->max_age, location, a->st, d->server, a->usn,
			  d->boot_id, d->config_id);
}
