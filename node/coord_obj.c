/*
 * coord_obj.c - stored records: an object of either kind (a DVV set for
 * kv, a CRDT for dt) behind one kind byte, and the join, equality and hash
 * every path uses (coord.h, STORED RECORDS and TYPE CONFLICTS).
 *
 * Record format (the value of an object key in the store, and the record
 * carried by internode messages):
 *   byte 0      kind: 0x01 kv (COORD_KIND_KV), 0x02 dt (COORD_KIND_DT)
 *   bytes 1..   kv: dvv_encode's canonical bytes (crdt/dvv.h)
 *               dt: crdt_encode's canonical bytes (crdt/crdt.h)
 * Both object encodings carry their own tag and version; the decoders
 * check every length and reject trailing bytes.
 */
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

void coord_obj_free(coord_obj_t *obj)
{
	/* An object of kind NONE owns nothing and is all zeros already:
	 * only a memset or this function makes one. Most frees on a
	 * request's path are of such objects (results and answers reset
	 * before use): no 192-byte clear for them. */
	if (obj->kind == COORD_KIND_NONE)
		return;
	if (obj->kind == COORD_KIND_KV)
		dvv_free(&obj->kv);
	else if (obj->kind == COORD_KIND_DT)
		crdt_free(&obj->dt);
	memset(obj, 0, sizeof(*obj));
}

int coord_obj_decode(coord_obj_t *obj, const uint8_t *p, size_t len,
                     const dvv_limits_t *limits)
{
	coord_obj_t tmp;
	int err;

	if (len < 1)
		return SH_ETRUNC;
	memset(&tmp, 0, sizeof(tmp));
	if (p[0] == COORD_KIND_KV) {
		dvv_init(&tmp.kv);
		err = dvv_decode(&tmp.kv, p + 1, len - 1, limits);
		if (err != 0)
			return err;
		tmp.kind = COORD_KIND_KV;
	} else if (p[0] == COORD_KIND_DT) {
		err = crdt_init(&tmp.dt, CRDT_COUNTER);
		if (err != 0)
			return err;
		err = crdt_decode(&tmp.dt, p + 1, len - 1);
		if (err != 0) {
			crdt_free(&tmp.dt);
			return err;
		}
		tmp.kind = COORD_KIND_DT;
	} else {
		return SH_ETYPE;
	}
	coord_obj_free(obj);
	*obj = tmp;
	return SH_OK;
}

int coord_obj_encode(const coord_obj_t *obj, sh_buf_t *out)
{
	size_t mark = out->len;
	int err;

	sh_assert(obj->kind == COORD_KIND_KV || obj->kind == COORD_KIND_DT);
	err = sh_buf_append_u8(out, (uint8_t)obj->kind);
	if (err != 0)
		return err;
	if (obj->kind == COORD_KIND_KV)
		err = dvv_encode(&obj->kv, out);
	else
		err = crdt_encode(&obj->dt, out);
	if (err != 0)
		out->len = mark;
	return err;
}

int coord__obj_copy(coord_obj_t *dst, const coord_obj_t *src)
{
	coord_obj_t tmp;
	int err = SH_OK;

	memset(&tmp, 0, sizeof(tmp));
	if (src->kind == COORD_KIND_KV) {
		dvv_init(&tmp.kv);
		err = dvv_copy(&tmp.kv, &src->kv);
	} else if (src->kind == COORD_KIND_DT) {
		err = crdt_init(&tmp.dt, crdt_type(&src->dt));
		if (err == 0)
			err = crdt_copy(&tmp.dt, &src->dt);
		if (err != 0)
			crdt_free(&tmp.dt);
	}
	if (err != 0)
		return err;
	tmp.kind = src->kind;
	coord_obj_free(dst);
	*dst = tmp;
	return SH_OK;
}

/* the order of TYPE CONFLICTS: kv above dt, then the crdt type number */
static unsigned obj_rank(const coord_obj_t *o)
{
	if (o->kind == COORD_KIND_KV)
		return 16;
	if (o->kind == COORD_KIND_DT)
		return (unsigned)crdt_type(&o->dt);
	return 0;
}

int coord_obj_merge(coord_obj_t *dst, const coord_obj_t *src, int *conflict)
{
	unsigned rd = obj_rank(dst), rs = obj_rank(src);

	if (conflict != NULL)
		*conflict = 0;
	if (src->kind == COORD_KIND_NONE)
		return SH_OK;
	if (dst->kind == COORD_KIND_NONE)
		return coord__obj_copy(dst, src);
	if (rd != rs) {
		if (conflict != NULL)
			*conflict = 1;
		return rs > rd ? coord__obj_copy(dst, src) : SH_OK;
	}
	if (dst->kind == COORD_KIND_KV)
		return dvv_sync(&dst->kv, &src->kv);
	return crdt_merge(&dst->dt, &src->dt);
}

int coord_obj_equal(const coord_obj_t *a, const coord_obj_t *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == COORD_KIND_KV)
		return dvv_equal(&a->kv, &b->kv);
	if (a->kind == COORD_KIND_DT)
		return crdt_equal(&a->dt, &b->dt);
	return 1;
}

uint64_t coord_obj_hash(const coord_obj_t *obj)
{
	sh_buf_t b;
	uint64_t h;

	if (obj->kind == COORD_KIND_KV)
		return dvv_hash(&obj->kv);
	if (obj->kind != COORD_KIND_DT)
		return 0;
	sh_buf_init(&b);
	if (crdt_encode(&obj->dt, &b) != 0) {
		sh_buf_free(&b);
		return 0;
	}
	h = XXH3_64bits(b.data, b.len);
	sh_buf_free(&b);
	return h;
}

int coord__obj_context(const coord_obj_t *obj, sh_buf_t *out)
{
	if (obj->kind == COORD_KIND_DT)
		return dvv_ctx_encode(&obj->dt.ctx, out);
	if (obj->kind != COORD_KIND_KV)
		return SH_OK;
	/* dvv_join is a copy of the object's context: encode it in place */
	return dvv_ctx_encode(&obj->kv.ctx, out);
}
