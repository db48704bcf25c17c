/*
 * bench_workload.c - operation mixes. The YCSB proportions are those of
 * YCSB's workloads/workload{a,b,c,d,f}; the cart mix is 40% add an item,
 * 20% change a quantity, 10% remove an item, 30% read the cart; session is
 * 10% write a new session, 90% read a recent one.
 */
#include "bench/bench_workload.h"

#include <strings.h>

#include "common/sh_err.h"

static const char *const wl_names[] = {"A", "B",    "C",      "D",
                                       "F", "cart", "session"};
static const char *const op_names[] = {"read",        "update",   "insert",
                                       "rmw",         "cart_add", "cart_qty",
                                       "cart_remove", "cart_read"};

int bench_workload_parse(const char *name, bench_wl_kind_t *out)
{
	for (unsigned i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++) {
		if (strcasecmp(name, wl_names[i]) == 0) {
			*out = (bench_wl_kind_t)i;
			return SH_OK;
		}
	}
	return SH_EINVAL;
}

const char *bench_workload_name(bench_wl_kind_t kind)
{
	return wl_names[kind];
}

const char *bench_op_name(bench_op_kind_t kind)
{
	return kind < BENCH_OP_KINDS ? op_names[kind] : "?";
}

void bench_workload_init(bench_workload_t *w, bench_wl_kind_t kind,
                         bench_dist_t dist, uint64_t keys, uint32_t value_min,
                         uint32_t value_max)
{
	w->kind = kind;
	if (kind == BENCH_WL_D || kind == BENCH_WL_SESSION)
		dist = BENCH_DIST_LATEST;
	if (kind == BENCH_WL_CART)
		dist = BENCH_DIST_ZIPFIAN;
	bench_keys_init(&w->keys, dist, keys);
	w->value_min = value_min;
	w->value_max = value_max < value_min ? value_min : value_max;
	w->cart_items = 20;
}

static uint32_t value_size(const bench_workload_t *w, sh_rand_t *r)
{
	return w->value_min +
	       (uint32_t)sh_rand_below(r, w->value_max - w->value_min + 1);
}

static void cart_next(bench_workload_t *w, sh_rand_t *r, bench_op_t *op)
{
	uint64_t d = sh_rand_below(r, 100);
	op->bucket = "carts";
	op->key = bench_keys_next(&w->keys, r);
	op->item = (uint32_t)sh_rand_below(r, w->cart_items);
	op->delta = 1;
	if (d < 40) {
		op->kind = BENCH_OP_CART_ADD;
	} else if (d < 60) {
		op->kind = BENCH_OP_CART_QTY;
		op->delta = sh_rand_chance(r, 0.5) ? 2 : -1;
	} else if (d < 70) {
		op->kind = BENCH_OP_CART_REMOVE;
	} else {
		op->kind = BENCH_OP_CART_READ;
	}
}

void bench_workload_next(bench_workload_t *w, sh_rand_t *r, bench_op_t *op)
{
	static const unsigned read_pct[] = {50, 95, 100, 95, 50, 0, 90};
	op->bucket = w->kind == BENCH_WL_SESSION ? "sessions" : "bench";
	op->item = 0;
	op->delta = 0;
	op->value_bytes = value_size(w, r);
	if (w->kind == BENCH_WL_CART) {
		cart_next(w, r, op);
		return;
	}
	int read = sh_rand_below(r, 100) < read_pct[w->kind];
	if (read) {
		op->kind = BENCH_OP_READ;
		op->key = bench_keys_next(&w->keys, r);
	} else if (w->kind == BENCH_WL_D || w->kind == BENCH_WL_SESSION) {
		op->kind = BENCH_OP_INSERT;
		op->key = bench_keys_insert(&w->keys);
	} else if (w->kind == BENCH_WL_F) {
		op->kind = BENCH_OP_RMW;
		op->key = bench_keys_next(&w->keys, r);
	} else {
		op->kind = BENCH_OP_UPDATE;
		op->key = bench_keys_next(&w->keys, r);
	}
}

void bench_workload_preload(bench_workload_t *w, sh_rand_t *r, uint64_t i,
                            bench_op_t *op)
{
	op->key = i;
	op->value_bytes = value_size(w, r);
	op->item = 0;
	op->delta = 1;
	if (w->kind == BENCH_WL_CART) {
		op->kind = BENCH_OP_CART_ADD;
		op->bucket = "carts";
		return;
	}
	op->kind = BENCH_OP_UPDATE;
	op->bucket = w->kind == BENCH_WL_SESSION ? "sessions" : "bench";
}
