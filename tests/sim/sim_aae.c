/*
 * sim_aae.c - `shoal-sim aae`: what Merkle anti-entropy (antientropy/
 * merkle.h) costs when one replica of three differs on a fraction of its
 * keys. A benchmark, not a test: it prints bytes and times. Memory only.
 *
 *   shoal-sim aae [--keys N] [--diff F] [--value-bytes B]
 *                 [--partitions Q] [--segments S] [--fanout F]
 *                 [--sub-fanout K] [--rounds R] [--latency-us L]
 *                 [--mbit-s M] [--seed S]
 *
 * Three replicas hold the same N keys ("bench", "k0000000000".., spread
 * over Q partitions by their hash as the ring does), each a synthetic
 * object of B bytes at version 1 whose hash is xxh3 of its bytes. Then
 * replica 3 is damaged on F*N keys, a third each (in order): a changed
 * value (half of them newer on replica 3, half newer on the others),
 * a missing key, an extra key the others lack. Rounds of exchanges
 * (sim_aae_run.c) then run until a whole round finds every pair's roots
 * equal. A repair merges both objects (the newer version wins) and writes
 * the result where it differs.
 *
 * Output (every line but `time` is a function of the arguments):
 *   aae keys=.. partitions=.. segments=.. fanout=.. sub_fanout=..
 *       value_bytes=.. diff=.. seed=..
 *   damage changed=.. missing=.. extra=.. differing_keys=..
 *       differing_object_bytes=D
 *   exchanges rounds=.. exchanges=.. equal_roots=.. aborted=.. msgs=..
 *       levels_walked=.. keys_sent=.. repairs=.. objects_moved=..
 *       wrong_repairs=..
 *   bytes tree=T sums=U keys=K objects=O total=..
 *   time build_s=.. exchange_s=.. sim_s=..
 *   result converged=yes|no ratio=R ratio_with_tree=RT
 * D counts every object version that not all replicas hold (a changed key
 * has two). O counts the objects the repairs moved plus the key names
 * that asked for them. R = (K + O) / D: the goal is R <= 2; the tree
 * levels walked (T + U) come on top, RT = (T + U + K + O) / D. sim_s
 * models the network: one exchange at a time, each message latency plus
 * its bytes at M Mbit/s, each batch of repairs one round trip.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_aae.h"
#include "tests/sim/sim_args.h"

#define KEYS_MAX        (1ull << 27)
#define VALUE_BYTES_MAX (1u << 20)

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: shoal-sim aae [--keys N] [--diff F] [--value-bytes B]\n"
	    "                     [--partitions Q] [--segments S] "
	    "[--fanout F]\n"
	    "                     [--sub-fanout K] [--rounds R] "
	    "[--latency-us L]\n"
	    "                     [--mbit-s M] [--seed S]\n"
	    "  N keys on three replicas (default 100000), F the fraction\n"
	    "  of them made to differ on replica 3 (default 0.01), B bytes\n"
	    "  per object (default 100), Q partitions (default 64), S and F\n"
	    "  the tree's segments and fanout, K the exchange's\n"
	    "  sub-segment fanout (0: off). Prints the bytes anti-entropy\n"
	    "  exchanged next to the bytes of the differing objects.\n");
}

static int parse_opt(aae_opts_t *o, const char *key, const char *val)
{
	uint64_t v = 0;
	if (strcmp(key, "--seed") == 0)
		return sim_arg_u64(val, 0, UINT64_MAX, &o->seed);
	if (strcmp(key, "--diff") == 0)
		return sim_arg_fraction(val, &o->diff);
	if (strcmp(key, "--keys") == 0)
		return sim_arg_u64(val, 1, KEYS_MAX, &o->keys);
	int rc = sim_arg_u64(val, 0, UINT32_MAX, &v);
	if (rc)
		return rc;
	uint32_t *dst = strcmp(key, "--value-bytes") == 0  ? &o->value_bytes
	                : strcmp(key, "--partitions") == 0 ? &o->partitions
	                : strcmp(key, "--segments") == 0   ? &o->segments
	                : strcmp(key, "--fanout") == 0     ? &o->fanout
	                : strcmp(key, "--sub-fanout") == 0 ? &o->sub_fanout
	                : strcmp(key, "--rounds") == 0     ? &o->rounds_max
	                : strcmp(key, "--latency-us") == 0 ? &o->latency_us
	                : strcmp(key, "--mbit-s") == 0     ? &o->mbit_s
	                                                   : NULL;
	if (dst == NULL)
		return SH_EINVAL;
	*dst = (uint32_t)v;
	return 0;
}

static int log2_exact(uint32_t v, uint32_t *bits)
{
	if (v == 0 || (v & (v - 1)) != 0)
		return SH_EINVAL;
	uint32_t b = 0;
	while ((1u << b) < v)
		b++;
	*bits = b;
	return 0;
}

static int parse_args(aae_opts_t *o, int argc, char **argv)
{
	const char *env = getenv("SHOAL_SIM_SEED");
	int i = 1;
	merkle_config_t mc;
	merkle_xconfig_t xc;

	memset(o, 0, sizeof *o);
	merkle_config_default(&mc);
	merkle_xconfig_default(&xc);
	o->keys = 100000;
	o->diff = 0.01;
	o->value_bytes = 100;
	o->partitions = 64;
	o->segments = mc.segments;
	o->fanout = mc.fanout;
	o->sub_fanout = xc.sub_fanout;
	o->rounds_max = 8;
	o->latency_us = 100;
	o->mbit_s = 1000;
	o->seed = 1;
	if (env && sim_arg_u64(env, 0, UINT64_MAX, &o->seed))
		return SH_EINVAL;
	if (i < argc && strcmp(argv[i], "aae") == 0)
		i++; /* handed the whole command line */
	if (i < argc && strcmp(argv[i], "--help") == 0)
		return SH_ENOTFOUND;
	for (; i < argc; i += 2)
		if (i + 1 >= argc || parse_opt(o, argv[i], argv[i + 1]))
			return SH_EINVAL;
	uint32_t pbits;
	if (log2_exact(o->partitions, &pbits) ||
	    pbits > MERKLE_PARTITION_BITS_MAX || o->value_bytes == 0 ||
	    o->value_bytes > VALUE_BYTES_MAX || o->rounds_max == 0 ||
	    o->mbit_s == 0 || o->sub_fanout == 1 ||
	    o->sub_fanout > MERKLE_SUB_FANOUT_MAX ||
	    (o->sub_fanout & (o->sub_fanout - 1)) != 0)
		return SH_EINVAL;
	merkle_t probe;
	mc.segments = o->segments;
	mc.fanout = o->fanout;
	mc.partition_bits = pbits;
	if (merkle_init(&probe, &mc) != 0)
		return SH_EINVAL;
	merkle_free(&probe);
	return 0;
}

/* ---- keys and objects ---- */

void sim_aae_name(uint32_t idx, char buf[AAE_NAME_LEN])
{
	buf[0] = 'k';
	for (int i = AAE_NAME_LEN - 1; i >= 1; i--) {
		buf[i] = (char)('0' + idx % 10);
		idx /= 10;
	}
}

uint64_t sim_aae_obj_hash(aae_bench_t *b, uint32_t idx, uint32_t ver)
{
	uint64_t st = b->o.seed ^ ((uint64_t)idx << 20) ^ ver;
	uint32_t n = b->o.value_bytes;
	for (uint32_t i = 0; i < n; i += 8) {
		uint64_t w = sh_splitmix64(&st);
		memcpy(b->obj + i, &w, n - i < 8 ? n - i : 8);
	}
	return merkle_key_hash(b->obj, n, NULL, 0);
}

uint32_t sim_aae_partition_of(const aae_bench_t *b, size_t slot)
{
	return b->pbits ? (uint32_t)(b->u[slot].key_hash >> (64 - b->pbits))
	                : 0;
}

int sim_aae_set(aae_bench_t *b, int r, size_t slot, uint32_t ver)
{
	aae_replica_t *rep = &b->r[r];
	if (rep->ver[slot] == ver)
		return 0;
	uint64_t oh = rep->objh[slot];
	uint64_t nh = ver ? sim_aae_obj_hash(b, b->u[slot].idx, ver) : 0;
	char name[AAE_NAME_LEN];
	sim_aae_name(b->u[slot].idx, name);
	int rc = merkle_update(&rep->trees[sim_aae_partition_of(b, slot)],
	                       AAE_BUCKET, AAE_BUCKET_LEN, name, AAE_NAME_LEN,
	                       rep->ver[slot] ? &oh : NULL, ver ? &nh : NULL);
	if (rc != 0)
		return rc;
	rep->ver[slot] = ver;
	rep->objh[slot] = nh;
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const aae_key_t *a = pa, *c = pb;
	return a->key_hash < c->key_hash ? -1 : a->key_hash > c->key_hash;
}

/* The universe: N keys plus replica 3's extra ones, sorted by hash. */
static int make_keys(aae_bench_t *b)
{
	b->u = calloc(b->n, sizeof *b->u);
	b->slot_of = calloc(b->n, sizeof *b->slot_of);
	b->pstart = calloc((size_t)b->o.partitions + 1, sizeof *b->pstart);
	if (!b->u || !b->slot_of || !b->pstart)
		return SH_ENOMEM;
	char name[AAE_NAME_LEN];
	for (size_t i = 0; i < b->n; i++) {
		sim_aae_name((uint32_t)i, name);
		b->u[i].idx = (uint32_t)i;
		b->u[i].key_hash = merkle_key_hash(AAE_BUCKET, AAE_BUCKET_LEN,
		                                   name, AAE_NAME_LEN);
	}
	qsort(b->u, b->n, sizeof *b->u, key_cmp);
	for (size_t s = 0; s < b->n; s++)
		b->slot_of[b->u[s].idx] = (uint32_t)s;
	for (size_t s = 0, p = 0; p <= b->o.partitions; p++) {
		while (s < b->n && sim_aae_partition_of(b, s) < p)
			s++;
		b->pstart[p] = s;
	}
	return 0;
}

static int make_replica(aae_bench_t *b, aae_replica_t *r)
{
	r->ver = calloc(b->n, sizeof *r->ver);
	r->objh = calloc(b->n, sizeof *r->objh);
	r->trees = calloc(b->o.partitions, sizeof *r->trees);
	if (!r->ver || !r->objh || !r->trees)
		return SH_ENOMEM;
	for (uint32_t p = 0; p < b->o.partitions; p++) {
		merkle_config_t c = {b->o.segments, b->o.fanout, b->pbits, p};
		int rc = merkle_init(&r->trees[p], &c);
		if (rc == 0)
			rc = merkle_rebuild_start(&r->trees[p]);
		if (rc == 0)
			rc = merkle_rebuild_finish(&r->trees[p]); /* empty */
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Every replica holds keys 0..N-1 at version 1. */
static int fill(aae_bench_t *b)
{
	char name[AAE_NAME_LEN];
	for (uint32_t idx = 0; idx < b->o.keys; idx++) {
		size_t slot = b->slot_of[idx];
		uint64_t h = sim_aae_obj_hash(b, idx, 1);
		uint32_t p = sim_aae_partition_of(b, slot);
		sim_aae_name(idx, name);
		for (int r = 0; r < AAE_REPLICAS; r++) {
			int rc = merkle_update(&b->r[r].trees[p], AAE_BUCKET,
			                       AAE_BUCKET_LEN, name,
			                       AAE_NAME_LEN, NULL, &h);
			if (rc != 0)
				return rc;
			b->r[r].ver[slot] = 1;
			b->r[r].objh[slot] = h;
		}
	}
	return 0;
}

/* Damage replica 3 on diff*N keys picked at random (see the top). */
static int damage(aae_bench_t *b, uint64_t d)
{
	sh_rand_t rng;
	sh_rand_seed(&rng, b->o.seed);
	uint64_t third = d / 3, done = 0;
	int rc = 0;
	for (uint64_t guard = 0;
	     rc == 0 && done < d - b->extra && guard < 64 * (d + 1); guard++) {
		uint32_t idx = (uint32_t)sh_rand_below(&rng, b->o.keys);
		size_t slot = b->slot_of[idx];
		if (b->r[2].ver[slot] != 1 || b->r[0].ver[slot] != 1)
			continue; /* already damaged */
		if (done < third && (done & 1)) {
			rc = sim_aae_set(b, 2, slot, 2); /* newer on 3 */
			b->changed++;
		} else if (done < third) {
			for (int r = 0; rc == 0 && r < 2; r++)
				rc = sim_aae_set(b, r, slot, 2);
			b->changed++;
		} else {
			rc = sim_aae_set(b, 2, slot, 0);
			b->missing++;
		}
		done++;
	}
	for (uint64_t j = 0; rc == 0 && j < b->extra; j++)
		rc = sim_aae_set(b, 2, b->slot_of[b->o.keys + j], 1);
	b->differing_keys = b->changed + b->missing + b->extra;
	b->differing_bytes = (2 * b->changed + b->missing + b->extra) *
	                     (uint64_t)b->o.value_bytes;
	return rc != 0 ? rc : done + b->extra == d ? 0 : SH_EFULL;
}

static void bench_free(aae_bench_t *b)
{
	for (int r = 0; r < AAE_REPLICAS; r++) {
		for (uint32_t p = 0; b->r[r].trees && p < b->o.partitions; p++)
			merkle_free(&b->r[r].trees[p]);
		free(b->r[r].trees);
		free(b->r[r].ver);
		free(b->r[r].objh);
	}
	free(b->u);
	free(b->slot_of);
	free(b->pstart);
	free(b->obj);
}

/* ---- the run ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when every replica holds the same versions and the same roots. */
static int converged(aae_bench_t *b)
{
	for (size_t s = 0; s < b->n; s++)
		if (b->r[0].ver[s] != b->r[1].ver[s] ||
		    b->r[0].ver[s] != b->r[2].ver[s])
			return 0;
	for (uint32_t p = 0; p < b->o.partitions; p++) {
		uint64_t root = merkle_root(&b->r[0].trees[p]);
		if (merkle_root(&b->r[1].trees[p]) != root ||
		    merkle_root(&b->r[2].trees[p]) != root)
			return 0;
	}
	return 1;
}

static void report(const aae_bench_t *b, double build_s, double run_s, int ok)
{
	const aae_opts_t *o = &b->o;
	const aae_bytes_t *y = &b->bytes;
	uint64_t walk = y->tree + y->sums, total = walk + y->keys + y->objects;
	double d = b->differing_bytes ? (double)b->differing_bytes : 1.0;
	printf("aae keys=%" PRIu64 " partitions=%" PRIu32 " segments=%" PRIu32
	       " fanout=%" PRIu32 " sub_fanout=%" PRIu32 " value_bytes=%" PRIu32
	       " diff=%g seed=%" PRIu64 "\n",
	       o->keys, o->partitions, o->segments, o->fanout, o->sub_fanout,
	       o->value_bytes, o->diff, o->seed);
	printf("damage changed=%" PRIu64 " missing=%" PRIu64 " extra=%" PRIu64
	       " differing_keys=%" PRIu64 " differing_object_bytes=%" PRIu64
	       "\n",
	       b->changed, b->missing, b->extra, b->differing_keys,
	       b->differing_bytes);
	printf("exchanges rounds=%" PRIu64 " exchanges=%" PRIu64
	       " equal_roots=%" PRIu64 " aborted=%" PRIu64 " msgs=%" PRIu64
	       " levels_walked=%" PRIu64 " keys_sent=%" PRIu64
	       " repairs=%" PRIu64 " objects_moved=%" PRIu64
	       " wrong_repairs=%" PRIu64 "\n",
	       b->rounds, b->exchanges, b->equal_roots, b->aborted, b->msgs,
	       b->levels_walked, b->keys_sent, b->repairs, b->objects_moved,
	       b->wrong_repairs);
	printf("bytes tree=%" PRIu64 " sums=%" PRIu64 " keys=%" PRIu64
	       " objects=%" PRIu64 " total=%" PRIu64 "\n",
	       y->tree, y->sums, y->keys, y->objects, total);
	printf("time build_s=%.3f exchange_s=%.3f sim_s=%.3f\n", build_s, run_s,
	       b->sim_s);
	printf("result converged=%s ratio=%.3f ratio_with_tree=%.3f\n",
	       ok ? "yes" : "no", (double)(y->keys + y->objects) / d,
	       (double)total / d);
}

static int bench_setup(aae_bench_t *b)
{
	uint64_t d = (uint64_t)(b->o.diff * (double)b->o.keys + 0.5);
	b->extra = d - 2 * (d / 3);
	b->n = b->o.keys + b->extra;
	if (b->n > KEYS_MAX)
		return SH_EINVAL;
	b->obj = malloc(b->o.value_bytes + 8);
	if (b->obj == NULL)
		return SH_ENOMEM;
	int rc = make_keys(b);
	for (int r = 0; rc == 0 && r < AAE_REPLICAS; r++)
		rc = make_replica(b, &b->r[r]);
	if (rc == 0)
		rc = fill(b);
	if (rc == 0)
		rc = damage(b, d);
	return rc;
}

int sim_aae_main(int argc, char **argv)
{
	aae_bench_t b;
	memset(&b, 0, sizeof b);
	int rc = parse_args(&b.o, argc, argv);
	if (rc == SH_ENOTFOUND) {
		usage(stdout);
		return 0;
	}
	if (rc != 0) {
		usage(stderr);
		return 2;
	}
	log2_exact(b.o.partitions, &b.pbits);
	double t0 = now_s();
	rc = bench_setup(&b);
	double t1 = now_s();
	int equal = 0;
	while (rc == 0 && !equal && b.rounds < b.o.rounds_max) {
		rc = sim_aae_round(&b, &equal);
		b.rounds++;
	}
	double t2 = now_s();
	int ok = rc == 0 && equal && converged(&b) && b.wrong_repairs == 0;
	if (rc != 0)
		fprintf(stderr, "shoal-sim aae: %s\n", sh_strerror(rc));
	report(&b, t1 - t0, t2 - t1, ok);
	bench_free(&b);
	return ok ? 0 : 1;
}
