/*
 * str.c - string views and strict number parsing.
 */
#include "util/str.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

struct str str_cstr(const char *s)
{
	return (struct str){ s, s ? strlen(s) : 0 };
}

bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool str_eq_cstr(struct str a, const char *s)
{
	return str_eq(a, str_cstr(s));
}

bool str_caseeq_cstr(struct str a, const char *s)
{
	size_t n = strlen(s);

	return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool str_startswith_cstr(struct str a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

bool str_casestartswith_cstr(struct str a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && strncasecmp(a.p, prefix, n) == 0;
}

struct str str_trim(struct str s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

int str_copy(struct str s, char *out, size_t outsz)
{
	if (outsz == 0)
		return -E2BIG;
	if (s.len >= outsz) {
		out[0] = '\0';
		return -E2BIG;
	}
	if (s.len)
		memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return 0;
}

int str_to_u64(struct str s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i = 0;

	if (s.len && s.p[0] == '+')
		i = 1;
	if (i >= s.len)
		return -EINVAL;
	for (; i < s.len; i++) {
		unsigned d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return -EINVAL;
		d = (unsigned)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int str_to_bool(struct str s, bool *ret)
{
	if (str_eq_cstr(s, "1") || str_caseeq_cstr(s, "true") || str_caseeq_cstr(s, "yes")) {
		*ret = true;
		return 0;
	}
	if (str_eq_cstr(s, "0") || str_caseeq_cstr(s, "false") || str_caseeq_cstr(s, "no")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

int strlcpy_checked(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (dstsz == 0)
		return -E2BIG;
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int str_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
