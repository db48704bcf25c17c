/*
 * crdt_map.c - the observed-remove map: a DotMap<(field name, field type),
 * nested store>, whose nested stores share the object's context
 * (ALGORITHMS.md 3; semantics and encoding in crdt.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

static void field_free(crdt_field_t *f)
{
	free(f->name);
	f->name = NULL;
	crdt__store_free(&f->store);
}

void crdt__map_free(crdt_store_t *s)
{
	for (size_t i = 0; i < s->len; i++)
		field_free(&s->v.map[i]);
}

/* Order of fields: by name bytes, then by type. */
static int field_cmp(const uint8_t *an, size_t alen, crdt_type_t at,
                     const uint8_t *bn, size_t blen, crdt_type_t bt)
{
	int c = crdt__bytes_cmp(an, alen, bn, blen);
	if (c != 0)
		return c;
	if (at != bt)
		return at < bt ? -1 : 1;
	return 0;
}

int crdt__map_copy(crdt_store_t *dst, const crdt_store_t *src)
{
	for (size_t i = 0; i < src->len; i++) {
		const crdt_field_t *f = &src->v.map[i];
		crdt_field_t *g = &dst->v.map[i];
		crdt__store_init(&g->store, f->store.type);
		int rc = crdt__bytes_dup(f->name, f->name_len, &g->name);
		if (rc != SH_OK)
			return rc;
		g->name_len = f->name_len;
		dst->len = i + 1; /* from here on dst owns g */
		if ((rc = crdt__store_copy(&g->store, &f->store)) != SH_OK)
			return rc;
	}
	return SH_OK;
}

int crdt__map_equal(const crdt_store_t *a, const crdt_store_t *b)
{
	for (size_t i = 0; i < a->len; i++) {
		const crdt_field_t *x = &a->v.map[i], *y = &b->v.map[i];
		if (crdt__bytes_cmp(x->name, x->name_len, y->name,
		                    y->name_len) != 0 ||
		    !crdt__store_equal(&x->store, &y->store))
			return 0;
	}
	return 1;
}

/*
 * Appends to out the join of field x (context cx; may be NULL) and field y
 * (cy; may be NULL) with the same key, unless the joined store is empty.
 */
static int join_field(crdt_store_t *out, const crdt_field_t *x,
                      const crdt_ctx_t *cx, const crdt_field_t *y,
                      const crdt_ctx_t *cy)
{
	const crdt_field_t *key = x ? x : y;
	crdt_field_t *g = &out->v.map[out->len];
	memset(g, 0, sizeof *g);
	crdt__store_init(&g->store, key->store.type);
	int rc = crdt__store_join(&g->store, x ? &x->store : NULL, cx,
	                          y ? &y->store : NULL, cy);
	if (rc != SH_OK || g->store.len == 0) {
		crdt__store_free(&g->store);
		return rc;
	}
	if ((rc = crdt__bytes_dup(key->name, key->name_len, &g->name)) !=
	    SH_OK) {
		crdt__store_free(&g->store);
		return rc;
	}
	g->name_len = key->name_len;
	out->len++;
	return SH_OK;
}

int crdt__map_join(crdt_store_t *out, const crdt_store_t *a,
                   const crdt_ctx_t *ca, const crdt_store_t *b,
                   const crdt_ctx_t *cb)
{
	size_t alen = a ? a->len : 0, blen = b ? b->len : 0;
	int rc = crdt__store_reserve(out, alen + blen);
	size_t i = 0, j = 0;
	while (rc == SH_OK && (i < alen || j < blen)) {
		const crdt_field_t *x = i < alen ? &a->v.map[i] : NULL;
		const crdt_field_t *y = j < blen ? &b->v.map[j] : NULL;
		int c = !x   ? 1
		        : !y ? -1
		             : field_cmp(x->name, x->name_len, x->store.type,
		                         y->name, y->name_len, y->store.type);
		if (c == 0) {
			rc = join_field(out, x, ca, y, cb);
			i++;
			j++;
		} else if (c < 0) {
			rc = join_field(out, x, ca, NULL, cb);
			i++;
		} else {
			rc = join_field(out, NULL, ca, y, cb);
			j++;
		}
	}
	return rc;
}

long crdt__map_find(const crdt_store_t *s, const uint8_t *name, size_t name_len,
                    crdt_type_t type)
{
	size_t lo = 0, hi = s->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const crdt_field_t *f = &s->v.map[mid];
		int c = field_cmp(f->name, f->name_len, f->store.type, name,
		                  name_len, type);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static void remove_at(crdt_store_t *s, size_t at)
{
	field_free(&s->v.map[at]);
	memmove(&s->v.map[at], &s->v.map[at + 1],
	        (s->len - at - 1) * sizeof *s->v.map);
	s->len--;
}

/* Update of a field that does not exist yet: build it aside, then insert. */
static int update_new(crdt_store_t *s, crdt_ctx_t *ctx,
                      const crdt_actor_t *actor, uint64_t now_ms,
                      const crdt_op_t *op, int level, size_t pos)
{
	crdt_field_t g;
	memset(&g, 0, sizeof g);
	crdt__store_init(&g.store, op->u.field.type);
	int rc = crdt__store_reserve(s, 1);
	if (rc == SH_OK)
		rc = crdt__bytes_dup(op->u.field.name, op->u.field.name_len,
		                     &g.name);
	if (rc == SH_OK)
		rc = crdt__store_apply(&g.store, ctx, actor, now_ms,
		                       op->u.field.op, level + 1);
	if (rc != SH_OK || g.store.len == 0) {
		field_free(&g);
		return rc;
	}
	g.name_len = op->u.field.name_len;
	memmove(&s->v.map[pos + 1], &s->v.map[pos],
	        (s->len - pos) * sizeof *s->v.map);
	s->v.map[pos] = g;
	s->len++;
	return SH_OK;
}

/* Checks the arguments of a map update or remove. */
static int check_field_op(const crdt_op_t *op, int level)
{
	if (op->u.field.name_len > CRDT_FIELD_NAME_MAX)
		return SH_ETOOBIG;
	if (op->u.field.name_len > 0 && op->u.field.name == NULL)
		return SH_EINVAL;
	if (!crdt_type_valid(op->u.field.type))
		return SH_EINVAL;
	if (op->kind == CRDT_OP_MAP_REMOVE)
		return SH_OK;
	if (op->u.field.op == NULL)
		return SH_EINVAL;
	crdt_type_t nested = crdt_op_type(op->u.field.op->kind);
	if (nested == 0)
		return SH_EINVAL;
	if (nested != op->u.field.type)
		return SH_ETYPE;
	if (nested == CRDT_MAP && level + 1 > CRDT_DEPTH_MAX)
		return SH_EDEPTH;
	return SH_OK;
}

int crdt__map_apply(crdt_store_t *s, crdt_ctx_t *ctx, const crdt_actor_t *actor,
                    uint64_t now_ms, const crdt_op_t *op, int level)
{
	int rc = check_field_op(op, level);
	if (rc != SH_OK)
		return rc;
	long at = crdt__map_find(s, op->u.field.name, op->u.field.name_len,
	                         op->u.field.type);
	if (op->kind == CRDT_OP_MAP_REMOVE) {
		/* Every dot of the field is in ctx: dropping it removes them.
		 */
		if (at < 0)
			return SH_ENOTFOUND;
		remove_at(s, (size_t)at);
		return SH_OK;
	}
	sh_assert(op->kind == CRDT_OP_MAP_UPDATE);
	if (at < 0)
		return update_new(s, ctx, actor, now_ms, op, level,
		                  (size_t)(-at - 1));
	crdt_store_t *nested = &s->v.map[at].store;
	rc = crdt__store_apply(nested, ctx, actor, now_ms, op->u.field.op,
	                       level + 1);
	if (rc == SH_OK && nested->len == 0)
		remove_at(s, (size_t)at); /* e.g. its last element removed */
	return rc;
}

int crdt__map_check(const crdt_store_t *s, const crdt_ctx_t *ctx, int level)
{
	if (s->len > CRDT_ENTRIES_MAX || level > CRDT_DEPTH_MAX)
		return 0;
	for (size_t i = 0; i < s->len; i++) {
		const crdt_field_t *f = &s->v.map[i];
		if (f->name_len > CRDT_FIELD_NAME_MAX ||
		    (f->name_len > 0 && f->name == NULL) ||
		    !crdt_type_valid(f->store.type) || f->store.len == 0)
			return 0;
		if (i > 0) {
			const crdt_field_t *p = &s->v.map[i - 1];
			if (field_cmp(p->name, p->name_len, p->store.type,
			              f->name, f->name_len, f->store.type) >= 0)
				return 0;
		}
		if (!crdt__store_check(&f->store, ctx, level + 1))
			return 0;
	}
	return 1;
}

/* ---- reading ---- */

size_t crdt_map_count(const crdt_store_t *s)
{
	sh_assert(s->type == CRDT_MAP);
	return s->len;
}

void crdt_map_field(const crdt_store_t *s, size_t i, crdt_field_view_t *out)
{
	sh_assert(s->type == CRDT_MAP && i < s->len);
	const crdt_field_t *f = &s->v.map[i];
	out->name = f->name;
	out->name_len = f->name_len;
	out->type = f->store.type;
	out->store = &f->store;
}

const crdt_store_t *crdt_map_get(const crdt_store_t *s, const void *name,
                                 size_t name_len, crdt_type_t type)
{
	sh_assert(s->type == CRDT_MAP);
	long at = crdt__map_find(s, name, name_len, type);
	return at >= 0 ? &s->v.map[at].store : NULL;
}
