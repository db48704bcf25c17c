/*
 * node_kv.c - /kv, /dt and /cluster/replicas through the coordinator
 * (node/coord.h), and the coordinator's messages over internode frames.
 *
 * A request becomes a coordinator call with a client id naming a slot
 * of n->pending (slot index in the low 32 bits, a generation above), so
 * a result finds its connection and HTTP sequence number, or nothing if
 * the connection went away. Results arrive in the coordinator's ready
 * batch, which node__flush delivers only after the store batch committed.
 *
 * Replies:
 *   PUT/DELETE /kv, POST /dt   204, X-Shoal-Context: base64(context);
 *                              /dt also X-Shoal-Not-Present: removes that
 *                              found nothing to remove
 *   GET /kv                    200 the value (its Content-Type) | 300
 *                              multipart/mixed, one part per live sibling
 *                              (X-Shoal-Timestamp: ms) | 404 JSON; each
 *                              with X-Shoal-Context when there is one
 *   GET /dt                    200 {"type","value","context"} | 404
 *   errors                     JSON {"error": ...}; 503 adds "needed",
 *                              "acknowledged", "stored_on"; 409 adds
 *                              "stored_kind", "stored_type"
 * The context is opaque to clients: the base64 (RFC 4648, with padding)
 * of the coordinator's context bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "common/sh_log.h"
#include "node/node_dt.h"
#include "node/node_int.h"

/* ---- base64 ---- */

static const char node__b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * The two characters of each 12-bit value, so that a group of three
 * bytes takes two lookups instead of four (every reply with a context
 * encodes it). Filled at the first encode: the shell calls this from
 * the loop's thread only.
 */
static char node__b64_pairs[4096][2];

static void node__b64_pairs_fill(void)
{
	for (size_t i = 0; i < 4096; i++) {
		node__b64_pairs[i][0] = node__b64[i >> 6];
		node__b64_pairs[i][1] = node__b64[i & 63];
	}
}

int node__b64_encode(const uint8_t *p, size_t len, sh_buf_t *out)
{
	sh_buf_reset(out);
	if (sh_buf_reserve(out, (len + 2) / 3 * 4 + 1) != SH_OK)
		return SH_ENOMEM;
	if (node__b64_pairs[0][0] == 0)
		node__b64_pairs_fill();
	char *o = (char *)out->data;
	size_t j = 0, i = 0;
	/* whole groups of three bytes first: no padding checks per group */
	for (; i + 3 <= len; i += 3) {
		uint32_t v =
		    (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		memcpy(o + j, node__b64_pairs[v >> 12], 2);
		memcpy(o + j + 2, node__b64_pairs[v & 4095], 2);
		j += 4;
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		o[j++] = node__b64[(v >> 18) & 63];
		o[j++] = node__b64[(v >> 12) & 63];
		o[j++] = i + 1 < len ? node__b64[(v >> 6) & 63] : '=';
		o[j++] = '=';
	}
	o[j] = '\0';
	out->len = j;
	return SH_OK;
}

/* The value of a base64 character, or -1: by ranges, since every request
 * with a context decodes it (no search of the alphabet per character). */
static int node__b64_val(char ch)
{
	uint8_t c = (uint8_t)ch;
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode s[0..len) (padding optional); SH_EMALFORMED for bad input. */
static int node__b64_decode(const char *s, size_t len, sh_buf_t *out)
{
	sh_buf_reset(out);
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || sh_buf_reserve(out, len / 4 * 3 + 3) != SH_OK)
		return len % 4 == 1 ? SH_EMALFORMED : SH_ENOMEM;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = node__b64_val(s[i]);
		if (v < 0)
			return SH_EMALFORMED;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[out->len++] = (uint8_t)(acc >> bits);
		}
	}
	return SH_OK;
}

/* ---- pending requests ---- */

static node_pending_t *node__pending_new(node_t *n, node_hconn_t *c,
                                         uint64_t seq, node_op_t op)
{
	if (n->pending_len == n->pending_cap) {
		uint32_t cap = n->pending_cap ? 2 * n->pending_cap : 64;
		node_pending_t *p = realloc(n->pending, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		memset(p + n->pending_cap, 0,
		       (cap - n->pending_cap) * sizeof *p);
		n->pending = p;
		n->pending_hint = n->pending_cap;
		n->pending_cap = cap;
	}
	uint32_t i = n->pending_hint;
	while (n->pending[i].client_id != 0)
		i = (i + 1) % n->pending_cap;
	node_pending_t *p = &n->pending[i];
	n->pending_hint = (i + 1) % n->pending_cap;
	n->pending_len++;
	p->client_id = (++n->pending_gen << 32) | i;
	p->conn = c;
	p->conn_id = c->id;
	p->seq = seq;
	p->op = op;
	p->start_us = node__now_us();
	p->untyped_removes = 0;
	c->waiting++;
	return p;
}

static void node__pending_done(node_t *n, node_pending_t *p)
{
	if (p->conn != NULL)
		p->conn->waiting--;
	p->client_id = 0;
	p->conn = NULL;
	n->pending_len--;
}

node_pending_t *node__pending_find(node_t *n, uint64_t client_id)
{
	uint32_t i = (uint32_t)client_id;
	if (i >= n->pending_cap || n->pending[i].client_id != client_id)
		return NULL;
	return &n->pending[i];
}

void node__kv_conn_gone(node_t *n, node_hconn_t *c)
{
	for (uint32_t i = 0; c->waiting > 0 && i < n->pending_cap; i++)
		if (n->pending[i].client_id != 0 && n->pending[i].conn == c) {
			n->pending[i].conn = NULL;
			c->waiting--;
		}
}

/* A held reply's operation and start, timed when its commit is done. */
typedef struct node__held_time {
	uint64_t start_us;
	node_op_t op;
} node__held_time_t;

/* Count and time a reply, and release the slot. A reply held for a
 * sealed commit (held) is timed when the commit is done, as the client
 * sees it. */
void node__pending_answer(node_t *n, node_pending_t *p, int status, int held)
{
	if (p->op < NODE_OP__COUNT) {
		int k = status < 300   ? NODE_ST_2XX
		        : status < 400 ? NODE_ST_3XX
		        : status < 500 ? NODE_ST_4XX
		                       : NODE_ST_5XX;
		n->stats.status[p->op][k]++;
		node__held_time_t h = {.start_us = p->start_us, .op = p->op};
		if (!held ||
		    sh_buf_append(&n->held_times, &h, sizeof h) != SH_OK)
			node_hist_add(&n->stats.latency[p->op],
			              node__now_us() - p->start_us);
	}
	node__pending_done(n, p);
}

void node__kv_held_timed(node_t *n)
{
	uint64_t now = node__now_us();
	node__held_time_t h;
	for (size_t off = 0; off + sizeof h <= n->held_times.len;
	     off += sizeof h) {
		memcpy(&h, n->held_times.data + off, sizeof h);
		node_hist_add(&n->stats.latency[h.op], now - h.start_us);
	}
	sh_buf_reset(&n->held_times);
}

/* ---- requests ---- */

static void node__params(const http_params_t *h, coord_params_t *p)
{
	p->present = h->present;
	p->n = h->n;
	p->r = h->r;
	p->w = h->w;
	p->pr = h->pr;
	p->pw = h->pw;
	p->timeout_ms = h->timeout_ms;
	p->sloppy = h->sloppy;
}

static node_op_t node__op_of(const http_match_t *m)
{
	if (m->route == HTTP_ROUTE_KV) {
		if (m->method == HTTP_METH_PUT)
			return NODE_OP_PUT;
		if (m->method == HTTP_METH_DELETE)
			return NODE_OP_DELETE;
		return NODE_OP_GET;
	}
	return m->method == HTTP_METH_POST ? NODE_OP_DT_UPDATE : NODE_OP_DT_GET;
}

/* An answer given at once, without the coordinator. */
static void node__answer_now(node_t *n, node_hconn_t *c, uint64_t seq,
                             node_op_t op, int status, const char *msg)
{
	n->stats.status[op][status < 500 ? NODE_ST_4XX : NODE_ST_5XX]++;
	node__reply_error(c, seq, status, msg);
}

static int node__dt_update(node_t *n, node_pending_t *p, const http_req_t *req,
                           const http_match_t *m, const coord_params_t *cp,
                           char *err, size_t esize)
{
	node_dt_req_t *d = calloc(1, sizeof *d);
	if (d == NULL)
		return SH_ENOMEM;
	int rc = node_dt_parse(d, req->body, req->body_len);
	if (rc != SH_OK) {
		snprintf(err, esize, "%s", d->err);
	} else {
		p->untyped_removes = d->untyped_removes;
		rc =
		    coord_dt_update(&n->coord, p->start_us / 1000, p->client_id,
		                    m->bucket, m->bucket_len, m->key,
		                    m->key_len, cp, d->type, d->ops, d->count);
	}
	node_dt_free(d);
	free(d);
	return rc;
}

/* Hand the request to the coordinator; a nonzero return is answered. */
static int node__kv_call(node_t *n, node_pending_t *p, const http_req_t *req,
                         const http_match_t *m, const coord_params_t *cp,
                         char *err, size_t esize)
{
	/* the clock was read for this request a moment ago */
	uint64_t now = p->start_us / 1000;
	const uint8_t *ctx = n->scratch.data;
	size_t ctx_len = n->scratch.len;
	coord_value_t v = {0};
	switch (p->op) {
	case NODE_OP_GET:
		return coord_kv_get(&n->coord, now, p->client_id, m->bucket,
		                    m->bucket_len, m->key, m->key_len, cp);
	case NODE_OP_PUT:
		v.value = req->body;
		v.value_len = req->body_len;
		v.content_type = req->content_type.ptr;
		v.content_type_len = req->content_type.len;
		return coord_kv_put(&n->coord, now, p->client_id, m->bucket,
		                    m->bucket_len, m->key, m->key_len, cp, &v,
		                    ctx, ctx_len);
	case NODE_OP_DELETE:
		return coord_kv_delete(&n->coord, now, p->client_id, m->bucket,
		                       m->bucket_len, m->key, m->key_len, cp,
		                       ctx, ctx_len);
	case NODE_OP_DT_GET:
		return coord_dt_get(&n->coord, now, p->client_id, m->bucket,
		                    m->bucket_len, m->key, m->key_len, cp);
	case NODE_OP_DT_UPDATE:
		return node__dt_update(n, p, req, m, cp, err, esize);
	default: return SH_EINVAL;
	}
}

void node__kv_dispatch(node_t *n, node_hconn_t *c, const http_req_t *req,
                       const http_match_t *m)
{
	node_op_t op = node__op_of(m);
	coord_params_t cp;
	char err[160];
	err[0] = '\0'; /* not the whole array: every request passes here */
	node__params(&m->params, &cp);
	n->stats.ops[op]++;
	/* the coordinator merges the server's defaults and answers 400 for
	 * parameters that do not fit (coord.h, REQUESTS) */
	if (op == NODE_OP_PUT && req->body_len > n->cfg.value_bytes_max) {
		node__answer_now(n, c, req->seq, op, 413,
		                 "value over --value-bytes-max");
		return;
	}
	/* The context goes to n->scratch, read by node__kv_call. */
	sh_buf_reset(&n->scratch);
	if (req->context.len > 0 &&
	    node__b64_decode(req->context.ptr, req->context.len, &n->scratch) !=
	        SH_OK) {
		node__answer_now(n, c, req->seq, op, 400,
		                 "malformed X-Shoal-Context (not base64)");
		return;
	}
	/* A read opens no batch: inside this turn's batch, if one is open,
	 * it sees the batch's writes; outside it reads the committed state
	 * (also while a sealed batch commits) and costs no transaction. */
	int reads = op == NODE_OP_GET || op == NODE_OP_DT_GET;
	if (!reads && node__batch(n) != SH_OK) {
		node__answer_now(n, c, req->seq, op, 503, "storage");
		return;
	}
	n->stats.reads_while_committing += reads && n->committing;
	node_pending_t *p = node__pending_new(n, c, req->seq, op);
	if (p == NULL) {
		node__answer_now(n, c, req->seq, op, 503, "out of memory");
		return;
	}
	int rc = node__kv_call(n, p, req, m, &cp, err, sizeof err);
	if (rc != SH_OK) {
		int status = err[0] ? 400 : 503;
		node__pending_answer(n, p, status, 0);
		node__reply_error(c, req->seq, status,
		                  err[0] ? err : sh_strerror(rc));
	}
}

void node__kv_replicas(node_t *n, node_hconn_t *c, const http_req_t *req,
                       const http_match_t *m)
{
	coord_params_t cp;
	node__params(&m->params, &cp);
	node_pending_t *p = node__pending_new(n, c, req->seq, NODE_OP__COUNT);
	if (p == NULL) {
		node__reply_error(c, req->seq, 503, "out of memory");
		return;
	}
	int rc =
	    coord_replicas(&n->coord, node__now_ms(), p->client_id, m->bucket,
	                   m->bucket_len, m->key, m->key_len, &cp);
	if (rc != SH_OK) {
		node__pending_done(n, p);
		node__reply_error(c, req->seq, 503, sh_strerror(rc));
	}
}

void node__kv_recv(node_t *n, const char *from, const uint8_t *data, size_t len)
{
	if (node__batch(n) != SH_OK)
		return;
	int rc = coord_recv(&n->coord, node__now_ms(), from, data, len);
	if (rc != SH_OK && rc != SH_ENOTFOUND)
		sh_log(SH_LOG_DEBUG, "coord_recv from %s: %s", from,
		       sh_strerror(rc));
}
