/*
 * crdt_counter.c - the causal counter: a DotFun<int64> with at most one dot
 * per actor, whose value is that actor's running sum (ALGORITHMS.md 3;
 * semantics and encoding in crdt.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

void crdt__counter_free(crdt_store_t *s)
{
	(void)s; /* entries own nothing */
}

int crdt__counter_copy(crdt_store_t *dst, const crdt_store_t *src)
{
	if (src->len)
		memcpy(dst->v.counter, src->v.counter,
		       src->len * sizeof *src->v.counter);
	dst->len = src->len;
	return SH_OK;
}

int crdt__counter_equal(const crdt_store_t *a, const crdt_store_t *b)
{
	for (size_t i = 0; i < a->len; i++) {
		const crdt_counter_entry_t *x = &a->v.counter[i];
		const crdt_counter_entry_t *y = &b->v.counter[i];
		if (crdt_dot_cmp(&x->dot, &y->dot) != 0 || x->value != y->value)
			return 0;
	}
	return 1;
}

/*
 * Appends e to out. Two dots of one actor can meet only in states no real
 * execution makes (an actor always saw its own earlier dot); the later dot
 * then supersedes, so out keeps one dot per actor whatever the input.
 */
static void counter_push(crdt_store_t *out, const crdt_counter_entry_t *e)
{
	crdt_counter_entry_t *last =
	    out->len ? &out->v.counter[out->len - 1] : NULL;
	if (last && crdt_actor_cmp(&last->dot.actor, &e->dot.actor) == 0)
		*last = *e; /* sorted by dot: e is the later one */
	else
		out->v.counter[out->len++] = *e;
}

int crdt__counter_join(crdt_store_t *out, const crdt_store_t *a,
                       const crdt_ctx_t *ca, const crdt_store_t *b,
                       const crdt_ctx_t *cb)
{
	size_t alen = a ? a->len : 0, blen = b ? b->len : 0;
	int rc = crdt__store_reserve(out, alen + blen);
	if (rc != SH_OK)
		return rc;
	size_t i = 0, j = 0;
	while (i < alen || j < blen) {
		const crdt_counter_entry_t *x = i < alen ? &a->v.counter[i] : 0;
		const crdt_counter_entry_t *y = j < blen ? &b->v.counter[j] : 0;
		int c = !x ? 1 : !y ? -1 : crdt_dot_cmp(&x->dot, &y->dot);
		if (c == 0) {
			counter_push(out, x);
			i++;
			j++;
		} else if (c < 0) {
			if (!crdt_ctx_contains(cb, &x->dot))
				counter_push(out, x);
			i++;
		} else {
			if (!crdt_ctx_contains(ca, &y->dot))
				counter_push(out, y);
			j++;
		}
	}
	return SH_OK;
}

/* Index of actor's entry, or -(insertion point) - 1. */
static long counter_find(const crdt_store_t *s, const crdt_actor_t *actor)
{
	size_t lo = 0, hi = s->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = crdt_actor_cmp(&s->v.counter[mid].dot.actor, actor);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

int crdt__counter_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                        const crdt_actor_t *actor, const crdt_op_t *op)
{
	sh_assert(op->kind == CRDT_OP_COUNTER_INCREMENT);
	int64_t by = op->u.increment;
	long at = counter_find(s, actor);
	int64_t old = at >= 0 ? s->v.counter[at].value : 0;
	if ((by > 0 && old > INT64_MAX - by) ||
	    (by < 0 && old < INT64_MIN - by))
		return SH_ERANGE;
	int rc = crdt__store_reserve(s, 1);
	if (rc != SH_OK)
		return rc;
	crdt_dot_t dot;
	if ((rc = crdt_ctx_next(ctx, actor, &dot)) != SH_OK)
		return rc;
	if (at < 0) {
		size_t pos = (size_t)(-at - 1);
		memmove(&s->v.counter[pos + 1], &s->v.counter[pos],
		        (s->len - pos) * sizeof *s->v.counter);
		s->len++;
		at = (long)pos;
	}
	/* Same actor, higher counter: the entry keeps its place in the order.
	 */
	s->v.counter[at].dot = dot;
	s->v.counter[at].value = old + by;
	return SH_OK;
}

int crdt__counter_check(const crdt_store_t *s, const crdt_ctx_t *ctx)
{
	for (size_t i = 0; i < s->len; i++) {
		const crdt_dot_t *d = &s->v.counter[i].dot;
		if (d->counter == 0 || !crdt_ctx_contains(ctx, d))
			return 0;
		/* Sorted by actor, strictly: one dot per actor. */
		if (i > 0 && crdt_actor_cmp(&s->v.counter[i - 1].dot.actor,
		                            &d->actor) >= 0)
			return 0;
	}
	return 1;
}

int64_t crdt_counter_value(const crdt_store_t *s)
{
	sh_assert(s->type == CRDT_COUNTER);
	int64_t sum = 0;
	for (size_t i = 0; i < s->len; i++) {
		int64_t v = s->v.counter[i].value;
		if (v > 0 && sum > INT64_MAX - v)
			sum = INT64_MAX;
		else if (v < 0 && sum < INT64_MIN - v)
			sum = INT64_MIN;
		else
			sum += v;
	}
	return sum;
}
