/*
 * crdt_store.c - the generic dot store: helpers, dispatch by type to the
 * per-type files (crdt_counter.c, crdt_set.c, crdt_register.c, crdt_map.c)
 * and the DotSet join (ALGORITHMS.md section 1). See crdt.h for the model.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_buf.h"
#include "crdt/crdt_int.h"

/* ---- helpers ---- */

size_t crdt__entry_size(crdt_type_t type)
{
	switch (type) {
	case CRDT_COUNTER: return sizeof(crdt_counter_entry_t);
	case CRDT_SET: return sizeof(crdt_set_elem_t);
	case CRDT_REGISTER: return sizeof(crdt_reg_entry_t);
	case CRDT_MAP: return sizeof(crdt_field_t);
	}
	sh_assert(!"unknown crdt type");
	return 0;
}

int crdt__store_reserve(crdt_store_t *s, size_t extra)
{
	/* Every member of the union is a pointer; grow through one of them. */
	void *p = s->v.counter;
	int rc = sh_array_reserve(&p, &s->cap, s->len + extra,
	                          crdt__entry_size(s->type));
	s->v.counter = p;
	return rc;
}

int crdt__bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

int crdt__bytes_dup(const void *p, size_t len, uint8_t **out)
{
	*out = NULL;
	if (len == 0)
		return SH_OK;
	*out = malloc(len);
	if (*out == NULL)
		return SH_ENOMEM;
	memcpy(*out, p, len);
	return SH_OK;
}

/* ---- generic stores ---- */

void crdt__store_init(crdt_store_t *s, crdt_type_t type)
{
	memset(s, 0, sizeof *s);
	s->type = type;
}

void crdt__store_free(crdt_store_t *s)
{
	switch (s->type) {
	case CRDT_COUNTER: crdt__counter_free(s); break;
	case CRDT_SET: crdt__set_free(s); break;
	case CRDT_REGISTER: crdt__register_free(s); break;
	case CRDT_MAP: crdt__map_free(s); break;
	}
	free(s->v.counter);
	crdt__store_init(s, s->type);
}

int crdt__store_copy(crdt_store_t *dst, const crdt_store_t *src)
{
	sh_assert(dst->type == src->type && dst->len == 0);
	int rc = crdt__store_reserve(dst, src->len);
	if (rc != SH_OK)
		return rc;
	switch (src->type) {
	case CRDT_COUNTER: rc = crdt__counter_copy(dst, src); break;
	case CRDT_SET: rc = crdt__set_copy(dst, src); break;
	case CRDT_REGISTER: rc = crdt__register_copy(dst, src); break;
	case CRDT_MAP: rc = crdt__map_copy(dst, src); break;
	}
	if (rc != SH_OK)
		crdt__store_free(dst);
	return rc;
}

int crdt__store_equal(const crdt_store_t *a, const crdt_store_t *b)
{
	if (a->type != b->type || a->len != b->len)
		return 0;
	switch (a->type) {
	case CRDT_COUNTER: return crdt__counter_equal(a, b);
	case CRDT_SET: return crdt__set_equal(a, b);
	case CRDT_REGISTER: return crdt__register_equal(a, b);
	case CRDT_MAP: return crdt__map_equal(a, b);
	}
	return 0;
}

int crdt__store_join(crdt_store_t *out, const crdt_store_t *a,
                     const crdt_ctx_t *ca, const crdt_store_t *b,
                     const crdt_ctx_t *cb)
{
	sh_assert(out->len == 0);
	sh_assert(a == NULL || a->type == out->type);
	sh_assert(b == NULL || b->type == out->type);
	int rc = SH_EINVAL;
	switch (out->type) {
	case CRDT_COUNTER: rc = crdt__counter_join(out, a, ca, b, cb); break;
	case CRDT_SET: rc = crdt__set_join(out, a, ca, b, cb); break;
	case CRDT_REGISTER: rc = crdt__register_join(out, a, ca, b, cb); break;
	case CRDT_MAP: rc = crdt__map_join(out, a, ca, b, cb); break;
	}
	if (rc != SH_OK)
		crdt__store_free(out);
	return rc;
}

int crdt__store_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                      const crdt_actor_t *actor, uint64_t now_ms,
                      const crdt_op_t *op, int level)
{
	if (op == NULL)
		return SH_EINVAL;
	crdt_type_t want = crdt_op_type(op->kind);
	if (want == 0)
		return SH_EINVAL;
	if (want != s->type)
		return SH_ETYPE;
	switch (s->type) {
	case CRDT_COUNTER: return crdt__counter_apply(s, ctx, actor, op);
	case CRDT_SET: return crdt__set_apply(s, ctx, actor, op);
	case CRDT_REGISTER:
		return crdt__register_apply(s, ctx, actor, now_ms, op);
	case CRDT_MAP: return crdt__map_apply(s, ctx, actor, now_ms, op, level);
	}
	return SH_EINVAL;
}

int crdt__store_check(const crdt_store_t *s, const crdt_ctx_t *ctx, int level)
{
	if (s->len > s->cap || (s->len > 0 && s->v.counter == NULL))
		return 0;
	switch (s->type) {
	case CRDT_COUNTER: return crdt__counter_check(s, ctx);
	case CRDT_SET: return crdt__set_check(s, ctx);
	case CRDT_REGISTER: return crdt__register_check(s, ctx);
	case CRDT_MAP: return crdt__map_check(s, ctx, level);
	}
	return 0;
}

/* ---- dot sets ---- */

int crdt__dots_check(const crdt_dot_t *d, size_t n, const crdt_ctx_t *ctx)
{
	if (n > CRDT_DOTS_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i].counter == 0 || !crdt_ctx_contains(ctx, &d[i]))
			return 0;
		if (i > 0 && crdt_dot_cmp(&d[i - 1], &d[i]) >= 0)
			return 0;
	}
	return 1;
}

int crdt__dots_join(const crdt_dot_t *a, size_t alen, const crdt_ctx_t *ca,
                    const crdt_dot_t *b, size_t blen, const crdt_ctx_t *cb,
                    crdt_dot_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (alen + blen == 0)
		return SH_OK;
	crdt_dot_t *r = malloc((alen + blen) * sizeof *r);
	if (r == NULL)
		return SH_ENOMEM;
	size_t i = 0, j = 0, n = 0;
	while (i < alen || j < blen) {
		int c = i == alen   ? 1
		        : j == blen ? -1
		                    : crdt_dot_cmp(&a[i], &b[j]);
		if (c == 0) {
			r[n++] = a[i];
			i++;
			j++;
		} else if (c < 0) {
			if (!crdt_ctx_contains(cb, &a[i]))
				r[n++] = a[i];
			i++;
		} else {
			if (!crdt_ctx_contains(ca, &b[j]))
				r[n++] = b[j];
			j++;
		}
	}
	if (n == 0) {
		free(r);
		return SH_OK;
	}
	*out = r;
	*out_len = n;
	return SH_OK;
}
