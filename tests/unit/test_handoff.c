/*
 * test_handoff.c - unit tests of antientropy/handoff.h: ownership handoff
 * (moves planned from ring changes and graceful leave, streamed in key
 * order in bounded batches, acked, resumable, dropped only when no longer
 * owned), the tombstone reaping rule, and the handoff batch codec.
 *
 * The machine runs against an in-test fake store (sorted arrays with the
 * object-key layout of node/store.h) and fake peers that join (here:
 * overwrite) what they receive and answer HANDOFF_ACK. Random cases come
 * from one seed: SHOAL_TEST_SEED if set, else a fixed default; printed.
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

#include "antientropy/handoff.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "ring/ring.h"

static uint64_t g_seed = 20240611;

#define OK(x) assert_int_equal((x), 0)
#define KMAX  96
#define VMAX  300

/* ---- a sorted keyspace ---- */

typedef struct kv {
	uint8_t k[KMAX];
	size_t klen;
	uint8_t v[VMAX];
	size_t vlen;
	int recv; /* peers: times received */
} kv_t;

typedef struct space {
	kv_t *a;
	size_t n;
} space_t;

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t m = al < bl ? al : bl;
	int c = memcmp(a, b, m);

	if (c != 0)
		return c;
	return al < bl ? -1 : al > bl;
}

/* index of the first key >= k; *found if equal */
static size_t sp_lower(const space_t *s, const uint8_t *k, size_t kl,
                       int *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (key_cmp(s->a[mid].k, s->a[mid].klen, k, kl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && key_cmp(s->a[lo].k, s->a[lo].klen, k, kl) == 0;
	return lo;
}

static kv_t *sp_get(space_t *s, const uint8_t *k, size_t kl)
{
	int found;
	size_t i = sp_lower(s, k, kl, &found);

	return found ? &s->a[i] : NULL;
}

static kv_t *sp_put(space_t *s, const uint8_t *k, size_t kl, const void *v,
                    size_t vl)
{
	int found;
	size_t i = sp_lower(s, k, kl, &found);

	assert_true(kl <= KMAX && vl <= VMAX);
	if (!found) {
		s->a = realloc(s->a, (s->n + 1) * sizeof(*s->a));
		assert_non_null(s->a);
		memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof(*s->a));
		s->n++;
		memset(&s->a[i], 0, sizeof(s->a[i]));
		memcpy(s->a[i].k, k, kl);
		s->a[i].klen = kl;
	}
	memcpy(s->a[i].v, v, vl);
	s->a[i].vlen = vl;
	return &s->a[i];
}

static void sp_del(space_t *s, const uint8_t *k, size_t kl)
{
	int found;
	size_t i = sp_lower(s, k, kl, &found);

	if (!found)
		return;
	memmove(&s->a[i], &s->a[i + 1], (s->n - i - 1) * sizeof(*s->a));
	s->n--;
}

static size_t okey(uint8_t *out, uint16_t part, int i)
{
	int n;

	out[0] = (uint8_t)(part >> 8);
	out[1] = (uint8_t)part;
	memcpy(out + 2, "b\0", 2);
	n = snprintf((char *)out + 4, KMAX - 4, "k%05d", i);
	return 4 + (size_t)n;
}

static uint16_t part_of(const uint8_t *k)
{
	return (uint16_t)(k[0] << 8 | k[1]);
}

/* ---- the world: this node (the machine and its store) and peers ---- */

#define PEERS 6
#define QMSG  64

typedef struct qmsg {
	char to[32];
	uint8_t *data;
	size_t len;
} qmsg_t;

typedef struct world {
	handoff_t h;
	uint64_t now;
	space_t objects;
	char names[PEERS][8];
	int down[PEERS];
	space_t peer[PEERS];
	int check_order;        /* keys of a partition arrive ascending */
	uint8_t last[64][KMAX]; /* per partition: last key received */
	size_t last_len[64];
	qmsg_t q[QMSG];
	size_t qn;
	int drop_acks;
	size_t batches, max_batch;
	int leave_done;
	uint32_t dropped_parts[1024];
	size_t dropped;
	const ring_t *now_ring; /* for the "not owner when dropped" check */
} world_t;

static world_t *world_new(const char *self, const handoff_config_t *base)
{
	world_t *w = calloc(1, sizeof(*w));
	handoff_config_t cfg;

	assert_non_null(w);
	if (base != NULL)
		cfg = *base;
	else
		handoff_config_default(&cfg);
	cfg.self = self;
	OK(handoff_init(&w->h, &cfg));
	for (int i = 0; i < PEERS; i++)
		snprintf(w->names[i], sizeof(w->names[i]), "n%d", i + 1);
	w->now = 1000;
	return w;
}

static void world_free(world_t *w)
{
	handoff_free(&w->h);
	free(w->objects.a);
	for (int i = 0; i < PEERS; i++)
		free(w->peer[i].a);
	for (size_t i = 0; i < w->qn; i++)
		free(w->q[i].data);
	free(w);
}

static int peer_index(const world_t *w, const char *name)
{
	for (int i = 0; i < PEERS; i++)
		if (strcmp(w->names[i], name) == 0)
			return i;
	return -1;
}

static void fill(world_t *w, uint32_t parts, int per_part)
{
	for (uint32_t p = 0; p < parts; p++)
		for (int i = 0; i < per_part; i++) {
			uint8_t k[KMAX], v[64];

			memset(v, (int)(p + (uint32_t)i), sizeof(v));
			sp_put(&w->objects, k, okey(k, (uint16_t)p, i), v,
			       10 + (size_t)(i % 50));
		}
}

static size_t count_part(const space_t *s, uint32_t p)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += part_of(s->a[i].k) == p;
	return n;
}

static void run_scan(world_t *w, const handoff_scan_t *sc)
{
	uint8_t start[2] = {(uint8_t)(sc->partition >> 8),
	                    (uint8_t)sc->partition};
	size_t i, fed = 0;
	int found, r = 0;

	if (sc->after_len == 0)
		i = sp_lower(&w->objects, start, 2, &found);
	else {
		i = sp_lower(&w->objects, sc->after, sc->after_len, &found);
		i += found;
	}
	for (; i < w->objects.n && fed < sc->limit; i++) {
		kv_t *o = &w->objects.a[i];

		if (part_of(o->k) != sc->partition)
			break;
		r = handoff_feed(&w->h, sc->move, o->k, o->klen, o->v, o->vlen);
		assert_true(r == 0 || r == HANDOFF_FULL);
		if (r != 0)
			break;
		fed++;
	}
	found =
	    i >= w->objects.n || part_of(w->objects.a[i].k) != sc->partition;
	OK(handoff_scan_end(&w->h, w->now, sc->move, r == 0 && found, 0));
}

static void do_drop(world_t *w, const handoff_drop_t *d)
{
	size_t deleted = 0;

	if (w->now_ring != NULL) {
		uint32_t idx[RING_N_MAX];
		unsigned k = ring_owners(w->now_ring, d->partition,
		                         ring_n_replicas(w->now_ring), idx);

		for (unsigned i = 0; i < k; i++)
			assert_string_not_equal(
			    ring_member_name(w->now_ring, idx[i]), w->h.self);
	}
	for (size_t i = 0; i < w->objects.n && deleted < d->limit;) {
		if (part_of(w->objects.a[i].k) == d->partition) {
			sp_del(&w->objects, w->objects.a[i].k,
			       w->objects.a[i].klen);
			deleted++;
		} else {
			i++;
		}
	}
	if (deleted < d->limit)
		w->dropped_parts[w->dropped++] = d->partition;
	OK(handoff_drop_step(&w->h, w->now, d->partition, deleted));
}

/* one turn: outputs, scans, drops, until quiet */
static void turn(world_t *w)
{
	handoff_tick(&w->h, w->now);
	for (int round = 0; round < 64; round++) {
		handoff_ready_t out;
		handoff_scan_t scans[16];
		handoff_drop_t drops[1];
		size_t ns, nd;

		handoff_ready(&w->h, &out);
		w->leave_done = out.leave_done;
		for (size_t i = 0; i < out.msg_count; i++) {
			qmsg_t *m = &w->q[w->qn++];

			assert_true(w->qn <= QMSG);
			snprintf(m->to, sizeof(m->to), "%s", out.msgs[i].to);
			m->data = malloc(out.msgs[i].len);
			memcpy(m->data, out.msgs[i].data, out.msgs[i].len);
			m->len = out.msgs[i].len;
		}
		ns = out.scan_count;
		nd = out.drop_count;
		assert_true(ns <= 16 && nd <= 1);
		memcpy(scans, out.scans, ns * sizeof(*scans));
		memcpy(drops, out.drops, nd * sizeof(*drops));
		handoff_advance(&w->h);
		if (ns == 0 && out.msg_count == 0 && nd == 0)
			break;
		for (size_t i = 0; i < ns; i++)
			run_scan(w, &scans[i]);
		for (size_t i = 0; i < nd; i++)
			do_drop(w, &drops[i]);
	}
}

/* deliver queued batches; peers store in order and ack */
static void deliver(world_t *w)
{
	static handoff_wire_msg_t m;
	size_t n = w->qn;

	w->qn = 0;
	for (size_t i = 0; i < n; i++) {
		qmsg_t *q = &w->q[i];
		int p = peer_index(w, q->to);
		sh_buf_t ack = {0};

		assert_true(p >= 0);
		if (w->down[p]) {
			free(q->data);
			continue;
		}
		OK(handoff_wire_decode(q->data, q->len, VMAX, &m));
		assert_int_equal(m.type, HANDOFF_WIRE_BATCH);
		w->batches++;
		if (m.count > w->max_batch)
			w->max_batch = m.count;
		for (size_t j = 0; j < m.count; j++) {
			const handoff_wire_entry_t *e = &m.entries[j];

			assert_int_equal(part_of(e->okey), m.partition);
			if (w->check_order) {
				uint32_t pp = m.partition;

				assert_true(key_cmp(e->okey, e->okey_len,
				                    w->last[pp],
				                    w->last_len[pp]) > 0);
				memcpy(w->last[pp], e->okey, e->okey_len);
				w->last_len[pp] = e->okey_len;
			}
			kv_t *o = sp_put(&w->peer[p], e->okey, e->okey_len,
			                 e->record, e->record_len);
			o->recv++;
		}
		OK(handoff_wire_ack(&ack, HANDOFF_WIRE_ACK, m.id, 0));
		if (w->drop_acks > 0)
			w->drop_acks--;
		else {
			int r = handoff_recv(&w->h, w->now, q->to, ack.data,
			                     ack.len);

			assert_true(r == 0 || r == SH_ENOTFOUND); /* stale */
		}
		sh_buf_free(&ack);
		free(q->data);
	}
}

static void run_until_quiet(world_t *w, int turns)
{
	for (int t = 0; t < turns; t++) {
		turn(w);
		deliver(w);
		w->now += 10;
	}
	turn(w);
}

static void make_ring(ring_t *r, const char *const *names, size_t n)
{
	ring_config_t cfg;

	ring_config_default(&cfg);
	cfg.partitions = 16;
	cfg.n_replicas = 2;
	OK(ring_init(r, &cfg));
	OK(ring_set_members(r, names, n));
}

static int owns(const ring_t *r, uint32_t p, const char *name)
{
	uint32_t idx[RING_N_MAX];
	unsigned k = ring_owners(r, p, ring_n_replicas(r), idx);

	for (unsigned i = 0; i < k; i++)
		if (strcmp(ring_member_name(r, idx[i]), name) == 0)
			return 1;
	return 0;
}

/* a member of old that loses partitions to the joiner */
static const char *pick_loser(const ring_t *old, const ring_t *nr)
{
	for (uint32_t m = 0; m < ring_member_count(old); m++) {
		const char *name = ring_member_name(old, m);

		for (uint32_t p = 0; p < ring_partitions(old); p++)
			if (owns(old, p, name) && !owns(nr, p, name))
				return name;
	}
	return NULL;
}

static void test_handoff_join_streams_in_order_and_drops_after_ack(void **state)
{
	const char *m3[] = {"n1", "n2", "n3"}, *m4[] = {"n1", "n2", "n3", "n4"};
	ring_t old, nr;
	handoff_config_t cfg;
	handoff_stats_t st;
	world_t *w;
	const char *self;
	int moved = 0;

	(void)state;
	make_ring(&old, m3, 3);
	make_ring(&nr, m4, 4);
	self = pick_loser(&old, &nr);
	assert_non_null(self);
	handoff_config_default(&cfg);
	cfg.batch_keys_max = 7;
	cfg.batch_bytes_max = 200;
	w = world_new(self, &cfg);
	w->check_order = 1;
	w->now_ring = &nr;
	fill(w, 16, 40);
	OK(handoff_ring_changed(&w->h, w->now, NULL, &old));
	OK(handoff_ring_changed(&w->h, w->now, &old, &nr));
	handoff_transfer_t tr[32];
	size_t nt = handoff_transfers(&w->h, tr, 32);
	assert_true(nt > 0);
	for (size_t i = 0; i < nt; i++) {
		assert_string_equal(tr[i].to, "n4");
		assert_string_equal(tr[i].from, self);
		assert_true(owns(&old, tr[i].partition, self));
		assert_false(owns(&nr, tr[i].partition, self));
	}
	/* no drop before every batch of the partition is acked */
	w->drop_acks = 1000;
	for (int t = 0; t < 5; t++) {
		turn(w);
		deliver(w);
	}
	assert_int_equal(w->dropped, 0);
	w->drop_acks = 0;
	w->now += HANDOFF_ACK_TIMEOUT_MS_DEFAULT;
	w->check_order = 0; /* resends repeat keys */
	run_until_quiet(w, 400);
	for (uint32_t p = 0; p < 16; p++) {
		int lost = owns(&old, p, self) && !owns(&nr, p, self);

		moved += lost;
		assert_int_equal(count_part(&w->peer[3], p), lost ? 40 : 0);
		assert_int_equal(count_part(&w->objects, p), lost ? 0 : 40);
	}
	assert_int_equal(w->dropped, (size_t)moved);
	assert_int_equal(handoff_transfers(&w->h, tr, 32), 0);
	assert_true(w->max_batch <= 7);
	handoff_stats(&w->h, &st);
	assert_int_equal(st.moves_done, (uint64_t)moved);
	assert_int_equal(st.partitions_dropped, (uint64_t)moved);
	assert_int_equal(st.keys_sent, (uint64_t)moved * 40);
	ring_free(&old);
	ring_free(&nr);
	world_free(w);
}

static void test_handoff_streams_once_in_order_in_bounded_batches(void **state)
{
	const char *m2[] = {"me", "n1"};
	ring_t r;
	handoff_config_t cfg;
	world_t *w;

	(void)state;
	make_ring(&r, m2, 2); /* n=2: both own everything */
	handoff_config_default(&cfg);
	cfg.batch_keys_max = 9;
	w = world_new("me", &cfg);
	w->check_order = 1;
	fill(w, 4, 100);
	OK(handoff_ring_changed(&w->h, w->now, NULL, &r));
	OK(handoff_add(&w->h, w->now, 2, "n2"));
	assert_int_equal(handoff_add(&w->h, w->now, 2, "n2"), SH_EEXIST);
	assert_int_equal(handoff_add(&w->h, w->now, 2, "me"), SH_EINVAL);
	assert_int_equal(handoff_add(&w->h, w->now, 16, "n2"), SH_EINVAL);
	run_until_quiet(w, 50);
	assert_int_equal(w->peer[1].n, 100);
	for (size_t i = 0; i < w->peer[1].n; i++)
		assert_int_equal(w->peer[1].a[i].recv, 1);
	assert_int_equal(w->batches, (100 + 8) / 9);
	/* still an owner of 2: nothing dropped */
	assert_int_equal(w->dropped, 0);
	assert_int_equal(count_part(&w->objects, 2), 100);
	ring_free(&r);
	world_free(w);
}

static void test_handoff_interrupted_transfer_resumes_from_cursor(void **state)
{
	handoff_config_t cfg;
	world_t *w;

	(void)state;
	handoff_config_default(&cfg);
	cfg.batch_keys_max = 10;
	w = world_new("me", &cfg);
	fill(w, 2, 55);
	OK(handoff_add(&w->h, w->now, 1, "n3"));
	turn(w);
	deliver(w);
	turn(w);
	deliver(w); /* two batches acked */
	assert_int_equal(w->peer[2].n, 20);
	turn(w); /* third batch out */
	handoff_peer(&w->h, w->now, "n3", 0);
	w->down[2] = 1;
	deliver(w);
	handoff_transfer_t tr;
	assert_int_equal(handoff_transfers(&w->h, &tr, 1), 1);
	assert_int_equal(tr.state, HANDOFF_MOVE_PAUSED);
	assert_int_equal(tr.keys_sent, 20);
	for (int t = 0; t < 3; t++) {
		w->now += 60000;
		turn(w);
		assert_int_equal(w->qn, 0);
	}
	handoff_peer(&w->h, w->now, "n3", 1);
	w->down[2] = 0;
	handoff_ready_t out;
	handoff_ready(&w->h, &out);
	assert_int_equal(out.scan_count, 1);
	uint8_t k[KMAX];
	size_t kl = okey(k, 1, 19);
	assert_int_equal(out.scans[0].after_len, kl);
	assert_memory_equal(out.scans[0].after, k, kl);
	handoff_advance(&w->h);
	run_scan(w, &out.scans[0]);
	run_until_quiet(w, 20);
	assert_int_equal(w->peer[2].n, 55);
	for (size_t i = 0; i < w->peer[2].n; i++)
		assert_int_equal(w->peer[2].a[i].recv, 1);
	world_free(w);
}

static void test_handoff_lost_ack_is_retried(void **state)
{
	handoff_config_t cfg;
	handoff_stats_t st;
	world_t *w;

	(void)state;
	handoff_config_default(&cfg);
	cfg.ack_timeout_ms = 300;
	w = world_new("me", &cfg);
	fill(w, 1, 5);
	OK(handoff_add(&w->h, w->now, 0, "n1"));
	turn(w);
	w->drop_acks = 1;
	deliver(w);
	w->now += 299;
	turn(w);
	assert_int_equal(w->qn, 0);
	w->now += 1;
	turn(w);
	assert_int_equal(w->qn, 1);
	deliver(w);
	turn(w);
	handoff_stats(&w->h, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.moves_done, 1);
	assert_int_equal(w->peer[0].n, 5);
	world_free(w);
}

static void test_handoff_no_drop_when_owner_again(void **state)
{
	const char *m3[] = {"n1", "n2", "n3"}, *m4[] = {"n1", "n2", "n3", "n4"};
	ring_t old, nr;
	world_t *w;
	const char *self;

	(void)state;
	make_ring(&old, m3, 3);
	make_ring(&nr, m4, 4);
	self = pick_loser(&old, &nr);
	w = world_new(self, NULL);
	fill(w, 16, 10);
	OK(handoff_ring_changed(&w->h, w->now, NULL, &old));
	OK(handoff_ring_changed(&w->h, w->now, &old, &nr));
	turn(w);
	/* n4 leaves again before anything is acked: moves cancelled */
	OK(handoff_ring_changed(&w->h, w->now, &nr, &old));
	deliver(w); /* late acks: stale */
	run_until_quiet(w, 10);
	assert_int_equal(w->dropped, 0);
	assert_int_equal(w->objects.n, 160);
	assert_int_equal(handoff_transfers(&w->h, NULL, 0), 0);
	handoff_stats_t st;
	handoff_stats(&w->h, &st);
	assert_true(st.moves_cancelled > 0);
	ring_free(&old);
	ring_free(&nr);
	world_free(w);
}

static void test_handoff_write_during_pass_makes_catch_up_pass(void **state)
{
	handoff_config_t cfg;
	handoff_stats_t st;
	world_t *w;

	(void)state;
	handoff_config_default(&cfg);
	cfg.batch_keys_max = 4;
	w = world_new("me", &cfg);
	fill(w, 1, 12);
	OK(handoff_add(&w->h, w->now, 0, "n1"));
	turn(w);
	deliver(w);
	turn(w); /* keys 0..3 acked, 4..7 out */
	/* a write behind the cursor, under an old view */
	uint8_t k[KMAX];
	sp_put(&w->objects, k, okey(k, 0, 1), "\x01new", 4);
	handoff_note_write(&w->h, 0);
	run_until_quiet(w, 20);
	kv_t *o = sp_get(&w->peer[0], k, okey(k, 0, 1));
	assert_non_null(o);
	assert_int_equal(o->vlen, 4);
	handoff_stats(&w->h, &st);
	assert_int_equal(st.passes, 1);
	assert_int_equal(st.keys_sent, 24);
	world_free(w);
}

static void
test_handoff_graceful_leave_hands_off_then_reports_done(void **state)
{
	const char *m4[] = {"n1", "n2", "n3", "n4"}, *m3[] = {"n2", "n3", "n4"};
	ring_t cur, wo;
	world_t *w;

	(void)state;
	make_ring(&cur, m4, 4);
	make_ring(&wo, m3, 3);
	w = world_new("n1", NULL);
	w->now_ring = &wo;
	for (uint32_t p = 0; p < 16; p++)
		if (owns(&cur, p, "n1"))
			for (int i = 0; i < 30; i++) {
				uint8_t k[KMAX];

				sp_put(&w->objects, k, okey(k, (uint16_t)p, i),
				       "\x01v", 2);
			}
	OK(handoff_ring_changed(&w->h, w->now, NULL, &cur));
	turn(w);
	assert_false(w->leave_done);
	OK(handoff_leave(&w->h, w->now, &cur, &wo));
	for (int t = 0; t < 200 && !w->leave_done; t++) {
		turn(w);
		deliver(w);
		w->now += 10;
	}
	assert_true(w->leave_done);
	assert_int_equal(w->objects.n, 0);
	for (uint32_t p = 0; p < 16; p++) {
		size_t held = 0;

		if (!owns(&cur, p, "n1"))
			continue;
		for (int i = 1; i < 4; i++)
			if (count_part(&w->peer[i], p) == 30 &&
			    owns(&wo, p, w->names[i]))
				held++;
		assert_true(held >= 1);
	}
	ring_t empty;
	make_ring(&empty, m3, 0);
	assert_int_equal(handoff_leave(&w->h, w->now, &cur, &empty),
	                 SH_ENOTFOUND);
	ring_free(&empty);
	ring_free(&cur);
	ring_free(&wo);
	world_free(w);
}

static void test_handoff_tombstone_reaping_rule(void **state)
{
	const char *reps[] = {"n1", "n2", "n3"};
	const uint64_t g = HANDOFF_TOMBSTONE_GRACE_S_DEFAULT;
	handoff_tomb_t t;

	(void)state;
	handoff_tomb_init(&t, 10000);
	struct {
		const char *ack[3];
		uint64_t now_ms;
		uint64_t grace_s;
		size_t count;
		int want;
	} rows[] = {
	    {{NULL}, 10000 + g * 1000, g, 3, 0},             /* nobody acked */
	    {{"n1", "n2", NULL}, 10000 + g * 1000, g, 3, 0}, /* one missing */
	    {{"n1", "n2", "n3"}, 10000 + g * 1000 - 1, g, 3, 0}, /* grace */
	    {{"n1", "n2", "n3"}, 10000 + g * 1000, g, 3, 1},
	    {{"n1", "n2", "n3"}, 10000, 0, 3, 1},      /* no grace */
	    {{"n1", "n2", "n3"}, 5000, 0, 3, 0},       /* clock behind */
	    {{"n1", "n2", "n3"}, UINT64_MAX, g, 0, 0}, /* replicas unknown */
	    {{"n1", "n2", "n3"}, UINT64_MAX, UINT64_MAX, 3, 0}, /* overflow */
	    {{"n3", "n1", "n2"}, UINT64_MAX, g, 2, 1},          /* any order */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		handoff_tomb_init(&t, 10000);
		for (int j = 0; j < 3; j++)
			if (rows[i].ack[j] != NULL)
				OK(handoff_tomb_ack(&t, rows[i].ack[j]));
		assert_int_equal(handoff_tomb_reapable(&t, reps, rows[i].count,
		                                       rows[i].now_ms,
		                                       rows[i].grace_s),
		                 rows[i].want);
	}
	/* a replica that joined the set later has not acknowledged */
	const char *reps4[] = {"n1", "n2", "n3", "n4"};
	assert_int_equal(handoff_tomb_reapable(&t, reps4, 4, UINT64_MAX, g), 0);
	/* duplicates count once; the set is bounded */
	handoff_tomb_init(&t, 0);
	OK(handoff_tomb_ack(&t, "n1"));
	OK(handoff_tomb_ack(&t, "n1"));
	assert_int_equal(t.acked_count, 1);
	assert_int_equal(handoff_tomb_ack(&t, ""), SH_EINVAL);
	for (int i = 0; i < RING_N_MAX - 1; i++) {
		char name[16];

		snprintf(name, sizeof(name), "x%d", i);
		OK(handoff_tomb_ack(&t, name));
	}
	assert_int_equal(handoff_tomb_ack(&t, "late"), SH_EFULL);
	assert_false(handoff_tomb_acked(&t, "late"));
	assert_true(handoff_tomb_acked(&t, "n1"));
}

static void test_handoff_codec_rejects_truncation_and_corruption(void **state)
{
	static handoff_wire_msg_t m;
	world_t *w = world_new("me", NULL);
	sh_rand_t rng;

	(void)state;
	fill(w, 1, 6);
	OK(handoff_add(&w->h, w->now, 0, "n1"));
	turn(w);
	assert_int_equal(w->qn, 1);
	qmsg_t *q = &w->q[0];
	OK(handoff_wire_decode(q->data, q->len, VMAX, &m));
	assert_int_equal(m.count, 6);
	assert_int_equal(m.partition, 0);
	assert_true(m.final);
	assert_int_equal(handoff_wire_type(q->data, q->len),
	                 HANDOFF_WIRE_BATCH);
	for (size_t len = 0; len < q->len; len++)
		assert_true(handoff_wire_decode(q->data, len, VMAX, &m) < 0);
	sh_buf_t ack = {0};
	OK(handoff_wire_ack(&ack, HANDOFF_WIRE_ACK, 3, 0));
	for (size_t len = 0; len < ack.len; len++)
		assert_true(handoff_recv(&w->h, w->now, "n1", ack.data, len) <
		            0);
	/* a hint ack is not a handoff ack */
	sh_buf_reset(&ack);
	OK(handoff_wire_ack(&ack, HANDOFF_WIRE_HINT_ACK, 3, 0));
	assert_int_equal(handoff_recv(&w->h, w->now, "n1", ack.data, ack.len),
	                 SH_ETYPE);
	sh_buf_free(&ack);
	sh_rand_seed(&rng, g_seed ^ 0x5a);
	uint8_t *buf = malloc(q->len);
	for (int run = 0; run < 20000; run++) {
		memcpy(buf, q->data, q->len);
		int flips = 1 + (int)sh_rand_below(&rng, 4);
		for (int f = 0; f < flips; f++)
			buf[sh_rand_below(&rng, q->len)] =
			    (uint8_t)sh_rand_u64(&rng);
		if (handoff_wire_decode(buf, q->len, VMAX, &m) != 0)
			continue;
		assert_true(m.count <= HANDOFF_WIRE_ENTRIES_MAX);
		assert_true(m.partition <= UINT16_MAX);
		for (size_t j = 0; j < m.count; j++)
			assert_true(m.entries[j].record +
			                m.entries[j].record_len <=
			            buf + q->len);
	}
	free(buf);
	/* the machine stays sane after garbage */
	turn(w);
	deliver(w);
	turn(w);
	assert_int_equal(w->peer[0].n, 6);
	world_free(w);
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");

	if (env != NULL)
		g_seed = strtoull(env, NULL, 10);
	printf("test_handoff seed %" PRIu64
	       " (replay with SHOAL_TEST_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_handoff_join_streams_in_order_and_drops_after_ack),
	    cmocka_unit_test(
	        test_handoff_streams_once_in_order_in_bounded_batches),
	    cmocka_unit_test(
	        test_handoff_interrupted_transfer_resumes_from_cursor),
	    cmocka_unit_test(test_handoff_lost_ack_is_retried),
	    cmocka_unit_test(test_handoff_no_drop_when_owner_again),
	    cmocka_unit_test(
	        test_handoff_write_during_pass_makes_catch_up_pass),
	    cmocka_unit_test(
	        test_handoff_graceful_leave_hands_off_then_reports_done),
	    cmocka_unit_test(test_handoff_tombstone_reaping_rule),
	    cmocka_unit_test(
	        test_handoff_codec_rejects_truncation_and_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
