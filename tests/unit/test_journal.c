/*
 * test_journal.c - the journal file (node/store_journal.h): records
 * written, reopened and replayed; torn and stale tails; a reset over an
 * older round; a full journal; a write from another thread; garbage;
 * damage in the middle told from a torn tail; rounds kept apart by seed;
 * the directory flushed on every open (fsync counted by a stand-in).
 * Files live in a mkdtemp directory under /tmp, removed afterwards.
 */
#define _DEFAULT_SOURCE /* syscall */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <xxhash.h>

#include "common/sh_err.h"
#include "node/store_journal.h"

#define KIB     1024
#define GOT_MAX 64

/* one mutation as replay handed it, copied */
typedef struct got {
	uint64_t seq;
	journal_op_t op;
	store_space_t space;
	uint8_t key[STORE_RAW_KEY_BYTES_MAX];
	size_t key_len;
	uint8_t *val;
	size_t val_len;
	uint64_t limit;
} got_t;

typedef struct fx {
	char dir[64];
	char path[96];
	store_journal_t j;
	got_t got[GOT_MAX];
	size_t n;
	int fail_at; /* the callback fails on this mutation (1-based) */
} fx_t;

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/shoal-test-journal-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/journal", fx->dir);
	fx->j.fd = -1;
	*state = fx;
	return 0;
}

static void got_clear(fx_t *fx)
{
	for (size_t i = 0; i < fx->n; i++)
		free(fx->got[i].val);
	fx->n = 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	got_clear(fx);
	store_journal_close(&fx->j);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void fx_open(fx_t *fx, uint64_t bytes)
{
	assert_int_equal(store_journal_open(&fx->j, fx->path, bytes), SH_OK);
}

static void fx_reopen(fx_t *fx, uint64_t bytes)
{
	store_journal_close(&fx->j);
	fx_open(fx, bytes);
}

static int collect(void *arg, uint64_t seq, const journal_mut_t *m)
{
	fx_t *fx = arg;
	if (fx->fail_at > 0 && fx->n + 1 == (size_t)fx->fail_at)
		return SH_EBUSY;
	assert_true(fx->n < GOT_MAX);
	assert_true(m->key_len <= sizeof(fx->got[0].key));
	got_t *g = &fx->got[fx->n++];
	g->seq = seq;
	g->op = m->op;
	g->space = m->space;
	g->key_len = m->key_len;
	memcpy(g->key, m->key, m->key_len);
	g->val_len = m->val_len;
	g->val = NULL;
	if (m->op == JOURNAL_PUT) {
		assert_non_null(m->val);
		g->val = malloc(m->val_len + 1);
		assert_non_null(g->val);
		memcpy(g->val, m->val, m->val_len);
	}
	g->limit = m->limit;
	return 0;
}

/* replay after `after`; returns rc, *last gets last_seq */
static int fx_replay(fx_t *fx, uint64_t after, uint64_t *last)
{
	got_clear(fx);
	return store_journal_replay(&fx->j, after, collect, fx, last);
}

/* ---- directory flushes seen ---- */

static int dir_syncs;

/* Takes the place of libc's fsync in this executable (the journal's code
 * is linked in), does what it does, and counts the directories flushed. */
int fsync(int fd)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		dir_syncs++;
	return (int)syscall(SYS_fsync, fd);
}

/* ---- the records the tests write ---- */

typedef struct spec {
	int rec; /* which record (1-based) the mutation belongs to */
	journal_op_t op;
	store_space_t space;
	const char *key;
	size_t val_len; /* value bytes: (i * 7 + val_len) & 0xff */
	uint64_t limit;
} spec_t;

static const spec_t SPECS[] = {
    {1, JOURNAL_PUT, STORE_OBJECTS,
     "\x00\x07"
     "bucket\0k1",
     100, 0},
    {1, JOURNAL_PUT, STORE_HINTS,
     "\x03"
     "n-a"
     "\x00\x07"
     "b\0k2",
     5000, 0},
    {2, JOURNAL_DEL, STORE_META, "epoch", 0, 0},
    {3, JOURNAL_DEL_PREFIX, STORE_OBJECTS, "\x00\x07", 0, 500},
    {3, JOURNAL_PUT, STORE_OBJECTS,
     "\x00\x08"
     "b\0empty",
     0, 0},
    {4, JOURNAL_PUT, STORE_META, "m", 3, 0},
    {5, JOURNAL_DEL, STORE_HINTS,
     "\x01"
     "x"
     "\x00\x01"
     "b\0k",
     0, 0},
};
#define NSPECS (sizeof(SPECS) / sizeof(SPECS[0]))
#define NRECS  5

/* key bytes: strings above hold NULs, so their lengths are explicit */
static size_t spec_key_len(const spec_t *s)
{
	if (s->space == STORE_META)
		return strlen(s->key);
	if (s->op == JOURNAL_DEL_PREFIX)
		return 2;
	/* object keys: partition, bucket, NUL, key; hints: a prefix first */
	size_t at = s->space == STORE_HINTS ? 1 + (uint8_t)s->key[0] : 0;
	at += 2;
	at += strlen(s->key + at) + 1;
	return at + strlen(s->key + at);
}

static void spec_val(const spec_t *s, uint8_t *out)
{
	for (size_t i = 0; i < s->val_len; i++)
		out[i] = (uint8_t)(i * 7 + s->val_len);
}

static void spec_add(store_journal_t *j, const spec_t *s)
{
	static uint8_t val[8 * KIB];
	const uint8_t *k = (const uint8_t *)s->key;
	size_t kl = spec_key_len(s);
	int rc = SH_EINVAL;
	spec_val(s, val);
	if (s->op == JOURNAL_PUT)
		rc = store_journal_put(j, s->space, k, kl, val, s->val_len);
	else if (s->op == JOURNAL_DEL)
		rc = store_journal_del(j, s->space, k, kl);
	else
		rc = store_journal_del_prefix(j, s->space, k, kl, s->limit);
	assert_int_equal(rc, SH_OK);
}

/* Write SPECS as NRECS records; offs[r] is record r+1's offset. */
static void write_specs(store_journal_t *j, uint64_t *offs)
{
	for (int r = 1; r <= NRECS; r++) {
		if (offs != NULL)
			offs[r - 1] = store_journal_used(j);
		for (size_t i = 0; i < NSPECS; i++)
			if (SPECS[i].rec == r)
				spec_add(j, &SPECS[i]);
		assert_int_equal(store_journal_write(j), SH_OK);
		assert_int_equal(store_journal_count(j), 0);
	}
	if (offs != NULL)
		offs[NRECS] = store_journal_used(j);
}

/* The replay got exactly the SPECS of records from..to, seq = rec + base. */
static void check_specs(const fx_t *fx, int from, int to, uint64_t base)
{
	static uint8_t val[8 * KIB];
	size_t n = 0;
	for (size_t i = 0; i < NSPECS; i++) {
		const spec_t *s = &SPECS[i];
		if (s->rec < from || s->rec > to)
			continue;
		assert_true(n < fx->n);
		const got_t *g = &fx->got[n++];
		assert_int_equal(g->seq, base + (uint64_t)s->rec);
		assert_int_equal(g->op, s->op);
		assert_int_equal(g->space, s->space);
		assert_int_equal(g->key_len, spec_key_len(s));
		assert_memory_equal(g->key, s->key, g->key_len);
		assert_int_equal(g->limit, s->limit);
		if (s->op == JOURNAL_PUT) {
			spec_val(s, val);
			assert_int_equal(g->val_len, s->val_len);
			if (s->val_len > 0)
				assert_memory_equal(g->val, val, s->val_len);
		}
	}
	assert_int_equal(fx->n, n);
}

/* Overwrite bytes of the file at off. */
static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- tests ---- */

/* Records survive a reopen; replay after k gives k+1.. only. */
static void test_journal_roundtrip(void **state)
{
	fx_t *fx = *state;
	uint64_t last = 0;
	fx_open(fx, 256 * KIB);
	assert_int_equal(store_journal_used(&fx->j), 0);
	write_specs(&fx->j, NULL);
	assert_int_equal(fx->j.next_seq, NRECS + 1);
	fx_reopen(fx, 256 * KIB);
	assert_int_equal(fx->j.next_seq, 1);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, NRECS);
	check_specs(fx, 1, NRECS, 0);
	for (int k = 1; k <= NRECS; k++) {
		assert_int_equal(fx_replay(fx, (uint64_t)k, &last), SH_OK);
		assert_int_equal(last, NRECS);
		check_specs(fx, k + 1, NRECS, 0);
	}
	/* replay changes nothing: the same again */
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	check_specs(fx, 1, NRECS, 0);
	assert_int_equal(store_journal_used(&fx->j), 0);
}

/* A callback's error stops the replay; last_seq names the last record it
 * saw all of. */
static void test_journal_callback_error(void **state)
{
	fx_t *fx = *state;
	uint64_t last = 0;
	fx_open(fx, 256 * KIB);
	write_specs(&fx->j, NULL);
	fx->fail_at = 5; /* record 3's second mutation */
	assert_int_equal(fx_replay(fx, 0, &last), SH_EBUSY);
	assert_int_equal(last, 2);
	assert_int_equal(fx->n, 4);
}

/* A torn or damaged record ends the journal; the records before it stay. */
static void test_journal_torn_tail(void **state)
{
	fx_t *fx = *state;
	uint64_t offs[NRECS + 1], last = 0;
	uint8_t b, zeros[64] = {0};
	fx_open(fx, 256 * KIB);
	write_specs(&fx->j, offs);
	store_journal_close(&fx->j);

	/* one byte of the last record's payload flipped */
	uint64_t at = offs[NRECS - 1] + STORE_JOURNAL_HDR_BYTES + 3;
	peek(fx->path, at, &b, 1);
	b ^= 0x20;
	poke(fx->path, at, &b, 1);
	fx_open(fx, 256 * KIB);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, NRECS - 1);
	check_specs(fx, 1, NRECS - 1, 0);

	/* record 3 half overwritten by zeros (a torn write): 4 and 5 are
	 * intact but no longer follow */
	uint64_t mid = (offs[2] + offs[3]) / 2;
	assert_true(offs[3] - mid <= sizeof(zeros));
	poke(fx->path, mid, zeros, (size_t)(offs[3] - mid));
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 2);
	check_specs(fx, 1, 2, 0);

	/* a header's length pointing past the end of the file */
	uint8_t len[4] = {0xff, 0xff, 0xff, 0x7f};
	poke(fx->path, offs[1] + 16, len, sizeof(len));
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 1);
	check_specs(fx, 1, 1, 0);

	/* the file cut short inside the first record: extended again by
	 * zeros at open, nothing replayed */
	assert_int_equal(truncate(fx->path, (off_t)offs[1] - 10), 0);
	fx_reopen(fx, 256 * KIB);
	assert_int_equal(fx->j.size, 256 * KIB);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 0);
	assert_int_equal(fx->n, 0);
}

/* After reset(S) a record S+1 goes at offset 0 over the older round;
 * the older records behind it are not replayed. */
static void test_journal_reset_over_stale(void **state)
{
	fx_t *fx = *state;
	uint64_t offs[NRECS + 1], last = 0;
	fx_open(fx, 256 * KIB);
	write_specs(&fx->j, offs);
	store_journal_reset(&fx->j, NRECS, 0);
	assert_int_equal(store_journal_used(&fx->j), 0);
	/* the new record is as long as the old first one, so the old second
	 * record (valid, seq 2) follows it */
	spec_add(&fx->j, &SPECS[0]);
	spec_add(&fx->j, &SPECS[1]);
	assert_int_equal(store_journal_write(&fx->j), SH_OK);
	assert_int_equal(store_journal_used(&fx->j), offs[1]);
	fx_reopen(fx, 256 * KIB);

	assert_int_equal(fx_replay(fx, NRECS, &last), SH_OK);
	assert_int_equal(last, NRECS + 1);
	check_specs(fx, 1, 1, NRECS);
	assert_int_equal(fx_replay(fx, NRECS + 1, &last), SH_OK);
	assert_int_equal(last, NRECS + 1);
	assert_int_equal(fx->n, 0);
	/* a checkpoint at S + 1, the journal reset, crash before any new
	 * record: everything is stale */
	assert_int_equal(fx_replay(fx, NRECS + 7, &last), SH_OK);
	assert_int_equal(last, NRECS + 7);
	assert_int_equal(fx->n, 0);
}

/* A first record past after_seq + 1 means the journal does not follow
 * the store: SH_EIO. */
static void test_journal_gap(void **state)
{
	fx_t *fx = *state;
	uint64_t last = 99;
	fx_open(fx, 256 * KIB);
	store_journal_reset(&fx->j, 9, 0);
	write_specs(&fx->j, NULL); /* seqs 10..14 */
	assert_int_equal(fx_replay(fx, 0, &last), SH_EIO);
	assert_int_equal(fx->n, 0);
	assert_int_equal(fx_replay(fx, 8, &last), SH_EIO);
	assert_int_equal(fx->n, 0);
	assert_int_equal(fx_replay(fx, 9, &last), SH_OK);
	assert_int_equal(last, 14);
	check_specs(fx, 1, NRECS, 9);
	/* a record 1 over record 10 (the same length): 11.. behind it are
	 * valid but do not follow it, so the journal ends there */
	store_journal_reset(&fx->j, 0, 0);
	spec_add(&fx->j, &SPECS[0]);
	spec_add(&fx->j, &SPECS[1]);
	assert_int_equal(store_journal_write(&fx->j), SH_OK);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 1);
	check_specs(fx, 1, 1, 0);
}

/* A new journal is zeros of the size asked for and replays nothing; an
 * existing file keeps a larger size and grows to a larger one. */
static void test_journal_fresh(void **state)
{
	fx_t *fx = *state;
	uint64_t last = 0;
	struct stat st;
	fx_open(fx, 1024 * KIB + 5);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, 1024 * KIB + 5);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no holes: every block is allocated */
	assert_true((uint64_t)st.st_blocks * 512 >= 1024 * KIB);
	static uint8_t buf[1024 * KIB + 5];
	peek(fx->path, 0, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(fx_replay(fx, 7, &last), SH_OK);
	assert_int_equal(last, 7);
	assert_int_equal(fx->n, 0);
	assert_int_equal(store_journal_write(&fx->j), SH_OK); /* empty */
	assert_int_equal(store_journal_used(&fx->j), 0);

	fx_reopen(fx, 64 * KIB);
	assert_int_equal(fx->j.size, 1024 * KIB + 5);
	fx_reopen(fx, 3000 * KIB);
	assert_int_equal(fx->j.size, 3000 * KIB);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, 3000 * KIB);
}

/* Bad arguments and limits. */
static void test_journal_args(void **state)
{
	fx_t *fx = *state;
	static uint8_t key[STORE_RAW_KEY_BYTES_MAX + 1];
	char path[128];
	store_journal_t j;
	assert_int_equal(store_journal_open(&j, fx->path, 100), SH_EINVAL);
	assert_int_equal(store_journal_open(&j, NULL, 64 * KIB), SH_EINVAL);
	snprintf(path, sizeof(path), "%s/no/such/dir/journal", fx->dir);
	assert_int_equal(store_journal_open(&j, path, 64 * KIB), SH_EIO);
	assert_int_equal(j.fd, -1);
	store_journal_close(&j); /* harmless after a failed open */
	assert_int_equal(store_journal_open(&j, fx->dir, 64 * KIB), SH_EIO);

	fx_open(fx, 64 * KIB);
	store_journal_t *jj = &fx->j;
	assert_int_equal(
	    store_journal_put(jj, STORE_OBJECTS, key, sizeof(key), key, 1),
	    SH_ETOOBIG);
	assert_int_equal(store_journal_put(jj, STORE_OBJECTS, key, 1, key,
	                                   STORE_VALUE_BYTES_MAX + 1),
	                 SH_ETOOBIG);
	assert_int_equal(store_journal_del(jj, STORE_OBJECTS, key, 0),
	                 SH_EINVAL);
	assert_int_equal(store_journal_del(jj, (store_space_t)3, key, 1),
	                 SH_EINVAL);
	assert_int_equal(store_journal_put(jj, STORE_META, NULL, 1, key, 1),
	                 SH_EINVAL);
	assert_int_equal(store_journal_put(jj, STORE_META, key, 1, NULL, 1),
	                 SH_EINVAL);
	assert_int_equal(store_journal_count(jj), 0);
	/* the longest key and an empty prefix are fine */
	assert_int_equal(
	    store_journal_del(jj, STORE_HINTS, key, STORE_RAW_KEY_BYTES_MAX),
	    SH_OK);
	assert_int_equal(
	    store_journal_del_prefix(jj, STORE_OBJECTS, NULL, 0, 1), SH_OK);
	assert_int_equal(store_journal_put(jj, STORE_META, key, 1, NULL, 0),
	                 SH_OK);
	assert_int_equal(store_journal_count(jj), 3);
	assert_int_equal(store_journal_write(jj), SH_OK);
	uint64_t last = 0;
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 1);
	assert_int_equal(fx->n, 3);
	assert_int_equal(fx->got[0].key_len, STORE_RAW_KEY_BYTES_MAX);
	assert_int_equal(fx->got[1].key_len, 0);
	assert_int_equal(fx->got[2].val_len, 0);
}

typedef struct wr_arg {
	store_journal_t *j;
	int rc;
} wr_arg_t;

static void *writer(void *arg)
{
	wr_arg_t *w = arg;
	w->rc = store_journal_write(w->j);
	return NULL;
}

/* A record that does not fit is SH_EFULL and writes nothing; one that
 * ends exactly at the end of the file fits; a write from another thread
 * is replayed on the owner. */
static void test_journal_full(void **state)
{
	fx_t *fx = *state;
	static uint8_t val[100 * KIB];
	const uint8_t key[] = "k";
	uint64_t last = 0;
	fx_open(fx, 64 * KIB);
	store_journal_t *j = &fx->j;
	assert_int_equal(store_journal_fits(j), 1);
	assert_int_equal(
	    store_journal_put(j, STORE_OBJECTS, key, 1, val, sizeof(val)),
	    SH_OK);
	assert_int_equal(store_journal_fits(j), 0);
	assert_int_equal(store_journal_write(j), SH_EFULL);
	assert_int_equal(store_journal_used(j), 0);
	assert_int_equal(store_journal_count(j), 1);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(fx->n, 0);
	store_journal_discard(j);
	assert_int_equal(store_journal_count(j), 0);
	assert_int_equal(store_journal_fits(j), 1);

	/* a first record of 10 KiB, written on another thread */
	size_t v1 = 10 * KIB;
	val[0] = 0x5a;
	assert_int_equal(store_journal_put(j, STORE_OBJECTS, key, 1, val, v1),
	                 SH_OK);
	wr_arg_t w = {j, 1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, SH_OK);
	uint64_t rec1 = STORE_JOURNAL_HDR_BYTES + 4 + 1 + 4 + v1;
	assert_int_equal(store_journal_used(j), rec1);

	/* a second record filling the rest exactly, then nothing fits */
	size_t v2 = 64 * KIB - rec1 - (STORE_JOURNAL_HDR_BYTES + 4 + 1 + 4);
	val[0] = 0xa5;
	assert_int_equal(
	    store_journal_put(j, STORE_OBJECTS, key, 1, val, v2 + 1), SH_OK);
	assert_int_equal(store_journal_fits(j), 0); /* one byte too many */
	store_journal_discard(j);
	assert_int_equal(store_journal_put(j, STORE_OBJECTS, key, 1, val, v2),
	                 SH_OK);
	assert_int_equal(store_journal_fits(j), 1);
	assert_int_equal(store_journal_write(j), SH_OK);
	assert_int_equal(store_journal_used(j), 64 * KIB);
	assert_int_equal(store_journal_del(j, STORE_OBJECTS, key, 1), SH_OK);
	assert_int_equal(store_journal_fits(j), 0);
	assert_int_equal(store_journal_write(j), SH_EFULL);
	store_journal_discard(j);

	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 2);
	assert_int_equal(fx->n, 2);
	assert_int_equal(fx->got[0].val_len, v1);
	assert_int_equal(fx->got[0].val[0], 0x5a);
	assert_int_equal(fx->got[1].val_len, v2);
	assert_int_equal(fx->got[1].val[0], 0xa5);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A mutation that may parse: one of each op with a short key, then one
 * byte in three perturbed. Returns the payload's length; *count 1. */
static uint32_t plausible(uint8_t *p, uint32_t *count, uint64_t *seed)
{
	uint8_t op = (uint8_t)(1 + rnd(seed) % 3);
	uint32_t kl = (uint32_t)(op == JOURNAL_DEL_PREFIX ? 0 : 1) +
	              (uint32_t)(rnd(seed) % 16);
	uint32_t vl = (uint32_t)(rnd(seed) % 20), at = 4 + kl;
	p[0] = op;
	p[1] = (uint8_t)(rnd(seed) % 3);
	p[2] = (uint8_t)kl;
	p[3] = 0;
	if (op == JOURNAL_PUT) {
		p[at] = (uint8_t)vl;
		p[at + 1] = p[at + 2] = p[at + 3] = 0;
		at += 4 + vl;
	} else if (op == JOURNAL_DEL_PREFIX) {
		at += 8;
	}
	*count = 1;
	if (rnd(seed) % 3 == 0)
		p[rnd(seed) % at] ^= (uint8_t)(1 + rnd(seed) % 255);
	if (rnd(seed) % 8 == 0)
		*count = (uint32_t)(rnd(seed) % 3);
	return at;
}

/* A record header with a valid checksum over the payload at h + 24. */
static void fill_header(uint8_t *h, uint64_t seq, uint32_t plen, uint32_t count)
{
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(seq >> (8 * i));
	for (int i = 0; i < 4; i++) {
		h[16 + i] = (uint8_t)(plen >> (8 * i));
		h[20 + i] = (uint8_t)(count >> (8 * i));
	}
	uint64_t sum = XXH3_64bits(h + 8, 16 + plen);
	for (int i = 0; i < 8; i++)
		h[i] = (uint8_t)(sum >> (8 * i));
}

static volatile uint8_t sink;

static int count_only(void *arg, uint64_t seq, const journal_mut_t *m)
{
	size_t *n = arg;
	(void)seq;
	/* touch every byte handed over: ASan checks they are in bounds */
	uint8_t x = 0;
	for (size_t i = 0; i < m->key_len; i++)
		x ^= m->key[i];
	for (size_t i = 0; i < m->val_len; i++)
		x ^= m->val[i];
	sink = x;
	(*n)++;
	assert_true(m->op >= JOURNAL_PUT && m->op <= JOURNAL_DEL_PREFIX);
	assert_true(m->space < STORE_SPACES);
	return 0;
}

/* Random bytes replay nothing; so do random payloads under a valid
 * header and checksum, unless they happen to parse (then every byte
 * handed over lies inside the record). */
static void test_journal_garbage(void **state)
{
	fx_t *fx = *state;
	static uint8_t buf[64 * KIB];
	uint64_t seed = 0x5eed5eed12345ULL, last = 0;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd(&seed);
	int fd = open(fx->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	fx_open(fx, 64 * KIB);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 0);
	assert_int_equal(fx->n, 0);
	/* nor does the look for damage find a record among them */
	journal_damage_t d;
	assert_int_equal(
	    store_journal_recover(&fx->j, 0, collect, fx, &last, &d), SH_OK);
	assert_int_equal(d.next_seq, 0);
	assert_int_equal(fx->n, 0);

	size_t parsed = 0;
	for (int it = 0; it < 2000; it++) {
		uint8_t *h = buf, *p = buf + STORE_JOURNAL_HDR_BYTES;
		uint32_t plen = (uint32_t)(rnd(&seed) % 96);
		uint32_t count = (uint32_t)(rnd(&seed) % 6);
		for (uint32_t i = 0; i < plen; i++)
			p[i] = (uint8_t)rnd(&seed);
		if (it % 2 == 0)
			plen = plausible(p, &count, &seed);
		fill_header(h, 1, plen, count);
		poke(fx->path, 0, h, STORE_JOURNAL_HDR_BYTES + plen);
		size_t n = 0;
		int rc = store_journal_replay(&fx->j, 0, count_only, &n, &last);
		assert_int_equal(rc, SH_OK);
		assert_true(last <= 1);
		if (last == 1) {
			assert_int_equal(n, count);
			parsed++;
		} else {
			assert_int_equal(n, 0);
		}
	}
	assert_true(parsed > 0); /* some did parse: the check is not vacuous */
	print_message("garbage: %zu of 2000 random records parsed\n", parsed);
}

/* record i (seq i + 1) holds val[i .. i + len) */
typedef struct large {
	const uint8_t *val;
	size_t n, bytes, bad;
} large_t;

static int large_check(void *arg, uint64_t seq, const journal_mut_t *m)
{
	large_t *lg = arg;
	size_t i = (size_t)seq - 1;
	if (m->op != JOURNAL_PUT || seq != lg->n + 1 ||
	    memcmp(m->val, lg->val + i, m->val_len) != 0)
		lg->bad++;
	lg->n++;
	lg->bytes += m->val_len;
	return 0;
}

/* A failed write (here: a read-only descriptor) is SH_EIO and changes
 * nothing: tail, next_seq and the record stay for the owner. */
static void test_journal_write_error(void **state)
{
	fx_t *fx = *state;
	const uint8_t key[] = "k";
	uint64_t last = 0;
	fx_open(fx, 64 * KIB);
	store_journal_t *j = &fx->j;
	assert_int_equal(store_journal_del(j, STORE_OBJECTS, key, 1), SH_OK);
	assert_int_equal(store_journal_write(j), SH_OK);
	uint64_t tail = store_journal_used(j);
	int ro = open(fx->path, O_RDONLY);
	assert_true(ro >= 0);
	int rw = dup(j->fd);
	assert_true(rw >= 0);
	assert_true(dup2(ro, j->fd) == j->fd);
	assert_int_equal(store_journal_put(j, STORE_META, key, 1, key, 1),
	                 SH_OK);
	assert_int_equal(store_journal_write(j), SH_EIO);
	assert_int_equal(store_journal_used(j), tail);
	assert_int_equal(j->next_seq, 2);
	assert_int_equal(store_journal_count(j), 1);
	/* the descriptor back: the same record goes out as seq 2 */
	assert_true(dup2(rw, j->fd) == j->fd);
	close(rw);
	close(ro);
	assert_int_equal(store_journal_write(j), SH_OK);
	assert_int_equal(fx_replay(fx, 0, &last), SH_OK);
	assert_int_equal(last, 2);
	assert_int_equal(fx->n, 2);
	assert_int_equal(fx->got[1].op, JOURNAL_PUT);
}

/* Many records and one larger than the replay's read-ahead: records that
 * cross its window's edges are read whole. */
static void test_journal_large(void **state)
{
	fx_t *fx = *state;
	const size_t big = 2 * 1024 * KIB + 3, small = 5000;
	uint8_t *val = malloc(big);
	assert_non_null(val);
	uint64_t seed = 42, last = 0;
	for (size_t i = 0; i < big; i++)
		val[i] = (uint8_t)rnd(&seed);
	fx_open(fx, 8 * 1024 * KIB);
	store_journal_t *j = &fx->j;
	const uint8_t key[] = "key";
	size_t nrec = 0, vbytes = 0;
	for (int i = 0; i < 400; i++) {
		size_t vl = i == 250 ? big : small + (size_t)i;
		assert_int_equal(store_journal_put(j, STORE_OBJECTS, key, 3,
		                                   val + i, vl - (size_t)i),
		                 SH_OK);
		assert_int_equal(store_journal_write(j), SH_OK);
		nrec++;
		vbytes += vl - (size_t)i;
	}
	fx_reopen(fx, 8 * 1024 * KIB);
	large_t lg = {val, 0, 0, 0};
	assert_int_equal(
	    store_journal_replay(&fx->j, 0, large_check, &lg, &last), SH_OK);
	assert_int_equal(last, nrec);
	assert_int_equal(lg.n, nrec);
	assert_int_equal(lg.bytes, vbytes);
	assert_int_equal(lg.bad, 0);
	free(val);
}

/* Write n records of one PUT each (key "k", value i bytes of i) with
 * seqs after..after + n, on a reset(after, seed); offs[i] is record i's
 * offset (0-based), offs[n] the tail. */
static void write_puts(store_journal_t *j, uint64_t after, uint64_t seed, int n,
                       uint64_t *offs)
{
	uint8_t val[64];
	store_journal_reset(j, after, seed);
	for (int i = 0; i < n; i++) {
		offs[i] = store_journal_used(j);
		memset(val, i, sizeof(val));
		assert_int_equal(store_journal_put(j, STORE_OBJECTS,
		                                   (const uint8_t *)"k", 1, val,
		                                   (size_t)i % sizeof(val)),
		                 SH_OK);
		assert_int_equal(store_journal_write(j), SH_OK);
	}
	offs[n] = store_journal_used(j);
}

static void flip_bit(const char *path, uint64_t at)
{
	uint8_t b;
	peek(path, at, &b, 1);
	b ^= 0x10;
	poke(path, at, &b, 1);
}

static int recover(fx_t *fx, uint64_t after, uint64_t *last,
                   journal_damage_t *d)
{
	got_clear(fx);
	return store_journal_recover(&fx->j, after, collect, fx, last, d);
}

/* A record damaged in the middle (payload, length or the whole header),
 * with acknowledged records after it, is not the journal's end: recover
 * says where, with SH_EIO. A torn last record, the zeros after it, and
 * an older round behind a shorter one still end the journal quietly. */
static void test_journal_damaged_middle(void **state)
{
	fx_t *fx = *state;
	enum { N = 20 };
	uint64_t offs[N + 1], last = 0;
	journal_damage_t d;
	uint8_t zeros[STORE_JOURNAL_HDR_BYTES] = {0};
	fx_open(fx, 256 * KIB);
	write_puts(&fx->j, 0, 0x5eed, N, offs);
	assert_int_equal(recover(fx, 0, &last, &d), SH_OK);
	assert_int_equal(last, N);
	assert_int_equal(d.next_seq, 0);

	/* the last record torn: the end, quietly */
	flip_bit(fx->path, offs[N - 1] + STORE_JOURNAL_HDR_BYTES + 2);
	assert_int_equal(recover(fx, 0, &last, &d), SH_OK);
	assert_int_equal(last, N - 1);
	assert_int_equal(d.next_seq, 0);
	assert_int_equal(fx->n, N - 1);

	/* one payload bit of record 10 of 20 */
	flip_bit(fx->path, offs[9] + STORE_JOURNAL_HDR_BYTES + 2);
	assert_int_equal(recover(fx, 0, &last, &d), SH_EIO);
	assert_int_equal(d.bad_off, offs[9]);
	assert_int_equal(d.next_seq, 11);
	assert_int_equal(d.next_off, offs[10]);
	flip_bit(fx->path, offs[9] + STORE_JOURNAL_HDR_BYTES + 2);

	/* its length: the records after it are found all the same */
	flip_bit(fx->path, offs[9] + 17);
	assert_int_equal(recover(fx, 5, &last, &d), SH_EIO);
	assert_int_equal(d.bad_off, offs[9]);
	assert_int_equal(d.next_seq, 11);
	flip_bit(fx->path, offs[9] + 17);

	/* its whole header read back as zeros */
	poke(fx->path, offs[9], zeros, sizeof(zeros));
	assert_int_equal(recover(fx, 0, &last, &d), SH_EIO);
	assert_int_equal(d.next_seq, 11);

	/* a new round, over the older one: not damage */
	write_puts(&fx->j, 30, 0xbeef, 3, offs);
	assert_int_equal(recover(fx, 30, &last, &d), SH_OK);
	assert_int_equal(last, 33);
	assert_int_equal(d.bad_off, offs[3]);
	assert_int_equal(d.next_seq, 0);
}

/* A round whose seqs an older round used too (a journal reset to a seq it
 * already holds) cannot continue into the older round's records, even
 * where one starts exactly at its end with the very seq it expects:
 * their checksums have another seed. */
static void test_journal_stale_round_does_not_chain(void **state)
{
	fx_t *fx = *state;
	enum { N = 6 };
	uint64_t offs[N + 1], again[N + 1], last = 0;
	journal_damage_t d;
	fx_open(fx, 256 * KIB);
	write_puts(&fx->j, 0, 1, N, offs);
	/* seqs 1 and 2 again, as long as the old ones: old 3 follows */
	write_puts(&fx->j, 0, 2, 2, again);
	assert_int_equal(again[2], offs[2]);
	assert_int_equal(recover(fx, 0, &last, &d), SH_OK);
	assert_int_equal(last, 2);
	assert_int_equal(fx->n, 2);
	assert_int_equal(d.bad_off, offs[2]);
	assert_int_equal(d.next_seq, 0);
}

/* Every open flushes the directory, not only the one that creates the
 * file: the run that created it may have stopped before its flush. */
static void test_journal_open_syncs_dir(void **state)
{
	fx_t *fx = *state;
	dir_syncs = 0;
	fx_open(fx, 64 * KIB);
	assert_int_equal(dir_syncs, 1);
	fx_reopen(fx, 64 * KIB); /* exists, its size already */
	assert_int_equal(dir_syncs, 2);
	fx_reopen(fx, 128 * KIB); /* exists, extended */
	assert_int_equal(dir_syncs, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_journal_roundtrip, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_callback_error,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_torn_tail, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_reset_over_stale,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_gap, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_fresh, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_args, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_full, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_garbage, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_write_error, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_large, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_damaged_middle,
	                                    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_journal_stale_round_does_not_chain, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_journal_open_syncs_dir,
	                                    fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
