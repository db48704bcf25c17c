/*
 * test_store_lmdb_journal.c - the LMDB store with --sync batch: batches
 * made durable by the journal, LMDB committed at checkpoints
 * (node/store_lmdb_journal.c), through the store.h interface.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "node/store.h"
#include "node/store_lmdb_int.h" /* white box: the journal's descriptor */

#define OK(x) assert_int_equal((x), SH_OK)

typedef struct fx {
	char dir[64];
	char journal[96];
	store_t s;
	int open;
} fx_t;

static void fx_open(fx_t *fx, store_sync_t sync)
{
	store_lmdb_cfg_t cfg = {.dir = fx->dir, .sync = sync};
	int rc = store_lmdb_open(&fx->s, &cfg);
	if (rc != SH_OK)
		fprintf(stderr, "open: %s\n", store_errmsg(&fx->s));
	OK(rc);
	fx->open = 1;
}

/* As a killed process leaves it, then open again. */
static void fx_crash_open(fx_t *fx, store_sync_t sync)
{
	store_lmdb_crash(&fx->s);
	fx->open = 0;
	fx_open(fx, sync);
}

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/shoal-test-journal-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->journal, sizeof(fx->journal), "%s/journal", fx->dir);
	fx_open(fx, STORE_SYNC_BATCH);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	if (fx->open)
		store_close(&fx->s);
	DIR *d = opendir(fx->dir);
	struct dirent *e;
	char path[64 + 2 + 256];
	for (int i = 0; d != NULL && i < 16 && (e = readdir(d)) != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void okey(store_key_t *k, const char *key)
{
	OK(store_key_object(k, 7, "b", 1, key, strlen(key)));
}

static void put_str(store_t *s, const char *key, const char *val)
{
	store_key_t k;
	okey(&k, key);
	OK(store_put(s, &k, val, strlen(val)));
}

/* The value of key, or absent when want is NULL. */
static void expect(store_t *s, const char *key, const char *want)
{
	store_key_t k;
	okey(&k, key);
	const uint8_t *v;
	size_t n;
	int rc = store_get(s, &k, &v, &n);
	if (want == NULL) {
		assert_int_equal(rc, SH_ENOTFOUND);
		return;
	}
	OK(rc);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(v, want, n);
}

static void commit_put(store_t *s, const char *key, const char *val)
{
	OK(store_begin(s));
	put_str(s, key, val);
	OK(store_commit(s));
}

/* One sealed batch, committed as the node does. Returns what reads saw
 * while it was sealed (STORE_SEAL_READS_*). */
static int seal_put(store_t *s, const char *key, const char *val)
{
	OK(store_begin(s));
	put_str(s, key, val);
	OK(store_seal(s));
	assert_int_equal(store_sealed(s), 1);
	int reads = store_sealed_reads(s);
	OK(store_sealed_done(s, store_commit_sealed(s)));
	return reads;
}

/* What the sealed batch is: a journal record or a checkpoint. */
static int sealed_kind(store_t *s)
{
	return ((lmdb_store_t *)s->impl)->sealed_kind;
}

static uint64_t objects(store_t *s)
{
	store_stats_t st;
	OK(store_stats(s, STORE_OBJECTS, &st));
	return st.entries;
}

static void test_journal_replays_after_crash(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	commit_put(s, "a", "1");
	assert_int_equal(seal_put(s, "b", "2"), STORE_SEAL_READS_BATCH);
	store_key_t a;
	okey(&a, "a");
	OK(store_begin(s));
	OK(store_del(s, &a));
	OK(store_commit(s));
	fx_crash_open(fx, STORE_SYNC_BATCH);
	expect(s, "a", NULL);
	expect(s, "b", "2");
	/* opening made the replay a checkpoint: it survives another crash
	 * with nothing written since */
	fx_crash_open(fx, STORE_SYNC_BATCH);
	expect(s, "b", "2");
	commit_put(s, "c", "3");
	/* --sync none replays what a --sync batch run left, then removes
	 * the journal: the data is in LMDB alone */
	fx_crash_open(fx, STORE_SYNC_NONE);
	expect(s, "c", "3");
	assert_int_equal(access(fx->journal, F_OK), -1);
	fx_crash_open(fx, STORE_SYNC_NONE);
	expect(s, "b", "2");
	expect(s, "c", "3");
	assert_int_equal(objects(s), 2);
}

static void test_journal_sealed_batch_is_read(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t a, z;
	okey(&a, "a");
	okey(&z, "z");
	commit_put(s, "a", "old");
	OK(store_begin(s));
	put_str(s, "a", "new");
	OK(store_seal(s));
	/* reads see the sealed batch, and say which keys it wrote, so that
	 * replies about them wait for the journal */
	assert_int_equal(store_sealed_reads(s), STORE_SEAL_READS_BATCH);
	expect(s, "a", "new");
	assert_int_equal(store_maybe_written(s, &a), 1);
	assert_int_equal(store_maybe_written(s, &z), 0);
	OK(store_sealed_done(s, store_commit_sealed(s)));
	assert_int_equal(store_sealed_reads(s), STORE_SEAL_READS_BEFORE);
	assert_int_equal(store_maybe_written(s, &a), 0);
	expect(s, "a", "new");
}

/* A dropped batch takes none of the acknowledged ones with it. */
static void test_journal_dropped_batch_keeps_the_others(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	commit_put(s, "a", "1");
	assert_int_equal(seal_put(s, "b", "2"), STORE_SEAL_READS_BATCH);
	OK(store_begin(s));
	put_str(s, "a", "lost");
	put_str(s, "x", "lost");
	store_abort(s);
	expect(s, "a", "1");
	expect(s, "b", "2");
	expect(s, "x", NULL);
	/* a sealed record whose write never happened */
	OK(store_begin(s));
	put_str(s, "y", "lost");
	OK(store_seal(s));
	assert_int_equal(store_sealed_done(s, SH_EIO), SH_EIO);
	expect(s, "y", NULL);
	commit_put(s, "c", "3");
	fx_crash_open(fx, STORE_SYNC_BATCH);
	expect(s, "a", "1");
	expect(s, "b", "2");
	expect(s, "c", "3");
	expect(s, "x", NULL);
	expect(s, "y", NULL);
}

/* Enough mutations make a batch a checkpoint. While it commits, reads
 * see every write (the overlay on the last committed state), and those of
 * the checkpoint's own batch are named (store_maybe_written); afterwards
 * the journal starts again and everything survives. */
static void test_journal_checkpoint(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	enum { BATCH = 512, BATCHES = 24 };
	char key[32], val[32];
	store_key_t k0, k1;
	okey(&k0, "k0");
	okey(&k1, "k1");
	int checkpoints = 0;
	for (int b = 0; b < BATCHES; b++) {
		OK(store_begin(s));
		for (int i = 0; i < BATCH; i++) {
			snprintf(key, sizeof(key), "k%d", b * BATCH + i);
			snprintf(val, sizeof(val), "v%d", b);
			put_str(s, key, val);
		}
		if (b == 15) /* 16 x 512: the batch that reaches 8192 */
			put_str(s, "k0", "again");
		OK(store_seal(s));
		assert_int_equal(store_sealed_reads(s), STORE_SEAL_READS_BATCH);
		if (sealed_kind(s) == JR_SEALED_CHECKPOINT) {
			assert_int_equal(b, 15);
			checkpoints++;
			expect(s, "k0", "again"); /* its own write */
			expect(s, "k1", "v0");    /* an earlier batch's */
			expect(s, key, val);
			assert_int_equal(store_maybe_written(s, &k0), 1);
			assert_int_equal(store_maybe_written(s, &k1), 0);
		}
		OK(store_sealed_done(s, store_commit_sealed(s)));
	}
	assert_int_equal(checkpoints, 1);
	assert_int_equal(store_lmdb_checkpoints(s), 1);
	expect(s, "k0", "again");
	fx_crash_open(fx, STORE_SYNC_BATCH);
	assert_int_equal(objects(s), BATCH * BATCHES);
	snprintf(key, sizeof(key), "k%d", BATCH * BATCHES - 1);
	snprintf(val, sizeof(val), "v%d", BATCHES - 1);
	expect(s, key, val);
}

/* store_flush between batches (the node's idle checkpoint) commits what
 * the journal holds into data.mdb: a crash that also loses the journal
 * keeps it. With nothing journaled it does nothing. */
static void test_journal_flush_checkpoints(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	uint64_t before = store_lmdb_checkpoints(s);
	OK(store_flush(s));
	assert_int_equal(store_lmdb_checkpoints(s), before);
	commit_put(s, "a", "1");
	assert_int_equal(seal_put(s, "b", "2"), STORE_SEAL_READS_BATCH);
	OK(store_flush(s));
	assert_int_equal(store_lmdb_checkpoints(s), before + 1);
	expect(s, "a", "1");
	expect(s, "b", "2");
	OK(store_flush(s));
	assert_int_equal(store_lmdb_checkpoints(s), before + 1);
	commit_put(s, "c", "3"); /* after it: in the journal only */
	expect(s, "c", "3");
	store_lmdb_crash(s);
	fx->open = 0;
	assert_int_equal(unlink(fx->journal), 0);
	fx_open(fx, STORE_SYNC_BATCH);
	expect(s, "a", "1");
	expect(s, "b", "2");
	expect(s, "c", NULL);
	assert_int_equal(objects(s), 2);
}

/* A partition drop since the last checkpoint (which keys it deleted is
 * not known) makes the next checkpoint one that reads wait for. */
static void test_journal_drop_makes_reads_wait(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_lmdb_crash(s);
	store_lmdb_cfg_t cfg = {.dir = fx->dir, .checkpoint_mutations = 4};
	OK(store_lmdb_open(s, &cfg));
	commit_put(s, "a", "1");
	OK(store_begin(s));
	size_t deleted;
	OK(store_drop_partition(s, 7, 10, &deleted));
	assert_int_equal(deleted, 1);
	OK(store_commit(s));
	int kind = JR_SEALED_RECORD;
	for (int i = 0; i < 8 && kind != JR_SEALED_CHECKPOINT; i++) {
		OK(store_begin(s));
		put_str(s, "b", "2");
		OK(store_seal(s));
		kind = sealed_kind(s);
		if (kind == JR_SEALED_CHECKPOINT)
			assert_int_equal(store_sealed_reads(s),
			                 STORE_SEAL_READS_WAIT);
		OK(store_sealed_done(s, store_commit_sealed(s)));
	}
	assert_int_equal(kind, JR_SEALED_CHECKPOINT);
	/* the next one reads on */
	for (int i = 0; i < 8; i++) {
		OK(store_begin(s));
		put_str(s, "c", "3");
		OK(store_seal(s));
		assert_int_equal(store_sealed_reads(s), STORE_SEAL_READS_BATCH);
		OK(store_sealed_done(s, store_commit_sealed(s)));
	}
	expect(s, "a", NULL);
	expect(s, "b", "2");
}

/* A record that does not fit what is left of the journal becomes a
 * checkpoint instead. */
static void test_journal_big_batch_is_a_checkpoint(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	size_t big = (size_t)40 << 20; /* more than the whole journal */
	char *v = malloc(big);
	assert_non_null(v);
	memset(v, 'x', big);
	store_key_t k;
	okey(&k, "big");
	OK(store_begin(s));
	OK(store_put(s, &k, v, big));
	OK(store_seal(s));
	assert_int_equal(sealed_kind(s), JR_SEALED_CHECKPOINT);
	OK(store_sealed_done(s, store_commit_sealed(s)));
	free(v);
	commit_put(s, "after", "1");
	fx_crash_open(fx, STORE_SYNC_BATCH);
	const uint8_t *got;
	size_t n;
	OK(store_get(s, &k, &got, &n));
	assert_int_equal(n, big);
	expect(s, "after", "1");
}

/* A read's result (SH_OK or an error), the value ignored. */
static int get_rc(store_t *s, const char *key)
{
	store_key_t k;
	okey(&k, key);
	const uint8_t *v;
	size_t n;
	return store_get(s, &k, &v, &n);
}

/* Make the journal's writes fail (a read-only descriptor in its place);
 * returns the real one, for unbreak. */
static int break_writes(fx_t *fx, int *ro)
{
	lmdb_store_t *l = fx->s.impl;
	*ro = open(fx->journal, O_RDONLY | O_CLOEXEC);
	assert_true(*ro >= 0);
	int rw = l->journal.fd;
	l->journal.fd = *ro;
	return rw;
}

static void unbreak(fx_t *fx, int rw, int ro)
{
	((lmdb_store_t *)fx->s.impl)->journal.fd = rw;
	close(ro);
}

/* A journal write that fails stops new batches (its state on the disk is
 * unknown) and reads too: the batch it held must not be read (its dots
 * would leave the node, and be issued again after a restart). The next
 * open replays what the disk holds. Sealed (the commit thread's write)
 * and committed at once alike. */
static void test_journal_write_failure_stops_batches(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	int ro;
	commit_put(s, "a", "1");
	int rw = break_writes(fx, &ro);
	OK(store_begin(s));
	put_str(s, "b", "2");
	OK(store_seal(s));
	assert_int_equal(store_sealed_done(s, store_commit_sealed(s)), SH_EIO);
	assert_int_equal(store_begin(s), SH_EIO);
	assert_non_null(strstr(store_errmsg(s), "restart"));
	assert_int_equal(get_rc(s, "b"), SH_EIO);
	assert_int_equal(get_rc(s, "a"), SH_EIO);
	assert_int_equal(store_flush(s), SH_EIO);
	unbreak(fx, rw, ro);
	fx_crash_open(fx, STORE_SYNC_BATCH);
	expect(s, "a", "1");
	expect(s, "b", NULL);

	commit_put(s, "c", "3");
	rw = break_writes(fx, &ro);
	OK(store_begin(s));
	put_str(s, "d", "4");
	assert_int_equal(store_commit(s), SH_EIO);
	assert_int_equal(get_rc(s, "d"), SH_EIO);
	assert_int_equal(get_rc(s, "c"), SH_EIO);
	unbreak(fx, rw, ro);
	fx_crash_open(fx, STORE_SYNC_BATCH);
	expect(s, "c", "3");
	expect(s, "d", NULL);
}

/* The offset of the journal's record i (0-based), walking the headers'
 * lengths from offset 0. */
static off_t record_off(const char *journal, int i)
{
	int fd = open(journal, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	off_t off = 0;
	for (int r = 0; r < i; r++) {
		uint8_t h[STORE_JOURNAL_HDR_BYTES];
		assert_int_equal(pread(fd, h, sizeof(h), off),
		                 (ssize_t)sizeof(h));
		uint32_t plen = (uint32_t)h[16] | (uint32_t)h[17] << 8 |
		                (uint32_t)h[18] << 16 | (uint32_t)h[19] << 24;
		assert_true(plen > 0);
		off += STORE_JOURNAL_HDR_BYTES + plen;
	}
	close(fd);
	return off;
}

static void flip_bit(const char *path, off_t at)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x04;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
}

/* One bit flipped in record 10 of 20 acknowledged ones: the store does
 * not open (dropping 10..20 silently), says which file is damaged, and
 * changes nothing; with the bit back, all 20 are there. A torn last
 * record still opens. */
static void test_journal_damage_refuses_open(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	char key[16];
	for (int i = 1; i <= 20; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		commit_put(s, key, "v");
	}
	store_lmdb_crash(s);
	fx->open = 0;
	off_t at = record_off(fx->journal, 9) + STORE_JOURNAL_HDR_BYTES + 3;
	flip_bit(fx->journal, at);
	store_lmdb_cfg_t cfg = {.dir = fx->dir, .sync = STORE_SYNC_BATCH};
	for (int tries = 0; tries < 2;
	     tries++) { /* the first changed nothing */
		assert_int_equal(store_lmdb_open(s, &cfg), SH_EIO);
		assert_non_null(strstr(store_errmsg(s), fx->journal));
		assert_non_null(
		    strstr(store_errmsg(s), "damaged in the middle"));
		/* whole, with what to do (the path is long in a test) */
		assert_non_null(strstr(store_errmsg(s), "refill it)"));
	}
	flip_bit(fx->journal, at);
	fx_open(fx, STORE_SYNC_BATCH);
	assert_int_equal(objects(s), 20);
	expect(s, "k20", "v");
	/* the last record torn: the end of the journal, k21 lost */
	commit_put(s, "k21", "v");
	commit_put(s, "k22", "v");
	store_lmdb_crash(s);
	fx->open = 0;
	flip_bit(fx->journal,
	         record_off(fx->journal, 1) + STORE_JOURNAL_HDR_BYTES + 3);
	fx_open(fx, STORE_SYNC_BATCH);
	expect(s, "k21", "v");
	expect(s, "k22", NULL);
	assert_int_equal(objects(s), 21);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_journal_replays_after_crash),
	    T(test_journal_sealed_batch_is_read),
	    T(test_journal_dropped_batch_keeps_the_others),
	    T(test_journal_checkpoint),
	    T(test_journal_big_batch_is_a_checkpoint),
	    T(test_journal_write_failure_stops_batches),
	    T(test_journal_drop_makes_reads_wait),
	    T(test_journal_flush_checkpoints),
	    T(test_journal_damage_refuses_open),
	};
#undef T
	return cmocka_run_group_tests_name("store_lmdb_journal", tests, NULL,
	                                   NULL);
}
