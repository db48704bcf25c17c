/*
 * xfer.h - the ownership handoff driver: antientropy/handoff.h's machine
 * wired to a store_t and a coord_t, with time as an input. Pure: no IO,
 * no clock, no libuv, no LMDB, so the node's shell (node/node_xfer.c) and
 * the simulator (shoal-sim cluster --join/--leave) run the same code.
 * This header is its manual.
 *
 * WHAT IT DOES. Every turn (xfer_turn) it reads the coordinator's ring
 * (coord_ring). A ring that differs from the last one planned and has
 * stayed unchanged for settle_ms is planned: handoff_ring_changed(last,
 * new), so a burst of gossip while a node joins gives one plan, not one
 * per intermediate view. The first settled ring is the baseline (nothing
 * moves): a node that starts does not mistake the cluster it discovers
 * for a change. Partitions it holds but does not own then (a move cut
 * short by a restart) are kept: dropping them would let this node reuse
 * its own dots should it coordinate those keys again (shoal-sim cluster
 * found acknowledged CRDT updates lost that way); anti-entropy brings
 * their owners up to date. Then it runs what the machine asks for:
 *   - scans: store_scan_partition after the move's cursor, each entry fed
 *     (handoff_feed), then handoff_scan_end;
 *   - messages (HANDOFF_BATCH): handed to cfg.send;
 *   - drops: store_drop_partition in the open store batch (opened with
 *     store_begin if none is: the caller commits it like any batch),
 *     then handoff_drop_step. A partition for which this node still
 *     stores hints (objects kept as a fallback for a third node) is not
 *     dropped: the drop is postponed by hold_ms and tried again, so those
 *     hints replay their objects first (handoff.h's caveat).
 * Writes: xfer_init adds a hook set to the store, which must be a store
 * tap (node/store_tap.h), whose put hook calls handoff_note_write for
 * every object stored (puts only: a delete makes no catch-up pass), so
 * moves under way make their catch-up pass; xfer_free removes it.
 *
 * RECEIVING. xfer_recv takes a HANDOFF_BATCH or HANDOFF_ACK frame body.
 * A batch is joined object by object (coord_join_record) into the open
 * store batch (the caller opens it first: without one the batch is acked
 * with an error and the sender retries); its ack is queued and handed to
 * cfg.send only by xfer_committed(x, 1) after that batch committed, so the
 * sender drops nothing that is not durable here. xfer_committed(x, 0) (the
 * commit failed) forgets the queued acks: the sender resends.
 *
 * GRACEFUL LEAVE. xfer_leave plans the moves of every partition this node
 * owns to the ring of the other members (handoff_leave). xfer_leave_done
 * says when all are handed off and dropped. The caller then announces the
 * leave (SWIM) and, once it has spread, calls xfer_sweep: every partition
 * that still holds objects (written by coordinators that had not yet seen
 * the leave, or kept for hints) is handed to its primary among the
 * others; xfer_leave_done again says when that is over. While leaving,
 * ring changes re-plan against the ring without this node.
 * xfer_leave_cancel abandons a leave (the caller's timeout): the machine
 * is reset to the current ring; what was dropped is refilled by repair.
 *
 * MEMORY. The caller allocates xfer_t, calls xfer_init / xfer_free. store
 * and coord are borrowed and must outlive x. cfg is copied (self too).
 * Outputs go through cfg.send during the calls that make them; the bytes
 * are valid for that call only.
 *
 * ERRORS are the negative SH_E... codes of common/sh_err.h.
 */
#ifndef SHOAL_NODE_XFER_H
#define SHOAL_NODE_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/handoff.h"
#include "common/sh_buf.h"
#include "node/coord.h"
#include "node/store.h"
#include "ring/ring.h"

#define XFER_SETTLE_MS_DEFAULT 1000
#define XFER_HOLD_MS_DEFAULT   1000
/* Most moves streaming at once (cfg.active_max). */
#define XFER_ACTIVE_MAX 16

/* cfg.send: one message (a frame body) for member `to`. */
typedef void (*xfer_send_fn)(void *arg, const char *to, const uint8_t *data,
                             size_t len);

typedef struct xfer_config {
	const char *self;         /* this node's member name; copied */
	xfer_send_fn send;        /* where messages go (required) */
	void *send_arg;           /* its first argument */
	uint64_t bytes_per_s;     /* own bucket when bucket is NULL; 0: none */
	handoff_bucket_t *bucket; /* borrowed, may be hint_t's; NULL: own */
	uint64_t id_base;         /* first batch id (differ between runs) */
	size_t record_bytes_max;  /* bound on one received record; 0:
	                           * STORE_VALUE_BYTES_MAX */
	uint64_t settle_ms;       /* a ring holds this long before it is
	                           * planned: 1000 */
	uint64_t hold_ms;         /* a drop postponed for hints waits: 1000 */
	size_t batch_keys_max;    /* 0: handoff's default (256) */
	uint64_t ack_timeout_ms;  /* 0: handoff's default (10 s) */
	size_t active_max;        /* moves streaming at once; 0: default (2),
	                           * at most XFER_ACTIVE_MAX */
} xfer_config_t;

/* Where a graceful leave is. */
typedef enum xfer_leave_phase {
	XFER_LEAVE_NONE = 0,
	XFER_LEAVE_HANDOFF, /* xfer_leave: handing every partition off */
	XFER_LEAVE_SWEEP,   /* xfer_sweep: handing off what came since */
} xfer_leave_phase_t;

typedef struct xfer_stats {
	uint64_t rings_planned;    /* ring changes handed to the machine */
	uint64_t batches_received; /* HANDOFF_BATCHes joined */
	uint64_t keys_received;    /* objects joined from them */
	uint64_t bytes_received;   /* their message bytes */
	uint64_t receive_errors;   /* batches refused or acked with an error */
	uint64_t bad_entries;      /* objects that did not join (damaged) */
	uint64_t keys_dropped;     /* objects deleted by drops */
	uint64_t drops_postponed;  /* drop attempts put off for hints */
	uint64_t acks_dropped;     /* acks forgotten: the commit failed */
} xfer_stats_t;

typedef struct xfer {
	xfer_config_t cfg;
	char self[HANDOFF_NAME_MAX + 1];
	store_t *store;
	coord_t *coord;
	handoff_t h;
	int h_open;
	ring_t planned; /* the last ring handed to the machine */
	int have_planned;
	ring_t cand; /* the coordinator's ring as last seen */
	int have_cand;
	uint64_t cand_since_ms;
	/* ring_copies counts replacements of planned or cand; the poll
	 * found the coordinator's ring at idle_gen planned already while
	 * idle_copies == ring_copies (idle_valid): xfer_turn, called every
	 * loop turn, then skips comparing the rings */
	uint64_t ring_copies, idle_gen, idle_copies;
	int idle_valid;
	uint64_t *hold_until; /* per partition: drop postponed until */
	uint32_t partitions;
	xfer_leave_phase_t leave;
	int leave_done; /* the last handoff_ready said so */
	uint64_t now_ms;
	handoff_wire_msg_t *msg; /* decoded batch, reused */
	sh_buf_t acks;           /* queued acks: to NUL, u32 len, bytes */
	sh_buf_t tmp;
	xfer_stats_t stats;
} xfer_t;

/* xfer_config_default - fill *cfg (out): defaults, self/send NULL. */
void xfer_config_default(xfer_config_t *cfg);

/*
 * xfer_init - make *x (out) a driver over store (a store tap) and coord
 * (borrowed) and add its hook set to the tap. Returns 0, SH_EINVAL (no
 * self or send, a limit handoff_init refuses, store not a tap), SH_ENOMEM,
 * SH_ETOOBIG (the tap's hook sets are all taken); on error nothing needs
 * freeing.
 */
int xfer_init(xfer_t *x, const xfer_config_t *cfg, store_t *store,
              coord_t *coord);

/* xfer_free - remove its hook set from the tap, release what x owns. */
void xfer_free(xfer_t *x);

/*
 * xfer_turn - the time is now_ms: poll the ring, tick, run scans, send
 * batches, drop (see WHAT IT DOES). Call it once per loop turn and when
 * the returned deadline passes. May open a store batch (store_begin) for
 * a drop: commit it as usual. Returns the next deadline
 * (HANDOFF_NO_DEADLINE: none but the next ring change or message).
 */
uint64_t xfer_turn(xfer_t *x, uint64_t now_ms);

/*
 * xfer_recv - a HANDOFF_BATCH or HANDOFF_ACK frame body data[0..len)
 * (in, borrowed) from member `from`. For a batch the caller has opened the
 * store batch (see RECEIVING). Returns 0, SH_ETYPE (another message
 * type), or the decoder's error (the message is dropped; counted).
 */
int xfer_recv(xfer_t *x, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len);

/*
 * xfer_committed - the store batch holding the received batches was
 * committed (ok 1: send their acks) or failed (ok 0: forget them).
 */
void xfer_committed(xfer_t *x, int ok);

/* xfer_peer - SWIM says member name is up (1) or down (0). */
void xfer_peer(xfer_t *x, uint64_t now_ms, const char *name, int up);

/*
 * xfer_leave - start a graceful leave from the coordinator's current ring.
 * Returns 0, SH_EEXIST (already leaving), SH_ENOTFOUND (no other member to
 * hand off to), SH_ENOMEM, or handoff_leave's errors (the leave did not
 * start).
 */
int xfer_leave(xfer_t *x, uint64_t now_ms);

/*
 * xfer_sweep - the leave was announced: hand off every partition that
 * still holds objects, to its primary among the other members. Returns
 * how many partitions got a move (>= 0) or SH_EINVAL (not leaving).
 */
int xfer_sweep(xfer_t *x, uint64_t now_ms);

/* xfer_leave_cancel - abandon the leave; the machine restarts from the
 * current ring (moves forgotten). 0 or SH_ENOMEM. */
int xfer_leave_cancel(xfer_t *x, uint64_t now_ms);

/* xfer_leave_phase - where the leave is. */
xfer_leave_phase_t xfer_leave_phase(const xfer_t *x);

/* xfer_leave_done - 1 when leaving and everything planned so far is
 * handed off and dropped (as of the last xfer_turn). */
int xfer_leave_done(const xfer_t *x);

/* xfer_busy - 1 while any move is planned (for tests: "transfers done"). */
int xfer_busy(const xfer_t *x);

/*
 * xfer_hints_in - 1 if the store holds a hint of partition (any primary),
 * 0 if not, or a negative store error. Visits one entry per primary.
 */
int xfer_hints_in(store_t *store, uint32_t partition);

/* xfer_transfers / xfer_stats - the machine's moves and totals, and the
 * driver's. */
size_t xfer_transfers(const xfer_t *x, handoff_transfer_t *out, size_t cap);
void xfer_stats(const xfer_t *x, handoff_stats_t *hs, xfer_stats_t *xs);

/* xfer_move_state_name - "queued", "sending", ... for JSON. */
const char *xfer_move_state_name(handoff_move_state_t st);

#endif /* SHOAL_NODE_XFER_H */
