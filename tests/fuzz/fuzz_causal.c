/*
 * fuzz_causal.c - libFuzzer target for crdt_ctx_decode (crdt/causal.c):
 * a causal context, the msgpack item inside every object and client
 * context. Format: crdt/causal.h.
 *
 * Properties, on every input the decoder accepts (one item; what follows
 * it is the caller's, and ignored here):
 *   - crdt_ctx_check holds;
 *   - encode, decode again: an equal context (crdt_ctx_equal, leq both
 *     ways) that encodes to the same bytes;
 *   - merging it with an equal copy changes nothing.
 */
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_mp.h"
#include "crdt/causal.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crdt_ctx_t a, b, c;
	sh_buf_t e1, e2;
	sh_mp_reader_t r;
	sh_mp_writer_t w;
	size_t i;

	crdt_ctx_init(&a);
	crdt_ctx_init(&b);
	crdt_ctx_init(&c);
	sh_buf_init(&e1);
	sh_buf_init(&e2);
	sh_mp_reader_init(&r, data, size);
	if (crdt_ctx_decode(&r, &a) != 0)
		goto out;
	FUZZ_CHECK(crdt_ctx_check(&a));
	sh_mp_writer_init(&w, &e1);
	FUZZ_CHECK(crdt_ctx_encode(&a, &w) == 0);
	sh_mp_reader_init(&r, e1.data, e1.len);
	FUZZ_CHECK(crdt_ctx_decode(&r, &b) == 0);
	FUZZ_CHECK(sh_mp_reader_left(&r) == 0);
	FUZZ_CHECK(crdt_ctx_check(&b));
	FUZZ_CHECK(crdt_ctx_equal(&a, &b));
	FUZZ_CHECK(crdt_ctx_leq(&a, &b) && crdt_ctx_leq(&b, &a));
	sh_mp_writer_init(&w, &e2);
	FUZZ_CHECK(crdt_ctx_encode(&b, &w) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	FUZZ_CHECK(crdt_ctx_copy(&c, &a) == 0);
	FUZZ_CHECK(crdt_ctx_merge(&c, &b) == 0);
	FUZZ_CHECK(crdt_ctx_check(&c));
	FUZZ_CHECK(crdt_ctx_equal(&c, &a));
	/* every dot the context lists is one it contains */
	for (i = 0; i < a.cloud_len; i++)
		FUZZ_CHECK(crdt_ctx_contains(&a, &a.cloud[i]));
	for (i = 0; i < a.vv_len; i++)
		FUZZ_CHECK(crdt_ctx_max(&a, &a.vv[i].actor) >= a.vv[i].counter);
out:
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
	crdt_ctx_free(&c);
	sh_buf_free(&e1);
	sh_buf_free(&e2);
	return 0;
}
