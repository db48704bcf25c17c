/*
 * store_tap.c - a store forwarding to another one and reporting object
 * writes to hooks (store_tap.h). The generic layer (store.c) keeps the
 * tap's own batch state; the inner store keeps its own through its public
 * functions, so both agree on what is open and what is doomed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "node/store_int.h"
#include "node/store_tap.h"

typedef struct tap {
	store_t *inner;
	store_tap_hooks_t hooks;
	int hooked;
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

static int tap_get(store_t *s, const store_key_t *k, const uint8_t **val,
                   size_t *val_len)
{
	return tap_err(s, store_get(tap_of(s)->inner, k, val, val_len));
}

static int tap_begin(store_t *s)
{
	return tap_err(s, store_begin(tap_of(s)->inner));
}

static uint16_t tap_partition(const store_key_t *k)
{
	return (uint16_t)(k->bytes[0] << 8 | k->bytes[1]);
}

/* The old value's hash of an object key: 1 present, 0 absent, < 0 when
 * it could not be read (the partition is then reported stale). */
static int tap_old(store_t *s, const store_key_t *k, uint64_t *h)
{
	tap_t *t = tap_of(s);
	const uint8_t *v;
	size_t len;
	int rc = store_get(t->inner, k, &v, &len);
	if (rc == SH_ENOTFOUND)
		return 0;
	if (rc != SH_OK)
		return rc;
	*h = t->hooks.hash(v, len);
	return 1;
}

static void tap_report(store_t *s, const store_key_t *k, int old_rc,
                       const uint64_t *old_h, const uint64_t *new_h)
{
	tap_t *t = tap_of(s);
	if (old_rc < 0) {
		if (t->hooks.stale != NULL)
			t->hooks.stale(t->hooks.arg, tap_partition(k));
		return;
	}
	if (t->hooks.write != NULL)
		t->hooks.write(t->hooks.arg, k, old_rc == 1 ? old_h : NULL,
		               new_h);
}

static int tap_put(store_t *s, const store_key_t *k, const uint8_t *val,
                   size_t val_len)
{
	tap_t *t = tap_of(s);
	int watch = t->hooked && k->space == STORE_OBJECTS && k->len >= 2;
	uint64_t old_h = 0, new_h;
	int old_rc = watch ? tap_old(s, k, &old_h) : 0;
	int rc = store_put(t->inner, k, val, val_len);
	if (rc == SH_OK && watch) {
		new_h = t->hooks.hash(val, val_len);
		tap_report(s, k, old_rc, &old_h, &new_h);
	}
	return tap_err(s, rc);
}

static int tap_del(store_t *s, const store_key_t *k)
{
	tap_t *t = tap_of(s);
	int watch = t->hooked && k->space == STORE_OBJECTS && k->len >= 2;
	uint64_t old_h = 0;
	int old_rc = watch ? tap_old(s, k, &old_h) : 0;
	int rc = store_del(t->inner, k);
	if (rc == SH_OK && watch && old_rc != 0)
		tap_report(s, k, old_rc, &old_h, NULL);
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
	uint16_t p = (uint16_t)(prefix[0] << 8 | prefix[1]);
	int rc = store_drop_partition(t->inner, p, limit, deleted);
	if (rc == SH_OK && *deleted > 0 && t->hooked && t->hooks.stale)
		t->hooks.stale(t->hooks.arg, p);
	return tap_err(s, rc);
}

static void tap_batch_end(store_t *s, int committed)
{
	tap_t *t = tap_of(s);
	if (t->hooked && t->hooks.batch_end != NULL)
		t->hooks.batch_end(t->hooks.arg, committed);
}

static int tap_commit(store_t *s)
{
	int rc = store_commit(tap_of(s)->inner);
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

void store_tap_set_hooks(store_t *s, const store_tap_hooks_t *hooks)
{
	tap_t *t = tap_of(s);
	t->hooked = hooks != NULL && hooks->hash != NULL;
	if (t->hooked)
		t->hooks = *hooks;
	else
		memset(&t->hooks, 0, sizeof t->hooks);
}
