/*
 * ring_assign.c - the ownership computation behind ring_set_members
 * (method described in ring.h): member preferences by rank, owner sets by
 * rendezvous on those preferences, bounded loads and balanced primaries by
 * successive shortest paths of a min-cost flow, then full rankings.
 *
 * The flow runs on a graph of members: an edge a -> b via partition p
 * stands for "a hands its unit of p to b", costing the preference lost,
 * w[p][a] - w[p][b]. Each step finds the cheapest chain from a member over
 * its bound to one under it with Dijkstra on reduced costs (node
 * potentials, as in Johnson's algorithm), generating a member's edges only
 * when it is reached and stopping at the nearest sink. The starting
 * assignments give each partition its most preferred members, so every
 * edge starts non-negative, and the potential update keeps reduced costs
 * non-negative after each augmentation.
 *
 * Everything is integer arithmetic over sorted names with ties broken by
 * index, so every node computes the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "ring/ring.h"
#include "ring/ring_int.h"

#define COST_INF INT64_MAX

/*
 * Balancing state. Each partition has h units (owner slots, or the one
 * primary role); held lists their holders, hold[p * members + m] and
 * hold_t[m * parts + p] say whether m is one. A unit of p may go to any
 * member (cand NULL) or only to the k members listed in cand for p. w is
 * the preference each unit keeps. pot/dist/prev/via/done are Dijkstra's,
 * per member.
 */
typedef struct flow {
	uint32_t parts, members, h, k;
	const uint32_t *w;
	uint16_t *held;
	uint8_t *hold;
	uint8_t *hold_t;
	const uint16_t *cand;
	uint32_t *load;
	int64_t *pot;
	int64_t *dist;
	int32_t *prev;
	uint32_t *via;
	uint8_t *done;
} flow_t;

typedef struct pref_key {
	uint64_t score;
	uint32_t part;
} pref_key_t;

uint64_t ring__score(uint32_t partition, const char *name)
{
	uint8_t buf[RING_NAME_MAX + 5];
	size_t len = strlen(name);

	sh_assert(len <= RING_NAME_MAX);
	memcpy(buf, name, len);
	buf[len] = 0;
	buf[len + 1] = (uint8_t)(partition >> 24);
	buf[len + 2] = (uint8_t)(partition >> 16);
	buf[len + 3] = (uint8_t)(partition >> 8);
	buf[len + 4] = (uint8_t)partition;
	return XXH3_64bits(buf, len + 5);
}

static int pref_key_cmp(const void *a, const void *b)
{
	const pref_key_t *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->part < y->part ? -1 : x->part > y->part;
}

/*
 * Member m's preference for partition p: (Q - 1 - rank of p in m's own
 * order) in the high 16 bits, the top of the score below to break ties
 * between members that rank p equally.
 */
static void prefs_compute(const ring__shape_t *s, char *const *names,
                          uint32_t *w, pref_key_t *keys)
{
	for (uint32_t m = 0; m < s->members; m++) {
		for (uint32_t p = 0; p < s->parts; p++) {
			keys[p].score = ring__score(p, names[m]);
			keys[p].part = p;
		}
		qsort(keys, s->parts, sizeof(*keys), pref_key_cmp);
		for (uint32_t i = 0; i < s->parts; i++) {
			uint32_t p = keys[i].part;
			uint32_t top = s->parts - 1 - i;

			w[(size_t)p * s->members + m] =
			    (top << 16) | (uint32_t)(keys[i].score >> 48);
		}
	}
}

/*
 * Start: each partition's h units go to the members among cand (or all)
 * that prefer it most. Every flow edge is then non-negative.
 */
static void flow_start(flow_t *f)
{
	uint32_t mc = f->members, k = f->cand ? f->k : mc;

	memset(f->hold, 0, (size_t)f->parts * mc);
	memset(f->hold_t, 0, (size_t)f->parts * mc);
	memset(f->load, 0, sizeof(*f->load) * mc);
	memset(f->pot, 0, sizeof(*f->pot) * mc);
	for (uint32_t p = 0; p < f->parts; p++) {
		const uint32_t *row = f->w + (size_t)p * mc;
		uint8_t *hp = f->hold + (size_t)p * mc;

		for (uint32_t u = 0; u < f->h; u++) {
			uint32_t best = UINT32_MAX;

			for (uint32_t j = 0; j < k; j++) {
				uint32_t m = f->cand ? f->cand[p * k + j] : j;

				if (!hp[m] &&
				    (best == UINT32_MAX || row[m] > row[best] ||
				     (row[m] == row[best] && m < best)))
					best = m;
			}
			sh_assert(best != UINT32_MAX);
			hp[best] = 1;
			f->hold_t[(size_t)best * f->parts + p] = 1;
			f->held[(size_t)p * f->h + u] = (uint16_t)best;
			f->load[best]++;
		}
	}
}

/* Relax every edge out of member a, whose label is la. */
static void flow_relax_part(flow_t *f, uint32_t a, uint32_t p, int64_t la)
{
	uint32_t mc = f->members, k = f->cand ? f->k : mc;
	const uint8_t *hp = f->hold + (size_t)p * mc;
	const uint32_t *row = f->w + (size_t)p * mc;
	int64_t base = la + (int64_t)row[a] + f->pot[a];

	for (uint32_t j = 0; j < k; j++) {
		uint32_t b = f->cand ? f->cand[p * k + j] : j;
		int64_t nd;

		if (hp[b] || f->done[b])
			continue;
		nd = base - (int64_t)row[b] - f->pot[b];
		if (nd < f->dist[b]) {
			f->dist[b] = nd;
			f->prev[b] = (int32_t)a;
			f->via[b] = p;
		}
	}
}

/*
 * Relax every edge out of member a, whose label is la: one per partition
 * it holds and member that could take it. The holdings row is skimmed a
 * word at a time, since a member holds few of many partitions.
 */
static void flow_relax(flow_t *f, uint32_t a, int64_t la)
{
	const uint8_t *ha = f->hold_t + (size_t)a * f->parts;
	uint32_t p = 0;

	for (; p + 8 <= f->parts; p += 8) {
		uint64_t word;

		memcpy(&word, ha + p, sizeof(word));
		if (!word)
			continue;
		for (uint32_t i = 0; i < 8; i++)
			if (ha[p + i])
				flow_relax_part(f, a, p + i, la);
	}
	for (; p < f->parts; p++)
		if (ha[p])
			flow_relax_part(f, a, p, la);
}

/*
 * Dijkstra on reduced costs from every member over bound to the nearest
 * member under bound (true distance; lowest index on ties), through a
 * virtual terminal whose potential is the least among those sinks. Stops
 * when the terminal is settled; members settled by then get pot += their
 * label, the rest pot += the terminal's, which keeps every reduced cost
 * non-negative. Returns the sink, or -1 when none is reachable.
 */
static int flow_shortest(flow_t *f, uint32_t bound)
{
	uint32_t mc = f->members;
	int64_t tpot = COST_INF, tlabel = COST_INF;
	int sink = -1;

	for (uint32_t m = 0; m < mc; m++) {
		if (f->load[m] < bound && f->pot[m] < tpot)
			tpot = f->pot[m];
		f->dist[m] = f->load[m] > bound ? -f->pot[m] : COST_INF;
		f->prev[m] = -1;
		f->done[m] = 0;
	}
	for (;;) {
		int64_t best = COST_INF;
		uint32_t a = 0;

		for (uint32_t m = 0; m < mc; m++)
			if (!f->done[m] && f->dist[m] < best)
				best = f->dist[m], a = m;
		if (best == COST_INF || best >= tlabel)
			break;
		f->done[a] = 1;
		if (f->load[a] < bound && best + f->pot[a] - tpot < tlabel) {
			tlabel = best + f->pot[a] - tpot;
			sink = (int)a;
		}
		flow_relax(f, a, best);
	}
	if (sink < 0)
		return -1;
	for (uint32_t m = 0; m < mc; m++)
		f->pot[m] += f->done[m] ? f->dist[m] : tlabel;
	return sink;
}

/* Move one unit along the shortest path that ends at sink. */
static void flow_augment(flow_t *f, int sink)
{
	uint32_t mc = f->members, steps = 0;
	uint32_t b = (uint32_t)sink;

	f->load[b]++;
	while (f->prev[b] >= 0) {
		uint32_t a = (uint32_t)f->prev[b];
		uint32_t p = f->via[b];
		uint16_t *hl = f->held + (size_t)p * f->h;
		uint32_t u = 0;

		sh_assert(f->hold[(size_t)p * mc + a]);
		sh_assert(!f->hold[(size_t)p * mc + b]);
		f->hold[(size_t)p * mc + a] = 0;
		f->hold[(size_t)p * mc + b] = 1;
		f->hold_t[(size_t)a * f->parts + p] = 0;
		f->hold_t[(size_t)b * f->parts + p] = 1;
		while (hl[u] != a)
			sh_assert(++u < f->h);
		hl[u] = (uint16_t)b;
		b = a;
		sh_assert(++steps <= mc);
	}
	sh_assert(f->load[b] > 0);
	f->load[b]--;
}

/*
 * Bring every load into [lo, hi], one cheapest unit at a time: first drain
 * members over hi into members under hi, then fill members under lo from
 * members over lo. Stops early only when no path exists (the candidate
 * sets leave no room). At most parts * h steps.
 */
static void flow_balance(flow_t *f, uint32_t lo, uint32_t hi)
{
	for (int phase = 0; phase < 2; phase++) {
		uint32_t bound = phase == 0 ? hi : lo;

		for (;;) {
			int need = 0, sink;

			for (uint32_t m = 0; m < f->members; m++)
				need |= phase == 0 ? f->load[m] > hi
				                   : f->load[m] < lo;
			if (!need)
				break;
			sink = flow_shortest(f, bound);
			if (sink < 0)
				break;
			flow_augment(f, sink);
		}
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Ranking of each partition: primary, other owners, everyone else; within
 * a class by preference, then by index. Sorted as 64-bit keys: class in
 * bits 48 and up, inverted preference in bits 16..47, index in 0..15.
 */
static void rankings_build(const ring__shape_t *s, const uint32_t *w,
                           const uint8_t *owner, const uint16_t *prim,
                           uint16_t *ranking, uint64_t *keys)
{
	uint32_t mc = s->members;

	for (uint32_t p = 0; p < s->parts; p++) {
		size_t row = (size_t)p * mc;

		for (uint32_t m = 0; m < mc; m++) {
			uint64_t cls = 2 - owner[row + m] - (prim[p] == m);
			uint64_t inv = UINT32_MAX - w[row + m];

			keys[m] = cls << 48 | inv << 16 | m;
		}
		qsort(keys, mc, sizeof(*keys), u64_cmp);
		for (uint32_t m = 0; m < mc; m++)
			ranking[row + m] = (uint16_t)(keys[m] & 0xffff);
	}
}

/*
 * Owner-slot bounds around the ideal Q*n/N: hi = ceil(ideal * (1 + s)),
 * lo = floor(ideal * (1 - 2s)), s = slack_pct / 100. The band is lopsided
 * on purpose: hi is what stops a joining member from taking much more than
 * its share (movement), lo only keeps every member useful, and a tight lo
 * makes the members a join displaces pull slots back from third parties
 * (extra movement). Measured with `shoal-sim ring`.
 */
static void slot_bounds(const ring__shape_t *s, uint32_t *lo, uint32_t *hi)
{
	uint64_t qn = (uint64_t)s->parts * s->n;
	uint64_t den = 100 * (uint64_t)s->members;
	uint64_t h = (qn * (100 + s->slack_pct) + den - 1) / den;
	uint64_t down = 2 * (uint64_t)s->slack_pct;
	uint64_t l = down >= 100 ? 0 : qn * (100 - down) / den;

	*hi = (uint32_t)(h > s->parts ? s->parts : h);
	*lo = (uint32_t)(l > *hi ? *hi : l);
}

/* Scratch for one computation; all or nothing. */
typedef struct work {
	uint32_t *w;
	uint8_t *owner, *owner_t, *prim_hold, *prim_t;
	uint16_t *owners, *prim;
	int64_t *pot, *dist;
	uint32_t *via;
	int32_t *prev;
	uint8_t *done;
	void *keys;
} work_t;

static void work_free(work_t *x)
{
	free(x->w);
	free(x->owner);
	free(x->owner_t);
	free(x->prim_hold);
	free(x->prim_t);
	free(x->owners);
	free(x->prim);
	free(x->pot);
	free(x->dist);
	free(x->via);
	free(x->prev);
	free(x->done);
	free(x->keys);
}

static int work_alloc(work_t *x, const ring__shape_t *s)
{
	size_t mc = s->members, cells = (size_t)s->parts * mc;
	size_t nkeys = mc > s->parts ? mc : s->parts;

	x->w = malloc(cells * sizeof(*x->w));
	x->owner = malloc(cells);
	x->owner_t = malloc(cells);
	x->prim_hold = malloc(cells);
	x->prim_t = malloc(cells);
	x->owners = malloc((size_t)s->parts * s->n * sizeof(*x->owners));
	x->prim = malloc((size_t)s->parts * sizeof(*x->prim));
	x->via = malloc(mc * sizeof(*x->via));
	x->pot = malloc(mc * sizeof(*x->pot));
	x->dist = malloc(mc * sizeof(*x->dist));
	x->prev = malloc(mc * sizeof(*x->prev));
	x->done = malloc(mc);
	x->keys = malloc(nkeys * sizeof(pref_key_t));
	if (x->w && x->owner && x->owner_t && x->prim_hold && x->prim_t &&
	    x->owners && x->prim && x->via && x->pot && x->dist && x->prev &&
	    x->done && x->keys)
		return 0;
	work_free(x);
	return SH_ENOMEM;
}

/* Owner slots: n per partition, any member may take one, loads in [lo, hi]. */
static void assign_owners(const ring__shape_t *s, work_t *x, uint32_t lo,
                          uint32_t hi, uint32_t *slots)
{
	flow_t f = {.parts = s->parts,
	            .members = s->members,
	            .h = s->n,
	            .w = x->w,
	            .held = x->owners,
	            .hold = x->owner,
	            .hold_t = x->owner_t,
	            .load = slots,
	            .via = x->via,
	            .pot = x->pot,
	            .dist = x->dist,
	            .prev = x->prev,
	            .done = x->done};

	flow_start(&f);
	flow_balance(&f, lo, hi);
}

/*
 * Primaries: one per partition among its owners, at most ceil(Q/N) each.
 * Returns the most any member got.
 */
static uint32_t assign_primaries(const ring__shape_t *s, work_t *x,
                                 uint32_t *primaries)
{
	flow_t f = {.parts = s->parts,
	            .members = s->members,
	            .h = 1,
	            .k = s->n,
	            .w = x->w,
	            .held = x->prim,
	            .hold = x->prim_hold,
	            .hold_t = x->prim_t,
	            .cand = x->owners,
	            .load = primaries,
	            .via = x->via,
	            .pot = x->pot,
	            .dist = x->dist,
	            .prev = x->prev,
	            .done = x->done};
	uint32_t most = 0;

	flow_start(&f);
	flow_balance(&f, s->parts / s->members,
	             (s->parts + s->members - 1) / s->members);
	for (uint32_t m = 0; m < s->members; m++)
		most = primaries[m] > most ? primaries[m] : most;
	return most;
}

int ring__assign(const ring__shape_t *s, char *const *names, uint16_t *ranking,
                 uint32_t *primaries, uint32_t *slots)
{
	uint32_t lo, hi, cap = (s->parts + s->members - 1) / s->members;
	work_t x;

	sh_assert(s->members >= 1 && s->members <= RING_MEMBERS_MAX);
	sh_assert(s->n >= 1 && s->n <= s->members);
	if (work_alloc(&x, s))
		return SH_ENOMEM;
	prefs_compute(s, names, x.w, x.keys);
	slot_bounds(s, &lo, &hi);
	assign_owners(s, &x, lo, hi, slots);
	if (assign_primaries(s, &x, primaries) > cap && hi > s->n * cap) {
		/*
		 * The owner sets leave no way to cap primaries (Hall's
		 * condition fails; always for n = 1 when hi > cap). With no
		 * member over n * cap slots, every k partitions have at
		 * least k * n / (n * cap) owners, room for k primaries.
		 */
		assign_owners(s, &x, lo < s->n * cap ? lo : s->n * cap,
		              s->n * cap, slots);
		sh_assert(assign_primaries(s, &x, primaries) <= cap);
	}
	rankings_build(s, x.w, x.owner, x.prim, ranking, x.keys);
	work_free(&x);
	return 0;
}
