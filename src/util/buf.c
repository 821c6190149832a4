/*
 * buf.c - bounded growable buffer.
 */
#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->toobig = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->toobig = 0;
	if (b->p)
		b->p[0] = '\0';
}

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *np;

	if (b->toobig)
		return -E2BIG;
	if (extra > b->max || b->len + extra > b->max) {
		b->toobig = 1;
		return -E2BIG;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	int r = buf_reserve(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
	char *p = b->p;

	if (!p) {
		p = calloc(1, 1);
		if (!p)
			return NULL;
	}
	if (ret_len)
		*ret_len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_stream_release(struct buf_stream *s)
{
	if (s->release && s->state)
		s->release(s->state);
	s->fill = NULL;
	s->release = NULL;
	s->state = NULL;
}

int buf_stream_fill(struct buf_stream *s, struct buf *out, size_t want)
{
	int r = 0;

	while (s->fill) {
		size_t before = out->len;

		r = s->fill(s->state, out, want);
		if (r <= 0)
			break;
		if (out->len >= want)
			return 1;
		if (out->len == before) {       /* no progress: a broken producer */
			r = -EIO;
			break;
		}
	}
	buf_stream_release(s);
	return r;
}
