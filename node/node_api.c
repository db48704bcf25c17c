/*
 * node_api.c - the HTTP routes of DESIGN.md section 9 (node/http.h
 * matches them): /kv, /dt and /cluster/replicas go on to node_kv.c (the
 * coordinator); the cluster views, /cluster/hints, /stats, /metrics, /health
 * and /cluster/leave are answered here, at once, as JSON (or Prometheus text).
 *
 * JSON shapes:
 *   /cluster/members   {"self":N,"members":[{"name","state","incarnation",
 *                       "addr","http_addr","self"}...]}, sorted by name
 *   /cluster/ring      {"partitions","n_replicas","members":[{"name",
 *                       "primaries","slots"}],"partitions_owned":[{
 *                       "partition","owners":[names, primary first]}]}
 *   /cluster/preflist  {"bucket","key","partition","n","preflist":[{"name",
 *                       "rank","up","fallback","stands_in_for","addr",
 *                       "http_addr"}]}
 *   /cluster/hints     {"stored","replayed","failed","bytes","batches",
 *                       "redirected","stale_acks","rejected","received",
 *                       "bytes_per_s","destinations":[{"name","state",
 *                       "left","pending","replayed","failed","bytes"}]}
 *                      (node_hint.c; also /stats' "hints")
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/json.h"
#include "node/node_int.h"

void node__reply_json(node_hconn_t *c, uint64_t seq, int status,
                      const sh_buf_t *body)
{
	http_reply_t r;
	http_reply_init(&r, status);
	r.content_type = "application/json";
	r.body = body->data;
	r.body_len = body->len;
	if (http_conn_reply(&c->hc, seq, &r) != SH_OK)
		http_conn_reply_error(&c->hc, seq, 500, "reply", NULL);
}

void node__reply_error(node_hconn_t *c, uint64_t seq, int status,
                       const char *msg)
{
	http_conn_reply_error(&c->hc, seq, status, msg, NULL);
}

/* Finish a JSON document in n->scratch and send it. */
static void node__send_doc(node_hconn_t *c, uint64_t seq, json_w_t *w)
{
	node_t *n = c->node;
	if (json_w_end(w) != SH_OK) {
		node__reply_error(c, seq, 500, "out of memory");
		return;
	}
	sh_buf_append_u8(&n->scratch, '\n');
	node__reply_json(c, seq, 200, &n->scratch);
}

static int node__cmp_name(const void *a, const void *b)
{
	const swim_member_info_t *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static void node__members(node_t *n, node_hconn_t *c, uint64_t seq)
{
	size_t count = swim_member_count(&n->swim);
	swim_member_info_t *m = calloc(count ? count : 1, sizeof *m);
	if (m == NULL) {
		node__reply_error(c, seq, 503, "out of memory");
		return;
	}
	for (size_t i = 0; i < count; i++)
		swim_member_at(&n->swim, i, &m[i]);
	qsort(m, count, sizeof *m, node__cmp_name);
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	json_w_kv_str(&w, "self", n->cfg.name);
	json_w_key(&w, "members");
	json_w_arr_begin(&w);
	for (size_t i = 0; i < count; i++) {
		json_w_obj_begin(&w);
		json_w_kv_str(&w, "name", m[i].name);
		json_w_kv_str(&w, "state", swim_state_name(m[i].state));
		json_w_kv_u64(&w, "incarnation", m[i].incarnation);
		json_w_kv_str(&w, "addr", m[i].meta->addr);
		json_w_kv_str(&w, "http_addr", m[i].meta->http_addr);
		json_w_kv_bool(&w, "self", m[i].is_self);
		json_w_obj_end(&w);
	}
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	free(m);
	node__send_doc(c, seq, &w);
}

static void node__ring(node_t *n, node_hconn_t *c, uint64_t seq)
{
	const ring_t *r = coord_ring(&n->coord);
	uint32_t members = ring_member_count(r);
	uint32_t q = ring_partitions(r);
	unsigned nrep = ring_n_replicas(r);
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	json_w_kv_u64(&w, "partitions", q);
	json_w_kv_u64(&w, "n_replicas", nrep);
	json_w_key(&w, "members");
	json_w_arr_begin(&w);
	for (uint32_t m = 0; m < members; m++) {
		json_w_obj_begin(&w);
		json_w_kv_str(&w, "name", ring_member_name(r, m));
		json_w_kv_u64(&w, "primaries", ring_primaries(r, m));
		json_w_kv_u64(&w, "slots", ring_slots(r, m));
		json_w_obj_end(&w);
	}
	json_w_arr_end(&w);
	json_w_key(&w, "partitions_owned");
	json_w_arr_begin(&w);
	for (uint32_t p = 0; p < q && members > 0; p++) {
		uint32_t owners[RING_N_MAX];
		unsigned k = ring_owners(r, p, nrep, owners);
		json_w_obj_begin(&w);
		json_w_kv_u64(&w, "partition", p);
		json_w_key(&w, "owners");
		json_w_arr_begin(&w);
		for (unsigned i = 0; i < k; i++)
			json_w_str(&w, ring_member_name(r, owners[i]));
		json_w_arr_end(&w);
		json_w_obj_end(&w);
	}
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	node__send_doc(c, seq, &w);
}

static void node__pref_entry(node_t *n, json_w_t *w, const ring_preflist_t *pl,
                             const ring_pref_t *e)
{
	swim_member_info_t info;
	int known = swim_member_get(&n->swim, e->name, &info) == SH_OK;
	json_w_obj_begin(w);
	json_w_kv_str(w, "name", e->name);
	json_w_kv_u64(w, "rank", e->rank);
	json_w_kv_bool(w, "up", e->is_up);
	json_w_kv_bool(w, "fallback", e->is_fallback);
	json_w_key(w, "stands_in_for");
	if (e->is_fallback && e->stands_in_for >= 0)
		json_w_str(w, pl->entries[e->stands_in_for].name);
	else
		json_w_null(w);
	json_w_kv_str(w, "addr", known ? info.meta->addr : "");
	json_w_kv_str(w, "http_addr", known ? info.meta->http_addr : "");
	json_w_obj_end(w);
}

static void node__preflist(node_t *n, node_hconn_t *c, uint64_t seq,
                           const http_match_t *m)
{
	unsigned nrep =
	    (m->params.present & HTTP_PARAM_N) ? m->params.n : n->cfg.n;
	if (nrep == 0) {
		node__reply_error(c, seq, 400, "n must be at least 1");
		return;
	}
	ring_preflist_t pl;
	int rc = coord_preflist(&n->coord, m->bucket, m->bucket_len, m->key,
	                        m->key_len, nrep, &pl);
	if (rc != SH_OK) {
		node__reply_error(c, seq, 503, "no ring members");
		return;
	}
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	json_w_key(&w, "bucket");
	json_w_str_n(&w, m->bucket, m->bucket_len);
	json_w_key(&w, "key");
	json_w_str_n(&w, m->key, m->key_len);
	json_w_kv_u64(&w, "partition", pl.partition);
	json_w_kv_u64(&w, "n", pl.n);
	json_w_key(&w, "preflist");
	json_w_arr_begin(&w);
	for (unsigned i = 0; i < pl.count; i++)
		node__pref_entry(n, &w, &pl, &pl.entries[i]);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	node__send_doc(c, seq, &w);
}

/* Hand every partition off, then announce the leave and stop
 * (node_xfer.c); 202 at once, progress in /cluster/transfers. */
static void node__leave(node_t *n, node_hconn_t *c, uint64_t seq)
{
	const char *why = NULL;
	if (node__xfer_leave(n, &why) != SH_OK) {
		node__reply_error(c, seq, 409,
		                  why != NULL ? why : "cannot leave");
		return;
	}
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	json_w_obj_begin(&w);
	json_w_kv_bool(&w, "leaving", 1);
	json_w_kv_u64(&w, "moves", xfer_transfers(&n->xfer, NULL, 0));
	json_w_kv_u64(&w, "timeout_ms", n->cfg.leave_timeout_ms);
	json_w_obj_end(&w);
	if (json_w_end(&w) != SH_OK ||
	    sh_buf_append_u8(&n->scratch, '\n') != SH_OK) {
		node__reply_error(c, seq, 500, "out of memory");
		return;
	}
	node__reply_json(c, seq, 202, &n->scratch);
}

static void node__transfers_route(node_t *n, node_hconn_t *c, uint64_t seq)
{
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	node__xfer_json(n, &w, 1);
	node__send_doc(c, seq, &w);
}

static void node__text(node_hconn_t *c, uint64_t seq, int status,
                       const char *type, const sh_buf_t *body)
{
	http_reply_t r;
	http_reply_init(&r, status);
	r.content_type = type;
	r.body = body->data;
	r.body_len = body->len;
	if (http_conn_reply(&c->hc, seq, &r) != SH_OK)
		http_conn_reply_error(&c->hc, seq, 500, "reply", NULL);
}

static void node__stats_route(node_t *n, node_hconn_t *c, uint64_t seq,
                              int prom)
{
	sh_buf_reset(&n->scratch);
	int rc = prom ? node__stats_prom(n, &n->scratch)
	              : node__stats_json(n, &n->scratch);
	if (rc != SH_OK) {
		node__reply_error(c, seq, 500, "stats");
		return;
	}
	node__text(c, seq, 200,
	           prom ? "text/plain; version=0.0.4" : "application/json",
	           &n->scratch);
}

static void node__hints_route(node_t *n, node_hconn_t *c, uint64_t seq)
{
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	node__hint_json(n, &w);
	int rc = json_w_end(&w);
	if (rc == SH_OK)
		rc = sh_buf_append_u8(&n->scratch, '\n');
	if (rc != SH_OK) {
		node__reply_error(c, seq, 500, "hints");
		return;
	}
	node__reply_json(c, seq, 200, &n->scratch);
}

/* GET /cluster/aae: anti-entropy totals and the last exchange per
 * partition (node_aae.c). */
static void node__aae_route(node_t *n, node_hconn_t *c, uint64_t seq)
{
	json_w_t w;
	sh_buf_reset(&n->scratch);
	json_w_init(&w, &n->scratch);
	node__aae_cluster_json(n, &w);
	int rc = json_w_end(&w);
	if (rc == SH_OK)
		rc = sh_buf_append_u8(&n->scratch, '\n');
	if (rc != SH_OK) {
		node__reply_error(c, seq, 500, "aae");
		return;
	}
	node__reply_json(c, seq, 200, &n->scratch);
}

/* 200 only while the node serves client requests: a node still joining
 * (its coordinator has not seen the cluster's members yet) refuses them
 * with 503 "joining", and says so here too, so that whoever waits for
 * /health (a load balancer, shoalctl, the tests) waits for that. */
static void node__health(node_t *n, node_hconn_t *c, uint64_t seq)
{
	const char *status = "ok";
	if (n->stopping)
		status = "stopping";
	else if (n->coord_open && coord_joining(&n->coord))
		status = "joining";
	sh_buf_reset(&n->scratch);
	sh_buf_append(&n->scratch, "{\"status\":\"", 11);
	sh_buf_append(&n->scratch, status, strlen(status));
	sh_buf_append(&n->scratch, "\"}\n", 3);
	node__reply_json(c, seq, strcmp(status, "ok") ? 503 : 200, &n->scratch);
}

void node__api_dispatch(node_t *n, node_hconn_t *c, const http_req_t *req)
{
	http_match_t m;
	uint64_t seq = req->seq;
	if (http_route_match(req, &m) != SH_OK) {
		http_conn_reply_error(&c->hc, seq, m.status, m.error, m.allow);
		return;
	}
	if (n->stopping && m.route != HTTP_ROUTE_HEALTH) {
		http_reply_t r;
		http_reply_init(&r, 503);
		r.content_type = "application/json";
		r.body = "{\"error\":\"shutting down\"}\n";
		r.body_len = strlen(r.body);
		r.close = 1;
		http_conn_reply(&c->hc, seq, &r);
		return;
	}
	switch (m.route) {
	case HTTP_ROUTE_KV:
	case HTTP_ROUTE_DT: node__kv_dispatch(n, c, req, &m); return;
	case HTTP_ROUTE_REPLICAS: node__kv_replicas(n, c, req, &m); return;
	case HTTP_ROUTE_MEMBERS: node__members(n, c, seq); return;
	case HTTP_ROUTE_RING: node__ring(n, c, seq); return;
	case HTTP_ROUTE_PREFLIST: node__preflist(n, c, seq, &m); return;
	case HTTP_ROUTE_LEAVE: node__leave(n, c, seq); return;
	case HTTP_ROUTE_HINTS: node__hints_route(n, c, seq); return;
	case HTTP_ROUTE_AAE: node__aae_route(n, c, seq); return;
	case HTTP_ROUTE_TRANSFERS: node__transfers_route(n, c, seq); return;
	case HTTP_ROUTE_STATS: node__stats_route(n, c, seq, 0); return;
	case HTTP_ROUTE_METRICS: node__stats_route(n, c, seq, 1); return;
	case HTTP_ROUTE_HEALTH: node__health(n, c, seq); return;
	default: node__reply_error(c, seq, 404, "no such path"); return;
	}
}
