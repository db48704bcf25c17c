/*
 * crdt_int.h - declarations shared between the crdt_*.c files, not part of
 * the public API (crdt.h is the manual).
 *
 * Every store function takes the store and, where dots matter, the context
 * the store's dots live in: nested map stores share their object's context.
 * `level` is the map nesting level of a store: a top-level store is level 1,
 * the stores of a level-L map's fields are level L + 1.
 */
#ifndef SHOAL_CRDT_CRDT_INT_H
#define SHOAL_CRDT_CRDT_INT_H

#include "crdt/crdt.h"

/* ---- helpers (crdt_store.c) ---- */

/* Grows *p (of *cap items of size bytes) to hold want items. 0 or SH_ENOMEM. */

/* Makes room for one more entry in s. 0 or SH_ENOMEM. */
int crdt__store_reserve(crdt_store_t *s, size_t extra);

/* Size in bytes of one entry of a store of this type. */
size_t crdt__entry_size(crdt_type_t type);

/* Byte-string order: memcmp on the common prefix, then shorter first. */
int crdt__bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen);

/* *out := malloc'd copy of p[0..len) (NULL when len == 0). 0 or SH_ENOMEM. */
int crdt__bytes_dup(const void *p, size_t len, uint8_t **out);

/* ---- generic stores (crdt_store.c) ---- */

/* Makes *s an empty store of type (owning nothing). */
void crdt__store_init(crdt_store_t *s, crdt_type_t type);

/* Frees everything s owns; s becomes an empty store of its type. */
void crdt__store_free(crdt_store_t *s);

/* *dst (empty, same type) := deep copy of src. On error dst is freed. */
int crdt__store_copy(crdt_store_t *dst, const crdt_store_t *src);

/* 1 if a and b hold the same dots, values and bytes. */
int crdt__store_equal(const crdt_store_t *a, const crdt_store_t *b);

/*
 * *out (empty, the type of the inputs) := (a, ca) ⊔ (b, cb), the store part
 * of the join. a or b may be NULL for an empty store. On error out is freed.
 */
int crdt__store_join(crdt_store_t *out, const crdt_store_t *a,
                     const crdt_ctx_t *ca, const crdt_store_t *b,
                     const crdt_ctx_t *cb);

/* Applies op to s (a store at `level`) with context ctx. See crdt_apply. */
int crdt__store_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                      const crdt_actor_t *actor, uint64_t now_ms,
                      const crdt_op_t *op, int level);

/* 1 if s at `level` keeps every invariant listed at crdt_check. */
int crdt__store_check(const crdt_store_t *s, const crdt_ctx_t *ctx, int level);

/* ---- dot sets (crdt_store.c) ---- */

/* 1 if d[0..n) is sorted, unique, within CRDT_DOTS_MAX and all in ctx. */
int crdt__dots_check(const crdt_dot_t *d, size_t n, const crdt_ctx_t *ctx);

/*
 * The DotSet join: *out := (a, ca) ⊔ (b, cb) as a malloc'd sorted array of
 * *out_len dots (NULL when empty). a/b may be NULL with length 0.
 */
int crdt__dots_join(const crdt_dot_t *a, size_t alen, const crdt_ctx_t *ca,
                    const crdt_dot_t *b, size_t blen, const crdt_ctx_t *cb,
                    crdt_dot_t **out, size_t *out_len);

/* ---- per type: free, copy, equal, join, apply, check ---- */

void crdt__counter_free(crdt_store_t *s);
int crdt__counter_copy(crdt_store_t *dst, const crdt_store_t *src);
int crdt__counter_equal(const crdt_store_t *a, const crdt_store_t *b);
int crdt__counter_join(crdt_store_t *out, const crdt_store_t *a,
                       const crdt_ctx_t *ca, const crdt_store_t *b,
                       const crdt_ctx_t *cb);
int crdt__counter_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                        const crdt_actor_t *actor, const crdt_op_t *op);
int crdt__counter_check(const crdt_store_t *s, const crdt_ctx_t *ctx);

void crdt__set_free(crdt_store_t *s);
int crdt__set_copy(crdt_store_t *dst, const crdt_store_t *src);
int crdt__set_equal(const crdt_store_t *a, const crdt_store_t *b);
int crdt__set_join(crdt_store_t *out, const crdt_store_t *a,
                   const crdt_ctx_t *ca, const crdt_store_t *b,
                   const crdt_ctx_t *cb);
int crdt__set_apply(crdt_store_t *s, crdt_ctx_t *ctx, const crdt_actor_t *actor,
                    const crdt_op_t *op);
int crdt__set_check(const crdt_store_t *s, const crdt_ctx_t *ctx);

void crdt__register_free(crdt_store_t *s);
int crdt__register_copy(crdt_store_t *dst, const crdt_store_t *src);
int crdt__register_equal(const crdt_store_t *a, const crdt_store_t *b);
int crdt__register_join(crdt_store_t *out, const crdt_store_t *a,
                        const crdt_ctx_t *ca, const crdt_store_t *b,
                        const crdt_ctx_t *cb);
int crdt__register_apply(crdt_store_t *s, crdt_ctx_t *ctx,
                         const crdt_actor_t *actor, uint64_t now_ms,
                         const crdt_op_t *op);
int crdt__register_check(const crdt_store_t *s, const crdt_ctx_t *ctx);

void crdt__map_free(crdt_store_t *s);
int crdt__map_copy(crdt_store_t *dst, const crdt_store_t *src);
int crdt__map_equal(const crdt_store_t *a, const crdt_store_t *b);
int crdt__map_join(crdt_store_t *out, const crdt_store_t *a,
                   const crdt_ctx_t *ca, const crdt_store_t *b,
                   const crdt_ctx_t *cb);
int crdt__map_apply(crdt_store_t *s, crdt_ctx_t *ctx, const crdt_actor_t *actor,
                    uint64_t now_ms, const crdt_op_t *op, int level);
int crdt__map_check(const crdt_store_t *s, const crdt_ctx_t *ctx, int level);

/* Index of field (name, type) in map s, or -(insertion point) - 1. */
long crdt__map_find(const crdt_store_t *s, const uint8_t *name, size_t name_len,
                    crdt_type_t type);

/* Index of element in set s, or -(insertion point) - 1. */
long crdt__set_find(const crdt_store_t *s, const uint8_t *e, size_t len);

#endif /* SHOAL_CRDT_CRDT_INT_H */
