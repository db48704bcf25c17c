/*
 * bench_run.h - one shoal-bench run: the settings main.c parses, and the
 * run itself: `threads` libuv loops (bench_run.c), each with its share of
 * the connections and of the rate, and the main thread's reporter
 * (bench_report.c) that merges their counts once a second for the
 * progress line, the CSV time series and the plot, and at the end for the
 * summary.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/bench_driver.h"
#include "bench/bench_keys.h"
#include "bench/bench_stats.h"
#include "bench/bench_workload.h"

#define BENCH_ADDRS_MAX    32
#define BENCH_CONNS_MAX    4096
#define BENCH_PIPELINE_MAX 256
#define BENCH_THREADS_MAX  64

typedef struct bench_cfg {
	const bench_driver_t *driver;
	const char *target; /* as given, for output */
	struct sockaddr_storage addrs[BENCH_ADDRS_MAX];
	unsigned addr_count;
	bench_wl_kind_t workload;
	bench_dist_t dist;
	uint64_t keys;
	uint32_t value_min, value_max;
	int preload;
	unsigned connections;
	unsigned pipeline; /* requests in flight per connection */
	unsigned threads;  /* loops, 1..min(connections, BENCH_THREADS_MAX) */
	double rate;       /* ops/s over all threads; 0: closed loop */
	double duration_s, warmup_s;
	unsigned timeout_ms;
	uint64_t seed;
	int n, r, w; /* 0: not sent */
	/* Prepended to every key name (URL-safe, at most BENCH_PREFIX_MAX
	 * bytes; "" for none), so runs against one cluster do not collide. */
	char key_prefix[BENCH_PREFIX_MAX + 1];
	const char *csv_path;  /* NULL: no CSV time series */
	const char *plot_path; /* NULL: no plot (PNG via gnuplot) */
	int quiet;             /* no progress lines (tests) */
} bench_cfg_t;

/* What a run measured, for callers that check it (the tests). */
typedef struct bench_result {
	bench_stats_t total; /* the measured window, every thread merged */
	uint64_t preload_done, preload_errors;
	unsigned seconds; /* per-second rows reported (CSV rows of "all") */
} bench_result_t;

/*
 * bench_run - run the benchmark cfg describes; prints the summary on
 * stdout, progress on stderr, writes cfg->csv_path and cfg->plot_path when
 * set. out (may be NULL; about 0.5 MB) receives the counts. Returns 0, or
 * 1 when no operation succeeded, the loop failed, or the CSV or plot could
 * not be written.
 */
int bench_run(const bench_cfg_t *cfg, bench_result_t *out);

/* bench_thread_seed - the PRNG seed of thread `index` of a run seeded with
 * `seed`: thread 0 uses the seed itself, so one thread replays the
 * single-loop runs; the others get independent, reproducible streams. */
uint64_t bench_thread_seed(uint64_t seed, unsigned index);

#endif /* BENCH_RUN_H */
