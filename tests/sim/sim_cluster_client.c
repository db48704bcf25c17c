/*
 * sim_cluster_client.c - the clients of `shoal-sim cluster` and the
 * history of what they asked and were told.
 *
 * A client is a network node of its own that talks to shoal nodes over
 * streams (as HTTP over TCP would): it sends one request to a random node,
 * waits for the answer (or a failure notice when the node is down, or its
 * own timeout), thinks a little, and sends the next. The request itself
 * stays in the client's struct; the stream carries only its sequence
 * number, and the answer is copied out of the coordinator's result when
 * the node produces it and applied when the reply message arrives (a
 * reply lost to a crash is never seen, as on a real network).
 *
 * The operations, over a small key universe so that clients collide:
 *   kv get, put (value "w<write>", unique; with the context of the
 *   client's last read or acknowledged write of the key, one in ten
 *   without), delete (rare, with that context); dt get; counter +1; set
 *   add of a fresh element "e<elem>"; set remove of an element the client
 *   saw in its last read of that set (a read instead when it saw none);
 *   cart (map of sku -> counter) line +1; cart line remove (only the skus
 *   below CL_SKU_PINNED).
 * Every write is recorded before it is sent (what it carried) and when it
 * ends (acknowledged, failed, timed out): sim_cluster_check.c checks the
 * final state against that history.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "tests/sim/sim_cluster.h"

/* A client gives up on an answer after this (the coordinator's own
 * timeout is 5 s, a forward's 5 s plus the hop back). */
#define CL_CLIENT_TIMEOUT_MS 7000
/* Think time between a client's requests: uniform 0..this. */
#define CL_THINK_MS 100
/* Puts without a context (blind writes, making siblings): one in this. */
#define CL_BLIND_ONE_IN 10

static const struct {
	cl_op_kind_t kind;
	uint32_t weight;
} op_mix[] = {
    {CL_OP_KV_GET, 25},    {CL_OP_KV_PUT, 27},      {CL_OP_KV_DEL, 3},
    {CL_OP_DT_GET, 8},     {CL_OP_CTR_INC, 10},     {CL_OP_SET_ADD, 9},
    {CL_OP_SET_REMOVE, 3}, {CL_OP_CART_UPDATE, 12}, {CL_OP_CART_REMOVE, 3},
};

#define CTR_BASE  CL_KV_KEYS
#define SET_BASE  (CTR_BASE + CL_CTR_KEYS)
#define CART_BASE (SET_BASE + CL_SET_KEYS)

void cl_clients_init(cl_sim_t *s)
{
	for (uint32_t j = 0; j <= s->clients; j++) {
		cl_client_t *c = &s->client[j];
		memset(c, 0, sizeof(*c));
		c->net_id = s->nodes + j;
		c->sched = UINT64_MAX;
	}
}

void cl_clients_free(cl_sim_t *s)
{
	for (uint32_t j = 0; j <= s->clients; j++) {
		cl_client_t *c = &s->client[j];
		sh_buf_free(&c->answer.ctx);
		for (int k = 0; k < CL_KV_KEYS; k++)
			sh_buf_free(&c->kv_ctx[k]);
	}
}

int cl_clients_idle(const cl_sim_t *s)
{
	for (uint32_t j = 0; j <= s->clients; j++)
		if (s->client[j].busy)
			return 0;
	return 1;
}

/* ---- history ---- */

static uint32_t write_new(cl_sim_t *s, uint32_t j, uint32_t key, int del)
{
	int rc = sh_array_reserve((void **)&s->writes, &s->writes_cap,
	                          s->writes_len + 1, sizeof(*s->writes));
	sh_assert(rc == SH_OK);
	cl_write_t *w = &s->writes[s->writes_len];
	memset(w, 0, sizeof(*w));
	w->key = key;
	w->client = j;
	w->is_delete = del;
	const sh_buf_t *ctx = &s->client[j].kv_ctx[key];
	if (del || sh_rand_below(&s->rng, CL_BLIND_ONE_IN) != 0)
		sh_assert(sh_buf_append(&w->ctx, ctx->data, ctx->len) == SH_OK);
	return (uint32_t)s->writes_len++;
}

static uint32_t elem_new(cl_sim_t *s, uint32_t set)
{
	int rc = sh_array_reserve((void **)&s->elems, &s->elems_cap,
	                          s->elems_len + 1, sizeof(*s->elems));
	sh_assert(rc == SH_OK);
	cl_elem_t *e = &s->elems[s->elems_len];
	memset(e, 0, sizeof(*e));
	e->key = set;
	return (uint32_t)s->elems_len++;
}

/* ---- choosing and sending a request ---- */

static cl_op_kind_t pick_kind(cl_sim_t *s)
{
	uint32_t total = 0, x;
	size_t k;
	for (k = 0; k < sizeof(op_mix) / sizeof(op_mix[0]); k++)
		total += op_mix[k].weight;
	x = (uint32_t)sh_rand_below(&s->rng, total);
	for (k = 0; x >= op_mix[k].weight; k++)
		x -= op_mix[k].weight;
	return op_mix[k].kind;
}

/* Mostly the server's defaults; sometimes other quorums, a short
 * timeout, a strict (not sloppy) quorum, a primary quorum. */
static void pick_params(cl_sim_t *s, cl_req_t *q)
{
	coord_params_t *p = &q->params;
	int read = q->kind == CL_OP_KV_GET || q->kind == CL_OP_DT_GET;
	memset(p, 0, sizeof(*p));
	if (sh_rand_chance(&s->rng, 0.15)) {
		uint32_t x = 1 + (uint32_t)sh_rand_below(&s->rng, 3);
		p->present |= read ? COORD_PARAM_R : COORD_PARAM_W;
		p->r = p->w = x;
	}
	if (sh_rand_chance(&s->rng, 0.05)) {
		p->present |= COORD_PARAM_TIMEOUT_MS;
		p->timeout_ms = 10 + (uint32_t)sh_rand_below(&s->rng, 100);
	}
	if (sh_rand_chance(&s->rng, 0.03)) {
		p->present |= COORD_PARAM_SLOPPY;
		p->sloppy = 0;
	}
	if (sh_rand_chance(&s->rng, 0.03)) {
		p->present |= read ? COORD_PARAM_PR : COORD_PARAM_PW;
		p->pr = p->pw = 1;
	}
}

/* Fill c->req with a random operation and record it in the history. */
static void choose(cl_sim_t *s, uint32_t j)
{
	cl_client_t *c = &s->client[j];
	cl_req_t *q = &c->req;
	memset(q, 0, sizeof(*q));
	q->kind = pick_kind(s);
	switch (q->kind) {
	case CL_OP_KV_GET: q->key = sh_rand_below(&s->rng, CL_KV_KEYS); break;
	case CL_OP_KV_PUT:
	case CL_OP_KV_DEL:
		q->key = (uint32_t)sh_rand_below(&s->rng, CL_KV_KEYS);
		q->item = write_new(s, j, q->key, q->kind == CL_OP_KV_DEL);
		break;
	case CL_OP_DT_GET:
		q->key = CTR_BASE + sh_rand_below(&s->rng, CL_DT_KEYS);
		break;
	case CL_OP_CTR_INC:
		q->key = CTR_BASE + sh_rand_below(&s->rng, CL_CTR_KEYS);
		s->n.ctr_tried[q->key - CTR_BASE]++;
		break;
	case CL_OP_SET_ADD:
		q->key = SET_BASE + sh_rand_below(&s->rng, CL_SET_KEYS);
		q->item = elem_new(s, q->key - SET_BASE);
		break;
	case CL_OP_SET_REMOVE: {
		uint32_t set = sh_rand_below(&s->rng, CL_SET_KEYS);
		q->key = SET_BASE + set;
		if (c->seen_len[set] == 0) {
			q->kind = CL_OP_DT_GET; /* nothing seen to remove */
			break;
		}
		q->item =
		    c->seen[set][sh_rand_below(&s->rng, c->seen_len[set])];
		s->elems[q->item].remove_tried = 1;
		break;
	}
	case CL_OP_CART_UPDATE:
	case CL_OP_CART_REMOVE: {
		uint32_t cart = sh_rand_below(&s->rng, CL_CART_KEYS);
		q->key = CART_BASE + cart;
		if (q->kind == CL_OP_CART_UPDATE) {
			q->item = sh_rand_below(&s->rng, CL_SKUS);
			s->n.cart_tried[cart][q->item]++;
		} else {
			q->item = sh_rand_below(&s->rng, CL_SKU_PINNED);
			s->n.cart_removed[cart][q->item] = 1;
		}
		break;
	}
	default: sh_assert(0);
	}
	pick_params(s, q);
}

static void send_req(cl_sim_t *s, uint32_t j, uint32_t to)
{
	cl_client_t *c = &s->client[j];
	uint8_t msg[9];
	c->seq = ++s->seq_next;
	c->busy = 1;
	c->to = to;
	c->sent_ms = s->now;
	c->answer.seq = 0;
	s->n.ops[c->req.kind]++;
	msg[0] = CL_TAG_REQ;
	cl_seq_put(msg + 1, c->seq);
	int rc = sim_net_send_stream(&s->net, c->net_id, to, msg, sizeof(msg),
	                             s->now);
	sh_assert(rc == SH_OK);
	cl_schedule(s, 1, j, &c->sched, s->now + CL_CLIENT_TIMEOUT_MS);
}

void cl_client_start(cl_sim_t *s, uint32_t j)
{
	cl_client_t *c = &s->client[j];
	cl_schedule(s, 1, j, &c->sched,
	            s->now + 1 + sh_rand_below(&s->rng, CL_THINK_MS));
}

void cl_verify_read(cl_sim_t *s, uint32_t k, uint32_t i)
{
	cl_client_t *c = &s->client[s->clients];
	uint32_t idx;
	sh_assert(!c->busy);
	memset(&c->req, 0, sizeof(c->req));
	c->req.kind =
	    cl_family(k, &idx) == CL_FAM_KV ? CL_OP_KV_GET : CL_OP_DT_GET;
	c->req.key = k;
	c->req.params.present = COORD_PARAM_N | COORD_PARAM_R;
	c->req.params.n = 3;
	c->req.params.r = 3;
	send_req(s, s->clients, i);
}

int cl_cold_done(const cl_sim_t *s, uint32_t c)
{
	uint8_t b = s->cold_acked[c];
	if (!(b & CL_COLD_PUT))
		return 0;
	return c % CL_COLD_DEL_EVERY != CL_COLD_DEL_EVERY - 1 ||
	       (b & (CL_COLD_DEL | CL_COLD_RETRIED));
}

void cl_preload_next(cl_sim_t *s)
{
	cl_client_t *c = &s->client[s->clients];
	sh_assert(!c->busy);
	while (s->cold_next < s->cold && cl_cold_done(s, s->cold_next))
		s->cold_next++;
	if (s->cold_next >= s->cold)
		return; /* sim_cluster.c moves on */
	memset(&c->req, 0, sizeof(c->req));
	c->req.kind = s->cold_acked[s->cold_next] & CL_COLD_PUT
	                  ? CL_OP_COLD_DEL
	                  : CL_OP_COLD_PUT;
	c->req.key = CL_KEYS + s->cold_next;
	c->req.params.present = COORD_PARAM_N | COORD_PARAM_W;
	c->req.params.n = 3;
	c->req.params.w = 3;
	send_req(s, s->clients, cl_member_at(s, s->cold_next % s->nodes));
}

/* ---- the end of a request ---- */

static void note_set_read(cl_client_t *c, uint32_t set, const cl_answer_t *a)
{
	c->seen_len[set] = a->elems_len;
	memcpy(c->seen[set], a->elems, a->elems_len * sizeof(a->elems[0]));
}

static void keep_ctx(cl_client_t *c, uint32_t key, const cl_answer_t *a)
{
	sh_buf_reset(&c->kv_ctx[key]);
	sh_assert(sh_buf_append(&c->kv_ctx[key], a->ctx.data, a->ctx.len) ==
	          SH_OK);
}

/* What an answer means for the history. */
static void record(cl_sim_t *s, uint32_t j, cl_outcome_t out,
                   const cl_answer_t *a)
{
	cl_client_t *c = &s->client[j];
	const cl_req_t *q = &c->req;
	uint32_t idx;
	int acked = out == CL_ACKED;
	if (q->kind == CL_OP_COLD_PUT || q->kind == CL_OP_COLD_DEL) {
		uint8_t *b = &s->cold_acked[q->key - CL_KEYS];
		if (q->kind == CL_OP_COLD_DEL)
			*b |= acked ? CL_COLD_DEL : 0;
		else if (!acked)
			*b |= CL_COLD_RETRIED;
		else
			*b |= CL_COLD_PUT;
		if (acked && q->kind == CL_OP_COLD_PUT) {
			sh_buf_reset(&s->cold_ctx);
			sh_assert(sh_buf_append(&s->cold_ctx, a->ctx.data,
			                        a->ctx.len) == SH_OK);
		}
		return;
	}
	cl_family_t fam = cl_family(q->key, &idx);
	switch (q->kind) {
	case CL_OP_KV_PUT:
	case CL_OP_KV_DEL:
		s->writes[q->item].outcome = out;
		/* even clients keep the context of their last read, odd ones
		 * take that of their last write too */
		if (acked && j % 2 == 1)
			keep_ctx(c, idx, a);
		break;
	case CL_OP_KV_GET:
		if (acked && j < s->clients)
			keep_ctx(c, idx, a);
		break;
	case CL_OP_DT_GET:
		if (acked && fam == CL_FAM_SET)
			note_set_read(c, idx, a);
		break;
	case CL_OP_CTR_INC: s->n.ctr_acked[idx] += acked; break;
	case CL_OP_SET_ADD: s->elems[q->item].add = out; break;
	case CL_OP_CART_UPDATE: s->n.cart_acked[idx][q->item] += acked; break;
	default: break;
	}
	if (acked && q->kind >= CL_OP_CTR_INC)
		s->n.acked_crdt++;
}

static void finish(cl_sim_t *s, uint32_t j, cl_outcome_t out,
                   const cl_answer_t *a)
{
	cl_client_t *c = &s->client[j];
	c->busy = 0;
	s->n.acked[c->req.kind] += out == CL_ACKED;
	record(s, j, out, a);
	c->ops++;
	if (j == s->clients)
		cl_schedule(s, 1, j, &c->sched, s->now + 1);
	else if (s->phase == CL_OPS && s->issued < s->ops)
		cl_client_start(s, j);
	else
		c->sched = UINT64_MAX;
}

static cl_outcome_t outcome_of(cl_sim_t *s, const cl_client_t *c, int status)
{
	int read = c->req.kind == CL_OP_KV_GET || c->req.kind == CL_OP_DT_GET;
	if (status == 200 || status == 204 || status == 300 ||
	    (read && status == 404))
		return CL_ACKED;
	if (status == 503) {
		s->n.status_503++;
	} else {
		s->n.status_4xx++;
		printf("unexpected status %d for op %d on key %" PRIu32
		       " at %" PRIu64 " ms\n",
		       status, (int)c->req.kind, c->req.key, s->now);
	}
	return CL_FAILED;
}

void cl_client_wake(cl_sim_t *s, uint32_t j, uint64_t at_ms)
{
	cl_client_t *c = &s->client[j];
	if (at_ms != c->sched)
		return;
	c->sched = UINT64_MAX;
	if (c->busy) {
		if (s->now >= c->sent_ms + CL_CLIENT_TIMEOUT_MS) {
			s->n.timeouts++;
			finish(s, j, CL_TIMED_OUT, NULL);
		}
		return;
	}
	if (j == s->clients) {
		if (s->phase == CL_PRELOAD)
			cl_preload_next(s);
		else
			cl_verify_next(s);
		return;
	}
	if (s->phase != CL_OPS || s->issued >= s->ops)
		return;
	s->issued++;
	choose(s, j);
	send_req(s, j,
	         cl_member_at(s, (uint32_t)sh_rand_below(&s->rng, s->nodes)));
}

void cl_client_deliver(cl_sim_t *s, const sim_net_msg_t *m)
{
	uint32_t j = m->to - s->nodes;
	cl_client_t *c = &s->client[j];
	if (m->len < 9)
		return;
	uint64_t seq = cl_seq_get(m->bytes + 1);
	if (!c->busy || seq != c->seq)
		return;
	if (m->kind == SIM_NET_STREAM && m->bytes[0] == CL_TAG_REPLY &&
	    c->answer.seq == seq) {
		finish(s, j, outcome_of(s, c, c->answer.status), &c->answer);
	} else if (m->kind == SIM_NET_STREAM_FAILED &&
	           m->bytes[0] == CL_TAG_REQ) {
		s->n.unreachable++;
		finish(s, j, CL_FAILED, NULL);
	}
}

/* ---- at the node ---- */

static void start_dt(cl_sim_t *s, uint32_t i, uint64_t id, const char *b,
                     const char *key, const cl_req_t *q)
{
	coord_t *co = &s->node[i].coord;
	char name[16];
	crdt_op_t op, inner;
	crdt_type_t type = CRDT_COUNTER;
	memset(&op, 0, sizeof(op));
	memset(&inner, 0, sizeof(inner));
	switch (q->kind) {
	case CL_OP_CTR_INC:
		op.kind = CRDT_OP_COUNTER_INCREMENT;
		op.u.increment = 1;
		break;
	case CL_OP_SET_ADD:
	case CL_OP_SET_REMOVE:
		snprintf(name, sizeof(name), "e%" PRIu32, q->item);
		type = CRDT_SET;
		op.kind = q->kind == CL_OP_SET_ADD ? CRDT_OP_SET_ADD
		                                   : CRDT_OP_SET_REMOVE;
		op.u.element.bytes = name;
		op.u.element.len = strlen(name);
		break;
	default:
		snprintf(name, sizeof(name), "sku%" PRIu32, q->item);
		type = CRDT_MAP;
		inner.kind = CRDT_OP_COUNTER_INCREMENT;
		inner.u.increment = 1;
		op.kind = q->kind == CL_OP_CART_UPDATE ? CRDT_OP_MAP_UPDATE
		                                       : CRDT_OP_MAP_REMOVE;
		op.u.field.name = name;
		op.u.field.name_len = strlen(name);
		op.u.field.type = CRDT_COUNTER;
		op.u.field.op = q->kind == CL_OP_CART_UPDATE ? &inner : NULL;
		break;
	}
	int rc = coord_dt_update(co, s->now, id, b, strlen(b), key, strlen(key),
	                         NULL, type, &op, 1);
	sh_assert(rc == SH_OK);
}

void cl_client_request(cl_sim_t *s, uint32_t i, uint32_t j, uint64_t seq)
{
	cl_client_t *c = &s->client[j];
	coord_t *co = &s->node[i].coord;
	const cl_req_t *q = &c->req;
	const char *b;
	char key[32], val[24];
	const coord_params_t *p = q->params.present ? &q->params : NULL;
	uint64_t id = (uint64_t)j << 40 | seq;
	int rc = SH_OK;
	if (!c->busy || c->seq != seq)
		return;
	cl_key_name(q->key, &b, key, sizeof(key));
	size_t bl = strlen(b), kl = strlen(key);
	if (q->kind == CL_OP_COLD_PUT) {
		snprintf(val, sizeof(val), "p%" PRIu32, q->key - CL_KEYS);
		coord_value_t v = {(const uint8_t *)val, strlen(val),
		                   "text/plain", 10};
		rc = coord_kv_put(co, s->now, id, b, bl, key, kl, p, &v, NULL,
		                  0);
	} else if (q->kind == CL_OP_COLD_DEL) {
		rc = coord_kv_delete(co, s->now, id, b, bl, key, kl, p,
		                     s->cold_ctx.data, s->cold_ctx.len);
	} else if (q->kind == CL_OP_KV_GET) {
		rc = coord_kv_get(co, s->now, id, b, bl, key, kl, p);
	} else if (q->kind == CL_OP_DT_GET) {
		rc = coord_dt_get(co, s->now, id, b, bl, key, kl, p);
	} else if (q->kind == CL_OP_KV_PUT || q->kind == CL_OP_KV_DEL) {
		const sh_buf_t *ctx = &s->writes[q->item].ctx;
		snprintf(val, sizeof(val), "w%" PRIu32, q->item);
		coord_value_t v = {(const uint8_t *)val, strlen(val),
		                   "text/plain", 10};
		if (q->kind == CL_OP_KV_PUT)
			rc = coord_kv_put(co, s->now, id, b, bl, key, kl, NULL,
			                  &v, ctx->data, ctx->len);
		else
			rc = coord_kv_delete(co, s->now, id, b, bl, key, kl,
			                     NULL, ctx->data, ctx->len);
		s->node[i].tap = 1;
	} else {
		start_dt(s, i, id, b, key, q);
	}
	sh_assert(rc == SH_OK);
}

/* The elements "e<i>" of a set read. */
static void answer_elems(cl_answer_t *a, const coord_result_t *r)
{
	a->elems_len = 0;
	if (r->obj.kind != COORD_KIND_DT || crdt_type(&r->obj.dt) != CRDT_SET)
		return;
	size_t count = crdt_set_count(&r->obj.dt.store);
	for (size_t k = 0; k < count && a->elems_len < CL_SEEN_MAX; k++) {
		const uint8_t *p;
		size_t len;
		uint32_t e;
		crdt_set_element(&r->obj.dt.store, k, &p, &len);
		if (cl_parse_id(p, len, 'e', &e) == SH_OK)
			a->elems[a->elems_len++] = e;
	}
}

void cl_client_result(cl_sim_t *s, uint32_t i, const coord_result_t *r)
{
	uint32_t j = (uint32_t)(r->client_id >> 40);
	uint64_t seq = r->client_id & ((1ULL << 40) - 1);
	uint8_t msg[9];
	sh_assert(j <= s->clients);
	cl_client_t *c = &s->client[j];
	if (!c->busy || c->seq != seq) {
		s->n.late++;
		return;
	}
	c->answer.seq = seq;
	c->answer.status = r->status;
	sh_buf_reset(&c->answer.ctx);
	sh_assert(sh_buf_append(&c->answer.ctx, r->context.data,
	                        r->context.len) == SH_OK);
	answer_elems(&c->answer, r);
	msg[0] = CL_TAG_REPLY;
	cl_seq_put(msg + 1, seq);
	int rc = sim_net_send_stream(&s->net, i, c->net_id, msg, sizeof(msg),
	                             s->now);
	sh_assert(rc == SH_OK);
}
