/* test_bench.c - unit tests of bench/'s pure parts: the latency histogram
 * against exact percentiles, the key choosers' distribution shapes, the
 * workloads' mixes, and the HTTP and RESP reply parsers and request
 * encoders against canned bytes, and the box's load from /proc/stat
 * lines. Seeds come from SHOAL_TEST_SEED (or a fixed default) and are
 * printed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_box.h"
#include "bench/bench_driver.h"
#include "bench/bench_hist.h"
#include "bench/bench_keys.h"
#include "bench/bench_workload.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"

static uint64_t seed(void)
{
	const char *s = getenv("SHOAL_TEST_SEED");
	uint64_t v = s ? strtoull(s, NULL, 10) : 20261123;
	printf("# seed %llu (SHOAL_TEST_SEED)\n", (unsigned long long)v);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void assert_within(uint64_t got, uint64_t want, double rel)
{
	double err = fabs((double)got - (double)want) / (double)want;
	if (err > rel)
		fail_msg("got %llu want %llu (error %.4f > %.4f)",
		         (unsigned long long)got, (unsigned long long)want, err,
		         rel);
}

static void test_bench_hist_exact_percentiles(void **state)
{
	(void)state;
	enum { N = 100000 };
	static uint64_t v[N];
	static bench_hist_t h;
	sh_rand_t r;
	sh_rand_seed(&r, seed());
	bench_hist_init(&h);
	for (int i = 0; i < N; i++) {
		/* log-uniform from 1 us to 60 s */
		double e = 3 + sh_rand_double(&r) * (log10(6e10) - 3);
		v[i] = (uint64_t)pow(10, e);
		bench_hist_record(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999};
	for (int i = 0; i < 5; i++) {
		uint64_t rank = (uint64_t)ceil(qs[i] * N);
		assert_within(bench_hist_percentile(&h, qs[i]), v[rank - 1],
		              0.01);
	}
	assert_int_equal(bench_hist_percentile(&h, 1.0), v[N - 1]);
	assert_int_equal(h.count, N);
}

/* Known data, exact answers: 1..10000 us once each, so the q-quantile is
 * ceil(q * 10000) us; ties: 990 values of 1 ms and 10 of 100 ms. */
static void test_bench_hist_known_data(void **state)
{
	(void)state;
	static bench_hist_t h;
	bench_hist_init(&h);
	for (uint64_t us = 1; us <= 10000; us++)
		bench_hist_record(&h, us * 1000);
	const double qs[] = {0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999};
	for (int i = 0; i < 7; i++)
		assert_within(bench_hist_percentile(&h, qs[i]),
		              (uint64_t)ceil(qs[i] * 10000 - 1e-9) * 1000,
		              0.01);
	assert_int_equal(bench_hist_percentile(&h, 0), 1000);
	assert_int_equal(bench_hist_percentile(&h, 1), 10000000);
	bench_hist_init(&h);
	for (int i = 0; i < 990; i++)
		bench_hist_record(&h, 1000000);
	for (int i = 0; i < 10; i++)
		bench_hist_record(&h, 100000000);
	assert_within(bench_hist_percentile(&h, 0.5), 1000000, 0.01);
	assert_within(bench_hist_percentile(&h, 0.99), 1000000, 0.01);
	assert_within(bench_hist_percentile(&h, 0.991), 100000000, 0.01);
	assert_int_equal(bench_hist_percentile(&h, 1), 100000000);
	/* one value: every percentile is that value, exactly */
	bench_hist_init(&h);
	bench_hist_record(&h, 123457);
	assert_int_equal(bench_hist_percentile(&h, 0.5), 123457);
	assert_int_equal(bench_hist_percentile(&h, 0.9999), 123457);
}

static void test_bench_hist_error_bound_over_range(void **state)
{
	(void)state;
	/* Every value from 1 us to 60 s maps to a bucket whose midpoint is
	 * within 1%: step through the range geometrically. */
	for (double x = 1000; x <= 6e10; x *= 1.0007) {
		uint64_t v = (uint64_t)x;
		assert_within(bench_hist_mid(bench_hist_index(v)), v, 0.01);
		assert_true(bench_hist_index(v) < BENCH_HIST_BUCKETS);
	}
	assert_true(bench_hist_index(UINT64_MAX) < BENCH_HIST_BUCKETS);
}

static void test_bench_hist_merge_adds(void **state)
{
	(void)state;
	static bench_hist_t a, b;
	bench_hist_init(&a);
	bench_hist_init(&b);
	for (uint64_t i = 1; i <= 100; i++)
		bench_hist_record(&a, i * 1000);
	for (uint64_t i = 101; i <= 200; i++)
		bench_hist_record(&b, i * 1000);
	bench_hist_merge(&a, &b);
	assert_int_equal(a.count, 200);
	assert_int_equal(a.min_ns, 1000);
	assert_int_equal(a.max_ns, 200000);
	assert_within(bench_hist_percentile(&a, 0.5), 100000, 0.01);
	bench_hist_init(&b);
	assert_int_equal(bench_hist_percentile(&b, 0.99), 0);
}

static void test_bench_keys_uniform_is_flat(void **state)
{
	(void)state;
	enum { K = 100, N = 200000 };
	unsigned c[K] = {0};
	bench_keys_t k;
	sh_rand_t r;
	sh_rand_seed(&r, seed());
	bench_keys_init(&k, BENCH_DIST_UNIFORM, K);
	for (int i = 0; i < N; i++)
		c[bench_keys_next(&k, &r)]++;
	for (int i = 0; i < K; i++)
		assert_within(c[i], N / K, 0.15);
}

static void test_bench_keys_zipfian_rank_one(void **state)
{
	(void)state;
	enum { K = 1000, N = 200000 };
	static unsigned c[K];
	bench_keys_t k;
	sh_rand_t r;
	memset(c, 0, sizeof(c));
	sh_rand_seed(&r, seed());
	bench_keys_init(&k, BENCH_DIST_ZIPF_RANK, K);
	for (int i = 0; i < N; i++)
		c[bench_keys_next(&k, &r)]++;
	double zeta = bench_zeta(K, BENCH_ZIPF_THETA);
	assert_within(c[0], (uint64_t)(N / zeta), 0.05);
	assert_within(c[1], (uint64_t)(N / zeta / pow(2, 0.99)), 0.08);
	assert_true(c[0] > c[10] && c[10] > c[500]);
	/* Scrambled: the same skew, spread over the key space. */
	unsigned top = 0;
	memset(c, 0, sizeof(c));
	bench_keys_init(&k, BENCH_DIST_ZIPFIAN, K);
	for (int i = 0; i < N; i++)
		c[bench_keys_next(&k, &r)]++;
	for (int i = 0; i < K; i++)
		top = c[i] > top ? c[i] : top;
	assert_true(top >= (unsigned)(N / zeta * 0.9));
	assert_true(c[0] < top);
}

/* Least-squares slope of log(count) against log(rank + 1), ranks lo..hi-1. */
static double loglog_slope(const unsigned *c, int lo, int hi)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int n = hi - lo;
	for (int i = lo; i < hi; i++) {
		double x = log(i + 1.0), y = log(c[i] + 0.5);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
	}
	return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static int cmp_desc(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The whole curve, not just its head: the mass of rank bands matches
 * 1/rank^0.99, the log-log slope is -0.99, and scrambling permutes keys
 * without merging any (every key is drawn, the sorted profile is kept). */
static void test_bench_keys_zipfian_shape(void **state)
{
	(void)state;
	enum { K = 1000, N = 1000000 };
	static unsigned c[K], d[K];
	bench_keys_t k;
	sh_rand_t r;
	memset(c, 0, sizeof(c));
	memset(d, 0, sizeof(d));
	sh_rand_seed(&r, seed());
	bench_keys_init(&k, BENCH_DIST_ZIPF_RANK, K);
	for (int i = 0; i < N; i++)
		c[bench_keys_next(&k, &r)]++;
	double zk = bench_zeta(K, BENCH_ZIPF_THETA);
	const int band[4] = {0, 10, 100, K};
	for (int b = 0; b < 3; b++) {
		uint64_t got = 0;
		for (int i = band[b]; i < band[b + 1]; i++)
			got += c[i];
		double want = N *
		              (bench_zeta((uint64_t)band[b + 1], 0.99) -
		               bench_zeta((uint64_t)band[b], 0.99)) /
		              zk;
		assert_within(got, (uint64_t)want, 0.05);
	}
	double slope = loglog_slope(c, 10, K);
	if (fabs(slope + BENCH_ZIPF_THETA) > 0.08)
		fail_msg("log-log slope %.3f, want -0.99", slope);
	bench_keys_init(&k, BENCH_DIST_ZIPFIAN, K);
	for (int i = 0; i < N; i++)
		d[bench_keys_next(&k, &r)]++;
	for (int i = 0; i < K; i++)
		assert_true(d[i] > 0);
	qsort(c, K, sizeof(c[0]), cmp_desc);
	qsort(d, K, sizeof(d[0]), cmp_desc);
	for (int i = 0; i < 20; i++)
		assert_within(d[i], c[i], 0.06);
	assert_within(d[0], (uint64_t)(N / zk), 0.03);
}

static void test_bench_keys_latest_follows_inserts(void **state)
{
	(void)state;
	enum { K = 1000, N = 100000 };
	bench_keys_t k;
	sh_rand_t r;
	sh_rand_seed(&r, seed());
	bench_keys_init(&k, BENCH_DIST_LATEST, K);
	unsigned recent = 0;
	for (int i = 0; i < N; i++)
		recent += bench_keys_next(&k, &r) >= K - 10;
	assert_true(recent > N / 3); /* top 1% of keys: over a third */
	/* newest first, by the zipfian over recency */
	sh_rand_t r2 = r;
	unsigned newest0 = 0, second0 = 0;
	for (int i = 0; i < N; i++) {
		uint64_t key = bench_keys_next(&k, &r2);
		newest0 += key == K - 1;
		second0 += key == K - 2;
	}
	double zk = bench_zeta(K, BENCH_ZIPF_THETA);
	assert_within(newest0, (uint64_t)(N / zk), 0.05);
	assert_within(second0, (uint64_t)(N / zk / pow(2, 0.99)), 0.08);
	assert_int_equal(bench_keys_insert(&k), K);
	unsigned newest = 0;
	for (int i = 0; i < N; i++) {
		uint64_t key = bench_keys_next(&k, &r);
		assert_true(key <= K);
		newest += key == K;
	}
	assert_true(newest > N / 10);
}

static void test_bench_workload_mixes(void **state)
{
	(void)state;
	enum { N = 20000 };
	bench_workload_t w;
	bench_op_t op;
	sh_rand_t r;
	sh_rand_seed(&r, seed());
	bench_wl_kind_t kind;
	assert_int_equal(bench_workload_parse("b", &kind), SH_OK);
	assert_int_equal(kind, BENCH_WL_B);
	assert_int_equal(bench_workload_parse("E", &kind), SH_EINVAL);
	bench_workload_init(&w, BENCH_WL_B, BENCH_DIST_ZIPFIAN, 100, 10, 20);
	unsigned reads = 0;
	for (int i = 0; i < N; i++) {
		bench_workload_next(&w, &r, &op);
		reads += op.kind == BENCH_OP_READ;
		assert_true(op.value_bytes >= 10 && op.value_bytes <= 20);
		assert_true(op.key < 100);
	}
	assert_within(reads, N * 95 / 100, 0.02);
	bench_workload_init(&w, BENCH_WL_CART, BENCH_DIST_UNIFORM, 50, 1, 1);
	unsigned kinds[BENCH_OP_KINDS] = {0};
	for (int i = 0; i < N; i++) {
		bench_workload_next(&w, &r, &op);
		kinds[op.kind]++;
		assert_string_equal(op.bucket, "carts");
	}
	assert_within(kinds[BENCH_OP_CART_ADD], N * 40 / 100, 0.1);
	assert_within(kinds[BENCH_OP_CART_READ], N * 30 / 100, 0.1);
}

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void test_bench_http_parse_replies(void **state)
{
	(void)state;
	bench_reply_t rep;
	const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	                  "X-Shoal-Context: abc=\r\n\r\nxyzHTTP/1.1";
	assert_int_equal(bench_http_parse(S(ok), &rep), sizeof(ok) - 1 - 8);
	assert_int_equal(rep.status, 200);
	assert_int_equal(rep.siblings, 1);
	assert_int_equal(rep.ctx_len, 4);
	assert_memory_equal(rep.ctx, "abc=", 4);
	/* incomplete: headers, then body */
	assert_int_equal(bench_http_parse((const uint8_t *)ok, 20, &rep), 0);
	assert_int_equal(bench_http_parse((const uint8_t *)ok, 60, &rep), 0);
	const char nc[] =
	    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(bench_http_parse(S(nc), &rep), sizeof(nc) - 1);
	assert_int_equal(rep.status, 204);
	const char mp[] =
	    "HTTP/1.1 300 Multiple Choices\r\n"
	    "Content-Type: multipart/mixed; boundary=shoalb\r\n"
	    "Content-Length: 139\r\n\r\n"
	    "--shoalb\r\nContent-Type: text/plain\r\n\r\none\r\n"
	    "--shoalb\r\nContent-Type: text/plain\r\n\r\ntwo\r\n"
	    "--shoalb\r\nContent-Type: text/plain\r\n\r\n3\r\n--shoalb--\r\n";
	assert_int_equal(sizeof(mp) - 1 - (strstr(mp, "\r\n\r\n") + 4 - mp),
	                 139);
	assert_int_equal(bench_http_parse(S(mp), &rep), sizeof(mp) - 1);
	assert_int_equal(rep.status, 300);
	assert_int_equal(rep.siblings, 3);
	const char bad[] = "SPDY/9 200\r\n\r\n";
	assert_int_equal(bench_http_parse(S(bad), &rep), SH_EMALFORMED);
	const char ch[] =
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(bench_http_parse(S(ch), &rep), SH_EMALFORMED);
}

static void test_bench_http_encode_requests(void **state)
{
	(void)state;
	uint8_t val[8];
	memset(val, 'v', sizeof(val));
	bench_enc_t e = {.query = "?n=3&r=2&w=2", .value = val, .value_max = 8};
	bench_op_t op = {.kind = BENCH_OP_RMW,
	                 .bucket = "bench",
	                 .key = 7,
	                 .value_bytes = 4};
	sh_buf_t b;
	sh_buf_init(&b);
	assert_int_equal(bench_http_driver.encode(&e, &op, 0, NULL, &b), SH_OK);
	const char get[] = "GET /kv/bench/k7?n=3&r=2&w=2 HTTP/1.1\r\n"
	                   "Host: b\r\n\r\n";
	assert_int_equal(b.len, sizeof(get) - 1);
	assert_memory_equal(b.data, get, b.len);
	sh_buf_reset(&b);
	bench_reply_t prev = {
	    .status = 200, .ctx = (const uint8_t *)"CTX", .ctx_len = 3};
	assert_int_equal(bench_http_driver.encode(&e, &op, 1, &prev, &b),
	                 SH_OK);
	const char put[] =
	    "PUT /kv/bench/k7?n=3&r=2&w=2 HTTP/1.1\r\nHost: b\r\n"
	    "X-Shoal-Context: CTX\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: 4\r\n\r\nvvvv";
	assert_int_equal(b.len, sizeof(put) - 1);
	assert_memory_equal(b.data, put, b.len);
	/* Key numbers at the ends of their range, a prefix, the cart's /dt. */
	bench_enc_t pe = {.query = "", .prefix = "p-"};
	bench_op_t cart = {.kind = BENCH_OP_CART_READ, .bucket = "c", .key = 0};
	sh_buf_reset(&b);
	assert_int_equal(bench_http_driver.encode(&pe, &cart, 0, NULL, &b),
	                 SH_OK);
	const char cget[] = "GET /dt/c/p-c0 HTTP/1.1\r\nHost: b\r\n\r\n";
	assert_int_equal(b.len, sizeof(cget) - 1);
	assert_memory_equal(b.data, cget, b.len);
	cart = (bench_op_t){.kind = BENCH_OP_CART_ADD,
	                    .bucket = "c",
	                    .key = UINT64_MAX,
	                    .item = 5,
	                    .delta = 2};
	sh_buf_reset(&b);
	assert_int_equal(bench_http_driver.encode(&pe, &cart, 0, NULL, &b),
	                 SH_OK);
	const char body[] =
	    "{\"type\":\"map\",\"update\":{\"sku-5\":{\"counter\":{"
	    "\"increment\":2}}}}";
	char cpost[512];
	snprintf(cpost, sizeof(cpost),
	         "POST /dt/c/p-c18446744073709551615 HTTP/1.1\r\nHost: b\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	         "\r\n%s",
	         sizeof(body) - 1, body);
	assert_int_equal(b.len, strlen(cpost));
	assert_memory_equal(b.data, cpost, b.len);
	sh_buf_free(&b);
}

/* The box's load: /proc/stat's aggregate line parsed into user (+nice),
 * system (+irq, softirq), idle (+iowait) and steal; the load between two
 * readings is each part's share of the busy and idle time. */
static void test_bench_box_load(void **state)
{
	(void)state;
	bench_box_t a, b;
	bench_box_load_t load;
	assert_int_equal(
	    bench_box_parse("cpu  100 10 50 800 40 5 5 7 0 0\n", &a), 1);
	assert_int_equal(a.user, 110);
	assert_int_equal(a.system, 60);
	assert_int_equal(a.idle, 840);
	/* 300 ticks later: 90 user, 120 system, 90 idle, 50 stolen */
	assert_int_equal(
	    bench_box_parse("cpu  180 20 150 860 70 10 20 57\n", &b), 1);
	assert_int_equal(bench_box_load(&a, &b, &load), 1);
	assert_true(fabs(load.user_pct - 30.0) < 1e-9);
	assert_true(fabs(load.system_pct - 40.0) < 1e-9);
	assert_true(fabs(load.busy_pct - 70.0) < 1e-9);
	/* an old kernel's four columns still parse */
	assert_int_equal(bench_box_parse("cpu 1 2 3 4\n", &b), 1);
	assert_int_equal(b.idle, 4);
	/* not the aggregate line, or too short: no reading, no load */
	assert_int_equal(bench_box_parse("cpu0 1 2 3 4 5 6 7\n", &b), 0);
	assert_int_equal(bench_box_parse("cpu  1 2\n", &b), 0);
	assert_int_equal(bench_box_parse("intr 1 2 3 4\n", &b), 0);
	assert_int_equal(bench_box_load(&a, &b, &load), 0);
	/* no time passed, or counters that went back: no load */
	assert_int_equal(bench_box_load(&a, &a, &load), 0);
	bench_box_parse("cpu  100 10 50 700 40 5 5 7\n", &b);
	assert_int_equal(bench_box_load(&a, &b, &load), 0);
	/* this machine's own counters read, where there is a /proc */
	bench_box_read(&b);
	if (b.ok)
		assert_true(b.user + b.system + b.idle > 0);
}

static void test_bench_resp_parse_and_encode(void **state)
{
	(void)state;
	bench_reply_t rep;
	assert_int_equal(bench_resp_parse(S("+OK\r\n"), &rep), 5);
	assert_int_equal(rep.status, 200);
	assert_int_equal(bench_resp_parse(S("$-1\r\n"), &rep), 5);
	assert_int_equal(rep.status, 404);
	assert_int_equal(bench_resp_parse(S("$3\r\nabc\r\n+OK"), &rep), 9);
	assert_int_equal(rep.siblings, 1);
	assert_int_equal(bench_resp_parse(S("$3\r\nab"), &rep), 0);
	assert_int_equal(bench_resp_parse(S("-ERR x\r\n"), &rep), 8);
	assert_int_equal(rep.status, 500);
	assert_int_equal(bench_resp_parse(S("+OK"), &rep), 0);
	assert_int_equal(bench_resp_parse(S("?\r\n"), &rep), SH_EMALFORMED);
	assert_int_equal(bench_resp_parse(S("$3\r\nabcXY"), &rep),
	                 SH_EMALFORMED);
	uint8_t val[4] = {'a', 'b', 'c', 'd'};
	bench_enc_t e = {.query = "", .value = val, .value_max = 4};
	bench_op_t op = {.kind = BENCH_OP_UPDATE,
	                 .bucket = "bench",
	                 .key = 1,
	                 .value_bytes = 2};
	sh_buf_t b;
	sh_buf_init(&b);
	assert_int_equal(bench_resp_driver.encode(&e, &op, 0, NULL, &b), SH_OK);
	const char want[] =
	    "*3\r\n$3\r\nSET\r\n$13\r\nbench:bench:1\r\n$2\r\nab\r\n";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, b.len);
	assert_false(bench_resp_driver.supports(BENCH_OP_CART_ADD));
	sh_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bench_hist_exact_percentiles),
	    cmocka_unit_test(test_bench_hist_known_data),
	    cmocka_unit_test(test_bench_hist_error_bound_over_range),
	    cmocka_unit_test(test_bench_hist_merge_adds),
	    cmocka_unit_test(test_bench_keys_uniform_is_flat),
	    cmocka_unit_test(test_bench_keys_zipfian_rank_one),
	    cmocka_unit_test(test_bench_keys_zipfian_shape),
	    cmocka_unit_test(test_bench_keys_latest_follows_inserts),
	    cmocka_unit_test(test_bench_workload_mixes),
	    cmocka_unit_test(test_bench_http_parse_replies),
	    cmocka_unit_test(test_bench_http_encode_requests),
	    cmocka_unit_test(test_bench_resp_parse_and_encode),
	    cmocka_unit_test(test_bench_box_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
