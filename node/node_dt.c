/*
 * node_dt.c - CRDT operations and values as JSON, for /dt (issue 4).
 *
 * Operations (POST /dt/{bucket}/{key}), one JSON object with "type" and
 * the type's operations, applied together:
 *   {"type":"counter","increment":3}                  (may be negative)
 *   {"type":"set","add":["a"],"remove":["b"]}
 *   {"type":"register","assign":"x"}
 *   {"type":"map","update":{"sku-1":{"counter":{"increment":2}}},
 *    "remove":["sku-9"]}
 * A map update names each field's type by the one key of its object
 * ("counter", "set", "register", "map") and nests that type's operations.
 * A map remove lists field names (the field of that name, whatever its
 * type) or {"name":"f","type":"counter"} objects (that typed field only).
 *
 * Values (GET /dt/{bucket}/{key}): {"type":T,"value":V,"context":C} with V
 *   counter   an integer
 *   set       an array of strings (elements in byte order)
 *   register  a string, or null when never assigned
 *   map       {"field":{"counter":2}, ...}: each field name, then its
 *             type and value (the shape of an update)
 * Elements, names and values are bytes; JSON shows them as UTF-8 strings
 * (invalid UTF-8 becomes U+FFFD).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_err.h"
#include "node/node_dt.h"

static const char *const node__type_names[] = {"counter", "set", "register",
                                               "map"};

int node_dt_type_parse(const char *s, size_t len, crdt_type_t *out)
{
	for (int i = 0; i < 4; i++)
		if (strlen(node__type_names[i]) == len &&
		    memcmp(node__type_names[i], s, len) == 0) {
			*out = (crdt_type_t)(CRDT_COUNTER + i);
			return SH_OK;
		}
	return SH_EINVAL;
}

static int node__dt_err(node_dt_req_t *d, const char *msg, const char *what)
{
	snprintf(d->err, sizeof d->err, "%s%s%s", msg, what ? " " : "",
	         what ? what : "");
	return SH_EINVAL;
}

/* A growable list of the ops of one level. */
typedef struct node__oplist {
	crdt_op_t *ops;
	size_t len, cap;
} node__oplist_t;

static crdt_op_t *node__push(node_dt_req_t *d, node__oplist_t *l)
{
	if (l->len == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		if (cap > NODE_DT_OPS_MAX)
			cap = NODE_DT_OPS_MAX;
		if (l->len == cap) {
			node__dt_err(d, "too many operations", NULL);
			return NULL;
		}
		crdt_op_t *p = realloc(l->ops, cap * sizeof *p);
		if (p == NULL) {
			node__dt_err(d, "out of memory", NULL);
			return NULL;
		}
		l->ops = p;
		l->cap = cap;
	}
	crdt_op_t *op = &l->ops[l->len++];
	memset(op, 0, sizeof *op);
	return op;
}

/* A copy of op in the request's pool, where nested ops live. */
static const crdt_op_t *node__pool(node_dt_req_t *d, const crdt_op_t *op)
{
	if (d->pool_len == NODE_DT_POOL_MAX) {
		node__dt_err(d, "too many nested operations", NULL);
		return NULL;
	}
	d->pool[d->pool_len] = *op;
	return &d->pool[d->pool_len++];
}

static int node__strings(node_dt_req_t *d, const json_node_t *arr,
                         node__oplist_t *l, crdt_op_kind_t kind,
                         const char *what)
{
	if (arr->type != JSON_ARRAY)
		return node__dt_err(d, what, "must be an array of strings");
	for (const json_node_t *e = json_first(&d->doc, arr); e != NULL;
	     e = json_next(&d->doc, e)) {
		if (e->type != JSON_STRING)
			return node__dt_err(d, what,
			                    "must be an array of strings");
		crdt_op_t *op = node__push(d, l);
		if (op == NULL)
			return SH_EINVAL;
		op->kind = kind;
		op->u.element.bytes = e->str;
		op->u.element.len = e->str_len;
	}
	return SH_OK;
}

static int node__ops(node_dt_req_t *d, crdt_type_t type, const json_node_t *obj,
                     int top, int depth, node__oplist_t *l);

/* One field of a map update: {"counter": {...}}. */
static int node__map_field(node_dt_req_t *d, const json_node_t *f, int depth,
                           node__oplist_t *l)
{
	const json_node_t *tv = json_first(&d->doc, f);
	crdt_type_t ft;
	if (f->type != JSON_OBJECT || f->count != 1 ||
	    node_dt_type_parse(tv->key, tv->key_len, &ft) != SH_OK)
		return node__dt_err(d,
		                    "a map update's field must be an object "
		                    "with one key, its type, e.g.",
		                    "{\"counter\":{\"increment\":1}}");
	node__oplist_t sub = {0};
	int rc = node__ops(d, ft, tv, 0, depth + 1, &sub);
	for (size_t i = 0; rc == SH_OK && i < sub.len; i++) {
		const crdt_op_t *child = node__pool(d, &sub.ops[i]);
		crdt_op_t *op = child ? node__push(d, l) : NULL;
		if (op == NULL) {
			rc = SH_EINVAL;
			break;
		}
		op->kind = CRDT_OP_MAP_UPDATE;
		op->u.field.name = f->key;
		op->u.field.name_len = f->key_len;
		op->u.field.type = ft;
		op->u.field.op = child;
	}
	free(sub.ops);
	return rc;
}

static int node__map_remove_one(node_dt_req_t *d, const json_node_t *e,
                                node__oplist_t *l)
{
	const json_node_t *name = e;
	crdt_type_t t = 0;
	if (e->type == JSON_OBJECT) {
		name = json_get(&d->doc, e, "name");
		const json_node_t *tn = json_get(&d->doc, e, "type");
		if (tn == NULL || tn->type != JSON_STRING ||
		    node_dt_type_parse(tn->str, tn->str_len, &t) != SH_OK)
			return node__dt_err(d, "map remove: bad field type",
			                    NULL);
	}
	if (name == NULL || name->type != JSON_STRING)
		return node__dt_err(d, "map remove: list field names or",
		                    "{\"name\":..,\"type\":..}");
	/* Without a type: remove the field of every type by that name. */
	for (int ty = CRDT_COUNTER; ty <= CRDT_MAP; ty++) {
		if (t != 0 && ty != (int)t)
			continue;
		crdt_op_t *op = node__push(d, l);
		if (op == NULL)
			return SH_EINVAL;
		op->kind = CRDT_OP_MAP_REMOVE;
		op->u.field.name = name->str;
		op->u.field.name_len = name->str_len;
		op->u.field.type = (crdt_type_t)ty;
	}
	if (t == 0)
		d->untyped_removes++;
	return SH_OK;
}

/*
 * m's key is name. By length, not strcmp: the JSON parser keeps \u0000
 * inside keys, and "increment\u0000junk" must be an unknown key, not
 * "increment".
 */
static int node__key_is(const json_node_t *m, const char *name)
{
	size_t n = strlen(name);
	return m->key_len == n && memcmp(m->key, name, n) == 0;
}

/* Refuses m, an unknown key of a type's operations. The message shows the
 * key up to a NUL, so it says when one follows (or "increment\u0000x"
 * would read as "increment"). */
static int node__dt_unknown(node_dt_req_t *d, crdt_type_t type,
                            const json_node_t *m)
{
	int nul = memchr(m->key, 0, m->key_len) != NULL;
	snprintf(d->err, sizeof d->err, "unknown %s operation \"%.64s\"%s",
	         node__type_names[type - 1], m->key,
	         nul ? " (the key holds a NUL byte)" : "");
	return SH_EINVAL;
}

static int node__map_ops(node_dt_req_t *d, const json_node_t *m, int depth,
                         node__oplist_t *l)
{
	if (node__key_is(m, "update")) {
		if (m->type != JSON_OBJECT)
			return node__dt_err(d, "\"update\" must be an object",
			                    NULL);
		for (const json_node_t *f = json_first(&d->doc, m); f;
		     f = json_next(&d->doc, f)) {
			int rc = node__map_field(d, f, depth, l);
			if (rc != SH_OK)
				return rc;
		}
		return SH_OK;
	}
	if (node__key_is(m, "remove")) {
		if (m->type != JSON_ARRAY)
			return node__dt_err(d, "\"remove\" must be an array",
			                    NULL);
		for (const json_node_t *e = json_first(&d->doc, m); e;
		     e = json_next(&d->doc, e)) {
			int rc = node__map_remove_one(d, e, l);
			if (rc != SH_OK)
				return rc;
		}
		return SH_OK;
	}
	return node__dt_unknown(d, CRDT_MAP, m);
}

/* One member of a type's operation object. */
static int node__op_member(node_dt_req_t *d, crdt_type_t type,
                           const json_node_t *m, int depth, node__oplist_t *l)
{
	if (type == CRDT_COUNTER && node__key_is(m, "increment")) {
		int64_t by;
		if (json_get_i64(m, &by) != SH_OK)
			return node__dt_err(
			    d, "\"increment\" must be an integer", NULL);
		crdt_op_t *op = node__push(d, l);
		if (op == NULL)
			return SH_EINVAL;
		op->kind = CRDT_OP_COUNTER_INCREMENT;
		op->u.increment = by;
		return SH_OK;
	}
	if (type == CRDT_SET && node__key_is(m, "add"))
		return node__strings(d, m, l, CRDT_OP_SET_ADD, "\"add\"");
	if (type == CRDT_SET && node__key_is(m, "remove"))
		return node__strings(d, m, l, CRDT_OP_SET_REMOVE, "\"remove\"");
	if (type == CRDT_REGISTER && node__key_is(m, "assign")) {
		if (m->type != JSON_STRING)
			return node__dt_err(d, "\"assign\" must be a string",
			                    NULL);
		crdt_op_t *op = node__push(d, l);
		if (op == NULL)
			return SH_EINVAL;
		op->kind = CRDT_OP_REGISTER_ASSIGN;
		op->u.value.bytes = m->str;
		op->u.value.len = m->str_len;
		return SH_OK;
	}
	if (type == CRDT_MAP)
		return node__map_ops(d, m, depth, l);
	return node__dt_unknown(d, type, m);
}

static int node__ops(node_dt_req_t *d, crdt_type_t type, const json_node_t *obj,
                     int top, int depth, node__oplist_t *l)
{
	if (depth > NODE_DT_DEPTH_MAX)
		return node__dt_err(d, "maps nested too deep", NULL);
	if (obj->type != JSON_OBJECT)
		return node__dt_err(d, "operations must be a JSON object",
		                    NULL);
	for (const json_node_t *m = json_first(&d->doc, obj); m != NULL;
	     m = json_next(&d->doc, m)) {
		if (top &&
		    (node__key_is(m, "type") || node__key_is(m, "context")))
			continue;
		int rc = node__op_member(d, type, m, depth, l);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

int node_dt_parse(node_dt_req_t *d, const uint8_t *body, size_t len)
{
	json_limits_t lim = {0};
	d->err[0] = '\0';
	json_doc_init(&d->doc, &lim);
	if (json_parse(&d->doc, body, len) != SH_OK) {
		snprintf(d->err, sizeof d->err, "bad JSON at byte %zu: %s",
		         d->doc.err_pos, d->doc.err_msg);
		return SH_EINVAL;
	}
	const json_node_t *root = json_root(&d->doc);
	const json_node_t *t = json_get(&d->doc, root, "type");
	if (t == NULL || t->type != JSON_STRING ||
	    node_dt_type_parse(t->str, t->str_len, &d->type) != SH_OK)
		return node__dt_err(d,
		                    "\"type\" must be one of counter, set, "
		                    "register, map",
		                    NULL);
	node__oplist_t l = {0};
	int rc = node__ops(d, d->type, root, 1, 0, &l);
	d->ops = l.ops;
	d->count = l.len;
	if (rc == SH_OK && d->count == 0)
		rc = node__dt_err(d, "no operation given", NULL);
	return rc;
}

void node_dt_free(node_dt_req_t *d)
{
	free(d->ops);
	d->ops = NULL;
	json_doc_free(&d->doc);
}

/* ---- values ---- */

static void node__value(json_w_t *w, const crdt_store_t *s);

static void node__map_value(json_w_t *w, const crdt_store_t *s)
{
	size_t count = crdt_map_count(s);
	json_w_obj_begin(w);
	for (size_t i = 0; i < count; i++) {
		crdt_field_view_t f, prev;
		crdt_map_field(s, i, &f);
		int same = 0;
		if (i > 0) {
			crdt_map_field(s, i - 1, &prev);
			same = prev.name_len == f.name_len &&
			       memcmp(prev.name, f.name, f.name_len) == 0;
		}
		if (!same) {
			if (i > 0)
				json_w_obj_end(w);
			json_w_key_n(w, f.name, f.name_len);
			json_w_obj_begin(w);
		}
		json_w_key(w, node__type_names[f.type - 1]);
		node__value(w, f.store);
	}
	if (count > 0)
		json_w_obj_end(w);
	json_w_obj_end(w);
}

static void node__value(json_w_t *w, const crdt_store_t *s)
{
	switch (crdt_store_type(s)) {
	case CRDT_COUNTER: json_w_i64(w, crdt_counter_value(s)); return;
	case CRDT_SET: {
		size_t count = crdt_set_count(s);
		json_w_arr_begin(w);
		for (size_t i = 0; i < count; i++) {
			const uint8_t *b;
			size_t len;
			crdt_set_element(s, i, &b, &len);
			json_w_str_n(w, b, len);
		}
		json_w_arr_end(w);
		return;
	}
	case CRDT_REGISTER: {
		crdt_register_view_t v;
		if (crdt_register_value(s, &v) == SH_OK)
			json_w_str_n(w, v.value, v.len);
		else
			json_w_null(w);
		return;
	}
	case CRDT_MAP: node__map_value(w, s); return;
	}
	json_w_null(w);
}

void node_dt_value_json(json_w_t *w, const crdt_t *c)
{
	json_w_kv_str(w, "type", node__type_names[crdt_type(c) - 1]);
	json_w_key(w, "value");
	node__value(w, &c->store);
}

const char *node_dt_type_name(crdt_type_t t)
{
	return t >= CRDT_COUNTER && t <= CRDT_MAP ? node__type_names[t - 1]
	                                          : "?";
}
