/*
 * store_overlay.h - the writes since the last checkpoint, by key: what
 * reads see on top of the last committed LMDB state while a checkpoint
 * commits the long transaction that holds them (store_lmdb_journal.c).
 *
 * A map from (keyspace, raw key) to the last value written, or to "deleted".
 * It copies what it is given into one buffer that only grows until the
 * next clear (a rewritten key leaves its old bytes there: at most what the
 * journal holds since the checkpoint), so a write costs no allocation. A write
 * it could not record (out of memory) or cannot record key by key (a prefix
 * deletion) makes it incomplete: it then cannot stand in for the transaction,
 * and reads must wait. Owner thread only; no IO.
 */
#ifndef SHOAL_NODE_STORE_OVERLAY_H
#define SHOAL_NODE_STORE_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "node/store.h"

typedef struct store_overlay_slot {
	uint64_t hash; /* 0: empty */
	size_t off;    /* in bytes: the key, then the value */
	uint32_t key_len;
	uint8_t space;
	uint8_t deleted;
	size_t val_len;
} store_overlay_slot_t;

typedef struct store_overlay {
	store_overlay_slot_t *slots;
	sh_buf_t bytes; /* every key and value recorded since the clear */
	size_t cap;     /* a power of two, or 0 */
	size_t count;   /* slots in use */
	int incomplete;
} store_overlay_t;

/* Results of store_overlay_get. */
enum { OVERLAY_ABSENT = 0, OVERLAY_VALUE = 1, OVERLAY_DELETED = 2 };

void store_overlay_init(store_overlay_t *o);
void store_overlay_free(store_overlay_t *o);

/* Forget every write (a checkpoint holds them now); complete again. */
void store_overlay_clear(store_overlay_t *o);

/* Record a put, or a deletion, of key k (kl > 0 bytes) of space sp. */
void store_overlay_put(store_overlay_t *o, store_space_t sp, const uint8_t *k,
                       size_t kl, const uint8_t *v, size_t vl);
void store_overlay_del(store_overlay_t *o, store_space_t sp, const uint8_t *k,
                       size_t kl);

/* A write it cannot record key by key (a prefix deletion). */
void store_overlay_lose(store_overlay_t *o);

/*
 * store_overlay_get - what the overlay says of key k: OVERLAY_VALUE (the
 * value in *v, *vl, borrowed until the next change), OVERLAY_DELETED, or
 * OVERLAY_ABSENT (not written since the checkpoint: the committed state
 * has it right).
 */
int store_overlay_get(const store_overlay_t *o, store_space_t sp,
                      const uint8_t *k, size_t kl, const uint8_t **v,
                      size_t *vl);

#endif
