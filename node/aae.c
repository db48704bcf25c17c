/*
 * aae.c - the anti-entropy driver (node/aae.h): trees per replicated
 * partition kept by the store tap's hooks, ownership from the ring,
 * rebuilds in bounded batches, the schedule of exchanges, outputs and
 * figures. The exchanges themselves are in aae_xchg.c, the messages in
 * aae_wire.c.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/aae_int.h"

void aae_config_default(aae_config_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->segments = MERKLE_SEGMENTS_DEFAULT;
	cfg->fanout = MERKLE_FANOUT_DEFAULT;
	cfg->interval_ms = AAE_INTERVAL_MS_DEFAULT;
	cfg->scan_keys_per_tick = AAE_SCAN_KEYS_DEFAULT;
	cfg->timeout_ms = AAE_TIMEOUT_MS_DEFAULT;
	cfg->responders_max = AAE_RESPONDERS_DEFAULT;
	cfg->repair_keys_per_msg = AAE_REPAIR_KEYS_DEFAULT;
	cfg->repair_bytes_per_msg = AAE_REPAIR_BYTES_DEFAULT;
}

uint64_t aae_record_hash(const uint8_t *rec, size_t len)
{
	return len == 0 ? 0 : XXH3_64bits(rec + 1, len - 1);
}

static int aae__cfg_ok(const aae_config_t *c)
{
	return c->self != NULL && c->self[0] != '\0' &&
	       strlen(c->self) <= COORD_NAME_MAX && c->interval_ms > 0 &&
	       c->scan_keys_per_tick > 0 && c->timeout_ms > 0 &&
	       c->responders_max >= 1 &&
	       c->responders_max <= AAE_RESPONDERS_MAX &&
	       c->repair_keys_per_msg >= 1 &&
	       c->repair_keys_per_msg <= AAE_REPAIR_KEYS_MAX &&
	       c->repair_bytes_per_msg > 0;
}

int aae_init(aae_t *a, const aae_config_t *cfg, coord_t *coord, store_t *store)
{
	memset(a, 0, sizeof *a);
	a->rebuild_part = UINT32_MAX;
	if (!aae__cfg_ok(cfg))
		return SH_EINVAL;
	merkle_config_t mc;
	merkle_config_default(&mc);
	mc.segments = cfg->segments;
	mc.fanout = cfg->fanout;
	merkle_t probe;
	if (merkle_init(&probe, &mc) != SH_OK) /* geometry checked once */
		return SH_EINVAL;
	merkle_free(&probe);
	a->cfg = *cfg;
	snprintf(a->self, sizeof a->self, "%s", cfg->self);
	a->cfg.self = a->self;
	a->coord = coord;
	a->store = store;
	a->rng = cfg->seed ^ 0x5eed5eedULL;
	a->partitions = ring_partitions(coord_ring(coord));
	a->parts = calloc(a->partitions, sizeof *a->parts);
	a->resp = calloc(cfg->responders_max, sizeof *a->resp);
	if (a->parts == NULL || a->resp == NULL) {
		aae_free(a);
		return SH_ENOMEM;
	}
	return SH_OK;
}

/* Every change of a tree's rebuild_due goes through here, to keep the
 * count. */
static void aae__rebuild_mark(aae_t *a, aae_part_t *pt, int due)
{
	if (pt->rebuild_due == due)
		return;
	pt->rebuild_due = due;
	if (due)
		a->rebuilds_due++;
	else
		a->rebuilds_due--;
	sh_assert(a->rebuilds_due <= a->partitions);
}

static void aae__part_drop(aae_t *a, uint32_t p)
{
	aae_part_t *pt = a->parts[p];
	if (pt == NULL)
		return;
	if (a->ini != NULL && a->ini->partition == p) {
		aae__side_free(a, a->ini);
		a->ini = NULL;
	}
	for (uint32_t i = 0; i < a->cfg.responders_max; i++)
		if (a->resp[i] != NULL && a->resp[i]->partition == p) {
			aae__side_free(a, a->resp[i]);
			a->resp[i] = NULL;
		}
	if (a->rebuild_part == p)
		a->rebuild_part = UINT32_MAX;
	aae__rebuild_mark(a, pt, 0);
	merkle_free(&pt->tree);
	free(pt);
	a->parts[p] = NULL;
}

void aae_free(aae_t *a)
{
	for (uint32_t p = 0; a->parts != NULL && p < a->partitions; p++)
		aae__part_drop(a, p);
	if (a->ini != NULL)
		aae__side_free(a, a->ini);
	for (uint32_t i = 0; a->resp != NULL && i < a->cfg.responders_max; i++)
		if (a->resp[i] != NULL)
			aae__side_free(a, a->resp[i]);
	free(a->parts);
	free(a->resp);
	free(a->outs);
	free(a->out_off);
	free(a->out_to);
	sh_buf_free(&a->out_bytes);
	sh_buf_free(&a->scratch);
	memset(a, 0, sizeof *a);
}

aae_part_t *aae__part(aae_t *a, uint32_t p)
{
	return p < a->partitions ? a->parts[p] : NULL;
}

int aae__obj_key(aae_t *a, const uint8_t *b, size_t blen, const uint8_t *k,
                 size_t klen, store_key_t *out)
{
	const ring_t *r = coord_ring(a->coord);
	uint32_t p = ring_partition(r, ring_key_hash(b, blen, k, klen));
	return store_key_object(out, (uint16_t)p, b, blen, k, klen);
}

/* ---- the store tap's hooks ---- */

static void aae__on_write(void *arg, const store_key_t *k,
                          const uint64_t *old_hash, const uint64_t *new_hash)
{
	aae_t *a = arg;
	store_key_parts_t kp;
	if (store_key_parse(STORE_OBJECTS, k->bytes, k->len, &kp) != SH_OK)
		return;
	aae_part_t *pt = aae__part(a, kp.partition);
	if (pt == NULL)
		return;
	if (merkle_update(&pt->tree, kp.bucket, kp.bucket_len, kp.key,
	                  kp.key_len, old_hash, new_hash) == SH_OK)
		a->stats.tree_updates++;
	else
		aae__rebuild_mark(a, pt, 1); /* not where the tree thinks */
}

static void aae__on_stale(void *arg, uint16_t partition)
{
	aae_t *a = arg;
	aae_part_t *pt = aae__part(a, partition);
	if (pt != NULL)
		aae__rebuild_mark(a, pt, 1);
}

/* A batch that did not commit: the writes the trees saw never happened.
 * Rare (a full disk, an IO error): every tree is rebuilt. */
static void aae__on_batch_end(void *arg, int committed)
{
	aae_t *a = arg;
	for (uint32_t p = 0; !committed && p < a->partitions; p++)
		if (a->parts[p] != NULL)
			aae__rebuild_mark(a, a->parts[p], 1);
}

void aae_tap_hooks(aae_t *a, store_tap_hooks_t *h)
{
	memset(h, 0, sizeof *h);
	h->hash = aae_record_hash;
	h->write = aae__on_write;
	h->stale = aae__on_stale;
	h->batch_end = aae__on_batch_end;
	h->arg = a;
}

/* ---- ownership ---- */

static int aae__owns(aae_t *a, const ring_t *r, uint32_t p, int self)
{
	uint32_t own[RING_N_MAX];
	unsigned n = ring_owners(r, p, ring_n_replicas(r), own);
	for (unsigned i = 0; i < n; i++)
		if ((int)own[i] == self)
			return 1;
	(void)a;
	return 0;
}

static void aae__part_add(aae_t *a, uint32_t p)
{
	merkle_config_t mc;
	merkle_config_default(&mc);
	mc.segments = a->cfg.segments;
	mc.fanout = a->cfg.fanout;
	mc.partition = p;
	mc.partition_bits = 0;
	while ((1u << mc.partition_bits) < a->partitions)
		mc.partition_bits++;
	aae_part_t *pt = calloc(1, sizeof *pt);
	if (pt == NULL)
		return; /* tried again at the next refresh */
	if (merkle_init(&pt->tree, &mc) != SH_OK) {
		free(pt);
		return;
	}
	a->parts[p] = pt;
	aae__rebuild_mark(a, pt, 1);
}

static void aae__refresh(aae_t *a)
{
	const ring_t *r = coord_ring(a->coord);
	int self = ring_member_find(r, a->self);
	for (uint32_t p = 0; p < a->partitions; p++) {
		int owns = self >= 0 && aae__owns(a, r, p, self);
		if (owns && a->parts[p] == NULL)
			aae__part_add(a, p);
		else if (!owns && a->parts[p] != NULL)
			aae__part_drop(a, p);
	}
}

/* ---- rebuilds ---- */

typedef struct aae__rb {
	merkle_t *t;
	uint32_t seen;
} aae__rb_t;

static int aae__rebuild_cb(void *arg, const store_entry_t *e)
{
	aae__rb_t *rb = arg;
	rb->seen++;
	/* a key out of the tree's order (LMDB's long keys) stays out of it:
	 * the exchanges then repair it every time, harmlessly */
	merkle_rebuild_add(rb->t, e->parts.bucket, e->parts.bucket_len,
	                   e->parts.key, e->parts.key_len,
	                   aae_record_hash(e->val, e->val_len));
	return SH_OK;
}

/* Pick the next tree to rebuild, if none is under way. */
static void aae__rebuild_pick(aae_t *a)
{
	if (a->rebuild_part != UINT32_MAX || a->rebuilds_due == 0)
		return;
	for (uint32_t p = 0; p < a->partitions; p++) {
		aae_part_t *pt = a->parts[p];
		if (pt == NULL || !pt->rebuild_due)
			continue;
		if (merkle_rebuild_start(&pt->tree) != SH_OK)
			return;
		aae__rebuild_mark(a, pt, 0);
		a->rebuild_part = p;
		store_cursor_init(&a->rebuild_cursor);
		return;
	}
}

/* One bounded batch of the rebuild; half the tick's keys when an
 * exchange scans too, so that neither starves. */
static void aae__rebuild_step(aae_t *a)
{
	aae__rebuild_pick(a);
	if (a->rebuild_part == UINT32_MAX || a->budget == 0)
		return;
	aae_part_t *pt = a->parts[a->rebuild_part];
	aae__rb_t rb = {.t = &pt->tree, .seen = 0};
	int shared = (a->ini != NULL && a->ini->scanning);
	for (uint32_t i = 0; i < a->cfg.responders_max; i++)
		shared |= a->resp[i] != NULL && a->resp[i]->scanning;
	uint32_t limit = shared && a->budget > 1 ? a->budget / 2 : a->budget;
	store_cursor_t *c = &a->rebuild_cursor;
	int rc = store_scan_partition(a->store, (uint16_t)a->rebuild_part, c,
	                              limit, aae__rebuild_cb, &rb);
	a->budget -= rb.seen < a->budget ? rb.seen : a->budget;
	a->stats.rebuild_keys += rb.seen;
	if (rc != SH_OK) {
		merkle_rebuild_cancel(rb.t);
		aae__rebuild_mark(a, pt, 1);
		a->rebuild_part = UINT32_MAX;
		return;
	}
	if (c->done) {
		merkle_rebuild_finish(rb.t);
		a->stats.rebuilds++;
		a->rebuild_part = UINT32_MAX;
	}
}

/* ---- outputs ---- */

void aae__emit(aae_t *a, const char *to, size_t mark)
{
	if (a->out_bytes.len <= mark)
		return;
	if (a->out_n == a->out_cap) {
		size_t cap = a->out_cap ? a->out_cap * 2 : 16;
		aae_out_t *o = realloc(a->outs, cap * sizeof *o);
		if (o != NULL)
			a->outs = o;
		size_t *off = realloc(a->out_off, cap * sizeof *off);
		if (off != NULL)
			a->out_off = off;
		char(*t)[COORD_NAME_MAX + 1] =
		    realloc(a->out_to, cap * sizeof *t);
		if (t != NULL)
			a->out_to = t;
		if (o == NULL || off == NULL || t == NULL) {
			a->out_bytes.len =
			    mark; /* dropped: the peer times out */
			return;
		}
		a->out_cap = cap;
	}
	a->out_off[a->out_n] = mark;
	snprintf(a->out_to[a->out_n], sizeof a->out_to[0], "%s", to);
	a->out_n++;
	a->stats.msgs_sent++;
	a->stats.bytes_sent += a->out_bytes.len - mark;
}

void aae_ready(aae_t *a, aae_ready_t *out)
{
	for (size_t i = 0; i < a->out_n; i++) {
		size_t end =
		    i + 1 < a->out_n ? a->out_off[i + 1] : a->out_bytes.len;
		a->outs[i].to = a->out_to[i];
		a->outs[i].data = a->out_bytes.data + a->out_off[i];
		a->outs[i].len = end - a->out_off[i];
	}
	out->msgs = a->outs;
	out->msg_count = a->out_n;
	/* the next exchange starts only after the running one: its own
	 * deadline counts meanwhile, not a start time already past (the
	 * shell would wake at once, every turn, until it ends) */
	uint64_t due = a->ini == NULL ? a->next_exchange_ms : AAE_NO_DEADLINE;
	if (a->next_refresh_ms < due)
		due = a->next_refresh_ms;
	for (uint32_t i = 0; i <= a->cfg.responders_max; i++) {
		const aae_side_t *s =
		    i < a->cfg.responders_max ? a->resp[i] : a->ini;
		uint64_t d = s != NULL
		                 ? aae__side_deadline(s, a->cfg.timeout_ms)
		                 : AAE_NO_DEADLINE;
		if (d < due)
			due = d;
	}
	if (aae_busy(a))
		due = a->now_ms; /* bounded work left: come back at once */
	out->next_deadline_ms = due;
}

void aae__buf_trim(sh_buf_t *b)
{
	if (b->cap > AAE__BUF_KEEP_BYTES)
		sh_buf_free(b);
	else
		sh_buf_reset(b);
}

void aae_advance(aae_t *a)
{
	a->out_n = 0;
	aae__buf_trim(&a->out_bytes);
}

/* ---- the tick ---- */

static void aae__schedule(aae_t *a, uint64_t now_ms)
{
	if (a->ini != NULL || now_ms < a->next_exchange_ms)
		return;
	a->next_exchange_ms = now_ms + a->cfg.interval_ms;
	const ring_t *r = coord_ring(a->coord);
	for (uint32_t i = 0; i < a->partitions; i++) {
		uint32_t p = (a->next_part + i) % a->partitions;
		aae_part_t *pt = a->parts[p];
		if (pt == NULL || !merkle_is_built(&pt->tree))
			continue;
		uint32_t own[RING_N_MAX];
		const char *peers[RING_N_MAX];
		unsigned n = ring_owners(r, p, ring_n_replicas(r), own), k = 0;
		for (unsigned j = 0; j < n; j++) {
			const char *name = ring_member_name(r, own[j]);
			if (name != NULL && strcmp(name, a->self) != 0 &&
			    coord_member_is_up(a->coord, name))
				peers[k++] = name;
		}
		if (k == 0)
			continue;
		const char *peer = peers[pt->peer_turn++ % k];
		a->next_part = p + 1;
		aae__start(a, now_ms, p, peer);
		return;
	}
}

static void aae__sides_tick(aae_t *a, uint64_t now_ms)
{
	if (a->ini != NULL) {
		aae__side_tick(a, a->ini, now_ms);
		if (aae__side_done(a->ini)) {
			aae__side_free(a, a->ini);
			a->ini = NULL;
		}
	}
	for (uint32_t i = 0; i < a->cfg.responders_max; i++) {
		aae_side_t *s = a->resp[i];
		if (s == NULL)
			continue;
		aae__side_tick(a, s, now_ms);
		if (aae__side_done(s)) {
			aae__side_free(a, s);
			a->resp[i] = NULL;
		}
	}
}

void aae_tick(aae_t *a, uint64_t now_ms)
{
	a->now_ms = now_ms;
	if (now_ms >= a->next_refresh_ms) {
		aae__refresh(a);
		a->next_refresh_ms = now_ms + AAE_REFRESH_MS;
	}
	a->budget = a->cfg.scan_keys_per_tick;
	aae__rebuild_step(a);
	aae__sides_tick(a, now_ms);
	aae__schedule(a, now_ms);
}

int aae_recv(aae_t *a, uint64_t now_ms, const char *from, const uint8_t *data,
             size_t len)
{
	aae__msg_t m;
	a->now_ms = now_ms;
	a->stats.msgs_received++;
	a->stats.bytes_received += len;
	int rc = aae__decode(data, len, &m);
	if (rc == SH_OK) {
		switch (m.type) {
		case AAE_MSG_MERKLE:
			rc = aae__recv_merkle(a, now_ms, from, &m);
			break;
		case AAE_MSG_REFUSE:
			rc = aae__recv_refuse(a, now_ms, from, &m);
			break;
		case AAE_MSG_REPAIR:
			rc = aae__recv_repair(a, now_ms, from, &m);
			break;
		default: rc = aae__recv_reply(a, now_ms, from, &m); break;
		}
	}
	if (rc != SH_OK)
		a->stats.msgs_rejected++;
	return rc;
}

/* ---- figures ---- */

const aae_stats_t *aae_stats(const aae_t *a)
{
	aae_stats_t *s = (aae_stats_t *)&a->stats;
	s->trees = s->trees_built = 0;
	for (uint32_t p = 0; p < a->partitions; p++) {
		if (a->parts[p] == NULL)
			continue;
		s->trees++;
		s->trees_built += merkle_is_built(&a->parts[p]->tree) != 0;
	}
	return s;
}

void aae_merkle_stats(const aae_t *a, merkle_stats_t *out)
{
	*out = a->msum;
}

int aae_partition_info(const aae_t *a, uint32_t p, int *owned, int *built,
                       uint64_t *keys, aae_last_t *last)
{
	if (p >= a->partitions)
		return SH_ERANGE;
	const aae_part_t *pt = a->parts[p];
	*owned = pt != NULL;
	*built = pt != NULL && merkle_is_built(&pt->tree);
	*keys = pt != NULL ? merkle_keys(&pt->tree) : 0;
	if (pt != NULL)
		*last = pt->last;
	else
		memset(last, 0, sizeof *last);
	return SH_OK;
}

int aae_busy(const aae_t *a)
{
	if (a->rebuild_part != UINT32_MAX || a->rebuilds_due > 0)
		return 1;
	if (a->ini != NULL && aae__side_busy(a->ini))
		return 1;
	for (uint32_t i = 0; i < a->cfg.responders_max; i++)
		if (a->resp[i] != NULL && aae__side_busy(a->resp[i]))
			return 1;
	return 0;
}
