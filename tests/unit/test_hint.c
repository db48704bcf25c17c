/*
 * test_hint.c - unit tests of antientropy/hint.h (hinted handoff replay)
 * and the shared handoff wire codec and token bucket.
 *
 * The machine is driven against an in-test fake store (sorted arrays of
 * hint keys and objects, with the layouts of node/store.h) and fake peers
 * that join (here: overwrite) what they receive and answer HINT_ACK.
 * Random cases come from one seed: SHOAL_TEST_SEED if set, else a fixed
 * default; it is printed at start.
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
#include "antientropy/hint.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/store.h"

_Static_assert(HANDOFF_KEY_BYTES_MAX == STORE_RAW_KEY_BYTES_MAX,
               "hint keys fit the cursor");
_Static_assert(HANDOFF_OKEY_BYTES_MAX == STORE_OBJ_KEY_BYTES_MAX,
               "object keys fit the wire");

static uint64_t g_seed = 20240611;

#define OK(x) assert_int_equal((x), 0)
#define KMAX  96
#define VMAX  600

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

/* ---- keys ---- */

static size_t okey(uint8_t *out, uint16_t part, int i)
{
	int n;

	out[0] = (uint8_t)(part >> 8);
	out[1] = (uint8_t)part;
	memcpy(out + 2, "b\0", 2);
	n = snprintf((char *)out + 4, KMAX - 4, "k%05d", i);
	return 4 + (size_t)n;
}

static size_t hkey(uint8_t *out, const char *primary, const uint8_t *ok,
                   size_t oklen)
{
	size_t pl = strlen(primary);

	out[0] = (uint8_t)pl;
	memcpy(out + 1, primary, pl);
	memcpy(out + 1 + pl, ok, oklen);
	return 1 + pl + oklen;
}

/* ---- the world: one fallback (the machine), its store, peers ---- */

#define PEERS 4
#define QMSG  64

typedef struct qmsg {
	char to[32];
	uint8_t *data;
	size_t len;
} qmsg_t;

typedef struct world {
	hint_t h;
	uint64_t now;
	space_t hints, objects;
	char peer_names[PEERS][16];
	space_t peer[PEERS];
	qmsg_t q[QMSG];
	size_t qn;
	int drop_acks;    /* acks to lose */
	size_t sent_msgs; /* batch messages seen */
	size_t deleted;
	/* throttle log */
	uint64_t send_t[4096];
	size_t send_b[4096];
	size_t sends;
	/* owners for left primaries: by partition */
	const char *(*owner)(uint16_t part);
} world_t;

static world_t *world_new(const hint_config_t *base)
{
	world_t *w = calloc(1, sizeof(*w));
	hint_config_t cfg;

	assert_non_null(w);
	if (base != NULL)
		cfg = *base;
	else
		hint_config_default(&cfg);
	cfg.self = "me";
	OK(hint_init(&w->h, &cfg));
	for (int i = 0; i < PEERS; i++)
		snprintf(w->peer_names[i], sizeof(w->peer_names[i]), "n%d",
		         i + 1);
	w->now = 1000;
	return w;
}

static void world_free(world_t *w)
{
	hint_free(&w->h);
	free(w->hints.a);
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
		if (strcmp(w->peer_names[i], name) == 0)
			return i;
	return -1;
}

/* a hinted write for primary: object stored here plus a hint */
static void write_hinted(world_t *w, const char *primary, uint16_t part, int i,
                         size_t vlen, uint8_t fill)
{
	uint8_t ok[KMAX], hk[KMAX], v[VMAX];
	size_t oklen = okey(ok, part, i);

	memset(v, fill, vlen);
	v[0] = 1; /* a record's kind byte */
	sp_put(&w->objects, ok, oklen, v, vlen);
	sp_put(&w->hints, hk, hkey(hk, primary, ok, oklen), "", 0);
}

/* the caller's part of a delete: only if the object is unchanged */
static void apply_del(world_t *w, const hint_del_t *d)
{
	size_t pl = d->hint_key[0];
	const uint8_t *ok = d->hint_key + 1 + pl;
	size_t oklen = d->hint_key_len - 1 - pl;
	kv_t *o = sp_get(&w->objects, ok, oklen);
	int same = d->had_record
	               ? o != NULL && handoff_record_hash(o->v, o->vlen) ==
	                                  d->record_hash
	               : o == NULL;

	assert_int_equal(pl, strlen(d->primary));
	assert_memory_equal(d->hint_key + 1, d->primary, pl);
	if (!same)
		return;
	sp_del(&w->hints, d->hint_key, d->hint_key_len);
	w->deleted++;
}

static void run_scan(world_t *w, const hint_scan_t *sc)
{
	uint8_t prefix[KMAX];
	size_t pl = strlen(sc->primary), fed = 0, i;
	int found, r = 0;

	prefix[0] = (uint8_t)pl;
	memcpy(prefix + 1, sc->primary, pl);
	if (sc->after_len == 0)
		i = sp_lower(&w->hints, prefix, pl + 1, &found);
	else {
		i = sp_lower(&w->hints, sc->after, sc->after_len, &found);
		i += found;
	}
	for (; i < w->hints.n && fed < sc->limit; i++) {
		kv_t *hk = &w->hints.a[i];
		hint_entry_t e;
		kv_t *o;

		if (hk->klen < pl + 1 || memcmp(hk->k, prefix, pl + 1) != 0)
			break;
		memset(&e, 0, sizeof(e));
		e.hint_key = hk->k;
		e.hint_key_len = hk->klen;
		e.obj_key = hk->k + pl + 1;
		e.obj_key_len = hk->klen - pl - 1;
		o = sp_get(&w->objects, e.obj_key, e.obj_key_len);
		e.record = o != NULL ? o->v : NULL;
		e.record_len = o != NULL ? o->vlen : 0;
		if (sc->need_owner)
			e.owner = w->owner(
			    (uint16_t)(e.obj_key[0] << 8 | e.obj_key[1]));
		r = hint_feed(&w->h, sc->primary, &e);
		assert_true(r == 0 || r == HANDOFF_FULL);
		if (r == HANDOFF_FULL)
			break;
		fed++;
	}
	/* done: nothing of this primary left past what was read */
	found = i >= w->hints.n || memcmp(w->hints.a[i].k, prefix, pl + 1) != 0;
	OK(hint_scan_end(&w->h, w->now, sc->primary, r == 0 && found, 0));
}

/* one turn: outputs, scans, until quiet; returns messages queued */
static size_t turn(world_t *w)
{
	size_t queued = 0;

	hint_tick(&w->h, w->now);
	for (int round = 0; round < 64; round++) {
		hint_ready_t out;
		hint_scan_t scans[16];
		size_t ns;

		hint_ready(&w->h, &out);
		for (size_t i = 0; i < out.msg_count; i++) {
			qmsg_t *m = &w->q[w->qn++];

			assert_true(w->qn <= QMSG);
			snprintf(m->to, sizeof(m->to), "%s", out.msgs[i].to);
			m->data = malloc(out.msgs[i].len);
			memcpy(m->data, out.msgs[i].data, out.msgs[i].len);
			m->len = out.msgs[i].len;
			w->send_t[w->sends] = w->now;
			w->send_b[w->sends++] = m->len;
			queued++;
		}
		for (size_t i = 0; i < out.del_count; i++)
			apply_del(w, &out.dels[i]);
		ns = out.scan_count;
		assert_true(ns <= 16);
		memcpy(scans, out.scans, ns * sizeof(*scans));
		hint_advance(&w->h);
		if (ns == 0 && out.msg_count == 0 && out.del_count == 0)
			break;
		for (size_t i = 0; i < ns; i++)
			run_scan(w, &scans[i]);
	}
	return queued;
}

/* deliver every queued message to its peer, which joins and acks */
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
		OK(handoff_wire_decode(q->data, q->len, VMAX, &m));
		assert_int_equal(m.type, HANDOFF_WIRE_HINT_BATCH);
		w->sent_msgs++;
		for (size_t j = 0; j < m.count; j++) {
			kv_t *o =
			    sp_put(&w->peer[p], m.entries[j].okey,
			           m.entries[j].okey_len, m.entries[j].record,
			           m.entries[j].record_len);
			o->recv++;
		}
		OK(handoff_wire_ack(&ack, HANDOFF_WIRE_HINT_ACK, m.id, 0));
		if (w->drop_acks > 0)
			w->drop_acks--;
		else
			OK(hint_recv(&w->h, w->now, q->to, ack.data, ack.len));
		sh_buf_free(&ack);
		free(q->data);
	}
}

/* hints of primary still stored */
static size_t hints_of(const world_t *w, const char *primary)
{
	size_t n = 0, pl = strlen(primary);

	for (size_t i = 0; i < w->hints.n; i++)
		if (w->hints.a[i].k[0] == pl &&
		    memcmp(w->hints.a[i].k + 1, primary, pl) == 0)
			n++;
	return n;
}

/* every hint deleted so far has its object at the peer (ack first) */
static void check_deleted_were_received(const world_t *w, int peer, int count,
                                        uint16_t parts)
{
	for (int i = 0; i < count; i++) {
		uint8_t ok[KMAX], hk[KMAX];
		size_t oklen = okey(ok, (uint16_t)(i % parts), i);
		size_t hl = hkey(hk, w->peer_names[peer], ok, oklen);
		int found;

		sp_lower(&w->hints, hk, hl, &found);
		if (!found)
			assert_non_null(
			    sp_get((space_t *)&w->peer[peer], ok, oklen));
	}
}

/* ---- tests ---- */

static void test_hint_replays_each_hint_once_and_deletes_after_ack(void **state)
{
	hint_config_t cfg;
	world_t *w;
	hint_stats_t st;

	(void)state;
	hint_config_default(&cfg);
	cfg.batch_keys_max = 16;
	w = world_new(&cfg);
	for (int i = 0; i < 300; i++)
		write_hinted(w, "n1", (uint16_t)(i % 7), i, 40, (uint8_t)i);
	write_hinted(w, "n2", 3, 9999, 40, 9); /* another primary's hint */
	OK(hint_set_pending(&w->h, w->now, "n1", 300));
	OK(hint_primary_up(&w->h, w->now, "n1"));
	for (int t = 0; t < 200 && hints_of(w, "n1") > 0; t++) {
		turn(w);
		check_deleted_were_received(w, 0, 300, 7);
		deliver(w);
		w->now += 10;
	}
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	assert_int_equal(hints_of(w, "n2"), 1); /* n2 is down: untouched */
	assert_int_equal(w->peer[0].n, 300);
	for (size_t i = 0; i < w->peer[0].n; i++)
		assert_int_equal(w->peer[0].a[i].recv, 1);
	assert_int_equal(w->sent_msgs, (300 + 15) / 16);
	hint_stats(&w->h, &st);
	assert_int_equal(st.replayed, 300);
	assert_int_equal(st.failed, 0);
	assert_true(st.bytes > 300 * 40);
	/* drained: nothing more happens */
	assert_int_equal(turn(w), 0);
	hint_dest_info_t di[4];
	assert_int_equal(hint_dests(&w->h, di, 4), 1);
	assert_int_equal(di[0].state, HINT_DEST_IDLE);
	assert_int_equal(di[0].pending, 0);
	assert_int_equal(di[0].replayed, 300);
	world_free(w);
}

static void test_hint_lost_ack_is_retried_after_timeout(void **state)
{
	hint_config_t cfg;
	world_t *w;
	hint_stats_t st;

	(void)state;
	hint_config_default(&cfg);
	cfg.batch_keys_max = 8;
	cfg.ack_timeout_ms = 500;
	w = world_new(&cfg);
	for (int i = 0; i < 20; i++)
		write_hinted(w, "n1", 1, i, 30, 7);
	OK(hint_primary_up(&w->h, w->now, "n1"));
	assert_int_equal(turn(w), 1);
	w->drop_acks = 1;
	deliver(w);
	/* before the timeout: no resend, no deletion */
	w->now += 499;
	assert_int_equal(turn(w), 0);
	assert_int_equal(hints_of(w, "n1"), 20);
	hint_ready_t out;
	hint_ready(&w->h, &out);
	assert_int_equal(out.next_deadline_ms, 1500);
	hint_advance(&w->h);
	/* a late duplicate of nothing: ignored */
	sh_buf_t ack = {0};
	OK(handoff_wire_ack(&ack, HANDOFF_WIRE_HINT_ACK, 12345, 0));
	assert_int_equal(hint_recv(&w->h, w->now, "n1", ack.data, ack.len),
	                 SH_ENOTFOUND);
	sh_buf_free(&ack);
	w->now += 1;
	assert_int_equal(turn(w), 1); /* the same batch again */
	assert_int_equal(hints_of(w, "n1"), 20);
	for (int t = 0; t < 20 && hints_of(w, "n1") > 0; t++) {
		deliver(w);
		turn(w);
	}
	assert_int_equal(hints_of(w, "n1"), 0);
	hint_stats(&w->h, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.replayed, 20);
	assert_int_equal(w->peer[0].n, 20);
	world_free(w);
}

static void test_hint_down_pauses_and_resumes_from_cursor(void **state)
{
	hint_config_t cfg;
	world_t *w;

	(void)state;
	hint_config_default(&cfg);
	cfg.batch_keys_max = 10;
	w = world_new(&cfg);
	for (int i = 0; i < 45; i++)
		write_hinted(w, "n1", 2, i, 30, 7);
	OK(hint_primary_up(&w->h, w->now, "n1"));
	turn(w);
	deliver(w);
	turn(w); /* second batch out, first deleted */
	assert_int_equal(hints_of(w, "n1"), 35);
	hint_primary_down(&w->h, w->now, "n1");
	for (size_t i = 0; i < w->qn; i++)
		free(w->q[i].data);
	w->qn = 0; /* the second batch is lost with the primary */
	for (int t = 0; t < 5; t++) {
		w->now += 20000;
		assert_int_equal(turn(w), 0);
	}
	assert_int_equal(hints_of(w, "n1"), 35);
	hint_dest_info_t di;
	hint_dests(&w->h, &di, 1);
	assert_int_equal(di.state, HINT_DEST_DOWN);
	/* up again: the scan starts after the last acknowledged hint */
	OK(hint_primary_up(&w->h, w->now, "n1"));
	hint_ready_t out;
	hint_ready(&w->h, &out);
	assert_int_equal(out.scan_count, 1);
	uint8_t ok[KMAX], hk[KMAX];
	size_t hl = hkey(hk, "n1", ok, okey(ok, 2, 9));
	assert_int_equal(out.scans[0].after_len, hl);
	assert_memory_equal(out.scans[0].after, hk, hl);
	hint_advance(&w->h);
	run_scan(w, &out.scans[0]);
	for (int t = 0; t < 20 && hints_of(w, "n1") > 0; t++) {
		turn(w);
		deliver(w);
	}
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	for (size_t i = 0; i < w->peer[0].n; i++)
		assert_true(w->peer[0].a[i].recv >= 1);
	assert_int_equal(w->peer[0].n, 45);
	world_free(w);
}

static void test_hint_throttle_never_exceeds_budget(void **state)
{
	const uint64_t rate = 20000, burst = 3000;
	handoff_bucket_t b;
	hint_config_t cfg;
	world_t *w;

	(void)state;
	handoff_bucket_init(&b, rate, burst);
	hint_config_default(&cfg);
	cfg.batch_keys_max = 4;
	cfg.batch_bytes_max = 2000;
	cfg.bucket = &b;
	w = world_new(&cfg);
	for (int i = 0; i < 200; i++)
		write_hinted(w, i % 2 ? "n1" : "n2", 1, i, 500, 3);
	OK(hint_primary_up(&w->h, w->now, "n1"));
	OK(hint_primary_up(&w->h, w->now, "n2"));
	for (int t = 0; t < 10000 && w->hints.n > 0; t++) {
		hint_ready_t out;

		turn(w);
		deliver(w);
		turn(w);
		hint_ready(&w->h, &out);
		hint_advance(&w->h);
		/* sleep until the deadline, or a little */
		if (out.next_deadline_ms != HANDOFF_NO_DEADLINE &&
		    out.next_deadline_ms > w->now)
			w->now = out.next_deadline_ms;
		else
			w->now += 1;
	}
	assert_int_equal(w->hints.n, 0);
	/* every window [t_i, t_j]: bytes <= burst + rate * dt */
	uint64_t total = 0;
	for (size_t i = 0; i < w->sends; i++) {
		uint64_t sum = 0;

		total += w->send_b[i];
		for (size_t j = i; j < w->sends; j++) {
			sum += w->send_b[j];
			assert_true(sum <=
			            burst + rate *
			                        (w->send_t[j] - w->send_t[i]) /
			                        1000);
		}
	}
	/* and the budget was used: the run took about total / rate */
	uint64_t took = w->send_t[w->sends - 1] - w->send_t[0];
	assert_true(took * rate / 1000 + burst >= total);
	assert_true(took <= (total * 1000 / rate) * 12 / 10 + 100);
	world_free(w);
}

static const char *owner_by_part(uint16_t part)
{
	switch (part % 3) {
	case 0: return "n2";
	case 1: return "n3";
	default: return "me"; /* this node owns it now */
	}
}

static void test_hint_left_primary_hints_go_to_current_owners(void **state)
{
	hint_config_t cfg;
	world_t *w;
	hint_stats_t st;

	(void)state;
	hint_config_default(&cfg);
	cfg.batch_keys_max = 5;
	w = world_new(&cfg);
	w->owner = owner_by_part;
	for (int i = 0; i < 60; i++)
		write_hinted(w, "n1", (uint16_t)(i % 6), i, 30, 5);
	OK(hint_primary_left(&w->h, w->now, "n1"));
	for (int t = 0; t < 100 && hints_of(w, "n1") > 0; t++) {
		turn(w);
		deliver(w);
	}
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	assert_int_equal(w->peer[0].n, 0); /* nothing to the left node */
	assert_int_equal(w->peer[1].n, 20);
	assert_int_equal(w->peer[2].n, 20);
	for (size_t i = 0; i < w->peer[1].n; i++)
		assert_int_equal(w->peer[1].a[i].k[1] % 3, 0);
	for (size_t i = 0; i < w->peer[2].n; i++)
		assert_int_equal(w->peer[2].a[i].k[1] % 3, 1);
	hint_stats(&w->h, &st);
	assert_int_equal(st.replayed, 60);
	assert_int_equal(st.redirected, 40);
	world_free(w);
}

static const char *owner_none(uint16_t part)
{
	(void)part;
	return NULL;
}

static void test_hint_left_primary_without_owner_backs_off(void **state)
{
	world_t *w = world_new(NULL);

	(void)state;
	w->owner = owner_none;
	write_hinted(w, "n1", 1, 1, 30, 5);
	OK(hint_primary_left(&w->h, w->now, "n1"));
	assert_int_equal(turn(w), 0);
	hint_dest_info_t di;
	hint_dests(&w->h, &di, 1);
	assert_int_equal(di.state, HINT_DEST_BACKOFF);
	w->owner = owner_by_part; /* partition 1: n3 */
	w->now += HINT_ACK_TIMEOUT_MS_DEFAULT;
	assert_int_equal(turn(w), 1);
	deliver(w);
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	assert_int_equal(w->peer[2].n, 1);
	world_free(w);
}

static void test_hint_changed_object_keeps_hint_for_next_pass(void **state)
{
	world_t *w = world_new(NULL);

	(void)state;
	for (int i = 0; i < 5; i++)
		write_hinted(w, "n1", 1, i, 30, 1);
	OK(hint_primary_up(&w->h, w->now, "n1"));
	assert_int_equal(turn(w), 1);
	/* a newer write of key 3 lands here while the batch is in flight */
	write_hinted(w, "n1", 1, 3, 50, 2);
	deliver(w);
	turn(w);
	deliver(w);
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	uint8_t ok[KMAX];
	kv_t *o = sp_get(&w->peer[0], ok, okey(ok, 1, 3));
	assert_non_null(o);
	assert_int_equal(o->vlen, 50); /* the newer object arrived */
	assert_int_equal(o->recv, 2);
	world_free(w);
}

static void test_hint_missing_object_is_deleted_without_send(void **state)
{
	world_t *w = world_new(NULL);
	uint8_t ok[KMAX];

	(void)state;
	for (int i = 0; i < 3; i++)
		write_hinted(w, "n1", 1, i, 30, 1);
	sp_del(&w->objects, ok, okey(ok, 1, 1));
	OK(hint_primary_up(&w->h, w->now, "n1"));
	assert_int_equal(turn(w), 1);
	deliver(w);
	turn(w);
	assert_int_equal(hints_of(w, "n1"), 0);
	assert_int_equal(w->peer[0].n, 2);
	world_free(w);
}

static void test_hint_dest_table_is_bounded(void **state)
{
	hint_config_t cfg;
	world_t *w;
	char name[16];

	(void)state;
	hint_config_default(&cfg);
	cfg.dests_max = 2;
	w = world_new(&cfg);
	OK(hint_set_pending(&w->h, w->now, "a", 3));
	OK(hint_set_pending(&w->h, w->now, "b", 3));
	OK(hint_primary_up(&w->h, w->now, "a"));
	/* "b" is down and idle: its slot is reused; "a" is busy */
	OK(hint_primary_up(&w->h, w->now, "c"));
	assert_int_equal(hint_primary_up(&w->h, w->now, "d"), SH_EFULL);
	hint_stats_t st;
	hint_stats(&w->h, &st);
	assert_int_equal(st.dests_full, 1);
	hint_primary_down(&w->h, w->now, "a");
	snprintf(name, sizeof(name), "d");
	OK(hint_primary_up(&w->h, w->now, name));
	assert_int_equal(hint_dests(&w->h, NULL, 0), 2);
	assert_int_equal(hint_primary_up(&w->h, w->now, ""), SH_EINVAL);
	world_free(w);
}

static void test_hint_bucket_bounds_every_window(void **state)
{
	sh_rand_t rng;

	(void)state;
	sh_rand_seed(&rng, g_seed);
	for (int run = 0; run < 50; run++) {
		uint64_t rate = 1 + sh_rand_below(&rng, 100000);
		uint64_t burst = 1 + sh_rand_below(&rng, 50000);
		uint64_t t[400], bytes[400], now = sh_rand_below(&rng, 1000);
		size_t n = 0;
		handoff_bucket_t b;

		handoff_bucket_init(&b, rate, burst);
		for (int i = 0; i < 2000 && n < 400; i++) {
			uint64_t want = 1 + sh_rand_below(&rng, burst);
			uint64_t when = handoff_bucket_when(&b, now, want);

			assert_true(when >= now);
			if (handoff_bucket_take(&b, now, want)) {
				assert_int_equal(when, now);
				t[n] = now;
				bytes[n++] = want;
			} else {
				assert_true(when > now);
			}
			now += sh_rand_below(&rng, 30);
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t sum = 0;

			for (size_t j = i; j < n; j++) {
				sum += bytes[j];
				assert_true(
				    sum <=
				    burst + rate * (t[j] - t[i]) / 1000 + 1);
			}
		}
	}
}

/* ---- codec ---- */

static void expect_reject(const uint8_t *p, size_t len)
{
	static handoff_wire_msg_t m;

	assert_true(handoff_wire_decode(p, len, VMAX, &m) < 0);
}

static void test_hint_codec_rejects_truncation_and_corruption(void **state)
{
	static handoff_wire_msg_t m;
	world_t *w = world_new(NULL);
	sh_rand_t rng;
	sh_buf_t ack = {0};

	(void)state;
	for (int i = 0; i < 6; i++)
		write_hinted(w, "n1", 1, i, 20, 4);
	OK(hint_primary_up(&w->h, w->now, "n1"));
	assert_int_equal(turn(w), 1);
	qmsg_t *q = &w->q[0];
	OK(handoff_wire_decode(q->data, q->len, VMAX, &m));
	assert_int_equal(m.count, 6);
	assert_int_equal(m.primary_len, 2);
	assert_int_equal(handoff_wire_type(q->data, q->len),
	                 HANDOFF_WIRE_HINT_BATCH);
	/* a record over the limit */
	assert_int_equal(handoff_wire_decode(q->data, q->len, 19, &m),
	                 SH_ETOOBIG);
	/* every truncation */
	for (size_t len = 0; len < q->len; len++)
		expect_reject(q->data, len);
	OK(handoff_wire_ack(&ack, HANDOFF_WIRE_HINT_ACK, 7, SH_EFULL));
	for (size_t len = 0; len < ack.len; len++) {
		expect_reject(ack.data, len);
		assert_true(hint_recv(&w->h, w->now, "n1", ack.data, len) < 0);
	}
	OK(handoff_wire_decode(ack.data, ack.len, 1, &m));
	assert_int_equal(m.status, SH_EFULL);
	assert_int_equal(m.id, 7);
	/* trailing bytes */
	sh_buf_append_u8(&ack, 0);
	expect_reject(ack.data, ack.len);
	assert_int_equal(handoff_wire_ack(&ack, HANDOFF_WIRE_BATCH, 1, 0),
	                 SH_EINVAL);
	assert_int_equal(handoff_wire_ack(&ack, HANDOFF_WIRE_ACK, 1, 3),
	                 SH_EINVAL);
	/* random corruption: never a crash; what decodes is in bounds */
	sh_rand_seed(&rng, g_seed);
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
		for (size_t j = 0; j < m.count; j++) {
			assert_true(m.entries[j].okey >= buf &&
			            m.entries[j].okey + m.entries[j].okey_len <=
			                buf + q->len);
			assert_true(m.entries[j].record +
			                m.entries[j].record_len <=
			            buf + q->len);
		}
	}
	free(buf);
	/* garbage */
	for (int run = 0; run < 20000; run++) {
		uint8_t g[64];
		size_t len = sh_rand_below(&rng, sizeof(g));

		for (size_t j = 0; j < len; j++)
			g[j] = (uint8_t)sh_rand_u64(&rng);
		(void)handoff_wire_decode(g, len, VMAX, &m);
		(void)handoff_wire_type(g, len);
	}
	assert_int_equal(handoff_wire_decode(NULL, 0, VMAX, &m), SH_ETRUNC);
	sh_buf_free(&ack);
	world_free(w);
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");

	if (env != NULL)
		g_seed = strtoull(env, NULL, 10);
	printf("test_hint seed %" PRIu64
	       " (replay with SHOAL_TEST_SEED=%" PRIu64 ")\n",
	       g_seed, g_seed);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_hint_replays_each_hint_once_and_deletes_after_ack),
	    cmocka_unit_test(test_hint_lost_ack_is_retried_after_timeout),
	    cmocka_unit_test(test_hint_down_pauses_and_resumes_from_cursor),
	    cmocka_unit_test(test_hint_throttle_never_exceeds_budget),
	    cmocka_unit_test(test_hint_left_primary_hints_go_to_current_owners),
	    cmocka_unit_test(test_hint_left_primary_without_owner_backs_off),
	    cmocka_unit_test(test_hint_changed_object_keeps_hint_for_next_pass),
	    cmocka_unit_test(test_hint_missing_object_is_deleted_without_send),
	    cmocka_unit_test(test_hint_dest_table_is_bounded),
	    cmocka_unit_test(test_hint_bucket_bounds_every_window),
	    cmocka_unit_test(test_hint_codec_rejects_truncation_and_corruption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
