/*
 * coord_put.c - writes as a coordinator (coord.h, REQUESTS): kv put and
 * delete, and the path every write takes (dt updates too, coord_dt.c
 * applies their operations): validate, forward when this node is not a
 * target, apply to the own copy, store it in the open batch, send the new
 * object to the other targets, count acknowledgements, reply after w (pw
 * of them primaries), or 503 when that can no longer happen or the
 * deadline passes.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

static void origin_local(coord__origin_t *o, coord_op_t op, uint64_t client_id,
                         uint64_t now_ms)
{
	memset(o, 0, sizeof(*o));
	o->op = op;
	o->client_id = client_id;
	o->start_ms = now_ms;
}

/* The part of a write's input every client write has. */
static void write_in(coord__write_in_t *in, const void *bucket,
                     size_t bucket_len, const void *key, size_t key_len,
                     const coord_params_t *params)
{
	memset(in, 0, sizeof(*in));
	in->bucket = bucket;
	in->bucket_len = bucket_len;
	in->key = key;
	in->key_len = key_len;
	in->params = params;
}

int coord_kv_put(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params,
                 const coord_value_t *v, const uint8_t *ctx, size_t ctx_len)
{
	coord__origin_t o;
	coord__write_in_t in;

	sh_assert(store_in_batch(c->store) && v != NULL);
	origin_local(&o, COORD_OP_KV_PUT, client_id, now_ms);
	write_in(&in, bucket, bucket_len, key, key_len, params);
	in.value = v;
	in.ctx = ctx;
	in.ctx_len = ctx_len;
	return coord__write(c, now_ms, &o, &in);
}

int coord_kv_delete(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    const uint8_t *ctx, size_t ctx_len)
{
	coord__origin_t o;
	coord__write_in_t in;

	sh_assert(store_in_batch(c->store));
	origin_local(&o, COORD_OP_KV_DELETE, client_id, now_ms);
	write_in(&in, bucket, bucket_len, key, key_len, params);
	in.ctx = ctx;
	in.ctx_len = ctx_len;
	return coord__write(c, now_ms, &o, &in);
}

int coord_dt_update(coord_t *c, uint64_t now_ms, uint64_t client_id,
                    const void *bucket, size_t bucket_len, const void *key,
                    size_t key_len, const coord_params_t *params,
                    crdt_type_t type, const crdt_op_t *ops, size_t op_count)
{
	coord__origin_t o;
	coord__write_in_t in;

	sh_assert(store_in_batch(c->store));
	origin_local(&o, COORD_OP_DT_UPDATE, client_id, now_ms);
	write_in(&in, bucket, bucket_len, key, key_len, params);
	in.type = type;
	in.ops = ops;
	in.op_count = op_count;
	return coord__write(c, now_ms, &o, &in);
}

/* ---- checks before anything is stored ---- */

/* 0, or a status with a message: the body of a kv write */
static int check_kv_body(const coord_t *c, const coord__write_in_t *in,
                         char *err, size_t err_size)
{
	const coord_value_t *v = in->value;

	if (v == NULL)
		return 0;
	if (v->value_len > c->cfg.value_bytes_max) {
		snprintf(err, err_size,
		         "value of %zu bytes over the limit of "
		         "%zu",
		         v->value_len, c->cfg.value_bytes_max);
		return 413;
	}
	if (v->content_type_len > DVV_CONTENT_TYPE_MAX) {
		snprintf(err, err_size, "content type over %d bytes",
		         DVV_CONTENT_TYPE_MAX);
		return 400;
	}
	if ((v->value == NULL && v->value_len > 0) ||
	    (v->content_type == NULL && v->content_type_len > 0)) {
		snprintf(err, err_size, "missing value bytes");
		return 400;
	}
	return 0;
}

static int check_write(const coord_t *c, coord_op_t op,
                       const coord__write_in_t *in, char *err, size_t err_size)
{
	int st = coord__check_key(in->bucket, in->bucket_len, in->key,
	                          in->key_len, err, err_size);
	if (st != 0)
		return st;
	if (op == COORD_OP_DT_UPDATE)
		return coord__dt_check_ops(in, err, err_size);
	if (in->ctx_len > 0 && in->ctx == NULL) {
		snprintf(err, err_size, "missing context bytes");
		return 400;
	}
	return check_kv_body(c, in, err, err_size);
}

/* ---- applying the write to the own copy ---- */

static int kind_conflict(const coord__req_t *q, coord_op_t op,
                         const coord__write_in_t *in, char *err,
                         size_t err_size)
{
	const coord_obj_t *m = &q->merged;

	if (op == COORD_OP_DT_UPDATE && m->kind == COORD_KIND_KV) {
		snprintf(err, err_size, "the key holds a kv object");
		return 409;
	}
	if (op != COORD_OP_DT_UPDATE && m->kind == COORD_KIND_DT) {
		snprintf(err, err_size, "the key holds a %s",
		         crdt_type_name(crdt_type(&m->dt)));
		return 409;
	}
	if (op == COORD_OP_DT_UPDATE && m->kind == COORD_KIND_DT &&
	    crdt_type(&m->dt) != in->type) {
		snprintf(err, err_size, "the key holds a %s, not a %s",
		         crdt_type_name(crdt_type(&m->dt)),
		         crdt_type_name(in->type));
		return 409;
	}
	return 0;
}

static int kv_apply(coord_t *c, uint64_t now_ms, coord__req_t *q,
                    const coord__write_in_t *in, char *err, size_t err_size)
{
	crdt_vv_entry_t vv[4]; /* a client context names few actors */
	crdt_ctx_t ctx;
	dvv_value_t v;
	int e = 0;

	crdt_ctx_init_buf(&ctx, vv, sizeof(vv) / sizeof(vv[0]));
	if (in->ctx_len > 0 && dvv_ctx_decode(&ctx, in->ctx, in->ctx_len)) {
		crdt_ctx_free(&ctx);
		snprintf(err, err_size, "malformed context");
		return 400;
	}
	memset(&v, 0, sizeof(v));
	if (in->value != NULL) {
		v.value = in->value->value;
		v.value_len = in->value->value_len;
		v.content_type = in->value->content_type;
		v.content_type_len = in->value->content_type_len;
	}
	v.tombstone = in->value == NULL;
	v.timestamp_ms = coord__wall_ms(c, now_ms);
	if (q->merged.kind == COORD_KIND_NONE) {
		dvv_init(&q->merged.kv);
		q->merged.kind = COORD_KIND_KV;
	}
	e = dvv_update(&q->merged.kv, in->ctx_len > 0 ? &ctx : NULL, &c->actor,
	               &v, NULL);
	crdt_ctx_free(&ctx);
	if (e != 0) {
		snprintf(err, err_size, "write failed: %s", sh_strerror(e));
		return e == SH_EINVAL ? 400 : 503;
	}
	if (q->merged.kv.sibling_count > c->cfg.siblings_max) {
		snprintf(err, err_size,
		         "over %zu siblings: write with the context of a read "
		         "to resolve them",
		         c->cfg.siblings_max);
		return 409;
	}
	return 0;
}

/*
 * A primary that is down with no fallback in its place (three nodes and
 * n=3, or sloppy=false) would get the write only from anti-entropy: as
 * Cassandra does, the coordinator keeps a hint for it in the same batch
 * as its own copy, and hinted handoff replays that copy when the primary
 * is back.
 */
static int hint_unreplaced(coord_t *c, const coord__req_t *q,
                           const store_key_t *k)
{
	size_t i;
	int e = 0;

	for (i = 0; i < q->unreplaced_count && e == 0; i++)
		e = coord__local_hint(c, k, q->unreplaced[i]);
	if (e != 0)
		c->stats.store_errors++;
	return e;
}

/* read, apply, store; 0 or a status with a message */
static int write_local(coord_t *c, uint64_t now_ms, coord__req_t *q,
                       const coord__write_in_t *in, int self, char *err,
                       size_t err_size)
{
	store_key_t k;
	coord_obj_t mine;
	int e, st, conflict;

	memset(&mine, 0, sizeof(mine));
	e = coord__obj_key(c, q->bucket, q->bucket_len, q->key, q->key_len, &k);
	if (e == 0)
		e = coord__local_read(c, &k, &mine);
	if (e == 0)
		e = coord__actor_fresh(c, &k);
	/* a prefetch (coord_dt.c) left the other replicas' copies in merged */
	if (e == 0)
		e = coord_obj_merge(&mine, &q->merged, &conflict);
	coord_obj_free(&q->merged);
	q->merged = mine;
	if (e != 0) {
		snprintf(err, err_size, "storage: reading the local copy: %s",
		         sh_strerror(e));
		return 503;
	}
	st = kind_conflict(q, q->origin.op, in, err, err_size);
	if (st == 0 && q->origin.op == COORD_OP_DT_UPDATE)
		st = coord__dt_apply(c, now_ms, in, &q->merged, &q->not_present,
		                     err, err_size);
	else if (st == 0)
		st = kv_apply(c, now_ms, q, in, err, err_size);
	if (st != 0)
		return st;
	e = coord__local_write(c, &k, &q->merged, q->targets[self].hint_for);
	if (e == 0)
		e = hint_unreplaced(c, q, &k);
	if (e != 0) {
		snprintf(err, err_size, "storage: %s", sh_strerror(e));
		return e == SH_ETOOBIG ? 413 : 503;
	}
	q->targets[self].state = COORD__T_DONE;
	q->wrote_batch = c->batch_seq;
	return 0;
}

/* send the record in c->scratch to every other target */
static void send_writes(coord_t *c, coord__req_t *q)
{
	size_t i;

	for (i = 0; i < q->target_count; i++) {
		coord__target_t *t = &q->targets[i];
		sh_buf_t *b;
		if (t->is_self)
			continue;
		b = coord__msg_new(c, t->name);
		if (b == NULL) {
			t->state = COORD__T_FAILED;
			continue;
		}
		if (coord__wire_write(b, q->id, q, c->scratch.data,
		                      c->scratch.len, t->hint_for, 1) != 0) {
			coord__msg_drop_last(c);
			t->state = COORD__T_FAILED;
		}
	}
}

/* ---- replies ---- */

/* an error reply for q (409s name the stored kind and type); frees q */
static void write_reply_status(coord_t *c, coord__req_t *q, uint64_t now_ms,
                               int status, const char *msg)
{
	coord_result_t *r = coord__reply_begin(c, &q->origin, q, 0);

	if (r != NULL) {
		r->status = status;
		snprintf(r->error, sizeof(r->error), "%s", msg);
		r->n = q->qp.n;
		r->n_capped = q->qp.n_capped;
		if (status == 409) {
			r->stored_kind = q->merged.kind;
			if (q->merged.kind == COORD_KIND_DT)
				r->stored_type = crdt_type(&q->merged.dt);
		}
		coord__reply_end(c, &q->origin, r, now_ms);
	}
	coord__req_free(c, q);
}

/* the 204; q stays in flight for the acks still to come */
static void write_reply_ok(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	int dep = q->wrote_batch == c->batch_seq;
	coord_result_t *r = coord__reply_begin(c, &q->origin, q, dep);

	q->replied = 1;
	if (r != NULL) {
		r->status = 204;
		r->n = q->qp.n;
		r->n_capped = q->qp.n_capped;
		r->not_present = q->not_present;
		if (coord__result_set_obj(r, &q->merged, 0) != 0) {
			r->status = 503;
			snprintf(r->error, sizeof(r->error),
			         "stored, but out of memory for the reply");
		}
		coord__reply_end(c, &q->origin, r, now_ms);
	}
}

static void write_reply_quorum(coord_t *c, coord__req_t *q, uint64_t now_ms,
                               const char *why)
{
	uint32_t acks = 0, packs = 0;
	coord_result_t *r;
	size_t i;

	for (i = 0; i < q->target_count; i++) {
		if (q->targets[i].state != COORD__T_DONE)
			continue;
		acks++;
		packs += q->targets[i].is_primary;
	}
	c->stats.quorum_failures++;
	q->replied = 1;
	r = coord__reply_begin(c, &q->origin, q, 0);
	if (r != NULL) {
		if (acks >= q->qp.w)
			coord__fill_quorum_failure(r, q, q->qp.pw, packs);
		else
			coord__fill_quorum_failure(r, q, q->qp.w, acks);
		snprintf(r->error, sizeof(r->error), "%s", why);
		coord__reply_end(c, &q->origin, r, now_ms);
	}
}

/* A hint for primary about (bucket, key): stored now, or, with no batch
 * open, owed as three msgpack bins (bucket, key, primary) until one is. */
static void hint_one(coord_t *c, const uint8_t *bucket, size_t bucket_len,
                     const uint8_t *key, size_t key_len, const char *primary)
{
	store_key_t k;

	if (!store_in_batch(c->store)) {
		sh_buf_t *o = &c->hints_owed;
		size_t mark = o->len;
		sh_mp_writer_t w;
		sh_mp_writer_init(&w, o);
		sh_mp_put_bin(&w, bucket, bucket_len);
		sh_mp_put_bin(&w, key, key_len);
		sh_mp_put_bin(&w, primary, strlen(primary));
		if (w.err != 0 || o->len > COORD_OWED_BYTES) {
			o->len = mark;
			c->stats.hints_dropped++;
		}
		return;
	}
	if (coord__obj_key(c, bucket, bucket_len, key, key_len, &k) != 0 ||
	    coord__local_hint(c, &k, primary) != 0)
		c->stats.store_errors++;
}

void coord__hints_pay(coord_t *c)
{
	sh_mp_reader_t r;
	const uint8_t *bucket, *key, *name;
	size_t blen, klen, nlen;
	char primary[COORD_NAME_MAX + 1];

	if (c->hints_owed.len == 0)
		return;
	sh_assert(store_in_batch(c->store));
	sh_mp_reader_init(&r, c->hints_owed.data, c->hints_owed.len);
	while (sh_mp_reader_left(&r) > 0 &&
	       sh_mp_get_bin(&r, &bucket, &blen) == SH_OK &&
	       sh_mp_get_bin(&r, &key, &klen) == SH_OK &&
	       sh_mp_get_bin(&r, &name, &nlen) == SH_OK &&
	       nlen < sizeof(primary)) {
		memcpy(primary, name, nlen);
		primary[nlen] = '\0';
		hint_one(c, bucket, blen, key, klen, primary);
	}
	sh_buf_reset(&c->hints_owed);
}

/*
 * The targets that did not store q's object (silent until the deadline,
 * failed, or cut short) get it later by hinted handoff, as Cassandra
 * does: a hint here names each one (or the primary a fallback stood in
 * for), if this node stored the object itself. Without it a replica that
 * missed the write (hung, slow, or partitioned before SWIM saw it) waited
 * for a read repair or anti-entropy.
 */
static void hint_missing(coord_t *c, coord__req_t *q)
{
	int self = coord__self_target(q), missing = 0;
	size_t i;

	for (i = 0; i < q->target_count; i++)
		missing += q->targets[i].state != COORD__T_DONE;
	/* most writes reach every target: they need no hint */
	if (missing == 0 || self < 0 || q->wrote_batch == UINT64_MAX ||
	    q->targets[self].state != COORD__T_DONE)
		return;
	for (i = 0; i < q->target_count; i++) {
		const coord__target_t *t = &q->targets[i];
		const char *primary = t->hint_for[0] ? t->hint_for : t->name;
		if (t->is_self || t->state == COORD__T_DONE ||
		    strcmp(primary, c->name) == 0)
			continue;
		hint_one(c, q->bucket, q->bucket_len, q->key, q->key_len,
		         primary);
	}
}

/* every target answered, or none will be waited for: hint, free */
static void write_finish(coord_t *c, coord__req_t *q)
{
	hint_missing(c, q);
	coord__req_free(c, q);
}

/* reply when the quorum is met or can no longer be; finish when every
 * target answered. May free q. */
static void write_check(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	uint32_t acks = 0, packs = 0, pending = 0;
	size_t i;

	for (i = 0; i < q->target_count; i++) {
		const coord__target_t *t = &q->targets[i];
		if (t->state == COORD__T_DONE) {
			acks++;
			packs += t->is_primary;
		} else if (t->state == COORD__T_PENDING) {
			pending++;
		}
	}
	if (!q->replied) {
		if (acks >= q->qp.w && packs >= q->qp.pw)
			write_reply_ok(c, q, now_ms);
		else if (pending == 0)
			write_reply_quorum(c, q, now_ms, "quorum");
	}
	if (pending == 0)
		write_finish(c, q);
}

void coord__write_ack(coord_t *c, coord__req_t *q, int t, int status,
                      uint64_t now_ms)
{
	sh_assert(t >= 0 && (size_t)t < q->target_count);
	if (q->targets[t].state != COORD__T_PENDING)
		return; /* a duplicate */
	q->targets[t].state = status == 0 ? COORD__T_DONE : COORD__T_FAILED;
	write_check(c, q, now_ms);
}

void coord__write_expire(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	coord__stop_waiting(q);
	if (!q->replied)
		write_reply_quorum(c, q, now_ms, "quorum");
	write_finish(c, q);
}

void coord__write_cut(coord_t *c, coord__req_t *q)
{
	sh_assert(q->kind == COORD__REQ_WRITE && q->replied);
	coord__stop_waiting(q);
	c->stats.waits_cut++;
	write_finish(c, q);
}

/* The batch holding the own copy did not commit: a reply that depended
 * on it was already turned into a 503 (coord_batch_failed), so only an
 * unreplied q answers here; nothing is hinted, as nothing was stored. */
void coord__write_fail(coord_t *c, coord__req_t *q, uint64_t now_ms,
                       const char *why)
{
	int self = coord__self_target(q);

	if (self >= 0)
		q->targets[self].state = COORD__T_FAILED;
	if (!q->replied)
		write_reply_quorum(c, q, now_ms, why);
	coord__req_free(c, q);
}

int coord__write_resume(coord_t *c, uint64_t now_ms, coord__req_t *q,
                        const coord__write_in_t *in)
{
	char err[COORD_ERROR_BYTES];
	int self = coord__self_target(q), st;

	sh_assert(self >= 0);
	st = write_local(c, now_ms, q, in, self, err, sizeof(err));
	if (st != 0) {
		write_reply_status(c, q, now_ms, st, err);
		return st;
	}
	send_writes(c, q);
	write_check(c, q, now_ms);
	return 0;
}

void coord__write_refuse(coord_t *c, coord__req_t *q, uint64_t now_ms,
                         int status, const char *msg)
{
	write_reply_status(c, q, now_ms, status, msg);
}

/* ---- the path ---- */

/* this node is not a target: forward to the first primary that is up
 * (else the first fallback), or refuse a request forwarded to us */
static int write_elsewhere(coord_t *c, uint64_t now_ms,
                           const coord__origin_t *o,
                           const coord__write_in_t *in, coord__req_t *q)
{
	char to[COORD_NAME_MAX + 1];
	coord__qp_t qp = q->qp;
	size_t i;

	if (in->forwarded) {
		write_reply_status(c, q, now_ms, 503,
		                   "forwarded to a node that is not a replica "
		                   "in its view of the ring; retry");
		return SH_OK;
	}
	if (q->target_count == 0) {
		write_reply_status(c, q, now_ms, 503,
		                   "no replica of the key is up");
		return SH_OK;
	}
	memcpy(to, q->targets[0].name, sizeof(to));
	for (i = q->target_count; i-- > 0;)
		if (q->targets[i].is_primary)
			memcpy(to, q->targets[i].name, sizeof(to));
	/* the forward takes its own slot: release this one first */
	coord__req_free(c, q);
	return coord__forward(c, now_ms, o, in, &qp, to);
}

int coord__write(coord_t *c, uint64_t now_ms, const coord__origin_t *o,
                 const coord__write_in_t *in)
{
	char err[COORD_ERROR_BYTES];
	coord__qp_t qp;
	coord__req_t *q;
	int st, self;

	if (c->cfg.joining)
		return coord__reply_error(
		    c, o, NULL, now_ms, 503,
		    "joining: the cluster's members are not "
		    "known yet, retry");
	if (coord__params(c, in->params, &qp, err, sizeof(err)) != 0)
		return coord__reply_error(c, o, NULL, now_ms, 400, "%s", err);
	st = check_write(c, o->op, in, err, sizeof(err));
	if (st != 0)
		return coord__reply_error(c, o, NULL, now_ms, st, "%s", err);
	if (in->forwarded)
		qp.timeout_ms = qp.timeout_ms - qp.timeout_ms / 10;
	q = coord__req_new(c, COORD__REQ_WRITE, o);
	if (q == NULL) {
		c->stats.overloaded++;
		return coord__reply_error(c, o, NULL, now_ms, 503,
		                          "overloaded");
	}
	q->qp = qp;
	q->deadline_ms = coord__deadline(now_ms, qp.timeout_ms);
	if (coord__req_set_key(q, in->bucket, in->bucket_len, in->key,
	                       in->key_len) != 0) {
		write_reply_status(c, q, now_ms, 503, "out of memory");
		return SH_OK;
	}
	coord__targets(c, q);
	self = coord__self_target(q);
	if (self < 0)
		return write_elsewhere(c, now_ms, o, in, q);
	if (o->op == COORD_OP_DT_UPDATE && coord__dt_prefetch(c, now_ms, q, in))
		return SH_OK; /* removes: read the other replicas first */
	coord__write_resume(c, now_ms, q, in);
	return SH_OK;
}
