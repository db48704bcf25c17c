/*
 * coord_int.h - the coordinator's private declarations, shared by the
 * node/coord_*.c files (coord.h is the public manual).
 *
 * A request in flight is a coord__req_t in a slot of c->reqs; its id (the
 * request id on the wire) is (generation << slot_bits) | slot, so an
 * answer finds its request in O(1) and an answer to a finished request
 * (whose slot has been freed or reused) is recognised as stale.
 *
 * Whoever asked for a request is its origin: a client of this node (the
 * result goes into the ready batch) or another node that forwarded a write
 * (the result goes back in a FORWARD_REPLY message). coord__reply_begin /
 * coord__reply_end hide the difference from the request paths.
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
	COORD__T_FAILED = 2,  /* answered with an error, or never asked */
};

/* One node a request talks to. */
typedef struct coord__target {
	char name[COORD_NAME_MAX + 1];
	char hint_for[COORD_NAME_MAX + 1]; /* fallback: the primary it
	                                    * stands in for; "" otherwise */
	uint8_t is_primary;
	uint8_t is_self;
	uint8_t state;      /* COORD__T_* */
	uint8_t damaged;    /* read: its copy does not decode (repair it) */
	uint8_t fetched;    /* dt prefetch: COORD__T_* of its read */
	uint8_t in_merged;  /* read: its answer was moved into q->merged,
	                     * which still equals it (answer is empty) */
	coord_obj_t answer; /* read: what it answered (kind NONE: none) */
} coord__target_t;

/* Who gets a request's result. */
typedef struct coord__origin {
	coord_op_t op;
	uint64_t start_ms;
	int remote;                    /* 1: another node, by FORWARD_REPLY */
	uint64_t client_id;            /* local: the client's id */
	char node[COORD_NAME_MAX + 1]; /* remote: the forwarding node */
	uint64_t id;                   /* remote: its request id */
} coord__origin_t;

/* Effective quorum parameters of one request. */
typedef struct coord__qp {
	uint32_t n, r, w, pr, pw;
	uint32_t timeout_ms;
	int sloppy;
	int n_capped;
} coord__qp_t;

typedef struct coord__req {
	uint64_t id; /* request id on the wire */
	coord__req_kind_t kind;
	coord__origin_t origin;
	int reserved; /* a result slot is reserved for it (local origin) */
	uint64_t deadline_ms;
	coord__qp_t qp;
	int replied;          /* the result has been handed out */
	uint64_t wrote_batch; /* batch_seq of the local write, or UINT64_MAX */

	uint8_t *bucket; /* owned: bucket bytes, then key bytes */
	size_t bucket_len;
	const uint8_t *key; /* points into bucket's allocation */
	size_t key_len;
	size_t key_cap; /* bytes allocated at bucket: a spare request keeps
	                 * them for the next key */

	size_t target_count;
	coord__target_t targets[COORD_TARGETS_MAX];
	/* primaries that are down with nobody standing in for them (no
	 * fallback left, or not sloppy): a write's coordinator keeps a hint
	 * for each beside its own copy */
	size_t unreplaced_count;
	char unreplaced[COORD_N_MAX][COORD_NAME_MAX + 1];

	coord_obj_t merged;   /* read: join of the answers; write: the object
	                       * written (for its context); prefetch: join
	                       * of the other replicas' answers */
	uint32_t not_present; /* dt update */
	int prefetching;      /* dt update reading before it writes */
	sh_buf_t pending;     /* prefetching: the update, as a FORWARD body */
} coord__req_t;

/* A FORWARD served recently: hash of (sender, id), and until when. */
struct coord__seen {
	uint64_t key;
	uint64_t until_ms;
};

/* Per-result bookkeeping (parallel to c->results). */
struct coord__rinfo {
	uint64_t latency_ms; /* from request to reply */
};

/* A write as the paths see it: a client's, or one forwarded to us. */
typedef struct coord__write_in {
	const uint8_t *bucket;
	size_t bucket_len;
	const uint8_t *key;
	size_t key_len;
	const coord_params_t *params; /* NULL: defaults */
	/* kv put / delete */
	const coord_value_t *value; /* NULL for a delete */
	const uint8_t *ctx;
	size_t ctx_len;
	/* dt update */
	crdt_type_t type;
	const crdt_op_t *ops;
	size_t op_count;
	/* forwarded to us: coordinate with 9/10 of the timeout, never
	 * forward again */
	int forwarded;
} coord__write_in_t;

/* ---- coord.c: requests, outputs ---- */

/* coord__req_new - a zeroed request in a free slot, with its id; NULL when
 * inflight_max are in flight or memory is short. */
coord__req_t *coord__req_new(coord_t *c, coord__req_kind_t kind,
                             const coord__origin_t *origin);
/* coord__req_find - the request in flight with this id, or NULL. */
coord__req_t *coord__req_find(coord_t *c, uint64_t id);
/* coord__req_free - release the request and its slot (and its reserved
 * result slot, if it still has one). */
void coord__req_free(coord_t *c, coord__req_t *q);
/* coord__req_set_key - copy bucket and key into q. 0 or SH_ENOMEM. */
int coord__req_set_key(coord__req_t *q, const uint8_t *bucket,
                       size_t bucket_len, const uint8_t *key, size_t key_len);

/*
 * coord__reply_begin - a zeroed result to fill for origin o (q: its
 * request, whose reserved slot it uses, or NULL). depends: 1 if the
 * result relies on a write of the open store batch. NULL on SH_ENOMEM.
 * Must be followed by coord__reply_end.
 */
coord_result_t *coord__reply_begin(coord_t *c, const coord__origin_t *o,
                                   coord__req_t *q, int depends);
/* coord__reply_end - hand the result out (local: count it; remote: send
 * it as a FORWARD_REPLY and drop the temporary). */
void coord__reply_end(coord_t *c, const coord__origin_t *o, coord_result_t *r,
                      uint64_t now_ms);
/* coord__reply_error - begin + status + printf message + end. Returns 0
 * or SH_ENOMEM (no result could be made). */
int coord__reply_error(coord_t *c, const coord__origin_t *o, coord__req_t *q,
                       uint64_t now_ms, int status, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* coord__result_set_obj - copy obj into r->obj and its context into
 * r->context. 0 or SH_ENOMEM. */
int coord__result_set_obj(coord_result_t *r, const coord_obj_t *obj,
                          int with_obj);

/*
 * coord__msg_new - append an outgoing message to `to`; returns the buffer
 * (empty) to encode the body into, or NULL on SH_ENOMEM.
 */
sh_buf_t *coord__msg_new(coord_t *c, const char *to);
/* coord__msg_drop_last - remove the last message (its encoding failed). */
void coord__msg_drop_last(coord_t *c);

/* coord__hinted_note - this batch stored a hint for primary. */
void coord__hinted_note(coord_t *c, const char *primary);

/* coord__is_up - ring_preflist's is_up callback over c's view. */
int coord__is_up(void *arg, const char *name);
/* coord__next_deadline - the earliest deadline in flight. */
uint64_t coord__next_deadline(const coord_t *c);

/* ---- coord_req.c: parameters, keys, targets ---- */

/*
 * coord__params - the effective parameters of p (NULL: defaults) into
 * *out. 0, or SH_EINVAL with a message in err.
 */
int coord__params(const coord_t *c, const coord_params_t *p, coord__qp_t *out,
                  char *err, size_t err_size);
/*
 * coord__check_key - validate a bucket and key: 0, or the status (400,
 * 413) with a message in err.
 */
int coord__check_key(const uint8_t *bucket, size_t bucket_len,
                     const uint8_t *key, size_t key_len, char *err,
                     size_t err_size);
/* coord__targets - fill q->targets from the key's preference list. */
void coord__targets(coord_t *c, coord__req_t *q);
/* coord__self_target - index of this node in q->targets, or -1. */
int coord__self_target(const coord__req_t *q);
/* coord__target_find - index of the target called name, or -1. */
int coord__target_find(const coord__req_t *q, const char *name);
/* coord__deadline - now_ms + timeout_ms, saturating. */
uint64_t coord__deadline(uint64_t now_ms, uint32_t timeout_ms);
/* coord__fill_quorum_failure - a 503 result: needed, acknowledged, the
 * names of the targets in state DONE. */
void coord__fill_quorum_failure(coord_result_t *r, const coord__req_t *q,
                                uint32_t needed, uint32_t acknowledged);

/* ---- coord_local.c: the own store ---- */

/* coord__obj_key - the object key of (bucket, key). 0 or SH_EINVAL /
 * SH_ETOOBIG. */
int coord__obj_key(const coord_t *c, const uint8_t *bucket, size_t bucket_len,
                   const uint8_t *key, size_t key_len, store_key_t *out);
/* coord__limits - the decode limits of this node. */
void coord__limits(const coord_t *c, dvv_limits_t *out);
/*
 * coord__local_read - the own copy of k into *out (emptied first; kind
 * NONE when absent). Errors: a store error, or the decoder's for a damaged
 * record (counted in store_errors).
 */
int coord__local_read(coord_t *c, const store_key_t *k, coord_obj_t *out);
/*
 * coord__local_write - store obj under k in the open batch, and a hint
 * for hint_for (NULL or "": none). On success c->scratch holds the record
 * (until the next use of scratch). Errors: SH_ENOMEM and store errors.
 */
int coord__local_write(coord_t *c, const store_key_t *k, const coord_obj_t *obj,
                       const char *hint_for);
/*
 * coord__local_merge - join obj into the own copy of k and store the
 * result if it changed (a damaged own copy is replaced). Errors as
 * coord__local_write.
 */
int coord__local_merge(coord_t *c, const store_key_t *k, const coord_obj_t *obj,
                       const char *hint_for);
/*
 * coord__local_hint - store a hint for primary (non-empty) naming object
 * key k, in the open batch (counted in hints_stored). Errors: store errors.
 */
int coord__local_hint(coord_t *c, const store_key_t *k, const char *primary);
/* coord__local_info - describe obj as a coord_local_t (name not set). */
void coord__local_info(const coord_obj_t *obj, coord_local_t *out);

/* ---- coord_obj.c ---- */

/* coord__obj_copy - *dst (any) becomes a deep copy of src. 0/SH_ENOMEM. */
int coord__obj_copy(coord_obj_t *dst, const coord_obj_t *src);
/* coord__obj_context - append obj's context as a client context (empty
 * obj: nothing). 0 or SH_ENOMEM. */
int coord__obj_context(const coord_obj_t *obj, sh_buf_t *out);

/* ---- coord_put.c, coord_dt.c: writes ---- */

/*
 * coord__write - validate and coordinate (or forward) a write for origin
 * o. Every outcome is a reply to o, now or later. Returns 0, or SH_ENOMEM
 * when not even an error reply could be made.
 */
int coord__write(coord_t *c, uint64_t now_ms, const coord__origin_t *o,
                 const coord__write_in_t *in);
/*
 * coord__dt_apply - apply in's ops (all or none) to *obj (kind DT of
 * in->type, or NONE: created). On error, a status (400, 409, 413, 503)
 * and message for the client; *not_present counts no-op removes.
 */
int coord__dt_apply(coord_t *c, uint64_t now_ms, const coord__write_in_t *in,
                    coord_obj_t *obj, uint32_t *not_present, char *err,
                    size_t err_size);
/* coord__dt_check_ops - 0 or 400 with a message: op count and types. */
int coord__dt_check_ops(const coord__write_in_t *in, char *err,
                        size_t err_size);
/*
 * coord__write_resume - apply in to the own copy (joined with q->merged),
 * store it, send it, count acks; on failure reply (and free q) and return
 * the status.
 */
int coord__write_resume(coord_t *c, uint64_t now_ms, coord__req_t *q,
                        const coord__write_in_t *in);
/* coord__write_refuse - reply status and msg to write q, free it. */
void coord__write_refuse(coord_t *c, coord__req_t *q, uint64_t now_ms,
                         int status, const char *msg);
/*
 * coord__dt_prefetch - for a dt update with removes, start reading the
 * other targets first (a remove should remove what a read would show, not
 * only what this replica has seen). Returns 1 if started (the write
 * resumes in coord__dt_prefetch_answer), 0 if the write may go ahead now.
 */
int coord__dt_prefetch(coord_t *c, uint64_t now_ms, coord__req_t *q,
                       const coord__write_in_t *in);
/* coord__dt_prefetch_answer - target t answered the prefetch read (obj
 * NULL: failed). */
void coord__dt_prefetch_answer(coord_t *c, coord__req_t *q, int t,
                               const coord_obj_t *obj, uint64_t now_ms);
/* coord__write_ack - target `from` of write q answered (status 0: stored). */
void coord__write_ack(coord_t *c, coord__req_t *q, int t, int status,
                      uint64_t now_ms);
/* coord__write_expire - q's deadline passed. */
void coord__write_expire(coord_t *c, coord__req_t *q, uint64_t now_ms);
/* coord__write_fail - fail q (not yet replied) with 503 and a message. */
void coord__write_fail(coord_t *c, coord__req_t *q, uint64_t now_ms,
                       const char *why);

/* ---- coord_get.c: reads ---- */

/* coord__read_answer - target t of read q answered (obj NULL: failed). */
void coord__read_answer(coord_t *c, coord__req_t *q, int t,
                        const coord_obj_t *obj, uint64_t now_ms);
/* coord__read_expire - q's deadline passed. */
void coord__read_expire(coord_t *c, coord__req_t *q, uint64_t now_ms);

/* coord__stop_waiting - q's targets still silent count as failed. */
void coord__stop_waiting(coord__req_t *q);

/* coord__read_cut - q (a read that has replied) stops waiting for its
 * remaining targets: repair from the answers in, and free it. */
void coord__read_cut(coord_t *c, coord__req_t *q);

/* coord__write_cut - q (a write that has replied) stops waiting for its
 * remaining acknowledgements: hint the targets missing, and free it. */
void coord__write_cut(coord_t *c, coord__req_t *q);

/* coord__hints_pay - store the hints owed (a batch must be open). */
void coord__hints_pay(coord_t *c);

/* ---- coord_fwd.c: forwarding ---- */

/* coord__forward - send in to node `to`, which coordinates it, for
 * origin o; its reply comes back later. 0 or SH_ENOMEM. */
int coord__forward(coord_t *c, uint64_t now_ms, const coord__origin_t *o,
                   const coord__write_in_t *in, const coord__qp_t *qp,
                   const char *to);
/* coord__forward_expire - a forward's deadline passed. */
void coord__forward_expire(coord_t *c, coord__req_t *q, uint64_t now_ms);

/* ---- coord_wire.c: the internode format ---- */

typedef enum coord__mtype {
	COORD__M_WRITE = 1,
	COORD__M_WRITE_ACK = 2,
	COORD__M_READ = 3,
	COORD__M_READ_REPLY = 4,
	COORD__M_FORWARD = 5,
	COORD__M_FORWARD_REPLY = 6,
} coord__mtype_t;

#define COORD__WIRE_VERSION 1

/* A decoded message. Pointers point into the input, except ops (owned:
 * coord__wire_free). */
typedef struct coord__wire {
	coord__mtype_t type;
	uint64_t id;
	const uint8_t *bucket, *key;
	size_t bucket_len, key_len;
	const uint8_t *record; /* WRITE, READ_REPLY (status 0) */
	size_t record_len;
	char hint_for[COORD_NAME_MAX + 1]; /* WRITE: "" none */
	int want_ack;                      /* WRITE */
	int status; /* WRITE_ACK, READ_REPLY: 0 or an SH_E code */
	/* FORWARD */
	coord_op_t op;
	coord_params_t params;
	coord_value_t value;
	const uint8_t *ctx;
	size_t ctx_len;
	crdt_type_t dt_type;
	crdt_op_t *ops; /* owned */
	size_t op_count;
	/* FORWARD_REPLY */
	int r_status;
	const uint8_t *r_error;
	size_t r_error_len;
	const uint8_t *r_context;
	size_t r_context_len;
	uint32_t r_n, r_needed, r_acknowledged, r_not_present;
	int r_n_capped;
	coord_kind_t r_stored_kind;
	crdt_type_t r_stored_type;
	size_t r_stored_on_count;
	char r_stored_on[COORD_TARGETS_MAX][COORD_NAME_MAX + 1];
} coord__wire_t;

/* Encoders: append one message body to out. 0 or SH_ENOMEM. */
int coord__wire_write(sh_buf_t *out, uint64_t id, const coord__req_t *q,
                      const uint8_t *rec, size_t rec_len, const char *hint_for,
                      int want_ack);
int coord__wire_write_ack(sh_buf_t *out, uint64_t id, int status);
int coord__wire_read(sh_buf_t *out, uint64_t id, const coord__req_t *q);
int coord__wire_read_reply(sh_buf_t *out, uint64_t id, int status,
                           const uint8_t *rec, size_t rec_len);
int coord__wire_forward(sh_buf_t *out, uint64_t id, coord_op_t op,
                        const coord__write_in_t *in, const coord__qp_t *qp);
int coord__wire_forward_reply(sh_buf_t *out, uint64_t id,
                              const coord_result_t *r);
/*
 * coord__wire_decode - decode p[0..len) into *m (zeroed first). On error
 * returns the SH_E code and sets *reason; m owns nothing then.
 */
int coord__wire_decode(coord__wire_t *m, const uint8_t *p, size_t len,
                       coord_reject_t *reason);
/* coord__wire_free - release what m owns. */
void coord__wire_free(coord__wire_t *m);

/* ---- coord_replica.c ---- */

/* coord__replica_write / coord__replica_read - the replica side. */
int coord__replica_write(coord_t *c, const char *from, const coord__wire_t *m);
int coord__replica_read(coord_t *c, const char *from, const coord__wire_t *m);

/* ---- coord_fwd.c, the receiving side ---- */
int coord__forward_recv(coord_t *c, uint64_t now_ms, const char *from,
                        const coord__wire_t *m);
int coord__forward_reply_recv(coord_t *c, uint64_t now_ms, const char *from,
                              const coord__wire_t *m);

/* ---- coord_stats.c ---- */

/* coord__stats_reply - count a result handed out. */
void coord__stats_reply(coord_t *c, const coord_result_t *r,
                        uint64_t latency_ms);
/* coord__stats_siblings - count a kv read whose join had n siblings. */
void coord__stats_siblings(coord_t *c, size_t n);
/* coord__reject - count a rejected message; returns err. */
int coord__reject(coord_t *c, coord_reject_t why, int err);

/* The time stamped on values that travel (coord_set_wall_clock). */
static inline uint64_t coord__wall_ms(const coord_t *c, uint64_t now_ms)
{
	return c->wall_ms != 0 ? c->wall_ms : now_ms;
}

/* coord__actor_fresh - take a new actor if k's copy may have been
 * deleted, and keep meta "epoch" at the actor's (coord.c). 0 or the
 * store's error. */
int coord__actor_fresh(coord_t *c, const store_key_t *k);

#endif /* SHOAL_NODE_COORD_INT_H */
