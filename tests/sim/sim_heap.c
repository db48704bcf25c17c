/*
 * sim_heap.c - a binary min-heap of (at_ms, seq, value), see sim_heap.h.
 *
 * Sifting moves a hole rather than swapping, so each level costs one copy.
 */
#include "tests/sim/sim_heap.h"

#include <stdlib.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"

static inline int before(const sim_heap_entry_t *a, const sim_heap_entry_t *b)
{
	return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

static void sift_up(sim_heap_entry_t *e, size_t i)
{
	sim_heap_entry_t x = e[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(&x, &e[parent]))
			break;
		e[i] = e[parent];
		i = parent;
	}
	e[i] = x;
}

static void sift_down(sim_heap_entry_t *e, size_t len, size_t i)
{
	sim_heap_entry_t x = e[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= len)
			break;
		if (child + 1 < len && before(&e[child + 1], &e[child]))
			child++;
		if (!before(&e[child], &x))
			break;
		e[i] = e[child];
		i = child;
	}
	e[i] = x;
}

int sim_heap_init(sim_heap_t *h, size_t len_max)
{
	sh_assert(h != NULL);
	h->e = NULL;
	h->len = 0;
	h->cap = 0;
	h->len_max = 0;
	if (len_max == 0 || len_max > SIZE_MAX / sizeof(sim_heap_entry_t))
		return SH_EINVAL;
	h->len_max = len_max;
	return SH_OK;
}

void sim_heap_free(sim_heap_t *h)
{
	free(h->e);
	h->e = NULL;
	h->len = 0;
	h->cap = 0;
}

static int grow(sim_heap_t *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	if (cap > h->len_max)
		cap = h->len_max;
	sim_heap_entry_t *e = realloc(h->e, cap * sizeof(*e));
	if (e == NULL)
		return SH_ENOMEM;
	h->e = e;
	h->cap = cap;
	return SH_OK;
}

int sim_heap_push(sim_heap_t *h, uint64_t at_ms, uint64_t seq, uint64_t value)
{
	if (h->len >= h->len_max)
		return SH_ETOOBIG;
	if (h->len == h->cap) {
		int rc = grow(h);
		if (rc != SH_OK)
			return rc;
	}
	h->e[h->len] = (sim_heap_entry_t){at_ms, seq, value};
	sift_up(h->e, h->len);
	h->len++;
	return SH_OK;
}

const sim_heap_entry_t *sim_heap_top(const sim_heap_t *h)
{
	return h->len ? &h->e[0] : NULL;
}

int sim_heap_pop(sim_heap_t *h, sim_heap_entry_t *out)
{
	if (h->len == 0)
		return SH_ENOTFOUND;
	*out = h->e[0];
	h->len--;
	if (h->len > 0) {
		h->e[0] = h->e[h->len];
		sift_down(h->e, h->len, 0);
	}
	return SH_OK;
}

uint64_t sim_heap_next_ms(const sim_heap_t *h)
{
	return h->len ? h->e[0].at_ms : UINT64_MAX;
}

size_t sim_heap_len(const sim_heap_t *h)
{
	return h->len;
}

void sim_heap_filter(sim_heap_t *h, sim_heap_filter_fn fn, void *ctx)
{
	size_t kept = 0;
	for (size_t i = 0; i < h->len; i++) {
		sim_heap_entry_t x = h->e[i];
		if (fn(&x, ctx))
			h->e[kept++] = x;
	}
	h->len = kept;
	/* Floyd's heapify: sift down every inner node, last first. */
	for (size_t i = kept / 2; i-- > 0;)
		sift_down(h->e, kept, i);
}
