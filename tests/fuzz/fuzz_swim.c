/*
 * fuzz_swim.c - libFuzzer target for the SWIM decoders and handlers
 * (gossip/swim_codec.c and the state machine behind them): datagrams
 * (swim_recv) and stream messages (swim_recv_state). Wire format:
 * gossip/swim.h.
 *
 * The input is a sequence of frames (fuzz_util.h) fed to one node "n0"
 * (address "a0", 64 partitions, seed 1) at fixed times 1000, 1100, ...:
 *   tag bit 0  0: a datagram (swim_recv); 1: a stream message
 *              (swim_recv_state)
 *   tag bit 1  stream message: 1 asks for a reply buffer
 *   tag bit 2  run swim_tick after it
 *   tag bits 4-5  the sender's address: "a1", "a2", "a3" or "a0" (us)
 * After each frame the outputs are pulled (swim_ready) and checked: every
 * packet is under SWIM_PACKET_MAX, the counters agree; then swim_advance.
 * Decoding never asserts on input; state a packet carries may, through
 * the handlers, reach any internal assertion, which is the point.
 */
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "fuzz_util.h"
#include "gossip/swim.h"

static const char *const addrs[4] = {"a1", "a2", "a3", "a0"};

static void pull(swim_t *s)
{
	swim_ready_t r;
	size_t i;

	swim_ready(s, &r);
	for (i = 0; i < r.packets_len; i++) {
		FUZZ_CHECK(r.packets[i].len < SWIM_PACKET_MAX);
		FUZZ_CHECK(r.packets[i].data != NULL);
	}
	for (i = 0; i < r.streams_len; i++)
		FUZZ_CHECK(r.streams[i].data != NULL);
	for (i = 0; i < r.events_len; i++)
		FUZZ_CHECK(r.events[i].name[0] != '\0');
	swim_advance(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	swim_config_t cfg;
	swim_t s;
	fuzz_frames_t f;
	sh_buf_t reply;
	const uint8_t *body;
	size_t len, members;
	uint64_t now_ms = 1000;
	uint8_t tag;
	int rc;

	swim_config_default(&cfg);
	cfg.name = "n0";
	cfg.addr = "a0";
	cfg.http_addr = "h0";
	cfg.partitions = 64;
	cfg.seed = 1;
	cfg.members_max = 64;
	FUZZ_CHECK(swim_init(&s, &cfg) == 0);
	sh_buf_init(&reply);
	fuzz_frames_init(&f, data, size);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		const char *from = addrs[(tag >> 4) & 3];

		if ((tag & 1) == 0) {
			rc = swim_recv(&s, now_ms, from, body, len);
		} else {
			sh_buf_reset(&reply);
			rc = swim_recv_state(&s, now_ms, from, body, len,
			                     (tag & 2) ? &reply : NULL);
		}
		FUZZ_CHECK(rc <= 0);
		if ((tag & 4) != 0)
			swim_tick(&s, now_ms);
		pull(&s);
		members = swim_member_count(&s);
		FUZZ_CHECK(members >= 1 && members <= cfg.members_max);
		FUZZ_CHECK(swim_live_count(&s) <= members);
		now_ms += 100;
	}
	/* let every timer run out */
	swim_tick(&s, now_ms + 60000);
	pull(&s);
	swim_tick(&s, now_ms + 3600000);
	pull(&s);
	sh_buf_free(&reply);
	swim_free(&s);
	return 0;
}
