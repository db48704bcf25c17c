/*
 * bench_run_int.h - what bench_run.c (one libuv loop per thread) and
 * bench_report.c (the main thread: start, merge, report) share.
 *
 * Threads share only what is read-only during the run (the settings, the
 * request encoder's settings), the per-key context table (striped locks),
 * and a few atomics; each loop's per-second counts sit behind its own
 * mutex, which the reporter takes once a second.
 */
#ifndef BENCH_RUN_INT_H
#define BENCH_RUN_INT_H

#include <stdatomic.h>

#include <uv.h>

#include "bench/bench_run.h"
#include "common/sh_buf.h"

#define BENCH_CTX_STRIPES 64

typedef struct bench_shared {
	const bench_cfg_t *cfg;
	bench_enc_t enc; /* read-only once the run starts */
	sh_buf_t *ctx;   /* [keys]: last context per key */
	uv_mutex_t ctx_lock[BENCH_CTX_STRIPES]; /* key % stripes */
	unsigned locks;                    /* ctx_lock entries initialised */
	atomic_uint preload_left;          /* loops still preloading */
	atomic_uint_fast64_t run_start_ns; /* 0 until the run phase starts */
	atomic_uint running;               /* loops whose uv_run goes on */
} bench_shared_t;

struct bench__conn;

typedef struct bench_loop {
	bench_shared_t *sh;
	const bench_cfg_t *cfg;
	unsigned index; /* thread number, 0..threads-1 */
	uv_loop_t loop;
	uv_timer_t tick;
	uv_poll_t tpoll; /* open loop: timerfd armed at the next send */
	int tfd;         /* -1: none, the 1 ms tick releases sends */
	struct bench__conn *conns;
	unsigned conn_count, rr;
	double rate; /* this loop's share */
	bench_workload_t wl;
	sh_rand_t rng;
	int phase; /* bench__phase_t */
	uint64_t preload_next, preload_share, preload_ns;
	atomic_uint_fast64_t preload_done, preload_errors;
	uint64_t start_ns, measure_ns, end_ns, next_intended_ns, period_ns;
	uint8_t ctx_tmp[BENCH_CTX_MAX]; /* a context copied out of the table */
	bench_stats_t *total;           /* measured window; read after join */
	uv_mutex_t lock;                /* guards interval */
	bench_stats_t *interval;        /* since the reporter last took it */
	int failed;
	int has_lock, has_loop; /* initialised, for bench__loop_free */
} bench_loop_t;

/* bench__shared_init, bench__shared_free - the state every loop shares. */
int bench__shared_init(bench_shared_t *sh, const bench_cfg_t *cfg);
void bench__shared_free(bench_shared_t *sh);

/* bench__loop_init - loop `index` of sh's run, ready to start on its
 * thread; bench__loop_free after the thread has been joined. */
int bench__loop_init(bench_loop_t *L, bench_shared_t *sh, unsigned index);
void bench__loop_free(bench_loop_t *L);

/* bench__loop_main - the thread body: connect, preload, run, close. */
void bench__loop_main(void *arg);

/* bench__take - move L's per-second counts into dst (merged), under L's
 * lock; called by the reporter. */
void bench__take(bench_loop_t *L, bench_stats_t *dst);

#endif /* BENCH_RUN_INT_H */
