/*
 * test_coord.c - unit tests of node/coord.h: 3 to 5 coordinators, each
 * with its own memory store, wired by a small in-test message pump (no
 * libuv, no simulated network). The pump keeps one store batch open per
 * node, and per round commits it, takes the node's ready batch (copying
 * messages and results), advances, reopens the batch and delivers the
 * messages, dropping those to or from nodes marked cut and holding those
 * that match a hold rule until the test releases them. Every loop is
 * bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "common/sh_rand.h"
#include "node/coord.h"
#include "node/store.h"

#define OK(x) assert_int_equal((x), SH_OK)

#define NODES_MAX   5
#define MSGS_MAX    4096
#define RESULTS_MAX 256
#define ROUNDS_MAX  64

/* ---- the cluster and its pump ---- */

typedef struct msg {
	int from, to;
	uint8_t *data;
	size_t len;
} msg_t;

/* a copy of a coord_result_t that outlives coord_advance */
typedef struct res {
	coord_result_t r; /* obj and context replaced by the copies below */
	coord_obj_t obj;
	sh_buf_t ctx;
} res_t;

typedef struct cluster {
	int count;
	char names[NODES_MAX][16];
	store_t stores[NODES_MAX];
	coord_t nodes[NODES_MAX];
	int down[NODES_MAX]; /* told to everyone as COORD_DOWN */
	int cut[NODES_MAX];  /* messages to and from it are lost */
	uint64_t now;
	msg_t queue[MSGS_MAX];
	size_t queued;
	/* hold: messages from hold_from to hold_to wait in held[] */
	int hold_from, hold_to;
	msg_t held[MSGS_MAX];
	size_t held_count;
	/* capture: a copy of every delivered message (for the fuzz test) */
	int tolerate;  /* rejected messages are expected */
	int duplicate; /* deliver every message twice */
	int capture;
	msg_t captured[MSGS_MAX];
	size_t captured_count;
	res_t results[RESULTS_MAX];
	size_t result_count;
	size_t delivered;
} cluster_t;

static cluster_t *cl_new(int count, const coord_config_t *base)
{
	cluster_t *cl = calloc(1, sizeof(*cl));
	coord_config_t cfg;
	int i;

	assert_non_null(cl);
	cl->count = count;
	cl->now = 1000;
	cl->hold_from = cl->hold_to = -1;
	for (i = 0; i < count; i++) {
		snprintf(cl->names[i], sizeof(cl->names[i]), "n%d", i + 1);
		OK(store_mem_open(&cl->stores[i], NULL));
		if (base != NULL)
			cfg = *base;
		else
			coord_config_default(&cfg);
		cfg.name = cl->names[i];
		cfg.epoch = 100 + (uint64_t)i;
		OK(coord_init(&cl->nodes[i], &cfg, &cl->stores[i]));
		OK(store_begin(&cl->stores[i]));
	}
	return cl;
}

/* a cluster whose nodes coordinate at most inflight_max requests */
static cluster_t *cl_new_table(int count, uint32_t inflight_max)
{
	coord_config_t cfg;

	coord_config_default(&cfg);
	cfg.inflight_max = inflight_max;
	return cl_new(count, &cfg);
}

/* tell every node the membership, with cl->down as COORD_DOWN */
static void cl_members(cluster_t *cl)
{
	coord_member_t m[NODES_MAX];
	int i;

	for (i = 0; i < cl->count; i++) {
		m[i].name = cl->names[i];
		m[i].state = cl->down[i] ? COORD_DOWN : COORD_UP;
	}
	for (i = 0; i < cl->count; i++)
		OK(coord_set_members(&cl->nodes[i], m, (size_t)cl->count));
}

static void res_free(res_t *r)
{
	coord_obj_free(&r->obj);
	sh_buf_free(&r->ctx);
}

static void cl_free(cluster_t *cl)
{
	size_t k;
	int i;

	for (k = 0; k < cl->queued; k++)
		free(cl->queue[k].data);
	for (k = 0; k < cl->held_count; k++)
		free(cl->held[k].data);
	for (k = 0; k < cl->captured_count; k++)
		free(cl->captured[k].data);
	for (k = 0; k < cl->result_count; k++)
		res_free(&cl->results[k]);
	for (i = 0; i < cl->count; i++) {
		coord_free(&cl->nodes[i]);
		store_close(&cl->stores[i]);
	}
	free(cl);
}

static int cl_index(const cluster_t *cl, const char *name)
{
	int i;

	for (i = 0; i < cl->count; i++)
		if (strcmp(cl->names[i], name) == 0)
			return i;
	fail_msg("unknown node %s", name);
	return -1;
}

static void res_copy(res_t *dst, const coord_result_t *src)
{
	sh_buf_t b;

	memset(dst, 0, sizeof(*dst));
	dst->r = *src;
	memset(&dst->r.obj, 0, sizeof(dst->r.obj));
	memset(&dst->r.context, 0, sizeof(dst->r.context));
	if (src->context.len > 0)
		OK(sh_buf_append(&dst->ctx, src->context.data,
		                 src->context.len));
	if (src->obj.kind != COORD_KIND_NONE) {
		sh_buf_init(&b);
		OK(coord_obj_encode(&src->obj, &b));
		OK(coord_obj_decode(&dst->obj, b.data, b.len, NULL));
		sh_buf_free(&b);
	}
}

static void msg_push(msg_t *arr, size_t *count, int from, int to,
                     const uint8_t *data, size_t len)
{
	msg_t *m;

	assert_true(*count < MSGS_MAX);
	m = &arr[(*count)++];
	m->from = from;
	m->to = to;
	m->len = len;
	m->data = malloc(len ? len : 1);
	assert_non_null(m->data);
	memcpy(m->data, data, len);
}

/* commit every node, collect its outputs, reopen its batch */
static void cl_collect(cluster_t *cl)
{
	coord_ready_t rd;
	size_t k;
	int i;

	for (i = 0; i < cl->count; i++) {
		OK(store_commit(&cl->stores[i]));
		coord_ready(&cl->nodes[i], &rd);
		for (k = 0; k < rd.msg_count; k++)
			msg_push(cl->queue, &cl->queued, i,
			         cl_index(cl, rd.msgs[k].to), rd.msgs[k].data,
			         rd.msgs[k].len);
		for (k = 0; k < rd.result_count; k++) {
			assert_true(cl->result_count < RESULTS_MAX);
			res_copy(&cl->results[cl->result_count++],
			         &rd.results[k]);
		}
		coord_advance(&cl->nodes[i]);
		OK(store_begin(&cl->stores[i]));
	}
}

/* deliver one message; answers to finished requests are stale (fine) */
static void deliver(cluster_t *cl, msg_t *m)
{
	int e;

	cl->delivered++;
	if (cl->capture && cl->captured_count < MSGS_MAX)
		msg_push(cl->captured, &cl->captured_count, m->from, m->to,
		         m->data, m->len);
	e = coord_recv(&cl->nodes[m->to], cl->now, cl->names[m->from], m->data,
	               m->len);
	if (e != 0 && e != SH_ENOTFOUND && !cl->tolerate)
		fail_msg("coord_recv: %s", sh_strerror(e));
}

/* deliver until quiet (bounded rounds) */
static void cl_pump(cluster_t *cl)
{
	msg_t batch[64];
	int round;

	for (round = 0; round < ROUNDS_MAX; round++) {
		size_t k, n;
		cl_collect(cl);
		if (cl->queued == 0)
			return;
		while (cl->queued > 0) {
			n = cl->queued < 64 ? cl->queued : 64;
			memcpy(batch, cl->queue, n * sizeof(msg_t));
			memmove(cl->queue, cl->queue + n,
			        (cl->queued - n) * sizeof(msg_t));
			cl->queued -= n;
			for (k = 0; k < n; k++) {
				msg_t *m = &batch[k];
				if (cl->cut[m->from] || cl->cut[m->to]) {
					free(m->data);
				} else if (m->from == cl->hold_from &&
				           m->to == cl->hold_to) {
					assert_true(cl->held_count < MSGS_MAX);
					cl->held[cl->held_count++] = *m;
				} else {
					deliver(cl, m);
					if (cl->duplicate)
						deliver(cl, m);
					free(m->data);
				}
			}
		}
	}
	fail_msg("the pump did not go quiet");
}

/* deliver the held messages, then pump */
static void cl_release(cluster_t *cl)
{
	size_t k;

	cl->hold_from = cl->hold_to = -1;
	for (k = 0; k < cl->held_count; k++) {
		deliver(cl, &cl->held[k]);
		free(cl->held[k].data);
	}
	cl->held_count = 0;
	cl_pump(cl);
}

/* advance the clock and tick every node */
static void cl_tick(cluster_t *cl, uint64_t ms)
{
	int i;

	cl->now += ms;
	for (i = 0; i < cl->count; i++)
		coord_tick(&cl->nodes[i], cl->now);
	cl_pump(cl);
}

/* the result with this client id (exactly one), or NULL */
static res_t *cl_result(cluster_t *cl, uint64_t id)
{
	res_t *found = NULL;
	size_t k;

	for (k = 0; k < cl->result_count; k++) {
		if (cl->results[k].r.client_id != id)
			continue;
		assert_null(found);
		found = &cl->results[k];
	}
	return found;
}

static res_t *cl_expect(cluster_t *cl, uint64_t id, int status)
{
	res_t *r = cl_result(cl, id);

	if (r == NULL)
		fail_msg("no result for request %llu", (unsigned long long)id);
	if (r->r.status != status)
		fail_msg("request %llu: status %d (%s), expected %d",
		         (unsigned long long)id, r->r.status, r->r.error,
		         status);
	return r;
}

/* ---- request helpers ---- */

static const char *B = "bucket";

static void put(cluster_t *cl, int node, uint64_t id, const char *key,
                const char *value, const sh_buf_t *ctx, const coord_params_t *p)
{
	coord_value_t v = {(const uint8_t *)value, strlen(value), "text/plain",
	                   10};
	OK(coord_kv_put(&cl->nodes[node], cl->now, id, B, strlen(B), key,
	                strlen(key), p, &v, ctx ? ctx->data : NULL,
	                ctx ? ctx->len : 0));
}

static void get(cluster_t *cl, int node, uint64_t id, const char *key,
                const coord_params_t *p)
{
	OK(coord_kv_get(&cl->nodes[node], cl->now, id, B, strlen(B), key,
	                strlen(key), p));
}

static coord_params_t params_nrw(uint32_t n, uint32_t r, uint32_t w)
{
	coord_params_t p;

	memset(&p, 0, sizeof(p));
	p.present = COORD_PARAM_N | COORD_PARAM_R | COORD_PARAM_W;
	p.n = n;
	p.r = r;
	p.w = w;
	return p;
}

/* the value of the only live sibling of a kv result */
static void expect_kv(const res_t *r, const char *value)
{
	const dvv_sibling_t *s;
	size_t n, i, live = 0;

	assert_int_equal(r->obj.kind, COORD_KIND_KV);
	s = dvv_siblings(&r->obj.kv, &n);
	for (i = 0; i < n; i++) {
		if (s[i].tombstone)
			continue;
		live++;
		assert_int_equal(s[i].value_len, strlen(value));
		assert_memory_equal(s[i].value, value, strlen(value));
	}
	assert_int_equal(live, 1);
}

/* preference list of key for n with the given node's view */
static void preflist(cluster_t *cl, int node, const char *key, unsigned n,
                     ring_preflist_t *pl)
{
	OK(coord_preflist(&cl->nodes[node], B, strlen(B), key, strlen(key), n,
	                  pl));
}

static int on_preflist(const ring_preflist_t *pl, const char *name,
                       unsigned upto)
{
	unsigned i;

	for (i = 0; i < upto && i < pl->count; i++)
		if (strcmp(pl->entries[i].name, name) == 0)
			return 1;
	return 0;
}

/* nodes holding a copy of key */
static int copies(cluster_t *cl, const char *key)
{
	coord_local_t l;
	int i, n = 0;

	for (i = 0; i < cl->count; i++) {
		OK(coord_local_get(&cl->nodes[i], B, strlen(B), key,
		                   strlen(key), &l));
		n += l.present;
	}
	return n;
}

/* ---- tests ---- */

static void test_coord_init_and_members(void **state)
{
	coord_config_t cfg;
	coord_t c;
	store_t s;
	coord_member_t m[3] = {
	    {"n1", COORD_UP}, {"n2", COORD_DOWN}, {"n3", COORD_LEFT}};
	coord_member_t dup[2] = {{"n1", COORD_UP}, {"n1", COORD_UP}};

	(void)state;
	OK(store_mem_open(&s, NULL));
	coord_config_default(&cfg);
	assert_int_equal(coord_init(&c, &cfg, &s), SH_EINVAL); /* no name */
	cfg.name = "n1";
	cfg.epoch = 7;
	cfg.r = 4;
	assert_int_equal(coord_init(&c, &cfg, &s), SH_EINVAL);
	cfg.r = 2;
	OK(coord_init(&c, &cfg, &s));
	assert_int_equal(ring_member_count(coord_ring(&c)), 1);
	OK(coord_set_members(&c, m, 3));
	/* left members leave the ring; down members keep their place */
	assert_int_equal(ring_member_count(coord_ring(&c)), 2);
	assert_true(coord_member_is_up(&c, "n1"));
	assert_false(coord_member_is_up(&c, "n2"));
	assert_false(coord_member_is_up(&c, "n3"));
	assert_int_equal(coord_set_members(&c, dup, 2), SH_EINVAL);
	assert_int_equal(ring_member_count(coord_ring(&c)), 2);
	coord_free(&c);
	store_close(&s);
}

/* a node started with seeds refuses requests until it knows the members,
 * then serves */
static void test_coord_joining_refuses_until_members(void **state)
{
	coord_config_t cfg;
	cluster_t *cl;
	res_t *r;

	(void)state;
	coord_config_default(&cfg);
	cfg.joining = 1;
	cl = cl_new(3, &cfg);
	put(cl, 0, 1, "k", "v", NULL, NULL);
	get(cl, 1, 2, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 1, 503);
	assert_non_null(strstr(r->r.error, "joining"));
	cl_expect(cl, 2, 503);
	assert_int_equal(coord_joining(&cl->nodes[0]), 1);
	cl_members(cl);
	assert_int_equal(coord_joining(&cl->nodes[0]), 0);
	put(cl, 0, 3, "k", "v", NULL, NULL);
	cl_pump(cl);
	cl_expect(cl, 3, 204);
	coord_set_joining(&cl->nodes[1], 1);
	get(cl, 1, 4, "k", NULL);
	cl_pump(cl);
	cl_expect(cl, 4, 503);
	cl_free(cl);
}

static void test_coord_put_get_round_trip(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	res_t *r;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "hello", NULL, NULL);
	cl_pump(cl);
	r = cl_expect(cl, 1, 204);
	assert_true(r->ctx.len > 0);
	assert_int_equal(copies(cl, "k"), 3);
	get(cl, 1, 2, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 2, 200);
	expect_kv(r, "hello");
	assert_true(r->ctx.len > 0);
	get(cl, 2, 3, "missing", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 3, 404);
	assert_int_equal(r->ctx.len, 0);
	assert_int_equal(
	    coord_stats(&cl->nodes[1])->ops[COORD_OP_KV_GET].status_2xx, 1);
	cl_free(cl);
}

/* Timestamps that travel come from the wall clock, not the monotonic now_ms. */
static void test_coord_timestamps_use_the_wall_clock(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	const dvv_sibling_t *sib;
	size_t n;
	res_t *r;

	(void)state;
	cl_members(cl);
	cl->now = 5000; /* monotonic: time since some boot */
	coord_set_wall_clock(&cl->nodes[0], 1795000000000ULL);
	put(cl, 0, 1, "k", "hello", NULL, NULL);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	get(cl, 1, 2, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 2, 200);
	sib = dvv_siblings(&r->obj.kv, &n);
	assert_int_equal(n, 1);
	assert_true(sib[0].timestamp_ms == 1795000000000ULL);

	/* Without a wall clock, the monotonic time is all there is. */
	put(cl, 2, 3, "k2", "x", NULL, NULL);
	cl_pump(cl);
	cl_expect(cl, 3, 204);
	get(cl, 2, 4, "k2", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 4, 200);
	sib = dvv_siblings(&r->obj.kv, &n);
	assert_true(sib[0].timestamp_ms == 5000);
	cl_free(cl);
}

static void test_coord_per_request_nrw(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p1 = params_nrw(1, 1, 1), p5 = params_nrw(5, 2, 2);
	ring_preflist_t pl;
	res_t *r;
	int owner;

	(void)state;
	cl_members(cl);
	preflist(cl, 0, "one", 1, &pl);
	owner = cl_index(cl, pl.entries[0].name);
	put(cl, owner, 1, "one", "x", NULL, &p1);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	assert_int_equal(copies(cl, "one"), 1);
	get(cl, (owner + 1) % 3, 2, "one", &p1);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 2, 200), "x");
	/* n over the member count: capped, and the result says so */
	put(cl, 0, 3, "five", "y", NULL, &p5);
	cl_pump(cl);
	r = cl_expect(cl, 3, 204);
	assert_int_equal(r->r.n_capped, 1);
	assert_int_equal(r->r.n, 3);
	assert_int_equal(copies(cl, "five"), 3);
	cl_free(cl);
}

static void test_coord_w3_one_node_down(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 2, 3);
	coord_params_t p2 = params_nrw(3, 2, 2);
	res_t *r;

	(void)state;
	cl->down[2] = 1;
	cl->cut[2] = 1;
	cl_members(cl);
	put(cl, 0, 1, "k", "v", NULL, &p);
	cl_pump(cl);
	r = cl_expect(cl, 1, 503);
	assert_int_equal(r->r.needed, 3);
	assert_int_equal(r->r.acknowledged, 2);
	assert_int_equal(r->r.stored_on_count, 2);
	assert_string_not_equal(r->r.stored_on[0], "n3");
	assert_string_not_equal(r->r.stored_on[1], "n3");
	assert_string_not_equal(r->r.stored_on[0], r->r.stored_on[1]);
	put(cl, 1, 2, "k2", "v", NULL, &p2);
	cl_pump(cl);
	cl_expect(cl, 2, 204);
	cl_free(cl);
}

/* a key whose preference list for 3 has its primary `down` among the
 * first three, in a cluster of four */
static const char *key_with_primary(cluster_t *cl, const char *down, char *buf)
{
	ring_preflist_t pl;
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(buf, 16, "key%d", i);
		preflist(cl, 0, buf, 3, &pl);
		if (on_preflist(&pl, down, 3))
			return buf;
	}
	fail_msg("no key found");
	return NULL;
}

/* A key that n4 is a primary of, with n4 down and cut off: its preflist
 * (two primaries up and a fallback), the fallback and an up primary. */
static const char *key_n4_down(cluster_t *cl, char *buf, ring_preflist_t *pl,
                               int *fb, int *up_primary)
{
	const char *key;

	cl_members(cl);
	key = key_with_primary(cl, "n4", buf);
	cl->down[3] = 1;
	cl->cut[3] = 1;
	cl_members(cl);
	preflist(cl, 0, key, 3, pl);
	assert_int_equal(pl->count, 4); /* three primaries and a fallback */
	*fb = cl_index(cl, pl->entries[3].name);
	*up_primary = cl_index(cl, pl->entries[0].is_up ? pl->entries[0].name
	                                                : pl->entries[1].name);
	return key;
}

static size_t hint_count(store_t *s)
{
	store_stats_t st;

	OK(store_stats(s, STORE_HINTS, &st));
	return (size_t)st.entries;
}

static void test_coord_pr_pw_and_sloppy_hints(void **state)
{
	cluster_t *cl = cl_new(4, NULL);
	coord_params_t p;
	ring_preflist_t pl;
	char buf[16];
	const char *key;
	int coord_node, i, fb;
	res_t *r;

	(void)state;
	key = key_n4_down(cl, buf, &pl, &fb, &coord_node);
	/* pw=3: only two primaries are up, the fallback does not count */
	p = params_nrw(3, 2, 3);
	p.present |= COORD_PARAM_PW;
	p.pw = 3;
	put(cl, coord_node, 1, key, "a", NULL, &p);
	cl_pump(cl);
	r = cl_expect(cl, 1, 503);
	assert_int_equal(r->r.needed, 3);
	assert_int_equal(r->r.acknowledged, 2);
	/* sloppy w=3 succeeds through the fallback, which keeps a hint */
	p.pw = 2;
	put(cl, coord_node, 2, key, "b", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 2, 204);
	assert_int_equal(hint_count(&cl->stores[fb]), 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(hint_count(&cl->stores[i]), i == fb ? 1 : 0);
	/* without sloppy, no fallback: w=3 cannot be met */
	p.present |= COORD_PARAM_SLOPPY;
	p.sloppy = 0;
	put(cl, coord_node, 3, key, "c", NULL, &p);
	cl_pump(cl);
	r = cl_expect(cl, 3, 503);
	assert_int_equal(r->r.needed, 3);
	assert_int_equal(r->r.acknowledged, 2);
	/* pr=3 refuses the fallback's answer too */
	p = params_nrw(3, 3, 2);
	p.present |= COORD_PARAM_PR;
	p.pr = 3;
	get(cl, coord_node, 4, key, &p);
	cl_pump(cl);
	r = cl_expect(cl, 4, 503);
	assert_int_equal(r->r.needed, 3);
	p.pr = 2;
	get(cl, coord_node, 5, key, &p);
	cl_pump(cl);
	cl_expect(cl, 5, 300); /* b and c: c did not see b's context */
	cl_free(cl);
}

/* the object key of (B, key) on node i */
static void obj_key(cluster_t *cl, const char *key, store_key_t *ok)
{
	ring_preflist_t pl;

	preflist(cl, 0, key, 3, &pl);
	OK(store_key_object(ok, (uint16_t)pl.partition, B, strlen(B), key,
	                    strlen(key)));
}

/*
 * A fallback that stores a hint names the primary in its batch's hinted
 * list, as a coordinator's own hints do: in its own view the primary may
 * be up (the coordinator saw it down), and then no SWIM up event would
 * start the replay, and the copy and hint stayed for good.
 */
static void test_coord_fallback_hint_is_reported(void **state)
{
	cluster_t *cl = cl_new(4, NULL);
	coord_params_t p = params_nrw(3, 2, 3);
	ring_preflist_t pl;
	coord_ready_t rd;
	char buf[16];
	const char *key;
	int fb, owner;

	(void)state;
	key = key_n4_down(cl, buf, &pl, &fb, &owner);
	cl->hold_from = owner;
	cl->hold_to = fb;
	put(cl, owner, 1, key, "a", NULL, &p);
	cl_pump(cl);
	assert_int_equal(cl->held_count, 1); /* the write for the fallback */
	deliver(cl, &cl->held[0]);
	free(cl->held[0].data);
	cl->held_count = 0;
	coord_ready(&cl->nodes[fb], &rd);
	assert_int_equal(rd.hinted_count, 1);
	assert_string_equal(rd.hinted[0], "n4");
	assert_false(rd.hinted_more);
	cl_release(cl);
	cl_expect(cl, 1, 204);
	assert_int_equal(hint_count(&cl->stores[fb]), 1);
	cl_free(cl);
}

/*
 * coord_drop_stray: once its hint is replayed, a fallback lets its copy go
 * (it would outlive the key's tombstone); an owner, or a fallback still
 * holding another hint for the object, keeps it.
 */
static void test_coord_fallback_drops_copy_after_hint(void **state)
{
	cluster_t *cl = cl_new(4, NULL);
	coord_params_t p = params_nrw(3, 2, 3);
	ring_preflist_t pl;
	store_key_t ok, hk;
	const uint8_t *val;
	size_t len;
	char buf[16];
	const char *key;
	int fb, owner, dropped;

	(void)state;
	key = key_n4_down(cl, buf, &pl, &fb, &owner);
	put(cl, owner, 1, key, "a", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	obj_key(cl, key, &ok);
	OK(store_key_hint(&hk, "n4", 2, &ok));
	OK(store_get(&cl->stores[fb], &hk, &val, &len));
	/* an owner keeps its copy */
	OK(coord_drop_stray(&cl->nodes[owner], &ok, &dropped));
	assert_int_equal(dropped, 0);
	OK(store_get(&cl->stores[owner], &ok, &val, &len));
	/* the fallback keeps its copy while the hint is there */
	OK(coord_drop_stray(&cl->nodes[fb], &ok, &dropped));
	assert_int_equal(dropped, 0);
	/* the hint replayed and deleted: the copy goes */
	OK(store_del(&cl->stores[fb], &hk));
	OK(coord_drop_stray(&cl->nodes[fb], &ok, &dropped));
	assert_int_equal(dropped, 1);
	assert_int_equal(store_get(&cl->stores[fb], &ok, &val, &len),
	                 SH_ENOTFOUND);
	assert_int_equal(coord_stats(&cl->nodes[fb])->strays_dropped, 1);
	cl_free(cl);
}

static int hint_count_cb(void *arg, const store_entry_t *e)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

/* hints stored in s naming primary */
static size_t hints_for(store_t *s, const char *primary)
{
	store_cursor_t cur;
	size_t count = 0;

	store_cursor_init(&cur);
	while (!cur.done)
		OK(store_scan_hints(s, primary, strlen(primary), &cur, 64,
		                    hint_count_cb, &count));
	return count;
}

/* three nodes, n=3, one down: nobody can stand in for it, so the
 * coordinator keeps a hint naming it beside its own copy; reads keep none */
static void test_coord_hint_for_unreplaced_primary(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 2, 2);
	char key[16];
	int i, k;

	(void)state;
	cl->down[2] = 1;
	cl->cut[2] = 1;
	cl_members(cl);
	for (k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		put(cl, k % 2, (uint64_t)k + 1, key, "v", NULL, &p);
		cl_pump(cl);
		cl_expect(cl, (uint64_t)k + 1, 204);
	}
	/* one hint per key, on the key's coordinator, naming n3 */
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 5);
	assert_int_equal(hints_for(&cl->stores[1], "n3"), 5);
	for (i = 0; i < 3; i++) {
		assert_int_equal(hints_for(&cl->stores[i], "n1"), 0);
		assert_int_equal(hints_for(&cl->stores[i], "n2"), 0);
	}
	assert_int_equal(coord_stats(&cl->nodes[0])->hints_stored, 5);
	/* a rewrite of the key keeps one hint (same key) */
	put(cl, 0, 20, "k0", "w", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 20, 204);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 5);
	/* reads store none */
	get(cl, 1, 21, "k1", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 21, 200), "v");
	assert_int_equal(hints_for(&cl->stores[1], "n3"), 5);
	/* a write refused before it is stored keeps no hint */
	p.present |= COORD_PARAM_TIMEOUT_MS;
	p.timeout_ms = 0;
	put(cl, 0, 22, "k100", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 22, 400);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 5);
	/* everyone up again: no more hints */
	cl->down[2] = 0;
	cl->cut[2] = 0;
	cl_members(cl);
	p = params_nrw(3, 2, 2);
	put(cl, 0, 23, "k200", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 23, 204);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 5);
	cl_free(cl);
}

/* sloppy=false: the down primary is not replaced, so the coordinator
 * keeps the hint even though a fallback exists */
static void test_coord_hint_without_sloppy(void **state)
{
	cluster_t *cl = cl_new(4, NULL);
	coord_params_t p = params_nrw(3, 2, 2);
	ring_preflist_t pl;
	char buf[16];
	const char *key;
	int coord_node, fb, i;

	(void)state;
	key = key_n4_down(cl, buf, &pl, &fb, &coord_node);
	p.present |= COORD_PARAM_SLOPPY;
	p.sloppy = 0;
	put(cl, coord_node, 1, key, "a", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	for (i = 0; i < 3; i++)
		assert_int_equal(hints_for(&cl->stores[i], "n4"),
		                 i == coord_node ? 1 : 0);
	assert_int_not_equal(fb, coord_node);
	cl_free(cl);
}

static void test_coord_concurrent_writes_make_two_siblings(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	sh_buf_t stale;
	res_t *r;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "cart", "v0", NULL, NULL);
	cl_pump(cl);
	get(cl, 0, 2, "cart", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 2, 200);
	sh_buf_init(&stale);
	OK(sh_buf_append(&stale, r->ctx.data, r->ctx.len));
	/* two clients write with the same context, through two nodes */
	put(cl, 0, 3, "cart", "v1", &stale, NULL);
	put(cl, 1, 4, "cart", "v2", &stale, NULL);
	cl_pump(cl);
	cl_expect(cl, 3, 204);
	cl_expect(cl, 4, 204);
	get(cl, 2, 5, "cart", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 5, 300);
	assert_int_equal(r->obj.kv.sibling_count, 2);
	assert_int_equal(dvv_live_count(&r->obj.kv), 2);
	/* a write with the merged context resolves them */
	put(cl, 2, 6, "cart", "v3", &r->ctx, NULL);
	cl_pump(cl);
	cl_expect(cl, 6, 204);
	get(cl, 1, 7, "cart", NULL);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 7, 200), "v3");
	assert_int_equal(cl_result(cl, 7)->obj.kv.sibling_count, 1);
	sh_buf_free(&stale);
	cl_free(cl);
}

static void test_coord_delete_gives_404_with_context(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	res_t *r;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "v", NULL, NULL);
	cl_pump(cl);
	get(cl, 1, 2, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 2, 200);
	OK(coord_kv_delete(&cl->nodes[1], cl->now, 4, B, strlen(B), "k", 1,
	                   NULL, r->ctx.data, r->ctx.len));
	cl_pump(cl);
	cl_expect(cl, 4, 204);
	get(cl, 2, 5, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 5, 404);
	assert_true(r->ctx.len > 0);
	assert_int_equal(r->obj.kind, COORD_KIND_KV);
	assert_true(dvv_is_deleted(&r->obj.kv));
	/* a write with the 404's context replaces the tombstone */
	put(cl, 2, 6, "k", "again", &r->ctx, NULL);
	cl_pump(cl);
	get(cl, 0, 7, "k", NULL);
	cl_pump(cl);
	r = cl_expect(cl, 7, 200);
	expect_kv(r, "again");
	assert_int_equal(r->obj.kv.sibling_count, 1);
	cl_free(cl);
}

static uint64_t local_hash(cluster_t *cl, int node, const char *key,
                           int *present)
{
	coord_local_t l;

	OK(coord_local_get(&cl->nodes[node], B, strlen(B), key, strlen(key),
	                   &l));
	*present = l.present;
	return l.hash;
}

static void test_coord_read_repair(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 2, 2);
	uint64_t h0, h2;
	int present;

	(void)state;
	cl_members(cl);
	/* n3 misses the write (cut, but still up in everyone's view) */
	cl->cut[2] = 1;
	put(cl, 0, 1, "k", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	cl_tick(cl, 10000); /* the unanswered write expires quietly */
	cl->cut[2] = 0;
	h0 = local_hash(cl, 0, "k", &present);
	assert_true(present);
	local_hash(cl, 2, "k", &present);
	assert_false(present);
	/* n3's answer arrives after the reply: it is repaired anyway */
	cl->hold_from = 2;
	cl->hold_to = 0;
	get(cl, 0, 2, "k", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 2, 200), "v");
	local_hash(cl, 2, "k", &present);
	assert_false(present);
	cl_release(cl);
	h2 = local_hash(cl, 2, "k", &present);
	assert_true(present);
	assert_true(h0 == h2);
	assert_int_equal(coord_stats(&cl->nodes[0])->read_repairs, 1);
	/* the coordinator's own stale copy is repaired too */
	cl->cut[0] = 1;
	put(cl, 1, 3, "k2", "w", NULL, &p);
	cl_pump(cl);
	cl->cut[0] = 0;
	cl_tick(cl, 10000);
	get(cl, 0, 4, "k2", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 4, 200), "w");
	local_hash(cl, 0, "k2", &present);
	assert_true(present);
	cl_free(cl);
}

static void dt(cluster_t *cl, int node, uint64_t id, const char *key,
               crdt_type_t type, const crdt_op_t *ops, size_t n);

static void test_coord_read_repair_replaces_damaged_copy(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	static const uint8_t junk[] = {0x01, 0x93, 0xff, 0x00};
	store_key_t k;
	uint32_t part;
	int present;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "v", NULL, NULL);
	cl_pump(cl);
	part = ring_partition(coord_ring(&cl->nodes[1]),
	                      ring_key_hash(B, strlen(B), "k", 1));
	OK(store_key_object(&k, (uint16_t)part, B, strlen(B), "k", 1));
	OK(store_put(&cl->stores[1], &k, junk, sizeof(junk)));
	cl->tolerate = 1; /* n2's answer is rejected */
	assert_int_not_equal(coord_local_get(&cl->nodes[1], B, strlen(B), "k",
	                                     1, &(coord_local_t){0}),
	                     SH_OK);
	get(cl, 2, 2, "k", NULL);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 2, 200), "v");
	assert_true(local_hash(cl, 1, "k", &present) ==
	            local_hash(cl, 0, "k", &present));
	assert_true(present);
	/* and the damaged own copy of a coordinator */
	OK(store_put(&cl->stores[2], &k, junk, sizeof(junk)));
	get(cl, 2, 3, "k", NULL);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 3, 200), "v");
	assert_true(local_hash(cl, 2, "k", &present) ==
	            local_hash(cl, 0, "k", &present));
	cl_free(cl);
}

/*
 * The coordinator's own copy is an older version: its answer, the first
 * in, becomes the join, and must be set apart again when the newer answers
 * arrive, so that the own copy is seen to differ and is repaired.
 */
static void test_coord_read_repair_own_older_copy(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 3, 2);
	const res_t *r;
	uint64_t h1;
	int present;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "v1", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	cl->cut[0] = 1; /* n1 misses the second write */
	put(cl, 1, 2, "k", "v2", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 2, 204);
	cl->cut[0] = 0;
	cl_tick(cl, 10000);
	h1 = local_hash(cl, 1, "k", &present);
	assert_true(local_hash(cl, 0, "k", &present) != h1);
	get(cl, 0, 3, "k", &p);
	cl_pump(cl);
	r = cl_expect(cl, 3, 300); /* v1 and v2: v2 was written blind */
	assert_int_equal(dvv_live_count(&r->obj.kv), 2);
	assert_true(local_hash(cl, 0, "k", &present) == h1);
	assert_int_equal(coord_stats(&cl->nodes[0])->read_repairs, 1);
	cl_free(cl);
}

static void test_coord_type_conflicts_converge(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = 1};
	uint64_t h0, h;
	coord_local_t l;
	int i, present;

	(void)state;
	cl_members(cl);
	/* both coordinators find the key empty: one makes it kv, one dt */
	put(cl, 0, 1, "k", "v", NULL, NULL);
	dt(cl, 1, 2, "k", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	h0 = local_hash(cl, 0, "k", &present);
	for (i = 0; i < 3; i++) {
		h = local_hash(cl, i, "k", &present);
		assert_true(present);
		assert_true(h == h0);
		OK(coord_local_get(&cl->nodes[i], B, strlen(B), "k", 1, &l));
		assert_int_equal(l.kind, COORD_KIND_KV);
	}
	assert_true(coord_stats(&cl->nodes[1])->type_conflicts > 0);
	cl_free(cl);
}

static void test_coord_forwards_writes(void **state)
{
	cluster_t *cl = cl_new(5, NULL);
	coord_params_t p = params_nrw(2, 1, 2);
	ring_preflist_t pl;
	char key[16];
	int i, outsider = -1;
	res_t *r;

	(void)state;
	cl_members(cl);
	for (i = 0; i < 1000 && outsider < 0; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		preflist(cl, 0, key, 2, &pl);
		if (!on_preflist(&pl, "n5", 2))
			outsider = 4;
	}
	assert_int_equal(outsider, 4);
	put(cl, outsider, 1, key, "fwd", NULL, &p);
	cl_pump(cl);
	r = cl_expect(cl, 1, 204);
	assert_int_equal(r->r.forwarded, 1);
	assert_true(r->ctx.len > 0);
	assert_int_equal(coord_stats(&cl->nodes[4])->forwards, 1);
	local_hash(cl, 4, key, &i);
	assert_false(i); /* the outsider stored nothing */
	assert_int_equal(copies(cl, key), 2);
	get(cl, outsider, 2, key, &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 2, 200), "fwd");
	/* a forward that gets no answer times out */
	cl->cut[cl_index(cl, pl.entries[0].name)] = 1;
	cl->cut[cl_index(cl, pl.entries[1].name)] = 1;
	put(cl, outsider, 3, key, "lost", NULL, &p);
	cl_pump(cl);
	assert_null(cl_result(cl, 3));
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	r = cl_expect(cl, 3, 503);
	assert_int_equal(r->r.forwarded, 1);
	cl_free(cl);
}

static void dt(cluster_t *cl, int node, uint64_t id, const char *key,
               crdt_type_t type, const crdt_op_t *ops, size_t n)
{
	OK(coord_dt_update(&cl->nodes[node], cl->now, id, B, strlen(B), key,
	                   strlen(key), NULL, type, ops, n));
}

static res_t *dt_read(cluster_t *cl, int node, uint64_t id, const char *key,
                      int status)
{
	OK(coord_dt_get(&cl->nodes[node], cl->now, id, B, strlen(B), key,
	                strlen(key), NULL));
	cl_pump(cl);
	return cl_expect(cl, id, status);
}

static void test_coord_crdts_converge(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = 2};
	crdt_op_t set[2], line, cart[2];
	const crdt_store_t *f;
	res_t *r;
	int i;

	(void)state;
	cl_members(cl);
	for (i = 0; i < 3; i++)
		dt(cl, i, 10 + (uint64_t)i, "hits", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	r = dt_read(cl, 1, 20, "hits", 200);
	assert_int_equal(crdt_type(&r->obj.dt), CRDT_COUNTER);
	assert_int_equal(crdt_counter_value(&r->obj.dt.store), 6);
	/* set adds from two nodes, and a remove of an absent element */
	set[0].kind = CRDT_OP_SET_ADD;
	set[0].u.element.bytes = "a";
	set[0].u.element.len = 1;
	set[1].kind = CRDT_OP_SET_REMOVE;
	set[1].u.element.bytes = "zz";
	set[1].u.element.len = 2;
	dt(cl, 0, 21, "tags", CRDT_SET, set, 2);
	set[0].u.element.bytes = "b";
	dt(cl, 2, 22, "tags", CRDT_SET, set, 1);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 21, 204)->r.not_present, 1);
	r = dt_read(cl, 1, 23, "tags", 200);
	assert_int_equal(crdt_set_count(&r->obj.dt.store), 2);
	/* a cart: map of counters, updated from all three nodes */
	line.kind = CRDT_OP_COUNTER_INCREMENT;
	line.u.increment = 1;
	cart[0].kind = CRDT_OP_MAP_UPDATE;
	cart[0].u.field.name = "sku-1";
	cart[0].u.field.name_len = 5;
	cart[0].u.field.type = CRDT_COUNTER;
	cart[0].u.field.op = &line;
	for (i = 0; i < 3; i++)
		dt(cl, i, 30 + (uint64_t)i, "cart", CRDT_MAP, cart, 1);
	cl_pump(cl);
	for (i = 0; i < 3; i++) {
		r = dt_read(cl, i, 40 + (uint64_t)i, "cart", 200);
		f = crdt_map_get(&r->obj.dt.store, "sku-1", 5, CRDT_COUNTER);
		assert_non_null(f);
		assert_int_equal(crdt_counter_value(f), 3);
	}
	/* every replica holds the same object */
	assert_true(local_hash(cl, 0, "cart", &i) ==
	            local_hash(cl, 1, "cart", &i));
	assert_true(local_hash(cl, 1, "cart", &i) ==
	            local_hash(cl, 2, "cart", &i));
	dt_read(cl, 0, 50, "nothing", 404);
	cl_free(cl);
}

/* meta "epoch" of a store, in its open batch */
static uint64_t stored_epoch(store_t *s)
{
	uint64_t e = 0;
	OK(store_epoch_held(s, &e));
	return e;
}

/*
 * ACTOR RENEWAL: a node whose copy was dropped (a handoff drop) and that
 * then coordinates an update of the key must not issue again a dot the
 * other replicas hold: without a new actor, its second increment reused
 * dot (n1, 1) and the replicas kept the first one's sum.
 */
static void test_coord_new_actor_after_deletes(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = 2};
	size_t deleted;
	res_t *r;

	(void)state;
	cl_members(cl);
	dt(cl, 0, 10, "hits", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	cl_expect(cl, 10, 204);
	/* the first write after a start takes a new actor: the store cannot
	 * tell what a previous run deleted */
	assert_int_equal(coord_stats(&cl->nodes[0])->actor_renewals, 1);
	assert_int_equal(stored_epoch(&cl->stores[0]), 101);
	/* a second write, nothing deleted since: the same actor */
	dt(cl, 0, 11, "hits", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	cl_expect(cl, 11, 204);
	assert_int_equal(coord_stats(&cl->nodes[0])->actor_renewals, 1);
	/* node 0 drops every partition, then coordinates an increment */
	for (uint32_t p = 0; p < cl->nodes[0].cfg.partitions; p++)
		OK(store_drop_partition(&cl->stores[0], (uint16_t)p, 1000,
		                        &deleted));
	inc.u.increment = 5;
	dt(cl, 0, 12, "hits", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	cl_expect(cl, 12, 204);
	assert_int_equal(coord_stats(&cl->nodes[0])->actor_renewals, 2);
	assert_int_equal(stored_epoch(&cl->stores[0]), 102);
	for (int i = 1; i < 3; i++) {
		r = dt_read(cl, i, 20 + (uint64_t)i, "hits", 200);
		assert_int_equal(crdt_counter_value(&r->obj.dt.store), 9);
	}
	cl_free(cl);
}

static void test_coord_dt_remove_reads_first(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	crdt_op_t add = {.kind = CRDT_OP_SET_ADD,
	                 .u.element = {.bytes = "x", .len = 1}};
	crdt_op_t rm = {.kind = CRDT_OP_SET_REMOVE,
	                .u.element = {.bytes = "x", .len = 1}};
	coord_local_t l;
	res_t *r;

	(void)state;
	cl_members(cl);
	cl->cut[1] = 1; /* n2 misses the add */
	dt(cl, 0, 1, "s", CRDT_SET, &add, 1);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	cl->cut[1] = 0;
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	OK(coord_local_get(&cl->nodes[1], B, strlen(B), "s", 1, &l));
	assert_false(l.present);
	/* n2 has never seen "x", but removes it: it reads the others first */
	dt(cl, 1, 2, "s", CRDT_SET, &rm, 1);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 2, 204)->r.not_present, 0);
	r = dt_read(cl, 2, 3, "s", 200);
	assert_int_equal(crdt_set_count(&r->obj.dt.store), 0);
	/* a remove that finds nothing anywhere is counted */
	dt(cl, 2, 4, "s", CRDT_SET, &rm, 1);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 4, 204)->r.not_present, 1);
	cl_free(cl);
}

static void test_coord_duplicated_messages(void **state)
{
	cluster_t *cl = cl_new(5, NULL);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = 1};
	coord_params_t p = params_nrw(2, 2, 2);
	ring_preflist_t pl;
	char key[16];
	uint64_t i;
	res_t *r;
	int out = -1, k;

	(void)state;
	cl_members(cl);
	cl->duplicate = 1;
	for (k = 0; k < 1000 && out < 0; k++) {
		snprintf(key, sizeof(key), "d%d", k);
		preflist(cl, 0, key, 2, &pl);
		if (!on_preflist(&pl, "n5", 2))
			out = 4;
	}
	assert_int_equal(out, 4);
	/* forwarded increments, every message twice: each counts once */
	for (i = 1; i <= 5; i++) {
		OK(coord_dt_update(&cl->nodes[out], cl->now, i, B, strlen(B),
		                   key, strlen(key), &p, CRDT_COUNTER, &inc,
		                   1));
		cl_pump(cl);
		cl_expect(cl, i, 204);
	}
	OK(coord_dt_get(&cl->nodes[out], cl->now, 6, B, strlen(B), key,
	                strlen(key), &p));
	cl_pump(cl);
	r = cl_expect(cl, 6, 200);
	assert_int_equal(crdt_counter_value(&r->obj.dt.store), 5);
	assert_int_equal(coord_stats(&cl->nodes[0])->forwards_duplicate +
	                     coord_stats(&cl->nodes[1])->forwards_duplicate +
	                     coord_stats(&cl->nodes[2])->forwards_duplicate +
	                     coord_stats(&cl->nodes[3])->forwards_duplicate,
	                 5);
	/* a forwarded kv put makes one sibling, not two */
	put(cl, out, 7, "kv", "once", NULL, &p);
	cl_pump(cl);
	get(cl, 0, 8, "kv", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 8, 200), "once");
	cl_free(cl);
}

static void test_coord_type_mismatch_409(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = 1};
	crdt_op_t add = {.kind = CRDT_OP_SET_ADD,
	                 .u.element = {.bytes = "x", .len = 1}};
	res_t *r;

	(void)state;
	cl_members(cl);
	dt(cl, 0, 1, "c", CRDT_COUNTER, &inc, 1);
	put(cl, 0, 2, "kv", "v", NULL, NULL);
	cl_pump(cl);
	dt(cl, 1, 3, "c", CRDT_SET, &add, 1);
	cl_pump(cl);
	r = cl_expect(cl, 3, 409);
	assert_int_equal(r->r.stored_kind, COORD_KIND_DT);
	assert_int_equal(r->r.stored_type, CRDT_COUNTER);
	put(cl, 1, 4, "c", "v", NULL, NULL);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 4, 409)->r.stored_type, CRDT_COUNTER);
	get(cl, 2, 5, "c", NULL);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 5, 409)->r.stored_type, CRDT_COUNTER);
	dt(cl, 2, 6, "kv", CRDT_COUNTER, &inc, 1);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 6, 409)->r.stored_kind, COORD_KIND_KV);
	r = dt_read(cl, 0, 7, "kv", 409);
	assert_int_equal(r->r.stored_kind, COORD_KIND_KV);
	/* an op of another type than the update's: 400 */
	dt(cl, 0, 8, "c", CRDT_COUNTER, &add, 1);
	cl_pump(cl);
	cl_expect(cl, 8, 400);
	cl_free(cl);
}

static void test_coord_bad_params_400(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p;
	static const uint8_t junk[] = {0x93, 0x43, 0x01, 0xc1};
	sh_buf_t bad;
	uint64_t id;

	(void)state;
	cl_members(cl);
	p = params_nrw(2, 3, 1); /* r > n */
	put(cl, 0, 1, "k", "v", NULL, &p);
	p = params_nrw(3, 2, 0); /* w = 0 */
	put(cl, 0, 2, "k", "v", NULL, &p);
	p = params_nrw(0, 1, 1); /* n = 0 */
	get(cl, 0, 3, "k", &p);
	p = params_nrw(3, 1, 2);
	p.present |= COORD_PARAM_PR;
	p.pr = 2; /* pr > r */
	get(cl, 0, 4, "k", &p);
	sh_buf_init(&bad);
	OK(sh_buf_append(&bad, junk, sizeof(junk)));
	put(cl, 0, 5, "k", "v", &bad, NULL); /* malformed context */
	OK(coord_kv_get(&cl->nodes[0], cl->now, 6, B, strlen(B), "", 0,
	                NULL)); /* empty key */
	OK(coord_kv_get(&cl->nodes[0], cl->now, 7, "a\0b", 3, "k", 1,
	                NULL)); /* NUL in the bucket */
	p = params_nrw(3, 2, 2);
	p.present |= COORD_PARAM_TIMEOUT_MS;
	p.timeout_ms = 0;
	get(cl, 0, 8, "k", &p);
	cl_pump(cl);
	for (id = 1; id <= 8; id++)
		assert_true(strlen(cl_expect(cl, id, 400)->r.error) > 0);
	assert_int_equal(copies(cl, "k"), 0);
	sh_buf_free(&bad);
	cl_free(cl);
}

/* The server's r and w are lowered to a request's smaller n, while r or w
 * given above n is refused; every refusal says which parameter. (The
 * coordinator is the one place parameters are checked: the HTTP layer
 * only parses them.) */
static void test_coord_params_defaults_and_messages(void **state)
{
	static const struct {
		uint32_t present, n, r, w, pr, pw;
		const char *msg; /* NULL: served */
	} cases[] = {
	    {COORD_PARAM_N, 1, 0, 0, 0, 0, NULL}, /* n=1 alone: r=w=1 */
	    {COORD_PARAM_N, 2, 0, 0, 0, 0, NULL},
	    {COORD_PARAM_N | COORD_PARAM_W, 1, 0, 2, 0, 0,
	     "w (2) must be from 1 to n (1)"},
	    {COORD_PARAM_N | COORD_PARAM_R, 2, 3, 0, 0, 0,
	     "r (3) must be from 1 to n (2)"},
	    {COORD_PARAM_R, 0, 0, 0, 0, 0, "r (0) must be from 1 to n (3)"},
	    {COORD_PARAM_W, 0, 0, 0, 0, 0, "w (0) must be from 1 to n (3)"},
	    {COORD_PARAM_N, 0, 0, 0, 0, 0, "n (0) must be at least 1"},
	    {COORD_PARAM_R | COORD_PARAM_PR, 0, 1, 0, 2, 0,
	     "pr (2) must not exceed r (1)"},
	    {COORD_PARAM_W | COORD_PARAM_PW, 0, 0, 1, 0, 2,
	     "pw (2) must not exceed w (1)"},
	};
	size_t count = sizeof(cases) / sizeof(cases[0]);
	cluster_t *cl = cl_new(3, NULL);

	(void)state;
	cl_members(cl);
	for (size_t i = 0; i < count; i++) {
		coord_params_t p;
		memset(&p, 0, sizeof(p));
		p.present = cases[i].present;
		p.n = cases[i].n;
		p.r = cases[i].r;
		p.w = cases[i].w;
		p.pr = cases[i].pr;
		p.pw = cases[i].pw;
		put(cl, 0, i + 1, "k", "v", NULL, &p);
	}
	cl_pump(cl);
	for (size_t i = 0; i < count; i++) {
		if (cases[i].msg == NULL) {
			cl_expect(cl, i + 1, 204);
			continue;
		}
		const res_t *r = cl_expect(cl, i + 1, 400);
		if (strstr(r->r.error, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s'", i, r->r.error);
	}
	cl_free(cl);
}

static void test_coord_oversize_413(void **state)
{
	coord_config_t cfg;
	cluster_t *cl;
	char *big = malloc(2001), key[1100];

	(void)state;
	coord_config_default(&cfg);
	cfg.value_bytes_max = 2000;
	cl = cl_new(3, &cfg);
	cl_members(cl);
	memset(big, 'v', 2000);
	big[2000] = '\0';
	put(cl, 0, 1, "k", big, NULL, NULL); /* exactly the limit: fine */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	put(cl, 0, 2, key, "v", NULL, NULL);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	cl_expect(cl, 2, 413);
	big = realloc(big, 2002);
	memset(big, 'v', 2001);
	big[2001] = '\0';
	put(cl, 0, 3, "k", big, NULL, NULL);
	cl_pump(cl);
	cl_expect(cl, 3, 413);
	free(big);
	cl_free(cl);
}

static void test_coord_timeout_503(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 2, 2);
	coord_ready_t rd;
	res_t *r;

	(void)state;
	cl_members(cl);
	cl->cut[1] = cl->cut[2] = 1; /* up in the view, but silent */
	p.present |= COORD_PARAM_TIMEOUT_MS;
	p.timeout_ms = 300;
	put(cl, 0, 1, "k", "v", NULL, &p);
	get(cl, 0, 2, "k", &p);
	cl_pump(cl);
	assert_null(cl_result(cl, 1));
	coord_ready(&cl->nodes[0], &rd);
	assert_true(rd.next_deadline_ms == cl->now + 300);
	cl_tick(cl, 299);
	assert_null(cl_result(cl, 1));
	cl_tick(cl, 1);
	r = cl_expect(cl, 1, 503);
	assert_int_equal(r->r.needed, 2);
	assert_int_equal(r->r.acknowledged, 1);
	assert_int_equal(r->r.stored_on_count, 1);
	assert_string_equal(r->r.stored_on[0], "n1");
	r = cl_expect(cl, 2, 503);
	assert_int_equal(r->r.needed, 2);
	assert_int_equal(r->r.acknowledged, 1);
	coord_ready(&cl->nodes[0], &rd);
	assert_true(rd.next_deadline_ms == COORD_NO_DEADLINE);
	assert_int_equal(coord_stats(&cl->nodes[0])->quorum_failures, 2);
	cl_free(cl);
}

static void test_coord_overloaded_503(void **state)
{
	cluster_t *cl = cl_new_table(3, 2);

	(void)state;
	cl_members(cl);
	cl->cut[1] = cl->cut[2] = 1;
	get(cl, 0, 1, "a", NULL);
	get(cl, 0, 2, "b", NULL);
	get(cl, 0, 3, "c", NULL);
	cl_pump(cl);
	assert_string_equal(cl_expect(cl, 3, 503)->r.error, "overloaded");
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	cl_expect(cl, 1, 503);
	cl_expect(cl, 2, 503);
	get(cl, 0, 4, "d", NULL); /* room again */
	cl->cut[1] = cl->cut[2] = 0;
	cl_pump(cl);
	cl_expect(cl, 4, 404);
	cl_free(cl);
}

/* A hung replica (up in the view, silent): reads reply with the other
 * two and then wait for it. They must not keep new requests out: the
 * table full, the oldest such read stops waiting (repairing from what it
 * has) and the new request takes its place. */
static void test_coord_replied_reads_make_room(void **state)
{
	cluster_t *cl = cl_new_table(3, 2);
	coord_params_t p = params_nrw(3, 2, 2);

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "a", "va", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	cl->cut[2] = 1;
	get(cl, 0, 2, "a", &p);
	get(cl, 0, 3, "b", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 2, 200), "va");
	cl_expect(cl, 3, 404);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 2);
	/* a read and a write, each needing a slot */
	get(cl, 0, 4, "a", &p);
	cl_pump(cl);
	expect_kv(cl_expect(cl, 4, 200), "va");
	put(cl, 0, 5, "c", "vc", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 5, 204);
	const coord_stats_t *st = coord_stats(&cl->nodes[0]);
	assert_int_equal(st->overloaded, 0);
	assert_int_equal(st->waits_cut, 2);
	/* a read and the write still wait for n3 until their deadline */
	assert_int_equal(st->inflight, 2);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 0);
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 0);
	/* the write n3 never acknowledged is hinted for it */
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 1);
	cl_free(cl);
}

/* A write answered at w=2 waits for its last target; one that stays
 * silent to the deadline gets a hint (and the ready batch names it, for
 * the shell to start replay to a primary that is up), and hinted handoff
 * is what then brings it the write. One that answers gets none. */
static void test_coord_write_hints_silent_target(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 2, 2);
	coord_ready_t rd;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "all", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 0);
	cl->cut[2] = 1;
	put(cl, 0, 2, "k", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 2, 204);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 1);
	cl->now += COORD_TIMEOUT_MS_DEFAULT;
	coord_tick(&cl->nodes[0], cl->now);
	coord_ready(&cl->nodes[0], &rd);
	assert_int_equal(rd.hinted_count, 1);
	assert_string_equal(rd.hinted[0], "n3");
	assert_false(rd.hinted_more);
	cl_pump(cl);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 0);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 1);
	assert_int_equal(hints_for(&cl->stores[0], "n2"), 0);
	/* the next batch names nobody */
	coord_ready(&cl->nodes[0], &rd);
	assert_int_equal(rd.hinted_count, 0);
	cl_free(cl);
}

static void test_coord_failed_commit_answers_503(void **state)
{
	cluster_t *cl = cl_new(1, NULL);
	coord_params_t p = params_nrw(1, 1, 1);
	coord_ready_t rd;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "v", NULL, &p);
	store_mem_fail_after(&cl->stores[0], 0, SH_EIO); /* the commit */
	assert_int_equal(store_commit(&cl->stores[0]), SH_EIO);
	coord_batch_failed(&cl->nodes[0], SH_EIO);
	coord_ready(&cl->nodes[0], &rd);
	assert_int_equal(rd.result_count, 1);
	assert_int_equal(rd.results[0].status, 503);
	coord_advance(&cl->nodes[0]);
	OK(store_begin(&cl->stores[0]));
	assert_int_equal(copies(cl, "k"), 0);
	cl_free(cl);
}

/* A read let through while no batch is open (a sealed commit) may cut a
 * replied write short: its hints cannot be stored then, so they are owed
 * and stored by the next call that has a batch. */
static void test_coord_cut_write_owes_hints(void **state)
{
	cluster_t *cl = cl_new_table(3, 1);
	coord_params_t p = params_nrw(3, 2, 2);

	(void)state;
	cl_members(cl);
	cl->cut[2] = 1;
	put(cl, 0, 1, "k", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	assert_int_equal(coord_stats(&cl->nodes[0])->inflight, 1);
	OK(store_commit(&cl->stores[0])); /* no batch open */
	get(cl, 0, 2, "other", &p);
	assert_int_equal(coord_stats(&cl->nodes[0])->waits_cut, 1);
	assert_int_equal(coord_stats(&cl->nodes[0])->overloaded, 0);
	OK(store_begin(&cl->stores[0]));
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 0);
	coord_tick(&cl->nodes[0], cl->now);
	assert_int_equal(hints_for(&cl->stores[0], "n3"), 1);
	assert_int_equal(coord_stats(&cl->nodes[0])->hints_dropped, 0);
	cl_pump(cl);
	cl_expect(cl, 2, 404);
	cl_free(cl);
}

/* A reply depends on the open store batch (it waits for its commit) only
 * if it acknowledges a write or reads a key the batch wrote; reads may
 * also run outside a batch, as while a sealed batch commits. */
static void test_coord_reads_depend_only_on_written_keys(void **state)
{
	cluster_t *cl = cl_new(1, NULL);
	coord_params_t p = params_nrw(1, 1, 1);
	coord_ready_t rd;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "old", "v", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	put(cl, 0, 2, "new", "w", NULL, &p);
	get(cl, 0, 3, "old", &p);
	get(cl, 0, 4, "new", &p);
	cl_pump(cl);
	assert_int_equal(cl_expect(cl, 2, 204)->r.depends, 1);
	assert_int_equal(cl_expect(cl, 3, 200)->r.depends, 0);
	assert_int_equal(cl_expect(cl, 4, 200)->r.depends, 1);
	OK(store_commit(&cl->stores[0])); /* no batch open now */
	get(cl, 0, 5, "new", &p);
	coord_ready(&cl->nodes[0], &rd);
	assert_int_equal(rd.result_count, 1);
	assert_int_equal(rd.results[0].status, 200);
	assert_int_equal(rd.results[0].depends, 0);
	coord_advance(&cl->nodes[0]);
	OK(store_begin(&cl->stores[0]));
	cl_free(cl);
}

/* A sealed batch that failed to commit after its ready batch was handed
 * out: the writes in flight whose local write it held fail, later ones
 * go on. */
static void test_coord_lost_batch_fails_its_writes(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 1, 2);
	uint64_t seq;

	(void)state;
	cl_members(cl);
	cl->cut[1] = cl->cut[2] = 1;
	seq = coord_batch_seq(&cl->nodes[0]);
	put(cl, 0, 1, "a", "v", NULL, &p);
	cl_pump(cl);
	assert_null(cl_result(cl, 1)); /* waits for a second ack */
	put(cl, 0, 2, "b", "v", NULL, &p);
	coord_batch_lost(&cl->nodes[0], seq, SH_EIO);
	cl_pump(cl);
	assert_non_null(strstr(cl_expect(cl, 1, 503)->r.error, "storage"));
	assert_null(cl_result(cl, 2));
	assert_int_equal(coord_stats(&cl->nodes[0])->batches_failed, 1);
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	cl_expect(cl, 2, 503);
	cl_free(cl);
}

/* run a few requests of every kind and keep a copy of every message */
static void capture_messages(cluster_t *cl, char *key, size_t key_size)
{
	crdt_op_t line = {.kind = CRDT_OP_REGISTER_ASSIGN,
	                  .u.value = {.bytes = "r", .len = 1}};
	crdt_op_t op = {.kind = CRDT_OP_MAP_UPDATE,
	                .u.field = {"f", 1, CRDT_REGISTER, &line}};
	coord_params_t p = params_nrw(2, 1, 1);
	ring_preflist_t pl;
	unsigned seen = 0;
	size_t k;
	int j;

	cl->capture = 1;
	/* a key n3 is not a target of, so writes at n3 are forwarded */
	for (j = 0; j < 1000; j++) {
		snprintf(key, key_size, "g%d", j);
		preflist(cl, 0, key, 2, &pl);
		if (!on_preflist(&pl, "n3", 2))
			break;
	}
	put(cl, 2, 1, key, "value", NULL, &p);
	OK(coord_dt_update(&cl->nodes[2], cl->now, 2, B, strlen(B), "m", 1, &p,
	                   CRDT_MAP, &op, 1));
	OK(coord_kv_delete(&cl->nodes[2], cl->now, 3, B, strlen(B), key,
	                   strlen(key), &p, NULL, 0));
	get(cl, 0, 4, key, NULL);
	cl_pump(cl);
	cl->capture = 0;
	/* WRITE, WRITE_ACK, READ, READ_REPLY, FORWARD, FORWARD_REPLY: the
	 * type is the third byte ([fixarray, version 1, type, ...]) */
	for (k = 0; k < cl->captured_count; k++) {
		assert_true(cl->captured[k].len > 3);
		seen |= 1u << cl->captured[k].data[2];
	}
	assert_int_equal(seen, 0x7e);
}

/* random corruptions (and cuts) of captured messages; returns rejects */
static uint64_t corrupt_messages(cluster_t *cl, uint64_t seed, size_t runs)
{
	uint8_t *buf = malloc(65536);
	uint64_t rejected = 0;
	sh_rand_t rng;
	size_t i, k;

	assert_non_null(buf);
	printf("corruption seed %llu\n", (unsigned long long)seed);
	sh_rand_seed(&rng, seed);
	for (i = 0; i < runs; i++) {
		msg_t *m =
		    &cl->captured[sh_rand_below(&rng, cl->captured_count)];
		size_t len = m->len < 65536 ? m->len : 65536, flips;
		memcpy(buf, m->data, len);
		for (flips = 1 + sh_rand_below(&rng, 4); flips > 0; flips--)
			buf[sh_rand_below(&rng, len)] =
			    (uint8_t)sh_rand_u64(&rng);
		if (sh_rand_chance(&rng, 0.2))
			len = (size_t)sh_rand_below(&rng, len + 1);
		rejected += coord_recv(&cl->nodes[(int)(i % 3)], cl->now,
		                       cl->names[(i + 1) % 3], buf, len) < 0;
		if (i % 100 == 0) {
			/* drop what the garbage produced (bounded) */
			cl_collect(cl);
			for (k = 0; k < cl->queued; k++)
				free(cl->queue[k].data);
			cl->queued = 0;
		}
	}
	free(buf);
	return rejected;
}

/* every truncation and many random corruptions of real messages: an
 * error or a harmless message, never a crash */
static void test_coord_rejects_garbage(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	const coord_stats_t *st = coord_stats(&cl->nodes[2]);
	uint64_t rejected, seed, runs;
	size_t k, cut;
	char key[16];

	(void)state;
	cl_members(cl);
	capture_messages(cl, key, sizeof(key));
	for (k = 0; k < cl->captured_count; k++) {
		msg_t *m = &cl->captured[k];
		for (cut = 0; cut < m->len; cut++)
			assert_true(coord_recv(&cl->nodes[2], cl->now, "n1",
			                       m->data, cut) < 0);
	}
	assert_true(st->rejected[COORD_REJECT_TRUNCATED] > 0);
	/* SHOAL_COORD_FUZZ_SEED / _RUNS widen the search by hand */
	seed = getenv("SHOAL_COORD_FUZZ_SEED")
	           ? strtoull(getenv("SHOAL_COORD_FUZZ_SEED"), NULL, 10)
	           : 42;
	runs = getenv("SHOAL_COORD_FUZZ_RUNS")
	           ? strtoull(getenv("SHOAL_COORD_FUZZ_RUNS"), NULL, 10)
	           : 20000;
	rejected = corrupt_messages(cl, seed, (size_t)runs);
	assert_true(rejected > runs / 20);
	/* and the nodes still serve */
	cl->tolerate = 1;
	cl_tick(cl, 2 * COORD_TIMEOUT_MS_DEFAULT);
	get(cl, 1, 99, key, NULL);
	cl_pump(cl);
	assert_non_null(cl_result(cl, 99));
	cl_free(cl);
}

/* A FORWARD_REPLY status the coordinator never answers is not relayed. */
static void test_coord_forward_reply_status_checked(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	static const uint64_t statuses[] = {206, 100, 599, 200};
	sh_buf_t b;
	sh_mp_writer_t w;
	const coord_stats_t *st;
	uint64_t before;

	(void)state;
	cl_members(cl);
	sh_buf_init(&b);
	st = coord_stats(&cl->nodes[0]);
	for (size_t i = 0; i < 4; i++) {
		sh_buf_reset(&b);
		sh_mp_writer_init(&w, &b);
		sh_mp_put_array(&w, 14);
		sh_mp_put_u64(&w, 1);
		sh_mp_put_u64(&w, 6);
		sh_mp_put_u64(&w, 12345);
		sh_mp_put_u64(&w, statuses[i]);
		sh_mp_put_bin(&w, "", 0);
		sh_mp_put_bin(&w, "", 0);
		sh_mp_put_u64(&w, 3);
		sh_mp_put_bool(&w, 0);
		sh_mp_put_u64(&w, 2);
		sh_mp_put_u64(&w, 2);
		sh_mp_put_array(&w, 0);
		sh_mp_put_u64(&w, 0);
		sh_mp_put_u64(&w, 0);
		OK(sh_mp_put_u64(&w, 0));
		before = st->rejected[COORD_REJECT_VALUE];
		int rc = coord_recv(&cl->nodes[0], cl->now, cl->names[1],
		                    b.data, b.len);
		if (statuses[i] == 200) {
			/* well formed: only its request id is unknown */
			assert_int_equal(st->rejected[COORD_REJECT_VALUE],
			                 before);
		} else {
			assert_true(rc < 0);
			assert_int_equal(st->rejected[COORD_REJECT_VALUE],
			                 before + 1);
		}
	}
	sh_buf_free(&b);
	cl_free(cl);
}

static void test_coord_latency_percentiles(void **state)
{
	coord_op_stats_t s;
	cluster_t *cl = cl_new(3, NULL);
	coord_params_t p = params_nrw(3, 3, 3);
	uint64_t v;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(coord_latency_percentile(&s, 0.5), 0);
	/* replies measured from request to reply in now_ms */
	cl_members(cl);
	cl->cut[1] = 1;
	put(cl, 0, 1, "k", "v", NULL, &p);
	cl_pump(cl);
	cl_tick(cl, COORD_TIMEOUT_MS_DEFAULT);
	s = coord_stats(&cl->nodes[0])->ops[COORD_OP_KV_PUT];
	assert_int_equal(s.latency_count, 1);
	assert_int_equal(s.latency_ms_max, COORD_TIMEOUT_MS_DEFAULT);
	v = coord_latency_percentile(&s, 0.5);
	assert_true(v == COORD_TIMEOUT_MS_DEFAULT);
	cl_free(cl);
	/* exact below 16 ms; within 12.5% above */
	memset(&s, 0, sizeof(s));
	for (v = 0; v < 16; v++)
		s.latency[v] = 1;
	s.latency_count = 16;
	s.latency_ms_max = 15;
	assert_int_equal(coord_latency_percentile(&s, 0.5), 7);
	assert_int_equal(coord_latency_percentile(&s, 1.0), 15);
	assert_string_equal(coord_op_name(COORD_OP_DT_UPDATE), "dt_update");
	assert_string_equal(coord_reject_name(COORD_REJECT_STALE), "stale");
}

static void test_coord_replicas_and_local_copies(void **state)
{
	cluster_t *cl = cl_new(3, NULL);
	res_t *r;
	size_t i;

	(void)state;
	cl_members(cl);
	put(cl, 0, 1, "k", "v", NULL, NULL);
	cl_pump(cl);
	OK(coord_replicas(&cl->nodes[1], cl->now, 2, B, strlen(B), "k", 1,
	                  NULL));
	cl_pump(cl);
	r = cl_expect(cl, 2, 200);
	assert_int_equal(r->r.replica_count, 3);
	for (i = 0; i < 3; i++) {
		assert_true(r->r.replicas[i].answered);
		assert_true(r->r.replicas[i].present);
		assert_int_equal(r->r.replicas[i].siblings, 1);
		assert_true(r->r.replicas[i].hash == r->r.replicas[0].hash);
	}
	cl_free(cl);
}

/* coord_join_record: a record sent by hinted handoff joins the own copy */
static void test_coord_join_record(void **state)
{
	cluster_t *cl = cl_new(2, NULL);
	coord_params_t p = params_nrw(2, 1, 1);
	ring_preflist_t pl;
	store_key_t k;
	coord_local_t l0, l1;
	const uint8_t *rec;
	size_t rec_len;
	static const uint8_t bad[] = {0x09, 0x01};

	(void)state;
	cl_members(cl);
	cl->cut[1] = 1; /* n2 misses the write */
	put(cl, 0, 1, "j", "a", NULL, &p);
	cl_pump(cl);
	cl_expect(cl, 1, 204);
	assert_int_equal(copies(cl, "j"), 1);
	preflist(cl, 0, "j", 2, &pl);
	OK(store_key_object(&k, (uint16_t)pl.partition, B, strlen(B), "j", 1));
	OK(store_get(&cl->stores[0], &k, &rec, &rec_len));
	OK(coord_join_record(&cl->nodes[1], k.bytes, k.len, rec, rec_len));
	OK(coord_join_record(&cl->nodes[1], k.bytes, k.len, rec, rec_len));
	OK(coord_local_get(&cl->nodes[0], B, strlen(B), "j", 1, &l0));
	OK(coord_local_get(&cl->nodes[1], B, strlen(B), "j", 1, &l1));
	assert_int_equal(l1.present, 1);
	assert_true(l0.hash == l1.hash);
	assert_int_equal(l1.siblings, 1);
	/* a bad key or a damaged record changes nothing */
	assert_int_equal(
	    coord_join_record(&cl->nodes[1], k.bytes, 1, rec, rec_len),
	    SH_EMALFORMED);
	assert_int_not_equal(
	    coord_join_record(&cl->nodes[1], k.bytes, k.len, bad, sizeof(bad)),
	    SH_OK);
	OK(coord_local_get(&cl->nodes[1], B, strlen(B), "j", 1, &l1));
	assert_true(l0.hash == l1.hash);
	cl_free(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coord_init_and_members),
	    cmocka_unit_test(test_coord_put_get_round_trip),
	    cmocka_unit_test(test_coord_joining_refuses_until_members),
	    cmocka_unit_test(test_coord_timestamps_use_the_wall_clock),
	    cmocka_unit_test(test_coord_per_request_nrw),
	    cmocka_unit_test(test_coord_w3_one_node_down),
	    cmocka_unit_test(test_coord_pr_pw_and_sloppy_hints),
	    cmocka_unit_test(test_coord_fallback_hint_is_reported),
	    cmocka_unit_test(test_coord_fallback_drops_copy_after_hint),
	    cmocka_unit_test(test_coord_hint_for_unreplaced_primary),
	    cmocka_unit_test(test_coord_hint_without_sloppy),
	    cmocka_unit_test(test_coord_concurrent_writes_make_two_siblings),
	    cmocka_unit_test(test_coord_delete_gives_404_with_context),
	    cmocka_unit_test(test_coord_read_repair),
	    cmocka_unit_test(test_coord_read_repair_replaces_damaged_copy),
	    cmocka_unit_test(test_coord_read_repair_own_older_copy),
	    cmocka_unit_test(test_coord_type_conflicts_converge),
	    cmocka_unit_test(test_coord_forwards_writes),
	    cmocka_unit_test(test_coord_crdts_converge),
	    cmocka_unit_test(test_coord_new_actor_after_deletes),
	    cmocka_unit_test(test_coord_dt_remove_reads_first),
	    cmocka_unit_test(test_coord_duplicated_messages),
	    cmocka_unit_test(test_coord_type_mismatch_409),
	    cmocka_unit_test(test_coord_bad_params_400),
	    cmocka_unit_test(test_coord_params_defaults_and_messages),
	    cmocka_unit_test(test_coord_oversize_413),
	    cmocka_unit_test(test_coord_timeout_503),
	    cmocka_unit_test(test_coord_overloaded_503),
	    cmocka_unit_test(test_coord_replied_reads_make_room),
	    cmocka_unit_test(test_coord_write_hints_silent_target),
	    cmocka_unit_test(test_coord_cut_write_owes_hints),
	    cmocka_unit_test(test_coord_failed_commit_answers_503),
	    cmocka_unit_test(test_coord_reads_depend_only_on_written_keys),
	    cmocka_unit_test(test_coord_lost_batch_fails_its_writes),
	    cmocka_unit_test(test_coord_rejects_garbage),
	    cmocka_unit_test(test_coord_forward_reply_status_checked),
	    cmocka_unit_test(test_coord_latency_percentiles),
	    cmocka_unit_test(test_coord_replicas_and_local_copies),
	    cmocka_unit_test(test_coord_join_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
