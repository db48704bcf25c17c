/*
 * store_tap.c - a store forwarding to another one and reporting object
 * writes to its hook sets (store_tap.h). The generic layer (store.c) keeps
 * the tap's own batch state; the inner store keeps its own through its
 * public functions, so both agree on what is open and what is doomed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "node/store_int.h"
#include "node/store_tap.h"

/* The last object read through the tap, while no write has happened
 * since: a coordinator reads a key just before writing it, and the old
 * value's hash is then taken from that read instead of a second lookup.
 * The value pointer stays valid until the store's next write. */
typedef struct tap_last {
	int valid;
	int rc; /* SH_OK or SH_ENOTFOUND */
	store_key_t key;
	const uint8_t *val;
	size_t val_len;
} tap_last_t;

typedef struct tap {
	store_t *inner;
	store_tap_hooks_t sets[STORE_TAP_HOOKS_MAX];
	size_t n;    /* sets in use, sets[0..n) */
	int hashing; /* some set has a write hook: reads the old value */
	tap_last_t last;
} tap_t;

static tap_t *tap_of(store_t *s)
{
	return s->impl;
}

/* Carry the inner store's words about a failure to the tap. */
static int tap_err(store_t *s, int rc)
{
	if (rc != SH_OK && rc != SH_ENOTFOUND)
		memcpy(s->errmsg, tap_of(s)->inner->errmsg, sizeof s->errmsg);
	return rc;
}

static int tap_watched(const tap_t *t, const store_key_t *k)
{
	return t->n > 0 && k->space == STORE_OBJECTS && k->len >= 2;
}

static int same_key(const store_key_t *a, const store_key_t *b)
{
	return a->space == b->space && a->len == b->len &&
	       memcmp(a->bytes, b->bytes, a->len) == 0;
}

static int tap_get(store_t *s, const store_key_t *k, const uint8_t **val,
                   size_t *val_len)
{
	tap_t *t = tap_of(s);
	int rc = store_get(t->inner, k, val, val_len);
	if (t->hashing && tap_watched(t, k)) {
		tap_last_t *l = &t->last;
		l->valid = rc == SH_OK || rc == SH_ENOTFOUND;
		l->rc = rc;
		l->key.space = k->space;
		l->key.len = k->len;
		memcpy(l->key.bytes, k->bytes, k->len);
		l->val = rc == SH_OK ? *val : NULL;
		l->val_len = rc == SH_OK ? *val_len : 0;
	}
	return tap_err(s, rc);
}

static int tap_begin(store_t *s)
{
	tap_of(s)->last.valid = 0;
	return tap_err(s, store_begin(tap_of(s)->inner));
}

static uint16_t tap_partition(const store_key_t *k)
{
	return (uint16_t)(k->bytes[0] << 8 | k->bytes[1]);
}

/* The old value's hash of an object key under each set's hash (for the
 * sets with a write hook), read once and hashed before the write can move
 * it: 1 present, 0 absent, < 0 when it could not be read (the partition
 * is then reported stale). */
static int tap_old(tap_t *t, const store_key_t *k, uint64_t *h)
{
	const uint8_t *v;
	size_t len;
	int rc;
	if (!t->hashing)
		return 0;
	if (t->last.valid && same_key(&t->last.key, k)) {
		rc = t->last.rc;
		v = t->last.val;
		len = t->last.val_len;
	} else {
		rc = store_get(t->inner, k, &v, &len);
	}
	if (rc == SH_ENOTFOUND)
		return 0;
	if (rc != SH_OK)
		return rc;
	for (size_t i = 0; i < t->n; i++)
		if (t->sets[i].write != NULL)
			h[i] = t->sets[i].hash(v, len);
	return 1;
}

static void tap_stale(tap_t *t, uint16_t p)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->sets[i].stale != NULL)
			t->sets[i].stale(t->sets[i].arg, p);
}

/* Tell every set of a write that succeeded: old_rc and old_h from
 * tap_old, val NULL for a delete. */
static void tap_report(tap_t *t, const store_key_t *k, int old_rc,
                       const uint64_t *old_h, const uint8_t *val,
                       size_t val_len)
{
	if (old_rc < 0)
		tap_stale(t, tap_partition(k));
	for (size_t i = 0; i < t->n; i++) {
		const store_tap_hooks_t *h = &t->sets[i];
		uint64_t new_h = 0;
		if (val != NULL && h->put != NULL)
			h->put(h->arg, k);
		if (old_rc < 0 || h->write == NULL)
			continue;
		if (val != NULL)
			new_h = h->hash(val, val_len);
		h->write(h->arg, k, old_rc == 1 ? &old_h[i] : NULL,
		         val != NULL ? &new_h : NULL);
	}
}

static int tap_put(store_t *s, const store_key_t *k, const uint8_t *val,
                   size_t val_len)
{
	tap_t *t = tap_of(s);
	int watch = tap_watched(t, k);
	uint64_t old_h[STORE_TAP_HOOKS_MAX] = {0};
	int old_rc = watch ? tap_old(t, k, old_h) : 0;
	t->last.valid = 0;
	int rc = store_put(t->inner, k, val, val_len);
	if (rc == SH_OK && watch)
		tap_report(t, k, old_rc, old_h, val, val_len);
	return tap_err(s, rc);
}

static int tap_del(store_t *s, const store_key_t *k)
{
	tap_t *t = tap_of(s);
	int watch = tap_watched(t, k);
	uint64_t old_h[STORE_TAP_HOOKS_MAX] = {0};
	int old_rc = watch ? tap_old(t, k, old_h) : 0;
	t->last.valid = 0;
	int rc = store_del(t->inner, k);
	if (rc == SH_OK && watch && old_rc != 0)
		tap_report(t, k, old_rc, old_h, NULL, 0);
	return tap_err(s, rc);
}

/* Only store_drop_partition deletes by prefix: a 2-byte partition. */
static int tap_del_prefix(store_t *s, store_space_t space,
                          const uint8_t *prefix, size_t prefix_len,
                          size_t limit, size_t *deleted)
{
	tap_t *t = tap_of(s);
	if (space != STORE_OBJECTS || prefix_len != 2)
		return SH_EINVAL;
	t->last.valid = 0;
	uint16_t p = (uint16_t)(prefix[0] << 8 | prefix[1]);
	int rc = store_drop_partition(t->inner, p, limit, deleted);
	if (rc == SH_OK && *deleted > 0)
		tap_stale(t, p);
	return tap_err(s, rc);
}

static void tap_batch_end(store_t *s, int committed)
{
	tap_t *t = tap_of(s);
	t->last.valid = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->sets[i].batch_end != NULL)
			t->sets[i].batch_end(t->sets[i].arg, committed);
}

static int tap_commit(store_t *s)
{
	int rc = store_commit(tap_of(s)->inner);
	tap_batch_end(s, rc == SH_OK);
	return tap_err(s, rc);
}

static int tap_seal(store_t *s)
{
	store_t *inner = tap_of(s)->inner;
	int rc = store_seal(inner);
	if (rc != SH_OK || !store_sealed(inner))
		tap_batch_end(s, rc == SH_OK); /* failed, or committed */
	else
		store__set_seal_reads(s, store_sealed_reads(inner));
	return tap_err(s, rc);
}

/* Another thread: only the inner store's commit. */
static int tap_commit_sealed(store_t *s)
{
	return store_commit_sealed(tap_of(s)->inner);
}

static int tap_sealed_done(store_t *s, int rc)
{
	store_t *inner = tap_of(s)->inner;
	if (!store_sealed(inner))
		return rc; /* the inner store committed in tap_seal */
	rc = store_sealed_done(inner, rc);
	tap_batch_end(s, rc == SH_OK);
	return tap_err(s, rc);
}

static void tap_abort(store_t *s)
{
	store_t *inner = tap_of(s)->inner;
	if (!store_in_batch(inner))
		return; /* already dropped (a doomed batch) */
	store_abort(inner);
	tap_batch_end(s, 0);
}

static int tap_scan(store_t *s, store_space_t space, const uint8_t *prefix,
                    size_t prefix_len, const uint8_t *after, size_t after_len,
                    size_t limit, store__raw_fn fn, void *arg, int *more)
{
	store_t *inner = tap_of(s)->inner;
	inner->in_scan = 1;
	int rc = inner->ops->scan(inner, space, prefix, prefix_len, after,
	                          after_len, limit, fn, arg, more);
	inner->in_scan = 0;
	return tap_err(s, rc);
}

static int tap_stats(store_t *s, store_space_t space, store_stats_t *out)
{
	return tap_err(s, store_stats(tap_of(s)->inner, space, out));
}

static int tap_flush(store_t *s)
{
	return tap_err(s, store_flush(tap_of(s)->inner));
}

static void tap_close(store_t *s)
{
	free(s->impl);
}

static const struct store_ops tap_ops = {
    .name = "tap",
    .get = tap_get,
    .begin = tap_begin,
    .put = tap_put,
    .del = tap_del,
    .del_prefix = tap_del_prefix,
    .commit = tap_commit,
    .seal = tap_seal,
    .commit_sealed = tap_commit_sealed,
    .sealed_done = tap_sealed_done,
    .abort = tap_abort,
    .scan = tap_scan,
    .stats = tap_stats,
    .flush = tap_flush,
    .close = tap_close,
};

int store_tap_open(store_t *s, store_t *inner)
{
	tap_t *t = calloc(1, sizeof *t);
	if (t == NULL)
		return SH_ENOMEM;
	t->inner = inner;
	store__init(s, &tap_ops, t);
	return SH_OK;
}

static void tap_rehash(tap_t *t)
{
	t->hashing = 0;
	t->last.valid = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->sets[i].write != NULL)
			t->hashing = 1;
}

int store_tap_add_hooks(store_t *s, const store_tap_hooks_t *hooks)
{
	if (s == NULL || s->ops != &tap_ops || hooks == NULL ||
	    (hooks->write != NULL && hooks->hash == NULL))
		return SH_EINVAL;
	tap_t *t = tap_of(s);
	if (t->n == STORE_TAP_HOOKS_MAX)
		return SH_ETOOBIG;
	t->sets[t->n++] = *hooks;
	tap_rehash(t);
	return SH_OK;
}

void store_tap_remove_hooks(store_t *s, const void *arg)
{
	if (s == NULL || s->ops != &tap_ops)
		return;
	tap_t *t = tap_of(s);
	size_t kept = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->sets[i].arg != arg)
			t->sets[kept++] = t->sets[i];
	t->n = kept;
	tap_rehash(t);
}
