/*
 * json.h - a small JSON writer and a small strict JSON reader.
 *
 * The writer (json_w_*) appends RFC 8259 JSON to an sh_buf_t: objects,
 * arrays, strings (escaped; invalid UTF-8 becomes U+FFFD), integers,
 * doubles, booleans and null. Misuse (a value where a key is due, closing
 * the wrong container, nesting past JSON_W_DEPTH_MAX) and allocation
 * failure are sticky errors: every later call does nothing and returns
 * the first error, so a caller can write a whole document and check once
 * with json_w_end.
 *
 * The reader (json_parse) turns a complete JSON text into a read-only tree
 * (json_doc_t) of json_node_t. It is strict: RFC 8259 grammar only (no
 * comments, no trailing commas, no leading zeros, no NaN), well-formed
 * UTF-8, paired surrogates, no duplicate keys in an object. It is built for
 * input from the network: the input size, the nesting depth and the number
 * of values are bounded by json_limits_t and checked before memory is
 * allocated for them, and a failure reports the byte offset where the input
 * went wrong. The HTTP bodies it reads are CRDT operations (DESIGN.md
 * section 9, issue 4), e.g.
 *   {"type":"map","update":{"sku-1":{"counter":{"increment":2}}}}
 */
#ifndef SHOAL_JSON_H
#define SHOAL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/sh_buf.h"

/* ---- writing ---- */

/* Deepest nesting of objects and arrays the writer accepts. */
#define JSON_W_DEPTH_MAX 32

typedef struct json_w {
	sh_buf_t *out;  /* borrowed; bytes are appended here */
	int err;        /* first error (sticky), else 0 */
	uint32_t depth; /* open containers */
	/* per open container: bit 0 object, bit 1 has an item */
	uint8_t stack[JSON_W_DEPTH_MAX];
	uint8_t want_value; /* a key was written; its value is due */
	uint8_t done;       /* the top-level value is complete */
} json_w_t;

/*
 * json_w_init - make w append one JSON value to out.
 * out is borrowed and must outlive w; bytes already in out are kept.
 */
void json_w_init(json_w_t *w, sh_buf_t *out);

/*
 * json_w_obj_begin / json_w_arr_begin - open an object or array, as a value
 * (top level, array item, or after a key). SH_EDEPTH past JSON_W_DEPTH_MAX.
 * json_w_obj_end / json_w_arr_end - close the innermost container, which
 * must be of that kind (else SH_EINVAL); an object must not have a key
 * waiting for its value.
 * All return w->err after the call: 0, SH_EINVAL, SH_EDEPTH or SH_ENOMEM.
 */
int json_w_obj_begin(json_w_t *w);
int json_w_obj_end(json_w_t *w);
int json_w_arr_begin(json_w_t *w);
int json_w_arr_end(json_w_t *w);

/*
 * json_w_key - write an object member's name (NUL-terminated key).
 * json_w_key_n - the same for len bytes at key (may hold any bytes).
 * Only inside an object, and only where a name is due (else SH_EINVAL).
 */
int json_w_key(json_w_t *w, const char *key);
int json_w_key_n(json_w_t *w, const void *key, size_t len);

/*
 * Values: each is written where a value is allowed (top level once, an
 * array item, or after a key), else SH_EINVAL.
 * json_w_str - a NUL-terminated string; json_w_str_n - len bytes at s.
 *   Quotes, backslashes and control characters are escaped; bytes that
 *   are not well-formed UTF-8 are written as \ufffd (JSON cannot carry
 *   arbitrary bytes: encode binary data yourself if it must round-trip).
 * json_w_u64 / json_w_i64 - an integer, exactly.
 * json_w_double - a number with up to 17 significant digits; NaN and the
 *   infinities, which JSON cannot represent, are written as null.
 * json_w_bool - true (v != 0) or false. json_w_null - null.
 * json_w_raw - len bytes of JSON the caller vouches is one valid value
 *   (for instance the output of another json_w_t); not checked.
 */
int json_w_str(json_w_t *w, const char *s);
int json_w_str_n(json_w_t *w, const void *s, size_t len);
int json_w_u64(json_w_t *w, uint64_t v);
int json_w_i64(json_w_t *w, int64_t v);
int json_w_double(json_w_t *w, double v);
int json_w_bool(json_w_t *w, int v);
int json_w_null(json_w_t *w);
int json_w_raw(json_w_t *w, const void *json, size_t len);

/* Member shorthands: json_w_key(w, key) followed by the value. */
int json_w_kv_str(json_w_t *w, const char *key, const char *s);
int json_w_kv_u64(json_w_t *w, const char *key, uint64_t v);
int json_w_kv_i64(json_w_t *w, const char *key, int64_t v);
int json_w_kv_bool(json_w_t *w, const char *key, int v);

/*
 * json_w_end - finish: 0 when exactly one complete value was written,
 * else the sticky error, or SH_EINVAL when containers are still open or
 * nothing was written. Does not free anything (w owns no memory).
 */
int json_w_end(json_w_t *w);

/*
 * json_escape - append s (len bytes) to out as a quoted JSON string, with
 * the escaping rules of json_w_str_n. 0 or SH_ENOMEM (out unchanged then).
 */
int json_escape(sh_buf_t *out, const void *s, size_t len);

/* ---- reading ---- */

#define JSON_DEPTH_MAX_DEFAULT 32
#define JSON_NODES_MAX_DEFAULT 65536
#define JSON_BYTES_MAX_DEFAULT (2u * 1024 * 1024)
/* json_limits_t.depth_max is clamped to this, to bound the C stack. */
#define JSON_DEPTH_MAX_LIMIT 256
/* Longest number token read (digits, sign, point, exponent). */
#define JSON_NUMBER_BYTES_MAX 128

typedef struct json_limits {
	uint32_t depth_max; /* nesting of arrays/objects; 0: default */
	uint32_t nodes_max; /* values in the document; 0: default */
	size_t bytes_max;   /* input length; 0: default */
} json_limits_t;

typedef enum json_type {
	JSON_NULL = 0,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
} json_type_t;

/*
 * One value of a parsed document. Read the fields directly or through the
 * accessors below. Children of an array or object are linked: `child` is
 * the index of the first, each child's `next` the index of the following
 * one; 0 means none (index 0 is the root, never a child). Use json_first /
 * json_next to walk them.
 */
typedef struct json_node {
	json_type_t type;
	uint32_t count; /* ARRAY: items; OBJECT: members; else 0 */
	uint32_t child; /* index of the first child, 0 if none */
	uint32_t next;  /* index of the next sibling, 0 if none */
	/* member name when the parent is an object, else NULL; decoded UTF-8,
	 * NUL-terminated (it may also contain NUL, see key_len) */
	const char *key;
	size_t key_len;
	/* STRING: decoded UTF-8, NUL-terminated, str_len bytes (\u0000 may
	 * put NULs inside); else NULL */
	const char *str;
	size_t str_len;
	/* NUMBER: the value as a double (nearest) ... */
	double num;
	/* ... and, when the token is an integer (no fraction or exponent)
	 * whose magnitude fits in 64 bits, is_int = 1, mag = |value|,
	 * neg = sign (so -0 has neg = 1, mag = 0). */
	uint64_t mag;
	uint8_t is_int;
	uint8_t neg;
} json_node_t;

typedef struct json_doc {
	json_node_t *nodes; /* owned; nodes[0] is the root after success */
	uint32_t count;     /* nodes in use */
	uint32_t cap;       /* nodes allocated */
	char *strs;         /* owned; decoded strings live here */
	size_t strs_len;
	size_t strs_cap;
	json_limits_t lim;
	/* After a failed json_parse: where (byte offset into the input) and
	 * why (a static string). err_msg is NULL after success. */
	size_t err_pos;
	const char *err_msg;
} json_doc_t;

/*
 * json_doc_init - make d an empty document with the limits lim (copied;
 * NULL or zero fields: the defaults). d owns nothing until json_parse.
 */
void json_doc_init(json_doc_t *d, const json_limits_t *lim);

/*
 * json_doc_free - release what d owns; every node and string pointer from
 * it becomes invalid. d can be parsed into again.
 */
void json_doc_free(json_doc_t *d);

/*
 * json_parse - parse the len bytes at text (borrowed for the call only:
 * the document keeps copies of its strings) as one complete JSON text,
 * replacing whatever d held. Returns:
 *   0            success: json_root(d) is the value;
 *   SH_ETRUNC    the input ended inside a value (more bytes could fix it);
 *   SH_EMALFORMED the input is not strict JSON;
 *   SH_EDEPTH    nesting deeper than lim.depth_max;
 *   SH_ETOOBIG   more than lim.bytes_max bytes, more than lim.nodes_max
 *                values, or a number longer than JSON_NUMBER_BYTES_MAX;
 *   SH_ENOMEM    allocation failed.
 * On failure d->err_pos and d->err_msg say where and why, and d holds no
 * document (json_root returns NULL).
 */
int json_parse(json_doc_t *d, const void *text, size_t len);

/* json_root - the top-level value, or NULL when d holds no document. */
const json_node_t *json_root(const json_doc_t *d);

/*
 * json_first - the first child of an array or object n (NULL when empty or
 * n is not a container). json_next - the sibling after n, or NULL.
 * Both return pointers into d, valid until json_doc_free or json_parse.
 */
const json_node_t *json_first(const json_doc_t *d, const json_node_t *n);
const json_node_t *json_next(const json_doc_t *d, const json_node_t *n);

/*
 * json_get - the member named key (NUL-terminated) of object obj, or NULL
 * when obj is NULL, not an object, or has no such member. Linear in the
 * number of members.
 */
const json_node_t *json_get(const json_doc_t *d, const json_node_t *obj,
                            const char *key);

/*
 * Typed reads; each returns 0, or SH_ETYPE when n is NULL or of another
 * type, or SH_ERANGE when the number does not fit (a non-integer, or out
 * of range), leaving *out unchanged on failure.
 * json_get_i64 / json_get_u64 - an integer number.
 * json_get_double - any number.
 * json_get_bool - true or false, as 1 or 0.
 * json_get_str - a string: *s points into d (NUL-terminated), *len bytes.
 */
int json_get_i64(const json_node_t *n, int64_t *out);
int json_get_u64(const json_node_t *n, uint64_t *out);
int json_get_double(const json_node_t *n, double *out);
int json_get_bool(const json_node_t *n, int *out);
int json_get_str(const json_node_t *n, const char **s, size_t *len);

/* json_type_name - "null", "false", ..., "object" (static string). */
const char *json_type_name(json_type_t t);

#endif /* SHOAL_JSON_H */
