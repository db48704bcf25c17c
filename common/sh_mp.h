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
int sh_mp_put_array(sh_mp_writer_t *w, uint32_t n);
int sh_mp_put_map(sh_mp_writer_t *w, uint32_t n);
int sh_mp_put_u64(sh_mp_writer_t *w, uint64_t v);
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
int sh_mp_get_array(sh_mp_reader_t *r, uint32_t *n);
int sh_mp_get_map(sh_mp_reader_t *r, uint32_t *n);

/* sh_mp_get_u64 - a non-negative integer of any msgpack width. */
int sh_mp_get_u64(sh_mp_reader_t *r, uint64_t *v);

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

#endif /* SH_MP_H */
