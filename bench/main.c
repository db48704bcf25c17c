/*
 * main.c - shoal-bench's command line: parses the flags into a bench_cfg_t
 * and runs it (bench_run.c). Usage: shoal-bench --help.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench/bench_run.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: shoal-bench --target URL [options]\n"
	    "  --target http://H:P[,H:P...] | redis://H:P\n"
	    "  --workload A|B|C|D|F|cart|session   (default A)\n"
	    "  --dist uniform|zipfian|latest       (A B C F; default zipfian)\n"
	    "  --keys N            key space (default 100000)\n"
	    "  --value-size N|MIN-MAX  bytes (default 100)\n"
	    "  --preload           write every key before the run\n"
	    "  --connections N     (default 16)\n"
	    "  --pipeline N        requests in flight per connection (1)\n"
	    "  --rate R            ops/s, open loop; 0: closed loop (0)\n"
	    "  --duration S --warmup S  seconds (10, 1)\n"
	    "  --timeout-ms MS     per request (5000)\n"
	    "  --seed N            (1)\n"
	    "  --n N --r R --w W   quorum sent on every request\n"
	    "  --threads T         event loops, each with its share of the\n"
	    "                      connections and of the rate (1)\n"
	    "  --key-prefix P      before every key name ([A-Za-z0-9._-], up\n"
	    "                      to 32; default s<seed>-<time>-, new per "
	    "run)\n"
	    "  --csv FILE          per-second ops/s and percentiles per op\n"
	    "  --plot FILE.png     throughput, p99 and percentile curve\n"
	    "                      (needs gnuplot)\n");
}

/* host:port into *out (numeric or resolved, IPv4 or IPv6). */
static int parse_addr(const char *s, size_t len, struct sockaddr_storage *out)
{
	char buf[256];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	char *colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	char *host = buf;
	if (host[0] == '[') {
		host++;
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		return -1;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int parse_target(bench_cfg_t *c, const char *t)
{
	const char *rest;
	if (strncmp(t, "http://", 7) == 0) {
		c->driver = &bench_http_driver;
		rest = t + 7;
	} else if (strncmp(t, "redis://", 8) == 0) {
		c->driver = &bench_resp_driver;
		rest = t + 8;
	} else {
		return -1;
	}
	c->target = t;
	c->addr_count = 0;
	while (*rest && c->addr_count < BENCH_ADDRS_MAX) {
		size_t n = strcspn(rest, ",/");
		if (parse_addr(rest, n, &c->addrs[c->addr_count++]) < 0)
			return -1;
		rest += n;
		if (*rest != ',')
			break;
		rest++;
	}
	return c->addr_count ? 0 : -1;
}

static int parse_size(bench_cfg_t *c, const char *v)
{
	char *end;
	c->value_min = c->value_max = (uint32_t)strtoul(v, &end, 10);
	if (*end == '-')
		c->value_max = (uint32_t)strtoul(end + 1, &end, 10);
	return *end || c->value_max < c->value_min ||
	               c->value_max > 64 * 1024 * 1024
	           ? -1
	           : 0;
}

/* A key prefix goes into URLs and Redis keys: plain characters only. */
static int parse_prefix(bench_cfg_t *c, const char *v)
{
	size_t n = strlen(v);
	if (n > BENCH_PREFIX_MAX || strspn(v, "abcdefghijklmnopqrstuvwxyz"
	                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                      "0123456789._-") != n)
		return -1;
	memcpy(c->key_prefix, v, n + 1);
	return 0;
}

static int parse_dist(bench_cfg_t *c, const char *v)
{
	if (strcasecmp(v, "uniform") == 0)
		c->dist = BENCH_DIST_UNIFORM;
	else if (strcasecmp(v, "zipfian") == 0)
		c->dist = BENCH_DIST_ZIPFIAN;
	else if (strcasecmp(v, "latest") == 0)
		c->dist = BENCH_DIST_LATEST;
	else
		return -1;
	return 0;
}

/* One flag with its value; -1 on a bad flag or value. */
static int parse_flag(bench_cfg_t *c, const char *f, const char *v)
{
	if (!v)
		return -1;
	if (strcmp(f, "--target") == 0)
		return parse_target(c, v);
	if (strcmp(f, "--workload") == 0)
		return bench_workload_parse(v, &c->workload) < 0 ? -1 : 0;
	if (strcmp(f, "--dist") == 0)
		return parse_dist(c, v);
	if (strcmp(f, "--value-size") == 0)
		return parse_size(c, v);
	if (strcmp(f, "--key-prefix") == 0)
		return parse_prefix(c, v);
	if (strcmp(f, "--csv") == 0 || strcmp(f, "--plot") == 0) {
		*(strcmp(f, "--csv") == 0 ? &c->csv_path : &c->plot_path) = v;
		return *v ? 0 : -1;
	}
	char *end;
	double d = strtod(v, &end);
	if (*end || d < 0)
		return -1;
	if (strcmp(f, "--keys") == 0 && d >= 1)
		c->keys = (uint64_t)d;
	else if (strcmp(f, "--connections") == 0 && d >= 1 &&
	         d <= BENCH_CONNS_MAX)
		c->connections = (unsigned)d;
	else if (strcmp(f, "--pipeline") == 0 && d >= 1 &&
	         d <= BENCH_PIPELINE_MAX)
		c->pipeline = (unsigned)d;
	else if (strcmp(f, "--threads") == 0 && d >= 1 &&
	         d <= BENCH_THREADS_MAX)
		c->threads = (unsigned)d;
	else if (strcmp(f, "--rate") == 0)
		c->rate = d;
	else if (strcmp(f, "--duration") == 0 && d > 0 && d <= 86400)
		c->duration_s = d;
	else if (strcmp(f, "--warmup") == 0 && d <= 3600)
		c->warmup_s = d;
	else if (strcmp(f, "--timeout-ms") == 0 && d >= 1)
		c->timeout_ms = (unsigned)d;
	else if (strcmp(f, "--seed") == 0)
		c->seed = strtoull(v, NULL, 10);
	else if (strcmp(f, "--n") == 0 && d <= 64)
		c->n = (int)d;
	else if (strcmp(f, "--r") == 0 && d <= 64)
		c->r = (int)d;
	else if (strcmp(f, "--w") == 0 && d <= 64)
		c->w = (int)d;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static bench_cfg_t c = {
	    .workload = BENCH_WL_A,
	    .dist = BENCH_DIST_ZIPFIAN,
	    .keys = 100000,
	    .value_min = 100,
	    .value_max = 100,
	    .connections = 16,
	    .pipeline = 1,
	    .duration_s = 10,
	    .warmup_s = 1,
	    .timeout_ms = 5000,
	    .seed = 1,
	    .threads = 1,
	};
	int prefix_given = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--preload") == 0) {
			c.preload = 1;
			continue;
		}
		prefix_given |= strcmp(argv[i], "--key-prefix") == 0;
		if (parse_flag(&c, argv[i], i + 1 < argc ? argv[i + 1] : NULL) <
		    0) {
			fprintf(stderr,
			        "shoal-bench: bad flag or value: %s %s\n",
			        argv[i], i + 1 < argc ? argv[i + 1] : "");
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (!c.driver) {
		usage(stderr);
		return 2;
	}
	if (c.driver == &bench_resp_driver && c.workload == BENCH_WL_CART) {
		fprintf(stderr, "shoal-bench: workload cart needs http://\n");
		return 2;
	}
	if (c.threads > c.connections) {
		fprintf(stderr,
		        "shoal-bench: --threads %u needs at least as "
		        "many --connections\n",
		        c.threads);
		return 2;
	}
	/* A new prefix per run, so runs against one cluster do not read or
	 * overwrite each other's keys; --key-prefix replays one. */
	if (!prefix_given)
		snprintf(c.key_prefix, sizeof(c.key_prefix), "s%llu-%llx-",
		         (unsigned long long)(c.seed % 1000000000000ull),
		         (unsigned long long)time(NULL));
	fprintf(stderr,
	        "shoal-bench target=%s workload=%s keys=%llu conns=%u "
	        "pipeline=%u threads=%u rate=%.0f duration=%.0fs seed=%llu "
	        "key-prefix=%s\n",
	        c.target, bench_workload_name(c.workload),
	        (unsigned long long)c.keys, c.connections, c.pipeline,
	        c.threads, c.rate, c.duration_s, (unsigned long long)c.seed,
	        c.key_prefix);
	return bench_run(&c, NULL);
}
