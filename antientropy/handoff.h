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

#endif /* SHOAL_ANTIENTROPY_HANDOFF_H */
