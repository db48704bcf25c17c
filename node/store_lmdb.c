/*
 * store_lmdb.c - the LMDB backend of store.h: the node's data on disk.
 *
 * One environment per node in the data directory (data.mdb), opened with
 * MDB_NOLOCK (see the sealing section) and held by one process through a flock
 * on shoal.lock; one named database per keyspace ("objects", "hints", "meta").
 * With --sync none a batch is one write transaction; reads outside a batch
 * use one read-only transaction, renewed when they start after a batch and
 * reset when a batch begins (read_txn). With --sync batch the write
 * transaction spans batches, each made durable by a journal record, until
 * a checkpoint (store_lmdb_journal.c); reads go through it.
 *
 * Stored keys. LMDB keys are at most 511 bytes (MDB_MAXKEYSIZE of the
 * Debian build, and the format is fixed to it so a data directory stays
 * readable by any build). A store key of up to 510 bytes is stored as it
 * is, with its value as it is. A longer one is stored under exactly 511
 * bytes: its first 503 bytes, then xxh3_64 of the whole key (big-endian);
 * its value is then  key_len (2 bytes, big-endian) | key | value.  The
 * lengths keep the two forms apart, and the first 503 bytes keep every
 * range prefix (2 bytes for a partition, up to 258 for a hint primary).
 *
 * The map grows by doubling (see store_lmdb_open in store.h); LMDB can
 * only resize with no transaction open, which is why a write that finds
 * the map full dooms its batch.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_lmdb_int.h"

/* Map sizes are kept multiples of this (any OS page size divides it). */
#define MAP_ALIGN     ((uint64_t)1 << 16)
#define MAP_BYTES_MIN ((uint64_t)1 << 20)

#define DIR_BYTES_MAX 4096

static const char *const db_names[STORE_SPACES] = {"objects", "hints", "meta"};

static const struct store_ops lmdb_ops;

/* ---- errors ---- */

/* Map an LMDB or errno code to SH_E... and record the message. */
int lmdb__fail(store_t *s, int rc, const char *what)
{
	store__set_errmsg(s, "%s: %s", what, mdb_strerror(rc));
	switch (rc) {
	case MDB_NOTFOUND: return SH_ENOTFOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case ENOSPC: return SH_EFULL;
	case ENOMEM: return SH_ENOMEM;
	case MDB_BAD_VALSIZE: return SH_ETOOBIG;
	default: return SH_EIO;
	}
}

/* ---- stored keys and values ---- */

/* The stored form of key raw[0..len): in *out, pointing at raw or l->skey. */
static void stored_key(lmdb_store_t *l, const uint8_t *raw, size_t len,
                       MDB_val *out)
{
	if (len <= LK_DIRECT_MAX) {
		out->mv_data = (void *)raw;
		out->mv_size = len;
		return;
	}
	uint64_t h = XXH3_64bits(raw, len);
	memcpy(l->skey, raw, LK_HEAD);
	store__put_be64(l->skey + LK_HEAD, h);
	out->mv_data = l->skey;
	out->mv_size = LK_LONG_LEN;
}

/* Split a stored entry into the store key and value it holds. */
static int entry_decode(const MDB_val *k, const MDB_val *v, const uint8_t **raw,
                        size_t *raw_len, const uint8_t **val, size_t *val_len)
{
	static const uint8_t empty[1];
	const uint8_t *d = v->mv_data != NULL ? v->mv_data : empty;
	if (k->mv_size != LK_LONG_LEN) {
		*raw = k->mv_data;
		*raw_len = k->mv_size;
		*val = d;
		*val_len = v->mv_size;
		return SH_OK;
	}
	if (v->mv_size < 2)
		return SH_EMALFORMED;
	size_t len = store__get_be16(d);
	if (len <= LK_DIRECT_MAX || len > STORE_RAW_KEY_BYTES_MAX ||
	    len > v->mv_size - 2 || memcmp(d + 2, k->mv_data, LK_HEAD) != 0)
		return SH_EMALFORMED;
	*raw = d + 2;
	*raw_len = len;
	*val = d + 2 + len;
	*val_len = v->mv_size - 2 - len;
	return SH_OK;
}

static int same_key(const uint8_t *a, size_t a_len, const store_key_t *k)
{
	return a_len == k->len && memcmp(a, k->bytes, a_len) == 0;
}

/* ---- transactions and the map ---- */

/* End the read snapshot, if any, before a batch (or the map, or a sync)
 * changes what is committed; not while sealed (a renewed snapshot could
 * see the meta page the commit is writing). */
static void read_release(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (l->rtxn_live && !s->sealed) {
		mdb_txn_reset(l->rtxn);
		l->rtxn_live = 0;
	}
}

/*
 * The transaction reads use: the batch's, or the read snapshot. The
 * snapshot is kept from call to call: only this process writes (the
 * flock), and only through a batch, whose begin releases it, so it stays
 * the newest committed state until then (while sealed: the state before
 * the sealed batch). Renewing it per call cost more than a read.
 */
static int read_txn(store_t *s, MDB_txn **txn)
{
	lmdb_store_t *l = s->impl;
	/* before the batch's transaction: a broken store has none, and a
	 * batch that never reached the disk must not be read */
	if (l->broken) {
		store__set_errmsg(s, "the journal is broken (a write or a "
		                     "rebuild failed): restart the node");
		return SH_EIO;
	}
	if (l->wtxn != NULL) {
		*txn = l->wtxn;
		return SH_OK;
	}
	if (l->rtxn_live) {
		*txn = l->rtxn;
		return SH_OK;
	}
	int rc;
	if (l->rtxn == NULL) {
		rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &l->rtxn);
	} else {
		rc = mdb_txn_renew(l->rtxn);
		if (rc != 0) {
			mdb_txn_abort(l->rtxn);
			l->rtxn = NULL;
		}
	}
	if (rc != 0)
		return lmdb__fail(s, rc, "read transaction");
	l->rtxn_live = 1;
	*txn = l->rtxn;
	return SH_OK;
}

/* Set the map size to want (no transaction may be open). */
static int map_resize(store_t *s, uint64_t want)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn == NULL);
	if (l->rtxn != NULL) {
		mdb_txn_abort(l->rtxn);
		l->rtxn = NULL;
		l->rtxn_live = 0;
	}
	int rc = mdb_env_set_mapsize(l->env, (size_t)want);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_env_set_mapsize");
	MDB_envinfo info;
	mdb_env_info(l->env, &info);
	l->map_bytes = info.me_mapsize;
	return SH_OK;
}

/* Double the map, up to its limit; SH_EFULL if it is there already. */
static int map_grow(store_t *s)
{
	lmdb_store_t *l = s->impl;
	uint64_t want = l->map_bytes * 2;
	if (l->map_bytes_max > 0 && want > l->map_bytes_max)
		want = l->map_bytes_max / MAP_ALIGN * MAP_ALIGN;
	if (want <= l->map_bytes)
		return SH_EFULL;
	return map_resize(s, want);
}

/* Before a batch: grow the map when a quarter or less of it is left. */
static int map_headroom(store_t *s)
{
	lmdb_store_t *l = s->impl;
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(l->env, &info);
	mdb_env_stat(l->env, &st);
	uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	l->map_bytes = info.me_mapsize;
	if (used < l->map_bytes - l->map_bytes / 4)
		return SH_OK;
	int rc = map_grow(s);
	return rc == SH_EFULL ? SH_OK : rc; /* at the limit: try anyway */
}

/* A write of the batch failed: drop the transaction (the batch is doomed)
 * and, if the map was full, grow it for the retry. */
static int write_failed(store_t *s, int rc, const char *what)
{
	lmdb_store_t *l = s->impl;
	int err = lmdb__fail(s, rc, what);
	if (l->wtxn != NULL) {
		mdb_txn_abort(l->wtxn);
		l->wtxn = NULL;
	}
	if (rc == MDB_MAP_FULL) {
		(void)map_grow(s); /* at the limit: SH_EFULL stays */
		store__set_errmsg(s, "%s: %s (map now %llu bytes)", what,
		                  mdb_strerror(rc),
		                  (unsigned long long)l->map_bytes);
	}
	return err;
}

/* ---- the backend ---- */

int lmdb__get(store_t *s, const store_key_t *k, const uint8_t **val,
              size_t *val_len)
{
	lmdb_store_t *l = s->impl;
	if (l->overlay_on) { /* a checkpoint commits (store_lmdb_journal.c) */
		int o = store_overlay_get(&l->overlay, k->space, k->bytes,
		                          k->len, val, val_len);
		if (o == OVERLAY_VALUE)
			return SH_OK;
		if (o == OVERLAY_DELETED)
			return SH_ENOTFOUND;
	}
	MDB_txn *txn;
	int rc = read_txn(s, &txn);
	if (rc != SH_OK)
		return rc;
	MDB_val key, data;
	stored_key(l, k->bytes, k->len, &key);
	rc = mdb_get(txn, l->dbi[k->space], &key, &data);
	if (rc == MDB_NOTFOUND)
		return SH_ENOTFOUND;
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_get");
	const uint8_t *raw;
	size_t raw_len;
	rc = entry_decode(&key, &data, &raw, &raw_len, val, val_len);
	if (rc != SH_OK)
		return rc;
	return same_key(raw, raw_len, k) ? SH_OK : SH_ENOTFOUND;
}

int lmdb__begin(store_t *s)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn == NULL);
	read_release(s);
	int rc = map_headroom(s);
	if (rc != SH_OK)
		return rc;
	rc = mdb_txn_begin(l->env, NULL, 0, &l->wtxn);
	if (rc == MDB_MAP_RESIZED) { /* another process grew it: adopt */
		mdb_env_set_mapsize(l->env, 0);
		rc = mdb_txn_begin(l->env, NULL, 0, &l->wtxn);
	}
	if (rc != 0) {
		l->wtxn = NULL;
		return lmdb__fail(s, rc, "mdb_txn_begin");
	}
	return SH_OK;
}

/* For a long key: 0 if its stored slot is free or holds k itself,
 * SH_EEXIST if another key with the same head and hash holds it. */
static int long_key_slot(store_t *s, const store_key_t *k, MDB_val *key)
{
	lmdb_store_t *l = s->impl;
	MDB_val data;
	int rc = mdb_get(l->wtxn, l->dbi[k->space], key, &data);
	if (rc == MDB_NOTFOUND)
		return SH_OK;
	if (rc != 0)
		return write_failed(s, rc, "mdb_get");
	const uint8_t *raw, *val;
	size_t raw_len, val_len;
	rc = entry_decode(key, &data, &raw, &raw_len, &val, &val_len);
	if (rc != SH_OK)
		return rc;
	if (same_key(raw, raw_len, k))
		return SH_OK;
	store__set_errmsg(s, "long key hash collision");
	return SH_EEXIST;
}

int lmdb__put(store_t *s, const store_key_t *k, const uint8_t *val,
              size_t val_len)
{
	static const uint8_t empty[1];
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn != NULL);
	MDB_val key, data;
	stored_key(l, k->bytes, k->len, &key);
	int rc;
	if (k->len <= LK_DIRECT_MAX) {
		data.mv_data = val_len > 0 ? (void *)val : (void *)empty;
		data.mv_size = val_len;
		rc = mdb_put(l->wtxn, l->dbi[k->space], &key, &data, 0);
	} else {
		rc = long_key_slot(s, k, &key);
		if (rc != SH_OK)
			return rc;
		data.mv_data = NULL;
		data.mv_size = 2 + k->len + val_len;
		rc = mdb_put(l->wtxn, l->dbi[k->space], &key, &data,
		             MDB_RESERVE);
		if (rc == 0) {
			uint8_t *d = data.mv_data;
			store__put_be16(d, (uint16_t)k->len);
			memcpy(d + 2, k->bytes, k->len);
			if (val_len > 0)
				memcpy(d + 2 + k->len, val, val_len);
		}
	}
	return rc == 0 ? SH_OK : write_failed(s, rc, "mdb_put");
}

int lmdb__del(store_t *s, const store_key_t *k)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn != NULL);
	MDB_val key;
	stored_key(l, k->bytes, k->len, &key);
	if (k->len > LK_DIRECT_MAX) {
		int rc = long_key_slot(s, k, &key);
		if (rc == SH_EEXIST)
			return SH_OK; /* the slot holds another key: k absent */
		if (rc != SH_OK)
			return rc;
	}
	int rc = mdb_del(l->wtxn, l->dbi[k->space], &key, NULL);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return SH_OK;
	return write_failed(s, rc, "mdb_del");
}

static int has_prefix(const MDB_val *k, const uint8_t *prefix,
                      size_t prefix_len)
{
	return k->mv_size >= prefix_len &&
	       (prefix_len == 0 || memcmp(k->mv_data, prefix, prefix_len) == 0);
}

int lmdb__del_prefix(store_t *s, store_space_t space, const uint8_t *prefix,
                     size_t prefix_len, size_t limit, size_t *deleted)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn != NULL && prefix_len > 0);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(l->wtxn, l->dbi[space], &cur);
	if (rc != 0)
		return write_failed(s, rc, "mdb_cursor_open");
	*deleted = 0;
	for (size_t i = 0; i < limit; i++) {
		MDB_val key = {.mv_size = prefix_len,
		               .mv_data = (void *)prefix};
		MDB_val data;
		rc = mdb_cursor_get(cur, &key, &data, MDB_SET_RANGE);
		if (rc != 0 || !has_prefix(&key, prefix, prefix_len))
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			break;
		(*deleted)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return write_failed(s, rc, "mdb_cursor_del");
	return SH_OK;
}

static int lmdb_commit(store_t *s)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn != NULL);
	int rc = mdb_txn_commit(l->wtxn);
	l->wtxn = NULL; /* freed even when the commit fails */
	return rc == 0 ? SH_OK : write_failed(s, rc, "mdb_txn_commit");
}

/*
 * Sealing. The environment runs with MDB_NOLOCK, so the write transaction
 * has no owner thread and commit_sealed may commit it on another one. The
 * contract MDB_NOLOCK leaves to us: one writer (one process per directory,
 * the flock; one batch at a time, store.c), and no reader of an old
 * snapshot while a writer is active. The only reader during a seal is
 * rtxn, on the last committed snapshot, taken here before the commit
 * starts and released once it is done.
 */
int lmdb__seal(store_t *s)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->wtxn != NULL && l->stxn == NULL);
	MDB_txn *w = l->wtxn;
	l->wtxn = NULL; /* read_txn: a snapshot, not the batch */
	MDB_txn *r;
	int rc = read_txn(s, &r);
	if (rc != SH_OK) {
		mdb_txn_abort(w);
		return rc;
	}
	l->stxn = w;
	return SH_OK;
}

int lmdb__commit_sealed(store_t *s)
{
	lmdb_store_t *l = s->impl;
	sh_assert(l->stxn != NULL);
	l->sealed_rc = mdb_txn_commit(l->stxn);
	l->stxn = NULL; /* freed even when the commit fails */
	return l->sealed_rc == 0 ? SH_OK : SH_EIO;
}

int lmdb__sealed_done(store_t *s, int rc)
{
	lmdb_store_t *l = s->impl;
	read_release(s);       /* store.c cleared s->sealed */
	if (l->stxn != NULL) { /* never committed */
		mdb_txn_abort(l->stxn);
		l->stxn = NULL;
		return rc != SH_OK ? rc : SH_EIO;
	}
	if (l->sealed_rc == 0)
		return rc;
	return write_failed(s, l->sealed_rc, "mdb_txn_commit");
}

void lmdb__abort(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (l->wtxn != NULL) {
		mdb_txn_abort(l->wtxn);
		l->wtxn = NULL;
	}
}

/* Place cur on the first entry of the range after `after` (see scan). */
static int scan_seek(lmdb_store_t *l, MDB_cursor *cur, const uint8_t *prefix,
                     size_t prefix_len, const uint8_t *after, size_t after_len,
                     MDB_val *key, MDB_val *data)
{
	if (after_len == 0 && prefix_len == 0)
		return mdb_cursor_get(cur, key, data, MDB_FIRST);
	if (after_len == 0) {
		key->mv_data = (void *)prefix;
		key->mv_size = prefix_len;
		return mdb_cursor_get(cur, key, data, MDB_SET_RANGE);
	}
	MDB_val want;
	stored_key(l, after, after_len, &want);
	*key = want;
	int rc = mdb_cursor_get(cur, key, data, MDB_SET_RANGE);
	if (rc == 0 && key->mv_size == want.mv_size &&
	    memcmp(key->mv_data, want.mv_data, want.mv_size) == 0)
		rc = mdb_cursor_get(cur, key, data, MDB_NEXT);
	return rc;
}

int lmdb__scan(store_t *s, store_space_t space, const uint8_t *prefix,
               size_t prefix_len, const uint8_t *after, size_t after_len,
               size_t limit, store__raw_fn fn, void *arg, int *more)
{
	lmdb_store_t *l = s->impl;
	sh_assert(prefix_len <= LK_HEAD);
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = read_txn(s, &txn);
	if (rc != SH_OK)
		return rc;
	rc = mdb_cursor_open(txn, l->dbi[space], &cur);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_cursor_open");
	MDB_val key, data;
	rc = scan_seek(l, cur, prefix, prefix_len, after, after_len, &key,
	               &data);
	int ret = SH_OK;
	*more = 0;
	for (size_t count = 0; rc == 0 && has_prefix(&key, prefix, prefix_len);
	     count++) {
		const uint8_t *raw, *val;
		size_t raw_len, val_len;
		if (count == limit) {
			*more = 1;
			break;
		}
		ret = entry_decode(&key, &data, &raw, &raw_len, &val, &val_len);
		if (ret == SH_OK)
			ret = fn(arg, raw, raw_len, val, val_len);
		if (ret != SH_OK) {
			*more = ret > 0;
			ret = ret > 0 ? SH_OK : ret;
			break;
		}
		rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (ret == SH_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = lmdb__fail(s, rc, "mdb_cursor_get");
	return ret;
}

int lmdb__stats(store_t *s, store_space_t space, store_stats_t *out)
{
	lmdb_store_t *l = s->impl;
	MDB_txn *txn;
	int rc = read_txn(s, &txn);
	if (rc != SH_OK)
		return rc;
	MDB_stat st;
	rc = mdb_stat(txn, l->dbi[space], &st);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_stat");
	out->entries = st.ms_entries;
	out->bytes = ((uint64_t)st.ms_branch_pages + st.ms_leaf_pages +
	              st.ms_overflow_pages) *
	             st.ms_psize;
	return SH_OK;
}

int lmdb__flush(store_t *s)
{
	lmdb_store_t *l = s->impl;
	read_release(s);
	int rc = mdb_env_sync(l->env, 1);
	return rc == 0 ? SH_OK : lmdb__fail(s, rc, "mdb_env_sync");
}

void lmdb__close(store_t *s)
{
	lmdb_store_t *l = s->impl;
	lmdb__abort(s);
	if (l->stxn != NULL)
		mdb_txn_abort(l->stxn);
	if (l->rtxn != NULL)
		mdb_txn_abort(l->rtxn);
	mdb_env_close(l->env);
	if (l->lock_fd >= 0)
		close(l->lock_fd);       /* releases the flock */
	store_overlay_free(&l->overlay); /* replayed at open */
	free(l);
}

static const struct store_ops lmdb_ops = {
    .name = "lmdb",
    .get = lmdb__get,
    .begin = lmdb__begin,
    .put = lmdb__put,
    .del = lmdb__del,
    .del_prefix = lmdb__del_prefix,
    .commit = lmdb_commit,
    .seal = lmdb__seal,
    .commit_sealed = lmdb__commit_sealed,
    .sealed_done = lmdb__sealed_done,
    .abort = lmdb__abort,
    .scan = lmdb__scan,
    .stats = lmdb__stats,
    .flush = lmdb__flush,
    .close = lmdb__close,
};

/* ---- opening ---- */

/* mkdir -p dir, mode 0700; then dir must be a directory. */
static int make_dir(store_t *s, const char *dir)
{
	char path[DIR_BYTES_MAX];
	size_t len = strnlen(dir, sizeof(path));
	if (len == 0 || len >= sizeof(path)) {
		store__set_errmsg(s, "data directory name empty or too long");
		return SH_EINVAL;
	}
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			store__set_errmsg(s, "mkdir %s: %s", path,
			                  strerror(errno));
			return SH_EIO;
		}
		path[i] = c;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		store__set_errmsg(s, "%s: not a directory", dir);
		return SH_EIO;
	}
	return SH_OK;
}

/* Lock the directory for this process: l->lock_fd, or SH_EIO. */
static int dir_lock(store_t *s, lmdb_store_t *l, const char *dir)
{
	char path[DIR_BYTES_MAX + 16];
	snprintf(path, sizeof(path), "%s/shoal.lock", dir);
	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd < 0) {
		store__set_errmsg(s, "open %s: %s", path, strerror(errno));
		return SH_EIO;
	}
	if (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		store__set_errmsg(s, "%s: %s", path,
		                  errno == EWOULDBLOCK
		                      ? "the data directory is in use by "
		                        "another process"
		                      : strerror(errno));
		close(l->lock_fd);
		l->lock_fd = -1;
		return SH_EIO;
	}
	return SH_OK;
}

static uint64_t map_bytes_initial(const store_lmdb_cfg_t *cfg)
{
	uint64_t m =
	    cfg->map_bytes ? cfg->map_bytes : STORE_LMDB_MAP_BYTES_DEFAULT;
	if (m < MAP_BYTES_MIN)
		m = MAP_BYTES_MIN;
	if (m > UINT64_MAX - MAP_ALIGN)
		m = UINT64_MAX - MAP_ALIGN;
	return (m + MAP_ALIGN - 1) / MAP_ALIGN * MAP_ALIGN;
}

/* Create the environment (in l->env, even on error) and set it up. */
static int env_create(store_t *s, lmdb_store_t *l, const store_lmdb_cfg_t *cfg)
{
	int rc = mdb_env_create(&l->env);
	if (rc != 0) {
		l->env = NULL;
		return lmdb__fail(s, rc, "mdb_env_create");
	}
	rc = mdb_env_set_maxdbs(l->env, STORE_SPACES);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_env_set_maxdbs");
	rc = mdb_env_set_mapsize(l->env, (size_t)map_bytes_initial(cfg));
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_env_set_mapsize");
	/* NOLOCK: a sealed batch commits on another thread (see lmdb__seal);
	 * the flock in dir_lock keeps a second process out instead of
	 * LMDB's lock file */
	unsigned flags = MDB_NORDAHEAD | MDB_NOLOCK;
	/* Without fsync, a commit need not copy its dirty pages to the file
	 * with one pwrite each (2-3 per request, the node's most frequent
	 * syscall under writes): WRITEMAP builds them in the shared map, so a
	 * commit makes no syscall and the OS writes the pages back. Same file
	 * format; the cost is that a stray write through the map could reach
	 * the data, so --sync batch, which pays an fsync per commit anyway,
	 * keeps LMDB's copied pages. */
	if (cfg->sync == STORE_SYNC_NONE)
		flags |= MDB_NOSYNC | MDB_WRITEMAP;
	rc = mdb_env_open(l->env, cfg->dir, flags, 0600);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_env_open");
	return SH_OK;
}

/* Open the environment and the three databases into l. */
static int env_open(store_t *s, lmdb_store_t *l, const store_lmdb_cfg_t *cfg)
{
	int rc = env_create(s, l, cfg);
	if (rc != SH_OK)
		return rc;
	if (mdb_env_get_maxkeysize(l->env) < LK_LONG_LEN) {
		store__set_errmsg(s, "LMDB keys limited to %d bytes",
		                  mdb_env_get_maxkeysize(l->env));
		return SH_EIO;
	}
	MDB_txn *txn;
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_txn_begin");
	for (int i = 0; i < STORE_SPACES && rc == 0; i++)
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &l->dbi[i]);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb__fail(s, rc, "mdb_dbi_open");
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_txn_commit");
	MDB_envinfo info;
	mdb_env_info(l->env, &info);
	l->map_bytes = info.me_mapsize;
	l->map_bytes_max = cfg->map_bytes_max;
	return SH_OK;
}

int store_lmdb_open(store_t *s, const store_lmdb_cfg_t *cfg)
{
	memset(s, 0, sizeof(*s));
	if (cfg == NULL || cfg->dir == NULL) {
		store__set_errmsg(s, "no data directory");
		return SH_EINVAL;
	}
	int rc = make_dir(s, cfg->dir);
	if (rc != SH_OK)
		return rc;
	lmdb_store_t *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		store__set_errmsg(s, "out of memory");
		return SH_ENOMEM;
	}
	rc = dir_lock(s, l, cfg->dir);
	if (rc == SH_OK)
		rc = env_open(s, l, cfg);
	if (rc != SH_OK) {
		if (l->env != NULL)
			mdb_env_close(l->env);
		if (l->lock_fd >= 0)
			close(l->lock_fd);
		free(l);
		return rc;
	}
	l->journaled = cfg->sync == STORE_SYNC_BATCH;
	l->ckpt_muts = cfg->checkpoint_mutations
	                   ? cfg->checkpoint_mutations
	                   : STORE_LMDB_CHECKPOINT_MUTATIONS_DEFAULT;
	store__init(s, l->journaled ? &lmdb__journal_ops : &lmdb_ops, l);
	rc = lmdb__journal_open(s, cfg->dir);
	if (rc != SH_OK) {
		char msg[STORE_ERRMSG_BYTES];
		memcpy(msg, s->errmsg, sizeof(msg));
		s->ops->close(s);
		memset(s, 0, sizeof(*s));
		memcpy(s->errmsg, msg, sizeof(msg));
	}
	return rc;
}
