/*
 * test_coord.c - unit tests of node/coord.h: several coordinators, each
 * with its own memory store, wired by a small in-test message pump (no
 * libuv, no simulated network).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "node/coord.h"
#include "node/store.h"

#define OK(x) assert_int_equal((x), SH_OK)

static void test_coord_init_and_members(void **state)
{
	coord_config_t cfg;
	coord_t c;
	store_t s;
	coord_member_t m[3] = {
	    {"n1", COORD_UP}, {"n2", COORD_DOWN}, {"n3", COORD_LEFT}};

	(void)state;
	OK(store_mem_open(&s, NULL));
	coord_config_default(&cfg);
	cfg.name = "n1";
	cfg.epoch = 7;
	OK(coord_init(&c, &cfg, &s));
	OK(coord_set_members(&c, m, 3));
	assert_int_equal(ring_member_count(coord_ring(&c)), 2);
	assert_true(coord_member_is_up(&c, "n1"));
	assert_false(coord_member_is_up(&c, "n2"));
	coord_free(&c);
	store_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_coord_init_and_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
