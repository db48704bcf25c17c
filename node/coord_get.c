/*
 * coord_get.c - reads as a coordinator (coord.h, REQUESTS): kv get, dt
 * get and replicas. Ask every target (the own store directly), join the
 * answers as they come, reply after r answers (pr of them primaries), keep
 * the request until every target answered or the deadline passed, then
 * send the join of all answers to every target whose copy differed (read
 * repair).
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

/* ---- replies ---- */

static int read_needs_repair(const coord__req_t *q, const coord__target_t *t);

/* 1 if some target's copy differs from the join (or does not decode) */
static int read_any_repair(const coord__req_t *q)
{
	size_t i;

	for (i = 0; i < q->target_count; i++)
		if (read_needs_repair(q, &q->targets[i]))
			return 1;
	return 0;
}

/*
 * r's object and context from the join. When every target has answered
 * (last) and no copy needs a repair, the request needs the join no more:
 * it moves into r instead of being copied (read_finish then skips the
 * empty join).
 */
static int result_set_merged(coord__req_t *q, coord_result_t *r, int last)
{
	int err;

	if (!last || read_any_repair(q))
		return coord__result_set_obj(r, &q->merged, 1);
	err = coord__result_set_obj(r, &q->merged, 0);
	if (err == 0) {
		coord_obj_free(&r->obj);
		r->obj = q->merged;
		memset(&q->merged, 0, sizeof(q->merged));
	}
	return err;
}

static void reply_kv(coord_t *c, coord__req_t *q, coord_result_t *r, int last)
{
	const coord_obj_t *m = &q->merged;
	size_t live;

	if (m->kind == COORD_KIND_DT) {
		r->status = 409;
		snprintf(r->error, sizeof(r->error), "the key holds a %s",
		         crdt_type_name(crdt_type(&m->dt)));
		r->stored_kind = COORD_KIND_DT;
		r->stored_type = crdt_type(&m->dt);
		return;
	}
	if (m->kind == COORD_KIND_NONE) {
		r->status = 404;
		return;
	}
	live = dvv_live_count(&m->kv);
	r->status = live == 0 ? 404 : live == 1 ? 200 : 300;
	coord__stats_siblings(c, m->kv.sibling_count);
	if (result_set_merged(q, r, last) != 0) {
		r->status = 503;
		snprintf(r->error, sizeof(r->error), "out of memory");
	}
}

static void reply_dt(coord_t *c, coord__req_t *q, coord_result_t *r, int last)
{
	const coord_obj_t *m = &q->merged;

	(void)c;
	if (m->kind == COORD_KIND_KV) {
		r->status = 409;
		snprintf(r->error, sizeof(r->error),
		         "the key holds a kv object");
		r->stored_kind = COORD_KIND_KV;
		return;
	}
	if (m->kind == COORD_KIND_NONE) {
		r->status = 404;
		return;
	}
	r->status = 200;
	if (result_set_merged(q, r, last) != 0) {
		r->status = 503;
		snprintf(r->error, sizeof(r->error), "out of memory");
	}
}

static void reply_replicas(coord__req_t *q, coord_result_t *r)
{
	size_t i;

	r->status = 200;
	for (i = 0; i < q->target_count; i++) {
		const coord__target_t *t = &q->targets[i];
		coord_local_t *l = &r->replicas[r->replica_count++];
		memset(l, 0, sizeof(*l)); /* coord__reply_begin did not */
		memcpy(l->name, t->name, sizeof(l->name));
		l->is_fallback = !t->is_primary;
		l->answered = t->state == COORD__T_DONE;
		if (l->answered)
			coord__local_info(&t->answer, l);
	}
}

/* the read's result (q stays in flight for the repair); last: every
 * target has answered */
static void read_reply(coord_t *c, coord__req_t *q, uint64_t now_ms, int last)
{
	int dep = q->wrote_batch == c->batch_seq;
	coord_result_t *r = coord__reply_begin(c, &q->origin, q, dep);

	q->replied = 1;
	if (r == NULL)
		return;
	r->n = q->qp.n;
	r->n_capped = q->qp.n_capped;
	if (q->origin.op == COORD_OP_KV_GET)
		reply_kv(c, q, r, last);
	else if (q->origin.op == COORD_OP_DT_GET)
		reply_dt(c, q, r, last);
	else
		reply_replicas(q, r);
	coord__reply_end(c, &q->origin, r, now_ms);
}

static void read_reply_quorum(coord_t *c, coord__req_t *q, uint64_t now_ms,
                              uint32_t answered, uint32_t panswered)
{
	coord_result_t *r = coord__reply_begin(c, &q->origin, q, 0);

	q->replied = 1;
	c->stats.quorum_failures++;
	if (r == NULL)
		return;
	if (answered >= q->qp.r)
		coord__fill_quorum_failure(r, q, q->qp.pr, panswered);
	else
		coord__fill_quorum_failure(r, q, q->qp.r, answered);
	snprintf(r->error, sizeof(r->error), "quorum");
	coord__reply_end(c, &q->origin, r, now_ms);
}

/* ---- read repair ---- */

static void repair_target(coord_t *c, coord__req_t *q, coord__target_t *t,
                          const store_key_t *k)
{
	sh_buf_t *b;

	if (t->is_self) {
		/* no batch: the node commits a sealed one and defers
		 * writes; a later read repairs this copy */
		if (!store_in_batch(c->store))
			return;
		if (coord__local_merge(c, k, &q->merged, t->hint_for) == 0)
			c->stats.read_repairs++;
		return;
	}
	/* c->scratch holds the merged record (see read_finish) */
	b = coord__msg_new(c, t->name);
	if (b == NULL)
		return;
	if (coord__wire_write(b, q->id, q, c->scratch.data, c->scratch.len,
	                      t->hint_for, 0) != 0) {
		coord__msg_drop_last(c);
		return;
	}
	c->stats.read_repairs++;
}

/* t's copy is damaged, or it answered something other than the join */
static int read_needs_repair(const coord__req_t *q, const coord__target_t *t)
{
	return t->damaged || (t->state == COORD__T_DONE && !t->in_merged &&
	                      !coord_obj_equal(&t->answer, &q->merged));
}

/* repair every target whose answer differs from the join, free q */
static void read_finish(coord_t *c, coord__req_t *q)
{
	store_key_t k;
	size_t i;
	int self = -1;

	if (q->origin.op == COORD_OP_REPLICAS ||
	    q->merged.kind == COORD_KIND_NONE)
		goto out;
	/* the encoding and the key serve repairs only: most reads find
	 * every copy equal and need neither */
	if (!read_any_repair(q))
		goto out;
	sh_buf_reset(&c->scratch);
	if (coord_obj_encode(&q->merged, &c->scratch) != 0 ||
	    coord__obj_key(c, q->bucket, q->bucket_len, q->key, q->key_len,
	                   &k) != 0)
		goto out;
	for (i = 0; i < q->target_count; i++) {
		coord__target_t *t = &q->targets[i];
		if (!read_needs_repair(q, t))
			continue;
		if (t->is_self)
			self = (int)i; /* last: it reuses c->scratch */
		else
			repair_target(c, q, t, &k);
	}
	if (self >= 0)
		repair_target(c, q, &q->targets[self], &k);
out:
	coord__req_free(c, q);
}

/* reply when r answers are in; finish when every target answered */
static void read_check(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	uint32_t answered = 0, panswered = 0, pending = 0;
	size_t i;

	for (i = 0; i < q->target_count; i++) {
		const coord__target_t *t = &q->targets[i];
		if (t->state == COORD__T_DONE) {
			answered++;
			panswered += t->is_primary;
		} else if (t->state == COORD__T_PENDING) {
			pending++;
		}
	}
	if (!q->replied) {
		if (q->origin.op == COORD_OP_REPLICAS) {
			if (pending == 0)
				read_reply(c, q, now_ms, 1);
		} else if (answered >= q->qp.r && panswered >= q->qp.pr) {
			read_reply(c, q, now_ms, pending == 0);
		} else if (pending == 0) {
			read_reply_quorum(c, q, now_ms, answered, panswered);
		}
	}
	if (pending == 0)
		read_finish(c, q);
}

/*
 * Before the join changes: a target whose answer moved into it gets its
 * own copy back, since repairs compare every answer with the final join.
 * 0 or SH_ENOMEM.
 */
static int read_unshare(coord__req_t *q)
{
	size_t i;
	int err;

	for (i = 0; i < q->target_count; i++) {
		coord__target_t *t = &q->targets[i];
		if (!t->in_merged)
			continue;
		err = coord__obj_copy(&t->answer, &q->merged);
		if (err != 0)
			return err;
		t->in_merged = 0;
	}
	return SH_OK;
}

/*
 * The first object found, moved in (take): the join of it alone is
 * itself, so it becomes the join and is copied back into the target's
 * answer only if another answer changes the join (read_unshare).
 */
static int read_take_first(const coord__req_t *q, const coord_obj_t *take)
{
	return take != NULL && take->kind != COORD_KIND_NONE &&
	       q->merged.kind == COORD_KIND_NONE &&
	       q->origin.op != COORD_OP_REPLICAS;
}

/*
 * Target t answered obj (borrowed, copied), or take (moved in: the own
 * read's object, which its caller would only free; left empty), or
 * neither (it failed).
 */
static void read_answer(coord_t *c, coord__req_t *q, int t,
                        const coord_obj_t *obj, coord_obj_t *take,
                        uint64_t now_ms)
{
	coord__target_t *tg;
	int conflict = 0, have;

	sh_assert(t >= 0 && (size_t)t < q->target_count);
	tg = &q->targets[t];
	if (tg->state != COORD__T_PENDING)
		return; /* a duplicate */
	tg->state = COORD__T_FAILED;
	if (read_take_first(q, take)) {
		coord_obj_free(&q->merged);
		q->merged = *take;
		memset(take, 0, sizeof(*take));
		tg->in_merged = 1;
		tg->state = COORD__T_DONE;
		if (q->replied)
			c->stats.late_answers++;
		read_check(c, q, now_ms);
		return;
	}
	if (take != NULL) {
		coord_obj_free(&tg->answer);
		tg->answer = *take;
		memset(take, 0, sizeof(*take));
		obj = &tg->answer;
		have = 1;
	} else {
		have = obj != NULL && coord__obj_copy(&tg->answer, obj) == 0;
	}
	if (have && read_unshare(q) == 0 &&
	    coord_obj_merge(&q->merged, obj, &conflict) == 0)
		tg->state = COORD__T_DONE;
	if (conflict)
		c->stats.type_conflicts++;
	if (tg->state == COORD__T_DONE && q->replied)
		c->stats.late_answers++;
	read_check(c, q, now_ms);
}

void coord__read_answer(coord_t *c, coord__req_t *q, int t,
                        const coord_obj_t *obj, uint64_t now_ms)
{
	read_answer(c, q, t, obj, NULL, now_ms);
}

void coord__read_cut(coord_t *c, coord__req_t *q)
{
	sh_assert(q->kind == COORD__REQ_READ && q->replied);
	coord__stop_waiting(q);
	c->stats.waits_cut++;
	read_finish(c, q);
}

void coord__read_expire(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	coord__stop_waiting(q);
	read_check(c, q, now_ms);
}

/* ---- the path ---- */

static void read_ask(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	store_key_t k;
	coord_obj_t mine;
	size_t i;
	int self = -1, err;

	for (i = 0; i < q->target_count; i++) {
		coord__target_t *t = &q->targets[i];
		sh_buf_t *b;
		if (t->is_self) {
			self = (int)i;
			continue;
		}
		b = coord__msg_new(c, t->name);
		if (b == NULL) {
			t->state = COORD__T_FAILED;
		} else if (coord__wire_read(b, q->id, q) != 0) {
			coord__msg_drop_last(c);
			t->state = COORD__T_FAILED;
		}
	}
	if (self < 0) {
		read_check(c, q, now_ms);
		return;
	}
	/* the own answer last: it may complete (and free) the request */
	memset(&mine, 0, sizeof(mine));
	err =
	    coord__obj_key(c, q->bucket, q->bucket_len, q->key, q->key_len, &k);
	/* the answer depends on the open batch only if that batch wrote
	 * the key (or, while a sealed one commits, on the sealed batch if
	 * reads see it: store_sealed_reads): otherwise it may leave before
	 * the commit */
	q->wrote_batch = err == 0 && store_maybe_written(c->store, &k)
	                     ? c->batch_seq
	                     : UINT64_MAX;
	if (err == 0)
		err = coord__local_read(c, &k, &mine);
	/* a copy that does not decode is repaired like a stale one */
	q->targets[self].damaged =
	    err != 0 && err != SH_EIO && err != SH_ENOMEM;
	read_answer(c, q, self, NULL, err == 0 ? &mine : NULL, now_ms);
	coord_obj_free(&mine);
}

static int read_start(coord_t *c, uint64_t now_ms, coord_op_t op,
                      uint64_t client_id, const void *bucket, size_t bucket_len,
                      const void *key, size_t key_len,
                      const coord_params_t *params)
{
	char err[COORD_ERROR_BYTES];
	coord__origin_t o;
	coord__qp_t qp;
	coord__req_t *q;
	int st;

	memset(&o, 0, sizeof(o));
	o.op = op;
	o.client_id = client_id;
	o.start_ms = now_ms;
	if (c->cfg.joining)
		return coord__reply_error(
		    c, &o, NULL, now_ms, 503,
		    "joining: the cluster's members are not "
		    "known yet, retry");
	if (coord__params(c, params, &qp, err, sizeof(err)) != 0)
		return coord__reply_error(c, &o, NULL, now_ms, 400, "%s", err);
	st = coord__check_key(bucket, bucket_len, key, key_len, err,
	                      sizeof(err));
	if (st != 0)
		return coord__reply_error(c, &o, NULL, now_ms, st, "%s", err);
	q = coord__req_new(c, COORD__REQ_READ, &o);
	if (q == NULL) {
		c->stats.overloaded++;
		return coord__reply_error(c, &o, NULL, now_ms, 503,
		                          "overloaded");
	}
	q->qp = qp;
	q->deadline_ms = coord__deadline(now_ms, qp.timeout_ms);
	if (coord__req_set_key(q, bucket, bucket_len, key, key_len) != 0) {
		coord__reply_error(c, &o, q, now_ms, 503, "out of memory");
		coord__req_free(c, q);
		return SH_OK;
	}
	coord__targets(c, q);
	read_ask(c, q, now_ms);
	return SH_OK;
}

int coord_kv_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params)
{
	return read_start(c, now_ms, COORD_OP_KV_GET, client_id, bucket,
	                  bucket_len, key, key_len, params);
}

int coord_dt_get(coord_t *c, uint64_t now_ms, uint64_t client_id,
                 const void *bucket, size_t bucket_len, const void *key,
                 size_t key_len, const coord_params_t *params)
{
	return read_start(c, now_ms, COORD_OP_DT_GET, client_id, bucket,
	                  bucket_len, key, key_len, params);
}

int coord_replicas(coord_t *c, uint64_t now_ms, uint64_t client_id,
                   const void *bucket, size_t bucket_len, const void *key,
                   size_t key_len, const coord_params_t *params)
{
	return read_start(c, now_ms, COORD_OP_REPLICAS, client_id, bucket,
	                  bucket_len, key, key_len, params);
}
