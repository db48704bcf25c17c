/*
 * store_tap.h - a store that forwards every call to another store and
 * tells hooks about each object write: the one place where the node
 * learns of every change to its objects, whoever makes it (coordinator
 * puts, replica joins, read repair, hinted handoff, ownership handoff,
 * anti-entropy repairs, reaping). Active anti-entropy (node/aae.h) keeps
 * its Merkle trees exact with it; ownership handoff (node/xfer.h) notes
 * the writes to partitions being moved.
 *
 * Use:
 *     store_lmdb_open(&disk, &cfg);           any backend
 *     store_tap_open(&s, &disk);              s forwards to disk
 *     store_tap_add_hooks(&s, &hooks);        any time, one set per user
 *     ... use s everywhere ...
 *     store_tap_remove_hooks(&s, hooks.arg);  before that user goes
 *     store_close(&s); store_close(&disk);    the tap does not own disk
 *
 * The tap holds up to STORE_TAP_HOOKS_MAX hook sets (anti-entropy's
 * trees, ownership handoff's catch-up notes) and tells each of them, in
 * the order they were added. Any hook may be NULL.
 * For each store_put of an object key that succeeds it calls
 *     hooks.put(arg, key)
 * whatever could be read of the old value (no extra read for it).
 * For each store_put / store_del of an object key that succeeds, when
 * some set has a write hook, the tap reads the key's old value first
 * (one extra get, shared by the sets; none when the last store_get
 * through the tap read that key and nothing was written since, as a
 * coordinator's read-before-write does), then calls
 *     hooks.write(arg, key, old_hash or NULL, new_hash or NULL)
 * with hooks.hash (in: the caller's hash of a stored record; required
 * with write) of the old and new values; NULL means absent. The hooks run
 * after the backend applied the write to the open batch, so a later scan
 * in the same batch sees it (what merkle_update asks of its caller).
 * hooks.stale(arg, partition) says that the hooks could not follow a
 * change exactly (store_drop_partition, or the old value could not be
 * read: write is then not called): anything derived from the partition
 * must be rebuilt.
 * hooks.batch_end(arg, committed) follows every store_commit (committed
 * 1 when it returned 0) and every abort of an open batch (0): the writes
 * reported since store_begin then never happened.
 * Hooks must not call into the store. Hints and meta pass through
 * unreported. Pure: no IO of its own.
 */
#ifndef SHOAL_NODE_STORE_TAP_H
#define SHOAL_NODE_STORE_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"

/* Most hook sets one tap holds. */
#define STORE_TAP_HOOKS_MAX 4

typedef struct store_tap_hooks {
	uint64_t (*hash)(const uint8_t *rec, size_t len); /* with write */
	void (*write)(void *arg, const store_key_t *k, const uint64_t *old_hash,
	              const uint64_t *new_hash);
	void (*put)(void *arg, const store_key_t *k);
	void (*stale)(void *arg, uint16_t partition);
	void (*batch_end)(void *arg, int committed);
	void *arg; /* the set's identity for store_tap_remove_hooks */
} store_tap_hooks_t;

/*
 * store_tap_open - make *s (out, caller-allocated) a store forwarding to
 * the open store inner (borrowed: it must outlive s; close s first). No
 * hooks until store_tap_add_hooks. Returns 0 or SH_ENOMEM.
 */
int store_tap_open(store_t *s, store_t *inner);

/*
 * store_tap_add_hooks - add a (copied) hook set to the tap s. Returns 0,
 * SH_EINVAL (s is not a tap, or write without hash) or SH_ETOOBIG
 * (STORE_TAP_HOOKS_MAX sets already).
 */
int store_tap_add_hooks(store_t *s, const store_tap_hooks_t *hooks);

/*
 * store_tap_remove_hooks - remove every hook set of s whose arg is arg
 * (none: nothing happens; s not a tap: nothing happens).
 */
void store_tap_remove_hooks(store_t *s, const void *arg);

#endif /* SHOAL_NODE_STORE_TAP_H */
