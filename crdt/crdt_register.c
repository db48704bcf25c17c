/*
 * crdt_register.c - the last-writer-wins register: a DotFun<(timestamp_ms,
 * value)> whose value is the entry with the greatest (timestamp_ms, actor,
 * dot counter) (ALGORITHMS.md 3; semantics, clock skew and encoding in
 * crdt.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

void crdt__register_free(crdt_store_t *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v.reg[i].value);
}

/* *dst := a deep copy of entry src. */
static int entry_copy(crdt_reg_entry_t *dst, const crdt_reg_entry_t *src)
{
	*dst = *src;
	return crdt__bytes_dup(src->value, src->len, &dst->value);
}

int crdt__register_copy(crdt_store_t *dst, const crdt_store_t *src)
{
	for (size_t i = 0; i < src->len; i++) {
		int rc = entry_copy(&dst->v.reg[i], &src->v.reg[i]);
		if (rc != SH_OK)
			return rc;
		dst->len = i + 1;
	}
	return SH_OK;
}

int crdt__register_equal(const crdt_store_t *a, const crdt_store_t *b)
{
	for (size_t i = 0; i < a->len; i++) {
		const crdt_reg_entry_t *x = &a->v.reg[i], *y = &b->v.reg[i];
		if (crdt_dot_cmp(&x->dot, &y->dot) != 0 ||
		    x->timestamp_ms != y->timestamp_ms ||
		    crdt__bytes_cmp(x->value, x->len, y->value, y->len) != 0)
			return 0;
	}
	return 1;
}

/* Appends a copy of e to out (room reserved). */
static int push(crdt_store_t *out, const crdt_reg_entry_t *e)
{
	int rc = entry_copy(&out->v.reg[out->len], e);
	if (rc == SH_OK)
		out->len++;
	return rc;
}

int crdt__register_join(crdt_store_t *out, const crdt_store_t *a,
                        const crdt_ctx_t *ca, const crdt_store_t *b,
                        const crdt_ctx_t *cb)
{
	size_t alen = a ? a->len : 0, blen = b ? b->len : 0;
	int rc = crdt__store_reserve(out, alen + blen);
	size_t i = 0, j = 0;
	while (rc == SH_OK && (i < alen || j < blen)) {
		const crdt_reg_entry_t *x = i < alen ? &a->v.reg[i] : NULL;
		const crdt_reg_entry_t *y = j < blen ? &b->v.reg[j] : NULL;
		int c = !x ? 1 : !y ? -1 : crdt_dot_cmp(&x->dot, &y->dot);
		if (c == 0) {
			rc = push(out, x); /* a dot's value never changes */
			i++;
			j++;
		} else if (c < 0) {
			if (!crdt_ctx_contains(cb, &x->dot))
				rc = push(out, x);
			i++;
		} else {
			if (!crdt_ctx_contains(ca, &y->dot))
				rc = push(out, y);
			j++;
		}
	}
	return rc;
}

/* Index of the winning entry of a non-empty register. */
static size_t winner(const crdt_store_t *s)
{
	size_t best = 0;
	for (size_t i = 1; i < s->len; i++) {
		const crdt_reg_entry_t *e = &s->v.reg[i], *w = &s->v.reg[best];
		if (e->timestamp_ms != w->timestamp_ms) {
			if (e->timestamp_ms > w->timestamp_ms)
				best = i;
			continue;
		}
		/* Sorted by dot: a later entry never has a lower (actor,
		 * counter). */
		best = i;
	}
	return best;
}

int crdt__register_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                         const crdt_actor_t *actor, uint64_t now_ms,
                         const crdt_op_t *op)
{
	sh_assert(op->kind == CRDT_OP_REGISTER_ASSIGN);
	const void *bytes = op->u.value.bytes;
	size_t len = op->u.value.len;
	if (len > CRDT_VALUE_MAX)
		return SH_ETOOBIG;
	if (len > 0 && bytes == NULL)
		return SH_EINVAL;
	uint64_t ts = now_ms;
	for (size_t i = 0; i < s->len; i++) {
		uint64_t seen = s->v.reg[i].timestamp_ms;
		if (seen == UINT64_MAX)
			return SH_ERANGE;
		if (seen + 1 > ts)
			ts = seen + 1;
	}
	crdt_reg_entry_t e = {.timestamp_ms = ts, .len = len};
	int rc = crdt__store_reserve(s, 1);
	if (rc == SH_OK)
		rc = crdt__bytes_dup(bytes, len, &e.value);
	if (rc != SH_OK)
		return rc;
	if ((rc = crdt_ctx_next(ctx, actor, &e.dot)) != SH_OK) {
		free(e.value);
		return rc;
	}
	/* Every entry here is observed: the fresh one replaces them all. */
	crdt__register_free(s);
	s->v.reg[0] = e;
	s->len = 1;
	return SH_OK;
}

int crdt__register_check(const crdt_store_t *s, const crdt_ctx_t *ctx)
{
	if (s->len > CRDT_DOTS_MAX)
		return 0;
	for (size_t i = 0; i < s->len; i++) {
		const crdt_reg_entry_t *e = &s->v.reg[i];
		if (e->len > CRDT_VALUE_MAX || (e->len > 0 && !e->value))
			return 0;
		if (e->dot.counter == 0 || !crdt_ctx_contains(ctx, &e->dot))
			return 0;
		if (i > 0 && crdt_dot_cmp(&s->v.reg[i - 1].dot, &e->dot) >= 0)
			return 0;
	}
	return 1;
}

int crdt_register_value(const crdt_store_t *s, crdt_register_view_t *out)
{
	sh_assert(s->type == CRDT_REGISTER);
	if (s->len == 0)
		return SH_ENOTFOUND;
	const crdt_reg_entry_t *e = &s->v.reg[winner(s)];
	out->value = e->value;
	out->len = e->len;
	out->timestamp_ms = e->timestamp_ms;
	out->dot = e->dot;
	return SH_OK;
}
