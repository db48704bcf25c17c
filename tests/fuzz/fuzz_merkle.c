/*
 * fuzz_merkle.c - libFuzzer target for the anti-entropy exchange's decoder
 * and state machine (antientropy/merkle_codec.c, merkle_exchange.c,
 * merkle_sub.c; format in antientropy/merkle.h).
 *
 * Two replicas of one partition (fuzz_merkle.h): R, a responder over
 * replica 0's tree, and I, an initiator over replica 1's tree, started with
 * xid FUZZ_MERKLE_XID at time 1000. The input is a sequence of frames
 * (fuzz_util.h), each one message:
 *   tag bit 0  0: to R (as if from I); 1: to I (as if from R)
 *   tag bit 1  then let 40 s pass (both sides' timeouts fire)
 * Neither side's own output is delivered: the input plays the peer.
 * After each frame both sides' outputs are pulled and checked: every
 * message they send decodes, every repair names a key of bounded length
 * and a known kind; a request for keys is answered from the replica.
 */
#include "common/sh_err.h"
#include "fuzz_merkle.h"
#include "fuzz_util.h"

static void pull(merkle_exchange_t *x, int replica, uint64_t now_ms)
{
	merkle_ready_t rd;
	merkle_exchange_ready(x, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		merkle_msg_t m;
		FUZZ_CHECK(merkle_msg_decode(rd.msgs[i].data, rd.msgs[i].len,
		                             &m) == 0);
	}
	for (size_t i = 0; i < rd.repair_count; i++) {
		const merkle_repair_t *r = &rd.repairs[i];
		FUZZ_CHECK(r->bucket_len <= MERKLE_BUCKET_BYTES_MAX &&
		           r->key_len <= MERKLE_KEY_BYTES_MAX);
		FUZZ_CHECK(r->kind >= MERKLE_REPAIR_LOCAL_ONLY &&
		           r->kind <= MERKLE_REPAIR_DIFFERENT);
	}
	FUZZ_CHECK(rd.state != MERKLE_X_ABORTED || rd.error < 0);
	int want = rd.want_keys;
	merkle_exchange_advance(x);
	if (want)
		fuzz_merkle_feed(x, replica, now_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	merkle_t ta, tb;
	merkle_exchange_t r, in;
	merkle_xconfig_t xc;
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len;
	uint8_t tag;
	uint64_t now_ms = 1000;

	fuzz_merkle_tree(&ta, 0);
	fuzz_merkle_tree(&tb, 1);
	fuzz_merkle_xconfig(&xc);
	FUZZ_CHECK(merkle_exchange_init(&r, &xc, &ta) == 0);
	FUZZ_CHECK(merkle_exchange_init(&in, &xc, &tb) == 0);
	FUZZ_CHECK(merkle_exchange_start(&in, now_ms, FUZZ_MERKLE_XID) == 0);
	pull(&in, 1, now_ms);
	fuzz_frames_init(&f, data, size);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		merkle_exchange_t *to = (tag & 1) ? &in : &r;
		(void)merkle_exchange_recv(to, now_ms, body, len);
		if (tag & 2) {
			now_ms += 40000;
			(void)merkle_exchange_tick(&r, now_ms);
			(void)merkle_exchange_tick(&in, now_ms);
		}
		pull(&r, 0, now_ms);
		pull(&in, 1, now_ms);
	}
	merkle_exchange_free(&r);
	merkle_exchange_free(&in);
	merkle_free(&ta);
	merkle_free(&tb);
	return 0;
}
