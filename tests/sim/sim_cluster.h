/*
 * sim_cluster.h - private declarations of `shoal-sim cluster`, shared by
 * sim_cluster.c (options, the run loop, phases, faults, the report),
 * sim_cluster_node.c (a simulated node: SWIM + coordinator + memory store
 * driven as the shell drives them), sim_cluster_hint.c (its hinted
 * handoff replay), sim_cluster_repair.c (its ownership handoff and
 * anti-entropy drivers), sim_cluster_client.c (the clients and
 * the history of what they asked and were told) and sim_cluster_check.c
 * (the dot tap and the final checks). What the mode does and what it
 * checks is described at the top of sim_cluster.c.
 *
 * Network ids: nodes are 0..nodes-1 ("n<i>", SWIM address "a<i>"),
 * clients nodes..nodes+clients-1, the verifier the last id. Datagrams
 * carry SWIM packets only; every stream message starts with a tag byte
 * (CL_TAG_*) saying what follows.
 */
#ifndef SIM_CLUSTER_H
#define SIM_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "common/sh_rand.h"
#include "antientropy/hint.h"
#include "crdt/causal.h"
#include "gossip/swim.h"
#include "node/aae.h"
#include "node/coord.h"
#include "node/reap.h"
#include "node/store.h"
#include "node/xfer.h"
#include "tests/sim/sim_heap.h"
#include "tests/sim/sim_net.h"

#define CL_NODES_MAX   16
#define CL_CLIENTS_MAX 64
#define CL_OPS_MAX     10000000ULL

/* The key universe: small, so that clients collide. */
#define CL_KV_KEYS    8
#define CL_CTR_KEYS   3
#define CL_SET_KEYS   3
#define CL_CART_KEYS  2
#define CL_SKUS       8
#define CL_SKU_PINNED 5  /* skus from here on are never removed */
#define CL_SEEN_MAX   64 /* set elements a client remembers per set */
#define CL_DT_KEYS    (CL_CTR_KEYS + CL_SET_KEYS + CL_CART_KEYS)
#define CL_KEYS       (CL_KV_KEYS + CL_DT_KEYS)

/* A cold key's preload (cl_sim_t.cold_acked). */
#define CL_COLD_PUT 1u /* its put was acknowledged */
#define CL_COLD_DEL 2u /* its delete was acknowledged */
#define CL_COLD_RETRIED                                                        \
	4u                  /* a put failed first: not deleted (an             \
	                     * earlier attempt may have left a sibling         \
	                     * the delete's context has not seen) */
#define CL_COLD_DEL_EVERY 4 /* keys c with c % 4 == 3 are deleted */

/* Stream message tags. */
enum {
	CL_TAG_STATE = 1,       /* SWIM full state, a reply wanted */
	CL_TAG_STATE_REPLY = 2, /* SWIM full state answering one */
	CL_TAG_COORD = 3,       /* a coordinator message */
	CL_TAG_REQ = 4,         /* client -> node: [tag, seq (8 bytes)] */
	CL_TAG_REPLY = 5,       /* node -> client: [tag, seq (8 bytes)] */
	CL_TAG_HINT = 6,        /* HINT_BATCH or HINT_ACK (handoff.h) */
	CL_TAG_AAE = 7,         /* an anti-entropy message (aae.h) */
	CL_TAG_XFER = 8,        /* HANDOFF_BATCH or HANDOFF_ACK (xfer.h) */
	CL_TAG_REAP = 9,        /* a tombstone reaper message (reap.h) */
};

/* Where a node slot stands in the cluster's life. */
typedef enum cl_slot {
	CL_SLOT_MEMBER = 0, /* booted (up, or down after a crash or a wipe) */
	CL_SLOT_SPARE,      /* --join: not started yet */
	CL_SLOT_LEAVING,    /* --leave: handing off, then announcing "left" */
	CL_SLOT_GONE,       /* left the cluster and stopped for good */
} cl_slot_t;

/* Key families: a global key index k (0..CL_KEYS) is one of these. */
typedef enum cl_family {
	CL_FAM_KV = 0,
	CL_FAM_CTR,
	CL_FAM_SET,
	CL_FAM_CART,
} cl_family_t;

/* What a client asks. */
typedef enum cl_op_kind {
	CL_OP_KV_GET = 0,
	CL_OP_KV_PUT,
	CL_OP_KV_DEL,
	CL_OP_DT_GET,
	CL_OP_CTR_INC,
	CL_OP_SET_ADD,
	CL_OP_SET_REMOVE,
	CL_OP_CART_UPDATE,
	CL_OP_CART_REMOVE,
	CL_OP_COLD_PUT, /* --cold: the preload of a cold key (n = w = 3) */
	CL_OP_COLD_DEL, /* --cold: one in four is then deleted (w = 3) */
	CL_OP__COUNT
} cl_op_kind_t;

/* How a request ended, as its client saw it. */
typedef enum cl_outcome {
	CL_PENDING = 0, /* sent, no answer yet */
	CL_ACKED,       /* 2xx */
	CL_FAILED,      /* an error status, or the node was unreachable */
	CL_TIMED_OUT,   /* no answer in time: it may or may not have happened */
} cl_outcome_t;

/* One kv write (put or delete), for the lost-write check. */
typedef struct cl_write {
	uint32_t key; /* kv key index */
	uint32_t client;
	int is_delete;
	cl_outcome_t outcome;
	sh_buf_t ctx;   /* the client context sent (dvv_ctx_encode bytes) */
	int has_dot;    /* the tap saw its sibling at its coordinator */
	crdt_dot_t dot; /* then: its dot */
} cl_write_t;

/* One set element "e<i>", added once by one client. */
typedef struct cl_elem {
	uint32_t key; /* set key index */
	cl_outcome_t add;
	int remove_tried; /* some client asked to remove it */
} cl_elem_t;

/* A request in flight from a client. */
typedef struct cl_req {
	cl_op_kind_t kind;
	uint32_t key;          /* global key index */
	uint32_t item;         /* write index, element index or sku */
	coord_params_t params; /* present 0: the server's defaults */
} cl_req_t;

/* What a node answered, kept until the reply reaches the client. */
typedef struct cl_answer {
	uint64_t seq; /* 0: none */
	int status;
	sh_buf_t ctx;       /* kv: the context handed out */
	uint32_t elems_len; /* set read: elements present */
	uint32_t elems[CL_SEEN_MAX];
} cl_answer_t;

typedef struct cl_client {
	uint32_t net_id;
	int busy;
	uint64_t seq; /* of the request in flight, or of the last one */
	uint32_t to;  /* the node asked */
	uint64_t sent_ms;
	uint64_t sched; /* wakeup in the timer heap, UINT64_MAX: none */
	cl_req_t req;
	cl_answer_t answer;
	sh_buf_t kv_ctx[CL_KV_KEYS]; /* last context read (odd clients:
	                              * or written) */
	uint32_t seen_len[CL_SET_KEYS];
	uint32_t seen[CL_SET_KEYS][CL_SEEN_MAX]; /* last set read */
	uint64_t ops;
} cl_client_t;

typedef struct cl_node {
	cl_slot_t slot;
	int up;     /* swim and coord live (not crashed) */
	int paused; /* up, but neither receiving nor running timers */
	swim_t swim;
	coord_t coord;
	store_t disk;  /* the memory store: survives crashes (not wipes) */
	int has_store; /* disk open (not a spare) */
	store_t store; /* while up: the tap over disk every writer uses */
	uint64_t epoch;
	sh_rand_t rng; /* the node's own: epoch draws */
	uint64_t sched;
	int members_dirty;
	int in_step;      /* a batch is open: inputs of this millisecond */
	int tap;          /* this step may have coordinated a kv write */
	uint64_t down_ms; /* crashed at */
	coord_stats_t stats_sum; /* of coordinators freed by crashes */
	hint_t hint;             /* hinted handoff replay (while up) */
	hint_stats_t hint_sum;   /* of hint machines freed by crashes */
	sh_buf_t hint_acks;      /* HINT_ACKs to send after the commit:
	                          * [to (4 bytes), len (4 bytes), bytes] */
	uint64_t hints_received; /* HINT_BATCH entries joined */
	int hints_recount;       /* the coordinator stored hints: count
	                          * them in the next hint turn, as the node
	                          * does (node__hint_stored) */
	/* repair (sim_cluster_repair.c), while up */
	struct cl_sim *sim; /* for xfer's send callback */
	uint32_t id;
	aae_t aae;
	xfer_t xfer;
	reap_t reap;
	int leave_phase;            /* CL_LEAVE_* */
	uint64_t leave_deadline_ms; /* of the phase */
	uint64_t aae_repaired;      /* keys, of drivers freed by crashes */
	uint64_t aae_exchanges;
	uint64_t xfer_moves; /* moves done, of drivers freed */
	uint64_t xfer_keys;  /* keys received, of drivers freed */
	uint64_t reaped;     /* tombstones reaped, of reapers freed */
} cl_node_t;

/* A graceful leave (xfer.h GRACEFUL LEAVE, as node_xfer.c runs it). */
enum {
	CL_LEAVE_NONE = 0,
	CL_LEAVE_HANDOFF,  /* xfer_leave: every partition streams away */
	CL_LEAVE_ANNOUNCE, /* swim_leave: until "left" has spread */
	CL_LEAVE_SWEEP,    /* xfer_sweep: what was written meanwhile */
	CL_LEAVE_DONE,     /* the node may stop */
};

/* One fault at a time: at most one node down (crashed or paused), or the
 * network split in two. */
typedef enum cl_fault {
	CL_FAULT_NONE = 0,
	CL_FAULT_CRASH,
	CL_FAULT_PAUSE,
	CL_FAULT_SPLIT,
	CL_FAULT_WIPE,  /* a crash that loses the whole store: new epoch */
	CL_FAULT_JOIN,  /* a spare node joins (nobody down) */
	CL_FAULT_LEAVE, /* a member leaves gracefully (nobody down) */
} cl_fault_t;

typedef enum cl_phase {
	CL_BOOT = 0, /* nodes join; no clients yet */
	CL_PRELOAD,  /* --cold: the cold keys are written once */
	CL_OPS,      /* clients run; faults */
	CL_DRAIN,    /* every op issued: wait for the last answers */
	CL_QUIET,    /* faults over, everything healed: settle */
	CL_VERIFY,   /* read rounds with r = n = 3 */
	CL_DONE,
} cl_phase_t;

/* Totals of the run, for the report. */
typedef struct cl_counts {
	uint64_t ops[CL_OP__COUNT];
	uint64_t acked[CL_OP__COUNT];
	uint64_t status_503, status_4xx, unreachable, timeouts, late;
	uint64_t crashes, restarts, crashes_open_batch, pauses, splits;
	uint64_t wipes, wipes_deferred, joins, leaves, leaves_abandoned;
	uint64_t repair_refused; /* xfer or aae messages a node refused */
	uint64_t resurrected;    /* deleted values back at the end */
	uint64_t acked_crdt;
	uint64_t ctr_acked[CL_CTR_KEYS], ctr_tried[CL_CTR_KEYS];
	uint64_t cart_acked[CL_CART_KEYS][CL_SKUS];
	uint64_t cart_tried[CL_CART_KEYS][CL_SKUS];
	uint8_t cart_removed[CL_CART_KEYS][CL_SKUS];
	uint64_t dot_conflicts; /* one value seen under two dots */
} cl_counts_t;

typedef struct cl_sim {
	/* options */
	uint32_t nodes, clients; /* nodes: every slot, spares included */
	uint32_t start_nodes;    /* --nodes: members at the start */
	uint32_t spares;         /* --join: slots that join later */
	uint64_t seed, ops;
	double loss;
	int crash, partition, wipe, join, leave;
	uint32_t leaves_max;
	uint32_t cold; /* --cold: keys written once before the ops */
	/* --aae-repair-bytes: anti-entropy's REPAIR and REPLY cut (aae.h
	 * repair_bytes_per_msg); 0: the default */
	uint32_t aae_repair_bytes;

	sh_rand_t rng, net_rng;
	sim_net_t net;
	sim_heap_t timers;
	uint64_t timer_seq;
	uint64_t now;
	cl_phase_t phase;
	uint64_t phase_ms; /* when the phase began */

	cl_node_t node[CL_NODES_MAX];
	cl_client_t client[CL_CLIENTS_MAX + 1]; /* the last: the verifier */
	uint64_t issued;                        /* client ops issued */
	uint64_t fault_begin_ms, fault_end_ms;
	cl_fault_t fault;    /* the fault under way */
	uint32_t fault_node; /* CRASH, PAUSE: the node */
	uint64_t seq_next;

	cl_write_t *writes;
	size_t writes_len, writes_cap;
	cl_elem_t *elems;
	size_t elems_len, elems_cap;
	cl_counts_t n;

	/* verification */
	uint32_t round, verify_key;
	uint64_t verify_check_ms;
	uint32_t unconverged;
	int members_agree;
	uint64_t heal_ms;      /* when the faults ended */
	uint64_t converged_ms; /* first check with every replica equal;
	                        * UINT64_MAX: not (yet) */
	uint32_t stray_keys;   /* at the last check: keys some non-primary
	                        * holds more of than the primaries */
	handoff_wire_msg_t *hint_msg; /* a decoded HINT_BATCH (large) */
	uint32_t cold_next;           /* preload: the next cold key to write */
	uint8_t *cold_acked;          /* per cold key: CL_COLD_* bits */
	sh_buf_t cold_ctx; /* context of the last cold put answered */

	sh_buf_t buf, reply;
	int failed;
} cl_sim_t;

/* ---- sim_cluster.c ---- */

/* cl_schedule - wake timer `kind` (0 node, 1 client) of idx at at_ms. */
void cl_schedule(cl_sim_t *s, int kind, uint32_t idx, uint64_t *sched,
                 uint64_t at_ms);
/* cl_key_name - bucket and key of global key index k (from CL_KEYS on:
 * the cold keys, bucket "cold", keys "p<i>"). */
void cl_key_name(uint32_t k, const char **bucket, char *key, size_t key_size);
/* cl_family - the family of global key index k and its index in it. */
cl_family_t cl_family(uint32_t k, uint32_t *idx);
/* cl_seq_put / cl_seq_get - a sequence number as 8 big-endian bytes. */
void cl_seq_put(uint8_t *p, uint64_t seq);
uint64_t cl_seq_get(const uint8_t *p);
/* cl_parse_id - "<prefix><decimal>" in p[0..len) into *out: 0 or
 * SH_EINVAL. */
int cl_parse_id(const uint8_t *p, size_t len, char prefix, uint32_t *out);
/* cl_verify_next - the verifier is idle: its next read, or the end of a
 * round. */
void cl_verify_next(cl_sim_t *s);
/* cl_replay - print the command line that replays this run (stderr). */
void cl_replay(const cl_sim_t *s);

/* ---- sim_cluster_node.c ---- */

/* cl_node_boot - first start of node i (fresh store and epoch). */
int cl_node_boot(cl_sim_t *s, uint32_t i);
/* cl_node_crash - crash node i: drop SWIM and the coordinator, keep the
 * committed store. */
void cl_node_crash(cl_sim_t *s, uint32_t i);
/* cl_node_restart - bring node i back over its store, same epoch. */
int cl_node_restart(cl_sim_t *s, uint32_t i);
/* cl_node_pause / cl_node_resume - stop node i (a long GC pause, a
 * stopped VM: inputs wait, timers do not run) and let it go on. */
void cl_node_pause(cl_sim_t *s, uint32_t i);
void cl_node_resume(cl_sim_t *s, uint32_t i);
/* cl_node_free - release node i entirely (the end of the run). */
void cl_node_free(cl_sim_t *s, uint32_t i);
/* cl_nodes_flush - end the step of every node that had input: commit,
 * then send. */
void cl_nodes_flush(cl_sim_t *s);
/* cl_node_deliver - a message for node m->to (fed into its step). */
void cl_node_deliver(cl_sim_t *s, const sim_net_msg_t *m);
/* cl_node_wake - node i's timer fired. */
void cl_node_wake(cl_sim_t *s, uint32_t i, uint64_t at_ms);
/* cl_node_wipe - crash node i and lose its whole store: it comes back
 * (cl_node_restart) empty, as a new actor (new epoch). */
void cl_node_wipe(cl_sim_t *s, uint32_t i);
/* cl_node_join - start spare node i: empty store, joins the members. */
int cl_node_join(cl_sim_t *s, uint32_t i);
/* cl_node_leave - member i leaves gracefully (sim_cluster_repair.c):
 * hands off, announces, sweeps, then stops (slot GONE). 0, or an error
 * when the leave could not start. */
int cl_node_leave(cl_sim_t *s, uint32_t i);
/* cl_is_member - node i holds data as part of the cluster (member or
 * leaving, up or down). */
int cl_is_member(const cl_sim_t *s, uint32_t i);
/* cl_member_at - the member at or after slot i (wrapping); one exists. */
uint32_t cl_member_at(const cl_sim_t *s, uint32_t i);
/* cl_leaving - how many nodes are still leaving. */
uint32_t cl_leaving(const cl_sim_t *s);
/* cl_node_hint_stats - node i's hint replay totals, crashes included. */
void cl_node_hint_stats(const cl_sim_t *s, uint32_t i, hint_stats_t *out);
/* cl_all_listed - every live node lists every live node as alive (or,
 * unless alive_only, suspect). */
int cl_all_listed(const cl_sim_t *s, int alive_only);
/* cl_members_report - print the members' views that disagree with the
 * slots (a live node not alive, a gone node not left). */
void cl_members_report(const cl_sim_t *s);
/* cl_node_stats - node i's coordinator counters, crashes included. */
void cl_node_stats(const cl_sim_t *s, uint32_t i, coord_stats_t *out);
/* cl_local_obj - node i's own stored copy of key k into *obj (emptied
 * first; kind NONE when absent). 0 or an error. */
int cl_local_obj(cl_sim_t *s, uint32_t i, uint32_t k, coord_obj_t *obj);

/* ---- sim_cluster_hint.c ---- */

/* cl_hint_open / cl_hint_close - node i's replay machine, with the
 * node (counts the hints already stored); close at a crash. */
int cl_hint_open(cl_sim_t *s, uint32_t i);
void cl_hint_close(cl_sim_t *s, uint32_t i);
/* cl_hint_event - a SWIM event of node i about another member. */
void cl_hint_event(cl_sim_t *s, uint32_t i, const swim_event_t *ev);
/* cl_hint_turn - inside node i's step, before the commit: tick, sends,
 * conditional deletes, scans. Returns the machine's deadline. */
uint64_t cl_hint_turn(cl_sim_t *s, uint32_t i);
/* cl_hint_recv - a CL_TAG_HINT message for node i from node `from`. */
void cl_hint_recv(cl_sim_t *s, uint32_t i, uint32_t from, const uint8_t *p,
                  size_t len);
/* cl_hint_acks - after node i's commit: send (committed) or drop the
 * queued HINT_ACKs. */
void cl_hint_acks(cl_sim_t *s, uint32_t i, int committed);

/* ---- sim_cluster_repair.c ---- */

/* cl_repair_open / cl_repair_close - node i's ownership handoff (xfer.h)
 * and anti-entropy (aae.h) drivers over its store tap; close at a crash
 * (their totals kept). */
int cl_repair_open(cl_sim_t *s, uint32_t i);
void cl_repair_close(cl_sim_t *s, uint32_t i);
/* cl_repair_event - a SWIM event of node i about another member. */
void cl_repair_event(cl_sim_t *s, uint32_t i, const swim_event_t *ev);
/* cl_repair_recv - a CL_TAG_AAE, CL_TAG_XFER or CL_TAG_REAP message,
 * batch open. */
void cl_repair_recv(cl_sim_t *s, uint32_t i, uint32_t from, uint8_t tag,
                    const uint8_t *p, size_t len);
/* cl_repair_turn - inside node i's step, before the commit: xfer's turn,
 * the leave's progress, the reaper's tick. Returns the next deadline. */
uint64_t cl_repair_turn(cl_sim_t *s, uint32_t i);
/* cl_repair_committed - after node i's commit (ok: it succeeded): xfer's
 * acks, anti-entropy's tick and messages, the reaper's messages. Returns
 * the next deadline. */
uint64_t cl_repair_committed(cl_sim_t *s, uint32_t i, int ok);
/* cl_repair_leave - start node i's graceful leave: 0 or an error (the
 * leave did not start). */
int cl_repair_leave(cl_sim_t *s, uint32_t i);
/* cl_repair_left - node i's "left" has spread: sweep; 1 when it may stop
 * now (nothing to sweep). */
int cl_repair_left(cl_sim_t *s, uint32_t i);
/* cl_repair_totals - keys anti-entropy repaired and exchanges started,
 * moves done and keys received by handoff, over every node. */
void cl_repair_totals(const cl_sim_t *s, uint64_t *aae_keys,
                      uint64_t *aae_exchanges, uint64_t *moves,
                      uint64_t *moved_keys);
/* cl_repair_reaped - tombstones reaped, over every node. */
uint64_t cl_repair_reaped(const cl_sim_t *s);

/* ---- sim_cluster_client.c ---- */

/* cl_clients_init / cl_clients_free - the clients' state. */
void cl_clients_init(cl_sim_t *s);
void cl_clients_free(cl_sim_t *s);
/* cl_client_start - let client j begin (after think time). */
void cl_client_start(cl_sim_t *s, uint32_t j);
/* cl_client_wake - client j's timer fired. */
void cl_client_wake(cl_sim_t *s, uint32_t j, uint64_t at_ms);
/* cl_client_deliver - a reply or a failure notice for a client. */
void cl_client_deliver(cl_sim_t *s, const sim_net_msg_t *m);
/* cl_client_request - node i starts client request seq of client j. */
void cl_client_request(cl_sim_t *s, uint32_t i, uint32_t j, uint64_t seq);
/* cl_client_result - node i answered a client request. */
void cl_client_result(cl_sim_t *s, uint32_t i, const coord_result_t *r);
/* cl_clients_idle - no client (verifier included) has a request out. */
int cl_clients_idle(const cl_sim_t *s);
/* cl_cold_done - cold key c needs nothing more in the preload. */
int cl_cold_done(const cl_sim_t *s, uint32_t c);
/* cl_preload_next - the verifier is idle in the preload: write the next
 * cold key (or the same again after a failure). */
void cl_preload_next(cl_sim_t *s);
/* cl_verify_read - the verifier reads key k through node i. */
void cl_verify_read(cl_sim_t *s, uint32_t k, uint32_t i);

/* ---- sim_cluster_check.c ---- */

/* cl_tap - after a step of node i that may have coordinated a kv write:
 * learn the dots of the values it holds. */
void cl_tap(cl_sim_t *s, uint32_t i);
/* cl_unconverged_keys - how many keys have primaries whose copies differ
 * (every node up). With strict, also the keys of which a non-primary
 * member holds something the primaries lack (counted in s->stray_keys). */
uint32_t cl_unconverged_keys(cl_sim_t *s, int strict);
/* cl_unique_keys - how many keys node i holds something of that no
 * other member (up) holds: wiping it would lose them. */
uint32_t cl_unique_keys(cl_sim_t *s, uint32_t i);
/* cl_check - the final checks; prints diagnostics, fills the counts. */
void cl_check(cl_sim_t *s, uint64_t *acked_writes, uint64_t *lost_writes,
              uint64_t *acked_crdt, uint64_t *lost_crdt);

#endif /* SIM_CLUSTER_H */
