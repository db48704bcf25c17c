/*
 * bench_workload.h - the workloads of shoal-bench: YCSB core A, B, C, D, F,
 * `cart` (CRDT map updates on a zipfian set of carts) and `session`
 * (write a session blob, then mostly reads of recent sessions). A workload
 * turns a seeded PRNG into a stream of operations; the drivers turn an
 * operation into bytes for their protocol. Pure: no IO, no clock.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stdint.h>

#include "bench/bench_keys.h"
#include "common/sh_rand.h"

typedef enum bench_op_kind {
	BENCH_OP_READ,
	BENCH_OP_UPDATE,
	BENCH_OP_INSERT,
	BENCH_OP_RMW, /* read, then write with the context read */
	BENCH_OP_CART_ADD,
	BENCH_OP_CART_QTY,
	BENCH_OP_CART_REMOVE,
	BENCH_OP_CART_READ,
	BENCH_OP_KINDS
} bench_op_kind_t;

typedef enum bench_wl_kind {
	BENCH_WL_A,
	BENCH_WL_B,
	BENCH_WL_C,
	BENCH_WL_D,
	BENCH_WL_F,
	BENCH_WL_CART,
	BENCH_WL_SESSION,
} bench_wl_kind_t;

typedef struct bench_op {
	bench_op_kind_t kind;
	const char *bucket;   /* static string: "bench", "carts", "sessions" */
	uint64_t key;         /* key (or cart) index */
	uint32_t item;        /* cart ops: the sku number */
	int32_t delta;        /* cart ops: counter increment */
	uint32_t value_bytes; /* writes: body size */
} bench_op_t;

typedef struct bench_workload {
	bench_wl_kind_t kind;
	bench_keys_t keys;
	uint32_t value_min, value_max; /* inclusive range of value sizes */
	uint32_t cart_items;           /* skus per cart */
} bench_workload_t;

/* bench_workload_parse - "A".."F" (not E), "cart", "session" (case
 * insensitive) into *out; SH_EINVAL for anything else. */
int bench_workload_parse(const char *name, bench_wl_kind_t *out);

/* bench_workload_name, bench_op_name - static names for output. */
const char *bench_workload_name(bench_wl_kind_t kind);
const char *bench_op_name(bench_op_kind_t kind);

/* bench_workload_init - keys: key space size (> 0); dist: the request
 * distribution for A, B, C, F (D and session always use latest, cart
 * zipfian); value sizes in [value_min, value_max]. */
void bench_workload_init(bench_workload_t *w, bench_wl_kind_t kind,
                         bench_dist_t dist, uint64_t keys, uint32_t value_min,
                         uint32_t value_max);

/* bench_workload_next - the next operation into *op. */
void bench_workload_next(bench_workload_t *w, sh_rand_t *r, bench_op_t *op);

/* bench_workload_preload - the i-th preload operation (i < keys): writes
 * key i so reads find data. */
void bench_workload_preload(bench_workload_t *w, sh_rand_t *r, uint64_t i,
                            bench_op_t *op);

#endif /* BENCH_WORKLOAD_H */
