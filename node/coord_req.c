/*
 * coord_req.c - what every request path needs first: the effective quorum
 * parameters (server defaults, validation, capping n to the cluster), the
 * key checks, and the targets taken from the key's preference list
 * (coord.h, REQUESTS).
 */
#include <stddef.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

static uint32_t pick(const coord_params_t *p, uint32_t bit, uint32_t v,
                     uint32_t dflt)
{
	return p != NULL && (p->present & bit) ? v : dflt;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int validate(const coord__qp_t *q, char *err, size_t err_size)
{
	if (q->n < 1)
		snprintf(err, err_size, "n (%u) must be at least 1", q->n);
	else if (q->r < 1 || q->r > q->n)
		snprintf(err, err_size, "r (%u) must be from 1 to n (%u)", q->r,
		         q->n);
	else if (q->w < 1 || q->w > q->n)
		snprintf(err, err_size, "w (%u) must be from 1 to n (%u)", q->w,
		         q->n);
	else if (q->pr > q->r)
		snprintf(err, err_size, "pr (%u) must not exceed r (%u)", q->pr,
		         q->r);
	else if (q->pw > q->w)
		snprintf(err, err_size, "pw (%u) must not exceed w (%u)", q->pw,
		         q->w);
	else if (q->timeout_ms < 1)
		snprintf(err, err_size, "timeout_ms must be at least 1");
	else
		return SH_OK;
	return SH_EINVAL;
}

int coord__params(const coord_t *c, const coord_params_t *p, coord__qp_t *out,
                  char *err, size_t err_size)
{
	const coord_params_t *x = p;
	uint32_t members = ring_member_count(&c->ring), cap;
	int err2;

	memset(out, 0, sizeof(*out));
	out->n = pick(x, COORD_PARAM_N, x ? x->n : 0, c->cfg.n);
	out->r = pick(x, COORD_PARAM_R, x ? x->r : 0, c->cfg.r);
	out->w = pick(x, COORD_PARAM_W, x ? x->w : 0, c->cfg.w);
	out->pr = pick(x, COORD_PARAM_PR, x ? x->pr : 0, 0);
	out->pw = pick(x, COORD_PARAM_PW, x ? x->pw : 0, 0);
	out->timeout_ms = pick(x, COORD_PARAM_TIMEOUT_MS, x ? x->timeout_ms : 0,
	                       c->cfg.timeout_ms);
	out->sloppy =
	    x != NULL && (x->present & COORD_PARAM_SLOPPY) ? x->sloppy != 0 : 1;
	/* the server's own r or w may exceed a request's smaller n: cap the
	 * defaults, but reject what the client asked for explicitly */
	if (!(x != NULL && (x->present & COORD_PARAM_R)))
		out->r = min_u32(out->r, out->n ? out->n : 1);
	if (!(x != NULL && (x->present & COORD_PARAM_W)))
		out->w = min_u32(out->w, out->n ? out->n : 1);
	err2 = validate(out, err, err_size);
	if (err2 != 0)
		return err2;
	cap = min_u32(members > 0 ? members : 1, COORD_N_MAX);
	if (out->n > cap) {
		out->n = cap;
		out->n_capped = 1;
		out->r = min_u32(out->r, cap);
		out->w = min_u32(out->w, cap);
		out->pr = min_u32(out->pr, cap);
		out->pw = min_u32(out->pw, cap);
	}
	return SH_OK;
}

int coord__check_key(const uint8_t *bucket, size_t bucket_len,
                     const uint8_t *key, size_t key_len, char *err,
                     size_t err_size)
{
	if (bucket_len == 0 || bucket == NULL) {
		snprintf(err, err_size, "empty bucket");
		return 400;
	}
	if (key_len == 0 || key == NULL) {
		snprintf(err, err_size, "empty key");
		return 400;
	}
	if (bucket_len > STORE_BUCKET_BYTES_MAX) {
		snprintf(err, err_size, "bucket over %d bytes",
		         STORE_BUCKET_BYTES_MAX);
		return 413;
	}
	if (key_len > STORE_KEY_BYTES_MAX) {
		snprintf(err, err_size, "key over %d bytes",
		         STORE_KEY_BYTES_MAX);
		return 413;
	}
	if (memchr(bucket, 0, bucket_len) != NULL) {
		snprintf(err, err_size, "bucket holds a NUL byte");
		return 400;
	}
	return 0;
}

/* s into out (size bytes), cut to fit, as snprintf "%s" would: once per
 * target of every request, where a printf costs more than the copy. */
static void name_copy(char *out, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

static void target_add(coord_t *c, coord__req_t *q, const ring_pref_t *e,
                       const ring_pref_t *primary)
{
	coord__target_t *t;

	sh_assert(q->target_count < COORD_TARGETS_MAX);
	t = &q->targets[q->target_count++];
	/* the names are written below: zero only what follows them */
	memset(&t->is_primary, 0,
	       sizeof(*t) - offsetof(coord__target_t, is_primary));
	name_copy(t->name, sizeof(t->name), e->name);
	if (primary != NULL)
		name_copy(t->hint_for, sizeof(t->hint_for), primary->name);
	else
		t->hint_for[0] = '\0';
	t->is_primary = primary == NULL;
	t->is_self = strcmp(e->name, c->name) == 0;
	t->state = COORD__T_PENDING;
}

void coord__targets(coord_t *c, coord__req_t *q)
{
	ring_preflist_t pl;
	unsigned i;
	uint64_t h =
	    ring_key_hash(q->bucket, q->bucket_len, q->key, q->key_len);

	q->target_count = 0;
	q->unreplaced_count = 0;
	if (ring_preflist(&c->ring, h, q->qp.n, coord__is_up, c, &pl) != 0)
		return;
	for (i = 0; i < pl.n; i++) {
		const ring_pref_t *e = &pl.entries[i];
		if (e->is_up)
			target_add(c, q, e, NULL);
		else if (q->qp.sloppy && e->fallback >= 0)
			target_add(c, q, &pl.entries[e->fallback], e);
		else if (q->unreplaced_count < COORD_N_MAX)
			snprintf(q->unreplaced[q->unreplaced_count++],
			         sizeof(q->unreplaced[0]), "%s", e->name);
	}
}

int coord__self_target(const coord__req_t *q)
{
	size_t i;

	for (i = 0; i < q->target_count; i++)
		if (q->targets[i].is_self)
			return (int)i;
	return -1;
}

int coord__target_find(const coord__req_t *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->target_count; i++)
		if (strcmp(q->targets[i].name, name) == 0)
			return (int)i;
	return -1;
}

uint64_t coord__deadline(uint64_t now_ms, uint32_t timeout_ms)
{
	return now_ms > UINT64_MAX - timeout_ms ? UINT64_MAX - 1
	                                        : now_ms + timeout_ms;
}

void coord__fill_quorum_failure(coord_result_t *r, const coord__req_t *q,
                                uint32_t needed, uint32_t acknowledged)
{
	size_t i;

	r->status = 503;
	r->needed = needed;
	r->acknowledged = acknowledged;
	r->n = q->qp.n;
	r->n_capped = q->qp.n_capped;
	r->stored_on_count = 0;
	for (i = 0; i < q->target_count; i++) {
		if (q->targets[i].state != COORD__T_DONE)
			continue;
		memcpy(r->stored_on[r->stored_on_count++], q->targets[i].name,
		       sizeof(r->stored_on[0]));
	}
}
