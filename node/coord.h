/*
 * coord.h - the request coordinator: shoal's request path as a pure state
 * machine (DESIGN.md sections 3, 6 and 7; ALGORITHMS.md section 2). This
 * header is its manual.
 *
 * The coordinator takes client requests (coord_kv_put, coord_kv_get, ...),
 * internode messages (coord_recv), membership (coord_set_members) and the
 * time (now_ms, any monotonic millisecond clock), reads and writes the
 * node's store synchronously, and hands back its outputs in the pull style
 * of etcd raft's Ready: messages to send, replies to clients and the next
 * deadline. No libuv, no sockets, no clock, no LMDB: the shell (node/) and
 * the simulator (tests/sim/) drive the same code.
 *
 * HOW A SHELL DRIVES IT (one thread):
 *
 *   store_begin(store);                       one batch per loop turn
 *   coord_kv_put(c, now_ms, ...);             any number of inputs:
 *   coord_recv(c, now_ms, from, bytes, len);  requests, messages, ticks
 *   coord_tick(c, now_ms);
 *   err = store_commit(store);                PERSIST BEFORE SENDING
 *   if (err != 0)
 *           coord_batch_failed(c, err);       see below
 *   coord_ready(c, &ready);
 *   send ready.msgs[i].data to ready.msgs[i].to (adding the frame's
 *   length prefix); answer ready.results[i].client_id;
 *   arm one timer for ready.next_deadline_ms;
 *   coord_advance(c);
 *
 * Every call that takes now_ms may write to the store, so a batch must be
 * open around it (asserted). Nothing in a ready batch may leave before the
 * store batch holding its writes has committed: a write's acknowledgement
 * (a replica's ack, a client's 204) promises durability. If the commit
 * fails, call coord_batch_failed before coord_ready: it drops every message
 * of the batch and turns every reply that depended on its writes into a
 * 503.
 *
 * IDENTITY. The node's actor (the dots of its writes) is its member name
 * plus its epoch (store_epoch): a node that returns with a wiped disk is a
 * new actor and never reuses a dot.
 *
 * MEMBERSHIP. coord_set_members takes every known member with a state:
 * COORD_UP (SWIM alive or suspect), COORD_DOWN (SWIM dead), COORD_LEFT
 * (SWIM left). The ring is computed over every member that has not left:
 * a down member keeps its partitions, and fallbacks serve its part of each
 * preference list until it returns or an operator removes it (as Riak and
 * Cassandra do; moving partitions whenever a node flaps would stream data
 * back and forth). Only COORD_LEFT removes a member from the ring. The
 * node itself always counts as up, and is added to the ring if the list
 * lacks it (unless it is listed as left).
 *
 * ACTOR RENEWAL. The coordinator makes a key's next dot from its own copy
 * of the key, so the copy must hold every dot its actor made for the key.
 * A deleted copy (an ownership-handoff drop, a reaped tombstone) breaks
 * that: the same actor would make dots again that other replicas already
 * hold, and the new value would read as seen and be lost. So before a
 * write, if the store says the key's copy may have been deleted since the
 * actor was taken (store_maybe_deleted: also true for the first write
 * after a start), the coordinator moves to epoch + 1, a new actor, as
 * Riak takes a new vnode id. The epoch in use is kept in the store's meta
 * "epoch" within the same batch, so a restart starts at or above it.
 * Renewals are counted in stats.actor_renewals.
 *
 * REQUESTS (DESIGN.md section 6). Parameters: n, r, w, pr, pw, timeout_ms,
 * sloppy, each either given or taken from the server defaults (config).
 *   - Validation (400): n >= 1, 1 <= r <= n, 1 <= w <= n, pr <= r,
 *     pw <= w, timeout_ms >= 1; a non-empty bucket without NUL bytes, a
 *     non-empty key; a malformed client context. 413: bucket or key over
 *     1 KiB, a value over value_bytes_max. The server's default r and w
 *     are lowered to a request's smaller n when the request does not give
 *     them (n=1 alone means r=w=1); r or w given explicitly above n is a
 *     400.
 *   - n over the number of ring members (or over COORD_N_MAX) is capped
 *     to it, and then r, w, pr and pw are capped to the new n; the result
 *     says so (n_capped, n). A one-node development cluster thus serves
 *     the default n=3 r=2 w=2.
 *   - Targets: the key's first n owners (primaries). With sloppy (the
 *     default), a primary that is down is replaced by its fallback (the
 *     next healthy member of the key's ranking), which stores a durable
 *     hint naming the primary. Without sloppy, down primaries are simply
 *     missing. pr and pw count primaries only. A down primary that is
 *     not replaced (no healthy member left to stand in, as with three
 *     nodes and n=3, or sloppy=false) still gets the write later: the
 *     write's coordinator stores a hint naming it, in the same store
 *     batch as its own copy, and hinted handoff replays that copy when
 *     the primary is back (as Cassandra does). Reads store no hints.
 *   - Writes (kv put, kv delete, dt update) are coordinated by a target;
 *     any other node forwards the whole request to the first healthy
 *     primary (or, when none is, the first fallback), which coordinates
 *     it and sends the result back. A forwarded request is never forwarded
 *     again: if its receiver is not a target in its own view of the ring
 *     (views that disagree for a moment), it answers 503 "retry". The
 *     forwarding node waits timeout_ms; the receiver uses 9/10 of it, so
 *     its own 503 (with stored_on) normally arrives first.
 *   - The coordinator reads its local copy, applies the write (dvv_update
 *     with the client's context and its own actor, or crdt_apply), stores
 *     the result in the open batch (its own acknowledgement, durable once
 *     the batch commits, which happens before anything leaves), and sends
 *     the new object to the other targets, which join it into theirs and
 *     acknowledge. The reply (204 with the new context) goes after w
 *     acknowledgements of which pw are primaries. When that can no longer
 *     happen (every target answered) or the deadline passes: 503 with
 *     needed, acknowledged and stored_on (where the object was stored: a
 *     failed write may still be there).
 *   - Reads (kv get, dt get) ask every target (the own store directly) and
 *     reply after r answers of which pr are primaries, with the join of the
 *     answers; "not found" counts as an answer. The request stays alive
 *     until every target answered or the deadline passed; then every
 *     target whose copy differs from the join of all answers, including
 *     answers that arrived after the reply, is sent the join (read
 *     repair; the own store is repaired in place). A replica whose stored
 *     copy does not decode is repaired the same way (the join replaces
 *     it); its answer does not count toward r.
 *   - KV read results: 200 when the join has one live (non-tombstone)
 *     sibling, 300 when it has several, 404 when it has none (not found,
 *     or only tombstones: the 404 still carries the context, so a client
 *     can write over the delete causally). The result holds the whole
 *     object, tombstone siblings included; a shell shows the live ones. A
 *     tombstone concurrent with a live value therefore reads as that
 *     value (the next write with the context resolves both).
 *   - DT: an update carries its type and a list of operations, applied
 *     together (all or none) by the coordinator; crdt_apply's rules hold.
 *     A remove of an absent element or field changes nothing and is
 *     counted in the result's not_present. An update that removes
 *     something first reads the other targets (r answers, this node's
 *     included) and joins their copies into its own before applying, so
 *     that it removes what a read would show, not only what this replica
 *     happened to have seen. A dt request on a key holding a
 *     kv object, a kv request on a dt key, or a dt request of another type
 *     than the stored one is a 409 naming the stored type.
 *   - Siblings cap: a kv write that would leave an object with more than
 *     siblings_max siblings is refused with 409 (write with the context of
 *     a read to resolve them).
 *   - A FORWARD that arrives twice (a network that duplicates) is
 *     coordinated once: the receiver remembers the last
 *     COORD_FORWARDS_SEEN (sender, request id) pairs for twice the
 *     request's timeout.
 *   - At most inflight_max requests are in flight (client requests being
 *     coordinated or forwarded, and forwarded requests being coordinated
 *     for others); more are refused with 503 "overloaded". A request that
 *     has replied and only waits for its last targets (a read for read
 *     repair, a write for its last acknowledgements) does not hold its
 *     place against a new request: when the table is full, such a request
 *     is finished at once, as at its deadline (stats.waits_cut). So a
 *     replica that hangs, silent but not yet seen down, slows nothing:
 *     without this, reads waiting for it filled the table within a second
 *     or two and every request, whatever its key, was refused until SWIM
 *     declared it dead.
 *   - A write stays in flight after its reply until every target
 *     answered or its deadline. Then each target that did not store the
 *     object (silent, failed, or cut short as above) gets a hint in this
 *     node's store naming it (or the primary a fallback stood in for),
 *     if this node stored the object (a write cut short by a read while
 *     no batch is open owes its hints to the next call with a batch,
 *     up to COORD_OWED_BYTES; past that they are dropped and counted in
 *     stats.hints_dropped, and anti-entropy repairs those keys): hinted
 *     handoff brings it the write, as Cassandra does for replicas that
 *     time out.
 *   - The primaries a batch stored hints for (these, a fallback's, an
 *     unreplaced primary's) are named in coord_ready's `hinted`, so that
 *     the shell can start replay to a primary that is up in its own view
 *     (SWIM's up event starts it for one that was down; a fallback sent a
 *     write by a coordinator that saw the primary down may never have
 *     seen it down).
 *
 * TYPE CONFLICTS. Two coordinators that create the same key concurrently
 * with different kinds (kv and dt) or dt types cannot both keep theirs;
 * every replica then keeps the object whose (kind, type) is greater (kv
 * above dt; map > register > set > counter) so that replicas converge, and
 * counts it in stats.type_conflicts. Keep one type per bucket (as Riak's
 * bucket types enforce) and this never happens.
 *
 * STORED RECORDS (the object keyspace of store.h; coord_obj.c):
 *   record = kind (1 byte: COORD_KIND_KV 0x01 or COORD_KIND_DT 0x02)
 *            object (dvv_encode's bytes for kv, crdt_encode's for dt)
 * Decoding validates everything (dvv_decode / crdt_decode; the value limit
 * is the larger of value_bytes_max and dvv's default) and rejects a
 * damaged record with an error. A hint (the hints
 * keyspace) has an empty value: its key names the primary and the object.
 * The internode wire format is documented at the top of coord_wire.c.
 *
 * MEMORY. The caller allocates coord_t and calls coord_init / coord_free.
 * The coordinator borrows the store (which must outlive it) and owns
 * everything else. Inputs are borrowed for the duration of the call only.
 * Outputs (coord_ready_t and everything it points to) stay valid until
 * coord_advance, coord_batch_failed or coord_free.
 *
 * ERRORS are the negative SH_E... codes of common/sh_err.h. Problems with
 * a client request are not errors of the call: they are results (400, 409,
 * 413, 503) in the ready batch. Input from the network is expected to be
 * wrong sometimes: coord_recv rejects and counts it, and never asserts on
 * it.
 */
#ifndef SHOAL_NODE_COORD_H
#define SHOAL_NODE_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "crdt/causal.h"
#include "crdt/crdt.h"
#include "crdt/dvv.h"
#include "node/store.h"
#include "ring/ring.h"

/* Longest member name: a member name is also an actor name. */
#define COORD_NAME_MAX CRDT_ACTOR_NAME_MAX
/* Most replicas one request may touch (the ring's limit). */
#define COORD_N_MAX RING_N_MAX
/* Most entries of one result's stored_on / replicas lists: primaries and
 * fallbacks. */
#define COORD_TARGETS_MAX (2 * RING_N_MAX)
/* Room for a result's error message, NUL included. */
#define COORD_ERROR_BYTES 160
/* Most operations in one dt update. */
#define COORD_DT_OPS_MAX 1024
/* Primaries named in one ready batch's `hinted` list. */
#define COORD_HINTED_MAX 16
/* Hints owed while no store batch is open (a write cut short by a read
 * let through a sealed commit), stored at the next batch: at most this
 * many bytes of bucket, key and primary. */
#define COORD_OWED_BYTES (1u << 20)
/* FORWARDs remembered to drop duplicates. */
#define COORD_FORWARDS_SEEN 1024
/* No request in flight: coord_ready_t.next_deadline_ms. */
#define COORD_NO_DEADLINE UINT64_MAX

/* Configuration defaults (coord_config_default). */
#define COORD_N_DEFAULT            3
#define COORD_R_DEFAULT            2
#define COORD_W_DEFAULT            2
#define COORD_TIMEOUT_MS_DEFAULT   5000
#define COORD_SIBLINGS_MAX_DEFAULT 100
#define COORD_INFLIGHT_MAX_DEFAULT 4096
#define COORD_INFLIGHT_MAX_MAX     (1u << 20)
/* Largest value_bytes_max accepted (a register value stays within
 * CRDT_VALUE_MAX whatever this is). */
#define COORD_VALUE_BYTES_MAX_MAX ((size_t)64 << 20)

/* ---- configuration ---- */

typedef struct coord_config {
	const char *name;     /* this node's member name, 1..COORD_NAME_MAX
	                       * bytes, NUL-terminated; copied */
	uint64_t epoch;       /* from store_epoch: the actor is (name, epoch) */
	uint32_t partitions;  /* Q: a power of two (ring.h); the cluster's */
	uint32_t members_max; /* most ring members (ring.h) */
	uint32_t n, r, w;     /* server defaults: 3, 2, 2; n is also the
	                       * ring's n_replicas */
	uint32_t timeout_ms;  /* default request timeout: 5000 */
	size_t value_bytes_max; /* largest kv value and register value a client
	                         * may write: 1 MiB (413 above) */
	size_t siblings_max;    /* kv writes refused (409) above this: 100 */
	uint32_t inflight_max;  /* requests in flight: 4096 (503 above) */
	int joining;      /* 1: refuse client requests with 503 "joining" until
	                   * coord_set_members brings another member that has not
	                   * left, or coord_set_joining(c, 0). A node started with
	                   * seeds sets it: until it learns the members its ring
	                   * holds itself alone, and it would take writes as the
	                   * only replica of every key (n capped to 1), where no
	                   * repair of the real owners ever looks. */
	uint64_t id_base; /* where request ids start: pass a value that
	                   * differs between runs of one node (the wall
	                   * clock in ms, a random number), so a restarted
	                   * node's ids are not mistaken for duplicates of
	                   * its old ones; 0 is fine without restarts */
} coord_config_t;

/* ---- membership ---- */

typedef enum coord_member_state {
	COORD_UP = 0,   /* SWIM alive or suspect */
	COORD_DOWN = 1, /* SWIM dead: keeps its partitions, fallbacks serve */
	COORD_LEFT = 2, /* left the cluster: not in the ring */
} coord_member_state_t;

typedef struct coord_member {
	const char
	    *name; /* NUL-terminated, 1..COORD_NAME_MAX bytes; borrowed */
	coord_member_state_t state;
} coord_member_t;

/* ---- requests ---- */

/* Bits of coord_params_t.present: the same values as node/http.h's
 * HTTP_PARAM_* bits, so a shell may copy `present` as it is. */
enum {
	COORD_PARAM_N = 1u << 0,
	COORD_PARAM_R = 1u << 1,
	COORD_PARAM_W = 1u << 2,
	COORD_PARAM_PR = 1u << 3,
	COORD_PARAM_PW = 1u << 4,
	COORD_PARAM_TIMEOUT_MS = 1u << 5,
	COORD_PARAM_SLOPPY = 1u << 6,
};

/*
 * Per-request quorum parameters; fields whose bit is not in `present` take
 * the server's defaults (n, r, w and timeout_ms from the config, pr = pw
 * = 0, sloppy = 1). The fields match node/http.h's http_params_t one to
 * one. A NULL coord_params_t * means "all defaults".
 */
typedef struct coord_params {
	uint32_t present;
	uint32_t n, r, w, pr, pw;
	uint32_t timeout_ms;
	int sloppy; /* 0 or 1 */
} coord_params_t;

/* The operations, for results and stats. */
typedef enum coord_op {
	COORD_OP_KV_GET = 0,
	COORD_OP_KV_PUT,
	COORD_OP_KV_DELETE,
	COORD_OP_DT_GET,
	COORD_OP_DT_UPDATE,
	COORD_OP_REPLICAS,
	COORD_OP__COUNT
} coord_op_t;

/* What a stored object is. */
typedef enum coord_kind {
	COORD_KIND_NONE = 0, /* no object */
	COORD_KIND_KV = 1,   /* a DVV set: dvv_t */
	COORD_KIND_DT = 2,   /* a CRDT: crdt_t */
} coord_kind_t;

/*
 * An object of either kind (a decoded record). A zeroed coord_obj_t is a
 * valid empty object (kind NONE).
 */
typedef struct coord_obj {
	coord_kind_t kind;
	dvv_t kv;  /* valid when kind == COORD_KIND_KV */
	crdt_t dt; /* valid when kind == COORD_KIND_DT */
} coord_obj_t;

/* A kv write's value: borrowed for the call (the bytes are copied). */
typedef struct coord_value {
	const uint8_t *value; /* value_len bytes; may be NULL when 0 */
	size_t value_len;
	const char *content_type; /* content_type_len bytes; NULL when 0 */
	size_t content_type_len;  /* <= DVV_CONTENT_TYPE_MAX (400 above) */
} coord_value_t;

/* One node's own copy of a key (coord_local_get, coord_replicas). */
typedef struct coord_local {
	char name[COORD_NAME_MAX + 1]; /* the node */
	int answered;        /* coord_replicas: 1 if it answered in time */
	int is_fallback;     /* coord_replicas: a fallback of the preflist */
	int present;         /* 1 if it holds the key */
	coord_kind_t kind;   /* present: kv or dt */
	crdt_type_t dt_type; /* kind DT: its type */
	uint64_t hash;       /* present: dvv_hash, or xxh3 of crdt_encode */
	size_t siblings;     /* kv: sibling count (tombstones included) */
	int tombstone;       /* kv: every sibling is a tombstone */
} coord_local_t;

/*
 * The answer to one client request. Read-only; valid until coord_advance.
 */
typedef struct coord_result {
	uint64_t client_id; /* as given with the request */
	coord_op_t op;
	int status;                    /* 200 204 300 404 400 409 413 503 */
	char error[COORD_ERROR_BYTES]; /* why, when status >= 400 (not 404);
	                                * else "" */

	/* reads: the join of the answers (kind NONE when nothing was found
	 * or on an error); 404 may still carry a kv object of tombstones */
	coord_obj_t obj;
	/* reads and successful writes: the object's context as a client
	 * context (dvv_ctx_encode), to hand out as X-Shoal-Context; empty
	 * when there is no object */
	sh_buf_t context;

	/* the effective n, and 1 if the requested n was capped */
	uint32_t n;
	int n_capped;
	/* 1 if another node coordinated it (a forwarded write) */
	int forwarded;
	/* 1 if it relies on a write of its ready batch's store batch (an
	 * acknowledgement, or a read of a key that batch wrote): it may
	 * leave only once that batch committed. 0: it may leave at once */
	int depends;

	/* 503: what the quorum needed (w or r, or pw/pr when those failed),
	 * how many acknowledged (writes: stored; reads: answered), and where
	 * (writes: the nodes that stored the object, this one included when
	 * it did; reads: the nodes that answered) */
	uint32_t needed;
	uint32_t acknowledged;
	size_t stored_on_count;
	char stored_on[COORD_TARGETS_MAX][COORD_NAME_MAX + 1];

	/* 409 on a kind or type mismatch: the stored object's kind and, for
	 * dt, its type */
	coord_kind_t stored_kind;
	crdt_type_t stored_type;

	/* dt update: removes that found nothing to remove (no-ops) */
	uint32_t not_present;

	/* coord_replicas: each target's own copy, primaries first */
	size_t replica_count;
	coord_local_t replicas[COORD_TARGETS_MAX];
} coord_result_t;

/* A message to send: the body of one internode frame. */
typedef struct coord_msg {
	const char *to;      /* member name; valid until coord_advance */
	const uint8_t *data; /* len bytes; valid until coord_advance */
	size_t len;
} coord_msg_t;

/* The outputs of a batch of inputs (coord_ready). */
typedef struct coord_ready {
	const coord_msg_t *msgs;
	size_t msg_count;
	const coord_result_t *results;
	size_t result_count;
	/* call coord_tick at or after this time; COORD_NO_DEADLINE if no
	 * request is in flight */
	uint64_t next_deadline_ms;
	/* primaries this batch stored hints for (each once; at most
	 * COORD_HINTED_MAX, then hinted_more is set: recount them all) */
	const char (*hinted)[COORD_NAME_MAX + 1];
	size_t hinted_count;
	int hinted_more;
} coord_ready_t;

/* ---- statistics ---- */

/* Latency histogram buckets (log-linear in ms; see coord_stats.c). */
#define COORD_LATENCY_BUCKETS 320
/* Sibling-count histogram: index i counts reads whose join had i
 * siblings, the last bucket everything from COORD_SIBLING_BUCKETS - 1. */
#define COORD_SIBLING_BUCKETS 17

/* Why coord_recv rejected a message; stats.rejected[] counts each. */
typedef enum coord_reject {
	COORD_REJECT_TRUNCATED = 0, /* ends inside an item */
	COORD_REJECT_MALFORMED,     /* wrong msgpack type, arity, trailing */
	COORD_REJECT_VERSION,       /* unknown wire version */
	COORD_REJECT_TYPE,          /* unknown message type */
	COORD_REJECT_LIMIT,         /* a length or count over its limit */
	COORD_REJECT_VALUE,         /* a field out of range (name, op, ...) */
	COORD_REJECT_OBJECT,        /* an embedded record does not decode */
	COORD_REJECT_SENDER,        /* sender unknown or not the one asked */
	COORD_REJECT_STALE,         /* answer to no request in flight (late
	                             * or duplicate): harmless */
	COORD_REJECT__COUNT
} coord_reject_t;

typedef struct coord_op_stats {
	uint64_t requests;   /* accepted for this operation */
	uint64_t status_2xx; /* 200 204 */
	uint64_t status_300; /* siblings */
	uint64_t status_404;
	uint64_t status_4xx;     /* 400 409 413 */
	uint64_t status_503;     /* quorum, timeout, overload, storage */
	uint64_t latency_ms_max; /* slowest reply */
	uint64_t latency_ms_sum; /* of every reply */
	uint64_t latency_count;  /* replies measured */
	uint64_t latency[COORD_LATENCY_BUCKETS];
} coord_op_stats_t;

typedef struct coord_stats {
	coord_op_stats_t ops[COORD_OP__COUNT];
	uint64_t siblings[COORD_SIBLING_BUCKETS]; /* kv reads by join size */
	uint64_t siblings_max;       /* largest sibling count read */
	uint64_t read_repairs;       /* repair writes sent or done locally */
	uint64_t actor_renewals;     /* new epochs taken (ACTOR RENEWAL) */
	uint64_t strays_dropped;     /* fallback copies let go after hints */
	uint64_t quorum_failures;    /* 503 for a quorum not met in time */
	uint64_t overloaded;         /* 503 for inflight_max */
	uint64_t forwards;           /* writes forwarded to another node */
	uint64_t forwards_served;    /* writes coordinated for another node */
	uint64_t forwards_duplicate; /* FORWARDs dropped as duplicates */
	uint64_t replica_writes;     /* REPLICA_WRITEs stored for others */
	uint64_t replica_reads;      /* REPLICA_READs answered */
	uint64_t hints_stored;       /* hints written: as a fallback, or as
	                              * a coordinator for a primary left
	                              * without a stand-in */
	uint64_t type_conflicts;     /* joins of different kinds or types */
	uint64_t store_errors;       /* failed store reads or writes */
	uint64_t late_answers;       /* acks/answers after a write finished */
	uint64_t waits_cut;          /* replied requests finished before
	                              * their last answers, to admit new
	                              * requests */
	uint64_t hints_dropped;      /* hints owed past COORD_OWED_BYTES */
	uint64_t batches_failed;     /* coord_batch_failed calls */
	uint64_t rejected[COORD_REJECT__COUNT];
	uint64_t inflight; /* requests in flight now */
} coord_stats_t;

/* ---- the coordinator ---- */

struct coord__req;
struct coord__rinfo;
struct coord__seen;

/* The coordinator. Allocated by the caller; every field is private. */
typedef struct coord {
	char name[COORD_NAME_MAX + 1];
	crdt_actor_t actor;
	coord_config_t cfg; /* cfg.name points to name */
	store_t *store;     /* borrowed */
	uint64_t wall_ms;   /* coord_set_wall_clock; 0: use now_ms */
	ring_t ring;
	/* membership: names (owned) and states, sorted by name */
	char **member_names;
	uint8_t *member_states;
	size_t member_count;
	/* requests in flight: a slot table indexed by the low bits of the
	 * request id, with a free list, and the slots in use listed densely
	 * (live[live_pos[slot]] == slot) so that a turn visits the requests
	 * in flight and not every slot */
	struct coord__req **reqs;
	uint32_t *free_slots;
	uint32_t free_count;
	uint32_t *live, *live_pos;
	uint32_t live_count;
	uint32_t reclaim_at; /* where the next scan for a replied request
	                      * starts */
	/* finished requests kept for the next ones (no malloc and free of
	 * a request per operation) */
	struct coord__req *spare[8];
	uint32_t spare_count;
	uint32_t slot_bits;
	uint64_t next_gen;
	uint64_t batch_seq; /* advances at coord_advance / batch_failed */
	/* the ready batch being filled */
	coord_msg_t *msgs;
	sh_buf_t *msg_bufs;
	char (*msg_to)[COORD_NAME_MAX + 1];
	size_t msg_count;
	size_t msg_cap;  /* msg_bufs allocated (each a valid buffer) */
	size_t msg_room; /* room in msgs and msg_to */
	/* hints owed until a batch opens: three msgpack bins each (bucket,
	 * key, primary; coord_put.c hint_one) */
	sh_buf_t hints_owed;
	/* primaries hinted in this batch (coord_ready_t.hinted) */
	char hinted[COORD_HINTED_MAX][COORD_NAME_MAX + 1];
	size_t hinted_count;
	int hinted_more;
	coord_result_t *results;
	struct coord__rinfo *rinfo; /* per result: private bookkeeping */
	size_t result_count, result_cap;
	size_t results_reserved;  /* room kept for requests in flight */
	struct coord__seen *seen; /* recent FORWARDs, to drop duplicates */
	size_t seen_next;
	coord_result_t *fwd_tmp; /* a result on its way to another node */
	sh_buf_t scratch;        /* reused encoding buffer */
	coord_stats_t stats;
} coord_t;

/*
 * coord_config_default - fill *cfg (out) with the defaults above; name
 * NULL and epoch 0 (the caller must set both).
 */
void coord_config_default(coord_config_t *cfg);

/*
 * coord_init - make *c (out, caller-allocated) a coordinator with the
 * configuration *cfg (in; copied, name too) over the open store `store`
 * (borrowed; must outlive c; the caller opens and commits its batches).
 * The ring starts with this node alone until coord_set_members.
 * Returns 0; SH_EINVAL (name empty or over COORD_NAME_MAX, epoch 0, bad
 * partitions or members_max as ring_init says, n not in 1..COORD_N_MAX,
 * r or w not in 1..n, timeout_ms 0, value_bytes_max not in
 * 1..COORD_VALUE_BYTES_MAX_MAX, siblings_max 0, inflight_max not in
 * 1..COORD_INFLIGHT_MAX_MAX); SH_ENOMEM. On error *c is left so that
 * coord_free is harmless.
 */
int coord_init(coord_t *c, const coord_config_t *cfg, store_t *store);

/*
 * coord_free - release everything c owns. Requests in flight are dropped
 * without results; the ready batch is dropped. The store is not touched.
 */
void coord_free(coord_t *c);

/*
 * coord_set_members - replace the membership view with members[0..count)
 * (in, borrowed; names copied), recompute the ring, and re-target nothing
 * already in flight (requests keep the targets they started with).
 * Returns 0; SH_EINVAL (NULL or empty name, a name over COORD_NAME_MAX,
 * a name twice, an unknown state); SH_ETOOBIG (more ring members than
 * members_max); SH_ENOMEM. On error the view is unchanged.
 */
int coord_set_members(coord_t *c, const coord_member_t *members, size_t count);

/* coord_set_joining / coord_joining - set or clear, and read,
 * coord_config_t.joining. */
void coord_set_joining(coord_t *c, int joining);
int coord_joining(const coord_t *c);

/* coord_ring - the current ring (read-only; valid until the next
 * coord_set_members or coord_free), for /cluster/ring. */
const ring_t *coord_ring(const coord_t *c);

/* coord_member_is_up - 1 if name is a member in state COORD_UP (or this
 * node), else 0. */
int coord_member_is_up(const coord_t *c, const char *name);

/*
 * coord_preflist - the preference list of (bucket, key) for n replicas
 * with the current view (up-ness included), as ring_preflist fills it
 * (out). For /cluster/preflist. Returns 0, SH_EINVAL (n 0), SH_ENOTFOUND
 * (empty ring).
 */
int coord_preflist(const coord_t *c, const void *bucket, size_t bucket_len,
                   const void *key, size_t key_len, unsigned n,
                   ring_preflist_t *out);

/*
 * Client requests. Common parameters:
 *   now_ms      the current time (deadlines and latency are measured in it)
 *   client_id   the shell's id for the request; echoed in the result; the
 *               shell should keep it unique among its requests in flight
 *   bucket, key the key (borrowed; lengths in bytes)
 *   params      the query parameters (NULL: all defaults)
 * Each call produces exactly one coord_result_t with this client_id, in
 * this ready batch (an immediate answer: a 4xx, an overload 503, a forward
 * that failed at once) or a later one (at the latest the batch of the
 * first coord_tick at or after the request's deadline). A store batch must
 * be open (asserted), except for reads while a sealed batch commits (see
 * coord_batch_lost). Returns 0, or SH_ENOMEM when even the result could
 * not be queued (the shell should then answer 503 itself).
 */

/*
 * coord_kv_put - write value *v (in, borrowed) with the client's context
 * ctx[0..ctx_len) (in, borrowed; dvv_ctx_encode's bytes, already decoded
 * from the header's base64; ctx_len 0: no context, the write supersedes
 * nothing). Result: 204 + the new context; 400 (params, malformed context,
 * content type too long); 409 (the key holds a dt object, or siblings
 * cap); 413 (key or value too big); 503.
 */
int coord_kv_put(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params,
                 const coord_value_t *v, const uint8_t *ctx, size_t ctx_len);

/*
 * coord_kv_delete - write a tombstone with the client's context (in,
 * borrowed, as coord_kv_put; without one the tombstone supersedes nothing
 * and becomes a sibling). Results as coord_kv_put.
 */
int coord_kv_delete(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    const uint8_t *ctx, size_t ctx_len);

/*
 * coord_kv_get - read a kv object. Result: 200 (one live sibling), 300
 * (several), 404 (none, or only tombstones: context still set), with obj
 * (kind KV) and context; 400; 409 (a dt key: stored_type); 413; 503.
 */
int coord_kv_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params);

/*
 * coord_dt_get - read a CRDT. Result: 200 with obj (kind DT) and context;
 * 404 when no replica has it; 400; 409 (a kv key); 413; 503. Any dt type
 * is returned: the shell renders crdt_type(&obj.dt).
 */
int coord_dt_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params);

/*
 * coord_dt_update - apply ops[0..op_count) (in, borrowed, 1..
 * COORD_DT_OPS_MAX; nested map ops too) to the CRDT of type `type` at the
 * key, creating it if absent; all or none. Every op's type
 * (crdt_op_type) must be `type` (else 400). Result: 204 + context, with
 * not_present; 400 (params, ops, depth); 409 (the key holds a kv object or
 * another type: stored_kind, stored_type); 413 (element, field name or
 * value too big); 503.
 */
int coord_dt_update(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    crdt_type_t type, const crdt_op_t *ops, size_t op_count);

/*
 * coord_replicas - ask every target of the key (as a read with these
 * params would) for its own copy, without joining or repairing anything.
 * Result (at the first of: every target answered, the deadline): 200 with
 * replicas[] (answered 0 for those that did not), for
 * /cluster/replicas/{bucket}/{key}; 400; 413.
 */
int coord_replicas(coord_t *c, uint64_t now_ms, uint64_t client_id,
                   const void *bucket, size_t bucket_len, const void *key,
                   size_t key_len, const coord_params_t *params);

/*
 * coord_local_get - this node's own copy of (bucket, key), into *out
 * (out; name is this node's). Reads the store (inside or outside a batch).
 * Returns 0 (present 0 or 1), SH_EINVAL / SH_ETOOBIG (bad bucket or key),
 * SH_EMALFORMED (the stored record does not decode), or a store error.
 */
int coord_local_get(coord_t *c, const void *bucket, size_t bucket_len,
                    const void *key, size_t key_len, coord_local_t *out);

/*
 * coord_recv - an internode message body data[0..len) (in, borrowed) from
 * the member `from` (in, NUL-terminated). A store batch must be open.
 * Returns 0 when handled; a negative SH_E... code when rejected (also
 * counted in stats.rejected): SH_ETRUNC, SH_EMALFORMED, SH_EVERSION,
 * SH_ETYPE, SH_ETOOBIG, SH_EINVAL, SH_ERANGE, SH_EDEPTH, SH_ENOMEM, the
 * decoders' codes for a record that does not decode, or SH_ENOTFOUND for
 * an answer to no request in flight: normal (an ack arriving after its
 * write was answered), not worth more than a debug log. Never asserts on
 * the bytes.
 */
int coord_recv(coord_t *c, uint64_t now_ms, const char *from,
               const uint8_t *data, size_t len);

/*
 * coord_set_wall_clock - hand the coordinator the wall-clock time, in ms
 * since the Unix epoch. now_ms (every other call's input) is monotonic and
 * drives timeouts; it means nothing on another node. Wall time is used only
 * for values that travel: sibling timestamps (information only) and the
 * timestamp of a register assign (last writer wins, ties by actor, so skew
 * between nodes decides between concurrent assigns). The shell sets it once
 * per loop turn, before feeding the turn's inputs; the simulator feeds each
 * node its own, skewed clock. Until it is set (wall_ms 0), now_ms is used.
 */
void coord_set_wall_clock(coord_t *c, uint64_t wall_ms);

/*
 * coord_tick - the time is now_ms: fail (503) every request whose deadline
 * has passed, finish read repairs that were waiting for late answers. A
 * store batch must be open. Late or early calls are fine.
 */
void coord_tick(coord_t *c, uint64_t now_ms);

/*
 * coord_batch_failed - the store batch holding this ready batch's writes
 * failed to commit with err (< 0). Drops every message of the ready batch
 * (peers time out or retry), turns every result that depended on a write
 * of the batch into a 503 ("storage: ..."), and fails every request in
 * flight whose local write was in the batch. Call it before coord_ready.
 */
void coord_batch_failed(coord_t *c, int err);

/*
 * SEALED BATCHES (store.h). A shell may instead commit a batch while it
 * goes on: note seq = coord_batch_seq(c), store_seal, then coord_ready,
 * and hold that ready batch (every message and result) until the commit
 * is done; coord_advance; meanwhile open no store batch and call only
 * coord_kv_get, coord_dt_get and coord_replicas, which then read the
 * committed state and whose outputs may leave at once. If the commit
 * fails, drop the held outputs (the shell cannot unsend them, so it closes
 * the connections they were for) and call coord_batch_lost(c, seq, err):
 * every request in flight whose local write was in that batch fails, as
 * with coord_batch_failed.
 */
uint64_t coord_batch_seq(const coord_t *c);
void coord_batch_lost(coord_t *c, uint64_t seq, int err);

/*
 * coord_ready - fill *out (out) with the current outputs (see
 * coord_ready_t); calling it twice without coord_advance gives the same
 * batch plus anything added in between. Everything it points to stays
 * valid until coord_advance, coord_batch_failed or coord_free.
 */
void coord_ready(coord_t *c, coord_ready_t *out);

/* coord_advance - drop the current outputs (the shell has sent them). */
void coord_advance(coord_t *c);

/* ---- stats ---- */

/* coord_stats - the counters (read-only; live, updated by every call). */
const coord_stats_t *coord_stats(const coord_t *c);

/*
 * coord_drop_stray - a hint for the object key ok (in) was replayed and
 * deleted: if this node is not among the key's first cfg.n owners in the
 * current ring and stores no other hint for ok (naming any node of its
 * preference list for COORD_N_MAX), delete its copy of ok in the open
 * batch (coord_stray.c says why) and set *dropped to 1. Call it only
 * when the copy is still the one the hint replayed. Returns 0 (also
 * when nothing was dropped: no ring, an owner, other hints), SH_EINVAL
 * (ok is not an object key) or the store's error.
 */
int coord_drop_stray(coord_t *c, const store_key_t *ok, int *dropped);

/* coord_epoch - the epoch of the actor in use (ACTOR RENEWAL). */
uint64_t coord_epoch(const coord_t *c);

/*
 * coord_latency_percentile - the latency in ms below which a fraction q
 * (0 < q <= 1, e.g. 0.5, 0.95, 0.99, 0.999) of s's replies fell: the upper
 * bound of the histogram bucket holding that rank (exact up to 16 ms,
 * within 12.5% above). 0 when s has no replies.
 */
uint64_t coord_latency_percentile(const coord_op_stats_t *s, double q);

/* coord_op_name - "kv_get", "kv_put", "kv_delete", "dt_get", "dt_update",
 * "replicas" (static). */
const char *coord_op_name(coord_op_t op);

/* coord_reject_name - "truncated", "malformed", ... (static). */
const char *coord_reject_name(coord_reject_t r);

/* ---- objects and records (also for hinted handoff and anti-entropy) ---- */

/* coord_obj_free - release what obj owns; it becomes empty (kind NONE,
 * all zeros). An object of kind NONE must be all zeros already (as a
 * memset or an earlier coord_obj_free leaves it): it is left alone. */
void coord_obj_free(coord_obj_t *obj);

/*
 * coord_obj_decode - read the stored record p[0..len) (borrowed) into *obj
 * (in/out; its old content is released on success; unchanged on error).
 * limits (in, may be NULL: dvv_limits_default) bound a kv object's values
 * and siblings; a node must decode with a value limit at least its
 * value_bytes_max. Errors: SH_ETRUNC (empty), SH_ETYPE (unknown kind
 * byte), and those of dvv_decode / crdt_decode.
 */
int coord_obj_decode(coord_obj_t *obj, const uint8_t *p, size_t len,
                     const dvv_limits_t *limits);

/*
 * coord_obj_encode - append obj's record (kind byte + canonical object
 * encoding) to out. obj must not be empty (asserted). 0 or SH_ENOMEM.
 */
int coord_obj_encode(const coord_obj_t *obj, sh_buf_t *out);

/*
 * coord_obj_merge - dst := join(dst, src) (src only read): dvv_sync or
 * crdt_merge; an empty dst becomes a copy of src; an empty src changes
 * nothing. Different kinds or types: the greater (kind, type) wins (see
 * TYPE CONFLICTS), and *conflict (may be NULL) is set to 1. 0 or
 * SH_ENOMEM (dst unchanged).
 */
int coord_obj_merge(coord_obj_t *dst, const coord_obj_t *src, int *conflict);

/*
 * coord_join_record - join the stored record record[0..record_len) (in,
 * borrowed; coord_obj_decode's format) of the object key okey[0..okey_len)
 * (in; store.h's object key layout, as hinted handoff sends it) into this
 * node's own copy of that (bucket, key), in the open store batch: the
 * receiving side of a HINT_BATCH. The partition is recomputed from bucket
 * and key with this node's ring. Idempotent. Returns 0, SH_EMALFORMED (not
 * an object key), the errors of coord_obj_decode (a damaged record), or
 * the store's (SH_EIO, SH_ENOMEM, ...).
 */
int coord_join_record(coord_t *c, const uint8_t *okey, size_t okey_len,
                      const uint8_t *record, size_t record_len);

/* coord_obj_equal - 1 if a and b are the same object (both empty too). */
int coord_obj_equal(const coord_obj_t *a, const coord_obj_t *b);

/*
 * coord_obj_hash - the object's hash for /cluster/replicas and
 * anti-entropy: dvv_hash for kv, xxh3-64 of crdt_encode's bytes for dt
 * (SH_ENOMEM: 0), 0 for an empty object.
 */
uint64_t coord_obj_hash(const coord_obj_t *obj);

#endif /* SHOAL_NODE_COORD_H */
