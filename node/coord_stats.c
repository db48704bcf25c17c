/*
 * coord_stats.c - the coordinator's counters: replies by operation and
 * status, a latency histogram per operation, the sibling counts of kv
 * reads, and the names stats printers use.
 *
 * Latency histogram (log-linear, like HdrHistogram with 3 bits of
 * precision): values 0..15 ms have a bucket each; above, every power of
 * two [2^e, 2^(e+1)) is cut into 8 equal buckets. So a bucket's upper
 * bound is at most 12.5% above any value in it. Values beyond the last
 * bucket land in it.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e = 0, i;

	if (v < 16)
		return (unsigned)v;
	while ((v >> e) > 1)
		e++; /* e = floor(log2 v) >= 4 */
	i = 16 + (e - 4) * 8 + (unsigned)((v >> (e - 3)) & 7);
	return i < COORD_LATENCY_BUCKETS ? i : COORD_LATENCY_BUCKETS - 1;
}

/* the largest value that falls in bucket i */
static uint64_t bucket_top(unsigned i)
{
	unsigned e, sub;

	if (i < 16)
		return i;
	e = (i - 16) / 8 + 4;
	sub = (i - 16) % 8;
	if (e >= 63)
		return UINT64_MAX;
	return ((uint64_t)(8 + sub + 1) << (e - 3)) - 1;
}

void coord__stats_reply(coord_t *c, const coord_result_t *r,
                        uint64_t latency_ms)
{
	coord_op_stats_t *s;

	sh_assert(r->op < COORD_OP__COUNT);
	s = &c->stats.ops[r->op];
	s->requests++;
	if (r->status == 200 || r->status == 204)
		s->status_2xx++;
	else if (r->status == 300)
		s->status_300++;
	else if (r->status == 404)
		s->status_404++;
	else if (r->status == 503)
		s->status_503++;
	else
		s->status_4xx++;
	s->latency[bucket_of(latency_ms)]++;
	s->latency_count++;
	s->latency_ms_sum += latency_ms;
	if (latency_ms > s->latency_ms_max)
		s->latency_ms_max = latency_ms;
}

void coord__stats_siblings(coord_t *c, size_t n)
{
	size_t i = n < COORD_SIBLING_BUCKETS ? n : COORD_SIBLING_BUCKETS - 1;

	c->stats.siblings[i]++;
	if (n > c->stats.siblings_max)
		c->stats.siblings_max = n;
}

uint64_t coord_latency_percentile(const coord_op_stats_t *s, double q)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (s->latency_count == 0)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* the smallest value with at least q of the replies at or below */
	rank = (uint64_t)(q * (double)s->latency_count + 0.999999);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < COORD_LATENCY_BUCKETS; i++) {
		seen += s->latency[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);
			return top < s->latency_ms_max ? top
			                               : s->latency_ms_max;
		}
	}
	return s->latency_ms_max;
}

const char *coord_op_name(coord_op_t op)
{
	static const char *const names[COORD_OP__COUNT] = {
	    "kv_get", "kv_put", "kv_delete", "dt_get", "dt_update", "replicas",
	};
	return op < COORD_OP__COUNT ? names[op] : "unknown";
}

const char *coord_reject_name(coord_reject_t r)
{
	static const char *const names[COORD_REJECT__COUNT] = {
	    "truncated", "malformed", "version", "type",  "limit",
	    "value",     "object",    "sender",  "stale",
	};
	return r < COORD_REJECT__COUNT ? names[r] : "unknown";
}
