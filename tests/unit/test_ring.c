/*
 * test_ring.c - unit tests of ring/: configuration, key hashing and
 * partitions, ownership (determinism, balance, distinct owners, movement),
 * preference lists with fallbacks, and a property test over random member
 * sets (seed from SHOAL_TEST_SEED, printed).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "ring/ring.h"

#define NAMES_MAX 64

/* "node1".."nodeN" (or with another prefix), kept in static storage. */
typedef struct names {
	char buf[NAMES_MAX][RING_NAME_MAX + 1];
	const char *v[NAMES_MAX];
	size_t count;
} names_t;

static void names_fill(names_t *n, const char *prefix, size_t count)
{
	assert_true(count <= NAMES_MAX);
	n->count = count;
	for (size_t i = 0; i < count; i++) {
		snprintf(n->buf[i], sizeof(n->buf[i]), "%s%zu", prefix, i + 1);
		n->v[i] = n->buf[i];
	}
}

static void ring_with(ring_t *r, uint32_t q, uint32_t n, const names_t *nm)
{
	ring_config_t cfg;

	ring_config_default(&cfg);
	cfg.partitions = q;
	cfg.n_replicas = n;
	assert_int_equal(ring_init(r, &cfg), 0);
	assert_int_equal(ring_set_members(r, nm->v, nm->count), 0);
}

static void test_ring_config_validates_partitions(void **state)
{
	(void)state;
	ring_config_t cfg;
	ring_t r;
	const uint32_t bad[] = {0, 3, 6, 100, 65535, 131072};
	const uint32_t good[] = {1, 2, 64, 1024, 65536};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ring_config_default(&cfg);
		cfg.partitions = bad[i];
		assert_int_equal(ring_init(&r, &cfg), SH_EINVAL);
		ring_free(&r);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ring_config_default(&cfg);
		cfg.partitions = good[i];
		assert_int_equal(ring_init(&r, &cfg), 0);
		assert_int_equal(ring_partitions(&r), good[i]);
		ring_free(&r);
	}
	ring_config_default(&cfg);
	cfg.n_replicas = 0;
	assert_int_equal(ring_init(&r, &cfg), SH_EINVAL);
	cfg.n_replicas = RING_N_MAX + 1;
	assert_int_equal(ring_init(&r, &cfg), SH_EINVAL);
	ring_config_default(&cfg);
	cfg.members_max = 0;
	assert_int_equal(ring_init(&r, &cfg), SH_EINVAL);
	ring_config_default(&cfg);
	cfg.slot_slack_pct = RING_SLACK_PCT_MAX + 1;
	assert_int_equal(ring_init(&r, &cfg), SH_EINVAL);
	assert_int_equal(ring_init(&r, NULL), 0);
	assert_int_equal(ring_partitions(&r), RING_PARTITIONS_DEFAULT);
	assert_int_equal(ring_n_replicas(&r), RING_N_DEFAULT);
	ring_free(&r);
}

static void test_ring_partition_is_top_bits_of_hash(void **state)
{
	(void)state;
	ring_config_t cfg;
	ring_t r;
	const uint64_t hashes[] = {0,
	                           1,
	                           UINT64_MAX,
	                           0x8000000000000000ULL,
	                           0x03ffffffffffffffULL,
	                           0xfc00000000000000ULL,
	                           0x123456789abcdef0ULL};

	ring_config_default(&cfg);
	for (uint32_t bits = 0; bits <= 16; bits += 4) {
		cfg.partitions = 1u << bits;
		assert_int_equal(ring_init(&r, &cfg), 0);
		for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]);
		     i++) {
			uint64_t want = bits ? hashes[i] >> (64 - bits) : 0;

			assert_int_equal(ring_partition(&r, hashes[i]), want);
		}
		ring_free(&r);
	}
	cfg.partitions = 64;
	assert_int_equal(ring_init(&r, &cfg), 0);
	assert_int_equal(ring_partition(&r, 0xfc00000000000000ULL), 63);
	assert_int_equal(ring_partition(&r, 0x03ffffffffffffffULL), 0);
	assert_int_equal(ring_partition(&r, 0x0400000000000000ULL), 1);
	ring_free(&r);
}

static void test_ring_key_hash_frames_bucket_and_key(void **state)
{
	(void)state;
	const uint8_t framed[] = {'c', 'a', 'r', 't', 0, 'k', '1'};

	assert_true(ring_key_hash("cart", 4, "k1", 2) ==
	            XXH3_64bits(framed, sizeof(framed)));
	assert_true(ring_key_hash("ab", 2, "c", 1) !=
	            ring_key_hash("a", 1, "bc", 2));
	assert_true(ring_key_hash(NULL, 0, NULL, 0) == XXH3_64bits("", 1));
}

static void test_ring_owners_ignore_member_order(void **state)
{
	(void)state;
	static names_t a, b;
	ring_t ra, rb;
	sh_rand_t rnd;

	names_fill(&a, "node", 13);
	b = a;
	sh_rand_seed(&rnd, 7);
	for (size_t i = b.count - 1; i > 0; i--) { /* shuffle b's pointers */
		size_t j = (size_t)sh_rand_below(&rnd, i + 1);
		const char *t = b.v[i];

		b.v[i] = b.v[j];
		b.v[j] = t;
	}
	ring_with(&ra, 64, 3, &a);
	ring_with(&rb, 64, 3, &b);
	for (uint32_t p = 0; p < 64; p++)
		for (uint32_t k = 0; k < 13; k++)
			assert_string_equal(
			    ring_member_name(&ra, ring_owner(&ra, p, k)),
			    ring_member_name(&rb, ring_owner(&rb, p, k)));
	for (uint32_t m = 1; m < 13; m++)
		assert_true(strcmp(ring_member_name(&ra, m - 1),
		                   ring_member_name(&ra, m)) < 0);
	ring_free(&ra);
	ring_free(&rb);
}

static void test_ring_rejects_bad_member_sets(void **state)
{
	(void)state;
	static names_t nm;
	ring_config_t cfg;
	ring_t r;
	char long_name[RING_NAME_MAX + 2];
	const char *dup[] = {"a", "b", "a"};
	const char *empty[] = {"a", ""};
	const char *null[] = {"a", NULL};
	const char *one_long[1] = {long_name};

	names_fill(&nm, "node", 5);
	ring_with(&r, 64, 3, &nm);
	assert_int_equal(ring_set_members(&r, dup, 3), SH_EINVAL);
	assert_int_equal(ring_set_members(&r, empty, 2), SH_EINVAL);
	assert_int_equal(ring_set_members(&r, null, 2), SH_EINVAL);
	memset(long_name, 'x', RING_NAME_MAX + 1);
	long_name[RING_NAME_MAX + 1] = 0;
	assert_int_equal(ring_set_members(&r, one_long, 1), SH_EINVAL);
	/* failures leave the ring as it was */
	assert_int_equal(ring_member_count(&r), 5);
	assert_int_equal(ring_member_find(&r, "node3"), 2);
	assert_int_equal(ring_member_find(&r, "a"), SH_ENOTFOUND);
	long_name[RING_NAME_MAX] = 0;
	assert_int_equal(ring_set_members(&r, one_long, 1), 0);
	ring_free(&r);

	ring_config_default(&cfg);
	cfg.members_max = 4;
	assert_int_equal(ring_init(&r, &cfg), 0);
	assert_int_equal(ring_set_members(&r, nm.v, 5), SH_ETOOBIG);
	assert_int_equal(ring_set_members(&r, nm.v, 4), 0);
	ring_free(&r);
}

/* Invariants every ring must satisfy; returns the most primaries. */
static uint32_t check_ring(const ring_t *r)
{
	uint32_t q = ring_partitions(r), count = ring_member_count(r);
	uint32_t n = ring_n_replicas(r) < count ? ring_n_replicas(r) : count;
	uint32_t prim = 0, slots = 0, pmax = 0;
	uint8_t seen[NAMES_MAX];

	for (uint32_t p = 0; p < q; p++) {
		memset(seen, 0, sizeof(seen));
		for (uint32_t k = 0; k < count; k++) {
			int m = ring_owner(r, p, k);

			assert_true(m >= 0 && (uint32_t)m < count);
			assert_false(seen[m]); /* a permutation of members */
			seen[m] = 1;
		}
		assert_int_equal(ring_owner(r, p, count), SH_ERANGE);
	}
	for (uint32_t m = 0; m < count; m++) {
		prim += ring_primaries(r, m);
		slots += ring_slots(r, m);
		if (ring_primaries(r, m) > pmax)
			pmax = ring_primaries(r, m);
	}
	assert_int_equal(prim, q);
	assert_int_equal(slots, q * n);
	return pmax;
}

static void test_ring_primaries_balanced_for_2_to_16(void **state)
{
	(void)state;
	static names_t nm;

	for (size_t count = 2; count <= 16; count++) {
		ring_t r;
		uint32_t ideal = (uint32_t)((64 + count - 1) / count);
		uint32_t want = 3 < count ? 3 : (uint32_t)count;
		uint32_t hi =
		    (64 * want * 120 + 100 * count - 1) / (100 * count);

		names_fill(&nm, "node", count);
		ring_with(&r, 64, 3, &nm);
		assert_true(check_ring(&r) <= ideal);
		for (uint32_t m = 0; m < count; m++)
			assert_true(ring_slots(&r, m) <= hi);
		ring_free(&r);
	}
}

static void test_ring_single_replica_still_caps_primaries(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;

	/* n = 1: the owner is the primary, so slots obey the primary cap */
	names_fill(&nm, "node", 16);
	ring_with(&r, 64, 1, &nm);
	assert_true(check_ring(&r) <= 4);
	for (uint32_t m = 0; m < 16; m++) {
		assert_int_equal(ring_slots(&r, m), ring_primaries(&r, m));
		assert_true(ring_slots(&r, m) <= 4);
	}
	ring_free(&r);
}

static void test_ring_every_partition_has_n_distinct_owners(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	uint32_t own[RING_N_MAX];

	names_fill(&nm, "host-", 9);
	ring_with(&r, 256, 4, &nm);
	check_ring(&r);
	for (uint32_t p = 0; p < 256; p++) {
		assert_int_equal(ring_owners(&r, p, 4, own), 4);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(own[i], ring_owner(&r, p, i));
			for (int j = 0; j < i; j++)
				assert_true(own[i] != own[j]);
		}
	}
	assert_int_equal(ring_owners(&r, 256, 4, own), 0);
	assert_int_equal(ring_owners(&r, 0, 20, own), 9);
	ring_free(&r);
}

static int down_set(void *arg, const char *name)
{
	const char *const *down = arg;

	for (; *down; down++)
		if (strcmp(*down, name) == 0)
			return 0;
	return 1;
}

static void test_ring_preflist_primaries_in_ranking_order(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t pl;
	uint64_t h = ring_key_hash("cart", 4, "alice", 5);

	names_fill(&nm, "node", 8);
	ring_with(&r, 64, 3, &nm);
	assert_int_equal(ring_preflist(&r, h, 3, NULL, NULL, &pl), 0);
	assert_int_equal(pl.partition, ring_partition(&r, h));
	assert_int_equal(pl.n, 3);
	assert_int_equal(pl.count, 3);
	assert_false(pl.n_capped);
	assert_int_equal(pl.down, 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pl.entries[i].member,
		                 ring_owner(&r, pl.partition, i));
		assert_string_equal(pl.entries[i].name,
		                    ring_member_name(&r, pl.entries[i].member));
		assert_true(pl.entries[i].is_up);
		assert_false(pl.entries[i].is_fallback);
		assert_int_equal(pl.entries[i].fallback, -1);
		for (unsigned j = 0; j < i; j++)
			assert_true(pl.entries[i].member !=
			            pl.entries[j].member);
	}
	assert_int_equal(ring_preflist(&r, h, 0, NULL, NULL, &pl), SH_EINVAL);
	ring_free(&r);
}

static void test_ring_preflist_fallbacks_skip_down_nodes(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t pl;
	uint64_t h = ring_key_hash("b", 1, "k", 1);
	uint32_t p;
	const char *down[4];

	names_fill(&nm, "node", 8);
	ring_with(&r, 64, 3, &nm);
	p = ring_partition(&r, h);
	/* primaries 0 and 2 down, and the first candidate fallback too */
	down[0] = ring_member_name(&r, ring_owner(&r, p, 0));
	down[1] = ring_member_name(&r, ring_owner(&r, p, 2));
	down[2] = ring_member_name(&r, ring_owner(&r, p, 3));
	down[3] = NULL;
	assert_int_equal(ring_preflist(&r, h, 3, down_set, down, &pl), 0);
	assert_int_equal(pl.n, 3);
	assert_int_equal(pl.down, 2);
	assert_int_equal(pl.unreplaced, 0);
	assert_int_equal(pl.count, 5);
	assert_false(pl.entries[0].is_up);
	assert_true(pl.entries[1].is_up);
	assert_false(pl.entries[2].is_up);
	/* rank 3 is down: fallbacks are ranks 4 and 5, in primary order */
	assert_int_equal(pl.entries[3].member, ring_owner(&r, p, 4));
	assert_int_equal(pl.entries[3].rank, 4);
	assert_true(pl.entries[3].is_fallback);
	assert_int_equal(pl.entries[3].stands_in_for, 0);
	assert_int_equal(pl.entries[0].fallback, 3);
	assert_int_equal(pl.entries[4].member, ring_owner(&r, p, 5));
	assert_int_equal(pl.entries[4].stands_in_for, 2);
	assert_int_equal(pl.entries[2].fallback, 4);
	assert_int_equal(pl.entries[1].fallback, -1);
	ring_free(&r);
}

static void test_ring_preflist_reports_unreplaced(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t pl;
	const char *down[5] = {"node1", "node2", "node3", "node4", NULL};

	names_fill(&nm, "node", 4);
	ring_with(&r, 16, 3, &nm);
	/* all four down: three primaries, nobody left to stand in */
	assert_int_equal(ring_preflist(&r, 42, 3, down_set, down, &pl), 0);
	assert_int_equal(pl.count, 3);
	assert_int_equal(pl.down, 3);
	assert_int_equal(pl.unreplaced, 3);
	/* one spare up: it stands in for the first down primary only */
	down[ring_owner(&r, ring_partition(&r, 42), 3)] = "none";
	assert_int_equal(ring_preflist(&r, 42, 3, down_set, down, &pl), 0);
	assert_int_equal(pl.count, 4);
	assert_int_equal(pl.unreplaced, 2);
	assert_int_equal(pl.entries[3].stands_in_for, 0);
	ring_free(&r);
}

/* ring_preflist writes every field up to count whatever *out held
 * before: a list built over garbage equals one built over zeros. */
static void test_ring_preflist_over_garbage(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t a, b;
	const char *down[3] = {"node2", "node5", NULL};

	names_fill(&nm, "node", 8);
	ring_with(&r, 64, 3, &nm);
	for (uint64_t h = 0; h < 200; h++) {
		unsigned n = 1 + (unsigned)(h % 5);
		memset(&a, 0, sizeof a);
		memset(&b, 0xa5, sizeof b);
		assert_int_equal(ring_preflist(&r, h * 0x9e3779b97f4a7c15ULL, n,
		                               down_set, down, &a),
		                 0);
		assert_int_equal(ring_preflist(&r, h * 0x9e3779b97f4a7c15ULL, n,
		                               down_set, down, &b),
		                 0);
		assert_int_equal(a.partition, b.partition);
		assert_int_equal(a.n_asked, b.n_asked);
		assert_int_equal(a.n, b.n);
		assert_int_equal(a.n_capped, b.n_capped);
		assert_int_equal(a.count, b.count);
		assert_int_equal(a.down, b.down);
		assert_int_equal(a.unreplaced, b.unreplaced);
		for (unsigned i = 0; i < a.count; i++) {
			const ring_pref_t *x = &a.entries[i],
			                  *y = &b.entries[i];
			assert_ptr_equal(x->name, y->name);
			assert_int_equal(x->member, y->member);
			assert_int_equal(x->rank, y->rank);
			assert_int_equal(x->is_up, y->is_up);
			assert_int_equal(x->is_fallback, y->is_fallback);
			assert_int_equal(x->stands_in_for, y->stands_in_for);
			assert_int_equal(x->fallback, y->fallback);
		}
	}
	ring_free(&r);
}

static void test_ring_preflist_caps_n(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t pl;

	names_fill(&nm, "node", 2);
	ring_with(&r, 64, 3, &nm);
	assert_int_equal(ring_preflist(&r, 7, 3, NULL, NULL, &pl), 0);
	assert_int_equal(pl.n_asked, 3);
	assert_int_equal(pl.n, 2);
	assert_true(pl.n_capped);
	assert_int_equal(pl.count, 2);
	ring_free(&r);

	names_fill(&nm, "node", 20);
	ring_with(&r, 64, 3, &nm);
	assert_int_equal(ring_preflist(&r, 7, 40, NULL, NULL, &pl), 0);
	assert_int_equal(pl.n, RING_N_MAX);
	assert_true(pl.n_capped);
	assert_int_equal(ring_preflist(&r, 7, 5, NULL, NULL, &pl), 0);
	assert_int_equal(pl.n, 5);
	assert_false(pl.n_capped);
	ring_free(&r);
}

static void test_ring_empty_ring_answers_clearly(void **state)
{
	(void)state;
	static names_t nm;
	ring_t r;
	ring_preflist_t pl;
	uint32_t own[4];

	assert_int_equal(ring_init(&r, NULL), 0);
	assert_int_equal(ring_member_count(&r), 0);
	assert_int_equal(ring_preflist(&r, 1, 3, NULL, NULL, &pl),
	                 SH_ENOTFOUND);
	assert_int_equal(pl.n, 0);
	assert_int_equal(pl.count, 0);
	assert_true(pl.n_capped);
	assert_int_equal(ring_owner(&r, 0, 0), SH_ERANGE);
	assert_int_equal(ring_owners(&r, 0, 3, own), 0);
	assert_null(ring_member_name(&r, 0));
	assert_int_equal(ring_member_find(&r, "x"), SH_ENOTFOUND);
	names_fill(&nm, "node", 3);
	assert_int_equal(ring_set_members(&r, nm.v, 3), 0);
	assert_int_equal(ring_set_members(&r, NULL, 0), 0);
	assert_int_equal(ring_member_count(&r), 0);
	assert_int_equal(ring_preflist(&r, 1, 3, NULL, NULL, &pl),
	                 SH_ENOTFOUND);
	ring_free(&r);
	ring_free(&r); /* harmless twice */
}

static void test_ring_moved_slots_counts_new_pairs(void **state)
{
	(void)state;
	static names_t nm;
	ring_t a, b, c;

	names_fill(&nm, "node", 4);
	nm.count = 3;
	ring_with(&a, 16, 3, &nm); /* everyone owns everything */
	nm.count = 4;
	ring_with(&b, 16, 3, &nm);
	assert_int_equal(ring_moved_slots(&a, &a, 3), 0);
	/* node4 enters each partition it owns, replacing one of three */
	assert_int_equal(ring_moved_slots(&a, &b, 3),
	                 ring_slots(&b, ring_member_find(&b, "node4")));
	assert_int_equal(ring_moved_slots(&b, &a, 3),
	                 ring_slots(&b, ring_member_find(&b, "node4")));
	ring_with(&c, 32, 3, &nm);
	assert_int_equal(ring_moved_slots(&a, &c, 3), SH_EINVAL);
	assert_int_equal(ring_moved_slots(&a, &b, 0), SH_EINVAL);
	ring_free(&a);
	ring_free(&b);
	ring_free(&c);
}

static void test_ring_join_moves_near_the_minimum(void **state)
{
	(void)state;
	static names_t nm;

	for (size_t count = 2; count <= 16; count++) {
		ring_t a, b;
		uint32_t want = 3 < count + 1 ? 3 : (uint32_t)count + 1;
		int moved, joiner;

		names_fill(&nm, "node", count + 1);
		nm.count = count;
		ring_with(&a, 64, 3, &nm);
		nm.count = count + 1;
		ring_with(&b, 64, 3, &nm);
		moved = ring_moved_slots(&a, &b, 3);
		joiner = (int)ring_slots(&b, ring_member_find(&b, nm.v[count]));
		/* at least the joiner's copies; at most 1.25 x its share */
		assert_true(moved >= joiner);
		assert_true((double)moved <=
		            1.25 * 64.0 * want / (double)(count + 1) + 1e-9);
		ring_free(&a);
		ring_free(&b);
	}
}

static uint64_t test_seed(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eedULL;

	printf("test_ring: SHOAL_TEST_SEED=%" PRIu64 "\n", seed);
	return seed;
}

/* One random cluster: invariants, slot bounds, primaries, determinism. */
static void property_case(sh_rand_t *rnd, names_t *nm)
{
	ring_config_t cfg;
	ring_t r, again;
	size_t count = 1 + (size_t)sh_rand_below(rnd, 40);
	uint32_t n_eff, lo, hi;
	uint64_t ideal100;

	ring_config_default(&cfg);
	cfg.partitions = 1u << sh_rand_below(rnd, 11);
	cfg.n_replicas = 1 + (uint32_t)sh_rand_below(rnd, 5);
	cfg.slot_slack_pct = (uint32_t)sh_rand_below(rnd, 51);
	nm->count = count;
	for (size_t i = 0; i < count; i++) {
		snprintf(nm->buf[i], sizeof(nm->buf[i]), "m%" PRIx64 "-%zu",
		         sh_rand_u64(rnd) >> sh_rand_below(rnd, 64), i);
		nm->v[i] = nm->buf[i];
	}
	assert_int_equal(ring_init(&r, &cfg), 0);
	assert_int_equal(ring_set_members(&r, nm->v, count), 0);
	n_eff = cfg.n_replicas < count ? cfg.n_replicas : (uint32_t)count;
	assert_true(check_ring(&r) <= (cfg.partitions + count - 1) / count);
	ideal100 = (uint64_t)cfg.partitions * n_eff;
	hi = (uint32_t)((ideal100 * (100 + cfg.slot_slack_pct) + 100 * count -
	                 1) /
	                (100 * count));
	hi = hi > cfg.partitions ? cfg.partitions : hi;
	lo = 2 * cfg.slot_slack_pct >= 100
	         ? 0
	         : (uint32_t)(ideal100 * (100 - 2 * cfg.slot_slack_pct) /
	                      (100 * count));
	for (uint32_t m = 0; m < count; m++) {
		assert_true(ring_slots(&r, m) <= hi);
		assert_true(ring_slots(&r, m) >= lo);
	}
	/* the same set in reverse order gives the same ring */
	for (size_t i = 0; i < count / 2; i++) {
		const char *t = nm->v[i];

		nm->v[i] = nm->v[count - 1 - i];
		nm->v[count - 1 - i] = t;
	}
	assert_int_equal(ring_init(&again, &cfg), 0);
	assert_int_equal(ring_set_members(&again, nm->v, count), 0);
	assert_memory_equal(r.ranking, again.ranking,
	                    (size_t)cfg.partitions * count * sizeof(uint16_t));
	ring_free(&r);
	ring_free(&again);
}

static void test_ring_property_random_member_sets(void **state)
{
	(void)state;
	static names_t nm;
	sh_rand_t rnd;

	sh_rand_seed(&rnd, test_seed());
	for (int i = 0; i < 300; i++)
		property_case(&rnd, &nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_config_validates_partitions),
	    cmocka_unit_test(test_ring_partition_is_top_bits_of_hash),
	    cmocka_unit_test(test_ring_key_hash_frames_bucket_and_key),
	    cmocka_unit_test(test_ring_owners_ignore_member_order),
	    cmocka_unit_test(test_ring_rejects_bad_member_sets),
	    cmocka_unit_test(test_ring_primaries_balanced_for_2_to_16),
	    cmocka_unit_test(test_ring_single_replica_still_caps_primaries),
	    cmocka_unit_test(test_ring_every_partition_has_n_distinct_owners),
	    cmocka_unit_test(test_ring_preflist_primaries_in_ranking_order),
	    cmocka_unit_test(test_ring_preflist_fallbacks_skip_down_nodes),
	    cmocka_unit_test(test_ring_preflist_reports_unreplaced),
	    cmocka_unit_test(test_ring_preflist_over_garbage),
	    cmocka_unit_test(test_ring_preflist_caps_n),
	    cmocka_unit_test(test_ring_empty_ring_answers_clearly),
	    cmocka_unit_test(test_ring_moved_slots_counts_new_pairs),
	    cmocka_unit_test(test_ring_join_moves_near_the_minimum),
	    cmocka_unit_test(test_ring_property_random_member_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
