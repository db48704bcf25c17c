/*
 * aae.h - active anti-entropy in the node: one Merkle tree per partition
 * this node replicates (antientropy/merkle.h), kept exact on every object
 * write, rebuilt from storage in bounded batches, and exchanged with the
 * other replicas on a schedule; every key that differs is repaired in both
 * directions (DESIGN.md section 8, ALGORITHMS.md section 6, issue 5). This
 * header is the module's manual; docs/aae.md says how the node wires it.
 *
 * Pure, like coord.h: no IO, no clock, no libuv, no LMDB. Time (now_ms) is
 * an input, randomness comes from cfg.seed, messages come out.
 *
 * HOW A SHELL (or the simulator) DRIVES IT, one thread:
 *
 *   store_tap_open(&s, &disk);                the store every writer uses
 *   coord_init(&c, &cc, &s);
 *   aae_init(&a, &cfg, &c, &s);               then aae_tap_hooks(&a, &h)
 *   store_tap_add_hooks(&s, &h);              every object write -> tree
 *   per loop turn, with the store batch open (as for coord_recv):
 *       aae_recv(&a, now_ms, from, bytes, len);   AAE frames from peers
 *   after the batch committed (store_commit; the tap tells aae itself
 *   whether it did), outside any scan:
 *       aae_tick(&a, now_ms);                 bounded work: rebuild and
 *                                             key scans, repairs, schedule
 *       aae_ready(&a, &rd);                   send rd.msgs[i] to the member
 *                                             rd.msgs[i].to; arm a timer
 *       aae_advance(&a);                      for rd.next_deadline_ms
 * aae_tick reads the store (scans, gets) and writes nothing, so it may run
 * with or without a batch open. aae_recv joins objects into the store:
 * a batch must be open around it (asserted), and its outputs (a repair
 * reply) leave after that batch, like the coordinator's.
 *
 * TREES. The partitions this node replicates are those where it is among
 * the first n owners of the coordinator's ring (ring_owners, n = the
 * ring's n_replicas); they are recomputed at most every refresh period.
 * A newly owned partition gets an empty tree and a rebuild; one no longer
 * owned is dropped (with any exchange on it). A rebuild scans the
 * partition in key order, scan_keys_per_tick keys per tick at most
 * (shared with the exchanges' key scans), while writes go on: the store
 * tap's write hook calls merkle_update, which keeps the tree and the
 * rebuild's shadow exact. A store batch that fails to commit, a partition
 * dropped by store_drop_partition or an old value that could not be read
 * make the affected trees rebuild. Object hash = aae_record_hash of the
 * stored record, which equals coord_obj_hash of the decoded object.
 *
 * EXCHANGES. Every interval_ms, if this node runs no exchange as
 * initiator (at most one at a time), it picks the next (partition, peer)
 * pair round robin: the next built tree, and its next other owner that the
 * coordinator sees up. It runs merkle_exchange as initiator; the peer runs
 * a responder (at most responders_max at a time; more are refused). When
 * an exchange asks for local keys, the partition is scanned in bounded
 * batches. Each differing key is repaired: the initiator sends REPAIR with
 * its own record (none when it lacks the key) and whether it wants the
 * peer's copy; the peer joins it (coord_join_record) and answers
 * REPAIR_REPLY with its copy after the join; the initiator joins that. Both
 * then hold the join of both copies: a read repair of that key, without
 * involving any other replica. The exchange completes when the tree
 * comparison ended and every repair was answered; silence for timeout_ms
 * fails it. A responder whose comparison ended with differences stays
 * (in its slot) to answer the REPAIRs that follow, until its peer is
 * silent for timeout_ms or opens its next exchange, or an OPEN needs the
 * slot. A REPAIR for any other exchange (unknown xid, another sender or
 * partition) is refused with SH_ENOTFOUND, joins and reads nothing, and
 * counts in msgs_rejected; the initiator then stops its repairs at once.
 * A REPLY is cut at repair_bytes_per_msg of records, as a REPAIR is
 * (its first record goes whatever its size), and answers a key named
 * twice in one REPAIR once. A key the cut leaves out is not re-requested:
 * the responder joined the initiator's record, so the two copies still
 * differ unless the initiator's already was the join, and a later
 * exchange of the partition repairs it again.
 *
 * WIRE (frame kind NODE_FRAME_AAE, node.h). Each message is one msgpack
 * array [version = 1, type, ...]:
 *   1 MERKLE   [1, 1, msg (bin: merkle.h's message, xid and partition in)]
 *   2 REFUSE   [1, 2, xid, partition, status (negative SH_E... code)]
 *   3 REPAIR   [1, 3, xid, partition,
 *               [[bucket (bin), key (bin), record (bin or nil),
 *                 want_back (bool)]...]]
 *   4 REPLY    [1, 4, xid, partition, joined (u64),
 *               [[bucket (bin), key (bin), record (bin)]...]]
 * At most AAE_REPAIR_KEYS_MAX entries; buckets and keys within the store's
 * limits. aae_recv validates everything and never asserts on the bytes.
 * A REPLY holds at most repair_bytes_per_msg bytes, or one record; joined
 * is the number of REPAIR entries it answers, records left out included.
 *
 * MEMORY. The caller allocates aae_t; aae_init / aae_free. The driver
 * borrows the coordinator and the store (both must outlive it). Outputs
 * (aae_ready_t and what it points to) stay valid until aae_advance or any
 * other call that takes now_ms. Errors are negative SH_E... codes.
 */
#ifndef SHOAL_NODE_AAE_H
#define SHOAL_NODE_AAE_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/merkle.h"
#include "common/sh_buf.h"
#include "node/coord.h"
#include "node/store.h"
#include "node/store_tap.h"

#define AAE_INTERVAL_MS_DEFAULT  2000
#define AAE_SCAN_KEYS_DEFAULT    2048 /* keys read from storage per tick */
#define AAE_TIMEOUT_MS_DEFAULT   15000
#define AAE_RESPONDERS_DEFAULT   4
#define AAE_REPAIR_KEYS_DEFAULT  64         /* keys per REPAIR message */
#define AAE_REPAIR_BYTES_DEFAULT (1u << 20) /* records per REPAIR */
#define AAE_REPAIR_KEYS_MAX      1024
#define AAE_RESPONDERS_MAX       64
#define AAE_REFRESH_MS           1000 /* ownership recomputed */
#define AAE_MSG_VERSION          1
#define AAE_NO_DEADLINE          UINT64_MAX

typedef enum aae_msg_type {
	AAE_MSG_MERKLE = 1,
	AAE_MSG_REFUSE = 2,
	AAE_MSG_REPAIR = 3,
	AAE_MSG_REPLY = 4,
} aae_msg_type_t;

typedef struct aae_config {
	const char *self;              /* this node's member name (copied) */
	uint32_t segments, fanout;     /* tree geometry (merkle.h defaults) */
	uint64_t interval_ms;          /* between exchange starts; > 0 */
	uint32_t scan_keys_per_tick;   /* storage keys read per tick; > 0 */
	uint32_t timeout_ms;           /* peer silence that fails an exchange */
	uint32_t responders_max;       /* 1..AAE_RESPONDERS_MAX */
	uint32_t repair_keys_per_msg;  /* 1..AAE_REPAIR_KEYS_MAX */
	uint32_t repair_bytes_per_msg; /* a REPAIR or REPLY is cut past this */
	uint64_t seed;                 /* exchange ids */
} aae_config_t;

/* The last exchange of one partition this node started. */
typedef struct aae_last {
	int ran;           /* 0: none yet */
	uint64_t ended_ms; /* now_ms when it ended */
	uint64_t took_ms;
	char peer[COORD_NAME_MAX + 1];
	int result; /* 0 repaired or nothing to do, 1 roots equal,
	             * < 0 failed (SH_E... code) */
	uint64_t keys_repaired;
	uint64_t bytes_sent; /* by this node for it */
} aae_last_t;

typedef struct aae_stats {
	uint64_t exchanges_started, exchanges_completed, exchanges_failed;
	uint64_t exchanges_equal; /* completed with equal roots */
	uint64_t responded;       /* exchanges answered for peers */
	uint64_t refused;         /* REFUSEs sent (OPENs, unknown exchanges) */
	uint64_t keys_repaired;   /* differing keys repaired (initiator) */
	uint64_t records_joined;  /* peers' records joined here */
	uint64_t msgs_sent, bytes_sent; /* every AAE message */
	uint64_t msgs_received, bytes_received;
	uint64_t msgs_rejected;      /* undecodable or unexpected */
	uint64_t rebuilds;           /* tree rebuilds finished */
	uint64_t rebuild_keys;       /* keys read by rebuilds */
	uint64_t tree_updates;       /* writes applied to trees */
	uint64_t trees, trees_built; /* now */
	uint64_t join_errors;        /* records that did not join */
} aae_stats_t;

/* One message for a peer (bytes owned by the driver). */
typedef struct aae_out {
	const char *to; /* member name */
	const uint8_t *data;
	size_t len;
} aae_out_t;

typedef struct aae_ready {
	const aae_out_t *msgs;
	size_t msg_count;
	uint64_t next_deadline_ms; /* call aae_tick by then */
} aae_ready_t;

struct aae_part;
struct aae_side;

/* The driver. Allocated by the caller; fields are private. */
typedef struct aae {
	aae_config_t cfg;
	char self[COORD_NAME_MAX + 1];
	coord_t *coord; /* borrowed */
	store_t *store; /* borrowed */
	uint64_t rng;   /* splitmix state */
	uint32_t partitions;
	struct aae_part **parts; /* [partitions]; NULL: not replicated */
	uint64_t next_refresh_ms;
	uint64_t next_exchange_ms;
	uint32_t next_part; /* round robin */
	/* the rebuild in progress: partition, or UINT32_MAX */
	uint32_t rebuild_part;
	store_cursor_t rebuild_cursor;
	/* trees with rebuild_due set: the per-turn tick and aae_busy skip
	 * the walk over all partitions when there are none */
	uint32_t rebuilds_due;
	uint32_t budget;        /* keys left in this tick */
	struct aae_side *ini;   /* initiator exchange, or NULL */
	struct aae_side **resp; /* [responders_max] */
	/* outputs */
	sh_buf_t out_bytes;
	aae_out_t *outs;
	size_t *out_off;
	char (*out_to)[COORD_NAME_MAX + 1];
	size_t out_n, out_cap;
	sh_buf_t scratch;
	uint64_t now_ms; /* of the last call */
	aae_stats_t stats;
	merkle_stats_t msum; /* merkle exchanges of both roles */
} aae_t;

/* aae_config_default - fill *cfg (out); self NULL, seed 0. */
void aae_config_default(aae_config_t *cfg);

/*
 * aae_init - make *a (out) a driver over coord and store (borrowed).
 * Trees appear at the first aae_tick. Returns 0, SH_EINVAL (cfg out of
 * range, no self), SH_ENOMEM; on error aae_free is harmless.
 */
int aae_init(aae_t *a, const aae_config_t *cfg, coord_t *coord, store_t *store);

/* aae_free - release everything a owns; exchanges are dropped. */
void aae_free(aae_t *a);

/*
 * aae_tap_hooks - fill *h (out) with the hooks that feed a's trees, for
 * store_tap_add_hooks on the store a and the coordinator write through
 * (h->arg is a: store_tap_remove_hooks(&s, a) before aae_free).
 */
void aae_tap_hooks(aae_t *a, store_tap_hooks_t *h);

/*
 * aae_record_hash - the object hash of a stored record rec[0..len)
 * (coord_obj_encode's bytes): xxh3-64 of the bytes after the kind byte,
 * equal to coord_obj_hash of the decoded object; 0 for an empty record.
 */
uint64_t aae_record_hash(const uint8_t *rec, size_t len);

/*
 * aae_recv - one AAE message data[0..len) (in, borrowed) from the member
 * `from`. A store batch must be open. Returns 0 when taken, or a negative
 * code when rejected (counted in msgs_rejected; nothing else changes).
 */
int aae_recv(aae_t *a, uint64_t now_ms, const char *from, const uint8_t *data,
             size_t len);

/*
 * aae_refusal - what a node that runs no anti-entropy (no aae_t) answers
 * to the AAE message data[0..len) (borrowed): for a MERKLE or REPAIR
 * message, a REFUSE of its exchange with status SH_EDISABLED, appended to
 * out, so that the initiator moves on at once instead of waiting
 * timeout_ms; nothing for a message that wants no answer (a REFUSE, a
 * REPLY, a MERKLE DONE). 0, or a negative code when the message does not
 * decode (nothing appended).
 */
int aae_refusal(const uint8_t *data, size_t len, sh_buf_t *out);

/*
 * aae_tick - the time is now_ms: recompute ownership when due, advance the
 * rebuild and the exchanges' key scans (at most scan_keys_per_tick keys),
 * send repairs, time out silent exchanges, start the next exchange when
 * due. Must not run inside a store scan.
 */
void aae_tick(aae_t *a, uint64_t now_ms);

/*
 * aae_ready - the messages to send and the next deadline (out, valid until
 * aae_advance or the next call that takes now_ms).
 */
void aae_ready(aae_t *a, aae_ready_t *out);

/* aae_advance - the caller sent the messages: forget them. */
void aae_advance(aae_t *a);

/* aae_stats - the counters (live, read-only). */
const aae_stats_t *aae_stats(const aae_t *a);

/* aae_merkle_stats - fill *out with the merkle exchange totals. */
void aae_merkle_stats(const aae_t *a, merkle_stats_t *out);

/*
 * aae_partition_info - about partition p: *owned (replicated here), *built
 * (its tree is usable), *keys (in the tree), *last (the last exchange it
 * started, if any). Returns 0 or SH_ERANGE.
 */
int aae_partition_info(const aae_t *a, uint32_t p, int *owned, int *built,
                       uint64_t *keys, aae_last_t *last);

/* aae_busy - 1 while an exchange runs or a rebuild is under way. */
int aae_busy(const aae_t *a);

#endif /* SHOAL_NODE_AAE_H */
