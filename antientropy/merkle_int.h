/*
 * merkle_int.h - declarations shared by the files of the Merkle module
 * (merkle.c, merkle_codec.c, merkle_exchange.c); not part of the API.
 * The message layout is described at the top of merkle.h.
 */
#ifndef SHOAL_MERKLE_INT_H
#define SHOAL_MERKLE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "antientropy/merkle.h"
#include "common/sh_buf.h"

/* 1 if the geometry is one merkle_init accepts. */
int merkle__geometry_ok(uint32_t segments, uint32_t fanout,
                        uint32_t partition_bits);

/* 1 if key_hash falls in t's partition. */
int merkle__in_partition(const merkle_t *t, uint64_t key_hash);

void merkle__put_u64be(uint8_t *p, uint64_t v);
uint64_t merkle__get_u64be(const uint8_t *p);

/*
 * Encoders: each appends one whole message to out. 0 or SH_ENOMEM (out
 * may then hold a partial message: the caller truncates it back).
 */
int merkle__enc_open(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     uint32_t segments, uint32_t fanout,
                     uint32_t partition_bits, uint64_t root);
/* NODES_REQ (type MERKLE_MSG_NODES_REQ) or KEYS_REQ: level ignored. */
int merkle__enc_ids(sh_buf_t *out, merkle_msg_type_t type, uint64_t xid,
                    uint32_t partition, uint32_t level, const uint32_t *ids,
                    uint32_t n);
int merkle__enc_nodes(sh_buf_t *out, uint64_t xid, uint32_t partition,
                      uint32_t level, const uint32_t *parents, uint32_t n,
                      const uint64_t *hashes, uint32_t hn);
/* KEYS with keys l->v[first .. first+n). */
int merkle__enc_keys(sh_buf_t *out, uint64_t xid, uint32_t partition, int last,
                     const merkle__klist_t *l, size_t first, uint32_t n);
int merkle__enc_done(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     int64_t status);
/* SUMS_REQ, and PKEYS_REQ (type MERKLE_MSG_PKEYS_REQ: first, bits
 * ignored). */
int merkle__enc_paths(sh_buf_t *out, merkle_msg_type_t type, uint64_t xid,
                      uint32_t partition, int first, uint32_t bits,
                      const uint64_t *paths, uint32_t n);
/* SUMS: for n paths, 1 << bits counts and sums each. */
int merkle__enc_sums(sh_buf_t *out, uint64_t xid, uint32_t partition,
                     uint32_t bits, uint32_t n, const uint8_t *counts,
                     const uint32_t *sums);

/* ---- paths below the segments (merkle.h, "Below the segments") ---- */

/* The prefix length of a path (its marker bit's position). */
uint32_t merkle__path_len(uint64_t path);

/* The path of length len (seg_bits..MERKLE_PATH_BITS_MAX) of a key hash. */
uint64_t merkle__path_of(const merkle_t *t, uint64_t key_hash, uint32_t len);

/* The key hashes under a path of t's partition: [*lo, *hi]. */
void merkle__path_range(const merkle_t *t, uint64_t path, uint64_t *lo,
                        uint64_t *hi);

/* ---- the exchange, shared by merkle_exchange.c and merkle_sub.c ---- */

enum {
	MERKLE__P_IDLE = 0,
	MERKLE__P_WALK,  /* initiator: a NODES_REQ (or OPEN) is outstanding */
	MERKLE__P_KEYS,  /* initiator: collecting both sides' keys of a step */
	MERKLE__P_SERVE, /* responder: waiting for the next request */
	MERKLE__P_COLLECT, /* responder: collecting local keys for a KEYS_REQ */
	MERKLE__P_END,     /* DONE or ABORTED */
	MERKLE__P_SUB_FIRST,   /* initiator: local keys and the first SUMS */
	MERKLE__P_SUB_SUMS,    /* initiator: a SUMS_REQ is outstanding */
	MERKLE__P_SUB_KEYS,    /* initiator: a PKEYS_REQ is outstanding */
	MERKLE__P_SUB_COLLECT, /* responder: collecting for a first SUMS_REQ */
};

/* Record the message just appended at out_bytes[start..] (rc: the
 * encoder's result). 0 or SH_ENOMEM. */
int merkle__queue_msg(merkle_exchange_t *x, size_t start, int rc);
/* Abort with err; tell the peer when notify. Returns err. */
int merkle__abort(merkle_exchange_t *x, int err, int notify);
void merkle__await_peer(merkle_exchange_t *x, uint64_t now_ms);
/* Start collecting keys for segments cur[at .. at+n). */
void merkle__step_begin(merkle_exchange_t *x, uint32_t at, uint32_t n);
/* Forget the step's wanted segments. */
void merkle__step_clear(merkle_exchange_t *x);
int merkle__want_has(const merkle_exchange_t *x, uint32_t seg);
/* Append a key to l; SH_ETOOBIG past the step's bound. */
int merkle__klist_add(merkle_exchange_t *x, merkle__klist_t *l,
                      const merkle_key_t *k, uint64_t key_hash);
/* Sort a key list by key hash (then name); sets the entries' p. */
void merkle__klist_sort(merkle__klist_t *l);
/* Report the differences between the local list (only its marked keys
 * when marked_only) and the remote list. */
int merkle__compare_lists(merkle_exchange_t *x, int marked_only);
/* Initiator: the next step of differing segments, or finish. */
int merkle__key_step_next(merkle_exchange_t *x, uint64_t now_ms);
/* Responder: send the n keys at v (entries of x->local) as KEYS. */
int merkle__send_keys(merkle_exchange_t *x, const merkle__kent_t *v, size_t n);

/* merkle_sub.c: the walk below the segments. */
/* Initiator: send SUMS_REQ(first) for the step's segments. */
int merkle__sub_step_start(merkle_exchange_t *x, uint64_t now_ms);
/* Initiator: a SUMS or KEYS arrived in a sub phase. */
int merkle__sub_recv(merkle_exchange_t *x, uint64_t now_ms,
                     const merkle_msg_t *m, const void *buf, size_t len);
/* Initiator: its local keys are all in. */
int merkle__sub_local_done(merkle_exchange_t *x, uint64_t now_ms);
/* Responder: SUMS_REQ or PKEYS_REQ. */
int merkle__sub_serve(merkle_exchange_t *x, uint64_t now_ms,
                      const merkle_msg_t *m);
/* Responder: its local keys for a first SUMS_REQ are all in. */
int merkle__sub_collected(merkle_exchange_t *x, uint64_t now_ms);
/* Responder: drop the step's kept keys. */
void merkle__sub_release(merkle_exchange_t *x);
void merkle__sub_free(merkle_exchange_t *x);

#endif /* SHOAL_MERKLE_INT_H */
