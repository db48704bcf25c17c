/*
 * bench_keys.c - key choosers: uniform, zipfian (Gray et al., "Quickly
 * generating billion-record synthetic databases", as YCSB implements it)
 * scrambled by an affine permutation of the key space, and latest. YCSB
 * scrambles with a hash modulo the item count, which maps about a third
 * of the ranks onto keys already taken and leaves those keys unread; a
 * permutation keeps the zipfian shape over every key.
 */
#include "bench/bench_keys.h"

#include <math.h>

double bench_zeta(uint64_t n, double theta)
{
	double s = 0;
	for (uint64_t i = 1; i <= n; i++)
		s += 1.0 / pow((double)i, theta);
	return s;
}

static uint64_t fnv64(uint64_t v);

static void zipf_setup(bench_keys_t *k, uint64_t n)
{
	double t = BENCH_ZIPF_THETA;
	k->zipf_n = n;
	k->zeta_n = bench_zeta(n, t);
	k->zeta_2 = bench_zeta(2, t);
	k->alpha = 1.0 / (1.0 - t);
	k->eta =
	    (1 - pow(2.0 / (double)n, 1 - t)) / (1 - k->zeta_2 / k->zeta_n);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

void bench_keys_init(bench_keys_t *k, bench_dist_t dist, uint64_t items)
{
	k->dist = dist;
	k->items = items ? items : 1;
	zipf_setup(k, k->items);
	/* a multiplier far from 1 and coprime with items, so neighbouring
	 * ranks land far apart (integers coprime with a 64-bit n are never
	 * more than a few hundred apart: the loop is bounded) */
	k->mul = k->items > 1 ? fnv64(k->items) % k->items : 0;
	for (int i = 0; i < 1000 && k->items > 1 && gcd(k->mul, k->items) != 1;
	     i++)
		k->mul = (k->mul + 1) % k->items;
	k->add = k->items > 1 ? fnv64(k->items + 1) % k->items : 0;
}

/* A rank in [0, n) from the zipfian distribution over zipf_n items. */
static uint64_t zipf_rank(const bench_keys_t *k, sh_rand_t *r)
{
	double u = sh_rand_double(r);
	double uz = u * k->zeta_n;
	if (uz < 1.0)
		return 0;
	if (uz < 1.0 + pow(0.5, BENCH_ZIPF_THETA))
		return 1;
	uint64_t n = k->zipf_n;
	uint64_t rank =
	    (uint64_t)((double)n * pow(k->eta * u - k->eta + 1, k->alpha));
	return rank < n ? rank : n - 1;
}

static uint64_t fnv64(uint64_t v)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < 8; i++) {
		h ^= v & 0xff;
		h *= 0x100000001b3ull;
		v >>= 8;
	}
	return h;
}

uint64_t bench_keys_next(bench_keys_t *k, sh_rand_t *r)
{
	switch (k->dist) {
	case BENCH_DIST_UNIFORM: return sh_rand_below(r, k->items);
	case BENCH_DIST_ZIPFIAN:
		return (uint64_t)(((unsigned __int128)zipf_rank(k, r) * k->mul +
		                   k->add) %
		                  k->items);
	case BENCH_DIST_ZIPF_RANK: return zipf_rank(k, r);
	case BENCH_DIST_LATEST: {
		/* Recency rank over the keys at init: the zeta sum is not
		 * recomputed per insert (YCSB does the same incrementally;
		 * a fixed window keeps next() O(1)). */
		uint64_t rank = zipf_rank(k, r);
		return rank < k->items ? k->items - 1 - rank : 0;
	}
	}
	return 0;
}

uint64_t bench_keys_insert(bench_keys_t *k)
{
	return k->items++;
}
