/*
 * store_lmdb_journal.c - the LMDB backend with --sync batch: batches made
 * durable by the journal (store_journal.h), LMDB committed now and then.
 *
 * Why. An LMDB commit writes every page its batch touched, one pwrite each
 * (scattered over the file), then flushes twice (data, then the meta
 * page): about 1.1 ms here for 25 writes, and more the more pages. The
 * same batch appended to a journal that was zero-filled ahead is one
 * write and one flush: 0.16 ms.
 *
 * How.
 *   - The batches' writes go into one long LMDB write transaction
 *     (l->wtxn), open across batches, which every read goes through, and
 *     each batch's mutations into a journal record. Sealing a batch hands
 *     its record to the commit thread (store_journal_write: one pwrite,
 *     one fdatasync); meanwhile reads see the sealed batch
 *     (STORE_SEAL_READS_BATCH: a reply about a key it wrote waits).
 *   - A checkpoint commits the long transaction durably, with the
 *     sequence number of the last journal record it holds and the seed of
 *     the next round (store_journal.h, ROUNDS) under the meta key
 *     "journal"; the journal then starts again at its beginning. It
 *     replaces a batch's record when the journal has grown past
 *     JR_CKPT_BYTES or the checkpoint_mutations of store_lmdb_cfg_t
 *     (which bounds the memory the transaction's dirty pages hold, and
 *     the replay at open), or the record would not fit. It runs on the
 *     commit thread like a batch. The snapshot before it lacks the writes
 *     since the last checkpoint, so reads meanwhile look them up first
 *     in the overlay (store_overlay.h: those writes by key), and see the
 *     checkpoint's batch too (STORE_SEAL_READS_BATCH). After a partition
 *     drop the overlay cannot say which keys went, and reads wait for
 *     the checkpoint (STORE_SEAL_READS_WAIT).
 *   - store_flush between batches checkpoints too, on the calling thread,
 *     when records were written since the last checkpoint: the node calls
 *     it once its writes have stopped for a while, so an idle node's
 *     data.mdb holds everything and it keeps no dirty pages, overlay or
 *     replay for later.
 *   - Opening replays the records after the checkpoint's, in any sync
 *     mode (a node that ran with --sync batch may have crashed), and
 *     commits them as a checkpoint. With --sync none the journal file is
 *     then removed. A journal damaged in the middle (a valid record after
 *     the one replay stopped at) is refused: the open fails and changes
 *     nothing, rather than drop the acknowledged records after the damage.
 *   - A dropped batch (doomed by a failed write, or aborted) leaves its
 *     writes in the long transaction, among acknowledged ones: the
 *     transaction is dropped and rebuilt from the checkpoint and the
 *     journal (jr_rebuild), which holds exactly the acknowledged batches.
 *   - A journal write that fails leaves the file's state unknown (a failed
 *     fdatasync may have dropped the pages it was to write): the store is
 *     then broken until the node restarts and replays what the disk
 *     holds. The long transaction, which holds the failed batch, is
 *     dropped, and batches and reads fail with SH_EIO: a read of that
 *     batch would let its dots and epochs leave the node, to be issued
 *     again after the restart.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/store_lmdb_int.h"

#define JR_FILE_BYTES    ((uint64_t)32 << 20)
#define JR_CKPT_BYTES    ((uint64_t)8 << 20)
#define JR_META_KEY      "journal"
#define JR_REBUILD_TRIES 8 /* map growths a rebuild may need */

/* ---- the checkpoint's sequence number and seed in meta ---- */

/* meta "journal": the seq (8 bytes, big-endian), then the next round's
 * seed (8 more; absent before seeds existed: seed 0). */
static int jr_seq_read(store_t *s, uint64_t *seq, uint64_t *seed)
{
	store_key_t k;
	sh_assert(store_key_meta(&k, JR_META_KEY) == SH_OK);
	const uint8_t *v;
	size_t n;
	int rc = lmdb__get(s, &k, &v, &n);
	*seq = 0;
	*seed = 0;
	if (rc == SH_ENOTFOUND)
		return SH_OK;
	if (rc != SH_OK)
		return rc;
	if (n != 8 && n != 16) {
		store__set_errmsg(s, "meta %s: %zu bytes, not 8 or 16",
		                  JR_META_KEY, n);
		return SH_EIO;
	}
	*seq = store__get_be64(v);
	if (n == 16)
		*seed = store__get_be64(v + 8);
	return SH_OK;
}

static int jr_seq_write(store_t *s, uint64_t seq, uint64_t seed)
{
	store_key_t k;
	sh_assert(store_key_meta(&k, JR_META_KEY) == SH_OK);
	uint8_t v[16];
	store__put_be64(v, seq);
	store__put_be64(v + 8, seed);
	return lmdb__put(s, &k, v, sizeof(v));
}

/* A new round's seed: random, so that no record of an earlier round, and
 * no stored value, passes for one of the round. */
static int jr_new_seed(store_t *s, uint64_t *seed)
{
	ssize_t n;
	do
		n = getrandom(seed, sizeof(*seed), 0);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*seed))
		return SH_OK;
	store__set_errmsg(s, "getrandom: %s", strerror(errno));
	return SH_EIO;
}

/* ---- writes: the transaction and the overlay ---- */

static int jr_put_raw(store_t *s, const store_key_t *k, const uint8_t *val,
                      size_t val_len)
{
	lmdb_store_t *l = s->impl;
	int rc = lmdb__put(s, k, val, val_len);
	if (rc == SH_OK)
		store_overlay_put(&l->overlay, k->space, k->bytes, k->len, val,
		                  val_len);
	return rc;
}

static int jr_del_raw(store_t *s, const store_key_t *k)
{
	lmdb_store_t *l = s->impl;
	int rc = lmdb__del(s, k);
	if (rc == SH_OK)
		store_overlay_del(&l->overlay, k->space, k->bytes, k->len);
	return rc;
}

static int jr_del_prefix_raw(store_t *s, store_space_t space,
                             const uint8_t *prefix, size_t prefix_len,
                             size_t limit, size_t *deleted)
{
	lmdb_store_t *l = s->impl;
	int rc = lmdb__del_prefix(s, space, prefix, prefix_len, limit, deleted);
	if (rc == SH_OK && *deleted > 0) /* which keys: not known here */
		store_overlay_lose(&l->overlay);
	return rc;
}

/* ---- replay ---- */

static int jr_apply(void *arg, uint64_t seq, const journal_mut_t *m)
{
	store_t *s = arg;
	(void)seq;
	if (m->op == JOURNAL_DEL_PREFIX) {
		size_t deleted;
		if (m->key_len == 0)
			return SH_EMALFORMED;
		return jr_del_prefix_raw(s, m->space, m->key, m->key_len,
		                         (size_t)m->limit, &deleted);
	}
	store_key_t k;
	if (m->key_len == 0 || m->key_len > sizeof(k.bytes))
		return SH_EMALFORMED;
	k.space = m->space;
	k.len = m->key_len;
	memcpy(k.bytes, m->key, m->key_len);
	if (m->op == JOURNAL_PUT)
		return jr_put_raw(s, &k, m->val, m->val_len);
	return jr_del_raw(s, &k);
}

/*
 * Open the long transaction on the checkpoint and replay the journal's
 * records after it; *last is the last one replayed. A full map is grown
 * (by the failed write) and the replay tried again. With damage (at
 * open), the replay also looks for damage in the middle
 * (store_journal_recover).
 */
static int jr_rebuild(store_t *s, journal_damage_t *damage, uint64_t *last)
{
	lmdb_store_t *l = s->impl;
	int rc = SH_EFULL;
	for (int i = 0; i < JR_REBUILD_TRIES && rc == SH_EFULL; i++) {
		if (l->wtxn != NULL) {
			mdb_txn_abort(l->wtxn);
			l->wtxn = NULL;
		}
		store_overlay_clear(&l->overlay);
		rc = lmdb__begin(s);
		if (rc == SH_OK && damage != NULL)
			rc = store_journal_recover(&l->journal, l->ckpt_seq,
			                           jr_apply, s, last, damage);
		else if (rc == SH_OK)
			rc = store_journal_replay(&l->journal, l->ckpt_seq,
			                          jr_apply, s, last);
	}
	if (rc != SH_OK && l->wtxn != NULL) {
		mdb_txn_abort(l->wtxn);
		l->wtxn = NULL;
	}
	l->batch_wrote = 0;
	return rc;
}

/* The long transaction lost writes it must not hold, or all of them:
 * rebuild it, or the store is broken. Once broken it stays so. */
static void jr_restore(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (l->broken)
		return; /* nothing is read or written until a restart */
	uint64_t last = 0;
	int rc = jr_rebuild(s, NULL, &last);
	uint64_t want = l->journal.next_seq - 1;
	if (rc == SH_OK && last != want) {
		store__set_errmsg(s, "journal replay ended at %llu, not %llu",
		                  (unsigned long long)last,
		                  (unsigned long long)want);
		rc = SH_EIO;
	}
	if (rc != SH_OK) {
		char msg[STORE_ERRMSG_BYTES];
		memcpy(msg, s->errmsg, sizeof(msg));
		store__set_errmsg(s, "rebuilding from the journal: %s", msg);
		l->broken = 1;
	}
}

/* A journal write failed (rc): the store is broken, and the long
 * transaction, which holds the batch the disk may lack, is dropped so
 * that no read sees it (read_txn fails once broken). */
static void jr_break(store_t *s, int rc)
{
	lmdb_store_t *l = s->impl;
	l->broken = 1;
	store_journal_discard(&l->journal);
	store_overlay_clear(&l->overlay);
	lmdb__abort(s);
	l->batch_wrote = 0;
	store__set_errmsg(s, "journal write: %s", sh_strerror(rc));
}

/* ---- checkpoints ---- */

static int jr_checkpoint_due(const lmdb_store_t *l)
{
	const store_journal_t *j = &l->journal;
	return store_journal_used(j) >= JR_CKPT_BYTES ||
	       l->muts + store_journal_count(j) >= l->ckpt_muts ||
	       !store_journal_fits(j);
}

/* Turn the open batch into a checkpoint: its record is dropped (the
 * LMDB commit holds its writes) and meta names the last record written,
 * and the seed of the round the checkpoint starts. */
static int jr_checkpoint_prepare(store_t *s)
{
	lmdb_store_t *l = s->impl;
	store_journal_discard(&l->journal);
	l->ckpt_next = l->journal.next_seq - 1;
	int rc = jr_new_seed(s, &l->seed_next);
	if (rc != SH_OK)
		return rc;
	return jr_seq_write(s, l->ckpt_next, l->seed_next);
}

static void jr_checkpoint_done(lmdb_store_t *l)
{
	store_overlay_clear(&l->overlay);
	l->ckpt_seq = l->ckpt_next;
	store_journal_reset(&l->journal, l->ckpt_seq, l->seed_next);
	l->muts = 0;
	l->checkpoints++;
}

/* A checkpoint on this thread (a batch committed at once, opening,
 * closing). Whatever it returns, the long transaction is gone. */
static int jr_checkpoint_now(store_t *s)
{
	lmdb_store_t *l = s->impl;
	int rc = jr_checkpoint_prepare(s);
	if (rc != SH_OK)
		return rc;
	rc = mdb_txn_commit(l->wtxn);
	l->wtxn = NULL;
	l->batch_wrote = 0;
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_txn_commit (checkpoint)");
	jr_checkpoint_done(l);
	return SH_OK;
}

/* ---- the operations ---- */

/* After a failed journal write nothing more may be written (a failed
 * fdatasync cannot be retried safely): SH_EIO, or SH_OK if not broken. */
static int jr_refuse_if_broken(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (!l->broken)
		return SH_OK;
	store__set_errmsg(s, "a journal write failed: restart the node to "
	                     "recover");
	return SH_EIO;
}

static int jr_begin(store_t *s)
{
	lmdb_store_t *l = s->impl;
	int rc = jr_refuse_if_broken(s);
	if (rc != SH_OK)
		return rc;
	sh_assert(store_journal_count(&l->journal) == 0);
	l->batch_wrote = 0;
	return l->wtxn != NULL ? SH_OK : lmdb__begin(s);
}

/* A journal append's error (the LMDB write is in: the batch is doomed). */
static int jr_logged(store_t *s, int rc)
{
	if (rc != SH_OK)
		store__set_errmsg(s, "journal record: %s", sh_strerror(rc));
	return rc;
}

static int jr_put(store_t *s, const store_key_t *k, const uint8_t *val,
                  size_t val_len)
{
	lmdb_store_t *l = s->impl;
	l->batch_wrote = 1;
	int rc = jr_put_raw(s, k, val, val_len);
	if (rc != SH_OK)
		return rc;
	return jr_logged(s, store_journal_put(&l->journal, k->space, k->bytes,
	                                      k->len, val, val_len));
}

static int jr_del(store_t *s, const store_key_t *k)
{
	lmdb_store_t *l = s->impl;
	l->batch_wrote = 1;
	int rc = jr_del_raw(s, k);
	if (rc != SH_OK)
		return rc;
	return jr_logged(
	    s, store_journal_del(&l->journal, k->space, k->bytes, k->len));
}

static int jr_del_prefix(store_t *s, store_space_t space, const uint8_t *prefix,
                         size_t prefix_len, size_t limit, size_t *deleted)
{
	lmdb_store_t *l = s->impl;
	l->batch_wrote = 1;
	int rc =
	    jr_del_prefix_raw(s, space, prefix, prefix_len, limit, deleted);
	if (rc != SH_OK || *deleted == 0)
		return rc;
	return jr_logged(s,
	                 store_journal_del_prefix(&l->journal, space, prefix,
	                                          prefix_len, (uint64_t)limit));
}

/* The batch committed on this thread: its record written at once (or a
 * checkpoint). The long transaction stays open. */
static int jr_commit(store_t *s)
{
	lmdb_store_t *l = s->impl;
	uint32_t count = store_journal_count(&l->journal);
	l->batch_wrote = 0;
	if (count == 0)
		return SH_OK;
	if (jr_checkpoint_due(l)) {
		int rc = jr_checkpoint_now(s);
		if (rc != SH_OK) /* the transaction went with it */
			jr_restore(s);
		return rc;
	}
	int rc = store_journal_write(&l->journal);
	if (rc != SH_OK) {
		jr_break(s, rc);
		return SH_EIO;
	}
	l->muts += count;
	return SH_OK;
}

static int jr_seal(store_t *s)
{
	lmdb_store_t *l = s->impl;
	l->batch_wrote = 0;
	if (!jr_checkpoint_due(l)) {
		l->sealed_kind = JR_SEALED_RECORD;
		l->sealed_muts = store_journal_count(&l->journal);
		l->record_rc = 1;
		store__set_seal_reads(s, STORE_SEAL_READS_BATCH);
		return SH_OK;
	}
	int rc = jr_checkpoint_prepare(s);
	if (rc == SH_OK)
		rc = lmdb__seal(s);
	if (rc != SH_OK) { /* the transaction is gone with the batch */
		jr_restore(s);
		return rc;
	}
	l->sealed_kind = JR_SEALED_CHECKPOINT;
	/* reads go on, on the overlay over the last committed state, unless
	 * it could not follow every write */
	l->overlay_on = !l->overlay.incomplete;
	store__set_seal_reads(s, l->overlay_on ? STORE_SEAL_READS_BATCH
	                                       : STORE_SEAL_READS_WAIT);
	return SH_OK;
}

/* Another thread: the record's write, or the checkpoint's commit. */
static int jr_commit_sealed(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (l->sealed_kind == JR_SEALED_CHECKPOINT)
		return lmdb__commit_sealed(s);
	l->record_rc = store_journal_write(&l->journal);
	return l->record_rc == SH_OK ? SH_OK : SH_EIO;
}

static int jr_sealed_done(store_t *s, int rc)
{
	lmdb_store_t *l = s->impl;
	int kind = l->sealed_kind;
	l->sealed_kind = JR_SEALED_NONE;
	if (kind == JR_SEALED_CHECKPOINT) {
		l->overlay_on = 0;
		rc = lmdb__sealed_done(s, rc);
		if (rc == SH_OK)
			jr_checkpoint_done(l);
		else /* the batch is lost, the journaled ones are not */
			jr_restore(s);
		return rc;
	}
	if (rc == SH_OK && l->record_rc == SH_OK) {
		l->muts += l->sealed_muts;
		return SH_OK;
	}
	if (l->record_rc < 0) {
		jr_break(s, l->record_rc);
	} else { /* never written */
		store_journal_discard(&l->journal);
		jr_restore(s);
	}
	return rc != SH_OK ? rc : SH_EIO;
}

/* Between batches: checkpoint what the journal holds (nothing to do when
 * it holds nothing; what LMDB committed is on the disk already). */
static int jr_flush(store_t *s)
{
	lmdb_store_t *l = s->impl;
	sh_assert(store_journal_count(&l->journal) == 0 && !l->batch_wrote);
	int rc = jr_refuse_if_broken(s);
	if (rc != SH_OK || l->wtxn == NULL || l->muts == 0)
		return rc;
	rc = jr_checkpoint_now(s);
	if (rc != SH_OK) /* the transaction went with it */
		jr_restore(s);
	return rc;
}

static void jr_abort(store_t *s)
{
	lmdb_store_t *l = s->impl;
	store_journal_discard(&l->journal);
	if (l->wtxn != NULL && !l->batch_wrote)
		return; /* nothing of the batch in the transaction */
	jr_restore(s);
}

static void jr_close(store_t *s)
{
	lmdb_store_t *l = s->impl;
	if (l->wtxn != NULL && !l->broken && !l->crashing && l->stxn == NULL) {
		store_journal_discard(&l->journal);
		if (jr_checkpoint_now(s) != SH_OK)
			l->broken = 1; /* the journal still holds it all */
	}
	if (l->journal_is_open)
		store_journal_close(&l->journal);
	lmdb__close(s);
}

const struct store_ops lmdb__journal_ops = {
    .name = "lmdb",
    .get = lmdb__get,
    .begin = jr_begin,
    .put = jr_put,
    .del = jr_del,
    .del_prefix = jr_del_prefix,
    .commit = jr_commit,
    .seal = jr_seal,
    .commit_sealed = jr_commit_sealed,
    .sealed_done = jr_sealed_done,
    .abort = jr_abort,
    .scan = lmdb__scan,
    .stats = lmdb__stats,
    .flush = jr_flush,
    .close = jr_close,
};

void store_lmdb_crash(store_t *s)
{
	if (s->ops == &lmdb__journal_ops)
		((lmdb_store_t *)s->impl)->crashing = 1;
	store_close(s);
}

uint64_t store_lmdb_checkpoints(const store_t *s)
{
	if (s->ops != &lmdb__journal_ops)
		return 0;
	const lmdb_store_t *l = s->impl;
	return l->checkpoints;
}

/* ---- opening ---- */

/* The replay at open failed: say why, naming the journal file (path). */
static void jr_recover_failed(store_t *s, const char *path, int rc,
                              const journal_damage_t *d)
{
	char msg[STORE_ERRMSG_BYTES];
	memcpy(msg, s->errmsg, sizeof(msg));
	if (d->next_seq == 0) {
		store__set_errmsg(s, "journal replay: %s (%s)", sh_strerror(rc),
		                  msg);
		return;
	}
	store__set_errmsg(
	    s,
	    "journal %s damaged in the middle: bad record at byte "
	    "%llu, valid seq %llu at byte %llu (to serve again, remove "
	    "the data directory: the node returns as a new actor and "
	    "the replicas refill it)",
	    path, (unsigned long long)d->bad_off,
	    (unsigned long long)d->next_seq, (unsigned long long)d->next_off);
}

/*
 * Replay what the journal holds after the checkpoint, and commit it as
 * a checkpoint, which starts a new round. Nothing replayed: the round
 * goes on, with the checkpoint's seed. A journal damaged in the middle
 * fails the open with nothing changed, so that an operator can act.
 */
static int jr_recover(store_t *s, const char *path)
{
	lmdb_store_t *l = s->impl;
	uint64_t seed;
	int rc = jr_seq_read(s, &l->ckpt_seq, &seed);
	if (rc != SH_OK)
		return rc;
	store_journal_reset(&l->journal, l->ckpt_seq, seed);
	uint64_t last = l->ckpt_seq;
	journal_damage_t damage = {0};
	rc = jr_rebuild(s, &damage, &last);
	if (rc != SH_OK) {
		jr_recover_failed(s, path, rc, &damage);
		return rc;
	}
	if (last == l->ckpt_seq) { /* nothing to replay */
		mdb_txn_abort(l->wtxn);
		l->wtxn = NULL;
		return SH_OK;
	}
	store_journal_reset(&l->journal, last, seed);
	return jr_checkpoint_now(s);
}

int lmdb__journal_open(store_t *s, const char *dir)
{
	lmdb_store_t *l = s->impl;
	char path[4096 + 16];
	snprintf(path, sizeof(path), "%s/journal", dir);
	if (!l->journaled && access(path, F_OK) != 0)
		return SH_OK; /* --sync none, and no journal left behind */
	int rc = store_journal_open(&l->journal, path, JR_FILE_BYTES);
	if (rc != SH_OK) {
		store__set_errmsg(s, "journal %s: %s", path, strerror(errno));
		return rc;
	}
	l->journal_is_open = 1;
	rc = jr_recover(s, path);
	if (rc != SH_OK || l->journaled)
		return rc;
	/* --sync none commits without a flush: flush before the journal
	 * that held these writes goes */
	rc = mdb_env_sync(l->env, 1);
	if (rc != 0)
		return lmdb__fail(s, rc, "mdb_env_sync");
	store_journal_close(&l->journal);
	l->journal_is_open = 0;
	store_overlay_free(&l->overlay);
	if (unlink(path) != 0) {
		store__set_errmsg(s, "unlink %s: %s", path, strerror(errno));
		return SH_EIO;
	}
	return SH_OK;
}
