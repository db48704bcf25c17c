/*
 * coord.c - the coordinator's life cycle, membership view, table of
 * requests in flight, and the ready batch of outputs (coord.h).
 *
 * The request paths live beside it: coord_req.c (parameters and targets),
 * coord_put.c and coord_dt.c (writes), coord_get.c (reads, read repair),
 * coord_fwd.c (forwarding), coord_replica.c (the replica side),
 * coord_wire.c (the internode format), coord_obj.c (stored records),
 * coord_stats.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

void coord_config_default(coord_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->partitions = RING_PARTITIONS_DEFAULT;
	cfg->members_max = RING_MEMBERS_DEFAULT;
	cfg->n = COORD_N_DEFAULT;
	cfg->r = COORD_R_DEFAULT;
	cfg->w = COORD_W_DEFAULT;
	cfg->timeout_ms = COORD_TIMEOUT_MS_DEFAULT;
	cfg->value_bytes_max = DVV_VALUE_BYTES_MAX_DEFAULT;
	cfg->siblings_max = COORD_SIBLINGS_MAX_DEFAULT;
	cfg->inflight_max = COORD_INFLIGHT_MAX_DEFAULT;
}

static int config_check(const coord_config_t *cfg)
{
	size_t len;

	if (cfg->name == NULL)
		return SH_EINVAL;
	len = strlen(cfg->name);
	if (len == 0 || len > COORD_NAME_MAX || cfg->epoch == 0)
		return SH_EINVAL;
	if (cfg->n < 1 || cfg->n > COORD_N_MAX || cfg->r < 1 ||
	    cfg->r > cfg->n || cfg->w < 1 || cfg->w > cfg->n)
		return SH_EINVAL;
	if (cfg->timeout_ms == 0 || cfg->value_bytes_max == 0 ||
	    cfg->value_bytes_max > COORD_VALUE_BYTES_MAX_MAX ||
	    cfg->siblings_max == 0)
		return SH_EINVAL;
	if (cfg->inflight_max == 0 ||
	    cfg->inflight_max > COORD_INFLIGHT_MAX_MAX)
		return SH_EINVAL;
	return SH_OK;
}

static int slots_init(coord_t *c)
{
	uint32_t n = c->cfg.inflight_max, i;

	c->slot_bits = 0;
	while ((1u << c->slot_bits) < n)
		c->slot_bits++;
	c->reqs = calloc(n, sizeof(*c->reqs));
	c->free_slots = calloc(n, sizeof(*c->free_slots));
	c->live = calloc(n, sizeof(*c->live));
	c->live_pos = calloc(n, sizeof(*c->live_pos));
	if (c->reqs == NULL || c->free_slots == NULL || c->live == NULL ||
	    c->live_pos == NULL)
		return SH_ENOMEM;
	/* pop from the end: slot 0 first */
	for (i = 0; i < n; i++)
		c->free_slots[i] = n - 1 - i;
	c->free_count = n;
	/* ids are gen << slot_bits | slot: keep gen within its bits */
	c->next_gen = c->cfg.id_base & (UINT64_MAX >> c->slot_bits);
	if (c->next_gen == 0)
		c->next_gen = 1;
	c->seen = calloc(COORD_FORWARDS_SEEN, sizeof(*c->seen));
	if (c->seen == NULL)
		return SH_ENOMEM;
	return SH_OK;
}

int coord_init(coord_t *c, const coord_config_t *cfg, store_t *store)
{
	ring_config_t rc;
	coord_member_t self;
	int err;

	memset(c, 0, sizeof(*c));
	sh_assert(cfg != NULL && store != NULL);
	err = config_check(cfg);
	if (err != 0)
		return err;
	c->cfg = *cfg;
	memcpy(c->name, cfg->name, strlen(cfg->name) + 1);
	c->cfg.name = c->name;
	c->store = store;
	err = crdt_actor_init(&c->actor, c->name, strlen(c->name), cfg->epoch);
	if (err != 0)
		return err;
	ring_config_default(&rc);
	rc.partitions = cfg->partitions;
	rc.n_replicas = cfg->n;
	rc.members_max = cfg->members_max;
	err = ring_init(&c->ring, &rc);
	if (err != 0)
		return err;
	err = slots_init(c);
	if (err != 0) {
		coord_free(c);
		return err;
	}
	self.name = c->name;
	self.state = COORD_UP;
	err = coord_set_members(c, &self, 1);
	if (err != 0) {
		coord_free(c);
		return err;
	}
	return SH_OK;
}

static void members_release(char **names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Bytes of a result's context buffer kept for the next result in its
 * slot: every read and write hands out a context of a few dozen bytes,
 * and would otherwise allocate and free one per request. */
#define COORD__CONTEXT_KEEP_BYTES 1024u

static void results_release(coord_t *c)
{
	size_t i;

	for (i = 0; i < c->result_count; i++) {
		sh_buf_t *ctx = &c->results[i].context;
		coord_obj_free(&c->results[i].obj);
		if (ctx->cap > COORD__CONTEXT_KEEP_BYTES)
			sh_buf_free(ctx);
		else
			sh_buf_reset(ctx);
	}
	c->result_count = 0;
}

void coord_free(coord_t *c)
{
	uint32_t i;
	size_t k;

	if (c->reqs != NULL) {
		for (i = 0; i < c->cfg.inflight_max; i++)
			if (c->reqs[i] != NULL)
				coord__req_free(c, c->reqs[i]);
	}
	free(c->reqs);
	while (c->spare_count > 0) {
		coord__req_t *q = c->spare[--c->spare_count];
		free(q->bucket);
		free(q);
	}
	free(c->free_slots);
	free(c->live);
	free(c->live_pos);
	free(c->seen);
	results_release(c);
	for (k = 0; k < c->result_cap; k++)
		sh_buf_free(&c->results[k].context);
	free(c->results);
	free(c->rinfo);
	free(c->fwd_tmp);
	sh_buf_free(&c->hints_owed);
	for (k = 0; k < c->msg_cap; k++)
		sh_buf_free(&c->msg_bufs[k]);
	free(c->msg_bufs);
	free(c->msg_to);
	free(c->msgs);
	members_release(c->member_names, c->member_count);
	free(c->member_states);
	ring_free(&c->ring);
	sh_buf_free(&c->scratch);
	memset(c, 0, sizeof(*c));
}

/* ---- membership ---- */

static int name_cmp(const void *a, const void *b)
{
	const coord_member_t *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int members_check(const coord_member_t *m, size_t count)
{
	size_t i, len;

	for (i = 0; i < count; i++) {
		if (m[i].name == NULL)
			return SH_EINVAL;
		len = strlen(m[i].name);
		if (len == 0 || len > COORD_NAME_MAX)
			return SH_EINVAL;
		if (m[i].state != COORD_UP && m[i].state != COORD_DOWN &&
		    m[i].state != COORD_LEFT)
			return SH_EINVAL;
	}
	return SH_OK;
}

/* sorted copy of members plus self (up) when absent; *out owned */
static int members_sorted(const coord_t *c, const coord_member_t *members,
                          size_t count, coord_member_t **out, size_t *out_n)
{
	coord_member_t *m;
	size_t i, n = count, has_self = 0;

	for (i = 0; i < count; i++)
		if (strcmp(members[i].name, c->name) == 0)
			has_self = 1;
	m = malloc((count + 1) * sizeof(*m));
	if (m == NULL)
		return SH_ENOMEM;
	if (count > 0)
		memcpy(m, members, count * sizeof(*m));
	if (!has_self) {
		m[n].name = c->name;
		m[n].state = COORD_UP;
		n++;
	}
	qsort(m, n, sizeof(*m), name_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(m[i - 1].name, m[i].name) == 0) {
			free(m);
			return SH_EINVAL;
		}
	}
	*out = m;
	*out_n = n;
	return SH_OK;
}

/* copy names and states of m[0..n) into c's view (replacing it) */
static int view_install(coord_t *c, const coord_member_t *m, size_t n)
{
	char **names = calloc(n ? n : 1, sizeof(*names));
	uint8_t *states = malloc(n ? n : 1);
	size_t i;

	if (names == NULL || states == NULL) {
		free(names);
		free(states);
		return SH_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		size_t len = strlen(m[i].name) + 1;
		names[i] = malloc(len);
		if (names[i] == NULL) {
			members_release(names, i);
			free(states);
			return SH_ENOMEM;
		}
		memcpy(names[i], m[i].name, len);
		states[i] = (uint8_t)m[i].state;
		if (strcmp(m[i].name, c->name) == 0 && m[i].state == COORD_DOWN)
			states[i] =
			    COORD_UP; /* we are up, whatever gossip says */
	}
	members_release(c->member_names, c->member_count);
	free(c->member_states);
	c->member_names = names;
	c->member_states = states;
	c->member_count = n;
	return SH_OK;
}

int coord_set_members(coord_t *c, const coord_member_t *members, size_t count)
{
	coord_member_t *m = NULL;
	const char **ring_names = NULL;
	size_t n = 0, i, rn = 0;
	int err;

	if (count > 0 && members == NULL)
		return SH_EINVAL;
	err = members_check(members, count);
	if (err == 0)
		err = members_sorted(c, members, count, &m, &n);
	if (err != 0)
		return err;
	ring_names = malloc(n * sizeof(*ring_names));
	if (ring_names == NULL) {
		free(m);
		return SH_ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (m[i].state != COORD_LEFT)
			ring_names[rn++] = m[i].name;
	err = ring_set_members(&c->ring, ring_names, rn);
	if (err == 0)
		err = view_install(c, m, n);
	if (err == 0 && rn > 1)
		c->cfg.joining = 0;
	free(ring_names);
	free(m);
	return err;
}

void coord_set_joining(coord_t *c, int joining)
{
	c->cfg.joining = joining != 0;
}

int coord_joining(const coord_t *c)
{
	return c->cfg.joining;
}

const ring_t *coord_ring(const coord_t *c)
{
	return &c->ring;
}

static int view_find(const coord_t *c, const char *name)
{
	size_t lo = 0, hi = c->member_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->member_names[mid], name);
		if (cmp == 0)
			return (int)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int coord_member_is_up(const coord_t *c, const char *name)
{
	int i;

	if (strcmp(name, c->name) == 0)
		return 1;
	i = view_find(c, name);
	return i >= 0 && c->member_states[i] == COORD_UP;
}

int coord__is_up(void *arg, const char *name)
{
	return coord_member_is_up(arg, name);
}

int coord_preflist(const coord_t *c, const void *bucket, size_t bucket_len,
                   const void *key, size_t key_len, unsigned n,
                   ring_preflist_t *out)
{
	uint64_t h = ring_key_hash(bucket, bucket_len, key, key_len);
	return ring_preflist(&c->ring, h, n, coord__is_up, (void *)c, out);
}

/* ---- requests in flight ---- */

/* keep room for one more result than the batch and the reservations */
static int results_room(coord_t *c)
{
	size_t cap;
	coord_result_t *r;
	struct coord__rinfo *d;

	if (c->result_count + c->results_reserved < c->result_cap)
		return SH_OK;
	cap = c->result_cap ? 2 * c->result_cap : 8;
	r = realloc(c->results, cap * sizeof(*r));
	if (r == NULL)
		return SH_ENOMEM;
	for (size_t i = c->result_cap; i < cap; i++)
		sh_buf_init(&r[i].context); /* kept from result to result */
	c->results = r;
	d = realloc(c->rinfo, cap * sizeof(*d));
	if (d == NULL)
		return SH_ENOMEM;
	c->rinfo = d;
	c->result_cap = cap;
	return SH_OK;
}

/* Finished requests kept for reuse; none under AddressSanitizer, so that
 * a use of a request after its end is still caught there. */
#if defined(__SANITIZE_ADDRESS__)
#define COORD__SPARE_KEEP 0u
#else
#define COORD__SPARE_KEEP 8u
#endif
_Static_assert(COORD__SPARE_KEEP <= sizeof(((coord_t *)0)->spare) /
                                        sizeof(((coord_t *)0)->spare[0]),
               "coord_t.spare holds the requests kept");

/*
 * Zero q but for the bulk of its per-target arrays (most of its ~10 KB):
 * a target is zeroed when it is added (coord__targets), a hint name when
 * it is written, and nothing reads either past its count. targets[0] is
 * zeroed too, for the paths that fill it in place (a forward).
 */
static void req_zero(coord__req_t *q)
{
	size_t tail = offsetof(coord__req_t, merged);

	memset(q, 0, offsetof(coord__req_t, targets));
	memset(&q->targets[0], 0, sizeof(q->targets[0]));
	q->unreplaced_count = 0;
	memset((char *)q + tail, 0, sizeof(*q) - tail);
}

void coord__stop_waiting(coord__req_t *q)
{
	size_t i;

	for (i = 0; i < q->target_count; i++)
		if (q->targets[i].state == COORD__T_PENDING)
			q->targets[i].state = COORD__T_FAILED;
}

/*
 * The table is full: free the slot of a request that has replied and only
 * waits for its last answers (a read for read repair, a write for its last
 * acknowledgements), if one is in flight. The scan goes on from where the
 * last one stopped, so when a hung replica keeps the table full of such
 * requests, each new one finds a place at once.
 */
static int reclaim_replied(coord_t *c)
{
	for (uint32_t n = 0; n < c->live_count; n++) {
		uint32_t at = (c->reclaim_at + n) % c->live_count;
		coord__req_t *q = c->reqs[c->live[at]];
		if (!q->replied || q->kind == COORD__REQ_FORWARD)
			continue;
		c->reclaim_at = at;
		if (q->kind == COORD__REQ_WRITE)
			coord__write_cut(c, q);
		else
			coord__read_cut(c, q);
		return 1;
	}
	return 0;
}

coord__req_t *coord__req_new(coord_t *c, coord__req_kind_t kind,
                             const coord__origin_t *origin)
{
	coord__req_t *q;
	uint8_t *key_mem = NULL;
	size_t key_cap = 0;
	uint32_t slot;

	if (c->free_count == 0 && !reclaim_replied(c))
		return NULL;
	if (!origin->remote && results_room(c) != 0)
		return NULL;
	if (c->spare_count > 0) {
		q = c->spare[--c->spare_count];
		key_mem = q->bucket;
		key_cap = q->key_cap;
	} else {
		q = malloc(sizeof(*q));
		if (q == NULL)
			return NULL;
	}
	req_zero(q);
	q->bucket = key_mem; /* the last key's bytes, reused */
	q->key_cap = key_cap;
	slot = c->free_slots[--c->free_count];
	sh_assert(c->reqs[slot] == NULL);
	q->id = (c->next_gen << c->slot_bits) | slot;
	c->next_gen = (c->next_gen + 1) & (UINT64_MAX >> c->slot_bits);
	if (c->next_gen == 0)
		c->next_gen = 1;
	q->kind = kind;
	q->origin = *origin;
	q->wrote_batch = UINT64_MAX;
	if (!origin->remote) {
		q->reserved = 1;
		c->results_reserved++;
	}
	c->reqs[slot] = q;
	c->live_pos[slot] = c->live_count;
	c->live[c->live_count++] = slot;
	c->stats.inflight++;
	return q;
}

coord__req_t *coord__req_find(coord_t *c, uint64_t id)
{
	uint64_t slot = id & ((1ull << c->slot_bits) - 1);
	coord__req_t *q;

	if (slot >= c->cfg.inflight_max)
		return NULL;
	q = c->reqs[slot];
	if (q == NULL || q->id != id)
		return NULL;
	return q;
}

void coord__req_free(coord_t *c, coord__req_t *q)
{
	uint32_t slot = (uint32_t)(q->id & ((1ull << c->slot_bits) - 1));
	uint32_t last;
	size_t i;

	sh_assert(slot < c->cfg.inflight_max && c->reqs[slot] == q);
	c->reqs[slot] = NULL;
	c->free_slots[c->free_count++] = slot;
	last = c->live[--c->live_count];
	c->live[c->live_pos[slot]] = last;
	c->live_pos[last] = c->live_pos[slot];
	c->stats.inflight--;
	if (q->reserved) {
		sh_assert(c->results_reserved > 0);
		c->results_reserved--;
	}
	for (i = 0; i < q->target_count; i++)
		coord_obj_free(&q->targets[i].answer);
	coord_obj_free(&q->merged);
	sh_buf_free(&q->pending);
#if COORD__SPARE_KEEP > 0
	if (c->spare_count < COORD__SPARE_KEEP) {
		c->spare[c->spare_count++] = q; /* with its key's bytes */
		return;
	}
#endif
	free(q->bucket);
	free(q);
}

int coord__req_set_key(coord__req_t *q, const uint8_t *bucket,
                       size_t bucket_len, const uint8_t *key, size_t key_len)
{
	size_t need = bucket_len + key_len + 1;
	if (need > q->key_cap) {
		free(q->bucket);
		q->key_cap = 0;
		/* rounded up, so that most keys fit a reused request */
		q->bucket = malloc(need < 128 ? 128 : need);
		if (q->bucket == NULL)
			return SH_ENOMEM;
		q->key_cap = need < 128 ? 128 : need;
	}
	memcpy(q->bucket, bucket, bucket_len);
	if (key_len > 0)
		memcpy(q->bucket + bucket_len, key, key_len);
	q->bucket_len = bucket_len;
	q->key = q->bucket + bucket_len;
	q->key_len = key_len;
	return SH_OK;
}

/* ---- results ---- */

coord_result_t *coord__reply_begin(coord_t *c, const coord__origin_t *o,
                                   coord__req_t *q, int depends)
{
	coord_result_t *r;

	if (o->remote) {
		if (c->fwd_tmp == NULL)
			c->fwd_tmp = calloc(1, sizeof(*c->fwd_tmp));
		r = c->fwd_tmp;
		if (r == NULL)
			return NULL;
	} else {
		if (q != NULL && q->reserved) {
			/* the room was kept at coord__req_new */
			q->reserved = 0;
			c->results_reserved--;
		} else if (results_room(c) != 0) {
			return NULL;
		}
		sh_assert(c->result_count < c->result_cap);
		r = &c->results[c->result_count];
		c->rinfo[c->result_count].latency_ms = 0;
		c->result_count++;
	}
	/* stored_on and replicas, most of the struct's bytes, are written
	 * entry by entry up to their counts: zero all but them, and keep
	 * the context's buffer (empty) from the slot's last result */
	sh_buf_t ctx = r->context;
	memset(r, 0, offsetof(coord_result_t, stored_on));
	r->context = ctx;
	r->context.len = 0;
	memset(&r->stored_kind, 0,
	       offsetof(coord_result_t, replicas) -
	           offsetof(coord_result_t, stored_kind));
	r->client_id = o->client_id;
	r->op = o->op;
	r->depends = depends != 0;
	return r;
}

void coord__reply_end(coord_t *c, const coord__origin_t *o, coord_result_t *r,
                      uint64_t now_ms)
{
	sh_buf_t *b;

	if (!o->remote) {
		size_t i = (size_t)(r - c->results);
		sh_assert(i < c->result_count);
		c->rinfo[i].latency_ms =
		    now_ms >= o->start_ms ? now_ms - o->start_ms : 0;
		return;
	}
	sh_assert(r == c->fwd_tmp);
	b = coord__msg_new(c, o->node);
	if (b != NULL && coord__wire_forward_reply(b, o->id, r) != 0)
		coord__msg_drop_last(c);
	coord_obj_free(&r->obj);
	sh_buf_free(&r->context);
}

int coord__reply_error(coord_t *c, const coord__origin_t *o, coord__req_t *q,
                       uint64_t now_ms, int status, const char *fmt, ...)
{
	coord_result_t *r = coord__reply_begin(c, o, q, 0);
	va_list ap;

	if (r == NULL)
		return SH_ENOMEM;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (q != NULL) {
		r->n = q->qp.n;
		r->n_capped = q->qp.n_capped;
	}
	coord__reply_end(c, o, r, now_ms);
	return SH_OK;
}

int coord__result_set_obj(coord_result_t *r, const coord_obj_t *obj,
                          int with_obj)
{
	int err;

	sh_buf_reset(&r->context);
	err = coord__obj_context(obj, &r->context);
	if (err == 0 && with_obj)
		err = coord__obj_copy(&r->obj, obj);
	if (err != 0) {
		sh_buf_free(&r->context);
		coord_obj_free(&r->obj);
	}
	return err;
}

/* ---- the ready batch ---- */

static int msgs_grow(coord_t *c)
{
	size_t cap = c->msg_cap ? 2 * c->msg_cap : 16, i;
	sh_buf_t *b;
	coord_msg_t *m;
	char(*to)[COORD_NAME_MAX + 1];

	b = realloc(c->msg_bufs, cap * sizeof(*b));
	if (b == NULL)
		return SH_ENOMEM;
	for (i = c->msg_cap; i < cap; i++)
		sh_buf_init(&b[i]);
	c->msg_bufs = b;
	c->msg_cap = cap; /* the buffers above are valid (empty) now */
	to = realloc(c->msg_to, cap * sizeof(*to));
	if (to == NULL)
		return SH_ENOMEM;
	c->msg_to = to;
	m = realloc(c->msgs, cap * sizeof(*m));
	if (m == NULL)
		return SH_ENOMEM;
	c->msgs = m;
	c->msg_room = cap;
	return SH_OK;
}

sh_buf_t *coord__msg_new(coord_t *c, const char *to)
{
	sh_buf_t *b;
	size_t len = strlen(to);

	sh_assert(len <= COORD_NAME_MAX);
	if (c->msg_count == c->msg_room && msgs_grow(c) != 0)
		return NULL;
	b = &c->msg_bufs[c->msg_count];
	sh_buf_reset(b);
	memcpy(c->msg_to[c->msg_count], to, len + 1);
	c->msg_count++;
	return b;
}

void coord__hinted_note(coord_t *c, const char *primary)
{
	size_t i;

	for (i = 0; i < c->hinted_count; i++)
		if (strcmp(c->hinted[i], primary) == 0)
			return;
	if (c->hinted_count == COORD_HINTED_MAX) {
		c->hinted_more = 1;
		return;
	}
	snprintf(c->hinted[c->hinted_count++], sizeof(c->hinted[0]), "%s",
	         primary);
}

void coord__msg_drop_last(coord_t *c)
{
	sh_assert(c->msg_count > 0);
	c->msg_count--;
	sh_buf_reset(&c->msg_bufs[c->msg_count]);
}

uint64_t coord__next_deadline(const coord_t *c)
{
	uint64_t next = COORD_NO_DEADLINE;
	uint32_t i;

	for (i = 0; i < c->live_count; i++) {
		const coord__req_t *q = c->reqs[c->live[i]];
		if (q->deadline_ms < next)
			next = q->deadline_ms;
	}
	return next;
}

void coord_ready(coord_t *c, coord_ready_t *out)
{
	size_t i;

	for (i = 0; i < c->msg_count; i++) {
		c->msgs[i].to = c->msg_to[i];
		c->msgs[i].data = c->msg_bufs[i].data;
		c->msgs[i].len = c->msg_bufs[i].len;
	}
	out->msgs = c->msgs;
	out->msg_count = c->msg_count;
	out->results = c->results;
	out->result_count = c->result_count;
	out->next_deadline_ms =
	    c->stats.inflight ? coord__next_deadline(c) : COORD_NO_DEADLINE;
	out->hinted = c->hinted;
	out->hinted_count = c->hinted_count;
	out->hinted_more = c->hinted_more;
}

static void msgs_clear(coord_t *c)
{
	size_t i;

	for (i = 0; i < c->msg_count; i++) {
		/* keep small buffers for reuse, drop big ones */
		if (c->msg_bufs[i].cap > 64 * 1024)
			sh_buf_free(&c->msg_bufs[i]);
		else
			sh_buf_reset(&c->msg_bufs[i]);
	}
	c->msg_count = 0;
}

void coord_advance(coord_t *c)
{
	size_t i;

	for (i = 0; i < c->result_count; i++)
		coord__stats_reply(c, &c->results[i], c->rinfo[i].latency_ms);
	msgs_clear(c);
	results_release(c);
	c->hinted_count = 0;
	c->hinted_more = 0;
	if (c->scratch.cap > 1024 * 1024)
		sh_buf_free(&c->scratch);
	c->batch_seq++;
}

/* a result that relied on the failed batch becomes a 503 */
static void result_unstore(coord_result_t *r, int err)
{
	coord_obj_free(&r->obj);
	sh_buf_free(&r->context);
	r->status = 503;
	snprintf(r->error, sizeof(r->error),
	         "storage: the write did not commit (%s)", sh_strerror(err));
	r->stored_on_count = 0;
	r->acknowledged = 0;
}

/* Fail every write in flight whose local write was in batch seq. */
static void fail_writes_of(coord_t *c, uint64_t seq)
{
	uint32_t i;

	/* backwards: freeing the request at i moves the last (visited) one
	 * into its place */
	for (i = c->live_count; i-- > 0;) {
		if (i >= c->live_count)
			continue;
		coord__req_t *q = c->reqs[c->live[i]];
		if (q->kind == COORD__REQ_WRITE && q->wrote_batch == seq)
			coord__write_fail(c, q, 0,
			                  "storage: the write did not "
			                  "commit");
	}
}

void coord_batch_failed(coord_t *c, int err)
{
	size_t k;

	c->stats.batches_failed++;
	msgs_clear(c);
	c->hinted_count = 0; /* those hints did not commit */
	c->hinted_more = 0;
	for (k = 0; k < c->result_count; k++)
		if (c->results[k].depends)
			result_unstore(&c->results[k], err);
	fail_writes_of(c, c->batch_seq);
	c->batch_seq++;
}

void coord_batch_lost(coord_t *c, uint64_t seq, int err)
{
	(void)err;
	c->stats.batches_failed++;
	fail_writes_of(c, seq);
}

uint64_t coord_batch_seq(const coord_t *c)
{
	return c->batch_seq;
}

void coord_tick(coord_t *c, uint64_t now_ms)
{
	uint32_t i;

	sh_assert(store_in_batch(c->store));
	coord__hints_pay(c);
	/* backwards, as in coord_batch_failed; requests an expiry starts
	 * are appended and wait for the next tick */
	for (i = c->live_count; i-- > 0;) {
		if (i >= c->live_count)
			continue;
		coord__req_t *q = c->reqs[c->live[i]];
		if (q->deadline_ms > now_ms)
			continue;
		switch (q->kind) {
		case COORD__REQ_WRITE: coord__write_expire(c, q, now_ms); break;
		case COORD__REQ_READ: coord__read_expire(c, q, now_ms); break;
		case COORD__REQ_FORWARD:
			coord__forward_expire(c, q, now_ms);
			break;
		}
	}
}

const coord_stats_t *coord_stats(const coord_t *c)
{
	return &c->stats;
}

uint64_t coord_epoch(const coord_t *c)
{
	return c->actor.epoch;
}

void coord_set_wall_clock(coord_t *c, uint64_t wall_ms)
{
	c->wall_ms = wall_ms;
}

/*
 * ACTOR RENEWAL (coord.h). Before this node makes a dot for key k: if its
 * copy of k may have been deleted since its actor was taken, dots of that
 * actor for k may live on other replicas beyond what the copy now shows;
 * take the next epoch, so no dot is ever issued twice. The epoch in use
 * is also written to meta "epoch" in this batch (a put only when it
 * changed, or when an aborted batch lost the last put), so a restart
 * starts above every epoch whose dots left this node.
 */
int coord__actor_fresh(coord_t *c, const store_key_t *k)
{
	if (store_maybe_deleted(c->store, k)) {
		uint64_t next = c->actor.epoch + 1;
		if (next == 0)
			next = 1;
		int e =
		    crdt_actor_init(&c->actor, c->name, strlen(c->name), next);
		sh_assert(e == 0);
		store_forget_deleted(c->store);
		c->stats.actor_renewals++;
	}
	int e = store_epoch_put(c->store, c->actor.epoch);
	if (e != 0)
		c->stats.store_errors++;
	return e;
}
