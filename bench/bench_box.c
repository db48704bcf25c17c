/* bench_box.c - the box's CPU load from /proc/stat (see bench_box.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench_box.h"

int bench_box_parse(const char *line, bench_box_t *out)
{
	uint64_t v[7] = {0};
	memset(out, 0, sizeof *out);
	if (strncmp(line, "cpu ", 4) != 0)
		return 0;
	/* older kernels print fewer columns: at least user..idle */
	int n = sscanf(line + 4,
	               "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	               " %" SCNu64 " %" SCNu64 " %" SCNu64,
	               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
	if (n < 4)
		return 0;
	out->user = v[0] + v[1];
	out->system = v[2] + v[5] + v[6];
	out->idle = v[3] + v[4];
	out->ok = 1;
	return 1;
}

void bench_box_read(bench_box_t *out)
{
	char line[512];
	memset(out, 0, sizeof *out);
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return;
	if (fgets(line, sizeof line, f) != NULL)
		bench_box_parse(line, out);
	fclose(f);
}

int bench_box_load(const bench_box_t *a, const bench_box_t *b,
                   bench_box_load_t *out)
{
	memset(out, 0, sizeof *out);
	if (!a->ok || !b->ok || b->user < a->user || b->system < a->system ||
	    b->idle < a->idle)
		return 0;
	double user = (double)(b->user - a->user);
	double sys = (double)(b->system - a->system);
	double idle = (double)(b->idle - a->idle);
	double all = user + sys + idle;
	if (all <= 0)
		return 0;
	out->user_pct = 100 * user / all;
	out->system_pct = 100 * sys / all;
	out->busy_pct = out->user_pct + out->system_pct;
	return 1;
}
