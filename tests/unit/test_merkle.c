/*
 * test_merkle.c - unit tests of antientropy/merkle: the tree (incremental
 * updates against rebuilds, order independence, rebuild under concurrent
 * writes), the exchange (exact difference sets, cost that follows the
 * differences, timeouts, bad peers) and the message codec (truncation,
 * corruption).
 *
 * Random cases come from one seed: SHOAL_TEST_SEED if set, else a fixed
 * default; it is printed at start, and `SHOAL_TEST_SEED=<seed>
 * ./test_merkle` replays a failing run.
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

#include "antientropy/merkle.h"
#include "antientropy/merkle_int.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"

static uint64_t g_seed = 0x5eed3e61e0aeULL;

/* ---- a model of one replica's partition: keys "k%07u" in bucket "b" ---- */

typedef struct model {
	uint32_t n;
	uint8_t *present;
	uint64_t *hash;
} model_t;

static void model_init(model_t *m, uint32_t n)
{
	m->n = n;
	m->present = calloc(n, 1);
	m->hash = calloc(n, sizeof *m->hash);
	assert_non_null(m->present);
	assert_non_null(m->hash);
}

static void model_free(model_t *m)
{
	free(m->present);
	free(m->hash);
}

static void model_copy(model_t *dst, const model_t *src)
{
	model_init(dst, src->n);
	memcpy(dst->present, src->present, src->n);
	memcpy(dst->hash, src->hash, src->n * sizeof *src->hash);
}

static size_t key_name(char *buf, uint32_t i)
{
	return (size_t)snprintf(buf, 16, "k%07u", i);
}

static uint32_t key_index(const uint8_t *key, size_t len)
{
	char buf[16];
	assert_true(len > 1 && len < sizeof buf);
	memcpy(buf, key, len);
	buf[len] = 0;
	return (uint32_t)strtoul(buf + 1, NULL, 10);
}

/* Apply key i's change to the model and the tree (new_hash NULL: delete). */
static void write_key(merkle_t *t, model_t *m, uint32_t i,
                      const uint64_t *new_hash)
{
	char k[16];
	size_t kl = key_name(k, i);
	uint64_t old = m->hash[i];
	const uint64_t *oldp = m->present[i] ? &old : NULL;
	if (t != NULL)
		assert_int_equal(
		    merkle_update(t, "b", 1, k, kl, oldp, new_hash), 0);
	m->present[i] = new_hash != NULL;
	m->hash[i] = new_hash != NULL ? *new_hash : 0;
}

/* A tree over m built by a full rebuild (keys in store order). */
static void tree_from_model(merkle_t *t, const merkle_config_t *cfg,
                            const model_t *m)
{
	assert_int_equal(merkle_init(t, cfg), 0);
	assert_int_equal(merkle_rebuild_start(t), 0);
	for (uint32_t i = 0; i < m->n; i++) {
		if (!m->present[i])
			continue;
		char k[16];
		size_t kl = key_name(k, i);
		assert_int_equal(
		    merkle_rebuild_add(t, "b", 1, k, kl, m->hash[i]), 0);
	}
	assert_int_equal(merkle_rebuild_finish(t), 0);
}

static void cfg_of(merkle_config_t *c, uint32_t segments, uint32_t fanout)
{
	merkle_config_default(c);
	c->segments = segments;
	c->fanout = fanout;
	c->partition_bits = 0;
}

/* Every node of a and b equal (same geometry). */
static void assert_trees_equal(merkle_t *a, merkle_t *b)
{
	assert_int_equal(merkle_depth(a), merkle_depth(b));
	assert_true(merkle_root(a) == merkle_root(b));
	for (uint32_t d = 0; d <= merkle_depth(a); d++) {
		for (uint32_t i = 0; i < merkle_level_size(a, d); i++) {
			uint64_t ha, hb;
			assert_int_equal(merkle_node(a, d, i, &ha), 0);
			assert_int_equal(merkle_node(b, d, i, &hb), 0);
			assert_true(ha == hb);
		}
	}
}

/* ---- the tree ---- */

static void test_merkle_geometry_and_config_checks(void **state)
{
	(void)state;
	merkle_config_t c;
	merkle_t t;
	cfg_of(&c, 1024, 32);
	assert_int_equal(merkle_init(&t, &c), 0);
	assert_int_equal(merkle_depth(&t), 2);
	assert_int_equal(merkle_level_size(&t, 0), 1);
	assert_int_equal(merkle_level_size(&t, 1), 32);
	assert_int_equal(merkle_level_size(&t, 2), 1024);
	assert_int_equal(merkle_level_size(&t, 3), 0);
	assert_false(merkle_is_built(&t));
	uint64_t h[MERKLE_FANOUT_MAX];
	uint32_t n;
	assert_int_equal(merkle_children(&t, 2, 0, h, &n), SH_ERANGE);
	assert_int_equal(merkle_children(&t, 0, 1, h, &n), SH_ERANGE);
	assert_int_equal(merkle_node(&t, 1, 32, h), SH_ERANGE);
	merkle_free(&t);
	/* 2048 segments, fanout 16: the root has 8 children. */
	cfg_of(&c, 2048, 16);
	assert_int_equal(merkle_init(&t, &c), 0);
	assert_int_equal(merkle_depth(&t), 3);
	assert_int_equal(merkle_children(&t, 0, 0, h, &n), 0);
	assert_int_equal(n, 8);
	merkle_free(&t);
	cfg_of(&c, 1000, 32);
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
	cfg_of(&c, 1024, 3);
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
	cfg_of(&c, 1024, 512);
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
	cfg_of(&c, 1, 2);
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
	cfg_of(&c, 1024, 32);
	c.partition_bits = 6;
	c.partition = 64;
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
	c.partition_bits = 17;
	c.partition = 0;
	assert_int_equal(merkle_init(&t, &c), SH_EINVAL);
}

/* A term is the hash of bucket NUL key and the object hash (8 bytes, big
 * endian), whether the bytes are hashed from a copy (short keys) or
 * streamed (long ones): trees of different builds must agree. */
static uint64_t term_ref(const char *b, size_t bl, const char *k, size_t kl,
                         uint64_t h)
{
	static uint8_t buf[MERKLE_BUCKET_BYTES_MAX + MERKLE_KEY_BYTES_MAX + 9];
	size_t n = 0;
	memcpy(buf, b, bl);
	n = bl;
	buf[n++] = 0;
	memcpy(buf + n, k, kl);
	n += kl;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(h >> (8 * i));
	return XXH3_64bits(buf, n);
}

static void test_merkle_term_is_the_record_hash(void **state)
{
	(void)state;
	static char big[MERKLE_KEY_BYTES_MAX];
	memset(big, 'q', sizeof big);
	const uint64_t h = 0x0102030405060708ULL;
	assert_true(merkle_term("cart", 4, "k1", 2, h) ==
	            term_ref("cart", 4, "k1", 2, h));
	assert_true(merkle_term("", 0, "k", 1, h) ==
	            term_ref("", 0, "k", 1, h));
	/* around and past the one-shot copy's size */
	for (size_t kl = 230; kl <= 260; kl++)
		assert_true(merkle_term("bk", 2, big, kl, h) ==
		            term_ref("bk", 2, big, kl, h));
	assert_true(merkle_term(big, sizeof big, big, sizeof big, h) ==
	            term_ref(big, sizeof big, big, sizeof big, h));
}

static void test_merkle_key_hash_and_segment_bits(void **state)
{
	(void)state;
	/* bucket \0 key, as ring_key_hash: the split point matters. */
	assert_true(merkle_key_hash("ab", 2, "c", 1) !=
	            merkle_key_hash("a", 1, "bc", 1));
	assert_true(merkle_key_hash(NULL, 0, NULL, 0) ==
	            merkle_key_hash("", 0, "", 0));
	assert_true(merkle_term("b", 1, "k", 1, 1) !=
	            merkle_term("b", 1, "k", 1, 2));
	merkle_config_t c;
	merkle_t t;
	merkle_config_default(&c); /* 64 partitions, 1024 segments */
	c.partition = 5;
	assert_int_equal(merkle_init(&t, &c), 0);
	uint64_t kh = (5ULL << 58) | (0x2abULL << 48) | 0x1234;
	assert_int_equal(merkle_segment_of(&t, kh), 0x2ab);
	/* A key of another partition is refused, the tree is unchanged. */
	uint64_t root = merkle_root(&t), h = 7;
	int found_other = 0;
	for (uint32_t i = 0; i < 200 && !found_other; i++) {
		char k[16];
		size_t kl = key_name(k, i);
		uint64_t khi = merkle_key_hash("b", 1, k, kl);
		if ((khi >> 58) != 5) {
			assert_int_equal(
			    merkle_update(&t, "b", 1, k, kl, NULL, &h),
			    SH_EINVAL);
			found_other = 1;
		}
	}
	assert_true(found_other);
	assert_true(merkle_root(&t) == root);
	char big[MERKLE_KEY_BYTES_MAX + 1];
	memset(big, 'x', sizeof big);
	assert_int_equal(merkle_update(&t, "b", 1, big, sizeof big, NULL, &h),
	                 SH_ETOOBIG);
	merkle_free(&t);
}

/*
 * Random insert/update/delete sequences, with roots read at random
 * moments (lazy recomputation), end equal to a rebuild from scratch.
 */
static void test_merkle_incremental_update_equals_rebuild(void **state)
{
	(void)state;
	sh_rand_t r;
	sh_rand_seed(&r, g_seed);
	for (int round = 0; round < 3000; round++) {
		merkle_config_t c;
		uint32_t segs = 2u << sh_rand_below(&r, 9);
		uint32_t fan = 2u << sh_rand_below(&r, 5);
		cfg_of(&c, segs, fan);
		merkle_t live, fresh;
		model_t m;
		uint32_t nkeys = 1 + (uint32_t)sh_rand_below(&r, 60);
		model_init(&m, nkeys);
		tree_from_model(&live, &c, &m);
		uint32_t ops = 1 + (uint32_t)sh_rand_below(&r, 80);
		for (uint32_t o = 0; o < ops; o++) {
			uint32_t i = (uint32_t)sh_rand_below(&r, nkeys);
			uint64_t h = sh_rand_below(&r, 4); /* few: repeats */
			if (sh_rand_chance(&r, 0.3))
				write_key(&live, &m, i, NULL);
			else
				write_key(&live, &m, i, &h);
			if (sh_rand_chance(&r, 0.2))
				(void)merkle_root(&live);
			if (sh_rand_chance(&r, 0.1)) {
				uint32_t d = (uint32_t)sh_rand_below(
				    &r, merkle_depth(&live) + 1);
				uint64_t hh;
				assert_int_equal(merkle_node(&live, d, 0, &hh),
				                 0);
			}
		}
		tree_from_model(&fresh, &c, &m);
		assert_trees_equal(&live, &fresh);
		assert_int_equal(merkle_keys(&live), merkle_keys(&fresh));
		merkle_free(&live);
		merkle_free(&fresh);
		model_free(&m);
	}
}

static void test_merkle_xor_order_independent(void **state)
{
	(void)state;
	sh_rand_t r;
	sh_rand_seed(&r, g_seed ^ 1);
	merkle_config_t c;
	cfg_of(&c, 256, 16);
	merkle_t a, b, empty;
	model_t ma, mb, m0;
	enum { N = 2000 };
	model_init(&ma, N);
	model_init(&mb, N);
	model_init(&m0, N);
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	tree_from_model(&empty, &c, &m0);
	uint32_t perm[N];
	for (uint32_t i = 0; i < N; i++)
		perm[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)sh_rand_below(&r, i + 1);
		uint32_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (uint32_t i = 0; i < N; i++) {
		uint64_t h = i * 0x9e3779b97f4a7c15ULL;
		write_key(&a, &ma, i, &h);
		uint64_t h2 = perm[i] * 0x9e3779b97f4a7c15ULL;
		write_key(&b, &mb, perm[i], &h2);
	}
	assert_trees_equal(&a, &b);
	assert_true(merkle_root(&a) != merkle_root(&empty));
	/* Deleting everything, in yet another order, gives the empty tree. */
	for (uint32_t i = 0; i < N; i++)
		write_key(&b, &mb, perm[N - 1 - i], NULL);
	assert_trees_equal(&b, &empty);
	assert_int_equal(merkle_keys(&b), 0);
	merkle_free(&a);
	merkle_free(&b);
	merkle_free(&empty);
	model_free(&ma);
	model_free(&mb);
	model_free(&m0);
}

static void test_merkle_equal_data_equal_roots(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 1024, 32);
	model_t m;
	model_init(&m, 5000);
	for (uint32_t i = 0; i < m.n; i++) {
		m.present[i] = (i % 3) != 0;
		m.hash[i] = i * 31 + 7;
	}
	merkle_t a, b;
	tree_from_model(&a, &c, &m);
	tree_from_model(&b, &c, &m);
	assert_trees_equal(&a, &b);
	/* One changed object hash changes the root, and back again. */
	uint64_t root = merkle_root(&a), h = 12345, back = m.hash[1];
	write_key(&a, &m, 1, &h);
	assert_true(merkle_root(&a) != root);
	write_key(&a, &m, 1, &back);
	assert_true(merkle_root(&a) == root);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&m);
}

/* Feed the model's current keys after the cursor, up to batch of them. */
static uint32_t scan_batch(merkle_t *t, const model_t *m, uint32_t from,
                           uint32_t batch)
{
	uint32_t i = from, fed = 0;
	for (; i < m->n && fed < batch; i++) {
		if (!m->present[i])
			continue;
		char k[16];
		size_t kl = key_name(k, i);
		assert_int_equal(
		    merkle_rebuild_add(t, "b", 1, k, kl, m->hash[i]), 0);
		fed++;
	}
	return i;
}

/*
 * A rebuild fed in batches while writes keep coming (before and after the
 * cursor) ends equal to the live tree and to a rebuild of the final data;
 * also when the live tree started empty (restart: it was not persisted).
 */
static void test_merkle_rebuild_with_concurrent_updates(void **state)
{
	(void)state;
	sh_rand_t r;
	sh_rand_seed(&r, g_seed ^ 2);
	merkle_config_t c;
	cfg_of(&c, 512, 8);
	for (int round = 0; round < 40; round++) {
		model_t m;
		model_init(&m, 3000);
		for (uint32_t i = 0; i < m.n; i++) {
			m.present[i] = sh_rand_chance(&r, 0.7);
			m.hash[i] = sh_rand_u64(&r);
		}
		int started_empty = round % 2;
		merkle_t live, fresh;
		if (started_empty) {
			assert_int_equal(merkle_init(&live, &c), 0);
		} else {
			tree_from_model(&live, &c, &m);
		}
		assert_int_equal(merkle_rebuild_start(&live), 0);
		assert_true(merkle_rebuilding(&live));
		uint32_t pos = 0;
		for (int turn = 0; turn < 10000 && pos < m.n; turn++) {
			pos = scan_batch(&live, &m, pos,
			                 1 + (uint32_t)sh_rand_below(&r, 50));
			for (int w = 0; w < 5; w++) {
				uint32_t i = (uint32_t)sh_rand_below(&r, m.n);
				uint64_t h = sh_rand_u64(&r);
				write_key(&live, &m, i,
				          sh_rand_chance(&r, 0.2) ? NULL : &h);
			}
		}
		assert_true(pos >= m.n);
		assert_int_equal(merkle_rebuild_finish(&live), 0);
		assert_false(merkle_rebuilding(&live));
		assert_true(merkle_is_built(&live));
		tree_from_model(&fresh, &c, &m);
		assert_trees_equal(&live, &fresh);
		assert_int_equal(merkle_keys(&live), merkle_keys(&fresh));
		merkle_free(&live);
		merkle_free(&fresh);
		model_free(&m);
	}
}

static void test_merkle_rebuild_rejects_misuse(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	merkle_t t;
	assert_int_equal(merkle_init(&t, &c), 0);
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k", 1, 1), SH_EINVAL);
	assert_int_equal(merkle_rebuild_finish(&t), SH_EINVAL);
	assert_int_equal(merkle_rebuild_start(&t), 0);
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k2", 2, 1), 0);
	/* Not ascending: the same key, or one before it. */
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k2", 2, 1), SH_EINVAL);
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k1", 2, 1), SH_EINVAL);
	assert_int_equal(merkle_rebuild_add(&t, "a", 1, "k9", 2, 1), SH_EINVAL);
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k3", 2, 1), 0);
	/* Starting over drops what was added. */
	assert_int_equal(merkle_rebuild_start(&t), 0);
	assert_int_equal(merkle_rebuild_add(&t, "b", 1, "k1", 2, 1), 0);
	merkle_rebuild_cancel(&t);
	assert_false(merkle_rebuilding(&t));
	assert_false(merkle_is_built(&t));
	merkle_free(&t);
}

/* ---- the exchange ---- */

typedef struct repair_rec {
	uint32_t idx;
	merkle_repair_kind_t kind;
} repair_rec_t;

typedef struct run {
	repair_rec_t *rec;
	size_t n, cap;
	merkle_xstats_t a, b;
	merkle_ready_t ra, rb; /* final */
	size_t rounds;
	/* every message seen, for the codec tests (when keep != 0) */
	int keep;
	uint8_t *seen[64];
	size_t seen_len[64];
	size_t seen_n;
} run_t;

static void feed_model(merkle_exchange_t *x, const model_t *m)
{
	for (uint32_t i = 0; i < m->n; i++) {
		if (!m->present[i])
			continue;
		char k[16];
		size_t kl = key_name(k, i);
		assert_int_equal(
		    merkle_exchange_key(x, "b", 1, k, kl, m->hash[i]), 0);
	}
	assert_int_equal(merkle_exchange_keys_end(x, 1000), 0);
}

static void keep_msg(run_t *run, const merkle_out_t *o)
{
	if (!run->keep || run->seen_n >= 64)
		return;
	run->seen[run->seen_n] = malloc(o->len);
	assert_non_null(run->seen[run->seen_n]);
	memcpy(run->seen[run->seen_n], o->data, o->len);
	run->seen_len[run->seen_n++] = o->len;
}

/* One side's turn: deliver, collect repairs, answer key requests. */
static int side_turn(run_t *run, merkle_exchange_t *x, const model_t *m,
                     merkle_exchange_t *peer)
{
	merkle_ready_t rd;
	merkle_exchange_ready(x, &rd);
	int progress = rd.msg_count > 0 || rd.want_keys;
	for (size_t i = 0; i < rd.repair_count; i++) {
		assert_true(run->n < run->cap);
		assert_int_equal(rd.repairs[i].bucket_len, 1);
		run->rec[run->n].idx =
		    key_index(rd.repairs[i].key, rd.repairs[i].key_len);
		run->rec[run->n].kind = rd.repairs[i].kind;
		run->n++;
	}
	for (size_t i = 0; i < rd.msg_count; i++) {
		keep_msg(run, &rd.msgs[i]);
		int rc = merkle_exchange_recv(peer, 1000, rd.msgs[i].data,
		                              rd.msgs[i].len);
		assert_int_equal(rc, 0);
	}
	int want = rd.want_keys;
	merkle_exchange_advance(x);
	if (want)
		feed_model(x, m);
	return progress;
}

/* Run an exchange from a (initiator) to b until both are quiet. */
static void run_exchange(run_t *run, merkle_t *ta, const model_t *ma,
                         merkle_t *tb, const model_t *mb,
                         const merkle_xconfig_t *xc)
{
	merkle_exchange_t a, b;
	assert_int_equal(merkle_exchange_init(&a, xc, ta), 0);
	assert_int_equal(merkle_exchange_init(&b, xc, tb), 0);
	assert_int_equal(merkle_exchange_start(&a, 1000, 42), 0);
	run->rounds = 0;
	for (int i = 0; i < 1000000; i++) {
		int p = side_turn(run, &a, ma, &b);
		p |= side_turn(run, &b, mb, &a);
		run->rounds++;
		if (!p)
			break;
	}
	merkle_exchange_ready(&a, &run->ra);
	merkle_exchange_ready(&b, &run->rb);
	run->a = *merkle_exchange_stats(&a);
	run->b = *merkle_exchange_stats(&b);
	merkle_exchange_free(&a);
	merkle_exchange_free(&b);
}

static void run_init(run_t *run, size_t cap)
{
	memset(run, 0, sizeof *run);
	run->cap = cap;
	run->rec = calloc(cap, sizeof *run->rec);
	assert_non_null(run->rec);
}

static void run_free(run_t *run)
{
	free(run->rec);
	for (size_t i = 0; i < run->seen_n; i++)
		free(run->seen[i]);
}

/* The kind of difference between a and b at key i, 0 when none. */
static int true_kind(const model_t *a, const model_t *b, uint32_t i)
{
	if (a->present[i] && !b->present[i])
		return MERKLE_REPAIR_LOCAL_ONLY;
	if (!a->present[i] && b->present[i])
		return MERKLE_REPAIR_REMOTE_ONLY;
	if (a->present[i] && a->hash[i] != b->hash[i])
		return MERKLE_REPAIR_DIFFERENT;
	return 0;
}

/* The reported set is exactly the true set, each key once. */
static void assert_reported_exactly(const run_t *run, const model_t *a,
                                    const model_t *b)
{
	uint8_t *seen = calloc(a->n, 1);
	assert_non_null(seen);
	for (size_t i = 0; i < run->n; i++) {
		uint32_t k = run->rec[i].idx;
		assert_true(k < a->n);
		assert_false(seen[k]);
		seen[k] = 1;
		assert_int_equal(run->rec[i].kind, true_kind(a, b, k));
	}
	for (uint32_t k = 0; k < a->n; k++)
		assert_int_equal(seen[k] != 0, true_kind(a, b, k) != 0);
	free(seen);
}

static void fill_model(model_t *m, uint32_t n, double present)
{
	model_init(m, n);
	for (uint32_t i = 0; i < n; i++) {
		m->present[i] = (i * 2654435761u) % 1000 < present * 1000;
		m->hash[i] = 0x1000 + i;
	}
}

static void test_merkle_equal_trees_exchange_is_one_round_trip(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 1024, 32);
	model_t m;
	fill_model(&m, 20000, 0.9);
	merkle_t a, b;
	tree_from_model(&a, &c, &m);
	tree_from_model(&b, &c, &m);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	run_t run;
	run_init(&run, 16);
	run_exchange(&run, &a, &m, &b, &m, &xc);
	assert_int_equal(run.ra.state, MERKLE_X_DONE);
	assert_int_equal(run.rb.state, MERKLE_X_DONE);
	assert_true(run.ra.roots_equal && run.rb.roots_equal);
	assert_int_equal(run.n, 0);
	assert_int_equal(run.a.msgs_sent, 1);
	assert_int_equal(run.b.msgs_sent, 1);
	assert_int_equal(run.a.nodes_compared, 0);
	printf("equal trees: %" PRIu64 " + %" PRIu64 " bytes\n",
	       run.a.bytes_sent, run.b.bytes_sent);
	run_free(&run);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&m);
}

/*
 * 100,000 keys; one, then three differences: exactly those keys, and the
 * walk touches O(depth) branches and at most one segment per difference.
 */
static void test_merkle_one_difference_reports_exactly_that_key(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 1024, 32);
	model_t ma, mb;
	fill_model(&ma, 100000, 1.0);
	model_copy(&mb, &ma);
	merkle_t a, b;
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	uint64_t h = 0xdead;
	write_key(&b, &mb, 31337, &h);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	xc.sub_fanout = 0; /* whole segments' keys (KEYS_REQ) */
	run_t run;
	run_init(&run, 16);
	run_exchange(&run, &a, &ma, &b, &mb, &xc);
	assert_int_equal(run.ra.state, MERKLE_X_DONE);
	assert_int_equal(run.rb.state, MERKLE_X_DONE);
	assert_int_equal(run.n, 1);
	assert_int_equal(run.rec[0].idx, 31337);
	assert_int_equal(run.rec[0].kind, MERKLE_REPAIR_DIFFERENT);
	assert_int_equal(run.a.segments_compared, 1);
	assert_int_equal(run.a.levels_walked, 2);
	assert_int_equal(run.a.nodes_compared, 64); /* 32 + 32 */
	assert_true(run.a.msgs_sent <= 5 && run.b.msgs_sent <= 4);
	uint64_t one_a = run.a.bytes_sent, one_b = run.b.bytes_sent;
	run_free(&run);

	/* Three differences: a delete, an insert, a changed hash. */
	write_key(&b, &mb, 5, NULL);
	write_key(&a, &ma, 77777, NULL);
	run_init(&run, 16);
	run_exchange(&run, &a, &ma, &b, &mb, &xc);
	assert_int_equal(run.n, 3);
	assert_reported_exactly(&run, &ma, &mb);
	assert_true(run.a.segments_compared <= 3);
	assert_true(run.a.nodes_compared <= 32 + 3 * 32);
	assert_true(run.a.keys_fed + run.b.keys_fed <= 3 * 2 * 200);
	printf("100000 keys, 1 difference: %" PRIu64 " + %" PRIu64
	       " bytes; 3 differences: %" PRIu64 " + %" PRIu64
	       " bytes, %" PRIu64 " segments, %" PRIu64 " hashes compared\n",
	       one_a, one_b, run.a.bytes_sent, run.b.bytes_sent,
	       run.a.segments_compared, run.a.nodes_compared);
	run_free(&run);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
}

/*
 * Below the segments: 100,000 keys in 1024 segments (about 100 keys per
 * segment). Whole segments' keys cost about 100 keys per difference; the
 * walk below the segments sends a handful, and reports the same keys.
 */
static void test_merkle_sub_walk_sends_keys_of_differences_only(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 1024, 32);
	model_t ma, mb;
	fill_model(&ma, 100000, 1.0);
	model_copy(&mb, &ma);
	sh_rand_t r;
	sh_rand_seed(&r, g_seed ^ 5);
	uint32_t k = 40;
	for (uint32_t d = 0; d < k; d++) { /* changed, deleted, inserted */
		uint32_t i = (uint32_t)sh_rand_below(&r, ma.n);
		uint64_t h = sh_rand_u64(&r);
		write_key(NULL, d % 3 == 2 ? &ma : &mb, i,
		          d % 3 == 1 ? NULL : &h);
	}
	merkle_t a, b;
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	uint64_t keys_sent[2], bytes[2];
	for (int sub = 0; sub < 2; sub++) {
		merkle_xconfig_t xc;
		merkle_xconfig_default(&xc);
		if (!sub)
			xc.sub_fanout = 0;
		run_t run;
		run_init(&run, 64);
		run_exchange(&run, &a, &ma, &b, &mb, &xc);
		assert_int_equal(run.ra.state, MERKLE_X_DONE);
		assert_int_equal(run.rb.state, MERKLE_X_DONE);
		assert_reported_exactly(&run, &ma, &mb);
		keys_sent[sub] = run.b.keys_sent;
		bytes[sub] = run.a.bytes_sent + run.b.bytes_sent;
		if (sub)
			assert_true(run.a.paths_sent > 0 &&
			            run.a.paths_sent == run.b.paths_sent);
		run_free(&run);
	}
	printf("100000 keys, %" PRIu32 " differences: whole segments %" PRIu64
	       " keys %" PRIu64 " bytes; below segments %" PRIu64
	       " keys %" PRIu64 " bytes\n",
	       k, keys_sent[0], bytes[0], keys_sent[1], bytes[1]);
	assert_true(keys_sent[0] >= 50 * k); /* ~100 keys a segment */
	assert_true(keys_sent[1] <= 3 * k);
	assert_true(bytes[1] * 3 < bytes[0]);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
}

static void test_merkle_differences_found_in_both_directions(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t ma, mb;
	fill_model(&ma, 3000, 0.8);
	model_copy(&mb, &ma);
	merkle_t a, b;
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	uint64_t h = 99;
	uint32_t only_a = 0, only_b = 0;
	while (!ma.present[only_a])
		only_a++;
	while (ma.present[only_b])
		only_b++;
	write_key(&b, &mb, only_a, NULL); /* now on a only */
	write_key(&b, &mb, only_b, &h);   /* on b only */
	write_key(&b, &mb, 2999, &h);     /* different (or b only) */
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	run_t run;
	run_init(&run, 16);
	run_exchange(&run, &a, &ma, &b, &mb, &xc);
	assert_int_equal(run.ra.state, MERKLE_X_DONE);
	assert_int_equal(run.n, 3);
	assert_reported_exactly(&run, &ma, &mb);
	/* The same from b's side: the kinds mirror. */
	run_free(&run);
	run_init(&run, 16);
	run_exchange(&run, &b, &mb, &a, &ma, &xc);
	assert_int_equal(run.n, 3);
	assert_reported_exactly(&run, &mb, &ma);
	run_free(&run);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
}

/*
 * 10,000 keys, random sets of 0..50 differences of every kind, with small
 * step bounds so that walks and key steps take many messages: the
 * reported set is exactly the true one.
 */
static void test_merkle_random_difference_sets_reported_exactly(void **state)
{
	(void)state;
	sh_rand_t r;
	sh_rand_seed(&r, g_seed ^ 3);
	for (int round = 0; round < 60; round++) {
		merkle_config_t c;
		cfg_of(&c, 2u << sh_rand_below(&r, 11),
		       2u << sh_rand_below(&r, 5));
		model_t ma, mb;
		fill_model(&ma, 10000, 0.8);
		model_copy(&mb, &ma);
		uint32_t k = (uint32_t)sh_rand_below(&r, 51);
		for (uint32_t d = 0; d < k; d++) {
			uint32_t i = (uint32_t)sh_rand_below(&r, ma.n);
			uint64_t h = sh_rand_u64(&r);
			model_t *m = sh_rand_chance(&r, 0.5) ? &ma : &mb;
			write_key(NULL, m, i,
			          sh_rand_chance(&r, 0.3) ? NULL : &h);
		}
		merkle_t a, b;
		tree_from_model(&a, &c, &ma);
		tree_from_model(&b, &c, &mb);
		merkle_xconfig_t xc;
		merkle_xconfig_default(&xc);
		xc.branches_per_step = 1 + (uint32_t)sh_rand_below(&r, 4);
		xc.segments_per_step = 1 + (uint32_t)sh_rand_below(&r, 8);
		xc.keys_per_msg = 1 + (uint32_t)sh_rand_below(&r, 40);
		static const uint32_t subs[] = {0, 2, 4, 8, 16};
		xc.sub_fanout = subs[sh_rand_below(&r, 5)];
		run_t run;
		run_init(&run, 64);
		run_exchange(&run, &a, &ma, &b, &mb, &xc);
		assert_int_equal(run.ra.state, MERKLE_X_DONE);
		assert_int_equal(run.rb.state, MERKLE_X_DONE);
		assert_reported_exactly(&run, &ma, &mb);
		assert_int_equal(run.a.keys_repaired, run.n);
		run_free(&run);
		merkle_free(&a);
		merkle_free(&b);
		model_free(&ma);
		model_free(&mb);
	}
}

/*
 * Trees of one partition of four; both sides feed every key of every
 * partition, and differ in all of them: only the tree's own partition's
 * differences are reported.
 */
static void test_merkle_exchange_keeps_to_its_partition(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 128, 8);
	c.partition_bits = 2;
	c.partition = 2;
	model_t ma, mb, pa, pb;
	fill_model(&ma, 4000, 0.9);
	model_copy(&mb, &ma);
	for (uint32_t i = 0; i < ma.n; i += 37) {
		uint64_t h = i + 1;
		write_key(NULL, &mb, i, i % 2 ? NULL : &h);
	}
	/* The partition's own keys, for building the trees. */
	model_copy(&pa, &ma);
	model_copy(&pb, &mb);
	uint32_t mine = 0;
	for (uint32_t i = 0; i < ma.n; i++) {
		char k[16];
		size_t kl = key_name(k, i);
		int in = (merkle_key_hash("b", 1, k, kl) >> 62) == 2;
		mine += in;
		if (!in)
			pa.present[i] = pb.present[i] = 0;
	}
	assert_true(mine > 500 && mine < 1500);
	merkle_t a, b;
	tree_from_model(&a, &c, &pa);
	tree_from_model(&b, &c, &pb);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	run_t run;
	run_init(&run, 256);
	run_exchange(&run, &a, &ma, &b, &mb, &xc);
	assert_int_equal(run.ra.state, MERKLE_X_DONE);
	assert_true(run.n > 0);
	assert_reported_exactly(&run, &pa, &pb);
	run_free(&run);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
	model_free(&pa);
	model_free(&pb);
}

static void test_merkle_exchange_aborts_on_timeout(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t ma, mb;
	fill_model(&ma, 500, 0.5);
	fill_model(&mb, 500, 0.6);
	merkle_t ta, tb;
	tree_from_model(&ta, &c, &ma);
	tree_from_model(&tb, &c, &mb);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	xc.timeout_ms = 500;
	merkle_exchange_t a, b;
	merkle_ready_t rd;
	assert_int_equal(merkle_exchange_init(&a, &xc, &ta), 0);
	assert_int_equal(merkle_exchange_init(&b, &xc, &tb), 0);
	assert_int_equal(merkle_exchange_start(&a, 1000, 7), 0);
	merkle_exchange_ready(&a, &rd);
	assert_int_equal(rd.deadline_ms, 1500);
	assert_int_equal(
	    merkle_exchange_recv(&b, 1100, rd.msgs[0].data, rd.msgs[0].len), 0);
	merkle_exchange_advance(&a);
	/* The initiator hears nothing: still running before the deadline. */
	assert_int_equal(merkle_exchange_tick(&a, 1499), 0);
	merkle_exchange_ready(&a, &rd);
	assert_int_equal(rd.state, MERKLE_X_RUNNING);
	assert_int_equal(merkle_exchange_tick(&a, 1500), SH_ERANGE);
	merkle_exchange_ready(&a, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	assert_int_equal(rd.error, SH_ERANGE);
	assert_int_equal(rd.msg_count, 1); /* DONE(error) for the peer */
	assert_int_equal(rd.deadline_ms, UINT64_MAX);
	/* The responder, waiting after its answer, times out on its own. */
	merkle_exchange_ready(&b, &rd);
	assert_int_equal(rd.state, MERKLE_X_RUNNING);
	assert_int_equal(rd.deadline_ms, 1600);
	assert_int_equal(merkle_exchange_tick(&b, 1599), 0);
	assert_int_equal(merkle_exchange_tick(&b, 1600), SH_ERANGE);
	merkle_exchange_ready(&b, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	/* An ended exchange takes nothing more. */
	assert_int_equal(merkle_exchange_start(&a, 2000, 8), SH_EINVAL);
	merkle_stats_t st;
	memset(&st, 0, sizeof st);
	merkle_stats_add(&st, &a);
	merkle_stats_add(&st, &b);
	assert_int_equal(st.exchanges_started, 2);
	assert_int_equal(st.exchanges_aborted, 2);
	merkle_exchange_free(&a);
	merkle_exchange_free(&b);
	merkle_free(&ta);
	merkle_free(&tb);
	model_free(&ma);
	model_free(&mb);
}

static void test_merkle_exchange_refuses_mismatch_and_unbuilt(void **state)
{
	(void)state;
	merkle_config_t c1, c2;
	cfg_of(&c1, 64, 4);
	cfg_of(&c2, 128, 4);
	model_t m;
	fill_model(&m, 100, 0.5);
	merkle_t t1, t2, unbuilt;
	tree_from_model(&t1, &c1, &m);
	tree_from_model(&t2, &c2, &m);
	assert_int_equal(merkle_init(&unbuilt, &c1), 0);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	merkle_exchange_t a, b;
	merkle_ready_t rd;
	assert_int_equal(merkle_exchange_init(&a, &xc, &unbuilt), 0);
	assert_int_equal(merkle_exchange_start(&a, 0, 1), SH_EINVAL);
	merkle_exchange_free(&a);
	/* Geometry mismatch: the responder aborts and says so. */
	assert_int_equal(merkle_exchange_init(&a, &xc, &t1), 0);
	assert_int_equal(merkle_exchange_init(&b, &xc, &t2), 0);
	assert_int_equal(merkle_exchange_start(&a, 0, 1), 0);
	merkle_exchange_ready(&a, &rd);
	assert_int_equal(
	    merkle_exchange_recv(&b, 0, rd.msgs[0].data, rd.msgs[0].len),
	    SH_EINVAL);
	merkle_exchange_advance(&a);
	merkle_exchange_ready(&b, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	assert_int_equal(rd.msg_count, 1);
	assert_int_equal(
	    merkle_exchange_recv(&a, 0, rd.msgs[0].data, rd.msgs[0].len), 0);
	merkle_exchange_ready(&a, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	assert_int_equal(rd.error, SH_EINVAL);
	merkle_exchange_free(&a);
	merkle_exchange_free(&b);
	xc.branches_per_step = 0;
	assert_int_equal(merkle_exchange_init(&a, &xc, &t1), SH_EINVAL);
	merkle_free(&t1);
	merkle_free(&t2);
	merkle_free(&unbuilt);
	model_free(&m);
}

/* ---- the codec ---- */

/* Messages of every type, captured from a real exchange. */
static void capture_messages(run_t *run, uint32_t sub_fanout)
{
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t ma, mb;
	fill_model(&ma, 400, 0.7);
	fill_model(&mb, 400, 0.6);
	merkle_t a, b;
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	xc.segments_per_step = 8;
	xc.sub_fanout = sub_fanout;
	run_init(run, 1000);
	run->keep = 1;
	run_exchange(run, &a, &ma, &b, &mb, &xc);
	assert_int_equal(run->ra.state, MERKLE_X_DONE);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
}

static void walk_keys(const merkle_msg_t *m)
{
	merkle_key_iter_t it;
	merkle_key_t k;
	int rc, n = 0;
	merkle_msg_keys(m, &it);
	while ((rc = merkle_msg_key_next(&it, &k)) == 1)
		n++;
	assert_int_equal(rc, 0);
	assert_int_equal(n, m->type == MERKLE_MSG_KEYS ? m->key_count : 0);
	/* paths and sums: every one the counts promise can be read */
	uint64_t x = 0;
	for (uint32_t i = 0; m->paths && i < m->path_count; i++)
		x ^= merkle_msg_path(m, i);
	if (m->type == MERKLE_MSG_SUMS)
		for (uint32_t i = 0; i < (m->path_count << m->bits); i++)
			x ^= merkle_msg_sum(m, i) + m->counts[i];
	(void)x;
}

static void test_merkle_codec_rejects_truncation_and_corruption(void **state)
{
	(void)state;
	run_t runs[2];
	capture_messages(&runs[0], 0); /* whole segments' keys */
	capture_messages(&runs[1], 4); /* paths below the segments */
	int types[16] = {0};
	sh_rand_t r;
	sh_rand_seed(&r, g_seed ^ 4);
	for (size_t i = 0; i < runs[0].seen_n + runs[1].seen_n; i++) {
		run_t *run = i < runs[0].seen_n ? &runs[0] : &runs[1];
		size_t j = i < runs[0].seen_n ? i : i - runs[0].seen_n;
		const uint8_t *msg = run->seen[j];
		size_t len = run->seen_len[j];
		merkle_msg_t m;
		assert_int_equal(merkle_msg_decode(msg, len, &m), 0);
		types[m.type] = 1;
		walk_keys(&m);
		for (size_t cut = 0; cut < len; cut++)
			assert_int_not_equal(merkle_msg_decode(msg, cut, &m),
			                     0);
		/* Trailing bytes. */
		uint8_t *buf = malloc(len + 1);
		assert_non_null(buf);
		memcpy(buf, msg, len);
		buf[len] = 0xc0;
		assert_int_equal(merkle_msg_decode(buf, len + 1, &m),
		                 SH_EMALFORMED);
		/* Random corruption: never a crash; what decodes is sound. */
		for (int k = 0; k < 300; k++) {
			memcpy(buf, msg, len);
			int flips = 1 + (int)sh_rand_below(&r, 4);
			for (int f = 0; f < flips; f++)
				buf[sh_rand_below(&r, len)] ^=
				    (uint8_t)(1 + sh_rand_below(&r, 255));
			size_t l2 = sh_rand_chance(&r, 0.2)
			                ? sh_rand_below(&r, len + 1)
			                : len;
			if (merkle_msg_decode(buf, l2, &m) == 0)
				walk_keys(&m);
		}
		free(buf);
	}
	for (int t = MERKLE_MSG_OPEN; t <= MERKLE_MSG_PKEYS_REQ; t++)
		assert_true(types[t]);
	/* Version, size and garbage. */
	merkle_msg_t m;
	uint8_t v2[] = {0x95, 0x02, 0x06, 0x01, 0x00, 0x00};
	assert_int_equal(merkle_msg_decode(v2, sizeof v2, &m), SH_EVERSION);
	uint8_t ok[] = {0x95, 0x01, 0x06, 0x01, 0x00, 0x00};
	assert_int_equal(merkle_msg_decode(ok, sizeof ok, &m), 0);
	assert_int_equal(m.type, MERKLE_MSG_DONE);
	uint8_t badtype[] = {0x95, 0x01, 0x0a, 0x01, 0x00, 0x00};
	assert_int_equal(merkle_msg_decode(badtype, sizeof badtype, &m),
	                 SH_EMALFORMED);
	uint8_t badstatus[] = {0x95, 0x01, 0x06, 0x01, 0x00, 0x05};
	assert_int_equal(merkle_msg_decode(badstatus, sizeof badstatus, &m),
	                 SH_ERANGE);
	assert_int_equal(merkle_msg_decode(ok, MERKLE_MSG_BYTES_MAX + 1, &m),
	                 SH_ETOOBIG);
	assert_int_equal(merkle_msg_decode(NULL, 0, &m), SH_ETRUNC);
	/* Random garbage. */
	uint8_t g[256];
	for (int k = 0; k < 20000; k++) {
		size_t l = sh_rand_below(&r, sizeof g);
		for (size_t j = 0; j < l; j++)
			g[j] = (uint8_t)sh_rand_u64(&r);
		if (l > 0 && sh_rand_chance(&r, 0.5))
			g[0] = (uint8_t)(0x90 | sh_rand_below(&r, 9));
		if (merkle_msg_decode(g, l, &m) == 0)
			walk_keys(&m);
	}
	run_free(&runs[0]);
	run_free(&runs[1]);
}

/* The first captured message of a type (NULL if none). */
static const uint8_t *captured(const run_t *cap, merkle_msg_type_t type,
                               int first, size_t *len)
{
	for (size_t i = 0; i < cap->seen_n; i++) {
		merkle_msg_t m;
		assert_int_equal(
		    merkle_msg_decode(cap->seen[i], cap->seen_len[i], &m), 0);
		if (m.type == type &&
		    (type != MERKLE_MSG_SUMS_REQ || m.first == first)) {
			*len = cap->seen_len[i];
			return cap->seen[i];
		}
	}
	return NULL;
}

/*
 * Below the segments, a responder answers only from a step it holds:
 * path requests without one are rejected (nothing changes), and a path
 * outside the step's segments aborts the exchange, telling the peer.
 */
static void test_merkle_sub_responder_rejects_stray_paths(void **state)
{
	(void)state;
	run_t cap;
	capture_messages(&cap, 4);
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t m;
	fill_model(&m, 100, 0.5);
	merkle_t t;
	tree_from_model(&t, &c, &m);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	merkle_exchange_t x;
	assert_int_equal(merkle_exchange_init(&x, &xc, &t), 0);
	size_t ol, pl, sl, fl;
	const uint8_t *open = captured(&cap, MERKLE_MSG_OPEN, 0, &ol);
	const uint8_t *pk = captured(&cap, MERKLE_MSG_PKEYS_REQ, 0, &pl);
	const uint8_t *sr = captured(&cap, MERKLE_MSG_SUMS_REQ, 0, &sl);
	const uint8_t *first = captured(&cap, MERKLE_MSG_SUMS_REQ, 1, &fl);
	assert_true(open && pk && sr && first);
	assert_int_equal(merkle_exchange_recv(&x, 0, open, ol), 0);
	assert_int_equal(merkle_exchange_recv(&x, 0, pk, pl), SH_EINVAL);
	assert_int_equal(merkle_exchange_recv(&x, 0, sr, sl), SH_EINVAL);
	assert_int_equal(merkle_exchange_stats(&x)->msgs_rejected, 2);
	merkle_exchange_advance(&x);
	/* A step: collect, answer SUMS, hold the keys. */
	assert_int_equal(merkle_exchange_recv(&x, 0, first, fl), 0);
	merkle_ready_t rd;
	merkle_exchange_ready(&x, &rd);
	assert_true(rd.want_keys && rd.want_count > 0);
	merkle_msg_t fm;
	assert_int_equal(merkle_msg_decode(first, fl, &fm), 0);
	uint32_t outside = 0; /* a segment the step does not hold */
	for (size_t i = 0; i < rd.want_count; i++)
		if (rd.want_segments[i] == outside)
			outside++;
	merkle_exchange_advance(&x);
	feed_model(&x, &m);
	merkle_exchange_ready(&x, &rd);
	assert_int_equal(rd.msg_count, 1);
	merkle_msg_t sm;
	assert_int_equal(
	    merkle_msg_decode(rd.msgs[0].data, rd.msgs[0].len, &sm), 0);
	assert_int_equal(sm.type, MERKLE_MSG_SUMS);
	assert_int_equal(sm.path_count, fm.path_count);
	merkle_exchange_advance(&x);
	/* A path outside the step: abort, and say so. */
	sh_buf_t b;
	sh_buf_init(&b);
	uint64_t path = (1ull << 6) | outside; /* 64 segments: 6 bits */
	assert_int_equal(merkle__enc_paths(&b, MERKLE_MSG_PKEYS_REQ, fm.xid,
	                                   fm.partition, 0, 0, &path, 1),
	                 0);
	assert_int_equal(merkle_exchange_recv(&x, 0, b.data, b.len),
	                 SH_EMALFORMED);
	merkle_exchange_ready(&x, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	assert_int_equal(rd.msg_count, 1); /* DONE(error) */
	sh_buf_free(&b);
	merkle_exchange_free(&x);
	merkle_free(&t);
	model_free(&m);
	run_free(&cap);
}

/* 1 if key i's hash falls under one of PKEYS_REQ m's paths in t. */
static int under_paths(const merkle_t *t, const merkle_msg_t *m, uint32_t i)
{
	char k[16];
	size_t kl = key_name(k, i);
	uint64_t kh = merkle_key_hash("b", 1, k, kl);
	for (uint32_t p = 0; p < m->path_count; p++) {
		uint64_t lo, hi;
		merkle__path_range(t, merkle_msg_path(m, p), &lo, &hi);
		if (kh >= lo && kh <= hi)
			return 1;
	}
	return 0;
}

/*
 * Below the segments, an initiator takes keys only under the paths it
 * asked for: a KEYS answering PKEYS_REQ with any other key aborts.
 */
static void test_merkle_sub_initiator_rejects_keys_not_asked(void **state)
{
	(void)state;
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t ma, mb;
	fill_model(&ma, 2000, 1.0);
	model_copy(&mb, &ma);
	uint64_t h = 0xbad;
	write_key(NULL, &mb, 1234, &h);
	merkle_t a, b;
	tree_from_model(&a, &c, &ma);
	tree_from_model(&b, &c, &mb);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	merkle_exchange_t xa, xb;
	assert_int_equal(merkle_exchange_init(&xa, &xc, &a), 0);
	assert_int_equal(merkle_exchange_init(&xb, &xc, &b), 0);
	assert_int_equal(merkle_exchange_start(&xa, 1000, 42), 0);
	run_t run;
	run_init(&run, 4);
	merkle_msg_t pk;
	int found = 0;
	for (int turn = 0; !found && turn < 1000; turn++) {
		merkle_ready_t rd;
		merkle_exchange_ready(&xa, &rd);
		for (size_t i = 0; i < rd.msg_count; i++)
			if (merkle_msg_decode(rd.msgs[i].data, rd.msgs[i].len,
			                      &pk) == 0 &&
			    pk.type == MERKLE_MSG_PKEYS_REQ)
				found = 1;
		if (!found) {
			side_turn(&run, &xa, &ma, &xb);
			side_turn(&run, &xb, &mb, &xa);
		}
	}
	assert_true(found); /* pk points into xa's output, still valid */
	uint32_t stray = 0;
	while (under_paths(&a, &pk, stray))
		stray++;
	char k[16];
	size_t kl = key_name(k, stray);
	merkle__kent_t e = {
	    merkle_key_hash("b", 1, k, kl), 1, 0, NULL, 1, (uint16_t)kl, 0};
	merkle__klist_t l = {&e, 1, 1, {0}};
	assert_int_equal(sh_buf_append(&l.arena, "b", 1), 0);
	assert_int_equal(sh_buf_append(&l.arena, k, kl), 0);
	sh_buf_t msg;
	sh_buf_init(&msg);
	assert_int_equal(merkle__enc_keys(&msg, 42, 0, 1, &l, 0, 1), 0);
	assert_int_equal(merkle_exchange_recv(&xa, 1000, msg.data, msg.len),
	                 SH_EMALFORMED);
	merkle_ready_t rd;
	merkle_exchange_ready(&xa, &rd);
	assert_int_equal(rd.state, MERKLE_X_ABORTED);
	assert_int_equal(rd.error, SH_EMALFORMED);
	sh_buf_free(&msg);
	sh_buf_free(&l.arena);
	run_free(&run);
	merkle_exchange_free(&xa);
	merkle_exchange_free(&xb);
	merkle_free(&a);
	merkle_free(&b);
	model_free(&ma);
	model_free(&mb);
}

/* A responder fed garbage and stray messages rejects them and goes on. */
static void test_merkle_exchange_rejects_bad_input(void **state)
{
	(void)state;
	run_t cap;
	capture_messages(&cap, 4);
	merkle_config_t c;
	cfg_of(&c, 64, 4);
	model_t m;
	fill_model(&m, 100, 0.5);
	merkle_t t;
	tree_from_model(&t, &c, &m);
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	merkle_exchange_t x;
	assert_int_equal(merkle_exchange_init(&x, &xc, &t), 0);
	uint8_t junk[] = {1, 2, 3};
	assert_true(merkle_exchange_recv(&x, 0, junk, sizeof junk) < 0);
	/* Anything but OPEN is refused by an idle exchange. */
	for (size_t i = 1; i < cap.seen_n; i++) {
		merkle_msg_t mm;
		assert_int_equal(
		    merkle_msg_decode(cap.seen[i], cap.seen_len[i], &mm), 0);
		if (mm.type == MERKLE_MSG_OPEN)
			continue;
		assert_int_equal(
		    merkle_exchange_recv(&x, 0, cap.seen[i], cap.seen_len[i]),
		    SH_EINVAL);
	}
	merkle_ready_t rd;
	merkle_exchange_ready(&x, &rd);
	assert_int_equal(rd.state, MERKLE_X_IDLE);
	assert_int_equal(rd.msg_count, 0);
	assert_true(merkle_exchange_stats(&x)->msgs_rejected >= 2);
	assert_int_equal(merkle_exchange_key(&x, "b", 1, "k", 1, 1), SH_EINVAL);
	assert_int_equal(merkle_exchange_keys_end(&x, 0), SH_EINVAL);
	merkle_exchange_free(&x);
	merkle_free(&t);
	model_free(&m);
	run_free(&cap);
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");
	if (env != NULL && *env != '\0')
		g_seed = strtoull(env, NULL, 0);
	printf("test_merkle: seed %" PRIu64
	       " (replay with SHOAL_TEST_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merkle_geometry_and_config_checks),
	    cmocka_unit_test(test_merkle_key_hash_and_segment_bits),
	    cmocka_unit_test(test_merkle_term_is_the_record_hash),
	    cmocka_unit_test(test_merkle_incremental_update_equals_rebuild),
	    cmocka_unit_test(test_merkle_xor_order_independent),
	    cmocka_unit_test(test_merkle_equal_data_equal_roots),
	    cmocka_unit_test(test_merkle_rebuild_with_concurrent_updates),
	    cmocka_unit_test(test_merkle_rebuild_rejects_misuse),
	    cmocka_unit_test(
	        test_merkle_equal_trees_exchange_is_one_round_trip),
	    cmocka_unit_test(
	        test_merkle_one_difference_reports_exactly_that_key),
	    cmocka_unit_test(
	        test_merkle_sub_walk_sends_keys_of_differences_only),
	    cmocka_unit_test(test_merkle_sub_responder_rejects_stray_paths),
	    cmocka_unit_test(test_merkle_sub_initiator_rejects_keys_not_asked),
	    cmocka_unit_test(test_merkle_differences_found_in_both_directions),
	    cmocka_unit_test(
	        test_merkle_random_difference_sets_reported_exactly),
	    cmocka_unit_test(test_merkle_exchange_keeps_to_its_partition),
	    cmocka_unit_test(test_merkle_exchange_aborts_on_timeout),
	    cmocka_unit_test(test_merkle_exchange_refuses_mismatch_and_unbuilt),
	    cmocka_unit_test(
	        test_merkle_codec_rejects_truncation_and_corruption),
	    cmocka_unit_test(test_merkle_exchange_rejects_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
