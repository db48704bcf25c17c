/*
 * handoff.h - ownership handoff (DESIGN.md section 8, ALGORITHMS.md
 * section 7), and the pieces it shares with hinted handoff (hint.h): the
 * throttle (a token bucket), the internode wire format of both, and the
 * tombstone reaping rule. This header is their manual.
 *
 * Everything here is a pure state machine or a pure function: no IO, no
 * clock, no libuv, no LMDB. Time is the caller's now_ms (any monotonic
 * millisecond clock); storage is reached by the caller, which is asked
 * for scans and drops through the outputs and feeds the results back
 * (the pull style of node/coord.h).
 *
 * OWNERSHIP HANDOFF. When the ring changes (a member joins or leaves), the
 * node calls handoff_ring_changed(h, now_ms, old, new). For every
 * partition p, let removed = old owners of p not among the new ones, and
 * added = new owners not among the old ones (owners = the first n ranks),
 * both in ranking order. The i-th removed owner streams p to the i-th added
 * one; added owners left without a partner get p from the old ring's
 * primary. This node plans the moves where it is the sender. (The ring
 * displaces exactly the owners a joiner replaces, so the pairs are the
 * real "old owner -> new owner" moves.)
 *
 * A move (partition, to) streams p's objects in key order: the machine
 * asks for a scan of at most batch_keys_max objects after its cursor
 * (handoff_ready -> scans), the caller runs store_scan_partition and
 * feeds each entry (handoff_feed) and the end (handoff_scan_end); the
 * machine encodes a batch (at most batch_keys_max objects and about
 * batch_bytes_max record bytes), waits for the token bucket, sends it
 * (ready -> msgs), and waits for its ack. The cursor moves to the batch's
 * last key only when the ack arrives; a batch not acked within
 * ack_timeout_ms is sent again (the receiver joins objects, so a
 * duplicate is harmless). A receiver reported down (handoff_peer) pauses
 * its moves; when it is up again they resume from their cursors. At most
 * active_max moves stream at once; the others wait, queued.
 *
 * WRITES DURING A MOVE. Requests are served throughout: the machine never
 * blocks anything. Two mechanisms keep writes made during a move:
 *   1. The ring has already changed: every coordinator that has seen the
 *      change sends new writes of p to the new owner directly (it is on
 *      the preference list).
 *   2. For writes coordinated under an older view (and so sent only to the
 *      old owners), the node calls handoff_note_write(h, p) for every
 *      object it stores in p. A move that saw writes during a pass makes
 *      another pass from the start of p once the pass is acked (a catch-up
 *      pass), up to passes_max passes in all; after the last one,
 *      anti-entropy repairs what remains (the other owners of p still hold
 *      those writes: a write is acknowledged by w replicas).
 *
 * DROP. After the last pass of the last move of p is acked, and only if
 * this node is not among p's owners in the ring last given (checked at
 * that moment, and again before every step), the machine asks the caller
 * to drop p (ready -> drops: "store_drop_partition(p, limit)" in a batch)
 * and the caller reports each step with handoff_drop_step until a step
 * deletes fewer than limit. A ring change that makes this node an owner
 * of p again stops the drop.
 * Caveat for the node: store_drop_partition drops every object of p,
 * also objects this node keeps as a fallback for hints (hints of p for a
 * third node); those hints then replay as "object missing" and are
 * deleted, leaving that primary to anti-entropy. Replay hints of p (or
 * skip the drop while hints of p exist) if that matters.
 *
 * GRACEFUL LEAVE. handoff_leave(h, now_ms, current, without_self) plans
 * the moves of every partition this node owns in current to the owners in
 * without_self (the ring of the other members; when a partition gains no
 * new owner, its primary there receives it, so nothing held only here is
 * lost). handoff_ready then reports leave_done = 1 once every move is done
 * and every drop finished: the node may announce its leave and exit.
 *
 * RECEIVER. Receiving needs no state: decode a HANDOFF_BATCH with
 * handoff_wire_decode, join every object into the local store (in one
 * store batch), commit, then answer handoff_wire_ack(HANDOFF_WIRE_ACK, id,
 * status 0) -- or a negative SH_E code if the store failed, which makes
 * the sender retry after a pause.
 *
 * WIRE FORMAT (handoff_wire.c). One msgpack array per message, the body of
 * one internode frame; the first items are the wire version (uint, 1) and
 * the type (uint). Types 32..35 (node/coord's messages use 1..6, so one
 * frame stream carries both; handoff_wire_type routes a frame):
 *
 *   32 HINT_BATCH     [1, 32, id: uint, primary: bin, [[okey: bin,
 *                      record: bin], ...]]
 *   33 HINT_ACK       [1, 33, id: uint, status: int]
 *   34 HANDOFF_BATCH  [1, 34, id: uint, partition: uint, final: bool,
 *                      [[okey: bin, record: bin], ...]]
 *   35 HANDOFF_ACK    [1, 35, id: uint, status: int]
 *
 * okey is an object key of node/store.h's layout (partition, bucket, 0,
 * key; 4..HANDOFF_OKEY_BYTES_MAX bytes); record is the stored record
 * (node/coord.h: kind byte + object), 1..record_bytes_max bytes. primary
 * is the node the hints were written for (1..HANDOFF_NAME_MAX bytes): the
 * receiver itself, or the primary that left when the batch was handed to
 * a key's new owner. final is 1 on a move's last batch of a pass. At most
 * HANDOFF_WIRE_ENTRIES_MAX pairs; status is 0 (stored) or a negative SH_E
 * code. The decoder checks every type, length, count and range, rejects
 * trailing bytes, does not allocate, and never asserts on its input.
 *
 * MEMORY. The caller allocates handoff_t and calls handoff_init /
 * handoff_free. The machine owns everything else; inputs are borrowed for
 * the call. Outputs of handoff_ready stay valid until handoff_advance; a
 * scan's `after` bytes stay valid until its handoff_scan_end. Between
 * handoff_ready and handoff_advance only read the outputs (asserted).
 *
 * ERRORS are the negative SH_E... codes of common/sh_err.h.
 */
#ifndef SHOAL_ANTIENTROPY_HANDOFF_H
#define SHOAL_ANTIENTROPY_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "ring/ring.h"

/* Longest node name (a hint's primary: node/store.h's limit). */
#define HANDOFF_NAME_MAX 255
/* Longest object key: node/store.h STORE_OBJ_KEY_BYTES_MAX. */
#define HANDOFF_OKEY_BYTES_MAX (2 + 1024 + 1 + 1024)
/* Longest scanned key (a hint key): node/store.h STORE_RAW_KEY_BYTES_MAX. */
#define HANDOFF_KEY_BYTES_MAX (1 + HANDOFF_NAME_MAX + HANDOFF_OKEY_BYTES_MAX)
/* Most [okey, record] pairs in one batch message. */
#define HANDOFF_WIRE_ENTRIES_MAX 1024
/* The wire version. */
#define HANDOFF_WIRE_VERSION 1
/* handoff_feed / hint_feed: the batch is full, the entry was not taken. */
#define HANDOFF_FULL 1
/* No deadline: ready's next_deadline_ms. */
#define HANDOFF_NO_DEADLINE UINT64_MAX

/* Message types (see WIRE FORMAT above). */
typedef enum handoff_wire_type {
	HANDOFF_WIRE_HINT_BATCH = 32,
	HANDOFF_WIRE_HINT_ACK = 33,
	HANDOFF_WIRE_BATCH = 34,
	HANDOFF_WIRE_ACK = 35,
} handoff_wire_type_t;

/* ---- the throttle: a token bucket over now_ms ---- */

/*
 * Tokens are bytes. The bucket refills at bytes_per_s and holds at most
 * burst_bytes, so over any window of T ms at most burst_bytes +
 * bytes_per_s * T / 1000 bytes are taken (plus, once, the part of a single
 * message larger than burst_bytes, which is allowed when the bucket is
 * full and leaves it in debt). One bucket may be shared by the hint and
 * the handoff machines (the node's --handoff-bytes-per-s).
 */
typedef struct handoff_bucket {
	uint64_t bytes_per_s; /* 0: unlimited */
	uint64_t burst_bytes;
	int64_t tokens_mb; /* milli-bytes; may be negative (debt) */
	uint64_t last_ms;
	int started; /* last_ms is set */
} handoff_bucket_t;

/*
 * handoff_bucket_init - make *b (out) a full bucket refilling at
 * bytes_per_s (0 = no limit) and holding burst_bytes (0 = the default:
 * bytes_per_s, at least 64 KiB).
 */
void handoff_bucket_init(handoff_bucket_t *b, uint64_t bytes_per_s,
                         uint64_t burst_bytes);

/*
 * handoff_bucket_take - at now_ms, take `bytes` if the bucket holds
 * min(bytes, burst_bytes) tokens. Returns 1 if taken, 0 if not (nothing
 * changes but the refill).
 */
int handoff_bucket_take(handoff_bucket_t *b, uint64_t now_ms, uint64_t bytes);

/*
 * handoff_bucket_when - the earliest time >= now_ms at which `bytes` can
 * be taken (now_ms if now).
 */
uint64_t handoff_bucket_when(const handoff_bucket_t *b, uint64_t now_ms,
                             uint64_t bytes);

/* ---- record hash ---- */

/*
 * handoff_record_hash - xxh3_64 of a stored record's bytes. Hint deletes
 * (hint.h) carry the hash of the record that was sent, so the caller can
 * tell whether the object changed after it was read.
 */
uint64_t handoff_record_hash(const uint8_t *record, size_t len);

/* ---- wire ---- */

typedef struct handoff_wire_entry {
	const uint8_t *okey; /* points into the message */
	size_t okey_len;
	const uint8_t *record; /* points into the message */
	size_t record_len;
} handoff_wire_entry_t;

/*
 * A decoded message. Pointers point into the decoded bytes and live as
 * long as they do. About 32 KiB: allocate one and reuse it.
 */
typedef struct handoff_wire_msg {
	handoff_wire_type_t type;
	uint64_t id;
	int status;             /* acks */
	const uint8_t *primary; /* HINT_BATCH */
	size_t primary_len;
	uint32_t partition; /* HANDOFF_BATCH */
	int final;          /* HANDOFF_BATCH */
	size_t count;       /* batches: entries */
	handoff_wire_entry_t entries[HANDOFF_WIRE_ENTRIES_MAX];
} handoff_wire_msg_t;

/*
 * handoff_wire_type - the type of the message data[0..len) (in), read
 * from its first items only, to route a frame: one of handoff_wire_type_t
 * (> 0), 0 for a message that is not one of them (e.g. a coord message:
 * the array head, version and type read fine but the type is another), or
 * SH_ETRUNC / SH_EMALFORMED / SH_EVERSION when the head does not decode.
 */
int handoff_wire_type(const uint8_t *data, size_t len);

/*
 * handoff_wire_decode - decode and validate data[0..len) (in, borrowed)
 * into *out (out). record_bytes_max (> 0) bounds each record.
 * Errors: SH_ETRUNC (ends early), SH_EMALFORMED (wrong types, arity,
 * trailing bytes, empty keys or records), SH_EVERSION, SH_ETYPE (unknown
 * message type), SH_ETOOBIG (a length or count over its limit), SH_ERANGE
 * (status positive or below INT32_MIN, partition over 65535). *out is
 * undefined on error.
 */
int handoff_wire_decode(const uint8_t *data, size_t len,
                        size_t record_bytes_max, handoff_wire_msg_t *out);

/*
 * handoff_wire_ack - append to out (in/out) the ack `type`
 * (HANDOFF_WIRE_HINT_ACK or HANDOFF_WIRE_ACK) of batch id with status (0
 * or a negative SH_E code). Returns 0, SH_EINVAL (other type, positive
 * status) or SH_ENOMEM.
 */
int handoff_wire_ack(sh_buf_t *out, handoff_wire_type_t type, uint64_t id,
                     int status);

/* ---- ownership handoff: the machine ---- */

#define HANDOFF_BATCH_KEYS_DEFAULT     256
#define HANDOFF_BATCH_BYTES_DEFAULT    ((size_t)1 << 20)
#define HANDOFF_ACK_TIMEOUT_MS_DEFAULT 10000
#define HANDOFF_MOVES_DEFAULT          1024
#define HANDOFF_MOVES_MAX              (1u << 20)
#define HANDOFF_ACTIVE_DEFAULT         2
#define HANDOFF_DROP_KEYS_DEFAULT      512
#define HANDOFF_PASSES_DEFAULT         2

typedef struct handoff_config {
	const char *self;         /* this node's member name; copied */
	size_t batch_keys_max;    /* objects per batch: 256 (1..1024) */
	size_t batch_bytes_max;   /* record bytes per batch: 1 MiB */
	uint64_t ack_timeout_ms;  /* resend after: 10 s */
	size_t moves_max;         /* moves planned at once: 1024 */
	size_t active_max;        /* moves streaming at once: 2 */
	size_t drop_keys_max;     /* limit of one drop step: 512 */
	uint32_t passes_max;      /* passes per move (catch-up): 2 (>= 1) */
	uint64_t bytes_per_s;     /* own bucket when bucket is NULL; 0 = no
	                           * limit */
	handoff_bucket_t *bucket; /* borrowed, may be shared with hint_t */
	uint64_t id_base;         /* first batch id (differ between runs) */
} handoff_config_t;

/* A move's state, for handoff_transfers. */
typedef enum handoff_move_state {
	HANDOFF_MOVE_QUEUED = 0, /* waiting for a free slot */
	HANDOFF_MOVE_SENDING,    /* scanning, throttled or batch in flight */
	HANDOFF_MOVE_RETRYING,   /* after a failed batch, until a deadline */
	HANDOFF_MOVE_PAUSED,     /* the receiver is down */
	HANDOFF_MOVE_DONE,       /* acked; other moves of p still running */
	HANDOFF_MOVE_DROPPING,   /* all moves of p done: dropping p here */
} handoff_move_state_t;

/* One move as listed by handoff_transfers (`shoalctl transfers`). */
typedef struct handoff_transfer {
	uint32_t partition;
	const char *from; /* this node; valid until h changes */
	const char *to;   /* valid until h changes */
	handoff_move_state_t state;
	uint32_t pass;       /* 1 = first pass, 2 = catch-up pass ... */
	uint64_t keys_sent;  /* objects acknowledged */
	uint64_t bytes_sent; /* message bytes sent (retries included) */
} handoff_transfer_t;

typedef struct handoff_stats {
	uint64_t moves_planned;
	uint64_t moves_done;
	uint64_t moves_cancelled; /* receiver no longer an owner */
	uint64_t keys_sent;
	uint64_t bytes_sent;
	uint64_t batches;
	uint64_t failed; /* batches timed out or acked with an error */
	uint64_t passes; /* catch-up passes started */
	uint64_t partitions_dropped;
	uint64_t stale_acks; /* acks for no batch in flight */
	uint64_t rejected;   /* messages handoff_recv could not decode */
	uint64_t moves_full; /* moves refused: moves_max reached */
} handoff_stats_t;

/* A scan the caller must run: store_scan_partition(partition, after). */
typedef struct handoff_scan {
	uint64_t move; /* pass to handoff_feed / handoff_scan_end */
	uint32_t partition;
	const uint8_t *after; /* object key to start after; after_len 0: the
	                       * start of the partition */
	size_t after_len;
	size_t limit; /* most entries to feed */
} handoff_scan_t;

typedef struct handoff_msg {
	const char *to;
	const uint8_t *data;
	size_t len;
} handoff_msg_t;

/* "store_drop_partition(partition, limit)" in the open store batch, then
 * handoff_drop_step with the count deleted. */
typedef struct handoff_drop {
	uint32_t partition;
	size_t limit;
} handoff_drop_t;

typedef struct handoff_ready {
	const handoff_scan_t *scans;
	size_t scan_count;
	const handoff_msg_t *msgs;
	size_t msg_count;
	const handoff_drop_t *drops; /* at most one per ready */
	size_t drop_count;
	int leave_done; /* handoff_leave was called and everything is handed
	                 * off and dropped: announce the leave, exit */
	uint64_t next_deadline_ms; /* HANDOFF_NO_DEADLINE: none */
} handoff_ready_t;

struct handoff_move;

typedef struct handoff {
	handoff_config_t cfg;
	char self[HANDOFF_NAME_MAX + 1];
	handoff_bucket_t own_bucket;
	handoff_bucket_t *bucket;
	struct handoff_move *moves;
	size_t move_count;
	uint8_t *owned;    /* per partition: this node is an owner */
	uint8_t *dropping; /* per partition: drop in progress */
	/* partitions with dropping set: handoff_ready, called every loop
	 * turn, skips the walk over all partitions when there are none */
	uint32_t dropping_count;
	uint32_t partitions; /* 0 until a ring was given */
	uint32_t drop_next;  /* round robin over dropping partitions */
	int leaving;
	uint64_t next_id, next_move;
	uint64_t now_ms;
	int in_ready;
	handoff_stats_t stats;
	handoff_scan_t *scans; /* active_max */
	handoff_msg_t *msgs;   /* active_max */
	handoff_drop_t drop;
	size_t scan_count, msg_count, drop_count;
} handoff_t;

/* handoff_config_default - fill *cfg (out) with the defaults (self NULL). */
void handoff_config_default(handoff_config_t *cfg);

/*
 * handoff_init - make *h (out) a machine with no moves and no ring.
 * cfg (in) is copied; cfg->bucket is borrowed. Returns 0, SH_EINVAL (no
 * self, a limit out of range), SH_ENOMEM. On error nothing needs freeing.
 */
int handoff_init(handoff_t *h, const handoff_config_t *cfg);

/* handoff_free - release everything h owns. */
void handoff_free(handoff_t *h);

/*
 * handoff_ring_changed - the ring went from old to new (both in, borrowed
 * for the call; old NULL: the first ring, nothing moves). Plans the moves
 * this node sends (see OWNERSHIP HANDOFF), cancels moves whose receiver is
 * no longer an owner of their partition, remembers which partitions this
 * node owns in new (for the drop check) and stops drops of partitions it
 * owns again. Returns 0, SH_EINVAL (partition counts differ from each
 * other or from an earlier ring), SH_EFULL (moves_max reached: the moves
 * that fit are planned, the rest counted in stats.moves_full: call again
 * with the same rings later), SH_ENOMEM.
 */
int handoff_ring_changed(handoff_t *h, uint64_t now_ms, const ring_t *old,
                         const ring_t *new_ring);

/*
 * handoff_leave - graceful leave: plan moves of every partition this node
 * owns in current (in) to the owners in without_self (in: the ring of the
 * other members), and report leave_done when all are handed off and
 * dropped. Errors as handoff_ring_changed; SH_ENOTFOUND when without_self
 * has no members (nobody to hand off to).
 */
int handoff_leave(handoff_t *h, uint64_t now_ms, const ring_t *current,
                  const ring_t *without_self);

/*
 * handoff_add - plan one move: stream partition to `to` (in). For
 * partitions this node holds but the ring gave no move for (e.g. found at
 * start-up). Returns 0, SH_EEXIST (already planned), SH_EINVAL (bad name,
 * to is self, partition out of range of the ring), SH_EFULL, SH_ENOMEM.
 */
int handoff_add(handoff_t *h, uint64_t now_ms, uint32_t partition,
                const char *to);

/*
 * handoff_peer - SWIM says node `name` (in) is up (1) or down (0). Moves
 * to a down node pause (their batch in flight is forgotten) and resume
 * from their cursors when it is up. Unknown names are ignored.
 */
void handoff_peer(handoff_t *h, uint64_t now_ms, const char *name, int up);

/*
 * handoff_note_write - an object of partition was stored here (any local
 * write: coordinated, replicated, repaired). Marks its running moves for a
 * catch-up pass (see WRITES DURING A MOVE). Cheap: call it on every write.
 */
void handoff_note_write(handoff_t *h, uint32_t partition);

/*
 * handoff_feed - one object of the scan reported for move (in, from
 * handoff_scan_t.move): its object key and stored record (both borrowed,
 * record non-empty). Returns 0 (taken), HANDOFF_FULL (not taken: end the
 * scan here), SH_EINVAL (no scan running for move -- also when the move
 * was cancelled by a ring change meanwhile: end the scan and drop it --
 * or bad lengths), SH_ENOMEM.
 */
int handoff_feed(handoff_t *h, uint64_t move, const uint8_t *okey,
                 size_t okey_len, const uint8_t *record, size_t record_len);

/*
 * handoff_scan_end - the scan for move is over: done (in) = the store
 * cursor reached the end of the partition; err (in) = 0 or the store's
 * error (the move retries after ack_timeout_ms). Returns 0 or SH_EINVAL
 * (no scan running for move).
 */
int handoff_scan_end(handoff_t *h, uint64_t now_ms, uint64_t move, int done,
                     int err);

/*
 * handoff_ack - from (in) acknowledged batch id with status (0 stored,
 * else an SH_E code: the move retries after ack_timeout_ms). Returns 0 or
 * SH_ENOTFOUND (no such batch in flight to from: counted, harmless).
 */
int handoff_ack(handoff_t *h, uint64_t now_ms, const char *from, uint64_t id,
                int status);

/*
 * handoff_recv - a HANDOFF_ACK message data[0..len) (in) from `from`:
 * decodes it and calls handoff_ack. Returns 0, the decoder's error
 * (counted in stats.rejected), or handoff_ack's.
 */
int handoff_recv(handoff_t *h, uint64_t now_ms, const char *from,
                 const uint8_t *data, size_t len);

/*
 * handoff_drop_step - the caller ran the drop of ready -> drops for
 * partition and it deleted `deleted` keys; fewer than the limit means the
 * partition is empty and the drop is over. Returns 0 or SH_EINVAL (no
 * drop in progress for partition).
 */
int handoff_drop_step(handoff_t *h, uint64_t now_ms, uint32_t partition,
                      size_t deleted);

/* handoff_tick - the time is now_ms: send throttled batches, retry. */
void handoff_tick(handoff_t *h, uint64_t now_ms);

/* handoff_ready - the outputs (valid until handoff_advance). */
void handoff_ready(handoff_t *h, handoff_ready_t *out);

/* handoff_advance - the caller acted on the outputs of handoff_ready. */
void handoff_advance(handoff_t *h);

/*
 * handoff_transfers - fill out[0..cap) (out) with the moves; returns how
 * many there are (may exceed cap).
 */
size_t handoff_transfers(const handoff_t *h, handoff_transfer_t *out,
                         size_t cap);

/* handoff_stats - the totals. */
void handoff_stats(const handoff_t *h, handoff_stats_t *out);

/* ---- tombstone reaping (DESIGN.md section 8, issue 5 "Deletes") ---- */

/*
 * A tombstone (an object whose siblings are all tombstones) may be reaped
 * -- deleted from the store for good -- only when BOTH hold:
 *   1. every replica of the key (its n owners in the current ring, not
 *      fallbacks) has acknowledged storing the tombstone, and
 *   2. the grace period has passed since the tombstone was written:
 *      now_ms >= written_ms + grace_s * 1000.
 * Until then it replicates, repairs and hands off like any object, so a
 * replica that missed the delete gets the tombstone (which supersedes the
 * value causally) instead of giving the value back. Both times are wall
 * clock milliseconds (they survive restarts; a skewed clock only shortens
 * or lengthens the grace, condition 1 still holds). A replica that was
 * not in the set (the ring changed) has not acknowledged: the tombstone
 * waits for it. A write over the key (a newer sibling) ends the tombstone
 * state: start a new record for a later delete.
 *
 * Bookkeeping per tombstone: written_ms and the set of replicas that
 * acknowledged it (xxh3 of their names, at most RING_N_MAX; the
 * coordinator adds itself and each replica whose WRITE_ACK arrived, and a
 * replica adds the sender of any copy it received that carried the
 * tombstone). 144 bytes; the node keeps it where it likes (e.g. in the
 * meta keyspace), this module only defines the rule.
 */
#define HANDOFF_TOMBSTONE_GRACE_S_DEFAULT 3600

typedef struct handoff_tomb {
	uint64_t written_ms;
	uint32_t acked_count;
	uint64_t acked[RING_N_MAX]; /* xxh3_64 of the names, distinct */
} handoff_tomb_t;

/* handoff_tomb_init - a tombstone written at written_ms, acked by none. */
void handoff_tomb_init(handoff_tomb_t *t, uint64_t written_ms);

/*
 * handoff_tomb_ack - replica `name` (in) acknowledged the tombstone.
 * Returns 0 (recorded, or already recorded), SH_EINVAL (empty or NULL
 * name), SH_EFULL (RING_N_MAX replicas recorded already: the name is not
 * recorded, so a replica set that needs it keeps the tombstone: safe).
 */
int handoff_tomb_ack(handoff_tomb_t *t, const char *name);

/* handoff_tomb_acked - 1 if `name` acknowledged t, else 0. */
int handoff_tomb_acked(const handoff_tomb_t *t, const char *name);

/*
 * handoff_tomb_reapable - the rule above: 1 if t may be reaped at now_ms,
 * with replicas[0..count) (in) the key's current replicas and grace_s the
 * grace period (--tombstone-grace-s); else 0. count 0 gives 0 (who the
 * replicas are is unknown: keep it). Overflow of written_ms + grace
 * gives 0.
 */
int handoff_tomb_reapable(const handoff_tomb_t *t, const char *const *replicas,
                          size_t count, uint64_t now_ms, uint64_t grace_s);

#endif /* SHOAL_ANTIENTROPY_HANDOFF_H */
