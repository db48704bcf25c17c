/*
 * dvv.h - key-value objects: a DVV set, i.e. a multi-value register with
 * tombstones (ALGORITHMS.md section 2, DESIGN.md section 3).
 *
 * An object is a DotFun<sibling> plus a causal context (causal.h): a set of
 * siblings, each named by the dot of the write that made it, and the set of
 * dots the object has seen. A sibling carries its value bytes, a content
 * type, a wall-clock timestamp (information only, never used to decide
 * anything) and a tombstone flag (a delete is a write of a tombstone).
 *
 * The rules:
 *   - A write of v with client context k at coordinator r removes every
 *     sibling whose dot k has seen, adds (next(c ∪ k, r), v), and the
 *     object's context becomes c ∪ k ∪ {new dot}. A write without a context
 *     supersedes nothing: it becomes one more sibling.
 *   - Two copies of an object join (dvv_sync) by keeping a sibling if both
 *     have it, or if one has it and the other's context has not seen it;
 *     the contexts union. Join is commutative, associative and idempotent.
 *   - So siblings never outnumber the truly concurrent writes, and no write
 *     disappears except by a write whose context had seen it.
 *   - A dot names one immutable value: two siblings with the same dot are the
 *     same write. (If they ever differ, a dot was reused: a bug elsewhere.
 *     Join still picks one of them deterministically, so replicas converge.)
 *
 * Invariants (dvv_check): the context keeps causal.h's invariants; siblings
 * are sorted by dot, unique, and every sibling's dot is in the context; a
 * content type is at most DVV_CONTENT_TYPE_MAX bytes; a tombstone carries
 * no value bytes.
 *
 * Encoding (msgpack; canonical: encode writes the smallest form of every
 * item, siblings in dot order, and the context's canonical form, so equal
 * objects encode to equal bytes and dvv_hash agrees):
 *   object  = [tag: uint = DVV_TAG (0x4b, 'K'), version: uint = 1,
 *              context,                          (causal.h)
 *              [sibling, ...]]                   sorted by dot, unique
 *   sibling = [dot,                              (causal.h)
 *              value: bin,                       <= value_bytes_max
 *              content_type: bin,                <= DVV_CONTENT_TYPE_MAX
 *              timestamp_ms: uint,
 *              tombstone: bool]
 * A standalone context handed to clients (X-Shoal-Context, before any
 * text encoding such as base64, which is the HTTP layer's job):
 *   client context = [tag: uint = DVV_CTX_TAG (0x43, 'C'), version: uint = 1,
 *                     context]
 * The decoders read integers of any width, but reject everything else that
 * is not exactly this: wrong tag (SH_ETYPE), unknown version (SH_EVERSION),
 * counts and lengths over the limits (SH_ETOOBIG), unsorted or duplicate
 * dots, sibling dots the context has not seen, tombstones with value bytes,
 * trailing bytes (SH_EMALFORMED), input that ends early (SH_ETRUNC). They
 * check every count and length before allocating, and never assert on
 * input.
 *
 * Memory: the caller allocates dvv_t (a zeroed one is a valid empty object,
 * as is one after dvv_init) and releases what it owns with dvv_free. An
 * object owns its context and its siblings' bytes; pointers into a sibling
 * stay valid until the next call that changes the object.
 *
 * Errors are the negative SH_E... codes of common/sh_err.h. Every function
 * that changes an object leaves it exactly as it was when it fails.
 */
#ifndef SHOAL_CRDT_DVV_H
#define SHOAL_CRDT_DVV_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"
#include "common/sh_mp.h"
#include "crdt/causal.h"

/* The encoding's type tag ('K', key-value object) and version. */
#define DVV_TAG     0x4b
#define DVV_VERSION 1

/* The standalone client context's type tag ('C') and version. */
#define DVV_CTX_TAG     0x43
#define DVV_CTX_VERSION 1

/* Longest content type in bytes. */
#define DVV_CONTENT_TYPE_MAX 255

/* Defaults of dvv_limits_t (dvv_limits_default). */
#define DVV_VALUE_BYTES_MAX_DEFAULT (1024 * 1024)
#define DVV_SIBLINGS_MAX_DEFAULT    4096

/*
 * What a decoder accepts. value_bytes_max bounds each sibling's value;
 * siblings_max bounds the sibling count (it bounds the memory a lying count
 * could make the decoder allocate). The context's bounds are causal.h's
 * CRDT_CTX_ACTORS_MAX and CRDT_CTX_CLOUD_MAX.
 *
 * dvv_update and dvv_sync do not enforce these: a join cannot refuse a
 * write that already happened elsewhere, and joining two copies that are
 * each under a cap can exceed it. So a store that caps siblings should
 * refuse a client write (before dvv_update) when the object is at the cap,
 * and decode objects from its disk and its peers with limits well above
 * that cap (the defaults), keeping tight limits for what it may refuse.
 */
typedef struct dvv_limits {
	size_t value_bytes_max;
	size_t siblings_max;
} dvv_limits_t;

/*
 * One sibling: the value of one write. Read-only for users of this module;
 * every pointer is owned by the object.
 */
typedef struct dvv_sibling {
	crdt_dot_t dot;           /* the write that made it */
	const uint8_t *value;     /* value_len bytes; never NULL */
	size_t value_len;         /* 0 for a tombstone */
	const char *content_type; /* content_type_len bytes, NUL-terminated */
	size_t content_type_len;  /* <= DVV_CONTENT_TYPE_MAX */
	uint64_t timestamp_ms;    /* coordinator's clock; information only */
	int tombstone;            /* 1 for a delete, else 0 */
} dvv_sibling_t;

/*
 * A key-value object. Read the fields freely; change them only through
 * the functions below.
 */
typedef struct dvv {
	crdt_ctx_t ctx;          /* owned: every dot this object has seen */
	dvv_sibling_t *siblings; /* owned: sorted by dot */
	size_t sibling_count;
	size_t sibling_cap;
	/*
	 * Private. A decoded object is one allocation: the context's vv,
	 * room for one more sibling than it has, and the siblings' bytes.
	 * What a later change puts beside it is allocated on its own; the
	 * block goes only with the object (dvv_free).
	 */
	uint8_t *block;
	size_t block_len;
} dvv_t;

/*
 * What a client writes: borrowed for the duration of the call only, since
 * dvv_update copies the bytes.
 */
typedef struct dvv_value {
	const uint8_t *value;     /* value_len bytes; may be NULL when 0 */
	size_t value_len;         /* must be 0 for a tombstone */
	const char *content_type; /* content_type_len bytes; NULL when 0 */
	size_t content_type_len;  /* <= DVV_CONTENT_TYPE_MAX */
	uint64_t timestamp_ms;
	int tombstone; /* nonzero: this write is a delete */
} dvv_value_t;

/* ---- life cycle ---- */

/* dvv_limits_default - *l becomes the default limits. */
void dvv_limits_default(dvv_limits_t *l);

/* dvv_init - make obj an empty object (no siblings, empty context). */
void dvv_init(dvv_t *obj);

/* dvv_free - release everything obj owns; obj is then empty. */
void dvv_free(dvv_t *obj);

/*
 * dvv_copy - *dst (initialised; its old content is released) becomes a deep
 * copy of *src. 0 or SH_ENOMEM (then dst is unchanged).
 */
int dvv_copy(dvv_t *dst, const dvv_t *src);

/*
 * dvv_check - 1 if obj keeps every invariant listed at the top, else 0.
 * For tests and assertions; decoded objects always pass.
 */
int dvv_check(const dvv_t *obj);

/* ---- the operations of a store ---- */

/*
 * dvv_update - apply a client's write at its coordinator.
 *   obj          in/out: the coordinator's local object (empty if none)
 *   client_ctx   in: the context the client last read (dvv_join of some
 *                replica's object), or NULL for a write without one
 *   coordinator  in: this node's actor; it must be a replica of the key and
 *                store the result before sending it anywhere
 *   v            in: the value; its bytes are copied
 *   new_dot_out  out (may be NULL): the dot of the new sibling
 * Removes every sibling whose dot client_ctx has seen, merges client_ctx
 * into obj's context, and adds a sibling carrying v under a fresh dot
 * (coordinator's counter = its highest in obj's context or client_ctx, + 1).
 * Errors: SH_EINVAL (content type over DVV_CONTENT_TYPE_MAX, a tombstone
 * with value bytes, NULL bytes with nonzero length), SH_ERANGE (the
 * contexts already hold the coordinator's counter UINT64_MAX), SH_ENOMEM.
 */
int dvv_update(dvv_t *obj, const crdt_ctx_t *client_ctx,
               const crdt_actor_t *coordinator, const dvv_value_t *v,
               crdt_dot_t *new_dot_out);

/*
 * dvv_sync - obj := join(obj, other): keep a sibling if both have it, or if
 * one has it and the other's context has not seen it; the contexts union.
 * Commutative, associative, idempotent. other is only read (obj == other
 * is allowed and changes nothing). Errors: SH_ENOMEM.
 */
int dvv_sync(dvv_t *obj, const dvv_t *other);

/*
 * dvv_join - *out (initialised; replaced) becomes obj's context: what a
 * read hands the client, to send back with its next write of the key.
 * 0 or SH_ENOMEM.
 */
int dvv_join(const dvv_t *obj, crdt_ctx_t *out);

/*
 * dvv_discard - drop every sibling whose dot ctx has seen and merge ctx
 * into obj's context (the DVV set's discard: what a write does before it
 * adds its own sibling). Errors: SH_ENOMEM.
 */
int dvv_discard(dvv_t *obj, const crdt_ctx_t *ctx);

/* ---- reading ---- */

/*
 * dvv_siblings - obj's siblings in dot order; *count_out (may be NULL)
 * gets their number. The array belongs to obj and stays valid until obj
 * next changes. NULL when there are none.
 */
const dvv_sibling_t *dvv_siblings(const dvv_t *obj, size_t *count_out);

/* dvv_live_count - the number of siblings that are not tombstones. */
size_t dvv_live_count(const dvv_t *obj);

/*
 * dvv_is_deleted - 1 if obj has at least one sibling and every sibling is a
 * tombstone (a read of it is a 404 that still carries the context).
 */
int dvv_is_deleted(const dvv_t *obj);

/*
 * dvv_less - 1 if a's context is strictly below b's: b has seen everything
 * a has and more (a is then obsolete next to b). 0 otherwise, also when
 * they are equal or concurrent.
 */
int dvv_less(const dvv_t *a, const dvv_t *b);

/* dvv_equal - 1 if a and b have the same context and the same sibling dots. */
int dvv_equal(const dvv_t *a, const dvv_t *b);

/* ---- encoding ---- */

/* dvv_encode - append obj's canonical encoding to out. 0 or SH_ENOMEM. */
int dvv_encode(const dvv_t *obj, sh_buf_t *out);

/*
 * dvv_encode_mp - write obj's canonical encoding as one item to w (to
 * embed it in a larger message). Returns w->err.
 */
int dvv_encode_mp(const dvv_t *obj, sh_mp_writer_t *w);

/*
 * dvv_decode - read the object encoded in p[0..len) (borrowed; nothing
 * points into it afterwards) into *obj (initialised). On success obj's old
 * content is released and replaced; on error obj is unchanged. limits NULL
 * means dvv_limits_default. Trailing bytes are an error.
 * Errors: SH_ETRUNC, SH_EMALFORMED, SH_ETYPE, SH_EVERSION, SH_ETOOBIG,
 * SH_EINVAL, SH_ERANGE, SH_ENOMEM.
 */
int dvv_decode(dvv_t *obj, const uint8_t *p, size_t len,
               const dvv_limits_t *limits);

/*
 * dvv_decode_mp - like dvv_decode, but reads one item from r (which then
 * points past it on success and is unchanged on error) and leaves whatever
 * follows to the caller.
 */
int dvv_decode_mp(sh_mp_reader_t *r, dvv_t *obj, const dvv_limits_t *limits);

/*
 * dvv_hash - xxh3-64 of obj's canonical encoding (dvv_encode's bytes), so
 * equal objects hash equal. Streams the encoding through the hash: never
 * allocates, never fails.
 */
uint64_t dvv_hash(const dvv_t *obj);

/*
 * dvv_ctx_encode - append the standalone client context encoding of ctx to
 * out. 0 or SH_ENOMEM.
 */
int dvv_ctx_encode(const crdt_ctx_t *ctx, sh_buf_t *out);

/*
 * dvv_ctx_decode - read a standalone client context from p[0..len)
 * (borrowed) into *ctx (initialised). On success ctx is replaced; on error
 * it holds the same dots as before. An empty ctx is decoded into in place,
 * using the memory it has (a buffer of crdt_ctx_init_buf saves an
 * allocation), and may own memory after an error too: crdt_ctx_free it as
 * always. Errors as dvv_decode.
 */
int dvv_ctx_decode(crdt_ctx_t *ctx, const uint8_t *p, size_t len);

#endif /* SHOAL_CRDT_DVV_H */
