/*
 * store.c - the storage interface of store.h over a backend's store_ops
 * (store_int.h): batch state and doomed batches, argument checks, scans
 * with resumable cursors and key decoding, and the node's epoch.
 * Pure: no IO of its own; the backend does it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_int.h"

#include <xxhash.h>

#define STORE_EPOCH_KEY "epoch"
/* Draws of a nonzero epoch before giving up (a PRNG that gives 0 that often
 * is broken). */
#define STORE_EPOCH_DRAWS_MAX 64

void store__init(store_t *s, const struct store_ops *ops, void *impl)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->impl = impl;
	s->del_all = 1;
}

void store__set_errmsg(store_t *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

static void check_open(const store_t *s)
{
	sh_assert(s->ops != NULL);
	sh_assert(!s->in_scan); /* a scan callback called back into s */
}

/* ---- deleted-key memory ---- */

static void bit_set(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static int bit_get(const uint64_t *bits, uint64_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

/* an object key's partition: its first two bytes, big-endian */
static uint64_t key_part(const store_key_t *k)
{
	return ((uint64_t)k->bytes[0] << 8 | k->bytes[1]) %
	       STORE_DEL_PARTS_BITS;
}

static void note_written(store_t *s, const store_key_t *k)
{
	if (k->space != STORE_OBJECTS)
		return;
	uint64_t h = XXH3_64bits(k->bytes, k->len);
	bit_set(s->written, h % STORE_WRITTEN_BITS);
	bit_set(s->written, (h >> 32) % STORE_WRITTEN_BITS);
}

int store_maybe_written(const store_t *s, const store_key_t *k)
{
	check_open(s);
	int sees = s->in_batch ||
	           (s->sealed && s->seal_reads == STORE_SEAL_READS_BATCH);
	if (!sees || !s->dirty)
		return 0;
	if (s->written_all)
		return 1;
	uint64_t h = XXH3_64bits(k->bytes, k->len);
	return bit_get(s->written, h % STORE_WRITTEN_BITS) &&
	       bit_get(s->written, (h >> 32) % STORE_WRITTEN_BITS);
}

static void note_deleted(store_t *s, const store_key_t *k)
{
	uint64_t h = XXH3_64bits(k->bytes, k->len);
	bit_set(s->del_keys, h % STORE_DEL_KEYS_BITS);
	bit_set(s->del_keys, (h >> 32) % STORE_DEL_KEYS_BITS);
}

int store_maybe_deleted(const store_t *s, const store_key_t *k)
{
	check_open(s);
	sh_assert(k->space == STORE_OBJECTS && k->len >= 2);
	if (s->del_all || bit_get(s->del_parts, key_part(k)))
		return 1;
	uint64_t h = XXH3_64bits(k->bytes, k->len);
	return bit_get(s->del_keys, h % STORE_DEL_KEYS_BITS) &&
	       bit_get(s->del_keys, (h >> 32) % STORE_DEL_KEYS_BITS);
}

void store_forget_deleted(store_t *s)
{
	check_open(s);
	s->del_all = 0;
	memset(s->del_parts, 0, sizeof(s->del_parts));
	memset(s->del_keys, 0, sizeof(s->del_keys));
}

static void check_key(const store_key_t *k)
{
	sh_assert(k->space == STORE_OBJECTS || k->space == STORE_HINTS ||
	          k->space == STORE_META);
	sh_assert(k->len > 0 && k->len <= STORE_RAW_KEY_BYTES_MAX);
}

void store_close(store_t *s)
{
	check_open(s);
	/* a sealed batch never committed is dropped (not while
	 * store_commit_sealed runs: the caller waits for it) */
	store_abort(s);
	s->ops->close(s);
	memset(s, 0, sizeof(*s));
}

const char *store_backend_name(const store_t *s)
{
	sh_assert(s->ops != NULL);
	return s->ops->name;
}

const char *store_errmsg(const store_t *s)
{
	return s->errmsg;
}

int store_sync_parse(const char *name, store_sync_t *out)
{
	if (strcmp(name, "batch") == 0) {
		*out = STORE_SYNC_BATCH;
		return SH_OK;
	}
	if (strcmp(name, "none") == 0) {
		*out = STORE_SYNC_NONE;
		return SH_OK;
	}
	return SH_EINVAL;
}

int store_get(store_t *s, const store_key_t *k, const uint8_t **val,
              size_t *val_len)
{
	check_open(s);
	check_key(k);
	return s->ops->get(s, k, val, val_len);
}

int store_get_copy(store_t *s, const store_key_t *k, sh_buf_t *out)
{
	const uint8_t *val;
	size_t len;
	sh_buf_reset(out);
	int rc = store_get(s, k, &val, &len);
	if (rc == SH_OK)
		rc = sh_buf_append(out, val, len);
	if (rc != SH_OK)
		sh_buf_reset(out);
	return rc;
}

int store_begin(store_t *s)
{
	check_open(s);
	sh_assert(!s->in_batch && !s->sealed);
	int rc = s->ops->begin(s);
	if (rc == SH_OK) {
		s->in_batch = 1;
		s->batch_err = SH_OK;
		if (s->dirty) { /* the filter of the last batch that wrote */
			s->dirty = 0;
			s->written_all = 0;
			memset(s->written, 0, sizeof(s->written));
		}
	}
	return rc;
}

/*
 * A backend write failed: the batch is doomed (see store.h). Its writes are
 * dropped at once, so reads until store_commit/store_abort see the committed
 * state in either backend.
 */
static int doom(store_t *s, int rc)
{
	sh_assert(rc < 0);
	s->batch_err = rc;
	s->epoch_state = 0;
	s->ops->abort(s);
	return rc;
}

int store_put(store_t *s, const store_key_t *k, const void *val, size_t val_len)
{
	check_open(s);
	check_key(k);
	sh_assert(s->in_batch);
	sh_assert(val != NULL || val_len == 0);
	if (val_len > STORE_VALUE_BYTES_MAX)
		return SH_ETOOBIG;
	if (s->batch_err != SH_OK)
		return s->batch_err;
	s->dirty = 1;
	note_written(s, k);
	int rc = s->ops->put(s, k, val, val_len);
	if (rc != SH_OK)
		return doom(s, rc);
	return SH_OK;
}

int store_del(store_t *s, const store_key_t *k)
{
	check_open(s);
	check_key(k);
	sh_assert(s->in_batch);
	if (s->batch_err != SH_OK)
		return s->batch_err;
	if (k->space == STORE_OBJECTS)
		note_deleted(s, k);
	s->dirty = 1;
	note_written(s, k);
	int rc = s->ops->del(s, k);
	return rc == SH_OK ? SH_OK : doom(s, rc);
}

int store_drop_partition(store_t *s, uint16_t partition, size_t limit,
                         size_t *deleted)
{
	check_open(s);
	sh_assert(s->in_batch);
	sh_assert(limit > 0);
	*deleted = 0;
	if (s->batch_err != SH_OK)
		return s->batch_err;
	bit_set(s->del_parts, partition % STORE_DEL_PARTS_BITS);
	s->dirty = 1;
	s->written_all = 1;
	uint8_t prefix[2];
	store__put_be16(prefix, partition);
	int rc = s->ops->del_prefix(s, STORE_OBJECTS, prefix, sizeof(prefix),
	                            limit, deleted);
	sh_assert(*deleted <= limit);
	if (rc != SH_OK) {
		*deleted = 0;
		return doom(s, rc);
	}
	return SH_OK;
}

int store_commit(store_t *s)
{
	check_open(s);
	sh_assert(s->in_batch);
	s->in_batch = 0;
	int rc = s->batch_err;
	s->batch_err = SH_OK;
	if (rc != SH_OK)
		return rc; /* doom() dropped the writes already */
	rc = s->ops->commit(s);
	s->epoch_state = rc == SH_OK && s->epoch_state ? 1 : 0;
	return rc;
}

void store_abort(store_t *s)
{
	check_open(s);
	if (!s->in_batch)
		return;
	s->in_batch = 0;
	s->batch_err = SH_OK;
	s->epoch_state = 0;
	s->ops->abort(s);
}

int store_in_batch(const store_t *s)
{
	return s->in_batch;
}

int store_batch_dirty(const store_t *s)
{
	return s->in_batch && s->dirty;
}

int store_seal(store_t *s)
{
	check_open(s);
	sh_assert(s->in_batch && !s->sealed);
	if (s->ops->seal == NULL || s->batch_err != SH_OK)
		return store_commit(s); /* a doomed batch is not sealed */
	s->in_batch = 0;
	s->seal_reads = STORE_SEAL_READS_BEFORE;
	int rc = s->ops->seal(s);
	if (rc != SH_OK) {
		s->epoch_state = 0;
		return rc;
	}
	s->sealed = 1;
	return SH_OK;
}

int store_commit_sealed(store_t *s)
{
	if (!s->sealed)
		return SH_OK; /* committed in store_seal */
	return s->ops->commit_sealed(s);
}

int store_sealed_done(store_t *s, int rc)
{
	check_open(s);
	if (!s->sealed)
		return rc;
	s->sealed = 0;
	s->seal_reads = STORE_SEAL_READS_BEFORE;
	rc = s->ops->sealed_done(s, rc);
	s->epoch_state = rc == SH_OK && s->epoch_state ? 1 : 0;
	return rc;
}

int store_sealed(const store_t *s)
{
	return s->sealed;
}

int store_sealed_reads(const store_t *s)
{
	return s->sealed ? s->seal_reads : STORE_SEAL_READS_BEFORE;
}

void store__set_seal_reads(store_t *s, int mode)
{
	s->seal_reads = mode;
}

int store_flush(store_t *s)
{
	check_open(s);
	sh_assert(!s->in_batch && !s->sealed);
	return s->ops->flush(s);
}

void store_cursor_init(store_cursor_t *c)
{
	c->done = 0;
	c->after.space = STORE_OBJECTS;
	c->after.len = 0;
}

void store_cursor_after(store_cursor_t *c, const store_key_t *k)
{
	check_key(k);
	c->done = 0;
	c->after.space = k->space;
	c->after.len = k->len;
	memcpy(c->after.bytes, k->bytes, k->len);
}

/* What scan_entry needs to turn raw entries into store_entry_t. */
typedef struct scan_ctx {
	store_space_t space;
	store_cursor_t *c;
	store_scan_fn fn;
	void *arg;
	store_key_t k; /* the current entry's key */
} scan_ctx_t;

static int scan_entry(void *arg, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len)
{
	scan_ctx_t *x = arg;
	if (key_len == 0 || key_len > STORE_RAW_KEY_BYTES_MAX)
		return SH_EMALFORMED;
	x->k.space = x->space;
	x->k.len = key_len;
	memcpy(x->k.bytes, key, key_len);
	store_entry_t e = {.key = &x->k, .val = val, .val_len = val_len};
	int rc = store_key_parse(x->space, x->k.bytes, key_len, &e.parts);
	if (rc != SH_OK)
		return rc;
	rc = x->fn(x->arg, &e);
	if (rc < 0)
		return rc;
	x->c->after.space = x->space;
	x->c->after.len = key_len;
	memcpy(x->c->after.bytes, key, key_len);
	return rc > 0 ? 1 : 0;
}

static int scan_range(store_t *s, store_space_t space, const uint8_t *prefix,
                      size_t prefix_len, store_cursor_t *c, size_t limit,
                      store_scan_fn fn, void *arg)
{
	check_open(s);
	sh_assert(limit > 0 && fn != NULL);
	const store_key_t *after = &c->after;
	if (after->len > 0 &&
	    (after->space != space || after->len <= prefix_len ||
	     memcmp(after->bytes, prefix, prefix_len) != 0))
		return SH_EINVAL;
	scan_ctx_t x = {.space = space, .c = c, .fn = fn, .arg = arg};
	int more = 0;
	s->in_scan = 1;
	int rc = s->ops->scan(s, space, prefix, prefix_len, after->bytes,
	                      after->len, limit, scan_entry, &x, &more);
	s->in_scan = 0;
	if (rc == SH_OK)
		c->done = !more;
	return rc;
}

int store_scan_partition(store_t *s, uint16_t partition, store_cursor_t *c,
                         size_t limit, store_scan_fn fn, void *arg)
{
	uint8_t prefix[2];
	store__put_be16(prefix, partition);
	return scan_range(s, STORE_OBJECTS, prefix, sizeof(prefix), c, limit,
	                  fn, arg);
}

int store_scan_hints(store_t *s, const void *primary, size_t primary_len,
                     store_cursor_t *c, size_t limit, store_scan_fn fn,
                     void *arg)
{
	uint8_t prefix[1 + STORE_PRIMARY_BYTES_MAX];
	if (primary_len > STORE_PRIMARY_BYTES_MAX)
		return SH_ETOOBIG;
	if (primary_len > 0 && primary == NULL)
		return SH_EINVAL;
	size_t prefix_len = 0;
	if (primary_len > 0) {
		prefix[0] = (uint8_t)primary_len;
		memcpy(prefix + 1, primary, primary_len);
		prefix_len = 1 + primary_len;
	}
	return scan_range(s, STORE_HINTS, prefix, prefix_len, c, limit, fn,
	                  arg);
}

int store_stats(store_t *s, store_space_t space, store_stats_t *out)
{
	check_open(s);
	sh_assert(space == STORE_OBJECTS || space == STORE_HINTS ||
	          space == STORE_META);
	memset(out, 0, sizeof(*out));
	return s->ops->stats(s, space, out);
}

/* Read the stored epoch: 0 and *epoch, SH_ENOTFOUND, or an error. */
static int epoch_read(store_t *s, const store_key_t *k, uint64_t *epoch)
{
	const uint8_t *val;
	size_t len;
	int rc = store_get(s, k, &val, &len);
	if (rc != SH_OK)
		return rc;
	if (len != 8)
		return SH_EMALFORMED;
	uint64_t e = store__get_be64(val);
	if (e == 0)
		return SH_EMALFORMED;
	*epoch = e;
	return SH_OK;
}

int store_epoch_held(store_t *s, uint64_t *epoch)
{
	check_open(s);
	store_key_t k;
	int rc = store_key_meta(&k, STORE_EPOCH_KEY);
	sh_assert(rc == SH_OK);
	return epoch_read(s, &k, epoch);
}

int store_epoch(store_t *s, sh_rand_t *rng, uint64_t *epoch)
{
	check_open(s);
	sh_assert(!s->in_batch);
	s->epoch_state = 0;
	int rc = store_epoch_held(s, epoch);
	if (rc != SH_ENOTFOUND)
		return rc;
	store_key_t k;
	rc = store_key_meta(&k, STORE_EPOCH_KEY);
	sh_assert(rc == SH_OK);

	uint64_t e = 0;
	for (int i = 0; i < STORE_EPOCH_DRAWS_MAX && e == 0; i++)
		e = sh_rand_u64(rng);
	sh_assert(e != 0);
	uint8_t val[8];
	store__put_be64(val, e);
	rc = store_begin(s);
	if (rc != SH_OK)
		return rc;
	rc = store_put(s, &k, val, sizeof(val));
	if (rc != SH_OK) {
		store_abort(s);
		return rc;
	}
	rc = store_commit(s);
	if (rc == SH_OK)
		rc = store_flush(s);
	if (rc == SH_OK)
		*epoch = e;
	return rc;
}

int store_epoch_put(store_t *s, uint64_t epoch)
{
	check_open(s);
	sh_assert(s->in_batch && epoch != 0);
	/* every coordinated write calls this: no lookup while the epoch
	 * held is known */
	if (s->epoch_state != 0 && s->epoch_held == epoch)
		return SH_OK;
	store_key_t k;
	int rc = store_key_meta(&k, STORE_EPOCH_KEY);
	sh_assert(rc == SH_OK);
	uint64_t held = 0;
	rc = epoch_read(s, &k, &held);
	if (rc == SH_OK && held == epoch) {
		s->epoch_state = 1;
		s->epoch_held = epoch;
		return SH_OK;
	}
	if (rc != SH_OK && rc != SH_ENOTFOUND && rc != SH_EMALFORMED)
		return rc;
	uint8_t val[8];
	store__put_be64(val, epoch);
	rc = store_put(s, &k, val, sizeof(val));
	if (rc == SH_OK) {
		s->epoch_state = 2;
		s->epoch_held = epoch;
	}
	return rc;
}
