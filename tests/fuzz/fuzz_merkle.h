/*
 * fuzz_merkle.h - the two replicas fuzz_merkle.c talks to, shared with
 * gen_corpus.c so that its recorded conversations replay exactly: two
 * Merkle trees of one partition (16 segments, fanout 4, 600 keys, so the
 * walk below the segments runs) that differ in a few keys, and the
 * exchange settings of both sides. Header only.
 */
#ifndef SHOAL_FUZZ_MERKLE_H
#define SHOAL_FUZZ_MERKLE_H

#include <stdio.h>
#include <string.h>

#include "antientropy/merkle.h"
#include "fuzz_util.h"

#define FUZZ_MERKLE_KEYS 600
#define FUZZ_MERKLE_XID  42

/* Replica r's object hash of key i (0: absent). Replica 1 differs from
 * replica 0 on every 37th key: changed, missing or extra by turns. */
static inline uint64_t fuzz_merkle_hash(int r, uint32_t i)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (i + 1);
	if (r == 0 || i % 37 != 0)
		return i % 37 == 0 && (i / 37) % 3 == 2 ? 0 : h;
	switch ((i / 37) % 3) {
	case 0: return h ^ 1; /* changed */
	case 1: return 0;     /* missing on replica 1 */
	default: return h;    /* extra on replica 1 */
	}
}

static inline size_t fuzz_merkle_name(char *buf, uint32_t i)
{
	return (size_t)snprintf(buf, 16, "k%u", i);
}

/* Replica r's tree, built. */
static inline void fuzz_merkle_tree(merkle_t *t, int r)
{
	merkle_config_t c;
	merkle_config_default(&c);
	c.segments = 16;
	c.fanout = 4;
	c.partition_bits = 0;
	c.partition = 0;
	FUZZ_CHECK(merkle_init(t, &c) == 0);
	FUZZ_CHECK(merkle_rebuild_start(t) == 0);
	FUZZ_CHECK(merkle_rebuild_finish(t) == 0);
	for (uint32_t i = 0; i < FUZZ_MERKLE_KEYS; i++) {
		uint64_t h = fuzz_merkle_hash(r, i);
		char k[16];
		size_t kl = fuzz_merkle_name(k, i);
		if (h != 0)
			FUZZ_CHECK(merkle_update(t, "b", 1, k, kl, NULL, &h) ==
			           0);
	}
}

/* Feed replica r's keys to x (it keeps the wanted ones) and end. */
static inline void fuzz_merkle_feed(merkle_exchange_t *x, int r,
                                    uint64_t now_ms)
{
	for (uint32_t i = 0; i < FUZZ_MERKLE_KEYS; i++) {
		uint64_t h = fuzz_merkle_hash(r, i);
		char k[16];
		size_t kl = fuzz_merkle_name(k, i);
		if (h != 0 && merkle_exchange_key(x, "b", 1, k, kl, h) != 0)
			return; /* aborted: nothing more to feed */
	}
	(void)merkle_exchange_keys_end(x, now_ms);
}

/* Both sides' settings: small steps, so that one exchange takes many. */
static inline void fuzz_merkle_xconfig(merkle_xconfig_t *xc)
{
	merkle_xconfig_default(xc);
	xc->branches_per_step = 2;
	xc->segments_per_step = 3;
	xc->keys_per_msg = 7;
	xc->sub_fanout = 4;
	xc->timeout_ms = 30000;
}

#endif /* SHOAL_FUZZ_MERKLE_H */
