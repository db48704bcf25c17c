/*
 * sim_cluster.h - private declarations of `shoal-sim cluster`, shared by
 * sim_cluster.c (options, the run loop, phases, faults, the report),
 * sim_cluster_node.c (a simulated node: SWIM + coordinator + memory store
 * driven as the shell drives them), sim_cluster_client.c (the clients and
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
#include "crdt/causal.h"
#include "gossip/swim.h"
#include "node/coord.h"
#include "node/store.h"
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

/* Stream message tags. */
enum {
	CL_TAG_STATE = 1,       /* SWIM full state, a reply wanted */
	CL_TAG_STATE_REPLY = 2, /* SWIM full state answering one */
	CL_TAG_COORD = 3,       /* a coordinator message */
	CL_TAG_REQ = 4,         /* client -> node: [tag, seq (8 bytes)] */
	CL_TAG_REPLY = 5,       /* node -> client: [tag, seq (8 bytes)] */
};

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
	int up;     /* swim and coord live (not crashed) */
	int paused; /* up, but neither receiving nor running timers */
	swim_t swim;
	coord_t coord;
	store_t store; /* survives crashes */
	uint64_t epoch;
	sh_rand_t rng; /* the node's own: epoch draws */
	uint64_t sched;
	int members_dirty;
	int in_step;      /* a batch is open: inputs of this millisecond */
	int tap;          /* this step may have coordinated a kv write */
	uint64_t down_ms; /* crashed at */
	coord_stats_t stats_sum; /* of coordinators freed by crashes */
} cl_node_t;

/* One fault at a time: at most one node down (crashed or paused), or the
 * network split in two. */
typedef enum cl_fault {
	CL_FAULT_NONE = 0,
	CL_FAULT_CRASH,
	CL_FAULT_PAUSE,
	CL_FAULT_SPLIT,
} cl_fault_t;

typedef enum cl_phase {
	CL_BOOT = 0, /* nodes join; no clients yet */
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
	uint64_t acked_crdt;
	uint64_t ctr_acked[CL_CTR_KEYS], ctr_tried[CL_CTR_KEYS];
	uint64_t cart_acked[CL_CART_KEYS][CL_SKUS];
	uint64_t cart_tried[CL_CART_KEYS][CL_SKUS];
	uint8_t cart_removed[CL_CART_KEYS][CL_SKUS];
	uint64_t dot_conflicts; /* one value seen under two dots */
} cl_counts_t;

typedef struct cl_sim {
	/* options */
	uint32_t nodes, clients;
	uint64_t seed, ops;
	double loss;
	int crash, partition;

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

	sh_buf_t buf, reply;
	int failed;
} cl_sim_t;

/* ---- sim_cluster.c ---- */

/* cl_schedule - wake timer `kind` (0 node, 1 client) of idx at at_ms. */
void cl_schedule(cl_sim_t *s, int kind, uint32_t idx, uint64_t *sched,
                 uint64_t at_ms);
/* cl_key_name - bucket and key of global key index k. */
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
/* cl_all_listed - every live node lists every live node as alive (or,
 * unless alive_only, suspect). */
int cl_all_listed(const cl_sim_t *s, int alive_only);
/* cl_node_stats - node i's coordinator counters, crashes included. */
void cl_node_stats(const cl_sim_t *s, uint32_t i, coord_stats_t *out);
/* cl_local_obj - node i's own stored copy of key k into *obj (emptied
 * first; kind NONE when absent). 0 or an error. */
int cl_local_obj(cl_sim_t *s, uint32_t i, uint32_t k, coord_obj_t *obj);

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
/* cl_verify_read - the verifier reads key k through node i. */
void cl_verify_read(cl_sim_t *s, uint32_t k, uint32_t i);

/* ---- sim_cluster_check.c ---- */

/* cl_tap - after a step of node i that may have coordinated a kv write:
 * learn the dots of the values it holds. */
void cl_tap(cl_sim_t *s, uint32_t i);
/* cl_unconverged_keys - how many keys have primaries whose copies differ
 * (every node up). */
uint32_t cl_unconverged_keys(cl_sim_t *s);
/* cl_check - the final checks; prints diagnostics, fills the counts. */
void cl_check(cl_sim_t *s, uint64_t *acked_writes, uint64_t *lost_writes,
              uint64_t *acked_crdt, uint64_t *lost_crdt);

#endif /* SIM_CLUSTER_H */
