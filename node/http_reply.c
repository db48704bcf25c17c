/*
 * http_reply.c - writing HTTP/1.1 responses (http.h): the status line and
 * headers, JSON error bodies, and multipart/mixed bodies (RFC 2046) whose
 * boundary provably occurs in none of the parts.
 */
#include "node/http.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "common/sh_assert.h"
#include "common/sh_err.h"
#include "node/http_int.h"

/* 1 when one of the 8 bytes of x is below 0x20 or is 0x7f (a tab too):
 * the usual bit trick for "a byte less than n" and "a byte equal to n". */
static int http__word_suspect(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t high = 0x8080808080808080ull;
	uint64_t del = x ^ (0x7f * ones);
	return ((((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & high) != 0;
}

int http__header_value_ok(const char *v, size_t len)
{
	size_t i = 0;
	/* Every reply checks its context and content type: 8 bytes per
	 * step, and the byte loop below only from a word that may hold a
	 * forbidden byte (or a tab, which is allowed). */
	for (; i + 8 <= len; i += 8) {
		uint64_t x;
		memcpy(&x, v + i, 8);
		if (http__word_suspect(x))
			break;
	}
	/* the last few bytes of a value of 8 or more: the last 8 as one
	 * word (overlapping bytes already passed), not a byte loop */
	if (i < len && i + 8 > len && len >= 8) {
		uint64_t x;
		memcpy(&x, v + len - 8, 8);
		if (!http__word_suspect(x))
			return 1;
	}
	for (; i < len; i++) {
		uint8_t c = (uint8_t)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

/* 1 if c is a token character: visible ASCII but the separators. By
 * switch, not strchr: every sibling of a multipart reply checks its
 * header names byte by byte. */
static int http__tchar(uint8_t c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	switch (c) {
	case '"':
	case '(':
	case ')':
	case ',':
	case '/':
	case ':':
	case ';':
	case '<':
	case '=':
	case '>':
	case '?':
	case '@':
	case '[':
	case '\\':
	case ']':
	case '{':
	case '}': return 0;
	default: return 1;
	}
}

/* One "Name: value\r\n" line at s (n bytes, CRLF included). */
static int http__header_line_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (colon == NULL || colon == s)
		return 0;
	for (const char *p = s; p < colon; p++)
		if (!http__tchar((uint8_t)*p))
			return 0;
	return http__header_value_ok(colon + 1,
	                             n - 2 - (size_t)(colon + 1 - s));
}

int http__header_lines_ok(const char *s)
{
	size_t len = strlen(s);
	size_t i = 0;
	/* Each round consumes one line of at least 3 bytes. */
	while (i < len) {
		const char *lf = memchr(s + i, '\n', len - i);
		if (lf == NULL)
			return 0;
		size_t end = (size_t)(lf - s) + 1;
		if (end - i < 3 || s[end - 2] != '\r')
			return 0;
		if (!http__header_line_ok(s + i, end - i))
			return 0;
		i = end;
	}
	return 1;
}

void http_reply_init(http_reply_t *r, int status)
{
	memset(r, 0, sizeof *r);
	r->status = status;
}

/* Lengths of a reply's header strings, measured once by http__reply_ok. */
typedef struct http__lens {
	size_t content_type, allow, headers;
} http__lens_t;

static int http__reply_ok(const http_reply_t *r, http__lens_t *l)
{
	int no_body = (r->status >= 100 && r->status < 200) ||
	              r->status == 204 || r->status == 304;
	if (r->status < 100 || r->status > 599)
		return 0;
	if (no_body && r->body_len > 0)
		return 0;
	if (r->body_len > 0 && r->body == NULL && !r->head)
		return 0;
	l->content_type = r->content_type ? strlen(r->content_type) : 0;
	l->allow = r->allow ? strlen(r->allow) : 0;
	l->headers = r->headers ? strlen(r->headers) : 0;
	if (r->content_type != NULL &&
	    !http__header_value_ok(r->content_type, l->content_type))
		return 0;
	if (r->context != NULL &&
	    !http__header_value_ok(r->context, r->context_len))
		return 0;
	if (r->allow != NULL && !http__header_value_ok(r->allow, l->allow))
		return 0;
	return r->headers == NULL || http__header_lines_ok(r->headers);
}

static int http__put_header(sh_buf_t *out, const char *name, const char *v,
                            size_t len)
{
	int rc = sh_buf_append(out, name, strlen(name));
	if (rc == SH_OK)
		rc = sh_buf_append(out, ": ", 2);
	if (rc == SH_OK)
		rc = sh_buf_append(out, v, len);
	if (rc == SH_OK)
		rc = sh_buf_append(out, "\r\n", 2);
	return rc;
}

static int http__put_str(sh_buf_t *out, const char *s)
{
	return sh_buf_append(out, s, strlen(s));
}

/* v in decimal into buf (at least 20 bytes); returns where it starts.
 * Every reply formats its status and length: no printf on that path. */
static const char *http__dec(char *buf, size_t size, uint64_t v, size_t *len)
{
	char *p = buf + size;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	*len = (size_t)(buf + size - p);
	return p;
}

static char *http__cpy(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* "Name: value\r\n" at p (name a literal); returns the end. */
#define HTTP__LINE(p, name, v, n)                                              \
	http__cpy(http__cpy(http__cpy(p, name ": ", sizeof name + 1), v, n),   \
	          "\r\n", 2)

/*
 * The status line and headers, measured first and written into room
 * reserved once: every reply passes here, and piecewise appends cost a
 * bounds check and a copy call per piece.
 */
static int http__reply_headers(sh_buf_t *out, const http_reply_t *r,
                               const http__lens_t *l)
{
	static const char ka[] = "Connection: keep-alive\r\n\r\n";
	static const char cl[] = "Connection: close\r\n\r\n";
	char num[24];
	size_t n;
	const char *reason = http_status_str((enum http_status)r->status);
	if (reason[0] == '<') /* "<unknown>" */
		reason = "";
	size_t reason_len = strlen(reason);
	int no_len = r->status < 200 || r->status == 204 || r->status == 304;
	/* fixed parts: "HTTP/1.1 ddd " CRLF, each header's name, ": " and
	 * CRLF (at most 20 bytes each), the number, the Connection line */
	size_t need = 13 + reason_len + 2 + 5 * 20 + 20 + l->content_type +
	              r->context_len + l->allow + l->headers + sizeof ka;
	if (sh_buf_reserve(out, need) != SH_OK)
		return SH_ENOMEM;
	char *p = (char *)out->data + out->len;
	p = http__cpy(p, "HTTP/1.1 ", 9);
	*p++ = (char)('0' + r->status / 100);
	*p++ = (char)('0' + r->status / 10 % 10);
	*p++ = (char)('0' + r->status % 10);
	*p++ = ' ';
	p = http__cpy(p, reason, reason_len);
	p = http__cpy(p, "\r\n", 2);
	if (r->content_type != NULL)
		p = HTTP__LINE(p, "Content-Type", r->content_type,
		               l->content_type);
	if (!no_len) {
		const char *d = http__dec(num, sizeof num, r->body_len, &n);
		p = HTTP__LINE(p, "Content-Length", d, n);
	}
	if (r->context != NULL)
		p = HTTP__LINE(p, "X-Shoal-Context", r->context,
		               r->context_len);
	if (r->allow != NULL)
		p = HTTP__LINE(p, "Allow", r->allow, l->allow);
	if (r->headers != NULL)
		p = http__cpy(p, r->headers, l->headers);
	if (r->close)
		p = http__cpy(p, cl, sizeof cl - 1);
	else
		p = http__cpy(p, ka, sizeof ka - 1);
	out->len = (size_t)((uint8_t *)p - out->data);
	sh_assert(out->len <= out->cap);
	return SH_OK;
}

int http_reply_write(sh_buf_t *out, const http_reply_t *r)
{
	http__lens_t l;
	if (!http__reply_ok(r, &l))
		return SH_EINVAL;
	size_t old = out->len;
	int rc = http__reply_headers(out, r, &l);
	if (rc == SH_OK && !r->head && r->body_len > 0)
		rc = sh_buf_append(out, r->body, r->body_len);
	if (rc != SH_OK)
		out->len = old;
	return rc;
}

int http_error_begin(json_w_t *w, sh_buf_t *body, const char *error)
{
	json_w_init(w, body);
	json_w_obj_begin(w);
	return json_w_kv_str(w, "error", error);
}

int http_error_end(json_w_t *w)
{
	json_w_obj_end(w);
	return json_w_end(w);
}

int http__error_reply(sh_buf_t *out, int status, const char *error,
                      const char *detail, const char *allow, int close)
{
	sh_buf_t body;
	json_w_t w;
	sh_buf_init(&body);
	http_error_begin(&w, &body, error);
	if (detail != NULL)
		json_w_kv_str(&w, "detail", detail);
	int rc = http_error_end(&w);
	if (rc == SH_OK) {
		http_reply_t r;
		http_reply_init(&r, status);
		r.content_type = "application/json";
		r.body = body.data;
		r.body_len = body.len;
		r.allow = allow;
		r.close = close;
		rc = http_reply_write(out, &r);
	}
	sh_buf_free(&body);
	return rc;
}

/* ---- multipart/mixed ---- */

/* Boundary characters (RFC 2046 bchars, a safe subset): 64 of them. */
static const char http__bchars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
#define HTTP__BOUNDARY_MAX 70 /* RFC 2046 */

/*
 * Counts occurrences of b (bl bytes) in h (n bytes); for each one followed
 * by a boundary character, counts that character in next[].
 */
static uint64_t http__scan(const uint8_t *h, size_t n, const char *b, size_t bl,
                           uint64_t next[64])
{
	uint64_t hits = 0;
	if (h == NULL || n < bl)
		return 0;
	size_t last = n - bl; /* the last place a match can start */
	size_t i = 0;
	/* Each round jumps to the next byte equal to the boundary's first
	 * (memchr: a sibling's value is scanned at every read of it). */
	while (i <= last) {
		const uint8_t *q = memchr(h + i, (uint8_t)b[0], last - i + 1);
		if (q == NULL)
			break;
		i = (size_t)(q - h);
		if (memcmp(h + i, b, bl) == 0) {
			hits++;
			if (i + bl < n) {
				const char *k =
				    h[i + bl] != 0
				        ? strchr(http__bchars, h[i + bl])
				        : NULL;
				if (k != NULL)
					next[k - http__bchars]++;
			}
		}
		i++;
	}
	return hits;
}

static uint64_t http__scan_parts(const http_part_t *parts, size_t count,
                                 const char *b, size_t bl, uint64_t next[64])
{
	uint64_t hits = 0;
	memset(next, 0, 64 * sizeof next[0]);
	for (size_t i = 0; i < count; i++) {
		const http_part_t *p = &parts[i];
		hits += http__scan(p->data, p->len, b, bl, next);
		if (p->content_type != NULL)
			hits +=
			    http__scan((const uint8_t *)p->content_type,
			               strlen(p->content_type), b, bl, next);
		if (p->headers != NULL)
			hits += http__scan((const uint8_t *)p->headers,
			                   strlen(p->headers), b, bl, next);
	}
	return hits;
}

/*
 * Picks a boundary found in no part: start from a fixed word, and while it
 * occurs somewhere, append the character that follows it least often.
 * Each step keeps at most 1/64 of the occurrences (those at the end of a
 * part or followed by another byte vanish), so 6 steps suffice for 64^6
 * bytes of parts: the boundary stays far below the 70 characters of RFC
 * 2046. A function of the parts only: no randomness.
 */
static int http__boundary(const http_part_t *parts, size_t count,
                          char b[HTTP__BOUNDARY_MAX + 1])
{
	static const char start[] = "shoal-siblings";
	size_t bl = sizeof start - 1;
	uint64_t next[64];
	memcpy(b, start, sizeof start);
	while (http__scan_parts(parts, count, b, bl, next) > 0) {
		if (bl == HTTP__BOUNDARY_MAX)
			return SH_EEXIST;
		int best = 0;
		for (int i = 1; i < 64; i++)
			if (next[i] < next[best])
				best = i;
		b[bl++] = http__bchars[best];
		b[bl] = '\0';
	}
	return SH_OK;
}

static int http__parts_ok(const http_part_t *parts, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const http_part_t *p = &parts[i];
		if (p->len > 0 && p->data == NULL)
			return 0;
		if (p->content_type != NULL &&
		    !http__header_value_ok(p->content_type,
		                           strlen(p->content_type)))
			return 0;
		if (p->headers != NULL && !http__header_lines_ok(p->headers))
			return 0;
	}
	return 1;
}

static int http__put_part(sh_buf_t *body, const char *b, const http_part_t *p)
{
	const char *ct = p->content_type != NULL ? p->content_type
	                                         : "application/octet-stream";
	int rc = http__put_str(body, "--");
	if (rc == SH_OK)
		rc = http__put_str(body, b);
	if (rc == SH_OK)
		rc = http__put_str(body, "\r\n");
	if (rc == SH_OK)
		rc = http__put_header(body, "Content-Type", ct, strlen(ct));
	if (rc == SH_OK && p->headers != NULL)
		rc = http__put_str(body, p->headers);
	if (rc == SH_OK)
		rc = http__put_str(body, "\r\n");
	if (rc == SH_OK)
		rc = sh_buf_append(body, p->data, p->len);
	if (rc == SH_OK)
		rc = http__put_str(body, "\r\n");
	return rc;
}

int http_multipart_write(sh_buf_t *body, const http_part_t *parts, size_t count,
                         char *content_type, size_t size)
{
	char b[HTTP__BOUNDARY_MAX + 1];
	if (count == 0 || size < HTTP_MULTIPART_TYPE_BYTES ||
	    !http__parts_ok(parts, count))
		return SH_EINVAL;
	int rc = http__boundary(parts, count, b);
	if (rc != SH_OK)
		return rc;
	size_t old = body->len;
	for (size_t i = 0; i < count && rc == SH_OK; i++)
		rc = http__put_part(body, b, &parts[i]);
	if (rc == SH_OK)
		rc = http__put_str(body, "--");
	if (rc == SH_OK)
		rc = http__put_str(body, b);
	if (rc == SH_OK)
		rc = http__put_str(body, "--\r\n");
	if (rc != SH_OK) {
		body->len = old;
		return rc;
	}
	/* no snprintf per reply: size >= HTTP_MULTIPART_TYPE_BYTES holds
	 * the prefix, the longest boundary and the NUL */
	static const char pre[] = "multipart/mixed; boundary=";
	size_t bl = strlen(b);
	sh_assert(sizeof pre + bl <= size);
	memcpy(content_type, pre, sizeof pre - 1);
	memcpy(content_type + sizeof pre - 1, b, bl + 1);
	return SH_OK;
}
