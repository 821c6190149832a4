/*
 * ctl.c - the control protocol's text (see ctl.h, docs/CLI.md): words,
 * requests, quoting and escaping. Pure.
 */
#include "proto/ctl.h"

#include "util/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static bool is_ctl_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

int ctl_split(const char *line, size_t len, char *text, const char **words, size_t max,
	      const char **ret_err)
{
	size_t i = 0, o = 0;
	int n = 0;

	while (i < len) {
		bool quoted = false;

		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		if ((size_t)n == max) {
			*ret_err = "too many words";
			return -1;
		}
		words[n++] = text + o;
		if (line[i] == '"') {
			quoted = true;
			i++;
		}
		for (;;) {
			unsigned char c;

			if (i == len) {
				if (quoted) {
					*ret_err = "unterminated quote";
					return -1;
				}
				break;
			}
			c = (unsigned char)line[i];
			if (is_ctl_byte(c)) {
				*ret_err = "control character in the request";
				return -1;
			}
			if (!quoted && (c == ' ' || c == '\t'))
				break;
			if (!quoted && c == '"') {
				*ret_err = "quote inside a word";
				return -1;
			}
			if (quoted && c == '"') {
				i++;
				if (i < len && line[i] != ' ' && line[i] != '\t') {
					*ret_err = "text after a closing quote";
					return -1;
				}
				break;
			}
			if (quoted && c == '\\') {
				if (i + 1 == len || (line[i + 1] != '"' && line[i + 1] != '\\')) {
					*ret_err = "bad escape in quotes (only \\\" and \\\\)";
					return -1;
				}
				i++;
				c = (unsigned char)line[i];
			}
			text[o++] = (char)c;
			i++;
		}
		text[o++] = '\0';
	}
	return n;
}

/* ---- values ---- */

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *ret)
{
	uint64_t v;

	if (s[0] < '0' || s[0] > '9' || str_to_u64(str_cstr(s), hi, &v) < 0 || v < lo)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *ret)
{
	uint32_t v;

	if (parse_u32(s, 1, 65535, &v) < 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

static int parse_proto(const char *s, uint8_t *ret)
{
	if (strcasecmp(s, "TCP") == 0)
		*ret = CTL_PROTO_TCP;
	else if (strcasecmp(s, "UDP") == 0)
		*ret = CTL_PROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

static int parse_addr(const char *s, struct in_addr *ret)
{
	return inet_pton(AF_INET, s, ret) == 1 ? 0 : -EINVAL;
}

/* ---- requests ---- */

#define SYNTAX(msg) do { *ret_err = (msg); return CTL_E_SYNTAX; } while (0)

/* Options of add / del / flush / status / list: "--name value" or a
 * flag, anywhere after the command; the rest are positional. */
struct opts {
	const char *lease, *remote, *desc, *client;
	bool json;
	const char *pos[CTL_MAX_WORDS];
	size_t npos;
};

static int take_opts(const char **w, size_t n, const char *allowed, struct opts *o,
		     const char **ret_err)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < n; i++) {
		const char **slot = NULL;
		const char *name = w[i];

		if (strncmp(name, "--", 2) != 0 || name[2] == '\0') {
			o->pos[o->npos++] = name;
			continue;
		}
		if (strcmp(name, "--json") == 0 && strstr(allowed, "json")) {
			if (o->json)
				SYNTAX("--json given twice");
			o->json = true;
			continue;
		}
		if (strcmp(name, "--lease") == 0 && strstr(allowed, "lease"))
			slot = &o->lease;
		else if (strcmp(name, "--remote") == 0 && strstr(allowed, "remote"))
			slot = &o->remote;
		else if (strcmp(name, "--desc") == 0 && strstr(allowed, "desc"))
			slot = &o->desc;
		else if (strcmp(name, "--client") == 0 && strstr(allowed, "client"))
			slot = &o->client;
		else
			SYNTAX("unknown option");
		if (*slot)
			SYNTAX("option given twice");
		if (i + 1 == n)
			SYNTAX("option without its value");
		*slot = w[++i];
	}
	return 0;
}

/* The first two words of add and del: the mapping's protocol and
 * external port. */
static int parse_key(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	if (parse_proto(o->pos[0], &r->proto) < 0)
		SYNTAX("protocol must be TCP or UDP");
	if (parse_port(o->pos[1], &r->ext_port) < 0)
		SYNTAX("external port must be 1..65535");
	return 0;
}

static int parse_add(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	uint32_t lease = 0;

	if (o->npos != 4)
		SYNTAX("usage: add TCP|UDP EXT-PORT INT-CLIENT INT-PORT [--lease S] [--remote HOST] [--desc TEXT]");
	if (parse_key(r, o, ret_err) != 0)
		return CTL_E_SYNTAX;
	if (parse_addr(o->pos[2], &r->client) < 0)
		SYNTAX("internal client must be an IPv4 address");
	if (parse_port(o->pos[3], &r->int_port) < 0)
		SYNTAX("internal port must be 1..65535");
	if (o->lease && parse_u32(o->lease, 0, IGDD_LEASE_MAX, &lease) < 0)
		SYNTAX("lease must be 0..604800 seconds");
	r->lease_s = lease;
	if (o->remote && parse_addr(o->remote, &r->remote_host) < 0)
		SYNTAX("remote host must be an IPv4 address");
	if (o->desc) {
		r->desc = o->desc;
		r->desc_len = strlen(o->desc);
	}
	return 0;
}

static int parse_del(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	if (o->npos != 2)
		SYNTAX("usage: del TCP|UDP EXT-PORT [--remote HOST]");
	if (parse_key(r, o, ret_err) != 0)
		return CTL_E_SYNTAX;
	if (o->remote && parse_addr(o->remote, &r->remote_host) < 0)
		SYNTAX("remote host must be an IPv4 address");
	return 0;
}

static int parse_level(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	if (o->npos != 1)
		SYNTAX("usage: log-level debug|info|warn");
	if (strcmp(o->pos[0], "debug") == 0)
		r->level = CTL_LOG_DEBUG;
	else if (strcmp(o->pos[0], "info") == 0)
		r->level = CTL_LOG_INFO;
	else if (strcmp(o->pos[0], "warn") == 0)
		r->level = CTL_LOG_WARN;
	else
		SYNTAX("log level must be debug, info or warn");
	return 0;
}

/* A command without positional arguments. */
static int parse_none(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	if (o->npos != 0)
		SYNTAX("unexpected argument");
	r->json = o->json;
	return 0;
}

static int parse_flush(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	if (o->client) {
		if (parse_addr(o->client, &r->client) < 0)
			SYNTAX("client must be an IPv4 address");
		r->have_client = true;
	}
	return parse_none(r, o, ret_err);
}

static int parse_pinhole_del(struct ctl_req *r, const struct opts *o, const char **ret_err)
{
	uint64_t uid;

	if (o->npos != 1 || str_to_u64(str_cstr(o->pos[0]), UINT16_MAX, &uid) < 0 || uid == 0)
		SYNTAX("pinhole-del UNIQUE-ID (1..65535)");
	r->uid = (uint16_t)uid;
	return 0;
}

/* The commands: the word, the options it takes (take_opts()), and what
 * reads the rest of the request. */
static const struct {
	const char *word;
	enum ctl_cmd cmd;
	const char *opts;
	int (*parse)(struct ctl_req *r, const struct opts *o, const char **ret_err);
} commands[] = {
	{ "status", CTL_STATUS, "json", parse_none },
	{ "stats", CTL_STATS, "json", parse_none },
	{ "list", CTL_LIST, "json", parse_none },
	{ "add", CTL_ADD, "lease remote desc", parse_add },
	{ "del", CTL_DEL, "remote", parse_del },
	{ "flush", CTL_FLUSH, "client", parse_flush },
	{ "connect", CTL_CONNECT, "", parse_none },
	{ "disconnect", CTL_DISCONNECT, "", parse_none },
	{ "log-level", CTL_LOG_LEVEL, "", parse_level },
	{ "reload", CTL_RELOAD, "", parse_none },
	{ "pinholes", CTL_PINHOLES, "json", parse_none },
	{ "pinhole-del", CTL_PINHOLE_DEL, "", parse_pinhole_del },
};

int ctl_parse(const char *line, size_t len, struct ctl_req *ret, const char **ret_err)
{
	const char *w[CTL_MAX_WORDS];
	struct opts o;
	size_t i;
	int n, r;

	memset(ret, 0, offsetof(struct ctl_req, text));
	ret->desc = "";
	if (len > IGDD_CTL_MAX_LINE) {
		*ret_err = "request line too long";
		return CTL_E_TOO_LONG;
	}
	n = ctl_split(line, len, ret->text, w, CTL_MAX_WORDS, ret_err);
	if (n < 0)
		return CTL_E_SYNTAX;
	if (n == 0)
		SYNTAX("empty request");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(w[0], commands[i].word) != 0)
			continue;
		ret->cmd = commands[i].cmd;
		r = take_opts(w, (size_t)n, commands[i].opts, &o, ret_err);
		return r != 0 ? r : commands[i].parse(ret, &o, ret_err);
	}
	SYNTAX("unknown command (status, list, add, del, flush, connect, disconnect, log-level,"
	       " reload, pinholes, pinhole-del)");
}

/* ---- the client's side, and answers ---- */

int ctl_quote(struct buf *b, const char *word)
{
	size_t i, n = strlen(word);
	bool bare = n > 0 && word[0] != '"';

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)word[i];

		if (is_ctl_byte(c))
			return -EINVAL;
		if (c == ' ' || c == '\t' || c == '"')
			bare = false;
	}
	if (bare)
		return buf_append(b, word, n);
	buf_puts(b, "\"");
	for (i = 0; i < n; i++) {
		if (word[i] == '"' || word[i] == '\\')
			buf_puts(b, "\\");
		buf_append(b, word + i, 1);
	}
	return buf_puts(b, "\"");
}

int ctl_escape_text(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			buf_append(b, s + i, 1);
		else
			buf_append(b, esc, sizeof(esc));
	}
	return b->toobig ? -E2BIG : 0;
}

/* The length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int ctl_escape_json(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	buf_puts(b, "\"");
	while (i < len) {
		size_t n = utf8_len(u + i, len - i);
		unsigned char c = u[i];

		if (n == 0) {
			buf_puts(b, "\\ufffd");
			i++;
			continue;
		}
		if (n > 1) {
			buf_append(b, s + i, n);
		} else if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			buf_append(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			buf_append(b, esc, sizeof(esc));
		} else {
			buf_append(b, s + i, 1);
		}
		i += n;
	}
	buf_puts(b, "\"");
	return b->toobig ? -E2BIG : 0;
}

const char *ctl_log_level_name(enum ctl_log_level l)
{
	switch (l) {
	case CTL_LOG_DEBUG: return "debug";
	case CTL_LOG_INFO: return "info";
	case CTL_LOG_WARN: return "warn";
	}
	return "?";
}
