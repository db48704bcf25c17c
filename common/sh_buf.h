/*
 * sh_buf.h - a growable byte buffer.
 *
 * The buffer owns its memory. A zeroed sh_buf_t is a valid empty buffer, so
 * sh_buf_init is optional. On allocation failure the append functions return
 * SH_ENOMEM and leave the buffer as it was.
 */
#ifndef SH_BUF_H
#define SH_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sh_buf {
	uint8_t *data; /* owned; NULL while cap == 0 */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
} sh_buf_t;

/* sh_buf_init - make b an empty buffer that owns nothing. */
void sh_buf_init(sh_buf_t *b);

/* sh_buf_free - release b's memory and leave it empty. */
void sh_buf_free(sh_buf_t *b);

/* sh_buf_reset - set len to 0, keeping the allocation for reuse. */
void sh_buf_reset(sh_buf_t *b);

/* sh_buf_reserve - make room for at least `extra` more bytes. 0 or SH_ENOMEM.
 */
int sh_buf_reserve(sh_buf_t *b, size_t extra);

/* sh_buf_append - copy len bytes from p to the end. 0 or SH_ENOMEM. */
static inline int sh_buf_append(sh_buf_t *b, const void *p, size_t len);

/* sh_buf_append_u8 - append one byte. 0 or SH_ENOMEM. */
static inline int sh_buf_append_u8(sh_buf_t *b, uint8_t v);

/* sh_buf__grow_append - the slow path of sh_buf_append: grow, then copy. */
int sh_buf__grow_append(sh_buf_t *b, const void *p, size_t len);

/*
 * Inline because appends of a few bytes (msgpack tokens, header pieces)
 * run dozens of times per request: the common case, room already there,
 * is a bounds check and a copy; a short copy is a byte loop, cheaper than
 * a call to memcpy for the 1 to 8 bytes most appends carry.
 */
static inline int sh_buf_append(sh_buf_t *b, const void *p, size_t len)
{
	if (len > b->cap - b->len)
		return sh_buf__grow_append(b, p, len);
	if (len == 0)
		return 0;
	uint8_t *d = b->data + b->len;
	if (len <= 8) {
		const uint8_t *s = p;
		for (size_t i = 0; i < len; i++)
			d[i] = s[i];
	} else {
		memcpy(d, p, len);
	}
	b->len += len;
	return 0;
}

static inline int sh_buf_append_u8(sh_buf_t *b, uint8_t v)
{
	if (b->len == b->cap)
		return sh_buf__grow_append(b, &v, 1);
	b->data[b->len++] = v;
	return 0;
}

/*
 * sh_array_reserve - make the array *p of elements of elem_size bytes, with
 * *cap allocated, hold at least want elements: grows by doubling (from 4).
 * On success *p and *cap may change; on SH_ENOMEM (also on overflow) they
 * are left as they were. 0 or SH_ENOMEM.
 */
int sh_array_reserve(void **p, size_t *cap, size_t want, size_t elem_size);

#endif /* SH_BUF_H */
