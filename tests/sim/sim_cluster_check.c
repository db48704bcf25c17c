/*
 * sim_cluster_check.c - what `shoal-sim cluster` checks (the definitions
 * are at the top of sim_cluster.c): the dot tap, the convergence of the
 * primaries, and the final comparison of the merged state of the whole
 * cluster with the clients' history.
 *
 * The tap. Every kv value is unique ("w<write>"), and a write's dot is
 * made by its coordinator, which stores the new sibling in the batch of
 * the step that coordinated it. So after every step in which a node may
 * have coordinated a kv write (a client's put or delete reached it, or a
 * FORWARD did), the tap reads that node's committed copies of the kv keys
 * and notes, for every value it finds, the dot it carries. A value found
 * under two different dots would mean a write applied twice: counted in
 * dot_conflicts, a failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "tests/sim/sim_cluster.h"

/* ---- the tap ---- */

static void tap_obj(cl_sim_t *s, uint32_t i, const coord_obj_t *obj)
{
	size_t count;
	const dvv_sibling_t *sib = dvv_siblings(&obj->kv, &count);
	for (size_t k = 0; k < count; k++) {
		uint32_t w;
		if (sib[k].tombstone ||
		    cl_parse_id(sib[k].value, sib[k].value_len, 'w', &w) !=
		        SH_OK ||
		    w >= s->writes_len)
			continue;
		cl_write_t *wr = &s->writes[w];
		if (!wr->has_dot) {
			wr->has_dot = 1;
			wr->dot = sib[k].dot;
		} else if (crdt_dot_cmp(&wr->dot, &sib[k].dot) != 0) {
			s->n.dot_conflicts++;
			printf("dot conflict: w%" PRIu32 " seen as %s:%" PRIu64
			       " and %s:%" PRIu64 " (n%" PRIu32 " at %" PRIu64
			       " ms)\n",
			       w, wr->dot.actor.name, wr->dot.counter,
			       sib[k].dot.actor.name, sib[k].dot.counter, i,
			       s->now);
		}
	}
}

void cl_tap(cl_sim_t *s, uint32_t i)
{
	coord_obj_t obj;
	memset(&obj, 0, sizeof(obj));
	for (uint32_t k = 0; k < CL_KV_KEYS; k++) {
		int rc = cl_local_obj(s, i, k, &obj);
		sh_assert(rc == SH_OK);
		if (obj.kind == COORD_KIND_KV)
			tap_obj(s, i, &obj);
	}
	coord_obj_free(&obj);
}

/* ---- convergence ---- */

/* The nodes of key k's first three owners in the ring of the first
 * member (all members up and agreeing: no fallbacks). A node that is not
 * up (one that left but is still in the ring: members disagree, a
 * failure of its own) is skipped. */
static unsigned primaries(cl_sim_t *s, uint32_t k, uint32_t *out)
{
	const char *b;
	char key[32];
	ring_preflist_t pl;
	unsigned got = 0;
	cl_key_name(k, &b, key, sizeof(key));
	int rc = coord_preflist(&s->node[cl_member_at(s, 0)].coord, b,
	                        strlen(b), key, strlen(key), 3, &pl);
	sh_assert(rc == SH_OK);
	for (unsigned p = 0; p < pl.n; p++) {
		uint32_t id;
		rc = cl_parse_id((const uint8_t *)pl.entries[p].name,
		                 strlen(pl.entries[p].name), 'n', &id);
		sh_assert(rc == SH_OK && id < s->nodes);
		if (s->node[id].up)
			out[got++] = id;
	}
	return got;
}

/* 1 if a already holds all of b: join(a, b) == a. tmp: scratch. */
static int covers(const coord_obj_t *a, const coord_obj_t *b, coord_obj_t *tmp)
{
	coord_obj_free(tmp);
	sh_assert(coord_obj_merge(tmp, a, NULL) == SH_OK);
	sh_assert(coord_obj_merge(tmp, b, NULL) == SH_OK);
	return coord_obj_equal(tmp, a);
}

/* 1 if node i is a member that is up (its store can be read). */
static int readable(const cl_sim_t *s, uint32_t i)
{
	return cl_is_member(s, i) && s->node[i].up;
}

/* 1 if some member other than the primaries ids[0..n) holds something
 * of key k that first (the primaries' copy) lacks. */
static int stray(cl_sim_t *s, uint32_t k, const uint32_t *ids, unsigned n,
                 const coord_obj_t *first, coord_obj_t *other, coord_obj_t *tmp)
{
	for (uint32_t i = 0; i < s->nodes; i++) {
		unsigned p = 0;
		while (p < n && ids[p] != i)
			p++;
		if (p < n || !readable(s, i))
			continue;
		sh_assert(cl_local_obj(s, i, k, other) == SH_OK);
		if (!covers(first, other, tmp))
			return 1;
	}
	return 0;
}

uint32_t cl_unconverged_keys(cl_sim_t *s, int strict)
{
	uint32_t bad = 0, ids[COORD_N_MAX];
	coord_obj_t first, other, tmp;
	memset(&first, 0, sizeof(first));
	memset(&other, 0, sizeof(other));
	memset(&tmp, 0, sizeof(tmp));
	if (strict)
		s->stray_keys = 0;
	for (uint32_t k = 0; k < CL_KEYS + (strict ? s->cold : 0); k++) {
		unsigned n = primaries(s, k, ids), p = 1;
		if (n < 3) {
			bad++;
			continue;
		}
		sh_assert(cl_local_obj(s, ids[0], k, &first) == SH_OK);
		for (; p < n; p++) {
			sh_assert(cl_local_obj(s, ids[p], k, &other) == SH_OK);
			if (!coord_obj_equal(&first, &other))
				break;
		}
		if (p < n) {
			bad++;
		} else if (strict &&
		           stray(s, k, ids, n, &first, &other, &tmp)) {
			s->stray_keys++;
			bad++;
		}
	}
	coord_obj_free(&first);
	coord_obj_free(&other);
	coord_obj_free(&tmp);
	return bad;
}

uint32_t cl_unique_keys(cl_sim_t *s, uint32_t i)
{
	uint32_t unique = 0;
	coord_obj_t mine, others, one;
	memset(&mine, 0, sizeof(mine));
	memset(&others, 0, sizeof(others));
	memset(&one, 0, sizeof(one));
	for (uint32_t k = 0; k < CL_KEYS + s->cold; k++) {
		coord_obj_free(&others);
		sh_assert(cl_local_obj(s, i, k, &mine) == SH_OK);
		for (uint32_t j = 0; j < s->nodes; j++) {
			if (j == i || !readable(s, j))
				continue;
			sh_assert(cl_local_obj(s, j, k, &one) == SH_OK);
			sh_assert(coord_obj_merge(&others, &one, NULL) ==
			          SH_OK);
		}
		unique += !covers(&others, &mine, &one);
	}
	coord_obj_free(&mine);
	coord_obj_free(&others);
	coord_obj_free(&one);
	return unique;
}

/* ---- the final state ---- */

/* Join of key k's copies: of every node (all 1), or of its primaries. */
static void merged(cl_sim_t *s, uint32_t k, int all, coord_obj_t *out)
{
	uint32_t ids[CL_NODES_MAX];
	unsigned n = 0;
	coord_obj_t one;
	memset(&one, 0, sizeof(one));
	coord_obj_free(out);
	if (all) {
		for (uint32_t i = 0; i < s->nodes; i++)
			if (readable(s, i))
				ids[n++] = i;
	} else
		n = primaries(s, k, ids);
	for (unsigned p = 0; p < n; p++) {
		int conflict = 0;
		sh_assert(cl_local_obj(s, ids[p], k, &one) == SH_OK);
		sh_assert(coord_obj_merge(out, &one, &conflict) == SH_OK);
		if (conflict)
			printf("type conflict on key %" PRIu32 "\n", k);
	}
	coord_obj_free(&one);
}

static int has_dot(const coord_obj_t *obj, const crdt_dot_t *d)
{
	size_t count;
	if (obj->kind != COORD_KIND_KV)
		return 0;
	const dvv_sibling_t *sib = dvv_siblings(&obj->kv, &count);
	for (size_t k = 0; k < count; k++)
		if (crdt_dot_cmp(&sib[k].dot, d) == 0)
			return 1;
	return 0;
}

/* Some other write of the key, applied (its dot seen; for a delete:
 * sent), whose context had seen w's dot. */
static int superseded(const cl_sim_t *s, const crdt_ctx_t *ctx, size_t w)
{
	const cl_write_t *wr = &s->writes[w];
	for (size_t x = 0; x < s->writes_len; x++) {
		const cl_write_t *o = &s->writes[x];
		if (x == w || o->key != wr->key ||
		    (!o->has_dot && !o->is_delete))
			continue;
		if (crdt_ctx_contains(&ctx[x], &wr->dot))
			return 1;
	}
	return 0;
}

typedef struct kv_tally {
	uint64_t acked, lost, surviving, superseded, fallback_only;
	uint64_t resurrected;
} kv_tally_t;

/* Deleted data must stay deleted: no write whose dot an acknowledged
 * delete of its key had seen may be a live sibling of the final state
 * (whatever reaping did to the tombstone meanwhile). */
static void check_deleted(cl_sim_t *s, const crdt_ctx_t *ctx, uint32_t k,
                          const coord_obj_t *all, kv_tally_t *t)
{
	for (size_t x = 0; x < s->writes_len; x++) {
		const cl_write_t *d = &s->writes[x];
		if (d->key != k || !d->is_delete || d->outcome != CL_ACKED)
			continue;
		for (size_t w = 0; w < s->writes_len; w++) {
			const cl_write_t *wr = &s->writes[w];
			if (wr->key != k || wr->is_delete || !wr->has_dot ||
			    !crdt_ctx_contains(&ctx[x], &wr->dot) ||
			    !has_dot(all, &wr->dot))
				continue;
			t->resurrected++;
			printf("resurrected: w%zu (key k%" PRIu32
			       ") is back after delete w%zu saw it\n",
			       w, k, x);
		}
	}
}

static void check_write(cl_sim_t *s, const crdt_ctx_t *ctx, size_t w,
                        const coord_obj_t *all, const coord_obj_t *prim,
                        kv_tally_t *t)
{
	const cl_write_t *wr = &s->writes[w];
	const char *why = NULL;
	t->acked++;
	if (!wr->has_dot) {
		why = "never seen at a coordinator";
	} else if (has_dot(all, &wr->dot)) {
		t->surviving++;
		t->fallback_only += !has_dot(prim, &wr->dot);
	} else if (superseded(s, ctx, w)) {
		t->superseded++;
	} else {
		why = all->kind == COORD_KIND_KV &&
		              crdt_ctx_contains(&all->kv.ctx, &wr->dot)
		          ? "gone, and no write saw it"
		          : "gone without a trace";
	}
	if (why == NULL)
		return;
	t->lost++;
	printf("lost write: w%zu (client %" PRIu32 ", key k%" PRIu32
	       ", dot %s:%" PRIu64 "): %s\n",
	       w, wr->client, wr->key, wr->has_dot ? wr->dot.actor.name : "-",
	       wr->has_dot ? wr->dot.counter : 0, why);
}

/* 1 if obj holds a live sibling with value bytes v. */
static int has_value(const coord_obj_t *obj, const char *v)
{
	size_t count;
	if (obj->kind != COORD_KIND_KV)
		return 0;
	const dvv_sibling_t *sib = dvv_siblings(&obj->kv, &count);
	for (size_t k = 0; k < count; k++)
		if (!sib[k].tombstone && sib[k].value_len == strlen(v) &&
		    memcmp(sib[k].value, v, sib[k].value_len) == 0)
			return 1;
	return 0;
}

/* The cold keys: written once, never again; each acknowledged value
 * must still be there, unless the key was deleted (one in four, with
 * the put's context): then it must never come back. */
static void check_cold(cl_sim_t *s, kv_tally_t *t)
{
	coord_obj_t all;
	memset(&all, 0, sizeof(all));
	for (uint32_t c = 0; c < s->cold; c++) {
		char v[16];
		if (!(s->cold_acked[c] & CL_COLD_PUT))
			continue;
		t->acked++;
		merged(s, CL_KEYS + c, 1, &all);
		snprintf(v, sizeof(v), "p%" PRIu32, c);
		if (s->cold_acked[c] & CL_COLD_DEL) {
			t->superseded++;
			if (has_value(&all, v)) {
				t->resurrected++;
				printf("resurrected: cold key p%" PRIu32
				       " is back after its delete\n",
				       c);
			}
			continue;
		}
		if (has_value(&all, v)) {
			t->surviving++;
			continue;
		}
		t->lost++;
		printf("lost write: cold key p%" PRIu32 "\n", c);
	}
	coord_obj_free(&all);
}

static void check_kv(cl_sim_t *s, kv_tally_t *t)
{
	crdt_ctx_t *ctx = calloc(s->writes_len + 1, sizeof(*ctx));
	coord_obj_t all, prim;
	sh_assert(ctx != NULL);
	memset(&all, 0, sizeof(all));
	memset(&prim, 0, sizeof(prim));
	for (size_t w = 0; w < s->writes_len; w++)
		if (s->writes[w].ctx.len > 0)
			sh_assert(dvv_ctx_decode(&ctx[w], s->writes[w].ctx.data,
			                         s->writes[w].ctx.len) ==
			          SH_OK);
	for (uint32_t k = 0; k < CL_KV_KEYS; k++) {
		merged(s, k, 1, &all);
		merged(s, k, 0, &prim);
		for (size_t w = 0; w < s->writes_len; w++)
			if (s->writes[w].key == k && !s->writes[w].is_delete &&
			    s->writes[w].outcome == CL_ACKED)
				check_write(s, ctx, w, &all, &prim, t);
		check_deleted(s, ctx, k, &all, t);
	}
	for (size_t w = 0; w < s->writes_len; w++)
		crdt_ctx_free(&ctx[w]);
	free(ctx);
	coord_obj_free(&all);
	coord_obj_free(&prim);
}

/* ---- CRDTs ---- */

/* A counter: at least the acknowledged increments, at most the tried. */
static uint64_t check_count(const char *what, uint32_t key, int64_t v,
                            uint64_t acked, uint64_t tried, int lower)
{
	uint64_t lost = 0;
	if (lower && v < (int64_t)acked)
		lost = acked - (uint64_t)v;
	else if (v > (int64_t)tried)
		lost = (uint64_t)v - tried;
	if (lost > 0)
		printf("lost crdt ops: %s %" PRIu32 " reads %" PRId64
		       ", acknowledged %" PRIu64 ", tried %" PRIu64 "\n",
		       what, key, v, acked, tried);
	return lost;
}

static const crdt_store_t *dt_store(const coord_obj_t *obj, crdt_type_t t)
{
	if (obj->kind != COORD_KIND_DT || crdt_type(&obj->dt) != t)
		return NULL;
	return &obj->dt.store;
}

static uint64_t check_set(cl_sim_t *s, uint32_t set, const crdt_store_t *st)
{
	uint64_t lost = 0;
	size_t count = st != NULL ? crdt_set_count(st) : 0;
	for (size_t e = 0; e < s->elems_len; e++) {
		const cl_elem_t *el = &s->elems[e];
		char name[32];
		if (el->key != set || el->remove_tried || el->add != CL_ACKED)
			continue;
		snprintf(name, sizeof(name), "e%zu", e);
		if (st == NULL || !crdt_set_contains(st, name, strlen(name))) {
			printf("lost crdt op: set %" PRIu32 " lacks %s\n", set,
			       name);
			lost++;
		}
	}
	for (size_t k = 0; k < count; k++) {
		const uint8_t *p;
		size_t len;
		uint32_t e;
		crdt_set_element(st, k, &p, &len);
		if (cl_parse_id(p, len, 'e', &e) != SH_OK ||
		    e >= s->elems_len || s->elems[e].key != set) {
			printf("set %" PRIu32 " holds an element never added\n",
			       set);
			lost++;
		}
	}
	return lost;
}

static uint64_t check_cart(cl_sim_t *s, uint32_t cart, const crdt_store_t *st)
{
	uint64_t lost = 0;
	for (uint32_t sku = 0; sku < CL_SKUS; sku++) {
		char name[16];
		const crdt_store_t *f = NULL;
		snprintf(name, sizeof(name), "sku%" PRIu32, sku);
		if (st != NULL)
			f = crdt_map_get(st, name, strlen(name), CRDT_COUNTER);
		int64_t v = f != NULL ? crdt_counter_value(f) : 0;
		lost += check_count("cart line", cart * CL_SKUS + sku, v,
		                    s->n.cart_acked[cart][sku],
		                    s->n.cart_tried[cart][sku],
		                    !s->n.cart_removed[cart][sku]);
	}
	return lost;
}

static uint64_t check_dt(cl_sim_t *s)
{
	coord_obj_t all;
	uint64_t lost = 0;
	memset(&all, 0, sizeof(all));
	for (uint32_t k = CL_KV_KEYS; k < CL_KEYS; k++) {
		uint32_t idx;
		cl_family_t fam = cl_family(k, &idx);
		merged(s, k, 1, &all);
		if (fam == CL_FAM_CTR) {
			const crdt_store_t *st = dt_store(&all, CRDT_COUNTER);
			lost += check_count(
			    "counter", idx, st ? crdt_counter_value(st) : 0,
			    s->n.ctr_acked[idx], s->n.ctr_tried[idx], 1);
		} else if (fam == CL_FAM_SET) {
			lost += check_set(s, idx, dt_store(&all, CRDT_SET));
		} else {
			lost += check_cart(s, idx, dt_store(&all, CRDT_MAP));
		}
	}
	coord_obj_free(&all);
	return lost;
}

void cl_check(cl_sim_t *s, uint64_t *acked_writes, uint64_t *lost_writes,
              uint64_t *acked_crdt, uint64_t *lost_crdt)
{
	kv_tally_t t;
	memset(&t, 0, sizeof(t));
	check_kv(s, &t);
	check_cold(s, &t);
	*lost_crdt = check_dt(s);
	*acked_writes = t.acked;
	*lost_writes = t.lost;
	*acked_crdt = s->n.acked_crdt;
	s->n.resurrected = t.resurrected;
	printf("check: surviving_writes=%" PRIu64 " superseded_writes=%" PRIu64
	       " fallback_only_writes=%" PRIu64 " dot_conflicts=%" PRIu64
	       " resurrected=%" PRIu64 "\n",
	       t.surviving, t.superseded, t.fallback_only, s->n.dot_conflicts,
	       t.resurrected);
}
