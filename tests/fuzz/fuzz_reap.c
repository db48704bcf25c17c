/*
 * fuzz_reap.c - libFuzzer target for the tombstone reaper's messages
 * (node/reap_wire.c, then the handlers of node/reap_recv.c). Format: the
 * WIRE section of node/reap.h.
 *
 * Node n1 of a three-node view (n1, n2, n3; memory store) holds keys k0..k3
 * of bucket "b": tombstones with timestamp 1000 (k0, k1), a live value
 * (k2), and k3 as a tombstone with a hint naming n2. Its reaper has a
 * 1 s grace. The input is frames (fuzz_util.h), each a message body for
 * reap_recv; tag bits 0-1 name the sender (n2, n3, n1 itself or "x9", not
 * a member); tag bit 2 runs reap_tick at wall time 10,000 first, so checks
 * are in flight for answers to find. Properties: reap_recv never crashes;
 * every output goes to a member other than n1, and is one of the reaper's
 * messages; a live value (k2) is never deleted; a key with a hint (k3) is
 * never deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "fuzz_util.h"
#include "node/coord.h"
#include "node/reap.h"
#include "node/store.h"

static const char *const senders[4] = {"n2", "n3", "n1", "x9"};

static void okey(coord_t *c, const char *key, store_key_t *k)
{
	ring_preflist_t pl;

	FUZZ_CHECK(coord_preflist(c, "b", 1, key, strlen(key), 3, &pl) == 0);
	FUZZ_CHECK(store_key_object(k, (uint16_t)pl.partition, "b", 1, key,
	                            strlen(key)) == 0);
}

static void put(store_t *s, coord_t *c, const char *key, int tombstone)
{
	coord_obj_t obj;
	crdt_actor_t a;
	dvv_value_t v;
	store_key_t k;
	sh_buf_t b;

	memset(&obj, 0, sizeof(obj));
	memset(&v, 0, sizeof(v));
	memset(&b, 0, sizeof(b));
	obj.kind = COORD_KIND_KV;
	dvv_init(&obj.kv);
	FUZZ_CHECK(crdt_actor_init(&a, "n1", 2, 1) == 0);
	v.tombstone = tombstone;
	v.value = (const uint8_t *)(tombstone ? NULL : "v");
	v.value_len = tombstone ? 0 : 1;
	v.timestamp_ms = 1000;
	FUZZ_CHECK(dvv_update(&obj.kv, NULL, &a, &v, NULL) == 0);
	FUZZ_CHECK(coord_obj_encode(&obj, &b) == 0);
	okey(c, key, &k);
	FUZZ_CHECK(store_put(s, &k, b.data, b.len) == 0);
	coord_obj_free(&obj);
	sh_buf_free(&b);
}

static int present(store_t *s, coord_t *c, const char *key)
{
	store_key_t k;
	const uint8_t *v;
	size_t len;

	okey(c, key, &k);
	return store_get(s, &k, &v, &len) == 0;
}

static void setup(store_t *s, coord_t *c, reap_t *r)
{
	static const coord_member_t m[3] = {
	    {"n1", COORD_UP}, {"n2", COORD_UP}, {"n3", COORD_UP}};
	coord_config_t cc;
	reap_config_t rc;
	store_key_t k, hk;

	FUZZ_CHECK(store_mem_open(s, NULL) == 0);
	coord_config_default(&cc);
	cc.name = "n1";
	cc.epoch = 1;
	cc.partitions = 8;
	FUZZ_CHECK(coord_init(c, &cc, s) == 0);
	FUZZ_CHECK(coord_set_members(c, m, 3) == 0);
	reap_config_default(&rc);
	rc.self = "n1";
	rc.grace_ms = 1000;
	rc.inflight_max = 4;
	FUZZ_CHECK(reap_init(r, &rc, c, s) == 0);
	FUZZ_CHECK(store_begin(s) == 0);
	put(s, c, "k0", 1);
	put(s, c, "k1", 1);
	put(s, c, "k2", 0);
	put(s, c, "k3", 1);
	okey(c, "k3", &k);
	FUZZ_CHECK(store_key_hint(&hk, "n2", 2, &k) == 0);
	FUZZ_CHECK(store_put(s, &hk, NULL, 0) == 0);
}

static void take(reap_t *r)
{
	reap_ready_t rd;
	size_t i;

	reap_ready(r, &rd);
	for (i = 0; i < rd.msg_count; i++) {
		FUZZ_CHECK(rd.msgs[i].to != NULL && rd.msgs[i].data != NULL);
		FUZZ_CHECK(strcmp(rd.msgs[i].to, "n1") != 0);
		FUZZ_CHECK(reap_wire_type(rd.msgs[i].data, rd.msgs[i].len) > 0);
	}
	reap_advance(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_t s;
	coord_t c;
	reap_t r;
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len;
	uint8_t tag;
	uint64_t now = 1;

	setup(&s, &c, &r);
	fuzz_frames_init(&f, data, size);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		if (tag & 4)
			reap_tick(&r, now, 10000);
		take(&r);
		reap_recv(&r, now, senders[tag & 3], body, len);
		take(&r);
		now += 1000;
	}
	FUZZ_CHECK(present(&s, &c, "k2"));
	FUZZ_CHECK(present(&s, &c, "k3"));
	reap_free(&r);
	coord_free(&c);
	store_close(&s);
	return 0;
}
