/*
 * test_reap.c - unit tests of the tombstone reaper (node/reap.h): three
 * nodes (coordinator for the ring, memory store, reaper each) whose
 * messages a small pump delivers. Records are written straight into the
 * stores, so each test sets up exactly the replicas it needs.
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
#include "node/coord.h"
#include "node/reap.h"
#include "node/store.h"

#define OK(x) assert_int_equal((x), SH_OK)
#define NODES 3
#define MSGS  8192
#define GRACE 1000

typedef struct msg {
	int from, to;
	uint8_t *data;
	size_t len;
} msg_t;

typedef struct rc {
	char names[NODES][8];
	store_t s[NODES];
	coord_t c[NODES];
	reap_t r[NODES];
	int down[NODES]; /* COORD_DOWN in every view, and cut off */
	int cut[NODES];  /* cut off only: its messages are lost */
	uint64_t now;
	msg_t q[MSGS];
	size_t qn;
} rc_t;

static void members(rc_t *x)
{
	coord_member_t m[NODES];
	int i;

	for (i = 0; i < NODES; i++) {
		m[i].name = x->names[i];
		m[i].state = x->down[i] ? COORD_DOWN : COORD_UP;
	}
	for (i = 0; i < NODES; i++)
		OK(coord_set_members(&x->c[i], m, NODES));
}

static rc_t *rc_new(size_t scan_keys_max)
{
	rc_t *x = calloc(1, sizeof(*x));
	coord_config_t cc;
	reap_config_t cfg;
	int i;

	assert_non_null(x);
	x->now = 1000;
	for (i = 0; i < NODES; i++) {
		snprintf(x->names[i], sizeof(x->names[i]), "n%d", i + 1);
		OK(store_mem_open(&x->s[i], NULL));
		coord_config_default(&cc);
		cc.name = x->names[i];
		cc.epoch = 10 + (uint64_t)i;
		cc.partitions = 16;
		OK(coord_init(&x->c[i], &cc, &x->s[i]));
		reap_config_default(&cfg);
		cfg.self = x->names[i];
		cfg.grace_ms = GRACE;
		cfg.pass_interval_ms = 500;
		cfg.scan_keys_max = scan_keys_max;
		cfg.inflight_max = 8;
		OK(reap_init(&x->r[i], &cfg, &x->c[i], &x->s[i]));
		OK(store_begin(&x->s[i]));
	}
	members(x);
	return x;
}

static void rc_free(rc_t *x)
{
	size_t k;
	int i;

	for (k = 0; k < x->qn; k++)
		free(x->q[k].data);
	for (i = 0; i < NODES; i++) {
		reap_free(&x->r[i]);
		coord_free(&x->c[i]);
		store_close(&x->s[i]);
	}
	free(x);
}

static int index_of(const rc_t *x, const char *name)
{
	int i;

	for (i = 0; i < NODES; i++)
		if (strcmp(x->names[i], name) == 0)
			return i;
	fail_msg("no node %s", name);
	return -1;
}

/* collect every node's outputs, deliver them, until quiet */
static void pump(rc_t *x)
{
	int round, i;
	size_t k;

	for (round = 0; round < 16; round++) {
		reap_ready_t rd;
		x->qn = 0;
		for (i = 0; i < NODES; i++) {
			reap_ready(&x->r[i], &rd);
			for (k = 0; k < rd.msg_count; k++) {
				msg_t *m = &x->q[x->qn++];
				assert_true(x->qn <= MSGS);
				m->from = i;
				m->to = index_of(x, rd.msgs[k].to);
				assert_int_not_equal(m->to, i);
				m->data = malloc(rd.msgs[k].len);
				assert_non_null(m->data);
				memcpy(m->data, rd.msgs[k].data,
				       rd.msgs[k].len);
				m->len = rd.msgs[k].len;
			}
			reap_advance(&x->r[i]);
		}
		if (x->qn == 0)
			return;
		for (k = 0; k < x->qn; k++) {
			msg_t *m = &x->q[k];
			assert_true(reap_wire_type(m->data, m->len) > 0);
			if (!x->down[m->to] && !x->cut[m->to] &&
			    !x->cut[m->from])
				reap_recv(&x->r[m->to], x->now,
				          x->names[m->from], m->data, m->len);
			free(m->data);
		}
		x->qn = 0;
	}
	fail_msg("the reapers did not go quiet");
}

/* one tick of every live node at wall time wall_ms, then the pump */
static void tick(rc_t *x, uint64_t wall_ms)
{
	int i;

	for (i = 0; i < NODES; i++)
		if (!x->down[i])
			reap_tick(&x->r[i], x->now, wall_ms);
	pump(x);
}

static void okey(rc_t *x, const char *key, store_key_t *k)
{
	ring_preflist_t pl;

	OK(coord_preflist(&x->c[0], "b", 1, key, strlen(key), 3, &pl));
	OK(store_key_object(k, (uint16_t)pl.partition, "b", 1, key,
	                    strlen(key)));
}

/* a record: one sibling by n1 at ts_ms, a tombstone or "v" */
static void record(sh_buf_t *out, int tombstone, uint64_t ts_ms,
                   const char *actor)
{
	coord_obj_t obj;
	crdt_actor_t a;
	dvv_value_t v;

	memset(&obj, 0, sizeof(obj));
	memset(&v, 0, sizeof(v));
	obj.kind = COORD_KIND_KV;
	dvv_init(&obj.kv);
	OK(crdt_actor_init(&a, actor, strlen(actor), 1));
	v.tombstone = tombstone;
	if (!tombstone) {
		v.value = (const uint8_t *)"v";
		v.value_len = 1;
	}
	v.timestamp_ms = ts_ms;
	OK(dvv_update(&obj.kv, NULL, &a, &v, NULL));
	sh_buf_reset(out);
	OK(coord_obj_encode(&obj, out));
	coord_obj_free(&obj);
}

static void put_rec(rc_t *x, int node, const char *key, int tombstone,
                    uint64_t ts_ms)
{
	store_key_t k;
	sh_buf_t b;

	memset(&b, 0, sizeof(b));
	okey(x, key, &k);
	record(&b, tombstone, ts_ms, "n1");
	OK(store_put(&x->s[node], &k, b.data, b.len));
	sh_buf_free(&b);
}

static int has(rc_t *x, int node, const char *key)
{
	store_key_t k;
	const uint8_t *v;
	size_t len;

	okey(x, key, &k);
	return store_get(&x->s[node], &k, &v, &len) == SH_OK;
}

static int copies(rc_t *x, const char *key)
{
	int i, n = 0;

	for (i = 0; i < NODES; i++)
		n += has(x, i, key);
	return n;
}

static uint64_t reaped(rc_t *x)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < NODES; i++)
		n += reap_stats(&x->r[i])->reaped;
	return n;
}

static void tombstones_everywhere(rc_t *x, const char *key, uint64_t ts)
{
	int i;

	for (i = 0; i < NODES; i++)
		put_rec(x, i, key, 1, ts);
}

static void test_reap_all_equal_after_grace(void **state)
{
	rc_t *x = rc_new(64);

	(void)state;
	tombstones_everywhere(x, "gone", 5000);
	put_rec(x, 0, "live", 0, 5000);
	put_rec(x, 1, "live", 0, 5000);
	put_rec(x, 2, "live", 0, 5000);
	/* within the grace period nothing goes */
	tick(x, 5000 + GRACE - 1);
	assert_int_equal(copies(x, "gone"), 3);
	assert_true(reap_stats(&x->r[0])->young >= 1);
	/* after it, every replica drops the tombstone, never a live key */
	x->now += 1000;
	tick(x, 5000 + GRACE);
	assert_int_equal(copies(x, "gone"), 0);
	assert_int_equal(copies(x, "live"), 3);
	assert_int_equal(reaped(x), 3);
	rc_free(x);
}

/* a replica that missed the delete keeps the key on every replica */
static void test_reap_waits_for_every_replica(void **state)
{
	rc_t *x = rc_new(64);
	int i;

	(void)state;
	put_rec(x, 0, "k", 1, 5000);
	put_rec(x, 1, "k", 1, 5000);
	put_rec(x, 2, "k", 0, 4000); /* the old value */
	for (i = 0; i < 3; i++) {
		x->now += 1000;
		tick(x, 100000);
	}
	assert_int_equal(copies(x, "k"), 3);
	assert_int_equal(reaped(x), 0);
	/* once it has the same tombstone, the key goes */
	put_rec(x, 2, "k", 1, 5000);
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 0);
	rc_free(x);
}

/* a replica without any copy agrees only with a tombstone twice the
 * grace old (it may still be being filled before that) */
static void test_reap_absent_copies(void **state)
{
	rc_t *x = rc_new(64);
	store_key_t k;

	(void)state;
	put_rec(x, 0, "k", 1, 5000);
	put_rec(x, 1, "k", 1, 5000);
	okey(x, "k", &k);
	tick(x, 5000 + GRACE + GRACE / 2);
	assert_int_equal(copies(x, "k"), 2);
	assert_int_equal(reaped(x), 0);
	x->now += 1000;
	tick(x, 5000 + 2 * GRACE);
	assert_int_equal(copies(x, "k"), 0);
	assert_int_equal(reaped(x), 2);
	/* a lone tombstone (the others reaped theirs) goes too */
	put_rec(x, 2, "k", 1, 5000);
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 0);
	/* but not while a hint for the key waits on an absent replica */
	put_rec(x, 0, "k", 1, 5000);
	{
		store_key_t hk;
		OK(store_key_hint(&hk, "n1", 2, &k));
		OK(store_put(&x->s[1], &hk, NULL, 0));
	}
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 1);
	rc_free(x);
}

/* a hint for the key, anywhere among its primaries, keeps it */
static void test_reap_waits_for_hints(void **state)
{
	rc_t *x = rc_new(64);
	store_key_t k, hk;
	int holder;

	(void)state;
	tombstones_everywhere(x, "k", 5000);
	okey(x, "k", &k);
	for (holder = 0; holder < NODES; holder++) {
		const char *for_ = x->names[(holder + 1) % NODES];
		OK(store_key_hint(&hk, for_, strlen(for_), &k));
		OK(store_put(&x->s[holder], &hk, NULL, 0));
		x->now += 1000;
		tick(x, 100000);
		assert_int_equal(copies(x, "k"), 3);
		OK(store_del(&x->s[holder], &hk));
	}
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 0);
	rc_free(x);
}

/* a primary that is down: no reap, and nothing is sent to it */
static void test_reap_waits_for_down_primary(void **state)
{
	rc_t *x = rc_new(64);

	(void)state;
	tombstones_everywhere(x, "k", 5000);
	x->down[2] = 1;
	members(x);
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 3);
	assert_true(reap_stats(&x->r[0])->kept + reap_stats(&x->r[1])->kept >
	            0);
	x->down[2] = 0;
	members(x);
	x->now += 1000;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 0);
	rc_free(x);
}

/* lost answers: the check times out and frees its slot; a later pass
 * reaps */
static void test_reap_check_timeout(void **state)
{
	rc_t *x = rc_new(64);
	uint64_t t = 0;
	int i;

	(void)state;
	tombstones_everywhere(x, "k", 5000);
	x->cut[2] = 1;
	tick(x, 100000);
	assert_int_equal(copies(x, "k"), 3);
	x->now += REAP_CHECK_TIMEOUT_MS_DEFAULT;
	tick(x, 100000);
	for (i = 0; i < NODES; i++)
		t += reap_stats(&x->r[i])->timeouts;
	assert_true(t >= 1);
	x->cut[2] = 0;
	for (i = 0; i < 3; i++) { /* the last lost checks expire first */
		x->now += REAP_CHECK_TIMEOUT_MS_DEFAULT;
		tick(x, 100000);
	}
	assert_int_equal(copies(x, "k"), 0);
	rc_free(x);
}

/* a REAP_DELETE whose tombstone changed since the check deletes nothing */
static void test_reap_delete_is_conditional(void **state)
{
	rc_t *x = rc_new(64);
	store_key_t k;
	sh_buf_t b;
	uint8_t msg[4096];
	size_t len;

	(void)state;
	memset(&b, 0, sizeof(b));
	okey(x, "k", &k);
	put_rec(x, 1, "k", 1, 5000);
	/* REAP_DELETE [1, 42, okey, hash] with a hash that is not n2's */
	msg[0] = 0x94;
	msg[1] = 0x01;
	msg[2] = 42;
	msg[3] = 0xc5; /* bin 16 */
	msg[4] = (uint8_t)(k.len >> 8);
	msg[5] = (uint8_t)k.len;
	memcpy(msg + 6, k.bytes, k.len);
	len = 6 + k.len;
	msg[len++] = 0x07; /* hash 7 */
	assert_int_equal(reap_wire_type(msg, len), REAP_MSG_DELETE);
	OK(reap_recv(&x->r[1], x->now, "n1", msg, len));
	assert_true(has(x, 1, "k"));
	assert_int_equal(reap_stats(&x->r[1])->delete_skipped, 1);
	/* a live value is never deleted either, whatever the hash */
	put_rec(x, 1, "k", 0, 6000);
	OK(reap_recv(&x->r[1], x->now, "n1", msg, len));
	assert_true(has(x, 1, "k"));
	sh_buf_free(&b);
	rc_free(x);
}

/* garbage is rejected and counted, never asserted on */
static void test_reap_rejects_garbage(void **state)
{
	rc_t *x = rc_new(64);
	static const uint8_t bad[][8] = {
	    {0x94, 0x01, 40, 0x01},                         /* check: no okey */
	    {0x93, 0x01, 42, 0x00},                         /* delete: short */
	    {0x94, 0x02, 40, 0x01, 0xc4, 0x00},             /* version 2 */
	    {0x92, 0x01, 43},                               /* unknown type */
	    {0x97, 0x01, 41, 0x01, 0x05, 0xc3, 0x00, 0xc2}, /* status > 0 */
	    {0xc1},
	};
	uint64_t seed = 12345;
	uint8_t buf[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(
		    reap_recv(&x->r[0], x->now, "n2", bad[i], sizeof(bad[i])),
		    SH_OK);
	assert_true(reap_stats(&x->r[0])->rejected >= 5);
	/* random bytes behind a valid head */
	for (i = 0; i < 2000; i++) {
		buf[0] = 0x94;
		buf[1] = 0x01;
		buf[2] = (uint8_t)(40 + i % 3);
		for (j = 3; j < sizeof(buf); j++) {
			seed =
			    seed * 6364136223846793005u + 1442695040888963407u;
			buf[j] = (uint8_t)(seed >> 56);
		}
		reap_recv(&x->r[0], x->now, "n2", buf,
		          3 + (size_t)(seed % (sizeof(buf) - 3)));
	}
	pump(x);
	/* a coordinator message is not the reaper's */
	assert_int_equal(reap_wire_type((const uint8_t *)"\x93\x01\x01", 3), 0);
	rc_free(x);
}

/* bounded work: at most scan_keys_max entries per tick; a pass still
 * reaches every key */
static void test_reap_bounded_scan(void **state)
{
	rc_t *x = rc_new(50);
	char key[16];
	int i, ticks = 0;

	(void)state;
	for (i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		tombstones_everywhere(x, key, 5000);
	}
	while (reap_stats(&x->r[0])->passes == 0 && ticks < 1000) {
		uint64_t before = reap_stats(&x->r[0])->scanned;
		reap_tick(&x->r[0], x->now, 5000); /* all young */
		assert_true(reap_stats(&x->r[0])->scanned - before <= 50);
		ticks++;
	}
	assert_int_equal(reap_stats(&x->r[0])->scanned, 400);
	assert_int_equal(reap_stats(&x->r[0])->young, 400);
	assert_true(ticks >= 8);
	/* past the grace, with 8 checks at a time, every key goes */
	for (i = 0; i < 200 && reaped(x) < 1200; i++) {
		x->now += 600;
		tick(x, 100000);
	}
	assert_int_equal(reaped(x), 1200);
	rc_free(x);
}

/* a tick also stops after about REAP_TICK_BYTES_MAX record bytes, and
 * records too large to be tombstones are not decoded */
static void test_reap_bounded_bytes(void **state)
{
	rc_t *x = rc_new(512);
	static uint8_t big[60 << 10];
	coord_obj_t obj;
	crdt_actor_t a;
	dvv_value_t v;
	store_key_t k;
	sh_buf_t b;
	char key[16];
	uint64_t before;
	int i;

	(void)state;
	memset(&obj, 0, sizeof(obj));
	memset(&v, 0, sizeof(v));
	memset(&b, 0, sizeof(b));
	obj.kind = COORD_KIND_KV;
	dvv_init(&obj.kv);
	OK(crdt_actor_init(&a, "n1", 2, 1));
	v.value = big;
	v.value_len = sizeof(big);
	OK(dvv_update(&obj.kv, NULL, &a, &v, NULL));
	OK(coord_obj_encode(&obj, &b));
	coord_obj_free(&obj);
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "big%d", i);
		okey(x, key, &k);
		OK(store_put(&x->s[0], &k, b.data, b.len));
	}
	before = reap_stats(&x->r[0])->scanned;
	reap_tick(&x->r[0], x->now, 100000);
	assert_true(reap_stats(&x->r[0])->scanned - before <=
	            REAP_TICK_BYTES_MAX / b.len + 1);
	assert_true(reap_stats(&x->r[0])->scanned - before >= 2);
	/* past the limit a record is skipped without decoding: live */
	snprintf(key, sizeof(key), "huge");
	okey(x, key, &k);
	{
		static uint8_t huge[REAP_RECORD_BYTES_MAX + 1];
		OK(store_put(&x->s[0], &k, huge, sizeof(huge)));
	}
	for (i = 0; i < 100 && reap_stats(&x->r[0])->passes < 2; i++) {
		x->now += 1000;
		reap_tick(&x->r[0], x->now, 100000);
	}
	assert_int_equal(reap_stats(&x->r[0])->passes, 2);
	assert_int_equal(reap_stats(&x->r[0])->tombstones, 0);
	assert_true(has(x, 0, "huge"));
	sh_buf_free(&b);
	rc_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reap_all_equal_after_grace),
	    cmocka_unit_test(test_reap_waits_for_every_replica),
	    cmocka_unit_test(test_reap_absent_copies),
	    cmocka_unit_test(test_reap_waits_for_hints),
	    cmocka_unit_test(test_reap_waits_for_down_primary),
	    cmocka_unit_test(test_reap_check_timeout),
	    cmocka_unit_test(test_reap_delete_is_conditional),
	    cmocka_unit_test(test_reap_rejects_garbage),
	    cmocka_unit_test(test_reap_bounded_scan),
	    cmocka_unit_test(test_reap_bounded_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
