/*
 * aae_xchg.c - the anti-entropy driver's exchanges (node/aae.h): one
 * merkle_exchange per side (initiator or responder), the local key scans
 * it asks for, and the repairs of the keys it reports: REPAIR carries the
 * initiator's record, the peer joins it and answers REPLY with its own
 * copy after the join, which the initiator joins in turn. A responder
 * answers REPAIR only for an exchange it runs with that peer, and cuts
 * its REPLY at repair_bytes_per_msg.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/aae_int.h"

/* REPAIR messages in flight per exchange. */
#define AAE__REPAIR_WINDOW 4

static aae_side_t *aae__side_new(aae_t *a, int initiator, uint32_t p,
                                 const char *peer, uint64_t now_ms, int *err)
{
	aae_part_t *pt = aae__part(a, p);
	*err = SH_ENOTFOUND;
	if (pt == NULL || !merkle_is_built(&pt->tree))
		return NULL;
	aae_side_t *s = calloc(1, sizeof *s);
	*err = SH_ENOMEM;
	if (s == NULL)
		return NULL;
	merkle_xconfig_t xc;
	merkle_xconfig_default(&xc);
	xc.timeout_ms = a->cfg.timeout_ms;
	if (merkle_exchange_init(&s->x, &xc, &pt->tree) != SH_OK) {
		free(s);
		return NULL;
	}
	s->initiator = initiator;
	s->partition = p;
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	s->started_ms = s->heard_ms = now_ms;
	*err = SH_OK;
	return s;
}

void aae__side_free(aae_t *a, aae_side_t *s)
{
	(void)a;
	merkle_exchange_free(&s->x);
	sh_buf_free(&s->repairs);
	free(s);
}

/* Queue one key to repair: [u16 blen][bucket][u16 klen][key][want]. */
static void aae__queue_repair(aae_side_t *s, const merkle_repair_t *r)
{
	uint8_t h[2];
	uint8_t want = r->kind != MERKLE_REPAIR_LOCAL_ONLY;
	size_t mark = s->repairs.len;
	int rc;
	h[0] = (uint8_t)(r->bucket_len >> 8);
	h[1] = (uint8_t)r->bucket_len;
	rc = sh_buf_append(&s->repairs, h, 2);
	if (rc == SH_OK)
		rc = sh_buf_append(&s->repairs, r->bucket, r->bucket_len);
	h[0] = (uint8_t)(r->key_len >> 8);
	h[1] = (uint8_t)r->key_len;
	if (rc == SH_OK)
		rc = sh_buf_append(&s->repairs, h, 2);
	if (rc == SH_OK)
		rc = sh_buf_append(&s->repairs, r->key, r->key_len);
	if (rc == SH_OK)
		rc = sh_buf_append_u8(&s->repairs, want);
	if (rc != SH_OK)
		s->repairs.len = mark; /* the next exchange finds it again */
}

/* Hand x's outputs on: messages, a key request, repairs, its end. */
static void aae__pump(aae_t *a, aae_side_t *s)
{
	merkle_ready_t rd;
	merkle_exchange_ready(&s->x, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		size_t mark = a->out_bytes.len;
		if (aae__enc_merkle(&a->out_bytes, rd.msgs[i].data,
		                    rd.msgs[i].len) != SH_OK) {
			a->out_bytes.len = mark;
			continue;
		}
		s->bytes_sent += a->out_bytes.len - mark;
		aae__emit(a, s->peer, mark);
	}
	s->deadline_ms = rd.deadline_ms;
	if (rd.want_keys && !s->scanning) {
		s->scanning = 1;
		store_cursor_init(&s->cursor);
	}
	for (size_t i = 0; i < rd.repair_count; i++)
		aae__queue_repair(s, &rd.repairs[i]);
	if (rd.state == MERKLE_X_DONE || rd.state == MERKLE_X_ABORTED) {
		s->x_ended = 1;
		s->scanning = 0;
		s->result = rd.state == MERKLE_X_ABORTED ? rd.error
		            : rd.roots_equal             ? 1
		                                         : 0;
		/* the initiator repairs after its DONE: stay to answer */
		s->awaits_repairs = !s->initiator && s->result == 0;
	}
	merkle_exchange_advance(&s->x);
}

int aae__start(aae_t *a, uint64_t now_ms, uint32_t p, const char *peer)
{
	int err;
	aae_side_t *s = aae__side_new(a, 1, p, peer, now_ms, &err);
	if (s == NULL)
		return err;
	s->xid = sh_splitmix64(&a->rng);
	err = merkle_exchange_start(&s->x, now_ms, s->xid);
	if (err != SH_OK) {
		aae__side_free(a, s);
		return err;
	}
	a->ini = s;
	a->stats.exchanges_started++;
	aae__pump(a, s);
	return SH_OK;
}

/* ---- local keys for the exchange ---- */

typedef struct aae__feed {
	merkle_exchange_t *x;
	uint32_t seen;
} aae__feed_t;

static int aae__feed_cb(void *arg, const store_entry_t *e)
{
	aae__feed_t *f = arg;
	const store_key_parts_t *k = &e->parts;
	f->seen++;
	if (!merkle_exchange_wants(
	        f->x,
	        merkle_key_hash(k->bucket, k->bucket_len, k->key, k->key_len)))
		return SH_OK;
	int rc = merkle_exchange_key(f->x, k->bucket, k->bucket_len, k->key,
	                             k->key_len,
	                             aae_record_hash(e->val, e->val_len));
	return rc == SH_ETOOBIG ? SH_OK : rc;
}

static void aae__scan_step(aae_t *a, aae_side_t *s, uint64_t now_ms)
{
	if (!s->scanning || a->budget == 0)
		return;
	aae__feed_t f = {.x = &s->x, .seen = 0};
	int rc = store_scan_partition(a->store, (uint16_t)s->partition,
	                              &s->cursor, a->budget, aae__feed_cb, &f);
	a->budget = f.seen < a->budget ? a->budget - f.seen : 0;
	if (rc == SH_OK && !s->cursor.done)
		return;
	/* a scan that failed ends the list early: the keys it missed look
	 * different and are repaired, which a join makes harmless */
	s->scanning = 0;
	merkle_exchange_keys_end(&s->x, now_ms);
	aae__pump(a, s);
}

/* ---- repairs, initiator side ---- */

typedef struct aae__pick {
	aae__entry_t e;
	size_t rec_off;    /* in a->scratch */
	uint64_t key_hash; /* responder: finds a key repeated in a REPAIR */
} aae__pick_t;

/* Read the next queued key at s->repairs[*at] into *e (pointers into the
 * queue). 0, or SH_ENOTFOUND at the end. */
static int aae__next_queued(aae_side_t *s, size_t *at, aae__entry_t *e)
{
	const uint8_t *p = s->repairs.data + *at;
	size_t left = s->repairs.len - *at;
	memset(e, 0, sizeof *e);
	if (left < 2)
		return SH_ENOTFOUND;
	e->blen = (size_t)p[0] << 8 | p[1];
	e->bucket = p + 2;
	p += 2 + e->blen;
	e->klen = (size_t)p[0] << 8 | p[1];
	e->key = p + 2;
	e->want_back = p[2 + e->klen];
	*at += 2 + e->blen + 2 + e->klen + 1;
	return SH_OK;
}

/* Collect up to one message worth of repairs with their local records. */
static size_t aae__pick(aae_t *a, aae_side_t *s, aae__pick_t *picks)
{
	size_t n = 0, bytes = 0;
	sh_buf_reset(&a->scratch);
	while (n < a->cfg.repair_keys_per_msg &&
	       bytes < a->cfg.repair_bytes_per_msg) {
		aae__pick_t *pk = &picks[n];
		store_key_t k;
		const uint8_t *v;
		size_t vlen;
		if (aae__next_queued(s, &s->repair_at, &pk->e) != SH_OK)
			break;
		if (aae__obj_key(a, pk->e.bucket, pk->e.blen, pk->e.key,
		                 pk->e.klen, &k) != SH_OK)
			continue;
		int rc = store_get(a->store, &k, &v, &vlen);
		if (rc == SH_OK && vlen > 0) {
			pk->rec_off = a->scratch.len;
			if (sh_buf_append(&a->scratch, v, vlen) != SH_OK)
				break;
			pk->e.has_record = 1;
			pk->e.rlen = vlen;
		}
		if (!pk->e.has_record && !pk->e.want_back)
			continue; /* gone here since: nothing to push */
		bytes += pk->e.blen + pk->e.klen + pk->e.rlen + 16;
		n++;
	}
	return n;
}

static void aae__repair_step(aae_t *a, aae_side_t *s, uint64_t now_ms)
{
	while (s->repair_at < s->repairs.len &&
	       s->replies_pending < AAE__REPAIR_WINDOW) {
		aae__pick_t *picks =
		    calloc(a->cfg.repair_keys_per_msg, sizeof *picks);
		if (picks == NULL)
			return;
		size_t n = aae__pick(a, s, picks);
		size_t mark = a->out_bytes.len;
		int rc =
		    n > 0 ? aae__enc_head(&a->out_bytes, AAE_MSG_REPAIR, s->xid,
		                          s->partition, 0, (uint32_t)n)
		          : SH_ENOTFOUND;
		for (size_t i = 0; rc == SH_OK && i < n; i++) {
			if (picks[i].e.has_record)
				picks[i].e.record =
				    a->scratch.data + picks[i].rec_off;
			rc = aae__enc_entry(&a->out_bytes, AAE_MSG_REPAIR,
			                    &picks[i].e);
		}
		free(picks);
		aae__buf_trim(&a->scratch);
		if (rc != SH_OK) {
			a->out_bytes.len = mark;
			continue;
		}
		s->bytes_sent += a->out_bytes.len - mark;
		aae__emit(a, s->peer, mark);
		s->replies_pending++;
		s->heard_ms = now_ms;
	}
}

/* ---- the side's tick and its end ---- */

static void aae__side_end(aae_t *a, aae_side_t *s, uint64_t now_ms)
{
	merkle_stats_add(&a->msum, &s->x);
	s->finished = 1;
	if (!s->initiator) {
		a->stats.responded++;
		return;
	}
	if (s->result < 0)
		a->stats.exchanges_failed++;
	else
		a->stats.exchanges_completed++;
	if (s->result == 1)
		a->stats.exchanges_equal++;
	aae_part_t *pt = aae__part(a, s->partition);
	if (pt == NULL)
		return;
	aae_last_t *l = &pt->last;
	l->ran = 1;
	l->ended_ms = now_ms;
	l->took_ms = now_ms - s->started_ms;
	snprintf(l->peer, sizeof l->peer, "%s", s->peer);
	l->result = s->result;
	l->keys_repaired = s->keys_repaired;
	l->bytes_sent = s->bytes_sent;
}

/* The coordinator sees the peer down: end now rather than at the
 * timeout, so that the next exchange is not held up. */
static void aae__peer_gone(aae_side_t *s)
{
	if (!s->x_ended)
		s->result = SH_ENOTFOUND;
	s->x_ended = 1;
	s->scanning = 0;
	s->awaits_repairs = 0;
	s->repair_at = s->repairs.len;
	s->replies_pending = 0;
}

void aae__side_tick(aae_t *a, aae_side_t *s, uint64_t now_ms)
{
	if (s->finished)
		return;
	if (!coord_member_is_up(a->coord, s->peer))
		aae__peer_gone(s);
	if (!s->x_ended) {
		merkle_exchange_tick(&s->x, now_ms);
		aae__pump(a, s);
	}
	aae__scan_step(a, s, now_ms);
	if (s->initiator)
		aae__repair_step(a, s, now_ms);
	int waiting = s->initiator ? s->repair_at < s->repairs.len ||
	                                 s->replies_pending > 0
	                           : s->awaits_repairs;
	if (waiting && now_ms >= s->heard_ms + a->cfg.timeout_ms) {
		if (s->initiator && s->result >= 0)
			s->result = SH_ERANGE; /* repairs unanswered */
		waiting = 0;
	}
	if (s->x_ended && !waiting)
		aae__side_end(a, s, now_ms);
}

int aae__side_done(const aae_side_t *s)
{
	return s->finished;
}

int aae__side_busy(const aae_side_t *s)
{
	return !s->finished &&
	       (s->scanning ||
	        (s->x_ended && !s->initiator && !s->awaits_repairs) ||
	        (s->initiator && s->repair_at < s->repairs.len &&
	         s->replies_pending < AAE__REPAIR_WINDOW));
}

uint64_t aae__side_deadline(const aae_side_t *s, uint32_t timeout_ms)
{
	uint64_t d = s->deadline_ms;
	int waits = s->initiator ? s->x_ended && s->replies_pending > 0
	                         : s->awaits_repairs && !s->finished;
	if (waits && s->heard_ms + timeout_ms < d)
		d = s->heard_ms + timeout_ms;
	return d;
}

/* ---- receiving ---- */

static aae_side_t *aae__find(aae_t *a, uint64_t xid, const char *from,
                             int *slot)
{
	if (a->ini != NULL && a->ini->xid == xid &&
	    strcmp(a->ini->peer, from) == 0) {
		*slot = -1;
		return a->ini;
	}
	for (uint32_t i = 0; i < a->cfg.responders_max; i++) {
		aae_side_t *s = a->resp[i];
		if (s != NULL && s->xid == xid && strcmp(s->peer, from) == 0) {
			*slot = (int)i;
			return s;
		}
	}
	return NULL;
}

static void aae__refuse(aae_t *a, const char *to, uint64_t xid, uint32_t p,
                        int status)
{
	size_t mark = a->out_bytes.len;
	a->stats.refused++;
	if (aae__enc_refuse(&a->out_bytes, xid, p, status) == SH_OK)
		aae__emit(a, to, mark);
	else
		a->out_bytes.len = mark;
}

/* End responder i now, counted as any ended responder. */
static void aae__resp_drop(aae_t *a, uint32_t i, uint64_t now_ms)
{
	aae__side_end(a, a->resp[i], now_ms);
	aae__side_free(a, a->resp[i]);
	a->resp[i] = NULL;
}

/*
 * A responder slot for an OPEN from `from`, or -1. A responder awaiting
 * repairs from that peer is over: an initiator runs one exchange at a
 * time, so a new OPEN means its last one ended. Failing a free slot, the
 * responder that has awaited repairs the longest gives its slot up: a
 * REPAIR still to come for it is refused, and the keys it names stay
 * different, so a later exchange repairs them.
 */
static int aae__slot(aae_t *a, uint64_t now_ms, const char *from)
{
	int free_slot = -1, idle = -1;
	for (uint32_t i = 0; i < a->cfg.responders_max; i++) {
		aae_side_t *s = a->resp[i];
		if (s != NULL && s->awaits_repairs &&
		    strcmp(s->peer, from) == 0) {
			aae__resp_drop(a, i, now_ms);
			s = NULL;
		}
		if (s == NULL && free_slot < 0)
			free_slot = (int)i;
		if (s != NULL && s->awaits_repairs &&
		    (idle < 0 || s->heard_ms < a->resp[idle]->heard_ms))
			idle = (int)i;
	}
	if (free_slot < 0 && idle >= 0) {
		aae__resp_drop(a, (uint32_t)idle, now_ms);
		free_slot = idle;
	}
	return free_slot;
}

/* An OPEN for no exchange of ours: answer it as a responder. */
static int aae__open(aae_t *a, uint64_t now_ms, const char *from,
                     const merkle_msg_t *mm, const aae__msg_t *m)
{
	int err;
	int free_slot = aae__slot(a, now_ms, from);
	if (free_slot < 0) {
		aae__refuse(a, from, mm->xid, mm->partition, SH_EFULL);
		return SH_OK;
	}
	aae_side_t *s =
	    mm->partition < a->partitions
	        ? aae__side_new(a, 0, mm->partition, from, now_ms, &err)
	        : NULL;
	if (s == NULL) {
		aae__refuse(a, from, mm->xid, mm->partition, SH_ENOTFOUND);
		return SH_OK;
	}
	s->xid = mm->xid;
	int rc = merkle_exchange_recv(&s->x, now_ms, m->merkle, m->merkle_len);
	if (rc != SH_OK) {
		aae__side_free(a, s);
		return rc;
	}
	a->resp[free_slot] = s;
	aae__pump(a, s);
	return SH_OK;
}

int aae__recv_merkle(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m)
{
	merkle_msg_t mm;
	int slot;
	int rc = merkle_msg_decode(m->merkle, m->merkle_len, &mm);
	if (rc != SH_OK)
		return rc;
	aae_side_t *s = aae__find(a, mm.xid, from, &slot);
	if (s == NULL && mm.type == MERKLE_MSG_OPEN)
		return aae__open(a, now_ms, from, &mm, m);
	if (s == NULL) {
		/* an exchange this node forgot (a restart, a timeout): say so,
		 * so that its initiator need not wait for the timeout */
		if (mm.type != MERKLE_MSG_DONE)
			aae__refuse(a, from, mm.xid, mm.partition,
			            SH_ENOTFOUND);
		return SH_ENOTFOUND;
	}
	if (s->finished || s->x_ended)
		return SH_ENOTFOUND;
	s->heard_ms = now_ms;
	rc = merkle_exchange_recv(&s->x, now_ms, m->merkle, m->merkle_len);
	aae__pump(a, s);
	return rc;
}

int aae__recv_refuse(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m)
{
	int slot;
	aae_side_t *s = aae__find(a, m->xid, from, &slot);
	(void)now_ms;
	if (s == NULL || !s->initiator || s->finished)
		return SH_ENOTFOUND;
	int repairing = s->repair_at < s->repairs.len || s->replies_pending > 0;
	if (s->x_ended && !repairing)
		return SH_ENOTFOUND;
	/* the peer refused the exchange or, after its comparison, a REPAIR
	 * (it forgot the exchange): stop now rather than at the timeout; the
	 * keys left unrepaired still differ, so a later exchange finds them */
	if (!s->x_ended || s->result >= 0)
		s->result = (int)m->status;
	s->x_ended = 1;
	s->scanning = 0;
	s->repair_at = s->repairs.len;
	s->replies_pending = 0;
	return SH_OK;
}

/* Join one record into the own copy of its key, which must belong to
 * partition (a peer names no key of another). */
static int aae__join(aae_t *a, uint32_t partition, const aae__entry_t *e)
{
	store_key_t k;
	int rc = aae__obj_key(a, e->bucket, e->blen, e->key, e->klen, &k);
	if (rc == SH_OK &&
	    (uint32_t)(k.bytes[0] << 8 | k.bytes[1]) != partition)
		rc = SH_EINVAL;
	if (rc == SH_OK)
		rc = coord_join_record(a->coord, k.bytes, k.len, e->record,
		                       e->rlen);
	if (rc == SH_OK)
		a->stats.records_joined++;
	else
		a->stats.join_errors++;
	return rc;
}

/* Upper bounds of a REPLY's head and of an entry's msgpack headers (array,
 * three bin lengths), so that the estimate never undercounts. */
#define AAE__REPLY_HEAD_BYTES  32
#define AAE__REPLY_ENTRY_BYTES 16

/* The REPLY being collected for one REPAIR. */
typedef struct aae__reply {
	aae__pick_t *back; /* [entries of the REPAIR] */
	size_t n;
	size_t bytes; /* the REPLY's size, estimated from above */
	int full;     /* a record did not fit: no more are added */
} aae__reply_t;

/* The responder side of exchange m->xid with `from` on m->partition, if
 * it may still be repaired: its comparison runs, or ended with
 * differences. NULL for any other REPAIR. */
static aae_side_t *aae__repair_side(aae_t *a, const char *from,
                                    const aae__msg_t *m)
{
	int slot;
	aae_side_t *s = aae__find(a, m->xid, from, &slot);
	if (s == NULL || s->initiator || s->finished ||
	    s->partition != m->partition || aae__part(a, m->partition) == NULL)
		return NULL;
	return !s->x_ended || s->awaits_repairs ? s : NULL;
}

/* 1 if the reply already answers e's key (hash kh): a key repeated in
 * one REPAIR is answered once. */
static int aae__answered(const aae__reply_t *r, const aae__entry_t *e,
                         uint64_t kh)
{
	for (size_t i = 0; i < r->n; i++) {
		const aae__entry_t *o = &r->back[i].e;
		if (r->back[i].key_hash == kh && o->blen == e->blen &&
		    o->klen == e->klen &&
		    memcmp(o->bucket, e->bucket, e->blen) == 0 &&
		    memcmp(o->key, e->key, e->klen) == 0)
			return 1;
	}
	return 0;
}

/*
 * Add the own copy of e's key, read after the join, when the initiator
 * wants it back, it differs from what it sent and the reply has room. The
 * REPLY is cut at repair_bytes_per_msg, like a REPAIR, except that its
 * first record goes whatever its size (or a key larger than the limit
 * would never be repaired). A key cut off is not lost: the peer's copy
 * joined the initiator's record, so it still differs from the
 * initiator's unless the initiator's was the join already, and a later
 * exchange of the partition finds and repairs it.
 */
static void aae__answer(aae_t *a, aae__reply_t *r, const aae__entry_t *e)
{
	store_key_t k;
	const uint8_t *v;
	size_t vlen;
	if (!e->want_back || r->full)
		return;
	uint64_t kh = merkle_key_hash(e->bucket, e->blen, e->key, e->klen);
	if (aae__answered(r, e, kh) ||
	    aae__obj_key(a, e->bucket, e->blen, e->key, e->klen, &k) != SH_OK ||
	    store_get(a->store, &k, &v, &vlen) != SH_OK || vlen == 0)
		return;
	/* the initiator's copy already was the join: no echo */
	if (e->has_record &&
	    aae_record_hash(v, vlen) == aae_record_hash(e->record, e->rlen))
		return;
	size_t add = e->blen + e->klen + vlen + AAE__REPLY_ENTRY_BYTES;
	if (r->n > 0 && r->bytes + add > a->cfg.repair_bytes_per_msg) {
		r->full = 1;
		return;
	}
	aae__pick_t *b = &r->back[r->n];
	b->e = *e;
	b->e.rlen = vlen;
	b->rec_off = a->scratch.len;
	b->key_hash = kh;
	if (sh_buf_append(&a->scratch, v, vlen) != SH_OK) {
		r->full = 1;
		return;
	}
	r->bytes += add;
	r->n++;
}

/* Queue the REPLY to m with the records collected in r. */
static int aae__send_reply(aae_t *a, const char *from, const aae__msg_t *m,
                           aae__reply_t *r)
{
	size_t mark = a->out_bytes.len;
	int rc = aae__enc_head(&a->out_bytes, AAE_MSG_REPLY, m->xid,
	                       m->partition, m->count, (uint32_t)r->n);
	for (size_t i = 0; rc == SH_OK && i < r->n; i++) {
		r->back[i].e.record = a->scratch.data + r->back[i].rec_off;
		rc =
		    aae__enc_entry(&a->out_bytes, AAE_MSG_REPLY, &r->back[i].e);
	}
	if (rc == SH_OK)
		aae__emit(a, from, mark);
	else
		a->out_bytes.len = mark;
	return rc;
}

/* The peer's REPAIR for an exchange this node answers: join what it sent,
 * answer with the own copies it wants back, read after the join. Any
 * other REPAIR (a forgotten exchange, or a sender that runs none with
 * this node) is refused without a join or a read. */
int aae__recv_repair(aae_t *a, uint64_t now_ms, const char *from,
                     const aae__msg_t *m)
{
	aae_side_t *s = aae__repair_side(a, from, m);
	if (s == NULL) {
		aae__refuse(a, from, m->xid, m->partition, SH_ENOTFOUND);
		return SH_ENOTFOUND;
	}
	s->heard_ms = now_ms;
	aae__reply_t r = {.bytes = AAE__REPLY_HEAD_BYTES};
	r.back = calloc(m->count ? m->count : 1, sizeof *r.back);
	if (r.back == NULL)
		return SH_ENOMEM;
	const uint8_t *p = m->entries, *end = m->entries + m->entries_len;
	sh_buf_reset(&a->scratch);
	for (uint32_t i = 0; i < m->count; i++) {
		aae__entry_t e;
		if (aae__entry_next(&p, end, AAE_MSG_REPAIR, &e) != SH_OK)
			break; /* checked by aae__decode already */
		if (e.has_record)
			aae__join(a, m->partition, &e);
		aae__answer(a, &r, &e);
	}
	int rc = aae__send_reply(a, from, m, &r);
	free(r.back);
	aae__buf_trim(&a->scratch);
	return rc;
}

/* The peer's REPLY: join its copies; the exchange counts the keys. */
int aae__recv_reply(aae_t *a, uint64_t now_ms, const char *from,
                    const aae__msg_t *m)
{
	int slot;
	if (aae__part(a, m->partition) == NULL)
		return SH_ENOTFOUND;
	const uint8_t *p = m->entries, *end = m->entries + m->entries_len;
	for (uint32_t i = 0; i < m->count; i++) {
		aae__entry_t e;
		if (aae__entry_next(&p, end, AAE_MSG_REPLY, &e) != SH_OK)
			break;
		aae__join(a, m->partition, &e);
	}
	aae_side_t *s = aae__find(a, m->xid, from, &slot);
	if (s == NULL || !s->initiator)
		return SH_OK; /* late, yet joined: a join is always safe */
	if (s->replies_pending > 0)
		s->replies_pending--;
	s->heard_ms = now_ms;
	s->keys_repaired += m->joined;
	a->stats.keys_repaired += m->joined;
	return SH_OK;
}
