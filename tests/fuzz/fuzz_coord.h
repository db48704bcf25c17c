/*
 * fuzz_coord.h - the coordinator fuzz_coord_wire.c drives, shared with
 * gen_corpus.c so that generated messages carry the request ids of the
 * requests that coordinator has in flight (ids are a function of the
 * order of requests, see node/coord_int.h).
 *
 * The node is "n0" in a cluster of four up members n0..n3, 64 partitions,
 * default n/r/w (3/2/2), a memory store, a fixed wall clock. After
 * fuzz_coord_start it has these client requests in flight, all started at
 * FUZZ_COORD_T0: a kv put and a kv get of a key it coordinates, a counter
 * update, a set remove (which reads the other replicas first), a kv put of
 * a key it does not replicate (forwarded to a primary), and a replicas
 * query. Header only; every function asserts with FUZZ_CHECK.
 */
#ifndef SHOAL_FUZZ_COORD_H
#define SHOAL_FUZZ_COORD_H

#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "node/coord.h"
#include "node/store.h"

#define FUZZ_COORD_NODES 4
#define FUZZ_COORD_T0    1000
#define FUZZ_COORD_WALL  1700000000000ull

static const char *const fuzz_coord_names[FUZZ_COORD_NODES] = {"n0", "n1", "n2",
                                                               "n3"};

/* fuzz_coord_open - store and coordinator of node idx, members set. */
static inline void fuzz_coord_open(coord_t *c, store_t *st, int idx)
{
	coord_config_t cfg;
	coord_member_t m[FUZZ_COORD_NODES];
	int i;

	FUZZ_CHECK(store_mem_open(st, NULL) == 0);
	coord_config_default(&cfg);
	cfg.name = fuzz_coord_names[idx];
	cfg.epoch = 100 + (uint64_t)idx;
	cfg.partitions = 64;
	cfg.members_max = 16;
	cfg.inflight_max = 64;
	FUZZ_CHECK(coord_init(c, &cfg, st) == 0);
	coord_set_wall_clock(c, FUZZ_COORD_WALL);
	for (i = 0; i < FUZZ_COORD_NODES; i++) {
		m[i].name = fuzz_coord_names[i];
		m[i].state = COORD_UP;
	}
	FUZZ_CHECK(coord_set_members(c, m, FUZZ_COORD_NODES) == 0);
}

/* fuzz_coord_close - free what fuzz_coord_open made. */
static inline void fuzz_coord_close(coord_t *c, store_t *st)
{
	if (store_in_batch(st))
		store_abort(st);
	coord_free(c);
	store_close(st);
}

/*
 * fuzz_coord_key - into key (16 bytes), the first "k<i>" of bucket "b"
 * whose first primary is n0 (want_target 1) or whose primaries do not
 * include n0 (want_target 0).
 */
static inline void fuzz_coord_key(const coord_t *c, int want_target, char *key)
{
	ring_preflist_t pl;
	unsigned i, j;
	int is_target;

	for (i = 0; i < 1000; i++) {
		snprintf(key, 16, "k%u", i);
		FUZZ_CHECK(
		    coord_preflist(c, "b", 1, key, strlen(key), 3, &pl) == 0);
		is_target = 0;
		for (j = 0; j < pl.n; j++)
			if (strcmp(pl.entries[j].name, "n0") == 0)
				is_target = 1;
		if (want_target ? strcmp(pl.entries[0].name, "n0") == 0
		                : !is_target)
			return;
	}
	FUZZ_CHECK(0);
}

/* fuzz_coord_start - the client requests above, in one store batch, then
 * commit; the outputs stay in the ready batch (the caller takes them). */
static inline void fuzz_coord_start(coord_t *c, store_t *st)
{
	static const uint8_t value[] = "value-1";
	coord_value_t v = {value, sizeof(value) - 1, "text/plain", 10};
	crdt_op_t inc, rem;
	char own[16], other[16];

	fuzz_coord_key(c, 1, own);
	fuzz_coord_key(c, 0, other);
	memset(&inc, 0, sizeof(inc));
	inc.kind = CRDT_OP_COUNTER_INCREMENT;
	inc.u.increment = 5;
	memset(&rem, 0, sizeof(rem));
	rem.kind = CRDT_OP_SET_REMOVE;
	rem.u.element.bytes = "x";
	rem.u.element.len = 1;
	FUZZ_CHECK(store_begin(st) == 0);
	FUZZ_CHECK(coord_kv_put(c, FUZZ_COORD_T0, 1, "b", 1, own, strlen(own),
	                        NULL, &v, NULL, 0) == 0);
	FUZZ_CHECK(coord_kv_get(c, FUZZ_COORD_T0, 2, "b", 1, own, strlen(own),
	                        NULL) == 0);
	FUZZ_CHECK(coord_dt_update(c, FUZZ_COORD_T0, 3, "c", 1, own,
	                           strlen(own), NULL, CRDT_COUNTER, &inc,
	                           1) == 0);
	FUZZ_CHECK(coord_dt_update(c, FUZZ_COORD_T0, 4, "s", 1, own,
	                           strlen(own), NULL, CRDT_SET, &rem, 1) == 0);
	FUZZ_CHECK(coord_kv_put(c, FUZZ_COORD_T0, 5, "b", 1, other,
	                        strlen(other), NULL, &v, NULL, 0) == 0);
	FUZZ_CHECK(coord_replicas(c, FUZZ_COORD_T0, 6, "b", 1, own, strlen(own),
	                          NULL) == 0);
	FUZZ_CHECK(store_commit(st) == 0);
}

#endif /* SHOAL_FUZZ_COORD_H */
