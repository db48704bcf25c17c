/*
 * node_xfer.c - ownership handoff and graceful leave in the shell
 * (DESIGN.md section 8, node/xfer.h): the pure driver fed with the loop's
 * time, SWIM's up/down events and HANDOFF_BATCH / HANDOFF_ACK frames
 * (kind 3, told apart from coordinator and hint messages by
 * handoff_wire_type); its messages go to the member's --bind address.
 * Also POST /cluster/leave, GET /cluster/transfers and the figures in
 * /stats and /metrics.
 *
 * Graceful leave (n->leaving):
 *   1 handing off   xfer_leave: every partition streams to its owners
 *                   among the others; requests are still served here.
 *                   Hints whose primary is down are redirected to the
 *                   keys' owners at once (hint_primary_left).
 *   2 announcing    every move acked: swim_leave; wait until SWIM says
 *                   "left" has spread (or the spreading bound passed).
 *   3 sweeping      xfer_sweep: what was written here meanwhile (and
 *                   objects kept for hints) is handed off again, then
 *                   dropped; when xfer_leave_done, the node stops.
 *   4 stopping      node__stop was called.
 * --leave-timeout-ms bounds phase 1: on timeout the leave is abandoned
 * (the node stays a member and keeps serving, nothing announced; what was
 * handed off is already on its new owners, and a second POST retries).
 * Once announced, phases 2-3 are bounded by the same timeout: on timeout
 * the node stops anyway; what was not swept is still on the other
 * replicas that acknowledged those writes (w >= 2), for anti-entropy.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/json.h"
#include "node/node_int.h"

/* Moves listed by /cluster/transfers at most. */
#define NODE__XFER_LIST_MAX 4096

static void node__xfer_send(void *arg, const char *to, const uint8_t *data,
                            size_t len)
{
	node_t *n = arg;
	swim_member_info_t info;
	if (swim_member_get(&n->swim, to, &info) != SH_OK ||
	    info.meta == NULL) {
		n->stats.frames_dropped++; /* the machine resends on timeout */
		return;
	}
	node__peer_send(n, info.meta->addr, NODE_FRAME_COORD, data, len);
}

int node__xfer_open(node_t *n)
{
	xfer_config_t xc;
	xfer_config_default(&xc);
	xc.self = n->cfg.name;
	xc.send = node__xfer_send;
	xc.send_arg = n;
	xc.bucket = n->hint_open ? n->hint.bucket : NULL; /* one budget */
	xc.bytes_per_s = n->cfg.handoff_bytes_per_s;
	xc.id_base = sh_rand_u64(&n->rand) >> 2;
	xc.record_bytes_max = n->cfg.frame_bytes_max;
	int rc = xfer_init(&n->xfer, &xc, &n->store, &n->coord);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "xfer_init: %s", sh_strerror(rc));
		return rc;
	}
	n->xfer_open = 1;
	return SH_OK;
}

void node__xfer_close(node_t *n)
{
	if (n->xfer_open)
		xfer_free(&n->xfer);
	n->xfer_open = 0;
}

void node__xfer_member(node_t *n, const char *name, int kind)
{
	if (!n->xfer_open)
		return;
	if (kind == SWIM_EV_UP)
		xfer_peer(&n->xfer, node__now_ms(), name, 1);
	else if (kind == SWIM_EV_DOWN || kind == SWIM_EV_LEFT)
		xfer_peer(&n->xfer, node__now_ms(), name, 0);
}

void node__xfer_recv(node_t *n, const char *from, const uint8_t *data,
                     size_t len)
{
	if (!n->xfer_open)
		return;
	/* a batch is joined in this turn's store batch (an error ack
	 * without one) */
	node__batch(n);
	int rc = xfer_recv(&n->xfer, node__now_ms(), from, data, len);
	if (rc != SH_OK)
		sh_log(SH_LOG_WARN, "handoff message from %s: %s", from,
		       sh_strerror(rc));
}

void node__xfer_committed(node_t *n, int ok)
{
	if (n->xfer_open)
		xfer_committed(&n->xfer, ok);
}

/* ---- leaving ---- */

/* Hints whose primary is down would wait for it: give them to the keys'
 * current owners now, as for a primary that left. */
static void node__xfer_redirect_hints(node_t *n)
{
	size_t count = swim_member_count(&n->swim);
	for (size_t i = 0; i < count; i++) {
		swim_member_info_t info;
		swim_member_at(&n->swim, i, &info);
		if (strcmp(info.name, n->cfg.name) == 0 ||
		    info.state != SWIM_DEAD)
			continue;
		node__hint_member(n, info.name, SWIM_EV_LEFT);
	}
}

static void node__xfer_announce(node_t *n, uint64_t now)
{
	sh_log(SH_LOG_INFO, "leave: every partition handed off; announcing");
	n->leaving = 2;
	n->leave_deadline_ms = now + n->cfg.shutdown_ms;
	swim_leave(&n->swim, now);
}

void node__xfer_left(node_t *n, const char *why)
{
	uint64_t now = node__now_ms();
	if (n->leaving != 2)
		return;
	if (!n->xfer_open || xfer_leave_phase(&n->xfer) == XFER_LEAVE_NONE) {
		n->leaving = 4;
		node__stop(n, why);
		return;
	}
	int rc = xfer_sweep(&n->xfer, now);
	if (rc < 0) {
		sh_log(SH_LOG_WARN, "leave: sweep: %s; stopping",
		       sh_strerror(rc));
		n->leaving = 4;
		node__stop(n, why);
		return;
	}
	sh_log(SH_LOG_INFO, "leave: %s; handing off %d partitions again", why,
	       rc);
	n->leaving = 3;
}

/* Where the leave is, called every turn. */
static void node__xfer_leave_step(node_t *n, uint64_t now)
{
	if (n->leaving == 1 && xfer_leave_done(&n->xfer)) {
		node__xfer_announce(n, now);
	} else if (n->leaving == 1 && now >= n->leave_timeout_at_ms) {
		sh_log(SH_LOG_ERROR,
		       "leave: not every partition was handed off within "
		       "--leave-timeout-ms; the leave is abandoned, the node "
		       "stays a member (POST /cluster/leave again to retry)");
		xfer_leave_cancel(&n->xfer, now);
		n->leaving = 0;
		n->leaves_abandoned++;
	} else if (n->leaving == 3 && xfer_leave_done(&n->xfer)) {
		n->leaving = 4;
		node__stop(n, "left the cluster, everything handed off");
	} else if (n->leaving == 3 &&
	           now >= n->leave_timeout_at_ms + n->cfg.leave_timeout_ms) {
		n->leaving = 4;
		node__stop(n, "left the cluster (timeout handing off what was "
		              "written during the leave)");
	}
}

int node__xfer_leave(node_t *n, const char **why)
{
	uint64_t now = node__now_ms();
	*why = NULL;
	if (n->leaving)
		return SH_OK; /* already leaving */
	int rc = n->xfer_open ? xfer_leave(&n->xfer, now) : SH_EINVAL;
	if (rc == SH_ENOTFOUND) {
		*why = "no other member to hand the data to";
		return rc;
	}
	if (rc != SH_OK) {
		*why = "could not plan the handoff";
		sh_log(SH_LOG_ERROR, "leave: %s", sh_strerror(rc));
		return rc;
	}
	sh_log(SH_LOG_INFO, "leaving the cluster (POST /cluster/leave): "
	                    "handing every partition off first");
	n->leaving = 1;
	n->leave_timeout_at_ms = now + n->cfg.leave_timeout_ms;
	node__xfer_redirect_hints(n);
	return SH_OK;
}

uint64_t node__xfer_turn(node_t *n)
{
	if (!n->xfer_open || n->stopping)
		return UINT64_MAX;
	uint64_t now = node__now_ms();
	uint64_t due = xfer_turn(&n->xfer, now);
	node__xfer_leave_step(n, now);
	if (n->leaving == 1 || n->leaving == 3) {
		uint64_t house = now + 200; /* check the leave's progress */
		if (house < due)
			due = house;
	}
	return due == HANDOFF_NO_DEADLINE ? UINT64_MAX : due;
}

/* ---- figures ---- */

static const char *node__leave_name(int leaving)
{
	switch (leaving) {
	case 0: return "none";
	case 1: return "handing_off";
	case 2: return "announcing";
	case 3: return "sweeping";
	default: return "stopping";
	}
}

static void node__xfer_totals(node_t *n, json_w_t *w)
{
	handoff_stats_t hs;
	xfer_stats_t xs;
	xfer_stats(&n->xfer, &hs, &xs);
	json_w_kv_u64(w, "moves_planned", hs.moves_planned);
	json_w_kv_u64(w, "moves_done", hs.moves_done);
	json_w_kv_u64(w, "moves_cancelled", hs.moves_cancelled);
	json_w_kv_u64(w, "keys_sent", hs.keys_sent);
	json_w_kv_u64(w, "bytes_sent", hs.bytes_sent);
	json_w_kv_u64(w, "batches", hs.batches);
	json_w_kv_u64(w, "failed", hs.failed);
	json_w_kv_u64(w, "catchup_passes", hs.passes);
	json_w_kv_u64(w, "partitions_dropped", hs.partitions_dropped);
	json_w_kv_u64(w, "keys_dropped", xs.keys_dropped);
	json_w_kv_u64(w, "drops_postponed", xs.drops_postponed);
	json_w_kv_u64(w, "batches_received", xs.batches_received);
	json_w_kv_u64(w, "keys_received", xs.keys_received);
	json_w_kv_u64(w, "bytes_received", xs.bytes_received);
	json_w_kv_u64(w, "receive_errors", xs.receive_errors);
	json_w_kv_u64(w, "rings_planned", xs.rings_planned);
	json_w_kv_u64(w, "leaves_abandoned", n->leaves_abandoned);
}

void node__xfer_json(node_t *n, json_w_t *w, int list)
{
	json_w_obj_begin(w);
	if (!n->xfer_open) {
		json_w_obj_end(w);
		return;
	}
	size_t count = xfer_transfers(&n->xfer, NULL, 0), active = 0;
	handoff_transfer_t *t = NULL;
	if (count > NODE__XFER_LIST_MAX)
		count = NODE__XFER_LIST_MAX;
	if (count > 0)
		t = calloc(count, sizeof *t);
	if (t != NULL) {
		size_t got = xfer_transfers(&n->xfer, t, count);
		if (got < count)
			count = got;
	} else {
		count = 0;
	}
	for (size_t i = 0; i < count; i++)
		active += t[i].state != HANDOFF_MOVE_DONE;
	json_w_kv_str(w, "leave", node__leave_name(n->leaving));
	json_w_kv_u64(w, "moves", count);
	json_w_kv_u64(w, "moves_active", active);
	json_w_kv_bool(w, "busy", xfer_busy(&n->xfer));
	json_w_kv_u64(w, "bytes_per_s", n->cfg.handoff_bytes_per_s);
	node__xfer_totals(n, w);
	if (list) {
		json_w_key(w, "transfers");
		json_w_arr_begin(w);
		for (size_t i = 0; i < count; i++) {
			json_w_obj_begin(w);
			json_w_kv_u64(w, "partition", t[i].partition);
			json_w_kv_str(w, "from", t[i].from);
			json_w_kv_str(w, "to", t[i].to);
			json_w_kv_str(w, "state",
			              xfer_move_state_name(t[i].state));
			json_w_kv_u64(w, "pass", t[i].pass);
			json_w_kv_u64(w, "keys_sent", t[i].keys_sent);
			json_w_kv_u64(w, "bytes", t[i].bytes_sent);
			json_w_obj_end(w);
		}
		json_w_arr_end(w);
	}
	free(t);
	json_w_obj_end(w);
}

static void node__xfer_prom_line(sh_buf_t *out, const char *name,
                                 const char *type, uint64_t v)
{
	char line[256];
	int len = snprintf(line, sizeof line, "# TYPE %s %s\n%s %" PRIu64 "\n",
	                   name, type, name, v);
	if (len > 0 && (size_t)len < sizeof line)
		sh_buf_append(out, line, (size_t)len);
}

void node__xfer_prom(node_t *n, sh_buf_t *out)
{
	handoff_stats_t hs;
	xfer_stats_t xs;
	if (!n->xfer_open)
		return;
	xfer_stats(&n->xfer, &hs, &xs);
	node__xfer_prom_line(out, "shoal_handoff_moves", "gauge",
	                     xfer_transfers(&n->xfer, NULL, 0));
	node__xfer_prom_line(out, "shoal_handoff_moves_done_total", "counter",
	                     hs.moves_done);
	node__xfer_prom_line(out, "shoal_handoff_keys_sent_total", "counter",
	                     hs.keys_sent);
	node__xfer_prom_line(out, "shoal_handoff_bytes_sent_total", "counter",
	                     hs.bytes_sent);
	node__xfer_prom_line(out, "shoal_handoff_batches_failed_total",
	                     "counter", hs.failed);
	node__xfer_prom_line(out, "shoal_handoff_partitions_dropped_total",
	                     "counter", hs.partitions_dropped);
	node__xfer_prom_line(out, "shoal_handoff_keys_received_total",
	                     "counter", xs.keys_received);
	node__xfer_prom_line(out, "shoal_handoff_drops_postponed_total",
	                     "counter", xs.drops_postponed);
	node__xfer_prom_line(out, "shoal_leaving", "gauge",
	                     (uint64_t)n->leaving);
}
