/*
 * sim_cluster_repair.c - ownership handoff (node/xfer.h), active
 * anti-entropy (node/aae.h) and tombstone reaping (node/reap.h) in
 * `shoal-sim cluster`: the node's pure drivers, run as node/node_xfer.c,
 * node/node_aae.c and node/node_reap.c run them in the shell, over the
 * node's store tap (node/store_tap.h: every writer goes through it, so
 * the Merkle trees see every write). The reaper's grace is 30 s and its
 * passes 2 s apart, so that deletes are reaped within a run.
 *
 * In a node's step (sim_cluster_node.c): CL_TAG_XFER and CL_TAG_AAE
 * messages are fed inside the step's store batch (a HANDOFF_BATCH or a
 * REPAIR joins records into it); before the commit xfer_turn plans and
 * streams moves and drops what was handed off, and the graceful leave
 * advances and the reaper ticks; after the commit xfer's acks leave
 * (xfer_committed), anti-entropy ticks and sends (aae_tick, aae_ready)
 * and the reaper sends, so whatever a message reports as stored (or
 * deleted) is durable first.
 *
 * GRACEFUL LEAVE, as node_xfer.c: xfer_leave hands every partition off
 * (hints whose primary is dead go to the keys' owners at once); when
 * xfer_leave_done, swim_leave announces it; once SWIM has spread it,
 * xfer_sweep hands off what coordinators wrote here meanwhile; when that
 * is done too, the node stops (CL_LEAVE_DONE). A handoff phase that
 * takes over CL_LEAVE_TIMEOUT_MS is abandoned (the node stays a member);
 * a sweep that does stops the node anyway.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "tests/sim/sim_cluster.h"

/* Anti-entropy runs the default schedule five times faster, as SWIM. */
#define CL_AAE_INTERVAL_MS  400
#define CL_LEAVE_TIMEOUT_MS 60000
#define CL_LEAVE_POLL_MS    200 /* the leave's progress is looked at */
#define CL_REAP_GRACE_MS    30000
#define CL_REAP_PASS_MS     2000

static int node_of(const cl_sim_t *s, const char *name)
{
	uint32_t id;
	if (name == NULL ||
	    cl_parse_id((const uint8_t *)name, strlen(name), 'n', &id) !=
	        SH_OK ||
	    id >= s->nodes)
		return -1;
	return (int)id;
}

static void send_tagged(cl_sim_t *s, uint32_t from, int to, uint8_t tag,
                        const uint8_t *data, size_t len)
{
	if (to < 0)
		return; /* not a node: the driver resends or times out */
	sh_buf_reset(&s->buf);
	int rc = sh_buf_append_u8(&s->buf, tag);
	if (rc == SH_OK)
		rc = sh_buf_append(&s->buf, data, len);
	sh_assert(rc == SH_OK);
	rc = sim_net_send_stream(&s->net, from, (uint32_t)to, s->buf.data,
	                         s->buf.len, s->now);
	sh_assert(rc == SH_OK);
}

/* xfer's cfg.send */
static void xfer_send(void *arg, const char *to, const uint8_t *data,
                      size_t len)
{
	cl_node_t *n = arg;
	send_tagged(n->sim, n->id, node_of(n->sim, to), CL_TAG_XFER, data, len);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- life ---- */

int cl_repair_open(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	char self[16];
	xfer_config_t xc;
	aae_config_t ac;
	store_tap_hooks_t h;
	snprintf(self, sizeof(self), "n%" PRIu32, i);
	n->sim = s;
	n->id = i;
	n->leave_phase = CL_LEAVE_NONE;
	xfer_config_default(&xc);
	xc.self = self;
	xc.send = xfer_send;
	xc.send_arg = n;
	xc.bucket = n->hint.bucket; /* one budget, as node_xfer.c */
	xc.id_base = sh_rand_u64(&s->rng) >> 2;
	int rc = xfer_init(&n->xfer, &xc, &n->store, &n->coord);
	if (rc != SH_OK)
		return rc;
	aae_config_default(&ac);
	ac.self = self;
	ac.interval_ms = CL_AAE_INTERVAL_MS;
	if (s->aae_repair_bytes > 0)
		ac.repair_bytes_per_msg = s->aae_repair_bytes;
	ac.seed = sh_rand_u64(&s->rng);
	rc = aae_init(&n->aae, &ac, &n->coord, &n->store);
	if (rc != SH_OK) {
		aae_free(&n->aae);
		xfer_free(&n->xfer);
		return rc;
	}
	reap_config_t rc_cfg;
	reap_config_default(&rc_cfg);
	rc_cfg.self = self;
	rc_cfg.grace_ms = CL_REAP_GRACE_MS;
	rc_cfg.pass_interval_ms = CL_REAP_PASS_MS;
	rc = reap_init(&n->reap, &rc_cfg, &n->coord, &n->store);
	if (rc != SH_OK) {
		aae_free(&n->aae);
		xfer_free(&n->xfer);
		return rc;
	}
	aae_tap_hooks(&n->aae, &h);
	rc = store_tap_add_hooks(&n->store, &h);
	if (rc != SH_OK) {
		reap_free(&n->reap);
		aae_free(&n->aae);
		xfer_free(&n->xfer);
		return rc;
	}
	return SH_OK;
}

void cl_repair_close(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	handoff_stats_t hs;
	xfer_stats_t xs;
	const aae_stats_t *as = aae_stats(&n->aae);
	n->aae_repaired += as->keys_repaired;
	n->aae_exchanges += as->exchanges_started;
	xfer_stats(&n->xfer, &hs, &xs);
	n->xfer_moves += hs.moves_done;
	n->xfer_keys += xs.keys_received;
	n->reaped += n->reap.stats.reaped;
	reap_free(&n->reap);
	store_tap_remove_hooks(&n->store, &n->aae);
	aae_free(&n->aae);
	xfer_free(&n->xfer);
	n->leave_phase = CL_LEAVE_NONE;
}

void cl_repair_totals(const cl_sim_t *s, uint64_t *aae_keys,
                      uint64_t *aae_exchanges, uint64_t *moves,
                      uint64_t *moved_keys)
{
	*aae_keys = *aae_exchanges = *moves = *moved_keys = 0;
	for (uint32_t i = 0; i < s->nodes; i++) {
		const cl_node_t *n = &s->node[i];
		*aae_keys += n->aae_repaired;
		*aae_exchanges += n->aae_exchanges;
		*moves += n->xfer_moves;
		*moved_keys += n->xfer_keys;
		if (!n->up)
			continue;
		handoff_stats_t hs;
		xfer_stats_t xs;
		const aae_stats_t *as = aae_stats(&n->aae);
		*aae_keys += as->keys_repaired;
		*aae_exchanges += as->exchanges_started;
		xfer_stats(&n->xfer, &hs, &xs);
		*moves += hs.moves_done;
		*moved_keys += xs.keys_received;
	}
}

uint64_t cl_repair_reaped(const cl_sim_t *s)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < s->nodes; i++)
		sum += s->node[i].reaped +
		       (s->node[i].up ? s->node[i].reap.stats.reaped : 0);
	return sum;
}

/* ---- inputs ---- */

void cl_repair_event(cl_sim_t *s, uint32_t i, const swim_event_t *ev)
{
	cl_node_t *n = &s->node[i];
	if (node_of(s, ev->name) == (int)i)
		return;
	if (ev->kind == SWIM_EV_UP)
		xfer_peer(&n->xfer, s->now, ev->name, 1);
	else if (ev->kind == SWIM_EV_DOWN || ev->kind == SWIM_EV_LEFT)
		xfer_peer(&n->xfer, s->now, ev->name, 0);
}

void cl_repair_recv(cl_sim_t *s, uint32_t i, uint32_t from, uint8_t tag,
                    const uint8_t *p, size_t len)
{
	cl_node_t *n = &s->node[i];
	char name[16];
	snprintf(name, sizeof(name), "n%" PRIu32, from);
	int rc = tag == CL_TAG_AAE ? aae_recv(&n->aae, s->now, name, p, len)
	         : tag == CL_TAG_XFER
	             ? xfer_recv(&n->xfer, s->now, name, p, len)
	             : reap_recv(&n->reap, s->now, name, p, len);
	/* what one node sends, the other takes: a refusal is a bug */
	if (rc != SH_OK && rc != SH_ENOTFOUND) {
		printf("repair message (tag %u) from n%" PRIu32 " to n%" PRIu32
		       " refused: %s\n",
		       tag, from, i, sh_strerror(rc));
		s->n.repair_refused++;
	}
}

/* ---- leaving ---- */

int cl_repair_leave(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	int rc = xfer_leave(&n->xfer, s->now);
	if (rc != SH_OK)
		return rc;
	n->leave_phase = CL_LEAVE_HANDOFF;
	n->leave_deadline_ms = s->now + CL_LEAVE_TIMEOUT_MS;
	/* hints for dead primaries would wait for them: to the owners now */
	for (size_t k = 0; k < swim_member_count(&n->swim); k++) {
		swim_member_info_t info;
		swim_event_t ev;
		sh_assert(swim_member_at(&n->swim, k, &info) == SH_OK);
		if (info.state != SWIM_DEAD)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.kind = SWIM_EV_LEFT;
		snprintf(ev.name, sizeof(ev.name), "%s", info.name);
		cl_hint_event(s, i, &ev);
	}
	return SH_OK;
}

int cl_repair_left(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	if (n->leave_phase != CL_LEAVE_ANNOUNCE)
		return n->leave_phase == CL_LEAVE_DONE;
	int rc = xfer_sweep(&n->xfer, s->now);
	n->leave_phase = rc < 0 ? CL_LEAVE_DONE : CL_LEAVE_SWEEP;
	n->leave_deadline_ms = s->now + CL_LEAVE_TIMEOUT_MS;
	return n->leave_phase == CL_LEAVE_DONE;
}

/* Where the leave is, every step (node_xfer.c's node__xfer_leave_step). */
static void leave_step(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	int done = xfer_leave_done(&n->xfer);
	if (n->leave_phase == CL_LEAVE_HANDOFF && done) {
		n->leave_phase = CL_LEAVE_ANNOUNCE;
		swim_leave(&n->swim, s->now);
	} else if (n->leave_phase == CL_LEAVE_HANDOFF &&
	           s->now >= n->leave_deadline_ms) {
		sh_assert(xfer_leave_cancel(&n->xfer, s->now) == SH_OK);
		n->leave_phase = CL_LEAVE_NONE;
		n->slot = CL_SLOT_MEMBER;
		s->n.leaves_abandoned++;
		printf("leave of n%" PRIu32 " abandoned at %" PRIu64
		       " ms: not handed off within %d ms\n",
		       i, s->now, CL_LEAVE_TIMEOUT_MS);
	} else if (n->leave_phase == CL_LEAVE_SWEEP &&
	           (done || s->now >= n->leave_deadline_ms)) {
		n->leave_phase = CL_LEAVE_DONE;
	}
}

/* ---- the turn ---- */

uint64_t cl_repair_turn(cl_sim_t *s, uint32_t i)
{
	cl_node_t *n = &s->node[i];
	uint64_t due = xfer_turn(&n->xfer, s->now);
	if (due == HANDOFF_NO_DEADLINE)
		due = UINT64_MAX;
	if (n->leave_phase != CL_LEAVE_NONE) {
		leave_step(s, i);
		due = min_u64(due, s->now + CL_LEAVE_POLL_MS);
	}
	reap_tick(&n->reap, s->now, s->now); /* wall clock: coord's default */
	return due;
}

uint64_t cl_repair_committed(cl_sim_t *s, uint32_t i, int ok)
{
	cl_node_t *n = &s->node[i];
	aae_ready_t rd;
	xfer_committed(&n->xfer, ok);
	aae_tick(&n->aae, s->now);
	aae_ready(&n->aae, &rd);
	for (size_t k = 0; k < rd.msg_count; k++)
		send_tagged(s, i, node_of(s, rd.msgs[k].to), CL_TAG_AAE,
		            rd.msgs[k].data, rd.msgs[k].len);
	uint64_t due = rd.next_deadline_ms;
	aae_advance(&n->aae);
	reap_ready_t rr;
	reap_ready(&n->reap, &rr);
	if (ok)
		for (size_t k = 0; k < rr.msg_count; k++)
			send_tagged(s, i, node_of(s, rr.msgs[k].to),
			            CL_TAG_REAP, rr.msgs[k].data,
			            rr.msgs[k].len);
	due = min_u64(due, rr.next_deadline_ms);
	reap_advance(&n->reap);
	return due;
}
