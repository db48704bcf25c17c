/*
 * xfer.c - the ownership handoff driver (xfer.h): the handoff_t machine
 * run over a store_t and a coord_t. Ring polling and settling, scans,
 * drops postponed while hints of the partition are stored, receiving
 * HANDOFF_BATCH with acks released after the commit, and the graceful
 * leave's two phases. Pure: time comes in as now_ms.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_tap.h"
#include "node/xfer.h"

/* Rounds of ready / act per xfer_turn: bounds one turn's work. */
#define XFER_ROUNDS 16

void xfer_config_default(xfer_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->settle_ms = XFER_SETTLE_MS_DEFAULT;
	cfg->hold_ms = XFER_HOLD_MS_DEFAULT;
}

static void xfer__on_put(void *arg, const store_key_t *k)
{
	xfer_t *x = arg;

	if (x->h_open && k->len >= 2)
		handoff_note_write(&x->h,
		                   (uint32_t)k->bytes[0] << 8 | k->bytes[1]);
}

static int xfer__machine_open(xfer_t *x)
{
	handoff_config_t hc;

	handoff_config_default(&hc);
	hc.self = x->self;
	hc.bytes_per_s = x->cfg.bytes_per_s;
	hc.bucket = x->cfg.bucket;
	hc.id_base = x->cfg.id_base;
	if (x->cfg.batch_keys_max > 0)
		hc.batch_keys_max = x->cfg.batch_keys_max;
	if (x->cfg.ack_timeout_ms > 0)
		hc.ack_timeout_ms = x->cfg.ack_timeout_ms;
	if (x->cfg.active_max > 0)
		hc.active_max = x->cfg.active_max;
	/* a later machine (after a cancelled leave) must not reuse ids */
	x->cfg.id_base += (uint64_t)1 << 40;
	int rc = handoff_init(&x->h, &hc);
	x->h_open = rc == SH_OK;
	return rc;
}

int xfer_init(xfer_t *x, const xfer_config_t *cfg, store_t *store,
              coord_t *coord)
{
	memset(x, 0, sizeof(*x));
	if (cfg == NULL || cfg->self == NULL || cfg->send == NULL ||
	    strlen(cfg->self) == 0 || strlen(cfg->self) > HANDOFF_NAME_MAX ||
	    store == NULL || coord == NULL || cfg->active_max > XFER_ACTIVE_MAX)
		return SH_EINVAL;
	x->cfg = *cfg;
	strcpy(x->self, cfg->self);
	x->cfg.self = x->self;
	if (x->cfg.record_bytes_max == 0)
		x->cfg.record_bytes_max = STORE_VALUE_BYTES_MAX;
	x->store = store;
	x->coord = coord;
	x->msg = malloc(sizeof(*x->msg));
	if (x->msg == NULL)
		return SH_ENOMEM;
	int rc = xfer__machine_open(x);
	if (rc != SH_OK) {
		free(x->msg);
		memset(x, 0, sizeof(*x));
		return rc;
	}
	store_tap_hooks_t h;
	memset(&h, 0, sizeof(h));
	h.put = xfer__on_put;
	h.arg = x;
	rc = store_tap_add_hooks(store, &h);
	if (rc != SH_OK) {
		handoff_free(&x->h);
		free(x->msg);
		memset(x, 0, sizeof(*x));
		return rc;
	}
	return SH_OK;
}

void xfer_free(xfer_t *x)
{
	if (x->store != NULL)
		store_tap_remove_hooks(x->store, x);
	if (x->h_open)
		handoff_free(&x->h);
	if (x->have_planned)
		ring_free(&x->planned);
	if (x->have_cand)
		ring_free(&x->cand);
	free(x->hold_until);
	free(x->msg);
	sh_buf_free(&x->acks);
	sh_buf_free(&x->tmp);
	memset(x, 0, sizeof(*x));
}

/* ---- rings ---- */

static int xfer__ring_has(const ring_t *r, const char *name)
{
	return ring_member_find(r, name) >= 0;
}

/*
 * *dst := src's members without `skip` and with `add` (either NULL), with
 * src's configuration. dst must be initialised or zeroed (have: 1 when it
 * holds a ring to free). 0 or an error (dst unchanged).
 */
static int xfer__ring_copy(ring_t *dst, int *have, const ring_t *src,
                           const char *skip, const char *add)
{
	ring_config_t rc;
	ring_t tmp;
	uint32_t count = ring_member_count(src);
	const char **names = calloc((size_t)count + 1, sizeof(*names));
	size_t k = 0;
	int err;

	if (names == NULL)
		return SH_ENOMEM;
	for (uint32_t m = 0; m < count; m++) {
		const char *name = ring_member_name(src, m);

		if (skip == NULL || strcmp(name, skip) != 0)
			names[k++] = name;
	}
	if (add != NULL && !xfer__ring_has(src, add))
		names[k++] = add;
	ring_config_default(&rc);
	rc.partitions = ring_partitions(src);
	rc.n_replicas = ring_n_replicas(src);
	/* private fields, read only to build an identical ring */
	rc.members_max = src->members_max;
	rc.slot_slack_pct = src->slot_slack_pct;
	err = ring_init(&tmp, &rc);
	if (err == SH_OK)
		err = ring_set_members(&tmp, names, k);
	free(names);
	if (err != SH_OK) {
		ring_free(&tmp);
		return err;
	}
	if (*have)
		ring_free(dst);
	*dst = tmp;
	*have = 1;
	return SH_OK;
}

/* xfer__ring_copy into x->planned or x->cand: counted, so that the
 * poll's memo (xfer.h, idle_valid) sees every change of either. */
static int xfer__ring_set(xfer_t *x, ring_t *dst, int *have, const ring_t *src,
                          const char *skip, const char *add)
{
	x->ring_copies++;
	return xfer__ring_copy(dst, have, src, skip, add);
}

static int xfer__ring_same(const ring_t *a, const ring_t *b)
{
	uint32_t count = ring_member_count(a);

	if (count != ring_member_count(b) ||
	    ring_partitions(a) != ring_partitions(b) ||
	    ring_n_replicas(a) != ring_n_replicas(b))
		return 0;
	for (uint32_t m = 0; m < count; m++) /* names are sorted */
		if (strcmp(ring_member_name(a, m), ring_member_name(b, m)) != 0)
			return 0;
	return 1;
}

static int xfer__partitions(xfer_t *x, const ring_t *r)
{
	if (x->hold_until != NULL)
		return SH_OK;
	x->hold_until = calloc(ring_partitions(r), sizeof(*x->hold_until));
	if (x->hold_until == NULL)
		return SH_ENOMEM;
	x->partitions = ring_partitions(r);
	return SH_OK;
}

/* Plan the move from the last planned ring to r (leaving: r's members
 * with this node, to those without it). */
static int xfer__plan(xfer_t *x, const ring_t *r)
{
	ring_t with, without;
	int have_with = 0, have_without = 0, err;

	err = xfer__partitions(x, r);
	if (err != SH_OK)
		return err;
	if (x->leave == XFER_LEAVE_NONE) {
		err = handoff_ring_changed(
		    &x->h, x->now_ms, x->have_planned ? &x->planned : NULL, r);
		if (err == SH_OK || err == SH_EFULL)
			err = xfer__ring_set(x, &x->planned, &x->have_planned,
			                     r, NULL, NULL);
	} else {
		err = xfer__ring_copy(&with, &have_with, r, NULL, x->self);
		if (err == SH_OK)
			err = xfer__ring_copy(&without, &have_without, r,
			                      x->self, NULL);
		if (err == SH_OK)
			err = handoff_leave(&x->h, x->now_ms, &with, &without);
		if (err == SH_OK || err == SH_EFULL)
			err = xfer__ring_set(x, &x->planned, &x->have_planned,
			                     &with, NULL, NULL);
		if (have_with)
			ring_free(&with);
		if (have_without)
			ring_free(&without);
	}
	if (err == SH_OK)
		x->stats.rings_planned++;
	return err;
}

/*
 * Compare the coordinator's ring with the candidate; plan it once it has
 * held settle_ms. While leaving, a ring that differs from the planned one
 * only by lacking this node (its own "left") is no change. Returns the
 * settle deadline, or HANDOFF_NO_DEADLINE.
 */
static uint64_t xfer__ring_poll(xfer_t *x)
{
	const ring_t *r = coord_ring(x->coord);
	uint64_t gen = ring_generation(r);

	if (x->idle_valid && x->idle_gen == gen &&
	    x->idle_copies == x->ring_copies && x->have_planned)
		return HANDOFF_NO_DEADLINE; /* as the last poll found */
	if (ring_member_count(r) == 0)
		return HANDOFF_NO_DEADLINE;
	if (!x->have_cand || !xfer__ring_same(&x->cand, r)) {
		if (xfer__ring_set(x, &x->cand, &x->have_cand, r, NULL, NULL) !=
		    SH_OK)
			return x->now_ms + x->cfg.settle_ms; /* try again */
		x->cand_since_ms = x->now_ms;
	}
	if (x->have_planned && xfer__ring_same(&x->cand, &x->planned)) {
		/* cand is r at gen, and planned: the same until either moves */
		x->idle_valid = 1;
		x->idle_gen = gen;
		x->idle_copies = x->ring_copies;
		return HANDOFF_NO_DEADLINE;
	}
	if (x->have_planned && x->leave != XFER_LEAVE_NONE &&
	    !xfer__ring_has(&x->cand, x->self) &&
	    ring_member_count(&x->cand) + 1 == ring_member_count(&x->planned)) {
		ring_t with;
		int have_with = 0, same = 0;

		if (xfer__ring_copy(&with, &have_with, &x->cand, NULL,
		                    x->self) == SH_OK)
			same = xfer__ring_same(&with, &x->planned);
		if (have_with)
			ring_free(&with);
		if (same)
			return HANDOFF_NO_DEADLINE;
	}
	if (x->now_ms < x->cand_since_ms + x->cfg.settle_ms)
		return x->cand_since_ms + x->cfg.settle_ms;
	if (xfer__plan(x, &x->cand) != SH_OK)
		return x->now_ms + x->cfg.settle_ms; /* try again later */
	return HANDOFF_NO_DEADLINE;
}

/* ---- hints in a partition ---- */

typedef struct xfer__first {
	int found;
	uint32_t partition;
	uint8_t primary[STORE_PRIMARY_BYTES_MAX];
	size_t primary_len;
} xfer__first_t;

static int xfer__first_cb(void *arg, const store_entry_t *e)
{
	xfer__first_t *f = arg;

	f->found = 1;
	f->partition = e->parts.partition;
	f->primary_len = e->parts.primary_len;
	if (e->parts.primary_len > 0) /* objects have none */
		memcpy(f->primary, e->parts.primary, e->parts.primary_len);
	return STORE_SCAN_STOP;
}

int xfer_hints_in(store_t *store, uint32_t partition)
{
	store_cursor_t all;
	xfer__first_t f;

	store_cursor_init(&all);
	/* one primary per round: its first hint of partition or later, then
	 * jump past every key of that primary */
	for (int guard = 0; guard < 1 << 16; guard++) {
		store_cursor_t one;
		size_t plen;
		int rc;

		memset(&f, 0, sizeof(f));
		rc = store_scan_hints(store, NULL, 0, &all, 1, xfer__first_cb,
		                      &f);
		if (rc != SH_OK)
			return rc;
		if (!f.found)
			return 0;
		plen = f.primary_len;
		store_cursor_init(&one);
		one.after.space = STORE_HINTS;
		one.after.bytes[0] = (uint8_t)plen;
		memcpy(one.after.bytes + 1, f.primary, plen);
		one.after.bytes[1 + plen] = (uint8_t)(partition >> 8);
		one.after.bytes[2 + plen] = (uint8_t)partition;
		one.after.len = 3 + plen;
		memset(&f, 0, sizeof(f));
		rc = store_scan_hints(store, one.after.bytes + 1, plen, &one, 1,
		                      xfer__first_cb, &f);
		if (rc != SH_OK)
			return rc;
		if (f.found && f.partition == partition)
			return 1;
		/* after every key of this primary: its prefix, then 0xff up
		 * to the longest key (real keys hold a 0 before the key) */
		all.after.space = STORE_HINTS;
		memset(all.after.bytes + 1 + plen, 0xff,
		       sizeof(all.after.bytes) - 1 - plen);
		all.after.bytes[0] = (uint8_t)plen;
		memcpy(all.after.bytes + 1, one.after.bytes + 1, plen);
		all.after.len = sizeof(all.after.bytes);
		all.done = 0;
	}
	return 1; /* too many primaries to tell: keep the partition */
}

/* ---- the turn ---- */

typedef struct xfer__scan_ctx {
	xfer_t *x;
	uint64_t move;
	int full;
	int err;
} xfer__scan_ctx_t;

static int xfer__feed_cb(void *arg, const store_entry_t *e)
{
	xfer__scan_ctx_t *c = arg;

	if (e->val_len == 0)
		return 0; /* not an object record: nothing to hand */
	int rc = handoff_feed(&c->x->h, c->move, e->key->bytes, e->key->len,
	                      e->val, e->val_len);
	if (rc == HANDOFF_FULL) {
		c->full = 1;
		return STORE_SCAN_STOP;
	}
	if (rc != SH_OK) {
		c->err = rc;
		return STORE_SCAN_STOP;
	}
	return 0;
}

static void xfer__scan(xfer_t *x, const handoff_scan_t *s)
{
	store_cursor_t cur;
	xfer__scan_ctx_t c = {x, s->move, 0, 0};
	int rc;

	store_cursor_init(&cur);
	if (s->after_len > 0 && s->after_len <= sizeof(cur.after.bytes)) {
		cur.after.space = STORE_OBJECTS;
		cur.after.len = s->after_len;
		memcpy(cur.after.bytes, s->after, s->after_len);
	}
	rc = store_scan_partition(x->store, (uint16_t)s->partition, &cur,
	                          s->limit > 0 ? s->limit : 1, xfer__feed_cb,
	                          &c);
	if (rc == SH_OK)
		rc = c.err == SH_EINVAL ? SH_OK : c.err;
	handoff_scan_end(&x->h, x->now_ms, s->move,
	                 rc == SH_OK && cur.done && !c.full, rc);
}

/* Run one drop step; 1 if it deleted (or finished), 0 if put off. */
static int xfer__drop(xfer_t *x, uint32_t p, size_t limit)
{
	size_t deleted = 0;
	int rc;

	if (x->leave == XFER_LEAVE_HANDOFF || p >= x->partitions)
		return 0; /* a leaving node drops only in the sweep */
	if (x->hold_until[p] > x->now_ms)
		return 0;
	rc = xfer_hints_in(x->store, p);
	if (rc == SH_OK && !store_in_batch(x->store))
		rc = store_begin(x->store);
	if (rc == SH_OK)
		rc = store_drop_partition(x->store, (uint16_t)p, limit,
		                          &deleted);
	if (rc != SH_OK) {
		if (rc == 1)
			x->stats.drops_postponed++;
		x->hold_until[p] = x->now_ms + x->cfg.hold_ms;
		return 0;
	}
	x->stats.keys_dropped += deleted;
	handoff_drop_step(&x->h, x->now_ms, p, deleted);
	return 1;
}

static uint64_t xfer__hold_deadline(const xfer_t *x)
{
	uint64_t due = HANDOFF_NO_DEADLINE;

	if (x->h.dropping_count == 0)
		return due; /* only drops are held: the usual turn ends here */
	for (uint32_t p = 0; p < x->partitions; p++)
		if (x->hold_until[p] > x->now_ms && x->hold_until[p] < due &&
		    x->h.dropping != NULL && p < x->h.partitions &&
		    x->h.dropping[p])
			due = x->hold_until[p];
	return due;
}

/* One ready / act round; returns 1 if anything was done (*held: a drop
 * was offered and put off). */
static int xfer__round(xfer_t *x, uint64_t *due, int *held)
{
	handoff_ready_t rd;
	handoff_scan_t scans[XFER_ACTIVE_MAX];
	uint8_t *after = NULL;
	size_t ns = 0, off = 0;
	handoff_drop_t drop = {0, 0};
	int have_drop = 0, did = 0;

	handoff_ready(&x->h, &rd);
	for (size_t i = 0; i < rd.msg_count; i++)
		x->cfg.send(x->cfg.send_arg, rd.msgs[i].to, rd.msgs[i].data,
		            rd.msgs[i].len);
	sh_buf_reset(&x->tmp);
	for (size_t i = 0; i < rd.scan_count && ns < XFER_ACTIVE_MAX; i++) {
		scans[ns] = rd.scans[i];
		/* `after` stays valid until scan_end, but copy: cheap */
		sh_buf_append(&x->tmp, rd.scans[i].after,
		              rd.scans[i].after_len);
		ns++;
	}
	if (rd.drop_count > 0) {
		drop = rd.drops[0];
		have_drop = 1;
	}
	x->leave_done = rd.leave_done;
	*due = rd.next_deadline_ms;
	did = rd.msg_count > 0;
	handoff_advance(&x->h);
	after = x->tmp.data;
	for (size_t i = 0; i < ns; i++) {
		scans[i].after = after != NULL ? after + off : NULL;
		off += scans[i].after_len;
		xfer__scan(x, &scans[i]);
		did = 1;
	}
	if (have_drop) {
		if (xfer__drop(x, drop.partition, drop.limit))
			did = 1;
		else
			*held = 1;
	}
	return did;
}

uint64_t xfer_turn(xfer_t *x, uint64_t now_ms)
{
	uint64_t due = HANDOFF_NO_DEADLINE, settle, hold;
	int held_rounds = 0, did = 0;

	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	if (!x->h_open)
		return HANDOFF_NO_DEADLINE;
	settle = xfer__ring_poll(x);
	handoff_tick(&x->h, x->now_ms);
	for (int round = 0; round < XFER_ROUNDS; round++) {
		int held = 0;

		did = xfer__round(x, &due, &held);
		held_rounds += held;
		/* a postponed drop lets the round robin offer the next one,
		 * except while handing off for a leave: then all wait */
		if (!did && (!held || held_rounds >= XFER_ROUNDS / 2 ||
		             x->leave == XFER_LEAVE_HANDOFF))
			break;
	}
	if (did)
		due = x->now_ms; /* more to do at once */
	if (settle < due)
		due = settle;
	if (x->hold_until != NULL && (hold = xfer__hold_deadline(x)) < due)
		due = hold;
	return due;
}

/* ---- receiving ---- */

static void xfer__queue_ack(xfer_t *x, const char *to, uint64_t id, int status)
{
	size_t mark = x->acks.len, len_at, tlen = strlen(to);
	uint8_t hdr[4] = {0, 0, 0, 0};
	int rc;

	rc = sh_buf_append(&x->acks, to, tlen + 1);
	len_at = x->acks.len;
	if (rc == SH_OK)
		rc = sh_buf_append(&x->acks, hdr, 4);
	if (rc == SH_OK)
		rc = handoff_wire_ack(&x->acks, HANDOFF_WIRE_ACK, id, status);
	if (rc != SH_OK) {
		x->acks.len = mark; /* the sender times out and resends */
		return;
	}
	size_t mlen = x->acks.len - len_at - 4;
	x->acks.data[len_at] = (uint8_t)(mlen >> 24);
	x->acks.data[len_at + 1] = (uint8_t)(mlen >> 16);
	x->acks.data[len_at + 2] = (uint8_t)(mlen >> 8);
	x->acks.data[len_at + 3] = (uint8_t)mlen;
}

static void xfer__batch(xfer_t *x, const char *from, size_t len)
{
	const handoff_wire_msg_t *m = x->msg;
	int status = store_in_batch(x->store) ? SH_OK : SH_EIO;
	size_t bad = 0;

	for (size_t i = 0; status == SH_OK && i < m->count; i++) {
		const handoff_wire_entry_t *e = &m->entries[i];
		int rc = coord_join_record(x->coord, e->okey, e->okey_len,
		                           e->record, e->record_len);

		if (rc == SH_EIO || rc == SH_ENOMEM || rc == SH_EFULL)
			status = rc; /* the store failed: the sender retries */
		else if (rc != SH_OK)
			bad++; /* damaged: retrying will not help */
	}
	if (status != SH_OK) {
		x->stats.receive_errors++;
	} else {
		x->stats.batches_received++;
		x->stats.keys_received += m->count - bad;
		x->stats.bytes_received += len;
		x->stats.bad_entries += bad;
	}
	xfer__queue_ack(x, from, m->id, status);
}

int xfer_recv(xfer_t *x, uint64_t now_ms, const char *from, const uint8_t *data,
              size_t len)
{
	int type = handoff_wire_type(data, len), rc;

	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	if (from == NULL || from[0] == '\0')
		return SH_EINVAL;
	if (type == HANDOFF_WIRE_ACK) {
		rc = handoff_recv(&x->h, x->now_ms, from, data, len);
		return rc == SH_ENOTFOUND ? SH_OK : rc; /* stale: harmless */
	}
	if (type != HANDOFF_WIRE_BATCH)
		return type < 0 ? type : SH_ETYPE;
	rc = handoff_wire_decode(data, len, x->cfg.record_bytes_max, x->msg);
	if (rc != SH_OK) {
		x->stats.receive_errors++;
		return rc;
	}
	xfer__batch(x, from, len);
	return SH_OK;
}

void xfer_committed(xfer_t *x, int ok)
{
	size_t off = 0;

	while (ok && off < x->acks.len) {
		const char *to = (const char *)x->acks.data + off;
		size_t tlen = strlen(to);
		const uint8_t *p = x->acks.data + off + tlen + 1;
		size_t mlen = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
		              (size_t)p[2] << 8 | p[3];

		x->cfg.send(x->cfg.send_arg, to, p + 4, mlen);
		off += tlen + 1 + 4 + mlen;
	}
	if (!ok && x->acks.len > 0)
		x->stats.acks_dropped++;
	sh_buf_reset(&x->acks);
}

void xfer_peer(xfer_t *x, uint64_t now_ms, const char *name, int up)
{
	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	if (x->h_open && name != NULL && strcmp(name, x->self) != 0)
		handoff_peer(&x->h, x->now_ms, name, up);
}

/* ---- leaving ---- */

int xfer_leave(xfer_t *x, uint64_t now_ms)
{
	const ring_t *r = coord_ring(x->coord);
	int err;

	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	if (x->leave != XFER_LEAVE_NONE)
		return SH_EEXIST;
	if (ring_member_count(r) - (uint32_t)xfer__ring_has(r, x->self) == 0)
		return SH_ENOTFOUND;
	if (x->have_planned == 0) {
		/* never settled: the current ring is the baseline */
		err = xfer__ring_set(x, &x->planned, &x->have_planned, r, NULL,
		                     NULL);
		if (err != SH_OK)
			return err;
	}
	x->leave = XFER_LEAVE_HANDOFF;
	err = xfer__plan(x, r);
	if (err != SH_OK && err != SH_EFULL) {
		x->leave = XFER_LEAVE_NONE;
		return err;
	}
	x->leave_done = 0;
	return SH_OK;
}

/* Does partition p hold any object here? */
static int xfer__has_objects(xfer_t *x, uint32_t p)
{
	xfer__first_t f;
	store_cursor_t cur;

	memset(&f, 0, sizeof(f));
	store_cursor_init(&cur);
	if (store_scan_partition(x->store, (uint16_t)p, &cur, 1, xfer__first_cb,
	                         &f) != SH_OK)
		return 1; /* cannot tell: hand it off */
	return f.found;
}

int xfer_sweep(xfer_t *x, uint64_t now_ms)
{
	ring_t without;
	int have_without = 0, count = 0, err;

	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	if (x->leave == XFER_LEAVE_NONE || !x->have_planned)
		return SH_EINVAL;
	/* a fresh machine: the first phase's moves are done, and their
	 * partitions must go through a new pass and then be dropped */
	handoff_free(&x->h);
	x->h_open = 0;
	err = xfer__machine_open(x);
	if (err == SH_OK)
		err = xfer__ring_copy(&without, &have_without, &x->planned,
		                      x->self, NULL);
	if (err == SH_OK && ring_member_count(&without) == 0)
		err = SH_ENOTFOUND;
	if (err == SH_OK)
		err = handoff_leave(&x->h, x->now_ms, &x->planned, &without);
	if (err != SH_OK && err != SH_EFULL) {
		if (have_without)
			ring_free(&without);
		return err;
	}
	x->leave = XFER_LEAVE_SWEEP;
	x->leave_done = 0;
	for (uint32_t p = 0; p < x->partitions; p++) {
		int owner = ring_owner(&without, p, 0);

		if (owner < 0 || !xfer__has_objects(x, p))
			continue;
		err = handoff_add(&x->h, x->now_ms, p,
		                  ring_member_name(&without, (uint32_t)owner));
		if (err == SH_OK || err == SH_EEXIST)
			count++;
	}
	ring_free(&without);
	return count;
}

int xfer_leave_cancel(xfer_t *x, uint64_t now_ms)
{
	if (now_ms > x->now_ms)
		x->now_ms = now_ms;
	handoff_free(&x->h);
	x->h_open = 0;
	x->leave = XFER_LEAVE_NONE;
	x->leave_done = 0;
	int err = xfer__machine_open(x);
	if (err == SH_OK && x->have_planned) {
		/* the baseline again: this node owns what the ring says */
		ring_free(&x->planned);
		x->have_planned = 0;
		err = xfer__ring_set(x, &x->planned, &x->have_planned,
		                     coord_ring(x->coord), NULL, NULL);
		if (err == SH_OK)
			err = handoff_ring_changed(&x->h, x->now_ms, NULL,
			                           &x->planned);
	}
	return err;
}

xfer_leave_phase_t xfer_leave_phase(const xfer_t *x)
{
	return x->leave;
}

int xfer_leave_done(const xfer_t *x)
{
	if (x->leave == XFER_LEAVE_NONE || !x->h_open)
		return 0;
	if (x->leave == XFER_LEAVE_SWEEP)
		return x->leave_done;
	/* handing off: done when every move is acked (drops wait) */
	size_t count = handoff_transfers(&x->h, NULL, 0);
	handoff_transfer_t *t = calloc(count ? count : 1, sizeof(*t));
	int done = 1;

	if (t == NULL)
		return 0;
	count = handoff_transfers(&x->h, t, count);
	for (size_t i = 0; i < count; i++)
		if (t[i].state != HANDOFF_MOVE_DONE &&
		    t[i].state != HANDOFF_MOVE_DROPPING)
			done = 0;
	free(t);
	return done;
}

int xfer_busy(const xfer_t *x)
{
	return x->h_open && x->h.move_count > 0;
}

size_t xfer_transfers(const xfer_t *x, handoff_transfer_t *out, size_t cap)
{
	return x->h_open ? handoff_transfers(&x->h, out, cap) : 0;
}

void xfer_stats(const xfer_t *x, handoff_stats_t *hs, xfer_stats_t *xs)
{
	if (hs != NULL) {
		memset(hs, 0, sizeof(*hs));
		if (x->h_open)
			handoff_stats(&x->h, hs);
	}
	if (xs != NULL)
		*xs = x->stats;
}

const char *xfer_move_state_name(handoff_move_state_t st)
{
	switch (st) {
	case HANDOFF_MOVE_QUEUED: return "queued";
	case HANDOFF_MOVE_SENDING: return "sending";
	case HANDOFF_MOVE_RETRYING: return "retrying";
	case HANDOFF_MOVE_PAUSED: return "paused";
	case HANDOFF_MOVE_DONE: return "done";
	case HANDOFF_MOVE_DROPPING: return "dropping";
	}
	return "?";
}
