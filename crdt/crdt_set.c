/*
 * crdt_set.c - the add-wins observed-remove set without tombstones
 * (ORSWOT): a DotMap<element bytes, DotSet> (ALGORITHMS.md 3; semantics and
 * encoding in crdt.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

static void elem_free(crdt_set_elem_t *e)
{
	free(e->bytes);
	free(e->dots);
	memset(e, 0, sizeof *e);
}

void crdt__set_free(crdt_store_t *s)
{
	for (size_t i = 0; i < s->len; i++)
		elem_free(&s->v.set[i]);
}

/* *dst := a new element: a copy of bytes[0..len) and of the n >= 1 dots d. */
static int elem_make(crdt_set_elem_t *dst, const uint8_t *bytes, size_t len,
                     const crdt_dot_t *d, size_t n)
{
	memset(dst, 0, sizeof *dst);
	int rc = crdt__bytes_dup(bytes, len, &dst->bytes);
	if (rc != SH_OK)
		return rc;
	dst->len = len;
	dst->dots = malloc(n * sizeof *d);
	if (dst->dots == NULL) {
		elem_free(dst);
		return SH_ENOMEM;
	}
	memcpy(dst->dots, d, n * sizeof *d);
	dst->dots_len = n;
	return SH_OK;
}

int crdt__set_copy(crdt_store_t *dst, const crdt_store_t *src)
{
	for (size_t i = 0; i < src->len; i++) {
		const crdt_set_elem_t *e = &src->v.set[i];
		int rc = elem_make(&dst->v.set[i], e->bytes, e->len, e->dots,
		                   e->dots_len);
		if (rc != SH_OK)
			return rc;
		dst->len = i + 1;
	}
	return SH_OK;
}

int crdt__set_equal(const crdt_store_t *a, const crdt_store_t *b)
{
	for (size_t i = 0; i < a->len; i++) {
		const crdt_set_elem_t *x = &a->v.set[i], *y = &b->v.set[i];
		if (crdt__bytes_cmp(x->bytes, x->len, y->bytes, y->len) != 0 ||
		    x->dots_len != y->dots_len)
			return 0;
		for (size_t k = 0; k < x->dots_len; k++)
			if (crdt_dot_cmp(&x->dots[k], &y->dots[k]) != 0)
				return 0;
	}
	return 1;
}

/*
 * Appends to out the join of element x (from a side with context cx, may
 * be NULL) and y (cy), when it keeps a dot.
 */
static int join_elem(crdt_store_t *out, const crdt_set_elem_t *x,
                     const crdt_ctx_t *cx, const crdt_set_elem_t *y,
                     const crdt_ctx_t *cy)
{
	crdt_dot_t *dots;
	size_t n;
	int rc = crdt__dots_join(x ? x->dots : NULL, x ? x->dots_len : 0, cx,
	                         y ? y->dots : NULL, y ? y->dots_len : 0, cy,
	                         &dots, &n);
	if (rc != SH_OK || n == 0)
		return rc;
	const crdt_set_elem_t *key = x ? x : y;
	crdt_set_elem_t *e = &out->v.set[out->len];
	memset(e, 0, sizeof *e);
	rc = crdt__bytes_dup(key->bytes, key->len, &e->bytes);
	if (rc != SH_OK) {
		free(dots);
		return rc;
	}
	e->len = key->len;
	e->dots = dots;
	e->dots_len = n;
	out->len++;
	return SH_OK;
}

int crdt__set_join(crdt_store_t *out, const crdt_store_t *a,
                   const crdt_ctx_t *ca, const crdt_store_t *b,
                   const crdt_ctx_t *cb)
{
	size_t alen = a ? a->len : 0, blen = b ? b->len : 0;
	int rc = crdt__store_reserve(out, alen + blen);
	size_t i = 0, j = 0;
	while (rc == SH_OK && (i < alen || j < blen)) {
		const crdt_set_elem_t *x = i < alen ? &a->v.set[i] : NULL;
		const crdt_set_elem_t *y = j < blen ? &b->v.set[j] : NULL;
		int c =
		    !x   ? 1
		    : !y ? -1
		         : crdt__bytes_cmp(x->bytes, x->len, y->bytes, y->len);
		if (c == 0) {
			rc = join_elem(out, x, ca, y, cb);
			i++;
			j++;
		} else if (c < 0) {
			rc = join_elem(out, x, ca, NULL, cb);
			i++;
		} else {
			rc = join_elem(out, NULL, ca, y, cb);
			j++;
		}
	}
	return rc;
}

long crdt__set_find(const crdt_store_t *s, const uint8_t *e, size_t len)
{
	size_t lo = 0, hi = s->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const crdt_set_elem_t *m = &s->v.set[mid];
		int c = crdt__bytes_cmp(m->bytes, m->len, e, len);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* Add: the element's dots become {fresh dot of actor}. */
static int set_add(crdt_store_t *s, crdt_ctx_t *ctx, const crdt_actor_t *actor,
                   const uint8_t *bytes, size_t len)
{
	long at = crdt__set_find(s, bytes, len);
	crdt_set_elem_t fresh;
	crdt_dot_t dot = {.counter = 1}; /* placeholder until the dot exists */
	int rc = crdt__store_reserve(s, 1);
	if (rc != SH_OK)
		return rc;
	if ((rc = elem_make(&fresh, bytes, len, &dot, 1)) != SH_OK)
		return rc;
	if ((rc = crdt_ctx_next(ctx, actor, &fresh.dots[0])) != SH_OK) {
		elem_free(&fresh);
		return rc;
	}
	if (at >= 0) {
		elem_free(&s->v.set[at]);
		s->v.set[at] = fresh;
		return SH_OK;
	}
	size_t pos = (size_t)(-at - 1);
	memmove(&s->v.set[pos + 1], &s->v.set[pos],
	        (s->len - pos) * sizeof *s->v.set);
	s->v.set[pos] = fresh;
	s->len++;
	return SH_OK;
}

/* Remove: drop the element and every dot it had (all observed here). */
static int set_remove(crdt_store_t *s, const uint8_t *bytes, size_t len)
{
	long at = crdt__set_find(s, bytes, len);
	if (at < 0)
		return SH_ENOTFOUND;
	elem_free(&s->v.set[at]);
	memmove(&s->v.set[at], &s->v.set[at + 1],
	        (s->len - (size_t)at - 1) * sizeof *s->v.set);
	s->len--;
	return SH_OK;
}

int crdt__set_apply(crdt_store_t *s, crdt_ctx_t *ctx, const crdt_actor_t *actor,
                    const crdt_op_t *op)
{
	const uint8_t *bytes = op->u.element.bytes;
	size_t len = op->u.element.len;
	if (len > CRDT_ELEMENT_MAX)
		return SH_ETOOBIG;
	if (len > 0 && bytes == NULL)
		return SH_EINVAL;
	if (op->kind == CRDT_OP_SET_ADD)
		return set_add(s, ctx, actor, bytes, len);
	sh_assert(op->kind == CRDT_OP_SET_REMOVE);
	return set_remove(s, bytes, len);
}

int crdt__set_check(const crdt_store_t *s, const crdt_ctx_t *ctx)
{
	if (s->len > CRDT_ENTRIES_MAX)
		return 0;
	for (size_t i = 0; i < s->len; i++) {
		const crdt_set_elem_t *e = &s->v.set[i];
		if (e->len > CRDT_ELEMENT_MAX || e->dots_len == 0 ||
		    (e->len > 0 && e->bytes == NULL))
			return 0;
		if (!crdt__dots_check(e->dots, e->dots_len, ctx))
			return 0;
		if (i > 0 &&
		    crdt__bytes_cmp(s->v.set[i - 1].bytes, s->v.set[i - 1].len,
		                    e->bytes, e->len) >= 0)
			return 0;
	}
	return 1;
}

/* ---- reading ---- */

size_t crdt_set_count(const crdt_store_t *s)
{
	sh_assert(s->type == CRDT_SET);
	return s->len;
}

void crdt_set_element(const crdt_store_t *s, size_t i, const uint8_t **bytes,
                      size_t *len)
{
	sh_assert(s->type == CRDT_SET && i < s->len);
	*bytes = s->v.set[i].bytes;
	*len = s->v.set[i].len;
}

int crdt_set_contains(const crdt_store_t *s, const void *element, size_t len)
{
	sh_assert(s->type == CRDT_SET);
	return crdt__set_find(s, element, len) >= 0;
}
