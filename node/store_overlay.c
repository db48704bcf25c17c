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

static uint64_t ov_hash(store_space_t sp, const uint8_t *k, size_t kl)
{
	uint64_t h = XXH3_64bits_withSeed(k, kl, (uint64_t)sp + 1);
	return h != 0 ? h : 1; /* 0 marks an empty slot */
}

static int ov_same(const store_overlay_slot_t *e, uint64_t h, store_space_t sp,
                   const uint8_t *k, size_t kl)
{
	return e->hash == h && e->space == (uint8_t)sp && e->key_len == kl &&
	       memcmp(e->blob, k, kl) == 0;
}

/* The slot of the key, or the empty slot where it would go. */
static store_overlay_slot_t *ov_find(const store_overlay_t *o, uint64_t h,
                                     store_space_t sp, const uint8_t *k,
                                     size_t kl)
{
	size_t mask = o->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		store_overlay_slot_t *e = &o->slots[i];
		if (e->hash == 0 || ov_same(e, h, sp, k, kl))
			return e;
	}
}

static int ov_grow(store_overlay_t *o)
{
	size_t cap = o->cap ? o->cap * 2 : OVERLAY_CAP_MIN;
	store_overlay_slot_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	store_overlay_t bigger = {.slots = slots, .cap = cap};
	for (size_t i = 0; i < o->cap; i++) {
		store_overlay_slot_t *e = &o->slots[i];
		if (e->hash != 0)
			*ov_find(&bigger, e->hash, (store_space_t)e->space,
			         e->blob, e->key_len) = *e;
	}
	free(o->slots);
	o->slots = slots;
	o->cap = cap;
	return 0;
}

void store_overlay_init(store_overlay_t *o)
{
	memset(o, 0, sizeof(*o));
}

void store_overlay_clear(store_overlay_t *o)
{
	for (size_t i = 0; i < o->cap && o->count > 0; i++) {
		if (o->slots[i].hash != 0) {
			free(o->slots[i].blob);
			o->slots[i].hash = 0;
			o->count--;
		}
	}
	o->incomplete = 0;
}

void store_overlay_free(store_overlay_t *o)
{
	store_overlay_clear(o);
	free(o->slots);
	memset(o, 0, sizeof(*o));
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
	uint8_t *blob = malloc(kl + vl + 1);
	if (blob == NULL) {
		o->incomplete = 1;
		return;
	}
	memcpy(blob, k, kl);
	if (vl > 0)
		memcpy(blob + kl, v, vl);
	uint64_t h = ov_hash(sp, k, kl);
	store_overlay_slot_t *e = ov_find(o, h, sp, k, kl);
	if (e->hash != 0)
		free(e->blob);
	else
		o->count++;
	*e = (store_overlay_slot_t){.hash = h,
	                            .blob = blob,
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
	*v = e->blob + e->key_len;
	*vl = e->val_len;
	return OVERLAY_VALUE;
}
