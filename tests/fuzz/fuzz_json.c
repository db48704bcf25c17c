/*
 * fuzz_json.c - libFuzzer target for json_parse (node/json_read.c), the
 * strict reader of CRDT operation bodies (node/json.h).
 *
 * Each input is parsed twice: with the default limits, and with tight
 * ones (depth 4, 64 values, 4 KiB) so the limit checks are reached.
 * Properties, on every document the reader accepts:
 *   - the tree is consistent: a container's count is its number of
 *     children, object members have keys, json_get finds each key;
 *   - writing the tree back with the writer (json_w_*) gives a text the
 *     reader accepts, and that parses to the same tree (strings and keys
 *     byte for byte, integers exactly, finite doubles exactly).
 */
#include <math.h>
#include <string.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "fuzz_util.h"
#include "node/json.h"

static void check_tree(const json_doc_t *d, const json_node_t *n, int depth)
{
	const json_node_t *ch;
	uint32_t count = 0;

	FUZZ_CHECK(depth <= JSON_DEPTH_MAX_LIMIT + 1);
	if (n->type == JSON_STRING)
		FUZZ_CHECK(n->str != NULL && n->str[n->str_len] == '\0');
	for (ch = json_first(d, n); ch != NULL; ch = json_next(d, ch)) {
		count++;
		FUZZ_CHECK(count <= d->count);
		if (n->type == JSON_OBJECT) {
			FUZZ_CHECK(ch->key != NULL);
			FUZZ_CHECK(ch->key[ch->key_len] == '\0');
			/* keys are unique; json_get matches NUL-terminated
			 * names, so only keys without NULs */
			if (strlen(ch->key) == ch->key_len)
				FUZZ_CHECK(json_get(d, n, ch->key) == ch);
		} else {
			FUZZ_CHECK(ch->key == NULL);
		}
		check_tree(d, ch, depth + 1);
	}
	FUZZ_CHECK(count == n->count);
	if (n->type != JSON_ARRAY && n->type != JSON_OBJECT)
		FUZZ_CHECK(n->count == 0 && n->child == 0);
}

static void write_tree(json_w_t *w, const json_doc_t *d, const json_node_t *n)
{
	const json_node_t *ch;

	switch (n->type) {
	case JSON_NULL: json_w_null(w); break;
	case JSON_FALSE: json_w_bool(w, 0); break;
	case JSON_TRUE: json_w_bool(w, 1); break;
	case JSON_NUMBER:
		if (n->is_int && !n->neg)
			json_w_u64(w, n->mag);
		else if (n->is_int && n->mag <= (uint64_t)INT64_MAX)
			json_w_i64(w, -(int64_t)n->mag);
		else
			json_w_double(w, n->num);
		break;
	case JSON_STRING: json_w_str_n(w, n->str, n->str_len); break;
	case JSON_ARRAY:
		json_w_arr_begin(w);
		for (ch = json_first(d, n); ch != NULL; ch = json_next(d, ch))
			write_tree(w, d, ch);
		json_w_arr_end(w);
		break;
	case JSON_OBJECT:
		json_w_obj_begin(w);
		for (ch = json_first(d, n); ch != NULL; ch = json_next(d, ch)) {
			json_w_key_n(w, ch->key, ch->key_len);
			write_tree(w, d, ch);
		}
		json_w_obj_end(w);
		break;
	}
}

static void same_tree(const json_doc_t *da, const json_node_t *a,
                      const json_doc_t *db, const json_node_t *b)
{
	const json_node_t *ca, *cb;

	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(a->count == b->count);
	FUZZ_CHECK(a->key_len == b->key_len);
	if (a->key_len != 0)
		FUZZ_CHECK(memcmp(a->key, b->key, a->key_len) == 0);
	if (a->type == JSON_STRING) {
		FUZZ_CHECK(a->str_len == b->str_len);
		FUZZ_CHECK(memcmp(a->str, b->str, a->str_len) == 0);
	}
	if (a->type == JSON_NUMBER) {
		int big_neg =
		    a->is_int && a->neg && a->mag > (uint64_t)INT64_MAX;

		if (a->is_int && !big_neg) {
			/* "-0" is written as 0 */
			FUZZ_CHECK(b->is_int && a->mag == b->mag);
			FUZZ_CHECK(a->mag == 0 || a->neg == b->neg);
		} else if (isfinite(a->num)) {
			FUZZ_CHECK(a->num == b->num);
		}
	}
	ca = json_first(da, a);
	cb = json_first(db, b);
	while (ca != NULL && cb != NULL) {
		same_tree(da, ca, db, cb);
		ca = json_next(da, ca);
		cb = json_next(db, cb);
	}
	FUZZ_CHECK(ca == NULL && cb == NULL);
}

/* 1 if n holds a number the writer turns into null (NaN, infinities). */
static int has_nonfinite(const json_doc_t *d, const json_node_t *n)
{
	const json_node_t *ch;

	if (n->type == JSON_NUMBER && !n->is_int && !isfinite(n->num))
		return 1;
	if (n->type == JSON_NUMBER && n->is_int && n->neg &&
	    n->mag > (uint64_t)INT64_MAX && !isfinite(n->num))
		return 1;
	for (ch = json_first(d, n); ch != NULL; ch = json_next(d, ch))
		if (has_nonfinite(d, ch))
			return 1;
	return 0;
}

static void round_trip(const json_doc_t *d)
{
	json_doc_t d2;
	json_w_t w;
	sh_buf_t out;
	int rc;

	if (has_nonfinite(d, json_root(d)))
		return;
	sh_buf_init(&out);
	json_w_init(&w, &out);
	write_tree(&w, d, json_root(d));
	rc = json_w_end(&w);
	/* the writer nests less deeply than the reader may */
	if (rc == SH_EDEPTH)
		goto out;
	FUZZ_CHECK(rc == 0);
	json_doc_init(&d2, &d->lim);
	rc = json_parse(&d2, out.data, out.len);
	if (rc != 0)
		fprintf(stderr, "re-parse: %d at %zu: %s\n", rc, d2.err_pos,
		        d2.err_msg);
	FUZZ_CHECK(rc == 0 || rc == SH_ETOOBIG);
	if (rc == 0) {
		FUZZ_CHECK(d2.count == d->count);
		same_tree(d, json_root(d), &d2, json_root(&d2));
	}
	json_doc_free(&d2);
out:
	sh_buf_free(&out);
}

static void parse_with(const uint8_t *data, size_t size,
                       const json_limits_t *lim)
{
	json_doc_t d;
	int rc;

	json_doc_init(&d, lim);
	rc = json_parse(&d, data, size);
	if (rc == 0) {
		FUZZ_CHECK(d.err_msg == NULL);
		FUZZ_CHECK(json_root(&d) != NULL);
		check_tree(&d, json_root(&d), 0);
		round_trip(&d);
	} else {
		FUZZ_CHECK(rc == SH_ETRUNC || rc == SH_EMALFORMED ||
		           rc == SH_EDEPTH || rc == SH_ETOOBIG);
		FUZZ_CHECK(json_root(&d) == NULL);
		FUZZ_CHECK(d.err_msg != NULL);
		FUZZ_CHECK(d.err_pos <= size);
	}
	json_doc_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_limits_t tight = {4, 64, 4096};

	parse_with(data, size, NULL);
	parse_with(data, size, &tight);
	return 0;
}
