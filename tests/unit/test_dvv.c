/*
 * test_dvv.c - unit and property tests of crdt/dvv.h, the DVV set of
 * key-value objects: what a write supersedes, siblings, tombstones, the
 * join laws over random multi-replica histories checked against a model of
 * which write saw which, and the decoder against hostile input.
 *
 * Random cases come from one seed: SHOAL_TEST_SEED if set, else a fixed
 * default. It is printed at start and in every property failure, so
 * `SHOAL_TEST_SEED=<seed> ./test_dvv` replays a failing run.
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

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "common/sh_rand.h"
#include "crdt/causal.h"
#include "crdt/dvv.h"

#define SEED_DEFAULT 0xd0c5e75eedULL

static uint64_t g_seed = SEED_DEFAULT;
static long g_case = -1; /* the random case being checked, for messages */

/* Like assert_true, but a failure names the seed and case to replay. */
#define PROP(cond)                                                             \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_msg("%s (seed %" PRIu64 ", case %ld)", #cond,     \
			         g_seed, g_case);                              \
	} while (0)

static void rng_for(sh_rand_t *r, uint64_t salt)
{
	sh_rand_seed(r, g_seed ^ (salt * 0x9e3779b97f4a7c15ULL));
}

#define NR 4 /* replicas, each the coordinator actor of its own writes */

static crdt_actor_t g_actor[NR];

static void actors_init(void)
{
	for (int i = 0; i < NR; i++) {
		char name[8];
		int len = snprintf(name, sizeof name, "r%d", i);
		assert_int_equal(crdt_actor_init(&g_actor[i], name, (size_t)len,
		                                 0xe90c0000u + (uint64_t)i),
		                 SH_OK);
	}
}

/* Writes the string val (or a tombstone when val is NULL) at replica r. */
static crdt_dot_t put(dvv_t *obj, const crdt_ctx_t *k, int r, const char *val)
{
	dvv_value_t v = {0};
	if (val != NULL) {
		v.value = (const uint8_t *)val;
		v.value_len = strlen(val);
		v.content_type = "text/plain";
		v.content_type_len = 10;
	}
	v.tombstone = val == NULL;
	v.timestamp_ms = 1700000000000ULL;
	crdt_dot_t dot;
	assert_int_equal(dvv_update(obj, k, &g_actor[r], &v, &dot), SH_OK);
	assert_true(dvv_check(obj));
	assert_true(crdt_ctx_contains(&obj->ctx, &dot));
	return dot;
}

/* 1 if obj's siblings are exactly the strings in vals (in dot order). */
static int has_values(const dvv_t *obj, const char *const *vals, size_t n)
{
	size_t count;
	const dvv_sibling_t *s = dvv_siblings(obj, &count);
	if (count != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(vals[i]);
		if (s[i].value_len != len || memcmp(s[i].value, vals[i], len))
			return 0;
	}
	return 1;
}

#define HAS(obj, ...)                                                          \
	has_values((obj), (const char *const[]){__VA_ARGS__},                  \
	           sizeof((const char *const[]){__VA_ARGS__}) /                \
	               sizeof(const char *))

static void encode(const dvv_t *obj, sh_buf_t *b)
{
	sh_buf_reset(b);
	PROP(dvv_encode(obj, b) == SH_OK);
}

static int same_bytes(const dvv_t *a, const dvv_t *b)
{
	sh_buf_t x = {0}, y = {0};
	encode(a, &x);
	encode(b, &y);
	int same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	sh_buf_free(&x);
	sh_buf_free(&y);
	return same && dvv_hash(a) == dvv_hash(b);
}

/* ---- writes, siblings and tombstones ---- */

static void test_dvv_empty_object(void **state)
{
	(void)state;
	dvv_t obj, back;
	dvv_init(&obj);
	dvv_init(&back);
	assert_null(dvv_siblings(&obj, NULL));
	assert_int_equal(dvv_live_count(&obj), 0);
	assert_false(dvv_is_deleted(&obj)); /* nothing at all: not a delete */
	assert_true(dvv_check(&obj));
	sh_buf_t b = {0};
	encode(&obj, &b);
	assert_int_equal(dvv_decode(&back, b.data, b.len, NULL), SH_OK);
	assert_true(dvv_equal(&obj, &back));
	assert_true(dvv_hash(&obj) == XXH3_64bits(b.data, b.len));
	sh_buf_free(&b);
	dvv_free(&back);
	dvv_free(&obj);
}

static void test_dvv_update_without_context_adds_sibling(void **state)
{
	(void)state;
	dvv_t obj = {0};
	crdt_dot_t a = put(&obj, NULL, 0, "a");
	crdt_dot_t b = put(&obj, NULL, 0, "b");
	crdt_dot_t c = put(&obj, NULL, 1, "c");
	assert_true(a.counter == 1 && b.counter == 2 && c.counter == 1);
	/* No context: nothing superseded, every write is a sibling. */
	assert_true(HAS(&obj, "a", "b", "c"));
	assert_int_equal(dvv_live_count(&obj), 3);
	assert_int_equal(obj.ctx.cloud_len, 0);
	dvv_free(&obj);
}

static void
test_dvv_update_with_context_supersedes_exactly_what_it_saw(void **state)
{
	(void)state;
	dvv_t obj = {0};
	crdt_ctx_t k = {0};
	put(&obj, NULL, 0, "a");
	put(&obj, NULL, 0, "b");
	assert_int_equal(dvv_join(&obj, &k), SH_OK); /* client read {a, b} */
	put(&obj, NULL, 1, "c");                     /* after that read */
	assert_true(HAS(&obj, "a", "b", "c"));
	crdt_dot_t d = put(&obj, &k, 0, "d");
	/* d supersedes a and b, which the client saw, but not c. */
	assert_true(HAS(&obj, "d", "c")); /* in dot order */
	assert_true(d.counter == 3);
	/* A write with the whole context leaves one value. */
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	put(&obj, &k, 2, "e");
	assert_true(HAS(&obj, "e"));
	crdt_ctx_free(&k);
	dvv_free(&obj);
}

static void test_dvv_stale_context_writes_become_siblings(void **state)
{
	(void)state;
	dvv_t obj = {0};
	crdt_ctx_t k = {0};
	put(&obj, NULL, 0, "a");
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	/* Two clients both read {a} and write: neither saw the other. */
	put(&obj, &k, 0, "b");
	put(&obj, &k, 0, "c");
	put(&obj, &k, 1, "d");
	assert_true(HAS(&obj, "b", "c", "d"));
	/* However often a stale context is replayed, nothing vanishes. */
	for (int i = 0; i < 10; i++)
		put(&obj, &k, 0, "x");
	size_t n;
	dvv_siblings(&obj, &n);
	assert_int_equal(n, 13);
	crdt_ctx_free(&k);
	dvv_free(&obj);
}

static void test_dvv_new_dot_counts_the_client_context(void **state)
{
	(void)state;
	/* The client saw (r0, 5) somewhere this copy has not caught up on. */
	dvv_t obj = {0};
	crdt_ctx_t k = {0};
	crdt_dot_t seen = {.actor = g_actor[0], .counter = 5};
	assert_int_equal(crdt_ctx_add(&k, &seen), SH_OK);
	crdt_dot_t d = put(&obj, &k, 0, "a");
	assert_true(d.counter == 6);
	assert_true(crdt_ctx_contains(&obj.ctx, &seen));
	crdt_ctx_free(&k);
	dvv_free(&obj);
}

static void test_dvv_delete_with_context_is_deleted(void **state)
{
	(void)state;
	dvv_t obj = {0}, other = {0};
	crdt_ctx_t k = {0};
	put(&obj, NULL, 0, "a");
	put(&obj, NULL, 1, "b");
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	assert_int_equal(dvv_copy(&other, &obj), SH_OK);
	put(&obj, &k, 0, NULL); /* delete what was read */
	assert_true(dvv_is_deleted(&obj));
	assert_int_equal(dvv_live_count(&obj), 0);
	size_t n;
	const dvv_sibling_t *s = dvv_siblings(&obj, &n);
	assert_int_equal(n, 1);
	assert_true(s[0].tombstone && s[0].value_len == 0);

	/* A write concurrent with the delete survives it. */
	put(&other, &k, 2, "c");
	assert_int_equal(dvv_sync(&obj, &other), SH_OK);
	assert_false(dvv_is_deleted(&obj));
	assert_int_equal(dvv_live_count(&obj), 1);
	dvv_siblings(&obj, &n);
	assert_int_equal(n, 2);

	/* A write that saw the tombstone removes it. */
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	put(&obj, &k, 0, "d");
	assert_true(HAS(&obj, "d"));
	assert_false(dvv_is_deleted(&obj));
	crdt_ctx_free(&k);
	dvv_free(&obj);
	dvv_free(&other);
}

static void test_dvv_sync_keeps_concurrent_and_drops_seen(void **state)
{
	(void)state;
	dvv_t r0 = {0}, r1 = {0};
	crdt_ctx_t k = {0};
	put(&r0, NULL, 0, "a");
	assert_int_equal(dvv_sync(&r1, &r0), SH_OK);
	assert_true(HAS(&r1, "a"));
	assert_int_equal(dvv_join(&r1, &k), SH_OK);
	put(&r1, &k, 1, "b");   /* r1 supersedes a */
	put(&r0, NULL, 0, "c"); /* r0 writes concurrently */
	assert_int_equal(dvv_sync(&r0, &r1), SH_OK);
	/* a was seen by b: gone; c is concurrent with b: both stay. */
	assert_true(HAS(&r0, "c", "b"));
	assert_int_equal(dvv_sync(&r1, &r0), SH_OK);
	assert_true(same_bytes(&r0, &r1));
	assert_true(dvv_equal(&r0, &r1));
	/* Syncing with itself or again changes nothing. */
	assert_int_equal(dvv_sync(&r0, &r0), SH_OK);
	assert_int_equal(dvv_sync(&r0, &r1), SH_OK);
	assert_true(same_bytes(&r0, &r1));
	crdt_ctx_free(&k);
	dvv_free(&r0);
	dvv_free(&r1);
}

static void test_dvv_discard_drops_what_context_saw(void **state)
{
	(void)state;
	dvv_t obj = {0};
	crdt_ctx_t k = {0}, k2 = {0};
	put(&obj, NULL, 0, "a");
	put(&obj, NULL, 1, "b");
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	put(&obj, NULL, 2, "c");
	crdt_dot_t elsewhere = {.actor = g_actor[3], .counter = 4};
	assert_int_equal(crdt_ctx_add(&k, &elsewhere), SH_OK);
	assert_int_equal(dvv_discard(&obj, &k), SH_OK);
	assert_true(HAS(&obj, "c"));
	assert_true(crdt_ctx_contains(&obj.ctx, &elsewhere));
	assert_true(dvv_check(&obj));
	assert_int_equal(dvv_join(&obj, &k2), SH_OK);
	assert_true(crdt_ctx_leq(&k, &k2));
	crdt_ctx_free(&k);
	crdt_ctx_free(&k2);
	dvv_free(&obj);
}

static void test_dvv_less_and_equal(void **state)
{
	(void)state;
	dvv_t a = {0}, b = {0}, c = {0};
	assert_false(dvv_less(&a, &b));
	assert_true(dvv_equal(&a, &b));
	put(&a, NULL, 0, "x");
	assert_int_equal(dvv_copy(&b, &a), SH_OK);
	assert_true(dvv_equal(&a, &b));
	assert_false(dvv_less(&a, &b));
	put(&b, NULL, 1, "y");
	assert_true(dvv_less(&a, &b));
	assert_false(dvv_less(&b, &a));
	assert_false(dvv_equal(&a, &b));
	assert_int_equal(dvv_copy(&c, &a), SH_OK);
	put(&c, NULL, 2, "z");
	assert_false(dvv_less(&b, &c)); /* concurrent */
	assert_false(dvv_less(&c, &b));
	assert_int_equal(dvv_sync(&c, &b), SH_OK);
	assert_true(dvv_less(&a, &c) && dvv_less(&b, &c));
	dvv_free(&a);
	dvv_free(&b);
	dvv_free(&c);
}

static void test_dvv_update_rejects_bad_values_and_leaves_object(void **state)
{
	(void)state;
	dvv_t obj = {0};
	put(&obj, NULL, 0, "a");
	uint64_t h = dvv_hash(&obj);
	char ct[DVV_CONTENT_TYPE_MAX + 1];
	memset(ct, 't', sizeof ct);
	dvv_value_t v = {.value = (const uint8_t *)"v", .value_len = 1};
	v.content_type = ct;
	v.content_type_len = DVV_CONTENT_TYPE_MAX + 1;
	assert_int_equal(dvv_update(&obj, NULL, &g_actor[0], &v, NULL),
	                 SH_EINVAL);
	v.content_type_len = DVV_CONTENT_TYPE_MAX; /* the longest is fine */
	v.tombstone = 1; /* but a tombstone with bytes */
	assert_int_equal(dvv_update(&obj, NULL, &g_actor[0], &v, NULL),
	                 SH_EINVAL);
	v.tombstone = 0;
	v.value = NULL;
	assert_int_equal(dvv_update(&obj, NULL, &g_actor[0], &v, NULL),
	                 SH_EINVAL);
	assert_true(dvv_hash(&obj) == h);
	/* A context claiming the coordinator's last counter cannot wrap. */
	crdt_ctx_t k = {0};
	crdt_dot_t top = {.actor = g_actor[0], .counter = UINT64_MAX};
	assert_int_equal(crdt_ctx_add(&k, &top), SH_OK);
	v.value_len = 0;
	assert_int_equal(dvv_update(&obj, &k, &g_actor[0], &v, NULL),
	                 SH_ERANGE);
	assert_true(dvv_hash(&obj) == h);
	assert_true(HAS(&obj, "a"));
	v.content_type_len = DVV_CONTENT_TYPE_MAX;
	assert_int_equal(dvv_update(&obj, NULL, &g_actor[1], &v, NULL), SH_OK);
	const dvv_sibling_t *s = dvv_siblings(&obj, NULL);
	assert_int_equal(s[1].content_type_len, DVV_CONTENT_TYPE_MAX);
	assert_int_equal(s[1].content_type[DVV_CONTENT_TYPE_MAX], '\0');
	assert_int_equal(s[1].value_len, 0);
	assert_non_null(s[1].value);
	crdt_ctx_free(&k);
	dvv_free(&obj);
}

static void test_dvv_copy_is_deep(void **state)
{
	(void)state;
	dvv_t a = {0}, b = {0};
	put(&a, NULL, 0, "one");
	put(&a, NULL, 1, NULL);
	put(&b, NULL, 2, "replaced by the copy");
	assert_int_equal(dvv_copy(&b, &a), SH_OK);
	assert_int_equal(dvv_copy(&b, &b), SH_OK);
	uint64_t h = dvv_hash(&a);
	dvv_free(&a);
	assert_true(dvv_hash(&b) == h);
	assert_true(HAS(&b, "one", ""));
	assert_true(dvv_check(&b));
	dvv_free(&b);
}

static void test_dvv_reused_dot_still_converges(void **state)
{
	(void)state;
	/* Two different values under one dot (a bug elsewhere): join picks
	 * the same one on both sides, so replicas still converge. */
	dvv_t a = {0}, b = {0}, ab = {0}, ba = {0};
	put(&a, NULL, 0, "left");
	put(&b, NULL, 0, "right");
	assert_int_equal(dvv_copy(&ab, &a), SH_OK);
	assert_int_equal(dvv_sync(&ab, &b), SH_OK);
	assert_int_equal(dvv_copy(&ba, &b), SH_OK);
	assert_int_equal(dvv_sync(&ba, &a), SH_OK);
	assert_true(same_bytes(&ab, &ba));
	assert_true(HAS(&ab, "left"));
	dvv_free(&a);
	dvv_free(&b);
	dvv_free(&ab);
	dvv_free(&ba);
}

/* ---- the property test: random histories against a model ---- */

#define WMAX  64 /* writes per history: one bit each */
#define SLOTS 6  /* contexts that clients hold, perhaps stale */
#define SNAPS 8  /* old replica states kept for the law checks */

typedef struct write {
	crdt_dot_t dot;
	uint64_t saw; /* the writes its client context had seen */
	int tombstone;
	char value[40];
} write_t;

typedef struct history {
	sh_rand_t *r;
	dvv_t rep[NR];
	uint64_t seen[NR]; /* model of each replica's context */
	crdt_ctx_t slot[SLOTS];
	uint64_t slot_seen[SLOTS];
	int slot_used[SLOTS];
	write_t w[WMAX];
	int nw;
	int writes_by[NR];
	dvv_t snap[SNAPS];
	int nsnap;
} history_t;

static void history_init(history_t *h, sh_rand_t *r)
{
	memset(h, 0, sizeof *h);
	h->r = r;
}

static void history_free(history_t *h)
{
	for (int i = 0; i < NR; i++)
		dvv_free(&h->rep[i]);
	for (int i = 0; i < SLOTS; i++)
		crdt_ctx_free(&h->slot[i]);
	for (int i = 0; i < SNAPS; i++)
		dvv_free(&h->snap[i]);
}

/* The writes in `seen` that no write in `seen` had seen: the siblings. */
static uint64_t maximal(const history_t *h, uint64_t seen)
{
	uint64_t superseded = 0;
	for (int j = 0; j < h->nw; j++)
		if (seen >> j & 1)
			superseded |= h->w[j].saw;
	return seen & ~superseded;
}

/* Checks a context against the model set of writes it should contain. */
static void check_ctx(const history_t *h, const crdt_ctx_t *c, uint64_t seen)
{
	PROP(crdt_ctx_check(c));
	for (int j = 0; j < h->nw; j++)
		PROP(crdt_ctx_contains(c, &h->w[j].dot) ==
		     (int)(seen >> j & 1));
}

/* Checks an object: its context is `seen`, its siblings the maximal writes. */
static void check_obj(const history_t *h, const dvv_t *obj, uint64_t seen)
{
	PROP(dvv_check(obj));
	check_ctx(h, &obj->ctx, seen);
	uint64_t want = maximal(h, seen);
	size_t n, live = 0;
	const dvv_sibling_t *s = dvv_siblings(obj, &n);
	PROP(n == (size_t)__builtin_popcountll(want));
	for (size_t i = 0; i < n; i++) {
		int j = 0;
		while (j < h->nw && crdt_dot_cmp(&h->w[j].dot, &s[i].dot) != 0)
			j++;
		PROP(j < h->nw && (want >> j & 1));
		const write_t *w = &h->w[j];
		PROP(s[i].tombstone == w->tombstone);
		PROP(s[i].value_len == strlen(w->value));
		PROP(memcmp(s[i].value, w->value, s[i].value_len) == 0);
		live += !w->tombstone;
	}
	PROP(dvv_live_count(obj) == live);
	PROP(dvv_is_deleted(obj) == (n > 0 && live == 0));
}

static void step_read(history_t *h, int i)
{
	int s = (int)sh_rand_below(h->r, SLOTS);
	PROP(dvv_join(&h->rep[i], &h->slot[s]) == SH_OK);
	h->slot_seen[s] = h->seen[i];
	h->slot_used[s] = 1;
	check_ctx(h, &h->slot[s], h->slot_seen[s]);
}

static void step_write(history_t *h, int i)
{
	int s = (int)sh_rand_below(h->r, SLOTS);
	int blind = !h->slot_used[s] || sh_rand_chance(h->r, 0.2);
	write_t *w = &h->w[h->nw];
	w->tombstone = !blind && sh_rand_chance(h->r, 0.15);
	w->saw = blind ? 0 : h->slot_seen[s];
	if (!w->tombstone) {
		int pad = (int)sh_rand_below(h->r, 20);
		snprintf(w->value, sizeof w->value, "w%d:%.*s", h->nw, pad,
		         "abcdefghijklmnopqrstuvwxyz");
	}
	dvv_value_t v = {.value = (const uint8_t *)w->value,
	                 .value_len = strlen(w->value),
	                 .content_type = "application/octet-stream",
	                 .content_type_len = 24,
	                 .timestamp_ms = sh_rand_u64(h->r),
	                 .tombstone = w->tombstone};
	const crdt_ctx_t *k = blind ? NULL : &h->slot[s];
	PROP(dvv_update(&h->rep[i], k, &g_actor[i], &v, &w->dot) == SH_OK);
	/* The coordinator's dots are contiguous: its n-th write is (r, n). */
	PROP(crdt_actor_cmp(&w->dot.actor, &g_actor[i]) == 0);
	PROP(w->dot.counter == (uint64_t)++h->writes_by[i]);
	h->seen[i] |= w->saw | 1ull << h->nw;
	h->nw++;
}

static void step_sync(history_t *h, int i)
{
	int j = (int)sh_rand_below(h->r, NR);
	PROP(dvv_sync(&h->rep[i], &h->rep[j]) == SH_OK);
	h->seen[i] |= h->seen[j];
}

/*
 * Replaces obj by its decoded encoding, as a node reads its copy from
 * disk: the steps after it change a decoded object, whose vv, sibling
 * array and bytes share one allocation until they outgrow it.
 */
static void reload(dvv_t *obj)
{
	sh_buf_t b = {0};
	encode(obj, &b);
	PROP(dvv_decode(obj, b.data, b.len, NULL) == SH_OK);
	PROP(dvv_check(obj));
	sh_buf_free(&b);
}

static void step(history_t *h)
{
	int i = (int)sh_rand_below(h->r, NR);
	uint64_t op = sh_rand_below(h->r, 10);
	if (sh_rand_chance(h->r, 0.3))
		reload(&h->rep[i]);
	if (op < 3)
		step_read(h, i);
	else if (op < 6)
		step_write(h, i);
	else
		step_sync(h, i);
	check_obj(h, &h->rep[i], h->seen[i]);
	/* Contexts stay compact: a coordinator's dots never leave gaps. */
	PROP(h->rep[i].ctx.cloud_len == 0);
	if (sh_rand_chance(h->r, 0.1)) {
		int s = h->nsnap < SNAPS ? h->nsnap++
		                         : (int)sh_rand_below(h->r, SNAPS);
		PROP(dvv_copy(&h->snap[s], &h->rep[i]) == SH_OK);
	}
}

/* An object from the history: a replica now or an older snapshot. */
static const dvv_t *pick(history_t *h)
{
	uint64_t n = sh_rand_below(h->r, (uint64_t)(NR + h->nsnap));
	return n < NR ? &h->rep[n] : &h->snap[n - NR];
}

static void joined(const dvv_t *a, const dvv_t *b, dvv_t *out)
{
	PROP(dvv_copy(out, a) == SH_OK);
	PROP(dvv_sync(out, b) == SH_OK);
	PROP(dvv_check(out));
}

static void check_laws(history_t *h)
{
	const dvv_t *a = pick(h), *b = pick(h), *c = pick(h);
	dvv_t ab = {0}, ba = {0}, x = {0}, y = {0};
	joined(a, b, &ab);
	joined(b, a, &ba);
	PROP(same_bytes(&ab, &ba)); /* commutative */
	PROP(dvv_equal(&ab, &ba));
	joined(&ab, c, &x); /* (a ⊔ b) ⊔ c */
	joined(b, c, &y);
	joined(a, &y, &ba);        /* a ⊔ (b ⊔ c) */
	PROP(same_bytes(&x, &ba)); /* associative */
	joined(a, a, &x);
	PROP(same_bytes(&x, a)); /* idempotent */
	joined(&ab, a, &x);
	PROP(same_bytes(&x, &ab)); /* absorbs what it holds */
	/* The join is an upper bound, and strictly above a when it grew. */
	PROP(crdt_ctx_leq(&a->ctx, &ab.ctx) && crdt_ctx_leq(&b->ctx, &ab.ctx));
	PROP(dvv_less(a, &ab) == !crdt_ctx_equal(&a->ctx, &ab.ctx));
	dvv_free(&ab);
	dvv_free(&ba);
	dvv_free(&x);
	dvv_free(&y);
}

static void check_round_trip(const dvv_t *obj)
{
	sh_buf_t b = {0};
	dvv_t back = {0};
	encode(obj, &b);
	PROP(dvv_decode(&back, b.data, b.len, NULL) == SH_OK);
	PROP(dvv_equal(&back, obj));
	PROP(same_bytes(&back, obj));
	PROP(dvv_hash(obj) == XXH3_64bits(b.data, b.len));
	dvv_free(&back);
	sh_buf_free(&b);
}

/* Syncs every replica with every other, then checks what survived. */
static void converge_and_check(history_t *h)
{
	for (int i = 1; i < NR; i++)
		PROP(dvv_sync(&h->rep[0], &h->rep[i]) == SH_OK);
	for (int i = 1; i < NR; i++)
		PROP(dvv_sync(&h->rep[i], &h->rep[0]) == SH_OK);
	uint64_t all = h->nw == WMAX ? UINT64_MAX : (1ull << h->nw) - 1;
	for (int i = 0; i < NR; i++) {
		PROP(same_bytes(&h->rep[i], &h->rep[0]));
		check_obj(h, &h->rep[i], all);
	}
	/* Every acknowledged write is a sibling, or a write that saw it
	 * superseded it: nothing is lost to anything but a later write. */
	uint64_t present = maximal(h, all);
	for (int j = 0; j < h->nw; j++) {
		int superseded = 0;
		for (int k = 0; k < h->nw; k++)
			superseded |= (int)(h->w[k].saw >> j & 1);
		PROP((present >> j & 1) != (uint64_t)superseded);
	}
	check_round_trip(&h->rep[0]);
}

static void test_dvv_random_histories_obey_laws_and_model(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 1);
	history_t *h = malloc(sizeof *h);
	assert_non_null(h);
	long max_siblings = 0;
	for (g_case = 0; g_case < 3000; g_case++) {
		history_init(h, &r);
		int target = 2 + (int)sh_rand_below(&r, WMAX - 1);
		for (int n = 0; n < 400 && h->nw < target; n++) {
			step(h);
			if (sh_rand_chance(&r, 0.2))
				check_laws(h);
		}
		check_laws(h);
		check_round_trip(pick(h));
		converge_and_check(h);
		size_t n;
		dvv_siblings(&h->rep[0], &n);
		if ((long)n > max_siblings)
			max_siblings = (long)n;
		history_free(h);
	}
	g_case = -1;
	print_message("histories: up to %ld siblings after convergence\n",
	              max_siblings);
	free(h);
}

/* ---- encoding ---- */

/* An object with a bit of everything: many cut points for decoders. */
static void rich_obj(dvv_t *obj)
{
	crdt_ctx_t k = {0};
	uint8_t bin[300];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(i * 7);
	dvv_value_t v = {.value = bin,
	                 .value_len = sizeof bin,
	                 .content_type = "image/png",
	                 .content_type_len = 9,
	                 .timestamp_ms = UINT64_MAX};
	put(obj, NULL, 1, "");
	assert_int_equal(dvv_join(obj, &k), SH_OK); /* saw only "" */
	assert_int_equal(dvv_update(obj, NULL, &g_actor[0], &v, NULL), SH_OK);
	put(obj, NULL, 2, "binary above");
	put(obj, NULL, 3, "kept");
	put(obj, &k, 3, NULL); /* a tombstone that superseded "" */
	put(obj, NULL, 0, "last");
	assert_int_equal(obj->sibling_count, 5);
	crdt_ctx_free(&k);
}

static void test_dvv_encode_decode_round_trip(void **state)
{
	(void)state;
	dvv_t obj = {0}, back = {0};
	rich_obj(&obj);
	sh_buf_t b = {0};
	encode(&obj, &b);
	assert_int_equal(b.data[0], 0x94);
	assert_int_equal(b.data[1], DVV_TAG);
	assert_int_equal(b.data[2], DVV_VERSION);
	assert_int_equal(dvv_decode(&back, b.data, b.len, NULL), SH_OK);
	assert_true(dvv_equal(&obj, &back));
	assert_true(same_bytes(&obj, &back));
	size_t n;
	const dvv_sibling_t *s = dvv_siblings(&back, &n), *o = obj.siblings;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s[i].value_len, o[i].value_len);
		assert_memory_equal(s[i].value, o[i].value, o[i].value_len);
		assert_string_equal(s[i].content_type, o[i].content_type);
		assert_true(s[i].timestamp_ms == o[i].timestamp_ms);
		assert_int_equal(s[i].tombstone, o[i].tombstone);
	}
	assert_true(dvv_hash(&obj) == XXH3_64bits(b.data, b.len));
	/* Decoding replaces what the object held. */
	assert_int_equal(dvv_decode(&obj, b.data, b.len, NULL), SH_OK);
	assert_true(same_bytes(&obj, &back));
	sh_buf_free(&b);
	dvv_free(&obj);
	dvv_free(&back);
}

/* 1 if p lies in obj's decoded block. */
static int in_block(const dvv_t *obj, const void *p)
{
	uintptr_t b = (uintptr_t)obj->block, x = (uintptr_t)p;
	return obj->block != NULL && x >= b && x - b < obj->block_len;
}

/*
 * A decoded object is one allocation (dvv.h); as it changes, its vv and
 * sibling array move out of it one by one, its dropped siblings' bytes
 * stay in it, and it gives the same bytes as the same object never
 * encoded. Run under ASan, a wrong free of a part of the block shows.
 */
static void test_dvv_decoded_object_moves_out_of_its_block(void **state)
{
	(void)state;
	dvv_t ref = {0}, d = {0}, other = {0};
	crdt_ctx_t k = {0};
	sh_buf_t b = {0};
	put(&ref, NULL, 0, "a");
	put(&ref, NULL, 0, "b");
	assert_int_equal(dvv_join(&ref, &k), SH_OK); /* saw "a" and "b" */
	encode(&ref, &b);
	assert_int_equal(dvv_decode(&d, b.data, b.len, NULL), SH_OK);
	assert_true(in_block(&d, d.ctx.vv) && d.ctx.vv_borrowed);
	assert_true(in_block(&d, d.siblings));
	assert_true(in_block(&d, d.siblings[0].value));
	assert_int_equal(d.sibling_cap, 3); /* room for one more */
	/* a third sibling by a new actor: the array has room, the vv not */
	put(&ref, NULL, 1, "c");
	put(&d, NULL, 1, "c");
	assert_true(in_block(&d, d.siblings) && !in_block(&d, d.ctx.vv));
	assert_false(d.ctx.vv_borrowed);
	assert_false(in_block(&d, d.siblings[2].value));
	assert_true(same_bytes(&ref, &d));
	/* a fourth: the array moves out too */
	put(&ref, NULL, 2, "d");
	put(&d, NULL, 2, "d");
	assert_false(in_block(&d, d.siblings));
	assert_true(in_block(&d, d.siblings[0].value));
	assert_true(same_bytes(&ref, &d));
	/* dropping "a" and "b" keeps their bytes in the block */
	assert_int_equal(dvv_discard(&ref, &k), SH_OK);
	assert_int_equal(dvv_discard(&d, &k), SH_OK);
	assert_true(HAS(&d, "c", "d"));
	assert_true(same_bytes(&ref, &d));
	/* a join replaces the array; a copy owns no block */
	put(&other, NULL, 3, "e");
	assert_int_equal(dvv_sync(&ref, &other), SH_OK);
	assert_int_equal(dvv_sync(&d, &other), SH_OK);
	assert_true(same_bytes(&ref, &d));
	assert_int_equal(dvv_copy(&other, &d), SH_OK);
	assert_null(other.block);
	assert_true(same_bytes(&other, &d) && dvv_check(&d));
	/* decoding again replaces the object, block and all */
	encode(&ref, &b);
	assert_int_equal(dvv_decode(&d, b.data, b.len, NULL), SH_OK);
	assert_true(same_bytes(&ref, &d) && dvv_check(&d));
	crdt_ctx_free(&k);
	sh_buf_free(&b);
	dvv_free(&ref);
	dvv_free(&d);
	dvv_free(&other);
}

/* Objects with more siblings and actors than a decode keeps on its stack. */
static void test_dvv_decode_large_objects(void **state)
{
	(void)state;
	dvv_t ref = {0}, d = {0};
	sh_buf_t b = {0};
	crdt_actor_t a[12];
	for (int i = 0; i < 12; i++) {
		char name[4] = {'x', (char)('a' + i), 0};
		assert_int_equal(crdt_actor_init(&a[i], name, 2, 5), SH_OK);
		dvv_value_t v = {.value = (const uint8_t *)name,
		                 .value_len = 2,
		                 .timestamp_ms = (uint64_t)i};
		assert_int_equal(dvv_update(&ref, NULL, &a[i], &v, NULL),
		                 SH_OK);
		encode(&ref, &b);
		assert_int_equal(dvv_decode(&d, b.data, b.len, NULL), SH_OK);
		assert_true(same_bytes(&ref, &d) && dvv_check(&d));
		assert_int_equal(d.sibling_count, (size_t)i + 1);
		assert_int_equal(d.ctx.vv_len, (size_t)i + 1);
	}
	assert_false(d.ctx.vv_borrowed); /* 12 actors: beyond the stack */
	sh_buf_free(&b);
	dvv_free(&ref);
	dvv_free(&d);
}

static void test_dvv_decode_mp_reads_embedded_objects(void **state)
{
	(void)state;
	dvv_t a = {0}, b = {0}, x = {0}, y = {0};
	rich_obj(&a);
	put(&b, NULL, 2, "second");
	sh_buf_t buf = {0};
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &buf);
	sh_mp_put_array(&w, 2);
	dvv_encode_mp(&a, &w);
	assert_int_equal(dvv_encode_mp(&b, &w), SH_OK);
	sh_mp_reader_t r;
	uint32_t n;
	sh_mp_reader_init(&r, buf.data, buf.len);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
	assert_int_equal(dvv_decode_mp(&r, &x, NULL), SH_OK);
	assert_int_equal(dvv_decode_mp(&r, &y, NULL), SH_OK);
	assert_int_equal(sh_mp_reader_left(&r), 0);
	assert_true(same_bytes(&a, &x) && same_bytes(&b, &y));
	/* An error leaves the reader where it was. */
	sh_mp_reader_init(&r, buf.data, buf.len - 1);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
	assert_int_equal(dvv_decode_mp(&r, &x, NULL), SH_OK);
	size_t left = sh_mp_reader_left(&r);
	assert_int_equal(dvv_decode_mp(&r, &y, NULL), SH_ETRUNC);
	assert_int_equal(sh_mp_reader_left(&r), left);
	assert_true(same_bytes(&b, &y)); /* and the object as it was */
	sh_buf_free(&buf);
	dvv_t *all[] = {&a, &b, &x, &y};
	for (int i = 0; i < 4; i++)
		dvv_free(all[i]);
}

static void test_dvv_decode_rejects_every_truncation(void **state)
{
	(void)state;
	dvv_t obj = {0}, back = {0};
	rich_obj(&obj);
	put(&back, NULL, 0, "untouched");
	uint64_t h = dvv_hash(&back);
	sh_buf_t b = {0};
	encode(&obj, &b);
	for (size_t cut = 0; cut < b.len; cut++) {
		g_case = (long)cut;
		int rc = dvv_decode(&back, b.data, cut, NULL);
		PROP(rc == SH_ETRUNC);
		PROP(dvv_hash(&back) == h); /* unchanged on error */
	}
	g_case = -1;
	/* One byte too many is trailing garbage. */
	sh_buf_append_u8(&b, 0xc0);
	assert_int_equal(dvv_decode(&back, b.data, b.len, NULL), SH_EMALFORMED);
	assert_int_equal(dvv_decode(&back, b.data, b.len - 1, NULL), SH_OK);
	assert_true(same_bytes(&obj, &back));
	sh_buf_free(&b);
	dvv_free(&obj);
	dvv_free(&back);
}

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

static void test_dvv_decode_survives_corruption(void **state)
{
	(void)state;
	sh_rand_t r;
	rng_for(&r, 2);
	dvv_t obj = {0}, back = {0}, again = {0};
	dvv_limits_t lim = {.value_bytes_max = 1000, .siblings_max = 64};
	sh_buf_t b = {0}, b2 = {0};
	int accepted = 0;
	for (g_case = 0; g_case < 20000; g_case++) {
		if (g_case % 100 == 0) {
			dvv_free(&obj);
			rich_obj(&obj);
			put(&obj, NULL, (int)sh_rand_below(&r, NR), "more");
		}
		encode(&obj, &b);
		corrupt(&r, &b);
		int rc = dvv_decode(&back, b.data, b.len, &lim);
		if (rc != SH_OK) {
			PROP(rc < 0 && rc >= SH_ERANGE);
			continue;
		}
		/* What is accepted is a valid object that round-trips. */
		accepted++;
		PROP(dvv_check(&back));
		encode(&back, &b2);
		PROP(dvv_decode(&again, b2.data, b2.len, &lim) == SH_OK);
		PROP(same_bytes(&back, &again));
	}
	g_case = -1;
	print_message("corruption: %d of 20000 accepted as valid\n", accepted);
	sh_buf_free(&b);
	sh_buf_free(&b2);
	dvv_free(&obj);
	dvv_free(&back);
	dvv_free(&again);
}

/* ---- hand-built encodings, valid and not ---- */

typedef struct raw_sib {
	int actor;
	uint64_t counter;
	size_t value_len;
	size_t ct_len;
	int tombstone;
} raw_sib_t;

/* [tag, version, ctx {r0:3, r1:1}, [raw siblings...]] of `items` entries. */
static void put_raw(sh_buf_t *b, uint64_t tag, uint64_t version, uint32_t items,
                    const raw_sib_t *s, size_t n)
{
	static const uint8_t zeros[DVV_CONTENT_TYPE_MAX + 64];
	crdt_ctx_t ctx = {0};
	crdt_dot_t d;
	for (int i = 0; i < 3; i++)
		assert_int_equal(crdt_ctx_next(&ctx, &g_actor[0], &d), SH_OK);
	assert_int_equal(crdt_ctx_next(&ctx, &g_actor[1], &d), SH_OK);
	sh_buf_reset(b);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, b);
	sh_mp_put_array(&w, items);
	sh_mp_put_u64(&w, tag);
	sh_mp_put_u64(&w, version);
	crdt_ctx_encode(&ctx, &w);
	sh_mp_put_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		crdt_dot_t dot = {.actor = g_actor[s[i].actor],
		                  .counter = s[i].counter};
		sh_mp_put_array(&w, 5);
		crdt_dot_encode(&dot, &w);
		sh_mp_put_bin(&w, zeros, s[i].value_len);
		sh_mp_put_bin(&w, zeros, s[i].ct_len);
		sh_mp_put_u64(&w, 1);
		sh_mp_put_bool(&w, s[i].tombstone);
	}
	assert_int_equal(w.err, SH_OK);
	crdt_ctx_free(&ctx);
}

static int decode_raw(uint64_t tag, uint64_t version, uint32_t items,
                      const raw_sib_t *s, size_t n, const dvv_limits_t *lim)
{
	sh_buf_t b = {0};
	dvv_t obj = {0};
	put_raw(&b, tag, version, items, s, n);
	int rc = dvv_decode(&obj, b.data, b.len, lim);
	assert_true(rc == SH_OK ? dvv_check(&obj) : obj.sibling_count == 0);
	dvv_free(&obj);
	sh_buf_free(&b);
	return rc;
}

#define RAW_OK(s)                                                              \
	decode_raw(DVV_TAG, DVV_VERSION, 4, s, sizeof s / sizeof s[0], &lim)

static void test_dvv_decode_rejects_bad_objects(void **state)
{
	(void)state;
	dvv_limits_t lim = {.value_bytes_max = 16, .siblings_max = 3};
	const raw_sib_t ok[] = {
	    {0, 2, 16, 3, 0}, {0, 3, 0, 0, 1}, {1, 1, 0, 0, 0}};
	assert_int_equal(RAW_OK(ok), SH_OK);
	assert_int_equal(decode_raw('C', 1, 4, ok, 3, &lim), SH_ETYPE);
	assert_int_equal(decode_raw(DVV_TAG, 2, 4, ok, 3, &lim), SH_EVERSION);
	assert_int_equal(decode_raw(DVV_TAG, 1, 5, ok, 3, &lim), SH_EMALFORMED);
	assert_int_equal(decode_raw(DVV_TAG, 1, 3, ok, 3, &lim), SH_EMALFORMED);
	/* Limits: count, value bytes, content type. */
	assert_int_equal(decode_raw(DVV_TAG, 1, 4, ok, 3, NULL), SH_OK);
	lim.siblings_max = 2;
	assert_int_equal(RAW_OK(ok), SH_ETOOBIG);
	lim.siblings_max = 3;
	const raw_sib_t big[] = {{0, 2, 17, 0, 0}};
	const raw_sib_t ct_max[] = {{0, 2, 0, DVV_CONTENT_TYPE_MAX, 0}};
	const raw_sib_t ct_big[] = {{0, 2, 0, DVV_CONTENT_TYPE_MAX + 1, 0}};
	assert_int_equal(RAW_OK(big), SH_ETOOBIG);
	assert_int_equal(RAW_OK(ct_max), SH_OK);
	assert_int_equal(RAW_OK(ct_big), SH_ETOOBIG);
	/* Sibling dots: in the context, sorted, unique. */
	const raw_sib_t unseen[] = {{0, 4, 0, 0, 0}};
	const raw_sib_t unseen_actor[] = {{2, 1, 0, 0, 0}};
	const raw_sib_t unsorted[] = {{0, 3, 0, 0, 0}, {0, 2, 0, 0, 0}};
	const raw_sib_t dup[] = {{0, 3, 0, 0, 0}, {0, 3, 0, 0, 0}};
	const raw_sib_t actors_unsorted[] = {{1, 1, 0, 0, 0}, {0, 1, 0, 0, 0}};
	assert_int_equal(RAW_OK(unseen), SH_EMALFORMED);
	assert_int_equal(RAW_OK(unseen_actor), SH_EMALFORMED);
	assert_int_equal(RAW_OK(unsorted), SH_EMALFORMED);
	assert_int_equal(RAW_OK(dup), SH_EMALFORMED);
	assert_int_equal(RAW_OK(actors_unsorted), SH_EMALFORMED);
	/* A tombstone carries no value bytes. */
	const raw_sib_t tomb_value[] = {{0, 1, 1, 0, 1}};
	assert_int_equal(RAW_OK(tomb_value), SH_EMALFORMED);
}

static void test_dvv_decode_rejects_bad_sibling_shapes(void **state)
{
	(void)state;
	dvv_t obj = {0};
	dvv_value_t v = {.value = (const uint8_t *)"a", .value_len = 1};
	assert_int_equal(dvv_update(&obj, NULL, &g_actor[0], &v, NULL), SH_OK);
	sh_buf_t b = {0};
	encode(&obj, &b);
	/* Find the sibling's header (fixarray 5) and damage its fields. */
	size_t at = b.len;
	while (at > 0 && b.data[at - 1] != 0x95)
		at--;
	assert_true(at > 0);
	const struct {
		size_t off; /* from the sibling header */
		uint8_t byte;
		int rc;
	} cases[] = {
	    {0, 0x94, SH_EMALFORMED}, /* four fields */
	    {0, 0x96, SH_EMALFORMED}, /* six fields */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sh_buf_t c = {0};
		sh_buf_append(&c, b.data, b.len);
		c.data[at - 1 + cases[i].off] = cases[i].byte;
		dvv_t back = {0};
		int rc = dvv_decode(&back, c.data, c.len, NULL);
		assert_true(rc == cases[i].rc || rc == SH_ETRUNC);
		assert_int_equal(back.sibling_count, 0);
		sh_buf_free(&c);
	}
	/* The last two bytes are timestamp 0 and tombstone flag. */
	assert_int_equal(b.data[b.len - 2], 0x00);
	assert_int_equal(b.data[b.len - 1], 0xc2);
	b.data[b.len - 1] = 0x01; /* tombstone: an int, not a bool */
	assert_int_equal(dvv_decode(&obj, b.data, b.len, NULL), SH_EMALFORMED);
	b.data[b.len - 1] = 0xc2;
	b.data[b.len - 2] = 0xff; /* timestamp -1 */
	assert_int_equal(dvv_decode(&obj, b.data, b.len, NULL), SH_ERANGE);
	assert_int_equal(dvv_decode(&obj, NULL, 0, NULL), SH_ETRUNC);
	assert_true(HAS(&obj, "a")); /* every failure left it alone */
	sh_buf_free(&b);
	dvv_free(&obj);
}

/*
 * An empty context decodes in place, in a caller's buffer while it fits
 * and in memory of its own beyond it; an error leaves it empty.
 */
static void test_dvv_client_context_into_a_buffer(void **state)
{
	(void)state;
	crdt_vv_entry_t buf[2];
	crdt_ctx_t k = {0}, back;
	sh_buf_t b = {0};
	for (int i = 0; i < NR; i++) {
		crdt_dot_t d = {.actor = g_actor[i], .counter = 1};
		assert_int_equal(crdt_ctx_add(&k, &d), SH_OK);
		sh_buf_reset(&b);
		assert_int_equal(dvv_ctx_encode(&k, &b), SH_OK);
		crdt_ctx_init_buf(&back, buf, 2);
		assert_int_equal(dvv_ctx_decode(&back, b.data, b.len - 1),
		                 SH_ETRUNC);
		assert_true(crdt_ctx_is_empty(&back));
		assert_int_equal(dvv_ctx_decode(&back, b.data, b.len), SH_OK);
		assert_true(crdt_ctx_equal(&k, &back));
		assert_int_equal(back.vv == buf, i < 2);
		crdt_ctx_free(&back);
	}
	sh_buf_free(&b);
	crdt_ctx_free(&k);
}

static void test_dvv_client_context_round_trip(void **state)
{
	(void)state;
	dvv_t obj = {0};
	rich_obj(&obj);
	crdt_ctx_t k = {0}, back = {0};
	assert_int_equal(dvv_join(&obj, &k), SH_OK);
	sh_buf_t b = {0};
	assert_int_equal(dvv_ctx_encode(&k, &b), SH_OK);
	assert_int_equal(b.data[0], 0x93);
	assert_int_equal(b.data[1], DVV_CTX_TAG);
	assert_int_equal(dvv_ctx_decode(&back, b.data, b.len), SH_OK);
	assert_true(crdt_ctx_equal(&k, &back));
	for (size_t cut = 0; cut < b.len; cut++) {
		assert_int_equal(dvv_ctx_decode(&back, b.data, cut), SH_ETRUNC);
		assert_true(crdt_ctx_equal(&k, &back)); /* unchanged */
	}
	sh_buf_append_u8(&b, 0);
	assert_int_equal(dvv_ctx_decode(&back, b.data, b.len), SH_EMALFORMED);
	/* An object is not a context, nor the other way round. */
	sh_buf_t o = {0};
	encode(&obj, &o);
	assert_int_equal(dvv_ctx_decode(&back, o.data, o.len), SH_ETYPE);
	assert_int_equal(dvv_decode(&obj, b.data, b.len - 1, NULL), SH_ETYPE);
	b.data[2] = 2; /* version */
	assert_int_equal(dvv_ctx_decode(&back, b.data, b.len - 1), SH_EVERSION);
	/* A write with the decoded context supersedes what it saw. */
	put(&obj, &back, 1, "after");
	assert_true(HAS(&obj, "after"));
	sh_buf_free(&b);
	sh_buf_free(&o);
	crdt_ctx_free(&k);
	crdt_ctx_free(&back);
	dvv_free(&obj);
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");
	if (env != NULL && *env != '\0')
		g_seed = strtoull(env, NULL, 0);
	printf("test_dvv: seed %" PRIu64
	       " (replay with SHOAL_TEST_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	fflush(stdout);
	actors_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dvv_empty_object),
	    cmocka_unit_test(test_dvv_update_without_context_adds_sibling),
	    cmocka_unit_test(
	        test_dvv_update_with_context_supersedes_exactly_what_it_saw),
	    cmocka_unit_test(test_dvv_stale_context_writes_become_siblings),
	    cmocka_unit_test(test_dvv_new_dot_counts_the_client_context),
	    cmocka_unit_test(test_dvv_delete_with_context_is_deleted),
	    cmocka_unit_test(test_dvv_sync_keeps_concurrent_and_drops_seen),
	    cmocka_unit_test(test_dvv_discard_drops_what_context_saw),
	    cmocka_unit_test(test_dvv_less_and_equal),
	    cmocka_unit_test(
	        test_dvv_update_rejects_bad_values_and_leaves_object),
	    cmocka_unit_test(test_dvv_copy_is_deep),
	    cmocka_unit_test(test_dvv_reused_dot_still_converges),
	    cmocka_unit_test(test_dvv_random_histories_obey_laws_and_model),
	    cmocka_unit_test(test_dvv_encode_decode_round_trip),
	    cmocka_unit_test(test_dvv_decoded_object_moves_out_of_its_block),
	    cmocka_unit_test(test_dvv_decode_large_objects),
	    cmocka_unit_test(test_dvv_decode_mp_reads_embedded_objects),
	    cmocka_unit_test(test_dvv_decode_rejects_every_truncation),
	    cmocka_unit_test(test_dvv_decode_survives_corruption),
	    cmocka_unit_test(test_dvv_decode_rejects_bad_objects),
	    cmocka_unit_test(test_dvv_decode_rejects_bad_sibling_shapes),
	    cmocka_unit_test(test_dvv_client_context_round_trip),
	    cmocka_unit_test(test_dvv_client_context_into_a_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
