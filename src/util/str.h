/*
 * str.h - views into wire text and strict number parsing.
 *
 * Wire text is a view (struct str) into the request buffer; copy it,
 * bounded, only when storing. The parsers here accept exactly the UPnP
 * integer syntax (optional sign, digits, no white space) and nothing else.
 */
#ifndef IGDD_STR_H
#define IGDD_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

static inline struct str str_from(const char *p, size_t len)
{
	return (struct str){ p, len };
}

struct str str_cstr(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eq_cstr(struct str a, const char *s);
bool str_caseeq_cstr(struct str a, const char *s);
bool str_startswith_cstr(struct str a, const char *prefix);
bool str_casestartswith_cstr(struct str a, const char *prefix);
struct str str_trim(struct str s);           /* spaces and tabs */
/* Copy into out (size outsz, NUL-terminated); -E2BIG if it does not fit. */
int str_copy(struct str s, char *out, size_t outsz);

/* Parse an unsigned decimal (optional leading '+', leading zeros allowed,
 * no white space, at least one digit) not above max. -EINVAL / -ERANGE. */
int str_to_u64(struct str s, uint64_t max, uint64_t *ret);
/* UPnP boolean: 0/1/false/true/no/yes (case-insensitive for the words). */
int str_to_bool(struct str s, bool *ret);
/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int str_hexval(int c);

/* Safe copy of a C string (always NUL-terminated). Returns -E2BIG on truncation. */
int strlcpy_checked(char *dst, const char *src, size_t dstsz);

#endif
