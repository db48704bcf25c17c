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
		e = crdt_apply(&tmp, &c->actor, now_ms, &in->ops[i]);
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
