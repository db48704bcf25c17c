/*
 * store_overlay.c - the writes since the last checkpoint, by key (see
 * store_overlay.h): open addressing with linear probing over xxh3 of the
 * key, grown at half full; an entry is never removed but by a clear.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "node/store_overlay.h"

#define OVERLAY_CAP_MIN 1024
/* bytes kept for the next round after a clear; more is let go (a large
 * value should not hold its memory until the node stops) */
#define OVERLAY_BYTES_KEEP ((size_t)16 << 20)

static uint64_t ov_hash(store_space_t sp, const uint8_t *k, size_t kl)
{
	uint64_t h = XXH3_64bits_withSeed(k, kl, (uint64_t)sp + 1);
	return h != 0 ? h : 1; /* 0 marks an empty slot */
}

static int ov_same(const store_overlay_t *o, const store_overlay_slot_t *e,
                   uint64_t h, store_space_t sp, const uint8_t *k, size_t kl)
{
	return e->hash == h && e->space == (uint8_t)sp && e->key_len == kl &&
	       memcmp(o->bytes.data + e->off, k, kl) == 0;
}

/* The slot of the key, or the empty slot where it would go. */
static store_overlay_slot_t *ov_find(const store_overlay_t *o, uint64_t h,
                                     store_space_t sp, const uint8_t *k,
                                     size_t kl)
{
	size_t mask = o->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		store_overlay_slot_t *e = &o->slots[i];
		if (e->hash == 0 || ov_same(o, e, h, sp, k, kl))
			return e;
	}
}

static int ov_grow(store_overlay_t *o)
{
	size_t cap = o->cap ? o->cap * 2 : OVERLAY_CAP_MIN;
	store_overlay_slot_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < o->cap; i++) {
		const store_overlay_slot_t *e = &o->slots[i];
		if (e->hash == 0)
			continue;
		/* the keys are distinct: each takes the first free slot */
		size_t j = e->hash & (cap - 1);
		while (slots[j].hash != 0)
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(o->slots);
	o->slots = slots;
	o->cap = cap;
	return 0;
}

void store_overlay_init(store_overlay_t *o)
{
	memset(o, 0, sizeof(*o));
	sh_buf_init(&o->bytes);
}

void store_overlay_clear(store_overlay_t *o)
{
	if (o->count > 0)
		memset(o->slots, 0, o->cap * sizeof(*o->slots));
	o->count = 0;
	if (o->bytes.cap > OVERLAY_BYTES_KEEP)
		sh_buf_free(&o->bytes);
	sh_buf_reset(&o->bytes);
	o->incomplete = 0;
}

void store_overlay_free(store_overlay_t *o)
{
	sh_buf_free(&o->bytes);
	free(o->slots);
	store_overlay_init(o);
}

void store_overlay_lose(store_overlay_t *o)
{
	o->incomplete = 1;
}

static void ov_set(store_overlay_t *o, store_space_t sp, const uint8_t *k,
                   size_t kl, const uint8_t *v, size_t vl, int deleted)
{
	if (o->incomplete)
		return; /* it stands in for nothing until cleared */
	if ((o->count + 1) * 2 > o->cap && ov_grow(o) != 0) {
		o->incomplete = 1;
		return;
	}
	size_t off = o->bytes.len;
	if (sh_buf_append(&o->bytes, k, kl) != 0 ||
	    (vl > 0 && sh_buf_append(&o->bytes, v, vl) != 0)) {
		o->incomplete = 1;
		return;
	}
	uint64_t h = ov_hash(sp, k, kl);
	store_overlay_slot_t *e = ov_find(o, h, sp, k, kl);
	if (e->hash == 0)
		o->count++;
	*e = (store_overlay_slot_t){.hash = h,
	                            .off = off,
	                            .key_len = (uint32_t)kl,
	                            .space = (uint8_t)sp,
	                            .deleted = (uint8_t)deleted,
	                            .val_len = vl};
}

void store_overlay_put(store_overlay_t *o, store_space_t sp, const uint8_t *k,
                       size_t kl, const uint8_t *v, size_t vl)
{
	ov_set(o, sp, k, kl, v, vl, 0);
}

void store_overlay_del(store_overlay_t *o, store_space_t sp, const uint8_t *k,
                       size_t kl)
{
	ov_set(o, sp, k, kl, NULL, 0, 1);
}

int store_overlay_get(const store_overlay_t *o, store_space_t sp,
                      const uint8_t *k, size_t kl, const uint8_t **v,
                      size_t *vl)
{
	if (o->count == 0)
		return OVERLAY_ABSENT;
	const store_overlay_slot_t *e =
	    ov_find(o, ov_hash(sp, k, kl), sp, k, kl);
	if (e->hash == 0)
		return OVERLAY_ABSENT;
	if (e->deleted)
		return OVERLAY_DELETED;
	*v = o->bytes.data + e->off + e->key_len;
	*vl = e->val_len;
	return OVERLAY_VALUE;
}
