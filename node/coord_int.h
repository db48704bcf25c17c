/*
 * coord_int.h - the coordinator's private declarations, shared by the
 * node/coord_*.c files (coord.h is the public manual).
 *
 * A request in flight is a coord__req_t in a slot of c->reqs; its id (the
 * request id on the wire) is (generation << slot_bits) | slot, so an
 * answer finds its request in O(1) and an answer to a finished request
 * (whose slot has been reused or freed) is recognised as stale.
 */
#ifndef SHOAL_NODE_COORD_INT_H
#define SHOAL_NODE_COORD_INT_H

#include <stdio.h>

#include "node/coord.h"

/* What a request in flight is doing. */
typedef enum coord__req_kind {
	COORD__REQ_WRITE = 1,   /* coordinating a write: collecting acks */
	COORD__REQ_READ = 2,    /* coordinating a read (or replicas) */
	COORD__REQ_FORWARD = 3, /* a write forwarded: waiting for its reply */
} coord__req_kind_t;

/* A target's progress. */
enum {
	COORD__T_PENDING = 0, /* asked, no answer yet */
	COORD__T_DONE = 1,    /* write: stored; read: answered */
	COORD__T_FAILED = 2,  /* it answered with an error */
	COORD__T_SKIPPED = 3, /* never asked (a message could not be built) */
};

/* One node a request talks to. */
typedef struct coord__target {
	char name[COORD_NAME_MAX + 1];
	char hint_for[COORD_NAME_MAX + 1]; /* fallback: the primary it
	                                    * stands in for; "" otherwise */
	uint8_t is_primary;
	uint8_t is_self;
	uint8_t state;      /* COORD__T_* */
	uint8_t repaired;   /* read repair already sent */
	coord_obj_t answer; /* read: what it answered (kind NONE: none) */
} coord__target_t;

typedef struct coord__req {
	uint64_t id; /* request id on the wire */
	coord__req_kind_t kind;
	coord_op_t op;
	/* who gets the result: a client of this node, or (origin_remote) the
	 * node that forwarded the request, by FORWARD_REPLY */
	uint64_t client_id;
	int origin_remote;
	char origin[COORD_NAME_MAX + 1];
	uint64_t origin_id;

	uint64_t start_ms, deadline_ms;
	uint32_t n, r, w, pr, pw;
	int n_capped;
	int sloppy;
	int replied;          /* the result has been handed out */
	uint64_t wrote_batch; /* batch_seq of the local write, or UINT64_MAX */

	uint8_t *bucket; /* owned: bucket bytes then key bytes */
	size_t bucket_len;
	const uint8_t *key; /* points into bucket's allocation */
	size_t key_len;
	uint16_t partition;

	size_t target_count;
	coord__target_t targets[COORD_TARGETS_MAX];

	coord_obj_t merged;   /* read: join of the answers so far; write: the
	                       * object written (for its context) */
	uint32_t not_present; /* dt update */
	int forward_answered; /* forward: the reply arrived */
} coord__req_t;

/* ---- coord.c: requests, outputs ---- */

/* coord__req_new - a zeroed request in a free slot, with its id; NULL when
 * inflight_max are in flight or memory is short. */
coord__req_t *coord__req_new(coord_t *c, coord__req_kind_t kind, coord_op_t op);
/* coord__req_find - the request in flight with this id, or NULL. */
coord__req_t *coord__req_find(coord_t *c, uint64_t id);
/* coord__req_free - release the request and its slot. */
void coord__req_free(coord_t *c, coord__req_t *q);

/*
 * coord__result_new - append a zeroed result for (op, client_id) to the
 * ready batch. depends: 1 if its content relies on a write of the open
 * store batch. NULL on SH_ENOMEM.
 */
coord_result_t *coord__result_new(coord_t *c, coord_op_t op, uint64_t client_id,
                                  int depends);
/* coord__result_error - a result with status and a printf message. */
int coord__result_error(coord_t *c, coord_op_t op, uint64_t client_id,
                        uint64_t start_ms, uint64_t now_ms, int status,
                        const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/*
 * coord__msg_new - append an outgoing message to `to`; returns the buffer
 * (empty) to encode the body into, or NULL on SH_ENOMEM.
 */
sh_buf_t *coord__msg_new(coord_t *c, const char *to);
/* coord__msg_drop_last - remove the last message (its encoding failed). */
void coord__msg_drop_last(coord_t *c);

/* coord__is_up - ring_preflist's is_up callback over c's view. */
int coord__is_up(void *arg, const char *name);
/* coord__is_member - 1 if name is in c's view (any state). */
int coord__is_member(const coord_t *c, const char *name);
/* coord__next_deadline - the earliest deadline in flight. */
uint64_t coord__next_deadline(const coord_t *c);

/* ---- coord_stats.c ---- */

/* coord__stats_reply - count a reply of op with status and latency. */
void coord__stats_reply(coord_t *c, coord_op_t op, int status,
                        uint64_t start_ms, uint64_t now_ms);
/* coord__stats_siblings - count a kv read whose join had n siblings. */
void coord__stats_siblings(coord_t *c, size_t n);

#endif /* SHOAL_NODE_COORD_INT_H */
