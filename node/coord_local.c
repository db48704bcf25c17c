/*
 * coord_local.c - the coordinator's own store: object keys, reading and
 * decoding the own copy of a key, writing a record (and a hint when this
 * node stands in for a down primary), joining an incoming object into the
 * own copy (coord_join_record for hinted handoff), and coord_local_get
 * for /cluster/replicas.
 *
 * Records are described in coord_obj.c; a hint's value is empty (its key,
 * store.h's hints layout, names the primary and the object).
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

int coord__obj_key(const coord_t *c, const uint8_t *bucket, size_t bucket_len,
                   const uint8_t *key, size_t key_len, store_key_t *out)
{
	uint64_t h = ring_key_hash(bucket, bucket_len, key, key_len);
	uint32_t p = ring_partition(&c->ring, h);

	sh_assert(p <= UINT16_MAX);
	return store_key_object(out, (uint16_t)p, bucket, bucket_len, key,
	                        key_len);
}

void coord__limits(const coord_t *c, dvv_limits_t *out)
{
	dvv_limits_default(out);
	if (c->cfg.value_bytes_max > out->value_bytes_max)
		out->value_bytes_max = c->cfg.value_bytes_max;
}

int coord__local_read(coord_t *c, const store_key_t *k, coord_obj_t *out)
{
	const uint8_t *val;
	size_t len;
	dvv_limits_t lim;
	int err;

	coord_obj_free(out);
	err = store_get(c->store, k, &val, &len);
	if (err == SH_ENOTFOUND)
		return SH_OK;
	if (err == 0) {
		coord__limits(c, &lim);
		err = coord_obj_decode(out, val, len, &lim);
	}
	if (err != 0)
		c->stats.store_errors++;
	return err;
}

int coord__local_hint(coord_t *c, const store_key_t *k, const char *primary)
{
	store_key_t hk;
	int err = store_key_hint(&hk, primary, strlen(primary), k);

	if (err == 0)
		err = store_put(c->store, &hk, NULL, 0);
	if (err == 0) {
		c->stats.hints_stored++;
		/* named in coord_ready's hinted: a primary that is up in
		 * this node's view gets no SWIM up event to start replay */
		coord__hinted_note(c, primary);
	}
	return err;
}

int coord__local_write(coord_t *c, const store_key_t *k, const coord_obj_t *obj,
                       const char *hint_for)
{
	int err;

	sh_buf_reset(&c->scratch);
	err = coord_obj_encode(obj, &c->scratch);
	if (err == 0)
		err = store_put(c->store, k, c->scratch.data, c->scratch.len);
	if (err == 0 && hint_for != NULL && hint_for[0] != '\0')
		err = coord__local_hint(c, k, hint_for);
	if (err != 0)
		c->stats.store_errors++;
	return err;
}

int coord__local_merge(coord_t *c, const store_key_t *k, const coord_obj_t *obj,
                       const char *hint_for)
{
	coord_obj_t mine;
	int err, conflict = 0;

	memset(&mine, 0, sizeof(mine));
	err = coord__local_read(c, k, &mine);
	if (err == SH_EIO || err == SH_ENOMEM) {
		coord_obj_free(&mine);
		return err;
	}
	if (err != 0)
		coord_obj_free(
		    &mine); /* damaged: the incoming copy replaces it */
	err = coord_obj_merge(&mine, obj, &conflict);
	if (conflict)
		c->stats.type_conflicts++;
	if (err == 0)
		err = coord__local_write(c, k, &mine, hint_for);
	coord_obj_free(&mine);
	return err;
}

void coord__local_info(const coord_obj_t *obj, coord_local_t *out)
{
	out->present = obj->kind != COORD_KIND_NONE;
	out->kind = obj->kind;
	out->hash = coord_obj_hash(obj);
	if (obj->kind == COORD_KIND_KV) {
		out->siblings = obj->kv.sibling_count;
		out->tombstone = dvv_is_deleted(&obj->kv);
	} else if (obj->kind == COORD_KIND_DT) {
		out->dt_type = crdt_type(&obj->dt);
	}
}

int coord_local_get(coord_t *c, const void *bucket, size_t bucket_len,
                    const void *key, size_t key_len, coord_local_t *out)
{
	store_key_t k;
	coord_obj_t obj;
	int err;

	memset(out, 0, sizeof(*out));
	memcpy(out->name, c->name, sizeof(out->name));
	out->answered = 1;
	err = coord__obj_key(c, bucket, bucket_len, key, key_len, &k);
	if (err != 0)
		return err;
	memset(&obj, 0, sizeof(obj));
	err = coord__local_read(c, &k, &obj);
	if (err == 0)
		coord__local_info(&obj, out);
	coord_obj_free(&obj);
	return err;
}

int coord_join_record(coord_t *c, const uint8_t *okey, size_t okey_len,
                      const uint8_t *record, size_t record_len)
{
	store_key_parts_t parts;
	store_key_t k;
	coord_obj_t obj;
	dvv_limits_t lim;
	int err;

	if (store_key_parse(STORE_OBJECTS, okey, okey_len, &parts) != 0)
		return SH_EMALFORMED;
	err = coord__obj_key(c, parts.bucket, parts.bucket_len, parts.key,
	                     parts.key_len, &k);
	if (err != 0)
		return err;
	memset(&obj, 0, sizeof(obj));
	coord__limits(c, &lim);
	err = coord_obj_decode(&obj, record, record_len, &lim);
	if (err == 0)
		err = coord__local_merge(c, &k, &obj, NULL);
	coord_obj_free(&obj);
	return err;
}
