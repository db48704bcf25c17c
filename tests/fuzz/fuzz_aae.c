/*
 * fuzz_aae.c - libFuzzer target for the anti-entropy exchange messages
 * (node/aae_wire.c, internode frames of kind NODE_FRAME_AAE; format: the
 * WIRE section of node/aae.h), then the driver's handlers (node/aae.c,
 * node/aae_xchg.c).
 *
 * The input is frames (fuzz_util.h) fed to node n1 of fuzz_aae.h, which
 * says what a tag means. For each frame body, properties:
 *   - aae__decode never crashes on any bytes;
 *   - what decodes re-encodes with the module's encoders (aae__enc_*)
 *     into bytes that decode to the same fields and entries, and that
 *     re-encode to themselves (the encoding is canonical);
 *   - the entries a decoded REPAIR or REPLY promises are all readable
 *     with aae__entry_next, and they fill exactly the bytes it counted;
 *   - what a node without anti-entropy answers (aae_refusal) is nothing
 *     or one REFUSE with status SH_EDISABLED, and nothing when the body
 *     does not decode;
 * then, fed to n1 (aae_recv), nothing crashes, and every message n1 sends
 * names a recipient and decodes.
 */
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "fuzz_aae.h"
#include "fuzz_util.h"
#include "node/aae_int.h"

/* Re-encode a decoded message m into out with the module's encoders. */
static void reencode(const aae__msg_t *m, sh_buf_t *out)
{
	const uint8_t *p, *end;
	aae__entry_t e;

	switch (m->type) {
	case AAE_MSG_MERKLE:
		FUZZ_CHECK(aae__enc_merkle(out, m->merkle, m->merkle_len) == 0);
		return;
	case AAE_MSG_REFUSE:
		FUZZ_CHECK(aae__enc_refuse(out, m->xid, m->partition,
		                           (int)m->status) == 0);
		return;
	default: break;
	}
	FUZZ_CHECK(m->type == AAE_MSG_REPAIR || m->type == AAE_MSG_REPLY);
	FUZZ_CHECK(aae__enc_head(out, m->type, m->xid, m->partition, m->joined,
	                         m->count) == 0);
	p = m->entries; /* set by a decoded REPAIR or REPLY */
	end = p + m->entries_len;
	for (uint32_t i = 0; i < m->count; i++) {
		FUZZ_CHECK(aae__entry_next(&p, end, m->type, &e) == 0);
		FUZZ_CHECK(aae__enc_entry(out, m->type, &e) == 0);
	}
	FUZZ_CHECK(p == end); /* the entries fill what decode counted */
}

static int same_bytes(const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Entry by entry, a and b (both decoded) hold the same entries. */
static void same_entries(const aae__msg_t *a, const aae__msg_t *b)
{
	const uint8_t *pa = a->entries, *pb = b->entries;
	aae__entry_t ea, eb;

	for (uint32_t i = 0; i < a->count; i++) {
		FUZZ_CHECK(aae__entry_next(&pa, a->entries + a->entries_len,
		                           a->type, &ea) == 0);
		FUZZ_CHECK(aae__entry_next(&pb, b->entries + b->entries_len,
		                           b->type, &eb) == 0);
		FUZZ_CHECK(same_bytes(ea.bucket, ea.blen, eb.bucket, eb.blen));
		FUZZ_CHECK(same_bytes(ea.key, ea.klen, eb.key, eb.klen));
		FUZZ_CHECK(ea.has_record == eb.has_record);
		FUZZ_CHECK(same_bytes(ea.record, ea.rlen, eb.record, eb.rlen));
		FUZZ_CHECK(ea.want_back == eb.want_back);
	}
}

static void same_msg(const aae__msg_t *a, const aae__msg_t *b)
{
	FUZZ_CHECK(a->type == b->type && a->xid == b->xid &&
	           a->partition == b->partition && a->status == b->status &&
	           a->joined == b->joined && a->count == b->count);
	FUZZ_CHECK(
	    same_bytes(a->merkle, a->merkle_len, b->merkle, b->merkle_len));
	same_entries(a, b);
}

/* The decode / re-encode properties of one message body. */
static void roundtrip(const uint8_t *body, size_t len)
{
	aae__msg_t m, m2;
	sh_buf_t once, twice;

	if (aae__decode(body, len, &m) != 0)
		return; /* rejected: fine, as long as it did not crash */
	sh_buf_init(&once);
	sh_buf_init(&twice);
	reencode(&m, &once);
	FUZZ_CHECK(aae__decode(once.data, once.len, &m2) == 0);
	same_msg(&m, &m2);
	reencode(&m2, &twice);
	FUZZ_CHECK(same_bytes(once.data, once.len, twice.data, twice.len));
	sh_buf_free(&once);
	sh_buf_free(&twice);
}

/* A node with anti-entropy off answers a REFUSE of its own or nothing. */
static void refusal(const uint8_t *body, size_t len)
{
	sh_buf_t out;
	aae__msg_t m;

	sh_buf_init(&out);
	int rc = aae_refusal(body, len, &out);
	FUZZ_CHECK(rc == 0 || out.len == 0);
	if (out.len > 0) {
		FUZZ_CHECK(aae__decode(out.data, out.len, &m) == 0);
		FUZZ_CHECK(m.type == AAE_MSG_REFUSE &&
		           m.status == SH_EDISABLED);
	}
	sh_buf_free(&out);
}

/* n1's outputs: each to someone, each a message its peers can decode. */
static void take(aae_t *a)
{
	aae_ready_t rd;
	aae__msg_t m;

	aae_ready(a, &rd);
	for (size_t i = 0; i < rd.msg_count; i++) {
		FUZZ_CHECK(rd.msgs[i].to != NULL && rd.msgs[i].to[0] != '\0');
		FUZZ_CHECK(aae__decode(rd.msgs[i].data, rd.msgs[i].len, &m) ==
		           0);
	}
	aae_advance(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_aae_node_t n1;
	fuzz_frames_t f;
	const uint8_t *body;
	size_t len;
	uint8_t tag;
	uint64_t now = FUZZ_AAE_T0;

	fuzz_aae_open(&n1, 0);
	take(&n1.a);
	fuzz_frames_init(&f, data, size);
	while (fuzz_frames_next(&f, &tag, &body, &len)) {
		roundtrip(body, len);
		refusal(body, len);
		(void)fuzz_aae_step(&n1, &now, tag, body, len);
		take(&n1.a);
	}
	fuzz_aae_close(&n1);
	return 0;
}
