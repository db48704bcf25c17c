/*
 * sh_mp.h - msgpack helpers: a writer over msgpack-c's packer, and a
 * bounds-checked, allocation-free reader.
 *
 * Writing: the sh_mp_put_* helpers append straight to an sh_buf_t, in the
 * same forms as msgpack-c's packer (the smallest that holds the value), so
 * they mix freely with msgpack_pack_* calls on w->pk, which appends to the
 * same buffer through a callback. A writer made with out NULL whose pk
 * the caller re-initialised with its own callback sends every item,
 * the helpers' included, to that callback.
 *
 * Reading does not use msgpack-c's unpacker, because that allocates a zone
 * sized by the counts an input claims; shoal decodes input from the network
 * and from disk, which may lie. sh_mp_reader_t walks the bytes in place:
 * every read checks that the bytes are there, every array or map count is
 * checked against the bytes left (each element takes at least one byte),
 * and strings and bins are returned as pointers into the input, valid as
 * long as the input is. A failed read returns SH_ETRUNC (input ends early)
 * or SH_EMALFORMED (wrong type or encoding) and leaves the reader where the
 * failing item began.
 */
#ifndef SH_MP_H
#define SH_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"

/* ---- writing ---- */

typedef struct sh_mp_writer {
	msgpack_packer pk; /* pass &w->pk to any msgpack_pack_* function */
	sh_buf_t *out;     /* borrowed; bytes are appended here */
	int err;           /* first SH_ENOMEM seen, else 0 */
} sh_mp_writer_t;

/*
 * sh_mp_writer_init - make w append to out (borrowed, must outlive w).
 * After packing, check w->err: it is SH_ENOMEM if any append failed.
 */
void sh_mp_writer_init(sh_mp_writer_t *w, sh_buf_t *out);

/* Convenience packers; each returns w->err after the write. */
static inline int sh_mp_put_array(sh_mp_writer_t *w, uint32_t n);
int sh_mp_put_map(sh_mp_writer_t *w, uint32_t n);
static inline int sh_mp_put_u64(sh_mp_writer_t *w, uint64_t v);
int sh_mp_put_i64(sh_mp_writer_t *w, int64_t v);
int sh_mp_put_bool(sh_mp_writer_t *w, int v);
int sh_mp_put_nil(sh_mp_writer_t *w);
int sh_mp_put_bin(sh_mp_writer_t *w, const void *p, size_t len);
int sh_mp_put_str(sh_mp_writer_t *w, const void *p, size_t len);

/* ---- reading ---- */

typedef struct sh_mp_reader {
	const uint8_t *p; /* next byte; borrowed */
	const uint8_t *end;
} sh_mp_reader_t;

/* sh_mp_reader_init - read the len bytes at p (borrowed). */
void sh_mp_reader_init(sh_mp_reader_t *r, const void *p, size_t len);

/* sh_mp_reader_left - bytes not yet consumed. */
size_t sh_mp_reader_left(const sh_mp_reader_t *r);

/*
 * sh_mp_get_array / sh_mp_get_map - read a container header into *n.
 * Fails with SH_ETRUNC when *n elements (map: 2 * *n) cannot fit in the
 * bytes left, so a caller may allocate *n items safely.
 */
static inline int sh_mp_get_array(sh_mp_reader_t *r, uint32_t *n);
int sh_mp_get_map(sh_mp_reader_t *r, uint32_t *n);

/* sh_mp_get_u64 - a non-negative integer of any msgpack width. */
static inline int sh_mp_get_u64(sh_mp_reader_t *r, uint64_t *v);

/* sh_mp_get_i64 - any integer that fits in int64_t (else SH_ERANGE). */
int sh_mp_get_i64(sh_mp_reader_t *r, int64_t *v);

/* sh_mp_get_bool - true or false into *v (0 or 1). */
int sh_mp_get_bool(sh_mp_reader_t *r, int *v);

/* sh_mp_get_nil - a nil. */
int sh_mp_get_nil(sh_mp_reader_t *r);

/*
 * sh_mp_get_bin / sh_mp_get_str - a bin (resp. str) item; *p points into
 * the input (not NUL-terminated), *len is its length.
 */
int sh_mp_get_bin(sh_mp_reader_t *r, const uint8_t **p, size_t *len);
int sh_mp_get_str(sh_mp_reader_t *r, const uint8_t **p, size_t *len);

/* sh_mp_peek_nil - 1 if the next item is nil, 0 otherwise (also at end). */
int sh_mp_peek_nil(const sh_mp_reader_t *r);

/*
 * sh_mp_skip - skip one whole item, nested containers included, at most
 * depth_max levels deep (deeper input fails with SH_EDEPTH).
 */
int sh_mp_skip(sh_mp_reader_t *r, int depth_max);

/* ---- inline fast paths ----
 *
 * Inline because an object's encoding or decoding passes dozens of
 * arrays and small integers (as sh_buf_append is inline for the same
 * reason): the common form is decided here, in a few instructions and
 * no call; every other form, and every error, goes to the sh_mp__*_slow
 * function in sh_mp.c, which handles all forms the same way.
 */
int sh_mp__put_array_slow(sh_mp_writer_t *w, uint32_t n);
int sh_mp__put_u64_slow(sh_mp_writer_t *w, uint64_t v);
int sh_mp__get_array_slow(sh_mp_reader_t *r, uint32_t *n);
int sh_mp__get_u64_slow(sh_mp_reader_t *r, uint64_t *v);

/* 1 when w appends to its own buffer, which has room for one byte. */
static inline int sh_mp__room1(const sh_mp_writer_t *w)
{
	return w->out != NULL && w->err == 0 && w->out->len < w->out->cap;
}

static inline int sh_mp_put_array(sh_mp_writer_t *w, uint32_t n)
{
	if (n < 16 && sh_mp__room1(w)) { /* fixarray */
		w->out->data[w->out->len++] = (uint8_t)(0x90 | n);
		return 0;
	}
	return sh_mp__put_array_slow(w, n);
}

static inline int sh_mp_put_u64(sh_mp_writer_t *w, uint64_t v)
{
	if (v < 0x80 && sh_mp__room1(w)) { /* positive fixint */
		w->out->data[w->out->len++] = (uint8_t)v;
		return 0;
	}
	return sh_mp__put_u64_slow(w, v);
}

static inline int sh_mp_get_array(sh_mp_reader_t *r, uint32_t *n)
{
	/* a fixarray whose items can fit (each takes a byte at least) */
	if (r->p < r->end && (r->p[0] & 0xf0) == 0x90 &&
	    (size_t)(r->p[0] & 0x0f) < (size_t)(r->end - r->p)) {
		*n = r->p[0] & 0x0f;
		r->p++;
		return 0;
	}
	return sh_mp__get_array_slow(r, n);
}

static inline int sh_mp_get_u64(sh_mp_reader_t *r, uint64_t *v)
{
	if (r->p < r->end && r->p[0] <= 0x7f) { /* positive fixint */
		*v = *r->p++;
		return 0;
	}
	return sh_mp__get_u64_slow(r, v);
}

#endif /* SH_MP_H */
