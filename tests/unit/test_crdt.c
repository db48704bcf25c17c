/*
 * test_crdt.c - unit tests of crdt.h, the convergent types: the semantics
 * of each type's operations (examples), then property tests over thousands
 * of random cases per type: merge is commutative, associative and
 * idempotent, encode/decode round-trips, decode rejects every truncation
 * and survives random corruption. The random cases come from one seed:
 * SHOAL_TEST_SEED if set, else a fixed default; it is printed at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_err.h"
#include "common/sh_mp.h"
#include "common/sh_rand.h"
#include "crdt/crdt.h"

static uint64_t g_seed = 0x5eedc0de;

/* ---- helpers ---- */

static crdt_actor_t actor(const char *name, uint64_t epoch)
{
	crdt_actor_t a;
	assert_int_equal(crdt_actor_init(&a, name, strlen(name), epoch), SH_OK);
	return a;
}

static crdt_t object(crdt_type_t type)
{
	crdt_t c;
	assert_int_equal(crdt_init(&c, type), SH_OK);
	return c;
}

static crdt_t clone(const crdt_t *src)
{
	crdt_t c = object(crdt_type(src));
	assert_int_equal(crdt_copy(&c, src), SH_OK);
	return c;
}

static void merge(crdt_t *dst, const crdt_t *src)
{
	assert_int_equal(crdt_merge(dst, src), SH_OK);
	assert_true(crdt_check(dst));
}

/* Encodes c into a fresh buffer (caller frees). */
static sh_buf_t encode(const crdt_t *c)
{
	sh_buf_t b;
	sh_buf_init(&b);
	assert_int_equal(crdt_encode(c, &b), SH_OK);
	return b;
}

/* 1 if a and b are crdt_equal and encode byte for byte the same. */
static int same(const crdt_t *a, const crdt_t *b)
{
	sh_buf_t x = encode(a), y = encode(b);
	int eq = crdt_equal(a, b);
	int bytes_eq = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	sh_buf_free(&x);
	sh_buf_free(&y);
	assert_int_equal(eq, bytes_eq); /* canonical: equality is the bytes */
	return eq;
}

static int64_t counter(const crdt_t *c)
{
	return crdt_counter_value(&c->store);
}

static int has(const crdt_store_t *s, const char *e)
{
	return crdt_set_contains(s, e, strlen(e));
}

/* The register's value as a NUL-terminated string in buf. */
static const char *reg_str(const crdt_store_t *s, char *buf, size_t size)
{
	crdt_register_view_t v;
	if (crdt_register_value(s, &v) != SH_OK)
		return NULL;
	assert_true(v.len < size);
	memcpy(buf, v.value, v.len);
	buf[v.len] = 0;
	return buf;
}

static crdt_op_t op_inc(int64_t by)
{
	crdt_op_t op = {.kind = CRDT_OP_COUNTER_INCREMENT, .u.increment = by};
	return op;
}

static crdt_op_t op_set(crdt_op_kind_t kind, const char *e)
{
	crdt_op_t op = {.kind = kind, .u.element = {e, strlen(e)}};
	return op;
}

static const crdt_store_t *field(const crdt_t *m, const char *name,
                                 crdt_type_t type)
{
	return crdt_map_get(&m->store, name, strlen(name), type);
}

static int map_inc(crdt_t *m, const crdt_actor_t *a, const char *name,
                   int64_t by)
{
	crdt_op_t in = op_inc(by);
	return crdt_map_update(m, a, 0, name, strlen(name), CRDT_COUNTER, &in);
}

static int map_set(crdt_t *m, const crdt_actor_t *a, const char *name,
                   crdt_op_kind_t kind, const char *e)
{
	crdt_op_t in = op_set(kind, e);
	return crdt_map_update(m, a, 0, name, strlen(name), CRDT_SET, &in);
}

/* ---- counter ---- */

static void test_crdt_counter_increments_and_decrements(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 2);
	crdt_t x = object(CRDT_COUNTER), y = object(CRDT_COUNTER);
	assert_int_equal(counter(&x), 0);
	assert_int_equal(crdt_counter_increment(&x, &a, 5), SH_OK);
	assert_int_equal(crdt_counter_increment(&x, &a, -2), SH_OK);
	assert_int_equal(x.store.len, 1); /* one dot per actor */
	assert_int_equal(crdt_counter_increment(&y, &b, 10), SH_OK);
	assert_int_equal(crdt_counter_increment(&y, &b, -20), SH_OK);
	merge(&x, &y);
	merge(&y, &x);
	assert_int_equal(counter(&x), -7);
	assert_true(same(&x, &y));
	assert_int_equal(crdt_counter_increment(&y, &a, 1), SH_OK);
	merge(&x, &y);
	assert_int_equal(counter(&x), -6);
	assert_int_equal(x.store.len, 2);
	crdt_free(&x);
	crdt_free(&y);
}

static void test_crdt_counter_rejects_overflow(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_COUNTER);
	assert_int_equal(crdt_counter_increment(&x, &a, INT64_MAX), SH_OK);
	assert_int_equal(crdt_counter_increment(&x, &a, 1), SH_ERANGE);
	assert_int_equal(counter(&x), INT64_MAX);
	/* The sum of two actors saturates instead of wrapping. */
	assert_int_equal(crdt_counter_increment(&x, &b, 5), SH_OK);
	assert_true(counter(&x) == INT64_MAX);
	crdt_free(&x);
}

/* ---- set ---- */

static void test_crdt_set_elements_sorted_by_bytes(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1);
	crdt_t s = object(CRDT_SET);
	const char *in[] = {"pear", "apple", "", "app", "zz", "apple"};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(crdt_set_add(&s, &a, in[i], strlen(in[i])),
		                 SH_OK);
	const char *want[] = {"", "app", "apple", "pear", "zz"};
	assert_int_equal(crdt_set_count(&s.store), 5);
	for (size_t i = 0; i < 5; i++) {
		const uint8_t *e;
		size_t len;
		crdt_set_element(&s.store, i, &e, &len);
		assert_int_equal(len, strlen(want[i]));
		assert_memory_equal(e, want[i], len);
	}
	assert_true(has(&s.store, "apple"));
	assert_false(has(&s.store, "appl"));
	assert_int_equal(crdt_set_remove(&s, &a, "apple", 5), SH_OK);
	assert_false(has(&s.store, "apple"));
	assert_int_equal(crdt_set_count(&s.store), 4);
	crdt_free(&s);
}

static void test_crdt_set_add_wins_over_concurrent_remove(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_SET);
	assert_int_equal(crdt_set_add(&x, &a, "milk", 4), SH_OK);
	crdt_t y = clone(&x);
	assert_int_equal(crdt_set_remove(&x, &a, "milk", 4), SH_OK);
	assert_int_equal(crdt_set_add(&y, &b, "milk", 4),
	                 SH_OK); /* concurrent */
	crdt_t xy = clone(&x), yx = clone(&y);
	merge(&xy, &y);
	merge(&yx, &x);
	assert_true(has(&xy.store, "milk"));
	assert_true(same(&xy, &yx));
	/* A remove that saw the add does remove it everywhere. */
	assert_int_equal(crdt_set_remove(&xy, &a, "milk", 4), SH_OK);
	merge(&yx, &xy);
	assert_false(has(&yx.store, "milk"));
	crdt_free(&x);
	crdt_free(&y);
	crdt_free(&xy);
	crdt_free(&yx);
}

static void test_crdt_set_remove_of_unobserved_is_notfound(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_SET), y = object(CRDT_SET);
	assert_int_equal(crdt_set_add(&x, &a, "eggs", 4), SH_OK);
	crdt_t before = clone(&y);
	assert_int_equal(crdt_set_remove(&y, &b, "eggs", 4), SH_ENOTFOUND);
	assert_true(same(&y, &before)); /* nothing changed, no dot used */
	merge(&y, &x);
	assert_true(has(&y.store, "eggs"));
	crdt_free(&x);
	crdt_free(&y);
	crdt_free(&before);
}

static void test_crdt_set_readd_replaces_observed_dots(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_SET), y = object(CRDT_SET);
	assert_int_equal(crdt_set_add(&x, &a, "e", 1), SH_OK);
	assert_int_equal(crdt_set_add(&y, &b, "e", 1), SH_OK);
	merge(&x, &y);
	assert_int_equal(x.store.v.set[0].dots_len, 2); /* concurrent adds */
	assert_int_equal(crdt_set_add(&x, &a, "e", 1), SH_OK);
	assert_int_equal(x.store.v.set[0].dots_len, 1); /* observed: replaced */
	crdt_free(&x);
	crdt_free(&y);
}

/* ---- register ---- */

static void test_crdt_register_last_writer_wins(void **state)
{
	(void)state;
	char buf[32];
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_REGISTER), y = object(CRDT_REGISTER);
	crdt_register_view_t v;
	assert_int_equal(crdt_register_value(&x.store, &v), SH_ENOTFOUND);
	assert_int_equal(crdt_register_assign(&x, &a, 100, "old", 3), SH_OK);
	assert_int_equal(crdt_register_assign(&y, &b, 200, "new", 3), SH_OK);
	merge(&x, &y);
	assert_string_equal(reg_str(&x.store, buf, sizeof buf), "new");
	assert_int_equal(x.store.len,
	                 2); /* concurrent: both until next assign */
	assert_int_equal(crdt_register_assign(&x, &a, 150, "next", 4), SH_OK);
	assert_int_equal(x.store.len, 1);
	assert_int_equal(crdt_register_value(&x.store, &v), SH_OK);
	assert_int_equal(v.timestamp_ms, 201); /* max(now, seen + 1) */
	merge(&y, &x);
	assert_string_equal(reg_str(&y.store, buf, sizeof buf), "next");
	crdt_free(&x);
	crdt_free(&y);
}

static void test_crdt_register_tie_broken_by_actor(void **state)
{
	(void)state;
	char buf[32];
	crdt_actor_t a = actor("a", 9), b = actor("b", 1);
	crdt_t x = object(CRDT_REGISTER), y = object(CRDT_REGISTER);
	assert_int_equal(crdt_register_assign(&y, &b, 500, "from-b", 6), SH_OK);
	assert_int_equal(crdt_register_assign(&x, &a, 500, "from-a", 6), SH_OK);
	crdt_t xy = clone(&x), yx = clone(&y);
	merge(&xy, &y);
	merge(&yx, &x);
	assert_true(crdt_actor_cmp(&a, &b) < 0);
	assert_string_equal(reg_str(&xy.store, buf, sizeof buf), "from-b");
	assert_string_equal(reg_str(&yx.store, buf, sizeof buf), "from-b");
	assert_true(same(&xy, &yx));
	crdt_free(&x);
	crdt_free(&y);
	crdt_free(&xy);
	crdt_free(&yx);
}

static void test_crdt_register_timestamp_never_goes_back(void **state)
{
	(void)state;
	char buf[32];
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_REGISTER);
	crdt_register_view_t v;
	/* b's clock is far ahead; a's later assign must still win on a. */
	assert_int_equal(crdt_register_assign(&x, &b, 10000, "b", 1), SH_OK);
	assert_int_equal(crdt_register_assign(&x, &a, 50, "a1", 2), SH_OK);
	assert_int_equal(crdt_register_value(&x.store, &v), SH_OK);
	assert_int_equal(v.timestamp_ms, 10001);
	assert_int_equal(crdt_register_assign(&x, &a, 60, "a2", 2), SH_OK);
	assert_int_equal(crdt_register_value(&x.store, &v), SH_OK);
	assert_int_equal(v.timestamp_ms, 10002);
	assert_string_equal(reg_str(&x.store, buf, sizeof buf), "a2");
	assert_true(crdt_actor_cmp(&v.dot.actor, &a) == 0);
	crdt_free(&x);
}

static void test_crdt_register_clock_skew_decides_concurrent(void **state)
{
	(void)state;
	char buf[32];
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_REGISTER), y = object(CRDT_REGISTER);
	/* b writes first in real time but its clock is an hour ahead. */
	assert_int_equal(crdt_register_assign(&y, &b, 3600000 + 10, "b", 1),
	                 SH_OK);
	assert_int_equal(crdt_register_assign(&x, &a, 20, "a", 1), SH_OK);
	merge(&x, &y);
	assert_string_equal(reg_str(&x.store, buf, sizeof buf), "b");
	crdt_free(&x);
	crdt_free(&y);
}

/* ---- map ---- */

static void test_crdt_map_update_creates_and_nests(void **state)
{
	(void)state;
	char buf[32];
	crdt_actor_t a = actor("a", 1);
	crdt_t m = object(CRDT_MAP);
	assert_int_equal(map_inc(&m, &a, "sku-2", 3), SH_OK);
	assert_int_equal(map_inc(&m, &a, "sku-1", 1), SH_OK);
	assert_int_equal(map_inc(&m, &a, "sku-2", 4), SH_OK);
	crdt_op_t name = {.kind = CRDT_OP_REGISTER_ASSIGN,
	                  .u.value = {"Ann", 3}};
	crdt_op_t inner = {.kind = CRDT_OP_MAP_UPDATE,
	                   .u.field = {"name", 4, CRDT_REGISTER, &name}};
	assert_int_equal(
	    crdt_map_update(&m, &a, 7, "owner", 5, CRDT_MAP, &inner), SH_OK);
	/* The same name with another type is another field. */
	assert_int_equal(map_set(&m, &a, "sku-1", CRDT_OP_SET_ADD, "gift"),
	                 SH_OK);
	assert_int_equal(crdt_map_count(&m.store), 4);
	assert_int_equal(crdt_counter_value(field(&m, "sku-2", CRDT_COUNTER)),
	                 7);
	assert_int_equal(crdt_counter_value(field(&m, "sku-1", CRDT_COUNTER)),
	                 1);
	assert_true(has(field(&m, "sku-1", CRDT_SET), "gift"));
	const crdt_store_t *owner = field(&m, "owner", CRDT_MAP);
	assert_non_null(owner);
	const crdt_store_t *nm = crdt_map_get(owner, "name", 4, CRDT_REGISTER);
	assert_string_equal(reg_str(nm, buf, sizeof buf), "Ann");
	crdt_field_view_t f;
	crdt_map_field(&m.store, 0, &f);
	assert_memory_equal(f.name, "owner", 5);
	crdt_map_field(&m.store, 1, &f);
	assert_memory_equal(f.name, "sku-1", 5);
	assert_int_equal(f.type, CRDT_COUNTER); /* (name, type) order */
	crdt_map_field(&m.store, 2, &f);
	assert_int_equal(f.type, CRDT_SET);
	crdt_free(&m);
}

static void test_crdt_map_remove_vs_concurrent_update(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1);
	crdt_t x = object(CRDT_MAP);
	assert_int_equal(map_set(&x, &a, "tags", CRDT_OP_SET_ADD, "old"),
	                 SH_OK);
	crdt_t y = clone(&x);
	assert_int_equal(crdt_map_remove(&x, &a, "tags", 4, CRDT_SET), SH_OK);
	assert_null(field(&x, "tags", CRDT_SET));
	assert_int_equal(map_set(&y, &b, "tags", CRDT_OP_SET_ADD, "new"),
	                 SH_OK);
	crdt_t xy = clone(&x), yx = clone(&y);
	merge(&xy, &y);
	merge(&yx, &x);
	assert_true(same(&xy, &yx));
	const crdt_store_t *tags = field(&xy, "tags", CRDT_SET);
	assert_non_null(tags); /* the concurrent update survives... */
	assert_true(has(tags, "new"));
	assert_false(has(tags, "old")); /* ...with only unseen dots */
	/* Without a concurrent update, the remove wins everywhere. */
	assert_int_equal(crdt_map_remove(&xy, &a, "tags", 4, CRDT_SET), SH_OK);
	merge(&yx, &xy);
	assert_int_equal(crdt_map_count(&yx.store), 0);
	crdt_free(&x);
	crdt_free(&y);
	crdt_free(&xy);
	crdt_free(&yx);
}

/*
 * The semantics chosen for a counter in a map (crdt.h): an actor that
 * increments concurrently with a field remove keeps its whole running sum;
 * other actors' counts the remover saw are gone.
 */
static void test_crdt_map_counter_survives_remove_with_running_sum(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1), b = actor("b", 1), c = actor("c", 1);
	crdt_t x = object(CRDT_MAP), y = object(CRDT_MAP);
	assert_int_equal(map_inc(&x, &a, "sku", 3), SH_OK);
	assert_int_equal(map_inc(&y, &c, "sku", 10), SH_OK);
	merge(&x, &y);
	merge(&y, &x); /* both saw a:3 and c:10 */
	assert_int_equal(crdt_counter_value(field(&y, "sku", CRDT_COUNTER)),
	                 13);
	assert_int_equal(crdt_map_remove(&y, &b, "sku", 3, CRDT_COUNTER),
	                 SH_OK);
	assert_int_equal(map_inc(&x, &a, "sku", 2), SH_OK); /* concurrent */
	merge(&x, &y);
	merge(&y, &x);
	assert_true(same(&x, &y));
	/* a's whole sum 3 + 2 comes back; c's 10, seen by the remover, not. */
	assert_int_equal(crdt_counter_value(field(&x, "sku", CRDT_COUNTER)), 5);
	/* Once a saw the remove, its next increment starts from zero. */
	assert_int_equal(crdt_map_remove(&x, &a, "sku", 3, CRDT_COUNTER),
	                 SH_OK);
	assert_int_equal(map_inc(&x, &a, "sku", 1), SH_OK);
	merge(&y, &x);
	assert_int_equal(crdt_counter_value(field(&y, "sku", CRDT_COUNTER)), 1);
	crdt_free(&x);
	crdt_free(&y);
}

static void test_crdt_map_nested_remove_drops_empty_field(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1);
	crdt_t m = object(CRDT_MAP);
	assert_int_equal(map_set(&m, &a, "s", CRDT_OP_SET_ADD, "x"), SH_OK);
	assert_int_equal(map_set(&m, &a, "s", CRDT_OP_SET_REMOVE, "y"),
	                 SH_ENOTFOUND);
	assert_int_equal(map_set(&m, &a, "t", CRDT_OP_SET_REMOVE, "x"),
	                 SH_ENOTFOUND);
	assert_null(field(&m, "t", CRDT_SET)); /* not created by a failure */
	assert_int_equal(map_set(&m, &a, "s", CRDT_OP_SET_REMOVE, "x"), SH_OK);
	assert_int_equal(crdt_map_count(&m.store), 0);
	assert_int_equal(crdt_map_remove(&m, &a, "s", 1, CRDT_SET),
	                 SH_ENOTFOUND);
	assert_true(crdt_check(&m));
	crdt_free(&m);
}

static void test_crdt_map_depth_is_bounded(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1);
	crdt_op_t ops[CRDT_DEPTH_MAX + 2];
	/* depth maps: ops[k] updates the map at level k + 1; the last is a
	 * counter. */
	for (int depth = CRDT_DEPTH_MAX; depth <= CRDT_DEPTH_MAX + 1; depth++) {
		crdt_t m = object(CRDT_MAP);
		ops[depth] = op_inc(1);
		for (int k = depth - 1; k >= 0; k--) {
			crdt_op_t *o = &ops[k];
			o->kind = CRDT_OP_MAP_UPDATE;
			o->u.field.name = "f";
			o->u.field.name_len = 1;
			o->u.field.type =
			    k == depth - 1 ? CRDT_COUNTER : CRDT_MAP;
			o->u.field.op = &ops[k + 1];
		}
		int rc = crdt_apply(&m, &a, 0, &ops[0]);
		assert_int_equal(rc,
		                 depth <= CRDT_DEPTH_MAX ? SH_OK : SH_EDEPTH);
		assert_int_equal(crdt_map_count(&m.store), rc == SH_OK);
		sh_buf_t b = encode(&m);
		crdt_t d = object(CRDT_COUNTER);
		assert_int_equal(crdt_decode(&d, b.data, b.len), SH_OK);
		assert_true(same(&d, &m));
		sh_buf_free(&b);
		crdt_free(&d);
		crdt_free(&m);
	}
}

static void test_crdt_type_mismatch_and_limits(void **state)
{
	(void)state;
	crdt_actor_t a = actor("a", 1);
	crdt_t s = object(CRDT_SET), c = object(CRDT_COUNTER);
	crdt_t m = object(CRDT_MAP);
	crdt_op_t inc = op_inc(1);
	assert_int_equal(crdt_apply(&s, &a, 0, &inc), SH_ETYPE);
	assert_int_equal(crdt_merge(&s, &c), SH_ETYPE);
	assert_int_equal(crdt_map_update(&m, &a, 0, "f", 1, CRDT_SET, &inc),
	                 SH_ETYPE);
	assert_int_equal(crdt_map_update(&m, &a, 0, "f", 1, CRDT_SET, NULL),
	                 SH_EINVAL);
	assert_int_equal(crdt_init(&c, (crdt_type_t)9), SH_EINVAL);
	static uint8_t big[CRDT_VALUE_MAX + 1];
	assert_int_equal(crdt_set_add(&s, &a, big, CRDT_ELEMENT_MAX + 1),
	                 SH_ETOOBIG);
	assert_int_equal(crdt_set_add(&s, &a, big, CRDT_ELEMENT_MAX), SH_OK);
	assert_int_equal(crdt_map_update(&m, &a, 0, big,
	                                 CRDT_FIELD_NAME_MAX + 1, CRDT_COUNTER,
	                                 &inc),
	                 SH_ETOOBIG);
	crdt_t r = object(CRDT_REGISTER);
	assert_int_equal(crdt_register_assign(&r, &a, 1, big, sizeof big),
	                 SH_ETOOBIG);
	assert_int_equal(crdt_register_assign(&r, &a, 1, big, CRDT_VALUE_MAX),
	                 SH_OK);
	assert_int_equal(crdt_map_count(&m.store), 0);
	assert_int_equal(crdt_set_count(&s.store), 1);
	crdt_free(&s);
	crdt_free(&c);
	crdt_free(&m);
	crdt_free(&r);
}

/* ---- decoding hand-made input ---- */

/* Writes a header, a context with a:1..a_max (actor index 0) and leaves w open.
 */
static void craft(sh_buf_t *b, sh_mp_writer_t *w, uint8_t tag, uint8_t ver,
                  uint64_t a_max)
{
	crdt_ctx_t ctx;
	crdt_ctx_init(&ctx);
	crdt_actor_t a = actor("a", 1);
	for (uint64_t k = 1; k <= a_max; k++) {
		crdt_dot_t d = {.actor = a, .counter = k};
		assert_int_equal(crdt_ctx_add(&ctx, &d), SH_OK);
	}
	crdt_dot_t b1 = {.actor = actor("b", 1), .counter = 1};
	assert_int_equal(crdt_ctx_add(&ctx, &b1), SH_OK);
	sh_buf_init(b);
	sh_buf_append_u8(b, tag);
	sh_buf_append_u8(b, ver);
	sh_mp_writer_init(w, b);
	crdt_ctx_encode(&ctx, w);
	crdt_ctx_free(&ctx);
}

static void put_dot(sh_mp_writer_t *w, uint64_t idx, uint64_t counter)
{
	sh_mp_put_array(w, 2);
	sh_mp_put_u64(w, idx);
	sh_mp_put_u64(w, counter);
}

/* Decodes b into an object holding a counter; checks rc and no change. */
static void expect_decode(sh_buf_t *b, int want)
{
	crdt_actor_t a = actor("z", 3);
	crdt_t c = object(CRDT_COUNTER);
	assert_int_equal(crdt_counter_increment(&c, &a, 42), SH_OK);
	int rc = crdt_decode(&c, b->data, b->len);
	assert_int_equal(rc, want);
	if (rc != SH_OK)
		assert_int_equal(counter(&c), 42); /* unchanged on error */
	else
		assert_true(crdt_check(&c));
	crdt_free(&c);
	sh_buf_free(b);
}

/* A set store [[element, [(0, counter)]], ...] of n elements. */
static void put_set(sh_mp_writer_t *w, const char **e, const uint64_t *ctr,
                    size_t n)
{
	sh_mp_put_array(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		sh_mp_put_array(w, 2);
		sh_mp_put_bin(w, e[i], strlen(e[i]));
		sh_mp_put_array(w, 1);
		put_dot(w, 0, ctr[i]);
	}
}

static void test_crdt_decode_rejects_malformed(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_mp_writer_t w;
	static const uint8_t tiny[] = {CRDT_SET};
	crdt_t c = object(CRDT_SET);
	assert_int_equal(crdt_decode(&c, tiny, 0), SH_ETRUNC);
	assert_int_equal(crdt_decode(&c, tiny, 1), SH_ETRUNC);
	crdt_free(&c);

	craft(&b, &w, CRDT_SET, 1, 2); /* valid */
	put_set(&w, (const char *[]){"a", "b"}, (uint64_t[]){1, 2}, 2);
	expect_decode(&b, SH_OK);
	craft(&b, &w, CRDT_SET, 2, 2); /* version */
	put_set(&w, (const char *[]){"a", "b"}, (uint64_t[]){1, 2}, 2);
	expect_decode(&b, SH_EVERSION);
	craft(&b, &w, 5, 1, 2); /* type tag */
	put_set(&w, (const char *[]){"a", "b"}, (uint64_t[]){1, 2}, 2);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* trailing byte */
	put_set(&w, (const char *[]){"a", "b"}, (uint64_t[]){1, 2}, 2);
	sh_mp_put_nil(&w);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* unsorted elements */
	put_set(&w, (const char *[]){"b", "a"}, (uint64_t[]){1, 2}, 2);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* duplicate element */
	put_set(&w, (const char *[]){"a", "a"}, (uint64_t[]){1, 2}, 2);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* dot not in the context */
	put_set(&w, (const char *[]){"a", "b"}, (uint64_t[]){1, 3}, 2);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* element without dots */
	sh_mp_put_array(&w, 1);
	sh_mp_put_array(&w, 2);
	sh_mp_put_bin(&w, "a", 1);
	sh_mp_put_array(&w, 0);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_SET, 1, 2); /* actor index out of the table */
	sh_mp_put_array(&w, 1);
	sh_mp_put_array(&w, 2);
	sh_mp_put_bin(&w, "a", 1);
	sh_mp_put_array(&w, 1);
	put_dot(&w, 2, 1);
	expect_decode(&b, SH_EMALFORMED);
	static char long_elem[CRDT_ELEMENT_MAX + 2];
	memset(long_elem, 'x', CRDT_ELEMENT_MAX + 1);
	craft(&b, &w, CRDT_SET, 1, 2); /* element too long */
	put_set(&w, (const char *[]){long_elem}, (uint64_t[]){1}, 1);
	expect_decode(&b, SH_ETOOBIG);
}

static void test_crdt_decode_rejects_bad_counter_and_register(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_mp_writer_t w;
	for (uint32_t n = 2; n <= 3; n++) {
		craft(&b, &w, CRDT_COUNTER, 1, 3); /* two dots of actor a */
		sh_mp_put_array(&w, n);
		for (uint64_t k = 1; k <= n; k++) {
			sh_mp_put_array(&w, 2);
			put_dot(&w, k == 3 ? 1 : 0, k);
			sh_mp_put_i64(&w, 5);
		}
		/* 3 entries for 2 actors cannot even be one per actor. */
		expect_decode(&b, n == 3 ? SH_ETOOBIG : SH_EMALFORMED);
	}
	craft(&b, &w, CRDT_REGISTER, 1, 3); /* register entries out of order */
	sh_mp_put_array(&w, 2);
	for (uint64_t k = 3; k >= 2; k--) {
		sh_mp_put_array(&w, 3);
		put_dot(&w, 0, k);
		sh_mp_put_u64(&w, 10);
		sh_mp_put_bin(&w, "v", 1);
	}
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_REGISTER, 1, 3); /* a string is not a bin */
	sh_mp_put_array(&w, 1);
	sh_mp_put_array(&w, 3);
	put_dot(&w, 0, 1);
	sh_mp_put_u64(&w, 10);
	sh_mp_put_str(&w, "v", 1);
	expect_decode(&b, SH_EMALFORMED);
}

/* Starts a map store of one field (name "f", type) and leaves w open. */
static void put_field_head(sh_mp_writer_t *w, uint64_t type)
{
	sh_mp_put_array(w, 1);
	sh_mp_put_array(w, 3);
	sh_mp_put_bin(w, "f", 1);
	sh_mp_put_u64(w, type);
}

static void test_crdt_decode_rejects_bad_map(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_mp_writer_t w;
	craft(&b, &w, CRDT_MAP, 1, 3); /* valid */
	put_field_head(&w, CRDT_SET);
	put_set(&w, (const char *[]){"x"}, (uint64_t[]){2}, 1);
	expect_decode(&b, SH_OK);
	craft(&b, &w, CRDT_MAP, 1, 3); /* empty nested store */
	put_field_head(&w, CRDT_SET);
	sh_mp_put_array(&w, 0);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_MAP, 1, 3); /* unknown field type */
	put_field_head(&w, 7);
	sh_mp_put_array(&w, 0);
	expect_decode(&b, SH_EMALFORMED);
	craft(&b, &w, CRDT_MAP, 1, 3); /* maps nested too deep */
	for (int level = 1; level <= CRDT_DEPTH_MAX; level++)
		put_field_head(&w, CRDT_MAP);
	sh_mp_put_array(&w, 0);
	expect_decode(&b, SH_EDEPTH);
	craft(&b, &w, CRDT_MAP, 1, 3); /* a field name too long */
	static char name[CRDT_FIELD_NAME_MAX + 1];
	memset(name, 'n', sizeof name);
	sh_mp_put_array(&w, 1);
	sh_mp_put_array(&w, 3);
	sh_mp_put_bin(&w, name, sizeof name);
	expect_decode(&b, SH_ETOOBIG);
}

/* ---- random executions for the property tests ---- */

#define W_REPS 3
#define W_POOL 6

static const char *const ELEMS[] = {"", "a", "ab", "b", "c", "zz"};
static const char *const NAMES[] = {"", "f", "g", "sku-1"};
static const char *const VALUES[] = {"", "v1", "v2", "value-3"};

#define PICK(r, arr) (arr[sh_rand_below(r, sizeof arr / sizeof arr[0])])

/* A few replicas of one object, running random operations and merges. */
typedef struct world {
	sh_rand_t *rng;
	crdt_type_t type;
	int level_max;               /* deepest map level ops create */
	crdt_actor_t act[W_REPS][2]; /* [1] starts with a gap: a cloud */
	uint64_t clock_ms[W_REPS];
	crdt_t rep[W_REPS];
	crdt_t pool[W_POOL]; /* snapshots of earlier states */
	size_t pool_len;
} world_t;

/* Fills ops[0] (and, for a map update, ops[1..]) with a random op. */
static void gen_op(sh_rand_t *r, crdt_type_t type, int level, int level_max,
                   crdt_op_t *ops)
{
	crdt_op_t *o = &ops[0];
	const char *s;
	switch (type) {
	case CRDT_COUNTER:
		*o = op_inc((int64_t)sh_rand_below(r, 9) - 3);
		return;
	case CRDT_SET:
		*o = op_set(sh_rand_chance(r, 0.6) ? CRDT_OP_SET_ADD
		                                   : CRDT_OP_SET_REMOVE,
		            PICK(r, ELEMS));
		return;
	case CRDT_REGISTER:
		s = PICK(r, VALUES);
		o->kind = CRDT_OP_REGISTER_ASSIGN;
		o->u.value.bytes = s;
		o->u.value.len = strlen(s);
		return;
	case CRDT_MAP: break;
	}
	size_t ni = sh_rand_below(r, sizeof NAMES / sizeof NAMES[0]);
	crdt_type_t ft = (crdt_type_t)((ni + sh_rand_below(r, 2)) % 4 + 1);
	if (ft == CRDT_MAP && level + 1 > level_max)
		ft = CRDT_COUNTER;
	o->u.field.name = NAMES[ni];
	o->u.field.name_len = strlen(NAMES[ni]);
	o->u.field.type = ft;
	o->u.field.op = NULL;
	if (sh_rand_chance(r, 0.25)) {
		o->kind = CRDT_OP_MAP_REMOVE;
		return;
	}
	o->kind = CRDT_OP_MAP_UPDATE;
	gen_op(r, ft, level + 1, level_max, ops + 1);
	o->u.field.op = &ops[1];
}

static void world_init(world_t *w, sh_rand_t *rng, crdt_type_t type)
{
	memset(w, 0, sizeof *w);
	w->rng = rng;
	w->type = type;
	w->level_max = sh_rand_chance(rng, 0.1)
	                   ? CRDT_DEPTH_MAX
	                   : 1 + (int)sh_rand_below(rng, 3);
	for (int i = 0; i < W_REPS; i++) {
		char name[8];
		snprintf(name, sizeof name, "r%d", i);
		w->act[i][0] = actor(name, sh_rand_u64(rng));
		snprintf(name, sizeof name, "g%d", i);
		w->act[i][1] = actor(name, sh_rand_below(rng, 3));
		w->rep[i] = object(type);
		w->clock_ms[i] = sh_rand_below(rng, 5);
		/* g's first dot is not 1: its dots all live in the cloud. */
		crdt_dot_t gap = {.actor = w->act[i][1],
		                  .counter = 2 + sh_rand_below(rng, 4)};
		assert_int_equal(crdt_ctx_add(&w->rep[i].ctx, &gap), SH_OK);
	}
}

static void world_free(world_t *w)
{
	for (int i = 0; i < W_REPS; i++)
		crdt_free(&w->rep[i]);
	for (size_t i = 0; i < w->pool_len; i++)
		crdt_free(&w->pool[i]);
}

static void world_step(world_t *w)
{
	sh_rand_t *r = w->rng;
	int i = (int)sh_rand_below(r, W_REPS);
	uint64_t p = sh_rand_below(r, 100);
	if (p < 55) {
		crdt_op_t ops[CRDT_DEPTH_MAX + 2];
		gen_op(r, w->type, 1, w->level_max, ops);
		w->clock_ms[i] += sh_rand_below(r, 3);
		const crdt_actor_t *a = &w->act[i][sh_rand_chance(r, 0.3)];
		int rc = crdt_apply(&w->rep[i], a, w->clock_ms[i], ops);
		assert_true(rc == SH_OK || rc == SH_ENOTFOUND);
		assert_true(crdt_check(&w->rep[i]));
	} else if (p < 90) {
		int j = (i + 1 + (int)sh_rand_below(r, W_REPS - 1)) % W_REPS;
		merge(&w->rep[i], &w->rep[j]);
	} else {
		size_t at = w->pool_len < W_POOL ? w->pool_len++
		                                 : sh_rand_below(r, W_POOL);
		if (at < w->pool_len - 1 || w->pool_len == W_POOL)
			crdt_free(&w->pool[at]);
		w->pool[at] = clone(&w->rep[i]);
	}
}

/* A random state of the world: a replica or a snapshot. */
static const crdt_t *world_pick(world_t *w)
{
	size_t k = sh_rand_below(w->rng, W_REPS + w->pool_len);
	return k < W_REPS ? &w->rep[k] : &w->pool[k - W_REPS];
}

/* Runs a fresh world for a random number of steps. */
static void world_run(world_t *w, sh_rand_t *rng, crdt_type_t type)
{
	world_init(w, rng, type);
	int steps = 3 + (int)sh_rand_below(rng, 60);
	for (int s = 0; s < steps; s++)
		world_step(w);
}

static crdt_t joined(const crdt_t *a, const crdt_t *b)
{
	crdt_t c = clone(a);
	merge(&c, b);
	return c;
}

/* The random source of one property test: the seed and the test's name. */
static void rng_for(sh_rand_t *r, const char *test, crdt_type_t type)
{
	uint64_t h = g_seed ^ ((uint64_t)type << 56);
	for (const char *p = test; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	sh_rand_seed(r, h);
}

#define LAW_CASES   2000
#define CODEC_CASES 1500

/* Commutative, associative, idempotent; the join is an upper bound. */
static void check_laws(crdt_type_t type)
{
	sh_rand_t rng;
	rng_for(&rng, "laws", type);
	for (int n = 0; n < LAW_CASES; n++) {
		world_t w;
		world_run(&w, &rng, type);
		const crdt_t *a = world_pick(&w), *b = world_pick(&w),
		             *c = world_pick(&w);
		crdt_t ab = joined(a, b), ba = joined(b, a);
		assert_true(same(&ab, &ba));
		crdt_t ab_c = joined(&ab, c), bc = joined(b, c);
		crdt_t a_bc = joined(a, &bc);
		assert_true(same(&ab_c, &a_bc));
		crdt_t aa = joined(a, a), abb = joined(&ab, b);
		assert_true(same(&aa, a));
		assert_true(same(&abb, &ab));
		assert_true(crdt_ctx_leq(&a->ctx, &ab.ctx));
		crdt_t *all[] = {&ab, &ba, &ab_c, &bc, &a_bc, &aa, &abb};
		for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
			crdt_free(all[k]);
		world_free(&w);
	}
}

/* Decoding x's encoding gives x back, byte for byte. */
static void check_round_trip(const crdt_t *x, const sh_buf_t *b)
{
	crdt_t d = object(CRDT_SET);
	assert_int_equal(crdt_decode(&d, b->data, b->len), SH_OK);
	assert_true(same(&d, x));
	crdt_free(&d);
}

/* Every proper prefix is rejected, and leaves the target unchanged. */
static void check_truncations(const sh_buf_t *b)
{
	crdt_t d = object(CRDT_COUNTER);
	for (size_t len = 0; len < b->len; len++) {
		int rc = crdt_decode(&d, b->data, len);
		assert_int_not_equal(rc, SH_OK);
	}
	assert_int_equal(crdt_type(&d), CRDT_COUNTER);
	assert_int_equal(d.store.len, 0);
	crdt_free(&d);
}

/* Random damage: an error, or an object that keeps every invariant. */
static void check_corruption(sh_rand_t *r, const sh_buf_t *b)
{
	sh_buf_t m;
	sh_buf_init(&m);
	for (int k = 0; k < 24; k++) {
		sh_buf_reset(&m);
		assert_int_equal(sh_buf_append(&m, b->data, b->len), SH_OK);
		int flips = 1 + (int)sh_rand_below(r, 3);
		for (int f = 0; f < flips; f++) {
			size_t at = sh_rand_below(r, m.len);
			if (sh_rand_chance(r, 0.5))
				m.data[at] ^=
				    (uint8_t)(1u << sh_rand_below(r, 8));
			else
				m.data[at] = (uint8_t)sh_rand_u64(r);
		}
		if (sh_rand_chance(r, 0.2) && m.len > 2)
			m.len -= 1 + sh_rand_below(r, m.len - 2);
		crdt_t d = object(CRDT_MAP);
		if (crdt_decode(&d, m.data, m.len) == SH_OK) {
			assert_true(crdt_check(&d));
			sh_buf_t again = encode(&d);
			check_round_trip(&d, &again);
			sh_buf_free(&again);
		}
		crdt_free(&d);
	}
	sh_buf_free(&m);
}

static void check_codec(crdt_type_t type)
{
	sh_rand_t rng;
	rng_for(&rng, "codec", type);
	for (int n = 0; n < CODEC_CASES; n++) {
		world_t w;
		world_run(&w, &rng, type);
		crdt_t x = joined(world_pick(&w), world_pick(&w));
		sh_buf_t b = encode(&x);
		assert_int_equal(b.data[0], type);
		assert_int_equal(b.data[1], CRDT_ENCODING_VERSION);
		check_round_trip(&x, &b);
		check_truncations(&b);
		check_corruption(&rng, &b);
		sh_buf_free(&b);
		crdt_free(&x);
		world_free(&w);
	}
}

static void test_crdt_counter_merge_laws(void **state)
{
	(void)state;
	check_laws(CRDT_COUNTER);
}

static void test_crdt_set_merge_laws(void **state)
{
	(void)state;
	check_laws(CRDT_SET);
}

static void test_crdt_register_merge_laws(void **state)
{
	(void)state;
	check_laws(CRDT_REGISTER);
}

static void test_crdt_map_merge_laws(void **state)
{
	(void)state;
	check_laws(CRDT_MAP);
}

static void test_crdt_counter_codec_properties(void **state)
{
	(void)state;
	check_codec(CRDT_COUNTER);
}

static void test_crdt_set_codec_properties(void **state)
{
	(void)state;
	check_codec(CRDT_SET);
}

static void test_crdt_register_codec_properties(void **state)
{
	(void)state;
	check_codec(CRDT_REGISTER);
}

static void test_crdt_map_codec_properties(void **state)
{
	(void)state;
	check_codec(CRDT_MAP);
}

/* Random bytes behind a valid header: never a crash. */
static void test_crdt_decode_survives_random_bytes(void **state)
{
	(void)state;
	sh_rand_t rng;
	rng_for(&rng, "random-bytes", 0);
	uint8_t buf[64];
	for (int n = 0; n < 20000; n++) {
		size_t len = 2 + sh_rand_below(&rng, sizeof buf - 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)sh_rand_u64(&rng);
		buf[0] = (uint8_t)(1 + sh_rand_below(&rng, 4));
		buf[1] = CRDT_ENCODING_VERSION;
		crdt_t d = object(CRDT_SET);
		if (crdt_decode(&d, buf, len) == SH_OK)
			assert_true(crdt_check(&d));
		crdt_free(&d);
	}
}

int main(void)
{
	const char *env = getenv("SHOAL_TEST_SEED");
	if (env != NULL && *env != 0)
		g_seed = strtoull(env, NULL, 0);
	printf("test_crdt: seed=%llu (set SHOAL_TEST_SEED to replay)\n",
	       (unsigned long long)g_seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crdt_counter_increments_and_decrements),
	    cmocka_unit_test(test_crdt_counter_rejects_overflow),
	    cmocka_unit_test(test_crdt_set_elements_sorted_by_bytes),
	    cmocka_unit_test(test_crdt_set_add_wins_over_concurrent_remove),
	    cmocka_unit_test(test_crdt_set_remove_of_unobserved_is_notfound),
	    cmocka_unit_test(test_crdt_set_readd_replaces_observed_dots),
	    cmocka_unit_test(test_crdt_register_last_writer_wins),
	    cmocka_unit_test(test_crdt_register_tie_broken_by_actor),
	    cmocka_unit_test(test_crdt_register_timestamp_never_goes_back),
	    cmocka_unit_test(test_crdt_register_clock_skew_decides_concurrent),
	    cmocka_unit_test(test_crdt_map_update_creates_and_nests),
	    cmocka_unit_test(test_crdt_map_remove_vs_concurrent_update),
	    cmocka_unit_test(
	        test_crdt_map_counter_survives_remove_with_running_sum),
	    cmocka_unit_test(test_crdt_map_nested_remove_drops_empty_field),
	    cmocka_unit_test(test_crdt_map_depth_is_bounded),
	    cmocka_unit_test(test_crdt_type_mismatch_and_limits),
	    cmocka_unit_test(test_crdt_decode_rejects_malformed),
	    cmocka_unit_test(test_crdt_decode_rejects_bad_counter_and_register),
	    cmocka_unit_test(test_crdt_decode_rejects_bad_map),
	    cmocka_unit_test(test_crdt_decode_survives_random_bytes),
	    cmocka_unit_test(test_crdt_counter_merge_laws),
	    cmocka_unit_test(test_crdt_set_merge_laws),
	    cmocka_unit_test(test_crdt_register_merge_laws),
	    cmocka_unit_test(test_crdt_map_merge_laws),
	    cmocka_unit_test(test_crdt_counter_codec_properties),
	    cmocka_unit_test(test_crdt_set_codec_properties),
	    cmocka_unit_test(test_crdt_register_codec_properties),
	    cmocka_unit_test(test_crdt_map_codec_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
