/*
 * bench_run.h - one shoal-bench run: the settings main.c parses, and the
 * libuv loop (bench_run.c) that drives connections, closed or open loop,
 * and prints the progress and the summary.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/bench_driver.h"
#include "bench/bench_keys.h"
#include "bench/bench_workload.h"

#define BENCH_ADDRS_MAX    32
#define BENCH_CONNS_MAX    4096
#define BENCH_PIPELINE_MAX 256

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
	double rate;       /* ops/s; 0: closed loop */
	double duration_s, warmup_s;
	unsigned timeout_ms;
	uint64_t seed;
	int n, r, w; /* 0: not sent */
} bench_cfg_t;

/* bench_run - run the benchmark cfg describes; prints the summary on
 * stdout, progress on stderr. Returns 0, or 1 when no operation succeeded
 * or the loop failed. */
int bench_run(const bench_cfg_t *cfg);

#endif /* BENCH_RUN_H */
