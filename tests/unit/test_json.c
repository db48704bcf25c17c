/* test_json.c - unit tests of node/json.h: the writer and the strict reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sh_buf.h"
#include "common/sh_err.h"
#include "node/json.h"

/* The buffer's bytes as a NUL-terminated string (appends a NUL). */
static const char *buf_str(sh_buf_t *b)
{
	assert_int_equal(sh_buf_append_u8(b, 0), SH_OK);
	b->len--;
	return (const char *)b->data;
}

static void test_json_writer_nested_document(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	json_w_t w;
	json_w_init(&w, &b);
	json_w_obj_begin(&w);
	json_w_kv_str(&w, "error", "quorum");
	json_w_kv_u64(&w, "needed", 2);
	json_w_kv_i64(&w, "delta", -7);
	json_w_kv_bool(&w, "ok", 0);
	json_w_key(&w, "stored_on");
	json_w_arr_begin(&w);
	json_w_str(&w, "n1");
	json_w_null(&w);
	json_w_double(&w, 0.5);
	json_w_arr_begin(&w);
	json_w_arr_end(&w);
	json_w_obj_begin(&w);
	json_w_obj_end(&w);
	json_w_arr_end(&w);
	json_w_key(&w, "max");
	json_w_u64(&w, UINT64_MAX);
	json_w_key(&w, "min");
	json_w_i64(&w, INT64_MIN);
	json_w_obj_end(&w);
	assert_int_equal(json_w_end(&w), SH_OK);
	assert_string_equal(buf_str(&b),
	                    "{\"error\":\"quorum\",\"needed\":2,\"delta\":-7,"
	                    "\"ok\":false,\"stored_on\":[\"n1\",null,0.5,[],{}"
	                    "],\"max\":18446744073709551615,"
	                    "\"min\":-9223372036854775808}");
	sh_buf_free(&b);
}

static void test_json_writer_escapes_strings(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	/* quote, backslash, controls, DEL, valid UTF-8 (é, 😀), then
	 * invalid UTF-8: a lone continuation byte, an overlong '/', a
	 * truncated 3-byte sequence, an encoded surrogate */
	const char in[] = "q\"b\\n\n\r\t\b\f\x01\x1f\x7f"
	                  "\xc3\xa9\xf0\x9f\x98\x80"
	                  "\x80|\xc0\xaf|\xe2\x82|\xed\xa0\x80";
	assert_int_equal(json_escape(&b, in, sizeof in - 1), SH_OK);
	assert_string_equal(buf_str(&b),
	                    "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f"
	                    "\xc3\xa9\xf0\x9f\x98\x80"
	                    "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|"
	                    "\\ufffd\\ufffd\\ufffd\"");
	/* A NUL inside a key with an explicit length. */
	sh_buf_reset(&b);
	json_w_t w;
	json_w_init(&w, &b);
	json_w_obj_begin(&w);
	json_w_key_n(&w, "a\0b", 3);
	json_w_str_n(&w, "", 0);
	json_w_obj_end(&w);
	assert_int_equal(json_w_end(&w), SH_OK);
	assert_string_equal(buf_str(&b), "{\"a\\u0000b\":\"\"}");
	sh_buf_free(&b);
}

static void test_json_writer_output_reads_back(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	json_w_t w;
	json_w_init(&w, &b);
	json_w_arr_begin(&w);
	json_w_str_n(&w, all, 128); /* every ASCII byte */
	json_w_double(&w, 0.1);
	json_w_double(&w, 1e300);
	json_w_double(&w, 1.0 / 3.0);
	json_w_arr_end(&w);
	assert_int_equal(json_w_end(&w), SH_OK);
	json_doc_t d;
	json_doc_init(&d, NULL);
	assert_int_equal(json_parse(&d, b.data, b.len), SH_OK);
	const json_node_t *s = json_first(&d, json_root(&d));
	assert_int_equal(s->str_len, 128);
	assert_memory_equal(s->str, all, 128);
	double v;
	const json_node_t *n = json_next(&d, s);
	assert_int_equal(json_get_double(n, &v), SH_OK);
	assert_true(v == 0.1);
	n = json_next(&d, n);
	assert_int_equal(json_get_double(n, &v), SH_OK);
	assert_true(v == 1e300);
	n = json_next(&d, n);
	assert_int_equal(json_get_double(n, &v), SH_OK);
	assert_true(v == 1.0 / 3.0);
	json_doc_free(&d);
	sh_buf_free(&b);
}

static void test_json_writer_rejects_misuse(void **state)
{
	(void)state;
	sh_buf_t b;
	sh_buf_init(&b);
	json_w_t w;

	json_w_init(&w, &b); /* a value where a key is due */
	json_w_obj_begin(&w);
	assert_int_equal(json_w_u64(&w, 1), SH_EINVAL);
	assert_int_equal(json_w_end(&w), SH_EINVAL);

	json_w_init(&w, &b); /* a key in an array */
	json_w_arr_begin(&w);
	assert_int_equal(json_w_key(&w, "k"), SH_EINVAL);

	json_w_init(&w, &b); /* closing the wrong container */
	json_w_arr_begin(&w);
	assert_int_equal(json_w_obj_end(&w), SH_EINVAL);

	json_w_init(&w, &b); /* a key without its value */
	json_w_obj_begin(&w);
	json_w_key(&w, "k");
	assert_int_equal(json_w_obj_end(&w), SH_EINVAL);

	json_w_init(&w, &b); /* two top-level values */
	json_w_u64(&w, 1);
	assert_int_equal(json_w_u64(&w, 2), SH_EINVAL);

	json_w_init(&w, &b); /* unclosed, and nothing at all */
	json_w_arr_begin(&w);
	assert_int_equal(json_w_end(&w), SH_EINVAL);
	json_w_init(&w, &b);
	assert_int_equal(json_w_end(&w), SH_EINVAL);

	json_w_init(&w, &b); /* too deep */
	for (int i = 0; i < JSON_W_DEPTH_MAX; i++)
		assert_int_equal(json_w_arr_begin(&w), SH_OK);
	assert_int_equal(json_w_arr_begin(&w), SH_EDEPTH);
	assert_int_equal(json_w_arr_end(&w), SH_EDEPTH); /* sticky */
	assert_int_equal(json_w_end(&w), SH_EDEPTH);

	json_w_init(&w, &b); /* NaN and infinity are null */
	json_w_arr_begin(&w);
	json_w_double(&w, strtod("nan", NULL));
	json_w_double(&w, strtod("inf", NULL));
	json_w_arr_end(&w);
	assert_int_equal(json_w_end(&w), SH_OK);
	assert_non_null(strstr(buf_str(&b), "[null,null]"));
	sh_buf_free(&b);
}

static void test_json_reader_parses_crdt_operation(void **state)
{
	(void)state;
	const char *text =
	    "{\"type\":\"map\",\"update\":{\"sku-1\":{\"counter\":"
	    "{\"increment\":2}}},\"remove\":[\"sku-9\"]}";
	json_doc_t d;
	json_doc_init(&d, NULL);
	assert_int_equal(json_parse(&d, text, strlen(text)), SH_OK);
	assert_null(d.err_msg);
	const json_node_t *root = json_root(&d);
	assert_int_equal(root->type, JSON_OBJECT);
	assert_int_equal(root->count, 3);
	const char *s;
	size_t n;
	assert_int_equal(json_get_str(json_get(&d, root, "type"), &s, &n),
	                 SH_OK);
	assert_string_equal(s, "map");
	const json_node_t *upd = json_get(&d, root, "update");
	const json_node_t *sku = json_first(&d, upd);
	assert_int_equal(sku->key_len, 5);
	assert_string_equal(sku->key, "sku-1");
	const json_node_t *inc =
	    json_get(&d, json_get(&d, sku, "counter"), "increment");
	int64_t i;
	assert_int_equal(json_get_i64(inc, &i), SH_OK);
	assert_int_equal(i, 2);
	const json_node_t *rm = json_get(&d, root, "remove");
	assert_int_equal(rm->type, JSON_ARRAY);
	assert_int_equal(rm->count, 1);
	assert_int_equal(json_get_str(json_first(&d, rm), &s, &n), SH_OK);
	assert_string_equal(s, "sku-9");
	assert_null(json_next(&d, json_first(&d, rm)));
	assert_null(json_get(&d, root, "missing"));
	assert_null(json_get(&d, rm, "type")); /* not an object */
	assert_int_equal(json_get_i64(rm, &i), SH_ETYPE);
	json_doc_free(&d);
}

static void test_json_reader_values_and_numbers(void **state)
{
	(void)state;
	const char *text =
	    " [ true , false , null , -0 , 12.5e-1 , -9223372036854775808,"
	    " 18446744073709551615 , 18446744073709551616 , 1e400 ,"
	    " \"\\u00e9\\ud83d\\ude00\\n\\/\\u0000x\" , \"\xc3\xa9\" ] ";
	json_doc_t d;
	json_doc_init(&d, NULL);
	assert_int_equal(json_parse(&d, text, strlen(text)), SH_OK);
	const json_node_t *n = json_first(&d, json_root(&d));
	int b;
	int64_t i;
	uint64_t u;
	double v;
	assert_int_equal(json_get_bool(n, &b), SH_OK);
	assert_int_equal(b, 1);
	n = json_next(&d, n);
	assert_int_equal(json_get_bool(n, &b), SH_OK);
	assert_int_equal(b, 0);
	n = json_next(&d, n);
	assert_int_equal(n->type, JSON_NULL);
	n = json_next(&d, n); /* -0 */
	assert_int_equal(json_get_u64(n, &u), SH_OK);
	assert_int_equal(u, 0);
	n = json_next(&d, n); /* 12.5e-1 */
	assert_int_equal(json_get_i64(n, &i), SH_ERANGE);
	assert_int_equal(json_get_double(n, &v), SH_OK);
	assert_true(v == 1.25);
	n = json_next(&d, n);
	assert_int_equal(json_get_i64(n, &i), SH_OK);
	assert_true(i == INT64_MIN);
	assert_int_equal(json_get_u64(n, &u), SH_ERANGE);
	n = json_next(&d, n);
	assert_int_equal(json_get_u64(n, &u), SH_OK);
	assert_true(u == UINT64_MAX);
	assert_int_equal(json_get_i64(n, &i), SH_ERANGE);
	n = json_next(&d, n); /* 2^64 */
	assert_int_equal(json_get_u64(n, &u), SH_ERANGE);
	assert_int_equal(json_get_double(n, &v), SH_OK);
	n = json_next(&d, n); /* 1e400 */
	assert_int_equal(json_get_double(n, &v), SH_ERANGE);
	n = json_next(&d, n);
	assert_int_equal(n->str_len, 2 + 4 + 1 + 1 + 1 + 1);
	assert_memory_equal(n->str, "\xc3\xa9\xf0\x9f\x98\x80\n/\0x", 10);
	n = json_next(&d, n);
	assert_string_equal(n->str, "\xc3\xa9");
	assert_null(json_next(&d, n));
	assert_string_equal(json_type_name(JSON_OBJECT), "object");
	json_doc_free(&d);
}

struct bad_case {
	const char *text;
	int err;
	size_t pos;
};

static void test_json_reader_rejects_malformed_with_position(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"", SH_ETRUNC, 0},
	    {"   ", SH_ETRUNC, 3},
	    {"[1,]", SH_EMALFORMED, 3},
	    {"{\"a\":1,}", SH_EMALFORMED, 7},
	    {"{\"a\" 1}", SH_EMALFORMED, 5},
	    {"{a:1}", SH_EMALFORMED, 1},
	    {"[01]", SH_EMALFORMED, 2},
	    {"[1 2]", SH_EMALFORMED, 3},
	    {"[+1]", SH_EMALFORMED, 1},
	    {"[.5]", SH_EMALFORMED, 1},
	    {"[1.]", SH_EMALFORMED, 3},
	    {"[1e]", SH_EMALFORMED, 3},
	    {"[NaN]", SH_EMALFORMED, 1},
	    {"[tru]", SH_EMALFORMED, 1},
	    {"[nul", SH_ETRUNC, 4},
	    {"\"a\tb\"", SH_EMALFORMED, 2},
	    {"\"\\x\"", SH_EMALFORMED, 1},
	    {"\"\\u12g4\"", SH_EMALFORMED, 5},
	    {"\"\\udc00\"", SH_EMALFORMED, 1},
	    {"\"\\ud800x\"", SH_EMALFORMED, 1},
	    {"\"\\ud800\\u0041\"", SH_EMALFORMED, 1},
	    {"\"\xff\"", SH_EMALFORMED, 1},
	    {"\"\xc0\xaf\"", SH_EMALFORMED, 1},
	    {"\"\xed\xa0\x80\"", SH_EMALFORMED, 1},
	    {"{\"a\":1,\"b\":2,\"a\":3}", SH_EMALFORMED, 0},
	    {"{} {}", SH_EMALFORMED, 3},
	    {"[1] x", SH_EMALFORMED, 4},
	    {"/* c */ 1", SH_EMALFORMED, 0},
	    {"[\"abc", SH_ETRUNC, 5},
	    {"{\"a\":", SH_ETRUNC, 5},
	};
	json_doc_t d;
	json_doc_init(&d, NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad_case *c = &cases[i];
		int rc = json_parse(&d, c->text, strlen(c->text));
		if (rc != c->err || d.err_pos != c->pos)
			fail_msg("case %zu '%s': rc %d pos %zu (%s)", i,
			         c->text, rc, d.err_pos, d.err_msg);
		assert_non_null(d.err_msg);
		assert_null(json_root(&d));
	}
	json_doc_free(&d);
}

static void test_json_reader_bounds_depth_size_and_count(void **state)
{
	(void)state;
	char deep[1001];
	json_doc_t d;
	json_doc_init(&d, NULL);
	/* depth_max arrays nest; one more does not */
	for (int levels = JSON_DEPTH_MAX_DEFAULT;
	     levels <= JSON_DEPTH_MAX_DEFAULT + 1; levels++) {
		memset(deep, '[', (size_t)levels);
		memset(deep + levels, ']', (size_t)levels);
		int rc = json_parse(&d, deep, 2 * (size_t)levels);
		assert_int_equal(
		    rc, levels == JSON_DEPTH_MAX_DEFAULT ? SH_OK : SH_EDEPTH);
	}
	assert_int_equal(d.err_pos, JSON_DEPTH_MAX_DEFAULT);
	/* 1000 levels: refused early, no deep recursion */
	memset(deep, '[', 1000);
	assert_int_equal(json_parse(&d, deep, 1000), SH_EDEPTH);
	memset(deep, '{', 1000); /* malformed before too deep */
	assert_int_equal(json_parse(&d, deep, 1000), SH_EMALFORMED);
	json_doc_free(&d);

	json_limits_t lim = {.depth_max = 2, .nodes_max = 3, .bytes_max = 16};
	json_doc_init(&d, &lim);
	assert_int_equal(json_parse(&d, "[[1]]", 5), SH_OK);
	assert_int_equal(json_parse(&d, "[[[]]]", 6), SH_EDEPTH);
	assert_int_equal(json_parse(&d, "[1,2]", 5), SH_OK);
	assert_int_equal(json_parse(&d, "[1,2,3]", 7), SH_ETOOBIG);
	assert_int_equal(d.err_pos, 5);
	assert_int_equal(json_parse(&d, "\"0123456789abcdef\"", 18),
	                 SH_ETOOBIG);
	json_doc_free(&d);

	char num[JSON_NUMBER_BYTES_MAX + 2];
	memset(num, '1', sizeof num);
	json_doc_init(&d, NULL);
	assert_int_equal(json_parse(&d, num, JSON_NUMBER_BYTES_MAX), SH_OK);
	assert_int_equal(json_parse(&d, num, JSON_NUMBER_BYTES_MAX + 1),
	                 SH_ETOOBIG);
	json_doc_free(&d);
}

static void test_json_reader_every_truncation_fails(void **state)
{
	(void)state;
	const char *text =
	    "{\"type\":\"map\",\"update\":{\"sku-\xc3\xa9\":{\"counter\":"
	    "{\"increment\":-2.5e+3}},\"s\\ud83d\\ude00\\\"\":[true,false,"
	    "null,{}]},\"remove\":[\"sku-9\",[]]}";
	size_t len = strlen(text);
	json_doc_t d;
	json_doc_init(&d, NULL);
	assert_int_equal(json_parse(&d, text, len), SH_OK);
	for (size_t cut = 0; cut < len; cut++) {
		/* a copy of exactly cut bytes, so ASan sees any over-read */
		char *part = malloc(cut > 0 ? cut : 1);
		assert_non_null(part);
		memcpy(part, text, cut);
		int rc = json_parse(&d, part, cut);
		if (rc != SH_ETRUNC)
			fail_msg("cut %zu: rc %d (%s at %zu)", cut, rc,
			         d.err_msg, d.err_pos);
		assert_int_equal(d.err_pos, cut);
		free(part);
	}
	/* and every single-byte corruption is an error or a valid doc */
	char *mut = malloc(len);
	assert_non_null(mut);
	for (size_t i = 0; i < len; i++) {
		static const char subst[] = "{}[]\",:x\\0";
		for (size_t k = 0; k < sizeof subst - 1; k++) {
			memcpy(mut, text, len);
			mut[i] = subst[k];
			int rc = json_parse(&d, mut, len);
			assert_true(rc == SH_OK || rc == SH_EMALFORMED ||
			            rc == SH_ETRUNC || rc == SH_EDEPTH);
			if (rc != SH_OK)
				assert_true(d.err_pos <= len);
		}
	}
	free(mut);
	json_doc_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_writer_nested_document),
	    cmocka_unit_test(test_json_writer_escapes_strings),
	    cmocka_unit_test(test_json_writer_output_reads_back),
	    cmocka_unit_test(test_json_writer_rejects_misuse),
	    cmocka_unit_test(test_json_reader_parses_crdt_operation),
	    cmocka_unit_test(test_json_reader_values_and_numbers),
	    cmocka_unit_test(test_json_reader_rejects_malformed_with_position),
	    cmocka_unit_test(test_json_reader_bounds_depth_size_and_count),
	    cmocka_unit_test(test_json_reader_every_truncation_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
