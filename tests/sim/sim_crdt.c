/*
 * sim_crdt.c - `shoal-sim crdt`: convergence of the convergent types
 * (crdt/crdt.h) under a lossy, duplicating, reordering network.
 *
 *   shoal-sim crdt --replicas R --ops K --seed S --loss L
 *
 * R replicas (actors "r1".."rR", epochs drawn from the seed) each hold one
 * object of every type: a counter, a set, a register, and a cart (a map of
 * sku -> counter, plus a set, a register and a nested map). K random
 * operations hit random replicas while virtual time advances; register
 * assigns read per-replica clocks with a fixed skew and jitter. Between
 * operations replicas gossip the full state of a random object to a random
 * peer over sim_net (datagrams: lost with probability L, duplicated,
 * delayed and reordered). After the K operations a quiet period of bounded
 * gossip rounds, still lossy, lets the replicas converge. Then:
 *   - every replica's encoding of each object is byte-identical and its
 *     rendered value the same;
 *   - the counter equals the sum of every acknowledged increment, and so
 *     does each cart line that no one ever removed;
 *   - a set element added and never removed is present, one never added
 *     is absent;
 *   - each register holds the assign with the greatest (timestamp, actor),
 *     the one no later assign can have seen.
 * The last line is `crdt replicas=R ops=K seed=S converged=yes|no`; the exit
 * status is 1 on no. Everything random comes from the seed, so a seed
 * replays byte for byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "common/sh_rand.h"
#include "crdt/crdt.h"
#include "tests/sim/sim_args.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_net.h"

#define REPLICAS_MAX      64
#define OPS_MAX           100000000ULL
#define UNIVERSE          32      /* set elements and cart skus */
#define SKU_PINNED        28      /* skus from here on are never removed */
#define GOSSIP_CHANCE     0.5     /* per operation */
#define QUIET_ROUNDS_MAX  400     /* gossip rounds after the operations */
#define QUIET_ROUND_MS    50      /* virtual time per quiet round */
#define QUIET_CHECK_EVERY 10      /* rounds between convergence checks */
#define CLOCK_SKEW_MS     300     /* clocks are off by up to this, either way */
#define TIME_START_MS     1000000 /* so that skewed clocks stay positive */

enum { OBJ_COUNTER, OBJ_SET, OBJ_REGISTER, OBJ_CART, OBJ_COUNT };

static const crdt_type_t obj_type[OBJ_COUNT] = {CRDT_COUNTER, CRDT_SET,
                                                CRDT_REGISTER, CRDT_MAP};
static const char *const obj_name[OBJ_COUNT] = {"counter", "set", "register",
                                                "cart"};

/* The assign every register must end with: greatest (timestamp, actor). */
typedef struct lww_best {
	int set;
	crdt_register_view_t view; /* view.value is not kept: see value */
	char value[32];
} lww_best_t;

typedef struct sim {
	uint32_t replicas;
	uint64_t ops, seed;
	double loss;
	sh_rand_t rng;
	sim_net_t net;
	uint64_t now_ms; /* virtual time */
	crdt_actor_t actor[REPLICAS_MAX];
	int64_t skew_ms[REPLICAS_MAX];
	crdt_t obj[REPLICAS_MAX][OBJ_COUNT];
	crdt_t scratch; /* decode target for received states */
	sh_buf_t buf;
	/* What the replicas acknowledged, to check the final values. */
	int64_t counter_sum;
	int64_t sku_sum[UNIVERSE];
	uint8_t sku_removed[UNIVERSE];
	uint8_t elem_added[UNIVERSE], elem_removed[UNIVERSE];
	lww_best_t reg_best, note_best;
	uint64_t applied, refused, gossip_sent, merges, bad_msgs;
	int failed;
} sim_t;

static const sim_t *g_sim; /* for the assert hook */

static void assert_hook(const char *expr, const char *file, int line)
{
	(void)expr;
	(void)file;
	(void)line;
	if (g_sim != NULL)
		fprintf(stderr,
		        "replay: shoal-sim crdt --replicas %" PRIu32
		        " --ops %" PRIu64 " --seed %" PRIu64 " --loss %g\n",
		        g_sim->replicas, g_sim->ops, g_sim->seed, g_sim->loss);
}

/* ---- command line ---- */

/* 0, SH_EINVAL on a usage error, 1 when help was asked for. */
static int parse_args(sim_t *s, int argc, char **argv)
{
	uint64_t r = 5, ops = 1000, seed = 1;
	double loss = 0.0;
	int i = 1;
	if (i < argc && strcmp(argv[i], "crdt") == 0)
		i++; /* called with the whole command line */
	for (; i < argc; i += 2) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = SH_EINVAL;
		if (strcmp(argv[i], "--replicas") == 0)
			rc = sim_arg_u64(v, 0, REPLICAS_MAX, &r);
		else if (strcmp(argv[i], "--ops") == 0)
			rc = sim_arg_u64(v, 0, OPS_MAX, &ops);
		else if (strcmp(argv[i], "--seed") == 0)
			rc = sim_arg_u64(v, 0, UINT64_MAX, &seed);
		else if (strcmp(argv[i], "--loss") == 0)
			rc = sim_arg_fraction(v, &loss);
		if (rc != SH_OK || r < 1)
			return SH_EINVAL;
	}
	s->replicas = (uint32_t)r;
	s->ops = ops;
	s->seed = seed;
	s->loss = loss;
	return SH_OK;
}

/* ---- setup ---- */

static int sim_init(sim_t *s)
{
	sh_rand_seed(&s->rng, s->seed);
	s->now_ms = TIME_START_MS;
	for (uint32_t i = 0; i < s->replicas; i++) {
		char name[16];
		int n = snprintf(name, sizeof name, "r%" PRIu32, i + 1);
		sh_assert(crdt_actor_init(&s->actor[i], name, (size_t)n,
		                          sh_rand_u64(&s->rng)) == SH_OK);
		s->skew_ms[i] =
		    (int64_t)sh_rand_below(&s->rng, 2 * CLOCK_SKEW_MS + 1) -
		    CLOCK_SKEW_MS;
		for (int k = 0; k < OBJ_COUNT; k++)
			crdt_init(&s->obj[i][k], obj_type[k]);
	}
	crdt_init(&s->scratch, CRDT_COUNTER);
	sh_buf_init(&s->buf);
	sim_net_cfg_t cfg;
	sim_net_cfg_default(&cfg, s->replicas);
	cfg.faults.delay_min_ms = 1;
	cfg.faults.delay_mean_ms = 20;
	cfg.faults.loss = s->loss;
	cfg.faults.dup = 0.05;
	cfg.faults.reorder = 0.1;
	cfg.faults.reorder_ms = 100;
	return sim_net_init(&s->net, &cfg, &s->rng);
}

static void sim_free(sim_t *s)
{
	for (uint32_t i = 0; i < s->replicas; i++)
		for (int k = 0; k < OBJ_COUNT; k++)
			crdt_free(&s->obj[i][k]);
	crdt_free(&s->scratch);
	sh_buf_free(&s->buf);
	sim_net_free(&s->net);
}

/* Replica i's clock: virtual time, its skew, a little jitter. */
static uint64_t clock_ms(sim_t *s, uint32_t i)
{
	return (uint64_t)((int64_t)s->now_ms + s->skew_ms[i]) +
	       sh_rand_below(&s->rng, 4);
}

/* ---- gossip ---- */

/* Sends replica i's full state of object k to replica `to`. */
static void gossip(sim_t *s, uint32_t i, int k, uint32_t to)
{
	sh_buf_reset(&s->buf);
	sh_assert(sh_buf_append_u8(&s->buf, (uint8_t)k) == SH_OK);
	sh_assert(crdt_encode(&s->obj[i][k], &s->buf) == SH_OK);
	int rc =
	    sim_net_send(&s->net, i, to, s->buf.data, s->buf.len, s->now_ms);
	sh_assert(rc == SH_OK);
	s->gossip_sent++;
}

static void gossip_random(sim_t *s, uint32_t i, int k)
{
	if (s->replicas < 2)
		return;
	uint32_t to =
	    (i + 1 + (uint32_t)sh_rand_below(&s->rng, s->replicas - 1)) %
	    s->replicas;
	gossip(s, i, k, to);
}

/* Delivers every message due by now: the receiver merges the state. */
static void deliver(sim_t *s)
{
	sim_net_msg_t m;
	while (sim_net_pop(&s->net, s->now_ms, &m)) {
		int k = m.len > 0 ? m.bytes[0] : -1;
		int rc = SH_EMALFORMED;
		if (k >= 0 && k < OBJ_COUNT)
			rc = crdt_decode(&s->scratch, m.bytes + 1, m.len - 1);
		if (rc == SH_OK)
			rc = crdt_merge(&s->obj[m.to][k], &s->scratch);
		if (rc != SH_OK) {
			printf("bad message to r%" PRIu32 ": %s\n", m.to + 1,
			       sh_errname(rc));
			s->bad_msgs++;
			continue;
		}
		s->merges++;
	}
}

/* ---- operations ---- */

static void note_lww(lww_best_t *best, const crdt_store_t *reg)
{
	crdt_register_view_t v;
	sh_assert(crdt_register_value(reg, &v) == SH_OK);
	if (best->set) {
		if (v.timestamp_ms < best->view.timestamp_ms)
			return;
		if (v.timestamp_ms == best->view.timestamp_ms &&
		    crdt_dot_cmp(&v.dot, &best->view.dot) < 0)
			return;
	}
	best->set = 1;
	best->view = v;
	sh_assert(v.len < sizeof best->value);
	memcpy(best->value, v.value, v.len);
	best->value[v.len] = 0;
	best->view.value = NULL;
}

static void elem_name(char *out, size_t size, const char *prefix, uint64_t n)
{
	snprintf(out, size, "%s-%02u", prefix, (unsigned)n);
}

/* Applies op to object k of replica i; counts and returns the result. */
static int apply(sim_t *s, uint32_t i, int k, const crdt_op_t *op)
{
	int rc = crdt_apply(&s->obj[i][k], &s->actor[i], clock_ms(s, i), op);
	sh_assert(rc == SH_OK || rc == SH_ENOTFOUND);
	if (rc == SH_OK)
		s->applied++;
	else
		s->refused++;
	return rc;
}

static void op_set(sim_t *s, uint32_t i)
{
	uint64_t e = sh_rand_below(&s->rng, UNIVERSE);
	char name[16];
	elem_name(name, sizeof name, "item", e);
	int add = sh_rand_chance(&s->rng, 0.6);
	crdt_op_t op = {.kind = add ? CRDT_OP_SET_ADD : CRDT_OP_SET_REMOVE,
	                .u.element = {name, strlen(name)}};
	if (apply(s, i, OBJ_SET, &op) == SH_OK) {
		if (add)
			s->elem_added[e] = 1;
		else
			s->elem_removed[e] = 1;
	}
}

static void op_register(sim_t *s, uint32_t i, uint64_t n)
{
	char value[32];
	int len =
	    snprintf(value, sizeof value, "v%" PRIu64 "-r%" PRIu32, n, i + 1);
	crdt_op_t op = {.kind = CRDT_OP_REGISTER_ASSIGN,
	                .u.value = {value, (size_t)len}};
	apply(s, i, OBJ_REGISTER, &op);
	note_lww(&s->reg_best, &s->obj[i][OBJ_REGISTER].store);
}

/* A nested operation on a field of the cart, applied at replica i. */
static int cart_update(sim_t *s, uint32_t i, const char *name, crdt_type_t type,
                       const crdt_op_t *nested)
{
	crdt_op_t op = {.kind = CRDT_OP_MAP_UPDATE,
	                .u.field = {name, strlen(name), type, nested}};
	return apply(s, i, OBJ_CART, &op);
}

static void op_cart_line(sim_t *s, uint32_t i)
{
	uint64_t sku = sh_rand_below(&s->rng, UNIVERSE);
	char name[16];
	elem_name(name, sizeof name, "sku", sku);
	if (sku < SKU_PINNED && sh_rand_chance(&s->rng, 0.12)) {
		crdt_op_t op = {
		    .kind = CRDT_OP_MAP_REMOVE,
		    .u.field = {name, strlen(name), CRDT_COUNTER, NULL}};
		if (apply(s, i, OBJ_CART, &op) == SH_OK)
			s->sku_removed[sku] = 1;
		return;
	}
	int64_t by = (int64_t)sh_rand_below(&s->rng, 4);
	crdt_op_t inc = {.kind = CRDT_OP_COUNTER_INCREMENT,
	                 .u.increment = by ? by : -1};
	if (cart_update(s, i, name, CRDT_COUNTER, &inc) == SH_OK)
		s->sku_sum[sku] += inc.u.increment;
}

static void op_cart_other(sim_t *s, uint32_t i, uint64_t n)
{
	uint64_t p = sh_rand_below(&s->rng, 100);
	char text[32];
	int len;
	if (p < 40) {
		len = snprintf(text, sizeof text, "tag-%u",
		               (unsigned)sh_rand_below(&s->rng, 8));
		crdt_op_kind_t kind = sh_rand_chance(&s->rng, 0.6)
		                          ? CRDT_OP_SET_ADD
		                          : CRDT_OP_SET_REMOVE;
		crdt_op_t op = {.kind = kind, .u.element = {text, (size_t)len}};
		cart_update(s, i, "gift-tags", CRDT_SET, &op);
		return;
	}
	len = snprintf(text, sizeof text, "n%" PRIu64 "-r%" PRIu32, n, i + 1);
	crdt_op_t assign = {.kind = CRDT_OP_REGISTER_ASSIGN,
	                    .u.value = {text, (size_t)len}};
	if (p < 70) {
		cart_update(s, i, "note", CRDT_REGISTER, &assign);
		note_lww(&s->note_best, crdt_map_get(&s->obj[i][OBJ_CART].store,
		                                     "note", 4, CRDT_REGISTER));
		return;
	}
	if (p < 85) {
		crdt_op_t op = {.kind = CRDT_OP_MAP_REMOVE,
		                .u.field = {"address", 7, CRDT_MAP, NULL}};
		apply(s, i, OBJ_CART, &op);
		return;
	}
	const char *f = sh_rand_chance(&s->rng, 0.5) ? "street" : "city";
	crdt_op_t inner = {.kind = CRDT_OP_MAP_UPDATE,
	                   .u.field = {f, strlen(f), CRDT_REGISTER, &assign}};
	cart_update(s, i, "address", CRDT_MAP, &inner);
}

/* Operation number n: a random kind at a random replica. */
static void random_op(sim_t *s, uint64_t n)
{
	uint32_t i = (uint32_t)sh_rand_below(&s->rng, s->replicas);
	switch (sh_rand_below(&s->rng, 5)) {
	case 0: {
		int64_t by = (int64_t)sh_rand_below(&s->rng, 11) - 3;
		crdt_op_t op = {.kind = CRDT_OP_COUNTER_INCREMENT,
		                .u.increment = by};
		apply(s, i, OBJ_COUNTER, &op);
		s->counter_sum += by;
		break;
	}
	case 1: op_set(s, i); break;
	case 2: op_register(s, i, n); break;
	case 3: op_cart_line(s, i); break;
	default: op_cart_other(s, i, n); break;
	}
	if (sh_rand_chance(&s->rng, GOSSIP_CHANCE))
		gossip_random(s, i, (int)sh_rand_below(&s->rng, OBJ_COUNT));
}

/* ---- checks ---- */

/* 1 if every replica encodes object k byte for byte like replica 0. */
static int same_bytes(sim_t *s, int k)
{
	sh_buf_t other;
	sh_buf_init(&other);
	sh_buf_reset(&s->buf);
	sh_assert(crdt_encode(&s->obj[0][k], &s->buf) == SH_OK);
	int same = 1;
	for (uint32_t i = 1; i < s->replicas && same; i++) {
		sh_buf_reset(&other);
		sh_assert(crdt_encode(&s->obj[i][k], &other) == SH_OK);
		same = other.len == s->buf.len &&
		       memcmp(other.data, s->buf.data, other.len) == 0;
	}
	sh_buf_free(&other);
	return same;
}

static int all_same_bytes(sim_t *s)
{
	for (int k = 0; k < OBJ_COUNT; k++)
		if (!same_bytes(s, k))
			return 0;
	return 1;
}

static void put_text(sh_buf_t *out, const void *p, size_t len)
{
	sh_assert(sh_buf_append(out, p, len) == SH_OK);
}

static void put_cstr(sh_buf_t *out, const char *str)
{
	put_text(out, str, strlen(str));
}

/* Appends a readable rendering of the value of store st to out. */
static void render(const crdt_store_t *st, sh_buf_t *out)
{
	char num[32];
	const uint8_t *p;
	size_t len;
	switch (crdt_store_type(st)) {
	case CRDT_COUNTER:
		snprintf(num, sizeof num, "%" PRId64, crdt_counter_value(st));
		put_cstr(out, num);
		return;
	case CRDT_SET:
		put_cstr(out, "{");
		for (size_t e = 0; e < crdt_set_count(st); e++) {
			crdt_set_element(st, e, &p, &len);
			put_cstr(out, e ? "," : "");
			put_text(out, p, len);
		}
		put_cstr(out, "}");
		return;
	case CRDT_REGISTER: {
		crdt_register_view_t v;
		if (crdt_register_value(st, &v) != SH_OK)
			put_cstr(out, "<unset>");
		else
			put_text(out, v.value, v.len);
		return;
	}
	case CRDT_MAP: break;
	}
	put_cstr(out, "{");
	for (size_t f = 0; f < crdt_map_count(st); f++) {
		crdt_field_view_t v;
		crdt_map_field(st, f, &v);
		put_cstr(out, f ? "," : "");
		put_text(out, v.name, v.name_len);
		put_cstr(out, ":");
		render(v.store, out);
	}
	put_cstr(out, "}");
}

/* 1 if every replica's object k has replica 0's rendered value. */
static int same_values(sim_t *s, int k)
{
	sh_buf_t first, other;
	sh_buf_init(&first);
	sh_buf_init(&other);
	render(&s->obj[0][k].store, &first);
	int same = 1;
	for (uint32_t i = 1; i < s->replicas && same; i++) {
		sh_buf_reset(&other);
		render(&s->obj[i][k].store, &other);
		same = other.len == first.len &&
		       memcmp(other.data, first.data, first.len) == 0;
	}
	sh_buf_free(&first);
	sh_buf_free(&other);
	return same;
}

static int fail(sim_t *s, const char *what)
{
	printf("FAIL %s\n", what);
	s->failed = 1;
	return 0;
}

/* The register value must be the greatest acknowledged assign. */
static void check_lww(sim_t *s, const char *what, const crdt_store_t *reg,
                      const lww_best_t *best)
{
	crdt_register_view_t v;
	int rc = reg ? crdt_register_value(reg, &v) : SH_ENOTFOUND;
	if (!best->set) {
		if (rc != SH_ENOTFOUND)
			fail(s, what);
		return;
	}
	if (rc != SH_OK || v.len != strlen(best->value) ||
	    memcmp(v.value, best->value, v.len) != 0)
		fail(s, what);
}

/* Replica 0's values against what the replicas acknowledged. */
static void check_values(sim_t *s)
{
	const crdt_t *o = s->obj[0];
	int64_t value = crdt_counter_value(&o[OBJ_COUNTER].store);
	printf("counter value=%" PRId64 " acknowledged=%" PRId64 "\n", value,
	       s->counter_sum);
	if (value != s->counter_sum)
		fail(s, "counter lost or invented increments");
	for (int e = 0; e < UNIVERSE; e++) {
		char name[16];
		elem_name(name, sizeof name, "item", (uint64_t)e);
		int in =
		    crdt_set_contains(&o[OBJ_SET].store, name, strlen(name));
		if ((s->elem_added[e] && !s->elem_removed[e] && !in) ||
		    (!s->elem_added[e] && in))
			fail(s, "set element lost or invented");
	}
	check_lww(s, "register is not the last writer", &o[OBJ_REGISTER].store,
	          &s->reg_best);
	const crdt_store_t *cart = &o[OBJ_CART].store;
	check_lww(s, "cart note is not the last writer",
	          crdt_map_get(cart, "note", 4, CRDT_REGISTER), &s->note_best);
	for (int sku = 0; sku < UNIVERSE; sku++) {
		char name[16];
		elem_name(name, sizeof name, "sku", (uint64_t)sku);
		const crdt_store_t *line =
		    crdt_map_get(cart, name, strlen(name), CRDT_COUNTER);
		if (s->sku_removed[sku])
			continue; /* a removal may cancel increments */
		if ((line ? crdt_counter_value(line) : 0) != s->sku_sum[sku])
			fail(s, "cart line lost or invented increments");
	}
}

static void check(sim_t *s)
{
	for (int k = 0; k < OBJ_COUNT; k++) {
		int bytes = same_bytes(s, k), values = same_values(s, k);
		sh_buf_reset(&s->buf);
		render(&s->obj[0][k].store, &s->buf);
		printf("%s: encodings %s, values %s, size %zu: %.*s\n",
		       obj_name[k], bytes ? "equal" : "DIFFER",
		       values ? "equal" : "DIFFER", s->buf.len,
		       s->buf.len > 60 ? 60 : (int)s->buf.len,
		       (const char *)s->buf.data);
		if (!bytes || !values)
			fail(s, "replicas did not converge");
	}
	check_values(s);
	if (s->bad_msgs)
		fail(s, "a replica rejected a state");
}

/* ---- the run ---- */

static void run(sim_t *s)
{
	for (uint64_t n = 0; n < s->ops; n++) {
		s->now_ms += sh_rand_below(&s->rng, 3);
		deliver(s);
		random_op(s, n);
	}
	int rounds = 0;
	while (rounds < QUIET_ROUNDS_MAX) {
		for (uint32_t i = 0; i < s->replicas; i++)
			for (int k = 0; k < OBJ_COUNT; k++)
				gossip_random(s, i, k);
		for (int t = 0; t < QUIET_ROUND_MS; t += 10) {
			s->now_ms += 10;
			deliver(s);
		}
		rounds++;
		if (rounds % QUIET_CHECK_EVERY == 0 && all_same_bytes(s))
			break;
	}
	const sim_net_stats_t *st = sim_net_stats(&s->net, SIM_NET_ALL);
	printf("ops applied=%" PRIu64 " refused=%" PRIu64 " gossip=%" PRIu64
	       " merges=%" PRIu64 " quiet_rounds=%d\n",
	       s->applied, s->refused, s->gossip_sent, s->merges, rounds);
	printf("net sent=%" PRIu64 " delivered=%" PRIu64 " lost=%" PRIu64
	       " duplicated=%" PRIu64 "\n",
	       st->sent, st->delivered, st->dropped_loss, st->duplicated);
}

int sim_crdt_main(int argc, char **argv)
{
	static sim_t s; /* large: keep it off the stack */
	memset(&s, 0, sizeof s);
	int rc = parse_args(&s, argc, argv);
	if (rc != SH_OK) {
		fprintf(
		    rc > 0 ? stdout : stderr,
		    "usage: shoal-sim crdt [--replicas 1..%d] [--ops K] "
		    "[--seed S] [--loss 0..1)\n"
		    "  defaults: --replicas 5 --ops 1000 --seed 1 --loss 0\n",
		    REPLICAS_MAX);
		return rc > 0 ? 0 : 2;
	}
	g_sim = &s;
	sh_assert_hook_fn old = sh_assert_set_hook(assert_hook);
	printf("crdt: replicas=%" PRIu32 " ops=%" PRIu64 " seed=%" PRIu64
	       " loss=%g\n",
	       s.replicas, s.ops, s.seed, s.loss);
	if (sim_init(&s) != SH_OK) {
		fprintf(stderr, "shoal-sim crdt: out of memory\n");
		return 2;
	}
	run(&s);
	check(&s);
	sim_free(&s);
	sh_assert_set_hook(old);
	g_sim = NULL;
	if (s.failed)
		printf("replay: shoal-sim crdt --replicas %" PRIu32
		       " --ops %" PRIu64 " --seed %" PRIu64 " --loss %g\n",
		       s.replicas, s.ops, s.seed, s.loss);
	printf("crdt replicas=%" PRIu32 " ops=%" PRIu64 " seed=%" PRIu64
	       " converged=%s\n",
	       s.replicas, s.ops, s.seed, s.failed ? "no" : "yes");
	return s.failed ? 1 : 0;
}
