/*
 * fuzz_crdt.c - libFuzzer target for crdt_decode (crdt/crdt_codec.c): the
 * encoded convergent objects of every type, the body of a dt record.
 * Format: crdt/crdt.h, "ENCODING".
 *
 * Properties, on every input the decoder accepts:
 *   - crdt_check holds;
 *   - encode, decode again: crdt_equal, and the same bytes again (the
 *     encoding is canonical);
 *   - merging an object with an equal copy changes nothing (idempotence).
 */
#include <string.h>

#include "common/sh_buf.h"
#include "crdt/crdt.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crdt_t a, b, c;
	sh_buf_t e1, e2;

	/* crdt_decode accepts any type into an initialised object */
	crdt_init(&a, CRDT_COUNTER);
	crdt_init(&b, CRDT_SET);
	crdt_init(&c, CRDT_MAP);
	sh_buf_init(&e1);
	sh_buf_init(&e2);
	if (crdt_decode(&a, data, size) != 0)
		goto out;
	FUZZ_CHECK(crdt_check(&a));
	FUZZ_CHECK(crdt_type_valid((int)crdt_type(&a)));
	FUZZ_CHECK(crdt_encode(&a, &e1) == 0);
	FUZZ_CHECK(crdt_decode(&b, e1.data, e1.len) == 0);
	FUZZ_CHECK(crdt_check(&b));
	FUZZ_CHECK(crdt_equal(&a, &b));
	FUZZ_CHECK(crdt_encode(&b, &e2) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	FUZZ_CHECK(crdt_copy(&c, &a) == 0);
	FUZZ_CHECK(crdt_merge(&c, &b) == 0);
	FUZZ_CHECK(crdt_check(&c));
	FUZZ_CHECK(crdt_equal(&c, &a));
out:
	crdt_free(&a);
	crdt_free(&b);
	crdt_free(&c);
	sh_buf_free(&e1);
	sh_buf_free(&e2);
	return 0;
}
