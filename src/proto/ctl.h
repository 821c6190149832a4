/*
 * ctl.h - the control protocol of igddctl (docs/CLI.md), the text part:
 * splitting one request line into words, parsing it into a request,
 * quoting words for the client, escaping text for answers. Pure: no
 * sockets, no engine, no clock.
 *
 * A request is one line of at most IGDD_CTL_MAX_LINE bytes: words
 * separated by spaces or tabs; a word may be written in double quotes,
 * inside which \" and \\ stand for " and \. Control bytes (below 0x20
 * except tab, and 0x7f) are refused anywhere. The answer is zero or more
 * data lines and then one status line, "ok" or "error CODE TEXT"; no
 * data line is "ok" or starts with "error ".
 */
#ifndef IGDD_PROTO_CTL_H
#define IGDD_PROTO_CTL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/limits.h"

/* Status codes of "error CODE TEXT" (HTTP-like, docs/CLI.md). */
enum ctl_code {
	CTL_E_SYNTAX = 400,             /* not a request of the grammar */
	CTL_E_DENIED = 403,             /* peer not allowed (credentials) */
	CTL_E_NOT_FOUND = 404,          /* no such mapping */
	CTL_E_TIMEOUT = 408,            /* the connection's deadline passed */
	CTL_E_CONFLICT = 409,           /* the port is held, or the WAN state refuses */
	CTL_E_TOO_LONG = 413,           /* request line over IGDD_CTL_MAX_LINE */
	CTL_E_INVALID = 422,            /* well-formed but refused (not on the LAN, ...) */
	CTL_E_FAILED = 500,             /* backend or lease file failed */
	CTL_E_UNAVAILABLE = 503,        /* table full, too many clients */
};

enum ctl_cmd {
	CTL_STATUS,
	CTL_LIST,
	CTL_ADD,
	CTL_DEL,
	CTL_FLUSH,
	CTL_CONNECT,
	CTL_DISCONNECT,
	CTL_LOG_LEVEL,
	CTL_RELOAD,
	CTL_STATS,
	CTL_PINHOLES,                   /* list the IPv6 pinholes */
	CTL_PINHOLE_DEL,                /* close one, by UniqueID */
};

enum ctl_log_level { CTL_LOG_WARN, CTL_LOG_INFO, CTL_LOG_DEBUG };

/* The protocol a request names (proto knows no core: svc/ctl.c turns it
 * into the table's enum map_proto). */
enum ctl_proto { CTL_PROTO_TCP, CTL_PROTO_UDP };

#define CTL_MAX_WORDS 16

/* One parsed request. desc points into text (owned by the request). */
struct ctl_req {
	enum ctl_cmd cmd;
	bool json;                      /* status, list, stats: --json */
	uint8_t proto;                  /* add, del: enum ctl_proto */
	uint16_t ext_port;              /* add, del */
	uint16_t int_port;              /* add */
	struct in_addr client;          /* add; flush --client */
	bool have_client;               /* flush --client given */
	struct in_addr remote_host;     /* add, del --remote (0: wildcard) */
	uint32_t lease_s;               /* add --lease (0: permanent) */
	const char *desc;               /* add --desc ("" by default), NUL-terminated */
	size_t desc_len;
	enum ctl_log_level level;       /* log-level */
	uint16_t uid;                   /* pinhole-del: the UniqueID */
	char text[IGDD_CTL_MAX_LINE + 1];       /* the words, NUL-separated */
};

/*
 * Split line (len bytes, no newline) into at most max words, copied
 * NUL-terminated into text (at least len + 1 bytes) with words[i]
 * pointing at each. The number of words, or -1 with *ret_err set.
 */
int ctl_split(const char *line, size_t len, char *text, const char **words, size_t max,
	      const char **ret_err);

/*
 * Parse one request line (len bytes, no newline) into *ret. 0, or
 * CTL_E_SYNTAX / CTL_E_TOO_LONG with *ret_err a static text.
 */
int ctl_parse(const char *line, size_t len, struct ctl_req *ret, const char **ret_err);

/* Append word to b as ctl_split() reads it back: bare when it can be,
 * else quoted. -EINVAL for a word with a control byte (it cannot be
 * sent), or buf_append()'s error. */
int ctl_quote(struct buf *b, const char *word);

/* Text for a data line: printable ASCII kept, backslash, quote and every
 * other byte as \xNN. */
int ctl_escape_text(struct buf *b, const char *s, size_t len);
/* A JSON string literal (with its quotes); bytes that are not valid
 * UTF-8 become U+FFFD. */
int ctl_escape_json(struct buf *b, const char *s, size_t len);

const char *ctl_log_level_name(enum ctl_log_level l);

#endif
