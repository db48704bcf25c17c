/*
 * node_reap.c - the tombstone reaper in the shell (node/reap.h,
 * docs/deletes.md): the machine is opened with --tombstone-grace-s, takes
 * one bounded step of its pass on every housekeeping tick (inside the
 * turn's store batch, so its deletes commit with the rest of the turn),
 * receives its messages from internode frames of the coordinator's kind,
 * and its messages leave after the commit, like every output. Figures go
 * to /stats ("reap") and /metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_int.h"

/* Rest between passes: a quarter of the grace, within 1 s .. 60 s, so a
 * short grace (tests) reaps soon and a long one costs little IO. */
static uint64_t node__reap_interval_ms(uint64_t grace_ms)
{
	uint64_t ms = grace_ms / 4;
	if (ms < 1000)
		ms = 1000;
	if (ms > REAP_PASS_INTERVAL_MS_DEFAULT)
		ms = REAP_PASS_INTERVAL_MS_DEFAULT;
	return ms;
}

int node__reap_open(node_t *n)
{
	reap_config_t rc;
	reap_config_default(&rc);
	rc.self = n->cfg.name;
	rc.n = n->cfg.n;
	rc.grace_ms = n->cfg.tombstone_grace_s * 1000;
	rc.pass_interval_ms = node__reap_interval_ms(rc.grace_ms);
	int err = reap_init(&n->reap, &rc, &n->coord, &n->store);
	if (err != SH_OK) {
		sh_log(SH_LOG_ERROR, "reap_init: %s", sh_strerror(err));
		reap_free(&n->reap);
		return err;
	}
	n->reap_open = 1;
	return SH_OK;
}

void node__reap_close(node_t *n)
{
	if (n->reap_open)
		reap_free(&n->reap);
	n->reap_open = 0;
}

/* Wall-clock ms since the epoch: the grace is counted from the delete's
 * timestamp, which the delete's coordinator took from its wall clock. */
static uint64_t node__reap_wall_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void node__reap_tick(node_t *n)
{
	if (!n->reap_open || n->stopping || node__batch(n) != SH_OK)
		return;
	reap_tick(&n->reap, node__now_ms(), node__reap_wall_ms());
}

void node__reap_recv(node_t *n, const char *from, const uint8_t *data,
                     size_t len)
{
	if (!n->reap_open || node__batch(n) != SH_OK)
		return;
	int err = reap_recv(&n->reap, node__now_ms(), from, data, len);
	if (err != SH_OK && err != SH_ENOTFOUND)
		sh_log(SH_LOG_DEBUG, "reaper message from %s: %s", from,
		       sh_strerror(err));
}

void node__reap_outputs(node_t *n)
{
	reap_ready_t rd;
	if (!n->reap_open)
		return;
	reap_ready(&n->reap, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		swim_member_info_t info;
		if (swim_member_get(&n->swim, rd.msgs[i].to, &info) != SH_OK ||
		    info.meta == NULL) {
			n->stats.frames_dropped++; /* the check times out */
			continue;
		}
		node__peer_send(n, info.meta->addr, NODE_FRAME_COORD,
		                rd.msgs[i].data, rd.msgs[i].len);
	}
	reap_advance(&n->reap);
}

void node__reap_json(node_t *n, json_w_t *w)
{
	reap_stats_t s;
	memset(&s, 0, sizeof s);
	if (n->reap_open)
		s = *reap_stats(&n->reap);
	json_w_obj_begin(w);
	json_w_kv_u64(w, "grace_s", n->cfg.tombstone_grace_s);
	json_w_kv_u64(w, "tombstones_reaped", s.reaped);
	json_w_kv_u64(w, "passes", s.passes);
	json_w_kv_u64(w, "scanned", s.scanned);
	json_w_kv_u64(w, "tombstones_seen", s.tombstones);
	json_w_kv_u64(w, "within_grace", s.young);
	json_w_kv_u64(w, "checks", s.checks);
	json_w_kv_u64(w, "kept", s.kept);
	json_w_kv_u64(w, "timeouts", s.timeouts);
	json_w_kv_u64(w, "delete_skipped", s.delete_skipped);
	json_w_kv_u64(w, "rejected", s.rejected);
	json_w_kv_u64(w, "errors", s.errors);
	json_w_obj_end(w);
}

static void node__reap_line(sh_buf_t *out, const char *name, uint64_t v)
{
	char line[256];
	int len =
	    snprintf(line, sizeof line, "# TYPE %s counter\n%s %" PRIu64 "\n",
	             name, name, v);
	if (len > 0 && (size_t)len < sizeof line)
		sh_buf_append(out, line, (size_t)len);
}

void node__reap_prom(node_t *n, sh_buf_t *out)
{
	if (!n->reap_open)
		return;
	const reap_stats_t *s = reap_stats(&n->reap);
	node__reap_line(out, "shoal_tombstones_reaped_total", s->reaped);
	node__reap_line(out, "shoal_reap_passes_total", s->passes);
	node__reap_line(out, "shoal_reap_checks_total", s->checks);
	node__reap_line(out, "shoal_reap_kept_total", s->kept);
	node__reap_line(out, "shoal_reap_timeouts_total", s->timeouts);
}
