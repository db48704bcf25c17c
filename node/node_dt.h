/*
 * node_dt.h - CRDT operations and values as JSON (node_dt.c describes the
 * shapes). Pure: no libuv; used by the shell's /dt routes.
 */
#ifndef SHOAL_NODE_NODE_DT_H
#define SHOAL_NODE_NODE_DT_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/crdt.h"
#include "node/json.h"

/* Most operations of one level of a request, and nested ones in all. */
#define NODE_DT_OPS_MAX   1024
#define NODE_DT_POOL_MAX  4096
#define NODE_DT_DEPTH_MAX 8

/*
 * A parsed /dt operation request. Zero it, then node_dt_parse; the ops
 * point into doc and pool, valid until node_dt_free. The struct is large
 * (the pool): allocate it on the heap.
 */
typedef struct node_dt_req {
	json_doc_t doc;
	crdt_type_t type;
	crdt_op_t *ops; /* count top-level ops, owned */
	size_t count;
	crdt_op_t pool[NODE_DT_POOL_MAX]; /* nested ops */
	size_t pool_len;
	/* map removes given by name only: each became one remove per type,
	 * of which all but one find nothing */
	uint32_t untyped_removes;
	char err[160]; /* why node_dt_parse failed */
} node_dt_req_t;

/*
 * node_dt_parse - parse body[0..len) (borrowed; the request keeps copies
 * of its strings in doc). 0, or SH_EINVAL with d->err set (answer 400).
 * Call node_dt_free either way.
 */
int node_dt_parse(node_dt_req_t *d, const uint8_t *body, size_t len);

/* node_dt_free - release what d owns. */
void node_dt_free(node_dt_req_t *d);

/* node_dt_type_parse - "counter".. "map" (len bytes) into *out; 0 or
 * SH_EINVAL. */
int node_dt_type_parse(const char *s, size_t len, crdt_type_t *out);

/* node_dt_type_name - "counter", "set", "register", "map" (static). */
const char *node_dt_type_name(crdt_type_t t);

/* node_dt_value_json - write "type":T,"value":V members of c into the
 * open JSON object of w. */
void node_dt_value_json(json_w_t *w, const crdt_t *c);

#endif /* SHOAL_NODE_NODE_DT_H */
