/*
 * sh_mp.c - msgpack writing through msgpack-c, and a strict reader.
 * Format reference: the msgpack specification (spec.md of msgpack/msgpack).
 */
#include "common/sh_mp.h"

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

int sh_mp_put_array(sh_mp_writer_t *w, uint32_t n)
{
	msgpack_pack_array(&w->pk, n);
	return w->err;
}

int sh_mp_put_map(sh_mp_writer_t *w, uint32_t n)
{
	msgpack_pack_map(&w->pk, n);
	return w->err;
}

int sh_mp_put_u64(sh_mp_writer_t *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
	return w->err;
}

int sh_mp_put_i64(sh_mp_writer_t *w, int64_t v)
{
	msgpack_pack_int64(&w->pk, v);
	return w->err;
}

int sh_mp_put_bool(sh_mp_writer_t *w, int v)
{
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
	return w->err;
}

int sh_mp_put_nil(sh_mp_writer_t *w)
{
	msgpack_pack_nil(&w->pk);
	return w->err;
}

int sh_mp_put_bin(sh_mp_writer_t *w, const void *p, size_t len)
{
	msgpack_pack_bin(&w->pk, len);
	msgpack_pack_bin_body(&w->pk, p, len);
	return w->err;
}

int sh_mp_put_str(sh_mp_writer_t *w, const void *p, size_t len)
{
	msgpack_pack_str(&w->pk, len);
	msgpack_pack_str_body(&w->pk, p, len);
	return w->err;
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
static uint64_t load_be(const uint8_t *q, int width)
{
	uint64_t v = 0;
	for (int i = 0; i < width; i++)
		v = (v << 8) | q[i];
	return v;
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

int sh_mp_get_array(sh_mp_reader_t *r, uint32_t *n)
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

int sh_mp_get_u64(sh_mp_reader_t *r, uint64_t *v)
{
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
	if (sh_mp_reader_left(r) < 1)
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
