/*
 * bench_stats.c - per-period counters of shoal-bench and their merge.
 */
#include "bench/bench_stats.h"

#include <string.h>

static const char *const err_names[BENCH_ERR_KINDS] = {"timeout", "503", "4xx",
                                                       "5xx", "connection"};

void bench_stats_init(bench_stats_t *s)
{
	for (int k = 0; k < BENCH_OP_KINDS; k++)
		bench_hist_init(&s->hist[k]);
	memset(s->errors, 0, sizeof(s->errors));
	memset(s->op_errors, 0, sizeof(s->op_errors));
	memset(s->sibs, 0, sizeof(s->sibs));
	bench_hist_init(&s->send_lag);
}

void bench_stats_merge(bench_stats_t *dst, const bench_stats_t *src)
{
	for (int k = 0; k < BENCH_OP_KINDS; k++)
		if (src->hist[k].count)
			bench_hist_merge(&dst->hist[k], &src->hist[k]);
	for (int i = 0; i < BENCH_ERR_KINDS; i++)
		dst->errors[i] += src->errors[i];
	for (int i = 0; i <= BENCH_OP_KINDS; i++)
		dst->op_errors[i] += src->op_errors[i];
	for (int i = 0; i <= BENCH_SIBS_MAX; i++)
		dst->sibs[i] += src->sibs[i];
	if (src->send_lag.count)
		bench_hist_merge(&dst->send_lag, &src->send_lag);
}

void bench_stats_error(bench_stats_t *s, bench_err_kind_t err, unsigned op,
                       uint64_t n)
{
	s->errors[err] += n;
	s->op_errors[op < BENCH_OP_KINDS ? op : BENCH_OP_NONE] += n;
}

void bench_stats_sibs(bench_stats_t *s, unsigned siblings)
{
	s->sibs[siblings < BENCH_SIBS_MAX ? siblings : BENCH_SIBS_MAX]++;
}

uint64_t bench_stats_ops(const bench_stats_t *s)
{
	uint64_t n = 0;
	for (int k = 0; k < BENCH_OP_KINDS; k++)
		n += s->hist[k].count;
	return n;
}

uint64_t bench_stats_errors(const bench_stats_t *s)
{
	uint64_t n = 0;
	for (int i = 0; i < BENCH_ERR_KINDS; i++)
		n += s->errors[i];
	return n;
}

void bench_stats_all(const bench_stats_t *s, bench_hist_t *all)
{
	bench_hist_init(all);
	for (int k = 0; k < BENCH_OP_KINDS; k++)
		if (s->hist[k].count)
			bench_hist_merge(all, &s->hist[k]);
}

const char *bench_err_name(bench_err_kind_t kind)
{
	return kind < BENCH_ERR_KINDS ? err_names[kind] : "?";
}
