/*
 * json_read.c - the strict JSON reader of json.h: a recursive-descent
 * parser into a flat array of nodes, with bounded depth, value count and
 * input size, and the byte offset of the first error.
 *
 * Memory: the node array grows by doubling up to lim.nodes_max (checked
 * before growing); decoded strings go into one arena of len + 1 bytes,
 * allocated once (a decoded string plus its NUL never takes more bytes
 * than its quoted source), so string pointers stay valid while nodes grow.
 */
#include "node/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/json_int.h"

typedef struct json__p {
	json_doc_t *d;
	const uint8_t *s;
	size_t len;
	size_t pos;
	uint32_t depth;
} json__p_t;

static int json__value(json__p_t *p, uint32_t *out);

static int json__err(json__p_t *p, int err, size_t pos, const char *msg)
{
	p->d->err_pos = pos;
	p->d->err_msg = msg;
	return err;
}

static int json__eof(json__p_t *p, const char *msg)
{
	return json__err(p, SH_ETRUNC, p->len, msg);
}

static void json__ws(json__p_t *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		p->pos++;
	}
}

static int json__new_node(json__p_t *p, json_type_t type, uint32_t *out)
{
	json_doc_t *d = p->d;
	if (d->count == d->lim.nodes_max)
		return json__err(p, SH_ETOOBIG, p->pos, "too many values");
	if (d->count == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 16;
		if (cap > d->lim.nodes_max || cap < d->cap)
			cap = d->lim.nodes_max;
		json_node_t *n = realloc(d->nodes, (size_t)cap * sizeof *n);
		if (n == NULL)
			return json__err(p, SH_ENOMEM, p->pos, "out of memory");
		d->nodes = n;
		d->cap = cap;
	}
	memset(&d->nodes[d->count], 0, sizeof d->nodes[0]);
	d->nodes[d->count].type = type;
	*out = d->count++;
	return SH_OK;
}

static int json__literal(json__p_t *p, const char *word, json_type_t type,
                         uint32_t *out)
{
	size_t n = strlen(word);
	size_t have = p->len - p->pos;
	size_t cmp = have < n ? have : n;
	if (memcmp(p->s + p->pos, word, cmp) != 0)
		return json__err(p, SH_EMALFORMED, p->pos, "invalid literal");
	if (have < n)
		return json__eof(p, "input ends inside a literal");
	p->pos += n;
	return json__new_node(p, type, out);
}

static int json__digits(json__p_t *p, uint64_t *mag, int *fits)
{
	size_t start = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		unsigned dgt = (unsigned)(p->s[p->pos] - '0');
		if (*mag > (UINT64_MAX - dgt) / 10)
			*fits = 0;
		else
			*mag = *mag * 10 + dgt;
		p->pos++;
	}
	if (p->pos == start) {
		if (p->pos == p->len)
			return json__eof(p, "input ends inside a number");
		return json__err(p, SH_EMALFORMED, p->pos,
		                 "digit expected in number");
	}
	return SH_OK;
}

/* Scans a number token: integer part, fraction, exponent. */
static int json__number_token(json__p_t *p, uint64_t *mag, int *is_int)
{
	uint64_t ignored = 0;
	int ignored_fits = 1;
	int rc;
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos == p->len)
		return json__eof(p, "input ends inside a number");
	if (p->s[p->pos] == '0') {
		p->pos++;
	} else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
		if ((rc = json__digits(p, mag, is_int)) != SH_OK)
			return rc;
	} else {
		return json__err(p, SH_EMALFORMED, p->pos, "invalid number");
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		*is_int = 0;
		if ((rc = json__digits(p, &ignored, &ignored_fits)) != SH_OK)
			return rc;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		*is_int = 0;
		if (p->pos < p->len &&
		    (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if ((rc = json__digits(p, &ignored, &ignored_fits)) != SH_OK)
			return rc;
	}
	return SH_OK;
}

static int json__number(json__p_t *p, uint32_t *out)
{
	size_t start = p->pos;
	uint64_t mag = 0;
	int is_int = 1;
	int rc = json__number_token(p, &mag, &is_int);
	if (rc != SH_OK)
		return rc;
	size_t n = p->pos - start;
	if (n > JSON_NUMBER_BYTES_MAX)
		return json__err(p, SH_ETOOBIG, start, "number too long");
	char tmp[JSON_NUMBER_BYTES_MAX + 1];
	memcpy(tmp, p->s + start, n);
	tmp[n] = '\0';
	if ((rc = json__new_node(p, JSON_NUMBER, out)) != SH_OK)
		return rc;
	json_node_t *node = &p->d->nodes[*out];
	node->num = strtod(tmp, NULL);
	node->neg = p->s[start] == '-';
	node->is_int = (uint8_t)is_int;
	node->mag = is_int ? mag : 0;
	return SH_OK;
}

static int json__hex4(json__p_t *p, size_t at, uint32_t *cp)
{
	*cp = 0;
	for (size_t i = 0; i < 4; i++) {
		if (at + i >= p->len)
			return json__eof(p, "input ends inside an escape");
		uint8_t c = p->s[at + i];
		uint32_t v;
		if (c >= '0' && c <= '9')
			v = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (uint32_t)(c - 'A' + 10);
		else
			return json__err(p, SH_EMALFORMED, at + i,
			                 "hex digit expected in \\u escape");
		*cp = (*cp << 4) | v;
	}
	return SH_OK;
}

static void json__put_utf8(json_doc_t *d, uint32_t cp)
{
	char *o = d->strs + d->strs_len;
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6)), n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12)), n = 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18)), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		o[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	d->strs_len += n;
}

/* A \u escape at p->pos (which points at the 'u'), with surrogate pairs. */
static int json__u_escape(json__p_t *p)
{
	size_t at = p->pos - 1;
	uint32_t cp, lo;
	int rc = json__hex4(p, p->pos + 1, &cp);
	if (rc != SH_OK)
		return rc;
	p->pos += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return json__err(p, SH_EMALFORMED, at, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->pos + 2 > p->len)
			return json__eof(p,
			                 "input ends inside a surrogate pair");
		if (p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
			return json__err(p, SH_EMALFORMED, at,
			                 "lone high surrogate");
		if ((rc = json__hex4(p, p->pos + 2, &lo)) != SH_OK)
			return rc;
		if (lo < 0xdc00 || lo > 0xdfff)
			return json__err(p, SH_EMALFORMED, at,
			                 "lone high surrogate");
		p->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	json__put_utf8(p->d, cp);
	return SH_OK;
}

static int json__escape(json__p_t *p)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	p->pos++; /* the backslash */
	if (p->pos == p->len)
		return json__eof(p, "input ends inside an escape");
	uint8_t c = p->s[p->pos];
	if (c == 'u')
		return json__u_escape(p);
	const char *hit = c != 0 ? strchr(from, c) : NULL;
	if (hit == NULL)
		return json__err(p, SH_EMALFORMED, p->pos - 1,
		                 "invalid escape in string");
	p->d->strs[p->d->strs_len++] = to[hit - from];
	p->pos++;
	return SH_OK;
}

/* Raw bytes >= 0x80 at p->pos: one well-formed UTF-8 sequence. */
static int json__utf8(json__p_t *p)
{
	uint8_t c = p->s[p->pos];
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	size_t have = p->len - p->pos;
	size_t n = json__utf8_len(p->s + p->pos, have);
	if (n == 0) {
		if (have < need && c >= 0xc2 && c <= 0xf4)
			return json__eof(p, "input ends inside a character");
		return json__err(p, SH_EMALFORMED, p->pos, "invalid UTF-8");
	}
	memcpy(p->d->strs + p->d->strs_len, p->s + p->pos, n);
	p->d->strs_len += n;
	p->pos += n;
	return SH_OK;
}

/* A string at p->pos (the opening quote), decoded into the arena. */
static int json__string(json__p_t *p, const char **str, size_t *len)
{
	json_doc_t *d = p->d;
	size_t start = d->strs_len;
	int rc = SH_OK;
	p->pos++;
	while (rc == SH_OK) {
		if (p->pos == p->len)
			return json__eof(p, "input ends inside a string");
		uint8_t c = p->s[p->pos];
		if (c == '"')
			break;
		if (c == '\\') {
			rc = json__escape(p);
		} else if (c < 0x20) {
			rc = json__err(p, SH_EMALFORMED, p->pos,
			               "control character in string");
		} else if (c >= 0x80) {
			rc = json__utf8(p);
		} else {
			d->strs[d->strs_len++] = (char)c;
			p->pos++;
		}
		sh_assert(d->strs_len < d->strs_cap);
	}
	if (rc != SH_OK)
		return rc;
	p->pos++;
	*str = d->strs + start;
	*len = d->strs_len - start;
	d->strs[d->strs_len++] = '\0';
	return SH_OK;
}

static void json__link(json_doc_t *d, uint32_t parent, uint32_t *prev,
                       uint32_t child)
{
	if (*prev == 0)
		d->nodes[parent].child = child;
	else
		d->nodes[*prev].next = child;
	*prev = child;
	d->nodes[parent].count++;
}

typedef struct json__key {
	const char *k;
	size_t n;
} json__key_t;

static int json__key_cmp(const void *a, const void *b)
{
	const json__key_t *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->k, y->k, n);
	if (c != 0)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

/* SH_OK when the members of object obj have distinct names. */
static int json__check_dups(json__p_t *p, uint32_t obj, size_t at)
{
	json_doc_t *d = p->d;
	uint32_t n = d->nodes[obj].count;
	if (n < 2)
		return SH_OK;
	json__key_t *keys = malloc((size_t)n * sizeof *keys);
	if (keys == NULL)
		return json__err(p, SH_ENOMEM, at, "out of memory");
	uint32_t i = 0;
	for (uint32_t c = d->nodes[obj].child; c != 0; c = d->nodes[c].next) {
		sh_assert(i < n);
		keys[i].k = d->nodes[c].key;
		keys[i++].n = d->nodes[c].key_len;
	}
	qsort(keys, n, sizeof *keys, json__key_cmp);
	int dup = 0;
	for (i = 1; i < n && !dup; i++)
		dup = json__key_cmp(&keys[i - 1], &keys[i]) == 0;
	free(keys);
	if (dup)
		return json__err(p, SH_EMALFORMED, at,
		                 "duplicate key in object");
	return SH_OK;
}

/* After a member or item: ',' (more follow) or the closing char. */
static int json__sep(json__p_t *p, char close, int *more)
{
	json__ws(p);
	if (p->pos == p->len)
		return json__eof(p, close == '}'
		                        ? "input ends inside an object"
		                        : "input ends inside an array");
	uint8_t c = p->s[p->pos];
	if (c == ',' || c == (uint8_t)close) {
		p->pos++;
		*more = c == ',';
		return SH_OK;
	}
	return json__err(p, SH_EMALFORMED, p->pos,
	                 close == '}' ? "',' or '}' expected in object"
	                              : "',' or ']' expected in array");
}

static int json__member(json__p_t *p, uint32_t obj, uint32_t *prev)
{
	const char *key;
	size_t key_len;
	uint32_t child;
	int rc;
	json__ws(p);
	if (p->pos == p->len)
		return json__eof(p, "input ends inside an object");
	if (p->s[p->pos] != '"')
		return json__err(p, SH_EMALFORMED, p->pos,
		                 "string key expected in object");
	if ((rc = json__string(p, &key, &key_len)) != SH_OK)
		return rc;
	json__ws(p);
	if (p->pos == p->len)
		return json__eof(p, "input ends inside an object");
	if (p->s[p->pos] != ':')
		return json__err(p, SH_EMALFORMED, p->pos,
		                 "':' expected after key");
	p->pos++;
	if ((rc = json__value(p, &child)) != SH_OK)
		return rc;
	p->d->nodes[child].key = key;
	p->d->nodes[child].key_len = key_len;
	json__link(p->d, obj, prev, child);
	return SH_OK;
}

static int json__container(json__p_t *p, json_type_t type, uint32_t *out)
{
	size_t at = p->pos;
	char close = type == JSON_OBJECT ? '}' : ']';
	uint32_t prev = 0, child;
	int rc, more = 1;
	if (p->depth == p->d->lim.depth_max)
		return json__err(p, SH_EDEPTH, at, "nesting too deep");
	if ((rc = json__new_node(p, type, out)) != SH_OK)
		return rc;
	p->pos++;
	p->depth++;
	json__ws(p);
	if (p->pos < p->len && p->s[p->pos] == (uint8_t)close) {
		p->pos++;
		more = 0;
	}
	/* Each round consumes at least one byte, so len bounds the loop. */
	while (more) {
		if (type == JSON_OBJECT) {
			rc = json__member(p, *out, &prev);
		} else if ((rc = json__value(p, &child)) == SH_OK) {
			json__link(p->d, *out, &prev, child);
		}
		if (rc == SH_OK)
			rc = json__sep(p, close, &more);
		if (rc != SH_OK)
			return rc;
	}
	p->depth--;
	if (type == JSON_OBJECT)
		return json__check_dups(p, *out, at);
	return SH_OK;
}

static int json__value(json__p_t *p, uint32_t *out)
{
	json__ws(p);
	if (p->pos == p->len)
		return json__eof(p, "value expected");
	if (p->d->count == p->d->lim.nodes_max)
		return json__err(p, SH_ETOOBIG, p->pos, "too many values");
	uint8_t c = p->s[p->pos];
	switch (c) {
	case '{': return json__container(p, JSON_OBJECT, out);
	case '[': return json__container(p, JSON_ARRAY, out);
	case 't': return json__literal(p, "true", JSON_TRUE, out);
	case 'f': return json__literal(p, "false", JSON_FALSE, out);
	case 'n': return json__literal(p, "null", JSON_NULL, out);
	case '"': {
		const char *s;
		size_t n;
		int rc = json__string(p, &s, &n);
		if (rc == SH_OK)
			rc = json__new_node(p, JSON_STRING, out);
		if (rc == SH_OK) {
			p->d->nodes[*out].str = s;
			p->d->nodes[*out].str_len = n;
		}
		return rc;
	}
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return json__number(p, out);
		return json__err(p, SH_EMALFORMED, p->pos, "value expected");
	}
}

void json_doc_init(json_doc_t *d, const json_limits_t *lim)
{
	memset(d, 0, sizeof *d);
	if (lim != NULL)
		d->lim = *lim;
	if (d->lim.depth_max == 0)
		d->lim.depth_max = JSON_DEPTH_MAX_DEFAULT;
	if (d->lim.depth_max > JSON_DEPTH_MAX_LIMIT)
		d->lim.depth_max = JSON_DEPTH_MAX_LIMIT;
	if (d->lim.nodes_max == 0)
		d->lim.nodes_max = JSON_NODES_MAX_DEFAULT;
	if (d->lim.bytes_max == 0)
		d->lim.bytes_max = JSON_BYTES_MAX_DEFAULT;
}

void json_doc_free(json_doc_t *d)
{
	free(d->nodes);
	free(d->strs);
	d->nodes = NULL;
	d->strs = NULL;
	d->count = d->cap = 0;
	d->strs_len = d->strs_cap = 0;
}

int json_parse(json_doc_t *d, const void *text, size_t len)
{
	json__p_t p = {.d = d, .s = text, .len = len};
	uint32_t root;
	int rc;
	json_doc_free(d);
	d->err_pos = 0;
	d->err_msg = NULL;
	if (len > d->lim.bytes_max)
		return json__err(&p, SH_ETOOBIG, 0, "input too large");
	sh_assert(text != NULL || len == 0);
	d->strs = malloc(len + 1);
	if (d->strs == NULL)
		return json__err(&p, SH_ENOMEM, 0, "out of memory");
	d->strs_cap = len + 1;
	rc = json__value(&p, &root);
	if (rc == SH_OK) {
		sh_assert(root == 0 && p.depth == 0);
		json__ws(&p);
		if (p.pos != len)
			rc = json__err(&p, SH_EMALFORMED, p.pos,
			               "unexpected characters after the value");
	}
	if (rc != SH_OK)
		json_doc_free(d);
	return rc;
}

const json_node_t *json_root(const json_doc_t *d)
{
	return d->count > 0 ? &d->nodes[0] : NULL;
}

const json_node_t *json_first(const json_doc_t *d, const json_node_t *n)
{
	if (n == NULL || n->child == 0)
		return NULL;
	sh_assert(n->child < d->count);
	return &d->nodes[n->child];
}

const json_node_t *json_next(const json_doc_t *d, const json_node_t *n)
{
	if (n == NULL || n->next == 0)
		return NULL;
	sh_assert(n->next < d->count);
	return &d->nodes[n->next];
}

const json_node_t *json_get(const json_doc_t *d, const json_node_t *obj,
                            const char *key)
{
	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (const json_node_t *c = json_first(d, obj); c != NULL;
	     c = json_next(d, c)) {
		if (c->key_len == n && memcmp(c->key, key, n) == 0)
			return c;
	}
	return NULL;
}

int json_get_i64(const json_node_t *n, int64_t *out)
{
	if (n == NULL || n->type != JSON_NUMBER)
		return SH_ETYPE;
	if (!n->is_int)
		return SH_ERANGE;
	if (n->neg) {
		if (n->mag > (uint64_t)INT64_MAX + 1)
			return SH_ERANGE;
		*out = n->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
		                                         : -(int64_t)n->mag;
		return SH_OK;
	}
	if (n->mag > (uint64_t)INT64_MAX)
		return SH_ERANGE;
	*out = (int64_t)n->mag;
	return SH_OK;
}

int json_get_u64(const json_node_t *n, uint64_t *out)
{
	if (n == NULL || n->type != JSON_NUMBER)
		return SH_ETYPE;
	if (!n->is_int || (n->neg && n->mag != 0))
		return SH_ERANGE;
	*out = n->mag;
	return SH_OK;
}

int json_get_double(const json_node_t *n, double *out)
{
	if (n == NULL || n->type != JSON_NUMBER)
		return SH_ETYPE;
	if (!isfinite(n->num))
		return SH_ERANGE;
	*out = n->num;
	return SH_OK;
}

int json_get_bool(const json_node_t *n, int *out)
{
	if (n == NULL || (n->type != JSON_TRUE && n->type != JSON_FALSE))
		return SH_ETYPE;
	*out = n->type == JSON_TRUE;
	return SH_OK;
}

int json_get_str(const json_node_t *n, const char **s, size_t *len)
{
	if (n == NULL || n->type != JSON_STRING)
		return SH_ETYPE;
	*s = n->str;
	*len = n->str_len;
	return SH_OK;
}

const char *json_type_name(json_type_t t)
{
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_FALSE: return "false";
	case JSON_TRUE: return "true";
	case JSON_NUMBER: return "number";
	case JSON_STRING: return "string";
	case JSON_ARRAY: return "array";
	case JSON_OBJECT: return "object";
	}
	return "unknown";
}
