/*
 * sh_mp.c - msgpack writing (straight into an sh_buf_t, in the forms
 * msgpack-c's packer chooses; msgpack-c's packer over the same buffer for
 * what the helpers do not cover), and a strict reader.
 * Format reference: the msgpack specification (spec.md of msgpack/msgpack).
 */
#include "common/sh_mp.h"

#include <string.h>

#include "common/sh_err.h"

/* ---- writing ---- */

static int writer_sink(void *data, const char *buf, size_t len)
{
	sh_mp_writer_t *w = data;
	if (w->err != 0)
		return -1;
	int rc = sh_buf_append(w->out, buf, len);
	if (rc != SH_OK) {
		w->err = rc;
		return -1;
	}
	return 0;
}

void sh_mp_writer_init(sh_mp_writer_t *w, sh_buf_t *out)
{
	w->out = out;
	w->err = 0;
	msgpack_packer_init(&w->pk, w, writer_sink);
}

/*
 * The sh_mp_put_* functions below write straight into the buffer instead
 * of through msgpack-c's per-item callback (a call and a bounds check per
 * header and per body), which cost about a thousand instructions per
 * request. They choose the same forms as msgpack-c's packer (smallest
 * first; str8 for strings of 32 to 255 bytes), so the bytes are the same
 * whichever way an item is written; test_common checks both against each
 * other at every boundary. A writer without a buffer (out NULL, its pk
 * pointed at another sink, as dvv_hash does) still packs through pk.
 */

/* Room for n more bytes at the end of w->out, or NULL with w->err set
 * (also when an earlier write failed: nothing more is written). The
 * common case, room already there, is two compares. */
static inline uint8_t *put_room(sh_mp_writer_t *w, size_t n)
{
	sh_buf_t *b = w->out;
	if (w->err == 0 && n <= b->cap - b->len)
		return b->data + b->len;
	if (w->err != 0)
		return NULL;
	int rc = sh_buf_reserve(b, n);
	if (rc != SH_OK) {
		w->err = rc;
		return NULL;
	}
	return b->data + b->len;
}

static inline void put_be16(uint8_t *d, uint64_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *d, uint64_t v)
{
	put_be16(d, v >> 16);
	put_be16(d + 2, v);
}

/* A non-negative integer at d in its smallest form (msgpack-c's choice);
 * returns the bytes written (at most 9). */
static inline size_t put_uint(uint8_t *d, uint64_t v)
{
	if (v < 0x80) {
		d[0] = (uint8_t)v;
		return 1;
	}
	if (v < 0x100) {
		d[0] = 0xcc;
		d[1] = (uint8_t)v;
		return 2;
	}
	if (v < 0x10000) {
		d[0] = 0xcd;
		put_be16(d + 1, v);
		return 3;
	}
	if (v < 0x100000000ULL) {
		d[0] = 0xce;
		put_be32(d + 1, v);
		return 5;
	}
	d[0] = 0xcf;
	put_be32(d + 1, v >> 32);
	put_be32(d + 5, v);
	return 9;
}

/* A negative integer at d in its smallest form; returns the bytes. */
static size_t put_neg(uint8_t *d, int64_t v)
{
	uint64_t u = (uint64_t)v;
	if (v >= -32) {
		d[0] = (uint8_t)u;
		return 1;
	}
	if (v >= INT8_MIN) {
		d[0] = 0xd0;
		d[1] = (uint8_t)u;
		return 2;
	}
	if (v >= INT16_MIN) {
		d[0] = 0xd1;
		put_be16(d + 1, u);
		return 3;
	}
	if (v >= INT32_MIN) {
		d[0] = 0xd2;
		put_be32(d + 1, u);
		return 5;
	}
	d[0] = 0xd3;
	put_be32(d + 1, u >> 32);
	put_be32(d + 5, u);
	return 9;
}

/*
 * A length or count header at d: the fix form (fix | n) below fix_max (0:
 * no fix form), tag8 below 256 (0: none), then tag16 and tag32 (tag8 + 1
 * and + 2 for str and bin, the map and array tags likewise in order).
 * Lengths past 32 bits are cut to 32 as msgpack-c cuts them; nothing
 * shoal writes is that long. Returns the bytes written (at most 5).
 */
static inline size_t put_head(uint8_t *d, uint8_t fix, size_t fix_max,
                              uint8_t tag8, uint8_t tag16, size_t n)
{
	if (n < fix_max) {
		d[0] = (uint8_t)(fix | n);
		return 1;
	}
	if (tag8 != 0 && n < 0x100) {
		d[0] = tag8;
		d[1] = (uint8_t)n;
		return 2;
	}
	if (n < 0x10000) {
		d[0] = tag16;
		put_be16(d + 1, n);
		return 3;
	}
	d[0] = (uint8_t)(tag16 + 1);
	put_be32(d + 1, (uint32_t)n);
	return 5;
}

int sh_mp__put_array_slow(sh_mp_writer_t *w, uint32_t n)
{
	if (w->out == NULL) {
		msgpack_pack_array(&w->pk, n);
		return w->err;
	}
	uint8_t *d = put_room(w, 5);
	if (d != NULL)
		w->out->len += put_head(d, 0x90, 16, 0, 0xdc, n);
	return w->err;
}

int sh_mp_put_map(sh_mp_writer_t *w, uint32_t n)
{
	if (w->out == NULL) {
		msgpack_pack_map(&w->pk, n);
		return w->err;
	}
	uint8_t *d = put_room(w, 5);
	if (d != NULL)
		w->out->len += put_head(d, 0x80, 16, 0, 0xde, n);
	return w->err;
}

int sh_mp__put_u64_slow(sh_mp_writer_t *w, uint64_t v)
{
	if (w->out == NULL) {
		msgpack_pack_uint64(&w->pk, v);
		return w->err;
	}
	uint8_t *d = put_room(w, 9);
	if (d != NULL)
		w->out->len += put_uint(d, v);
	return w->err;
}

int sh_mp_put_i64(sh_mp_writer_t *w, int64_t v)
{
	if (w->out == NULL) {
		msgpack_pack_int64(&w->pk, v);
		return w->err;
	}
	uint8_t *d = put_room(w, 9);
	if (d != NULL)
		w->out->len +=
		    v >= 0 ? put_uint(d, (uint64_t)v) : put_neg(d, v);
	return w->err;
}

static int put_byte(sh_mp_writer_t *w, uint8_t v)
{
	if (w->out == NULL) {
		w->pk.callback(w->pk.data, (const char *)&v, 1);
		return w->err;
	}
	uint8_t *d = put_room(w, 1);
	if (d != NULL)
		w->out->data[w->out->len++] = v;
	return w->err;
}

int sh_mp_put_bool(sh_mp_writer_t *w, int v)
{
	return put_byte(w, v ? 0xc3 : 0xc2);
}

int sh_mp_put_nil(sh_mp_writer_t *w)
{
	return put_byte(w, 0xc0);
}

/* A header (as put_head) then len bytes at p, in one reservation. */
static inline int put_sized(sh_mp_writer_t *w, uint8_t fix, size_t fix_max,
                            uint8_t tag8, const void *p, size_t len)
{
	if (len > SIZE_MAX - 5) {
		w->err = w->err != 0 ? w->err : SH_ENOMEM;
		return w->err;
	}
	uint8_t *d = put_room(w, 5 + len);
	if (d == NULL)
		return w->err;
	size_t k = put_head(d, fix, fix_max, tag8, (uint8_t)(tag8 + 1), len);
	if (len > 0)
		memcpy(d + k, p, len);
	w->out->len += k + len;
	return w->err;
}

int sh_mp_put_bin(sh_mp_writer_t *w, const void *p, size_t len)
{
	if (w->out == NULL) {
		msgpack_pack_bin(&w->pk, len);
		msgpack_pack_bin_body(&w->pk, p, len);
		return w->err;
	}
	return put_sized(w, 0, 0, 0xc4, p, len);
}

int sh_mp_put_str(sh_mp_writer_t *w, const void *p, size_t len)
{
	if (w->out == NULL) {
		msgpack_pack_str(&w->pk, len);
		msgpack_pack_str_body(&w->pk, p, len);
		return w->err;
	}
	return put_sized(w, 0xa0, 32, 0xd9, p, len);
}

/* ---- reading ---- */

void sh_mp_reader_init(sh_mp_reader_t *r, const void *p, size_t len)
{
	r->p = p;
	r->end = r->p + len;
}

size_t sh_mp_reader_left(const sh_mp_reader_t *r)
{
	return (size_t)(r->end - r->p);
}

/* Big-endian unsigned of `width` bytes at q (bounds checked by the caller). */
static inline uint64_t load_be(const uint8_t *q, int width)
{
	uint64_t v = 0;
	for (int i = 0; i < width; i++)
		v = (v << 8) | q[i];
	return v;
}

/* load_be for 8 bytes, spelled out: compilers make it one load and a
 * byte swap (the loop above costs some 50 instructions per epoch or
 * timestamp decoded). */
static inline uint64_t load_be64(const uint8_t *q)
{
	return (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 |
	       (uint64_t)q[2] << 40 | (uint64_t)q[3] << 32 |
	       (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
	       (uint64_t)q[6] << 8 | (uint64_t)q[7];
}

/*
 * Reads a header of `width` length bytes after the tag byte: on success
 * *v is the value and *hdr the header size (1 + width).
 */
static int read_width(const sh_mp_reader_t *r, int width, uint64_t *v,
                      size_t *hdr)
{
	if (sh_mp_reader_left(r) < (size_t)(1 + width))
		return SH_ETRUNC;
	*v = load_be(r->p + 1, width);
	*hdr = (size_t)(1 + width);
	return SH_OK;
}

static int get_container(sh_mp_reader_t *r, uint32_t *n, uint8_t fix_base,
                         uint8_t tag16, uint8_t tag32, size_t per_item)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	uint8_t t = r->p[0];
	uint64_t count;
	size_t hdr;
	int rc = SH_OK;
	if ((t & 0xf0) == fix_base) {
		count = t & 0x0f;
		hdr = 1;
	} else if (t == tag16) {
		rc = read_width(r, 2, &count, &hdr);
	} else if (t == tag32) {
		rc = read_width(r, 4, &count, &hdr);
	} else {
		return SH_EMALFORMED;
	}
	if (rc != SH_OK)
		return rc;
	/* Each element takes at least one byte: a count that cannot fit is a
	 * lie. */
	if (count > (sh_mp_reader_left(r) - hdr) / per_item)
		return SH_ETRUNC;
	r->p += hdr;
	*n = (uint32_t)count;
	return SH_OK;
}

int sh_mp__get_array_slow(sh_mp_reader_t *r, uint32_t *n)
{
	return get_container(r, n, 0x90, 0xdc, 0xdd, 1);
}

int sh_mp_get_map(sh_mp_reader_t *r, uint32_t *n)
{
	return get_container(r, n, 0x80, 0xde, 0xdf, 2);
}

/* Reads any integer: *neg set when the value is negative (then in *sv). */
static int get_int(sh_mp_reader_t *r, uint64_t *uv, int64_t *sv, int *neg)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	uint8_t t = r->p[0];
	uint64_t v;
	size_t hdr;
	int rc;
	*neg = 0;
	if (t <= 0x7f) {
		*uv = t;
		r->p += 1;
		return SH_OK;
	}
	if (t >= 0xe0) {
		*neg = 1;
		*sv = (int8_t)t;
		r->p += 1;
		return SH_OK;
	}
	static const int uwidth[4] = {1, 2, 4, 8};
	if (t >= 0xcc && t <= 0xcf) {
		rc = read_width(r, uwidth[t - 0xcc], &v, &hdr);
		if (rc != SH_OK)
			return rc;
		*uv = v;
		r->p += hdr;
		return SH_OK;
	}
	if (t >= 0xd0 && t <= 0xd3) {
		int width = uwidth[t - 0xd0];
		rc = read_width(r, width, &v, &hdr);
		if (rc != SH_OK)
			return rc;
		int64_t s;
		switch (width) {
		case 1: s = (int8_t)v; break;
		case 2: s = (int16_t)v; break;
		case 4: s = (int32_t)v; break;
		default: s = (int64_t)v; break;
		}
		r->p += hdr;
		if (s >= 0) {
			*uv = (uint64_t)s;
		} else {
			*neg = 1;
			*sv = s;
		}
		return SH_OK;
	}
	return SH_EMALFORMED;
}

int sh_mp__get_u64_slow(sh_mp_reader_t *r, uint64_t *v)
{
	/* uint64 (epochs, timestamps): after the fixints of sh_mp_get_u64,
	 * most integers shoal decodes */
	if (sh_mp_reader_left(r) >= 9 && r->p[0] == 0xcf) {
		*v = load_be64(r->p + 1);
		r->p += 9;
		return SH_OK;
	}
	const uint8_t *start = r->p;
	int64_t sv;
	int neg;
	int rc = get_int(r, v, &sv, &neg);
	if (rc != SH_OK)
		return rc;
	if (neg) {
		r->p = start;
		return SH_ERANGE;
	}
	return SH_OK;
}

int sh_mp_get_i64(sh_mp_reader_t *r, int64_t *v)
{
	const uint8_t *start = r->p;
	uint64_t uv;
	int neg;
	int rc = get_int(r, &uv, v, &neg);
	if (rc != SH_OK)
		return rc;
	if (!neg) {
		if (uv > (uint64_t)INT64_MAX) {
			r->p = start;
			return SH_ERANGE;
		}
		*v = (int64_t)uv;
	}
	return SH_OK;
}

int sh_mp_get_bool(sh_mp_reader_t *r, int *v)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	if (r->p[0] != 0xc2 && r->p[0] != 0xc3)
		return SH_EMALFORMED;
	*v = r->p[0] == 0xc3;
	r->p++;
	return SH_OK;
}

int sh_mp_get_nil(sh_mp_reader_t *r)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	if (r->p[0] != 0xc0)
		return SH_EMALFORMED;
	r->p++;
	return SH_OK;
}

int sh_mp_peek_nil(const sh_mp_reader_t *r)
{
	return sh_mp_reader_left(r) >= 1 && r->p[0] == 0xc0;
}

/* Reads a length-prefixed body: fix forms have their length in the tag. */
static int get_body(sh_mp_reader_t *r, uint64_t len, size_t hdr,
                    const uint8_t **p, size_t *out_len)
{
	if (len > sh_mp_reader_left(r) - hdr)
		return SH_ETRUNC;
	*p = r->p + hdr;
	*out_len = (size_t)len;
	r->p += hdr + len;
	return SH_OK;
}

int sh_mp_get_bin(sh_mp_reader_t *r, const uint8_t **p, size_t *len)
{
	size_t left = sh_mp_reader_left(r);
	/* bin8 whose bytes are there: the common case */
	if (left >= 2 && r->p[0] == 0xc4 && r->p[1] <= left - 2) {
		*p = r->p + 2;
		*len = r->p[1];
		r->p += 2 + (size_t)r->p[1];
		return SH_OK;
	}
	if (left < 1)
		return SH_ETRUNC;
	uint8_t t = r->p[0];
	if (t < 0xc4 || t > 0xc6)
		return SH_EMALFORMED;
	static const int width[3] = {1, 2, 4};
	uint64_t n;
	size_t hdr;
	int rc = read_width(r, width[t - 0xc4], &n, &hdr);
	if (rc != SH_OK)
		return rc;
	return get_body(r, n, hdr, p, len);
}

int sh_mp_get_str(sh_mp_reader_t *r, const uint8_t **p, size_t *len)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	uint8_t t = r->p[0];
	if ((t & 0xe0) == 0xa0)
		return get_body(r, t & 0x1f, 1, p, len);
	if (t < 0xd9 || t > 0xdb)
		return SH_EMALFORMED;
	static const int width[3] = {1, 2, 4};
	uint64_t n;
	size_t hdr;
	int rc = read_width(r, width[t - 0xd9], &n, &hdr);
	if (rc != SH_OK)
		return rc;
	return get_body(r, n, hdr, p, len);
}

/* Size of the fixed part of a scalar with tag t: header plus payload. */
static int scalar_size(const sh_mp_reader_t *r, uint8_t t, size_t *size)
{
	uint64_t n;
	size_t hdr;
	int rc;
	if (t <= 0x7f || t >= 0xe0 || (t >= 0xc0 && t <= 0xc3 && t != 0xc1)) {
		*size = 1;
		return SH_OK;
	}
	if ((t & 0xe0) == 0xa0) {
		*size = 1 + (size_t)(t & 0x1f);
		return SH_OK;
	}
	switch (t) {
	case 0xcc:
	case 0xd0: *size = 2; return SH_OK;
	case 0xcd:
	case 0xd1: *size = 3; return SH_OK;
	case 0xca:
	case 0xce:
	case 0xd2: *size = 5; return SH_OK;
	case 0xcb:
	case 0xcf:
	case 0xd3: *size = 9; return SH_OK;
	case 0xd4: *size = 3; return SH_OK;
	case 0xd5: *size = 4; return SH_OK;
	case 0xd6: *size = 6; return SH_OK;
	case 0xd7: *size = 10; return SH_OK;
	case 0xd8: *size = 18; return SH_OK;
	case 0xc4:
	case 0xd9: rc = read_width(r, 1, &n, &hdr); break;
	case 0xc5:
	case 0xda: rc = read_width(r, 2, &n, &hdr); break;
	case 0xc6:
	case 0xdb: rc = read_width(r, 4, &n, &hdr); break;
	case 0xc7:
		rc = read_width(r, 1, &n, &hdr);
		hdr += 1;
		break;
	case 0xc8:
		rc = read_width(r, 2, &n, &hdr);
		hdr += 1;
		break;
	case 0xc9:
		rc = read_width(r, 4, &n, &hdr);
		hdr += 1;
		break;
	default: return SH_EMALFORMED; /* 0xc1 is never used */
	}
	if (rc != SH_OK)
		return rc;
	*size = hdr + (size_t)n;
	return SH_OK;
}

int sh_mp_skip(sh_mp_reader_t *r, int depth_max)
{
	if (sh_mp_reader_left(r) < 1)
		return SH_ETRUNC;
	const uint8_t *start = r->p;
	uint8_t t = r->p[0];
	uint32_t n;
	int rc;
	int is_array = (t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd;
	int is_map = (t & 0xf0) == 0x80 || t == 0xde || t == 0xdf;
	if (is_array || is_map) {
		if (depth_max <= 0)
			return SH_EDEPTH;
		rc = is_array ? sh_mp_get_array(r, &n) : sh_mp_get_map(r, &n);
		if (rc != SH_OK)
			return rc;
		uint64_t items = is_map ? 2 * (uint64_t)n : n;
		for (uint64_t i = 0; i < items; i++) {
			rc = sh_mp_skip(r, depth_max - 1);
			if (rc != SH_OK) {
				r->p = start;
				return rc;
			}
		}
		return SH_OK;
	}
	size_t size;
	rc = scalar_size(r, t, &size);
	if (rc != SH_OK)
		return rc;
	if (size > sh_mp_reader_left(r))
		return SH_ETRUNC;
	r->p += size;
	return SH_OK;
}
