/*
 * coord_wire.c - the coordinator's internode messages: encoders and a
 * strict decoder. Message bodies only: the shell frames each with its
 * length prefix on the internode TCP stream.
 *
 * FORMAT. One msgpack array per message; its first three items are the
 * wire version (uint, 1), the message type (uint) and a request id (uint,
 * chosen by the node that asks, echoed by the answer). The arity of the
 * array is fixed per type:
 *
 *   1 WRITE          [1, 1, id, bucket: bin, key: bin, record: bin,
 *                     hint_for: bin, want_ack: bool]
 *       store (join) the record; hint_for non-empty: the receiver is a
 *       fallback standing in for that primary and keeps a hint. want_ack
 *       false for read repairs.
 *   2 WRITE_ACK      [1, 2, id, status: int]      0 stored, else SH_E...
 *   3 READ           [1, 3, id, bucket: bin, key: bin]
 *   4 READ_REPLY     [1, 4, id, status: int, record: bin]
 *       status 0: record is the replica's copy; SH_ENOTFOUND (-7): it has
 *       none (record empty); another SH_E code: it could not read.
 *   5 FORWARD        [1, 5, id, op: uint, bucket: bin, key: bin,
 *                     [n, r, w, pr, pw, timeout_ms: uint, sloppy: bool],
 *                     body]
 *       op is a coord_op_t write: KV_PUT body [value: bin,
 *       content_type: bin, context: bin]; KV_DELETE body [context: bin];
 *       DT_UPDATE body [type: uint, [op, ...]] where
 *         op = [1, increment: int]                   counter increment
 *            | [2, element: bin] | [3, element: bin]  set add | remove
 *            | [4, value: bin]                       register assign
 *            | [5, name: bin, type: uint, op]        map update
 *            | [6, name: bin, type: uint]            map remove
 *       (the numbers are crdt_op_kind_t's).
 *   6 FORWARD_REPLY  [1, 6, id, status: uint, error: bin, context: bin,
 *                     n: uint, n_capped: bool, needed: uint,
 *                     acknowledged: uint, [stored_on: bin, ...],
 *                     stored_kind: uint, stored_type: uint,
 *                     not_present: uint]
 *
 * Records are coord_obj.c's (kind byte + object encoding); the decoder
 * here only bounds their length, the handlers decode them. Buckets and
 * keys are 1..1024 bytes (a bucket without NUL bytes); node names
 * 1..COORD_NAME_MAX bytes without NUL bytes. The decoder checks every type,
 * length, count and range, rejects trailing bytes, allocates only for
 * the operations of a FORWARD (bounded by the bytes present), and never
 * asserts on its input.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "node/coord_int.h"

/* Most bytes of a context or an error message in a FORWARD_REPLY. */
#define WIRE_CONTEXT_MAX ((size_t)16 << 20)
#define WIRE_ERROR_MAX   1024

/* ---- encoding ---- */

static void put_head(sh_mp_writer_t *w, uint32_t arity, coord__mtype_t t,
                     uint64_t id)
{
	sh_mp_put_array(w, arity);
	sh_mp_put_u64(w, COORD__WIRE_VERSION);
	sh_mp_put_u64(w, (uint64_t)t);
	sh_mp_put_u64(w, id);
}

static void put_cstr(sh_mp_writer_t *w, const char *s)
{
	sh_mp_put_bin(w, s, s != NULL ? strlen(s) : 0);
}

int coord__wire_write(sh_buf_t *out, uint64_t id, const coord__req_t *q,
                      const uint8_t *rec, size_t rec_len, const char *hint_for,
                      int want_ack)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 8, COORD__M_WRITE, id);
	sh_mp_put_bin(&w, q->bucket, q->bucket_len);
	sh_mp_put_bin(&w, q->key, q->key_len);
	sh_mp_put_bin(&w, rec, rec_len);
	put_cstr(&w, hint_for);
	return sh_mp_put_bool(&w, want_ack);
}

int coord__wire_write_ack(sh_buf_t *out, uint64_t id, int status)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 4, COORD__M_WRITE_ACK, id);
	return sh_mp_put_i64(&w, status);
}

int coord__wire_read(sh_buf_t *out, uint64_t id, const coord__req_t *q)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 5, COORD__M_READ, id);
	sh_mp_put_bin(&w, q->bucket, q->bucket_len);
	return sh_mp_put_bin(&w, q->key, q->key_len);
}

int coord__wire_read_reply(sh_buf_t *out, uint64_t id, int status,
                           const uint8_t *rec, size_t rec_len)
{
	sh_mp_writer_t w;

	sh_mp_writer_init(&w, out);
	put_head(&w, 5, COORD__M_READ_REPLY, id);
	sh_mp_put_i64(&w, status);
	return sh_mp_put_bin(&w, rec, status == 0 ? rec_len : 0);
}

static void put_op(sh_mp_writer_t *w, const crdt_op_t *op, int depth)
{
	sh_assert(op != NULL && depth <= CRDT_DEPTH_MAX);
	switch (op->kind) {
	case CRDT_OP_COUNTER_INCREMENT:
		sh_mp_put_array(w, 2);
		sh_mp_put_u64(w, op->kind);
		sh_mp_put_i64(w, op->u.increment);
		break;
	case CRDT_OP_SET_ADD:
	case CRDT_OP_SET_REMOVE:
		sh_mp_put_array(w, 2);
		sh_mp_put_u64(w, op->kind);
		sh_mp_put_bin(w, op->u.element.bytes, op->u.element.len);
		break;
	case CRDT_OP_REGISTER_ASSIGN:
		sh_mp_put_array(w, 2);
		sh_mp_put_u64(w, op->kind);
		sh_mp_put_bin(w, op->u.value.bytes, op->u.value.len);
		break;
	case CRDT_OP_MAP_UPDATE:
	case CRDT_OP_MAP_REMOVE:
		sh_mp_put_array(w, op->kind == CRDT_OP_MAP_UPDATE ? 4 : 3);
		sh_mp_put_u64(w, op->kind);
		sh_mp_put_bin(w, op->u.field.name, op->u.field.name_len);
		sh_mp_put_u64(w, (uint64_t)op->u.field.type);
		if (op->kind == CRDT_OP_MAP_UPDATE)
			put_op(w, op->u.field.op, depth + 1);
		break;
	}
}

static void put_body(sh_mp_writer_t *w, coord_op_t op,
                     const coord__write_in_t *in)
{
	size_t i;

	if (op == COORD_OP_KV_PUT) {
		sh_mp_put_array(w, 3);
		sh_mp_put_bin(w, in->value->value, in->value->value_len);
		sh_mp_put_bin(w, in->value->content_type,
		              in->value->content_type_len);
		sh_mp_put_bin(w, in->ctx, in->ctx_len);
	} else if (op == COORD_OP_KV_DELETE) {
		sh_mp_put_array(w, 1);
		sh_mp_put_bin(w, in->ctx, in->ctx_len);
	} else {
		sh_mp_put_array(w, 2);
		sh_mp_put_u64(w, (uint64_t)in->type);
		sh_mp_put_array(w, (uint32_t)in->op_count);
		for (i = 0; i < in->op_count; i++)
			put_op(w, &in->ops[i], 0);
	}
}

int coord__wire_forward(sh_buf_t *out, uint64_t id, coord_op_t op,
                        const coord__write_in_t *in, const coord__qp_t *qp)
{
	sh_mp_writer_t w;

	sh_assert(op == COORD_OP_KV_PUT || op == COORD_OP_KV_DELETE ||
	          op == COORD_OP_DT_UPDATE);
	sh_mp_writer_init(&w, out);
	put_head(&w, 8, COORD__M_FORWARD, id);
	sh_mp_put_u64(&w, (uint64_t)op);
	sh_mp_put_bin(&w, in->bucket, in->bucket_len);
	sh_mp_put_bin(&w, in->key, in->key_len);
	sh_mp_put_array(&w, 7);
	sh_mp_put_u64(&w, qp->n);
	sh_mp_put_u64(&w, qp->r);
	sh_mp_put_u64(&w, qp->w);
	sh_mp_put_u64(&w, qp->pr);
	sh_mp_put_u64(&w, qp->pw);
	sh_mp_put_u64(&w, qp->timeout_ms);
	sh_mp_put_bool(&w, qp->sloppy);
	put_body(&w, op, in);
	return w.err;
}

int coord__wire_forward_reply(sh_buf_t *out, uint64_t id,
                              const coord_result_t *r)
{
	sh_mp_writer_t w;
	size_t i;

	sh_mp_writer_init(&w, out);
	put_head(&w, 14, COORD__M_FORWARD_REPLY, id);
	sh_mp_put_u64(&w, (uint64_t)r->status);
	put_cstr(&w, r->error);
	sh_mp_put_bin(&w, r->context.data, r->context.len);
	sh_mp_put_u64(&w, r->n);
	sh_mp_put_bool(&w, r->n_capped);
	sh_mp_put_u64(&w, r->needed);
	sh_mp_put_u64(&w, r->acknowledged);
	sh_mp_put_array(&w, (uint32_t)r->stored_on_count);
	for (i = 0; i < r->stored_on_count; i++)
		put_cstr(&w, r->stored_on[i]);
	sh_mp_put_u64(&w, (uint64_t)r->stored_kind);
	sh_mp_put_u64(&w, (uint64_t)r->stored_type);
	return sh_mp_put_u64(&w, r->not_present);
}

/* ---- decoding ---- */

/* A decoding step's failure: the code and the reason to count. */
typedef struct wire_dec {
	sh_mp_reader_t r;
	coord_reject_t why;
	crdt_op_t *arena; /* FORWARD ops: top level first, nested after */
	size_t arena_len, arena_cap;
} wire_dec_t;

static int fail(wire_dec_t *d, coord_reject_t why, int err)
{
	d->why = why;
	return err;
}

/* an sh_mp error: truncated or malformed */
static int mp_fail(wire_dec_t *d, int err)
{
	return fail(d,
	            err == SH_ETRUNC ? COORD_REJECT_TRUNCATED
	                             : COORD_REJECT_MALFORMED,
	            err == SH_ETRUNC ? SH_ETRUNC : SH_EMALFORMED);
}

static int get_u64(wire_dec_t *d, uint64_t *v, uint64_t max)
{
	int err = sh_mp_get_u64(&d->r, v);
	if (err != 0)
		return mp_fail(d, err);
	if (*v > max)
		return fail(d, COORD_REJECT_VALUE, SH_ERANGE);
	return SH_OK;
}

static int get_u32(wire_dec_t *d, uint32_t *v, uint32_t max)
{
	uint64_t x;
	int err = get_u64(d, &x, max);
	*v = (uint32_t)x;
	return err;
}

static int get_bool(wire_dec_t *d, int *v)
{
	int err = sh_mp_get_bool(&d->r, v);
	return err != 0 ? mp_fail(d, err) : SH_OK;
}

static int get_bin(wire_dec_t *d, const uint8_t **p, size_t *len, size_t max)
{
	int err = sh_mp_get_bin(&d->r, p, len);
	if (err != 0)
		return mp_fail(d, err);
	if (*len > max)
		return fail(d, COORD_REJECT_LIMIT, SH_ETOOBIG);
	return SH_OK;
}

static int get_array(wire_dec_t *d, uint32_t want)
{
	uint32_t n;
	int err = sh_mp_get_array(&d->r, &n);
	if (err != 0)
		return mp_fail(d, err);
	if (n != want)
		return fail(d, COORD_REJECT_MALFORMED, SH_EMALFORMED);
	return SH_OK;
}

/* a node name: 1..COORD_NAME_MAX bytes without NUL (empty if allowed) */
static int get_name(wire_dec_t *d, char *out, int allow_empty)
{
	const uint8_t *p;
	size_t len;
	int err = get_bin(d, &p, &len, COORD_NAME_MAX);

	if (err != 0)
		return err;
	if ((len == 0 && !allow_empty) || memchr(p, 0, len) != NULL)
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	memcpy(out, p, len);
	out[len] = '\0';
	return SH_OK;
}

static int get_bucket_key(wire_dec_t *d, coord__wire_t *m)
{
	int err =
	    get_bin(d, &m->bucket, &m->bucket_len, STORE_BUCKET_BYTES_MAX);
	if (err == 0)
		err = get_bin(d, &m->key, &m->key_len, STORE_KEY_BYTES_MAX);
	if (err != 0)
		return err;
	if (m->bucket_len == 0 || m->key_len == 0 ||
	    memchr(m->bucket, 0, m->bucket_len) != NULL)
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	return SH_OK;
}

static int get_status(wire_dec_t *d, int *status)
{
	int64_t v;
	int err = sh_mp_get_i64(&d->r, &v);
	if (err != 0)
		return mp_fail(d, err);
	if (v > 0 || v < -1000)
		return fail(d, COORD_REJECT_VALUE, SH_ERANGE);
	*status = (int)v;
	return SH_OK;
}

static int dec_write(wire_dec_t *d, coord__wire_t *m)
{
	int err = get_bucket_key(d, m);
	if (err == 0)
		err = get_bin(d, &m->record, &m->record_len,
		              STORE_VALUE_BYTES_MAX);
	if (err == 0)
		err = get_name(d, m->hint_for, 1);
	if (err == 0)
		err = get_bool(d, &m->want_ack);
	if (err == 0 && m->record_len == 0)
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	return err;
}

static int dec_read_reply(wire_dec_t *d, coord__wire_t *m)
{
	int err = get_status(d, &m->status);
	if (err == 0)
		err = get_bin(d, &m->record, &m->record_len,
		              STORE_VALUE_BYTES_MAX);
	if (err == 0 && (m->status == 0) != (m->record_len > 0))
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	return err;
}

static int dec_op(wire_dec_t *d, crdt_op_t *op, int depth);

/* the rest of a map op [kind, name, type(, op)] after its kind */
static int dec_field(wire_dec_t *d, crdt_op_t *op, int depth)
{
	uint64_t type;
	crdt_op_t *nested;
	const uint8_t *name;
	int err = get_bin(d, &name, &op->u.field.name_len, CRDT_FIELD_NAME_MAX);

	op->u.field.name = name;
	if (err == 0)
		err = get_u64(d, &type, CRDT_MAP);
	if (err != 0)
		return err;
	if (!crdt_type_valid((int)type))
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	op->u.field.type = (crdt_type_t)type;
	op->u.field.op = NULL;
	if (op->kind != CRDT_OP_MAP_UPDATE)
		return SH_OK;
	if (depth >= CRDT_DEPTH_MAX || d->arena_len == d->arena_cap)
		return fail(d, COORD_REJECT_LIMIT, SH_EDEPTH);
	nested = &d->arena[d->arena_len++];
	op->u.field.op = nested;
	return dec_op(d, nested, depth + 1);
}

static int dec_op(wire_dec_t *d, crdt_op_t *op, int depth)
{
	uint32_t n;
	uint64_t kind;
	const uint8_t *b;
	int err = sh_mp_get_array(&d->r, &n);

	if (err != 0)
		return mp_fail(d, err);
	memset(op, 0, sizeof(*op));
	err = get_u64(d, &kind, CRDT_OP_MAP_REMOVE);
	if (err != 0)
		return err;
	if (kind < CRDT_OP_COUNTER_INCREMENT)
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	op->kind = (crdt_op_kind_t)kind;
	if (n != (kind == CRDT_OP_MAP_UPDATE   ? 4u
	          : kind == CRDT_OP_MAP_REMOVE ? 3u
	                                       : 2u))
		return fail(d, COORD_REJECT_MALFORMED, SH_EMALFORMED);
	switch (op->kind) {
	case CRDT_OP_COUNTER_INCREMENT:
		err = sh_mp_get_i64(&d->r, &op->u.increment);
		return err != 0 ? mp_fail(d, err) : SH_OK;
	case CRDT_OP_SET_ADD:
	case CRDT_OP_SET_REMOVE:
		err = get_bin(d, &b, &op->u.element.len, CRDT_ELEMENT_MAX);
		op->u.element.bytes = b;
		return err;
	case CRDT_OP_REGISTER_ASSIGN:
		err = get_bin(d, &b, &op->u.value.len, CRDT_VALUE_MAX);
		op->u.value.bytes = b;
		return err;
	default: return dec_field(d, op, depth);
	}
}

static int dec_dt_body(wire_dec_t *d, coord__wire_t *m)
{
	uint64_t type;
	uint32_t n, i;
	int err = get_array(d, 2);

	if (err == 0)
		err = get_u64(d, &type, CRDT_MAP);
	if (err != 0)
		return err;
	if (!crdt_type_valid((int)type))
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	m->dt_type = (crdt_type_t)type;
	err = sh_mp_get_array(&d->r, &n);
	if (err != 0)
		return mp_fail(d, err);
	if (n == 0 || n > COORD_DT_OPS_MAX)
		return fail(d, COORD_REJECT_LIMIT, SH_ETOOBIG);
	/* each op takes at least 3 bytes, so n is bounded by the input;
	 * nested ops come from the same arena */
	d->arena_cap = (size_t)n * (CRDT_DEPTH_MAX + 1);
	d->arena = calloc(d->arena_cap, sizeof(*d->arena));
	if (d->arena == NULL)
		return fail(d, COORD_REJECT_LIMIT, SH_ENOMEM);
	d->arena_len = n;
	for (i = 0; i < n && err == 0; i++)
		err = dec_op(d, &d->arena[i], 0);
	m->ops = d->arena;
	m->op_count = n;
	return err;
}

static int dec_params(wire_dec_t *d, coord_params_t *p)
{
	int err = get_array(d, 7);

	if (err == 0)
		err = get_u32(d, &p->n, 255);
	if (err == 0)
		err = get_u32(d, &p->r, 255);
	if (err == 0)
		err = get_u32(d, &p->w, 255);
	if (err == 0)
		err = get_u32(d, &p->pr, 255);
	if (err == 0)
		err = get_u32(d, &p->pw, 255);
	if (err == 0)
		err = get_u32(d, &p->timeout_ms, UINT32_MAX);
	if (err == 0)
		err = get_bool(d, &p->sloppy);
	p->present = COORD_PARAM_N | COORD_PARAM_R | COORD_PARAM_W |
	             COORD_PARAM_PR | COORD_PARAM_PW | COORD_PARAM_TIMEOUT_MS |
	             COORD_PARAM_SLOPPY;
	return err;
}

static int dec_forward(wire_dec_t *d, coord__wire_t *m)
{
	uint64_t op;
	int err = get_u64(d, &op, COORD_OP__COUNT);

	if (err != 0)
		return err;
	if (op != COORD_OP_KV_PUT && op != COORD_OP_KV_DELETE &&
	    op != COORD_OP_DT_UPDATE)
		return fail(d, COORD_REJECT_VALUE, SH_EINVAL);
	m->op = (coord_op_t)op;
	err = get_bucket_key(d, m);
	if (err == 0)
		err = dec_params(d, &m->params);
	if (err != 0)
		return err;
	if (op == COORD_OP_DT_UPDATE)
		return dec_dt_body(d, m);
	err = get_array(d, op == COORD_OP_KV_PUT ? 3 : 1);
	if (err == 0 && op == COORD_OP_KV_PUT)
		err = get_bin(d, &m->value.value, &m->value.value_len,
		              COORD_VALUE_BYTES_MAX_MAX);
	if (err == 0 && op == COORD_OP_KV_PUT) {
		const uint8_t *ct;
		err = get_bin(d, &ct, &m->value.content_type_len,
		              DVV_CONTENT_TYPE_MAX);
		m->value.content_type = (const char *)ct;
	}
	if (err == 0)
		err = get_bin(d, &m->ctx, &m->ctx_len, WIRE_CONTEXT_MAX);
	return err;
}

/* The statuses a coordinator answers (coord.h); nothing else is relayed. */
static int forward_status_ok(uint64_t v)
{
	static const uint16_t ok[] = {200, 204, 300, 400, 404, 409, 413, 503};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (v == ok[i])
			return 1;
	return 0;
}

static int dec_forward_reply(wire_dec_t *d, coord__wire_t *m)
{
	uint64_t v;
	uint32_t n, i;
	int err = get_u64(d, &v, 599);

	if (err == 0 && !forward_status_ok(v))
		err = fail(d, COORD_REJECT_VALUE, SH_ERANGE);
	m->r_status = (int)v;
	if (err == 0)
		err = get_bin(d, &m->r_error, &m->r_error_len, WIRE_ERROR_MAX);
	if (err == 0)
		err = get_bin(d, &m->r_context, &m->r_context_len,
		              WIRE_CONTEXT_MAX);
	if (err == 0)
		err = get_u32(d, &m->r_n, COORD_N_MAX);
	if (err == 0)
		err = get_bool(d, &m->r_n_capped);
	if (err == 0)
		err = get_u32(d, &m->r_needed, 255);
	if (err == 0)
		err = get_u32(d, &m->r_acknowledged, 255);
	if (err == 0 && (err = sh_mp_get_array(&d->r, &n)) != 0)
		return mp_fail(d, err);
	if (err == 0 && n > COORD_TARGETS_MAX)
		return fail(d, COORD_REJECT_LIMIT, SH_ETOOBIG);
	for (i = 0; err == 0 && i < n; i++)
		err = get_name(d, m->r_stored_on[i], 0);
	m->r_stored_on_count = n;
	if (err == 0)
		err = get_u32(d, &n, COORD_KIND_DT);
	m->r_stored_kind = (coord_kind_t)n;
	if (err == 0)
		err = get_u32(d, &n, CRDT_MAP);
	m->r_stored_type = (crdt_type_t)n;
	if (err == 0)
		err = get_u32(d, &m->r_not_present, COORD_DT_OPS_MAX);
	return err;
}

/* the array header, version, type and id; *arity gets the array size */
static int dec_head(wire_dec_t *d, coord__wire_t *m, uint32_t *arity)
{
	uint64_t v;
	int err = sh_mp_get_array(&d->r, arity);

	if (err != 0)
		return mp_fail(d, err);
	if (*arity < 3)
		return fail(d, COORD_REJECT_MALFORMED, SH_EMALFORMED);
	err = sh_mp_get_u64(&d->r, &v);
	if (err != 0)
		return mp_fail(d, err);
	if (v != COORD__WIRE_VERSION)
		return fail(d, COORD_REJECT_VERSION, SH_EVERSION);
	err = sh_mp_get_u64(&d->r, &v);
	if (err != 0)
		return mp_fail(d, err);
	if (v < COORD__M_WRITE || v > COORD__M_FORWARD_REPLY)
		return fail(d, COORD_REJECT_TYPE, SH_ETYPE);
	m->type = (coord__mtype_t)v;
	err = sh_mp_get_u64(&d->r, &m->id);
	return err != 0 ? mp_fail(d, err) : SH_OK;
}

static const uint32_t wire_arity[] = {0, 8, 4, 5, 5, 8, 14};

static int dec_body(wire_dec_t *d, coord__wire_t *m)
{
	switch (m->type) {
	case COORD__M_WRITE: return dec_write(d, m);
	case COORD__M_WRITE_ACK: return get_status(d, &m->status);
	case COORD__M_READ: return get_bucket_key(d, m);
	case COORD__M_READ_REPLY: return dec_read_reply(d, m);
	case COORD__M_FORWARD: return dec_forward(d, m);
	case COORD__M_FORWARD_REPLY: return dec_forward_reply(d, m);
	}
	return fail(d, COORD_REJECT_TYPE, SH_ETYPE);
}

int coord__wire_decode(coord__wire_t *m, const uint8_t *p, size_t len,
                       coord_reject_t *reason)
{
	wire_dec_t d;
	uint32_t arity;
	int err;

	memset(m, 0, sizeof(*m));
	memset(&d, 0, sizeof(d));
	sh_mp_reader_init(&d.r, p, len);
	err = dec_head(&d, m, &arity);
	if (err == 0 && arity != wire_arity[m->type])
		err = fail(&d, COORD_REJECT_MALFORMED, SH_EMALFORMED);
	if (err == 0)
		err = dec_body(&d, m);
	if (err == 0 && sh_mp_reader_left(&d.r) != 0)
		err = fail(&d, COORD_REJECT_MALFORMED, SH_EMALFORMED);
	if (err != 0) {
		free(d.arena);
		memset(m, 0, sizeof(*m));
		*reason = d.why;
		return err;
	}
	return SH_OK;
}

void coord__wire_free(coord__wire_t *m)
{
	free(m->ops);
	m->ops = NULL;
	m->op_count = 0;
}
