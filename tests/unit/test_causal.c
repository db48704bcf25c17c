/*
 * test_causal.c - unit and property tests of crdt/causal.h: actors, dots,
 * causal contexts (version vector plus cloud), their laws against a
 * brute-force set model, and the decoder against hostile input.
 *
 * Random cases come from one seed: SHOAL_TEST_SEED if set, else a fixed
 * default. It is printed at start and in every property failure, so
 * `SHOAL_TEST_SEED=<seed> ./test_causal` replays a failing run.
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

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "common/sh_rand.h"
#include "crdt/causal.h"

#define SEED_DEFAULT 0x5e0a1c0ffee15ULL

static uint64_t g_seed = SEED_DEFAULT;
static long g_case = -1; /* the random case being checked, for messages */

/* Like assert_true, but a failure names the seed and case to replay. */
#define PROP(cond)                                                             \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_msg("%s (seed %" PRIu64 ", case %ld)", #cond,     \
			         g_seed, g_case);                              \
	} while (0)

/* Each test draws from its own stream so tests replay independently. */
static void rng_for(sh_rand_t *r, uint64_t salt)
{
	sh_rand_seed(r, g_seed ^ (salt * 0x9e3779b97f4a7c15ULL));
}

/* ---- a brute-force model: the set of dots as one bitmap per actor ---- */

#define NA   4  /* actors */
#define CMAX 24 /* highest counter the model draws */

typedef struct model {
	uint32_t bits[NA]; /* bit k - 1 set: counter k seen */
} model_t;

static crdt_actor_t g_actor[NA];

static void actors_init(void)
{
	/* "n1" < "n1"(epoch 9) < "n10" < "n2": names, then length, then epoch
	 */
	assert_int_equal(crdt_actor_init(&g_actor[0], "n1", 2, 7), SH_OK);
	assert_int_equal(crdt_actor_init(&g_actor[1], "n1", 2, 9), SH_OK);
	assert_int_equal(crdt_actor_init(&g_actor[2], "n10", 3, 1), SH_OK);
	assert_int_equal(crdt_actor_init(&g_actor[3], "n2", 2, 0), SH_OK);
}

static crdt_dot_t dot_of(int a, uint64_t counter)
{
	crdt_dot_t d = {.actor = g_actor[a], .counter = counter};
	return d;
}

/* A random dot set: per actor a contiguous prefix and scattered extras. */
static void model_random(sh_rand_t *r, model_t *m)
{
	memset(m, 0, sizeof *m);
	for (int a = 0; a < NA; a++) {
		if (sh_rand_chance(r, 0.2))
			continue;
		uint64_t prefix = sh_rand_below(r, CMAX + 1);
		double extra = sh_rand_double(r) * 0.5;
		for (uint64_t k = 1; k <= CMAX; k++)
			if (k <= prefix || sh_rand_chance(r, extra))
				m->bits[a] |= 1u << (k - 1);
	}
}

static int model_has(const model_t *m, int a, uint64_t k)
{
	return k >= 1 && k <= CMAX && (m->bits[a] >> (k - 1)) & 1;
}

/* Builds ctx from m's dots, added one by one in a random order. */
static void ctx_from_model(sh_rand_t *r, const model_t *m, crdt_ctx_t *c)
{
	crdt_dot_t dots[NA * CMAX];
	size_t n = 0;
	for (int a = 0; a < NA; a++)
		for (uint64_t k = 1; k <= CMAX; k++)
			if (model_has(m, a, k))
				dots[n++] = dot_of(a, k);
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)sh_rand_below(r, i);
		crdt_dot_t t = dots[i - 1];
		dots[i - 1] = dots[j];
		dots[j] = t;
	}
	crdt_ctx_clear(c);
	for (size_t i = 0; i < n; i++) {
		PROP(crdt_ctx_add(c, &dots[i]) == SH_OK);
		PROP(crdt_ctx_check(c));
	}
}

/* Checks that c holds exactly m's dots, in canonical (compacted) form. */
static void ctx_matches_model(const crdt_ctx_t *c, const model_t *m)
{
	PROP(crdt_ctx_check(c));
	size_t vv_len = 0, cloud_len = 0;
	for (int a = 0; a < NA; a++) {
		uint64_t prefix = 0, max = 0;
		while (model_has(m, a, prefix + 1))
			prefix++;
		for (uint64_t k = 1; k <= CMAX + 2; k++) {
			crdt_dot_t d = dot_of(a, k);
			PROP(crdt_ctx_contains(c, &d) == model_has(m, a, k));
			if (model_has(m, a, k)) {
				max = k;
				cloud_len += k > prefix;
			}
		}
		PROP(crdt_ctx_max(c, &g_actor[a]) == max);
		vv_len += prefix > 0;
	}
	PROP(c->vv_len == vv_len);
	PROP(c->cloud_len == cloud_len);
	PROP(crdt_ctx_is_empty(c) == (vv_len + cloud_len == 0));
}

static int model_leq(const model_t *a, const model_t *b)
{
	for (int i = 0; i < NA; i++)
		if (a->bits[i] & ~b->bits[i])
			return 0;
	return 1;
}

/* Canonical bytes of c, for comparing contexts exactly. */
static void encode(const crdt_ctx_t *c, sh_buf_t *b)
{
	sh_buf_reset(b);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, b);
	PROP(crdt_ctx_encode(c, &w) == SH_OK);
}

static int same_bytes(const crdt_ctx_t *a, const crdt_ctx_t *b)
{
	sh_buf_t x = {0}, y = {0};
	encode(a, &x);
	encode(b, &y);
	int same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	sh_buf_free(&x);
	sh_buf_free(&y);
	return same;
}

static int decode_bytes(const uint8_t *p, size_t len, crdt_ctx_t *c)
{
	sh_mp_reader_t r;
	sh_mp_reader_init(&r, p, len);
	return crdt_ctx_decode(&r, c);
}

/* ---- actors and dots ---- */

static void test_causal_actor_init_checks_names(void **state)
{
	(void)state;
	char name[CRDT_ACTOR_NAME_MAX + 2];
	memset(name, 'x', sizeof name);
	crdt_actor_t a;
	assert_int_equal(crdt_actor_init(&a, "", 0, 1), SH_EINVAL);
	assert_int_equal(crdt_actor_init(&a, name, CRDT_ACTOR_NAME_MAX + 1, 1),
	                 SH_ETOOBIG);
	assert_int_equal(crdt_actor_init(&a, name, CRDT_ACTOR_NAME_MAX, 1),
	                 SH_OK);
	assert_int_equal(a.name_len, CRDT_ACTOR_NAME_MAX);
	assert_int_equal(a.name[CRDT_ACTOR_NAME_MAX], '\0');
	assert_true(a.epoch == 1);
}

static void test_causal_actor_and_dot_order_is_total(void **state)
{
	(void)state;
	for (int i = 0; i < NA; i++) {
		for (int j = 0; j < NA; j++) {
			int c = crdt_actor_cmp(&g_actor[i], &g_actor[j]);
			assert_true(i < j ? c < 0 : i > j ? c > 0 : c == 0);
			crdt_dot_t a = dot_of(i, 5), b = dot_of(j, 3);
			int d = crdt_dot_cmp(&a, &b);
			assert_true(i < j ? d < 0 : i > j ? d > 0 : d > 0);
		}
	}
	crdt_dot_t lo = dot_of(0, 1), hi = dot_of(0, UINT64_MAX);
	assert_true(crdt_dot_cmp(&lo, &hi) < 0);
	assert_true(crdt_dot_cmp(&hi, &lo) > 0);
}

/* The order by memcmp, as crdt_actor_cmp is specified. */
static int actor_cmp_ref(const crdt_actor_t *a, const crdt_actor_t *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return a->epoch < b->epoch ? -1 : a->epoch > b->epoch;
}

/* crdt_actor_cmp's word compare of short names orders as memcmp does:
 * random names of 1 to 12 bytes on either side (so lengths below, at
 * and past the 8-byte word meet), from a small alphabet: shared
 * prefixes, NULs and bytes over 0x7f included. */
static void test_causal_actor_cmp_matches_memcmp(void **state)
{
	(void)state;
	static const char alpha[] = {'a', 'b', '\0', (char)0xff, 'a'};
	sh_rand_t r;
	rng_for(&r, 77);
	for (int round = 0; round < 20000; round++) {
		char na[12], nb[12];
		size_t la = 1 + sh_rand_below(&r, 12);
		size_t lb = 1 + sh_rand_below(&r, 12);
		for (size_t i = 0; i < 12; i++) {
			na[i] = alpha[sh_rand_below(&r, sizeof alpha)];
			nb[i] = sh_rand_chance(&r, 0.7)
			            ? na[i]
			            : alpha[sh_rand_below(&r, sizeof alpha)];
		}
		crdt_actor_t a, b;
		assert_int_equal(crdt_actor_init(&a, na, la, round % 3), SH_OK);
		assert_int_equal(crdt_actor_init(&b, nb, lb, round % 5), SH_OK);
		int c = crdt_actor_cmp(&a, &b);
		int want = actor_cmp_ref(&a, &b);
		assert_int_equal(c < 0 ? -1 : c > 0, want);
		c = crdt_actor_cmp(&b, &a);
		assert_int_equal(c < 0 ? -1 : c > 0, -want);
	}
}

/* ---- contexts: basic operations ---- */

static void test_causal_contains_add_next_max(void **state)
{
	(void)state;
	crdt_ctx_t c;
	crdt_ctx_init(&c);
	crdt_dot_t d1 = dot_of(0, 1), d;
	assert_true(crdt_ctx_is_empty(&c));
	assert_false(crdt_ctx_contains(&c, &d1));
	assert_true(crdt_ctx_max(&c, &g_actor[0]) == 0);

	assert_int_equal(crdt_ctx_next(&c, &g_actor[0], &d), SH_OK);
	assert_int_equal(crdt_dot_cmp(&d, &d1), 0);
	assert_true(crdt_ctx_contains(&c, &d1));
	assert_int_equal(crdt_ctx_next(&c, &g_actor[0], &d), SH_OK);
	assert_true(d.counter == 2);
	assert_int_equal(c.vv_len, 1);
	assert_int_equal(c.cloud_len, 0);

	/* Another actor's counters are independent; same name, other epoch. */
	assert_int_equal(crdt_ctx_next(&c, &g_actor[1], &d), SH_OK);
	assert_true(d.counter == 1);
	assert_true(crdt_ctx_max(&c, &g_actor[0]) == 2);

	/* next() counts the cloud too: it never reissues a seen dot. */
	crdt_dot_t far = dot_of(2, 10);
	assert_int_equal(crdt_ctx_add(&c, &far), SH_OK);
	assert_int_equal(c.cloud_len, 1);
	assert_true(crdt_ctx_max(&c, &g_actor[2]) == 10);
	assert_int_equal(crdt_ctx_next(&c, &g_actor[2], &d), SH_OK);
	assert_true(d.counter == 11);
	crdt_dot_t d5 = dot_of(2, 5);
	assert_false(crdt_ctx_contains(&c, &d5));

	/* Adding what is there changes nothing. */
	crdt_ctx_t before;
	crdt_ctx_init(&before);
	assert_int_equal(crdt_ctx_copy(&before, &c), SH_OK);
	assert_int_equal(crdt_ctx_add(&c, &d1), SH_OK);
	assert_int_equal(crdt_ctx_add(&c, &far), SH_OK);
	assert_true(same_bytes(&before, &c));
	assert_true(crdt_ctx_check(&c));
	crdt_ctx_free(&before);
	crdt_ctx_free(&c);
	assert_null(c.vv);
}

static void test_causal_next_refuses_to_wrap(void **state)
{
	(void)state;
	crdt_ctx_t c;
	crdt_ctx_init(&c);
	crdt_dot_t top = dot_of(0, UINT64_MAX), d;
	assert_int_equal(crdt_ctx_add(&c, &top), SH_OK);
	assert_true(crdt_ctx_max(&c, &g_actor[0]) == UINT64_MAX);
	assert_int_equal(crdt_ctx_next(&c, &g_actor[0], &d), SH_ERANGE);
	assert_int_equal(c.cloud_len, 1);
	assert_true(crdt_ctx_check(&c));
	crdt_ctx_free(&c);
}

static void test_causal_cloud_folds_into_vv(void **state)
{
	(void)state;
	crdt_ctx_t c;
	crdt_ctx_init(&c);
	const uint64_t order[] = {3, 5, 2};
	for (size_t i = 0; i < 3; i++) {
		crdt_dot_t d = dot_of(0, order[i]);
		assert_int_equal(crdt_ctx_add(&c, &d), SH_OK);
		assert_true(crdt_ctx_check(&c));
	}
	assert_int_equal(c.vv_len, 0);
	assert_int_equal(c.cloud_len, 3);
	crdt_dot_t d1 = dot_of(0, 1);
	assert_int_equal(crdt_ctx_add(&c, &d1), SH_OK);
	/* 1 fills the gap: 2 and 3 fold in, 5 stays in the cloud. */
	assert_int_equal(c.vv_len, 1);
	assert_true(c.vv[0].counter == 3);
	assert_int_equal(c.cloud_len, 1);
	assert_true(c.cloud[0].counter == 5);
	crdt_dot_t d4 = dot_of(0, 4);
	assert_int_equal(crdt_ctx_add(&c, &d4), SH_OK);
	assert_true(c.vv[0].counter == 5);
	assert_int_equal(c.cloud_len, 0);
	assert_true(crdt_ctx_check(&c));
	crdt_ctx_free(&c);
}

static void test_causal_any_add_order_folds_completely(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 1);
	crdt_ctx_t c;
	crdt_ctx_init(&c);
	for (g_case = 0; g_case < 2000; g_case++) {
		model_t m;
		memset(&m, 0, sizeof m);
		uint64_t n[NA];
		for (int a = 0; a < NA; a++) {
			n[a] = sh_rand_below(&r, CMAX + 1);
			m.bits[a] = n[a] ? (uint32_t)((1ull << n[a]) - 1) : 0;
		}
		ctx_from_model(&r, &m, &c);
		ctx_matches_model(&c, &m);
		PROP(c.cloud_len == 0);
		for (size_t i = 0; i < c.vv_len; i++)
			PROP(c.vv[i].counter >= 1);
	}
	g_case = -1;
	crdt_ctx_free(&c);
}

static void test_causal_random_dot_sets_match_model(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 2);
	crdt_ctx_t c, c2;
	crdt_ctx_init(&c);
	crdt_ctx_init(&c2);
	for (g_case = 0; g_case < 3000; g_case++) {
		model_t m;
		model_random(&r, &m);
		ctx_from_model(&r, &m, &c);
		ctx_matches_model(&c, &m);
		/* Another order gives the same bytes: the form is canonical. */
		ctx_from_model(&r, &m, &c2);
		PROP(same_bytes(&c, &c2));
		PROP(crdt_ctx_copy(&c2, &c) == SH_OK);
		ctx_matches_model(&c2, &m);
	}
	g_case = -1;
	crdt_ctx_free(&c);
	crdt_ctx_free(&c2);
}

/* ---- contexts: merge and order laws ---- */

static void merged(const crdt_ctx_t *a, const crdt_ctx_t *b, crdt_ctx_t *out)
{
	PROP(crdt_ctx_copy(out, a) == SH_OK);
	PROP(crdt_ctx_merge(out, b) == SH_OK);
	PROP(crdt_ctx_check(out));
}

static void check_merge_laws(sh_rand_t *r)
{
	model_t ma, mb, mc, mu;
	model_random(r, &ma);
	model_random(r, &mb);
	model_random(r, &mc);
	crdt_ctx_t a = {0}, b = {0}, c = {0}, ab = {0}, ba = {0}, x = {0},
	           y = {0};
	ctx_from_model(r, &ma, &a);
	ctx_from_model(r, &mb, &b);
	ctx_from_model(r, &mc, &c);
	for (int i = 0; i < NA; i++)
		mu.bits[i] = ma.bits[i] | mb.bits[i];
	merged(&a, &b, &ab);
	merged(&b, &a, &ba);
	ctx_matches_model(&ab, &mu); /* merge is set union */
	PROP(same_bytes(&ab, &ba));  /* commutative */
	merged(&ab, &c, &x);         /* (a ∪ b) ∪ c */
	merged(&b, &c, &y);
	merged(&a, &y, &ba);       /* a ∪ (b ∪ c) */
	PROP(same_bytes(&x, &ba)); /* associative */
	merged(&a, &a, &x);
	PROP(same_bytes(&x, &a)); /* idempotent */
	PROP(crdt_ctx_merge(&x, &x) == SH_OK);
	PROP(same_bytes(&x, &a)); /* merging itself */
	merged(&ab, &a, &x);
	PROP(same_bytes(&x, &ab)); /* absorbs what it holds */
	crdt_ctx_clear(&y);
	merged(&a, &y, &x);
	PROP(same_bytes(&x, &a)); /* the empty context is the unit */
	crdt_ctx_t *all[] = {&a, &b, &c, &ab, &ba, &x, &y};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		crdt_ctx_free(all[i]);
}

static void test_causal_merge_is_union_and_a_semilattice(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 3);
	for (g_case = 0; g_case < 4000; g_case++)
		check_merge_laws(&r);
	g_case = -1;
}

/*
 * After crdt_ctx_reserve(c, o, a), merging o and making a's next dot need
 * no memory (neither array grows, so neither call can fail), over random
 * contexts with and without clouds, with o or a absent; the result is the
 * same as without reserving.
 */
static void test_causal_reserve_makes_merge_and_next_fit(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 7);
	crdt_ctx_t a, b, plain;
	crdt_ctx_init(&a);
	crdt_ctx_init(&b);
	crdt_ctx_init(&plain);
	for (g_case = 0; g_case < 3000; g_case++) {
		model_t ma, mb;
		model_random(&r, &ma);
		model_random(&r, &mb);
		ctx_from_model(&r, &ma, &a);
		ctx_from_model(&r, &mb, &b);
		const crdt_ctx_t *o = sh_rand_chance(&r, 0.2) ? NULL : &b;
		const crdt_actor_t *who = sh_rand_chance(&r, 0.2)
		                              ? NULL
		                              : &g_actor[sh_rand_below(&r, NA)];
		PROP(crdt_ctx_copy(&plain, &a) == SH_OK);
		PROP(crdt_ctx_reserve(&a, o, who) == SH_OK);
		size_t vv_cap = a.vv_cap, cloud_cap = a.cloud_cap;
		crdt_dot_t d1, d2;
		if (o != NULL) {
			PROP(crdt_ctx_merge(&a, o) == SH_OK);
			PROP(crdt_ctx_merge(&plain, o) == SH_OK);
		}
		if (who != NULL) {
			PROP(crdt_ctx_next(&a, who, &d1) == SH_OK);
			PROP(crdt_ctx_next(&plain, who, &d2) == SH_OK);
			PROP(crdt_dot_cmp(&d1, &d2) == 0);
		}
		PROP(a.vv_cap == vv_cap && a.cloud_cap == cloud_cap);
		PROP(crdt_ctx_check(&a));
		PROP(crdt_ctx_equal(&a, &plain));
	}
	g_case = -1;
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
	crdt_ctx_free(&plain);
}

/*
 * The same with no slack left: full arrays, more new actors than the
 * doubling of the vv would make room for, and a next dot that lands in
 * the cloud (the actor has a cloud dot above its vv counter).
 */
static void test_causal_reserve_fills_full_arrays(void **state)
{
	(void)state;
	crdt_ctx_t a, b;
	crdt_actor_t m[5];
	crdt_dot_t d;
	crdt_ctx_init(&a);
	crdt_ctx_init(&b);
	for (int i = 0; i < NA; i++) {
		d = dot_of(i, 1);
		assert_int_equal(crdt_ctx_add(&a, &d), SH_OK);
		d = dot_of(i, 3);
		assert_int_equal(crdt_ctx_add(&a, &d), SH_OK);
	}
	assert_int_equal(a.vv_len, a.vv_cap);
	assert_int_equal(a.cloud_len, a.cloud_cap);
	for (int i = 0; i < 5; i++) {
		char name[3] = {'m', (char)('0' + i), 0};
		assert_int_equal(crdt_actor_init(&m[i], name, 2, 1), SH_OK);
		d = (crdt_dot_t){.actor = m[i], .counter = 1};
		assert_int_equal(crdt_ctx_add(&b, &d), SH_OK);
	}
	assert_int_equal(crdt_ctx_reserve(&a, &b, &g_actor[0]), SH_OK);
	size_t vv_cap = a.vv_cap, cloud_cap = a.cloud_cap;
	assert_int_equal(crdt_ctx_merge(&a, &b), SH_OK);
	assert_int_equal(crdt_ctx_next(&a, &g_actor[0], &d), SH_OK);
	assert_true(d.counter == 4);
	assert_int_equal(a.vv_len, NA + 5);
	assert_int_equal(a.cloud_len, NA + 1); /* (actor 0, 4) joined (0, 3) */
	assert_int_equal(a.vv_cap, vv_cap);
	assert_int_equal(a.cloud_cap, cloud_cap);
	assert_true(crdt_ctx_check(&a));
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
}

static void test_causal_leq_and_equal_match_model(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 4);
	crdt_ctx_t a = {0}, b = {0}, ab = {0};
	for (g_case = 0; g_case < 4000; g_case++) {
		model_t ma, mb;
		model_random(&r, &ma);
		/* Often make b a near copy of a, so that leq is not always 0.
		 */
		if (sh_rand_chance(&r, 0.5)) {
			mb = ma;
			int i = (int)sh_rand_below(&r, NA);
			mb.bits[i] ^= 1u << sh_rand_below(&r, CMAX);
		} else {
			model_random(&r, &mb);
		}
		ctx_from_model(&r, &ma, &a);
		ctx_from_model(&r, &mb, &b);
		PROP(crdt_ctx_leq(&a, &b) == model_leq(&ma, &mb));
		PROP(crdt_ctx_leq(&b, &a) == model_leq(&mb, &ma));
		PROP(crdt_ctx_equal(&a, &b) ==
		     (model_leq(&ma, &mb) && model_leq(&mb, &ma)));
		PROP(crdt_ctx_leq(&a, &a) && crdt_ctx_equal(&b, &b));
		merged(&a, &b, &ab);
		PROP(crdt_ctx_leq(&a, &ab) && crdt_ctx_leq(&b, &ab));
	}
	g_case = -1;
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
	crdt_ctx_free(&ab);
}

static void test_causal_leq_spans_cloud_gaps(void **state)
{
	(void)state;
	/* a = {1..6}; b = {1..2} ∪ {3..6 in the cloud} built out of order */
	crdt_ctx_t a = {0}, b = {0};
	for (uint64_t k = 1; k <= 6; k++) {
		crdt_dot_t d = dot_of(0, k);
		assert_int_equal(crdt_ctx_add(&a, &d), SH_OK);
	}
	const uint64_t bk[] = {1, 4, 5, 6};
	for (size_t i = 0; i < 4; i++) {
		crdt_dot_t d = dot_of(0, bk[i]);
		assert_int_equal(crdt_ctx_add(&b, &d), SH_OK);
	}
	assert_false(crdt_ctx_leq(&a, &b)); /* b lacks 2 and 3 */
	assert_true(crdt_ctx_leq(&b, &a));
	crdt_dot_t d3 = dot_of(0, 3), d2 = dot_of(0, 2);
	assert_int_equal(crdt_ctx_add(&b, &d3), SH_OK);
	assert_false(crdt_ctx_leq(&a, &b)); /* still lacks 2 */
	assert_int_equal(crdt_ctx_add(&b, &d2), SH_OK);
	assert_true(crdt_ctx_equal(&a, &b));
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
}

static void test_causal_leq_near_the_top_counter(void **state)
{
	(void)state;
	crdt_vv_entry_t e_hi = {.actor = g_actor[1], .counter = UINT64_MAX};
	crdt_vv_entry_t e_lo = {.actor = g_actor[1], .counter = UINT64_MAX - 4};
	crdt_dot_t cloud[4] = {
	    dot_of(1, UINT64_MAX - 3), dot_of(1, UINT64_MAX - 2),
	    dot_of(1, UINT64_MAX - 1), dot_of(1, UINT64_MAX)};
	/* hi = {1..MAX}; lo = {1..MAX-4} ∪ {MAX-2, MAX-1, MAX} */
	crdt_ctx_t hi = {.vv = &e_hi, .vv_len = 1};
	crdt_ctx_t lo = {
	    .vv = &e_lo, .vv_len = 1, .cloud = &cloud[1], .cloud_len = 3};
	assert_true(crdt_ctx_check(&hi));
	assert_true(crdt_ctx_check(&lo));
	assert_false(crdt_ctx_leq(&hi, &lo));
	assert_true(crdt_ctx_leq(&lo, &hi));
	crdt_dot_t top = dot_of(1, UINT64_MAX), below = dot_of(1, 5);
	assert_true(crdt_ctx_contains(&lo, &top));
	assert_true(crdt_ctx_contains(&hi, &below));
	assert_true(crdt_ctx_max(&lo, &g_actor[1]) == UINT64_MAX);
	/*
	 * leq does not rely on compaction: an uncompacted context whose cloud
	 * fills the gap up to the top counter holds all of hi.
	 */
	lo.cloud = cloud;
	lo.cloud_len = 4;
	assert_true(crdt_ctx_leq(&hi, &lo));
	lo.cloud_len = 3; /* lacks MAX */
	assert_false(crdt_ctx_leq(&hi, &lo));
}

/* ---- encoding ---- */

static void test_causal_encode_decode_round_trip(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 5);
	sh_buf_t b = {0}, b2 = {0};
	crdt_ctx_t c = {0}, d = {0};
	for (g_case = 0; g_case < 3000; g_case++) {
		model_t m;
		model_random(&r, &m);
		ctx_from_model(&r, &m, &c);
		encode(&c, &b);
		sh_mp_reader_t rd;
		sh_mp_reader_init(&rd, b.data, b.len);
		PROP(crdt_ctx_decode(&rd, &d) == SH_OK);
		PROP(sh_mp_reader_left(&rd) == 0);
		ctx_matches_model(&d, &m);
		encode(&d, &b2);
		PROP(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
	}
	g_case = -1;
	sh_buf_free(&b);
	sh_buf_free(&b2);
	crdt_ctx_free(&c);
	crdt_ctx_free(&d);
}

/* A context with a long vv, a cloud and long names: many cut points. */
static void big_ctx(crdt_ctx_t *c)
{
	char name[CRDT_ACTOR_NAME_MAX];
	memset(name, 'q', sizeof name);
	crdt_ctx_clear(c);
	for (int i = 0; i < 6; i++) {
		crdt_dot_t d = {.counter = 1};
		assert_int_equal(crdt_actor_init(&d.actor, name,
		                                 CRDT_ACTOR_NAME_MAX - i,
		                                 (uint64_t)i << 40),
		                 SH_OK);
		for (uint64_t k = 1; k <= 300; k += (k < 200 ? 1 : 37)) {
			d.counter = k;
			assert_int_equal(crdt_ctx_add(c, &d), SH_OK);
		}
	}
	assert_true(c->cloud_len > 0 && c->vv_len == 6);
}

static void test_causal_decode_rejects_every_truncation(void **state)
{
	(void)state;
	crdt_ctx_t c = {0}, d = {0};
	sh_buf_t b = {0};
	big_ctx(&c);
	encode(&c, &b);
	for (size_t cut = 0; cut < b.len; cut++) {
		g_case = (long)cut;
		assert_int_equal(crdt_ctx_copy(&d, &c), SH_OK);
		int rc = decode_bytes(b.data, cut, &d);
		PROP(rc == SH_ETRUNC || rc == SH_EMALFORMED);
		PROP(crdt_ctx_is_empty(&d)); /* emptied on error */
	}
	g_case = -1;
	assert_int_equal(decode_bytes(b.data, b.len, &d), SH_OK);
	assert_true(crdt_ctx_equal(&c, &d));
	crdt_ctx_free(&c);
	crdt_ctx_free(&d);
	sh_buf_free(&b);
}

/* Changes 1..4 bytes of b (set, flip a bit, or bump by one). */
static void corrupt(sh_rand_t *r, sh_buf_t *b)
{
	int n = 1 + (int)sh_rand_below(r, 4);
	for (int i = 0; i < n; i++) {
		size_t at = (size_t)sh_rand_below(r, b->len);
		switch (sh_rand_below(r, 3)) {
		case 0: b->data[at] = (uint8_t)sh_rand_u64(r); break;
		case 1:
			b->data[at] ^= (uint8_t)(1u << sh_rand_below(r, 8));
			break;
		default: b->data[at]++; break;
		}
	}
}

static void test_causal_decode_survives_corruption(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 6);
	crdt_ctx_t c = {0}, d = {0};
	sh_buf_t b = {0}, b2 = {0};
	int accepted = 0, rejected = 0;
	for (g_case = 0; g_case < 20000; g_case++) {
		model_t m;
		model_random(&r, &m);
		if (g_case % 50 == 0)
			big_ctx(&c);
		else
			ctx_from_model(&r, &m, &c);
		encode(&c, &b);
		corrupt(&r, &b);
		int rc = decode_bytes(b.data, b.len, &d);
		if (rc != SH_OK) {
			PROP(rc < 0 && rc >= SH_ERANGE);
			PROP(crdt_ctx_is_empty(&d));
			rejected++;
			continue;
		}
		/* What is accepted is a valid context that round-trips. */
		accepted++;
		PROP(crdt_ctx_check(&d));
		encode(&d, &b2);
		PROP(decode_bytes(b2.data, b2.len, &c) == SH_OK);
		PROP(crdt_ctx_equal(&c, &d));
	}
	g_case = -1;
	print_message("corruption: %d rejected, %d accepted as valid\n",
	              rejected, accepted);
	assert_true(rejected > 0);
	crdt_ctx_free(&c);
	crdt_ctx_free(&d);
	sh_buf_free(&b);
	sh_buf_free(&b2);
}

/* Hand-built (possibly invalid) contexts for the decoder. */
typedef struct raw_dot {
	const char *name;
	size_t len;
	uint64_t epoch;
	uint64_t counter;
} raw_dot_t;

static void put_raw_dot(sh_mp_writer_t *w, const raw_dot_t *d)
{
	sh_mp_put_array(w, 2);
	sh_mp_put_array(w, 2);
	sh_mp_put_bin(w, d->name, d->len);
	sh_mp_put_u64(w, d->epoch);
	sh_mp_put_u64(w, d->counter);
}

static int decode_raw(const raw_dot_t *vv, size_t nvv, const raw_dot_t *cl,
                      size_t ncl)
{
	sh_buf_t b = {0};
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &b);
	sh_mp_put_array(&w, 2);
	sh_mp_put_array(&w, (uint32_t)nvv);
	for (size_t i = 0; i < nvv; i++)
		put_raw_dot(&w, &vv[i]); /* a vv entry has a dot's shape */
	sh_mp_put_array(&w, (uint32_t)ncl);
	for (size_t i = 0; i < ncl; i++)
		put_raw_dot(&w, &cl[i]);
	assert_int_equal(w.err, SH_OK);
	crdt_ctx_t c = {0};
	int rc = decode_bytes(b.data, b.len, &c);
	if (rc == SH_OK)
		assert_true(crdt_ctx_check(&c));
	else
		assert_true(crdt_ctx_is_empty(&c));
	crdt_ctx_free(&c);
	sh_buf_free(&b);
	return rc;
}

#define RAW(n, e, k)                                                           \
	{                                                                      \
		n, sizeof n - 1, e, k                                          \
	}

static void test_causal_decode_rejects_bad_contexts(void **state)
{
	(void)state;
	const raw_dot_t ok[] = {RAW("a", 1, 3), RAW("b", 1, 2)};
	const raw_dot_t cl[] = {RAW("a", 1, 5), RAW("b", 1, 9)};
	assert_int_equal(decode_raw(ok, 2, cl, 2), SH_OK);
	assert_int_equal(decode_raw(NULL, 0, NULL, 0), SH_OK);

	const raw_dot_t unsorted[] = {RAW("b", 1, 2), RAW("a", 1, 3)};
	const raw_dot_t dup[] = {RAW("a", 1, 2), RAW("a", 1, 3)};
	const raw_dot_t epochs[] = {RAW("a", 2, 2), RAW("a", 1, 3)};
	const raw_dot_t zero[] = {RAW("a", 1, 0)};
	const raw_dot_t empty_name[] = {RAW("", 1, 1)};
	const raw_dot_t long_name[] = {
	    RAW("0123456789012345678901234567890123456789012345678", 1, 1)};
	assert_int_equal(decode_raw(unsorted, 2, NULL, 0), SH_EMALFORMED);
	assert_int_equal(decode_raw(dup, 2, NULL, 0), SH_EMALFORMED);
	assert_int_equal(decode_raw(epochs, 2, NULL, 0), SH_EMALFORMED);
	assert_int_equal(decode_raw(zero, 1, NULL, 0), SH_EINVAL);
	assert_int_equal(decode_raw(empty_name, 1, NULL, 0), SH_EINVAL);
	assert_int_equal(decode_raw(long_name, 1, NULL, 0), SH_ETOOBIG);
	assert_int_equal(decode_raw(NULL, 0, zero, 1), SH_EINVAL);
	assert_int_equal(decode_raw(NULL, 0, long_name, 1), SH_ETOOBIG);

	/* Cloud dots must be sorted, unique, and not foldable into the vv. */
	const raw_dot_t cl_unsorted[] = {RAW("a", 1, 9), RAW("a", 1, 5)};
	const raw_dot_t cl_dup[] = {RAW("a", 1, 5), RAW("a", 1, 5)};
	const raw_dot_t cl_covered[] = {RAW("a", 1, 3)};
	const raw_dot_t cl_next[] = {RAW("a", 1, 4)};
	const raw_dot_t cl_one[] = {RAW("z", 1, 1)};
	assert_int_equal(decode_raw(ok, 2, cl_unsorted, 2), SH_EMALFORMED);
	assert_int_equal(decode_raw(ok, 2, cl_dup, 2), SH_EMALFORMED);
	assert_int_equal(decode_raw(ok, 2, cl_covered, 1), SH_EMALFORMED);
	assert_int_equal(decode_raw(ok, 2, cl_next, 1), SH_EMALFORMED);
	assert_int_equal(decode_raw(ok, 2, cl_one, 1), SH_EMALFORMED);

	/* A vv at the top counter covers every cloud dot: no wrap-around. */
	const raw_dot_t top[] = {RAW("a", 1, UINT64_MAX)};
	const raw_dot_t low[] = {RAW("a", 1, 5)};
	assert_int_equal(decode_raw(top, 1, NULL, 0), SH_OK);
	assert_int_equal(decode_raw(top, 1, low, 1), SH_EMALFORMED);
}

static void test_causal_decode_rejects_bad_shapes_and_counts(void **state)
{
	(void)state;
	crdt_ctx_t c = {0};
	/* [[], []] is the empty context; other arities and types are not. */
	const uint8_t empty[] = {0x92, 0x90, 0x90};
	const uint8_t three[] = {0x93, 0x90, 0x90, 0x90};
	const uint8_t map[] = {0x82, 0x90, 0x90, 0x90, 0x90};
	const uint8_t vv_pair3[] = {0x92, 0x91, 0x93, 0x92, 0xc4, 0x01,
	                            'a',  0x01, 0x01, 0x01, 0x90};
	const uint8_t neg[] = {0x92, 0x91, 0x92, 0x92, 0xc4,
	                       0x01, 'a',  0x01, 0xff, 0x90};
	const uint8_t str_name[] = {0x92, 0x91, 0x92, 0x92, 0xa1,
	                            'a',  0x01, 0x01, 0x90};
	assert_int_equal(decode_bytes(empty, sizeof empty, &c), SH_OK);
	assert_true(crdt_ctx_is_empty(&c));
	assert_int_equal(decode_bytes(three, sizeof three, &c), SH_EMALFORMED);
	assert_int_equal(decode_bytes(map, sizeof map, &c), SH_EMALFORMED);
	assert_int_equal(decode_bytes(vv_pair3, sizeof vv_pair3, &c),
	                 SH_EMALFORMED);
	assert_int_equal(decode_bytes(neg, sizeof neg, &c), SH_ERANGE);
	assert_int_equal(decode_bytes(str_name, sizeof str_name, &c),
	                 SH_EMALFORMED);

	/* Over CRDT_CTX_ACTORS_MAX actors: refused before reading them. */
	sh_buf_t b = {0};
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &b);
	sh_mp_put_array(&w, 2);
	sh_mp_put_array(&w, CRDT_CTX_ACTORS_MAX + 1);
	for (int i = 0; i <= CRDT_CTX_ACTORS_MAX; i++) {
		char name[8];
		int len = snprintf(name, sizeof name, "a%05d", i);
		raw_dot_t d = {name, (size_t)len, 1, 1};
		put_raw_dot(&w, &d);
	}
	sh_mp_put_array(&w, 0);
	assert_int_equal(decode_bytes(b.data, b.len, &c), SH_ETOOBIG);
	/* Exactly the maximum is fine. */
	sh_buf_reset(&b);
	sh_mp_put_array(&w, 2);
	sh_mp_put_array(&w, CRDT_CTX_ACTORS_MAX);
	for (int i = 0; i < CRDT_CTX_ACTORS_MAX; i++) {
		char name[8];
		int len = snprintf(name, sizeof name, "a%05d", i);
		raw_dot_t d = {name, (size_t)len, 1, 1};
		put_raw_dot(&w, &d);
	}
	sh_mp_put_array(&w, 0);
	assert_int_equal(decode_bytes(b.data, b.len, &c), SH_OK);
	assert_int_equal(c.vv_len, CRDT_CTX_ACTORS_MAX);

	/* A cloud count over the maximum is refused before reading it. */
	sh_buf_reset(&b);
	sh_mp_put_array(&w, 2);
	sh_mp_put_array(&w, 0);
	sh_mp_put_array(&w, CRDT_CTX_CLOUD_MAX + 1);
	for (int i = 0; i <= CRDT_CTX_CLOUD_MAX; i++)
		sh_buf_append_u8(&b, 0);
	assert_int_equal(decode_bytes(b.data, b.len, &c), SH_ETOOBIG);
	/* A count the input cannot hold is a truncation. */
	const uint8_t lying[] = {0x92, 0x90, 0xdd, 0x00, 0x00, 0x10, 0x00};
	assert_int_equal(decode_bytes(lying, sizeof lying, &c), SH_ETRUNC);
	sh_buf_free(&b);
	crdt_ctx_free(&c);
}

static void test_causal_check_catches_broken_invariants(void **state)
{
	(void)state;
	crdt_vv_entry_t vv[2] = {{.actor = g_actor[0], .counter = 2},
	                         {.actor = g_actor[1], .counter = 1}};
	crdt_dot_t cloud[2] = {dot_of(0, 5), dot_of(1, 7)};
	crdt_ctx_t c = {.vv = vv, .vv_len = 2, .cloud = cloud, .cloud_len = 2};
	assert_true(crdt_ctx_check(&c));
	vv[1].counter = 0;
	assert_false(crdt_ctx_check(&c));
	vv[1].counter = 1;
	vv[1].actor = g_actor[0]; /* duplicate actor */
	assert_false(crdt_ctx_check(&c));
	vv[1].actor = g_actor[1];
	cloud[0].counter = 3; /* = vv + 1: should have been folded */
	assert_false(crdt_ctx_check(&c));
	cloud[0].counter = 5;
	cloud[1] = dot_of(0, 4); /* unsorted cloud */
	assert_false(crdt_ctx_check(&c));
	cloud[1] = dot_of(1, 7);
	vv[0].actor.name_len = 0; /* an actor without a name */
	assert_false(crdt_ctx_check(&c));
	vv[0].actor = g_actor[0];
	vv[0].counter = UINT64_MAX; /* covers cloud dot (a0, 5) */
	assert_false(crdt_ctx_check(&c));
}

static void test_causal_copy_clear_free(void **state)
{
	(void)state;
	crdt_ctx_t a = {0}, b = {0};
	big_ctx(&a);
	assert_int_equal(crdt_ctx_copy(&b, &a), SH_OK);
	assert_true(crdt_ctx_equal(&a, &b));
	assert_int_equal(crdt_ctx_copy(&b, &b), SH_OK);
	assert_true(same_bytes(&a, &b));
	crdt_ctx_clear(&b);
	assert_true(crdt_ctx_is_empty(&b));
	assert_non_null(b.vv); /* clear keeps the allocation */
	assert_true(crdt_ctx_leq(&b, &a));
	assert_false(crdt_ctx_leq(&a, &b));
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
	assert_null(b.vv);
	assert_null(b.cloud);
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");
	if (env != NULL && *env != '\0')
		g_seed = strtoull(env, NULL, 0);
	printf("test_causal: seed %" PRIu64
	       " (replay with SHOAL_TEST_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	fflush(stdout);
	actors_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_causal_actor_init_checks_names),
	    cmocka_unit_test(test_causal_actor_and_dot_order_is_total),
	    cmocka_unit_test(test_causal_actor_cmp_matches_memcmp),
	    cmocka_unit_test(test_causal_contains_add_next_max),
	    cmocka_unit_test(test_causal_next_refuses_to_wrap),
	    cmocka_unit_test(test_causal_cloud_folds_into_vv),
	    cmocka_unit_test(test_causal_any_add_order_folds_completely),
	    cmocka_unit_test(test_causal_random_dot_sets_match_model),
	    cmocka_unit_test(test_causal_merge_is_union_and_a_semilattice),
	    cmocka_unit_test(test_causal_reserve_makes_merge_and_next_fit),
	    cmocka_unit_test(test_causal_reserve_fills_full_arrays),
	    cmocka_unit_test(test_causal_leq_and_equal_match_model),
	    cmocka_unit_test(test_causal_leq_spans_cloud_gaps),
	    cmocka_unit_test(test_causal_leq_near_the_top_counter),
	    cmocka_unit_test(test_causal_encode_decode_round_trip),
	    cmocka_unit_test(test_causal_decode_rejects_every_truncation),
	    cmocka_unit_test(test_causal_decode_survives_corruption),
	    cmocka_unit_test(test_causal_decode_rejects_bad_contexts),
	    cmocka_unit_test(test_causal_decode_rejects_bad_shapes_and_counts),
	    cmocka_unit_test(test_causal_check_catches_broken_invariants),
	    cmocka_unit_test(test_causal_copy_clear_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
