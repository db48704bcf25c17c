/*
 * bench_hist.h - a log-linear latency histogram for shoal-bench.
 *
 * Values are nanoseconds. Below 256 ns every value has its own bucket;
 * above, each power of two is split into 128 linear buckets, so a bucket's
 * midpoint is within 0.4% of any value in it (well inside the 1% promised
 * from 1 us to 60 s). Recording is O(1) and never allocates: the counts
 * live in the struct (about 60 KB), which the caller allocates.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB     128 /* linear buckets per power of two */
#define BENCH_HIST_BUCKETS (256 + 56 * BENCH_HIST_SUB)

typedef struct bench_hist {
	uint64_t count;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t counts[BENCH_HIST_BUCKETS];
} bench_hist_t;

/* bench_hist_init - make h empty. */
void bench_hist_init(bench_hist_t *h);

/* bench_hist_record - count one value of v_ns nanoseconds. */
void bench_hist_record(bench_hist_t *h, uint64_t v_ns);

/* bench_hist_merge - add every count of src into dst. */
void bench_hist_merge(bench_hist_t *dst, const bench_hist_t *src);

/*
 * bench_hist_percentile - the value at quantile q in [0, 1] (0.99 for
 * p99): the midpoint of the bucket holding the ceil(q * count)-th smallest
 * value, clamped to [min, max]; q >= 1 gives the exact max, q <= 0 the
 * exact min. 0 when empty.
 */
uint64_t bench_hist_percentile(const bench_hist_t *h, double q);

/* bench_hist_index, bench_hist_mid - bucket of a value, a bucket's midpoint
 * (exposed for the tests). */
unsigned bench_hist_index(uint64_t v_ns);
uint64_t bench_hist_mid(unsigned idx);

#endif /* BENCH_HIST_H */
