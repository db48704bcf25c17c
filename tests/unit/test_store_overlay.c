/*
 * test_store_overlay.c - the writes since the last checkpoint, by key
 * (node/store_overlay.c), against a plain list of the same writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/store_overlay.h"

static int get(store_overlay_t *o, store_space_t sp, const char *k,
               const char **v)
{
	const uint8_t *val = NULL;
	size_t len = 0;
	int r =
	    store_overlay_get(o, sp, (const uint8_t *)k, strlen(k), &val, &len);
	static char buf[64];
	if (r == OVERLAY_VALUE) {
		assert_true(len < sizeof(buf));
		memcpy(buf, val, len);
		buf[len] = '\0';
		*v = buf;
	}
	return r;
}

static void put(store_overlay_t *o, store_space_t sp, const char *k,
                const char *v)
{
	store_overlay_put(o, sp, (const uint8_t *)k, strlen(k),
	                  (const uint8_t *)v, strlen(v));
}

static void test_overlay_last_write_wins_per_space(void **state)
{
	(void)state;
	store_overlay_t o;
	store_overlay_init(&o);
	const char *v;
	assert_int_equal(get(&o, STORE_OBJECTS, "a", &v), OVERLAY_ABSENT);
	put(&o, STORE_OBJECTS, "a", "1");
	put(&o, STORE_HINTS, "a", "hint");
	put(&o, STORE_OBJECTS, "a", "2");
	assert_int_equal(get(&o, STORE_OBJECTS, "a", &v), OVERLAY_VALUE);
	assert_string_equal(v, "2");
	assert_int_equal(get(&o, STORE_HINTS, "a", &v), OVERLAY_VALUE);
	assert_string_equal(v, "hint");
	store_overlay_del(&o, STORE_OBJECTS, (const uint8_t *)"a", 1);
	assert_int_equal(get(&o, STORE_OBJECTS, "a", &v), OVERLAY_DELETED);
	put(&o, STORE_OBJECTS, "a", "");
	assert_int_equal(get(&o, STORE_OBJECTS, "a", &v), OVERLAY_VALUE);
	assert_string_equal(v, "");
	assert_int_equal(get(&o, STORE_OBJECTS, "ab", &v), OVERLAY_ABSENT);
	store_overlay_clear(&o);
	assert_int_equal(get(&o, STORE_OBJECTS, "a", &v), OVERLAY_ABSENT);
	assert_int_equal(get(&o, STORE_HINTS, "a", &v), OVERLAY_ABSENT);
	store_overlay_free(&o);
}

/* Many keys (the table grows several times), each written a few times,
 * some deleted: every one reads as its last write. */
static void test_overlay_grows_and_keeps_every_key(void **state)
{
	(void)state;
	enum { KEYS = 20000 };
	store_overlay_t o;
	store_overlay_init(&o);
	char k[32], v[32];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < KEYS; i++) {
			snprintf(k, sizeof(k), "key-%d", i);
			snprintf(v, sizeof(v), "%d-%d", i, round);
			if (round == 2 && i % 3 == 0)
				store_overlay_del(&o, STORE_OBJECTS,
				                  (const uint8_t *)k,
				                  strlen(k));
			else
				put(&o, STORE_OBJECTS, k, v);
		}
	}
	assert_int_equal(o.count, KEYS);
	for (int i = 0; i < KEYS; i++) {
		const char *got;
		snprintf(k, sizeof(k), "key-%d", i);
		snprintf(v, sizeof(v), "%d-%d", i, 2);
		int r = get(&o, STORE_OBJECTS, k, &got);
		if (i % 3 == 0) {
			assert_int_equal(r, OVERLAY_DELETED);
		} else {
			assert_int_equal(r, OVERLAY_VALUE);
			assert_string_equal(got, v);
		}
	}
	store_overlay_free(&o);
}

/* A write it cannot follow key by key leaves it incomplete (and it stops
 * recording) until cleared. */
static void test_overlay_incomplete_until_cleared(void **state)
{
	(void)state;
	store_overlay_t o;
	store_overlay_init(&o);
	put(&o, STORE_OBJECTS, "a", "1");
	store_overlay_lose(&o);
	assert_int_equal(o.incomplete, 1);
	put(&o, STORE_OBJECTS, "b", "2");
	const char *v;
	assert_int_equal(get(&o, STORE_OBJECTS, "b", &v), OVERLAY_ABSENT);
	store_overlay_clear(&o);
	assert_int_equal(o.incomplete, 0);
	put(&o, STORE_OBJECTS, "b", "2");
	assert_int_equal(get(&o, STORE_OBJECTS, "b", &v), OVERLAY_VALUE);
	store_overlay_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlay_last_write_wins_per_space),
	    cmocka_unit_test(test_overlay_grows_and_keeps_every_key),
	    cmocka_unit_test(test_overlay_incomplete_until_cleared),
	};
	return cmocka_run_group_tests_name("store_overlay", tests, NULL, NULL);
}
