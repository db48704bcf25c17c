/*
 * fuzz_dvv.c - libFuzzer target for crdt/dvv.c's decoders: dvv_decode (a
 * key-value object, the body of a kv record) and dvv_ctx_decode (a client
 * context, the X-Shoal-Context header after base64). Formats: crdt/dvv.h.
 *
 * Properties, on every input either decoder accepts:
 *   - the result keeps its invariants (dvv_check, crdt_ctx_check);
 *   - encode, decode again: an equal object, whose encoding is the same
 *     bytes (the encoding is canonical) and whose hash is the same;
 *   - join with itself changes nothing (dvv_sync is idempotent).
 */
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "crdt/dvv.h"
#include "fuzz_util.h"

static void fuzz_object(const uint8_t *data, size_t size)
{
	dvv_limits_t lim;
	dvv_t a, b, c;
	sh_buf_t e1, e2;

	/* small limits: the limit checks are part of the decoder */
	lim.value_bytes_max = 4096;
	lim.siblings_max = 64;
	dvv_init(&a);
	dvv_init(&b);
	dvv_init(&c);
	sh_buf_init(&e1);
	sh_buf_init(&e2);
	if (dvv_decode(&a, data, size, &lim) != 0)
		goto out;
	FUZZ_CHECK(dvv_check(&a));
	FUZZ_CHECK(dvv_encode(&a, &e1) == 0);
	FUZZ_CHECK(dvv_decode(&b, e1.data, e1.len, &lim) == 0);
	FUZZ_CHECK(dvv_check(&b));
	FUZZ_CHECK(dvv_equal(&a, &b));
	FUZZ_CHECK(dvv_encode(&b, &e2) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	FUZZ_CHECK(dvv_hash(&a) == dvv_hash(&b));
	FUZZ_CHECK(dvv_copy(&c, &a) == 0);
	FUZZ_CHECK(dvv_sync(&c, &b) == 0);
	FUZZ_CHECK(dvv_check(&c));
	FUZZ_CHECK(dvv_equal(&c, &a));
	(void)dvv_live_count(&a);
	(void)dvv_is_deleted(&a);
out:
	dvv_free(&a);
	dvv_free(&b);
	dvv_free(&c);
	sh_buf_free(&e1);
	sh_buf_free(&e2);
}

static void fuzz_context(const uint8_t *data, size_t size)
{
	crdt_ctx_t a, b, c;
	sh_buf_t e1, e2;

	crdt_ctx_init(&a);
	crdt_ctx_init(&b);
	crdt_ctx_init(&c);
	sh_buf_init(&e1);
	sh_buf_init(&e2);
	if (dvv_ctx_decode(&a, data, size) != 0)
		goto out;
	FUZZ_CHECK(crdt_ctx_check(&a));
	FUZZ_CHECK(dvv_ctx_encode(&a, &e1) == 0);
	FUZZ_CHECK(dvv_ctx_decode(&b, e1.data, e1.len) == 0);
	FUZZ_CHECK(crdt_ctx_equal(&a, &b));
	FUZZ_CHECK(dvv_ctx_encode(&b, &e2) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	FUZZ_CHECK(crdt_ctx_copy(&c, &a) == 0);
	FUZZ_CHECK(crdt_ctx_merge(&c, &b) == 0);
	FUZZ_CHECK(crdt_ctx_check(&c));
	FUZZ_CHECK(crdt_ctx_equal(&c, &a));
out:
	crdt_ctx_free(&a);
	crdt_ctx_free(&b);
	crdt_ctx_free(&c);
	sh_buf_free(&e1);
	sh_buf_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the two formats start with different tags: try both */
	fuzz_object(data, size);
	fuzz_context(data, size);
	return 0;
}
