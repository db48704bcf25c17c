/*
 * sim_swim.c - `shoal-sim swim`: SWIM with Lifeguard (gossip/swim.h) on
 * the simulated network (sim_net.h), in virtual time.
 *
 *   shoal-sim swim --nodes N --seed S [--loss L] [--kill K]
 *                  [--partition-s T] [--periods P] [--no-lifeguard]
 *
 * N nodes ("n<i>" at address "a<i>") boot at random times within the
 * first protocol period and join through node 0. Once every live node
 * lists every live node (join converged), K random nodes other than the
 * seed are crashed, one per period. After their deaths are known (or 100
 * periods), if T > 0 the cluster is split in two random halves for T
 * seconds, then healed. The run lasts P periods, longer if a measurement
 * is still open (capped). A protocol period is the probe interval, 1 s:
 * the simulation runs memberlist's LAN timings unscaled, in virtual time.
 *
 * The last line printed is
 *   swim nodes=N seed=S join_converged_periods=A detect_first_periods=B
 *   detect_all_periods=C false_positives=D heal_periods=E
 *   msgs_per_node_per_period=F bytes_per_node_per_period=G
 * where A is from the start to join convergence; B and C the medians over
 * the kills of the time from a kill until the first, resp. every, live node
 * has declared it dead; D the number of distinct never-crashed nodes that
 * some node declared dead outside a partition and its healing; E from the
 * heal until every live node lists every live node again; F and G the
 * datagrams and their bytes each live node sent per period, counted from
 * join convergence to the end (push-pull streams are reported apart).
 * A measurement that does not apply or never completed prints "na".
 * Exit status 1 when join or heal never converged or a death went unseen.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "gossip/swim.h"
#include "tests/sim/sim_args.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_heap.h"
#include "tests/sim/sim_net.h"

#define PERIOD_MS     1000
#define CHECK_MS      100 /* convergence checks and scheduled faults */
#define NODES_MAX     5000
#define PERIODS_MAX   1000000
#define JOIN_CAP_MS   (300 * PERIOD_MS) /* give up on join convergence */
#define DETECT_CAP_MS (100 * PERIOD_MS) /* wait for deaths at most */
#define HEAL_CAP_MS   (300 * PERIOD_MS) /* give up on healing */
#define FP_GRACE_MS   (150 * PERIOD_MS) /* partition aftermath */
#define TIMERS_MAX    (1u << 26)
#define SETTLE_MS     (20 * PERIOD_MS) /* join traffic excluded */

typedef struct node {
	swim_t swim;
	uint64_t sched; /* the wakeup in the timer heap; UINT64_MAX: none */
	int32_t victim; /* index in kills, -1 if never killed */
	int crashed;
	uint64_t up_ms;  /* booted at */
	uint64_t end_ms; /* crashed at (or the run's end) */
} node_t;

typedef struct kill {
	uint32_t node;
	uint64_t at_ms, first_ms, all_ms; /* UINT64_MAX until known */
	uint32_t seen;                    /* observers that declared it dead */
	uint8_t *seen_by;                 /* per node */
} kill_t;

typedef struct sim {
	uint32_t nodes, kills, partition_s;
	uint64_t seed, periods;
	double loss;
	int lifeguard;

	sh_rand_t rand, net_rand;
	sim_net_t net;
	sim_heap_t timers;
	uint64_t timer_seq;
	node_t *n;
	kill_t *k;
	uint8_t *fp_seen;
	uint32_t fps, observers;
	sh_buf_t reply;
	uint64_t now, end_ms;

	uint64_t converged_ms, kill_start_ms, split_ms, heal_ms, healed_ms;
	uint32_t kills_done;
	uint64_t msgs, bytes, streams; /* in the measured window */
	int failed, join_failed;
} sim_t;

static sim_t *g_sim;

static void assert_hook(const char *expr, const char *file, int line)
{
	(void)expr;
	(void)file;
	(void)line;
	if (g_sim != NULL)
		fprintf(stderr,
		        "replay: shoal-sim swim --nodes %" PRIu32
		        " --seed %" PRIu64 " --loss %g --kill %" PRIu32
		        " --partition-s %" PRIu32 " --periods %" PRIu64 "%s\n",
		        g_sim->nodes, g_sim->seed, g_sim->loss, g_sim->kills,
		        g_sim->partition_s, g_sim->periods,
		        g_sim->lifeguard ? "" : " --no-lifeguard");
}

/* ---- arguments ---- */

static int parse_one(sim_t *s, const char *opt, const char *v, int *used)
{
	uint64_t x = 0;
	int rc = SH_EINVAL;
	*used = 2;
	if (strcmp(opt, "--no-lifeguard") == 0) {
		s->lifeguard = 0;
		*used = 1;
		return SH_OK;
	}
	if (strcmp(opt, "--loss") == 0)
		return sim_arg_fraction(v, &s->loss);
	if (strcmp(opt, "--nodes") == 0 &&
	    (rc = sim_arg_u64(v, 0, NODES_MAX, &x)) == SH_OK)
		s->nodes = (uint32_t)x;
	else if (strcmp(opt, "--seed") == 0)
		rc = sim_arg_u64(v, 0, UINT64_MAX, &s->seed);
	else if (strcmp(opt, "--kill") == 0 &&
	         (rc = sim_arg_u64(v, 0, NODES_MAX, &x)) == SH_OK)
		s->kills = (uint32_t)x;
	else if (strcmp(opt, "--partition-s") == 0 &&
	         (rc = sim_arg_u64(v, 0, 100000, &x)) == SH_OK)
		s->partition_s = (uint32_t)x;
	else if (strcmp(opt, "--periods") == 0)
		rc = sim_arg_u64(v, 0, PERIODS_MAX, &s->periods);
	return rc;
}

static int parse_args(sim_t *s, int argc, char **argv)
{
	int i = 1;
	s->nodes = 10;
	s->seed = 1;
	s->periods = 100;
	s->lifeguard = 1;
	if (i < argc && strcmp(argv[i], "swim") == 0)
		i++; /* called with the whole command line */
	while (i < argc) {
		int used;
		if (parse_one(s, argv[i], i + 1 < argc ? argv[i + 1] : NULL,
		              &used) != SH_OK)
			return SH_EINVAL;
		i += used;
	}
	if (s->nodes < 2 || s->kills + 1 >= s->nodes)
		return SH_EINVAL;
	return SH_OK;
}

/* ---- nodes and the network ---- */

static int node_of(const sim_t *s, const char *str, char prefix)
{
	uint64_t id;
	if (str[0] != prefix ||
	    sim_arg_u64(str + 1, 0, s->nodes - 1, &id) != SH_OK)
		return -1;
	return (int)id;
}

static void schedule(sim_t *s, uint32_t i, uint64_t at_ms)
{
	if (at_ms <= s->now)
		at_ms = s->now + 1;
	if (at_ms >= s->n[i].sched)
		return;
	s->n[i].sched = at_ms;
	int rc = sim_heap_push(&s->timers, at_ms, s->timer_seq++, i);
	sh_assert(rc == SH_OK);
}

static int measuring(const sim_t *s)
{
	return s->converged_ms != UINT64_MAX;
}

/* Traffic is counted once the join's own dissemination has died down. */
static uint64_t window_start(const sim_t *s)
{
	return s->converged_ms == UINT64_MAX ? UINT64_MAX
	                                     : s->converged_ms + SETTLE_MS;
}

static int partition_window(const sim_t *s)
{
	if (s->split_ms == UINT64_MAX || s->now < s->split_ms)
		return 0;
	return s->healed_ms == UINT64_MAX ||
	       s->now < s->healed_ms + FP_GRACE_MS;
}

static void on_down(sim_t *s, uint32_t observer, uint32_t about)
{
	int32_t v = s->n[about].victim;
	if (v >= 0 && s->n[about].crashed) {
		kill_t *k = &s->k[v];
		if (k->first_ms == UINT64_MAX)
			k->first_ms = s->now;
		if (s->n[observer].victim < 0 && !k->seen_by[observer]) {
			k->seen_by[observer] = 1;
			if (++k->seen == s->observers)
				k->all_ms = s->now;
		}
		return;
	}
	if (v >= 0 || partition_window(s) || s->fp_seen[about])
		return;
	s->fp_seen[about] = 1;
	s->fps++;
	fprintf(stderr,
	        "false positive: n%" PRIu32 " declared n%" PRIu32
	        " dead at %.1f s\n",
	        observer, about, (double)s->now / 1000.0);
}

/* Sends node i's outputs into the network; returns its next deadline. */
static uint64_t flush(sim_t *s, uint32_t i)
{
	swim_ready_t r;
	swim_ready(&s->n[i].swim, &r);
	for (size_t k = 0; k < r.packets_len; k++) {
		int to = node_of(s, r.packets[k].to, 'a');
		if (s->now >= window_start(s)) {
			s->msgs++;
			s->bytes += r.packets[k].len;
		}
		if (to >= 0)
			sim_net_send(&s->net, i, (uint32_t)to,
			             r.packets[k].data, r.packets[k].len,
			             s->now);
	}
	for (size_t k = 0; k < r.streams_len; k++) {
		int to = node_of(s, r.streams[k].to, 'a');
		s->streams += (uint64_t)(s->now >= window_start(s));
		if (to >= 0)
			sim_net_send_stream(&s->net, i, (uint32_t)to,
			                    r.streams[k].data, r.streams[k].len,
			                    s->now);
	}
	for (size_t k = 0; k < r.events_len; k++) {
		int about = node_of(s, r.events[k].name, 'n');
		if (about >= 0 && r.events[k].kind == SWIM_EV_DOWN)
			on_down(s, i, (uint32_t)about);
	}
	uint64_t next = r.next_deadline_ms;
	swim_advance(&s->n[i].swim);
	return next;
}

static void deliver(sim_t *s, const sim_net_msg_t *m)
{
	node_t *n = &s->n[m->to];
	char from[16];
	if (n->crashed || m->kind == SIM_NET_STREAM_FAILED)
		return;
	snprintf(from, sizeof(from), "a%" PRIu32, m->from);
	if (m->kind == SIM_NET_DGRAM) {
		swim_recv(&n->swim, s->now, from, m->bytes, m->len);
	} else {
		sh_buf_reset(&s->reply);
		swim_recv_state(&n->swim, s->now, from, m->bytes, m->len,
		                &s->reply);
		if (s->reply.len > 0)
			sim_net_send_stream(&s->net, m->to, m->from,
			                    s->reply.data, s->reply.len,
			                    s->now);
	}
	/* An earlier wakeup already queued stays; a tick too many is harmless.
	 */
	schedule(s, m->to, flush(s, m->to));
}

/* A wakeup of node i; stale ones (not its current one) are skipped. */
static void wake(sim_t *s, uint32_t i, uint64_t at_ms)
{
	node_t *n = &s->n[i];
	if (n->crashed || at_ms != n->sched)
		return;
	n->sched = UINT64_MAX;
	if (n->up_ms == UINT64_MAX) {
		const char *seed = "a0";
		n->up_ms = s->now;
		swim_join(&n->swim, s->now, &seed, i == 0 ? 0 : 1);
	}
	swim_tick(&n->swim, s->now);
	schedule(s, i, flush(s, i));
}

/* ---- faults and measurements ---- */

/* Every running node lists every running node as alive or suspect. */
static int all_listed(const sim_t *s)
{
	uint32_t live = s->nodes - s->kills_done;
	swim_member_info_t info;
	char name[16];
	for (uint32_t i = 0; i < s->nodes; i++)
		if (!s->n[i].crashed && swim_live_count(&s->n[i].swim) < live)
			return 0;
	for (uint32_t j = 0; j < s->nodes; j++) {
		if (s->n[j].crashed)
			continue;
		snprintf(name, sizeof(name), "n%" PRIu32, j);
		for (uint32_t i = 0; i < s->nodes; i++) {
			if (s->n[i].crashed)
				continue;
			if (swim_member_get(&s->n[i].swim, name, &info) !=
			        SH_OK ||
			    (info.state != SWIM_ALIVE &&
			     info.state != SWIM_SUSPECT))
				return 0;
		}
	}
	return 1;
}

static int kills_detected(const sim_t *s)
{
	for (uint32_t v = 0; v < s->kills; v++)
		if (s->k[v].all_ms == UINT64_MAX &&
		    (s->k[v].at_ms == UINT64_MAX ||
		     s->now < s->k[v].at_ms + DETECT_CAP_MS))
			return 0;
	return 1;
}

static void crash_next(sim_t *s)
{
	kill_t *k = &s->k[s->kills_done++];
	node_t *n = &s->n[k->node];
	sim_net_crash(&s->net, k->node, s->now);
	n->crashed = 1;
	n->end_ms = s->now;
	k->at_ms = s->now;
}

static void split(sim_t *s)
{
	uint32_t *order = malloc(s->nodes * sizeof(*order));
	uint32_t *group = malloc(s->nodes * sizeof(*group));
	sh_assert(order != NULL && group != NULL);
	for (uint32_t i = 0; i < s->nodes; i++)
		order[i] = i;
	for (uint32_t i = s->nodes; i > 1; i--) {
		uint32_t j = (uint32_t)sh_rand_below(&s->rand, i);
		uint32_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < s->nodes; i++)
		group[order[i]] = i < s->nodes / 2 ? 0 : 1;
	sh_assert(sim_net_split(&s->net, group) == SH_OK);
	s->split_ms = s->now;
	free(order);
	free(group);
}

static void check(sim_t *s)
{
	if (!measuring(s)) {
		int ok = all_listed(s);
		if (ok || s->now >= JOIN_CAP_MS) {
			s->converged_ms = s->now;
			s->kill_start_ms = s->now + 2 * PERIOD_MS;
			s->join_failed = !ok;
			s->failed |= !ok;
		}
		return;
	}
	while (s->kills_done < s->kills &&
	       s->now >= s->kill_start_ms + s->kills_done * PERIOD_MS)
		crash_next(s);
	if (s->partition_s == 0 || s->kills_done < s->kills)
		return;
	if (s->split_ms == UINT64_MAX && kills_detected(s))
		split(s);
	if (s->split_ms != UINT64_MAX && s->heal_ms == UINT64_MAX &&
	    s->now >= s->split_ms + s->partition_s * 1000ull) {
		sim_net_heal(&s->net);
		s->heal_ms = s->now;
	}
	if (s->heal_ms != UINT64_MAX && s->healed_ms == UINT64_MAX &&
	    all_listed(s))
		s->healed_ms = s->now;
}

static int open_measurements(const sim_t *s)
{
	if (!measuring(s) || s->kills_done < s->kills || !kills_detected(s))
		return 1;
	if (s->partition_s == 0)
		return 0;
	return s->heal_ms == UINT64_MAX || (s->healed_ms == UINT64_MAX &&
	                                    s->now < s->heal_ms + HEAL_CAP_MS);
}

/* ---- the run ---- */

static void run(sim_t *s)
{
	uint64_t next_check = CHECK_MS;
	uint64_t hard_end = JOIN_CAP_MS + DETECT_CAP_MS + HEAL_CAP_MS +
	                    (s->kills + 2) * (uint64_t)PERIOD_MS +
	                    s->partition_s * 1000ull + s->periods * PERIOD_MS;
	s->end_ms = s->periods * PERIOD_MS;
	for (;;) {
		uint64_t t = sim_net_next_time(&s->net);
		uint64_t tt = sim_heap_next_ms(&s->timers);
		if (tt < t)
			t = tt;
		if (next_check < t)
			t = next_check;
		if (t > s->end_ms) {
			if (!open_measurements(s) || s->end_ms >= hard_end)
				break;
			s->end_ms += CHECK_MS;
			continue;
		}
		if (t > s->now)
			s->now = t;
		sim_net_msg_t m;
		while (sim_net_pop(&s->net, s->now, &m))
			deliver(s, &m);
		sim_heap_entry_t e;
		while (sim_heap_next_ms(&s->timers) <= s->now &&
		       sim_heap_pop(&s->timers, &e) == SH_OK)
			wake(s, (uint32_t)e.value, e.at_ms);
		if (s->now >= next_check) {
			check(s);
			next_check += CHECK_MS;
		}
	}
	s->now = s->end_ms;
}

/* ---- setup and report ---- */

static int sim_init(sim_t *s)
{
	sim_net_cfg_t nc;
	sh_rand_seed(&s->rand, s->seed);
	sh_rand_seed(&s->net_rand, s->seed ^ 0x5157494d5f4e4554ULL);
	sim_net_cfg_default(&nc, s->nodes);
	nc.faults.loss = s->loss;
	nc.msg_bytes_max = 1u << 24;
	nc.queue_max = 1u << 24;
	s->converged_ms = s->split_ms = s->heal_ms = s->healed_ms = UINT64_MAX;
	s->observers = s->nodes - s->kills;
	s->n = calloc(s->nodes, sizeof(*s->n));
	s->k = calloc(s->kills + 1, sizeof(*s->k));
	s->fp_seen = calloc(s->nodes, 1);
	if (s->n == NULL || s->k == NULL || s->fp_seen == NULL ||
	    sim_net_init(&s->net, &nc, &s->net_rand) != SH_OK ||
	    sim_heap_init(&s->timers, TIMERS_MAX) != SH_OK)
		return SH_ENOMEM;
	return SH_OK;
}

static int nodes_init(sim_t *s)
{
	uint64_t st = s->seed;
	for (uint32_t i = 0; i < s->nodes; i++) {
		swim_config_t cfg;
		char name[16], addr[16], http[16];
		swim_config_default(&cfg);
		snprintf(name, sizeof(name), "n%" PRIu32, i);
		snprintf(addr, sizeof(addr), "a%" PRIu32, i);
		snprintf(http, sizeof(http), "h%" PRIu32, i);
		cfg.name = name;
		cfg.addr = addr;
		cfg.http_addr = http;
		cfg.seed = sh_splitmix64(&st);
		cfg.lifeguard = s->lifeguard;
		cfg.members_max = s->nodes + 16;
		if (swim_init(&s->n[i].swim, &cfg) != SH_OK)
			return SH_ENOMEM;
		s->n[i].victim = -1;
		s->n[i].up_ms = UINT64_MAX;
		s->n[i].end_ms = UINT64_MAX;
		s->n[i].sched = UINT64_MAX;
		s->n[i].sched = i == 0 ? 0 : sh_rand_below(&s->rand, PERIOD_MS);
		if (sim_heap_push(&s->timers, s->n[i].sched, s->timer_seq++,
		                  i) != SH_OK)
			return SH_ENOMEM;
	}
	/* the victims: K distinct nodes other than the seed, in kill order */
	for (uint32_t v = 0; v < s->kills; v++) {
		uint32_t i;
		do
			i = 1 + (uint32_t)sh_rand_below(&s->rand, s->nodes - 1);
		while (s->n[i].victim >= 0);
		s->n[i].victim = (int32_t)v;
		s->k[v].node = i;
		s->k[v].at_ms = s->k[v].first_ms = s->k[v].all_ms = UINT64_MAX;
		s->k[v].seen_by = calloc(s->nodes, 1);
		if (s->k[v].seen_by == NULL)
			return SH_ENOMEM;
	}
	return SH_OK;
}

static void sim_free(sim_t *s)
{
	for (uint32_t i = 0; s->n != NULL && i < s->nodes; i++)
		swim_free(&s->n[i].swim);
	for (uint32_t v = 0; s->k != NULL && v < s->kills; v++)
		free(s->k[v].seen_by);
	free(s->n);
	free(s->k);
	free(s->fp_seen);
	sim_net_free(&s->net);
	sim_heap_free(&s->timers);
	sh_buf_free(&s->reply);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median, in periods, of the kill-relative times at offset `which`. */
static void median(const sim_t *s, int all, char *out, size_t len)
{
	uint64_t *d = calloc(s->kills + 1, sizeof(*d));
	uint32_t n = 0;
	sh_assert(d != NULL);
	for (uint32_t v = 0; v < s->kills; v++) {
		uint64_t t = all ? s->k[v].all_ms : s->k[v].first_ms;
		if (t != UINT64_MAX && s->k[v].at_ms != UINT64_MAX)
			d[n++] = t - s->k[v].at_ms;
	}
	if (n == 0 || n < s->kills) {
		snprintf(out, len, "na");
	} else {
		qsort(d, n, sizeof(*d), cmp_u64);
		double m = n % 2
		               ? (double)d[n / 2]
		               : ((double)d[n / 2 - 1] + (double)d[n / 2]) / 2;
		snprintf(out, len, "%.1f", m / PERIOD_MS);
	}
	free(d);
}

static void periods_str(uint64_t from, uint64_t to, char *out, size_t len)
{
	if (from == UINT64_MAX || to == UINT64_MAX)
		snprintf(out, len, "na");
	else
		snprintf(out, len, "%.1f", (double)(to - from) / PERIOD_MS);
}

static void report(sim_t *s)
{
	char a[32], b[32], c[32], e[32];
	double node_periods = 0;
	for (uint32_t i = 0; i < s->nodes; i++) {
		uint64_t end = s->n[i].crashed ? s->n[i].end_ms : s->end_ms;
		if (measuring(s) && end > window_start(s))
			node_periods += (double)(end - window_start(s));
	}
	node_periods /= PERIOD_MS;
	periods_str(0, s->join_failed ? UINT64_MAX : s->converged_ms, a,
	            sizeof(a));
	median(s, 0, b, sizeof(b));
	median(s, 1, c, sizeof(c));
	if (s->kills > 0 && (strcmp(b, "na") == 0 || strcmp(c, "na") == 0))
		s->failed = 1;
	periods_str(s->heal_ms, s->healed_ms, e, sizeof(e));
	if (s->partition_s > 0 && strcmp(e, "na") == 0)
		s->failed = 1;
	const sim_net_stats_t *ns = sim_net_stats(&s->net, SIM_NET_ALL);
	printf("swim run: periods=%.1f lifeguard=%s loss=%g kills=%" PRIu32
	       " partition_s=%" PRIu32 " streams_per_node_per_period=%.4f\n",
	       (double)s->end_ms / PERIOD_MS, s->lifeguard ? "on" : "off",
	       s->loss, s->kills, s->partition_s,
	       node_periods > 0 ? (double)s->streams / node_periods : 0.0);
	printf("net sent=%" PRIu64 " delivered=%" PRIu64 " lost=%" PRIu64
	       " partitioned=%" PRIu64 " crashed=%" PRIu64 "\n",
	       ns->sent, ns->delivered, ns->dropped_loss, ns->dropped_partition,
	       ns->dropped_crash);
	if (s->failed)
		assert_hook("", "", 0);
	printf("swim nodes=%" PRIu32 " seed=%" PRIu64
	       " join_converged_periods=%s detect_first_periods=%s"
	       " detect_all_periods=%s false_positives=%" PRIu32
	       " heal_periods=%s msgs_per_node_per_period=%.2f"
	       " bytes_per_node_per_period=%.0f\n",
	       s->nodes, s->seed, a, b, c, s->fps, e,
	       node_periods > 0 ? (double)s->msgs / node_periods : 0.0,
	       node_periods > 0 ? (double)s->bytes / node_periods : 0.0);
}

int sim_swim_main(int argc, char **argv)
{
	static sim_t s; /* large: keep it off the stack */
	memset(&s, 0, sizeof(s));
	int help = argc > 1 && strcmp(argv[argc - 1], "--help") == 0;
	if (help || parse_args(&s, argc, argv) != SH_OK) {
		fprintf(help ? stdout : stderr,
		        "usage: shoal-sim swim --nodes 2..%d --seed S "
		        "[--loss 0..1) [--kill K < N-1] [--partition-s T] "
		        "[--periods P] [--no-lifeguard]\n",
		        NODES_MAX);
		return help ? 0 : 2;
	}
	g_sim = &s;
	sh_assert_hook_fn old = sh_assert_set_hook(assert_hook);
	if (sim_init(&s) != SH_OK || nodes_init(&s) != SH_OK) {
		fprintf(stderr, "shoal-sim swim: out of memory\n");
		sim_free(&s);
		return 2;
	}
	run(&s);
	report(&s);
	sim_free(&s);
	sh_assert_set_hook(old);
	g_sim = NULL;
	return s.failed ? 1 : 0;
}
