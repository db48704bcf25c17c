/*
 * coord_stray.c - a fallback lets go of its copy once its hints are
 * replayed (coord.h, coord_drop_stray).
 *
 * Why: a fallback stores the object and a hint; after the hint is
 * replayed the copy is of no use to anyone, and left alone it outlives
 * the key's later history: once the owners reap the key's tombstone, the
 * stale copy is all that remains of the key outside its owners, and a
 * ring change that makes this node an owner would bring the deleted value
 * back. Riak's fallback vnodes delete their data after handoff likewise.
 */
#include <string.h>

#include "common/sh_err.h"
#include "node/coord_int.h"

/* 1 if this node is among the key's first n owners (up or not). */
static int owns(const coord_t *c, const ring_preflist_t *pl)
{
	for (unsigned i = 0; i < pl->count; i++)
		if (!pl->entries[i].is_fallback &&
		    strcmp(pl->entries[i].name, c->name) == 0)
			return 1;
	return 0;
}

/* 1 if a hint for ok naming any node of pl is stored here (or on error:
 * keep the copy). */
static int hinted(coord_t *c, const ring_preflist_t *pl, const store_key_t *ok)
{
	store_key_t hk;
	const uint8_t *val;
	size_t len;
	for (unsigned i = 0; i < pl->count; i++) {
		const char *name = pl->entries[i].name;
		if (store_key_hint(&hk, name, strlen(name), ok) != SH_OK)
			return 1;
		int rc = store_get(c->store, &hk, &val, &len);
		if (rc != SH_ENOTFOUND)
			return 1;
	}
	return 0;
}

int coord_drop_stray(coord_t *c, const store_key_t *ok, int *dropped)
{
	store_key_parts_t p;
	ring_preflist_t owners, all;
	*dropped = 0;
	if (store_key_parse(STORE_OBJECTS, ok->bytes, ok->len, &p) != SH_OK)
		return SH_EINVAL;
	if (coord_preflist(c, p.bucket, p.bucket_len, p.key, p.key_len,
	                   c->cfg.n, &owners) != SH_OK ||
	    coord_preflist(c, p.bucket, p.bucket_len, p.key, p.key_len,
	                   COORD_N_MAX, &all) != SH_OK)
		return 0; /* no ring: keep it */
	if (owns(c, &owners) || hinted(c, &all, ok))
		return 0;
	int rc = store_del(c->store, ok);
	if (rc != SH_OK) {
		c->stats.store_errors++;
		return rc;
	}
	c->stats.strays_dropped++;
	*dropped = 1;
	return 0;
}
