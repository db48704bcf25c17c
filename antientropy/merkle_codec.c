/*
 * merkle_codec.c - the anti-entropy exchange's messages: encoders (used by
 * merkle_exchange.c, declared in merkle_int.h) and the strict decoder
 * merkle_msg_decode. The format is described at the top of merkle.h.
 */
#include <string.h>

#include "antientropy/merkle.h"
#include "antientropy/merkle_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"

/* Items in each type's array, header (version, type, xid, partition) included.
 */
static uint32_t items_of(uint64_t type)
{
	switch (type) {
	case MERKLE_MSG_OPEN: return 8;
	case MERKLE_MSG_NODES_REQ: return 6;
	case MERKLE_MSG_NODES: return 7;
	case MERKLE_MSG_KEYS_REQ: return 5;
	case MERKLE_MSG_KEYS: return 6;
	case MERKLE_MSG_DONE: return 5;
	case MERKLE_MSG_SUMS_REQ: return 7;
	case MERKLE_MSG_SUMS: return 7;
	case MERKLE_MSG_PKEYS_REQ: return 5;
	default: return 0;
	}
}

static void put_header(sh_mp_writer_t *w, merkle_msg_type_t type, uint64_t xid,
                       uint32_t partition)
{
	sh_mp_put_array(w, items_of(type));
	sh_mp_put_u64(w, MERKLE_MSG_VERSION);
	sh_mp_put_u64(w, type);
	sh_mp_put_u64(w, xid);
	sh_mp_put_u64(w, partition);
}

/* A bin of n u32 big-endian ids, written in chunks without a copy. */
static void put_ids(sh_mp_writer_t *w, const uint32_t *ids, uint32_t n)
{
	msgpack_pack_bin(&w->pk, (size_t)n * 4);
	uint8_t chunk[256];
	size_t used = 0;
	for (uint32_t i = 0; i < n; i++) {
		chunk[used++] = (uint8_t)(ids[i] >> 24);
		chunk[used++] = (uint8_t)(ids[i] >> 16);
		chunk[used++] = (uint8_t)(ids[i] >> 8);
		chunk[used++] = (uint8_t)ids[i];
		if (used == sizeof chunk || i + 1 == n) {
			msgpack_pack_bin_body(&w->pk, chunk, used);
			used = 0;
		}
	}
}

int merkle__enc_open(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     uint32_t segments, uint32_t fanout,
                     uint32_t partition_bits, uint64_t root)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, MERKLE_MSG_OPEN, xid, partition);
	sh_mp_put_u64(&w, segments);
	sh_mp_put_u64(&w, fanout);
	sh_mp_put_u64(&w, partition_bits);
	return sh_mp_put_u64(&w, root);
}

int merkle__enc_ids(sh_buf_t *out, merkle_msg_type_t type, uint64_t xid,
                    uint32_t partition, uint32_t level, const uint32_t *ids,
                    uint32_t n)
{
	sh_assert(type == MERKLE_MSG_NODES_REQ || type == MERKLE_MSG_KEYS_REQ);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, type, xid, partition);
	if (type == MERKLE_MSG_NODES_REQ)
		sh_mp_put_u64(&w, level);
	put_ids(&w, ids, n);
	return w.err;
}

int merkle__enc_nodes(sh_buf_t *out, uint64_t xid, uint32_t partition,
                      uint32_t level, const uint32_t *parents, uint32_t n,
                      const uint64_t *hashes, uint32_t hn)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, MERKLE_MSG_NODES, xid, partition);
	sh_mp_put_u64(&w, level);
	put_ids(&w, parents, n);
	msgpack_pack_bin(&w.pk, (size_t)hn * 8);
	for (uint32_t i = 0; i < hn; i++) {
		uint8_t b[8];
		merkle__put_u64be(b, hashes[i]);
		msgpack_pack_bin_body(&w.pk, b, sizeof b);
	}
	return w.err;
}

int merkle__enc_keys(sh_buf_t *out, uint64_t xid, uint32_t partition, int last,
                     const merkle__klist_t *l, size_t first, uint32_t n)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, MERKLE_MSG_KEYS, xid, partition);
	sh_mp_put_bool(&w, last);
	sh_mp_put_array(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		const merkle__kent_t *e = &l->v[first + i];
		const uint8_t *p = l->arena.data + e->off;
		sh_mp_put_array(&w, 3);
		sh_mp_put_bin(&w, p, e->blen);
		sh_mp_put_bin(&w, p + e->blen, e->klen);
		sh_mp_put_u64(&w, e->obj_hash);
	}
	return w.err;
}

int merkle__enc_done(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     int64_t status)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, MERKLE_MSG_DONE, xid, partition);
	return sh_mp_put_i64(&w, status);
}

/* A bin of n u64 big-endian values. */
static void put_u64s(sh_mp_writer_t *w, const uint64_t *v, uint32_t n)
{
	msgpack_pack_bin(&w->pk, (size_t)n * 8);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t b[8];
		merkle__put_u64be(b, v[i]);
		msgpack_pack_bin_body(&w->pk, b, sizeof b);
	}
}

int merkle__enc_paths(sh_buf_t *out, merkle_msg_type_t type, uint64_t xid,
                      uint32_t partition, int first, uint32_t bits,
                      const uint64_t *paths, uint32_t n)
{
	sh_assert(type == MERKLE_MSG_SUMS_REQ || type == MERKLE_MSG_PKEYS_REQ);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	put_header(&w, type, xid, partition);
	if (type == MERKLE_MSG_SUMS_REQ) {
		sh_mp_put_bool(&w, first);
		sh_mp_put_u64(&w, bits);
	}
	put_u64s(&w, paths, n);
	return w.err;
}

int merkle__enc_sums(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     uint32_t bits, uint32_t n, const uint8_t *counts,
                     const uint32_t *sums)
{
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	size_t children = (size_t)n << bits;
	put_header(&w, MERKLE_MSG_SUMS, xid, partition);
	sh_mp_put_u64(&w, bits);
	sh_mp_put_bin(&w, counts, children);
	msgpack_pack_bin(&w.pk, children * 4);
	for (size_t i = 0; i < children; i++) {
		uint8_t b[4] = {(uint8_t)(sums[i] >> 24),
		                (uint8_t)(sums[i] >> 16),
		                (uint8_t)(sums[i] >> 8), (uint8_t)sums[i]};
		msgpack_pack_bin_body(&w.pk, b, sizeof b);
	}
	return w.err;
}

/* ---- decoding ---- */

static int get_u32(sh_mp_reader_t *r, uint32_t *v, uint64_t max)
{
	uint64_t u;
	int rc = sh_mp_get_u64(r, &u);
	if (rc != 0)
		return rc;
	if (u > max)
		return SH_ERANGE;
	*v = (uint32_t)u;
	return 0;
}

/* A bin of u32 ids: 1..max of them; ascending when asked. */
static int get_ids(sh_mp_reader_t *r, merkle_msg_t *m, uint32_t max,
                   int ascending)
{
	const uint8_t *p;
	size_t len;
	int rc = sh_mp_get_bin(r, &p, &len);
	if (rc != 0)
		return rc;
	if (len == 0 || len % 4 != 0)
		return SH_EMALFORMED;
	if (len / 4 > max)
		return SH_ETOOBIG;
	m->ids = p;
	m->id_count = (uint32_t)(len / 4);
	for (uint32_t i = 1; ascending && i < m->id_count; i++)
		if (merkle_msg_id(m, i) <= merkle_msg_id(m, i - 1))
			return SH_EMALFORMED;
	return 0;
}

static int dec_open(sh_mp_reader_t *r, merkle_msg_t *m)
{
	int rc = get_u32(r, &m->segments, MERKLE_SEGMENTS_MAX);
	if (rc == 0)
		rc = get_u32(r, &m->fanout, MERKLE_FANOUT_MAX);
	if (rc == 0)
		rc = get_u32(r, &m->partition_bits, MERKLE_PARTITION_BITS_MAX);
	if (rc == 0)
		rc = sh_mp_get_u64(r, &m->root);
	if (rc == 0 &&
	    !merkle__geometry_ok(m->segments, m->fanout, m->partition_bits))
		return SH_ERANGE;
	return rc;
}

static int dec_nodes(sh_mp_reader_t *r, merkle_msg_t *m, int with_hashes)
{
	int rc = get_u32(r, &m->level, MERKLE_LEVELS_MAX - 1);
	if (rc == 0)
		rc = get_ids(r, m, MERKLE_BRANCHES_MAX, 0);
	if (rc != 0 || !with_hashes)
		return rc;
	const uint8_t *p;
	size_t len;
	rc = sh_mp_get_bin(r, &p, &len);
	if (rc != 0)
		return rc;
	if (len == 0 || len % 8 != 0 || (len / 8) % m->id_count != 0)
		return SH_EMALFORMED;
	if (len / 8 / m->id_count > MERKLE_FANOUT_MAX)
		return SH_ETOOBIG;
	m->hashes = p;
	m->hash_count = (uint32_t)(len / 8);
	return 0;
}

/* One [bucket, key, obj_hash] entry. */
static int dec_key(sh_mp_reader_t *r, merkle_key_t *k)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != 0)
		return rc;
	if (n != 3)
		return SH_EMALFORMED;
	rc = sh_mp_get_bin(r, &k->bucket, &k->bucket_len);
	if (rc == 0)
		rc = sh_mp_get_bin(r, &k->key, &k->key_len);
	if (rc == 0)
		rc = sh_mp_get_u64(r, &k->obj_hash);
	if (rc == 0 && (k->bucket_len > MERKLE_BUCKET_BYTES_MAX ||
	                k->key_len > MERKLE_KEY_BYTES_MAX))
		return SH_ETOOBIG;
	return rc;
}

static int dec_keys(sh_mp_reader_t *r, merkle_msg_t *m)
{
	int rc = sh_mp_get_bool(r, &m->last);
	if (rc == 0)
		rc = sh_mp_get_array(r, &m->key_count);
	if (rc != 0)
		return rc;
	if (m->key_count > MERKLE_KEYS_PER_MSG_MAX)
		return SH_ETOOBIG;
	m->keys = r->p;
	for (uint32_t i = 0; i < m->key_count; i++) {
		merkle_key_t k;
		rc = dec_key(r, &k);
		if (rc != 0)
			return rc;
	}
	m->keys_len = (size_t)(r->p - m->keys);
	return 0;
}

uint32_t merkle__path_len(uint64_t path)
{
	sh_assert(path >= 2);
	return 63u - (uint32_t)__builtin_clzll(path);
}

/* The first and last hash bits (below the partition) under a path. */
static void path_span(uint64_t path, uint64_t *lo, uint64_t *hi)
{
	uint32_t len = merkle__path_len(path);
	uint64_t prefix = path ^ (1ull << len);
	*lo = prefix << (64 - len);
	*hi = *lo | (~0ull >> len);
}

/* Paths: 1..MERKLE_PATHS_MAX, each well formed, no room below it for
 * fewer than `room` bits, ascending and not nested. */
static int get_paths(sh_mp_reader_t *r, merkle_msg_t *m, uint32_t room)
{
	const uint8_t *p;
	size_t len;
	int rc = sh_mp_get_bin(r, &p, &len);
	if (rc != 0)
		return rc;
	if (len == 0 || len % 8 != 0)
		return SH_EMALFORMED;
	if (len / 8 > MERKLE_PATHS_MAX)
		return SH_ETOOBIG;
	m->paths = p;
	m->path_count = (uint32_t)(len / 8);
	uint64_t prev_hi = 0;
	for (uint32_t i = 0; i < m->path_count; i++) {
		uint64_t v = merkle_msg_path(m, i), lo, hi;
		if (v < 2 || merkle__path_len(v) + room > MERKLE_PATH_BITS_MAX)
			return SH_EMALFORMED;
		path_span(v, &lo, &hi);
		if (i > 0 && lo <= prev_hi)
			return SH_EMALFORMED;
		prev_hi = hi;
	}
	return 0;
}

static int dec_sums(sh_mp_reader_t *r, merkle_msg_t *m, int req)
{
	int rc = 0;
	if (req)
		rc = sh_mp_get_bool(r, &m->first);
	if (rc == 0)
		rc = get_u32(r, &m->bits, UINT32_MAX);
	if (rc != 0)
		return rc;
	if (m->bits == 0 || m->bits > 4 ||
	    (1u << m->bits) > MERKLE_SUB_FANOUT_MAX)
		return SH_ERANGE;
	if (req)
		return get_paths(r, m, m->bits);
	/* SUMS: the paths are the request's, in order (not repeated) */
	size_t children, n;
	rc = sh_mp_get_bin(r, &m->counts, &children);
	if (rc != 0)
		return rc;
	if (children == 0 || children % (1u << m->bits) != 0)
		return SH_EMALFORMED;
	if ((children >> m->bits) > MERKLE_PATHS_MAX)
		return SH_ETOOBIG;
	m->path_count = (uint32_t)(children >> m->bits);
	rc = sh_mp_get_bin(r, &m->sums, &n);
	if (rc == 0 && n != children * 4)
		rc = SH_EMALFORMED;
	return rc;
}

static int dec_body(sh_mp_reader_t *r, merkle_msg_t *m)
{
	switch (m->type) {
	case MERKLE_MSG_OPEN: return dec_open(r, m);
	case MERKLE_MSG_NODES_REQ: return dec_nodes(r, m, 0);
	case MERKLE_MSG_NODES: return dec_nodes(r, m, 1);
	case MERKLE_MSG_KEYS_REQ:
		return get_ids(r, m, MERKLE_SEGS_PER_STEP_MAX, 1);
	case MERKLE_MSG_KEYS: return dec_keys(r, m);
	case MERKLE_MSG_SUMS_REQ: return dec_sums(r, m, 1);
	case MERKLE_MSG_SUMS: return dec_sums(r, m, 0);
	case MERKLE_MSG_PKEYS_REQ: return get_paths(r, m, 0);
	case MERKLE_MSG_DONE: {
		int rc = sh_mp_get_i64(r, &m->status);
		if (rc == 0 &&
		    (m->status < SH_EFULL || m->status > MERKLE_DONE_EQUAL))
			return SH_ERANGE;
		return rc;
	}
	}
	return SH_EMALFORMED;
}

int merkle_msg_decode(const void *buf, size_t len, merkle_msg_t *m)
{
	sh_assert(m != NULL);
	memset(m, 0, sizeof *m);
	if (len > MERKLE_MSG_BYTES_MAX)
		return SH_ETOOBIG;
	if (buf == NULL || len == 0)
		return SH_ETRUNC;
	sh_mp_reader_t r;
	sh_mp_reader_init(&r, buf, len);
	uint32_t n, version, type;
	int rc = sh_mp_get_array(&r, &n);
	if (rc != 0)
		return rc;
	if (n < 2)
		return SH_EMALFORMED;
	rc = get_u32(&r, &version, UINT32_MAX);
	if (rc != 0)
		return rc;
	if (version != MERKLE_MSG_VERSION)
		return SH_EVERSION;
	rc = get_u32(&r, &type, UINT32_MAX);
	if (rc != 0)
		return rc;
	if (items_of(type) == 0 || items_of(type) != n)
		return SH_EMALFORMED;
	m->type = (merkle_msg_type_t)type;
	rc = sh_mp_get_u64(&r, &m->xid);
	if (rc == 0)
		rc = get_u32(&r, &m->partition, 0xffff);
	if (rc == 0)
		rc = dec_body(&r, m);
	if (rc == 0 && sh_mp_reader_left(&r) != 0)
		rc = SH_EMALFORMED;
	return rc;
}

uint32_t merkle_msg_id(const merkle_msg_t *m, uint32_t i)
{
	sh_assert(i < m->id_count);
	const uint8_t *p = m->ids + 4 * (size_t)i;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t merkle_msg_hash(const merkle_msg_t *m, uint32_t i)
{
	sh_assert(i < m->hash_count);
	return merkle__get_u64be(m->hashes + 8 * (size_t)i);
}

uint64_t merkle_msg_path(const merkle_msg_t *m, uint32_t i)
{
	sh_assert(i < m->path_count && m->paths != NULL);
	return merkle__get_u64be(m->paths + 8 * (size_t)i);
}

uint32_t merkle_msg_sum(const merkle_msg_t *m, uint32_t i)
{
	sh_assert(m->type == MERKLE_MSG_SUMS &&
	          (size_t)i < ((size_t)m->path_count << m->bits));
	const uint8_t *p = m->sums + 4 * (size_t)i;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void merkle_msg_keys(const merkle_msg_t *m, merkle_key_iter_t *it)
{
	sh_assert(m != NULL && it != NULL);
	it->p = m->keys;
	it->end = m->keys != NULL ? m->keys + m->keys_len : NULL; /* no keys */
	it->left = m->type == MERKLE_MSG_KEYS ? m->key_count : 0;
}

int merkle_msg_key_next(merkle_key_iter_t *it, merkle_key_t *k)
{
	if (it->left == 0)
		return 0;
	sh_mp_reader_t r;
	sh_mp_reader_init(&r, it->p, (size_t)(it->end - it->p));
	int rc = dec_key(&r, k);
	if (rc != 0)
		return rc;
	it->p = r.p;
	it->left--;
	return 1;
}
