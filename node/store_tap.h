/*
 * store_tap.h - a store that forwards every call to another store and
 * tells hooks about each object write: the one place where the node
 * learns of every change to its objects, whoever makes it (coordinator
 * puts, replica joins, read repair, hinted handoff, ownership handoff,
 * anti-entropy repairs, reaping). Active anti-entropy (node/aae.h) keeps
 * its Merkle trees exact with it.
 *
 * Use:
 *     store_lmdb_open(&disk, &cfg);           any backend
 *     store_tap_open(&s, &disk);              s forwards to disk
 *     store_tap_set_hooks(&s, &hooks);        any time, may be changed
 *     ... use s everywhere ...
 *     store_close(&s); store_close(&disk);    the tap does not own disk
 *
 * For each store_put / store_del of an object key that succeeds, the tap
 * reads the key's old value first (one extra get), then calls
 *     hooks.write(arg, key, old_hash or NULL, new_hash or NULL)
 * with hooks.hash (in: the caller's hash of a stored record) of the old
 * and new values; NULL means absent. The hook runs after the backend
 * applied the write to the open batch, so a later scan in the same batch
 * sees it (what merkle_update asks of its caller).
 * hooks.stale(arg, partition) says that the hooks could not follow a
 * change exactly (store_drop_partition, or the old value could not be
 * read): anything derived from the partition must be rebuilt.
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

typedef struct store_tap_hooks {
	uint64_t (*hash)(const uint8_t *rec, size_t len); /* required */
	void (*write)(void *arg, const store_key_t *k, const uint64_t *old_hash,
	              const uint64_t *new_hash);
	void (*stale)(void *arg, uint16_t partition);
	void (*batch_end)(void *arg, int committed);
	void *arg;
} store_tap_hooks_t;

/*
 * store_tap_open - make *s (out, caller-allocated) a store forwarding to
 * the open store inner (borrowed: it must outlive s; close s first). No
 * hooks until store_tap_set_hooks. Returns 0 or SH_ENOMEM.
 */
int store_tap_open(store_t *s, store_t *inner);

/*
 * store_tap_set_hooks - set (copied) or clear (NULL) the hooks of the tap
 * s. A NULL hash clears them too.
 */
void store_tap_set_hooks(store_t *s, const store_tap_hooks_t *hooks);

#endif /* SHOAL_NODE_STORE_TAP_H */
