/*
 * node_stats.c - /stats (JSON) and /metrics (Prometheus text format
 * 0.0.4): the shell's own counters (HTTP, client-visible latency per
 * operation from request to reply after the group commit, commits,
 * internode traffic), the coordinator's (coord_stats: sibling counts,
 * read repairs, quorum failures, forwards, rejects), SWIM's, the
 * store's sizes and hinted handoff's (node_hint.c).
 *
 * Latency histograms (node_hist_t) are log-linear: 8 buckets per power
 * of two of microseconds, so a percentile is within 1/8 above the truth.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_err.h"
#include "node/json.h"
#include "node/node_int.h"

static const char *const node__op_names[NODE_OP__COUNT] = {
    "get", "put", "delete", "dt_get", "dt_update",
};

static const char *const node__class_names[NODE_ST__N] = {
    "2xx",
    "3xx",
    "4xx",
    "5xx",
};

static const double node__quantiles[] = {0.5, 0.95, 0.99, 0.999};
static const char *const node__quantile_names[] = {"p50", "p95", "p99", "p999"};
#define NODE__QUANTILES 4

const char *node_op_name(node_op_t op)
{
	return op < NODE_OP__COUNT ? node__op_names[op] : "?";
}

/* Bucket of a value: exact below NODE_HIST_SUB, then 8 per octave. */
static unsigned node__hist_bucket(uint64_t us)
{
	if (us < NODE_HIST_SUB)
		return (unsigned)us;
	unsigned log = 63u - (unsigned)__builtin_clzll(us); /* >= 3 */
	unsigned sub = (unsigned)(us >> (log - 3)) & (NODE_HIST_SUB - 1);
	unsigned b = (log - 2) * NODE_HIST_SUB + sub;
	return b < NODE_HIST_BUCKETS ? b : NODE_HIST_BUCKETS - 1;
}

/* The largest value of bucket b. */
static uint64_t node__hist_upper(unsigned b)
{
	if (b < NODE_HIST_SUB)
		return b;
	unsigned log = b / NODE_HIST_SUB + 2;
	uint64_t sub = b % NODE_HIST_SUB;
	return ((NODE_HIST_SUB + sub + 1) << (log - 3)) - 1;
}

void node_hist_add(node_hist_t *h, uint64_t us)
{
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
	h->buckets[node__hist_bucket(us)]++;
}

uint64_t node_hist_quantile(const node_hist_t *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count + 0.5);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < NODE_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t up = node__hist_upper(b);
			return up < h->max_us ? up : h->max_us;
		}
	}
	return h->max_us;
}

static void node__json_ms(json_w_t *w, const char *key, uint64_t us)
{
	json_w_key(w, key);
	json_w_double(w, (double)us / 1000.0);
}

static void node__json_hist(json_w_t *w, const char *key, const node_hist_t *h)
{
	json_w_key(w, key);
	json_w_obj_begin(w);
	for (int i = 0; i < NODE__QUANTILES; i++)
		node__json_ms(w, node__quantile_names[i],
		              node_hist_quantile(h, node__quantiles[i]));
	node__json_ms(w, "max", h->max_us);
	node__json_ms(w, "mean", h->count ? h->sum_us / h->count : 0);
	json_w_obj_end(w);
}

static void node__json_ops(node_t *n, json_w_t *w)
{
	const node_stats_t *s = &n->stats;
	json_w_key(w, "ops");
	json_w_obj_begin(w);
	for (int op = 0; op < NODE_OP__COUNT; op++) {
		json_w_key(w, node__op_names[op]);
		json_w_obj_begin(w);
		json_w_kv_u64(w, "requests", s->ops[op]);
		for (int k = 0; k < NODE_ST__N; k++)
			json_w_kv_u64(w, node__class_names[k],
			              s->status[op][k]);
		node__json_hist(w, "latency_ms", &s->latency[op]);
		json_w_obj_end(w);
	}
	json_w_obj_end(w);
}

static void node__json_coord(node_t *n, json_w_t *w)
{
	const coord_stats_t *cs = coord_stats(&n->coord);
	json_w_key(w, "siblings");
	json_w_obj_begin(w);
	json_w_key(w, "reads_by_count");
	json_w_arr_begin(w);
	for (int i = 0; i < COORD_SIBLING_BUCKETS; i++)
		json_w_u64(w, cs->siblings[i]);
	json_w_arr_end(w);
	json_w_kv_u64(w, "max", cs->siblings_max);
	json_w_obj_end(w);
	json_w_kv_u64(w, "read_repairs", cs->read_repairs);
	json_w_kv_u64(w, "actor_renewals", cs->actor_renewals);
	json_w_kv_u64(w, "strays_dropped", cs->strays_dropped);
	json_w_kv_u64(w, "quorum_failures", cs->quorum_failures);
	json_w_key(w, "coord");
	json_w_obj_begin(w);
	json_w_kv_u64(w, "inflight", cs->inflight);
	json_w_kv_u64(w, "overloaded", cs->overloaded);
	json_w_kv_u64(w, "forwards", cs->forwards);
	json_w_kv_u64(w, "forwards_served", cs->forwards_served);
	json_w_kv_u64(w, "replica_writes", cs->replica_writes);
	json_w_kv_u64(w, "replica_reads", cs->replica_reads);
	json_w_kv_u64(w, "hints_stored", cs->hints_stored);
	json_w_kv_u64(w, "type_conflicts", cs->type_conflicts);
	json_w_kv_u64(w, "store_errors", cs->store_errors);
	json_w_kv_u64(w, "late_answers", cs->late_answers);
	json_w_kv_u64(w, "waits_cut", cs->waits_cut);
	json_w_kv_u64(w, "hints_dropped", cs->hints_dropped);
	json_w_kv_u64(w, "batches_failed", cs->batches_failed);
	json_w_key(w, "rejected");
	json_w_obj_begin(w);
	for (int i = 0; i < COORD_REJECT__COUNT; i++)
		json_w_kv_u64(w, coord_reject_name((coord_reject_t)i),
		              cs->rejected[i]);
	json_w_obj_end(w);
	json_w_obj_end(w);
}

static void node__json_space(node_t *n, json_w_t *w, const char *key,
                             store_space_t sp)
{
	store_stats_t st = {0};
	store_stats(&n->store, sp, &st);
	json_w_key(w, key);
	json_w_obj_begin(w);
	json_w_kv_u64(w, "entries", st.entries);
	json_w_kv_u64(w, "bytes", st.bytes);
	json_w_obj_end(w);
}

static void node__json_store(node_t *n, json_w_t *w)
{
	json_w_key(w, "store");
	json_w_obj_begin(w);
	json_w_kv_str(w, "backend", store_backend_name(&n->store_disk));
	json_w_kv_str(w, "sync",
	              n->cfg.sync == STORE_SYNC_BATCH ? "batch" : "none");
	node__json_space(n, w, "objects", STORE_OBJECTS);
	node__json_space(n, w, "hints", STORE_HINTS);
	json_w_kv_u64(w, "commits", n->stats.commits);
	json_w_kv_u64(w, "commit_errors", n->stats.commit_errors);
	json_w_kv_u64(w, "commits_sealed", n->stats.commits_sealed);
	json_w_kv_u64(w, "reads_while_committing",
	              n->stats.reads_while_committing);
	json_w_kv_u64(w, "checkpoints", store_lmdb_checkpoints(&n->store_disk));
	node__json_hist(w, "commit_ms", &n->stats.commit_latency);
	json_w_obj_end(w);
}

static void node__json_net(node_t *n, json_w_t *w)
{
	const node_stats_t *s = &n->stats;
	const swim_stats_t *ss = swim_stats(&n->swim);
	json_w_key(w, "http");
	json_w_obj_begin(w);
	json_w_kv_u64(w, "requests", s->http_requests);
	json_w_kv_u64(w, "connections_open", n->conns_len);
	json_w_kv_u64(w, "connections_accepted", s->http_conns);
	json_w_kv_u64(w, "connections_refused", s->http_refused);
	json_w_kv_u64(w, "connections_idle_closed", s->http_idle);
	json_w_kv_u64(w, "connections_throttled", s->http_throttled);
	size_t queued = 0;
	for (const node_hconn_t *c = n->conns; c != NULL; c = c->next)
		queued += c->queued;
	json_w_kv_u64(w, "reply_bytes_queued", queued);
	json_w_obj_end(w);
	json_w_key(w, "internode");
	json_w_obj_begin(w);
	json_w_kv_u64(w, "frames_in", s->frames_in);
	json_w_kv_u64(w, "frames_out", s->frames_out);
	json_w_kv_u64(w, "frames_dropped", s->frames_dropped);
	json_w_kv_u64(w, "frame_errors", s->frame_errors);
	json_w_kv_u64(w, "connections_stalled", s->peer_stalled);
	json_w_kv_u64(w, "peers", n->peers_len);
	json_w_kv_u64(w, "peers_refused", s->peers_refused);
	json_w_kv_u64(w, "connections_open", n->inbound_len);
	json_w_kv_u64(w, "connections_accepted", s->peer_conns);
	json_w_kv_u64(w, "connections_refused", s->peer_refused);
	json_w_kv_u64(w, "connections_timed_out", s->peer_timed_out);
	json_w_kv_u64(w, "bytes_in", s->bytes_in);
	json_w_kv_u64(w, "bytes_out", s->bytes_out);
	json_w_obj_end(w);
	json_w_key(w, "swim");
	json_w_obj_begin(w);
	json_w_kv_u64(w, "members", swim_member_count(&n->swim));
	json_w_kv_u64(w, "live", swim_live_count(&n->swim));
	json_w_kv_u64(w, "incarnation", swim_incarnation(&n->swim));
	json_w_kv_u64(w, "health", swim_health(&n->swim));
	json_w_kv_u64(w, "packets_sent", ss->packets_sent);
	json_w_kv_u64(w, "packets_received", ss->packets_received);
	json_w_kv_u64(w, "udp_errors", s->udp_errors);
	json_w_kv_u64(w, "probes", ss->probes);
	json_w_kv_u64(w, "probes_failed", ss->probes_failed);
	json_w_kv_u64(w, "suspects_raised", ss->suspects_raised);
	json_w_obj_end(w);
}

int node__stats_json(node_t *n, sh_buf_t *out)
{
	json_w_t w;
	char epoch[17];
	/* the actor in use: the coordinator moves on after deletes */
	snprintf(epoch, sizeof epoch, "%016" PRIx64,
	         n->coord_open ? coord_epoch(&n->coord) : n->epoch);
	json_w_init(&w, out);
	json_w_obj_begin(&w);
	json_w_kv_str(&w, "node", n->cfg.name);
	json_w_kv_str(&w, "epoch", epoch);
	json_w_kv_u64(&w, "uptime_ms", node__now_ms() - n->stats.started_ms);
	node__json_ops(n, &w);
	node__json_coord(n, &w);
	node__json_store(n, &w);
	node__json_net(n, &w);
	json_w_key(&w, "hints");
	node__hint_json(n, &w);
	json_w_key(&w, "aae");
	node__aae_json(n, &w);
	json_w_key(&w, "handoff");
	node__xfer_json(n, &w, 0);
	json_w_key(&w, "reap");
	node__reap_json(n, &w);
	json_w_obj_end(&w);
	int rc = json_w_end(&w);
	if (rc == SH_OK)
		rc = sh_buf_append_u8(out, '\n');
	return rc;
}

/* ---- Prometheus ---- */

static int node__prom(sh_buf_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int node__prom(sh_buf_t *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (len < 0)
		return SH_EINVAL;
	if ((size_t)len >= sizeof line)
		len = sizeof line - 1;
	return sh_buf_append(out, line, (size_t)len);
}

static void node__prom_ops(node_t *n, sh_buf_t *out)
{
	const node_stats_t *s = &n->stats;
	node__prom(out, "# TYPE shoal_requests_total counter\n");
	for (int op = 0; op < NODE_OP__COUNT; op++)
		for (int k = 0; k < NODE_ST__N; k++)
			node__prom(
			    out,
			    "shoal_requests_total{op=\"%s\",class=\"%s\"}"
			    " %" PRIu64 "\n",
			    node__op_names[op], node__class_names[k],
			    s->status[op][k]);
	node__prom(out, "# TYPE shoal_request_latency_seconds summary\n");
	for (int op = 0; op < NODE_OP__COUNT; op++) {
		const node_hist_t *h = &s->latency[op];
		for (int i = 0; i < NODE__QUANTILES; i++)
			node__prom(
			    out,
			    "shoal_request_latency_seconds{op=\"%s\","
			    "quantile=\"%g\"} %.6f\n",
			    node__op_names[op], node__quantiles[i],
			    (double)node_hist_quantile(h, node__quantiles[i]) /
			        1e6);
		node__prom(out,
		           "shoal_request_latency_seconds_sum{op=\"%s\"} "
		           "%.6f\n",
		           node__op_names[op], (double)h->sum_us / 1e6);
		node__prom(out,
		           "shoal_request_latency_seconds_count{op=\"%s\"} "
		           "%" PRIu64 "\n",
		           node__op_names[op], h->count);
	}
}

static void node__prom_counter(sh_buf_t *out, const char *name,
                               const char *type, uint64_t v)
{
	node__prom(out, "# TYPE %s %s\n%s %" PRIu64 "\n", name, type, name, v);
}

static void node__prom_rest(node_t *n, sh_buf_t *out)
{
	const coord_stats_t *cs = coord_stats(&n->coord);
	const node_stats_t *s = &n->stats;
	node__prom(out, "# TYPE shoal_sibling_reads_total counter\n");
	for (int i = 0; i < COORD_SIBLING_BUCKETS; i++)
		node__prom(out,
		           "shoal_sibling_reads_total{siblings=\"%d%s\"} "
		           "%" PRIu64 "\n",
		           i, i == COORD_SIBLING_BUCKETS - 1 ? "+" : "",
		           cs->siblings[i]);
	node__prom_counter(out, "shoal_siblings_max", "gauge",
	                   cs->siblings_max);
	node__prom_counter(out, "shoal_read_repairs_total", "counter",
	                   cs->read_repairs);
	node__prom_counter(out, "shoal_actor_renewals_total", "counter",
	                   cs->actor_renewals);
	node__prom_counter(out, "shoal_strays_dropped_total", "counter",
	                   cs->strays_dropped);
	node__prom_counter(out, "shoal_quorum_failures_total", "counter",
	                   cs->quorum_failures);
	node__prom_counter(out, "shoal_forwards_total", "counter",
	                   cs->forwards);
	node__prom_counter(out, "shoal_hints_stored_total", "counter",
	                   cs->hints_stored);
	node__prom_counter(out, "shoal_inflight", "gauge", cs->inflight);
	node__prom_counter(out, "shoal_commits_total", "counter", s->commits);
	node__prom_counter(out, "shoal_commits_sealed_total", "counter",
	                   s->commits_sealed);
	node__prom_counter(out, "shoal_reads_while_committing_total", "counter",
	                   s->reads_while_committing);
	node__prom_counter(out, "shoal_checkpoints_total", "counter",
	                   store_lmdb_checkpoints(&n->store_disk));
	node__prom_counter(out, "shoal_http_connections", "gauge",
	                   n->conns_len);
	node__prom_counter(out, "shoal_members_live", "gauge",
	                   swim_live_count(&n->swim));
	store_stats_t os = {0}, hs = {0};
	store_stats(&n->store, STORE_OBJECTS, &os);
	store_stats(&n->store, STORE_HINTS, &hs);
	node__prom(out,
	           "# TYPE shoal_store_entries gauge\n"
	           "shoal_store_entries{space=\"objects\"} %" PRIu64 "\n"
	           "shoal_store_entries{space=\"hints\"} %" PRIu64 "\n",
	           os.entries, hs.entries);
	node__prom(out,
	           "# TYPE shoal_store_bytes gauge\n"
	           "shoal_store_bytes{space=\"objects\"} %" PRIu64 "\n"
	           "shoal_store_bytes{space=\"hints\"} %" PRIu64 "\n",
	           os.bytes, hs.bytes);
}

/* The connections the node closed or refused, and what bounds dropped. */
static void node__prom_bounds(node_t *n, sh_buf_t *out)
{
	const node_stats_t *s = &n->stats;
	node__prom(out,
	           "# TYPE shoal_http_connections_closed_total counter\n"
	           "shoal_http_connections_closed_total{why=\"refused\"} "
	           "%" PRIu64 "\n"
	           "shoal_http_connections_closed_total{why=\"idle\"} "
	           "%" PRIu64 "\n",
	           s->http_refused, s->http_idle);
	node__prom_counter(out, "shoal_http_throttled_total", "counter",
	                   s->http_throttled);
	node__prom(out,
	           "# TYPE shoal_internode_connections_closed_total counter\n"
	           "shoal_internode_connections_closed_total{why=\"refused\"} "
	           "%" PRIu64 "\n"
	           "shoal_internode_connections_closed_total{why=\"late\"} "
	           "%" PRIu64 "\n"
	           "shoal_internode_connections_closed_total{why=\"stalled\"} "
	           "%" PRIu64 "\n",
	           s->peer_refused, s->peer_timed_out, s->peer_stalled);
	node__prom_counter(out, "shoal_internode_frames_dropped_total",
	                   "counter", s->frames_dropped);
	node__prom_counter(out, "shoal_internode_peers", "gauge", n->peers_len);
}

int node__stats_prom(node_t *n, sh_buf_t *out)
{
	node__prom_ops(n, out);
	node__prom_rest(n, out);
	node__prom_bounds(n, out);
	node__hint_prom(n, out);
	node__aae_prom(n, out);
	node__xfer_prom(n, out);
	node__reap_prom(n, out);
	return SH_OK;
}
