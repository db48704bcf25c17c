/*
 * node_hint.c - hinted handoff in the shell (DESIGN.md section 8,
 * antientropy/hint.h): the hint_t replay machine fed with SWIM's events
 * and the store's hints, its HINT_BATCH / HINT_ACK messages on internode
 * frames (kind 3, the same as coordinator messages: handoff_wire_type
 * tells them apart), and /cluster/hints, /stats and /metrics figures.
 *
 * Sender (a fallback holding hints): at start-up every primary's stored
 * hints are counted (hint_set_pending); SWIM's up / down / left events
 * resume, pause or redirect replay. Each flush round runs node__hint_turn:
 * hint_tick, hint_ready (messages go to the primary's --bind address,
 * conditional hint deletes go to the store batch), hint_advance, then the
 * requested scans (store_scan_hints; each hint's object read from the
 * objects keyspace) and hint_scan_end.
 *
 * Receiver (the primary): a HINT_BATCH joins every record into the own
 * copy (coord_join_record) in the turn's store batch; its HINT_ACK is
 * queued and sent only after that batch committed (node__hint_acks), so
 * a hint is deleted only once its object is durable on the primary. A
 * failed commit drops the queued acks: the sender times out and resends.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/json.h"
#include "node/node_int.h"

/* Hints counted per store call at start-up and when a primary is up. */
#define NODE__HINT_COUNT_CHUNK 4096
/* Hints stored for a primary are counted again at most this often. */
#define NODE_HINT_RECOUNT_MS 1000

/* A requested scan, copied before hint_advance (its name is ours). */
struct node_hint_scan {
	hint_scan_t s;
	char primary[HANDOFF_NAME_MAX + 1];
};

int node__hint_open(node_t *n)
{
	hint_config_t hc;
	hint_config_default(&hc);
	hc.self = n->cfg.name;
	hc.bytes_per_s = n->cfg.handoff_bytes_per_s;
	hc.id_base = sh_rand_u64(&n->rand) >> 1;
	n->hint_msg = malloc(sizeof *n->hint_msg);
	n->hint_scans = calloc(hc.dests_max, sizeof *n->hint_scans);
	int rc =
	    n->hint_msg && n->hint_scans ? hint_init(&n->hint, &hc) : SH_ENOMEM;
	if (rc != SH_OK) {
		free(n->hint_msg);
		free(n->hint_scans);
		n->hint_msg = NULL;
		n->hint_scans = NULL;
		sh_log(SH_LOG_ERROR, "hint_init: %s", sh_strerror(rc));
		return rc;
	}
	n->hint_open = 1;
	return SH_OK;
}

void node__hint_close(node_t *n)
{
	if (n->hint_open)
		hint_free(&n->hint);
	n->hint_open = 0;
	free(n->hint_msg);
	free(n->hint_scans);
	n->hint_msg = NULL;
	n->hint_scans = NULL;
	sh_buf_free(&n->hint_keys);
	sh_buf_free(&n->hint_recount);
	sh_buf_free(&n->hint_acks);
}

/* ---- counting stored hints ---- */

typedef struct node__count {
	char primary[STORE_PRIMARY_BYTES_MAX + 1];
	uint64_t count;
	node_t *n;
} node__count_t;

static void node__count_flush(node__count_t *c)
{
	if (c->primary[0] == '\0' || strcmp(c->primary, c->n->cfg.name) == 0)
		return;
	int rc =
	    hint_set_pending(&c->n->hint, node__now_ms(), c->primary, c->count);
	if (rc != SH_OK)
		sh_log(SH_LOG_WARN, "hints for %s: %s", c->primary,
		       sh_strerror(rc));
}

static int node__count_cb(void *arg, const store_entry_t *e)
{
	node__count_t *c = arg;
	const store_key_parts_t *p = &e->parts;
	if (p->primary_len != strlen(c->primary) ||
	    memcmp(p->primary, c->primary, p->primary_len) != 0) {
		node__count_flush(c);
		memcpy(c->primary, p->primary, p->primary_len);
		c->primary[p->primary_len] = '\0';
		c->count = 0;
	}
	c->count++;
	return SH_OK;
}

/* node__hint_count - count the stored hints of primary (NULL: of every
 * primary) and tell the machine. Outside a scan; any batch state. */
void node__hint_count(node_t *n, const char *primary)
{
	node__count_t c;
	store_cursor_t cur;
	memset(&c, 0, sizeof c);
	memset(&cur, 0, sizeof cur);
	c.n = n;
	if (primary != NULL)
		snprintf(c.primary, sizeof c.primary, "%s", primary);
	size_t plen = primary != NULL ? strlen(primary) : 0;
	while (!cur.done) {
		int rc = store_scan_hints(&n->store, primary, plen, &cur,
		                          NODE__HINT_COUNT_CHUNK,
		                          node__count_cb, &c);
		if (rc != SH_OK) {
			sh_log(SH_LOG_WARN, "counting hints: %s",
			       sh_strerror(rc));
			return;
		}
	}
	node__count_flush(&c);
}

/* ---- SWIM events ---- */

void node__hint_member(node_t *n, const char *name, int kind)
{
	if (!n->hint_open || strcmp(name, n->cfg.name) == 0)
		return;
	uint64_t now = node__now_ms();
	int rc = SH_OK;
	if (kind == SWIM_EV_UP) {
		/* counted in the next turn, after the deletes already acked
		 * are done (counting now would count them again) */
		rc = sh_buf_append(&n->hint_recount, name, strlen(name) + 1);
		if (rc == SH_OK)
			rc = hint_primary_up(&n->hint, now, name);
	} else if (kind == SWIM_EV_DOWN) {
		hint_primary_down(&n->hint, now, name);
	} else if (kind == SWIM_EV_LEFT) {
		rc = hint_primary_left(&n->hint, now, name);
	}
	if (rc != SH_OK)
		sh_log(SH_LOG_WARN, "hints for %s: %s", name, sh_strerror(rc));
}

/* ---- sending: messages and conditional deletes ---- */

static void node__hint_send(node_t *n, const hint_msg_t *m)
{
	swim_member_info_t info;
	if (swim_member_get(&n->swim, m->to, &info) != SH_OK ||
	    info.meta == NULL) {
		n->stats.frames_dropped++; /* the machine resends on timeout */
		return;
	}
	node__peer_send(n, info.meta->addr, NODE_FRAME_COORD, m->data, m->len);
}

/* Delete the hint if its object is as it was sent (hint.h DELETES), and
 * then a fallback's copy no one needs (coord_drop_stray). */
static void node__hint_del(node_t *n, const hint_del_t *d)
{
	store_key_t hk, ok;
	const uint8_t *val;
	size_t len;
	if (d->hint_key_len > sizeof hk.bytes)
		return;
	hk.space = STORE_HINTS;
	hk.len = d->hint_key_len;
	memcpy(hk.bytes, d->hint_key, d->hint_key_len);
	if (store_key_hint_object(&ok, &hk) != SH_OK || node__batch(n) != SH_OK)
		return;
	int rc = store_get(&n->store, &ok, &val, &len);
	int same =
	    d->had_record
	        ? rc == SH_OK && handoff_record_hash(val, len) == d->record_hash
	        : rc == SH_ENOTFOUND;
	if (!same)
		return;
	int dropped;
	if (store_del(&n->store, &hk) != SH_OK)
		sh_log(SH_LOG_WARN, "deleting a hint: %s",
		       store_errmsg(&n->store));
	else if (d->had_record && coord_drop_stray(&n->coord, &ok, &dropped))
		sh_log(SH_LOG_WARN, "dropping a fallback copy: %s",
		       store_errmsg(&n->store));
}

/* ---- scans ---- */

static int node__keys_cb(void *arg, const store_entry_t *e)
{
	sh_buf_t *keys = arg;
	uint8_t hdr[2] = {(uint8_t)(e->key->len >> 8), (uint8_t)e->key->len};
	int rc = sh_buf_append(keys, hdr, 2);
	if (rc == SH_OK)
		rc = sh_buf_append(keys, e->key->bytes, e->key->len);
	return rc;
}

/* The current owner a left primary's hint goes to: the first primary of
 * the key's preference list that is up (for the ring and for SWIM); NULL
 * if none. */
static const char *node__hint_owner(node_t *n, const store_key_t *ok)
{
	store_key_parts_t p;
	ring_preflist_t pl;
	if (store_key_parse(STORE_OBJECTS, ok->bytes, ok->len, &p) != SH_OK ||
	    coord_preflist(&n->coord, p.bucket, p.bucket_len, p.key, p.key_len,
	                   n->cfg.n, &pl) != SH_OK)
		return NULL;
	for (unsigned i = 0; i < pl.n; i++) {
		swim_member_info_t info;
		if (!pl.entries[i].is_up ||
		    swim_member_get(&n->swim, pl.entries[i].name, &info) !=
		        SH_OK ||
		    (info.state != SWIM_ALIVE && info.state != SWIM_SUSPECT))
			continue; /* the ring may not know yet that it left */
		return pl.entries[i].name;
	}
	return NULL;
}

/* Feed one scanned hint with its object; HANDOFF_FULL ends the scan. */
static int node__hint_feed(node_t *n, const char *primary, int need_owner,
                           const uint8_t *key, size_t key_len)
{
	store_key_t hk, ok;
	hint_entry_t e;
	memset(&e, 0, sizeof e);
	hk.space = STORE_HINTS;
	hk.len = key_len;
	memcpy(hk.bytes, key, key_len);
	int rc = store_key_hint_object(&ok, &hk);
	if (rc != SH_OK)
		return rc;
	rc = store_get(&n->store, &ok, &e.record, &e.record_len);
	if (rc == SH_ENOTFOUND || (rc == SH_OK && e.record_len == 0)) {
		e.record = NULL;
		e.record_len = 0;
	} else if (rc != SH_OK) {
		return rc;
	}
	e.hint_key = hk.bytes;
	e.hint_key_len = hk.len;
	e.obj_key = ok.bytes;
	e.obj_key_len = ok.len;
	if (need_owner)
		e.owner = node__hint_owner(n, &ok);
	return hint_feed(&n->hint, primary, &e);
}

/* Run one scan hint_ready asked for (the store's callback may not call
 * into the store: keys are collected first, then their objects read). */
static void node__hint_scan(node_t *n, const hint_scan_t *s,
                            const char *primary)
{
	store_cursor_t cur;
	memset(&cur, 0, sizeof cur);
	cur.after.space = STORE_HINTS;
	if (s->after_len > 0 && s->after_len <= sizeof cur.after.bytes) {
		cur.after.len = s->after_len;
		memcpy(cur.after.bytes, s->after, s->after_len);
	}
	sh_buf_reset(&n->hint_keys);
	int rc = store_scan_hints(&n->store, primary, strlen(primary), &cur,
	                          s->limit > 0 ? s->limit : 1, node__keys_cb,
	                          &n->hint_keys);
	int done = rc == SH_OK && cur.done;
	for (size_t off = 0; rc == SH_OK && off + 2 <= n->hint_keys.len;) {
		const uint8_t *p = n->hint_keys.data + off;
		size_t len = (size_t)p[0] << 8 | p[1];
		rc = node__hint_feed(n, primary, s->need_owner, p + 2, len);
		off += 2 + len;
		if (rc == HANDOFF_FULL) {
			done = 0;
			rc = SH_OK;
			break;
		}
	}
	if (rc != SH_OK)
		sh_log(SH_LOG_WARN, "hint scan for %s: %s", primary,
		       sh_strerror(rc));
	hint_scan_end(&n->hint, node__now_ms(), primary, done, rc);
}

/* ---- the turn ---- */

/* Act on one hint_ready; returns the scans copied into scans[]. */
static size_t node__hint_outputs(node_t *n, struct node_hint_scan *scans,
                                 size_t cap, uint64_t *due)
{
	hint_ready_t rd;
	hint_ready(&n->hint, &rd);
	for (size_t i = 0; i < rd.msg_count; i++)
		node__hint_send(n, &rd.msgs[i]);
	for (size_t i = 0; i < rd.del_count; i++)
		node__hint_del(n, &rd.dels[i]);
	size_t k = 0;
	for (size_t i = 0; i < rd.scan_count && k < cap; i++) {
		scans[k].s = rd.scans[i];
		snprintf(scans[k].primary, sizeof scans[k].primary, "%s",
		         rd.scans[i].primary);
		k++;
	}
	*due = rd.next_deadline_ms;
	hint_advance(&n->hint);
	return k;
}

/* Hints stored for a primary that is up in this node's view (a write it
 * did not acknowledge in time, or one a coordinator that saw it down sent
 * here as a fallback: coord.h) start no replay by themselves, which waits
 * for SWIM's up event; counting them does. */
void node__hint_stored(node_t *n, const char (*names)[COORD_NAME_MAX + 1],
                       size_t count, int more)
{
	uint64_t now = node__now_ms();
	if (more)
		n->hint_due_all = 1;
	for (size_t i = 0; i < count; i++) {
		/* a dead primary's hints are counted at its up event: no
		 * scan of them every second of an outage */
		swim_member_info_t info;
		if (swim_member_get(&n->swim, names[i], &info) == SH_OK &&
		    info.state == SWIM_DEAD)
			continue;
		struct node_hint_due *free_slot = NULL, *d = NULL;
		for (size_t k = 0; k < COORD_HINTED_MAX && d == NULL; k++) {
			struct node_hint_due *e = &n->hint_due[k];
			/* a slot counted and quiet since may serve another */
			int idle = e->name[0] == '\0' ||
			           (!e->dirty && now >= e->next_ms);
			if (strcmp(e->name, names[i]) == 0)
				d = e;
			else if (idle && free_slot == NULL)
				free_slot = e;
		}
		if (d == NULL && free_slot == NULL) {
			n->hint_due_all = 1; /* no room: count them all */
			continue;
		}
		if (d == NULL) {
			d = free_slot;
			snprintf(d->name, sizeof d->name, "%s", names[i]);
			d->next_ms = 0;
		}
		d->dirty = 1;
	}
}

/* Queue the recounts node__hint_stored asked for that are due; the time
 * the first one deferred (at most one a second each) comes due, or
 * UINT64_MAX. */
static uint64_t node__hint_due(node_t *n, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (n->hint_due_all && now >= n->hint_due_all_ms) {
		n->hint_due_all = 0;
		n->hint_due_all_ms = now + NODE_HINT_RECOUNT_MS;
		n->hint_recount_all = 1;
	} else if (n->hint_due_all) {
		next = n->hint_due_all_ms;
	}
	for (size_t k = 0; k < COORD_HINTED_MAX; k++) {
		struct node_hint_due *d = &n->hint_due[k];
		if (d->name[0] == '\0' || !d->dirty)
			continue;
		if (now < d->next_ms) {
			next = d->next_ms < next ? d->next_ms : next;
			continue;
		}
		if (sh_buf_append(&n->hint_recount, d->name,
		                  strlen(d->name) + 1) != SH_OK)
			continue;
		d->dirty = 0;
		d->next_ms = now + NODE_HINT_RECOUNT_MS;
	}
	return next;
}

/* Count the hints of the primaries SWIM saw come up (node__hint_member)
 * or that the coordinator stored hints for (node__hint_stored). */
static void node__hint_recount(node_t *n)
{
	if (n->hint_recount_all) {
		n->hint_recount_all = 0;
		node__hint_count(n, NULL);
		sh_buf_reset(&n->hint_recount); /* counted with the rest */
		return;
	}
	for (size_t off = 0; off < n->hint_recount.len;) {
		const char *name = (const char *)n->hint_recount.data + off;
		off += strlen(name) + 1;
		node__hint_count(n, name);
	}
	sh_buf_reset(&n->hint_recount);
}

uint64_t node__hint_turn(node_t *n)
{
	uint64_t due = UINT64_MAX;
	if (!n->hint_open || n->stopping)
		return due;
	size_t cap = n->hint.cfg.dests_max;
	struct node_hint_scan *scans = n->hint_scans;
	uint64_t now = node__now_ms();
	hint_tick(&n->hint, now);
	uint64_t recount_due = node__hint_due(n, now);
	for (int round = 0; round < 4; round++) {
		size_t k = node__hint_outputs(n, scans, cap, &due);
		if (round == 0)
			node__hint_recount(n);
		if (k == 0)
			break;
		for (size_t i = 0; i < k; i++)
			node__hint_scan(n, &scans[i].s, scans[i].primary);
		due = node__now_ms(); /* scan ends may have made batches */
	}
	return recount_due < due ? recount_due : due;
}

/* ---- receiving ---- */

static void node__hint_queue_ack(node_t *n, const char *addr, uint64_t id,
                                 int status)
{
	sh_buf_reset(&n->scratch);
	if (handoff_wire_ack(&n->scratch, HANDOFF_WIRE_HINT_ACK, id, status) !=
	    SH_OK)
		return;
	size_t alen = strlen(addr);
	uint8_t hdr[5] = {(uint8_t)alen, (uint8_t)(n->scratch.len >> 24),
	                  (uint8_t)(n->scratch.len >> 16),
	                  (uint8_t)(n->scratch.len >> 8),
	                  (uint8_t)n->scratch.len};
	size_t mark = n->hint_acks.len;
	if (sh_buf_append(&n->hint_acks, hdr, 5) != SH_OK ||
	    sh_buf_append(&n->hint_acks, addr, alen) != SH_OK ||
	    sh_buf_append(&n->hint_acks, n->scratch.data, n->scratch.len) !=
	        SH_OK)
		n->hint_acks.len = mark;
}

/* Join a HINT_BATCH into the own copies; ack after the commit. */
static void node__hint_batch(node_t *n, const char *from, const char *addr,
                             const handoff_wire_msg_t *m)
{
	int status = node__batch(n);
	size_t bad = 0;
	for (size_t i = 0; status == SH_OK && i < m->count; i++) {
		const handoff_wire_entry_t *e = &m->entries[i];
		int rc = coord_join_record(&n->coord, e->okey, e->okey_len,
		                           e->record, e->record_len);
		if (rc == SH_EIO || rc == SH_ENOMEM || rc == SH_EFULL)
			status = rc; /* the store failed: the sender retries */
		else if (rc != SH_OK)
			bad++; /* a damaged entry: retrying will not help */
	}
	if (bad > 0)
		sh_log(SH_LOG_WARN, "hint batch from %s: %zu bad entries", from,
		       bad);
	n->hints_received += m->count - bad;
	node__hint_queue_ack(n, addr, m->id, status);
}

void node__hint_recv(node_t *n, const char *from, const char *addr,
                     const uint8_t *data, size_t len)
{
	int type = handoff_wire_type(data, len);
	uint64_t now = node__now_ms();
	if (!n->hint_open)
		return;
	if (type == HANDOFF_WIRE_HINT_ACK) {
		int rc = hint_recv(&n->hint, now, from, data, len);
		if (rc != SH_OK && rc != SH_ENOTFOUND)
			sh_log(SH_LOG_DEBUG, "hint ack from %s: %s", from,
			       sh_strerror(rc));
		return;
	}
	if (type == HANDOFF_WIRE_BATCH || type == HANDOFF_WIRE_ACK) {
		node__xfer_recv(n, from, data, len); /* ownership handoff */
		return;
	}
	if (type != HANDOFF_WIRE_HINT_BATCH) {
		sh_log(SH_LOG_DEBUG, "handoff message %d from %s: not served",
		       type, from);
		return;
	}
	int rc =
	    handoff_wire_decode(data, len, n->cfg.frame_bytes_max, n->hint_msg);
	if (rc != SH_OK) {
		sh_log(SH_LOG_WARN, "hint batch from %s: %s", from,
		       sh_strerror(rc));
		return;
	}
	node__hint_batch(n, from, addr, n->hint_msg);
}

void node__hint_acks(node_t *n, int committed)
{
	size_t off = 0;
	while (committed && off + 5 <= n->hint_acks.len) {
		const uint8_t *p = n->hint_acks.data + off;
		size_t alen = p[0];
		size_t mlen = (size_t)p[1] << 24 | (size_t)p[2] << 16 |
		              (size_t)p[3] << 8 | p[4];
		char addr[SWIM_ADDR_MAX + 1];
		if (alen > SWIM_ADDR_MAX)
			break;
		memcpy(addr, p + 5, alen);
		addr[alen] = '\0';
		node__peer_send(n, addr, NODE_FRAME_COORD, p + 5 + alen, mlen);
		off += 5 + alen + mlen;
	}
	sh_buf_reset(&n->hint_acks);
}

/* ---- figures ---- */

static const char *node__hint_state_name(hint_dest_state_t st)
{
	switch (st) {
	case HINT_DEST_IDLE: return "idle";
	case HINT_DEST_DOWN: return "down";
	case HINT_DEST_SCANNING: return "scanning";
	case HINT_DEST_THROTTLED: return "throttled";
	case HINT_DEST_SENDING: return "sending";
	case HINT_DEST_BACKOFF: return "backoff";
	}
	return "?";
}

/* The destinations (caller frees); *count is how many. */
static hint_dest_info_t *node__hint_dests(node_t *n, size_t *count)
{
	size_t cap = n->hint.cfg.dests_max;
	hint_dest_info_t *d = calloc(cap, sizeof *d);
	*count = 0;
	if (d != NULL) {
		*count = hint_dests(&n->hint, d, cap);
		if (*count > cap)
			*count = cap;
	}
	return d;
}

void node__hint_json(node_t *n, json_w_t *w)
{
	hint_stats_t hs;
	store_stats_t st = {0};
	size_t count;
	memset(&hs, 0, sizeof hs);
	if (n->hint_open)
		hint_stats(&n->hint, &hs);
	store_stats(&n->store, STORE_HINTS, &st);
	json_w_obj_begin(w);
	json_w_kv_u64(w, "stored", st.entries);
	json_w_kv_u64(w, "replayed", hs.replayed);
	json_w_kv_u64(w, "failed", hs.failed);
	json_w_kv_u64(w, "bytes", hs.bytes);
	json_w_kv_u64(w, "batches", hs.batches);
	json_w_kv_u64(w, "redirected", hs.redirected);
	json_w_kv_u64(w, "stale_acks", hs.stale_acks);
	json_w_kv_u64(w, "rejected", hs.rejected);
	json_w_kv_u64(w, "received", n->hints_received);
	json_w_kv_u64(w, "bytes_per_s", n->cfg.handoff_bytes_per_s);
	json_w_key(w, "destinations");
	json_w_arr_begin(w);
	hint_dest_info_t *d = n->hint_open ? node__hint_dests(n, &count) : NULL;
	for (size_t i = 0; d != NULL && i < count; i++) {
		json_w_obj_begin(w);
		json_w_kv_str(w, "name", d[i].name);
		json_w_kv_str(w, "state", node__hint_state_name(d[i].state));
		json_w_kv_bool(w, "left", d[i].left);
		json_w_kv_u64(w, "pending", d[i].pending);
		json_w_kv_u64(w, "replayed", d[i].replayed);
		json_w_kv_u64(w, "failed", d[i].failed);
		json_w_kv_u64(w, "bytes", d[i].bytes);
		json_w_obj_end(w);
	}
	free(d);
	json_w_arr_end(w);
	json_w_obj_end(w);
}

static void node__hint_prom_line(sh_buf_t *out, const char *name,
                                 const char *type, const char *dest, uint64_t v)
{
	char line[512];
	int len;
	if (dest == NULL)
		len = snprintf(line, sizeof line, "%s %" PRIu64 "\n", name, v);
	else
		len = snprintf(line, sizeof line,
		               "%s{destination=\"%s\"} %" PRIu64 "\n", name,
		               dest, v);
	if (type != NULL) {
		char head[128];
		int hl =
		    snprintf(head, sizeof head, "# TYPE %s %s\n", name, type);
		if (hl > 0 && (size_t)hl < sizeof head)
			sh_buf_append(out, head, (size_t)hl);
	}
	if (len > 0 && (size_t)len < sizeof line)
		sh_buf_append(out, line, (size_t)len);
}

void node__hint_prom(node_t *n, sh_buf_t *out)
{
	hint_stats_t hs;
	size_t count;
	memset(&hs, 0, sizeof hs);
	if (!n->hint_open)
		return;
	hint_stats(&n->hint, &hs);
	node__hint_prom_line(out, "shoal_hints_replayed_total", "counter", NULL,
	                     hs.replayed);
	node__hint_prom_line(out, "shoal_hint_batches_failed_total", "counter",
	                     NULL, hs.failed);
	node__hint_prom_line(out, "shoal_hint_bytes_total", "counter", NULL,
	                     hs.bytes);
	node__hint_prom_line(out, "shoal_hints_received_total", "counter", NULL,
	                     n->hints_received);
	hint_dest_info_t *d = node__hint_dests(n, &count);
	for (size_t i = 0; d != NULL && i < count; i++)
		node__hint_prom_line(out, "shoal_hints_pending",
		                     i == 0 ? "gauge" : NULL, d[i].name,
		                     d[i].pending);
	free(d);
}
