/*
 * sim_ring.c - `shoal-sim ring`: how evenly the ring (ring/ring.h) spreads
 * partitions over a cluster, and how much data moves when a node joins or
 * leaves.
 *
 *   shoal-sim ring --nodes N [--partitions Q] [--n R] [--slack PCT]
 *                  [--sets K] [--seed S]
 *
 * The cluster is "node1".."nodeN" (Q defaults to 64, R to 3, PCT to the
 * ring's default slot slack). Output, one line each:
 *
 *   node NAME primaries=P slots=S     per node, in name order: partitions it
 *                                     is primary for, owner slots it holds
 *   balance ...                       extremes of both, and Q/N and Q*R/N
 *   leave node=node1 ...              node1 leaves (N > 1): the moved fraction,
 *                                     the least possible given its slots,
 *                                     and the ideal 1/N
 *   join node=nodeN+1 slots=S moved_slots=M
 *   random sets=K seed=S ...          with --sets: K random name sets of N
 *                                     nodes plus a joiner (seed from --seed,
 *                                     else SHOAL_SIM_SEED, else 1): the
 *                                     worst and mean of moved_on_join over
 *                                     moved_ideal, and how many were over 1.25
 *   ring nodes=N partitions=Q n=R max_over_ideal=X moved_on_join=P
 *        moved_ideal=I                (one line, always last)
 *
 * max_over_ideal is the largest primary count divided by the integer ideal
 * ceil(Q/N) (when N does not divide Q some node must hold ceil(Q/N), so
 * 1.0000 is perfect balance; Q/N itself is on the balance line).
 * moved_on_join is the fraction of (partition, replica) slots whose data
 * must move when node N+1 joins: the number of (partition, member) pairs
 * where the member is among the partition's first R owners after the join
 * but was not before, divided by Q*min(R, N+1). moved_ideal = 1/(N+1), the
 * joiner's fair share. The same arguments print the same bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "ring/ring.h"
#include "tests/sim/sim_args.h"
#include "tests/sim/sim.h"

#define NAME_BYTES 32

typedef struct opts {
	uint32_t nodes;
	ring_config_t cfg;
	uint32_t sets;
	uint64_t seed;
} opts_t;

/* A cluster's names, in one block. */
typedef struct names {
	uint32_t count;
	char (*buf)[NAME_BYTES];
	const char **v;
} names_t;

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: shoal-sim ring --nodes 1..%d [--partitions Q] [--n R]\n"
	        "                      [--slack PCT] [--sets K] [--seed S]\n"
	        "  Q a power of two 1..%d (default %d), R 1..%d (default %d),\n"
	        "  PCT 0..%d (default %d). Prints per-node ownership, then\n"
	        "  `ring nodes=N partitions=Q n=R max_over_ideal=X "
	        "moved_on_join=P moved_ideal=I`:\n"
	        "  X = most primaries on a node / ceil(Q/N); P = fraction of\n"
	        "  the Q*R (partition, replica) slots that node N+1 joining\n"
	        "  puts on a node that did not hold them; I = 1/(N+1).\n",
	        RING_MEMBERS_MAX - 1, RING_PARTITIONS_MAX,
	        RING_PARTITIONS_DEFAULT, RING_N_MAX, RING_N_DEFAULT,
	        RING_SLACK_PCT_MAX, RING_SLACK_PCT_DEFAULT);
}

static int parse_opt(opts_t *o, const char *key, const char *val)
{
	uint64_t v = 0;
	int rc = sim_arg_u64(val, 0, UINT32_MAX, &v);

	if (strcmp(key, "--seed") == 0)
		return sim_arg_u64(val, 0, UINT64_MAX, &o->seed);
	if (rc)
		return rc;
	if (strcmp(key, "--nodes") == 0 && v >= 1 && v < RING_MEMBERS_MAX)
		o->nodes = (uint32_t)v;
	else if (strcmp(key, "--partitions") == 0)
		o->cfg.partitions = (uint32_t)v;
	else if (strcmp(key, "--n") == 0)
		o->cfg.n_replicas = (uint32_t)v;
	else if (strcmp(key, "--slack") == 0)
		o->cfg.slot_slack_pct = (uint32_t)v;
	else if (strcmp(key, "--sets") == 0)
		o->sets = (uint32_t)v;
	else
		return SH_EINVAL;
	return 0;
}

static int parse_args(opts_t *o, int argc, char **argv)
{
	const char *env = getenv("SHOAL_SIM_SEED");
	int i = 1;
	ring_t probe;

	memset(o, 0, sizeof(*o));
	ring_config_default(&o->cfg);
	o->cfg.members_max = RING_MEMBERS_MAX;
	o->seed = 1;
	if (env && sim_arg_u64(env, 0, UINT64_MAX, &o->seed))
		return SH_EINVAL;
	if (i < argc && strcmp(argv[i], "ring") == 0)
		i++; /* handed the whole command line */
	if (i < argc && strcmp(argv[i], "--help") == 0)
		return SH_ENOTFOUND; /* not an error: usage on stdout */
	for (; i < argc; i += 2)
		if (i + 1 >= argc || parse_opt(o, argv[i], argv[i + 1]))
			return SH_EINVAL;
	if (o->nodes == 0 || ring_init(&probe, &o->cfg))
		return SH_EINVAL;
	ring_free(&probe);
	if ((uint64_t)(o->nodes + 1) * o->cfg.partitions > RING_CELLS_MAX)
		return SH_EINVAL;
	return 0;
}

static int names_make(names_t *n, uint32_t count)
{
	n->count = count;
	n->buf = calloc(count, sizeof(*n->buf));
	n->v = calloc(count, sizeof(*n->v));
	if (!n->buf || !n->v)
		return SH_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		snprintf(n->buf[i], NAME_BYTES, "node%" PRIu32, i + 1);
		n->v[i] = n->buf[i];
	}
	return 0;
}

static void names_free(names_t *n)
{
	free(n->buf);
	free(n->v);
}

/* A ring of the given members; exits the process on failure. */
static void ring_make(ring_t *r, const opts_t *o, const char *const *names,
                      uint32_t count)
{
	int rc = ring_init(r, &o->cfg);

	if (rc == 0)
		rc = ring_set_members(r, names, count);
	if (rc) {
		fprintf(stderr, "shoal-sim ring: %s\n", sh_strerror(rc));
		exit(2);
	}
}

/* moved slots as a fraction of the new ring's Q * min(R, members). */
static double moved_frac(const ring_t *from, const ring_t *to, uint32_t n)
{
	uint32_t k = n < ring_member_count(to) ? n : ring_member_count(to);
	int moved = ring_moved_slots(from, to, n);

	if (moved < 0) {
		fprintf(stderr, "shoal-sim ring: %s\n", sh_strerror(moved));
		exit(2);
	}
	return k ? (double)moved / ((double)ring_partitions(to) * k) : 0.0;
}

/* Per-node lines and the balance line; returns the most primaries. */
static uint32_t report_nodes(const ring_t *r)
{
	uint32_t pmax = 0, pmin = UINT32_MAX, smax = 0, smin = UINT32_MAX;
	uint32_t count = ring_member_count(r), q = ring_partitions(r);
	uint32_t n = ring_n_replicas(r) < count ? ring_n_replicas(r) : count;

	for (uint32_t m = 0; m < count; m++) {
		uint32_t p = ring_primaries(r, m), s = ring_slots(r, m);

		printf("node %s primaries=%" PRIu32 " slots=%" PRIu32 "\n",
		       ring_member_name(r, m), p, s);
		pmax = p > pmax ? p : pmax;
		pmin = p < pmin ? p : pmin;
		smax = s > smax ? s : smax;
		smin = s < smin ? s : smin;
	}
	printf("balance primaries_max=%" PRIu32 " primaries_min=%" PRIu32
	       " primaries_per_node=%.4f slots_max=%" PRIu32
	       " slots_min=%" PRIu32 " slots_per_node=%.4f\n",
	       pmax, pmin, (double)q / count, smax, smin,
	       (double)q * n / count);
	return pmax;
}

/* node1 leaves: moved fraction, the least possible, and 1/N. */
static void report_leave(const ring_t *r, const opts_t *o, const names_t *nm)
{
	uint32_t big =
	    o->cfg.n_replicas < o->nodes ? o->cfg.n_replicas : o->nodes;
	uint32_t small =
	    o->cfg.n_replicas < o->nodes - 1 ? o->cfg.n_replicas : o->nodes - 1;
	uint64_t q = o->cfg.partitions;
	uint64_t held = ring_slots(r, (uint32_t)ring_member_find(r, "node1"));
	uint64_t shrink = q * (big - small);
	ring_t after;

	ring_make(&after, o, nm->v + 1, o->nodes - 1);
	printf("leave node=node1 moved_on_leave=%.4f moved_min=%.4f "
	       "moved_ideal=%.4f\n",
	       moved_frac(r, &after, o->cfg.n_replicas),
	       held > shrink ? (double)(held - shrink) / (double)(q * small)
	                     : 0.0,
	       1.0 / o->nodes);
	ring_free(&after);
}

/* K random clusters of N plus a joiner: moved_on_join / moved_ideal. */
static void report_random(const opts_t *o)
{
	names_t nm;
	sh_rand_t rnd;
	double worst = 0, sum = 0;
	uint32_t over = 0;

	if (names_make(&nm, o->nodes + 1)) {
		fprintf(stderr, "shoal-sim ring: out of memory\n");
		exit(2);
	}
	sh_rand_seed(&rnd, o->seed);
	for (uint32_t k = 0; k < o->sets; k++) {
		ring_t a, b;
		double ratio;

		for (uint32_t i = 0; i <= o->nodes; i++)
			snprintf(nm.buf[i], NAME_BYTES, "n%016" PRIx64,
			         sh_rand_u64(&rnd));
		ring_make(&a, o, nm.v, o->nodes);
		ring_make(&b, o, nm.v, o->nodes + 1);
		ratio = moved_frac(&a, &b, o->cfg.n_replicas) * (o->nodes + 1);
		worst = ratio > worst ? ratio : worst;
		sum += ratio;
		over += ratio > 1.25 + 1e-9;
		ring_free(&a);
		ring_free(&b);
	}
	printf("random sets=%" PRIu32 " seed=%" PRIu64 " worst_join_ratio=%.4f"
	       " mean_join_ratio=%.4f over_1.25=%" PRIu32 "\n",
	       o->sets, o->seed, worst, o->sets ? sum / o->sets : 0.0, over);
	names_free(&nm);
}

int sim_ring_main(int argc, char **argv)
{
	opts_t o;
	names_t nm;
	ring_t before, after;
	uint32_t pmax, q, ideal, x;
	double moved;

	switch (parse_args(&o, argc, argv)) {
	case 0: break;
	case SH_ENOTFOUND: usage(stdout); return 0;
	default: usage(stderr); return 2;
	}
	if (names_make(&nm, o.nodes + 1)) {
		fprintf(stderr, "shoal-sim ring: out of memory\n");
		return 2;
	}
	ring_make(&before, &o, nm.v, o.nodes);
	ring_make(&after, &o, nm.v, o.nodes + 1);
	pmax = report_nodes(&before);
	if (o.nodes > 1)
		report_leave(&before, &o, &nm);
	moved = moved_frac(&before, &after, o.cfg.n_replicas);
	x = (uint32_t)ring_member_find(&after, nm.v[o.nodes]);
	printf("join node=%s slots=%" PRIu32 " moved_slots=%d\n", nm.v[o.nodes],
	       ring_slots(&after, x),
	       ring_moved_slots(&before, &after, o.cfg.n_replicas));
	if (o.sets)
		report_random(&o);
	q = o.cfg.partitions;
	ideal = (q + o.nodes - 1) / o.nodes;
	printf("ring nodes=%" PRIu32 " partitions=%" PRIu32 " n=%" PRIu32
	       " max_over_ideal=%.4f moved_on_join=%.4f moved_ideal=%.4f\n",
	       o.nodes, q, o.cfg.n_replicas, (double)pmax / ideal, moved,
	       1.0 / (o.nodes + 1));
	ring_free(&before);
	ring_free(&after);
	names_free(&nm);
	return 0;
}
