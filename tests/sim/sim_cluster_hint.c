/*
 * sim_cluster_hint.c - hinted handoff in `shoal-sim cluster`: each node's
 * antientropy/hint.h replay machine, driven the way node/node_hint.c
 * drives it in the shell (that file says why each step is where it is).
 *
 * Sender (a fallback holding hints): when the node starts, every
 * primary's stored hints are counted (hint_set_pending); SWIM's up, down
 * and left events resume, pause or redirect replay. In every step of the
 * node, before its commit, cl_hint_turn ticks the machine, sends its
 * HINT_BATCHes (CL_TAG_HINT stream messages: sending a stored object
 * early loses nothing, the hint stays until the ack), deletes the
 * acknowledged hints whose objects are unchanged (hint.h DELETES) in the
 * step's batch, and runs the scans it asks for.
 *
 * Receiver (the primary): a HINT_BATCH is joined into the own copies
 * (coord_join_record) in the step's batch; the HINT_ACK is queued and
 * leaves only after that batch committed (cl_hint_acks), so a hint is
 * deleted only once its object is durable on the primary.
 *
 * The machine lives as long as the node's run: a crash frees it (the
 * hints stay in the store and are counted again at the restart); a wipe
 * loses them with the store.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "tests/sim/sim_cluster.h"

/* Hints counted per store call; scan rounds per turn (as node_hint.c). */
#define CL_HINT_COUNT_CHUNK 4096
#define CL_HINT_ROUNDS      4

/* ---- names ---- */

/* "n<i>" into i, or -1 */
static int node_of(const cl_sim_t *s, const char *name)
{
	uint32_t id;
	if (name == NULL ||
	    cl_parse_id((const uint8_t *)name, strlen(name), 'n', &id) !=
	        SH_OK ||
	    id >= s->nodes)
		return -1;
	return (int)id;
}

/* ---- counting stored hints ---- */

typedef struct cl_count {
	char primary[STORE_PRIMARY_BYTES_MAX + 1];
	uint64_t count;
	cl_sim_t *s;
	uint32_t i;
} cl_count_t;

static void count_flush(cl_count_t *c)
{
	char self[16];
	snprintf(self, sizeof(self), "n%" PRIu32, c->i);
	if (c->primary[0] == '\0' || strcmp(c->primary, self) == 0)
		return;
	int rc = hint_set_pending(&c->s->node[c->i].hint, c->s->now, c->primary,
	                          c->count);
	sh_assert(rc == SH_OK);
}

static int count_cb(void *arg, const store_entry_t *e)
{
	cl_count_t *c = arg;
	const store_key_parts_t *p = &e->parts;
	if (p->primary_len != strlen(c->primary) ||
	    memcmp(p->primary, c->primary, p->primary_len) != 0) {
		count_flush(c);
		memcpy(c->primary, p->primary, p->primary_len);
		c->primary[p->primary_len] = '\0';
		c->count = 0;
	}
	c->count++;
	return SH_OK;
}

/* Count the stored hints of every primary and tell the machine. */
static void count_all(cl_sim_t *s, uint32_t i)
{
	cl_count_t c;
	store_cursor_t cur;
	memset(&c, 0, sizeof(c));
	store_cursor_init(&cur);
	c.s = s;
	c.i = i;
	for (int guard = 0; !cur.done && guard < 1000000; guard++) {
		int rc = store_scan_hints(&s->node[i].store, NULL, 0, &cur,
		                          CL_HINT_COUNT_CHUNK, count_cb, &c);
		sh_assert(rc == SH_OK);
	}
	count_flush(&c);
}

/* ---- life ---- */

int cl_hint_open(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	char self[16];
	hint_config_t hc;
	snprintf(self, sizeof(self), "n%" PRIu32, i);
	hint_config_default(&hc);
	hc.self = self;
	hc.id_base = sh_rand_u64(&s->rng) >> 1;
	int rc = hint_init(&n->hint, &hc);
	if (rc != SH_OK)
		return rc;
	count_all(s, i);
	return SH_OK;
}

void cl_hint_close(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	hint_stats_t hs;
	hint_stats(&n->hint, &hs);
	n->hint_sum.replayed += hs.replayed;
	n->hint_sum.failed += hs.failed;
	n->hint_sum.bytes += hs.bytes;
	n->hint_sum.batches += hs.batches;
	n->hint_sum.redirected += hs.redirected;
	n->hint_sum.stale_acks += hs.stale_acks;
	n->hint_sum.rejected += hs.rejected;
	hint_free(&n->hint);
	sh_buf_reset(&n->hint_acks);
}

void cl_hint_event(cl_sim_t *s, uint32_t i, const swim_event_t *ev)
{
	cl_node_t *n = &s->node[i];
	int rc = SH_OK;
	if (node_of(s, ev->name) == (int)i)
		return;
	if (ev->kind == SWIM_EV_UP)
		rc = hint_primary_up(&n->hint, s->now, ev->name);
	else if (ev->kind == SWIM_EV_DOWN)
		hint_primary_down(&n->hint, s->now, ev->name);
	else if (ev->kind == SWIM_EV_LEFT)
		rc = hint_primary_left(&n->hint, s->now, ev->name);
	sh_assert(rc == SH_OK);
}

/* ---- sending ---- */

static void send_hint(cl_sim_t *s, uint32_t from, uint32_t to,
                      const uint8_t *data, size_t len)
{
	sh_buf_reset(&s->buf);
	int rc = sh_buf_append_u8(&s->buf, CL_TAG_HINT);
	if (rc == SH_OK)
		rc = sh_buf_append(&s->buf, data, len);
	sh_assert(rc == SH_OK);
	rc = sim_net_send_stream(&s->net, from, to, s->buf.data, s->buf.len,
	                         s->now);
	sh_assert(rc == SH_OK);
}

/* Delete the hint if its object is as it was sent (hint.h DELETES), and
 * then a fallback's copy no one needs (coord_drop_stray), as the node does. */
static void del_hint(cl_sim_t *s, uint32_t i, const hint_del_t *d)
{
	store_t *st = &s->node[i].store;
	store_key_t hk, ok;
	const uint8_t *val;
	size_t len;
	sh_assert(d->hint_key_len <= sizeof(hk.bytes));
	hk.space = STORE_HINTS;
	hk.len = d->hint_key_len;
	memcpy(hk.bytes, d->hint_key, d->hint_key_len);
	sh_assert(store_key_hint_object(&ok, &hk) == SH_OK);
	int rc = store_get(st, &ok, &val, &len);
	int same =
	    d->had_record
	        ? rc == SH_OK && handoff_record_hash(val, len) == d->record_hash
	        : rc == SH_ENOTFOUND;
	int dropped;
	if (!same)
		return;
	sh_assert(store_del(st, &hk) == SH_OK);
	if (d->had_record)
		sh_assert(coord_drop_stray(&s->node[i].coord, &ok, &dropped) ==
		          SH_OK);
}

/* The owner a left primary's hint goes to: the first primary of the
 * key's preference list that is up; NULL if none. */
static const char *hint_owner(cl_sim_t *s, uint32_t i, const store_key_t *ok)
{
	store_key_parts_t p;
	ring_preflist_t pl;
	static char owner[16];
	if (store_key_parse(STORE_OBJECTS, ok->bytes, ok->len, &p) != SH_OK ||
	    coord_preflist(&s->node[i].coord, p.bucket, p.bucket_len, p.key,
	                   p.key_len, 3, &pl) != SH_OK)
		return NULL;
	for (unsigned k = 0; k < pl.n; k++) {
		if (!pl.entries[k].is_up)
			continue;
		snprintf(owner, sizeof(owner), "%s", pl.entries[k].name);
		return owner;
	}
	return NULL;
}

static int keys_cb(void *arg, const store_entry_t *e)
{
	sh_buf_t *keys = arg;
	uint8_t hdr[2] = {(uint8_t)(e->key->len >> 8), (uint8_t)e->key->len};
	int rc = sh_buf_append(keys, hdr, 2);
	if (rc == SH_OK)
		rc = sh_buf_append(keys, e->key->bytes, e->key->len);
	return rc;
}

/* Feed one scanned hint with its object; HANDOFF_FULL ends the scan. */
static int feed(cl_sim_t *s, uint32_t i, const char *primary, int need_owner,
                const uint8_t *key, size_t key_len)
{
	store_key_t hk, ok;
	hint_entry_t e;
	memset(&e, 0, sizeof(e));
	hk.space = STORE_HINTS;
	hk.len = key_len;
	memcpy(hk.bytes, key, key_len);
	sh_assert(store_key_hint_object(&ok, &hk) == SH_OK);
	int rc = store_get(&s->node[i].store, &ok, &e.record, &e.record_len);
	if (rc == SH_ENOTFOUND || (rc == SH_OK && e.record_len == 0)) {
		e.record = NULL;
		e.record_len = 0;
	} else {
		sh_assert(rc == SH_OK);
	}
	e.hint_key = hk.bytes;
	e.hint_key_len = hk.len;
	e.obj_key = ok.bytes;
	e.obj_key_len = ok.len;
	if (need_owner)
		e.owner = hint_owner(s, i, &ok);
	return hint_feed(&s->node[i].hint, primary, &e);
}

/* One scan the machine asked for: keys first, then their objects (a
 * store callback may not call into the store). */
static void scan(cl_sim_t *s, uint32_t i, const hint_scan_t *sc,
                 const char *primary, sh_buf_t *keys)
{
	store_cursor_t cur;
	store_cursor_init(&cur);
	cur.after.space = STORE_HINTS;
	if (sc->after_len > 0) {
		sh_assert(sc->after_len <= sizeof(cur.after.bytes));
		cur.after.len = sc->after_len;
		memcpy(cur.after.bytes, sc->after, sc->after_len);
	}
	sh_buf_reset(keys);
	int rc =
	    store_scan_hints(&s->node[i].store, primary, strlen(primary), &cur,
	                     sc->limit > 0 ? sc->limit : 1, keys_cb, keys);
	sh_assert(rc == SH_OK);
	int done = cur.done;
	for (size_t off = 0; off + 2 <= keys->len;) {
		const uint8_t *p = keys->data + off;
		size_t len = (size_t)p[0] << 8 | p[1];
		rc = feed(s, i, primary, sc->need_owner, p + 2, len);
		off += 2 + len;
		if (rc == HANDOFF_FULL) {
			done = 0;
			break;
		}
		sh_assert(rc == SH_OK);
	}
	rc = hint_scan_end(&s->node[i].hint, s->now, primary, done, SH_OK);
	sh_assert(rc == SH_OK);
}

/* A scan copied out of hint_ready (its strings die at hint_advance). */
typedef struct cl_scan {
	hint_scan_t s;
	char primary[HANDOFF_NAME_MAX + 1];
	uint8_t after[HANDOFF_KEY_BYTES_MAX];
} cl_scan_t;

/* Act on one hint_ready; returns the scans copied into scans[]. */
static size_t outputs(cl_sim_t *s, uint32_t i, cl_scan_t *scans, size_t cap,
                      uint64_t *due)
{
	hint_t *h = &s->node[i].hint;
	hint_ready_t rd;
	hint_ready(h, &rd);
	for (size_t k = 0; k < rd.msg_count; k++) {
		int to = node_of(s, rd.msgs[k].to);
		if (to >= 0) /* else lost: the machine resends on timeout */
			send_hint(s, i, (uint32_t)to, rd.msgs[k].data,
			          rd.msgs[k].len);
	}
	for (size_t k = 0; k < rd.del_count; k++)
		del_hint(s, i, &rd.dels[k]);
	size_t got = 0;
	for (size_t k = 0; k < rd.scan_count && got < cap; k++) {
		cl_scan_t *c = &scans[got++];
		c->s = rd.scans[k];
		snprintf(c->primary, sizeof(c->primary), "%s",
		         rd.scans[k].primary);
		sh_assert(c->s.after_len <= sizeof(c->after));
		if (c->s.after_len > 0)
			memcpy(c->after, c->s.after, c->s.after_len);
		c->s.after = c->after;
		c->s.primary = c->primary;
	}
	*due = rd.next_deadline_ms;
	hint_advance(h);
	return got;
}

uint64_t cl_hint_turn(cl_sim_t *s, uint32_t i)
{
	static cl_scan_t scans[CL_NODES_MAX];
	uint64_t due = UINT64_MAX;
	hint_tick(&s->node[i].hint, s->now);
	for (int round = 0; round < CL_HINT_ROUNDS; round++) {
		size_t k = outputs(s, i, scans, CL_NODES_MAX, &due);
		if (round == 0 && s->node[i].hints_recount) {
			/* after the acked deletes, as the node counts */
			s->node[i].hints_recount = 0;
			count_all(s, i);
			due = s->now + 1;
		}
		if (k == 0)
			break;
		for (size_t j = 0; j < k; j++)
			scan(s, i, &scans[j].s, scans[j].primary, &s->reply);
		due = s->now + 1; /* scan ends may have made batches */
	}
	return due;
}

/* ---- receiving ---- */

static void queue_ack(cl_sim_t *s, uint32_t i, uint32_t to, uint64_t id,
                      int status)
{
	cl_node_t *n = &s->node[i];
	uint8_t hdr[8];
	sh_buf_reset(&s->reply);
	int rc = handoff_wire_ack(&s->reply, HANDOFF_WIRE_HINT_ACK, id, status);
	sh_assert(rc == SH_OK);
	cl_seq_put(hdr, (uint64_t)to << 32 | (uint32_t)s->reply.len);
	rc = sh_buf_append(&n->hint_acks, hdr, 8);
	if (rc == SH_OK)
		rc = sh_buf_append(&n->hint_acks, s->reply.data, s->reply.len);
	sh_assert(rc == SH_OK);
}

void cl_hint_recv(cl_sim_t *s, uint32_t i, uint32_t from, const uint8_t *p,
                  size_t len)
{
	cl_node_t *n = &s->node[i];
	char name[16];
	snprintf(name, sizeof(name), "n%" PRIu32, from);
	int type = handoff_wire_type(p, len);
	if (type == HANDOFF_WIRE_HINT_ACK) {
		hint_recv(&n->hint, s->now, name, p, len);
		return;
	}
	sh_assert(type == HANDOFF_WIRE_HINT_BATCH);
	int rc = handoff_wire_decode(p, len, 1u << 24, s->hint_msg);
	sh_assert(rc == SH_OK);
	const handoff_wire_msg_t *m = s->hint_msg;
	for (size_t k = 0; k < m->count; k++) {
		const handoff_wire_entry_t *e = &m->entries[k];
		rc = coord_join_record(&n->coord, e->okey, e->okey_len,
		                       e->record, e->record_len);
		sh_assert(rc == SH_OK);
	}
	n->hints_received += m->count;
	queue_ack(s, i, from, m->id, SH_OK);
}

void cl_hint_acks(cl_sim_t *s, uint32_t i, int committed)
{
	cl_node_t *n = &s->node[i];
	size_t off = 0;
	while (committed && off + 8 <= n->hint_acks.len) {
		uint64_t hdr = cl_seq_get(n->hint_acks.data + off);
		uint32_t to = (uint32_t)(hdr >> 32), len = (uint32_t)hdr;
		sh_assert(off + 8 + len <= n->hint_acks.len);
		send_hint(s, i, to, n->hint_acks.data + off + 8, len);
		off += 8 + len;
	}
	sh_buf_reset(&n->hint_acks);
}
