/*
 * sim_cluster.c - `shoal-sim cluster`: whole shoal nodes (the real request
 * coordinator, memory store and SWIM) on the simulated network, with
 * clients, crashes, wipes, joins, leaves and loss, all in virtual time from
 * one seed; then a check that no acknowledged write was lost and that the
 * cluster's own repair made every replica equal (DESIGN.md section 11).
 *
 *   shoal-sim cluster --nodes N --seed S --clients C --ops K [--loss L]
 *                     [--cold K] [--crash] [--partition] [--wipe]
 *                     [--join] [--leave] [--aae-repair-bytes B]
 *
 * THE RUN. N nodes (sim_cluster_node.c) boot and join through node 0; each
 * runs its inputs of one virtual millisecond in one store batch (group
 * commit) and sends only after the commit. Once every node lists every
 * node, the verifier writes the --cold keys (default 0) once each with
 * n = w = 3 ("cold": never written again, so only repair, not the next
 * write, can refill a replica that lost them). Then C clients
 * (sim_cluster_client.c) send K operations in all to
 * random members, one at a time each, with a think time: kv gets, puts with
 * the context of the client's last read (odd clients: or of their last
 * acknowledged write; one put in ten without a context), rare deletes, dt
 * reads, counter increments, set adds and removes, cart line updates and
 * removes, over a small key universe. Most requests use the server
 * defaults (n=3, r=2, w=2, sloppy); some ask for r or w of 1..3, a short
 * timeout, a strict quorum or pr/pw 1. Clients give up after 7 s.
 * Datagrams (SWIM) are lost with probability L, and a few are duplicated
 * or held back; streams (SWIM push-pull, coordinator messages, client
 * traffic) are reliable, as TCP.
 *
 * FAULTS, one at a time, each lasting 0.3..6.3 s, 1..5 s apart:
 *   --crash      a random node crashes (its open batch lost, its committed
 *                data kept) and restarts with its data and its epoch, or
 *                (three times in ten) pauses and resumes; so AT MOST ONE
 *                NODE IS DOWN AT A TIME;
 *   --partition  the network splits: a random minority of 1..N/2 nodes
 *                apart from the rest, each client on a random side (with
 *                --crash, three faults in ten are splits);
 *                --partitions-fault is another name for it;
 *   --wipe       a node crashes and loses its whole store: it restarts
 *                empty, as a new actor (new epoch). Only when it holds
 *                nothing that no other member holds (cl_unique_keys): a
 *                store survives losing one copy, not the only one;
 *                otherwise the fault is a plain crash ("deferred");
 *   --join       N/4 (at least 1) more nodes start outside the cluster;
 *                one at a time joins with an empty store (nobody down);
 *   --leave      up to N/4 (at least 1) members leave gracefully, one at a
 *                time, never below three members; a node that left stops
 *                for good once SWIM has spread its "left", and its data no
 *                longer counts.
 *   --aae-repair-bytes  anti-entropy cuts each REPAIR and REPLY past B
 *                bytes (one record always goes): with a small B most
 *                repairs take several messages and replies, and keys cut
 *                from a reply wait for a later exchange.
 * With --crash or --partition as well, four faults in ten are one of
 * --wipe/--join/--leave. Every node also runs the repair machinery of
 * the real node: hinted handoff replay (sim_cluster_hint.c over
 * antientropy/hint.h), ownership handoff and graceful leave (node/xfer.h)
 * and active anti-entropy (node/aae.h, every 400 ms) over a store tap
 * (sim_cluster_repair.c).
 *
 * After the K operations (and the answers to them, or their timeouts), the
 * faults end: the down node restarts, the network heals, loss stops, and
 * the cluster settles: at least 10 s, until every member lists every
 * member as alive and every node that left as left, no node is still
 * leaving, and (checked every 250 ms) every key is CONVERGED: its n = 3
 * primaries in the final ring hold equal copies, and no other member
 * holds anything of it they lack; at most 120 s. converge_s is the time
 * from the end of the faults to that point, by the cluster's own repair
 * alone (no client reads meanwhile). Then a verifier reads every hot key
 * with n = r = 3 through a different member per round until the three
 * primaries of every hot key hold identical copies (read repair), at
 * most 4 rounds.
 *
 * THE FINAL STATE of a key is the join of the stored copies of all
 * members, fallbacks included (a node that left is not a member: what it
 * held must have been handed off; a wiped node's old copies are gone).
 * check: fallback_only_writes says how many acknowledged writes were
 * found only outside their primaries.
 *
 * THE CHECKS (the numbers of the last line):
 *   acked_writes       kv puts answered 204 (cold keys included: a
 *                      cold key is lost when its value is not a live
 *                      sibling of the final state).
 *   lost_acked_writes  those whose value is neither a sibling of the final
 *                      state nor superseded. Every value is unique, and
 *                      the tap (sim_cluster_check.c) learns each value's
 *                      dot at its coordinator, in the step that wrote it.
 *                      A write w is superseded when another kv write of
 *                      the same key that was applied (its own dot seen at
 *                      its coordinator; a delete: sent) carried a client
 *                      context containing w's dot: it saw w and replaced
 *                      it, as ALGORITHMS.md section 2 allows. An
 *                      acknowledged put whose dot was never seen counts as
 *                      lost.
 *   acked_crdt_ops     dt updates answered 204.
 *   lost_crdt_ops      counters: increments (+1 each) missing from the
 *                      final value, max(0, acknowledged - value), plus
 *                      the excess over every increment tried (an
 *                      unacknowledged increment may have landed, none may
 *                      count twice); sets: acknowledged adds of elements
 *                      nobody tried to remove that are absent, plus
 *                      elements present that were never added; cart lines:
 *                      as counters for skus never removed, and only the
 *                      upper bound for skus some client removed.
 * Also failures, reported on their own lines: a value seen under two
 * dots, an unexpected 4xx, hot keys whose primaries did not converge
 * even after the verifier's read repair, members that do not all list
 * each other as alive (and those that left as left) at the end.
 *
 * The last line is
 *   cluster nodes=N seed=S acked_writes=A lost_acked_writes=L
 *   acked_crdt_ops=B lost_crdt_ops=M converged=yes|no converge_s=T
 *   aae_keys_repaired=R
 * (N: --nodes; converge_s=120.0 when not converged; R: keys anti-entropy
 * repaired, over every node). converged=no alone does not fail the run:
 * check_cluster.sh's "converge" mode requires it.
 * Exit status 1 when a check failed or nothing was acknowledged (after a
 * "replay:" line with the command that replays the run; an assertion
 * prints it too), 2 on a usage error. The same arguments give the same
 * bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "tests/sim/sim_args.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_cluster.h"

#define CL_CHECK_MS     50    /* phase and fault checks */
#define CL_BOOT_CAP_MS  60000 /* give up waiting for the join */
#define CL_SETTLE_MS    10000 /* quiet time before the reads */
#define CL_ROUNDS_MAX   4     /* verification read rounds */
#define CL_REPAIR_MS    500   /* after a round, for repairs to land */
#define CL_CRASH_GAP_MS 1000  /* + uniform 0..4000: time between crashes */
#define CL_DOWN_MS      300   /* + uniform 0..6000: time a node is down */
#define CL_PAUSE_CHANCE 0.3   /* --crash: a fault is a pause */
#define CL_SPLIT_CHANCE 0.3   /* --crash --partition: a fault is a split */
#define CL_MEMBER_CHANCE                                                       \
	0.4                      /* --wipe/--join/--leave with --crash or      \
	                          * --partition: a fault is one of those */
#define CL_CONVERGE_CAP   120000 /* after the faults: give up converging */
#define CL_CONVERGE_EVERY 5      /* quiet: convergence checked every 5th */
#define CL_PRELOAD_CAP    60000  /* give up writing the cold keys */
#define CL_COLD_MAX       4096
#define CL_TIMERS_MAX     (1u << 24)

static const cl_sim_t *g_sim; /* for the assert hook */

/* ---- helpers shared by the mode's files ---- */

void cl_seq_put(uint8_t *p, uint64_t seq)
{
	for (int k = 7; k >= 0; k--, seq >>= 8)
		p[k] = (uint8_t)seq;
}

uint64_t cl_seq_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int k = 0; k < 8; k++)
		v = v << 8 | p[k];
	return v;
}

int cl_parse_id(const uint8_t *p, size_t len, char prefix, uint32_t *out)
{
	uint64_t v = 0;
	if (len < 2 || len > 11 || p[0] != (uint8_t)prefix)
		return SH_EINVAL;
	for (size_t k = 1; k < len; k++) {
		if (p[k] < '0' || p[k] > '9')
			return SH_EINVAL;
		v = v * 10 + (p[k] - '0');
	}
	if (v > UINT32_MAX)
		return SH_EINVAL;
	*out = (uint32_t)v;
	return SH_OK;
}

cl_family_t cl_family(uint32_t k, uint32_t *idx)
{
	sh_assert(k < CL_KEYS);
	if (k < CL_KV_KEYS) {
		*idx = k;
		return CL_FAM_KV;
	}
	k -= CL_KV_KEYS;
	if (k < CL_CTR_KEYS) {
		*idx = k;
		return CL_FAM_CTR;
	}
	k -= CL_CTR_KEYS;
	if (k < CL_SET_KEYS) {
		*idx = k;
		return CL_FAM_SET;
	}
	*idx = k - CL_SET_KEYS;
	return CL_FAM_CART;
}

void cl_key_name(uint32_t k, const char **bucket, char *key, size_t key_size)
{
	if (k >= CL_KEYS) {
		*bucket = "cold";
		snprintf(key, key_size, "p%" PRIu32, k - CL_KEYS);
		return;
	}
	static const char *const buckets[] = {"kv", "counters", "sets",
	                                      "carts"};
	static const char *const prefix[] = {"k", "c", "s", "cart"};
	uint32_t idx;
	cl_family_t fam = cl_family(k, &idx);
	*bucket = buckets[fam];
	snprintf(key, key_size, "%s%" PRIu32, prefix[fam], idx);
}

void cl_schedule(cl_sim_t *s, int kind, uint32_t idx, uint64_t *sched,
                 uint64_t at_ms)
{
	if (at_ms <= s->now)
		at_ms = s->now + 1;
	if (at_ms >= *sched)
		return;
	*sched = at_ms;
	int rc = sim_heap_push(&s->timers, at_ms, s->timer_seq++,
	                       (uint64_t)kind << 32 | idx);
	sh_assert(rc == SH_OK);
}

static void print_replay(FILE *f, const cl_sim_t *s)
{
	fprintf(f,
	        "replay: shoal-sim cluster --nodes %" PRIu32 " --seed %" PRIu64
	        " --clients %" PRIu32 " --ops %" PRIu64
	        " --loss %g --cold %" PRIu32 "%s%s%s%s%s",
	        s->start_nodes, s->seed, s->clients, s->ops, s->loss, s->cold,
	        s->crash ? " --crash" : "", s->partition ? " --partition" : "",
	        s->wipe ? " --wipe" : "", s->join ? " --join" : "",
	        s->leave ? " --leave" : "");
	if (s->aae_repair_bytes > 0)
		fprintf(f, " --aae-repair-bytes %" PRIu32, s->aae_repair_bytes);
	fprintf(f, "\n");
}

void cl_replay(const cl_sim_t *s)
{
	print_replay(stdout, s);
}

static void assert_hook(const char *expr, const char *file, int line)
{
	(void)expr;
	(void)file;
	(void)line;
	if (g_sim == NULL)
		return;
	fflush(stdout);
	print_replay(stderr, g_sim);
}

/* ---- arguments ---- */

static int parse_one(cl_sim_t *s, const char *opt, const char *v, int *used)
{
	uint64_t x = 0;
	int rc = SH_EINVAL;
	*used = 2;
	static const char *const flags[] = {
	    "--crash", "--partition", "--partitions-fault",
	    "--wipe",  "--join",      "--leave"};
	int *const vars[] = {&s->crash, &s->partition, &s->partition,
	                     &s->wipe,  &s->join,      &s->leave};
	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		if (strcmp(opt, flags[k]) == 0) {
			*vars[k] = 1;
			*used = 1;
			return SH_OK;
		}
	}
	if (strcmp(opt, "--loss") == 0)
		return sim_arg_fraction(v, &s->loss);
	if (strcmp(opt, "--nodes") == 0 &&
	    (rc = sim_arg_u64(v, 3, CL_NODES_MAX, &x)) == SH_OK)
		s->nodes = (uint32_t)x;
	else if (strcmp(opt, "--clients") == 0 &&
	         (rc = sim_arg_u64(v, 1, CL_CLIENTS_MAX, &x)) == SH_OK)
		s->clients = (uint32_t)x;
	else if (strcmp(opt, "--cold") == 0 &&
	         (rc = sim_arg_u64(v, 0, CL_COLD_MAX, &x)) == SH_OK)
		s->cold = (uint32_t)x;
	else if (strcmp(opt, "--aae-repair-bytes") == 0 &&
	         (rc = sim_arg_u64(v, 1, UINT32_MAX, &x)) == SH_OK)
		s->aae_repair_bytes = (uint32_t)x;
	else if (strcmp(opt, "--seed") == 0)
		rc = sim_arg_u64(v, 0, UINT64_MAX, &s->seed);
	else if (strcmp(opt, "--ops") == 0)
		rc = sim_arg_u64(v, 0, CL_OPS_MAX, &s->ops);
	return rc;
}

static int parse_args(cl_sim_t *s, int argc, char **argv)
{
	int i = 1;
	s->nodes = 5;
	s->seed = 1;
	s->clients = 4;
	s->ops = 1000;
	if (i < argc && strcmp(argv[i], "cluster") == 0)
		i++; /* called with the whole command line */
	while (i < argc) {
		int used;
		if (parse_one(s, argv[i], i + 1 < argc ? argv[i + 1] : NULL,
		              &used) != SH_OK)
			return SH_EINVAL;
		i += used;
	}
	/* --join: a quarter more slots, started later; --leave: as many
	 * leave (keeping three members) */
	s->start_nodes = s->nodes;
	s->spares = s->join ? (s->nodes / 4 > 0 ? s->nodes / 4 : 1) : 0;
	s->leaves_max = s->leave ? (s->nodes / 4 > 0 ? s->nodes / 4 : 1) : 0;
	if (s->nodes + s->spares > CL_NODES_MAX)
		return SH_EINVAL;
	s->nodes += s->spares;
	return SH_OK;
}

/* ---- phases and faults ---- */

static void set_phase(cl_sim_t *s, cl_phase_t p)
{
	s->phase = p;
	s->phase_ms = s->now;
}

/* Cut the network in two: a random minority of 1..N/2 nodes; each client
 * (and the verifier) lands on a random side. */
static void split(cl_sim_t *s)
{
	uint32_t total = s->nodes + s->clients + 1, order[CL_NODES_MAX];
	uint32_t group[CL_NODES_MAX + CL_CLIENTS_MAX + 1];
	uint32_t minority = 1 + (uint32_t)sh_rand_below(&s->rng, s->nodes / 2);
	for (uint32_t i = 0; i < s->nodes; i++)
		order[i] = i;
	for (uint32_t i = s->nodes; i > 1; i--) {
		uint32_t j = (uint32_t)sh_rand_below(&s->rng, i);
		uint32_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < s->nodes; i++)
		group[order[i]] = i < minority;
	for (uint32_t i = s->nodes; i < total; i++)
		group[i] = (uint32_t)sh_rand_below(&s->rng, 2);
	sh_assert(sim_net_split(&s->net, group) == SH_OK);
}

static uint32_t members(const cl_sim_t *s)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < s->nodes; i++)
		count += s->node[i].slot == CL_SLOT_MEMBER;
	return count;
}

/* A wipe, a join or a leave, among those enabled and still possible
 * (spares left; a leave keeps three members); NONE if none is. */
static cl_fault_t pick_member_fault(cl_sim_t *s)
{
	cl_fault_t f[3];
	unsigned k = 0;
	if (s->wipe)
		f[k++] = CL_FAULT_WIPE;
	if (s->join && s->n.joins < s->spares)
		f[k++] = CL_FAULT_JOIN;
	if (s->leave && s->n.leaves < s->leaves_max && members(s) > 3)
		f[k++] = CL_FAULT_LEAVE;
	return k == 0 ? CL_FAULT_NONE : f[sh_rand_below(&s->rng, k)];
}

static cl_fault_t pick_fault(cl_sim_t *s)
{
	int old = s->crash || s->partition;
	if ((s->wipe || s->join || s->leave) &&
	    (!old || sh_rand_double(&s->rng) < CL_MEMBER_CHANCE)) {
		cl_fault_t f = pick_member_fault(s);
		if (f != CL_FAULT_NONE || !old)
			return f;
	}
	double x = sh_rand_double(&s->rng);
	if (!s->crash)
		return CL_FAULT_SPLIT;
	if (s->partition && x < CL_SPLIT_CHANCE)
		return CL_FAULT_SPLIT;
	if (s->partition)
		x = (x - CL_SPLIT_CHANCE) / (1.0 - CL_SPLIT_CHANCE);
	return x < CL_PAUSE_CHANCE ? CL_FAULT_PAUSE : CL_FAULT_CRASH;
}

/* Wipe node i, unless it holds a copy of something no other member
 * holds: losing the only copy is not a fault a store survives (the
 * lost-write check would blame the wipe). Then it only crashes. */
static void wipe_or_crash(cl_sim_t *s, uint32_t i)
{
	if (cl_unique_keys(s, i) > 0) {
		s->fault = CL_FAULT_CRASH;
		s->n.wipes_deferred++;
		cl_node_crash(s, i);
		s->n.crashes++;
		return;
	}
	cl_node_wipe(s, i);
	s->n.wipes++;
}

/* The first spare joins. */
static void join_one(cl_sim_t *s)
{
	for (uint32_t i = 0; i < s->nodes; i++) {
		if (s->node[i].slot != CL_SLOT_SPARE)
			continue;
		sh_assert(cl_node_join(s, i) == SH_OK);
		s->fault_node = i;
		s->n.joins++;
		return;
	}
	sh_assert(0);
}

static void fault_begin(cl_sim_t *s)
{
	uint32_t i = (uint32_t)sh_rand_below(&s->rng, s->nodes);
	i = cl_member_at(s, i);
	s->fault = pick_fault(s);
	s->fault_node = i;
	switch (s->fault) {
	case CL_FAULT_NONE: break;
	case CL_FAULT_WIPE: wipe_or_crash(s, i); break;
	case CL_FAULT_JOIN: join_one(s); break;
	case CL_FAULT_LEAVE:
		if (cl_node_leave(s, i) == SH_OK)
			s->n.leaves++;
		else
			s->fault = CL_FAULT_NONE; /* refused: try later */
		break;
	case CL_FAULT_CRASH:
		cl_node_crash(s, i);
		s->n.crashes++;
		break;
	case CL_FAULT_PAUSE:
		cl_node_pause(s, i);
		s->n.pauses++;
		break;
	default:
		split(s);
		s->n.splits++;
		break;
	}
	s->fault_end_ms = s->now + CL_DOWN_MS + sh_rand_below(&s->rng, 6000);
	if (s->fault == CL_FAULT_NONE) /* nothing possible: wait as long */
		s->fault_begin_ms = s->fault_end_ms;
}

/* The fault ends: the node restarts or resumes, the network heals. */
static void fault_end(cl_sim_t *s)
{
	if (s->fault == CL_FAULT_CRASH || s->fault == CL_FAULT_WIPE) {
		sh_assert(cl_node_restart(s, s->fault_node) == SH_OK);
		s->n.restarts++;
	} else if (s->fault == CL_FAULT_PAUSE) {
		cl_node_resume(s, s->fault_node);
	} else if (s->fault == CL_FAULT_SPLIT) {
		sim_net_heal(&s->net);
	}
	s->fault = CL_FAULT_NONE;
	s->fault_begin_ms =
	    s->now + CL_CRASH_GAP_MS + sh_rand_below(&s->rng, 4000);
}

static void faults(cl_sim_t *s)
{
	if (s->fault == CL_FAULT_NONE && s->now >= s->fault_begin_ms)
		fault_begin(s);
	else if (s->fault != CL_FAULT_NONE && s->now >= s->fault_end_ms)
		fault_end(s);
}

/* The faults end: everyone up, nothing lost any more. */
static void heal_all(cl_sim_t *s)
{
	sim_net_cfg_t nc;
	if (s->fault != CL_FAULT_NONE)
		fault_end(s);
	sim_net_cfg_default(&nc, 1);
	sh_assert(sim_net_set_faults(&s->net, &nc.faults) == SH_OK);
}

void cl_verify_next(cl_sim_t *s)
{
	if (s->phase != CL_VERIFY || s->verify_check_ms != UINT64_MAX)
		return;
	if (s->verify_key < CL_KEYS) {
		uint32_t k = s->verify_key++;
		cl_verify_read(s, k,
		               cl_member_at(s, (k + s->round) % s->nodes));
		return;
	}
	s->verify_check_ms = s->now + CL_REPAIR_MS;
}

static void verify_round(cl_sim_t *s)
{
	cl_client_t *v = &s->client[s->clients];
	s->verify_key = 0;
	s->verify_check_ms = UINT64_MAX;
	cl_schedule(s, 1, s->clients, &v->sched, s->now + 1);
}

static void check_verify(cl_sim_t *s)
{
	if (s->verify_check_ms == UINT64_MAX || s->now < s->verify_check_ms)
		return;
	s->round++;
	s->unconverged = cl_unconverged_keys(s, 0);
	if (s->unconverged == 0 || s->round >= CL_ROUNDS_MAX)
		set_phase(s, CL_DONE);
	else
		verify_round(s);
}

/* After the faults: settle, and wait (bounded) until every replica of
 * every key is equal, by the cluster's own repair; then the verifier. */
static void quiet(cl_sim_t *s)
{
	int settled = cl_leaving(s) == 0 && cl_all_listed(s, 1);
	if (s->converged_ms == UINT64_MAX && settled &&
	    (s->now - s->phase_ms) % (CL_CHECK_MS * CL_CONVERGE_EVERY) == 0 &&
	    cl_unconverged_keys(s, 1) == 0)
		s->converged_ms = s->now;
	if (s->now < s->phase_ms + CL_SETTLE_MS)
		return;
	s->members_agree = settled;
	if ((!settled || s->converged_ms == UINT64_MAX) &&
	    s->now < s->phase_ms + CL_CONVERGE_CAP)
		return;
	set_phase(s, CL_VERIFY);
	verify_round(s);
}

static void check(cl_sim_t *s)
{
	switch (s->phase) {
	case CL_BOOT:
		if (!cl_all_listed(s, 0) && s->now < CL_BOOT_CAP_MS)
			break;
		set_phase(s, CL_PRELOAD);
		if (s->cold > 0)
			cl_schedule(s, 1, s->clients,
			            &s->client[s->clients].sched, s->now + 1);
		/* fallthrough */
	case CL_PRELOAD:
		if (s->cold_next < s->cold &&
		    s->now < s->phase_ms + CL_PRELOAD_CAP)
			break;
		set_phase(s, CL_OPS);
		s->fault_begin_ms =
		    s->now + CL_CRASH_GAP_MS + sh_rand_below(&s->rng, 4000);
		for (uint32_t j = 0; j < s->clients; j++)
			cl_client_start(s, j);
		/* fallthrough */
	case CL_OPS:
		if (s->issued >= s->ops)
			set_phase(s, CL_DRAIN);
		break;
	case CL_DRAIN:
		if (!cl_clients_idle(s))
			break;
		heal_all(s);
		s->heal_ms = s->now;
		set_phase(s, CL_QUIET);
		break;
	case CL_QUIET: quiet(s); break;
	case CL_VERIFY: check_verify(s); break;
	case CL_DONE: break;
	}
}

/* ---- the run ---- */

/* When the next crash or restart is due (UINT64_MAX: none). */
static uint64_t fault_ms(const cl_sim_t *s)
{
	if ((!s->crash && !s->partition && !s->wipe && !s->join && !s->leave) ||
	    s->phase != CL_OPS)
		return UINT64_MAX;
	return s->fault == CL_FAULT_NONE ? s->fault_begin_ms : s->fault_end_ms;
}

/*
 * Each iteration is one virtual millisecond: the messages and timers due,
 * a crash or restart due (which may catch a node with a batch open), the
 * phase checks, then every node's commit and outputs.
 */
static void run(cl_sim_t *s)
{
	uint64_t next_check = CL_CHECK_MS;
	while (s->phase != CL_DONE) {
		uint64_t t = sim_net_next_time(&s->net);
		uint64_t tt = sim_heap_next_ms(&s->timers);
		if (tt < t)
			t = tt;
		if (next_check < t)
			t = next_check;
		if (fault_ms(s) < t)
			t = fault_ms(s);
		if (t > s->now)
			s->now = t;
		sim_net_msg_t m;
		while (sim_net_pop(&s->net, s->now, &m)) {
			if (m.to < s->nodes)
				cl_node_deliver(s, &m);
			else
				cl_client_deliver(s, &m);
		}
		sim_heap_entry_t e;
		while (sim_heap_next_ms(&s->timers) <= s->now &&
		       sim_heap_pop(&s->timers, &e) == SH_OK) {
			uint32_t idx = (uint32_t)e.value;
			if (e.value >> 32 == 0)
				cl_node_wake(s, idx, e.at_ms);
			else
				cl_client_wake(s, idx, e.at_ms);
		}
		if (s->now >= fault_ms(s))
			faults(s);
		if (s->now >= next_check) {
			check(s);
			next_check += CL_CHECK_MS;
		}
		cl_nodes_flush(s);
	}
}

static int sim_init(cl_sim_t *s)
{
	sim_net_cfg_t nc;
	sh_rand_seed(&s->rng, s->seed);
	sh_rand_seed(&s->net_rng, s->seed ^ 0x434c55535445524eULL);
	sim_net_cfg_default(&nc, s->nodes + s->clients + 1);
	nc.faults.loss = s->loss;
	nc.faults.dup = 0.01;
	nc.faults.reorder = 0.05;
	nc.faults.reorder_ms = 10;
	nc.msg_bytes_max = 1u << 24;
	s->verify_check_ms = UINT64_MAX;
	s->converged_ms = UINT64_MAX;
	s->hint_msg = malloc(sizeof(*s->hint_msg));
	s->cold_acked = calloc(s->cold + 1, 1);
	if (s->hint_msg == NULL || s->cold_acked == NULL)
		return SH_ENOMEM;
	if (sim_net_init(&s->net, &nc, &s->net_rng) != SH_OK ||
	    sim_heap_init(&s->timers, CL_TIMERS_MAX) != SH_OK)
		return SH_ENOMEM;
	cl_clients_init(s);
	for (uint32_t i = 0; i < s->nodes; i++)
		if (cl_node_boot(s, i) != SH_OK)
			return SH_ENOMEM;
	return SH_OK;
}

static void sim_free(cl_sim_t *s)
{
	for (uint32_t i = 0; i < s->nodes; i++)
		cl_node_free(s, i);
	cl_clients_free(s);
	for (size_t w = 0; w < s->writes_len; w++)
		sh_buf_free(&s->writes[w].ctx);
	free(s->writes);
	free(s->elems);
	free(s->hint_msg);
	free(s->cold_acked);
	sh_buf_free(&s->cold_ctx);
	sim_net_free(&s->net);
	sim_heap_free(&s->timers);
	sh_buf_free(&s->buf);
	sh_buf_free(&s->reply);
}

/* ---- the report ---- */

static void report_run(const cl_sim_t *s)
{
	static const char *const names[CL_OP__COUNT] = {
	    "kv_get",      "kv_put",   "kv_delete",  "dt_get",
	    "ctr_inc",     "set_add",  "set_remove", "cart_update",
	    "cart_remove", "cold_put", "cold_delete"};
	printf("cluster ops (acknowledged/sent):");
	for (int k = 0; k < CL_OP__COUNT; k++)
		printf(" %s=%" PRIu64 "/%" PRIu64, names[k], s->n.acked[k],
		       s->n.ops[k]);
	printf("\n");
	printf("cluster faults: virtual_s=%.1f crashes=%" PRIu64
	       " (with a batch open: %" PRIu64 ") restarts=%" PRIu64
	       " pauses=%" PRIu64 " splits=%" PRIu64 " status_503=%" PRIu64
	       " status_4xx=%" PRIu64 " unreachable=%" PRIu64
	       " timeouts=%" PRIu64 " late_answers=%" PRIu64 "\n",
	       (double)s->now / 1000.0, s->n.crashes, s->n.crashes_open_batch,
	       s->n.restarts, s->n.pauses, s->n.splits, s->n.status_503,
	       s->n.status_4xx, s->n.unreachable, s->n.timeouts, s->n.late);
	printf("cluster membership: wipes=%" PRIu64
	       " (deferred to crashes: %" PRIu64 ") joins=%" PRIu64
	       " leaves=%" PRIu64 "\n",
	       s->n.wipes, s->n.wipes_deferred, s->n.joins, s->n.leaves);
	coord_stats_t sum, one;
	hint_stats_t hsum, hone;
	memset(&sum, 0, sizeof(sum));
	memset(&hsum, 0, sizeof(hsum));
	uint64_t rejected = 0, received = 0;
	for (uint32_t i = 0; i < s->nodes; i++) {
		cl_node_hint_stats(s, i, &hone);
		hsum.replayed += hone.replayed;
		hsum.failed += hone.failed;
		hsum.batches += hone.batches;
		hsum.redirected += hone.redirected;
		received += s->node[i].hints_received;
		cl_node_stats(s, i, &one);
		sum.forwards += one.forwards;
		sum.forwards_duplicate += one.forwards_duplicate;
		sum.read_repairs += one.read_repairs;
		sum.hints_stored += one.hints_stored;
		sum.quorum_failures += one.quorum_failures;
		sum.type_conflicts += one.type_conflicts;
		for (int r = 0; r < COORD_REJECT__COUNT; r++)
			if (r != COORD_REJECT_STALE)
				rejected += one.rejected[r];
	}
	printf("coord: forwards=%" PRIu64 " forwards_duplicate=%" PRIu64
	       " read_repairs=%" PRIu64 " hints_stored=%" PRIu64
	       " quorum_failures=%" PRIu64 " type_conflicts=%" PRIu64
	       " rejected=%" PRIu64 "\n",
	       sum.forwards, sum.forwards_duplicate, sum.read_repairs,
	       sum.hints_stored, sum.quorum_failures, sum.type_conflicts,
	       rejected);
	printf("hints: replayed=%" PRIu64 " batches=%" PRIu64 " failed=%" PRIu64
	       " redirected=%" PRIu64 " received=%" PRIu64 "\n",
	       hsum.replayed, hsum.batches, hsum.failed, hsum.redirected,
	       received);
	uint64_t ak, ax, mv, mk;
	cl_repair_totals(s, &ak, &ax, &mv, &mk);
	printf("repair: aae_exchanges=%" PRIu64 " aae_keys_repaired=%" PRIu64
	       " handoff_moves=%" PRIu64 " handoff_keys=%" PRIu64
	       " tombstones_reaped=%" PRIu64 " leaves_abandoned=%" PRIu64
	       " messages_refused=%" PRIu64 "\n",
	       ax, ak, mv, mk, cl_repair_reaped(s), s->n.leaves_abandoned,
	       s->n.repair_refused);
	if (!s->members_agree)
		cl_members_report(s);
	const sim_net_stats_t *ns = sim_net_stats(&s->net, SIM_NET_ALL);
	printf("net: sent=%" PRIu64 " delivered=%" PRIu64 " lost=%" PRIu64
	       " duplicated=%" PRIu64 " dropped_crash=%" PRIu64
	       " stream_failed=%" PRIu64 "\n",
	       ns->sent, ns->delivered, ns->dropped_loss, ns->duplicated,
	       ns->dropped_crash, ns->stream_failed);
	printf("verify: rounds=%" PRIu32 " unconverged_keys=%" PRIu32
	       " members_agree=%s stray_keys=%" PRIu32 "\n",
	       s->round, s->unconverged, s->members_agree ? "yes" : "no",
	       s->stray_keys);
}

static int report(cl_sim_t *s)
{
	uint64_t aw, lw, ac, lc;
	report_run(s);
	cl_check(s, &aw, &lw, &ac, &lc);
	uint64_t ak, ax, mv, mk;
	cl_repair_totals(s, &ak, &ax, &mv, &mk);
	int failed = lw > 0 || lc > 0 || aw + ac == 0 ||
	             s->n.dot_conflicts > 0 || s->n.status_4xx > 0 ||
	             s->unconverged > 0 || !s->members_agree ||
	             s->n.repair_refused > 0 || s->n.resurrected > 0;
	if (failed)
		cl_replay(s);
	int converged = s->converged_ms != UINT64_MAX;
	uint64_t conv_ms =
	    converged ? s->converged_ms - s->heal_ms : CL_CONVERGE_CAP;
	printf("cluster nodes=%" PRIu32 " seed=%" PRIu64
	       " acked_writes=%" PRIu64 " lost_acked_writes=%" PRIu64
	       " acked_crdt_ops=%" PRIu64 " lost_crdt_ops=%" PRIu64
	       " converged=%s converge_s=%.1f aae_keys_repaired=%" PRIu64 "\n",
	       s->start_nodes, s->seed, aw, lw, ac, lc,
	       converged ? "yes" : "no", (double)conv_ms / 1000.0, ak);
	return failed;
}

int sim_cluster_main(int argc, char **argv)
{
	static cl_sim_t s; /* large: keep it off the stack */
	memset(&s, 0, sizeof(s));
	int help = argc > 1 && strcmp(argv[argc - 1], "--help") == 0;
	if (help || parse_args(&s, argc, argv) != SH_OK) {
		fprintf(help ? stdout : stderr,
		        "usage: shoal-sim cluster --nodes 3..%d --seed S "
		        "--clients 1..%d --ops K [--loss 0..1) [--cold K] "
		        "[--crash] [--partition|--partitions-fault] [--wipe] "
		        "[--join] [--leave] [--aae-repair-bytes B]\n",
		        CL_NODES_MAX, CL_CLIENTS_MAX);
		return help ? 0 : 2;
	}
	g_sim = &s;
	sh_assert_hook_fn old = sh_assert_set_hook(assert_hook);
	if (sim_init(&s) != SH_OK) {
		fprintf(stderr, "shoal-sim cluster: out of memory\n");
		sim_free(&s);
		return 2;
	}
	run(&s);
	int failed = report(&s);
	fflush(stdout);
	sim_free(&s);
	sh_assert_set_hook(old);
	g_sim = NULL;
	return failed ? 1 : 0;
}
