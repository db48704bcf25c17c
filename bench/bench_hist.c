/*
 * bench_hist.c - the log-linear latency histogram (see bench_hist.h for the
 * bucket layout and its error bound).
 */
#include "bench/bench_hist.h"

#include <string.h>

void bench_hist_init(bench_hist_t *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

static unsigned msb64(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

unsigned bench_hist_index(uint64_t v)
{
	if (v < 256)
		return (unsigned)v;
	unsigned shift = msb64(v) - 7; /* >= 1: keep the top 8 bits */
	uint64_t m = v >> shift;       /* 128..255 */
	return 256 + (shift - 1) * BENCH_HIST_SUB + (unsigned)(m - 128);
}

uint64_t bench_hist_mid(unsigned idx)
{
	if (idx < 256)
		return idx;
	unsigned shift = (idx - 256) / BENCH_HIST_SUB + 1;
	uint64_t m = 128 + (idx - 256) % BENCH_HIST_SUB;
	uint64_t lo = m << shift;
	return lo + ((1ull << shift) - 1) / 2;
}

void bench_hist_record(bench_hist_t *h, uint64_t v)
{
	h->counts[bench_hist_index(v)]++;
	h->count++;
	if (v < h->min_ns)
		h->min_ns = v;
	if (v > h->max_ns)
		h->max_ns = v;
}

void bench_hist_merge(bench_hist_t *dst, const bench_hist_t *src)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t bench_hist_percentile(const bench_hist_t *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max_ns;
	if (q <= 0.0)
		return h->min_ns;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_mid(i);
			if (v < h->min_ns)
				v = h->min_ns;
			if (v > h->max_ns)
				v = h->max_ns;
			return v;
		}
	}
	return h->max_ns;
}
