/*
 * dvv.c - key-value objects as DVV sets: update, join, discard, compare,
 * and the canonical msgpack encoding. The rules and the encoding are in
 * dvv.h; the causal core underneath is causal.c.
 *
 * Every function that changes an object first makes whatever needs
 * memory (room in its context and sibling array, copies of sibling bytes)
 * and only then commits with merges into the reserved room, moves and
 * frees that cannot fail, so an object is never left half changed.
 */
#include "crdt/dvv.h"

#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"

/* ---- siblings ---- */

/*
 * Makes s a sibling owning one allocation: the value bytes, then the
 * content type and a NUL. Returns 0 or SH_ENOMEM (s untouched).
 */
static int sib_make(dvv_sibling_t *s, const crdt_dot_t *dot,
                    const uint8_t *value, size_t value_len, const uint8_t *ct,
                    size_t ct_len, uint64_t timestamp_ms, int tombstone)
{
	sh_assert(ct_len <= DVV_CONTENT_TYPE_MAX);
	if (value_len > SIZE_MAX - DVV_CONTENT_TYPE_MAX - 1)
		return SH_ENOMEM;
	uint8_t *bytes = malloc(value_len + ct_len + 1);
	if (bytes == NULL)
		return SH_ENOMEM;
	if (value_len > 0)
		memcpy(bytes, value, value_len);
	if (ct_len > 0)
		memcpy(bytes + value_len, ct, ct_len);
	bytes[value_len + ct_len] = '\0';
	s->dot = *dot;
	s->value = bytes;
	s->value_len = value_len;
	s->content_type = (const char *)bytes + value_len;
	s->content_type_len = ct_len;
	s->timestamp_ms = timestamp_ms;
	s->tombstone = tombstone ? 1 : 0;
	return SH_OK;
}

static int sib_clone(dvv_sibling_t *dst, const dvv_sibling_t *src)
{
	return sib_make(dst, &src->dot, src->value, src->value_len,
	                (const uint8_t *)src->content_type,
	                src->content_type_len, src->timestamp_ms,
	                src->tombstone);
}

/* 1 if p points into obj's block (dvv_t), which only dvv_free releases. */
static int in_block(const dvv_t *obj, const void *p)
{
	uintptr_t b = (uintptr_t)obj->block, x = (uintptr_t)p;
	return obj->block != NULL && x >= b && x - b < obj->block_len;
}

static void sib_free(const dvv_t *obj, dvv_sibling_t *s)
{
	/* value is the start of the sibling's one allocation, unless the
	 * sibling was decoded into obj's block */
	if (obj == NULL || !in_block(obj, s->value))
		free((void *)s->value);
	s->value = NULL;
}

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen ? memcmp(a, b, alen) : 0;
}

/*
 * A total order on what two siblings carry, used only to choose between
 * two different siblings under one dot (a reused dot: a bug elsewhere) in
 * the same way on every replica.
 */
static int sib_content_cmp(const dvv_sibling_t *a, const dvv_sibling_t *b)
{
	if (a->tombstone != b->tombstone)
		return a->tombstone < b->tombstone ? -1 : 1;
	if (a->timestamp_ms != b->timestamp_ms)
		return a->timestamp_ms < b->timestamp_ms ? -1 : 1;
	int c = cmp_bytes(a->content_type, a->content_type_len, b->content_type,
	                  b->content_type_len);
	if (c != 0)
		return c;
	return cmp_bytes(a->value, a->value_len, b->value, b->value_len);
}

/* Makes room for `want` siblings in obj. 0 or SH_ENOMEM (obj untouched). */
static int sib_reserve(dvv_t *obj, size_t want)
{
	if (want <= obj->sibling_cap)
		return SH_OK;
	size_t cap = obj->sibling_cap ? obj->sibling_cap * 2 : 4;
	while (cap < want)
		cap *= 2;
	if (cap > SIZE_MAX / sizeof *obj->siblings)
		return SH_ENOMEM;
	dvv_sibling_t *p;
	if (in_block(obj, obj->siblings)) {
		/* the array in the block cannot grow: move it out */
		p = malloc(cap * sizeof *p);
		if (p != NULL)
			memcpy(p, obj->siblings,
			       obj->sibling_count * sizeof *p);
	} else {
		p = realloc(obj->siblings, cap * sizeof *p);
	}
	if (p == NULL)
		return SH_ENOMEM;
	obj->siblings = p;
	obj->sibling_cap = cap;
	return SH_OK;
}

/* Where dot d belongs in obj's sorted siblings (first index >= d). */
static size_t sib_lower_bound(const dvv_t *obj, const crdt_dot_t *d)
{
	size_t lo = 0, hi = obj->sibling_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (crdt_dot_cmp(&obj->siblings[mid].dot, d) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Drops (and frees) every sibling whose dot ctx has seen. Cannot fail. */
static void drop_seen(dvv_t *obj, const crdt_ctx_t *ctx)
{
	size_t keep = 0;
	for (size_t i = 0; i < obj->sibling_count; i++) {
		dvv_sibling_t *s = &obj->siblings[i];
		if (crdt_ctx_contains(ctx, &s->dot))
			sib_free(obj, s);
		else
			obj->siblings[keep++] = *s;
	}
	obj->sibling_count = keep;
}

/* Merges ctx into obj's context, whose room crdt_ctx_reserve made. */
static void ctx_merge_reserved(dvv_t *obj, const crdt_ctx_t *ctx)
{
	int rc = crdt_ctx_merge(&obj->ctx, ctx);
	sh_assert(rc == SH_OK);
	(void)rc;
}

/* ---- life cycle ---- */

void dvv_limits_default(dvv_limits_t *l)
{
	l->value_bytes_max = DVV_VALUE_BYTES_MAX_DEFAULT;
	l->siblings_max = DVV_SIBLINGS_MAX_DEFAULT;
}

void dvv_init(dvv_t *obj)
{
	memset(obj, 0, sizeof *obj);
}

void dvv_free(dvv_t *obj)
{
	for (size_t i = 0; i < obj->sibling_count; i++)
		sib_free(obj, &obj->siblings[i]);
	if (!in_block(obj, obj->siblings))
		free(obj->siblings);
	crdt_ctx_free(&obj->ctx); /* a vv in the block is borrowed */
	free(obj->block);
	dvv_init(obj);
}

int dvv_copy(dvv_t *dst, const dvv_t *src)
{
	if (dst == src)
		return SH_OK;
	dvv_t tmp;
	dvv_init(&tmp);
	int rc = crdt_ctx_copy(&tmp.ctx, &src->ctx);
	if (rc == SH_OK)
		rc = sib_reserve(&tmp, src->sibling_count);
	for (size_t i = 0; rc == SH_OK && i < src->sibling_count; i++) {
		rc = sib_clone(&tmp.siblings[i], &src->siblings[i]);
		if (rc == SH_OK)
			tmp.sibling_count = i + 1;
	}
	if (rc != SH_OK) {
		dvv_free(&tmp);
		return rc;
	}
	dvv_free(dst);
	*dst = tmp;
	return SH_OK;
}

/* 1 if s alone keeps the per-sibling invariants. */
static int sib_ok(const dvv_sibling_t *s)
{
	if (s->value == NULL || s->content_type == NULL)
		return 0;
	if (s->dot.counter == 0 || s->dot.actor.name_len == 0 ||
	    s->dot.actor.name_len > CRDT_ACTOR_NAME_MAX)
		return 0;
	if (s->content_type_len > DVV_CONTENT_TYPE_MAX)
		return 0;
	return !(s->tombstone && s->value_len > 0);
}

int dvv_check(const dvv_t *obj)
{
	if (!crdt_ctx_check(&obj->ctx))
		return 0;
	if (obj->sibling_count > obj->sibling_cap)
		return 0;
	for (size_t i = 0; i < obj->sibling_count; i++) {
		const dvv_sibling_t *s = &obj->siblings[i];
		if (!sib_ok(s) || !crdt_ctx_contains(&obj->ctx, &s->dot))
			return 0;
		if (i > 0 &&
		    crdt_dot_cmp(&obj->siblings[i - 1].dot, &s->dot) >= 0)
			return 0;
	}
	return 1;
}

/* ---- the operations of a store ---- */

static int value_ok(const dvv_value_t *v)
{
	if (v->content_type_len > DVV_CONTENT_TYPE_MAX)
		return 0;
	if (v->value == NULL && v->value_len > 0)
		return 0;
	if (v->content_type == NULL && v->content_type_len > 0)
		return 0;
	return !(v->tombstone && v->value_len > 0);
}

int dvv_update(dvv_t *obj, const crdt_ctx_t *client_ctx,
               const crdt_actor_t *coordinator, const dvv_value_t *v,
               crdt_dot_t *new_dot_out)
{
	if (!value_ok(v))
		return SH_EINVAL;
	/* The fresh dot is next(c ∪ k): the union's highest counter is the
	 * higher of the two. */
	uint64_t max = crdt_ctx_max(&obj->ctx, coordinator);
	if (client_ctx != NULL) {
		uint64_t kmax = crdt_ctx_max(client_ctx, coordinator);
		max = kmax > max ? kmax : max;
	}
	if (max == UINT64_MAX)
		return SH_ERANGE;
	crdt_dot_t dot = {.actor = *coordinator, .counter = max + 1};
	dvv_sibling_t s;
	int rc = crdt_ctx_reserve(&obj->ctx, client_ctx, coordinator);
	if (rc == SH_OK)
		rc = sib_reserve(obj, obj->sibling_count + 1);
	if (rc == SH_OK)
		rc = sib_make(&s, &dot, v->value, v->value_len,
		              (const uint8_t *)v->content_type,
		              v->content_type_len, v->timestamp_ms,
		              v->tombstone);
	if (rc != SH_OK)
		return rc;
	/* Commit: nothing below fails. */
	if (client_ctx != NULL) {
		drop_seen(obj, client_ctx);
		ctx_merge_reserved(obj, client_ctx);
	}
	/* dot is next(c ∪ k, coordinator): what crdt_ctx_next would make */
	rc = crdt_ctx_add(&obj->ctx, &dot);
	sh_assert(rc == SH_OK);
	size_t at = sib_lower_bound(obj, &dot);
	memmove(&obj->siblings[at + 1], &obj->siblings[at],
	        (obj->sibling_count - at) * sizeof *obj->siblings);
	obj->siblings[at] = s;
	obj->sibling_count++;
	if (new_dot_out != NULL)
		*new_dot_out = dot;
	return SH_OK;
}

/* The siblings of a join, built on the side before it commits. */
typedef struct join {
	dvv_sibling_t *out; /* sorted; entries from obj are shallow copies */
	uint8_t *cloned;    /* cloned[i]: out[i] is a copy of other's */
	size_t n;
} join_t;

static int join_take(join_t *j, const dvv_sibling_t *s, int clone)
{
	if (clone) {
		int rc = sib_clone(&j->out[j->n], s);
		if (rc != SH_OK)
			return rc;
	} else {
		j->out[j->n] = *s;
	}
	j->cloned[j->n++] = (uint8_t)(clone != 0);
	return SH_OK;
}

/* Fills j with join(obj, other)'s siblings, walking both in dot order. */
static int join_walk(const dvv_t *obj, const dvv_t *other, join_t *j)
{
	size_t i = 0, k = 0;
	int rc = SH_OK;
	while (rc == SH_OK &&
	       (i < obj->sibling_count || k < other->sibling_count)) {
		const dvv_sibling_t *a =
		    i < obj->sibling_count ? &obj->siblings[i] : NULL;
		const dvv_sibling_t *b =
		    k < other->sibling_count ? &other->siblings[k] : NULL;
		int c = a == NULL   ? 1
		        : b == NULL ? -1
		                    : crdt_dot_cmp(&a->dot, &b->dot);
		if (c < 0) {
			i++;
			if (!crdt_ctx_contains(&other->ctx, &a->dot))
				rc = join_take(j, a, 0);
		} else if (c > 0) {
			k++;
			if (!crdt_ctx_contains(&obj->ctx, &b->dot))
				rc = join_take(j, b, 1);
		} else {
			i++;
			k++;
			if (sib_content_cmp(b, a) < 0)
				rc = join_take(j, b, 1);
			else
				rc = join_take(j, a, 0);
		}
	}
	return rc;
}

/* Frees the siblings of obj that the join did not keep. Cannot fail. */
static void join_release_dropped(dvv_t *obj, const join_t *j)
{
	size_t p = 0;
	for (size_t i = 0; i < obj->sibling_count; i++) {
		dvv_sibling_t *s = &obj->siblings[i];
		while (p < j->n && j->cloned[p])
			p++;
		/* Kept siblings sit in j->out in order, sharing their bytes. */
		if (p < j->n && j->out[p].value == s->value)
			p++;
		else
			sib_free(obj, s);
	}
}

int dvv_sync(dvv_t *obj, const dvv_t *other)
{
	if (obj == other)
		return SH_OK;
	size_t cap = obj->sibling_count + other->sibling_count;
	join_t j = {0};
	int rc = crdt_ctx_reserve(&obj->ctx, &other->ctx, NULL);
	if (rc == SH_OK && cap > 0) {
		j.out = calloc(cap, sizeof *j.out);
		j.cloned = calloc(cap, 1);
		if (j.out == NULL || j.cloned == NULL)
			rc = SH_ENOMEM;
	}
	if (rc == SH_OK)
		rc = join_walk(obj, other, &j);
	if (rc != SH_OK) {
		for (size_t i = 0; i < j.n; i++)
			if (j.cloned[i])
				sib_free(NULL, &j.out[i]);
		free(j.out);
		free(j.cloned);
		return rc;
	}
	join_release_dropped(obj, &j);
	if (!in_block(obj, obj->siblings))
		free(obj->siblings);
	free(j.cloned);
	obj->siblings = j.out;
	obj->sibling_count = j.n;
	obj->sibling_cap = j.out != NULL ? cap : 0;
	ctx_merge_reserved(obj, &other->ctx);
	return SH_OK;
}

int dvv_join(const dvv_t *obj, crdt_ctx_t *out)
{
	return crdt_ctx_copy(out, &obj->ctx);
}

int dvv_discard(dvv_t *obj, const crdt_ctx_t *ctx)
{
	int rc = crdt_ctx_reserve(&obj->ctx, ctx, NULL);
	if (rc != SH_OK)
		return rc;
	drop_seen(obj, ctx);
	ctx_merge_reserved(obj, ctx);
	return SH_OK;
}

/* ---- reading ---- */

const dvv_sibling_t *dvv_siblings(const dvv_t *obj, size_t *count_out)
{
	if (count_out != NULL)
		*count_out = obj->sibling_count;
	return obj->sibling_count ? obj->siblings : NULL;
}

size_t dvv_live_count(const dvv_t *obj)
{
	size_t live = 0;
	for (size_t i = 0; i < obj->sibling_count; i++)
		live += !obj->siblings[i].tombstone;
	return live;
}

int dvv_is_deleted(const dvv_t *obj)
{
	return obj->sibling_count > 0 && dvv_live_count(obj) == 0;
}

int dvv_less(const dvv_t *a, const dvv_t *b)
{
	return crdt_ctx_leq(&a->ctx, &b->ctx) &&
	       !crdt_ctx_leq(&b->ctx, &a->ctx);
}

int dvv_equal(const dvv_t *a, const dvv_t *b)
{
	if (a->sibling_count != b->sibling_count)
		return 0;
	for (size_t i = 0; i < a->sibling_count; i++)
		if (crdt_dot_cmp(&a->siblings[i].dot, &b->siblings[i].dot) != 0)
			return 0;
	return crdt_ctx_equal(&a->ctx, &b->ctx);
}

/* ---- encoding ---- */

static int sib_encode(const dvv_sibling_t *s, sh_mp_writer_t *w)
{
	sh_mp_put_array(w, 5);
	crdt_dot_encode(&s->dot, w);
	sh_mp_put_bin(w, s->value, s->value_len);
	sh_mp_put_bin(w, s->content_type, s->content_type_len);
	sh_mp_put_u64(w, s->timestamp_ms);
	return sh_mp_put_bool(w, s->tombstone);
}

int dvv_encode_mp(const dvv_t *obj, sh_mp_writer_t *w)
{
	sh_assert(obj->sibling_count <= UINT32_MAX);
	sh_mp_put_array(w, 4);
	sh_mp_put_u64(w, DVV_TAG);
	sh_mp_put_u64(w, DVV_VERSION);
	crdt_ctx_encode(&obj->ctx, w);
	sh_mp_put_array(w, (uint32_t)obj->sibling_count);
	for (size_t i = 0; i < obj->sibling_count; i++)
		sib_encode(&obj->siblings[i], w);
	return w->err;
}

int dvv_encode(const dvv_t *obj, sh_buf_t *out)
{
	size_t len = out->len;
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	int rc = dvv_encode_mp(obj, &w);
	if (rc != SH_OK)
		out->len = len; /* append all or nothing */
	return rc;
}

/* msgpack-c sink that feeds the bytes to an XXH3 state instead of a buffer. */
static int hash_sink(void *data, const char *buf, size_t len)
{
	XXH3_64bits_update(data, buf, len);
	return 0;
}

uint64_t dvv_hash(const dvv_t *obj)
{
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	sh_mp_writer_t w;
	/* A writer with no buffer whose packer writes into the hash. */
	sh_mp_writer_init(&w, NULL);
	msgpack_packer_init(&w.pk, &st, hash_sink);
	int rc = dvv_encode_mp(obj, &w);
	sh_assert(rc == SH_OK);
	return XXH3_64bits_digest(&st);
}

int dvv_ctx_encode(const crdt_ctx_t *ctx, sh_buf_t *out)
{
	size_t len = out->len;
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	sh_mp_put_array(&w, 3);
	sh_mp_put_u64(&w, DVV_CTX_TAG);
	sh_mp_put_u64(&w, DVV_CTX_VERSION);
	int rc = crdt_ctx_encode(ctx, &w);
	if (rc != SH_OK)
		out->len = len;
	return rc;
}

/* ---- decoding ---- */

/*
 * Reads [tag, version, ...] up to the version: the array must have `items`
 * entries. Wrong tag: SH_ETYPE; other version: SH_EVERSION.
 */
static int decode_header(sh_mp_reader_t *r, uint64_t tag, uint64_t version,
                         uint32_t items)
{
	uint32_t n;
	uint64_t t, v;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n < 2)
		return SH_EMALFORMED;
	rc = sh_mp_get_u64(r, &t);
	if (rc == SH_ERANGE || (rc == SH_OK && t != tag))
		return SH_ETYPE;
	if (rc != SH_OK)
		return rc;
	rc = sh_mp_get_u64(r, &v);
	if (rc == SH_ERANGE || (rc == SH_OK && v != version))
		return SH_EVERSION;
	if (rc != SH_OK)
		return rc;
	return n == items ? SH_OK : SH_EMALFORMED;
}

/* The fields of one encoded sibling, pointing into the input. */
typedef struct sib_wire {
	crdt_dot_t dot;
	const uint8_t *value, *ct;
	size_t value_len, ct_len;
	uint64_t timestamp_ms;
	int tombstone;
} sib_wire_t;

static int decode_sib_wire(sh_mp_reader_t *r, sib_wire_t *sw,
                           const dvv_limits_t *limits)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n != 5)
		return SH_EMALFORMED;
	if ((rc = crdt_dot_decode(r, &sw->dot)) != SH_OK)
		return rc;
	if ((rc = sh_mp_get_bin(r, &sw->value, &sw->value_len)) != SH_OK)
		return rc;
	if (sw->value_len > limits->value_bytes_max)
		return SH_ETOOBIG;
	if ((rc = sh_mp_get_bin(r, &sw->ct, &sw->ct_len)) != SH_OK)
		return rc;
	if (sw->ct_len > DVV_CONTENT_TYPE_MAX)
		return SH_ETOOBIG;
	if ((rc = sh_mp_get_u64(r, &sw->timestamp_ms)) != SH_OK)
		return rc;
	if ((rc = sh_mp_get_bool(r, &sw->tombstone)) != SH_OK)
		return rc;
	return sw->tombstone && sw->value_len > 0 ? SH_EMALFORMED : SH_OK;
}

/* Siblings and vv entries a decode keeps on the stack before it knows the
 * object's size (more go to the heap). */
#define DECODE_SIBS_STACK 4
#define DECODE_VV_STACK   8

/*
 * Reads the sibling list's wire forms into sw (DECODE_SIBS_STACK entries
 * on the caller's stack; *swp is replaced by a malloc'd array when more
 * are needed, which the caller frees) and checks them against ctx.
 */
static int decode_wires(sh_mp_reader_t *r, const crdt_ctx_t *ctx,
                        const dvv_limits_t *limits, sib_wire_t **swp,
                        uint32_t *n_out)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n > limits->siblings_max)
		return SH_ETOOBIG;
	if (n > DECODE_SIBS_STACK) {
		*swp = malloc((size_t)n * sizeof **swp);
		if (*swp == NULL)
			return SH_ENOMEM;
	}
	sib_wire_t *sw = *swp;
	for (uint32_t i = 0; i < n; i++) {
		if ((rc = decode_sib_wire(r, &sw[i], limits)) != SH_OK)
			return rc;
		if (i > 0 && crdt_dot_cmp(&sw[i - 1].dot, &sw[i].dot) >= 0)
			return SH_EMALFORMED; /* unsorted or duplicate */
		if (!crdt_ctx_contains(ctx, &sw[i].dot))
			return SH_EMALFORMED; /* a sibling never seen */
	}
	*n_out = n;
	return SH_OK;
}

/*
 * Makes *obj (empty) the object of context *ctx (moved in) and siblings
 * sw[0..n), in one allocation: ctx's vv when it is still in the caller's
 * stack_vv, room for n + 1 siblings (an update adds one), then each
 * sibling's value, content type and NUL. 0 or SH_ENOMEM (nothing moved).
 */
static int build_object(dvv_t *obj, crdt_ctx_t *ctx,
                        const crdt_vv_entry_t *stack_vv, const sib_wire_t *sw,
                        uint32_t n)
{
	int vv_here = ctx->vv == stack_vv && ctx->vv_len > 0;
	size_t vv_bytes = vv_here ? ctx->vv_len * sizeof *ctx->vv : 0;
	size_t cap = n > 0 ? (size_t)n + 1 : 0, bytes = 0;
	for (uint32_t i = 0; i < n; i++)
		bytes += sw[i].value_len + sw[i].ct_len + 1; /* in the input */
	size_t len = vv_bytes + cap * sizeof(dvv_sibling_t) + bytes;
	uint8_t *block = len > 0 ? malloc(len) : NULL;
	if (len > 0 && block == NULL)
		return SH_ENOMEM;
	if (vv_here) {
		memcpy(block, ctx->vv, vv_bytes);
		crdt_ctx_init_buf(&obj->ctx, (crdt_vv_entry_t *)block,
		                  ctx->vv_len);
		obj->ctx.vv_len = ctx->vv_len;
		obj->ctx.cloud = ctx->cloud;
		obj->ctx.cloud_len = ctx->cloud_len;
		obj->ctx.cloud_cap = ctx->cloud_cap;
	} else if (ctx->vv == stack_vv) {
		obj->ctx = *ctx; /* no vv: nothing of the stack is kept */
		obj->ctx.vv = NULL;
		obj->ctx.vv_cap = 0;
		obj->ctx.vv_borrowed = 0;
	} else {
		obj->ctx = *ctx; /* the vv outgrew the stack: c owns it */
	}
	crdt_ctx_init(ctx);
	obj->block = block;
	obj->block_len = len;
	obj->siblings = cap > 0 ? (dvv_sibling_t *)(block + vv_bytes) : NULL;
	obj->sibling_cap = cap;
	/* no block (nothing to keep): no pointer into it, not even NULL + 0 */
	uint8_t *p = block != NULL
	                 ? block + vv_bytes + cap * sizeof(dvv_sibling_t)
	                 : NULL;
	for (uint32_t i = 0; i < n; i++) {
		dvv_sibling_t *s = &obj->siblings[i];
		s->dot = sw[i].dot;
		s->value = p;
		s->value_len = sw[i].value_len;
		if (sw[i].value_len > 0)
			memcpy(p, sw[i].value, sw[i].value_len);
		p += sw[i].value_len;
		s->content_type = (const char *)p;
		s->content_type_len = sw[i].ct_len;
		if (sw[i].ct_len > 0)
			memcpy(p, sw[i].ct, sw[i].ct_len);
		p += sw[i].ct_len;
		*p++ = '\0';
		s->timestamp_ms = sw[i].timestamp_ms;
		s->tombstone = sw[i].tombstone ? 1 : 0;
	}
	obj->sibling_count = n;
	return SH_OK;
}

/* Decodes one object from r into tmp (empty); r advances on success only. */
static int decode_object(sh_mp_reader_t *r, dvv_t *tmp,
                         const dvv_limits_t *limits)
{
	dvv_limits_t def;
	if (limits == NULL) {
		dvv_limits_default(&def);
		limits = &def;
	}
	crdt_vv_entry_t vv[DECODE_VV_STACK];
	sib_wire_t sw_stack[DECODE_SIBS_STACK], *sw = sw_stack;
	crdt_ctx_t ctx;
	uint32_t n = 0;
	crdt_ctx_init_buf(&ctx, vv, DECODE_VV_STACK);
	sh_mp_reader_t rr = *r;
	int rc = decode_header(&rr, DVV_TAG, DVV_VERSION, 4);
	if (rc == SH_OK)
		rc = crdt_ctx_decode(&rr, &ctx);
	if (rc == SH_OK)
		rc = decode_wires(&rr, &ctx, limits, &sw, &n);
	if (rc == SH_OK)
		rc = build_object(tmp, &ctx, vv, sw, n);
	if (sw != sw_stack)
		free(sw);
	crdt_ctx_free(&ctx); /* empty after build_object */
	if (rc != SH_OK)
		return rc;
	*r = rr;
	return SH_OK;
}

int dvv_decode_mp(sh_mp_reader_t *r, dvv_t *obj, const dvv_limits_t *limits)
{
	dvv_t tmp;
	dvv_init(&tmp);
	int rc = decode_object(r, &tmp, limits);
	if (rc != SH_OK)
		return rc;
	dvv_free(obj);
	*obj = tmp;
	return SH_OK;
}

int dvv_decode(dvv_t *obj, const uint8_t *p, size_t len,
               const dvv_limits_t *limits)
{
	if (len == 0)
		return SH_ETRUNC;
	sh_mp_reader_t r;
	sh_mp_reader_init(&r, p, len);
	dvv_t tmp;
	dvv_init(&tmp);
	int rc = decode_object(&r, &tmp, limits);
	if (rc != SH_OK)
		return rc;
	if (sh_mp_reader_left(&r) != 0) {
		dvv_free(&tmp);
		return SH_EMALFORMED; /* trailing bytes */
	}
	dvv_free(obj);
	*obj = tmp;
	return SH_OK;
}

int dvv_ctx_decode(crdt_ctx_t *ctx, const uint8_t *p, size_t len)
{
	if (len == 0)
		return SH_ETRUNC;
	sh_mp_reader_t r;
	sh_mp_reader_init(&r, p, len);
	int rc = decode_header(&r, DVV_CTX_TAG, DVV_CTX_VERSION, 3);
	if (rc == SH_OK && crdt_ctx_is_empty(ctx)) {
		/* in place, in the memory ctx has (perhaps a caller's
		 * buffer, crdt_ctx_init_buf): an error leaves it empty */
		rc = crdt_ctx_decode(&r, ctx);
		if (rc == SH_OK && sh_mp_reader_left(&r) != 0)
			rc = SH_EMALFORMED; /* trailing bytes */
		if (rc != SH_OK)
			crdt_ctx_clear(ctx);
		return rc;
	}
	crdt_ctx_t tmp;
	crdt_ctx_init(&tmp);
	if (rc == SH_OK)
		rc = crdt_ctx_decode(&r, &tmp);
	if (rc == SH_OK && sh_mp_reader_left(&r) != 0)
		rc = SH_EMALFORMED; /* trailing bytes */
	if (rc != SH_OK) {
		crdt_ctx_free(&tmp);
		return rc;
	}
	crdt_ctx_free(ctx);
	*ctx = tmp;
	return SH_OK;
}
