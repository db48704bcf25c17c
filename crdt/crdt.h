/*
 * crdt.h - shoal's convergent types: counter, set (ORSWOT), LWW register
 * and OR-map, built as causal CRDTs on causal.h (ALGORITHMS.md sections 1
 * and 3). This header is their manual.
 *
 * MODEL
 *
 * An object is a pair (store, context). The context (crdt_ctx_t) is every
 * dot the replica has seen; the store holds the live data, each piece kept
 * alive by the dots that tag it:
 *
 *   counter   DotFun<int64>: at most one dot per actor, whose value is that
 *             actor's running sum. Value: the sum of the values.
 *   set       DotMap<element bytes, DotSet>: an element is present while it
 *             has a dot.
 *   register  DotFun<(timestamp_ms, value bytes)>: usually one entry; two
 *             concurrent assigns leave two until the next assign.
 *   map       DotMap<(field name bytes, field type), nested store>. The
 *             nested stores have no context of their own: every store in
 *             one object shares the object's single context.
 *
 * Join (crdt_merge) of (s1, c1) and (s2, c2): a dot of a DotSet or DotFun
 * survives if both stores have it, or one has it and the other's context
 * has not seen it; DotMaps join per key, recursively, with the same two
 * contexts, and drop keys whose nested store ends empty; the contexts
 * unite. Join is commutative, associative and idempotent.
 *
 * SEMANTICS CHOSEN
 *
 * - Counter: increment by k at actor r replaces r's dot with a fresh dot
 *   carrying r's old sum + k (k may be negative: a PN-counter).
 * - Set: add-wins. Add e at r: e's dots become {fresh dot}. Remove e: drop
 *   e's dots (all observed, since they are in this replica's store). An add
 *   concurrent with a remove survives it. Removing an absent element is
 *   SH_ENOTFOUND and changes nothing.
 * - Register: last writer wins by (timestamp_ms, actor, dot counter). An
 *   assign at r with now_ms gets timestamp max(now_ms, highest timestamp in
 *   the register + 1), so a replica's own timestamps never go backwards and
 *   an assign always beats what its replica has seen. Between two
 *   CONCURRENT assigns on different nodes, their clocks decide: a node
 *   whose clock runs ahead wins even if it wrote earlier in real time. A
 *   multi-value register (siblings, dvv.h) is the skew-proof alternative.
 * - Map: add-wins fields. Update applies a nested operation to the field,
 *   creating it if absent. Remove drops the field and all its dots (every
 *   one is in this replica's context, so a later join drops them from the
 *   other replicas too). An update concurrent with a remove survives it,
 *   with only the dots the remover had not seen.
 * - Counter inside a map, with a concurrent field remove: the counter keeps
 *   one dot per actor, so the surviving dot of an actor that incremented
 *   concurrently carries that actor's WHOLE running sum, including the part
 *   the remover had seen (as Riak's embedded counter does). Example: r adds
 *   3 to cart line "sku", s sees it and removes the line, while r
 *   concurrently adds 2: after the join the line reads 5, not 2. Counts of
 *   other actors that the remover had seen are gone. Once an actor has seen
 *   the removal its next increment starts again from 0.
 *
 * OWNERSHIP
 *
 * The caller allocates crdt_t and calls crdt_init / crdt_free. The object
 * owns everything it points to. Views (crdt_map_get, crdt_set_element,
 * crdt_register_value, ...) point into the object and stay valid until the
 * object is next changed (apply, merge, decode, copy into it, free).
 * Operations copy the bytes they are given. The struct fields are visible
 * for allocation only: read them through the functions below.
 *
 * ERRORS
 *
 * Functions return 0 or a negative SH_E... code (common/sh_err.h). A failed
 * operation or merge leaves the object unchanged, except that after
 * SH_ENOMEM an operation may have used up a dot in the context (harmless:
 * a seen dot that tags nothing).
 *
 * ENCODING (crdt_encode / crdt_decode), canonical: equal objects encode to
 * the same bytes.
 *
 *   object   = type tag (1 byte: 1 counter, 2 set, 3 register, 4 map)
 *              version (1 byte: 1)
 *              context (msgpack, the form in causal.h)
 *              store   (msgpack, by type, below)
 *   Nothing may follow the store.
 *
 *   Dots inside a store are written [actor index: uint, counter: uint],
 *   where the index points into the object's actor table: the actors of the
 *   context's version vector and cloud, sorted by crdt_actor_cmp, without
 *   duplicates. Every store dot must be in the context.
 *
 *   counter  = [[dot, value: int], ...]      sorted by dot, one per actor
 *   set      = [[element: bin, [dot, ...]], ...]
 *              elements sorted by bytes (shorter first on a common prefix),
 *              unique; dots sorted, unique, at least one
 *   register = [[dot, timestamp_ms: uint, value: bin], ...]   sorted by dot
 *   map      = [[name: bin, type: uint, store], ...]
 *              sorted by (name, type), unique; each store encoded by its
 *              type, not empty; maps nest at most CRDT_DEPTH_MAX deep
 *
 * Decoding checks every count and length against the bytes left before
 * allocating, and the limits below; it rejects anything malformed,
 * truncated, unsorted, duplicated, over a limit or with trailing bytes, and
 * never asserts on its input.
 *
 * LATER: mutators that also return the delta (the fresh dot and the dots
 * removed) so a cart line can replicate without the whole cart.
 */
#ifndef SHOAL_CRDT_CRDT_H
#define SHOAL_CRDT_CRDT_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "crdt/causal.h"

/* Longest set element and longest map field name, in bytes. */
#define CRDT_ELEMENT_MAX    1024
#define CRDT_FIELD_NAME_MAX 1024
/* Longest register value in bytes. */
#define CRDT_VALUE_MAX (1024 * 1024)
/* Most levels of maps: a top-level map is level 1. */
#define CRDT_DEPTH_MAX 8
/* Most dots one set element or one register may hold (decode limit). */
#define CRDT_DOTS_MAX 4096
/* Most elements of one set and fields of one map (decode limit). */
#define CRDT_ENTRIES_MAX 65536
/* The encoding version crdt_encode writes and crdt_decode reads. */
#define CRDT_ENCODING_VERSION 1

typedef enum crdt_type {
	CRDT_COUNTER = 1,
	CRDT_SET = 2,
	CRDT_REGISTER = 3,
	CRDT_MAP = 4,
} crdt_type_t;

struct crdt_store;

/* One counter dot: the actor's running sum. */
typedef struct crdt_counter_entry {
	crdt_dot_t dot;
	int64_t value;
} crdt_counter_entry_t;

/* One set element and the dots that keep it. */
typedef struct crdt_set_elem {
	uint8_t *bytes; /* owned; NULL when len == 0 */
	size_t len;
	crdt_dot_t *dots; /* owned, sorted, >= 1 */
	size_t dots_len;
} crdt_set_elem_t;

/* One register entry. */
typedef struct crdt_reg_entry {
	crdt_dot_t dot;
	uint64_t timestamp_ms;
	uint8_t *value; /* owned; NULL when len == 0 */
	size_t len;
} crdt_reg_entry_t;

/* One map field. */
typedef struct crdt_field crdt_field_t;

/*
 * A store: a tagged union of the four kinds. Entries are kept sorted (the
 * order of the encoding above); `len` of them are in use.
 */
typedef struct crdt_store {
	crdt_type_t type;
	size_t len, cap;
	union {
		crdt_counter_entry_t *counter;
		crdt_set_elem_t *set;
		crdt_reg_entry_t *reg;
		crdt_field_t *map;
	} v; /* owned */
} crdt_store_t;

struct crdt_field {
	uint8_t *name; /* owned; NULL when name_len == 0 */
	size_t name_len;
	crdt_store_t store; /* store.type is the field's type */
};

/* A convergent object: one store and the context all its dots share. */
typedef struct crdt {
	crdt_store_t store;
	crdt_ctx_t ctx;
} crdt_t;

/* ---- operations ---- */

typedef enum crdt_op_kind {
	CRDT_OP_COUNTER_INCREMENT = 1,
	CRDT_OP_SET_ADD,
	CRDT_OP_SET_REMOVE,
	CRDT_OP_REGISTER_ASSIGN,
	CRDT_OP_MAP_UPDATE,
	CRDT_OP_MAP_REMOVE,
} crdt_op_kind_t;

/*
 * An operation, as the HTTP layer and the simulator describe it. All
 * pointers are borrowed for the duration of the call.
 */
typedef struct crdt_op {
	crdt_op_kind_t kind;
	union {
		int64_t increment; /* COUNTER_INCREMENT: by (may be < 0) */
		struct {
			const void *bytes;
			size_t len;
		} element; /* SET_ADD, SET_REMOVE */
		struct {
			const void *bytes;
			size_t len;
		} value; /* REGISTER_ASSIGN */
		struct {
			const void *name;
			size_t name_len;
			crdt_type_t type;
			const struct crdt_op *op; /* MAP_UPDATE only */
		} field;                          /* MAP_UPDATE, MAP_REMOVE */
	} u;
} crdt_op_t;

/* crdt_op_type - the type of object an operation of this kind applies to. */
crdt_type_t crdt_op_type(crdt_op_kind_t kind);

/* crdt_type_name - "counter", "set", "register", "map"; NULL if unknown. */
const char *crdt_type_name(crdt_type_t type);

/* crdt_type_valid - 1 if type is one of the four types. */
int crdt_type_valid(int type);

/* ---- objects ---- */

/*
 * crdt_init - make *c an empty object of the given type (empty store,
 * empty context; owns nothing yet). SH_EINVAL for an unknown type.
 */
int crdt_init(crdt_t *c, crdt_type_t type);

/* crdt_free - release everything *c owns; *c is then an empty object. */
void crdt_free(crdt_t *c);

/* crdt_type - the object's type. */
crdt_type_t crdt_type(const crdt_t *c);

/*
 * crdt_copy - *dst (initialised, any type) becomes a deep copy of *src.
 * 0 or SH_ENOMEM (then *dst is unchanged).
 */
int crdt_copy(crdt_t *dst, const crdt_t *src);

/*
 * crdt_merge - *dst := *dst ⊔ *src (the join above). *src is only read.
 * Errors: SH_ETYPE if the types differ, SH_ENOMEM; *dst is then unchanged.
 */
int crdt_merge(crdt_t *dst, const crdt_t *src);

/*
 * crdt_equal - 1 if a and b have the same type, the same context (as dot
 * sets) and the same store (dots, values and bytes); else 0.
 */
int crdt_equal(const crdt_t *a, const crdt_t *b);

/*
 * crdt_check - 1 if *c keeps every invariant the decoder checks (sorted
 * unique entries, no empty nested store, store dots in the context, one
 * counter dot per actor, limits, depth); else 0. For tests and asserts.
 */
int crdt_check(const crdt_t *c);

/*
 * crdt_apply - apply op at replica `actor` (borrowed). now_ms is this
 * replica's clock, used only by register assigns (also nested in maps).
 * On success the op's fresh dot (if any) is in c's context.
 * Errors:
 *   SH_ETYPE      op does not apply to c's type (or, in a map update, to the
 *                 field's type)
 *   SH_ENOTFOUND  set remove of an absent element, map remove of an absent
 *                 field, or a nested remove inside an absent field
 *   SH_ETOOBIG    element, field name or value over its limit
 *   SH_EDEPTH     a map update would nest maps deeper than CRDT_DEPTH_MAX
 *   SH_ERANGE     the counter's running sum for actor would overflow int64,
 *                 a register timestamp would pass UINT64_MAX, or the context
 *                 already holds actor's last possible counter
 *   SH_EINVAL     NULL nested op, unknown op kind or field type
 *   SH_ENOMEM
 * On error c is unchanged (but see ERRORS above for SH_ENOMEM).
 */
int crdt_apply(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
               const crdt_op_t *op);

/* Convenience forms of crdt_apply; the same errors. */
int crdt_counter_increment(crdt_t *c, const crdt_actor_t *actor, int64_t by);
int crdt_set_add(crdt_t *c, const crdt_actor_t *actor, const void *element,
                 size_t len);
int crdt_set_remove(crdt_t *c, const crdt_actor_t *actor, const void *element,
                    size_t len);
int crdt_register_assign(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
                         const void *value, size_t len);
/* Apply *op (borrowed) to field (name, type) of map c, creating it if absent.
 */
int crdt_map_update(crdt_t *c, const crdt_actor_t *actor, uint64_t now_ms,
                    const void *name, size_t name_len, crdt_type_t type,
                    const crdt_op_t *op);
/* Remove field (name, type) of map c. */
int crdt_map_remove(crdt_t *c, const crdt_actor_t *actor, const void *name,
                    size_t name_len, crdt_type_t type);

/* ---- reading values: on a store, so nested map fields read the same ---- */

/* crdt_store_type - the store's type. */
crdt_type_t crdt_store_type(const crdt_store_t *s);

/* crdt_store_is_empty - 1 if the store holds no dot. */
int crdt_store_is_empty(const crdt_store_t *s);

/*
 * crdt_counter_value - the counter's value: the sum of every actor's
 * running sum, saturated at INT64_MIN / INT64_MAX. s must be a counter
 * store (asserted).
 */
int64_t crdt_counter_value(const crdt_store_t *s);

/* crdt_set_count - the number of elements. s must be a set store (asserted). */
size_t crdt_set_count(const crdt_store_t *s);

/*
 * crdt_set_element - element i (0 <= i < count, asserted) in byte order:
 * *bytes points into the object, *len is its length.
 */
void crdt_set_element(const crdt_store_t *s, size_t i, const uint8_t **bytes,
                      size_t *len);

/* crdt_set_contains - 1 if the set holds element[0..len), else 0. */
int crdt_set_contains(const crdt_store_t *s, const void *element, size_t len);

/* The winning entry of a register. */
typedef struct crdt_register_view {
	const uint8_t *value; /* points into the object */
	size_t len;
	uint64_t timestamp_ms;
	crdt_dot_t dot; /* dot.actor is the writer */
} crdt_register_view_t;

/*
 * crdt_register_value - the register's value: the entry with the greatest
 * (timestamp_ms, actor, dot counter), into *out. SH_ENOTFOUND if the
 * register was never assigned (or was removed with its map field). s must
 * be a register store (asserted).
 */
int crdt_register_value(const crdt_store_t *s, crdt_register_view_t *out);

/* crdt_map_count - the number of fields. s must be a map store (asserted). */
size_t crdt_map_count(const crdt_store_t *s);

/* A map field seen from outside. */
typedef struct crdt_field_view {
	const uint8_t *name; /* points into the object */
	size_t name_len;
	crdt_type_t type;
	const crdt_store_t *store; /* the field's nested store */
} crdt_field_view_t;

/*
 * crdt_map_field - field i (0 <= i < count, asserted), in (name, type)
 * order, into *out.
 */
void crdt_map_field(const crdt_store_t *s, size_t i, crdt_field_view_t *out);

/*
 * crdt_map_get - the nested store of field (name, type), or NULL if the
 * map has no such field.
 */
const crdt_store_t *crdt_map_get(const crdt_store_t *s, const void *name,
                                 size_t name_len, crdt_type_t type);

/* ---- encoding ---- */

/*
 * crdt_encode - append c's canonical encoding (see the top of this file)
 * to out. 0 or SH_ENOMEM (out may then hold a partial encoding).
 */
int crdt_encode(const crdt_t *c, sh_buf_t *out);

/*
 * crdt_decode - read the object in p[0..len) into *c (initialised, any
 * type). On success *c's old contents are freed and replaced; on error *c
 * is unchanged. Errors: SH_ETRUNC, SH_EMALFORMED, SH_EVERSION, SH_ETOOBIG,
 * SH_EDEPTH, SH_EINVAL, SH_ERANGE, SH_ENOMEM.
 */
int crdt_decode(crdt_t *c, const uint8_t *p, size_t len);

#endif /* SHOAL_CRDT_CRDT_H */
