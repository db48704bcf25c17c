/*
 * causal.c - actors, dots and causal contexts (see causal.h for the rules
 * and the encoding).
 */
#include "crdt/causal.h"

#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_buf.h"
#include "common/sh_err.h"

/* ---- actors and dots ---- */

int crdt_actor_init(crdt_actor_t *a, const char *name, size_t len,
                    uint64_t epoch)
{
	if (len == 0)
		return SH_EINVAL;
	if (len > CRDT_ACTOR_NAME_MAX)
		return SH_ETOOBIG;
	memset(a, 0, sizeof *a);
	memcpy(a->name, name, len);
	a->name_len = (uint8_t)len;
	a->epoch = epoch;
	return SH_OK;
}

/* The first 8 bytes at p as a big-endian word (p holds them: an actor's
 * name array is longer). */
static inline uint64_t name_word(const char *p)
{
	const uint8_t *q = (const uint8_t *)p;
	return (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 |
	       (uint64_t)q[2] << 40 | (uint64_t)q[3] << 32 |
	       (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
	       (uint64_t)q[6] << 8 | (uint64_t)q[7];
}

int crdt_actor_cmp(const crdt_actor_t *a, const crdt_actor_t *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	/* Names of at most 8 bytes (node names mostly are) compare as
	 * big-endian words cut to n bytes, which orders them as memcmp
	 * does, without its call: every context lookup compares actors. */
	if (n <= 8) {
		uint64_t x = 0, y = 0;
		if (n > 0) {
			unsigned cut = (unsigned)(8 - n) * 8;
			x = name_word(a->name) >> cut;
			y = name_word(b->name) >> cut;
		}
		if (x != y)
			return x < y ? -1 : 1;
	} else {
		int c = memcmp(a->name, b->name, n);
		if (c != 0)
			return c;
	}
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->epoch != b->epoch)
		return a->epoch < b->epoch ? -1 : 1;
	return 0;
}

int crdt_dot_cmp(const crdt_dot_t *a, const crdt_dot_t *b)
{
	int c = crdt_actor_cmp(&a->actor, &b->actor);
	if (c != 0)
		return c;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	return 0;
}

int crdt_actor_encode(const crdt_actor_t *a, sh_mp_writer_t *w)
{
	sh_mp_put_array(w, 2);
	sh_mp_put_bin(w, a->name, a->name_len);
	return sh_mp_put_u64(w, a->epoch);
}

int crdt_dot_encode(const crdt_dot_t *d, sh_mp_writer_t *w)
{
	sh_mp_put_array(w, 2);
	crdt_actor_encode(&d->actor, w);
	return sh_mp_put_u64(w, d->counter);
}

int crdt_actor_decode(sh_mp_reader_t *r, crdt_actor_t *out)
{
	uint32_t n;
	const uint8_t *name;
	size_t len;
	uint64_t epoch;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n != 2)
		return SH_EMALFORMED;
	if ((rc = sh_mp_get_bin(r, &name, &len)) != SH_OK)
		return rc;
	if ((rc = sh_mp_get_u64(r, &epoch)) != SH_OK)
		return rc;
	return crdt_actor_init(out, (const char *)name, len, epoch);
}

int crdt_dot_decode(sh_mp_reader_t *r, crdt_dot_t *out)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n != 2)
		return SH_EMALFORMED;
	if ((rc = crdt_actor_decode(r, &out->actor)) != SH_OK)
		return rc;
	if ((rc = sh_mp_get_u64(r, &out->counter)) != SH_OK)
		return rc;
	return out->counter == 0 ? SH_EINVAL : SH_OK;
}

/* ---- contexts: lookup ---- */

void crdt_ctx_init(crdt_ctx_t *c)
{
	memset(c, 0, sizeof *c);
}

void crdt_ctx_init_buf(crdt_ctx_t *c, crdt_vv_entry_t *buf, size_t cap)
{
	crdt_ctx_init(c);
	c->vv = buf;
	c->vv_cap = cap;
	c->vv_borrowed = 1;
}

void crdt_ctx_free(crdt_ctx_t *c)
{
	if (!c->vv_borrowed)
		free(c->vv);
	free(c->cloud);
	crdt_ctx_init(c);
}

/*
 * Makes room for want vv entries. A borrowed vv that is too small moves
 * into memory of c's own (the lender's copy is left as it was).
 */
static int vv_reserve(crdt_ctx_t *c, size_t want)
{
	if (want <= c->vv_cap)
		return SH_OK;
	if (!c->vv_borrowed)
		return sh_array_reserve((void **)&c->vv, &c->vv_cap, want,
		                        sizeof *c->vv);
	crdt_vv_entry_t *own = NULL;
	size_t cap = 0;
	int rc = sh_array_reserve((void **)&own, &cap, want, sizeof *own);
	if (rc != SH_OK)
		return rc;
	if (c->vv_len > 0)
		memcpy(own, c->vv, c->vv_len * sizeof *own);
	c->vv = own;
	c->vv_cap = cap;
	c->vv_borrowed = 0;
	return SH_OK;
}

void crdt_ctx_clear(crdt_ctx_t *c)
{
	c->vv_len = 0;
	c->cloud_len = 0;
}

/* Index of actor a in c->vv, or -(insertion point) - 1 when absent. */
static long vv_find(const crdt_ctx_t *c, const crdt_actor_t *a)
{
	size_t lo = 0, hi = c->vv_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = crdt_actor_cmp(&c->vv[mid].actor, a);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* Index of dot d in c->cloud, or -(insertion point) - 1 when absent. */
static long cloud_find(const crdt_ctx_t *c, const crdt_dot_t *d)
{
	size_t lo = 0, hi = c->cloud_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = crdt_dot_cmp(&c->cloud[mid], d);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static uint64_t vv_get(const crdt_ctx_t *c, const crdt_actor_t *a)
{
	long i = vv_find(c, a);
	return i >= 0 ? c->vv[i].counter : 0;
}

/*
 * 1 if d may sit in c's cloud: above its actor's vv counter + 1 (a dot at
 * counter + 1 belongs folded into the vv). Written so that a vv counter of
 * UINT64_MAX cannot wrap the comparison.
 */
static int cloud_dot_ok(const crdt_ctx_t *c, const crdt_dot_t *d)
{
	uint64_t have = vv_get(c, &d->actor);
	return d->counter > have && d->counter - have > 1;
}

int crdt_ctx_contains(const crdt_ctx_t *c, const crdt_dot_t *d)
{
	if (d->counter <= vv_get(c, &d->actor))
		return 1;
	return cloud_find(c, d) >= 0;
}

uint64_t crdt_ctx_max(const crdt_ctx_t *c, const crdt_actor_t *a)
{
	uint64_t max = vv_get(c, a);
	/* The cloud is sorted, so a's highest dot sits just before (a, inf). */
	crdt_dot_t probe = {.actor = *a, .counter = UINT64_MAX};
	long i = cloud_find(c, &probe);
	size_t at = i >= 0 ? (size_t)i + 1 : (size_t)(-i - 1);
	if (at > 0 && crdt_actor_cmp(&c->cloud[at - 1].actor, a) == 0 &&
	    c->cloud[at - 1].counter > max)
		max = c->cloud[at - 1].counter;
	return max;
}

int crdt_ctx_is_empty(const crdt_ctx_t *c)
{
	return c->vv_len == 0 && c->cloud_len == 0;
}

/* ---- contexts: change ---- */

/* Inserts (a, counter) at position at of the vv. */
static int vv_insert(crdt_ctx_t *c, size_t at, const crdt_actor_t *a,
                     uint64_t counter)
{
	int rc = vv_reserve(c, c->vv_len + 1);
	if (rc != SH_OK)
		return rc;
	memmove(&c->vv[at + 1], &c->vv[at], (c->vv_len - at) * sizeof *c->vv);
	c->vv[at].actor = *a;
	c->vv[at].counter = counter;
	c->vv_len++;
	return SH_OK;
}

/* Sets a's vv counter to counter (inserting a when absent). */
static int vv_set(crdt_ctx_t *c, const crdt_actor_t *a, uint64_t counter)
{
	long i = vv_find(c, a);
	if (i >= 0) {
		c->vv[i].counter = counter;
		return SH_OK;
	}
	return vv_insert(c, (size_t)(-i - 1), a, counter);
}

void crdt_ctx_compact(crdt_ctx_t *c)
{
	size_t keep = 0;
	for (size_t i = 0; i < c->cloud_len; i++) {
		crdt_dot_t *d = &c->cloud[i];
		long at = vv_find(c, &d->actor);
		uint64_t have = at >= 0 ? c->vv[at].counter : 0;
		if (d->counter <= have)
			continue;
		if (d->counter == have + 1) {
			if (at >= 0) {
				c->vv[at].counter++;
				continue;
			}
			/* Growing the vv can fail only for a new actor; keep
			 * the dot then. */
			if (vv_insert(c, (size_t)(-at - 1), &d->actor, 1) ==
			    SH_OK)
				continue;
		}
		c->cloud[keep++] = *d;
	}
	c->cloud_len = keep;
}

int crdt_ctx_add(crdt_ctx_t *c, const crdt_dot_t *d)
{
	sh_assert(d->counter >= 1);
	uint64_t have = vv_get(c, &d->actor);
	if (d->counter <= have)
		return SH_OK;
	if (d->counter == have + 1) {
		int rc = vv_set(c, &d->actor, d->counter);
		if (rc != SH_OK)
			return rc;
		crdt_ctx_compact(c);
		return SH_OK;
	}
	long i = cloud_find(c, d);
	if (i >= 0)
		return SH_OK;
	size_t at = (size_t)(-i - 1);
	int rc = sh_array_reserve((void **)&c->cloud, &c->cloud_cap,
	                          c->cloud_len + 1, sizeof *c->cloud);
	if (rc != SH_OK)
		return rc;
	memmove(&c->cloud[at + 1], &c->cloud[at],
	        (c->cloud_len - at) * sizeof *c->cloud);
	c->cloud[at] = *d;
	c->cloud_len++;
	return SH_OK;
}

int crdt_ctx_next(crdt_ctx_t *c, const crdt_actor_t *a, crdt_dot_t *out)
{
	uint64_t max = crdt_ctx_max(c, a);
	/* A context from the network may claim a's last counter: never wrap. */
	if (max == UINT64_MAX)
		return SH_ERANGE;
	crdt_dot_t d = {.actor = *a, .counter = max + 1};
	int rc = crdt_ctx_add(c, &d);
	if (rc != SH_OK)
		return rc;
	*out = d;
	return SH_OK;
}

int crdt_ctx_copy(crdt_ctx_t *dst, const crdt_ctx_t *src)
{
	if (dst == src)
		return SH_OK;
	crdt_ctx_clear(dst);
	int rc = vv_reserve(dst, src->vv_len);
	if (rc == SH_OK)
		rc = sh_array_reserve((void **)&dst->cloud, &dst->cloud_cap,
		                      src->cloud_len, sizeof *dst->cloud);
	if (rc != SH_OK)
		return rc;
	if (src->vv_len)
		memcpy(dst->vv, src->vv, src->vv_len * sizeof *src->vv);
	if (src->cloud_len)
		memcpy(dst->cloud, src->cloud,
		       src->cloud_len * sizeof *src->cloud);
	dst->vv_len = src->vv_len;
	dst->cloud_len = src->cloud_len;
	return SH_OK;
}

/* 1 if c's cloud holds a dot of actor a. */
static int cloud_has_actor(const crdt_ctx_t *c, const crdt_actor_t *a)
{
	if (c->cloud_len == 0)
		return 0; /* the usual case: full states make no cloud */
	crdt_dot_t probe = {.actor = *a, .counter = 0};
	long i = cloud_find(c, &probe); /* counters start at 1: never found */
	size_t at = (size_t)(-i - 1);

	return at < c->cloud_len && crdt_actor_cmp(&c->cloud[at].actor, a) == 0;
}

int crdt_ctx_reserve(crdt_ctx_t *c, const crdt_ctx_t *other,
                     const crdt_actor_t *a)
{
	size_t vv = 0, cloud = 0;

	if (other != NULL && other != c) {
		/* the merge inserts other's actors that c lacks (a cloud dot
		 * of an actor neither vv holds stays in the cloud) */
		for (size_t i = 0; i < other->vv_len; i++)
			vv += vv_find(c, &other->vv[i].actor) < 0;
		cloud = other->cloud_len; /* each may stay in the cloud */
	}
	if (a != NULL) {
		if (vv_find(c, a) < 0 &&
		    (other == NULL || vv_find(other, a) < 0))
			vv++;
		/*
		 * a's next dot lands in the cloud only when a cloud already
		 * holds a dot of a above a's vv counter; without one the
		 * merged vv holds a's highest counter and the dot extends it.
		 */
		if (cloud_has_actor(c, a) ||
		    (other != NULL && cloud_has_actor(other, a)))
			cloud++;
	}
	if (vv > SIZE_MAX / 2 - c->vv_len ||
	    cloud > SIZE_MAX / 2 - c->cloud_len)
		return SH_ENOMEM;
	int rc = vv_reserve(c, c->vv_len + vv);
	if (rc == SH_OK && cloud > 0)
		rc = sh_array_reserve((void **)&c->cloud, &c->cloud_cap,
		                      c->cloud_len + cloud, sizeof *c->cloud);
	return rc;
}

int crdt_ctx_merge(crdt_ctx_t *c, const crdt_ctx_t *other)
{
	if (c == other)
		return SH_OK;
	int rc = SH_OK;
	for (size_t i = 0; i < other->vv_len && rc == SH_OK; i++) {
		const crdt_vv_entry_t *e = &other->vv[i];
		if (vv_get(c, &e->actor) < e->counter)
			rc = vv_set(c, &e->actor, e->counter);
	}
	for (size_t i = 0; i < other->cloud_len && rc == SH_OK; i++)
		rc = crdt_ctx_add(c, &other->cloud[i]);
	/* Even after a failed allocation c must keep its invariants. */
	crdt_ctx_compact(c);
	return rc;
}

/* ---- contexts: compare ---- */

int crdt_ctx_leq(const crdt_ctx_t *a, const crdt_ctx_t *b)
{
	for (size_t i = 0; i < a->vv_len; i++) {
		const crdt_vv_entry_t *e = &a->vv[i];
		uint64_t have = vv_get(b, &e->actor);
		if (have >= e->counter)
			continue;
		/*
		 * The gap (have, e->counter] must all be in b's cloud, which
		 * is sorted and unique: count its dots in that range.
		 */
		crdt_dot_t lo = {.actor = e->actor, .counter = have + 1};
		crdt_dot_t hi = {.actor = e->actor, .counter = e->counter};
		long i_lo = cloud_find(b, &lo), i_hi = cloud_find(b, &hi);
		size_t first = i_lo >= 0 ? (size_t)i_lo : (size_t)(-i_lo - 1);
		size_t past =
		    i_hi >= 0 ? (size_t)i_hi + 1 : (size_t)(-i_hi - 1);
		if ((uint64_t)(past - first) != e->counter - have)
			return 0;
	}
	for (size_t i = 0; i < a->cloud_len; i++)
		if (!crdt_ctx_contains(b, &a->cloud[i]))
			return 0;
	return 1;
}

int crdt_ctx_equal(const crdt_ctx_t *a, const crdt_ctx_t *b)
{
	return crdt_ctx_leq(a, b) && crdt_ctx_leq(b, a);
}

/* 1 if a's name is 1..CRDT_ACTOR_NAME_MAX bytes long. */
static int actor_ok(const crdt_actor_t *a)
{
	return a->name_len >= 1 && a->name_len <= CRDT_ACTOR_NAME_MAX;
}

int crdt_ctx_check(const crdt_ctx_t *c)
{
	for (size_t i = 0; i < c->vv_len; i++) {
		if (c->vv[i].counter == 0 || !actor_ok(&c->vv[i].actor))
			return 0;
		if (i > 0 &&
		    crdt_actor_cmp(&c->vv[i - 1].actor, &c->vv[i].actor) >= 0)
			return 0;
	}
	for (size_t i = 0; i < c->cloud_len; i++) {
		const crdt_dot_t *d = &c->cloud[i];
		if (!actor_ok(&d->actor) || !cloud_dot_ok(c, d))
			return 0;
		if (i > 0 && crdt_dot_cmp(&c->cloud[i - 1], d) >= 0)
			return 0;
	}
	return 1;
}

/* ---- contexts: encoding ---- */

int crdt_ctx_encode(const crdt_ctx_t *c, sh_mp_writer_t *w)
{
	sh_mp_put_array(w, 2);
	sh_mp_put_array(w, (uint32_t)c->vv_len);
	for (size_t i = 0; i < c->vv_len; i++) {
		sh_mp_put_array(w, 2);
		crdt_actor_encode(&c->vv[i].actor, w);
		sh_mp_put_u64(w, c->vv[i].counter);
	}
	sh_mp_put_array(w, (uint32_t)c->cloud_len);
	for (size_t i = 0; i < c->cloud_len; i++)
		crdt_dot_encode(&c->cloud[i], w);
	return w->err;
}

static int decode_vv(sh_mp_reader_t *r, crdt_ctx_t *c)
{
	uint32_t n, pair;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n > CRDT_CTX_ACTORS_MAX)
		return SH_ETOOBIG;
	rc = vv_reserve(c, n);
	if (rc != SH_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		crdt_vv_entry_t *e = &c->vv[i];
		if ((rc = sh_mp_get_array(r, &pair)) != SH_OK)
			return rc;
		if (pair != 2)
			return SH_EMALFORMED;
		if ((rc = crdt_actor_decode(r, &e->actor)) != SH_OK)
			return rc;
		if ((rc = sh_mp_get_u64(r, &e->counter)) != SH_OK)
			return rc;
		if (e->counter == 0)
			return SH_EINVAL;
		if (i > 0 &&
		    crdt_actor_cmp(&c->vv[i - 1].actor, &e->actor) >= 0)
			return SH_EMALFORMED;
		c->vv_len = i + 1;
	}
	return SH_OK;
}

static int decode_cloud(sh_mp_reader_t *r, crdt_ctx_t *c)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n > CRDT_CTX_CLOUD_MAX)
		return SH_ETOOBIG;
	rc = sh_array_reserve((void **)&c->cloud, &c->cloud_cap, n,
	                      sizeof *c->cloud);
	if (rc != SH_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		crdt_dot_t *d = &c->cloud[i];
		if ((rc = crdt_dot_decode(r, d)) != SH_OK)
			return rc;
		if (!cloud_dot_ok(c, d))
			return SH_EMALFORMED; /* covered, or should be folded in
			                       */
		if (i > 0 && crdt_dot_cmp(&c->cloud[i - 1], d) >= 0)
			return SH_EMALFORMED;
		c->cloud_len = i + 1;
	}
	return SH_OK;
}

int crdt_ctx_decode(sh_mp_reader_t *r, crdt_ctx_t *c)
{
	uint32_t n;
	crdt_ctx_clear(c);
	int rc = sh_mp_get_array(r, &n);
	if (rc == SH_OK && n != 2)
		rc = SH_EMALFORMED;
	if (rc == SH_OK)
		rc = decode_vv(r, c);
	if (rc == SH_OK)
		rc = decode_cloud(r, c);
	if (rc != SH_OK)
		crdt_ctx_clear(c);
	return rc;
}
