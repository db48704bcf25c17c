/*
 * merkle.h - active anti-entropy: per-partition hash trees (TicTac style)
 * and the exchange that compares two replicas' trees (DESIGN.md section 8,
 * ALGORITHMS.md section 6). This header is the module's manual.
 *
 * Pure code: no IO, no clock, no libuv, no LMDB. Time comes in as now_ms;
 * storage is read by the caller, who feeds what it reads.
 *
 * ---- The tree ----
 *
 * One tree per partition. Its leaves are S segments (a power of two,
 * default 1024). Keys are named by (bucket, key) byte strings; a key's hash
 * is xxh3_64 of `bucket \0 key` (the same as ring_key_hash), and its
 * segment is the log2(S) bits of that hash just below the partition bits:
 *     segment = (key_hash << partition_bits) >> (64 - log2(S)).
 * A key present with object hash h (coord_obj_hash) contributes the term
 *     term = xxh3_64(bucket \0 key || h as 8 bytes big-endian)
 * and a segment's hash is the XOR of its keys' terms (0 when empty). XOR
 * makes the hash independent of the order of writes, and a write costs
 * O(1): XOR the key's old term out and its new term in.
 *
 * Above the segments sit upper levels with a branching factor F (a power
 * of two, default 32): level `depth` is the segments, level 0 the root, and
 * level d has max(1, S / F^(depth - d)) nodes, so every node of level d has
 * the same number of children (F, except the root when log2(S) is not a
 * multiple of log2(F)). An upper node's hash is xxh3_64 of its children's
 * hashes, each as 8 bytes big-endian, in order. Upper nodes are recomputed
 * lazily: a write marks its segment's ancestors dirty (stopping at the
 * first that already is), and reading a node recomputes the dirty nodes
 * below it. Two trees over the same (key, object hash) set, with the same
 * geometry, have equal hashes everywhere.
 *
 * Rebuild. The tree is memory only. At start-up (or to check it against
 * storage) the caller rebuilds it from storage in the background, without
 * stopping writes:
 *     merkle_rebuild_start(t);
 *     while (!cursor.done)            // one bounded batch per loop turn
 *         store_scan_partition(s, p, &cursor, 256, fn, arg);
 *             // fn calls merkle_rebuild_add(t, bucket, key, obj_hash)
 *     merkle_rebuild_finish(t);       // swaps the new segments in
 * The rebuild fills a shadow segment array. Entries must come in strictly
 * ascending key order (the store's order: the bytes `bucket \0 key`
 * compared with memcmp, shorter first), which is what store_scan_partition
 * produces, and the tree remembers the last one (the cursor). Every
 * merkle_update made during the rebuild goes to the live tree and, when
 * its key is at or before the cursor, to the shadow too: the scan already
 * passed that key, so the shadow must see the change; a key after the
 * cursor is left to the scan, which will read it as it is then. So at the
 * end the shadow holds exactly the stored state, whatever was written
 * meanwhile, provided the caller calls merkle_update for a write at the
 * point where that write becomes visible to later scans (after it is
 * applied to the store, before the next scan call). merkle_rebuild_finish
 * swaps the shadow in (O(1) plus marking upper levels dirty). The live
 * tree keeps answering reads during the rebuild.
 *
 * A tree starts "not built" (merkle_is_built == 0): its contents say
 * nothing about storage until a rebuild finished. An exchange refuses to
 * run on a tree that is not built.
 *
 * ---- The exchange ----
 *
 * Two replicas of one partition compare trees with a sans-IO state machine
 * (merkle_exchange_t), one on each side. The initiator drives; the
 * responder answers from its tree and its storage. Flow:
 *   1. initiator -> OPEN(geometry, root). If the responder's root is equal,
 *      it answers DONE(MERKLE_DONE_EQUAL): the whole exchange was one round
 *      trip of about 60 bytes. Otherwise it answers NODES for the root.
 *   2. Level by level, the initiator compares the children hashes it got
 *      with its own, and asks NODES_REQ for the children of the nodes that
 *      differ, at most branches_per_step parents per request.
 *   3. For the differing segments, in steps of at most segments_per_step,
 *      the initiator sends KEYS_REQ(segments). Both sides then need the
 *      (bucket, key, object hash) of every local key in those segments:
 *      each exchange says so in its ready output (want_keys); the caller
 *      scans the partition (in bounded batches, over as many turns as it
 *      likes), feeds each key with merkle_exchange_key (keys of other
 *      segments are ignored, merkle_exchange_wants tells which are wanted)
 *      and ends with merkle_exchange_keys_end. The responder then sends its
 *      keys in KEYS messages (at most keys_per_msg keys, about
 *      MERKLE_MSG_BYTES_TARGET bytes each; the last is flagged).
 *   4. The initiator compares both key lists and reports, in its ready
 *      output, every key present on one side only or with different object
 *      hashes. The caller repairs each (a read repair: read both objects,
 *      join, write the join to both). After the last step the initiator
 *      sends DONE(MERKLE_DONE_OK).
 * Either side that fails sends DONE(negative SH_E... code) and aborts; a
 * side that waits for its peer and hears nothing for timeout_ms aborts on
 * merkle_exchange_tick. Cost follows the differences: with d differing
 * segments and depth levels, about depth + d/branches_per_step request
 * round trips of F hashes per parent, plus the keys of d segments.
 *
 * ---- Below the segments (sub_fanout > 0, the default) ----
 *
 * Sending every key of a differing segment costs k*M/S key entries for k
 * differences among M keys: with many keys per segment that is most of
 * the partition. So by default step 3 descends further, through a tree
 * the two sides build on the fly from the keys they fed (nothing is
 * stored). A node of it is a "path": a prefix of the key hash's bits
 * below the partition bits, at least log2(S) long (a segment is a path of
 * exactly log2(S) bits), encoded as a u64 with a marker bit above the
 * prefix: (1 << len) | prefix, len <= MERKLE_PATH_BITS_MAX. A path's
 * children split it by the next log2(sub_fanout) bits. Flow of a step:
 *   3a. the initiator sends SUMS_REQ(first, segments as paths); both sides
 *       feed their keys of those segments exactly as for KEYS_REQ (same
 *       want_keys contract); the responder answers SUMS: for each child of
 *       each path, its key count (saturating at 255) and a 32-bit sum (the
 *       XOR of the keys' 64-bit digests of (key hash, object hash), mixed
 *       with the exchange's xid so a collision is not repeated by the next
 *       exchange).
 *   3b. the initiator compares each child with its own: equal children are
 *       done; a child the peer has no key in makes its keys LOCAL_ONLY; a
 *       child where either side has at most one key, or that cannot be
 *       split further, has its keys asked for; the rest are split again
 *       (SUMS_REQ(not first), at most MERKLE_PATHS_MAX paths per request).
 *   3c. PKEYS_REQ(paths) asks for the responder's keys under those paths;
 *       it answers with KEYS as in step 3, and the initiator reports the
 *       differences among the keys under those paths only.
 * The initiator walks below the segments only when its tree holds at
 * least MERKLE_SUB_KEYS_PER_SEGMENT_MIN keys per segment on average: with
 * fewer, a segment's few keys cost less than its children's sums, and it
 * sends KEYS_REQ as above. The responder keeps the step's keys from 3a
 * until the next step (or DONE). Cost per difference: a few sums of 5
 * bytes per level instead of every key of its segment (docs/aae-cost.md
 * has the figures); a responder always answers both protocols.
 *
 * ---- Messages ----
 *
 * Every message is one msgpack array:
 *   [version = 1, type, xid (u64), partition (u32), fields...]
 * with, by type:
 *   1 OPEN       segments, fanout, partition_bits, root (u64)
 *   2 NODES_REQ  level, parents (bin: u32 big-endian node indices at level)
 *   3 NODES      level, parents (bin, as asked), hashes (bin: for each
 *                parent in order, its children's hashes, u64 big-endian)
 *   4 KEYS_REQ   segments (bin: u32 big-endian, strictly ascending)
 *   5 KEYS       last (bool), [[bucket (bin), key (bin), obj_hash (u64)]...]
 *   6 DONE       status (int: MERKLE_DONE_OK, MERKLE_DONE_EQUAL or a
 *                negative SH_E... code when the sender aborted)
 *   7 SUMS_REQ   first (bool), bits (log2 of the children per path, 1..4),
 *                paths (bin: u64 big-endian, ascending, not nested)
 *   8 SUMS       bits, counts (bin: a u8 per child of each path asked, in
 *                the request's order; the paths are not repeated), sums
 *                (bin: a u32 big-endian per child)
 *   9 PKEYS_REQ  paths (bin: u64 big-endian, ascending, not nested)
 * merkle_msg_decode validates every field, count and length against the
 * MERKLE_*_MAX limits before anything reads it, and rejects trailing
 * bytes; it never allocates and never asserts on input.
 *
 * Memory. The caller allocates merkle_t and merkle_exchange_t and calls
 * the _init/_free pairs. Neither is safe for concurrent use. An exchange
 * borrows its tree: the tree must outlive it. Errors are the negative
 * SH_E... codes of common/sh_err.h.
 */
#ifndef SHOAL_MERKLE_H
#define SHOAL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"

/* ---- limits and defaults ---- */

#define MERKLE_SEGMENTS_DEFAULT   1024
#define MERKLE_SEGMENTS_MIN       2
#define MERKLE_SEGMENTS_MAX       (1u << 20)
#define MERKLE_FANOUT_DEFAULT     32
#define MERKLE_FANOUT_MAX         256
#define MERKLE_PARTITION_BITS_MAX 16
#define MERKLE_LEVELS_MAX         21 /* root + at most 20 levels below */
#define MERKLE_BUCKET_BYTES_MAX   1024
#define MERKLE_KEY_BYTES_MAX      1024

#define MERKLE_BRANCHES_DEFAULT      16 /* parents per NODES_REQ */
#define MERKLE_BRANCHES_MAX          256
#define MERKLE_SEGS_PER_STEP_DEFAULT 64 /* segments per KEYS_REQ */
#define MERKLE_SEGS_PER_STEP_MAX     1024
#define MERKLE_KEYS_PER_MSG_DEFAULT  512 /* keys per KEYS message */
#define MERKLE_KEYS_PER_MSG_MAX      4096
#define MERKLE_KEYS_PER_STEP_DEFAULT 65536 /* keys held per side per step */
#define MERKLE_KEYS_PER_STEP_MAX     (1u << 22)
#define MERKLE_TIMEOUT_MS_DEFAULT    30000
#define MERKLE_MSG_BYTES_TARGET      65536 /* a KEYS message is cut here */
#define MERKLE_SUB_FANOUT_DEFAULT    8 /* children of a path below segments */
#define MERKLE_SUB_FANOUT_MAX        16
#define MERKLE_PATHS_MAX             1024 /* paths per SUMS_REQ/SUMS/PKEYS */
#define MERKLE_PATH_BITS_MAX         62   /* longest path prefix */
/* Fewer keys a segment than this (on average, in the initiator's tree):
 * whole segments' keys are cheaper than the walk below them. */
#define MERKLE_SUB_KEYS_PER_SEGMENT_MIN 1
/* Largest message merkle_msg_decode accepts (bigger: SH_ETOOBIG). */
#define MERKLE_MSG_BYTES_MAX (16u << 20)

#define MERKLE_MSG_VERSION 1

/* ---- the tree ---- */

/*
 * Tree geometry. Both replicas of an exchange must use the same segments,
 * fanout and partition_bits (OPEN carries them; a mismatch aborts).
 */
typedef struct merkle_config {
	uint32_t segments;       /* S: power of two, SEGMENTS_MIN..MAX */
	uint32_t fanout;         /* F: power of two, 2..MERKLE_FANOUT_MAX */
	uint32_t partition_bits; /* log2(Q): 0..MERKLE_PARTITION_BITS_MAX */
	uint32_t partition;      /* this tree's partition, < 2^partition_bits */
} merkle_config_t;

/* The tree. Allocated by the caller; fields are private. */
typedef struct merkle {
	merkle_config_t cfg;
	uint32_t seg_bits; /* log2(S) */
	uint32_t fan_bits; /* log2(F) */
	uint32_t depth;    /* levels below the root; segments are level depth */
	uint32_t size[MERKLE_LEVELS_MAX];   /* nodes per level */
	uint64_t *level[MERKLE_LEVELS_MAX]; /* node hashes; into nodes */
	uint8_t *dirty[MERKLE_LEVELS_MAX];  /* upper levels only; into flags */
	uint64_t *nodes;                    /* owned: every level's hashes */
	uint8_t *flags;                     /* owned: dirty bytes */
	uint64_t keys;                      /* keys present, as updates say */
	uint64_t updates;                   /* merkle_update calls applied */
	uint64_t rebuilds;                  /* rebuilds finished */
	int built;                          /* a rebuild has finished */
	/* rebuild in progress (shadow != NULL) */
	uint64_t *shadow; /* owned: S segment hashes being rebuilt */
	uint64_t shadow_keys;
	uint8_t *cursor;   /* owned: last key added, as bucket \0 key */
	size_t cursor_len; /* 0: nothing added yet */
	int cursor_set;
} merkle_t;

/*
 * merkle_config_default - fill *cfg (out): 1024 segments, fanout 32,
 * partition_bits 6 (64 partitions), partition 0.
 */
void merkle_config_default(merkle_config_t *cfg);

/*
 * merkle_init - make t (out, caller-allocated) an empty, not built tree
 * with cfg's geometry (copied). Errors: SH_EINVAL (a value out of range or
 * not a power of two; t is left untouched), SH_ENOMEM.
 */
int merkle_init(merkle_t *t, const merkle_config_t *cfg);

/* merkle_free - release t's memory (a rebuild in progress included). */
void merkle_free(merkle_t *t);

/*
 * merkle_key_hash - xxh3_64 of `bucket \0 key` (equal to ring_key_hash).
 * bucket and key (in) may be NULL when their length is 0.
 */
uint64_t merkle_key_hash(const void *bucket, size_t blen, const void *key,
                         size_t klen);

/*
 * merkle_term - a present key's contribution to its segment's hash:
 * xxh3_64(bucket \0 key || obj_hash as 8 bytes big-endian).
 */
uint64_t merkle_term(const void *bucket, size_t blen, const void *key,
                     size_t klen, uint64_t obj_hash);

/* merkle_segment_of - the segment of a key hash in t (< segments). */
uint32_t merkle_segment_of(const merkle_t *t, uint64_t key_hash);

/*
 * merkle_update - record a write of (bucket, key) in t: old_hash (in, NULL
 * when the key was absent) is the object hash it had, new_hash (in, NULL
 * when it is now absent, i.e. physically removed) the one it has now. O(1)
 * plus marking at most depth dirty flags. During a rebuild the change also
 * goes to the shadow when the key is at or before the rebuild cursor (see
 * the top of this file). The caller must pass the true old hash: a wrong
 * one leaves the tree wrong until the next rebuild. Both NULL, or equal
 * hashes, change nothing. Errors (t unchanged): SH_ETOOBIG (bucket or key
 * over MERKLE_*_BYTES_MAX), SH_EINVAL (the key belongs to another
 * partition).
 */
int merkle_update(merkle_t *t, const void *bucket, size_t blen, const void *key,
                  size_t klen, const uint64_t *old_hash,
                  const uint64_t *new_hash);

/*
 * merkle_root - the root hash (recomputes dirty nodes first, hence not
 * const).
 */
uint64_t merkle_root(merkle_t *t);

/* merkle_depth - levels below the root (the segments are level depth). */
uint32_t merkle_depth(const merkle_t *t);

/* merkle_level_size - nodes at level (0 = root .. depth); 0 if none. */
uint32_t merkle_level_size(const merkle_t *t, uint32_t level);

/*
 * merkle_node - the hash of node `index` of `level` into *out (out),
 * recomputing dirty nodes below it. Errors: SH_ERANGE (no such node).
 */
int merkle_node(merkle_t *t, uint32_t level, uint32_t index, uint64_t *out);

/*
 * merkle_children - the hashes of the children of node `index` of `level`
 * (< depth) into out[0 .. *count) (out: room for MERKLE_FANOUT_MAX); *count
 * (out) is the number of children, the same for every node of a level.
 * Errors: SH_ERANGE (no such node, or a segment: it has no children).
 */
int merkle_children(merkle_t *t, uint32_t level, uint32_t index, uint64_t *out,
                    uint32_t *count);

/* merkle_is_built - 1 once a rebuild has finished, else 0. */
int merkle_is_built(const merkle_t *t);

/* merkle_keys - keys present, as counted from the updates and rebuilds. */
uint64_t merkle_keys(const merkle_t *t);

/*
 * merkle_rebuild_start - begin a rebuild from storage: an empty shadow,
 * cursor before the first key. A rebuild already in progress is dropped
 * and started over. Errors: SH_ENOMEM (nothing changed).
 */
int merkle_rebuild_start(merkle_t *t);

/*
 * merkle_rebuild_add - add one stored key with its object hash to the
 * shadow. Keys must come in strictly ascending `bucket \0 key` order (as
 * store_scan_partition yields them) and belong to t's partition. Errors
 * (nothing changed): SH_EINVAL (no rebuild in progress, key not after the
 * cursor, or another partition), SH_ETOOBIG (bucket or key too long).
 */
int merkle_rebuild_add(merkle_t *t, const void *bucket, size_t blen,
                       const void *key, size_t klen, uint64_t obj_hash);

/* merkle_rebuilding - 1 while a rebuild is in progress. */
int merkle_rebuilding(const merkle_t *t);

/*
 * merkle_rebuild_finish - the scan is complete: the shadow replaces the
 * live segments, the tree is built. Errors: SH_EINVAL (no rebuild).
 */
int merkle_rebuild_finish(merkle_t *t);

/* merkle_rebuild_cancel - drop a rebuild in progress (no-op without one). */
void merkle_rebuild_cancel(merkle_t *t);

/* ---- messages ---- */

typedef enum merkle_msg_type {
	MERKLE_MSG_OPEN = 1,
	MERKLE_MSG_NODES_REQ = 2,
	MERKLE_MSG_NODES = 3,
	MERKLE_MSG_KEYS_REQ = 4,
	MERKLE_MSG_KEYS = 5,
	MERKLE_MSG_DONE = 6,
	MERKLE_MSG_SUMS_REQ = 7,
	MERKLE_MSG_SUMS = 8,
	MERKLE_MSG_PKEYS_REQ = 9,
} merkle_msg_type_t;

/* DONE statuses other than a negative SH_E... code. */
#define MERKLE_DONE_OK    0 /* the initiator compared everything */
#define MERKLE_DONE_EQUAL 1 /* the roots were equal */

/* One key of a KEYS message or of a key list. Pointers are borrowed. */
typedef struct merkle_key {
	const uint8_t *bucket;
	size_t bucket_len;
	const uint8_t *key;
	size_t key_len;
	uint64_t obj_hash;
} merkle_key_t;

/*
 * A decoded message. Pointers point into the decoded bytes and are valid
 * as long as they are. Only the fields of m.type are set; the rest are 0.
 */
typedef struct merkle_msg {
	merkle_msg_type_t type;
	uint64_t xid;
	uint32_t partition;
	/* OPEN */
	uint32_t segments, fanout, partition_bits;
	uint64_t root;
	/* NODES_REQ, NODES */
	uint32_t level;
	/* NODES_REQ, NODES: parents; KEYS_REQ: segments. u32 big-endian. */
	const uint8_t *ids;
	uint32_t id_count;
	/* NODES: u64 big-endian hashes */
	const uint8_t *hashes;
	uint32_t hash_count;
	/* KEYS: key_count entries, validated, read with merkle_msg_key_next */
	int last;
	uint32_t key_count;
	const uint8_t *keys;
	size_t keys_len;
	/* DONE */
	int64_t status;
	/* SUMS_REQ (first, bits, paths), SUMS (bits, counts, sums; paths
	 * NULL, path_count the paths answered), PKEYS_REQ (paths); paths
	 * u64 and sums u32 big-endian, counts u8 */
	int first;
	uint32_t bits;
	const uint8_t *paths;
	uint32_t path_count;
	const uint8_t *counts; /* path_count << bits of them */
	const uint8_t *sums;   /* as many u32 */
} merkle_msg_t;

/*
 * merkle_msg_decode - decode and fully validate the len bytes at buf (in,
 * borrowed by *m) into *m (out). Limits: len <= MERKLE_MSG_BYTES_MAX;
 * OPEN's geometry as merkle_init accepts it; level < MERKLE_LEVELS_MAX;
 * ids: at most MERKLE_SEGS_PER_STEP_MAX (KEYS_REQ, strictly ascending) or
 * MERKLE_BRANCHES_MAX (NODES_REQ, NODES), at least 1; NODES: hash_count a
 * multiple of id_count, at most MERKLE_FANOUT_MAX per parent; KEYS: at
 * most MERKLE_KEYS_PER_MSG_MAX keys of at most MERKLE_*_BYTES_MAX bytes;
 * DONE: status in [SH_EFULL, MERKLE_DONE_EQUAL]. Errors: SH_ETRUNC,
 * SH_EMALFORMED, SH_EVERSION, SH_ETOOBIG, SH_ERANGE; *m is then undefined.
 */
int merkle_msg_decode(const void *buf, size_t len, merkle_msg_t *m);

/* merkle_msg_id - id i (< m->id_count) of a decoded message. */
uint32_t merkle_msg_id(const merkle_msg_t *m, uint32_t i);

/* merkle_msg_hash - hash i (< m->hash_count) of a decoded NODES. */
uint64_t merkle_msg_hash(const merkle_msg_t *m, uint32_t i);

/* merkle_msg_path - path i (< m->path_count) of a decoded SUMS_REQ or
 * PKEYS_REQ. */
uint64_t merkle_msg_path(const merkle_msg_t *m, uint32_t i);

/* merkle_msg_sum - sum i (< m->path_count << m->bits) of a decoded SUMS. */
uint32_t merkle_msg_sum(const merkle_msg_t *m, uint32_t i);

/* Iterates a decoded KEYS message's keys. */
typedef struct merkle_key_iter {
	const uint8_t *p, *end;
	uint32_t left;
} merkle_key_iter_t;

/* merkle_msg_keys - start iterating m's keys (m must be a decoded KEYS). */
void merkle_msg_keys(const merkle_msg_t *m, merkle_key_iter_t *it);

/*
 * merkle_msg_key_next - the next key into *k (out, pointers into the
 * message). Returns 1 with a key, 0 at the end, or a negative code if the
 * bytes are not what merkle_msg_decode validated.
 */
int merkle_msg_key_next(merkle_key_iter_t *it, merkle_key_t *k);

/* ---- the exchange ---- */

typedef struct merkle_xconfig {
	uint32_t branches_per_step; /* parents per NODES_REQ: 1..BRANCHES_MAX */
	uint32_t
	    segments_per_step; /* segments per KEYS_REQ: 1..SEGS_PER_STEP_MAX */
	uint32_t keys_per_msg; /* keys per KEYS: 1..KEYS_PER_MSG_MAX */
	uint32_t
	    keys_per_step_max; /* keys held per side and step, beyond:
	                        * abort with SH_ETOOBIG; 1..KEYS_PER_STEP_MAX */
	uint32_t timeout_ms;   /* silence from the peer that aborts; > 0 */
	uint32_t sub_fanout;   /* initiator: children per path below the
	                        * segments, a power of two 2..SUB_FANOUT_MAX;
	                        * 0 asks for whole segments' keys (KEYS_REQ) */
} merkle_xconfig_t;

/* merkle_xconfig_default - fill *cfg (out) with the MERKLE_*_DEFAULTs. */
void merkle_xconfig_default(merkle_xconfig_t *cfg);

typedef enum merkle_xstate {
	MERKLE_X_IDLE = 0,    /* initialised, neither started nor opened */
	MERKLE_X_RUNNING = 1, /* in progress */
	MERKLE_X_DONE = 2,    /* finished: every difference was reported */
	MERKLE_X_ABORTED = 3, /* gave up; ready.error says why */
} merkle_xstate_t;

typedef enum merkle_repair_kind {
	MERKLE_REPAIR_LOCAL_ONLY = 1,  /* present here only */
	MERKLE_REPAIR_REMOTE_ONLY = 2, /* present on the peer only */
	MERKLE_REPAIR_DIFFERENT = 3,   /* on both, object hashes differ */
} merkle_repair_kind_t;

/* A key to repair. Pointers are owned by the exchange (see ready). */
typedef struct merkle_repair {
	const uint8_t *bucket;
	size_t bucket_len;
	const uint8_t *key;
	size_t key_len;
	merkle_repair_kind_t kind;
	uint64_t local_hash;  /* 0 when REMOTE_ONLY */
	uint64_t remote_hash; /* 0 when LOCAL_ONLY */
} merkle_repair_t;

/* One message for the peer (bytes owned by the exchange). */
typedef struct merkle_out {
	const uint8_t *data;
	size_t len;
} merkle_out_t;

/* What an exchange hands back after an input (merkle_exchange_ready). */
typedef struct merkle_ready {
	const merkle_out_t *msgs; /* send these to the peer, in order */
	size_t msg_count;
	int want_keys; /* 1: feed the local keys of want_segments, then call
	                * merkle_exchange_keys_end (announced once) */
	const uint32_t *want_segments; /* ascending */
	size_t want_count;
	const merkle_repair_t *repairs; /* keys that differ */
	size_t repair_count;
	merkle_xstate_t state;
	int error;            /* ABORTED: the reason (negative SH_E... code) */
	int roots_equal;      /* DONE: 1 when the roots were equal */
	uint64_t deadline_ms; /* call merkle_exchange_tick by then;
	                       * UINT64_MAX: no timer needed */
} merkle_ready_t;

/* Counters of one exchange (also summed in merkle_stats_t). */
typedef struct merkle_xstats {
	uint64_t msgs_sent, bytes_sent;
	uint64_t msgs_received, bytes_received;
	uint64_t msgs_rejected;     /* undecodable or not fitting the state */
	uint64_t levels_walked;     /* levels below the root whose nodes were
	                             * compared */
	uint64_t branches_sent;     /* parents whose children hashes were sent
	                             * or asked for */
	uint64_t nodes_compared;    /* child hashes compared (initiator) */
	uint64_t segments_compared; /* segments whose key lists were compared
	                             * (initiator) or sent (responder) */
	uint64_t keys_fed; /* local keys kept from merkle_exchange_key */
	uint64_t keys_sent, keys_received;
	uint64_t keys_repaired; /* repairs reported */
	uint64_t paths_sent;    /* paths below the segments whose children's
	                         * sums were asked for (initiator) or sent */
} merkle_xstats_t;

/* A node's totals over many exchanges (merkle_stats_add). */
typedef struct merkle_stats {
	uint64_t exchanges_started, exchanges_completed, exchanges_aborted;
	merkle_xstats_t sum;
} merkle_stats_t;

/* The key lists of one step (internal). */
typedef struct merkle__kent {
	uint64_t key_hash, obj_hash;
	size_t off;       /* bucket then key bytes in the list's arena */
	const uint8_t *p; /* the same, set once the arena stops growing */
	uint16_t blen, klen;
	uint8_t mark; /* initiator, sub-segment walk: compare this key */
} merkle__kent_t;

typedef struct merkle__klist {
	merkle__kent_t *v;
	size_t n, cap;
	sh_buf_t arena;
} merkle__klist_t;

/* An exchange. Allocated by the caller; fields are private. */
typedef struct merkle_exchange {
	merkle_xconfig_t cfg;
	merkle_t *tree; /* borrowed */
	int initiator;
	merkle_xstate_t state;
	int phase; /* internal, see merkle_exchange.c */
	int error, roots_equal;
	uint64_t xid;
	uint64_t deadline_ms;
	/* tree walk: differing nodes of `level` still to expand */
	uint32_t level;
	uint32_t *cur, cur_n, cur_pos;
	uint32_t *next, next_n;
	uint32_t asked_at, asked_n; /* outstanding NODES_REQ: cur[asked_at..] */
	/* key steps over the differing segments (cur once at the leaves) */
	uint32_t step_at, step_n; /* the step's segments: cur[step_at..] */
	uint8_t *want;            /* bitmap over segments */
	uint64_t *hbuf;           /* responder: children hashes of one NODES */
	int local_done, remote_done, want_announced;
	merkle__klist_t local, remote;
	/* outputs */
	sh_buf_t out_bytes;
	merkle_out_t *outs; /* data set by ready; offsets until then */
	size_t out_n, out_cap;
	merkle_repair_t *repairs;
	size_t *repair_off; /* bytes of repair i in repair_arena */
	size_t repair_n, repair_cap, repair_off_cap;
	sh_buf_t repair_arena;
	merkle_xstats_t stats;
	/* the walk below the segments (merkle_sub.c) */
	uint32_t sub_bits; /* log2 of the children per path */
	uint64_t *sub_cur, *sub_next, *sub_keys; /* paths: to split, split
	                                          * next, whose keys to ask */
	size_t sub_cur_n, sub_next_n, sub_keys_n;
	size_t sub_cur_cap, sub_next_cap, sub_keys_cap;
	size_t sub_pos, sub_asked; /* requested: sub_cur or sub_keys
	                            * [sub_pos - sub_asked, sub_pos) */
	sh_buf_t sub_pend;         /* initiator: the first SUMS, kept until the
	                            * local keys are in */
	int sub_held;              /* responder: a step's keys are kept */
} merkle_exchange_t;

/*
 * merkle_exchange_init - make x (out) an idle exchange over tree (borrowed,
 * must outlive x) with cfg (copied). Allocates O(segments) words for the
 * walk. Errors: SH_EINVAL (cfg out of range), SH_ENOMEM.
 */
int merkle_exchange_init(merkle_exchange_t *x, const merkle_xconfig_t *cfg,
                         merkle_t *tree);

/* merkle_exchange_free - release x's memory (outputs included). */
void merkle_exchange_free(merkle_exchange_t *x);

/*
 * merkle_exchange_start - make idle x the initiator of exchange xid (pick
 * it at random: the peer uses it to tell exchanges apart) and queue OPEN.
 * Errors: SH_EINVAL (x not idle, or its tree not built).
 */
int merkle_exchange_start(merkle_exchange_t *x, uint64_t now_ms, uint64_t xid);

/*
 * merkle_exchange_recv - feed one message from the peer (buf, len: in,
 * not kept). An idle x becomes the responder of the OPEN it receives.
 * A message that does not decode, names another exchange or partition, or
 * does not fit the current state is rejected: counted in msgs_rejected,
 * nothing else changes, the code is returned (the peer is left to the
 * timeout). A peer that breaks the protocol mid-step (wrong geometry, keys
 * outside the asked segments, too many keys) aborts the exchange; the
 * code is returned and ready says so. Returns 0 when the message was
 * taken.
 */
int merkle_exchange_recv(merkle_exchange_t *x, uint64_t now_ms, const void *buf,
                         size_t len);

/*
 * merkle_exchange_tick - let time pass: an exchange that waits for its peer
 * past its deadline aborts with SH_ERANGE (timed out) and queues a DONE
 * telling the peer. Returns 0 (or SH_ERANGE when it aborted now).
 */
int merkle_exchange_tick(merkle_exchange_t *x, uint64_t now_ms);

/*
 * merkle_exchange_wants - 1 if x currently collects local keys and the key
 * with this key_hash (merkle_key_hash) is in a wanted segment: lets the
 * caller skip reading objects it would not feed.
 */
int merkle_exchange_wants(const merkle_exchange_t *x, uint64_t key_hash);

/*
 * merkle_exchange_key - feed one local key (bucket, key, object hash; in,
 * copied) while x collects keys. Keys of segments not wanted, or of other
 * partitions, are ignored (return 0). Feeding a key twice is the caller's
 * bug (it may be reported as a difference). Errors: SH_EINVAL (x is not
 * collecting keys), SH_ETOOBIG (bucket or key too long: the key is
 * skipped), SH_ENOMEM; more than keys_per_step_max keys aborts x with
 * SH_ETOOBIG.
 */
int merkle_exchange_key(merkle_exchange_t *x, const void *bucket, size_t blen,
                        const void *key, size_t klen, uint64_t obj_hash);

/*
 * merkle_exchange_keys_end - every local key of the wanted segments was
 * fed. The responder then queues its KEYS messages; the initiator compares
 * once the peer's keys are in too. Errors: SH_EINVAL (not collecting).
 */
int merkle_exchange_keys_end(merkle_exchange_t *x, uint64_t now_ms);

/*
 * merkle_exchange_ready - what x has for the caller (out, read-only,
 * pointers valid until merkle_exchange_advance or any other call on x):
 * messages to send, a request for local keys, keys to repair, the state
 * and the next deadline. Call it after every input. Changes nothing but
 * the pointers it hands out.
 */
void merkle_exchange_ready(merkle_exchange_t *x, merkle_ready_t *out);

/*
 * merkle_exchange_advance - the caller has taken everything ready handed
 * out: forget the messages, the key request and the repairs.
 */
void merkle_exchange_advance(merkle_exchange_t *x);

/* merkle_exchange_stats - x's counters (read-only, owned by x). */
const merkle_xstats_t *merkle_exchange_stats(const merkle_exchange_t *x);

/*
 * merkle_stats_add - add an ended exchange (DONE or ABORTED) to totals
 * (in/out): one started, one completed or aborted, and its counters. Call
 * once per exchange.
 */
void merkle_stats_add(merkle_stats_t *s, const merkle_exchange_t *x);

#endif /* SHOAL_MERKLE_H */
