/*
 * bench_stats.h - what shoal-bench counts over a period: a latency
 * histogram per operation kind, errors by kind and by operation, and
 * siblings per read. One run keeps several (per thread, per second, the
 * whole measured window) and merges them; pure, no IO, no clock.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>

#include "bench/bench_hist.h"
#include "bench/bench_workload.h"

typedef enum bench_err_kind {
	BENCH_ERR_TIMEOUT,
	BENCH_ERR_503, /* quorum not reached */
	BENCH_ERR_4XX,
	BENCH_ERR_5XX, /* other 5xx; RESP -ERR */
	BENCH_ERR_CONN,
	BENCH_ERR_KINDS
} bench_err_kind_t;

#define BENCH_SIBS_MAX 16 /* reads with more siblings count as 16+ */
/* op_errors' last slot: errors tied to no operation (a refused connect) */
#define BENCH_OP_NONE BENCH_OP_KINDS

typedef struct bench_stats {
	bench_hist_t hist[BENCH_OP_KINDS]; /* successful operations */
	uint64_t errors[BENCH_ERR_KINDS];
	uint64_t op_errors[BENCH_OP_KINDS + 1];
	uint64_t sibs[BENCH_SIBS_MAX + 1]; /* reads by values returned */
	/* open loop: how long after its intended time each operation left;
	 * the harness's own delay, a part of every latency above */
	bench_hist_t send_lag;
} bench_stats_t;

/* bench_stats_init - make s empty (s is about 0.5 MB: allocate it once). */
void bench_stats_init(bench_stats_t *s);

/* bench_stats_merge - add every count of src into dst. */
void bench_stats_merge(bench_stats_t *dst, const bench_stats_t *src);

/* bench_stats_error - count n errors of kind `err` for operation kind
 * `op` (BENCH_OP_NONE when no operation was lost). */
void bench_stats_error(bench_stats_t *s, bench_err_kind_t err, unsigned op,
                       uint64_t n);

/* bench_stats_sibs - count one read that returned `siblings` values. */
void bench_stats_sibs(bench_stats_t *s, unsigned siblings);

/* bench_stats_ops, bench_stats_errors - successful operations and errors
 * over every kind. */
uint64_t bench_stats_ops(const bench_stats_t *s);
uint64_t bench_stats_errors(const bench_stats_t *s);

/* bench_stats_all - every kind's histogram merged into *all (initialised
 * here). */
void bench_stats_all(const bench_stats_t *s, bench_hist_t *all);

/* bench_err_name - "timeout", "503", "4xx", "5xx", "connection". */
const char *bench_err_name(bench_err_kind_t kind);

#endif /* BENCH_STATS_H */
