/*
 * sh_rand.h - a small seeded PRNG (xoshiro256**, seeded by splitmix64).
 *
 * Every pure core takes its randomness from one of these, handed in by the
 * caller, so that a run is a function of its seed. Not for cryptography.
 */
#ifndef SH_RAND_H
#define SH_RAND_H

#include <stdint.h>

typedef struct sh_rand {
	uint64_t s[4];
} sh_rand_t;

/* sh_rand_seed - (re)start the generator from a 64-bit seed. */
void sh_rand_seed(sh_rand_t *r, uint64_t seed);

/* sh_rand_u64 - the next 64 random bits. */
uint64_t sh_rand_u64(sh_rand_t *r);

/* sh_rand_below - uniform in [0, bound); bound must be > 0. Unbiased. */
uint64_t sh_rand_below(sh_rand_t *r, uint64_t bound);

/* sh_rand_double - uniform in [0, 1). */
double sh_rand_double(sh_rand_t *r);

/* sh_rand_chance - true with probability p (p <= 0 never, p >= 1 always). */
int sh_rand_chance(sh_rand_t *r, double p);

/* sh_splitmix64 - one step of splitmix64 on *state; used to derive seeds. */
uint64_t sh_splitmix64(uint64_t *state);

#endif /* SH_RAND_H */
