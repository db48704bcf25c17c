/*
 * bench_keys.h - key choosers for shoal-bench workloads, as in YCSB:
 * uniform, zipfian (constant 0.99, optionally scrambled so the popular
 * keys spread over the key space, by a permutation: every key has a rank) and
 * latest (zipfian over recency: the most recently inserted key is the most
 * popular). Pure: randomness comes from the caller's sh_rand_t.
 */
#ifndef BENCH_KEYS_H
#define BENCH_KEYS_H

#include <stdint.h>

#include "common/sh_rand.h"

#define BENCH_ZIPF_THETA 0.99

typedef enum bench_dist {
	BENCH_DIST_UNIFORM,
	BENCH_DIST_ZIPFIAN,   /* scrambled */
	BENCH_DIST_ZIPF_RANK, /* unscrambled: key 0 is the most popular */
	BENCH_DIST_LATEST,
} bench_dist_t;

typedef struct bench_keys {
	bench_dist_t dist;
	uint64_t items; /* keys 0..items-1 exist; grows with inserts */
	/* zipfian state for `zipf_n` items (YCSB's ZipfianGenerator) */
	uint64_t zipf_n;
	double zeta_n, zeta_2, alpha, eta;
	/* scramble: rank -> (rank * mul + add) % items, a bijection (mul is
	 * coprime with items), so every key keeps exactly one rank */
	uint64_t mul, add;
} bench_keys_t;

/* bench_keys_init - a chooser over `items` (> 0) keys. O(items) for the
 * zipfian distributions (the zeta sum). */
void bench_keys_init(bench_keys_t *k, bench_dist_t dist, uint64_t items);

/* bench_keys_next - the next key index, in [0, k->items). */
uint64_t bench_keys_next(bench_keys_t *k, sh_rand_t *r);

/* bench_keys_insert - a new key was inserted; returns its index (the old
 * item count). The latest distribution follows it. */
uint64_t bench_keys_insert(bench_keys_t *k);

/* bench_zeta - sum of 1/i^theta for i in 1..n (exposed for the tests). */
double bench_zeta(uint64_t n, double theta);

#endif /* BENCH_KEYS_H */
