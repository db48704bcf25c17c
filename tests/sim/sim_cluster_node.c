/*
 * sim_cluster_node.c - one simulated shoal node of `shoal-sim cluster`:
 * SWIM (gossip/swim.h), the request coordinator (node/coord.h) and a
 * memory store (node/store.h), driven the way node/node_loop.c drives
 * them, on the simulated network (sim_net.h).
 *
 * A node's step is one turn of its event loop: every input due at one
 * virtual millisecond (datagrams, stream messages, client requests, its
 * timer) is fed to the cores inside one store batch, opened by the first
 * of them; at the end of the millisecond cl_nodes_flush hands the SWIM
 * outputs to the network and turns SWIM's member events into
 * coord_set_members (alive/suspect up, dead down, left left, as
 * node__members_changed does), commits the batch (group commit), and only
 * then sends the coordinator's messages and answers its clients. A crash
 * that comes within the millisecond loses the open batch and every output
 * of it. Datagrams
 * carry SWIM packets; SWIM full states, coordinator messages and client
 * traffic travel as stream messages (the shell's TCP frames) behind a tag
 * byte.
 *
 * A crash drops the node's SWIM and coordinator state and its open batch
 * (store_mem_crash) but keeps every committed write; a restart builds new
 * SWIM and coordinator state over the same store, so the node keeps its
 * data and its epoch (its actor), and joins again through every other
 * node. A wipe is a crash that also loses the store: the node comes back
 * empty, with a new epoch (a new actor). A spare (--join) boots with an
 * empty store and joins through the members; a leaving node (--leave)
 * announces "left" (swim_leave) and stops for good once SWIM has spread
 * it (ready.left_done), its store kept aside, no longer part of the
 * cluster.
 *
 * Every node also runs hinted handoff replay (sim_cluster_hint.c): SWIM's
 * up, down and left events drive it, and its turn comes in each step
 * before the commit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "ring/ring.h"
#include "tests/sim/sim_cluster.h"

/* SWIM runs memberlist's LAN timings five times faster: a probe every
 * 200 ms, so that deaths are detected within a run of a few seconds. */
#define CL_SWIM_SCALE 0.2

/* A node that left: its last packets arrive, then the network drops
 * whatever else is sent to it. */
#define CL_GONE_NET_MS 1000

/* ---- names ---- */

/* "<prefix><i>" into i, or -1 */
static int id_of(const cl_sim_t *s, const char *str, char prefix)
{
	char *end;
	if (str == NULL || str[0] != prefix || str[1] < '0' || str[1] > '9')
		return -1;
	unsigned long v = strtoul(str + 1, &end, 10);
	if (*end != '\0' || v >= s->nodes)
		return -1;
	return (int)v;
}

void cl_node_stats(const cl_sim_t *s, uint32_t i, coord_stats_t *out)
{
	const cl_node_t *n = &s->node[i];
	*out = n->stats_sum;
	if (!n->up)
		return;
	const coord_stats_t *c = coord_stats(&n->coord);
	out->forwards += c->forwards;
	out->forwards_served += c->forwards_served;
	out->forwards_duplicate += c->forwards_duplicate;
	out->read_repairs += c->read_repairs;
	out->hints_stored += c->hints_stored;
	out->quorum_failures += c->quorum_failures;
	out->type_conflicts += c->type_conflicts;
	out->store_errors += c->store_errors;
	out->late_answers += c->late_answers;
	for (int r = 0; r < COORD_REJECT__COUNT; r++)
		out->rejected[r] += c->rejected[r];
}

/* ---- sending ---- */

static void send_stream(cl_sim_t *s, uint32_t from, uint32_t to, uint8_t tag,
                        const uint8_t *data, size_t len)
{
	sh_buf_reset(&s->buf);
	int rc = sh_buf_append_u8(&s->buf, tag);
	if (rc == SH_OK && len > 0)
		rc = sh_buf_append(&s->buf, data, len);
	sh_assert(rc == SH_OK);
	rc = sim_net_send_stream(&s->net, from, to, s->buf.data, s->buf.len,
	                         s->now);
	sh_assert(rc == SH_OK);
}

static coord_member_state_t member_state(swim_state_t st)
{
	switch (st) {
	case SWIM_ALIVE:
	case SWIM_SUSPECT: return COORD_UP;
	case SWIM_DEAD: return COORD_DOWN;
	default: return COORD_LEFT;
	}
}

/* As node__members_changed: every SWIM member, with its state. */
static void members_changed(cl_node_t *n)
{
	size_t count = swim_member_count(&n->swim);
	coord_member_t *m = calloc(count ? count : 1, sizeof(*m));
	sh_assert(m != NULL);
	for (size_t k = 0; k < count; k++) {
		swim_member_info_t info;
		sh_assert(swim_member_at(&n->swim, k, &info) == SH_OK);
		m[k].name = info.name;
		m[k].state = member_state(info.state);
	}
	int rc = coord_set_members(&n->coord, m, count);
	sh_assert(rc == SH_OK);
	n->members_dirty = 0;
	free(m);
}

/* SWIM's packets and streams into the network; returns its deadline.
 * *left_done: our "left" has been spread. */
static uint64_t swim_outputs(cl_sim_t *s, uint32_t i, int *left_done)
{
	cl_node_t *n = &s->node[i];
	swim_ready_t r;
	swim_ready(&n->swim, &r);
	for (size_t k = 0; k < r.packets_len; k++) {
		int to = id_of(s, r.packets[k].to, 'a');
		if (to >= 0)
			sim_net_send(&s->net, i, (uint32_t)to,
			             r.packets[k].data, r.packets[k].len,
			             s->now);
	}
	for (size_t k = 0; k < r.streams_len; k++) {
		int to = id_of(s, r.streams[k].to, 'a');
		if (to >= 0)
			send_stream(s, i, (uint32_t)to, CL_TAG_STATE,
			            r.streams[k].data, r.streams[k].len);
	}
	for (size_t k = 0; k < r.events_len; k++) {
		if (r.events[k].kind != SWIM_EV_UPDATED &&
		    r.events[k].kind != SWIM_EV_REFUSED)
			n->members_dirty = 1;
		cl_hint_event(s, i, &r.events[k]);
		cl_repair_event(s, i, &r.events[k]);
	}
	if (r.events_lost)
		n->members_dirty = 1;
	*left_done = r.left_done;
	uint64_t due = r.next_deadline_ms;
	swim_advance(&n->swim);
	return due;
}

/* The coordinator's outputs, after the commit; returns its deadline. */
static uint64_t coord_outputs(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	coord_ready_t r;
	coord_ready(&n->coord, &r);
	for (size_t k = 0; k < r.msg_count; k++) {
		int to = id_of(s, r.msgs[k].to, 'n');
		sh_assert(to >= 0);
		send_stream(s, i, (uint32_t)to, CL_TAG_COORD, r.msgs[k].data,
		            r.msgs[k].len);
	}
	for (size_t k = 0; k < r.result_count; k++)
		cl_client_result(s, i, &r.results[k]);
	if (r.hinted_count > 0 || r.hinted_more)
		n->hints_recount = 1;
	uint64_t due = r.next_deadline_ms;
	coord_advance(&n->coord);
	return due;
}

/* ---- one step ---- */

/* The node's batch for this millisecond, opened by its first input. */
static void step_begin(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	if (n->in_step)
		return;
	int rc = store_begin(&n->store);
	sh_assert(rc == SH_OK);
	n->in_step = 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void node_gone(cl_sim_t *s, uint32_t i);

/* Persist, then send: the group-commit order of node__flush_once. */
static void step_end(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	int left_done = 0;
	n->in_step = 0;
	uint64_t due = swim_outputs(s, i, &left_done);
	/* as the node: a joiner's coordinator sees members only once a
	 * full state came (seed 1031) */
	if (n->members_dirty && !(coord_joining(&n->coord) &&
	                          swim_stats(&n->swim)->states_merged == 0))
		members_changed(n);
	if (left_done)
		cl_repair_left(s, i);
	due = min_u64(due, cl_hint_turn(s, i));
	due = min_u64(due, cl_repair_turn(s, i));
	int rc = store_commit(&n->store);
	if (rc != SH_OK)
		coord_batch_failed(&n->coord, rc);
	cl_hint_acks(s, i, rc == SH_OK);
	due = min_u64(due, cl_repair_committed(s, i, rc == SH_OK));
	if (n->tap) {
		n->tap = 0;
		cl_tap(s, i);
	}
	due = min_u64(due, coord_outputs(s, i));
	if (n->slot == CL_SLOT_LEAVING && n->leave_phase == CL_LEAVE_DONE)
		node_gone(s, i);
	else
		cl_schedule(s, 0, i, &n->sched, due);
}

/* 1 if a coordinator message is a FORWARD (coord_wire.c's format: an
 * array whose second item is the type, 5). */
static int is_forward(const uint8_t *p, size_t len)
{
	sh_mp_reader_t r;
	uint32_t arity;
	uint64_t version, type;
	sh_mp_reader_init(&r, p, len);
	return sh_mp_get_array(&r, &arity) == SH_OK && arity >= 3 &&
	       sh_mp_get_u64(&r, &version) == SH_OK &&
	       sh_mp_get_u64(&r, &type) == SH_OK && type == 5;
}

static void deliver_stream(cl_sim_t *s, const sim_net_msg_t *m)
{
	cl_node_t *n = &s->node[m->to];
	const uint8_t *body = m->bytes + 1;
	size_t len = m->len - 1;
	char from[16];
	snprintf(from, sizeof(from), "a%" PRIu32, m->from);
	switch (m->bytes[0]) {
	case CL_TAG_STATE:
		sh_buf_reset(&s->reply);
		swim_recv_state(&n->swim, s->now, from, body, len, &s->reply);
		if (s->reply.len > 0)
			send_stream(s, m->to, m->from, CL_TAG_STATE_REPLY,
			            s->reply.data, s->reply.len);
		break;
	case CL_TAG_STATE_REPLY:
		swim_recv_state(&n->swim, s->now, from, body, len, NULL);
		break;
	case CL_TAG_COORD:
		from[0] = 'n';
		n->tap |= is_forward(body, len);
		coord_recv(&n->coord, s->now, from, body, len);
		break;
	case CL_TAG_HINT: cl_hint_recv(s, m->to, m->from, body, len); break;
	case CL_TAG_AAE:
	case CL_TAG_XFER:
	case CL_TAG_REAP:
		cl_repair_recv(s, m->to, m->from, m->bytes[0], body, len);
		break;
	case CL_TAG_REQ:
		if (len >= 8)
			cl_client_request(s, m->to, m->from - s->nodes,
			                  cl_seq_get(body));
		break;
	default: sh_assert(0);
	}
}

void cl_nodes_flush(cl_sim_t *s)
{
	for (uint32_t i = 0; i < s->nodes; i++)
		if (s->node[i].in_step)
			step_end(s, i);
}

void cl_node_deliver(cl_sim_t *s, const sim_net_msg_t *m)
{
	cl_node_t *n = &s->node[m->to];
	if (!n->up || m->kind == SIM_NET_STREAM_FAILED || m->len == 0)
		return; /* the cores retry on their own timers */
	step_begin(s, m->to);
	if (m->kind == SIM_NET_DGRAM) {
		char from[16];
		snprintf(from, sizeof(from), "a%" PRIu32, m->from);
		swim_recv(&n->swim, s->now, from, m->bytes, m->len);
	} else {
		deliver_stream(s, m);
	}
}

void cl_node_wake(cl_sim_t *s, uint32_t i, uint64_t at_ms)
{
	cl_node_t *n = &s->node[i];
	if (n->slot == CL_SLOT_GONE && at_ms == n->sched) {
		n->sched = UINT64_MAX;
		sh_assert(sim_net_crash(&s->net, i, s->now) == SH_OK);
		return;
	}
	if (!n->up || at_ms != n->sched)
		return;
	n->sched = UINT64_MAX;
	if (n->paused)
		return; /* cl_node_resume wakes it */
	step_begin(s, i);
	swim_tick(&n->swim, s->now);
	coord_tick(&n->coord, s->now);
}

/* ---- life cycle ---- */

/* SWIM and the coordinator over the node's store; join through seeds. */
static int node_start(cl_sim_t *s, uint32_t i, const char *const *seeds,
                      size_t seeds_len)
{
	cl_node_t *n = &s->node[i];
	char name[16], addr[16], http[16];
	snprintf(name, sizeof(name), "n%" PRIu32, i);
	snprintf(addr, sizeof(addr), "a%" PRIu32, i);
	snprintf(http, sizeof(http), "h%" PRIu32, i);
	swim_config_t sc;
	swim_config_default(&sc);
	sc.name = name;
	sc.addr = addr;
	sc.http_addr = http;
	sc.partitions = RING_PARTITIONS_DEFAULT;
	sc.seed = sh_rand_u64(&s->rng);
	sc.time_scale = CL_SWIM_SCALE;
	sc.members_max = s->nodes + 8;
	int rc = swim_init(&n->swim, &sc);
	if (rc != SH_OK)
		return rc;
	coord_config_t cc;
	coord_config_default(&cc);
	cc.name = name;
	cc.epoch = n->epoch;
	cc.id_base = sh_rand_u64(&s->rng);
	cc.inflight_max = 1024;
	/* as the node: with seeds, no requests until the members are known
	 * (seed 145: a joiner took a write as the key's only replica) */
	cc.joining = seeds_len > 0;
	/* every writer goes through the tap, so anti-entropy sees it all */
	rc = store_tap_open(&n->store, &n->disk);
	if (rc == SH_OK)
		rc = coord_init(&n->coord, &cc, &n->store);
	if (rc != SH_OK) {
		store_close(&n->store);
		swim_free(&n->swim);
		return rc;
	}
	step_begin(s, i);
	rc = cl_hint_open(s, i);
	if (rc == SH_OK && (rc = cl_repair_open(s, i)) != SH_OK)
		hint_free(&n->hint);
	if (rc != SH_OK) {
		store_abort(&n->store);
		n->in_step = 0;
		coord_free(&n->coord);
		store_close(&n->store);
		swim_free(&n->swim);
		return rc;
	}
	n->up = 1;
	n->members_dirty = 0;
	n->sched = UINT64_MAX;
	step_begin(s, i);
	swim_join(&n->swim, s->now, seeds, seeds_len);
	return SH_OK;
}

/* A fresh store for node i, with a new epoch drawn from its rng. */
static int fresh_store(cl_node_t *n)
{
	int rc = store_mem_open(&n->disk, NULL);
	if (rc != SH_OK)
		return rc;
	n->has_store = 1;
	return store_epoch(&n->disk, &n->rng, &n->epoch);
}

/* The addresses of every member but i: seeds to join through. */
static size_t member_seeds(const cl_sim_t *s, uint32_t i, char addrs[][16],
                           const char **seeds)
{
	size_t len = 0;
	for (uint32_t j = 0; j < s->nodes; j++) {
		if (j == i || !cl_is_member(s, j))
			continue;
		snprintf(addrs[len], sizeof(addrs[len]), "a%" PRIu32, j);
		seeds[len] = addrs[len];
		len++;
	}
	return len;
}

int cl_node_boot(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	uint64_t st = s->seed ^ (0x6e6f6465ULL << 32) ^ i;
	sh_rand_seed(&n->rng, sh_splitmix64(&st));
	if (i >= s->start_nodes) { /* a spare: it joins later */
		n->slot = CL_SLOT_SPARE;
		return sim_net_crash(&s->net, i, s->now);
	}
	int rc = fresh_store(n);
	if (rc != SH_OK)
		return rc;
	const char *seed = "a0";
	return node_start(s, i, &seed, i == 0 ? 0 : 1);
}

int cl_node_join(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	const char *seeds[CL_NODES_MAX];
	char addrs[CL_NODES_MAX][16];
	sh_assert(n->slot == CL_SLOT_SPARE && !n->up);
	size_t len = member_seeds(s, i, addrs, seeds);
	int rc = fresh_store(n);
	if (rc != SH_OK)
		return rc;
	sh_assert(sim_net_restart(&s->net, i) == SH_OK);
	n->slot = CL_SLOT_MEMBER;
	return node_start(s, i, seeds, len);
}

int cl_node_leave(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(n->slot == CL_SLOT_MEMBER && n->up && !n->paused);
	step_begin(s, i);
	int rc = cl_repair_leave(s, i);
	if (rc == SH_OK)
		n->slot = CL_SLOT_LEAVING;
	return rc;
}

static void stats_add(coord_stats_t *sum, const coord_stats_t *c)
{
	sum->forwards += c->forwards;
	sum->forwards_served += c->forwards_served;
	sum->forwards_duplicate += c->forwards_duplicate;
	sum->read_repairs += c->read_repairs;
	sum->hints_stored += c->hints_stored;
	sum->quorum_failures += c->quorum_failures;
	sum->type_conflicts += c->type_conflicts;
	sum->store_errors += c->store_errors;
	sum->late_answers += c->late_answers;
	for (int r = 0; r < COORD_REJECT__COUNT; r++)
		sum->rejected[r] += c->rejected[r];
}

/* The process of node i ends: its cores go, the open batch is lost,
 * what it committed stays on its disk. */
static void node_stop(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(n->up);
	n->in_step = 0;
	stats_add(&n->stats_sum, coord_stats(&n->coord));
	cl_repair_close(s, i);
	cl_hint_close(s, i);
	coord_free(&n->coord);
	swim_free(&n->swim);
	if (store_in_batch(&n->store))
		store_abort(&n->store);
	store_close(&n->store);
	store_mem_crash(&n->disk);
	n->up = 0;
	n->sched = UINT64_MAX;
	n->down_ms = s->now;
}

void cl_node_crash(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(n->up);
	sh_assert(sim_net_crash(&s->net, i, s->now) == SH_OK);
	s->n.crashes_open_batch += (uint64_t)n->in_step;
	node_stop(s, i);
}

void cl_node_wipe(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	uint64_t old = n->epoch;
	cl_node_crash(s, i);
	store_close(&n->disk);
	n->has_store = 0;
	int rc = fresh_store(n);
	sh_assert(rc == SH_OK && n->epoch != old);
}

/* The leaving node's "left" has been spread: the process exits. What it
 * sent last is on the wire already and still arrives (a crash would drop
 * it); the network forgets the node a while later (CL_GONE_NET_MS). */
static void node_gone(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(!n->in_step && n->up);
	node_stop(s, i);
	n->slot = CL_SLOT_GONE;
	cl_schedule(s, 0, i, &n->sched, s->now + CL_GONE_NET_MS);
}

int cl_node_restart(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	uint64_t epoch = 0;
	const char *seeds[CL_NODES_MAX];
	char addrs[CL_NODES_MAX][16];
	size_t len = 0;
	sh_assert(!n->up && n->slot == CL_SLOT_MEMBER);
	sh_assert(sim_net_restart(&s->net, i) == SH_OK);
	int rc = store_epoch(&n->disk, &n->rng, &epoch);
	if (rc != SH_OK)
		return rc;
	/* a restart keeps its store's epoch: the one it started with, or a
	 * later one its coordinator renewed to (node/coord.h, ACTOR RENEWAL) */
	sh_assert(epoch >= n->epoch);
	n->epoch = epoch;
	len = member_seeds(s, i, addrs, seeds);
	return node_start(s, i, seeds, len);
}

void cl_node_pause(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(n->up && !n->paused);
	sh_assert(sim_net_pause(&s->net, i) == SH_OK);
	n->paused = 1;
}

void cl_node_resume(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	sh_assert(n->paused);
	sh_assert(sim_net_resume(&s->net, i, s->now) == SH_OK);
	n->paused = 0;
	n->sched = UINT64_MAX;
	cl_schedule(s, 0, i, &n->sched, s->now + 1);
}

void cl_node_free(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	if (n->up)
		node_stop(s, i);
	if (n->has_store)
		store_close(&n->disk);
	n->has_store = 0;
	sh_buf_free(&n->hint_acks);
}

void cl_node_hint_stats(const cl_sim_t *s, uint32_t i, hint_stats_t *out)
{
	const cl_node_t *n = &s->node[i];
	hint_stats_t hs;
	*out = n->hint_sum;
	if (!n->up)
		return;
	hint_stats(&n->hint, &hs);
	out->replayed += hs.replayed;
	out->failed += hs.failed;
	out->batches += hs.batches;
	out->redirected += hs.redirected;
}

/* ---- membership ---- */

int cl_is_member(const cl_sim_t *s, uint32_t i)
{
	return s->node[i].slot == CL_SLOT_MEMBER ||
	       s->node[i].slot == CL_SLOT_LEAVING;
}

uint32_t cl_member_at(const cl_sim_t *s, uint32_t i)
{
	for (uint32_t k = 0; k < s->nodes; k++) {
		uint32_t j = (i + k) % s->nodes;
		if (s->node[j].slot == CL_SLOT_MEMBER)
			return j;
	}
	sh_assert(0);
	return 0;
}

uint32_t cl_leaving(const cl_sim_t *s)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < s->nodes; i++)
		count += s->node[i].slot == CL_SLOT_LEAVING;
	return count;
}

/* ---- views ---- */

/* 1 if node i knows that node j left: SWIM does not list it otherwise
 * (a member it declared dead and then forgot is not listed either), and
 * its coordinator's ring no longer holds it (a dead member would keep
 * its place). */
static int knows_left(const cl_sim_t *s, uint32_t i, uint32_t j)
{
	char name[16];
	swim_member_info_t info;
	snprintf(name, sizeof(name), "n%" PRIu32, j);
	if (swim_member_get(&s->node[i].swim, name, &info) == SH_OK &&
	    info.state != SWIM_LEFT)
		return 0;
	return ring_member_find(coord_ring(&s->node[i].coord), name) < 0;
}

/* 1 if every live node knows that node j left. */
static int listed_left(const cl_sim_t *s, uint32_t j)
{
	for (uint32_t i = 0; i < s->nodes; i++)
		if (s->node[i].up && !knows_left(s, i, j))
			return 0;
	return 1;
}

int cl_all_listed(const cl_sim_t *s, int alive_only)
{
	char name[16];
	swim_member_info_t info;
	for (uint32_t j = 0; j < s->nodes; j++) {
		if (alive_only && s->node[j].slot == CL_SLOT_GONE &&
		    !listed_left(s, j))
			return 0;
		if (!s->node[j].up)
			continue;
		snprintf(name, sizeof(name), "n%" PRIu32, j);
		for (uint32_t i = 0; i < s->nodes; i++) {
			if (!s->node[i].up)
				continue;
			if (swim_member_get(&s->node[i].swim, name, &info) !=
			    SH_OK)
				return 0;
			if (info.state != SWIM_ALIVE &&
			    (alive_only || info.state != SWIM_SUSPECT))
				return 0;
		}
	}
	return 1;
}

void cl_members_report(const cl_sim_t *s)
{
	static const char *const st[] = {"alive", "suspect", "dead", "left"};
	char name[16];
	swim_member_info_t info;
	for (uint32_t i = 0; i < s->nodes; i++) {
		for (uint32_t j = 0; s->node[i].up && j < s->nodes; j++) {
			int gone = s->node[j].slot == CL_SLOT_GONE;
			snprintf(name, sizeof(name), "n%" PRIu32, j);
			if (gone && !knows_left(s, i, j))
				printf("members: n%" PRIu32
				       " does not know that n%" PRIu32
				       " left (its ring holds it)\n",
				       i, j);
			if (i == j || !s->node[j].up ||
			    swim_member_get(&s->node[i].swim, name, &info) !=
			        SH_OK ||
			    info.state == SWIM_ALIVE || info.state > SWIM_LEFT)
				continue;
			printf("members: n%" PRIu32 " lists n%" PRIu32
			       " as %s (incarnation %" PRIu64 "), not alive\n",
			       i, j, st[info.state], info.incarnation);
		}
	}
}

int cl_local_obj(cl_sim_t *s, uint32_t i, uint32_t k, coord_obj_t *obj)
{
	cl_node_t *n = &s->node[i];
	const char *bucket;
	char key[32];
	store_key_t sk;
	const uint8_t *val;
	size_t len;
	coord_obj_free(obj);
	sh_assert(n->up);
	cl_key_name(k, &bucket, key, sizeof(key));
	uint64_t h = ring_key_hash(bucket, strlen(bucket), key, strlen(key));
	uint32_t p = ring_partition(coord_ring(&n->coord), h);
	int rc = store_key_object(&sk, (uint16_t)p, bucket, strlen(bucket), key,
	                          strlen(key));
	if (rc == SH_OK)
		rc = store_get(&n->store, &sk, &val, &len);
	if (rc == SH_ENOTFOUND)
		return SH_OK;
	if (rc == SH_OK)
		rc = coord_obj_decode(obj, val, len, NULL);
	return rc;
}
