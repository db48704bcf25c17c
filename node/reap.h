/*
 * reap.h - the tombstone reaper: a pure state machine that removes deleted
 * keys for good once it is safe (DESIGN.md section 8, ALGORITHMS.md
 * section 7, issue 5 "Deletes"; the choices are argued in docs/deletes.md).
 * This header is its manual.
 *
 * THE RULE. A key whose object is a tombstone (a kv object whose siblings
 * are all tombstones: dvv_is_deleted) is reaped, that is deleted from the
 * objects keyspace of every primary, only when all of these hold:
 *   1. the grace period has passed since the delete: wall_ms is at least
 *      grace_ms past the newest sibling's timestamp (the delete's
 *      coordinator's wall clock);
 *   2. every one of the key's n primaries (the first n owners of its
 *      partition, n the server's replication factor) is up and answers an
 *      internal read with a tombstone of the same object hash as this
 *      node's: every replica has the delete, and nothing newer. Once the
 *      tombstone is twice the grace old, a primary with no copy at all
 *      also agrees (it has nothing the tombstone must cancel; before
 *      that it may be a replica still being filled): this reaps a
 *      tombstone that a read repair or an exchange racing a reap copied
 *      back to one replica after the others dropped theirs;
 *   3. no primary (this node included) holds a hint for the key: no
 *      hinted write of it is still on its way to a primary;
 *   4. at each primary, at the moment it deletes, its own copy is still
 *      that tombstone (same hash) and it holds no hint for the key: a
 *      write that arrived in between keeps the key (it is newer, or
 *      concurrent, and replicates as usual).
 * Condition 2 is the "every replica acknowledged it" of issue 5, checked
 * by reading the replicas themselves (as Riak's get FSM does before it
 * reaps) instead of keeping per-tombstone acknowledgement records. A
 * replica that was down when the key was deleted still holds the old
 * value, so the check fails until hinted handoff or anti-entropy gave it
 * the tombstone: neither can then bring the value back, because every
 * copy they could send is the tombstone. Clock skew between nodes only
 * moves the moment of reaping; the checks, not the grace, make it safe.
 * The grace is a margin for what the checks cannot see: a fallback outside
 * the primaries that still holds an old copy and a hint for it.
 *
 * WHO REAPS. Each node walks its own objects keyspace, one partition
 * after another, at most scan_keys_max entries and about
 * REAP_TICK_BYTES_MAX record bytes per reap_tick, and drives
 * the keys it is the first primary of (entries[0] of the preference list).
 * The other primaries drive a tombstone only once it is twice the grace
 * old, so a key whose first primary could not finish (a lost message) is
 * still reaped, without every replica doing the same work every pass. A
 * pass that ends waits pass_interval_ms before the next one starts.
 *
 * THE EXCHANGE (per key, at most inflight_max at once):
 *   driver -> each other primary   REAP_CHECK (object key)
 *   primary -> driver              REAP_STATE (its copy: absent / present,
 *                                  tombstone, object hash, hinted)
 *   when every answer matches (condition 2 and 3): the driver deletes its
 *   own copy if still unchanged, and sends REAP_DELETE (object key, hash)
 *   to each other primary, which deletes its own copy only if it is still
 *   that tombstone and no hint names the key (condition 4). Any answer
 *   that does not match, or check_timeout_ms without every answer, drops
 *   the key until the next pass. Deletes go through store_del on the
 *   store the machine was given (the node passes its store tap, so the
 *   anti-entropy trees see every reap like any other write).
 *
 * WIRE. Message bodies ride internode frames of the coordinator's kind
 * (node.h; reap_wire_type tells them apart, as handoff_wire_type does for
 * hints). One msgpack array each, [version = 1, type, ...]:
 *   40 REAP_CHECK   [1, 40, id: uint, okey: bin]
 *   41 REAP_STATE   [1, 41, id: uint, status: int, tombstone: bool,
 *                    hash: uint, hinted: bool]
 *        status 0: present (tombstone, hash as stored); SH_ENOTFOUND: no
 *        copy; another SH_E code: it could not read.
 *   42 REAP_DELETE  [1, 42, okey: bin, hash: uint]
 * okey is an object key of node/store.h's layout. reap_recv checks every
 * type, length and range, rejects trailing bytes and never asserts on its
 * input.
 *
 * DRIVING IT (one thread), like the coordinator:
 *   store batch open (asserted by reap_tick and reap_recv: they may delete)
 *   reap_recv(r, now_ms, from, bytes, len) for each message;
 *   reap_tick(r, now_ms, wall_ms);
 *   commit the batch; then reap_ready(r, &out): send out.msgs[i]; arm a
 *   timer for out.next_deadline_ms; reap_advance(r).
 * A REAP_STATE or REAP_DELETE leaves only after the batch that held the
 * reads and deletes behind it has committed, as every output here.
 *
 * MEMORY. The caller allocates reap_t; reap_init / reap_free. The machine
 * borrows the coordinator (its ring and membership view) and the store;
 * both must outlive it. Outputs stay valid until reap_advance. Errors are
 * negative SH_E... codes.
 */
#ifndef SHOAL_NODE_REAP_H
#define SHOAL_NODE_REAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "node/coord.h"
#include "node/store.h"

#define REAP_GRACE_S_DEFAULT          3600
#define REAP_PASS_INTERVAL_MS_DEFAULT 60000
#define REAP_SCAN_KEYS_DEFAULT        512
#define REAP_INFLIGHT_DEFAULT         64
#define REAP_INFLIGHT_MAX             4096
#define REAP_CHECK_TIMEOUT_MS_DEFAULT 5000
#define REAP_NO_DEADLINE              UINT64_MAX
/* Records longer than this are not decoded: a tombstone carries no value
 * bytes, so such a record is a live object. */
#define REAP_RECORD_BYTES_MAX ((size_t)64 << 10)
/* A tick stops reading once it decoded this many record bytes. */
#define REAP_TICK_BYTES_MAX ((size_t)1 << 20)
#define REAP_WIRE_VERSION   1

/* Message types (see WIRE). */
typedef enum reap_msg_type {
	REAP_MSG_CHECK = 40,
	REAP_MSG_STATE = 41,
	REAP_MSG_DELETE = 42,
} reap_msg_type_t;

typedef struct reap_config {
	const char *self;          /* this node's member name (copied) */
	uint32_t n;                /* replication factor: the primaries */
	uint64_t grace_ms;         /* --tombstone-grace-s x 1000 */
	uint64_t pass_interval_ms; /* rest between passes: 60 s */
	size_t scan_keys_max;      /* entries read per tick: 512 */
	size_t inflight_max;       /* keys being checked at once: 64 */
	uint64_t check_timeout_ms; /* answers awaited: 5 s */
} reap_config_t;

typedef struct reap_stats {
	uint64_t passes;         /* passes over the store completed */
	uint64_t scanned;        /* entries looked at */
	uint64_t tombstones;     /* of them, tombstones */
	uint64_t young;          /* tombstones within the grace period */
	uint64_t checks;         /* keys checked with the other primaries */
	uint64_t kept;           /* checks that found a replica not ready:
	                          * different, absent, hinted, down */
	uint64_t timeouts;       /* checks without every answer in time */
	uint64_t reaped;         /* tombstones deleted from this node */
	uint64_t delete_skipped; /* REAP_DELETEs refused: copy changed */
	uint64_t rejected;       /* messages that did not decode */
	uint64_t errors;         /* store reads or deletes that failed */
} reap_stats_t;

/* One message to send. */
typedef struct reap_msg {
	const char *to; /* member name */
	const uint8_t *data;
	size_t len;
} reap_msg_t;

typedef struct reap_ready {
	const reap_msg_t *msgs;
	size_t msg_count;
	uint64_t next_deadline_ms; /* REAP_NO_DEADLINE: none */
} reap_ready_t;

struct reap__cand;

/* The reaper. Allocated by the caller; every field is private. */
typedef struct reap {
	reap_config_t cfg;
	char self[COORD_NAME_MAX + 1];
	coord_t *coord; /* borrowed */
	store_t *store; /* borrowed */
	/* the pass: partition and cursor */
	int passing;
	uint32_t partition;
	store_cursor_t cursor;
	uint64_t next_pass_ms;
	/* keys being checked */
	struct reap__cand *cands; /* inflight_max slots */
	size_t cand_count;
	uint64_t next_id;
	/* outputs */
	reap_msg_t *msgs;
	sh_buf_t *bufs;
	char (*to)[COORD_NAME_MAX + 1];
	size_t msg_count, msg_cap;
	reap_stats_t stats;
} reap_t;

/* reap_config_default - the defaults above; self NULL, n 3. */
void reap_config_default(reap_config_t *cfg);

/*
 * reap_init - make *r (out) a reaper over coordinator c and store s (both
 * borrowed). The first pass starts at the first reap_tick. Returns 0;
 * SH_EINVAL (self empty or too long, n not in 1..COORD_N_MAX,
 * scan_keys_max 0, inflight_max not in 1..REAP_INFLIGHT_MAX,
 * check_timeout_ms 0); SH_ENOMEM.
 */
int reap_init(reap_t *r, const reap_config_t *cfg, coord_t *c, store_t *s);

/* reap_free - release what r owns (checks in flight are dropped). */
void reap_free(reap_t *r);

/*
 * reap_tick - the time is now_ms (monotonic) and wall_ms (ms since the
 * Unix epoch, for the grace period): drop checks past their deadline, then
 * read up to scan_keys_max entries of the pass and start checks for the
 * tombstones found (as many as free slots allow; the pass waits for free
 * slots rather than skip keys). A store batch must be open.
 */
void reap_tick(reap_t *r, uint64_t now_ms, uint64_t wall_ms);

/*
 * reap_recv - a message body data[0..len) (borrowed) from member `from`.
 * A store batch must be open. Returns 0, or the SH_E code it was rejected
 * with (counted in stats.rejected), or SH_ENOTFOUND for an answer to no
 * check in flight (late: normal).
 */
int reap_recv(reap_t *r, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len);

/* reap_ready - the messages to send and the next deadline (out). */
void reap_ready(reap_t *r, reap_ready_t *out);

/* reap_advance - drop the outputs (sent). */
void reap_advance(reap_t *r);

/* reap_stats - the counters (live). */
const reap_stats_t *reap_stats(const reap_t *r);

/*
 * reap_wire_type - the type of the message body p[0..len) if it is one of
 * the reaper's (40..42), else 0. Reads only the first items.
 */
int reap_wire_type(const uint8_t *p, size_t len);

#endif /* SHOAL_NODE_REAP_H */
