/*
 * hint.c - hinted handoff replay: one resumable, throttled, acknowledged
 * stream of hints per destination primary. The rules are in hint.h; the
 * stream engine is handoff_stream.c, the wire format handoff.h.
 */
#include <stdlib.h>
#include <string.h>

#include "antientropy/handoff_int.h"
#include "antientropy/hint.h"
#include "common/sh_assert.h"
#include "common/sh_err.h"

typedef struct hint_dest {
	char name[HANDOFF_NAME_MAX + 1];
	int up;           /* SWIM says alive */
	int left;         /* left the cluster: hints go to current owners */
	int drained;      /* a pass found nothing: idle until told otherwise */
	int cancel;       /* went down while a scan was out: drop it at end */
	int blocked;      /* a left primary's entry had no owner reachable */
	size_t pass_sent; /* hints acknowledged in this pass */
	size_t dels_unreported;
	uint64_t pending, replayed, failed, bytes;
	handoff__stream_t s;
} hint_dest_t;

typedef struct hint__del {
	size_t name_off, key_off, key_len;
	int had_record;
	uint64_t record_hash;
} hint__del_t;

void hint_config_default(hint_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->batch_keys_max = HINT_BATCH_KEYS_DEFAULT;
	cfg->batch_bytes_max = HINT_BATCH_BYTES_DEFAULT;
	cfg->ack_timeout_ms = HINT_ACK_TIMEOUT_MS_DEFAULT;
	cfg->dests_max = HINT_DESTS_DEFAULT;
}

int hint_init(hint_t *h, const hint_config_t *cfg)
{
	memset(h, 0, sizeof(*h));
	if (cfg == NULL || handoff__name_copy(h->self, cfg->self) != 0)
		return SH_EINVAL;
	if (cfg->batch_keys_max == 0 ||
	    cfg->batch_keys_max > HANDOFF_WIRE_ENTRIES_MAX ||
	    cfg->batch_bytes_max == 0 || cfg->ack_timeout_ms == 0 ||
	    cfg->dests_max == 0 || cfg->dests_max > HINT_DESTS_MAX)
		return SH_EINVAL;
	h->cfg = *cfg;
	h->cfg.self = h->self;
	handoff_bucket_init(&h->own_bucket, cfg->bytes_per_s, 0);
	h->bucket = cfg->bucket != NULL ? cfg->bucket : &h->own_bucket;
	h->next_id = cfg->id_base;
	h->dests = calloc(cfg->dests_max, sizeof(*h->dests));
	h->scans = calloc(cfg->dests_max, sizeof(*h->scans));
	h->msgs = calloc(cfg->dests_max, sizeof(*h->msgs));
	if (h->dests == NULL || h->scans == NULL || h->msgs == NULL) {
		hint_free(h);
		return SH_ENOMEM;
	}
	return 0;
}

void hint_free(hint_t *h)
{
	for (size_t i = 0; i < h->dest_count; i++)
		handoff__stream_free(&h->dests[i].s);
	free(h->dests);
	free(h->scans);
	free(h->msgs);
	free(h->del_recs);
	free(h->dels);
	sh_buf_free(&h->del_bytes);
	memset(h, 0, sizeof(*h));
}

static hint_dest_t *dest_find(hint_t *h, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < h->dest_count; i++)
		if (strcmp(h->dests[i].name, name) == 0)
			return &h->dests[i];
	return NULL;
}

/* A slot to reuse: an idle destination with nothing worth keeping. */
static hint_dest_t *dest_evictable(hint_t *h)
{
	hint_dest_t *down = NULL;

	for (size_t i = 0; i < h->dest_count; i++) {
		hint_dest_t *d = &h->dests[i];

		if (d->s.st != HANDOFF__ST_IDLE || d->dels_unreported != 0)
			continue;
		if (d->drained && !d->left)
			return d;
		if (!d->up && !d->left && down == NULL)
			down = d; /* its cursor is only an optimisation */
	}
	return down;
}

static int dest_get(hint_t *h, const char *name, hint_dest_t **out)
{
	char tmp[HANDOFF_NAME_MAX + 1];
	hint_dest_t *d;

	sh_assert(!h->in_ready);
	if (handoff__name_copy(tmp, name) != 0)
		return SH_EINVAL;
	if ((d = dest_find(h, name)) != NULL) {
		*out = d;
		return 0;
	}
	if (h->dest_count < h->cfg.dests_max) {
		d = &h->dests[h->dest_count++];
	} else if ((d = dest_evictable(h)) != NULL) {
		handoff__stream_free(&d->s);
	} else {
		h->stats.dests_full++;
		return SH_EFULL;
	}
	memset(d, 0, sizeof(*d));
	memcpy(d->name, tmp, sizeof(tmp));
	handoff__stream_init(&d->s);
	*out = d;
	return 0;
}

/* (Re)start replay from the cursor if the destination may replay. */
static void dest_kick(hint_dest_t *d)
{
	if ((d->up || d->left) && d->s.st == HANDOFF__ST_IDLE) {
		d->drained = 0;
		d->s.st = HANDOFF__ST_SCAN;
	}
}

static void dest_backoff(hint_t *h, hint_dest_t *d)
{
	handoff__stream_drop_batch(&d->s, HANDOFF__ST_BACKOFF);
	d->s.deadline_ms = h->now_ms + h->cfg.ack_timeout_ms;
}

static void see_time(hint_t *h, uint64_t now_ms)
{
	if (now_ms > h->now_ms)
		h->now_ms = now_ms;
}

int hint_primary_up(hint_t *h, uint64_t now_ms, const char *primary)
{
	hint_dest_t *d;
	int err;

	see_time(h, now_ms);
	if ((err = dest_get(h, primary, &d)) != 0)
		return err;
	d->up = 1;
	dest_kick(d);
	return 0;
}

void hint_primary_down(hint_t *h, uint64_t now_ms, const char *primary)
{
	hint_dest_t *d = dest_find(h, primary);

	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (d == NULL || d->left)
		return;
	d->up = 0;
	if (d->s.st == HANDOFF__ST_SCANNING)
		d->cancel = 1; /* scan_end drops it */
	else
		handoff__stream_drop_batch(&d->s, HANDOFF__ST_IDLE);
}

int hint_primary_left(hint_t *h, uint64_t now_ms, const char *primary)
{
	hint_dest_t *d;
	int err;

	see_time(h, now_ms);
	if ((err = dest_get(h, primary, &d)) != 0)
		return err;
	if (!d->left && d->s.st != HANDOFF__ST_IDLE) {
		/* batches so far went to the primary itself: start over */
		if (d->s.st == HANDOFF__ST_SCANNING)
			d->cancel = 1;
		else
			handoff__stream_drop_batch(&d->s, HANDOFF__ST_SCAN);
	}
	d->left = 1;
	d->up = 0;
	dest_kick(d);
	return 0;
}

int hint_set_pending(hint_t *h, uint64_t now_ms, const char *primary,
                     uint64_t count)
{
	hint_dest_t *d;
	int err;

	see_time(h, now_ms);
	if (count == 0 && dest_find(h, primary) == NULL)
		return 0;
	if ((err = dest_get(h, primary, &d)) != 0)
		return err;
	d->pending = count;
	if (count > 0)
		dest_kick(d);
	return 0;
}

int hint_feed(hint_t *h, const char *primary, const hint_entry_t *e)
{
	handoff__limits_t lim = {h->cfg.batch_keys_max, h->cfg.batch_bytes_max};
	hint_dest_t *d = dest_find(h, primary);
	const char *to;

	sh_assert(!h->in_ready);
	if (d == NULL || d->s.st != HANDOFF__ST_SCANNING || e == NULL)
		return SH_EINVAL;
	if (d->cancel)
		return HANDOFF_FULL;
	to = d->left ? e->owner : d->name;
	if (to == NULL || to[0] == '\0' ||
	    strnlen(to, HANDOFF_NAME_MAX + 1) > HANDOFF_NAME_MAX) {
		d->blocked = d->s.item_count == 0;
		d->s.refused = 1;
		return HANDOFF_FULL;
	}
	if (d->s.item_count == 0)
		strcpy(d->s.to, to);
	else if (strcmp(d->s.to, to) != 0) {
		d->s.refused = 1; /* another owner: next batch */
		return HANDOFF_FULL;
	}
	return handoff__stream_offer(&d->s, &lim, e->hint_key, e->hint_key_len,
	                             e->obj_key, e->obj_key_len, e->record,
	                             e->record_len);
}

/* Record the batch's hints as deletes to report. */
static int push_dels(hint_t *h, hint_dest_t *d)
{
	size_t name_off = h->del_bytes.len, n = d->s.item_count;
	int err;

	err = sh_array_reserve((void **)&h->del_recs, &h->del_cap,
	                       h->del_count + n, sizeof(*h->del_recs));
	if (err != 0)
		return err;
	err = sh_array_reserve((void **)&h->dels, &h->dels_cap,
	                       h->del_count + n, sizeof(*h->dels));
	if (err != 0)
		return err;
	if (sh_buf_append(&h->del_bytes, d->name, strlen(d->name) + 1) != 0)
		return SH_ENOMEM;
	if (sh_buf_append(&h->del_bytes, d->s.keys.data, d->s.keys.len) != 0) {
		h->del_bytes.len = name_off;
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		hint__del_t *r = &h->del_recs[h->del_count++];
		const handoff__item_t *it = &d->s.items[i];

		r->name_off = name_off;
		r->key_off = name_off + strlen(d->name) + 1 + it->key_off;
		r->key_len = it->key_len;
		r->had_record = it->has_record;
		r->record_hash = it->record_hash;
	}
	d->dels_unreported += n;
	return 0;
}

/* The pass ended with nothing more to read: go again or rest. */
static void pass_end(hint_dest_t *d)
{
	d->s.cursor_len = 0;
	if (d->pass_sent > 0) {
		d->pass_sent = 0;
		handoff__stream_drop_batch(&d->s, HANDOFF__ST_SCAN);
	} else {
		d->drained = 1;
		handoff__stream_drop_batch(&d->s, HANDOFF__ST_IDLE);
	}
}

/* The batch is acknowledged (or needed no message): report its deletes. */
static void batch_done(hint_t *h, hint_dest_t *d)
{
	size_t n = d->s.item_count;

	if (push_dels(h, d) != 0) {
		/* nothing deleted: the hints are replayed again later */
		dest_backoff(h, d);
		return;
	}
	handoff__stream_commit_cursor(&d->s);
	d->replayed += n;
	d->pending = d->pending > n ? d->pending - n : 0;
	d->pass_sent += n;
	h->stats.replayed += n;
	if (d->left && strcmp(d->s.to, h->self) != 0)
		h->stats.redirected += n;
	if (d->s.exhausted)
		pass_end(d);
	else
		handoff__stream_drop_batch(&d->s, HANDOFF__ST_SCAN);
}

static void dest_try_send(hint_t *h, hint_dest_t *d)
{
	if (!handoff__stream_try_send(&d->s, h->bucket, h->now_ms,
	                              h->cfg.ack_timeout_ms))
		return;
	d->bytes += d->s.msg.len;
	h->stats.bytes += d->s.msg.len;
	h->stats.batches++;
}

static void batch_build(hint_t *h, hint_dest_t *d)
{
	int err;

	if (d->s.body_count == 0 || strcmp(d->s.to, h->self) == 0) {
		batch_done(h, d); /* nothing to send: objects gone or local */
		return;
	}
	d->s.batch_id = h->next_id++;
	err = handoff__wire_hint_batch(&d->s.msg, d->s.batch_id, d->name,
	                               &d->s.body, d->s.body_count);
	if (err != 0) {
		dest_backoff(h, d);
		return;
	}
	d->s.st = HANDOFF__ST_THROTTLED;
	dest_try_send(h, d);
}

int hint_scan_end(hint_t *h, uint64_t now_ms, const char *primary, int done,
                  int err)
{
	hint_dest_t *d = dest_find(h, primary);

	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	if (d == NULL || d->s.st != HANDOFF__ST_SCANNING)
		return SH_EINVAL;
	if (d->cancel) {
		d->cancel = 0;
		handoff__stream_drop_batch(&d->s, HANDOFF__ST_IDLE);
		dest_kick(d);
		return 0;
	}
	if (err != 0 || (d->blocked && d->s.item_count == 0)) {
		d->blocked = 0;
		d->failed++;
		h->stats.failed++;
		dest_backoff(h, d);
		return 0;
	}
	d->s.exhausted = done && !d->s.refused;
	if (d->s.item_count == 0) {
		if (d->s.exhausted)
			pass_end(d);
		else
			dest_backoff(h, d); /* nothing taken, not at the end */
		return 0;
	}
	batch_build(h, d);
	return 0;
}

int hint_ack(hint_t *h, uint64_t now_ms, const char *from, uint64_t id,
             int status)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	for (size_t i = 0; i < h->dest_count && from != NULL; i++) {
		hint_dest_t *d = &h->dests[i];

		if (d->s.st != HANDOFF__ST_INFLIGHT || d->s.batch_id != id ||
		    strcmp(d->s.to, from) != 0)
			continue;
		if (status == 0) {
			batch_done(h, d);
		} else {
			d->failed++;
			h->stats.failed++;
			dest_backoff(h, d);
		}
		return 0;
	}
	h->stats.stale_acks++;
	return SH_ENOTFOUND;
}

int hint_recv(hint_t *h, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len)
{
	uint64_t id;
	int status, err;

	err = handoff__wire_decode_ack(data, len, HANDOFF_WIRE_HINT_ACK, &id,
	                               &status);
	if (err != 0) {
		h->stats.rejected++;
		return err;
	}
	return hint_ack(h, now_ms, from, id, status);
}

void hint_tick(hint_t *h, uint64_t now_ms)
{
	sh_assert(!h->in_ready);
	see_time(h, now_ms);
	for (size_t i = 0; i < h->dest_count; i++) {
		hint_dest_t *d = &h->dests[i];

		switch (d->s.st) {
		case HANDOFF__ST_THROTTLED: dest_try_send(h, d); break;
		case HANDOFF__ST_INFLIGHT:
			if (h->now_ms < d->s.deadline_ms)
				break;
			d->failed++; /* lost batch or ack: send it again */
			h->stats.failed++;
			d->s.st = HANDOFF__ST_THROTTLED;
			dest_try_send(h, d);
			break;
		case HANDOFF__ST_BACKOFF:
			if (h->now_ms < d->s.deadline_ms)
				break;
			handoff__stream_drop_batch(&d->s, HANDOFF__ST_IDLE);
			dest_kick(d);
			break;
		default: break;
		}
	}
}

void hint_ready(hint_t *h, hint_ready_t *out)
{
	uint64_t next = HANDOFF_NO_DEADLINE;

	h->in_ready = 1;
	h->scan_count = h->msg_count = 0;
	for (size_t i = 0; i < h->dest_count; i++) {
		hint_dest_t *d = &h->dests[i];
		uint64_t t;

		if (d->s.st == HANDOFF__ST_SCAN) {
			hint_scan_t *sc = &h->scans[h->scan_count++];

			sc->primary = d->name;
			sc->after = d->s.cursor;
			sc->after_len = d->s.cursor_len;
			sc->limit = h->cfg.batch_keys_max;
			sc->need_owner = d->left;
		}
		if (d->s.send_pending) {
			hint_msg_t *m = &h->msgs[h->msg_count++];

			m->to = d->s.to;
			m->data = d->s.msg.data;
			m->len = d->s.msg.len;
		}
		t = handoff__stream_deadline(&d->s, h->bucket, h->now_ms);
		if (t < next)
			next = t;
	}
	for (size_t i = 0; i < h->del_count; i++) {
		const hint__del_t *r = &h->del_recs[i];

		h->dels[i].primary =
		    (const char *)h->del_bytes.data + r->name_off;
		h->dels[i].hint_key = h->del_bytes.data + r->key_off;
		h->dels[i].hint_key_len = r->key_len;
		h->dels[i].had_record = r->had_record;
		h->dels[i].record_hash = r->record_hash;
	}
	out->scans = h->scans;
	out->scan_count = h->scan_count;
	out->msgs = h->msgs;
	out->msg_count = h->msg_count;
	out->dels = h->dels;
	out->del_count = h->del_count;
	out->next_deadline_ms = next;
}

void hint_advance(hint_t *h)
{
	for (size_t i = 0; i < h->dest_count; i++) {
		hint_dest_t *d = &h->dests[i];

		if (d->s.st == HANDOFF__ST_SCAN)
			d->s.st = HANDOFF__ST_SCANNING;
		d->s.send_pending = 0;
		d->dels_unreported = 0;
	}
	h->del_count = 0;
	sh_buf_reset(&h->del_bytes);
	h->in_ready = 0;
}

static hint_dest_state_t dest_state(const hint_dest_t *d)
{
	switch (d->s.st) {
	case HANDOFF__ST_SCAN:
	case HANDOFF__ST_SCANNING: return HINT_DEST_SCANNING;
	case HANDOFF__ST_THROTTLED: return HINT_DEST_THROTTLED;
	case HANDOFF__ST_INFLIGHT: return HINT_DEST_SENDING;
	case HANDOFF__ST_BACKOFF: return HINT_DEST_BACKOFF;
	default: return d->up || d->left ? HINT_DEST_IDLE : HINT_DEST_DOWN;
	}
}

size_t hint_dests(const hint_t *h, hint_dest_info_t *out, size_t cap)
{
	for (size_t i = 0; i < h->dest_count && i < cap; i++) {
		const hint_dest_t *d = &h->dests[i];

		out[i].name = d->name;
		out[i].state = dest_state(d);
		out[i].left = d->left;
		out[i].pending = d->pending;
		out[i].replayed = d->replayed;
		out[i].failed = d->failed;
		out[i].bytes = d->bytes;
	}
	return h->dest_count;
}

void hint_stats(const hint_t *h, hint_stats_t *out)
{
	*out = h->stats;
}
