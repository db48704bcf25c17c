/*
 * fuzz_aae.h - the anti-entropy nodes fuzz_aae.c drives, shared with
 * gen_corpus.c so that generated exchanges carry exchange ids, partitions
 * and tree hashes the fuzzed node knows (a seed that the node refuses at
 * once would reach little of node/aae_xchg.c).
 *
 * Two nodes, "n1" and "n2", in a view of both (8 partitions, the
 * coordinator's default n of 3: each node replicates every partition),
 * each a memory store under a store tap, a coordinator and an AAE driver
 * (node/aae.h) whose hooks are on the tap. They share keys k0..k5 of
 * bucket "b" with identical records; k2 differs (each node wrote its own
 * value), d1 is only on n1 and d2 only on n2, so an exchange between them
 * has keys to repair both ways. Header only; every function asserts with
 * FUZZ_CHECK.
 *
 * The input of fuzz_aae.c is frames (fuzz_util.h) fed to n1 with
 * fuzz_aae_step; a frame's tag:
 *   bits 0-1  the sender: n2, "x9" (not a member), n1 itself, n2 again;
 *   bit 2     run aae_tick before the message;
 *   bit 3     let the time jump past the exchange timeout first.
 * A frame with an empty body only moves the time (and ticks).
 */
#ifndef SHOAL_FUZZ_AAE_H
#define SHOAL_FUZZ_AAE_H

#include <string.h>

#include "common/sh_buf.h"
#include "crdt/dvv.h"
#include "fuzz_util.h"
#include "node/aae.h"
#include "node/coord.h"
#include "node/store.h"
#include "node/store_tap.h"

#define FUZZ_AAE_T0          1000
#define FUZZ_AAE_STEP_MS     10
#define FUZZ_AAE_INTERVAL_MS 100
#define FUZZ_AAE_TIMEOUT_MS  500
#define FUZZ_AAE_TAG_TICK    4
#define FUZZ_AAE_TAG_TIMEOUT 8

static const char *const fuzz_aae_names[2] = {"n1", "n2"};
static const char *const fuzz_aae_senders[4] = {"n2", "x9", "n1", "n2"};

typedef struct fuzz_aae_node {
	store_t disk; /* memory */
	store_t s;    /* the tap over disk: every writer uses it */
	coord_t c;
	aae_t a;
} fuzz_aae_node_t;

/* One kv object of value val, written by actor (name, epoch 1), stored
 * through the tap under (b, key). A batch is open. */
static inline void fuzz_aae_put(fuzz_aae_node_t *nd, const char *actor,
                                const char *key, const char *val)
{
	coord_obj_t obj;
	crdt_actor_t a;
	dvv_value_t v;
	ring_preflist_t pl;
	store_key_t k;
	sh_buf_t b;

	memset(&obj, 0, sizeof(obj));
	memset(&v, 0, sizeof(v));
	sh_buf_init(&b);
	obj.kind = COORD_KIND_KV;
	dvv_init(&obj.kv);
	FUZZ_CHECK(crdt_actor_init(&a, actor, strlen(actor), 1) == 0);
	v.value = (const uint8_t *)val;
	v.value_len = strlen(val);
	v.timestamp_ms = 1000;
	FUZZ_CHECK(dvv_update(&obj.kv, NULL, &a, &v, NULL) == 0);
	FUZZ_CHECK(coord_obj_encode(&obj, &b) == 0);
	FUZZ_CHECK(coord_preflist(&nd->c, "b", 1, key, strlen(key), 3, &pl) ==
	           0);
	FUZZ_CHECK(store_key_object(&k, (uint16_t)pl.partition, "b", 1, key,
	                            strlen(key)) == 0);
	FUZZ_CHECK(store_put(&nd->s, &k, b.data, b.len) == 0);
	coord_obj_free(&obj);
	sh_buf_free(&b);
}

/* fuzz_aae_open - node idx (0: n1, 1: n2) with its keys, trees built. */
static inline void fuzz_aae_open(fuzz_aae_node_t *nd, int idx)
{
	static const coord_member_t m[2] = {{"n1", COORD_UP}, {"n2", COORD_UP}};
	static const char *const same[5] = {"k0", "k1", "k3", "k4", "k5"};
	coord_config_t cc;
	aae_config_t ac;
	store_tap_hooks_t h;
	const char *self = fuzz_aae_names[idx];

	FUZZ_CHECK(store_mem_open(&nd->disk, NULL) == 0);
	FUZZ_CHECK(store_tap_open(&nd->s, &nd->disk) == 0);
	coord_config_default(&cc);
	cc.name = self;
	cc.epoch = 1 + (uint64_t)idx;
	cc.partitions = 8;
	FUZZ_CHECK(coord_init(&nd->c, &cc, &nd->s) == 0);
	FUZZ_CHECK(coord_set_members(&nd->c, m, 2) == 0);
	aae_config_default(&ac);
	ac.self = self;
	ac.interval_ms = FUZZ_AAE_INTERVAL_MS;
	ac.timeout_ms = FUZZ_AAE_TIMEOUT_MS;
	ac.repair_keys_per_msg = 2; /* several REPAIRs per exchange */
	ac.seed = 7 + (uint64_t)idx;
	FUZZ_CHECK(aae_init(&nd->a, &ac, &nd->c, &nd->s) == 0);
	aae_tap_hooks(&nd->a, &h);
	FUZZ_CHECK(store_tap_add_hooks(&nd->s, &h) == 0);
	FUZZ_CHECK(store_begin(&nd->s) == 0);
	for (int i = 0; i < 5; i++)
		fuzz_aae_put(nd, "n0", same[i], "same");
	fuzz_aae_put(nd, self, "k2", self);
	fuzz_aae_put(nd, self, idx == 0 ? "d1" : "d2", "only");
	FUZZ_CHECK(store_commit(&nd->s) == 0);
	for (int i = 0; i < 1000 && (i == 0 || aae_busy(&nd->a)); i++)
		aae_tick(&nd->a, FUZZ_AAE_T0);
	FUZZ_CHECK(!aae_busy(&nd->a));
}

/* fuzz_aae_close - free what fuzz_aae_open made. */
static inline void fuzz_aae_close(fuzz_aae_node_t *nd)
{
	if (store_in_batch(&nd->s))
		store_abort(&nd->s);
	store_tap_remove_hooks(&nd->s, &nd->a);
	aae_free(&nd->a);
	coord_free(&nd->c);
	store_close(&nd->s);
	store_close(&nd->disk);
}

/*
 * fuzz_aae_step - one frame for nd (tag as above, body[0..len)): move
 * *now_ms on, tick if asked, then hand the body to aae_recv in a store
 * batch of its own. Returns aae_recv's result (0, or the negative code of
 * a rejected message; 0 for an empty body). The outputs wait in
 * aae_ready.
 */
static inline int fuzz_aae_step(fuzz_aae_node_t *nd, uint64_t *now_ms,
                                uint8_t tag, const uint8_t *body, size_t len)
{
	int rc = 0;

	*now_ms += (tag & FUZZ_AAE_TAG_TIMEOUT) ? FUZZ_AAE_TIMEOUT_MS + 1
	                                        : FUZZ_AAE_STEP_MS;
	if (tag & FUZZ_AAE_TAG_TICK)
		aae_tick(&nd->a, *now_ms);
	if (len == 0)
		return 0;
	FUZZ_CHECK(store_begin(&nd->s) == 0);
	rc = aae_recv(&nd->a, *now_ms, fuzz_aae_senders[tag & 3], body, len);
	FUZZ_CHECK(store_commit(&nd->s) == 0);
	return rc;
}

#endif /* SHOAL_FUZZ_AAE_H */
