/* test_common.c - unit tests of common/: errors, buffers, msgpack helpers,
 * PRNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "common/sh_rand.h"

static void test_common_strerror_names_every_code(void **state)
{
	(void)state;
	assert_string_equal(sh_strerror(SH_OK), "success");
	assert_string_equal(sh_strerror(SH_ETRUNC), "input truncated");
	assert_string_equal(sh_errname(SH_EMALFORMED), "SH_EMALFORMED");
	assert_string_equal(sh_strerror(-9999), "unknown error");
	for (int e = SH_ERANGE; e < 0; e++)
		assert_string_not_equal(sh_strerror(e), "unknown error");
}

static void test_common_buf_grows_and_keeps_bytes(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(sh_buf_append_u8(&b, (uint8_t)i), SH_OK);
	assert_int_equal(b.len, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(b.data[i], (uint8_t)i);
	sh_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 1000);
	sh_buf_free(&b);
	assert_null(b.data);
}

static void test_common_array_reserve_doubles_and_keeps(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(sh_array_reserve((void **)&a, &cap, 3, sizeof *a),
	                 SH_OK);
	assert_int_equal(cap, 4);
	for (uint32_t i = 0; i < 4; i++)
		a[i] = i * 7;
	assert_int_equal(sh_array_reserve((void **)&a, &cap, 9, sizeof *a),
	                 SH_OK);
	assert_int_equal(cap, 16);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(a[i], i * 7);
	/* A size that cannot be allocated leaves the array alone. */
	assert_int_equal(sh_array_reserve((void **)&a, &cap, SIZE_MAX / 2, 8),
	                 SH_ENOMEM);
	assert_int_equal(cap, 16);
	free(a);
}

static void test_common_mp_round_trips_every_kind(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &b);
	sh_mp_put_array(&w, 7);
	sh_mp_put_u64(&w, UINT64_MAX);
	sh_mp_put_i64(&w, INT64_MIN);
	sh_mp_put_i64(&w, -5);
	sh_mp_put_bool(&w, 1);
	sh_mp_put_nil(&w);
	sh_mp_put_bin(&w, "abc", 3);
	sh_mp_put_map(&w, 1);
	sh_mp_put_str(&w, "k", 1);
	assert_int_equal(sh_mp_put_u64(&w, 300), SH_OK);

	sh_mp_reader_t r;
	sh_mp_reader_init(&r, b.data, b.len);
	uint32_t n;
	uint64_t u;
	int64_t s;
	int flag;
	const uint8_t *p;
	size_t len;
	assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
	assert_int_equal(n, 7);
	assert_int_equal(sh_mp_get_u64(&r, &u), SH_OK);
	assert_true(u == UINT64_MAX);
	assert_int_equal(sh_mp_get_i64(&r, &s), SH_OK);
	assert_true(s == INT64_MIN);
	assert_int_equal(sh_mp_get_i64(&r, &s), SH_OK);
	assert_int_equal(s, -5);
	assert_int_equal(sh_mp_get_bool(&r, &flag), SH_OK);
	assert_int_equal(flag, 1);
	assert_true(sh_mp_peek_nil(&r));
	assert_int_equal(sh_mp_get_nil(&r), SH_OK);
	assert_int_equal(sh_mp_get_bin(&r, &p, &len), SH_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(sh_mp_get_map(&r, &n), SH_OK);
	assert_int_equal(n, 1);
	assert_int_equal(sh_mp_get_str(&r, &p, &len), SH_OK);
	assert_memory_equal(p, "k", 1);
	assert_int_equal(sh_mp_get_u64(&r, &u), SH_OK);
	assert_int_equal(u, 300);
	assert_int_equal(sh_mp_reader_left(&r), 0);

	/* The whole thing also skips as one item. */
	sh_mp_reader_init(&r, b.data, b.len);
	assert_int_equal(sh_mp_skip(&r, 4), SH_OK);
	assert_int_equal(sh_mp_reader_left(&r), 0);
	sh_buf_free(&b);
}

/* Boundaries of every msgpack form, and one past each. */
static const uint64_t mp_edges[] = {
    0,   1,     31,    32,         127,        128,       255,
    256, 65535, 65536, UINT32_MAX, 1ULL << 32, INT64_MAX, UINT64_MAX,
    15,  16,    1000,  300,        70000,      1ULL << 40};

/* The helpers' bytes equal msgpack-c's packer's for the same items, so
 * stored objects and frames are the same whichever writes them. */
static void test_common_mp_put_matches_msgpack_c(void **state)
{
	(void)state;
	sh_buf_t a, b;
	sh_buf_init(&a);
	sh_buf_init(&b);
	sh_mp_writer_t wa, wb;
	sh_mp_writer_init(&wa, &a);
	sh_mp_writer_init(&wb, &b);
	size_t big = 70000;
	uint8_t *bytes = malloc(big);
	assert_non_null(bytes);
	for (size_t i = 0; i < big; i++)
		bytes[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof mp_edges / sizeof mp_edges[0]; i++) {
		uint64_t v = mp_edges[i];
		int64_t sv[4] = {(int64_t)v, -(int64_t)(v & INT64_MAX),
		                 -(int64_t)(v & INT64_MAX) - 1, INT64_MIN};
		sh_mp_put_u64(&wa, v);
		msgpack_pack_uint64(&wb.pk, v);
		for (int k = 0; k < 4; k++) {
			sh_mp_put_i64(&wa, sv[k]);
			msgpack_pack_int64(&wb.pk, sv[k]);
		}
		uint32_t n32 = (uint32_t)v;
		sh_mp_put_array(&wa, n32);
		msgpack_pack_array(&wb.pk, n32);
		sh_mp_put_map(&wa, n32);
		msgpack_pack_map(&wb.pk, n32);
		size_t len = v < big ? (size_t)v : big;
		sh_mp_put_bin(&wa, bytes, len);
		msgpack_pack_bin(&wb.pk, len);
		msgpack_pack_bin_body(&wb.pk, bytes, len);
		sh_mp_put_str(&wa, bytes, len);
		msgpack_pack_str(&wb.pk, len);
		msgpack_pack_str_body(&wb.pk, bytes, len);
	}
	for (int i = -200; i <= 200; i++) {
		sh_mp_put_i64(&wa, i * 200);
		msgpack_pack_int64(&wb.pk, (int64_t)i * 200);
		sh_mp_put_i64(&wa, i);
		msgpack_pack_int64(&wb.pk, i);
	}
	sh_mp_put_bool(&wa, 1);
	msgpack_pack_true(&wb.pk);
	sh_mp_put_bool(&wa, 0);
	msgpack_pack_false(&wb.pk);
	sh_mp_put_nil(&wa);
	msgpack_pack_nil(&wb.pk);
	sh_mp_put_bin(&wa, NULL, 0);
	msgpack_pack_bin(&wb.pk, 0);
	assert_int_equal(wa.err, SH_OK);
	assert_int_equal(wb.err, SH_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* and the helpers mix with msgpack-c on one writer, in order */
	sh_buf_reset(&a);
	sh_mp_put_array(&wa, 2);
	msgpack_pack_uint64(&wa.pk, 300);
	sh_mp_put_str(&wa, "ab", 2);
	static const uint8_t mixed[] = {0x92, 0xcd, 0x01, 0x2c, 0xa2, 'a', 'b'};
	assert_int_equal(a.len, sizeof mixed);
	assert_memory_equal(a.data, mixed, sizeof mixed);
	free(bytes);
	sh_buf_free(&a);
	sh_buf_free(&b);
}

/* The readers' fast paths (fixint, uint64, fixarray, bin8) and their
 * general paths agree: every form reads back, and every truncation of
 * one fails with SH_ETRUNC and leaves the reader where it was. */
static void test_common_mp_get_fast_and_general_forms(void **state)
{
	(void)state;
	static uint8_t bytes[300];
	sh_buf_t b;
	sh_buf_init(&b);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &b);
	size_t n_edges = sizeof mp_edges / sizeof mp_edges[0];
	static const size_t lens[] = {0, 1, 15, 16, 200, 255, 256, 300};
	for (size_t i = 0; i < n_edges; i++) {
		b.len = 0;
		sh_mp_put_u64(&w, mp_edges[i]);
		sh_mp_reader_t r;
		uint64_t u = 0;
		sh_mp_reader_init(&r, b.data, b.len);
		assert_int_equal(sh_mp_get_u64(&r, &u), SH_OK);
		assert_true(u == mp_edges[i]);
		assert_int_equal(sh_mp_reader_left(&r), 0);
		for (size_t cut = 0; cut < b.len; cut++) {
			sh_mp_reader_init(&r, b.data, cut);
			assert_int_equal(sh_mp_get_u64(&r, &u), SH_ETRUNC);
			assert_ptr_equal(r.p, b.data);
		}
	}
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		const uint8_t *p;
		size_t len;
		uint32_t n;
		b.len = 0;
		sh_mp_put_bin(&w, bytes, lens[i]);
		sh_mp_reader_t r;
		sh_mp_reader_init(&r, b.data, b.len);
		assert_int_equal(sh_mp_get_bin(&r, &p, &len), SH_OK);
		assert_int_equal(len, lens[i]);
		assert_ptr_equal(p, b.data + b.len - len);
		for (size_t cut = 0; cut < b.len; cut++) {
			sh_mp_reader_init(&r, b.data, cut);
			assert_int_equal(sh_mp_get_bin(&r, &p, &len),
			                 SH_ETRUNC);
			assert_ptr_equal(r.p, b.data);
		}
		/* an array of lens[i] nils: its count must fit the bytes */
		b.len = 0;
		sh_mp_put_array(&w, (uint32_t)lens[i]);
		for (size_t k = 0; k < lens[i]; k++)
			sh_mp_put_nil(&w);
		sh_mp_reader_init(&r, b.data, b.len);
		assert_int_equal(sh_mp_get_array(&r, &n), SH_OK);
		assert_int_equal(n, lens[i]);
		assert_int_equal(sh_mp_reader_left(&r), lens[i]);
		for (size_t cut = 0; cut < b.len; cut++) {
			sh_mp_reader_init(&r, b.data, cut);
			assert_int_equal(sh_mp_get_array(&r, &n), SH_ETRUNC);
			assert_ptr_equal(r.p, b.data);
		}
		/* a bin is no array, an array no bin */
		sh_mp_reader_init(&r, b.data, b.len);
		assert_int_equal(sh_mp_get_bin(&r, &p, &len), SH_EMALFORMED);
	}
	sh_buf_free(&b);
}

static void test_common_mp_rejects_lying_counts(void **state)
{
	(void)state;
	/* array32 claiming 4 billion items in a 5-byte input */
	const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	/* bin32 claiming 16 MiB */
	const uint8_t huge_bin[] = {0xc6, 0x01, 0x00, 0x00, 0x00, 'x'};
	sh_mp_reader_t r;
	uint32_t n;
	const uint8_t *p;
	size_t len;
	sh_mp_reader_init(&r, huge_array, sizeof huge_array);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_ETRUNC);
	assert_int_equal(sh_mp_reader_left(&r), sizeof huge_array);
	sh_mp_reader_init(&r, huge_bin, sizeof huge_bin);
	assert_int_equal(sh_mp_get_bin(&r, &p, &len), SH_ETRUNC);
	sh_mp_reader_init(&r, huge_array, sizeof huge_array);
	assert_int_equal(sh_mp_skip(&r, 8), SH_ETRUNC);
}

static void test_common_mp_rejects_wrong_types_and_depth(void **state)
{
	(void)state;
	const uint8_t neg[] = {0xff}; /* -1 */
	const uint8_t unused[] = {0xc1};
	const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x01};
	sh_mp_reader_t r;
	uint64_t u;
	uint32_t n;
	sh_mp_reader_init(&r, neg, sizeof neg);
	assert_int_equal(sh_mp_get_u64(&r, &u), SH_ERANGE);
	assert_int_equal(sh_mp_get_array(&r, &n), SH_EMALFORMED);
	sh_mp_reader_init(&r, unused, sizeof unused);
	assert_int_equal(sh_mp_skip(&r, 8), SH_EMALFORMED);
	sh_mp_reader_init(&r, deep, sizeof deep);
	assert_int_equal(sh_mp_skip(&r, 3), SH_EDEPTH);
	sh_mp_reader_init(&r, deep, sizeof deep);
	assert_int_equal(sh_mp_skip(&r, 4), SH_OK);
}

static void test_common_mp_truncation_never_reads_past_end(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, &b);
	sh_mp_put_array(&w, 3);
	sh_mp_put_u64(&w, 1ULL << 40);
	sh_mp_put_bin(&w, "0123456789", 10);
	sh_mp_put_str(&w, "hello", 5);
	for (size_t cut = 0; cut < b.len; cut++) {
		sh_mp_reader_t r;
		sh_mp_reader_init(&r, b.data, cut);
		assert_int_equal(sh_mp_skip(&r, 4), SH_ETRUNC);
	}
	sh_buf_free(&b);
}

static void test_common_rand_is_a_function_of_the_seed(void **state)
{
	(void)state;
	sh_rand_t a, b, c;
	sh_rand_seed(&a, 42);
	sh_rand_seed(&b, 42);
	sh_rand_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = sh_rand_u64(&a);
		assert_true(x == sh_rand_u64(&b));
		differ |= x != sh_rand_u64(&c);
	}
	assert_true(differ);
	int seen[7] = {0};
	for (int i = 0; i < 7000; i++) {
		uint64_t v = sh_rand_below(&a, 7);
		assert_true(v < 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(seen[i] > 800 && seen[i] < 1200);
	for (int i = 0; i < 1000; i++) {
		double d = sh_rand_double(&a);
		assert_true(d >= 0.0 && d < 1.0);
	}
	assert_false(sh_rand_chance(&a, 0.0));
	assert_true(sh_rand_chance(&a, 1.0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_common_strerror_names_every_code),
	    cmocka_unit_test(test_common_buf_grows_and_keeps_bytes),
	    cmocka_unit_test(test_common_array_reserve_doubles_and_keeps),
	    cmocka_unit_test(test_common_mp_round_trips_every_kind),
	    cmocka_unit_test(test_common_mp_put_matches_msgpack_c),
	    cmocka_unit_test(test_common_mp_get_fast_and_general_forms),
	    cmocka_unit_test(test_common_mp_rejects_lying_counts),
	    cmocka_unit_test(test_common_mp_rejects_wrong_types_and_depth),
	    cmocka_unit_test(test_common_mp_truncation_never_reads_past_end),
	    cmocka_unit_test(test_common_rand_is_a_function_of_the_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
