/*
 * bench_box.h - how busy the whole machine was while shoal-bench measured.
 * On one box the load generator shares the CPUs with the servers it
 * drives; a tail measured on a box that had no idle CPU left tells about
 * the box as much as about the servers, so the summary says how busy it
 * was. The figures come from the first line of /proc/stat (CPU time
 * since boot, in clock ticks, summed over every CPU); parsing and the
 * arithmetic are pure, only bench_box_read touches the file.
 */
#ifndef BENCH_BOX_H
#define BENCH_BOX_H

#include <stdint.h>

typedef struct bench_box {
	uint64_t user, system, idle; /* clock ticks, every CPU */
	int ok;                      /* 0: not read (no /proc) */
} bench_box_t;

typedef struct bench_box_load {
	double busy_pct, user_pct, system_pct; /* of every CPU's time */
} bench_box_load_t;

/* Parse /proc/stat's aggregate line ("cpu  user nice system idle iowait
 * irq softirq steal ..."): user counts user and nice; system counts
 * system, irq and softirq; idle counts idle and iowait; stolen time is
 * left out. 0 when the line is not one. */
int bench_box_parse(const char *line, bench_box_t *out);

/* Read the box's counters now; out->ok is 0 where there is no /proc. */
void bench_box_read(bench_box_t *out);

/* The load between two readings, as shares of user + system + idle;
 * 0 when either is missing or no time passed. */
int bench_box_load(const bench_box_t *a, const bench_box_t *b,
                   bench_box_load_t *out);

#endif
