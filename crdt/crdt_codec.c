/*
 * crdt_codec.c - the canonical msgpack encoding of convergent objects and
 * its strict decoder. The format is described at the top of crdt.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "crdt/crdt_int.h"

/*
 * The actor table: the actors of a context (vv and cloud), sorted and
 * unique. Store dots name their actor by its index here.
 */
typedef struct actor_table {
	crdt_actor_t *a; /* owned */
	size_t len;
} actor_table_t;

static int table_build(actor_table_t *t, const crdt_ctx_t *ctx)
{
	size_t n = ctx->vv_len + ctx->cloud_len;
	t->len = 0;
	t->a = malloc((n ? n : 1) * sizeof *t->a);
	if (t->a == NULL)
		return SH_ENOMEM;
	size_t i = 0, j = 0;
	while (i < ctx->vv_len || j < ctx->cloud_len) {
		const crdt_actor_t *x = i < ctx->vv_len ? &ctx->vv[i].actor : 0;
		const crdt_actor_t *y =
		    j < ctx->cloud_len ? &ctx->cloud[j].actor : 0;
		int c = !x ? 1 : !y ? -1 : crdt_actor_cmp(x, y);
		const crdt_actor_t *next = c <= 0 ? x : y;
		if (c <= 0)
			i++;
		else
			j++;
		if (t->len == 0 || crdt_actor_cmp(&t->a[t->len - 1], next) != 0)
			t->a[t->len++] = *next;
	}
	return SH_OK;
}

static long table_find(const actor_table_t *t, const crdt_actor_t *a)
{
	size_t lo = 0, hi = t->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = crdt_actor_cmp(&t->a[mid], a);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- encoding ---- */

static void put_dot(sh_mp_writer_t *w, const actor_table_t *t,
                    const crdt_dot_t *d)
{
	long idx = table_find(t, &d->actor);
	sh_assert(idx >= 0); /* every store dot is in the context */
	sh_mp_put_array(w, 2);
	sh_mp_put_u64(w, (uint64_t)idx);
	sh_mp_put_u64(w, d->counter);
}

static void put_store(sh_mp_writer_t *w, const actor_table_t *t,
                      const crdt_store_t *s)
{
	sh_mp_put_array(w, (uint32_t)s->len);
	for (size_t i = 0; i < s->len; i++) {
		switch (s->type) {
		case CRDT_COUNTER:
			sh_mp_put_array(w, 2);
			put_dot(w, t, &s->v.counter[i].dot);
			sh_mp_put_i64(w, s->v.counter[i].value);
			break;
		case CRDT_SET: {
			const crdt_set_elem_t *e = &s->v.set[i];
			sh_mp_put_array(w, 2);
			sh_mp_put_bin(w, e->bytes, e->len);
			sh_mp_put_array(w, (uint32_t)e->dots_len);
			for (size_t k = 0; k < e->dots_len; k++)
				put_dot(w, t, &e->dots[k]);
			break;
		}
		case CRDT_REGISTER: {
			const crdt_reg_entry_t *e = &s->v.reg[i];
			sh_mp_put_array(w, 3);
			put_dot(w, t, &e->dot);
			sh_mp_put_u64(w, e->timestamp_ms);
			sh_mp_put_bin(w, e->value, e->len);
			break;
		}
		case CRDT_MAP: {
			const crdt_field_t *f = &s->v.map[i];
			sh_mp_put_array(w, 3);
			sh_mp_put_bin(w, f->name, f->name_len);
			sh_mp_put_u64(w, (uint64_t)f->store.type);
			put_store(w, t, &f->store);
			break;
		}
		}
	}
}

int crdt_encode(const crdt_t *c, sh_buf_t *out)
{
	actor_table_t t;
	uint8_t head[2] = {(uint8_t)c->store.type, CRDT_ENCODING_VERSION};
	int rc = sh_buf_append(out, head, sizeof head);
	if (rc != SH_OK)
		return rc;
	if ((rc = table_build(&t, &c->ctx)) != SH_OK)
		return rc;
	sh_mp_writer_t w;
	sh_mp_writer_init(&w, out);
	crdt_ctx_encode(&c->ctx, &w);
	put_store(&w, &t, &c->store);
	free(t.a);
	return w.err;
}

/* ---- decoding ---- */

/* Reads an array header that must announce exactly n items. */
static int get_tuple(sh_mp_reader_t *r, uint32_t n)
{
	uint32_t got;
	int rc = sh_mp_get_array(r, &got);
	if (rc == SH_OK && got != n)
		rc = SH_EMALFORMED;
	return rc;
}

static int get_dot(sh_mp_reader_t *r, const actor_table_t *t, crdt_dot_t *d)
{
	uint64_t idx;
	int rc = get_tuple(r, 2);
	if (rc == SH_OK)
		rc = sh_mp_get_u64(r, &idx);
	if (rc == SH_OK)
		rc = sh_mp_get_u64(r, &d->counter);
	if (rc != SH_OK)
		return rc;
	if (idx >= t->len || d->counter == 0)
		return SH_EMALFORMED;
	d->actor = t->a[idx];
	return SH_OK;
}

/* Reads a bin of at most max bytes into a fresh copy. */
static int get_bytes(sh_mp_reader_t *r, size_t max, uint8_t **out, size_t *len)
{
	const uint8_t *p;
	int rc = sh_mp_get_bin(r, &p, len);
	if (rc != SH_OK)
		return rc;
	if (*len > max)
		return SH_ETOOBIG;
	return crdt__bytes_dup(p, *len, out);
}

static int get_counter_entry(sh_mp_reader_t *r, const actor_table_t *t,
                             crdt_store_t *s)
{
	crdt_counter_entry_t *e = &s->v.counter[s->len];
	int rc = get_tuple(r, 2);
	if (rc == SH_OK)
		rc = get_dot(r, t, &e->dot);
	if (rc == SH_OK)
		rc = sh_mp_get_i64(r, &e->value);
	if (rc == SH_OK)
		s->len++;
	return rc;
}

static int get_set_elem(sh_mp_reader_t *r, const actor_table_t *t,
                        crdt_store_t *s)
{
	crdt_set_elem_t *e = &s->v.set[s->len];
	uint32_t n;
	memset(e, 0, sizeof *e);
	int rc = get_tuple(r, 2);
	if (rc == SH_OK)
		rc = get_bytes(r, CRDT_ELEMENT_MAX, &e->bytes, &e->len);
	s->len++; /* s owns e from here, so an error frees it */
	if (rc == SH_OK)
		rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n == 0)
		return SH_EMALFORMED;
	if (n > CRDT_DOTS_MAX)
		return SH_ETOOBIG;
	if ((e->dots = malloc(n * sizeof *e->dots)) == NULL)
		return SH_ENOMEM;
	for (; e->dots_len < n; e->dots_len++)
		if ((rc = get_dot(r, t, &e->dots[e->dots_len])) != SH_OK)
			return rc;
	return SH_OK;
}

static int get_reg_entry(sh_mp_reader_t *r, const actor_table_t *t,
                         crdt_store_t *s)
{
	crdt_reg_entry_t *e = &s->v.reg[s->len];
	memset(e, 0, sizeof *e);
	int rc = get_tuple(r, 3);
	if (rc == SH_OK)
		rc = get_dot(r, t, &e->dot);
	if (rc == SH_OK)
		rc = sh_mp_get_u64(r, &e->timestamp_ms);
	if (rc == SH_OK)
		rc = get_bytes(r, CRDT_VALUE_MAX, &e->value, &e->len);
	if (rc == SH_OK)
		s->len++;
	return rc;
}

static int get_store(sh_mp_reader_t *r, const actor_table_t *t, crdt_store_t *s,
                     int level);

static int get_field(sh_mp_reader_t *r, const actor_table_t *t, crdt_store_t *s,
                     int level)
{
	crdt_field_t *f = &s->v.map[s->len];
	uint64_t type;
	memset(f, 0, sizeof *f);
	crdt__store_init(&f->store, CRDT_COUNTER);
	int rc = get_tuple(r, 3);
	if (rc == SH_OK)
		rc = get_bytes(r, CRDT_FIELD_NAME_MAX, &f->name, &f->name_len);
	s->len++; /* s owns f from here, so an error frees it */
	if (rc == SH_OK)
		rc = sh_mp_get_u64(r, &type);
	if (rc != SH_OK)
		return rc;
	if (!crdt_type_valid(type > CRDT_MAP ? 0 : (int)type))
		return SH_EMALFORMED;
	if (type == CRDT_MAP && level + 1 > CRDT_DEPTH_MAX)
		return SH_EDEPTH;
	crdt__store_init(&f->store, (crdt_type_t)type);
	return get_store(r, t, &f->store, level + 1);
}

/* The most entries a store of this type may announce. */
static size_t entries_max(crdt_type_t type, const actor_table_t *t)
{
	switch (type) {
	case CRDT_COUNTER: return t->len; /* one dot per actor */
	case CRDT_REGISTER: return CRDT_DOTS_MAX;
	default: return CRDT_ENTRIES_MAX;
	}
}

/* Reads a store of s->type into s (empty); on error s keeps what it read. */
static int get_store(sh_mp_reader_t *r, const actor_table_t *t, crdt_store_t *s,
                     int level)
{
	uint32_t n;
	int rc = sh_mp_get_array(r, &n);
	if (rc != SH_OK)
		return rc;
	if (n > entries_max(s->type, t))
		return SH_ETOOBIG;
	if ((rc = crdt__store_reserve(s, n)) != SH_OK)
		return rc;
	for (uint32_t i = 0; i < n && rc == SH_OK; i++) {
		switch (s->type) {
		case CRDT_COUNTER: rc = get_counter_entry(r, t, s); break;
		case CRDT_SET: rc = get_set_elem(r, t, s); break;
		case CRDT_REGISTER: rc = get_reg_entry(r, t, s); break;
		case CRDT_MAP: rc = get_field(r, t, s, level); break;
		}
	}
	return rc;
}

/* Decodes the part after the two header bytes into *c (initialised). */
static int decode_body(crdt_t *c, const uint8_t *p, size_t len)
{
	sh_mp_reader_t r;
	actor_table_t t;
	sh_mp_reader_init(&r, p, len);
	int rc = crdt_ctx_decode(&r, &c->ctx);
	if (rc != SH_OK)
		return rc;
	if ((rc = table_build(&t, &c->ctx)) != SH_OK)
		return rc;
	rc = get_store(&r, &t, &c->store, 1);
	free(t.a);
	if (rc != SH_OK)
		return rc;
	if (sh_mp_reader_left(&r) != 0)
		return SH_EMALFORMED; /* trailing bytes */
	/* Order, uniqueness, no empty nested store, every dot seen. */
	return crdt_check(c) ? SH_OK : SH_EMALFORMED;
}

int crdt_decode(crdt_t *c, const uint8_t *p, size_t len)
{
	if (len < 2)
		return SH_ETRUNC;
	if (!crdt_type_valid(p[0]))
		return SH_EMALFORMED;
	if (p[1] != CRDT_ENCODING_VERSION)
		return SH_EVERSION;
	crdt_t tmp;
	crdt_init(&tmp, (crdt_type_t)p[0]);
	int rc = decode_body(&tmp, p + 2, len - 2);
	if (rc != SH_OK) {
		crdt_free(&tmp);
		return rc;
	}
	crdt_free(c);
	*c = tmp;
	return SH_OK;
}
