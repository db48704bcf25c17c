/*
 * test_store.c - unit tests of node/store.h. Every behaviour test runs
 * against both backends (group store_memory, then store_lmdb in a fresh
 * mkdtemp directory under /tmp, removed afterwards); the key layout tests
 * are pure and run once.
 */
#include <dirent.h>
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

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "node/store.h"
#include "node/store_tap.h"

#define OK(x) assert_int_equal((x), SH_OK)
#define MIB   ((size_t)1 << 20)

/* ---- fixture: one store of one backend ---- */

typedef enum backend { BK_MEM, BK_LMDB } backend_t;

static backend_t backend_mem = BK_MEM;
static backend_t backend_lmdb = BK_LMDB;

typedef struct fx {
	backend_t backend;
	int open;
	store_t s;
	char dir[64];
	store_mem_cfg_t mem_cfg;
	store_lmdb_cfg_t lmdb_cfg;
} fx_t;

static void fx_open(fx_t *fx)
{
	int rc;
	if (fx->backend == BK_MEM) {
		rc = store_mem_open(&fx->s, &fx->mem_cfg);
	} else {
		fx->lmdb_cfg.dir = fx->dir;
		rc = store_lmdb_open(&fx->s, &fx->lmdb_cfg);
	}
	if (rc != SH_OK)
		fprintf(stderr, "open: %s\n", store_errmsg(&fx->s));
	OK(rc);
	fx->open = 1;
}

static void fx_close(fx_t *fx)
{
	if (fx->open)
		store_close(&fx->s);
	fx->open = 0;
}

/* Remove the LMDB directory and the files in it (no subdirectories). */
static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	char path[64 + 2 + 256];
	struct dirent *e;
	for (int i = 0; i < 64 && (e = readdir(d)) != NULL; i++) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int fx_setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->backend = *(backend_t *)*state;
	if (fx->backend == BK_LMDB) {
		strcpy(fx->dir, "/tmp/shoal-test-store-XXXXXX");
		assert_non_null(mkdtemp(fx->dir));
	}
	fx_open(fx);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_t *fx = *state;
	fx_close(fx);
	if (fx->backend == BK_LMDB)
		rm_dir(fx->dir);
	free(fx);
	return 0;
}

/* A node restart that keeps its disk: memory loses the open batch only
 * (the simulator's crash); LMDB closes and reopens the directory. */
static void fx_restart(fx_t *fx)
{
	if (fx->backend == BK_MEM) {
		store_mem_crash(&fx->s);
		return;
	}
	fx_close(fx);
	fx_open(fx);
}

/* A node restart with a wiped data directory. */
static void fx_wipe(fx_t *fx)
{
	fx_close(fx);
	if (fx->backend == BK_LMDB)
		rm_dir(fx->dir); /* store_lmdb_open creates it again */
	fx_open(fx);
}

/* Reopen with other limits (fresh data). */
static void fx_reopen_with(fx_t *fx, uint64_t mem_bytes_max, uint64_t map,
                           uint64_t map_max)
{
	fx_close(fx);
	if (fx->backend == BK_LMDB)
		rm_dir(fx->dir);
	fx->mem_cfg.bytes_max = mem_bytes_max;
	fx->lmdb_cfg.map_bytes = map;
	fx->lmdb_cfg.map_bytes_max = map_max;
	fx_open(fx);
}

/* ---- helpers ---- */

static void okey(store_key_t *k, uint16_t p, const char *bucket,
                 const char *key)
{
	OK(store_key_object(k, p, bucket, strlen(bucket), key, strlen(key)));
}

static void hkey(store_key_t *k, const char *primary, uint16_t p,
                 const char *bucket, const char *key)
{
	store_key_t o;
	okey(&o, p, bucket, key);
	OK(store_key_hint(k, primary, strlen(primary), &o));
}

static void put_str(store_t *s, const store_key_t *k, const char *v)
{
	OK(store_put(s, k, v, strlen(v)));
}

static void commit_one(store_t *s, const store_key_t *k, const char *v)
{
	OK(store_begin(s));
	put_str(s, k, v);
	OK(store_commit(s));
}

/* Assert k holds exactly v (NULL: absent). */
static void expect(store_t *s, const store_key_t *k, const char *v)
{
	const uint8_t *val;
	size_t len;
	int rc = store_get(s, k, &val, &len);
	if (v == NULL) {
		assert_int_equal(rc, SH_ENOTFOUND);
		return;
	}
	OK(rc);
	assert_int_equal(len, strlen(v));
	assert_memory_equal(val, v, len);
}

static uint64_t entries(store_t *s, store_space_t space)
{
	store_stats_t st;
	OK(store_stats(s, space, &st));
	return st.entries;
}

/* Entries a scan saw, as "primary|partition/bucket/key=value". */
#define SEEN_MAX 128
typedef struct seen {
	size_t n;
	size_t stop_at; /* STORE_SCAN_STOP on this entry (1-based); 0 never */
	size_t fail_at; /* SH_ENOMEM on this entry (1-based); 0 never */
	size_t calls;
	char name[SEEN_MAX][64];
} seen_t;

static int collect(void *arg, const store_entry_t *e)
{
	seen_t *sn = arg;
	if (sn->fail_at > 0 && sn->n + 1 == sn->fail_at)
		return SH_ENOMEM;
	assert_true(sn->n < SEEN_MAX);
	const store_key_parts_t *p = &e->parts;
	snprintf(sn->name[sn->n], sizeof(sn->name[0]), "%.*s|%u/%.*s/%.*s=%.*s",
	         (int)p->primary_len,
	         p->primary != NULL ? (const char *)p->primary : "",
	         (unsigned)p->partition, (int)p->bucket_len,
	         (const char *)p->bucket, (int)p->key_len, (const char *)p->key,
	         (int)e->val_len, (const char *)e->val);
	sn->n++;
	return sn->stop_at > 0 && sn->n == sn->stop_at ? STORE_SCAN_STOP : 0;
}

/* Scan all of partition p, limit per call; returns the calls made. */
static size_t scan_partition_all(store_t *s, uint16_t p, size_t limit,
                                 seen_t *sn)
{
	store_cursor_t c;
	store_cursor_init(&c);
	size_t calls = 0;
	for (; calls < 1000 && !c.done; calls++) {
		size_t before = sn->n;
		OK(store_scan_partition(s, p, &c, limit, collect, sn));
		assert_true(sn->n - before <= limit);
	}
	assert_true(c.done);
	return calls;
}

/* ---- behaviour, both backends ---- */

static void test_store_put_get_delete(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t a, b, c;
	okey(&a, 3, "carts", "alice");
	okey(&b, 3, "carts", "bob");
	okey(&c, 4, "carts", "alice");
	OK(store_begin(s));
	put_str(s, &a, "A1");
	put_str(s, &b, "B1");
	OK(store_put(s, &c, NULL, 0));
	OK(store_commit(s));
	expect(s, &a, "A1");
	expect(s, &b, "B1");
	expect(s, &c, "");

	sh_buf_t buf = {0};
	OK(store_get_copy(s, &b, &buf));
	assert_int_equal(buf.len, 2);
	assert_memory_equal(buf.data, "B1", 2);
	store_key_t none;
	okey(&none, 3, "carts", "carol");
	assert_int_equal(store_get_copy(s, &none, &buf), SH_ENOTFOUND);
	assert_int_equal(buf.len, 0);
	sh_buf_free(&buf);

	OK(store_begin(s));
	put_str(s, &a, "A2");
	OK(store_del(s, &b));
	OK(store_del(s, &none)); /* absent: fine */
	OK(store_commit(s));
	expect(s, &a, "A2");
	expect(s, &b, NULL);
	expect(s, &c, "");
	assert_int_equal(entries(s, STORE_OBJECTS), 2);
}

static void test_store_batch_commit_makes_all_visible(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t k;
	char key[16], val[16];
	OK(store_begin(s));
	assert_true(store_in_batch(s));
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		snprintf(val, sizeof(val), "v%d", i);
		okey(&k, (uint16_t)(i % 5), "b", key);
		put_str(s, &k, val);
	}
	okey(&k, 2, "b", "k007");
	expect(s, &k, "v7"); /* the batch reads its own writes */
	assert_int_equal(entries(s, STORE_OBJECTS), 100);
	OK(store_commit(s));
	assert_false(store_in_batch(s));
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		snprintf(val, sizeof(val), "v%d", i);
		okey(&k, (uint16_t)(i % 5), "b", key);
		expect(s, &k, val);
	}
	fx_restart(fx);
	okey(&k, 4, "b", "k099");
	expect(&fx->s, &k, "v99");
}

static void test_store_abort_makes_none_visible(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t k1, k2, k3, k4;
	okey(&k1, 1, "b", "one");
	okey(&k2, 1, "b", "two");
	okey(&k3, 1, "b", "three");
	okey(&k4, 2, "b", "four");
	OK(store_begin(s));
	put_str(s, &k1, "v1");
	put_str(s, &k2, "v2");
	put_str(s, &k4, "v4");
	OK(store_commit(s));

	OK(store_begin(s));
	put_str(s, &k1, "new");
	put_str(s, &k1, "newer");
	OK(store_del(s, &k2));
	put_str(s, &k3, "v3");
	OK(store_del(s, &k3));
	put_str(s, &k3, "v3b");
	size_t deleted;
	OK(store_drop_partition(s, 2, 10, &deleted));
	assert_int_equal(deleted, 1);
	expect(s, &k1, "newer");
	expect(s, &k2, NULL);
	store_abort(s);
	assert_false(store_in_batch(s));
	expect(s, &k1, "v1");
	expect(s, &k2, "v2");
	expect(s, &k3, NULL);
	expect(s, &k4, "v4");
	assert_int_equal(entries(s, STORE_OBJECTS), 3);
	if (fx->backend == BK_MEM)
		OK(store_mem_check(s));
}

static void test_store_restart_loses_open_batch(void **state)
{
	fx_t *fx = *state;
	store_key_t x, y;
	okey(&x, 9, "b", "x");
	okey(&y, 9, "b", "y");
	commit_one(&fx->s, &x, "committed");
	OK(store_begin(&fx->s));
	put_str(&fx->s, &y, "lost");
	put_str(&fx->s, &x, "lost too");
	fx_restart(fx);
	assert_false(store_in_batch(&fx->s));
	expect(&fx->s, &x, "committed");
	expect(&fx->s, &y, NULL);
}

/* Ten keys in each of two buckets of every listed partition. */
static void fill_partitions(store_t *s, const uint16_t *parts, size_t n)
{
	store_key_t k;
	char key[8];
	OK(store_begin(s));
	for (int i = 9; i >= 0; i--) { /* reverse order on purpose */
		for (size_t p = 0; p < n; p++) {
			snprintf(key, sizeof(key), "k%d", i);
			okey(&k, parts[p], "b", key);
			put_str(s, &k, "v");
			okey(&k, parts[p], "a", key);
			put_str(s, &k, "v");
			okey(&k, parts[p], "ab", key); /* "a" < "ab" */
			put_str(s, &k, "v");
		}
	}
	OK(store_commit(s));
}

static void test_store_partition_scan_in_key_order_with_cursor(void **state)
{
	fx_t *fx = *state;
	const uint16_t parts[] = {0, 1, 2, 255, 256, 65534, 65535};
	fill_partitions(&fx->s, parts, 7);
	const uint16_t probe[] = {0, 1, 65535};
	for (size_t i = 0; i < 3; i++) {
		seen_t sn = {0};
		/* 30 entries: 10 calls of 3, then one that finds none */
		size_t calls = scan_partition_all(&fx->s, probe[i], 3, &sn);
		assert_int_equal(sn.n, 30);
		assert_int_equal(calls, 10);
		const char *buckets[] = {"a", "ab", "b"};
		for (size_t j = 0; j < 30; j++) {
			char want[64];
			snprintf(want, sizeof(want), "|%u/%s/k%zu=v",
			         (unsigned)probe[i], buckets[j / 10], j % 10);
			assert_string_equal(sn.name[j], want);
		}
		seen_t sn7 = {0}; /* 7 does not divide 30: done on the 5th */
		assert_int_equal(scan_partition_all(&fx->s, probe[i], 7, &sn7),
		                 5);
		assert_int_equal(sn7.n, 30);
	}
	seen_t empty = {0};
	assert_int_equal(scan_partition_all(&fx->s, 3, 5, &empty), 1);
	assert_int_equal(empty.n, 0);
}

static void test_store_scan_resumes_after_given_key(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	const uint16_t parts[] = {5, 6};
	fill_partitions(s, parts, 2);
	store_key_t k;
	store_cursor_t c;
	okey(&k, 5, "ab", "k4x"); /* absent: starts at the next key */
	store_cursor_after(&c, &k);
	seen_t sn = {0};
	OK(store_scan_partition(s, 5, &c, 2, collect, &sn));
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.name[0], "|5/ab/k5=v");
	assert_string_equal(sn.name[1], "|5/ab/k6=v");
	assert_false(c.done);

	/* a write behind the cursor is not seen, one ahead is */
	okey(&k, 5, "a", "zzz");
	commit_one(s, &k, "behind");
	okey(&k, 5, "ab", "k7a");
	commit_one(s, &k, "ahead");
	OK(store_scan_partition(s, 5, &c, 2, collect, &sn));
	assert_string_equal(sn.name[2], "|5/ab/k7=v");
	assert_string_equal(sn.name[3], "|5/ab/k7a=ahead");

	/* the cursor is plain data: a copy resumes the same way */
	store_cursor_t copy = c;
	seen_t a = {0}, b = {0};
	OK(store_scan_partition(s, 5, &c, 100, collect, &a));
	OK(store_scan_partition(s, 5, &copy, 100, collect, &b));
	assert_int_equal(a.n, 12); /* ab/k8, ab/k9, b/k0..k9 */
	assert_int_equal(b.n, a.n);
	assert_string_equal(a.name[11], b.name[11]);
	assert_true(c.done && copy.done);

	/* a cursor of partition 5 is no position in partition 6 */
	assert_int_equal(store_scan_partition(s, 6, &c, 1, collect, &a),
	                 SH_EINVAL);
}

static void test_store_scan_callback_stops_and_fails(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	const uint16_t parts[] = {8};
	fill_partitions(s, parts, 1);
	store_cursor_t c;
	store_cursor_init(&c);
	seen_t sn = {.stop_at = 2, .fail_at = 3};
	OK(store_scan_partition(s, 8, &c, 10, collect, &sn));
	assert_int_equal(sn.n, 2);
	assert_false(c.done);
	assert_int_equal(store_scan_partition(s, 8, &c, 10, collect, &sn),
	                 SH_ENOMEM);
	assert_int_equal(sn.n, 2);
	sn.fail_at = 0;
	OK(store_scan_partition(s, 8, &c, 1, collect, &sn));
	assert_string_equal(sn.name[2], "|8/a/k2=v"); /* not skipped */
}

static void test_store_object_and_hint_in_one_batch(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t o, h, back;
	okey(&o, 12, "carts", "alice");
	OK(store_key_hint(&h, "n3", 2, &o));
	OK(store_key_hint_object(&back, &h));
	assert_int_equal(back.space, STORE_OBJECTS);
	assert_int_equal(back.len, o.len);
	assert_memory_equal(back.bytes, o.bytes, o.len);

	OK(store_begin(s));
	put_str(s, &o, "cart");
	put_str(s, &h, "");
	OK(store_commit(s));
	expect(s, &o, "cart");
	expect(s, &h, "");

	store_key_t o2, h2;
	okey(&o2, 12, "carts", "bob");
	OK(store_key_hint(&h2, "n3", 2, &o2));
	OK(store_begin(s));
	put_str(s, &o2, "cart");
	put_str(s, &h2, "");
	store_abort(s);
	expect(s, &o2, NULL);
	expect(s, &h2, NULL);
	fx_restart(fx);
	expect(&fx->s, &o, "cart");
	expect(&fx->s, &h, "");
	assert_int_equal(entries(&fx->s, STORE_OBJECTS), 1);
	assert_int_equal(entries(&fx->s, STORE_HINTS), 1);
}

static void test_store_hints_scan_per_primary(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t h;
	OK(store_begin(s));
	const char *primaries[] = {"n2", "n10", "n1"};
	for (int p = 0; p < 3; p++) {
		hkey(&h, primaries[p], 7, "b", "k");
		put_str(s, &h, primaries[p]);
		hkey(&h, primaries[p], 1, "b", "k");
		put_str(s, &h, primaries[p]);
		hkey(&h, primaries[p], 65535, "a", "k");
		put_str(s, &h, primaries[p]);
	}
	OK(store_commit(s));

	store_cursor_t c;
	store_cursor_init(&c);
	seen_t sn = {0};
	for (int i = 0; i < 10 && !c.done; i++)
		OK(store_scan_hints(s, "n1", 2, &c, 2, collect, &sn));
	assert_true(c.done);
	assert_int_equal(sn.n, 3); /* none of n10's */
	assert_string_equal(sn.name[0], "n1|1/b/k=n1");
	assert_string_equal(sn.name[1], "n1|7/b/k=n1");
	assert_string_equal(sn.name[2], "n1|65535/a/k=n1");

	store_cursor_init(&c);
	seen_t all = {0};
	for (int i = 0; i < 10 && !c.done; i++)
		OK(store_scan_hints(s, NULL, 0, &c, 4, collect, &all));
	assert_int_equal(all.n, 9);
	assert_string_equal(all.name[0], "n1|1/b/k=n1"); /* by primary length */
	assert_string_equal(all.name[3], "n2|1/b/k=n2");
	assert_string_equal(all.name[6], "n10|1/b/k=n10");

	/* replaying: delete each hint as it is acknowledged */
	store_cursor_init(&c);
	seen_t none = {0};
	OK(store_begin(s));
	hkey(&h, "n10", 1, "b", "k");
	OK(store_del(s, &h));
	OK(store_commit(s));
	OK(store_scan_hints(s, "n10", 3, &c, 10, collect, &none));
	assert_int_equal(none.n, 2);
	assert_int_equal(entries(s, STORE_HINTS), 8);
}

static void test_store_epoch_created_once_and_kept(void **state)
{
	fx_t *fx = *state;
	sh_rand_t rng, other;
	sh_rand_seed(&rng, 42);
	sh_rand_seed(&other, 7);
	uint64_t e1 = 0, e2 = 0, e3 = 0;
	OK(store_epoch(&fx->s, &rng, &e1));
	assert_true(e1 != 0);
	OK(store_epoch(&fx->s, &other, &e2));
	assert_true(e2 == e1);
	fx_restart(fx);
	OK(store_epoch(&fx->s, &other, &e2));
	assert_true(e2 == e1);
	fx_wipe(fx);
	OK(store_epoch(&fx->s, &rng, &e3));
	assert_true(e3 != 0 && e3 != e1);
	fx_restart(fx);
	OK(store_epoch(&fx->s, &rng, &e2));
	assert_true(e2 == e3);
}

/* meta "epoch" now */
static uint64_t meta_epoch(store_t *s)
{
	uint64_t e = 0;
	OK(store_epoch_held(s, &e));
	return e;
}

/* store_epoch_put skips the lookup while it knows the epoch held; an
 * aborted batch must make it write again. */
static void test_store_epoch_put_rewrites_after_abort(void **state)
{
	fx_t *fx = *state;
	OK(store_begin(&fx->s));
	OK(store_epoch_put(&fx->s, 5));
	OK(store_commit(&fx->s));
	assert_int_equal(meta_epoch(&fx->s), 5);
	OK(store_begin(&fx->s));
	OK(store_epoch_put(&fx->s, 6));
	store_abort(&fx->s);
	assert_int_equal(meta_epoch(&fx->s), 5);
	OK(store_begin(&fx->s));
	OK(store_epoch_put(&fx->s, 6));
	OK(store_commit(&fx->s));
	assert_int_equal(meta_epoch(&fx->s), 6);
	fx_restart(fx);
	OK(store_begin(&fx->s));
	OK(store_epoch_put(&fx->s, 6));
	OK(store_commit(&fx->s));
	assert_int_equal(meta_epoch(&fx->s), 6);
}

/* ---- the tap's old-value hashes ---- */

typedef struct tap_seen {
	int calls, had_old;
	uint64_t old_h, new_h;
} tap_seen_t;

static tap_seen_t tap_seen;

static uint64_t fnv(const uint8_t *v, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 1099511628211ull;
	return h;
}

static void on_write(void *arg, const store_key_t *k, const uint64_t *old_h,
                     const uint64_t *new_h)
{
	(void)arg;
	(void)k;
	tap_seen.calls++;
	tap_seen.had_old = old_h != NULL;
	tap_seen.old_h = old_h ? *old_h : 0;
	tap_seen.new_h = new_h ? *new_h : 0;
}

static void tap_put_str(store_t *t, const store_key_t *k, const char *v)
{
	OK(store_put(t, k, v, strlen(v)));
}

/* A read just before a write lends the write its old value; any write in
 * between, or another key read, must not. */
static void test_store_tap_old_value_follows_reads(void **state)
{
	fx_t *fx = *state;
	store_t tap;
	store_key_t a, b;
	const uint8_t *v;
	size_t len;
	int dummy;
	store_tap_hooks_t h = {.hash = fnv, .write = on_write, .arg = &dummy};
	OK(store_tap_open(&tap, &fx->s));
	OK(store_tap_add_hooks(&tap, &h));
	OK(store_key_object(&a, 3, "b", 1, "a", 1));
	OK(store_key_object(&b, 3, "b", 1, "b", 1));
	memset(&tap_seen, 0, sizeof(tap_seen));

	OK(store_begin(&tap));
	assert_int_equal(store_get(&tap, &a, &v, &len), SH_ENOTFOUND);
	tap_put_str(&tap, &a, "one");
	assert_int_equal(tap_seen.calls, 1);
	assert_false(tap_seen.had_old);
	assert_true(tap_seen.new_h == fnv((const uint8_t *)"one", 3));

	OK(store_get(&tap, &a, &v, &len));
	tap_put_str(&tap, &b, "bee");
	tap_put_str(&tap, &a, "two");
	assert_true(tap_seen.had_old);
	assert_true(tap_seen.old_h == fnv((const uint8_t *)"one", 3));
	OK(store_commit(&tap));

	OK(store_begin(&tap));
	OK(store_get(&tap, &b, &v, &len));
	OK(store_get(&tap, &a, &v, &len));
	tap_put_str(&tap, &a, "three");
	assert_true(tap_seen.old_h == fnv((const uint8_t *)"two", 3));
	OK(store_get(&tap, &b, &v, &len));
	tap_put_str(&tap, &a, "four");
	assert_true(tap_seen.old_h == fnv((const uint8_t *)"three", 5));
	OK(store_get(&tap, &a, &v, &len));
	OK(store_del(&tap, &a));
	assert_true(tap_seen.had_old);
	assert_true(tap_seen.old_h == fnv((const uint8_t *)"four", 4));
	store_abort(&tap);

	OK(store_begin(&tap));
	OK(store_get(&tap, &a, &v, &len));
	assert_int_equal(len, 3); /* the abort kept "two" */
	tap_put_str(&tap, &a, "five");
	assert_true(tap_seen.old_h == fnv((const uint8_t *)"two", 3));
	OK(store_commit(&tap));
	assert_int_equal(tap_seen.calls, 7);
	store_tap_remove_hooks(&tap, &dummy);
	store_close(&tap);
}

static void test_store_meta_put_get(void **state)
{
	fx_t *fx = *state;
	store_key_t m;
	OK(store_key_meta(&m, "ring-view"));
	commit_one(&fx->s, &m, "members");
	fx_restart(fx);
	expect(&fx->s, &m, "members");
	/* LMDB with --sync batch keeps its checkpoint under "journal" */
	assert_int_equal(entries(&fx->s, STORE_META),
	                 fx->backend == BK_LMDB ? 2 : 1);
	assert_int_equal(entries(&fx->s, STORE_OBJECTS), 0);
}

static void test_store_big_values(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	uint8_t *big = malloc(MIB);
	assert_non_null(big);
	store_key_t k[3];
	OK(store_begin(s));
	for (int i = 0; i < 3; i++) {
		for (size_t j = 0; j < MIB; j++)
			big[j] = (uint8_t)(j * 31 + (size_t)i);
		char key[8];
		snprintf(key, sizeof(key), "big%d", i);
		okey(&k[i], 77, "b", key);
		OK(store_put(s, &k[i], big, MIB));
	}
	OK(store_commit(s));
	fx_restart(fx);
	s = &fx->s;
	for (int i = 0; i < 3; i++) {
		for (size_t j = 0; j < MIB; j++)
			big[j] = (uint8_t)(j * 31 + (size_t)i);
		const uint8_t *val;
		size_t len;
		OK(store_get(s, &k[i], &val, &len));
		assert_int_equal(len, MIB);
		assert_memory_equal(val, big, MIB);
	}
	store_stats_t st;
	OK(store_stats(s, STORE_OBJECTS, &st));
	assert_int_equal(st.entries, 3);
	assert_true(st.bytes >= 3 * MIB);
	free(big);
}

/* Callback of test_store_long_keys: counts entries with the long bucket. */
static int count_long(void *arg, const store_entry_t *e)
{
	size_t *n = arg;
	assert_int_equal(e->parts.bucket_len, STORE_BUCKET_BYTES_MAX);
	assert_int_equal(e->parts.key_len, STORE_KEY_BYTES_MAX);
	assert_int_equal(e->val_len, 1);
	assert_int_equal(e->val[0], e->parts.key[STORE_KEY_BYTES_MAX - 1]);
	(*n)++;
	return 0;
}

static void test_store_long_keys_round_trip(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	static uint8_t bucket[STORE_BUCKET_BYTES_MAX], key[STORE_KEY_BYTES_MAX];
	memset(bucket, 'b', sizeof(bucket));
	memset(key, 'k', sizeof(key));
	store_key_t k, h;
	OK(store_begin(s));
	for (uint8_t i = 0; i < 5; i++) { /* differ in the last byte only */
		key[sizeof(key) - 1] = i;
		OK(store_key_object(&k, 40, bucket, sizeof(bucket), key,
		                    sizeof(key)));
		assert_int_equal(k.len, STORE_OBJ_KEY_BYTES_MAX);
		OK(store_put(s, &k, &i, 1));
	}
	char primary[STORE_PRIMARY_BYTES_MAX];
	memset(primary, 'n', sizeof(primary));
	OK(store_key_hint(&h, primary, sizeof(primary), &k));
	assert_int_equal(h.len, STORE_RAW_KEY_BYTES_MAX);
	put_str(s, &h, "hint");
	OK(store_commit(s));

	for (uint8_t i = 0; i < 5; i++) {
		key[sizeof(key) - 1] = i;
		OK(store_key_object(&k, 40, bucket, sizeof(bucket), key,
		                    sizeof(key)));
		const uint8_t *val;
		size_t len;
		OK(store_get(s, &k, &val, &len));
		assert_int_equal(len, 1);
		assert_int_equal(val[0], i);
	}
	expect(s, &h, "hint");
	size_t n = 0;
	store_cursor_t c;
	store_cursor_init(&c);
	for (int i = 0; i < 10 && !c.done; i++)
		OK(store_scan_partition(s, 40, &c, 2, count_long, &n));
	assert_int_equal(n, 5);

	key[sizeof(key) - 1] = 2;
	OK(store_key_object(&k, 40, bucket, sizeof(bucket), key, sizeof(key)));
	OK(store_begin(s));
	OK(store_del(s, &k));
	OK(store_commit(s));
	expect(s, &k, NULL);
	assert_int_equal(entries(s, STORE_OBJECTS), 4);
}

static void test_store_stats_count(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_stats_t st;
	OK(store_stats(s, STORE_OBJECTS, &st));
	assert_int_equal(st.entries, 0);
	store_key_t k;
	char key[8];
	OK(store_begin(s));
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		okey(&k, (uint16_t)i, "b", key);
		put_str(s, &k, "value");
	}
	hkey(&k, "n1", 1, "b", "k");
	put_str(s, &k, "");
	OK(store_commit(s));
	OK(store_stats(s, STORE_OBJECTS, &st));
	assert_int_equal(st.entries, 50);
	assert_true(st.bytes > 0);
	assert_int_equal(entries(s, STORE_HINTS), 1);
	assert_int_equal(entries(s, STORE_META), 0);
	OK(store_begin(s));
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		okey(&k, (uint16_t)i, "b", key);
		OK(store_del(s, &k));
	}
	OK(store_commit(s));
	assert_int_equal(entries(s, STORE_OBJECTS), 30);
}

static void test_store_drop_partition_is_bounded(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	const uint16_t parts[] = {6, 7, 8}; /* 30 keys each */
	fill_partitions(s, parts, 3);
	store_key_t h;
	hkey(&h, "n1", 7, "a", "k1");
	commit_one(s, &h, "");
	size_t deleted = 0, want[] = {10, 10, 10, 0};
	for (int i = 0; i < 4; i++) {
		OK(store_begin(s));
		OK(store_drop_partition(s, 7, 10, &deleted));
		OK(store_commit(s));
		assert_int_equal(deleted, want[i]);
	}
	seen_t sn = {0};
	scan_partition_all(s, 7, 10, &sn);
	assert_int_equal(sn.n, 0);
	scan_partition_all(s, 6, 100, &sn);
	scan_partition_all(s, 8, 100, &sn);
	assert_int_equal(sn.n, 60);
	assert_int_equal(entries(s, STORE_OBJECTS), 60);
	expect(s, &h, ""); /* hints stay */
}

/* Callback of test_store_many_keys: strictly increasing keys. */
typedef struct order {
	size_t n;
	store_key_t prev;
} order_t;

static int check_order(void *arg, const store_entry_t *e)
{
	order_t *o = arg;
	if (o->n > 0) {
		size_t m =
		    o->prev.len < e->key->len ? o->prev.len : e->key->len;
		int c = memcmp(o->prev.bytes, e->key->bytes, m);
		assert_true(c < 0 || (c == 0 && o->prev.len < e->key->len));
	}
	o->prev = *e->key;
	o->n++;
	return 0;
}

static void test_store_many_keys_stay_ordered(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	sh_rand_t rng;
	sh_rand_seed(&rng, 1234);
	store_key_t k;
	char key[24];
	const int n = 20000;
	OK(store_begin(s));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%llu",
		         (unsigned long long)sh_rand_below(&rng, 1000000000));
		okey(&k, 3, "b", key);
		put_str(s, &k, key);
	}
	OK(store_commit(s));
	uint64_t stored = entries(s, STORE_OBJECTS); /* minus duplicates */
	assert_true(stored > (uint64_t)n - 10 && stored <= (uint64_t)n);
	sh_rand_seed(&rng, 1234);
	OK(store_begin(s));
	for (int i = 0; i < n / 2; i++) {
		snprintf(key, sizeof(key), "%llu",
		         (unsigned long long)sh_rand_below(&rng, 1000000000));
		okey(&k, 3, "b", key);
		OK(store_del(s, &k));
	}
	OK(store_commit(s));
	if (fx->backend == BK_MEM)
		OK(store_mem_check(s));
	order_t *o = calloc(1, sizeof(*o));
	assert_non_null(o);
	store_cursor_t c;
	store_cursor_init(&c);
	for (int i = 0; i < 100 && !c.done; i++)
		OK(store_scan_partition(s, 3, &c, 1000, check_order, o));
	assert_true(c.done);
	assert_int_equal(o->n, entries(s, STORE_OBJECTS));
	assert_true(o->n >= (size_t)n / 2 - 10 && o->n <= (size_t)n / 2);
	free(o);
}

static void test_store_full_dooms_batch_and_keeps_committed(void **state)
{
	fx_t *fx = *state;
	/* memory: 3.5 MiB of data; LMDB: a 1 MiB map that may grow to 4 */
	fx_reopen_with(fx, 7 * MIB / 2, MIB, 4 * MIB);
	store_t *s = &fx->s;
	uint8_t *big = calloc(1, MIB);
	assert_non_null(big);
	store_key_t k, extra;
	okey(&extra, 1, "b", "small");
	int ok = 0, full = 0, rc = SH_OK;
	store_key_t first_ok = {0};
	for (int i = 0; i < 12; i++) { /* LMDB grows after each miss */
		char key[8];
		snprintf(key, sizeof(key), "k%02d", i);
		okey(&k, 1, "b", key);
		OK(store_begin(s));
		put_str(s, &extra, "x");
		rc = store_put(s, &k, big, MIB);
		if (rc == SH_OK) {
			OK(store_del(s, &extra));
			rc = store_commit(s);
		} else {
			/* doomed: its writes are gone at once, later writes
			 * and the commit fail alike */
			expect(s, &extra, NULL);
			assert_int_equal(store_put(s, &extra, "x", 1), rc);
			assert_int_equal(store_commit(s), rc);
		}
		assert_true(rc == SH_OK || rc == SH_EFULL);
		if (rc == SH_OK && ok++ == 0)
			first_ok = k;
		full += rc == SH_EFULL;
	}
	assert_int_equal(rc, SH_EFULL); /* at the limit it stays full */
	assert_true(strlen(store_errmsg(s)) > 0);
	assert_true(ok >= 1 && ok <= 4 && full >= 8);
	assert_int_equal(entries(s, STORE_OBJECTS), (uint64_t)ok);
	expect(s, &extra, NULL);
	const uint8_t *val;
	size_t len;
	OK(store_get(s, &first_ok, &val, &len));
	assert_int_equal(len, MIB);
	free(big);
}

static void test_store_lmdb_map_grows(void **state)
{
	fx_t *fx = *state;
	if (fx->backend != BK_LMDB)
		skip();
	fx_reopen_with(fx, 0, MIB, 0);
	store_t *s = &fx->s;
	uint8_t *big = calloc(1, MIB);
	assert_non_null(big);
	int rc = SH_EFULL, tries = 0;
	for (; tries < 8 && rc != SH_OK; tries++) { /* retry the batch */
		OK(store_begin(s));
		rc = SH_OK;
		for (int i = 0; i < 4 && rc == SH_OK; i++) {
			store_key_t k;
			char key[8];
			snprintf(key, sizeof(key), "k%d", i);
			okey(&k, 1, "b", key);
			rc = store_put(s, &k, big, MIB);
		}
		rc = rc == SH_OK ? store_commit(s) : (store_abort(s), rc);
		assert_true(rc == SH_OK || rc == SH_EFULL);
	}
	OK(rc);
	assert_true(tries > 1); /* 1 MiB could not hold it at first */
	assert_int_equal(entries(s, STORE_OBJECTS), 4);
	free(big);
}

/* Reopen the LMDB store with --sync none (no journal). */
static void fx_reopen_sync_none(fx_t *fx)
{
	fx_close(fx);
	fx->lmdb_cfg.sync = STORE_SYNC_NONE;
	fx_open(fx);
}

static void test_store_lmdb_sync_none_keeps_commits(void **state)
{
	fx_t *fx = *state;
	if (fx->backend != BK_LMDB)
		skip();
	fx_reopen_sync_none(fx);
	store_key_t k;
	okey(&k, 1, "b", "k");
	commit_one(&fx->s, &k, "v");
	OK(store_flush(&fx->s));
	fx_restart(fx);
	expect(&fx->s, &k, "v");
}

static void test_store_mem_fault_injection(void **state)
{
	fx_t *fx = *state;
	if (fx->backend != BK_MEM)
		skip();
	store_t *s = &fx->s;
	store_key_t a, b, c;
	okey(&a, 1, "b", "a");
	okey(&b, 1, "b", "b");
	okey(&c, 1, "b", "c");
	commit_one(s, &a, "0");
	store_mem_fail_after(s, 2, SH_EIO);
	OK(store_begin(s));
	put_str(s, &a, "1");
	put_str(s, &b, "2");
	assert_int_equal(store_put(s, &c, "3", 1), SH_EIO);
	expect(s, &a, "0"); /* dropped at once */
	assert_int_equal(store_commit(s), SH_EIO);
	expect(s, &a, "0");
	expect(s, &b, NULL);
	OK(store_begin(s));
	OK(store_del(s, &a));
	OK(store_commit(s));

	store_mem_fail_after(s, 1, SH_EIO); /* the commit itself fails */
	OK(store_begin(s));
	put_str(s, &a, "1");
	assert_int_equal(store_commit(s), SH_EIO);
	expect(s, &a, NULL);
	commit_one(s, &a, "1"); /* fires once */
	expect(s, &a, "1");
	OK(store_mem_check(s));
}

/* ---- key layouts (pure) ---- */

static void test_store_key_layout(void **state)
{
	(void)state;
	store_key_t k;
	OK(store_key_object(&k, 0x1234, "cart", 4, "a\0b", 3));
	const uint8_t want[] = {0x12, 0x34, 'c', 'a', 'r', 't', 0, 'a', 0, 'b'};
	assert_int_equal(k.space, STORE_OBJECTS);
	assert_int_equal(k.len, sizeof(want));
	assert_memory_equal(k.bytes, want, sizeof(want));
	store_key_parts_t p;
	OK(store_key_parse(STORE_OBJECTS, k.bytes, k.len, &p));
	assert_int_equal(p.partition, 0x1234);
	assert_int_equal(p.bucket_len, 4);
	assert_memory_equal(p.bucket, "cart", 4);
	assert_int_equal(p.key_len, 3); /* a key may hold 0x00 */
	assert_memory_equal(p.key, "a\0b", 3);
	assert_null(p.primary);

	store_key_t h;
	OK(store_key_hint(&h, "n7", 2, &k));
	assert_int_equal(h.space, STORE_HINTS);
	assert_int_equal(h.bytes[0], 2);
	assert_memory_equal(h.bytes + 3, want, sizeof(want));
	OK(store_key_parse(STORE_HINTS, h.bytes, h.len, &p));
	assert_int_equal(p.primary_len, 2);
	assert_memory_equal(p.primary, "n7", 2);
	assert_int_equal(p.partition, 0x1234);

	OK(store_key_meta(&k, "epoch"));
	assert_int_equal(k.space, STORE_META);
	assert_int_equal(k.len, 5);
	store_sync_t sync;
	OK(store_sync_parse("none", &sync));
	assert_int_equal(sync, STORE_SYNC_NONE);
	OK(store_sync_parse("batch", &sync));
	assert_int_equal(sync, STORE_SYNC_BATCH);
	assert_int_equal(store_sync_parse("always", &sync), SH_EINVAL);
}

static void test_store_key_layout_rejects_bad_keys(void **state)
{
	(void)state;
	static uint8_t big[STORE_RAW_KEY_BYTES_MAX + 1];
	memset(big, 'x', sizeof(big));
	store_key_t k, o;
	assert_int_equal(store_key_object(&k, 1, "a\0b", 3, "k", 1), SH_EINVAL);
	assert_int_equal(
	    store_key_object(&k, 1, big, STORE_BUCKET_BYTES_MAX + 1, "k", 1),
	    SH_ETOOBIG);
	assert_int_equal(
	    store_key_object(&k, 1, "b", 1, big, STORE_KEY_BYTES_MAX + 1),
	    SH_ETOOBIG);
	OK(store_key_object(&o, 1, big, STORE_BUCKET_BYTES_MAX, big,
	                    STORE_KEY_BYTES_MAX));
	assert_int_equal(store_key_hint(&k, "", 0, &o), SH_EINVAL);
	assert_int_equal(
	    store_key_hint(&k, big, STORE_PRIMARY_BYTES_MAX + 1, &o),
	    SH_ETOOBIG);
	OK(store_key_meta(&k, "epoch"));
	assert_int_equal(store_key_hint(&o, "n1", 2, &k), SH_EINVAL);
	assert_int_equal(store_key_hint_object(&o, &k), SH_EINVAL);
	assert_int_equal(store_key_meta(&k, ""), SH_EINVAL);
	big[STORE_META_BYTES_MAX + 1] = '\0';
	assert_int_equal(store_key_meta(&k, (const char *)big), SH_ETOOBIG);

	store_key_parts_t p;
	const uint8_t no_zero[] = {0, 1, 'b', 'k'};
	const uint8_t bad_hint[] = {9, 'n', 0, 1, 'b', 0, 'k'};
	assert_int_equal(store_key_parse(STORE_OBJECTS, no_zero, 2, &p),
	                 SH_EMALFORMED);
	assert_int_equal(store_key_parse(STORE_OBJECTS, no_zero, 4, &p),
	                 SH_EMALFORMED);
	assert_int_equal(store_key_parse(STORE_HINTS, bad_hint, 7, &p),
	                 SH_EMALFORMED);
	assert_int_equal(store_key_parse(STORE_HINTS, bad_hint + 1, 0, &p),
	                 SH_EMALFORMED);
	assert_int_equal(store_key_parse(STORE_META, no_zero, 4, &p),
	                 SH_EINVAL);
}

/* ---- sealed batches ---- */

typedef struct sealer {
	store_t *s;
	int rc;
	volatile int done;
} sealer_t;

static void *seal_commit_thread(void *arg)
{
	sealer_t *w = arg;
	w->rc = store_commit_sealed(w->s);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int count_entry(void *arg, const store_entry_t *e)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

/* Objects of partition 7 a scan sees now. */
static size_t scan_count(store_t *s)
{
	store_cursor_t c;
	size_t n = 0;
	store_cursor_init(&c);
	for (int i = 0; i < 100 && !c.done; i++)
		OK(store_scan_partition(s, 7, &c, 16, count_entry, &n));
	return n;
}

static void test_store_sealed_commit_on_another_thread(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t a, b;
	okey(&a, 7, "bk", "a");
	okey(&b, 7, "bk", "b");
	commit_one(s, &a, "old");
	OK(store_begin(s));
	assert_int_equal(store_batch_dirty(s), 0);
	put_str(s, &a, "new");
	put_str(s, &b, "born");
	assert_int_equal(store_batch_dirty(s), 1);
	OK(store_seal(s));
	assert_int_equal(store_in_batch(s), 0);
	int rc;
	if (fx->backend == BK_MEM) {
		/* memory commits at the seal */
		assert_int_equal(store_sealed(s), 0);
		expect(s, &b, "born");
		rc = store_commit_sealed(s);
	} else {
		/* while another thread commits, reads see the state
		 * committed before the seal, or with a journal (--sync
		 * batch) the sealed batch too */
		assert_int_equal(store_sealed(s), 1);
		int sees = store_sealed_reads(s) == STORE_SEAL_READS_BATCH;
		assert_int_equal(store_sealed_reads(s),
		                 fx->lmdb_cfg.sync == STORE_SYNC_BATCH
		                     ? STORE_SEAL_READS_BATCH
		                     : STORE_SEAL_READS_BEFORE);
		sealer_t w = {.s = s};
		pthread_t th;
		assert_int_equal(
		    pthread_create(&th, NULL, seal_commit_thread, &w), 0);
		for (int i = 0;
		     i < 100000 && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE);
		     i++) {
			expect(s, &a, sees ? "new" : "old");
			expect(s, &b, sees ? "born" : NULL);
			assert_int_equal(scan_count(s), sees ? 2 : 1);
		}
		assert_int_equal(pthread_join(th, NULL), 0);
		rc = w.rc;
	}
	OK(rc);
	OK(store_sealed_done(s, rc));
	assert_int_equal(store_sealed(s), 0);
	expect(s, &a, "new");
	expect(s, &b, "born");
	assert_int_equal(scan_count(s), 2);
	fx_restart(fx);
	expect(s, &a, "new");
	expect(s, &b, "born");
	commit_one(s, &a, "next"); /* batches open again */
	expect(s, &a, "next");
}

/* LMDB without a journal (--sync none) seals too: reads then see the
 * state before the seal. */
static void test_store_lmdb_sealed_without_journal(void **state)
{
	fx_t *fx = *state;
	if (fx->backend != BK_LMDB)
		skip();
	fx_reopen_sync_none(fx);
	test_store_sealed_commit_on_another_thread(state);
}

/* A seal that is dropped (never committed, or its commit failed)
 * applies nothing, and the store goes on. */
static void test_store_sealed_batch_dropped(void **state)
{
	fx_t *fx = *state;
	store_t *s = &fx->s;
	store_key_t a;
	okey(&a, 7, "bk", "a");
	commit_one(s, &a, "old");
	OK(store_begin(s));
	put_str(s, &a, "lost");
	OK(store_seal(s));
	if (fx->backend == BK_LMDB) {
		assert_int_equal(store_sealed_done(s, SH_EIO), SH_EIO);
		expect(s, &a, "old");
	}
	/* a doomed batch is not sealed: its error, as store_commit's */
	if (fx->backend == BK_MEM) {
		store_mem_fail_after(s, 0, SH_EIO);
		OK(store_begin(s));
		assert_int_equal(store_put(s, &a, "x", 1), SH_EIO);
		assert_int_equal(store_seal(s), SH_EIO);
		assert_int_equal(store_sealed(s), 0);
	}
	commit_one(s, &a, "next");
	expect(s, &a, "next");
}

static void test_store_lmdb_one_process_per_directory(void **state)
{
	fx_t *fx = *state;
	if (fx->backend != BK_LMDB)
		return;
	store_t other;
	store_lmdb_cfg_t cfg = {.dir = fx->dir};
	assert_int_equal(store_lmdb_open(&other, &cfg), SH_EIO);
	assert_non_null(strstr(store_errmsg(&other), "in use"));
	fx_close(fx); /* the lock goes with the store */
	OK(store_lmdb_open(&other, &cfg));
	store_close(&other);
	fx_open(fx);
}

static void test_store_lmdb_open_reports_errors(void **state)
{
	(void)state;
	store_t s;
	store_lmdb_cfg_t cfg = {.dir = "/proc/shoal-cannot-exist/data"};
	assert_int_equal(store_lmdb_open(&s, &cfg), SH_EIO);
	assert_true(strlen(store_errmsg(&s)) > 0);
	cfg.dir = NULL;
	assert_int_equal(store_lmdb_open(&s, &cfg), SH_EINVAL);
}

#define BOTH(f)                                                                \
	cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown,     \
	                                         BACKEND)

#define STORE_TESTS                                                            \
	BOTH(test_store_put_get_delete),                                       \
	    BOTH(test_store_batch_commit_makes_all_visible),                   \
	    BOTH(test_store_abort_makes_none_visible),                         \
	    BOTH(test_store_restart_loses_open_batch),                         \
	    BOTH(test_store_partition_scan_in_key_order_with_cursor),          \
	    BOTH(test_store_scan_resumes_after_given_key),                     \
	    BOTH(test_store_scan_callback_stops_and_fails),                    \
	    BOTH(test_store_object_and_hint_in_one_batch),                     \
	    BOTH(test_store_hints_scan_per_primary),                           \
	    BOTH(test_store_epoch_created_once_and_kept),                      \
	    BOTH(test_store_epoch_put_rewrites_after_abort),                   \
	    BOTH(test_store_tap_old_value_follows_reads),                      \
	    BOTH(test_store_meta_put_get), BOTH(test_store_big_values),        \
	    BOTH(test_store_long_keys_round_trip),                             \
	    BOTH(test_store_stats_count),                                      \
	    BOTH(test_store_drop_partition_is_bounded),                        \
	    BOTH(test_store_many_keys_stay_ordered),                           \
	    BOTH(test_store_full_dooms_batch_and_keeps_committed),             \
	    BOTH(test_store_lmdb_map_grows),                                   \
	    BOTH(test_store_lmdb_sync_none_keeps_commits),                     \
	    BOTH(test_store_mem_fault_injection),                              \
	    BOTH(test_store_sealed_commit_on_another_thread),                  \
	    BOTH(test_store_sealed_batch_dropped),                             \
	    BOTH(test_store_lmdb_sealed_without_journal),                      \
	    BOTH(test_store_lmdb_one_process_per_directory)

int main(void)
{
#define BACKEND &backend_mem
	const struct CMUnitTest mem_tests[] = {STORE_TESTS};
#undef BACKEND
#define BACKEND &backend_lmdb
	const struct CMUnitTest lmdb_tests[] = {STORE_TESTS};
#undef BACKEND
	const struct CMUnitTest key_tests[] = {
	    cmocka_unit_test(test_store_key_layout),
	    cmocka_unit_test(test_store_key_layout_rejects_bad_keys),
	    cmocka_unit_test(test_store_lmdb_open_reports_errors),
	};
	int failed =
	    cmocka_run_group_tests_name("store_keys", key_tests, NULL, NULL);
	failed +=
	    cmocka_run_group_tests_name("store_memory", mem_tests, NULL, NULL);
	failed +=
	    cmocka_run_group_tests_name("store_lmdb", lmdb_tests, NULL, NULL);
	return failed;
}
