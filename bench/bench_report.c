/*
 * bench_report.c - bench_run: starts the loops (bench_run.c) on their
 * threads, and on the main thread merges their counts once a second for
 * the progress line (stderr: one line rewritten in place on a terminal,
 * plain lines otherwise), the CSV time series and the plot's series; at the end
 * prints the summary table, the box's CPU load over the measured window
 * (a line "box cpus=C busy_pct=B user_pct=U system_pct=S", when
 * /proc/stat can be read) and the machine-readable line on stdout.
 *
 * CSV (--csv FILE), one row per second and per operation kind seen that
 * second, plus an "all" row every second:
 *   time_s,phase,op,ops,ops_per_s,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,errors
 * time_s is the end of the second, from the start of the run (warmup
 * included); phase is "warmup" or "run"; ops counts successful operations,
 * errors failed ones (on "all", also connections refused with no request
 * lost). The last row may cover less than a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_box.h"
#include "bench/bench_plot.h"
#include "bench/bench_run_int.h"

#define POLL_MS 10
#define SEC_NS  1000000000ull

typedef struct report {
	const bench_cfg_t *cfg;
	bench_shared_t *sh;
	bench_loop_t *loops;
	bench_stats_t *sec; /* this second, every loop merged */
	bench_hist_t *all;  /* scratch */
	FILE *csv;
	bench_plot_t plot;
	bench_box_t box_from, box_to; /* the measured window's ends */
	uint64_t last_ns, next_ns, errors;
	unsigned seconds;
	int tty, aligned, csv_failed, box_taken;
} report_t;

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

static void csv_row(report_t *R, double t, const char *phase, const char *op,
                    const bench_hist_t *h, double secs, uint64_t errors)
{
	int n = fprintf(
	    R->csv, "%.3f,%s,%s,%llu,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%llu\n", t,
	    phase, op, (unsigned long long)h->count, (double)h->count / secs,
	    (double)bench_hist_percentile(h, 0.5) / 1e6,
	    (double)bench_hist_percentile(h, 0.9) / 1e6,
	    (double)bench_hist_percentile(h, 0.99) / 1e6,
	    (double)bench_hist_percentile(h, 0.999) / 1e6,
	    (double)bench_hist_percentile(h, 1.0) / 1e6,
	    (unsigned long long)errors);
	if (n < 0)
		R->csv_failed = 1;
}

/* The second [last, now) is warmup if most of it is. */
static const char *phase_name(const report_t *R, uint64_t now)
{
	uint64_t start = atomic_load(&R->sh->run_start_ns);
	uint64_t mid = R->last_ns + (now - R->last_ns) / 2;
	return mid < start + (uint64_t)(R->cfg->warmup_s * 1e9) ? "warmup"
	                                                        : "run";
}

/* One row per kind seen and one for all, to the CSV and the plot. */
static void emit_second(report_t *R, uint64_t now, double secs)
{
	const bench_stats_t *s = R->sec;
	uint64_t start = atomic_load(&R->sh->run_start_ns);
	double t = (double)(now - start) / 1e9;
	const char *phase = phase_name(R, now);
	bench_stats_all(s, R->all);
	uint64_t errors = bench_stats_errors(s);
	R->seconds++;
	if (R->cfg->plot_path)
		bench_plot_add(
		    &R->plot, t, BENCH_OP_KINDS, (double)R->all->count / secs,
		    (double)bench_hist_percentile(R->all, 0.99) / 1e6);
	if (R->csv)
		csv_row(R, t, phase, "all", R->all, secs, errors);
	for (unsigned k = 0; k < BENCH_OP_KINDS; k++) {
		const bench_hist_t *h = &s->hist[k];
		if (h->count == 0 && s->op_errors[k] == 0)
			continue;
		const char *name = bench_op_name((bench_op_kind_t)k);
		if (R->csv)
			csv_row(R, t, phase, name, h, secs, s->op_errors[k]);
		if (R->cfg->plot_path && h->count)
			bench_plot_add(&R->plot, t, k, (double)h->count / secs,
			               (double)bench_hist_percentile(h, 0.99) /
			                   1e6);
	}
	if (R->csv && fflush(R->csv) != 0) /* a row a second, for tail -f */
		R->csv_failed = 1;
}

static void progress(report_t *R, uint64_t now, double secs)
{
	const bench_cfg_t *cfg = R->cfg;
	uint64_t start = atomic_load(&R->sh->run_start_ns);
	uint64_t end =
	    start + (uint64_t)((cfg->warmup_s + cfg->duration_s) * 1e9);
	double left = now < end ? (double)(end - now) / 1e9 : 0;
	if (cfg->quiet)
		return;
	fprintf(stderr, "%s%s ops/s=%.0f p99_ms=%.3f errors=%llu left_s=%.0f%s",
	        R->tty ? "\r" : "", phase_name(R, now),
	        (double)R->all->count / secs,
	        (double)bench_hist_percentile(R->all, 0.99) / 1e6,
	        (unsigned long long)R->errors, left, R->tty ? "\033[K" : "\n");
}

static uint64_t preload_done(const report_t *R, uint64_t *errors)
{
	uint64_t d = 0, e = 0;
	for (unsigned i = 0; i < R->cfg->threads; i++) {
		d += atomic_load(&R->loops[i].preload_done);
		e += atomic_load(&R->loops[i].preload_errors);
	}
	if (errors)
		*errors = e;
	return d;
}

/* The second [last, now) is over: take every loop's counts. The last
 * one of a run is reported only if it counted something or lasted 0.1 s,
 * so the rows add up to the whole run. */
static void take_second(report_t *R, uint64_t now, int last)
{
	double secs = (double)(now - R->last_ns) / 1e9;
	bench_stats_init(R->sec);
	for (unsigned i = 0; i < R->cfg->threads; i++)
		bench__take(&R->loops[i], R->sec);
	if (last && secs < 0.1 && bench_stats_ops(R->sec) == 0 &&
	    bench_stats_errors(R->sec) == 0)
		return;
	if (secs <= 0)
		secs = 1e-9;
	R->errors += bench_stats_errors(R->sec);
	emit_second(R, now, secs);
	progress(R, now, secs);
	R->last_ns = now;
}

/* Until every loop has returned: once a second, a row and a progress
 * line (a preload line before the run starts). */
static void report_loop(report_t *R)
{
	uint64_t next_preload = now_ns() + SEC_NS;
	while (atomic_load(&R->sh->running) > 0) {
		uv_sleep(POLL_MS);
		uint64_t now = now_ns(), start;
		start = atomic_load(&R->sh->run_start_ns);
		if (!R->aligned && start) {
			R->aligned = 1;
			R->last_ns = start;
			R->next_ns = start + SEC_NS;
			if (R->cfg->preload && !R->cfg->quiet) {
				uint64_t e, d = preload_done(R, &e);
				fprintf(stderr,
				        "%spreloaded %llu keys (%llu errors)\n",
				        R->tty ? "\r" : "",
				        (unsigned long long)d,
				        (unsigned long long)e);
			}
		}
		if (R->aligned && !R->box_taken &&
		    now >= start + (uint64_t)(R->cfg->warmup_s * 1e9)) {
			bench_box_read(&R->box_from);
			R->box_taken = 1;
		}
		if (R->aligned && now >= R->next_ns) {
			take_second(R, now, 0);
			while (R->next_ns <= now)
				R->next_ns += SEC_NS;
		} else if (!R->aligned && now >= next_preload) {
			next_preload += SEC_NS;
			if (!R->cfg->quiet)
				fprintf(
				    stderr,
				    R->tty ? "\rpreload %llu/%llu\033[K"
				           : "preload %llu/%llu\n",
				    (unsigned long long)preload_done(R, NULL),
				    (unsigned long long)R->cfg->keys);
		}
	}
	uint64_t now = now_ns();
	if (R->box_taken)
		bench_box_read(&R->box_to);
	if (R->aligned)
		take_second(R, now, 1); /* the last, partial second */
	if (R->tty && !R->cfg->quiet)
		fprintf(stderr, "\n");
}

static void print_row(const char *name, const bench_hist_t *h, double secs,
                      uint64_t errors)
{
	static const double qs[] = {0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};
	printf("%-12s %10llu %10.0f", name, (unsigned long long)h->count,
	       (double)h->count / secs);
	for (int i = 0; i < 6; i++)
		printf(" %9.3f", (double)bench_hist_percentile(h, qs[i]) / 1e6);
	printf(" %8llu\n", (unsigned long long)errors);
}

/* How busy the box was while the run measured: on one box the harness
 * shares the CPUs with the servers, and a tail taken with no CPU idle
 * says as much about the box as about them. */
static void print_box(const report_t *R)
{
	bench_box_load_t load;
	if (!bench_box_load(&R->box_from, &R->box_to, &load))
		return;
	printf("box cpus=%ld busy_pct=%.1f user_pct=%.1f system_pct=%.1f\n",
	       sysconf(_SC_NPROCESSORS_ONLN), load.busy_pct, load.user_pct,
	       load.system_pct);
}

/* Open loop: how late the harness itself sent. Latency counts from the
 * intended time, so this is in it; a large lag means the harness (or
 * the box under it) could not keep the schedule. */
static void print_send_lag(const bench_hist_t *h)
{
	if (h->count == 0)
		return;
	printf("send_lag p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
	       (double)bench_hist_percentile(h, 0.5) / 1e6,
	       (double)bench_hist_percentile(h, 0.99) / 1e6,
	       (double)bench_hist_percentile(h, 0.999) / 1e6,
	       (double)bench_hist_percentile(h, 1.0) / 1e6);
}

static uint64_t summary(const report_t *R, const bench_stats_t *t)
{
	const bench_cfg_t *cfg = R->cfg;
	static bench_hist_t all;
	double secs = cfg->duration_s > 0 ? cfg->duration_s : 1;
	printf("%-12s %10s %10s %9s %9s %9s %9s %9s %9s %8s\n", "op", "count",
	       "ops/s", "p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "p99.99_ms",
	       "max_ms", "errors");
	for (int k = 0; k < BENCH_OP_KINDS; k++)
		if (t->hist[k].count || t->op_errors[k])
			print_row(bench_op_name((bench_op_kind_t)k),
			          &t->hist[k], secs, t->op_errors[k]);
	bench_stats_all(t, &all);
	print_row("all", &all, secs, bench_stats_errors(t));
	printf("errors:");
	for (int i = 0; i < BENCH_ERR_KINDS; i++)
		printf(" %s=%llu", bench_err_name((bench_err_kind_t)i),
		       (unsigned long long)t->errors[i]);
	printf("\nsiblings per read:");
	for (int i = 0; i <= BENCH_SIBS_MAX; i++)
		if (t->sibs[i])
			printf(" %d%s=%llu", i, i == BENCH_SIBS_MAX ? "+" : "",
			       (unsigned long long)t->sibs[i]);
	printf("\n");
	print_send_lag(&t->send_lag);
	print_box(R);
	printf("bench target=%s workload=%s ops=%llu ops_per_s=%.0f "
	       "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f errors=%llu\n",
	       cfg->target, bench_workload_name(cfg->workload),
	       (unsigned long long)all.count, (double)all.count / secs,
	       (double)bench_hist_percentile(&all, 0.5) / 1e6,
	       (double)bench_hist_percentile(&all, 0.99) / 1e6,
	       (double)bench_hist_percentile(&all, 0.999) / 1e6,
	       (unsigned long long)bench_stats_errors(t));
	fflush(stdout);
	return all.count;
}

static int plot(const report_t *R, const bench_stats_t *total)
{
	char title[256];
	snprintf(title, sizeof(title), "shoal-bench %s workload %s",
	         R->cfg->target, bench_workload_name(R->cfg->workload));
	for (char *c = title; *c; c++)
		if (*c == '\'' || *c == '\n')
			*c = ' ';
	int rc = bench_plot_write(&R->plot, total, title, R->cfg->plot_path);
	if (rc == 0 && !R->cfg->quiet)
		fprintf(stderr, "plot: %s\n", R->cfg->plot_path);
	return rc;
}

/* Opens what the run writes before it starts, so a bad path fails at
 * once rather than after the run. */
static int open_outputs(report_t *R)
{
	const bench_cfg_t *cfg = R->cfg;
	if (cfg->plot_path && bench_plot_check(cfg->plot_path) < 0)
		return -1;
	if (!cfg->csv_path)
		return 0;
	R->csv = fopen(cfg->csv_path, "w");
	if (!R->csv) {
		fprintf(stderr, "shoal-bench: --csv %s: %m\n", cfg->csv_path);
		return -1;
	}
	fprintf(R->csv, "time_s,phase,op,ops,ops_per_s,p50_ms,p90_ms,p99_ms,"
	                "p999_ms,max_ms,errors\n");
	return 0;
}

/* The loops' threads: started, run, joined. Returns -1 if one could not
 * start (those started are joined). */
static int run_threads(report_t *R)
{
	unsigned n = R->cfg->threads, started = 0;
	uv_thread_t tid[BENCH_THREADS_MAX];
	for (; started < n; started++)
		if (uv_thread_create(&tid[started], bench__loop_main,
		                     &R->loops[started]) < 0)
			break;
	/* a loop that never started never returns: stop waiting for it */
	atomic_fetch_sub(&R->sh->running, n - started);
	if (started < n)
		fprintf(stderr, "shoal-bench: could not start thread %u\n",
		        started);
	report_loop(R);
	for (unsigned i = 0; i < started; i++)
		uv_thread_join(&tid[i]);
	return started == n ? 0 : -1;
}

static int run(report_t *R, bench_result_t *res)
{
	const bench_cfg_t *cfg = R->cfg;
	int failed = run_threads(R) < 0;
	bench_stats_init(&res->total);
	for (unsigned i = 0; i < cfg->threads; i++) {
		bench_stats_merge(&res->total, R->loops[i].total);
		failed |= R->loops[i].failed;
	}
	res->preload_done = preload_done(R, &res->preload_errors);
	res->seconds = R->seconds;
	uint64_t ops = summary(R, &res->total);
	if (R->csv && (fclose(R->csv) != 0 || R->csv_failed)) {
		fprintf(stderr, "shoal-bench: --csv %s: write failed\n",
		        cfg->csv_path);
		failed = 1;
	}
	R->csv = NULL;
	if (cfg->plot_path && plot(R, &res->total) < 0)
		failed = 1;
	return failed || ops == 0 ? 1 : 0;
}

int bench_run(const bench_cfg_t *cfg, bench_result_t *out)
{
	static bench_shared_t sh;
	report_t R = {.cfg = cfg, .sh = &sh, .tty = isatty(2)};
	bench_result_t *res = out ? out : malloc(sizeof(*res));
	unsigned inited = 0;
	int rc = 1;
	bench_plot_init(&R.plot);
	R.loops = calloc(cfg->threads, sizeof(bench_loop_t));
	R.sec = malloc(sizeof(bench_stats_t));
	R.all = malloc(sizeof(bench_hist_t));
	if (!res || !R.loops || !R.sec || !R.all ||
	    bench__shared_init(&sh, cfg) < 0) {
		fprintf(stderr, "shoal-bench: out of memory\n");
		goto done;
	}
	for (; inited < cfg->threads; inited++) {
		if (bench__loop_init(&R.loops[inited], &sh, inited) < 0) {
			fprintf(stderr, "shoal-bench: out of memory\n");
			bench__loop_free(&R.loops[inited]);
			goto done;
		}
	}
	if (open_outputs(&R) == 0)
		rc = run(&R, res);
done:
	for (unsigned i = 0; i < inited; i++)
		bench__loop_free(&R.loops[i]);
	if (R.csv)
		fclose(R.csv);
	bench__shared_free(&sh);
	bench_plot_free(&R.plot);
	free(R.loops);
	free(R.sec);
	free(R.all);
	if (res != out)
		free(res);
	return rc;
}
