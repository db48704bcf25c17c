/*
 * sh_rand.c - xoshiro256** (Blackman and Vigna), seeded through splitmix64
 * so that any 64-bit seed, zero included, gives a good state.
 */
#include "common/sh_rand.h"

#include "common/sh_assert.h"

uint64_t sh_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sh_rand_seed(sh_rand_t *r, uint64_t seed)
{
	uint64_t st = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = sh_splitmix64(&st);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sh_rand_u64(sh_rand_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t sh_rand_below(sh_rand_t *r, uint64_t bound)
{
	sh_assert(bound > 0);
	/* Rejection sampling: drop the top partial range so each value is
	 * equally likely. */
	uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
	uint64_t x;
	do {
		x = sh_rand_u64(r);
	} while (x >= limit);
	return x % bound;
}

double sh_rand_double(sh_rand_t *r)
{
	return (double)(sh_rand_u64(r) >> 11) * 0x1.0p-53;
}

int sh_rand_chance(sh_rand_t *r, double p)
{
	if (p <= 0.0)
		return 0;
	if (p >= 1.0)
		return 1;
	return sh_rand_double(r) < p;
}
