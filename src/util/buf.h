/*
 * buf.h - growable byte buffer created with its maximum (curl's dynbuf):
 * any append past the maximum fails with -E2BIG and leaves the buffer
 * marked as overflowed, so a response can never grow without bound.
 * The content is always NUL-terminated.
 */
#ifndef IGDD_BUF_H
#define IGDD_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	int toobig;          /* set once an append did not fit */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hand the content to the caller (who frees it); the buffer is emptied. */
char *buf_steal(struct buf *b, size_t *ret_len);

/*
 * A body written in parts as its reader takes them, so that a long
 * answer (a GetListOfPortMappings of the whole table) never sits in
 * memory whole. fill appends the next part to out, stopping once
 * out->len reaches want (or the end), and returns 1 while more is to
 * come, 0 once it wrote the end, or a negative errno. release frees
 * state; it is called once, by buf_stream_release().
 */
struct buf_stream {
	int (*fill)(void *state, struct buf *out, size_t want);
	void (*release)(void *state);
	void *state;
};

/*
 * Run s->fill until out holds want bytes or the stream ends: 1 (more to
 * come), 0 (the end is in out; s is released) or a negative errno (s is
 * released). A stream without fill is at its end: 0.
 */
int buf_stream_fill(struct buf_stream *s, struct buf *out, size_t want);
/* Free the stream's state (if any); s is emptied. */
void buf_stream_release(struct buf_stream *s);

#endif
