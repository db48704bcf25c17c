/*
 * test_xfer.c - unit tests of node/xfer.h, the ownership handoff driver:
 * whole nodes (memory store, coordinator, driver) with a message queue
 * between them and virtual time. A join moves partitions to the new node
 * and the old owners drop them; a write during a move reaches the new
 * owner; a partition holding hints is not dropped; a graceful leave hands
 * everything off; damaged input is refused.
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
#include "crdt/dvv.h"
#include "node/coord.h"
#include "node/store.h"
#include "node/store_tap.h"
#include "node/xfer.h"

#define OK(x)     assert_int_equal((x), 0)
#define NODES_MAX 5
#define QMAX      4096
#define KEYS      300

typedef struct qmsg {
	int from, to;
	uint8_t *data;
	size_t len;
} qmsg_t;

typedef struct world world_t;

typedef struct tnode {
	world_t *w;
	int idx;
	char name[16];
	store_t mem;   /* the backend */
	store_t store; /* a tap over mem: what every writer uses */
	coord_t coord;
	xfer_t x;
	int left; /* in every view as COORD_LEFT */
	int present;
} tnode_t;

struct world {
	tnode_t nodes[NODES_MAX];
	int count;
	uint64_t now;
	qmsg_t q[QMAX];
	size_t qn;
	int drop_all; /* lose every message */
};

static int idx_of(world_t *w, const char *name)
{
	for (int i = 0; i < w->count; i++)
		if (strcmp(w->nodes[i].name, name) == 0)
			return i;
	fail_msg("unknown node %s", name);
	return -1;
}

static void send_cb(void *arg, const char *to, const uint8_t *data, size_t len)
{
	tnode_t *n = arg;
	world_t *w = n->w;

	if (w->drop_all)
		return;
	assert_true(w->qn < QMAX);
	qmsg_t *m = &w->q[w->qn++];
	m->from = n->idx;
	m->to = idx_of(w, to);
	m->data = malloc(len);
	assert_non_null(m->data);
	memcpy(m->data, data, len);
	m->len = len;
}

static void node_add(world_t *w, int i)
{
	tnode_t *n = &w->nodes[i];
	coord_config_t cc;
	xfer_config_t xc;

	n->w = w;
	n->idx = i;
	n->present = 1;
	snprintf(n->name, sizeof(n->name), "n%d", i + 1);
	OK(store_mem_open(&n->mem, NULL));
	OK(store_tap_open(&n->store, &n->mem));
	coord_config_default(&cc);
	cc.name = n->name;
	cc.epoch = 100 + (uint64_t)i;
	OK(coord_init(&n->coord, &cc, &n->store));
	xfer_config_default(&xc);
	xc.self = n->name;
	xc.send = send_cb;
	xc.send_arg = n;
	xc.id_base = 1000 * (uint64_t)(i + 1);
	xc.batch_keys_max = 16; /* several batches per partition */
	xc.ack_timeout_ms = 500;
	OK(xfer_init(&n->x, &xc, &n->store, &n->coord));
	if (i >= w->count)
		w->count = i + 1;
}

/* Every present node's view: the present nodes, left ones as LEFT. */
static void members(world_t *w)
{
	coord_member_t m[NODES_MAX];
	size_t k = 0;

	for (int i = 0; i < w->count; i++) {
		if (!w->nodes[i].present)
			continue;
		m[k].name = w->nodes[i].name;
		m[k].state = w->nodes[i].left ? COORD_LEFT : COORD_UP;
		k++;
	}
	for (int i = 0; i < w->count; i++) {
		if (!w->nodes[i].present)
			continue;
		OK(store_begin(&w->nodes[i].store));
		OK(coord_set_members(&w->nodes[i].coord, m, k));
		OK(store_commit(&w->nodes[i].store));
	}
}

static void world_free(world_t *w)
{
	for (size_t k = 0; k < w->qn; k++)
		free(w->q[k].data);
	for (int i = 0; i < w->count; i++) {
		tnode_t *n = &w->nodes[i];
		if (!n->present)
			continue;
		xfer_free(&n->x);
		coord_free(&n->coord);
		store_close(&n->store);
		store_close(&n->mem);
	}
	free(w);
}

/* The record of a one-sibling kv object holding value, written by actor
 * ("writer", epoch): the same epoch gives the same dot. */
static void make_record(const char *value, uint64_t epoch, sh_buf_t *out)
{
	coord_obj_t obj;
	crdt_actor_t a;
	dvv_value_t v;

	memset(&obj, 0, sizeof(obj));
	memset(&v, 0, sizeof(v));
	obj.kind = COORD_KIND_KV;
	dvv_init(&obj.kv);
	OK(crdt_actor_init(&a, "writer", 6, epoch));
	v.value = (const uint8_t *)value;
	v.value_len = strlen(value);
	OK(dvv_update(&obj.kv, NULL, &a, &v, NULL));
	sh_buf_reset(out);
	OK(coord_obj_encode(&obj, out));
	coord_obj_free(&obj);
}

/* Store key i (value "v<i>" or val) on node n, as a replica would. */
static void put_key(tnode_t *n, int i, const char *val)
{
	char key[32], v[32];
	store_key_t k;
	sh_buf_t rec;

	snprintf(key, sizeof(key), "k%d", i);
	snprintf(v, sizeof(v), "v%d", i);
	sh_buf_init(&rec);
	/* one write per (key, value): replicas of it share its dot */
	make_record(val != NULL ? val : v, (uint64_t)i * 2 + (val != NULL),
	            &rec);
	OK(store_key_object(&k, 0, "b", 1, key, strlen(key)));
	int opened = !store_in_batch(&n->store);
	if (opened)
		OK(store_begin(&n->store));
	OK(coord_join_record(&n->coord, k.bytes, k.len, rec.data, rec.len));
	if (opened)
		OK(store_commit(&n->store));
	sh_buf_free(&rec);
}

static int has_key(tnode_t *n, int i)
{
	char key[32];
	coord_local_t loc;

	snprintf(key, sizeof(key), "k%d", i);
	OK(coord_local_get(&n->coord, "b", 1, key, strlen(key), &loc));
	return loc.present;
}

static int owns_key(tnode_t *n, int i)
{
	char key[32];
	ring_preflist_t pl;

	snprintf(key, sizeof(key), "k%d", i);
	OK(coord_preflist(&n->coord, "b", 1, key, strlen(key), 3, &pl));
	for (unsigned j = 0; j < pl.n; j++)
		if (strcmp(pl.entries[j].name, n->name) == 0)
			return 1;
	return 0;
}

/* Deliver the queue once: each receiver joins in a batch, commits, acks. */
static void deliver(world_t *w)
{
	size_t qn = w->qn;
	qmsg_t q[QMAX];

	memcpy(q, w->q, qn * sizeof(q[0]));
	w->qn = 0;
	for (size_t k = 0; k < qn; k++) {
		tnode_t *n = &w->nodes[q[k].to];
		if (n->present) {
			int opened = !store_in_batch(&n->store);
			if (opened)
				OK(store_begin(&n->store));
			OK(xfer_recv(&n->x, w->now, w->nodes[q[k].from].name,
			             q[k].data, q[k].len));
			OK(store_commit(&n->store));
			xfer_committed(&n->x, 1);
		}
		free(q[k].data);
	}
}

/* One step of every node: turn (commit its batch), deliver. */
static void step(world_t *w)
{
	for (int i = 0; i < w->count; i++) {
		tnode_t *n = &w->nodes[i];
		if (!n->present)
			continue;
		xfer_turn(&n->x, w->now);
		if (store_in_batch(&n->store))
			OK(store_commit(&n->store));
	}
	deliver(w);
	w->now += 50;
}

static int any_busy(world_t *w)
{
	for (int i = 0; i < w->count; i++)
		if (w->nodes[i].present && xfer_busy(&w->nodes[i].x))
			return 1;
	return w->qn > 0;
}

/* Step until nothing moves (after the settle time has passed). */
static void run_quiet(world_t *w)
{
	uint64_t start = w->now;
	for (int s = 0; s < 5000; s++) {
		step(w);
		if (w->now > start + 2 * XFER_SETTLE_MS_DEFAULT && !any_busy(w))
			return;
	}
	fail_msg("still moving after 5000 steps");
}

static world_t *world_new(int count)
{
	world_t *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->now = 1000;
	for (int i = 0; i < count; i++)
		node_add(w, i);
	members(w);
	return w;
}

/* every owner holds its keys; with only_owners, nobody else does */
static void check_placement(world_t *w, int only_owners)
{
	for (int i = 0; i < KEYS; i++) {
		int holders = 0;
		for (int j = 0; j < w->count; j++) {
			tnode_t *n = &w->nodes[j];
			if (!n->present || n->left)
				continue;
			int owns = owns_key(n, i), has = has_key(n, i);
			if (owns && !has)
				fail_msg("%s owns k%d but lacks it", n->name,
				         i);
			if (only_owners && has && !owns)
				fail_msg("%s holds k%d it does not own",
				         n->name, i);
			holders += has;
		}
		assert_true(holders >= 3);
	}
}

static void test_xfer_join_moves_and_drops(void **state)
{
	(void)state;
	world_t *w = world_new(3);
	run_quiet(w); /* the baseline ring settles: nothing moves */
	for (int i = 0; i < KEYS; i++)
		for (int j = 0; j < 3; j++)
			put_key(&w->nodes[j], i, NULL);
	node_add(w, 3);
	members(w);
	run_quiet(w);
	check_placement(w, 1);
	handoff_stats_t hs;
	xfer_stats_t xs;
	uint64_t planned = 0, received = 0;
	for (int j = 0; j < 4; j++) {
		xfer_stats(&w->nodes[j].x, &hs, &xs);
		planned += hs.moves_planned;
		received += xs.keys_received;
	}
	assert_true(planned > 0);
	assert_true(received > 0);
	xfer_stats(&w->nodes[3].x, &hs, &xs);
	assert_int_equal(hs.moves_planned, 0); /* the joiner sends nothing */
	world_free(w);
}

static void test_xfer_write_during_move_reaches_new_owner(void **state)
{
	(void)state;
	world_t *w = world_new(3);
	run_quiet(w);
	for (int i = 0; i < KEYS; i++)
		for (int j = 0; j < 3; j++)
			put_key(&w->nodes[j], i, NULL);
	node_add(w, 3);
	members(w);
	/* once a move streams, write every key of its partition on its
	 * sender only (a write coordinated under an older view) */
	handoff_transfer_t t[64];
	int sender = -1;
	uint32_t p = 0;
	for (int s = 0; s < 200 && sender < 0; s++) {
		step(w);
		for (int j = 0; j < 3 && sender < 0; j++) {
			size_t c = xfer_transfers(&w->nodes[j].x, t, 64);
			for (size_t k = 0; k < c && k < 64; k++)
				if (t[k].state == HANDOFF_MOVE_SENDING &&
				    strcmp(t[k].to, "n4") == 0) {
					sender = j;
					p = t[k].partition;
					break;
				}
		}
	}
	assert_true(sender >= 0);
	const ring_t *r = coord_ring(&w->nodes[0].coord);
	for (int i = 0; i < KEYS; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", i);
		if (ring_partition(
		        r, ring_key_hash("b", 1, key, strlen(key))) == p)
			put_key(&w->nodes[sender], i, "late");
	}
	run_quiet(w);
	/* the new owner has the late write of each of those keys */
	tnode_t *n4 = &w->nodes[3];
	int owned = 0;
	for (int i = 0; i < KEYS; i++) {
		char k2[32];
		snprintf(k2, sizeof(k2), "k%d", i);
		if (ring_partition(r, ring_key_hash("b", 1, k2, strlen(k2))) !=
		    p)
			continue;
		owned++;
		char key[32];
		coord_local_t loc;
		snprintf(key, sizeof(key), "k%d", i);
		OK(coord_local_get(&n4->coord, "b", 1, key, strlen(key), &loc));
		assert_true(loc.present);
		assert_int_equal(loc.siblings, 2); /* v<i> and "late" */
	}
	assert_true(owned > 0);
	world_free(w);
}

static void test_xfer_drop_waits_for_hints(void **state)
{
	(void)state;
	world_t *w = world_new(3);
	run_quiet(w);
	for (int i = 0; i < KEYS; i++)
		for (int j = 0; j < 3; j++)
			put_key(&w->nodes[j], i, NULL);
	/* n1 keeps a hint of k0's partition for some third node */
	tnode_t *n1 = &w->nodes[0];
	store_key_t ok, hk;
	uint32_t p = ring_partition(coord_ring(&n1->coord),
	                            ring_key_hash("b", 1, "k0", 2));
	OK(store_key_object(&ok, (uint16_t)p, "b", 1, "k0", 2));
	OK(store_key_hint(&hk, "zz", 2, &ok));
	OK(store_begin(&n1->store));
	OK(store_put(&n1->store, &hk, NULL, 0));
	OK(store_commit(&n1->store));
	assert_int_equal(xfer_hints_in(&n1->store, p), 1);
	assert_int_equal(xfer_hints_in(&n1->store, (p + 1) % 64), 0);
	node_add(w, 3);
	members(w);
	for (int s = 0; s < 400; s++)
		step(w);
	int owns = owns_key(n1, 0);
	/* whether or not n1 lost k0's partition, k0 is still here */
	assert_true(has_key(n1, 0));
	xfer_stats_t xs;
	xfer_stats(&n1->x, NULL, &xs);
	if (!owns) {
		assert_true(xs.drops_postponed > 0);
		/* the hint replayed: the drop goes ahead */
		OK(store_begin(&n1->store));
		OK(store_del(&n1->store, &hk));
		OK(store_commit(&n1->store));
		run_quiet(w);
		assert_false(has_key(n1, 0));
	}
	world_free(w);
}

static void test_xfer_leave_hands_everything_off(void **state)
{
	(void)state;
	world_t *w = world_new(4);
	run_quiet(w);
	for (int i = 0; i < KEYS; i++)
		for (int j = 0; j < 4; j++)
			if (owns_key(&w->nodes[j], i))
				put_key(&w->nodes[j], i, NULL);
	check_placement(w, 1);
	tnode_t *n1 = &w->nodes[0];
	OK(xfer_leave(&n1->x, w->now));
	assert_int_equal(xfer_leave(&n1->x, w->now), SH_EEXIST);
	assert_int_equal(xfer_leave_phase(&n1->x), XFER_LEAVE_HANDOFF);
	int s;
	for (s = 0; s < 2000 && !xfer_leave_done(&n1->x); s++)
		step(w);
	assert_true(xfer_leave_done(&n1->x));
	/* a write that reaches n1 before the others learn of the leave */
	put_key(n1, 0, "during-leave");
	/* announce: everyone sees n1 as left */
	n1->left = 1;
	members(w);
	assert_true(xfer_sweep(&n1->x, w->now) > 0);
	for (s = 0; s < 2000 && !xfer_leave_done(&n1->x); s++)
		step(w);
	assert_true(xfer_leave_done(&n1->x));
	/* n1 holds nothing; the others hold every key they own */
	store_stats_t st;
	OK(store_stats(&n1->store, STORE_OBJECTS, &st));
	assert_int_equal(st.entries, 0);
	check_placement(w, 0);
	/* the write made during the leave reached k0's owners */
	int found = 0;
	for (int j = 1; j < 4; j++) {
		coord_local_t loc;
		if (!owns_key(&w->nodes[j], 0))
			continue;
		OK(coord_local_get(&w->nodes[j].coord, "b", 1, "k0", 2, &loc));
		found += loc.siblings == 2;
	}
	assert_true(found >= 1);
	world_free(w);
}

static void test_xfer_leave_alone_and_cancel(void **state)
{
	(void)state;
	world_t *w = world_new(1);
	run_quiet(w);
	assert_int_equal(xfer_leave(&w->nodes[0].x, w->now), SH_ENOTFOUND);
	world_free(w);
	w = world_new(3);
	run_quiet(w);
	put_key(&w->nodes[0], 1, NULL);
	w->drop_all = 1; /* nobody answers: the leave cannot finish */
	OK(xfer_leave(&w->nodes[0].x, w->now));
	for (int s = 0; s < 100; s++)
		step(w);
	assert_false(xfer_leave_done(&w->nodes[0].x));
	OK(xfer_leave_cancel(&w->nodes[0].x, w->now));
	assert_int_equal(xfer_leave_phase(&w->nodes[0].x), XFER_LEAVE_NONE);
	assert_true(has_key(&w->nodes[0], 1)); /* nothing was dropped */
	world_free(w);
}

static void test_xfer_recv_refuses_bad_input(void **state)
{
	(void)state;
	world_t *w = world_new(2);
	tnode_t *n = &w->nodes[0];
	const uint8_t junk[] = {0x93, 0x01, 0x22, 0xc1};
	const uint8_t coordmsg[] = {0x92, 0x01, 0x01};
	xfer_stats_t xs;

	OK(store_begin(&n->store));
	assert_true(xfer_recv(&n->x, w->now, "n2", junk, sizeof(junk)) < 0);
	assert_int_equal(
	    xfer_recv(&n->x, w->now, "n2", coordmsg, sizeof(coordmsg)),
	    SH_ETYPE);
	assert_int_equal(xfer_recv(&n->x, w->now, "", junk, 1), SH_EINVAL);
	OK(store_commit(&n->store));
	/* a batch without an open store batch is acked with an error */
	sh_buf_t ack;
	sh_buf_init(&ack);
	OK(handoff_wire_ack(&ack, HANDOFF_WIRE_ACK, 77, 0));
	OK(xfer_recv(&n->x, w->now, "n2", ack.data, ack.len)); /* stale */
	sh_buf_free(&ack);
	xfer_stats(&n->x, NULL, &xs);
	assert_true(xs.receive_errors >= 1);
	world_free(w);
}

static void count_put(void *arg, const store_key_t *k)
{
	(void)k;
	(*(int *)arg)++;
}

/* xfer needs a store tap, and shares it with other hook sets. */
static void test_xfer_hooks_share_the_tap(void **state)
{
	(void)state;
	world_t *w = world_new(1);
	tnode_t *n = &w->nodes[0];
	xfer_config_t xc;
	xfer_t x2;
	store_tap_hooks_t h;
	int puts[STORE_TAP_HOOKS_MAX] = {0};

	xfer_config_default(&xc);
	xc.self = "n9";
	xc.send = send_cb;
	xc.send_arg = n;
	assert_int_equal(xfer_init(&x2, &xc, &n->mem, &n->coord), SH_EINVAL);
	/* xfer holds one set: fill the rest */
	memset(&h, 0, sizeof(h));
	h.put = count_put;
	for (int i = 1; i < STORE_TAP_HOOKS_MAX; i++) {
		h.arg = &puts[i];
		OK(store_tap_add_hooks(&n->store, &h));
	}
	assert_int_equal(store_tap_add_hooks(&n->store, &h), SH_ETOOBIG);
	assert_int_equal(xfer_init(&x2, &xc, &n->store, &n->coord), SH_ETOOBIG);
	put_key(n, 1, NULL);
	for (int i = 1; i < STORE_TAP_HOOKS_MAX; i++)
		assert_int_equal(puts[i], 1);
	store_tap_remove_hooks(&n->store, &puts[1]);
	put_key(n, 2, NULL);
	assert_int_equal(puts[1], 1);
	assert_int_equal(puts[2], 2);
	OK(xfer_init(&x2, &xc, &n->store, &n->coord)); /* a slot again */
	xfer_free(&x2);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xfer_join_moves_and_drops),
	    cmocka_unit_test(test_xfer_write_during_move_reaches_new_owner),
	    cmocka_unit_test(test_xfer_drop_waits_for_hints),
	    cmocka_unit_test(test_xfer_leave_hands_everything_off),
	    cmocka_unit_test(test_xfer_leave_alone_and_cancel),
	    cmocka_unit_test(test_xfer_recv_refuses_bad_input),
	    cmocka_unit_test(test_xfer_hooks_share_the_tap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
