/*
 * test_aae.c - the anti-entropy driver (node/aae.h) over memory stores:
 * nodes whose replicas diverged (writes that reached one replica only)
 * exchange trees through an in-process message queue until every replica
 * of every key holds an equal object; the store tap keeps trees exact
 * (equal to a rebuild from storage); object hashes of records equal the
 * coordinator's; malformed messages are rejected without harm; a REPAIR
 * is answered only within an exchange, and its REPLY is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "antientropy/merkle_int.h"
#include "common/sh_err.h"
#include "node/aae.h"
#include "node/aae_int.h"
#include "node/coord.h"
#include "node/store.h"
#include "node/store_tap.h"

#define OK(x)      assert_int_equal((x), SH_OK)
#define NODES      3
#define QUEUE_MAX  4096
#define PARTITIONS 16
#define STEPS_MAX  20000

static const char *B = "bucket";

typedef struct tnode {
	char name[8];
	store_t mem, tap;
	coord_t c;
	aae_t a;
	int down; /* takes part in nothing */
	int off;  /* runs no anti-entropy: answers with aae_refusal */
} tnode_t;

typedef struct tmsg {
	int to;
	char from[8];
	uint8_t *data;
	size_t len;
} tmsg_t;

typedef struct tcl {
	tnode_t n[NODES];
	uint64_t now;
	tmsg_t q[QUEUE_MAX];
	size_t qn;
	uint64_t delivered;
} tcl_t;

static void node_open(tcl_t *cl, int i, uint64_t epoch)
{
	tnode_t *n = &cl->n[i];
	coord_config_t cc;
	aae_config_t ac;
	store_tap_hooks_t h;
	OK(store_mem_open(&n->mem, NULL));
	OK(store_tap_open(&n->tap, &n->mem));
	coord_config_default(&cc);
	cc.name = n->name;
	cc.epoch = epoch;
	cc.partitions = PARTITIONS;
	OK(coord_init(&n->c, &cc, &n->tap));
	aae_config_default(&ac);
	ac.self = n->name;
	ac.segments = 64;
	ac.fanout = 4;
	ac.interval_ms = 10;
	ac.scan_keys_per_tick = 97; /* several ticks per partition */
	ac.repair_keys_per_msg = 7; /* several REPAIR messages */
	ac.timeout_ms = 2000;
	ac.seed = epoch;
	OK(aae_init(&n->a, &ac, &n->c, &n->tap));
	aae_tap_hooks(&n->a, &h);
	OK(store_tap_add_hooks(&n->tap, &h));
}

static void node_close(tnode_t *n)
{
	aae_free(&n->a);
	coord_free(&n->c);
	store_close(&n->tap);
	store_close(&n->mem);
}

static void cl_members(tcl_t *cl)
{
	coord_member_t m[NODES];
	for (int i = 0; i < NODES; i++) {
		m[i].name = cl->n[i].name;
		m[i].state = COORD_UP;
	}
	for (int i = 0; i < NODES; i++) {
		OK(store_begin(&cl->n[i].tap));
		OK(coord_set_members(&cl->n[i].c, m, NODES));
		OK(store_commit(&cl->n[i].tap));
	}
}

static tcl_t *cl_new(void)
{
	tcl_t *cl = calloc(1, sizeof *cl);
	assert_non_null(cl);
	cl->now = 1000;
	for (int i = 0; i < NODES; i++) {
		snprintf(cl->n[i].name, sizeof cl->n[i].name, "n%d", i + 1);
		node_open(cl, i, 100 + (uint64_t)i);
	}
	cl_members(cl);
	return cl;
}

static void cl_free(tcl_t *cl)
{
	for (size_t i = 0; i < cl->qn; i++)
		free(cl->q[i].data);
	for (int i = 0; i < NODES; i++)
		node_close(&cl->n[i]);
	free(cl);
}

static int node_index(const char *name)
{
	return name[0] == 'n' ? name[1] - '1' : -1;
}

/* A coordinator's outputs are dropped: its writes stay on its replica. */
static void coord_drop(tnode_t *n)
{
	coord_ready_t rd;
	coord_ready(&n->c, &rd);
	coord_advance(&n->c);
}

/* Write key on node i only (w=1, the copies to the others dropped). */
static void put_one(tcl_t *cl, int i, const char *key, const char *value)
{
	tnode_t *n = &cl->n[i];
	coord_params_t p = {.present = COORD_PARAM_W, .w = 1};
	coord_value_t v = {(const uint8_t *)value, strlen(value), "text/plain",
	                   10};
	OK(store_begin(&n->tap));
	OK(coord_kv_put(&n->c, cl->now, 1, B, strlen(B), key, strlen(key), &p,
	                &v, NULL, 0));
	OK(store_commit(&n->tap));
	coord_drop(n);
}

static void count_one(tcl_t *cl, int i, const char *key, int64_t by)
{
	tnode_t *n = &cl->n[i];
	coord_params_t p = {.present = COORD_PARAM_W, .w = 1};
	crdt_op_t op = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = by};
	OK(store_begin(&n->tap));
	OK(coord_dt_update(&n->c, cl->now, 2, B, strlen(B), key, strlen(key),
	                   &p, CRDT_COUNTER, &op, 1));
	OK(store_commit(&n->tap));
	coord_drop(n);
}

static void enqueue(tcl_t *cl, int to, const char *from, const uint8_t *data,
                    size_t len)
{
	assert_true(to >= 0 && to < NODES && cl->qn < QUEUE_MAX);
	tmsg_t *m = &cl->q[cl->qn++];
	m->to = to;
	snprintf(m->from, sizeof m->from, "%s", from);
	m->data = malloc(len);
	assert_non_null(m->data);
	memcpy(m->data, data, len);
	m->len = len;
}

/* A node with anti-entropy off: what it answers to its queued messages. */
static void off_round(tcl_t *cl, int i, const tmsg_t *q, size_t qn)
{
	sh_buf_t out;
	sh_buf_init(&out);
	for (size_t j = 0; j < qn; j++) {
		if (q[j].to != i)
			continue;
		sh_buf_reset(&out);
		OK(aae_refusal(q[j].data, q[j].len, &out));
		if (out.len > 0)
			enqueue(cl, node_index(q[j].from), cl->n[i].name,
			        out.data, out.len);
		cl->delivered++;
	}
	sh_buf_free(&out);
}

/* One round: every node receives its queued messages (in a batch), then
 * ticks; its outputs join the queue. */
static void cl_round(tcl_t *cl)
{
	tmsg_t *q = malloc(sizeof(tmsg_t) * (cl->qn ? cl->qn : 1));
	size_t qn = cl->qn;
	assert_non_null(q);
	memcpy(q, cl->q, sizeof(tmsg_t) * qn);
	cl->qn = 0;
	for (int i = 0; i < NODES; i++) {
		tnode_t *n = &cl->n[i];
		if (n->off) {
			off_round(cl, i, q, qn);
			continue;
		}
		OK(store_begin(&n->tap));
		for (size_t j = 0; j < qn; j++)
			if (q[j].to == i && !n->down) {
				aae_recv(&n->a, cl->now, q[j].from, q[j].data,
				         q[j].len);
				cl->delivered++;
			}
		OK(store_commit(&n->tap));
		coord_drop(n);
		if (n->down)
			continue;
		aae_tick(&n->a, cl->now);
		aae_ready_t rd;
		aae_ready(&n->a, &rd);
		for (size_t k = 0; k < rd.msg_count; k++)
			enqueue(cl, node_index(rd.msgs[k].to), n->name,
			        rd.msgs[k].data, rd.msgs[k].len);
		aae_advance(&n->a);
	}
	for (size_t j = 0; j < qn; j++)
		free(q[j].data);
	free(q);
	cl->now += 5;
}

/* Every up node holds key with the same object hash. */
static int key_equal(tcl_t *cl, const char *key)
{
	coord_local_t first, l;
	int have = 0;
	for (int i = 0; i < NODES; i++) {
		if (cl->n[i].down)
			continue;
		OK(coord_local_get(&cl->n[i].c, B, strlen(B), key, strlen(key),
		                   &l));
		if (!l.present)
			return 0;
		if (have && l.hash != first.hash)
			return 0;
		first = l;
		have = 1;
	}
	return 1;
}

static int all_equal(tcl_t *cl, int keys)
{
	char key[32];
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof key, "k%d", k);
		if (!key_equal(cl, key))
			return 0;
	}
	return key_equal(cl, "cart");
}

/* Run rounds until every key is equal everywhere (bounded). */
static int cl_converge(tcl_t *cl, int keys)
{
	for (int step = 0; step < STEPS_MAX; step++) {
		cl_round(cl);
		if (step % 50 == 49 && all_equal(cl, keys))
			return step;
	}
	return -1;
}

static void test_aae_repairs_both_directions(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32], val[32];
	const int keys = 600;
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof key, "k%d", k);
		snprintf(val, sizeof val, "v%d", k);
		put_one(cl, k % NODES, key, val); /* each on one replica */
		if (k % 10 == 0) {                /* and a concurrent one */
			snprintf(val, sizeof val, "w%d", k);
			put_one(cl, (k + 1) % NODES, key, val);
		}
	}
	count_one(cl, 0, "cart", 5);
	count_one(cl, 1, "cart", 7);
	assert_false(all_equal(cl, keys));
	int steps = cl_converge(cl, keys);
	assert_true(steps >= 0);
	const aae_stats_t *s0 = aae_stats(&cl->n[0].a);
	uint64_t repaired = 0, joined = 0;
	for (int i = 0; i < NODES; i++) {
		repaired += aae_stats(&cl->n[i].a)->keys_repaired;
		joined += aae_stats(&cl->n[i].a)->records_joined;
	}
	assert_true(repaired > 0);
	print_message("converged in %d rounds: %llu keys repaired, %llu "
	              "records joined, %llu AAE bytes from n1\n",
	              steps, (unsigned long long)repaired,
	              (unsigned long long)joined,
	              (unsigned long long)s0->bytes_sent);
	assert_true(joined >= (uint64_t)keys * 2); /* each key to two */
	assert_int_equal(s0->trees, PARTITIONS);   /* n=3 of 3: all */
	/* the concurrent writes became siblings everywhere */
	coord_local_t l;
	OK(coord_local_get(&cl->n[2].c, B, strlen(B), "k10", 3, &l));
	assert_int_equal(l.siblings, 2);
	/* the counter joined both increments */
	for (int i = 0; i < NODES; i++) {
		OK(coord_local_get(&cl->n[i].c, B, strlen(B), "cart", 4, &l));
		assert_int_equal(l.kind, COORD_KIND_DT);
	}
	cl_free(cl);
}

/* A node whose store was wiped (a new actor) is refilled. */
static void test_aae_refills_wiped_node(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32];
	const int keys = 300;
	coord_params_t p = {.present = COORD_PARAM_W, .w = 3};
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof key, "k%d", k);
		put_one(cl, 0, key, "x"); /* then copied by hand to all */
	}
	(void)p;
	count_one(cl, 0, "cart", 1);
	assert_true(cl_converge(cl, keys) >= 0);
	/* wipe n2: new store, new epoch */
	node_close(&cl->n[1]);
	node_open(cl, 1, 999);
	cl_members(cl);
	assert_false(all_equal(cl, keys));
	assert_true(cl_converge(cl, keys) >= 0);
	assert_true(aae_stats(&cl->n[1].a)->records_joined >= (uint64_t)keys);
	cl_free(cl);
}

/* Trees kept by the tap equal trees rebuilt from storage. */
static void test_aae_tree_follows_writes(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32], val[32];
	for (int i = 0; i < NODES; i++)
		cl->n[i].down = i != 0; /* no exchanges */
	cl_round(cl);                   /* ownership; rebuilds start */
	for (int k = 0; k < 400; k++) {
		snprintf(key, sizeof key, "k%d", k % 250);
		snprintf(val, sizeof val, "v%d", k);
		put_one(cl, 0, key, val); /* writes during the rebuilds */
		if (k % 20 == 0)
			cl_round(cl);
	}
	for (int r = 0; r < 200; r++)
		cl_round(cl);
	aae_t *a = &cl->n[0].a;
	assert_false(aae_busy(a));
	/* a second driver over the same store rebuilds from scratch */
	aae_t b;
	aae_config_t ac = a->cfg;
	OK(aae_init(&b, &ac, &cl->n[0].c, &cl->n[0].tap));
	for (int r = 0; r < 200 && (r == 0 || aae_busy(&b)); r++)
		aae_tick(&b, cl->now + (uint64_t)r);
	for (uint32_t p = 0; p < PARTITIONS; p++) {
		aae_part_t *x = a->parts[p], *y = b.parts[p];
		assert_non_null(x);
		assert_non_null(y);
		assert_true(merkle_is_built(&x->tree));
		assert_int_equal(merkle_root(&x->tree), merkle_root(&y->tree));
		assert_int_equal(merkle_keys(&x->tree), merkle_keys(&y->tree));
	}
	aae_free(&b);
	cl_free(cl);
}

static uint64_t bytes_sent(tcl_t *cl)
{
	uint64_t b = 0;
	for (int i = 0; i < NODES; i++)
		b += aae_stats(&cl->n[i].a)->bytes_sent;
	return b;
}

/* An exchange's bytes follow the keys that differ, not the stored ones:
 * after 3,000 keys converged, 10 changed keys cost a small fraction. */
static void test_aae_cost_follows_differences(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32], val[64];
	const int keys = 3000;
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof key, "k%d", k);
		snprintf(val, sizeof val, "a value of forty bytes or so, %05d",
		         k);
		put_one(cl, 0, key, val);
	}
	count_one(cl, 0, "cart", 1);
	assert_true(cl_converge(cl, keys) >= 0);
	for (int r = 0; r < 50; r++) /* repairs in flight end */
		cl_round(cl);
	uint64_t full = bytes_sent(cl);
	uint64_t repaired0 = 0;
	for (int i = 0; i < NODES; i++)
		repaired0 += aae_stats(&cl->n[i].a)->keys_repaired;
	for (int k = 0; k < 10; k++) {
		snprintf(key, sizeof key, "k%d", k * 251);
		put_one(cl, 1, key, "changed on n2 only");
	}
	assert_false(all_equal(cl, keys));
	uint64_t t0 = cl->now;
	assert_true(cl_converge(cl, keys) >= 0);
	uint64_t delta = bytes_sent(cl) - full, repaired = 0;
	for (int i = 0; i < NODES; i++)
		repaired += aae_stats(&cl->n[i].a)->keys_repaired;
	repaired -= repaired0;
	print_message("3000 keys: %llu AAE bytes to converge from empty "
	              "replicas; 10 changed keys: %llu bytes over %llu ms "
	              "(%llu keys repaired, equal-root exchanges included)\n",
	              (unsigned long long)full, (unsigned long long)delta,
	              (unsigned long long)(cl->now - t0),
	              (unsigned long long)repaired);
	assert_true(repaired >= 10 && repaired <= 40);
	assert_true(delta * 10 < full);
	cl_free(cl);
}

/* A peer the coordinator sees down ends the exchange with it at once
 * (not at the timeout), and no new exchange picks it. */
static void test_aae_peer_down_ends_exchange(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32];
	aae_t *a = &cl->n[0].a;
	for (int k = 0; k < 300; k++) {
		snprintf(key, sizeof key, "k%d", k);
		put_one(cl, 0, key, "x");
	}
	int found = 0;
	for (int r = 0; r < 2000 && !found; r++) {
		cl_round(cl);
		found = a->ini != NULL && strcmp(a->ini->peer, "n3") == 0;
	}
	assert_true(found);
	cl->n[2].down = 1;
	coord_member_t m[NODES] = {
	    {"n1", COORD_UP}, {"n2", COORD_UP}, {"n3", COORD_DOWN}};
	for (int i = 0; i < 2; i++) {
		OK(store_begin(&cl->n[i].tap));
		OK(coord_set_members(&cl->n[i].c, m, NODES));
		OK(store_commit(&cl->n[i].tap));
	}
	uint64_t failed = aae_stats(a)->exchanges_failed;
	cl_round(cl); /* far below the 2 s timeout */
	assert_int_equal(aae_stats(a)->exchanges_failed, failed + 1);
	for (int r = 0; r < 200; r++) {
		cl_round(cl);
		assert_true(a->ini == NULL || strcmp(a->ini->peer, "n3") != 0);
	}
	cl_free(cl);
}

/* 1 if a message from `from` to node `to` waits in the queue. */
static int queued(const tcl_t *cl, const char *from, int to)
{
	for (size_t i = 0; i < cl->qn; i++)
		if (cl->q[i].to == to && strcmp(cl->q[i].from, from) == 0)
			return 1;
	return 0;
}

/* A peer that restarted mid-exchange (it forgot the exchange) answers
 * the initiator's next message with REFUSE: the exchange fails at once,
 * not at the timeout. */
static void test_aae_forgotten_exchange_is_refused(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	char key[32];
	aae_t *a = &cl->n[0].a;
	for (int k = 0; k < 600; k++) {
		snprintf(key, sizeof key, "k%d", k);
		put_one(cl, 1, key, "on n2 only");
	}
	int found = 0;
	for (int r = 0; r < 4000 && !found; r++) {
		cl_round(cl);
		found = a->ini != NULL && strcmp(a->ini->peer, "n2") == 0 &&
		        !a->ini->x_ended &&
		        merkle_exchange_stats(&a->ini->x)->msgs_received > 0 &&
		        queued(cl, "n1", 1);
	}
	assert_true(found);
	uint64_t failed = aae_stats(a)->exchanges_failed;
	uint64_t refused = 0;
	node_close(&cl->n[1]); /* restarted: same name, same data gone */
	node_open(cl, 1, 555);
	cl_members(cl);
	for (int r = 0; r < 40 && aae_stats(a)->exchanges_failed == failed; r++)
		cl_round(cl); /* 200 ms, the timeout is 2 s */
	refused = aae_stats(&cl->n[1].a)->refused;
	assert_int_equal(aae_stats(a)->exchanges_failed, failed + 1);
	assert_true(refused > 0);
	cl_free(cl);
}

/* A node that runs no anti-entropy answers each exchange with REFUSE
 * (turned off): its peers' exchanges with it end at once, not at the
 * timeout, and their exchanges with the others go on between. */
static void test_aae_off_node_refuses_at_once(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	aae_t *a = &cl->n[0].a;
	cl->n[1].off = 1;
	/* 400 rounds are 2 s, the timeout: waiting for it, n1 would end at
	 * most one exchange with n2 */
	for (int r = 0; r < 400; r++)
		cl_round(cl);
	uint64_t refused = 0, with_n3 = 0;
	for (uint32_t p = 0; p < PARTITIONS; p++) {
		int owned, built;
		uint64_t keys;
		aae_last_t last;
		OK(aae_partition_info(a, p, &owned, &built, &keys, &last));
		if (!last.ran)
			continue;
		if (strcmp(last.peer, "n2") == 0) {
			assert_int_equal(last.result, SH_EDISABLED);
			refused++;
		} else {
			assert_true(last.result >= 0);
			with_n3++;
		}
	}
	assert_true(refused >= 2);
	assert_true(with_n3 >= 2);
	assert_true(aae_stats(a)->exchanges_failed >= refused);
	/* messages that want no answer get none; garbage is an error */
	sh_buf_t out;
	sh_buf_init(&out);
	sh_buf_t r;
	sh_buf_init(&r);
	OK(aae__enc_refuse(&r, 7, 3, SH_EDISABLED));
	OK(aae_refusal(r.data, r.len, &out));
	assert_int_equal(out.len, 0);
	sh_buf_free(&r);
	static const uint8_t junk[] = {0x93, 0x01, 0x09, 0x00};
	assert_true(aae_refusal(junk, sizeof junk, &out) < 0);
	assert_int_equal(out.len, 0);
	sh_buf_free(&out);
	cl_free(cl);
}

typedef struct hash_check {
	coord_t *c;
	int checked;
} hash_check_t;

static int hash_cb(void *arg, const store_entry_t *e)
{
	hash_check_t *h = arg;
	coord_obj_t obj;
	memset(&obj, 0, sizeof obj);
	OK(coord_obj_decode(&obj, e->val, e->val_len, NULL));
	assert_int_equal(aae_record_hash(e->val, e->val_len),
	                 coord_obj_hash(&obj));
	coord_obj_free(&obj);
	h->checked++;
	return SH_OK;
}

static void test_aae_record_hash_is_object_hash(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	put_one(cl, 0, "a", "1");
	put_one(cl, 0, "a", "2"); /* siblings */
	count_one(cl, 0, "c", 3);
	hash_check_t h = {&cl->n[0].c, 0};
	for (uint16_t p = 0; p < PARTITIONS; p++) {
		store_cursor_t cur;
		store_cursor_init(&cur);
		OK(store_scan_partition(&cl->n[0].mem, p, &cur, 100, hash_cb,
		                        &h));
	}
	assert_int_equal(h.checked, 2);
	assert_int_equal(aae_record_hash(NULL, 0), 0);
	cl_free(cl);
}

static void test_aae_rejects_bad_messages(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	aae_t *a = &cl->n[0].a;
	uint8_t junk[64];
	OK(store_begin(&cl->n[0].tap));
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof junk; len++)
		assert_true(aae_recv(a, cl->now, "n2", junk, len) < 0);
	/* a valid REPAIR, then every truncation of it */
	sh_buf_t m;
	sh_buf_init(&m);
	aae__entry_t e = {.bucket = (const uint8_t *)"b",
	                  .blen = 1,
	                  .key = (const uint8_t *)"k",
	                  .klen = 1,
	                  .record = (const uint8_t *)"\x09zz",
	                  .rlen = 3,
	                  .has_record = 1,
	                  .want_back = 1};
	OK(aae__enc_head(&m, AAE_MSG_REPAIR, 7, 3, 0, 1));
	OK(aae__enc_entry(&m, AAE_MSG_REPAIR, &e));
	aae__msg_t d;
	OK(aae__decode(m.data, m.len, &d));
	assert_int_equal(d.type, AAE_MSG_REPAIR);
	assert_int_equal(d.count, 1);
	for (size_t len = 0; len < m.len; len++)
		assert_true(aae__decode(m.data, len, &d) < 0);
	/* a damaged record is counted, not joined; the node goes on */
	aae_recv(a, cl->now, "n2", m.data, m.len);
	assert_true(aae_stats(a)->join_errors + aae_stats(a)->msgs_rejected >
	            0);
	/* a REFUSE with a positive status, a wrong version */
	sh_buf_reset(&m);
	OK(aae__enc_refuse(&m, 1, 1, SH_EFULL));
	m.data[1] = 2; /* version */
	assert_int_equal(aae__decode(m.data, m.len, &d), SH_EVERSION);
	OK(store_commit(&cl->n[0].tap));
	sh_buf_free(&m);
	cl_free(cl);
}

/* ---- REPAIR messages handed to one node by hand ---- */

#define BIG_BYTES 600000 /* one record: about 0.6 MB */
#define BIG_KEYS  6

/* The partition of key in node i's ring. */
static uint32_t key_partition(tcl_t *cl, int i, const char *key)
{
	store_key_t k;
	OK(aae__obj_key(&cl->n[i].a, (const uint8_t *)B, strlen(B),
	                (const uint8_t *)key, strlen(key), &k));
	return (uint32_t)(k.bytes[0] << 8 | k.bytes[1]);
}

/* Fill keys[n][16] with names of partition p (that of the first). */
static uint32_t same_partition_keys(tcl_t *cl, char (*keys)[16], int n)
{
	uint32_t p = key_partition(cl, 0, "big0");
	int found = 0;
	for (int k = 0; k < 10000 && found < n; k++) {
		snprintf(keys[found], sizeof keys[0], "big%d", k);
		if (key_partition(cl, 0, keys[found]) == p)
			found++;
	}
	assert_int_equal(found, n);
	return p;
}

/* Tick node i alone (its outputs dropped) until partition p's tree is
 * built. */
static void build_tree(tcl_t *cl, int i, uint32_t p)
{
	int owned = 0, built = 0;
	uint64_t keys;
	aae_last_t last;
	for (int r = 0; r < 200 && !built; r++) {
		aae_tick(&cl->n[i].a, cl->now);
		aae_advance(&cl->n[i].a);
		cl->now += 5;
		OK(aae_partition_info(&cl->n[i].a, p, &owned, &built, &keys,
		                      &last));
	}
	assert_true(owned && built);
}

/* Hand msg to node i from `from` in a batch; its result. */
static int hand(tcl_t *cl, int i, const char *from, const sh_buf_t *msg)
{
	OK(store_begin(&cl->n[i].tap));
	int rc = aae_recv(&cl->n[i].a, cl->now, from, msg->data, msg->len);
	OK(store_commit(&cl->n[i].tap));
	coord_drop(&cl->n[i]);
	return rc;
}

/* Make node i answer exchange xid of `from` on partition p (an OPEN whose
 * root differs from i's: the comparison goes on). */
static void open_exchange(tcl_t *cl, int i, const char *from, uint64_t xid,
                          uint32_t p)
{
	sh_buf_t mm, frame;
	sh_buf_init(&mm);
	sh_buf_init(&frame);
	OK(merkle__enc_open(&mm, xid, p, 64, 4, 4, 12345));
	OK(aae__enc_merkle(&frame, mm.data, mm.len));
	OK(hand(cl, i, from, &frame));
	aae_advance(&cl->n[i].a);
	sh_buf_free(&mm);
	sh_buf_free(&frame);
}

/* A REPAIR of exchange xid on p asking back keys[0] `repeat` times, then
 * keys[1..n), with no record of the sender's. */
static void repair_msg(sh_buf_t *m, uint64_t xid, uint32_t p, char (*keys)[16],
                       int n, int repeat)
{
	sh_buf_reset(m);
	OK(aae__enc_head(m, AAE_MSG_REPAIR, xid, p, 0,
	                 (uint32_t)(repeat + n - 1)));
	for (int j = 0; j < repeat + n - 1; j++) {
		const char *k = keys[j < repeat ? 0 : j - repeat + 1];
		aae__entry_t e = {.bucket = (const uint8_t *)B,
		                  .blen = strlen(B),
		                  .key = (const uint8_t *)k,
		                  .klen = strlen(k),
		                  .want_back = 1};
		OK(aae__enc_entry(m, AAE_MSG_REPAIR, &e));
	}
}

/* Node i's queued REPLY (its size in *len, entries checked distinct), or
 * -1 when it queued none. */
static int reply_count(tcl_t *cl, int i, size_t *len)
{
	aae_ready_t rd;
	aae_ready(&cl->n[i].a, &rd);
	for (size_t j = 0; j < rd.msg_count; j++) {
		aae__msg_t m;
		OK(aae__decode(rd.msgs[j].data, rd.msgs[j].len, &m));
		if (m.type != AAE_MSG_REPLY)
			continue;
		aae__entry_t e[BIG_KEYS + 1];
		const uint8_t *p = m.entries, *end = p + m.entries_len;
		assert_true(m.count <= BIG_KEYS);
		for (uint32_t k = 0; k < m.count; k++) {
			OK(aae__entry_next(&p, end, AAE_MSG_REPLY, &e[k]));
			for (uint32_t o = 0; o < k; o++)
				assert_false(
				    e[o].klen == e[k].klen &&
				    memcmp(e[o].key, e[k].key, e[k].klen) == 0);
		}
		*len = rd.msgs[j].len;
		return (int)m.count;
	}
	return -1;
}

/* A REPAIR is answered only by a node that runs that exchange with its
 * sender on that partition: any other is refused, and nothing is read,
 * joined or sent back (a peer could otherwise make the node copy its
 * records into replies at will). */
static void test_aae_repair_needs_open_exchange(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	aae_t *a = &cl->n[0].a;
	char keys[1][16];
	uint32_t p = same_partition_keys(cl, keys, 1);
	put_one(cl, 0, keys[0], "held by n1");
	build_tree(cl, 0, p);
	sh_buf_t m;
	sh_buf_init(&m);
	size_t len;
	uint64_t rejected = aae_stats(a)->msgs_rejected;
	/* no exchange at all; one with n2 named by n3; another partition */
	repair_msg(&m, 77, p, keys, 1, 1);
	assert_int_equal(hand(cl, 0, "n2", &m), SH_ENOTFOUND);
	assert_int_equal(reply_count(cl, 0, &len), -1);
	aae_advance(a);
	open_exchange(cl, 0, "n2", 78, p);
	repair_msg(&m, 78, p, keys, 1, 1);
	assert_int_equal(hand(cl, 0, "n3", &m), SH_ENOTFOUND);
	assert_int_equal(reply_count(cl, 0, &len), -1);
	aae_advance(a);
	repair_msg(&m, 78, (p + 1) % PARTITIONS, keys, 1, 1);
	assert_int_equal(hand(cl, 0, "n2", &m), SH_ENOTFOUND);
	assert_int_equal(reply_count(cl, 0, &len), -1);
	aae_advance(a);
	assert_int_equal(aae_stats(a)->msgs_rejected, rejected + 3);
	/* the exchange's own REPAIR is answered */
	repair_msg(&m, 78, p, keys, 1, 1);
	OK(hand(cl, 0, "n2", &m));
	assert_int_equal(reply_count(cl, 0, &len), 1);
	aae_advance(a);
	sh_buf_free(&m);
	cl_free(cl);
}

/* A REPLY stops at repair_bytes_per_msg (its first record goes whatever
 * its size), answers a key repeated in the REPAIR once, and the buffers a
 * large reply grew do not stay allocated. */
static void test_aae_reply_is_bounded(void **state)
{
	(void)state;
	tcl_t *cl = cl_new();
	aae_t *a = &cl->n[0].a;
	char keys[BIG_KEYS][16];
	uint32_t p = same_partition_keys(cl, keys, BIG_KEYS);
	char *val = malloc(BIG_BYTES + 1);
	assert_non_null(val);
	memset(val, 'v', BIG_BYTES);
	val[BIG_BYTES] = '\0';
	for (int k = 0; k < BIG_KEYS; k++)
		put_one(cl, 0, keys[k], val);
	free(val);
	build_tree(cl, 0, p);
	open_exchange(cl, 0, "n2", 90, p);
	sh_buf_t m;
	sh_buf_init(&m);
	size_t len = 0;
	repair_msg(&m, 90, p, keys, BIG_KEYS, 50);
	/* room for two records */
	a->cfg.repair_bytes_per_msg = 2 * BIG_BYTES + BIG_BYTES / 6;
	OK(hand(cl, 0, "n2", &m));
	assert_int_equal(reply_count(cl, 0, &len), 2);
	assert_true(len <= a->cfg.repair_bytes_per_msg);
	aae_advance(a);
	/* room for none: the first record alone */
	a->cfg.repair_bytes_per_msg = 1000;
	OK(hand(cl, 0, "n2", &m));
	assert_int_equal(reply_count(cl, 0, &len), 1);
	assert_true(len > BIG_BYTES && len < BIG_BYTES + 1000);
	aae_advance(a);
	/* room for all: each key once; then the memory goes back */
	a->cfg.repair_bytes_per_msg = 64u << 20;
	OK(hand(cl, 0, "n2", &m));
	assert_int_equal(reply_count(cl, 0, &len), BIG_KEYS);
	aae_advance(a);
	assert_true(a->out_bytes.cap <= AAE__BUF_KEEP_BYTES);
	assert_true(a->scratch.cap <= AAE__BUF_KEEP_BYTES);
	sh_buf_free(&m);
	cl_free(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aae_repairs_both_directions),
	    cmocka_unit_test(test_aae_refills_wiped_node),
	    cmocka_unit_test(test_aae_tree_follows_writes),
	    cmocka_unit_test(test_aae_cost_follows_differences),
	    cmocka_unit_test(test_aae_peer_down_ends_exchange),
	    cmocka_unit_test(test_aae_forgotten_exchange_is_refused),
	    cmocka_unit_test(test_aae_off_node_refuses_at_once),
	    cmocka_unit_test(test_aae_record_hash_is_object_hash),
	    cmocka_unit_test(test_aae_rejects_bad_messages),
	    cmocka_unit_test(test_aae_repair_needs_open_exchange),
	    cmocka_unit_test(test_aae_reply_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
