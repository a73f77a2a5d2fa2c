/*
 * buf: a byte buffer with a hard maximum, checked before it grows: the
 * way peer bytes enter postern.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap, max;
};

void buf_init(struct buf *, size_t max);
/* 0, or -1 past max (nothing appended) or out of memory. */
int buf_append(struct buf *, const void *, size_t);
int buf_printf(struct buf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *); /* keep the memory */
void buf_free(struct buf *);

#endif
