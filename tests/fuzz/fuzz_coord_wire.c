/*
 * fuzz_coord_wire.c - libFuzzer target for the coordinator's internode
 * messages (node/coord_wire.c, then the handlers of coord_replica.c,
 * coord_fwd.c, ...) and stored records (coord_obj.c). Formats: the top of
 * node/coord_wire.c and node/coord.h, "STORED RECORDS".
 *
 * Input: a mode byte, then
 *   mode bit 7 set: a stored record for coord_obj_decode. Properties on
 *     success: re-encoding and decoding gives an equal object with the
 *     same hash and the same bytes; merging it into a copy of itself
 *     changes nothing.
 *   mode bit 7 clear: frames (fuzz_util.h), each an internode message body
 *     for coord_recv on node n0 (fuzz_coord.h); tag bits 0-1 name the
 *     sender: n1, n2, n3 or "x9" (not a member); tag bit 2 runs coord_tick
 *     after the message. Mode bit 0 set: n0 first starts its client
 *     requests (fuzz_coord_start), so answers can find them. Frame k
 *     arrives at FUZZ_COORD_T0 + 1 + k; at the end the clock jumps past
 *     every deadline (FUZZ_DEBUG=1 in the environment prints what
 *     coord_recv returned for each frame). After each step the ready batch is
 * checked (every result's status is one the manual lists) and advanced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "fuzz_coord.h"
#include "fuzz_util.h"
#include "node/coord.h"

static const char *const senders[4] = {"n1", "n2", "n3", "x9"};

static void take(coord_t *c)
{
	coord_ready_t r;
	size_t i;

	coord_ready(c, &r);
	for (i = 0; i < r.msg_count; i++) {
		FUZZ_CHECK(r.msgs[i].to != NULL && r.msgs[i].data != NULL);
		FUZZ_CHECK(strcmp(r.msgs[i].to, "n0") != 0);
	}
	for (i = 0; i < r.result_count; i++) {
		int st = r.results[i].status;

		if (getenv("FUZZ_DEBUG") != NULL)
			fprintf(stderr, "result %llu: %d %s\n",
			        (unsigned long long)r.results[i].client_id, st,
			        r.results[i].error);

		/* a forwarded write's status comes from the peer's
		 * FORWARD_REPLY, which the decoder bounds to 100..599 */
		if (r.results[i].forwarded)
			FUZZ_CHECK(st >= 100 && st <= 599);
		else
			FUZZ_CHECK(st == 200 || st == 204 || st == 300 ||
			           st == 404 || st == 400 || st == 409 ||
			           st == 413 || st == 503);
		FUZZ_CHECK(r.results[i].client_id >= 1 &&
		           r.results[i].client_id <= 6);
	}
	coord_advance(c);
}

static void fuzz_messages(uint8_t mode, const uint8_t *data, size_t size)
{
	coord_t c;
	store_t st;
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len;
	uint64_t now_ms = FUZZ_COORD_T0 + 1;
	uint8_t tag;
	int rc, debug = getenv("FUZZ_DEBUG") != NULL;

	fuzz_coord_open(&c, &st, 0);
	if (mode & 1)
		fuzz_coord_start(&c, &st);
	take(&c);
	fuzz_frames_init(&f, data, size);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		FUZZ_CHECK(store_begin(&st) == 0);
		rc = coord_recv(&c, now_ms, senders[tag & 3], body, len);
		FUZZ_CHECK(rc <= 0);
		if (debug)
			fprintf(stderr, "frame from %s, %zu bytes: %d\n",
			        senders[tag & 3], len, rc);
		if (tag & 4)
			coord_tick(&c, now_ms);
		FUZZ_CHECK(store_commit(&st) == 0);
		take(&c);
		now_ms++;
	}
	FUZZ_CHECK(store_begin(&st) == 0);
	coord_tick(&c, now_ms + 1000000);
	FUZZ_CHECK(store_commit(&st) == 0);
	take(&c);
	FUZZ_CHECK(coord_stats(&c)->inflight == 0);
	FUZZ_CHECK(store_mem_check(&st) == 0);
	fuzz_coord_close(&c, &st);
}

static void fuzz_record(const uint8_t *data, size_t size)
{
	dvv_limits_t lim = {4096, 64};
	coord_obj_t a, b, m;
	sh_buf_t e1, e2;
	int conflict = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&m, 0, sizeof(m));
	sh_buf_init(&e1);
	sh_buf_init(&e2);
	if (coord_obj_decode(&a, data, size, &lim) != 0)
		goto out;
	FUZZ_CHECK(a.kind == COORD_KIND_KV || a.kind == COORD_KIND_DT);
	FUZZ_CHECK(coord_obj_encode(&a, &e1) == 0);
	FUZZ_CHECK(coord_obj_decode(&b, e1.data, e1.len, &lim) == 0);
	FUZZ_CHECK(coord_obj_equal(&a, &b));
	FUZZ_CHECK(coord_obj_hash(&a) == coord_obj_hash(&b));
	FUZZ_CHECK(coord_obj_encode(&b, &e2) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	FUZZ_CHECK(coord_obj_merge(&m, &a, &conflict) == 0);
	FUZZ_CHECK(coord_obj_merge(&m, &b, &conflict) == 0);
	FUZZ_CHECK(!conflict);
	FUZZ_CHECK(coord_obj_equal(&m, &a));
out:
	coord_obj_free(&a);
	coord_obj_free(&b);
	coord_obj_free(&m);
	sh_buf_free(&e1);
	sh_buf_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 0x80)
		fuzz_record(data + 1, size - 1);
	else
		fuzz_messages(data[0], data + 1, size - 1);
	return 0;
}
