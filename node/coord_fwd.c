/*
 * coord_fwd.c - forwarding (coord.h, REQUESTS): a write reaching a node
 * that is not one of the key's targets goes, whole, to one that is, in a
 * FORWARD message; that node coordinates it (never forwarding it again)
 * and sends the result back in a FORWARD_REPLY, which becomes the client's
 * result here. The forwarding node waits timeout_ms; the coordinating node
 * uses 9/10 of it, so its own 503 normally arrives first.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

int coord__forward(coord_t *c, uint64_t now_ms, const coord__origin_t *o,
                   const coord__write_in_t *in, const coord__qp_t *qp,
                   const char *to)
{
	coord__req_t *q = coord__req_new(c, COORD__REQ_FORWARD, o);
	coord__target_t *t;
	sh_buf_t *b;

	if (q == NULL) {
		c->stats.overloaded++;
		return coord__reply_error(c, o, NULL, now_ms, 503,
		                          "overloaded");
	}
	q->qp = *qp;
	q->deadline_ms = coord__deadline(now_ms, qp->timeout_ms);
	t = &q->targets[0];
	q->target_count = 1;
	snprintf(t->name, sizeof(t->name), "%s", to);
	t->is_primary = 1;
	t->state = COORD__T_PENDING;
	b = coord__msg_new(c, to);
	if (b == NULL || coord__wire_forward(b, q->id, o->op, in, qp) != 0) {
		if (b != NULL)
			coord__msg_drop_last(c);
		coord__reply_error(c, o, q, now_ms, 503, "out of memory");
		coord__req_free(c, q);
		return SH_OK;
	}
	c->stats.forwards++;
	return SH_OK;
}

void coord__forward_expire(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	coord_result_t *r = coord__reply_begin(c, &q->origin, q, 0);

	c->stats.quorum_failures++;
	if (r != NULL) {
		r->status = 503;
		r->forwarded = 1;
		r->needed = q->qp.w;
		r->n = q->qp.n;
		r->n_capped = q->qp.n_capped;
		snprintf(r->error, sizeof(r->error),
		         "forwarded to %s: no answer in time",
		         q->targets[0].name);
		coord__reply_end(c, &q->origin, r, now_ms);
	}
	coord__req_free(c, q);
}

/* FNV-1a over the sender's name and the request id */
static uint64_t seen_key(const char *from, uint64_t id)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; from[i] != '\0'; i++)
		h = (h ^ (uint8_t)from[i]) * 1099511628211ull;
	for (i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(id >> (8 * i))) * 1099511628211ull;
	return h | 1; /* 0 marks an empty entry */
}

/* 1 if (from, id) was served recently; else remember it */
static int seen_before(coord_t *c, uint64_t now_ms, const char *from,
                       uint64_t id, uint32_t timeout_ms)
{
	uint64_t key = seen_key(from, id);
	size_t i;

	for (i = 0; i < COORD_FORWARDS_SEEN; i++)
		if (c->seen[i].key == key && c->seen[i].until_ms > now_ms)
			return 1;
	c->seen[c->seen_next].key = key;
	c->seen[c->seen_next].until_ms = coord__deadline(
	    now_ms, timeout_ms > UINT32_MAX / 2 ? UINT32_MAX : 2 * timeout_ms);
	c->seen_next = (c->seen_next + 1) % COORD_FORWARDS_SEEN;
	return 0;
}

int coord__forward_recv(coord_t *c, uint64_t now_ms, const char *from,
                        const coord__wire_t *m)
{
	coord__origin_t o;
	coord__write_in_t in;

	if (seen_before(c, now_ms, from, m->id, m->params.timeout_ms)) {
		c->stats.forwards_duplicate++;
		return SH_OK;
	}
	memset(&o, 0, sizeof(o));
	o.op = m->op;
	o.start_ms = now_ms;
	o.remote = 1;
	snprintf(o.node, sizeof(o.node), "%s", from);
	o.id = m->id;
	memset(&in, 0, sizeof(in));
	in.bucket = m->bucket;
	in.bucket_len = m->bucket_len;
	in.key = m->key;
	in.key_len = m->key_len;
	in.params = &m->params;
	in.forwarded = 1;
	if (m->op == COORD_OP_KV_PUT)
		in.value = &m->value;
	in.ctx = m->ctx;
	in.ctx_len = m->ctx_len;
	in.type = m->dt_type;
	in.ops = m->ops;
	in.op_count = m->op_count;
	c->stats.forwards_served++;
	return coord__write(c, now_ms, &o, &in);
}

static void copy_reply(coord_result_t *r, const coord__wire_t *m)
{
	size_t i, len = m->r_error_len;

	r->status = m->r_status;
	if (len >= sizeof(r->error))
		len = sizeof(r->error) - 1;
	memcpy(r->error, m->r_error, len);
	r->error[len] = '\0';
	r->forwarded = 1;
	r->n = m->r_n;
	r->n_capped = m->r_n_capped;
	r->needed = m->r_needed;
	r->acknowledged = m->r_acknowledged;
	r->not_present = m->r_not_present;
	r->stored_kind = m->r_stored_kind;
	r->stored_type = m->r_stored_type;
	r->stored_on_count = m->r_stored_on_count;
	for (i = 0; i < m->r_stored_on_count; i++)
		memcpy(r->stored_on[i], m->r_stored_on[i],
		       sizeof(r->stored_on[i]));
}

int coord__forward_reply_recv(coord_t *c, uint64_t now_ms, const char *from,
                              const coord__wire_t *m)
{
	coord__req_t *q = coord__req_find(c, m->id);
	coord_result_t *r;

	if (q == NULL || q->kind != COORD__REQ_FORWARD) {
		c->stats.late_answers++;
		return coord__reject(c, COORD_REJECT_STALE, SH_ENOTFOUND);
	}
	if (strcmp(q->targets[0].name, from) != 0)
		return coord__reject(c, COORD_REJECT_SENDER, SH_EINVAL);
	r = coord__reply_begin(c, &q->origin, q, 0);
	if (r != NULL) {
		copy_reply(r, m);
		if (m->r_context_len > 0 &&
		    sh_buf_append(&r->context, m->r_context,
		                  m->r_context_len) != 0) {
			r->status = 503;
			snprintf(r->error, sizeof(r->error), "out of memory");
		}
		coord__reply_end(c, &q->origin, r, now_ms);
	}
	coord__req_free(c, q);
	return SH_OK;
}
