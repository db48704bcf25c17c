/*
 * handoff.c - ownership handoff: moves (partition, receiver) planned from
 * ring changes or a graceful leave, each streamed as a resumable,
 * throttled, acknowledged stream of object batches, and the drop of a
 * partition once all its moves are acked and this node no longer owns it.
 * The rules are in handoff.h; the stream engine is handoff_stream.c.
 */
#include <stdlib.h>
#include <string.h>

#include "antientropy/handoff_int.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"

typedef struct handoff_move {
	uint64_t id;
	uint32_t partition;
	char to[HANDOFF_NAME_MAX + 1];
	int active;    /* holds one of the active_max slots */
	int peer_down; /* receiver down: paused */
	int dirty;     /* a write to the partition during this pass */
	int done;      /* every pass acked */
	uint32_t pass; /* 1-based */
	uint64_t keys_sent, bytes_sent;
	handoff__stream_t s;
} handoff_move_t;

void handoff_config_default(handoff_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->batch_keys_max = HANDOFF_BATCH_KEYS_DEFAULT;
	cfg->batch_bytes_max = HANDOFF_BATCH_BYTES_DEFAULT;
	cfg->ack_timeout_ms = HANDOFF_ACK_TIMEOUT_MS_DEFAULT;
	cfg->moves_max = HANDOFF_MOVES_DEFAULT;
	cfg->active_max = HANDOFF_ACTIVE_DEFAULT;
	cfg->drop_keys_max = HANDOFF_DROP_KEYS_DEFAULT;
	cfg->passes_max = HANDOFF_PASSES_DEFAULT;
}

int handoff_init(handoff_t *h, const handoff_config_t *cfg)
{
	memset(h, 0, sizeof(*h));
	if (cfg == NULL || handoff__name_copy(h->self, cfg->self) != 0)
		return SH_EINVAL;
	if (cfg->batch_keys_max == 0 ||
	    cfg->batch_keys_max > HANDOFF_WIRE_ENTRIES_MAX ||
	    cfg->batch_bytes_max == 0 || cfg->ack_timeout_ms == 0 ||
	    cfg->moves_max == 0 || cfg->moves_max > HANDOFF_MOVES_MAX ||
	    cfg->active_max == 0 || cfg->active_max > cfg->moves_max ||
	    cfg->drop_keys_max == 0 || cfg->passes_max == 0)
		return SH_EINVAL;
	h->cfg = *cfg;
	h->cfg.self = h->self;
	handoff_bucket_init(&h->own_bucket, cfg->bytes_per_s, 0);
	h->bucket = cfg->bucket != NULL ? cfg->bucket : &h->own_bucket;
	h->next_id = cfg->id_base;
	h->next_move = 1;
	h->scans = calloc(cfg->active_max, sizeof(*h->scans));
	h->msgs = calloc(cfg->active_max, sizeof(*h->msgs));
	if (h->scans == NULL || h->msgs == NULL) {
		handoff_free(h);
		return SH_ENOMEM;
	}
	return 0;
}

void handoff_free(handoff_t *h)
{
	for (size_t i = 0; i < h->move_count; i++)
		handoff__stream_free(&h->moves[i].s);
	free(h->moves);
	free(h->owned);
	free(h->dropping);
	free(h->scans);
	free(h->msgs);
	memset(h, 0, sizeof(*h));
}

/* Every change of dropping[p] goes through here, to keep the count. */
static void set_dropping(handoff_t *h, uint32_t p, uint8_t on)
{
	if (h->dropping[p] == on)
		return;
	h->dropping[p] = on;
	if (on)
		h->dropping_count++;
	else
		h->dropping_count--;
	sh_assert(h->dropping_count <= h->partitions);
}

static void see_time(handoff_t *h, uint64_t now_ms)
{
	if (now_ms > h->now_ms)
		h->now_ms = now_ms;
}

static handoff_move_t *move_by_id(handoff_t *h, uint64_t id)
{
	for (size_t i = 0; i < h->move_count; i++)
		if (h->moves[i].id == id)
			return &h->moves[i];
	return NULL;
}

static handoff_move_t *move_find(handoff_t *h, uint32_t p, const char *to)
{
	for (size_t i = 0; i < h->move_count; i++)
		if (h->moves[i].partition == p &&
		    strcmp(h->moves[i].to, to) == 0)
			return &h->moves[i];
	return NULL;
}

static void move_remove(handoff_t *h, handoff_move_t *m)
{
	size_t i = (size_t)(m - h->moves);

	sh_assert(i < h->move_count);
	handoff__stream_free(&m->s);
	h->moves[i] = h->moves[--h->move_count];
}

static int move_add(handoff_t *h, uint32_t p, const char *to)
{
	handoff_move_t *m;

	if (move_find(h, p, to) != NULL)
		return SH_EEXIST;
	if (h->move_count >= h->cfg.moves_max) {
		h->stats.moves_full++;
		return SH_EFULL;
	}
	if (h->moves == NULL) {
		h->moves = calloc(h->cfg.moves_max, sizeof(*h->moves));
		if (h->moves == NULL)
			return SH_ENOMEM;
	}
	m = &h->moves[h->move_count++];
	memset(m, 0, sizeof(*m));
	m->id = h->next_move++;
	m->partition = p;
	m->pass = 1;
	strcpy(m->to, to);
	handoff__stream_init(&m->s);
	if (h->dropping != NULL && p < h->partitions)
		set_dropping(h, p, 0); /* a new move first, then the drop */
	h->stats.moves_planned++;
	return 0;
}

/* Give free slots to queued moves whose receiver is up. */
static void schedule(handoff_t *h)
{
	size_t active = 0;

	for (size_t i = 0; i < h->move_count; i++)
		active += h->moves[i].active;
	for (size_t i = 0; i < h->move_count && active < h->cfg.active_max;
	     i++) {
		handoff_move_t *m = &h->moves[i];

		if (m->active || m->done || m->peer_down)
			continue;
		m->active = 1;
		m->s.st = HANDOFF__ST_SCAN;
		active++;
	}
}

static int partition_busy(const handoff_t *h, uint32_t p)
{
	for (size_t i = 0; i < h->move_count; i++)
		if (h->moves[i].partition == p && !h->moves[i].done)
			return 1;
	return 0;
}

static void remove_moves_of(handoff_t *h, uint32_t p)
{
	for (size_t i = h->move_count; i-- > 0;)
		if (h->moves[i].partition == p)
			move_remove(h, &h->moves[i]);
}

/*
 * All moves of p may be done: drop p if this node no longer owns it,
 * else forget the moves (the data stays: this node is an owner again).
 */
static void check_drop(handoff_t *h, uint32_t p)
{
	size_t i;

	for (i = 0; i < h->move_count && h->moves[i].partition != p; i++)
		;
	if (i == h->move_count || partition_busy(h, p))
		return; /* never drop what no move handed off */
	if (h->owned == NULL || p >= h->partitions || h->owned[p]) {
		remove_moves_of(h, p);
		return;
	}
	set_dropping(h, p, 1);
}

/* The pass of m is acked to its end. */
static void pass_end(handoff_t *h, handoff_move_t *m)
{
	m->s.cursor_len = 0;
	if (m->dirty && m->pass < h->cfg.passes_max) {
		m->dirty = 0;
		m->pass++;
		h->stats.passes++;
		handoff__stream_drop_batch(&m->s, HANDOFF__ST_SCAN);
		return;
	}
	handoff__stream_drop_batch(&m->s, HANDOFF__ST_IDLE);
	m->done = 1;
	m->active = 0;
	h->stats.moves_done++;
	check_drop(h, m->partition);
	schedule(h);
}

static void move_backoff(handoff_t *h, handoff_move_t *m)
{
	handoff__stream_drop_batch(&m->s, HANDOFF__ST_BACKOFF);
	m->s.deadline_ms = h->now_ms + h->cfg.ack_timeout_ms;
	h->stats.failed++;
}

static int ring_rank_of(const ring_t *r, uint32_t p, unsigned n,
                        const char *name)
{
	uint32_t idx[RING_N_MAX];
	unsigned k = ring_owners(r, p, n, idx);

	for (unsigned i = 0; i < k; i++)
		if (strcmp(ring_member_name(r, idx[i]), name) == 0)
			return (int)i;
	return -1;
}

/* Owners of p in a that are not owners in b, in ranking order. */
static unsigned owners_minus(const ring_t *a, const ring_t *b, uint32_t p,
                             unsigned n, const char **out)
{
	uint32_t idx[RING_N_MAX];
	unsigned k = ring_owners(a, p, n, idx), c = 0;

	for (unsigned i = 0; i < k; i++) {
		const char *name = ring_member_name(a, idx[i]);

		if (ring_rank_of(b, p, n, name) < 0)
			out[c++] = name;
	}
	return c;
}

/* The receivers of p this node sends to going from old to new. */
static unsigned plan_partition(handoff_t *h, const ring_t *old,
                               const ring_t *nr, uint32_t p, int leaving,
                               const char **to)
{
	const char *removed[RING_N_MAX], *added[RING_N_MAX];
	unsigned n = ring_n_replicas(nr), nrem, nadd, c = 0;
	int self_old = ring_rank_of(old, p, n, h->self);

	if (self_old < 0)
		return 0; /* this node holds nothing of p to give */
	nrem = owners_minus(old, nr, p, n, removed);
	nadd = owners_minus(nr, old, p, n, added);
	for (unsigned i = 0; i < nrem; i++) {
		if (strcmp(removed[i], h->self) != 0)
			continue;
		if (i < nadd)
			to[c++] = added[i];
		else if (leaving && ring_owner(nr, p, 0) >= 0)
			to[c++] = ring_member_name(
			    nr, (uint32_t)ring_owner(nr, p, 0));
	}
	if (self_old == 0)
		for (unsigned j = nrem; j < nadd; j++)
			to[c++] = added[j]; /* no old owner left it: primary */
	return c;
}

static int set_owned(handoff_t *h, const ring_t *r)
{
	uint32_t q = ring_partitions(r);
	unsigned n = ring_n_replicas(r);

	if (h->partitions == 0) {
		h->owned = calloc(q, 1);
		h->dropping = calloc(q, 1);
		if (h->owned == NULL || h->dropping == NULL)
			return SH_ENOMEM;
		h->partitions = q;
	}
	for (uint32_t p = 0; p < q; p++) {
		h->owned[p] = ring_rank_of(r, p, n, h->self) >= 0;
		if (h->owned[p])
			set_dropping(h, p, 0); /* an owner again: keep it */
	}
	return 0;
}

/* Moves whose receiver is no longer an owner of their partition. */
static void cancel_stale(handoff_t *h, const ring_t *nr)
{
	unsigned n = ring_n_replicas(nr);

	for (size_t i = h->move_count; i-- > 0;) {
		handoff_move_t *m = &h->moves[i];

		if (m->done || ring_rank_of(nr, m->partition, n, m->to) >= 0)
			continue;
		h->stats.moves_cancelled++;
		m->done = 1;
		m->active = 0;
		handoff__stream_drop_batch(&m->s, HANDOFF__ST_IDLE);
	}
}

static int plan(handoff_t *h, uint64_t now_ms, const ring_t *old,
                const ring_t *nr, int leaving)
{
	int err, ret = 0;

	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (nr == NULL ||
	    (old != NULL && ring_partitions(old) != ring_partitions(nr)) ||
	    (h->partitions != 0 && ring_partitions(nr) != h->partitions))
		return SH_EINVAL;
	if ((err = set_owned(h, nr)) != 0)
		return err;
	cancel_stale(h, nr);
	for (uint32_t p = 0; old != NULL && p < h->partitions; p++) {
		const char *to[2 * RING_N_MAX];
		unsigned c = plan_partition(h, old, nr, p, leaving, to);

		for (unsigned i = 0; i < c; i++) {
			err = move_add(h, p, to[i]);
			if (err != 0 && err != SH_EEXIST && ret == 0)
				ret = err;
		}
	}
	for (uint32_t p = 0; p < h->partitions; p++)
		check_drop(h, p);
	schedule(h);
	return ret;
}

int handoff_ring_changed(handoff_t *h, uint64_t now_ms, const ring_t *old,
                         const ring_t *new_ring)
{
	return plan(h, now_ms, old, new_ring, 0);
}

int handoff_leave(handoff_t *h, uint64_t now_ms, const ring_t *current,
                  const ring_t *without_self)
{
	if (current == NULL || without_self == NULL)
		return SH_EINVAL;
	if (ring_member_count(without_self) == 0)
		return SH_ENOTFOUND;
	h->leaving = 1;
	return plan(h, now_ms, current, without_self, 1);
}

int handoff_add(handoff_t *h, uint64_t now_ms, uint32_t partition,
                const char *to)
{
	char name[HANDOFF_NAME_MAX + 1];
	int err;

	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (handoff__name_copy(name, to) != 0 || strcmp(name, h->self) == 0 ||
	    partition > UINT16_MAX ||
	    (h->partitions != 0 && partition >= h->partitions))
		return SH_EINVAL;
	if ((err = move_add(h, partition, name)) != 0)
		return err;
	schedule(h);
	return 0;
}

void handoff_peer(handoff_t *h, uint64_t now_ms, const char *name, int up)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	for (size_t i = 0; name != NULL && i < h->move_count; i++) {
		handoff_move_t *m = &h->moves[i];

		if (strcmp(m->to, name) != 0 || m->done)
			continue;
		if (up) {
			m->peer_down = 0;
			continue;
		}
		m->peer_down = 1;
		if (m->active && m->s.st != HANDOFF__ST_SCANNING) {
			m->active = 0;
			handoff__stream_drop_batch(&m->s, HANDOFF__ST_IDLE);
		}
	}
	schedule(h);
}

void handoff_note_write(handoff_t *h, uint32_t partition)
{
	for (size_t i = 0; i < h->move_count; i++)
		if (h->moves[i].partition == partition && !h->moves[i].done)
			h->moves[i].dirty = 1;
}

int handoff_feed(handoff_t *h, uint64_t move, const uint8_t *okey,
                 size_t okey_len, const uint8_t *record, size_t record_len)
{
	handoff__limits_t lim = {h->cfg.batch_keys_max, h->cfg.batch_bytes_max};
	handoff_move_t *m = move_by_id(h, move);

	sh_assert(!h->in_ready);
	if (m == NULL || m->s.st != HANDOFF__ST_SCANNING || record == NULL)
		return SH_EINVAL;
	if (m->peer_down)
		return HANDOFF_FULL;
	if (m->s.item_count == 0)
		strcpy(m->s.to, m->to);
	return handoff__stream_offer(&m->s, &lim, okey, okey_len, okey,
	                             okey_len, record, record_len);
}

static void move_try_send(handoff_t *h, handoff_move_t *m)
{
	if (!handoff__stream_try_send(&m->s, h->bucket, h->now_ms,
	                              h->cfg.ack_timeout_ms))
		return;
	m->bytes_sent += m->s.msg.len;
	h->stats.bytes_sent += m->s.msg.len;
	h->stats.batches++;
}

int handoff_scan_end(handoff_t *h, uint64_t now_ms, uint64_t move, int done,
                     int err)
{
	handoff_move_t *m = move_by_id(h, move);

	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (m == NULL || m->s.st != HANDOFF__ST_SCANNING)
		return SH_EINVAL;
	if (m->peer_down) { /* paused while the scan was out */
		m->active = 0;
		handoff__stream_drop_batch(&m->s, HANDOFF__ST_IDLE);
		schedule(h);
		return 0;
	}
	if (err != 0) {
		move_backoff(h, m);
		return 0;
	}
	m->s.exhausted = done && !m->s.refused;
	if (m->s.item_count == 0) {
		if (m->s.exhausted)
			pass_end(h, m);
		else
			move_backoff(h, m);
		return 0;
	}
	m->s.batch_id = h->next_id++;
	err = handoff__wire_handoff_batch(&m->s.msg, m->s.batch_id,
	                                  m->partition, m->s.exhausted,
	                                  &m->s.body, m->s.body_count);
	if (err != 0) {
		move_backoff(h, m);
		return 0;
	}
	m->s.st = HANDOFF__ST_THROTTLED;
	move_try_send(h, m);
	return 0;
}

int handoff_ack(handoff_t *h, uint64_t now_ms, const char *from, uint64_t id,
                int status)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	for (size_t i = 0; i < h->move_count && from != NULL; i++) {
		handoff_move_t *m = &h->moves[i];

		if (m->s.st != HANDOFF__ST_INFLIGHT || m->s.batch_id != id ||
		    strcmp(m->s.to, from) != 0)
			continue;
		if (status != 0) {
			move_backoff(h, m);
			return 0;
		}
		handoff__stream_commit_cursor(&m->s);
		m->keys_sent += m->s.item_count;
		h->stats.keys_sent += m->s.item_count;
		if (m->s.exhausted)
			pass_end(h, m);
		else
			handoff__stream_drop_batch(&m->s, HANDOFF__ST_SCAN);
		return 0;
	}
	h->stats.stale_acks++;
	return SH_ENOTFOUND;
}

int handoff_recv(handoff_t *h, uint64_t now_ms, const char *from,
                 const uint8_t *data, size_t len)
{
	uint64_t id;
	int status, err;

	err =
	    handoff__wire_decode_ack(data, len, HANDOFF_WIRE_ACK, &id, &status);
	if (err != 0) {
		h->stats.rejected++;
		return err;
	}
	return handoff_ack(h, now_ms, from, id, status);
}

int handoff_drop_step(handoff_t *h, uint64_t now_ms, uint32_t partition,
                      size_t deleted)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (h->dropping == NULL || partition >= h->partitions ||
	    !h->dropping[partition])
		return SH_EINVAL;
	if (deleted >= h->cfg.drop_keys_max)
		return 0; /* more to drop */
	set_dropping(h, partition, 0);
	h->stats.partitions_dropped++;
	remove_moves_of(h, partition);
	return 0;
}

void handoff_tick(handoff_t *h, uint64_t now_ms)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	for (size_t i = 0; i < h->move_count; i++) {
		handoff_move_t *m = &h->moves[i];

		switch (m->s.st) {
		case HANDOFF__ST_THROTTLED: move_try_send(h, m); break;
		case HANDOFF__ST_INFLIGHT:
			if (h->now_ms < m->s.deadline_ms)
				break;
			h->stats.failed++; /* lost batch or ack: again */
			m->s.st = HANDOFF__ST_THROTTLED;
			move_try_send(h, m);
			break;
		case HANDOFF__ST_BACKOFF:
			if (h->now_ms >= m->s.deadline_ms)
				handoff__stream_drop_batch(&m->s,
				                           HANDOFF__ST_SCAN);
			break;
		default: break;
		}
	}
	schedule(h);
}

/* The next partition to drop a step of, round robin; re-checks owning. */
static int next_drop(handoff_t *h, uint32_t *p)
{
	if (h->dropping_count == 0)
		return 0;
	for (uint32_t k = 0; k < h->partitions; k++) {
		uint32_t q = (h->drop_next + k) % h->partitions;

		if (!h->dropping[q])
			continue;
		sh_assert(!h->owned[q]); /* set_owned clears dropping */
		*p = q;
		h->drop_next = (q + 1) % h->partitions;
		return 1;
	}
	return 0;
}

static int dropping_any(const handoff_t *h)
{
	return h->dropping_count != 0;
}

void handoff_ready(handoff_t *h, handoff_ready_t *out)
{
	uint64_t next = HANDOFF_NO_DEADLINE;
	uint32_t p;

	sh_assert(!h->in_ready);
	h->scan_count = h->msg_count = h->drop_count = 0;
	for (size_t i = 0; i < h->move_count; i++) {
		handoff_move_t *m = &h->moves[i];
		uint64_t t;

		if (m->s.st == HANDOFF__ST_SCAN) {
			handoff_scan_t *sc = &h->scans[h->scan_count++];

			sh_assert(h->scan_count <= h->cfg.active_max);
			sc->move = m->id;
			sc->partition = m->partition;
			sc->after = m->s.cursor;
			sc->after_len = m->s.cursor_len;
			sc->limit = h->cfg.batch_keys_max;
		}
		if (m->s.send_pending) {
			handoff_msg_t *ms = &h->msgs[h->msg_count++];

			sh_assert(h->msg_count <= h->cfg.active_max);
			ms->to = m->s.to;
			ms->data = m->s.msg.data;
			ms->len = m->s.msg.len;
		}
		t = handoff__stream_deadline(&m->s, h->bucket, h->now_ms);
		if (t < next)
			next = t;
	}
	if (h->partitions != 0 && next_drop(h, &p)) {
		h->drop.partition = p;
		h->drop.limit = h->cfg.drop_keys_max;
		h->drop_count = 1;
	}
	h->in_ready = 1;
	out->scans = h->scans;
	out->scan_count = h->scan_count;
	out->msgs = h->msgs;
	out->msg_count = h->msg_count;
	out->drops = &h->drop;
	out->drop_count = h->drop_count;
	out->leave_done = h->leaving && h->move_count == 0 &&
	                  (h->partitions == 0 || !dropping_any(h));
	out->next_deadline_ms = next;
}

void handoff_advance(handoff_t *h)
{
	for (size_t i = 0; i < h->move_count; i++) {
		handoff_move_t *m = &h->moves[i];

		if (m->s.st == HANDOFF__ST_SCAN)
			m->s.st = HANDOFF__ST_SCANNING;
		m->s.send_pending = 0;
	}
	h->in_ready = 0;
}

static handoff_move_state_t move_state(const handoff_t *h,
                                       const handoff_move_t *m)
{
	if (m->done)
		return h->dropping != NULL && m->partition < h->partitions &&
		               h->dropping[m->partition]
		           ? HANDOFF_MOVE_DROPPING
		           : HANDOFF_MOVE_DONE;
	if (m->peer_down)
		return HANDOFF_MOVE_PAUSED;
	if (!m->active)
		return HANDOFF_MOVE_QUEUED;
	return m->s.st == HANDOFF__ST_BACKOFF ? HANDOFF_MOVE_RETRYING
	                                      : HANDOFF_MOVE_SENDING;
}

size_t handoff_transfers(const handoff_t *h, handoff_transfer_t *out,
                         size_t cap)
{
	for (size_t i = 0; i < h->move_count && i < cap; i++) {
		const handoff_move_t *m = &h->moves[i];

		out[i].partition = m->partition;
		out[i].from = h->self;
		out[i].to = m->to;
		out[i].state = move_state(h, m);
		out[i].pass = m->pass;
		out[i].keys_sent = m->keys_sent;
		out[i].bytes_sent = m->bytes_sent;
	}
	return h->move_count;
}

void handoff_stats(const handoff_t *h, handoff_stats_t *out)
{
	*out = h->stats;
}
