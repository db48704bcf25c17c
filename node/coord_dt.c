/*
 * coord_dt.c - CRDT updates at their coordinator: checking a list of
 * operations against the update's type and the limits, and applying them
 * all or none to the own copy (crdt.h's rules). A remove of an absent
 * element or field is a no-op that is counted (not_present), not an error.
 */
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/coord_int.h"

/* walk one op and its nested ops: 0 or 400/413 with a message */
static int check_op(const coord_t *c, const crdt_op_t *op, char *err,
                    size_t err_size)
{
	int depth;

	for (depth = 0; op != NULL; depth++) {
		if (depth > CRDT_DEPTH_MAX) {
			snprintf(err, err_size, "maps nested too deep");
			return 400;
		}
		if (op->kind < CRDT_OP_COUNTER_INCREMENT ||
		    op->kind > CRDT_OP_MAP_REMOVE) {
			snprintf(err, err_size, "unknown operation");
			return 400;
		}
		if (op->kind == CRDT_OP_REGISTER_ASSIGN &&
		    op->u.value.len > c->cfg.value_bytes_max) {
			snprintf(err, err_size, "register value over %zu bytes",
			         c->cfg.value_bytes_max);
			return 413;
		}
		if (op->kind != CRDT_OP_MAP_UPDATE)
			return 0;
		if (op->u.field.op == NULL) {
			snprintf(err, err_size,
			         "map update without an "
			         "operation");
			return 400;
		}
		op = op->u.field.op;
	}
	return 0;
}

int coord__dt_check_ops(const coord__write_in_t *in, char *err, size_t err_size)
{
	size_t i;

	if (!crdt_type_valid((int)in->type)) {
		snprintf(err, err_size, "unknown data type");
		return 400;
	}
	if (in->op_count == 0 || in->ops == NULL) {
		snprintf(err, err_size, "no operation");
		return 400;
	}
	if (in->op_count > COORD_DT_OPS_MAX) {
		snprintf(err, err_size, "more than %d operations",
		         COORD_DT_OPS_MAX);
		return 413;
	}
	for (i = 0; i < in->op_count; i++) {
		if (crdt_op_type(in->ops[i].kind) != in->type) {
			snprintf(
			    err, err_size, "a %s operation on a %s",
			    crdt_type_name(crdt_op_type(in->ops[i].kind))
			        ? crdt_type_name(crdt_op_type(in->ops[i].kind))
			        : "unknown",
			    crdt_type_name(in->type));
			return 400;
		}
	}
	return 0;
}

/* the status for crdt_apply's error e, with a message */
static int apply_status(int e, char *err, size_t err_size)
{
	snprintf(err, err_size, "operation failed: %s", sh_strerror(e));
	switch (e) {
	case SH_ETOOBIG: return 413;
	case SH_ENOMEM: return 503;
	default: /* SH_ETYPE (nested field type), SH_EDEPTH, SH_ERANGE,
	          * SH_EINVAL */
		return 400;
	}
}

int coord__dt_apply(coord_t *c, uint64_t now_ms, const coord__write_in_t *in,
                    coord_obj_t *obj, uint32_t *not_present, char *err,
                    size_t err_size)
{
	crdt_t tmp;
	size_t i;
	int e;

	sh_assert(
	    obj->kind == COORD_KIND_NONE ||
	    (obj->kind == COORD_KIND_DT && crdt_type(&obj->dt) == in->type));
	for (i = 0; i < in->op_count; i++) {
		e = check_op(c, &in->ops[i], err, err_size);
		if (e != 0)
			return e;
	}
	e = crdt_init(&tmp, in->type);
	if (e == 0 && obj->kind == COORD_KIND_DT)
		e = crdt_copy(&tmp, &obj->dt);
	for (i = 0; e == 0 && i < in->op_count; i++) {
		e = crdt_apply(&tmp, &c->actor, coord__wall_ms(c, now_ms),
		               &in->ops[i]);
		if (e == SH_ENOTFOUND) {
			(*not_present)++;
			e = 0;
		}
	}
	if (e != 0) {
		crdt_free(&tmp);
		*not_present = 0;
		return apply_status(e, err, err_size);
	}
	coord_obj_free(obj);
	obj->kind = COORD_KIND_DT;
	obj->dt = tmp;
	return 0;
}

/* ---- read before remove ---- */

/* 1 if op (or an op nested in it) removes something */
static int op_removes(const crdt_op_t *op)
{
	int depth;

	for (depth = 0; op != NULL && depth <= CRDT_DEPTH_MAX; depth++) {
		if (op->kind == CRDT_OP_SET_REMOVE ||
		    op->kind == CRDT_OP_MAP_REMOVE)
			return 1;
		if (op->kind != CRDT_OP_MAP_UPDATE)
			return 0;
		op = op->u.field.op;
	}
	return 0;
}

/* the prefetch is over: apply the update kept in q->pending */
static void prefetch_resume(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	coord__write_in_t in;
	coord__wire_t m;
	coord_reject_t why;
	sh_buf_t pending = q->pending;
	int err;

	q->prefetching = 0;
	sh_buf_init(&q->pending);
	err = coord__wire_decode(&m, pending.data, pending.len, &why);
	if (err != 0) {
		sh_assert(err == SH_ENOMEM); /* our own encoding */
		coord__write_refuse(c, q, now_ms, 503, "out of memory");
		sh_buf_free(&pending);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.bucket = m.bucket;
	in.bucket_len = m.bucket_len;
	in.key = m.key;
	in.key_len = m.key_len;
	in.type = m.dt_type;
	in.ops = m.ops;
	in.op_count = m.op_count;
	coord__write_resume(c, now_ms, q, &in);
	coord__wire_free(&m);
	sh_buf_free(&pending);
}

/* resume once r targets (this one included) answered, or none is left */
static void prefetch_check(coord_t *c, coord__req_t *q, uint64_t now_ms)
{
	uint32_t answered = 0, pending = 0;
	size_t i;

	for (i = 0; i < q->target_count; i++) {
		answered += q->targets[i].fetched == COORD__T_DONE;
		pending += q->targets[i].fetched == COORD__T_PENDING;
	}
	if (answered >= q->qp.r || pending == 0)
		prefetch_resume(c, q, now_ms);
}

int coord__dt_prefetch(coord_t *c, uint64_t now_ms, coord__req_t *q,
                       const coord__write_in_t *in)
{
	size_t i;
	int removes = 0;

	for (i = 0; i < in->op_count; i++)
		removes |= op_removes(&in->ops[i]);
	if (!removes || q->target_count < 2 || q->qp.r < 2)
		return 0;
	if (coord__wire_forward(&q->pending, 0, COORD_OP_DT_UPDATE, in,
	                        &q->qp) != 0) {
		sh_buf_free(&q->pending);
		return 0; /* no memory to wait: remove what we have seen */
	}
	q->prefetching = 1;
	for (i = 0; i < q->target_count; i++) {
		coord__target_t *t = &q->targets[i];
		sh_buf_t *b;
		t->fetched = COORD__T_DONE; /* the own copy: read at resume */
		if (t->is_self)
			continue;
		t->fetched = COORD__T_FAILED;
		b = coord__msg_new(c, t->name);
		if (b == NULL)
			continue;
		if (coord__wire_read(b, q->id, q) != 0)
			coord__msg_drop_last(c);
		else
			t->fetched = COORD__T_PENDING;
	}
	prefetch_check(c, q, now_ms);
	return 1;
}

void coord__dt_prefetch_answer(coord_t *c, coord__req_t *q, int t,
                               const coord_obj_t *obj, uint64_t now_ms)
{
	coord__target_t *tg;
	int conflict = 0;

	sh_assert(q->prefetching && t >= 0 && (size_t)t < q->target_count);
	tg = &q->targets[t];
	if (tg->fetched != COORD__T_PENDING)
		return; /* a duplicate */
	tg->fetched = COORD__T_FAILED;
	if (obj != NULL && coord_obj_merge(&q->merged, obj, &conflict) == 0)
		tg->fetched = COORD__T_DONE;
	if (conflict)
		c->stats.type_conflicts++;
	prefetch_check(c, q, now_ms);
}
