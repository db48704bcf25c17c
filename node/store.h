/*
 * store.h - the node's storage: one interface, two backends (DESIGN.md
 * section 7, ALGORITHMS.md section 7).
 *
 * A store is a struct of function pointers (store_int.h) behind the store_
 * functions below. Backends:
 *   - memory (store_mem_open, store_mem.c): pure, no IO and no clock; for the
 *     unit tests and the deterministic simulator. Library shoal_store_mem,
 *     which also holds this interface and the key layouts.
 *   - LMDB (store_lmdb_open, store_lmdb.c): the default on disk. Library
 *     shoal_store_lmdb, which links shoal_store_mem.
 *
 * Keyspaces. A store holds three separate sorted maps (LMDB named
 * databases "objects", "hints", "meta"); keys compare as bytes (memcmp,
 * then the shorter first), the order LMDB uses:
 *   objects  partition (2 bytes, big-endian) | bucket | 0x00 | key
 *            so one partition is one contiguous range. Values: the encoded
 *            object, opaque here.
 *   hints    primary_len (1 byte) | primary | <the object key above>
 *            so one primary's hints are one contiguous range, in
 *            (partition, bucket, key) order. Values: opaque.
 *   meta     name (1..255 bytes). Values: opaque; "epoch" is reserved for
 *            store_epoch (8 bytes, big-endian), "journal" for the LMDB
 *            backend's checkpoint (store_lmdb_journal.c).
 * Keys are built with store_key_object/store_key_hint/store_key_meta, which
 * validate them once; every other call takes the built store_key_t.
 *
 * Batches. Every write happens inside a batch: store_begin, any number of
 * store_put/store_del/store_drop_partition, then store_commit (one
 * transaction, one group commit: the node opens one batch per turn of its
 * event loop and lets replies leave only after store_commit returns 0) or
 * store_abort. Reads inside a batch see the batch's own writes; reads
 * outside a batch see the committed state. A batch that is never committed
 * (abort, close, crash) leaves no trace. If a write fails in the backend
 * (SH_EFULL, SH_EIO, SH_ENOMEM), the batch is doomed: its writes are
 * dropped at once (reads see the committed state again), later writes in
 * it return the same error, store_commit returns it, and the caller must
 * fail every request of that batch. Argument errors
 * (SH_EINVAL, SH_ETOOBIG) are detected before the backend and leave the
 * batch usable.
 *
 * Threads: a store_t belongs to one thread (the event loop). Calls are not
 * re-entrant: a scan callback must not call into the store.
 *
 * Errors are the negative SH_E... codes of common/sh_err.h; store_errmsg
 * gives the backend's own words for the last failure (for logs).
 */
#ifndef SHOAL_NODE_STORE_H
#define SHOAL_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "common/sh_rand.h"

/* Limits of the key layout (DESIGN.md section 3). */
#define STORE_BUCKET_BYTES_MAX  1024
#define STORE_KEY_BYTES_MAX     1024
#define STORE_PRIMARY_BYTES_MAX 255 /* a hint's primary: a node name */
#define STORE_META_BYTES_MAX    255 /* a meta key's name */
/* Longest encoded object key: partition, bucket, 0x00, key. */
#define STORE_OBJ_KEY_BYTES_MAX                                                \
	(2 + STORE_BUCKET_BYTES_MAX + 1 + STORE_KEY_BYTES_MAX)
/* Longest encoded key of any keyspace (a hint key). */
#define STORE_RAW_KEY_BYTES_MAX                                                \
	(1 + STORE_PRIMARY_BYTES_MAX + STORE_OBJ_KEY_BYTES_MAX)
/* Largest value store_put accepts (an object with many 1 MiB siblings). */
#define STORE_VALUE_BYTES_MAX ((size_t)256 << 20)

/* Journaled mutations between two checkpoints (store_lmdb_cfg_t). */
#define STORE_LMDB_CHECKPOINT_MUTATIONS_DEFAULT 8192

/* Default initial LMDB map size (it grows by doubling, see store_lmdb_cfg). */
#define STORE_LMDB_MAP_BYTES_DEFAULT ((uint64_t)1 << 30)

/* The keyspaces. */
typedef enum store_space {
	STORE_OBJECTS = 0,
	STORE_HINTS = 1,
	STORE_META = 2,
} store_space_t;
#define STORE_SPACES 3

/*
 * An encoded key of one keyspace. Build it with store_key_*; the bytes are
 * the layout described at the top of this file. About 2.3 KiB: fine on the
 * stack, reuse one in loops.
 */
typedef struct store_key {
	store_space_t space;
	size_t len;
	uint8_t bytes[STORE_RAW_KEY_BYTES_MAX];
} store_key_t;

/*
 * The fields of an object or hint key. The pointers point into the bytes
 * the key was parsed from and live as long as they do. primary is NULL
 * (primary_len 0) for an object key.
 */
typedef struct store_key_parts {
	uint16_t partition;
	const uint8_t *primary;
	size_t primary_len;
	const uint8_t *bucket;
	size_t bucket_len;
	const uint8_t *key;
	size_t key_len;
} store_key_parts_t;

/*
 * A resumable position in one scanned range: "after this key". Plain data:
 * it may be copied, kept across batches and calls, and stays valid while
 * keys are written or deleted (it names a key, not a place in a tree). A
 * key written behind the cursor is not returned by later calls; one written
 * ahead of it is.
 */
typedef struct store_cursor {
	int done;          /* 1 once a scan found the range exhausted */
	store_key_t after; /* after.len == 0: from the start of the range */
} store_cursor_t;

/*
 * One entry handed to a scan callback. Every pointer is borrowed and valid
 * only during the callback; copy what you keep.
 */
typedef struct store_entry {
	const store_key_t *key;  /* the entry's whole key */
	store_key_parts_t parts; /* key split into fields (points into key) */
	const uint8_t *val;
	size_t val_len;
} store_entry_t;

/*
 * A scan callback. Return 0 to go on, STORE_SCAN_STOP to stop after this
 * entry (it counts as consumed and the cursor moves past it), or a negative
 * SH_E... code to stop before it (the cursor stays on the previous entry;
 * the scan returns that code).
 */
typedef int (*store_scan_fn)(void *arg, const store_entry_t *e);
#define STORE_SCAN_STOP 1

/* Sizes of one keyspace. */
typedef struct store_stats {
	uint64_t entries; /* exact number of keys */
	uint64_t bytes;   /* memory: key + value bytes; LMDB: pages x page size
	                   * (overhead included, free pages excluded) */
} store_stats_t;

/* --sync: when a commit reaches the disk (LMDB only; memory ignores it). */
typedef enum store_sync {
	STORE_SYNC_BATCH = 0, /* fsync at every commit (default): a commit
	                       * that returned 0 survives kill -9 and power
	                       * loss */
	STORE_SYNC_NONE = 1,  /* MDB_NOSYNC: commits survive kill -9 (the OS
	                       * holds the pages) but an OS crash or power
	                       * loss may lose the last commits; store_flush
	                       * forces them out */
} store_sync_t;

struct store_ops; /* store_int.h */

/* Sizes of the deleted-key memory (store_maybe_deleted). */
#define STORE_DEL_PARTS_BITS 1024
#define STORE_DEL_KEYS_BITS  4096

/* Size of the open batch's written-key filter (store_maybe_written). */
#define STORE_WRITTEN_BITS 4096

/* Room for the backend's message about its last failure. */
#define STORE_ERRMSG_BYTES 384

/*
 * A store handle. The caller allocates it; store_mem_open/store_lmdb_open
 * fill it in and store_close releases what they allocated. Fields are
 * private.
 */
typedef struct store {
	const struct store_ops *ops;
	void *impl;   /* backend state, owned */
	int in_batch; /* between store_begin and store_commit/store_abort */
	int dirty;    /* the open batch has written */
	/* object keys the open batch wrote: a Bloom filter, 2 bits a key
	 * (store_maybe_written); written_all after a partition drop */
	int written_all;
	uint64_t written[STORE_WRITTEN_BITS / 64];
	int sealed;     /* between store_seal and store_sealed_done */
	int seal_reads; /* what reads see while sealed: STORE_SEAL_READS_* */
	int batch_err;  /* the error that doomed the open batch, or 0 */
	int in_scan;    /* inside a scan callback (re-entry is a bug) */
	char errmsg[STORE_ERRMSG_BYTES]; /* last backend failure, "" if none */
	/* object keys deleted since the last store_forget_deleted: */
	int del_all; /* anything (set at open: before it, unknown) */
	uint64_t del_parts[STORE_DEL_PARTS_BITS / 64]; /* partition mod bits */
	uint64_t
	    del_keys[STORE_DEL_KEYS_BITS / 64]; /* Bloom filter, 2 bits a key */
	/* the epoch meta holds, as store_epoch_put last read or wrote it:
	 * 0 unknown, 1 committed, 2 written in the open batch */
	int epoch_state;
	uint64_t epoch_held;
} store_t;

/* Memory backend options. A zeroed struct gives the defaults. */
typedef struct store_mem_cfg {
	uint64_t bytes_max; /* key + value bytes before puts fail with
	                     * SH_EFULL (a simulated full disk); 0 = no limit */
} store_mem_cfg_t;

/* LMDB backend options. */
typedef struct store_lmdb_cfg {
	const char *dir;        /* the data directory; created (mode 0700,
	                         * parents too) if missing */
	uint64_t map_bytes;     /* initial map size (at least 1 MiB); 0 =
	                         * default 1 GiB */
	uint64_t map_bytes_max; /* growth limit; 0 = no limit but the
	                         * address space and the disk */
	store_sync_t sync;
	/* STORE_SYNC_BATCH: a checkpoint after this many journaled
	 * mutations; 0 = STORE_LMDB_CHECKPOINT_MUTATIONS_DEFAULT */
	uint64_t checkpoint_mutations;
} store_lmdb_cfg_t;

/* ---- key layouts (pure, no store needed) ---- */

/*
 * store_key_object - build in *out the object key of (partition, bucket,
 * key). bucket may be NULL only if bucket_len is 0, likewise key.
 * Errors: SH_EINVAL if bucket contains a 0x00 byte (it would end the bucket
 * early), SH_ETOOBIG if bucket or key is over 1 KiB. *out is undefined on
 * error.
 */
int store_key_object(store_key_t *out, uint16_t partition, const void *bucket,
                     size_t bucket_len, const void *key, size_t key_len);

/*
 * store_key_hint - build in *out the hint key of `object` (an object key)
 * for the down node `primary` (primary_len bytes, 1..255, any bytes).
 * Errors: SH_EINVAL (empty primary, or object is not an object key),
 * SH_ETOOBIG (primary too long).
 */
int store_key_hint(store_key_t *out, const void *primary, size_t primary_len,
                   const store_key_t *object);

/*
 * store_key_hint_object - build in *out the object key a hint key names.
 * Errors: SH_EINVAL if hint is not a hints key, SH_EMALFORMED if its bytes
 * are not a valid hint key.
 */
int store_key_hint_object(store_key_t *out, const store_key_t *hint);

/*
 * store_key_meta - build in *out the meta key `name` (a NUL-terminated
 * string of 1..255 bytes). Errors: SH_EINVAL (empty), SH_ETOOBIG.
 */
int store_key_meta(store_key_t *out, const char *name);

/*
 * store_key_parse - split the bytes raw[0..len) of an object or hint key
 * (space says which) into *out, whose pointers point into raw.
 * Errors: SH_EINVAL for STORE_META (meta keys have no fields),
 * SH_EMALFORMED if the bytes do not follow the layout or break a limit.
 */
int store_key_parse(store_space_t space, const uint8_t *raw, size_t len,
                    store_key_parts_t *out);

/* ---- opening and closing ---- */

/*
 * store_mem_open - make *s an empty memory store. cfg may be NULL (the
 * defaults). Returns 0 or SH_ENOMEM. Release it with store_close.
 *
 * Crash semantics for the simulator: the store holds only committed data
 * plus the open batch. To crash a node, keep its store_t, drop the node and
 * call store_mem_crash: the open batch is lost, every commit survives, as
 * LMDB with --sync batch after kill -9 or power loss. To wipe the disk,
 * store_close it and store_mem_open a new one.
 */
int store_mem_open(store_t *s, const store_mem_cfg_t *cfg);

/*
 * store_mem_crash - lose the open batch of memory store s, if any, as a
 * power loss would, and disarm any injected fault. s stays open.
 */
void store_mem_crash(store_t *s);

/*
 * store_mem_fail_after - fault injection for tests and the simulator: the
 * memory store s performs `ops` more writes (store_put, store_del, each
 * key of store_drop_partition, store_commit), then fails the next one with
 * err (which dooms the batch, or makes store_commit roll it back). err 0
 * disarms. One fault at a time; it fires once.
 */
void store_mem_fail_after(store_t *s, uint64_t ops, int err);

/*
 * store_mem_check - check the memory store's internal invariants (tree
 * order, balance, counters). 0 if they hold, SH_EMALFORMED if not. Costs
 * O(n): for tests.
 */
int store_mem_check(const store_t *s);

/*
 * store_lmdb_open - open (or create) the LMDB environment in cfg->dir and
 * make *s a store over it. One environment per node; a directory must not
 * be opened twice at once. Returns 0, SH_EINVAL (no dir), SH_ENOMEM, or
 * SH_EIO (cannot create or open the directory or the files, or they are
 * not an LMDB environment). On error store_errmsg(s) still says why, and
 * nothing needs closing. Release an open store with store_close.
 *
 * With cfg->sync STORE_SYNC_BATCH a committed batch is a record of the
 * journal file DATA/journal (one write and one flush), and LMDB itself is
 * committed at checkpoints (store_lmdb_journal.c says when and why); the
 * open replays the journal after the last checkpoint, in either sync
 * mode. A sealed batch is then read by reads (STORE_SEAL_READS_BATCH),
 * also a checkpoint, unless a partition drop came since the last one
 * (STORE_SEAL_READS_WAIT).
 *
 * The map grows: when a batch starts and a quarter or less of the map is
 * left, and when a write finds the map full (that write dooms its batch
 * with SH_EFULL, the map doubles, and a retried batch can then succeed).
 * It never grows past cfg->map_bytes_max; then SH_EFULL stays.
 *
 * LMDB keys are at most 511 bytes; longer store keys (long buckets or keys)
 * are stored under their first 503 bytes plus a 64-bit hash, the full key
 * inside the value. Order within a partition is then the byte order of the
 * stored keys, which differs from the memory backend's only among keys
 * longer than 510 bytes that share their first 503 bytes. Two such keys
 * with equal hashes cannot both be stored (the second put fails with
 * SH_EEXIST; probability about 2^-64).
 */
int store_lmdb_open(store_t *s, const store_lmdb_cfg_t *cfg);

/*
 * store_lmdb_crash - close s as a killed process would leave its
 * directory: with --sync batch the batches since the last checkpoint are
 * left in the journal only (not committed to LMDB), for the next open to
 * replay. For tests.
 */
void store_lmdb_crash(store_t *s);

/* store_lmdb_checkpoints - checkpoints of the journal (--sync batch)
 * since the open, the one that replayed it included; 0 for a store that
 * is not a journaled LMDB store. */
uint64_t store_lmdb_checkpoints(const store_t *s);

/*
 * store_close - abort the open batch, if any, and release everything *s
 * holds (for LMDB: close the environment). Borrowed pointers die. s may be
 * opened again afterwards.
 */
void store_close(store_t *s);

/* store_backend_name - "memory" or "lmdb" (static string). */
const char *store_backend_name(const store_t *s);

/*
 * store_errmsg - the backend's message for the last failed call, e.g.
 * "mdb_put: MDB_MAP_FULL: Environment mapsize limit reached"; "" if none.
 * The string belongs to s and changes with the next failure.
 */
const char *store_errmsg(const store_t *s);

/* store_sync_parse - "batch" or "none" into *out. 0 or SH_EINVAL. */
int store_sync_parse(const char *name, store_sync_t *out);

/* ---- reads ---- */

/*
 * store_get - look up key k; on success *val and *val_len describe its value.
 * The value is borrowed: valid until the next call of any store function on
 * s (LMDB: it points into the map, no copy). *val is never NULL on success,
 * even for an empty value. Sees the open batch's writes.
 * Errors: SH_ENOTFOUND, SH_EIO, SH_EMALFORMED (damaged stored entry).
 */
int store_get(store_t *s, const store_key_t *k, const uint8_t **val,
              size_t *val_len);

/*
 * store_get_copy - like store_get, but the value is copied into out (reset
 * first; the caller owns out). Errors: those of store_get, SH_ENOMEM.
 * On error out is empty.
 */
int store_get_copy(store_t *s, const store_key_t *k, sh_buf_t *out);

/* ---- batches (one batch = one transaction = one group commit) ---- */

/*
 * store_begin - open a batch. Only one may be open. Errors: SH_EIO,
 * SH_ENOMEM, SH_EFULL (LMDB could not grow its map).
 */
int store_begin(store_t *s);

/*
 * store_put - inside a batch, set k's value to a copy of val[0..val_len)
 * (val may be NULL only if val_len is 0). Errors: SH_ETOOBIG (value over
 * STORE_VALUE_BYTES_MAX, batch still usable), SH_EFULL (the map or the
 * memory limit is full, or with LMDB one batch dirtied too many pages:
 * MDB_TXN_FULL, retry with smaller batches), SH_ENOMEM, SH_EIO, SH_EEXIST
 * (LMDB long-key hash collision), or the error that doomed the batch
 * earlier.
 */
int store_put(store_t *s, const store_key_t *k, const void *val,
              size_t val_len);

/*
 * store_del - inside a batch, delete k. Deleting an absent key succeeds (0).
 * Errors: SH_EIO, SH_ENOMEM, or the error that doomed the batch.
 */
int store_del(store_t *s, const store_key_t *k);

/*
 * store_drop_partition - inside a batch, delete at most `limit` (> 0) object
 * keys of partition, from its start; *deleted gets how many went. The
 * partition is empty once *deleted < limit. Bounded so that dropping a
 * large partition spreads over several batches. Hints are not touched.
 * Errors: as store_del; *deleted is then 0.
 */
int store_drop_partition(store_t *s, uint16_t partition, size_t limit,
                         size_t *deleted);

/*
 * store_commit - make every write of the open batch durable (as --sync
 * says) and visible, atomically, and close the batch. Only after it returns
 * 0 may replies about those writes leave. On error nothing of the batch is
 * applied and the batch is closed. Errors: the doom error, SH_EFULL,
 * SH_EIO.
 */
int store_commit(store_t *s);

/* store_abort - drop the open batch (if any): none of its writes happened. */
void store_abort(store_t *s);

/* store_in_batch - 1 while a batch is open, else 0. */
int store_in_batch(const store_t *s);

/* store_batch_dirty - 1 if the open batch has written (or tried to). */
int store_batch_dirty(const store_t *s);

/*
 * store_maybe_written - 1 if the open batch may have written (put,
 * deleted, dropped) the object key k, 0 if it surely did not (then a read
 * of k sees committed data only). False positives are rare and safe.
 * While sealed with STORE_SEAL_READS_BATCH: the same of the sealed batch.
 * 0 otherwise.
 */
int store_maybe_written(const store_t *s, const store_key_t *k);

/*
 * SEALED BATCHES: a commit that does not block the owning thread. A
 * durable commit waits for the disk (two ordered flushes with LMDB), and
 * reads need not wait with it: they may see the state committed before.
 *   - store_seal ends the open batch's writes without committing them:
 *     the batch is sealed. A doomed batch is not sealed: store_seal then
 *     returns its error, as store_commit would.
 *   - store_commit_sealed makes the sealed batch durable and visible. It
 *     is the one call that may run on another thread, once, while the
 *     owning thread goes on.
 *   - Meanwhile the owning thread may read (store_get, scans, store_stats,
 *     store_epoch_held): reads see the state committed before the seal.
 *     It may not open a batch, write, flush or close.
 *   - When store_commit_sealed has returned rc, store_sealed_done(s, rc)
 *     on the owning thread ends the seal and returns rc: 0 if the batch
 *     is committed (as store_commit's 0: now replies about its writes may
 *     leave), else an error as store_commit's, and nothing of it applied.
 * The memory backend commits in store_seal (its reads during the seal
 * see the batch; the simulator never seals).
 */
int store_seal(store_t *s);
int store_commit_sealed(store_t *s);
int store_sealed_done(store_t *s, int rc);

/*
 * store_sealed_reads - what reads see while a batch is sealed, as the
 * backend chose at the seal:
 *   STORE_SEAL_READS_BEFORE  the state committed before the seal (the
 *                            sealed batch's writes are not visible);
 *   STORE_SEAL_READS_BATCH   the sealed batch's writes too: a reply about
 *                            a key store_maybe_written names must wait
 *                            for store_sealed_done (LMDB with a journal);
 *   STORE_SEAL_READS_WAIT    nothing reliable: reads must wait for
 *                            store_sealed_done (an LMDB checkpoint).
 * STORE_SEAL_READS_BEFORE when not sealed.
 */
enum {
	STORE_SEAL_READS_BEFORE = 0,
	STORE_SEAL_READS_BATCH = 1,
	STORE_SEAL_READS_WAIT = 2,
};
int store_sealed_reads(const store_t *s);

/* store_sealed - 1 between store_seal and store_sealed_done, else 0. */
int store_sealed(const store_t *s);

/*
 * store_flush - between batches: force committed data to the disk (LMDB
 * with --sync none: call it before a clean exit); with --sync batch,
 * checkpoint what the journal holds since the last checkpoint into
 * data.mdb (on this thread: a durable LMDB commit, a few ms), so that an
 * idle node holds no dirty pages and has nothing to replay. 0 or SH_EIO;
 * memory: always 0.
 */
int store_flush(store_t *s);

/* ---- scans ---- */

/* store_cursor_init - position c at the start of a range, not done. */
void store_cursor_init(store_cursor_t *c);

/* store_cursor_after - position c just after key k (k itself excluded). */
void store_cursor_after(store_cursor_t *c, const store_key_t *k);

/*
 * store_scan_partition - call fn(arg, entry) for the object keys of
 * `partition` that follow c, in key order, at most `limit` (> 0) of them,
 * and move c past each consumed entry. Nothing from other partitions.
 * Sets c->done when the partition holds nothing past c; a caller may loop
 * `while (!c.done)`, one call per turn (bounded work). A scan inside a
 * batch sees the batch's writes; outside, one consistent snapshot per call.
 * Errors: SH_EINVAL (c positioned in another range), SH_EMALFORMED
 * (damaged stored key), SH_EIO, or a negative code returned by fn.
 */
int store_scan_partition(store_t *s, uint16_t partition, store_cursor_t *c,
                         size_t limit, store_scan_fn fn, void *arg);

/*
 * store_scan_hints - like store_scan_partition over the hints of primary
 * (primary_len 1..255 bytes), in (partition, bucket, key) order; with
 * primary NULL and primary_len 0, over every hint (grouped by primary,
 * shorter names first, as the layout orders them).
 * Errors: those of store_scan_partition, SH_ETOOBIG (primary too long).
 */
int store_scan_hints(store_t *s, const void *primary, size_t primary_len,
                     store_cursor_t *c, size_t limit, store_scan_fn fn,
                     void *arg);

/* ---- stats and metadata ---- */

/*
 * store_stats - sizes of one keyspace (see store_stats_t), including the
 * open batch's writes. Errors: SH_EIO.
 */
int store_stats(store_t *s, store_space_t space, store_stats_t *out);

/*
 * store_epoch - the node's epoch: the nonzero 64-bit value in meta "epoch".
 * When the store has none (a new data directory), draws one from rng
 * (redrawing 0), stores it in its own batch, commits and flushes it, so a
 * restarted node keeps its epoch and a wiped one gets a new one. Must be
 * called outside a batch. Errors: those of store_get and store_commit,
 * SH_EMALFORMED (stored epoch not 8 bytes or 0).
 */
int store_epoch(store_t *s, sh_rand_t *rng, uint64_t *epoch);

/*
 * store_epoch_put - make meta "epoch" hold epoch (nonzero) in the open
 * batch; a put only when it holds another value. Errors: those of
 * store_get and store_put.
 */
int store_epoch_put(store_t *s, uint64_t epoch);

/*
 * store_epoch_held - what meta "epoch" holds now (the open batch's value
 * inside a batch), without drawing one: 0 and *epoch, SH_ENOTFOUND,
 * SH_EMALFORMED, or the errors of store_get.
 */
int store_epoch_held(store_t *s, uint64_t *epoch);

/*
 * DELETED-KEY MEMORY. A coordinator makes its next dot for a key from its
 * own copy of the key; once that copy has been deleted (a handoff drop,
 * a reaped tombstone), the same actor would issue again dots the other
 * replicas have seen, and their values would read as already seen. So a
 * coordinator asks store_maybe_deleted before it writes a key, and if so
 * takes a new actor (node/coord.h, "ACTOR RENEWAL") and calls
 * store_forget_deleted. The memory is approximate in the safe direction:
 * a filter over the object keys passed to store_del and the partitions
 * passed to store_drop_partition (aborted batches included), and "every
 * key" from the open until the first store_forget_deleted, since a
 * previous run may have deleted anything. False positives cost a needless
 * new actor.
 */
int store_maybe_deleted(const store_t *s, const store_key_t *k);
void store_forget_deleted(store_t *s);

#endif /* SHOAL_NODE_STORE_H */
