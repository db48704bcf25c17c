/*
 * coord_stub.c - placeholders for the request paths while they are being
 * written: every client request answers 503 "not implemented yet". Lets
 * the shell build against coord.h. Replaced by coord_put.c, coord_get.c,
 * coord_dt.c, coord_replica.c, coord_wire.c, coord_obj.c, coord_stats.c.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

static int stub(coord_t *c, coord_op_t op, uint64_t id)
{
	coord_result_t *r = coord__result_new(c, op, id, 0);
	if (r == NULL)
		return SH_ENOMEM;
	r->status = 503;
	snprintf(r->error, sizeof(r->error), "not implemented yet");
	return SH_OK;
}

int coord_kv_put(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params,
                 const coord_value_t *v, const uint8_t *ctx, size_t ctx_len)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params, (void)v, (void)ctx, (void)ctx_len;
	return stub(c, COORD_OP_KV_PUT, client_id);
}

int coord_kv_delete(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    const uint8_t *ctx, size_t ctx_len)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params, (void)ctx, (void)ctx_len;
	return stub(c, COORD_OP_KV_DELETE, client_id);
}

int coord_kv_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params;
	return stub(c, COORD_OP_KV_GET, client_id);
}

int coord_dt_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params;
	return stub(c, COORD_OP_DT_GET, client_id);
}

int coord_dt_update(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    crdt_type_t type, const crdt_op_t *ops, size_t op_count)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params, (void)type, (void)ops, (void)op_count;
	return stub(c, COORD_OP_DT_UPDATE, client_id);
}

int coord_replicas(coord_t *c, uint64_t now_ms, uint64_t client_id,
                   const void *bucket, size_t bucket_len, const void *key,
                   size_t key_len, const coord_params_t *params)
{
	(void)now_ms, (void)bucket, (void)bucket_len, (void)key, (void)key_len;
	(void)params;
	return stub(c, COORD_OP_REPLICAS, client_id);
}

int coord_local_get(coord_t *c, const void *bucket, size_t bucket_len,
                    const void *key, size_t key_len, coord_local_t *out)
{
	(void)bucket, (void)bucket_len, (void)key, (void)key_len;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, c->name, strlen(c->name) + 1);
	return SH_OK;
}

int coord_recv(coord_t *c, uint64_t now_ms, const char *from,
               const uint8_t *data, size_t len)
{
	(void)now_ms, (void)from, (void)data, (void)len;
	c->stats.rejected[COORD_REJECT_TYPE]++;
	return SH_ETYPE;
}

void coord_tick(coord_t *c, uint64_t now_ms)
{
	(void)c, (void)now_ms;
}

void coord_batch_failed(coord_t *c, int err)
{
	(void)err;
	c->stats.batches_failed++;
}

uint64_t coord_latency_percentile(const coord_op_stats_t *s, double q)
{
	(void)s, (void)q;
	return 0;
}

const char *coord_op_name(coord_op_t op)
{
	(void)op;
	return "op";
}

const char *coord_reject_name(coord_reject_t r)
{
	(void)r;
	return "reject";
}

void coord_obj_free(coord_obj_t *obj)
{
	if (obj->kind == COORD_KIND_KV)
		dvv_free(&obj->kv);
	if (obj->kind == COORD_KIND_DT)
		crdt_free(&obj->dt);
	memset(obj, 0, sizeof(*obj));
}

int coord_obj_decode(coord_obj_t *obj, const uint8_t *p, size_t len,
                     const dvv_limits_t *limits)
{
	(void)obj, (void)p, (void)len, (void)limits;
	return SH_ETYPE;
}

int coord_obj_encode(const coord_obj_t *obj, sh_buf_t *out)
{
	(void)obj, (void)out;
	return SH_ENOMEM;
}

int coord_obj_merge(coord_obj_t *dst, const coord_obj_t *src, int *conflict)
{
	(void)dst, (void)src, (void)conflict;
	return SH_ENOMEM;
}

int coord_obj_equal(const coord_obj_t *a, const coord_obj_t *b)
{
	return a->kind == COORD_KIND_NONE && b->kind == COORD_KIND_NONE;
}

uint64_t coord_obj_hash(const coord_obj_t *obj)
{
	(void)obj;
	return 0;
}
