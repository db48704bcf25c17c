/*
 * reap.c - the tombstone reaper (reap.h): the pass over the objects
 * keyspace, the choice of the tombstones to check, the exchange with the
 * other primaries and the conditional deletes. The wire format is in
 * reap.h and reap_wire.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/reap_int.h"

void reap_config_default(reap_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n = 3;
	cfg->grace_ms = (uint64_t)REAP_GRACE_S_DEFAULT * 1000;
	cfg->pass_interval_ms = REAP_PASS_INTERVAL_MS_DEFAULT;
	cfg->scan_keys_max = REAP_SCAN_KEYS_DEFAULT;
	cfg->inflight_max = REAP_INFLIGHT_DEFAULT;
	cfg->check_timeout_ms = REAP_CHECK_TIMEOUT_MS_DEFAULT;
}

int reap_init(reap_t *r, const reap_config_t *cfg, coord_t *c, store_t *s)
{
	memset(r, 0, sizeof(*r));
	if (cfg->self == NULL || cfg->self[0] == '\0' ||
	    strlen(cfg->self) > COORD_NAME_MAX || cfg->n < 1 ||
	    cfg->n > COORD_N_MAX || cfg->scan_keys_max == 0 ||
	    cfg->inflight_max == 0 || cfg->inflight_max > REAP_INFLIGHT_MAX ||
	    cfg->check_timeout_ms == 0)
		return SH_EINVAL;
	r->cfg = *cfg;
	memcpy(r->self, cfg->self, strlen(cfg->self) + 1);
	r->cfg.self = r->self;
	r->coord = c;
	r->store = s;
	r->cands = calloc(cfg->inflight_max, sizeof(*r->cands));
	if (r->cands == NULL)
		return SH_ENOMEM;
	return SH_OK;
}

void reap_free(reap_t *r)
{
	size_t i;

	for (i = 0; i < r->msg_cap; i++)
		sh_buf_free(&r->bufs[i]);
	free(r->bufs);
	free(r->msgs);
	free(r->to);
	free(r->cands);
	memset(r, 0, sizeof(*r));
}

const reap_stats_t *reap_stats(const reap_t *r)
{
	return &r->stats;
}

/* ---- outputs ---- */

sh_buf_t *reap__msg_new(reap_t *r, const char *to)
{
	if (r->msg_count == r->msg_cap) {
		size_t cap = r->msg_cap ? 2 * r->msg_cap : 16;
		sh_buf_t *b = realloc(r->bufs, cap * sizeof(*b));
		if (b == NULL)
			return NULL;
		r->bufs = b;
		memset(b + r->msg_cap, 0, (cap - r->msg_cap) * sizeof(*b));
		reap_msg_t *m = realloc(r->msgs, cap * sizeof(*m));
		if (m == NULL)
			return NULL;
		r->msgs = m;
		char(*t)[COORD_NAME_MAX + 1] = realloc(r->to, cap * sizeof(*t));
		if (t == NULL)
			return NULL;
		r->to = t;
		r->msg_cap = cap;
	}
	snprintf(r->to[r->msg_count], sizeof(r->to[0]), "%s", to);
	sh_buf_reset(&r->bufs[r->msg_count]);
	return &r->bufs[r->msg_count++];
}

void reap_ready(reap_t *r, reap_ready_t *out)
{
	size_t i;

	for (i = 0; i < r->msg_count; i++) {
		r->msgs[i].to = r->to[i];
		r->msgs[i].data = r->bufs[i].data;
		r->msgs[i].len = r->bufs[i].len;
	}
	out->msgs = r->msgs;
	out->msg_count = r->msg_count;
	out->next_deadline_ms = r->passing ? 0 : r->next_pass_ms;
	/* called every loop turn: visit the slots only up to the last
	 * check in flight (usually none) */
	size_t seen = 0;
	for (i = 0; seen < r->cand_count && i < r->cfg.inflight_max; i++) {
		if (r->cands[i].id == 0)
			continue;
		seen++;
		if (r->cands[i].deadline_ms < out->next_deadline_ms)
			out->next_deadline_ms = r->cands[i].deadline_ms;
	}
}

void reap_advance(reap_t *r)
{
	r->msg_count = 0;
}

/* ---- the local copy ---- */

int reap__okey(store_key_t *k, const uint8_t *okey, size_t okey_len,
               store_key_parts_t *parts)
{
	if (okey_len == 0 || okey_len > STORE_OBJ_KEY_BYTES_MAX ||
	    store_key_parse(STORE_OBJECTS, okey, okey_len, parts) != 0)
		return SH_EMALFORMED;
	k->space = STORE_OBJECTS;
	k->len = okey_len;
	memcpy(k->bytes, okey, okey_len);
	/* parts must point into the key we keep */
	return store_key_parse(STORE_OBJECTS, k->bytes, k->len, parts);
}

/* 1 if obj (a decoded record) is a kv tombstone */
static int is_tombstone(const coord_obj_t *obj)
{
	return obj->kind == COORD_KIND_KV && dvv_is_deleted(&obj->kv);
}

int reap__local(reap_t *r, const store_key_t *k, reap__copy_t *out)
{
	const uint8_t *val;
	size_t len;
	coord_obj_t obj;
	int err;

	memset(out, 0, sizeof(*out));
	err = store_get(r->store, k, &val, &len);
	if (err == SH_ENOTFOUND)
		return SH_OK;
	if (err != 0)
		return err;
	memset(&obj, 0, sizeof(obj));
	err = coord_obj_decode(&obj, val, len, NULL);
	if (err != 0)
		return err;
	out->present = 1;
	out->tombstone = is_tombstone(&obj);
	out->hash = coord_obj_hash(&obj);
	coord_obj_free(&obj);
	return SH_OK;
}

/* The key's primaries (n first owners, up or down) into pl. */
int reap__primaries(reap_t *r, const store_key_parts_t *p, ring_preflist_t *pl)
{
	return coord_preflist(r->coord, p->bucket, p->bucket_len, p->key,
	                      p->key_len, r->cfg.n, pl);
}

int reap__hinted(reap_t *r, const store_key_t *k, const store_key_parts_t *p)
{
	ring_preflist_t pl;
	store_key_t hk;
	const uint8_t *val;
	size_t len;
	unsigned i;
	int err;

	if (reap__primaries(r, p, &pl) != 0)
		return 0;
	for (i = 0; i < pl.n; i++) {
		const char *name = pl.entries[i].name;
		if (strcmp(name, r->self) == 0 ||
		    store_key_hint(&hk, name, strlen(name), k) != 0)
			continue;
		err = store_get(r->store, &hk, &val, &len);
		if (err != SH_ENOTFOUND)
			return 1; /* present, or unreadable: keep the key */
	}
	return 0;
}

int reap__delete_if(reap_t *r, const store_key_t *k, const store_key_parts_t *p,
                    uint64_t hash)
{
	reap__copy_t mine;
	int err = reap__local(r, k, &mine);

	if (err != 0) {
		r->stats.errors++;
		return 0;
	}
	if (!mine.present || !mine.tombstone || mine.hash != hash ||
	    reap__hinted(r, k, p))
		return 0;
	err = store_del(r->store, k);
	if (err != 0) {
		r->stats.errors++;
		return 0;
	}
	r->stats.reaped++;
	return 1;
}

/* ---- the exchange ---- */

void reap__cand_free(reap_t *r, reap__cand_t *cd)
{
	sh_assert(cd->id != 0 && r->cand_count > 0);
	cd->id = 0;
	r->cand_count--;
}

/* every primary agreed: delete here, then tell the others */
void reap__finish(reap_t *r, reap__cand_t *cd)
{
	store_key_t k;
	store_key_parts_t p;
	size_t i;

	if (reap__okey(&k, cd->okey, cd->okey_len, &p) != 0 ||
	    !reap__delete_if(r, &k, &p, cd->hash)) {
		r->stats.kept++; /* changed under us: keep it everywhere */
		reap__cand_free(r, cd);
		return;
	}
	for (i = 0; i < cd->peer_count; i++) {
		sh_buf_t *b = reap__msg_new(r, cd->peers[i]);
		if (b != NULL)
			reap__wire_delete(b, cd->okey, cd->okey_len, cd->hash);
	}
	reap__cand_free(r, cd);
}

/* a new candidate: check local hints, then ask the other primaries */
static void cand_start(reap_t *r, reap__cand_t *cd, uint64_t now_ms)
{
	store_key_t k;
	store_key_parts_t p;
	size_t i;

	if (reap__okey(&k, cd->okey, cd->okey_len, &p) != 0 ||
	    reap__hinted(r, &k, &p)) {
		r->stats.kept++;
		reap__cand_free(r, cd);
		return;
	}
	r->stats.checks++;
	if (cd->peer_count == 0) {
		reap__finish(r, cd);
		return;
	}
	cd->deadline_ms = now_ms + r->cfg.check_timeout_ms;
	cd->started = 1;
	for (i = 0; i < cd->peer_count; i++) {
		sh_buf_t *b = reap__msg_new(r, cd->peers[i]);
		if (b == NULL ||
		    reap__wire_check(b, cd->id, cd->okey, cd->okey_len) != 0) {
			r->stats.errors++;
			reap__cand_free(r, cd);
			return;
		}
	}
}

/* ---- the pass ---- */

typedef struct scan_ctx {
	reap_t *r;
	uint64_t wall_ms;
	size_t consumed;
	size_t bytes; /* record bytes decoded this tick */
} scan_ctx_t;

static reap__cand_t *cand_slot(reap_t *r)
{
	size_t i;

	for (i = 0; i < r->cfg.inflight_max; i++)
		if (r->cands[i].id == 0)
			return &r->cands[i];
	return NULL;
}

/* 1 if a check of this key is already in flight */
static int checking(const reap_t *r, const store_key_t *k)
{
	size_t i;

	for (i = 0; i < r->cfg.inflight_max; i++)
		if (r->cands[i].id != 0 && r->cands[i].okey_len == k->len &&
		    memcmp(r->cands[i].okey, k->bytes, k->len) == 0)
			return 1;
	return 0;
}

static uint64_t newest_ms(const dvv_t *obj)
{
	size_t i, count;
	const dvv_sibling_t *s = dvv_siblings(obj, &count);
	uint64_t ts = 0;

	for (i = 0; i < count; i++)
		if (s[i].timestamp_ms > ts)
			ts = s[i].timestamp_ms;
	return ts;
}

/* a tombstone past its grace: is it ours to drive, are its primaries up?
 * Fills the slot (peers, hash, key) and returns 1 when it is to check. */
static int choose(reap_t *r, const store_entry_t *e, const coord_obj_t *obj,
                  uint64_t age_ms, reap__cand_t *cd)
{
	ring_preflist_t pl;
	unsigned i;
	int self = -1;
	uint64_t grace2 =
	    r->cfg.grace_ms > UINT64_MAX / 2 ? UINT64_MAX : 2 * r->cfg.grace_ms;

	if (reap__primaries(r, &e->parts, &pl) != 0)
		return 0;
	for (i = 0; i < pl.n; i++)
		if (strcmp(pl.entries[i].name, r->self) == 0)
			self = (int)i;
	if (self < 0 || (self > 0 && age_ms < grace2))
		return 0; /* not a primary, or not the first one yet */
	cd->peer_count = 0;
	for (i = 0; i < pl.n; i++) {
		if (!pl.entries[i].is_up) {
			r->stats.kept++; /* a replica down: not now */
			return 0;
		}
		if ((int)i != self)
			snprintf(cd->peers[cd->peer_count++],
			         sizeof(cd->peers[0]), "%s",
			         pl.entries[i].name);
	}
	memset(cd->answered, 0, sizeof(cd->answered));
	cd->old = age_ms >= grace2;
	cd->hash = coord_obj_hash(obj);
	cd->okey_len = e->key->len;
	memcpy(cd->okey, e->key->bytes, e->key->len);
	return 1;
}

static int scan_cb(void *arg, const store_entry_t *e)
{
	scan_ctx_t *sc = arg;
	reap_t *r = sc->r;
	reap__cand_t *cd = cand_slot(r);
	coord_obj_t obj;
	uint64_t ts, age;

	if (cd == NULL)
		return SH_EFULL; /* stop before it: looked at again later */
	sc->consumed++;
	r->stats.scanned++;
	/* a tombstone holds no value bytes: a large record is not one, and
	 * decoding it would only cost the loop time */
	if (e->val_len > REAP_RECORD_BYTES_MAX)
		return 0;
	sc->bytes += e->val_len;
	memset(&obj, 0, sizeof(obj));
	if (coord_obj_decode(&obj, e->val, e->val_len, NULL) != 0)
		return sc->bytes >= REAP_TICK_BYTES_MAX ? STORE_SCAN_STOP : 0;
	if (is_tombstone(&obj)) {
		r->stats.tombstones++;
		ts = newest_ms(&obj.kv);
		age = sc->wall_ms > ts ? sc->wall_ms - ts : 0;
		if (age < r->cfg.grace_ms) {
			r->stats.young++;
		} else if (!checking(r, e->key) &&
		           choose(r, e, &obj, age, cd)) {
			cd->id = ++r->next_id;
			cd->started = 0;
			r->cand_count++;
		}
	}
	coord_obj_free(&obj);
	return sc->bytes >= REAP_TICK_BYTES_MAX ? STORE_SCAN_STOP : 0;
}

/* the pass ends when the last partition is done */
static void next_partition(reap_t *r, uint64_t now_ms)
{
	r->partition++;
	store_cursor_init(&r->cursor);
	if (r->partition < ring_partitions(coord_ring(r->coord)))
		return;
	r->passing = 0;
	r->stats.passes++;
	r->next_pass_ms = now_ms + r->cfg.pass_interval_ms;
}

static void scan(reap_t *r, uint64_t now_ms, uint64_t wall_ms)
{
	size_t budget = r->cfg.scan_keys_max, cost;
	scan_ctx_t sc;
	int err;

	sc.bytes = 0;

	if (!r->passing && now_ms >= r->next_pass_ms) {
		r->passing = 1;
		r->partition = 0;
		store_cursor_init(&r->cursor);
	}
	while (r->passing && budget > 0 && sc.bytes < REAP_TICK_BYTES_MAX &&
	       r->cand_count < r->cfg.inflight_max) {
		sc.r = r;
		sc.wall_ms = wall_ms;
		sc.consumed = 0;
		err = store_scan_partition(r->store, (uint16_t)r->partition,
		                           &r->cursor, budget, scan_cb, &sc);
		/* an empty partition costs one unit: the loop stays bounded */
		cost = sc.consumed ? sc.consumed : 1;
		budget = cost >= budget ? 0 : budget - cost;
		if (err == SH_EFULL)
			break; /* no free slot: go on from here next tick */
		if (err != 0) {
			r->stats.errors++;
			next_partition(r,
			               now_ms); /* skip what cannot be read */
		} else if (r->cursor.done) {
			next_partition(r, now_ms);
		}
	}
}

void reap_tick(reap_t *r, uint64_t now_ms, uint64_t wall_ms)
{
	size_t i;

	sh_assert(store_in_batch(r->store));
	for (i = 0; i < r->cfg.inflight_max; i++) {
		reap__cand_t *cd = &r->cands[i];
		if (cd->id != 0 && cd->started && now_ms >= cd->deadline_ms) {
			r->stats.timeouts++;
			reap__cand_free(r, cd);
		}
	}
	scan(r, now_ms, wall_ms);
	for (i = 0; i < r->cfg.inflight_max; i++)
		if (r->cands[i].id != 0 && !r->cands[i].started)
			cand_start(r, &r->cands[i], now_ms);
}
