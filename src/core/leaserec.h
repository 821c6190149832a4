/*
 * leaserec.h - the records of the lease files (store/leasefile.c keeps
 * them on disk; the format is written out at the top of that file): one
 * line per record, "<crc32 in hex> <body>\n", bodies
 *   m <proto> <ext port> <remote host> <client> <int port> <enabled>
 *     <origin> <owner> <expiry> <desc> [<nonce>]   a mapping as it is now
 *   d <proto> <ext port> <remote host>             a mapping gone
 *   p <uid> <proto> <remote> <remote port> <internal> <int port> <origin>
 *     <owner> <lan> <expiry>                       an IPv6 pinhole
 *   q <uid>                                        a pinhole gone
 * and the header, commit and end lines (leaserec_words()). Also the
 * replay's state: the final state of each key after the records read so
 * far (struct leaserec_map, struct leaserec_pins), what compaction and
 * loading fold the files into.
 *
 * Pure: values in, text out, and text in, values out; no files, no clock
 * reads, no logging (the layer rule, docs/ARCHITECTURE.md). A parse
 * function returns NULL or why the text is bad; the caller logs it.
 */
#ifndef IGDD_LEASEREC_H
#define IGDD_LEASEREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mapping.h"
#include "core/pinhole.h"
#include "util/limits.h"
#include "util/str.h"

#define LEASEREC_LINE_MAX      1024            /* longest line, '\n' included (a record needs < 900) */
#define LEASEREC_BODY(line)    ((line) + 9)    /* after "<crc> " */
#define LEASEREC_MAX_TOKENS    12
#define LEASEREC_EXPIRY_MAX    (UINT64_C(1) << 40)

/* One parsed "m", "d", "p" or "q" record. */
struct leaserec {
	char type;
	struct mapping m;
	struct pinhole pin;
	uint64_t expiry;
	char desc[IGDD_MAX_DESC_LEN + 1];
};

/* The state of one key after the records read so far. */
struct leaserec_entry {
	struct mapping m;               /* desc owned (NULL once deleted) */
	uint64_t expiry;
	bool live;
};

/* Entries in the order their keys first appeared, and a hash index. */
struct leaserec_map {
	struct leaserec_entry *v;
	size_t n, cap;
	uint32_t *idx;                  /* entry index + 1; 0: empty slot */
	size_t icap;                    /* a power of two */
};

/* A text read line by line. */
struct leaserec_lines {
	const char *p, *end;
	size_t lineno;                  /* of the line last returned */
};

/* The pinholes read so far, by UniqueID. */
struct leaserec_pins {
	struct leaserec_pin {
		struct pinhole p;
		uint64_t expiry;
		bool live;
	} *v;
	size_t n, cap;
	uint32_t *idx;                  /* 65536 slots: entry index + 1; 0: none */
};

/* --- writing: each fills line (LEASEREC_LINE_MAX bytes) with one whole
 * record line, '\n' included, and returns its length. */

/* The absolute expiry (wall-clock s) of m at mono_ms, wall_s: the lease
 * left, rounded up, at least 1 s; 0 for a permanent entry. */
uint64_t leaserec_expiry(const struct mapping *m, uint64_t mono_ms, uint64_t wall_s);
/* Whether m is kept in the files (its origin). */
bool leaserec_persisted(const struct mapping *m);
/* "m ..." (m as it is, expiring at expiry) and "d ..." (its key). */
size_t leaserec_put(char *line, const struct mapping *m, uint64_t expiry);
size_t leaserec_delete(char *line, const struct mapping *m);
/* The same for a pinhole: expiry, kept (leased, UPnP or PCP), "p", "q". */
uint64_t leaserec_pin_expiry(const struct pinhole *ph, uint64_t mono_ms, uint64_t wall_s);
bool leaserec_pin_persisted(const struct pinhole *ph);
size_t leaserec_pin_put(char *line, const struct pinhole *ph, uint64_t expiry);
size_t leaserec_pin_delete(char *line, const struct pinhole *ph);
/* "<words> <a>" or, with b, "<words> <a> <b>" (headers, commits, end). */
size_t leaserec_words(char *line, const char *words, uint64_t a, const uint64_t *b);

/* --- reading */

/* The next line of it, without its '\n'; *ret_torn when it has none
 * (the end of the text came first). false at the end. */
bool leaserec_next_line(struct leaserec_lines *it, struct str *ret, bool *ret_torn);
/* A line (without '\n') whose CRC matches: its body; NULL, or why not. */
const char *leaserec_check_line(struct str line, struct str *ret_body);
/* Split a body at single spaces; max + 1 when there are more tokens. */
size_t leaserec_split(struct str body, struct str *tok, size_t max);
/* A decimal number up to max. */
bool leaserec_parse_u64(struct str s, uint64_t max, uint64_t *ret);
/* A record body into r (r->m.desc points into r); NULL, or why it is bad. */
const char *leaserec_parse(struct str body, struct leaserec *r);

/* --- the replay's state: the last record of each key wins */

/* r ("m") is now the state of its key; 0 or -ENOMEM. */
int leaserec_map_put(struct leaserec_map *lm, const struct leaserec *r);
/* key's mapping is gone. */
void leaserec_map_del(struct leaserec_map *lm, const struct mapping *key);
void leaserec_map_free(struct leaserec_map *lm);
/* r ("p") is now the state of its UniqueID; 0 or -ENOMEM. */
int leaserec_pins_put(struct leaserec_pins *lp, const struct leaserec *r);
void leaserec_pins_del(struct leaserec_pins *lp, uint16_t uid);
void leaserec_pins_free(struct leaserec_pins *lp);

#endif
