/*
 * node_aae.c - active anti-entropy in the shell (node/aae.h, docs/aae.md):
 * the pure driver over the node's store tap and coordinator, its messages
 * on internode frames of kind NODE_FRAME_AAE (node.h), one bounded tick
 * per flush round, GET /cluster/aae, and the /stats and /metrics figures.
 *
 * Order within a loop turn: AAE frames are fed to the driver inside the
 * turn's store batch (a REPAIR joins records into it); after the batch
 * committed, node__aae_turn ticks the driver (rebuild and key scans,
 * repairs, the schedule) and sends its messages, so a REPLY or a record
 * leaves only after the join it reports is durable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/json.h"
#include "node/node_int.h"

int node__aae_open(node_t *n)
{
	aae_config_t ac;
	store_tap_hooks_t h;
	if (n->cfg.aae_interval_ms == 0)
		return SH_OK; /* anti-entropy off */
	aae_config_default(&ac);
	ac.self = n->cfg.name;
	ac.interval_ms = n->cfg.aae_interval_ms;
	ac.seed = sh_rand_u64(&n->rand);
	int rc = aae_init(&n->aae, &ac, &n->coord, &n->store);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "aae_init: %s", sh_strerror(rc));
		return rc;
	}
	aae_tap_hooks(&n->aae, &h);
	rc = store_tap_add_hooks(&n->store, &h);
	if (rc != SH_OK) {
		sh_log(SH_LOG_ERROR, "store_tap_add_hooks: %s",
		       sh_strerror(rc));
		aae_free(&n->aae);
		return rc;
	}
	n->aae_open = 1;
	return SH_OK;
}

void node__aae_close(node_t *n)
{
	if (!n->aae_open)
		return;
	store_tap_remove_hooks(&n->store, &n->aae);
	aae_free(&n->aae);
	n->aae_open = 0;
}

/* Anti-entropy is off here: refuse the exchange the message belongs to,
 * so that the peer moves on at once rather than after its timeout. */
static void node__aae_refuse(node_t *n, const char *from, const uint8_t *data,
                             size_t len)
{
	swim_member_info_t info;
	sh_buf_t out;
	sh_buf_init(&out);
	if (aae_refusal(data, len, &out) == SH_OK && out.len > 0 &&
	    swim_member_get(&n->swim, from, &info) == SH_OK &&
	    info.meta != NULL)
		node__peer_send(n, info.meta->addr, NODE_FRAME_AAE, out.data,
		                out.len);
	sh_buf_free(&out);
}

void node__aae_recv(node_t *n, const char *from, const uint8_t *data,
                    size_t len)
{
	if (!n->aae_open) {
		node__aae_refuse(n, from, data, len);
		return;
	}
	if (node__batch(n) != SH_OK)
		return;
	int rc = aae_recv(&n->aae, node__now_ms(), from, data, len);
	if (rc != SH_OK && rc != SH_ENOTFOUND)
		sh_log(SH_LOG_DEBUG, "aae message from %s: %s", from,
		       sh_strerror(rc));
}

uint64_t node__aae_turn(node_t *n)
{
	aae_ready_t rd;
	if (!n->aae_open)
		return UINT64_MAX;
	/* One tick per loop turn (flush rounds repeat within a turn): the
	 * driver's bounded work is then bounded per turn too. */
	uint64_t turn = uv_now(&n->loop);
	/* one reading of the clock serves the tick and the deadline check
	 * below (each costs a clock_gettime, every loop turn) */
	uint64_t now = n->stopping ? 0 : node__now_ms();
	int ticked = 0;
	if (!n->stopping && turn != n->aae_ticked_ms) {
		aae_tick(&n->aae, now);
		n->aae_ticked_ms = turn;
		ticked = 1;
	}
	aae_ready(&n->aae, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		swim_member_info_t info;
		if (swim_member_get(&n->swim, rd.msgs[i].to, &info) != SH_OK ||
		    info.meta == NULL) {
			n->stats.frames_dropped++; /* the exchange times out */
			continue;
		}
		node__peer_send(n, info.meta->addr, NODE_FRAME_AAE,
		                rd.msgs[i].data, rd.msgs[i].len);
	}
	aae_advance(&n->aae);
	if (n->stopping)
		return UINT64_MAX;
	if (!ticked && rd.next_deadline_ms <= now)
		return now + 1; /* work left: the next turn ticks */
	return rd.next_deadline_ms;
}

/* ---- figures ---- */

static const char *node__aae_result(int result)
{
	if (result == 1)
		return "equal";
	if (result == 0)
		return "repaired";
	return sh_strerror(result);
}

void node__aae_json(node_t *n, json_w_t *w)
{
	aae_stats_t zero;
	memset(&zero, 0, sizeof zero);
	const aae_stats_t *s = n->aae_open ? aae_stats(&n->aae) : &zero;
	json_w_obj_begin(w);
	json_w_kv_bool(w, "enabled", n->aae_open);
	json_w_kv_u64(w, "interval_ms", n->cfg.aae_interval_ms);
	json_w_kv_u64(w, "exchanges_started", s->exchanges_started);
	json_w_kv_u64(w, "exchanges_completed", s->exchanges_completed);
	json_w_kv_u64(w, "exchanges_failed", s->exchanges_failed);
	json_w_kv_u64(w, "exchanges_equal", s->exchanges_equal);
	json_w_kv_u64(w, "responded", s->responded);
	json_w_kv_u64(w, "refused", s->refused);
	json_w_kv_u64(w, "keys_repaired", s->keys_repaired);
	json_w_kv_u64(w, "records_joined", s->records_joined);
	json_w_kv_u64(w, "join_errors", s->join_errors);
	json_w_kv_u64(w, "msgs_sent", s->msgs_sent);
	json_w_kv_u64(w, "bytes_sent", s->bytes_sent);
	json_w_kv_u64(w, "msgs_received", s->msgs_received);
	json_w_kv_u64(w, "bytes_received", s->bytes_received);
	json_w_kv_u64(w, "msgs_rejected", s->msgs_rejected);
	json_w_kv_u64(w, "trees", s->trees);
	json_w_kv_u64(w, "trees_built", s->trees_built);
	json_w_kv_u64(w, "rebuilds", s->rebuilds);
	json_w_kv_u64(w, "rebuild_keys", s->rebuild_keys);
	json_w_kv_u64(w, "tree_updates", s->tree_updates);
	json_w_obj_end(w);
}

/* /cluster/aae: the totals and, per replicated partition, its tree and
 * the last exchange this node started on it. */
void node__aae_cluster_json(node_t *n, json_w_t *w)
{
	uint64_t now = node__now_ms();
	json_w_obj_begin(w);
	json_w_kv_str(w, "node", n->cfg.name);
	json_w_key(w, "stats");
	node__aae_json(n, w);
	json_w_key(w, "partitions");
	json_w_arr_begin(w);
	for (uint32_t p = 0; n->aae_open && p < n->aae.partitions; p++) {
		int owned, built;
		uint64_t keys;
		aae_last_t l;
		if (aae_partition_info(&n->aae, p, &owned, &built, &keys, &l) !=
		        SH_OK ||
		    !owned)
			continue;
		json_w_obj_begin(w);
		json_w_kv_u64(w, "partition", p);
		json_w_kv_bool(w, "built", built);
		json_w_kv_u64(w, "keys", keys);
		json_w_key(w, "last");
		if (!l.ran) {
			json_w_null(w);
		} else {
			json_w_obj_begin(w);
			json_w_kv_str(w, "peer", l.peer);
			json_w_kv_str(w, "result", node__aae_result(l.result));
			json_w_kv_u64(w, "age_ms",
			              now > l.ended_ms ? now - l.ended_ms : 0);
			json_w_kv_u64(w, "took_ms", l.took_ms);
			json_w_kv_u64(w, "keys_repaired", l.keys_repaired);
			json_w_kv_u64(w, "bytes_sent", l.bytes_sent);
			json_w_obj_end(w);
		}
		json_w_obj_end(w);
	}
	json_w_arr_end(w);
	json_w_obj_end(w);
}

static void node__aae_line(sh_buf_t *out, const char *name, uint64_t v)
{
	char line[160];
	int len =
	    snprintf(line, sizeof line, "# TYPE %s counter\n%s %" PRIu64 "\n",
	             name, name, v);
	if (len > 0 && (size_t)len < sizeof line)
		sh_buf_append(out, line, (size_t)len);
}

void node__aae_prom(node_t *n, sh_buf_t *out)
{
	if (!n->aae_open)
		return;
	const aae_stats_t *s = aae_stats(&n->aae);
	node__aae_line(out, "shoal_aae_exchanges_started_total",
	               s->exchanges_started);
	node__aae_line(out, "shoal_aae_exchanges_completed_total",
	               s->exchanges_completed);
	node__aae_line(out, "shoal_aae_exchanges_failed_total",
	               s->exchanges_failed);
	node__aae_line(out, "shoal_aae_keys_repaired_total", s->keys_repaired);
	node__aae_line(out, "shoal_aae_records_joined_total",
	               s->records_joined);
	node__aae_line(out, "shoal_aae_bytes_sent_total", s->bytes_sent);
	node__aae_line(out, "shoal_aae_rebuilds_total", s->rebuilds);
}
