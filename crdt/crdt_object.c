/*
 * crdt_object.c - the public object API of crdt.h: lifecycle, merge,
 * comparison, checks and operations, over the stores of crdt_store.c.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

/* ---- types ---- */

int crdt_type_valid(int type)
{
	return type >= CRDT_COUNTER && type <= CRDT_MAP;
}

const char *crdt_type_name(crdt_type_t type)
{
	switch (type) {
	case CRDT_COUNTER: return "counter";
	case CRDT_SET: return "set";
	case CRDT_REGISTER: return "register";
	case CRDT_MAP: return "map";
	}
	return NULL;
}

crdt_type_t crdt_op_type(crdt_op_kind_t kind)
{
	switch (kind) {
	case CRDT_OP_COUNTER_INCREMENT: return CRDT_COUNTER;
	case CRDT_OP_SET_ADD:
	case CRDT_OP_SET_REMOVE: return CRDT_SET;
	case CRDT_OP_REGISTER_ASSIGN: return CRDT_REGISTER;
	case CRDT_OP_MAP_UPDATE:
	case CRDT_OP_MAP_REMOVE: return CRDT_MAP;
	}
	return (crdt_type_t)0;
}

crdt_type_t crdt_store_type(const crdt_store_t *s)
{
	return s->type;
}

int crdt_store_is_empty(const crdt_store_t *s)
{
	return s->len == 0;
}

/* ---- objects ---- */

int crdt_init(crdt_t *c, crdt_type_t type)
{
	if (!crdt_type_valid(type))
		return SH_EINVAL;
	crdt__store_init(&c->store, type);
	crdt_ctx_init(&c->ctx);
	return SH_OK;
}

void crdt_free(crdt_t *c)
{
	crdt__store_free(&c->store);
	crdt_ctx_free(&c->ctx);
}

crdt_type_t crdt_type(const crdt_t *c)
{
	return c->store.type;
}

int crdt_copy(crdt_t *dst, const crdt_t *src)
{
	if (dst == src)
		return SH_OK;
	crdt_t tmp;
	crdt_init(&tmp, src->store.type);
	int rc = crdt__store_copy(&tmp.store, &src->store);
	if (rc == SH_OK)
		rc = crdt_ctx_copy(&tmp.ctx, &src->ctx);
	if (rc != SH_OK) {
		crdt_free(&tmp);
		return rc;
	}
	crdt_free(dst);
	*dst = tmp;
	return SH_OK;
}

int crdt_merge(crdt_t *dst, const crdt_t *src)
{
	if (dst->store.type != src->store.type)
		return SH_ETYPE;
	if (dst == src)
		return SH_OK; /* join is idempotent */
	crdt_t tmp;
	crdt_init(&tmp, dst->store.type);
	int rc = crdt__store_join(&tmp.store, &dst->store, &dst->ctx,
	                          &src->store, &src->ctx);
	if (rc == SH_OK)
		rc = crdt_ctx_copy(&tmp.ctx, &dst->ctx);
	if (rc == SH_OK)
		rc = crdt_ctx_merge(&tmp.ctx, &src->ctx);
	if (rc != SH_OK) {
		crdt_free(&tmp);
		return rc;
	}
	crdt_free(dst);
	*dst = tmp;
	return SH_OK;
}

int crdt_equal(const crdt_t *a, const crdt_t *b)
{
	return a->store.type == b->store.type &&
	       crdt_ctx_equal(&a->ctx, &b->ctx) &&
	       crdt__store_equal(&a->store, &b->store);
}

int crdt_check(const crdt_t *c)
{
	return crdt_type_valid(c->store.type) && crdt_ctx_check(&c->ctx) &&
	       crdt__store_check(&c->store, &c->ctx, 1);
}

/* ---- operations ---- */

int crdt_apply(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
               const crdt_op_t *op)
{
	sh_assert(actor != NULL && actor->name_len > 0);
	return crdt__store_apply(&c->store, &c->ctx, actor, now_ms, op, 1);
}

int crdt_counter_increment(crdt_t *c, const crdt_actor_t *actor, int64_t by)
{
	crdt_op_t op = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = by};
	return crdt_apply(c, actor, 0, &op);
}

int crdt_set_add(crdt_t *c, const crdt_actor_t *actor, const void *element,
                 size_t len)
{
	crdt_op_t op = {.kind = CRDT_OP_SET_ADD,
	                .u.element = {.bytes = element, .len = len}};
	return crdt_apply(c, actor, 0, &op);
}

int crdt_set_remove(crdt_t *c, const crdt_actor_t *actor, const void *element,
                    size_t len)
{
	crdt_op_t op = {.kind = CRDT_OP_SET_REMOVE,
	                .u.element = {.bytes = element, .len = len}};
	return crdt_apply(c, actor, 0, &op);
}

int crdt_register_assign(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
                         const void *value, size_t len)
{
	crdt_op_t op = {.kind = CRDT_OP_REGISTER_ASSIGN,
	                .u.value = {.bytes = value, .len = len}};
	return crdt_apply(c, actor, now_ms, &op);
}

int crdt_map_update(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
                    const void *name, size_t name_len, crdt_type_t type,
                    const crdt_op_t *op)
{
	crdt_op_t up = {
	    .kind = CRDT_OP_MAP_UPDATE,
	    .u.field = {
	        .name = name, .name_len = name_len, .type = type, .op = op}};
	return crdt_apply(c, actor, now_ms, &up);
}

int crdt_map_remove(crdt_t *c, const crdt_actor_t *actor, const void *name,
                    size_t name_len, crdt_type_t type)
{
	crdt_op_t op = {
	    .kind = CRDT_OP_MAP_REMOVE,
	    .u.field = {.name = name, .name_len = name_len, .type = type}};
	return crdt_apply(c, actor, 0, &op);
}
