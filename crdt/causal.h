/*
 * causal.h - the causal core under every shoal value: actors, dots and
 * causal contexts (ALGORITHMS.md section 1).
 *
 * An actor is a node's name plus the epoch of its data directory, so a node
 * that comes back with an empty disk is a new actor and never reuses a dot.
 * A dot (actor, counter) names one event. A causal context is the set of
 * dots a replica has seen, kept as a version vector (actor -> highest
 * contiguous counter) plus a "cloud" of dots seen beyond it. Full-state
 * merges never create a cloud; out-of-order deltas may.
 *
 * Encoding (msgpack, inside the encodings of dvv.h and crdt.h):
 *   actor   = [name: bin, epoch: uint]
 *   dot     = [actor, counter: uint >= 1]
 *   context = [[[actor, counter], ...] sorted by actor,  (version vector)
 *              [dot, ...] sorted]                          (cloud)
 * Decoding validates every count, length and order and returns an error
 * for anything malformed; it never asserts on input.
 */
#ifndef SHOAL_CRDT_CAUSAL_H
#define SHOAL_CRDT_CAUSAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_mp.h"

/* Longest actor name in bytes (node names are at most this long). */
#define CRDT_ACTOR_NAME_MAX 47

/* Most actors in one context and most dots in one cloud a decoder accepts. */
#define CRDT_CTX_ACTORS_MAX 1024
#define CRDT_CTX_CLOUD_MAX  65536

typedef struct crdt_actor {
	uint64_t epoch;
	uint8_t name_len;
	char name[CRDT_ACTOR_NAME_MAX + 1]; /* NUL-terminated, NUL-padded */
} crdt_actor_t;

typedef struct crdt_dot {
	crdt_actor_t actor;
	uint64_t counter; /* >= 1 */
} crdt_dot_t;

typedef struct crdt_vv_entry {
	crdt_actor_t actor;
	uint64_t counter; /* every counter 1..counter of actor is seen */
} crdt_vv_entry_t;

/*
 * A causal context. Invariants (checked by crdt_ctx_check): vv sorted by
 * actor with no duplicates and counters >= 1; cloud sorted by dot, each dot
 * above its actor's vv counter + 1 (a dot at counter + 1 is folded in).
 * A zeroed crdt_ctx_t is a valid empty context.
 */
typedef struct crdt_ctx {
	crdt_vv_entry_t *vv; /* owned, unless vv_borrowed */
	size_t vv_len, vv_cap;
	crdt_dot_t *cloud; /* owned */
	size_t cloud_len, cloud_cap;
	/* 1: vv lies in memory someone else owns (crdt_ctx_init_buf) */
	uint8_t vv_borrowed;
} crdt_ctx_t;

/* ---- actors and dots ---- */

/*
 * crdt_actor_init - set *a to (name[0..len), epoch).
 * Returns SH_EINVAL for an empty name, SH_ETOOBIG over CRDT_ACTOR_NAME_MAX.
 */
int crdt_actor_init(crdt_actor_t *a, const char *name, size_t len,
                    uint64_t epoch);

/* crdt_actor_cmp - total order: by name bytes, then length, then epoch. <0, 0,
 * >0. */
int crdt_actor_cmp(const crdt_actor_t *a, const crdt_actor_t *b);

/* crdt_dot_cmp - total order: by actor, then counter. */
int crdt_dot_cmp(const crdt_dot_t *a, const crdt_dot_t *b);

/* crdt_actor_encode / crdt_dot_encode - append the msgpack form to w. 0 or
 * SH_ENOMEM. */
int crdt_actor_encode(const crdt_actor_t *a, sh_mp_writer_t *w);
int crdt_dot_encode(const crdt_dot_t *d, sh_mp_writer_t *w);

/*
 * crdt_actor_decode / crdt_dot_decode - read one from r into *out.
 * Errors: SH_ETRUNC, SH_EMALFORMED, SH_ETOOBIG (name too long), SH_EINVAL
 * (empty name, dot counter 0).
 */
int crdt_actor_decode(sh_mp_reader_t *r, crdt_actor_t *out);
int crdt_dot_decode(sh_mp_reader_t *r, crdt_dot_t *out);

/* ---- contexts ---- */

/* crdt_ctx_init - make c empty (owns nothing). */
void crdt_ctx_init(crdt_ctx_t *c);

/*
 * crdt_ctx_init_buf - make c empty, its version vector kept in buf (cap
 * entries of the caller's memory, which c never frees). When the vv
 * outgrows buf, c moves it into memory of its own. The caller keeps buf
 * alive, and c where buf can be reached, for as long as c is used (dvv.c
 * keeps a decoded object's vv in the object's one allocation this way).
 */
void crdt_ctx_init_buf(crdt_ctx_t *c, crdt_vv_entry_t *buf, size_t cap);

/* crdt_ctx_free - release c's own memory; c is then empty. */
void crdt_ctx_free(crdt_ctx_t *c);

/* crdt_ctx_clear - make c empty, keeping its allocations. */
void crdt_ctx_clear(crdt_ctx_t *c);

/* crdt_ctx_copy - *dst (initialised) becomes a copy of *src. 0 or SH_ENOMEM. */
int crdt_ctx_copy(crdt_ctx_t *dst, const crdt_ctx_t *src);

/* crdt_ctx_contains - 1 if c has seen dot d, else 0. */
int crdt_ctx_contains(const crdt_ctx_t *c, const crdt_dot_t *d);

/*
 * crdt_ctx_max - the highest counter of actor a that c has seen (vv or
 * cloud); 0 if none.
 */
uint64_t crdt_ctx_max(const crdt_ctx_t *c, const crdt_actor_t *a);

/* crdt_ctx_add - add dot d to c, then fold the cloud into the vv. 0 or
 * SH_ENOMEM. */
int crdt_ctx_add(crdt_ctx_t *c, const crdt_dot_t *d);

/*
 * crdt_ctx_next - make the fresh dot of actor a: (a, crdt_ctx_max + 1);
 * add it to c and write it to *out. 0, SH_ENOMEM, or SH_ERANGE when c
 * already holds a's counter UINT64_MAX (possible only in a context that
 * came from outside); c is unchanged on error.
 */
int crdt_ctx_next(crdt_ctx_t *c, const crdt_actor_t *a, crdt_dot_t *out);

/*
 * crdt_ctx_reserve - make room in c for everything crdt_ctx_merge(c,
 * other) and then crdt_ctx_next(c, a) can add, so that those two calls
 * cannot fail with SH_ENOMEM (crdt_ctx_next can still refuse SH_ERANGE).
 * other or a may be NULL: no merge, no new dot. Lets a caller change an
 * object in place with nothing left to fail once it starts. 0 or
 * SH_ENOMEM; c holds the same dots either way.
 */
int crdt_ctx_reserve(crdt_ctx_t *c, const crdt_ctx_t *other,
                     const crdt_actor_t *a);

/*
 * crdt_ctx_merge - c := c ∪ other, compacted. 0 or SH_ENOMEM; after
 * SH_ENOMEM c holds part of other and still keeps its invariants.
 */
int crdt_ctx_merge(crdt_ctx_t *c, const crdt_ctx_t *other);

/* crdt_ctx_compact - fold cloud dots that extend the vv contiguously into it.
 */
void crdt_ctx_compact(crdt_ctx_t *c);

/* crdt_ctx_leq - 1 if every dot of a is in b (a ⊆ b), else 0. */
int crdt_ctx_leq(const crdt_ctx_t *a, const crdt_ctx_t *b);

/* crdt_ctx_equal - 1 if a and b hold the same dots. */
int crdt_ctx_equal(const crdt_ctx_t *a, const crdt_ctx_t *b);

/* crdt_ctx_is_empty - 1 if c has seen nothing. */
int crdt_ctx_is_empty(const crdt_ctx_t *c);

/*
 * crdt_ctx_check - 1 if c keeps the invariants above and every actor name
 * is 1..CRDT_ACTOR_NAME_MAX bytes long (for tests and decode).
 */
int crdt_ctx_check(const crdt_ctx_t *c);

/* crdt_ctx_encode - append c's msgpack form to w. 0 or SH_ENOMEM. */
int crdt_ctx_encode(const crdt_ctx_t *c, sh_mp_writer_t *w);

/*
 * crdt_ctx_decode - read a context from r into *c (initialised; replaced).
 * Rejects unsorted or duplicate actors, zero counters, cloud dots the vv
 * already covers, and more than CRDT_CTX_ACTORS_MAX / CRDT_CTX_CLOUD_MAX
 * entries. On error *c is empty. Errors: SH_ETRUNC, SH_EMALFORMED,
 * SH_ETOOBIG, SH_EINVAL, SH_ENOMEM.
 */
int crdt_ctx_decode(sh_mp_reader_t *r, crdt_ctx_t *c);

#endif /* SHOAL_CRDT_CAUSAL_H */
