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

#endif
