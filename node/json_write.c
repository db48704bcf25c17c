/*
 * json_write.c - the JSON writer of json.h: RFC 8259 output into an
 * sh_buf_t with escaping, structure checks and a sticky error.
 */
#include "node/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/json_int.h"

#define JSON_W_OBJ  1u
#define JSON_W_ITEM 2u

size_t json__utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t min;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The short escape for byte c, or 0 when it needs \u00XX or none. */
static char json__short_escape(uint8_t c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

static int json__escape_into(sh_buf_t *out, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int rc = sh_buf_append_u8(out, '"');
	size_t i = 0;
	while (rc == SH_OK && i < len) {
		/* a run of printable ASCII but '"' and '\\' goes out as it is,
		 * in one append: most strings are nothing else */
		size_t j = i;
		while (j < len && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' &&
		       s[j] != '\\')
			j++;
		if (j > i) {
			rc = sh_buf_append(out, s + i, j - i);
			i = j;
			continue;
		}
		uint8_t c = s[i];
		char e = json__short_escape(c);
		if (e != 0) {
			char two[2] = {'\\', e};
			rc = sh_buf_append(out, two, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char six[6] = {'\\', 'u',         '0',
			               '0',  hex[c >> 4], hex[c & 15]};
			rc = sh_buf_append(out, six, 6);
			i++;
		} else {
			size_t n = json__utf8_len(s + i, len - i);
			if (n == 0) {
				rc = sh_buf_append(out, "\\ufffd", 6);
				n = 1;
			} else {
				rc = sh_buf_append(out, s + i, n);
			}
			i += n;
		}
	}
	if (rc == SH_OK)
		rc = sh_buf_append_u8(out, '"');
	return rc;
}

int json_escape(sh_buf_t *out, const void *s, size_t len)
{
	size_t old = out->len;
	int rc = json__escape_into(out, s, len);
	if (rc != SH_OK)
		out->len = old;
	return rc;
}

void json_w_init(json_w_t *w, sh_buf_t *out)
{
	sh_assert(w != NULL && out != NULL);
	memset(w, 0, sizeof *w);
	w->out = out;
}

static int json__fail(json_w_t *w, int err)
{
	if (w->err == 0)
		w->err = err;
	return w->err;
}

/* Called before any value: checks the position and writes a comma. */
static int json__before_value(json_w_t *w)
{
	if (w->err != 0)
		return w->err;
	if (w->depth == 0) {
		if (w->done)
			return json__fail(w, SH_EINVAL);
		return SH_OK;
	}
	uint8_t *top = &w->stack[w->depth - 1];
	if (*top & JSON_W_OBJ) {
		if (!w->want_value)
			return json__fail(w, SH_EINVAL);
		w->want_value = 0;
		return SH_OK;
	}
	if ((*top & JSON_W_ITEM) && sh_buf_append_u8(w->out, ',') != SH_OK)
		return json__fail(w, SH_ENOMEM);
	*top |= JSON_W_ITEM;
	return SH_OK;
}

static void json__after_value(json_w_t *w)
{
	if (w->depth == 0)
		w->done = 1;
}

static int json__put(json_w_t *w, const void *p, size_t len)
{
	if (json__before_value(w) != SH_OK)
		return w->err;
	if (sh_buf_append(w->out, p, len) != SH_OK)
		return json__fail(w, SH_ENOMEM);
	json__after_value(w);
	return SH_OK;
}

static int json__open(json_w_t *w, uint8_t kind, char c)
{
	if (json__before_value(w) != SH_OK)
		return w->err;
	if (w->depth == JSON_W_DEPTH_MAX)
		return json__fail(w, SH_EDEPTH);
	if (sh_buf_append_u8(w->out, (uint8_t)c) != SH_OK)
		return json__fail(w, SH_ENOMEM);
	w->stack[w->depth++] = kind;
	return SH_OK;
}

static int json__close(json_w_t *w, uint8_t kind, char c)
{
	if (w->err != 0)
		return w->err;
	if (w->depth == 0 || (w->stack[w->depth - 1] & JSON_W_OBJ) != kind ||
	    w->want_value)
		return json__fail(w, SH_EINVAL);
	if (sh_buf_append_u8(w->out, (uint8_t)c) != SH_OK)
		return json__fail(w, SH_ENOMEM);
	w->depth--;
	json__after_value(w);
	return SH_OK;
}

int json_w_obj_begin(json_w_t *w)
{
	return json__open(w, JSON_W_OBJ, '{');
}

int json_w_obj_end(json_w_t *w)
{
	return json__close(w, JSON_W_OBJ, '}');
}

int json_w_arr_begin(json_w_t *w)
{
	return json__open(w, 0, '[');
}

int json_w_arr_end(json_w_t *w)
{
	return json__close(w, 0, ']');
}

int json_w_key_n(json_w_t *w, const void *key, size_t len)
{
	if (w->err != 0)
		return w->err;
	if (w->depth == 0 || !(w->stack[w->depth - 1] & JSON_W_OBJ) ||
	    w->want_value)
		return json__fail(w, SH_EINVAL);
	uint8_t *top = &w->stack[w->depth - 1];
	if ((*top & JSON_W_ITEM) && sh_buf_append_u8(w->out, ',') != SH_OK)
		return json__fail(w, SH_ENOMEM);
	if (json__escape_into(w->out, key, len) != SH_OK ||
	    sh_buf_append_u8(w->out, ':') != SH_OK)
		return json__fail(w, SH_ENOMEM);
	*top |= JSON_W_ITEM;
	w->want_value = 1;
	return SH_OK;
}

int json_w_key(json_w_t *w, const char *key)
{
	return json_w_key_n(w, key, strlen(key));
}

int json_w_str_n(json_w_t *w, const void *s, size_t len)
{
	if (json__before_value(w) != SH_OK)
		return w->err;
	if (json__escape_into(w->out, s, len) != SH_OK)
		return json__fail(w, SH_ENOMEM);
	json__after_value(w);
	return SH_OK;
}

int json_w_str(json_w_t *w, const char *s)
{
	return json_w_str_n(w, s, strlen(s));
}

int json_w_u64(json_w_t *w, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
	return json__put(w, tmp, (size_t)n);
}

int json_w_i64(json_w_t *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
	return json__put(w, tmp, (size_t)n);
}

int json_w_double(json_w_t *w, double v)
{
	if (!isfinite(v))
		return json_w_null(w);
	/* The shortest of %.15g, %.16g, %.17g that reads back exactly. */
	char tmp[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		sh_assert(n > 0 && (size_t)n < sizeof tmp);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return json__put(w, tmp, (size_t)n);
}

int json_w_bool(json_w_t *w, int v)
{
	return v ? json__put(w, "true", 4) : json__put(w, "false", 5);
}

int json_w_null(json_w_t *w)
{
	return json__put(w, "null", 4);
}

int json_w_raw(json_w_t *w, const void *json, size_t len)
{
	if (len == 0)
		return json__fail(w, SH_EINVAL);
	return json__put(w, json, len);
}

int json_w_kv_str(json_w_t *w, const char *key, const char *s)
{
	json_w_key(w, key);
	return json_w_str(w, s);
}

int json_w_kv_u64(json_w_t *w, const char *key, uint64_t v)
{
	json_w_key(w, key);
	return json_w_u64(w, v);
}

int json_w_kv_i64(json_w_t *w, const char *key, int64_t v)
{
	json_w_key(w, key);
	return json_w_i64(w, v);
}

int json_w_kv_bool(json_w_t *w, const char *key, int v)
{
	json_w_key(w, key);
	return json_w_bool(w, v);
}

int json_w_end(json_w_t *w)
{
	if (w->err != 0)
		return w->err;
	if (w->depth != 0 || !w->done)
		return json__fail(w, SH_EINVAL);
	return SH_OK;
}
