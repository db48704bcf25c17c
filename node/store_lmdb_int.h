/*
 * store_lmdb_int.h - the LMDB backend's state and the functions its two
 * halves share (private to node/store_lmdb*.c): store_lmdb.c moves keys
 * and values through LMDB transactions; store_lmdb_journal.c makes the
 * batches of --sync batch durable through the journal instead of one
 * LMDB commit each.
 */
#ifndef SHOAL_NODE_STORE_LMDB_INT_H
#define SHOAL_NODE_STORE_LMDB_INT_H

#include <lmdb.h>

#include "node/store_int.h"
#include "node/store_journal.h"
#include "node/store_overlay.h"

#define LK_DIRECT_MAX 510 /* store keys up to this long are stored as is */
#define LK_LONG_LEN   511 /* the stored length of every longer key */
#define LK_HEAD       503 /* bytes of a long key kept before its hash */

/* what a journaled store's sealed batch is (store_lmdb_journal.c) */
enum { JR_SEALED_NONE, JR_SEALED_RECORD, JR_SEALED_CHECKPOINT };

typedef struct lmdb_store {
	MDB_env *env;
	MDB_dbi dbi[STORE_SPACES];
	/* the open batch; NULL outside one or once doomed. Journaled: the
	 * long transaction, open across batches until a checkpoint */
	MDB_txn *wtxn;
	MDB_txn *rtxn; /* the reusable read-only transaction, or NULL */
	int rtxn_live; /* rtxn holds a snapshot (renewed, not reset) */
	/* a sealed batch (store.h): its transaction, committed by
	 * commit_sealed on any thread, and that commit's LMDB code; reads
	 * meanwhile keep the rtxn snapshot taken at the seal */
	MDB_txn *stxn;
	int sealed_rc;
	int lock_fd; /* flock()ed: one process per data directory */
	uint64_t map_bytes;
	uint64_t map_bytes_max;    /* 0: no limit */
	uint8_t skey[LK_LONG_LEN]; /* scratch: a long key's stored form */
	/* --sync batch (store_lmdb_journal.c) */
	int journaled;
	store_journal_t journal;
	int journal_is_open;
	uint64_t ckpt_seq;    /* the last journal record LMDB holds */
	uint64_t ckpt_next;   /* the sealed checkpoint's ckpt_seq */
	uint64_t seed_next;   /* and the seed of the round it starts */
	uint64_t muts;        /* journaled mutations since the checkpoint */
	uint64_t ckpt_muts;   /* a checkpoint when muts would reach it */
	uint32_t sealed_muts; /* mutations of the sealed record */
	int record_rc;        /* its write's result; 1 until written */
	int sealed_kind;      /* JR_SEALED_* */
	int batch_wrote;      /* the open batch wrote to wtxn */
	/* the writes since the checkpoint, read on top of rtxn while a
	 * checkpoint commits them (overlay_on) */
	store_overlay_t overlay;
	int overlay_on;
	int broken;           /* a journal write failed: no more batches */
	uint64_t checkpoints; /* done since open */
	int crashing;         /* store_lmdb_crash: no checkpoint at close */
} lmdb_store_t;

int lmdb__fail(store_t *s, int rc, const char *what);
int lmdb__get(store_t *s, const store_key_t *k, const uint8_t **val,
              size_t *val_len);
int lmdb__begin(store_t *s);
int lmdb__put(store_t *s, const store_key_t *k, const uint8_t *val,
              size_t val_len);
int lmdb__del(store_t *s, const store_key_t *k);
int lmdb__del_prefix(store_t *s, store_space_t space, const uint8_t *prefix,
                     size_t prefix_len, size_t limit, size_t *deleted);
int lmdb__seal(store_t *s);
int lmdb__commit_sealed(store_t *s);
int lmdb__sealed_done(store_t *s, int rc);
void lmdb__abort(store_t *s);
int lmdb__scan(store_t *s, store_space_t space, const uint8_t *prefix,
               size_t prefix_len, const uint8_t *after, size_t after_len,
               size_t limit, store__raw_fn fn, void *arg, int *more);
int lmdb__stats(store_t *s, store_space_t space, store_stats_t *out);
int lmdb__flush(store_t *s);
void lmdb__close(store_t *s);

/* store_lmdb_journal.c: the journaled backend's operations, and opening
 * (replaying) the journal; in store_lmdb_open, after the environment. */
extern const struct store_ops lmdb__journal_ops;
int lmdb__journal_open(store_t *s, const char *dir);

#endif
