/*
 * store_journal.h - the LMDB store's journal file: batches made durable by
 * one append and one flush (store_lmdb_journal.c uses it; this module
 * knows nothing of LMDB).
 *
 * Why. A durable LMDB commit writes every page its batch touched, scattered
 * over the map, then flushes twice. Appending the batch's mutations to a
 * file that was zero-filled ahead of time costs one write and one
 * fdatasync that commits no metadata (the blocks are already allocated
 * and written), several times cheaper. LMDB is then committed only now
 * and then (a checkpoint, which records the sequence number of the last
 * journal record it holds); after a checkpoint the journal starts again
 * at offset 0, over the records it no longer needs.
 *
 * FILE. DATA/journal, created 0600 and extended by writing zeros to the
 * size asked for (never ftruncate or fallocate: unwritten extents would
 * make every later fdatasync commit metadata). Records follow one another
 * from offset 0; after the last one come zeros, or stale records of an
 * earlier round. A record never straddles the end of the file.
 *
 * ROUNDS. The records from one reset to the next are a round. Each round
 * has a seed, a random number its owner picks at the checkpoint that
 * starts it and keeps with the checkpoint (store_lmdb_journal.c: in LMDB's
 * meta); every checksum of the round is seeded with it. So a stale
 * record of an earlier round fails the checksum and never continues a
 * round, even where its seq would fit, and no value stored in a payload
 * can pass for a record. Journals written before seeds existed have
 * seed 0 (XXH3_64bits_withSeed with seed 0 is XXH3_64bits).
 *
 * RECORD, little-endian, no padding:
 *   u64 checksum      XXH3_64bits_withSeed, with the round's seed, over
 *                     the 16 header bytes that follow and the payload
 *   u64 seq           1, 2, 3 ... one more than the record before it
 *   u32 payload_len   bytes of payload after this 24-byte header
 *   u32 count         mutations in the payload (at least 1)
 *   payload: `count` mutations, each
 *     u8 op           JOURNAL_PUT 1, JOURNAL_DEL 2, JOURNAL_DEL_PREFIX 3
 *     u8 space        a store_space_t, < STORE_SPACES
 *     u16 key_len     at most STORE_RAW_KEY_BYTES_MAX; at least 1 for PUT
 *                     and DEL (a DEL_PREFIX's prefix may be empty)
 *     key_len bytes   the raw store key (DEL_PREFIX: the prefix)
 *     PUT:        u32 val_len (at most STORE_VALUE_BYTES_MAX), the value
 *     DEL_PREFIX: u64 limit
 *   and nothing else: the mutations end exactly at payload_len.
 * The end of the journal is the first record that breaks any of this (a
 * torn write, zeros, an older round's record): replay stops there.
 *
 * DAMAGE. Only one record is written at a time, each after the one before
 * it is on the disk, so only the last record can be torn: a valid record
 * of the round further on, with a seq above the last one replayed, means
 * the record replay stopped at was damaged after later ones were
 * acknowledged. store_journal_recover looks for one (at open) and
 * refuses the journal rather than drop them.
 *
 * Threads: a store_journal_t belongs to one thread (the owner), except
 * store_journal_write, which another thread may run while the owner does
 * not touch the journal.
 *
 * Errors are the negative SH_E... codes of common/sh_err.h.
 */
#ifndef SHOAL_NODE_STORE_JOURNAL_H
#define SHOAL_NODE_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "node/store.h"

/* Bytes of a record's header. */
#define STORE_JOURNAL_HDR_BYTES 24
/* Smallest journal file store_journal_open accepts. */
#define STORE_JOURNAL_BYTES_MIN 4096

typedef enum journal_op {
	JOURNAL_PUT = 1,
	JOURNAL_DEL = 2,
	JOURNAL_DEL_PREFIX = 3,
} journal_op_t;

/* One mutation handed to a replay callback; every pointer is borrowed and
 * valid only during the callback. */
typedef struct journal_mut {
	journal_op_t op;
	store_space_t space;
	const uint8_t *key; /* PUT/DEL: the raw key; DEL_PREFIX: the prefix */
	size_t key_len;
	const uint8_t *val; /* PUT only (not NULL, even when val_len is 0) */
	size_t val_len;
	uint64_t limit; /* DEL_PREFIX only */
} journal_mut_t;

/*
 * A journal handle. The caller allocates it; store_journal_open fills it
 * in. Fields are read-only outside store_journal.c.
 */
typedef struct store_journal {
	int fd;            /* the file, -1 when closed */
	uint64_t size;     /* the file's size in bytes */
	uint64_t tail;     /* where the next record goes */
	uint64_t next_seq; /* the next record's sequence number */
	uint64_t seed;     /* the round's checksum seed (see ROUNDS) */
	sh_buf_t rec;      /* the record being built: header room, payload */
	uint32_t count;    /* mutations in rec */
} store_journal_t;

/*
 * store_journal_open - open the journal file at path, creating it (0600)
 * if absent. A file shorter than `bytes` is extended to `bytes` by
 * writing zeros, then flushed (fdatasync); the directory is flushed too
 * (fsync), on every open, so the file survives a power loss even if the
 * run that created it stopped before that flush. A longer file
 * keeps its size. Afterwards tail is 0, next_seq 1 and seed 0: call
 * store_journal_reset with the checkpoint's seq and seed, then
 * store_journal_recover, then store_journal_reset again before writing.
 * Errors: SH_EINVAL (j or path NULL, bytes < STORE_JOURNAL_BYTES_MIN),
 * SH_ENOMEM, SH_EIO (errno says why: open, fstat, write or flush failed,
 * or path is not a regular file). On error nothing needs closing.
 */
int store_journal_open(store_journal_t *j, const char *path, uint64_t bytes);

/* store_journal_close - close the file and free the record being built.
 * Safe after a failed open and on a closed handle (fd -1). */
void store_journal_close(store_journal_t *j);

/*
 * store_journal_replay - read the journal from offset 0 and call
 * fn(arg, seq, m) for every mutation of every record with a sequence
 * number above after_seq, in order. Records must follow one another
 * (seq +1 each); those up to after_seq (already in the store) are
 * skipped. Replay ends, with SH_OK, at the first record that is invalid
 * (checksum with j->seed, a length past the end of the file, a
 * malformed mutation) or
 * does not follow the one before it; so a journal whose first record is
 * invalid, or whose records all have a seq up to after_seq (the round
 * before the last checkpoint), replays nothing. No mutation of a record is
 * handed to fn before the whole record is checked. *last_seq gets the seq of
 * the last record replayed, after_seq if none; on an error, that of the last
 * record fn saw all of. Does not change tail, next_seq or the record being
 * built. Errors: SH_EIO if the first record is valid but its seq is above
 * after_seq + 1 (the journal does not follow the store), or reading
 * failed (errno says why); SH_ENOMEM; a negative code returned by fn,
 * which stops the replay.
 */
int store_journal_replay(store_journal_t *j, uint64_t after_seq,
                         int (*fn)(void *arg, uint64_t seq,
                                   const journal_mut_t *m),
                         void *arg, uint64_t *last_seq);

/* Where store_journal_recover found the journal damaged. */
typedef struct journal_damage {
	uint64_t bad_off;  /* the record replay stopped at */
	uint64_t next_off; /* a valid record of the round after it */
	uint64_t next_seq; /* its seq, above the last one replayed; 0: none */
} journal_damage_t;

/*
 * store_journal_recover - store_journal_replay, then, when it stopped
 * before the end of the file, a look at every offset after that for a
 * valid record of the round (j->seed) with a seq above *last_seq that
 * could follow it (the records between fit in between). Finding one
 * means damage in the middle (see DAMAGE): SH_EIO, with *damage filled
 * in, after fn has seen the records before the damaged one (the caller
 * drops them). Else as store_journal_replay, with damage->next_seq 0.
 * For opening: the look reads the rest of the file (32 MiB of older
 * rounds take some 30 ms, optimized); the owner alone writes the file
 * afterwards, so later replays need not look again.
 */
int store_journal_recover(store_journal_t *j, uint64_t after_seq,
                          int (*fn)(void *arg, uint64_t seq,
                                    const journal_mut_t *m),
                          void *arg, uint64_t *last_seq,
                          journal_damage_t *damage);

/*
 * store_journal_reset - start a round: after a checkpoint that holds
 * every record up to seq, the next record is seq + 1, written at offset
 * 0, its checksum seeded with seed (replay checks records with it too).
 * A new round takes a new random seed; opening takes the checkpoint's.
 * No IO. The record being built, if any, is kept (it will be seq + 1).
 */
void store_journal_reset(store_journal_t *j, uint64_t seq, uint64_t seed);

/*
 * Building the next record (owner thread). Each call appends one mutation
 * to the record being built, copying the bytes given; on error the record
 * is as it was. k (or v) may be NULL only if its length is 0.
 *   store_journal_put         PUT of key k (1..STORE_RAW_KEY_BYTES_MAX
 *                             bytes) to value v (vl bytes)
 *   store_journal_del         DEL of key k
 *   store_journal_del_prefix  DEL_PREFIX: delete at most limit keys that
 *                             start with prefix (0..STORE_RAW_KEY_BYTES_MAX
 *                             bytes)
 * Errors: SH_EINVAL (space out of range, empty key, NULL with a length),
 * SH_ETOOBIG (key over STORE_RAW_KEY_BYTES_MAX, value over
 * STORE_VALUE_BYTES_MAX), SH_EFULL (the record would exceed 4 GiB of
 * payload or 2^32 - 1 mutations), SH_ENOMEM.
 */
int store_journal_put(store_journal_t *j, store_space_t sp, const uint8_t *k,
                      size_t kl, const uint8_t *v, size_t vl);
int store_journal_del(store_journal_t *j, store_space_t sp, const uint8_t *k,
                      size_t kl);
int store_journal_del_prefix(store_journal_t *j, store_space_t sp,
                             const uint8_t *prefix, size_t pl, uint64_t limit);

/* store_journal_count - mutations in the record being built. */
uint32_t store_journal_count(const store_journal_t *j);

/* store_journal_fits - 1 if the record being built fits between tail and
 * the end of the file (an empty record always does), else 0. */
int store_journal_fits(const store_journal_t *j);

/* store_journal_used - tail: bytes written since the last reset. */
uint64_t store_journal_used(const store_journal_t *j);

/* store_journal_discard - drop the record being built. */
void store_journal_discard(store_journal_t *j);

/*
 * store_journal_write - write the record being built at tail (as many
 * pwrites as it takes) and fdatasync the file. SH_OK: the record is on
 * the disk, tail and next_seq advanced, the record being built emptied.
 * An empty record (count 0) writes nothing and returns SH_OK.
 * SH_EFULL: it does not fit (nothing written; the record is kept for
 * the owner to discard, or to write after a reset).
 * SH_EIO (errno says why): the file's content past tail is unknown; tail,
 * next_seq and the record are unchanged.
 * May run on another thread while the owner does not touch j; it logs
 * nothing and touches no state but j's and errno.
 */
int store_journal_write(store_journal_t *j);

#endif /* SHOAL_NODE_STORE_JOURNAL_H */
