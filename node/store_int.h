/*
 * store_int.h - what a storage backend implements (private to node/store*).
 *
 * store.c keeps the batch state (open, doomed), checks arguments and
 * decodes keys; a backend only moves raw keys and values of one keyspace.
 * Backend functions are called with valid arguments and in a valid state:
 * writes only inside a batch that is not doomed, begin only outside one.
 * Every backend error is a negative SH_E... code; the backend also writes
 * its own words into s->errmsg (store__set_errmsg).
 */
#ifndef SHOAL_NODE_STORE_INT_H
#define SHOAL_NODE_STORE_INT_H

#include "node/store.h"

/*
 * Raw scan callback: one entry, borrowed for the call. Return 0 to go on,
 * > 0 to stop after it, < 0 to stop before it (the scan returns that code).
 */
typedef int (*store__raw_fn)(void *arg, const uint8_t *key, size_t key_len,
                             const uint8_t *val, size_t val_len);

struct store_ops {
	const char *name;
	/* value of key, borrowed until the next call; SH_ENOTFOUND if none */
	int (*get)(store_t *s, const store_key_t *k, const uint8_t **val,
	           size_t *val_len);
	int (*begin)(store_t *s);
	int (*put)(store_t *s, const store_key_t *k, const uint8_t *val,
	           size_t val_len);
	/* absent key: 0 */
	int (*del)(store_t *s, const store_key_t *k);
	/*
	 * Delete up to limit keys of space that start with prefix, from the
	 * first; *deleted counts them.
	 */
	int (*del_prefix)(store_t *s, store_space_t space,
	                  const uint8_t *prefix, size_t prefix_len,
	                  size_t limit, size_t *deleted);
	/* on error the batch is gone (nothing applied) */
	int (*commit)(store_t *s);
	/*
	 * Sealed batches (store.h), optional: without seal, store_seal
	 * commits at once. seal: keep the open batch for commit_sealed and
	 * read the state committed before it meanwhile; on error the batch
	 * is gone. commit_sealed: runs on any thread, touches nothing the
	 * owning thread's reads use, and must not write s->errmsg (done
	 * does). sealed_done: back on the owning thread, after
	 * commit_sealed returned rc; returns rc as a store_commit error.
	 */
	int (*seal)(store_t *s);
	int (*commit_sealed)(store_t *s);
	int (*sealed_done)(store_t *s, int rc);
	/* drop the open batch; safe when the backend already dropped it */
	void (*abort)(store_t *s);
	/*
	 * Visit, in key order, the keys of space that start with prefix
	 * (prefix_len <= 258) and are greater than after[0..after_len)
	 * (after_len 0: from the first), at most limit of them. *more: 1 if
	 * the scan stopped (limit or fn > 0) and the range may hold more,
	 * 0 if it is exhausted.
	 */
	int (*scan)(store_t *s, store_space_t space, const uint8_t *prefix,
	            size_t prefix_len, const uint8_t *after, size_t after_len,
	            size_t limit, store__raw_fn fn, void *arg, int *more);
	int (*stats)(store_t *s, store_space_t space, store_stats_t *out);
	int (*flush)(store_t *s);
	/* release impl; an open batch has been aborted already */
	void (*close)(store_t *s);
};

/* store__set_errmsg - printf into s->errmsg (truncated to fit). */
void store__set_errmsg(store_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* store__set_seal_reads - in a backend's seal: what reads see until
 * sealed_done (STORE_SEAL_READS_*; store_seal presets BEFORE). */
void store__set_seal_reads(store_t *s, int mode);

/* store__init - reset the generic fields of s and attach ops and impl. */
void store__init(store_t *s, const struct store_ops *ops, void *impl);

/* Big-endian helpers for the layouts. */
static inline void store__put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void store__put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t store__get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint16_t store__get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

#endif /* SHOAL_NODE_STORE_INT_H */
