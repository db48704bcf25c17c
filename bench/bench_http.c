/*
 * bench_http.c - the HTTP driver: shoal's client API (README "The HTTP
 * API"). Requests are HTTP/1.1 keep-alive, pipelined by the caller; every
 * request carries the run's n/r/w query. Replies are parsed just enough:
 * status, Content-Length, X-Shoal-Context, and for a 300 the number of
 * multipart/mixed parts (siblings). Chunked replies are refused (shoal
 * always sends Content-Length).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bench/bench_driver.h"
#include "common/sh_err.h"

#define HDR_MAX      16384
#define BOUNDARY_MAX 80

static int http_supports(bench_op_kind_t kind)
{
	return kind < BENCH_OP_KINDS;
}

static int put_str(sh_buf_t *out, const char *s)
{
	return sh_buf_append(out, s, strlen(s));
}

/* Decimal digits, without snprintf: the harness formats a request per
 * operation, and its CPU is taken from the servers on the same box. */
static int put_u64(sh_buf_t *out, unsigned long long v)
{
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sh_buf_append(out, d + i, sizeof(d) - i);
}

/* The request line and Host header: "METHOD /AREA/BUCKET/PREFIX<letter>K
 * QUERY HTTP/1.1" (AREA kv or dt, letter k for keys, c for carts). */
static int put_line(sh_buf_t *out, const char *method, const char *area,
                    const char *bucket, const bench_enc_t *e, char letter,
                    unsigned long long k)
{
	int rc = put_str(out, method);
	rc = rc ? rc : sh_buf_append(out, " /", 2);
	rc = rc ? rc : put_str(out, area);
	rc = rc ? rc : sh_buf_append(out, "/", 1);
	rc = rc ? rc : put_str(out, bucket);
	rc = rc ? rc : sh_buf_append(out, "/", 1);
	rc = rc ? rc : put_str(out, e->prefix);
	rc = rc ? rc : sh_buf_append(out, &letter, 1);
	rc = rc ? rc : put_u64(out, k);
	rc = rc ? rc : put_str(out, e->query);
	return rc ? rc : put_str(out, " HTTP/1.1\r\nHost: b\r\n");
}

static int put_body(sh_buf_t *out, const char *ctype, const void *body,
                    size_t len, const bench_reply_t *prev)
{
	int rc = SH_OK;
	if (prev && prev->ctx_len) {
		rc = sh_buf_append(out, "X-Shoal-Context: ", 17);
		rc = rc ? rc : sh_buf_append(out, prev->ctx, prev->ctx_len);
		rc = rc ? rc : sh_buf_append(out, "\r\n", 2);
	}
	rc = rc ? rc : put_str(out, "Content-Type: ");
	rc = rc ? rc : put_str(out, ctype);
	rc = rc ? rc : put_str(out, "\r\nContent-Length: ");
	rc = rc ? rc : put_u64(out, len);
	rc = rc ? rc : sh_buf_append(out, "\r\n\r\n", 4);
	if (!rc && len)
		rc = sh_buf_append(out, body, len);
	return rc;
}

static int encode_cart(const bench_enc_t *e, const bench_op_t *op,
                       sh_buf_t *out)
{
	char body[160];
	int n;
	if (op->kind == BENCH_OP_CART_REMOVE)
		n = snprintf(body, sizeof(body),
		             "{\"type\":\"map\",\"remove\":[\"sku-%u\"]}",
		             op->item);
	else
		n = snprintf(body, sizeof(body),
		             "{\"type\":\"map\",\"update\":{\"sku-%u\":"
		             "{\"counter\":{\"increment\":%d}}}}",
		             op->item, (int)op->delta);
	int rc = put_line(out, "POST", "dt", op->bucket, e, 'c',
	                  (unsigned long long)op->key);
	return rc ? rc
	          : put_body(out, "application/json", body, (size_t)n, NULL);
}

static int http_encode(const bench_enc_t *e, const bench_op_t *op, int phase,
                       const bench_reply_t *prev, sh_buf_t *out)
{
	unsigned long long k = (unsigned long long)op->key;
	switch (op->kind) {
	case BENCH_OP_CART_READ: {
		int rc = put_line(out, "GET", "dt", op->bucket, e, 'c', k);
		return rc ? rc : sh_buf_append(out, "\r\n", 2);
	}
	case BENCH_OP_CART_ADD:
	case BENCH_OP_CART_QTY:
	case BENCH_OP_CART_REMOVE: return encode_cart(e, op, out);
	case BENCH_OP_READ:
	case BENCH_OP_RMW:
		if (op->kind == BENCH_OP_READ || phase == 0) {
			int rc =
			    put_line(out, "GET", "kv", op->bucket, e, 'k', k);
			return rc ? rc : sh_buf_append(out, "\r\n", 2);
		}
		break; /* the RMW's write */
	default: break;
	}
	size_t len =
	    op->value_bytes < e->value_max ? op->value_bytes : e->value_max;
	int rc = put_line(out, "PUT", "kv", op->bucket, e, 'k', k);
	return rc ? rc
	          : put_body(out, "application/octet-stream", e->value, len,
	                     prev);
}

/* The first occurrence of n[0..nl) in h[0..hl), or NULL; memchr finds
 * the candidates (a reply's headers have one '\r' per line). */
static const uint8_t *find(const uint8_t *h, size_t hl, const char *n,
                           size_t nl)
{
	if (nl == 0 || hl < nl)
		return NULL;
	const uint8_t *p = h, *last = h + hl - nl;
	while (p <= last) {
		p = memchr(p, (uint8_t)n[0], (size_t)(last - p) + 1);
		if (!p)
			return NULL;
		if (memcmp(p, n, nl) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* Parts of a multipart body: delimiters "--b" not followed by "--". */
static unsigned count_parts(const uint8_t *p, size_t len, const char *b)
{
	char delim[BOUNDARY_MAX + 3];
	int dl = snprintf(delim, sizeof(delim), "--%s", b);
	unsigned parts = 0;
	const uint8_t *end = p + len;
	for (unsigned guard = 0; guard < 100000; guard++) {
		const uint8_t *d =
		    find(p, (size_t)(end - p), delim, (size_t)dl);
		if (!d)
			break;
		p = d + dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		parts++;
	}
	return parts;
}

typedef struct hdrs {
	long long clen;
	int chunked;
	char boundary[BOUNDARY_MAX];
} hdrs_t;

static void header(const uint8_t *l, size_t n, hdrs_t *h, bench_reply_t *out)
{
	const uint8_t *colon = memchr(l, ':', n);
	if (!colon)
		return;
	size_t kl = (size_t)(colon - l);
	const uint8_t *v = colon + 1, *ve = l + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	size_t vl = (size_t)(ve - v);
	char tmp[BOUNDARY_MAX + 32];
	if (kl == 14 &&
	    strncasecmp((const char *)l, "content-length", 14) == 0) {
		h->clen = 0;
		for (size_t i = 0; i < vl && i < 18; i++) {
			if (v[i] < '0' || v[i] > '9')
				return;
			h->clen = h->clen * 10 + (v[i] - '0');
		}
	} else if (kl == 15 &&
	           strncasecmp((const char *)l, "x-shoal-context", 15) == 0) {
		out->ctx = v;
		out->ctx_len = vl;
	} else if (kl == 17 &&
	           strncasecmp((const char *)l, "transfer-encoding", 17) == 0) {
		h->chunked = 1;
	} else if (out->status == 300 && kl == 12 && /* siblings' boundary */
	           strncasecmp((const char *)l, "content-type", 12) == 0 &&
	           vl < sizeof(tmp)) {
		memcpy(tmp, v, vl);
		tmp[vl] = 0;
		const char *b = strstr(tmp, "boundary=");
		if (b) {
			b += 9;
			if (*b == '"')
				b++;
			size_t bl = strcspn(b, "\";");
			if (bl < sizeof(h->boundary)) {
				memcpy(h->boundary, b, bl);
				h->boundary[bl] = 0;
			}
		}
	}
}

long bench_http_parse(const uint8_t *p, size_t len, bench_reply_t *out)
{
	size_t scan = len < HDR_MAX ? len : HDR_MAX;
	const uint8_t *eoh = find(p, scan, "\r\n\r\n", 4);
	if (!eoh)
		return len >= HDR_MAX ? SH_EMALFORMED : 0;
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
		return SH_EMALFORMED;
	memset(out, 0, sizeof(*out));
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SH_EMALFORMED;
		out->status = out->status * 10 + (p[i] - '0');
	}
	hdrs_t h = {.clen = 0, .chunked = 0, .boundary = ""};
	const uint8_t *l = memchr(p, '\n', (size_t)(eoh - p)) + 1;
	for (unsigned guard = 0; l < eoh + 2 && guard < 1000; guard++) {
		const uint8_t *nl = memchr(l, '\n', (size_t)(eoh + 2 - l));
		if (!nl)
			break;
		size_t n = (size_t)(nl - l);
		header(l, n && l[n - 1] == '\r' ? n - 1 : n, &h, out);
		l = nl + 1;
	}
	if (h.chunked)
		return SH_EMALFORMED;
	size_t hl = (size_t)(eoh + 4 - p);
	if ((unsigned long long)h.clen > (1ull << 30))
		return SH_EMALFORMED;
	if (len - hl < (size_t)h.clen)
		return 0;
	if (out->status == 200)
		out->siblings = 1;
	else if (out->status == 300 && h.boundary[0])
		out->siblings = count_parts(p + hl, (size_t)h.clen, h.boundary);
	return (long)(hl + (size_t)h.clen);
}

const bench_driver_t bench_http_driver = {
    .name = "http",
    .supports = http_supports,
    .encode = http_encode,
    .parse = bench_http_parse,
};
