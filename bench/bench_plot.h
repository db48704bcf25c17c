/*
 * bench_plot.h - shoal-bench's --plot: throughput and p99 per second and
 * the latency-by-percentile curve, drawn into a PNG by gnuplot (Debian
 * package gnuplot-nox), which is looked for on PATH before the run starts.
 * The data goes to a temporary file; the gnuplot script is written to
 * gnuplot's standard input.
 */
#ifndef BENCH_PLOT_H
#define BENCH_PLOT_H

#include <stddef.h>

#include "bench/bench_stats.h"

typedef struct bench_plot_row {
	double t_s;       /* end of the second, from the run's start */
	unsigned op;      /* bench_op_kind_t, or BENCH_OP_KINDS for all */
	double ops_per_s; /* successful operations per second */
	double p99_ms;
} bench_plot_row_t;

typedef struct bench_plot {
	bench_plot_row_t *rows;
	size_t len, cap;
	int failed; /* a row could not be kept */
} bench_plot_t;

/* bench_plot_init, bench_plot_free - an empty series, its memory. */
void bench_plot_init(bench_plot_t *p);
void bench_plot_free(bench_plot_t *p);

/* bench_plot_add - one row of the time series (copied). */
void bench_plot_add(bench_plot_t *p, double t_s, unsigned op, double ops_per_s,
                    double p99_ms);

/* bench_plot_check - 0 when gnuplot can be run and png_path is usable;
 * otherwise prints why on stderr and returns -1. */
int bench_plot_check(const char *png_path);

/*
 * bench_plot_write - draw the series and total's percentile curves into
 * png_path, titled with title. Returns 0, or -1 (reason on stderr).
 */
int bench_plot_write(const bench_plot_t *p, const bench_stats_t *total,
                     const char *title, const char *png_path);

#endif /* BENCH_PLOT_H */
