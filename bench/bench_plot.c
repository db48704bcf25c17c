/*
 * bench_plot.c - the PNG of --plot, by gnuplot. The data file holds one
 * gnuplot data block (blank-line separated, addressed by `index`) per
 * series: first throughput and p99 per second for "all" and each
 * operation kind seen, then the percentile curve of each, as latency
 * against 1/(1-q) so the tail gets the room (HdrHistogram's layout).
 */
#include "bench/bench_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_workload.h"

#define PCT_POINTS 101 /* q = 1 - 10^(-i/20): up to 99.999% */

void bench_plot_init(bench_plot_t *p)
{
	memset(p, 0, sizeof(*p));
}

void bench_plot_free(bench_plot_t *p)
{
	free(p->rows);
	bench_plot_init(p);
}

void bench_plot_add(bench_plot_t *p, double t_s, unsigned op, double ops_per_s,
                    double p99_ms)
{
	if (p->len == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		bench_plot_row_t *r = realloc(p->rows, cap * sizeof(*r));
		if (!r) {
			p->failed = 1;
			return;
		}
		p->rows = r;
		p->cap = cap;
	}
	p->rows[p->len++] = (bench_plot_row_t){t_s, op, ops_per_s, p99_ms};
}

int bench_plot_check(const char *png_path)
{
	if (strchr(png_path, '\'') || strchr(png_path, '\n')) {
		fprintf(stderr, "shoal-bench: --plot path may not hold a quote "
		                "or a newline\n");
		return -1;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", png_path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	if (access(slash ? dir : ".", W_OK) != 0) {
		fprintf(stderr,
		        "shoal-bench: --plot %s: cannot write in %s: %m\n",
		        png_path, slash ? dir : ".");
		return -1;
	}
	int rc = system("gnuplot --version >/dev/null 2>&1");
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
		fprintf(stderr, "shoal-bench: --plot needs gnuplot on PATH "
		                "(Debian: apt-get install gnuplot-nox, or "
		                "scripts/install-deps.sh bench)\n");
		return -1;
	}
	return 0;
}

static const char *series_name(unsigned op)
{
	return op < BENCH_OP_KINDS ? bench_op_name((bench_op_kind_t)op) : "all";
}

/* Which series have data: all first, then the kinds seen. */
static unsigned series_list(const bench_plot_t *p, unsigned *ops)
{
	unsigned n = 0;
	for (unsigned s = 0; s <= BENCH_OP_KINDS; s++) {
		unsigned want = s == 0 ? BENCH_OP_KINDS : s - 1;
		for (size_t i = 0; i < p->len; i++) {
			if (p->rows[i].op == want) {
				ops[n++] = want;
				break;
			}
		}
	}
	return n;
}

static void write_curve(FILE *f, const bench_hist_t *h)
{
	for (int i = 0; i < PCT_POINTS; i++) {
		double q = 1 - pow(10, -i / 20.0);
		if (i > 0 && 1 / (1 - q) > (double)h->count)
			break;
		fprintf(f, "%.6g %.6f\n", 1 / (1 - q),
		        (double)bench_hist_percentile(h, q) / 1e6);
	}
	fprintf(f, "\n\n");
}

/* The data blocks; returns how many series (<= BENCH_OP_KINDS + 1). */
static unsigned write_data(FILE *f, const bench_plot_t *p,
                           const bench_stats_t *total, unsigned *ops)
{
	unsigned n = series_list(p, ops);
	for (unsigned s = 0; s < n; s++) {
		fprintf(f, "# %s per second: t_s ops_per_s p99_ms\n",
		        series_name(ops[s]));
		for (size_t i = 0; i < p->len; i++)
			if (p->rows[i].op == ops[s])
				fprintf(f, "%.3f %.1f %.6f\n", p->rows[i].t_s,
				        p->rows[i].ops_per_s,
				        p->rows[i].p99_ms);
		fprintf(f, "\n\n");
	}
	static bench_hist_t all;
	for (unsigned s = 0; s < n; s++) {
		fprintf(f, "# %s latency by percentile: 1/(1-q) ms\n",
		        series_name(ops[s]));
		if (ops[s] == BENCH_OP_KINDS) {
			bench_stats_all(total, &all);
			write_curve(f, &all);
		} else {
			write_curve(f, &total->hist[ops[s]]);
		}
	}
	return n;
}

static void write_script(FILE *g, const char *data, const char *title,
                         const char *png, const unsigned *ops, unsigned n)
{
	fprintf(g,
	        "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
	        "set terminal pngcairo size 1000,1200 noenhanced; "
	        "else set terminal png size 1000,1200\n"
	        "set output '%s'\nset datafile commentschars '#'\n"
	        "set key outside right\nset grid\n"
	        "set multiplot layout 3,1 title '%s'\n"
	        "set title 'throughput'\nset xlabel 'seconds'\n"
	        "set ylabel 'ops/s'\nset xrange [0:*]\nset yrange [0:*]\n"
	        "plot '%s' index 0 using 1:2 with linespoints pt 7 ps 0.4 "
	        "title 'all'\n"
	        "set title 'p99 latency per second'\nset ylabel 'ms'\nplot",
	        png, title, data);
	for (unsigned s = 0; s < n; s++)
		fprintf(g,
		        "%s '%s' index %u using 1:3 with linespoints pt 7 "
		        "ps 0.4 title '%s'",
		        s ? "," : "", data, s, series_name(ops[s]));
	/* tic labels are gnuplot formats: %%%% prints one percent sign */
	fprintf(
	    g,
	    "\nset title 'latency by percentile (whole run)'\n"
	    "set xlabel 'percentile'\nset xrange [1:*]\nset logscale x\n"
	    "set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, "
	    "'99.99%%%%' 10000, '99.999%%%%' 100000)\nplot");
	for (unsigned s = 0; s < n; s++)
		fprintf(g,
		        "%s '%s' index %u using 1:2 with lines lw 2 "
		        "title '%s'",
		        s ? "," : "", data, n + s, series_name(ops[s]));
	fprintf(g, "\nunset multiplot\n");
}

int bench_plot_write(const bench_plot_t *p, const bench_stats_t *total,
                     const char *title, const char *png_path)
{
	unsigned ops[BENCH_OP_KINDS + 1];
	char data[] = "/tmp/shoal-bench-plot-XXXXXX";
	if (p->failed || p->len == 0) {
		fprintf(stderr, "shoal-bench: nothing to plot\n");
		return -1;
	}
	int fd = mkstemp(data);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		fprintf(stderr, "shoal-bench: plot data file: %m\n");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	unsigned n = write_data(f, p, total, ops);
	int rc = fclose(f);
	FILE *g = rc == 0 ? popen("gnuplot", "w") : NULL;
	if (g) {
		write_script(g, data, title, png_path, ops, n);
		rc = pclose(g);
	}
	unlink(data);
	if (!g || rc != 0) {
		fprintf(stderr, "shoal-bench: gnuplot failed; no plot in %s\n",
		        png_path);
		return -1;
	}
	return 0;
}
